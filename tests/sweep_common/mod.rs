//! Helpers shared by the sweeper's integration tests: temp names, aging,
//! real lock holders in child processes (the test binary re-executed in a
//! "child role"), and running the `ferry` binary.
//!
//! Every test binary that uses [`hold_lock`] or [`spawn_writer`] must
//! declare `#[test] fn sweep_common_child() { sweep_common::child_entry() }`.

#![allow(dead_code)]

use std::fs::{self, File, FileTimes};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

use ferry_engine::sweep::{Entry, SweepRequest};

/// The threshold the tests sweep with.
pub const THRESHOLD: Duration = Duration::from_secs(1);

/// Environment variable selecting a child role.
const ROLE_ENV: &str = "FERRY_SWEEP_TEST_ROLE";

/// A Ferry temp name for `dest` with fresh random-looking hex.
pub fn temp_name(dest: &str) -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let nanos = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos() as u64;
    let random = (u64::from(std::process::id()) << 40) ^ (nanos << 12) ^ n;
    format!(".{dest}.{random:016x}.ferry-part")
}

/// Writes a Ferry-named temp for `dest` in `dir`.
pub fn write_temp(dir: &Path, dest: &str, data: &[u8]) -> PathBuf {
    let path = dir.join(temp_name(dest));
    fs::write(&path, data).unwrap();
    path
}

/// Sleeps until files written before now are older than [`THRESHOLD`]
/// (their change time cannot be backdated).
pub fn age_past_threshold() {
    std::thread::sleep(THRESHOLD + Duration::from_millis(250));
}

/// Sets a file's modification time `by` into the past (or future).
pub fn set_mtime(path: &Path, time: SystemTime) {
    let file = File::options().write(true).open(path).unwrap();
    file.set_times(FileTimes::new().set_modified(time)).unwrap();
}

/// A manual sweep of `root` with the tests' threshold and a private data
/// directory.
pub fn request(root: &Path, data: &Path) -> SweepRequest<'static> {
    let mut request = SweepRequest::new([root], THRESHOLD);
    request.data_dir = Some(data.to_path_buf());
    request
}

/// The entry for `path` in a scan.
pub fn entry<'a>(entries: &'a [Entry], path: &Path) -> &'a Entry {
    entries
        .iter()
        .find(|e| e.path == path)
        .unwrap_or_else(|| panic!("{} not in the scan: {entries:#?}", path.display()))
}

/// Canonical form of a test path (the sweeper reports canonical paths).
pub fn canon(path: &Path) -> PathBuf {
    let parent = path.parent().unwrap().canonicalize().unwrap();
    parent.join(path.file_name().unwrap())
}

/// A child process holding a lock; killed when dropped.
pub struct Holder {
    child: Child,
    /// What the child reported (the temp path for a writer).
    pub reported: String,
}

impl Drop for Holder {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn spawn_role(role: &str) -> Holder {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "sweep_common_child",
            "--exact",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(ROLE_ENV, role)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    // Reads until the child says READY (the test harness may print its own
    // words before it on the same line), then keeps draining the pipe.
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if let Some((_, reported)) = line.split_once("READY ") {
                let _ = tx.send(reported.to_string());
            }
        }
    });
    match rx.recv_timeout(Duration::from_secs(30)) {
        Ok(reported) => Holder { child, reported },
        Err(_) => {
            let _ = child.kill();
            let _ = child.wait();
            panic!("the child role '{role}' did not become ready");
        }
    }
}

/// A child process holding an exclusive lock on the existing file `path`
/// (std `File::lock`, i.e. `flock`), until dropped.
pub fn hold_lock(path: &Path) -> Holder {
    spawn_role(&format!("lock\n{}", path.display()))
}

/// How a child process keeps a file in use without Ferry's `flock`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Use {
    /// Only open (read-only).
    Open,
    /// Open and locked with a POSIX record lock (`fcntl(F_SETLK)`, what
    /// `lockf` takes).
    PosixLock,
    /// Open and locked with an open-file-description lock (`F_OFD_SETLK`).
    #[cfg(target_os = "linux")]
    OfdLock,
    /// Mapped into memory, its descriptor closed.
    Mapped,
}

/// A child process (the test binary re-executed) keeping the existing
/// file `path` in use as `how` says, until dropped. Its program name (as
/// `/proc/<pid>/comm` shows it) is in `reported`.
pub fn hold_in_use(path: &Path, how: Use) -> Holder {
    spawn_role(&format!("use\n{how:?}\n{}", path.display()))
}

/// A shell holding `path` open for reading through a redirection
/// (`exec 3<path`) and then replaced by `sleep`, which keeps the
/// descriptor: "in use by sleep". Killed when dropped.
#[cfg(unix)]
pub fn hold_open_with_sleep(path: &Path) -> Holder {
    let mut child = Command::new("sh")
        .args([
            "-c",
            "exec 3<\"$1\" && echo READY sleep && exec sleep 600",
            "sh",
        ])
        .arg(path)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert_eq!(
        line.trim(),
        "READY sleep",
        "the shell could not open the file"
    );
    // `exec sleep` replaces the shell: wait until the new program runs.
    let comm = format!("/proc/{}/comm", child.id());
    for _ in 0..200 {
        if fs::read_to_string(&comm).is_ok_and(|c| c.trim() == "sleep") {
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    Holder {
        child,
        reported: "sleep".into(),
    }
}

/// A child process writing `dest` through Ferry's real atomic protocol and
/// stopping half-way (its temp locked) until dropped. `reported` is the
/// temp file's path.
pub fn spawn_writer(dest: &Path) -> Holder {
    spawn_role(&format!("writer\n{}", dest.display()))
}

/// A child process that remembers `dirs` in `data` and exits.
pub fn remember_in_child(data: &Path, dirs: &[PathBuf]) -> Child {
    let mut role = format!("remember\n{}", data.display());
    for d in dirs {
        role.push('\n');
        role.push_str(&d.display().to_string());
    }
    Command::new(std::env::current_exe().unwrap())
        .args([
            "sweep_common_child",
            "--exact",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(ROLE_ENV, role)
        .stdout(Stdio::null())
        .spawn()
        .unwrap()
}

/// The body of the `sweep_common_child` test: does nothing in a normal
/// run; in a child process, plays the role it was given.
pub fn child_entry() {
    let Ok(role) = std::env::var(ROLE_ENV) else {
        return;
    };
    let mut parts = role.split('\n');
    match parts.next().unwrap() {
        "lock" => {
            let path = parts.next().unwrap();
            let file = File::options().read(true).write(true).open(path).unwrap();
            file.lock().unwrap();
            ready(path);
            park(file);
        }
        "writer" => {
            use ferry_engine::atomic::AtomicFile;
            let dest = PathBuf::from(parts.next().unwrap());
            let mut temp = AtomicFile::create(&dest).unwrap();
            temp.write_all(b"half of the data").unwrap();
            ready(&temp.temp_path().display().to_string());
            park(temp);
        }
        "use" => {
            let how = parts.next().unwrap().to_string();
            let path = parts.next().unwrap();
            let held = use_file(&how, Path::new(path));
            let comm = fs::read_to_string("/proc/self/comm").unwrap_or_default();
            ready(comm.trim());
            park(held);
        }
        "remember" => {
            let data = PathBuf::from(parts.next().unwrap());
            let dirs: Vec<PathBuf> = parts.map(PathBuf::from).collect();
            for dir in &dirs {
                ferry_engine::known_dirs::remember_in(&data, [dir.as_path()]).unwrap();
            }
            std::process::exit(0);
        }
        other => panic!("unknown child role {other}"),
    }
}

/// Keeps `path` in use as `how` (a [`Use`] name) says; what is returned
/// must stay alive.
fn use_file(how: &str, path: &Path) -> Box<dyn std::any::Any> {
    let file = File::open(path).unwrap();
    match how {
        "Open" => Box::new(file),
        #[cfg(unix)]
        "PosixLock" => {
            // A read lock: the file is open read-only here.
            rustix::fs::fcntl_lock(&file, rustix::fs::FlockOperation::NonBlockingLockShared)
                .unwrap();
            Box::new(file)
        }
        #[cfg(target_os = "linux")]
        "OfdLock" => {
            use std::os::fd::AsRawFd;
            // SAFETY: a zeroed `flock` is a valid value; the pointer lives
            // across the call.
            let mut lock: libc::flock = unsafe { std::mem::zeroed() };
            lock.l_type = libc::F_RDLCK as libc::c_short;
            lock.l_whence = libc::SEEK_SET as libc::c_short;
            let done = unsafe { libc::fcntl(file.as_raw_fd(), libc::F_OFD_SETLK, &mut lock) };
            assert_eq!(done, 0, "{}", std::io::Error::last_os_error());
            Box::new(file)
        }
        #[cfg(unix)]
        "Mapped" => {
            let len = file.metadata().unwrap().len().max(1) as usize;
            // SAFETY: a fresh shared read-only mapping of a file, never
            // read through here; it stays mapped until the process ends.
            let at = unsafe {
                rustix::mm::mmap(
                    std::ptr::null_mut(),
                    len,
                    rustix::mm::ProtFlags::READ,
                    rustix::mm::MapFlags::SHARED,
                    &file,
                    0,
                )
            }
            .unwrap();
            drop(file);
            Box::new(at as usize)
        }
        other => panic!("unknown use {other}"),
    }
}

fn ready(what: &str) {
    let mut out = std::io::stdout().lock();
    writeln!(out, "READY {what}").unwrap();
    out.flush().unwrap();
}

fn park<T>(held: T) -> ! {
    loop {
        std::thread::sleep(Duration::from_secs(60));
        let _ = &held;
    }
}

/// Runs the `ferry` binary with private config and data directories.
pub fn ferry(args: &[&str], config: &Path, data: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ferry"))
        .args(args)
        .env("FERRY_CONFIG_DIR", config)
        .env("FERRY_DATA_DIR", data)
        .output()
        .unwrap()
}

/// Starts the `ferry` binary without waiting.
pub fn spawn_ferry(args: &[&str], config: &Path, data: &Path) -> Child {
    Command::new(env!("CARGO_BIN_EXE_ferry"))
        .args(args)
        .env("FERRY_CONFIG_DIR", config)
        .env("FERRY_DATA_DIR", data)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// Parses a command's stdout as one JSON document.
pub fn json_of(output: &Output) -> serde_json::Value {
    serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {}\nstderr: {}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        )
    })
}

/// The sorted keys of a JSON object.
pub fn keys(value: &serde_json::Value) -> Vec<String> {
    let mut keys: Vec<String> = value
        .as_object()
        .unwrap_or_else(|| panic!("not an object: {value}"))
        .keys()
        .cloned()
        .collect();
    keys.sort();
    keys
}
