//! Conflicts asked of a person (`ConflictPolicy::Ask`): the file waits while
//! the rest of the job goes on; answers are carried out, "for all" applies
//! to every other conflict, and a job waiting for answers survives a
//! restart and asks again.

mod support;

use std::fs;
use std::path::Path;
use std::time::{Duration, Instant};

use ferry_engine::{
    Answer, Choice, Command, Conflict, ConflictPolicy, Engine, EngineConfig, Event, JobId,
    JobOutcome, JobSpec, JobSummary,
};

/// Waits for events until `pred` says stop; returns the conflicts seen and
/// the summary if the job finished.
fn collect(
    engine: &Engine,
    id: JobId,
    secs: u64,
    mut stop: impl FnMut(&[Conflict], Option<&JobSummary>) -> bool,
) -> (Vec<Conflict>, Option<JobSummary>) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    let mut conflicts = Vec::new();
    let mut summary = None;
    while !stop(&conflicts, summary.as_ref()) {
        let left = deadline.saturating_duration_since(Instant::now());
        match engine.events().recv_timeout(left) {
            Ok(Event::Conflict { id: job, conflict }) if job == id => conflicts.push(conflict),
            Ok(Event::Finished {
                id: job,
                summary: s,
            }) if job == id => summary = Some(s),
            Ok(_) => {}
            Err(e) => panic!("timed out: {e}; conflicts so far: {conflicts:?}"),
        }
    }
    (conflicts, summary)
}

fn tree(root: &Path, existing: &[&str]) -> (std::path::PathBuf, std::path::PathBuf) {
    let src = root.join("src");
    let dst = root.join("dst");
    fs::create_dir_all(&src).unwrap();
    fs::create_dir_all(&dst).unwrap();
    for name in ["a.txt", "b.txt", "c.txt", "d.txt", "e.txt"] {
        fs::write(src.join(name), format!("new {name}")).unwrap();
    }
    for name in existing {
        fs::write(dst.join(name), format!("old {name}")).unwrap();
    }
    (src, dst)
}

fn ask(src: &Path, dst: &Path) -> JobSpec {
    let names = ["a.txt", "b.txt", "c.txt", "d.txt", "e.txt"];
    JobSpec {
        policy: ConflictPolicy::Ask,
        ..JobSpec::copy(names.iter().map(|n| src.join(n)).collect(), dst)
    }
}

#[test]
fn each_conflict_is_asked_and_its_answer_carried_out_while_the_rest_goes_on() {
    let tmp = tempfile::tempdir().unwrap();
    let (src, dst) = tree(tmp.path(), &["a.txt", "c.txt", "e.txt"]);
    let engine = Engine::start(EngineConfig::new(tmp.path().join("data")));
    let id = engine.enqueue(ask(&src, &dst));
    let (conflicts, _) = collect(&engine, id, 20, |c, _| c.len() == 3);
    // The files without a conflict are already copied while three wait.
    assert_eq!(fs::read_to_string(dst.join("b.txt")).unwrap(), "new b.txt");
    assert_eq!(fs::read_to_string(dst.join("d.txt")).unwrap(), "new d.txt");
    let by_name = |name: &str| conflicts.iter().find(|c| c.dest.ends_with(name)).unwrap();
    assert_eq!(by_name("a.txt").dest_size, "old a.txt".len() as u64);
    assert_eq!(by_name("a.txt").src_size, "new a.txt".len() as u64);
    for (name, choice) in [
        ("a.txt", Choice::Replace),
        ("c.txt", Choice::Skip),
        ("e.txt", Choice::KeepBoth),
    ] {
        engine.send(Command::Answer {
            id,
            answer: Answer {
                entry: by_name(name).entry,
                choice,
                for_all: false,
            },
        });
    }
    let (_, summary) = collect(&engine, id, 20, |_, s| s.is_some());
    let summary = summary.unwrap();
    assert_eq!(summary.outcome, JobOutcome::Completed, "{summary:?}");
    assert_eq!(fs::read_to_string(dst.join("a.txt")).unwrap(), "new a.txt");
    assert_eq!(fs::read_to_string(dst.join("c.txt")).unwrap(), "old c.txt");
    assert_eq!(fs::read_to_string(dst.join("e.txt")).unwrap(), "old e.txt");
    assert_eq!(
        fs::read_to_string(dst.join("e (1).txt")).unwrap(),
        "new e.txt"
    );
    assert_eq!((summary.files_done, summary.skipped), (4, 1));
}

#[test]
fn an_answer_for_all_settles_every_other_conflict() {
    let tmp = tempfile::tempdir().unwrap();
    let (src, dst) = tree(tmp.path(), &["a.txt", "b.txt", "c.txt", "d.txt"]);
    let engine = Engine::start(EngineConfig::new(tmp.path().join("data")));
    let id = engine.enqueue(ask(&src, &dst));
    let (conflicts, _) = collect(&engine, id, 20, |c, _| !c.is_empty());
    engine.send(Command::Answer {
        id,
        answer: Answer {
            entry: conflicts[0].entry,
            choice: Choice::Skip,
            for_all: true,
        },
    });
    let (_, summary) = collect(&engine, id, 20, |_, s| s.is_some());
    let summary = summary.unwrap();
    assert_eq!(summary.outcome, JobOutcome::Completed);
    assert_eq!((summary.files_done, summary.skipped), (1, 4));
    for name in ["a.txt", "b.txt", "c.txt", "d.txt"] {
        assert_eq!(
            fs::read_to_string(dst.join(name)).unwrap(),
            format!("old {name}")
        );
    }
}

#[test]
fn a_job_waiting_for_answers_survives_a_restart_and_asks_again() {
    let tmp = tempfile::tempdir().unwrap();
    let (src, dst) = tree(tmp.path(), &["b.txt"]);
    let data = tmp.path().join("data");
    let engine = Engine::start(EngineConfig::new(&data));
    let id = engine.enqueue(ask(&src, &dst));
    collect(&engine, id, 20, |c, _| c.len() == 1);
    drop(engine); // the window closes while it waits

    let engine = Engine::start(EngineConfig::new(&data));
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match engine
            .events()
            .recv_timeout(deadline.saturating_duration_since(Instant::now()))
        {
            Ok(Event::Unfinished(jobs)) => {
                assert!(jobs.iter().any(|j| j.id == id));
                break;
            }
            Ok(_) => {}
            Err(e) => panic!("the waiting job was not offered: {e}"),
        }
    }
    engine.send(Command::ResumeJournaled(id));
    let (conflicts, _) = collect(&engine, id, 20, |c, _| c.len() == 1);
    assert!(conflicts[0].dest.ends_with("b.txt"), "asked again");
    engine.send(Command::Answer {
        id,
        answer: Answer {
            entry: conflicts[0].entry,
            choice: Choice::Replace,
            for_all: false,
        },
    });
    let (_, summary) = collect(&engine, id, 20, |_, s| s.is_some());
    assert_eq!(summary.unwrap().outcome, JobOutcome::Completed);
    assert_eq!(fs::read_to_string(dst.join("b.txt")).unwrap(), "new b.txt");
}
