//! The queue: each live job with its phase (copying, verifying with its
//! own bar, flushing to disk, waiting for an answer, waiting for another
//! job), and the conflicts waiting for a person, asked side by side in a
//! panel that leaves the rest of the window usable.

use std::time::SystemTime;

use eframe::egui::{self, RichText};

use ferry_engine::{Answer, Choice, Command, Conflict, JobId, Phase, Target};

use super::super::model::{JobState, LiveJob, Model};
use super::super::{Outbox, colours};
use super::super::{elide, format};

/// The conflict panel: the first conflict waiting, both files side by
/// side, and the three answers (for this file, or for every conflict left
/// in the job).
pub fn conflict_ui(ui: &mut egui::Ui, model: &mut Model, for_all: &mut bool, out: &mut Outbox) {
    let Some((id, conflict)) = model.conflicts.first().cloned() else {
        return;
    };
    let title = model
        .jobs
        .iter()
        .find(|j| j.id == id)
        .map(|j| j.spec.title())
        .unwrap_or_default();
    let waiting_in_job = model.conflicts.iter().filter(|(j, _)| *j == id).count();
    let waiting = model.conflicts.len();
    let mut answer = None;
    egui::Frame::group(ui.style())
        .stroke(egui::Stroke::new(2.0, colours::warning(ui)))
        .inner_margin(egui::Margin::symmetric(12, 8))
        .show(ui, |ui| {
            ui.set_width(ui.available_width());
            let name = conflict
                .dest
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_else(|| conflict.dest.display().to_string());
            let room = ui.available_width();
            let warning = colours::warning(ui);
            ui.horizontal_wrapped(|ui| {
                let heading = |s: String| RichText::new(s).strong().size(16.0).color(warning);
                let shown = elide::middle(ui, &name, room * 0.6, &heading);
                let response = ui.label(heading(format!("\"{shown}\" is already there")));
                if shown != name {
                    response.on_hover_text(&name);
                }
                let waiting = format!(
                    "{} waiting{}",
                    format::count(waiting_in_job as u64, "question", "questions"),
                    if waiting > waiting_in_job {
                        format!(" ({waiting} in all)")
                    } else {
                        String::new()
                    }
                );
                let rest = elide::width(ui, &format!(" · {waiting}"), &RichText::new);
                ui.horizontal(|ui| {
                    ui.spacing_mut().item_spacing.x = 0.0;
                    elide::weak(ui, &title, ui.available_width().min(room * 0.5) - rest);
                    ui.weak(format!(" · {waiting}"));
                });
            });
            ui.horizontal(|ui| {
                ui.spacing_mut().item_spacing.x = 0.0;
                let after = ". The other files go on meanwhile.";
                let rest = elide::width(ui, &format!("In {after}"), &RichText::new);
                ui.weak("In ");
                let dir = format::parent_dir(&conflict.dest).display().to_string();
                elide::weak(ui, &dir, ui.available_width() - rest);
                ui.weak(after);
            });
            side_by_side_ui(ui, &conflict);
            ui.add_space(4.0);
            ui.horizontal_wrapped(|ui| {
                if ui
                    .button(RichText::new("Replace").strong())
                    .on_hover_text("Put the new file in place of the existing one")
                    .clicked()
                {
                    answer = Some(Choice::Replace);
                }
                if ui
                    .button("Skip")
                    .on_hover_text("Keep the existing file; do not copy this one")
                    .clicked()
                {
                    answer = Some(Choice::Skip);
                }
                if ui
                    .button("Keep both")
                    .on_hover_text("The new file goes beside it as \"name (1).ext\"")
                    .clicked()
                {
                    answer = Some(Choice::KeepBoth);
                }
                ui.checkbox(for_all, "Do this for all remaining conflicts in this job");
            });
        });
    if let Some(choice) = answer {
        out.command(Command::Answer {
            id,
            answer: Answer {
                entry: conflict.entry,
                choice,
                for_all: *for_all,
            },
        });
        if *for_all {
            model.conflicts.retain(|(j, _)| *j != id);
        } else {
            model
                .conflicts
                .retain(|(j, c)| !(*j == id && c.entry == conflict.entry));
        }
        *for_all = false;
    }
}

/// Both files in a grid: name, size and modified time, the newer and
/// larger marked.
fn side_by_side_ui(ui: &mut egui::Ui, c: &Conflict) {
    let now = SystemTime::now();
    let when = |t: Option<SystemTime>| {
        t.map(|t| format!("{} ({})", format::clock(t, now), format::moment(t, now)))
            .unwrap_or_else(|| "unknown".into())
    };
    let name = |p: &std::path::Path| {
        p.file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| p.display().to_string())
    };
    let newer_src = matches!((c.src_modified, c.dest_modified), (Some(s), Some(d)) if s > d);
    let newer_dest = matches!((c.src_modified, c.dest_modified), (Some(s), Some(d)) if d > s);
    let mark = |ui: &mut egui::Ui, text: String, strong: bool| {
        if strong {
            ui.label(RichText::new(text).strong());
        } else {
            ui.label(text);
        }
    };
    // The two names share what the labels and spacing leave.
    let spacing = 24.0;
    let first = elide::width(ui, "Modified", &RichText::new);
    let column = ((ui.available_width() - first - 2.0 * spacing) / 2.0 - 8.0).max(60.0);
    egui::Grid::new(("conflict", c.entry))
        .num_columns(3)
        .spacing([spacing, 4.0])
        .striped(true)
        .show(ui, |ui| {
            ui.label("");
            ui.label(RichText::new("Already there").strong());
            ui.label(RichText::new("Being copied").strong());
            ui.end_row();
            ui.weak("Name");
            let mono = |s: String| RichText::new(s).monospace();
            elide::label(ui, &name(&c.dest), column, mono)
                .0
                .on_hover_text(c.dest.display().to_string());
            elide::label(ui, &name(&c.src), column, mono)
                .0
                .on_hover_text(c.src.display().to_string());
            ui.end_row();
            ui.weak("Size");
            mark(ui, format::bytes(c.dest_size), c.dest_size > c.src_size);
            mark(ui, format::bytes(c.src_size), c.src_size > c.dest_size);
            ui.end_row();
            ui.weak("Modified");
            mark(
                ui,
                format!(
                    "{}{}",
                    when(c.dest_modified),
                    if newer_dest { ", newer" } else { "" }
                ),
                newer_dest,
            );
            mark(
                ui,
                format!(
                    "{}{}",
                    when(c.src_modified),
                    if newer_src { ", newer" } else { "" }
                ),
                newer_src,
            );
            ui.end_row();
        });
}

/// The queue with its totals and controls.
pub fn queue_ui(ui: &mut egui::Ui, model: &Model, out: &mut Outbox) {
    let totals = model.totals();
    ui.horizontal(|ui| {
        ui.heading("Queue");
        if totals.jobs > 0 {
            ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
                if ui.button("Cancel all").clicked() {
                    out.command(Command::Cancel(Target::All));
                }
                if totals.paused > 0 && ui.button("Resume all").clicked() {
                    out.command(Command::Unpause(Target::All));
                }
                if totals.paused < totals.jobs && ui.button("Pause all").clicked() {
                    out.command(Command::Pause(Target::All));
                }
            });
        }
    });
    if model.jobs.is_empty() {
        ui.weak("Nothing is being transferred.");
        return;
    }
    let remaining = totals.bytes_total.saturating_sub(totals.bytes_done);
    // Jobs that only wait for answers move nothing: no rate, no time left.
    let moving = model.jobs.iter().any(|j| {
        j.state == JobState::Running
            && j.progress
                .as_ref()
                .is_some_and(|p| p.phase != Phase::Asking)
    });
    let eta = (totals.rate > 1.0 && moving)
        .then(|| std::time::Duration::from_secs_f64(remaining as f64 / totals.rate));
    ui.label(format!(
        "Total: {} of {} · {} of {} · {} · {} · {}",
        format::bytes(totals.bytes_done),
        format::bytes(totals.bytes_total),
        totals.files_done,
        format::count(totals.files_total, "file", "files"),
        format::count(totals.jobs as u64, "job", "jobs"),
        format::rate(if moving { totals.rate } else { 0.0 }),
        format::eta(eta),
    ));
    for job in &model.jobs {
        job_row_ui(ui, model, job, out);
    }
}

/// What a queued job waits for, in words.
pub fn waiting_for(model: &Model, job: &LiveJob) -> String {
    let running: Vec<&LiveJob> = model
        .jobs
        .iter()
        .filter(|j| j.id != job.id && j.state != JobState::Queued)
        .collect();
    match running.as_slice() {
        [] => "Waiting to start".to_string(),
        [one] => format!("Waiting for {} to finish", one.spec.title()),
        [first, rest @ ..] => format!(
            "Waiting for {} or {} to finish",
            first.spec.title(),
            format::count(rest.len() as u64, "other transfer", "other transfers")
        ),
    }
}

/// A job's phase in words.
pub fn phase_word(phase: Phase) -> &'static str {
    match phase {
        Phase::Copying => "Copying",
        Phase::Verifying => "Verifying",
        Phase::Flushing => "Flushing to disk",
        Phase::Asking => "Waiting for your answer",
    }
}

fn job_row_ui(ui: &mut egui::Ui, model: &Model, job: &LiveJob, out: &mut Outbox) {
    egui::Frame::group(ui.style()).show(ui, |ui| {
        ui.set_width(ui.available_width());
        ui.horizontal_wrapped(|ui| {
            ui.label(RichText::new(job.spec.title()).strong());
            ui.weak(format!(
                "{} to {}",
                job.spec.kind.as_str(),
                job.spec.dest.display()
            ));
        });
        let buttons = |ui: &mut egui::Ui, out: &mut Outbox| {
            ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
                if ui
                    .add_enabled(!job.cancelling, egui::Button::new("Cancel"))
                    .clicked()
                {
                    out.command(Command::Cancel(Target::Job(job.id)));
                }
                match job.state {
                    JobState::Paused => {
                        if ui.button("Resume").clicked() {
                            out.command(Command::Unpause(Target::Job(job.id)));
                        }
                    }
                    _ => {
                        if ui.button("Pause").clicked() {
                            out.command(Command::Pause(Target::Job(job.id)));
                        }
                    }
                }
            });
        };
        let Some(p) = job
            .progress
            .as_ref()
            .filter(|_| job.state != JobState::Queued)
        else {
            // Not started: no bar, no "0 B / 0 B", just what it waits for.
            ui.horizontal(|ui| {
                let words = if job.cancelling {
                    "Cancelling".to_string()
                } else if job.state == JobState::Paused {
                    "Paused before it started".to_string()
                } else {
                    waiting_for(model, job)
                };
                ui.label(RichText::new(words).color(ui.visuals().weak_text_color()));
                buttons(ui, out);
            });
            return;
        };
        let shown = model.shown(job);
        let fraction = if p.bytes_total > 0 {
            shown.bytes_done as f32 / p.bytes_total as f32
        } else if p.files_total > 0 {
            shown.files_done as f32 / p.files_total as f32
        } else {
            0.0
        };
        ui.horizontal(|ui| {
            let (state, colour) = if job.cancelling {
                ("Cancelling", colours::warning(ui))
            } else if job.state == JobState::Paused {
                ("Paused", colours::warning(ui))
            } else if p.phase == Phase::Asking {
                (phase_word(p.phase), colours::warning(ui))
            } else {
                ("Running", colours::ok(ui))
            };
            let bar = egui::ProgressBar::new(fraction).desired_width(ui.available_width() * 0.4);
            ui.add(if p.phase == Phase::Asking {
                bar.text("waiting for your answer")
            } else {
                bar.show_percentage()
            });
            ui.label(format!(
                "{} / {}",
                format::bytes(shown.bytes_done),
                format::bytes(p.bytes_total)
            ));
            if job.state != JobState::Paused && p.phase != Phase::Asking {
                ui.label(format::rate(p.rate));
                ui.label(format::eta(p.eta));
            }
            ui.label(RichText::new(state).color(colour).strong());
            buttons(ui, out);
        });
        ui.horizontal_wrapped(|ui| {
            let phase = phase_word(p.phase);
            if job.state != JobState::Paused && p.phase != Phase::Asking {
                ui.label(RichText::new(phase).color(colours::info(ui)));
            }
            if let (Phase::Verifying, Some((done, total))) = (p.phase, p.verifying) {
                let fraction = if total > 0 {
                    done as f32 / total as f32
                } else {
                    1.0
                };
                ui.add(
                    egui::ProgressBar::new(fraction)
                        .desired_width(160.0)
                        .text(format!("verified {}", format::bytes(done))),
                )
                .on_hover_text("The copy of this file read back from disk and compared");
            }
            let current = p
                .current
                .as_ref()
                .map(|c| format!(" · {}", c.display()))
                .unwrap_or_default();
            let asking = if shown.asking > 0 {
                format!(" · {} waiting for your answer", shown.asking)
            } else {
                String::new()
            };
            ui.weak(format!(
                "{} of {}{asking}{current}",
                shown.files_done,
                format::count(p.files_total, "file", "files")
            ));
        });
        if p.phase == Phase::Asking {
            let asked = model.conflicts.iter().filter(|(j, _)| *j == job.id).count();
            ui.label(
                RichText::new(format!(
                    "Everything else is done; {} waiting above.",
                    format::count(asked as u64, "question is", "questions are")
                ))
                .color(colours::warning(ui)),
            );
        }
    });
}

/// Whether job `id` has questions waiting.
pub fn asking(model: &Model, id: JobId) -> bool {
    model.conflicts.iter().any(|(j, _)| *j == id)
}
