//! Windows: a Task Scheduler task (`schtasks /Create`) that runs a small
//! `ferry-sweep.cmd` in Ferry's config folder (the script carries the
//! environment, which a task cannot). Task Scheduler repeats a task every
//! 1 to 1439 minutes or every so many days; other intervals are rounded
//! and [`Installed::notes`] says so.

use std::path::PathBuf;
use std::time::Duration;

use super::{
    Installed, Manager, Removed, TimerPlace, TimerSpec, TimerStatus, delete_files, marker,
    path_text, read_file, read_marker, run_ok, run_tool, write_file,
};
use crate::error::Result;

/// The scheduler, for people.
pub const MANAGER: &str = "Task Scheduler";

/// The task's name.
pub const TASK: &str = "Ferry sweep";
/// The script the task runs, in Ferry's config folder.
pub const SCRIPT: &str = "ferry-sweep.cmd";

fn script_path(place: &TimerPlace) -> PathBuf {
    place.ferry_config_dir.join(SCRIPT)
}

pub fn files(place: &TimerPlace) -> Vec<PathBuf> {
    vec![script_path(place)]
}

/// Text for a batch file: `%` doubled.
fn batch(text: &str) -> String {
    text.replace('%', "%%")
}

fn script(spec: &TimerSpec) -> Result<String> {
    let mut text = format!(
        "@echo off\r\n\
         rem Written by `ferry schedule install`; `ferry schedule remove` removes it.\r\n\
         rem {}\r\n",
        marker(spec.interval)
    );
    for (name, value) in &spec.env {
        text.push_str(&format!(
            "set \"{}={}\"\r\n",
            batch(name),
            batch(path_text(value)?)
        ));
    }
    text.push_str(&format!("\"{}\"", batch(path_text(&spec.program)?)));
    for arg in &spec.args {
        text.push(' ');
        text.push_str(&batch(arg));
    }
    text.push_str("\r\n");
    Ok(text)
}

/// `/SC` and `/MO` for an interval, and a note when it had to be rounded.
fn schedule(interval: Duration) -> (&'static str, u64, Option<String>) {
    let minutes = interval.as_secs().div_ceil(60).max(1);
    if minutes < 1440 {
        let note = (!interval.as_secs().is_multiple_of(60))
            .then(|| format!("Task Scheduler counts in minutes: it runs every {minutes} minutes"));
        return ("MINUTE", minutes, note);
    }
    let days = ((minutes + 720) / 1440).clamp(1, 365);
    let note = (minutes != days * 1440).then(|| {
        format!("Task Scheduler repeats daily tasks in whole days: it runs every {days} day(s)")
    });
    ("DAILY", days, note)
}

pub fn install(spec: &TimerSpec) -> Result<Installed> {
    let path = script_path(&spec.place);
    write_file(&path, &script(spec)?)?;
    let (kind, every, note) = schedule(spec.interval);
    let every = every.to_string();
    let run = format!("\"{}\"", path.display());
    let created = run_ok(
        "schtasks",
        &[
            "/Create", "/F", "/TN", TASK, "/SC", kind, "/MO", &every, "/TR", &run,
        ],
    );
    let (manager, enable_by_hand) = match created {
        Ok(_) => (Manager::Enabled, Vec::new()),
        Err(why) => (
            Manager::Unreachable(why),
            vec![format!(
                "schtasks /Create /F /TN \"{TASK}\" /SC {kind} /MO {every} /TR \"\\\"{}\\\"\"",
                path.display()
            )],
        ),
    };
    Ok(Installed {
        files: vec![path.clone()],
        command: path.display().to_string(),
        manager,
        enable_by_hand,
        notes: note.into_iter().collect(),
    })
}

pub fn remove(place: &TimerPlace) -> Result<Removed> {
    let path = script_path(place);
    if !path.exists() {
        return Ok(Removed {
            files: Vec::new(),
            manager_problem: None,
        });
    }
    let manager_problem = run_ok("schtasks", &["/Delete", "/F", "/TN", TASK]).err();
    Ok(Removed {
        files: delete_files(&[path])?,
        manager_problem,
    })
}

pub fn status(place: &TimerPlace) -> Result<TimerStatus> {
    let path = script_path(place);
    let text = read_file(&path)?;
    let installed = text.is_some();
    let manager = if installed {
        match run_tool("schtasks", &["/Query", "/TN", TASK]) {
            Ok(run) if run.ok => Manager::Enabled,
            Ok(_) => Manager::NotEnabled("no task".into()),
            Err(why) => Manager::Unreachable(why),
        }
    } else {
        Manager::NotEnabled("not installed".into())
    };
    let command = text.as_deref().and_then(|t| {
        t.lines()
            .map(str::trim)
            .find(|l| l.starts_with('"'))
            .map(str::to_string)
    });
    Ok(TimerStatus {
        installed,
        files: vec![path],
        schedule: text.as_deref().and_then(read_marker),
        command,
        manager,
        next_run: None,
        last_run: None,
        last_sweep: None,
    })
}
