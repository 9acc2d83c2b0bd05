//! The Cleanup tab: the temp files that interrupted transfers left behind
//! (and other tools' partial files, and leaked backups), from the engine's
//! last scan, with the engine's verdict on each; sweeping after a
//! confirmation that lists exactly the files that will go; when sweeps ran
//! and will run; a chart of leftovers over time and the sweep log.
//!
//! Nothing here decides whether a file may be removed: that is the
//! engine's verdict ([`ScanEntry::verdict`]), shown as it is. Ferry's own files
//! and other tools' files are kept apart everywhere: two buttons, counts
//! per kind in the confirmation, and a plain warning when other tools'
//! files are among those that go.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use eframe::egui::{self, RichText};
use egui_extras::{Column, TableBuilder};

use ferry_engine::{
    Backup, Command, ForeignPattern, Kind, ScanEntry, ScanReport, SkipReason, Status, Tally,
    Verdict,
};

use super::format;
use super::model::Model;
use super::state::{SortColumn, StatusFilter, ViewState};
use super::{Outbox, chart, colours};

/// A sweep waiting for the person's yes: exactly these files, and nothing
/// else, are handed to the engine (which checks each again).
#[derive(Debug, Clone)]
pub struct Confirm {
    /// The files, as scanned.
    pub entries: Vec<ScanEntry>,
}

/// What the lower part of the tab shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum History {
    /// The chart of leftovers over time.
    #[default]
    Chart,
    /// The sweep log.
    Log,
}

/// This tab's transient state.
#[derive(Debug, Default)]
pub struct CleanupView {
    /// Selected rows, by path.
    pub selected: BTreeSet<PathBuf>,
    /// The confirmation on screen.
    pub confirm: Option<Confirm>,
    /// Chart or log.
    pub history: History,
}

/// One row of the table: a candidate or a leaked backup.
#[derive(Debug, Clone, Copy)]
pub enum Item<'a> {
    /// A temp, lock or other tool's file.
    Entry(&'a ScanEntry),
    /// A backup of a replaced file (never swept).
    Backup(&'a Backup),
}

impl<'a> Item<'a> {
    /// Its path.
    pub fn path(&self) -> &'a Path {
        match self {
            Self::Entry(e) => &e.path,
            Self::Backup(b) => &b.path,
        }
    }

    /// Its size.
    pub fn size(&self) -> u64 {
        match self {
            Self::Entry(e) => e.size,
            Self::Backup(b) => b.size,
        }
    }

    /// Its age when it was scanned.
    pub fn age(&self) -> Duration {
        match self {
            Self::Entry(e) => e.age,
            Self::Backup(b) => b.age,
        }
    }

    /// The engine's verdict.
    pub fn verdict(&self) -> Verdict {
        match self {
            Self::Entry(e) => e.verdict.clone(),
            Self::Backup(b) => b.verdict(),
        }
    }

    /// Whether a sweep would remove it (the engine's word).
    pub fn removable(&self) -> bool {
        match self {
            Self::Entry(e) => e.removable(),
            Self::Backup(_) => false,
        }
    }

    /// The status column's word.
    pub fn status_word(&self) -> &'static str {
        match self {
            Self::Entry(e) => status_word(e.status),
            Self::Backup(_) => "Backup",
        }
    }

    fn status_rank(&self) -> u8 {
        match self {
            Self::Entry(e) => match e.status {
                Status::Orphan => 0,
                Status::Foreign => 1,
                Status::Young => 2,
                Status::Active => 3,
            },
            Self::Backup(_) => 4,
        }
    }

    fn colour(&self, ui: &egui::Ui) -> egui::Color32 {
        match self {
            Self::Entry(e) => match e.status {
                Status::Active => colours::info(ui),
                Status::Young => colours::ok(ui),
                Status::Orphan => colours::error(ui),
                Status::Foreign => colours::warning(ui),
            },
            Self::Backup(_) => ui.visuals().weak_text_color(),
        }
    }

    /// The kind column's words: "Ferry temp", "Ferry folder", "Ferry lock",
    /// "Other: Chrome", "Backup".
    pub fn kind_word(&self) -> String {
        match self {
            Self::Entry(e) => match (e.kind, e.pattern) {
                (Kind::Part, _) if e.is_folder() => "Ferry folder".into(),
                (Kind::Part, _) => "Ferry temp".into(),
                (Kind::Lock, _) => "Ferry lock".into(),
                (Kind::Foreign, Some(p)) => format!("Other: {}", tool(p)),
                (Kind::Foreign, None) => "Other tool".into(),
            },
            Self::Backup(_) => "Backup".into(),
        }
    }

    fn kind_hint(&self) -> String {
        match self {
            Self::Entry(e) => match (e.kind, e.pattern) {
                (Kind::Part, _) if e.is_folder() => {
                    "A folder an interrupted Ferry left (a sweep's \
                     or a drive check's); it goes once it is empty"
                        .into()
                }
                (Kind::Part, _) => "A temp file Ferry writes a copy into".into(),
                (Kind::Lock, _) => {
                    "A lock Ferry takes on a destination while it replaces it".into()
                }
                (Kind::Foreign, Some(p)) => format!("Not Ferry's: a {}", p.describe()),
                (Kind::Foreign, None) => "Not Ferry's: another tool's file".into(),
            },
            Self::Backup(_) => {
                "A copy of a file an all-or-nothing transfer replaced, kept until it commits".into()
            }
        }
    }

    fn is_foreign(&self) -> bool {
        matches!(self, Self::Entry(e) if e.kind == Kind::Foreign)
    }

    fn shown(&self, filter: &StatusFilter) -> bool {
        match self {
            Self::Entry(e) => match e.status {
                Status::Active => filter.active,
                Status::Young => filter.young,
                Status::Orphan => filter.orphan,
                Status::Foreign => filter.foreign,
            },
            Self::Backup(_) => filter.backup,
        }
    }
}

/// The program behind a foreign pattern, in a word or two.
pub fn tool(pattern: ForeignPattern) -> &'static str {
    match pattern {
        ForeignPattern::Rsync => "rsync",
        ForeignPattern::Rclone => "rclone",
        ForeignPattern::Part => "KIO/Firefox",
        ForeignPattern::Gio => "GIO",
        ForeignPattern::Syncthing => "Syncthing",
        ForeignPattern::Crdownload => "Chrome",
        ForeignPattern::Download => "Safari",
    }
}

fn status_word(status: Status) -> &'static str {
    match status {
        Status::Active => "Active",
        Status::Young => "Young",
        Status::Orphan => "Orphan",
        Status::Foreign => "Foreign",
    }
}

/// A verdict's reason as a sentence.
pub fn reason_sentence(reason: &SkipReason) -> String {
    let text = reason.to_string();
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => format!("{}{}.", first.to_uppercase(), chars.as_str()),
        None => String::new(),
    }
}

/// Every row of a scan: candidates and backups.
pub fn items(scan: &ScanReport) -> impl Iterator<Item = Item<'_>> {
    scan.entries
        .iter()
        .map(Item::Entry)
        .chain(scan.backups.iter().map(Item::Backup))
}

/// The rows to show: filtered and sorted as the view says.
pub fn rows<'a>(scan: &'a ScanReport, view: &ViewState) -> Vec<Item<'a>> {
    let mut rows: Vec<Item<'a>> = items(scan).filter(|i| i.shown(&view.filter)).collect();
    rows.sort_by(|a, b| {
        let order = match view.sort {
            SortColumn::Status => a.status_rank().cmp(&b.status_rank()),
            SortColumn::Path => a.path().cmp(b.path()),
            SortColumn::Size => a.size().cmp(&b.size()),
            SortColumn::Age => a.age().cmp(&b.age()),
            SortColumn::Kind => a.kind_word().cmp(&b.kind_word()),
        }
        .then_with(|| a.path().cmp(b.path()));
        if view.descending {
            order.reverse()
        } else {
            order
        }
    });
    rows
}

/// What a scan found, summed: every leftover, and what may go now (Ferry's
/// own and other tools' apart).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Summary {
    /// Every row (candidates and backups).
    pub leftovers: Tally,
    /// How many of those rows are folders (see [`ScanEntry::is_folder`]).
    pub folders: u64,
    /// How many of the rows a sweep would remove are folders.
    pub removable_folders: u64,
    /// Ferry's files a sweep would remove.
    pub ours: Tally,
    /// Other tools' files a sweep would remove.
    pub theirs: Tally,
}

impl Summary {
    /// The sums over `scan`.
    pub fn of(scan: &ScanReport) -> Self {
        let mut summary = Self::default();
        for item in items(scan) {
            add(&mut summary.leftovers, item.size());
            let folder = matches!(item, Item::Entry(e) if e.is_folder());
            summary.folders += u64::from(folder);
            if item.removable() {
                summary.removable_folders += u64::from(folder);
                let tally = if item.is_foreign() {
                    &mut summary.theirs
                } else {
                    &mut summary.ours
                };
                add(tally, item.size());
            }
        }
        summary
    }

    /// The leftovers in words, files and folders apart: "2 leftover files
    /// (4.0 KiB)", "1 leftover file and 1 folder (0 B)".
    pub fn leftovers_words(&self) -> String {
        items_words(self.leftovers, self.folders, "leftover ")
    }

    /// What a sweep would remove in words: "2 files (4.0 KiB)", "1 folder
    /// (0 B)".
    pub fn removable_words(&self) -> String {
        items_words(self.removable(), self.removable_folders, "")
    }

    /// Everything a sweep would remove.
    pub fn removable(&self) -> Tally {
        Tally {
            files: self.ours.files + self.theirs.files,
            bytes: self.ours.bytes + self.theirs.bytes,
        }
    }
}

/// `tally` (of which `folders` are folders) in words, `what` before the
/// first noun: "2 leftover files (4.0 KiB)", "1 file and 1 folder (0 B)".
fn items_words(tally: Tally, folders: u64, what: &str) -> String {
    let files = tally.files - folders;
    let noun = |n: u64, one: &str, many: &str, what: &str| {
        format::count(n, &format!("{what}{one}"), &format!("{what}{many}"))
    };
    let count = match (files, folders) {
        (_, 0) => noun(files, "file", "files", what),
        (0, folders) => noun(folders, "folder", "folders", what),
        (files, folders) => format!(
            "{} and {}",
            noun(files, "file", "files", what),
            noun(folders, "folder", "folders", "")
        ),
    };
    format!("{count} ({})", format::bytes(tally.bytes))
}

fn add(tally: &mut Tally, bytes: u64) {
    tally.files += 1;
    tally.bytes += bytes;
}

/// How long until a row the engine called too young is old enough for a
/// sweep (so the window rescans then): the soonest of them.
pub fn next_change(scan: &ScanReport, elapsed: Duration) -> Option<Duration> {
    scan.entries
        .iter()
        .filter_map(|e| match e.verdict.reason()? {
            SkipReason::Young { age, threshold } => Some(threshold.saturating_sub(*age)),
            SkipReason::ForeignTooYoung { age, min_age } => Some(min_age.saturating_sub(*age)),
            _ => None,
        })
        .map(|left| left.saturating_sub(elapsed))
        .min()
}

fn files(tally: Tally) -> String {
    format!(
        "{} ({})",
        format::count(tally.files, "file", "files"),
        format::bytes(tally.bytes)
    )
}

/// The Cleanup tab.
pub fn cleanup_ui(
    ui: &mut egui::Ui,
    model: &Model,
    view: &mut ViewState,
    cleanup: &mut CleanupView,
    out: &mut Outbox,
) {
    let empty = ScanReport::default();
    let scan = model.scan.as_ref().unwrap_or(&empty);
    let elapsed = model.scanned_at.map_or(Duration::ZERO, |at| at.elapsed());
    // Forget selections of rows that are gone or no longer removable.
    cleanup.selected.retain(|path| {
        scan.entries
            .iter()
            .any(|e| &e.path == path && e.removable())
    });
    let summary = Summary::of(scan);
    let busy = model.sweeping;

    ui.horizontal(|ui| {
        ui.heading("Leftover temp files");
        ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
            let rescan = ui.add_enabled(!model.scanning, egui::Button::new("Rescan"));
            if rescan.clicked() {
                out.rescan = true;
            }
            if model.scanning {
                ui.spinner();
                ui.weak("Scanning…");
            } else if model.scan.is_some() {
                ui.weak(format!(
                    "scanned {}",
                    format::moment(SystemTime::now() - elapsed, SystemTime::now())
                ));
            }
        });
    });
    summary_ui(ui, model, &summary);
    buttons_ui(ui, scan, cleanup, &summary, busy);
    filter_ui(ui, scan, view);

    egui::Panel::bottom("cleanup-history")
        .resizable(true)
        // A third of the tab at first; people drag the edge.
        .default_size((ui.available_height() * 0.36).max(170.0))
        .min_size(90.0)
        .max_size((ui.available_height() - 120.0).max(90.0))
        .frame(egui::Frame::NONE.inner_margin(egui::Margin {
            top: 6,
            ..Default::default()
        }))
        .show(ui, |ui| history_ui(ui, model, view, cleanup, elapsed));
    egui::CentralPanel::default()
        .frame(egui::Frame::NONE)
        .show(ui, |ui| table_ui(ui, scan, view, cleanup, elapsed));

    confirm_ui(ui, cleanup, out, elapsed);
}

fn summary_ui(ui: &mut egui::Ui, model: &Model, summary: &Summary) {
    let now = SystemTime::now();
    ui.horizontal_wrapped(|ui| {
        let removable = summary.removable();
        if removable.files == 0 {
            ui.label(RichText::new("Nothing can be swept now").strong());
        } else {
            ui.label(
                RichText::new(format!("Can be swept: {}", summary.removable_words())).strong(),
            );
            if summary.theirs.files > 0 {
                ui.weak(format!(
                    "(Ferry's: {}; other tools': {})",
                    format::count(summary.ours.files, "file", "files"),
                    format::count(summary.theirs.files, "file", "files"),
                ));
            }
        }
        ui.separator();
        schedule_ui(ui, model, now);
    });
}

/// "Next: 14:20 (in 5h 59m)" and "Last: 09:12 (2h ago) …", as the engine
/// reported them (the Cleanup and Settings tabs both show this).
pub fn schedule_ui(ui: &mut egui::Ui, model: &Model, now: SystemTime) {
    let status = &model.sweep_status;
    let next = match status.next_run {
        Some(t) => format!(
            "Next: {} ({})",
            format::clock(t, now),
            format::moment(t, now)
        ),
        None => "Next: not scheduled".to_string(),
    };
    ui.label(next).on_hover_text(
        "The next scheduled sweep (Settings → Scheduled sweeps). Saving a schedule never \
         sweeps at once: the first sweep comes one interval later.",
    );
    let last = match status.last_run {
        Some(t) => {
            let mut text = format!(
                "Last: {} ({})",
                format::clock(t, now),
                format::moment(t, now)
            );
            if let Some(report) = model.last_sweep.as_ref().filter(|r| !r.dry_run) {
                text.push_str(&format!(
                    ", removed {}",
                    format::count(report.removed.len() as u64, "file", "files")
                ));
            }
            text
        }
        None => "Last: never".to_string(),
    };
    ui.label(last);
}

fn buttons_ui(
    ui: &mut egui::Ui,
    scan: &ScanReport,
    cleanup: &mut CleanupView,
    summary: &Summary,
    busy: bool,
) {
    let removable = |foreign: bool| -> Vec<ScanEntry> {
        scan.entries
            .iter()
            .filter(|e| e.removable() && (e.kind == Kind::Foreign) == foreign)
            .cloned()
            .collect()
    };
    ui.horizontal_wrapped(|ui| {
        let ours = ui
            .add_enabled(
                summary.ours.files > 0 && !busy,
                egui::Button::new(format!("Sweep Ferry's orphans ({})", summary.ours.files)),
            )
            .on_hover_text(
                "Ferry's own temp and lock files that no transfer holds and that are older than \
                 the threshold. Other tools' files are never among them.",
            )
            .on_disabled_hover_text("None of Ferry's files can be swept now.");
        if ours.clicked() {
            cleanup.confirm = Some(Confirm {
                entries: removable(false),
            });
        }
        let theirs = ui
            .add_enabled(
                summary.theirs.files > 0 && !busy,
                egui::Button::new(format!(
                    "Sweep other tools' files ({})",
                    summary.theirs.files
                )),
            )
            .on_hover_text(
                "Partial files of other programs (downloads, rsync, Syncthing…) whose kind is \
                 enabled in Settings and that are old enough. You see the list first.",
            )
            .on_disabled_hover_text(
                "No other tool's file can be swept now: each row says why (enable the kind in \
                 Settings; they must also be older than the minimum age for them).",
            );
        if theirs.clicked() {
            cleanup.confirm = Some(Confirm {
                entries: removable(true),
            });
        }
        let selected: Vec<ScanEntry> = scan
            .entries
            .iter()
            .filter(|e| cleanup.selected.contains(&e.path))
            .cloned()
            .collect();
        let label = format!("Sweep selected ({})", selected.len());
        if ui
            .add_enabled(!selected.is_empty() && !busy, egui::Button::new(label))
            .clicked()
        {
            cleanup.confirm = Some(Confirm { entries: selected });
        }
        if !cleanup.selected.is_empty() && ui.button("Clear selection").clicked() {
            cleanup.selected.clear();
        }
        if busy {
            ui.spinner();
            ui.weak("Sweeping…");
        }
    });
}

fn filter_ui(ui: &mut egui::Ui, scan: &ScanReport, view: &mut ViewState) {
    ui.horizontal_wrapped(|ui| {
        ui.label("Show:");
        let count = |status: Status| scan.entries.iter().filter(|e| e.status == status).count();
        let f = &mut view.filter;
        for (on, status) in [
            (&mut f.orphan, Status::Orphan),
            (&mut f.young, Status::Young),
            (&mut f.active, Status::Active),
            (&mut f.foreign, Status::Foreign),
        ] {
            ui.checkbox(on, format!("{} ({})", status_word(status), count(status)));
        }
        ui.checkbox(&mut f.backup, format!("Backup ({})", scan.backups.len()));
    });
}

/// The widest text a column shows, in points, with the body font.
fn text_width(ui: &egui::Ui, texts: &[&str]) -> f32 {
    let font = egui::TextStyle::Body.resolve(ui.style());
    ui.ctx().fonts_mut(|fonts| {
        texts
            .iter()
            .map(|t| t.chars().map(|c| fonts.glyph_width(&font, c)).sum::<f32>())
            .fold(0.0, f32::max)
    })
}

/// `text` shortened in the middle with "…" so it fits `width` points (the
/// end, with the file name, is kept in preference).
pub fn elide_middle(ui: &egui::Ui, text: &str, font: &egui::FontId, width: f32) -> String {
    let chars: Vec<char> = text.chars().collect();
    let (widths, ellipsis) = ui.ctx().fonts_mut(|fonts| {
        let widths: Vec<f32> = chars.iter().map(|&c| fonts.glyph_width(font, c)).collect();
        (widths, fonts.glyph_width(font, '…'))
    });
    // A little slack for kerning and rounding.
    let width = width - 2.0;
    if widths.iter().sum::<f32>() <= width {
        return text.to_string();
    }
    let budget = (width - ellipsis).max(0.0);
    // Up to 60% for the end, the rest for the start, then any left to the end.
    let take = |from_end: bool, limit: f32, skip: usize| {
        let mut used = 0.0;
        let mut n = 0;
        let len = chars.len() - skip;
        while n < len {
            let w = if from_end {
                widths[chars.len() - 1 - n]
            } else {
                widths[n]
            };
            if used + w > limit {
                break;
            }
            used += w;
            n += 1;
        }
        (n, used)
    };
    let (tail, tail_used) = take(true, budget * 0.6, 0);
    let (head, head_used) = take(false, budget - tail_used, tail);
    let (tail, _) = take(true, budget - head_used, head);
    let start: String = chars[..head].iter().collect();
    let end: String = chars[chars.len() - tail..].iter().collect();
    format!("{start}…{end}")
}

fn sort_header(ui: &mut egui::Ui, view: &mut ViewState, column: SortColumn, name: &str) {
    let button = ui
        .add(egui::Button::new(RichText::new(name).strong()).frame(false))
        .on_hover_text(format!("Sort by {}", name.to_lowercase()));
    if view.sort == column {
        // A small triangle: up for ascending, down for descending.
        let (rect, _) = ui.allocate_exact_size(egui::vec2(10.0, 10.0), egui::Sense::hover());
        let c = rect.center();
        let (tip, base) = if view.descending {
            (4.0, -4.0)
        } else {
            (-4.0, 4.0)
        };
        ui.painter().add(egui::Shape::convex_polygon(
            vec![
                egui::pos2(c.x, c.y + tip),
                egui::pos2(c.x + 4.5, c.y + base),
                egui::pos2(c.x - 4.5, c.y + base),
            ],
            ui.visuals().strong_text_color(),
            egui::Stroke::NONE,
        ));
    }
    if button.clicked() {
        if view.sort == column {
            view.descending = !view.descending;
        } else {
            view.sort = column;
            view.descending = matches!(column, SortColumn::Size | SortColumn::Age);
        }
    }
}

/// The smallest width the path column gets; below it the table scrolls
/// sideways.
const PATH_MIN_WIDTH: f32 = 160.0;

fn table_ui(
    ui: &mut egui::Ui,
    scan: &ScanReport,
    view: &mut ViewState,
    cleanup: &mut CleanupView,
    elapsed: Duration,
) {
    let rows = rows(scan, view);
    let total = scan.entries.len() + scan.backups.len();
    if rows.is_empty() {
        ui.add_space(8.0);
        if total == 0 {
            ui.weak("No leftover files found.");
        } else {
            ui.weak(format!(
                "No rows match the filter ({} hidden).",
                format::count(total as u64, "file", "files")
            ));
        }
        return;
    }
    let row_height = ui.text_style_height(&egui::TextStyle::Body) + 6.0;
    // Columns as wide as their widest possible text (plus the sort mark);
    // the path takes the rest.
    let pad = 22.0;
    let status_w = text_width(ui, &["Foreign", "Backup", "Status"]) + 16.0 + pad;
    let size_w = text_width(ui, &["1023.9 MiB", "Size"]) + pad;
    let age_w = text_width(ui, &["23h 59m", "Age"]) + pad;
    let kind_w = text_width(ui, &["Other: KIO/Firefox", "Ferry temp", "Kind"]) + pad;
    let check_w = 22.0;
    let spacing = ui.spacing().item_spacing.x;
    let min_width = check_w + status_w + PATH_MIN_WIDTH + size_w + age_w + kind_w + 6.0 * spacing;
    let body_font = egui::TextStyle::Body.resolve(ui.style());

    let mut toggled = Vec::new();
    let mut sort_view = view.clone();
    egui::ScrollArea::horizontal()
        .id_salt("cleanup-table-h")
        .auto_shrink([false, false])
        .show(ui, |ui| {
            ui.set_min_width(min_width);
            TableBuilder::new(ui)
                .id_salt("cleanup-table")
                .striped(true)
                .auto_shrink([false, false])
                .cell_layout(egui::Layout::left_to_right(egui::Align::Center))
                .column(Column::exact(check_w))
                .column(Column::exact(status_w))
                .column(Column::remainder().at_least(PATH_MIN_WIDTH).clip(true))
                .column(Column::exact(size_w))
                .column(Column::exact(age_w))
                .column(Column::exact(kind_w))
                .header(row_height + 4.0, |mut header| {
                    header.col(|_ui| {});
                    header.col(|ui| sort_header(ui, &mut sort_view, SortColumn::Status, "Status"));
                    header.col(|ui| sort_header(ui, &mut sort_view, SortColumn::Path, "Path"));
                    header.col(|ui| sort_header(ui, &mut sort_view, SortColumn::Size, "Size"));
                    header.col(|ui| sort_header(ui, &mut sort_view, SortColumn::Age, "Age"));
                    header.col(|ui| sort_header(ui, &mut sort_view, SortColumn::Kind, "Kind"));
                })
                .body(|body| {
                    body.rows(row_height, rows.len(), |mut row| {
                        let item = rows[row.index()];
                        let verdict = item.verdict();
                        let why = verdict.reason().map(reason_sentence);
                        let is_selected = cleanup.selected.contains(item.path());
                        row.set_selected(is_selected);
                        let name = item
                            .path()
                            .file_name()
                            .map(|n| n.to_string_lossy().into_owned())
                            .unwrap_or_default();
                        row.col(|ui| {
                            let mut checked = is_selected;
                            let response = ui.add_enabled(
                                item.removable(),
                                egui::Checkbox::without_text(&mut checked),
                            );
                            let response = match &why {
                                None => response.on_hover_text(format!("Select {name}")),
                                Some(why) => {
                                    // The tooltip of a disabled widget; also
                                    // its name for screen readers.
                                    let text = format!("{name} cannot be selected. {why}");
                                    response
                                        .on_hover_text(text.as_str())
                                        .on_disabled_hover_text(text)
                                }
                            };
                            if response.changed() {
                                toggled.push(item.path().to_path_buf());
                            }
                        });
                        row.col(|ui| {
                            let colour = item.colour(ui);
                            let (rect, _) = ui
                                .allocate_exact_size(egui::vec2(10.0, 10.0), egui::Sense::hover());
                            ui.painter().circle_filled(rect.center(), 4.5, colour);
                            let word = ui.label(RichText::new(item.status_word()).color(colour));
                            if let Some(why) = &why {
                                word.on_hover_text(why.as_str());
                            } else {
                                word.on_hover_text("A sweep would remove it.");
                            }
                        });
                        row.col(|ui| {
                            let full = item.path().display().to_string();
                            let shown = elide_middle(ui, &full, &body_font, ui.available_width());
                            let label = ui.add(egui::Label::new(shown).selectable(false));
                            // Screen readers and tests get the whole path.
                            label.widget_info(|| {
                                egui::WidgetInfo::labeled(egui::Role::Label, true, &full)
                            });
                            let hover = match &why {
                                Some(why) => format!("{full}\n{why}"),
                                None => full.clone(),
                            };
                            label.on_hover_text(hover);
                        });
                        row.col(|ui| {
                            ui.label(format::bytes(item.size()));
                        });
                        row.col(|ui| {
                            let age = item.age() + elapsed;
                            ui.label(format::duration(Duration::from_secs(age.as_secs())))
                                .on_hover_text(
                                    "Since its last change of contents or metadata (the newer \
                                     of its modification and status-change times)",
                                );
                        });
                        row.col(|ui| {
                            ui.label(item.kind_word()).on_hover_text(item.kind_hint());
                        });
                    });
                });
        });
    for path in toggled {
        if !cleanup.selected.remove(&path) {
            cleanup.selected.insert(path);
        }
    }
    view.sort = sort_view.sort;
    view.descending = sort_view.descending;
}

fn history_ui(
    ui: &mut egui::Ui,
    model: &Model,
    view: &mut ViewState,
    cleanup: &mut CleanupView,
    elapsed: Duration,
) {
    let log = &model.sweep_status.log;
    ui.horizontal(|ui| {
        ui.selectable_value(&mut cleanup.history, History::Chart, "Leftovers over time");
        ui.selectable_value(
            &mut cleanup.history,
            History::Log,
            format!("Sweep log ({})", log.len()),
        );
        if cleanup.history == History::Chart {
            ui.separator();
            chart::measure_ui(ui, &mut view.chart);
        }
    });
    match cleanup.history {
        History::Chart => chart::chart_ui(ui, model, view.chart, elapsed),
        History::Log => sweep_log_ui(ui, model),
    }
}

fn sweep_log_ui(ui: &mut egui::Ui, model: &Model) {
    let log = &model.sweep_status.log;
    if log.is_empty() {
        ui.weak("Nothing has been swept yet.");
        return;
    }
    let now = SystemTime::now();
    let font = egui::TextStyle::Monospace.resolve(ui.style());
    egui::ScrollArea::vertical()
        .id_salt("sweep-log-scroll")
        .auto_shrink([false, false])
        .show(ui, |ui| {
            for record in log.iter().rev().take(200) {
                ui.horizontal(|ui| {
                    ui.weak(format::clock(record.time, now));
                    ui.label(format::bytes(record.size));
                    ui.weak(match record.trigger {
                        ferry_engine::Trigger::Manual => "manual",
                        ferry_engine::Trigger::Scheduled => "scheduled",
                    });
                    let full = record.path.display().to_string();
                    let shown = elide_middle(ui, &full, &font, ui.available_width());
                    ui.label(RichText::new(shown).monospace())
                        .on_hover_text(full);
                });
            }
        });
}

fn confirm_ui(ui: &mut egui::Ui, cleanup: &mut CleanupView, out: &mut Outbox, elapsed: Duration) {
    let Some(confirm) = &cleanup.confirm else {
        return;
    };
    let entries = &confirm.entries;
    let mut ours = Tally::default();
    let mut theirs = Tally::default();
    let mut tools = BTreeSet::new();
    for e in entries {
        if e.kind == Kind::Foreign {
            add(&mut theirs, e.size);
            if let Some(p) = e.pattern {
                tools.insert(tool(p));
            }
        } else {
            add(&mut ours, e.size);
        }
    }
    let all = Tally {
        files: ours.files + theirs.files,
        bytes: ours.bytes + theirs.bytes,
    };
    // Folders a killed probe or sweep left are Ferry's, and said as folders.
    let folders = entries.iter().filter(|e| e.is_folder()).count() as u64;
    let screen = ui.ctx().content_rect();
    let width = (screen.width() - 80.0).clamp(280.0, 640.0);
    let list_height = (screen.height() - 330.0).clamp(80.0, 260.0);
    let modal = egui::Modal::new(egui::Id::unique("confirm-sweep")).show(ui.ctx(), |ui| {
        ui.set_width(width);
        ui.heading(format!("Remove {}?", items_words(all, folders, "")));
        if folders > 0 {
            ui.label(format!(
                "Ferry's own leftovers: {}",
                items_words(ours, folders, "")
            ));
        } else if ours.files > 0 {
            ui.label(format!(
                "Ferry's own leftover files: {}",
                files(ours)
                    .replacen(" files", "", 1)
                    .replacen(" file", "", 1)
            ));
        }
        if theirs.files > 0 {
            ui.label(format!(
                "Other tools' files: {}",
                files(theirs)
                    .replacen(" files", "", 1)
                    .replacen(" file", "", 1)
            ));
        }
        if theirs.files > 0 {
            ui.add_space(4.0);
            let tools = tools.into_iter().collect::<Vec<_>>().join(", ");
            let text = if theirs.files == 1 {
                format!(
                    "Careful: 1 of these files was not written by Ferry but by another program \
                     ({tools}). Ferry cannot know whether that program will come back to it (a \
                     paused download, a sync in progress): remove it only if you are sure it is \
                     done with."
                )
            } else {
                format!(
                    "Careful: {} of these files were not written by Ferry but by other programs \
                     ({tools}). Ferry cannot know whether those programs will come back to them \
                     (a paused download, a sync in progress): remove them only if you are sure \
                     they are done with.",
                    theirs.files
                )
            };
            ui.label(RichText::new(text).color(colours::warning(ui)));
        }
        ui.add_space(6.0);
        let font = egui::TextStyle::Body.resolve(ui.style());
        let side = text_width(ui, &["1023.9 MiB"]) + text_width(ui, &["23h 59m"]) + 40.0;
        egui::ScrollArea::vertical()
            .id_salt("confirm-list")
            .max_height(list_height)
            .auto_shrink([false, true])
            .show(ui, |ui| {
                egui::Grid::new("confirm-grid")
                    .num_columns(3)
                    .striped(true)
                    .spacing([12.0, 4.0])
                    .show(ui, |ui| {
                        for e in entries {
                            let full = e.path.display().to_string();
                            let shown = elide_middle(ui, &full, &font, width - side);
                            let label = ui.add(egui::Label::new(shown).selectable(false));
                            let size = format::bytes(e.size);
                            let age =
                                format::duration(Duration::from_secs((e.age + elapsed).as_secs()));
                            // For screen readers (and tests): the whole line.
                            let spoken = format!("Will remove {full} ({size}, {age} old)");
                            label.widget_info(|| {
                                egui::WidgetInfo::labeled(egui::Role::Label, true, &spoken)
                            });
                            let kind = Item::Entry(e);
                            label.on_hover_text(format!("{full}\n{}", kind.kind_word()));
                            ui.label(size);
                            ui.label(age);
                            ui.end_row();
                        }
                    });
            });
        ui.add_space(6.0);
        ui.weak(
            "Each file is checked again just before it goes and kept if it is in use, changed \
             or no longer old enough. This cannot be undone.",
        );
        ui.add_space(8.0);
        let mut answer = None;
        ui.horizontal(|ui| {
            let remove = match folders {
                0 => format!("Remove {}", format::count(all.files, "file", "files")),
                _ => "Remove them".to_string(),
            };
            if ui.button(RichText::new(remove).strong()).clicked() {
                answer = Some(true);
            }
            if ui.button("Keep them").clicked() {
                answer = Some(false);
            }
        });
        answer
    });
    match modal.inner.or(modal.should_close().then_some(false)) {
        Some(true) => {
            if let Some(confirm) = cleanup.confirm.take() {
                out.command(Command::SweepEntries(confirm.entries));
                out.sweep_started = true;
            }
            cleanup.selected.clear();
        }
        Some(false) => cleanup.confirm = None,
        None => {}
    }
}
