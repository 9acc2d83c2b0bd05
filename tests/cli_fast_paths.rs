//! The copy fast paths and their fallbacks: `copy_file_range` within a
//! filesystem, a reflink on a filesystem that clones (a loop-mounted btrfs,
//! when root), a buffered copy otherwise; the summary names the path used.
#![cfg(target_os = "linux")]

mod support;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use support::*;

/// Copies `src` to `dest` with the real binary; returns the summary line.
fn copy(data: &Path, src: &Path, dest: &Path, env: &[(&str, &str)]) -> String {
    let mut cmd = ferry(data);
    cmd.arg("copy").arg(src).arg(dest);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = run(&mut cmd);
    assert!(out.status.success());
    assert_eq!(fs::read(src).unwrap(), fs::read(dest).unwrap());
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn within_a_filesystem_the_kernel_copies() {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("a.bin");
    fs::write(&src, pattern((9 << 20) + 5, 1)).unwrap();
    let summary = copy(
        &tmp.path().join("data"),
        &src,
        &tmp.path().join("b.bin"),
        &[],
    );
    // On a filesystem that clones (btrfs, XFS) a reflink comes first.
    assert!(
        summary.contains("by copy_file_range") || summary.contains("by reflink"),
        "{summary}"
    );
}

#[cfg(feature = "fault-injection")]
#[test]
fn the_buffered_copy_is_the_fallback() {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("a.bin");
    fs::write(&src, pattern((5 << 20) + 3, 2)).unwrap();
    let dest = tmp.path().join("b.bin");
    let summary = copy(
        &tmp.path().join("data"),
        &src,
        &dest,
        &[("FERRY_FAULT_BUFFERED", "1")],
    );
    assert!(summary.contains("by buffered copy"), "{summary}");
}

#[test]
fn verified_copies_read_through_a_buffer() {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("a.bin");
    fs::write(&src, pattern(3 << 20, 3)).unwrap();
    let dest = tmp.path().join("b.bin");
    let out = run(ferry(&tmp.path().join("data"))
        .args(["copy", "--verify"])
        .arg(&src)
        .arg(&dest));
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("by buffered copy"));
    assert_eq!(fs::read(&src).unwrap(), fs::read(&dest).unwrap());
}

/// A filesystem image mounted on a loop device; unmounted on drop.
struct LoopMount {
    dir: PathBuf,
}

impl LoopMount {
    fn btrfs(under: &Path) -> Option<Self> {
        if !is_root() {
            eprintln!("skipped: mounting a btrfs image needs root");
            return None;
        }
        let image = under.join("fs.img");
        let dir = under.join("mnt");
        fs::create_dir_all(&dir).unwrap();
        fs::File::create(&image)
            .unwrap()
            .set_len(300 << 20)
            .unwrap();
        let made = Command::new("mkfs.btrfs").arg("-q").arg(&image).output();
        if !made.is_ok_and(|o| o.status.success()) {
            eprintln!("skipped: mkfs.btrfs is not installed (apt-get install btrfs-progs)");
            return None;
        }
        let mounted = Command::new("mount")
            .args(["-o", "loop"])
            .arg(&image)
            .arg(&dir)
            .status();
        if !mounted.is_ok_and(|s| s.success()) {
            eprintln!("skipped: loop devices cannot be mounted here");
            return None;
        }
        Some(Self { dir })
    }
}

impl Drop for LoopMount {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.dir).status();
    }
}

#[test]
fn on_btrfs_files_are_cloned() {
    let tmp = tempfile::tempdir().unwrap();
    let Some(mnt) = LoopMount::btrfs(tmp.path()) else {
        return;
    };
    let src = mnt.dir.join("a.bin");
    fs::write(&src, pattern(6 << 20, 4)).unwrap();
    let summary = copy(&tmp.path().join("data"), &src, &mnt.dir.join("b.bin"), &[]);
    assert!(summary.contains("by reflink"), "{summary}");
    assert!(leftovers(&mnt.dir).is_empty());
}

#[test]
fn across_filesystems_the_copy_falls_back() {
    let tmp = tempfile::tempdir().unwrap();
    let Some(mnt) = LoopMount::btrfs(tmp.path()) else {
        return;
    };
    // Source on the work filesystem, destination on the btrfs: no clone is
    // possible; the kernel copy or the buffered copy takes over.
    let src = tmp.path().join("a.bin");
    fs::write(&src, pattern((4 << 20) + 1, 5)).unwrap();
    let summary = copy(&tmp.path().join("data"), &src, &mnt.dir.join("b.bin"), &[]);
    assert!(
        summary.contains("by copy_file_range") || summary.contains("by buffered copy"),
        "{summary}"
    );
    assert!(!summary.contains("reflink"), "{summary}");
}
