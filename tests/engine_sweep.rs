//! Sweeps through the engine handle: scheduled sweeps on the engine's
//! timer, scans and sweeps on command, settings saved and applied,
//! destination folders remembered for the sweeper.

mod support;

use std::fs;
use std::io::Write;
use std::path::Path;
use std::time::{Duration, Instant};

use ferry_engine::{
    Command, Engine, EngineConfig, Event, JobOutcome, JobSpec, Schedule, Settings, Status,
    SweepScope, Trigger, atomic::AtomicFile,
};
use support::*;

fn wait_for(engine: &Engine, mut pred: impl FnMut(&Event) -> bool) -> Event {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let event = engine.events().recv_timeout(left).expect("event in time");
        if pred(&event) {
            return event;
        }
    }
}

/// An orphan: a temp-named file nobody holds, older than one second.
fn orphan(dir: &Path, name: &str) -> std::path::PathBuf {
    let path = dir.join(format!(".{name}.0123456789abcdef.ferry-part"));
    fs::write(&path, b"partial").unwrap();
    path
}

fn settings_for(root: &Path) -> Settings {
    let mut settings = Settings::default();
    settings.sweep.roots = vec![root.to_path_buf()];
    // Below the one-minute minimum on purpose (set directly, not through
    // validation) so the test need not wait a minute for files to age.
    settings.sweep.threshold = Duration::from_secs(1);
    settings
}

#[test]
fn a_scheduled_sweep_fires_and_reports_like_a_manual_one() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("root");
    fs::create_dir(&root).unwrap();
    let old = orphan(&root, "old.iso");
    std::thread::sleep(Duration::from_millis(1200));
    let mut settings = settings_for(&root);
    // Far below the one-minute minimum (set directly, not through
    // validation) so that the test need not wait long.
    let interval = Duration::from_secs(2);
    settings.sweep.schedule = Schedule::Every(interval);
    let data = tmp.path().join("data");
    let started = std::time::SystemTime::now();
    let engine = Engine::start(EngineConfig {
        settings,
        ..EngineConfig::new(&data)
    });
    // Never swept before: due one interval after the start (the schedule
    // counts from when it was set, here the start), not at once.
    let report = match wait_for(&engine, |e| matches!(e, Event::SweepFinished(_))) {
        Event::SweepFinished(report) => report,
        _ => unreachable!(),
    };
    assert_eq!(report.trigger, Trigger::Scheduled);
    assert!(report.started >= started + interval, "it swept at once");
    assert_eq!(report.removed.len(), 1, "{report:?}");
    assert!(!old.exists());
    match wait_for(&engine, |e| {
        matches!(
            e,
            Event::SweepStatus {
                last_run: Some(_),
                ..
            }
        )
    }) {
        Event::SweepStatus {
            last_run,
            next_run,
            log,
        } => {
            let gap = next_run.unwrap().duration_since(last_run.unwrap()).unwrap();
            assert_eq!(gap, interval);
            assert!(
                log.iter()
                    .any(|r| r.path == old && r.trigger == Trigger::Scheduled)
            );
        }
        _ => unreachable!(),
    }
    // The sweep log on disk records it too.
    let log = fs::read_to_string(data.join("sweep-log.jsonl")).unwrap();
    assert!(log.contains("old.iso"), "{log}");
}

#[test]
fn scan_tells_active_from_orphan_and_sweep_removes_only_orphans() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("root");
    fs::create_dir(&root).unwrap();
    let dead = orphan(&root, "dead.bin");
    let mut live = AtomicFile::create(&root.join("live.bin")).unwrap();
    live.write_all(b"being written").unwrap();
    std::thread::sleep(Duration::from_millis(1200));
    let engine = Engine::start(EngineConfig {
        settings: settings_for(&root),
        ..EngineConfig::new(tmp.path().join("data"))
    });
    engine.send(Command::Scan(SweepScope::default()));
    let report = match wait_for(&engine, |e| matches!(e, Event::ScanFinished(_))) {
        Event::ScanFinished(report) => report,
        _ => unreachable!(),
    };
    let status_of = |p: &Path| {
        report
            .entries
            .iter()
            .find(|e| e.path == p)
            .map(|e| e.status)
    };
    assert_eq!(status_of(&dead), Some(Status::Orphan));
    assert_eq!(status_of(live.temp_path()), Some(Status::Active));

    engine.send(Command::SweepEntries(report.entries.clone()));
    let swept = match wait_for(&engine, |e| matches!(e, Event::SweepFinished(_))) {
        Event::SweepFinished(report) => report,
        _ => unreachable!(),
    };
    assert_eq!(swept.trigger, Trigger::Manual);
    assert!(!dead.exists());
    assert!(live.temp_path().exists(), "an active temp is never removed");
}

#[test]
fn settings_are_validated_saved_and_applied() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("config/settings.json");
    let engine = Engine::start(EngineConfig {
        settings_path: Some(path.clone()),
        ..EngineConfig::new(tmp.path().join("data"))
    });
    let mut bad = Settings::default();
    bad.sweep.threshold = Duration::from_secs(5);
    engine.send(Command::UpdateSettings(bad));
    match wait_for(&engine, |e| matches!(e, Event::SettingsRejected(_))) {
        Event::SettingsRejected(problems) => {
            assert!(
                problems.iter().any(|p| p.contains("at least 1m")),
                "{problems:?}"
            )
        }
        _ => unreachable!(),
    }
    assert!(!path.exists());
    let mut good = Settings::default();
    good.sweep.threshold = Duration::from_secs(2 * 3600);
    good.sweep.schedule = Schedule::Every(Duration::from_secs(600));
    engine.send(Command::UpdateSettings(good.clone()));
    wait_for(
        &engine,
        |e| matches!(e, Event::SettingsSaved(s) if *s == good),
    );
    let next = wait_for(&engine, |e| matches!(e, Event::SweepStatus { .. }));
    assert!(matches!(
        next,
        Event::SweepStatus {
            next_run: Some(_),
            ..
        }
    ));
    let (read_back, warnings) = Settings::load_from(&path).unwrap();
    assert!(warnings.is_empty());
    assert_eq!(read_back, good);
}

#[test]
fn transfers_remember_their_destination_folders() {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("src");
    rich_tree(&src);
    let data = tmp.path().join("data");
    let engine = Engine::start(EngineConfig::new(&data));
    let id = engine.enqueue(JobSpec::copy(vec![src], tmp.path().join("out")));
    match wait_for(
        &engine,
        |e| matches!(e, Event::Finished { id: done, .. } if *done == id),
    ) {
        Event::Finished { summary, .. } => assert_eq!(summary.outcome, JobOutcome::Completed),
        _ => unreachable!(),
    }
    let remembered = ferry_engine::known_dirs::load_in(&data).unwrap();
    for dir in ["out", "out/docs", "out/docs/deep"] {
        let dir = tmp.path().join(dir);
        assert!(
            remembered.contains(&dir),
            "{} not in {remembered:?}",
            dir.display()
        );
    }
}

/// Collects the events that arrive within `wait`.
fn events_for(engine: &Engine, wait: Duration) -> Vec<Event> {
    let deadline = Instant::now() + wait;
    let mut seen = Vec::new();
    while let Ok(event) = engine
        .events()
        .recv_timeout(deadline.saturating_duration_since(Instant::now()))
    {
        seen.push(event);
    }
    seen
}

fn scheduled_sweeps(events: &[Event]) -> usize {
    events
        .iter()
        .filter(|e| match e {
            Event::SweepFinished(report) => report.trigger == Trigger::Scheduled,
            Event::SweepFailed { trigger, .. } => *trigger == Trigger::Scheduled,
            _ => false,
        })
        .count()
}

/// The latest next-run time the engine published.
fn next_run(events: &[Event]) -> Option<std::time::SystemTime> {
    events.iter().rev().find_map(|e| match e {
        Event::SweepStatus { next_run, .. } => Some(next_run.expect("a schedule is set")),
        _ => None,
    })
}

/// Saving a schedule never sweeps at once, even when Ferry has never swept:
/// the first scheduled sweep is one interval after the schedule was set,
/// and that holds across a restart of the app.
#[test]
fn saving_a_schedule_never_sweeps_at_once() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("root");
    fs::create_dir(&root).unwrap();
    let data = tmp.path().join("data");
    let settings_path = tmp.path().join("config/settings.json");
    let hour = Duration::from_secs(3600);
    let mut scheduled = Settings::default();
    scheduled.sweep.roots = vec![root.clone()];
    scheduled.sweep.schedule = Schedule::Every(hour);

    let saved_at = std::time::SystemTime::now();
    {
        let engine = Engine::start(EngineConfig {
            settings_path: Some(settings_path.clone()),
            ..EngineConfig::new(&data)
        });
        engine.send(Command::UpdateSettings(scheduled.clone()));
        let events = events_for(&engine, Duration::from_secs(2));
        assert!(
            events.iter().any(|e| matches!(e, Event::SettingsSaved(_))),
            "{events:?}"
        );
        assert_eq!(scheduled_sweeps(&events), 0, "saving swept at once");
        let next = next_run(&events).expect("the next run is published");
        assert!(
            next >= saved_at + hour,
            "next run {next:?} is sooner than an hour"
        );
    }
    // Restarted with the same schedule (and still never swept): the first
    // run stays an hour after the schedule was saved.
    let (loaded, _) = Settings::load_from(&settings_path).unwrap();
    let engine = Engine::start(EngineConfig {
        settings: loaded,
        settings_path: Some(settings_path),
        ..EngineConfig::new(&data)
    });
    let events = events_for(&engine, Duration::from_secs(2));
    assert_eq!(scheduled_sweeps(&events), 0, "the restart swept at once");
    let next = next_run(&events).expect("the next run is published");
    assert!(next >= saved_at + hour, "next run {next:?}");
    assert!(
        next <= saved_at + hour + Duration::from_secs(5),
        "next run {next:?}"
    );
}
