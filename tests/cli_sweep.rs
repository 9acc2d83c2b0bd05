//! `ferry scan` and `ferry sweep` end to end: the real binary, real files,
//! real locks held by real processes; the exact JSON documents, exit codes
//! and messages of the command-line contract.

mod support;

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, SystemTime};

use ferry_engine::{ForeignPattern, Schedule, Scheduler, Settings, Trigger, known_dirs, sweep};
use support::*;

#[test]
fn support_child() {
    child_entry();
}

#[test]
fn scan_json_has_the_exact_shape() {
    let root = tempfile::tempdir().unwrap();
    let (config, data) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let orphan = write_temp(root.path(), "movie.mkv", b"0123456789");
    fs::write(root.path().join(".movie.mkv.ferry-lock"), b"").unwrap();
    fs::write(root.path().join("movie.mkv.crdownload"), b"abc").unwrap();
    let held = write_temp(root.path(), "held.txt", b"");
    age_past_threshold();
    let _holder = hold_lock(&held);
    // Made just before the scan, so it is still young when the scan runs.
    let young = write_temp(root.path(), "new.txt", b"");

    let root_arg = root.path().to_str().unwrap();
    let out = run_ferry(
        &["scan", "--json", "--older-than", "1s", root_arg],
        config.path(),
        data.path(),
    );
    assert!(out.status.success(), "{out:?}");
    let doc = json_of(&out);
    assert_eq!(keys(&doc), ["entries"]);
    let entries = doc["entries"].as_array().unwrap();
    assert_eq!(entries.len(), 5, "{doc}");
    let mut statuses = BTreeSet::new();
    for e in entries {
        let mut expected = vec!["age_secs", "kind", "path", "removable", "size", "status"];
        if e["removable"] == false {
            // Why a sweep would keep it, in words.
            assert!(e["reason"].is_string(), "{e}");
            expected.insert(3, "reason");
        }
        assert_eq!(keys(e), expected);
        let path = e["path"].as_str().unwrap();
        assert!(PathBuf::from(path).is_absolute(), "{path}");
        assert!(e["size"].is_u64() && e["age_secs"].is_u64(), "{e}");
        let kind = e["kind"].as_str().unwrap();
        assert!(["part", "lock", "foreign"].contains(&kind), "{e}");
        statuses.insert(e["status"].as_str().unwrap().to_string());
    }
    assert_eq!(
        statuses,
        BTreeSet::from(["active", "young", "orphan", "foreign"].map(String::from))
    );
    let find = |p: &PathBuf| {
        let p = canon(p);
        entries
            .iter()
            .find(|e| e["path"] == p.to_str().unwrap())
            .unwrap()
            .clone()
    };
    assert_eq!(find(&orphan)["status"], "orphan");
    assert_eq!(find(&orphan)["removable"], true);
    assert_eq!(find(&held)["removable"], false);
    assert_eq!(
        find(&held)["reason"],
        "in use: a live transfer holds its lock"
    );
    assert!(find(&young)["reason"].as_str().unwrap().contains("younger"));
    assert_eq!(find(&orphan)["size"], 10);
    assert!(find(&orphan)["age_secs"].as_u64().unwrap() >= 1);
    assert_eq!(find(&young)["status"], "young");
    assert_eq!(find(&held)["status"], "active");
    assert_eq!(
        find(&root.path().join("movie.mkv.crdownload"))["kind"],
        "foreign"
    );
    assert!(orphan.exists(), "scan never removes anything");
}

#[test]
fn sweep_json_has_the_exact_shape_and_dry_run_removes_nothing() {
    let root = tempfile::tempdir().unwrap();
    let (config, data) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let a = write_temp(root.path(), "a", b"12345");
    let b = write_temp(root.path(), "b", b"678");
    age_past_threshold();
    let root_arg = root.path().to_str().unwrap();

    let dry = run_ferry(
        &[
            "sweep",
            "--dry-run",
            "--json",
            "--older-than",
            "1s",
            root_arg,
        ],
        config.path(),
        data.path(),
    );
    assert!(dry.status.success(), "{dry:?}");
    let doc = json_of(&dry);
    assert_eq!(doc["removed"].as_array().unwrap().len(), 2, "{doc}");
    assert_eq!(doc["freed_bytes"], 8);
    assert!(a.exists() && b.exists(), "a dry run removed something");
    assert!(sweep::read_log_in(data.path(), 10).unwrap().is_empty());

    // Made just before the sweep, so it is still young when the sweep runs.
    let young = write_temp(root.path(), "c", b"young");
    let out = run_ferry(
        &["sweep", "--json", "--older-than", "1s", root_arg],
        config.path(),
        data.path(),
    );
    assert!(out.status.success(), "{out:?}");
    let doc = json_of(&out);
    assert_eq!(keys(&doc), ["freed_bytes", "removed", "skipped"]);
    assert!(doc["freed_bytes"].is_u64());
    let removed = doc["removed"].as_array().unwrap();
    let mut total = 0;
    for r in removed {
        assert_eq!(keys(r), ["path", "size"]);
        assert!(PathBuf::from(r["path"].as_str().unwrap()).is_absolute());
        total += r["size"].as_u64().unwrap();
    }
    assert_eq!(removed.len(), 2);
    assert_eq!(doc["freed_bytes"].as_u64(), Some(total));
    assert_eq!(total, 8);
    let skipped = doc["skipped"].as_array().unwrap();
    assert_eq!(skipped.len(), 1, "{doc}");
    assert_eq!(keys(&skipped[0]), ["path", "reason"]);
    assert_eq!(skipped[0]["path"], canon(&young).to_str().unwrap());
    assert!(skipped[0]["reason"].as_str().unwrap().contains("younger"));
    assert!(!a.exists() && !b.exists() && young.exists());

    let log = sweep::read_log_in(data.path(), 10).unwrap();
    assert_eq!(log.len(), 2);
    assert!(log.iter().all(|r| r.trigger == Trigger::Manual));
    assert!(
        sweep::load_state_in(data.path())
            .unwrap()
            .last_run
            .is_some()
    );

    // People get a table and a summary.
    let other = tempfile::tempdir().unwrap();
    write_temp(other.path(), "d", b"x");
    age_past_threshold();
    let other_arg = other.path().to_str().unwrap();
    let text = run_ferry(
        &["sweep", "--older-than", "1s", other_arg],
        config.path(),
        data.path(),
    );
    let stdout = String::from_utf8_lossy(&text.stdout);
    assert!(stdout.contains("Removed 1 file, freed 1 B."), "{stdout}");
}

#[test]
fn bad_arguments_are_refused_with_clear_errors() {
    let root = tempfile::tempdir().unwrap();
    let (config, data) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let orphan = write_temp(root.path(), "a", b"x");
    let root_arg = root.path().to_str().unwrap();
    for bad in ["soon", "0s", "-5m"] {
        let flag = format!("--older-than={bad}");
        let out = run_ferry(&["sweep", &flag, root_arg], config.path(), data.path());
        assert_eq!(out.status.code(), Some(2), "{bad}: {out:?}");
        assert!(String::from_utf8_lossy(&out.stderr).contains("--older-than"));
    }
    let missing = root.path().join("missing");
    let out = run_ferry(
        &[
            "sweep",
            "--older-than",
            "1s",
            root_arg,
            missing.to_str().unwrap(),
        ],
        config.path(),
        data.path(),
    );
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("missing") && stderr.contains("does not exist"),
        "{stderr}"
    );
    let file_root = run_ferry(
        &["scan", orphan.to_str().unwrap()],
        config.path(),
        data.path(),
    );
    assert_eq!(file_root.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&file_root.stderr).contains("not a folder"));
    // With --json, the document all the same: empty, with the reason.
    let missing_arg = missing.to_str().unwrap();
    for command in ["scan", "sweep"] {
        let out = run_ferry(
            &[command, "--json", "--older-than", "1s", missing_arg],
            config.path(),
            data.path(),
        );
        assert_eq!(out.status.code(), Some(1), "{out:?}");
        let doc = json_of(&out);
        assert!(
            doc["error"].as_str().unwrap().contains("does not exist"),
            "{doc}"
        );
        let empty = match command {
            "scan" => doc["entries"].as_array().unwrap().is_empty(),
            _ => doc["removed"].as_array().unwrap().is_empty() && doc["freed_bytes"] == 0,
        };
        assert!(empty, "{doc}");
    }
    assert!(orphan.exists(), "nothing is done when a root is wrong");
}

#[test]
fn foreign_files_are_listed_and_removed_only_when_enabled() {
    let root = tempfile::tempdir().unwrap();
    let (config, data) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let rclone = root.path().join("movie.mkv.partial");
    let firefox = root.path().join("setup.iso.part");
    let rsync = root.path().join(".notes.txt.Ab12Cd");
    for f in [&rclone, &firefox, &rsync] {
        fs::write(f, b"partial").unwrap();
    }
    let mut settings = Settings::default();
    settings.sweep.foreign_patterns = vec![ForeignPattern::Rclone];
    settings
        .save_to(&config.path().join("settings.json"))
        .unwrap();
    age_past_threshold();
    let root_arg = root.path().to_str().unwrap();

    let scan = json_of(&run_ferry(
        &["scan", "--json", "--older-than", "1s", root_arg],
        config.path(),
        data.path(),
    ));
    let entries = scan["entries"].as_array().unwrap();
    assert_eq!(entries.len(), 3, "{scan}");
    assert!(
        entries
            .iter()
            .all(|e| e["kind"] == "foreign" && e["status"] == "foreign")
    );

    // Lowered to the smallest the settings accept (a minute), so that
    // only the threshold and the patterns decide here.
    settings.sweep.foreign_min_age = Duration::from_secs(60);
    settings
        .save_to(&config.path().join("settings.json"))
        .unwrap();
    let out = run_ferry(
        &[
            "sweep",
            "--json",
            "--dry-run",
            "--older-than",
            "1s",
            root_arg,
        ],
        config.path(),
        data.path(),
    );
    let doc = json_of(&out);
    assert_eq!(doc["removed"], serde_json::json!([]), "{doc}");
    let reasons = doc["skipped"].to_string();
    assert!(reasons.contains("enable the 'part' pattern"), "{reasons}");
    assert!(reasons.contains("foreign_min_age"), "{reasons}");

    // The same rules through the library, with the minimum age cut below
    // what the settings accept (change times cannot be backdated).
    let mut req = request(root.path(), data.path());
    req.apply_settings(&settings);
    req.foreign_min_age = THRESHOLD;
    let report = sweep::run_sweep(&req).unwrap();
    let removed: Vec<_> = report.removed.iter().map(|r| r.path.clone()).collect();
    assert_eq!(removed, [canon(&rclone)]);
    assert!(!rclone.exists() && firefox.exists() && rsync.exists());
}

#[test]
fn without_roots_the_settings_roots_and_remembered_folders_are_swept() {
    let top = tempfile::tempdir().unwrap();
    let (config, data) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let dest = top.path().join("dest");
    let configured = top.path().join("configured");
    fs::create_dir_all(dest.join("sub")).unwrap();
    fs::create_dir_all(configured.join("deep/er")).unwrap();
    let in_dest = write_temp(&dest, "a", b"1");
    let below_dest = write_temp(&dest.join("sub"), "b", b"2");
    let deep = write_temp(&configured.join("deep/er"), "c", b"3");
    let elsewhere = write_temp(top.path(), "d", b"4");
    known_dirs::remember_in(data.path(), [dest.as_path()]).unwrap();
    let mut settings = Settings::default();
    settings.sweep.roots = vec![configured.clone()];
    settings
        .save_to(&config.path().join("settings.json"))
        .unwrap();
    age_past_threshold();

    let out = run_ferry(
        &["sweep", "--json", "--older-than", "1s"],
        config.path(),
        data.path(),
    );
    assert!(out.status.success(), "{out:?}");
    assert!(!in_dest.exists(), "a remembered folder is swept");
    assert!(
        !deep.exists(),
        "a settings root is swept with its sub-folders"
    );
    assert!(
        below_dest.exists(),
        "remembered folders are swept one level only"
    );
    assert!(elsewhere.exists());

    let empty = tempfile::tempdir().unwrap();
    let out = run_ferry(&["scan"], empty.path(), empty.path());
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no folders to look in"));
}

#[test]
fn two_sweepers_at_once_never_remove_anything_twice() {
    let root = tempfile::tempdir().unwrap();
    let (config, data) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let orphans: BTreeSet<PathBuf> = (0..300)
        .map(|i| canon(&write_temp(root.path(), &format!("f{i}"), b"x")))
        .collect();
    let keep = root.path().join("keep.txt");
    fs::write(&keep, b"keep").unwrap();
    age_past_threshold();
    let root_arg = root.path().to_str().unwrap();
    let args = ["sweep", "--json", "--older-than", "1s", root_arg];
    let children = [
        spawn_ferry(&args, config.path(), data.path()),
        spawn_ferry(&args, config.path(), data.path()),
    ];
    let mut removed = Vec::new();
    for child in children {
        let out = child.wait_with_output().unwrap();
        match out.status.code() {
            Some(0) => {
                let doc = json_of(&out);
                for r in doc["removed"].as_array().unwrap() {
                    removed.push(PathBuf::from(r["path"].as_str().unwrap()));
                }
            }
            Some(1) => {
                let stderr = String::from_utf8_lossy(&out.stderr);
                assert!(stderr.contains("another sweep is running"), "{stderr}");
            }
            _ => panic!("unexpected: {out:?}"),
        }
    }
    let unique: BTreeSet<PathBuf> = removed.iter().cloned().collect();
    assert_eq!(
        unique.len(),
        removed.len(),
        "a file was reported removed twice"
    );
    assert_eq!(unique, orphans);
    assert!(keep.exists());
    assert_eq!(sweep::read_log_in(data.path(), 1000).unwrap().len(), 300);
}

#[test]
fn a_sweeper_backs_off_while_another_sweep_runs() {
    let root = tempfile::tempdir().unwrap();
    let (config, data) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let orphan = write_temp(root.path(), "a", b"x");
    age_past_threshold();
    // Another sweep (this test) holds the sweeper lock.
    let lock = fs::File::create(data.path().join(sweep::LOCK_FILE)).unwrap();
    lock.lock().unwrap();
    let out = run_ferry(
        &["sweep", "--older-than", "1s", root.path().to_str().unwrap()],
        config.path(),
        data.path(),
    );
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("another sweep is running"), "{stderr}");
    assert!(orphan.exists());
    // A scheduled sweep backs off too, and retries later.
    let mut req = request(root.path(), data.path());
    req.lock_wait = Duration::from_millis(50);
    let mut scheduler = Scheduler::new(Schedule::Every(Duration::from_secs(3600)), None);
    let now = SystemTime::now();
    let err = sweep::run_due(&mut scheduler, &req, now)
        .unwrap()
        .unwrap_err();
    assert_eq!(err.kind(), ferry_engine::ErrorKind::Busy);
    assert!(!scheduler.is_due(now), "retried later, not in a busy loop");
    drop(lock);
    assert_eq!(sweep::run_sweep(&req).unwrap().removed.len(), 1);
}

/// The raw bytes of a path in lowercase hex (what `path_hex` holds).
#[cfg(unix)]
fn hex_of(path: &std::path::Path) -> String {
    use std::os::unix::ffi::OsStrExt;
    path.as_os_str()
        .as_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// All-or-nothing jobs keep each replaced file as a hard-linked
/// `.ferry-backup`; a kill at the wrong moment can leak one. `ferry scan`
/// lists it (kind "backup"); no sweep ever removes it.
#[test]
fn leaked_backups_are_listed_and_never_removed() {
    let root = tempfile::tempdir().unwrap();
    let (config, data) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let backup = root
        .path()
        .join(".report.pdf.0123456789abcdef.ferry-backup");
    fs::write(&backup, b"the report as it was").unwrap();
    // Killed before the replacing rename: the backup still shares its
    // inode with the destination.
    let photo = root.path().join("photo.jpg");
    fs::write(&photo, b"the photo").unwrap();
    let linked = root.path().join(".photo.jpg.fedcba9876543210.ferry-backup");
    fs::hard_link(&photo, &linked).unwrap();
    age_past_threshold();
    let root_arg = root.path().to_str().unwrap();

    let scan = json_of(&run_ferry(
        &["scan", "--json", "--older-than", "1s", root_arg],
        config.path(),
        data.path(),
    ));
    for path in [&backup, &linked] {
        let entry = scan["entries"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["path"] == canon(path).to_str().unwrap())
            .unwrap_or_else(|| panic!("{} not listed: {scan}", path.display()));
        assert_eq!(entry["kind"], "backup", "{entry}");
        assert_eq!(entry["removable"], false, "{entry}");
        assert!(
            entry["reason"].as_str().unwrap().contains("backup"),
            "{entry}"
        );
    }
    let text = run_ferry(
        &["scan", "--older-than", "1s", root_arg],
        config.path(),
        data.path(),
    );
    let stdout = String::from_utf8_lossy(&text.stdout);
    assert!(stdout.contains("backup"), "{stdout}");

    for _ in 0..2 {
        let out = run_ferry(
            &["sweep", "--json", "--older-than", "1s", root_arg],
            config.path(),
            data.path(),
        );
        assert!(out.status.success(), "{out:?}");
        let doc = json_of(&out);
        assert_eq!(doc["removed"], serde_json::json!([]), "{doc}");
        let reason = doc["skipped"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["path"] == canon(&backup).to_str().unwrap())
            .unwrap_or_else(|| panic!("the backup is not reported: {doc}"))["reason"]
            .as_str()
            .unwrap()
            .to_string();
        for words in [
            "backup",
            "all-or-nothing",
            "ferry jobs",
            "ferry rollback",
            "by hand",
        ] {
            assert!(reason.contains(words), "{words}: {reason}");
        }
    }
    assert_eq!(fs::read(&backup).unwrap(), b"the report as it was");
    assert_eq!(fs::read(&linked).unwrap(), b"the photo");
}

/// Paths that are not UTF-8 print lossily in `"path"`, so two files could
/// show the same text; `"path_hex"` gives their exact bytes, on scanned,
/// removed and skipped entries alike, and only where it is needed.
#[cfg(unix)]
#[test]
fn json_gives_the_exact_bytes_of_paths_that_are_not_utf8() {
    use std::ffi::OsStr;
    use std::os::unix::ffi::OsStrExt;

    let root = tempfile::tempdir().unwrap();
    let (config, data) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let named = |bytes: &[u8]| {
        let mut name = b".".to_vec();
        name.extend_from_slice(bytes);
        name.extend_from_slice(b".0123456789abcdef.ferry-part");
        root.path().join(OsStr::from_bytes(&name))
    };
    let (ff, fe, held) = (named(b"\xff"), named(b"\xfe"), named(b"\xfd"));
    let plain = named(b"plain");
    for p in [&ff, &fe, &held, &plain] {
        fs::write(p, b"x").unwrap();
    }
    age_past_threshold();
    // Held by this process (the sweeps run in others): a live temp.
    let holder = fs::File::open(&held).unwrap();
    holder.lock().unwrap();
    let root_arg = root.path().to_str().unwrap();
    let hex_at = |list: &serde_json::Value, path: &PathBuf| -> Option<String> {
        let hex = hex_of(&canon(path));
        let found: Vec<_> = list
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e.get("path_hex").and_then(|h| h.as_str()) == Some(hex.as_str()))
            .collect();
        assert!(found.len() <= 1, "{list}");
        found.first().map(|e| {
            assert_eq!(
                e["path"],
                canon(path).to_string_lossy().as_ref(),
                "the lossy path stays as it was"
            );
            hex.clone()
        })
    };

    let scan = json_of(&run_ferry(
        &["scan", "--json", "--older-than", "1s", root_arg],
        config.path(),
        data.path(),
    ));
    let entries = &scan["entries"];
    assert_eq!(scan["entries"].as_array().unwrap().len(), 4, "{scan}");
    for p in [&ff, &fe, &held] {
        assert!(hex_at(entries, p).is_some(), "{}: {scan}", p.display());
    }
    let plain_entry = entries
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["path"] == canon(&plain).to_str().unwrap())
        .unwrap();
    assert!(plain_entry.get("path_hex").is_none(), "{plain_entry}");
    // The two lossy paths are the same text: only path_hex tells them apart.
    assert_eq!(canon(&ff).to_string_lossy(), canon(&fe).to_string_lossy());

    let dry = json_of(&run_ferry(
        &[
            "sweep",
            "--dry-run",
            "--json",
            "--older-than",
            "1s",
            root_arg,
        ],
        config.path(),
        data.path(),
    ));
    assert!(hex_at(&dry["removed"], &ff).is_some(), "{dry}");
    assert!(hex_at(&dry["removed"], &fe).is_some(), "{dry}");
    assert!(hex_at(&dry["skipped"], &held).is_some(), "{dry}");

    let doc = json_of(&run_ferry(
        &["sweep", "--json", "--older-than", "1s", root_arg],
        config.path(),
        data.path(),
    ));
    assert!(hex_at(&doc["removed"], &ff).is_some(), "{doc}");
    assert!(hex_at(&doc["removed"], &fe).is_some(), "{doc}");
    assert!(hex_at(&doc["skipped"], &held).is_some(), "{doc}");
    let plain_removed = doc["removed"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["path"] == canon(&plain).to_str().unwrap())
        .unwrap();
    assert_eq!(keys(plain_removed), ["path", "size"]);
    assert!(!ff.exists() && !fe.exists() && held.exists());
}

/// Other tools' files wait at least a day whatever `--older-than` says,
/// unless the settings lower that floor.
#[test]
fn other_tools_files_wait_for_their_own_minimum_age() {
    let root = tempfile::tempdir().unwrap();
    let (config, data) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    fs::write(
        config.path().join("settings.json"),
        br#"{"sweep":{"foreign_patterns":["rclone"]}}"#,
    )
    .unwrap();
    let rclone = root.path().join("movie.mkv.partial");
    fs::write(&rclone, b"partial").unwrap();
    set_mtime(&rclone, SystemTime::now() - Duration::from_secs(3 * 86400));
    age_past_threshold();
    let root_arg = root.path().to_str().unwrap();
    let doc = json_of(&run_ferry(
        &["sweep", "--json", "--older-than", "1s", root_arg],
        config.path(),
        data.path(),
    ));
    assert!(rclone.exists(), "{doc}");
    let reason = doc["skipped"][0]["reason"].as_str().unwrap_or_default();
    assert!(
        reason.contains("1day") && reason.contains("other tools"),
        "{doc}"
    );
}

/// A sweep folder of the settings that has gone missing is told once, in
/// one wording, by scans (and the settings file is still used).
#[test]
fn a_missing_settings_root_is_told_once() {
    let top = tempfile::tempdir().unwrap();
    let (config, data) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let gone = top.path().join("unplugged-drive");
    let settings = serde_json::json!({"sweep": {"roots": [gone], "threshold": "2h"}});
    fs::write(
        config.path().join("settings.json"),
        serde_json::to_vec(&settings).unwrap(),
    )
    .unwrap();
    for command in ["scan", "sweep"] {
        let out = run_ferry(&[command], config.path(), data.path());
        assert!(out.status.success(), "{out:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        let lines: Vec<&str> = stderr.lines().collect();
        assert_eq!(lines.len(), 1, "{command}: {stderr}");
        assert!(
            lines[0].contains("unplugged-drive") && lines[0].contains("does not exist"),
            "{command}: {stderr}"
        );
    }
    assert!(
        config.path().join("settings.json").exists(),
        "the settings were set aside"
    );
}

#[test]
fn the_command_line_warns_about_corrupt_settings_and_carries_on() {
    let (config, data, root) = (
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
    );
    let path = config.path().join(Settings::FILE_NAME);
    fs::write(&path, b"\x00garbage").unwrap();
    write_temp(root.path(), "a", b"x");
    let out = run_ferry(
        &["scan", "--json", root.path().to_str().unwrap()],
        config.path(),
        data.path(),
    );
    assert!(out.status.success(), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("warning") && stderr.contains("could not be used"),
        "{stderr}"
    );
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        doc["entries"][0]["status"], "young",
        "the default 1-day threshold"
    );
    assert!(!path.exists());
}

/// Unmounts on drop.
struct Mount(PathBuf);

impl Drop for Mount {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}

/// Reported: with `mount --bind outside root/bind`, `ferry sweep root`
/// removed `outside/.VICTIM.<hex>.ferry-part`: a bind mount of the same
/// filesystem has the same device number, so mounts are told by their
/// mount identity instead. A file bind-mounted over a temp-named file is
/// left alone too.
#[test]
fn a_bind_mount_inside_a_root_is_never_entered() {
    if !is_root() {
        println!("skipped: mount --bind needs root");
        return;
    }
    let top = tempfile::tempdir().unwrap();
    let (config, data) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let root = top.path().join("root");
    let outside = top.path().join("outside");
    fs::create_dir_all(root.join("bind")).unwrap();
    fs::create_dir(&outside).unwrap();
    let victim = outside.join(".VICTIM.0123456789abcdef.ferry-part");
    fs::write(&victim, b"not under the root").unwrap();
    let single = outside.join("single.txt");
    fs::write(&single, b"a file mounted over a temp name").unwrap();
    let covered = root.join(".covered.0123456789abcdef.ferry-part");
    fs::write(&covered, b"underneath").unwrap();
    let beside = write_temp(&root, "beside", b"a real orphan");
    let bind = |from: &Path, to: &Path| {
        let out = Command::new("mount")
            .arg("--bind")
            .arg(from)
            .arg(to)
            .output();
        out.as_ref()
            .is_ok_and(|o| o.status.success())
            .then(|| Mount(to.to_path_buf()))
    };
    let Some(_dir_mount) = bind(&outside, &root.join("bind")) else {
        println!("skipped: mount --bind failed here");
        return;
    };
    let Some(_file_mount) = bind(&single, &covered) else {
        println!("skipped: mount --bind of a file failed here");
        return;
    };
    age_past_threshold();

    let root_arg = root.to_str().unwrap();
    let scan = json_of(&run_ferry(
        &["scan", "--json", "--older-than", "1s", root_arg],
        config.path(),
        data.path(),
    ));
    let listed = scan.to_string();
    assert!(
        !listed.contains("VICTIM"),
        "the bind mount was entered: {scan}"
    );
    let out = run_ferry(
        &["sweep", "--json", "--older-than", "1s", root_arg],
        config.path(),
        data.path(),
    );
    let doc = json_of(&out);
    assert!(out.status.success(), "{out:?}");
    assert_eq!(
        doc["removed"],
        serde_json::json!([{"path": canon(&beside).to_str().unwrap(), "size": 13}]),
        "{doc}"
    );
    assert_eq!(fs::read(&victim).unwrap(), b"not under the root");
    assert_eq!(
        fs::read(&covered).unwrap(),
        b"a file mounted over a temp name"
    );
    let skipped = doc["skipped"].to_string();
    assert!(skipped.contains("covered"), "{doc}");
    assert!(skipped.contains("mount"), "{doc}");
}

/// What a capability probe killed mid-way leaves (`.ferry-probe-<16 hex>`
/// and names made from it, files and folders) is found by a scan as a
/// Ferry temp and swept under the same rules: the files once old enough,
/// a probe's folder once empty; a folder by such a name with someone
/// else's file in it stays, and names that only begin like a probe's are a
/// person's (never listed, never removed).
#[test]
fn a_killed_probes_leftovers_are_swept() {
    let root = tempfile::tempdir().unwrap();
    let (config, data) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let stem = ferry_engine::names::probe_name(0x0123_4567_89ab_cdef)
        .into_string()
        .unwrap();
    let at = |suffix: &str| root.path().join(format!("{stem}{suffix}"));
    for suffix in ["", ".e", ".e ", ".e.", ".renamed", ".c:x"] {
        fs::write(at(suffix), b"probe").unwrap();
    }
    fs::create_dir(at(".dir")).unwrap();
    fs::write(at(".dir").join("mine.txt"), b"keep").unwrap();
    fs::create_dir(at(".dir2")).unwrap();
    fs::write(at(".dir2").join(&stem), b"").unwrap();
    // A person's names.
    fs::write(at(" notes.txt"), b"mine").unwrap();
    fs::create_dir(at(".dir3")).unwrap();
    let root_arg = root.path().to_str().unwrap();

    // Young at first: listed, kept.
    let doc = json_of(&run_ferry(
        &["scan", "--json", root_arg],
        config.path(),
        data.path(),
    ));
    let entries = doc["entries"].as_array().unwrap();
    assert_eq!(entries.len(), 9, "{doc}");
    // The table calls the folders folders.
    let table = run_ferry(
        &["scan", "--older-than", "1s", root_arg],
        config.path(),
        data.path(),
    );
    let table = String::from_utf8_lossy(&table.stdout);
    let dir2 = table
        .lines()
        .find(|l| l.ends_with(".dir2"))
        .unwrap_or_default();
    assert!(dir2.contains(" folder "), "{table}");
    assert!(
        entries
            .iter()
            .all(|e| e["kind"] == "part" && e["status"] == "young"),
        "{doc}"
    );

    age_past_threshold();
    let sweep = || {
        json_of(&run_ferry(
            &["sweep", "--json", "--older-than", "1s", root_arg],
            config.path(),
            data.path(),
        ))
    };
    // The first sweep empties `.dir2`, which changes it: the next sweep
    // once it is old enough again removes it.
    let first = sweep();
    age_past_threshold();
    let second = sweep();
    let mut left: Vec<String> = walk(root.path())
        .iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    left.sort();
    assert_eq!(
        left,
        [
            format!("{stem} notes.txt"),
            format!("{stem}.dir"),
            format!("{stem}.dir/mine.txt"),
            format!("{stem}.dir3")
        ],
        "first sweep: {first}\nsecond sweep: {second}"
    );
    let reasons = second["skipped"].to_string();
    assert!(reasons.contains("not empty"), "{second}");
}

/// Starts `ferry sweep --json --older-than <older_than> ROOT` over five
/// orphans in `root` once they are that old, and waits until it pauses at
/// the fault `point` of its removals: the orphans, the sweep, and the flag
/// to remove to let it go on.
fn sweep_paused_at(
    point: &str,
    older_than: Duration,
    root: &Path,
    config: &Path,
    data: &Path,
) -> (Vec<PathBuf>, std::process::Child, PathBuf) {
    let orphans: Vec<PathBuf> = (0..5)
        .map(|i| write_temp(root, &format!("o{i}"), b"old"))
        .collect();
    std::thread::sleep(older_than + Duration::from_millis(250));
    let flag = data.join("paused");
    let child = ferry_in(config, data)
        .args(["sweep", "--json", "--older-than"])
        .arg(format!("{}s", older_than.as_secs()))
        .arg(root)
        .env(
            "FERRY_FAULT_PAUSE_AT",
            format!("{point}:{}", flag.display()),
        )
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    assert!(
        wait_until(Duration::from_secs(60), || flag.exists()),
        "the sweep never reached {point}"
    );
    (orphans, child, flag)
}

/// A sweep's private folder is made, then opened by its name: in a folder
/// others may write to, someone can put their own folder in its place in
/// between. The sweep then uses none (files go aside beside themselves)
/// and never removes that folder. (Needs root, to give the folder another
/// owner as another user would.)
#[test]
fn a_private_folder_swapped_for_someone_elses_is_neither_used_nor_removed() {
    if !is_root() {
        eprintln!("skipped: giving a folder to another user needs root");
        return;
    }
    let root = tempfile::tempdir().unwrap();
    let (config, data) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (orphans, child, flag) = sweep_paused_at(
        "after-aside-mkdir",
        THRESHOLD,
        root.path(),
        config.path(),
        data.path(),
    );
    let made: Vec<PathBuf> = fs::read_dir(root.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with(".ferry-aside-")
        })
        .collect();
    assert_eq!(made.len(), 1, "{made:?}");
    // Another user's folder by the same name, the sweep's own moved away.
    let elsewhere = data.path().join("moved-away");
    fs::rename(&made[0], &elsewhere).unwrap();
    fs::create_dir(&made[0]).unwrap();
    std::os::unix::fs::chown(&made[0], Some(65534), Some(65534)).unwrap();
    fs::remove_file(&flag).unwrap();
    let out = child.wait_with_output().unwrap();

    assert!(out.status.success(), "{out:?}");
    let doc = json_of(&out);
    assert_eq!(doc["removed"].as_array().unwrap().len(), 5, "{doc}");
    assert!(orphans.iter().all(|o| !o.exists()));
    assert!(made[0].is_dir(), "someone else's folder was removed");
    assert_eq!(fs::read_dir(&made[0]).unwrap().count(), 0);
}

/// Another program may remove a sweep's private folder while the sweep
/// uses it (a sweep with other settings takes an empty old one for a
/// killed sweep's leftover): the files then go aside beside themselves,
/// and are removed all the same, not reported gone.
#[test]
fn a_private_folder_removed_under_the_sweep_does_not_stop_it() {
    let root = tempfile::tempdir().unwrap();
    let (config, data) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (orphans, child, flag) = sweep_paused_at(
        "after-aside-made",
        THRESHOLD,
        root.path(),
        config.path(),
        data.path(),
    );
    for entry in fs::read_dir(root.path()).unwrap() {
        let path = entry.unwrap().path();
        if path
            .file_name()
            .unwrap()
            .to_string_lossy()
            .starts_with(".ferry-aside-")
        {
            fs::remove_dir(&path).unwrap();
        }
    }
    fs::remove_file(&flag).unwrap();
    let out = child.wait_with_output().unwrap();

    assert!(out.status.success(), "{out:?}");
    let doc = json_of(&out);
    assert_eq!(doc["removed"].as_array().unwrap().len(), 5, "{doc}");
    assert!(orphans.iter().all(|o| !o.exists()));
}

/// On FAT and exFAT drives (no no-replace rename, no hard links), a person's
/// file that takes an orphan's name while the sweep holds the orphan is put
/// back at that name, as on other disks: it was moved into the sweep's
/// private folder and left there, reported "moved" (and the next sweep
/// removed it from there).
#[test]
fn a_file_that_takes_an_orphans_name_at_the_last_moment_is_put_back_on_fat_and_exfat() {
    for mount in [mounts::fat32(), mounts::exfat()] {
        let Some(mount) = mount else {
            continue;
        };
        let root = mount.path().join("root");
        fs::create_dir(&root).unwrap();
        let (config, data) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        // FAT keeps times to 2 s: a file written now may look 2 s old, and
        // the files that take the orphans' names must look young.
        let (orphans, child, flag) = sweep_paused_at(
            "before-aside-move",
            Duration::from_secs(4),
            &root,
            config.path(),
            data.path(),
        );
        // Every orphan's name taken: the one the sweep holds, and the
        // others before it opens them.
        for (i, orphan) in orphans.iter().enumerate() {
            let mine = root.join(format!("mine{i}"));
            fs::write(&mine, format!("mine {i}")).unwrap();
            fs::rename(&mine, orphan).unwrap();
        }
        fs::remove_file(&flag).unwrap();
        let out = child.wait_with_output().unwrap();
        let doc = json_of(&out);
        let fs_name = mount.fs().name();
        assert!(
            doc["removed"].as_array().unwrap().is_empty(),
            "{fs_name}: {doc}"
        );
        for (i, orphan) in orphans.iter().enumerate() {
            assert_eq!(
                fs::read_to_string(orphan).ok(),
                Some(format!("mine {i}")),
                "{fs_name}: {doc}"
            );
        }
        assert!(!doc.to_string().contains("moved to"), "{fs_name}: {doc}");
        let left: Vec<PathBuf> = walk(&root);
        assert_eq!(left.len(), orphans.len(), "{fs_name}: {left:?}");
        assert!(out.status.success(), "{fs_name}: {out:?}");
    }
}

/// A name may hold a newline (and still be a temp's): the report shows it
/// escaped, so it cannot add a line of its own to what a person reads
/// ("removed … thesis.pdf" for a file that was never touched).
#[test]
fn names_with_control_characters_cannot_forge_report_lines() {
    let root = tempfile::tempdir().unwrap();
    let (config, data) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let forged = "x\nremoved          9.9 MiB  \u{2215}home\u{2215}thesis.pdf\nkept \u{1b}[2K";
    let orphan = write_temp(root.path(), forged, b"old");
    age_past_threshold();
    let root_arg = root.path().to_str().unwrap();
    for args in [
        &["scan", "--older-than", "1s", root_arg][..],
        &["sweep", "--older-than", "1s", root_arg],
    ] {
        let out = run_ferry(args, config.path(), data.path());
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(!text.contains("thesis.pdf\n"), "{text}");
        assert!(!text.contains('\u{1b}'), "{text}");
        assert!(text.contains("x\\nremoved"), "{text}");
    }
    assert!(!orphan.exists());
}
