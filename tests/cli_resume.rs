//! Resume mid-file: a large copy killed part-way continues from its temp
//! (where the journal says the data was durable) instead of starting over,
//! when the source is unchanged and the kept part still matches it;
//! otherwise it starts over and says why.
#![cfg(feature = "fault-injection")]

mod support;

use std::fs::{self, File};
use std::io::Write;
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use support::*;

const MIB: u64 = 1 << 20;

/// The bytes a summary line says were copied ("copied 1 file (172.0 MiB)").
fn copied_bytes(stderr: &str) -> f64 {
    let line = stderr
        .lines()
        .find(|l| l.contains("copied 1 file ("))
        .unwrap_or_else(|| panic!("no summary in: {stderr}"));
    let inside = line.split('(').nth(1).unwrap().split(')').next().unwrap();
    let (number, unit) = inside.split_once(' ').unwrap();
    let scale = match unit {
        "B" => 1.0,
        "KiB" => 1024.0,
        "MiB" => MIB as f64,
        "GiB" => (1u64 << 30) as f64,
        other => panic!("unit {other}"),
    };
    number.parse::<f64>().unwrap() * scale
}

/// Starts a slow copy of `src` into `dst_dir` and kills it (SIGKILL) once
/// its temp holds at least `at` bytes.
fn kill_at(data: &Path, src: &Path, dst_dir: &Path, at: u64) {
    let mut child = ferry(data)
        .arg("copy")
        .arg(src)
        .arg(dst_dir)
        .env("FERRY_FAULT_CHUNK_DELAY_MS", "25")
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let written: u64 = fs::read_dir(dst_dir)
            .unwrap()
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().ends_with(".ferry-part"))
            .map(|e| e.metadata().map_or(0, |m| m.len()))
            .max()
            .unwrap_or(0);
        if written >= at {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the copy never got to {at} bytes"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    kill9(&mut child);
}

#[test]
fn a_large_copy_killed_half_way_resumes_without_rewriting_the_first_half() {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("disk.img");
    let size = 320 * MIB as usize;
    fs::write(&src, pattern(size, 5)).unwrap();
    let dst = tmp.path().join("out");
    fs::create_dir(&dst).unwrap();
    let data = tmp.path().join("data");
    kill_at(&data, &src, &dst, size as u64 / 2 + 8 * MIB);
    assert!(!dst.join("disk.img").exists());

    let out = run(ferry(&data).arg("resume"));
    assert!(out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let rewritten = copied_bytes(&stderr);
    assert!(
        rewritten < size as f64 * 0.6,
        "resume wrote {rewritten} of {size} bytes: {stderr}"
    );
    assert_eq!(hash_of(&dst.join("disk.img")), hash_of(&src), "identical");
    assert!(leftovers(&dst).is_empty(), "{:?}", leftovers(&dst));
}

#[test]
fn a_source_changed_since_the_kill_is_copied_again_from_the_start() {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("disk.img");
    let size = 200 * MIB as usize;
    fs::write(&src, pattern(size, 6)).unwrap();
    let dst = tmp.path().join("out");
    fs::create_dir(&dst).unwrap();
    let data = tmp.path().join("data");
    kill_at(&data, &src, &dst, 100 * MIB);
    // The source changes meanwhile (same size, other bytes at the start).
    let mut file = File::options().write(true).open(&src).unwrap();
    file.write_all(b"changed").unwrap();
    drop(file);

    let out = run(ferry(&data).arg("resume"));
    assert!(out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(stderr.contains("copied again from the start"), "{stderr}");
    assert!(copied_bytes(&stderr) > size as f64 * 0.99, "{stderr}");
    assert_eq!(hash_of(&dst.join("disk.img")), hash_of(&src));
    assert!(leftovers(&dst).is_empty(), "{:?}", leftovers(&dst));
}

fn hash_of(path: &Path) -> blake3::Hash {
    blake3::hash(&fs::read(path).unwrap())
}

/// A journal whose writer died before its plan was durable (still under
/// its first name, unlocked, quiet for a minute) is removed when jobs are
/// listed: its job wrote nothing. A fresh one is left alone.
#[test]
fn a_dead_journal_still_under_its_first_name_is_removed() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let jobs = data.join("jobs");
    fs::create_dir_all(&jobs).unwrap();
    let dead = jobs.join("0123456789ab.jsonl.new");
    let fresh = jobs.join("ba9876543210.jsonl.new");
    fs::write(&dead, b"half a plan").unwrap();
    fs::write(&fresh, b"half a plan").unwrap();
    let long_ago = std::time::SystemTime::now() - Duration::from_secs(3600);
    fs::File::options()
        .write(true)
        .open(&dead)
        .unwrap()
        .set_modified(long_ago)
        .unwrap();
    let out = run(ferry(&data).args(["jobs"]));
    assert!(out.status.success());
    assert!(!dead.exists(), "a dead first journal was left");
    assert!(fresh.exists(), "a journal being written was removed");
}
