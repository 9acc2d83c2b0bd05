//! `ferry jobs`, `ferry resume` and `ferry rollback`: interrupted jobs,
//! listed by the engine ([`Command::ListJobs`]); an id given on the command
//! line may be a unique prefix, looked up in that list.

use std::process::ExitCode;

use super::follow::follow;
use super::start_engine;
use ferry_engine::{Command, Engine, Event, JobInfo, JobList, JobOutcome};

/// Arguments of `ferry jobs`.
#[derive(Debug, clap::Args)]
pub struct JobsArgs {
    /// Print one JSON document instead of a table.
    #[arg(long)]
    json: bool,
}

/// Arguments of `ferry resume`.
#[derive(Debug, clap::Args)]
pub struct ResumeArgs {
    /// The job to finish (an id from `ferry jobs`, or a unique prefix).
    /// Without it, every interrupted job is resumed.
    id: Option<String>,
}

/// Arguments of `ferry rollback`.
#[derive(Debug, clap::Args)]
pub struct RollbackArgs {
    /// The all-or-nothing job to undo (an id from `ferry jobs`).
    id: String,
}

/// The journaled jobs, as the engine lists them, and the warnings it gave
/// before the list (at start-up).
fn list_jobs(engine: &Engine) -> (Result<JobList, String>, Vec<String>) {
    engine.send(Command::ListJobs);
    let mut warnings = Vec::new();
    loop {
        match engine.events().recv() {
            Ok(Event::Jobs(list)) => return (list, warnings),
            Ok(Event::Warning(w)) => warnings.push(w),
            Ok(_) => {}
            Err(_) => return (Err("the engine stopped unexpectedly".into()), warnings),
        }
    }
}

/// Runs `ferry jobs`.
pub fn run_jobs(args: JobsArgs) -> ExitCode {
    let (engine, _) = match start_engine() {
        Ok(started) => started,
        Err(code) => return code,
    };
    // The list says which journals cannot be read (the engine's start-up
    // warnings say the same).
    let list = match list_jobs(&engine).0 {
        Ok(list) => list,
        Err(e) => {
            eprintln!("ferry: {e}");
            return ExitCode::from(1);
        }
    };
    for problem in &list.problems {
        eprintln!("ferry: warning: {problem}");
    }
    let jobs = &list.jobs;
    if args.json {
        let list: Vec<_> = jobs.iter().map(job_json).collect();
        println!("{}", serde_json::json!({ "jobs": list }));
    } else if jobs.is_empty() {
        println!("No unfinished jobs.");
    } else {
        println!(
            "{:<12}  {:<4}  {:<11}  {:>11}  WHAT",
            "ID", "KIND", "STATE", "DONE"
        );
        for job in jobs {
            println!(
                "{:<12}  {:<4}  {:<11}  {:>11}  {} → {}{}",
                job.id.to_string(),
                job.spec.kind.as_str(),
                state_word(job),
                format!("{}/{}", job.done, job.total),
                job.spec.title(),
                job.spec.dest.display(),
                if job.spec.all_or_nothing {
                    " (all-or-nothing)"
                } else {
                    ""
                }
            );
        }
    }
    ExitCode::SUCCESS
}

fn state_word(job: &JobInfo) -> &'static str {
    if job.running {
        "running"
    } else {
        "interrupted"
    }
}

fn job_json(job: &JobInfo) -> serde_json::Value {
    serde_json::json!({
        "id": job.id.to_string(),
        "kind": job.spec.kind.as_str(),
        "state": state_word(job),
        "done": job.done,
        "total": job.total,
        "sources": job.spec.sources.iter().map(|p| p.to_string_lossy()).collect::<Vec<_>>(),
        "dest": job.spec.dest.to_string_lossy(),
        "all_or_nothing": job.spec.all_or_nothing,
    })
}

/// Runs `ferry resume`.
pub fn run_resume(args: ResumeArgs) -> ExitCode {
    let (engine, _) = match start_engine() {
        Ok(started) => started,
        Err(code) => return code,
    };
    let (list, warnings) = list_jobs(&engine);
    let list = match list {
        Ok(list) => list,
        Err(e) => {
            eprintln!("ferry: {e}");
            return ExitCode::from(1);
        }
    };
    let ids = match &args.id {
        Some(id) => match list.find(id) {
            Ok(job) => vec![job.id],
            Err(e) => {
                eprintln!("ferry: {e}");
                return ExitCode::from(1);
            }
        },
        None => list
            .jobs
            .iter()
            .filter(|j| !j.running)
            .map(|j| j.id)
            .collect(),
    };
    if ids.is_empty() {
        println!("No interrupted jobs to resume.");
        return ExitCode::SUCCESS;
    }
    warn_all(&warnings);
    for &id in &ids {
        engine.send(Command::ResumeJournaled(id));
    }
    follow(&engine, &ids, JobOutcome::Completed)
}

/// Runs `ferry rollback`.
pub fn run_rollback(args: RollbackArgs) -> ExitCode {
    let (engine, _) = match start_engine() {
        Ok(started) => started,
        Err(code) => return code,
    };
    let (list, warnings) = list_jobs(&engine);
    let id = match list.and_then(|list| {
        list.find(&args.id)
            .map(|job| job.id)
            .map_err(|e| e.to_string())
    }) {
        Ok(id) => id,
        Err(e) => {
            eprintln!("ferry: {e}");
            return ExitCode::from(1);
        }
    };
    warn_all(&warnings);
    engine.send(Command::RollBack(id));
    follow(&engine, &[id], JobOutcome::RolledBack)
}

fn warn_all(warnings: &[String]) {
    for w in warnings {
        eprintln!("ferry: warning: {w}");
    }
}
