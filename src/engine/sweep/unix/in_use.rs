//! Whether another program is using a file the sweeper is about to remove.
//!
//! Ferry's own writers hold a `flock` on their temps, which the walk's
//! probe already tries. But a file only *named* like a temp (or another
//! tool's partial file) may be a person's file that some program has open,
//! memory-mapped or locked with `fcntl`/`lockf` or an open-file-description
//! lock, none of which a `flock` sees. So before removing anything, while
//! the sweeper holds the file's `flock` and its handle, this module checks
//! that nobody else is using it. A file in use is kept, with the reason
//! "in use by `<program>`" (from `/proc/<pid>/comm`) or "in use by another
//! program" where the program cannot be seen.
//!
//! On Linux, on the sweeper's own handle:
//!
//! 1. **Opens, mappings and locks.** A write lease (`F_SETLEASE`,
//!    `F_WRLCK`) is granted only when no other open file description of
//!    the file exists anywhere in the system: another process's
//!    descriptor, a memory mapping whose descriptor is closed, a running
//!    program, another descriptor of this very process. So taking it is an
//!    exact "nobody else has it open" test, for every user, with no scan of
//!    `/proc`; and as a lock needs an open file (a POSIX lock goes when its
//!    process closes the file, an OFD lock with its open file), nobody
//!    else holds a lock either. The lease is kept while the file is moved
//!    to its private name and is checked again (`F_GETLEASE`) just before
//!    the unlink: an open in between would have started breaking it. It
//!    ends when the sweeper closes its handle, right after the unlink. The
//!    lease's break signal is redirected to `SIGURG`, which is ignored
//!    unless a program handles it (Ferry does not), so a lease break never
//!    delivers `SIGIO` (which would end the process).
//! 2. **Locks, where the lease cannot see them all.** On a network or
//!    FUSE filesystem (anything but the local disk filesystems
//!    [`leases_see_every_user`] knows), another machine's opens never
//!    reach this kernel's lease, but its locks may reach the lock query
//!    (where the filesystem passes locks on to its server). There
//!    `F_OFD_GETLK` asks whether any POSIX (`fcntl`/`lockf`) or OFD
//!    lock conflicts with a write lock on the whole file, once before and
//!    once just before the unlink. It also names the holder of a POSIX
//!    lock by its pid when a lease is refused.
//! 3. **`/proc`, only where needed.** When a lease cannot be taken on a
//!    filesystem at all (NFS, some FUSE filesystems, leases turned off with
//!    `fs.leases-enable`), or to name the program that has a file open,
//!    the sweeper reads `/proc/*/fd` (and `/proc/*/exe`) once and keeps the
//!    set of open files (device and inode, with one process each) for the
//!    rest of the sweep (rebuilt only when older than five seconds). It is
//!    built only when a removable candidate needs it, and gives up after
//!    two seconds; a file it would then have had to clear is kept ("could
//!    not be checked"). Without root, other users' processes cannot be
//!    looked at, so on such filesystems their opens are not seen, and
//!    memory mappings whose descriptor is closed are not seen either.
//!
//! Cost, measured on the development machine (2 cores, Linux 6.18, shared
//! and noisy) with `cargo test --release -p ferry-engine --lib
//! in_use_checks_clear_an_unused_file -- --nocapture` (the test says how
//! to start many processes first):
//!
//! * what every removed file pays on a local filesystem, the lease taken
//!   and checked again: three calls, about 1.6 µs as measured with a
//!   fourth that lets the lease go each round (a sweep lets it go with its
//!   close); 2.4 µs where locks are asked about too. It was seven calls
//!   and 2.5 µs before the lock queries were left to the filesystems that
//!   need them, the lease's owner was no longer cleared and the lease was
//!   let go with the handle: a removal now takes ten system calls in all,
//!   against fourteen (`cli_syscall_order` checks them);
//! * reading `/proc`, paid only when a file is found in use (to name the
//!   program) or where leases do not work: 1.5–2 ms for the ~75 processes
//!   (~400 descriptors) of an idle box, 52 ms for 1,072 processes holding
//!   9,347 descriptors, 150 ms for 3,072 processes and 27,347 descriptors
//!   (about 5.5 µs a descriptor, linear), so the two-second limit would be
//!   reached only past some 350,000 descriptors.
//!
//! Elsewhere than Linux there is no such query without privileges, and
//! only the `flock` rule is checked. On macOS and the BSDs the kernel's
//! advisory-lock code keeps `flock` and `fcntl` locks in one list, where
//! they conflict, so a POSIX lock already makes the probe's `flock` fail
//! and the file counts as active (this is compiled, not tested, here);
//! files merely held open there are not seen. On Windows a file another
//! program opened without delete sharing cannot be removed: the removal
//! fails with a message and the file stays.

use std::fs::File;
use std::marker::PhantomData;

#[cfg(not(target_os = "linux"))]
use crate::sweep::meta::Ident;
#[cfg(not(target_os = "linux"))]
use crate::sweep::report::SkipReason;

#[cfg(target_os = "linux")]
pub(in crate::sweep) use linux::InUse;

/// A file the sweeper has checked is not in use, while it is removed:
/// on Linux it holds a write lease on the file (let go when dropped, or
/// with the handle, see [`Claim::end_with_handle`]).
pub(in crate::sweep) struct Claim<'f> {
    #[cfg(target_os = "linux")]
    leased: Option<&'f File>,
    /// Locks are asked about again before the unlink: the lease does not
    /// see them all.
    #[cfg(target_os = "linux")]
    ask_locks: bool,
    _file: PhantomData<&'f File>,
}

/// Whether a write lease on a file in the folder `dir` sees everyone who
/// could be using the file: on a filesystem this kernel alone serves
/// ([`on_local_disk`](crate::os::caps::on_local_disk)), every open and
/// every lock is this kernel's. Elsewhere (network, FUSE, overlay,
/// unknown) locks are also asked about.
#[cfg(target_os = "linux")]
pub(in crate::sweep) fn leases_see_every_user(dir: std::os::fd::BorrowedFd<'_>) -> bool {
    crate::os::caps::on_local_disk(dir)
}

/// Only Linux has leases.
#[cfg(not(target_os = "linux"))]
pub(in crate::sweep) fn leases_see_every_user(_dir: std::os::fd::BorrowedFd<'_>) -> bool {
    false
}

/// Checks whether other programs use files, for one scan or sweep (shared
/// by its walking threads).
#[cfg(not(target_os = "linux"))]
#[derive(Default)]
pub(in crate::sweep) struct InUse;

#[cfg(not(target_os = "linux"))]
impl InUse {
    pub fn new() -> Self {
        Self
    }

    /// Only the `flock` rule is checked here (see the module's notes).
    pub fn claim<'f>(
        &self,
        _file: &'f File,
        _ident: Ident,
        _local: bool,
    ) -> Result<Claim<'f>, SkipReason> {
        Ok(Claim { _file: PhantomData })
    }
}

#[cfg(not(target_os = "linux"))]
impl Claim<'_> {
    /// Nothing more to check here.
    pub fn confirm(&self, _in_use: &InUse, _ident: Ident) -> Result<(), SkipReason> {
        Ok(())
    }

    /// Nothing is held here.
    pub fn end_with_handle(self) {}
}

#[cfg(target_os = "linux")]
mod linux {
    use std::collections::HashMap;
    use std::ffi::CStr;
    use std::fs::File;
    use std::marker::PhantomData;
    use std::os::fd::{AsRawFd, RawFd};
    use std::sync::{Arc, Mutex, PoisonError};
    use std::time::{Duration, Instant};

    use rustix::fs::{self as rfs, AtFlags, Dir, FileType, Mode, OFlags};
    use rustix::io::Errno;

    use super::Claim;
    use crate::sweep::meta::Ident;
    use crate::sweep::report::SkipReason;

    /// A `/proc` snapshot older than this is read again before it is used.
    pub(super) const SNAPSHOT_MAX_AGE: Duration = Duration::from_secs(5);

    /// Reading `/proc` stops after this long; the snapshot is then
    /// incomplete and proves nothing.
    pub(super) const SNAPSHOT_TIME_LIMIT: Duration = Duration::from_secs(2);

    /// `F_SETSIG`: the same number on every Linux architecture
    /// (asm-generic), but not exported by the `libc` crate for glibc.
    const F_SETSIG: libc::c_int = 10;

    /// Checks whether other programs use files, for one scan or sweep
    /// (shared by its walking threads).
    #[derive(Default)]
    pub(in crate::sweep) struct InUse {
        snapshot: Mutex<Option<Arc<OpenFiles>>>,
    }

    impl InUse {
        pub fn new() -> Self {
            Self::default()
        }

        /// Checks on the sweeper's handle `file` (whose `flock` it holds)
        /// that no other program locks, has open or has mapped the file,
        /// and keeps a write lease on it where the filesystem allows, until
        /// the returned claim is dropped. `local`: the file's filesystem
        /// is one where the lease sees every user
        /// ([`leases_see_every_user`](super::leases_see_every_user)), so
        /// locks need no query of their own.
        pub fn claim<'f>(
            &self,
            file: &'f File,
            ident: Ident,
            local: bool,
        ) -> Result<Claim<'f>, SkipReason> {
            match take_lease(file) {
                Lease::Held => {
                    let claim = Claim {
                        leased: Some(file),
                        ask_locks: !local,
                        _file: PhantomData,
                    };
                    if !local {
                        self.check_locks(file, ident)?;
                    }
                    Ok(claim)
                }
                Lease::Busy => {
                    let holder = lock_holder(file).ok().flatten().flatten();
                    Err(self.in_use(ident, file.as_raw_fd(), holder))
                }
                Lease::Unsupported => {
                    self.check_locks(file, ident)?;
                    let snapshot = self.snapshot();
                    if let Some(pid) = snapshot.user(ident, file.as_raw_fd()) {
                        return Err(in_use_by(Some(pid)));
                    }
                    if !snapshot.complete {
                        return Err(SkipReason::Unsafe(
                            "whether another program has it open could not be checked in time"
                                .into(),
                        ));
                    }
                    Ok(Claim {
                        leased: None,
                        ask_locks: true,
                        _file: PhantomData,
                    })
                }
            }
        }

        /// A lock another process holds on the file, if any.
        fn check_locks(&self, file: &File, ident: Ident) -> Result<(), SkipReason> {
            match lock_holder(file) {
                Ok(None) => Ok(()),
                Ok(Some(pid)) => Err(self.in_use(ident, file.as_raw_fd(), pid)),
                Err(e) => Err(SkipReason::Unsafe(format!(
                    "whether another program locks it could not be checked ({})",
                    std::io::Error::from_raw_os_error(e.raw_os_error())
                ))),
            }
        }

        /// "In use by <program>": the lock holder's pid if known, else a
        /// process `/proc` shows with the file open.
        fn in_use(&self, ident: Ident, own_fd: RawFd, pid: Option<u32>) -> SkipReason {
            in_use_by(pid.or_else(|| self.snapshot().user(ident, own_fd)))
        }

        /// The current `/proc` snapshot, read again if it is too old.
        fn snapshot(&self) -> Arc<OpenFiles> {
            let mut held = self.snapshot.lock().unwrap_or_else(PoisonError::into_inner);
            match &*held {
                Some(s) if s.taken.elapsed() < SNAPSHOT_MAX_AGE => Arc::clone(s),
                _ => {
                    let fresh = Arc::new(OpenFiles::read(SNAPSHOT_TIME_LIMIT));
                    *held = Some(Arc::clone(&fresh));
                    fresh
                }
            }
        }
    }

    impl Claim<'_> {
        /// Checks again, just before the unlink (the file now under its
        /// private name): nobody locked it, and nobody opened it since the
        /// lease was taken.
        pub fn confirm(&self, in_use: &InUse, ident: Ident) -> Result<(), SkipReason> {
            let Some(file) = self.leased else {
                return Ok(());
            };
            if self.ask_locks {
                in_use.check_locks(file, ident)?;
            }
            // SAFETY: `F_GETLEASE` takes no argument and reads no memory.
            let lease = unsafe { libc::fcntl(file.as_raw_fd(), libc::F_GETLEASE) };
            if lease == libc::F_WRLCK {
                Ok(())
            } else {
                Err(in_use.in_use(ident, file.as_raw_fd(), None))
            }
        }

        /// Ends the claim without a call of its own: the lease ends with
        /// the handle it was taken on, which the caller closes next.
        pub fn end_with_handle(mut self) {
            self.leased = None;
        }
    }

    impl Drop for Claim<'_> {
        fn drop(&mut self) {
            if let Some(file) = self.leased.take() {
                // SAFETY: plain integer arguments.
                unsafe { libc::fcntl(file.as_raw_fd(), libc::F_SETLEASE, libc::F_UNLCK) };
            }
        }
    }

    fn in_use_by(pid: Option<u32>) -> SkipReason {
        SkipReason::InUse(pid.and_then(program))
    }

    /// The program a process runs, as `/proc/<pid>/comm` names it.
    fn program(pid: u32) -> Option<String> {
        let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).ok()?;
        let comm = comm.trim_end_matches('\n');
        (!comm.is_empty()).then(|| comm.to_string())
    }

    /// A POSIX or OFD lock that another owner holds on any part of the
    /// file: `Some(pid)` (the pid is known for POSIX locks only).
    fn lock_holder(file: &File) -> Result<Option<Option<u32>>, Errno> {
        // SAFETY: a zeroed `flock64` is a valid value.
        let mut query: libc::flock64 = unsafe { std::mem::zeroed() };
        query.l_type = libc::F_WRLCK as libc::c_short;
        query.l_whence = libc::SEEK_SET as libc::c_short;
        // SAFETY: `query` is a valid `flock64` that outlives the call.
        let done = unsafe { libc::fcntl(file.as_raw_fd(), libc::F_OFD_GETLK, &mut query) };
        if done == -1 {
            let e = Errno::from_io_error(&std::io::Error::last_os_error()).unwrap_or(Errno::IO);
            // Kernels before 3.15 have no OFD locks to ask with. A lock
            // needs the file open, which the lease (or `/proc`) still sees.
            return if e == Errno::INVAL { Ok(None) } else { Err(e) };
        }
        if query.l_type == libc::F_UNLCK as libc::c_short {
            return Ok(None);
        }
        let pid = u32::try_from(query.l_pid).ok().filter(|&p| p > 0);
        if pid == Some(std::process::id()) {
            // The sweeper's own `flock`, seen as a POSIX lock where a
            // filesystem (NFS) emulates one with the other.
            return Ok(None);
        }
        Ok(Some(pid))
    }

    enum Lease {
        /// Taken: nobody else has the file open.
        Held,
        /// Refused: someone else has it open (or mapped, or running).
        Busy,
        /// The filesystem (or the system's settings) offers no leases.
        Unsupported,
    }

    /// Tries to take a write lease on `file`. Its break signal goes to
    /// `SIGURG` (ignored unless handled, and Ferry handles it nowhere), so
    /// a lease break never sends `SIGIO`, whose default ends the process.
    fn take_lease(file: &File) -> Lease {
        let fd = file.as_raw_fd();
        // SAFETY: plain integer arguments on a descriptor this code owns.
        unsafe {
            if libc::fcntl(fd, F_SETSIG, libc::SIGURG) == -1 {
                return Lease::Unsupported;
            }
            if libc::fcntl(fd, libc::F_SETLEASE, libc::F_WRLCK) == -1 {
                let e = std::io::Error::last_os_error();
                return match e.raw_os_error() {
                    Some(libc::EAGAIN | libc::EBUSY) => Lease::Busy,
                    _ => Lease::Unsupported,
                };
            }
        }
        Lease::Held
    }

    /// The regular files open in the processes `/proc` shows (their
    /// descriptors and programs), by identity.
    pub(super) struct OpenFiles {
        taken: Instant,
        /// One other process that has each file open.
        others: HashMap<(u64, u64), u32>,
        /// This process's own descriptors of each file.
        own: HashMap<(u64, u64), Vec<RawFd>>,
        /// Whether every process was looked at (not stopped by the time
        /// limit). Processes of other users that cannot be read are
        /// skipped either way.
        pub complete: bool,
    }

    impl OpenFiles {
        /// A process (other than this one, or this one through another
        /// descriptor than `own_fd`) that has the file open.
        pub fn user(&self, ident: Ident, own_fd: RawFd) -> Option<u32> {
            let key = (ident.dev, ident.ino);
            if let Some(&pid) = self.others.get(&key) {
                return Some(pid);
            }
            self.own
                .get(&key)
                .is_some_and(|fds| fds.iter().any(|&fd| fd != own_fd))
                .then(std::process::id)
        }

        /// Reads `/proc/*/fd` and `/proc/*/exe`, for at most `limit`.
        pub fn read(limit: Duration) -> Self {
            let taken = Instant::now();
            let mut files = Self {
                taken,
                others: HashMap::new(),
                own: HashMap::new(),
                complete: true,
            };
            let dir_flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC;
            let Ok(proc_fd) = rfs::open("/proc", dir_flags, Mode::empty()) else {
                files.complete = false;
                return files;
            };
            let Ok(mut pids) = Dir::read_from(&proc_fd) else {
                files.complete = false;
                return files;
            };
            let me = std::process::id();
            while let Some(Ok(entry)) = pids.read() {
                let Some(pid) = pid_of(entry.file_name()) else {
                    continue;
                };
                if taken.elapsed() > limit {
                    files.complete = false;
                    break;
                }
                files.read_process(&proc_fd, pid, pid == me, dir_flags);
            }
            files
        }

        fn read_process(
            &mut self,
            proc_fd: &impl rustix::fd::AsFd,
            pid: u32,
            own: bool,
            flags: OFlags,
        ) {
            let Ok(pid_fd) = rfs::openat(proc_fd, pid.to_string(), flags, Mode::empty()) else {
                return;
            };
            if let Some(found) = identify(&pid_fd, c"exe") {
                self.add(found, pid, own, -1);
            }
            let Ok(fd_dir) = rfs::openat(&pid_fd, "fd", flags, Mode::empty()) else {
                return;
            };
            let Ok(mut fds) = Dir::read_from(&fd_dir) else {
                return;
            };
            while let Some(Ok(entry)) = fds.read() {
                let Some(fd) = pid_of(entry.file_name()) else {
                    continue;
                };
                if let Some(found) = identify(&fd_dir, entry.file_name()) {
                    self.add(found, pid, own, fd as RawFd);
                }
            }
        }

        /// `key` (device and inode) is a regular file open as `fd` in
        /// process `pid` (-1: its executable).
        fn add(&mut self, key: (u64, u64), pid: u32, own: bool, fd: RawFd) {
            if own {
                self.own.entry(key).or_default().push(fd);
            } else {
                self.others.entry(key).or_insert(pid);
            }
        }
    }

    /// The device and inode of the regular file the `/proc` link `name` in
    /// `dir` leads to. Asked with `AT_STATX_DONT_SYNC`: the identity is the
    /// kernel's own, so a FUSE or network filesystem is not asked for fresh
    /// attributes — a hung one (a stopped daemon, a dead server) anywhere
    /// on the system would otherwise hold the sweep in this call past
    /// every time limit.
    fn identify(dir: &impl rustix::fd::AsFd, name: &CStr) -> Option<(u64, u64)> {
        let st = rfs::statx(
            dir,
            name,
            AtFlags::STATX_DONT_SYNC,
            rfs::StatxFlags::TYPE | rfs::StatxFlags::INO,
        )
        .ok()?;
        let regular = FileType::from_raw_mode(u32::from(st.stx_mode)) == FileType::RegularFile;
        regular.then(|| {
            (
                rfs::makedev(st.stx_dev_major, st.stx_dev_minor),
                st.stx_ino,
            )
        })
    }

    /// A `/proc` entry name that is a number (a pid or a descriptor).
    fn pid_of(name: &CStr) -> Option<u32> {
        let name = name.to_str().ok()?;
        if name.is_empty() || !name.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        name.parse().ok()
    }

    #[cfg(test)]
    mod tests {
        use std::io::Write;
        use std::process::{Command, Stdio};

        use super::*;

        fn ident(file: &File) -> Ident {
            let st = rfs::fstat(file).unwrap();
            Ident {
                dev: st.st_dev,
                ino: st.st_ino,
            }
        }

        #[test]
        fn a_lease_tells_whether_anyone_else_has_a_file_open() {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("f");
            std::fs::write(&path, b"x").unwrap();
            let file = File::open(&path).unwrap();
            let in_use = InUse::new();
            let claim = in_use.claim(&file, ident(&file), true).expect("nobody else");
            claim.confirm(&in_use, ident(&file)).unwrap();
            drop(claim);
            // Another descriptor of this very process counts.
            let other = File::open(&path).unwrap();
            match in_use.claim(&file, ident(&file), true) {
                Err(SkipReason::InUse(Some(name))) => assert!(!name.is_empty()),
                Err(other) => panic!("{other:?}"),
                Ok(_) => panic!("another descriptor was not seen"),
            }
            drop(other);
            // (A child that another test forks at this moment holds this
            // process's descriptors until it runs its program: retry.)
            let mut claim = in_use.claim(&file, ident(&file), true);
            for _ in 0..100 {
                if claim.is_ok() {
                    break;
                }
                std::thread::sleep(Duration::from_millis(10));
                claim = in_use.claim(&file, ident(&file), true);
            }
            let claim = claim.expect("let go");
            // An open after the claim starts breaking the lease (the opener
            // waits for it): confirm sees that, and the opener goes on once
            // the claim is dropped.
            std::thread::scope(|s| {
                let opener = s.spawn(|| File::open(&path).map(drop));
                let mut seen = false;
                for _ in 0..500 {
                    if claim.confirm(&in_use, ident(&file)).is_err() {
                        seen = true;
                        break;
                    }
                    std::thread::sleep(Duration::from_millis(2));
                }
                drop(claim);
                opener.join().unwrap().unwrap();
                assert!(seen, "the open was not seen");
            });
        }

        #[test]
        fn proc_shows_a_child_holding_a_file_open() {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("held");
            std::fs::write(&path, b"x").unwrap();
            let mut child = Command::new("sh")
                .args(["-c", "exec 3<\"$1\" && echo ready && exec sleep 60", "sh"])
                .arg(&path)
                .stdout(Stdio::piped())
                .spawn()
                .unwrap();
            let mut line = String::new();
            std::io::BufRead::read_line(
                &mut std::io::BufReader::new(child.stdout.take().unwrap()),
                &mut line,
            )
            .unwrap();
            let file = File::open(&path).unwrap();
            let snapshot = OpenFiles::read(SNAPSHOT_TIME_LIMIT);
            assert!(snapshot.complete);
            assert_eq!(
                snapshot.user(ident(&file), file.as_raw_fd()),
                Some(child.id())
            );
            let _ = child.kill();
            let _ = child.wait();
            let snapshot = OpenFiles::read(SNAPSHOT_TIME_LIMIT);
            assert_eq!(snapshot.user(ident(&file), file.as_raw_fd()), None);
        }

        /// A file nobody else uses passes every check, again and again, and
        /// a `/proc` snapshot completes; prints what both cost (the figures
        /// in the module's notes). For the cost with many processes, start
        /// them first, e.g.
        /// `for i in $(seq 1000); do sh -c 'exec 3</etc/passwd 4</etc/hostname; exec sleep 600' & done`,
        /// then run with `--nocapture`.
        #[test]
        fn in_use_checks_clear_an_unused_file_and_report_their_cost() {
            let processes = std::fs::read_dir("/proc")
                .unwrap()
                .filter(|e| {
                    e.as_ref().is_ok_and(|e| {
                        e.file_name()
                            .to_str()
                            .is_some_and(|n| n.parse::<u32>().is_ok())
                    })
                })
                .count();
            let descriptors: usize = std::fs::read_dir("/proc")
                .unwrap()
                .filter_map(|e| e.ok())
                .filter_map(|e| std::fs::read_dir(e.path().join("fd")).ok())
                .map(|fds| fds.count())
                .sum();
            let mut best = Duration::MAX;
            let mut files = 0;
            for _ in 0..5 {
                let started = Instant::now();
                let snapshot = OpenFiles::read(Duration::from_secs(60));
                best = best.min(started.elapsed());
                assert!(snapshot.complete, "a /proc snapshot stopped short");
                files = snapshot.others.len() + snapshot.own.len();
            }
            // What an ordinary removal pays: the lock query, the lease taken,
            // checked again and let go.
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("f");
            std::fs::write(&path, b"x").unwrap();
            let file = File::open(&path).unwrap();
            let id = ident(&file);
            let in_use = InUse::new();
            let rounds = 10_000;
            // Locks asked about too (elsewhere than on local disks), and
            // not (on local disks).
            let per_file = [false, true].map(|local| {
                let started = Instant::now();
                for round in 0..rounds {
                    let claim = in_use
                        .claim(&file, id, local)
                        .unwrap_or_else(|r| panic!("round {round}: an unused file is {r:?}"));
                    claim
                        .confirm(&in_use, id)
                        .unwrap_or_else(|r| panic!("round {round}: an unused file is {r:?}"));
                }
                started.elapsed() / rounds
            });
            let mut out = std::io::stdout().lock();
            writeln!(
                out,
                "{processes} processes, {descriptors} descriptors, {files} distinct open \
                 files: {best:?} (best of 5); checks per removed file: {:?} with the lock \
                 queries, {:?} on a local disk",
                per_file[0], per_file[1]
            )
            .unwrap();
        }
    }
}
