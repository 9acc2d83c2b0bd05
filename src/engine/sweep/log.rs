//! The sweep log (what every sweep removed, as JSON lines) and the sweep
//! state (when the last sweep ran), both in the data directory.
//!
//! * `sweep-log.jsonl`: one line per removed file:
//!   `{"time":"2026-11-22T00:15:00Z","path":"/…","size":123,"kind":"part","trigger":"scheduled"}`.
//!   Past 1 MiB it is moved to `sweep-log.jsonl.1` (replacing the previous
//!   one), so it never grows without bound.
//! * `sweep-state.json`: `{"last_run":"…","trigger":"manual","removed":3,"freed_bytes":123}`,
//!   written with the atomic protocol.

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use super::patterns::Kind;
use super::report::Removed;
use super::request::Trigger;
use crate::atomic::{AtomicFile, CommitOptions, ConflictPolicy};
use crate::dirs;
use crate::error::{Error, ErrorKind, Operation, Result};
use crate::jsonl;
use crate::os::path::PathRepr;

/// The sweep log's file name in the data directory.
pub const LOG_FILE: &str = "sweep-log.jsonl";
/// The sweep state's file name in the data directory.
pub const STATE_FILE: &str = "sweep-state.json";
/// The one-sweeper-at-a-time lock's file name in the data directory.
pub const LOCK_FILE: &str = "sweep.lock";

/// The log is rotated once it is larger than this.
const LOG_ROTATE_BYTES: u64 = 1 << 20;

/// One removed file in the sweep log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogRecord {
    /// When the sweep that removed it finished.
    pub time: SystemTime,
    /// The file's path.
    pub path: PathBuf,
    /// Its size in bytes.
    pub size: u64,
    /// What it was.
    pub kind: Kind,
    /// Manual or scheduled.
    pub trigger: Trigger,
}

/// One line of the log (the path as [`crate::os::path`] writes it).
#[derive(serde::Serialize, serde::Deserialize)]
struct Line {
    time: String,
    path: PathRepr,
    size: u64,
    kind: Kind,
    trigger: Trigger,
}

impl Line {
    fn new(time: &str, path: &Path, size: u64, kind: Kind, trigger: Trigger) -> Self {
        Self {
            time: time.to_string(),
            path: crate::os::path::encode(path),
            size,
            kind,
            trigger,
        }
    }

    fn into_record(self) -> Option<LogRecord> {
        Some(LogRecord {
            time: parse_time(&self.time)?,
            path: crate::os::path::decode(self.path)?,
            size: self.size,
            kind: self.kind,
            trigger: self.trigger,
        })
    }
}

/// A time as RFC 3339 in UTC, to the second.
pub(crate) fn format_time(time: SystemTime) -> String {
    humantime::format_rfc3339_seconds(time).to_string()
}

/// The inverse of [`format_time`].
pub(crate) fn parse_time(text: &str) -> Option<SystemTime> {
    humantime::parse_rfc3339_weak(text).ok()
}

/// Appends `records` to the log in `data_dir` (one write, then fsync); the
/// sweeps themselves use [`append_removed_in`].
#[cfg(test)]
pub(crate) fn append_in(data_dir: &Path, records: &[LogRecord]) -> Result<()> {
    if records.is_empty() {
        return Ok(());
    }
    let lines: Vec<Line> = records
        .iter()
        .map(|r| Line::new(&format_time(r.time), &r.path, r.size, r.kind, r.trigger))
        .collect();
    append_lines(data_dir, &lines)
}

/// Appends the files one sweep removed (finished at `time`) to the log in
/// `data_dir`: one line each, one write, then fsync.
pub(crate) fn append_removed_in(
    data_dir: &Path,
    time: SystemTime,
    trigger: Trigger,
    removed: &[Removed],
) -> Result<()> {
    if removed.is_empty() {
        return Ok(());
    }
    let time = format_time(time);
    let lines: Vec<Line> = removed
        .iter()
        .map(|r| Line::new(&time, &r.path, r.size, r.kind, trigger))
        .collect();
    append_lines(data_dir, &lines)
}

/// Appends `lines` to the log in `data_dir` (rotated first if it is too
/// large) in one write, then fsyncs it.
fn append_lines(data_dir: &Path, lines: &[Line]) -> Result<()> {
    let data_dir = dirs::ensure(data_dir.to_path_buf())?;
    let path = data_dir.join(LOG_FILE);
    let state_err = |e: io::Error| Error::io(Operation::State, &path, e);
    if fs::metadata(&path).is_ok_and(|m| m.len() > LOG_ROTATE_BYTES) {
        fs::rename(&path, data_dir.join(format!("{LOG_FILE}.1"))).map_err(state_err)?;
    }
    let mut file = crate::os::open_private_append(&path).map_err(state_err)?;
    jsonl::append(&mut file, &path, lines, jsonl::Lines::Plain, true)
}

/// The newest `limit` lines of the sweep log in `data_dir`, oldest first.
/// Lines that cannot be read (a torn write after a crash) are skipped.
pub fn read_log_in(data_dir: &Path, limit: usize) -> Result<Vec<LogRecord>> {
    let mut records = Vec::new();
    for name in [format!("{LOG_FILE}.1"), LOG_FILE.to_string()] {
        let path = data_dir.join(name);
        let bytes = match fs::read(&path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
            Err(e) => return Err(Error::io(Operation::ReadState, &path, e)),
        };
        records.extend(
            jsonl::lines::<Line>(&bytes)
                .filter_map(Result::ok)
                .filter_map(Line::into_record),
        );
    }
    let skip = records.len().saturating_sub(limit);
    records.drain(..skip);
    Ok(records)
}

/// When the last real (not dry-run) sweep ran and what it did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SweepState {
    /// When it finished; `None` if no sweep ever ran.
    pub last_run: Option<SystemTime>,
    /// Manual or scheduled.
    pub trigger: Option<Trigger>,
    /// How many files it removed.
    pub removed: u64,
    /// How many bytes it freed.
    pub freed_bytes: u64,
}

#[derive(serde::Serialize, serde::Deserialize, Default)]
#[serde(default)]
struct StateFile {
    last_run: Option<String>,
    trigger: Option<Trigger>,
    removed: u64,
    freed_bytes: u64,
}

/// The sweep state in `data_dir`: when the last sweep ran, who started it
/// and what it removed. A missing or unreadable state reads as "never
/// ran".
pub fn load_state_in(data_dir: &Path) -> Result<SweepState> {
    let path = data_dir.join(STATE_FILE);
    let bytes = match fs::read(&path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(SweepState::default()),
        Err(e) => return Err(Error::io(Operation::State, &path, e)),
    };
    let file: StateFile = serde_json::from_slice(&bytes).unwrap_or_default();
    Ok(SweepState {
        last_run: file.last_run.as_deref().and_then(parse_time),
        trigger: file.trigger,
        removed: file.removed,
        freed_bytes: file.freed_bytes,
    })
}

/// Saves the state atomically in `data_dir`.
pub(crate) fn save_state_in(data_dir: &Path, state: &SweepState) -> Result<()> {
    let data_dir = dirs::ensure(data_dir.to_path_buf())?;
    let path = data_dir.join(STATE_FILE);
    let file = StateFile {
        last_run: state.last_run.map(format_time),
        trigger: state.trigger,
        removed: state.removed,
        freed_bytes: state.freed_bytes,
    };
    let json = serde_json::to_vec_pretty(&file)
        .map_err(|e| Error::new(ErrorKind::Io, Operation::State, &path, e.to_string()))?;
    let mut out = AtomicFile::create(&path)?;
    out.write_all(&json)
        .and_then(|()| out.write_all(b"\n"))
        .map_err(|e| Error::io(Operation::Write, &path, e))?;
    out.commit(&CommitOptions::new(ConflictPolicy::Overwrite))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_and_state_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let time = parse_time("2026-11-22T00:15:00Z").unwrap();
        let record = LogRecord {
            time,
            path: PathBuf::from("/x/.a.0000000000000000.ferry-part"),
            size: 5,
            kind: Kind::Part,
            trigger: Trigger::Scheduled,
        };
        append_in(dir.path(), &[record.clone(), record.clone()]).unwrap();
        fs::OpenOptions::new()
            .append(true)
            .open(dir.path().join(LOG_FILE))
            .unwrap()
            .write_all(b"{\"torn")
            .unwrap();
        append_in(dir.path(), std::slice::from_ref(&record)).unwrap();
        assert_eq!(
            read_log_in(dir.path(), 1).unwrap(),
            std::slice::from_ref(&record)
        );
        assert_eq!(read_log_in(dir.path(), 10).unwrap().len(), 3);
        let removed = Removed {
            path: record.path.clone(),
            size: record.size,
            kind: record.kind,
        };
        append_removed_in(dir.path(), time, Trigger::Scheduled, &[removed]).unwrap();
        let text = fs::read_to_string(dir.path().join(LOG_FILE)).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 5, "{text}");
        assert_eq!(lines[4], lines[3], "both writers write the same line");
        assert_eq!(read_log_in(dir.path(), 10).unwrap().len(), 4);

        assert_eq!(load_state_in(dir.path()).unwrap(), SweepState::default());
        let state = SweepState {
            last_run: Some(time),
            trigger: Some(Trigger::Manual),
            removed: 2,
            freed_bytes: 10,
        };
        save_state_in(dir.path(), &state).unwrap();
        assert_eq!(load_state_in(dir.path()).unwrap(), state);
    }
}
