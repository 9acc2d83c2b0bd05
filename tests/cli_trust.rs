//! The trust holes of issue 9, each hit for real: the `ferry` binary killed
//! (SIGKILL, through the fault-injection crash points) at the exact window,
//! then resumed or rolled back; sources that change while they are copied;
//! ownership and set-ID bits (as root, with a second user); journals with
//! torn lines; files without a size, sparse files and hard links.
// Most of these need the crash points of the fault-injection build.
#![cfg_attr(not(feature = "fault-injection"), allow(dead_code, unused_imports))]

mod support;

use std::fs::{self, File};
use std::io::Write;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, SystemTime};

use support::*;

/// An unprivileged user for ownership tests (Debian's `nobody`).
const NOBODY: u32 = 65534;

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Runs `ferry` expecting it to be killed at a crash point.
#[cfg(feature = "fault-injection")]
fn run_killed_at(cmd: &mut Command, point: &str) {
    let out = cmd
        .env("FERRY_FAULT_KILL_AT", point)
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    use std::os::unix::process::ExitStatusExt;
    assert_eq!(
        out.status.signal(),
        Some(9),
        "ferry was not killed at {point}: {:?}\n{}",
        out.status,
        stderr(&out)
    );
}

fn set_mtime(path: &Path, when: SystemTime) {
    File::options()
        .write(true)
        .open(path)
        .unwrap()
        .set_times(fs::FileTimes::new().set_modified(when))
        .unwrap();
}

fn year_2020() -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(1_577_836_800)
}

/// The build tree: many files plus a release note whose older
/// version, with the same size and modification time, is already at the
/// destination.
fn release_tree(root: &Path, files: usize) -> (PathBuf, PathBuf) {
    let src = root.join("build/out");
    let dst = root.join("dst");
    fs::create_dir_all(&src).unwrap();
    fs::create_dir_all(dst.join("out")).unwrap();
    for i in 1..=files {
        fs::write(src.join(format!("f{i:04}")), format!("{i}\n")).unwrap();
    }
    fs::write(src.join("zz-release.txt"), "version=1.0.1\n").unwrap();
    fs::write(dst.join("out/zz-release.txt"), "version=1.0.0\n").unwrap();
    set_mtime(&src.join("zz-release.txt"), year_2020());
    set_mtime(&dst.join("out/zz-release.txt"), year_2020());
    (src, dst)
}

#[cfg(feature = "fault-injection")]
#[test]
fn an_interrupted_move_and_resume_never_remove_the_only_copy() {
    let tmp = tempfile::tempdir().unwrap();
    let (src, dst) = release_tree(tmp.path(), 300);
    let data = tmp.path().join("data");
    run_killed_at(
        ferry(&data).arg("move").arg(&src).arg(&dst),
        "after-move-rename:40",
    );
    assert_eq!(job_ids(&data).len(), 1, "the move stays journaled");
    let out = run(ferry(&data).arg("resume"));
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains("zz-release.txt"), "{}", stderr(&out));
    assert_eq!(
        fs::read_to_string(src.join("zz-release.txt")).unwrap(),
        "version=1.0.1\n",
        "the newer release note is the only copy: it must stay"
    );
    assert_eq!(
        fs::read_to_string(dst.join("out/zz-release.txt")).unwrap(),
        "version=1.0.0\n"
    );
    for i in 1..=300 {
        let name = format!("f{i:04}");
        assert!(!src.join(&name).exists(), "{name} was moved");
        assert_eq!(
            fs::read_to_string(dst.join("out").join(&name)).unwrap(),
            format!("{i}\n")
        );
    }
    assert!(leftovers(&dst).is_empty(), "{:?}", leftovers(&dst));
}

#[cfg(feature = "fault-injection")]
#[test]
fn resume_of_an_overwrite_copy_replaces_a_same_size_same_time_stale_file() {
    let tmp = tempfile::tempdir().unwrap();
    let (src, dst) = release_tree(tmp.path(), 300);
    let data = tmp.path().join("data");
    // Killed after the 50th rename of the batch, before the batch is
    // journaled as done.
    run_killed_at(
        ferry(&data)
            .args(["copy", "--on-conflict", "overwrite"])
            .arg(&src)
            .arg(&dst),
        "after-place:50",
    );
    let out = run(ferry(&data).arg("resume"));
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("done before the interruption"),
        "{}",
        stderr(&out)
    );
    assert_same(
        &contents(&src),
        &contents(&dst.join("out")),
        "the destination is the source, stale release note replaced",
    );
    assert!(leftovers(&dst).is_empty(), "{:?}", leftovers(&dst));
}

/// Appends to `path` every few milliseconds until told to stop; returns how
/// many bytes it wrote.
fn keep_appending(path: PathBuf, stop: Arc<AtomicBool>) -> std::thread::JoinHandle<u64> {
    std::thread::spawn(move || {
        let mut file = File::options().append(true).open(&path).unwrap();
        let mut written = 0;
        while !stop.load(Ordering::SeqCst) {
            file.write_all(b"more log\n").unwrap();
            written += 9;
            std::thread::sleep(Duration::from_millis(3));
        }
        written
    })
}

#[cfg(feature = "fault-injection")]
#[test]
fn a_source_that_grows_during_a_copy_is_not_committed() {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("growing.log");
    fs::write(&src, pattern(6 << 20, 1)).unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let writer = keep_appending(src.clone(), stop.clone());
    let out = run(ferry(&tmp.path().join("data"))
        .arg("copy")
        .arg(&src)
        .arg(tmp.path().join("copy.log"))
        .env("FERRY_FAULT_CHUNK_DELAY_MS", "60"));
    stop.store(true, Ordering::SeqCst);
    writer.join().unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains("changed while"), "{}", stderr(&out));
    assert!(
        !tmp.path().join("copy.log").exists(),
        "a torn copy is never published"
    );
    assert!(leftovers(tmp.path()).is_empty());
}

#[cfg(feature = "fault-injection")]
#[test]
fn a_source_that_grows_during_a_move_is_kept_whole() {
    let tmp = tempfile::tempdir().unwrap();
    fs::create_dir(tmp.path().join("in")).unwrap();
    let src = tmp.path().join("in/growing.log");
    let first = pattern(6 << 20, 2);
    fs::write(&src, &first).unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let writer = keep_appending(src.clone(), stop.clone());
    // All-or-nothing moves copy, then remove sources at the commit point,
    // on one filesystem too: the window where appends used to be lost.
    let out = run(ferry(&tmp.path().join("data"))
        .args(["move", "--all-or-nothing"])
        .arg(&src)
        .arg(tmp.path().join("moved.log"))
        .env("FERRY_FAULT_CHUNK_DELAY_MS", "60"));
    stop.store(true, Ordering::SeqCst);
    let appended = writer.join().unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let kept = fs::read(&src).expect("the source was kept");
    assert_eq!(kept.len() as u64, first.len() as u64 + appended);
    assert_eq!(&kept[..first.len()], &first[..]);
}

/// A tmpfs mounted for the test (root only), unmounted on drop.
struct Tmpfs(PathBuf);

impl Tmpfs {
    fn mount(at: &Path) -> Option<Self> {
        if !is_root() {
            eprintln!("skipped: mounting a tmpfs needs root");
            return None;
        }
        fs::create_dir_all(at).unwrap();
        let ok = Command::new("mount")
            .args(["-t", "tmpfs", "-o", "size=64m", "tmpfs"])
            .arg(at)
            .status()
            .is_ok_and(|s| s.success());
        if !ok {
            eprintln!("skipped: could not mount a tmpfs");
            return None;
        }
        Some(Self(at.to_path_buf()))
    }

    fn remount_read_only(&self) {
        let ok = Command::new("mount")
            .args(["-o", "remount,ro"])
            .arg(&self.0)
            .status()
            .unwrap();
        assert!(ok.success());
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

#[cfg(feature = "fault-injection")]
#[test]
fn a_source_that_grows_during_a_cross_filesystem_move_is_kept() {
    let tmp = tempfile::tempdir().unwrap();
    let Some(fast) = Tmpfs::mount(&tmp.path().join("tmpfs")) else {
        return;
    };
    let src = fast.0.join("growing.log");
    fs::write(&src, pattern(6 << 20, 3)).unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let writer = keep_appending(src.clone(), stop.clone());
    let out = run(ferry(&tmp.path().join("data"))
        .arg("move")
        .arg(&src)
        .arg(tmp.path().join("moved.log"))
        .env("FERRY_FAULT_CHUNK_DELAY_MS", "60"));
    stop.store(true, Ordering::SeqCst);
    let appended = writer.join().unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert_eq!(
        fs::metadata(&src).unwrap().len(),
        (6 << 20) + appended,
        "nothing appended was lost"
    );
}

/// A move across filesystems killed while it removes its sources: the
/// resume finishes it (a resume keeps no identity of finished entries'
/// sources; a source whose bytes are exactly its durable copy's goes),
/// leaving every file once, at the destination.
#[cfg(feature = "fault-injection")]
#[test]
fn a_cross_filesystem_move_killed_while_removing_sources_is_finished_by_resume() {
    let tmp = tempfile::tempdir().unwrap();
    let Some(fast) = Tmpfs::mount(&tmp.path().join("tmpfs")) else {
        return;
    };
    let src = fast.0.join("d");
    many_files(&src, 100, 1);
    let before = contents(&src);
    let dst = tmp.path().join("dst");
    fs::create_dir(&dst).unwrap();
    let data = tmp.path().join("data");
    run_killed_at(
        ferry(&data).arg("move").arg(&src).arg(&dst),
        "after-source-removed:20",
    );
    let id = job_ids(&data).remove(0);
    let out = run(ferry(&data).arg("resume").arg(&id));
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(job_ids(&data).is_empty());
    assert_same(&before, &contents(&dst.join("d")), "every file moved");
    let left: Vec<_> = fs::read_dir(&src)
        .map(|r| r.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    assert!(left.iter().all(|p| p.is_dir()), "sources left: {left:?}");
}

/// A file owned by `uid`:`gid` with `mode`.
fn owned_file(path: &Path, uid: u32, gid: u32, mode: u32) {
    fs::write(path, b"#!/bin/sh\nid -u\n").unwrap();
    std::os::unix::fs::chown(path, Some(uid), Some(gid)).unwrap();
    fs::set_permissions(path, fs::Permissions::from_mode(mode)).unwrap();
}

#[test]
fn root_copies_keep_the_owner_and_never_make_setuid_root_files() {
    if !is_root() {
        eprintln!("skipped: ownership tests need root and a second user");
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    fs::set_permissions(tmp.path(), fs::Permissions::from_mode(0o755)).unwrap();
    let data = tmp.path().join("data");
    // A user's setuid program, copied by root: like `cp -a`, the copy
    // keeps its owner, so it never runs as root.
    let myid = tmp.path().join("myid");
    owned_file(&myid, NOBODY, NOBODY, 0o4755);
    let out = run(ferry(&data)
        .arg("copy")
        .arg(&myid)
        .arg(tmp.path().join("copy")));
    assert!(out.status.success(), "{}", stderr(&out));
    let copy = fs::metadata(tmp.path().join("copy")).unwrap();
    assert_eq!((copy.uid(), copy.gid()), (NOBODY, NOBODY));
    assert_eq!(copy.mode() & 0o7777, 0o4755);

    // Root's setuid and setgid programs, copied by a user: the owner cannot
    // be kept, so the set-ID bits go.
    let drop_dir = tmp.path().join("user-out");
    fs::create_dir(&drop_dir).unwrap();
    std::os::unix::fs::chown(&drop_dir, Some(NOBODY), Some(NOBODY)).unwrap();
    let suid = tmp.path().join("suid");
    owned_file(&suid, 0, 0, 0o6755);
    let user_data = tmp.path().join("user-data");
    fs::create_dir(&user_data).unwrap();
    std::os::unix::fs::chown(&user_data, Some(NOBODY), Some(NOBODY)).unwrap();
    let out = ferry(&user_data)
        .arg("copy")
        .arg(&suid)
        .arg(&drop_dir)
        .uid(NOBODY)
        .gid(NOBODY)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let copy = fs::metadata(drop_dir.join("suid")).unwrap();
    assert_eq!(copy.uid(), NOBODY);
    assert_eq!(copy.mode() & 0o7777, 0o0755, "set-ID bits dropped");

    // A setgid folder of root's group, copied by root: group kept.
    let shared = tmp.path().join("shared");
    fs::create_dir(&shared).unwrap();
    std::os::unix::fs::chown(&shared, Some(NOBODY), Some(NOBODY)).unwrap();
    fs::set_permissions(&shared, fs::Permissions::from_mode(0o2775)).unwrap();
    let out = run(ferry(&data)
        .arg("copy")
        .arg(&shared)
        .arg(tmp.path().join("shared2")));
    assert!(out.status.success(), "{}", stderr(&out));
    let copy = fs::metadata(tmp.path().join("shared2")).unwrap();
    assert_eq!((copy.uid(), copy.gid()), (NOBODY, NOBODY));
    assert_eq!(copy.mode() & 0o7777, 0o2775);
}

#[test]
fn a_root_cross_filesystem_move_keeps_the_owner() {
    let tmp = tempfile::tempdir().unwrap();
    let Some(fast) = Tmpfs::mount(&tmp.path().join("tmpfs")) else {
        return;
    };
    let private = fast.0.join("diary.txt");
    owned_file(&private, NOBODY, NOBODY, 0o600);
    let out = run(ferry(&tmp.path().join("data"))
        .arg("move")
        .arg(&private)
        .arg(tmp.path().join("diary.txt")));
    assert!(out.status.success(), "{}", stderr(&out));
    let moved = fs::metadata(tmp.path().join("diary.txt")).unwrap();
    assert_eq!(
        (moved.uid(), moved.gid(), moved.mode() & 0o7777),
        (NOBODY, NOBODY, 0o600)
    );
    assert!(!private.exists());
}

#[test]
fn extended_attributes_are_kept() {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("tagged");
    fs::write(&src, b"data").unwrap();
    if let Err(e) = rustix::fs::setxattr(
        &src,
        "user.ferry.test",
        b"kept",
        rustix::fs::XattrFlags::empty(),
    ) {
        eprintln!("skipped: this filesystem has no user extended attributes ({e})");
        return;
    }
    let out = run(ferry(&tmp.path().join("data"))
        .arg("copy")
        .arg(&src)
        .arg(tmp.path().join("copy")));
    assert!(out.status.success(), "{}", stderr(&out));
    let mut value = [0u8; 16];
    let n = rustix::fs::getxattr(tmp.path().join("copy"), "user.ferry.test", &mut value[..])
        .expect("the attribute was copied");
    assert_eq!(&value[..n], b"kept");
}

/// The journal file of the one unfinished job.
fn journal_file(data: &Path) -> PathBuf {
    let ids = job_ids(data);
    assert_eq!(ids.len(), 1, "one unfinished job");
    data.join("jobs").join(format!("{}.jsonl", ids[0]))
}

/// A destination tree an all-or-nothing job will overwrite in part.
fn existing_tree(dst: &Path) {
    fs::create_dir_all(dst.join("src/d000")).unwrap();
    for i in [0, 3, 6, 9, 30, 33, 57] {
        fs::write(
            dst.join(format!("src/d000/file{i:05}.dat")),
            format!("old {i}"),
        )
        .unwrap();
    }
    fs::write(dst.join("src/unrelated.txt"), b"unrelated").unwrap();
}

/// A crash that tore the journal's last line (a made-up fragment after the
/// last record), then a resume killed in turn, then rollback.
#[cfg(feature = "fault-injection")]
#[test]
fn a_torn_journal_then_a_killed_resume_then_rollback_restores_the_destination() {
    torn_then_killed_resume_then_rollback(|journal| {
        let mut file = File::options().append(true).open(journal).unwrap();
        file.write_all(b"0123456789abcdef {\"t\":\"done\",\"i\":4")
            .unwrap();
    });
}

/// Tears the journal's real last record: cuts `bytes` off its end (a crash
/// in the middle of writing it would leave the same).
fn tear_last_record(journal: &Path, bytes: u64) {
    let len = fs::metadata(journal).unwrap().len();
    let text = fs::read(journal).unwrap();
    let last_start = text[..text.len() - 1]
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |p| p + 1) as u64;
    let cut = bytes.min(len - last_start - 1).max(1);
    File::options()
        .write(true)
        .open(journal)
        .unwrap()
        .set_len(len - cut)
        .unwrap();
}

/// The review's three cases, each with the journal's real last record torn
/// after the kill: the act it described happened, but its record is gone.
/// Rollback must still leave the destination exactly as it was, with no
/// Ferry files, or refuse and keep the journal; never report success over
/// a changed destination.
#[cfg(feature = "fault-injection")]
#[test]
fn rollback_after_a_torn_last_record_leaves_the_destination_as_it_was() {
    // (existing destination?, crash point, bytes torn off the last record)
    let cases = [
        (true, "after-place:1", 1),
        (true, "after-place:1", 40),
        (false, "after-place:1", 1),
        (false, "after-place:1", 40),
        (true, "after-backup:1", 20),
        (true, "after-backup:1", 1),
    ];
    for (existing, point, torn) in cases {
        for resume_first in [false, true] {
            let what = format!(
                "existing {existing}, killed at {point}, {torn} bytes torn, resume first {resume_first}"
            );
            let tmp = tempfile::tempdir().unwrap();
            let src = tmp.path().join("src");
            let dst = tmp.path().join("dst");
            fs::create_dir_all(&src).unwrap();
            fs::create_dir_all(&dst).unwrap();
            fs::write(src.join("a"), b"new contents").unwrap();
            if existing {
                fs::write(dst.join("a"), b"old").unwrap();
            }
            fs::write(dst.join("unrelated"), b"unrelated").unwrap();
            let before = contents(&dst);
            let data = tmp.path().join("data");
            run_killed_at(
                ferry(&data)
                    .args(["copy", "--all-or-nothing", "--on-conflict", "overwrite"])
                    .arg(src.join("a"))
                    .arg(&dst),
                point,
            );
            tear_last_record(&journal_file(&data), torn);
            let id = job_ids(&data).remove(0);
            if resume_first {
                // The resume finishes the job: the file is the new one, the
                // rest as it was, and no Ferry file is left (no backup).
                let out = run(ferry(&data).arg("resume").arg(&id));
                assert!(out.status.success(), "{what}: {}", stderr(&out));
                assert!(job_ids(&data).is_empty(), "{what}");
                assert_eq!(fs::read(dst.join("a")).unwrap(), b"new contents", "{what}");
                assert_eq!(fs::read(dst.join("unrelated")).unwrap(), b"unrelated");
                assert!(leftovers(&dst).is_empty(), "{what}: {:?}", leftovers(&dst));
                continue;
            }
            {
                let out = run(ferry(&data).arg("rollback").arg(&id));
                if !out.status.success() {
                    // Refusing is allowed; then the journal is kept.
                    assert!(!job_ids(&data).is_empty(), "{what}: journal lost");
                    continue;
                }
            }
            assert_same(&before, &contents(&dst), &what);
            assert!(leftovers(&dst).is_empty(), "{what}: {:?}", leftovers(&dst));
        }
    }
}

/// The recipe with a real tear: the journal's real last record is
/// cut (its act was done), then a resume killed in turn, then rollback.
#[cfg(feature = "fault-injection")]
#[test]
fn a_really_torn_journal_then_a_killed_resume_then_rollback_restores_the_destination() {
    for torn in [1, 40] {
        torn_then_killed_resume_then_rollback(|journal| tear_last_record(journal, torn));
    }
}

/// An all-or-nothing overwrite of many files killed in its batches, its
/// journal torn by `tear`, a resume killed in turn, then rollback: the
/// destination is as it was, with no Ferry files, and the job is gone.
#[cfg(feature = "fault-injection")]
fn torn_then_killed_resume_then_rollback(tear: impl Fn(&Path)) {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("src");
    many_files(&src, 60, 3);
    let dst = tmp.path().join("dst");
    existing_tree(&dst);
    let before = contents(&dst);
    let data = tmp.path().join("data");
    run_killed_at(
        ferry(&data)
            .args(["copy", "--all-or-nothing", "--on-conflict", "overwrite"])
            .arg(&src)
            .arg(&dst),
        "after-place:15",
    );
    tear(&journal_file(&data));
    let id = job_ids(&data).remove(0);
    run_killed_at(ferry(&data).arg("resume").arg(&id), "after-place:12");
    let out = run(ferry(&data).arg("rollback").arg(&id));
    assert!(out.status.success(), "{}", stderr(&out));
    assert_same(&before, &contents(&dst), "the destination is as it was");
    assert!(leftovers(&dst).is_empty(), "{:?}", leftovers(&dst));
    assert!(job_ids(&data).is_empty());
}

#[cfg(feature = "fault-injection")]
#[test]
fn a_damaged_journal_is_never_deleted_by_rollback() {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("src");
    many_files(&src, 30, 3);
    let dst = tmp.path().join("dst");
    existing_tree(&dst);
    let data = tmp.path().join("data");
    run_killed_at(
        ferry(&data)
            .args(["copy", "--all-or-nothing", "--on-conflict", "overwrite"])
            .arg(&src)
            .arg(&dst),
        "after-place:10",
    );
    // Damage a record in the middle (a flipped checksum digit).
    let journal = journal_file(&data);
    let text = fs::read_to_string(&journal).unwrap();
    let mut lines: Vec<String> = text.lines().map(String::from).collect();
    let middle = lines.len() / 2;
    let flipped = if lines[middle].starts_with('0') {
        '1'
    } else {
        '0'
    };
    lines[middle].replace_range(0..1, &flipped.to_string());
    fs::write(&journal, lines.join("\n") + "\n").unwrap();
    let id = job_ids(&data).remove(0);
    let out = run(ferry(&data).arg("rollback").arg(&id));
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains("damaged"), "{}", stderr(&out));
    // It says which destinations it could not vouch for, by name.
    assert!(
        stderr(&out).contains("changed since the job started and may hold the job's files: '"),
        "{}",
        stderr(&out)
    );
    assert!(journal.exists(), "the journal is kept");
    let out = run(ferry(&data).arg("resume").arg(&id));
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        journal.exists(),
        "resume refuses a damaged journal and keeps it"
    );
}

#[cfg(feature = "fault-injection")]
#[test]
fn rollback_finds_a_numbered_name_taken_just_before_the_kill() {
    let tmp = tempfile::tempdir().unwrap();
    let dst = tmp.path().join("dst");
    fs::create_dir(&dst).unwrap();
    fs::write(dst.join("a.txt"), b"theirs").unwrap();
    fs::write(tmp.path().join("a.txt"), b"ours").unwrap();
    let before = contents(&dst);
    let data = tmp.path().join("data");
    run_killed_at(
        ferry(&data)
            .args(["copy", "--all-or-nothing", "--on-conflict", "rename"])
            .arg(tmp.path().join("a.txt"))
            .arg(&dst),
        "after-place",
    );
    assert!(dst.join("a (1).txt").exists(), "killed after the rename");
    let id = job_ids(&data).remove(0);
    let out = run(ferry(&data).arg("rollback").arg(&id));
    assert!(out.status.success(), "{}", stderr(&out));
    assert_same(&before, &contents(&dst), "a (1).txt is gone again");
}

#[cfg(feature = "fault-injection")]
#[test]
fn rollback_finds_a_backup_linked_just_before_the_kill() {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("src");
    many_files(&src, 12, 3);
    let dst = tmp.path().join("dst");
    existing_tree(&dst);
    let before = contents(&dst);
    let data = tmp.path().join("data");
    run_killed_at(
        ferry(&data)
            .args(["copy", "--all-or-nothing", "--on-conflict", "overwrite"])
            .arg(&src)
            .arg(&dst),
        "after-backup:2",
    );
    let id = job_ids(&data).remove(0);
    let out = run(ferry(&data).arg("rollback").arg(&id));
    assert!(out.status.success(), "{}", stderr(&out));
    assert_same(&before, &contents(&dst), "restored");
    assert!(
        leftovers(&dst).is_empty(),
        "no backup leaks: {:?}",
        leftovers(&dst)
    );
}

#[cfg(feature = "fault-injection")]
#[test]
fn rollback_removes_a_temp_the_journal_never_heard_of() {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("src");
    many_files(&src, 12, 3);
    let dst = tmp.path().join("dst");
    existing_tree(&dst);
    let before = contents(&dst);
    let data = tmp.path().join("data");
    run_killed_at(
        ferry(&data)
            .args(["copy", "--all-or-nothing", "--on-conflict", "overwrite"])
            .arg(&src)
            .arg(&dst),
        "temp-unjournaled:3",
    );
    assert!(!leftovers(&dst).is_empty(), "the kill left a temp");
    let id = job_ids(&data).remove(0);
    let out = run(ferry(&data).arg("rollback").arg(&id));
    assert!(out.status.success(), "{}", stderr(&out));
    assert_same(&before, &contents(&dst), "restored");
    assert!(leftovers(&dst).is_empty(), "{:?}", leftovers(&dst));
}

#[cfg(feature = "fault-injection")]
#[test]
fn resume_with_rename_does_not_copy_twice() {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("src");
    many_files(&src, 40, 2);
    let dst = tmp.path().join("dst");
    fs::create_dir(&dst).unwrap();
    // Every file conflicts, so every copy takes a numbered name.
    let copy = run(ferry(&tmp.path().join("first"))
        .arg("copy")
        .arg(&src)
        .arg(&dst));
    assert!(copy.status.success());
    let data = tmp.path().join("data");
    run_killed_at(
        ferry(&data)
            .args(["copy", "--on-conflict", "rename"])
            .arg(&src)
            .arg(&dst),
        "after-place:10",
    );
    let out = run(ferry(&data).arg("resume"));
    assert!(out.status.success(), "{}", stderr(&out));
    let names: Vec<String> = snapshot(&dst.join("src"))
        .into_keys()
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    assert!(
        names.iter().all(|n| !n.contains("(2)")),
        "copied twice: {names:?}"
    );
    assert_eq!(names.iter().filter(|n| n.contains("(1)")).count(), 40);
}

#[cfg(feature = "fault-injection")]
#[test]
fn a_same_filesystem_move_killed_after_a_rename_resumes_cleanly() {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("src");
    many_files(&src, 12, 1);
    let expected = contents(&src);
    let dst = tmp.path().join("dst");
    // The folder exists at the destination, so its files move one by one.
    fs::create_dir_all(dst.join("src/d000")).unwrap();
    let data = tmp.path().join("data");
    run_killed_at(
        ferry(&data).arg("move").arg(&src).arg(&dst),
        "after-move-rename:5",
    );
    let out = run(ferry(&data).arg("resume"));
    assert!(out.status.success(), "{}", stderr(&out));
    assert_same(&expected, &contents(&dst.join("src")), "everything moved");
    assert!(!src.exists(), "the emptied source folder went too");
}

#[test]
fn a_move_that_cannot_remove_its_source_says_so_and_exits_1() {
    let tmp = tempfile::tempdir().unwrap();
    let Some(ro) = Tmpfs::mount(&tmp.path().join("ro")) else {
        return;
    };
    fs::write(ro.0.join("f1"), b"data").unwrap();
    ro.remount_read_only();
    let out = run(ferry(&tmp.path().join("data"))
        .arg("move")
        .arg(ro.0.join("f1"))
        .arg(tmp.path().join("f1")));
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("could not be removed"),
        "{}",
        stderr(&out)
    );
    assert!(!stderr(&out).contains("moved 1 file"), "{}", stderr(&out));
    assert_eq!(fs::read(tmp.path().join("f1")).unwrap(), b"data");
}

#[test]
fn files_without_a_size_are_read_to_their_end() {
    let tmp = tempfile::tempdir().unwrap();
    let out = run(ferry(&tmp.path().join("data"))
        .arg("copy")
        .arg("/proc/version")
        .arg(tmp.path().join("version")));
    assert!(out.status.success(), "{}", stderr(&out));
    let expected = fs::read("/proc/version").unwrap();
    assert!(!expected.is_empty());
    assert_eq!(fs::read(tmp.path().join("version")).unwrap(), expected);
    let out = run(ferry(&tmp.path().join("data"))
        .arg("copy")
        .arg("/proc/cpuinfo")
        .arg(tmp.path().join("cpuinfo")));
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(fs::metadata(tmp.path().join("cpuinfo")).unwrap().len() > 0);
}

/// A sparse file of `len` bytes with a little data at three places.
fn sparse_file(path: &Path, len: u64) -> Vec<(u64, Vec<u8>)> {
    let file = File::create(path).unwrap();
    file.set_len(len).unwrap();
    let pieces = vec![
        (0, pattern(4096, 7)),
        (len / 2, pattern(2048, 8)),
        (len - 2048, pattern(2048, 9)),
    ];
    for (at, data) in &pieces {
        std::os::unix::fs::FileExt::write_all_at(&file, data, *at).unwrap();
    }
    pieces
}

fn assert_sparse_copy(src: &Path, copy: &Path, pieces: &[(u64, Vec<u8>)]) {
    let meta = fs::metadata(copy).unwrap();
    assert_eq!(meta.len(), fs::metadata(src).unwrap().len());
    assert!(
        meta.blocks() * 512 < 4 << 20,
        "the copy is sparse: {} bytes allocated",
        meta.blocks() * 512
    );
    let file = File::open(copy).unwrap();
    for (at, data) in pieces {
        let mut got = vec![0u8; data.len()];
        std::os::unix::fs::FileExt::read_exact_at(&file, &mut got, *at).unwrap();
        assert_eq!(&got, data, "data at {at}");
    }
    // A hole reads as zeros.
    let mut hole = vec![1u8; 4096];
    std::os::unix::fs::FileExt::read_exact_at(&file, &mut hole, 1 << 20).unwrap();
    assert!(hole.iter().all(|&b| b == 0));
}

#[test]
fn a_10_gib_sparse_file_copies_quickly_and_stays_sparse() {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("disk.img");
    let pieces = sparse_file(&src, 10 << 30);
    if fs::metadata(&src).unwrap().blocks() * 512 > 1 << 20 {
        eprintln!("skipped: this filesystem does not keep holes");
        return;
    }
    let out = run(ferry(&tmp.path().join("data"))
        .arg("copy")
        .arg(&src)
        .arg(tmp.path().join("copy.img")));
    assert!(out.status.success(), "{}", stderr(&out));
    assert_sparse_copy(&src, &tmp.path().join("copy.img"), &pieces);
}

#[cfg(feature = "fault-injection")]
#[test]
fn sparse_files_stay_sparse_on_the_buffered_and_verified_paths() {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("disk.img");
    let pieces = sparse_file(&src, 64 << 20);
    if fs::metadata(&src).unwrap().blocks() * 512 > 1 << 20 {
        eprintln!("skipped: this filesystem does not keep holes");
        return;
    }
    let buffered = run(ferry(&tmp.path().join("data"))
        .arg("copy")
        .arg(&src)
        .arg(tmp.path().join("buffered.img"))
        .env("FERRY_FAULT_BUFFERED", "1"));
    assert!(buffered.status.success(), "{}", stderr(&buffered));
    assert_sparse_copy(&src, &tmp.path().join("buffered.img"), &pieces);
    let verified = run(ferry(&tmp.path().join("data"))
        .args(["copy", "--verify"])
        .arg(&src)
        .arg(tmp.path().join("verified.img")));
    assert!(verified.status.success(), "{}", stderr(&verified));
    assert_sparse_copy(&src, &tmp.path().join("verified.img"), &pieces);
}

#[test]
fn hard_links_inside_a_job_stay_links_and_symlinks_keep_their_times() {
    for extra in [0, 30] {
        let tmp = tempfile::tempdir().unwrap();
        let src = tmp.path().join("src");
        fs::create_dir_all(src.join("sub")).unwrap();
        fs::write(src.join("a"), b"shared").unwrap();
        fs::hard_link(src.join("a"), src.join("b")).unwrap();
        fs::hard_link(src.join("a"), src.join("sub/c")).unwrap();
        fs::write(src.join("d"), b"shared").unwrap();
        // Enough other files to go through batches in the second round.
        for i in 0..extra {
            fs::write(src.join(format!("x{i:03}")), b"x").unwrap();
        }
        std::os::unix::fs::symlink("a", src.join("link")).unwrap();
        let old = rustix::fs::Timestamps {
            last_access: rustix::fs::Timespec {
                tv_sec: 1_000_000_000,
                tv_nsec: 0,
            },
            last_modification: rustix::fs::Timespec {
                tv_sec: 1_000_000_000,
                tv_nsec: 0,
            },
        };
        rustix::fs::utimensat(
            rustix::fs::CWD,
            src.join("link"),
            &old,
            rustix::fs::AtFlags::SYMLINK_NOFOLLOW,
        )
        .unwrap();
        let out = run(ferry(&tmp.path().join("data"))
            .arg("copy")
            .arg(&src)
            .arg(tmp.path().join("dst")));
        assert!(out.status.success(), "{}", stderr(&out));
        let ino = |p: &str| fs::metadata(tmp.path().join("dst").join(p)).unwrap().ino();
        assert_eq!(ino("a"), ino("b"), "round {extra}");
        assert_eq!(ino("a"), ino("sub/c"), "round {extra}");
        assert_ne!(ino("a"), ino("d"), "round {extra}");
        assert_eq!(fs::read(tmp.path().join("dst/sub/c")).unwrap(), b"shared");
        let link = fs::symlink_metadata(tmp.path().join("dst/link")).unwrap();
        assert_eq!(link.mtime(), 1_000_000_000, "the link's own time");
    }
}

#[test]
fn a_trailing_dot_copies_a_folders_contents_like_cp() {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("src");
    fs::create_dir_all(src.join("inner")).unwrap();
    fs::write(src.join("a"), b"a").unwrap();
    fs::write(src.join("inner/b"), b"b").unwrap();
    let dst = tmp.path().join("dst");
    fs::create_dir(&dst).unwrap();
    let mut dotted = src.clone().into_os_string();
    dotted.push("/.");
    let out = run(ferry(&tmp.path().join("data"))
        .arg("copy")
        .arg(&dotted)
        .arg(&dst));
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(fs::read(dst.join("a")).unwrap(), b"a");
    assert_eq!(fs::read(dst.join("inner/b")).unwrap(), b"b");
    assert!(!dst.join("src").exists());
    // A trailing slash changes nothing: the folder itself goes inside.
    let mut slashed = src.clone().into_os_string();
    slashed.push("/");
    let dst2 = tmp.path().join("dst2");
    fs::create_dir(&dst2).unwrap();
    let out = run(ferry(&tmp.path().join("data"))
        .arg("copy")
        .arg(&slashed)
        .arg(&dst2));
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(fs::read(dst2.join("src/a")).unwrap(), b"a");
}

#[test]
fn messages_say_what_happened() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let out = run(ferry(&data).args(["resume", "0123456789ab"]));
    assert_eq!(out.status.code(), Some(1));
    assert!(!stderr(&out).contains("save"), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("no unfinished job"),
        "{}",
        stderr(&out)
    );

    fs::write(tmp.path().join("a"), b"a").unwrap();
    let file_as_data = tmp.path().join("not-a-folder");
    fs::write(&file_as_data, b"").unwrap();
    let out = run(ferry(&file_as_data)
        .arg("copy")
        .arg(tmp.path().join("a"))
        .arg(tmp.path().join("b")));
    assert_eq!(out.status.code(), Some(1));
    assert!(
        !stderr(&out).contains("conflict policy"),
        "{}",
        stderr(&out)
    );

    let long = tmp.path().join("x".repeat(300));
    let out = run(ferry(&data)
        .arg("copy")
        .arg(tmp.path().join("a"))
        .arg(&long));
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("too long"), "{}", stderr(&out));
}

#[test]
fn many_files_failing_for_one_reason_are_one_message() {
    if !is_root() {
        // As a user, a read-only folder is enough; as root (CI) it takes a
        // second user, below.
        eprintln!("note: running the grouped-failure check as the current user");
    }
    let tmp = tempfile::tempdir().unwrap();
    fs::set_permissions(tmp.path(), fs::Permissions::from_mode(0o755)).unwrap();
    let src = tmp.path().join("src");
    many_files(&src, 40, 1);
    let dst = tmp.path().join("dst");
    fs::create_dir_all(dst.join("src/d000")).unwrap();
    fs::set_permissions(dst.join("src/d000"), fs::Permissions::from_mode(0o555)).unwrap();
    let data = tmp.path().join("data");
    fs::create_dir(&data).unwrap();
    let mut cmd = ferry(&data);
    cmd.arg("copy").arg(&src).arg(&dst);
    if is_root() {
        for dir in [&data, &dst, &dst.join("src")] {
            std::os::unix::fs::chown(dir, Some(NOBODY), Some(NOBODY)).unwrap();
        }
        cmd.uid(NOBODY).gid(NOBODY);
    }
    let out = cmd.output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let lines = stderr(&out).lines().count();
    assert!(lines <= 4, "{lines} lines:\n{}", stderr(&out));
    assert!(stderr(&out).contains("40 files failed"), "{}", stderr(&out));
}

/// A batch large enough to be pipelined (one part staged while the one
/// before it is made durable and committed), killed in its third part:
/// the resume leaves exactly the source's files and no temp behind, both
/// for the parts committed and for the part that was being staged.
#[cfg(feature = "fault-injection")]
#[test]
fn a_pipelined_batch_killed_in_its_third_part_resumes_exactly() {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("src");
    many_files(&src, 1000, 4);
    let dst = tmp.path().join("dst");
    let data = tmp.path().join("data");
    run_killed_at(
        ferry(&data).arg("copy").arg(&src).arg(&dst),
        "after-place:600",
    );
    assert!(
        !leftovers(&dst).is_empty() || contents(&dst).len() < 1000,
        "the kill came before the job ended"
    );
    let out = run(ferry(&data).arg("resume"));
    assert!(out.status.success(), "{}", stderr(&out));
    assert_same(&contents(&src), &contents(&dst), "the copy is whole");
    assert!(leftovers(&dst).is_empty(), "{:?}", leftovers(&dst));
    assert!(job_ids(&data).is_empty());
}

/// Symbolic links go through batches too (one journal flush before their
/// renames, one folder flush after): killed while a batch of links is
/// being journaled done, the resume leaves exactly the source's tree (no
/// link refused as "already exists") and no temp.
#[cfg(feature = "fault-injection")]
#[test]
fn a_batch_of_symlinks_killed_half_way_resumes_exactly() {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("src");
    many_files(&src, 40, 2);
    for i in 0..30 {
        std::os::unix::fs::symlink(format!("d000/target-{i}"), src.join(format!("link{i:02}")))
            .unwrap();
    }
    let dst = tmp.path().join("dst");
    let data = tmp.path().join("data");
    // The 40 files are placed first, then the links, all renamed and
    // flushed before the first is journaled done: killed there, 15 links
    // are done in the journal and 15 only recognisable by identity.
    run_killed_at(
        ferry(&data).arg("copy").arg(&src).arg(&dst),
        "after-place:55",
    );
    assert_eq!(job_ids(&data).len(), 1, "the job stays journaled");
    let out = run(ferry(&data).arg("resume"));
    assert!(out.status.success(), "{}", stderr(&out));
    assert_same(&contents(&src), &contents(&dst), "the copy is whole");
    for i in 0..30 {
        let link = dst.join(format!("link{i:02}"));
        assert_eq!(
            fs::read_link(&link).unwrap(),
            Path::new(&format!("d000/target-{i}"))
        );
    }
    assert!(leftovers(&dst).is_empty(), "{:?}", leftovers(&dst));
    assert!(job_ids(&data).is_empty());
}

/// `ferry jobs` counts files, as the window does: folders are not files.
#[cfg(feature = "fault-injection")]
#[test]
fn jobs_count_files_not_folders() {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("src");
    many_files(&src, 12, 3);
    let data = tmp.path().join("data");
    run_killed_at(
        ferry(&data)
            .args(["copy", "--all-or-nothing"])
            .arg(&src)
            .arg(tmp.path().join("dst")),
        "after-place:5",
    );
    let out = run(ferry(&data).args(["jobs", "--json"]));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let job = &doc["jobs"][0];
    assert_eq!(job["total"], 12, "{doc}");
    assert!(job["done"].as_u64().unwrap() <= 5, "{doc}");
}

/// A move killed after its copy was durable and before its source was
/// removed, whose copy is then lost (deleted, or another drive plugged in
/// its place): resume copies it again and ends the move. It used to keep
/// the source, blame it ("cannot tell whether it changed") and drop the job.
#[cfg(feature = "fault-injection")]
#[test]
fn a_move_whose_finished_copy_is_gone_is_copied_again_on_resume() {
    // Across filesystems (within one, a move is a rename).
    let Some(other) = mounts::tmpfs() else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("src");
    fs::create_dir(&src).unwrap();
    fs::write(src.join("a.bin"), b"the only copy").unwrap();
    let dst = other.path().join("dst");
    fs::create_dir(&dst).unwrap();
    let data = tmp.path().join("data");
    run_killed_at(
        ferry(&data).arg("move").arg(src.join("a.bin")).arg(&dst),
        "before-source-removal:1",
    );
    assert!(src.join("a.bin").exists());
    fs::remove_file(dst.join("a.bin")).unwrap();
    let out = run(ferry(&data).arg("resume"));
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains("copied again"), "{}", stderr(&out));
    assert_eq!(fs::read(dst.join("a.bin")).unwrap(), b"the only copy");
    assert!(!src.join("a.bin").exists(), "the move ends");
    assert!(job_ids(&data).is_empty());
}
