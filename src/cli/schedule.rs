//! `ferry schedule install|remove|status`: the per-user timer that runs
//! scheduled sweeps while Ferry is closed, through the engine's timer
//! calls (`ferry_engine::install_timer`, `remove_timer`, `timer_status`):
//! they say what was written and what the platform's scheduler answered,
//! which this command prints in full.
//!
//! The timer runs this very executable as `ferry sweep --scheduled`, with
//! `FERRY_CONFIG_DIR` and `FERRY_DATA_DIR` when they are set, so it sweeps
//! with the same settings as the window. Where the user's folders are
//! (`HOME`, `XDG_CONFIG_HOME`; `USERPROFILE` on Windows) is read here and
//! handed to the engine, which reads no environment variables.
//!
//! Exit status: 0 done (also when the timer was written but no scheduler
//! answered, and when `remove` found nothing to remove), 1 when the
//! schedule is off (`install`) or a file could not be written or read, 2 a
//! usage error.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::SystemTime;

use clap::Subcommand;

use super::human_bytes;
use ferry_engine::{
    Schedule, Scheduler, Settings, TimerInstalled, TimerManager as Manager, TimerPlace, TimerSpec,
    TimerStatus,
};

/// Arguments of `ferry schedule`.
#[derive(Debug, clap::Args)]
pub struct ScheduleArgs {
    #[command(subcommand)]
    action: Action,
}

#[derive(Debug, Subcommand)]
enum Action {
    /// Write (or rewrite) the timer for the settings' schedule and enable
    /// it: a systemd user timer on Linux, a LaunchAgent on macOS, a Task
    /// Scheduler task on Windows.
    Install,
    /// Stop and delete the timer.
    Remove,
    /// Whether the timer is installed, its interval, where its files are,
    /// whether it is enabled, and the last scheduled sweep.
    Status,
}

/// Runs `ferry schedule …`.
pub fn run(args: ScheduleArgs) -> ExitCode {
    let place = match place() {
        Ok(place) => place,
        Err(message) => {
            eprintln!("ferry: {message}");
            return ExitCode::from(1);
        }
    };
    match args.action {
        Action::Install => install(place),
        Action::Remove => remove(&place),
        Action::Status => status(&place),
    }
}

/// What the engine needs to install the timer from the window: where it
/// goes, this program and its folder overrides (`None` when there is no
/// home folder or this program's path cannot be told).
#[cfg(feature = "gui")]
pub(crate) fn timer_host() -> Option<ferry_engine::TimerHost> {
    Some(ferry_engine::TimerHost {
        place: place().ok()?,
        program: std::env::current_exe().ok()?,
        env: timer_env(),
    })
}

/// The user's folders, from the environment.
fn place() -> Result<TimerPlace, String> {
    let var = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty());
    let home_var = if cfg!(windows) { "USERPROFILE" } else { "HOME" };
    let home = var(home_var).map(PathBuf::from).ok_or_else(|| {
        format!("{home_var} is not set, so there is no home folder to put the timer in")
    })?;
    // The XDG spec ignores a relative XDG_CONFIG_HOME.
    let config_home = var("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute());
    let ferry_config_dir = crate::env::dirs().map_err(|e| e.to_string())?.config;
    Ok(TimerPlace {
        home,
        config_home,
        ferry_config_dir,
    })
}

/// The settings (warnings on stderr; defaults if they cannot be read).
fn settings() -> Settings {
    super::load_settings()
}

fn settings_path() -> String {
    crate::env::dirs()
        .map(|d| format!(" ('{}')", Settings::path_in(&d.config).display()))
        .unwrap_or_default()
}

/// The timer's environment: Ferry's folder overrides, when set, as
/// absolute paths (the timer does not start in this folder).
fn timer_env() -> Vec<(String, PathBuf)> {
    [crate::env::CONFIG_DIR_ENV, crate::env::DATA_DIR_ENV]
        .into_iter()
        .filter_map(|name| {
            let value = std::env::var_os(name).filter(|v| !v.is_empty())?;
            let path = PathBuf::from(value);
            let path = std::path::absolute(&path).unwrap_or(path);
            Some((name.to_string(), path))
        })
        .collect()
}

fn install(place: TimerPlace) -> ExitCode {
    let settings = settings();
    let Schedule::Every(interval) = settings.sweep.schedule else {
        eprintln!(
            "ferry: scheduled sweeps are off in the settings{}, so there is nothing for a timer \
             to run; set a schedule first (Settings → scheduled sweeps in the window, or \
             \"schedule\": \"every 6h\" in the file's \"sweep\" section), then run 'ferry \
             schedule install' again",
            settings_path()
        );
        return ExitCode::from(1);
    };
    let program = match std::env::current_exe() {
        Ok(path) if path.is_file() => path,
        Ok(path) => {
            eprintln!(
                "ferry: this program's file '{}' is gone (replaced while it ran?); run the \
                 installed ferry again",
                path.display()
            );
            return ExitCode::from(1);
        }
        Err(e) => {
            eprintln!("ferry: cannot tell where this program is: {e}");
            return ExitCode::from(1);
        }
    };
    let Ok(data_dir) = super::data_dir() else {
        return ExitCode::from(1);
    };
    // Installing counts as setting the schedule, if nothing recorded when
    // it was set: the first sweep comes one interval later, as in the app.
    let scheduler = Scheduler::start_in(settings.sweep.schedule, &data_dir, SystemTime::now());
    let spec = TimerSpec {
        interval,
        program,
        args: vec!["sweep".into(), "--scheduled".into()],
        env: timer_env(),
        place,
    };
    let installed = match ferry_engine::install_timer(&spec) {
        Ok(installed) => installed,
        Err(e) => {
            eprintln!("ferry: the timer was not installed: {e}");
            return ExitCode::from(1);
        }
    };
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Installed the timer for scheduled sweeps {} while Ferry is closed:",
        settings.sweep.schedule
    );
    for file in &installed.files {
        let _ = writeln!(out, "  {}", file.display());
    }
    let _ = writeln!(out, "It runs: {}", installed.command);
    let manager = ferry_engine::timer_manager();
    match &installed.manager {
        Manager::Enabled => {
            let _ = writeln!(out, "{manager} has enabled it.");
        }
        Manager::AtNextLogin(why) => {
            let _ = writeln!(
                out,
                "It is enabled for your next log-in, but {manager} did not answer now ({why})."
            );
            by_hand(&mut out, "To start it without logging in again", &installed);
        }
        Manager::NotEnabled(why) | Manager::Unreachable(why) => {
            let _ = writeln!(
                out,
                "It is written but not enabled: {manager} could not take it ({why})."
            );
            by_hand(&mut out, "To enable it", &installed);
        }
    }
    for note in &installed.notes {
        let _ = writeln!(out, "Note: {note}.");
    }
    let now = SystemTime::now();
    if let Some(due) = scheduler.next_due(now) {
        if due <= now {
            let _ = writeln!(
                out,
                "A scheduled sweep is due now (it was due at {}): the timer's next run sweeps.",
                time(due)
            );
        } else {
            let _ = writeln!(out, "The next scheduled sweep is due at {}.", time(due));
        }
    }
    let _ = writeln!(out, "{}", what_it_removes(&settings));
    print!("{out}");
    ExitCode::SUCCESS
}

/// The commands that enable the timer by hand, if any.
fn by_hand(out: &mut String, what: &str, installed: &TimerInstalled) {
    if !installed.enable_by_hand.is_empty() {
        let _ = writeln!(out, "{what} (in a session of this user), run:");
        for command in &installed.enable_by_hand {
            let _ = writeln!(out, "  {command}");
        }
    }
}

/// What a scheduled sweep removes under these settings, in one sentence.
fn what_it_removes(settings: &Settings) -> String {
    let sweep = &settings.sweep;
    let threshold = humantime::format_duration(sweep.threshold);
    if sweep.foreign_patterns.is_empty() || !sweep.foreign_in_schedule {
        format!(
            "Scheduled sweeps remove Ferry's own orphans (unlocked, older than {threshold}) \
             only."
        )
    } else {
        format!(
            "Scheduled sweeps remove Ferry's own orphans (unlocked, older than {threshold}) and \
             the enabled patterns of other tools' files once they are {} old.",
            humantime::format_duration(sweep.foreign_min_age)
        )
    }
}

fn remove(place: &TimerPlace) -> ExitCode {
    let removed = match ferry_engine::remove_timer(place) {
        Ok(removed) => removed,
        Err(e) => {
            eprintln!("ferry: the timer was not removed: {e}");
            return ExitCode::from(1);
        }
    };
    if !removed.was_installed() {
        let where_ = place
            .files()
            .first()
            .and_then(|f| f.parent())
            .map(|d| format!(" (nothing in {})", d.display()))
            .unwrap_or_default();
        println!("No timer for scheduled sweeps was installed{where_}: nothing to remove.");
        return ExitCode::SUCCESS;
    }
    println!("Removed the timer for scheduled sweeps:");
    for file in &removed.files {
        println!("  {}", file.display());
    }
    if let Some(problem) = &removed.manager_problem {
        println!(
            "Note: {} could not be told ({problem}); a running one forgets the timer at its \
             next reload or log-in.",
            ferry_engine::timer_manager()
        );
    }
    println!("Scheduled sweeps still run while Ferry's window is open, by the settings.");
    ExitCode::SUCCESS
}

fn status(place: &TimerPlace) -> ExitCode {
    let settings = settings();
    let status =
        match crate::env::dirs().and_then(|dirs| ferry_engine::timer_status(place, &dirs.data)) {
            Ok(status) => status,
            Err(e) => {
                eprintln!("ferry: {e}");
                return ExitCode::from(1);
            }
        };
    print!("{}", status_text(&status, settings.sweep.schedule));
    ExitCode::SUCCESS
}

fn time(t: SystemTime) -> String {
    humantime::format_rfc3339_seconds(t).to_string()
}

fn status_text(status: &TimerStatus, settings: Schedule) -> String {
    let mut out = String::new();
    let files = |out: &mut String, label: &str, files: &[PathBuf]| {
        for (i, file) in files.iter().enumerate() {
            let label = if i == 0 { label } else { "" };
            let _ = writeln!(out, "  {label:<10}{}", file.display());
        }
    };
    let manager = ferry_engine::timer_manager();
    if status.installed {
        let interval = status
            .schedule
            .map_or_else(|| "interval unknown".to_string(), |s| s.to_string());
        let _ = writeln!(
            out,
            "Scheduled sweeps while Ferry is closed: installed, {interval}"
        );
        files(&mut out, "files:", &status.files);
        if let Some(command) = &status.command {
            let _ = writeln!(out, "  {:<10}{command}", "runs:");
        }
        let state = match &status.manager {
            Manager::Enabled => "enabled".to_string(),
            Manager::AtNextLogin(why) => {
                format!("enabled, to start at the next log-in (not running now: {why})")
            }
            Manager::NotEnabled(state) => format!("not enabled ({state})"),
            Manager::Unreachable(why) => format!("could not be asked ({why})"),
        };
        let _ = writeln!(out, "  {:<10}{state}", format!("{manager}:"));
        if let Some(next) = status.next_run {
            let _ = writeln!(out, "  {:<10}{}", "next run:", time(next));
        }
        if let Some(last) = status.last_run {
            let _ = writeln!(out, "  {:<10}{}", "last run:", time(last));
        }
        if status.schedule != Some(settings) {
            let advice = if settings == Schedule::Off {
                "run 'ferry schedule remove' (the timer's runs do nothing meanwhile)"
            } else {
                "run 'ferry schedule install' again to follow them"
            };
            let _ = writeln!(
                out,
                "The settings now say {settings}{}: {advice}.",
                settings_path()
            );
        }
    } else {
        let _ = writeln!(
            out,
            "Scheduled sweeps while Ferry is closed: not installed ('ferry schedule install' \
             installs them; the settings say {settings})"
        );
        files(&mut out, "would be:", &status.files);
    }
    match &status.last_sweep {
        None => {
            let _ = writeln!(out, "Last scheduled sweep: none recorded");
        }
        Some(last) => {
            let n = last.removed;
            let _ = writeln!(
                out,
                "Last scheduled sweep: {}, removed {n} file{} ({})",
                time(last.time),
                if n == 1 { "" } else { "s" },
                human_bytes(last.freed_bytes)
            );
            const SHOWN: usize = 10;
            for record in last.files.iter().take(SHOWN) {
                let _ = writeln!(out, "  {}", record.path.display());
            }
            if last.files.len() > SHOWN {
                let _ = writeln!(out, "  … and {} more", last.files.len() - SHOWN);
            }
        }
    }
    out
}
