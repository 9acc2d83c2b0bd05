//! The sweeper's rules through its library (the engine's internals), with
//! real files and real locks held by real processes: orphans go while
//! young and locked temps stay, a time in the future counts as fresh,
//! deadlines and cancels stop a sweep cleanly, the scheduler, remembered
//! folders under concurrent writers, wide and deep trees, and the rules
//! for other tools' files.

mod support;

use std::collections::BTreeSet;
use std::fs;
use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::time::{Duration, SystemTime};

use ferry_engine::{
    ForeignPattern, Kind, Schedule, Scheduler, Settings, SkipReason, Status, Stop, Trigger,
    known_dirs, sweep,
};
use support::*;

#[test]
fn support_child() {
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
