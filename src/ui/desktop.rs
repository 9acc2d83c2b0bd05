//! What the window asks of the desktop around it: open a folder in the
//! file manager, show a notification. Both run off the UI thread (a helper
//! thread spawns the opener or talks to the notification service), and
//! both are behind the small [`Desktop`] trait so tests can record them.
//!
//! When to notify and what the title says are decided here too, as plain
//! functions ([`should_notify`], [`window_title`]) that tests call
//! directly.

use std::path::{Path, PathBuf};
use std::thread;

use ferry_engine::{JobOutcome, JobSummary};

use super::format;
use super::model::{Totals, outcome_word};

/// The desktop's services the window uses.
pub trait Desktop: Send + Sync + 'static {
    /// Shows `path` in the desktop's file manager: the folder itself, or
    /// the folder a file is in. Never blocks the caller: `done` is called
    /// (from any thread) with why it could not, if it could not.
    fn open_folder(&self, path: &Path, done: OpenDone);

    /// Shows a desktop notification; a desktop without a notification
    /// service shows nothing, and says nothing. Never blocks the caller.
    fn notify(&self, title: &str, body: &str);
}

/// What [`Desktop::open_folder`] reports when it is through: `Err` with
/// why the folder could not be shown.
pub type OpenDone = Box<dyn FnOnce(Result<(), String>) + Send + 'static>;

/// The real desktop: `open` (xdg-open, `open`, explorer) for folders, the
/// freedesktop notification service (D-Bus) for notifications on Linux and
/// the BSDs, `osascript` on macOS.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemDesktop;

impl Desktop for SystemDesktop {
    fn open_folder(&self, path: &Path, done: OpenDone) {
        let path = path.to_path_buf();
        // Whether it is a folder is asked on the helper thread: the window
        // itself never looks at the disk.
        let spawned = thread::Builder::new()
            .name("ferry-open".into())
            .spawn(move || {
                let folder = folder_to_show(&path);
                done(
                    open::that_detached(&folder)
                        .map_err(|e| format!("no program to show folders could be started ({e})")),
                );
            });
        if let Err(e) = spawned {
            // The closure went with the failed spawn; nothing to report to.
            eprintln!("ferry: cannot open a folder: {e}");
        }
    }

    fn notify(&self, title: &str, body: &str) {
        let (title, body) = (title.to_string(), body.to_string());
        let _ = thread::Builder::new()
            .name("ferry-notify".into())
            .spawn(move || show_notification(&title, &body));
    }
}

/// The folder to show for `path`: itself when it is a folder, else the
/// nearest folder above it that exists.
fn folder_to_show(path: &Path) -> PathBuf {
    let mut at = path;
    loop {
        if at.is_dir() {
            return at.to_path_buf();
        }
        match at.parent() {
            Some(parent) if !parent.as_os_str().is_empty() => at = parent,
            _ => return path.to_path_buf(),
        }
    }
}

#[cfg(all(unix, not(target_os = "macos")))]
fn show_notification(title: &str, body: &str) {
    let _ = notify_rust::Notification::new()
        .appname(super::TITLE)
        .summary(title)
        .body(body)
        .icon("ferry")
        .show();
}

#[cfg(target_os = "macos")]
fn show_notification(title: &str, body: &str) {
    // AppleScript string literals: backslashes and quotes escaped.
    let quote = |s: &str| s.replace('\\', "\\\\").replace('"', "\\\"");
    let script = format!(
        "display notification \"{}\" with title \"{}\"",
        quote(body),
        quote(title)
    );
    let _ = std::process::Command::new("osascript")
        .args(["-e", &script])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status();
}

#[cfg(not(unix))]
fn show_notification(_title: &str, _body: &str) {}

/// Whether a job that just ended deserves a desktop notification: only
/// while the window does not have the keyboard focus (the person is
/// elsewhere); a focused window shows the notice inside itself.
pub fn should_notify(window_focused: bool) -> bool {
    !window_focused
}

/// The notification for a job that ended: a title and a body in words.
pub fn notification(job_title: &str, summary: &JobSummary) -> (String, String) {
    let title = format!(
        "{job_title}: {}",
        outcome_word(summary.outcome).to_lowercase()
    );
    let files = format::count(summary.files_done, "file", "files");
    let body = match summary.outcome {
        JobOutcome::Completed => {
            format!("{files} ({}) written.", format::bytes(summary.bytes_done))
        }
        JobOutcome::CompletedWithWarnings => format!(
            "{files} written; {}.",
            format::count(summary.warnings.len() as u64, "warning", "warnings")
        ),
        JobOutcome::CompletedWithErrors => format!(
            "{files} written; {} failed.",
            format::count(summary.failed.len() as u64, "file", "files")
        ),
        JobOutcome::Failed => summary
            .failed
            .first()
            .map(format::failure_reason)
            .filter(|r| !r.is_empty())
            .or_else(|| summary.warnings.first().cloned())
            .unwrap_or_else(|| "Nothing was written.".into()),
        JobOutcome::Cancelled => "Stopped; what was finished stays.".into(),
        JobOutcome::RolledBack => "Undone: the destination is as it was.".into(),
    };
    (title, body)
}

/// The window's title: the overall progress while jobs run
/// (`42% · Ferry`), else just `Ferry`.
pub fn window_title(totals: &Totals) -> String {
    if totals.jobs == 0 {
        return super::TITLE.to_string();
    }
    let percent = if totals.bytes_total > 0 {
        (totals.bytes_done as f64 / totals.bytes_total as f64 * 100.0).floor() as u64
    } else if totals.files_total > 0 {
        (totals.files_done as f64 / totals.files_total as f64 * 100.0).floor() as u64
    } else {
        0
    };
    format!("{}% · {}", percent.min(100), super::TITLE)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notifies_only_when_unfocused() {
        assert!(should_notify(false));
        assert!(!should_notify(true));
    }

    #[test]
    fn titles_show_overall_progress() {
        assert_eq!(window_title(&Totals::default()), "Ferry");
        let totals = Totals {
            jobs: 2,
            bytes_done: 42,
            bytes_total: 100,
            ..Totals::default()
        };
        assert_eq!(window_title(&totals), "42% · Ferry");
        let waiting = Totals {
            jobs: 1,
            ..Totals::default()
        };
        assert_eq!(window_title(&waiting), "0% · Ferry");
    }

    #[test]
    fn notifications_read_right() {
        let mut summary = JobSummary::empty(JobOutcome::RolledBack);
        let (title, body) = notification("photos", &summary);
        assert_eq!(title, "photos: rolled back");
        assert!(body.contains("as it was"));
        summary.outcome = JobOutcome::Completed;
        summary.files_done = 3;
        summary.bytes_done = 2048;
        assert_eq!(
            notification("photos", &summary).1,
            "3 files (2.0 KiB) written."
        );
    }
}
