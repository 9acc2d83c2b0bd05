//! Unix: walking and removing relative to directory handles (`openat` with
//! `O_NOFOLLOW`, `fstatat` with `AT_SYMLINK_NOFOLLOW`), so a symbolic link
//! is never followed and a folder swapped for a link mid-walk is noticed.
//! Files are opened with `O_NONBLOCK`, so a FIFO never blocks the sweep.
//!
//! * [`listing`]: reads one folder's entries in full, keeping only the
//!   names that matter (candidates and sub-folders), with their types;
//! * [`walk`]: the walk itself, and the probe of each candidate (opened
//!   once: status, then its lock, on the same handle);
//! * [`unlink`]: removal under the lock, by the rename-aside protocol.

mod listing;
mod unlink;
mod walk;

use std::io;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rustix::fs::{self as rfs, FileType, OFlags};
use rustix::io::Errno;

use super::meta::{FileKind, Ident, Meta, newest};

pub(super) use unlink::{Locked, remove, remove_locked};
pub(super) use walk::{walk, walkers};

/// How a folder is opened: never blocking. Sub-folders are also opened
/// with `O_NOFOLLOW`.
const DIR_FLAGS: OFlags = OFlags::RDONLY
    .union(OFlags::DIRECTORY)
    .union(OFlags::CLOEXEC)
    .union(OFlags::NONBLOCK);

/// How a candidate is opened to be locked: never through a link, never
/// blocking (a FIFO opens at once and is then refused by its type), never
/// becoming a controlling terminal.
const FILE_FLAGS: OFlags = OFlags::RDONLY
    .union(OFlags::NOFOLLOW)
    .union(OFlags::NONBLOCK)
    .union(OFlags::CLOEXEC)
    .union(OFlags::NOCTTY);

/// The effective user id: only this user's files are touched.
pub(super) fn current_user() -> Option<u32> {
    Some(rustix::process::geteuid().as_raw())
}

/// What the sweeper calls a file type.
fn file_kind(ft: FileType) -> FileKind {
    match ft {
        FileType::RegularFile => FileKind::Regular,
        FileType::Directory => FileKind::Directory,
        FileType::Symlink => FileKind::Symlink,
        FileType::Fifo => FileKind::Other("a FIFO (named pipe)"),
        FileType::Socket => FileKind::Other("a socket"),
        FileType::CharacterDevice | FileType::BlockDevice => FileKind::Other("a device"),
        _ => FileKind::Other("a special file"),
    }
}

/// Field types differ between Unix flavours, hence the casts.
#[allow(clippy::unnecessary_cast, clippy::useless_conversion)]
fn meta(st: &rfs::Stat) -> Meta {
    let time = |secs: i64, nanos: i64| -> Option<SystemTime> {
        let nanos = u32::try_from(nanos).ok().filter(|n| *n < 1_000_000_000)?;
        if secs >= 0 {
            UNIX_EPOCH.checked_add(Duration::new(secs as u64, nanos))
        } else {
            UNIX_EPOCH
                .checked_sub(Duration::from_secs(secs.unsigned_abs()))?
                .checked_add(Duration::from_nanos(u64::from(nanos)))
        }
    };
    Meta {
        ident: Ident {
            dev: st.st_dev as u64,
            ino: st.st_ino as u64,
        },
        kind: file_kind(FileType::from_raw_mode(st.st_mode as _)),
        owner: Some(st.st_uid as u32),
        links: st.st_nlink as u64,
        size: u64::try_from(st.st_size as i64).unwrap_or(0),
        changed: newest(
            time(st.st_mtime as i64, st.st_mtime_nsec as i64),
            time(st.st_ctime as i64, st.st_ctime_nsec as i64),
        ),
    }
}

/// `fstat` as the sweeper's [`Meta`].
fn fstat(fd: impl std::os::fd::AsFd) -> Result<Meta, Errno> {
    rfs::fstat(fd).map(|st| meta(&st))
}

fn io_err(e: Errno) -> io::Error {
    io::Error::from_raw_os_error(e.raw_os_error())
}
