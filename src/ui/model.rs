//! What the window knows about the engine, built only from its events:
//! the queue, the history, interrupted jobs, the last scan and sweep, and the
//! settings in force. [`Model::apply`] is the one place events land.

use std::time::{Instant, SystemTime};

use ferry_engine::handle::{Event, Progress, Unfinished};
use ferry_engine::job::{JobId, JobOutcome, JobSpec, JobSummary};
use ferry_engine::settings::Settings;
use ferry_engine::sweep::{LogRecord, ScanReport, SweepReport, Trigger};

use super::format;
use super::notices::Notices;

/// Where a queued job stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobState {
    /// Waiting for a worker.
    Queued,
    /// Copying.
    Running,
    /// Held by the person.
    Paused,
}

impl JobState {
    /// The state in words.
    pub fn word(self) -> &'static str {
        match self {
            Self::Queued => "Waiting",
            Self::Running => "Running",
            Self::Paused => "Paused",
        }
    }
}

/// A job in the queue.
#[derive(Debug, Clone)]
pub struct LiveJob {
    /// Its id.
    pub id: JobId,
    /// What it does.
    pub spec: JobSpec,
    /// Waiting, running or paused.
    pub state: JobState,
    /// The latest progress report.
    pub progress: Option<Progress>,
    /// Whether a cancel was asked for (it ends at its next chunk).
    pub cancelling: bool,
}

/// A finished job.
#[derive(Debug, Clone)]
pub struct FinishedJob {
    /// Its id.
    pub id: JobId,
    /// What it did (unknown for a refused resume of a job never queued here).
    pub spec: Option<JobSpec>,
    /// How it went.
    pub summary: JobSummary,
    /// When it ended.
    pub finished: SystemTime,
}

impl FinishedJob {
    /// A short name for the job.
    pub fn title(&self) -> String {
        self.spec
            .as_ref()
            .map(JobSpec::title)
            .unwrap_or_else(|| format!("job {}", self.id))
    }

    /// The outcome in words.
    pub fn outcome_word(&self) -> &'static str {
        outcome_word(self.summary.outcome)
    }
}

/// An outcome in words.
pub fn outcome_word(outcome: JobOutcome) -> &'static str {
    match outcome {
        JobOutcome::Completed => "Completed",
        JobOutcome::CompletedWithErrors => "Completed with errors",
        JobOutcome::CompletedWithWarnings => "Completed with warnings",
        JobOutcome::Failed => "Failed",
        JobOutcome::Cancelled => "Cancelled",
        JobOutcome::RolledBack => "Rolled back",
    }
}

/// When sweeps ran and will run.
#[derive(Debug, Clone, Default)]
pub struct SweepStatus {
    /// The last sweep's end.
    pub last_run: Option<SystemTime>,
    /// The next scheduled sweep.
    pub next_run: Option<SystemTime>,
    /// Recent sweep-log lines, newest last.
    pub log: Vec<LogRecord>,
}

/// Everything the engine has told the window.
#[derive(Debug)]
pub struct Model {
    /// Queued and running jobs, in the order they were queued.
    pub jobs: Vec<LiveJob>,
    /// Finished jobs, newest first.
    pub history: Vec<FinishedJob>,
    /// Interrupted jobs found at start-up, not yet resumed or dismissed.
    pub unfinished: Vec<Unfinished>,
    /// The latest scan.
    pub scan: Option<ScanReport>,
    /// When the latest scan arrived.
    pub scanned_at: Option<Instant>,
    /// Whether a scan was asked for and has not come back.
    pub scanning: bool,
    /// Whether a manual sweep was asked for and has not come back.
    pub sweeping: bool,
    /// The latest sweep (manual or scheduled).
    pub last_sweep: Option<SweepReport>,
    /// Last and next sweep times and the log.
    pub sweep_status: SweepStatus,
    /// The settings in force.
    pub settings: Settings,
    /// Settings problems from the engine's last refusal.
    pub settings_rejected: Vec<String>,
    /// Whether a settings update is on its way.
    pub settings_pending: bool,
    /// How many times the settings were saved (the form reloads on change).
    pub settings_generation: u64,
}

impl Model {
    /// An empty model with the settings the engine started with.
    pub fn new(settings: Settings) -> Self {
        Self {
            jobs: Vec::new(),
            history: Vec::new(),
            unfinished: Vec::new(),
            scan: None,
            scanned_at: None,
            scanning: false,
            sweeping: false,
            last_sweep: None,
            sweep_status: SweepStatus::default(),
            settings,
            settings_rejected: Vec::new(),
            settings_pending: false,
            settings_generation: 0,
        }
    }

    /// The live job with this id.
    pub fn job_mut(&mut self, id: JobId) -> Option<&mut LiveJob> {
        self.jobs.iter_mut().find(|j| j.id == id)
    }

    /// Takes in one engine event; things people must see go to `notices`.
    /// Returns whether the Cleanup data became stale (a rescan is due).
    pub fn apply(&mut self, event: Event, notices: &mut Notices) -> bool {
        match event {
            // Shown by the Transfers tab as they come (issue 12).
            Event::Conflict { .. }
            | Event::Planned { .. }
            | Event::History(_)
            | Event::HistoryAdded(_)
            | Event::Inspected(_)
            | Event::FolderCreated { .. }
            | Event::Timer(_)
            | Event::Verified { .. } => {}
            Event::Queued { id, spec } => {
                self.unfinished.retain(|u| u.id != id);
                if self.job_mut(id).is_none() {
                    self.jobs.push(LiveJob {
                        id,
                        spec,
                        state: JobState::Queued,
                        progress: None,
                        cancelling: false,
                    });
                }
            }
            Event::Started { id } => {
                if let Some(job) = self.job_mut(id)
                    && job.state == JobState::Queued
                {
                    job.state = JobState::Running;
                }
            }
            Event::Progress(progress) => {
                if let Some(job) = self.job_mut(progress.id) {
                    if progress.paused {
                        job.state = JobState::Paused;
                    } else if job.state == JobState::Paused {
                        job.state = JobState::Running;
                    }
                    job.progress = Some(progress);
                }
            }
            Event::Paused { id } => {
                if let Some(job) = self.job_mut(id) {
                    job.state = JobState::Paused;
                }
            }
            Event::Unpaused { id } => {
                if let Some(job) = self.job_mut(id) {
                    job.state = if job.progress.is_some() {
                        JobState::Running
                    } else {
                        JobState::Queued
                    };
                }
            }
            Event::Finished { id, summary } => {
                let spec = self
                    .jobs
                    .iter()
                    .position(|j| j.id == id)
                    .map(|at| self.jobs.remove(at).spec);
                let finished = FinishedJob {
                    id,
                    spec,
                    summary,
                    finished: SystemTime::now(),
                };
                notify_finished(&finished, notices);
                self.history.insert(0, finished);
                return true;
            }
            Event::Unfinished(jobs) => self.unfinished = jobs,
            Event::Warning(text) => notices.warning(text),
            Event::ScanFinished(report) => {
                for warning in &report.warnings {
                    notices.warning(format!("While looking for leftover files: {warning}"));
                }
                if let Some(stop) = report.stopped {
                    notices.warning(format!("The scan did not finish: {stop}."));
                }
                self.scan = Some(report);
                self.scanned_at = Some(Instant::now());
                self.scanning = false;
            }
            Event::SweepFinished(report) => {
                if report.trigger == Trigger::Manual {
                    self.sweeping = false;
                }
                notify_swept(&report, notices);
                self.last_sweep = Some(report);
                return true;
            }
            Event::SweepFailed { trigger, message } => {
                if trigger == Trigger::Manual {
                    self.sweeping = false;
                }
                let who = match trigger {
                    Trigger::Manual => "The sweep",
                    Trigger::Scheduled => "The scheduled sweep",
                };
                notices.error(format!("{who} could not run: {message}"));
            }
            Event::SweepStatus {
                last_run,
                next_run,
                log,
            } => {
                self.sweep_status = SweepStatus {
                    last_run,
                    next_run,
                    log,
                };
            }
            Event::SettingsSaved(settings) => {
                self.settings = settings;
                self.settings_rejected.clear();
                self.settings_pending = false;
                self.settings_generation += 1;
                notices.info("Settings saved.");
                return true;
            }
            Event::SettingsRejected(problems) => {
                self.settings_pending = false;
                notices.error(format!(
                    "The settings were not saved: {}",
                    problems.join("; ")
                ));
                self.settings_rejected = problems;
            }
        }
        false
    }

    /// Bytes done and planned, files done and planned, and the summed rate
    /// of every live job.
    pub fn totals(&self) -> Totals {
        let mut totals = Totals::default();
        for job in &self.jobs {
            totals.jobs += 1;
            if job.state == JobState::Paused {
                totals.paused += 1;
            }
            if let Some(p) = &job.progress {
                totals.bytes_done += p.bytes_done;
                totals.bytes_total += p.bytes_total;
                totals.files_done += p.files_done;
                totals.files_total += p.files_total;
                totals.rate += p.rate;
            }
        }
        totals
    }
}

/// Sums over the queue.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Totals {
    /// Live jobs.
    pub jobs: usize,
    /// Of which paused.
    pub paused: usize,
    /// Bytes done.
    pub bytes_done: u64,
    /// Bytes planned (of jobs that reported).
    pub bytes_total: u64,
    /// Files done.
    pub files_done: u64,
    /// Files planned.
    pub files_total: u64,
    /// Summed rate, bytes per second.
    pub rate: f64,
}

fn notify_finished(job: &FinishedJob, notices: &mut Notices) {
    let s = &job.summary;
    let title = job.title();
    match s.outcome {
        JobOutcome::Completed => notices.info(format!(
            "{title}: {} ({}) in {}.",
            format::count(s.files_done, "file", "files"),
            format::bytes(s.bytes_done),
            format::duration(s.elapsed)
        )),
        JobOutcome::CompletedWithErrors
        | JobOutcome::CompletedWithWarnings
        | JobOutcome::Failed => {
            let first = s
                .failed
                .first()
                .map(|f| f.message.clone())
                .or_else(|| s.warnings.first().cloned())
                .unwrap_or_else(|| "see the history for details".into());
            let more = s.failed.len().saturating_sub(1);
            let more = if more > 0 {
                format!(" (and {more} more; see the history)")
            } else {
                String::new()
            };
            notices.error(format!(
                "{title}: {}: {first}{more}",
                outcome_word(s.outcome).to_lowercase()
            ));
        }
        JobOutcome::Cancelled => notices.info(format!("{title}: cancelled.")),
        JobOutcome::RolledBack => notices.info(format!(
            "{title}: rolled back; the destination is as it was."
        )),
    }
}

fn notify_swept(report: &SweepReport, notices: &mut Notices) {
    let removed = report.removed.len() as u64;
    let failures = report.failures();
    let who = match report.trigger {
        Trigger::Manual => "Sweep",
        Trigger::Scheduled => "Scheduled sweep",
    };
    let text = format!(
        "{who}: removed {}, freed {}.",
        format::count(removed, "file", "files"),
        format::bytes(report.freed_bytes)
    );
    if failures > 0 {
        let why: Vec<String> = report
            .skipped
            .iter()
            .filter(|s| s.reason.is_failure())
            .map(|s| format!("{}: {}", s.path.display(), s.reason))
            .collect();
        notices.error(format!(
            "{text} {} could not be removed: {}",
            format::count(failures as u64, "file", "files"),
            why.join("; ")
        ));
    } else if report.trigger == Trigger::Manual || removed > 0 {
        notices.info(text);
    }
    for warning in &report.warnings {
        notices.warning(warning.clone());
    }
    if let Some(stop) = report.stopped {
        notices.warning(format!("The sweep did not finish: {stop}."));
    }
}
