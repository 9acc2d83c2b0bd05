//! Notices: errors, warnings and short confirmations shown at the top of
//! the window (not only in a log). Errors and warnings stay until
//! dismissed; confirmations fade after a few seconds.

use std::time::{Duration, Instant};

use eframe::egui::{self, Color32, RichText};

/// How long a confirmation stays.
pub const INFO_LIFETIME: Duration = Duration::from_secs(8);
/// How many notices are kept (the oldest go first).
const MAX_NOTICES: usize = 8;

/// How serious a notice is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    /// Something went well.
    Info,
    /// Worth knowing; nothing failed.
    Warning,
    /// Something failed.
    Error,
}

impl Level {
    fn colour(self, dark: bool) -> Color32 {
        match (self, dark) {
            (Self::Info, true) => Color32::from_rgb(120, 200, 140),
            (Self::Info, false) => Color32::from_rgb(20, 120, 50),
            (Self::Warning, true) => Color32::from_rgb(240, 190, 80),
            (Self::Warning, false) => Color32::from_rgb(150, 95, 0),
            (Self::Error, true) => Color32::from_rgb(255, 120, 110),
            (Self::Error, false) => Color32::from_rgb(180, 30, 30),
        }
    }

    fn word(self) -> &'static str {
        match self {
            Self::Info => "Done",
            Self::Warning => "Warning",
            Self::Error => "Error",
        }
    }
}

/// One message.
#[derive(Debug, Clone)]
pub struct Notice {
    /// Its number (for dismissing).
    pub id: u64,
    /// How serious.
    pub level: Level,
    /// The message, in words.
    pub text: String,
    /// When it was raised.
    pub raised: Instant,
}

/// The notices on screen.
#[derive(Debug, Default)]
pub struct Notices {
    items: Vec<Notice>,
    next_id: u64,
}

impl Notices {
    /// Adds a notice (an identical one already shown is refreshed instead)
    /// and returns its id.
    pub fn push(&mut self, level: Level, text: impl Into<String>) -> u64 {
        let text = super::format::drawable(&text.into());
        self.items.retain(|n| !(n.level == level && n.text == text));
        self.next_id += 1;
        self.items.push(Notice {
            id: self.next_id,
            level,
            text,
            raised: Instant::now(),
        });
        if self.items.len() > MAX_NOTICES {
            let excess = self.items.len() - MAX_NOTICES;
            self.items.drain(..excess);
        }
        self.next_id
    }

    /// A confirmation.
    pub fn info(&mut self, text: impl Into<String>) {
        self.push(Level::Info, text);
    }

    /// A warning.
    pub fn warning(&mut self, text: impl Into<String>) {
        self.push(Level::Warning, text);
    }

    /// An error.
    pub fn error(&mut self, text: impl Into<String>) {
        self.push(Level::Error, text);
    }

    /// The notices shown now.
    pub fn items(&self) -> &[Notice] {
        &self.items
    }

    /// Removes one notice.
    pub fn dismiss(&mut self, id: u64) {
        self.items.retain(|n| n.id != id);
    }

    /// Drops confirmations older than [`INFO_LIFETIME`]; returns how long
    /// until the next one expires.
    pub fn expire(&mut self, now: Instant) -> Option<Duration> {
        self.items
            .retain(|n| n.level != Level::Info || now.duration_since(n.raised) < INFO_LIFETIME);
        self.items
            .iter()
            .filter(|n| n.level == Level::Info)
            .map(|n| INFO_LIFETIME.saturating_sub(now.duration_since(n.raised)))
            .min()
    }
}

/// Shows the notices, newest at the bottom, each with a dismiss button.
/// Meant for a bottom panel, so that notices coming and going never move
/// what the person is about to click.
pub fn notices_ui(ui: &mut egui::Ui, notices: &mut Notices) {
    let before = notices.items().len();
    if let Some(wait) = notices.expire(Instant::now()) {
        ui.ctx().request_repaint_after(wait);
    }
    if notices.items().len() != before {
        // The panel shrinks on the next frame: draw it now, not whenever
        // something else happens.
        ui.ctx().request_repaint();
    }
    let dark = ui.visuals().dark_mode;
    let mut dismissed = None;
    for notice in notices.items() {
        let colour = notice.level.colour(dark);
        egui::Frame::group(ui.style())
            .stroke(egui::Stroke::new(1.0, colour))
            .inner_margin(egui::Margin::symmetric(8, 4))
            .show(ui, |ui| {
                egui::Sides::new().shrink_left().wrap().show(
                    ui,
                    |ui| {
                        ui.label(RichText::new(notice.level.word()).strong().color(colour));
                        ui.label(&notice.text);
                    },
                    |ui| {
                        if ui.small_button("×").on_hover_text("Dismiss").clicked() {
                            dismissed = Some(notice.id);
                        }
                    },
                );
            });
    }
    if let Some(id) = dismissed {
        notices.dismiss(id);
    }
}
