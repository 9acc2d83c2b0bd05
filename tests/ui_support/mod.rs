//! What the window tests share: a temp folder with Ferry's data and config
//! folders, a harness over the real app, and small helpers that act as a
//! person would (click by label, type into a labelled field) and wait in
//! loops with deadlines.
//!
//! Everything that is not about the window (launching `ferry`, snapshots,
//! the random generator, child processes) is in `tests/support`, which
//! window tests declare beside this module when they need it.

#![allow(dead_code)]

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use eframe::egui;
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use ferry_ui::dialogs::{Answer, FileDialogs, PickMode};
use ferry_ui::{AppConfig, FerryApp};

/// File dialogs that are never answered with a path.
pub struct NoDialogs;

impl FileDialogs for NoDialogs {
    fn pick(&self, _mode: PickMode, _title: &str, _start_in: Option<&Path>) -> Answer {
        Answer::Cancelled
    }
}

/// A temp folder with `data`, `config` and `sweep` folders.
pub struct Fixture {
    pub dir: tempfile::TempDir,
}

impl Fixture {
    pub fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        for sub in ["data", "config", "sweep"] {
            fs::create_dir(dir.path().join(sub)).unwrap();
        }
        Self { dir }
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    /// The app's configuration: settings from `config/settings.json` (none
    /// yet: the defaults), saved there.
    pub fn config(&self) -> AppConfig {
        AppConfig::with_dirs(self.path("data"), &self.path("config"))
            .unwrap()
            .with_dialogs(Arc::new(NoDialogs))
    }

    /// A configuration that sweeps `sweep/` with a one-second threshold (the
    /// settings file cannot go below a minute; the engine takes what it is
    /// given).
    pub fn quick_config(&self) -> AppConfig {
        let mut config = self.config();
        config.settings.sweep.roots = vec![self.path("sweep")];
        config.settings.sweep.threshold = Duration::from_secs(1);
        config
    }
}

pub type App = Harness<'static, FerryApp>;

pub fn harness(config: AppConfig, size: [f32; 2]) -> App {
    Harness::builder()
        .with_size(size)
        .build_eframe(move |cc| FerryApp::new(cc, config))
}

/// Steps frames until `done` holds, failing after `secs` seconds.
#[track_caller]
pub fn step_until(
    harness: &mut App,
    what: &str,
    secs: u64,
    mut done: impl FnMut(&mut App) -> bool,
) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        harness.step();
        if done(harness) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "timed out after {secs}s waiting for {what}; notices: {:?}",
            harness
                .state()
                .notices()
                .items()
                .iter()
                .map(|n| &n.text)
                .collect::<Vec<_>>()
        );
        std::thread::sleep(Duration::from_millis(15));
    }
}

/// Steps frames for `time`.
pub fn step_for(harness: &mut App, time: Duration) {
    let end = Instant::now() + time;
    while Instant::now() < end {
        harness.step();
        std::thread::sleep(Duration::from_millis(15));
    }
}

/// Rescans (as a person clicking Rescan now and then would) until `done`.
#[track_caller]
pub fn rescan_until(harness: &mut App, what: &str, mut done: impl FnMut(&mut App) -> bool) {
    step_until(harness, what, 30, |h| {
        if done(h) {
            return true;
        }
        let m = h.state().model();
        if !m.scanning
            && m.scanned_at
                .is_some_and(|at| at.elapsed() > Duration::from_millis(300))
        {
            h.get_by_label("Rescan").click();
        }
        false
    });
}

pub fn has_label(harness: &App, text: &str) -> bool {
    harness.query_all_by_label_contains(text).next().is_some()
}

pub fn count_labels(harness: &App, text: &str) -> usize {
    harness.query_all_by_label(text).count()
}

pub fn set_text(harness: &mut App, field: &str, text: &str) {
    harness.get_by_label(field).set_text_value_accesskit(text);
    harness.step();
    harness.step();
}

pub fn click(harness: &mut App, label: &str) {
    harness.get_by_label(label).click();
    harness.step();
    harness.step();
}

/// Writes `len` bytes at `path`.
pub fn write(path: &Path, len: usize) {
    fs::write(path, vec![7u8; len]).unwrap();
}

/// The size of the window tests run at by default.
pub const WINDOW: [f32; 2] = [1200.0, 900.0];

/// Whether the widget named `label` lies within the window's width.
pub fn within_width(harness: &App, label: &str, width: f32) -> bool {
    let rect: egui::Rect = harness.get_by_label(label).rect();
    rect.min.x >= 0.0 && rect.max.x <= width
}

/// A dropped file as egui-winit hands it over.
#[derive(Debug)]
pub struct Dropped(pub PathBuf);

impl egui::DroppedFile for Dropped {
    fn path(&self) -> &Path {
        &self.0
    }

    fn bytes(&self) -> Result<Vec<u8>, String> {
        fs::read(&self.0).map_err(|e| e.to_string())
    }
}

/// Drops `paths` on the window (wherever the pointer is).
pub fn drop_files(harness: &mut App, paths: &[PathBuf]) {
    let input = harness.input_mut();
    input.hovered_files.clear();
    for path in paths {
        input.dropped_files.push(Arc::new(Dropped(path.clone())));
    }
    harness.step();
    harness.step();
}

/// A desktop that records what it was asked to open and notify.
#[derive(Default)]
pub struct RecordingDesktop {
    pub opened: std::sync::Mutex<Vec<PathBuf>>,
    /// Why opening a folder fails (as on a desktop with no file manager).
    pub open_fails: Option<String>,
    pub notified: std::sync::Mutex<Vec<(String, String)>>,
}

impl ferry_ui::desktop::Desktop for RecordingDesktop {
    fn open_folder(&self, path: &Path, done: ferry_ui::desktop::OpenDone) {
        self.opened.lock().unwrap().push(path.to_path_buf());
        done(match &self.open_fails {
            Some(why) => Err(why.clone()),
            None => Ok(()),
        });
    }

    fn notify(&self, title: &str, body: &str) {
        self.notified
            .lock()
            .unwrap()
            .push((title.to_string(), body.to_string()));
    }
}

/// Whether the widget named `label` is enabled.
pub fn enabled(harness: &App, label: &str) -> bool {
    use egui_kittest::kittest::NodeT;
    !harness.get_by_label(label).accesskit_node().is_disabled()
}
