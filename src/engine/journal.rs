//! The write-ahead journal of a job: its spec, its plan and each entry's
//! state, as append-only lines in `<data dir>/jobs/<id>.jsonl`.
//!
//! Each line is `<16 hex digits> <JSON record>`: the digits are the first
//! 64 bits of the record's BLAKE3 hash, checked on every read. A torn or
//! damaged last line (a crash during the append) is where the journal ends,
//! and it is cut off before anything is appended again; a damaged line with
//! good lines after it means the journal cannot be trusted, which
//! [`JournalState::trust`] says (resume refuses it, rollback restores what
//! it can and keeps it).
//!
//! The running process holds an exclusive lock on its journal, so a journal
//! that can be locked belongs to a job whose process died: `ferry jobs`
//! lists it, `ferry resume` finishes it, `ferry rollback` undoes it (for
//! all-or-nothing jobs). A finished job removes its journal. A new journal
//! is written under a temporary name and renamed into place once its first
//! records are durable, so a listed journal is never empty.
//!
//! Write-ahead: every record that recovery relies on is durable before the
//! act it announces — the temp file (with the identity the destination will
//! have), a numbered name about to be taken, a source about to be renamed,
//! a backup about to be linked, a folder about to be created. Recovery
//! then recognises what a dead run did by identity, not by size and time.
//!
//! ```
//! use ferry_engine::job::{JobId, JobPlan, JobSpec};
//! use ferry_engine::journal::{Journal, Record, Trust};
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
//! assert_eq!(state.trust, Trust::Whole);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::collections::{BTreeMap, BTreeSet};
use std::fs::{self, File, OpenOptions};
use std::io::{self, BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use serde::{Deserialize, Serialize};

use super::error::{Error, ErrorKind, Operation, Result};
use super::job::{ConflictPolicy, Entry, FileError, JobId, JobPlan, JobSpec, path_repr};
use super::jsonl;
use super::lock::{self, LockMode};
use super::os::{self, FileStamp};

/// Entries per [`Record::PlanPart`] line.
const PLAN_PART: usize = 4096;

/// The last line of a plan.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanEnd {
    /// Entries after the last part (all of them in older journals).
    #[serde(default)]
    pub entries: Vec<Entry>,
    /// Things left out on purpose, in words.
    #[serde(default)]
    pub warnings: Vec<String>,
}

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
    /// Entries of the plan, in order, a part at a time (what the job will
    /// write); the [`Plan`](Record::Plan) line ends them.
    PlanPart {
        /// The next entries.
        entries: Vec<Entry>,
        /// The identities the files among them had when planned, as
        /// `[index in this part, device, inode]` (absent in older
        /// journals): a resume copies only those files too.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        ids: Vec<[u64; 3]>,
    },
    /// The end of the plan: its last entries (journals of older versions
    /// hold every entry here, on one line) and its warnings.
    Plan {
        /// The plan's last entries and its warnings.
        plan: PlanEnd,
    },
    /// Entry `i` (a folder) is about to be created by this job (written
    /// before the `mkdir` by all-or-nothing jobs).
    DirCreating {
        /// Entry index.
        i: usize,
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
        /// The temp's identity, which the destination has once the temp is
        /// renamed into place.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        file: Option<FileStamp>,
        /// The source as it was when opened (a move removes it only if it
        /// still matches).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        source: Option<FileStamp>,
    },
    /// Entry `i` is about to be put at this numbered name (`rename`
    /// policy), other than its planned destination.
    Placing {
        /// Entry index.
        i: usize,
        /// The name about to be taken.
        #[serde(with = "path_repr")]
        path: PathBuf,
    },
    /// The source of entry `i` (this file) is about to be renamed into
    /// place (a move within one filesystem).
    Moving {
        /// Entry index.
        i: usize,
        /// The source's identity and state.
        file: FileStamp,
    },
    /// The file entry `i` replaces is about to be kept (hard-linked) here;
    /// written before the link is made.
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
        /// The BLAKE3 hash of its bytes, where the job keeps a manifest.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        hash: Option<String>,
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
    /// The folder of entry `i` was moved whole, by one rename: entries
    /// `i..end` (its contents) are done with it.
    TreeMoved {
        /// The folder's entry.
        i: usize,
        /// One past its last entry.
        end: usize,
    },
    /// The first `bytes` of entry `i`'s latest temp are durable (fsynced):
    /// a resume may continue from there.
    Partial {
        /// Entry index.
        i: usize,
        /// Bytes durable in the temp.
        bytes: u64,
    },
    /// Entry `i` waits for a person's answer (its destination exists).
    Asked {
        /// Entry index.
        i: usize,
    },
    /// A person answered for entry `i`.
    Answered {
        /// Entry index.
        i: usize,
        /// The policy that carries the answer out.
        policy: ConflictPolicy,
    },
    /// A person answered for every conflict of the job.
    AnsweredAll {
        /// The policy that carries the answer out.
        policy: ConflictPolicy,
    },
}

/// A temp file a job made, as its journal recorded it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TempRecord {
    /// The temp file.
    pub path: PathBuf,
    /// Whether the destination existed when the temp was made.
    pub existed: bool,
    /// The temp's identity (absent in journals of older versions).
    pub file: Option<FileStamp>,
    /// The source when it was opened.
    pub source: Option<FileStamp>,
}

/// How much of a journal [`Journal::read_with`] keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Detail {
    /// Everything (what a rollback needs: the identity of every file the
    /// job made).
    #[default]
    Full,
    /// Of a finished entry, only that it is finished, where it went and
    /// its bytes (what a resume or a listing needs): a journal of a
    /// million finished files reads in a few megabytes.
    Resume,
}

/// Entries journaled done, compactly: one bit per entry, the destination
/// only where it is not the planned one (a numbered name), and the bytes
/// in all.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DoneSet {
    bits: Vec<u64>,
    count: usize,
    elsewhere: BTreeMap<usize, PathBuf>,
    bytes: u64,
}

impl DoneSet {
    /// Records entry `i` done at `dest` with `bytes` (`planned`: where the
    /// plan put it, if known).
    pub fn insert(&mut self, i: usize, dest: PathBuf, bytes: u64, planned: Option<&Path>) {
        let (word, bit) = (i / 64, 1u64 << (i % 64));
        if word >= self.bits.len() {
            self.bits.resize(word + 1, 0);
        }
        if self.bits[word] & bit == 0 {
            self.bits[word] |= bit;
            self.count += 1;
            self.bytes += bytes;
        }
        if planned == Some(dest.as_path()) {
            self.elsewhere.remove(&i);
        } else {
            self.elsewhere.insert(i, dest);
        }
    }

    /// Whether entry `i` is done.
    pub fn contains(&self, i: usize) -> bool {
        self.bits.get(i / 64).is_some_and(|w| w & (1 << (i % 64)) != 0)
    }

    /// Where entry `i` went, if it is done (`planned`: its planned
    /// destination).
    pub fn dest(&self, i: usize, planned: &Path) -> Option<PathBuf> {
        self.contains(i)
            .then(|| self.elsewhere.get(&i).cloned().unwrap_or_else(|| planned.to_path_buf()))
    }

    /// The entries done, in order.
    pub fn iter(&self) -> impl Iterator<Item = usize> + '_ {
        self.bits.iter().enumerate().flat_map(|(w, &word)| {
            (0..64).filter(move |b| word & (1 << b) != 0).map(move |b| w * 64 + b)
        })
    }

    /// Whether none is.
    #[cfg(any(test, feature = "internals"))]
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Bytes of the entries done, in all.
    pub fn bytes(&self) -> u64 {
        self.bytes
    }
}

/// How far a journal can be believed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trust {
    /// Every line checked out.
    Whole,
    /// The last line was torn or damaged (a crash during an append); it is
    /// ignored, and cut off before the journal is appended to again.
    TornTail,
    /// A damaged line has good lines after it: the records after
    /// `good_records` cannot be believed.
    Damaged {
        /// Records read before the damage.
        good_records: usize,
    },
}

/// What a journal says about a job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JournalState {
    /// The job.
    pub id: JobId,
    /// Its request.
    pub spec: JobSpec,
    /// Its plan (absent if the process died before writing it whole).
    pub plan: Option<JobPlan>,
    /// The plan's entries read so far, until its last line.
    building: Option<JobPlan>,
    /// What is kept of finished entries.
    detail: Detail,
    /// Committed entries.
    pub done: DoneSet,
    /// Temp files made, by entry, oldest first (a resumed run may have
    /// made another).
    pub temps: BTreeMap<usize, Vec<TempRecord>>,
    /// Numbered names about to be taken, by entry (`rename` policy).
    pub placing: BTreeMap<usize, Vec<PathBuf>>,
    /// Sources about to be renamed into place, by entry.
    pub moving: BTreeMap<usize, FileStamp>,
    /// Folders this job was about to create.
    pub dirs_creating: BTreeSet<usize>,
    /// Backups kept, by entry, oldest first (the oldest holds what was
    /// there before the job).
    pub backups: BTreeMap<usize, Vec<PathBuf>>,
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
    /// Folders moved whole: first entry → one past the last.
    pub trees: BTreeMap<usize, usize>,
    /// How far each entry's latest temp is durable.
    pub partial: BTreeMap<usize, u64>,
    /// Hashes of finished entries, where the job keeps a manifest.
    pub hashes: BTreeMap<usize, String>,
    /// Entries asked about (and maybe answered since).
    pub asked: BTreeSet<usize>,
    /// Answers given, by entry.
    pub answered: BTreeMap<usize, ConflictPolicy>,
    /// An answer given for every conflict.
    pub answered_all: Option<ConflictPolicy>,
    /// Whether every line checked out.
    pub trust: Trust,
    /// Bytes of the journal up to the end of the last good record.
    pub good_len: u64,
    /// Whether the journal has per-line checksums (older ones do not).
    pub checksummed: bool,
    /// When the journal was made (its file's creation time, where the
    /// filesystem keeps one): nothing the job did is older.
    pub started: Option<SystemTime>,
}

impl JournalState {
    /// Files and links finished (folders are not counted).
    pub fn files_done(&self) -> usize {
        let plan = self.plan.as_ref();
        self.done
            .iter()
            .filter(|&i| plan.is_some_and(|p| i < p.len() && !p.is_dir(i)))
            .count()
    }

    /// Files and links in the plan.
    pub fn files_total(&self) -> usize {
        self.plan.as_ref().map_or(0, |p| p.total_files() as usize)
    }

    /// The latest temp made for entry `i`.
    pub fn latest_temp(&self, i: usize) -> Option<&TempRecord> {
        self.temps.get(&i).and_then(|t| t.last())
    }

    /// The source of entry `i` as it was when its latest temp was made, or
    /// when it was about to be renamed into place.
    pub fn opened_source(&self, i: usize) -> Option<FileStamp> {
        self.latest_temp(i)
            .and_then(|t| t.source)
            .or_else(|| self.moving.get(&i).copied())
    }

    fn new(id: JobId, spec: JobSpec) -> Self {
        Self {
            id,
            spec,
            plan: None,
            building: None,
            detail: Detail::Full,
            done: DoneSet::default(),
            temps: BTreeMap::new(),
            placing: BTreeMap::new(),
            moving: BTreeMap::new(),
            dirs_creating: BTreeSet::new(),
            backups: BTreeMap::new(),
            dirs_created: BTreeSet::new(),
            sources_removed: BTreeSet::new(),
            skipped: BTreeSet::new(),
            failed: BTreeMap::new(),
            committed: false,
            hashes: BTreeMap::new(),
            partial: BTreeMap::new(),
            trees: BTreeMap::new(),
            asked: BTreeSet::new(),
            answered: BTreeMap::new(),
            answered_all: None,
            trust: Trust::Whole,
            good_len: 0,
            checksummed: true,
            started: None,
        }
    }

    pub(crate) fn apply(&mut self, record: Record) {
        match record {
            Record::Job { .. } => {}
            Record::PlanPart { entries, ids } => {
                let building = self.building.get_or_insert_with(JobPlan::default);
                let mut ids = ids.into_iter().peekable();
                for (at, entry) in entries.into_iter().enumerate() {
                    match ids.next_if(|[i, _, _]| *i == at as u64) {
                        Some([_, dev, ino]) => {
                            building.push_file(entry, os::FileId::from_parts(dev, ino));
                        }
                        None => building.push(entry),
                    }
                }
            }
            Record::Plan { plan: end } => {
                let mut plan = self.building.take().unwrap_or_default();
                end.entries.into_iter().for_each(|e| plan.push(e));
                plan.warnings = end.warnings;
                plan.shrink();
                self.plan = Some(plan);
            }
            Record::DirCreating { i } => {
                self.dirs_creating.insert(i);
            }
            Record::DirCreated { i } => {
                self.dirs_created.insert(i);
            }
            Record::Temp {
                i,
                path,
                existed,
                file,
                source,
            } => {
                self.partial.remove(&i);
                self.temps.entry(i).or_default().push(TempRecord {
                    path,
                    existed,
                    file,
                    source,
                });
            }
            Record::Placing { i, path } => self.placing.entry(i).or_default().push(path),
            Record::Moving { i, file } => {
                self.moving.insert(i, file);
            }
            Record::Backup { i, path } => {
                self.backups.entry(i).or_default().push(path);
            }
            Record::Done {
                i,
                dest,
                bytes,
                hash,
            } => {
                self.failed.remove(&i);
                if let Some(hash) = hash {
                    self.hashes.insert(i, hash);
                }
                let planned = self.plan.as_ref().and_then(|p| p.get(i)).map(|e| e.dest);
                self.done.insert(i, dest, bytes, planned.as_deref());
                if self.detail == Detail::Resume {
                    // What a resume needs of a finished entry is that it is
                    // finished (a million of them must not cost a record each).
                    self.temps.remove(&i);
                    self.placing.remove(&i);
                    self.moving.remove(&i);
                    self.partial.remove(&i);
                }
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
            Record::TreeMoved { i, end } => {
                self.trees.insert(i, end);
            }
            Record::Partial { i, bytes } => {
                self.partial.insert(i, bytes);
            }
            Record::Asked { i } => {
                self.asked.insert(i);
            }
            Record::Answered { i, policy } => {
                self.answered.insert(i, policy);
            }
            Record::AnsweredAll { policy } => self.answered_all = Some(policy),
        }
    }
}

/// An open journal, locked by its job's process.
#[derive(Debug)]
pub struct Journal {
    file: File,
    path: PathBuf,
    checksummed: bool,
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
    /// It is written as `<id>.jsonl.new` and renamed into place with its
    /// first records, so no reader ever sees an empty journal.
    pub fn create(data_dir: &Path, id: JobId, spec: &JobSpec, plan: &JobPlan) -> Result<Self> {
        let dir = Self::dir(data_dir);
        fs::create_dir_all(&dir).map_err(|e| Error::io(Operation::State, &dir, e))?;
        let path = Self::path_for(data_dir, id);
        let fresh = path.with_extension("jsonl.new");
        let file =
            os::create_exclusive(&fresh).map_err(|e| Error::io(Operation::State, &fresh, e))?;
        let mut journal = Self {
            file,
            path: fresh.clone(),
            checksummed: true,
        };
        let written = (|| {
            lock::try_lock(&journal.file, LockMode::Exclusive)
                .map_err(|e| Error::io(Operation::Lock, &fresh, e))?;
            journal.append_all(
                &[Record::Job {
                    id,
                    spec: spec.clone(),
                }],
                false,
            )?;
            // A part at a time: a million entries never sit in memory whole.
            let mut next = 0;
            while next < plan.len() {
                let end = (next + PLAN_PART).min(plan.len());
                let entries = (next..end).map(|i| plan.entry(i)).collect();
                let ids = (next..end)
                    .filter_map(|i| {
                        let id = plan.source_id(i)?;
                        Some([(i - next) as u64, id.device(), id.inode()])
                    })
                    .collect();
                journal.append_all(&[Record::PlanPart { entries, ids }], false)?;
                next = end;
            }
            let end = PlanEnd {
                entries: Vec::new(),
                warnings: plan.warnings.clone(),
            };
            journal.append_all(&[Record::Plan { plan: end }], true)?;
            fs::rename(&fresh, &path).map_err(|e| Error::io(Operation::State, &path, e))?;
            os::sync_dir(&dir).map_err(|e| Error::io(Operation::Sync, &dir, e))
        })();
        if let Err(e) = written {
            let _ = fs::remove_file(&fresh);
            return Err(e);
        }
        journal.path = path;
        Ok(journal)
    }

    /// Takes over the journal of a job whose process died, and reads it. A
    /// torn last line is cut off (durably) so that new records follow the
    /// last good one. Fails with [`ErrorKind::Busy`] if its process is
    /// still running.
    #[cfg(any(test, feature = "internals"))]
    pub fn reopen(path: &Path) -> Result<(Self, JournalState)> {
        Self::reopen_with(path, Detail::Full)
    }

    /// [`reopen`](Self::reopen), keeping `detail` of finished entries.
    pub fn reopen_with(path: &Path, detail: Detail) -> Result<(Self, JournalState)> {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .open(path)
            .map_err(|e| Error::io(Operation::ReadState, path, e))?;
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
        let state = Self::read_with(path, detail)?;
        if state.trust == Trust::TornTail {
            file.set_len(state.good_len)
                .and_then(|()| file.sync_data())
                .map_err(|e| Error::io(Operation::State, path, e))?;
        }
        let mut file = file;
        use std::io::Seek;
        file.seek(io::SeekFrom::End(0))
            .map_err(|e| Error::io(Operation::State, path, e))?;
        Ok((
            Self {
                file,
                path: path.to_path_buf(),
                checksummed: state.checksummed,
            },
            state,
        ))
    }

    /// Appends a record; with `durable`, fsyncs before returning.
    pub fn append(&mut self, record: &Record, durable: bool) -> Result<()> {
        self.append_all(std::slice::from_ref(record), durable)
    }

    /// Appends several records with one write; with `durable`, one fsync.
    pub fn append_all(&mut self, records: &[Record], durable: bool) -> Result<()> {
        let mut lines = Vec::new();
        for record in records {
            let encoded = if self.checksummed {
                jsonl::encode(&mut lines, record)
            } else {
                jsonl::encode_plain(&mut lines, record)
            };
            encoded.map_err(|e| {
                Error::new(ErrorKind::Io, Operation::State, &self.path, e.to_string())
            })?;
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
        let dir = super::os::path::parent_dir(&self.path);
        os::sync_dir(dir).map_err(|e| Error::io(Operation::Sync, dir, e))
    }

    /// Reads a journal (locked or not), checking every line.
    pub fn read(path: &Path) -> Result<JournalState> {
        Self::read_with(path, Detail::Full)
    }

    /// Reads a journal keeping `detail` of its finished entries.
    pub fn read_with(path: &Path, detail: Detail) -> Result<JournalState> {
        let file = File::open(path).map_err(|e| Error::io(Operation::ReadState, path, e))?;
        let started = file.metadata().and_then(|m| m.created()).ok();
        let corrupt = |detail: &str| {
            Error::new(
                ErrorKind::InvalidInput,
                Operation::ReadState,
                path,
                detail.to_string(),
            )
        };
        let mut reader = BufReader::new(file);
        let mut line = Vec::new();
        let mut offset = 0u64;
        let mut state: Option<JournalState> = None;
        let mut checksummed = true;
        let mut damaged_at: Option<usize> = None;
        let mut records = 0usize;
        loop {
            line.clear();
            let n = reader
                .read_until(b'\n', &mut line)
                .map_err(|e| Error::io(Operation::ReadState, path, e))?;
            if n == 0 {
                break;
            }
            let complete = line.ends_with(b"\n");
            let body = line.strip_suffix(b"\n").unwrap_or(&line);
            if state.is_none() {
                checksummed = !body.starts_with(b"{");
            }
            let record = complete.then(|| parse_line(body, checksummed)).flatten();
            match (record, &mut state) {
                (Some(record), _) if damaged_at.is_some() => {
                    // Good lines after a damaged one: the damage is not a
                    // torn append, so nothing after it can be believed.
                    let _ = record;
                    if let Some(state) = &mut state {
                        state.trust = Trust::Damaged {
                            good_records: damaged_at.unwrap_or(0),
                        };
                    }
                    break;
                }
                (Some(Record::Job { id, spec }), None) => {
                    let mut fresh = JournalState::new(id, spec);
                    fresh.checksummed = checksummed;
                    fresh.detail = detail;
                    state = Some(fresh);
                }
                (Some(_), None) => {
                    return Err(corrupt("the journal does not start with a job record"));
                }
                (Some(record), Some(state)) => state.apply(record),
                (None, None) => return Err(corrupt("the journal's first line is damaged")),
                (None, Some(_)) => {
                    damaged_at.get_or_insert(records);
                    continue;
                }
            }
            records += 1;
            offset += n as u64;
            if let Some(state) = &mut state {
                state.good_len = offset;
            }
        }
        let mut state = state.ok_or_else(|| corrupt("the journal is empty"))?;
        state.started = started;
        if damaged_at.is_some() && state.trust == Trust::Whole {
            state.trust = Trust::TornTail;
        }
        Ok(state)
    }
}

/// One journal line: `<checksum> <json>` (or bare JSON in an old journal).
fn parse_line(body: &[u8], checksummed: bool) -> Option<Record> {
    if checksummed {
        jsonl::decode_checked(body)
    } else {
        serde_json::from_slice(body).ok()
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
        Err(e) => return Err(Error::io(Operation::ReadState, &dir, e)),
    };
    let mut found = Vec::new();
    for entry in read.flatten() {
        let path = entry.path();
        if path.extension().is_some_and(|e| e == "new") {
            remove_dead_fresh(&path);
            continue;
        }
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
        let running = File::open(&path)
            .and_then(|f| lock::try_lock(&f, LockMode::Shared))
            .map(|granted| !granted)
            .unwrap_or(false);
        match Journal::read_with(&path, Detail::Resume) {
            Ok(state) => jobs.push(UnfinishedJob {
                state,
                path,
                running,
            }),
            // A live job's journal is its own business until it ends.
            Err(_) if running => {}
            Err(e) => errors.push(e),
        }
    }
    Ok((jobs, errors))
}

/// Removes a journal still under its first name (`<id>.jsonl.new`) whose
/// writer died: its job wrote nothing yet (its plan was not durable), so
/// there is nothing to resume. A live writer holds its lock (and one that
/// has only just made the file, not yet locked, wrote to it within the
/// last minute).
fn remove_dead_fresh(path: &Path) {
    let quiet = fs::metadata(path)
        .and_then(|m| m.modified())
        .is_ok_and(|t| t.elapsed().is_ok_and(|age| age.as_secs() >= 60));
    let dead = quiet
        && File::open(path)
            .and_then(|f| lock::try_lock(&f, LockMode::Exclusive))
            .unwrap_or(false);
    if dead {
        let _ = fs::remove_file(path);
    }
}

/// Finds the journal of `id` (a full id or a unique prefix).
#[cfg(any(test, feature = "internals"))]
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
            Operation::ReadState,
            Journal::dir(data_dir),
            format!("there is no unfinished job '{id}' (see `ferry jobs`)"),
        )),
        _ => Err(Error::new(
            ErrorKind::InvalidInput,
            Operation::ReadState,
            Journal::dir(data_dir),
            format!("'{id}' matches several jobs; give more of the id"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::job::JobSpec;

    fn journal_with(records: &[Record]) -> (tempfile::TempDir, PathBuf, JobId) {
        let dir = tempfile::tempdir().unwrap();
        let id = JobId::random();
        let spec = JobSpec::copy(vec!["/a".into()], "/b");
        let mut journal = Journal::create(dir.path(), id, &spec, &JobPlan::default()).unwrap();
        journal.append_all(records, true).unwrap();
        let path = journal.path().to_path_buf();
        (dir, path, id)
    }

    #[test]
    fn a_torn_last_line_is_cut_off_before_the_next_append() {
        let (_dir, path, _) = journal_with(&[Record::Skipped { i: 0 }]);
        let whole = fs::metadata(&path).unwrap().len();
        let mut file = OpenOptions::new().append(true).open(&path).unwrap();
        file.write_all(b"0123456789abcdef {\"t\":\"skipped\",\"i\":")
            .unwrap();
        drop(file);
        let state = Journal::read(&path).unwrap();
        assert_eq!(state.trust, Trust::TornTail);
        assert_eq!(state.good_len, whole);

        let (mut journal, _) = Journal::reopen(&path).unwrap();
        journal.append(&Record::Skipped { i: 1 }, true).unwrap();
        drop(journal);
        let state = Journal::read(&path).unwrap();
        assert_eq!(state.trust, Trust::Whole, "the fragment is gone");
        assert_eq!(state.skipped.iter().copied().collect::<Vec<_>>(), [0, 1]);
    }

    #[test]
    fn a_damaged_line_followed_by_good_ones_is_not_trusted() {
        let (_dir, path, _) = journal_with(&[
            Record::Skipped { i: 0 },
            Record::Skipped { i: 1 },
            Record::Skipped { i: 2 },
        ]);
        let text = fs::read_to_string(&path).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        // Change a record without fixing its checksum.
        let forged = lines[3].replace("\"i\":1", "\"i\":7");
        let damaged = [lines[0], lines[1], lines[2], &forged, lines[4]].join("\n") + "\n";
        fs::write(&path, damaged).unwrap();
        let state = Journal::read(&path).unwrap();
        assert_eq!(state.trust, Trust::Damaged { good_records: 3 });
        assert!(!state.skipped.contains(&7));
        assert!(
            !state.skipped.contains(&2),
            "nothing after the damage is believed"
        );
    }

    #[test]
    fn journals_without_checksums_still_read() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("old.jsonl");
        let id = JobId::random();
        let spec = JobSpec::copy(vec!["/a".into()], "/b");
        let lines = [
            serde_json::to_string(&Record::Job { id, spec }).unwrap(),
            serde_json::to_string(&Record::Skipped { i: 3 }).unwrap(),
        ];
        fs::write(&path, lines.join("\n") + "\n").unwrap();
        let state = Journal::read(&path).unwrap();
        assert!(!state.checksummed);
        assert!(state.skipped.contains(&3));
    }

    #[test]
    fn a_new_journal_appears_only_with_its_first_records() {
        let (dir, path, id) = journal_with(&[]);
        assert_eq!(path, Journal::path_for(dir.path(), id));
        let names: Vec<_> = fs::read_dir(Journal::dir(dir.path()))
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names.len(), 1, "no temporary journal left: {names:?}");
        assert!(Journal::read(&path).unwrap().plan.is_some());
    }
}
