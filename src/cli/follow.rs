//! Following jobs on the engine from a terminal: a progress bar when stderr
//! is a terminal (quiet when piped), then one summary line per job.

use std::collections::HashSet;
use std::io::IsTerminal;
use std::process::ExitCode;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};

use super::{EXIT_INTERRUPTED, INTERRUPTED, human_bytes};
use ferry_engine::{Engine, Event, FileError, JobId, JobOutcome, JobSummary, TransferKind};
use std::sync::atomic::Ordering;

/// Waits for every job in `ids` to finish, showing progress, and returns the
/// exit status: 0 if all ended with `success` (completed, or rolled back for
/// `ferry rollback`), 130 if interrupted, 1 otherwise.
pub fn follow(engine: &Engine, ids: &[JobId], success: JobOutcome) -> ExitCode {
    let mut waiting: HashSet<JobId> = ids.iter().copied().collect();
    let bar = std::io::stderr().is_terminal().then(new_bar);
    let mut kinds = std::collections::HashMap::new();
    let mut worst = 0u8;
    while !waiting.is_empty() {
        let Ok(event) = engine.events().recv() else {
            break;
        };
        match event {
            Event::Queued { id, spec } => {
                kinds.insert(id, (spec.kind, spec.all_or_nothing));
            }
            Event::Progress(p) if waiting.contains(&p.id) => {
                if let Some(bar) = &bar {
                    bar.set_length(p.bytes_total);
                    bar.set_position(p.bytes_done);
                    let eta = p
                        .eta
                        .map(|d| {
                            humantime::format_duration(Duration::from_secs(d.as_secs())).to_string()
                        })
                        .unwrap_or_else(|| "–".into());
                    let state = if p.paused { " (paused)" } else { "" };
                    bar.set_message(format!(
                        "{}/{} files, {}/s, ETA {eta}{state}",
                        p.files_done,
                        p.files_total,
                        human_bytes(p.rate as u64)
                    ));
                }
            }
            Event::Finished { id, summary } if waiting.remove(&id) => {
                if let Some(bar) = &bar {
                    bar.suspend(|| {});
                }
                let (kind, all_or_nothing) = kinds.get(&id).copied().unwrap_or_default();
                report(id, kind, all_or_nothing, &summary);
                worst = worst.max(exit_code(&summary, success));
            }
            Event::Warning(w) => eprintln!("ferry: warning: {w}"),
            _ => {}
        }
    }
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    ExitCode::from(worst)
}

fn new_bar() -> ProgressBar {
    let bar = ProgressBar::new(0);
    bar.set_style(
        ProgressStyle::with_template(
            "{bar:30.cyan/blue} {binary_bytes}/{binary_total_bytes} {msg}",
        )
        .expect("the template is valid")
        .progress_chars("█▉▊▋▌▍▎▏ "),
    );
    bar.enable_steady_tick(Duration::from_millis(200));
    bar
}

fn exit_code(summary: &JobSummary, success: JobOutcome) -> u8 {
    match summary.outcome {
        outcome if outcome == success && summary.failed.is_empty() => 0,
        _ if INTERRUPTED.load(Ordering::SeqCst) => EXIT_INTERRUPTED,
        _ => 1,
    }
}

/// Failures with the same reason beyond this many are shown as one group.
const GROUP_OVER: usize = 3;

/// Prints failures, grouping those that failed for the same reason: a
/// read-only destination is one message with the first few names, not one
/// line per file.
fn print_failures(failed: &[FileError]) {
    let mut groups: Vec<(&str, &str, Vec<&FileError>)> = Vec::new();
    // What a folder held fails with the folder's own message: said once.
    let mut said = std::collections::HashSet::new();
    for failure in failed {
        if !said.insert(failure.message.as_str()) {
            continue;
        }
        match groups
            .iter_mut()
            .find(|(kind, reason, _)| *kind == failure.kind && *reason == failure.reason)
        {
            Some((_, _, members)) if !failure.reason.is_empty() => members.push(failure),
            _ => groups.push((&failure.kind, &failure.reason, vec![failure])),
        }
    }
    for (_, reason, members) in groups {
        if members.len() <= GROUP_OVER {
            for failure in members {
                eprintln!("ferry: {}", failure.message);
            }
            continue;
        }
        let names: Vec<String> = members
            .iter()
            .take(GROUP_OVER)
            .map(|f| format!("'{}'", f.path.display()))
            .collect();
        eprintln!(
            "ferry: {} files failed: {reason}; first: {}, and {} more",
            members.len(),
            names.join(", "),
            members.len() - GROUP_OVER
        );
    }
}

/// Prints a job's errors, warnings and one summary line, to stderr.
fn report(id: JobId, kind: TransferKind, all_or_nothing: bool, summary: &JobSummary) {
    print_failures(&summary.failed);
    for warning in &summary.warnings {
        eprintln!("ferry: warning: {warning}");
    }
    let verb = match kind {
        TransferKind::Copy => "copied",
        TransferKind::Move => "moved",
    };
    let files = |n: u64| format!("{n} file{}", if n == 1 { "" } else { "s" });
    let mut line = match summary.outcome {
        JobOutcome::Failed if summary.method == "rollback" => format!(
            "job {id} could not be rolled back completely (see above); its journal was kept \
             (`ferry jobs`)"
        ),
        JobOutcome::Failed if summary.files_done == 0 && summary.previously_done == 0 => {
            format!("nothing was {verb}")
        }
        JobOutcome::RolledBack => {
            format!("rolled back: the destination is as it was before job {id}")
        }
        JobOutcome::Cancelled if INTERRUPTED.load(Ordering::SeqCst) && summary.resumable => {
            format!(
                "interrupted after {} ({}); unfinished files were left as they were. \
                 Run `ferry resume {id}` to finish{}",
                files(summary.files_done),
                human_bytes(summary.bytes_done),
                if all_or_nothing {
                    format!(", or `ferry rollback {id}` to put the destination back as it was")
                } else {
                    String::new()
                }
            )
        }
        JobOutcome::Cancelled if INTERRUPTED.load(Ordering::SeqCst) => {
            "interrupted before anything was done; nothing was changed".to_string()
        }
        JobOutcome::Cancelled => format!(
            "cancelled after {} ({}); unfinished files were left as they were",
            files(summary.files_done),
            human_bytes(summary.bytes_done)
        ),
        _ if summary.method.is_empty() => format!(
            "{verb} {} ({}) in {:.2?}",
            files(summary.files_done),
            human_bytes(summary.bytes_done),
            summary.elapsed
        ),
        _ => format!(
            "{verb} {} ({}) in {:.2?} by {}",
            files(summary.files_done),
            human_bytes(summary.bytes_done),
            summary.elapsed,
            summary.method
        ),
    };
    if summary.previously_done > 0 {
        line += &format!(
            ", {} done before the interruption",
            files(summary.previously_done)
        );
    }
    if summary.skipped > 0 {
        line += &format!(", {} skipped (already there)", summary.skipped);
    }
    // Folders not made, entries the drive cannot hold (refused up front:
    // links onto FAT, names it refuses, files over its size limit), and
    // real failures are counted apart; each makes the exit status 1.
    let folders = summary.failed.iter().filter(|f| f.folder).count();
    let not_copied = summary
        .failed
        .iter()
        .filter(|f| !f.folder && f.kind == "unsupported")
        .count();
    let failed_files = summary.failed.len() - folders - not_copied;
    if failed_files > 0 {
        line += &format!(", {failed_files} failed");
    }
    if not_copied > 0 {
        line += &format!(", {not_copied} not copied (see above why)");
    }
    if folders > 0 {
        line += &format!(
            ", {folders} folder{} not created",
            if folders == 1 { "" } else { "s" }
        );
    }
    eprintln!("ferry: {line}");
}
