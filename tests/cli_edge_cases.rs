//! Edge cases an audit of issue 9 found, each run through the `ferry`
//! binary on real files: kernel files whose size is not their length, a
//! destination where no folder can be made, a move of a folder's contents,
//! the free-space check of sparse files.

mod support;

use std::fs;
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
