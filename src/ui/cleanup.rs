//! The Cleanup tab: the temp files that interrupted transfers left behind
//! (and other tools' partial files), from the engine's last scan, with
//! their status, sorted and filtered; sweeping the selected ones or every
//! orphan after a confirmation; when sweeps ran and will run; the log.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use eframe::egui::{self, RichText};
use egui_extras::{Column, TableBuilder};

use ferry_engine::handle::Command;
use ferry_engine::settings::Settings;
use ferry_engine::sweep::{Entry, Kind, Status};
use ferry_engine::sweeper::SweepScope;

use super::format;
use super::model::Model;
use super::state::{SortColumn, StatusFilter, ViewState};
use super::{Outbox, colours};

/// A sweep waiting for the person's yes.
#[derive(Debug, Clone)]
pub enum Confirm {
    /// These entries.
    Selected(Vec<Entry>),
    /// Every orphan in scope (counted from the last scan).
    AllOrphans {
        /// Files.
        files: usize,
        /// Bytes.
        bytes: u64,
    },
}

/// This tab's transient state.
#[derive(Debug, Default)]
pub struct CleanupView {
    /// Selected rows, by path.
    pub selected: BTreeSet<PathBuf>,
    /// The confirmation on screen.
    pub confirm: Option<Confirm>,
}

/// Whether a scanned entry may be swept now, or why not (in words).
pub fn sweepable(entry: &Entry, settings: &Settings) -> Result<(), String> {
    match entry.status {
        Status::Active => Err("In use: a live transfer holds its lock.".into()),
        Status::Young => Err(format!(
            "Younger than the threshold ({}); it may still be in use.",
            format::duration(settings.sweep.threshold)
        )),
        Status::Orphan => Ok(()),
        Status::Foreign => match entry.pattern {
            Some(p) if !settings.sweep.foreign_patterns.contains(&p) => Err(format!(
                "Another tool's file ({}); enable '{}' in Settings to sweep it.",
                p.describe(),
                p.as_str()
            )),
            Some(_) if entry.locked => Err("In use: its lock is held.".into()),
            Some(_) if entry.age < settings.sweep.threshold => Err(format!(
                "Younger than the threshold ({}).",
                format::duration(settings.sweep.threshold)
            )),
            Some(_) => Ok(()),
            None => Err("Not a known kind of file.".into()),
        },
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

fn status_colour(ui: &egui::Ui, status: Status) -> egui::Color32 {
    match status {
        Status::Active => colours::info(ui),
        Status::Young => colours::ok(ui),
        Status::Orphan => colours::error(ui),
        Status::Foreign => colours::warning(ui),
    }
}

fn kind_word(kind: Kind) -> &'static str {
    match kind {
        Kind::Part => "temp file",
        Kind::Lock => "lock file",
        Kind::Foreign => "other tool",
    }
}

fn shown(filter: &StatusFilter, status: Status) -> bool {
    match status {
        Status::Active => filter.active,
        Status::Young => filter.young,
        Status::Orphan => filter.orphan,
        Status::Foreign => filter.foreign,
    }
}

fn status_rank(status: Status) -> u8 {
    match status {
        Status::Orphan => 0,
        Status::Foreign => 1,
        Status::Young => 2,
        Status::Active => 3,
    }
}

/// The rows to show: filtered and sorted as the view says.
pub fn rows<'a>(entries: &'a [Entry], view: &ViewState) -> Vec<&'a Entry> {
    let mut rows: Vec<&Entry> = entries
        .iter()
        .filter(|e| shown(&view.filter, e.status))
        .collect();
    rows.sort_by(|a, b| {
        let order = match view.sort {
            SortColumn::Status => status_rank(a.status).cmp(&status_rank(b.status)),
            SortColumn::Path => a.path.cmp(&b.path),
            SortColumn::Size => a.size.cmp(&b.size),
            SortColumn::Age => a.age.cmp(&b.age),
            SortColumn::Kind => kind_word(a.kind).cmp(kind_word(b.kind)),
        }
        .then_with(|| a.path.cmp(&b.path));
        if view.descending {
            order.reverse()
        } else {
            order
        }
    });
    rows
}

/// The Cleanup tab.
pub fn cleanup_ui(
    ui: &mut egui::Ui,
    model: &Model,
    view: &mut ViewState,
    cleanup: &mut CleanupView,
    out: &mut Outbox,
) {
    let entries: &[Entry] = model.scan.as_ref().map_or(&[], |s| &s.entries);
    let settings = &model.settings;
    // Forget selections of rows that are gone or no longer sweepable.
    cleanup.selected.retain(|path| {
        entries
            .iter()
            .any(|e| &e.path == path && sweepable(e, settings).is_ok())
    });
    let reclaimable: Vec<&Entry> = entries
        .iter()
        .filter(|e| sweepable(e, settings).is_ok())
        .collect();
    let reclaimable_bytes: u64 = reclaimable.iter().map(|e| e.size).sum();
    let selected: Vec<Entry> = entries
        .iter()
        .filter(|e| cleanup.selected.contains(&e.path))
        .cloned()
        .collect();
    let busy = model.sweeping;

    ui.heading("Leftover temp files");
    summary_ui(ui, model, reclaimable.len(), reclaimable_bytes);

    ui.horizontal_wrapped(|ui| {
        let rescan = ui.add_enabled(!model.scanning, egui::Button::new("Rescan"));
        if rescan.clicked() {
            out.rescan = true;
        }
        if model.scanning {
            ui.spinner();
            ui.weak("Scanning…");
        }
        ui.separator();
        let label = format!("Sweep selected ({})", selected.len());
        if ui
            .add_enabled(!selected.is_empty() && !busy, egui::Button::new(label))
            .clicked()
        {
            cleanup.confirm = Some(Confirm::Selected(selected.clone()));
        }
        if ui
            .add_enabled(
                !reclaimable.is_empty() && !busy,
                egui::Button::new("Sweep all orphans"),
            )
            .clicked()
        {
            cleanup.confirm = Some(Confirm::AllOrphans {
                files: reclaimable.len(),
                bytes: reclaimable_bytes,
            });
        }
        if busy {
            ui.spinner();
            ui.weak("Sweeping…");
        }
    });

    ui.horizontal_wrapped(|ui| {
        ui.label("Show:");
        let f = &mut view.filter;
        for (on, status) in [
            (&mut f.orphan, Status::Orphan),
            (&mut f.young, Status::Young),
            (&mut f.active, Status::Active),
            (&mut f.foreign, Status::Foreign),
        ] {
            let count = entries.iter().filter(|e| e.status == status).count();
            ui.checkbox(on, format!("{} ({count})", status_word(status)));
        }
    });

    let table_height = (ui.available_height() - 150.0).max(160.0);
    ui.allocate_ui(egui::vec2(ui.available_width(), table_height), |ui| {
        table_ui(ui, entries, settings, view, cleanup);
    });

    sweep_log_ui(ui, model);
    confirm_ui(ui, cleanup, out);
}

fn summary_ui(ui: &mut egui::Ui, model: &Model, files: usize, bytes: u64) {
    let now = SystemTime::now();
    ui.horizontal_wrapped(|ui| {
        ui.label(
            RichText::new(format!(
                "Reclaimable: {} · {}",
                format::count(files as u64, "file", "files"),
                format::bytes(bytes)
            ))
            .strong(),
        );
        ui.separator();
        let mut last = model
            .sweep_status
            .last_run
            .map_or("never".to_string(), |t| format::moment(t, now));
        if let Some(report) = &model.last_sweep {
            last.push_str(&format!(
                " (removed {}, freed {}{})",
                format::count(report.removed.len() as u64, "file", "files"),
                format::bytes(report.freed_bytes),
                if report.skipped.is_empty() {
                    String::new()
                } else {
                    format!(", {} left in place", report.skipped.len())
                }
            ));
        }
        ui.label(format!("Last sweep: {last}"));
        ui.separator();
        let next = match (model.settings.sweep.schedule, model.sweep_status.next_run) {
            (ferry_engine::sweep::Schedule::Off, _) => "not scheduled".to_string(),
            (_, Some(t)) => format::moment(t, now),
            (_, None) => "soon".to_string(),
        };
        ui.label(format!("Next scheduled sweep: {next}"));
        ui.separator();
        ui.weak(format!(
            "Orphans: unlocked and older than {}",
            format::duration(model.settings.sweep.threshold)
        ));
    });
    if let Some(scan) = &model.scan
        && !scan.ignored.is_empty()
    {
        ui.weak(format!(
            "{} that look like temp files are left alone for safety (links, folders, other \
             users' files…).",
            format::count(scan.ignored.len() as u64, "file", "files")
        ));
    }
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

fn table_ui(
    ui: &mut egui::Ui,
    entries: &[Entry],
    settings: &Settings,
    view: &mut ViewState,
    cleanup: &mut CleanupView,
) {
    let rows = rows(entries, view);
    let row_height = ui.text_style_height(&egui::TextStyle::Body) + 6.0;
    let mut toggled = Vec::new();
    let mut sort_view = view.clone();
    TableBuilder::new(ui)
        .id_salt("cleanup-table")
        .striped(true)
        .resizable(true)
        .auto_shrink([false, false])
        .cell_layout(egui::Layout::left_to_right(egui::Align::Center))
        .column(Column::exact(28.0))
        .column(Column::initial(90.0).at_least(70.0))
        .column(Column::remainder().at_least(200.0).clip(true))
        .column(Column::initial(90.0).at_least(60.0))
        .column(Column::initial(90.0).at_least(60.0))
        .column(Column::initial(90.0).at_least(60.0))
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
                let entry = rows[row.index()];
                let allowed = sweepable(entry, settings);
                let is_selected = cleanup.selected.contains(&entry.path);
                row.set_selected(is_selected);
                let name = entry
                    .path
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default();
                row.col(|ui| {
                    let mut checked = is_selected;
                    let response =
                        ui.add_enabled(allowed.is_ok(), egui::Checkbox::without_text(&mut checked));
                    let response = match &allowed {
                        Ok(()) => response.on_hover_text(format!("Select {name}")),
                        Err(why) => {
                            // The tooltip of a disabled widget; also its name
                            // for screen readers.
                            let text = format!("{name} cannot be selected. {why}");
                            response
                                .on_hover_text(text.as_str())
                                .on_disabled_hover_text(text)
                        }
                    };
                    if response.changed() {
                        toggled.push(entry.path.clone());
                    }
                });
                row.col(|ui| {
                    let colour = status_colour(ui, entry.status);
                    let (rect, _) =
                        ui.allocate_exact_size(egui::vec2(10.0, 10.0), egui::Sense::hover());
                    ui.painter().circle_filled(rect.center(), 4.5, colour);
                    ui.label(RichText::new(status_word(entry.status)).color(colour));
                });
                row.col(|ui| {
                    let label = ui.add(
                        egui::Label::new(entry.path.display().to_string())
                            .truncate()
                            .selectable(false),
                    );
                    if let Err(why) = &allowed {
                        label.on_hover_text(why.as_str());
                    }
                });
                row.col(|ui| {
                    ui.label(format::bytes(entry.size));
                });
                row.col(|ui| {
                    ui.label(format::duration(Duration::from_secs(entry.age.as_secs())));
                });
                row.col(|ui| {
                    let kind = match entry.pattern {
                        Some(p) => p.as_str(),
                        None => kind_word(entry.kind),
                    };
                    ui.label(kind);
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
    if rows.is_empty() {
        ui.weak("No leftover files found.");
    }
}

fn sweep_log_ui(ui: &mut egui::Ui, model: &Model) {
    let log = &model.sweep_status.log;
    egui::CollapsingHeader::new(format!("Recent sweep log ({})", log.len()))
        .id_salt("sweep-log")
        .show(ui, |ui| {
            if log.is_empty() {
                ui.weak("Nothing has been swept yet.");
                return;
            }
            let now = SystemTime::now();
            egui::ScrollArea::vertical()
                .id_salt("sweep-log-scroll")
                .max_height(140.0)
                .show(ui, |ui| {
                    for record in log.iter().rev().take(100) {
                        ui.horizontal(|ui| {
                            ui.weak(format::moment(record.time, now));
                            ui.label(format::bytes(record.size));
                            ui.weak(match record.trigger {
                                ferry_engine::sweep::Trigger::Manual => "manual",
                                ferry_engine::sweep::Trigger::Scheduled => "scheduled",
                            });
                            ui.monospace(record.path.display().to_string());
                        });
                    }
                });
        });
}

fn confirm_ui(ui: &mut egui::Ui, cleanup: &mut CleanupView, out: &mut Outbox) {
    let Some(confirm) = cleanup.confirm.clone() else {
        return;
    };
    let (files, bytes) = match &confirm {
        Confirm::Selected(entries) => (entries.len(), entries.iter().map(|e| e.size).sum()),
        Confirm::AllOrphans { files, bytes } => (*files, *bytes),
    };
    let modal = egui::Modal::new(egui::Id::unique("confirm-sweep")).show(ui.ctx(), |ui| {
        ui.set_max_width(420.0);
        ui.heading("Remove leftover files?");
        ui.label(format!(
            "Remove {} ({})? Each file is checked again and only removed if it is still \
             an unlocked orphan. This cannot be undone.",
            format::count(files as u64, "file", "files"),
            format::bytes(bytes)
        ));
        ui.add_space(8.0);
        let mut answer = None;
        ui.horizontal(|ui| {
            let remove = format!("Remove {}", format::count(files as u64, "file", "files"));
            if ui.button(RichText::new(remove).strong()).clicked() {
                answer = Some(true);
            }
            if ui.button("Keep them").clicked() {
                answer = Some(false);
            }
        });
        answer
    });
    let answer = modal.inner.or(modal.should_close().then_some(false));
    match answer {
        Some(true) => {
            match confirm {
                Confirm::Selected(entries) => out.command(Command::SweepEntries(entries)),
                Confirm::AllOrphans { .. } => out.command(Command::Sweep(SweepScope::default())),
            }
            out.sweep_started = true;
            cleanup.selected.clear();
            cleanup.confirm = None;
        }
        Some(false) => cleanup.confirm = None,
        None => {}
    }
}
