//! The walk: each folder is opened relative to its parent's handle (never
//! through a link), checked to be in its parent's mount (same filesystem,
//! and not a mount point: a bind mount of the same filesystem is not
//! entered either), and read in full; only names that match a candidate shape, and sub-folders, are
//! acted on. The type the folder records for each entry decides what to do
//! without inspecting it: sub-folders are descended, links and special
//! files named like candidates are reported and left alone, and only a
//! regular file named like a candidate is opened (once): its status read
//! from the handle, then its lock tried on the same handle. Where a
//! filesystem records no types, the entry is inspected first, as before.
//! Backups kept by all-or-nothing jobs are only looked at (never opened).

use std::collections::HashSet;
use std::ffi::{CStr, CString, OsStr};
use std::fs::File;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock, PoisonError};

use rustix::fs::{self as rfs, AtFlags, FileType, Mode, OFlags};
use rustix::io::Errno;

use super::aside::{Asides, Live, RootAt, is_aside_name};
use super::in_use::leases_see_every_user;
use super::listing::{Listing, Reader};
use super::mounts::mount_points;
use super::unlink::Locked;
use super::{DIR_FLAGS, FILE_FLAGS, current_user, file_kind, fstat, io_err, meta};
use crate::error::{Error, Operation};
use crate::lock::{self, LockMode};
use crate::sweep::meta::{FileKind, Ident, Meta, Place};
use crate::sweep::patterns::{Class, Kind, classify};
use crate::sweep::request::Root;
use crate::sweep::scan::{Found, Probe, Sink};

/// Deeper folders are not descended (a warning says so).
const MAX_DEPTH: usize = 256;

/// At most this many threads walk at once.
const MAX_WALKERS: usize = 4;

/// How many threads a walk uses (so how many sinks it wants): one per
/// processor, at most [`MAX_WALKERS`]. Folders are shared out one at a
/// time, so a thread's removals in one folder overlap another's reading
/// or removing in another (each folder has its own lock in the kernel).
pub(in crate::sweep) fn walkers() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get().min(MAX_WALKERS))
}

/// A folder waiting to be read.
struct Pending {
    at: At,
    path: PathBuf,
    depth: usize,
    /// Where its parent is (`None` for a root: anywhere).
    parent: Option<Place>,
    recursive: bool,
}

/// How a waiting folder is reached.
enum At {
    /// A root, by its canonical path, and its position among the roots.
    Root { index: usize },
    /// A sub-folder, by its name in its parent, whose handle stays open
    /// until its last waiting sub-folder is opened, under `root`.
    Sub {
        parent: Arc<OwnedFd>,
        name: CString,
        root: Arc<RootAt>,
    },
}

/// An open folder being read.
struct Folder {
    fd: Arc<OwnedFd>,
    /// The root it was reached from.
    root: Arc<RootAt>,
    path: PathBuf,
    ident: Ident,
    depth: usize,
    place: Place,
    recursive: bool,
    /// When it last changed, as opened (before this sweep removed anything
    /// in it).
    changed: Option<std::time::SystemTime>,
}

/// The folders waiting to be read, shared by the walking threads (taken
/// last in, first out, so the walk goes depth first and few handles are
/// open at once).
struct Queue {
    state: Mutex<QueueState>,
    wake: Condvar,
}

struct QueueState {
    pending: Vec<Pending>,
    /// Threads reading a folder (which may queue more).
    busy: usize,
    over: bool,
}

impl Queue {
    fn new(roots: &[Root]) -> Self {
        let pending = roots
            .iter()
            .enumerate()
            .rev()
            .map(|(index, root)| Pending {
                at: At::Root { index },
                path: root.path.clone(),
                depth: 0,
                parent: None,
                recursive: root.recursive,
            })
            .collect();
        Self {
            state: Mutex::new(QueueState {
                pending,
                busy: 0,
                over: false,
            }),
            wake: Condvar::new(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, QueueState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The next folder to read (the caller then owes a [`Queue::done`]);
    /// `None` once nothing is waiting and nobody can queue more.
    fn take(&self) -> Option<Pending> {
        let mut state = self.lock();
        loop {
            if state.over {
                return None;
            }
            if let Some(pending) = state.pending.pop() {
                state.busy += 1;
                return Some(pending);
            }
            if state.busy == 0 {
                state.over = true;
                self.wake.notify_all();
                return None;
            }
            state = self
                .wake
                .wait(state)
                .unwrap_or_else(PoisonError::into_inner);
        }
    }

    /// One folder read: queues the sub-folders found in it.
    fn done(&self, found: &mut Vec<Pending>) {
        let mut state = self.lock();
        state.busy -= 1;
        let woken = !found.is_empty() || state.busy == 0;
        state.pending.append(found);
        if woken {
            self.wake.notify_all();
        }
    }

    /// Ends the walk for every thread (a stop, or a thread that failed).
    fn stop(&self) {
        let mut state = self.lock();
        state.over = true;
        state.pending.clear();
        self.wake.notify_all();
    }
}

/// Ends the walk if its thread unwinds, so the others do not wait for it.
struct StopOnUnwind<'q>(&'q Queue);

impl Drop for StopOnUnwind<'_> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            self.0.stop();
        }
    }
}

/// Walks `roots`, reporting every entry whose name matches to a sink: one
/// thread per sink (see [`walkers`]).
pub(in crate::sweep) fn walk(roots: &[Root], sinks: &mut [&mut dyn Sink]) {
    let queue = Queue::new(roots);
    let shared = Shared {
        me: current_user(),
        queue: &queue,
        mounts: &OnceLock::new(),
        live: &Live::default(),
        roots: roots.len(),
    };
    let Some((first, helpers)) = sinks.split_first_mut() else {
        return;
    };
    std::thread::scope(|scope| {
        for sink in helpers.iter_mut() {
            let spawned = std::thread::Builder::new()
                .name("ferry-sweep".into())
                .spawn_scoped(scope, move || Walker::new(shared, &mut **sink).run());
            if spawned.is_err() {
                // Fewer threads walk; the walk is the same.
                break;
            }
        }
        Walker::new(shared, &mut **first).run();
    });
}

/// What the walking threads share.
#[derive(Clone, Copy)]
struct Shared<'q> {
    me: Option<u32>,
    queue: &'q Queue,
    /// The mount points, read only where mounts have no identity.
    mounts: &'q OnceLock<HashSet<PathBuf>>,
    /// The sweep's private folders, never entered or removed.
    live: &'q Live,
    /// How many roots the walk has.
    roots: usize,
}

/// One walking thread.
struct Walker<'s, 'q> {
    me: Option<u32>,
    reader: Reader,
    listing: Listing,
    /// Sub-folders found in the folder being read.
    found: Vec<Pending>,
    sink: &'s mut dyn Sink,
    queue: &'q Queue,
    mounts: &'q OnceLock<HashSet<PathBuf>>,
    live: &'q Live,
    /// This thread's private folders, where files go just before they are
    /// unlinked.
    asides: Asides<'q>,
}

impl<'s, 'q> Walker<'s, 'q> {
    fn new(shared: Shared<'q>, sink: &'s mut dyn Sink) -> Self {
        Self {
            me: shared.me,
            reader: Reader::new(),
            listing: Listing::default(),
            found: Vec::new(),
            sink,
            queue: shared.queue,
            mounts: shared.mounts,
            live: shared.live,
            asides: Asides::new(shared.roots, shared.live),
        }
    }

    /// Whether `path`, in a folder whose mount has no known identity, is a
    /// mount point (a bind mount of the same filesystem, on old kernels).
    fn is_mount_point(&self, place: Place, path: &Path) -> bool {
        place.mount.is_none() && self.mounts.get_or_init(mount_points).contains(path)
    }

    /// Reads folders until the walk is over or must stop, then lets the
    /// sink finish on this thread.
    fn run(mut self) {
        let _guard = StopOnUnwind(self.queue);
        while let Some(pending) = self.queue.take() {
            let go_on = !self.sink.should_stop()
                && match self.open(pending) {
                    Some(folder) => self.visit(folder),
                    None => true,
                };
            self.queue.done(&mut self.found);
            if !go_on {
                self.queue.stop();
                break;
            }
        }
        self.sink.finish();
    }

    /// Reads one folder and acts on its entries. `false`: stop the walk.
    fn visit(&mut self, folder: Folder) -> bool {
        let recursive = folder.recursive;
        let is_root = folder.depth == 0;
        let keep = |name: &[u8], ft: FileType| {
            let dir = matches!(ft, FileType::Directory | FileType::Unknown);
            (recursive && dir)
                || classify(OsStr::from_bytes(name)).is_some()
                || (is_root && dir && is_aside_name(name))
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
        let mut matched = classify(OsStr::from_bytes(name.to_bytes()));
        let path = || child_path(&folder.path, name);
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
        // A sweep's private folder: a folder by that name directly in a
        // root (a file by that name, or a folder deeper, is a person's).
        let private = kind == FileKind::Directory
            && folder.depth == 0
            && is_aside_name(name.to_bytes());
        if private {
            matched = Some(Class::Candidate(Kind::Part, None));
        } else if kind == FileKind::Directory && folder.recursive {
            self.descend_later(folder, name, path());
        }
        let Some(class) = matched else {
            return;
        };
        let path = path();
        let probe = if private {
            let Some(probe) = probe_private_folder(dirfd, name, self.me, folder, self.live)
            else {
                return;
            };
            if matches!(probe, Probe::Folder(_)) {
                // Left by a killed sweep: looked into even in a root
                // looked at one level deep, as it may hold an orphan.
                self.descend_later(folder, name, path.clone());
            }
            probe
        } else if kind == FileKind::Directory
            && crate::names::is_probe_name(OsStr::from_bytes(name.to_bytes()))
        {
            match probe_folder(dirfd, name, self.me, folder) {
                Some(probe) => probe,
                None => return,
            }
        } else if class == Class::Backup {
            // Listed, never removed: its status is all that is read.
            match (kind.problem(), seen) {
                (Some(problem), _) => Probe::Unsafe(problem),
                (None, Some(seen)) => Probe::Backup(seen),
                (None, None) => match rfs::statat(dirfd, name, AtFlags::SYMLINK_NOFOLLOW) {
                    Ok(st) => match meta(&st) {
                        m if m.kind == FileKind::Regular => Probe::Backup(m),
                        m => Probe::Unsafe(m.kind.problem().unwrap_or_default()),
                    },
                    Err(Errno::NOENT) => return,
                    Err(e) => Probe::Unsafe(format!("could not be inspected ({})", io_err(e))),
                },
            }
        } else if self.is_mount_point(folder.place, &path) {
            Probe::Unsafe(
                "a mount point (something is mounted here), never entered or removed".into(),
            )
        } else {
            let problem = match seen {
                Some(seen) => seen.problem(self.me, folder.place),
                None => kind.problem(),
            };
            match problem {
                Some(problem) => Probe::Unsafe(problem),
                None => match probe(dirfd, name, self.me, folder, &self.asides) {
                    Some(probe) => probe,
                    None => return,
                },
            }
        };
        self.sink.found(Found {
            path,
            class,
            dir: folder.ident,
            dir_changed: folder.changed,
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
        self.found.push(Pending {
            at: At::Sub {
                parent: Arc::clone(&folder.fd),
                name: name.to_owned(),
                root: Arc::clone(&folder.root),
            },
            path,
            depth: folder.depth + 1,
            parent: Some(folder.place),
            recursive: folder.recursive,
        });
    }

    /// Opens a waiting folder: a root by its path, a sub-folder relative
    /// to its parent without following a link. `None` when it cannot be
    /// read (with a warning), or is gone, no longer a folder, or not in its
    /// parent's mount: another filesystem or a mount point, bind mounts
    /// included (quietly).
    fn open(&mut self, pending: Pending) -> Option<Folder> {
        let opened = match &pending.at {
            At::Root { .. } => rfs::open(&pending.path, DIR_FLAGS, Mode::empty()),
            At::Sub { parent, name, .. } => {
                let flags = DIR_FLAGS | OFlags::NOFOLLOW;
                match rfs::openat(&**parent, name, flags, Mode::empty()) {
                    Err(Errno::NOENT | Errno::LOOP | Errno::NOTDIR) => return None,
                    other => other,
                }
            }
        }
        .and_then(|fd| Ok((fstat(&fd)?, fd)));
        let inside = |m: &Meta| match pending.parent {
            None => true,
            Some(parent) => {
                m.elsewhere(parent).is_none() && !self.is_mount_point(parent, &pending.path)
            }
        };
        match opened {
            Ok((m, fd)) if m.kind == FileKind::Directory && inside(&m) => {
                let fd = Arc::new(fd);
                let root = match pending.at {
                    At::Root { index } => Arc::new(RootAt {
                        local: leases_see_every_user(fd.as_fd()),
                        fd: Arc::clone(&fd),
                        path: pending.path.clone(),
                        place: m.place(),
                        index,
                    }),
                    At::Sub { root, .. } => root,
                };
                Some(Folder {
                    fd,
                    root,
                    path: pending.path,
                    ident: m.ident,
                    depth: pending.depth,
                    place: m.place(),
                    recursive: pending.recursive,
                    changed: m.changed,
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

/// `folder`'s entry `name`, as a path (allocated once, at its size: the
/// walk makes one for every entry it reports).
fn child_path(folder: &Path, name: &CStr) -> PathBuf {
    let mut path = PathBuf::with_capacity(folder.as_os_str().len() + 1 + name.count_bytes());
    path.push(folder);
    path.push(OsStr::from_bytes(name.to_bytes()));
    path
}

/// Looks at a folder named like a capability probe's (without following a
/// link): only this user's folder in the mount of `folder` may go, and
/// only when empty (the removal's `rmdir` decides). `None`: it is gone.
fn probe_folder<'a>(
    dirfd: BorrowedFd<'a>,
    name: &CStr,
    me: Option<u32>,
    folder: &Folder,
) -> Option<Probe<'a>> {
    let seen = match rfs::statat(dirfd, name, AtFlags::SYMLINK_NOFOLLOW) {
        Ok(st) => meta(&st).bounded_by(folder.changed),
        Err(Errno::NOENT) => return None,
        Err(e) => return Some(Probe::Unsafe(format!("could not be inspected ({})", io_err(e)))),
    };
    Some(seen.folder_problem(me, folder.place).map_or(Probe::Folder(seen), Probe::Unsafe))
}

/// Looks at a sweep's private folder in a root (opened without following
/// a link): `None` for this sweep's own; held (active) while another
/// sweep, which keeps its folder locked, uses it; else a folder a killed
/// sweep left, which may go once empty.
fn probe_private_folder<'a>(
    dirfd: BorrowedFd<'a>,
    name: &CStr,
    me: Option<u32>,
    folder: &Folder,
    live: &Live,
) -> Option<Probe<'a>> {
    let flags = DIR_FLAGS | OFlags::NOFOLLOW;
    let fd = match rfs::openat(dirfd, name, flags, Mode::empty()) {
        Ok(fd) => File::from(fd),
        Err(Errno::NOENT) => return None,
        Err(e) => return Some(Probe::Unsafe(format!("could not be opened ({})", io_err(e)))),
    };
    let seen = match fstat(&fd) {
        Ok(m) => m.bounded_by(folder.changed),
        Err(e) => return Some(Probe::Unsafe(format!("could not be inspected ({})", io_err(e)))),
    };
    if live.contains(seen.ident) {
        return None;
    }
    if let Some(problem) = seen.folder_problem(me, folder.place) {
        return Some(Probe::Unsafe(problem));
    }
    // Only looked at: the removal takes the lock again for itself.
    Some(match lock::try_lock(&fd, LockMode::Exclusive) {
        Ok(true) => Probe::Folder(seen),
        Ok(false) => Probe::Held(seen),
        Err(e) => Probe::Unsafe(format!("its lock could not be checked ({e})")),
    })
}

/// Opens a regular file named like a candidate and tries its lock, on one
/// handle, then reads its status there: so the status a sweep judges is
/// the one under the lock, read once. Only this user's regular files with
/// one link in the mount of the folder at `place` are kept locked (any
/// other is let go at once, and its problem reported whatever the lock
/// said). `None`: it is gone.
fn probe<'a>(
    dirfd: BorrowedFd<'a>,
    name: &'a CStr,
    me: Option<u32>,
    folder: &'a Folder,
    asides: &'a Asides<'_>,
) -> Option<Probe<'a>> {
    let place = folder.place;
    let fd = match rfs::openat(dirfd, name, FILE_FLAGS, Mode::empty()) {
        Ok(fd) => fd,
        Err(Errno::NOENT) => return None,
        Err(Errno::LOOP) => return FileKind::Symlink.problem().map(Probe::Unsafe),
        // Someone holds a lease on it: another sweep is removing it, or a
        // program watches it.
        Err(Errno::AGAIN) => {
            return Some(Probe::Unsafe(
                "another program is removing or using it right now".into(),
            ));
        }
        Err(e) => {
            // Not readable: say why if its status tells (another user's).
            let problem = rfs::statat(dirfd, name, AtFlags::SYMLINK_NOFOLLOW)
                .ok()
                .and_then(|st| meta(&st).problem(me, place));
            let reason = problem.unwrap_or_else(|| {
                format!("could not be opened to check its lock ({})", io_err(e))
            });
            return Some(Probe::Unsafe(reason));
        }
    };
    let file = File::from(fd);
    let locked = lock::try_lock(&file, LockMode::Exclusive);
    let seen = match fstat(&file) {
        Ok(m) => m.bounded_by(folder.changed),
        Err(e) => {
            return Some(Probe::Unsafe(format!(
                "could not be inspected ({})",
                io_err(e)
            )));
        }
    };
    if let Some(problem) = seen.problem(me, place) {
        return Some(Probe::Unsafe(problem));
    }
    Some(match locked {
        Ok(true) => Probe::Free(
            seen,
            // The walk stays in its root's mount, so on its filesystem.
            Locked::new(dirfd, name, file, place, folder.root.local, folder.changed)
                .with_aside(asides.for_folder(&folder.root, place))
                .with_status(seen),
        ),
        Ok(false) => Probe::Held(seen),
        Err(e) => Probe::Unsafe(format!("its lock could not be checked ({e})")),
    })
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    /// Remembers what the walker reports.
    #[derive(Default)]
    struct Seen {
        found: Vec<(PathBuf, String)>,
        warnings: Vec<String>,
    }

    impl Sink for Seen {
        fn should_stop(&mut self) -> bool {
            false
        }

        fn found(&mut self, found: Found<'_>) {
            let what = match found.probe {
                Probe::Unsafe(reason) => reason,
                Probe::Backup(_) => "backup".into(),
                Probe::Held(_) => "held".into(),
                Probe::Free(meta, _) => format!("free, {} bytes", meta.size),
                Probe::Folder(_) => "probe folder".into(),
            };
            self.found.push((found.path, what));
        }

        fn warn(&mut self, message: String) {
            self.warnings.push(message);
        }
    }

    fn open_folder(path: &Path) -> Folder {
        let fd = Arc::new(rfs::open(path, DIR_FLAGS, Mode::empty()).unwrap());
        let m = fstat(&*fd).unwrap();
        Folder {
            root: Arc::new(RootAt {
                fd: Arc::clone(&fd),
                path: path.to_path_buf(),
                place: m.place(),
                local: false,
                index: 0,
            }),
            fd,
            path: path.to_path_buf(),
            ident: m.ident,
            depth: 0,
            place: m.place(),
            recursive: true,
            changed: m.changed,
        }
    }

    /// Where a filesystem records no entry types, each entry is inspected
    /// first, and the outcome is the same as with recorded types.
    #[test]
    fn entries_without_a_recorded_type_are_inspected_first() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let temp = |n: &str| format!(".{n}.0123456789abcdef.ferry-part");
        std::fs::write(d.join(temp("orphan")), b"12345").unwrap();
        std::fs::create_dir(d.join(temp("folder"))).unwrap();
        std::os::unix::fs::symlink("/etc/passwd", d.join(temp("link"))).unwrap();
        std::fs::create_dir(d.join("sub")).unwrap();
        std::fs::write(d.join("plain.txt"), b"plain").unwrap();
        let backup = d.join(".plain.txt.0123456789abcdef.ferry-backup");
        std::fs::hard_link(d.join("plain.txt"), &backup).unwrap();
        let fifo = d.join(temp("pipe"));
        let made = std::process::Command::new("mkfifo").arg(&fifo).status();
        assert!(made.unwrap().success(), "mkfifo failed");

        let shared = Shared {
            me: current_user(),
            queue: &Queue::new(&[]),
            mounts: &OnceLock::new(),
            live: &Live::default(),
            roots: 1,
        };
        let mut outcomes = Vec::new();
        for unknown in [false, true] {
            let mut seen = Seen::default();
            let mut walker = Walker::new(shared, &mut seen);
            let folder = open_folder(d);
            let mut listing = Listing::default();
            let keep = |_: &[u8], _: FileType| true;
            walker
                .reader
                .read(folder.fd.as_fd(), keep, &mut listing)
                .unwrap();
            for (name, ft) in listing.iter() {
                let ft = if unknown { FileType::Unknown } else { ft };
                walker.entry(&folder, folder.fd.as_fd(), name, ft);
            }
            let subfolders: Vec<PathBuf> = walker.found.drain(..).map(|p| p.path).collect();
            seen.found.sort();
            assert!(seen.warnings.is_empty(), "{:?}", seen.warnings);
            outcomes.push((seen.found, subfolders));
        }
        assert_eq!(outcomes[0], outcomes[1]);
        let (found, mut subfolders) = outcomes.pop().unwrap();
        let what = |n: &str| {
            let path = d.join(temp(n));
            found.iter().find(|(p, _)| *p == path).unwrap().1.clone()
        };
        assert_eq!(found.len(), 5, "{found:?}");
        assert_eq!(what("orphan"), "free, 5 bytes");
        // Listed whatever its link count, never opened or locked.
        assert!(found.contains(&(backup, "backup".into())), "{found:?}");
        assert!(what("folder").contains("folder"));
        assert!(what("link").contains("symbolic link"));
        assert!(what("pipe").contains("FIFO"));
        subfolders.sort();
        assert_eq!(subfolders, [d.join(temp("folder")), d.join("sub")]);
    }
}
