//! Jobs that ended (the engine's history, kept across restarts) and jobs
//! that were interrupted (journaled, to resume, roll back or discard).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::SystemTime;

use eframe::egui::{self, RichText};

use ferry_engine::{
    Command, ConflictPolicy, FileError, JobId, JobOutcome, JobSummary, VerifyReport,
};

use super::super::model::{FinishedJob, Model, Verification};
use super::super::{Outbox, colours};
use super::super::{elide, format};
use super::TransfersView;

/// Interrupted jobs: Resume, Roll back (all-or-nothing only), Discard
/// (after a confirmation), and Resume all.
pub fn unfinished_ui(
    ui: &mut egui::Ui,
    model: &mut Model,
    view: &mut TransfersView,
    out: &mut Outbox,
) {
    egui::Frame::group(ui.style())
        .stroke(egui::Stroke::new(1.0, colours::warning(ui)))
        .show(ui, |ui| {
            ui.set_width(ui.available_width());
            ui.horizontal(|ui| {
                ui.label(
                    RichText::new("Interrupted transfers")
                        .strong()
                        .color(colours::warning(ui)),
                );
                if model.unfinished.len() > 1
                    && ui
                        .with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
                            ui.button("Resume all")
                        })
                        .inner
                        .clicked()
                {
                    for job in &model.unfinished {
                        out.command(Command::ResumeJournaled(job.id));
                    }
                }
            });
            ui.label(
                "These transfers stopped before they finished (Ferry was closed or killed). \
                 Resume finishes them; Roll back puts an all-or-nothing job's destination back \
                 as it was; Discard gives one up (what it finished stays).",
            );
            let mut later = None;
            for job in &model.unfinished {
                ui.horizontal_wrapped(|ui| {
                    ui.label(RichText::new(job.spec.title()).strong());
                    ui.label(format!(
                        "{} to {} · {} of {} done",
                        job.spec.kind.as_str(),
                        job.spec.dest.display(),
                        job.done,
                        format::count(job.total as u64, "file", "files"),
                    ));
                    if ui.button("Resume").clicked() {
                        out.command(Command::ResumeJournaled(job.id));
                    }
                    if job.spec.all_or_nothing
                        && ui
                            .button("Roll back")
                            .on_hover_text("Put the destination back as it was before the job")
                            .clicked()
                    {
                        out.command(Command::RollBack(job.id));
                    }
                    if ui
                        .button("Discard…")
                        .on_hover_text("Give it up: what it finished stays, the rest is not copied")
                        .clicked()
                    {
                        view.discard = Some((job.id, job.spec.title()));
                    }
                    if ui
                        .button("Later")
                        .on_hover_text("Hide it for now; it is offered again at the next start")
                        .clicked()
                    {
                        later = Some(job.id);
                    }
                });
            }
            if let Some(id) = later {
                model.unfinished.retain(|u| u.id != id);
            }
        });
}

/// The confirmation before an interrupted job is discarded.
pub fn discard_confirm_ui(
    ctx: &egui::Context,
    model: &mut Model,
    view: &mut TransfersView,
    out: &mut Outbox,
) {
    let Some((id, title)) = view.discard.clone() else {
        return;
    };
    let modal = egui::Modal::new(egui::Id::unique("confirm-discard")).show(ctx, |ui| {
        ui.set_max_width(440.0);
        ui.heading(format!("Discard {title}?"));
        ui.label(
            "The files it finished stay where they are. Its unfinished temporary files and its \
             journal are removed, so it cannot be resumed afterwards.",
        );
        ui.add_space(8.0);
        let mut answer = None;
        ui.horizontal(|ui| {
            if ui.button("Discard it").clicked() {
                answer = Some(true);
            }
            if ui.button("Keep it").clicked() {
                answer = Some(false);
            }
        });
        answer
    });
    match modal.inner.or(modal.should_close().then_some(false)) {
        Some(true) => {
            out.command(Command::Discard(id));
            model.unfinished.retain(|u| u.id != id);
            view.discard = None;
        }
        Some(false) => view.discard = None,
        None => {}
    }
}

/// The confirmation before the history is cleared.
pub fn clear_confirm_ui(
    ctx: &egui::Context,
    model: &Model,
    view: &mut TransfersView,
    out: &mut Outbox,
) {
    if !view.clear_history {
        return;
    }
    let modal = egui::Modal::new(egui::Id::unique("confirm-clear-history")).show(ctx, |ui| {
        ui.set_max_width(420.0);
        ui.heading("Clear the history?");
        ui.label(format!(
            "The list of {} is forgotten (also after a restart). No file is touched.",
            format::count(
                model.history.len() as u64,
                "finished transfer",
                "finished transfers"
            )
        ));
        ui.add_space(8.0);
        let mut answer = None;
        ui.horizontal(|ui| {
            if ui.button("Clear it").clicked() {
                answer = Some(true);
            }
            if ui.button("Keep the history").clicked() {
                answer = Some(false);
            }
        });
        answer
    });
    match modal.inner.or(modal.should_close().then_some(false)) {
        Some(true) => {
            out.command(Command::ClearHistory);
            view.clear_history = false;
        }
        Some(false) => view.clear_history = false,
        None => {}
    }
}

/// The history, newest first.
pub fn history_ui(
    ui: &mut egui::Ui,
    model: &mut Model,
    view: &mut TransfersView,
    out: &mut Outbox,
) {
    ui.horizontal(|ui| {
        ui.heading("History");
        if !model.history.is_empty()
            && ui
                .with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
                    ui.button("Clear history…")
                })
                .inner
                .clicked()
        {
            view.clear_history = true;
        }
    });
    if model.history.is_empty() {
        ui.weak("Finished transfers appear here, also after Ferry restarts.");
        return;
    }
    let now = SystemTime::now();
    let mut verify = None;
    for (at, job) in model.history.iter().enumerate() {
        let verification = model.verifications.get(&job.id);
        // Newer entries come first: a failed file one of them copied
        // since (a retry) is no longer offered for retrying.
        let settled = settled_later(job, &model.history[..at]);
        if let Some(manifest) = finished_ui(ui, job, &settled, verification, view, now, out) {
            verify = Some((job.id, manifest));
        }
    }
    if let Some((entry, manifest)) = verify {
        let id = JobId::random();
        model.verify_ids.insert(id, entry);
        model.verifications.insert(entry, Verification::Running);
        out.command(Command::Verify { id, manifest });
    }
}

/// The counts of a summary in words: `5 files (1.2 MiB) in 3s: 2 copied,
/// 1 replaced, 2 renamed · 3 skipped · 1 failed`.
pub fn counts(s: &JobSummary, moved: bool) -> String {
    let written = format!(
        "{} ({}) in {}",
        format::count(s.files_done, "file", "files"),
        format::bytes(s.bytes_done),
        format::duration(s.elapsed)
    );
    let new = s.files_done.saturating_sub(s.replaced + s.renamed);
    let mut parts = Vec::new();
    if new > 0 || s.files_done == 0 {
        parts.push(format!("{new} {}", if moved { "moved" } else { "copied" }));
    }
    if s.replaced > 0 {
        parts.push(format!("{} replaced", s.replaced));
    }
    if s.renamed > 0 {
        parts.push(format!("{} renamed (kept both)", s.renamed));
    }
    let mut line = format!("{written}: {}", parts.join(", "));
    if s.skipped > 0 {
        line.push_str(&format!(" · {} skipped", s.skipped));
    }
    if !s.failed.is_empty() {
        line.push_str(&format!(" · {} failed", s.failed.len()));
    }
    if s.previously_done > 0 {
        // Finished by the interrupted run, or found already identical at
        // the destination when resumed: either way, in place, and not
        // written by this run.
        line.push_str(&format!(
            " · {} already in place when resumed",
            s.previously_done
        ));
    }
    line
}

/// Failures with the same reason, together: the heading for people and the
/// files.
pub fn failure_groups(failed: &[FileError]) -> Vec<(String, String, Vec<&FileError>)> {
    let mut groups: BTreeMap<(String, String), Vec<&FileError>> = BTreeMap::new();
    for f in failed {
        let reason = format::failure_reason(f);
        groups.entry((f.kind.clone(), reason)).or_default().push(f);
    }
    let mut out: Vec<(String, String, Vec<&FileError>)> = groups
        .into_iter()
        .map(|((kind, reason), files)| {
            let n = files.len() as u64;
            let heading = match kind.as_str() {
                "already_exists" => format!(
                    "{} at the destination (left as {})",
                    format::count(n, "file already exists", "files already exist"),
                    if n == 1 { "it was" } else { "they were" }
                ),
                "not_found" => format::count(n, "file was not found", "files were not found"),
                "permission_denied" => {
                    format!("{}: permission denied", format::count(n, "file", "files"))
                }
                "no_space" => format!(
                    "{}: no space left on the destination",
                    format::count(n, "file", "files")
                ),
                "verify_failed" => format::count(
                    n,
                    "copy did not match its source",
                    "copies did not match their sources",
                ),
                _ => format!("{} could not be copied", format::count(n, "file", "files")),
            };
            (heading, reason, files)
        })
        .collect();
    out.sort_by_key(|g| std::cmp::Reverse(g.2.len()));
    out
}

/// The failed files of `job` (by destination) that a later transfer
/// (`newer`: the history entries after it) copied from the same source
/// without failing.
pub fn settled_later(job: &FinishedJob, newer: &[FinishedJob]) -> Vec<PathBuf> {
    job.summary
        .failed
        .iter()
        .filter_map(|f| {
            let dest = f.dest.as_ref()?;
            newer
                .iter()
                .any(|later| {
                    later.spec.as_ref().is_some_and(|spec| {
                        spec.pairs.iter().any(|(s, d)| s == &f.path && d == dest)
                    }) && !later
                        .summary
                        .failed
                        .iter()
                        .any(|lf| lf.dest.as_ref() == Some(dest))
                        && later.summary.outcome != JobOutcome::Cancelled
                        && later.summary.outcome != JobOutcome::RolledBack
                })
                .then(|| dest.clone())
        })
        .collect()
}

/// One ended job; returns the manifest to verify when Verify was clicked.
fn finished_ui(
    ui: &mut egui::Ui,
    job: &FinishedJob,
    settled: &[PathBuf],
    verification: Option<&Verification>,
    view: &mut TransfersView,
    now: SystemTime,
    out: &mut Outbox,
) -> Option<PathBuf> {
    let s = &job.summary;
    let colour = match s.outcome {
        JobOutcome::Completed => colours::ok(ui),
        JobOutcome::CompletedWithErrors
        | JobOutcome::CompletedWithWarnings
        | JobOutcome::Cancelled
        | JobOutcome::RolledBack => colours::warning(ui),
        JobOutcome::Failed => colours::error(ui),
    };
    let mut verify = None;
    egui::Frame::group(ui.style()).show(ui, |ui| {
        ui.set_width(ui.available_width());
        ui.horizontal_wrapped(|ui| {
            ui.label(RichText::new(job.outcome_word()).color(colour).strong());
            ui.label(RichText::new(job.title()).strong());
            if let Some(spec) = &job.spec {
                ui.weak(format!("{} to {}", spec.kind.as_str(), spec.dest.display()));
            }
            ui.weak(format!("· {}", format::moment(job.finished, now)))
                .on_hover_text(format::clock(job.finished, now));
        });
        let moved = job
            .spec
            .as_ref()
            .is_some_and(|s| s.kind == ferry_engine::TransferKind::Move);
        if s.outcome != JobOutcome::Failed || s.files_done > 0 {
            ui.weak(counts(s, moved));
        }
        // Failures, grouped by reason; the files behind each group.
        for (heading, reason, files) in failure_groups(&s.failed) {
            egui::CollapsingHeader::new(RichText::new(&heading).color(colours::error(ui)))
                .id_salt(("failed", job.id, &heading))
                .show(ui, |ui| {
                    let row = 18.0;
                    let height = (row * files.len() as f32).min(160.0);
                    egui::ScrollArea::vertical()
                        .id_salt(("failed-list", job.id, &heading))
                        .min_scrolled_height(height)
                        .max_height(160.0)
                        .show_rows(ui, row, files.len(), |ui, rows| {
                            for f in &files[rows] {
                                let shown = f.dest.as_ref().unwrap_or(&f.path);
                                let shown = shown.display().to_string();
                                let width = ui.available_width();
                                elide::label(ui, &shown, width, |s| RichText::new(s).monospace())
                                    .0
                                    .on_hover_text(format::failure_message(f));
                            }
                        });
                });
            ui.label(
                RichText::new(format::drawable(&reason)).color(ui.visuals().weak_text_color()),
            );
        }
        if job.failures_not_kept > 0 {
            ui.weak(format!(
                "{} more failed; the history keeps the first {}.",
                job.failures_not_kept,
                s.failed.len()
            ));
        }
        // Warnings: why it failed (first), or how many (in Details).
        let warning_colour = if s.outcome == JobOutcome::Failed && s.failed.is_empty() {
            colours::error(ui)
        } else {
            colours::warning(ui)
        };
        if let Some(first) = s.warnings.first() {
            ui.label(RichText::new(format::drawable(first)).color(warning_colour));
            if s.warnings.len() > 1 {
                ui.weak(format!("and {} more in Details", s.warnings.len() - 1));
            }
        }
        if let Some(v) = verification {
            verification_ui(ui, v);
        }
        verify = actions_ui(ui, job, settled, verification, view, out);
        egui::CollapsingHeader::new("Details")
            .id_salt(("details", job.id))
            .show(ui, |ui| details_ui(ui, job));
    });
    verify
}

/// Retry failed (with a policy), Open destination, Verify.
fn actions_ui(
    ui: &mut egui::Ui,
    job: &FinishedJob,
    settled: &[PathBuf],
    verification: Option<&Verification>,
    view: &mut TransfersView,
    out: &mut Outbox,
) -> Option<PathBuf> {
    let s = &job.summary;
    let spec = job.spec.as_ref()?;
    let mut verify = None;
    let failed = s.failed.iter().filter(|f| f.dest.is_some()).count();
    // Once a later transfer (a retry) copied some of them, that newer
    // entry carries what still fails, with its own Retry.
    let retryable = if settled.is_empty() { failed } else { 0 };
    if !settled.is_empty() {
        let text = if settled.len() >= failed {
            format!(
                "Retried: a later transfer copied {}.",
                if failed == 1 { "it" } else { "them all" }
            )
        } else {
            format!(
                "Retried: a later transfer copied {} of {}; the others are in the newer entry.",
                settled.len(),
                failed
            )
        };
        ui.label(RichText::new(text).color(colours::ok(ui)));
    }
    ui.horizontal_wrapped(|ui| {
        if retryable > 0 {
            let default = if spec.policy == ConflictPolicy::Fail
                && s.failed.iter().all(|f| f.kind == "already_exists")
            {
                ConflictPolicy::Ask
            } else {
                spec.policy
            };
            let policy = view.retry_policy.entry(job.id).or_insert(default);
            if ui
                .button(format!(
                    "Retry {}",
                    format::count(retryable as u64, "failed file", "failed files")
                ))
                .on_hover_text("Copy again only the files that failed, as a new transfer")
                .clicked()
            {
                out.command(Command::Retry {
                    id: job.id,
                    policy: Some(*policy),
                });
            }
            ui.label("if a file exists:");
            egui::ComboBox::from_id_salt(("retry-policy", job.id))
                .selected_text(format::policy(*policy))
                .show_ui(ui, |ui| {
                    for p in ConflictPolicy::ALL {
                        ui.selectable_value(policy, p, format::policy(p));
                    }
                })
                .response
                .on_hover_text("What the retry does when a file exists");
        }
        if ui
            .button("Open destination")
            .on_hover_text(format!("Show {} in the file manager", spec.dest.display()))
            .clicked()
        {
            out.open_folder = Some(spec.dest.clone());
        }
        let wrote_manifest = matches!(
            s.outcome,
            JobOutcome::Completed
                | JobOutcome::CompletedWithErrors
                | JobOutcome::CompletedWithWarnings
        );
        if let Some(manifest) = spec.checksums.as_ref().filter(|_| wrote_manifest) {
            let running = matches!(verification, Some(Verification::Running));
            if ui
                .add_enabled(
                    !running,
                    egui::Button::new(if running { "Verifying…" } else { "Verify" }),
                )
                .on_hover_text(format!(
                    "Read the copies again and compare them with {}",
                    manifest.display()
                ))
                .clicked()
            {
                verify = Some(manifest.clone());
            }
        }
    });
    verify
}

fn verification_ui(ui: &mut egui::Ui, v: &Verification) {
    match v {
        Verification::Running => {
            ui.weak("Verifying the copies against their checksums…");
        }
        Verification::Done(Err(e)) => {
            ui.label(RichText::new(format!("Could not verify: {e}")).color(colours::error(ui)));
        }
        Verification::Done(Ok(report)) => verify_report_ui(ui, report),
    }
}

fn verify_report_ui(ui: &mut egui::Ui, r: &VerifyReport) {
    if r.all_intact() {
        ui.label(
            RichText::new(format!(
                "Verified: {} intact",
                format::count(r.intact, "file", "files")
            ))
            .color(colours::ok(ui)),
        );
        return;
    }
    let mut line = format!(
        "Verified: {} intact · {} changed · {} missing",
        r.intact,
        r.changed.len(),
        r.missing.len()
    );
    if !r.unreadable.is_empty() {
        line.push_str(&format!(" · {} unreadable", r.unreadable.len()));
    }
    if r.bad_lines > 0 {
        line.push_str(&format!(" · {} lines not understood", r.bad_lines));
    }
    ui.label(RichText::new(line).color(colours::error(ui)));
    let list: Vec<String> = r
        .changed
        .iter()
        .map(|p| format!("changed  {}", p.display()))
        .chain(
            r.missing
                .iter()
                .map(|p| format!("missing  {}", p.display())),
        )
        .chain(
            r.unreadable
                .iter()
                .map(|(p, why)| format!("unreadable  {} ({why})", p.display())),
        )
        .collect();
    egui::ScrollArea::vertical()
        .id_salt(("verify-list", r.intact, list.len()))
        .max_height(120.0)
        .show(ui, |ui| {
            for line in &list {
                ui.monospace(line);
            }
        });
}

fn details_ui(ui: &mut egui::Ui, job: &FinishedJob) {
    let s = &job.summary;
    egui::Grid::new(("details-grid", job.id))
        .num_columns(2)
        .spacing([12.0, 2.0])
        .show(ui, |ui| {
            if let Some(spec) = &job.spec {
                ui.weak("From");
                ui.vertical(|ui| {
                    let sources: Vec<&PathBuf> = if spec.pairs.is_empty() {
                        spec.sources.iter().collect()
                    } else {
                        spec.pairs.iter().map(|(s, _)| s).collect()
                    };
                    for src in sources.iter().take(5) {
                        elide::mono(ui, &src.display().to_string(), ui.available_width());
                    }
                    if sources.len() > 5 {
                        ui.weak(format!("and {} more", sources.len() - 5));
                    }
                });
                ui.end_row();
                ui.weak("To");
                elide::mono(ui, &spec.dest.display().to_string(), ui.available_width());
                ui.end_row();
                ui.weak("If a file existed");
                ui.label(format::policy(spec.policy));
                ui.end_row();
                let mut checks = Vec::new();
                if spec.verify {
                    checks.push("verify copies");
                }
                if spec.all_or_nothing {
                    checks.push("all or nothing");
                }
                if !checks.is_empty() {
                    ui.weak("Checks");
                    ui.label(checks.join(", "));
                    ui.end_row();
                }
                if let Some(m) = &spec.checksums {
                    ui.weak("Checksums");
                    elide::mono(ui, &m.display().to_string(), ui.available_width());
                    ui.end_row();
                }
            }
            if !s.method.is_empty() {
                ui.weak("Method");
                ui.monospace(&s.method);
                ui.end_row();
            }
            ui.weak("Took");
            ui.label(format::duration(s.elapsed));
            ui.end_row();
            ui.weak("Job");
            ui.monospace(job.id.to_string());
            ui.end_row();
        });
    if !s.warnings.is_empty() {
        ui.label(RichText::new("Warnings").strong());
        for w in &s.warnings {
            ui.label(RichText::new(format::drawable(w)).color(colours::warning(ui)));
        }
    }
}
