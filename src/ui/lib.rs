//! The desktop window (eframe/egui), a client of the same engine as the
//! command line. `ferry` with no arguments opens it.
//!
//! The layout follows egui_demo_app and rerun: view state that is kept
//! between runs ([`state`]) lives apart from what the engine reports
//! ([`model`]) and from runtime handles (the engine, the dialog threads).
//! Each frame first drains the engine's events and the dialogs' answers,
//! then draws the tabs ([`transfers`], [`cleanup`], [`settings_view`]),
//! which only collect intentions in an [`Outbox`]; the commands go to the
//! engine after the frame. The UI thread never touches the disk and never
//! waits: the engine's waker repaints the window when something happens.

use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};

use eframe::egui;

use ferry_engine::Command;

pub mod app;
pub mod chart;
pub mod cleanup;
pub mod desktop;
pub mod dialogs;
pub mod elide;
pub mod format;
pub mod model;
pub mod notices;
pub mod settings_view;
pub mod state;
pub mod transfers;

pub use app::{AppConfig, FerryApp};

/// The window's title (window managers and tests find it by this name).
pub const TITLE: &str = "Ferry";

/// The icon, a 256×256 PNG (rendered from `assets/ferry.svg`).
pub const ICON_PNG: &[u8] = include_bytes!("../../assets/ferry.png");

/// What the tabs ask for during a frame; carried out after it.
#[derive(Debug, Default)]
pub struct Outbox {
    /// Commands for the engine.
    pub commands: Vec<Command>,
    /// Dialogs to open.
    pub dialogs: Vec<dialogs::Purpose>,
    /// Scan again for leftover files.
    pub rescan: bool,
    /// Show this folder in the desktop's file manager.
    pub open_folder: Option<std::path::PathBuf>,
    /// A timer command was sent.
    pub timer_sent: bool,
    /// A manual sweep was sent.
    pub sweep_started: bool,
    /// New settings were sent.
    pub settings_sent: bool,
}

impl Outbox {
    /// Queues a command for the engine.
    pub fn command(&mut self, command: Command) {
        self.commands.push(command);
    }

    /// Asks for a file dialog.
    pub fn dialog(&mut self, purpose: dialogs::Purpose) {
        self.dialogs.push(purpose);
    }
}

/// Colours with a meaning, readable on dark and light themes.
pub mod colours {
    use eframe::egui::{Color32, Ui};

    fn pick(ui: &Ui, dark: Color32, light: Color32) -> Color32 {
        if ui.visuals().dark_mode { dark } else { light }
    }

    /// Good news (completed, running).
    pub fn ok(ui: &Ui) -> Color32 {
        pick(
            ui,
            Color32::from_rgb(110, 200, 130),
            Color32::from_rgb(20, 120, 50),
        )
    }

    /// Needs attention (paused, foreign, warnings).
    pub fn warning(ui: &Ui) -> Color32 {
        pick(
            ui,
            Color32::from_rgb(240, 190, 80),
            Color32::from_rgb(160, 100, 0),
        )
    }

    /// Failed, or removable (orphans).
    pub fn error(ui: &Ui) -> Color32 {
        pick(
            ui,
            Color32::from_rgb(255, 120, 110),
            Color32::from_rgb(190, 30, 30),
        )
    }

    /// Neutral information (active files).
    pub fn info(ui: &Ui) -> Color32 {
        pick(
            ui,
            Color32::from_rgb(110, 170, 255),
            Color32::from_rgb(20, 90, 190),
        )
    }
}

/// The native window's options: title, icon, size, and where eframe keeps
/// the window's size and position and the view state (the data directory).
pub fn native_options(config: &AppConfig) -> eframe::NativeOptions {
    let mut viewport = egui::ViewportBuilder::default()
        .with_title(TITLE)
        .with_app_id("ferry")
        .with_inner_size([1100.0, 760.0])
        .with_min_inner_size([640.0, 420.0]);
    match eframe::icon_data::from_png_bytes(ICON_PNG) {
        Ok(icon) => viewport = viewport.with_icon(Arc::new(icon)),
        Err(e) => eprintln!("ferry: warning: the window icon could not be decoded ({e})"),
    }
    eframe::NativeOptions {
        viewport,
        persistence_path: Some(config.data_dir.join("window.ron")),
        ..Default::default()
    }
}

/// Opens the window and runs until it is closed; returns the exit status
/// (0 after a normal close, also by SIGINT/SIGTERM; 1 when no window can be
/// opened). Settings are read here, before the event loop starts.
pub fn run(config: AppConfig) -> ExitCode {
    let options = native_options(&config);

    // SIGINT/SIGTERM close the window the normal way (jobs stay journaled).
    let quit = Arc::new(AtomicBool::new(false));
    let window: Arc<OnceLock<egui::Context>> = Arc::default();
    {
        let quit = quit.clone();
        let window = window.clone();
        if let Err(e) = ctrlc::set_handler(move || {
            quit.store(true, Ordering::SeqCst);
            if let Some(ctx) = window.get() {
                ctx.request_repaint();
            }
        }) {
            eprintln!("ferry: warning: cannot catch interrupts ({e})");
        }
    }

    let result = eframe::run_native(
        TITLE,
        options,
        Box::new(move |cc| {
            let _ = window.set(cc.egui_ctx.clone());
            Ok(Box::new(FerryApp::new(cc, config).with_quit_signal(quit)))
        }),
    );
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("ferry: the window could not be opened: {e}");
            eprintln!("ferry: without a display, use the command line (ferry --help)");
            ExitCode::from(1)
        }
    }
}
