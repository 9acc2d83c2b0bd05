//! What a scan finds and what a sweep did.

use std::fmt;
use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use super::meta::Ident;
use super::patterns::{ForeignPattern, Kind};
use super::request::Trigger;

/// How a candidate stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Its lock is held: a live transfer (or reader) is using it.
    Active,
    /// Unlocked but younger than the threshold.
    Young,
    /// Unlocked and older than the threshold: safe to remove.
    Orphan,
    /// Another tool's partial file.
    Foreign,
}

impl Status {
    /// The status's name in reports and JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Young => "young",
            Self::Orphan => "orphan",
            Self::Foreign => "foreign",
        }
    }
}

/// One candidate found by a scan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Absolute path.
    pub path: PathBuf,
    /// Ferry temp, Ferry lock, or foreign.
    pub kind: Kind,
    /// For foreign files, the pattern that matched.
    pub pattern: Option<ForeignPattern>,
    /// Size in bytes.
    pub size: u64,
    /// Time since its last modification or status change (zero if that is
    /// in the future).
    pub age: Duration,
    /// Active, young, orphan or foreign.
    pub status: Status,
    /// Whether someone held a lock on it when it was scanned.
    pub locked: bool,
    /// What a manual sweep with the scan's settings would do with it, and
    /// why not if it would keep it: computed by the engine (the same rules
    /// a sweep applies, including whether another program is using it),
    /// so clients show it rather than work it out. A sweep checks again
    /// when it removes the file.
    pub verdict: Verdict,
    pub(crate) ident: Ident,
    pub(crate) dir: Ident,
    /// When its folder last changed, as scanned (before any removal).
    pub(crate) dir_changed: Option<std::time::SystemTime>,
    /// A folder a capability probe or a killed sweep left (removed only
    /// when empty).
    pub(crate) folder: bool,
}

impl Entry {
    /// Whether a sweep would remove it ([`Entry::verdict`]).
    pub fn removable(&self) -> bool {
        self.verdict.is_removable()
    }

    /// Whether it is a folder rather than a file: one a capability probe or
    /// a killed sweep left (a sweep removes it only once it is empty).
    pub fn is_folder(&self) -> bool {
        self.folder
    }
}

/// What a sweep would do with a scanned file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// It would be removed.
    Removable,
    /// It would be kept, for this reason.
    Kept(SkipReason),
}

impl Verdict {
    /// Whether the file would be removed.
    pub fn is_removable(&self) -> bool {
        matches!(self, Self::Removable)
    }

    /// Why the file would be kept (`None` when it would be removed).
    pub fn reason(&self) -> Option<&SkipReason> {
        match self {
            Self::Removable => None,
            Self::Kept(reason) => Some(reason),
        }
    }
}

/// A backup an all-or-nothing job keeps of a file it replaces
/// (`.<name>.<16 hex>.ferry-backup`). Scans list them, because a job killed
/// at the wrong moment can leave one its journal does not know; sweeps
/// never remove them ([`SkipReason::Backup`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Backup {
    /// Absolute path.
    pub path: PathBuf,
    /// Size in bytes.
    pub size: u64,
    /// Time since its last modification or status change.
    pub age: Duration,
    /// Its number of names: 2 while the file it backs up has not been
    /// replaced yet (the same data under both names).
    pub links: u64,
}

impl Backup {
    /// Why a sweep keeps it: always [`SkipReason::Backup`].
    pub fn verdict(&self) -> Verdict {
        Verdict::Kept(SkipReason::Backup)
    }
}

/// A file with a candidate's name that the sweeper leaves alone for safety
/// (a symbolic link, a folder, a FIFO, another user's file, a hard link…).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ignored {
    /// Absolute path.
    pub path: PathBuf,
    /// Why it is left alone.
    pub reason: String,
}

/// Why a scan or sweep stopped before the end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stop {
    /// It ran longer than its time limit.
    Deadline,
    /// It was cancelled.
    Cancelled,
}

impl fmt::Display for Stop {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Deadline => "it ran longer than its time limit and stopped early",
            Self::Cancelled => "it was cancelled",
        })
    }
}

/// The result of a scan.
#[derive(Debug, Clone, Default)]
pub struct ScanReport {
    /// Candidates, sorted by path.
    pub entries: Vec<Entry>,
    /// Look-alikes left alone, sorted by path.
    pub ignored: Vec<Ignored>,
    /// Backups of replaced files kept by all-or-nothing jobs, sorted by
    /// path: listed, never removed.
    pub backups: Vec<Backup>,
    /// The folders looked in (canonical paths).
    pub roots: Vec<PathBuf>,
    /// The threshold it judged by: unlocked files older than this are
    /// orphans.
    pub threshold: Duration,
    /// Problems that did not stop the scan (an unreadable folder…).
    pub warnings: Vec<String>,
    /// Set when the scan stopped before the end.
    pub stopped: Option<Stop>,
    /// Leftovers over time, oldest first: filled by the engine's scans of
    /// the settings' scope, which keep one sample per scan in the data
    /// directory; empty for other scans.
    pub trend: Vec<super::TrendSample>,
}

/// A file a sweep removed (or, in a dry run, would remove).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Removed {
    /// Absolute path.
    pub path: PathBuf,
    /// Its size in bytes.
    pub size: u64,
    /// What it was.
    pub kind: Kind,
}

/// Why a sweep left a file in place.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SkipReason {
    /// Its lock is held.
    Active,
    /// It is younger than the threshold.
    Young {
        /// Its age.
        age: Duration,
        /// The threshold.
        threshold: Duration,
    },
    /// Another tool's file whose pattern is not enabled in the settings.
    NotEnabled(ForeignPattern),
    /// Another tool's file, in a scheduled sweep, while the settings do not
    /// include other tools' files in scheduled sweeps.
    NotInSchedule(ForeignPattern),
    /// Another tool's file younger than the settings' minimum age for other
    /// tools' files (which applies whatever the threshold).
    ForeignTooYoung {
        /// Its age.
        age: Duration,
        /// The minimum age.
        min_age: Duration,
    },
    /// Another program has it open, mapped or locked (its name, when it
    /// can be seen).
    InUse(Option<String>),
    /// A backup of a replaced file kept by an all-or-nothing job.
    Backup,
    /// Not safe to touch (not a regular file, another user's, hard links…).
    Unsafe(String),
    /// It changed since the scan (replaced, renamed, turned into a link).
    Changed(String),
    /// It was already gone.
    Gone,
    /// Removing it failed (the error, for people).
    Failed(String),
}

impl SkipReason {
    /// Whether this is a failure (as opposed to a file rightly kept).
    pub fn is_failure(&self) -> bool {
        matches!(self, Self::Failed(_))
    }
}

impl fmt::Display for SkipReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Active => f.write_str("in use: a live transfer holds its lock"),
            Self::Young { age, threshold } => write!(
                f,
                "younger than {} (changed {} ago)",
                humantime::format_duration(*threshold),
                humantime::format_duration(Duration::from_secs(age.as_secs()))
            ),
            Self::NotEnabled(p) => write!(
                f,
                "another tool's file ({}); enable the '{}' pattern in the settings to sweep it",
                p.describe(),
                p.as_str()
            ),
            Self::NotInSchedule(p) => write!(
                f,
                "another tool's file ({}); scheduled sweeps leave other tools' files alone \
                 unless \"include other tools' files in scheduled sweeps\" \
                 (foreign_in_schedule) is on in the settings",
                p.describe()
            ),
            Self::ForeignTooYoung { age, min_age } => write!(
                f,
                "younger than {} (changed {} ago): other tools' files are swept only once they \
                 are at least that old (the settings' foreign_min_age)",
                humantime::format_duration(*min_age),
                humantime::format_duration(Duration::from_secs(age.as_secs()))
            ),
            Self::InUse(Some(program)) => write!(f, "in use by {program}"),
            Self::InUse(None) => f.write_str("in use by another program"),
            Self::Backup => f.write_str(
                "a backup of a replaced file, kept by an interrupted all-or-nothing job: \
                 see 'ferry jobs' and 'ferry rollback', or remove it by hand",
            ),
            Self::Unsafe(why) => write!(f, "left alone: {why}"),
            Self::Changed(what) => write!(f, "changed since the scan: {what}"),
            Self::Gone => f.write_str("already gone"),
            Self::Failed(error) => f.write_str(error),
        }
    }
}

/// A file a sweep left in place, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    /// Absolute path.
    pub path: PathBuf,
    /// Why.
    pub reason: SkipReason,
}

/// The result of a sweep.
#[derive(Debug, Clone)]
pub struct SweepReport {
    /// Files removed (in a dry run: that would be removed), by path.
    pub removed: Vec<Removed>,
    /// Candidates and look-alikes left in place, by path.
    pub skipped: Vec<Skipped>,
    /// Total size of the removed files.
    pub freed_bytes: u64,
    /// The folders looked in (empty for a sweep of scanned entries,
    /// [`Command::SweepEntries`](crate::Command::SweepEntries)).
    pub roots: Vec<PathBuf>,
    /// Whether this was a dry run (nothing removed).
    pub dry_run: bool,
    /// Who asked.
    pub trigger: Trigger,
    /// When it started.
    pub started: SystemTime,
    /// When it finished.
    pub finished: SystemTime,
    /// Set when the sweep stopped before the end.
    pub stopped: Option<Stop>,
    /// Problems that did not stop the sweep.
    pub warnings: Vec<String>,
}

impl SweepReport {
    pub(crate) fn new(dry_run: bool, trigger: Trigger) -> Self {
        let now = SystemTime::now();
        Self {
            removed: Vec::new(),
            skipped: Vec::new(),
            freed_bytes: 0,
            roots: Vec::new(),
            dry_run,
            trigger,
            started: now,
            finished: now,
            stopped: None,
            warnings: Vec::new(),
        }
    }

    /// How many files could not be removed because of an error.
    pub fn failures(&self) -> usize {
        self.skipped
            .iter()
            .filter(|s| s.reason.is_failure())
            .count()
    }
}
