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

// A deleted temp's inode number given to another file. ext4 hands a freed
// inode number out again at once: a dead run's temp removed by hand (or an
// unnamed temp freed by the kernel at the kill) can leave its journaled
// identity to a new file someone then writes at the destination. Resume and
// rollback must not take that file for the job's copy (resume of a move
// would then remove the only copy of the source). The journals below are
// the ones such a dead run leaves, with the reuse made certain.

mod reused_inode {
    use std::fs;
    use std::path::{Path, PathBuf};
    use std::time::{Duration, SystemTime};

    use ferry_engine::job::{JobId, JobSpec, TransferKind};
    use ferry_engine::journal::{Journal, Record};
    use ferry_engine::os::FileStamp;

    use super::support::*;

    struct Case {
        _tmp: tempfile::TempDir,
        data: PathBuf,
        src: PathBuf,
        dest: PathBuf,
        temp: PathBuf,
    }

    /// A source and, at its destination, another file of the same size.
    fn case() -> Case {
        let tmp = tempfile::tempdir().unwrap();
        let src = tmp.path().join("src/photo.raw");
        fs::create_dir_all(src.parent().unwrap()).unwrap();
        fs::write(&src, vec![b's'; 100_000]).unwrap();
        let old = SystemTime::now() - Duration::from_secs(86_400);
        fs::File::options()
            .write(true)
            .open(&src)
            .unwrap()
            .set_modified(old)
            .unwrap();
        let dst = tmp.path().join("dst");
        fs::create_dir_all(&dst).unwrap();
        let dest = dst.join("photo.raw");
        fs::write(&dest, vec![b'o'; 100_000]).unwrap();
        let temp = dst.join(".photo.raw.0123456789abcdef.ferry-part");
        Case {
            data: tmp.path().join("data"),
            src,
            dest,
            temp,
            _tmp: tmp,
        }
    }

    impl Case {
        /// The journal of a dead run of `spec` whose temp had `temp_id`.
        fn dead_run(&self, spec: &JobSpec, temp_id: FileStamp) -> JobId {
            self.dead_run_with(spec, temp_id, &[])
        }

        /// [`dead_run`](Self::dead_run), then `more` records.
        fn dead_run_with(&self, spec: &JobSpec, temp_id: FileStamp, more: &[Record]) -> JobId {
            let plan = ferry_engine::plan::plan_job(spec).unwrap();
            let id = JobId::random();
            let mut journal = Journal::create(&self.data, id, spec, &plan).unwrap();
            let source = FileStamp::of(&fs::metadata(&self.src).unwrap());
            journal
                .append(
                    &Record::Temp {
                        i: 0,
                        path: self.temp.clone(),
                        existed: false,
                        file: Some(temp_id),
                        source: Some(source),
                    },
                    true,
                )
                .unwrap();
            for record in more {
                journal.append(record, true).unwrap();
            }
            id
        }

        fn stamp_of_dest(&self) -> FileStamp {
            FileStamp::of(&fs::symlink_metadata(&self.dest).unwrap())
        }

        /// The destination's stamp as a drive without birth times gives it.
        fn stamp_of_dest_without_birth(&self) -> FileStamp {
            FileStamp {
                btime_ns: 0,
                ..self.stamp_of_dest()
            }
        }

        fn spec(&self, kind: TransferKind, all_or_nothing: bool) -> JobSpec {
            let mut spec = JobSpec::copy(vec![self.src.clone()], self.dest.parent().unwrap());
            spec.kind = kind;
            spec.all_or_nothing = all_or_nothing;
            spec.absolute()
        }

        /// Gives the destination the source's modification time.
        fn dest_takes_the_source_time(&self) {
            let src_time = fs::metadata(&self.src).unwrap().modified().unwrap();
            fs::File::options()
                .write(true)
                .open(&self.dest)
                .unwrap()
                .set_modified(src_time)
                .unwrap();
        }

        /// Resumes a dead move whose temp had `temp_id`: the destination is
        /// another file, so the resume fails and both stay.
        fn resumed_move_keeps_both(&self, temp_id: FileStamp) {
            self.dead_run(&self.spec(TransferKind::Move, false), temp_id);
            let out = resume(&self.data);
            assert!(!out.status.success(), "the destination is another file");
            self.assert_both_kept();
        }

        fn assert_both_kept(&self) {
            assert_eq!(
                fs::read(&self.src).ok(),
                Some(vec![b's'; 100_000]),
                "the source is kept"
            );
            assert_eq!(
                fs::read(&self.dest).unwrap(),
                vec![b'o'; 100_000],
                "the other file is untouched"
            );
        }
    }

    fn resume(data: &Path) -> std::process::Output {
        run(ferry(data).arg("resume"))
    }

    #[test]
    fn a_moves_source_is_kept_when_a_later_file_was_born_with_the_dead_temps_inode_number() {
        let c = case();
        // Even with the source's modification time, only the birth time
        // tells the two apart.
        c.dest_takes_the_source_time();
        let mut temp_id = c.stamp_of_dest();
        if temp_id.btime_ns == 0 {
            eprintln!("skipped: this filesystem keeps no birth times");
            return;
        }
        temp_id.btime_ns -= 60_000_000_000;
        c.resumed_move_keeps_both(temp_id);
    }

    #[test]
    fn a_moves_source_is_kept_when_a_later_file_has_the_dead_temps_inode_number_and_no_birth_time()
    {
        let c = case();
        // As on a FUSE drive, which keeps no birth times: only the bytes,
        // not the source's, tell the later file from the job's copy.
        let temp_id = c.stamp_of_dest_without_birth();
        c.resumed_move_keeps_both(temp_id);
    }

    /// FUSE drivers (exFAT, FAT, sshfs) keep no birth times, keep times to
    /// whole seconds and number files anew at each mount: after a replug an
    /// older file of the same size, and of the same second, may have the
    /// number the dead run's temp had. Only its bytes tell.
    #[test]
    fn a_moves_source_is_kept_when_an_older_file_of_the_same_second_has_the_temps_number() {
        let c = case();
        c.dest_takes_the_source_time();
        let temp_id = c.stamp_of_dest_without_birth();
        c.resumed_move_keeps_both(temp_id);
    }

    /// The other side: where the identity is all there is, the dead run's
    /// own copy (the source's bytes and time) is still taken for done.
    #[test]
    fn a_dead_runs_own_copy_without_a_birth_time_is_still_taken_for_done() {
        let c = case();
        fs::copy(&c.src, &c.dest).unwrap();
        c.dest_takes_the_source_time();
        let temp_id = c.stamp_of_dest_without_birth();
        c.dead_run(&c.spec(TransferKind::Move, false), temp_id);
        let out = resume(&c.data);
        assert!(out.status.success(), "{out:?}");
        assert!(!c.src.exists(), "the move ends");
        assert_eq!(fs::read(&c.dest).unwrap(), vec![b's'; 100_000]);
    }

    /// fusefat gives a file the time it is closed, and FAT holds no date
    /// before 1980: the dead run's own copy may not carry the source's
    /// time. Its bytes are the source's, so it is the job's: resume ends
    /// the move, rollback removes it.
    #[test]
    fn the_dead_runs_own_copy_is_the_jobs_whatever_its_time() {
        let c = case();
        fs::copy(&c.src, &c.dest).unwrap();
        let temp_id = c.stamp_of_dest_without_birth();
        c.dead_run(&c.spec(TransferKind::Move, false), temp_id);
        let out = resume(&c.data);
        assert!(out.status.success(), "{out:?}");
        assert!(!c.src.exists(), "the move ends");

        let c = case();
        fs::copy(&c.src, &c.dest).unwrap();
        let temp_id = c.stamp_of_dest_without_birth();
        let id = c.dead_run(&c.spec(TransferKind::Copy, true), temp_id);
        let out = run(ferry(&c.data).arg("rollback").arg(id.to_string()));
        assert!(out.status.success(), "{out:?}");
        assert!(!c.dest.exists(), "the job's copy is removed");
        assert!(c.src.exists());
    }

    /// A source on a drive whose status-change time only mirrors the
    /// modification time (FAT, exFAT), edited after the kill with its time
    /// put back, looks unchanged to its journaled stamp: resume of the move
    /// must compare bytes before it removes it (the copy holds the old ones).
    #[test]
    fn a_moves_source_edited_invisibly_after_the_kill_is_kept() {
        let c = case();
        fs::write(&c.src, vec![b's'; 100_000]).unwrap();
        // The dead run's own copy (an older version of the source)…
        let temp_id = c.stamp_of_dest();
        // …and the source as the journal saw it, which a later edit that
        // keeps the time does not change: written once, so its status-change
        // time is its modification time.
        let source = FileStamp::of(&fs::metadata(&c.src).unwrap());
        assert_eq!(source.ctime_ns, source.mtime_ns, "{source:?}");
        c.dead_run(&c.spec(TransferKind::Move, false), temp_id);
        let out = resume(&c.data);
        assert!(!out.status.success(), "the copy holds other bytes");
        c.assert_both_kept();
    }

    /// A large file killed between its commit and its `done` record: its
    /// temp (with a durable part journaled) is gone because it was put in
    /// place. Resume counts it done without saying it copies it again.
    #[test]
    fn a_committed_large_file_is_not_announced_as_copied_again() {
        let c = case();
        fs::copy(&c.src, &c.dest).unwrap();
        let spec = c.spec(TransferKind::Move, false);
        let partial = Record::Partial {
            i: 0,
            bytes: 65_536,
        };
        c.dead_run_with(&spec, c.stamp_of_dest(), &[partial]);
        let out = resume(&c.data);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{err}");
        assert!(!err.contains("copied again"), "{err}");
        assert!(!c.src.exists(), "the move ends");
    }

    #[test]
    fn rollback_leaves_a_later_file_that_has_the_dead_temps_inode_number() {
        let c = case();
        let temp_id = c.stamp_of_dest_without_birth();
        let id = c.dead_run(&c.spec(TransferKind::Copy, true), temp_id);
        let out = run(ferry(&c.data).arg("rollback").arg(id.to_string()));
        assert!(out.status.success());
        c.assert_both_kept();
    }
}
