//! The command line: `ferry copy` and friends, on the same engine as the GUI.
//!
//! Exit status: 0 on success, 1 when any file failed (or was refused), 2 for
//! a usage error, 130 when interrupted by a signal (the temps are removed).

use std::process::ExitCode;
use std::sync::LazyLock;
use std::sync::atomic::{AtomicBool, Ordering};

use clap::{Parser, Subcommand};

use crate::engine::control::Control;

mod copy;
mod sweep;

/// Raised by SIGINT/SIGTERM (Ctrl-C on Windows): the engine stops within one
/// chunk and removes its temps.
pub(crate) static INTERRUPTED: AtomicBool = AtomicBool::new(false);

/// Pause/cancel control of the command's work; cancelled on interrupt.
pub(crate) static CONTROL: LazyLock<Control> = LazyLock::new(Control::default);

/// Exit status for a run stopped by a signal (128 + SIGINT, as shells do).
pub(crate) const EXIT_INTERRUPTED: u8 = 130;

#[derive(Debug, Parser)]
#[command(
    name = "ferry",
    version,
    about = "Copy files so that a destination is never half-written",
    arg_required_else_help = true
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Copy files, like cp: DEST is a folder (existing, or when several SRC are given) or a file path.
    Copy(copy::TransferArgs),
    /// List Ferry's leftover temp files (and other tools' partial files).
    Scan(sweep::ScanArgs),
    /// Remove orphaned temp files safely.
    Sweep(sweep::SweepArgs),
}

/// Runs the command line; returns the process exit status.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Err(e) = ctrlc::set_handler(|| {
        INTERRUPTED.store(true, Ordering::SeqCst);
        CONTROL.cancel();
    }) {
        eprintln!("ferry: warning: cannot catch interrupts ({e}); Ctrl-C may leave a temp file");
    }
    match cli.command {
        Command::Copy(args) => copy::run_copy(args),
        Command::Scan(args) => sweep::run_scan(args),
        Command::Sweep(args) => sweep::run_sweep(args),
    }
}

/// Bytes in binary units for people: `1.5 MiB`.
pub fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 6] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
    let mut value = n as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{n} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}
