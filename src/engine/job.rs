//! What a job is: its identity, the request ([`JobSpec`]), the list of
//! entries it will write ([`JobPlan`]) and how it ended ([`JobSummary`]).
//! All of it is serializable: the journal stores specs and plans.

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::error::{Error, ErrorKind};
use super::names;
use super::os::FileId;

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
    /// Ask a person, file by file (the window's default); other files go on
    /// meanwhile. Not offered on the command line.
    #[cfg_attr(feature = "clap", value(skip))]
    Ask,
}

impl ConflictPolicy {
    /// All policies, in the order the window lists them.
    pub const ALL: [Self; 6] = [
        Self::Ask,
        Self::Overwrite,
        Self::Skip,
        Self::Rename,
        Self::Newer,
        Self::Fail,
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
            Self::Ask => "ask",
        }
    }

    /// The one conflict decision, used by the check before any byte is
    /// written and by the commit under the destination lock: what to do
    /// with a source modified at `source` when something is at the
    /// destination (`existing`: its modification time), on a filesystem
    /// that keeps times to `step`. `None` for `existing` means the name is
    /// free.
    ///
    /// ```
    /// use ferry_engine::job::{ConflictPolicy, Decision};
    /// use std::time::{Duration, UNIX_EPOCH};
    /// let (old, new) = (Some(UNIX_EPOCH), Some(UNIX_EPOCH + Duration::from_secs(60)));
    /// let step = Duration::from_nanos(1);
    /// assert_eq!(ConflictPolicy::Newer.decide(new, Some(old), step), Decision::Replace);
    /// assert_eq!(ConflictPolicy::Newer.decide(old, Some(new), step), Decision::Keep);
    /// assert_eq!(ConflictPolicy::Fail.decide(new, Some(old), step), Decision::Refuse);
    /// assert_eq!(ConflictPolicy::Fail.decide(new, None, step), Decision::Write);
    /// ```
    pub fn decide(
        self,
        source: Option<std::time::SystemTime>,
        existing: Option<Option<std::time::SystemTime>>,
        step: Duration,
    ) -> Decision {
        let Some(existing) = existing else {
            return Decision::Write;
        };
        match self {
            Self::Overwrite => Decision::Replace,
            Self::Skip => Decision::Keep,
            Self::Rename => Decision::WriteBeside,
            Self::Fail => Decision::Refuse,
            Self::Ask => Decision::Ask,
            Self::Newer if Self::source_is_newer(source, existing, step) => Decision::Replace,
            Self::Newer => Decision::Keep,
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

/// What [`ConflictPolicy::decide`] says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// The name is free: write there.
    Write,
    /// Replace what is there.
    Replace,
    /// Keep what is there; the source is skipped.
    Keep,
    /// Write beside it under a numbered name.
    WriteBeside,
    /// Refuse: the destination exists.
    Refuse,
    /// Ask a person (the file waits; others go on).
    Ask,
}

/// A file the job found already at its destination, under the
/// [`ConflictPolicy::Ask`] policy: both sides, for a person to choose.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Conflict {
    /// The entry of the job's plan.
    pub entry: usize,
    /// The file being copied.
    #[serde(with = "path_repr")]
    pub src: PathBuf,
    /// What is already there.
    #[serde(with = "path_repr")]
    pub dest: PathBuf,
    /// The source's size.
    pub src_size: u64,
    /// The source's modification time.
    pub src_modified: Option<std::time::SystemTime>,
    /// The existing file's size.
    pub dest_size: u64,
    /// The existing file's modification time.
    pub dest_modified: Option<std::time::SystemTime>,
}

/// What a person chose for a [`Conflict`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Choice {
    /// Replace the existing file.
    Replace,
    /// Keep the existing file; skip this one.
    Skip,
    /// Keep both: this one goes beside it as `name (1).ext`.
    KeepBoth,
}

impl Choice {
    /// The policy that carries the choice out.
    pub fn policy(self) -> ConflictPolicy {
        match self {
            Self::Replace => ConflictPolicy::Overwrite,
            Self::Skip => ConflictPolicy::Skip,
            Self::KeepBoth => ConflictPolicy::Rename,
        }
    }
}

/// An answer to a [`Conflict`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Answer {
    /// The entry asked about.
    pub entry: usize,
    /// What to do with it.
    pub choice: Choice,
    /// Do the same for every other conflict of this job (waiting or to
    /// come).
    pub for_all: bool,
}

/// Why `existing` cannot be replaced by the job's entry at all (a file in
/// the way of a folder, or a folder in the way of a file), in words; the one
/// check, before any byte is written and when folders are made.
pub fn in_the_way(
    dest: &std::path::Path,
    existing: &std::fs::Metadata,
    want_folder: bool,
) -> Option<Error> {
    let detail = match (want_folder, existing.is_dir()) {
        (false, true) => "a folder of that name is in the way",
        (true, false) => "a file of that name is in the way of the folder",
        _ => return None,
    };
    Some(Error::new(
        ErrorKind::InvalidInput,
        super::error::Operation::Validate,
        dest,
        detail,
    ))
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
    /// Source and target pairs named one by one (a retry of failed files),
    /// each like a single source with a target path; used instead of
    /// `sources` when not empty.
    #[serde(default, skip_serializing_if = "Vec::is_empty", with = "pairs_repr")]
    pub pairs: Vec<(PathBuf, PathBuf)>,
    /// Write a `b3sum`-format manifest of the copied files here.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checksums: Option<PathBuf>,
}

/// Serde for source and target pairs (paths as [`crate::os::path`] writes
/// them).
mod pairs_repr {
    use std::path::PathBuf;

    use serde::{Deserialize, Deserializer, Serializer};

    use crate::os::path::{PathRepr, decode, encode};

    pub fn serialize<S: Serializer>(pairs: &[(PathBuf, PathBuf)], s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(pairs.iter().map(|(a, b)| (encode(a), encode(b))))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Vec<(PathBuf, PathBuf)>, D::Error> {
        Vec::<(PathRepr, PathRepr)>::deserialize(d)?
            .into_iter()
            .map(|(a, b)| {
                Ok((
                    decode(a).ok_or_else(|| {
                        serde::de::Error::custom("a path this system cannot name")
                    })?,
                    decode(b).ok_or_else(|| {
                        serde::de::Error::custom("a path this system cannot name")
                    })?,
                ))
            })
            .collect()
    }
}

/// Serde for an optional path.
mod opt_path {
    use std::path::PathBuf;

    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    use crate::os::path::{PathRepr, decode, encode};

    pub fn serialize<S: Serializer>(path: &Option<PathBuf>, s: S) -> Result<S::Ok, S::Error> {
        path.as_ref().map(|p| encode(p)).serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<PathBuf>, D::Error> {
        Ok(Option::<PathRepr>::deserialize(d)?.and_then(decode))
    }
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
            pairs: Vec::new(),
            checksums: None,
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
            pairs: self.pairs.iter().map(|(a, b)| (abs(a), abs(b))).collect(),
            checksums: self.checksums.as_ref().map(abs),
            ..self.clone()
        }
    }

    /// A short name for people: the first source's name and how many more.
    pub fn title(&self) -> String {
        let sources: Vec<&PathBuf> = if self.pairs.is_empty() {
            self.sources.iter().collect()
        } else {
            self.pairs.iter().map(|(s, _)| s).collect()
        };
        let first = sources
            .first()
            .map(|p| {
                p.file_name()
                    .unwrap_or(p.as_os_str())
                    .to_string_lossy()
                    .into_owned()
            })
            .unwrap_or_default();
        match sources.len() {
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

pub use super::os::DirMeta;

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

/// Everything a job will write, parents before children, kept compactly
/// (a million entries take about 48 MB): an entry inside a planned folder
/// keeps only its name, its kind and its folder, and is given back whole
/// ([`entry`](Self::entry)) when asked for.
///
/// ```
/// use ferry_engine::job::{Entry, EntryKind, JobPlan};
/// use std::path::PathBuf;
///
/// let mut plan = JobPlan::default();
/// let dir = EntryKind::Dir { meta: Default::default() };
/// plan.push(Entry { src: "/a/photos".into(), dest: "/b/photos".into(), kind: dir });
/// plan.push(Entry { src: "/a/photos/x.jpg".into(), dest: "/b/photos/x.jpg".into(), kind: EntryKind::File { size: 3 } });
/// assert_eq!(plan.len(), 2);
/// assert_eq!(plan.entry(1).dest, PathBuf::from("/b/photos/x.jpg"));
/// assert_eq!(plan.dest_parent(1), std::path::Path::new("/b/photos"));
/// assert_eq!((plan.total_files(), plan.total_bytes()), (1, 3));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct JobPlan {
    items: Vec<Item>,
    /// The names of entries inside planned folders, end to end (bytes of
    /// `OsStr::as_encoded_bytes`).
    names: Vec<u8>,
    /// Planned folders: their paths (for their children) and metadata.
    folders: Vec<Folder>,
    /// Entries given with their whole paths (those not inside a planned
    /// folder under the same name), by entry.
    whole: Vec<(u32, PathBuf, PathBuf)>,
    /// Targets of symbolic links.
    targets: Vec<PathBuf>,
    /// The devices of the files' identities (`Item::dev` is an index + 1).
    devices: Vec<u64>,
    /// Folders by destination, while entries are pushed.
    by_dest: std::collections::HashMap<PathBuf, u32>,
    files: u64,
    bytes: u64,
    /// Things left out on purpose (FIFOs, sockets, devices), in words.
    pub warnings: Vec<String>,
}

/// One entry, compactly.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Item {
    /// The folder it is in ([`WHOLE`] for an entry kept whole).
    folder: u32,
    name_at: u32,
    name_len: u32,
    kind: Tag,
    /// For a file planned here (not read back from a journal): its device,
    /// as an index into `JobPlan::devices` plus one; 0 where not known.
    dev: u16,
    /// The size (a file), the folder's own index (a folder), the target's
    /// index (a link) or the first entry (a hard link).
    value: u64,
    /// For a file with a known `dev`: its inode when it was planned.
    ino: u64,
}

/// `Item::folder` of an entry kept with its whole paths.
const WHOLE: u32 = u32::MAX;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tag {
    Dir,
    File,
    Symlink,
    HardLink,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Folder {
    src: PathBuf,
    dest: PathBuf,
    meta: DirMeta,
}

impl JobPlan {
    /// Adds `entry`, a regular file (or another name of one) that had the
    /// identity `source` when it was planned: the copy opens that file or
    /// none ([`source_id`](Self::source_id)).
    pub fn push_file(&mut self, entry: Entry, source: FileId) {
        self.push(entry);
        let device = source.device();
        let at = match self.devices.iter().position(|&d| d == device) {
            Some(at) => at,
            None => {
                self.devices.push(device);
                self.devices.len() - 1
            }
        };
        // Past 65,535 devices in one job, files go unchecked (only a
        // symbolic link in their place is refused).
        if let (Ok(dev), Some(item)) = (u16::try_from(at + 1), self.items.last_mut()) {
            item.dev = dev;
            item.ino = source.inode();
        }
    }

    /// The identity entry `i` (a file) had when it was planned, where known
    /// (not for a plan read back from a journal).
    pub fn source_id(&self, i: usize) -> Option<FileId> {
        let item = &self.items[i];
        let device = *self.devices.get(usize::from(item.dev).checked_sub(1)?)?;
        Some(FileId::from_parts(device, item.ino))
    }

    /// Adds `entry` after the others (a folder before what it holds).
    pub fn push(&mut self, entry: Entry) {
        let i = self.items.len() as u32;
        let name = entry.src.file_name().filter(|n| Some(*n) == entry.dest.file_name());
        let folder = entry
            .dest
            .parent()
            .and_then(|parent| self.by_dest.get(parent))
            .copied()
            .filter(|&f| Some(self.folders[f as usize].src.as_path()) == entry.src.parent());
        let (folder, name_at, name_len) = match (folder, name) {
            (Some(folder), Some(name)) if self.names.len() < u32::MAX as usize / 2 => {
                let bytes = name.as_encoded_bytes();
                let at = self.names.len() as u32;
                self.names.extend_from_slice(bytes);
                (folder, at, bytes.len() as u32)
            }
            _ => {
                self.whole.push((i, entry.src.clone(), entry.dest.clone()));
                (WHOLE, 0, 0)
            }
        };
        let (kind, value) = match entry.kind {
            EntryKind::Dir { meta } => {
                let own = self.folders.len() as u32;
                self.by_dest.insert(entry.dest.clone(), own);
                self.folders.push(Folder {
                    src: entry.src,
                    dest: entry.dest,
                    meta,
                });
                (Tag::Dir, u64::from(own))
            }
            EntryKind::File { size } => {
                self.files += 1;
                self.bytes += size;
                (Tag::File, size)
            }
            EntryKind::Symlink { target } => {
                self.files += 1;
                self.targets.push(target);
                (Tag::Symlink, self.targets.len() as u64 - 1)
            }
            EntryKind::HardLink { first } => {
                self.files += 1;
                (Tag::HardLink, first as u64)
            }
        };
        self.items.push(Item {
            folder,
            name_at,
            name_len,
            kind,
            dev: 0,
            value,
            ino: 0,
        });
    }

    /// How many entries.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// Whether there is nothing to write.
    #[cfg(any(test, feature = "internals"))]
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Entry `i`, whole. Panics if there is no such entry.
    pub fn entry(&self, i: usize) -> Entry {
        let item = self.items[i];
        let src = match self.whole_paths(i, &item) {
            Some((src, _)) => src.clone(),
            None => self.folders[item.folder as usize].src.join(self.name(&item)),
        };
        Entry {
            src,
            dest: self.dest(i),
            kind: self.kind(i),
        }
    }

    /// Where entry `i` goes (without making the rest of it whole).
    pub fn dest(&self, i: usize) -> PathBuf {
        let item = &self.items[i];
        match self.whole_paths(i, item) {
            Some((_, dest)) => dest.clone(),
            None => self.folders[item.folder as usize].dest.join(self.name(item)),
        }
    }

    /// Entry `i`, or `None` past the end.
    pub fn get(&self, i: usize) -> Option<Entry> {
        (i < self.len()).then(|| self.entry(i))
    }

    /// Every entry in order, each made whole as it is reached.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = Entry> + ExactSizeIterator + '_ {
        (0..self.len()).map(|i| self.entry(i))
    }

    /// What entry `i` is.
    pub fn kind(&self, i: usize) -> EntryKind {
        let item = &self.items[i];
        match item.kind {
            Tag::Dir => EntryKind::Dir {
                meta: self.folders[item.value as usize].meta.clone(),
            },
            Tag::File => EntryKind::File { size: item.value },
            Tag::Symlink => EntryKind::Symlink {
                target: self.targets[item.value as usize].clone(),
            },
            Tag::HardLink => EntryKind::HardLink {
                first: item.value as usize,
            },
        }
    }

    /// Whether entry `i` is a folder.
    pub fn is_dir(&self, i: usize) -> bool {
        self.items[i].kind == Tag::Dir
    }

    /// The folder entry `i` goes into.
    pub fn dest_parent(&self, i: usize) -> &Path {
        let item = &self.items[i];
        match self.whole_paths(i, item) {
            Some((_, dest)) => crate::os::path::parent_dir(dest),
            None => &self.folders[item.folder as usize].dest,
        }
    }

    /// Where entry `i` goes, if it is a folder (without making it whole).
    pub fn folder_dest(&self, i: usize) -> Option<&Path> {
        let item = &self.items[i];
        (item.kind == Tag::Dir).then(|| self.folders[item.value as usize].dest.as_path())
    }

    /// The size of entry `i`, if it is a regular file.
    pub fn file_size(&self, i: usize) -> Option<u64> {
        let item = &self.items[i];
        (item.kind == Tag::File).then_some(item.value)
    }

    /// The folder entry `i` comes from.
    pub fn src_parent(&self, i: usize) -> &Path {
        let item = &self.items[i];
        match self.whole_paths(i, item) {
            Some((src, _)) => crate::os::path::parent_dir(src),
            None => &self.folders[item.folder as usize].src,
        }
    }

    fn whole_paths(&self, i: usize, item: &Item) -> Option<(&PathBuf, &PathBuf)> {
        if item.folder != WHOLE {
            return None;
        }
        let at = self
            .whole
            .binary_search_by_key(&(i as u32), |(j, ..)| *j)
            .expect("an entry kept whole is listed");
        let (_, src, dest) = &self.whole[at];
        Some((src, dest))
    }

    fn name(&self, item: &Item) -> &std::ffi::OsStr {
        let at = item.name_at as usize;
        let bytes = &self.names[at..at + item.name_len as usize];
        // SAFETY: the bytes are a whole name taken from
        // `OsStr::as_encoded_bytes` on this platform, unchanged.
        unsafe { std::ffi::OsStr::from_encoded_bytes_unchecked(bytes) }
    }

    /// Files and links to write.
    pub fn total_files(&self) -> u64 {
        self.files
    }

    /// Bytes of file data to write.
    pub fn total_bytes(&self) -> u64 {
        self.bytes
    }

    /// Frees what only pushing needed.
    pub fn shrink(&mut self) {
        self.by_dest = std::collections::HashMap::new();
        self.items.shrink_to_fit();
        self.names.shrink_to_fit();
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
    /// Where the file was to go (what a retry writes).
    #[serde(default, skip_serializing_if = "Option::is_none", with = "opt_path")]
    pub dest: Option<PathBuf>,
    /// What went wrong without the paths, in words: files failing for the
    /// same reason can be shown together.
    #[serde(default)]
    pub reason: String,
    /// It is a folder (that could not be made), not a file.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub folder: bool,
    /// A file of its name was already at the destination and the job's
    /// conflict policy left it there (a retry may choose another policy).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub conflict: bool,
}

impl FileError {
    /// Keeps what people and programs need of `err`.
    pub fn from_error(path: impl Into<PathBuf>, err: &Error) -> Self {
        Self {
            path: path.into(),
            kind: kind_word(err.kind()).to_string(),
            message: err.to_string(),
            reason: err.reason(),
            dest: None,
            folder: false,
            conflict: err.is_conflict(),
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
    /// Of the files written, those that replaced an existing file.
    #[serde(default)]
    pub replaced: u64,
    /// Of the files written, those written beside an existing one under a
    /// numbered name.
    #[serde(default)]
    pub renamed: u64,
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
    /// Its journal was kept (an interrupted run, or a rollback that could
    /// not finish): `ferry resume` finishes it, `ferry rollback` undoes an
    /// all-or-nothing one. False for a job stopped before it was journaled.
    #[serde(default)]
    pub resumable: bool,
}

impl JobSummary {
    /// A summary of a job that did nothing, ending with `outcome`.
    pub fn empty(outcome: JobOutcome) -> Self {
        Self {
            outcome,
            files_done: 0,
            bytes_done: 0,
            skipped: 0,
            replaced: 0,
            renamed: 0,
            previously_done: 0,
            failed: Vec::new(),
            warnings: Vec::new(),
            elapsed: Duration::ZERO,
            method: String::new(),
            resumable: false,
        }
    }
}

/// Serde for path fields: [`crate::os::path::serde_path`], the one
/// encoding of paths that may not be UTF-8.
pub use crate::os::path::serde_path as path_repr;
