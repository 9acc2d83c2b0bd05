//! The Transfers tab: what to send where (drop zone, pickers, typed paths,
//! options), the queue with progress and controls, interrupted jobs to
//! resume or roll back, and the history of finished jobs.

use std::path::PathBuf;

use eframe::egui::{self, RichText};

use ferry_engine::atomic::ConflictPolicy;
use ferry_engine::handle::{Command, Target};
use ferry_engine::job::{JobId, JobOutcome, JobSpec, TransferKind};
use ferry_engine::settings::Settings;

use super::dialogs::Purpose;
use super::format;
use super::model::{FinishedJob, JobState, LiveJob, Model};
use super::{Outbox, colours};

/// The next job, as the person is putting it together.
#[derive(Debug, Clone)]
pub struct NewJob {
    /// Files and folders chosen so far.
    pub sources: Vec<PathBuf>,
    /// A path typed in to add to the sources.
    pub typed_source: String,
    /// Copy or move.
    pub kind: TransferKind,
    /// What to do with existing files.
    pub policy: ConflictPolicy,
    /// Check every copy.
    pub verify: bool,
    /// Undo everything on failure.
    pub all_or_nothing: bool,
}

impl NewJob {
    /// An empty job with the settings' defaults.
    pub fn new(settings: &Settings) -> Self {
        Self {
            sources: Vec::new(),
            typed_source: String::new(),
            kind: TransferKind::Copy,
            policy: settings.transfer.conflict,
            verify: settings.transfer.verify,
            all_or_nothing: settings.transfer.all_or_nothing,
        }
    }

    /// Takes the settings' defaults for the options.
    pub fn apply_defaults(&mut self, settings: &Settings) {
        self.policy = settings.transfer.conflict;
        self.verify = settings.transfer.verify;
        self.all_or_nothing = settings.transfer.all_or_nothing;
    }

    /// Adds sources, each once.
    pub fn add_sources(&mut self, paths: impl IntoIterator<Item = PathBuf>) {
        for path in paths {
            if !path.as_os_str().is_empty() && !self.sources.contains(&path) {
                self.sources.push(path);
            }
        }
    }

    /// The job to queue, if sources and a destination are given.
    pub fn spec(&self, destination: &str) -> Option<JobSpec> {
        let dest = destination.trim();
        if self.sources.is_empty() || dest.is_empty() {
            return None;
        }
        Some(JobSpec {
            kind: self.kind,
            sources: self.sources.clone(),
            dest: PathBuf::from(dest),
            policy: self.policy,
            verify: self.verify,
            all_or_nothing: self.all_or_nothing,
            pairs: Vec::new(),
            checksums: None,
        })
    }
}

/// Everything the tab reads and changes.
pub struct TransfersCtx<'a> {
    /// The engine's truth.
    pub model: &'a mut Model,
    /// The job being put together.
    pub new_job: &'a mut NewJob,
    /// The destination field (remembered between runs).
    pub destination: &'a mut String,
    /// Whether files are being dragged over the window.
    pub hovering: usize,
    /// The dialog waiting for an answer.
    pub dialog_open: Option<Purpose>,
    /// Why dialogs cannot be shown.
    pub dialogs_unavailable: Option<&'a str>,
}

/// The Transfers tab.
pub fn transfers_ui(ui: &mut egui::Ui, cx: TransfersCtx<'_>, out: &mut Outbox) {
    let TransfersCtx {
        model,
        new_job,
        destination,
        hovering,
        dialog_open,
        dialogs_unavailable,
    } = cx;
    let picker = Picker {
        hovering,
        dialog_open,
        dialogs_unavailable,
    };
    egui::ScrollArea::vertical()
        .auto_shrink([false, false])
        .show(ui, |ui| {
            new_job_ui(ui, &picker, new_job, destination, out);
            ui.add_space(8.0);
            if !model.unfinished.is_empty() {
                unfinished_ui(ui, model, out);
                ui.add_space(8.0);
            }
            queue_ui(ui, model, out);
            ui.add_space(8.0);
            history_ui(ui, model, out);
        });
}

/// What the pickers need to know.
struct Picker<'a> {
    hovering: usize,
    dialog_open: Option<Purpose>,
    dialogs_unavailable: Option<&'a str>,
}

fn new_job_ui(
    ui: &mut egui::Ui,
    cx: &Picker<'_>,
    job: &mut NewJob,
    destination: &mut String,
    out: &mut Outbox,
) {
    ui.heading("New transfer");
    drop_zone_ui(ui, cx, job, out);

    if let Some(why) = cx.dialogs_unavailable {
        ui.label(RichText::new(why).color(colours::warning(ui)));
    }

    egui::Grid::new("new-job-options")
        .num_columns(2)
        .spacing([12.0, 6.0])
        .show(ui, |ui| {
            let label = ui.label("Add a path:");
            ui.horizontal(|ui| {
                let field = ui.add(
                    egui::TextEdit::singleline(&mut job.typed_source)
                        .hint_text("/path/to/file or folder")
                        .desired_width(360.0),
                );
                let field = field.labelled_by(label.id);
                let entered = field.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter));
                let typed = !job.typed_source.trim().is_empty();
                if (ui.add_enabled(typed, egui::Button::new("Add")).clicked() || entered) && typed {
                    let path = PathBuf::from(job.typed_source.trim());
                    job.add_sources([path]);
                    job.typed_source.clear();
                }
            });
            ui.end_row();

            let label = ui.label("Destination:");
            ui.horizontal(|ui| {
                let field = ui.add(
                    egui::TextEdit::singleline(destination)
                        .hint_text("a folder, or a file path for one source")
                        .desired_width(360.0),
                );
                field.labelled_by(label.id);
                let picking = cx.dialog_open == Some(Purpose::Destination);
                if ui
                    .add_enabled(
                        cx.dialog_open.is_none(),
                        egui::Button::new(if picking {
                            "Choosing…"
                        } else {
                            "Destination…"
                        }),
                    )
                    .clicked()
                {
                    out.dialog(Purpose::Destination);
                }
            });
            ui.end_row();

            ui.label("Operation:");
            ui.horizontal(|ui| {
                ui.radio_value(&mut job.kind, TransferKind::Copy, "Copy");
                ui.radio_value(&mut job.kind, TransferKind::Move, "Move")
                    .on_hover_text("Each source is removed once its copy is safely on disk");
            });
            ui.end_row();

            ui.label("If a file exists:");
            egui::ComboBox::from_id_salt("conflict-policy")
                .selected_text(format::policy(job.policy))
                .show_ui(ui, |ui| {
                    for policy in ConflictPolicy::ALL {
                        ui.selectable_value(&mut job.policy, policy, format::policy(policy));
                    }
                })
                .response
                .on_hover_text("What to do when a file of the same name is already there");
            ui.end_row();

            ui.label("Checks:");
            ui.horizontal(|ui| {
                ui.checkbox(&mut job.verify, "Verify copies")
                    .on_hover_text("Read each copy back from disk and compare it with its source");
                ui.checkbox(&mut job.all_or_nothing, "All or nothing")
                    .on_hover_text("On any failure or cancel, put the destination back as it was");
            });
            ui.end_row();
        });

    let spec = job.spec(destination);
    let start = format!("Start {}", job.kind.as_str());
    let button = ui.add_enabled(
        spec.is_some(),
        egui::Button::new(RichText::new(start).strong()).min_size(egui::vec2(120.0, 28.0)),
    );
    let button = if spec.is_none() {
        button.on_disabled_hover_text("Add something to transfer and a destination first")
    } else {
        button
    };
    if button.clicked()
        && let Some(spec) = spec
    {
        out.command(Command::Enqueue {
            id: JobId::random(),
            spec,
        });
        job.sources.clear();
    }
}

fn drop_zone_ui(ui: &mut egui::Ui, cx: &Picker<'_>, job: &mut NewJob, out: &mut Outbox) {
    let hovering = cx.hovering > 0;
    let accent = ui.visuals().selection.bg_fill;
    let (fill, stroke) = if hovering {
        (accent.gamma_multiply(0.35), egui::Stroke::new(2.0, accent))
    } else {
        (
            ui.visuals().faint_bg_color,
            egui::Stroke::new(1.0, ui.visuals().widgets.noninteractive.bg_stroke.color),
        )
    };
    egui::Frame::new()
        .fill(fill)
        .stroke(stroke)
        .corner_radius(8.0)
        .inner_margin(egui::Margin::symmetric(16, 14))
        .show(ui, |ui| {
            ui.set_width(ui.available_width());
            ui.vertical_centered(|ui| {
                let text = if hovering {
                    format!(
                        "Drop to add {}",
                        format::count(cx.hovering as u64, "item", "items")
                    )
                } else {
                    "Drop files or folders anywhere on this window".to_string()
                };
                ui.label(RichText::new(text).size(17.0).strong());
                ui.add_space(6.0);
                ui.horizontal(|ui| {
                    // Centre the two buttons.
                    let width = 220.0;
                    ui.add_space(((ui.available_width() - width) / 2.0).max(0.0));
                    let idle = cx.dialog_open.is_none();
                    let files = if cx.dialog_open == Some(Purpose::AddFiles) {
                        "Choosing…"
                    } else {
                        "Add files…"
                    };
                    if ui.add_enabled(idle, egui::Button::new(files)).clicked() {
                        out.dialog(Purpose::AddFiles);
                    }
                    let folder = if cx.dialog_open == Some(Purpose::AddFolder) {
                        "Choosing…"
                    } else {
                        "Add folder…"
                    };
                    if ui.add_enabled(idle, egui::Button::new(folder)).clicked() {
                        out.dialog(Purpose::AddFolder);
                    }
                });
            });
            if !job.sources.is_empty() {
                ui.separator();
                sources_ui(ui, job);
            }
        });
}

/// The items chosen for the next job, each removable.
fn sources_ui(ui: &mut egui::Ui, job: &mut NewJob) {
    ui.horizontal(|ui| {
        ui.label(RichText::new(format!(
            "{} to {}:",
            format::count(job.sources.len() as u64, "item", "items"),
            job.kind.as_str()
        )));
        if ui.small_button("Clear").clicked() {
            job.sources.clear();
        }
    });
    let mut remove = None;
    egui::ScrollArea::vertical()
        .id_salt("sources")
        .max_height(110.0)
        .show(ui, |ui| {
            for (i, source) in job.sources.iter().enumerate() {
                ui.horizontal(|ui| {
                    if ui
                        .small_button("×")
                        .on_hover_text("Remove from the list")
                        .clicked()
                    {
                        remove = Some(i);
                    }
                    ui.monospace(source.display().to_string());
                });
            }
        });
    if let Some(i) = remove {
        job.sources.remove(i);
    }
}

fn unfinished_ui(ui: &mut egui::Ui, model: &mut Model, out: &mut Outbox) {
    egui::Frame::group(ui.style())
        .stroke(egui::Stroke::new(1.0, colours::warning(ui)))
        .show(ui, |ui| {
            ui.set_width(ui.available_width());
            ui.label(
                RichText::new("Interrupted transfers")
                    .strong()
                    .color(colours::warning(ui)),
            );
            ui.label(
                "These transfers stopped before they finished (Ferry was closed or killed). \
                 Resume finishes them; Roll back puts an all-or-nothing job's destination \
                 back as it was.",
            );
            let mut dismiss = None;
            for job in &model.unfinished {
                ui.horizontal_wrapped(|ui| {
                    ui.label(RichText::new(job.spec.title()).strong());
                    ui.label(format!(
                        "{} to {} · {} of {} done",
                        job.spec.kind.as_str(),
                        job.spec.dest.display(),
                        job.done,
                        job.total
                    ));
                    if ui.button("Resume").clicked() {
                        out.command(Command::ResumeJournaled(job.id));
                    }
                    if job.spec.all_or_nothing && ui.button("Roll back").clicked() {
                        out.command(Command::RollBack(job.id));
                    }
                    if ui
                        .button("Later")
                        .on_hover_text("Hide it for now; it is offered again at the next start")
                        .clicked()
                    {
                        dismiss = Some(job.id);
                    }
                });
            }
            if let Some(id) = dismiss {
                model.unfinished.retain(|u| u.id != id);
            }
        });
}

fn queue_ui(ui: &mut egui::Ui, model: &Model, out: &mut Outbox) {
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
    let eta = (totals.rate > 1.0)
        .then(|| std::time::Duration::from_secs_f64(remaining as f64 / totals.rate));
    ui.label(format!(
        "Total: {} of {} · {} of {} · {} · {} · {}",
        format::bytes(totals.bytes_done),
        format::bytes(totals.bytes_total),
        totals.files_done,
        format::count(totals.files_total, "file", "files"),
        format::count(totals.jobs as u64, "job", "jobs"),
        format::rate(totals.rate),
        format::eta(eta),
    ));
    for job in &model.jobs {
        job_row_ui(ui, job, out);
    }
}

fn job_row_ui(ui: &mut egui::Ui, job: &LiveJob, out: &mut Outbox) {
    egui::Frame::group(ui.style()).show(ui, |ui| {
        ui.set_width(ui.available_width());
        ui.horizontal(|ui| {
            ui.label(RichText::new(job.spec.title()).strong());
            ui.weak(format!(
                "{} to {}",
                job.spec.kind.as_str(),
                job.spec.dest.display()
            ));
        });
        let (fraction, done, total, rate, eta) = match &job.progress {
            Some(p) => (
                if p.bytes_total > 0 {
                    p.bytes_done as f32 / p.bytes_total as f32
                } else if p.files_total > 0 {
                    p.files_done as f32 / p.files_total as f32
                } else {
                    0.0
                },
                p.bytes_done,
                p.bytes_total,
                p.rate,
                p.eta,
            ),
            None => (0.0, 0, 0, 0.0, None),
        };
        ui.horizontal(|ui| {
            let state = if job.cancelling {
                "Cancelling"
            } else {
                job.state.word()
            };
            let colour = match job.state {
                JobState::Paused => colours::warning(ui),
                JobState::Running => colours::ok(ui),
                JobState::Queued => ui.visuals().weak_text_color(),
            };
            ui.add(
                egui::ProgressBar::new(fraction)
                    .desired_width(ui.available_width() * 0.45)
                    .show_percentage(),
            );
            ui.label(format!(
                "{} / {}",
                format::bytes(done),
                format::bytes(total)
            ));
            if job.state != JobState::Paused {
                ui.label(format::rate(rate));
                ui.label(format::eta(eta));
            }
            ui.label(RichText::new(state).color(colour).strong());
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
        });
        if let Some(p) = &job.progress {
            let current = p
                .current
                .as_ref()
                .map(|c| format!(" · {}", c.display()))
                .unwrap_or_default();
            ui.weak(format!(
                "{} of {}{current}",
                p.files_done,
                format::count(p.files_total, "file", "files")
            ));
        }
    });
}

fn history_ui(ui: &mut egui::Ui, model: &Model, out: &mut Outbox) {
    ui.horizontal(|ui| {
        ui.heading("History");
        if !model.history.is_empty()
            && ui
                .with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
                    ui.button("Clear history")
                })
                .inner
                .clicked()
        {
            out.clear_history = true;
        }
    });
    if model.history.is_empty() {
        ui.weak("Finished transfers appear here.");
        return;
    }
    for job in &model.history {
        finished_ui(ui, job);
    }
}

fn finished_ui(ui: &mut egui::Ui, job: &FinishedJob) {
    let s = &job.summary;
    let colour = match s.outcome {
        JobOutcome::Completed => colours::ok(ui),
        JobOutcome::CompletedWithErrors
        | JobOutcome::CompletedWithWarnings
        | JobOutcome::Cancelled
        | JobOutcome::RolledBack => colours::warning(ui),
        JobOutcome::Failed => colours::error(ui),
    };
    egui::Frame::group(ui.style()).show(ui, |ui| {
        ui.set_width(ui.available_width());
        ui.horizontal_wrapped(|ui| {
            ui.label(RichText::new(job.outcome_word()).color(colour).strong());
            ui.label(RichText::new(job.title()).strong());
            if let Some(spec) = &job.spec {
                ui.weak(format!("{} to {}", spec.kind.as_str(), spec.dest.display()));
            }
        });
        let mut line = format!(
            "{} ({}) in {}",
            format::count(s.files_done, "file", "files"),
            format::bytes(s.bytes_done),
            format::duration(s.elapsed)
        );
        if s.skipped > 0 {
            line.push_str(&format!(" · {} skipped", s.skipped));
        }
        if !s.failed.is_empty() {
            line.push_str(&format!(" · {} failed", s.failed.len()));
        }
        if !s.method.is_empty() {
            line.push_str(&format!(" · {}", s.method));
        }
        line.push_str(&format!(
            " · {}",
            format::moment(job.finished, std::time::SystemTime::now())
        ));
        ui.weak(line);
        // The first problem in words, right away; every file on demand.
        if let Some(first) = s.failed.first() {
            ui.label(RichText::new(&first.message).color(colours::error(ui)));
            egui::CollapsingHeader::new(format!(
                "Details: {}",
                format::count(s.failed.len() as u64, "failed file", "failed files")
            ))
            .id_salt(("failed", job.id))
            .show(ui, |ui| {
                for failure in &s.failed {
                    ui.horizontal_wrapped(|ui| {
                        ui.monospace(failure.path.display().to_string());
                        ui.label(RichText::new(&failure.message).color(colours::error(ui)));
                    });
                }
            });
        }
        let warning_colour = if s.outcome == JobOutcome::Failed && s.failed.is_empty() {
            colours::error(ui)
        } else {
            colours::warning(ui)
        };
        for warning in &s.warnings {
            ui.label(RichText::new(warning).color(warning_colour));
        }
    });
}
