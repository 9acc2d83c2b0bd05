//! Non-Unix systems (Windows): a walk through the standard library, which
//! has no directory handles. Symbolic links and junctions are never
//! followed (`symlink_metadata`), files are removed while their lock is
//! held, and identities are not available, so the "same file" checks rest
//! on the lock and the file type alone. Whether another program uses a file
//! cannot be asked here beyond the lock: a file another program opened
//! without delete sharing cannot be removed (the removal fails with a
//! message and the file stays). Backups of all-or-nothing jobs are listed
//! and never removed.

use std::fs::{self, File, Metadata};
use std::io;
use std::marker::PhantomData;
use std::path::PathBuf;

use super::meta::{FileKind, Ident, Meta, Place, newest};
use super::patterns::{Class, classify};
use super::remove::{Removal, RemoveCheck};
use super::report::{Entry, SkipReason};
use super::request::Root;
use super::scan::{Found, Probe, Sink};
use crate::error::{Error, Operation};
use crate::lock::{self, LockMode};
use crate::os;

/// Deeper folders are not descended.
const MAX_DEPTH: usize = 256;

/// No user ids here: ownership is left to the operating system's access
/// control.
pub(super) fn current_user() -> Option<u32> {
    None
}

fn meta(m: &Metadata) -> Meta {
    let ft = m.file_type();
    let kind = if ft.is_symlink() {
        FileKind::Symlink
    } else if ft.is_dir() {
        FileKind::Directory
    } else if ft.is_file() {
        FileKind::Regular
    } else {
        FileKind::Other(os::describe_file_type(&ft))
    };
    Meta {
        ident: Ident::default(),
        kind,
        owner: None,
        links: os::link_count(m),
        size: m.len(),
        // No change time here: the creation time stands in for it (a file
        // copied or restored recently is fresh).
        changed: newest(m.modified().ok(), m.created().ok()),
        mirrored_ctime: false,
        mount: None,
    }
}

/// A candidate whose lock the sweeper holds; dropping it lets the lock go.
pub(super) struct Locked<'a> {
    file: File,
    _walk: PhantomData<&'a ()>,
}

impl Locked<'_> {
    /// Checks that no other program uses the locked file (only its lock
    /// says so here).
    pub(super) fn claim(&self, in_use: &InUse, ident: Ident) -> Result<Claim<'_>, SkipReason> {
        in_use.claim(&self.file, ident)
    }
}

/// Whether other programs use a file: only the lock says so here.
#[derive(Default)]
pub(super) struct InUse;

/// A file checked not to be in use, while it is removed.
pub(super) struct Claim<'f>(PhantomData<&'f File>);

impl InUse {
    pub fn new() -> Self {
        Self
    }

    /// Nothing more than the lock can be checked here.
    pub fn claim<'f>(&self, _file: &'f File, _ident: Ident) -> Result<Claim<'f>, SkipReason> {
        Ok(Claim(PhantomData))
    }
}

/// How many threads a walk uses: one here.
pub(super) fn walkers() -> usize {
    1
}

/// Walks `roots` in turn, reporting every entry whose name matches to the
/// first sink (then lets it finish).
pub(super) fn walk(roots: &[Root], sinks: &mut [&mut dyn Sink]) {
    let Some(sink) = sinks.first_mut() else {
        return;
    };
    for root in roots {
        if sink.should_stop() {
            break;
        }
        walk_root(root, &mut **sink);
    }
    sink.finish();
}

/// Walks one root. Only folders and names that match are inspected (the
/// type the folder listing gives decides, without following links).
fn walk_root(root: &Root, sink: &mut dyn Sink) {
    let mut stack: Vec<(fs::ReadDir, PathBuf, usize)> = Vec::new();
    match fs::read_dir(&root.path) {
        Ok(rd) => stack.push((rd, root.path.clone(), 0)),
        Err(e) => {
            sink.warn(Error::io(Operation::ReadDir, &root.path, e).to_string());
            return;
        }
    }
    while let Some((rd, dir, depth)) = stack.last_mut() {
        if sink.should_stop() {
            return;
        }
        let entry = match rd.next() {
            None => {
                stack.pop();
                continue;
            }
            Some(Err(e)) => {
                sink.warn(Error::io(Operation::ReadDir, &*dir, e).to_string());
                stack.pop();
                continue;
            }
            Some(Ok(entry)) => entry,
        };
        let name = entry.file_name();
        let matched = classify(&name);
        if matched.is_none() && entry.file_type().is_ok_and(|ft| !ft.is_dir()) {
            continue;
        }
        let path = entry.path();
        let st = match fs::symlink_metadata(&path) {
            Ok(m) => meta(&m),
            Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
            Err(e) => {
                sink.warn(Error::io(Operation::Inspect, &path, e).to_string());
                continue;
            }
        };
        if st.kind == FileKind::Directory {
            if let Some(class) = matched {
                sink.found(Found {
                    path: path.clone(),
                    class,
                    dir: Ident::default(),
                    dir_changed: None,
                    probe: Probe::Unsafe("a folder, never removed".into()),
                });
            }
            if root.recursive && *depth < MAX_DEPTH {
                let depth = *depth + 1;
                match fs::read_dir(&path) {
                    Ok(rd) => stack.push((rd, path, depth)),
                    Err(e) => sink.warn(Error::io(Operation::ReadDir, &path, e).to_string()),
                }
            }
            continue;
        }
        let Some(class) = matched else {
            continue;
        };
        let probe = match st.problem(None, Place::default()) {
            _ if class == Class::Backup && st.kind == FileKind::Regular => Probe::Backup(st),
            Some(problem) => Probe::Unsafe(problem),
            None => match File::open(&path) {
                Ok(file) => match lock::try_lock(&file, LockMode::Exclusive) {
                    Ok(true) => Probe::Free(
                        st,
                        Locked {
                            file,
                            _walk: PhantomData,
                        },
                    ),
                    Ok(false) => Probe::Held(st),
                    Err(e) => Probe::Unsafe(format!("its lock could not be checked ({e})")),
                },
                Err(e) => Probe::Unsafe(format!("could not be opened to check its lock ({e})")),
            },
        };
        sink.found(Found {
            path,
            class,
            dir: Ident::default(),
            dir_changed: None,
            probe,
        });
    }
}

fn failed(op: Operation, entry: &Entry, e: io::Error) -> Removal {
    Removal::Kept(SkipReason::Failed(
        Error::io(op, &entry.path, e).to_string(),
    ))
}

/// Removes one scanned entry while holding its lock.
pub(super) fn remove(entry: &Entry, check: &RemoveCheck<'_>) -> Removal {
    match fs::symlink_metadata(&entry.path) {
        Ok(m) => {
            if let Some(problem) = meta(&m).problem(check.me, Place::default()) {
                return Removal::Kept(SkipReason::Changed(problem));
            }
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Removal::Kept(SkipReason::Gone),
        Err(e) => return failed(Operation::Inspect, entry, e),
    }
    let file = match File::open(&entry.path) {
        Ok(file) => file,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Removal::Kept(SkipReason::Gone),
        Err(e) => return failed(Operation::Remove, entry, e),
    };
    match lock::try_lock(&file, LockMode::Exclusive) {
        Ok(true) => {}
        Ok(false) => return Removal::Kept(SkipReason::Active),
        Err(e) => return failed(Operation::Lock, entry, e),
    }
    remove_locked(
        Locked {
            file,
            _walk: PhantomData,
        },
        entry,
        check,
    )
}

/// Removes a probe's folder found by a scan (the walk here never reports
/// one; kept for the shared removal path): only an empty one goes.
pub(super) fn remove_folder(entry: &Entry, check: &RemoveCheck<'_>) -> Removal {
    match fs::symlink_metadata(&entry.path) {
        Ok(m) if m.is_dir() => {}
        Ok(_) => return Removal::Kept(SkipReason::Changed("no longer a folder".into())),
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Removal::Kept(SkipReason::Gone),
        Err(e) => return failed(Operation::Inspect, entry, e),
    }
    if check.dry_run {
        return Removal::Removed { size: 0 };
    }
    match fs::remove_dir(&entry.path) {
        Ok(()) => Removal::Removed { size: 0 },
        Err(e) => failed(Operation::Remove, entry, e),
    }
}

/// Removes a scanned entry whose lock is held, after reading its status
/// again under the lock. In a dry run, every check is made and nothing is
/// removed.
pub(super) fn remove_locked(locked: Locked<'_>, entry: &Entry, check: &RemoveCheck<'_>) -> Removal {
    let now = match locked.file.metadata() {
        Ok(m) => meta(&m),
        Err(e) => return failed(Operation::Inspect, entry, e),
    };
    if let Some(problem) = now.problem(check.me, Place::default()) {
        return Removal::Kept(SkipReason::Unsafe(problem));
    }
    if let Some(reason) = check.too_young(&now, entry.kind) {
        return Removal::Kept(reason);
    }
    if let Err(reason) = check.in_use.claim(&locked.file, now.ident) {
        return Removal::Kept(reason);
    }
    if check.dry_run {
        return Removal::Removed { size: now.size };
    }
    check.notify(&entry.path);
    // The standard library opens files with delete sharing, so the file can
    // be removed while this handle (and its lock) is held.
    let removal = match fs::remove_file(&entry.path) {
        Ok(()) => Removal::Removed { size: now.size },
        Err(e) if e.kind() == io::ErrorKind::NotFound => Removal::Kept(SkipReason::Gone),
        Err(e) => failed(Operation::Remove, entry, e),
    };
    drop(locked);
    removal
}
