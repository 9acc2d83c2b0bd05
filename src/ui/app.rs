//! The application: owns the engine handle, the dialog host and the view
//! state, and runs one frame as drain events → draw → send commands.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};

use crossbeam_channel::Receiver;
use std::time::Duration;

use eframe::egui::{self, RichText};

use ferry_engine::{
    Command, ConflictPolicy, Engine, EngineConfig, Event, Settings, SweepScope, Target, Trigger,
};

use super::cleanup::{self, CleanupView, Summary, cleanup_ui};
use super::desktop::{self, Desktop, SystemDesktop};
use super::dialogs::{Answer, DialogHost, FileDialogs, Purpose, RfdDialogs};
use super::format;
use super::model::Model;
use super::notices::{Level, Notices, notices_ui};
use super::settings_view::{SettingsForm, settings_ui};
use super::state::{STORAGE_KEY, Tab, ViewState};
use super::transfers::{NewJob, TransfersCtx, TransfersView, transfers_ui};
use super::{Outbox, colours};

/// How old a scan may get while the Cleanup tab is on screen.
const RESCAN_AFTER: Duration = Duration::from_secs(30);

/// What the window needs to start: where Ferry's files are, the settings
/// (read before the event loop starts) and how to show file dialogs.
#[derive(Clone)]
pub struct AppConfig {
    /// Journals, logs, the window's saved state.
    pub data_dir: PathBuf,
    /// The settings to start with.
    pub settings: Settings,
    /// Where the engine saves changed settings.
    pub settings_path: Option<PathBuf>,
    /// Problems met while loading (shown as notices).
    pub warnings: Vec<String>,
    /// The file dialogs.
    pub dialogs: Arc<dyn FileDialogs>,
    /// The desktop's opener and notifications.
    pub desktop: Arc<dyn Desktop>,
    /// Where the per-user timer for scheduled sweeps goes (given by the
    /// program that opens the window; `None`: no timer can be installed).
    pub timer: Option<ferry_engine::TimerHost>,
}

impl AppConfig {
    /// The given folders: settings are read from `settings.json` in
    /// `config_dir` (an unusable file is set aside with a warning) and saved
    /// there; `data_dir` is created if needed.
    pub fn with_dirs(data_dir: PathBuf, config_dir: &Path) -> Result<Self, String> {
        let data_dir = ferry_engine::ensure_dir(data_dir).map_err(|e| e.to_string())?;
        // Clock times in the window are local; the zone is read here, once.
        format::load_time_zone();
        let settings_path = Settings::path_in(config_dir);
        let (mut settings, warnings) = Settings::load_from(&settings_path)
            .unwrap_or_else(|e| (Settings::default(), vec![e.to_string()]));
        // The window asks by default ("Ask me"), unless the saved settings
        // chose what to do when a file exists.
        if !conflict_saved(&settings_path) {
            settings.transfer.conflict = ConflictPolicy::Ask;
        }
        Ok(Self {
            data_dir,
            settings,
            settings_path: Some(settings_path),
            warnings,
            dialogs: Arc::new(RfdDialogs),
            desktop: Arc::new(SystemDesktop),
            timer: None,
        })
    }

    /// The same with another desktop (tests record what is opened and
    /// notified).
    pub fn with_desktop(mut self, desktop: Arc<dyn Desktop>) -> Self {
        self.desktop = desktop;
        self
    }

    /// The same with the per-user timer's place.
    pub fn with_timer(mut self, timer: Option<ferry_engine::TimerHost>) -> Self {
        self.timer = timer;
        self
    }

    /// The same with other file dialogs (tests answer them themselves).
    pub fn with_dialogs(mut self, dialogs: Arc<dyn FileDialogs>) -> Self {
        self.dialogs = dialogs;
        self
    }
}

/// Whether the settings file at `path` says what to do when a file exists
/// (`transfer.conflict`); read once, before the window opens.
fn conflict_saved(path: &Path) -> bool {
    std::fs::read(path)
        .ok()
        .and_then(|bytes| serde_json::from_slice::<serde_json::Value>(&bytes).ok())
        .is_some_and(|v| v.pointer("/transfer/conflict").is_some())
}

/// A folder the desktop could not show, and why.
type OpenFailure = (PathBuf, String);

/// The running application.
pub struct FerryApp {
    view: ViewState,
    model: Model,
    new_job: NewJob,
    transfers: TransfersView,
    cleanup: CleanupView,
    settings_form: SettingsForm,
    notices: Notices,
    /// The warning about interrupted jobs, while there are some.
    unfinished_notice: Option<u64>,
    dialogs: DialogHost,
    desktop: Arc<dyn Desktop>,
    /// Folders the desktop could not show, and why (from its threads).
    open_failures: (
        crossbeam_channel::Sender<OpenFailure>,
        Receiver<OpenFailure>,
    ),
    /// Wakes the window (from other threads).
    repaint: Arc<dyn Fn() + Send + Sync>,
    /// Scan for leftovers again as soon as the current scan (if any) is
    /// back: a job ended or an interrupted one was discarded.
    rescan_due: bool,
    /// The title last given to the window.
    title: String,
    cleanup_stale: bool,
    close_asked: bool,
    quit_confirmed: bool,
    quit_signal: Option<Arc<AtomicBool>>,
    data_dir: PathBuf,
    logo: Option<egui::TextureHandle>,
    // Last: dropped after everything else, which stops the engine's threads.
    engine: Engine,
}

impl FerryApp {
    /// Starts the engine and restores the view state saved by eframe.
    pub fn new(cc: &eframe::CreationContext<'_>, config: AppConfig) -> Self {
        let view: ViewState = cc
            .storage
            .and_then(|storage| eframe::get_value(storage, STORAGE_KEY))
            .unwrap_or_default();
        let ctx = cc.egui_ctx.clone();
        let repaint: Arc<dyn Fn() + Send + Sync> = Arc::new(move || ctx.request_repaint());
        // The engine wakes its client after every turn of its loop, also on
        // progress ticks that publish nothing; repaint only when an event
        // is waiting, so an idle window stays idle.
        let events: Arc<OnceLock<Receiver<Event>>> = Arc::default();
        let waker: Arc<dyn Fn() + Send + Sync> = {
            let events = events.clone();
            let repaint = repaint.clone();
            Arc::new(move || {
                if events.get().is_none_or(|rx| !rx.is_empty()) {
                    repaint();
                }
            })
        };
        let engine = Engine::start(EngineConfig {
            workers: config.settings.transfer.workers,
            data_dir: config.data_dir.clone(),
            waker: Some(waker),
            settings: config.settings.clone(),
            settings_path: config.settings_path.clone(),
            timer: config.timer.clone(),
            scheduled_sweeps: true,
        });
        let _ = events.set(engine.events().clone());
        // Anything published before the receiver was shared is drawn now.
        cc.egui_ctx.request_repaint();
        let logo = eframe::icon_data::from_png_bytes(super::ICON_PNG)
            .ok()
            .map(|icon| {
                let size = [icon.width as usize, icon.height as usize];
                let image = egui::ColorImage::from_rgba_unmultiplied(size, &icon.rgba);
                cc.egui_ctx
                    .load_texture("ferry-logo", image, egui::TextureOptions::LINEAR)
            });
        let mut notices = Notices::default();
        for warning in &config.warnings {
            notices.warning(warning.clone());
        }
        let mut app = Self {
            new_job: NewJob::new(&config.settings),
            transfers: TransfersView::default(),
            settings_form: SettingsForm::new(
                &config.settings,
                0,
                view.schedule_interval_secs.map(Duration::from_secs),
            ),
            model: Model::new(config.settings),
            view,
            cleanup: CleanupView::default(),
            notices,
            unfinished_notice: None,
            dialogs: DialogHost::new(config.dialogs, repaint.clone()),
            desktop: config.desktop,
            open_failures: crossbeam_channel::unbounded(),
            repaint,
            rescan_due: false,
            title: super::TITLE.to_string(),
            cleanup_stale: false,
            close_asked: false,
            quit_confirmed: false,
            quit_signal: None,
            data_dir: config.data_dir,
            logo,
            engine,
        };
        app.rescan();
        app.engine.send(Command::TimerStatus);
        app.model.timer_pending = true;
        app
    }

    /// Closes the window when `flag` is raised (SIGINT/SIGTERM).
    pub fn with_quit_signal(mut self, flag: Arc<AtomicBool>) -> Self {
        self.quit_signal = Some(flag);
        self
    }

    /// What the engine has reported.
    pub fn model(&self) -> &Model {
        &self.model
    }

    /// The view state kept between runs.
    pub fn view(&self) -> &ViewState {
        &self.view
    }

    /// The notices on screen.
    pub fn notices(&self) -> &Notices {
        &self.notices
    }

    /// The job being put together.
    pub fn new_job(&self) -> &NewJob {
        &self.new_job
    }

    fn rescan(&mut self) {
        self.engine.send(Command::Scan(SweepScope::default()));
        self.model.scanning = true;
        self.cleanup_stale = false;
    }

    /// The tab-independent state of the Transfers tab.
    pub fn transfers_view(&self) -> &TransfersView {
        &self.transfers
    }

    /// Takes in everything that arrived since the last frame.
    fn drain(&mut self, focused: bool) {
        let mut newly_unfinished = false;
        while let Ok(event) = self.engine.events().try_recv() {
            let unfinished = matches!(event, Event::Unfinished(_));
            // Leftover files change when a job ends (its temps go) and when
            // an interrupted job is discarded (the engine then reports the
            // interrupted jobs again): the status bar must not wait for
            // the Cleanup tab to be opened.
            if unfinished || matches!(event, Event::Finished { .. }) {
                self.rescan_due = true;
            }
            let settings_saved = matches!(event, Event::SettingsSaved(_));
            // A scheduled sweep is what Settings reports as the last one.
            if matches!(&event, Event::SweepFinished(r) if r.trigger == Trigger::Scheduled)
                && !self.model.timer_pending
            {
                self.engine.send(Command::TimerStatus);
                self.model.timer_pending = true;
            }
            match &event {
                Event::Queued { id, .. } => self.new_job.queued(*id),
                Event::Planned { id, .. } => self.new_job.accepted(*id),
                Event::Finished { id, summary } => {
                    let live = self.model.jobs.iter().find(|j| j.id == *id);
                    let planned = live.is_some_and(|j| j.planned.is_some());
                    self.new_job
                        .ended(*id, summary, planned, &mut self.view.destination);
                    // What exists changed: check the sources again, and
                    // the destination (its free space) when a next job
                    // is being put together.
                    let next = !self.new_job.sources.is_empty();
                    self.new_job.check_again(next);
                    if let Some(job) = live
                        && desktop::should_notify(focused)
                    {
                        let (title, body) = desktop::notification(&job.spec.title(), summary);
                        self.desktop.notify(&title, &body);
                    }
                }
                _ => {}
            }
            if self.model.apply(event, &mut self.notices) {
                self.cleanup_stale = true;
            }
            newly_unfinished |= unfinished && !self.model.unfinished.is_empty();
            if settings_saved {
                self.new_job.apply_defaults(&self.model.settings);
            }
        }
        if newly_unfinished {
            self.unfinished_notice = Some(self.notices.push(
                Level::Warning,
                format!(
                    "{} stopped before finishing; resume or roll back in Transfers.",
                    format::count(self.model.unfinished.len() as u64, "transfer", "transfers")
                ),
            ));
        }
        // Once every interrupted job is resumed or rolled back, the warning
        // about them has nothing left to say.
        if self.model.unfinished.is_empty()
            && let Some(id) = self.unfinished_notice.take()
        {
            self.notices.dismiss(id);
        }
        while let Ok((folder, why)) = self.open_failures.1.try_recv() {
            self.notices.error(format!(
                "Could not open {} in a file manager: {why}",
                folder.display()
            ));
        }
        for (purpose, answer) in self.dialogs.drain() {
            match answer {
                Answer::Picked(paths) => self.picked(purpose, paths),
                Answer::Cancelled => {}
                Answer::Unavailable(why) => self.notices.warning(why),
            }
        }
    }

    fn picked(&mut self, purpose: Purpose, mut paths: Vec<PathBuf>) {
        match purpose {
            Purpose::AddFiles | Purpose::AddFolder => self.new_job.add_sources(paths),
            Purpose::Destination => {
                if let Some(dest) = paths.pop() {
                    self.view.destination = dest.display().to_string();
                }
            }
            Purpose::SweepRoot => {
                for path in paths {
                    self.settings_form.add_root(path);
                }
            }
        }
    }

    /// Files dropped anywhere on the window become sources; one dropped on
    /// the Destination field becomes the destination.
    fn take_dropped(&mut self, ctx: &egui::Context) {
        let dropped: Vec<PathBuf> = ctx.input(|i| {
            i.raw
                .dropped_files
                .iter()
                .map(|f| f.path().to_path_buf())
                .filter(|p| !p.as_os_str().is_empty())
                .collect()
        });
        if dropped.is_empty() {
            return;
        }
        let on_destination = self.view.tab == Tab::Transfers
            && ctx
                .data(|d| d.get_temp::<egui::Rect>(super::transfers::form::destination_rect_id()))
                .zip(ctx.input(|i| i.pointer.latest_pos()))
                .is_some_and(|(rect, at)| rect.expand(6.0).contains(at));
        if on_destination {
            let mut dropped = dropped.into_iter();
            if let Some(dest) = dropped.next() {
                self.view.destination = dest.display().to_string();
            }
            let rest = dropped.count();
            if rest > 0 {
                self.notices.info(format!(
                    "The destination is {}; the other {} dropped with it were not added.",
                    self.view.destination,
                    format::count(rest as u64, "item", "items")
                ));
            }
            return;
        }
        let before = self.new_job.sources.len();
        self.new_job.add_sources(dropped);
        let added = self.new_job.sources.len() - before;
        self.view.tab = Tab::Transfers;
        if added > 0 && self.view.destination.trim().is_empty() {
            self.notices.info(format!(
                "Added {}. Choose a destination, then start.",
                format::count(added as u64, "item", "items")
            ));
        }
    }

    /// Carries out what the frame asked for.
    fn dispatch(&mut self, out: Outbox) {
        for command in out.commands {
            match &command {
                Command::Cancel(Target::Job(id)) => {
                    if let Some(job) = self.model.job_mut(*id) {
                        job.cancelling = true;
                    }
                }
                Command::Cancel(Target::All) => {
                    for job in &mut self.model.jobs {
                        job.cancelling = true;
                    }
                }
                Command::UpdateSettings(_) => self.model.settings_pending = true,
                Command::Sweep(_) | Command::SweepEntries(_) => self.model.sweeping = true,
                Command::ResumeJournaled(id) | Command::RollBack(id) | Command::Discard(id) => {
                    self.model.unfinished.retain(|u| u.id != *id);
                }
                Command::InstallTimer | Command::RemoveTimer | Command::TimerStatus => {
                    self.model.timer_pending = true;
                }
                _ => {}
            }
            self.engine.send(command);
        }
        for purpose in out.dialogs {
            let start_in = match purpose {
                Purpose::Destination => {
                    Some(PathBuf::from(self.view.destination.trim())).filter(|p| p.is_absolute())
                }
                _ => None,
            };
            self.dialogs.open(purpose, start_in);
        }
        if out.rescan {
            self.rescan();
        }
        if let Some(folder) = out.open_folder {
            let failures = self.open_failures.0.clone();
            let repaint = self.repaint.clone();
            let shown = folder.clone();
            self.desktop.open_folder(
                &folder,
                Box::new(move |result| {
                    if let Err(why) = result {
                        let _ = failures.send((shown, why));
                        repaint();
                    }
                }),
            );
        }
    }

    /// The window's title follows the overall progress while jobs run.
    fn title(&mut self, ctx: &egui::Context) {
        let title = desktop::window_title(&self.model.totals());
        if title != self.title {
            ctx.send_viewport_cmd(egui::ViewportCommand::Title(title.clone()));
            self.title = title;
        }
    }

    fn handle_close(&mut self, ctx: &egui::Context) {
        if self
            .quit_signal
            .as_ref()
            .is_some_and(|q| q.swap(false, Ordering::SeqCst))
        {
            self.quit_confirmed = true;
            ctx.send_viewport_cmd(egui::ViewportCommand::Close);
        }
        if ctx.input_mut(|i| i.consume_key(egui::Modifiers::COMMAND, egui::Key::Q)) {
            ctx.send_viewport_cmd(egui::ViewportCommand::Close);
        }
        if ctx.input(|i| i.viewport().close_requested())
            && !self.quit_confirmed
            && !self.model.jobs.is_empty()
        {
            ctx.send_viewport_cmd(egui::ViewportCommand::CancelClose);
            self.close_asked = true;
        }
    }

    fn close_confirm_ui(&mut self, ctx: &egui::Context) {
        if !self.close_asked {
            return;
        }
        let running = self.model.jobs.len() as u64;
        let modal = egui::Modal::new(egui::Id::unique("confirm-quit")).show(ctx, |ui| {
            ui.set_max_width(420.0);
            ui.heading("Quit Ferry?");
            ui.label(format!(
                "{} still running. Quitting stops {} at the next chunk; nothing \
                 half-written becomes visible, and Ferry offers to resume next time.",
                format::count(running, "transfer is", "transfers are"),
                if running == 1 { "it" } else { "them" }
            ));
            ui.add_space(8.0);
            let mut answer = None;
            ui.horizontal(|ui| {
                if ui.button("Quit").clicked() {
                    answer = Some(true);
                }
                if ui.button("Keep running").clicked() {
                    answer = Some(false);
                }
            });
            answer
        });
        match modal.inner.or(modal.should_close().then_some(false)) {
            Some(true) => {
                self.quit_confirmed = true;
                self.close_asked = false;
                ctx.send_viewport_cmd(egui::ViewportCommand::Close);
            }
            Some(false) => self.close_asked = false,
            None => {}
        }
    }

    fn tabs_ui(&mut self, ui: &mut egui::Ui) {
        ui.horizontal(|ui| {
            if let Some(logo) = &self.logo {
                ui.add(egui::Image::new(logo).fit_to_exact_size(egui::vec2(24.0, 24.0)));
            }
            ui.label(RichText::new("Ferry").strong().size(18.0));
            ui.add_space(12.0);
            for tab in Tab::ALL {
                let text = RichText::new(tab.label()).size(15.0);
                ui.selectable_value(&mut self.view.tab, tab, text);
            }
            ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
                let questions = self.model.conflicts.len() as u64;
                if questions > 0
                    && self.view.tab != Tab::Transfers
                    && ui
                        .button(
                            RichText::new(format::count(
                                questions,
                                "question waits for you",
                                "questions wait for you",
                            ))
                            .color(colours::warning(ui)),
                        )
                        .clicked()
                {
                    self.view.tab = Tab::Transfers;
                }
                let totals = self.model.totals();
                if totals.jobs > 0 {
                    ui.label(format!(
                        "{} · {}",
                        format::count(totals.jobs as u64, "transfer", "transfers"),
                        format::rate(totals.rate)
                    ));
                }
            });
        });
    }

    fn status_ui(&self, ui: &mut egui::Ui) {
        ui.horizontal(|ui| {
            // The same sums as the Cleanup tab's, from the same scan.
            match self.model.scan.as_ref().map(Summary::of) {
                None => {
                    ui.weak("Looking for leftover files…");
                }
                Some(summary) if summary.leftovers.files == 0 => {
                    ui.weak("No leftover files");
                }
                Some(summary) => {
                    let leftovers = summary.leftovers_words();
                    let removable = summary.removable();
                    if removable.files == 0 {
                        ui.weak(format!("{leftovers}; none can be swept now"));
                    } else {
                        ui.label(
                            RichText::new(format!(
                                "{leftovers}; {} can be swept",
                                summary.removable_words()
                            ))
                            .color(colours::warning(ui)),
                        );
                    }
                }
            }
            ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
                let data = format!("Data: {}", self.data_dir.display());
                super::elide::weak(ui, &data, ui.available_width());
            });
        });
    }

    fn drop_overlay(&self, ctx: &egui::Context, hovering: usize) {
        if hovering == 0 {
            return;
        }
        let painter = ctx.layer_painter(egui::LayerId::new(
            egui::Order::Foreground,
            egui::Id::unique("drop-overlay"),
        ));
        let rect = ctx.content_rect();
        let accent = ctx.global_style().visuals.selection.bg_fill;
        painter.rect_filled(rect, 0.0, egui::Color32::from_black_alpha(140));
        painter.rect_stroke(
            rect.shrink(6.0),
            10.0,
            egui::Stroke::new(3.0, accent),
            egui::StrokeKind::Inside,
        );
        painter.text(
            rect.center(),
            egui::Align2::CENTER_CENTER,
            format!(
                "Drop to add {}",
                format::count(hovering as u64, "item", "items")
            ),
            egui::FontId::proportional(28.0),
            egui::Color32::WHITE,
        );
    }
}

impl eframe::App for FerryApp {
    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut eframe::Frame) {
        let ctx = ui.ctx().clone();
        let focused = ctx.input(|i| i.focused);
        self.drain(focused);
        self.take_dropped(&ctx);
        self.handle_close(&ctx);
        let hovering = ctx.input(|i| i.raw.hovered_files.len());

        if self.view.tab == Tab::Cleanup {
            let elapsed = self.model.scanned_at.map(|at| at.elapsed());
            // A file the engine called too young becomes old enough: look
            // again then, for the engine's new verdict.
            let next_change = self
                .model
                .scan
                .as_ref()
                .zip(elapsed)
                .and_then(|(scan, elapsed)| cleanup::next_change(scan, elapsed));
            if !self.model.scanning {
                let old = elapsed.is_none_or(|e| e >= RESCAN_AFTER);
                let due = next_change.is_some_and(|left| left.is_zero());
                if self.cleanup_stale || old || due {
                    self.rescan();
                }
            }
            // Ages tick between scans (computed from the scan's time).
            ctx.request_repaint_after(Duration::from_secs(1));
        }

        if self.rescan_due && !self.model.scanning {
            self.rescan_due = false;
            self.rescan();
        }

        let mut out = Outbox::default();
        egui::Panel::top("tabs").show(ui, |ui| {
            ui.add_space(4.0);
            self.tabs_ui(ui);
            ui.add_space(2.0);
        });
        egui::Panel::bottom("status").show(ui, |ui| self.status_ui(ui));
        if !self.notices.items().is_empty() {
            egui::Panel::bottom("notices")
                .show_separator_line(false)
                .show(ui, |ui| {
                    ui.add_space(4.0);
                    notices_ui(ui, &mut self.notices);
                });
        }
        egui::CentralPanel::default().show(ui, |ui| match self.view.tab {
            Tab::Transfers => transfers_ui(
                ui,
                TransfersCtx {
                    model: &mut self.model,
                    new_job: &mut self.new_job,
                    view: &mut self.transfers,
                    destination: &mut self.view.destination,
                    hovering,
                    dialog_open: self.dialogs.open_purpose(),
                    dialogs_unavailable: self.dialogs.unavailable(),
                },
                &mut out,
            ),
            Tab::Cleanup => {
                cleanup_ui(ui, &self.model, &mut self.view, &mut self.cleanup, &mut out)
            }
            Tab::Settings => settings_ui(
                ui,
                &self.model,
                &mut self.settings_form,
                &mut self.view.schedule_interval_secs,
                self.dialogs.open_purpose(),
                &mut out,
            ),
        });
        self.drop_overlay(&ctx, hovering);
        self.close_confirm_ui(&ctx);
        self.dispatch(out);
        self.title(&ctx);
    }

    fn save(&mut self, storage: &mut dyn eframe::Storage) {
        eframe::set_value(storage, STORAGE_KEY, &self.view);
    }
}
