//! `ferry scan` and `ferry sweep` (being built: issue 4).

use std::path::PathBuf;
use std::process::ExitCode;

/// Arguments of `ferry scan`.
#[derive(Debug, clap::Args)]
pub struct ScanArgs {
    /// Folders to look in.
    roots: Vec<PathBuf>,
}

/// Arguments of `ferry sweep`.
#[derive(Debug, clap::Args)]
pub struct SweepArgs {
    /// Folders to look in.
    roots: Vec<PathBuf>,
}

/// Runs `ferry scan`.
pub fn run_scan(args: ScanArgs) -> ExitCode {
    eprintln!("ferry: scan is not available yet ({:?})", args.roots);
    ExitCode::from(2)
}

/// Runs `ferry sweep`.
pub fn run_sweep(args: SweepArgs) -> ExitCode {
    eprintln!("ferry: sweep is not available yet ({:?})", args.roots);
    ExitCode::from(2)
}
