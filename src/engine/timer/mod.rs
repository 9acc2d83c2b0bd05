//! The per-user timer that runs scheduled sweeps while Ferry is closed:
//! [`install`], [`remove`] and [`status`] (at the crate root:
//! `install_timer`, `remove_timer`, `timer_status`; the engine's
//! `Command::InstallTimer`, `RemoveTimer` and `TimerStatus` run them for
//! the window).
//!
//! The timer runs a command the caller gives ([`TimerSpec::program`] and
//! [`TimerSpec::args`]; `ferry` gives itself with `sweep --scheduled`),
//! so the sweep it starts is the same scheduled sweep the window runs, with
//! the same settings, rules and clock. Every platform's own scheduler is
//! used, and everything specific to one lives in this module, behind `cfg`:
//!
//! * **Linux**: a systemd *user* timer and service,
//!   `<config home>/systemd/user/ferry-sweep.timer` and `.service`
//!   (`~/.config` unless `XDG_CONFIG_HOME` says otherwise), then
//!   `systemctl --user daemon-reload`, `enable` and `restart` of the timer
//!   when a user manager answers. Where none does (no systemd, a container)
//!   the units are written all the same and [`Installed::manager`] says why
//!   and how to enable them later.
//! * **macOS**: a LaunchAgent, `~/Library/LaunchAgents/org.Ferry.ferry.sweep.plist`
//!   (`StartInterval`, and `RunAtLoad` for the catch-up at login), loaded
//!   with `launchctl bootstrap` (or `load`).
//! * **Windows**: a Task Scheduler task `Ferry sweep` (`schtasks /Create`)
//!   that runs a small `ferry-sweep.cmd` written in Ferry's config folder
//!   (it carries the environment).
//!
//! The engine reads no environment variables here: where the user's folders
//! are comes in a [`TimerPlace`] that the caller fills in. Files are
//! written with Ferry's atomic protocol. Each file Ferry writes carries a
//! `ferry-schedule: every <interval>` comment, which is how [`status`]
//! reads the interval back.
//!
//! ```no_run
//! use ferry_engine::{TimerPlace, TimerSpec, install_timer, remove_timer, timer_status};
//! use std::time::Duration;
//!
//! let place = TimerPlace {
//!     home: "/home/me".into(),
//!     config_home: None,
//!     ferry_config_dir: "/home/me/.config/ferry".into(),
//! };
//! let spec = TimerSpec {
//!     interval: Duration::from_secs(6 * 3600),
//!     program: "/usr/bin/ferry".into(),
//!     args: vec!["sweep".into(), "--scheduled".into()],
//!     env: Vec::new(),
//!     place: place.clone(),
//! };
//! let installed = install_timer(&spec)?;
//! println!("wrote {:?}", installed.files);
//! let status = timer_status(&place, "/home/me/.local/share/ferry".as_ref())?;
//! assert!(status.installed);
//! remove_timer(&place)?;
//! # Ok::<(), ferry_engine::Error>(())
//! ```

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use crate::atomic::{AtomicFile, CommitOptions, ConflictPolicy};
use crate::dirs;
use crate::error::{Error, ErrorKind, Operation, Result};
use crate::sweep::{self, LogRecord, Schedule, Trigger};

#[cfg(target_os = "linux")]
mod linux;
#[cfg(target_os = "linux")]
use linux as os;

#[cfg(target_os = "macos")]
mod macos;
#[cfg(target_os = "macos")]
use macos as os;

#[cfg(windows)]
mod windows;
#[cfg(windows)]
use windows as os;

#[cfg(not(any(target_os = "linux", target_os = "macos", windows)))]
mod unsupported;
#[cfg(not(any(target_os = "linux", target_os = "macos", windows)))]
use unsupported as os;

/// The marker, in a comment of every file Ferry writes for its timer, that
/// is followed by the schedule (`ferry-schedule: every 6h`).
pub const SCHEDULE_MARKER: &str = "ferry-schedule:";

/// Where a user's timer files go: the folders the caller resolved from its
/// environment (the engine reads none).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimerPlace {
    /// The user's home folder (`HOME`; `USERPROFILE` on Windows).
    pub home: PathBuf,
    /// `XDG_CONFIG_HOME` when it is set to an absolute path (Linux); the
    /// units go to `<it>/systemd/user`, else to `~/.config/systemd/user`.
    pub config_home: Option<PathBuf>,
    /// Ferry's own config folder (where Windows' wrapper script goes).
    pub ferry_config_dir: PathBuf,
}

/// The name of the platform's scheduler, for people (`systemd`, …).
pub fn manager_name() -> &'static str {
    os::MANAGER
}

impl TimerPlace {
    /// The files an installed timer consists of, whether or not they exist.
    pub fn files(&self) -> Vec<PathBuf> {
        os::files(self)
    }
}

/// What to install.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimerSpec {
    /// How often a sweep is due (the settings' schedule).
    pub interval: Duration,
    /// The program the timer runs: an absolute path.
    pub program: PathBuf,
    /// Its arguments.
    pub args: Vec<String>,
    /// Environment variables it runs with (`FERRY_CONFIG_DIR`, …).
    pub env: Vec<(String, PathBuf)>,
    /// Where the files go.
    pub place: TimerPlace,
}

/// What the platform's scheduler says about the timer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Manager {
    /// It runs the timer (enabled and started, or loaded).
    Enabled,
    /// The timer is enabled for the next start of the user's scheduler (the
    /// next log-in), but the scheduler did not answer now: why, in words.
    AtNextLogin(String),
    /// It knows the timer but will not run it; its state in its own words
    /// (`disabled`, `inactive`, …).
    NotEnabled(String),
    /// It could not be asked, or refused: why, in words.
    Unreachable(String),
}

/// The result of [`install`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Installed {
    /// The files written.
    pub files: Vec<PathBuf>,
    /// The command the timer runs, as the platform's file spells it.
    pub command: String,
    /// Whether the platform's scheduler took it.
    pub manager: Manager,
    /// When it did not: the commands that enable the written files by hand.
    pub enable_by_hand: Vec<String>,
    /// Anything else worth saying (an interval the platform rounds).
    pub notes: Vec<String>,
}

/// The result of [`remove`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Removed {
    /// The files deleted (empty when nothing was installed).
    pub files: Vec<PathBuf>,
    /// What the platform's scheduler said, when it could not be told
    /// (the timer may still be loaded there until the next log-in).
    pub manager_problem: Option<String>,
}

impl Removed {
    /// Whether anything was installed.
    pub fn was_installed(&self) -> bool {
        !self.files.is_empty()
    }
}

/// The timer's state: see [`status`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimerStatus {
    /// Whether Ferry's timer files are there.
    pub installed: bool,
    /// The files of the timer (those that exist when installed, else where
    /// they would go).
    pub files: Vec<PathBuf>,
    /// The schedule the installed files were written for.
    pub schedule: Option<Schedule>,
    /// The command they run, as the file spells it.
    pub command: Option<String>,
    /// What the platform's scheduler says.
    pub manager: Manager,
    /// When the platform will next start the command, where it tells.
    pub next_run: Option<SystemTime>,
    /// When the platform last started the command, where it tells.
    pub last_run: Option<SystemTime>,
    /// The last scheduled sweep (the window's or the timer's), from the
    /// sweep log and state in the data folder.
    pub last_sweep: Option<LastSweep>,
}

/// The last scheduled sweep, from the sweep log and state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LastSweep {
    /// When it finished.
    pub time: SystemTime,
    /// How many files it removed.
    pub removed: u64,
    /// How many bytes it freed.
    pub freed_bytes: u64,
    /// The files it removed, as the log has them (the log keeps one line
    /// per removed file; a sweep that removed nothing has none).
    pub files: Vec<LogRecord>,
}

/// Writes the timer for `spec` and hands it to the platform's scheduler
/// when that answers. Installing again rewrites the files (a new interval
/// or program) and restarts the timer. Fails when the spec cannot be
/// written (a relative program, an interval under a second, a path the
/// file format cannot hold) or the files cannot be written; a scheduler
/// that does not answer is not a failure ([`Installed::manager`]).
pub fn install(spec: &TimerSpec) -> Result<Installed> {
    if !spec.program.is_absolute() {
        return Err(invalid(
            &spec.program,
            "the program a timer runs must be given by its absolute path",
        ));
    }
    if spec.interval < Duration::from_secs(1) {
        return Err(invalid(
            &spec.program,
            "a timer's interval must be at least one second",
        ));
    }
    os::install(spec)
}

/// Stops and removes the timer; succeeds, removing nothing, when none is
/// installed.
pub fn remove(place: &TimerPlace) -> Result<Removed> {
    os::remove(place)
}

/// Whether the timer is installed, for which schedule, what the platform's
/// scheduler says of it, and the last scheduled sweep recorded in
/// `data_dir`.
pub fn status(place: &TimerPlace, data_dir: &Path) -> Result<TimerStatus> {
    let mut status = os::status(place)?;
    status.last_sweep = last_scheduled_sweep(data_dir)?;
    Ok(status)
}

/// The last scheduled sweep recorded in `data_dir`: the sweep state when
/// the last sweep was a scheduled one, else the newest scheduled sweep in
/// the log (which lists only sweeps that removed something). `None` if
/// there was none.
pub fn last_scheduled_sweep(data_dir: &Path) -> Result<Option<LastSweep>> {
    let state = sweep::load_state_in(data_dir)?;
    let log = sweep::read_log_in(data_dir, usize::MAX)?;
    let scheduled = |r: &&LogRecord| r.trigger == Trigger::Scheduled;
    let logged = log.iter().filter(scheduled).map(|r| r.time).max();
    let from_state = state
        .last_run
        .filter(|_| state.trigger == Some(Trigger::Scheduled));
    let time = match (from_state, logged) {
        (Some(s), Some(l)) => s.max(l),
        (Some(t), None) | (None, Some(t)) => t,
        (None, None) => return Ok(None),
    };
    let files: Vec<LogRecord> = log
        .into_iter()
        .filter(|r| r.trigger == Trigger::Scheduled && r.time == time)
        .collect();
    let (removed, freed_bytes) = if from_state == Some(time) {
        (state.removed, state.freed_bytes)
    } else {
        (files.len() as u64, files.iter().map(|r| r.size).sum())
    };
    Ok(Some(LastSweep {
        time,
        removed,
        freed_bytes,
        files,
    }))
}

/// The `ferry-schedule: …` comment's schedule in `text`, if any.
pub(crate) fn read_marker(text: &str) -> Option<Schedule> {
    text.lines().find_map(|line| {
        let at = line.find(SCHEDULE_MARKER)?;
        let rest = line[at + SCHEDULE_MARKER.len()..].trim();
        // A closing XML comment or the like after the schedule.
        let rest = rest.split("-->").next().unwrap_or(rest).trim();
        rest.parse().ok()
    })
}

/// The marker line's text for `interval` (without a comment sign).
pub(crate) fn marker(interval: Duration) -> String {
    format!("{SCHEDULE_MARKER} {}", Schedule::Every(interval))
}

/// Writes `text` to `path` with the atomic protocol (creating its folder),
/// replacing what is there. Unit files are readable by all on Unix, like
/// the ones systemd and launchd ship.
pub(crate) fn write_file(path: &Path, text: &str) -> Result<()> {
    if let Some(dir) = path.parent() {
        dirs::ensure(dir.to_path_buf())?;
    }
    let mut file = AtomicFile::create(path)?;
    file.write_all(text.as_bytes())
        .map_err(|e| Error::io(Operation::Write, path, e))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        file.set_permissions(fs::Permissions::from_mode(0o644))?;
    }
    file.commit(&CommitOptions::new(ConflictPolicy::Overwrite))?;
    Ok(())
}

/// Reads a timer file; `None` when it does not exist.
pub(crate) fn read_file(path: &Path) -> Result<Option<String>> {
    match fs::read(path) {
        Ok(bytes) => Ok(Some(String::from_utf8_lossy(&bytes).into_owned())),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Error::io(Operation::ReadState, path, e)),
    }
}

/// Deletes the files of `files` that exist; returns those it deleted.
pub(crate) fn delete_files(files: &[PathBuf]) -> Result<Vec<PathBuf>> {
    let mut deleted = Vec::new();
    for path in files {
        match fs::remove_file(path) {
            Ok(()) => deleted.push(path.clone()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(Error::io(Operation::Remove, path, e)),
        }
    }
    Ok(deleted)
}

/// The error for a spec the platform's file format cannot hold.
pub(crate) fn invalid(path: &Path, detail: impl Into<String>) -> Error {
    Error::new(ErrorKind::InvalidInput, Operation::Validate, path, detail)
}

/// A path as text, for files that must be UTF-8 (refused otherwise, and
/// when it holds a line break or another control character).
#[cfg_attr(
    not(any(target_os = "linux", target_os = "macos", windows)),
    allow(dead_code)
)]
pub(crate) fn path_text(path: &Path) -> Result<&str> {
    let text = path.to_str().ok_or_else(|| {
        invalid(
            path,
            "the path is not valid UTF-8, which the timer's file cannot hold; move Ferry \
             (or its folders) to a path with a plain name",
        )
    })?;
    if text.chars().any(char::is_control) {
        return Err(invalid(
            path,
            "the path holds a line break or another control character, which the timer's \
             file cannot hold",
        ));
    }
    Ok(text)
}

/// What a program of the platform's scheduler did.
#[cfg_attr(
    not(any(target_os = "linux", target_os = "macos", windows)),
    allow(dead_code)
)]
pub(crate) struct ToolRun {
    /// Whether it exited 0.
    pub ok: bool,
    /// What it printed on stdout.
    pub stdout: String,
    /// Its command line and the last line it said, for people (stderr,
    /// else stdout).
    pub said: String,
}

#[cfg_attr(
    not(any(target_os = "linux", target_os = "macos", windows)),
    allow(dead_code)
)]
impl ToolRun {
    /// `Ok(stdout)` when it exited 0, else what went wrong in words.
    pub fn result(self) -> std::result::Result<String, String> {
        if self.ok {
            Ok(self.stdout)
        } else {
            Err(self.said)
        }
    }
}

/// Runs a program of the platform's scheduler (found on `PATH`, with
/// Ferry's environment); `Err(why)` in words when it cannot be run.
#[cfg_attr(
    not(any(target_os = "linux", target_os = "macos", windows)),
    allow(dead_code)
)]
pub(crate) fn run_tool(program: &str, args: &[&str]) -> std::result::Result<ToolRun, String> {
    let output = std::process::Command::new(program)
        .args(args)
        .stdin(std::process::Stdio::null())
        .output()
        .map_err(|e| {
            if e.kind() == io::ErrorKind::NotFound {
                format!("{program} was not found")
            } else {
                format!("{program} could not be run: {e}")
            }
        })?;
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr);
    // The last line it printed is the error (earlier ones are progress:
    // `Removed "…"`).
    let said = [stderr.trim(), stdout.trim()]
        .into_iter()
        .find(|s| !s.is_empty())
        .and_then(|s| s.lines().map(str::trim).rfind(|l| !l.is_empty()))
        .map_or_else(
            || format!("it exited with {}", output.status),
            str::to_string,
        );
    Ok(ToolRun {
        ok: output.status.success(),
        stdout,
        said: format!("{program} {}: {said}", args[..args.len().min(3)].join(" ")),
    })
}

/// Runs a program and wants it to succeed: `Ok(stdout)`, or why not.
#[cfg_attr(
    not(any(target_os = "linux", target_os = "macos", windows)),
    allow(dead_code)
)]
pub(crate) fn run_ok(program: &str, args: &[&str]) -> std::result::Result<String, String> {
    run_tool(program, args)?.result()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_marker_round_trips() {
        let interval = Duration::from_secs(90 * 60);
        assert_eq!(
            read_marker(&format!("# {}\n[Unit]\n", marker(interval))),
            Some(Schedule::Every(interval))
        );
        assert_eq!(
            read_marker(&format!("<!-- {} -->", marker(interval))),
            Some(Schedule::Every(interval))
        );
        assert_eq!(read_marker("[Unit]\nDescription=x\n"), None);
    }

    #[test]
    fn the_last_scheduled_sweep_comes_from_the_state_or_the_log() {
        let data = tempfile::tempdir().unwrap();
        assert_eq!(last_scheduled_sweep(data.path()).unwrap(), None);
        // A scheduled sweep that removed a file, then a manual one.
        let dir = tempfile::tempdir().unwrap();
        let orphan = dir.path().join(".a.0011223344556677.ferry-part");
        fs::write(&orphan, b"12345").unwrap();
        let mut request = sweep::SweepRequest::new([dir.path()], Duration::ZERO);
        request.data_dir = Some(data.path().to_path_buf());
        request.trigger = Trigger::Scheduled;
        let report = sweep::run_sweep(&request).unwrap();
        assert_eq!(report.removed.len(), 1);
        request.trigger = Trigger::Manual;
        sweep::run_sweep(&request).unwrap();
        let last = last_scheduled_sweep(data.path()).unwrap().unwrap();
        assert_eq!((last.removed, last.freed_bytes), (1, 5));
        assert_eq!(last.files.len(), 1);
        // A scheduled sweep that removed nothing is the last one now.
        std::thread::sleep(Duration::from_millis(1100));
        request.trigger = Trigger::Scheduled;
        sweep::run_sweep(&request).unwrap();
        let last = last_scheduled_sweep(data.path()).unwrap().unwrap();
        assert_eq!((last.removed, last.freed_bytes), (0, 0));
        assert!(last.files.is_empty());
    }
}
