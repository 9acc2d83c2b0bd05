//! Crash safety: a `ferry copy --on-conflict overwrite` child is killed with
//! SIGKILL at random moments, many times. The destination is always either
//! its old content or the new content, whole; the only other files beside
//! it are Ferry's own temp, lock and probe files, and the temps left behind
//! are unlocked (orphans for the sweeper).
#![cfg(unix)]

mod support;

use std::fs::{self, File};
use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use ferry_engine::lock::{LockMode, try_lock};
use ferry_engine::names;
use support::{MIB, Rng, Sandbox, describe_status, hash_file, names_in, pattern, write};

/// Size of the new content (32 MiB and a bit, so the last chunk is partial).
const NEW_LEN: usize = 32 * MIB + 4321;
/// Size of the old content: different, so a mix of the two cannot pass.
const OLD_LEN: usize = 5 * MIB + 17;
/// At least this many kills.
const MIN_ROUNDS: usize = 30;
/// Stop adding rounds here even if too few kills landed mid-copy.
const MAX_ROUNDS: usize = 90;
/// At least this many kills must land while a temp file existed.
const MIN_MID_COPY: usize = 5;

/// The copy under test, with the fault-injection build slowed down a little
/// per 1 MiB chunk so that more kills land mid-copy.
fn copy_command(sandbox: &Sandbox, src: &Path, dest: &Path) -> Command {
    let mut cmd = sandbox.copy_cmd(["--on-conflict", "overwrite"]);
    cmd.arg(src)
        .arg(dest)
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    if cfg!(feature = "fault-injection") {
        cmd.env("FERRY_FAULT_CHUNK_DELAY_MS", "1");
    }
    cmd
}

/// Puts the old content back if the destination holds the new one.
fn reset_destination(dest: &Path, old: &[u8], old_hash: blake3::Hash) {
    if hash_file(dest) != old_hash {
        write(dest, old);
    }
}

#[test]
fn sigkill_at_random_points_leaves_old_or_new_content_whole() {
    let sandbox = Sandbox::new();
    let src_dir = sandbox.dir("src");
    let out = sandbox.dir("out");
    let src = src_dir.join("big.bin");
    let dest = out.join("big.bin");
    let new = pattern(NEW_LEN, 1);
    let old = pattern(OLD_LEN, 2);
    let new_hash = blake3::hash(&new);
    let old_hash = blake3::hash(&old);
    write(&src, &new);
    write(&dest, &old);
    drop(new);

    // Calibrate: how long does one whole copy take from spawn to exit?
    let mut full = Duration::ZERO;
    for _ in 0..2 {
        reset_destination(&dest, &old, old_hash);
        let started = Instant::now();
        let status = copy_command(&sandbox, &src, &dest).status().unwrap();
        full = full.max(started.elapsed());
        assert!(status.success(), "calibration copy: {status}");
        assert_eq!(hash_file(&dest), new_hash);
        assert_eq!(names_in(&out), ["big.bin"], "a whole copy leaves nothing");
    }
    // Kill anywhere from just after spawn to a little after the end.
    let window = full + full / 10;

    let mut rng = Rng::new();
    let (mut rounds, mut mid_copy, mut completed, mut new_seen) = (0, 0, 0, 0);
    let mut locks_seen = 0;
    while rounds < MIN_ROUNDS || (mid_copy < MIN_MID_COPY && rounds < MAX_ROUNDS) {
        rounds += 1;
        reset_destination(&dest, &old, old_hash);
        let delay = Duration::from_nanos(rng.below(window.as_nanos() as u64 + 1));

        let mut child = copy_command(&sandbox, &src, &dest).spawn().unwrap();
        thread::sleep(delay);
        let _ = child.kill();
        let status = child.wait().unwrap();
        match status.signal() {
            Some(9) => {}
            None if status.success() => completed += 1,
            _ => panic!("round {rounds}: unexpected {}", describe_status(status)),
        }

        // The destination is exactly the old or the new content.
        let meta = fs::symlink_metadata(&dest)
            .unwrap_or_else(|e| panic!("round {rounds}: the destination vanished: {e}"));
        assert!(meta.is_file(), "round {rounds}: {meta:?}");
        let hash = hash_file(&dest);
        assert!(
            hash == old_hash || hash == new_hash,
            "round {rounds} (kill after {delay:?}): the destination is neither old nor new \
             ({} bytes)",
            meta.len()
        );
        if hash == new_hash {
            new_seen += 1;
        }

        // Anything else is a Ferry temp or lock; temps are orphans now.
        let mut temps_here = 0;
        for name in names_in(&out) {
            if name == "big.bin" {
                continue;
            }
            let path = out.join(&name);
            if names::is_temp_name(&name) {
                temps_here += 1;
                assert!(
                    name.to_string_lossy().starts_with(".big.bin."),
                    "round {rounds}: temp of another file: {name:?}"
                );
                let file = File::open(&path).unwrap();
                assert!(
                    try_lock(&file, LockMode::Exclusive).unwrap(),
                    "round {rounds}: a dead process's temp is still locked"
                );
                assert!(file.metadata().unwrap().len() <= NEW_LEN as u64);
                drop(file);
                // A handful of removals, not the mass delete BENCH_NOTES warns of.
                fs::remove_file(&path).unwrap();
            } else if names::is_probe_name(&name) {
                // Killed while the job probed the destination's filesystem
                // (its files, or its folders `….dir`, `….dir2`).
                if fs::symlink_metadata(&path).is_ok_and(|m| m.is_dir()) {
                    fs::remove_dir_all(&path).unwrap();
                } else {
                    fs::remove_file(&path).unwrap();
                }
            } else if names::is_lock_name(&name) {
                assert_eq!(name, ".big.bin.ferry-lock", "round {rounds}");
                // Left on purpose: the next copy must cope with a stale lock.
                locks_seen += 1;
            } else {
                panic!("round {rounds}: unexpected file {name:?} beside the destination");
            }
        }
        assert!(
            temps_here <= 1,
            "round {rounds}: {temps_here} temps for one copy"
        );
        if temps_here > 0 {
            mid_copy += 1;
        }
    }
    eprintln!(
        "{rounds} rounds over a {window:?} window: {mid_copy} killed mid-copy (temp left), \
         {new_seen} with the new content ({completed} completed before the kill), \
         {locks_seen} with a stale lock left"
    );
    assert!(
        mid_copy >= MIN_MID_COPY,
        "only {mid_copy} of {rounds} kills landed mid-copy; the test proved little"
    );

    // After all that, one more copy still succeeds (stale locks and all)
    // and leaves exactly the destination.
    reset_destination(&dest, &old, old_hash);
    let status = copy_command(&sandbox, &src, &dest).status().unwrap();
    assert!(status.success(), "final copy: {status}");
    assert_eq!(hash_file(&dest), new_hash);
    assert_eq!(names_in(&out), ["big.bin"]);
}

/// Run as root, the capability probe gives a file to another user to see
/// whether owners can be kept. A kill right after that must not leave a
/// probe file owned by someone else, which no sweep would ever remove:
/// it is given away on a file without a name (and taken back at once where
/// the filesystem makes none). Needs root and strace (to kill at the call).
#[test]
fn a_kill_after_the_probe_gives_a_file_away_leaves_only_sweepable_files() {
    if !support::is_root() {
        eprintln!("skipped: giving a file to another user needs root");
        return;
    }
    if Command::new("strace").arg("-V").output().is_err() {
        eprintln!("skipped: strace not installed");
        return;
    }
    let sandbox = Sandbox::new();
    let src = sandbox.dir("src").join("a.txt");
    write(&src, b"a");
    let dst = sandbox.dir("dst");
    // Held for 10 s once its first fchown has returned, killed there.
    let log = sandbox.root().join("strace.log");
    let mut strace = Command::new("strace")
        .args(["-f", "-qq", "-e", "trace=fchown"])
        .args(["-e", "inject=fchown:delay_exit=10000000:when=1", "-o"])
        .arg(&log)
        .arg(support::FERRY)
        .arg("copy")
        .arg(&src)
        .arg(&dst)
        .env("FERRY_DATA_DIR", sandbox.dir("data"))
        .env("FERRY_CONFIG_DIR", sandbox.dir("config"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    let held = loop {
        let text = fs::read_to_string(&log).unwrap_or_default();
        if let Some(line) = text.lines().find(|l| l.ends_with("(DELAYED)")) {
            break line.split_whitespace().next().unwrap().to_owned();
        }
        assert!(Instant::now() < deadline, "no fchown: {text}");
        thread::sleep(Duration::from_millis(20));
    };
    // A thread's id names its whole process to kill(2).
    assert!(
        Command::new("kill")
            .args(["-KILL", &held])
            .status()
            .unwrap()
            .success()
    );
    let _ = strace.wait();
    let me = rustix::process::geteuid().as_raw();
    let left: Vec<_> = fs::read_dir(&dst).unwrap().map(|e| e.unwrap()).collect();
    assert!(
        left.iter().any(|e| names::is_probe_name(&e.file_name())),
        "the kill landed before the probe: {:?}",
        names_in(&dst)
    );
    for entry in left {
        use std::os::unix::fs::MetadataExt;
        let owner = fs::symlink_metadata(entry.path()).unwrap().uid();
        assert_eq!(
            owner,
            me,
            "{:?} was left to user {owner}",
            entry.file_name()
        );
    }
}
