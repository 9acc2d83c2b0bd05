//! Folder copies through the real binary: the copy equals the source in
//! contents, modes, mtimes and links; `cp -r` placement; refusals.

mod support;

use std::fs;

use support::*;

#[test]
fn copied_tree_equals_source() {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("src");
    rich_tree(&src);
    let out = run(ferry(&tmp.path().join("data"))
        .arg("copy")
        .arg(&src)
        .arg(tmp.path().join("copy")));
    assert!(out.status.success());
    assert_same(&snapshot(&src), &snapshot(&tmp.path().join("copy")), "copy");
    assert!(leftovers(tmp.path()).is_empty());
    let jobs = tmp.path().join("data/jobs");
    assert_eq!(fs::read_dir(jobs).unwrap().count(), 0, "journal removed");
}

#[test]
fn folder_into_existing_folder_nests_like_cp() {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("photos");
    rich_tree(&src);
    let dst = tmp.path().join("dst");
    fs::create_dir(&dst).unwrap();
    fs::write(tmp.path().join("loose.txt"), b"loose").unwrap();
    let out = run(ferry(&tmp.path().join("data"))
        .arg("copy")
        .arg(&src)
        .arg(tmp.path().join("loose.txt"))
        .arg(&dst));
    assert!(out.status.success());
    assert_same(&snapshot(&src), &snapshot(&dst.join("photos")), "copy");
    assert_eq!(fs::read(dst.join("loose.txt")).unwrap(), b"loose");
}

#[test]
fn special_files_are_skipped_with_a_warning() {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("src");
    fs::create_dir(&src).unwrap();
    fs::write(src.join("a"), b"a").unwrap();
    let fifo = src.join("pipe");
    assert!(
        std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success()
    );
    let out = run(ferry(&tmp.path().join("data"))
        .arg("copy")
        .arg(&src)
        .arg(tmp.path().join("out")));
    assert!(out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("pipe") && stderr.contains("FIFO"),
        "{stderr}"
    );
    assert!(tmp.path().join("out/a").exists());
    assert!(!tmp.path().join("out/pipe").exists());
}

#[test]
fn destination_inside_source_is_refused_before_writing() {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("src");
    rich_tree(&src);
    let before = snapshot(&src);
    let out = run(ferry(&tmp.path().join("data"))
        .arg("copy")
        .arg(&src)
        .arg(src.join("docs/inner")));
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("inside the source"), "{stderr}");
    assert_same(&before, &snapshot(&src), "source");
}

#[test]
fn merging_into_an_existing_tree_applies_the_policy() {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("src");
    rich_tree(&src);
    let dst = tmp.path().join("dst");
    fs::create_dir_all(dst.join("src/docs")).unwrap();
    fs::write(dst.join("src/docs/readme.md"), b"mine").unwrap();
    let data = tmp.path().join("data");
    // Default policy: the existing file fails, the rest is copied.
    let out = run(ferry(&data).arg("copy").arg(&src).arg(&dst));
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(fs::read(dst.join("src/docs/readme.md")).unwrap(), b"mine");
    assert!(dst.join("src/docs/big.bin").exists());
    // Skip: exit 0, still mine.
    let out = run(ferry(&data)
        .args(["copy", "--on-conflict", "skip"])
        .arg(&src)
        .arg(&dst));
    assert!(out.status.success());
    assert_eq!(fs::read(dst.join("src/docs/readme.md")).unwrap(), b"mine");
    // Overwrite: equal to the source.
    let out = run(ferry(&data)
        .args(["copy", "--on-conflict", "overwrite"])
        .arg(&src)
        .arg(&dst));
    assert!(out.status.success());
    assert_same(
        &snapshot(&src),
        &snapshot(&dst.join("src")),
        "overwritten copy",
    );
    assert!(leftovers(tmp.path()).is_empty());
}
