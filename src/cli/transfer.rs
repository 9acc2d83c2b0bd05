//! `ferry copy` and `ferry move`: queue one job on the engine and follow it.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::ValueEnum;

use super::follow::follow;
use super::start_engine;
use ferry_engine::atomic::ConflictPolicy;
use ferry_engine::job::{JobOutcome, JobSpec, TransferKind};

/// Options shared by `copy` and `move`.
#[derive(Debug, clap::Args)]
pub struct TransferArgs {
    /// What to do when a destination file already exists.
    #[arg(long, value_enum, default_value_t = Policy::Fail)]
    pub on_conflict: Policy,
    /// Check each copy against its source, read back from the disk, before
    /// it becomes visible.
    #[arg(long)]
    pub verify: bool,
    /// Undo the whole job if any file fails or the job is cancelled.
    #[arg(long)]
    pub all_or_nothing: bool,
    /// Files and folders to transfer.
    #[arg(value_name = "SRC", required = true)]
    pub sources: Vec<PathBuf>,
    /// Destination folder, or target path for a single source.
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

/// Runs `ferry copy` or `ferry move`.
pub fn run(kind: TransferKind, args: TransferArgs) -> ExitCode {
    let engine = match start_engine() {
        Ok(engine) => engine,
        Err(code) => return code,
    };
    let spec = JobSpec {
        kind,
        sources: args.sources,
        dest: args.dest,
        policy: args.on_conflict.into(),
        verify: args.verify,
        all_or_nothing: args.all_or_nothing,
    };
    let id = engine.enqueue(spec);
    follow(&engine, &[id], JobOutcome::Completed)
}
