//! Unix: walking and removing relative to directory handles (`openat` with
//! `O_NOFOLLOW`, `fstatat` with `AT_SYMLINK_NOFOLLOW`), so a symbolic link
//! is never followed and a folder swapped for a link mid-walk is noticed.
//! Files are opened with `O_NONBLOCK`, so a FIFO never blocks the sweep.

use std::ffi::{CStr, OsStr};
use std::fs::File;
use std::io;
use std::os::fd::{AsFd, BorrowedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rustix::fs::{self as rfs, AtFlags, Dir, FileType, Mode, OFlags};
use rustix::io::Errno;

use super::meta::{FileKind, Ident, Meta, newest};
use super::patterns::classify_name;
use super::remove::{Removal, RemoveCheck};
use super::report::{Entry, SkipReason};
use super::request::Root;
use super::scan::{Found, Sink};
use crate::engine::error::{Error, Operation};
use crate::engine::lock::{self, LockMode};
use crate::engine::names;

/// Deeper folders are not descended (a warning says so).
const MAX_DEPTH: usize = 256;

/// How a folder is opened: never through a link, never blocking.
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
    let kind = match FileType::from_raw_mode(st.st_mode as _) {
        FileType::RegularFile => FileKind::Regular,
        FileType::Directory => FileKind::Directory,
        FileType::Symlink => FileKind::Symlink,
        FileType::Fifo => FileKind::Other("a FIFO (named pipe)"),
        FileType::Socket => FileKind::Other("a socket"),
        FileType::CharacterDevice | FileType::BlockDevice => FileKind::Other("a device"),
        _ => FileKind::Other("a special file"),
    };
    Meta {
        ident: Ident {
            dev: st.st_dev as u64,
            ino: st.st_ino as u64,
        },
        kind,
        owner: Some(st.st_uid as u32),
        links: st.st_nlink as u64,
        size: u64::try_from(st.st_size as i64).unwrap_or(0),
        changed: newest(
            time(st.st_mtime as i64, st.st_mtime_nsec as i64),
            time(st.st_ctime as i64, st.st_ctime_nsec as i64),
        ),
    }
}

fn io_err(e: Errno) -> io::Error {
    io::Error::from_raw_os_error(e.raw_os_error())
}

/// One open folder on the walk.
struct Level {
    dir: Dir,
    path: PathBuf,
    ident: Ident,
    depth: usize,
}

/// Walks `root`, reporting every entry whose name matches to `sink`.
pub(super) fn walk(root: &Root, sink: &mut dyn Sink) {
    let me = current_user();
    let opened = rfs::open(&root.path, DIR_FLAGS, Mode::empty()).and_then(|fd| {
        let st = rfs::fstat(&fd)?;
        Ok((Dir::new(fd)?, meta(&st)))
    });
    let (dir, root_meta) = match opened {
        Ok(opened) => opened,
        Err(e) => {
            sink.warn(Error::io(Operation::ReadDir, &root.path, io_err(e)).to_string());
            return;
        }
    };
    let dev = root_meta.ident.dev;
    let mut stack = vec![Level {
        dir,
        path: root.path.clone(),
        ident: root_meta.ident,
        depth: 0,
    }];
    while let Some(level) = stack.last_mut() {
        if sink.should_stop() {
            return;
        }
        let entry = match level.dir.read() {
            None => {
                stack.pop();
                continue;
            }
            Some(Err(e)) => {
                sink.warn(Error::io(Operation::ReadDir, &level.path, io_err(e)).to_string());
                stack.pop();
                continue;
            }
            Some(Ok(entry)) => entry,
        };
        let c_name = entry.file_name();
        let bytes = c_name.to_bytes();
        if bytes == b"." || bytes == b".." {
            continue;
        }
        let name = OsStr::from_bytes(bytes);
        let Ok(dirfd) = level.dir.fd() else {
            stack.pop();
            continue;
        };
        let path = level.path.join(name);
        let st = match rfs::statat(dirfd, c_name, AtFlags::SYMLINK_NOFOLLOW) {
            Ok(st) => meta(&st),
            Err(Errno::NOENT) => continue,
            Err(e) => {
                sink.warn(Error::io(Operation::Inspect, &path, io_err(e)).to_string());
                continue;
            }
        };
        let matched = classify_name(name);
        if st.kind == FileKind::Directory {
            if let Some((kind, pattern)) = matched {
                sink.found(Found {
                    path: path.clone(),
                    kind,
                    pattern,
                    dir: level.ident,
                    meta: st,
                    probe: Err("a folder, never removed".into()),
                });
            }
            if !root.recursive || st.ident.dev != dev {
                continue;
            }
            if level.depth >= MAX_DEPTH {
                sink.warn(format!(
                    "did not look inside '{}': folders nested more than {MAX_DEPTH} deep",
                    path.display()
                ));
                continue;
            }
            let depth = level.depth + 1;
            match open_subdir(dirfd, c_name, st.ident) {
                Ok(dir) => stack.push(Level {
                    dir,
                    path,
                    ident: st.ident,
                    depth,
                }),
                Err(Some(e)) => {
                    sink.warn(Error::io(Operation::ReadDir, &path, e).to_string());
                }
                Err(None) => {}
            }
            continue;
        }
        let Some((kind, pattern)) = matched else {
            continue;
        };
        let (meta, probe) = match st.problem(me, dev) {
            Some(problem) => (st, Err(problem)),
            None => probe(dirfd, c_name, st, me),
        };
        sink.found(Found {
            path,
            kind,
            pattern,
            dir: level.ident,
            meta,
            probe,
        });
    }
}

/// Opens a sub-folder without following a link, and checks it is still the
/// folder that was inspected. `Err(None)`: it changed (skip quietly).
fn open_subdir(
    dirfd: BorrowedFd<'_>,
    name: &CStr,
    expected: Ident,
) -> Result<Dir, Option<io::Error>> {
    let fd = match rfs::openat(dirfd, name, DIR_FLAGS | OFlags::NOFOLLOW, Mode::empty()) {
        Ok(fd) => fd,
        Err(Errno::NOENT | Errno::LOOP | Errno::NOTDIR) => return Err(None),
        Err(e) => return Err(Some(io_err(e))),
    };
    match rfs::fstat(&fd) {
        Ok(st) if meta(&st).ident == expected => Dir::new(fd).map_err(|e| Some(io_err(e))),
        Ok(_) => Err(None),
        Err(e) => Err(Some(io_err(e))),
    }
}

/// Opens a candidate and tries its lock: `Ok(true)` when someone holds it.
/// The probe's lock (if granted) is released at once by closing the file.
fn probe(
    dirfd: BorrowedFd<'_>,
    name: &CStr,
    seen: Meta,
    me: Option<u32>,
) -> (Meta, Result<bool, String>) {
    let fd = match rfs::openat(dirfd, name, FILE_FLAGS, Mode::empty()) {
        Ok(fd) => fd,
        Err(e) => {
            let e = io_err(e);
            return (
                seen,
                Err(format!("could not be opened to check its lock ({e})")),
            );
        }
    };
    let file = File::from(fd);
    let now = match rfs::fstat(&file) {
        Ok(st) => meta(&st),
        Err(e) => return (seen, Err(format!("could not be inspected ({})", io_err(e)))),
    };
    if now.ident != seen.ident {
        return (seen, Err("changed while it was being scanned".into()));
    }
    if let Some(problem) = now.problem(me, seen.ident.dev) {
        return (now, Err(problem));
    }
    match lock::try_lock(&file, LockMode::Exclusive) {
        Ok(granted) => (now, Ok(!granted)),
        Err(e) => (now, Err(format!("its lock could not be checked ({e})"))),
    }
}

/// Removes one scanned entry under the rules of the module documentation.
pub(super) fn remove(entry: &Entry, check: &RemoveCheck<'_>) -> Removal {
    let (Some(parent), Some(name)) = (entry.path.parent(), entry.path.file_name()) else {
        return Removal::Kept(SkipReason::Changed("it has no parent folder".into()));
    };
    let failed = |op: Operation, path: &Path, e: Errno| {
        Removal::Kept(SkipReason::Failed(
            Error::io(op, path, io_err(e)).to_string(),
        ))
    };
    let dirfd = match rfs::open(parent, DIR_FLAGS, Mode::empty()) {
        Ok(fd) => fd,
        Err(Errno::NOENT) => return Removal::Kept(SkipReason::Gone),
        Err(e) => return failed(Operation::ReadDir, parent, e),
    };
    match rfs::fstat(&dirfd) {
        Ok(st) if meta(&st).ident == entry.dir => {}
        Ok(_) => {
            return Removal::Kept(SkipReason::Changed(
                "its folder was replaced by another one".into(),
            ));
        }
        Err(e) => return failed(Operation::Inspect, parent, e),
    }
    let file = match rfs::openat(&dirfd, name, FILE_FLAGS, Mode::empty()) {
        Ok(fd) => File::from(fd),
        Err(Errno::NOENT) => return Removal::Kept(SkipReason::Gone),
        Err(Errno::LOOP) => {
            return Removal::Kept(SkipReason::Changed(
                "its name is now a symbolic link".into(),
            ));
        }
        Err(e) => return failed(Operation::Remove, &entry.path, e),
    };
    let stat = |file: &File| rfs::fstat(file).map(|st| meta(&st));
    let opened = match stat(&file) {
        Ok(m) => m,
        Err(e) => return failed(Operation::Inspect, &entry.path, e),
    };
    if opened.ident != entry.ident {
        return Removal::Kept(SkipReason::Changed("another file now has its name".into()));
    }
    if let Some(problem) = opened.problem(check.me, entry.ident.dev) {
        return Removal::Kept(SkipReason::Unsafe(problem));
    }
    match lock::try_lock(&file, LockMode::Exclusive) {
        Ok(true) => {}
        Ok(false) => return Removal::Kept(SkipReason::Active),
        Err(e) => {
            return Removal::Kept(SkipReason::Failed(
                Error::io(Operation::Lock, &entry.path, e).to_string(),
            ));
        }
    }
    // Locked: no Ferry writer can hold it now. Read its times again, since
    // it may have been written to between the scan and the lock.
    let locked = match stat(&file) {
        Ok(m) => m,
        Err(e) => return failed(Operation::Inspect, &entry.path, e),
    };
    if let Some(reason) = check.too_young(&locked) {
        return Removal::Kept(reason);
    }
    check.notify(&entry.path);

    // Move whatever the name now holds to a private name, then look at what
    // was moved: only the locked inode is unlinked. Anything else (a file
    // swapped in at the last moment) is put back.
    let aside = match move_aside(dirfd.as_fd(), name) {
        Ok(Some(aside)) => aside,
        Ok(None) => return Removal::Kept(SkipReason::Gone),
        Err(e) => return failed(Operation::Remove, &entry.path, e),
    };
    let moved = rfs::statat(&dirfd, &aside, AtFlags::SYMLINK_NOFOLLOW).map(|st| meta(&st));
    match moved {
        Ok(m) if m.ident == locked.ident => match rfs::unlinkat(&dirfd, &aside, AtFlags::empty()) {
            Ok(()) => Removal::Removed { size: locked.size },
            Err(e) => {
                let _ = rename_noreplace(dirfd.as_fd(), &aside, name);
                failed(Operation::Remove, &entry.path, e)
            }
        },
        Ok(_) => match rename_noreplace(dirfd.as_fd(), &aside, name) {
            Ok(()) => Removal::Kept(SkipReason::Changed(
                "another file took its name at the last moment; it was left in place".into(),
            )),
            Err(_) => {
                // The name was taken yet again. Give the stranger a name no
                // sweep will ever match rather than leave it under a temp name.
                let mut kept = name.to_os_string();
                kept.push(format!(".ferry-kept-{:016x}", names::random_u64()));
                let now_at = match rename_noreplace(dirfd.as_fd(), &aside, &kept) {
                    Ok(()) => parent.join(kept),
                    Err(_) => parent.join(&aside),
                };
                Removal::Kept(SkipReason::Failed(format!(
                    "other files took the name '{}' twice at the last moment; \
                     one of them was moved to '{}'",
                    entry.path.display(),
                    now_at.display()
                )))
            }
        },
        Err(e) => failed(Operation::Inspect, &parent.join(&aside), e),
    }
}

/// Renames `name` to a fresh private name beside it (shaped like a Ferry
/// temp, so a crash right here leaves an ordinary orphan). `Ok(None)`: the
/// name no longer exists. Where no-replace renames are not supported a
/// plain rename is used: the private name has 64 random bits.
fn move_aside(dirfd: BorrowedFd<'_>, name: &OsStr) -> Result<Option<PathBuf>, Errno> {
    let mut last = Errno::EXIST;
    for _ in 0..8 {
        let aside = PathBuf::from(names::temp_name(name, names::random_u64()));
        let renamed = match rename_exclusive(dirfd, name, &aside) {
            Some(result) => result,
            None => rfs::renameat(dirfd, name, dirfd, &aside),
        };
        match renamed {
            Ok(()) => return Ok(Some(aside)),
            Err(Errno::NOENT) => return Ok(None),
            Err(Errno::EXIST) => last = Errno::EXIST,
            Err(e) => return Err(e),
        }
    }
    Err(last)
}

/// Renames the private name `from` back to `to`, never replacing `to`.
fn rename_noreplace(dirfd: BorrowedFd<'_>, from: &Path, to: &OsStr) -> Result<(), Errno> {
    if let Some(result) = rename_exclusive(dirfd, from, to) {
        return result;
    }
    rfs::linkat(dirfd, from, dirfd, to, AtFlags::empty())?;
    rfs::unlinkat(dirfd, from, AtFlags::empty())
}

/// A no-replace rename within one folder; `None` where the system or the
/// filesystem does not offer one.
fn rename_exclusive<P: rustix::path::Arg, Q: rustix::path::Arg>(
    dirfd: BorrowedFd<'_>,
    from: P,
    to: Q,
) -> Option<Result<(), Errno>> {
    #[cfg(any(target_os = "linux", target_os = "android", target_vendor = "apple"))]
    {
        match rfs::renameat_with(dirfd, from, dirfd, to, rfs::RenameFlags::NOREPLACE) {
            Err(Errno::INVAL | Errno::NOSYS | Errno::OPNOTSUPP) => None,
            other => Some(other),
        }
    }
    #[cfg(not(any(target_os = "linux", target_os = "android", target_vendor = "apple")))]
    {
        let _ = (dirfd, from, to);
        None
    }
}
