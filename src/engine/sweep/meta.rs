//! What the sweeper knows about one directory entry, whatever the platform,
//! and the safety rules that decide whether it may be touched at all.

use std::time::{Duration, SystemTime};

/// A file's identity: device and inode (zero where the platform has none).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub(crate) struct Ident {
    pub dev: u64,
    pub ino: u64,
}

/// Where a folder is: its filesystem (device) and, where the system tells,
/// its mount. A bind mount of the same filesystem has the same device
/// number but its own mount, so both are compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub(crate) struct Place {
    pub dev: u64,
    /// The mount's identity (`statx`'s `STATX_MNT_ID` on Linux); `None`
    /// where the system does not say.
    pub mount: Option<u64>,
}

/// The type of a directory entry, as far as the sweeper cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FileKind {
    Regular,
    Directory,
    Symlink,
    /// A FIFO, socket or device, with a phrase for people.
    Other(&'static str),
}

impl FileKind {
    /// Why an entry of this type must be left alone: anything but a
    /// regular file.
    pub fn problem(self) -> Option<String> {
        match self {
            Self::Regular => None,
            Self::Directory => Some("a folder, never removed".into()),
            Self::Symlink => Some("a symbolic link, never followed".into()),
            Self::Other(what) => Some(format!("not a regular file: {what}")),
        }
    }
}

/// Metadata of one entry, read without following symbolic links.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Meta {
    pub ident: Ident,
    pub kind: FileKind,
    /// The owner's user id (`None` where the platform has no owners).
    pub owner: Option<u32>,
    pub links: u64,
    pub size: u64,
    /// The newer of the modification and status-change times (see
    /// [`change_time`] and [`Meta::bounded_by`]).
    pub changed: Option<SystemTime>,
    /// The status-change time is not one: it equals the modification time
    /// to the nanosecond, on whole seconds (exFAT, FAT, sshfs report the
    /// modification time as both), so a time copied in from a source
    /// makes the file look as old as its source.
    #[cfg_attr(not(unix), allow(dead_code))] // no status-change times there
    pub mirrored_ctime: bool,
    /// The mount it is on, where the system tells.
    pub mount: Option<u64>,
}

impl Meta {
    /// Where this entry is (for a folder: where its entries must be).
    #[cfg_attr(not(unix), allow(dead_code))]
    pub fn place(&self) -> Place {
        Place {
            dev: self.ident.dev,
            mount: self.mount,
        }
    }

    /// Why this entry, seen in a folder at `place`, is not in that folder's
    /// mount: another filesystem, or a mount point (a bind mount too).
    pub fn elsewhere(&self, place: Place) -> Option<String> {
        if self.ident.dev != place.dev {
            return Some("on another filesystem (a mount inside the folder)".into());
        }
        match (self.mount, place.mount) {
            (Some(mine), Some(folder)) if mine != folder => {
                Some("a mount point (something is mounted here), never entered or removed".into())
            }
            _ => None,
        }
    }

    /// Why this entry must be left alone, if it must: only regular files
    /// of `me` with one link in the mount of the folder at `place` may be
    /// touched.
    pub fn problem(&self, me: Option<u32>, place: Place) -> Option<String> {
        if let Some(problem) = self.kind.problem() {
            return Some(problem);
        }
        if let Some(problem) = self.owner_problem(me) {
            return Some(problem);
        }
        if self.links != 1 {
            return Some(format!(
                "has {} hard links, so other names would keep its data",
                self.links
            ));
        }
        self.elsewhere(place)
    }

    /// Why this entry, taken for a folder Ferry made (a capability probe's
    /// or a sweep's private folder) in the folder at `place`, must be left
    /// alone: it is no longer a folder, another user's, or in another
    /// mount.
    #[cfg_attr(not(unix), allow(dead_code))]
    pub fn folder_problem(&self, me: Option<u32>, place: Place) -> Option<String> {
        if self.kind != FileKind::Directory {
            return Some("no longer a folder".into());
        }
        self.owner_problem(me).or_else(|| self.elsewhere(place))
    }

    /// Why this entry is not `me`'s to touch: another user owns it.
    fn owner_problem(&self, me: Option<u32>) -> Option<String> {
        match (me, self.owner) {
            (Some(me), Some(owner)) if me != owner => {
                Some(format!("owned by another user (uid {owner})"))
            }
            _ => None,
        }
    }

    /// This file's status where its folder, as found before the sweep
    /// touched it, last changed at `folder`: a file whose status-change
    /// time is not one ([`Meta::mirrored_ctime`]) is taken to be no older
    /// than the last change of its folder (a new name in a folder changes
    /// the folder, so the file is at least that old, never proven older).
    /// Unchanged elsewhere, where the status-change time is real.
    #[cfg_attr(not(unix), allow(dead_code))]
    pub fn bounded_by(self, folder: Option<SystemTime>) -> Self {
        if !self.mirrored_ctime {
            return self;
        }
        Self {
            changed: newest(self.changed, folder),
            ..self
        }
    }

    /// How long ago the file last changed; a time in the future (or an
    /// unknown time) counts as fresh.
    pub fn age(&self, now: SystemTime) -> Duration {
        self.changed
            .and_then(|t| now.duration_since(t).ok())
            .unwrap_or(Duration::ZERO)
    }
}

/// When a file last changed: the newer of its modification and
/// status-change times (writing a file's times, as a copy does from its
/// source, changes its status-change time, so a fresh copy never looks
/// old), and whether the status-change time only mirrors the modification
/// time. Filesystems that keep no status-change time report the
/// modification time in its place (exFAT, FAT, sshfs): the two are equal
/// to the nanosecond, on a whole second. Elsewhere they differ in their
/// nanoseconds but once in a billion, and then the only cost is that the
/// file is judged more cautiously ([`Meta::bounded_by`]). Access times
/// are not used: reading a folder or a file (a scan, an indexer) moves
/// them.
#[cfg_attr(not(unix), allow(dead_code))]
pub(crate) fn change_time(
    modified: Option<SystemTime>,
    status: Option<SystemTime>,
) -> (Option<SystemTime>, bool) {
    let whole_second = |t: SystemTime| {
        t.duration_since(std::time::UNIX_EPOCH)
            .is_ok_and(|d| d.subsec_nanos() == 0)
    };
    let mirrored = matches!((modified, status), (Some(m), Some(c)) if m == c && whole_second(m));
    (newest(modified, status), mirrored)
}

/// The newer of two optional times.
pub(crate) fn newest(a: Option<SystemTime>, b: Option<SystemTime>) -> Option<SystemTime> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.max(b)),
        (a, b) => a.or(b),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta() -> Meta {
        Meta {
            ident: Ident { dev: 1, ino: 2 },
            kind: FileKind::Regular,
            owner: Some(1000),
            links: 1,
            size: 3,
            changed: None,
            mirrored_ctime: false,
            mount: Some(7),
        }
    }

    fn at(dev: u64, mount: Option<u64>) -> Place {
        Place { dev, mount }
    }

    #[test]
    fn rules_and_age() {
        let m = meta();
        let here = at(1, Some(7));
        assert_eq!(m.problem(Some(1000), here), None);
        assert_eq!(m.problem(Some(1000), at(1, None)), None);
        assert!(m.problem(Some(0), here).unwrap().contains("another user"));
        assert!(
            m.problem(Some(1000), at(9, Some(7)))
                .unwrap()
                .contains("filesystem")
        );
        // A bind mount: the same filesystem, another mount.
        assert!(
            m.problem(Some(1000), at(1, Some(8)))
                .unwrap()
                .contains("mount point")
        );
        let linked = Meta { links: 2, ..m };
        assert!(
            linked
                .problem(Some(1000), here)
                .unwrap()
                .contains("hard links")
        );
        let now = SystemTime::now();
        let future = Meta {
            changed: Some(now + Duration::from_secs(3600)),
            ..m
        };
        assert_eq!(future.age(now), Duration::ZERO);
        let old = Meta {
            changed: Some(now - Duration::from_secs(60)),
            ..m
        };
        assert_eq!(old.age(now), Duration::from_secs(60));
    }

    #[test]
    fn a_mirrored_status_change_time_is_bounded_by_the_folder() {
        let at = |s: u64, ns: u32| Some(std::time::UNIX_EPOCH + Duration::new(s, ns));
        // exFAT, FAT, sshfs: the same whole second twice.
        let (changed, mirrored) = change_time(at(1_430_000_000, 0), at(1_430_000_000, 0));
        assert!(mirrored);
        assert_eq!(changed, at(1_430_000_000, 0));
        // ext4 and the like: a real status-change time.
        let (changed, mirrored) = change_time(at(1_430_000_000, 0), at(1_800_000_000, 5));
        assert!(!mirrored);
        assert_eq!(changed, at(1_800_000_000, 5));
        let folder = at(1_800_000_000, 0);
        let m = Meta {
            changed: at(1_430_000_000, 0),
            mirrored_ctime: true,
            ..meta()
        };
        assert_eq!(m.bounded_by(folder).changed, folder);
        let real = Meta {
            mirrored_ctime: false,
            ..m
        };
        assert_eq!(real.bounded_by(folder).changed, at(1_430_000_000, 0));
    }
}
