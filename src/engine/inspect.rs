//! Checking what a person typed or dropped before a job starts: does each
//! source exist and what is it; is the destination a folder (or can it be
//! created), on which filesystem, with how much room, keeping what. The
//! window shows it beside each field, so a job that cannot start is not
//! started (and nothing the person entered is lost).
//!
//! ```
//! use ferry_engine::inspect::{inspect, DestState, SourceState};
//!
//! let dir = tempfile::tempdir()?;
//! std::fs::write(dir.path().join("a.txt"), b"hello")?;
//! let seen = inspect(&[dir.path().join("a.txt"), dir.path().join("gone")], Some(dir.path()));
//! assert_eq!(seen.sources[0].state, SourceState::File { size: 5 });
//! assert_eq!(seen.sources[1].state, SourceState::Missing);
//! assert!(matches!(seen.dest.unwrap().state, DestState::Folder { .. }));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use super::caps;
use super::error::{Error, Operation};

/// What a source is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SourceState {
    /// A regular file of this size.
    File {
        /// Bytes.
        size: u64,
    },
    /// A folder.
    Folder,
    /// A symbolic link (copied as a link inside folders, followed when
    /// named on its own).
    Link,
    /// It does not exist.
    Missing,
    /// It cannot be copied, in words (a FIFO, a device, unreadable…).
    Refused(String),
}

/// One source, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceCheck {
    /// The path as given.
    pub path: PathBuf,
    /// What it is.
    pub state: SourceState,
}

/// What the destination is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DestState {
    /// An existing folder on this filesystem.
    Folder {
        /// The filesystem for people ("exFAT").
        filesystem: String,
        /// Free space, where the filesystem tells.
        free: Option<u64>,
        /// What it will not keep ("no symbolic links", "no permissions", …).
        limitations: Vec<String>,
        /// In one line: "exFAT · 28.3 GiB free · no permissions, no
        /// symbolic links".
        summary: String,
    },
    /// It does not exist, and its parent folder does: it can be created
    /// (or, for one source, it names the copy itself).
    Missing,
    /// Neither it nor its parent exists.
    MissingParent,
    /// It is a file (one source may replace or be copied to it).
    File,
    /// It cannot be used, in words.
    Refused(String),
}

/// The destination, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DestCheck {
    /// The path as given.
    pub path: PathBuf,
    /// What it is.
    pub state: DestState,
}

/// What a check of sources and a destination found
/// ([`Command::Inspect`](crate::Command::Inspect)).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Inspection {
    /// Each source, in order.
    pub sources: Vec<SourceCheck>,
    /// The destination, if one was given.
    pub dest: Option<DestCheck>,
}

/// Checks `sources` and `dest` (probing the destination's filesystem with
/// its real calls when it is a folder; see [`caps::probe`]).
#[cfg(any(test, feature = "internals"))]
pub fn inspect(sources: &[PathBuf], dest: Option<&Path>) -> Inspection {
    inspect_with(&caps::ProbeCache::new(), sources, dest)
}

/// [`inspect`], probing each filesystem once through `cache` (a person
/// typing a destination checks it again and again: only the free space is
/// read anew, and nothing is written after the first probe).
pub fn inspect_with(
    cache: &caps::ProbeCache,
    sources: &[PathBuf],
    dest: Option<&Path>,
) -> Inspection {
    Inspection {
        sources: sources
            .iter()
            .map(|path| SourceCheck {
                path: path.clone(),
                state: source_state(path),
            })
            .collect(),
        dest: dest.map(|path| DestCheck {
            path: path.to_path_buf(),
            state: dest_state(cache, path),
        }),
    }
}

fn source_state(path: &Path) -> SourceState {
    let meta = match fs::symlink_metadata(path) {
        Ok(meta) => meta,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return SourceState::Missing,
        Err(e) => return SourceState::Refused(Error::io(Operation::Inspect, path, e).cause()),
    };
    let kind = meta.file_type();
    if kind.is_symlink() {
        SourceState::Link
    } else if kind.is_dir() {
        SourceState::Folder
    } else if kind.is_file() {
        SourceState::File { size: meta.len() }
    } else {
        SourceState::Refused(format!(
            "it is {}, and only files, folders and links can be copied",
            super::os::describe_file_type(&kind)
        ))
    }
}

fn dest_state(cache: &caps::ProbeCache, path: &Path) -> DestState {
    match fs::metadata(path) {
        Ok(meta) if meta.is_dir() => match cache.get(path) {
            Ok(found) => {
                let limitations = found.limitations();
                let free = caps::free_space(path).map(|s| s.available);
                let mut summary = found.filesystem.clone();
                if let Some(free) = free {
                    summary += &format!(" · {} free", super::format::bytes(free));
                }
                if !limitations.is_empty() {
                    summary += &format!(" · {}", limitations.join(", "));
                }
                DestState::Folder {
                    filesystem: found.filesystem.clone(),
                    free,
                    limitations,
                    summary,
                }
            }
            Err(e) => DestState::Refused(e.cause()),
        },
        Ok(_) => DestState::File,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            let parent = super::os::path::parent_dir(path);
            if fs::metadata(parent).is_ok_and(|m| m.is_dir()) {
                DestState::Missing
            } else {
                DestState::MissingParent
            }
        }
        Err(e) => DestState::Refused(Error::io(Operation::Inspect, path, e).cause()),
    }
}
