//! The command line: `ferry copy` and friends, on the same engine as the GUI.
//!
//! Exit status: 0 on success, 1 when any file failed (or was refused), 2 for
//! a usage error, 130 when interrupted by a signal (the temps are removed).

use std::process::ExitCode;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, Ordering};

use clap::{Parser, Subcommand};

use crossbeam_channel::Sender;

use ferry_engine::{Command as EngineCommand, Engine, EngineConfig, Settings, TransferKind};

mod follow;
mod jobs;
mod schedule;
mod sweep;
mod transfer;
mod verify;

/// Raised by SIGINT/SIGTERM (Ctrl-C on Windows): the engine stops within one
/// chunk and removes its temps.
pub(crate) static INTERRUPTED: AtomicBool = AtomicBool::new(false);

/// The running engine's command channel, for the signal handler.
static ENGINE_COMMANDS: OnceLock<Sender<EngineCommand>> = OnceLock::new();

/// Exit status for a run stopped by a signal (128 + SIGINT, as shells do).
pub(crate) const EXIT_INTERRUPTED: u8 = 130;

#[derive(Debug, Parser)]
#[command(
    name = "ferry",
    version,
    about = "Copy files so that a destination is never half-written"
)]
struct Cli {
    // Without a command, the desktop window opens.
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Copy files and folders, like cp -r: DEST is a folder (existing, or
    /// when several SRC are given) or a target path.
    Copy(transfer::TransferArgs),
    /// Move files and folders: each source is removed only once its copy is
    /// durable (a rename within one filesystem).
    Move(transfer::TransferArgs),
    /// Read again the files a checksum manifest names (`--checksums`):
    /// exit 0 if all are intact, 1 if any is missing or changed.
    Verify(verify::VerifyArgs),
    /// List unfinished (journaled) jobs.
    Jobs(jobs::JobsArgs),
    /// Finish interrupted jobs.
    Resume(jobs::ResumeArgs),
    /// Undo an interrupted all-or-nothing job.
    Rollback(jobs::RollbackArgs),
    /// List Ferry's leftover temp files (and other tools' partial files).
    Scan(sweep::ScanArgs),
    /// Remove orphaned temp files safely.
    Sweep(sweep::SweepArgs),
    /// The per-user timer that sweeps while the window is closed:
    /// install, remove or status.
    Schedule(schedule::ScheduleArgs),
}

/// Runs the command line; returns the process exit status.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let Some(command) = cli.command else {
        return open_window();
    };
    if let Err(e) = ctrlc::set_handler(|| {
        INTERRUPTED.store(true, Ordering::SeqCst);
        if let Some(commands) = ENGINE_COMMANDS.get() {
            let _ = commands.send(EngineCommand::Interrupt);
        }
    }) {
        eprintln!("ferry: warning: cannot catch interrupts ({e}); Ctrl-C may leave a temp file");
    }
    match command {
        Command::Copy(args) => transfer::run(TransferKind::Copy, args),
        Command::Move(args) => transfer::run(TransferKind::Move, args),
        Command::Verify(args) => verify::run(args),
        Command::Jobs(args) => jobs::run_jobs(args),
        Command::Resume(args) => jobs::run_resume(args),
        Command::Rollback(args) => jobs::run_rollback(args),
        Command::Scan(args) => sweep::run_scan(args),
        Command::Sweep(args) => sweep::run_sweep(args),
        Command::Schedule(args) => schedule::run(args),
    }
}

/// Opens the desktop window (builds with the `gui` feature).
#[cfg(feature = "gui")]
fn open_window() -> ExitCode {
    let config = crate::env::dirs()
        .map_err(|e| e.to_string())
        .and_then(|dirs| ferry_ui::AppConfig::with_dirs(dirs.data, &dirs.config))
        .map(|config| config.with_timer(schedule::timer_host()));
    match config {
        Ok(config) => ferry_ui::run(config),
        Err(e) => {
            eprintln!("ferry: {e}");
            ExitCode::from(1)
        }
    }
}

/// Without the `gui` feature there is no window: say how to use the command
/// line instead.
#[cfg(not(feature = "gui"))]
fn open_window() -> ExitCode {
    eprintln!(
        "ferry: this build has no window (built without the `gui` feature); see ferry --help"
    );
    ExitCode::from(2)
}

/// The data directory (journals, logs), created if needed; errors are
/// printed.
pub(crate) fn data_dir() -> Result<std::path::PathBuf, ()> {
    crate::env::dirs()
        .and_then(|d| ferry_engine::ensure_dir(d.data))
        .map_err(|e| eprintln!("ferry: {e}"))
}

/// The settings (defaults where the file is missing or unusable; the
/// reasons are printed as warnings).
pub(crate) fn load_settings() -> Settings {
    let loaded =
        crate::env::dirs().and_then(|d| Settings::load_from(&Settings::path_in(&d.config)));
    match loaded {
        Ok((settings, warnings)) => {
            for warning in warnings {
                eprintln!("ferry: warning: {warning}");
            }
            settings
        }
        Err(e) => {
            eprintln!("ferry: warning: {e}; the default settings are in use");
            Settings::default()
        }
    }
}

/// Starts the engine for one command, wired to the interrupt handler, with
/// the settings (warnings printed); returns it and the settings it runs
/// with.
pub(crate) fn start_engine() -> Result<(Engine, Settings), ExitCode> {
    let data_dir = data_dir().map_err(|()| ExitCode::from(1))?;
    let settings = load_settings();
    let engine = Engine::start(EngineConfig {
        workers: settings.transfer.workers,
        settings: settings.clone(),
        // Scheduled sweeps belong to the long-running app, not to one
        // command (`ferry sweep --scheduled` asks for one explicitly).
        scheduled_sweeps: false,
        ..EngineConfig::new(data_dir)
    });
    let _ = ENGINE_COMMANDS.set(engine.commands());
    if INTERRUPTED.load(Ordering::SeqCst) {
        engine.send(EngineCommand::Interrupt);
    }
    Ok((engine, settings))
}

pub(crate) use ferry_engine::format::bytes as human_bytes;

/// A path as a line of a report shows it: control characters written as
/// escapes (`\n`, `\u{1b}`), like `ls -b`, so a newline in a file's name
/// cannot forge a line of its own ("removed … thesis.pdf").
pub(crate) fn shown(path: &std::path::Path) -> String {
    let text = path.to_string_lossy();
    if !text.chars().any(char::is_control) {
        return text.into_owned();
    }
    let mut shown = String::with_capacity(text.len());
    for c in text.chars() {
        if c.is_control() {
            shown.extend(c.escape_default());
        } else {
            shown.push(c);
        }
    }
    shown
}
