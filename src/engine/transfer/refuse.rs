//! What cannot succeed on the destination, refused in words before any
//! byte of that entry is written, while the rest of the job goes on: a file
//! larger than the filesystem holds, a name it cannot keep, a second name
//! that only differs by case from one this job already wrote there (on a
//! filesystem that ignores case it would silently replace the first).

use super::Runner;
use crate::caps::Traits;
use crate::error::{Error, ErrorKind, Operation};
use crate::format;
use crate::job::{ConflictPolicy, Entry, EntryKind};
use crate::names;

/// Why `entry` is too large for a destination with `traits`, if it is:
/// in words that never contradict themselves (a file of exactly 4 GiB on
/// FAT is told in bytes, not as "4.0 GiB, at most 4.0 GiB").
pub(super) fn too_large(traits: &Traits, entry: &Entry) -> Option<Error> {
    let EntryKind::File { size } = entry.kind else {
        return None;
    };
    let max = traits.max_file_size?;
    if size <= max {
        return None;
    }
    let limit = max.saturating_add(1);
    let (is, most) = if format::bytes(size) == format::bytes(limit) {
        let exact = if limit.is_power_of_two() && limit >= 1 << 30 {
            format!("{max} bytes ({} minus 1 byte)", format::bytes(limit))
        } else {
            format!("{max} bytes")
        };
        (format!("{size} bytes"), exact)
    } else {
        (format::bytes(size), format::bytes(limit))
    };
    Some(Error::new(
        ErrorKind::Unsupported,
        Operation::Validate,
        &entry.src,
        format!(
            "it is {is}; {} holds at most {most} per file — use a drive formatted as exFAT \
             or NTFS for it",
            traits.drive()
        ),
    ))
}

impl Runner<'_> {
    /// Why `entry` cannot be written, if it cannot.
    pub(super) fn refusal(&mut self, i: usize, entry: &Entry) -> Option<Error> {
        let name = entry.dest.file_name()?;
        let drive = self.traits.drive();
        if let Some(refused) = too_large(&self.traits, entry) {
            return Some(refused);
        }
        if let Some(problem) = self.traits.name_problem(name) {
            return Some(Error::new(
                ErrorKind::Unsupported,
                Operation::Validate,
                &entry.dest,
                problem,
            ));
        }
        if self.traits.fold_case {
            let dir = crate::os::path::parent_dir(&entry.dest).to_path_buf();
            let folded = names::fold_case(name);
            match self.names_seen.get(&(dir.clone(), folded.clone())) {
                Some(first) if first != name => {
                    if self.policy_for(i) == ConflictPolicy::Rename {
                        return None; // the commit numbers it
                    }
                    // Advice that fits whatever policy was chosen: only
                    // `rename` keeps both (`skip` is not reported at all).
                    return Some(
                        Error::new(
                            ErrorKind::AlreadyExists,
                            Operation::Validate,
                            &entry.dest,
                            format!(
                                "'{}' and '{}' are the same name on {drive}, which ignores \
                                 case, so it was not copied over the first (rename one of \
                                 them, or keep both with the 'rename' conflict policy)",
                                first.to_string_lossy(),
                                name.to_string_lossy()
                            ),
                        )
                        .with_own_advice(),
                    );
                }
                Some(_) => {}
                None => {
                    self.names_seen.insert((dir, folded), name.to_os_string());
                }
            }
        }
        None
    }

    /// The bytes an entry counts for in the progress.
    pub(super) fn entry_size(&self, entry: &Entry) -> u64 {
        match entry.kind {
            EntryKind::File { size } => size,
            _ => 0,
        }
    }
}
