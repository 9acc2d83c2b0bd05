//! What a destination filesystem can keep, found by trying it.
//!
//! [`probe`] answers, for one folder, the questions a transfer has to ask
//! before it writes there: which filesystem is it, does it do a no-clobber
//! rename, hard links, symbolic links, permission bits, owners, `flock`,
//! how fine are its times, how large may a file be, does it tell `a` from
//! `A`, which characters and name endings does it refuse, how much room is
//! left. The answers come from **the real calls**, made on a probe file
//! named `.ferry-probe-<16 hex>` (and names derived from it) in that
//! folder, not from a table of filesystem names: a FUSE driver, a mount
//! option or a server on the far side of sshfs decides more than the
//! filesystem's format does. The name of the filesystem is found too
//! (statfs magic, the mount table's type and FUSE subtype, and for
//! `fuseblk` mounts without a subtype the device's udev record or boot
//! sector), but only the largest file size falls back on it, where trying
//! would write gigabytes.
//!
//! Every probe name is removed before [`probe`] returns, on success and on
//! every error (a guard removes whatever was created; only a SIGKILL in
//! the middle of a probe can leave one behind, and it matches
//! [`names::is_probe_name`]).
//!
//! ```
//! use ferry_engine::caps;
//!
//! let dir = tempfile::tempdir()?;
//! let found = caps::probe(dir.path())?;
//! println!("{}: {}", found.filesystem, found.limitations().join(", "));
//! assert!(found.fits(1 << 20), "a 1 MiB file fits anywhere");
//! assert_eq!(std::fs::read_dir(dir.path())?.count(), 0, "nothing left behind");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Cost
//!
//! About 40 calls on the folder's filesystem on a POSIX filesystem: the
//! probe file created, opened a second time, renamed and removed;
//! `fchmod` ×2, `fchown`, `futimens` (each followed by an `fstat`); up to
//! 16 `ftruncate`s where the filesystem allocates lazily (3 on sshfs and
//! NFS, none on FAT, exFAT, NTFS or an unknown FUSE filesystem); a link
//! and a symlink made and removed (the symlink, which points to a probe
//! name never made, is given times and its own owner with
//! `AT_SYMLINK_NOFOLLOW`: where that follows links, it fails with ENOENT
//! and changes nothing); a file made without a name (Linux's
//! `O_TMPFILE`), given one and removed; one name holding all the refused
//! characters (each alone only where that one is refused) and one for
//! each ending, made and removed; a name with `é` made and removed (is
//! anything beyond ASCII accepted); one growing `ftruncate` (can a file be
//! made longer without writing: fusefat cannot); a lookup of the name in
//! upper case; plus `fstatfs`, `fstatvfs` and one read of
//! `/proc/self/mountinfo`. Nothing
//! is flushed. Measured with the release build on a 2-core
//! machine shared with compilers (median of 15): ext4 0.4–0.5 ms, tmpfs
//! 0.3 ms, ntfs-3g 2 ms, fusefat 3.3 ms, exfat-fuse 3.6 ms, sshfs to an
//! sshd on 127.0.0.1 7–13 ms (about 30 round trips; each file created
//! over sshfs costs ~0.9 ms). A job probes each destination filesystem
//! once, through a [`ProbeCache`].
//!
//! # Platforms
//!
//! Linux is where it is tested. macOS uses the same calls
//! (`renamex_np(RENAME_EXCL)` for the no-clobber rename, `statfs`'s
//! `f_fstypename` for the name). Windows probes links, locks, times, case
//! and endings with the same calls through the standard library, reports
//! no permission bits, no owners and no no-clobber rename (Ferry uses a
//! hard link there), reports the characters that Windows refuses on every
//! filesystem without trying them (a `:` would create an alternate data
//! stream), and leaves the filesystem's name and free space unknown.

use std::collections::HashMap;
use std::ffi::{OsStr, OsString};
use std::fs::{self, File, FileTimes, OpenOptions};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::error::{Error, Operation, Result};
use crate::names;
use crate::os as platform;

/// The characters Windows refuses in names; [`probe`] tries each.
pub const WINDOWS_RESERVED_CHARS: [char; 8] = [':', '*', '?', '"', '<', '>', '|', '\\'];

/// The name endings Windows strips or refuses; [`probe`] tries each.
pub const RISKY_ENDINGS: [char; 2] = ['.', ' '];

/// The largest file FAT12/16/32 can hold: 4 GiB − 1 byte.
pub const FAT_MAX_FILE_SIZE: u64 = (4 << 30) - 1;

/// What a destination's filesystem does, as [`probe`] found it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Capabilities {
    /// The filesystem for people: "ext4", "btrfs", "tmpfs", "exFAT",
    /// "FAT32", "NTFS", "sshfs", … or "unknown".
    pub filesystem: String,
    /// How the system names it: the mount table's type (`fuseblk`,
    /// `fuse.sshfs`, `ext4`) and where it came from, or the statfs magic.
    pub driver: String,
    /// The device the folder is on (`st_dev`; 0 where there is none).
    pub device: u64,
    /// `renameat2(RENAME_NOREPLACE)` (macOS: `renamex_np(RENAME_EXCL)`)
    /// works onto a free name.
    pub rename_noreplace: bool,
    /// `link` works.
    pub hard_links: bool,
    /// `symlink` works and reads back as a symbolic link.
    pub symlinks: bool,
    /// Setting a symbolic link's times or owner with `AT_SYMLINK_NOFOLLOW`
    /// reaches the file the link points to instead (sshfs: SFTP's
    /// `SETSTAT` follows links on the server). Found on a probe link that
    /// points to nothing: where the calls follow it they fail with ENOENT,
    /// so the probe itself changes nothing. Where true, Ferry never sets
    /// a link's owner or times there.
    pub link_metadata_follows: bool,
    /// Permission bits set with `fchmod` read back as set.
    pub permissions: bool,
    /// What `fchown` can do.
    pub ownership: Ownership,
    /// An exclusive `flock` on one handle makes a second handle's attempt
    /// fail (locks exclude each other, at least on this machine).
    pub flock: bool,
    /// A lock taken through one spelling of a name excludes a lock taken
    /// through another (`NAME` and `name`) on a case-insensitive
    /// filesystem. False on exfat-fuse and fusefat, which give each
    /// spelling a kernel inode of its own; true where names are
    /// case-sensitive (there is only one spelling).
    pub locks_across_spellings: bool,
    /// A rename leaves the file's modification time alone (fusefat sets it
    /// to the time of the rename).
    pub rename_keeps_times: bool,
    /// Renaming a folder keeps its contents (fusefat loses them: a move
    /// there never renames a folder whole).
    pub folder_rename_keeps_contents: bool,
    /// A file can be made without a name and named later (`O_TMPFILE`,
    /// then `linkat`): ext4, XFS, btrfs and tmpfs on Linux; no FUSE
    /// filesystem.
    pub unnamed_files: bool,
    /// The coarsest step the modification time is kept to (1 ns, 100 ns,
    /// 1 µs, 10 ms, 1 s, 2 s); `None` if times cannot be set at all.
    pub time_granularity: Option<Duration>,
    /// The largest file size, `None` where no limit is known below
    /// 2⁶³ − 1. Found with `ftruncate` on the probe file where the
    /// filesystem allocates lazily (to within 1%, never above the real
    /// limit: ext4 with 4 KiB blocks reads as 15.9 TiB), from the format
    /// elsewhere (FAT: 4 GiB − 1). On sshfs and NFS only the 4 GiB
    /// boundary is tried (round trips are dear): `None` there means no
    /// limit below 4 GiB.
    pub max_file_size: Option<u64>,
    /// `NAME` and `name` are two different files.
    pub case_sensitive: bool,
    /// Characters of [`WINDOWS_RESERVED_CHARS`] that a name may not hold.
    pub refused_chars: Vec<char>,
    /// Characters of [`RISKY_ENDINGS`] that a name may not end with
    /// (refused, or silently stripped).
    pub refused_endings: Vec<char>,
    /// Only names in plain ASCII are accepted: a name with `é` in it is
    /// refused (fusefat answers EPERM; it writes no long names).
    pub ascii_names_only: bool,
    /// A file can be made longer with `ftruncate` (sparse, or filled with
    /// zeros). fusefat refuses it with EPERM: holes are written as zeros
    /// there.
    pub grows_by_truncate: bool,
    /// Total and free space, where the filesystem tells.
    pub space: Option<Space>,
    /// What the probe saw the system report for a new file (mode 0600
    /// asked), for diagnostics.
    pub new_file: ReportedOwner,
    /// How long the probe took.
    pub elapsed: Duration,
}

/// What `fchown` can do on a filesystem.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(not(unix), allow(dead_code))] // probed on Unix only
pub enum Ownership {
    /// Files can be given to another user (probed as root: the new owner
    /// reads back).
    Any,
    /// Only one's own user and group can be set (probed without root, so
    /// giving files away was not tried).
    OwnOnly,
    /// Owners are not kept: `fchown` fails or changes nothing (FAT, exFAT,
    /// NTFS without a user mapping), or the platform has no such notion.
    None,
}

/// Space on a filesystem, in bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Space {
    /// Size of the filesystem.
    pub total: u64,
    /// Room an unprivileged writer has left (`f_bavail`).
    pub available: u64,
}

/// Owner and mode of a freshly created file, as reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ReportedOwner {
    /// `st_uid`.
    pub uid: u32,
    /// `st_gid`.
    pub gid: u32,
    /// `st_mode & 0o7777`.
    pub mode: u32,
}

/// What the write path needs to know of a destination, from its
/// [`Capabilities`]. The default is a POSIX filesystem that keeps
/// everything.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Traits {
    /// The filesystem for people ("FAT32", "ext4", …).
    pub filesystem: String,
    /// Neither `RENAME_NOREPLACE` nor hard links work: a no-clobber commit
    /// takes the destination lock, checks the name is free, and renames.
    pub locked_no_clobber: bool,
    /// Names differ only by case here: destination locks are named after
    /// the lower-cased name, so every spelling takes the same lock.
    pub fold_case: bool,
    /// Permission bits are kept.
    pub permissions: bool,
    /// Owners can be set.
    pub ownership: bool,
    /// Symbolic links can be made.
    pub symlinks: bool,
    /// A symbolic link's own owner and times can be set without touching
    /// the file it points to (see [`Capabilities::link_metadata_follows`]).
    pub link_metadata: bool,
    /// Hard links can be made.
    pub hard_links: bool,
    /// The step modification times are kept to (1 ns where unknown).
    pub time_step: Duration,
    /// A rename keeps modification times (else they are set again, by
    /// path, after the commit).
    pub rename_keeps_times: bool,
    /// A folder may be renamed whole (its contents survive the rename).
    pub folder_renames: bool,
    /// Files can be written without a name and named when complete (see
    /// [`Capabilities::unnamed_files`]); false where nothing was probed.
    pub unnamed_files: bool,
    /// The largest file, where limited.
    pub max_file_size: Option<u64>,
    /// Characters names may not hold.
    pub refused_chars: Vec<char>,
    /// Characters names may not end with.
    pub refused_endings: Vec<char>,
    /// Names must be plain ASCII.
    pub ascii_names_only: bool,
    /// Files can be made longer with `ftruncate` (else holes of sparse
    /// files are written as zeros).
    pub grows_by_truncate: bool,
}

impl Traits {
    /// A POSIX filesystem that keeps everything (what is assumed where
    /// nothing was probed).
    pub const POSIX: Self = Self {
        filesystem: String::new(),
        locked_no_clobber: false,
        fold_case: false,
        permissions: true,
        ownership: true,
        symlinks: true,
        link_metadata: true,
        hard_links: true,
        time_step: Duration::from_nanos(1),
        rename_keeps_times: true,
        folder_renames: true,
        unnamed_files: false,
        max_file_size: None,
        refused_chars: Vec::new(),
        refused_endings: Vec::new(),
        ascii_names_only: false,
        grows_by_truncate: true,
    };

    /// The filesystem in a phrase: "this FAT32 drive" (or "the
    /// destination" where unknown).
    pub fn drive(&self) -> String {
        if self.filesystem.is_empty() || self.filesystem == "unknown" {
            "the destination".to_string()
        } else {
            format!("this {} drive", self.filesystem)
        }
    }

    /// Why `name` cannot be kept here as it is (characters, letters or an
    /// ending the filesystem refuses), in words with what to do, or
    /// `None`.
    pub fn name_problem(&self, name: &OsStr) -> Option<String> {
        let rename = "rename it before copying it there";
        let text = name.to_string_lossy();
        let drive = self.drive();
        let refused: Vec<String> = self
            .refused_chars
            .iter()
            .filter(|c| text.contains(**c))
            .map(|c| format!("'{c}'"))
            .collect();
        if !refused.is_empty() {
            return Some(format!(
                "{drive} does not allow {} in names — {rename}",
                refused.join(" ")
            ));
        }
        if self.ascii_names_only && !text.is_ascii() {
            return Some(format!(
                "{drive} accepts only names in plain ASCII (no accented letters or other \
                 scripts) — {rename}, or use a drive formatted as exFAT or NTFS"
            ));
        }
        let last = text.chars().last()?;
        self.refused_endings.contains(&last).then(|| {
            let what = if last == '.' { "a dot" } else { "a space" };
            format!("the name ends with {what}, which Windows cannot open on {drive} — {rename}")
        })
    }
}

/// [`Traits::POSIX`], for borrowing.
pub static POSIX_TRAITS: Traits = Traits::POSIX;

impl Default for Traits {
    fn default() -> Self {
        Self::POSIX
    }
}

impl Capabilities {
    /// What the write path needs of these capabilities.
    pub fn traits(&self) -> Traits {
        Traits {
            filesystem: self.filesystem.clone(),
            locked_no_clobber: !self.no_clobber_rename(),
            fold_case: !self.case_sensitive,
            permissions: self.permissions,
            ownership: self.ownership != Ownership::None,
            symlinks: self.symlinks,
            link_metadata: !self.link_metadata_follows,
            hard_links: self.hard_links,
            time_step: self.time_granularity.unwrap_or(Duration::from_nanos(1)),
            rename_keeps_times: self.rename_keeps_times,
            folder_renames: self.folder_rename_keeps_contents,
            unnamed_files: self.unnamed_files,
            max_file_size: self.max_file_size,
            refused_chars: self.refused_chars.clone(),
            refused_endings: self.endings_refused(),
            ascii_names_only: self.ascii_names_only,
            grows_by_truncate: self.grows_by_truncate,
        }
    }

    /// The name endings refused here: those the filesystem refuses or
    /// strips, and on the formats Windows reads (FAT, exFAT, NTFS) a
    /// trailing dot or space whatever the driver does with them: Windows
    /// cannot open such a name, so a stick written on Linux would hold
    /// files nobody can open on the machine it is carried to.
    pub fn endings_refused(&self) -> Vec<char> {
        let windows_format =
            self.filesystem.starts_with("FAT") || matches!(self.filesystem.as_str(), "exFAT" | "NTFS");
        if windows_format {
            RISKY_ENDINGS.to_vec()
        } else {
            self.refused_endings.clone()
        }
    }

    /// Whether some no-clobber commit works without the destination lock:
    /// `RENAME_NOREPLACE`, or a hard link followed by an unlink.
    pub fn no_clobber_rename(&self) -> bool {
        self.rename_noreplace || self.hard_links
    }

    /// Whether a file of `len` bytes may exist here (size limit only; see
    /// [`space`](Self::space) for room).
    #[cfg(any(test, feature = "internals"))]
    pub fn fits(&self, len: u64) -> bool {
        self.max_file_size.is_none_or(|max| len <= max)
    }

    /// What this filesystem will not keep, one short phrase each, for a
    /// destination field or a warning ("no symbolic links", "times to
    /// 2 s", "files up to 4.0 GiB", …). Empty for a POSIX filesystem.
    pub fn limitations(&self) -> Vec<String> {
        let mut out = Vec::new();
        if !self.symlinks {
            out.push("no symbolic links".to_string());
        }
        if self.symlinks && self.link_metadata_follows {
            out.push("no owners or times of symbolic links".to_string());
        }
        if !self.hard_links {
            out.push("no hard links".to_string());
        }
        if !self.permissions {
            out.push("no permissions".to_string());
        }
        if self.ownership == Ownership::None {
            out.push("no owners".to_string());
        }
        match self.time_granularity {
            None => out.push("no file times".to_string()),
            Some(g) if g >= Duration::from_micros(1) => {
                out.push(format!("times to {}", describe_step(g)));
            }
            Some(_) => {}
        }
        if let Some(max) = self.max_file_size
            && max < 1 << 40
        {
            out.push(format!(
                "files up to {}",
                crate::format::bytes(max.saturating_add(1))
            ));
        }
        if !self.case_sensitive {
            out.push("case-insensitive names".to_string());
        }
        if !self.refused_chars.is_empty() {
            let list: Vec<String> = self.refused_chars.iter().map(char::to_string).collect();
            out.push(format!("no {} in names", list.join(" ")));
        }
        if self.ascii_names_only {
            out.push("plain ASCII names only".to_string());
        }
        if !self.grows_by_truncate {
            out.push("no sparse files".to_string());
        }
        for c in &self.endings_refused() {
            out.push(match c {
                '.' => "no names ending in a dot".to_string(),
                _ => "no names ending in a space".to_string(),
            });
        }
        if !self.flock {
            out.push("no file locks".to_string());
        } else if !self.locks_across_spellings {
            out.push("locks miss other spellings of a name".to_string());
        }
        out
    }
}

/// A time step for people: "1 ns", "100 ns", "1 µs", "10 ms", "2 s".
fn describe_step(step: Duration) -> String {
    let ns = step.as_nanos();
    if ns >= 1_000_000_000 && ns.is_multiple_of(1_000_000_000) {
        format!("{} s", ns / 1_000_000_000)
    } else if ns >= 1_000_000 && ns.is_multiple_of(1_000_000) {
        format!("{} ms", ns / 1_000_000)
    } else if ns >= 1_000 && ns.is_multiple_of(1_000) {
        format!("{} µs", ns / 1_000)
    } else {
        format!("{ns} ns")
    }
}

impl std::fmt::Display for Capabilities {
    /// "exFAT: no symbolic links, …; 60.1 MiB free of 64.0 MiB".
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.filesystem)?;
        let limits = self.limitations();
        if !limits.is_empty() {
            write!(f, ": {}", limits.join(", "))?;
        }
        if let Some(space) = self.space {
            write!(
                f,
                "; {} free of {}",
                crate::format::bytes(space.available),
                crate::format::bytes(space.total)
            )?;
        }
        Ok(())
    }
}

/// Whether the filesystem holding the open folder `dir` is served by this
/// kernel alone, from a local disk or memory (ext2/3/4, XFS, Btrfs, tmpfs,
/// F2FS, FAT, exFAT and NTFS by their kernel drivers, bcachefs): every
/// open and every lock of its files is then this kernel's. `false` for
/// network, FUSE, overlay and unknown filesystems.
#[cfg(any(target_os = "linux", target_os = "android"))]
pub fn on_local_disk(dir: std::os::fd::BorrowedFd<'_>) -> bool {
    os::linux::on_local_disk(dir)
}

/// Free and total space of the filesystem `dir` is on, where it tells
/// (`statvfs`; nothing is written).
pub fn free_space(dir: &Path) -> Option<Space> {
    os::space(dir)
}

/// Probes the filesystem of the folder `dir` (which must exist and be
/// writable) with real calls on probe files in it. See the module docs.
///
/// Fails if `dir` cannot be opened or no probe file can be created in it
/// (read-only, no permission, full).
pub fn probe(dir: &Path) -> Result<Capabilities> {
    let started = Instant::now();
    let inspect = |e: io::Error| Error::io(Operation::Inspect, dir, e);
    let dir_meta = fs::metadata(dir).map_err(inspect)?;
    if !dir_meta.is_dir() {
        return Err(Error::io(
            Operation::Inspect,
            dir,
            io::Error::from(io::ErrorKind::NotADirectory),
        ));
    }
    let device = platform::FileId::of(&dir_meta).device();
    let identity = os::identify(dir, device);

    let stem = names::probe_name(names::random_u64());
    let mut litter = Litter::default();
    let main = dir.join(&stem);
    litter.add(main.clone());
    let file =
        platform::create_exclusive(&main).map_err(|e| Error::io(Operation::CreateTemp, dir, e))?;
    let new_file = os::reported_owner(&file);

    let flock = probe_flock(&file, &main);
    let permissions = os::probe_permissions(&file);
    // On a file without a name where the filesystem makes one: a kill
    // between giving it away and removing it leaves nothing behind (a named
    // one would stay another user's, which no sweep removes).
    let ownership = match platform::create_unnamed(dir) {
        Ok(unnamed) => os::probe_ownership(&unnamed),
        Err(_) => os::probe_ownership(&file),
    };
    let time_granularity = probe_times(&file);
    let max_file_size = match identity.family {
        Family::Fat => Some(FAT_MAX_FILE_SIZE),
        Family::Lazy | Family::Network => {
            match largest_truncate(&file, identity.family == Family::Lazy) {
                Some(found) => found,
                None => identity.family.default_max(),
            }
        }
        family => family.default_max(),
    };
    let _ = file.set_len(0);
    let grows_by_truncate = file.set_len(4096).is_ok();
    let _ = file.set_len(0);
    let case_sensitive = probe_case(dir, &stem);
    let locks_across_spellings =
        case_sensitive || (flock && probe_spelling_lock(&file, &upper_case(dir, &stem)));

    let sibling = |suffix: &str| {
        let mut name = stem.clone();
        name.push(suffix);
        // A sweep must know every name a killed probe can leave.
        debug_assert!(names::is_probe_name(&name), "{name:?}");
        dir.join(name)
    };
    let link = sibling(".link");
    litter.add(link.clone());
    let hard_links = fs::hard_link(&main, &link).is_ok();
    litter.settle(&link, hard_links);

    let sym = sibling(".sym");
    litter.add(sym.clone());
    // It points to a probe name that is never made, so a filesystem that
    // follows links where it should not (below) finds nothing to change.
    let mut nowhere = stem.clone();
    nowhere.push(".absent");
    let made = platform::symlink(Path::new(&nowhere), &sym).is_ok();
    let symlinks = made && fs::symlink_metadata(&sym).is_ok_and(|m| m.file_type().is_symlink());
    let link_metadata_follows = symlinks && os::link_metadata_follows(&sym);
    litter.settle(&sym, made);

    let folder_rename_keeps_contents = probe_folder_rename(&sibling);
    let unnamed_files = probe_unnamed(dir, &sibling(".unnamed"), &mut litter);
    let refused_chars = probe_chars(&sibling, &mut litter);
    let refused_endings = probe_endings(&sibling, &mut litter);
    let ascii_names_only = !probe_name_accepted(&sibling(".\u{e9}"), &mut litter);

    // Last: the probe file moves away under its own handle, with a known
    // modification time (fusefat sets it to "now" on every rename).
    let marked = UNIX_EPOCH + Duration::from_secs(1_000_000_000);
    let _ = file.set_times(FileTimes::new().set_modified(marked));
    let renamed = sibling(".renamed");
    litter.add(renamed.clone());
    let rename_noreplace = os::rename_noreplace(&main, &renamed);
    let moved = rename_noreplace || fs::rename(&main, &renamed).is_ok();
    // Whichever name the file has now is removed when `litter` drops.
    litter.forget(if moved { &main } else { &renamed });
    let rename_keeps_times = !moved
        || fs::metadata(&renamed)
            .and_then(|m| m.modified())
            .is_ok_and(|t| t.duration_since(marked).unwrap_or_default() < Duration::from_secs(3));

    drop(file);
    drop(litter);
    let space = os::space(dir);
    Ok(Capabilities {
        filesystem: identity.name,
        driver: identity.driver,
        device,
        rename_noreplace,
        hard_links,
        symlinks,
        link_metadata_follows,
        permissions,
        ownership,
        flock,
        locks_across_spellings,
        time_granularity,
        rename_keeps_times,
        folder_rename_keeps_contents,
        unnamed_files,
        max_file_size,
        case_sensitive,
        refused_chars,
        refused_endings,
        ascii_names_only,
        grows_by_truncate,
        space,
        new_file,
        elapsed: started.elapsed(),
    })
}

/// Names a probe may have created; whatever is still listed is removed on
/// drop (after an error or a panic too). Names known to be gone are
/// forgotten as the probe goes, so that a network filesystem pays no
/// round trip for removing what is not there.
#[derive(Default)]
struct Litter {
    paths: Vec<PathBuf>,
}

impl Litter {
    /// Lists `path` before something tries to create it.
    fn add(&mut self, path: PathBuf) {
        self.paths.push(path);
    }

    /// Removes `path` if `created`, and forgets it once it is gone.
    fn settle(&mut self, path: &Path, created: bool) {
        if created {
            match fs::remove_file(path) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                // Listed still: the drop tries again.
                Err(_) => return,
            }
        }
        self.forget(path);
    }

    /// `path` does not exist (its creation failed, or it was renamed).
    fn forget(&mut self, path: &Path) {
        self.paths.retain(|p| p != path);
    }
}

impl Drop for Litter {
    fn drop(&mut self) {
        for path in self.paths.iter().rev() {
            // Only files are made: a folder by such a name is someone
            // else's and stays.
            let _ = fs::remove_file(path);
        }
    }
}

/// Whether renaming a folder keeps what is in it (fusefat loses a renamed
/// folder's contents): a folder with one file is made, renamed, looked
/// into, and removed again.
fn probe_folder_rename(sibling: &dyn Fn(&str) -> PathBuf) -> bool {
    let (before, after) = (sibling(".dir"), sibling(".dir2"));
    if fs::create_dir(&before).is_err() {
        return true; // nothing to learn: folders cannot be made here
    }
    // The file inside has a probe name too, so a sweep recognises it if a
    // kill leaves it behind (and then the emptied folder).
    let inner = sibling("").file_name().map(OsStr::to_os_string).unwrap_or_default();
    let inside = |dir: &Path| dir.join(&inner);
    let kept = platform::create_exclusive(&inside(&before)).is_ok()
        && fs::rename(&before, &after).is_ok()
        // Listed, not looked up: the kernel's cache of names would answer a
        // lookup even where the filesystem lost the file.
        && fs::read_dir(&after).is_ok_and(|mut d| {
            d.any(|e| e.is_ok_and(|e| e.file_name() == inner))
        });
    for dir in [&after, &before] {
        let _ = fs::remove_file(inside(dir));
        let _ = fs::remove_dir(dir);
    }
    kept
}

/// Whether a file made without a name in `dir` can be named `name` with
/// its contents: made, written, linked, read back, removed.
fn probe_unnamed(dir: &Path, name: &Path, litter: &mut Litter) -> bool {
    use std::io::Write;
    let Ok(mut file) = platform::create_unnamed(dir) else {
        return false;
    };
    if file.write_all(b"x").is_err() {
        return false;
    }
    litter.add(name.to_path_buf());
    let linked = platform::link_unnamed(&file, name).is_ok();
    let whole = linked && fs::symlink_metadata(name).is_ok_and(|m| m.is_file() && m.len() == 1);
    litter.settle(name, linked);
    whole
}

/// Locks `file` exclusively and checks that a second handle cannot.
fn probe_flock(file: &File, path: &Path) -> bool {
    if file.try_lock().is_err() {
        return false;
    }
    let excluded = match OpenOptions::new().read(true).open(path) {
        Ok(second) => matches!(second.try_lock(), Err(fs::TryLockError::WouldBlock)),
        Err(_) => false,
    };
    let _ = file.unlock();
    excluded
}

/// An odd second and nanoseconds with a non-zero digit at every place:
/// 2020-09-13 12:26:41.123456789 UTC.
const PROBE_TIME: (u64, u32) = (1_600_000_001, 123_456_789);

/// The coarse-to-fine steps a filesystem may keep times to.
const TIME_STEPS: [Duration; 7] = [
    Duration::from_secs(2),
    Duration::from_secs(1),
    Duration::from_millis(10),
    Duration::from_millis(1),
    Duration::from_micros(1),
    Duration::from_nanos(100),
    Duration::from_nanos(1),
];

/// Sets [`PROBE_TIME`] and sees what reads back.
fn probe_times(file: &File) -> Option<Duration> {
    let set = UNIX_EPOCH + Duration::new(PROBE_TIME.0, PROBE_TIME.1);
    let times = FileTimes::new().set_accessed(set).set_modified(set);
    file.set_times(times).ok()?;
    let back = file.metadata().ok()?.modified().ok()?;
    granularity(set, back)
}

/// The step a time `set` was kept to, given what read back: the coarsest
/// of [`TIME_STEPS`] that the read-back time is a multiple of, if it lies
/// within that step of what was set (rounded down or up).
fn granularity(set: SystemTime, back: SystemTime) -> Option<Duration> {
    let set = set.duration_since(UNIX_EPOCH).ok()?;
    let back = back.duration_since(UNIX_EPOCH).ok()?;
    if back == set {
        return Some(Duration::from_nanos(1));
    }
    let distance = back.abs_diff(set);
    TIME_STEPS
        .into_iter()
        .find(|step| back.as_nanos().is_multiple_of(step.as_nanos()) && distance < *step)
}

/// Finds the largest size `ftruncate` accepts on `file`, for filesystems
/// that allocate lazily (a sparse file costs nothing). `Some(None)`: no
/// limit below 2⁶³ − 1 (or, unless `search`, none below 4 GiB). `None`:
/// the probe could not tell (an error other than "too large"), so the
/// caller falls back on the format. Never tries a size below 4 GiB: a
/// refused 4 GiB is taken as FAT's 4 GiB − 1.
fn largest_truncate(file: &File, search: bool) -> Option<Option<u64>> {
    let accepts = |len: u64| -> Option<bool> {
        match file.set_len(len) {
            Ok(()) => Some(true),
            Err(e) if too_large(&e) => Some(false),
            Err(_) => None,
        }
    };
    const TOP: u64 = i64::MAX as u64;
    if accepts(TOP)? {
        return Some(None);
    }
    if !accepts(4 << 30)? {
        return Some(Some(FAT_MAX_FILE_SIZE));
    }
    if !search {
        return Some(None);
    }
    // Powers of two first (bit 32 is accepted, bit 63 is not) …
    let (mut lo_bit, mut hi_bit) = (32u32, 63u32);
    while hi_bit - lo_bit > 1 {
        let mid = (lo_bit + hi_bit) / 2;
        if accepts(1 << mid)? {
            lo_bit = mid;
        } else {
            hi_bit = mid;
        }
    }
    // … then halve the gap seven times: within 1% of the real limit.
    let mut lo = 1u64 << lo_bit;
    let mut hi = if hi_bit == 63 { TOP } else { 1u64 << hi_bit };
    for _ in 0..7 {
        let mid = lo + (hi - lo) / 2;
        if accepts(mid)? {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    Some(Some(lo))
}

/// Whether `ftruncate` failed because the size is over the limit: EFBIG,
/// EINVAL, or EPERM (sshfs's answer to any failure on the server; a file
/// the probe just created and wrote is not otherwise refused a size).
fn too_large(e: &io::Error) -> bool {
    #[cfg(unix)]
    if let Some(code) = e.raw_os_error() {
        use rustix::io::Errno;
        return [Errno::FBIG, Errno::INVAL, Errno::PERM]
            .iter()
            .any(|errno| errno.raw_os_error() == code);
    }
    matches!(
        e.kind(),
        io::ErrorKind::FileTooLarge | io::ErrorKind::InvalidInput
    )
}

/// The probe file's name in upper case.
fn upper_case(dir: &Path, stem: &OsStr) -> PathBuf {
    dir.join(stem.to_string_lossy().to_uppercase())
}

/// Whether the upper-case spelling of the probe name misses the probe file.
fn probe_case(dir: &Path, stem: &OsStr) -> bool {
    fs::symlink_metadata(upper_case(dir, stem)).is_err()
}

/// Locks `file` and checks that the same file opened through `other` (a
/// different spelling of its name) cannot be locked.
fn probe_spelling_lock(file: &File, other: &Path) -> bool {
    if file.try_lock().is_err() {
        return false;
    }
    let excluded = OpenOptions::new()
        .read(true)
        .open(other)
        .is_ok_and(|second| matches!(second.try_lock(), Err(fs::TryLockError::WouldBlock)));
    let _ = file.unlock();
    excluded
}

/// Which of [`WINDOWS_RESERVED_CHARS`] a new name may not hold. One name
/// with all of them first: where it is accepted (every POSIX filesystem)
/// that is the whole test; otherwise each is tried alone.
fn probe_chars(sibling: &dyn Fn(&str) -> PathBuf, litter: &mut Litter) -> Vec<char> {
    if cfg!(windows) {
        // Refused by Windows itself on every filesystem; trying ':' would
        // make an alternate data stream on NTFS.
        return WINDOWS_RESERVED_CHARS.to_vec();
    }
    let mut accepts = |chars: &str| {
        let path = sibling(&format!(".c{chars}x"));
        litter.add(path.clone());
        let created = platform::create_exclusive(&path).is_ok();
        litter.settle(&path, created);
        created
    };
    let all: String = WINDOWS_RESERVED_CHARS.iter().collect();
    if accepts(&all) {
        return Vec::new();
    }
    WINDOWS_RESERVED_CHARS
        .into_iter()
        .filter(|c| !accepts(&c.to_string()))
        .collect()
}

/// Whether a file named `path` can be made (and removed again).
fn probe_name_accepted(path: &Path, litter: &mut Litter) -> bool {
    litter.add(path.to_path_buf());
    let created = platform::create_exclusive(path).is_ok();
    litter.settle(path, created);
    created
}

/// Which of [`RISKY_ENDINGS`] a new name may not end with: refused, or
/// stripped (the name without it is what appears).
fn probe_endings(sibling: &dyn Fn(&str) -> PathBuf, litter: &mut Litter) -> Vec<char> {
    RISKY_ENDINGS
        .into_iter()
        .filter(|c| {
            let plain = sibling(".e");
            let path = sibling(&format!(".e{c}"));
            litter.add(plain.clone());
            litter.add(path.clone());
            let created = platform::create_exclusive(&path).is_ok();
            let stripped = created && fs::symlink_metadata(&plain).is_ok();
            litter.settle(&path, created);
            litter.settle(&plain, stripped);
            !created || stripped
        })
        .collect()
}

/// Families of filesystems, for the one answer that may come from the
/// format rather than from a call: the largest file size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Family {
    /// FAT12/16/32: 4 GiB − 1, whatever the calls say.
    Fat,
    /// Filesystems that allocate lazily (sparse files), where `ftruncate`
    /// finds the limit for free: ext2/3/4, btrfs, XFS, tmpfs, F2FS, ZFS,
    /// bcachefs, APFS.
    Lazy,
    /// sshfs and NFS: each call is a round trip, so `ftruncate` only tells
    /// whether 2⁶³ − 1 and 4 GiB are accepted (the FAT boundary, for a
    /// server on FAT); the server's limit above 4 GiB is not searched.
    Network,
    /// Nothing is tried and no limit is claimed: exFAT (exfat-fuse
    /// allocates, and zeroes, on `ftruncate`; the format has no limit below
    /// the volume's size), NTFS (ntfs-3g accepts an `ftruncate` to 2⁶³ − 1
    /// and then fails every later one with EIO; the format's limit is
    /// 16 TiB or more) and anything unknown.
    Untried,
}

impl Family {
    fn default_max(self) -> Option<u64> {
        match self {
            Family::Fat => Some(FAT_MAX_FILE_SIZE),
            Family::Lazy | Family::Network | Family::Untried => None,
        }
    }
}

/// The filesystem's name and family.
struct Identity {
    name: String,
    driver: String,
    family: Family,
}

impl Identity {
    fn named(name: &str, driver: String) -> Self {
        Self {
            family: family_of(name),
            name: name.to_string(),
            driver,
        }
    }
}

fn family_of(name: &str) -> Family {
    match name {
        "FAT32" | "FAT16" | "FAT12" | "FAT" => Family::Fat,
        "ext2" | "ext3" | "ext4" | "btrfs" | "XFS" | "tmpfs" | "F2FS" | "ZFS" | "bcachefs"
        | "APFS" | "HFS+" => Family::Lazy,
        "sshfs" | "NFS" => Family::Network,
        _ => Family::Untried,
    }
}

/// A file system type as the mount table or `statfs` names it, for people.
/// `None` for the FUSE types that say nothing by themselves.
#[cfg(any(target_os = "linux", target_os = "android", target_vendor = "apple"))]
fn human_name(fstype: &str) -> Option<&'static str> {
    let subtype = fstype
        .strip_prefix("fuseblk.")
        .or_else(|| fstype.strip_prefix("fuse."));
    if let Some(sub) = subtype {
        let sub = sub.to_ascii_lowercase();
        return Some(if sub.contains("exfat") {
            "exFAT"
        } else if sub.contains("ntfs") {
            "NTFS"
        } else if sub.contains("fat") {
            "FAT"
        } else if sub == "sshfs" {
            "sshfs"
        } else if sub.contains("rclone") {
            "rclone"
        } else if sub.contains("gvfs") {
            "GVfs"
        } else {
            return None;
        });
    }
    Some(match fstype {
        "ext2" => "ext2",
        "ext3" => "ext3",
        "ext4" => "ext4",
        "btrfs" => "btrfs",
        "xfs" => "XFS",
        "tmpfs" | "ramfs" => "tmpfs",
        "vfat" | "msdos" | "msdosfs" | "fat" => "FAT",
        "exfat" => "exFAT",
        "ntfs" | "ntfs3" => "NTFS",
        "nfs" | "nfs4" => "NFS",
        "cifs" | "smb3" | "smbfs" => "SMB",
        "f2fs" => "F2FS",
        "zfs" => "ZFS",
        "bcachefs" => "bcachefs",
        "overlay" => "overlayfs",
        "apfs" => "APFS",
        "hfs" => "HFS+",
        "9p" => "9p",
        "virtiofs" => "virtiofs",
        _ => return None,
    })
}

/// What the first sector of a volume says it is (exFAT, NTFS, FAT32,
/// FAT16, FAT12).
#[cfg(any(target_os = "linux", target_os = "android"))]
fn boot_sector_name(sector: &[u8]) -> Option<&'static str> {
    let at = |offset: usize, text: &[u8]| sector.get(offset..offset + text.len()) == Some(text);
    if at(3, b"EXFAT   ") {
        Some("exFAT")
    } else if at(3, b"NTFS    ") {
        Some("NTFS")
    } else if at(82, b"FAT32   ") {
        Some("FAT32")
    } else if at(54, b"FAT16   ") {
        Some("FAT16")
    } else if at(54, b"FAT12   ") {
        Some("FAT12")
    } else {
        None
    }
}

/// A FAT volume's type from its cluster count (the FAT specification's
/// rule: fewer than 4085 is FAT12, fewer than 65525 FAT16, else FAT32).
#[cfg(any(target_os = "linux", target_os = "android", target_vendor = "apple"))]
fn fat_by_clusters(clusters: u64) -> &'static str {
    match clusters {
        0 => "FAT",
        1..4085 => "FAT12",
        4085..65525 => "FAT16",
        _ => "FAT32",
    }
}

/// Probes each destination filesystem once: the first [`get`](Self::get)
/// for a folder on a filesystem probes it, later ones (for any folder on
/// the same device) return the same answer. Meant to live as long as one
/// job, so a filesystem remounted between jobs is probed again.
#[derive(Debug, Default)]
pub struct ProbeCache {
    by_fs: Mutex<HashMap<CacheKey, Arc<Capabilities>>>,
}

/// The device (`st_dev`) on Unix; the path's first component elsewhere.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum CacheKey {
    Device(u64),
    Root(OsString),
}

impl ProbeCache {
    /// An empty cache.
    pub fn new() -> Self {
        Self::default()
    }

    /// The capabilities of the filesystem `dir` is on (an existing,
    /// writable folder: pass the nearest existing ancestor of a folder a
    /// job will create).
    pub fn get(&self, dir: &Path) -> Result<Arc<Capabilities>> {
        let key = cache_key(dir)?;
        if let Some(found) = self.lock().get(&key) {
            return Ok(Arc::clone(found));
        }
        // Probed without the lock: two threads may both probe a new
        // filesystem once; the first answer stays.
        let found = Arc::new(probe(dir)?);
        Ok(Arc::clone(self.lock().entry(key).or_insert(found)))
    }

    /// How many filesystems have been probed.
    #[cfg(any(test, feature = "internals"))]
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// Whether nothing has been probed yet.
    #[cfg(any(test, feature = "internals"))]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<CacheKey, Arc<Capabilities>>> {
        self.by_fs.lock().unwrap_or_else(|e| e.into_inner())
    }
}

fn cache_key(dir: &Path) -> Result<CacheKey> {
    let meta = fs::metadata(dir).map_err(|e| Error::io(Operation::Inspect, dir, e))?;
    if platform::HAS_FILE_IDS {
        return Ok(CacheKey::Device(platform::FileId::of(&meta).device()));
    }
    let full = fs::canonicalize(dir).map_err(|e| Error::io(Operation::Inspect, dir, e))?;
    let root = full
        .components()
        .next()
        .map(|c| c.as_os_str().to_os_string())
        .unwrap_or_default();
    Ok(CacheKey::Root(root))
}

#[cfg(unix)]
mod os {
    //! Unix: permission bits, owners, `statvfs`; Linux and macOS: the
    //! no-clobber rename and the filesystem's name.

    use super::*;
    use std::os::unix::fs::{MetadataExt, PermissionsExt};

    pub(super) fn reported_owner(file: &File) -> ReportedOwner {
        file.metadata()
            .map(|m| ReportedOwner {
                uid: m.uid(),
                gid: m.gid(),
                mode: m.mode() & 0o7777,
            })
            .unwrap_or_default()
    }

    /// Two different modes, each set with `fchmod` and read back.
    pub(super) fn probe_permissions(file: &File) -> bool {
        [0o640, 0o604].into_iter().all(|mode| {
            file.set_permissions(fs::Permissions::from_mode(mode))
                .is_ok()
                && file
                    .metadata()
                    .is_ok_and(|m| m.permissions().mode() & 0o7777 == mode)
        })
    }

    /// A uid and gid no probe could be running as.
    const OTHER_ID: u32 = 65534;

    pub(super) fn probe_ownership(file: &File) -> Ownership {
        let Ok(meta) = file.metadata() else {
            return Ownership::None;
        };
        if rustix::process::geteuid().is_root() {
            let given = std::os::unix::fs::fchown(file, Some(OTHER_ID), Some(OTHER_ID)).is_ok()
                && file
                    .metadata()
                    .is_ok_and(|m| m.uid() == OTHER_ID && m.gid() == OTHER_ID);
            // Taken back at once: a sweep removes only its own user's files.
            let _ = std::os::unix::fs::fchown(file, Some(meta.uid()), Some(meta.gid()));
            if given {
                Ownership::Any
            } else {
                Ownership::None
            }
        } else if std::os::unix::fs::fchown(file, Some(meta.uid()), Some(meta.gid())).is_ok() {
            Ownership::OwnOnly
        } else {
            Ownership::None
        }
    }

    /// Whether setting the times or owner of `link`, a symbolic link to a
    /// name that does not exist, with `AT_SYMLINK_NOFOLLOW` follows it
    /// anyway: the call then fails with ENOENT (sshfs), where a filesystem
    /// that keeps links' own metadata succeeds or says it cannot. The
    /// owner is set to the link's own (a no-op where it does not follow).
    pub(super) fn link_metadata_follows(link: &Path) -> bool {
        use rustix::fs::{AtFlags, CWD, Timespec, Timestamps, chownat, utimensat};
        use rustix::io::Errno;
        let at = Timespec {
            tv_sec: 1_000_000_000,
            tv_nsec: 0,
        };
        let times = Timestamps {
            last_access: at,
            last_modification: at,
        };
        let followed = |r: rustix::io::Result<()>| r == Err(Errno::NOENT);
        if followed(utimensat(CWD, link, &times, AtFlags::SYMLINK_NOFOLLOW)) {
            return true;
        }
        let Ok(meta) = fs::symlink_metadata(link) else {
            return false;
        };
        let uid = rustix::fs::Uid::from_raw(meta.uid());
        let gid = rustix::fs::Gid::from_raw(meta.gid());
        followed(chownat(
            CWD,
            link,
            Some(uid),
            Some(gid),
            AtFlags::SYMLINK_NOFOLLOW,
        ))
    }

    pub(super) fn rename_noreplace(from: &Path, to: &Path) -> bool {
        #[cfg(any(target_os = "linux", target_os = "android", target_vendor = "apple"))]
        {
            use rustix::fs::{CWD, RenameFlags, renameat_with};
            renameat_with(CWD, from, CWD, to, RenameFlags::NOREPLACE).is_ok()
        }
        #[cfg(not(any(target_os = "linux", target_os = "android", target_vendor = "apple")))]
        {
            let _ = (from, to);
            false
        }
    }

    pub(super) fn space(dir: &Path) -> Option<Space> {
        let handle = File::open(dir).ok()?;
        let vfs = rustix::fs::fstatvfs(&handle).ok()?;
        let unit = if vfs.f_frsize > 0 {
            vfs.f_frsize
        } else {
            vfs.f_bsize
        };
        // fusefat reports no blocks at all: unknown, not "full".
        (vfs.f_blocks > 0).then(|| Space {
            total: vfs.f_blocks.saturating_mul(unit),
            available: vfs.f_bavail.saturating_mul(unit),
        })
    }

    #[cfg(any(target_os = "linux", target_os = "android"))]
    pub(super) fn identify(dir: &Path, device: u64) -> Identity {
        linux::identify(dir, device)
    }

    #[cfg(target_vendor = "apple")]
    pub(super) fn identify(dir: &Path, _device: u64) -> Identity {
        let Ok(handle) = File::open(dir) else {
            return Identity::named("unknown", String::new());
        };
        let Ok(st) = rustix::fs::fstatfs(&handle) else {
            return Identity::named("unknown", String::new());
        };
        let raw: Vec<u8> = st
            .f_fstypename
            .iter()
            .take_while(|&&c| c != 0)
            .map(|&c| c as u8)
            .collect();
        let fstype = String::from_utf8_lossy(&raw).into_owned();
        let name = match fstype.as_str() {
            "msdos" => fat_by_clusters(st.f_blocks),
            other => human_name(other).unwrap_or("unknown"),
        };
        Identity::named(name, fstype)
    }

    #[cfg(not(any(target_os = "linux", target_os = "android", target_vendor = "apple")))]
    pub(super) fn identify(_dir: &Path, _device: u64) -> Identity {
        Identity::named("unknown", String::new())
    }

    #[cfg(any(target_os = "linux", target_os = "android"))]
    pub(super) mod linux {
        //! The filesystem's name on Linux: the statfs magic, the mount
        //! table's type (with a FUSE subtype), and for a FUSE mount that
        //! names no subtype the udev record or the boot sector of the
        //! device or image it was mounted from.

        use super::super::*;
        use std::io::Read;
        use std::os::unix::fs::FileTypeExt;

        const FUSE_SUPER_MAGIC: u64 = 0x6573_5546;

        /// statfs magic numbers (linux/magic.h) and what to call them.
        const MAGICS: [(u64, &str); 17] = [
            (0xEF53, "ext4"),
            (0x9123_683E, "btrfs"),
            (0x5846_5342, "xfs"),
            (0x0102_1994, "tmpfs"),
            (0x8584_58F6, "tmpfs"),
            (0x4d44, "vfat"),
            (0x2011_BAB0, "exfat"),
            (0x5346_544E, "ntfs3"),
            (0x6969, "nfs"),
            (0xFF53_4D42, "cifs"),
            (0xFE53_4D42, "smb3"),
            (0xF2F5_2010, "f2fs"),
            (0x2FC1_2FC1, "zfs"),
            (0xCA45_1A4E, "bcachefs"),
            (0x794C_7630, "overlay"),
            (0x0102_1997, "9p"),
            (0x6A65_6A62, "virtiofs"),
        ];

        /// One line of `/proc/self/mountinfo`, the fields used here.
        struct MountEntry {
            device: (u32, u32),
            mount_point: PathBuf,
            fstype: String,
            source: String,
        }

        pub(super) fn identify(dir: &Path, device: u64) -> Identity {
            let magic = File::open(dir)
                .ok()
                .and_then(|h| rustix::fs::fstatfs(&h).ok())
                .map(|st| (st.f_type as u64) & 0xFFFF_FFFF);
            let entry = mount_entry(dir, device);
            let driver = match (&entry, magic) {
                (Some(e), _) => format!("{} on {}", e.fstype, e.source),
                (None, Some(m)) => format!("statfs magic {m:#x}"),
                (None, None) => String::from("unknown"),
            };
            let fstype = entry
                .as_ref()
                .map(|e| e.fstype.clone())
                .or_else(|| magic.and_then(magic_name).map(str::to_string))
                .unwrap_or_default();
            let mut name = human_name(&fstype);
            let is_fuse = fstype.starts_with("fuse") || magic == Some(FUSE_SUPER_MAGIC);
            if is_fuse && name.is_none() {
                // `fuseblk` and `fuse` without a subtype (ntfs-3g,
                // exfat-fuse): ask what the source volume is.
                name = entry.as_ref().and_then(|e| volume_name(&e.source));
            }
            if name == Some("FAT") {
                name = Some(fat_name(dir, entry.as_ref()));
            }
            let name = name.unwrap_or(if is_fuse { "FUSE" } else { "unknown" });
            Identity::named(name, driver)
        }

        fn magic_name(magic: u64) -> Option<&'static str> {
            MAGICS
                .iter()
                .find(|(m, _)| *m == magic)
                .map(|(_, name)| *name)
        }

        /// The filesystems of [`MAGICS`] this kernel alone serves.
        const LOCAL_DISK: [&str; 9] = [
            "ext4", "btrfs", "xfs", "tmpfs", "vfat", "exfat", "ntfs3", "f2fs", "bcachefs",
        ];

        /// See [`on_local_disk`](super::super::on_local_disk).
        pub fn on_local_disk(dir: std::os::fd::BorrowedFd<'_>) -> bool {
            #[allow(clippy::unnecessary_cast)]
            let magic = rustix::fs::fstatfs(dir).map(|st| (st.f_type as u64) & 0xFFFF_FFFF);
            magic
                .ok()
                .and_then(magic_name)
                .is_some_and(|name| LOCAL_DISK.contains(&name))
        }

        /// FAT32, FAT16 or FAT12: from the boot sector where readable,
        /// else from the cluster count `statvfs` gives (kernel vfat: the
        /// blocks; fusefat: the "inodes", since it reports no blocks).
        fn fat_name(dir: &Path, entry: Option<&MountEntry>) -> &'static str {
            if let Some(found) = entry.and_then(|e| volume_name(&e.source))
                && found.starts_with("FAT")
            {
                return found;
            }
            let Some(vfs) = File::open(dir)
                .ok()
                .and_then(|h| rustix::fs::fstatvfs(&h).ok())
            else {
                return "FAT";
            };
            fat_by_clusters(if vfs.f_blocks > 0 {
                vfs.f_blocks
            } else {
                vfs.f_files
            })
        }

        /// The mount `dir` is on: the entry with the folder's device, the
        /// deepest such mount point that contains `dir` when there are
        /// several (bind mounts), else (btrfs subvolumes report another
        /// device) the deepest mount point that contains `dir`.
        fn mount_entry(dir: &Path, device: u64) -> Option<MountEntry> {
            let table = fs::read_to_string("/proc/self/mountinfo").ok()?;
            let dir = fs::canonicalize(dir).ok()?;
            let dev = (rustix::fs::major(device), rustix::fs::minor(device));
            let entries: Vec<MountEntry> = table.lines().filter_map(parse_line).collect();
            let deepest = |same_dev: bool| {
                entries
                    .iter()
                    .filter(|e| !same_dev || e.device == dev)
                    .filter(|e| dir.starts_with(&e.mount_point))
                    .max_by_key(|e| e.mount_point.as_os_str().len())
            };
            let best = deepest(true).or_else(|| deepest(false))?;
            Some(MountEntry {
                device: best.device,
                mount_point: best.mount_point.clone(),
                fstype: best.fstype.clone(),
                source: best.source.clone(),
            })
        }

        /// `36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw`
        fn parse_line(line: &str) -> Option<MountEntry> {
            let (head, tail) = line.split_once(" - ")?;
            let head: Vec<&str> = head.split(' ').collect();
            let mut tail = tail.split(' ');
            let (major, minor) = head.get(2)?.split_once(':')?;
            Some(MountEntry {
                device: (major.parse().ok()?, minor.parse().ok()?),
                mount_point: PathBuf::from(unescape(head.get(4)?)),
                fstype: unescape(tail.next()?),
                source: unescape(tail.next()?),
            })
        }

        /// Undoes the kernel's `\040`-style escapes.
        fn unescape(field: &str) -> String {
            let bytes = field.as_bytes();
            let mut out = Vec::with_capacity(bytes.len());
            let mut i = 0;
            while i < bytes.len() {
                if bytes[i] == b'\\'
                    && let Some(code) = bytes
                        .get(i + 1..i + 4)
                        .and_then(|d| std::str::from_utf8(d).ok())
                        .and_then(|d| u8::from_str_radix(d, 8).ok())
                {
                    out.push(code);
                    i += 4;
                    continue;
                }
                out.push(bytes[i]);
                i += 1;
            }
            String::from_utf8_lossy(&out).into_owned()
        }

        /// What the volume a FUSE filesystem was mounted from is: udev's
        /// record for a block device (readable by anyone), else its boot
        /// sector (a device root can read, or an image file).
        fn volume_name(source: &str) -> Option<&'static str> {
            if !source.starts_with('/') {
                return None;
            }
            let meta = fs::metadata(source).ok()?;
            if meta.file_type().is_block_device() {
                use std::os::unix::fs::MetadataExt;
                let rdev = meta.rdev();
                let record = format!(
                    "/run/udev/data/b{}:{}",
                    rustix::fs::major(rdev),
                    rustix::fs::minor(rdev)
                );
                if let Some(found) = udev_name(&record) {
                    return Some(found);
                }
            } else if !meta.is_file() {
                return None;
            }
            let mut sector = [0u8; 512];
            File::open(source).ok()?.read_exact(&mut sector).ok()?;
            boot_sector_name(&sector)
        }

        fn udev_name(record: &str) -> Option<&'static str> {
            let text = fs::read_to_string(record).ok()?;
            let value = |key: &str| {
                text.lines()
                    .find_map(|l| l.strip_prefix("E:")?.strip_prefix(key)?.strip_prefix('='))
            };
            match value("ID_FS_TYPE")? {
                "vfat" => Some(match value("ID_FS_VERSION") {
                    Some("FAT32") => "FAT32",
                    Some("FAT16") => "FAT16",
                    Some("FAT12") => "FAT12",
                    _ => "FAT",
                }),
                other => human_name(other),
            }
        }

        #[cfg(test)]
        mod tests {
            use super::*;

            #[test]
            fn mountinfo_lines_parse_with_escapes() {
                let line = "45 27 0:41 / /tmp/a\\040b rw,relatime - fuse.sshfs \
                            root@127.0.0.1:/x rw,user_id=0";
                let e = parse_line(line).unwrap();
                assert_eq!(e.device, (0, 41));
                assert_eq!(e.mount_point, Path::new("/tmp/a b"));
                assert_eq!(e.fstype, "fuse.sshfs");
                assert_eq!(e.source, "root@127.0.0.1:/x");
            }

            #[test]
            fn the_root_filesystem_has_a_name() {
                let id = identify(Path::new("/"), {
                    use std::os::unix::fs::MetadataExt;
                    fs::metadata("/").unwrap().dev()
                });
                assert_ne!(id.name, "unknown", "{}", id.driver);
            }
        }
    }
}

#[cfg(not(unix))]
mod os {
    //! Windows and others: no permission bits or owners to probe, no
    //! no-clobber rename call, name and space unknown without APIs the
    //! standard library does not wrap.

    use super::*;

    pub(super) fn reported_owner(file: &File) -> ReportedOwner {
        let readonly = file.metadata().is_ok_and(|m| m.permissions().readonly());
        ReportedOwner {
            uid: 0,
            gid: 0,
            mode: if readonly { 0o444 } else { 0o666 },
        }
    }

    pub(super) fn probe_permissions(_file: &File) -> bool {
        false
    }

    pub(super) fn probe_ownership(_file: &File) -> Ownership {
        Ownership::None
    }

    pub(super) fn rename_noreplace(_from: &Path, _to: &Path) -> bool {
        false
    }

    pub(super) fn link_metadata_follows(_link: &Path) -> bool {
        false
    }

    pub(super) fn space(_dir: &Path) -> Option<Space> {
        None
    }

    pub(super) fn identify(_dir: &Path, _device: u64) -> Identity {
        Identity::named("unknown", String::new())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: u64, nanos: u32) -> SystemTime {
        UNIX_EPOCH + Duration::new(secs, nanos)
    }

    /// A sweep knows the names the probe tries reserved characters in.
    #[test]
    fn the_reserved_characters_are_the_ones_probe_names_may_hold() {
        let tried: String = WINDOWS_RESERVED_CHARS.iter().collect();
        assert_eq!(tried, names::PROBE_CHARS);
    }

    #[test]
    fn granularity_is_read_from_what_came_back() {
        let set = at(PROBE_TIME.0, PROBE_TIME.1);
        let cases = [
            (at(1_600_000_001, 123_456_789), Some(1)),
            (at(1_600_000_001, 123_456_700), Some(100)),
            (at(1_600_000_001, 123_456_000), Some(1_000)),
            (at(1_600_000_001, 120_000_000), Some(10_000_000)),
            (at(1_600_000_001, 0), Some(1_000_000_000)),
            (at(1_600_000_000, 0), Some(2_000_000_000)),
            (at(1_600_000_002, 0), Some(2_000_000_000)),
            // Ignored: the time of the call, not what was set.
            (at(1_800_000_000, 0), None),
        ];
        for (back, want) in cases {
            assert_eq!(
                granularity(set, back),
                want.map(Duration::from_nanos),
                "{back:?}"
            );
        }
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn boot_sectors_and_cluster_counts_name_fat_family_volumes() {
        let mut sector = [0u8; 512];
        sector[3..11].copy_from_slice(b"EXFAT   ");
        assert_eq!(boot_sector_name(&sector), Some("exFAT"));
        sector[3..11].copy_from_slice(b"mkfs.fat");
        sector[82..90].copy_from_slice(b"FAT32   ");
        assert_eq!(boot_sector_name(&sector), Some("FAT32"));
        assert_eq!(boot_sector_name(&[0u8; 16]), None);
        assert_eq!(fat_by_clusters(4084), "FAT12");
        assert_eq!(fat_by_clusters(65524), "FAT16");
        assert_eq!(fat_by_clusters(129_022), "FAT32");
    }

    #[test]
    fn probing_leaves_nothing_and_the_cache_probes_once() {
        let dir = tempfile::tempdir().unwrap();
        let sub = dir.path().join("sub");
        fs::create_dir(&sub).unwrap();
        let cache = ProbeCache::new();
        let first = cache.get(dir.path()).unwrap();
        let second = cache.get(&sub).unwrap();
        assert!(Arc::ptr_eq(&first, &second), "same filesystem, one probe");
        assert_eq!(cache.len(), 1);
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1, "only sub");
        assert_eq!(fs::read_dir(&sub).unwrap().count(), 0);
        assert!(first.fits(1 << 30));
        assert!(first.time_granularity.is_some());
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn a_posix_filesystem_keeps_everything() {
        // The test's temp folder: ext4, btrfs, XFS or tmpfs on Linux.
        let dir = tempfile::tempdir().unwrap();
        let found = probe(dir.path()).unwrap();
        assert!(
            found.symlinks && found.hard_links && found.permissions,
            "{found:?}"
        );
        assert!(found.rename_noreplace && found.flock && found.case_sensitive);
        assert!(!found.link_metadata_follows, "{found:?}");
        assert!(found.refused_chars.is_empty() && found.refused_endings.is_empty());
        assert!(found.traits().name_problem(OsStr::new("a:b.")).is_none());
        assert!(found.space.is_some_and(|s| s.total > 0));
    }

    #[test]
    fn a_missing_folder_or_a_file_is_an_error_and_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        assert!(probe(&dir.path().join("missing")).is_err());
        let file = dir.path().join("file");
        fs::write(&file, b"x").unwrap();
        assert!(probe(&file).is_err());
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn names_are_checked_against_what_was_refused() {
        let dir = tempfile::tempdir().unwrap();
        let mut found = probe(dir.path()).unwrap();
        found.filesystem = "FAT32".into();
        found.refused_chars = vec![':', '?'];
        found.refused_endings = vec!['.'];
        found.max_file_size = Some(FAT_MAX_FILE_SIZE);
        let traits = found.traits();
        let problem = traits.name_problem(OsStr::new("a:b?.txt")).unwrap();
        assert_eq!(
            problem,
            "this FAT32 drive does not allow ':' '?' in names — rename it before copying it there"
        );
        let problem = traits.name_problem(OsStr::new("notes.")).unwrap();
        assert!(problem.contains("ends with a dot"), "{problem}");
        assert!(found.fits(FAT_MAX_FILE_SIZE) && !found.fits(FAT_MAX_FILE_SIZE + 1));
        assert!(
            found
                .limitations()
                .contains(&"files up to 4.0 GiB".to_string())
        );
    }
}
