//! The folders the engine has written into, remembered in the data
//! directory (`known-dirs.jsonl`) so that the sweeper looks there for
//! leftovers even when nobody configured them as sweep roots.
//!
//! The file holds one JSON value per line: a string for a UTF-8 path, or
//! `{"raw":"<hex bytes>"}` for a Unix path that is not UTF-8. Writers take
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
use std::fs::{File, OpenOptions};
use std::io::{self, Read, Write};
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

#[derive(serde::Serialize, serde::Deserialize)]
#[serde(untagged)]
enum Stored {
    Text(String),
    Raw { raw: String },
}

fn encode(path: &Path) -> Stored {
    match path.to_str() {
        Some(text) => Stored::Text(text.to_owned()),
        None => Stored::Raw {
            raw: path
                .as_os_str()
                .as_encoded_bytes()
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect(),
        },
    }
}

fn decode(stored: Stored) -> Option<PathBuf> {
    match stored {
        Stored::Text(text) => Some(PathBuf::from(text)),
        #[cfg(unix)]
        Stored::Raw { raw } => {
            use std::os::unix::ffi::OsStrExt;
            let bytes = (0..raw.len())
                .step_by(2)
                .map(|i| u8::from_str_radix(raw.get(i..i + 2)?, 16).ok())
                .collect::<Option<Vec<u8>>>()?;
            Some(PathBuf::from(std::ffi::OsStr::from_bytes(&bytes)))
        }
        #[cfg(not(unix))]
        Stored::Raw { .. } => None,
    }
}

/// Remembers the folders the engine wrote into (call it once per job with
/// the set of destination folders). Paths are made absolute and canonical.
pub fn remember<'a>(dirs: impl IntoIterator<Item = &'a Path>) -> Result<()> {
    remember_in(&dirs::data_dir()?, dirs)
}

/// [`remember`] with an explicit data directory.
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
    let mut options = OpenOptions::new();
    options.read(true).append(true).create(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(&path).map_err(state_err)?;
    take(&file, LockMode::Exclusive, &path)?;
    let mut bytes = Vec::new();
    file.read_to_end(&mut bytes).map_err(state_err)?;
    let text = String::from_utf8_lossy(&bytes);
    let known: HashSet<PathBuf> = parse(&text).into_iter().collect();
    let mut out = String::new();
    if !text.is_empty() && !text.ends_with('\n') {
        out.push('\n');
    }
    let mut added = false;
    for dir in &wanted {
        if !known.contains(dir) {
            let line =
                serde_json::to_string(&encode(dir)).map_err(|e| state_err(io::Error::other(e)))?;
            out.push_str(&line);
            out.push('\n');
            added = true;
        }
    }
    if added {
        file.write_all(out.as_bytes()).map_err(state_err)?;
        file.sync_data().map_err(state_err)?;
    }
    for dir in wanted {
        seen.insert((data_dir.clone(), dir));
    }
    Ok(())
}

/// Every remembered folder, in the order first remembered.
pub fn load() -> Result<Vec<PathBuf>> {
    load_in(&dirs::data_dir()?)
}

/// [`load`] with an explicit data directory.
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
    let text = String::from_utf8_lossy(&bytes);
    let mut seen = HashSet::new();
    Ok(parse(&text)
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

fn parse(text: &str) -> Vec<PathBuf> {
    text.lines()
        .filter_map(|line| serde_json::from_str::<Stored>(line).ok())
        .filter_map(decode)
        .collect()
}

/// An absolute path for `dir`, canonical when it exists.
fn normalise(dir: &Path) -> Option<PathBuf> {
    let absolute = std::path::absolute(dir).ok()?;
    Some(absolute.canonicalize().unwrap_or(absolute))
}
