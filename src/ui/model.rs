//! What the window knows about the engine, built only from its events:
//! the queue, the history, interrupted jobs, the last scan and sweep, and the
//! settings in force. [`Model::apply`] is the one place events land.

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::{Instant, SystemTime};

use ferry_engine::{
    Conflict, DestCheck, Event, HistoryEntry, Inspection, JobId, JobOutcome, JobSpec, JobSummary,
    LogRecord, Progress, ScanReport, Settings, SourceState, SweepReport, TimerStatus, Trigger,
    Unfinished, VerifyReport,
};

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
    /// Files and bytes in its plan, once it was accepted.
    pub planned: Option<(u64, u64)>,
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
    /// Failures the history did not keep (beyond its limit per job).
    pub failures_not_kept: u64,
}

impl From<HistoryEntry> for FinishedJob {
    fn from(entry: HistoryEntry) -> Self {
        Self {
            id: entry.id,
            spec: Some(entry.spec),
            summary: entry.summary,
            finished: entry.ended,
            failures_not_kept: entry.failures_not_kept,
        }
    }
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

/// What a check of a history entry's checksum manifest found.
#[derive(Debug, Clone, PartialEq)]
pub enum Verification {
    /// The engine is reading the files again.
    Running,
    /// What it found, or why it could not.
    Done(Result<VerifyReport, String>),
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
    /// Conflicts waiting for a person's answer, in the order asked.
    pub conflicts: Vec<(JobId, Conflict)>,
    /// What the engine found of each source checked, by path.
    pub sources_checked: HashMap<PathBuf, SourceState>,
    /// The destination last checked.
    pub dest_checked: Option<DestCheck>,
    /// The last folder the person asked to create, and why it failed.
    pub folder_created: Option<(PathBuf, Option<String>)>,
    /// The per-user timer's state (or why it could not be told).
    pub timer: Option<Result<TimerStatus, String>>,
    /// Whether a timer command is on its way.
    pub timer_pending: bool,
    /// Checks of checksum manifests: the check's id and the history entry.
    pub verify_ids: HashMap<JobId, JobId>,
    /// What those checks found, by history entry.
    pub verifications: HashMap<JobId, Verification>,
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
            conflicts: Vec::new(),
            sources_checked: HashMap::new(),
            dest_checked: None,
            folder_created: None,
            timer: None,
            timer_pending: false,
            verify_ids: HashMap::new(),
            verifications: HashMap::new(),
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
            Event::Conflict { id, conflict } => {
                if self.job_mut(id).is_some()
                    && !self
                        .conflicts
                        .iter()
                        .any(|(j, c)| *j == id && c.entry == conflict.entry)
                {
                    self.conflicts.push((id, conflict));
                }
            }
            Event::Planned { id, files, bytes } => {
                if let Some(job) = self.job_mut(id) {
                    job.planned = Some((files, bytes));
                }
            }
            Event::History(entries) => {
                self.history = entries.into_iter().rev().map(FinishedJob::from).collect();
            }
            Event::HistoryAdded(entry) => {
                self.history.retain(|j| j.id != entry.id);
                self.history.insert(0, FinishedJob::from(*entry));
            }
            Event::Inspected(inspection) => self.take_inspection(inspection),
            Event::FolderCreated { path, error } => {
                if let Some(e) = &error {
                    notices.error(format!("The folder was not created: {e}"));
                }
                self.folder_created = Some((path, error));
            }
            Event::Timer(status) => {
                self.timer_pending = false;
                self.timer = Some(status);
            }
            Event::Verified { id, result } => {
                if let Some(entry) = self.verify_ids.remove(&id) {
                    self.verifications.insert(entry, Verification::Done(result));
                }
            }
            Event::Queued { id, spec } => {
                self.unfinished.retain(|u| u.id != id);
                if self.job_mut(id).is_none() {
                    self.jobs.push(LiveJob {
                        id,
                        spec,
                        state: JobState::Queued,
                        progress: None,
                        cancelling: false,
                        planned: None,
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
                self.conflicts.retain(|(j, _)| *j != id);
                // The engine keeps the jobs it ran in the history (and said
                // so just before); a command it refused is shown here.
                let finished = match self.history.iter().find(|j| j.id == id) {
                    Some(kept) => kept.clone(),
                    None => {
                        let finished = FinishedJob {
                            id,
                            spec,
                            summary,
                            finished: SystemTime::now(),
                            failures_not_kept: 0,
                        };
                        self.history.insert(0, finished.clone());
                        finished
                    }
                };
                notify_finished(&finished, notices);
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
            Event::SweepFailed {
                trigger, message, ..
            } => {
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
            Event::ScopeRejected { sweep, problems } => {
                // The window scans and sweeps the settings' scope, which
                // names no folder to refuse; said all the same.
                if sweep {
                    self.sweeping = false;
                } else {
                    self.scanning = false;
                }
                notices.error(format!(
                    "The folders to look in cannot be used: {}",
                    problems.join("; ")
                ));
            }
            // Answers to commands the window does not send.
            Event::Jobs(_) | Event::SweepNotDue { .. } => {}
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

    /// Takes in what a check found: each source's state and the
    /// destination's (a folder just created is checked alone).
    fn take_inspection(&mut self, inspection: Inspection) {
        for check in inspection.sources {
            self.sources_checked.insert(check.path, check.state);
        }
        if let Some(dest) = inspection.dest {
            self.dest_checked = Some(dest);
        }
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
                let shown = self.shown(job);
                totals.bytes_done += shown.bytes_done;
                totals.bytes_total += p.bytes_total;
                totals.files_done += shown.files_done;
                totals.files_total += p.files_total;
                totals.rate += p.rate;
            }
        }
        totals
    }
}

/// A job's progress as shown: files waiting for an answer are not done.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Shown {
    /// Files done (not counting those waiting for an answer).
    pub files_done: u64,
    /// Bytes done (the same).
    pub bytes_done: u64,
    /// Files waiting for an answer.
    pub asking: u64,
}

impl Model {
    /// Job `job`'s progress without the files that wait for an answer
    /// (the engine counts them done so that its rate and time left are
    /// about the files that can move).
    pub fn shown(&self, job: &LiveJob) -> Shown {
        let Some(p) = &job.progress else {
            return Shown::default();
        };
        let (asking, bytes) = self
            .conflicts
            .iter()
            .filter(|(id, _)| *id == job.id)
            .fold((0u64, 0u64), |(n, b), (_, c)| (n + 1, b + c.src_size));
        Shown {
            files_done: p.files_done.saturating_sub(asking),
            bytes_done: p.bytes_done.saturating_sub(bytes).min(p.bytes_total),
            asking,
        }
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
        JobOutcome::CompletedWithWarnings => notices.warning(format!(
            "{title}: completed with warnings: {}",
            s.warnings.first().cloned().unwrap_or_default()
        )),
        JobOutcome::CompletedWithErrors | JobOutcome::Failed => {
            let first = s
                .failed
                .first()
                .map(format::failure_message)
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
        JobOutcome::Cancelled => notices.warning(format!(
            "{title}: cancelled; the files it finished stay, the rest were not written."
        )),
        JobOutcome::RolledBack => notices.warning(format!(
            "{title}: rolled back; the destination is as it was."
        )),
    }
}

/// For a sweep of files a person chose (no folders walked): the chosen
/// files that were rightly kept, and why, so none goes unmentioned.
fn kept_of_chosen(report: &SweepReport) -> String {
    if !report.roots.is_empty() {
        return String::new();
    }
    let why: Vec<String> = report
        .skipped
        .iter()
        .filter(|s| !s.reason.is_failure())
        .map(|s| format!("{} ({})", s.path.display(), s.reason))
        .collect();
    if why.is_empty() {
        return String::new();
    }
    format!(
        " Kept {}: {}.",
        format::count(why.len() as u64, "file", "files"),
        why.join("; ")
    )
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
        notices.info(format!("{text}{}", kept_of_chosen(report)));
    }
    for warning in &report.warnings {
        notices.warning(warning.clone());
    }
    if let Some(stop) = report.stopped {
        notices.warning(format!("The sweep did not finish: {stop}."));
    }
}
