//! What a destination could not keep of its sources' metadata, counted over
//! a job and reported once per kind ("the destination does not keep
//! permissions (120 files)"), never once per file.

use crate::caps::Traits;
use crate::os::{LinkKept, MetaKept};

/// Counts, per kind, of files whose metadata could not all be kept.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct MetaNotes {
    owner_lost: u64,
    owner_unsupported: u64,
    mode_unsupported: u64,
    times_unsupported: u64,
    xattrs_lost: u64,
    setid_dropped: u64,
    /// Hard links copied as separate files (the destination has none).
    pub links_copied: u64,
    /// Files copied onto a destination that keeps coarse times.
    pub coarse_times: u64,
    /// Symbolic links whose times were not set (the destination would
    /// have set them on the files the links point to).
    link_times_skipped: u64,
    /// Symbolic links whose owner was not set, for the same reason.
    link_owner_skipped: u64,
}

impl MetaNotes {
    /// Adds one file's (or folder's) outcome.
    pub fn add(&mut self, kept: MetaKept) {
        self.owner_lost += u64::from(kept.owner_lost && is_root());
        self.owner_unsupported += u64::from(kept.owner_unsupported);
        self.mode_unsupported += u64::from(kept.mode_unsupported);
        self.times_unsupported += u64::from(kept.times_unsupported);
        self.xattrs_lost += u64::from(kept.xattrs_lost);
        self.setid_dropped += u64::from(kept.setid_dropped);
        self.coarse_times += 1;
    }

    /// Adds what was left off a symbolic link.
    pub fn add_link(&mut self, kept: LinkKept) {
        self.link_times_skipped += u64::from(kept.times_skipped);
        self.link_owner_skipped += u64::from(kept.owner_skipped);
    }

    /// Adds a folder's outcome: only what is not a property of the drive
    /// (owners root could not keep, extended attributes).
    pub fn add_folder(&mut self, kept: MetaKept) {
        self.owner_lost += u64::from(kept.owner_lost && is_root());
        self.xattrs_lost += u64::from(kept.xattrs_lost);
    }

    /// One warning per kind, in words; `traits` names the drive and its
    /// time step.
    pub fn warnings(&self, traits: &Traits) -> Vec<String> {
        let files = |n: u64| format!("{n} file{}", if n == 1 { "" } else { "s" });
        // "1 file belongs", "2 files belong".
        let verb = |n: u64, one: &str, many: &str| if n == 1 { one } else { many }.to_string();
        let links = |n: u64| format!("{n} symbolic link{}", if n == 1 { "" } else { "s" });
        let drive = traits.drive();
        let mut out = Vec::new();
        if self.owner_unsupported > 0 {
            out.push(format!(
                "{drive} does not keep owners: {} now {} to the user running Ferry",
                files(self.owner_unsupported),
                verb(self.owner_unsupported, "belongs", "belong")
            ));
        }
        if self.owner_lost > 0 {
            out.push(format!(
                "the owner of {} could not be kept",
                files(self.owner_lost)
            ));
        }
        if self.mode_unsupported > 0 {
            out.push(format!(
                "{drive} does not keep permissions ({})",
                files(self.mode_unsupported)
            ));
        }
        if self.times_unsupported > 0 {
            out.push(format!(
                "{drive} does not keep modification times ({})",
                files(self.times_unsupported)
            ));
        } else if self.coarse_times > 0 && traits.time_step >= std::time::Duration::from_secs(1) {
            out.push(format!(
                "{drive} keeps modification times to {} s only ({})",
                traits.time_step.as_secs(),
                files(self.coarse_times)
            ));
        }
        if self.links_copied > 0 {
            out.push(format!(
                "{drive} has no hard links: {} linked to another {} copied as separate files",
                files(self.links_copied),
                verb(self.links_copied, "was", "were")
            ));
        }
        if self.link_times_skipped > 0 {
            out.push(format!(
                "{drive} would set a symbolic link's times on the file it points to, so the \
                 times of {} were not kept (they show when they were copied)",
                links(self.link_times_skipped)
            ));
        }
        if self.link_owner_skipped > 0 {
            out.push(format!(
                "{drive} would set a symbolic link's owner on the file it points to, so the \
                 owner of {} was not kept (they belong to the user running Ferry)",
                links(self.link_owner_skipped)
            ));
        }
        if self.xattrs_lost > 0 {
            out.push(format!(
                "extended attributes (and access control lists) of {} could not be kept",
                files(self.xattrs_lost)
            ));
        }
        if self.setid_dropped > 0 {
            out.push(format!(
                "the set-user-ID or set-group-ID bit was left off {} whose owner could not be \
                 kept (a copy never runs as someone else)",
                files(self.setid_dropped)
            ));
        }
        out
    }
}

fn is_root() -> bool {
    crate::os::is_root()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_warning_per_kind_in_grammatical_english() {
        let mut notes = MetaNotes::default();
        notes.add(MetaKept {
            owner_unsupported: true,
            ..MetaKept::default()
        });
        notes.links_copied = 1;
        notes.add_link(LinkKept {
            times_skipped: true,
            owner_skipped: false,
        });
        let traits = Traits {
            filesystem: "sshfs".into(),
            ..Traits::POSIX
        };
        let text = notes.warnings(&traits).join("\n");
        assert!(text.contains("1 file now belongs to"), "{text}");
        assert!(
            text.contains("1 file linked to another was copied as separate files"),
            "{text}"
        );
        assert!(
            text.contains("times of 1 symbolic link were not kept"),
            "{text}"
        );
        assert!(!text.contains("owner of"), "{text}");
    }
}
