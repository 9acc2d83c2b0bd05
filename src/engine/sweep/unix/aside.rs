//! The private folders a walking sweep moves files into just before it
//! unlinks them (see [`unlink`](super::unlink) for why a file is moved
//! aside at all).
//!
//! Moving a file aside within its own folder costs that folder two more
//! searches of its entries and an insertion; moving it into a small
//! private folder of the same mount costs little more than the unlink
//! itself. Measured on the development machine (10,000 orphans among
//! 100,000 entries in 1,000 folders, two threads, the same checks; a C
//! model of the protocol): 0.17 s within each folder, 0.12 s through a
//! private folder per thread, and 0.165 s through one folder shared by
//! both threads (they queue on its lock), against 0.15 s for
//! `find -delete`.
//!
//! So each walking thread makes its own folder per root, in the root,
//! at its first removal under that root, keeps it locked (`flock`), and
//! removes it when the walk ends. Files in another mount than their
//! root's (a mount inside a recursive root), and any file the folder does
//! not take (the filesystem refuses the rename between folders, or the
//! folder was removed meanwhile), go aside within their own folder, as
//! before. A sweep killed in between leaves the folder behind, holding at
//! most the files it was removing under temp-shaped names: the next sweep
//! looks into it (even in a root looked at one level deep), sweeps those
//! files like any orphan, and removes the folder once it is empty and
//! old. Only a folder by that name directly in a root is taken for one (a
//! file by that name, or a folder deeper, is a person's). The walk never
//! enters or removes the folders of the sweep that is running ([`Live`]),
//! nor a locked one (another sweep's, with other settings, running).

use std::cell::OnceCell;
use std::collections::HashSet;
use std::ffi::{CString, OsStr};
use std::fs::File;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::OsStringExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

use rustix::fs::{self as rfs, AtFlags, Mode, OFlags};
use rustix::io::Errno;

use super::{DIR_FLAGS, fstat};
use crate::lock::{self, LockMode};
use crate::names;
use crate::sweep::meta::{FileKind, Ident, Place};

/// The private folders of the running sweep, by identity, shared by its
/// walking threads.
#[derive(Default)]
pub(super) struct Live(Mutex<HashSet<Ident>>);

impl Live {
    /// Whether `ident` is one of the running sweep's private folders.
    pub fn contains(&self, ident: Ident) -> bool {
        self.lock().contains(&ident)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashSet<Ident>> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// A root of the walk, open: where its private folders are made.
pub(super) struct RootAt {
    pub fd: Arc<OwnedFd>,
    pub path: PathBuf,
    pub place: Place,
    /// Whether a lease there sees every user of a file (see
    /// [`leases_see_every_user`](super::in_use::leases_see_every_user)).
    pub local: bool,
    /// Its position among the walk's roots (one slot each per thread).
    pub index: usize,
}

/// A folder made in a root, locked (`flock`) for its whole life, so that
/// another sweep (with other settings, so not kept out by the sweeper's
/// own lock) takes it for active, never for a killed sweep's leftover.
struct Made {
    root: Arc<OwnedFd>,
    name: CString,
    fd: File,
    path: PathBuf,
    ident: Ident,
}

/// One thread's private folders, one slot per root, each made at first
/// use; removed (when empty) when dropped.
pub(super) struct Asides<'q> {
    slots: Vec<OnceCell<Option<Made>>>,
    live: &'q Live,
}

impl<'q> Asides<'q> {
    pub fn new(roots: usize, live: &'q Live) -> Self {
        Self {
            slots: (0..roots).map(|_| OnceCell::new()).collect(),
            live,
        }
    }

    /// Where files of a folder at `place` under `root` may go aside:
    /// `None` when that folder is in another mount than its root.
    pub fn for_folder<'a>(&'a self, root: &'a RootAt, place: Place) -> Option<Aside<'a>> {
        (root.place == place).then_some(Aside { asides: self, root })
    }
}

impl Drop for Asides<'_> {
    fn drop(&mut self) {
        for made in self.slots.iter_mut().filter_map(|s| s.take().flatten()) {
            // Only if the name is still this folder's. Not empty only if a
            // file could not be put back, which its removal reported; the
            // next sweep finds the folder then.
            let still = rfs::statat(&*made.root, &made.name, AtFlags::SYMLINK_NOFOLLOW)
                .is_ok_and(|st| super::meta(&st).ident == made.ident);
            if still {
                let _ = rfs::unlinkat(&*made.root, &made.name, AtFlags::REMOVEDIR);
            }
            self.live.lock().remove(&made.ident);
        }
    }
}

/// A thread's private folder for the files of one root, made on demand.
pub(in crate::sweep) struct Aside<'a> {
    asides: &'a Asides<'a>,
    root: &'a RootAt,
}

impl<'a> Aside<'a> {
    /// The folder's handle and path, made now if this is the first file;
    /// `None` if it cannot be made (the file then goes aside in its own
    /// folder).
    pub fn folder(&self) -> Option<(BorrowedFd<'a>, &'a Path)> {
        let slot = self.asides.slots.get(self.root.index)?;
        let made = slot
            .get_or_init(|| make(self.root, self.asides.live))
            .as_ref()?;
        Some((made.fd.as_fd(), &made.path))
    }
}

/// Makes a private folder in `root` (mode 0700), checks that what it
/// opened by that name is a folder of this user's in the root's mount
/// (in a folder others may write to, someone could have put their own in
/// its place between the two calls), and records it as live.
fn make(root: &RootAt, live: &Live) -> Option<Made> {
    let me = super::current_user();
    for _ in 0..4 {
        let name = names::aside_folder_name(names::random_u64());
        let path = root.path.join(&name);
        let name = CString::new(name.into_vec()).ok()?;
        match rfs::mkdirat(&*root.fd, &name, Mode::RWXU) {
            Ok(()) => {}
            Err(Errno::EXIST) => continue,
            Err(_) => return None,
        }
        crate::faults::point("after-aside-mkdir");
        let opened = rfs::openat(&*root.fd, &name, DIR_FLAGS | OFlags::NOFOLLOW, Mode::empty())
            .ok()
            .map(File::from)
            .and_then(|fd| Some((fstat(&fd).ok()?, fd)));
        match opened {
            Some((meta, fd))
                if meta.kind == FileKind::Directory
                    && meta.place() == root.place
                    && (me.is_none() || meta.owner == me)
                    && lock::try_lock(&fd, LockMode::Exclusive).is_ok_and(|locked| locked) =>
            {
                live.lock().insert(meta.ident);
                crate::faults::point("after-aside-made");
                return Some(Made {
                    root: Arc::clone(&root.fd),
                    name,
                    fd,
                    path,
                    ident: meta.ident,
                });
            }
            // This user's folder in the wrong place (a mount over it) is
            // removed again; anything else by that name is not this
            // sweep's to remove.
            Some((meta, _)) if meta.kind == FileKind::Directory && meta.owner == me => {
                let _ = rfs::unlinkat(&*root.fd, &name, AtFlags::REMOVEDIR);
                return None;
            }
            _ => return None,
        }
    }
    None
}

/// Whether `name` (in some folder) may be a sweep's private folder.
pub(super) fn is_aside_name(name: &[u8]) -> bool {
    use std::os::unix::ffi::OsStrExt;
    names::is_aside_folder_name(OsStr::from_bytes(name))
}
