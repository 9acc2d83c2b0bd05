//! Long names and paths that never push the window wider: text that does
//! not fit is elided in the middle (`/home/ann/…/holiday-2024.jpeg`), so
//! both the start of a path and the file name stay readable, with the full
//! text on hover and as the widget's accessible name.

use eframe::egui::{self, RichText, TextWrapMode, Ui, WidgetText};

/// The narrowest an elided text is made, whatever the room.
const MIN_WIDTH: f32 = 48.0;

/// How wide `text` is when drawn as `style(text)` in `ui`.
pub fn width(ui: &Ui, text: &str, style: &impl Fn(String) -> RichText) -> f32 {
    WidgetText::from(style(text.to_string()))
        .into_galley(
            ui,
            Some(TextWrapMode::Extend),
            f32::INFINITY,
            egui::TextStyle::Body,
        )
        .size()
        .x
}

/// `text` as it fits in `max_width` drawn with `style`: itself when it
/// fits, else its start and end around "…" (the end gets the larger part:
/// a file's name and extension matter most).
pub fn middle(ui: &Ui, text: &str, max_width: f32, style: &impl Fn(String) -> RichText) -> String {
    let max_width = max_width.max(MIN_WIDTH);
    if width(ui, text, style) <= max_width {
        return text.to_string();
    }
    let chars: Vec<char> = text.chars().collect();
    let cut = |keep: usize| -> String {
        let head = keep * 2 / 5;
        let tail = keep - head;
        let mut s: String = chars[..head].iter().collect();
        s.push('…');
        s.extend(&chars[chars.len() - tail..]);
        s
    };
    // The most characters kept that still fit (at least one each side).
    let (mut lo, mut hi) = (2usize, chars.len().saturating_sub(1));
    if hi < lo || width(ui, &cut(lo), style) > max_width {
        return cut(lo.min(chars.len()));
    }
    while lo < hi {
        let mid = (lo + hi).div_ceil(2);
        if width(ui, &cut(mid), style) <= max_width {
            lo = mid;
        } else {
            hi = mid - 1;
        }
    }
    cut(lo)
}

/// A label showing `text` elided in the middle to `max_width`, with the
/// full text as its accessible name; whether it was elided.
pub fn label(
    ui: &mut Ui,
    text: &str,
    max_width: f32,
    style: impl Fn(String) -> RichText,
) -> (egui::Response, bool) {
    let shown = middle(ui, text, max_width, &style);
    let elided = shown != text;
    let response = ui.add(egui::Label::new(style(shown)).wrap_mode(TextWrapMode::Extend));
    let full = text.to_string();
    response.widget_info(|| egui::WidgetInfo::labeled(egui::Role::Label, true, &full));
    (response, elided)
}

/// A [`label`] with the full text on hover when it was elided.
pub fn hovered(
    ui: &mut Ui,
    text: &str,
    max_width: f32,
    style: impl Fn(String) -> RichText,
) -> egui::Response {
    match label(ui, text, max_width, style) {
        (response, true) => response.on_hover_text(text),
        (response, false) => response,
    }
}

/// [`hovered`] in the monospace font.
pub fn mono(ui: &mut Ui, text: &str, max_width: f32) -> egui::Response {
    hovered(ui, text, max_width, |s| RichText::new(s).monospace())
}

/// [`hovered`] in weak text.
pub fn weak(ui: &mut Ui, text: &str, max_width: f32) -> egui::Response {
    let colour = ui.visuals().weak_text_color();
    hovered(ui, text, max_width, move |s| RichText::new(s).color(colour))
}
