//! `ferry copy`: copy files through the atomic protocol.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use clap::ValueEnum;

use super::{CONTROL, EXIT_INTERRUPTED, human_bytes};
use crate::engine::atomic::ConflictPolicy;
use crate::engine::copy::{CopyOptions, FileOutcome, copy_file};
use crate::engine::error::ErrorKind;
use crate::engine::plan::plan_copy;

#[derive(Debug, clap::Args)]
pub struct TransferArgs {
    /// What to do when a destination file already exists.
    #[arg(long, value_enum, default_value_t = Policy::Fail)]
    pub on_conflict: Policy,
    /// Files to copy.
    #[arg(value_name = "SRC", required = true)]
    pub sources: Vec<PathBuf>,
    /// Destination folder, or file path for a single source.
    #[arg(value_name = "DEST", required = true)]
    pub dest: PathBuf,
}

/// The conflict policies, as spelled on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Policy {
    /// Replace the existing file atomically.
    Overwrite,
    /// Keep the existing file.
    Skip,
    /// Write beside it as "name (1).ext".
    Rename,
    /// Replace it only if the source is newer.
    Newer,
    /// Refuse and report an error (the default).
    Fail,
}

impl From<Policy> for ConflictPolicy {
    fn from(p: Policy) -> Self {
        match p {
            Policy::Overwrite => Self::Overwrite,
            Policy::Skip => Self::Skip,
            Policy::Rename => Self::Rename,
            Policy::Newer => Self::Newer,
            Policy::Fail => Self::Fail,
        }
    }
}

/// Runs `ferry copy`.
pub fn run_copy(args: TransferArgs) -> ExitCode {
    let plan = match plan_copy(&args.sources, &args.dest) {
        Ok(plan) => plan,
        Err(errors) => {
            for e in &errors {
                eprintln!("ferry: {e}");
            }
            eprintln!("ferry: nothing was copied");
            return ExitCode::from(1);
        }
    };

    let started = Instant::now();
    let options = CopyOptions {
        control: Some(&CONTROL),
        ..CopyOptions::new(args.on_conflict.into())
    };
    let (mut copied, mut skipped, mut failed, mut bytes) = (0usize, 0usize, 0usize, 0u64);
    for file in &plan {
        match copy_file(&file.source, &file.dest, &options, &mut |_| {}) {
            Ok(FileOutcome::Copied { bytes: n, .. }) => {
                copied += 1;
                bytes += n;
            }
            Ok(FileOutcome::Skipped) => {
                skipped += 1;
                eprintln!(
                    "ferry: skipped '{}': it already exists",
                    file.dest.display()
                );
            }
            Err(e) if e.kind() == ErrorKind::Cancelled => {
                eprintln!(
                    "ferry: interrupted; '{}' was left as it was",
                    file.dest.display()
                );
                return ExitCode::from(EXIT_INTERRUPTED);
            }
            Err(e) => {
                failed += 1;
                eprintln!("ferry: {e}");
            }
        }
    }
    eprintln!(
        "ferry: copied {copied} file{} ({}) in {:.2?}{}{}",
        if copied == 1 { "" } else { "s" },
        human_bytes(bytes),
        started.elapsed(),
        if skipped > 0 {
            format!(", {skipped} skipped")
        } else {
            String::new()
        },
        if failed > 0 {
            format!(", {failed} failed")
        } else {
            String::new()
        },
    );
    if failed > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}
