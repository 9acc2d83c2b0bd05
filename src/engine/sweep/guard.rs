//! One sweeper at a time: an exclusive lock on `sweep.lock` in the data
//! directory, held for the whole sweep (released when the process dies).

use std::fs::File;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use super::log::LOCK_FILE;
use crate::dirs;
use crate::error::{Error, ErrorKind, Operation, Result};
use crate::lock::{self, LockMode, Wait};
use crate::os;

/// Held while a sweep runs.
#[derive(Debug)]
pub(super) struct SweeperLock {
    _file: File,
}

impl SweeperLock {
    /// Takes the sweeper lock, waiting at most `wait` for another sweep.
    pub fn acquire(data_dir: &Path, wait: Duration, cancel: Option<&AtomicBool>) -> Result<Self> {
        let dir = dirs::ensure(data_dir.to_path_buf())?;
        let path = dir.join(LOCK_FILE);
        let lock_err = |e| Error::io(Operation::Lock, &path, e);
        let file = os::open_lock_file(&path).map_err(lock_err)?;
        if lock::lock_with_wait(&file, LockMode::Exclusive, Wait::Timeout(wait), cancel)
            .map_err(lock_err)?
        {
            return Ok(Self { _file: file });
        }
        Err(if cancel.is_some_and(|c| c.load(Ordering::Relaxed)) {
            Error::new(
                ErrorKind::Cancelled,
                Operation::Lock,
                &path,
                "the sweep was cancelled",
            )
        } else {
            Error::new(
                ErrorKind::Busy,
                Operation::Lock,
                &path,
                "another sweep is running; this one backed off without removing anything",
            )
        })
    }
}
