//! The Settings tab: a form over [`Settings`] that starts from the settings
//! in force (so fields it does not show are kept as they are), checks what
//! is typed (a number, in range) beside each field, and hands the result to
//! the engine. The engine checks everything again, including that each
//! folder exists, and answers saved or refused; each refusal is shown
//! beside its field. The form never looks at the disk itself.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use eframe::egui::{self, RichText};

use ferry_engine::{Command, ConflictPolicy, ForeignPattern, Schedule, Settings};

use super::cleanup::schedule_ui;
use super::dialogs::Purpose;
use super::format;
use super::model::Model;
use super::{Outbox, colours};

/// The most transfers that may run at once (in messages).
const MAX_WORKERS: usize = Settings::MAX_WORKERS;

/// The interval offered when no schedule was ever set.
const DEFAULT_INTERVAL: Duration = Duration::from_secs(6 * 3600);

/// A unit for durations typed in the form.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    /// Minutes.
    Minutes,
    /// Hours.
    Hours,
    /// Days.
    Days,
}

impl Unit {
    const ALL: [Self; 3] = [Self::Minutes, Self::Hours, Self::Days];

    fn seconds(self) -> u64 {
        match self {
            Self::Minutes => 60,
            Self::Hours => 3600,
            Self::Days => 86_400,
        }
    }

    fn word(self) -> &'static str {
        match self {
            Self::Minutes => "minutes",
            Self::Hours => "hours",
            Self::Days => "days",
        }
    }

    /// The largest unit that expresses `d` exactly (minutes otherwise).
    fn fit(d: Duration) -> (String, Self) {
        let secs = d.as_secs();
        for unit in [Self::Days, Self::Hours, Self::Minutes] {
            if secs > 0 && secs.is_multiple_of(unit.seconds()) {
                return ((secs / unit.seconds()).to_string(), unit);
            }
        }
        let minutes = d.as_secs_f64() / 60.0;
        (format!("{minutes:.2}"), Self::Minutes)
    }
}

/// Parses a positive number of `unit`s.
fn parse_duration(text: &str, unit: Unit) -> Result<Duration, String> {
    let text = text.trim().replace(',', ".");
    let value: f64 = text
        .parse()
        .map_err(|_| format!("'{text}' is not a number"))?;
    if !value.is_finite() || value <= 0.0 {
        return Err("must be more than zero".into());
    }
    let secs = value * unit.seconds() as f64;
    if secs > 1e12 {
        return Err("is far too large".into());
    }
    Ok(Duration::from_secs(secs.round() as u64))
}

/// Parses a duration and checks it against the engine's bounds.
fn parse_within(text: &str, unit: Unit, min: Duration, max: Duration) -> Result<Duration, String> {
    let d = parse_duration(text, unit)?;
    if d < min || d > max {
        return Err(format!(
            "must be between {} and {} (it is {})",
            format::duration(min),
            format::duration(max),
            format::duration(d)
        ));
    }
    Ok(d)
}

/// The form's fields.
#[derive(Debug, Clone, PartialEq)]
pub struct SettingsForm {
    /// The settings the form was loaded from: every field the form does not
    /// show is saved as it is there.
    pub base: Settings,
    /// Sweep threshold, as typed.
    pub threshold: String,
    /// Its unit.
    pub threshold_unit: Unit,
    /// Whether sweeps are scheduled.
    pub scheduled: bool,
    /// Interval, as typed (kept while the schedule is off).
    pub interval: String,
    /// Its unit.
    pub interval_unit: Unit,
    /// Sweep roots.
    pub roots: Vec<PathBuf>,
    /// A root typed in, not yet added.
    pub typed_root: String,
    /// Why the typed root was refused.
    pub typed_root_error: Option<String>,
    /// Enabled foreign patterns.
    pub foreign: BTreeSet<ForeignPattern>,
    /// Other tools' files' minimum age, as typed.
    pub foreign_min_age: String,
    /// Its unit.
    pub foreign_min_age_unit: Unit,
    /// Whether scheduled sweeps include other tools' files.
    pub foreign_in_schedule: bool,
    /// Default conflict policy.
    pub conflict: ConflictPolicy,
    /// Default verify.
    pub verify: bool,
    /// Default all-or-nothing.
    pub all_or_nothing: bool,
    /// Transfer workers, as typed.
    pub workers: String,
    /// The model's settings generation this form was loaded from.
    pub generation: u64,
    /// The settings last handed to the engine (to place its answer).
    pub sent: Option<Settings>,
}

/// Problems with the form, per field.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FieldErrors {
    /// The threshold.
    pub threshold: Option<String>,
    /// The schedule.
    pub schedule: Option<String>,
    /// The roots.
    pub roots: Option<String>,
    /// Other tools' files' minimum age.
    pub foreign_min_age: Option<String>,
    /// The workers.
    pub workers: Option<String>,
}

impl SettingsForm {
    /// The form showing `settings`; when the schedule is off, the interval
    /// offered is `interval` (the last one used), else six hours.
    pub fn new(settings: &Settings, generation: u64, interval: Option<Duration>) -> Self {
        let sweep = &settings.sweep;
        let (threshold, threshold_unit) = Unit::fit(sweep.threshold);
        let (scheduled, (interval, interval_unit)) = match sweep.schedule {
            Schedule::Off => (false, Unit::fit(interval.unwrap_or(DEFAULT_INTERVAL))),
            Schedule::Every(d) => (true, Unit::fit(d)),
        };
        let (foreign_min_age, foreign_min_age_unit) = Unit::fit(sweep.foreign_min_age);
        Self {
            base: settings.clone(),
            threshold,
            threshold_unit,
            scheduled,
            interval,
            interval_unit,
            roots: sweep.roots.clone(),
            typed_root: String::new(),
            typed_root_error: None,
            foreign: sweep.foreign_patterns.iter().copied().collect(),
            foreign_min_age,
            foreign_min_age_unit,
            foreign_in_schedule: sweep.foreign_in_schedule,
            conflict: settings.transfer.conflict,
            verify: settings.transfer.verify,
            all_or_nothing: settings.transfer.all_or_nothing,
            workers: settings.transfer.workers.to_string(),
            generation,
            sent: None,
        }
    }

    /// The interval typed in, if it is one (also while the schedule is off).
    pub fn interval(&self) -> Option<Duration> {
        parse_within(
            &self.interval,
            self.interval_unit,
            Settings::MIN_INTERVAL,
            Settings::MAX_INTERVAL,
        )
        .ok()
    }

    /// The settings the form describes, or what is wrong with what was
    /// typed. Only the values are checked here; the engine checks them
    /// again, and the folders on its side.
    pub fn settings(&self) -> Result<Settings, FieldErrors> {
        let mut errors = FieldErrors::default();
        let mut settings = self.base.clone();
        let sweep = &mut settings.sweep;
        match parse_within(
            &self.threshold,
            self.threshold_unit,
            Settings::MIN_THRESHOLD,
            Settings::MAX_THRESHOLD,
        ) {
            Ok(d) => sweep.threshold = d,
            Err(e) => errors.threshold = Some(e),
        }
        sweep.schedule = if self.scheduled {
            match parse_within(
                &self.interval,
                self.interval_unit,
                Settings::MIN_INTERVAL,
                Settings::MAX_INTERVAL,
            ) {
                Ok(d) => Schedule::Every(d),
                Err(e) => {
                    errors.schedule = Some(e);
                    Schedule::Off
                }
            }
        } else {
            Schedule::Off
        };
        if let Some(bad) = self.roots.iter().find(|r| !r.is_absolute()) {
            errors.roots = Some(format!(
                "'{}' is not an absolute path; remove it",
                bad.display()
            ));
        }
        sweep.roots = self.roots.clone();
        // The same patterns keep the order they had.
        let before: BTreeSet<ForeignPattern> = sweep.foreign_patterns.iter().copied().collect();
        if before != self.foreign {
            sweep.foreign_patterns = self.foreign.iter().copied().collect();
        }
        match parse_within(
            &self.foreign_min_age,
            self.foreign_min_age_unit,
            Settings::MIN_FOREIGN_MIN_AGE,
            Settings::MAX_THRESHOLD,
        ) {
            Ok(d) => sweep.foreign_min_age = d,
            Err(e) => errors.foreign_min_age = Some(e),
        }
        sweep.foreign_in_schedule = self.foreign_in_schedule;
        match self.workers.trim().parse::<usize>() {
            Ok(n) if (1..=MAX_WORKERS).contains(&n) => settings.transfer.workers = n,
            Ok(0) => {
                errors.workers = Some(format!(
                    "must be between 1 and {MAX_WORKERS} (0 would run no transfer)"
                ));
            }
            Ok(_) => errors.workers = Some(format!("must be between 1 and {MAX_WORKERS}")),
            Err(_) => {
                errors.workers = Some(format!(
                    "'{}' is not a whole number (1 to {MAX_WORKERS})",
                    self.workers.trim()
                ));
            }
        }
        settings.transfer.conflict = self.conflict;
        settings.transfer.verify = self.verify;
        settings.transfer.all_or_nothing = self.all_or_nothing;
        if errors == FieldErrors::default() {
            Ok(settings)
        } else {
            Err(errors)
        }
    }

    /// Adds the typed root if it is an absolute path.
    fn add_typed_root(&mut self) {
        let path = PathBuf::from(self.typed_root.trim());
        if path.as_os_str().is_empty() {
            return;
        }
        if !path.is_absolute() {
            self.typed_root_error = Some(format!(
                "'{}' is not an absolute path (start it at the root, like /home/me/Downloads)",
                path.display()
            ));
            return;
        }
        self.typed_root_error = None;
        self.add_root(path);
        self.typed_root.clear();
    }

    /// Adds a sweep root, once.
    pub fn add_root(&mut self, path: PathBuf) {
        if !self.roots.contains(&path) {
            self.roots.push(path);
        }
    }
}

/// The field a problem the engine reported is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Field {
    /// The threshold.
    Threshold,
    /// The schedule.
    Schedule,
    /// Other tools' files' minimum age.
    ForeignMinAge,
    /// One folder to clean.
    Root(PathBuf),
    /// The workers.
    Workers,
    /// None in particular (saving failed, …).
    General,
}

/// Places a problem the engine reported (its words) on a field of a form
/// whose folders were `roots`.
pub fn field_of(problem: &str, roots: &[PathBuf]) -> Field {
    if let Some(root) = roots
        .iter()
        .find(|r| problem.contains(&format!("'{}'", r.display())))
    {
        return Field::Root(root.clone());
    }
    let p = problem.to_lowercase();
    if p.starts_with("the sweep threshold") {
        Field::Threshold
    } else if p.starts_with("scheduled sweeps") {
        Field::Schedule
    } else if p.starts_with("the minimum age of other tools' files") {
        Field::ForeignMinAge
    } else if p.starts_with("the number of workers") {
        Field::Workers
    } else {
        Field::General
    }
}

/// The engine's refusal, placed on fields.
struct Refusal {
    problems: Vec<(Field, String)>,
}

impl Refusal {
    fn new(model: &Model, form: &SettingsForm) -> Self {
        // A form not sent (fresh, or reverted) has nothing refused.
        let Some(sent) = &form.sent else {
            return Self {
                problems: Vec::new(),
            };
        };
        let roots = sent.sweep.roots.clone();
        Self {
            problems: model
                .settings_rejected
                .iter()
                .map(|p| (field_of(p, &roots), p.clone()))
                .collect(),
        }
    }

    fn on(&self, field: &Field) -> Option<&str> {
        self.problems
            .iter()
            .find(|(f, _)| f == field)
            .map(|(_, p)| p.as_str())
    }

    fn general(&self) -> impl Iterator<Item = &str> {
        self.problems
            .iter()
            .filter(|(f, _)| *f == Field::General)
            .map(|(_, p)| p.as_str())
    }
}

fn field_error(ui: &mut egui::Ui, error: Option<&str>) {
    if let Some(e) = error {
        ui.label(RichText::new(e).color(colours::error(ui)));
    }
}

/// A local error, or else the engine's word on the field (while the field
/// still holds what was sent).
fn first<'a>(local: &'a Option<String>, engine: Option<&'a str>, same: bool) -> Option<&'a str> {
    local.as_deref().or(if same { engine } else { None })
}

/// The Settings tab. `interval` is the last schedule interval used (kept
/// between runs), offered when the schedule is turned on again.
pub fn settings_ui(
    ui: &mut egui::Ui,
    model: &Model,
    form: &mut SettingsForm,
    interval: &mut Option<u64>,
    dialog_open: Option<Purpose>,
    out: &mut Outbox,
) {
    if form.generation != model.settings_generation {
        let keep = form.interval().or(interval.map(Duration::from_secs));
        *form = SettingsForm::new(&model.settings, model.settings_generation, keep);
    }
    if let Some(d) = form.interval() {
        *interval = Some(d.as_secs());
    }
    let result = form.settings();
    let errors = result.clone().err().unwrap_or_default();
    let changed = result.as_ref().map_or(true, |s| *s != model.settings);
    let refusal = Refusal::new(model, form);
    let sent = form.sent.clone();
    // Whether a field still holds what the engine refused.
    let same = |pick: fn(&Settings) -> String| match (&result, &sent) {
        (Ok(now), Some(sent)) => pick(now) == pick(sent),
        _ => false,
    };

    egui::Panel::bottom("settings-actions")
        .frame(egui::Frame::NONE.inner_margin(egui::Margin::symmetric(0, 6)))
        .show(ui, |ui| {
            for problem in refusal.general() {
                ui.label(RichText::new(format!("Not saved: {problem}")).color(colours::error(ui)));
            }
            ui.horizontal(|ui| {
                let save = ui.add_enabled(
                    result.is_ok() && changed && !model.settings_pending,
                    egui::Button::new(RichText::new("Save settings").strong()),
                );
                if save.clicked()
                    && let Ok(settings) = &result
                {
                    form.sent = Some(settings.clone());
                    out.command(Command::UpdateSettings(settings.clone()));
                    out.settings_sent = true;
                }
                if ui
                    .add_enabled(changed, egui::Button::new("Revert"))
                    .on_hover_text("Back to the settings in force")
                    .clicked()
                {
                    *form = SettingsForm::new(
                        &model.settings,
                        model.settings_generation,
                        interval.map(Duration::from_secs),
                    );
                }
                if model.settings_pending {
                    ui.spinner();
                    ui.weak("Saving…");
                } else if !changed {
                    ui.weak("All changes are saved.");
                } else {
                    unsaved_mark(ui);
                    if result.is_err() {
                        ui.label(
                            RichText::new("Fix the marked fields to save.")
                                .color(colours::error(ui)),
                        );
                    } else if !model.settings_rejected.is_empty() {
                        ui.label(
                            RichText::new("Not saved: see the marked fields.")
                                .color(colours::error(ui)),
                        );
                    }
                }
            });
        });

    egui::CentralPanel::default()
        .frame(egui::Frame::NONE)
        .show(ui, |ui| {
            egui::ScrollArea::vertical()
                .auto_shrink([false, false])
                .show(ui, |ui| {
                    ui.horizontal(|ui| {
                        ui.heading("Cleanup settings");
                        if changed && !model.settings_pending {
                            ui.add_space(8.0);
                            unsaved_mark(ui);
                        }
                    });
                    sweep_ui(ui, model, form, &errors, &refusal, &same);
                    ui.add_space(4.0);
                    timer_ui(ui, model, form, out);
                    ui.add_space(6.0);
                    folders_ui(ui, form, &errors, &refusal, dialog_open, out);
                    ui.add_space(6.0);
                    foreign_ui(ui, form, &errors, &refusal, &same);
                    ui.add_space(10.0);
                    transfer_ui(ui, form, &errors, &refusal, &same);
                    ui.add_space(10.0);
                });
        });
}

fn unsaved_mark(ui: &mut egui::Ui) {
    let colour = colours::warning(ui);
    let (rect, _) = ui.allocate_exact_size(egui::vec2(10.0, 10.0), egui::Sense::hover());
    ui.painter().circle_filled(rect.center(), 4.0, colour);
    ui.label(RichText::new("Unsaved changes").color(colour))
        .on_hover_text("Save settings puts them in force; Revert goes back.");
}

type Same<'a> = dyn Fn(fn(&Settings) -> String) -> bool + 'a;

fn sweep_ui(
    ui: &mut egui::Ui,
    model: &Model,
    form: &mut SettingsForm,
    errors: &FieldErrors,
    refusal: &Refusal,
    same: &Same<'_>,
) {
    egui::Grid::new("sweep-settings")
        .num_columns(2)
        .spacing([12.0, 8.0])
        .show(ui, |ui| {
            let label = ui.label("Sweep threshold:");
            ui.horizontal(|ui| {
                let field = ui.add(
                    egui::TextEdit::singleline(&mut form.threshold)
                        .desired_width(70.0)
                        .hint_text("e.g. 24"),
                );
                field.labelled_by(label.id);
                unit_combo(ui, "Threshold unit", &mut form.threshold_unit, &Unit::ALL);
                field_error(
                    ui,
                    first(
                        &errors.threshold,
                        refusal.on(&Field::Threshold),
                        same(|s| format!("{:?}", s.sweep.threshold)),
                    ),
                );
            });
            ui.end_row();
            ui.label("");
            ui.vertical(|ui| {
                ui.weak(
                    "Unlocked temp files older than this are orphans and may be swept (at \
                     least 1 minute).",
                );
                ui.weak(
                    "A file's age counts from the last change of its contents or its metadata \
                     (the newer of its modification and status-change times), so setting an \
                     old date on it (touch -d) does not make it old.",
                );
            });
            ui.end_row();

            let label = ui.label("Scheduled sweeps:");
            ui.horizontal(|ui| {
                ui.radio_value(&mut form.scheduled, false, "Off");
                ui.radio_value(&mut form.scheduled, true, "Every");
                ui.add_enabled_ui(form.scheduled, |ui| {
                    let field = ui.add(
                        egui::TextEdit::singleline(&mut form.interval)
                            .desired_width(70.0)
                            .hint_text("e.g. 6"),
                    );
                    field.labelled_by(label.id);
                    unit_combo(
                        ui,
                        "Interval unit",
                        &mut form.interval_unit,
                        &[Unit::Minutes, Unit::Hours, Unit::Days],
                    );
                });
                field_error(
                    ui,
                    first(
                        &errors.schedule,
                        refusal.on(&Field::Schedule),
                        same(|s| s.sweep.schedule.to_string()),
                    ),
                );
            });
            ui.end_row();
            ui.label("");
            ui.vertical(|ui| {
                ui.horizontal_wrapped(|ui| schedule_ui(ui, model, SystemTime::now()));
                ui.weak(
                    "Saving a schedule never sweeps at once: the first scheduled sweep comes one \
                     interval later. Scheduled sweeps run while Ferry is open, and also while it \
                     is closed when the switch below is on.",
                );
            });
            ui.end_row();
        });
}

/// The switch for the per-user timer that sweeps on the saved schedule
/// while Ferry is closed, with what the system says of it.
fn timer_ui(ui: &mut egui::Ui, model: &Model, form: &SettingsForm, out: &mut Outbox) {
    let now = SystemTime::now();
    let saved = model.settings.sweep.schedule;
    let status = model.timer.as_ref();
    let installed = matches!(status, Some(Ok(st)) if st.installed);
    let scheduled = matches!(saved, Schedule::Every(_));
    let mut on = installed;
    ui.horizontal_wrapped(|ui| {
        let enabled = !model.timer_pending && (scheduled || installed);
        let switch = ui.add_enabled(
            enabled,
            egui::Checkbox::new(&mut on, "Sweep on schedule while Ferry is closed"),
        );
        let switch = switch.on_hover_text(format!(
            "Installs a per-user {} timer that runs Ferry's scheduled sweep on the saved \
             schedule, also when this window is not open",
            ferry_engine::timer_manager()
        ));
        if switch.changed() {
            if on {
                out.command(Command::InstallTimer);
            } else {
                out.command(Command::RemoveTimer);
            }
            out.timer_sent = true;
        }
        if model.timer_pending {
            ui.spinner();
            ui.weak("Asking the system…");
        }
    });
    let indent = 24.0;
    ui.horizontal_wrapped(|ui| {
        ui.add_space(indent);
        ui.vertical(|ui| {
            if !scheduled && !installed {
                ui.weak(
                    "Needs a schedule: choose how often to sweep above and save it, then turn \
                     this on.",
                );
            } else if form.scheduled != scheduled
                || (scheduled && form.interval() != saved_interval(saved))
            {
                ui.weak("The timer uses the saved schedule: save your changes first.");
            }
            match status {
                None => {
                    ui.weak("Asking whether the timer is installed…");
                }
                Some(Err(e)) => {
                    ui.label(RichText::new(e).color(colours::error(ui)));
                }
                Some(Ok(st)) => {
                    let state = if st.installed {
                        let manager = match &st.manager {
                            ferry_engine::TimerManager::Enabled => "active".to_string(),
                            ferry_engine::TimerManager::AtNextLogin(why) => {
                                format!("starts at your next log-in ({why})")
                            }
                            ferry_engine::TimerManager::NotEnabled(state) => {
                                format!("installed but not enabled ({state})")
                            }
                            ferry_engine::TimerManager::Unreachable(why) => {
                                format!("the scheduler did not answer: {why}")
                            }
                        };
                        let every = st.schedule.map(|s| format!(", {s}")).unwrap_or_default();
                        format!(
                            "Installed ({}{every}): {manager}",
                            ferry_engine::timer_manager()
                        )
                    } else {
                        "Not installed: scheduled sweeps run only while Ferry is open.".to_string()
                    };
                    let running = matches!(st.manager, ferry_engine::TimerManager::Enabled);
                    let colour = if st.installed && running {
                        colours::ok(ui)
                    } else if st.installed {
                        colours::warning(ui)
                    } else {
                        ui.visuals().weak_text_color()
                    };
                    ui.label(RichText::new(state).color(colour));
                    if st.installed
                        && let Some(schedule) = st.schedule
                        && schedule != saved
                        && scheduled
                    {
                        ui.horizontal_wrapped(|ui| {
                            ui.label(
                                RichText::new(format!(
                                    "The timer was installed for \"{schedule}\"; the schedule is \
                                     now \"{saved}\"."
                                ))
                                .color(colours::warning(ui)),
                            );
                            if ui
                                .add_enabled(
                                    !model.timer_pending,
                                    egui::Button::new("Update the timer"),
                                )
                                .clicked()
                            {
                                out.command(Command::InstallTimer);
                                out.timer_sent = true;
                            }
                        });
                    }
                    let last = match &st.last_sweep {
                        Some(last) => format!(
                            "Last scheduled sweep: {} ({}), removed {} ({})",
                            format::clock(last.time, now),
                            format::moment(last.time, now),
                            format::count(last.removed, "file", "files"),
                            format::bytes(last.freed_bytes)
                        ),
                        None => "No scheduled sweep has run yet.".to_string(),
                    };
                    ui.weak(last);
                }
            }
        });
    });
}

fn saved_interval(schedule: Schedule) -> Option<Duration> {
    match schedule {
        Schedule::Every(d) => Some(d),
        Schedule::Off => None,
    }
}

fn folders_ui(
    ui: &mut egui::Ui,
    form: &mut SettingsForm,
    errors: &FieldErrors,
    refusal: &Refusal,
    dialog_open: Option<Purpose>,
    out: &mut Outbox,
) {
    ui.label(RichText::new("Folders to clean").strong());
    ui.weak(
        "Looked through with their sub-folders, in addition to every folder Ferry has written \
         into.",
    );
    let mut remove = None;
    for (i, root) in form.roots.iter().enumerate() {
        ui.horizontal_wrapped(|ui| {
            let button = ui.small_button("Remove");
            // Named with its folder for screen readers.
            let name = format!("Remove {}", root.display());
            button.widget_info(|| egui::WidgetInfo::labeled(egui::Role::Button, true, &name));
            if button
                .on_hover_text(format!("Stop cleaning {}", root.display()))
                .clicked()
            {
                remove = Some(i);
            }
            ui.monospace(root.display().to_string());
            if let Some(problem) = refusal.on(&Field::Root(root.clone())) {
                ui.label(
                    RichText::new(format!("{} (not saved)", problem_beside(problem, root)))
                        .color(colours::error(ui)),
                )
                .on_hover_text(problem);
            }
        });
    }
    if let Some(i) = remove {
        form.roots.remove(i);
    }
    if form.roots.is_empty() {
        ui.weak("No folders besides those Ferry wrote into.");
    }
    field_error(ui, errors.roots.as_deref());
    ui.horizontal_wrapped(|ui| {
        let picking = dialog_open == Some(Purpose::SweepRoot);
        if ui
            .add_enabled(
                dialog_open.is_none(),
                egui::Button::new(if picking {
                    "Choosing…"
                } else {
                    "Add folder…"
                }),
            )
            .clicked()
        {
            out.dialog(Purpose::SweepRoot);
        }
        let label = ui.label("or type one:");
        let field = ui.add(
            egui::TextEdit::singleline(&mut form.typed_root)
                .hint_text("/home/me/Downloads")
                .desired_width(260.0),
        );
        let field = field.labelled_by(label.id);
        let entered = field.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter));
        if ui
            .add_enabled(
                !form.typed_root.trim().is_empty(),
                egui::Button::new("Add this folder"),
            )
            .clicked()
            || entered
        {
            form.add_typed_root();
        }
    });
    field_error(ui, form.typed_root_error.as_deref());
}

/// The engine's sentence about a folder, without the folder's path (it is
/// right beside it): "cannot be used: it does not exist".
fn problem_beside(problem: &str, root: &std::path::Path) -> String {
    let quoted = format!("'{}'", root.display());
    match problem.split_once(&quoted) {
        Some((_, rest)) => rest.trim().to_string(),
        None => problem.to_string(),
    }
}

fn foreign_ui(
    ui: &mut egui::Ui,
    form: &mut SettingsForm,
    errors: &FieldErrors,
    refusal: &Refusal,
    same: &Same<'_>,
) {
    ui.label(RichText::new("Other tools' partial files").strong());
    ui.weak(
        "Always listed in Cleanup; swept only when their kind is enabled here (they were not \
         written by Ferry), and only from Cleanup after you see the list, unless you include \
         them in scheduled sweeps below.",
    );
    for pattern in ForeignPattern::ALL {
        let mut on = form.foreign.contains(&pattern);
        if ui.checkbox(&mut on, pattern.describe()).changed() {
            if on {
                form.foreign.insert(pattern);
            } else {
                form.foreign.remove(&pattern);
            }
        }
    }
    ui.add_space(4.0);
    egui::Grid::new("foreign-settings")
        .num_columns(2)
        .spacing([12.0, 8.0])
        .show(ui, |ui| {
            let label = ui.label("Minimum age:");
            ui.horizontal(|ui| {
                let field = ui.add(
                    egui::TextEdit::singleline(&mut form.foreign_min_age)
                        .desired_width(70.0)
                        .hint_text("e.g. 1"),
                );
                field.labelled_by(label.id);
                unit_combo(
                    ui,
                    "Minimum age unit",
                    &mut form.foreign_min_age_unit,
                    &Unit::ALL,
                );
                field_error(
                    ui,
                    first(
                        &errors.foreign_min_age,
                        refusal.on(&Field::ForeignMinAge),
                        same(|s| format!("{:?}", s.sweep.foreign_min_age)),
                    ),
                );
            });
            ui.end_row();
            ui.label("");
            ui.weak(
                "Other tools' files are swept only once they are at least this old, whatever \
                 the threshold (at least 1 minute).",
            );
            ui.end_row();
        });
    ui.checkbox(
        &mut form.foreign_in_schedule,
        "Include other tools' files in scheduled sweeps",
    )
    .on_hover_text(
        "Off: scheduled sweeps remove only Ferry's own orphans; other tools' files go only when \
         you sweep them from Cleanup.",
    );
}

fn transfer_ui(
    ui: &mut egui::Ui,
    form: &mut SettingsForm,
    errors: &FieldErrors,
    refusal: &Refusal,
    same: &Same<'_>,
) {
    ui.heading("Transfer defaults");
    egui::Grid::new("transfer-settings")
        .num_columns(2)
        .spacing([12.0, 8.0])
        .show(ui, |ui| {
            ui.label("If a file exists:");
            egui::ComboBox::from_id_salt("default-conflict")
                .selected_text(format::policy(form.conflict))
                .show_ui(ui, |ui| {
                    for policy in ConflictPolicy::ALL {
                        ui.selectable_value(&mut form.conflict, policy, format::policy(policy));
                    }
                })
                .response
                .on_hover_text("Default when a file of the same name exists");
            ui.end_row();
            ui.label("New transfers:");
            ui.horizontal_wrapped(|ui| {
                ui.checkbox(&mut form.verify, "Verify copies by default");
                ui.checkbox(&mut form.all_or_nothing, "All or nothing by default");
            });
            ui.end_row();
            let label = ui.label("Workers:");
            ui.horizontal_wrapped(|ui| {
                ui.add(egui::TextEdit::singleline(&mut form.workers).desired_width(50.0))
                    .labelled_by(label.id);
                field_error(
                    ui,
                    first(
                        &errors.workers,
                        refusal.on(&Field::Workers),
                        same(|s| s.transfer.workers.to_string()),
                    ),
                );
            });
            ui.end_row();
            ui.label("");
            ui.weak(format!(
                "Transfers running at once, 1 to {MAX_WORKERS} (more start now; fewer take \
                 effect at the next start)."
            ));
            ui.end_row();
        });
}

/// A unit chooser; `name` is its accessible name (and id).
fn unit_combo(ui: &mut egui::Ui, name: &str, unit: &mut Unit, units: &[Unit]) {
    egui::ComboBox::from_id_salt(name)
        .width(90.0)
        .selected_text(unit.word())
        .show_ui(ui, |ui| {
            for u in units {
                ui.selectable_value(unit, *u, u.word());
            }
        })
        .response
        .on_hover_text(name);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_checks_fields() {
        let mut settings = Settings::default();
        settings.sweep.threshold = Duration::from_secs(2 * 3600);
        settings.sweep.schedule = Schedule::Every(Duration::from_secs(90 * 60));
        settings.sweep.foreign_min_age = Duration::from_secs(3 * 3600);
        settings.sweep.foreign_in_schedule = true;
        settings.sweep.foreign_patterns = vec![ForeignPattern::Crdownload, ForeignPattern::Rsync];
        let form = SettingsForm::new(&settings, 0, None);
        assert_eq!(
            (form.threshold.as_str(), form.threshold_unit),
            ("2", Unit::Hours)
        );
        assert_eq!(
            (form.interval.as_str(), form.interval_unit),
            ("90", Unit::Minutes)
        );
        assert_eq!(
            (form.foreign_min_age.as_str(), form.foreign_min_age_unit),
            ("3", Unit::Hours)
        );
        // Every field comes back as it was, the patterns in their order.
        assert_eq!(form.settings().unwrap(), settings);

        let mut bad = form.clone();
        bad.threshold = "0.5".into();
        bad.threshold_unit = Unit::Minutes;
        bad.interval = "soon".into();
        bad.workers = "0".into();
        bad.foreign_min_age = "0.1".into();
        bad.foreign_min_age_unit = Unit::Minutes;
        let errors = bad.settings().unwrap_err();
        assert!(errors.threshold.unwrap().contains("between 1m"));
        assert!(errors.schedule.unwrap().contains("not a number"));
        assert!(errors.workers.unwrap().contains("between 1 and 64"));
        assert!(errors.foreign_min_age.unwrap().contains("between 1m"));

        // Off keeps the interval typed in; a new form offers the last one.
        let mut off = form.clone();
        off.scheduled = false;
        assert_eq!(off.settings().unwrap().sweep.schedule, Schedule::Off);
        assert_eq!(off.interval(), Some(Duration::from_secs(90 * 60)));
        let saved = off.settings().unwrap();
        let again = SettingsForm::new(&saved, 1, off.interval());
        assert_eq!(
            (
                again.interval.as_str(),
                again.interval_unit,
                again.scheduled
            ),
            ("90", Unit::Minutes, false)
        );
    }

    #[test]
    fn the_engines_problems_land_on_their_fields() {
        let roots = [PathBuf::from("/media/usb"), PathBuf::from("/srv/x")];
        assert_eq!(
            field_of(
                "the sweep folder '/srv/x' cannot be used: it does not exist",
                &roots
            ),
            Field::Root(roots[1].clone())
        );
        assert_eq!(
            field_of(
                "the number of workers must be between 1 and 64 (it is 0)",
                &roots
            ),
            Field::Workers
        );
        assert_eq!(
            field_of("the sweep threshold must be at least 1m", &roots),
            Field::Threshold
        );
        assert_eq!(field_of("disk full", &roots), Field::General);
        assert_eq!(
            problem_beside(
                "the sweep folder '/srv/x' cannot be used: it does not exist",
                &roots[1]
            ),
            "cannot be used: it does not exist"
        );
    }
}
