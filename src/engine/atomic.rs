//! The atomic write protocol that every file Ferry writes goes through.
//!
//! 1. [`AtomicFile::create`] makes `.<name>.<random>.ferry-part` in the
//!    destination's directory (`O_EXCL`, mode 0600, 64 random bits from the
//!    OS) and locks it exclusively for its whole life.
//! 2. The caller writes the data and sets mode and times **through the
//!    handle** ([`AtomicFile::set_permissions`], [`AtomicFile::set_times`]).
//! 3. [`AtomicFile::commit`] fsyncs the temp (a failed fsync discards it:
//!    never retry-and-trust), takes the destination lock, applies the
//!    [`ConflictPolicy`], renames (no-clobber where the policy forbids
//!    overwriting) and fsyncs the directory.
//! 4. Dropping an uncommitted `AtomicFile` removes the temp: an error, a
//!    cancel or a panic leaves the destination exactly as it was.
//!
//! Where the filesystem can make files without a name (Linux `O_TMPFILE`
//! on ext4, XFS, btrfs, tmpfs) and the policy never replaces a file,
//! [`AtomicFile::create_unnamed`] makes the temp without any name: it
//! cannot be seen, swept or opened by anyone, the kernel frees it if the
//! process dies, and the commit names it with `linkat`, which never
//! replaces an existing name. Batches of small files use it: the temp's
//! name and the rename cost as much as the copy of a small file itself.
//!
//! ```
//! use ferry_engine::atomic::{AtomicFile, CommitOptions, Committed, ConflictPolicy};
//! use std::io::Write;
//!
//! let dir = tempfile::tempdir()?;
//! let dest = dir.path().join("hello.txt");
//!
//! let mut file = AtomicFile::create(&dest)?;
//! file.write_all(b"hello, world\n")?;
//! assert!(!dest.exists(), "nothing is visible before the commit");
//! let done = file.commit(&CommitOptions::new(ConflictPolicy::Fail))?;
//!
//! assert_eq!(done, Committed::Written { path: dest.clone(), replaced: false });
//! assert_eq!(std::fs::read(&dest)?, b"hello, world\n");
//! assert_eq!(std::fs::read_dir(dir.path())?.count(), 1, "no temp or lock left");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::ffi::{OsStr, OsString};
use std::fs::{self, File, Permissions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::time::SystemTime;

use super::error::{Error, ErrorKind, Operation, Result};
use super::lock::{self, DestinationLock, LockMode, Wait};
use super::names;
use super::os;
use super::os::path::parent_dir;

use super::caps::Traits;
pub use super::job::ConflictPolicy;
use super::job::Decision;

/// Called with the destination just before an existing file is replaced
/// (under the destination lock): the place to keep a backup.
pub type BeforeReplace<'a> = &'a (dyn Fn(&Path) -> Result<()> + Sync);

/// How [`AtomicFile::commit`] puts the file in place.
#[derive(Clone, Copy)]
pub struct CommitOptions<'a> {
    /// The conflict policy.
    pub policy: ConflictPolicy,
    /// The source's modification time, for [`ConflictPolicy::Newer`].
    pub source_modified: Option<SystemTime>,
    /// How long to wait for another writer of the same destination.
    pub wait: Wait,
    /// Raised to stop waiting for the destination lock.
    pub cancel: Option<&'a AtomicBool>,
    /// Runs before an existing destination is replaced.
    pub before_replace: Option<BeforeReplace<'a>>,
    /// Fsync the destination's folder after the rename (the default). A
    /// caller committing a batch turns it off and makes the folders durable
    /// once for the whole batch before reporting any file done.
    pub sync_dir: bool,
    /// Runs before a numbered name (`name (1).ext`, …) is tried under
    /// [`ConflictPolicy::Rename`]: the place to journal the name first, so
    /// recovery knows which names the job may have taken.
    pub before_place: Option<BeforePlace<'a>>,
    /// What the destination's filesystem can do (how to commit without
    /// clobbering, case, time step).
    pub traits: &'a Traits,
}

/// Called with a numbered name before the commit tries it.
pub type BeforePlace<'a> = &'a (dyn Fn(&Path) -> Result<()> + Sync);

impl CommitOptions<'_> {
    /// Options with `policy`, waiting as long as needed for the lock.
    pub fn new(policy: ConflictPolicy) -> Self {
        Self {
            policy,
            source_modified: None,
            wait: Wait::Block,
            cancel: None,
            before_replace: None,
            sync_dir: true,
            before_place: None,
            traits: &super::caps::POSIX_TRAITS,
        }
    }
}

/// The result of a commit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Committed {
    /// The file is in place at `path` (which differs from the requested
    /// destination under [`ConflictPolicy::Rename`]).
    Written {
        /// Where the file now is.
        path: PathBuf,
        /// Whether an existing file was replaced.
        replaced: bool,
    },
    /// The policy kept the existing destination; the temp was removed.
    Skipped,
}

/// A locked temp file that becomes `dest` on [`commit`](Self::commit) and
/// disappears if dropped before.
#[derive(Debug)]
pub struct AtomicFile {
    file: Option<File>,
    temp_path: PathBuf,
    dest: PathBuf,
    synced: bool,
    /// Made without a name: `temp_path` is never created.
    unnamed: bool,
}

/// How many random names to try before giving up on creating a temp.
const CREATE_ATTEMPTS: usize = 64;

impl AtomicFile {
    /// Creates and locks a temp file beside `dest`.
    pub fn create(dest: &Path) -> Result<Self> {
        let name = dest.file_name().ok_or_else(|| {
            Error::new(
                ErrorKind::InvalidInput,
                Operation::Validate,
                dest,
                "the destination has no file name",
            )
        })?;
        let mut last_err = None;
        for _ in 0..CREATE_ATTEMPTS {
            let temp_path = dest.with_file_name(names::temp_name(name, names::random_u64()));
            match os::create_exclusive(&temp_path) {
                Ok(file) => {
                    let guard = Self {
                        file: Some(file),
                        temp_path,
                        dest: dest.to_path_buf(),
                        synced: false,
                        unnamed: false,
                    };
                    // Nobody else can have this brand-new name open except a
                    // sweeper glancing at it, so blocking here is brief.
                    lock::lock_with_wait(guard.handle(), LockMode::Exclusive, Wait::Block, None)
                        .map_err(|e| Error::io(Operation::Lock, &guard.temp_path, e))?;
                    return Ok(guard);
                }
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => last_err = Some(e),
                Err(e) => {
                    return Err(Error::io(Operation::CreateTemp, dest, e));
                }
            }
        }
        Err(Error::io(
            Operation::CreateTemp,
            dest,
            last_err.unwrap_or_else(|| io::Error::from(io::ErrorKind::AlreadyExists)),
        ))
    }

    /// Creates the temp for `dest` without a name, in `dest`'s folder (see
    /// the module's documentation), where `traits` say the filesystem can
    /// and `policy` never replaces an existing file; a named temp
    /// ([`create`](Self::create)) otherwise. [`temp_path`](Self::temp_path)
    /// is then a name that is never created (what a journal records, so
    /// recovery has nothing to find under it).
    pub fn create_unnamed(dest: &Path, traits: &Traits, policy: ConflictPolicy) -> Result<Self> {
        if !traits.unnamed_files || policy.may_replace() {
            return Self::create(dest);
        }
        match os::create_unnamed(parent_dir(dest)) {
            Ok(file) => Ok(Self {
                file: Some(file),
                temp_path: temp_beside(dest),
                dest: dest.to_path_buf(),
                synced: false,
                unnamed: true,
            }),
            Err(e) if e.kind() == io::ErrorKind::Unsupported => Self::create(dest),
            Err(e) => Err(Error::io(Operation::CreateTemp, dest, e)),
        }
    }

    /// Whether the temp has no name (see [`create_unnamed`](Self::create_unnamed)).
    #[cfg(any(test, feature = "internals"))]
    pub fn is_unnamed(&self) -> bool {
        self.unnamed
    }

    /// Takes over the temp `temp_path` that a dead run of the same job left
    /// for `dest` (to continue writing it): opens it, locks it (fails with
    /// [`ErrorKind::Busy`] if a live process holds it) and keeps it locked
    /// for its whole life, like a new one.
    pub fn adopt(temp_path: &Path, dest: &Path) -> Result<Self> {
        let file = fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(temp_path)
            .map_err(|e| Error::io(Operation::CreateTemp, temp_path, e))?;
        if !lock::try_lock(&file, LockMode::Exclusive)
            .map_err(|e| Error::io(Operation::Lock, temp_path, e))?
        {
            return Err(Error::new(
                ErrorKind::Busy,
                Operation::Lock,
                temp_path,
                "another process is writing this temp file",
            ));
        }
        Ok(Self {
            file: Some(file),
            temp_path: temp_path.to_path_buf(),
            dest: dest.to_path_buf(),
            synced: false,
            unnamed: false,
        })
    }

    /// The temp file's path (hidden, in the destination directory).
    pub fn temp_path(&self) -> &Path {
        &self.temp_path
    }

    /// The destination this file will become.
    pub fn dest(&self) -> &Path {
        &self.dest
    }

    /// The open, locked temp file, for reading it back. Write through the
    /// `Write` impl instead, which keeps track of what still needs an fsync.
    pub fn handle(&self) -> &File {
        self.file
            .as_ref()
            .expect("the temp file is open until commit or drop")
    }

    /// Sets the permissions through the handle (never by path).
    #[cfg_attr(not(unix), allow(dead_code))] // used on Unix only
    pub fn set_permissions(&mut self, permissions: Permissions) -> Result<()> {
        self.synced = false;
        self.handle()
            .set_permissions(permissions)
            .map_err(|e| Error::io(Operation::SetMetadata, &self.temp_path, e))
    }

    /// Sets access and modification times through the handle. Call it after
    /// the last write, since writing updates the modification time.
    #[cfg(any(test, feature = "internals"))]
    pub fn set_times(&mut self, times: std::fs::FileTimes) -> Result<()> {
        self.synced = false;
        self.handle()
            .set_times(times)
            .map_err(|e| Error::io(Operation::SetMetadata, &self.temp_path, e))
    }

    /// Records that data was written through [`handle`](Self::handle) (by a
    /// kernel copy), so the next commit fsyncs again.
    pub fn note_written(&mut self) {
        self.synced = false;
    }

    /// Flushes the temp to stable storage. [`commit`](Self::commit) does
    /// this itself; call it earlier only to read the data back first. If it
    /// fails the data cannot be trusted: drop the file.
    pub fn sync(&mut self) -> Result<()> {
        if !self.synced {
            os::sync_file(self.handle())
                .map_err(|e| Error::io(Operation::Sync, &self.temp_path, e))?;
            self.synced = true;
        }
        Ok(())
    }

    /// Makes the temp the destination: fsync, destination lock, conflict
    /// policy, rename, directory fsync. On error the temp is removed and the
    /// destination is as it was (except when only the final directory fsync
    /// fails: the file is then in place but its durability is not assured).
    pub fn commit(mut self, options: &CommitOptions<'_>) -> Result<Committed> {
        self.sync()?;
        let outcome = if self.unnamed {
            let file = self.handle();
            let link = |to: &Path| {
                os::link_unnamed(file, to)
                    .map_err(|e| Error::io(Operation::Rename, &self.dest, e).with_path(to))
            };
            let replace = |to: &Path| {
                Err(Error::new(
                    ErrorKind::Unsupported,
                    Operation::Rename,
                    to,
                    "a file without a name cannot replace another",
                ))
            };
            place_with(&self.dest, options, &link, &replace)?
        } else {
            let _dest_lock = destination_lock(&self.dest, options)?;
            place(&self.temp_path, &self.dest, options)?
        };
        if let Committed::Written { path, .. } = &outcome {
            // From here on the temp no longer exists under its own name.
            self.file = None;
            if options.sync_dir {
                let dir = parent_dir(path);
                os::sync_dir(dir).map_err(|e| Error::io(Operation::Sync, dir, e))?;
            }
        }
        Ok(outcome)
    }

    /// Declares the temp durable because the caller flushed it another way
    /// (a batch flush of the whole filesystem, see
    /// [`os::sync_batch`]), so [`commit`](Self::commit) skips its own
    /// fsync. Calling it without such a flush breaks the protocol.
    pub fn assume_synced(&mut self) {
        self.synced = true;
    }
}

/// Takes the destination lock when the policy may replace an existing file
/// (`overwrite`, `newer`): deciding and replacing must then happen under
/// it. The other policies end in a no-clobber rename, which the kernel
/// decides atomically, so they need no lock (and leave no lock file to
/// create and remove per file).
fn destination_lock(dest: &Path, options: &CommitOptions<'_>) -> Result<Option<DestinationLock>> {
    if !options.policy.may_replace() {
        return Ok(None);
    }
    take_lock(dest, options).map(Some)
}

fn take_lock(dest: &Path, options: &CommitOptions<'_>) -> Result<DestinationLock> {
    DestinationLock::acquire_folded(
        dest,
        LockMode::Exclusive,
        options.wait,
        options.cancel,
        options.traits.fold_case,
    )
}

/// Applies `options.policy` and renames `temp` to `dest` (or a numbered
/// name). The caller holds the destination lock where the policy needs it.
fn place(temp: &Path, dest: &Path, options: &CommitOptions<'_>) -> Result<Committed> {
    place_with(
        dest,
        options,
        &|to| rename_noclobber(temp, to, options),
        &|to| rename(temp, to, true),
    )
}

/// Applies `options.policy` to put a file at `dest` (or a numbered name)
/// with `no_clobber` (fails with [`ErrorKind::AlreadyExists`] where a name
/// is taken) or `replace`.
fn place_with(
    dest: &Path,
    options: &CommitOptions<'_>,
    no_clobber: &dyn Fn(&Path) -> Result<()>,
    replace: &dyn Fn(&Path) -> Result<()>,
) -> Result<Committed> {
    let written = |path: &Path, replaced| Committed::Written {
        path: path.to_path_buf(),
        replaced,
    };
    match options.policy {
        ConflictPolicy::Overwrite => {
            let replaced = prepare_replace(dest, options)?;
            replace(dest)?;
            Ok(written(dest, replaced))
        }
        // Asking happens above this layer (the job asks a person and commits
        // again with the answer); here it never replaces.
        ConflictPolicy::Fail | ConflictPolicy::Ask => match no_clobber(dest) {
            Err(e) if e.kind() == ErrorKind::AlreadyExists => Err(
                e.with_detail("the destination already exists and the conflict policy is 'fail'")
            ),
            other => other.map(|()| written(dest, false)),
        },
        ConflictPolicy::Skip => place_unless_exists(dest, no_clobber),
        ConflictPolicy::Newer => {
            let dest_modified = match fs::symlink_metadata(dest) {
                Ok(meta) => Some(meta.modified().ok()),
                Err(e) if e.kind() == io::ErrorKind::NotFound => None,
                Err(e) => return Err(Error::io(Operation::Inspect, dest, e)),
            };
            let decision = options.policy.decide(
                options.source_modified,
                dest_modified,
                options.traits.time_step,
            );
            match dest_modified {
                None => place_unless_exists(dest, no_clobber),
                Some(_) if decision == Decision::Replace => {
                    let replaced = prepare_replace(dest, options)?;
                    replace(dest)?;
                    Ok(written(dest, replaced))
                }
                Some(_) => Ok(Committed::Skipped),
            }
        }
        ConflictPolicy::Rename => {
            for n in 0u32..=100_000 {
                let candidate = if n == 0 {
                    dest.to_path_buf()
                } else {
                    numbered_path(dest, n)
                };
                if n > 0
                    && let Some(hook) = options.before_place
                {
                    hook(&candidate)?;
                }
                match no_clobber(&candidate) {
                    Ok(()) => return Ok(written(&candidate, false)),
                    Err(e) if e.kind() == ErrorKind::AlreadyExists => {}
                    Err(e) => return Err(e),
                }
            }
            Err(Error::new(
                ErrorKind::AlreadyExists,
                Operation::Rename,
                dest,
                "no free numbered name was found",
            ))
        }
    }
}

/// Before an overwrite: runs the `before_replace` hook if `dest` exists.
/// Returns whether it exists.
fn prepare_replace(dest: &Path, options: &CommitOptions<'_>) -> Result<bool> {
    let exists = fs::symlink_metadata(dest).is_ok();
    if let (true, Some(hook)) = (exists, options.before_replace) {
        hook(dest)?;
    }
    Ok(exists)
}

/// Places under [`ConflictPolicy::Skip`] semantics.
fn place_unless_exists(dest: &Path, no_clobber: &dyn Fn(&Path) -> Result<()>) -> Result<Committed> {
    match no_clobber(dest) {
        Ok(()) => Ok(Committed::Written {
            path: dest.to_path_buf(),
            replaced: false,
        }),
        Err(e) if e.kind() == ErrorKind::AlreadyExists => Ok(Committed::Skipped),
        Err(e) => Err(e),
    }
}

fn rename(from: &Path, to: &Path, overwrite: bool) -> Result<()> {
    let result = if overwrite {
        fs::rename(from, to)
    } else {
        os::rename_noreplace(from, to)
    };
    result.map_err(|e| Error::io(Operation::Rename, from, e).with_path(to))
}

/// Renames `from` to `to` unless `to` exists ([`ErrorKind::AlreadyExists`]):
/// by the kernel where the filesystem can (`RENAME_NOREPLACE`, or a hard
/// link), else under `to`'s destination lock: take it, check the name is
/// free, rename. The locked way holds against every other Ferry writer
/// (they take the same lock); a program that does not take it could still
/// create `to` between the check and the rename.
fn rename_noclobber(from: &Path, to: &Path, options: &CommitOptions<'_>) -> Result<()> {
    if !options.traits.locked_no_clobber {
        match rename(from, to, false) {
            Err(e) if e.kind() == ErrorKind::Unsupported => {}
            other => return other,
        }
    }
    // The caller holds the lock already where the policy may replace.
    let _lock = if options.policy.may_replace() {
        None
    } else {
        Some(take_lock(to, options)?)
    };
    match fs::symlink_metadata(to) {
        Ok(_) => Err(Error::io(
            Operation::Rename,
            from,
            io::Error::from(io::ErrorKind::AlreadyExists),
        )
        .with_path(to)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => rename(from, to, true),
        Err(e) => Err(Error::io(Operation::Inspect, to, e)),
    }
}

/// Puts `item` at `dest` under the destination lock and the conflict policy,
/// then fsyncs the directory: the commit step of the protocol, for anything
/// that can be renamed (a temp symlink, or a source being moved within one
/// filesystem). `item` is left in place when the policy skips.
pub fn commit_path(item: &Path, dest: &Path, options: &CommitOptions<'_>) -> Result<Committed> {
    let _dest_lock = destination_lock(dest, options)?;
    let outcome = place(item, dest, options)?;
    if let Committed::Written { path, .. } = &outcome
        && options.sync_dir
    {
        let dir = parent_dir(path);
        os::sync_dir(dir).map_err(|e| Error::io(Operation::Sync, dir, e))?;
    }
    Ok(outcome)
}

/// Creates a symbolic link to `target` at `dest` atomically (a temp link
/// renamed into place under the conflict policy).
#[cfg(any(test, feature = "internals"))]
pub fn create_symlink(
    target: &Path,
    dest: &Path,
    options: &CommitOptions<'_>,
) -> Result<Committed> {
    create_symlink_with(target, dest, options, &|_| Ok(()))
}

/// [`create_symlink`], with `prepare` called on the temp link before it is
/// committed (to set its owner and times, and journal it).
pub fn create_symlink_with(
    target: &Path,
    dest: &Path,
    options: &CommitOptions<'_>,
    prepare: &dyn Fn(&Path) -> Result<()>,
) -> Result<Committed> {
    let temp = temp_symlink(target, dest)?;
    commit_temp_name(&temp, dest, options, prepare)
}

/// Makes a temp symbolic link to `target` beside `dest` and returns its
/// path: the first step of [`create_symlink_with`], for a caller that
/// journals many before committing each with [`commit_path`].
pub fn temp_symlink(target: &Path, dest: &Path) -> Result<PathBuf> {
    let temp = temp_beside(dest);
    os::symlink(target, &temp).map_err(|e| Error::io(Operation::CreateTemp, dest, e))?;
    Ok(temp)
}

/// Gives the existing file `existing` a further name `dest` atomically (a
/// temp hard link renamed into place under the conflict policy), with
/// `prepare` called on the temp name before the commit.
pub fn create_hard_link_with(
    existing: &Path,
    dest: &Path,
    options: &CommitOptions<'_>,
    prepare: &dyn Fn(&Path) -> Result<()>,
) -> Result<Committed> {
    let temp = temp_beside(dest);
    fs::hard_link(existing, &temp)
        .map_err(|e| Error::io(Operation::CreateTemp, dest, e).with_path(existing))?;
    commit_temp_name(&temp, dest, options, prepare)
}

/// A fresh temp name beside `dest`.
fn temp_beside(dest: &Path) -> PathBuf {
    let name = dest.file_name().unwrap_or(dest.as_os_str());
    dest.with_file_name(names::temp_name(name, names::random_u64()))
}

/// Prepares and commits a temp name, removing it unless it was put in place.
fn commit_temp_name(
    temp: &Path,
    dest: &Path,
    options: &CommitOptions<'_>,
    prepare: &dyn Fn(&Path) -> Result<()>,
) -> Result<Committed> {
    let result = prepare(temp).and_then(|()| commit_path(temp, dest, options));
    if !matches!(result, Ok(Committed::Written { .. })) {
        let _ = fs::remove_file(temp);
    }
    result
}

impl Write for AtomicFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.synced = false;
        let mut file = self.handle();
        file.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Drop for AtomicFile {
    fn drop(&mut self) {
        let Some(file) = self.file.take() else { return };
        if self.unnamed {
            return; // closing it frees it
        }
        // Unlink while still holding the lock, so no sweeper can mistake
        // the file for an orphan in between (where the OS allows it).
        if os::CAN_UNLINK_OPEN_FILES {
            let _ = fs::remove_file(&self.temp_path);
            drop(file);
        } else {
            drop(file);
            let _ = fs::remove_file(&self.temp_path);
        }
    }
}

/// `dir/name (n).ext` for `dir/name.ext` (the extension is the part after
/// the last dot, not counting a leading dot).
///
/// ```
/// # use std::path::Path;
/// use ferry_engine::atomic::numbered_path;
/// assert_eq!(numbered_path(Path::new("/d/a.tar.gz"), 2), Path::new("/d/a.tar (2).gz"));
/// assert_eq!(numbered_path(Path::new("/d/.bashrc"), 1), Path::new("/d/.bashrc (1)"));
/// ```
pub fn numbered_path(dest: &Path, n: u32) -> PathBuf {
    let name = dest.file_name().unwrap_or(OsStr::new(""));
    let bytes = name.as_encoded_bytes();
    let split = bytes
        .iter()
        .rposition(|&b| b == b'.')
        .filter(|&i| i > 0)
        .unwrap_or(bytes.len());
    // SAFETY: splitting at an ASCII '.' (or the end) keeps both halves valid.
    let (stem, ext) = unsafe {
        (
            OsStr::from_encoded_bytes_unchecked(&bytes[..split]),
            OsStr::from_encoded_bytes_unchecked(&bytes[split..]),
        )
    };
    let mut numbered = OsString::from(stem);
    numbered.push(format!(" ({n})"));
    numbered.push(ext);
    dest.with_file_name(numbered)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write_new(dest: &Path, data: &[u8], policy: ConflictPolicy) -> Result<Committed> {
        let mut f = AtomicFile::create(dest)?;
        f.write_all(data).unwrap();
        f.commit(&CommitOptions::new(policy))
    }

    #[test]
    fn policies_behave() {
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("a.txt");
        write_new(&dest, b"one", ConflictPolicy::Fail).unwrap();
        let err = write_new(&dest, b"two", ConflictPolicy::Fail).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::AlreadyExists);
        assert_eq!(
            write_new(&dest, b"two", ConflictPolicy::Skip).unwrap(),
            Committed::Skipped
        );
        assert_eq!(fs::read(&dest).unwrap(), b"one");
        let renamed = write_new(&dest, b"three", ConflictPolicy::Rename).unwrap();
        let expected = dir.path().join("a (1).txt");
        assert_eq!(
            renamed,
            Committed::Written {
                path: expected.clone(),
                replaced: false
            }
        );
        assert_eq!(fs::read(&expected).unwrap(), b"three");
        write_new(&dest, b"four", ConflictPolicy::Overwrite).unwrap();
        assert_eq!(fs::read(&dest).unwrap(), b"four");
        // Newer without a known source time never replaces.
        assert_eq!(
            write_new(&dest, b"five", ConflictPolicy::Newer).unwrap(),
            Committed::Skipped
        );
        let names: Vec<_> = fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(names.len(), 2, "only a.txt and a (1).txt remain");
    }

    /// Files without a name, where the filesystem of the test's temp
    /// folder has them (ext4, tmpfs, XFS, btrfs): nothing visible before
    /// the commit, the no-clobber policies decided by the link, nothing
    /// left by a drop.
    #[test]
    fn unnamed_temps_commit_without_clobbering_and_leave_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let traits = crate::caps::probe(dir.path()).unwrap().traits();
        if !traits.unnamed_files {
            eprintln!("skipped: the temp folder's filesystem has no O_TMPFILE");
            return;
        }
        let unnamed = |dest: &Path, data: &[u8], policy| {
            let mut f = AtomicFile::create_unnamed(dest, &traits, policy).unwrap();
            assert!(f.is_unnamed());
            f.write_all(data).unwrap();
            assert_eq!(
                fs::read_dir(dir.path()).unwrap().count(),
                usize::from(dest.exists())
            );
            f.commit(&CommitOptions::new(policy))
        };
        let dest = dir.path().join("a.txt");
        unnamed(&dest, b"one", ConflictPolicy::Fail).unwrap();
        assert_eq!(fs::read(&dest).unwrap(), b"one");
        let err = unnamed(&dest, b"two", ConflictPolicy::Fail).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::AlreadyExists);
        assert_eq!(
            unnamed(&dest, b"two", ConflictPolicy::Skip).unwrap(),
            Committed::Skipped
        );
        let renamed = unnamed(&dest, b"three", ConflictPolicy::Rename).unwrap();
        let numbered = dir.path().join("a (1).txt");
        assert_eq!(
            renamed,
            Committed::Written {
                path: numbered.clone(),
                replaced: false
            }
        );
        assert_eq!(fs::read(&dest).unwrap(), b"one", "never replaced");
        assert_eq!(fs::read(&numbered).unwrap(), b"three");

        // Policies that may replace get a named temp.
        let named = AtomicFile::create_unnamed(&dest, &traits, ConflictPolicy::Overwrite).unwrap();
        assert!(!named.is_unnamed() && named.temp_path().exists());
        drop(named);
        let mut dropped =
            AtomicFile::create_unnamed(&dir.path().join("b"), &traits, ConflictPolicy::Fail)
                .unwrap();
        dropped.write_all(b"partial").unwrap();
        drop(dropped);
        let mut names: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        names.sort();
        assert_eq!(names, ["a (1).txt", "a.txt"]);
    }

    #[test]
    fn dropping_removes_the_temp() {
        let dir = tempfile::tempdir().unwrap();
        let mut f = AtomicFile::create(&dir.path().join("x")).unwrap();
        f.write_all(b"partial").unwrap();
        assert!(f.temp_path().exists());
        drop(f);
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 0);
    }
}
