//! The engine starts its transfer workers with the first job, not before:
//! a command that runs none (a sweep, a scan, a listing) pays for no
//! worker threads. Counted from `/proc/self/task`, so this binary holds
//! this one test (no other engine runs in the process meanwhile).
#![cfg(target_os = "linux")]

use std::fs;
use std::time::{Duration, Instant};

use ferry_engine::{Command, Engine, EngineConfig, Event, JobOutcome, JobSpec, SweepScope};

/// How many of this process's threads are named like the engine's workers.
fn workers() -> usize {
    fs::read_dir("/proc/self/task")
        .unwrap()
        .filter_map(|task| fs::read_to_string(task.ok()?.path().join("comm")).ok())
        .filter(|name| name.starts_with("ferry-worker"))
        .count()
}

/// Waits for the first event `wanted` accepts.
fn wait_for(engine: &Engine, wanted: impl Fn(&Event) -> bool) -> Event {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match engine.events().recv_timeout(left) {
            Ok(event) if wanted(&event) => return event,
            Ok(_) => {}
            Err(e) => panic!("the event did not come: {e}"),
        }
    }
}

#[test]
fn workers_start_with_the_first_job() {
    let tmp = tempfile::tempdir().unwrap();
    let config = EngineConfig {
        workers: 3,
        ..EngineConfig::new(tmp.path().join("data"))
    };
    let engine = Engine::start(config);
    let litter = tmp.path().join("litter");
    fs::create_dir(&litter).unwrap();
    engine.send(Command::Scan(SweepScope::folders([litter])));
    wait_for(&engine, |e| matches!(e, Event::ScanFinished(_)));
    assert_eq!(workers(), 0, "workers started before any job");

    fs::write(tmp.path().join("a.txt"), b"a").unwrap();
    let id = engine.enqueue(JobSpec::copy(
        vec![tmp.path().join("a.txt")],
        tmp.path().join("b.txt"),
    ));
    match wait_for(
        &engine,
        |e| matches!(e, Event::Finished { id: done, .. } if *done == id),
    ) {
        Event::Finished { summary, .. } => assert_eq!(summary.outcome, JobOutcome::Completed),
        _ => unreachable!(),
    }
    assert_eq!(workers(), 3, "the pool's workers");
    assert_eq!(fs::read(tmp.path().join("b.txt")).unwrap(), b"a");
}
