//! The Settings tab: a form over [`Settings`] that checks every field as it
//! is typed (errors shown beside the field) and hands the result to the
//! engine, which validates it again, saves it and puts it in force.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::time::Duration;

use eframe::egui::{self, RichText};

use ferry_engine::atomic::ConflictPolicy;
use ferry_engine::handle::Command;
use ferry_engine::settings::{
    MAX_INTERVAL, MAX_THRESHOLD, MAX_WORKERS, MIN_INTERVAL, MIN_THRESHOLD, Settings,
};
use ferry_engine::sweep::{ForeignPattern, Schedule};

use super::dialogs::Purpose;
use super::format;
use super::model::Model;
use super::{Outbox, colours};

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

/// The form's fields.
#[derive(Debug, Clone, PartialEq)]
pub struct SettingsForm {
    /// Sweep threshold, as typed.
    pub threshold: String,
    /// Its unit.
    pub threshold_unit: Unit,
    /// Whether sweeps are scheduled.
    pub scheduled: bool,
    /// Interval, as typed.
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
    /// Default conflict policy.
    pub conflict: ConflictPolicy,
    /// Default verify.
    pub verify: bool,
    /// Default all-or-nothing.
    pub all_or_nothing: bool,
    /// Transfer workers.
    pub workers: usize,
    /// The model's settings generation this form was loaded from.
    pub generation: u64,
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
    /// The workers.
    pub workers: Option<String>,
    /// Anything else.
    pub other: Vec<String>,
}

impl FieldErrors {
    fn is_empty(&self) -> bool {
        self.threshold.is_none()
            && self.schedule.is_none()
            && self.roots.is_none()
            && self.workers.is_none()
            && self.other.is_empty()
    }
}

impl SettingsForm {
    /// The form showing `settings`.
    pub fn new(settings: &Settings, generation: u64) -> Self {
        let (threshold, threshold_unit) = Unit::fit(settings.sweep.threshold);
        let (scheduled, (interval, interval_unit)) = match settings.sweep.schedule {
            Schedule::Off => (false, ("6".to_string(), Unit::Hours)),
            Schedule::Every(d) => (true, Unit::fit(d)),
        };
        Self {
            threshold,
            threshold_unit,
            scheduled,
            interval,
            interval_unit,
            roots: settings.sweep.roots.clone(),
            typed_root: String::new(),
            typed_root_error: None,
            foreign: settings.sweep.foreign_patterns.iter().copied().collect(),
            conflict: settings.transfer.conflict,
            verify: settings.transfer.verify,
            all_or_nothing: settings.transfer.all_or_nothing,
            workers: settings.transfer.workers,
            generation,
        }
    }

    /// The settings the form describes, or what is wrong with it.
    pub fn settings(&self) -> Result<Settings, FieldErrors> {
        let mut errors = FieldErrors::default();
        let mut settings = Settings::default();
        let human = |d: Duration| format::duration(d);
        match parse_duration(&self.threshold, self.threshold_unit) {
            Ok(d) if d < MIN_THRESHOLD || d > MAX_THRESHOLD => {
                errors.threshold = Some(format!(
                    "must be between {} and {} (it is {})",
                    human(MIN_THRESHOLD),
                    human(MAX_THRESHOLD),
                    human(d)
                ));
            }
            Ok(d) => settings.sweep.threshold = d,
            Err(e) => errors.threshold = Some(e),
        }
        settings.sweep.schedule = if self.scheduled {
            match parse_duration(&self.interval, self.interval_unit) {
                Ok(d) if d < MIN_INTERVAL || d > MAX_INTERVAL => {
                    errors.schedule = Some(format!(
                        "must be between {} and {} (it is {})",
                        human(MIN_INTERVAL),
                        human(MAX_INTERVAL),
                        human(d)
                    ));
                    Schedule::Off
                }
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
        settings.sweep.roots = self.roots.clone();
        settings.sweep.foreign_patterns = self.foreign.iter().copied().collect();
        if !(1..=MAX_WORKERS).contains(&self.workers) {
            errors.workers = Some(format!("must be between 1 and {MAX_WORKERS}"));
        }
        settings.transfer.workers = self.workers;
        settings.transfer.conflict = self.conflict;
        settings.transfer.verify = self.verify;
        settings.transfer.all_or_nothing = self.all_or_nothing;
        if errors.is_empty()
            && let Err(invalid) = settings.validate()
        {
            errors.other = invalid.problems;
        }
        if errors.is_empty() {
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

fn field_error(ui: &mut egui::Ui, error: &Option<String>) {
    if let Some(e) = error {
        ui.label(RichText::new(e.as_str()).color(colours::error(ui)));
    }
}

/// The Settings tab.
pub fn settings_ui(
    ui: &mut egui::Ui,
    model: &Model,
    form: &mut SettingsForm,
    dialog_open: Option<Purpose>,
    out: &mut Outbox,
) {
    if form.generation != model.settings_generation {
        *form = SettingsForm::new(&model.settings, model.settings_generation);
    }
    let result = form.settings();
    let errors = result.clone().err().unwrap_or_default();
    let changed = result.as_ref().map_or(true, |s| *s != model.settings);

    egui::ScrollArea::vertical()
        .auto_shrink([false, false])
        .show(ui, |ui| {
            ui.heading("Cleanup settings");
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
                        field_error(ui, &errors.threshold);
                    });
                    ui.end_row();
                    ui.label("");
                    ui.weak(
                        "Unlocked temp files older than this are orphans and may be swept \
                         (at least 1 minute).",
                    );
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
                                &[Unit::Minutes, Unit::Hours],
                            );
                        });
                        field_error(ui, &errors.schedule);
                    });
                    ui.end_row();
                });

            ui.add_space(6.0);
            ui.label(RichText::new("Folders to clean up").strong());
            ui.weak(
                "Swept with their sub-folders, in addition to every folder Ferry has written \
                 into.",
            );
            let mut remove = None;
            for (i, root) in form.roots.iter().enumerate() {
                ui.horizontal(|ui| {
                    if ui
                        .small_button("Remove")
                        .on_hover_text(format!("Stop sweeping {}", root.display()))
                        .clicked()
                    {
                        remove = Some(i);
                    }
                    ui.monospace(root.display().to_string());
                });
            }
            if let Some(i) = remove {
                form.roots.remove(i);
            }
            if form.roots.is_empty() {
                ui.weak("No extra folders.");
            }
            field_error(ui, &errors.roots);
            ui.horizontal(|ui| {
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
                        .desired_width(280.0),
                );
                let field = field.labelled_by(label.id);
                let entered = field.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter));
                if ui.button("Add root").clicked() || entered {
                    form.add_typed_root();
                }
            });
            field_error(ui, &form.typed_root_error);

            ui.add_space(6.0);
            ui.label(RichText::new("Other tools' partial files").strong());
            ui.weak(
                "Always listed in Cleanup; swept only when enabled here (they were not written \
                 by Ferry).",
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

            ui.add_space(10.0);
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
                                ui.selectable_value(
                                    &mut form.conflict,
                                    policy,
                                    format::policy(policy),
                                );
                            }
                        })
                        .response
                        .on_hover_text("Default when a file of the same name exists");
                    ui.end_row();
                    ui.label("New transfers:");
                    ui.horizontal(|ui| {
                        ui.checkbox(&mut form.verify, "Verify copies by default");
                        ui.checkbox(&mut form.all_or_nothing, "All or nothing by default");
                    });
                    ui.end_row();
                    let label = ui.label("Workers:");
                    ui.horizontal(|ui| {
                        ui.add(egui::DragValue::new(&mut form.workers).range(1..=MAX_WORKERS))
                            .labelled_by(label.id);
                        ui.weak(
                            "transfers running at once (more start now; fewer take effect \
                             at the next start)",
                        );
                        field_error(ui, &errors.workers);
                    });
                    ui.end_row();
                });

            ui.add_space(10.0);
            for problem in &errors.other {
                ui.label(RichText::new(problem.as_str()).color(colours::error(ui)));
            }
            for problem in &model.settings_rejected {
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
                    out.command(Command::UpdateSettings(settings.clone()));
                    out.settings_sent = true;
                }
                if ui
                    .add_enabled(changed, egui::Button::new("Revert"))
                    .clicked()
                {
                    *form = SettingsForm::new(&model.settings, model.settings_generation);
                }
                if model.settings_pending {
                    ui.spinner();
                    ui.weak("Saving…");
                } else if !changed {
                    ui.weak("All changes are saved.");
                } else if result.is_err() {
                    ui.label(
                        RichText::new("Fix the marked fields to save.").color(colours::error(ui)),
                    );
                }
            });
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
        let form = SettingsForm::new(&settings, 0);
        assert_eq!(
            (form.threshold.as_str(), form.threshold_unit),
            ("2", Unit::Hours)
        );
        assert_eq!(
            (form.interval.as_str(), form.interval_unit),
            ("90", Unit::Minutes)
        );
        assert_eq!(form.settings().unwrap(), settings);

        let mut bad = form.clone();
        bad.threshold = "0.5".into();
        bad.threshold_unit = Unit::Minutes;
        bad.interval = "soon".into();
        bad.workers = 0;
        let errors = bad.settings().unwrap_err();
        assert!(errors.threshold.unwrap().contains("between 1m"));
        assert!(errors.schedule.unwrap().contains("not a number"));
        assert!(errors.workers.is_some());
    }
}
