//! Real filesystems for tests: each helper mounts a fresh, small
//! filesystem in a temp folder and unmounts it (and detaches its loop
//! device, stops its server, removes its image) when the [`Mounted`] is
//! dropped, also when the test panics.
//!
//! | helper | how | image |
//! |---|---|---|
//! | [`tmpfs`] | kernel `mount -t tmpfs` | 64 MiB of memory |
//! | [`btrfs`] | `mkfs.btrfs`, kernel `mount -o loop` | 256 MiB sparse file |
//! | [`exfat`] | `mkfs.exfat` (exfatprogs), loop device, `mount.exfat-fuse` | 64 MiB sparse file |
//! | [`fat32`] | `mkfs.vfat -F 32` (dosfstools), `fusefat -o rw+` on the image | 64 MiB sparse file |
//! | [`ntfs`] | `mkfs.ntfs -F -f` (ntfs-3g), loop device, `ntfs-3g` | 64 MiB sparse file |
//! | [`sshfs`] | an `sshd` of its own on 127.0.0.1 at a free port, throwaway host and client keys, `sshfs` | a folder on the test's filesystem |
//!
//! Each returns `None` after printing `skipped: <reason>` when the test
//! does not run as root, `/dev/fuse` is missing (FUSE helpers), a tool is
//! not installed, or the kernel refuses the mount (no loop devices, FUSE
//! mounts forbidden in a container), so the suite passes on a plain
//! machine. With `FERRY_REQUIRE_MOUNTS=1` in the environment (set by
//! `.ci/run`) every such skip is a panic instead, so CI cannot go green by
//! silently skipping the matrix. Nothing of the system's configuration is
//! changed: the `sshd` runs with its own config file, keys and
//! `known_hosts`; the only system path touched is `/run/sshd` (sshd's
//! privilege-separation folder), created if missing.
//!
//! The kernel in this project's CI (Debian 12 userland, Linux 6.x) has no
//! `vfat`, `exfat` or `ntfs3` driver of its own, so the FAT-family and NTFS
//! helpers use the FUSE drivers people get from Debian's packages.
//!
//! # What these filesystems really do (measured on Debian 12)
//!
//! Measured with the calls Ferry makes (`strace` on the FUSE daemon for
//! the fsync rows); the numbers are errno values.
//!
//! * **fsync.** exfat-fuse forwards both a file's and a folder's fsync to
//!   an `fsync` of the block device. ntfs-3g forwards a file's fsync to the
//!   device; a folder's fsync reaches nothing (it succeeds). sshfs sends a
//!   file's fsync as the `fsync@openssh.com` request and the server fsyncs
//!   the file; a folder's fsync reaches nothing. **fusefat implements no
//!   fsync at all**: both succeed and nothing is flushed (its writes are
//!   plain `pwrite`s into the image, durable only when the host flushes
//!   them). tmpfs has nothing to flush; btrfs flushes as usual.
//! * **flock.** None of the FUSE daemons implement locks; the kernel then
//!   keeps `flock` locks itself, per kernel inode, so they work between
//!   processes of this machine. Over sshfs they are invisible to the server
//!   and to any other client. On the case-insensitive FUSE filesystems
//!   (exfat-fuse, fusefat) `name` and `NAME` are two kernel inodes (two
//!   inode numbers) for one file, so a lock taken through one spelling
//!   does **not** exclude a lock taken through the other.
//! * **Inode numbers.** tmpfs, btrfs, ntfs-3g: stable. exfat-fuse and
//!   fusefat number nodes as they are looked up: stable while a file is
//!   open or cached, a different number after the cache drops it (and a
//!   different one for another spelling of the name). sshfs numbers paths
//!   itself: two hard links of one file have two inode numbers and
//!   `st_nlink` is always 1 (SFTP carries no link count), while the server
//!   shows 2. A rename keeps the number on all of them.
//! * **Owner and mode.** exfat-fuse: every entry is `root:root` (the
//!   mounter) mode 0777; `fchmod` succeeds and changes nothing; `fchown` to
//!   another uid fails with EPERM (1), to oneself succeeds. fusefat: files
//!   0700, folders 0700, owner the mounter; `fchmod` and `fchown` fail with
//!   ENOSYS (38). ntfs-3g (no `permissions` option): 0777, `root:root`;
//!   `fchmod` and `fchown` succeed and change nothing. sshfs: the server's
//!   real mode and uid (the server runs as root here, so `fchown` to
//!   another uid works).
//! * **No-clobber rename, links.** `renameat2(RENAME_NOREPLACE)` fails with
//!   EINVAL (22) on every FUSE filesystem here (the kernel asks the daemon
//!   for `rename2` with flags; none of them implements it), but the VFS
//!   checks the target first, so onto an **existing** name it fails with
//!   EEXIST (17) everywhere. Hard links: exfat-fuse and fusefat EPERM (1);
//!   ntfs-3g and sshfs (`hardlink@openssh.com`) work. Symbolic links:
//!   exfat-fuse and fusefat ENOSYS (38); ntfs-3g and sshfs work.
//! * **Times.** tmpfs, btrfs: 1 ns. ntfs-3g: 100 ns. exfat-fuse: 1 s (the
//!   format's 10 ms field is not used). fusefat: 2 s, rounded down. sshfs:
//!   1 s (SFTP v3 carries seconds).
//! * **Names.** exfat-fuse refuses `: * ? " < > | \` with ENOENT (2),
//!   fusefat with EPERM (1); both keep a trailing dot or space as given,
//!   and both are case-insensitive. ntfs-3g (without `windows_names`) and
//!   sshfs to ext4 accept all of them and are case-sensitive.
//! * **Size.** exfat-fuse allocates on `ftruncate` (so growing a file to
//!   4 GiB on a small volume fails with ENOSPC (28)); fusefat refuses any
//!   growing `ftruncate` with EPERM (1). ntfs-3g and sshfs-to-ext4 make
//!   sparse files. fusefat's `statvfs` reports 0 total and 0 free blocks
//!   (its cluster count is in `f_files`), and a write to a full fusefat
//!   volume fails with EPERM (1), not ENOSPC (28) as on exfat-fuse.
#![allow(dead_code)]

use std::fs::{self, File};
use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use super::is_root;

/// The filesystems of the matrix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Fs {
    Tmpfs,
    Btrfs,
    Exfat,
    Fat32,
    Ntfs,
    Sshfs,
}

impl Fs {
    /// All of them, in the order tests report them.
    pub const ALL: [Fs; 6] = [
        Fs::Tmpfs,
        Fs::Btrfs,
        Fs::Exfat,
        Fs::Fat32,
        Fs::Ntfs,
        Fs::Sshfs,
    ];

    /// A short name for messages.
    pub fn name(self) -> &'static str {
        match self {
            Fs::Tmpfs => "tmpfs",
            Fs::Btrfs => "btrfs",
            Fs::Exfat => "exFAT (exfat-fuse)",
            Fs::Fat32 => "FAT32 (fusefat)",
            Fs::Ntfs => "NTFS (ntfs-3g)",
            Fs::Sshfs => "sshfs",
        }
    }

    /// Mounts a fresh one (see the module docs), or `None` with a printed
    /// reason.
    pub fn mount(self) -> Option<Mounted> {
        match self {
            Fs::Tmpfs => tmpfs(),
            Fs::Btrfs => btrfs(),
            Fs::Exfat => exfat(),
            Fs::Fat32 => fat32(),
            Fs::Ntfs => ntfs(),
            Fs::Sshfs => sshfs(),
        }
    }

    /// Whether its driver runs in user space.
    pub fn is_fuse(self) -> bool {
        !matches!(self, Fs::Tmpfs | Fs::Btrfs)
    }
}

/// A mounted filesystem, unmounted and cleaned up on drop.
pub struct Mounted {
    fs: Fs,
    /// Holds the mount point, the image, keys and logs.
    work: Option<tempfile::TempDir>,
    mount_point: PathBuf,
    loop_device: Option<String>,
    server: Option<Child>,
    /// The folder sshfs shows (on the server's side).
    remote: Option<PathBuf>,
    mounted: bool,
}

impl Mounted {
    /// The mounted filesystem's root folder.
    pub fn path(&self) -> &Path {
        &self.mount_point
    }

    /// Which filesystem it is.
    pub fn fs(&self) -> Fs {
        self.fs
    }

    /// For sshfs, the folder the server serves (the same files, seen
    /// without the network in between).
    pub fn remote(&self) -> Option<&Path> {
        self.remote.as_deref()
    }

    /// The loop device, for the filesystems mounted on one.
    pub fn loop_device(&self) -> Option<&str> {
        self.loop_device.as_deref()
    }

    /// Remounts the filesystem read-only (kernel filesystems only: tmpfs,
    /// btrfs). Returns whether it worked.
    pub fn remount_read_only(&self) -> bool {
        !self.fs.is_fuse()
            && quiet(
                "mount",
                &[
                    "-o".as_ref(),
                    "remount,ro".as_ref(),
                    self.mount_point.as_os_str(),
                ],
            )
    }

    fn new(fs: Fs, work: tempfile::TempDir) -> Self {
        let mount_point = work.path().join("mnt");
        fs::create_dir(&mount_point).expect("create a mount point");
        Self {
            fs,
            work: Some(work),
            mount_point,
            loop_device: None,
            server: None,
            remote: None,
            mounted: false,
        }
    }

    fn work(&self) -> &Path {
        self.work.as_ref().expect("work folder").path()
    }

    /// Checks the kernel lists the mount point (the daemons daemonize only
    /// once mounted, so this is a sanity check, not a wait).
    fn confirm(mut self) -> Option<Self> {
        let listed = wait_until(Duration::from_secs(5), || is_mount_point(&self.mount_point));
        if !listed {
            return skip(&format!(
                "{} did not appear in /proc/self/mountinfo",
                self.fs.name()
            ));
        }
        self.mounted = true;
        Some(self)
    }
}

impl Drop for Mounted {
    fn drop(&mut self) {
        if self.mounted || is_mount_point(&self.mount_point) {
            let unmounted = quiet("umount", &[self.mount_point.as_os_str()]);
            if !unmounted {
                // Busy (a process still inside): detach now, freed when idle.
                quiet("umount", &["-l".as_ref(), self.mount_point.as_os_str()]);
            }
            // A lazy unmount may leave the entry a moment; never remove
            // the work folder through a live mount.
            wait_until(Duration::from_secs(5), || {
                !is_mount_point(&self.mount_point)
            });
        }
        if let Some(dev) = self.loop_device.take() {
            // If a daemon still holds it, the kernel detaches it on close.
            quiet("losetup", &["-d".as_ref(), dev.as_ref()]);
        }
        if let Some(mut server) = self.server.take() {
            let _ = server.kill();
            let _ = server.wait();
        }
        if let Some(work) = self.work.take() {
            if is_mount_point(&self.mount_point) {
                // Never delete through a mount that is still there.
                eprintln!(
                    "warning: {:?} is still mounted; left in place",
                    self.mount_point
                );
                let _ = work.keep();
            } else {
                let _ = work.close();
            }
        }
    }
}

fn require() -> bool {
    std::env::var_os("FERRY_REQUIRE_MOUNTS").is_some_and(|v| v == "1")
}

/// Prints why a filesystem is not available and returns `None` (or panics
/// under `FERRY_REQUIRE_MOUNTS=1`).
fn skip<T>(reason: &str) -> Option<T> {
    if require() {
        panic!("FERRY_REQUIRE_MOUNTS=1 but {reason}");
    }
    eprintln!("skipped: {reason}");
    None
}

/// Whether `name` is an executable in `PATH` or the sbin folders (root's
/// tools are often not in a test's `PATH`).
fn find_tool(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/local/sbin", "/usr/sbin", "/sbin", "/usr/bin", "/bin"].map(PathBuf::from))
        .map(|dir| dir.join(name))
        .find(|p| p.is_file())
}

/// The common checks; returns the work folder or why not.
fn prerequisites(fs: Fs, tools: &[(&str, &str)]) -> Result<tempfile::TempDir, String> {
    if !is_root() {
        return Err(format!("mounting {} needs root", fs.name()));
    }
    if fs.is_fuse() && !Path::new("/dev/fuse").exists() {
        return Err(format!("{} needs /dev/fuse", fs.name()));
    }
    for (tool, package) in tools {
        if find_tool(tool).is_none() {
            return Err(format!(
                "{tool} is not installed (apt-get install {package}), needed for {}",
                fs.name()
            ));
        }
    }
    tempfile::Builder::new()
        .prefix("ferry-mnt-")
        .tempdir()
        .map_err(|e| format!("cannot create a temp dir: {e}"))
}

/// Runs a tool to completion (at most 30 s), its output going to a log
/// file rather than a pipe: FUSE daemons fork and keep their inherited
/// descriptors, so a pipe would never reach end of file.
fn run_tool(work: &Path, tool: &str, args: &[&std::ffi::OsStr]) -> Result<String, String> {
    let exe = find_tool(tool).ok_or_else(|| format!("{tool} is not installed"))?;
    let log_path = work.join(format!("{tool}.log"));
    let log = File::create(&log_path).map_err(|e| e.to_string())?;
    let mut child = Command::new(&exe)
        .args(args)
        .stdin(Stdio::null())
        .stdout(log.try_clone().map_err(|e| e.to_string())?)
        .stderr(log)
        .spawn()
        .map_err(|e| format!("cannot run {tool}: {e}"))?;
    let deadline = Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(status) = child.try_wait().map_err(|e| e.to_string())? {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!("{tool} did not finish within 30 s"));
        }
        thread::sleep(Duration::from_millis(5));
    };
    let output = fs::read_to_string(&log_path).unwrap_or_default();
    if status.success() {
        Ok(output)
    } else {
        Err(format!("{tool} failed ({status}): {}", output.trim()))
    }
}

/// Runs a command for its effect only, ignoring its output.
fn quiet(tool: &str, args: &[&std::ffi::OsStr]) -> bool {
    let exe = find_tool(tool).unwrap_or_else(|| PathBuf::from(tool));
    Command::new(exe)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn wait_until(limit: Duration, mut condition: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + limit;
    loop {
        if condition() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        thread::sleep(Duration::from_millis(10));
    }
}

/// Whether `dir` is a mount point, from `/proc/self/mountinfo` (field 5,
/// with the kernel's octal escapes for spaces and the like).
pub fn is_mount_point(dir: &Path) -> bool {
    let Ok(table) = fs::read_to_string("/proc/self/mountinfo") else {
        return false;
    };
    let want = dir.to_string_lossy();
    table
        .lines()
        .filter_map(|line| line.split(' ').nth(4))
        .any(|point| unescape_mountinfo(point) == want)
}

fn unescape_mountinfo(field: &str) -> String {
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

/// A sparse image file of `len` bytes.
fn image(work: &Path, len: u64) -> Result<PathBuf, String> {
    let path = work.join("fs.img");
    File::create(&path)
        .and_then(|f| f.set_len(len))
        .map_err(|e| format!("cannot create an image: {e}"))?;
    Ok(path)
}

/// Attaches `image` to a free loop device and returns its path.
fn attach_loop(work: &Path, image: &Path) -> Result<String, String> {
    let out = run_tool(
        work,
        "losetup",
        &["-f".as_ref(), "--show".as_ref(), image.as_os_str()],
    )
    .map_err(|e| format!("no loop device: {e}"))?;
    let dev = out.trim().lines().last().unwrap_or_default().to_string();
    if dev.starts_with("/dev/") {
        Ok(dev)
    } else {
        Err(format!("losetup printed no device: {out}"))
    }
}

/// A 64 MiB tmpfs.
pub fn tmpfs() -> Option<Mounted> {
    let work = match prerequisites(Fs::Tmpfs, &[("mount", "mount")]) {
        Ok(w) => w,
        Err(reason) => return skip(&reason),
    };
    let m = Mounted::new(Fs::Tmpfs, work);
    let args = [
        "-t".as_ref(),
        "tmpfs".as_ref(),
        "-o".as_ref(),
        "size=64m,mode=0755".as_ref(),
        "ferry-test".as_ref(),
        m.mount_point.as_os_str(),
    ];
    if let Err(e) = run_tool(m.work(), "mount", &args) {
        return skip(&format!("cannot mount a tmpfs: {e}"));
    }
    m.confirm()
}

/// A 256 MiB btrfs on a loop device (kernel driver).
pub fn btrfs() -> Option<Mounted> {
    let work = match prerequisites(Fs::Btrfs, &[("mkfs.btrfs", "btrfs-progs")]) {
        Ok(w) => w,
        Err(reason) => return skip(&reason),
    };
    let m = Mounted::new(Fs::Btrfs, work);
    let result = (|| {
        let img = image(m.work(), 256 << 20)?;
        run_tool(m.work(), "mkfs.btrfs", &["-q".as_ref(), img.as_os_str()])?;
        // `-o loop` attaches with auto-clear: the device goes with the mount.
        let args = [
            "-o".as_ref(),
            "loop".as_ref(),
            img.as_os_str(),
            m.mount_point.as_os_str(),
        ];
        run_tool(m.work(), "mount", &args).map(drop)
    })();
    match result {
        Ok(()) => m.confirm(),
        Err(e) => skip(&format!("cannot mount a btrfs: {e}")),
    }
}

/// A 64 MiB exFAT on a loop device through `exfat-fuse` (which, run as
/// root, insists on a block device), so it shows as `fuseblk` like a USB
/// stick.
pub fn exfat() -> Option<Mounted> {
    let tools = [
        ("mkfs.exfat", "exfatprogs"),
        ("mount.exfat-fuse", "exfat-fuse"),
        ("losetup", "mount"),
    ];
    let work = match prerequisites(Fs::Exfat, &tools) {
        Ok(w) => w,
        Err(reason) => return skip(&reason),
    };
    let mut m = Mounted::new(Fs::Exfat, work);
    let result = (|| {
        let img = image(m.work(), 64 << 20)?;
        run_tool(m.work(), "mkfs.exfat", &[img.as_os_str()])?;
        let dev = attach_loop(m.work(), &img)?;
        m.loop_device = Some(dev.clone());
        let args = [dev.as_ref(), m.mount_point.as_os_str()];
        run_tool(m.work(), "mount.exfat-fuse", &args).map(drop)
    })();
    match result {
        Ok(()) => m.confirm(),
        Err(e) => skip(&format!("cannot mount an exFAT: {e}")),
    }
}

/// A 64 MiB FAT32 (512-byte clusters, so it is FAT32 by cluster count as
/// well as by its boot sector) through `fusefat -o rw+` on the image file.
/// fusefat's write support is marked experimental by its authors; it is the
/// only FUSE FAT driver Debian packages.
pub fn fat32() -> Option<Mounted> {
    let tools = [("mkfs.vfat", "dosfstools"), ("fusefat", "fusefat")];
    let work = match prerequisites(Fs::Fat32, &tools) {
        Ok(w) => w,
        Err(reason) => return skip(&reason),
    };
    let m = Mounted::new(Fs::Fat32, work);
    let result = (|| {
        let img = image(m.work(), 64 << 20)?;
        let mkfs = [
            "-F".as_ref(),
            "32".as_ref(),
            "-n".as_ref(),
            "FERRY".as_ref(),
        ];
        let args: Vec<&std::ffi::OsStr> = mkfs.into_iter().chain([img.as_os_str()]).collect();
        run_tool(m.work(), "mkfs.vfat", &args)?;
        let args = [
            "-o".as_ref(),
            "rw+".as_ref(),
            img.as_os_str(),
            m.mount_point.as_os_str(),
        ];
        run_tool(m.work(), "fusefat", &args).map(drop)
    })();
    match result {
        Ok(()) => m.confirm(),
        Err(e) => skip(&format!("cannot mount a FAT32: {e}")),
    }
}

/// A 64 MiB NTFS on a loop device through `ntfs-3g` (shows as `fuseblk`,
/// as a Windows disk does), default options (no `permissions`, no
/// `windows_names`).
pub fn ntfs() -> Option<Mounted> {
    let tools = [
        ("mkfs.ntfs", "ntfs-3g"),
        ("ntfs-3g", "ntfs-3g"),
        ("losetup", "mount"),
    ];
    let work = match prerequisites(Fs::Ntfs, &tools) {
        Ok(w) => w,
        Err(reason) => return skip(&reason),
    };
    let mut m = Mounted::new(Fs::Ntfs, work);
    let result = (|| {
        let img = image(m.work(), 64 << 20)?;
        let dev = attach_loop(m.work(), &img)?;
        m.loop_device = Some(dev.clone());
        let mkfs = ["-F".as_ref(), "-f".as_ref(), "-q".as_ref(), dev.as_ref()];
        run_tool(m.work(), "mkfs.ntfs", &mkfs)?;
        let args = [dev.as_ref(), m.mount_point.as_os_str()];
        run_tool(m.work(), "ntfs-3g", &args).map(drop)
    })();
    match result {
        Ok(()) => m.confirm(),
        Err(e) => skip(&format!("cannot mount an NTFS: {e}")),
    }
}

/// sshfs onto a folder of the test's filesystem, served by an `sshd` that
/// the helper starts on 127.0.0.1 at a free port, with a throwaway host key
/// and client key and a config file of its own (no system ssh config is
/// read by either side). sshfs runs with its defaults (its own attribute
/// and name caches included). The server is stopped on drop.
pub fn sshfs() -> Option<Mounted> {
    let tools = [
        ("sshfs", "sshfs"),
        ("sshd", "openssh-server"),
        ("ssh-keygen", "openssh-client"),
        ("ssh", "openssh-client"),
    ];
    let work = match prerequisites(Fs::Sshfs, &tools) {
        Ok(w) => w,
        Err(reason) => return skip(&reason),
    };
    let mut m = Mounted::new(Fs::Sshfs, work);
    match start_sshfs(&mut m) {
        Ok(()) => m.confirm(),
        Err(e) => skip(&format!("cannot mount an sshfs: {e}")),
    }
}

fn start_sshfs(m: &mut Mounted) -> Result<(), String> {
    let work = m.work().to_path_buf();
    let remote = work.join("remote");
    fs::create_dir(&remote).map_err(|e| e.to_string())?;
    m.remote = Some(remote.clone());
    for key in ["host_key", "client_key"] {
        let path = work.join(key);
        let args = [
            "-q".as_ref(),
            "-t".as_ref(),
            "ed25519".as_ref(),
            "-N".as_ref(),
            "".as_ref(),
            "-f".as_ref(),
            path.as_os_str(),
        ];
        run_tool(&work, "ssh-keygen", &args)?;
    }
    fs::copy(work.join("client_key.pub"), work.join("authorized_keys"))
        .map_err(|e| e.to_string())?;
    // sshd refuses to start without its privilege-separation folder, which
    // only its service unit creates.
    if !Path::new("/run/sshd").is_dir() {
        fs::create_dir_all("/run/sshd").map_err(|e| format!("cannot create /run/sshd: {e}"))?;
    }
    let sshd = find_tool("sshd").ok_or("sshd is not installed")?;
    let mut port = 0;
    for _attempt in 0..5 {
        port = free_port().map_err(|e| format!("no free port: {e}"))?;
        let config = work.join("sshd_config");
        let text = format!(
            "ListenAddress 127.0.0.1\nPort {port}\nHostKey {host}\n\
             AuthorizedKeysFile {keys}\nPermitRootLogin prohibit-password\n\
             PasswordAuthentication no\nKbdInteractiveAuthentication no\n\
             UsePAM no\nStrictModes no\nPidFile none\nUseDNS no\n\
             Subsystem sftp internal-sftp\n",
            host = work.join("host_key").display(),
            keys = work.join("authorized_keys").display(),
        );
        fs::write(&config, text).map_err(|e| e.to_string())?;
        let log = File::create(work.join("sshd.log")).map_err(|e| e.to_string())?;
        // -D: stay in the foreground (a child the helper can stop);
        // -e: log to stderr (the log file).
        let mut child = Command::new(&sshd)
            .arg("-D")
            .arg("-e")
            .arg("-f")
            .arg(&config)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .map_err(|e| format!("cannot start sshd: {e}"))?;
        let listening = wait_until(Duration::from_secs(10), || {
            matches!(child.try_wait(), Ok(Some(_)))
                || TcpStream::connect((Ipv4Addr::LOCALHOST, port)).is_ok()
        });
        if listening && matches!(child.try_wait(), Ok(None)) {
            m.server = Some(child);
            break;
        }
        let _ = child.kill();
        let _ = child.wait();
    }
    if m.server.is_none() {
        let log = fs::read_to_string(work.join("sshd.log")).unwrap_or_default();
        return Err(format!("sshd did not start: {}", log.trim()));
    }
    let client_config = work.join("ssh_config");
    let text = format!(
        "Host *\n  Port {port}\n  IdentityFile {key}\n  IdentitiesOnly yes\n\
         StrictHostKeyChecking no\n  UserKnownHostsFile /dev/null\n\
         GlobalKnownHostsFile /dev/null\n  BatchMode yes\n  LogLevel ERROR\n\
         ConnectTimeout 10\n",
        key = work.join("client_key").display(),
    );
    fs::write(&client_config, text).map_err(|e| e.to_string())?;
    let target = format!("root@127.0.0.1:{}", remote.display());
    let args = [
        "-F".as_ref(),
        client_config.as_os_str(),
        target.as_ref(),
        m.mount_point.as_os_str(),
    ];
    run_tool(&work, "sshfs", &args).map(drop)
}

/// A TCP port that was free a moment ago on 127.0.0.1.
fn free_port() -> std::io::Result<u16> {
    Ok(TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?
        .local_addr()?
        .port())
}
