//! `ferry sweep` never removes a file that another program is using: open,
//! memory-mapped, or locked with `fcntl`/`lockf` or an open-file-description
//! lock rather than Ferry's `flock`. Real child processes hold the files;
//! the real `ferry` binary sweeps; once the holder ends, the file goes.

#![cfg(target_os = "linux")]

mod support;

use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::Value;
use support::*;

#[test]
fn support_child() {
    child_entry();
}

/// `ferry <command> --json --older-than 1s ROOT` with private folders.
fn run(command: &str, root: &Path, config: &Path, data: &Path) -> Value {
    let root = root.to_str().unwrap();
    let out = run_ferry(
        &[command, "--json", "--older-than", "1s", root],
        config,
        data,
    );
    json_of(&out)
}

fn removed(doc: &Value) -> Vec<String> {
    doc["removed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["path"].as_str().unwrap().to_string())
        .collect()
}

/// The reason a sweep gave for keeping `path`.
fn kept_because(doc: &Value, path: &Path) -> String {
    let path = canon(path);
    doc["skipped"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["path"] == path.to_str().unwrap())
        .unwrap_or_else(|| panic!("{} was not kept: {doc}", path.display()))["reason"]
        .as_str()
        .unwrap()
        .to_string()
}

/// The scan entry for `path`.
fn scanned(doc: &Value, path: &Path) -> Value {
    let path = canon(path);
    doc["entries"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["path"] == path.to_str().unwrap())
        .unwrap_or_else(|| panic!("{} not in the scan: {doc}", path.display()))
        .clone()
}

/// Reported: a person's own file, merely named like a Ferry temp, held
/// open by another program, was removed by `ferry sweep --older-than 1s`.
#[test]
fn a_file_held_open_by_another_program_is_kept_until_it_is_closed() {
    let root = tempfile::tempdir().unwrap();
    let (config, data) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let file = root.path().join(".report.0123456789abcdef.ferry-part");
    fs::write(&file, b"a report someone is reading").unwrap();
    age_past_threshold();
    let holder = hold_open_with_sleep(&file);

    let dry = json_of(&run_ferry(
        &[
            "sweep",
            "--dry-run",
            "--json",
            "--older-than",
            "1s",
            root.path().to_str().unwrap(),
        ],
        config.path(),
        data.path(),
    ));
    assert!(removed(&dry).is_empty(), "a dry run would remove it: {dry}");
    let doc = run("sweep", root.path(), config.path(), data.path());
    assert!(file.exists(), "the file held open was removed: {doc}");
    assert!(removed(&doc).is_empty(), "{doc}");
    assert_eq!(kept_because(&doc, &file), "in use by sleep");
    assert_eq!(fs::read(&file).unwrap(), b"a report someone is reading");

    // The scan carries the same verdict.
    let scan = run("scan", root.path(), config.path(), data.path());
    let entry = scanned(&scan, &file);
    assert_eq!(entry["removable"], false, "{entry}");
    assert_eq!(entry["reason"], "in use by sleep", "{entry}");

    drop(holder);
    let doc = run("sweep", root.path(), config.path(), data.path());
    assert_eq!(removed(&doc), [canon(&file).to_str().unwrap()], "{doc}");
    assert!(!file.exists());
}

/// Reported: a file locked with `fcntl`/`lockf` (not `flock`) was removed.
/// Locks of every kind, and a memory mapping whose descriptor is closed,
/// keep a file; each goes once its holder ends.
#[test]
fn files_locked_or_mapped_by_another_program_are_kept_until_let_go() {
    let root = tempfile::tempdir().unwrap();
    let (config, data) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let uses = [Use::PosixLock, Use::OfdLock, Use::Mapped, Use::Open];
    let files: Vec<PathBuf> = uses
        .iter()
        .enumerate()
        .map(|(i, how)| {
            let path = root.path().join(format!(".{how:?}.{i:016x}.ferry-part"));
            fs::write(&path, b"in use").unwrap();
            path
        })
        .collect();
    // A real orphan beside them still goes.
    let orphan = write_temp(root.path(), "orphan", b"dead");
    age_past_threshold();
    let holders: Vec<Holder> = uses
        .iter()
        .zip(&files)
        .map(|(how, path)| hold_in_use(path, *how))
        .collect();

    let doc = run("sweep", root.path(), config.path(), data.path());
    assert_eq!(removed(&doc), [canon(&orphan).to_str().unwrap()], "{doc}");
    for ((how, path), holder) in uses.iter().zip(&files).zip(&holders) {
        assert!(path.exists(), "{how:?}: removed while in use: {doc}");
        let reason = kept_because(&doc, path);
        if *how == Use::Mapped {
            // Only a mapping is left: the program may not be nameable.
            assert!(reason.starts_with("in use by "), "{how:?}: {reason}");
        } else {
            assert_eq!(reason, format!("in use by {}", holder.reported), "{how:?}");
        }
    }

    drop(holders);
    let doc = run("sweep", root.path(), config.path(), data.path());
    let mut expected: Vec<String> = files
        .iter()
        .map(|p| canon(p).to_str().unwrap().to_string())
        .collect();
    expected.sort();
    let mut gone = removed(&doc);
    gone.sort();
    assert_eq!(gone, expected, "{doc}");
}

/// Reported: an old `download.part` held open by another program was
/// removed with the `part` pattern enabled. Other tools' files also wait
/// for their own minimum age (lowered here to the smallest the settings
/// accept, one minute, which the test waits out).
#[test]
fn an_old_part_download_held_open_is_kept_even_with_its_pattern_enabled() {
    let root = tempfile::tempdir().unwrap();
    let (config, data) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    fs::write(
        config.path().join("settings.json"),
        br#"{"sweep":{"foreign_patterns":["part"],"foreign_min_age":"1m"}}"#,
    )
    .unwrap();
    let download = root.path().join("download.part");
    fs::write(&download, b"half a download").unwrap();
    let made = Instant::now();
    let holder = hold_open_with_sleep(&download);
    std::thread::sleep(Duration::from_secs(61).saturating_sub(made.elapsed()));

    let doc = run("sweep", root.path(), config.path(), data.path());
    assert!(download.exists(), "removed while open: {doc}");
    assert_eq!(kept_because(&doc, &download), "in use by sleep");

    drop(holder);
    let doc = run("sweep", root.path(), config.path(), data.path());
    assert_eq!(removed(&doc), [canon(&download).to_str().unwrap()], "{doc}");
}

/// Stops a FUSE daemon until dropped (then lets it go on).
struct Stopped(u32);

impl Drop for Stopped {
    fn drop(&mut self) {
        send_signal(self.0, "CONT");
    }
}

/// The pid of the process whose command line holds `needle`.
fn process_with(needle: &str) -> Option<u32> {
    fs::read_dir("/proc").ok()?.flatten().find_map(|e| {
        let pid: u32 = e.file_name().to_str()?.parse().ok()?;
        let cmdline = fs::read(e.path().join("cmdline")).ok()?;
        let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
        (pid != std::process::id() && cmdline.contains(needle)).then_some(pid)
    })
}

/// Naming the program that uses a file reads what every process has open.
/// A FUSE or network mount elsewhere on the system that no longer answers
/// (a stopped daemon, a dead server) held the sweep in that reading past
/// every time limit, unkillable: it now takes the kernel's identities
/// without asking the filesystem.
#[test]
fn a_hung_fuse_mount_elsewhere_does_not_hold_the_sweep() {
    let Some(stick) = mounts::exfat() else {
        return;
    };
    let Some(daemon) = stick
        .loop_device()
        .and_then(|dev| process_with(&format!("mount.exfat-fuse {dev}")))
    else {
        eprintln!("skipped: the exFAT daemon was not found");
        return;
    };
    let on_stick = stick.path().join("some-file");
    fs::write(&on_stick, b"data").unwrap();
    let _reader = hold_open_with_sleep(&on_stick);
    let root = tempfile::tempdir().unwrap();
    let (config, data) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let temp = root.path().join(".video.0123456789abcdef.ferry-part");
    fs::write(&temp, b"half").unwrap();
    let _user = hold_open_with_sleep(&temp);
    age_past_threshold();
    send_signal(daemon, "STOP");
    let _stopped = Stopped(daemon);
    // Past the cache of the stick's attributes (1 s).
    std::thread::sleep(Duration::from_millis(1500));

    let started = Instant::now();
    let mut sweep = ferry_in(config.path(), data.path())
        .args(["sweep", "--json", "--older-than", "1s"])
        .arg(root.path())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let finished = wait_until(Duration::from_secs(20), || {
        sweep.try_wait().is_ok_and(|s| s.is_some())
    });
    drop(_stopped);
    let out = sweep.wait_with_output().unwrap();
    assert!(finished, "the sweep was held by the hung mount");
    assert!(started.elapsed() < Duration::from_secs(20));
    let doc = json_of(&out);
    assert_eq!(kept_because(&doc, &temp), "in use by sleep", "{doc}");
    assert!(temp.exists());
}
