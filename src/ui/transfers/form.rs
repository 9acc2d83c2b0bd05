//! The next job, as the person puts it together: sources (dropped, picked
//! or typed), the destination, the options. Each source and the destination
//! are checked by the engine as they are entered ([`Command::Inspect`]); the
//! form says beside each what was found, offers *Create folder* for a
//! missing destination, and enables *Start* only when the job can start,
//! saying why not beside it. The form is cleared only once the engine has
//! accepted the job (its plan is made); a refused job leaves it as it was.

use std::path::{Path, PathBuf};

use eframe::egui::{self, RichText};

use ferry_engine::{
    Command, ConflictPolicy, DestState, JobId, JobOutcome, JobSpec, JobSummary, Settings,
    SourceState, TransferKind,
};

use super::super::dialogs::Purpose;
use super::super::model::Model;
use super::super::{Outbox, colours};
use super::super::{elide, format};

/// How often items marked missing (or refused) are checked again while
/// they are in the list: a file put back is found without any action.
pub const RECHECK_EVERY: f64 = 2.0;

/// A job handed to the engine and not yet accepted or refused.
#[derive(Debug, Clone)]
pub struct Pending {
    /// Its id.
    pub id: JobId,
    /// What was asked.
    pub spec: JobSpec,
    /// The form as it was when Start was clicked: a refusal puts it back.
    pub form: FormSnapshot,
    /// Whether the engine has queued it (its items left the list then, so
    /// they cannot be started twice).
    pub queued: bool,
}

/// What the form held for one job: its items, destination and options.
#[derive(Debug, Clone, PartialEq)]
pub struct FormSnapshot {
    /// The items.
    pub sources: Vec<PathBuf>,
    /// The destination as typed.
    pub destination: String,
    /// Copy or move.
    pub kind: TransferKind,
    /// What to do with existing files.
    pub policy: ConflictPolicy,
    /// Check every copy.
    pub verify: bool,
    /// Undo everything on failure.
    pub all_or_nothing: bool,
    /// Write a checksum manifest.
    pub checksums: bool,
}

/// The next job, as the person is putting it together.
#[derive(Debug, Clone)]
pub struct NewJob {
    /// Files and folders chosen so far.
    pub sources: Vec<PathBuf>,
    /// A path typed in to add to the sources.
    pub typed_source: String,
    /// Copy or move.
    pub kind: TransferKind,
    /// Keep Copy or Move for the next jobs (else it goes back to Copy).
    pub kind_pinned: bool,
    /// What to do with existing files.
    pub policy: ConflictPolicy,
    /// Check every copy.
    pub verify: bool,
    /// Undo everything on failure.
    pub all_or_nothing: bool,
    /// Write a checksum manifest beside the copies.
    pub checksums: bool,
    /// Jobs started from this form that the engine has not yet accepted.
    pub pending: Vec<Pending>,
    /// Why the engine refused the last job started (the form is as it was).
    pub refused: Vec<String>,
    /// The items and destination the refusal is about: once either
    /// changes (Clear, a new drop, another destination) it is no longer
    /// shown.
    refused_for: Option<(Vec<PathBuf>, String)>,
    /// The sources last sent for checking.
    checked_sources: Option<Vec<PathBuf>>,
    /// The destination last sent for checking.
    checked_dest: Option<String>,
    /// When (egui time, seconds) a check was last sent.
    checked_at: f64,
}

impl NewJob {
    /// An empty job with the settings' defaults.
    pub fn new(settings: &Settings) -> Self {
        Self {
            sources: Vec::new(),
            typed_source: String::new(),
            kind: TransferKind::Copy,
            kind_pinned: false,
            policy: settings.transfer.conflict,
            verify: settings.transfer.verify,
            all_or_nothing: settings.transfer.all_or_nothing,
            checksums: false,
            pending: Vec::new(),
            refused: Vec::new(),
            refused_for: None,
            checked_sources: None,
            checked_dest: None,
            checked_at: f64::NEG_INFINITY,
        }
    }

    /// Takes the settings' defaults for the options.
    pub fn apply_defaults(&mut self, settings: &Settings) {
        self.policy = settings.transfer.conflict;
        self.verify = settings.transfer.verify;
        self.all_or_nothing = settings.transfer.all_or_nothing;
    }

    /// Adds sources, each once. An item already in the list is checked
    /// again (dropping a file that was put back refreshes its mark).
    pub fn add_sources(&mut self, paths: impl IntoIterator<Item = PathBuf>) {
        for path in paths {
            if path.as_os_str().is_empty() {
                continue;
            }
            if self.sources.contains(&path) {
                self.checked_sources = None;
            } else {
                self.sources.push(path);
            }
        }
    }

    /// The form as it is now, for job `spec`.
    pub fn snapshot(&self, destination: &str) -> FormSnapshot {
        FormSnapshot {
            sources: self.sources.clone(),
            destination: destination.to_string(),
            kind: self.kind,
            policy: self.policy,
            verify: self.verify,
            all_or_nothing: self.all_or_nothing,
            checksums: self.checksums,
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

    /// Asks the engine to check the sources when the list changed, and the
    /// destination when its text changed (or a check of it was asked for).
    /// The destination is checked only then: its check probes the
    /// filesystem with real calls there. `dest_seen` is the destination the
    /// engine last answered for: of several checks waiting the engine
    /// answers only the newest, so one not yet answered is asked again.
    ///
    /// Items marked missing or refused (and a destination that does not
    /// exist) are checked again every [`RECHECK_EVERY`] seconds (`now`,
    /// egui time) while `stale` says there are some: what was put back is
    /// found without any action.
    pub fn check(
        &mut self,
        destination: &str,
        dest_seen: Option<&Path>,
        stale: Stale,
        now: f64,
        out: &mut Outbox,
    ) {
        if (stale.sources || stale.dest) && now - self.checked_at >= RECHECK_EVERY {
            self.check_again(stale.dest);
        }
        let dest = destination.trim();
        let sources_changed = self.checked_sources.as_ref() != Some(&self.sources);
        let dest_unanswered = !dest.is_empty() && dest_seen != Some(Path::new(dest));
        let dest_changed = self.checked_dest.as_deref() != Some(dest);
        if !sources_changed && !dest_changed {
            return;
        }
        let send_dest = !dest.is_empty() && (dest_changed || dest_unanswered);
        if !self.sources.is_empty() || send_dest {
            out.command(Command::Inspect {
                sources: self.sources.clone(),
                dest: send_dest.then(|| PathBuf::from(dest)),
            });
        }
        self.checked_at = now;
        self.checked_sources = Some(self.sources.clone());
        self.checked_dest = Some(dest.to_string());
    }

    /// Checks the sources again at the next frame (things changed on
    /// disk), and the destination too when `dest`.
    pub fn check_again(&mut self, dest: bool) {
        self.checked_sources = None;
        if dest {
            self.checked_dest = None;
        }
    }

    /// The engine queued job `id`: its sources leave the list at once
    /// (others added meanwhile stay), so a job waiting behind another
    /// cannot be started a second time, and Copy/Move goes back to Copy
    /// unless pinned. The job stays pending until it is planned or
    /// refused.
    pub fn queued(&mut self, id: JobId) {
        let Some(job) = self.pending.iter_mut().find(|p| p.id == id) else {
            return;
        };
        if job.queued {
            return;
        }
        job.queued = true;
        let gone = job.form.sources.clone();
        self.sources.retain(|s| !gone.contains(s));
        if !self.kind_pinned {
            self.kind = TransferKind::Copy;
        }
        self.refused.clear();
        self.refused_for = None;
    }

    /// The engine accepted job `id` (made its plan, or it ran).
    pub fn accepted(&mut self, id: JobId) {
        self.queued(id);
        self.pending.retain(|p| p.id != id);
    }

    /// Job `id` ended: accepted unless the engine refused it before making
    /// its plan. A refused job's form comes back as it was when Start was
    /// clicked (its items first, then any added since; its destination and
    /// options), with the reasons. A refusal is a failed job that was never
    /// reported planned and whose failures name no destination file (those
    /// of files that failed while the job ran do).
    pub fn ended(
        &mut self,
        id: JobId,
        summary: &JobSummary,
        planned: bool,
        destination: &mut String,
    ) {
        let Some(at) = self.pending.iter().position(|p| p.id == id) else {
            return;
        };
        let refused = !planned
            && summary.outcome == JobOutcome::Failed
            && summary.files_done == 0
            && summary.skipped == 0
            && summary.previously_done == 0
            && summary.failed.iter().all(|f| f.dest.is_none());
        if refused {
            let form = self.pending.remove(at).form;
            let since: Vec<PathBuf> = self
                .sources
                .drain(..)
                .filter(|s| !form.sources.contains(s))
                .collect();
            self.sources = form.sources;
            self.sources.extend(since);
            *destination = form.destination;
            self.kind = form.kind;
            self.policy = form.policy;
            self.verify = form.verify;
            self.all_or_nothing = form.all_or_nothing;
            self.checksums = form.checksums;
            self.refused_for = Some((self.sources.clone(), destination.trim().to_string()));
            self.refused = summary
                .failed
                .iter()
                .map(format::failure_message)
                .chain(summary.warnings.iter().map(|w| format::drawable(w)))
                .collect();
            self.check_again(true);
        } else {
            self.accepted(id);
        }
    }
}

/// Whether the last checks found something that may come back: items
/// marked missing or refused, a destination that does not exist.
#[derive(Debug, Clone, Copy, Default)]
pub struct Stale {
    /// Some item is marked missing or refused.
    pub sources: bool,
    /// The destination (or its folder) does not exist, or was refused.
    pub dest: bool,
}

impl Stale {
    /// What `model` says of the items and destination of the form.
    pub fn of(job: &NewJob, model: &Model, destination: &str) -> Self {
        let dest = destination.trim();
        Self {
            sources: job.sources.iter().any(|s| {
                matches!(
                    model.sources_checked.get(s),
                    Some(SourceState::Missing | SourceState::Refused(_))
                )
            }),
            dest: !dest.is_empty()
                && model.dest_checked.as_ref().is_some_and(|d| {
                    d.path == Path::new(dest)
                        && matches!(
                            d.state,
                            DestState::Missing | DestState::MissingParent | DestState::Refused(_)
                        )
                }),
        }
    }
}

/// What the form needs besides the job.
pub struct FormCtx<'a> {
    /// The destination field (remembered between runs).
    pub destination: &'a mut String,
    /// Whether files are being dragged over the window.
    pub hovering: usize,
    /// The dialog waiting for an answer.
    pub dialog_open: Option<Purpose>,
    /// Why dialogs cannot be shown.
    pub dialogs_unavailable: Option<&'a str>,
}

/// Where the destination field is on screen (a drop there sets the
/// destination), kept from the last frame.
pub fn destination_rect_id() -> egui::Id {
    egui::Id::unique("ferry-destination-field-rect")
}

/// The form.
pub fn new_job_ui(
    ui: &mut egui::Ui,
    cx: FormCtx<'_>,
    model: &Model,
    job: &mut NewJob,
    out: &mut Outbox,
) {
    let FormCtx {
        destination,
        hovering,
        dialog_open,
        dialogs_unavailable,
    } = cx;
    let stale = Stale::of(job, model, destination);
    let now = ui.input(|i| i.time);
    job.check(
        destination,
        model.dest_checked.as_ref().map(|d| d.path.as_path()),
        stale,
        now,
        out,
    );
    if stale.sources || stale.dest {
        // Look again soon, also while nothing moves on screen.
        ui.ctx()
            .request_repaint_after(std::time::Duration::from_secs_f64(RECHECK_EVERY));
    }
    ui.heading("New transfer");
    drop_zone_ui(ui, hovering, dialog_open, model, job, destination, out);

    if let Some(why) = dialogs_unavailable {
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
            ui.vertical(|ui| {
                ui.horizontal(|ui| {
                    let field = ui.add(
                        egui::TextEdit::singleline(destination)
                            .hint_text("a folder (drop one here), or a file path for one source")
                            .desired_width(360.0),
                    );
                    let field = field.labelled_by(label.id);
                    ui.ctx()
                        .data_mut(|d| d.insert_temp(destination_rect_id(), field.rect));
                    if hovering > 0 {
                        ui.painter().rect_stroke(
                            field.rect.expand(2.0),
                            3.0,
                            egui::Stroke::new(2.0, ui.visuals().selection.bg_fill),
                            egui::StrokeKind::Outside,
                        );
                    }
                    let picking = dialog_open == Some(Purpose::Destination);
                    if ui
                        .add_enabled(
                            dialog_open.is_none(),
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
                destination_state_ui(ui, model, job, destination, out);
            });
            ui.end_row();

            ui.label("Operation:");
            ui.horizontal(|ui| {
                ui.radio_value(&mut job.kind, TransferKind::Copy, "Copy");
                ui.radio_value(&mut job.kind, TransferKind::Move, "Move")
                    .on_hover_text("Each source is removed once its copy is safely on disk");
                ui.checkbox(&mut job.kind_pinned, "Keep for next transfers")
                    .on_hover_text(
                        "Otherwise Copy is chosen again after each transfer, so a Move is never \
                         repeated by mistake",
                    );
            });
            ui.end_row();

            ui.label("If a file exists:");
            ui.horizontal_wrapped(|ui| {
                egui::ComboBox::from_id_salt("conflict-policy")
                    .selected_text(format::policy(job.policy))
                    .show_ui(ui, |ui| {
                        for policy in ConflictPolicy::ALL {
                            ui.selectable_value(&mut job.policy, policy, format::policy(policy));
                        }
                    })
                    .response
                    .on_hover_text("What to do when a file of the same name is already there");
                ui.weak(format::policy_help(job.policy));
            });
            ui.end_row();

            ui.label("Checks:");
            ui.horizontal_wrapped(|ui| {
                ui.checkbox(&mut job.verify, "Verify copies")
                    .on_hover_text("Read each copy back from disk and compare it with its source");
                ui.checkbox(&mut job.all_or_nothing, "All or nothing")
                    .on_hover_text("On any failure or cancel, put the destination back as it was");
                ui.checkbox(&mut job.checksums, "Save checksums")
                    .on_hover_text(
                        "Write a checksum file (BLAKE3, b3sum format) of the copied files into \
                         the destination, named after the job; Verify in the history reads the \
                         files again against it",
                    );
            });
            ui.end_row();
            if job.checksums
                && let Some(spec) = job.spec(destination)
            {
                ui.label("");
                ui.weak(format!(
                    "Checksums go to {}",
                    manifest_path(&spec, model).display()
                ));
                ui.end_row();
            }
        });

    start_ui(ui, model, job, destination, out);
}

/// Where "Save checksums" writes the manifest: `<destination>/<job
/// title>.b3` when the destination is (or will be) a folder, else beside
/// the single copy as `<its name>.b3`.
pub fn manifest_path(spec: &JobSpec, model: &Model) -> PathBuf {
    let into_folder = spec.sources.len() > 1
        || model
            .dest_checked
            .as_ref()
            .is_some_and(|d| d.path == spec.dest && matches!(d.state, DestState::Folder { .. }));
    let safe = |name: &str| -> String {
        name.chars()
            .map(|c| {
                if matches!(c, '/' | '\\' | ':' | '*' | '?' | '"' | '<' | '>' | '|') {
                    '_'
                } else {
                    c
                }
            })
            .collect()
    };
    if into_folder {
        spec.dest.join(format!("{}.b3", safe(&spec.title())))
    } else {
        let name = spec
            .dest
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| spec.title());
        format::parent_dir(&spec.dest).join(format!("{}.b3", safe(&name)))
    }
}

/// Under the destination: what the engine found there.
fn destination_state_ui(
    ui: &mut egui::Ui,
    model: &Model,
    job: &mut NewJob,
    destination: &str,
    out: &mut Outbox,
) {
    let dest = destination.trim();
    if dest.is_empty() {
        return;
    }
    let Some(check) = model
        .dest_checked
        .as_ref()
        .filter(|d| d.path == Path::new(dest))
    else {
        ui.weak("Checking…");
        return;
    };
    let create = |ui: &mut egui::Ui, out: &mut Outbox| {
        if ui
            .button("Create folder")
            .on_hover_text(format!("Create {dest} (and the folders above it)"))
            .clicked()
        {
            out.command(Command::CreateFolder(PathBuf::from(dest)));
        }
    };
    match &check.state {
        DestState::Folder { summary, .. } => {
            ui.label(RichText::new(summary).color(colours::info(ui)))
                .on_hover_text(
                    "The destination's filesystem, its free space and what it cannot keep",
                );
        }
        DestState::Missing => {
            ui.horizontal_wrapped(|ui| {
                let text = if job.sources.len() > 1 {
                    "This folder does not exist yet."
                } else {
                    "Not there yet: the copy will get this name, or create the folder to copy into it."
                };
                ui.label(RichText::new(text).color(colours::warning(ui)));
                create(ui, out);
            });
        }
        DestState::MissingParent => {
            ui.horizontal_wrapped(|ui| {
                ui.label(
                    RichText::new("Neither this folder nor the one above it exists.")
                        .color(colours::error(ui)),
                );
                create(ui, out);
            });
        }
        DestState::File => {
            let text = if job.sources.len() > 1 {
                "This is a file; choose a folder for several items."
            } else {
                "An existing file: what happens to it follows \"If a file exists\"."
            };
            ui.label(RichText::new(text).color(colours::warning(ui)));
        }
        DestState::Refused(why) => {
            ui.label(RichText::new(format!("Cannot be used: {why}")).color(colours::error(ui)));
        }
    }
    if let Some((path, Some(error))) = &model.folder_created
        && path == Path::new(dest)
    {
        ui.label(RichText::new(format!("Not created: {error}")).color(colours::error(ui)));
    }
}

/// Why the job cannot start now, in words (`None`: it can, as far as the
/// checks tell).
pub fn blocker(job: &NewJob, model: &Model, destination: &str) -> Option<String> {
    if job.sources.is_empty() {
        return Some("Add files or folders to transfer first.".into());
    }
    let dest = destination.trim();
    if dest.is_empty() {
        return Some("Choose a destination first.".into());
    }
    let missing = job
        .sources
        .iter()
        .filter(|s| model.sources_checked.get(*s) == Some(&SourceState::Missing))
        .count();
    if missing > 0 {
        return Some(format!(
            "{} not there (marked above): remove {} or put {} back.",
            format::count(missing as u64, "item is", "items are"),
            if missing == 1 { "it" } else { "them" },
            if missing == 1 { "it" } else { "them" },
        ));
    }
    let refused = job
        .sources
        .iter()
        .filter(|s| matches!(model.sources_checked.get(*s), Some(SourceState::Refused(_))))
        .count();
    if refused > 0 {
        return Some(format!(
            "{} cannot be transferred (marked above).",
            format::count(refused as u64, "item", "items")
        ));
    }
    if let Some(check) = model
        .dest_checked
        .as_ref()
        .filter(|d| d.path == Path::new(dest))
    {
        match &check.state {
            DestState::MissingParent => {
                return Some("The destination's folder does not exist: create it first.".into());
            }
            DestState::Missing if job.sources.len() > 1 => {
                return Some("The destination folder does not exist: create it first.".into());
            }
            DestState::File if job.sources.len() > 1 => {
                return Some(
                    "The destination is a file: choose a folder for several items.".into(),
                );
            }
            DestState::Refused(why) => {
                return Some(format!("The destination cannot be used: {why}."));
            }
            _ => {}
        }
    }
    if let Some(spec) = job.spec(destination)
        && job
            .pending
            .iter()
            .any(|p| !p.queued && p.spec.sources == spec.sources && p.spec.dest == spec.dest)
    {
        return Some("Starting… (the list clears once Ferry has accepted the job)".into());
    }
    None
}

fn start_ui(
    ui: &mut egui::Ui,
    model: &Model,
    job: &mut NewJob,
    destination: &str,
    out: &mut Outbox,
) {
    let blocked = blocker(job, model, destination);
    ui.add_space(4.0);
    ui.horizontal_wrapped(|ui| {
        let start = format!("Start {}", job.kind.as_str());
        let button = ui.add_enabled(
            blocked.is_none(),
            egui::Button::new(RichText::new(start).strong()).min_size(egui::vec2(120.0, 28.0)),
        );
        if let Some(why) = &blocked {
            ui.label(RichText::new(why).color(ui.visuals().weak_text_color()));
        }
        if button.clicked()
            && let Some(mut spec) = job.spec(destination)
        {
            if job.checksums {
                spec.checksums = Some(manifest_path(&spec, model));
            }
            let id = JobId::random();
            job.pending.push(Pending {
                id,
                spec: spec.clone(),
                form: job.snapshot(destination),
                queued: false,
            });
            job.refused.clear();
            job.refused_for = None;
            out.command(Command::Enqueue { id, spec });
        }
    });
    // A refusal is about the items and destination it was given: once the
    // list or the destination changes, it has nothing more to say.
    if job.refused_for.as_ref().is_some_and(|(sources, dest)| {
        *sources != job.sources || dest.as_str() != destination.trim()
    }) {
        job.refused.clear();
        job.refused_for = None;
    }
    if !job.refused.is_empty() {
        egui::Frame::group(ui.style())
            .stroke(egui::Stroke::new(1.0, colours::error(ui)))
            .show(ui, |ui| {
                ui.set_width(ui.available_width());
                ui.label(
                    RichText::new(
                        "Not started; nothing was written. Its items, destination and options \
                         are back in the form.",
                    )
                    .strong()
                    .color(colours::error(ui)),
                );
                for reason in &job.refused {
                    ui.label(RichText::new(reason).color(colours::error(ui)));
                }
            });
    }
}

fn drop_zone_ui(
    ui: &mut egui::Ui,
    hovering: usize,
    dialog_open: Option<Purpose>,
    model: &Model,
    job: &mut NewJob,
    destination: &mut String,
    out: &mut Outbox,
) {
    let hover = hovering > 0;
    let accent = ui.visuals().selection.bg_fill;
    let (fill, stroke) = if hover {
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
        .inner_margin(egui::Margin::symmetric(16, 12))
        .show(ui, |ui| {
            ui.set_width(ui.available_width());
            ui.vertical_centered(|ui| {
                let text = if hover {
                    format!(
                        "Drop to add {} (on the Destination field: to copy there)",
                        format::count(hovering as u64, "item", "items")
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
                    let idle = dialog_open.is_none();
                    let files = if dialog_open == Some(Purpose::AddFiles) {
                        "Choosing…"
                    } else {
                        "Add files…"
                    };
                    if ui.add_enabled(idle, egui::Button::new(files)).clicked() {
                        out.dialog(Purpose::AddFiles);
                    }
                    let folder = if dialog_open == Some(Purpose::AddFolder) {
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
                sources_ui(ui, model, job, destination);
            }
        });
}

/// A source's state in words, and whether it blocks the job.
fn source_words(state: Option<&SourceState>) -> (String, bool) {
    match state {
        None => ("checking…".into(), false),
        Some(SourceState::File { size }) => (format!("file, {}", format::bytes(*size)), false),
        Some(SourceState::Folder) => ("folder".into(), false),
        Some(SourceState::Link) => ("link".into(), false),
        Some(SourceState::Missing) => ("missing: it is not there".into(), true),
        Some(SourceState::Refused(why)) => (format!("cannot be transferred: {why}"), true),
    }
}

/// The items chosen for the next job, each with what the engine found and
/// a Remove button.
fn sources_ui(ui: &mut egui::Ui, model: &Model, job: &mut NewJob, destination: &mut String) {
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
    let mut as_destination = None;
    egui::ScrollArea::vertical()
        .id_salt("sources")
        .max_height(120.0)
        .show(ui, |ui| {
            for (i, source) in job.sources.iter().enumerate() {
                let state = model.sources_checked.get(source);
                let (words, bad) = source_words(state);
                ui.horizontal(|ui| {
                    let button = ui.small_button("Remove");
                    let name = format!("Remove {}", source.display());
                    button
                        .widget_info(|| egui::WidgetInfo::labeled(egui::Role::Button, true, &name));
                    if button.on_hover_text("Remove from the list").clicked() {
                        remove = Some(i);
                    }
                    // The path takes what the words and buttons leave.
                    let gap = ui.spacing().item_spacing.x;
                    let mut reserve = elide::width(ui, &words, &RichText::new) + gap;
                    if state == Some(&SourceState::Folder) {
                        reserve += elide::width(ui, "Use as destination", &RichText::new)
                            + 2.0 * ui.spacing().button_padding.x
                            + gap;
                    }
                    elide::mono(
                        ui,
                        &source.display().to_string(),
                        ui.available_width() - reserve,
                    );
                    let colour = if bad {
                        colours::error(ui)
                    } else {
                        ui.visuals().weak_text_color()
                    };
                    ui.label(RichText::new(words).color(colour));
                    if state == Some(&SourceState::Folder) {
                        let button = ui.small_button("Use as destination");
                        let name = format!("Use {} as destination", source.display());
                        button.widget_info(|| {
                            egui::WidgetInfo::labeled(egui::Role::Button, true, &name)
                        });
                        if button
                            .on_hover_text(
                                "Meant to drop it on the Destination field? Move it there",
                            )
                            .clicked()
                        {
                            as_destination = Some(i);
                        }
                    }
                });
            }
        });
    if let Some(i) = remove {
        job.sources.remove(i);
    }
    if let Some(i) = as_destination {
        let folder = job.sources.remove(i);
        *destination = folder.display().to_string();
    }
}
