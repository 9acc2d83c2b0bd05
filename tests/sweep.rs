//! The sweeper, end to end: real files, real locks held by real processes,
//! the real `ferry` binary.

mod sweep_common;

use std::collections::BTreeSet;
use std::fs;
use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::time::{Duration, SystemTime};

use ferry_engine::known_dirs;
use ferry_engine::settings::Settings;
use ferry_engine::sweep::{
    self, ForeignPattern, Kind, Schedule, Scheduler, SkipReason, Status, Stop, Trigger,
};
use sweep_common::*;

#[test]
fn sweep_common_child() {
    child_entry();
}

#[test]
fn orphans_are_removed_while_young_and_locked_temps_stay() {
    let root = tempfile::tempdir().unwrap();
    let data = tempfile::tempdir().unwrap();
    let r = root.path();
    let orphan = write_temp(r, "a.txt", b"orphaned data");
    let stale_lock = r.join(".a.txt.ferry-lock");
    fs::write(&stale_lock, b"").unwrap();
    // Locked by another process, and made to look ancient: never removed.
    let held = write_temp(r, "b.txt", b"held");
    set_mtime(&held, SystemTime::now() - Duration::from_secs(30 * 86400));
    let _holder = hold_lock(&held);
    // A real Ferry writer, stopped half-way with its temp locked.
    let writer = spawn_writer(&r.join("c.bin"));
    let live_temp = PathBuf::from(&writer.reported);
    // Names that only look similar.
    let plain = r.join("a.txt");
    fs::write(&plain, b"user data").unwrap();
    let near_miss = r.join(".a.txt.ferry-part");
    fs::write(&near_miss, b"not ours").unwrap();
    age_past_threshold();
    let young = write_temp(r, "d.txt", b"just started");

    let req = request(r, data.path());
    let scan = sweep::scan(&req);
    let status = |p: &PathBuf| entry(&scan.entries, &canon(p)).status;
    assert_eq!(status(&orphan), Status::Orphan);
    assert_eq!(status(&stale_lock), Status::Orphan);
    assert_eq!(status(&held), Status::Active);
    assert_eq!(status(&live_temp), Status::Active);
    assert_eq!(status(&young), Status::Young);
    assert_eq!(entry(&scan.entries, &canon(&stale_lock)).kind, Kind::Lock);
    assert_eq!(scan.entries.len(), 5, "{:#?}", scan.entries);

    let report = sweep::run_sweep(&req).unwrap();
    let removed: BTreeSet<_> = report.removed.iter().map(|r| r.path.clone()).collect();
    assert_eq!(
        removed,
        BTreeSet::from([canon(&orphan), canon(&stale_lock)])
    );
    assert_eq!(report.freed_bytes, 13);
    assert_eq!(report.failures(), 0);
    assert!(!orphan.exists() && !stale_lock.exists());
    for kept in [&held, &live_temp, &young, &plain, &near_miss] {
        assert!(kept.exists(), "{} was removed", kept.display());
    }
    let reason = |p: &PathBuf| {
        report
            .skipped
            .iter()
            .find(|s| s.path == canon(p))
            .map(|s| s.reason.clone())
    };
    assert_eq!(reason(&held), Some(SkipReason::Active));
    assert_eq!(reason(&live_temp), Some(SkipReason::Active));
    assert!(matches!(reason(&young), Some(SkipReason::Young { .. })));
    assert_eq!(fs::read(&held).unwrap(), b"held");
}

#[test]
fn a_time_in_the_future_counts_as_fresh() {
    let root = tempfile::tempdir().unwrap();
    let data = tempfile::tempdir().unwrap();
    let future = write_temp(root.path(), "f.txt", b"from the future");
    set_mtime(
        &future,
        SystemTime::now() + Duration::from_secs(365 * 86400),
    );
    age_past_threshold();
    let req = request(root.path(), data.path());
    let scan = sweep::scan(&req);
    let e = entry(&scan.entries, &canon(&future));
    assert_eq!((e.status, e.age), (Status::Young, Duration::ZERO));
    let report = sweep::run_sweep(&req).unwrap();
    assert!(report.removed.is_empty());
    assert!(future.exists());
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
    let out = ferry(
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

    let dry = ferry(
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
    let out = ferry(
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
    let text = ferry(
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
        let out = ferry(&["sweep", &flag, root_arg], config.path(), data.path());
        assert_eq!(out.status.code(), Some(2), "{bad}: {out:?}");
        assert!(String::from_utf8_lossy(&out.stderr).contains("--older-than"));
    }
    let missing = root.path().join("missing");
    let out = ferry(
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
    let file_root = ferry(
        &["scan", orphan.to_str().unwrap()],
        config.path(),
        data.path(),
    );
    assert_eq!(file_root.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&file_root.stderr).contains("not a folder"));
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

    let scan = json_of(&ferry(
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
    let out = ferry(
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

    let out = ferry(
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
    let out = ferry(&["scan"], empty.path(), empty.path());
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no folders to look in"));
}

#[test]
fn a_sweep_stops_cleanly_at_its_deadline_or_when_cancelled() {
    let root = tempfile::tempdir().unwrap();
    let data = tempfile::tempdir().unwrap();
    let orphan = write_temp(root.path(), "a", b"x");
    age_past_threshold();
    let mut req = request(root.path(), data.path());
    req.time_limit = Duration::ZERO;
    let report = sweep::run_sweep(&req).unwrap();
    assert_eq!(report.stopped, Some(Stop::Deadline));
    assert!(report.removed.is_empty() && orphan.exists());

    let cancel = AtomicBool::new(true);
    let mut req = request(root.path(), data.path());
    req.cancel = Some(&cancel);
    let report = sweep::run_sweep(&req).unwrap();
    assert_eq!(report.stopped, Some(Stop::Cancelled));
    assert!(orphan.exists());

    let report = sweep::run_sweep(&request(root.path(), data.path())).unwrap();
    assert_eq!(report.stopped, None);
    assert!(!orphan.exists());
}

#[test]
fn a_scheduled_sweep_fires_when_due_and_is_logged() {
    let root = tempfile::tempdir().unwrap();
    let data = tempfile::tempdir().unwrap();
    let orphan = write_temp(root.path(), "a", b"scheduled");
    let mut settings = Settings::default();
    settings.sweep.schedule = Schedule::Every(Duration::from_secs(60));
    settings.sweep.threshold = Duration::from_secs(60);
    settings.sweep.roots = vec![root.path().to_path_buf()];
    settings.validate().unwrap();
    age_past_threshold();

    let mut req = sweep::SweepRequest::from_settings(&settings);
    req.data_dir = Some(data.path().to_path_buf());
    // The settings' threshold is a minute at least; the test cannot wait
    // that long (change times cannot be backdated), so the request's is cut.
    req.threshold = THRESHOLD;
    let now = SystemTime::now();
    let mut scheduler = Scheduler::load_in(settings.sweep.schedule, data.path()).unwrap();
    assert_eq!(scheduler.last_run(), None);
    assert!(scheduler.is_due(now), "never swept: due at once");

    let report = sweep::run_due(&mut scheduler, &req, now)
        .expect("due")
        .unwrap();
    assert_eq!(report.trigger, Trigger::Scheduled);
    assert_eq!(report.removed.len(), 1);
    assert!(!orphan.exists());
    let last = scheduler.last_run().unwrap();
    assert_eq!(
        scheduler.next_due(now),
        Some(last + Duration::from_secs(60))
    );
    assert!(
        sweep::run_due(&mut scheduler, &req, now).is_none(),
        "not due again yet"
    );
    assert!(sweep::run_due(&mut scheduler, &req, last + Duration::from_secs(61)).is_some());

    let log = sweep::read_log_in(data.path(), 10).unwrap();
    assert_eq!(log.len(), 1);
    assert_eq!(log[0].path, canon(&orphan));
    assert_eq!((log[0].size, log[0].trigger), (9, Trigger::Scheduled));
    let state = sweep::load_state_in(data.path()).unwrap();
    assert_eq!(state.trigger, Some(Trigger::Scheduled));
    let reloaded = Scheduler::load_in(settings.sweep.schedule, data.path()).unwrap();
    let secs = |t: SystemTime| t.duration_since(SystemTime::UNIX_EPOCH).unwrap().as_secs();
    assert_eq!(
        secs(reloaded.last_run().unwrap()),
        secs(scheduler.last_run().unwrap())
    );
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
    let out = ferry(
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

#[test]
fn remembered_folders_survive_concurrent_writers() {
    let data = tempfile::tempdir().unwrap();
    let top = tempfile::tempdir().unwrap();
    let dirs: Vec<PathBuf> = (0..40)
        .map(|i| {
            let d = top.path().join(format!("d{i}"));
            fs::create_dir(&d).unwrap();
            d.canonicalize().unwrap()
        })
        .collect();
    // Two processes and two threads, overlapping sets.
    let children = [
        remember_in_child(data.path(), &dirs[..25]),
        remember_in_child(data.path(), &dirs[15..]),
    ];
    std::thread::scope(|s| {
        s.spawn(|| {
            for d in &dirs[..20] {
                known_dirs::remember_in(data.path(), [d.as_path()]).unwrap();
            }
        });
        s.spawn(|| known_dirs::remember_in(data.path(), dirs.iter().map(|d| d.as_path())).unwrap());
    });
    for mut child in children {
        assert!(child.wait().unwrap().success());
    }
    let loaded = known_dirs::load_in(data.path()).unwrap();
    assert_eq!(loaded.len(), 40, "{loaded:#?}");
    let text = fs::read_to_string(data.path().join(known_dirs::FILE_NAME)).unwrap();
    assert_eq!(text.lines().count(), 40, "duplicates were written:\n{text}");
    assert_eq!(
        loaded.iter().collect::<BTreeSet<_>>(),
        dirs.iter().collect::<BTreeSet<_>>()
    );
}

#[test]
fn kinds_and_statuses_have_their_json_names() {
    assert_eq!(Kind::Part.as_str(), "part");
    assert_eq!(Status::Orphan.as_str(), "orphan");
    assert_eq!(
        serde_json::to_string(&Trigger::Scheduled).unwrap(),
        "\"scheduled\""
    );
}

#[test]
fn every_candidate_of_a_wide_deep_tree_is_reported_once_in_path_order() {
    let root = tempfile::tempdir().unwrap();
    let data = tempfile::tempdir().unwrap();
    let mut orphans = BTreeSet::new();
    let mut kept = Vec::new();
    for i in 0..40 {
        let mut dir = root.path().join(format!("d{i:02}"));
        for depth in 0..4 {
            fs::create_dir_all(&dir).unwrap();
            orphans.insert(canon(&write_temp(&dir, &format!("f{depth}"), b"x")));
            let plain = dir.join(format!("plain{depth}.txt"));
            fs::write(&plain, b"keep").unwrap();
            kept.push(plain);
            // Names that sort around the separator: "a", "a.b", "a-b", "a/…".
            for name in ["a", "a.b", "a-b"] {
                fs::create_dir_all(dir.join(name)).unwrap();
            }
            orphans.insert(canon(&write_temp(&dir.join("a"), "in-a", b"x")));
            dir = dir.join("a.b");
        }
    }
    age_past_threshold();
    let req = request(root.path(), data.path());

    let scan = sweep::scan(&req);
    let paths: Vec<PathBuf> = scan.entries.iter().map(|e| e.path.clone()).collect();
    assert!(paths.is_sorted(), "not in path order");
    assert_eq!(paths.iter().cloned().collect::<BTreeSet<_>>(), orphans);
    assert_eq!(paths.len(), orphans.len(), "an entry was reported twice");

    let report = sweep::run_sweep(&req).unwrap();
    let removed: Vec<PathBuf> = report.removed.iter().map(|r| r.path.clone()).collect();
    assert!(removed.is_sorted(), "not in path order");
    assert_eq!(removed.iter().cloned().collect::<BTreeSet<_>>(), orphans);
    assert_eq!(removed.len(), orphans.len(), "a file was removed twice");
    assert!(report.skipped.is_empty(), "{:#?}", report.skipped);
    assert!(kept.iter().all(|k| k.exists()));
    assert_eq!(
        sweep::read_log_in(data.path(), 10_000).unwrap().len(),
        orphans.len()
    );
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

    let scan = json_of(&ferry(
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
    let text = ferry(
        &["scan", "--older-than", "1s", root_arg],
        config.path(),
        data.path(),
    );
    let stdout = String::from_utf8_lossy(&text.stdout);
    assert!(stdout.contains("backup"), "{stdout}");

    for _ in 0..2 {
        let out = ferry(
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

    let scan = json_of(&ferry(
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

    let dry = json_of(&ferry(
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

    let doc = json_of(&ferry(
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
    let doc = json_of(&ferry(
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
        let out = ferry(&[command], config.path(), data.path());
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

/// A scheduled sweep removes only Ferry's own orphans unless the settings
/// include other tools' files in scheduled sweeps; a manual sweep with the
/// same settings removes them. The scan's verdict says which and why.
#[test]
fn scheduled_sweeps_take_other_tools_files_only_with_consent() {
    let root = tempfile::tempdir().unwrap();
    let data = tempfile::tempdir().unwrap();
    let mut settings = Settings::default();
    settings.sweep.roots = vec![root.path().to_path_buf()];
    settings.sweep.foreign_patterns = vec![ForeignPattern::Rclone];
    settings.sweep.schedule = Schedule::Every(Duration::from_secs(60));
    assert!(!settings.sweep.foreign_in_schedule, "off by default");
    let make = || {
        let ours = write_temp(root.path(), "ours", b"ferry's");
        let theirs = root.path().join(format!("{}.partial", temp_name("theirs")));
        fs::write(&theirs, b"rclone's").unwrap();
        (ours, theirs)
    };
    let (ours, theirs) = make();
    age_past_threshold();
    let request = |settings: &Settings| {
        let mut req = sweep::SweepRequest::from_settings(settings);
        req.data_dir = Some(data.path().to_path_buf());
        // Below what the settings accept: change times cannot be backdated.
        req.threshold = THRESHOLD;
        req.foreign_min_age = THRESHOLD;
        req
    };
    let now = SystemTime::now();

    // The scan (a manual sweep's verdict) would remove both.
    let scan = sweep::scan(&request(&settings));
    assert!(entry(&scan.entries, &canon(&theirs)).removable());
    assert!(entry(&scan.entries, &canon(&ours)).removable());

    let mut scheduler = Scheduler::new(settings.sweep.schedule, None);
    let report = sweep::run_due(&mut scheduler, &request(&settings), now)
        .expect("due")
        .unwrap();
    let removed: Vec<PathBuf> = report.removed.iter().map(|r| r.path.clone()).collect();
    assert_eq!(removed, [canon(&ours)]);
    assert!(theirs.exists());
    let kept = report
        .skipped
        .iter()
        .find(|s| s.path == canon(&theirs))
        .unwrap();
    assert_eq!(
        kept.reason,
        SkipReason::NotInSchedule(ForeignPattern::Rclone)
    );
    assert!(kept.reason.to_string().contains("scheduled sweeps"));

    settings.sweep.foreign_in_schedule = true;
    let (ours, _) = make();
    age_past_threshold();
    let mut scheduler = Scheduler::new(settings.sweep.schedule, None);
    let report = sweep::run_due(&mut scheduler, &request(&settings), SystemTime::now())
        .expect("due")
        .unwrap();
    assert!(!theirs.exists() && !ours.exists(), "{report:#?}");
}

/// Old settings files (without the new fields) load with the safe
/// defaults; the minimum age of other tools' files cannot go below a
/// minute.
#[test]
fn the_rules_for_other_tools_files_have_safe_defaults() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("settings.json");
    fs::write(
        &path,
        br#"{"sweep":{"threshold":"2h","foreign_patterns":["part"]}}"#,
    )
    .unwrap();
    let (settings, warnings) = Settings::load_from(&path).unwrap();
    assert!(warnings.is_empty(), "{warnings:?}");
    assert_eq!(settings.sweep.foreign_min_age, Duration::from_secs(86400));
    assert!(!settings.sweep.foreign_in_schedule);
    let req = sweep::SweepRequest::from_settings(&settings);
    assert_eq!(req.foreign_min_age, Duration::from_secs(86400));
    assert_eq!(
        sweep::SweepRequest::new([dir.path()], THRESHOLD).foreign_min_age,
        Duration::from_secs(86400)
    );

    let mut low = settings.clone();
    low.sweep.foreign_min_age = Duration::from_secs(30);
    let problems = low.validate().unwrap_err().problems;
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(problems[0].contains("other tools' files") && problems[0].contains("1m"));
    low.sweep.foreign_min_age = Duration::from_secs(60);
    low.sweep.foreign_in_schedule = true;
    low.save_to(&path).unwrap();
    let doc: serde_json::Value = serde_json::from_slice(&fs::read(&path).unwrap()).unwrap();
    assert_eq!(doc["sweep"]["foreign_min_age"], "1m");
    assert_eq!(doc["sweep"]["foreign_in_schedule"], true);
    assert_eq!(Settings::load_from(&path).unwrap().0, low);
}
