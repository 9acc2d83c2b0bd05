//! What a job is: its identity, the request ([`JobSpec`]), the list of
//! entries it will write ([`JobPlan`]) and how it ended ([`JobSummary`]).
//! All of it is serializable: the journal stores specs and plans.

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::error::{Error, ErrorKind};
use super::names;

/// What to do when the destination already exists.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Default, Hash, serde::Serialize, serde::Deserialize,
)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
#[serde(rename_all = "lowercase")]
pub enum ConflictPolicy {
    /// Replace the existing file atomically.
    Overwrite,
    /// Keep the existing file.
    Skip,
    /// Write beside it as "name (1).ext".
    Rename,
    /// Replace it only if the source is newer.
    Newer,
    /// Refuse and report an error (the default).
    #[default]
    Fail,
}

impl ConflictPolicy {
    /// All policies, in the order the CLI and UI list them.
    pub const ALL: [Self; 5] = [
        Self::Fail,
        Self::Overwrite,
        Self::Skip,
        Self::Rename,
        Self::Newer,
    ];

    /// Whether the policy may replace an existing destination.
    pub fn may_replace(self) -> bool {
        matches!(self, Self::Overwrite | Self::Newer)
    }

    /// The policy's name on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Overwrite => "overwrite",
            Self::Skip => "skip",
            Self::Rename => "rename",
            Self::Newer => "newer",
            Self::Fail => "fail",
        }
    }

    /// The one rule of [`Newer`](Self::Newer): whether a source modified at
    /// `source` replaces a destination modified at `dest` on a filesystem
    /// that keeps times to `step` (FAT: 2 s). Both times are cut to that
    /// step first, so a copy that got its time rounded down is not "older"
    /// than its source (as rsync's `--modify-window`). Unknown times never
    /// replace.
    ///
    /// ```
    /// use ferry_engine::job::ConflictPolicy;
    /// use std::time::{Duration, UNIX_EPOCH};
    /// let t = |ms| Some(UNIX_EPOCH + Duration::from_millis(ms));
    /// let fat = Duration::from_secs(2);
    /// assert!(!ConflictPolicy::source_is_newer(t(10_900), t(10_000), fat));
    /// assert!(ConflictPolicy::source_is_newer(t(12_100), t(10_000), fat));
    /// assert!(ConflictPolicy::source_is_newer(t(10_900), t(10_000), Duration::from_nanos(1)));
    /// ```
    pub fn source_is_newer(
        source: Option<std::time::SystemTime>,
        dest: Option<std::time::SystemTime>,
        step: Duration,
    ) -> bool {
        let cut = |t: std::time::SystemTime| {
            let since = t
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap_or(Duration::ZERO)
                .as_nanos();
            since / step.as_nanos().max(1)
        };
        matches!((source, dest), (Some(s), Some(d)) if cut(s) > cut(d))
    }
}

/// A job's identity: 48 random bits, shown as 12 hex digits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(into = "String", try_from = "String")]
pub struct JobId(u64);

impl JobId {
    /// A fresh random id.
    pub fn random() -> Self {
        Self(names::random_u64() & 0xffff_ffff_ffff)
    }
}

impl fmt::Display for JobId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:012x}", self.0)
    }
}

impl FromStr for JobId {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        if s.len() == 12
            && let Ok(n) = u64::from_str_radix(s, 16)
        {
            return Ok(Self(n));
        }
        Err(format!("'{s}' is not a job id (12 hex digits)"))
    }
}

impl From<JobId> for String {
    fn from(id: JobId) -> Self {
        id.to_string()
    }
}

impl TryFrom<String> for JobId {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        s.parse()
    }
}

/// Copy, or move (delete each source once its copy is durable).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TransferKind {
    /// Leave the sources.
    #[default]
    Copy,
    /// Remove the sources.
    Move,
}

impl TransferKind {
    /// "copy" or "move".
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Copy => "copy",
            Self::Move => "move",
        }
    }
}

/// A transfer request, as a person asked for it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobSpec {
    /// Copy or move.
    pub kind: TransferKind,
    /// Files and folders to transfer.
    #[serde(with = "path_repr::vec")]
    pub sources: Vec<PathBuf>,
    /// Destination folder, or target path for one source.
    #[serde(with = "path_repr")]
    pub dest: PathBuf,
    /// What to do with existing destination files.
    pub policy: ConflictPolicy,
    /// Check every copy against its source before it becomes visible.
    pub verify: bool,
    /// Undo the whole job on any failure or cancel.
    pub all_or_nothing: bool,
}

impl JobSpec {
    /// A copy of `sources` into `dest` with default options.
    pub fn copy(sources: Vec<PathBuf>, dest: impl Into<PathBuf>) -> Self {
        Self {
            kind: TransferKind::Copy,
            sources,
            dest: dest.into(),
            policy: ConflictPolicy::default(),
            verify: false,
            all_or_nothing: false,
        }
    }

    /// The same request with every path made absolute (against the current
    /// directory), so a journal can be resumed from anywhere.
    pub fn absolute(&self) -> Self {
        // `src/.` (a folder's contents, as `cp` reads it) keeps its `/.`.
        let abs = |p: &PathBuf| {
            let bytes = p.as_os_str().as_encoded_bytes();
            let contents = bytes == b"." || bytes.ends_with(b"/.");
            let mut out = std::path::absolute(p).unwrap_or_else(|_| p.clone());
            if contents && !out.as_os_str().as_encoded_bytes().ends_with(b"/.") {
                out.as_mut_os_string().push("/.");
            }
            out
        };
        Self {
            sources: self.sources.iter().map(abs).collect(),
            dest: abs(&self.dest),
            ..self.clone()
        }
    }

    /// A short name for people: the first source's name and how many more.
    pub fn title(&self) -> String {
        let first = self
            .sources
            .first()
            .map(|p| {
                p.file_name()
                    .unwrap_or(p.as_os_str())
                    .to_string_lossy()
                    .into_owned()
            })
            .unwrap_or_default();
        match self.sources.len() {
            0 | 1 => first,
            n => format!("{first} and {} more", n - 1),
        }
    }
}

/// What one plan entry is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase", tag = "type")]
pub enum EntryKind {
    /// A folder to create (its mode and times are applied after its
    /// contents, from what the source had when planned).
    Dir {
        /// The source folder's permissions and times.
        #[serde(default)]
        meta: DirMeta,
    },
    /// A regular file of this size.
    File {
        /// Size in bytes when planned.
        size: u64,
    },
    /// A symbolic link, recreated as a link (never followed).
    Symlink {
        /// Where it points.
        #[serde(with = "path_repr")]
        target: PathBuf,
    },
    /// Another name of a file planned earlier in this job (a hard link):
    /// made a link to that entry's copy, as `cp -a` and `rsync -H` do.
    #[serde(rename = "hardlink")]
    HardLink {
        /// The entry of the file's first name.
        first: usize,
    },
}

pub use super::platform::DirMeta;

/// One thing a job writes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// Where it comes from.
    #[serde(with = "path_repr")]
    pub src: PathBuf,
    /// Where it goes.
    #[serde(with = "path_repr")]
    pub dest: PathBuf,
    /// Folder, file or link.
    #[serde(flatten)]
    pub kind: EntryKind,
}

impl Entry {
    /// Whether this entry is a folder.
    pub fn is_dir(&self) -> bool {
        matches!(self.kind, EntryKind::Dir { .. })
    }
}

/// Everything a job will write, parents before children.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobPlan {
    /// The entries in order.
    pub entries: Vec<Entry>,
    /// Things left out on purpose (FIFOs, sockets, devices), in words.
    pub warnings: Vec<String>,
}

impl JobPlan {
    /// Files and links to write.
    pub fn total_files(&self) -> u64 {
        self.entries.iter().filter(|e| !e.is_dir()).count() as u64
    }

    /// Bytes of file data to write.
    pub fn total_bytes(&self) -> u64 {
        self.entries
            .iter()
            .map(|e| match e.kind {
                EntryKind::File { size } => size,
                _ => 0,
            })
            .sum()
    }
}

/// A failure of one file, kept for people (errors are not `Clone`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileError {
    /// The file concerned.
    #[serde(with = "path_repr")]
    pub path: PathBuf,
    /// What went wrong, as a word a program can match.
    pub kind: String,
    /// The full message for people.
    pub message: String,
    /// What went wrong without the paths, in words: files failing for the
    /// same reason can be shown together.
    #[serde(default)]
    pub reason: String,
}

impl FileError {
    /// Keeps what people and programs need of `err`.
    pub fn from_error(path: impl Into<PathBuf>, err: &Error) -> Self {
        Self {
            path: path.into(),
            kind: kind_word(err.kind()).to_string(),
            message: err.to_string(),
            reason: err.reason(),
        }
    }
}

/// A stable word for an error kind (JSON, logs).
pub fn kind_word(kind: ErrorKind) -> &'static str {
    match kind {
        ErrorKind::NotFound => "not_found",
        ErrorKind::PermissionDenied => "permission_denied",
        ErrorKind::NoSpace => "no_space",
        ErrorKind::ReadOnly => "read_only",
        ErrorKind::CrossDevice => "cross_device",
        ErrorKind::Busy => "busy",
        ErrorKind::AlreadyExists => "already_exists",
        ErrorKind::InvalidInput => "invalid_input",
        ErrorKind::VerifyFailed => "verify_failed",
        ErrorKind::Cancelled => "cancelled",
        ErrorKind::SourceChanged => "source_changed",
        ErrorKind::Unsupported => "unsupported",
        ErrorKind::Io => "io",
    }
}

/// How a job ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JobOutcome {
    /// Every file was written (or skipped by policy).
    Completed,
    /// Some files failed; the others are in place.
    CompletedWithErrors,
    /// Everything the destination can hold is in place; what it cannot
    /// (symbolic links on FAT, …) is listed with the reason.
    CompletedWithWarnings,
    /// Nothing was done (bad input) or the job could not go on.
    Failed,
    /// Stopped on request; unfinished files were left as they were.
    Cancelled,
    /// An all-or-nothing job was undone: the destination is as before.
    RolledBack,
}

/// The end-of-job report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobSummary {
    /// How it ended.
    pub outcome: JobOutcome,
    /// Files and links written.
    pub files_done: u64,
    /// Bytes written.
    pub bytes_done: u64,
    /// Files the conflict policy skipped.
    pub skipped: u64,
    /// Files an earlier, interrupted run of the job had already finished
    /// (counted neither in `files_done` nor in `bytes_done`).
    #[serde(default)]
    pub previously_done: u64,
    /// Files that failed, with their errors.
    pub failed: Vec<FileError>,
    /// Things left out on purpose, and other notices.
    pub warnings: Vec<String>,
    /// Wall time.
    pub elapsed: Duration,
    /// How the data was moved ("buffered copy", "rename", …).
    pub method: String,
}

impl JobSummary {
    /// A summary of a job that did nothing, ending with `outcome`.
    pub fn empty(outcome: JobOutcome) -> Self {
        Self {
            outcome,
            files_done: 0,
            bytes_done: 0,
            skipped: 0,
            previously_done: 0,
            failed: Vec::new(),
            warnings: Vec::new(),
            elapsed: Duration::ZERO,
            method: String::new(),
        }
    }
}

/// Serde for paths that may not be UTF-8: a string when it is, else the
/// raw bytes (Unix) as an array.
pub mod path_repr {
    use std::borrow::Cow;
    use std::path::{Path, PathBuf};

    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    #[derive(Serialize, Deserialize)]
    #[serde(untagged)]
    enum Repr<'a> {
        Text(Cow<'a, str>),
        Bytes(Vec<u8>),
    }

    fn to_repr(path: &Path) -> Repr<'_> {
        match path.to_str() {
            Some(text) => Repr::Text(Cow::Borrowed(text)),
            None => Repr::Bytes(path.as_os_str().as_encoded_bytes().to_vec()),
        }
    }

    fn from_repr<E: serde::de::Error>(repr: Repr<'_>) -> Result<PathBuf, E> {
        match repr {
            Repr::Text(text) => Ok(PathBuf::from(text.into_owned())),
            #[cfg(unix)]
            Repr::Bytes(bytes) => {
                use std::os::unix::ffi::OsStringExt;
                Ok(PathBuf::from(std::ffi::OsString::from_vec(bytes)))
            }
            #[cfg(not(unix))]
            Repr::Bytes(_) => Err(E::custom("a non-Unicode path cannot be used here")),
        }
    }

    /// Serializes one path.
    pub fn serialize<S: Serializer>(path: &Path, s: S) -> Result<S::Ok, S::Error> {
        to_repr(path).serialize(s)
    }

    /// Deserializes one path.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<PathBuf, D::Error> {
        from_repr(Repr::deserialize(d)?)
    }

    /// The same for `Vec<PathBuf>`.
    pub mod vec {
        use super::*;

        /// Serializes a list of paths.
        pub fn serialize<S: Serializer>(paths: &[PathBuf], s: S) -> Result<S::Ok, S::Error> {
            s.collect_seq(paths.iter().map(|p| to_repr(p)))
        }

        /// Deserializes a list of paths.
        pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<PathBuf>, D::Error> {
            Vec::<Repr<'_>>::deserialize(d)?
                .into_iter()
                .map(from_repr)
                .collect()
        }
    }
}
