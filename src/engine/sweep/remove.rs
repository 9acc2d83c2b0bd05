//! Sweeping: scan, then remove each eligible candidate through the platform
//! backend, one sweeper at a time, and record what was removed.

use std::path::Path;
use std::time::{Duration, SystemTime};

use super::backend;
use super::guard::SweeperLock;
use super::log::{self, LogRecord, SweepState};
use super::meta::Meta;
use super::patterns::Kind;
use super::report::{Entry, Removed, SkipReason, Skipped, Status, SweepReport};
use super::request::{SweepRequest, Trigger};
use super::scan::{Limits, scan_with};
use super::schedule::Scheduler;
use crate::engine::error::Result;

/// What the backend did with one entry.
pub(super) enum Removal {
    Removed { size: u64 },
    Kept(SkipReason),
}

/// The checks the backend makes once it holds a file's lock.
pub(super) struct RemoveCheck<'a> {
    pub me: Option<u32>,
    pub threshold: Duration,
    pub on_remove: Option<&'a (dyn Fn(&Path) + Sync)>,
}

impl RemoveCheck<'_> {
    /// `Some` when the file is (again) younger than the threshold.
    pub fn too_young(&self, meta: &Meta) -> Option<SkipReason> {
        let age = meta.age(SystemTime::now());
        (age < self.threshold).then_some(SkipReason::Young {
            age,
            threshold: self.threshold,
        })
    }

    /// Tells the request's observer that `path` is about to go.
    pub fn notify(&self, path: &Path) {
        if let Some(observer) = self.on_remove {
            observer(path);
        }
    }
}

/// Scans the request's roots and removes every orphan (and every old,
/// unlocked file of an enabled foreign pattern). With `dry_run`, lists what
/// would be removed and removes nothing.
///
/// Fails only when the sweep cannot start: the data directory is missing,
/// or another sweep holds the sweeper lock for longer than
/// `request.lock_wait` ([`ErrorKind::Busy`](crate::engine::ErrorKind::Busy)).
/// Problems with single files are in the report.
pub fn run_sweep(request: &SweepRequest<'_>) -> Result<SweepReport> {
    let mut report = SweepReport::new(request.dry_run, request.trigger);
    let data_dir = request.resolve_data_dir()?;
    let mut limits = Limits::new(request.time_limit, request.cancel);
    let _guard = if request.dry_run {
        None
    } else {
        Some(SweeperLock::acquire(
            &data_dir,
            request.lock_wait,
            request.cancel,
        )?)
    };
    let scan = scan_with(request, &mut limits);
    report.warnings = scan.warnings;
    report.roots = scan.roots;
    remove_all(&scan.entries, request, &mut limits, &mut report);
    report
        .skipped
        .extend(scan.ignored.into_iter().map(|i| Skipped {
            path: i.path,
            reason: SkipReason::Unsafe(i.reason),
        }));
    finish(&mut report, &limits, &data_dir);
    Ok(report)
}

/// Removes the given entries of an earlier scan (the GUI's "sweep
/// selected"), under the same rules as [`run_sweep`]: each file is checked
/// again, so an entry that changed since the scan is left alone.
pub fn sweep_entries(entries: &[Entry], request: &SweepRequest<'_>) -> Result<SweepReport> {
    let mut report = SweepReport::new(request.dry_run, request.trigger);
    let data_dir = request.resolve_data_dir()?;
    let mut limits = Limits::new(request.time_limit, request.cancel);
    let _guard = if request.dry_run {
        None
    } else {
        Some(SweeperLock::acquire(
            &data_dir,
            request.lock_wait,
            request.cancel,
        )?)
    };
    remove_all(entries, request, &mut limits, &mut report);
    finish(&mut report, &limits, &data_dir);
    Ok(report)
}

/// Runs a scheduled sweep if `scheduler` says one is due at `now`, and
/// records it there. `None` when nothing was due. The engine calls this on
/// its timer with [`SweepRequest::from_settings`]; after a failure (another
/// sweep running) the scheduler retries a little later.
pub fn run_due(
    scheduler: &mut Scheduler,
    request: &SweepRequest<'_>,
    now: SystemTime,
) -> Option<Result<SweepReport>> {
    if !scheduler.is_due(now) {
        return None;
    }
    let mut request = request.clone();
    request.trigger = Trigger::Scheduled;
    request.dry_run = false;
    let result = run_sweep(&request);
    match &result {
        Ok(report) => scheduler.record_run(report.finished),
        Err(_) => scheduler.postpone(now),
    }
    Some(result)
}

/// Whether a scanned entry may be removed, or why not.
fn eligible(entry: &Entry, request: &SweepRequest<'_>) -> Result<(), SkipReason> {
    if entry.kind == Kind::Foreign {
        let Some(pattern) = entry.pattern else {
            return Err(SkipReason::Unsafe("unknown kind of file".into()));
        };
        if !request.foreign.contains(&pattern) {
            return Err(SkipReason::NotEnabled(pattern));
        }
    }
    if entry.locked || entry.status == Status::Active {
        return Err(SkipReason::Active);
    }
    if entry.age < request.threshold {
        return Err(SkipReason::Young {
            age: entry.age,
            threshold: request.threshold,
        });
    }
    Ok(())
}

fn remove_all(
    entries: &[Entry],
    request: &SweepRequest<'_>,
    limits: &mut Limits<'_>,
    report: &mut SweepReport,
) {
    let check = RemoveCheck {
        me: backend::current_user(),
        threshold: request.threshold,
        on_remove: request.on_remove,
    };
    for entry in entries {
        if limits.check() {
            break;
        }
        if let Err(reason) = eligible(entry, request) {
            report.skipped.push(Skipped {
                path: entry.path.clone(),
                reason,
            });
            continue;
        }
        let outcome = if request.dry_run {
            Removal::Removed { size: entry.size }
        } else {
            backend::remove(entry, &check)
        };
        match outcome {
            Removal::Removed { size } => {
                report.freed_bytes += size;
                report.removed.push(Removed {
                    path: entry.path.clone(),
                    size,
                    kind: entry.kind,
                });
            }
            Removal::Kept(reason) => report.skipped.push(Skipped {
                path: entry.path.clone(),
                reason,
            }),
        }
    }
}

/// Sorts, stamps and records the report (the log and the state only for
/// real sweeps).
fn finish(report: &mut SweepReport, limits: &Limits<'_>, data_dir: &Path) {
    report.stopped = limits.stopped;
    report.removed.sort_by(|a, b| a.path.cmp(&b.path));
    report.skipped.sort_by(|a, b| a.path.cmp(&b.path));
    report.finished = SystemTime::now();
    if report.dry_run {
        return;
    }
    let records: Vec<LogRecord> = report
        .removed
        .iter()
        .map(|r| LogRecord {
            time: report.finished,
            path: r.path.clone(),
            size: r.size,
            kind: r.kind,
            trigger: report.trigger,
        })
        .collect();
    if let Err(e) = log::append_in(data_dir, &records) {
        report
            .warnings
            .push(format!("the sweep log was not updated: {e}"));
    }
    let state = SweepState {
        last_run: Some(report.finished),
        trigger: Some(report.trigger),
        removed: report.removed.len() as u64,
        freed_bytes: report.freed_bytes,
    };
    if let Err(e) = log::save_state_in(data_dir, &state) {
        report
            .warnings
            .push(format!("the time of this sweep was not saved: {e}"));
    }
}
