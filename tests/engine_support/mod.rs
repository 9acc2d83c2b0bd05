//! Helpers for the engine's integration tests: build trees, snapshot them,
//! run the real `ferry` binary with its own data directory.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::fs::{self, File, FileTimes};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{MetadataExt, PermissionsExt, symlink};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, SystemTime};

/// What a tree holds, path by path (relative), for equality checks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Node {
    Dir {
        mode: u32,
        mtime: i64,
    },
    File {
        hash: String,
        mode: u32,
        mtime: (i64, i64),
    },
    Link {
        target: PathBuf,
    },
}

/// Walks `root` without following links.
pub fn snapshot(root: &Path) -> BTreeMap<PathBuf, Node> {
    let mut out = BTreeMap::new();
    walk(root, root, &mut out);
    out
}

fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<PathBuf, Node>) {
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let meta = fs::symlink_metadata(&path).unwrap();
        let rel = path.strip_prefix(root).unwrap().to_path_buf();
        let node = if meta.file_type().is_symlink() {
            Node::Link {
                target: fs::read_link(&path).unwrap(),
            }
        } else if meta.is_dir() {
            walk(root, &path, out);
            Node::Dir {
                mode: meta.mode() & 0o7777,
                mtime: meta.mtime(),
            }
        } else {
            Node::File {
                hash: blake3::hash(&fs::read(&path).unwrap()).to_hex().to_string(),
                mode: meta.mode() & 0o7777,
                mtime: (meta.mtime(), meta.mtime_nsec()),
            }
        };
        out.insert(rel, node);
    }
}

/// Panics with the differing paths only (trees can be large).
#[track_caller]
pub fn assert_same(
    expected: &BTreeMap<PathBuf, Node>,
    actual: &BTreeMap<PathBuf, Node>,
    what: &str,
) {
    let mut diffs = Vec::new();
    for (path, node) in expected {
        match actual.get(path) {
            None => diffs.push(format!("missing {}", path.display())),
            Some(other) if other != node => diffs.push(format!(
                "{}: expected {node:?}, found {other:?}",
                path.display()
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

/// The snapshot without folder times (a rollback restores contents, modes
/// and file times; putting entries back necessarily touches folder times).
pub fn contents(root: &Path) -> BTreeMap<PathBuf, Node> {
    snapshot(root)
        .into_iter()
        .map(|(p, n)| match n {
            Node::Dir { mode, .. } => (p, Node::Dir { mode, mtime: 0 }),
            other => (p, other),
        })
        .collect()
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

/// Names of Ferry's leftovers (temps, locks, backups) anywhere under `root`.
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

/// Deterministic pseudo-random bytes (xorshift), so trees differ by seed.
pub fn bytes(seed: u64, len: usize) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
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
        &bytes(1, 1 << 20),
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
        &bytes(2, (1 << 20) + 7),
        0o444,
        Duration::from_secs(5),
    );
    let odd = std::ffi::OsStr::from_bytes(b"caf\xe9-latin1.txt");
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
        fs::write(&path, bytes(i as u64, 1000 + (i % 7) * 4096)).unwrap();
    }
}

/// The `ferry` binary with a private data directory.
pub fn ferry(data_dir: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_ferry"));
    cmd.env("FERRY_DATA_DIR", data_dir)
        .env("FERRY_CONFIG_DIR", data_dir.join("config"))
        .env_remove("FERRY_FAULT_CHUNK_DELAY_MS")
        .env_remove("FERRY_FAULT_FLIP_BYTE");
    cmd
}

/// Runs a command and returns its output, printing stderr on failure.
pub fn run(cmd: &mut Command) -> Output {
    let out = cmd.output().expect("ferry runs");
    if !out.status.success() {
        eprintln!("stderr: {}", String::from_utf8_lossy(&out.stderr));
    }
    out
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

/// A pseudo-random number from the clock (enough to spread kill times).
pub fn jitter(max: u64) -> u64 {
    let nanos = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos() as u64;
    (nanos.wrapping_mul(6364136223846793005) >> 17) % max.max(1)
}

/// Sends SIGKILL to a child and reaps it.
pub fn kill9(child: &mut std::process::Child) {
    let _ = child.kill();
    let _ = child.wait();
}

/// Whether we run as root (tmpfs mounts, ownership changes).
pub fn is_root() -> bool {
    rustix_uid() == 0
}

fn rustix_uid() -> u32 {
    fs::metadata("/proc/self")
        .map(|m| m.uid())
        .unwrap_or(u32::MAX)
}
