//! Moves within one filesystem by the largest rename that is safe: a folder
//! whose destination name is free is moved whole by one rename (the tree
//! appears at once, as with `mv`), journaled first, and a kill right after
//! that rename is recognised by `ferry resume`.

mod support;

use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::process::Command;

use support::*;

#[test]
fn a_folder_whose_name_is_free_moves_by_one_rename() {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("photos");
    many_files(&src, 300, 10);
    let expected = snapshot(&src);
    let inode = fs::metadata(&src).unwrap().ino();
    let out = run(ferry(&tmp.path().join("data"))
        .arg("move")
        .arg(&src)
        .arg(tmp.path().join("moved")));
    assert!(out.status.success());
    let moved = tmp.path().join("moved");
    assert_eq!(
        fs::metadata(&moved).unwrap().ino(),
        inode,
        "the folder itself was renamed, not rebuilt file by file"
    );
    assert_same(&expected, &snapshot(&moved), "moved whole");
    assert!(!src.exists());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("moved 300 files"), "{stderr}");
}

#[test]
fn merging_into_an_existing_folder_moves_free_subfolders_whole() {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("photos");
    many_files(&src, 60, 3);
    let dst = tmp.path().join("dst");
    fs::create_dir_all(dst.join("photos/d001")).unwrap();
    fs::write(dst.join("photos/keep.txt"), b"theirs").unwrap();
    let expected = snapshot(&src);
    let inode = fs::metadata(src.join("d000")).unwrap().ino();
    let out = run(ferry(&tmp.path().join("data"))
        .arg("move")
        .arg(&src)
        .arg(&dst));
    assert!(out.status.success());
    assert_eq!(fs::metadata(dst.join("photos/d000")).unwrap().ino(), inode);
    let mut got = snapshot(&dst.join("photos"));
    got.remove(std::path::Path::new("keep.txt"));
    assert_same(&expected, &got, "merged");
    assert!(!src.exists());
}

#[cfg(feature = "fault-injection")]
#[test]
fn a_kill_right_after_a_whole_folder_rename_is_recognised_by_resume() {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("photos");
    many_files(&src, 120, 4);
    let expected = snapshot(&src);
    let data = tmp.path().join("data");
    let out = ferry(&data)
        .arg("move")
        .arg(&src)
        .arg(tmp.path().join("moved"))
        .env("FERRY_FAULT_KILL_AT", "after-move-rename")
        .output()
        .unwrap();
    use std::os::unix::process::ExitStatusExt;
    assert_eq!(out.status.signal(), Some(9));
    let resumed = run(ferry(&data).arg("resume"));
    assert!(resumed.status.success());
    let stderr = String::from_utf8_lossy(&resumed.stderr);
    assert!(
        stderr.contains("120 files done before the interruption"),
        "{stderr}"
    );
    assert_same(&expected, &snapshot(&tmp.path().join("moved")), "moved");
    assert!(!src.exists());
    assert!(job_ids(&data).is_empty());
}

#[test]
fn move_within_a_filesystem_renames_everything() {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("src");
    rich_tree(&src);
    let expected = snapshot(&src);
    let out = run(ferry(&tmp.path().join("data"))
        .arg("move")
        .arg(&src)
        .arg(tmp.path().join("moved")));
    assert!(out.status.success());
    assert_same(
        &expected,
        &snapshot(&tmp.path().join("moved")),
        "moved tree",
    );
    assert!(!src.exists(), "the source tree is gone");
    assert!(leftovers(tmp.path()).is_empty());
}

#[test]
fn a_failing_move_keeps_every_source_it_did_not_commit() {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("src");
    rich_tree(&src);
    let expected = snapshot(&src);
    // A folder in the way of one file makes that file fail.
    let dst = tmp.path().join("dst");
    fs::create_dir_all(dst.join("src/docs/readme.md")).unwrap();
    let out = run(ferry(&tmp.path().join("data"))
        .arg("move")
        .arg(&src)
        .arg(&dst));
    assert_eq!(out.status.code(), Some(1));
    assert!(
        src.join("docs/readme.md").is_file(),
        "the failed file's source stays"
    );
    // Every file is somewhere, whole: at the source or at the destination.
    for (rel, node) in &expected {
        if let NodeKind::File { hash } = &node.kind {
            let at_src = src.join(rel);
            let at_dst = dst.join("src").join(rel);
            let found = [at_src, at_dst]
                .into_iter()
                .filter(|p| p.is_file())
                .map(|p| blake3::hash(&fs::read(p).unwrap()))
                .any(|h| &h == hash);
            assert!(found, "{} was lost", rel.display());
        }
    }
}

/// Mounts a small tmpfs at `at` (root only); unmounted on drop.
struct Tmpfs(std::path::PathBuf);

impl Tmpfs {
    fn mount(at: &Path) -> Option<Self> {
        if !is_root() {
            return None;
        }
        fs::create_dir_all(at).unwrap();
        let ok = Command::new("mount")
            .args(["-t", "tmpfs", "-o", "size=64m", "tmpfs"])
            .arg(at)
            .status()
            .is_ok_and(|s| s.success());
        ok.then(|| Self(at.to_path_buf()))
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}

#[test]
fn move_across_filesystems_copies_then_deletes() {
    let tmp = tempfile::tempdir().unwrap();
    let Some(mnt) = Tmpfs::mount(&tmp.path().join("mnt")) else {
        eprintln!("skipped: mounting a tmpfs needs root");
        return;
    };
    let src = tmp.path().join("src");
    rich_tree(&src);
    let expected = snapshot(&src);
    let out = run(ferry(&tmp.path().join("data"))
        .args(["move", "--verify"])
        .arg(&src)
        .arg(mnt.0.join("moved")));
    assert!(out.status.success());
    assert_same(&expected, &snapshot(&mnt.0.join("moved")), "moved tree");
    assert!(!src.exists());
    assert!(leftovers(&mnt.0).is_empty() && leftovers(tmp.path()).is_empty());
}

#[test]
fn a_move_across_filesystems_that_runs_out_of_space_loses_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let Some(mnt) = Tmpfs::mount(&tmp.path().join("mnt")) else {
        eprintln!("skipped: mounting a tmpfs needs root");
        return;
    };
    // 80 files of 1 MiB into a 64 MiB tmpfs: it fills up part-way.
    let src = tmp.path().join("src");
    fs::create_dir(&src).unwrap();
    for i in 0..80 {
        fs::write(src.join(format!("f{i:02}")), pattern(1 << 20, i)).unwrap();
    }
    let expected = snapshot(&src);
    let out = run(ferry(&tmp.path().join("data"))
        .arg("move")
        .arg(&src)
        .arg(mnt.0.join("moved")));
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("no space left"), "{stderr}");
    let moved = mnt.0.join("moved");
    let mut moved_count = 0;
    for (rel, node) in &expected {
        let NodeKind::File { hash } = &node.kind else {
            continue;
        };
        let here = src.join(rel);
        let there = moved.join(rel);
        let hash_of = |p: &Path| blake3::hash(&fs::read(p).unwrap());
        match (here.exists(), there.exists()) {
            (true, false) => assert_eq!(&hash_of(&here), hash),
            (false, true) => {
                moved_count += 1;
                assert_eq!(&hash_of(&there), hash)
            }
            (a, b) => panic!("{}: at source {a}, at destination {b}", rel.display()),
        }
    }
    assert!(moved_count > 0 && moved_count < 80, "moved {moved_count}");
    assert!(
        leftovers(&mnt.0).is_empty(),
        "no temp left on the full disk"
    );
}
