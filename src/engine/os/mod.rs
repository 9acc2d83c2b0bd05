//! Everything that differs between operating systems, behind `cfg`, in one
//! place. The rest of the engine calls these functions and stays portable.
//!
//! Linux is where Ferry is tested; macOS and Windows must compile and behave
//! sensibly (documented per function where they differ).

pub mod caps;
pub mod path;

use std::fs::{File, Metadata, OpenOptions};
use std::io;
use std::path::Path;

/// Flushes a file's data and metadata to stable storage.
///
/// On macOS `fsync` only reaches the drive's cache, so `F_FULLFSYNC` is used,
/// falling back to `fsync` on filesystems that do not support it.
pub fn sync_file(file: &File) -> io::Result<()> {
    #[cfg(target_vendor = "apple")]
    {
        if rustix::fs::fcntl_fullfsync(file).is_ok() {
            return Ok(());
        }
    }
    file.sync_all()
}

/// Makes a directory's entries (a rename into it) durable.
///
/// Windows has no directory fsync; NTFS journals its metadata, so this is a
/// no-op there.
pub fn sync_dir(dir: &Path) -> io::Result<()> {
    #[cfg(unix)]
    {
        let dir = if dir.as_os_str().is_empty() {
            Path::new(".")
        } else {
            dir
        };
        sync_file(&File::open(dir)?)
    }
    #[cfg(not(unix))]
    {
        let _ = dir;
        Ok(())
    }
}

/// Creates a new file that must not exist yet (`O_EXCL`), readable and
/// writable by its owner only (mode 0600 on Unix).
pub fn create_exclusive(path: &Path) -> io::Result<File> {
    let mut options = OpenOptions::new();
    options.read(true).write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(path)
}

/// Creates a file without a name in the folder `dir` (Linux `O_TMPFILE`),
/// readable and writable by its owner only: nothing of it can be seen, and
/// the kernel frees it if the process dies before [`link_unnamed`] names
/// it. `Unsupported` where the system or the filesystem has no such files.
pub fn create_unnamed(dir: &Path) -> io::Result<File> {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    {
        use rustix::fs::{CWD, Mode, OFlags, openat};
        let flags = OFlags::TMPFILE | OFlags::RDWR | OFlags::CLOEXEC;
        match openat(CWD, dir, flags, Mode::from_raw_mode(0o600)) {
            Ok(fd) => Ok(File::from(fd)),
            // EISDIR and ENOENT are what kernels without O_TMPFILE support
            // for this filesystem answer; EOPNOTSUPP the others.
            Err(e)
                if e == rustix::io::Errno::OPNOTSUPP
                    || e == rustix::io::Errno::ISDIR
                    || e == rustix::io::Errno::INVAL =>
            {
                Err(io::Error::new(
                    io::ErrorKind::Unsupported,
                    "no files without a name here",
                ))
            }
            Err(e) => Err(e.into()),
        }
    }
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    {
        let _ = dir;
        Err(io::Error::new(
            io::ErrorKind::Unsupported,
            "no files without a name on this system",
        ))
    }
}

/// Gives the file made by [`create_unnamed`] the name `to`, unless `to`
/// exists (`AlreadyExists`): a link is never made over an existing name,
/// so this is a no-clobber commit decided by the kernel.
pub fn link_unnamed(file: &File, to: &Path) -> io::Result<()> {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    {
        use rustix::fs::{AtFlags, CWD, linkat};
        use std::os::fd::AsRawFd;
        use std::sync::atomic::{AtomicBool, Ordering};
        // Linking the handle itself needs CAP_DAC_READ_SEARCH (root has
        // it; ENOENT without it); through /proc needs no privilege but
        // costs a lookup of /proc/self/fd/N each time.
        static BY_HANDLE_REFUSED: AtomicBool = AtomicBool::new(false);
        if !BY_HANDLE_REFUSED.load(Ordering::Relaxed) {
            match linkat(file, "", CWD, to, AtFlags::EMPTY_PATH) {
                Err(e)
                    if e == rustix::io::Errno::NOENT
                        && to
                            .parent()
                            .is_none_or(|p| p.as_os_str().is_empty() || p.exists()) =>
                {
                    BY_HANDLE_REFUSED.store(true, Ordering::Relaxed);
                }
                other => return other.map_err(io::Error::from),
            }
        }
        let proc_path = format!("/proc/self/fd/{}", file.as_raw_fd());
        linkat(CWD, proc_path.as_str(), CWD, to, AtFlags::SYMLINK_FOLLOW).map_err(io::Error::from)
    }
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    {
        let _ = (file, to);
        Err(io::Error::new(
            io::ErrorKind::Unsupported,
            "no files without a name on this system",
        ))
    }
}

/// `name` cut to at most `max` bytes (as the filesystem counts them) without
/// splitting a character: at a character boundary for UTF-8 names, at any
/// byte for other Unix names (bytes are all a Unix name is), and at a UTF-16
/// code unit that does not split a surrogate pair on Windows (whose names
/// may hold unpaired surrogates, so cutting their encoded bytes could split
/// one).
pub fn truncate_name(name: &std::ffi::OsStr, max: usize) -> std::borrow::Cow<'_, std::ffi::OsStr> {
    use std::borrow::Cow;
    if name.len() <= max {
        return Cow::Borrowed(name);
    }
    if let Some(text) = name.to_str() {
        let cut = (0..=max)
            .rev()
            .find(|&i| text.is_char_boundary(i))
            .unwrap_or(0);
        return Cow::Borrowed(std::ffi::OsStr::new(&text[..cut]));
    }
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        Cow::Borrowed(std::ffi::OsStr::from_bytes(&name.as_bytes()[..max]))
    }
    #[cfg(windows)]
    {
        use std::os::windows::ffi::{OsStrExt, OsStringExt};
        let units: Vec<u16> = name.encode_wide().collect();
        let mut kept = Vec::new();
        let mut len = 0;
        let mut i = 0;
        while i < units.len() {
            let pair = (0xD800..0xDC00).contains(&units[i])
                && units
                    .get(i + 1)
                    .is_some_and(|u| (0xDC00..0xE000).contains(u));
            let (take, bytes) = match (pair, units[i]) {
                (true, _) => (2, 4),
                (false, u) if u < 0x80 => (1, 1),
                (false, u) if u < 0x800 => (1, 2),
                _ => (1, 3),
            };
            if len + bytes > max {
                break;
            }
            kept.extend_from_slice(&units[i..i + take]);
            len += bytes;
            i += take;
        }
        Cow::Owned(std::ffi::OsString::from_wide(&kept))
    }
    #[cfg(not(any(unix, windows)))]
    {
        let text = name.to_string_lossy();
        let cut = (0..=max)
            .rev()
            .find(|&i| text.is_char_boundary(i))
            .unwrap_or(0);
        Cow::Owned(std::ffi::OsString::from(&text[..cut]))
    }
}

/// Opens a file of Ferry's own state for reading and appending, creating
/// it readable and writable by its owner only (mode 0600 on Unix).
pub fn open_private_append(path: &Path) -> io::Result<File> {
    let mut options = OpenOptions::new();
    options.read(true).append(true).create(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(path)
}

/// Whether this process runs as root (never on Windows, where the notion
/// differs and Ferry never gives files away).
pub fn is_root() -> bool {
    #[cfg(unix)]
    {
        rustix::process::geteuid().is_root()
    }
    #[cfg(not(unix))]
    {
        false
    }
}

/// Kills this process at once, with no clean-up at all (SIGKILL on Unix):
/// what fault injection uses to hit a crash window exactly.
#[cfg(feature = "fault-injection")]
pub fn kill_self() -> ! {
    #[cfg(unix)]
    {
        let _ =
            rustix::process::kill_process(rustix::process::getpid(), rustix::process::Signal::KILL);
    }
    std::process::abort()
}

/// Opens a file for locking only, creating it (mode 0600) if needed.
pub fn open_lock_file(path: &Path) -> io::Result<File> {
    let mut options = OpenOptions::new();
    options.read(true).write(true).create(true).truncate(false);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options
            .mode(0o600)
            .custom_flags(rustix::fs::OFlags::NOFOLLOW.bits() as i32);
    }
    options.open(path)
}

/// Opens an existing file for locking only: never creates, never follows a
/// symbolic link, never blocks on a FIFO.
pub fn open_lock_file_existing(path: &Path) -> io::Result<File> {
    let mut options = OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        let flags = rustix::fs::OFlags::NOFOLLOW | rustix::fs::OFlags::NONBLOCK;
        options.custom_flags(flags.bits() as i32);
    }
    options.open(path)
}

/// Opens a source for reading without ever blocking: a FIFO or device that
/// slipped past earlier checks is opened non-blocking and then refused by
/// the caller's file-type check on the handle. Unless `follow` is set, a
/// symbolic link as the last component is not followed: the open fails
/// (see [`is_symlink_refused`]).
pub fn open_source(path: &Path, follow: bool) -> io::Result<File> {
    let mut options = OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        let mut flags = rustix::fs::OFlags::NONBLOCK;
        if !follow {
            flags |= rustix::fs::OFlags::NOFOLLOW;
        }
        options.custom_flags(flags.bits() as i32);
    }
    #[cfg(not(unix))]
    let _ = follow;
    options.open(path)
}

/// Whether an [`open_source`] without `follow` failed because the path
/// names a symbolic link.
pub fn is_symlink_refused(err: &io::Error) -> bool {
    #[cfg(unix)]
    {
        // Linux and macOS say ELOOP; FreeBSD says EMLINK.
        err.raw_os_error() == Some(rustix::io::Errno::LOOP.raw_os_error())
            || (cfg!(target_os = "freebsd")
                && err.raw_os_error() == Some(rustix::io::Errno::MLINK.raw_os_error()))
    }
    #[cfg(not(unix))]
    {
        let _ = err;
        false
    }
}

/// Renames `from` to `to` only if `to` does not exist, atomically.
///
/// Linux uses `renameat2(RENAME_NOREPLACE)`, macOS `renamex_np(RENAME_EXCL)`.
/// Where those are missing (or the filesystem refuses them) a hard link
/// followed by an unlink gives the same no-clobber guarantee. Where the
/// filesystem has neither (FAT, exFAT) it fails with
/// [`io::ErrorKind::Unsupported`] — never "permission denied" — and the
/// caller commits under the destination lock instead.
pub fn rename_noreplace(from: &Path, to: &Path) -> io::Result<()> {
    #[cfg(any(target_os = "linux", target_os = "android", target_vendor = "apple"))]
    {
        use rustix::fs::{CWD, RenameFlags, renameat_with};
        match renameat_with(CWD, from, CWD, to, RenameFlags::NOREPLACE) {
            Ok(()) => return Ok(()),
            Err(e) if e == rustix::io::Errno::INVAL || e == rustix::io::Errno::NOSYS => {}
            Err(e) => return Err(e.into()),
        }
    }
    match std::fs::hard_link(from, to) {
        Ok(()) => std::fs::remove_file(from),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Err(e),
        // No hard links here (FAT and exFAT answer EPERM): not a question
        // of permissions.
        Err(e) if is_unsupported(&e) || e.kind() == io::ErrorKind::PermissionDenied => {
            Err(io::Error::new(
                io::ErrorKind::Unsupported,
                "no atomic no-clobber rename here",
            ))
        }
        Err(e) => Err(e),
    }
}

/// A file's identity on its filesystem: device and inode on Unix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FileId {
    dev: u64,
    ino: u64,
}

impl FileId {
    /// The identity of the file that `meta` describes. On Windows, stable
    /// Rust exposes no file index, so every file reads as the same identity
    /// and identity checks degrade to "always the same".
    pub fn of(meta: &Metadata) -> Self {
        #[cfg(unix)]
        {
            use std::os::unix::fs::MetadataExt;
            Self {
                dev: meta.dev(),
                ino: meta.ino(),
            }
        }
        #[cfg(not(unix))]
        {
            let _ = meta;
            Self { dev: 0, ino: 0 }
        }
    }

    /// The device (filesystem) part of the identity.
    pub fn device(self) -> u64 {
        self.dev
    }

    /// The inode part of the identity.
    pub fn inode(self) -> u64 {
        self.ino
    }

    /// The identity of inode `ino` on device `dev`.
    pub fn from_parts(dev: u64, ino: u64) -> Self {
        Self { dev, ino }
    }
}

/// Whether identities can tell files apart on this platform.
pub const HAS_FILE_IDS: bool = cfg!(unix);

/// Number of hard links to the file.
pub fn link_count(meta: &Metadata) -> u64 {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        meta.nlink()
    }
    #[cfg(not(unix))]
    {
        let _ = meta;
        1
    }
}

/// Whether a file may be unlinked while another handle has it open and
/// locked. True on Unix; on Windows the lock holder must close first.
pub const CAN_UNLINK_OPEN_FILES: bool = cfg!(unix);

/// A phrase for a non-regular file type ("a FIFO", "a folder", …).
pub fn describe_file_type(file_type: &std::fs::FileType) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if file_type.is_fifo() {
            return "a FIFO (named pipe)";
        }
        if file_type.is_socket() {
            return "a socket";
        }
        if file_type.is_block_device() || file_type.is_char_device() {
            return "a device";
        }
    }
    if file_type.is_dir() {
        "a folder"
    } else if file_type.is_symlink() {
        "a symbolic link"
    } else if file_type.is_file() {
        "a regular file"
    } else {
        "a special file"
    }
}

/// Creates a symbolic link at `link` pointing to `target`. On Windows the
/// link is a file symlink unless `target` (resolved beside `link`) is a
/// folder.
pub fn symlink(target: &Path, link: &Path) -> io::Result<()> {
    #[cfg(unix)]
    {
        std::os::unix::fs::symlink(target, link)
    }
    #[cfg(windows)]
    {
        let resolved = link.parent().map(|p| p.join(target)).unwrap_or_default();
        if resolved.is_dir() {
            std::os::windows::fs::symlink_dir(target, link)
        } else {
            std::os::windows::fs::symlink_file(target, link)
        }
    }
    #[cfg(not(any(unix, windows)))]
    {
        let _ = (target, link);
        Err(io::Error::from(io::ErrorKind::Unsupported))
    }
}

/// Drops a file's cached pages so the next read comes from the disk (Linux
/// `posix_fadvise(DONTNEED)`; elsewhere a no-op). Call after an fsync: dirty
/// pages are not dropped.
pub fn drop_cached_pages(file: &File) {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    {
        let _ = rustix::fs::fadvise(file, 0, None, rustix::fs::Advice::DontNeed);
    }
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    let _ = file;
}

/// A folder's permissions, owner and times, kept in the plan because moving
/// entries out of a source folder changes its times.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct DirMeta {
    /// Unix mode bits (or 0o555 / 0o755 for a read-only or writable folder
    /// elsewhere).
    pub mode: Option<u32>,
    /// Owner and group (Unix).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<(u32, u32)>,
    /// Last access.
    pub accessed: Option<std::time::SystemTime>,
    /// Last modification.
    pub modified: Option<std::time::SystemTime>,
}

/// What [`apply_dir_meta`] needs of a folder's metadata.
pub fn dir_meta(meta: &Metadata) -> DirMeta {
    #[cfg(unix)]
    let (mode, owner) = {
        use std::os::unix::fs::MetadataExt;
        (meta.mode() & 0o7777, Some((meta.uid(), meta.gid())))
    };
    #[cfg(not(unix))]
    let (mode, owner) = (
        if meta.permissions().readonly() {
            0o555
        } else {
            0o755
        },
        None,
    );
    DirMeta {
        mode: Some(mode),
        owner,
        accessed: meta.accessed().ok(),
        modified: meta.modified().ok(),
    }
}

/// Gives the folder `dest` the owner (where the process may), permissions
/// and times in `meta`, through a handle where the OS allows it. The
/// set-user-ID and set-group-ID bits are dropped where the owner or group
/// could not be kept.
pub fn apply_dir_meta(meta: &DirMeta, dest: &Path) -> io::Result<MetaKept> {
    let mut times = std::fs::FileTimes::new();
    if let Some(t) = meta.accessed {
        times = times.set_accessed(t);
    }
    if let Some(t) = meta.modified {
        times = times.set_modified(t);
    }
    #[cfg(unix)]
    {
        let dir = File::open(dest)?;
        let mut kept = MetaKept::default();
        if let Some((uid, gid)) = meta.owner {
            kept = keep_owner(&dir, uid, gid);
        }
        if let Some(mode) = meta.mode {
            let safe = kept.safe_mode(mode, meta.owner.is_some());
            kept.setid_dropped = safe & 0o6000 != mode & 0o6000;
            let mode = safe;
            if let Err(e) = rustix::fs::fchmod(&dir, rustix::fs::Mode::from_raw_mode(mode as _)) {
                let e = io::Error::from(e);
                if !is_unsupported(&e) {
                    return Err(e);
                }
                kept.mode_unsupported = true;
            }
        }
        if let Err(e) = dir.set_times(times) {
            if !is_unsupported(&e) {
                return Err(e);
            }
            kept.times_unsupported = true;
        }
        Ok(kept)
    }
    #[cfg(not(unix))]
    {
        // Windows opens folders only with backup semantics; the attribute
        // that matters there (read-only) is set by path.
        let _ = times;
        let mut perms = std::fs::metadata(dest)?.permissions();
        perms.set_readonly(meta.mode.is_some_and(|m| m & 0o200 == 0));
        std::fs::set_permissions(dest, perms)?;
        Ok(MetaKept::default())
    }
}

/// What could be kept of a file's owner, permissions and times.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MetaKept {
    /// The owner could not be kept (the process may not give files away).
    pub owner_lost: bool,
    /// The group could not be kept.
    pub group_lost: bool,
    /// The filesystem does not keep owners at all.
    pub owner_unsupported: bool,
    /// The filesystem does not keep permission bits.
    pub mode_unsupported: bool,
    /// The filesystem does not keep times.
    pub times_unsupported: bool,
    /// Extended attributes (and ACLs) could not all be kept.
    pub xattrs_lost: bool,
    /// The set-user-ID or set-group-ID bit was left off because the owner
    /// or group could not be kept.
    pub setid_dropped: bool,
}

impl MetaKept {
    /// `mode` without the set-user-ID bit where the owner was not kept and
    /// without the set-group-ID bit where the group was not kept (as `cp`
    /// does): a copy never runs as someone who did not own the original.
    /// With `owner_known` false (no owner to keep) both bits go.
    #[cfg_attr(not(unix), allow(dead_code))] // used on Unix only
    pub fn safe_mode(self, mode: u32, owner_known: bool) -> u32 {
        let mut mode = mode & 0o7777;
        if !owner_known || self.owner_lost || self.owner_unsupported {
            mode &= !0o4000;
        }
        if !owner_known || self.group_lost || self.owner_unsupported {
            mode &= !0o2000;
        }
        mode
    }
}

/// Gives `file` the owner `uid` and group `gid` where this process may: root
/// keeps both, another user keeps the group if it belongs to it (its own
/// uid is kept by default).
#[cfg(unix)]
fn keep_owner(file: &File, uid: u32, gid: u32) -> MetaKept {
    match file.metadata() {
        Ok(now) => keep_owner_from(file, &now, uid, gid),
        Err(_) => MetaKept {
            owner_lost: true,
            group_lost: true,
            ..MetaKept::default()
        },
    }
}

/// [`keep_owner`] for a file whose status `now` is known.
#[cfg(unix)]
fn keep_owner_from(file: &File, now: &Metadata, uid: u32, gid: u32) -> MetaKept {
    use rustix::fs::{Gid, Uid, fchown};
    use std::os::unix::fs::MetadataExt;
    let mut kept = MetaKept::default();
    if now.uid() == uid && now.gid() == gid {
        return kept;
    }
    let root = rustix::process::geteuid().is_root();
    let (want_uid, want_gid) = (Uid::from_raw(uid), Gid::from_raw(gid));
    if root || now.uid() == uid {
        match fchown(file, (now.uid() != uid).then_some(want_uid), Some(want_gid)) {
            Ok(()) => return kept,
            Err(e) if root && is_unsupported(&io::Error::from(e)) => {
                kept.owner_unsupported = true;
                return kept;
            }
            Err(_) => {}
        }
    }
    kept.owner_lost = now.uid() != uid;
    if now.gid() != gid {
        kept.group_lost = fchown(file, None, Some(want_gid)).is_err();
    }
    kept
}

/// Gives the open file `file` the owner and permissions of `src` (whose
/// metadata is `meta`), and its extended attributes (with them, POSIX
/// ACLs) where both filesystems have them. Order matters: the owner first
/// (changing it clears set-ID bits), then the mode, then extended
/// attributes (an ACL adjusts the mode). Times are not set here but with
/// [`set_file_times`], last, just before the file is flushed and renamed
/// (see `StagedFile` in `copy.rs` for why).
///
/// Where the destination is known not to keep permissions or owners
/// (`keep`), those calls are skipped and reported as not kept.
pub fn copy_file_meta(
    src: &File,
    meta: &Metadata,
    file: &File,
    file_now: &Metadata,
    keep: KeepMeta,
) -> io::Result<MetaKept> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        let mut kept = if keep.owner {
            keep_owner_from(file, file_now, meta.uid(), meta.gid())
        } else {
            let mine = rustix::process::geteuid().as_raw() == meta.uid();
            MetaKept {
                owner_unsupported: !mine,
                ..MetaKept::default()
            }
        };
        let mode = kept.safe_mode(meta.mode(), true);
        kept.setid_dropped = mode & 0o6000 != meta.mode() & 0o6000;
        if !keep.permissions {
            kept.mode_unsupported = true;
        } else if let Err(e) = rustix::fs::fchmod(file, rustix::fs::Mode::from_raw_mode(mode as _))
        {
            let e = io::Error::from(e);
            if !is_unsupported(&e) {
                return Err(e);
            }
            kept.mode_unsupported = true;
        }
        kept.xattrs_lost = copy_xattrs(src, file).is_err();
        Ok(kept)
    }
    #[cfg(not(unix))]
    {
        let _ = (src, keep, file_now);
        file.set_permissions(meta.permissions())?;
        Ok(MetaKept::default())
    }
}

/// Which metadata a destination is known to keep (all, where unknown).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeepMeta {
    /// Permission bits.
    pub permissions: bool,
    /// Owner and group.
    pub owner: bool,
}

impl Default for KeepMeta {
    fn default() -> Self {
        Self {
            permissions: true,
            owner: true,
        }
    }
}

/// Gives the open file `file` these access and modification times (those
/// that are `Some`). `Ok(false)`: the filesystem keeps no times.
pub fn set_file_times(
    file: &File,
    accessed: Option<std::time::SystemTime>,
    modified: Option<std::time::SystemTime>,
) -> io::Result<bool> {
    let mut times = std::fs::FileTimes::new();
    if let Some(t) = accessed {
        times = times.set_accessed(t);
    }
    if let Some(t) = modified {
        times = times.set_modified(t);
    }
    match file.set_times(times) {
        Err(e) if is_unsupported(&e) => Ok(false),
        Err(e) => Err(e),
        Ok(()) => Ok(true),
    }
}

/// Copies the extended attributes of `src` onto `dst` (Linux and macOS).
/// Attributes this process may not set (`trusted.*`, `security.*` as a
/// normal user) are left out quietly; an error means some could not be
/// kept (the destination has none, or refused one).
pub fn copy_xattrs(src: &File, dst: &File) -> io::Result<()> {
    #[cfg(any(target_os = "linux", target_os = "android", target_vendor = "apple"))]
    {
        use rustix::fs::{XattrFlags, fgetxattr, flistxattr, fsetxattr};
        let mut names = vec![0u8; 1024];
        let len = loop {
            match flistxattr(src, &mut names[..]) {
                Ok(n) => break n,
                Err(rustix::io::Errno::RANGE) => names.resize(names.len() * 4, 0),
                // The source's filesystem has none: nothing to keep.
                Err(e) if is_unsupported(&io::Error::from(e)) => return Ok(()),
                Err(e) => return Err(e.into()),
            }
        };
        let mut value = vec![0u8; 4096];
        let mut result = Ok(());
        for name in names[..len].split(|&b| b == 0).filter(|n| !n.is_empty()) {
            let name = <std::ffi::OsStr as std::os::unix::ffi::OsStrExt>::from_bytes(name);
            let n = loop {
                match fgetxattr(src, name, &mut value[..]) {
                    Ok(n) => break Some(n),
                    Err(rustix::io::Errno::RANGE) => value.resize(value.len() * 4, 0),
                    Err(_) => break None,
                }
            };
            let Some(n) = n else { continue };
            match fsetxattr(dst, name, &value[..n], XattrFlags::empty()) {
                Ok(()) => {}
                Err(rustix::io::Errno::PERM | rustix::io::Errno::ACCESS)
                    if !rustix::process::geteuid().is_root() => {}
                Err(e) => result = Err(e.into()),
            }
        }
        result
    }
    #[cfg(not(any(target_os = "linux", target_os = "android", target_vendor = "apple")))]
    {
        let _ = (src, dst);
        Ok(())
    }
}

/// What [`copy_symlink_meta`] left off a link because setting it would
/// have changed the file the link points to.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LinkKept {
    /// The link's times were not set.
    pub times_skipped: bool,
    /// The link's owner was not set (and differs from the source link's).
    pub owner_skipped: bool,
}

/// Gives the symbolic link at `link` (not what it points to) the owner,
/// where the process may, and times of the link `meta` describes.
///
/// Where `safe` is false (the filesystem follows links even when asked not
/// to: sshfs), nothing is set: the call would change the link's target,
/// which may be any file, outside the job too. What was left off is
/// returned, for one warning per kind.
pub fn copy_symlink_meta(meta: &Metadata, link: &Path, safe: bool) -> io::Result<LinkKept> {
    #[cfg(unix)]
    {
        use rustix::fs::{AtFlags, CWD, Timespec, Timestamps, chownat, utimensat};
        use std::os::unix::fs::MetadataExt;
        let may_chown =
            rustix::process::geteuid().is_root() || rustix::process::geteuid().as_raw() == meta.uid();
        if !safe {
            let owner_skipped = may_chown
                && std::fs::symlink_metadata(link)
                    .is_ok_and(|now| now.uid() != meta.uid() || now.gid() != meta.gid());
            return Ok(LinkKept {
                times_skipped: true,
                owner_skipped,
            });
        }
        if may_chown {
            let uid = rustix::fs::Uid::from_raw(meta.uid());
            let gid = rustix::fs::Gid::from_raw(meta.gid());
            let _ = chownat(CWD, link, Some(uid), Some(gid), AtFlags::SYMLINK_NOFOLLOW);
        }
        let times = Timestamps {
            last_access: Timespec {
                tv_sec: meta.atime(),
                tv_nsec: meta.atime_nsec() as _,
            },
            last_modification: Timespec {
                tv_sec: meta.mtime(),
                tv_nsec: meta.mtime_nsec() as _,
            },
        };
        match utimensat(CWD, link, &times, AtFlags::SYMLINK_NOFOLLOW) {
            Err(e) if is_unsupported(&io::Error::from(e)) => Ok(LinkKept::default()),
            other => other.map(|()| LinkKept::default()).map_err(io::Error::from),
        }
    }
    #[cfg(not(unix))]
    {
        let _ = (meta, link, safe);
        Ok(LinkKept::default())
    }
}

/// Sets a file's access and modification times by path (for filesystems
/// that change them on rename, after the rename).
pub fn set_times_by_path(
    path: &Path,
    accessed: Option<std::time::SystemTime>,
    modified: Option<std::time::SystemTime>,
) -> io::Result<()> {
    #[cfg(unix)]
    {
        use rustix::fs::{AtFlags, CWD, Timespec, Timestamps, UTIME_OMIT, utimensat};
        let spec = |t: Option<std::time::SystemTime>| match t
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        {
            Some(d) => Timespec {
                tv_sec: d.as_secs() as _,
                tv_nsec: d.subsec_nanos() as _,
            },
            None => Timespec {
                tv_sec: 0,
                tv_nsec: UTIME_OMIT,
            },
        };
        let times = Timestamps {
            last_access: spec(accessed),
            last_modification: spec(modified),
        };
        utimensat(CWD, path, &times, AtFlags::empty()).map_err(io::Error::from)
    }
    #[cfg(not(unix))]
    {
        let mut times = std::fs::FileTimes::new();
        if let Some(t) = accessed {
            times = times.set_accessed(t);
        }
        if let Some(t) = modified {
            times = times.set_modified(t);
        }
        OpenOptions::new().write(true).open(path)?.set_times(times)
    }
}

/// A file's identity and the state of its contents as `stat` sees them:
/// what a journal records to recognise a file later, and what a move
/// compares before it removes a source.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct FileStamp {
    /// Device.
    pub dev: u64,
    /// Inode.
    pub ino: u64,
    /// Size in bytes.
    pub size: u64,
    /// Modification time, nanoseconds since the Unix epoch.
    pub mtime_ns: i64,
    /// Status-change time, nanoseconds since the Unix epoch (0 where the
    /// platform has none).
    pub ctime_ns: i64,
    /// Birth time, nanoseconds since the Unix epoch; 0 where the filesystem
    /// keeps none (FUSE drivers, network mounts) and in journals written
    /// before it was recorded. It tells a file from a later one that was
    /// given the same inode number after the first was deleted (ext4 does
    /// so at once).
    #[serde(default, skip_serializing_if = "is_unknown")]
    pub btime_ns: i64,
}

/// Birth times further apart than this are different files' (10 ms: FAT
/// and exFAT keep creation times in hundredths of a second, and may hold a
/// finer one in memory until the file is read back from the disk).
const BIRTH_STEP_NS: u64 = 10_000_000;

fn is_unknown(ns: &i64) -> bool {
    *ns == 0
}

/// Nanoseconds since the Unix epoch (negative before it); 0 if unknown.
#[cfg(unix)]
fn epoch_ns(time: std::io::Result<std::time::SystemTime>) -> i64 {
    let Ok(time) = time else { return 0 };
    match time.duration_since(std::time::UNIX_EPOCH) {
        Ok(after) => i64::try_from(after.as_nanos()).unwrap_or(i64::MAX),
        Err(before) => i64::try_from(before.duration().as_nanos()).map_or(i64::MIN, |n| -n),
    }
}

impl FileStamp {
    /// The stamp of the file `meta` describes.
    pub fn of(meta: &Metadata) -> Self {
        #[cfg(unix)]
        {
            use std::os::unix::fs::MetadataExt;
            let ns = |s: i64, n: i64| s.saturating_mul(1_000_000_000).saturating_add(n);
            Self {
                dev: meta.dev(),
                ino: meta.ino(),
                size: meta.len(),
                mtime_ns: ns(meta.mtime(), meta.mtime_nsec()),
                ctime_ns: ns(meta.ctime(), meta.ctime_nsec()),
                btime_ns: epoch_ns(meta.created()),
            }
        }
        #[cfg(not(unix))]
        {
            let mtime_ns = meta
                .modified()
                .ok()
                .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                .map_or(0, |d| d.as_nanos() as i64);
            Self {
                dev: 0,
                ino: 0,
                size: meta.len(),
                mtime_ns,
                ctime_ns: 0,
                btime_ns: 0,
            }
        }
    }

    /// Whether `meta` is the same file (identity only: device, inode and,
    /// where both stamps know it, birth time). Never true where the
    /// platform cannot tell files apart.
    pub fn same_file(&self, meta: &Metadata) -> bool {
        let other = Self::of(meta);
        HAS_FILE_IDS && self.dev == other.dev && self.ino == other.ino && self.same_birth(&other)
    }

    /// Whether this stamp and `meta` both have a birth time, so that
    /// [`same_file`](Self::same_file) is sure. Without one (FUSE drivers,
    /// network mounts), an inode number may be another file's: a deleted
    /// file's number is given out again, and FUSE drivers number files
    /// anew at each mount.
    pub fn birth_known(&self, meta: &Metadata) -> bool {
        self.btime_ns != 0 && Self::of(meta).btime_ns != 0
    }

    /// Whether two stamps of one inode number are of one file: their birth
    /// times agree, or one of them is unknown.
    fn same_birth(&self, other: &Self) -> bool {
        self.btime_ns == 0
            || other.btime_ns == 0
            || self.btime_ns.abs_diff(other.btime_ns) < BIRTH_STEP_NS
    }

    /// Whether `meta` is the same file with the same size, modification
    /// and status-change times: nothing wrote to it, renamed another file
    /// over it, or changed its metadata since this stamp was taken.
    pub fn unchanged(&self, meta: &Metadata) -> bool {
        let other = Self::of(meta);
        (!HAS_FILE_IDS
            || (self.dev == other.dev && self.ino == other.ino && self.same_birth(&other)))
            && self.size == other.size
            && self.mtime_ns == other.mtime_ns
            && self.ctime_ns == other.ctime_ns
    }

    /// Whether the contents may have changed: size or modification time
    /// differ (metadata-only changes do not count).
    pub fn contents_changed(&self, meta: &Metadata) -> bool {
        let other = Self::of(meta);
        self.size != other.size || self.mtime_ns != other.mtime_ns
    }
}

/// Whether a regular file's size says nothing of its length, so it must be
/// read to its end: it reports none (procfs), or it lies on a kernel
/// filesystem whose files report a size that is not their contents' (sysfs
/// says 4096 for a value of a few bytes). Such files have no blocks, so a
/// file with blocks costs no extra call.
pub fn size_is_unknown(file: &File, meta: &Metadata) -> bool {
    if meta.len() == 0 {
        return true;
    }
    #[cfg(any(target_os = "linux", target_os = "android"))]
    {
        use std::os::unix::fs::MetadataExt;
        /// statfs magic numbers (linux/magic.h) of filesystems whose files
        /// are made up when read: proc, sysfs, debugfs, tracefs,
        /// securityfs, cgroup, cgroup2, configfs, pstore, bpf.
        const PSEUDO: [u64; 10] = [
            0x9fa0,
            0x6265_6572,
            0x6462_6720,
            0x7472_6163,
            0x7363_6673,
            0x0027_e0eb,
            0x6367_7270,
            0x6265_6570,
            0x6165_676c,
            0xcafe_4a11,
        ];
        if meta.blocks() != 0 {
            return false;
        }
        rustix::fs::fstatfs(file)
            .is_ok_and(|st| PSEUDO.contains(&((st.f_type as u64) & 0xFFFF_FFFF)))
    }
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    {
        let _ = file;
        false
    }
}

/// The bytes a file takes on its disk: its allocated blocks (fewer than its
/// size for a sparse file) on Unix, its size elsewhere.
pub fn allocated_size(meta: &Metadata) -> u64 {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        meta.blocks().saturating_mul(512)
    }
    #[cfg(not(unix))]
    {
        meta.len()
    }
}

/// Whether a regular file has holes worth keeping: fewer blocks allocated
/// than its size needs (Unix). A cheap test from `stat`; the data ranges
/// come from [`next_data`].
pub fn looks_sparse(meta: &Metadata) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        meta.len() > 0 && meta.blocks().saturating_mul(512) < meta.len()
    }
    #[cfg(not(unix))]
    {
        let _ = meta;
        false
    }
}

/// The next range of data at or after `from` in a file of `size` bytes:
/// `Some((start, end))`, or `None` when only a hole is left
/// (`SEEK_DATA`/`SEEK_HOLE`). Where the platform cannot tell, the rest of
/// the file is one range.
pub fn next_data(file: &File, from: u64, size: u64) -> io::Result<Option<(u64, u64)>> {
    if from >= size {
        return Ok(None);
    }
    #[cfg(any(target_os = "linux", target_os = "android", target_vendor = "apple"))]
    {
        use rustix::fs::{SeekFrom, seek};
        let start = match seek(file, SeekFrom::Data(from)) {
            Ok(start) => start,
            Err(rustix::io::Errno::NXIO) => return Ok(None),
            Err(e) if is_unsupported(&io::Error::from(e)) => return Ok(Some((from, size))),
            Err(e) => return Err(e.into()),
        };
        if start >= size {
            return Ok(None);
        }
        let end = seek(file, SeekFrom::Hole(start))?.min(size);
        Ok(Some((start, end)))
    }
    #[cfg(not(any(target_os = "linux", target_os = "android", target_vendor = "apple")))]
    {
        let _ = file;
        Ok(Some((from, size)))
    }
}

/// Copies up to `len` bytes from `src` at `*src_off` to `dst` at
/// `*dst_off` in the kernel (`copy_file_range` with explicit offsets),
/// advancing both offsets. Fails with `Unsupported` where there is none.
pub fn copy_range_at(
    src: &File,
    src_off: &mut u64,
    dst: &File,
    dst_off: &mut u64,
    len: usize,
) -> io::Result<usize> {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    {
        rustix::fs::copy_file_range(src, Some(src_off), dst, Some(dst_off), len)
            .map_err(io::Error::from)
    }
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    {
        let _ = (src, src_off, dst, dst_off, len);
        Err(io::Error::from(io::ErrorKind::Unsupported))
    }
}

/// Reads at `offset` without moving the file position.
pub fn read_at(file: &File, buf: &mut [u8], offset: u64) -> io::Result<usize> {
    #[cfg(unix)]
    {
        std::os::unix::fs::FileExt::read_at(file, buf, offset)
    }
    #[cfg(windows)]
    {
        std::os::windows::fs::FileExt::seek_read(file, buf, offset)
    }
}

/// Writes all of `buf` at `offset` without moving the file position.
pub fn write_all_at(file: &File, buf: &[u8], offset: u64) -> io::Result<()> {
    #[cfg(unix)]
    {
        std::os::unix::fs::FileExt::write_all_at(file, buf, offset)
    }
    #[cfg(windows)]
    {
        let mut done = 0;
        while done < buf.len() {
            let n = std::os::windows::fs::FileExt::seek_write(
                file,
                &buf[done..],
                offset + done as u64,
            )?;
            if n == 0 {
                return Err(io::ErrorKind::WriteZero.into());
            }
            done += n;
        }
        Ok(())
    }
}

/// Clones `src`'s data into `dst` without copying it (`FICLONE` on Linux:
/// btrfs, XFS with reflink, bcachefs). Fails where the filesystem cannot.
pub fn reflink(src: &File, src_meta: &Metadata, dst: &File) -> io::Result<()> {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    {
        use std::sync::Mutex;
        // Source filesystems known not to clone, so that copying many small
        // files does not pay a failing ioctl each.
        static NO_CLONE: Mutex<Vec<u64>> = Mutex::new(Vec::new());
        let dev = FileId::of(src_meta).device();
        let known_bad = |d| {
            NO_CLONE
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .contains(&d)
        };
        if known_bad(dev) {
            return Err(io::Error::from(io::ErrorKind::Unsupported));
        }
        let result = rustix::fs::ioctl_ficlone(dst, src).map_err(io::Error::from);
        if let Err(e) = &result
            && e.raw_os_error() != Some(rustix::io::Errno::XDEV.raw_os_error())
            && is_unsupported(e)
        {
            NO_CLONE.lock().unwrap_or_else(|e| e.into_inner()).push(dev);
        }
        result
    }
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    {
        let _ = (src, src_meta, dst);
        Err(io::Error::from(io::ErrorKind::Unsupported))
    }
}

/// Copies up to `len` bytes from `src`'s position to `dst`'s position in
/// the kernel (`copy_file_range` on Linux), advancing both. Returns 0 at the
/// end of `src`. Fails with `Unsupported` elsewhere.
pub fn copy_range(src: &File, dst: &File, len: usize) -> io::Result<usize> {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    {
        rustix::fs::copy_file_range(src, None, dst, None, len).map_err(io::Error::from)
    }
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    {
        let _ = (src, dst, len);
        Err(io::Error::from(io::ErrorKind::Unsupported))
    }
}

/// Whether an error from [`reflink`] or [`copy_range`] means "not here, use
/// another way" rather than a real failure.
pub fn is_unsupported(err: &io::Error) -> bool {
    #[cfg(unix)]
    {
        use rustix::io::Errno;
        if let Some(code) = err.raw_os_error() {
            let errno = Errno::from_raw_os_error(code);
            return [
                Errno::XDEV,
                Errno::INVAL,
                Errno::NOSYS,
                Errno::OPNOTSUPP,
                Errno::NOTSUP,
                Errno::NOTTY,
                Errno::BADF,
                Errno::PERM,
            ]
            .contains(&errno);
        }
    }
    err.kind() == io::ErrorKind::Unsupported
}

/// Starts write-back of a file's pages while it is still being written, and
/// keeps at most two windows of dirty pages, so the final fsync finds
/// little left to do (Linux `sync_file_range`; elsewhere a no-op).
#[derive(Debug, Default)]
pub struct WriteBehind {
    /// End of the last window handed to the kernel.
    started: u64,
}

impl WriteBehind {
    /// Size of one write-back window.
    pub const WINDOW: u64 = 8 << 20;

    /// Tells it that `written` bytes of `file` are now written.
    pub fn advance(&mut self, file: &File, written: u64) {
        while written >= self.started + Self::WINDOW {
            let start = self.started;
            #[cfg(target_os = "linux")]
            // SAFETY: plain syscalls on a valid open descriptor.
            unsafe {
                use std::os::fd::AsRawFd;
                let fd = file.as_raw_fd();
                let len = Self::WINDOW as libc::off64_t;
                libc::sync_file_range(fd, start as libc::off64_t, len, libc::SYNC_FILE_RANGE_WRITE);
                if start >= Self::WINDOW {
                    libc::sync_file_range(
                        fd,
                        (start - Self::WINDOW) as libc::off64_t,
                        len,
                        libc::SYNC_FILE_RANGE_WAIT_BEFORE
                            | libc::SYNC_FILE_RANGE_WRITE
                            | libc::SYNC_FILE_RANGE_WAIT_AFTER,
                    );
                }
            }
            #[cfg(not(target_os = "linux"))]
            let _ = (file, start);
            self.started += Self::WINDOW;
        }
    }
}

/// Makes many files durable at once, and the folders `dirs` (those the
/// files are in, and any whose names must be durable too). On Linux one
/// `syncfs` per filesystem involved flushes them all with shared device
/// flushes (and whatever else is dirty on that filesystem); elsewhere the
/// files are fsynced from several threads at once so their flushes
/// overlap, then each folder.
pub fn sync_batch(files: &[&File], dirs: &[&Path]) -> io::Result<()> {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    {
        let _ = files;
        sync_filesystems(dirs)
    }
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    {
        const THREADS: usize = 16;
        if files.is_empty() {
            return dirs.iter().try_for_each(|d| sync_dir(d));
        }
        let per_thread = files.len().div_ceil(THREADS);
        std::thread::scope(|scope| {
            let handles: Vec<_> = files
                .chunks(per_thread)
                .map(|chunk| scope.spawn(move || chunk.iter().try_for_each(|f| sync_file(f))))
                .collect();
            handles.into_iter().try_for_each(|h| {
                h.join()
                    .unwrap_or_else(|_| Err(io::Error::other("an fsync thread panicked")))
            })
        })?;
        dirs.iter().try_for_each(|d| sync_dir(d))
    }
}

/// One `syncfs` for each filesystem that holds one of `dirs`.
#[cfg(any(target_os = "linux", target_os = "android"))]
fn sync_filesystems(dirs: &[&Path]) -> io::Result<()> {
    let mut seen: Vec<u64> = Vec::new();
    for dir in dirs {
        let handle = File::open(dir)?;
        let dev = FileId::of(&handle.metadata()?).device();
        if !seen.contains(&dev) {
            seen.push(dev);
            rustix::fs::syncfs(&handle)?;
        }
    }
    Ok(())
}

/// Makes the entries of many folders durable at once: one `syncfs` per
/// filesystem on Linux, an fsync of each folder elsewhere.
pub fn sync_dirs(dirs: &[&Path]) -> io::Result<()> {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    {
        sync_filesystems(dirs)
    }
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    {
        dirs.iter().try_for_each(|d| sync_dir(d))
    }
}

/// Raises the soft limit on open files to the hard limit (batches of small
/// files keep many temps open and locked at once). Returns the soft limit
/// now in force, or `None` where there is no such limit.
pub fn raise_open_file_limit() -> Option<u64> {
    #[cfg(unix)]
    {
        use rustix::process::{Resource, getrlimit, setrlimit};
        let mut limit = getrlimit(Resource::Nofile);
        if limit.current < limit.maximum {
            let wanted = limit.maximum.map(|m| m.min(1 << 20));
            let raised = rustix::process::Rlimit {
                current: wanted,
                maximum: limit.maximum,
            };
            if setrlimit(Resource::Nofile, raised).is_ok() {
                limit = raised;
            }
        }
        limit.current
    }
    #[cfg(not(unix))]
    {
        None
    }
}
