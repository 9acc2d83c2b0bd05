//! A panic in a worker never hangs Ferry: the job ends as failed with
//! "internal error", its journal stays for resume, the engine goes on
//! serving, and shutting it down returns. (The panic is injected at a crash
//! point by the fault-injection build; it fires once per process.)
#![cfg(feature = "fault-injection")]

mod support;

use std::fs;
use std::time::{Duration, Instant};

use ferry_engine::{Engine, EngineConfig, Event, JobId, JobOutcome, JobSpec, JobSummary};
use support::*;

fn finished(engine: &Engine, id: JobId) -> JobSummary {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match engine.events().recv_timeout(left) {
            Ok(Event::Finished { id: done, summary }) if done == id => return summary,
            Ok(_) => {}
            Err(e) => panic!("no Finished event for {id}: {e}"),
        }
    }
}

#[test]
fn a_panicking_worker_fails_its_job_and_the_engine_goes_on() {
    ferry_engine::faults::install(ferry_engine::faults::Faults {
        panic_at: Some("after-temp".into()),
        ..Default::default()
    });
    let tmp = tempfile::tempdir().unwrap();
    fs::write(tmp.path().join("a.txt"), b"first").unwrap();
    fs::write(tmp.path().join("b.txt"), b"second").unwrap();
    let data = tmp.path().join("data");
    let engine = Engine::start(EngineConfig::new(&data));

    let first = engine.enqueue(JobSpec::copy(
        vec![tmp.path().join("a.txt")],
        tmp.path().join("a-copy.txt"),
    ));
    let summary = finished(&engine, first);
    assert_eq!(summary.outcome, JobOutcome::Failed);
    let said = summary.warnings.join("\n");
    assert!(said.contains("internal error"), "{said}");
    assert!(said.contains("report"), "{said}");
    assert!(!tmp.path().join("a-copy.txt").exists());
    assert_eq!(
        job_ids(&data),
        [first.to_string()],
        "the journal stays for resume"
    );

    // The engine goes on serving.
    let second = engine.enqueue(JobSpec::copy(
        vec![tmp.path().join("b.txt")],
        tmp.path().join("b-copy.txt"),
    ));
    assert_eq!(finished(&engine, second).outcome, JobOutcome::Completed);
    assert_eq!(fs::read(tmp.path().join("b-copy.txt")).unwrap(), b"second");

    // And shutting down returns.
    let (done_tx, done_rx) = crossbeam_channel::bounded(1);
    std::thread::spawn(move || {
        drop(engine);
        let _ = done_tx.send(());
    });
    done_rx
        .recv_timeout(Duration::from_secs(10))
        .expect("the engine shut down");

    // The failed job can still be finished.
    let out = run(ferry(&data).arg("resume"));
    assert!(out.status.success());
    assert_eq!(fs::read(tmp.path().join("a-copy.txt")).unwrap(), b"first");
}
