//! macOS: a LaunchAgent in `~/Library/LaunchAgents`, loaded with
//! `launchctl`. `StartInterval` runs it every interval (a run missed while
//! the Mac slept happens on waking); `RunAtLoad` runs it at each log-in,
//! the catch-up for the time the Mac was off: the command sweeps only when
//! a scheduled sweep is due (by the last sweep's time in Ferry's data
//! folder), so a run when nothing is due does nothing.

use std::path::PathBuf;

use super::{
    Installed, Manager, Removed, TimerPlace, TimerSpec, TimerStatus, delete_files, marker,
    path_text, read_file, read_marker, run_ok, run_tool, write_file,
};
use crate::error::Result;

/// The scheduler, for people.
pub const MANAGER: &str = "launchd";

/// The agent's label (and file name, with `.plist`).
pub const LABEL: &str = "org.Ferry.ferry.sweep";

fn plist_path(place: &TimerPlace) -> PathBuf {
    place
        .home
        .join("Library")
        .join("LaunchAgents")
        .join(format!("{LABEL}.plist"))
}

pub fn files(place: &TimerPlace) -> Vec<PathBuf> {
    vec![plist_path(place)]
}

/// The user's launchd domain.
fn domain() -> String {
    format!("gui/{}", rustix::process::getuid().as_raw())
}

/// Text for a plist `<string>`.
fn xml(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&apos;")
}

fn plist(spec: &TimerSpec) -> Result<String> {
    let mut arguments = format!("    <string>{}</string>\n", xml(path_text(&spec.program)?));
    for arg in &spec.args {
        arguments.push_str(&format!("    <string>{}</string>\n", xml(arg)));
    }
    let mut env = String::new();
    if !spec.env.is_empty() {
        env.push_str("  <key>EnvironmentVariables</key>\n  <dict>\n");
        for (name, value) in &spec.env {
            env.push_str(&format!(
                "    <key>{}</key>\n    <string>{}</string>\n",
                xml(name),
                xml(path_text(value)?)
            ));
        }
        env.push_str("  </dict>\n");
    }
    Ok(format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
         <!DOCTYPE plist PUBLIC \"-//Apple//DTD PLIST 1.0//EN\" \
         \"http://www.apple.com/DTDs/PropertyList-1.0.dtd\">\n\
         <!-- Written by `ferry schedule install`; `ferry schedule remove` removes it. -->\n\
         <!-- {marker} -->\n\
         <plist version=\"1.0\">\n\
         <dict>\n\
         \x20 <key>Label</key>\n\
         \x20 <string>{LABEL}</string>\n\
         \x20 <key>ProgramArguments</key>\n\
         \x20 <array>\n\
         {arguments}\
         \x20 </array>\n\
         {env}\
         \x20 <key>StartInterval</key>\n\
         \x20 <integer>{secs}</integer>\n\
         \x20 <key>RunAtLoad</key>\n\
         \x20 <true/>\n\
         \x20 <key>ProcessType</key>\n\
         \x20 <string>Background</string>\n\
         \x20 <key>LowPriorityIO</key>\n\
         \x20 <true/>\n\
         </dict>\n\
         </plist>\n",
        marker = marker(spec.interval),
        secs = spec.interval.as_secs().max(1),
    ))
}

fn command_line(spec: &TimerSpec) -> String {
    let mut words = vec![spec.program.display().to_string()];
    words.extend(spec.args.iter().cloned());
    words.join(" ")
}

pub fn install(spec: &TimerSpec) -> Result<Installed> {
    let path = plist_path(&spec.place);
    write_file(&path, &plist(spec)?)?;
    let text = path.display().to_string();
    // Loaded again, so a new interval counts.
    let _ = run_tool("launchctl", &["bootout", &format!("{}/{LABEL}", domain())]);
    let loaded = run_ok("launchctl", &["bootstrap", &domain(), &text])
        .or_else(|_| run_ok("launchctl", &["load", "-w", &text]));
    let (manager, enable_by_hand) = match loaded {
        Ok(_) => (Manager::Enabled, Vec::new()),
        Err(why) => (
            Manager::Unreachable(why),
            vec![format!("launchctl bootstrap {} '{text}'", domain())],
        ),
    };
    Ok(Installed {
        files: vec![path],
        command: command_line(spec),
        manager,
        enable_by_hand,
        notes: Vec::new(),
    })
}

pub fn remove(place: &TimerPlace) -> Result<Removed> {
    let path = plist_path(place);
    if !path.exists() {
        return Ok(Removed {
            files: Vec::new(),
            manager_problem: None,
        });
    }
    let text = path.display().to_string();
    let manager_problem = run_ok("launchctl", &["bootout", &format!("{}/{LABEL}", domain())])
        .or_else(|_| run_ok("launchctl", &["unload", "-w", &text]))
        .err();
    Ok(Removed {
        files: delete_files(&[path])?,
        manager_problem,
    })
}

pub fn status(place: &TimerPlace) -> Result<TimerStatus> {
    let path = plist_path(place);
    let text = read_file(&path)?;
    let installed = text.is_some();
    let manager = if installed {
        match run_tool("launchctl", &["print", &format!("{}/{LABEL}", domain())]) {
            Ok(run) if run.ok => Manager::Enabled,
            Ok(_) => Manager::NotEnabled("not loaded".into()),
            Err(why) => Manager::Unreachable(why),
        }
    } else {
        Manager::NotEnabled("not installed".into())
    };
    Ok(TimerStatus {
        installed,
        files: vec![path],
        schedule: text.as_deref().and_then(read_marker),
        command: text.as_deref().map(arguments),
        manager,
        next_run: None,
        last_run: None,
        last_sweep: None,
    })
}

/// The program arguments a plist lists, joined by spaces.
fn arguments(text: &str) -> String {
    let Some(start) = text.find("<array>") else {
        return String::new();
    };
    let end = text[start..]
        .find("</array>")
        .map_or(text.len(), |e| start + e);
    text[start..end]
        .split("<string>")
        .skip(1)
        .filter_map(|s| s.split("</string>").next())
        .map(|s| {
            s.replace("&lt;", "<")
                .replace("&gt;", ">")
                .replace("&quot;", "\"")
                .replace("&apos;", "'")
                .replace("&amp;", "&")
        })
        .collect::<Vec<_>>()
        .join(" ")
}
