//! The Transfers tab: what to send where ([`form`]: drop zone, pickers,
//! typed paths, each checked by the engine as entered, options), the
//! conflicts waiting for an answer and the queue with its phases
//! ([`queue`]), interrupted jobs to resume, roll back or discard, and the
//! history of ended jobs that the engine keeps across restarts
//! ([`history`]).

use std::collections::HashMap;

use eframe::egui;

use ferry_engine::{ConflictPolicy, JobId};

use super::Outbox;
use super::dialogs::Purpose;
use super::model::Model;

pub mod form;
pub mod history;
pub mod queue;

pub use form::NewJob;

/// What the tab remembers between frames (not between runs).
#[derive(Debug, Default)]
pub struct TransfersView {
    /// The policy chosen for each history entry's *Retry failed*.
    pub retry_policy: HashMap<JobId, ConflictPolicy>,
    /// The interrupted job whose discard is being confirmed.
    pub discard: Option<(JobId, String)>,
    /// Whether clearing the history is being confirmed.
    pub clear_history: bool,
    /// "Do this for all remaining conflicts in this job".
    pub conflict_for_all: bool,
}

/// Everything the tab reads and changes.
pub struct TransfersCtx<'a> {
    /// The engine's truth.
    pub model: &'a mut Model,
    /// The job being put together.
    pub new_job: &'a mut NewJob,
    /// The tab's own state.
    pub view: &'a mut TransfersView,
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
        view,
        destination,
        hovering,
        dialog_open,
        dialogs_unavailable,
    } = cx;
    // Questions stay in sight above everything, however far the list
    // scrolls; the rest of the window stays usable.
    if !model.conflicts.is_empty() {
        egui::Panel::top("conflict-panel")
            .frame(egui::Frame::NONE.inner_margin(egui::Margin::symmetric(0, 6)))
            .show(ui, |ui| {
                queue::conflict_ui(ui, model, &mut view.conflict_for_all, out);
            });
    }
    egui::ScrollArea::vertical()
        .auto_shrink([false, false])
        .show(ui, |ui| {
            form::new_job_ui(
                ui,
                form::FormCtx {
                    destination,
                    hovering,
                    dialog_open,
                    dialogs_unavailable,
                },
                model,
                new_job,
                out,
            );
            ui.add_space(8.0);
            if !model.unfinished.is_empty() {
                history::unfinished_ui(ui, model, view, out);
                ui.add_space(8.0);
            }
            queue::queue_ui(ui, model, out);
            ui.add_space(8.0);
            history::history_ui(ui, model, view, out);
        });
    let ctx = ui.ctx().clone();
    history::discard_confirm_ui(&ctx, model, view, out);
    history::clear_confirm_ui(&ctx, model, view, out);
}
