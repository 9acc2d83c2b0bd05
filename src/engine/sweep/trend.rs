//! Leftovers over time: one sample per scan the engine runs (how many
//! leftover files there were, and how large, by kind), kept in the data
//! directory so a client can draw whether leftovers pile up, across
//! restarts.
//!
//! * `sweep-trend.jsonl`: one line per sample,
//!   `{"time":"2026-11-22T00:15:00Z","ferry":{"files":3,"bytes":5120},"foreign":{…},"backups":{…},"removable":{…}}`,
//!   appended (one write, then fsync). Only the newest [`TREND_SAMPLES`]
//!   are kept: once the file holds twice that many lines it is rewritten
//!   with the newest ones, with the atomic protocol.
//! * A scan whose counts equal the previous sample's, less than
//!   [`TREND_SPACING`] after it, adds nothing (a window left open rescans
//!   every half minute; the history keeps its length for changes).
//! * Lines that cannot be read (a torn write after a crash) are skipped.
//!
//! ```
//! use ferry_engine::sweep::{self, SweepRequest, Trend};
//! use std::time::Duration;
//!
//! let dir = tempfile::tempdir()?;
//! let data = tempfile::tempdir()?;
//! std::fs::write(dir.path().join(".a.txt.00112233aabbccdd.ferry-part"), b"12345")?;
//!
//! let mut trend = Trend::load_in(data.path());
//! let mut report = sweep::scan(&SweepRequest::new([dir.path()], Duration::ZERO));
//! trend.record(&mut report);
//! assert_eq!(report.trend.len(), 1);
//! assert_eq!(report.trend[0].ferry.bytes, 5);
//! // A new process reads the same history back.
//! assert_eq!(Trend::load_in(data.path()).samples(), report.trend);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::collections::VecDeque;
use std::fs::{self, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use super::log::{format_time, parse_time};
use super::patterns::Kind;
use super::report::ScanReport;
use crate::atomic::{AtomicFile, CommitOptions, ConflictPolicy};
use crate::dirs;
use crate::error::{Error, Operation, Result};

/// The trend's file name in the data directory.
pub const TREND_FILE: &str = "sweep-trend.jsonl";
/// How many samples are kept (and published).
pub const TREND_SAMPLES: usize = 1000;
/// A scan that finds the same counts as the previous sample adds a sample
/// only once this long has passed since it.
pub const TREND_SPACING: Duration = Duration::from_secs(15 * 60);

/// A count of files and their size.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Default, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(default)]
pub struct Tally {
    /// Files.
    pub files: u64,
    /// Their total size in bytes.
    pub bytes: u64,
}

impl Tally {
    fn add(&mut self, bytes: u64) {
        self.files += 1;
        self.bytes += bytes;
    }
}

/// The leftovers one scan found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TrendSample {
    /// When the scan finished.
    pub time: SystemTime,
    /// Ferry's own temp and lock files (any status).
    pub ferry: Tally,
    /// Other tools' partial files.
    pub foreign: Tally,
    /// Backups of replaced files kept by all-or-nothing jobs.
    pub backups: Tally,
    /// Of the files above, those a manual sweep would remove.
    pub removable: Tally,
}

impl TrendSample {
    /// The sample a scan report makes, taken at `time`.
    pub fn of(report: &ScanReport, time: SystemTime) -> Self {
        let mut sample = Self {
            time,
            ferry: Tally::default(),
            foreign: Tally::default(),
            backups: Tally::default(),
            removable: Tally::default(),
        };
        for entry in &report.entries {
            match entry.kind {
                Kind::Part | Kind::Lock => sample.ferry.add(entry.size),
                Kind::Foreign => sample.foreign.add(entry.size),
            }
            if entry.removable() {
                sample.removable.add(entry.size);
            }
        }
        for backup in &report.backups {
            sample.backups.add(backup.size);
        }
        sample
    }

    /// Every leftover file of the sample (Ferry's, other tools', backups).
    pub fn total(&self) -> Tally {
        Tally {
            files: self.ferry.files + self.foreign.files + self.backups.files,
            bytes: self.ferry.bytes + self.foreign.bytes + self.backups.bytes,
        }
    }

    fn same_counts(&self, other: &Self) -> bool {
        (self.ferry, self.foreign, self.backups, self.removable)
            == (other.ferry, other.foreign, other.backups, other.removable)
    }
}

#[derive(serde::Serialize, serde::Deserialize)]
struct Line {
    time: String,
    #[serde(default)]
    ferry: Tally,
    #[serde(default)]
    foreign: Tally,
    #[serde(default)]
    backups: Tally,
    #[serde(default)]
    removable: Tally,
}

impl From<&TrendSample> for Line {
    fn from(s: &TrendSample) -> Self {
        Self {
            time: format_time(s.time),
            ferry: s.ferry,
            foreign: s.foreign,
            backups: s.backups,
            removable: s.removable,
        }
    }
}

impl Line {
    fn into_sample(self) -> Option<TrendSample> {
        Some(TrendSample {
            time: parse_time(&self.time)?,
            ferry: self.ferry,
            foreign: self.foreign,
            backups: self.backups,
            removable: self.removable,
        })
    }
}

/// The history of leftovers, as kept in a data directory: loaded once,
/// then each [`Trend::record`] appends to memory and to the file.
#[derive(Debug)]
pub struct Trend {
    data_dir: PathBuf,
    samples: VecDeque<TrendSample>,
    /// Lines in the file (readable or not), to know when to compact it.
    lines: usize,
    /// Whether a failure to write was already reported.
    warned: bool,
}

impl Trend {
    /// The history kept in `data_dir` (empty when there is none, or it
    /// cannot be read).
    pub fn load_in(data_dir: &Path) -> Self {
        let (samples, lines) = read_lines(data_dir).unwrap_or_default();
        let skip = samples.len().saturating_sub(TREND_SAMPLES);
        Self {
            data_dir: data_dir.to_path_buf(),
            samples: samples.into_iter().skip(skip).collect(),
            lines,
            warned: false,
        }
    }

    /// The samples, oldest first (at most [`TREND_SAMPLES`]).
    pub fn samples(&self) -> Vec<TrendSample> {
        self.samples.iter().copied().collect()
    }

    /// Takes in a scan: adds its sample (unless the scan stopped early, or
    /// repeats the previous sample within [`TREND_SPACING`]), keeps it in the data directory, and puts
    /// the history in the report ([`ScanReport::trend`]). A failure to
    /// write becomes a warning in the report, once.
    pub fn record(&mut self, report: &mut ScanReport) {
        // Whole seconds, as the file keeps them: memory and file agree.
        let now = SystemTime::now();
        let subsec = now
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(Duration::ZERO, |d| {
                Duration::from_nanos(d.subsec_nanos().into())
            });
        let sample = TrendSample::of(report, now - subsec);
        // A scan that stopped early counted only part of the leftovers.
        let partial = report.stopped.is_some();
        let repeat = partial
            || self.samples.back().is_some_and(|last| {
                last.same_counts(&sample)
                    && sample
                        .time
                        .duration_since(last.time)
                        .is_ok_and(|d| d < TREND_SPACING)
            });
        if !repeat {
            self.samples.push_back(sample);
            while self.samples.len() > TREND_SAMPLES {
                self.samples.pop_front();
            }
            if let Err(e) = self.keep(&sample) {
                if !self.warned {
                    report.warnings.push(format!(
                        "the history of leftover files could not be kept ({e}); the chart \
                         shows this session only"
                    ));
                }
                self.warned = true;
            }
        }
        report.trend = self.samples();
    }

    /// Appends `sample` to the file, or rewrites the file with the kept
    /// samples once it has grown to twice their number.
    fn keep(&mut self, sample: &TrendSample) -> Result<()> {
        let data_dir = dirs::ensure(self.data_dir.clone())?;
        let path = data_dir.join(TREND_FILE);
        if self.lines + 1 >= 2 * TREND_SAMPLES {
            let mut text = Vec::new();
            for s in &self.samples {
                push_line(&mut text, s);
            }
            let mut file = AtomicFile::create(&path)?;
            file.write_all(&text)
                .map_err(|e| Error::io(Operation::Write, &path, e))?;
            file.commit(&CommitOptions::new(ConflictPolicy::Overwrite))?;
            self.lines = self.samples.len();
            return Ok(());
        }
        append(&path, sample).map_err(|e| Error::io(Operation::State, &path, e))?;
        self.lines += 1;
        Ok(())
    }
}

/// The history in `data_dir`, oldest first (at most [`TREND_SAMPLES`]).
#[cfg(any(test, feature = "internals"))]
pub fn read_trend_in(data_dir: &Path) -> Result<Vec<TrendSample>> {
    let (mut samples, _) = read_lines(data_dir)?;
    let skip = samples.len().saturating_sub(TREND_SAMPLES);
    samples.drain(..skip);
    Ok(samples)
}

fn read_lines(data_dir: &Path) -> Result<(Vec<TrendSample>, usize)> {
    let path = data_dir.join(TREND_FILE);
    let bytes = match fs::read(&path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok((Vec::new(), 0)),
        Err(e) => return Err(Error::io(Operation::State, &path, e)),
    };
    let text = String::from_utf8_lossy(&bytes);
    let mut lines = 0;
    let mut samples = Vec::new();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        lines += 1;
        if let Some(sample) = serde_json::from_str::<Line>(line)
            .ok()
            .and_then(Line::into_sample)
        {
            samples.push(sample);
        }
    }
    Ok((samples, lines))
}

fn push_line(out: &mut Vec<u8>, sample: &TrendSample) {
    // Serialising plain numbers and a time string cannot fail.
    if serde_json::to_writer(&mut *out, &Line::from(sample)).is_ok() {
        out.push(b'\n');
    }
}

/// Appends one line (on a fresh line if a crash tore the last one), in one
/// write, then fsyncs.
fn append(path: &Path, sample: &TrendSample) -> io::Result<()> {
    let mut options = OpenOptions::new();
    options.read(true).append(true).create(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    let mut last = [b'\n'];
    if file.seek(SeekFrom::End(0))? > 0 {
        file.seek(SeekFrom::End(-1))?;
        file.read_exact(&mut last)?;
    }
    let mut text = Vec::new();
    if last[0] != b'\n' {
        text.push(b'\n');
    }
    push_line(&mut text, sample);
    file.write_all(&text)?;
    file.sync_data()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(files: usize) -> ScanReport {
        let dir = tempfile::tempdir().unwrap();
        for i in 0..files {
            fs::write(
                dir.path()
                    .join(format!(".f{i}.00112233aabbcc{i:02x}.ferry-part")),
                b"abc",
            )
            .unwrap();
        }
        super::super::scan(&super::super::SweepRequest::new(
            [dir.path()],
            Duration::ZERO,
        ))
    }

    #[test]
    fn samples_are_kept_bounded_and_read_back() {
        let data = tempfile::tempdir().unwrap();
        let mut trend = Trend::load_in(data.path());
        let mut one = report(1);
        trend.record(&mut one);
        assert_eq!(one.trend.len(), 1);
        assert_eq!(one.trend[0].ferry, Tally { files: 1, bytes: 3 });
        assert_eq!(one.trend[0].removable, Tally { files: 1, bytes: 3 });
        // The same counts again, at once: nothing new.
        let mut again = report(1);
        trend.record(&mut again);
        assert_eq!(again.trend.len(), 1);
        let mut two = report(2);
        trend.record(&mut two);
        assert_eq!(two.trend.len(), 2);
        assert_eq!(two.trend[1].total(), Tally { files: 2, bytes: 6 });
        assert_eq!(read_trend_in(data.path()).unwrap(), two.trend);

        // A torn last line is skipped, and the next line starts afresh.
        let path = data.path().join(TREND_FILE);
        OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap()
            .write_all(b"{\"time\":\"20")
            .unwrap();
        let mut trend = Trend::load_in(data.path());
        assert_eq!(trend.samples().len(), 2);
        let mut three = report(3);
        trend.record(&mut three);
        assert_eq!(read_trend_in(data.path()).unwrap().len(), 3);

        // Many samples: the file is compacted, the newest are kept.
        let base = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        for i in 0..(2 * TREND_SAMPLES as u64) {
            trend.samples.push_back(TrendSample::of(
                &ScanReport::default(),
                base + Duration::from_secs(i),
            ));
            while trend.samples.len() > TREND_SAMPLES {
                trend.samples.pop_front();
            }
            let last = *trend.samples.back().unwrap();
            trend.keep(&last).unwrap();
        }
        let kept = read_trend_in(data.path()).unwrap();
        assert_eq!(kept.len(), TREND_SAMPLES);
        let lines = fs::read_to_string(&path).unwrap().lines().count();
        assert!(lines < 2 * TREND_SAMPLES, "{lines} lines");
        assert_eq!(
            kept.last().unwrap().time,
            base + Duration::from_secs(2 * TREND_SAMPLES as u64 - 1)
        );
    }
}
