//! The engine's sweeper thread: scans and sweeps run here, one at a time,
//! so a long walk never holds up transfers or the engine's owner thread.
//!
//! This is also the one place where [`Settings`] become a
//! [`SweepRequest`]: the settings' roots (and the folders Ferry has written
//! into), threshold and rules for other tools' files, narrowed by what a
//! client asked for in a [`SweepScope`].

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::{Duration, SystemTime};

use crossbeam_channel::{Receiver, Sender};

use super::error::ErrorKind;
use super::settings::Settings;
use super::sweep::{
    self, Entry, LogRecord, ScanReport, Schedule, Scheduler, SweepReport, SweepRequest, Trend,
    Trigger,
};

/// How many sweep-log lines the engine publishes.
pub const LOG_LINES: usize = 200;

/// What the sweeper is asked to do.
#[derive(Debug, Clone)]
pub enum SweepWork {
    /// List candidates.
    Scan(SweepScope),
    /// Remove every orphan in scope.
    Sweep(SweepScope, Trigger),
    /// Remove these scanned entries (still only if they are orphans).
    SweepEntries(Vec<Entry>),
    /// The scheduled sweep, if the settings' schedule says one is due by
    /// the clock kept in the data folder.
    SweepIfDue,
}

/// Where and with which threshold to look. The default is what the
/// settings say: their roots and every folder Ferry has written into,
/// their threshold.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SweepScope {
    /// Folders to look in, each with its sub-folders; empty means the
    /// settings' roots and every folder Ferry has written into. Each must
    /// exist and be a folder, or nothing is done
    /// ([`Event::ScopeRejected`](crate::Event::ScopeRejected)).
    pub roots: Vec<PathBuf>,
    /// Overrides the settings' threshold.
    pub older_than: Option<Duration>,
    /// For a sweep: list what would be removed, remove nothing.
    pub dry_run: bool,
}

impl SweepScope {
    /// These folders, each with its sub-folders, and the settings'
    /// threshold.
    pub fn folders<P: Into<PathBuf>>(roots: impl IntoIterator<Item = P>) -> Self {
        Self {
            roots: roots.into_iter().map(Into::into).collect(),
            ..Self::default()
        }
    }
}

/// What the sweeper reports back to the owner thread.
#[derive(Debug)]
pub enum SweepDone {
    /// A scan's result.
    Scanned(ScanReport),
    /// A sweep's result (or why it could not run). [`SweepDone::Logged`]
    /// follows.
    Swept {
        /// Manual or scheduled.
        trigger: Trigger,
        /// The report, or the error's kind and the error in words.
        result: Result<SweepReport, (ErrorKind, String)>,
    },
    /// The newest sweep-log lines (newest last), read after a sweep was
    /// reported, so that its report does not wait for them.
    Logged(Vec<LogRecord>),
    /// A sweep asked for "if due" was not due.
    NotDue {
        /// The settings' schedule.
        schedule: Schedule,
        /// When one is due (none when the schedule is off).
        next_run: Option<SystemTime>,
    },
    /// Folders named in a scope cannot be used: nothing was done.
    Rejected {
        /// Whether it was a sweep (else a scan).
        sweep: bool,
        /// Each problem, in words.
        problems: Vec<String>,
    },
}

impl<'a> SweepRequest<'a> {
    /// The sweep the settings describe: their roots, the remembered
    /// destination folders, their threshold and their rules for other
    /// tools' files.
    pub fn from_settings(settings: &Settings) -> Self {
        let mut request = Self::new(&settings.sweep.roots, settings.sweep.threshold);
        request.include_remembered = true;
        request.apply_settings(settings);
        request
    }

    /// Takes the settings' rules for other tools' files (enabled patterns,
    /// minimum age, consent for scheduled sweeps), keeping this request's
    /// roots and threshold.
    pub fn apply_settings(&mut self, settings: &Settings) {
        let sweep = &settings.sweep;
        self.foreign = sweep.foreign_patterns.clone();
        self.foreign_min_age = sweep.foreign_min_age;
        self.foreign_in_schedule = sweep.foreign_in_schedule;
    }
}

/// The request for `scope` under `settings`, in `data_dir`, stopped by
/// `cancel`. Folders the scope names are checked first: if any cannot be
/// used, every problem in words (and nothing is to be done).
pub fn request_for<'a>(
    scope: &SweepScope,
    settings: &Settings,
    data_dir: &Path,
    cancel: &'a AtomicBool,
) -> Result<SweepRequest<'a>, Vec<String>> {
    let mut request = if scope.roots.is_empty() {
        SweepRequest::from_settings(settings)
    } else {
        let mut checked = Vec::new();
        let mut problems = Vec::new();
        for root in &scope.roots {
            match sweep::check_root(root) {
                Ok(path) => checked.push(path),
                Err(e) => problems.push(e.to_string()),
            }
        }
        if !problems.is_empty() {
            return Err(problems);
        }
        let mut request = SweepRequest::new(&checked, settings.sweep.threshold);
        request.apply_settings(settings);
        request
    };
    if let Some(threshold) = scope.older_than {
        request.threshold = threshold;
    }
    request.dry_run = scope.dry_run;
    request.data_dir = Some(data_dir.to_path_buf());
    request.cancel = Some(cancel);
    Ok(request)
}

/// Runs work items until the channel closes.
pub fn run(
    work: Receiver<(SweepWork, Settings)>,
    done: Sender<SweepDone>,
    data_dir: PathBuf,
    cancel: Arc<AtomicBool>,
) {
    // Leftovers over time: one sample per scan of the settings' scope
    // (read with the first such scan, not before every command's).
    let mut trend: Option<Trend> = None;
    for (item, settings) in work {
        let request = |scope: &SweepScope| request_for(scope, &settings, &data_dir, &cancel);
        let settings_request = || {
            request(&SweepScope::default()).expect("the settings' scope names no folder to check")
        };
        let message = match &item {
            SweepWork::Scan(scope) => match request(scope) {
                Ok(request) => {
                    let mut report = sweep::scan(&request);
                    if scope.roots.is_empty() && scope.older_than.is_none() {
                        trend
                            .get_or_insert_with(|| Trend::load_in(&data_dir))
                            .record(&mut report);
                    }
                    SweepDone::Scanned(report)
                }
                Err(problems) => SweepDone::Rejected {
                    sweep: false,
                    problems,
                },
            },
            SweepWork::Sweep(scope, trigger) => match request(scope) {
                Ok(mut request) => {
                    request.trigger = *trigger;
                    swept(*trigger, sweep::run_sweep(&request))
                }
                Err(problems) => SweepDone::Rejected {
                    sweep: true,
                    problems,
                },
            },
            SweepWork::SweepEntries(entries) => swept(
                Trigger::Manual,
                sweep::sweep_entries(entries, &settings_request()),
            ),
            SweepWork::SweepIfDue => {
                let schedule = settings.sweep.schedule;
                let now = SystemTime::now();
                if schedule == Schedule::Off {
                    SweepDone::NotDue {
                        schedule,
                        next_run: None,
                    }
                } else {
                    // The clock the window keeps: the last sweep, and when
                    // the schedule was set (recorded now if it never was).
                    let mut scheduler = Scheduler::start_in(schedule, &data_dir, now);
                    match sweep::run_due(&mut scheduler, &settings_request(), now) {
                        Some(result) => swept(Trigger::Scheduled, result),
                        None => SweepDone::NotDue {
                            schedule,
                            next_run: scheduler.next_due(now),
                        },
                    }
                }
            }
        };
        let swept = matches!(message, SweepDone::Swept { .. });
        if done.send(message).is_err()
            || (swept && done.send(SweepDone::Logged(recent_log(&data_dir))).is_err())
        {
            break;
        }
    }
}

fn swept(trigger: Trigger, result: super::Result<SweepReport>) -> SweepDone {
    SweepDone::Swept {
        trigger,
        result: result.map_err(|e| (e.kind(), e.to_string())),
    }
}

/// The newest sweep-log lines (empty if the log cannot be read).
pub fn recent_log(data_dir: &Path) -> Vec<LogRecord> {
    sweep::read_log_in(data_dir, LOG_LINES).unwrap_or_default()
}
