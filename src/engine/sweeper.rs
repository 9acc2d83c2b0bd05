//! The engine's sweeper thread: scans and sweeps run here, one at a time,
//! so a long walk never holds up transfers or the engine's owner thread.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use crossbeam_channel::{Receiver, Sender};

use super::settings::Settings;
use super::sweep::{self, Entry, LogRecord, ScanReport, SweepReport, SweepRequest, Trend, Trigger};

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
}

/// Where and with which threshold to look.
#[derive(Debug, Clone, Default)]
pub struct SweepScope {
    /// Folders to look in; empty means the settings' roots and every folder
    /// Ferry has written into.
    pub roots: Vec<PathBuf>,
    /// Overrides the settings' threshold.
    pub older_than: Option<Duration>,
}

/// What the sweeper reports back to the owner thread.
#[derive(Debug)]
pub enum SweepDone {
    /// A scan's result.
    Scanned(ScanReport),
    /// A sweep's result (or why it could not run), and the recent log.
    Swept {
        /// Manual or scheduled.
        trigger: Trigger,
        /// The report, or the error in words.
        result: Result<SweepReport, String>,
        /// The newest sweep-log lines, newest last.
        log: Vec<LogRecord>,
    },
}

/// Runs work items until the channel closes.
pub fn run(
    work: Receiver<(SweepWork, Settings)>,
    done: Sender<SweepDone>,
    data_dir: PathBuf,
    cancel: Arc<AtomicBool>,
) {
    // Leftovers over time: one sample per scan of the settings' scope.
    let mut trend = Trend::load_in(&data_dir);
    for (item, settings) in work {
        let request = |scope: &SweepScope| {
            let mut request = if scope.roots.is_empty() {
                SweepRequest::from_settings(&settings)
            } else {
                let mut r = SweepRequest::new(&scope.roots, settings.sweep.threshold);
                r.apply_settings(&settings);
                r
            };
            if let Some(threshold) = scope.older_than {
                request.threshold = threshold;
            }
            request.data_dir = Some(data_dir.clone());
            request.cancel = Some(&cancel);
            request
        };
        let message = match &item {
            SweepWork::Scan(scope) => {
                let mut report = sweep::scan(&request(scope));
                if scope.roots.is_empty() && scope.older_than.is_none() {
                    trend.record(&mut report);
                }
                SweepDone::Scanned(report)
            }
            SweepWork::Sweep(scope, trigger) => {
                let mut req = request(scope);
                req.trigger = *trigger;
                swept(*trigger, sweep::run_sweep(&req), &data_dir)
            }
            SweepWork::SweepEntries(entries) => {
                let req = request(&SweepScope::default());
                swept(
                    Trigger::Manual,
                    sweep::sweep_entries(entries, &req),
                    &data_dir,
                )
            }
        };
        if done.send(message).is_err() {
            break;
        }
    }
}

fn swept(
    trigger: Trigger,
    result: super::Result<SweepReport>,
    data_dir: &std::path::Path,
) -> SweepDone {
    SweepDone::Swept {
        trigger,
        result: result.map_err(|e| e.to_string()),
        log: recent_log(data_dir),
    }
}

/// The newest sweep-log lines (empty if the log cannot be read).
pub fn recent_log(data_dir: &std::path::Path) -> Vec<LogRecord> {
    sweep::read_log_in(data_dir, LOG_LINES).unwrap_or_default()
}
