//! Removal under the lock. A file is removed only while the sweeper holds
//! its exclusive lock, after its status is read again under the lock and
//! no other program is found using it ([`in_use`](super::in_use): on
//! Linux a write lease is then held through the removal), and only if its
//! name still names the locked inode: the name is first moved to a private
//! name (one `renameat`: into the walking thread's private folder, see
//! [`aside`](super::aside), or else beside it), what was moved is looked
//! at there and checked once more for other users, and only the locked
//! inode is unlinked; anything else (a file swapped in at the last
//! moment), or a file someone opened in between, is put back. Every step
//! is relative to the folders' handles.

use std::borrow::Cow;
use std::ffi::{CStr, CString, OsStr};
use std::fs::File;
use std::hash::{BuildHasher, RandomState};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::Path;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

use rustix::fs::{self as rfs, AtFlags, Mode, OFlags};
use rustix::io::Errno;

use super::aside::Aside;
use super::in_use::{Claim, InUse, leases_see_every_user};
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
    /// Whether a lease there sees every user of the file (see
    /// [`leases_see_every_user`]).
    local: bool,
    /// When the folder last changed before the sweep touched it (see
    /// [`Meta::bounded_by`]).
    folder_changed: Option<std::time::SystemTime>,
    /// Where it goes just before it is unlinked, if not beside itself.
    aside: Option<Aside<'a>>,
    /// Its status, if it was read under the lock already.
    status: Option<Meta>,
}

impl<'a> Locked<'a> {
    /// `file` (opened as `name` in `dir`, a folder at `place`, on a
    /// filesystem where leases see every user if `local`) must be locked
    /// exclusively.
    pub(super) fn new(
        dir: BorrowedFd<'a>,
        name: &'a CStr,
        file: File,
        place: Place,
        local: bool,
        folder_changed: Option<std::time::SystemTime>,
    ) -> Self {
        Self {
            dir,
            name,
            file,
            place,
            local,
            folder_changed,
            aside: None,
            status: None,
        }
    }

    /// `status` was read on the handle once it was locked: the removal
    /// need not read it again.
    pub(super) fn with_status(self, status: Meta) -> Self {
        Self {
            status: Some(status),
            ..self
        }
    }

    /// Moves the file into `aside` (when `Some`) just before unlinking it.
    pub(super) fn with_aside(self, aside: Option<Aside<'a>>) -> Self {
        Self { aside, ..self }
    }

    /// Checks that no other program uses the locked file (whose identity
    /// is `ident`), holding a lease on it until the claim is dropped.
    pub(in crate::sweep) fn claim(
        &self,
        in_use: &InUse,
        ident: crate::sweep::meta::Ident,
    ) -> Result<Claim<'_>, SkipReason> {
        in_use.claim(&self.file, ident, self.local)
    }
}

fn failed(op: Operation, path: &Path, e: Errno) -> Removal {
    Removal::Kept(SkipReason::Failed(
        Error::io(op, path, io_err(e)).to_string(),
    ))
}

/// Removes the scanned `entry` whose lock is held: its status is read
/// again under the lock unless the walk read it so (it may have been
/// written to, linked or given away since it was looked at before the
/// lock), it is checked not to be in use by another
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
        local,
        folder_changed,
        aside,
        status,
    } = locked;
    let now = match status.map_or_else(|| fstat(&file), Ok) {
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
    let claim = match check.in_use.claim(&file, now.ident, local) {
        Ok(claim) => claim,
        Err(reason) => return Removal::Kept(reason),
    };
    if check.dry_run {
        return Removal::Removed { size: now.size };
    }
    let parent = entry.path.parent().unwrap_or(Path::new(""));
    let from = Spot { dir, path: parent };
    let to = aside
        .and_then(|aside| aside.folder())
        .map_or(from, |(dir, path)| Spot { dir, path });
    let removal = unlink_if_named(from, name, to, &now, &entry.path, &claim, check);
    // The lease and the lock are let go only now, after the unlink, both
    // by closing the handle (one call).
    claim.end_with_handle();
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
    let local = leases_see_every_user(dirfd.as_fd());
    let locked = Locked::new(dirfd.as_fd(), &name, file, place, local, entry.dir_changed);
    remove_locked(locked, entry, check)
}

/// Removes a probe's or a sweep's private folder found by a scan, if it is
/// still that folder, this user's, old enough, and empty (`rmdir` removes
/// nothing else).
pub(in crate::sweep) fn remove_folder(entry: &Entry, check: &RemoveCheck<'_>) -> Removal {
    let (dirfd, name, place) = match reopen_folder(entry) {
        Ok(found) => found,
        Err(kept) => return kept,
    };
    let folder = match rfs::openat(&dirfd, &name, DIR_FLAGS | OFlags::NOFOLLOW, Mode::empty()) {
        Ok(fd) => File::from(fd),
        Err(Errno::NOENT) => return Removal::Kept(SkipReason::Gone),
        Err(Errno::LOOP | Errno::NOTDIR) => {
            return Removal::Kept(SkipReason::Changed("it is no longer a folder".into()));
        }
        Err(e) => return failed(Operation::Inspect, &entry.path, e),
    };
    let now = match fstat(&folder) {
        Ok(m) => m.bounded_by(entry.dir_changed),
        Err(e) => return failed(Operation::Inspect, &entry.path, e),
    };
    if now.ident != entry.ident {
        return Removal::Kept(SkipReason::Changed("another file now has its name".into()));
    }
    // A sweep running with other settings keeps its private folder locked.
    match lock::try_lock(&folder, LockMode::Exclusive) {
        Ok(true) => {}
        Ok(false) => return Removal::Kept(SkipReason::Active),
        Err(e) => {
            return Removal::Kept(SkipReason::Failed(
                Error::io(Operation::Lock, &entry.path, e).to_string(),
            ));
        }
    }
    if let Some(problem) = now.folder_problem(check.me, place) {
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
            "a folder a killed Ferry left, not empty yet (its files are swept on their own; \
             the folder goes once it is empty and old enough)"
                .into(),
        )),
        Err(Errno::NOENT) => Removal::Kept(SkipReason::Gone),
        Err(e) => failed(Operation::Remove, &entry.path, e),
    }
}

/// A folder, by handle and path.
#[derive(Clone, Copy)]
struct Spot<'a> {
    dir: BorrowedFd<'a>,
    path: &'a Path,
}

/// Moves whatever `name` in `from` now holds to a private name in `to`
/// (or in `from` itself where the filesystem refuses the move between
/// folders), then looks at what was moved: only the `locked` inode is
/// unlinked, and only if the `claim` shows that no other program started
/// using it meanwhile. Anything else is put back (or, if the name was
/// taken yet again, given a name no sweep matches).
fn unlink_if_named(
    from: Spot<'_>,
    name: &CStr,
    to: Spot<'_>,
    locked: &Meta,
    path: &Path,
    claim: &Claim<'_>,
    check: &RemoveCheck<'_>,
) -> Removal {
    crate::faults::point("before-aside-move");
    let (aside, at) = match move_aside(from.dir, name, to.dir) {
        Ok(Some((aside, true))) => (aside, to),
        Ok(Some((aside, false))) => (aside, from),
        Ok(None) => return Removal::Kept(SkipReason::Gone),
        Err(e) => return failed(Operation::Remove, path, e),
    };
    let aside: &CStr = &aside;
    let moved = rfs::statat(at.dir, aside, AtFlags::SYMLINK_NOFOLLOW).map(|st| meta(&st));
    if let Ok(m) = &moved
        && m.ident == locked.ident
        && let Err(reason) = claim.confirm(check.in_use, locked.ident)
    {
        // Someone opened or locked it in the last moment: put it back.
        return match put_back(at, aside, from, name) {
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
        Ok(m) if m.ident == locked.ident => match rfs::unlinkat(at.dir, aside, AtFlags::empty()) {
            Ok(()) => Removal::Removed { size: locked.size },
            Err(e) => {
                let _ = rename_noreplace(at.dir, aside, from.dir, name);
                failed(Operation::Remove, path, e)
            }
        },
        Ok(_) => match put_back(at, aside, from, name) {
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
            &at.path.join(OsStr::from_bytes(aside.to_bytes())),
            e,
        ),
    }
}

/// Renames the private name `aside` in `at` back to `name` in `home`. If
/// `name` was taken meanwhile, the file gets a name no sweep will ever
/// match in `home` rather than stay under a temp-like private name, and
/// `Err` says where it is now.
fn put_back(
    at: Spot<'_>,
    aside: &CStr,
    home: Spot<'_>,
    name: &CStr,
) -> Result<(), std::path::PathBuf> {
    if rename_noreplace(at.dir, aside, home.dir, name).is_ok() {
        return Ok(());
    }
    let mut kept = name.to_bytes().to_vec();
    kept.extend_from_slice(format!(".ferry-kept-{:016x}", private_random()).as_bytes());
    let kept = CString::new(kept).expect("names hold no NUL");
    Err(match rename_noreplace(at.dir, aside, home.dir, &kept) {
        Ok(()) => home.path.join(OsStr::from_bytes(kept.to_bytes())),
        Err(_) => at.path.join(OsStr::from_bytes(aside.to_bytes())),
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

/// The one name every file takes in a private folder, where it is alone
/// (shaped like a Ferry temp, as every private name is).
fn private_name() -> &'static CStr {
    static NAME: OnceLock<CString> = OnceLock::new();
    NAME.get_or_init(|| {
        let name = names::temp_name(OsStr::new("aside"), 0);
        CString::new(name.into_vec()).expect("names hold no NUL")
    })
}

/// Renames `name` in `dir` to a fresh private name in `to` (shaped like a
/// Ferry temp, so a crash right here leaves an ordinary orphan), or in
/// `dir` itself where a private folder `to` does not take it.
/// `Ok(None)`: the name no longer exists; `Ok(Some((aside, in_to)))`: the
/// private name, and whether it is in the private folder `to`. Where no-replace renames are
/// not supported a plain rename is used: the private name has 64
/// unpredictable bits.
fn move_aside(
    dir: BorrowedFd<'_>,
    name: &CStr,
    to: BorrowedFd<'_>,
) -> Result<Option<(Cow<'static, CStr>, bool)>, Errno> {
    let mut last = Errno::EXIST;
    let mut target = to;
    for attempt in 0..8 {
        // In a private folder (only this thread writes there, and it
        // empties it after each file) one name serves every file, which
        // the kernel then finds cached; beside the file, a fresh name.
        let private = target.as_raw_fd() != dir.as_raw_fd();
        let aside = match (private, attempt) {
            (true, 0) => Cow::Borrowed(private_name()),
            _ => {
                let fresh = names::temp_name(OsStr::from_bytes(name.to_bytes()), private_random());
                Cow::Owned(CString::new(fresh.into_vec()).expect("names hold no NUL"))
            }
        };
        let renamed = match rename_exclusive(dir, name, target, &aside) {
            Some(result) => result,
            None => rfs::renameat(dir, name, target, &*aside),
        };
        match renamed {
            Ok(()) => return Ok(Some((aside, private))),
            Err(Errno::EXIST) => last = Errno::EXIST,
            // Not into the private folder: not between these folders (a
            // subtree with its own encryption or quota project, a stacked
            // filesystem), or the folder is gone (another program removed
            // it), or anything else: beside, where a missing name then
            // says the file is gone.
            Err(_) if private => target = dir,
            Err(Errno::NOENT) => return Ok(None),
            Err(e) => return Err(e),
        }
    }
    Err(last)
}

/// Renames the private name `from` in `from_dir` back to `to` in `to_dir`,
/// never replacing `to`: a no-replace rename, or a hard link and an
/// unlink, or where the filesystem has neither (FAT, exFAT) a plain rename
/// once `to` is found free (the moment between the look and the rename is
/// the one such drives leave every writer, see DESIGN's decision 1).
fn rename_noreplace(
    from_dir: BorrowedFd<'_>,
    from: &CStr,
    to_dir: BorrowedFd<'_>,
    to: &CStr,
) -> Result<(), Errno> {
    if let Some(result) = rename_exclusive(from_dir, from, to_dir, to) {
        return result;
    }
    match rfs::linkat(from_dir, from, to_dir, to, AtFlags::empty()) {
        Ok(()) => rfs::unlinkat(from_dir, from, AtFlags::empty()),
        // The filesystem has no hard links (ENOTSUP and EOPNOTSUPP are
        // one value on Linux, two on macOS).
        Err(e) if [Errno::PERM, Errno::NOTSUP, Errno::OPNOTSUPP, Errno::NOSYS, Errno::MLINK]
            .contains(&e) =>
        {
            match rfs::statat(to_dir, to, AtFlags::SYMLINK_NOFOLLOW) {
                Err(Errno::NOENT) => rfs::renameat(from_dir, from, to_dir, to),
                Ok(_) => Err(Errno::EXIST),
                Err(e) => Err(e),
            }
        }
        Err(e) => Err(e),
    }
}

/// A no-replace rename; `None` where the system or the filesystem does
/// not offer one.
fn rename_exclusive(
    from_dir: BorrowedFd<'_>,
    from: &CStr,
    to_dir: BorrowedFd<'_>,
    to: &CStr,
) -> Option<Result<(), Errno>> {
    #[cfg(any(target_os = "linux", target_os = "android", target_vendor = "apple"))]
    {
        match rfs::renameat_with(from_dir, from, to_dir, to, rfs::RenameFlags::NOREPLACE) {
            Err(Errno::INVAL | Errno::NOSYS | Errno::OPNOTSUPP) => None,
            other => Some(other),
        }
    }
    #[cfg(not(any(target_os = "linux", target_os = "android", target_vendor = "apple")))]
    {
        let _ = (from_dir, from, to_dir, to);
        None
    }
}
