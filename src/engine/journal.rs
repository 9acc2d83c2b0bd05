//! The write-ahead journal of a job: its spec, its plan and each entry's
//! state, as append-only JSON lines in `<data dir>/jobs/<id>.jsonl`.
//!
//! The running process holds an exclusive lock on its journal, so a journal
//! that can be locked belongs to a job whose process died: `ferry jobs`
//! lists it, `ferry resume` finishes it, `ferry rollback` undoes it (for
//! all-or-nothing jobs). A finished job removes its journal.
//!
//! Records that later steps rely on (the plan, a backup before the file it
//! saves is replaced, a committed entry) are fsynced before the step they
//! protect; the others are plain appends. A torn last line (a crash during
//! the append) is ignored on reading.
//!
//! ```
//! use ferry_engine::job::{JobId, JobPlan, JobSpec};
//! use ferry_engine::journal::{Journal, Record};
//!
//! let data = tempfile::tempdir()?;
//! let id = JobId::random();
//! let spec = JobSpec::copy(vec!["/src/a".into()], "/dst");
//! let mut journal = Journal::create(data.path(), id, &spec, &JobPlan::default())?;
//! journal.append(&Record::Skipped { i: 0 }, false)?;
//! drop(journal); // as if the process died
//!
//! let state = Journal::read(&Journal::path_for(data.path(), id))?;
//! assert_eq!(state.spec, spec);
//! assert!(state.skipped.contains(&0));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::collections::{BTreeMap, BTreeSet};
use std::fs::{self, File, OpenOptions};
use std::io::{self, BufRead, BufReader, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::error::{Error, ErrorKind, Operation, Result};
use super::job::{FileError, JobId, JobPlan, JobSpec, path_repr};
use super::lock::{self, LockMode};
use super::platform;

/// One line of the journal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "t", rename_all = "snake_case")]
pub enum Record {
    /// First line: the job.
    Job {
        /// Its id.
        id: JobId,
        /// Its request.
        spec: JobSpec,
    },
    /// Second line: what it will write.
    Plan {
        /// The plan.
        plan: JobPlan,
    },
    /// Entry `i` (a folder) was created by this job.
    DirCreated {
        /// Entry index.
        i: usize,
    },
    /// Entry `i` is being written through this temp file.
    Temp {
        /// Entry index.
        i: usize,
        /// The temp file.
        #[serde(with = "path_repr")]
        path: PathBuf,
        /// Whether the destination existed when the temp was made.
        existed: bool,
    },
    /// The file entry `i` replaces was kept (hard-linked) here.
    Backup {
        /// Entry index.
        i: usize,
        /// The backup.
        #[serde(with = "path_repr")]
        path: PathBuf,
    },
    /// Entry `i` is committed at `dest`.
    Done {
        /// Entry index.
        i: usize,
        /// Where it is.
        #[serde(with = "path_repr")]
        dest: PathBuf,
        /// Bytes written.
        bytes: u64,
    },
    /// The source of entry `i` was removed (moves).
    SourceRemoved {
        /// Entry index.
        i: usize,
    },
    /// The policy skipped entry `i`.
    Skipped {
        /// Entry index.
        i: usize,
    },
    /// Entry `i` failed.
    Failed {
        /// Entry index.
        i: usize,
        /// Why.
        error: FileError,
    },
    /// An all-or-nothing job reached its commit point: keep everything.
    Committed,
}

/// What a journal says about a job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JournalState {
    /// The job.
    pub id: JobId,
    /// Its request.
    pub spec: JobSpec,
    /// Its plan (absent if the process died before writing it).
    pub plan: Option<JobPlan>,
    /// Committed entries: index → (destination, bytes).
    pub done: BTreeMap<usize, (PathBuf, u64)>,
    /// Temp files made, by entry.
    pub temps: BTreeMap<usize, (PathBuf, bool)>,
    /// Backups kept, by entry.
    pub backups: BTreeMap<usize, PathBuf>,
    /// Folders this job created.
    pub dirs_created: BTreeSet<usize>,
    /// Entries whose source was removed.
    pub sources_removed: BTreeSet<usize>,
    /// Entries skipped by the policy.
    pub skipped: BTreeSet<usize>,
    /// Entries that failed, with the last error.
    pub failed: BTreeMap<usize, FileError>,
    /// Whether an all-or-nothing job reached its commit point.
    pub committed: bool,
}

impl JournalState {
    fn new(id: JobId, spec: JobSpec) -> Self {
        Self {
            id,
            spec,
            plan: None,
            done: BTreeMap::new(),
            temps: BTreeMap::new(),
            backups: BTreeMap::new(),
            dirs_created: BTreeSet::new(),
            sources_removed: BTreeSet::new(),
            skipped: BTreeSet::new(),
            failed: BTreeMap::new(),
            committed: false,
        }
    }

    fn apply(&mut self, record: Record) {
        match record {
            Record::Job { .. } => {}
            Record::Plan { plan } => self.plan = Some(plan),
            Record::DirCreated { i } => {
                self.dirs_created.insert(i);
            }
            Record::Temp { i, path, existed } => {
                self.temps.insert(i, (path, existed));
            }
            Record::Backup { i, path } => {
                self.backups.insert(i, path);
            }
            Record::Done { i, dest, bytes } => {
                self.failed.remove(&i);
                self.done.insert(i, (dest, bytes));
            }
            Record::SourceRemoved { i } => {
                self.sources_removed.insert(i);
            }
            Record::Skipped { i } => {
                self.skipped.insert(i);
            }
            Record::Failed { i, error } => {
                self.failed.insert(i, error);
            }
            Record::Committed => self.committed = true,
        }
    }
}

/// An open journal, locked by its job's process.
#[derive(Debug)]
pub struct Journal {
    file: File,
    path: PathBuf,
}

impl Journal {
    /// Where the journals live under a data directory.
    pub fn dir(data_dir: &Path) -> PathBuf {
        data_dir.join("jobs")
    }

    /// The journal file of job `id`.
    pub fn path_for(data_dir: &Path, id: JobId) -> PathBuf {
        Self::dir(data_dir).join(format!("{id}.jsonl"))
    }

    /// Starts the journal of a new job, durably (file and folder fsynced).
    pub fn create(data_dir: &Path, id: JobId, spec: &JobSpec, plan: &JobPlan) -> Result<Self> {
        let dir = Self::dir(data_dir);
        fs::create_dir_all(&dir).map_err(|e| Error::io(Operation::State, &dir, e))?;
        let path = Self::path_for(data_dir, id);
        let file =
            platform::create_exclusive(&path).map_err(|e| Error::io(Operation::State, &path, e))?;
        lock::try_lock(&file, LockMode::Exclusive)
            .map_err(|e| Error::io(Operation::Lock, &path, e))?;
        let mut journal = Self { file, path };
        journal.append(
            &Record::Job {
                id,
                spec: spec.clone(),
            },
            false,
        )?;
        journal.append(&Record::Plan { plan: plan.clone() }, true)?;
        platform::sync_dir(&dir).map_err(|e| Error::io(Operation::Sync, &dir, e))?;
        Ok(journal)
    }

    /// Takes over the journal of a job whose process died. Fails with
    /// [`ErrorKind::Busy`] if its process is still running.
    pub fn reopen(path: &Path) -> Result<Self> {
        let file = OpenOptions::new()
            .append(true)
            .read(true)
            .open(path)
            .map_err(|e| Error::io(Operation::State, path, e))?;
        if !lock::try_lock(&file, LockMode::Exclusive)
            .map_err(|e| Error::io(Operation::Lock, path, e))?
        {
            return Err(Error::new(
                ErrorKind::Busy,
                Operation::Lock,
                path,
                "this job is still running in another Ferry process",
            ));
        }
        Ok(Self {
            file,
            path: path.to_path_buf(),
        })
    }

    /// Appends a record; with `durable`, fsyncs before returning.
    pub fn append(&mut self, record: &Record, durable: bool) -> Result<()> {
        let mut line = serde_json::to_vec(record)
            .map_err(|e| Error::new(ErrorKind::Io, Operation::State, &self.path, e.to_string()))?;
        line.push(b'\n');
        let err = |e| Error::io(Operation::State, &self.path, e);
        self.file.write_all(&line).map_err(err)?;
        if durable {
            self.file.sync_data().map_err(err)?;
        }
        Ok(())
    }

    /// Appends several records with one write; with `durable`, one fsync.
    pub fn append_all(&mut self, records: &[Record], durable: bool) -> Result<()> {
        let mut lines = Vec::new();
        for record in records {
            serde_json::to_writer(&mut lines, record).map_err(|e| {
                Error::new(ErrorKind::Io, Operation::State, &self.path, e.to_string())
            })?;
            lines.push(b'\n');
        }
        let err = |e| Error::io(Operation::State, &self.path, e);
        self.file.write_all(&lines).map_err(err)?;
        if durable {
            self.file.sync_data().map_err(err)?;
        }
        Ok(())
    }

    /// Makes every record so far durable.
    pub fn sync(&mut self) -> Result<()> {
        self.file
            .sync_data()
            .map_err(|e| Error::io(Operation::State, &self.path, e))
    }

    /// The journal's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Removes the journal: the job is over.
    pub fn remove(self) -> Result<()> {
        fs::remove_file(&self.path).map_err(|e| Error::io(Operation::Remove, &self.path, e))?;
        let dir = super::atomic::parent_dir(&self.path);
        platform::sync_dir(dir).map_err(|e| Error::io(Operation::Sync, dir, e))
    }

    /// Reads a journal (locked or not).
    pub fn read(path: &Path) -> Result<JournalState> {
        let file = File::open(path).map_err(|e| Error::io(Operation::State, path, e))?;
        let corrupt = |detail: &str| {
            Error::new(
                ErrorKind::InvalidInput,
                Operation::State,
                path,
                detail.to_string(),
            )
        };
        let mut lines = BufReader::new(file).lines();
        let first = lines
            .next()
            .ok_or_else(|| corrupt("the journal is empty"))?
            .map_err(|e| Error::io(Operation::State, path, e))?;
        let Ok(Record::Job { id, spec }) = serde_json::from_str(&first) else {
            return Err(corrupt("the journal does not start with a job record"));
        };
        let mut state = JournalState::new(id, spec);
        for line in lines {
            let Ok(line) = line else { break };
            // A torn or unreadable line can only be the last one written.
            let Ok(record) = serde_json::from_str::<Record>(&line) else {
                break;
            };
            state.apply(record);
        }
        Ok(state)
    }
}

/// A journaled job as `ferry jobs` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnfinishedJob {
    /// What the journal says.
    pub state: JournalState,
    /// The journal file.
    pub path: PathBuf,
    /// Whether a live process is still running it.
    pub running: bool,
}

/// Lists the journals under `data_dir`, oldest first. Unreadable journals
/// are reported as errors beside the list.
pub fn list(data_dir: &Path) -> Result<(Vec<UnfinishedJob>, Vec<Error>)> {
    let dir = Journal::dir(data_dir);
    let read = match fs::read_dir(&dir) {
        Ok(read) => read,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok((Vec::new(), Vec::new())),
        Err(e) => return Err(Error::io(Operation::ReadDir, &dir, e)),
    };
    let mut found = Vec::new();
    for entry in read.flatten() {
        let path = entry.path();
        if path.extension().is_none_or(|e| e != "jsonl") {
            continue;
        }
        let modified = entry.metadata().and_then(|m| m.modified()).ok();
        found.push((modified, path));
    }
    found.sort();
    let mut jobs = Vec::new();
    let mut errors = Vec::new();
    for (_, path) in found {
        match Journal::read(&path) {
            Ok(state) => {
                let running = File::open(&path)
                    .and_then(|f| lock::try_lock(&f, LockMode::Shared))
                    .map(|granted| !granted)
                    .unwrap_or(false);
                jobs.push(UnfinishedJob {
                    state,
                    path,
                    running,
                });
            }
            Err(e) => errors.push(e),
        }
    }
    Ok((jobs, errors))
}

/// Finds the journal of `id` (a full id or a unique prefix).
pub fn find(data_dir: &Path, id: &str) -> Result<UnfinishedJob> {
    let (jobs, _) = list(data_dir)?;
    let mut matching: Vec<_> = jobs
        .into_iter()
        .filter(|j| j.state.id.to_string().starts_with(id))
        .collect();
    match matching.len() {
        1 => Ok(matching.remove(0)),
        0 => Err(Error::new(
            ErrorKind::NotFound,
            Operation::State,
            Journal::dir(data_dir),
            format!("there is no unfinished job '{id}' (see `ferry jobs`)"),
        )),
        _ => Err(Error::new(
            ErrorKind::InvalidInput,
            Operation::State,
            Journal::dir(data_dir),
            format!("'{id}' matches several jobs; give more of the id"),
        )),
    }
}
