//! Advisory file locks: one abstraction for every lock Ferry takes.
//!
//! Ferry uses the standard library's `File::lock` family (stable since Rust
//! 1.89; `flock(2)` on Unix, `LockFileEx` on Windows) rather than `fs4`:
//! Ferry already needs Rust 1.95, std gives the same calls on all three
//! platforms, and relying on fs4's extension trait would be fragile because
//! std's inherent `File::lock` shadows fs4's method of the same name.
//! Locks belong to the open file description: they are released when the
//! last handle closes, including when a process dies, which is what lets the
//! sweeper tell a live temp file from an orphan.
//!
//! The [`DestinationLock`] is the sidecar `.<name>.ferry-lock` beside a
//! destination. Its holder unlinks it before unlocking, and every taker
//! checks after the lock is granted that the path still names the inode it
//! locked, so the unlink is safe and nothing litters.
//!
//! ```
//! use ferry_engine::lock::{DestinationLock, LockMode, Wait};
//!
//! let dir = tempfile::tempdir()?;
//! let dest = dir.path().join("notes.txt");
//! {
//!     let _held = DestinationLock::acquire(&dest, LockMode::Exclusive, Wait::Block, None)?;
//!     // A second writer cannot take it now.
//!     let other = DestinationLock::acquire(&dest, LockMode::Exclusive, Wait::Try, None);
//!     assert!(other.is_err());
//! }
//! // Released and unlinked: nothing left beside the destination.
//! assert_eq!(std::fs::read_dir(dir.path())?.count(), 0);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::fs::{self, File, TryLockError};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use super::error::{Error, ErrorKind, Operation, Result};
use super::names;
use super::os::{self, FileId};

/// Exclusive (one writer) or shared (many readers).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LockMode {
    /// One holder at a time.
    Exclusive,
    /// Any number of shared holders, no exclusive one.
    Shared,
}

/// How long to wait for a lock another process holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wait {
    /// Do not wait: fail at once with [`ErrorKind::Busy`].
    Try,
    /// Wait as long as it takes (or until cancelled).
    Block,
    /// Wait at most this long.
    Timeout(Duration),
}

/// Takes `mode` on `file` without waiting. `Ok(false)` means someone else
/// holds a conflicting lock.
pub fn try_lock(file: &File, mode: LockMode) -> io::Result<bool> {
    let result = match mode {
        LockMode::Exclusive => file.try_lock(),
        LockMode::Shared => file.try_lock_shared(),
    };
    match result {
        Ok(()) => Ok(true),
        Err(TryLockError::WouldBlock) => Ok(false),
        Err(TryLockError::Error(e)) => Err(e),
    }
}

/// Takes `mode` on `file`, waiting as `wait` says. Returns `Ok(false)` if
/// the lock was not granted in time or `cancel` was raised while waiting.
///
/// Timed and cancellable waits poll with a growing back-off (1 ms to 50 ms),
/// since no platform offers a lock call with a timeout.
pub fn lock_with_wait(
    file: &File,
    mode: LockMode,
    wait: Wait,
    cancel: Option<&AtomicBool>,
) -> io::Result<bool> {
    if wait == Wait::Block && cancel.is_none() {
        match mode {
            LockMode::Exclusive => file.lock()?,
            LockMode::Shared => file.lock_shared()?,
        }
        return Ok(true);
    }
    let deadline = match wait {
        Wait::Timeout(t) => Some(Instant::now() + t),
        _ => None,
    };
    let mut pause = Duration::from_millis(1);
    loop {
        if try_lock(file, mode)? {
            return Ok(true);
        }
        if wait == Wait::Try || cancel.is_some_and(|c| c.load(Ordering::Relaxed)) {
            return Ok(false);
        }
        if let Some(deadline) = deadline {
            let now = Instant::now();
            if now >= deadline {
                return Ok(false);
            }
            pause = pause.min(deadline - now);
        }
        thread::sleep(pause);
        pause = (pause * 2).min(Duration::from_millis(50));
    }
}

/// The sidecar lock of a destination path, held until dropped.
#[derive(Debug)]
pub struct DestinationLock {
    file: Option<File>,
    path: PathBuf,
    mode: LockMode,
}

impl DestinationLock {
    /// The sidecar path that guards `dest`.
    #[cfg(any(test, feature = "internals"))]
    pub fn sidecar_path(dest: &Path) -> PathBuf {
        Self::sidecar_path_folded(dest, false)
    }

    /// The sidecar path that guards `dest`, named after the lower-cased
    /// name with `fold_case` (a case-insensitive destination, where every
    /// spelling of a name must take the same lock).
    pub fn sidecar_path_folded(dest: &Path, fold_case: bool) -> PathBuf {
        let name = dest.file_name().unwrap_or(dest.as_os_str());
        if fold_case {
            dest.with_file_name(names::lock_name(&names::fold_case(name)))
        } else {
            dest.with_file_name(names::lock_name(name))
        }
    }

    /// Takes the lock that guards `dest`. Fails with [`ErrorKind::Busy`]
    /// when not granted within `wait`, [`ErrorKind::Cancelled`] when
    /// `cancel` is raised while waiting.
    pub fn acquire(
        dest: &Path,
        mode: LockMode,
        wait: Wait,
        cancel: Option<&AtomicBool>,
    ) -> Result<Self> {
        Self::acquire_folded(dest, mode, wait, cancel, false)
    }

    /// [`acquire`](Self::acquire), on a case-insensitive destination with
    /// `fold_case` (see [`sidecar_path_folded`](Self::sidecar_path_folded)).
    pub fn acquire_folded(
        dest: &Path,
        mode: LockMode,
        wait: Wait,
        cancel: Option<&AtomicBool>,
        fold_case: bool,
    ) -> Result<Self> {
        let path = Self::sidecar_path_folded(dest, fold_case);
        let lock_err = |e: io::Error| Error::io(Operation::Lock, &path, e);
        // One deadline for all retries, so a retry does not restart the wait.
        let deadline = match wait {
            Wait::Timeout(t) => Some(Instant::now() + t),
            _ => None,
        };
        // A holder unlinking the sidecar while we open or lock it can make
        // those calls fail with "not found" on some FUSE filesystems: that
        // is a race lost, not an error, so start over (a bounded number of
        // times, so a filesystem that always says so cannot spin us).
        let mut vanished = 0u32;
        let mut gone = |e: &io::Error| {
            vanished += 1;
            e.kind() == io::ErrorKind::NotFound && vanished < 10_000
        };
        loop {
            let file = match os::open_lock_file(&path) {
                Ok(file) => file,
                Err(e) if gone(&e) => continue,
                Err(e) => return Err(lock_err(e)),
            };
            let wait = match deadline {
                Some(d) => Wait::Timeout(d.saturating_duration_since(Instant::now())),
                None => wait,
            };
            let granted = match lock_with_wait(&file, mode, wait, cancel) {
                Ok(granted) => granted,
                Err(e) if gone(&e) => continue,
                Err(e) => return Err(lock_err(e)),
            };
            if !granted {
                return Err(if cancel.is_some_and(|c| c.load(Ordering::Relaxed)) {
                    Error::cancelled(dest)
                } else {
                    Error::new(
                        ErrorKind::Busy,
                        Operation::Lock,
                        dest,
                        "another transfer is writing this destination",
                    )
                });
            }
            // The previous holder may have unlinked the sidecar between our
            // open and our lock: then we hold a lock on a dead inode and
            // must start over on whatever the path names now. (Some FUSE
            // filesystems, fusefat among them, cannot even stat an unlinked
            // file: that too means start over.)
            let locked = match file.metadata() {
                Ok(meta) => FileId::of(&meta),
                Err(e) if gone(&e) => continue,
                Err(e) => return Err(lock_err(e)),
            };
            match fs::symlink_metadata(&path) {
                Ok(meta) if FileId::of(&meta) == locked => {
                    return Ok(Self {
                        file: Some(file),
                        path,
                        mode,
                    });
                }
                Ok(_) => continue,
                Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                Err(e) => return Err(lock_err(e)),
            }
        }
    }

    /// The sidecar file's path.
    #[cfg(any(test, feature = "internals"))]
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Whether this is an exclusive lock.
    #[cfg(any(test, feature = "internals"))]
    pub fn mode(&self) -> LockMode {
        self.mode
    }
}

impl Drop for DestinationLock {
    fn drop(&mut self) {
        let Some(file) = self.file.take() else { return };
        // Only a sole holder may unlink: a shared holder first tries to
        // become exclusive; if another holder remains, it leaves the file
        // to that holder.
        let sole = match self.mode {
            LockMode::Exclusive => true,
            LockMode::Shared => try_lock(&file, LockMode::Exclusive).unwrap_or(false),
        };
        if sole && os::CAN_UNLINK_OPEN_FILES {
            let _ = fs::remove_file(&self.path);
            drop(file);
        } else if sole {
            drop(file);
            let _ = fs::remove_file(&self.path);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shared_holders_coexist_and_exclude_writers() {
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("d");
        let a = DestinationLock::acquire(&dest, LockMode::Shared, Wait::Try, None).unwrap();
        let b = DestinationLock::acquire(&dest, LockMode::Shared, Wait::Try, None).unwrap();
        let w = DestinationLock::acquire(&dest, LockMode::Exclusive, Wait::Try, None);
        assert_eq!(w.unwrap_err().kind(), ErrorKind::Busy);
        drop(a);
        assert!(
            DestinationLock::sidecar_path(&dest).exists(),
            "b still holds it"
        );
        drop(b);
        assert!(!DestinationLock::sidecar_path(&dest).exists());
        DestinationLock::acquire(&dest, LockMode::Exclusive, Wait::Try, None).unwrap();
    }

    #[test]
    fn timed_wait_gives_up_and_cancel_stops_waiting() {
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("d");
        let _held = DestinationLock::acquire(&dest, LockMode::Exclusive, Wait::Block, None);
        let timeout = Wait::Timeout(Duration::from_millis(30));
        let err = DestinationLock::acquire(&dest, LockMode::Exclusive, timeout, None);
        assert_eq!(err.unwrap_err().kind(), ErrorKind::Busy);
        let cancel = AtomicBool::new(true);
        let err = DestinationLock::acquire(&dest, LockMode::Exclusive, Wait::Block, Some(&cancel));
        assert_eq!(err.unwrap_err().kind(), ErrorKind::Cancelled);
    }
}
