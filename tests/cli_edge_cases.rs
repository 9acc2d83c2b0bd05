//! Edge cases an audit of issue 9 found, each run through the `ferry`
//! binary on real files: kernel files whose size is not their length, a
//! destination where no folder can be made, a move of a folder's contents,
//! the free-space check of sparse files.

mod support;

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Output;

use support::*;

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// sysfs says every file is 4096 bytes long; a copy holds exactly what
/// reading the file gives (like `cp`), not that padded with zeros, by
/// itself, verified, and in a batch of small files.
#[test]
fn sysfs_files_copy_exactly_their_contents() {
    let lo = Path::new("/sys/class/net/lo");
    if !lo.join("address").is_file() {
        eprintln!("skipped: no /sys/class/net/lo/address here");
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let expected = fs::read(lo.join("address")).unwrap();
    assert!(expected.len() < 4096);
    for verify in [false, true] {
        let copy = tmp.path().join(format!("address-{verify}"));
        let mut cmd = ferry(&data);
        cmd.arg("copy").arg(lo.join("address")).arg(&copy);
        if verify {
            cmd.arg("--verify");
        }
        let out = run(&mut cmd);
        assert!(out.status.success(), "{}", stderr(&out));
        let got = fs::read(&copy).unwrap();
        assert!(
            got == expected,
            "--verify: {verify}: {} bytes copied, {} expected",
            got.len(),
            expected.len()
        );
    }

    // Enough small files for a batch (those this machine lets one read).
    let names = [
        "addr_assign_type",
        "addr_len",
        "address",
        "broadcast",
        "dev_id",
        "dev_port",
        "flags",
        "ifindex",
        "iflink",
        "link_mode",
        "mtu",
        "netdev_group",
        "operstate",
        "tx_queue_len",
        "type",
        "uevent",
        "name_assign_type",
        "carrier_changes",
    ];
    let readable: Vec<_> = names
        .iter()
        .map(|n| lo.join(n))
        .filter(|p| fs::read(p).is_ok())
        .collect();
    let out_dir = tmp.path().join("many");
    fs::create_dir(&out_dir).unwrap();
    let out = run(ferry(&data).arg("copy").args(&readable).arg(&out_dir));
    assert!(out.status.success(), "{}", stderr(&out));
    for path in &readable {
        let copy = out_dir.join(path.file_name().unwrap());
        let (got, expected) = (fs::read(&copy).unwrap(), fs::read(path).unwrap());
        assert!(
            got == expected,
            "{}: {} bytes copied, {} expected",
            path.display(),
            got.len(),
            expected.len()
        );
    }
}

/// A destination where no folder can be made: the folder's failure and its
/// files' are one message each, not one more warning per folder ("could not
/// set permissions or times … it does not exist", "kept the folder …"), and
/// a move keeps every source, empty folders included.
#[test]
fn a_read_only_destination_is_reported_once_not_per_folder() {
    let tmp = tempfile::tempdir().unwrap();
    let mounted;
    let dst = if is_root() {
        let Some(ro) = mounts::tmpfs() else {
            return;
        };
        fs::create_dir(ro.path().join("dst")).unwrap();
        if !ro.remount_read_only() {
            eprintln!("skipped: could not remount a tmpfs read-only");
            return;
        }
        mounted = ro;
        mounted.path().join("dst")
    } else {
        let dst = tmp.path().join("dst");
        fs::create_dir(&dst).unwrap();
        fs::set_permissions(&dst, fs::Permissions::from_mode(0o555)).unwrap();
        dst
    };
    let src = tmp.path().join("src");
    for i in 0..100 {
        let dir = src.join(format!("d{i:03}"));
        fs::create_dir_all(&dir).unwrap();
        fs::write(dir.join("f"), format!("{i}\n")).unwrap();
    }
    fs::create_dir(src.join("empty")).unwrap();
    let before = snapshot(&src);
    for verb in ["copy", "move"] {
        let out = run(ferry(&tmp.path().join("data"))
            .arg(verb)
            .arg(&src)
            .arg(&dst));
        let text = stderr(&out);
        assert_eq!(out.status.code(), Some(1), "{verb}: {text}");
        assert!(text.lines().count() <= 4, "{verb}: {text}");
        assert!(!text.contains("does not exist"), "{verb}: {text}");
        assert!(!text.contains("kept the folder"), "{verb}: {text}");
        assert_same(&before, &snapshot(&src), "the sources");
    }
}

/// `ferry move src/. dst` moves the folder's contents and leaves `src`
/// itself, empty, without a warning that it was kept.
#[test]
fn moving_a_folders_contents_leaves_the_folder_without_a_warning() {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("src");
    fs::create_dir_all(src.join("sub")).unwrap();
    fs::write(src.join("a"), b"a").unwrap();
    fs::write(src.join("sub/b"), b"b").unwrap();
    let out = run(ferry(&tmp.path().join("data"))
        .arg("move")
        .arg(format!("{}/.", src.display()))
        .arg(tmp.path().join("newdst")));
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(!stderr(&out).contains("warning"), "{}", stderr(&out));
    assert_eq!(fs::read(tmp.path().join("newdst/sub/b")).unwrap(), b"b");
    assert!(src.is_dir());
    assert_eq!(fs::read_dir(&src).unwrap().count(), 0);
}

/// The free-space check counts what a sparse file takes (its data), not
/// its size: a 1 GiB file with 64 KiB of data fits a 64 MiB drive, even
/// all-or-nothing (which refuses a job that does not fit).
#[test]
fn the_free_space_check_counts_what_sparse_files_take() {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("disk.img");
    let file = fs::File::create(&src).unwrap();
    file.set_len(1 << 30).unwrap();
    {
        use std::os::unix::fs::FileExt;
        file.write_all_at(&[7u8; 64 << 10], 512 << 20).unwrap();
    }
    drop(file);
    {
        use std::os::unix::fs::MetadataExt;
        if fs::metadata(&src).unwrap().blocks() * 512 >= 1 << 30 {
            eprintln!("skipped: this filesystem does not keep holes");
            return;
        }
    }
    let Some(small) = mounts::tmpfs() else {
        return;
    };
    let out = run(ferry(&tmp.path().join("data"))
        .arg("copy")
        .arg("--all-or-nothing")
        .arg(&src)
        .arg(small.path()));
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(!stderr(&out).contains("is free"), "{}", stderr(&out));
    assert_eq!(
        fs::metadata(small.path().join("disk.img")).unwrap().len(),
        1 << 30
    );
}
