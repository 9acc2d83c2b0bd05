//! `ferry jobs`, `ferry resume` and `ferry rollback`: interrupted jobs.

use std::process::ExitCode;

use super::follow::follow;
use super::{data_dir, start_engine};
use ferry_engine::handle::Command;
use ferry_engine::job::JobOutcome;
use ferry_engine::journal::{self, UnfinishedJob};

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

/// Runs `ferry jobs`.
pub fn run_jobs(args: JobsArgs) -> ExitCode {
    let Ok(dir) = data_dir() else {
        return ExitCode::from(1);
    };
    let (jobs, errors) = match journal::list(&dir) {
        Ok(found) => found,
        Err(e) => {
            eprintln!("ferry: {e}");
            return ExitCode::from(1);
        }
    };
    for e in &errors {
        eprintln!("ferry: warning: {e}");
    }
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
        for job in &jobs {
            let s = &job.state;
            let total = s.plan.as_ref().map_or(0, |p| p.entries.len());
            println!(
                "{:<12}  {:<4}  {:<11}  {:>11}  {} → {}{}",
                s.id.to_string(),
                s.spec.kind.as_str(),
                state_word(job),
                format!("{}/{}", s.done.len(), total),
                s.spec.title(),
                s.spec.dest.display(),
                if s.spec.all_or_nothing {
                    " (all-or-nothing)"
                } else {
                    ""
                }
            );
        }
    }
    ExitCode::SUCCESS
}

fn state_word(job: &UnfinishedJob) -> &'static str {
    if job.running {
        "running"
    } else {
        "interrupted"
    }
}

fn job_json(job: &UnfinishedJob) -> serde_json::Value {
    let s = &job.state;
    serde_json::json!({
        "id": s.id.to_string(),
        "kind": s.spec.kind.as_str(),
        "state": state_word(job),
        "done": s.done.len(),
        "total": s.plan.as_ref().map_or(0, |p| p.entries.len()),
        "sources": s.spec.sources.iter().map(|p| p.to_string_lossy()).collect::<Vec<_>>(),
        "dest": s.spec.dest.to_string_lossy(),
        "all_or_nothing": s.spec.all_or_nothing,
    })
}

/// Runs `ferry resume`.
pub fn run_resume(args: ResumeArgs) -> ExitCode {
    let Ok(dir) = data_dir() else {
        return ExitCode::from(1);
    };
    let ids = match &args.id {
        Some(id) => match journal::find(&dir, id) {
            Ok(job) => vec![job.state.id],
            Err(e) => {
                eprintln!("ferry: {e}");
                return ExitCode::from(1);
            }
        },
        None => match journal::list(&dir) {
            Ok((jobs, _)) => jobs
                .iter()
                .filter(|j| !j.running)
                .map(|j| j.state.id)
                .collect(),
            Err(e) => {
                eprintln!("ferry: {e}");
                return ExitCode::from(1);
            }
        },
    };
    if ids.is_empty() {
        println!("No interrupted jobs to resume.");
        return ExitCode::SUCCESS;
    }
    let engine = match start_engine() {
        Ok(engine) => engine,
        Err(code) => return code,
    };
    for &id in &ids {
        engine.send(Command::ResumeJournaled(id));
    }
    follow(&engine, &ids, JobOutcome::Completed)
}

/// Runs `ferry rollback`.
pub fn run_rollback(args: RollbackArgs) -> ExitCode {
    let Ok(dir) = data_dir() else {
        return ExitCode::from(1);
    };
    let id = match journal::find(&dir, &args.id) {
        Ok(job) => job.state.id,
        Err(e) => {
            eprintln!("ferry: {e}");
            return ExitCode::from(1);
        }
    };
    let engine = match start_engine() {
        Ok(engine) => engine,
        Err(code) => return code,
    };
    engine.send(Command::RollBack(id));
    follow(&engine, &[id], JobOutcome::RolledBack)
}
