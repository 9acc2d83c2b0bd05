//! Everything that differs between operating systems, behind `cfg`, in one
//! place. The rest of the engine calls these functions and stays portable.
//!
//! Linux is where Ferry is tested; macOS and Windows must compile and behave
//! sensibly (documented per function where they differ).

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
/// the caller's file-type check on the handle.
pub fn open_source(path: &Path) -> io::Result<File> {
    let mut options = OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.custom_flags(rustix::fs::OFlags::NONBLOCK.bits() as i32);
    }
    options.open(path)
}

/// Renames `from` to `to` only if `to` does not exist, atomically.
///
/// Linux uses `renameat2(RENAME_NOREPLACE)`, macOS `renamex_np(RENAME_EXCL)`.
/// Where those are missing (or the filesystem refuses them) a hard link
/// followed by an unlink gives the same no-clobber guarantee.
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
    std::fs::hard_link(from, to)?;
    std::fs::remove_file(from)
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

/// The process's limit on one file name, in bytes.
pub const NAME_MAX: usize = 255;

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

/// What [`apply_dir_meta`] needs of a folder's metadata.
pub fn dir_meta(meta: &Metadata) -> super::job::DirMeta {
    #[cfg(unix)]
    let mode = {
        use std::os::unix::fs::PermissionsExt;
        meta.permissions().mode() & 0o7777
    };
    #[cfg(not(unix))]
    let mode = if meta.permissions().readonly() {
        0o555
    } else {
        0o755
    };
    super::job::DirMeta {
        mode: Some(mode),
        accessed: meta.accessed().ok(),
        modified: meta.modified().ok(),
    }
}

/// Gives the folder `dest` the permissions and times in `meta`, through a
/// handle where the OS allows it.
pub fn apply_dir_meta(meta: &super::job::DirMeta, dest: &Path) -> io::Result<()> {
    let mut times = std::fs::FileTimes::new();
    if let Some(t) = meta.accessed {
        times = times.set_accessed(t);
    }
    if let Some(t) = meta.modified {
        times = times.set_modified(t);
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let dir = File::open(dest)?;
        if let Some(mode) = meta.mode {
            dir.set_permissions(std::fs::Permissions::from_mode(mode))?;
        }
        dir.set_times(times)
    }
    #[cfg(not(unix))]
    {
        // Windows opens folders only with backup semantics; the attribute
        // that matters there (read-only) is set by path.
        let _ = times;
        let mut perms = std::fs::metadata(dest)?.permissions();
        perms.set_readonly(meta.mode.is_some_and(|m| m & 0o200 == 0));
        std::fs::set_permissions(dest, perms)
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

/// Makes many files durable at once, given the files and the folders they
/// are in. On Linux one `syncfs` per filesystem involved flushes them all
/// with shared device flushes (and whatever else is dirty on that
/// filesystem); elsewhere the files are fsynced from several threads at
/// once so their flushes overlap.
pub fn sync_batch(files: &[&File], dirs: &[&Path]) -> io::Result<()> {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    {
        let _ = files;
        sync_filesystems(dirs)
    }
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    {
        let _ = dirs;
        const THREADS: usize = 16;
        if files.is_empty() {
            return Ok(());
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
        })
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
