//! Ferry's engine: everything that touches the disk. No UI code lives here;
//! the desktop window and the command line are two clients of the same
//! handle.
//!
//! # One door
//!
//! A client starts an [`Engine`] with an [`EngineConfig`], sends it
//! [`Command`]s and reads [`Event`]s. Everything else at this crate's root
//! is a value those carry: job specs and summaries ([`JobSpec`],
//! [`JobSummary`], …), checks of paths ([`Inspection`]), scan and sweep
//! reports ([`ScanReport`], [`SweepReport`]), [`Settings`], the per-user
//! timer's state ([`TimerStatus`]) and the one error type ([`Error`]).
//! Transfers, resume and rollback of interrupted jobs, the list of journaled
//! jobs, scans, sweeps (manual, scheduled, or "if due"), checksum
//! verification and settings are all commands; the engine's modules are
//! private.
//!
//! ```
//! use ferry_engine::{Command, Engine, EngineConfig, Event, JobOutcome, JobSpec, SweepScope};
//!
//! let dir = tempfile::tempdir()?;
//! std::fs::write(dir.path().join("a.txt"), b"hello")?;
//! let engine = Engine::start(EngineConfig::new(dir.path().join("data")));
//!
//! // A copy: Queued, Started, Planned, Progress…, then exactly one Finished.
//! let id = engine.enqueue(JobSpec::copy(vec![dir.path().join("a.txt")], dir.path().join("b.txt")));
//! let summary = loop {
//!     match engine.events().recv()? {
//!         Event::Finished { id: done, summary } if done == id => break summary,
//!         _ => {}
//!     }
//! };
//! assert_eq!(summary.outcome, JobOutcome::Completed);
//! assert_eq!(std::fs::read(dir.path().join("b.txt"))?, b"hello");
//!
//! // A scan of one folder for leftover temp files.
//! engine.send(Command::Scan(SweepScope::folders([dir.path()])));
//! let report = loop {
//!     if let Event::ScanFinished(report) = engine.events().recv()? {
//!         break report;
//!     }
//! };
//! assert!(report.entries.is_empty());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Two small modules stay public: [`format`](mod@format) (sizes and paths written for
//! people and scripts) and [`faults`] (fault injection, for tests).
//!
//! # Internals
//!
//! The feature `internals` makes the engine's modules public (`atomic`,
//! `lock`, `names`, `sweep`, `journal`, `plan`, …) so that Ferry's own
//! integration tests can exercise the atomic protocol, locks, journals and
//! the sweeper's rules directly. It is for those tests only, not a
//! supported API. Inside, the modules are, bottom-up:
//!
//! * `error`: the one error type; `names`: temp and lock names; `os`:
//!   operating-system specifics behind `cfg`, and `caps`, what a
//!   destination filesystem can keep, probed with real calls;
//! * `lock`: advisory locks and the destination sidecar lock; `atomic`: the
//!   atomic write protocol (temp, lock, fsync, rename, folder fsync);
//!   `copy`: one regular file through it;
//! * `job`, `plan`, `journal`, `transfer`: jobs, their plans, their
//!   write-ahead journals, and running, resuming and rolling them back;
//! * `sweep`: the sweeper's rules (scan, remove, log, schedule, trend);
//!   `settings`: the settings file; `sweeper`: the engine's sweeper thread,
//!   the one place settings become a sweep request; `timer`: the per-user
//!   timer (systemd, launchd, Task Scheduler) that runs scheduled sweeps
//!   while Ferry is closed;
//! * `handle`: the [`Engine`] itself.

/// Declares modules that are private, or public with the `internals`
/// feature (for Ferry's own tests).
macro_rules! internal_modules {
    ($($name:ident),* $(,)?) => {$(
        #[cfg(feature = "internals")]
        pub mod $name;
        #[cfg(not(feature = "internals"))]
        mod $name;
    )*};
}

internal_modules!(
    atomic, control, copy, dirs, error, handle, history, inspect, job, journal, jsonl, known_dirs,
    lock, manifest, names, os, plan, settings, sweep, sweeper, timer, transfer,
);

pub mod faults;
pub mod format;

#[cfg(feature = "internals")]
pub use os::caps;
#[cfg(not(feature = "internals"))]
use os::caps;

pub use dirs::ensure as ensure_dir;
pub use error::{Error, ErrorKind, Operation, Result};
pub use handle::{
    Command, Engine, EngineConfig, Event, JobInfo, JobList, PROGRESS_INTERVAL, Progress, Target,
    TimerHost, Unfinished, Waker,
};
pub use history::HistoryEntry;
pub use inspect::{DestCheck, DestState, Inspection, SourceCheck, SourceState};
pub use job::{
    Answer, Choice, Conflict, ConflictPolicy, FileError, JobId, JobOutcome, JobSpec, JobSummary,
    TransferKind,
};
pub use manifest::VerifyReport;
pub use settings::{InvalidSettings, Settings, SweepSettings, TransferDefaults};
pub use sweep::{
    Backup, Entry as ScanEntry, ForeignPattern, Ignored, Kind, LogRecord, Removed, ScanReport,
    Schedule, Scheduler, SkipReason, Skipped, Status, Stop, SweepReport, Tally, TrendSample,
    Trigger, Verdict,
};
pub use sweeper::SweepScope;
pub use timer::{
    Installed as TimerInstalled, LastSweep, Manager as TimerManager, Removed as TimerRemoved,
    TimerPlace, TimerSpec, TimerStatus, install as install_timer, manager_name as timer_manager,
    remove as remove_timer, status as timer_status,
};
pub use transfer::Phase;

/// The README's examples, compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
pub struct ReadmeDoctests;
