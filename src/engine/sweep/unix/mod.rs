//! Unix: walking and removing relative to directory handles (`openat` with
//! `O_NOFOLLOW`, `fstatat` with `AT_SYMLINK_NOFOLLOW`), so a symbolic link
//! is never followed and a folder swapped for a link mid-walk is noticed.
//! Files are opened with `O_NONBLOCK`, so a FIFO never blocks the sweep.
//!
//! * [`listing`]: reads one folder's entries in full, keeping only the
//!   names that matter (candidates and sub-folders), with their types;
//! * [`walk`]: the walk itself, and the probe of each candidate (opened
//!   once: status, then its lock, on the same handle);
//! * [`unlink`]: removal under the lock, by the rename-aside protocol;
//! * [`in_use`]: whether another program has a file open, mapped or locked;
//! * [`mounts`]: the mount points `/proc/self/mountinfo` lists, where the
//!   kernel is too old to give a mount's identity.
//!
//! A folder or candidate is inspected on its handle with `statx`, asking
//! for its mount's identity too (Linux 5.8 and later; `fstat` elsewhere),
//! so a bind mount of the same filesystem is told apart from its parent
//! although both have the same device number.

mod aside;
mod in_use;
mod listing;
mod mounts;
mod unlink;
mod walk;

use std::io;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

#[cfg(any(target_os = "linux", target_os = "android"))]
use rustix::fs::AtFlags;
use rustix::fs::{self as rfs, FileType, OFlags};
use rustix::io::Errno;

use super::meta::{FileKind, Ident, Meta, change_time};

pub(super) use in_use::InUse;
pub(super) use unlink::{Locked, remove, remove_folder, remove_locked};
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
    let (changed, mirrored_ctime) = change_time(
        time(st.st_mtime as i64, st.st_mtime_nsec as i64),
        time(st.st_ctime as i64, st.st_ctime_nsec as i64),
    );
    Meta {
        ident: Ident {
            dev: st.st_dev as u64,
            ino: st.st_ino as u64,
        },
        kind: file_kind(FileType::from_raw_mode(st.st_mode as _)),
        owner: Some(st.st_uid as u32),
        links: st.st_nlink as u64,
        size: u64::try_from(st.st_size as i64).unwrap_or(0),
        changed,
        mirrored_ctime,
        mount: None,
    }
}

/// A time from its seconds and nanoseconds since the epoch.
fn time(secs: i64, nanos: i64) -> Option<SystemTime> {
    let nanos = u32::try_from(nanos).ok().filter(|n| *n < 1_000_000_000)?;
    if secs >= 0 {
        UNIX_EPOCH.checked_add(Duration::new(secs as u64, nanos))
    } else {
        UNIX_EPOCH
            .checked_sub(Duration::from_secs(secs.unsigned_abs()))?
            .checked_add(Duration::from_nanos(u64::from(nanos)))
    }
}

/// `statx` as the sweeper's [`Meta`], with the mount's identity when the
/// kernel gives it.
#[cfg(any(target_os = "linux", target_os = "android"))]
fn meta_x(st: &rfs::Statx) -> Meta {
    let flags = rfs::StatxFlags::from_bits_retain(st.stx_mask);
    let stamp = |t: rfs::StatxTimestamp| time(t.tv_sec, i64::from(t.tv_nsec));
    let (changed, mirrored_ctime) = change_time(
        stamp(st.stx_mtime),
        stamp(st.stx_ctime),
    );
    Meta {
        ident: Ident {
            dev: rfs::makedev(st.stx_dev_major, st.stx_dev_minor),
            ino: st.stx_ino,
        },
        kind: file_kind(FileType::from_raw_mode(rfs::RawMode::from(st.stx_mode))),
        owner: Some(st.stx_uid),
        links: u64::from(st.stx_nlink),
        size: st.stx_size,
        changed,
        mirrored_ctime,
        mount: flags
            .contains(rfs::StatxFlags::MNT_ID)
            .then_some(st.stx_mnt_id),
    }
}

/// The status of an open file or folder as the sweeper's [`Meta`]: `statx`
/// with the mount's identity where there is one, `fstat` otherwise.
fn fstat(fd: impl std::os::fd::AsFd) -> Result<Meta, Errno> {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    {
        let mask = rfs::StatxFlags::BASIC_STATS | rfs::StatxFlags::MNT_ID;
        match rfs::statx(&fd, c"", AtFlags::EMPTY_PATH, mask) {
            Ok(st) => return Ok(meta_x(&st)),
            // No statx (old kernels, some sandboxes): plain fstat.
            Err(Errno::NOSYS | Errno::PERM) => {}
            Err(e) => return Err(e),
        }
    }
    rfs::fstat(fd).map(|st| meta(&st))
}

fn io_err(e: Errno) -> io::Error {
    io::Error::from_raw_os_error(e.raw_os_error())
}
