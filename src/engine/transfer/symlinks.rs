//! Symbolic links in batches. One by one, a link costs two flushes (its
//! journal line before the rename, its folder after); a tree like
//! `/usr/lib` holds hundreds of them. In a batch, each link's temp is made
//! and journaled, the journal is flushed once, every temp is renamed into
//! place under its conflict policy, and the folders are flushed once
//! before any link is reported done. A link's target is part of its
//! creation, so there is no data to flush before the rename; a crash
//! leaves at most named temps (journaled, removed by `ferry resume`) and
//! placed links whose journal line is missing (recognised by identity).

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

use super::Runner;
use super::batch::Batch;
use crate::atomic::{self, CommitOptions, Committed};
use crate::os::path::parent_dir;
use crate::error::{Error, Operation, Result};
use crate::job::{EntryKind, TransferKind};
use crate::journal::Record;
use crate::os::{self, FileStamp};

/// A link's temp, made and journaled, waiting for its rename.
struct TempLink {
    i: usize,
    temp: PathBuf,
    source: FileStamp,
    /// What was left off the link (see [`os::copy_symlink_meta`]).
    kept: os::LinkKept,
}

impl Runner<'_> {
    /// Whether symbolic link entries go through batches: plain copies that
    /// batch their small files, onto a filesystem that has links.
    pub(super) fn batches_symlinks(&self) -> bool {
        self.batching() && self.spec.kind == TransferKind::Copy && self.traits.symlinks
    }

    /// Makes, journals, places and flushes a batch of symbolic links.
    pub(super) fn flush_symlinks(&mut self, batch: Batch) {
        let plan = self.plan;
        let mut temps = Vec::new();
        let mut records = Vec::new();
        for i in batch.entries() {
            let entry = &plan.entry(i);
            self.progress.set_current(Some(&entry.dest));
            let EntryKind::Symlink { target } = &entry.kind else {
                continue;
            };
            match temp_link(
                &entry.src,
                target.as_path(),
                &entry.dest,
                self.traits.link_metadata,
            ) {
                Ok((link, file)) => {
                    records.push(Record::Temp {
                        i,
                        path: link.temp.clone(),
                        existed: fs::symlink_metadata(&entry.dest).is_ok(),
                        file: Some(file),
                        source: Some(link.source),
                    });
                    temps.push(TempLink { i, ..link });
                }
                Err(e) => self.fail(i, entry, &e),
            }
        }
        // Every temp journaled durably before any rename.
        if let Err(e) = self.record_all(&records) {
            for link in temps {
                let _ = fs::remove_file(&link.temp);
                self.fail(link.i, &plan.entry(link.i), &e);
            }
            return;
        }
        let mut placed = Vec::new();
        let mut dirs: BTreeSet<PathBuf> = BTreeSet::new();
        let mut temps = temps.into_iter();
        while let Some(link) = temps.next() {
            if self.control.is_cancelled() {
                for link in std::iter::once(link).chain(temps.by_ref()) {
                    let _ = fs::remove_file(&link.temp);
                }
                break;
            }
            let entry = &plan.entry(link.i);
            let place_hook = self.placing_hook(link.i);
            let options = CommitOptions {
                cancel: Some(self.control.cancel_flag()),
                before_place: Some(&place_hook),
                traits: &self.traits,
                sync_dir: false,
                ..CommitOptions::new(self.policy_for(link.i))
            };
            let result = atomic::commit_path(&link.temp, &entry.dest, &options);
            drop(place_hook);
            match result {
                Ok(committed) => {
                    if let Committed::Written { path, .. } = &committed {
                        dirs.insert(parent_dir(path).to_path_buf());
                    } else {
                        let _ = fs::remove_file(&link.temp);
                    }
                    if matches!(committed, Committed::Written { .. }) {
                        self.notes.add_link(link.kept);
                    }
                    placed.push((link.i, committed, link.source));
                }
                Err(e) => {
                    let _ = fs::remove_file(&link.temp);
                    self.fail(link.i, entry, &e);
                }
            }
        }
        let dirs: Vec<&Path> = dirs.iter().map(PathBuf::as_path).collect();
        if let Err(e) = os::sync_dirs(&dirs) {
            for (i, _, _) in placed {
                let err = Error::io(
                    Operation::Sync,
                    plan.dest_parent(i),
                    clone(&e),
                );
                self.fail(i, &plan.entry(i), &err);
            }
            return;
        }
        for (i, committed, source) in placed {
            let entry = &plan.entry(i);
            if let Err(e) = self.finish_linked(i, entry, committed, Some(source)) {
                self.fail(i, entry, &e);
            }
        }
    }
}

/// Makes the temp link for `dest`, with the source link's owner and times
/// (only where `safe`: see [`os::copy_symlink_meta`]). Returns it (its
/// entry index still to be set) and its identity.
fn temp_link(
    src: &Path,
    target: &Path,
    dest: &Path,
    safe: bool,
) -> Result<(TempLink, FileStamp)> {
    let source = fs::symlink_metadata(src).map_err(|e| Error::io(Operation::Inspect, src, e))?;
    let temp = atomic::temp_symlink(target, dest)?;
    let made = os::copy_symlink_meta(&source, &temp, safe)
        .map_err(|e| Error::io(Operation::SetMetadata, &temp, e))
        .and_then(|kept| {
            fs::symlink_metadata(&temp)
                .map(|meta| (meta, kept))
                .map_err(|e| Error::io(Operation::Inspect, &temp, e))
        });
    match made {
        Ok((meta, kept)) => Ok((
            TempLink {
                i: 0,
                temp,
                source: FileStamp::of(&source),
                kept,
            },
            FileStamp::of(&meta),
        )),
        Err(e) => {
            let _ = fs::remove_file(&temp);
            Err(e)
        }
    }
}

/// `io::Error` is not `Clone`; keep its kind and message for each link.
fn clone(e: &std::io::Error) -> std::io::Error {
    match e.raw_os_error() {
        Some(code) => std::io::Error::from_raw_os_error(code),
        None => std::io::Error::new(e.kind(), e.to_string()),
    }
}
