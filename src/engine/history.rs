//! The jobs that ended, kept in the data folder (`history.json`, the newest
//! [`KEEP`] jobs, written with the atomic protocol) so the window shows them
//! after a restart and can retry their failed files. Each job keeps at most
//! [`KEEP_FAILURES`] of its failures (the count of the rest is kept).
//!
//! ```
//! use ferry_engine::history::{History, HistoryEntry};
//! use ferry_engine::job::{JobId, JobOutcome, JobSpec, JobSummary};
//!
//! let data = tempfile::tempdir()?;
//! let mut history = History::load_in(data.path())?;
//! history.push(HistoryEntry::new(
//!     JobId::random(),
//!     JobSpec::copy(vec!["/a".into()], "/b"),
//!     JobSummary::empty(JobOutcome::Completed),
//! ))?;
//! assert_eq!(History::load_in(data.path())?.entries().len(), 1);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::collections::VecDeque;
use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use serde::{Deserialize, Serialize};

use super::atomic::{AtomicFile, CommitOptions};
use super::error::{Error, ErrorKind, Operation, Result};
use super::job::{ConflictPolicy, JobId, JobSpec, JobSummary};

/// The file's name in the data folder.
pub const FILE_NAME: &str = "history.json";
/// How many ended jobs are kept.
pub const KEEP: usize = 500;
/// How many failures of one job are kept.
pub const KEEP_FAILURES: usize = 1000;

/// One ended job.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistoryEntry {
    /// Its id.
    pub id: JobId,
    /// What it was asked to do.
    pub spec: JobSpec,
    /// How it went (at most `KEEP_FAILURES`, 1000, failures).
    pub summary: JobSummary,
    /// Failures beyond those kept.
    #[serde(default)]
    pub failures_not_kept: u64,
    /// When it ended.
    pub ended: SystemTime,
}

impl HistoryEntry {
    /// An entry for a job that just ended.
    pub fn new(id: JobId, spec: JobSpec, mut summary: JobSummary) -> Self {
        let extra = summary.failed.len().saturating_sub(KEEP_FAILURES);
        summary.failed.truncate(KEEP_FAILURES);
        Self {
            id,
            spec,
            summary,
            failures_not_kept: extra as u64,
            ended: SystemTime::now(),
        }
    }

    /// The job that retries this one's failed files (with `policy`, or the
    /// original one), or `None` if nothing failed that a retry could copy.
    /// A folder that failed is retried whole; files inside it are not
    /// named again.
    pub fn retry(&self, policy: Option<ConflictPolicy>) -> Option<JobSpec> {
        let mut pairs: Vec<(PathBuf, PathBuf)> = self
            .summary
            .failed
            .iter()
            .filter_map(|f| Some((f.path.clone(), f.dest.clone()?)))
            .collect();
        pairs.sort_by(|a, b| a.1.cmp(&b.1));
        pairs.dedup_by(|later, earlier| later.1 == earlier.1);
        let mut kept: Vec<(PathBuf, PathBuf)> = Vec::new();
        for (src, dest) in pairs {
            if kept.iter().any(|(_, d)| dest.starts_with(d) && dest != *d) {
                continue;
            }
            kept.push((src, dest));
        }
        if kept.is_empty() {
            return None;
        }
        Some(JobSpec {
            sources: Vec::new(),
            pairs: kept,
            policy: policy.unwrap_or(self.spec.policy),
            checksums: None,
            ..self.spec.clone()
        })
    }
}

/// The kept history, oldest first.
#[derive(Debug, Default)]
pub struct History {
    entries: VecDeque<HistoryEntry>,
    path: Option<PathBuf>,
}

#[derive(Serialize, Deserialize)]
struct Stored {
    jobs: Vec<HistoryEntry>,
}

impl History {
    /// Reads the history in `data_dir` (empty if there is none yet; a file
    /// that cannot be read is set aside, and the history starts empty).
    pub fn load_in(data_dir: &Path) -> Result<Self> {
        let path = data_dir.join(FILE_NAME);
        let entries = match fs::read(&path) {
            Ok(bytes) => match serde_json::from_slice::<Stored>(&bytes) {
                Ok(stored) => stored.jobs.into(),
                Err(e) => {
                    let aside = path.with_extension("json.corrupt");
                    let _ = fs::rename(&path, &aside);
                    return Err(Error::new(
                        ErrorKind::InvalidInput,
                        Operation::ReadState,
                        &path,
                        format!(
                            "the history could not be read ({e}); it was kept as '{}' and a new \
                             one begins",
                            aside.display()
                        ),
                    ));
                }
            },
            Err(e) if e.kind() == io::ErrorKind::NotFound => VecDeque::new(),
            Err(e) => return Err(Error::io(Operation::ReadState, &path, e)),
        };
        Ok(Self {
            entries,
            path: Some(path),
        })
    }

    /// The ended jobs, oldest first.
    pub fn entries(&self) -> &VecDeque<HistoryEntry> {
        &self.entries
    }

    /// The entry of job `id`.
    pub fn get(&self, id: JobId) -> Option<&HistoryEntry> {
        self.entries.iter().find(|e| e.id == id)
    }

    /// Adds an ended job (dropping the oldest beyond [`KEEP`]) and saves.
    pub fn push(&mut self, entry: HistoryEntry) -> Result<()> {
        self.entries.retain(|e| e.id != entry.id);
        self.entries.push_back(entry);
        while self.entries.len() > KEEP {
            self.entries.pop_front();
        }
        self.save()
    }

    /// Forgets every ended job and saves.
    pub fn clear(&mut self) -> Result<()> {
        self.entries.clear();
        self.save()
    }

    fn save(&self) -> Result<()> {
        let Some(path) = &self.path else {
            return Ok(());
        };
        if let Some(dir) = path.parent() {
            super::dirs::ensure(dir.to_path_buf())?;
        }
        let stored = Stored {
            jobs: self.entries.iter().cloned().collect(),
        };
        let bytes = serde_json::to_vec(&stored)
            .map_err(|e| Error::new(ErrorKind::Io, Operation::State, path, e.to_string()))?;
        let mut file = AtomicFile::create(path)?;
        file.write_all(&bytes)
            .map_err(|e| Error::io(Operation::State, path, e))?;
        file.commit(&CommitOptions::new(ConflictPolicy::Overwrite))?;
        Ok(())
    }
}
