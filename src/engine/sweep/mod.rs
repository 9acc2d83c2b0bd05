//! The sweeper: finds the partial files that interrupted transfers leave
//! behind and removes the ones that are provably dead.
//!
//! Every Ferry writer holds an exclusive lock on its temp file for the
//! file's whole life, so an unlocked temp is an orphan once it is older than
//! the threshold. The sweeper
//!
//! * looks only at Ferry's temp and lock names and at other tools' partial
//!   files ([`ForeignPattern`]), which it lists but removes only when the
//!   pattern is enabled in the settings, once they are at least the
//!   settings' minimum age for them (a day unless lowered) whatever the
//!   threshold, and in a scheduled sweep only if the settings include
//!   other tools' files in scheduled sweeps;
//! * lists the backups all-or-nothing jobs keep of the files they replace
//!   (`.<name>.<16 hex>.ferry-backup`, [`Backup`]) and never removes them;
//! * touches only regular files owned by the current user with exactly one
//!   link, walking relative to directory handles without following symbolic
//!   links and without entering another mount: another filesystem, or a
//!   bind mount of the same one (told apart by the mount's identity, not
//!   the device number);
//! * never removes a file another program has open, memory-mapped or
//!   locked in any way (`flock`, `fcntl`/`lockf`, OFD locks): on Linux this
//!   is checked on the file itself right before its removal (see the
//!   backend's `in_use` module for how, and what it costs); elsewhere the
//!   `flock` rule is what can be checked;
//! * takes a file's age from the newest of its modification and change
//!   times (a time in the future counts as fresh);
//! * removes a file only while holding its exclusive lock, after checking
//!   that the name still belongs to the inode it scanned and locked (the
//!   file is first renamed to a private name, checked there, then unlinked,
//!   so a file swapped in, or opened, at the last moment is put back, never
//!   deleted);
//! * never removes a folder, never opens a FIFO in a way that could block,
//!   runs one at a time (a lock in the data directory) and stops cleanly at
//!   a deadline or when cancelled.
//!
//! None of these rules costs a system call for the files that cannot
//! match: each folder is read in full and the type it records for each
//! entry decides, so only sub-folders and entries named like candidates
//! are looked at (inspected first where a filesystem records no types).
//! A regular file named like a candidate is opened once; its status and
//! lock are read on that handle. A sweep is the same walk as a scan: a
//! candidate is judged and, if eligible, removed at once through the
//! folder handle it was found by, without letting go of the lock its
//! probe took. The verdict on each candidate (removable, or why not) is
//! reached once, by the engine, and carried in the scan's report
//! ([`Entry::verdict`]), so no client works the rules out again. Folders are shared out to one thread per processor (at
//! most four; one on Windows), whose reports are merged and sorted.
//!
//! Every sweep that removes something appends it to the sweep log
//! ([`read_log_in`]) and records its time ([`load_state_in`]) so the GUI
//! and `ferry` can show the last and next run ([`Scheduler`]).
//!
//! This module is the engine's inside: clients scan and sweep through the
//! engine (`Command::Scan`, `Command::Sweep`, `Command::SweepIfDue`), whose
//! sweeper thread turns the settings into a [`SweepRequest`]. The example
//! below calls it directly, as Ferry's own tests do (feature `internals`).
//!
//! ```
//! use ferry_engine::sweep::{self, Status, SweepRequest};
//! use std::time::Duration;
//!
//! let dir = tempfile::tempdir()?;
//! let data = tempfile::tempdir()?;
//! // A temp file left by a transfer that was killed: nobody holds its lock.
//! let orphan = dir.path().join(".movie.mkv.00112233aabbccdd.ferry-part");
//! std::fs::write(&orphan, b"half a movie")?;
//! std::fs::write(dir.path().join("movie-notes.txt"), b"kept")?;
//!
//! let mut request = SweepRequest::new([dir.path()], Duration::ZERO);
//! request.data_dir = Some(data.path().to_path_buf());
//!
//! let scan = sweep::scan(&request);
//! assert_eq!(scan.entries.len(), 1);
//! assert_eq!(scan.entries[0].status, Status::Orphan);
//!
//! let report = sweep::run_sweep(&request)?;
//! assert_eq!(report.freed_bytes, 12);
//! assert!(!orphan.exists());
//! assert!(dir.path().join("movie-notes.txt").exists());
//! assert_eq!(sweep::read_log_in(data.path(), 10)?.len(), 1);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod guard;
mod limits;
mod log;
mod meta;
mod patterns;
mod remove;
mod report;
mod request;
mod scan;
mod schedule;
mod trend;

#[cfg(unix)]
mod unix;
#[cfg(unix)]
use unix as backend;

#[cfg(not(unix))]
mod other;
#[cfg(not(unix))]
use other as backend;

pub use log::{LogRecord, load_state_in, read_log_in};
pub use patterns::{ForeignPattern, Kind};
pub use remove::{run_due, run_sweep, sweep_entries};
pub use report::{
    Backup, Entry, Ignored, Removed, ScanReport, SkipReason, Skipped, Status, Stop, SweepReport,
    Verdict,
};
pub(crate) use request::resolve_root;
pub use request::{DEFAULT_FOREIGN_MIN_AGE, SweepRequest, Trigger, check_root};
pub use scan::scan;
pub use schedule::{Schedule, Scheduler};
pub use trend::{Tally, Trend, TrendSample};

// The sweeper's file names, limits and lower-level calls, for Ferry's own
// tests.
#[cfg(feature = "internals")]
pub use log::{LOCK_FILE, LOG_FILE, STATE_FILE, SweepState};
#[cfg(feature = "internals")]
pub use patterns::classify_name;
#[cfg(feature = "internals")]
pub use request::{DEFAULT_LOCK_WAIT, DEFAULT_TIME_LIMIT, Root};
#[cfg(feature = "internals")]
pub use schedule::{RETRY_DELAY, SCHEDULE_FILE};
#[cfg(feature = "internals")]
pub use trend::{TREND_FILE, TREND_SAMPLES, TREND_SPACING, read_trend_in};
