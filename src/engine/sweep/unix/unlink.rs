//! Removal under the lock. A file is removed only while the sweeper holds
//! its exclusive lock, after its status is read again under the lock and
//! no other program is found using it ([`in_use`](super::in_use): on
//! Linux a write lease is then held through the removal), and only if its
//! name still names the locked inode: the name is first moved to a private
//! name beside it (one `renameat`), what was moved is looked at there and
//! checked once more for other users, and only the locked inode is
//! unlinked; anything else (a file swapped in at the last moment), or a
//! file someone opened in between, is put back. Every step is relative to
//! the folder's handle.

use std::ffi::{CStr, CString, OsStr};
use std::fs::File;
use std::hash::{BuildHasher, RandomState};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::Path;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

use rustix::fs::{self as rfs, AtFlags, Mode};
use rustix::io::Errno;

use super::in_use::Claim;
use super::{DIR_FLAGS, FILE_FLAGS, fstat, io_err, meta};
use crate::error::{Error, Operation};
use crate::lock::{self, LockMode};
use crate::names;
use crate::sweep::meta::{Meta, Place};
use crate::sweep::remove::{Removal, RemoveCheck};
use crate::sweep::report::{Entry, SkipReason};

/// A candidate whose exclusive lock the sweeper holds, with the folder
/// handle it was opened from. Dropping it lets the lock go.
pub(in crate::sweep) struct Locked<'a> {
    dir: BorrowedFd<'a>,
    name: &'a CStr,
    file: File,
    /// Where the folder is: the file must be in the same mount.
    place: Place,
    /// When the folder last changed before the sweep touched it (see
    /// [`Meta::bounded_by`]).
    folder_changed: Option<std::time::SystemTime>,
}

impl<'a> Locked<'a> {
    /// `file` (opened as `name` in `dir`, a folder at `place`) must be
    /// locked exclusively.
    pub(super) fn new(
        dir: BorrowedFd<'a>,
        name: &'a CStr,
        file: File,
        place: Place,
        folder_changed: Option<std::time::SystemTime>,
    ) -> Self {
        Self {
            dir,
            name,
            file,
            place,
            folder_changed,
        }
    }

    /// The locked file's handle.
    pub(in crate::sweep) fn file(&self) -> &File {
        &self.file
    }
}

fn failed(op: Operation, path: &Path, e: Errno) -> Removal {
    Removal::Kept(SkipReason::Failed(
        Error::io(op, path, io_err(e)).to_string(),
    ))
}

/// Removes the scanned `entry` whose lock is held: its status is read
/// again under the lock (it may have been written to, linked or given away
/// since it was looked at), it is checked not to be in use by another
/// program, then it is unlinked if its name still names it. In a dry run,
/// every check is made and nothing is removed.
pub(in crate::sweep) fn remove_locked(
    locked: Locked<'_>,
    entry: &Entry,
    check: &RemoveCheck<'_>,
) -> Removal {
    let Locked {
        dir,
        name,
        file,
        place,
        folder_changed,
    } = locked;
    let now = match fstat(&file) {
        Ok(m) => m.bounded_by(folder_changed),
        Err(e) => return failed(Operation::Inspect, &entry.path, e),
    };
    if now.ident != entry.ident {
        return Removal::Kept(SkipReason::Changed("another file now has its name".into()));
    }
    if let Some(problem) = now.problem(check.me, place) {
        return Removal::Kept(SkipReason::Unsafe(problem));
    }
    if let Some(reason) = check.too_young(&now, entry.kind) {
        return Removal::Kept(reason);
    }
    if !check.dry_run {
        // Before the lease below: an open by the observer would have to
        // wait for it.
        check.notify(&entry.path);
    }
    let claim = match check.in_use.claim(&file, now.ident) {
        Ok(claim) => claim,
        Err(reason) => return Removal::Kept(reason),
    };
    if check.dry_run {
        return Removal::Removed { size: now.size };
    }
    let removal = unlink_if_named(dir, name, &now, &entry.path, &claim, check);
    // The lease and the lock are let go only now, after the unlink.
    drop(claim);
    drop(file);
    removal
}

/// Opens again the folder of an entry of an earlier scan, checked to be the
/// one scanned: its handle, the entry's name in it and its place; or why
/// the entry is kept.
fn reopen_folder(entry: &Entry) -> Result<(OwnedFd, CString, Place), Removal> {
    let (Some(parent), Some(name)) = (entry.path.parent(), entry.path.file_name()) else {
        return Err(Removal::Kept(SkipReason::Changed(
            "it has no parent folder".into(),
        )));
    };
    let Ok(name) = CString::new(name.as_bytes()) else {
        return Err(Removal::Kept(SkipReason::Changed(
            "its name is not valid".into(),
        )));
    };
    let dirfd = match rfs::open(parent, DIR_FLAGS, Mode::empty()) {
        Ok(fd) => fd,
        Err(Errno::NOENT) => return Err(Removal::Kept(SkipReason::Gone)),
        Err(e) => return Err(failed(Operation::ReadDir, parent, e)),
    };
    match fstat(&dirfd) {
        Ok(m) if m.ident == entry.dir => Ok((dirfd, name, m.place())),
        Ok(_) => Err(Removal::Kept(SkipReason::Changed(
            "its folder was replaced by another one".into(),
        ))),
        Err(e) => Err(failed(Operation::Inspect, parent, e)),
    }
}

/// Removes one entry of an earlier scan: its folder and the file are opened
/// again and checked to be the ones scanned, then locked.
pub(in crate::sweep) fn remove(entry: &Entry, check: &RemoveCheck<'_>) -> Removal {
    let (dirfd, name, place) = match reopen_folder(entry) {
        Ok(found) => found,
        Err(kept) => return kept,
    };
    let file = match rfs::openat(&dirfd, &name, FILE_FLAGS, Mode::empty()) {
        Ok(fd) => File::from(fd),
        Err(Errno::NOENT) => return Removal::Kept(SkipReason::Gone),
        Err(Errno::LOOP) => {
            return Removal::Kept(SkipReason::Changed(
                "its name is now a symbolic link".into(),
            ));
        }
        Err(e) => return failed(Operation::Remove, &entry.path, e),
    };
    let opened = match fstat(&file) {
        Ok(m) => m,
        Err(e) => return failed(Operation::Inspect, &entry.path, e),
    };
    if opened.ident != entry.ident {
        return Removal::Kept(SkipReason::Changed("another file now has its name".into()));
    }
    if let Some(problem) = opened.problem(check.me, place) {
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
    let locked = Locked::new(dirfd.as_fd(), &name, file, place, entry.dir_changed);
    remove_locked(locked, entry, check)
}

/// Removes a probe's folder found by a scan, if it is still that folder,
/// this user's, old enough, and empty (`rmdir` removes nothing else).
pub(in crate::sweep) fn remove_folder(entry: &Entry, check: &RemoveCheck<'_>) -> Removal {
    let (dirfd, name, place) = match reopen_folder(entry) {
        Ok(found) => found,
        Err(kept) => return kept,
    };
    let now = match rfs::statat(&dirfd, &name, AtFlags::SYMLINK_NOFOLLOW) {
        Ok(st) => meta(&st).bounded_by(entry.dir_changed),
        Err(Errno::NOENT) => return Removal::Kept(SkipReason::Gone),
        Err(e) => return failed(Operation::Inspect, &entry.path, e),
    };
    if now.ident != entry.ident {
        return Removal::Kept(SkipReason::Changed("another file now has its name".into()));
    }
    if let Some(problem) = super::walk::folder_problem(&now, check.me, place) {
        return Removal::Kept(SkipReason::Unsafe(problem));
    }
    if let Some(reason) = check.too_young(&now, entry.kind) {
        return Removal::Kept(reason);
    }
    if check.dry_run {
        return Removal::Removed { size: 0 };
    }
    check.notify(&entry.path);
    match rfs::unlinkat(&dirfd, &name, AtFlags::REMOVEDIR) {
        Ok(()) => Removal::Removed { size: 0 },
        Err(Errno::NOTEMPTY | Errno::EXIST) => Removal::Kept(SkipReason::Unsafe(
            "a capability probe's folder that is not empty (only empty ones are removed)".into(),
        )),
        Err(Errno::NOENT) => Removal::Kept(SkipReason::Gone),
        Err(e) => failed(Operation::Remove, &entry.path, e),
    }
}

/// Moves whatever `name` now holds to a private name, then looks at what
/// was moved: only the `locked` inode is unlinked, and only if the `claim`
/// shows that no other program started using it meanwhile. Anything else
/// is put back (or, if the name was taken yet again, given a name no sweep
/// matches).
fn unlink_if_named(
    dir: BorrowedFd<'_>,
    name: &CStr,
    locked: &Meta,
    path: &Path,
    claim: &Claim<'_>,
    check: &RemoveCheck<'_>,
) -> Removal {
    let parent = path.parent().unwrap_or(Path::new(""));
    let aside = match move_aside(dir, name) {
        Ok(Some(aside)) => aside,
        Ok(None) => return Removal::Kept(SkipReason::Gone),
        Err(e) => return failed(Operation::Remove, path, e),
    };
    let moved = rfs::statat(dir, &aside, AtFlags::SYMLINK_NOFOLLOW).map(|st| meta(&st));
    if let Ok(m) = &moved
        && m.ident == locked.ident
        && let Err(reason) = claim.confirm(check.in_use, locked.ident)
    {
        // Someone opened or locked it in the last moment: put it back.
        return match put_back(dir, &aside, name, parent) {
            Ok(()) => Removal::Kept(reason),
            Err(now_at) => Removal::Kept(SkipReason::Failed(format!(
                "'{}' was found in use at the last moment ({reason}), and another file \
                 took its name meanwhile; it was moved to '{}'",
                path.display(),
                now_at.display()
            ))),
        };
    }
    match moved {
        Ok(m) if m.ident == locked.ident => match rfs::unlinkat(dir, &aside, AtFlags::empty()) {
            Ok(()) => Removal::Removed { size: locked.size },
            Err(e) => {
                let _ = rename_noreplace(dir, &aside, name);
                failed(Operation::Remove, path, e)
            }
        },
        Ok(_) => match put_back(dir, &aside, name, parent) {
            Ok(()) => Removal::Kept(SkipReason::Changed(
                "another file took its name at the last moment; it was left in place".into(),
            )),
            Err(now_at) => Removal::Kept(SkipReason::Failed(format!(
                "other files took the name '{}' twice at the last moment; \
                 one of them was moved to '{}'",
                path.display(),
                now_at.display()
            ))),
        },
        Err(e) => failed(
            Operation::Inspect,
            &parent.join(OsStr::from_bytes(aside.to_bytes())),
            e,
        ),
    }
}

/// Renames the private name `aside` back to `name` in `dir` (whose path is
/// `parent`). If `name` was taken meanwhile, the file gets a name no sweep
/// will ever match rather than stay under a temp-like private name, and
/// `Err` says where it is now.
fn put_back(
    dir: BorrowedFd<'_>,
    aside: &CStr,
    name: &CStr,
    parent: &Path,
) -> Result<(), std::path::PathBuf> {
    if rename_noreplace(dir, aside, name).is_ok() {
        return Ok(());
    }
    let mut kept = name.to_bytes().to_vec();
    kept.extend_from_slice(format!(".ferry-kept-{:016x}", private_random()).as_bytes());
    let kept = CString::new(kept).expect("names hold no NUL");
    Err(match rename_noreplace(dir, aside, &kept) {
        Ok(()) => parent.join(OsStr::from_bytes(kept.to_bytes())),
        Err(_) => parent.join(OsStr::from_bytes(aside.to_bytes())),
    })
}

/// 64 unpredictable bits for a private name, without a system call for
/// each: a keyed hash (SipHash, keyed once per process from the operating
/// system's random source) of a counter.
fn private_random() -> u64 {
    static KEYS: OnceLock<RandomState> = OnceLock::new();
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    KEYS.get_or_init(RandomState::new)
        .hash_one(COUNTER.fetch_add(1, Ordering::Relaxed))
}

/// Renames `name` to a fresh private name beside it (shaped like a Ferry
/// temp, so a crash right here leaves an ordinary orphan). `Ok(None)`: the
/// name no longer exists. Where no-replace renames are not supported a
/// plain rename is used: the private name has 64 unpredictable bits.
fn move_aside(dir: BorrowedFd<'_>, name: &CStr) -> Result<Option<CString>, Errno> {
    let mut last = Errno::EXIST;
    for _ in 0..8 {
        let aside = names::temp_name(OsStr::from_bytes(name.to_bytes()), private_random());
        let aside = CString::new(aside.into_vec()).expect("names hold no NUL");
        let renamed = match rename_exclusive(dir, name, &aside) {
            Some(result) => result,
            None => rfs::renameat(dir, name, dir, &aside),
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
fn rename_noreplace(dir: BorrowedFd<'_>, from: &CStr, to: &CStr) -> Result<(), Errno> {
    if let Some(result) = rename_exclusive(dir, from, to) {
        return result;
    }
    rfs::linkat(dir, from, dir, to, AtFlags::empty())?;
    rfs::unlinkat(dir, from, AtFlags::empty())
}

/// A no-replace rename within one folder; `None` where the system or the
/// filesystem does not offer one.
fn rename_exclusive(dir: BorrowedFd<'_>, from: &CStr, to: &CStr) -> Option<Result<(), Errno>> {
    #[cfg(any(target_os = "linux", target_os = "android", target_vendor = "apple"))]
    {
        match rfs::renameat_with(dir, from, dir, to, rfs::RenameFlags::NOREPLACE) {
            Err(Errno::INVAL | Errno::NOSYS | Errno::OPNOTSUPP) => None,
            other => Some(other),
        }
    }
    #[cfg(not(any(target_os = "linux", target_os = "android", target_vendor = "apple")))]
    {
        let _ = (dir, from, to);
        None
    }
}
