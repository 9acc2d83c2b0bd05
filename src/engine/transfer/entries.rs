//! One entry of a job, of each kind. Every step that recovery must be able
//! to recognise is journaled, durably, before it happens: the temp (with the
//! identity the destination will have), a numbered name about to be taken,
//! a source about to be renamed, a backup about to be linked, a folder about
//! to be created (all-or-nothing jobs). The records that follow the act
//! (done, skipped) are plain appends: recovery can rebuild them.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;

use super::Runner;
use crate::atomic::{self, CommitOptions, Committed};
use crate::os::path::parent_dir;
use crate::copy::{CopyMethod, CopyOptions, FileOutcome, TempInfo, copy_file};
use crate::error::{Error, ErrorKind, Operation, Result};
use crate::job::{Entry, EntryKind, TransferKind};
use crate::journal::Record;
use crate::os::{self, FileStamp};
use crate::{faults, names};

impl Runner<'_> {
    /// Whether sources go by rename where they can (moves that are not
    /// all-or-nothing; those copy, and remove sources at the commit point).
    pub(super) fn moves_by_rename(&self) -> bool {
        self.spec.kind == TransferKind::Move && !self.spec.all_or_nothing
    }

    /// Journals a numbered name before the commit tries it.
    pub(super) fn placing_hook(&self, i: usize) -> impl Fn(&Path) -> Result<()> + Sync + '_ {
        move |candidate: &Path| {
            self.record(
                Record::Placing {
                    i,
                    path: candidate.to_path_buf(),
                },
                true,
            )
        }
    }

    pub(super) fn make_dir(&mut self, i: usize, entry: &Entry) -> Result<()> {
        match fs::symlink_metadata(&entry.dest) {
            Ok(meta) if meta.is_dir() => {}
            Ok(meta) => {
                return Err(crate::job::in_the_way(&entry.dest, &meta, true)
                    .expect("a file is in the way of a folder"));
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                let aon = self.spec.all_or_nothing;
                if aon {
                    // A rollback must find every folder the job made.
                    self.record(Record::DirCreating { i }, true)?;
                }
                fs::create_dir(&entry.dest)
                    .map_err(|e| Error::io(Operation::CreateDir, &entry.dest, e))?;
                self.fresh_dirs.insert(entry.dest.clone());
                faults::point("after-mkdir");
                self.record(Record::DirCreated { i }, false)?;
                let parent = parent_dir(&entry.dest);
                if self.batching() {
                    // Made durable with the next batch's folders.
                    self.dirty_dirs.push(parent.to_path_buf());
                } else {
                    os::sync_dir(parent).map_err(|e| Error::io(Operation::Sync, parent, e))?;
                }
            }
            Err(e) => return Err(Error::io(Operation::Inspect, &entry.dest, e)),
        }
        self.done.insert(i);
        Ok(())
    }

    pub(super) fn transfer_file(&mut self, i: usize, entry: &Entry, size: u64) -> Result<()> {
        if self.moves_by_rename() {
            match self.rename_into_place(i, entry, size) {
                Err(e) if e.kind() == ErrorKind::CrossDevice => {}
                other => return other,
            }
        }
        let aon = self.spec.all_or_nothing;
        let mut written = 0u64;
        let resume = self.continuations.remove(&i);
        if let Some(resume) = &resume {
            // The kept part counts as done already.
            self.progress.add_bytes(resume.offset);
            written = resume.offset;
        }
        let result = {
            let backup_hook = |dest: &Path| self.keep_backup(i, dest);
            let place_hook = self.placing_hook(i);
            let temp_hook = |info: &TempInfo| {
                let existed = fs::symlink_metadata(&entry.dest).is_ok();
                let record = Record::Temp {
                    i,
                    path: info.path.to_path_buf(),
                    existed,
                    file: Some(info.file),
                    source: Some(info.source),
                };
                // Durable before the commit can happen: resume and rollback
                // recognise the destination by the temp's identity.
                self.record(record, true)
            };
            let durable_hook = |bytes: u64| self.record(Record::Partial { i, bytes }, false);
            let options = CopyOptions {
                before_replace: aon.then_some(&backup_hook as _),
                before_place: Some(&place_hook),
                on_temp: Some(&temp_hook),
                resume: resume.as_ref(),
                on_durable: Some(&durable_hook),
                ..self.copy_options(i, entry)
            };
            let progress = self.progress;
            copy_file(&entry.src, &entry.dest, &options, &mut |n| {
                written += n;
                progress.add_bytes(n);
            })
        };
        match result {
            Ok(FileOutcome::Copied {
                path,
                bytes,
                method,
                kept,
                source,
                hash,
                replaced,
            }) => {
                faults::point("after-place");
                self.count_landing(i, &path, replaced);
                self.methods.insert(method);
                self.notes.add(kept);
                self.done_at(i, &path, bytes, hash)?;
                self.note_placed(i, &path);
                if self.moves_by_rename() && !self.remove_source(i, entry, Some(source)) {
                    // Copied, but not moved: reported as a failure.
                    self.progress.add_bytes(size.saturating_sub(written));
                    self.done.insert(i);
                    return Ok(());
                }
                self.file_finished(i, size, written, true);
                // Only what this run wrote (a continued temp kept the rest).
                self.bytes_written += bytes - resume.map_or(0, |r| r.offset.min(bytes));
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

    /// A folder whose destination name is free, in a move within one
    /// filesystem: moved whole with one no-clobber rename (as `mv` does:
    /// the tree appears at once), journaled first by the folder's identity,
    /// then both parent folders flushed. Returns whether it was moved; when
    /// it cannot be (another filesystem, the name taken meanwhile, or the
    /// rename refused) its entries go one by one.
    pub(super) fn move_tree(&mut self, i: usize, entry: &Entry) -> Result<bool> {
        if !self.traits.folder_renames || fs::symlink_metadata(&entry.dest).is_ok() {
            return Ok(false);
        }
        let Ok(meta) = fs::symlink_metadata(&entry.src) else {
            return Ok(false);
        };
        let stamp = FileStamp::of(&meta);
        if let Ok(dir) = fs::metadata(parent_dir(&entry.dest))
            && os::HAS_FILE_IDS
            && FileStamp::of(&dir).dev != stamp.dev
        {
            return Ok(false);
        }
        self.record(Record::Moving { i, file: stamp }, true)?;
        let options = CommitOptions {
            cancel: Some(self.control.cancel_flag()),
            traits: &self.traits,
            ..CommitOptions::new(crate::job::ConflictPolicy::Fail)
        };
        match atomic::commit_path(&entry.src, &entry.dest, &options) {
            Ok(Committed::Written { .. }) => {}
            Ok(Committed::Skipped) | Err(_) => return Ok(false),
        }
        faults::point("after-move-rename");
        let src_dir = parent_dir(&entry.src);
        os::sync_dir(src_dir).map_err(|e| Error::io(Operation::Sync, src_dir, e))?;
        let end = super::subtree_end(self.plan, i);
        self.record(Record::TreeMoved { i, end }, false)?;
        self.tree_done(i, end, false);
        self.methods.insert(CopyMethod::Rename);
        Ok(true)
    }

    /// Counts entries `i..end` (a folder moved whole) as done, by this run
    /// or (`earlier`) by a dead one.
    pub(super) fn tree_done(&mut self, i: usize, end: usize, earlier: bool) {
        let mut files = 0;
        let mut bytes = 0;
        for j in i..end.min(self.plan.len()) {
            let entry = &self.plan.entry(j);
            self.done.insert(j);
            if self.link_targets.contains(&j) {
                self.placed.insert(j, entry.dest.clone());
            }
            if !entry.is_dir() {
                files += 1;
                bytes += self.entry_size(entry);
            }
        }
        self.moved_trees.push((i, end));
        self.progress.files_done.fetch_add(files, Ordering::Relaxed);
        self.progress.add_bytes(bytes);
        if earlier {
            self.previously_done += files;
        } else {
            self.files_written += files;
            self.bytes_written += bytes;
        }
    }

    /// A move within one filesystem: the source is journaled (its
    /// identity), renamed into place under the conflict policy, then both
    /// folders are fsynced. Fails with [`ErrorKind::CrossDevice`], having
    /// done nothing, when the source is on another filesystem.
    fn rename_into_place(&mut self, i: usize, entry: &Entry, size: u64) -> Result<()> {
        let meta = fs::symlink_metadata(&entry.src)
            .map_err(|e| Error::io(Operation::Inspect, &entry.src, e))?;
        let stamp = FileStamp::of(&meta);
        if let Ok(dir) = fs::metadata(parent_dir(&entry.dest))
            && os::HAS_FILE_IDS
            && FileStamp::of(&dir).dev != stamp.dev
        {
            return Err(Error::new(
                ErrorKind::CrossDevice,
                Operation::Rename,
                &entry.src,
                "the source is on another filesystem",
            ));
        }
        self.record(Record::Moving { i, file: stamp }, true)?;
        let committed = {
            let place_hook = self.placing_hook(i);
            let options = CommitOptions {
                cancel: Some(self.control.cancel_flag()),
                source_modified: meta.modified().ok(),
                before_place: Some(&place_hook),
                traits: &self.traits,
                ..CommitOptions::new(self.policy_for(i))
            };
            atomic::commit_path(&entry.src, &entry.dest, &options)?
        };
        match committed {
            Committed::Written { path, replaced } => {
                faults::point("after-move-rename");
                self.count_landing(i, &path, replaced);
                if !self.traits.rename_keeps_times && meta.is_file() {
                    os::set_times_by_path(&path, meta.accessed().ok(), meta.modified().ok())
                        .map_err(|e| Error::io(Operation::SetMetadata, &path, e))?;
                }
                let src_dir = parent_dir(&entry.src);
                os::sync_dir(src_dir).map_err(|e| Error::io(Operation::Sync, src_dir, e))?;
                let hash = self.hash_if_needed(&path);
                self.done_at(i, &path, size, hash)?;
                self.record(Record::SourceRemoved { i }, false)?;
                self.note_placed(i, &path);
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

    pub(super) fn transfer_symlink(
        &mut self,
        i: usize,
        entry: &Entry,
        target: &Path,
    ) -> Result<()> {
        if self.moves_by_rename() {
            match self.rename_into_place(i, entry, 0) {
                Err(e) if e.kind() == ErrorKind::CrossDevice => {}
                other => return other,
            }
        }
        if !self.traits.symlinks {
            return Err(Error::new(
                ErrorKind::Unsupported,
                Operation::Validate,
                &entry.src,
                format!(
                    "{} cannot hold symbolic links, so this link (to '{}') was not copied",
                    self.traits.drive(),
                    target.display()
                ),
            ));
        }
        let source = fs::symlink_metadata(&entry.src)
            .map_err(|e| Error::io(Operation::Inspect, &entry.src, e))?;
        let link_kept = std::cell::Cell::new(os::LinkKept::default());
        let committed = {
            let prepare = |temp: &Path| {
                match os::copy_symlink_meta(&source, temp, self.traits.link_metadata) {
                    Ok(kept) => link_kept.set(kept),
                    Err(e) => return Err(Error::io(Operation::SetMetadata, temp, e)),
                }
                self.journal_temp(i, entry, temp, Some(FileStamp::of(&source)))
            };
            let backup_hook = |dest: &Path| self.keep_backup(i, dest);
            let place_hook = self.placing_hook(i);
            let options = CommitOptions {
                cancel: Some(self.control.cancel_flag()),
                before_replace: self.spec.all_or_nothing.then_some(&backup_hook as _),
                before_place: Some(&place_hook),
                traits: &self.traits,
                ..CommitOptions::new(self.policy_for(i))
            };
            atomic::create_symlink_with(target, &entry.dest, &options, &prepare)?
        };
        if matches!(committed, Committed::Written { .. }) {
            self.notes.add_link(link_kept.get());
        }
        self.finish_linked(i, entry, committed, Some(FileStamp::of(&source)))
    }

    /// Another name of a file copied earlier in this job: a hard link to
    /// that copy. Where the first name was not copied (it failed, or the
    /// policy kept what was there), the file is copied on its own.
    pub(super) fn transfer_hard_link(
        &mut self,
        i: usize,
        entry: &Entry,
        first: usize,
    ) -> Result<()> {
        let size = fs::metadata(&entry.src).map_or(0, |m| m.len());
        if self.moves_by_rename() {
            match self.rename_into_place(i, entry, size) {
                Err(e) if e.kind() == ErrorKind::CrossDevice => {}
                other => return other,
            }
        }
        let existing = self
            .placed
            .get(&first)
            .filter(|_| self.traits.hard_links)
            .cloned();
        let Some(existing) = existing else {
            if !self.traits.hard_links {
                self.notes.links_copied += 1;
            }
            let as_file = Entry {
                kind: EntryKind::File { size },
                ..entry.clone()
            };
            self.progress.bytes_total.fetch_add(size, Ordering::Relaxed);
            return self.transfer_file(i, &as_file, size);
        };
        let source = fs::metadata(&entry.src)
            .map(|m| FileStamp::of(&m))
            .map_err(|e| Error::io(Operation::Inspect, &entry.src, e))?;
        let committed = {
            let prepare = |temp: &Path| self.journal_temp(i, entry, temp, Some(source));
            let backup_hook = |dest: &Path| self.keep_backup(i, dest);
            let place_hook = self.placing_hook(i);
            let options = CommitOptions {
                cancel: Some(self.control.cancel_flag()),
                before_replace: self.spec.all_or_nothing.then_some(&backup_hook as _),
                before_place: Some(&place_hook),
                traits: &self.traits,
                ..CommitOptions::new(self.policy_for(i))
            };
            atomic::create_hard_link_with(&existing, &entry.dest, &options, &prepare)?
        };
        self.finish_linked(i, entry, committed, Some(source))
    }

    /// Journals a temp name (a link) durably, with its identity.
    fn journal_temp(
        &self,
        i: usize,
        entry: &Entry,
        temp: &Path,
        source: Option<FileStamp>,
    ) -> Result<()> {
        let file = fs::symlink_metadata(temp)
            .map(|m| FileStamp::of(&m))
            .map_err(|e| Error::io(Operation::Inspect, temp, e))?;
        self.record(
            Record::Temp {
                i,
                path: temp.to_path_buf(),
                existed: fs::symlink_metadata(&entry.dest).is_ok(),
                file: Some(file),
                source,
            },
            true,
        )
    }

    /// Records a committed (or skipped) link and removes a moved source.
    pub(super) fn finish_linked(
        &mut self,
        i: usize,
        entry: &Entry,
        committed: Committed,
        source: Option<FileStamp>,
    ) -> Result<()> {
        match committed {
            Committed::Written { path, replaced } => {
                self.count_landing(i, &path, replaced);
                faults::point("after-place");
                let hash = match entry.kind {
                    EntryKind::HardLink { .. } => self.hash_if_needed(&path),
                    _ => None,
                };
                self.done_at(i, &path, 0, hash)?;
                if self.moves_by_rename() && !self.remove_source(i, entry, source) {
                    self.done.insert(i);
                    return Ok(());
                }
                self.file_finished(i, 0, 0, true);
            }
            Committed::Skipped => {
                self.record(Record::Skipped { i }, false)?;
                self.file_finished(i, 0, 0, false);
            }
        }
        Ok(())
    }

    /// Keeps the file about to be replaced as a hard link beside it, durably,
    /// before the replacing rename (all-or-nothing jobs). The backup's name
    /// is journaled before the link is made, so a crash in between leaks
    /// nothing a rollback cannot find.
    pub(super) fn keep_backup(&self, i: usize, dest: &Path) -> Result<()> {
        let name = dest.file_name().unwrap_or(dest.as_os_str());
        let backup = dest.with_file_name(names::backup_name(name, names::random_u64()));
        self.record(
            Record::Backup {
                i,
                path: backup.clone(),
            },
            true,
        )?;
        fs::hard_link(dest, &backup).map_err(|e| match self.traits.hard_links {
            true => Error::io(Operation::Write, dest, e)
                .with_detail("could not keep a backup of the file before replacing it"),
            // Not a matter of space: the drive cannot make the link.
            false => Error::io(Operation::Write, dest, e)
                .with_detail(format!(
                    "an all-or-nothing job keeps each file it replaces as a second name (a hard \
                     link), which {} cannot make; replace files there without \
                     --all-or-nothing",
                    self.traits.drive()
                ))
                .with_own_advice(),
        })?;
        faults::point("after-backup");
        let dir = parent_dir(dest);
        os::sync_dir(dir).map_err(|e| Error::io(Operation::Sync, dir, e))
    }

    /// Removes the source of a committed entry (moves), fsyncing its
    /// folder, but only if it is still the file that was copied and
    /// unchanged since (`opened`, its state when it was opened). A source
    /// that changed, or that cannot be removed, is kept and reported as a
    /// failure of that entry: the move did not finish. Returns whether the
    /// source is gone.
    pub(super) fn remove_source(
        &mut self,
        i: usize,
        entry: &Entry,
        opened: Option<FileStamp>,
    ) -> bool {
        self.remove_source_then(i, entry, opened, true)
    }

    /// [`remove_source`](Self::remove_source) without the folder's fsync:
    /// the caller flushes the folders of a batch once.
    pub(super) fn remove_source_deferred(
        &mut self,
        i: usize,
        entry: &Entry,
        opened: Option<FileStamp>,
    ) -> bool {
        self.remove_source_then(i, entry, opened, false)
    }

    fn remove_source_then(
        &mut self,
        i: usize,
        entry: &Entry,
        opened: Option<FileStamp>,
        sync: bool,
    ) -> bool {
        faults::point("before-source-removal");
        let now = match fs::symlink_metadata(&entry.src) {
            Ok(now) => now,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                let _ = self.record(Record::SourceRemoved { i }, false);
                return true;
            }
            Err(e) => {
                let err = Error::io(Operation::Inspect, &entry.src, e);
                return self.source_kept(i, entry, err);
            }
        };
        // Another name of the same file losing a link changes the file's
        // status-change time, not its contents: compare contents there.
        let unchanged = match (&entry.kind, opened) {
            (EntryKind::HardLink { .. }, Some(o)) => o.same_file(&now) && !o.contents_changed(&now),
            (_, Some(o)) => o.unchanged(&now),
            (_, None) => false,
        };
        if !unchanged {
            let detail = if opened.is_some() {
                "it changed while it was being moved, so the source was kept (the destination \
                 holds the contents it had when it was copied)"
            } else {
                "Ferry cannot tell whether it changed since it was copied, so the source was kept"
            };
            let err = Error::new(
                ErrorKind::SourceChanged,
                Operation::Remove,
                &entry.src,
                detail,
            );
            return self.source_kept(i, entry, err);
        }
        let result = fs::remove_file(&entry.src).or_else(|e| match e.kind() {
            io::ErrorKind::NotFound => Ok(()),
            _ => Err(e),
        });
        let synced = result.and_then(|()| match sync {
            true => os::sync_dir(parent_dir(&entry.src)),
            false => Ok(()),
        });
        match synced {
            Ok(()) => {
                let _ = self.record(Record::SourceRemoved { i }, false);
                faults::point("after-source-removed");
                true
            }
            Err(e) => {
                let kind = ErrorKind::from_io(&e);
                let why = Error::io(Operation::Remove, &entry.src, e).cause();
                let err = Error::new(
                    kind,
                    Operation::Remove,
                    &entry.src,
                    format!("the copy is in place, but the source could not be removed: {why}"),
                );
                self.source_kept(i, entry, err)
            }
        }
    }

    /// Reports a source that was kept; returns false (not removed).
    fn source_kept(&mut self, i: usize, entry: &Entry, err: Error) -> bool {
        self.fail(i, entry, &err);
        false
    }
}

/// Paths a committed entry may be at: its destination and the numbered
/// names journaled for it.
pub(super) fn candidates<'s>(
    dest: &'s Path,
    placing: Option<&'s Vec<PathBuf>>,
) -> impl Iterator<Item = &'s Path> {
    std::iter::once(dest).chain(placing.into_iter().flatten().map(PathBuf::as_path))
}
