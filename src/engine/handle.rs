//! The engine as its clients see it: one owner thread that takes
//! [`Command`]s and publishes [`Event`]s over crossbeam channels, and a pool
//! of worker threads that run the jobs. The GUI and the CLI are two clients
//! of this handle; neither touches the disk itself.
//!
//! Progress is sampled from the workers' counters a few times a second per
//! job (never one event per buffer), with a smoothed rate and an ETA. Every
//! job ends with exactly one [`Event::Finished`].
//!
//! ```
//! use ferry_engine::{Engine, EngineConfig, Event, JobOutcome, JobSpec};
//!
//! let dir = tempfile::tempdir()?;
//! std::fs::write(dir.path().join("a.txt"), b"hello")?;
//! let engine = Engine::start(EngineConfig::new(dir.path().join("data")));
//! let id = engine.enqueue(JobSpec::copy(vec![dir.path().join("a.txt")], dir.path().join("b.txt")));
//!
//! let summary = loop {
//!     match engine.events().recv()? {
//!         Event::Finished { id: done, summary } if done == id => break summary,
//!         _ => {} // Queued, Started, Progress, …
//!     }
//! };
//! assert_eq!(summary.outcome, JobOutcome::Completed);
//! assert_eq!(std::fs::read(dir.path().join("b.txt"))?, b"hello");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant, SystemTime};

use crossbeam_channel::{Receiver, Sender, at, never, select, tick, unbounded};

use super::control::Control;
use super::error::{Error, ErrorKind, Operation};
use super::history::{History, HistoryEntry};
use super::inspect::{Inspection, inspect_with};
use super::job::{Answer, Conflict, ConflictPolicy, JobId, JobOutcome, JobSpec, JobSummary};
use super::journal::{self, Detail, Journal, JournalState};
use super::manifest::{VerifyReport, verify};
use super::settings::Settings;
use super::sweep::{Entry, LogRecord, ScanReport, Schedule, Scheduler, SweepReport, Trigger};
use super::sweeper::{self, SweepDone, SweepScope, SweepWork};
use super::transfer::{LiveProgress, Phase, discard, roll_back, run_job};

/// How often running jobs report progress.
pub const PROGRESS_INTERVAL: Duration = Duration::from_millis(250);

/// A callback the engine calls after publishing events (e.g. to repaint).
pub type Waker = Arc<dyn Fn() + Send + Sync>;

/// How to start the engine.
#[derive(Clone)]
pub struct EngineConfig {
    /// Worker threads (jobs running at once).
    pub workers: usize,
    /// Where journals live.
    pub data_dir: PathBuf,
    /// Called after events are published.
    pub waker: Option<Waker>,
    /// Sweep thresholds, roots and schedule (and defaults clients show).
    pub settings: Settings,
    /// Where [`Command::UpdateSettings`] saves them; `None` keeps them in
    /// memory only.
    pub settings_path: Option<PathBuf>,
    /// Where the per-user timer for scheduled sweeps goes and what it runs
    /// (the embedding program knows); `None`: the timer commands say there
    /// is none.
    pub timer: Option<TimerHost>,
    /// Whether the engine's own timer runs the settings' scheduled sweeps
    /// (a long-running program: the window). A one-off command turns it
    /// off; [`Command::SweepIfDue`] still runs the scheduled sweep on
    /// request.
    pub scheduled_sweeps: bool,
}

/// What the engine needs to install the per-user timer that sweeps while
/// the window is closed.
#[derive(Debug, Clone)]
pub struct TimerHost {
    /// Where its files go.
    pub place: crate::timer::TimerPlace,
    /// The program it runs (absolute), with `sweep --scheduled`.
    pub program: PathBuf,
    /// The environment it runs with (Ferry's folder overrides).
    pub env: Vec<(String, PathBuf)>,
}

impl EngineConfig {
    /// The schedule the engine's own timer follows under `settings`.
    fn timer_schedule(&self, settings: &Settings) -> Schedule {
        if self.scheduled_sweeps {
            settings.sweep.schedule
        } else {
            Schedule::Off
        }
    }

    /// Defaults: two workers, default settings kept in memory, no waker.
    pub fn new(data_dir: impl Into<PathBuf>) -> Self {
        Self {
            workers: 2,
            data_dir: data_dir.into(),
            waker: None,
            settings: Settings::default(),
            settings_path: None,
            timer: None,
            scheduled_sweeps: true,
        }
    }
}

/// Which jobs a command is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// One job.
    Job(JobId),
    /// Every queued and running job.
    All,
}

/// What a client asks of the engine.
#[derive(Debug, Clone)]
pub enum Command {
    /// Queue a transfer under a client-chosen id (see [`Engine::enqueue`]).
    Enqueue {
        /// Its id.
        id: JobId,
        /// What to do.
        spec: JobSpec,
    },
    /// Finish an interrupted, journaled job.
    ResumeJournaled(JobId),
    /// Undo an interrupted all-or-nothing job.
    RollBack(JobId),
    /// Give up an interrupted job: its dead temps and locks are removed,
    /// what it finished stays, its journal goes.
    Discard(JobId),
    /// Copy again the files a job in the history failed to copy, as a new
    /// job (with this policy, or the job's own).
    Retry {
        /// The ended job.
        id: JobId,
        /// The conflict policy for the retry.
        policy: Option<ConflictPolicy>,
    },
    /// Forget the history of ended jobs.
    ClearHistory,
    /// Check sources and a destination before a job is started
    /// ([`Event::Inspected`]; only the newest of several waiting requests
    /// is answered).
    Inspect {
        /// The sources.
        sources: Vec<PathBuf>,
        /// The destination.
        dest: Option<PathBuf>,
    },
    /// Install the per-user timer that runs scheduled sweeps while Ferry is
    /// closed, on the settings' schedule ([`Event::Timer`]).
    InstallTimer,
    /// Remove that timer ([`Event::Timer`]).
    RemoveTimer,
    /// Ask whether it is installed and when it last swept ([`Event::Timer`]).
    TimerStatus,
    /// Create a destination folder (with its parents) a person asked for;
    /// answered by [`Event::FolderCreated`] and a new [`Event::Inspected`].
    CreateFolder(PathBuf),
    /// Read again every file a checksum manifest names
    /// ([`Event::Verified`]); [`Command::Cancel`] with the same id stops it.
    Verify {
        /// An id for the work, chosen by the client.
        id: JobId,
        /// The manifest.
        manifest: PathBuf,
    },
    /// Hold jobs at their next chunk.
    Pause(Target),
    /// Let paused jobs go on.
    Unpause(Target),
    /// Stop jobs; their unfinished files are left as they were.
    Cancel(Target),
    /// A person's answer to a job's [`Event::Conflict`].
    Answer {
        /// The job.
        id: JobId,
        /// The answer.
        answer: Answer,
    },
    /// Stop everything because the process is going away; the jobs stay
    /// journaled so they can be resumed.
    Interrupt,
    /// List leftover temp files ([`Event::ScanFinished`], or
    /// [`Event::ScopeRejected`] when a folder it names cannot be used).
    Scan(SweepScope),
    /// Remove every orphan in scope ([`Event::SweepFinished`] or
    /// [`Event::SweepFailed`], or [`Event::ScopeRejected`]).
    Sweep(SweepScope),
    /// Remove these scanned entries, if they are still orphans.
    SweepEntries(Vec<Entry>),
    /// Run the scheduled sweep now if the settings' schedule says one is
    /// due (by the last sweep and when the schedule was set, kept in the
    /// data folder): [`Event::SweepFinished`] of a scheduled sweep, or
    /// [`Event::SweepNotDue`]. What the per-user timer runs (`ferry sweep
    /// --scheduled`).
    SweepIfDue,
    /// List the journaled jobs: interrupted ones and ones another process
    /// is running ([`Event::Jobs`]).
    ListJobs,
    /// Validate, save and apply new settings ([`Event::SettingsSaved`]).
    UpdateSettings(Settings),
    /// Stop the engine (interrupting what runs).
    Shutdown,
}

/// A job's progress, as published.
#[derive(Debug, Clone, PartialEq)]
pub struct Progress {
    /// The job.
    pub id: JobId,
    /// Bytes processed.
    pub bytes_done: u64,
    /// Bytes planned.
    pub bytes_total: u64,
    /// Files processed.
    pub files_done: u64,
    /// Files planned.
    pub files_total: u64,
    /// The file being written.
    pub current: Option<PathBuf>,
    /// Smoothed rate in bytes per second.
    pub rate: f64,
    /// Estimated time left, when the rate allows a guess.
    pub eta: Option<Duration>,
    /// Whether the job is paused.
    pub paused: bool,
    /// What it is doing now.
    pub phase: Phase,
    /// While verifying: bytes of the current file read back, and its size.
    pub verifying: Option<(u64, u64)>,
}

/// An interrupted job found in the journal directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unfinished {
    /// Its id.
    pub id: JobId,
    /// What it was doing.
    pub spec: JobSpec,
    /// Files and links finished before it stopped (folders not counted).
    pub done: usize,
    /// Files and links in its plan.
    pub total: usize,
}

/// A journaled job: interrupted, or being run by another process.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobInfo {
    /// Its id.
    pub id: JobId,
    /// What it does.
    pub spec: JobSpec,
    /// Whether a live process is running it now (its journal is locked).
    pub running: bool,
    /// Files (and links) of its plan finished; folders are not counted.
    pub done: usize,
    /// Files (and links) in its plan.
    pub total: usize,
}

/// The journaled jobs ([`Command::ListJobs`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobList {
    /// The jobs, oldest first.
    pub jobs: Vec<JobInfo>,
    /// Journals that could not be read, one problem each in words.
    pub problems: Vec<String>,
    /// The folder the journals are in.
    pub folder: PathBuf,
}

impl JobList {
    /// The job whose id is `id` or starts with it (a unique prefix).
    pub fn find(&self, id: &str) -> super::Result<&JobInfo> {
        let mut matching = self
            .jobs
            .iter()
            .filter(|j| j.id.to_string().starts_with(id));
        match (matching.next(), matching.next()) {
            (Some(job), None) => Ok(job),
            (None, _) => Err(Error::new(
                ErrorKind::NotFound,
                Operation::ReadState,
                &self.folder,
                format!("there is no unfinished job '{id}' (see `ferry jobs`)"),
            )),
            (Some(_), Some(_)) => Err(Error::new(
                ErrorKind::InvalidInput,
                Operation::ReadState,
                &self.folder,
                format!("'{id}' matches several jobs; give more of the id"),
            )),
        }
    }
}

/// What the engine tells its clients.
#[derive(Debug, Clone)]
pub enum Event {
    /// A job was accepted.
    Queued {
        /// Its id.
        id: JobId,
        /// What it will do.
        spec: JobSpec,
    },
    /// A worker started it.
    Started {
        /// Its id.
        id: JobId,
    },
    /// Throttled progress of a running job.
    Progress(Progress),
    /// The job is held.
    Paused {
        /// Its id.
        id: JobId,
    },
    /// The job goes on.
    Unpaused {
        /// Its id.
        id: JobId,
    },
    /// A file's destination exists and the job's policy is to ask: the
    /// file waits (the rest goes on) for a [`Command::Answer`].
    Conflict {
        /// The job.
        id: JobId,
        /// Both sides.
        conflict: Conflict,
    },
    /// The job is over; always its last event.
    Finished {
        /// Its id.
        id: JobId,
        /// How it went.
        summary: JobSummary,
    },
    /// Interrupted jobs found at start-up (resume or roll them back), and
    /// the list again whenever one is discarded.
    Unfinished(Vec<Unfinished>),
    /// The journaled jobs ([`Command::ListJobs`]), or why the journal
    /// folder could not be read.
    Jobs(Result<JobList, String>),
    /// The job was accepted: its plan is made (files and bytes to write).
    Planned {
        /// Its id.
        id: JobId,
        /// Files and links to write.
        files: u64,
        /// Bytes to write.
        bytes: u64,
    },
    /// The jobs that ended before, kept in the data folder (at start-up and
    /// after the history is cleared), oldest first.
    History(Vec<HistoryEntry>),
    /// A job ended and was added to the history.
    HistoryAdded(Box<HistoryEntry>),
    /// The per-user timer's state after a timer command (or why the command
    /// failed, in words).
    Timer(Result<crate::timer::TimerStatus, String>),
    /// What a [`Command::Inspect`] found.
    Inspected(Inspection),
    /// A [`Command::CreateFolder`] ended (the error in words, if it failed).
    FolderCreated {
        /// The folder.
        path: PathBuf,
        /// Why it could not be created.
        error: Option<String>,
    },
    /// A [`Command::Verify`] ended: what it found, or why it could not.
    Verified {
        /// Its id.
        id: JobId,
        /// The files intact, changed and missing.
        result: Result<VerifyReport, String>,
    },
    /// Something a person should know that is not tied to a job.
    Warning(String),
    /// A scan's candidates.
    ScanFinished(ScanReport),
    /// A sweep ran (manual or scheduled).
    SweepFinished(SweepReport),
    /// A sweep could not run (another sweep held the lock, …).
    SweepFailed {
        /// Manual or scheduled.
        trigger: Trigger,
        /// Why, in words.
        message: String,
        /// What kind of failure ([`ErrorKind::Cancelled`] when it was
        /// interrupted before it started).
        kind: ErrorKind,
    },
    /// A [`Command::SweepIfDue`] found no sweep due.
    SweepNotDue {
        /// The settings' schedule ([`Schedule::Off`]: never due).
        schedule: Schedule,
        /// When the next one is due.
        next_run: Option<SystemTime>,
    },
    /// A scan or sweep was refused before it looked at anything: folders
    /// its [`SweepScope`] names cannot be used. Nothing was done.
    ScopeRejected {
        /// Whether it was a sweep (else a scan).
        sweep: bool,
        /// Each problem, in words.
        problems: Vec<String>,
    },
    /// When sweeps ran and will run, and what they removed lately.
    SweepStatus {
        /// The last sweep's end.
        last_run: Option<SystemTime>,
        /// The next scheduled sweep (none when the schedule is off).
        next_run: Option<SystemTime>,
        /// The newest sweep-log lines, newest last.
        log: Vec<LogRecord>,
    },
    /// New settings are saved and in force.
    SettingsSaved(Settings),
    /// Settings refused, with every problem in words.
    SettingsRejected(Vec<String>),
}

/// The client's handle. Dropping it interrupts running jobs (they stay
/// resumable) and joins the threads.
pub struct Engine {
    commands: Sender<Command>,
    events: Receiver<Event>,
    owner: Option<JoinHandle<()>>,
}

impl Engine {
    /// Starts the owner thread (the workers start with the first job, so a
    /// command that runs none, a sweep or a listing, starts none), and
    /// reports interrupted jobs found in the journal directory as an
    /// [`Event::Unfinished`].
    pub fn start(config: EngineConfig) -> Self {
        let (commands, command_rx) = unbounded();
        let (event_tx, events) = unbounded();
        let owner = thread::Builder::new()
            .name("ferry-engine".into())
            .spawn(move || Owner::new(config, event_tx).run(command_rx))
            .expect("the engine thread could not be started");
        Self {
            commands,
            events,
            owner: Some(owner),
        }
    }

    /// Queues a transfer and returns its id.
    pub fn enqueue(&self, spec: JobSpec) -> JobId {
        let id = JobId::random();
        self.send(Command::Enqueue { id, spec });
        id
    }

    /// Sends a command.
    pub fn send(&self, command: Command) {
        // The owner only stops after Shutdown, which only Drop sends.
        let _ = self.commands.send(command);
    }

    /// A sender for commands from other threads (e.g. a signal handler).
    pub fn commands(&self) -> Sender<Command> {
        self.commands.clone()
    }

    /// The events, in order.
    pub fn events(&self) -> &Receiver<Event> {
        &self.events
    }
}

impl Drop for Engine {
    fn drop(&mut self) {
        let _ = self.commands.send(Command::Shutdown);
        if let Some(owner) = self.owner.take() {
            let _ = owner.join();
        }
    }
}

/// Work handed to a worker thread.
enum Work {
    Run {
        id: JobId,
        spec: JobSpec,
        resume: Option<(Journal, JournalState)>,
        control: Arc<Control>,
        progress: Arc<LiveProgress>,
    },
    RollBack {
        id: JobId,
        journal: Journal,
        state: JournalState,
    },
    Verify {
        id: JobId,
        manifest: PathBuf,
        control: Arc<Control>,
    },
}

enum WorkerMsg {
    Started(JobId),
    Finished(JobId, JobSummary),
    Verified(JobId, Result<VerifyReport, String>),
}

struct Running {
    spec: JobSpec,
    /// A manifest being checked, not a transfer (no progress events).
    verifying: bool,
    planned: bool,
    control: Arc<Control>,
    progress: Arc<LiveProgress>,
    last: Option<Progress>,
    sample: (Instant, u64),
    rate: f64,
}

struct Owner {
    config: EngineConfig,
    events: Sender<Event>,
    work_tx: Option<Sender<Work>>,
    work_rx: Receiver<Work>,
    worker_tx: Sender<WorkerMsg>,
    worker_rx: Receiver<WorkerMsg>,
    workers: Vec<JoinHandle<()>>,
    /// How many workers the pool is to have once it is needed.
    worker_target: usize,
    jobs: HashMap<JobId, Running>,
    sweep_tx: Option<Sender<(SweepWork, Settings)>>,
    sweep_rx: Receiver<SweepDone>,
    inspect_tx: Sender<InspectWork>,
    inspect_rx: Receiver<Event>,
    sweeper: Option<JoinHandle<()>>,
    sweep_cancel: Arc<AtomicBool>,
    sweeping: bool,
    scheduler: Scheduler,
    history: History,
}

impl Owner {
    fn new(config: EngineConfig, events: Sender<Event>) -> Self {
        let (work_tx, work_rx) = unbounded::<Work>();
        let (worker_tx, worker_rx) = unbounded();
        let (sweep_tx, sweep_work) = unbounded();
        let (sweep_done, sweep_rx) = unbounded();
        let (inspect_tx, inspect_work) = unbounded();
        let (inspected_tx, inspect_rx) = unbounded();
        thread::Builder::new()
            .name("ferry-inspector".into())
            .spawn(move || inspector(inspect_work, inspected_tx))
            .expect("the inspector thread could not be started");
        let sweep_cancel = Arc::new(AtomicBool::new(false));
        let sweeper = {
            let data_dir = config.data_dir.clone();
            let cancel = sweep_cancel.clone();
            thread::Builder::new()
                .name("ferry-sweeper".into())
                .spawn(move || sweeper::run(sweep_work, sweep_done, data_dir, cancel))
                .expect("the sweeper thread could not be started")
        };
        // A schedule counts from when it was set (recorded in the data
        // directory), so starting the app never sweeps at once because of
        // a schedule set shortly before.
        let scheduler = Scheduler::start_in(
            config.timer_schedule(&config.settings),
            &config.data_dir,
            SystemTime::now(),
        );
        let (history, history_problem) = match History::load_in(&config.data_dir) {
            Ok(history) => (history, None),
            Err(e) => (
                History::load_in(&config.data_dir).unwrap_or_default(),
                Some(e.to_string()),
            ),
        };
        if let Some(problem) = history_problem {
            let _ = events.send(Event::Warning(problem));
        }
        Self {
            worker_target: config.workers,
            config,
            events,
            work_tx: Some(work_tx),
            work_rx,
            worker_tx,
            worker_rx,
            workers: Vec::new(),
            jobs: HashMap::new(),
            sweep_tx: Some(sweep_tx),
            sweep_rx,
            inspect_tx,
            inspect_rx,
            sweeper: Some(sweeper),
            sweep_cancel,
            sweeping: false,
            scheduler,
            history,
        }
    }

    /// Starts workers until there are as many as the target (the pool only
    /// grows while the engine runs; a smaller count applies at the next
    /// start).
    fn grow_workers(&mut self) {
        while self.workers.len() < self.worker_target.max(1) {
            let n = self.workers.len();
            let work_rx = self.work_rx.clone();
            let worker_tx = self.worker_tx.clone();
            let data_dir = self.config.data_dir.clone();
            let worker = thread::Builder::new()
                .name(format!("ferry-worker-{n}"))
                .spawn(move || worker(work_rx, worker_tx, data_dir))
                .expect("a worker thread could not be started");
            self.workers.push(worker);
        }
    }

    fn emit(&self, event: Event) {
        let _ = self.events.send(event);
    }

    fn wake(&self) {
        if let Some(waker) = &self.config.waker {
            waker();
        }
    }

    fn run(mut self, commands: Receiver<Command>) {
        self.emit(Event::History(
            self.history.entries().iter().cloned().collect(),
        ));
        self.report_unfinished(false);
        self.publish_sweep_status(sweeper::recent_log(&self.config.data_dir));
        self.wake();
        let ticker = tick(PROGRESS_INTERVAL);
        let mut shutting_down = false;
        loop {
            let sweep_timer = match self.scheduler.time_until_due(SystemTime::now()) {
                Some(wait) if !self.sweeping && !shutting_down => at(Instant::now() + wait),
                _ => never(),
            };
            select! {
                recv(commands) -> command => match command {
                    Ok(Command::Shutdown) | Err(_) => {
                        self.control_jobs(Target::All, Control::interrupt);
                        self.sweep_cancel.store(true, Ordering::SeqCst);
                        shutting_down = true;
                        // Workers end when the queue is closed and drained.
                        self.work_tx = None;
                        self.sweep_tx = None;
                    }
                    Ok(command) => self.handle(command),
                },
                recv(self.worker_rx) -> msg => match msg {
                    Ok(WorkerMsg::Started(id)) => self.emit(Event::Started { id }),
                    Ok(WorkerMsg::Verified(id, result)) => {
                        self.jobs.remove(&id);
                        self.emit(Event::Verified { id, result });
                    }
                    Ok(WorkerMsg::Finished(id, summary)) => {
                        // A job that planned and ended within one tick is
                        // still announced as accepted first.
                        if let Some(job) = self.jobs.get(&id)
                            && !job.planned
                            && job.progress.is_planned()
                        {
                            let p = &job.progress;
                            self.emit(Event::Planned {
                                id,
                                files: p.files_total.load(Ordering::Relaxed),
                                bytes: p.bytes_total.load(Ordering::Relaxed),
                            });
                        }
                        if let Some(job) = self.jobs.remove(&id) {
                            self.remember(id, job.spec, &summary);
                        }
                        self.emit(Event::Finished { id, summary });
                    }
                    Err(_) => break,
                },
                recv(self.inspect_rx) -> event => {
                    if let Ok(event) = event {
                        self.emit(event);
                    }
                }
                recv(self.sweep_rx) -> done => {
                    if let Ok(done) = done {
                        self.sweep_done(done);
                    }
                }
                recv(sweep_timer) -> _ => {
                    self.start_sweep(SweepWork::Sweep(SweepScope::default(), Trigger::Scheduled));
                }
                recv(ticker) -> _ => self.publish_progress(),
            }
            self.wake();
            if shutting_down && self.jobs.is_empty() {
                break;
            }
        }
        self.work_tx = None;
        self.sweep_tx = None;
        for worker in self.workers.drain(..) {
            let _ = worker.join();
        }
        if let Some(sweeper) = self.sweeper.take() {
            let _ = sweeper.join();
        }
    }

    fn start_sweep(&mut self, work: SweepWork) {
        if !matches!(work, SweepWork::Scan(_)) {
            self.sweeping = true;
        }
        if let Some(tx) = &self.sweep_tx {
            let _ = tx.send((work, self.config.settings.clone()));
        }
    }

    fn sweep_done(&mut self, done: SweepDone) {
        match done {
            SweepDone::Scanned(report) => self.emit(Event::ScanFinished(report)),
            SweepDone::Swept { trigger, result } => {
                self.sweeping = false;
                match result {
                    Ok(report) => {
                        if !report.dry_run {
                            self.scheduler.record_run(report.finished);
                        }
                        self.emit(Event::SweepFinished(report));
                    }
                    Err((kind, message)) => {
                        self.scheduler.postpone(SystemTime::now());
                        self.emit(Event::SweepFailed {
                            trigger,
                            message,
                            kind,
                        });
                    }
                }
            }
            SweepDone::Logged(log) => self.publish_sweep_status(log),
            SweepDone::NotDue { schedule, next_run } => {
                self.sweeping = false;
                self.emit(Event::SweepNotDue { schedule, next_run });
            }
            SweepDone::Rejected { sweep, problems } => {
                if sweep {
                    self.sweeping = false;
                }
                self.emit(Event::ScopeRejected { sweep, problems });
            }
        }
    }

    fn publish_sweep_status(&self, log: Vec<LogRecord>) {
        let now = SystemTime::now();
        self.emit(Event::SweepStatus {
            last_run: self.scheduler.last_run(),
            next_run: self.scheduler.next_due(now),
            log,
        });
    }

    fn update_settings(&mut self, settings: Settings) {
        if let Err(invalid) = settings.validate() {
            self.emit(Event::SettingsRejected(invalid.problems));
            return;
        }
        if let Some(path) = &self.config.settings_path
            && let Err(e) = settings.save_to(path)
        {
            self.emit(Event::SettingsRejected(vec![e.to_string()]));
            return;
        }
        // A new schedule's first sweep is one interval from now, never now.
        if let Err(e) = self
            .scheduler
            .set_schedule_at(self.config.timer_schedule(&settings), SystemTime::now())
        {
            self.emit(Event::Warning(format!(
                "the time the sweep schedule was set could not be recorded ({e}); if Ferry \
                 restarts before the first scheduled sweep, that sweep comes one interval \
                 after the restart"
            )));
        }
        self.worker_target = settings.transfer.workers;
        if !self.workers.is_empty() {
            self.grow_workers();
        }
        self.config.settings = settings.clone();
        self.emit(Event::SettingsSaved(settings));
        self.publish_sweep_status(sweeper::recent_log(&self.config.data_dir));
    }

    fn handle(&mut self, command: Command) {
        match command {
            Command::Enqueue { id, spec } => self.queue(id, spec, None),
            Command::ResumeJournaled(id) => match self.open_journal(id, Detail::Resume) {
                Ok((journal, state)) => {
                    let spec = state.spec.clone();
                    self.queue(id, spec, Some((journal, state)));
                }
                Err(message) => self.refuse(id, message),
            },
            Command::RollBack(id) => match self.open_journal(id, Detail::Full) {
                Ok((journal, state)) if state.spec.all_or_nothing && !state.committed => {
                    self.emit(Event::Queued {
                        id,
                        spec: state.spec.clone(),
                    });
                    self.track(id, state.spec.clone());
                    self.dispatch(Work::RollBack { id, journal, state });
                }
                Ok((_, state)) if state.committed => self.refuse(
                    id,
                    "this job already committed; use resume to finish it".into(),
                ),
                Ok(_) => self.refuse(
                    id,
                    "only all-or-nothing jobs can be rolled back; use resume to finish it".into(),
                ),
                Err(message) => self.refuse(id, message),
            },
            Command::Pause(target) => self.control_jobs(target, Control::pause),
            Command::Unpause(target) => self.control_jobs(target, Control::resume),
            Command::Cancel(target) => self.control_jobs(target, Control::cancel),
            Command::Discard(id) => self.discard(id),
            Command::Retry { id, policy } => {
                match self.history.get(id).and_then(|e| e.retry(policy)) {
                    Some(spec) => self.queue(JobId::random(), spec, None),
                    None => self.emit(Event::Warning(format!(
                        "job {id} has no failed files that could be copied again"
                    ))),
                }
            }
            Command::Verify { id, manifest } => {
                let placeholder = JobSpec::copy(Vec::new(), &manifest);
                let (control, _) = self.track(id, placeholder);
                if let Some(job) = self.jobs.get_mut(&id) {
                    job.verifying = true;
                }
                self.dispatch(Work::Verify {
                    id,
                    manifest,
                    control,
                });
            }
            Command::Inspect { sources, dest } => {
                let _ = self.inspect_tx.send(InspectWork::Inspect { sources, dest });
            }
            Command::InstallTimer | Command::RemoveTimer | Command::TimerStatus => {
                let action = match command {
                    Command::InstallTimer => {
                        TimerAction::Install(self.config.settings.sweep.schedule)
                    }
                    Command::RemoveTimer => TimerAction::Remove,
                    _ => TimerAction::Status,
                };
                let _ = self.inspect_tx.send(InspectWork::Timer {
                    action,
                    host: self.config.timer.clone(),
                    data_dir: self.config.data_dir.clone(),
                });
            }
            Command::CreateFolder(path) => {
                let _ = self.inspect_tx.send(InspectWork::CreateFolder(path));
            }
            Command::ClearHistory => {
                if let Err(e) = self.history.clear() {
                    self.emit(Event::Warning(e.to_string()));
                }
                self.emit(Event::History(Vec::new()));
            }
            Command::Answer { id, answer } => {
                if let Some(job) = self.jobs.get(&id) {
                    job.control.answer(answer);
                }
            }
            Command::Interrupt => {
                self.control_jobs(Target::All, Control::interrupt);
                // The process is going away: a scan or sweep stops between
                // two files (and later ones stop at once).
                self.sweep_cancel.store(true, Ordering::SeqCst);
            }
            Command::Scan(scope) => self.start_sweep(SweepWork::Scan(scope)),
            Command::Sweep(scope) => {
                self.start_sweep(SweepWork::Sweep(scope, Trigger::Manual));
            }
            Command::SweepEntries(entries) => self.start_sweep(SweepWork::SweepEntries(entries)),
            Command::SweepIfDue => self.start_sweep(SweepWork::SweepIfDue),
            Command::ListJobs => self.list_jobs(),
            Command::UpdateSettings(settings) => self.update_settings(settings),
            Command::Shutdown => unreachable!("handled in run"),
        }
    }

    fn queue(&mut self, id: JobId, spec: JobSpec, resume: Option<(Journal, JournalState)>) {
        self.emit(Event::Queued {
            id,
            spec: spec.clone(),
        });
        let (control, progress) = self.track(id, spec.clone());
        self.dispatch(Work::Run {
            id,
            spec,
            resume,
            control,
            progress,
        });
    }

    fn track(&mut self, id: JobId, spec: JobSpec) -> (Arc<Control>, Arc<LiveProgress>) {
        let running = Running {
            spec,
            verifying: false,
            planned: false,
            control: Arc::default(),
            progress: Arc::default(),
            last: None,
            sample: (Instant::now(), 0),
            rate: 0.0,
        };
        let handles = (running.control.clone(), running.progress.clone());
        self.jobs.insert(id, running);
        handles
    }

    fn dispatch(&mut self, work: Work) {
        self.grow_workers();
        if let Some(tx) = &self.work_tx {
            let _ = tx.send(work);
        }
    }

    /// Ends a command about a journaled job that cannot be carried out.
    fn refuse(&mut self, id: JobId, message: String) {
        self.emit(Event::Finished {
            id,
            summary: JobSummary {
                warnings: vec![message],
                ..JobSummary::empty(JobOutcome::Failed)
            },
        });
    }

    /// Gives up an interrupted job: removes its dead temps and locks (what
    /// it finished stays) and its journal, then tells the clients the new
    /// list of interrupted jobs.
    fn discard(&mut self, id: JobId) {
        match self.open_journal(id, Detail::Resume) {
            Ok((journal, state)) => {
                for problem in discard(&state) {
                    self.emit(Event::Warning(problem.to_string()));
                }
                if let Err(e) = journal.remove() {
                    self.emit(Event::Warning(e.to_string()));
                }
            }
            Err(message) => self.emit(Event::Warning(message)),
        }
        self.report_unfinished(true);
    }

    fn open_journal(
        &self,
        id: JobId,
        detail: Detail,
    ) -> Result<(Journal, JournalState), String> {
        let path = Journal::path_for(&self.config.data_dir, id);
        if !path.exists() {
            return Err(format!("there is no unfinished job {id}"));
        }
        Journal::reopen_with(&path, detail).map_err(|e| e.to_string())
    }

    fn control_jobs(&mut self, target: Target, action: fn(&Control)) {
        let ids: Vec<JobId> = match target {
            Target::Job(id) => vec![id],
            Target::All => self.jobs.keys().copied().collect(),
        };
        for id in ids {
            let Some(job) = self.jobs.get(&id) else {
                continue;
            };
            let was_paused = job.control.is_paused();
            action(&job.control);
            match (was_paused, job.control.is_paused()) {
                (false, true) => self.emit(Event::Paused { id }),
                (true, false) => self.emit(Event::Unpaused { id }),
                _ => {}
            }
        }
    }

    /// Keeps an ended job in the history (and tells the clients).
    fn remember(&mut self, id: JobId, spec: JobSpec, summary: &JobSummary) {
        let entry = HistoryEntry::new(id, spec.absolute(), summary.clone());
        if let Err(e) = self.history.push(entry.clone()) {
            self.emit(Event::Warning(e.to_string()));
        }
        self.emit(Event::HistoryAdded(Box::new(entry)));
    }

    /// Tells the clients about every journaled job.
    fn list_jobs(&self) {
        let folder = Journal::dir(&self.config.data_dir);
        let list = journal::list(&self.config.data_dir)
            .map(|(jobs, errors)| JobList {
                jobs: jobs
                    .into_iter()
                    .map(|j| JobInfo {
                        id: j.state.id,
                        done: j.state.files_done(),
                        total: j.state.files_total(),
                        spec: j.state.spec,
                        running: j.running,
                    })
                    .collect(),
                problems: errors.iter().map(ToString::to_string).collect(),
                folder,
            })
            .map_err(|e| e.to_string());
        self.emit(Event::Jobs(list));
    }

    /// Tells the clients about the interrupted jobs (with `always`, also
    /// when there are none: after one was discarded).
    fn report_unfinished(&self, always: bool) {
        match journal::list(&self.config.data_dir) {
            Ok((jobs, errors)) => {
                let unfinished: Vec<Unfinished> = jobs
                    .into_iter()
                    .filter(|j| !j.running)
                    .map(|j| Unfinished {
                        id: j.state.id,
                        done: j.state.files_done(),
                        total: j.state.files_total(),
                        spec: j.state.spec,
                    })
                    .collect();
                if always || !unfinished.is_empty() {
                    self.emit(Event::Unfinished(unfinished));
                }
                for e in errors {
                    self.emit(Event::Warning(e.to_string()));
                }
            }
            Err(e) => self.emit(Event::Warning(e.to_string())),
        }
    }

    fn publish_progress(&mut self) {
        let now = Instant::now();
        let mut reports = Vec::new();
        let mut conflicts = Vec::new();
        let mut planned = Vec::new();
        for (&id, job) in &mut self.jobs {
            if job.verifying {
                continue;
            }
            let p = &job.progress;
            let bytes_done = p.bytes_done.load(Ordering::Relaxed);
            let (then, bytes_then) = job.sample;
            let dt = now.duration_since(then).as_secs_f64();
            if dt > 0.0 {
                let instant = bytes_done.saturating_sub(bytes_then) as f64 / dt;
                // Exponential smoothing: steady enough to read, quick to follow.
                job.rate = if job.last.is_none() {
                    instant
                } else {
                    0.3 * instant + 0.7 * job.rate
                };
            }
            job.sample = (now, bytes_done);
            let bytes_total = p.bytes_total.load(Ordering::Relaxed).max(bytes_done);
            let paused = job.control.is_paused();
            let eta = (job.rate > 1.0 && !paused)
                .then(|| Duration::from_secs_f64((bytes_total - bytes_done) as f64 / job.rate));
            if !job.planned && p.is_planned() {
                job.planned = true;
                planned.push((
                    id,
                    p.files_total.load(Ordering::Relaxed),
                    p.bytes_total.load(Ordering::Relaxed),
                ));
            }
            let report = Progress {
                id,
                bytes_done,
                bytes_total,
                files_done: p.files_done.load(Ordering::Relaxed),
                files_total: p.files_total.load(Ordering::Relaxed),
                current: p.current(),
                rate: if paused { 0.0 } else { job.rate },
                eta,
                paused,
                phase: p.phase(),
                verifying: p.verify_progress(),
            };
            for conflict in p.take_conflicts() {
                conflicts.push((id, conflict));
            }
            if job.last.as_ref() != Some(&report) {
                job.last = Some(report.clone());
                reports.push(report);
            }
        }
        for (id, files, bytes) in planned {
            self.emit(Event::Planned { id, files, bytes });
        }
        for report in reports {
            self.emit(Event::Progress(report));
        }
        for (id, conflict) in conflicts {
            self.emit(Event::Conflict { id, conflict });
        }
    }
}

fn worker(work: Receiver<Work>, done: Sender<WorkerMsg>, data_dir: PathBuf) {
    for item in work {
        let id = item.id();
        if let Work::Verify {
            manifest, control, ..
        } = &item
        {
            let _ = done.send(WorkerMsg::Started(id));
            let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                verify(manifest, Some(control.cancel_flag())).map_err(|e| e.to_string())
            }))
            .unwrap_or_else(|_| Err("internal error while verifying; please report it".into()));
            let _ = done.send(WorkerMsg::Verified(id, result));
            continue;
        }
        let _ = done.send(WorkerMsg::Started(id));
        // A bug must not hang Ferry: a panic ends this job as failed (its
        // journal stays, so it can be resumed), and the worker goes on.
        let summary =
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| run_work(item, &data_dir)))
                .unwrap_or_else(|panic| internal_error(id, panic.as_ref()));
        let _ = done.send(WorkerMsg::Finished(id, summary));
    }
}

/// What the inspector thread is asked.
enum InspectWork {
    Inspect {
        sources: Vec<PathBuf>,
        dest: Option<PathBuf>,
    },
    CreateFolder(PathBuf),
    Timer {
        action: TimerAction,
        host: Option<TimerHost>,
        data_dir: PathBuf,
    },
}

/// What to do with the per-user timer.
enum TimerAction {
    Install(crate::sweep::Schedule),
    Remove,
    Status,
}

/// Carries out a timer command; the timer's state after it.
fn timer_work(
    action: TimerAction,
    host: Option<TimerHost>,
    data_dir: &std::path::Path,
) -> Result<crate::timer::TimerStatus, String> {
    use crate::timer;
    let host = host.ok_or("this program cannot install a timer for scheduled sweeps")?;
    match action {
        TimerAction::Install(crate::sweep::Schedule::Every(interval)) => {
            // Installing counts as setting the schedule, as in the window:
            // the first sweep comes one interval later.
            let _ = crate::sweep::Scheduler::start_in(
                crate::sweep::Schedule::Every(interval),
                data_dir,
                SystemTime::now(),
            );
            timer::install(&timer::TimerSpec {
                interval,
                program: host.program.clone(),
                args: vec!["sweep".into(), "--scheduled".into()],
                env: host.env.clone(),
                place: host.place.clone(),
            })
            .map_err(|e| format!("the timer was not installed: {e}"))?;
        }
        TimerAction::Install(_) => {
            return Err(
                "scheduled sweeps are off: choose how often to sweep, save, then install \
                        the timer"
                    .into(),
            );
        }
        TimerAction::Remove => {
            timer::remove(&host.place).map_err(|e| format!("the timer was not removed: {e}"))?;
        }
        TimerAction::Status => {}
    }
    timer::status(&host.place, data_dir).map_err(|e| e.to_string())
}

/// Checks paths and creates folders off the owner thread (a slow network
/// mount must not hold up the engine). Of several checks waiting, only the
/// newest is made: a person typing sends one per key.
fn inspector(work: Receiver<InspectWork>, events: Sender<Event>) {
    let probes = super::caps::ProbeCache::new();
    while let Ok(first) = work.recv() {
        let mut batch = vec![first];
        batch.extend(work.try_iter());
        let newest_check = batch
            .iter()
            .rposition(|w| matches!(w, InspectWork::Inspect { .. }));
        for (n, item) in batch.into_iter().enumerate() {
            let event = match item {
                InspectWork::Inspect { sources, dest } if Some(n) == newest_check => {
                    Event::Inspected(inspect_with(&probes, &sources, dest.as_deref()))
                }
                InspectWork::Inspect { .. } => continue,
                InspectWork::Timer {
                    action,
                    host,
                    data_dir,
                } => Event::Timer(timer_work(action, host, &data_dir)),
                InspectWork::CreateFolder(path) => {
                    let error = std::fs::create_dir_all(&path).err().map(|e| {
                        super::Error::io(super::Operation::CreateDir, &path, e).to_string()
                    });
                    let _ = events.send(Event::FolderCreated {
                        path: path.clone(),
                        error,
                    });
                    Event::Inspected(inspect_with(&probes, &[], Some(&path)))
                }
            };
            if events.send(event).is_err() {
                return;
            }
        }
    }
}

/// The summary of a job whose worker panicked.
fn internal_error(id: JobId, panic: &(dyn std::any::Any + Send)) -> JobSummary {
    let what = panic
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic".into());
    JobSummary {
        warnings: vec![format!(
            "internal error: {what}. This is a bug in Ferry; the job {id} stays journaled, so \
             `ferry resume {id}` (or Resume in the window) can finish it. Please report it, \
             with this message."
        )],
        ..JobSummary::empty(JobOutcome::Failed)
    }
}

impl Work {
    fn id(&self) -> JobId {
        match self {
            Work::Run { id, .. } | Work::RollBack { id, .. } | Work::Verify { id, .. } => *id,
        }
    }
}

fn run_work(item: Work, data_dir: &std::path::Path) -> JobSummary {
    {
        match item {
            Work::Run {
                id,
                spec,
                resume,
                control,
                progress,
            } => {
                crate::faults::point("before-job");
                if control.is_cancelled() && resume.is_none() {
                    JobSummary::empty(JobOutcome::Cancelled)
                } else {
                    run_job(id, &spec, data_dir, &control, &progress, resume)
                }
            }
            Work::Verify { .. } => unreachable!("verified in the worker loop"),
            Work::RollBack {
                id: _,
                journal,
                state,
            } => {
                let started = Instant::now();
                let report = roll_back(state);
                let mut warnings = report.messages();
                // A journal that cannot be trusted, or a rollback that did
                // not finish, keeps the journal: nothing is forgotten.
                let outcome = if report.complete() {
                    if let Err(e) = journal.remove() {
                        warnings.push(e.to_string());
                    }
                    JobOutcome::RolledBack
                } else {
                    JobOutcome::Failed
                };
                JobSummary {
                    warnings,
                    elapsed: started.elapsed(),
                    method: "rollback".into(),
                    ..JobSummary::empty(outcome)
                }
            }
        }
    }
}
