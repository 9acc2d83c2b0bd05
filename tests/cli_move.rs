//! Moves within one filesystem by the largest rename that is safe: a folder
//! whose destination name is free is moved whole by one rename (the tree
//! appears at once, as with `mv`), journaled first, and a kill right after
//! that rename is recognised by `ferry resume`.

mod engine_support;

use std::fs;
use std::os::unix::fs::MetadataExt;

use engine_support::*;

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
