//! The walk: each folder is opened relative to its parent's handle (never
//! through a link), checked to be on the root's filesystem, and read in
//! full; only names that match a candidate shape, and sub-folders, are
//! acted on. The type the folder records for each entry decides what to do
//! without inspecting it: sub-folders are descended, links and special
//! files named like candidates are reported and left alone, and only a
//! regular file named like a candidate is opened (once): its status read
//! from the handle, then its lock tried on the same handle. Where a
//! filesystem records no types, the entry is inspected first, as before.

use std::ffi::{CStr, CString, OsStr};
use std::fs::File;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;
use std::sync::Arc;

use rustix::fs::{self as rfs, AtFlags, FileType, Mode, OFlags};
use rustix::io::Errno;

use super::listing::{Listing, Reader};
use super::unlink::Locked;
use super::{DIR_FLAGS, FILE_FLAGS, current_user, file_kind, fstat, io_err, meta};
use crate::engine::error::{Error, Operation};
use crate::engine::lock::{self, LockMode};
use crate::engine::sweep::meta::{FileKind, Ident};
use crate::engine::sweep::patterns::classify_name;
use crate::engine::sweep::request::Root;
use crate::engine::sweep::scan::{Found, Probe, Sink};

/// Deeper folders are not descended (a warning says so).
const MAX_DEPTH: usize = 256;

/// An open folder being read.
struct Folder {
    fd: Arc<OwnedFd>,
    path: PathBuf,
    ident: Ident,
    depth: usize,
}

/// A sub-folder waiting to be opened, relative to its parent's handle
/// (kept open until its last waiting sub-folder is opened).
struct Pending {
    parent: Arc<OwnedFd>,
    name: CString,
    path: PathBuf,
    depth: usize,
}

/// Walks `root`, reporting every entry whose name matches to `sink`.
pub(in crate::engine::sweep) fn walk(root: &Root, sink: &mut dyn Sink) {
    let opened =
        rfs::open(&root.path, DIR_FLAGS, Mode::empty()).and_then(|fd| Ok((fstat(&fd)?, fd)));
    let (root_meta, fd) = match opened {
        Ok(opened) => opened,
        Err(e) => {
            sink.warn(Error::io(Operation::ReadDir, &root.path, io_err(e)).to_string());
            return;
        }
    };
    let mut walker = Walker {
        me: current_user(),
        dev: root_meta.ident.dev,
        recursive: root.recursive,
        reader: Reader::new(),
        listing: Listing::default(),
        pending: Vec::new(),
        sink,
    };
    let mut next = Some(Folder {
        fd: Arc::new(fd),
        path: root.path.clone(),
        ident: root_meta.ident,
        depth: 0,
    });
    while let Some(folder) = next {
        if !walker.visit(folder) {
            return;
        }
        next = None;
        while let Some(pending) = walker.pending.pop() {
            if walker.sink.should_stop() {
                return;
            }
            if let Some(folder) = walker.open(pending) {
                next = Some(folder);
                break;
            }
        }
    }
}

struct Walker<'s> {
    me: Option<u32>,
    /// The root's filesystem: nothing on another one is touched.
    dev: u64,
    recursive: bool,
    reader: Reader,
    listing: Listing,
    /// Sub-folders still to read, depth first.
    pending: Vec<Pending>,
    sink: &'s mut dyn Sink,
}

impl Walker<'_> {
    /// Reads one folder and acts on its entries. `false`: stop the walk.
    fn visit(&mut self, folder: Folder) -> bool {
        let recursive = self.recursive;
        let keep = |name: &[u8], ft: FileType| {
            (recursive && matches!(ft, FileType::Directory | FileType::Unknown))
                || classify_name(OsStr::from_bytes(name)).is_some()
        };
        let dirfd = folder.fd.as_fd();
        if let Err(e) = self.reader.read(dirfd, keep, &mut self.listing) {
            let error = Error::io(Operation::ReadDir, &folder.path, io_err(e));
            self.sink.warn(error.to_string());
        }
        let listing = std::mem::take(&mut self.listing);
        let mut go_on = true;
        for (name, ft) in listing.iter() {
            if self.sink.should_stop() {
                go_on = false;
                break;
            }
            self.entry(&folder, dirfd, name, ft);
        }
        self.listing = listing;
        go_on
    }

    /// Acts on one kept entry of `folder`.
    fn entry(&mut self, folder: &Folder, dirfd: BorrowedFd<'_>, name: &CStr, ft: FileType) {
        let matched = classify_name(OsStr::from_bytes(name.to_bytes()));
        let path = || folder.path.join(OsStr::from_bytes(name.to_bytes()));
        // Where the folder records no type, look (without following links).
        let (kind, seen) = if ft == FileType::Unknown {
            match rfs::statat(dirfd, name, AtFlags::SYMLINK_NOFOLLOW) {
                Ok(st) => {
                    let seen = meta(&st);
                    (seen.kind, Some(seen))
                }
                Err(Errno::NOENT) => return,
                Err(e) => {
                    let error = Error::io(Operation::Inspect, path(), io_err(e));
                    self.sink.warn(error.to_string());
                    return;
                }
            }
        } else {
            (file_kind(ft), None)
        };
        if kind == FileKind::Directory && self.recursive {
            self.descend_later(folder, name, path());
        }
        let Some((kind_found, pattern)) = matched else {
            return;
        };
        let problem = match seen {
            Some(seen) => seen.problem(self.me, self.dev),
            None => kind.problem(),
        };
        let probe = match problem {
            Some(problem) => Probe::Unsafe(problem),
            None => match probe(dirfd, name, self.me, self.dev) {
                Some(probe) => probe,
                None => return,
            },
        };
        self.sink.found(Found {
            path: path(),
            kind: kind_found,
            pattern,
            dir: folder.ident,
            probe,
        });
    }

    /// Queues a sub-folder, or says why it is not looked into.
    fn descend_later(&mut self, folder: &Folder, name: &CStr, path: PathBuf) {
        if folder.depth >= MAX_DEPTH {
            self.sink.warn(format!(
                "did not look inside '{}': folders nested more than {MAX_DEPTH} deep",
                path.display()
            ));
            return;
        }
        self.pending.push(Pending {
            parent: Arc::clone(&folder.fd),
            name: name.to_owned(),
            path,
            depth: folder.depth + 1,
        });
    }

    /// Opens a queued sub-folder without following a link; `None` when it
    /// is gone, no longer a folder, or on another filesystem.
    fn open(&mut self, pending: Pending) -> Option<Folder> {
        let flags = DIR_FLAGS | OFlags::NOFOLLOW;
        let opened = match rfs::openat(&*pending.parent, &pending.name, flags, Mode::empty()) {
            Ok(fd) => fstat(&fd).map(|m| (m, fd)),
            Err(Errno::NOENT | Errno::LOOP | Errno::NOTDIR) => return None,
            Err(e) => Err(e),
        };
        match opened {
            Ok((m, fd)) if m.kind == FileKind::Directory && m.ident.dev == self.dev => {
                Some(Folder {
                    fd: Arc::new(fd),
                    path: pending.path,
                    ident: m.ident,
                    depth: pending.depth,
                })
            }
            Ok(_) => None,
            Err(e) => {
                let error = Error::io(Operation::ReadDir, &pending.path, io_err(e));
                self.sink.warn(error.to_string());
                None
            }
        }
    }
}

/// Opens a regular file named like a candidate and tries its lock, on one
/// handle: its status is read first (nothing but this user's regular files
/// with one link on the root's filesystem `dev` is ever locked), then the
/// lock. `None`: it is gone.
fn probe<'a>(
    dirfd: BorrowedFd<'a>,
    name: &'a CStr,
    me: Option<u32>,
    dev: u64,
) -> Option<Probe<'a>> {
    let fd = match rfs::openat(dirfd, name, FILE_FLAGS, Mode::empty()) {
        Ok(fd) => fd,
        Err(Errno::NOENT) => return None,
        Err(Errno::LOOP) => return FileKind::Symlink.problem().map(Probe::Unsafe),
        Err(e) => {
            // Not readable: say why if its status tells (another user's).
            let problem = rfs::statat(dirfd, name, AtFlags::SYMLINK_NOFOLLOW)
                .ok()
                .and_then(|st| meta(&st).problem(me, dev));
            let reason = problem.unwrap_or_else(|| {
                format!("could not be opened to check its lock ({})", io_err(e))
            });
            return Some(Probe::Unsafe(reason));
        }
    };
    let file = File::from(fd);
    let seen = match fstat(&file) {
        Ok(m) => m,
        Err(e) => {
            return Some(Probe::Unsafe(format!(
                "could not be inspected ({})",
                io_err(e)
            )));
        }
    };
    if let Some(problem) = seen.problem(me, dev) {
        return Some(Probe::Unsafe(problem));
    }
    Some(match lock::try_lock(&file, LockMode::Exclusive) {
        Ok(true) => Probe::Free(seen, Locked::new(dirfd, name, file)),
        Ok(false) => Probe::Held(seen),
        Err(e) => Probe::Unsafe(format!("its lock could not be checked ({e})")),
    })
}
