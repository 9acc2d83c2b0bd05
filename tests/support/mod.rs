//! What the integration tests share, in one place:
//!
//! * **launching `ferry`**: [`ferry_in`] is the one way a test starts the
//!   built binary (private config and data folders, no `FERRY_*` variable
//!   of the test's own environment, stdin closed); [`run`] and
//!   [`run_with_timeout`] wait for it with a time limit, so a hang fails the
//!   test instead of blocking it. [`Sandbox`], [`ferry`], [`run_ferry`] and
//!   [`spawn_ferry`] are shorthands over it;
//! * **one tree snapshot**: [`snapshot`] (a whole tree) and [`listing`] (one
//!   folder) record every entry's kind, contents hash, mode, times, size and
//!   inode; [`assert_same`] and [`contents`] compare what a copy reproduces;
//! * **one random generator**: [`Rng`] (and [`pattern`], deterministic
//!   contents from a seed);
//! * trees to copy, Ferry's leftovers, child processes that hold locks or
//!   keep files in use ([`child_entry`]), signals, and real filesystems
//!   ([`mounts`]).
//!
//! Each test crate uses a different subset of these helpers.
#![allow(dead_code)]

use std::borrow::BorrowMut;
use std::collections::BTreeMap;
use std::collections::hash_map::RandomState;
use std::ffi::{OsStr, OsString};
use std::fs::{self, File, FileTimes};
use std::hash::BuildHasher;
use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{MetadataExt, PermissionsExt, symlink};
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use ferry_engine::{names, sweep::SweepRequest};

pub mod mounts;

// ------------------------------------------------------------ launching

/// The `ferry` binary cargo built for these tests.
pub const FERRY: &str = env!("CARGO_BIN_EXE_ferry");

/// How long [`run`] lets `ferry` run before it kills it and fails.
pub const TIME_LIMIT: Duration = Duration::from_secs(300);

/// Size of one MiB.
pub const MIB: usize = 1 << 20;

/// The one way the tests start `ferry`: with `config` and `data` as its
/// folders, none of the `FERRY_*` variables of the test's own environment
/// (fault injection, folders) and stdin closed. Tests add arguments and
/// the variables they mean to set.
pub fn ferry_in(config: &Path, data: &Path) -> Command {
    let mut cmd = Command::new(FERRY);
    for (name, _) in std::env::vars_os() {
        if name.as_encoded_bytes().starts_with(b"FERRY_") {
            cmd.env_remove(name);
        }
    }
    cmd.env("FERRY_CONFIG_DIR", config)
        .env("FERRY_DATA_DIR", data)
        .stdin(Stdio::null());
    cmd
}

/// `ferry` with `data_dir` as its data folder and `data_dir/config` as its
/// config folder.
pub fn ferry(data_dir: &Path) -> Command {
    ferry_in(&data_dir.join("config"), data_dir)
}

/// Runs `ferry ARGS` with these folders (at most [`TIME_LIMIT`]).
pub fn run_ferry(args: &[&str], config: &Path, data: &Path) -> Output {
    run_with_timeout(ferry_in(config, data).args(args), TIME_LIMIT)
}

/// Starts `ferry ARGS` with these folders without waiting (output piped).
pub fn spawn_ferry(args: &[&str], config: &Path, data: &Path) -> Child {
    ferry_in(config, data)
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// Runs a command (at most [`TIME_LIMIT`]) and returns its output, printing
/// its stderr when it fails.
pub fn run(cmd: &mut Command) -> Output {
    let out = run_with_timeout(cmd, TIME_LIMIT);
    if !out.status.success() {
        eprintln!("stderr: {}", String::from_utf8_lossy(&out.stderr));
    }
    out
}

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

    /// A `ferry` command with this sandbox's state folders ([`ferry_in`]).
    pub fn ferry(&self) -> Command {
        let state = self.root.path().join(".state");
        ferry_in(&state.join("config"), &state.join("data"))
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
pub fn run_with_timeout(mut cmd: impl BorrowMut<Command>, limit: Duration) -> Output {
    let cmd = cmd.borrow_mut();
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

/// Sends SIGKILL to a child and reaps it.
pub fn kill9(child: &mut Child) {
    let _ = child.kill();
    let _ = child.wait();
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

/// Ids of the unfinished jobs, from `ferry jobs --json`.
pub fn job_ids(data_dir: &Path) -> Vec<String> {
    let out = run(ferry(data_dir).args(["jobs", "--json"]));
    assert!(out.status.success());
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    doc["jobs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|j| j["id"].as_str().unwrap().to_string())
        .collect()
}

/// Whether the tests run as root (mounts, ownership changes).
pub fn is_root() -> bool {
    rustix::process::geteuid().is_root()
}

// ------------------------------------------------------------ randomness

/// The tests' one random generator: small and non-cryptographic
/// (xorshift64*), seeded from the standard library's per-process random
/// hash keys and the clock, or from a fixed seed.
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

/// An unpredictable number in `0..max` (enough to spread kill times).
pub fn jitter(max: u64) -> u64 {
    Rng::new().below(max.max(1))
}

// ------------------------------------------------------------ files and trees

/// The BLAKE3 hash of a file's contents.
pub fn hash_file(path: &Path) -> blake3::Hash {
    let mut hasher = blake3::Hasher::new();
    hasher
        .update_reader(File::open(path).unwrap_or_else(|e| panic!("open {path:?}: {e}")))
        .unwrap_or_else(|e| panic!("read {path:?}: {e}"));
    hasher.finalize()
}

/// Writes `bytes` to `path` (replacing it) and panics on failure.
pub fn write(path: &Path, bytes: &[u8]) {
    fs::write(path, bytes).unwrap_or_else(|e| panic!("write {path:?}: {e}"));
}

/// Reads `path` and panics on failure.
pub fn read(path: &Path) -> Vec<u8> {
    fs::read(path).unwrap_or_else(|e| panic!("read {path:?}: {e}"))
}

/// Writes `data` to `path` with a mode and an mtime `age` in the past.
pub fn write_file(path: &Path, data: &[u8], mode: u32, age: Duration) {
    fs::write(path, data).unwrap();
    fs::set_permissions(path, fs::Permissions::from_mode(mode)).unwrap();
    let when = SystemTime::now() - age;
    File::options()
        .write(true)
        .open(path)
        .unwrap()
        .set_times(FileTimes::new().set_modified(when).set_accessed(when))
        .unwrap();
}

/// Sets a file's modification time (into the past or the future).
pub fn set_mtime(path: &Path, time: SystemTime) {
    let file = File::options().write(true).open(path).unwrap();
    file.set_times(FileTimes::new().set_modified(time)).unwrap();
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

/// Every path under `root` (not following symbolic links), relative and
/// sorted; folders that cannot be read are passed over.
pub fn walk(root: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries {
            let path = entry.unwrap().path();
            if fs::symlink_metadata(&path).is_ok_and(|m| m.is_dir()) {
                stack.push(path.clone());
            }
            out.push(path.strip_prefix(root).unwrap().to_path_buf());
        }
    }
    out.sort();
    out
}

/// How many entries are under `root`, tolerating a tree that changes while
/// it is counted.
pub fn entry_count(root: &Path) -> usize {
    let Ok(read) = fs::read_dir(root) else {
        return 0;
    };
    read.flatten()
        .map(|e| {
            let is_dir = e.file_type().is_ok_and(|t| t.is_dir());
            1 + if is_dir { entry_count(&e.path()) } else { 0 }
        })
        .sum()
}

/// What an entry is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NodeKind {
    /// A folder.
    Dir,
    /// A regular file, by the hash of its contents.
    File { hash: blake3::Hash },
    /// A symbolic link (not followed).
    Link { target: PathBuf },
    /// Anything else (FIFO, socket, device), by its type.
    Other(String),
}

/// One entry of a [`snapshot`]: everything a test compares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Node {
    /// Folder, file (with its contents' hash), link (with its target)…
    pub kind: NodeKind,
    /// Permission bits (`st_mode & 0o7777`).
    pub mode: u32,
    /// Modification time: seconds and nanoseconds.
    pub mtime: (i64, i64),
    /// Size in bytes.
    pub len: u64,
    /// Inode number: the same file, not a copy of it.
    pub inode: u64,
}

impl Node {
    fn of(path: &Path) -> Self {
        let meta = fs::symlink_metadata(path).unwrap_or_else(|e| panic!("stat {path:?}: {e}"));
        let file_type = meta.file_type();
        let kind = if file_type.is_symlink() {
            NodeKind::Link {
                target: fs::read_link(path).unwrap(),
            }
        } else if file_type.is_dir() {
            NodeKind::Dir
        } else if file_type.is_file() {
            NodeKind::File {
                hash: hash_file(path),
            }
        } else {
            NodeKind::Other(format!("{file_type:?}"))
        };
        Self {
            kind,
            mode: meta.mode() & 0o7777,
            mtime: (meta.mtime(), meta.mtime_nsec()),
            len: meta.len(),
            inode: meta.ino(),
        }
    }

    /// What a copy of this entry must reproduce: its kind and contents,
    /// its mode and modification time (a folder's to the second), and of a
    /// link only its target; never its inode, nor a folder's size.
    pub fn copied(&self) -> Node {
        match self.kind {
            NodeKind::Link { .. } => Node {
                kind: self.kind.clone(),
                mode: 0,
                mtime: (0, 0),
                len: 0,
                inode: 0,
            },
            NodeKind::Dir => Node {
                kind: NodeKind::Dir,
                mode: self.mode,
                mtime: (self.mtime.0, 0),
                len: 0,
                inode: 0,
            },
            _ => Node {
                inode: 0,
                ..self.clone()
            },
        }
    }
}

/// Entries by path, relative to the folder snapshotted.
pub type Tree = BTreeMap<PathBuf, Node>;

/// Every entry under `root`, recursively, without following links.
pub fn snapshot(root: &Path) -> Tree {
    let mut out = Tree::new();
    snapshot_into(root, root, true, &mut out);
    out
}

/// The entries of `dir` itself (not its sub-folders' entries), by name: what
/// a test compares to prove a folder was left alone.
pub fn listing(dir: &Path) -> Tree {
    let mut out = Tree::new();
    snapshot_into(dir, dir, false, &mut out);
    out
}

fn snapshot_into(root: &Path, dir: &Path, deep: bool, out: &mut Tree) {
    for entry in fs::read_dir(dir).unwrap_or_else(|e| panic!("read_dir {dir:?}: {e}")) {
        let path = entry.unwrap().path();
        let node = Node::of(&path);
        if deep && node.kind == NodeKind::Dir {
            snapshot_into(root, &path, deep, out);
        }
        out.insert(path.strip_prefix(root).unwrap().to_path_buf(), node);
    }
}

/// The tree as a copy must reproduce it ([`Node::copied`]), without folder
/// times (a rollback restores contents, modes and file times; putting
/// entries back necessarily touches folder times).
pub fn contents(root: &Path) -> Tree {
    snapshot(root)
        .into_iter()
        .map(|(p, n)| {
            let mut copied = n.copied();
            if copied.kind == NodeKind::Dir {
                copied.mtime = (0, 0);
            }
            (p, copied)
        })
        .collect()
}

/// `actual` holds what `expected` holds, as a copy reproduces it
/// ([`Node::copied`]); panics with the differing paths only (trees can be
/// large).
#[track_caller]
pub fn assert_same(expected: &Tree, actual: &Tree, what: &str) {
    let mut diffs = Vec::new();
    for (path, node) in expected {
        match actual.get(path) {
            None => diffs.push(format!("missing {}", path.display())),
            Some(other) if other.copied() != node.copied() => diffs.push(format!(
                "{}: expected {:?}, found {:?}",
                path.display(),
                node.copied(),
                other.copied()
            )),
            _ => {}
        }
    }
    for path in actual.keys().filter(|p| !expected.contains_key(*p)) {
        diffs.push(format!("unexpected {}", path.display()));
    }
    assert!(
        diffs.is_empty(),
        "{what}: {} differences, first ones:\n{}",
        diffs.len(),
        diffs[..diffs.len().min(12)].join("\n")
    );
}

/// A tree with nested folders, empty files, 1 MiB files, varied modes and
/// mtimes, a relative symlink, an empty folder, a non-UTF-8 and a 255-byte
/// name.
pub fn rich_tree(root: &Path) {
    fs::create_dir_all(root.join("docs/deep/deeper")).unwrap();
    fs::create_dir_all(root.join("empty-dir")).unwrap();
    write_file(
        &root.join("empty.txt"),
        b"",
        0o644,
        Duration::from_secs(3600),
    );
    write_file(
        &root.join("docs/readme.md"),
        b"# hello\n",
        0o600,
        Duration::from_secs(86_400),
    );
    write_file(
        &root.join("docs/big.bin"),
        &pattern(1 << 20, 1),
        0o640,
        Duration::from_secs(7 * 86_400),
    );
    write_file(
        &root.join("docs/deep/run.sh"),
        b"#!/bin/sh\necho hi\n",
        0o755,
        Duration::from_secs(60),
    );
    write_file(
        &root.join("docs/deep/deeper/big2.bin"),
        &pattern((1 << 20) + 7, 2),
        0o444,
        Duration::from_secs(5),
    );
    let odd = OsStr::from_bytes(b"caf\xe9-latin1.txt");
    write_file(
        &root.join("docs").join(odd),
        b"not utf-8 name",
        0o644,
        Duration::from_secs(100),
    );
    let long = "L".repeat(251) + ".txt";
    assert_eq!(long.len(), 255);
    write_file(
        &root.join(&long),
        b"long name",
        0o644,
        Duration::from_secs(200),
    );
    symlink("../readme.md", root.join("docs/deep/link-to-readme")).unwrap();
    symlink("nowhere/at/all", root.join("dangling-link")).unwrap();
    fs::set_permissions(root.join("docs/deep"), fs::Permissions::from_mode(0o750)).unwrap();
    let when = SystemTime::now() - Duration::from_secs(30 * 86_400);
    File::open(root.join("docs/deep"))
        .unwrap()
        .set_times(FileTimes::new().set_modified(when).set_accessed(when))
        .unwrap();
}

/// `n` small files spread over `folders` folders.
pub fn many_files(root: &Path, n: usize, folders: usize) {
    for f in 0..folders {
        fs::create_dir_all(root.join(format!("d{f:03}"))).unwrap();
    }
    for i in 0..n {
        let path = root.join(format!("d{:03}/file{i:05}.dat", i % folders));
        fs::write(&path, pattern(1000 + (i % 7) * 4096, i as u64)).unwrap();
    }
}

// ------------------------------------------------------------ Ferry's names

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

/// Ferry's leftovers (temps, locks, backups) anywhere under `root`.
pub fn leftovers(root: &Path) -> Vec<PathBuf> {
    snapshot(root)
        .into_keys()
        .filter(|p| {
            let name = p.file_name().unwrap().as_bytes();
            name.ends_with(b".ferry-part")
                || name.ends_with(b".ferry-lock")
                || name.ends_with(b".ferry-backup")
        })
        .collect()
}

// ------------------------------------------------------------ the sweeper

/// The threshold the sweeper's tests sweep with.
pub const THRESHOLD: Duration = Duration::from_secs(1);

/// A Ferry temp name for `dest` with fresh random hex.
pub fn temp_name(dest: &str) -> String {
    format!(".{dest}.{:016x}.ferry-part", Rng::new().next_u64())
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
    thread::sleep(THRESHOLD + Duration::from_millis(250));
}

/// A manual sweep of `root` with the tests' threshold and a private data
/// directory.
pub fn request(root: &Path, data: &Path) -> SweepRequest<'static> {
    let mut request = SweepRequest::new([root], THRESHOLD);
    request.data_dir = Some(data.to_path_buf());
    request
}

/// The entry for `path` in a scan.
pub fn entry<'a>(
    entries: &'a [ferry_engine::ScanEntry],
    path: &Path,
) -> &'a ferry_engine::ScanEntry {
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

// ------------------------------------------------------------ child roles

/// Environment variable selecting a child role.
const ROLE_ENV: &str = "FERRY_TEST_CHILD_ROLE";

/// The test every test binary that uses [`hold_lock`], [`hold_in_use`],
/// [`spawn_writer`] or [`remember_in_child`] must declare:
/// `#[test] fn support_child() { support::child_entry() }`.
const CHILD_TEST: &str = "support_child";

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

/// This test binary, re-executed to run only [`child_entry`] in `role`.
fn child_command(role: &str) -> Command {
    let mut cmd = Command::new(std::env::current_exe().unwrap());
    cmd.args([CHILD_TEST, "--exact", "--nocapture", "--test-threads=1"])
        .env(ROLE_ENV, role);
    cmd
}

fn spawn_role(role: &str) -> Holder {
    let mut child = child_command(role)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    // Reads until the child says READY (the test harness may print its own
    // words before it on the same line), then keeps draining the pipe.
    thread::spawn(move || {
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
        thread::sleep(Duration::from_millis(10));
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
    child_command(&role).stdout(Stdio::null()).spawn().unwrap()
}

/// The body of the `support_child` test: does nothing in a normal run; in
/// a child process, plays the role it was given.
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
        thread::sleep(Duration::from_secs(60));
        let _ = &held;
    }
}
