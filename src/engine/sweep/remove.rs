//! Sweeping: scan, then remove each eligible candidate through the platform
//! backend, one sweeper at a time, and record what was removed.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use super::backend::{self, InUse};
use super::guard::SweeperLock;
use super::limits::Limits;
use super::log::{self, PendingLines, SweepState};
use super::meta::Meta;
use super::patterns::Kind;
use super::report::{Entry, Removed, SkipReason, Skipped, SweepReport, Verdict};
use super::request::{SweepRequest, Trigger};
use super::scan::{
    Found, Judged, Sink, dedup_warnings, judge, min_age, rules, sort_by_path, walk_roots,
};
use super::schedule::Scheduler;
use crate::error::Result;

/// What the backend did with one entry.
pub(super) enum Removal {
    Removed { size: u64 },
    Kept(SkipReason),
}

/// The checks the backend makes once it holds a file's lock.
pub(super) struct RemoveCheck<'r> {
    pub me: Option<u32>,
    pub threshold: Duration,
    pub foreign_min_age: Duration,
    pub on_remove: Option<&'r (dyn Fn(&Path) + Sync)>,
    /// Whether other programs use a file (shared by the sweep's threads).
    pub in_use: &'r InUse,
    /// Make every check, remove nothing.
    pub dry_run: bool,
}

impl<'r> RemoveCheck<'r> {
    pub fn for_request(request: &SweepRequest<'r>, in_use: &'r InUse) -> Self {
        Self {
            me: backend::current_user(),
            threshold: request.threshold,
            foreign_min_age: request.foreign_min_age,
            on_remove: request.on_remove,
            in_use,
            dry_run: request.dry_run,
        }
    }

    /// `Some` when the file of `kind` is (again) too young to go.
    pub fn too_young(&self, meta: &Meta, kind: Kind) -> Option<SkipReason> {
        let age = meta.age(SystemTime::now());
        min_age(kind, age, self.threshold, self.foreign_min_age).err()
    }

    /// Tells the request's observer that `path` is about to go.
    pub fn notify(&self, path: &Path) {
        if let Some(observer) = self.on_remove {
            observer(path);
        }
    }
}

/// Scans the request's roots and removes every orphan (and every unlocked
/// file of an enabled foreign pattern older than its minimum age, in a
/// scheduled sweep only with the settings' consent), unless another
/// program has it open, mapped or locked. Backups of all-or-nothing jobs
/// are never removed. With `dry_run`, lists what would be removed and
/// removes nothing.
///
/// The scan and the removals are one walk: a candidate is removed as soon
/// as it is found, in the folder handle it was found through, without
/// letting go of the lock its probe took.
///
/// Fails only when the sweep cannot start: the data directory is missing,
/// or another sweep holds the sweeper lock for longer than
/// `request.lock_wait` ([`ErrorKind::Busy`](crate::ErrorKind::Busy)).
/// Problems with single files are in the report.
pub fn run_sweep(request: &SweepRequest<'_>) -> Result<SweepReport> {
    let (mut report, data_dir, limits, _guard) = begin(request)?;
    let now = SystemTime::now();
    let in_use = InUse::new();
    let mut sweepers: Vec<Sweeper<'_, '_>> = (0..backend::walkers())
        .map(|_| Sweeper {
            report: SweepReport::new(request.dry_run, request.trigger),
            log: PendingLines::default(),
            limits: &limits,
            request,
            check: RemoveCheck::for_request(request, &in_use),
            now,
        })
        .collect();
    let roots = walk_roots(request, &mut sweepers);
    let mut log = Vec::with_capacity(sweepers.len());
    // Each part is sorted (by its thread): `finish` sorting them joined
    // merges them.
    for sweeper in sweepers {
        let part = sweeper.report;
        report.removed.extend(part.removed);
        report.skipped.extend(part.skipped);
        report.freed_bytes += part.freed_bytes;
        report.warnings.extend(part.warnings);
        log.push(sweeper.log);
    }
    report.roots = roots;
    finish(&mut report, &log, &limits, &data_dir);
    Ok(report)
}

/// The sink of a sweep's walk: judges each candidate as a scan would and
/// removes the eligible ones at once.
struct Sweeper<'r, 'a> {
    report: SweepReport,
    /// The log lines of the files this thread removed.
    log: PendingLines,
    limits: &'r Limits<'a>,
    request: &'r SweepRequest<'a>,
    check: RemoveCheck<'r>,
    now: SystemTime,
}

impl Sink for Sweeper<'_, '_> {
    fn should_stop(&mut self) -> bool {
        self.limits.check()
    }

    fn found(&mut self, found: Found<'_>) {
        // Whether another program uses it is checked by the removal itself.
        let (entry, lock) = match judge(found, self.now, self.request, None) {
            Judged::Entry(entry, lock) => (entry, lock),
            Judged::Ignored(ignored) => {
                self.report.skipped.push(Skipped {
                    path: ignored.path,
                    reason: SkipReason::Unsafe(ignored.reason),
                });
                return;
            }
            Judged::Backup(backup) => {
                self.report.skipped.push(Skipped {
                    path: backup.path,
                    reason: SkipReason::Backup,
                });
                return;
            }
        };
        let outcome = match (&entry.verdict, lock) {
            (Verdict::Kept(reason), _) => Removal::Kept(reason.clone()),
            (Verdict::Removable, _) if entry.folder => backend::remove_folder(&entry, &self.check),
            (Verdict::Removable, Some(lock)) => backend::remove_locked(lock, &entry, &self.check),
            // Removable entries are unlocked, so the walker holds their lock.
            (Verdict::Removable, None) => Removal::Kept(SkipReason::Active),
        };
        record(&mut self.report, &mut self.log, entry.path, entry.kind, outcome);
    }

    fn warn(&mut self, message: String) {
        self.report.warnings.push(message);
    }

    fn finish(&mut self) {
        sort_by_path(&mut self.report.removed, |r| &r.path);
        sort_by_path(&mut self.report.skipped, |s| &s.path);
    }
}

/// What every sweep starts with: an empty report, the data directory, the
/// time limit, and (unless it is a dry run) the one-sweeper-at-a-time lock.
fn begin<'a>(
    request: &SweepRequest<'a>,
) -> Result<(SweepReport, PathBuf, Limits<'a>, Option<SweeperLock>)> {
    let report = SweepReport::new(request.dry_run, request.trigger);
    let data_dir = request.resolve_data_dir()?;
    let limits = Limits::new(request.time_limit, request.cancel);
    let guard = if request.dry_run {
        None
    } else {
        Some(SweeperLock::acquire(
            &data_dir,
            request.lock_wait,
            request.cancel,
        )?)
    };
    Ok((report, data_dir, limits, guard))
}

/// Removes the given entries of an earlier scan (the GUI's "sweep
/// selected"), under the same rules as [`run_sweep`]: each file is checked
/// again, so an entry that changed since the scan is left alone.
pub fn sweep_entries(entries: &[Entry], request: &SweepRequest<'_>) -> Result<SweepReport> {
    let (mut report, data_dir, limits, _guard) = begin(request)?;
    let mut log = PendingLines::default();
    remove_all(entries, request, &limits, &mut report, &mut log);
    finish(&mut report, std::slice::from_ref(&log), &limits, &data_dir);
    Ok(report)
}

/// Runs a scheduled sweep if `scheduler` says one is due at `now`, and
/// records it there. `None` when nothing was due. The engine's sweeper
/// calls this for a sweep asked for "if due" (what `ferry sweep
/// --scheduled` runs) with the settings' request; after a failure (another
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

fn remove_all(
    entries: &[Entry],
    request: &SweepRequest<'_>,
    limits: &Limits<'_>,
    report: &mut SweepReport,
    log: &mut PendingLines,
) {
    let in_use = InUse::new();
    let check = RemoveCheck::for_request(request, &in_use);
    for entry in entries {
        if limits.check() {
            break;
        }
        // The scan's verdict is not trusted: the file is judged again, and
        // (by the backend, on the file) checked again for other users.
        let outcome = match rules(entry, request) {
            Err(reason) => Removal::Kept(reason),
            Ok(()) if entry.folder => backend::remove_folder(entry, &check),
            Ok(()) => backend::remove(entry, &check),
        };
        record(report, log, entry.path.clone(), entry.kind, outcome);
    }
}

/// Adds what was done with one candidate to the report (and a removed
/// file's line to `log`, in a real sweep).
fn record(
    report: &mut SweepReport,
    log: &mut PendingLines,
    path: PathBuf,
    kind: Kind,
    outcome: Removal,
) {
    match outcome {
        Removal::Removed { size } => {
            report.freed_bytes += size;
            let removed = Removed { path, size, kind };
            if !report.dry_run {
                log.add(&removed, report.trigger);
            }
            report.removed.push(removed);
        }
        Removal::Kept(reason) => report.skipped.push(Skipped { path, reason }),
    }
}

/// Sorts, stamps and records the report (in the log, the `log` lines a
/// real sweep's threads encoded, and the state, only for real sweeps; the
/// two are written and flushed side by side).
fn finish(
    report: &mut SweepReport,
    log: &[PendingLines],
    limits: &Limits<'_>,
    data_dir: &Path,
) {
    report.stopped = limits.stopped();
    dedup_warnings(&mut report.warnings);
    sort_by_path(&mut report.removed, |r| &r.path);
    sort_by_path(&mut report.skipped, |s| &s.path);
    report.finished = SystemTime::now();
    if report.dry_run {
        return;
    }
    let state = SweepState {
        last_run: Some(report.finished),
        trigger: Some(report.trigger),
        removed: report.removed.len() as u64,
        freed_bytes: report.freed_bytes,
    };
    let (logged, saved) = std::thread::scope(|scope| {
        let saving = std::thread::Builder::new()
            .name("ferry-sweep-state".into())
            .spawn_scoped(scope, || log::save_state_in(data_dir, &state));
        let logged = log::append_pending_in(data_dir, report.finished, log);
        let saved = match saving {
            Ok(saving) => saving.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic)),
            // No thread to spare: one after the other.
            Err(_) => log::save_state_in(data_dir, &state),
        };
        (logged, saved)
    });
    if let Err(e) = logged {
        report
            .warnings
            .push(format!("the sweep log was not updated: {e}"));
    }
    if let Err(e) = saved {
        report
            .warnings
            .push(format!("the time of this sweep was not saved: {e}"));
    }
}
