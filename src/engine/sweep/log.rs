//! The sweep log (what every sweep removed, as JSON lines) and the sweep
//! state (when the last sweep ran), both in the data directory.
//!
//! * `sweep-log.jsonl`: one line per removed file:
//!   `{"time":"2026-11-22T00:15:00Z","path":"/…","size":123,"kind":"part","trigger":"scheduled"}`,
//!   the time being when the sweep finished. Past 1 MiB it is moved to
//!   `sweep-log.jsonl.1` (replacing the previous one), so it never grows
//!   without bound. A sweep encodes its lines as it removes files, on its
//!   walking threads ([`PendingLines`]), and writes them when it ends, in
//!   a few large writes of whole lines followed by one flush to the disk.
//! * `sweep-state.json`: `{"last_run":"…","trigger":"manual","removed":3,"freed_bytes":123}`,
//!   written with the atomic protocol.

use std::fs;
use std::io::{self, Read, Seek, SeekFrom, Write};
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
    #[cfg(test)]
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

/// A line's fields after its time, in [`Line`]'s order.
#[derive(serde::Serialize)]
struct Tail<'a> {
    #[serde(with = "crate::os::path::serde_path")]
    path: &'a Path,
    size: u64,
    kind: Kind,
    trigger: Trigger,
}

/// The log lines of the files a sweep removed, encoded as it goes (each
/// walking thread encodes the files it removes, beside the removals
/// themselves) but for their time, the sweep's end, which
/// [`append_pending_in`] puts in front of each line.
#[derive(Debug, Default)]
pub(crate) struct PendingLines {
    /// Each line without its opening `{"time":"…",` (so from `"path"` to
    /// its closing brace), then a newline, which JSON text never holds.
    tails: Vec<u8>,
    /// Where each line of `tails` ends.
    ends: Vec<usize>,
}

impl PendingLines {
    /// Adds the line of one removed file.
    pub fn add(&mut self, removed: &Removed, trigger: Trigger) {
        let tail = Tail {
            path: &removed.path,
            size: removed.size,
            kind: removed.kind,
            trigger,
        };
        let start = self.tails.len();
        if serde_json::to_writer(&mut self.tails, &tail).is_err() {
            // Not for these types (no maps, no failing serializer).
            self.tails.truncate(start);
            return;
        }
        // Drops the opening brace: the time's prefix brings its own.
        self.tails.remove(start);
        self.tails.push(b'\n');
        self.ends.push(self.tails.len());
    }

    /// Each line's tail, newline included.
    fn tails(&self) -> impl Iterator<Item = &[u8]> {
        let starts = std::iter::once(0).chain(self.ends.iter().copied());
        starts.zip(&self.ends).map(|(start, &end)| &self.tails[start..end])
    }
}

/// Appends the lines a sweep (finished at `time`) encoded for the files it
/// removed, on each of its threads (`parts`, in that order), to the log in
/// `data_dir`, then flushes it to the disk. The lines are stamped and
/// written a chunk of whole lines at a time: no copy of them all is made.
pub(crate) fn append_pending_in(
    data_dir: &Path,
    time: SystemTime,
    parts: &[PendingLines],
) -> Result<()> {
    /// About this many bytes of lines are written at once.
    const CHUNK: usize = 256 * 1024;
    if parts.iter().all(|part| part.ends.is_empty()) {
        return Ok(());
    }
    let (mut file, path) = open_for_append(data_dir)?;
    let prefix = format!("{{\"time\":\"{}\",", format_time(time));
    let mut chunk = Vec::with_capacity(CHUNK);
    for tail in parts.iter().flat_map(PendingLines::tails) {
        chunk.extend_from_slice(prefix.as_bytes());
        chunk.extend_from_slice(tail);
        if chunk.len() >= CHUNK {
            jsonl::write_lines(&mut file, &path, &chunk, false)?;
            chunk.clear();
        }
    }
    jsonl::write_lines(&mut file, &path, &chunk, true)
}

/// Appends `lines` to the log in `data_dir` in one write, then fsyncs it.
#[cfg(test)]
fn append_lines(data_dir: &Path, lines: &[Line]) -> Result<()> {
    let (mut file, path) = open_for_append(data_dir)?;
    jsonl::append(&mut file, &path, lines, jsonl::Lines::Plain, true)
}

/// The log in `data_dir`, open to append to (rotated first if it is too
/// large), and its path.
fn open_for_append(data_dir: &Path) -> Result<(fs::File, PathBuf)> {
    let data_dir = dirs::ensure(data_dir.to_path_buf())?;
    let path = data_dir.join(LOG_FILE);
    let state_err = |e: io::Error| Error::io(Operation::State, &path, e);
    if fs::metadata(&path).is_ok_and(|m| m.len() > LOG_ROTATE_BYTES) {
        fs::rename(&path, data_dir.join(format!("{LOG_FILE}.1"))).map_err(state_err)?;
    }
    let file = crate::os::open_private_append(&path).map_err(state_err)?;
    Ok((file, path))
}

/// The newest `limit` lines of the sweep log in `data_dir`, oldest first.
/// Lines that cannot be read (a torn write after a crash) are skipped.
/// Only the end of the log is read: a few hundred lines cost the same
/// whether the log holds a hundred or twenty thousand.
pub fn read_log_in(data_dir: &Path, limit: usize) -> Result<Vec<LogRecord>> {
    let mut records = Vec::new();
    // Newest file first; each adds the older lines still wanted.
    for name in [LOG_FILE.to_string(), format!("{LOG_FILE}.1")] {
        let wanted = limit - records.len();
        if wanted == 0 {
            break;
        }
        let path = data_dir.join(name);
        let mut older = match read_tail(&path, wanted) {
            Ok(found) => found,
            Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
            Err(e) => return Err(Error::io(Operation::ReadState, &path, e)),
        };
        older.append(&mut records);
        records = older;
    }
    Ok(records)
}

/// The last `limit` records of the log file at `path` (all of them when
/// it holds fewer), read from its end in windows that grow until they hold
/// enough.
fn read_tail(path: &Path, limit: usize) -> io::Result<Vec<LogRecord>> {
    /// A generous guess of a line's length, for the first window.
    const LINE_GUESS: u64 = 256;
    let mut file = fs::File::open(path)?;
    let len = file.metadata()?.len();
    let mut window = (limit as u64).saturating_mul(LINE_GUESS).max(64 * 1024);
    loop {
        let start = len.saturating_sub(window);
        file.seek(SeekFrom::Start(start))?;
        // Sized at once: one read, not a growing series of small ones.
        let mut bytes = Vec::with_capacity(usize::try_from(len - start).unwrap_or(0) + 1);
        Read::take(&mut file, len - start).read_to_end(&mut bytes)?;
        // A window that starts inside a line drops that line's end.
        let whole_lines = match start {
            0 => &bytes[..],
            _ => match bytes.iter().position(|&b| b == b'\n') {
                Some(newline) => &bytes[newline + 1..],
                None => &[],
            },
        };
        // Newest first, and only as many as wanted are decoded.
        let mut records: Vec<LogRecord> = whole_lines
            .rsplit(|&b| b == b'\n')
            .filter(|line| !line.is_empty())
            .filter_map(jsonl::decode::<Line>)
            .filter_map(Line::into_record)
            .take(limit)
            .collect();
        if records.len() >= limit || start == 0 {
            records.reverse();
            return Ok(records);
        }
        window = window.saturating_mul(4);
    }
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
        let mut pending = PendingLines::default();
        pending.add(&removed, Trigger::Scheduled);
        append_pending_in(dir.path(), time, std::slice::from_ref(&pending)).unwrap();
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

    /// Lines encoded by several threads before the time is known are the
    /// lines the log's own type writes once stamped, in the threads'
    /// order, whatever the paths hold (quotes, newlines, bytes that are
    /// not UTF-8), and as many as fill several chunks of writing.
    #[test]
    fn pending_lines_once_stamped_are_whole_log_lines() {
        let time = parse_time("2026-11-22T00:15:00Z").unwrap();
        let mut paths = vec![
            PathBuf::from("/x/.a.0000000000000000.ferry-part"),
            PathBuf::from("/x/with \"quotes\" and\na newline.crdownload"),
            PathBuf::from("/ü/.b.0000000000000000.ferry-part"),
        ];
        #[cfg(unix)]
        {
            use std::os::unix::ffi::OsStrExt;
            paths.push(PathBuf::from(std::ffi::OsStr::from_bytes(b"/x/\xff\xfe.part")));
        }
        let kinds = [Kind::Part, Kind::Foreign, Kind::Lock, Kind::Part];
        let removed: Vec<Removed> = paths
            .iter()
            .zip(kinds)
            .enumerate()
            .map(|(i, (path, kind))| Removed {
                path: path.clone(),
                size: i as u64 * 1000,
                kind,
            })
            .collect();
        // Enough lines for several chunks, the odd ones first.
        let many: Vec<Removed> = (0..6000)
            .map(|i| Removed {
                path: PathBuf::from(format!("/many/.{i:05}.0000000000000000.ferry-part")),
                size: i,
                kind: Kind::Part,
            })
            .collect();
        let (first, second) = removed.split_at(2);
        let mut parts = [PendingLines::default(), PendingLines::default()];
        first.iter().for_each(|r| parts[0].add(r, Trigger::Manual));
        second.iter().for_each(|r| parts[1].add(r, Trigger::Manual));
        many.iter().for_each(|r| parts[1].add(r, Trigger::Manual));
        let mut expected = Vec::new();
        for r in removed.iter().chain(&many) {
            let line = Line::new(&format_time(time), &r.path, r.size, r.kind, Trigger::Manual);
            jsonl::encode_plain(&mut expected, &line).unwrap();
        }
        let dir = tempfile::tempdir().unwrap();
        append_pending_in(dir.path(), time, &parts).unwrap();
        let written = fs::read(dir.path().join(LOG_FILE)).unwrap();
        assert!(written.len() > 256 * 1024, "{} bytes", written.len());
        assert!(
            written == expected,
            "written:\n{}\nexpected:\n{}",
            String::from_utf8_lossy(&written[..400]),
            String::from_utf8_lossy(&expected[..400])
        );
        let read: Vec<PathBuf> = read_log_in(dir.path(), 6004)
            .unwrap()
            .into_iter()
            .map(|r| r.path)
            .collect();
        assert_eq!(read[..4], paths[..]);
        assert_eq!(read.len(), 6004);
    }

    /// The newest lines come from the end of the log, across the rotated
    /// file, whatever the lines' lengths (paths longer than the first
    /// window's guess make it grow) and past a torn line.
    #[test]
    fn the_newest_lines_are_read_from_the_end_across_rotation() {
        let dir = tempfile::tempdir().unwrap();
        let time = parse_time("2026-11-22T00:15:00Z").unwrap();
        let record = |i: usize| LogRecord {
            time,
            path: PathBuf::from(format!("/{}/{i}.ferry-part", "long".repeat(i % 300))),
            size: i as u64,
            kind: Kind::Part,
            trigger: Trigger::Manual,
        };
        let all: Vec<LogRecord> = (0..3000).map(record).collect();
        append_in(dir.path(), &all[..1000]).unwrap();
        fs::rename(
            dir.path().join(LOG_FILE),
            dir.path().join(format!("{LOG_FILE}.1")),
        )
        .unwrap();
        append_in(dir.path(), &all[1000..2000]).unwrap();
        fs::OpenOptions::new()
            .append(true)
            .open(dir.path().join(LOG_FILE))
            .unwrap()
            .write_all(b"{\"torn\n")
            .unwrap();
        append_in(dir.path(), &all[2000..]).unwrap();
        for limit in [0, 1, 200, 999, 1000, 1500, 2000, 2999, 3000] {
            assert_eq!(
                read_log_in(dir.path(), limit).unwrap(),
                all[3000 - limit..],
                "limit {limit}"
            );
        }
        assert_eq!(read_log_in(dir.path(), 5000).unwrap(), all);
        assert_eq!(read_log_in(dir.path(), usize::MAX).unwrap(), all);
    }
}
