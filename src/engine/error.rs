//! Ferry's one error type: what went wrong (the [`ErrorKind`]), while doing
//! what (the [`Operation`]), and to which paths.
//!
//! Every engine function returns [`Result`]. Handle an error exactly once:
//! show it to a person with `Display` (it reads as a sentence with advice),
//! or branch on [`Error::kind`] when a program must react.
//!
//! ```
//! use ferry_engine::{Error, ErrorKind, Operation};
//! use std::io;
//!
//! let err = Error::io(
//!     Operation::Write,
//!     "/media/usb/photo.jpg",
//!     io::Error::from(io::ErrorKind::StorageFull),
//! );
//! assert_eq!(err.kind(), ErrorKind::NoSpace);
//! assert!(err.to_string().contains("no space left"));
//! assert!(err.to_string().contains("/media/usb/photo.jpg"));
//! ```

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

/// A `Result` whose error is Ferry's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// The category of a failure: what a program branches on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// A file or directory does not exist.
    NotFound,
    /// The operating system refused access.
    PermissionDenied,
    /// The destination filesystem is full (or a quota is reached).
    NoSpace,
    /// The filesystem is mounted read-only.
    ReadOnly,
    /// The operation cannot span two filesystems.
    CrossDevice,
    /// Another process holds a lock or the resource is busy.
    Busy,
    /// The destination exists and the conflict policy forbids replacing it.
    AlreadyExists,
    /// The request itself is wrong: bad path, unsupported file type, …
    InvalidInput,
    /// The data read back does not match the data written.
    VerifyFailed,
    /// The user (or a signal) cancelled the work.
    Cancelled,
    /// A source changed while it was being copied or moved.
    SourceChanged,
    /// The filesystem cannot do what was asked (no links, no permission
    /// bits, a file too large for it, a name it refuses, …).
    Unsupported,
    /// Any other input/output failure.
    Io,
}

impl ErrorKind {
    /// Classifies an operating-system error.
    pub fn from_io(err: &io::Error) -> Self {
        use io::ErrorKind as K;
        match err.kind() {
            K::NotFound => Self::NotFound,
            K::PermissionDenied => Self::PermissionDenied,
            K::StorageFull | K::QuotaExceeded | K::FileTooLarge => Self::NoSpace,
            K::ReadOnlyFilesystem => Self::ReadOnly,
            K::CrossesDevices => Self::CrossDevice,
            K::ResourceBusy | K::WouldBlock | K::ExecutableFileBusy => Self::Busy,
            K::AlreadyExists => Self::AlreadyExists,
            K::InvalidInput | K::InvalidFilename | K::NotADirectory | K::IsADirectory => {
                Self::InvalidInput
            }
            K::Interrupted => Self::Cancelled,
            K::Unsupported => Self::Unsupported,
            _ => Self::Io,
        }
    }

    /// A short phrase describing the kind, for people.
    pub fn describe(self) -> &'static str {
        match self {
            Self::NotFound => "it does not exist",
            Self::PermissionDenied => "permission denied",
            Self::NoSpace => "no space left on the device",
            Self::ReadOnly => "the filesystem is read-only",
            Self::CrossDevice => "the paths are on different filesystems",
            Self::Busy => "it is locked or busy",
            Self::AlreadyExists => "the destination already exists",
            Self::InvalidInput => "invalid input",
            Self::VerifyFailed => "the copy does not match the source",
            Self::Cancelled => "cancelled",
            Self::SourceChanged => "it changed while it was being copied",
            Self::Unsupported => "the filesystem cannot do this",
            Self::Io => "input/output error",
        }
    }

    /// What a person can do about it, if there is a useful hint.
    pub fn advice(self) -> Option<&'static str> {
        match self {
            Self::PermissionDenied => Some("check the file's permissions and owner"),
            Self::NoSpace => Some("free some space on the destination and try again"),
            Self::ReadOnly => Some("choose a writable destination"),
            Self::Busy => Some("another program is using it; try again when it is done"),
            Self::AlreadyExists => Some(
                "choose another conflict policy — overwrite, skip, rename or newer — to proceed",
            ),
            Self::VerifyFailed => Some("the destination was left untouched; check the disk"),
            Self::SourceChanged => {
                Some("copy it again once no program is writing to it; the source was kept")
            }
            _ => None,
        }
    }
}

/// The step that failed, phrased for the sentence "could not `<operation>`
/// `<path>`".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Operation {
    /// Inspecting a path (stat).
    Inspect,
    /// Opening a source for reading.
    OpenSource,
    /// Reading source data.
    Read,
    /// Creating a temp file.
    CreateTemp,
    /// Writing data.
    Write,
    /// Copying permissions or timestamps.
    SetMetadata,
    /// Flushing data to the disk (fsync).
    Sync,
    /// Taking or releasing a lock.
    Lock,
    /// Renaming a file into place.
    Rename,
    /// Removing a file.
    Remove,
    /// Creating a directory.
    CreateDir,
    /// Reading a directory's entries.
    ReadDir,
    /// Checking a copy against its source.
    Verify,
    /// Validating a request before any work.
    Validate,
    /// Writing Ferry's own state (journal, settings).
    State,
    /// Reading Ferry's own state (journal, settings).
    ReadState,
}

impl Operation {
    fn verb(self) -> &'static str {
        match self {
            Self::Inspect => "inspect",
            Self::OpenSource => "open",
            Self::Read => "read",
            Self::CreateTemp => "create a temporary file for",
            Self::Write => "write",
            Self::SetMetadata => "set permissions or times on",
            Self::Sync => "flush to disk",
            Self::Lock => "lock",
            Self::Rename => "move into place",
            Self::Remove => "remove",
            Self::CreateDir => "create the folder",
            Self::ReadDir => "list the folder",
            Self::Verify => "verify",
            Self::Validate => "use",
            Self::State => "save Ferry's state in",
            Self::ReadState => "read Ferry's state from",
        }
    }
}

/// Whether `e` is EILSEQ: a name the filesystem cannot store (exFAT and
/// NTFS drivers refuse names that are not valid UTF-8).
fn is_illegal_name(e: &io::Error) -> bool {
    #[cfg(unix)]
    {
        e.raw_os_error() == Some(rustix::io::Errno::ILSEQ.raw_os_error())
    }
    #[cfg(not(unix))]
    {
        let _ = e;
        false
    }
}

/// Whether `e` is EPERM ("operation not permitted").
fn is_eperm(e: &io::Error) -> bool {
    #[cfg(unix)]
    {
        e.raw_os_error() == Some(rustix::io::Errno::PERM.raw_os_error())
    }
    #[cfg(not(unix))]
    {
        let _ = e;
        false
    }
}

/// A failure with its kind, the operation that failed and the paths involved.
#[derive(Debug, thiserror::Error)]
pub struct Error {
    kind: ErrorKind,
    op: Operation,
    paths: Vec<PathBuf>,
    detail: Option<String>,
    /// The detail says what to do itself: no general hint is added.
    own_advice: bool,
    #[source]
    source: Option<io::Error>,
}

impl Error {
    /// An error caused by an operating-system call on `path`.
    ///
    /// A write refused with EPERM to a file Ferry has open for writing is
    /// not a matter of permissions (those were checked when it was opened):
    /// it is how some drivers (fusefat) say the drive is full, so it is
    /// reported as no space.
    pub fn io(op: Operation, path: impl AsRef<Path>, source: io::Error) -> Self {
        let (kind, detail) = if op == Operation::Write && is_eperm(&source) {
            (
                ErrorKind::NoSpace,
                Some(
                    "the drive refused to store more: it is most likely full (some drivers \
                     say \"operation not permitted\" when they are)"
                        .to_string(),
                ),
            )
        } else {
            (ErrorKind::from_io(&source), None)
        };
        Self {
            kind,
            op,
            paths: vec![path.as_ref().to_path_buf()],
            detail,
            own_advice: false,
            source: Some(source),
        }
    }

    /// An error of a given kind with an explanation and no OS cause.
    pub fn new(
        kind: ErrorKind,
        op: Operation,
        path: impl AsRef<Path>,
        detail: impl Into<String>,
    ) -> Self {
        Self {
            kind,
            op,
            paths: vec![path.as_ref().to_path_buf()],
            detail: Some(detail.into()),
            own_advice: false,
            source: None,
        }
    }

    /// The error for work stopped on request.
    pub fn cancelled(path: impl AsRef<Path>) -> Self {
        Self::new(
            ErrorKind::Cancelled,
            Operation::Write,
            path,
            "the transfer was cancelled",
        )
    }

    /// Adds a second path (for example the destination of a rename).
    pub fn with_path(mut self, path: impl AsRef<Path>) -> Self {
        self.paths.push(path.as_ref().to_path_buf());
        self
    }

    /// Whether this is a conflict the job's policy decides: a file of the
    /// destination's name is already there (found when the job checked,
    /// or by a no-clobber commit), not some other thing in the way.
    pub fn is_conflict(&self) -> bool {
        self.kind == ErrorKind::AlreadyExists
            && matches!(self.op, Operation::Rename | Operation::Validate)
    }

    /// Marks the explanation as saying what to do itself, so no general
    /// hint (such as the list of conflict policies) follows it.
    pub fn with_own_advice(mut self) -> Self {
        self.own_advice = true;
        self
    }

    /// The same failure said of `path`: its kind, operation, cause and
    /// advice (what a refused folder's contents fail with, so that their
    /// message is the folder's).
    pub fn restated_at(&self, path: impl AsRef<Path>) -> Self {
        let mut again = Self::new(self.kind, self.op, path, self.cause());
        again.own_advice = self.own_advice;
        again
    }

    /// Replaces the explanation shown to people.
    pub fn with_detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = Some(detail.into());
        self
    }

    /// What went wrong.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The step that failed.
    pub fn operation(&self) -> Operation {
        self.op
    }

    /// The paths involved, the main one first.
    pub fn paths(&self) -> &[PathBuf] {
        &self.paths
    }

    /// The underlying operating-system error, if any.
    pub fn io_error(&self) -> Option<&io::Error> {
        self.source.as_ref()
    }
}

impl Error {
    /// What went wrong, without the operation and paths (with the hint):
    /// "permission denied (check the file's permissions and owner)".
    pub fn reason(&self) -> String {
        let mut text = self.cause();
        if let Some(advice) = self.advice() {
            text = format!("{text} ({advice})");
        }
        text
    }

    /// What went wrong, in a few words, without paths or hint: "permission
    /// denied".
    pub fn cause(&self) -> String {
        match (&self.detail, &self.source) {
            (Some(detail), _) => detail.clone(),
            (None, Some(src)) if self.kind == ErrorKind::Io => {
                describe_io(src).map_or_else(|| src.to_string(), str::to_owned)
            }
            (None, source) => source
                .as_ref()
                .and_then(describe_io)
                .unwrap_or_else(|| self.kind.describe())
                .to_string(),
        }
    }

    /// The hint shown to people, where one helps: the conflict-policy hint
    /// only where a conflict policy decides (an existing folder in the way
    /// of Ferry's data folder is not a conflict).
    fn advice(&self) -> Option<&'static str> {
        if self.own_advice {
            return None;
        }
        match (self.kind, self.op) {
            _ if self.is_conflict() => self.kind.advice(),
            (ErrorKind::AlreadyExists, _) => Some("a file or folder of that name is in the way"),
            // Removing a moved source: the hint is already in the detail.
            (_, Operation::Remove) if self.detail.is_some() => None,
            (ErrorKind::InvalidInput, _) if self.source.as_ref().is_some_and(is_name_too_long) => {
                Some("use a shorter name")
            }
            _ => self.kind.advice(),
        }
    }
}

fn is_name_too_long(err: &io::Error) -> bool {
    err.kind() == io::ErrorKind::InvalidFilename
}

/// A more precise phrase than the kind's for some operating-system errors.
fn describe_io(err: &io::Error) -> Option<&'static str> {
    if is_illegal_name(err) {
        return Some(
            "the drive cannot hold this name, which is not valid text (UTF-8): rename it \
             before copying it there",
        );
    }
    match err.kind() {
        io::ErrorKind::InvalidFilename => Some("the name is too long for this filesystem"),
        io::ErrorKind::NotADirectory => Some("a part of the path is not a folder"),
        io::ErrorKind::IsADirectory => Some("it is a folder"),
        io::ErrorKind::DirectoryNotEmpty => Some("the folder is not empty"),
        _ => None,
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "could not {}", self.op.verb())?;
        match self.paths.as_slice() {
            [] => {}
            [one] => write!(f, " '{}'", one.display())?,
            [first, rest @ ..] => {
                write!(f, " '{}'", first.display())?;
                for p in rest {
                    write!(f, " -> '{}'", p.display())?;
                }
            }
        }
        write!(f, ": {}", self.reason())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_follow_os_errors() {
        let cases = [
            (io::ErrorKind::NotFound, ErrorKind::NotFound),
            (io::ErrorKind::PermissionDenied, ErrorKind::PermissionDenied),
            (io::ErrorKind::ReadOnlyFilesystem, ErrorKind::ReadOnly),
            (io::ErrorKind::CrossesDevices, ErrorKind::CrossDevice),
            (io::ErrorKind::WouldBlock, ErrorKind::Busy),
            (io::ErrorKind::BrokenPipe, ErrorKind::Io),
        ];
        for (io_kind, expected) in cases {
            assert_eq!(ErrorKind::from_io(&io::Error::from(io_kind)), expected);
        }
    }

    #[test]
    fn message_names_operation_paths_and_advice() {
        let err = Error::io(
            Operation::Rename,
            "/a/.x.ferry-part",
            io::Error::from(io::ErrorKind::PermissionDenied),
        )
        .with_path("/a/x");
        let text = err.to_string();
        assert_eq!(
            text,
            "could not move into place '/a/.x.ferry-part' -> '/a/x': permission denied \
             (check the file's permissions and owner)"
        );
    }

    /// exfat-fuse and ntfs-3g answer EILSEQ for a name that is not UTF-8:
    /// said in words, never as "(os error 84)".
    #[cfg(unix)]
    #[test]
    fn a_name_the_drive_cannot_hold_is_said_in_words() {
        let eilseq = io::Error::from_raw_os_error(rustix::io::Errno::ILSEQ.raw_os_error());
        let text = Error::io(Operation::CreateTemp, "/stick/bad\u{fffd}name", eilseq).to_string();
        assert!(text.contains("cannot hold this name"), "{text}");
        assert!(text.contains("rename it"), "{text}");
        assert!(!text.contains("os error"), "{text}");
    }
}
