//! Helpers shared by the integration tests: a sandbox with its own Ferry
//! state folders, the built `ferry` binary, child processes with time
//! limits, signals, file contents and directory inspection.
//!
//! Each test crate uses a different subset of these helpers.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::collections::hash_map::RandomState;
use std::ffi::{OsStr, OsString};
use std::fs::{self, File};
use std::hash::BuildHasher;
use std::io::Read;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use ferry_engine::names;

pub mod mounts;

/// The `ferry` binary cargo built for these tests.
pub const FERRY: &str = env!("CARGO_BIN_EXE_ferry");

/// Size of one MiB.
pub const MIB: usize = 1 << 20;

/// A temporary folder for one test. Ferry's config and data folders are
/// pointed inside it (`.state/`), so a test never touches the real ones and
/// never finds Ferry's state files in the folders it inspects.
pub struct Sandbox {
    root: tempfile::TempDir,
}

impl Default for Sandbox {
    fn default() -> Self {
        Self::new()
    }
}

impl Sandbox {
    /// A new, empty sandbox.
    pub fn new() -> Self {
        Self {
            root: tempfile::Builder::new()
                .prefix("ferry-test-")
                .tempdir()
                .expect("create a temp dir"),
        }
    }

    /// The sandbox's root folder.
    pub fn root(&self) -> &Path {
        self.root.path()
    }

    /// Creates (if needed) and returns the sub-folder `name`.
    pub fn dir(&self, name: &str) -> PathBuf {
        let dir = self.root.path().join(name);
        fs::create_dir_all(&dir).expect("create a test folder");
        dir
    }

    /// A `ferry` command with this sandbox's state folders and no fault
    /// injection inherited from the test's environment.
    pub fn ferry(&self) -> Command {
        let state = self.root.path().join(".state");
        let mut cmd = Command::new(FERRY);
        cmd.env("FERRY_CONFIG_DIR", state.join("config"))
            .env("FERRY_DATA_DIR", state.join("data"))
            .env_remove("FERRY_FAULT_CHUNK_DELAY_MS")
            .env_remove("FERRY_FAULT_FLIP_BYTE")
            .stdin(Stdio::null());
        cmd
    }

    /// `ferry copy ARGS...`.
    pub fn copy_cmd<I, S>(&self, args: I) -> Command
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let mut cmd = self.ferry();
        cmd.arg("copy").args(args);
        cmd
    }

    /// Runs `ferry copy ARGS...` (at most 60 s) and returns its output.
    pub fn copy<I, S>(&self, args: I) -> Output
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        run_with_timeout(self.copy_cmd(args), Duration::from_secs(60))
    }
}

/// Runs `cmd` with piped output; kills it and panics if it has not exited
/// within `limit` (so a hang fails the test instead of blocking it).
pub fn run_with_timeout(mut cmd: Command, limit: Duration) -> Output {
    cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
    let description = format!("{cmd:?}");
    let mut child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("spawn {description}: {e}"));
    let stdout = drain(child.stdout.take().expect("piped stdout"));
    let stderr = drain(child.stderr.take().expect("piped stderr"));
    let status = wait_timeout(&mut child, limit);
    let status = match status {
        Some(status) => status,
        None => {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "{description} did not finish within {limit:?}; killed it. stderr: {}",
                String::from_utf8_lossy(&stderr.join().unwrap_or_default())
            );
        }
    };
    Output {
        status,
        stdout: stdout.join().expect("stdout reader"),
        stderr: stderr.join().expect("stderr reader"),
    }
}

/// Runs all `commands` at once (each with the time limit of
/// [`run_with_timeout`]) and returns their outputs in order.
pub fn run_concurrently(commands: Vec<Command>, limit: Duration) -> Vec<Output> {
    let handles: Vec<_> = commands
        .into_iter()
        .map(|cmd| thread::spawn(move || run_with_timeout(cmd, limit)))
        .collect();
    handles
        .into_iter()
        .map(|h| h.join().expect("a child process runner panicked"))
        .collect()
}

fn drain(mut pipe: impl Read + Send + 'static) -> thread::JoinHandle<Vec<u8>> {
    thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = pipe.read_to_end(&mut bytes);
        bytes
    })
}

/// Waits up to `limit` for `child`; `None` if it is still running.
pub fn wait_timeout(child: &mut Child, limit: Duration) -> Option<ExitStatus> {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(status) = child.try_wait().expect("try_wait") {
            return Some(status);
        }
        if Instant::now() >= deadline {
            return None;
        }
        thread::sleep(Duration::from_millis(2));
    }
}

/// Waits for `child` at most `limit`, killing it (and panicking) on timeout.
pub fn wait_or_kill(child: &mut Child, limit: Duration, what: &str) -> ExitStatus {
    match wait_timeout(child, limit) {
        Some(status) => status,
        None => {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{what} did not finish within {limit:?}; killed it");
        }
    }
}

/// Sends `signal` (a name such as `INT` or `TERM`) to process `pid` with
/// the `kill` command.
pub fn send_signal(pid: u32, signal: &str) {
    let status = Command::new("kill")
        .arg(format!("-{signal}"))
        .arg(pid.to_string())
        .status()
        .expect("run kill");
    assert!(status.success(), "kill -{signal} {pid} failed: {status}");
}

/// Polls `condition` every 2 ms for at most `limit`; returns whether it
/// became true.
pub fn wait_until(limit: Duration, mut condition: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + limit;
    loop {
        if condition() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        thread::sleep(Duration::from_millis(2));
    }
}

/// A readable description of an exit status, for assertion messages.
pub fn describe_status(status: ExitStatus) -> String {
    match (status.code(), status.signal()) {
        (Some(code), _) => format!("exit code {code}"),
        (None, Some(sig)) => format!("killed by signal {sig}"),
        _ => format!("{status}"),
    }
}

/// Stderr of `output` as text, for assertion messages.
pub fn stderr_of(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// A small, non-cryptographic random generator (xorshift64*), seeded from
/// the standard library's per-process random hash keys and the clock.
pub struct Rng(u64);

impl Default for Rng {
    fn default() -> Self {
        Self::new()
    }
}

impl Rng {
    /// A generator with an unpredictable seed.
    pub fn new() -> Self {
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        let seed = RandomState::new().hash_one((nanos, std::process::id()));
        Self(seed | 1)
    }

    /// A generator with a fixed seed (deterministic file contents).
    pub fn seeded(seed: u64) -> Self {
        Self(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// A number in `0..n` (n > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }
}

/// `len` bytes of deterministic pseudo-random content; different seeds give
/// different contents.
pub fn pattern(len: usize, seed: u64) -> Vec<u8> {
    let mut rng = Rng::seeded(seed);
    let mut bytes = Vec::with_capacity(len + 8);
    while bytes.len() < len {
        bytes.extend_from_slice(&rng.next_u64().to_le_bytes());
    }
    bytes.truncate(len);
    bytes
}

/// The BLAKE3 hash of a file's contents.
pub fn hash_file(path: &Path) -> blake3::Hash {
    let mut hasher = blake3::Hasher::new();
    hasher
        .update_reader(File::open(path).unwrap_or_else(|e| panic!("open {path:?}: {e}")))
        .unwrap_or_else(|e| panic!("read {path:?}: {e}"));
    hasher.finalize()
}

/// The names in `dir`, sorted.
pub fn names_in(dir: &Path) -> Vec<OsString> {
    let mut names: Vec<OsString> = fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("read_dir {dir:?}: {e}"))
        .map(|entry| entry.expect("dir entry").file_name())
        .collect();
    names.sort();
    names
}

/// Whether `name` is one of Ferry's own temp or lock names.
pub fn is_ferry_litter(name: &OsStr) -> bool {
    names::is_temp_name(name) || names::is_lock_name(name)
}

/// Ferry temp or lock files in `dir`.
pub fn litter_in(dir: &Path) -> Vec<OsString> {
    names_in(dir)
        .into_iter()
        .filter(|n| is_ferry_litter(n))
        .collect()
}

/// Ferry temp files in `dir`.
pub fn temps_in(dir: &Path) -> Vec<OsString> {
    names_in(dir)
        .into_iter()
        .filter(|n| names::is_temp_name(n))
        .collect()
}

/// What a test compares to prove a folder was left alone: every entry's
/// name, type, size, mode, modification time and content hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntryState {
    pub file_type: String,
    pub len: u64,
    pub mode: u32,
    pub mtime: (i64, i64),
    pub inode: u64,
    pub hash: Option<blake3::Hash>,
}

/// A snapshot of `dir`'s entries (not recursive, symlinks not followed).
pub fn snapshot(dir: &Path) -> BTreeMap<OsString, EntryState> {
    names_in(dir)
        .into_iter()
        .map(|name| {
            let path = dir.join(&name);
            let meta = fs::symlink_metadata(&path).expect("stat entry");
            let hash = meta.is_file().then(|| hash_file(&path));
            let state = EntryState {
                file_type: format!("{:?}", meta.file_type()),
                len: meta.len(),
                mode: meta.permissions().mode(),
                mtime: (meta.mtime(), meta.mtime_nsec()),
                inode: meta.ino(),
                hash,
            };
            (name, state)
        })
        .collect()
}

/// Writes `bytes` to `path` (replacing it) and panics on failure.
pub fn write(path: &Path, bytes: &[u8]) {
    fs::write(path, bytes).unwrap_or_else(|e| panic!("write {path:?}: {e}"));
}

/// Reads `path` and panics on failure.
pub fn read(path: &Path) -> Vec<u8> {
    fs::read(path).unwrap_or_else(|e| panic!("read {path:?}: {e}"))
}
