//! Conflicts asked of a person ([`ConflictPolicy::Ask`]): a file whose
//! destination exists waits while the rest of the job goes on; the engine
//! publishes the [`Conflict`] and the job carries out the answer (replace,
//! skip, keep both), for that file or for every conflict of the job. Both
//! questions and answers are journaled: a job closed while it waits is
//! asked again when resumed, and answers given are kept.

use std::fs;
use std::time::Duration;

use super::{Phase, Runner};
use crate::error::Error;
use crate::job::{Answer, Conflict, ConflictPolicy, Entry, EntryKind};
use crate::journal::{JournalState, Record};

impl Runner<'_> {
    /// The conflict policy for entry `i`: the person's answer for it, else
    /// their answer "for all", else the job's.
    pub(super) fn policy_for(&self, i: usize) -> ConflictPolicy {
        if let Some(policy) = self.answered.get(&i) {
            return *policy;
        }
        match (self.spec.policy, self.for_all) {
            (ConflictPolicy::Ask, Some(policy)) => policy,
            (policy, _) => policy,
        }
    }

    /// Whether a failure of entry `i` is a question for a person instead.
    pub(super) fn asks(&self, i: usize, entry: &Entry, err: &Error) -> bool {
        err.kind() == crate::ErrorKind::AlreadyExists
            && !entry.is_dir()
            && self.policy_for(i) == ConflictPolicy::Ask
    }

    /// Asks about entry `i`: journals the question and hands it to the
    /// engine to publish; the entry waits for its answer.
    pub(super) fn ask(&mut self, i: usize, entry: &Entry) {
        let src = fs::metadata(&entry.src).ok();
        let dest = fs::symlink_metadata(&entry.dest).ok();
        let conflict = Conflict {
            entry: i,
            src: entry.src.clone(),
            dest: entry.dest.clone(),
            src_size: src.as_ref().map_or(0, |m| m.len()),
            src_modified: src.and_then(|m| m.modified().ok()),
            dest_size: dest.as_ref().map_or(0, |m| m.len()),
            dest_modified: dest.and_then(|m| m.modified().ok()),
        };
        let _ = self.record(Record::Asked { i }, false);
        self.asked.insert(i);
        self.progress.push_conflict(conflict);
    }

    /// Takes the answers given so far (between entries: the job does not
    /// stop for them).
    pub(super) fn take_answers(&mut self) {
        for answer in self.control.take_answers() {
            self.apply_answer(answer);
        }
    }

    fn apply_answer(&mut self, answer: Answer) {
        let policy = answer.choice.policy();
        if answer.for_all {
            self.for_all = Some(policy);
            let _ = self.record(Record::AnsweredAll { policy }, true);
        }
        self.answered.insert(answer.entry, policy);
        let _ = self.record(
            Record::Answered {
                i: answer.entry,
                policy,
            },
            true,
        );
    }

    /// Answers a resumed job already has.
    pub(super) fn take_over_answers(&mut self, state: &JournalState) {
        self.answered.extend(&state.answered);
        self.for_all = state.answered_all;
    }

    /// After every other entry: waits for the answers still missing and
    /// carries each out. Returns when every question is settled, or the job
    /// is cancelled or interrupted (the questions stay journaled).
    pub(super) fn settle_questions(&mut self) {
        while !self.asked.is_empty() {
            self.take_answers();
            let ready: Vec<usize> = self
                .asked
                .iter()
                .copied()
                .filter(|&i| self.policy_for(i) != ConflictPolicy::Ask)
                .collect();
            if ready.is_empty() {
                self.progress.set_phase(Phase::Asking);
                if !self.control.checkpoint() {
                    return;
                }
                if let Some(answer) = self.control.wait_answer(Duration::from_millis(200)) {
                    self.apply_answer(answer);
                }
                continue;
            }
            self.progress.set_phase(Phase::Copying);
            for i in ready {
                self.asked.remove(&i);
                let entry = &self.plan.entry(i);
                // Counted (file and bytes) when it was asked; counted
                // again as it ends.
                self.progress
                    .files_done
                    .fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
                let size = self.entry_size(entry);
                let _ = self.progress.bytes_done.fetch_update(
                    std::sync::atomic::Ordering::Relaxed,
                    std::sync::atomic::Ordering::Relaxed,
                    |done| Some(done.saturating_sub(size)),
                );
                self.progress.set_current(Some(&entry.dest));
                let result = match &entry.kind {
                    EntryKind::File { size } => self.transfer_file(i, entry, *size),
                    EntryKind::HardLink { first } => self.transfer_hard_link(i, entry, *first),
                    EntryKind::Symlink { target } => self.transfer_symlink(i, entry, target),
                    EntryKind::Dir { .. } => Ok(()),
                };
                if let Err(e) = result {
                    if e.kind() == crate::ErrorKind::Cancelled {
                        return;
                    }
                    self.fail(i, entry, &e);
                }
            }
        }
    }
}
