//! The Cleanup tab's chart: leftover files over time (from the samples the
//! engine keeps, one per scan, [`ScanReport::trend`]) and what each sweep
//! reclaimed (from the sweep log the engine publishes), so a person sees
//! whether leftovers pile up. Sizes or file counts, as chosen.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use eframe::egui;
use egui_plot::{
    AxisHints, Bar, BarChart, GridInput, GridMark, HoverPosition, Legend, Line, Plot,
    uniform_grid_spacer,
};

use ferry_engine::{LogRecord, ScanReport, Tally, TrendSample, Trigger};

use super::colours;
use super::format;
use super::model::Model;
use super::state::ChartMeasure;

/// The Size / Files switch.
pub fn measure_ui(ui: &mut egui::Ui, measure: &mut ChartMeasure) {
    ui.selectable_value(measure, ChartMeasure::Size, "Sizes");
    ui.selectable_value(measure, ChartMeasure::Files, "File counts");
}

/// One sweep, from the lines of the sweep log it wrote.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Swept {
    /// When it finished.
    pub time: SystemTime,
    /// Manual or scheduled.
    pub trigger: Trigger,
    /// What it removed.
    pub removed: Tally,
}

/// The sweeps in the log (its lines grouped by sweep), oldest first.
pub fn sweeps(log: &[LogRecord]) -> Vec<Swept> {
    let mut sweeps: Vec<Swept> = Vec::new();
    for record in log {
        match sweeps.last_mut() {
            Some(last) if last.time == record.time && last.trigger == record.trigger => {
                last.removed.files += 1;
                last.removed.bytes += record.size;
            }
            _ => sweeps.push(Swept {
                time: record.time,
                trigger: record.trigger,
                removed: Tally {
                    files: 1,
                    bytes: record.size,
                },
            }),
        }
    }
    sweeps
}

/// The leftovers to draw: the engine's samples, and the latest scan where
/// the samples stop earlier (the engine adds no sample when nothing
/// changed).
pub fn samples(scan: &ScanReport, scanned: Option<SystemTime>) -> Vec<TrendSample> {
    let mut samples = scan.trend.clone();
    if let Some(at) = scanned
        && samples.last().is_none_or(|last| last.time < at)
    {
        samples.push(TrendSample::of(scan, at));
    }
    samples
}

fn secs(time: SystemTime) -> f64 {
    time.duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

fn time_of(x: f64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs_f64(x.max(0.0))
}

fn value(tally: Tally, measure: ChartMeasure) -> f64 {
    match measure {
        ChartMeasure::Size => tally.bytes as f64,
        ChartMeasure::Files => tally.files as f64,
    }
}

fn amount(tally: Tally, measure: ChartMeasure) -> String {
    match measure {
        ChartMeasure::Size => format::bytes(tally.bytes),
        ChartMeasure::Files => format::count(tally.files, "file", "files"),
    }
}

/// Steps on the time axis that read well: minutes, hours, days, weeks.
const TIME_STEPS: [f64; 14] = [
    60.0,
    300.0,
    900.0,
    1800.0,
    3600.0,
    3.0 * 3600.0,
    6.0 * 3600.0,
    12.0 * 3600.0,
    86_400.0,
    2.0 * 86_400.0,
    7.0 * 86_400.0,
    28.0 * 86_400.0,
    91.0 * 86_400.0,
    365.0 * 86_400.0,
];

/// The three grid steps after the first of `steps` that is at least `base`.
fn steps_from(steps: &[f64], base: f64) -> [f64; 3] {
    let i = steps
        .iter()
        .position(|&s| s >= base)
        .unwrap_or(steps.len() - 1);
    let at = |j: usize| steps[j.min(steps.len() - 1)];
    [at(i), at(i + 1), at(i + 2)]
}

fn time_steps(base: f64) -> [f64; 3] {
    steps_from(&TIME_STEPS, base)
}

/// Grid marks on the time axis at whole local minutes, hours and days
/// (`offset`: the local zone's seconds ahead of UTC); each mark carries
/// the largest of the three steps it falls on.
fn time_marks(input: GridInput, offset: f64) -> Vec<GridMark> {
    let steps = time_steps(input.base_step_size);
    let (min, max) = input.bounds;
    let mut marks = Vec::new();
    let fine = steps[0];
    let mut local = ((min + offset) / fine).ceil() * fine;
    while local - offset <= max && marks.len() < 10_000 {
        let step_size = steps
            .iter()
            .rev()
            .copied()
            .find(|s| (local / s).fract().abs() < 1e-9)
            .unwrap_or(fine);
        marks.push(GridMark {
            value: local - offset,
            step_size,
        });
        local += fine;
    }
    marks
}

/// Steps on the value axis: 1, 2, 5 times powers of ten for files; for
/// sizes the same within each binary unit (1 KiB, 2 KiB, 5 KiB, … 500 KiB,
/// 1 MiB…), so the labels read as round numbers.
fn value_steps(measure: ChartMeasure, base: f64) -> [f64; 3] {
    let mut steps = Vec::new();
    match measure {
        ChartMeasure::Files => {
            let mut decade = 1.0;
            while decade < 1e15 {
                steps.extend([decade, 2.0 * decade, 5.0 * decade]);
                decade *= 10.0;
            }
        }
        ChartMeasure::Size => {
            let mut unit = 1.0;
            for _ in 0..6 {
                for m in [1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0, 200.0, 500.0] {
                    steps.push(m * unit);
                }
                unit *= 1024.0;
            }
        }
    }
    steps_from(&steps, base)
}

/// The shortest stretch of time the chart shows, so a few points made in
/// the first minutes do not fill it.
const MIN_SPAN: Duration = Duration::from_secs(3600);

/// The chart (or a word on why there is none yet).
pub fn chart_ui(ui: &mut egui::Ui, model: &Model, measure: ChartMeasure, elapsed: Duration) {
    let now = SystemTime::now();
    let empty = ScanReport::default();
    let scan = model.scan.as_ref().unwrap_or(&empty);
    let scanned = model.scan.as_ref().map(|_| now - elapsed);
    let samples = samples(scan, scanned);
    let sweeps = sweeps(&model.sweep_status.log);
    if samples.len() < 2 && sweeps.is_empty() {
        ui.weak(
            "The chart fills in as Ferry looks for leftover files: one point per scan, kept \
             across restarts, and a bar for each sweep.",
        );
        return;
    }
    let total_colour = colours::warning(ui);
    let removable_colour = colours::error(ui);
    let swept_colour = colours::ok(ui);
    let total: Vec<[f64; 2]> = samples
        .iter()
        .map(|s| [secs(s.time), value(s.total(), measure)])
        .collect();
    let removable: Vec<[f64; 2]> = samples
        .iter()
        .map(|s| [secs(s.time), value(s.removable, measure)])
        .collect();
    // Bars a little narrower than the gap between the closest two points.
    let first = samples
        .first()
        .map(|s| s.time)
        .into_iter()
        .chain(sweeps.first().map(|s| s.time))
        .min()
        .unwrap_or(now);
    let span = secs(now) - secs(first);
    let bar_width = (span.max(MIN_SPAN.as_secs_f64()) / 80.0).max(20.0);
    let bars: Vec<Bar> = sweeps
        .iter()
        .map(|s| {
            Bar::new(secs(s.time), value(s.removed, measure))
                .width(bar_width)
                .fill(swept_colour.gamma_multiply(0.7))
        })
        .collect();

    let hover_samples = samples.clone();
    let hover_sweeps = sweeps.clone();
    let label = move |hover: &HoverPosition<'_>| -> Option<String> {
        let (name, index) = match hover {
            HoverPosition::NearDataPoint {
                plot_name, index, ..
            } => (*plot_name, *index),
            HoverPosition::Elsewhere { .. } => return None,
        };
        let now = SystemTime::now();
        if name == RECLAIMED {
            let s = hover_sweeps.get(index)?;
            let who = match s.trigger {
                Trigger::Manual => "Sweep",
                Trigger::Scheduled => "Scheduled sweep",
            };
            return Some(format!(
                "{who} at {}: removed {}",
                format::clock(s.time, now),
                amount_all(s.removed)
            ));
        }
        let s = hover_samples.get(index)?;
        Some(format!(
            "{}: {} left over\nFerry's: {} · other tools': {} · backups: {}\ncan be swept: {}",
            format::clock(s.time, now),
            amount_all(s.total()),
            amount_all(s.ferry),
            amount_all(s.foreign),
            amount_all(s.backups),
            amount_all(s.removable),
        ))
    };

    let y_measure = measure;
    // Hours and days on the axis fall on the local clock's.
    let offset = format::utc_offset(now) as f64;
    let highest = total
        .iter()
        .map(|p| p[1])
        .chain(sweeps.iter().map(|s| value(s.removed, measure)))
        .fold(0.0, f64::max);
    let start = secs(now) - span.max(MIN_SPAN.as_secs_f64());
    Plot::new("leftovers-chart")
        .legend(Legend::default().position(egui_plot::Corner::LeftTop))
        .allow_scroll(false)
        .allow_zoom(false)
        .allow_drag(false)
        .allow_boxed_zoom(false)
        .show_crosshair(false)
        .include_y(0.0)
        // Room above the highest point for the legend.
        .include_y(highest * 1.45)
        .include_x(start)
        .include_x(secs(now))
        .x_grid_spacer(move |input| time_marks(input, offset))
        .y_grid_spacer(uniform_grid_spacer(move |input| {
            value_steps(y_measure, input.base_step_size)
        }))
        // Clock times are narrow: they may stand closer than the default.
        .custom_x_axes(vec![
            AxisHints::new_x()
                .formatter(|mark, _| {
                    format::clock_mark(
                        time_of(mark.value),
                        Duration::from_secs_f64(mark.step_size.max(0.0)),
                    )
                })
                .label_spacing(45.0..=60.0),
        ])
        .y_axis_formatter(move |mark, _| {
            if mark.value < 0.0 {
                return String::new();
            }
            match y_measure {
                ChartMeasure::Size => format::bytes(mark.value.round() as u64),
                ChartMeasure::Files if mark.value.fract() == 0.0 => {
                    format!("{}", mark.value as u64)
                }
                ChartMeasure::Files => String::new(),
            }
        })
        .y_axis_min_width(48.0)
        .label_formatter(label)
        .show(ui, |plot| {
            plot.bar_chart(
                BarChart::new(RECLAIMED, bars)
                    .color(swept_colour)
                    .allow_hover(true),
            );
            plot.line(
                Line::new("Left over", total)
                    .color(total_colour)
                    .width(2.0)
                    .fill(0.0)
                    .fill_alpha(0.12),
            );
            plot.line(
                Line::new("Can be swept", removable)
                    .color(removable_colour)
                    .width(1.5),
            );
        });
}

const RECLAIMED: &str = "Reclaimed by sweeps";

fn amount_all(tally: Tally) -> String {
    format!(
        "{} ({})",
        amount(tally, ChartMeasure::Files),
        amount(tally, ChartMeasure::Size)
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use ferry_engine::Kind;
    use std::path::PathBuf;

    #[test]
    fn log_lines_group_into_sweeps() {
        let t = UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        let record = |time, size, trigger| LogRecord {
            time,
            path: PathBuf::from("/x"),
            size,
            kind: Kind::Part,
            trigger,
        };
        let log = [
            record(t, 5, Trigger::Manual),
            record(t, 7, Trigger::Manual),
            record(t + Duration::from_secs(60), 1, Trigger::Scheduled),
        ];
        let sweeps = sweeps(&log);
        assert_eq!(sweeps.len(), 2);
        assert_eq!(
            sweeps[0].removed,
            Tally {
                files: 2,
                bytes: 12
            }
        );
        assert_eq!(sweeps[1].trigger, Trigger::Scheduled);
        assert_eq!(time_steps(1.0), [60.0, 300.0, 900.0]);
        assert_eq!(
            time_steps(4000.0),
            [3.0 * 3600.0, 6.0 * 3600.0, 12.0 * 3600.0]
        );
    }
}
