//! `ferry copy` and `ferry move`: queue one job on the engine and follow it.

use std::path::PathBuf;
use std::process::ExitCode;

use super::follow::follow;
use super::start_engine;
use ferry_engine::{ConflictPolicy, JobOutcome, JobSpec, TransferKind};

/// Options shared by `copy` and `move`.
#[derive(Debug, clap::Args)]
pub struct TransferArgs {
    /// What to do when a destination file already exists.
    #[arg(long, value_enum, default_value_t = ConflictPolicy::Fail)]
    pub on_conflict: ConflictPolicy,
    /// Check each copy against its source, read back from the disk, before
    /// it becomes visible.
    #[arg(long)]
    pub verify: bool,
    /// Undo the whole job if any file fails or the job is cancelled.
    #[arg(long)]
    pub all_or_nothing: bool,
    /// Write a checksum manifest (b3sum format: BLAKE3 of the bytes read
    /// during the copy) of the copied files to FILE; check it later with
    /// `ferry verify FILE`.
    #[arg(long, value_name = "FILE")]
    pub checksums: Option<PathBuf>,
    /// Files and folders to transfer.
    #[arg(value_name = "SRC", required = true)]
    pub sources: Vec<PathBuf>,
    /// Destination folder, or target path for a single source.
    #[arg(value_name = "DEST", required = true)]
    pub dest: PathBuf,
}

/// Runs `ferry copy` or `ferry move`.
pub fn run(kind: TransferKind, args: TransferArgs) -> ExitCode {
    let (engine, _) = match start_engine() {
        Ok(started) => started,
        Err(code) => return code,
    };
    let spec = JobSpec {
        kind,
        sources: args.sources,
        dest: args.dest,
        policy: args.on_conflict,
        verify: args.verify,
        all_or_nothing: args.all_or_nothing,
        pairs: Vec::new(),
        checksums: args.checksums,
    };
    let id = engine.enqueue(spec);
    follow(&engine, &[id], JobOutcome::Completed)
}
