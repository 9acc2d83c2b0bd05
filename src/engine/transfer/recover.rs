//! Recovering from a dead run of a job: taking it over (resume) or undoing
//! it (rollback, for all-or-nothing jobs).
//!
//! What a dead run did is recognised by identity, never by size and time
//! alone: its journal recorded, before each commit, the identity (device,
//! inode and birth time) of the temp about to be renamed into place, every
//! numbered name it was about to take, and every source it was about to
//! rename. A destination counts as this job's only if it has that identity
//! and the source's size. Where the filesystem keeps
//! no birth times (FUSE drivers, network mounts) an inode number can be
//! another file's (numbers are given out again, and numbered anew at each
//! mount), so such a file must also hold the source's bytes. The one
//! other thing resume accepts is a destination whose bytes are exactly the
//! source's (compared in full): counting it done loses nothing, even when a
//! move then removes the source. Rollback never removes a file it cannot
//! prove the job wrote.

use std::collections::{BTreeSet, HashMap};
use std::ffi::OsString;
use std::fs::{self, File};
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;

use super::Runner;
use super::entries::candidates;
use crate::os::path::parent_dir;
use crate::copy::Continue;
use crate::error::{Error, Operation};
use crate::job::{EntryKind, JobPlan, TransferKind};
use crate::journal::{JournalState, Record, TempRecord, Trust};
use crate::lock::{self, DestinationLock, LockMode, Wait};
use crate::names;
use crate::os::{self, FileStamp};

impl Runner<'_> {
    /// Picks up where an interrupted run stopped: removes its dead temps
    /// and stale locks, recognises what it committed without journaling,
    /// and finishes the source removals of a move.
    pub(super) fn take_over(&mut self, state: &JournalState) {
        self.pick_continuations(state);
        let keep: BTreeSet<PathBuf> = self
            .continuations
            .values()
            .map(|c| c.temp.clone())
            .collect();
        remove_dead_litter(self.plan, state, false, &keep);
        for (&i, &end) in &state.trees {
            self.tree_done(i, end, true);
        }
        // Killed between the whole-folder rename and its record: the folder
        // is at its destination if it has the identity journaled before.
        for (&i, stamp) in &state.moving {
            let Some(entry) = self.plan.get(i) else {
                continue;
            };
            if entry.is_dir()
                && !state.trees.contains_key(&i)
                && fs::symlink_metadata(&entry.dest).is_ok_and(|m| stamp.same_file(&m))
            {
                let end = super::subtree_end(self.plan, i);
                let _ = self.record(Record::TreeMoved { i, end }, false);
                self.tree_done(i, end, true);
            }
        }
        // Placed by the dead run but not journaled done: recognised by
        // identity, journaled now.
        let mut placed: Vec<(usize, PathBuf)> = Vec::new();
        for i in 0..self.plan.len() {
            if self.plan.is_dir(i) || state.done.contains(i) || self.done.contains(&i) {
                continue;
            }
            if let Some(path) = placed_by_dead_run(i, state, self.plan, self.spec.all_or_nothing) {
                let bytes = fs::symlink_metadata(&path).map_or(0, |m| m.len());
                let _ = self.record(
                    Record::Done {
                        i,
                        dest: path.clone(),
                        bytes,
                        hash: None,
                    },
                    false,
                );
                self.progress.add_bytes(bytes);
                placed.push((i, path));
            }
        }
        for &i in &state.dirs_created {
            self.done.insert(i);
        }
        self.progress.add_bytes(state.done.bytes());
        let plan = self.plan;
        let journaled = state.done.iter().map(|i| {
            let planned = plan.dest(i);
            (i, state.done.dest(i, &planned).unwrap_or(planned))
        });
        for (i, path) in journaled.chain(placed) {
            let path = path.as_path();
            if self.copy_is_gone(i, state, path) {
                continue;
            }
            self.note_placed(i, path);
            self.manifest_for_earlier_run(state, i, path);
            if self.plan.is_dir(i) {
                self.done.insert(i);
                continue;
            }
            let moved = !(self.spec.kind == TransferKind::Move
                && !self.spec.all_or_nothing
                && !state.sources_removed.contains(&i))
                || {
                    let entry = self.plan.entry(i);
                    // A resume keeps no source identity of finished entries
                    // (a million would not fit): the source as it is now
                    // counts if its bytes are exactly the durable copy's.
                    // So does one whose journaled state cannot show a change:
                    // where the status-change time only mirrors the
                    // modification time (FAT, exFAT), an edit that puts the
                    // time back leaves the stamp as it was.
                    let opened = state
                        .opened_source(i)
                        .filter(|o| o.ctime_ns != o.mtime_ns)
                        .or_else(|| source_matching_copy(&entry.src, path));
                    self.remove_source(i, &entry, opened)
                };
            if moved {
                self.progress.files_done.fetch_add(1, Ordering::Relaxed);
                self.previously_done += 1;
            }
            self.done.insert(i);
        }
    }
}

impl Runner<'_> {
    /// Whether entry `i`, a file of a move that the dead run finished (its
    /// copy at `path`) but whose source it had not removed yet, lost that
    /// copy since (deleted, or another drive in its place): the source is
    /// still there, so the entry is not done and is copied again, said in a
    /// warning.
    fn copy_is_gone(&mut self, i: usize, state: &JournalState, path: &Path) -> bool {
        if self.spec.kind != TransferKind::Move
            || self.plan.is_dir(i)
            || state.sources_removed.contains(&i)
            || fs::symlink_metadata(path).is_ok()
        {
            return false;
        }
        let src = self.plan.entry(i).src;
        if fs::symlink_metadata(&src).is_err() {
            return false;
        }
        self.warnings.push(format!(
            "the copy the interrupted run made of '{}' is no longer at '{}': it is copied again",
            src.display(),
            path.display()
        ));
        true
    }

    /// For each large file the dead run was writing: continue its temp
    /// where it was durable, if the source is unchanged (same file, size,
    /// modification and status-change times as when the temp was started)
    /// and the kept part still equals the source's first bytes; otherwise
    /// say why it starts over.
    fn pick_continuations(&mut self, state: &JournalState) {
        for (&i, &offset) in &state.partial {
            if state.done.contains(i) || offset == 0 {
                continue;
            }
            let Some(entry) = self.plan.get(i) else {
                continue;
            };
            let Some(temp) = state.latest_temp(i) else {
                continue;
            };
            match can_continue(&entry, temp, offset) {
                Ok(()) => {
                    self.continuations.insert(
                        i,
                        Continue {
                            temp: temp.path.clone(),
                            offset,
                        },
                    );
                }
                // Not when the temp is gone because it was put in place
                // (the dead run committed it): that is recognised below.
                Err(_) if committed(&entry, temp, state.placing.get(&i)) => {}
                Err(why) => self.warnings.push(format!(
                    "'{}' is copied again from the start: {why}",
                    entry.src.display()
                )),
            }
        }
    }
}

/// Whether a destination of `entry` (its own name, or a numbered one about
/// to be taken) has the identity of the dead run's `temp`: it was put in
/// place.
fn committed(
    entry: &crate::job::Entry,
    temp: &TempRecord,
    placing: Option<&Vec<PathBuf>>,
) -> bool {
    temp.file.is_some_and(|id| {
        candidates(&entry.dest, placing)
            .any(|path| fs::symlink_metadata(path).is_ok_and(|m| id.same_file(&m)))
    })
}

/// Whether the dead run's `temp` of `entry` can be continued at `offset`.
fn can_continue(entry: &crate::job::Entry, temp: &TempRecord, offset: u64) -> Result<(), String> {
    let (Some(file), Some(opened)) = (temp.file, temp.source) else {
        return Err("the interrupted copy left too little to go on from".into());
    };
    let kept =
        fs::symlink_metadata(&temp.path).map_err(|_| "the partial copy is gone".to_string())?;
    if !file.same_file(&kept) || kept.len() < offset || !kept.is_file() {
        return Err("the partial copy is not the one the interrupted run wrote".into());
    }
    let now = fs::metadata(&entry.src).map_err(|_| "the source is gone".to_string())?;
    if !opened.unchanged(&now) {
        return Err("the source changed since the interrupted copy".into());
    }
    if !same_prefix(&entry.src, &temp.path, offset) {
        return Err("the partial copy does not match the source".into());
    }
    Ok(())
}

/// Whether the first `len` bytes of `a` and `b` are equal.
fn same_prefix(a: &Path, b: &Path, len: u64) -> bool {
    let (Ok(mut fa), Ok(mut fb)) = (File::open(a), File::open(b)) else {
        return false;
    };
    let mut left = len;
    let mut buf_a = vec![0u8; 1 << 20];
    let mut buf_b = vec![0u8; 1 << 20];
    while left > 0 {
        let want = left.min(buf_a.len() as u64) as usize;
        let (Ok(n), Ok(m)) = (
            read_full(&mut fa, &mut buf_a[..want]),
            read_full(&mut fb, &mut buf_b[..want]),
        ) else {
            return false;
        };
        if n != want || m != want || buf_a[..n] != buf_b[..m] {
            return false;
        }
        left -= want as u64;
    }
    true
}

/// Where entry `i` is, if the dead run put it in place without journaling
/// it: a destination (or journaled numbered name) with the identity of its
/// temp or of its renamed source. Failing that, and except for
/// all-or-nothing jobs (whose rollback must know exactly what it created),
/// a destination holding exactly the source's bytes.
fn placed_by_dead_run(
    i: usize,
    state: &JournalState,
    plan: &JobPlan,
    all_or_nothing: bool,
) -> Option<PathBuf> {
    let entry = &plan.entry(i);
    let temp = state.latest_temp(i).and_then(|t| t.file);
    let renamed = state.moving.get(&i).copied();
    // The committed file has the source's size (a temp's identity is
    // recorded before its data is written). Its time is no proof: FUSE
    // drivers may set it at close, FAT cannot hold dates before 1980.
    let size = state.opened_source(i).map(|s| s.size);
    let placed = |path: &Path, m: &fs::Metadata| match (temp, renamed) {
        (Some(id), _) => holds_jobs_copy(&id, path, m, &entry.src),
        // The source itself was renamed here: where its identity may be
        // another file's, only if it is gone from its path.
        (None, Some(source)) => {
            source.same_file(m)
                && (!m.is_file()
                    || source.birth_known(m)
                    || fs::symlink_metadata(&entry.src).is_err())
        }
        (None, None) => false,
    };
    if temp.is_some() || renamed.is_some() {
        let found = candidates(&entry.dest, state.placing.get(&i)).find(|path| {
            fs::symlink_metadata(path)
                .is_ok_and(|m| size.is_none_or(|s| s == m.len()) && placed(path, &m))
        });
        if let Some(path) = found {
            return Some(path.to_path_buf());
        }
    }
    if all_or_nothing || !matches!(entry.kind, EntryKind::File { .. }) {
        return None;
    }
    same_contents(&entry.src, &entry.dest).then(|| entry.dest.clone())
}

/// Whether `path` (in the state `meta`) is the job's copy of `src`, its temp
/// once recorded as `id`: it has that identity and, where the identity may
/// be another file's (no birth time on either side), the source's bytes.
fn holds_jobs_copy(id: &FileStamp, path: &Path, meta: &fs::Metadata, src: &Path) -> bool {
    id.same_file(meta) && (!meta.is_file() || id.birth_known(meta) || same_bytes(src, path))
}

/// The state of the regular file `src` if its bytes are exactly those of
/// `copy` (taken before comparing: a change during the comparison shows
/// when the source is checked against it before removal).
fn source_matching_copy(src: &Path, copy: &Path) -> Option<FileStamp> {
    let before = fs::symlink_metadata(src).ok()?;
    (before.is_file() && same_contents(src, copy)).then(|| FileStamp::of(&before))
}

/// Whether `a` and `b` are regular files with the same bytes. Compared in
/// full, and only when sizes match and modification times are within the
/// coarsest timestamp step of common filesystems (2 s, FAT), since Ferry's
/// copies carry their source's time.
fn same_contents(a: &Path, b: &Path) -> bool {
    let (Ok(x), Ok(y)) = (
        fs::metadata(a).and_then(|m| m.modified()),
        fs::symlink_metadata(b).and_then(|m| m.modified()),
    ) else {
        return false;
    };
    let gap = x.duration_since(y).or_else(|_| y.duration_since(x));
    gap.is_ok_and(|d| d.as_secs() <= 2) && same_bytes(a, b)
}

/// Whether `a` and `b` are regular files with the same bytes (compared in
/// full when their sizes match), whatever their times.
fn same_bytes(a: &Path, b: &Path) -> bool {
    let (Ok(meta_a), Ok(meta_b)) = (fs::metadata(a), fs::symlink_metadata(b)) else {
        return false;
    };
    if !meta_a.is_file() || !meta_b.is_file() || meta_a.len() != meta_b.len() {
        return false;
    }
    let (Ok(mut fa), Ok(mut fb)) = (File::open(a), File::open(b)) else {
        return false;
    };
    let mut buf_a = vec![0u8; 1 << 20];
    let mut buf_b = vec![0u8; 1 << 20];
    loop {
        let Ok(n) = read_full(&mut fa, &mut buf_a) else {
            return false;
        };
        let Ok(m) = read_full(&mut fb, &mut buf_b) else {
            return false;
        };
        if n != m || buf_a[..n] != buf_b[..m] {
            return false;
        }
        if n == 0 {
            return true;
        }
    }
}

/// Reads until `buf` is full or the file ends.
fn read_full(file: &mut File, buf: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match file.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

/// Removes what a dead run of the job left beside its destinations: its
/// temps (those the journal names and, by name, those it never heard of)
/// and its destination locks, each only if no live process holds its lock.
/// With `all` every entry's folder is searched (rollback), else only the
/// folders of unfinished entries (resume). Returns the folders it changed.
fn remove_dead_litter(
    plan: &JobPlan,
    state: &JournalState,
    all: bool,
    keep: &BTreeSet<PathBuf>,
) -> BTreeSet<PathBuf> {
    let mut touched = BTreeSet::new();
    for temp in state.temps.values().flatten() {
        if temp.path.file_name().is_some_and(names::is_temp_name)
            && !keep.contains(&temp.path)
            && remove_if_unlocked(&temp.path, temp.file)
        {
            touched.insert(parent_dir(&temp.path).to_path_buf());
        }
    }
    // Litter in the entries' folders, found by name: temps and locks are
    // listed first (there are few), then matched against the entries in
    // one pass (a plan may hold millions: no map of every entry's names).
    let wanted = |i: usize| !plan.is_dir(i) && (all || !state.done.contains(i));
    let dirs = super::distinct_folders(
        (0..plan.len())
            .filter(|&i| wanted(i))
            .map(|i| plan.dest_parent(i)),
    );
    let mut temps: HashMap<(&Path, OsString), Vec<PathBuf>> = HashMap::new();
    let mut locks: HashMap<(&Path, OsString), Option<PathBuf>> = HashMap::new();
    for &dir in &dirs {
        let Ok(read) = fs::read_dir(dir) else {
            continue;
        };
        for item in read.flatten() {
            let name = item.file_name();
            if names::is_lock_name(&name) {
                locks.insert((dir, name), None);
            } else if let Some(stem) = names::temp_stem(&name) {
                let path = item.path();
                if !keep.contains(&path) {
                    temps.entry((dir, stem.to_os_string())).or_default().push(path);
                }
            }
        }
    }
    if temps.is_empty() && locks.is_empty() {
        return touched;
    }
    let mut found_temps = Vec::new();
    for i in (0..plan.len()).filter(|&i| wanted(i)) {
        let dest = plan.dest(i);
        let Some(name) = dest.file_name() else {
            continue;
        };
        let dir = plan.dest_parent(i);
        if let Some(paths) = temps.remove(&(dir, names::temp_stem_for(name))) {
            found_temps.extend(paths);
        }
        if let Some(lock_for) = locks.get_mut(&(dir, names::lock_name(name))) {
            *lock_for = Some(dest.clone());
        }
    }
    for dest in locks.into_values().flatten() {
        clear_stale_lock(&dest);
    }
    for path in found_temps {
        if remove_if_unlocked(&path, None) {
            touched.insert(parent_dir(&path).to_path_buf());
        }
    }
    touched
}

/// Acts of a dead run whose records were lost, as the records they would
/// have been. Every act is journaled before it is done, so a crash leaves
/// at most a torn record of an act not yet done; but a journal whose real
/// last record was cut off (damaged in any other way) hides an act that
/// was done. Such acts are found by name and proven by time and contents:
///
/// - a backup (`.<name>.<hex>.ferry-backup`) of a planned destination that
///   the journal does not list, linked since the job started (making the
///   link changed the file's status-change time): a `Backup` record;
/// - the planned destination of an unfinished file entry that no journaled
///   identity explains and no backup is kept for, changed since the job
///   started and holding exactly its source's bytes and time: the job's
///   copy, as a `Temp` record of its identity (`existed: false`). Counting
///   it the job's loses nothing: its source holds the same bytes.
///
/// Finds nothing where the journal's creation time is unknown.
pub(super) fn unjournaled(plan: &JobPlan, state: &JournalState) -> Vec<Record> {
    let Some(started) = started_ns(state) else {
        return Vec::new();
    };
    let since = |meta: &fs::Metadata| {
        let ctime = FileStamp::of(meta).ctime_ns;
        ctime != 0 && ctime >= started
    };
    let journaled: BTreeSet<&PathBuf> = state.backups.values().flatten().collect();
    let files = |i: &usize| matches!(plan.kind(*i), EntryKind::File { .. });
    let dirs = super::distinct_folders(
        (0..plan.len())
            .filter(files)
            .map(|i| plan.dest_parent(i)),
    );
    let mut backups: HashMap<(&Path, OsString), Vec<(i64, PathBuf)>> = HashMap::new();
    for &dir in &dirs {
        let Ok(read) = fs::read_dir(dir) else {
            continue;
        };
        for item in read.flatten() {
            let name = item.file_name();
            let Some(stem) = names::backup_stem(&name) else {
                continue;
            };
            let path = item.path();
            if journaled.contains(&path) {
                continue;
            }
            if let Ok(meta) = fs::symlink_metadata(&path)
                && meta.is_file()
                && since(&meta)
            {
                backups
                    .entry((dir, stem.to_os_string()))
                    .or_default()
                    .push((FileStamp::of(&meta).ctime_ns, path));
            }
        }
    }
    let mut found = Vec::new();
    for i in (0..plan.len()).filter(files) {
        let dest = plan.dest(i);
        let Some(name) = dest.file_name() else {
            continue;
        };
        let key = (plan.dest_parent(i), names::backup_stem_for(name));
        if let Some(mut paths) = backups.remove(&key) {
            paths.sort();
            found.extend(paths.into_iter().map(|(_, path)| Record::Backup { i, path }));
            continue;
        }
        if state.done.contains(i) || state.backups.contains_key(&i) {
            continue;
        }
        let Ok(meta) = fs::symlink_metadata(&dest) else {
            continue;
        };
        let explained = state
            .temps
            .get(&i)
            .is_some_and(|temps| temps.iter().any(|t| t.file.is_some_and(|id| id.same_file(&meta))));
        if meta.is_file() && !explained && since(&meta) && same_contents(&plan.entry(i).src, &dest)
        {
            found.push(Record::Temp {
                i,
                path: dest.clone(),
                existed: false,
                file: Some(FileStamp::of(&meta)),
                source: None,
            });
        }
    }
    found
}

/// Removes the regular file at `path` if no live process holds its lock
/// (and, given `identity`, only if it is still that file).
fn remove_if_unlocked(path: &Path, identity: Option<FileStamp>) -> bool {
    let Ok(file) = os::open_lock_file_existing(path) else {
        return false;
    };
    let Ok(meta) = file.metadata() else {
        return false;
    };
    if identity.is_some_and(|id| !id.same_file(&meta)) && os::HAS_FILE_IDS {
        return false;
    }
    // A temp symlink or hard link has no lock of its own: the journal's
    // lock (held by the caller) is what makes it the dead run's.
    let ours = !meta.is_file() || lock::try_lock(&file, LockMode::Exclusive).unwrap_or(false);
    ours && fs::remove_file(path).is_ok()
}

/// Removes the destination lock a dead process left beside `dest`: taking
/// it and letting it go unlinks it (and leaves it alone if a live writer
/// holds it).
fn clear_stale_lock(dest: &Path) {
    let _ = DestinationLock::acquire(dest, LockMode::Exclusive, Wait::Try, None);
}

/// Gives up an interrupted job: removes its dead temps (journaled, and by
/// name) and stale destination locks; what it finished stays where it is.
/// Returns nothing to report today (removals that fail leave orphans for the
/// sweeper), kept as a list for callers that report problems.
pub fn discard(state: &JournalState) -> Vec<Error> {
    let empty = JobPlan::default();
    let plan = state.plan.as_ref().unwrap_or(&empty);
    for dir in remove_dead_litter(plan, state, true, &BTreeSet::new()) {
        let _ = os::sync_dir(&dir);
    }
    Vec::new()
}

/// What a rollback did not manage.
#[derive(Debug, Default)]
pub struct RollbackReport {
    /// Steps that failed (it goes on past them).
    pub problems: Vec<Error>,
    /// Why the journal cannot be trusted, if it cannot: the rollback
    /// restored what the journal could tell, and the journal must be kept.
    pub untrusted: Option<String>,
}

impl RollbackReport {
    /// Whether the destination is known to be as it was.
    pub fn complete(&self) -> bool {
        self.problems.is_empty() && self.untrusted.is_none()
    }

    /// Everything a person must be told, in words.
    pub fn messages(&self) -> Vec<String> {
        let mut out: Vec<String> = self
            .problems
            .iter()
            .map(|e| format!("rollback: {e}"))
            .collect();
        if let Some(why) = &self.untrusted {
            out.push(format!("rollback: {why}"));
        }
        out
    }
}

/// Undoes an all-or-nothing job from its journal: removes its temps (by
/// journal and by name) and the files it created, puts back every file it
/// replaced, removes the folders it created and its stale locks. A file
/// counts as created by the job only if it has the identity the journal
/// recorded for the job's temp. Goes on past problems and reports them.
pub fn roll_back(mut state: JournalState) -> RollbackReport {
    let mut report = RollbackReport::default();
    let plan = state.plan.take().unwrap_or_default();
    // What a lost last record hid is undone too.
    for record in unjournaled(&plan, &state) {
        state.apply(record);
    }
    let (plan, state) = (&plan, &state);
    let mut touched = remove_dead_litter(plan, state, true, &BTreeSet::new());
    let mut remove = |path: &Path, report: &mut RollbackReport| match fs::remove_file(path) {
        Ok(()) => {
            touched.insert(parent_dir(path).to_path_buf());
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => report.problems.push(Error::io(Operation::Remove, path, e)),
    };

    // Files it replaced come back from their oldest backup (a later one,
    // made by a resumed run, holds a version the job itself wrote).
    for (&i, backups) in &state.backups {
        let Some(entry) = plan.get(i) else {
            continue;
        };
        let dest = state.done.dest(i, &entry.dest).unwrap_or(entry.dest.clone());
        let dest = &dest;
        let mut existing = backups
            .iter()
            // Journaled, then killed before the link was made: no backup.
            .filter(|b| fs::symlink_metadata(b).is_ok());
        let Some(original) = existing.next() else {
            continue;
        };
        // Renaming a link over another link of the same file does nothing,
        // so the backup is removed afterwards if it is still there.
        if let Err(e) = fs::rename(original, dest) {
            report
                .problems
                .push(Error::io(Operation::Rename, original, e).with_path(dest));
            continue;
        }
        remove(original, &mut report);
        for later in existing {
            remove(later, &mut report);
        }
    }

    // Files it created: wherever one of the job's temp identities is found
    // (after the backups are back: a resumed run may have replaced a file
    // the first run created, and its backup is then one of the job's),
    // holding the source's bytes where that identity may be another
    // file's (see `placed_by_dead_run`).
    for (&i, temps) in &state.temps {
        let Some(entry) = plan.get(i) else {
            continue;
        };
        if entry.is_dir() {
            continue;
        }
        let done_at = state.done.dest(i, &entry.dest);
        let done_at = done_at.as_deref();
        let places: Vec<&Path> = candidates(&entry.dest, state.placing.get(&i))
            .chain(done_at)
            .collect();
        for temp in temps {
            match temp.file {
                Some(id) => {
                    for &path in &places {
                        if fs::symlink_metadata(path)
                            .is_ok_and(|m| holds_jobs_copy(&id, path, &m, &entry.src))
                        {
                            remove(path, &mut report);
                        }
                    }
                }
                // A journal of an older version: trust its done records.
                None => {
                    if let Some(path) = done_at
                        && !temp.existed
                        && !state.backups.contains_key(&i)
                    {
                        remove(path, &mut report);
                    }
                }
            }
        }
    }

    // Folders it created (or was about to), deepest first, if empty.
    let dirs: BTreeSet<usize> = state
        .dirs_created
        .union(&state.dirs_creating)
        .copied()
        .collect();
    for &i in dirs.iter().rev() {
        if let Some(entry) = plan.get(i)
            && fs::remove_dir(&entry.dest).is_ok()
        {
            touched.insert(parent_dir(&entry.dest).to_path_buf());
        }
    }
    for dir in touched {
        let _ = os::sync_dir(&dir);
    }
    if let Trust::Damaged { good_records } = state.trust {
        let changed = changed_since_start(plan, state);
        let which = match changed.len() {
            0 => "no planned destination changed since the job started".to_string(),
            n => {
                format!(
                    "{n} planned destination{} changed since the job started and may hold the \
                     job's files: {}",
                    if n == 1 { "" } else { "s" },
                    crate::format::first_paths(&changed, 10)
                )
            }
        };
        report.untrusted = Some(format!(
            "the job's journal is damaged after its first {good_records} records, so Ferry \
             could restore only what those records tell; the journal was kept; {which}"
        ));
    }
    report
}

/// When the job's journal was made, in nanoseconds since the Unix epoch
/// (as [`FileStamp`] keeps times).
fn started_ns(state: &JournalState) -> Option<i64> {
    let since_epoch = state.started?.duration_since(std::time::UNIX_EPOCH).ok()?;
    i64::try_from(since_epoch.as_nanos()).ok()
}

/// The planned file destinations changed since the job started (their
/// status-change time is later than the journal's creation), in plan order.
fn changed_since_start(plan: &JobPlan, state: &JournalState) -> Vec<PathBuf> {
    let Some(started) = started_ns(state) else {
        return Vec::new();
    };
    (0..plan.len())
        .filter(|&i| !plan.is_dir(i))
        .map(|i| plan.dest(i))
        .filter(|dest| {
            fs::symlink_metadata(dest).is_ok_and(|m| FileStamp::of(&m).ctime_ns >= started)
        })
        .collect()
}
