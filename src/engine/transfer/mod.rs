//! Running one job: plan, journal, write every entry through the atomic
//! protocol, apply folder metadata, remove moved sources, and on failure of
//! an all-or-nothing job, roll everything back.
//!
//! * [`entries`]: one entry of each kind (folder, file, link, hard link,
//!   move by rename), each journaled before it acts;
//! * [`batch`]: small files staged and made durable in batches;
//! * [`recover`]: taking over a dead run (resume) and undoing one
//!   (rollback), recognising what it did by file identity;
//! * [`notes`]: what the destination could not keep, one warning per kind.
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

mod ask;
mod batch;
mod entries;
mod notes;
mod recover;
mod refuse;
mod symlinks;

use std::collections::{BTreeSet, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use super::os::path::parent_dir;
use super::caps::{self, Traits};
use super::control::Control;
use super::copy::{Continue, CopyMethod, CopyOptions};
use super::error::{Error, ErrorKind, Operation, Result};
use super::job::ConflictPolicy;
use super::job::{
    Conflict, Entry, EntryKind, FileError, JobId, JobOutcome, JobPlan, JobSpec, JobSummary,
};
use super::journal::{Journal, JournalState, Record, Trust};
use super::lock::Wait;
use super::manifest::Manifest;
use super::plan::plan_job;
use super::{faults, known_dirs, os};

#[cfg(feature = "internals")]
pub use recover::RollbackReport;
pub use recover::{discard, roll_back};

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
    /// Conflicts asked and not yet published.
    conflicts: Mutex<Vec<Conflict>>,
    /// What the job is doing now ([`Phase`] as a number).
    phase: std::sync::atomic::AtomicU8,
    /// Set once the plan is made (the totals are known).
    planned: std::sync::atomic::AtomicBool,
    /// Verifying: bytes read back of the current file, and its size.
    verify_done: AtomicU64,
    verify_total: AtomicU64,
}

/// What a job is doing now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// Copying data (or renaming).
    #[default]
    Copying,
    /// Reading copies back to check them (`--verify`).
    Verifying,
    /// Waiting for the disk to make data durable.
    Flushing,
    /// Waiting for a person to answer a conflict.
    Asking,
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

    /// The conflicts asked since the last call (the engine publishes them).
    pub fn take_conflicts(&self) -> Vec<Conflict> {
        std::mem::take(&mut *self.conflicts.lock().unwrap_or_else(|e| e.into_inner()))
    }

    fn push_conflict(&self, conflict: Conflict) {
        self.conflicts
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(conflict);
    }

    /// Whether the job's plan is made (it was accepted).
    pub fn is_planned(&self) -> bool {
        self.planned.load(Ordering::Relaxed)
    }

    /// What the job is doing now.
    pub fn phase(&self) -> Phase {
        match self.phase.load(Ordering::Relaxed) {
            1 => Phase::Verifying,
            2 => Phase::Flushing,
            3 => Phase::Asking,
            _ => Phase::Copying,
        }
    }

    /// Says what the job is doing now.
    pub fn set_phase(&self, phase: Phase) {
        self.phase.store(phase as u8, Ordering::Relaxed);
    }

    /// While verifying: bytes of the current file read back, and its size.
    pub fn verify_progress(&self) -> Option<(u64, u64)> {
        (self.phase() == Phase::Verifying).then(|| {
            (
                self.verify_done.load(Ordering::Relaxed),
                self.verify_total.load(Ordering::Relaxed),
            )
        })
    }

    /// Follows a copy's stages (see [`crate::copy::Stage`]).
    pub fn stage(&self, stage: crate::copy::Stage) {
        use crate::copy::Stage;
        match stage {
            Stage::Flushing => self.set_phase(Phase::Flushing),
            Stage::Verifying(done, total) => {
                self.verify_done.store(done, Ordering::Relaxed);
                self.verify_total.store(total, Ordering::Relaxed);
                self.set_phase(Phase::Verifying);
            }
            Stage::Done => self.set_phase(Phase::Copying),
        }
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
    let failed_summary = |failed| JobSummary {
        failed,
        elapsed: started.elapsed(),
        ..JobSummary::empty(JobOutcome::Failed)
    };

    let (journal, mut state, plan) = match resume {
        Some((_, state)) if matches!(state.trust, Trust::Damaged { .. }) => {
            let err = damaged_journal(&state, data_dir);
            return failed_summary(vec![FileError::from_error(&spec.dest, &err)]);
        }
        // The plan moves out of the journal's state: a million entries are
        // not held twice.
        Some((journal, mut state)) => match state.plan.take() {
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
                    return failed_summary(failed);
                }
            };
            match Journal::create(data_dir, id, spec, &plan) {
                Ok(journal) => (journal, None, plan),
                Err(e) => return failed_summary(vec![FileError::from_error(&spec.dest, &e)]),
            }
        }
    };

    // The sweeper looks for leftovers wherever Ferry has written.
    let dest_dirs = distinct_folders(
        (0..plan.len()).map(|i| plan.folder_dest(i).unwrap_or_else(|| plan.dest_parent(i))),
    );
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
    progress.planned.store(true, Ordering::Relaxed);
    let found = probe_destination(spec);
    let traits = found.as_ref().map(|c| c.traits()).unwrap_or_default();
    let same_fs = found
        .as_ref()
        .is_some_and(|c| on_device(spec, c.device) && os::HAS_FILE_IDS);
    // Files larger than the drive holds are refused up front (below, or
    // at their turn); they count for no space.
    // (Sizes are looked at first: a plan of a million entries is not made
    // whole entry by entry for a drive without a size limit.)
    let too_large: Vec<(Entry, Error)> = match traits.max_file_size {
        None => Vec::new(),
        Some(max) => (0..plan.len())
            .filter(|&i| plan.file_size(i).is_some_and(|size| size > max))
            .filter_map(|i| {
                let entry = plan.entry(i);
                refuse::too_large(&traits, &entry).map(|e| (entry, e))
            })
            .collect(),
    };
    let refused_bytes: u64 = too_large
        .iter()
        .map(|(entry, _)| match entry.kind {
            EntryKind::File { size } => size,
            _ => 0,
        })
        .sum();
    let space = check_space(spec, &plan, found.as_ref(), refused_bytes);
    if spec.all_or_nothing && (space.is_err() || !too_large.is_empty()) {
        // All or nothing cannot succeed: every reason is told, nothing is
        // written.
        let _ = journal.remove();
        let mut failed: Vec<FileError> = too_large
            .iter()
            .map(|(entry, e)| {
                let mut error = FileError::from_error(&entry.src, e);
                error.dest = Some(entry.dest.clone());
                error
            })
            .collect();
        if let Err(e) = &space {
            failed.push(FileError::from_error(&spec.dest, e));
        }
        return failed_summary(failed);
    }
    if let Err(e) = space {
        early_warnings.push(e.cause());
    }
    let link_targets = (0..plan.len())
        .filter_map(|i| match plan.kind(i) {
            EntryKind::HardLink { first } => Some(first),
            _ => None,
        })
        .collect();
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
        previously_done: 0,
        replaced: 0,
        renamed: 0,
        methods: BTreeSet::new(),
        dirty_dirs: Vec::new(),
        batch_mode: Runner::wants_batches(spec, &plan, same_fs),
        rename_batches: Runner::wants_rename_batches(spec, &plan, same_fs),
        done: BTreeSet::new(),
        notes: notes::MetaNotes::default(),
        link_targets,
        placed: HashMap::new(),
        traits,
        names_seen: HashMap::new(),
        asked: BTreeSet::new(),
        answered: HashMap::new(),
        for_all: None,
        manifest: None,
        continuations: HashMap::new(),
        moved_trees: Vec::new(),
        fresh_dirs: std::collections::HashSet::new(),
        stage_hook: Box::new(move |s| progress.stage(s)),
        named_sources: match spec.kind {
            super::job::TransferKind::Copy => (spec.sources.iter().cloned())
                .chain(spec.pairs.iter().map(|(s, _)| s.clone()))
                .collect(),
            super::job::TransferKind::Move => Default::default(),
        },
    };
    if let Some(path) = &spec.checksums {
        match Manifest::create(path) {
            Ok(manifest) => runner.manifest = Some(Mutex::new(manifest)),
            Err(e) => runner
                .warnings
                .push(format!("no checksum manifest will be written: {e}")),
        }
    }
    if let Some(state) = &mut state {
        // A torn last record may hide an act that was done: journal what
        // is found of it before anything else happens.
        if state.trust == Trust::TornTail {
            let found = recover::unjournaled(&plan, state);
            if !found.is_empty() {
                if let Err(e) = runner.record_all(&found) {
                    runner.warnings.push(e.to_string());
                }
                found.into_iter().for_each(|r| state.apply(r));
            }
        }
        runner.take_over_answers(state);
        runner.take_over(state);
    }
    faults::point("after-plan");
    runner.run_entries();
    if !control.is_cancelled() {
        runner.settle_questions();
    }

    let cancelled = control.is_cancelled();
    let mut keep_journal = false;
    // Interrupted (SIGINT, SIGTERM, the window closing), an all-or-nothing
    // job stays journaled like any other: `ferry resume` finishes it,
    // `ferry rollback` undoes it. A cancel or a failure undoes it now.
    let interrupted = control.is_interrupted();
    let outcome = if spec.all_or_nothing
        && !interrupted
        && (cancelled || !runner.failed.is_empty())
    {
        if let Some(state) = runner.journal_state() {
            let report = roll_back(state);
            keep_journal = !report.complete();
            runner.warnings.extend(report.messages());
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
        } else if runner.files_written == 0 && runner.skipped == 0 && runner.previously_done == 0 {
            JobOutcome::Failed
        } else {
            JobOutcome::CompletedWithErrors
        }
    };

    if let Some(manifest) = runner.manifest.take() {
        let manifest = manifest.into_inner().unwrap_or_else(|e| e.into_inner());
        let wanted = matches!(
            outcome,
            JobOutcome::Completed
                | JobOutcome::CompletedWithErrors
                | JobOutcome::CompletedWithWarnings
        );
        if wanted && let Err(e) = manifest.commit() {
            runner
                .warnings
                .push(format!("the checksum manifest was not written: {e}"));
        }
    }
    let failed = std::mem::take(&mut runner.failed);
    let mut warnings = std::mem::take(&mut runner.warnings);
    warnings.extend(runner.notes.warnings(&runner.traits));
    let summary = JobSummary {
        outcome,
        files_done: runner.files_written,
        bytes_done: runner.bytes_written,
        skipped: runner.skipped,
        replaced: runner.replaced,
        renamed: runner.renamed,
        previously_done: runner.previously_done,
        failed,
        warnings: Vec::new(),
        elapsed: started.elapsed(),
        method: runner.method(),
        resumable: false,
    };
    let journal = runner
        .journal
        .into_inner()
        .unwrap_or_else(|e| e.into_inner());
    keep_journal |= outcome == JobOutcome::Cancelled && control.is_interrupted();
    if !keep_journal && let Err(e) = journal.remove() {
        warnings.push(e.to_string());
    }
    progress.set_current(None);
    JobSummary {
        warnings,
        resumable: keep_journal,
        ..summary
    }
}

/// The distinct folders among `folders`, which come grouped as a plan's
/// entries do: a set built one by one, never a list of them all first (a
/// plan may hold a million entries in a thousand folders).
pub(super) fn distinct_folders<'p>(folders: impl Iterator<Item = &'p Path>) -> BTreeSet<&'p Path> {
    let mut distinct = BTreeSet::new();
    let mut last = None;
    for folder in folders {
        if last != Some(folder) {
            distinct.insert(folder);
            last = Some(folder);
        }
    }
    distinct
}

/// One past the last entry of the folder at entry `i` (its contents follow
/// it in the plan); `i + 1` for anything else.
pub(crate) fn subtree_end(plan: &JobPlan, i: usize) -> usize {
    let Some(top) = plan.folder_dest(i) else {
        return i + 1;
    };
    (i + 1..plan.len())
        .find(|&j| !plan.dest(j).starts_with(top))
        .unwrap_or(plan.len())
}

/// The error for a journal whose damage is not a torn last line.
pub(crate) fn damaged_journal(state: &JournalState, data_dir: &Path) -> Error {
    let good = match state.trust {
        Trust::Damaged { good_records } => good_records,
        _ => 0,
    };
    Error::new(
        ErrorKind::InvalidInput,
        Operation::ReadState,
        Journal::path_for(data_dir, state.id),
        format!(
            "the journal is damaged after its first {good} records, so Ferry cannot tell what \
             the interrupted run did; it was kept for inspection and nothing was changed"
        ),
    )
}

struct Runner<'a> {
    spec: &'a JobSpec,
    plan: &'a JobPlan,
    journal: Mutex<Journal>,
    control: &'a Control,
    progress: &'a LiveProgress,
    failed: Vec<FileError>,
    warnings: Vec<String>,
    /// Files and links written by this run.
    files_written: u64,
    bytes_written: u64,
    skipped: u64,
    /// Files and links an earlier run had finished.
    previously_done: u64,
    /// Of the files written, those that replaced one.
    replaced: u64,
    /// Of the files written, those put under a numbered name.
    renamed: u64,
    /// How data was moved, for the summary.
    methods: BTreeSet<CopyMethod>,
    /// Folders created but not yet made durable (batched jobs).
    dirty_dirs: Vec<PathBuf>,
    /// Whether small files go through batches.
    batch_mode: bool,
    /// Whether a move within one filesystem renames its files in batches.
    rename_batches: bool,
    /// Entries finished in an earlier run or this one.
    done: BTreeSet<usize>,
    /// What the destination could not keep.
    notes: notes::MetaNotes,
    /// Entries other entries are hard links of.
    link_targets: HashSet<usize>,
    /// Where those entries were put.
    placed: HashMap<usize, PathBuf>,
    /// What the destination's filesystem can do.
    traits: Traits,
    /// On a case-insensitive destination: the names this job has written
    /// in each folder, lower-cased, with the first spelling.
    names_seen: HashMap<(PathBuf, std::ffi::OsString), std::ffi::OsString>,
    /// Entries waiting for a person's answer.
    asked: BTreeSet<usize>,
    /// Answers given, by entry.
    answered: HashMap<usize, ConflictPolicy>,
    /// An answer given "for all" conflicts of the job.
    for_all: Option<ConflictPolicy>,
    /// The checksum manifest being written, if the job keeps one.
    manifest: Option<Mutex<Manifest>>,
    /// Temps of a dead run to continue, by entry (resume mid-file).
    continuations: HashMap<usize, Continue>,
    /// Folders this run created (empty when made: nothing of the job's is in
    /// them yet, so no early look for existing files).
    fresh_dirs: std::collections::HashSet<PathBuf>,
    /// Folders moved whole (first entry, one past the last).
    moved_trees: Vec<(usize, usize)>,
    /// Passes a copy's stages to the progress.
    stage_hook: Box<dyn Fn(crate::copy::Stage) + Sync + 'a>,
    /// The sources the user named, for a copy: a link there is followed
    /// (as `cp` does); anywhere else it is never followed.
    named_sources: std::collections::HashSet<PathBuf>,
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

    /// Appends several records with one write, without an fsync (a later
    /// [`sync_journal`](Self::sync_journal) makes them durable).
    fn record_all_lazily(&self, records: &[Record]) -> Result<()> {
        self.journal
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .append_all(records, false)
    }

    /// Makes every record so far durable.
    fn sync_journal(&self) -> Result<()> {
        self.journal
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .sync()
    }

    /// Copy options for entry `i`, `entry` (no hooks).
    fn copy_options(&self, i: usize, entry: &Entry) -> CopyOptions<'_> {
        CopyOptions {
            policy: self.policy_for(i),
            control: Some(self.control),
            wait: Wait::Block,
            verify: self.spec.verify,
            hash: self.manifest.is_some(),
            before_replace: None,
            before_place: None,
            traits: &self.traits,
            on_temp: None,
            dest_free: self
                .fresh_dirs
                .contains(self.plan.dest_parent(i)),
            unnamed_temp: false,
            resume: None,
            on_durable: None,
            on_stage: Some(&self.stage_hook),
            follow: self.named_sources.contains(&entry.src),
            planned: self.plan.source_id(i),
        }
    }

    /// Everything the journal has recorded so far (what a rollback or the
    /// commit point works from).
    fn journal_state(&mut self) -> Option<JournalState> {
        let path = {
            let mut journal = self.journal.lock().unwrap_or_else(|e| e.into_inner());
            if let Err(e) = journal.sync() {
                self.warnings.push(e.to_string());
            }
            journal.path().to_path_buf()
        };
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

    fn run_entries(&mut self) {
        // Folders that could not be made, with why: what they hold fails
        // with the very same error (one message per folder, not one per
        // file in it).
        // A refused folder's error, passed on to what it holds.
        let mut failed_dirs: Vec<(PathBuf, Error)> = Vec::new();
        let mut batch = batch::Batch::default();
        let mut renames = batch::Batch::default();
        let mut links = batch::Batch::default();
        for (i, entry) in self.plan.iter().enumerate() {
            let entry = &entry;
            if self.done.contains(&i) {
                continue;
            }
            if !self.control.checkpoint() {
                return;
            }
            self.take_answers();
            faults::before_entry();
            if let Some((_, err)) = failed_dirs
                .iter()
                .find(|(dir, _)| entry.dest.starts_with(dir))
            {
                self.fail(i, entry, err);
                continue;
            }
            if let Some(refusal) = self.refusal(i, entry) {
                if entry.is_dir() {
                    failed_dirs.push((entry.dest.clone(), refusal.restated_at(&entry.dest)));
                }
                match refusal.kind() {
                    ErrorKind::AlreadyExists if self.policy_for(i) == ConflictPolicy::Skip => {
                        let _ = self.record(Record::Skipped { i }, false);
                        let size = self.entry_size(entry);
                        self.file_finished(i, size, 0, false);
                    }
                    _ => {
                        let size = self.entry_size(entry);
                        self.progress.add_bytes(size);
                        self.fail(i, entry, &refusal);
                    }
                }
                continue;
            }
            if entry.is_dir() && self.moves_by_rename() {
                match self.move_tree(i, entry) {
                    Ok(true) => continue,
                    Ok(false) => {}
                    Err(e) => {
                        self.fail(i, entry, &e);
                        continue;
                    }
                }
            }
            if self.rename_batches && !entry.is_dir() {
                if renames.push(i, 0) {
                    self.flush_renames(renames.take());
                }
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
            if matches!(entry.kind, EntryKind::Symlink { .. }) && self.batches_symlinks() {
                if links.push(i, 0) {
                    self.flush_symlinks(links.take());
                }
                continue;
            }
            if let EntryKind::HardLink { first } = entry.kind
                && batch.contains(first)
            {
                self.flush_batch(batch.take());
            }
            self.progress.set_current(Some(&entry.dest));
            let result = match &entry.kind {
                EntryKind::Dir { .. } => self.make_dir(i, entry),
                EntryKind::File { size } => self.transfer_file(i, entry, *size),
                EntryKind::Symlink { target } => self.transfer_symlink(i, entry, target),
                EntryKind::HardLink { first } => self.transfer_hard_link(i, entry, *first),
            };
            if let Err(e) = result {
                if e.kind() == ErrorKind::Cancelled {
                    return;
                }
                if entry.is_dir() {
                    failed_dirs.push((entry.dest.clone(), e.restated_at(&entry.dest)));
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
        if !renames.is_empty() && !self.control.is_cancelled() {
            self.flush_renames(renames);
        }
        if !links.is_empty() && !self.control.is_cancelled() {
            self.flush_symlinks(links);
        }
        if !self.dirty_dirs.is_empty() {
            let dirs: Vec<&Path> = self.dirty_dirs.iter().map(PathBuf::as_path).collect();
            if let Err(e) = os::sync_dirs(&dirs) {
                self.warnings
                    .push(Error::io(Operation::Sync, dirs[0], e).to_string());
            }
            self.dirty_dirs.clear();
        }
    }

    fn fail(&mut self, i: usize, entry: &Entry, err: &Error) {
        if self.asks(i, entry, err) {
            if !self.done.contains(&i) {
                self.progress.files_done.fetch_add(1, Ordering::Relaxed);
            }
            return self.ask(i, entry);
        }
        let mut error = FileError::from_error(&entry.src, err);
        error.dest = Some(entry.dest.clone());
        error.folder = entry.is_dir();
        let _ = self.record(
            Record::Failed {
                i,
                error: error.clone(),
            },
            false,
        );
        if !entry.is_dir() && !self.done.contains(&i) {
            self.progress.files_done.fetch_add(1, Ordering::Relaxed);
        }
        self.failed.push(error);
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

    /// Counts how a written entry `i` landed at `path`.
    fn count_landing(&mut self, i: usize, path: &Path, replaced: bool) {
        self.replaced += u64::from(replaced);
        self.renamed += u64::from(path != self.plan.dest(i));
    }

    /// Journals entry `i` as done at `path` (with its hash, which also goes
    /// into the manifest where the job keeps one).
    fn done_at(&self, i: usize, path: &Path, bytes: u64, hash: Option<String>) -> Result<()> {
        if let Some(hash) = &hash {
            self.manifest_line(path, hash);
        }
        self.record(
            Record::Done {
                i,
                dest: path.to_path_buf(),
                bytes,
                hash,
            },
            false,
        )
    }

    /// Adds a line to the manifest, if the job keeps one.
    fn manifest_line(&self, path: &Path, hash: &str) {
        if let Some(manifest) = &self.manifest {
            let mut manifest = manifest.lock().unwrap_or_else(|e| e.into_inner());
            // A manifest that cannot be written is reported when committed.
            let _ = manifest.add(path, hash);
        }
    }

    /// The hash of a file that was put in place without being read (a move
    /// by rename, a hard link), where the job keeps a manifest: its bytes
    /// are read once for it.
    fn hash_if_needed(&self, path: &Path) -> Option<String> {
        self.manifest.as_ref()?;
        let mut buf = vec![0u8; 1 << 20];
        crate::manifest::hash_file(path, &mut buf)
            .ok()
            .map(|h| h.to_hex().to_string())
    }

    /// The manifest line of entry `i`, which an earlier run finished (its
    /// journaled hash, else its bytes are read).
    fn manifest_for_earlier_run(&self, state: &JournalState, i: usize, path: &Path) {
        if self.manifest.is_none()
            || !matches!(
                self.plan.get(i).map(|e| e.kind),
                Some(EntryKind::File { .. } | EntryKind::HardLink { .. })
            )
        {
            return;
        }
        let hash = state
            .hashes
            .get(&i)
            .cloned()
            .or_else(|| self.hash_if_needed(path));
        if let Some(hash) = hash {
            self.manifest_line(path, &hash);
        }
    }

    /// Remembers where entry `i` was put, if other entries link to it.
    fn note_placed(&mut self, i: usize, path: &Path) {
        if self.link_targets.contains(&i) {
            self.placed.insert(i, path.to_path_buf());
        }
    }

    /// The commit point of an all-or-nothing job: from here on the new tree
    /// stays; backups go, and moved sources are removed (each only if it is
    /// unchanged since it was copied).
    fn commit_all_or_nothing(&mut self) {
        if let Err(e) = self.record(Record::Committed, true) {
            self.warnings.push(e.to_string());
        }
        let Some(state) = self.journal_state() else {
            return;
        };
        for backup in state.backups.values().flatten() {
            let _ = std::fs::remove_file(backup);
        }
        if self.spec.kind == super::job::TransferKind::Move {
            for i in state.done.iter() {
                let entry = &self.plan.entry(i);
                if !entry.is_dir() {
                    let opened = state.opened_source(i);
                    if !self.remove_source(i, entry, opened) {
                        self.files_written = self.files_written.saturating_sub(1);
                    }
                }
            }
        }
    }

    /// Applies folder owners, modes and times after their contents, and
    /// removes the emptied source folders of a move.
    fn finish_folders(&mut self) {
        let moved = std::mem::take(&mut self.moved_trees);
        let mut kept_sources = Vec::new();
        for (i, entry) in self.plan.iter().enumerate().rev() {
            let entry = &entry;
            let EntryKind::Dir { meta } = &entry.kind else {
                continue;
            };
            // A folder moved whole kept its metadata, and has no source left.
            if moved.iter().any(|&(start, end)| (start..end).contains(&i)) {
                continue;
            }
            // A folder that could not be made (or lies in one) is reported
            // with its files already: nothing to finish, and a move keeps
            // its source.
            let made = self.done.contains(&i);
            match os::apply_dir_meta(meta, &entry.dest) {
                Ok(kept) => {
                    // What a drive does not keep is counted over files.
                    self.notes.add_folder(kept);
                    if let (Ok(src), Ok(dst)) = (
                        std::fs::File::open(&entry.src),
                        std::fs::File::open(&entry.dest),
                    ) && os::copy_xattrs(&src, &dst).is_err()
                    {
                        self.notes.add(os::MetaKept {
                            xattrs_lost: true,
                            ..Default::default()
                        });
                    }
                }
                // A folder that was never made (refused, or failed: said
                // already) has nothing to apply.
                Err(e) if !made && e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => self
                    .warnings
                    .push(Error::io(Operation::SetMetadata, &entry.dest, e).to_string()),
            }
            // `src/.` names the folder's contents: the folder itself stays.
            let contents_only = entry.src.as_os_str().as_encoded_bytes().ends_with(b"/.");
            if self.spec.kind == super::job::TransferKind::Move && made && !contents_only {
                match std::fs::remove_dir(&entry.src) {
                    Ok(()) => {
                        let _ = os::sync_dir(parent_dir(&entry.src));
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                    Err(_) => kept_sources.push(entry.src.clone()),
                }
            }
        }
        kept_sources.reverse();
        match kept_sources.as_slice() {
            [] => {}
            [one] => self.warnings.push(format!(
                "kept the folder '{}': it still holds files that were not moved",
                one.display()
            )),
            many => self.warnings.push(format!(
                "kept {} folders: they still hold files that were not moved: {}",
                many.len(),
                crate::format::first_paths(many, 2)
            )),
        }
    }
}

/// Whether every source of `spec` is on the device `dev`.
fn on_device(spec: &JobSpec, dev: u64) -> bool {
    let sources: Vec<&PathBuf> = if spec.pairs.is_empty() {
        spec.sources.iter().collect()
    } else {
        spec.pairs.iter().map(|(s, _)| s).collect()
    };
    sources
        .iter()
        .all(|s| std::fs::symlink_metadata(s).is_ok_and(|m| os::FileStamp::of(&m).dev == dev))
}

/// What the destination's filesystem can do, probed once for the job on the
/// nearest existing folder of the destination (a POSIX filesystem is
/// assumed where it cannot be probed: then writing fails with its own
/// error).
fn probe_destination(spec: &JobSpec) -> Option<caps::Capabilities> {
    let mut dir = spec.dest.as_path();
    while !std::fs::metadata(dir).is_ok_and(|m| m.is_dir()) {
        dir = dir.parent().filter(|p| !p.as_os_str().is_empty())?;
    }
    caps::probe(dir).ok()
}

/// Whether the job's data fits in the destination's free space (where the
/// filesystem tells it). Files that replace others are counted whole;
/// `refused` bytes (files refused up front) are not counted.
fn check_space(
    spec: &JobSpec,
    plan: &JobPlan,
    found: Option<&caps::Capabilities>,
    refused: u64,
) -> Result<()> {
    let Some(space) = found.and_then(|c| c.space) else {
        return Ok(());
    };
    let mut needed = plan.total_bytes().saturating_sub(refused);
    if needed > space.available {
        // A sparse file takes only its data (holes stay holes): count what
        // the sources have allocated where that is less (looked at only
        // when the sizes alone do not fit).
        needed = (0..plan.len())
            .filter_map(|i| plan.file_size(i).map(|size| (i, size)))
            .map(|(i, size)| match std::fs::metadata(plan.entry(i).src) {
                Ok(meta) => size.min(os::allocated_size(&meta)),
                Err(_) => size,
            })
            .sum::<u64>()
            .saturating_sub(refused);
    }
    if needed <= space.available {
        return Ok(());
    }
    let fmt = super::format::bytes;
    Err(Error::new(
        ErrorKind::NoSpace,
        Operation::Validate,
        &spec.dest,
        format!(
            "the job needs {}, and only {} is free there{}",
            fmt(needed),
            fmt(space.available),
            if spec.all_or_nothing {
                "; nothing was copied"
            } else {
                ": the files that fit are copied"
            }
        ),
    ))
}
