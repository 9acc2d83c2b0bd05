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
//! ```
//! use ferry::engine::atomic::{AtomicFile, CommitOptions, Committed, ConflictPolicy};
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
use std::fs::{self, File, FileTimes, Permissions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::time::SystemTime;

use super::error::{Error, ErrorKind, Operation, Result};
use super::lock::{self, DestinationLock, LockMode, Wait};
use super::names;
use super::platform;

/// What to do when the destination already exists.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Default, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum ConflictPolicy {
    /// Replace it atomically.
    Overwrite,
    /// Leave it and drop the new copy.
    Skip,
    /// Write beside it as `name (1).ext`, `name (2).ext`, …
    Rename,
    /// Replace it only if the source was modified later.
    Newer,
    /// Refuse with [`ErrorKind::AlreadyExists`]; never overwrite.
    #[default]
    Fail,
}

impl ConflictPolicy {
    /// All policies, in the order the CLI and UI list them.
    pub const ALL: [Self; 5] = [
        Self::Fail,
        Self::Overwrite,
        Self::Skip,
        Self::Rename,
        Self::Newer,
    ];

    /// The policy's name on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Overwrite => "overwrite",
            Self::Skip => "skip",
            Self::Rename => "rename",
            Self::Newer => "newer",
            Self::Fail => "fail",
        }
    }
}

/// How [`AtomicFile::commit`] puts the file in place.
#[derive(Debug, Clone, Copy)]
pub struct CommitOptions<'a> {
    /// The conflict policy.
    pub policy: ConflictPolicy,
    /// The source's modification time, for [`ConflictPolicy::Newer`].
    pub source_modified: Option<SystemTime>,
    /// How long to wait for another writer of the same destination.
    pub wait: Wait,
    /// Raised to stop waiting for the destination lock.
    pub cancel: Option<&'a AtomicBool>,
}

impl CommitOptions<'_> {
    /// Options with `policy`, waiting as long as needed for the lock.
    pub fn new(policy: ConflictPolicy) -> Self {
        Self {
            policy,
            source_modified: None,
            wait: Wait::Block,
            cancel: None,
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
            match platform::create_exclusive(&temp_path) {
                Ok(file) => {
                    let guard = Self {
                        file: Some(file),
                        temp_path,
                        dest: dest.to_path_buf(),
                        synced: false,
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

    /// The temp file's path (hidden, in the destination directory).
    pub fn temp_path(&self) -> &Path {
        &self.temp_path
    }

    /// The destination this file will become.
    pub fn dest(&self) -> &Path {
        &self.dest
    }

    /// The open, locked temp file.
    pub fn handle(&self) -> &File {
        self.file
            .as_ref()
            .expect("the temp file is open until commit or drop")
    }

    /// Sets the permissions through the handle (never by path).
    pub fn set_permissions(&self, permissions: Permissions) -> Result<()> {
        self.handle()
            .set_permissions(permissions)
            .map_err(|e| Error::io(Operation::SetMetadata, &self.temp_path, e))
    }

    /// Sets access and modification times through the handle. Call it after
    /// the last write, since writing updates the modification time.
    pub fn set_times(&self, times: FileTimes) -> Result<()> {
        self.handle()
            .set_times(times)
            .map_err(|e| Error::io(Operation::SetMetadata, &self.temp_path, e))
    }

    /// Flushes the temp to stable storage. [`commit`](Self::commit) does
    /// this itself; call it earlier only to read the data back first. If it
    /// fails the data cannot be trusted: drop the file.
    pub fn sync(&mut self) -> Result<()> {
        if !self.synced {
            platform::sync_file(self.handle())
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
        let _dest_lock = DestinationLock::acquire(
            &self.dest,
            LockMode::Exclusive,
            options.wait,
            options.cancel,
        )?;
        let outcome = self.place(options)?;
        if let Committed::Written { path, .. } = &outcome {
            // From here on the temp no longer exists under its own name.
            self.file = None;
            let dir = path.parent().unwrap_or(Path::new("."));
            platform::sync_dir(dir).map_err(|e| Error::io(Operation::Sync, dir, e))?;
        }
        Ok(outcome)
    }

    /// Applies the policy under the destination lock and renames.
    fn place(&mut self, options: &CommitOptions<'_>) -> Result<Committed> {
        let dest = self.dest.clone();
        match options.policy {
            ConflictPolicy::Overwrite => {
                let replaced = fs::symlink_metadata(&dest).is_ok();
                self.rename_to(&dest, true)?;
                Ok(Committed::Written {
                    path: dest,
                    replaced,
                })
            }
            ConflictPolicy::Fail => match self.rename_to(&dest, false) {
                Err(e) if e.kind() == ErrorKind::AlreadyExists => Err(e.with_detail(
                    "the destination already exists and the conflict policy is 'fail'",
                )),
                other => other.map(|()| Committed::Written {
                    path: dest,
                    replaced: false,
                }),
            },
            ConflictPolicy::Skip => self.rename_unless_exists(&dest),
            ConflictPolicy::Newer => {
                let dest_modified = match fs::symlink_metadata(&dest) {
                    Ok(meta) => Some(meta.modified().ok()),
                    Err(e) if e.kind() == io::ErrorKind::NotFound => None,
                    Err(e) => return Err(Error::io(Operation::Inspect, &dest, e)),
                };
                match dest_modified {
                    None => self.rename_unless_exists(&dest),
                    Some(existing) if is_newer(options.source_modified, existing) => {
                        self.rename_to(&dest, true)?;
                        Ok(Committed::Written {
                            path: dest,
                            replaced: true,
                        })
                    }
                    Some(_) => Ok(Committed::Skipped),
                }
            }
            ConflictPolicy::Rename => {
                for n in 0u32.. {
                    let candidate = if n == 0 {
                        dest.clone()
                    } else {
                        numbered_path(&dest, n)
                    };
                    match self.rename_to(&candidate, false) {
                        Ok(()) => {
                            return Ok(Committed::Written {
                                path: candidate,
                                replaced: false,
                            });
                        }
                        Err(e) if e.kind() == ErrorKind::AlreadyExists && n < 100_000 => {}
                        Err(e) => return Err(e),
                    }
                }
                unreachable!("the loop returns")
            }
        }
    }

    /// Renames under [`ConflictPolicy::Skip`] semantics.
    fn rename_unless_exists(&mut self, dest: &Path) -> Result<Committed> {
        match self.rename_to(dest, false) {
            Ok(()) => Ok(Committed::Written {
                path: dest.to_path_buf(),
                replaced: false,
            }),
            Err(e) if e.kind() == ErrorKind::AlreadyExists => Ok(Committed::Skipped),
            Err(e) => Err(e),
        }
    }

    fn rename_to(&self, to: &Path, overwrite: bool) -> Result<()> {
        let result = if overwrite {
            fs::rename(&self.temp_path, to)
        } else {
            platform::rename_noreplace(&self.temp_path, to)
        };
        result.map_err(|e| Error::io(Operation::Rename, &self.temp_path, e).with_path(to))
    }
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
        // Unlink while still holding the lock, so no sweeper can mistake
        // the file for an orphan in between (where the OS allows it).
        if platform::CAN_UNLINK_OPEN_FILES {
            let _ = fs::remove_file(&self.temp_path);
            drop(file);
        } else {
            drop(file);
            let _ = fs::remove_file(&self.temp_path);
        }
    }
}

/// Whether a source modified at `source` should replace a destination
/// modified at `dest` under [`ConflictPolicy::Newer`]. Unknown times never
/// replace.
fn is_newer(source: Option<SystemTime>, dest: Option<SystemTime>) -> bool {
    matches!((source, dest), (Some(s), Some(d)) if s > d)
}

/// `dir/name (n).ext` for `dir/name.ext` (the extension is the part after
/// the last dot, not counting a leading dot).
///
/// ```
/// # use std::path::Path;
/// use ferry::engine::atomic::numbered_path;
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
