//! Running one job: plan, journal, write every entry through the atomic
//! protocol, apply folder metadata, remove moved sources, and on failure of
//! an all-or-nothing job, roll everything back.
//!
//! ```
//! use ferry_engine::control::Control;
//! use ferry_engine::job::{JobId, JobOutcome, JobSpec};
//! use ferry_engine::transfer::{run_job, LiveProgress};
//!
//! let dir = tempfile::tempdir()?;
//! std::fs::create_dir(dir.path().join("src"))?;
//! std::fs::write(dir.path().join("src/a.txt"), b"hello")?;
//! let spec = JobSpec::copy(vec![dir.path().join("src")], dir.path().join("copy"));
//!
//! let data_dir = dir.path().join("data");
//! let progress = LiveProgress::default();
//! let summary = run_job(JobId::random(), &spec, &data_dir, &Control::default(), &progress, None);
//! assert_eq!(summary.outcome, JobOutcome::Completed);
//! assert_eq!(std::fs::read(dir.path().join("copy/a.txt"))?, b"hello");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod batch;

use std::collections::BTreeSet;
use std::ffi::OsString;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use super::atomic::{self, CommitOptions, Committed, parent_dir};
use super::control::Control;
use super::copy::{CopyMethod, CopyOptions, FileOutcome, copy_file};
use super::error::{Error, ErrorKind, Operation, Result};
use super::job::{
    Entry, EntryKind, FileError, JobId, JobOutcome, JobPlan, JobSpec, JobSummary, TransferKind,
};
use super::journal::{Journal, JournalState, Record};
use super::lock::{self, DestinationLock, LockMode, Wait};
use super::plan::plan_job;
use super::{known_dirs, names, platform};

/// A job's progress, updated by its worker and sampled by the engine.
#[derive(Debug, Default)]
pub struct LiveProgress {
    /// Bytes processed (written, or skipped).
    pub bytes_done: AtomicU64,
    /// Bytes in the plan.
    pub bytes_total: AtomicU64,
    /// Files and links processed.
    pub files_done: AtomicU64,
    /// Files and links in the plan.
    pub files_total: AtomicU64,
    current: Mutex<Option<PathBuf>>,
}

impl LiveProgress {
    /// The file being written now.
    pub fn current(&self) -> Option<PathBuf> {
        self.current
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    fn set_current(&self, path: Option<&Path>) {
        *self.current.lock().unwrap_or_else(|e| e.into_inner()) = path.map(Path::to_path_buf);
    }

    fn add_bytes(&self, n: u64) {
        let done = self.bytes_done.fetch_add(n, Ordering::Relaxed) + n;
        // A source that grew while copying must not push done past total.
        self.bytes_total.fetch_max(done, Ordering::Relaxed);
    }
}

/// Runs job `id` to its end and reports how it went. `resume` is the
/// journal of an earlier, interrupted run of the same job.
pub fn run_job(
    id: JobId,
    spec: &JobSpec,
    data_dir: &Path,
    control: &Control,
    progress: &LiveProgress,
    resume: Option<(Journal, JournalState)>,
) -> JobSummary {
    let started = Instant::now();
    let spec = &spec.absolute();
    let finish = |outcome, failed, warnings, runner: Option<&Runner<'_>>| JobSummary {
        outcome,
        files_done: runner.map_or(0, |r| r.files_written),
        bytes_done: runner.map_or(0, |r| r.bytes_written),
        skipped: runner.map_or(0, |r| r.skipped),
        failed,
        warnings,
        elapsed: started.elapsed(),
        method: runner.map_or_else(String::new, Runner::method),
    };

    let (journal, state, plan) = match resume {
        Some((journal, state)) => match state.plan.clone() {
            Some(plan) => (journal, Some(state), plan),
            None => {
                // The process died before its plan was durable: nothing was
                // written, so plan again.
                let _ = journal.remove();
                return run_job(id, spec, data_dir, control, progress, None);
            }
        },
        None => {
            let plan = match plan_job(spec) {
                Ok(plan) => plan,
                Err(errors) => {
                    let failed = errors
                        .iter()
                        .map(|e| FileError::from_error(e.paths()[0].clone(), e))
                        .collect();
                    return finish(JobOutcome::Failed, failed, Vec::new(), None);
                }
            };
            match Journal::create(data_dir, id, spec, &plan) {
                Ok(journal) => (journal, None, plan),
                Err(e) => {
                    let failed = vec![FileError::from_error(&spec.dest, &e)];
                    return finish(JobOutcome::Failed, failed, Vec::new(), None);
                }
            }
        }
    };

    // The sweeper looks for leftovers wherever Ferry has written.
    let dest_dirs: BTreeSet<&Path> = plan
        .entries
        .iter()
        .map(|e| {
            if e.is_dir() {
                &e.dest
            } else {
                parent_dir(&e.dest)
            }
        })
        .collect();
    let mut early_warnings = Vec::new();
    if let Err(e) = known_dirs::remember_in(data_dir, dest_dirs) {
        early_warnings.push(e.to_string());
    }
    progress
        .files_total
        .store(plan.total_files(), Ordering::Relaxed);
    progress
        .bytes_total
        .store(plan.total_bytes(), Ordering::Relaxed);
    let mut runner = Runner {
        spec,
        plan: &plan,
        journal: Mutex::new(journal),
        control,
        progress,
        failed: Vec::new(),
        warnings: [plan.warnings.clone(), early_warnings].concat(),
        files_written: 0,
        bytes_written: 0,
        skipped: 0,
        methods: BTreeSet::new(),
        dirty_dirs: Vec::new(),
        batch_mode: Runner::wants_batches(spec, &plan),
        done: BTreeSet::new(),
    };
    if let Some(state) = &state {
        runner.take_over(state);
    }
    runner.run_entries();

    let cancelled = control.is_cancelled();
    let outcome = if spec.all_or_nothing && (cancelled || !runner.failed.is_empty()) {
        if let Some(state) = runner.journal_state() {
            let problems = roll_back(&state);
            runner
                .warnings
                .extend(problems.iter().map(|e| format!("rollback: {e}")));
        }
        JobOutcome::RolledBack
    } else if cancelled {
        JobOutcome::Cancelled
    } else {
        if spec.all_or_nothing {
            runner.commit_all_or_nothing();
        }
        runner.finish_folders();
        if runner.failed.is_empty() {
            JobOutcome::Completed
        } else if runner.files_written == 0 && runner.skipped == 0 {
            JobOutcome::Failed
        } else {
            JobOutcome::CompletedWithErrors
        }
    };

    let failed = std::mem::take(&mut runner.failed);
    let mut warnings = std::mem::take(&mut runner.warnings);
    let mut summary = finish(outcome, failed, Vec::new(), Some(&runner));
    let journal = runner
        .journal
        .into_inner()
        .unwrap_or_else(|e| e.into_inner());
    let keep_journal = outcome == JobOutcome::Cancelled && control.is_interrupted();
    if !keep_journal && let Err(e) = journal.remove() {
        warnings.push(e.to_string());
    }
    summary.warnings = warnings;
    progress.set_current(None);
    summary
}

struct Runner<'a> {
    spec: &'a JobSpec,
    plan: &'a JobPlan,
    journal: Mutex<Journal>,
    control: &'a Control,
    progress: &'a LiveProgress,
    failed: Vec<FileError>,
    warnings: Vec<String>,
    files_written: u64,
    bytes_written: u64,
    skipped: u64,
    /// How data was moved, for the summary.
    methods: BTreeSet<CopyMethod>,
    /// Folders created but not yet made durable (batched jobs).
    dirty_dirs: Vec<PathBuf>,
    /// Whether small files go through batches.
    batch_mode: bool,
    /// Entries finished in an earlier run or this one.
    done: BTreeSet<usize>,
}

impl Runner<'_> {
    fn record(&self, record: Record, durable: bool) -> Result<()> {
        self.journal
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .append(&record, durable)
    }

    /// Appends several records with one write and one fsync.
    fn record_all(&self, records: &[Record]) -> Result<()> {
        self.journal
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .append_all(records, true)
    }

    /// Copy options for this job's files (no backup hook).
    fn copy_options<'s>(&'s self, on_temp: Option<&'s (dyn Fn(&Path) + Sync)>) -> CopyOptions<'s> {
        CopyOptions {
            policy: self.spec.policy,
            control: Some(self.control),
            wait: Wait::Block,
            verify: self.spec.verify,
            before_replace: None,
            on_temp,
        }
    }

    /// Everything the journal has recorded so far (what a rollback or the
    /// commit point works from).
    fn journal_state(&mut self) -> Option<JournalState> {
        let path = self
            .journal
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .path()
            .to_path_buf();
        match Journal::read(&path) {
            Ok(state) => Some(state),
            Err(e) => {
                self.warnings.push(e.to_string());
                None
            }
        }
    }

    fn method(&self) -> String {
        let names: Vec<&str> = self.methods.iter().map(|m| m.as_str()).collect();
        names.join(" + ")
    }

    /// Picks up where an interrupted run stopped.
    fn take_over(&mut self, state: &JournalState) {
        for (&i, (temp, _)) in &state.temps {
            if temp.file_name().is_some_and(names::is_temp_name) {
                let _ = fs::remove_file(temp);
            }
            clear_stale_lock(&self.plan.entries[i].dest);
        }
        self.remove_dead_temps(state);
        let mut done = state.done.clone();
        // Committed just before the process died, before the journal said
        // so: the destination is already the source's copy. (Without
        // all-or-nothing, any destination that matches its source in size
        // and modification time counts as done, as rsync's quick check does;
        // with it, only one this job created, so a rollback stays exact.)
        for (i, entry) in self.plan.entries.iter().enumerate() {
            let ours = match state.temps.get(&i) {
                Some((_, existed)) => !existed,
                None => !self.spec.all_or_nothing,
            };
            if ours
                && !entry.is_dir()
                && !done.contains_key(&i)
                && same_file_data(&entry.src, &entry.dest)
            {
                let bytes = fs::metadata(&entry.dest).map_or(0, |m| m.len());
                let _ = self.record(
                    Record::Done {
                        i,
                        dest: entry.dest.clone(),
                        bytes,
                    },
                    true,
                );
                done.insert(i, (entry.dest.clone(), bytes));
            }
        }
        for (&i, (_, bytes)) in &done {
            self.done.insert(i);
            if matches!(
                self.plan.entries[i].kind,
                EntryKind::File { .. } | EntryKind::Symlink { .. }
            ) {
                self.progress.files_done.fetch_add(1, Ordering::Relaxed);
                self.progress.add_bytes(*bytes);
                self.files_written += 1;
            }
            if self.spec.kind == TransferKind::Move
                && !self.spec.all_or_nothing
                && !state.sources_removed.contains(&i)
            {
                let entry = &self.plan.entries[i];
                if !entry.is_dir() {
                    self.remove_source(i, entry);
                }
            }
        }
    }

    /// Removes the temps a dead run of this job left beside its unfinished
    /// destinations (found by name, so also those the journal never heard
    /// of), each only if no live writer holds its lock.
    fn remove_dead_temps(&self, state: &JournalState) {
        let mut wanted: BTreeSet<(&Path, OsString)> = BTreeSet::new();
        for (i, entry) in self.plan.entries.iter().enumerate() {
            if !entry.is_dir()
                && !state.done.contains_key(&i)
                && let Some(name) = entry.dest.file_name()
            {
                wanted.insert((parent_dir(&entry.dest), names::temp_stem_for(name)));
            }
        }
        let dirs: BTreeSet<&Path> = wanted.iter().map(|(d, _)| *d).collect();
        for dir in dirs {
            let Ok(read) = fs::read_dir(dir) else {
                continue;
            };
            for item in read.flatten() {
                let name = item.file_name();
                let Some(stem) = names::temp_stem(&name) else {
                    continue;
                };
                if !wanted.contains(&(dir, stem.to_os_string())) {
                    continue;
                }
                let path = item.path();
                let Ok(file) = platform::open_lock_file_existing(&path) else {
                    continue;
                };
                let regular = file.metadata().is_ok_and(|m| m.is_file());
                if regular && lock::try_lock(&file, LockMode::Exclusive).unwrap_or(false) {
                    let _ = fs::remove_file(&path);
                }
            }
        }
    }

    fn run_entries(&mut self) {
        let mut failed_dirs: Vec<PathBuf> = Vec::new();
        let mut batch = batch::Batch::default();
        for (i, entry) in self.plan.entries.iter().enumerate() {
            if self.done.contains(&i) {
                continue;
            }
            if !self.control.checkpoint() {
                return;
            }
            if let Some(dir) = failed_dirs.iter().find(|d| entry.dest.starts_with(d)) {
                let err = Error::new(
                    ErrorKind::NotFound,
                    Operation::CreateDir,
                    dir,
                    "its folder could not be created",
                );
                self.fail(i, entry, &err);
                continue;
            }
            if let EntryKind::File { size } = entry.kind
                && self.batchable(&entry.kind)
            {
                if batch.push(i, size) {
                    self.flush_batch(batch.take());
                }
                continue;
            }
            self.progress.set_current(Some(&entry.dest));
            let result = match &entry.kind {
                EntryKind::Dir { .. } => self.make_dir(i, entry),
                EntryKind::File { size } => self.transfer_file(i, entry, *size),
                EntryKind::Symlink { target } => self.transfer_symlink(i, entry, target),
            };
            if let Err(e) = result {
                if e.kind() == ErrorKind::Cancelled {
                    return;
                }
                if entry.is_dir() {
                    failed_dirs.push(entry.dest.clone());
                }
                self.fail(i, entry, &e);
                if self.spec.all_or_nothing {
                    return;
                }
            }
        }
        if !batch.is_empty() && !self.control.is_cancelled() {
            self.flush_batch(batch);
        }
        if !self.dirty_dirs.is_empty() {
            let dirs: Vec<&Path> = self.dirty_dirs.iter().map(PathBuf::as_path).collect();
            if let Err(e) = platform::sync_dirs(&dirs) {
                self.warnings
                    .push(Error::io(Operation::Sync, dirs[0], e).to_string());
            }
            self.dirty_dirs.clear();
        }
    }

    fn fail(&mut self, i: usize, entry: &Entry, err: &Error) {
        let error = FileError::from_error(&entry.src, err);
        let _ = self.record(
            Record::Failed {
                i,
                error: error.clone(),
            },
            false,
        );
        if !entry.is_dir() {
            self.progress.files_done.fetch_add(1, Ordering::Relaxed);
        }
        self.failed.push(error);
    }

    fn make_dir(&mut self, i: usize, entry: &Entry) -> Result<()> {
        match fs::symlink_metadata(&entry.dest) {
            Ok(meta) if meta.is_dir() => {}
            Ok(_) => {
                return Err(Error::new(
                    ErrorKind::AlreadyExists,
                    Operation::CreateDir,
                    &entry.dest,
                    "a file of that name is in the way of the folder",
                ));
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                fs::create_dir(&entry.dest)
                    .map_err(|e| Error::io(Operation::CreateDir, &entry.dest, e))?;
                self.record(Record::DirCreated { i }, self.spec.all_or_nothing)?;
                let parent = parent_dir(&entry.dest);
                if self.batching() {
                    // Made durable with the next batch's folders.
                    self.dirty_dirs.push(parent.to_path_buf());
                } else {
                    platform::sync_dir(parent)
                        .map_err(|e| Error::io(Operation::Sync, parent, e))?;
                }
            }
            Err(e) => return Err(Error::io(Operation::Inspect, &entry.dest, e)),
        }
        self.done.insert(i);
        Ok(())
    }

    fn transfer_file(&mut self, i: usize, entry: &Entry, size: u64) -> Result<()> {
        let aon = self.spec.all_or_nothing;
        if self.spec.kind == TransferKind::Move && !aon {
            match self.rename_into_place(i, entry, size) {
                Err(e) if e.kind() == ErrorKind::CrossDevice => {}
                other => return other,
            }
        }
        let backup_hook = |dest: &Path| self.keep_backup(i, dest);
        let temp_hook = |temp: &Path| {
            let existed = fs::symlink_metadata(&entry.dest).is_ok();
            let record = Record::Temp {
                i,
                path: temp.to_path_buf(),
                existed,
            };
            let _ = self.record(record, aon);
        };
        let options = CopyOptions {
            before_replace: aon.then_some(&backup_hook as _),
            ..self.copy_options(Some(&temp_hook))
        };
        let mut written = 0u64;
        let progress = self.progress;
        let result = copy_file(&entry.src, &entry.dest, &options, &mut |n| {
            written += n;
            progress.add_bytes(n);
        });
        match result {
            Ok(FileOutcome::Copied {
                path,
                bytes,
                method,
                ..
            }) => {
                self.methods.insert(method);
                self.record(
                    Record::Done {
                        i,
                        dest: path,
                        bytes,
                    },
                    true,
                )?;
                self.file_finished(i, size, written, true);
                self.bytes_written += bytes;
                if self.spec.kind == TransferKind::Move && !aon {
                    self.remove_source(i, entry);
                }
                Ok(())
            }
            Ok(FileOutcome::Skipped) => {
                self.record(Record::Skipped { i }, false)?;
                self.file_finished(i, size, written, false);
                Ok(())
            }
            Err(e) => {
                if e.kind() != ErrorKind::Cancelled {
                    self.progress.add_bytes(size.saturating_sub(written));
                }
                Err(e)
            }
        }
    }

    /// A move within one filesystem: a locked rename, then both folders
    /// fsynced.
    fn rename_into_place(&mut self, i: usize, entry: &Entry, size: u64) -> Result<()> {
        let options = CommitOptions {
            cancel: Some(self.control.cancel_flag()),
            source_modified: fs::symlink_metadata(&entry.src)
                .and_then(|m| m.modified())
                .ok(),
            ..CommitOptions::new(self.spec.policy)
        };
        match atomic::commit_path(&entry.src, &entry.dest, &options)? {
            Committed::Written { path, .. } => {
                let src_dir = parent_dir(&entry.src);
                platform::sync_dir(src_dir).map_err(|e| Error::io(Operation::Sync, src_dir, e))?;
                self.record(
                    Record::Done {
                        i,
                        dest: path,
                        bytes: size,
                    },
                    true,
                )?;
                self.record(Record::SourceRemoved { i }, false)?;
                self.methods.insert(CopyMethod::Rename);
                self.bytes_written += size;
                self.file_finished(i, size, 0, true);
            }
            Committed::Skipped => {
                self.record(Record::Skipped { i }, false)?;
                self.file_finished(i, size, 0, false);
            }
        }
        Ok(())
    }

    fn transfer_symlink(&mut self, i: usize, entry: &Entry, target: &Path) -> Result<()> {
        if self.spec.kind == TransferKind::Move && !self.spec.all_or_nothing {
            match self.rename_into_place(i, entry, 0) {
                Err(e) if e.kind() == ErrorKind::CrossDevice => {}
                other => return other,
            }
        }
        let backup_hook = |dest: &Path| self.keep_backup(i, dest);
        let options = CommitOptions {
            cancel: Some(self.control.cancel_flag()),
            before_replace: self.spec.all_or_nothing.then_some(&backup_hook as _),
            ..CommitOptions::new(self.spec.policy)
        };
        match atomic::create_symlink(target, &entry.dest, &options)? {
            Committed::Written { path, .. } => {
                self.record(
                    Record::Done {
                        i,
                        dest: path,
                        bytes: 0,
                    },
                    true,
                )?;
                self.file_finished(i, 0, 0, true);
                if self.spec.kind == TransferKind::Move && !self.spec.all_or_nothing {
                    self.remove_source(i, entry);
                }
            }
            Committed::Skipped => {
                self.record(Record::Skipped { i }, false)?;
                self.file_finished(i, 0, 0, false);
            }
        }
        Ok(())
    }

    fn file_finished(&mut self, i: usize, size: u64, written: u64, written_out: bool) {
        self.done.insert(i);
        self.progress.files_done.fetch_add(1, Ordering::Relaxed);
        self.progress.add_bytes(size.saturating_sub(written));
        if written_out {
            self.files_written += 1;
        } else {
            self.skipped += 1;
        }
    }

    /// Keeps the file about to be replaced as a hard link beside it, durably,
    /// before the replacing rename (all-or-nothing jobs).
    fn keep_backup(&self, i: usize, dest: &Path) -> Result<()> {
        let name = dest.file_name().unwrap_or(dest.as_os_str());
        let backup = dest.with_file_name(names::backup_name(name, names::random_u64()));
        fs::hard_link(dest, &backup).map_err(|e| {
            Error::io(Operation::Write, dest, e)
                .with_detail("could not keep a backup of the file before replacing it")
        })?;
        let dir = parent_dir(dest);
        platform::sync_dir(dir).map_err(|e| Error::io(Operation::Sync, dir, e))?;
        self.record(Record::Backup { i, path: backup }, true)
    }

    /// Removes the source of a committed entry (moves), fsyncing its folder.
    fn remove_source(&mut self, i: usize, entry: &Entry) {
        let result = fs::remove_file(&entry.src).or_else(|e| match e.kind() {
            io::ErrorKind::NotFound => Ok(()),
            _ => Err(e),
        });
        match result.and_then(|()| platform::sync_dir(parent_dir(&entry.src))) {
            Ok(()) => {
                let _ = self.record(Record::SourceRemoved { i }, false);
            }
            Err(e) => self.warnings.push(format!(
                "'{}' was copied but could not be removed: {}",
                entry.src.display(),
                Error::io(Operation::Remove, &entry.src, e)
            )),
        }
    }

    /// The commit point of an all-or-nothing job: from here on the new tree
    /// stays; backups go, and moved sources are removed.
    fn commit_all_or_nothing(&mut self) {
        if let Err(e) = self.record(Record::Committed, true) {
            self.warnings.push(e.to_string());
        }
        let Some(state) = self.journal_state() else {
            return;
        };
        for backup in state.backups.values() {
            let _ = fs::remove_file(backup);
        }
        if self.spec.kind == TransferKind::Move {
            for &i in state.done.keys() {
                let entry = &self.plan.entries[i];
                if !entry.is_dir() {
                    self.remove_source(i, entry);
                }
            }
        }
    }

    /// Applies folder modes and times after their contents, and removes the
    /// emptied source folders of a move.
    fn finish_folders(&mut self) {
        for entry in self.plan.entries.iter().rev() {
            if !entry.is_dir() {
                continue;
            }
            if let EntryKind::Dir { meta } = &entry.kind
                && let Err(e) = platform::apply_dir_meta(meta, &entry.dest)
            {
                self.warnings
                    .push(Error::io(Operation::SetMetadata, &entry.dest, e).to_string());
            }
            if self.spec.kind == TransferKind::Move {
                match fs::remove_dir(&entry.src) {
                    Ok(()) => {
                        let _ = platform::sync_dir(parent_dir(&entry.src));
                    }
                    Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                    Err(_) => self.warnings.push(format!(
                        "kept the folder '{}': it still holds files that were not moved",
                        entry.src.display()
                    )),
                }
            }
        }
    }
}

/// Undoes an all-or-nothing job from its journal: removes its temps and new
/// files, puts back every file it replaced, removes the folders it created.
/// Returns the problems met (it goes on past them).
pub fn roll_back(state: &JournalState) -> Vec<Error> {
    let mut errors = Vec::new();
    let mut touched_dirs = BTreeSet::new();
    let entries = state.plan.as_ref().map_or(&[][..], |p| &p.entries[..]);
    let remove = |path: &Path, errors: &mut Vec<Error>| match fs::remove_file(path) {
        Ok(()) => true,
        Err(e) if e.kind() == io::ErrorKind::NotFound => false,
        Err(e) => {
            errors.push(Error::io(Operation::Remove, path, e));
            false
        }
    };
    for (&i, (temp, _)) in &state.temps {
        if remove(temp, &mut errors) {
            touched_dirs.insert(parent_dir(temp).to_path_buf());
        }
        if let Some(entry) = entries.get(i) {
            clear_stale_lock(&entry.dest);
        }
    }
    for (&i, backup) in &state.backups {
        let Some(entry) = entries.get(i) else {
            continue;
        };
        let dest = state.done.get(&i).map_or(&entry.dest, |(d, _)| d);
        if backup.exists() {
            // Renaming a link over another link of the same file does
            // nothing, so remove the backup if it is still there.
            if let Err(e) = fs::rename(backup, dest) {
                errors.push(Error::io(Operation::Rename, backup, e).with_path(dest));
            }
            remove(backup, &mut errors);
            touched_dirs.insert(parent_dir(dest).to_path_buf());
        }
    }
    for (&i, (dest, _)) in state.done.iter().rev() {
        let is_dir = entries.get(i).is_none_or(|e| e.is_dir());
        if !is_dir && !state.backups.contains_key(&i) && remove(dest, &mut errors) {
            touched_dirs.insert(parent_dir(dest).to_path_buf());
        }
    }
    // Committed but not yet journaled as done (a crash right after the
    // rename): the destination did not exist before and is ours.
    for (&i, (_, existed)) in &state.temps {
        let Some(entry) = entries.get(i) else {
            continue;
        };
        if !existed && !state.done.contains_key(&i) && same_file_data(&entry.src, &entry.dest) {
            remove(&entry.dest, &mut errors);
        }
    }
    for &i in state.dirs_created.iter().rev() {
        if let Some(entry) = entries.get(i)
            && fs::remove_dir(&entry.dest).is_ok()
        {
            touched_dirs.insert(parent_dir(&entry.dest).to_path_buf());
        }
    }
    for dir in touched_dirs {
        let _ = platform::sync_dir(&dir);
    }
    errors
}

/// Removes the destination lock a dead process left beside `dest`: taking
/// it and letting it go unlinks it (and leaves it alone if a live writer
/// holds it).
fn clear_stale_lock(dest: &Path) {
    if DestinationLock::sidecar_path(dest).exists() {
        let _ = DestinationLock::acquire(dest, LockMode::Exclusive, Wait::Try, None);
    }
}

/// Whether `a` and `b` are regular files of equal size and modification
/// time (how Ferry's copies look).
fn same_file_data(a: &Path, b: &Path) -> bool {
    match (fs::metadata(a), fs::symlink_metadata(b)) {
        (Ok(a), Ok(b)) => {
            b.is_file() && a.len() == b.len() && a.modified().ok() == b.modified().ok()
        }
        _ => false,
    }
}
