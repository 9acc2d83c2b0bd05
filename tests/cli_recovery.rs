//! Crashes: SIGKILL a `ferry copy` of a tree at random moments, then
//! `ferry resume`; SIGKILL an all-or-nothing job, then `ferry rollback`.

mod support;

use std::fs;
#[cfg(feature = "fault-injection")]
use std::process::Stdio;
#[cfg(feature = "fault-injection")]
use std::time::{Duration, Instant};

use support::*;

/// Each file is one chunk; the per-chunk delay spreads a copy of the tree
/// over about a second so that kills land mid-copy.
#[cfg(feature = "fault-injection")]
#[test]
fn killed_tree_copies_resume_to_an_exact_copy() {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("src");
    many_files(&src, 320, 16);
    let expected = snapshot(&src);
    let data = tmp.path().join("data");
    let mut interrupted = 0;
    for round in 0..6 {
        let out = tmp.path().join(format!("out{round}"));
        let mut child = ferry(&data)
            .arg("copy")
            .arg(&src)
            .arg(&out)
            .env("FERRY_FAULT_CHUNK_DELAY_MS", "3")
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        // Kill once a random share of the tree is written.
        let target = 1 + jitter(330) as usize;
        let deadline = Instant::now() + Duration::from_secs(30);
        while entry_count(&out) < target && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(2));
        }
        kill9(&mut child);
        let ids = job_ids(&data);
        if ids.is_empty() {
            // The copy finished before the kill (or had not started its
            // journal): either way the tree is whole or absent.
            if out.exists() {
                assert_same(&expected, &snapshot(&out), "finished before the kill");
            }
            continue;
        }
        interrupted += 1;
        let res = run(ferry(&data).arg("resume").arg(&ids[0]));
        assert!(res.status.success(), "resume failed");
        assert_same(&expected, &snapshot(&out), &format!("round {round}"));
        assert!(leftovers(&out).is_empty(), "{:?}", leftovers(&out));
        assert!(job_ids(&data).is_empty());
    }
    assert!(interrupted >= 2, "only {interrupted} kills landed mid-copy");
}

#[test]
fn an_all_or_nothing_job_that_fails_restores_the_destination() {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("src");
    many_files(&src, 40, 4);
    let dst = tmp.path().join("dst");
    // An existing tree: some files will be overwritten, one is blocked by a
    // folder in the way (the k-th file fails).
    fs::create_dir_all(dst.join("src/d001")).unwrap();
    fs::write(dst.join("src/d001/file00001.dat"), b"precious 1").unwrap();
    fs::write(dst.join("src/d001/file00005.dat"), b"precious 5").unwrap();
    fs::write(dst.join("src/unrelated.txt"), b"unrelated").unwrap();
    fs::create_dir_all(dst.join("src/d002/file00030.dat")).unwrap();
    let before = contents(&dst);
    let out = run(ferry(&tmp.path().join("data"))
        .args(["copy", "--all-or-nothing", "--on-conflict", "overwrite"])
        .arg(&src)
        .arg(&dst));
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("rolled back"), "{stderr}");
    assert_same(
        &before,
        &contents(&dst),
        "the destination is byte for byte as before",
    );
    assert!(job_ids(&tmp.path().join("data")).is_empty());
}

#[cfg(feature = "fault-injection")]
#[test]
fn a_killed_all_or_nothing_job_rolls_back() {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("src");
    many_files(&src, 60, 3);
    let dst = tmp.path().join("dst");
    fs::create_dir_all(dst.join("src/d000")).unwrap();
    for i in [0, 3, 6, 30, 57] {
        fs::write(
            dst.join(format!("src/d000/file{i:05}.dat")),
            format!("old {i}"),
        )
        .unwrap();
    }
    let before = contents(&dst);
    let data = tmp.path().join("data");
    let mut child = ferry(&data)
        .args(["copy", "--all-or-nothing", "--on-conflict", "overwrite"])
        .arg(&src)
        .arg(&dst)
        .env("FERRY_FAULT_CHUNK_DELAY_MS", "20")
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Wait until some files are in place, then kill.
    let deadline = Instant::now() + Duration::from_secs(20);
    while entry_count(&dst) < before.len() + 10 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    kill9(&mut child);
    assert_ne!(before, contents(&dst), "the kill landed mid-job");
    let ids = job_ids(&data);
    assert_eq!(ids.len(), 1);
    let out = run(ferry(&data).arg("rollback").arg(&ids[0]));
    assert!(out.status.success());
    assert_same(&before, &contents(&dst), "rolled back");
    assert!(leftovers(&dst).is_empty());
    assert!(job_ids(&data).is_empty());
}

#[cfg(feature = "fault-injection")]
#[test]
fn verify_catches_a_corrupted_temp_and_leaves_the_destination() {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("data.bin");
    fs::write(&src, pattern(3 << 20, 3)).unwrap();
    let dest = tmp.path().join("dest.bin");
    fs::write(&dest, b"old").unwrap();
    let data = tmp.path().join("data");
    let out = run(ferry(&data)
        .args(["copy", "--verify", "--on-conflict", "overwrite"])
        .arg(&src)
        .arg(&dest)
        .env("FERRY_FAULT_FLIP_BYTE", "1"));
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("does not match") || stderr.contains("differs"),
        "{stderr}"
    );
    assert_eq!(fs::read(&dest).unwrap(), b"old");
    assert!(leftovers(tmp.path()).is_empty());
    // Without --verify the same fault goes unnoticed: the check is what
    // catches it.
    let out = run(ferry(&data)
        .args(["copy", "--on-conflict", "overwrite"])
        .arg(&src)
        .arg(&dest)
        .env("FERRY_FAULT_FLIP_BYTE", "1"));
    assert!(out.status.success());
    assert_ne!(fs::read(&dest).unwrap(), fs::read(&src).unwrap());
}
