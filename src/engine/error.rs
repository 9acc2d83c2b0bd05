//! Ferry's one error type: what went wrong (the [`ErrorKind`]), while doing
//! what (the [`Operation`]), and to which paths.
//!
//! Every engine function returns [`Result`]. Handle an error exactly once:
//! show it to a person with `Display` (it reads as a sentence with advice),
//! or branch on [`Error::kind`] when a program must react.
//!
//! ```
//! use ferry_engine::error::{Error, ErrorKind, Operation};
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
            _ => None,
        }
    }
}

/// The step that failed, phrased for the sentence "could not <operation> <path>".
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
    /// Reading or writing Ferry's own state (journal, settings).
    State,
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
        }
    }
}

/// A failure with its kind, the operation that failed and the paths involved.
#[derive(Debug, thiserror::Error)]
pub struct Error {
    kind: ErrorKind,
    op: Operation,
    paths: Vec<PathBuf>,
    detail: Option<String>,
    #[source]
    source: Option<io::Error>,
}

impl Error {
    /// An error caused by an operating-system call on `path`.
    pub fn io(op: Operation, path: impl AsRef<Path>, source: io::Error) -> Self {
        Self {
            kind: ErrorKind::from_io(&source),
            op,
            paths: vec![path.as_ref().to_path_buf()],
            detail: None,
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

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "could not {}", self.op.verb())?;
        match self.paths.as_slice() {
            [] => {}
            [one] => write!(f, " '{}'", one.display())?,
            [first, rest @ ..] => {
                write!(f, " '{}'", first.display())?;
                for p in rest {
                    write!(f, " → '{}'", p.display())?;
                }
            }
        }
        match (&self.detail, &self.source) {
            (Some(detail), _) => write!(f, ": {detail}")?,
            (None, Some(src)) if self.kind == ErrorKind::Io => write!(f, ": {src}")?,
            (None, _) => write!(f, ": {}", self.kind.describe())?,
        }
        if let Some(advice) = self.kind.advice() {
            write!(f, " ({advice})")?;
        }
        Ok(())
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
            "could not move into place '/a/.x.ferry-part' → '/a/x': permission denied \
             (check the file's permissions and owner)"
        );
    }
}
