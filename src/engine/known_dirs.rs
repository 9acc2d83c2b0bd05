//! The folders the engine has written into, remembered in the data
//! directory (`known-dirs.jsonl`) so that the sweeper looks there for
//! leftovers even when nobody configured them as sweep roots.
//!
//! The file holds one JSON value per line: a path as
//! [`crate::os::path`] writes it (a string, or `{"hex":…}` for a Unix path
//! that is not UTF-8). Writers take
//! an exclusive lock on the file, add only the folders that are not there
//! yet and fsync, so several Ferry processes can remember at once; a torn
//! line after a crash is skipped when reading.
//!
//! ```
//! use ferry_engine::known_dirs;
//!
//! let data = tempfile::tempdir()?;
//! let dest = tempfile::tempdir()?;
//! known_dirs::remember_in(data.path(), [dest.path()])?;
//! known_dirs::remember_in(data.path(), [dest.path()])?; // no duplicate
//! assert_eq!(known_dirs::load_in(data.path())?, [dest.path().canonicalize()?]);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::collections::{BTreeSet, HashSet};
use std::fs::File;
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use super::dirs;
use super::error::{Error, ErrorKind, Operation, Result};
use super::lock::{self, LockMode, Wait};

/// The file's name in the data directory.
pub const FILE_NAME: &str = "known-dirs.jsonl";

/// How long to wait for another process's lock on the file.
const LOCK_WAIT: Duration = Duration::from_secs(5);

/// Folders this process already knows to be in the file (keyed with the
/// data directory), so repeated calls cost no I/O.
static SEEN: Mutex<Option<HashSet<(PathBuf, PathBuf)>>> = Mutex::new(None);

use super::jsonl;
use super::os::path::{PathRepr, decode, encode};

/// Remembers the folders the engine wrote into (call it once per job with
/// the set of destination folders) in `data_dir`. Paths are made absolute
/// and canonical.
pub fn remember_in<'a>(data_dir: &Path, dirs: impl IntoIterator<Item = &'a Path>) -> Result<()> {
    let wanted: BTreeSet<PathBuf> = dirs.into_iter().filter_map(normalise).collect();
    let mut seen = SEEN.lock().unwrap_or_else(PoisonError::into_inner);
    let seen = seen.get_or_insert_with(HashSet::new);
    let key = |p: &PathBuf| (data_dir.to_path_buf(), p.clone());
    if wanted.iter().all(|p| seen.contains(&key(p))) {
        return Ok(());
    }
    let data_dir = dirs::ensure(data_dir.to_path_buf())?;
    let path = data_dir.join(FILE_NAME);
    let state_err = |e: io::Error| Error::io(Operation::State, &path, e);
    let mut file = crate::os::open_private_append(&path).map_err(state_err)?;
    take(&file, LockMode::Exclusive, &path)?;
    let mut bytes = Vec::new();
    file.read_to_end(&mut bytes).map_err(state_err)?;
    let known: HashSet<PathBuf> = parse(&bytes).into_iter().collect();
    let added: Vec<_> = wanted
        .iter()
        .filter(|dir| !known.contains(*dir))
        .map(|dir| encode(dir))
        .collect();
    if !added.is_empty() {
        jsonl::append(&mut file, &path, &added, jsonl::Lines::Plain, true)?;
    }
    for dir in wanted {
        seen.insert((data_dir.clone(), dir));
    }
    Ok(())
}

/// Every folder remembered in `data_dir`, in the order first remembered.
pub fn load_in(data_dir: &Path) -> Result<Vec<PathBuf>> {
    let path = data_dir.join(FILE_NAME);
    let mut file = match File::open(&path) {
        Ok(file) => file,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(Error::io(Operation::Read, &path, e)),
    };
    let read_err = |e: io::Error| Error::io(Operation::Read, &path, e);
    take(&file, LockMode::Shared, &path)?;
    let mut bytes = Vec::new();
    file.read_to_end(&mut bytes).map_err(read_err)?;
    let mut seen = HashSet::new();
    Ok(parse(&bytes)
        .into_iter()
        .filter(|p| seen.insert(p.clone()))
        .collect())
}

/// Locks the file, waiting a little for another Ferry process.
fn take(file: &File, mode: LockMode, path: &Path) -> Result<()> {
    let granted = lock::lock_with_wait(file, mode, Wait::Timeout(LOCK_WAIT), None)
        .map_err(|e| Error::io(Operation::Lock, path, e))?;
    if granted {
        Ok(())
    } else {
        Err(Error::new(
            ErrorKind::Busy,
            Operation::Lock,
            path,
            "another Ferry process has held it for too long",
        ))
    }
}

fn parse(bytes: &[u8]) -> Vec<PathBuf> {
    jsonl::lines::<PathRepr>(bytes)
        .filter_map(Result::ok)
        .filter_map(decode)
        .collect()
}

/// An absolute path for `dir`, canonical when it exists.
fn normalise(dir: &Path) -> Option<PathBuf> {
    let absolute = std::path::absolute(dir).ok()?;
    Some(absolute.canonicalize().unwrap_or(absolute))
}
