//! `ferry verify MANIFEST`: read again every file a checksum manifest
//! names and say which are intact, changed or missing.

use std::path::PathBuf;
use std::process::ExitCode;

use super::{EXIT_INTERRUPTED, INTERRUPTED, start_engine};
use ferry_engine::{Command, Event, JobId};
use std::sync::atomic::Ordering;

/// Arguments of `ferry verify`.
#[derive(Debug, clap::Args)]
pub struct VerifyArgs {
    /// A manifest written by `--checksums` (or by `b3sum`).
    #[arg(value_name = "MANIFEST")]
    manifest: PathBuf,
}

/// Runs `ferry verify`.
pub fn run(args: VerifyArgs) -> ExitCode {
    let (engine, _) = match start_engine() {
        Ok(started) => started,
        Err(code) => return code,
    };
    let id = JobId::random();
    engine.send(Command::Verify {
        id,
        manifest: args.manifest.clone(),
    });
    let result = loop {
        match engine.events().recv() {
            Ok(Event::Verified { id: done, result }) if done == id => break result,
            Ok(Event::Warning(w)) => eprintln!("ferry: warning: {w}"),
            Ok(_) => {}
            Err(_) => return ExitCode::from(1),
        }
    };
    let report = match result {
        Ok(report) => report,
        Err(_) if INTERRUPTED.load(Ordering::SeqCst) => {
            eprintln!("ferry: interrupted");
            return ExitCode::from(EXIT_INTERRUPTED);
        }
        Err(e) => {
            eprintln!("ferry: {e}");
            return ExitCode::from(1);
        }
    };
    for path in &report.changed {
        println!("CHANGED  {}", path.display());
    }
    for path in &report.missing {
        println!("MISSING  {}", path.display());
    }
    for (path, why) in &report.unreadable {
        println!("UNREADABLE  {} ({why})", path.display());
    }
    let mut line = format!(
        "{} intact, {} changed, {} missing",
        report.intact,
        report.changed.len(),
        report.missing.len()
    );
    if !report.unreadable.is_empty() {
        line += &format!(", {} unreadable", report.unreadable.len());
    }
    if report.bad_lines > 0 {
        line += &format!(", {} lines not understood", report.bad_lines);
    }
    eprintln!("ferry: {line}");
    if report.all_intact() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}
