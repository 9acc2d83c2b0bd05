//! What a scan or sweep is asked to do: [`SweepRequest`].

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use super::patterns::ForeignPattern;
use crate::error::{Error, ErrorKind, Operation, Result};

/// How long a sweep may run before it stops cleanly (the default).
pub const DEFAULT_TIME_LIMIT: Duration = Duration::from_secs(10 * 60);

/// Other tools' files are removed only once they are at least this old,
/// whatever the threshold (the default; the settings' `foreign_min_age`).
pub const DEFAULT_FOREIGN_MIN_AGE: Duration = Duration::from_secs(24 * 3600);

/// How long a sweep waits for another sweep to finish before backing off
/// (the default).
pub const DEFAULT_LOCK_WAIT: Duration = Duration::from_secs(2);

/// A folder to look in.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Root {
    /// The folder.
    pub path: PathBuf,
    /// Whether to descend into sub-folders (on the same filesystem). The
    /// remembered destination folders are looked at one level only, since
    /// every folder the engine writes into is remembered on its own.
    pub recursive: bool,
}

impl Root {
    /// A folder and everything below it.
    pub fn tree(path: impl Into<PathBuf>) -> Self {
        Self {
            path: path.into(),
            recursive: true,
        }
    }

    /// One folder's own entries only.
    pub fn folder(path: impl Into<PathBuf>) -> Self {
        Self {
            path: path.into(),
            recursive: false,
        }
    }
}

/// Who started a sweep.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Default, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Trigger {
    /// A person: a click or `ferry sweep`.
    #[default]
    Manual,
    /// The engine's timer.
    Scheduled,
}

/// A scan or sweep: where to look, what counts as an orphan, and limits.
#[derive(Clone)]
pub struct SweepRequest<'a> {
    /// Folders to look in.
    pub roots: Vec<Root>,
    /// Also look in every folder the engine has written into
    /// (`known_dirs`), read when the sweep runs.
    pub include_remembered: bool,
    /// Unlocked files younger than this are young, older ones orphans. The
    /// settings never go below one minute; a request may (scripts, tests):
    /// Ferry's own live temps are told apart by their locks, not their age.
    pub threshold: Duration,
    /// Foreign patterns whose files may be removed (all are listed).
    pub foreign: Vec<ForeignPattern>,
    /// Other tools' files are removed only once they are at least this old,
    /// whatever the threshold (default: one day; the settings'
    /// `foreign_min_age`).
    pub foreign_min_age: Duration,
    /// Whether a scheduled sweep may remove other tools' files (of enabled
    /// patterns); off by default: a scheduled sweep removes only Ferry's
    /// own orphans.
    pub foreign_in_schedule: bool,
    /// List what would be removed without removing anything.
    pub dry_run: bool,
    /// Who asked (recorded in the sweep log).
    pub trigger: Trigger,
    /// The sweep stops cleanly after this long ([`Stop::Deadline`](super::Stop)).
    pub time_limit: Duration,
    /// How long to wait for another sweep to finish before giving up with
    /// [`ErrorKind::Busy`].
    pub lock_wait: Duration,
    /// Where the sweep log, state and lock live (the engine reads no
    /// environment: a sweep without one fails with a clear error).
    pub data_dir: Option<PathBuf>,
    /// Raised to stop the sweep cleanly (between two files).
    pub cancel: Option<&'a AtomicBool>,
    /// Told each path just before it is removed, while its lock is held,
    /// before the last checks (that no other program uses it, that its name
    /// still names it) and the removal (progress displays; tests use it to
    /// race the removal). It must not keep the file open.
    pub on_remove: Option<&'a (dyn Fn(&Path) + Sync)>,
}

impl<'a> SweepRequest<'a> {
    /// A manual sweep of `roots` (each with its sub-folders) with the given
    /// threshold and the default limits; no foreign pattern enabled.
    pub fn new<P: AsRef<Path>>(roots: impl IntoIterator<Item = P>, threshold: Duration) -> Self {
        Self {
            roots: roots.into_iter().map(|p| Root::tree(p.as_ref())).collect(),
            include_remembered: false,
            threshold,
            foreign: Vec::new(),
            foreign_min_age: DEFAULT_FOREIGN_MIN_AGE,
            foreign_in_schedule: false,
            dry_run: false,
            trigger: Trigger::Manual,
            time_limit: DEFAULT_TIME_LIMIT,
            lock_wait: DEFAULT_LOCK_WAIT,
            data_dir: None,
            cancel: None,
            on_remove: None,
        }
    }

    /// The data directory this request uses.
    pub fn resolve_data_dir(&self) -> Result<PathBuf> {
        match &self.data_dir {
            Some(dir) => Ok(dir.clone()),
            None => Err(crate::Error::new(
                crate::ErrorKind::InvalidInput,
                crate::Operation::State,
                "",
                "no data folder was given for the sweep log and lock",
            )),
        }
    }
}

impl fmt::Debug for SweepRequest<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SweepRequest")
            .field("roots", &self.roots)
            .field("include_remembered", &self.include_remembered)
            .field("threshold", &self.threshold)
            .field("foreign", &self.foreign)
            .field("foreign_min_age", &self.foreign_min_age)
            .field("foreign_in_schedule", &self.foreign_in_schedule)
            .field("dry_run", &self.dry_run)
            .field("trigger", &self.trigger)
            .field("time_limit", &self.time_limit)
            .field("lock_wait", &self.lock_wait)
            .field("data_dir", &self.data_dir)
            .finish_non_exhaustive()
    }
}

/// Checks a folder named by a person: it must exist and be a folder.
/// Returns its absolute, canonical path.
pub fn check_root(path: &Path) -> Result<PathBuf> {
    match resolve_root(path) {
        Ok(canonical) => Ok(canonical),
        Err(RootProblem::Missing(e)) => Err(Error::io(Operation::Inspect, path, e)),
        Err(RootProblem::NotAFolder) => Err(Error::new(
            ErrorKind::InvalidInput,
            Operation::Validate,
            path,
            "it is not a folder; give the folder to look in",
        )),
    }
}

/// Why a folder to sweep cannot be used.
pub(crate) enum RootProblem {
    /// It cannot be reached (missing, permission denied…).
    Missing(std::io::Error),
    /// It exists but is not a folder.
    NotAFolder,
}

impl RootProblem {
    /// What is wrong with the sweep folder `path`, for people. Settings,
    /// scans and sweeps all word it this way.
    pub fn describe(&self, path: &Path) -> String {
        match self {
            Self::Missing(e) => format!(
                "the sweep folder '{}' cannot be used: {}",
                path.display(),
                ErrorKind::from_io(e).describe()
            ),
            Self::NotAFolder => format!(
                "the sweep folder '{}' cannot be used: it is not a folder",
                path.display()
            ),
        }
    }
}

/// The canonical path of a folder to sweep, or what is wrong with it.
pub(crate) fn resolve_root(path: &Path) -> std::result::Result<PathBuf, RootProblem> {
    let canonical = path.canonicalize().map_err(RootProblem::Missing)?;
    if canonical.is_dir() {
        Ok(canonical)
    } else {
        Err(RootProblem::NotAFolder)
    }
}
