//! The Transfers tab as people expect it (issue 12), the window items of
//! issues 10 and 13, driven through egui_kittest on the real app with the
//! real engine on temp folders: checked sources and destination, Create
//! folder, a refused job that keeps the form, conflicts asked side by side,
//! Retry failed, history across a restart, Discard, phases, the title's
//! progress, desktop notifications, checksums and Verify, the timer switch.
//!
//! With the `fault-injection` feature copies are slowed (a delay per chunk
//! of I/O), so a test can see a job run; the tests that need it say so.

mod ui_support;

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use eframe::egui;
use egui_kittest::Harness;
use egui_kittest::kittest::{NodeT, Queryable};
use ferry_engine::{ConflictPolicy, Event, JobId, JobSpec, Phase, Progress};
use ferry_ui::AppConfig;
use ferry_ui::model::Model;
use ferry_ui::notices::Notices;
use ui_support::*;

/// Every test in this binary asks for the same delay (the first to install
/// it wins), so the order tests run in does not matter.
fn slow_copies() {
    ferry_engine::faults::install(ferry_engine::faults::Faults {
        chunk_delay: Some(Duration::from_millis(100)),
        ..Default::default()
    });
}

/// A fixture with `src` and `dest` folders besides data and config.
fn fixture() -> Fixture {
    slow_copies();
    let fx = Fixture::new();
    fs::create_dir(fx.path("src")).unwrap();
    fs::create_dir(fx.path("dest")).unwrap();
    fx
}

/// The form's conflict policy chooser.
const POLICY: &str = "What to do when a file of the same name is already there";

fn app(config: AppConfig) -> App {
    let mut h = harness(config, WINDOW);
    h.step();
    h
}

fn app_with_desktop(fx: &Fixture) -> (App, Arc<RecordingDesktop>) {
    let desktop = Arc::new(RecordingDesktop::default());
    let h = app(fx.config().with_desktop(desktop.clone()));
    (h, desktop)
}

/// Drops the sources, types the destination, waits until the engine has
/// checked both and Start is enabled, and starts.
#[track_caller]
fn start(h: &mut App, sources: &[PathBuf], dest: &Path) {
    drop_files(h, sources);
    set_text(h, "Destination:", dest.to_str().unwrap());
    wait_checked(h);
    step_until(h, "Start to be enabled", 10, |h| enabled(h, "Start copy"));
    click(h, "Start copy");
}

/// Waits until every source and the destination have been checked.
#[track_caller]
fn wait_checked(h: &mut App) {
    step_until(h, "the engine's checks", 10, |h| {
        let m = h.state().model();
        let dest = h.state().view().destination.trim().to_string();
        h.state()
            .new_job()
            .sources
            .iter()
            .all(|s| m.sources_checked.contains_key(s))
            && (dest.is_empty()
                || m.dest_checked
                    .as_ref()
                    .is_some_and(|d| d.path == Path::new(&dest)))
    });
}

#[track_caller]
fn wait_idle(h: &mut App, what: &str) {
    step_until(h, what, 60, |h| {
        let m = h.state().model();
        m.jobs.is_empty() && !m.history.is_empty()
    });
}

fn names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn a_missing_source_is_marked_and_start_says_why_until_it_is_removed() {
    let fx = fixture();
    let here = fx.path("src/here.txt");
    write(&here, 100);
    let gone = fx.path("src/gone.txt");
    let mut h = app(fx.config());
    drop_files(&mut h, &[here.clone(), gone.clone()]);
    set_text(&mut h, "Destination:", fx.path("dest").to_str().unwrap());
    wait_checked(&mut h);

    assert!(has_label(&h, "file, 100 B"));
    assert!(has_label(&h, "missing: it is not there"));
    assert!(!enabled(&h, "Start copy"));
    assert!(has_label(&h, "1 item is not there (marked above)"));
    h.check_accessibility();

    click(&mut h, &format!("Remove {}", gone.display()));
    assert_eq!(h.state().new_job().sources, [here]);
    wait_checked(&mut h);
    assert!(enabled(&h, "Start copy"));
    assert!(!has_label(&h, "not there"));
}

#[test]
fn a_refused_start_keeps_the_list_the_destination_and_the_options() {
    let fx = fixture();
    // A folder copied into itself: every path exists, so the checks pass,
    // and the engine refuses the job when it plans it.
    let folder = fx.path("src/album");
    fs::create_dir_all(folder.join("inside")).unwrap();
    write(&folder.join("a.jpg"), 10);
    let dest = folder.join("inside");
    let mut h = app(fx.config());
    drop_files(&mut h, std::slice::from_ref(&folder));
    set_text(&mut h, "Destination:", dest.to_str().unwrap());
    click(&mut h, "Verify copies");
    click(&mut h, "Move");
    wait_checked(&mut h);
    step_until(&mut h, "Start to be enabled", 10, |h| {
        enabled(h, "Start move")
    });
    click(&mut h, "Start move");

    step_until(&mut h, "the refusal", 20, |h| {
        has_label(h, "Not started; nothing was written")
    });
    let job = h.state().new_job();
    assert_eq!(job.sources, std::slice::from_ref(&folder));
    assert!(job.verify);
    assert_eq!(job.kind, ferry_engine::TransferKind::Move);
    assert_eq!(h.state().view().destination, dest.display().to_string());
    assert!(job.pending.is_empty());
    assert!(!job.refused.is_empty());
    // The reason, in the engine's words, beside Start.
    assert!(
        has_label(&h, "the destination is inside the source folder"),
        "{:?}",
        job.refused
    );
    assert!(folder.join("a.jpg").exists());
    // Once the list changes, the refusal has nothing more to say.
    click(&mut h, "Clear");
    assert!(!has_label(&h, "Not started; nothing was written"));
}

#[test]
fn a_missing_destination_offers_create_folder_and_it_works() {
    let fx = fixture();
    let a = fx.path("src/a.txt");
    let b = fx.path("src/b.txt");
    write(&a, 10);
    write(&b, 20);
    let dest = fx.path("dest/new/deeper");
    let mut h = app(fx.config());
    drop_files(&mut h, &[a.clone(), b.clone()]);
    set_text(&mut h, "Destination:", dest.to_str().unwrap());
    wait_checked(&mut h);
    assert!(has_label(
        &h,
        "Neither this folder nor the one above it exists."
    ));
    assert!(!enabled(&h, "Start copy"));
    assert!(has_label(&h, "create it first"));

    click(&mut h, "Create folder");
    step_until(&mut h, "the folder and its summary", 10, |h| {
        h.state()
            .model()
            .dest_checked
            .as_ref()
            .is_some_and(|d| matches!(d.state, ferry_engine::DestState::Folder { .. }))
    });
    assert!(dest.is_dir());
    // Under the destination: its filesystem, free space (and limitations).
    h.step();
    assert!(has_label(&h, " free"));
    assert!(enabled(&h, "Start copy"));
    click(&mut h, "Start copy");
    wait_idle(&mut h, "the copy");
    assert_eq!(names(&dest), ["a.txt", "b.txt"]);
    assert!(h.state().new_job().sources.is_empty());
}

#[test]
fn a_file_dropped_on_the_destination_field_becomes_the_destination() {
    let fx = fixture();
    let target = fx.path("dest");
    let mut h = app(fx.config());
    let field = h.get_by_label("Destination:").rect();
    h.input_mut()
        .events
        .push(egui::Event::PointerMoved(field.center()));
    h.step();
    drop_files(&mut h, std::slice::from_ref(&target));
    assert_eq!(h.state().view().destination, target.display().to_string());
    assert!(h.state().new_job().sources.is_empty());

    // Elsewhere on the window, a drop adds a source.
    let a = fx.path("src/a.txt");
    write(&a, 1);
    h.input_mut()
        .events
        .push(egui::Event::PointerMoved(egui::pos2(5.0, 300.0)));
    h.step();
    drop_files(&mut h, std::slice::from_ref(&a));
    assert_eq!(h.state().new_job().sources, [a]);
    assert_eq!(h.state().view().destination, target.display().to_string());
}

#[test]
fn ask_me_is_the_default_and_a_conflict_is_asked_side_by_side_and_for_all_applies_to_the_rest() {
    let fx = fixture();
    let names_ = ["one.txt", "two.txt", "three.txt"];
    for name in names_ {
        fs::write(fx.path("src").join(name), format!("new {name}")).unwrap();
        fs::write(fx.path("dest").join(name), "old").unwrap();
    }
    let fresh = fx.path("src/fresh.txt");
    fs::write(&fresh, "fresh").unwrap();
    let mut h = app(fx.config());
    assert_eq!(h.get_by_label(POLICY).value().as_deref(), Some("Ask me"));
    assert_eq!(h.state().new_job().policy, ConflictPolicy::Ask);
    let mut sources: Vec<PathBuf> = names_.iter().map(|n| fx.path("src").join(n)).collect();
    sources.push(fresh);
    start(&mut h, &sources, &fx.path("dest"));

    step_until(&mut h, "the first question", 20, |h| {
        !h.state().model().conflicts.is_empty()
    });
    h.step();
    h.check_accessibility();
    // Both sides: the names, sizes, and the rest of the job went on.
    assert!(has_label(&h, "Already there"));
    assert!(has_label(&h, "Being copied"));
    assert!(has_label(&h, "3 B"));
    step_until(&mut h, "the other file to be copied", 20, |_| {
        fx.path("dest/fresh.txt").exists()
    });
    let first = h.state().model().conflicts[0].1.dest.clone();
    click(&mut h, "Replace");
    step_until(&mut h, "the next question", 20, |h| {
        h.state()
            .model()
            .conflicts
            .first()
            .is_some_and(|(_, c)| c.dest != first)
    });
    click(&mut h, "Do this for all remaining conflicts in this job");
    click(&mut h, "Skip");
    assert!(h.state().model().conflicts.is_empty());
    wait_idle(&mut h, "the job to end");
    let s = &h.state().model().history[0].summary;
    assert_eq!((s.replaced, s.skipped, s.files_done), (1, 2, 2), "{s:?}");
    let replaced = fs::read_to_string(&first).unwrap();
    assert!(replaced.starts_with("new "), "{replaced}");
    let others: Vec<String> = names_
        .iter()
        .map(|n| fx.path("dest").join(n))
        .filter(|p| *p != first)
        .map(|p| fs::read_to_string(p).unwrap())
        .collect();
    assert_eq!(others, ["old", "old"]);
    // The summary counts each kind apart.
    assert!(has_label(&h, "1 copied, 1 replaced · 2 skipped"));
}

#[test]
fn identical_failures_are_grouped_and_retry_failed_copies_them_again() {
    let fx = fixture();
    let mut sources = Vec::new();
    for i in 0..5 {
        let name = format!("f{i}.txt");
        fs::write(fx.path("src").join(&name), format!("new {i}")).unwrap();
        fs::write(fx.path("dest").join(&name), "old").unwrap();
        sources.push(fx.path("src").join(&name));
    }
    let mut config = fx.config();
    config.settings.transfer.conflict = ConflictPolicy::Fail;
    let mut h = app(config);
    start(&mut h, &sources, &fx.path("dest"));
    wait_idle(&mut h, "the refusals");
    let group = "5 files already exist at the destination (left as they were)";
    assert!(has_label(&h, group));
    assert!(has_label(&h, "Failed"));
    click(&mut h, group);
    assert!(has_label(&h, &fx.path("dest/f3.txt").display().to_string()));

    // Retry with "Replace it".
    assert!(has_label(&h, "Retry 5 failed files"));
    h.get_by_label("What the retry does when a file exists")
        .click();
    h.step();
    h.step();
    h.get_all_by_label("Replace it").last().unwrap().click();
    h.step();
    h.step();
    click(&mut h, "Retry 5 failed files");
    step_until(&mut h, "the retry to end", 60, |h| {
        let m = h.state().model();
        m.jobs.is_empty() && m.history.len() == 2
    });
    let retry = &h.state().model().history[0];
    assert_eq!(retry.summary.replaced, 5, "{:?}", retry.summary);
    for i in 0..5 {
        assert_eq!(
            fs::read_to_string(fx.path("dest").join(format!("f{i}.txt"))).unwrap(),
            format!("new {i}")
        );
    }
}

#[test]
fn the_history_survives_a_restart_and_clear_asks_first() {
    let fx = fixture();
    let a = fx.path("src/keep.txt");
    write(&a, 1234);
    let (mut h, desktop) = app_with_desktop(&fx);
    start(&mut h, &[a], &fx.path("dest"));
    wait_idle(&mut h, "the copy");
    drop(h);

    let mut again = app(fx.config().with_desktop(desktop.clone()));
    step_until(&mut again, "the history from the engine", 10, |h| {
        has_label(h, "keep.txt")
    });
    assert!(has_label(&again, "Completed"));
    assert!(has_label(&again, "1 file (1.2 KiB)"));
    click(&mut again, "Open destination");
    assert_eq!(*desktop.opened.lock().unwrap(), [fx.path("dest")]);
    // Details: how it was copied.
    click(&mut again, "Details");
    assert!(has_label(&again, "Method"));

    click(&mut again, "Clear history…");
    assert!(has_label(&again, "Clear the history?"));
    again.run_steps(2);
    click(&mut again, "Keep the history");
    assert_eq!(again.state().model().history.len(), 1);
    click(&mut again, "Clear history…");
    again.run_steps(2);
    click(&mut again, "Clear it");
    step_until(&mut again, "the empty history", 10, |h| {
        h.state().model().history.is_empty()
    });
    drop(again);
    let mut third = app(fx.config());
    step_until(&mut third, "the engine's (empty) history", 10, |h| {
        has_label(h, "Finished transfers appear here")
    });
    assert!(!has_label(&third, "keep.txt"));
}

/// The journal of a copy of `src` into `dest` that was interrupted before
/// it wrote anything (as a killed Ferry leaves it), and its id.
fn interrupted_copy(
    fx: &Fixture,
    src: &std::path::Path,
) -> (ferry_engine::journal::Journal, JobId) {
    let spec = JobSpec::copy(vec![src.to_path_buf()], fx.path("dest"));
    let plan = ferry_engine::plan::plan_job(&spec).unwrap();
    let id = JobId::random();
    let journal =
        ferry_engine::journal::Journal::create(&fx.path("data"), id, &spec, &plan).unwrap();
    (journal, id)
}

#[test]
fn an_interrupted_job_can_be_discarded_after_a_confirmation() {
    use ferry_engine::journal::Journal;

    let fx = fixture();
    let src = fx.path("src/left.txt");
    write(&src, 5000);
    let id = interrupted_copy(&fx, &src).1;
    let journal = Journal::path_for(&fx.path("data"), id);
    assert!(journal.exists());

    let mut h = app(fx.config());
    step_until(&mut h, "the interrupted job", 10, |h| {
        has_label(h, "Interrupted transfers")
    });
    assert!(has_label(&h, "0 of 1 file done"));
    // Not all-or-nothing: no Roll back.
    assert!(h.query_by_label("Roll back").is_none());
    click(&mut h, "Discard…");
    assert!(has_label(&h, "Discard left.txt?"));
    h.run_steps(2);
    click(&mut h, "Keep it");
    assert!(journal.exists());
    assert!(has_label(&h, "Interrupted transfers"));
    click(&mut h, "Discard…");
    h.run_steps(2);
    click(&mut h, "Discard it");
    step_until(&mut h, "the journal to go", 10, |h| {
        !journal.exists() && !has_label(h, "Interrupted transfers")
    });
    assert!(!fx.path("dest/left.txt").exists());
    // The engine's list, after a restart too.
    drop(h);
    let mut again = app(fx.config());
    ui_support::step_for(&mut again, Duration::from_millis(300));
    assert!(again.state().model().unfinished.is_empty());
}

/// A model fed the events a running job sends.
fn model_with(phase: Phase, verifying: Option<(u64, u64)>) -> Model {
    let mut model = Model::new(Default::default());
    let mut notices = Notices::default();
    let id = JobId::random();
    let spec = JobSpec::copy(vec!["/src/movie.mkv".into()], "/dest");
    model.apply(Event::Queued { id, spec }, &mut notices);
    model.apply(Event::Started { id }, &mut notices);
    model.apply(
        Event::Progress(Progress {
            id,
            bytes_done: 50,
            bytes_total: 100,
            files_done: 0,
            files_total: 1,
            current: Some("/dest/movie.mkv".into()),
            rate: 10.0,
            eta: Some(Duration::from_secs(5)),
            paused: false,
            phase,
            verifying,
        }),
        &mut notices,
    );
    model
}

fn queue_labels(model: Model) -> Harness<'static, Model> {
    let mut h = Harness::builder().with_size([900.0, 300.0]).build_ui_state(
        |ui, model: &mut Model| {
            let mut out = ferry_ui::Outbox::default();
            ferry_ui::transfers::queue::queue_ui(ui, model, &mut out);
        },
        model,
    );
    h.run();
    h
}

#[test]
fn each_phase_is_shown_in_words_and_verifying_has_its_own_bar() {
    let h = queue_labels(model_with(Phase::Copying, None));
    assert!(h.query_by_label("Copying").is_some());
    let h = queue_labels(model_with(Phase::Flushing, None));
    assert!(h.query_by_label("Flushing to disk").is_some());
    let h = queue_labels(model_with(Phase::Asking, None));
    assert!(h.query_all_by_label("Waiting for your answer").count() >= 1);
    let h = queue_labels(model_with(Phase::Verifying, Some((25, 100))));
    assert!(h.query_by_label("Verifying").is_some());
    let bars: Vec<f64> = h
        .query_all_by_role(egui::accesskit::Role::ProgressIndicator)
        .filter_map(|n| n.accesskit_node().numeric_value())
        .collect();
    assert_eq!(bars.len(), 2, "{bars:?}");
    assert!(bars.iter().any(|v| (*v - 25.0).abs() < 0.5), "{bars:?}");
}

#[cfg(feature = "fault-injection")]
fn titles(h: &App) -> Vec<String> {
    h.output()
        .viewport_output
        .get(&egui::ViewportId::ROOT)
        .map(|v| {
            v.commands
                .iter()
                .filter_map(|c| match c {
                    egui::ViewportCommand::Title(t) => Some(t.clone()),
                    _ => None,
                })
                .collect()
        })
        .unwrap_or_default()
}

#[cfg(feature = "fault-injection")]
#[test]
fn a_running_job_shows_copying_the_title_shows_progress_and_a_waiting_job_says_for_what() {
    let fx = fixture();
    let big = fx.path("src/big.bin");
    write(&big, 24 << 20);
    let small = fx.path("src/small.bin");
    write(&small, 10);
    let mut config = fx.config();
    config.settings.transfer.workers = 1;
    let mut h = app(config);
    start(&mut h, &[big], &fx.path("dest"));
    step_until(&mut h, "Copying", 20, |h| {
        has_label(h, "Copying") && has_label(h, "Running")
    });
    // The second job waits for the first.
    start(&mut h, &[small], &fx.path("dest"));
    step_until(&mut h, "the waiting job", 10, |h| {
        has_label(h, "Waiting for big.bin to finish")
    });
    assert!(!has_label(&h, "0 B / 0 B"));
    let mut seen = Vec::new();
    step_until(&mut h, "a percentage in the title", 30, |h| {
        seen.extend(titles(h));
        seen.iter()
            .any(|t| t.ends_with("% · Ferry") && t != "0% · Ferry")
    });
    step_until(
        &mut h,
        "both jobs to end and the title to be Ferry again",
        90,
        |h| {
            seen.extend(titles(h));
            h.state().model().jobs.is_empty() && seen.last().map(String::as_str) == Some("Ferry")
        },
    );
}

#[test]
fn a_job_ending_while_the_window_is_unfocused_notifies_and_not_while_focused() {
    let fx = fixture();
    let a = fx.path("src/a.txt");
    write(&a, 10);
    let (mut h, desktop) = app_with_desktop(&fx);
    start(&mut h, std::slice::from_ref(&a), &fx.path("dest"));
    wait_idle(&mut h, "the first copy");
    assert!(desktop.notified.lock().unwrap().is_empty());

    let b = fx.path("src/b.txt");
    write(&b, 10);
    start(&mut h, &[b], &fx.path("dest"));
    h.input_mut().focused = false;
    step_until(&mut h, "the second copy", 30, |h| {
        h.state().model().jobs.is_empty() && h.state().model().history.len() == 2
    });
    let notified = desktop.notified.lock().unwrap().clone();
    assert_eq!(notified.len(), 1, "{notified:?}");
    assert_eq!(notified[0].0, "b.txt: completed");
}

#[test]
fn copy_or_move_goes_back_to_copy_after_a_job_unless_kept() {
    let fx = fixture();
    let mut h = app(fx.config());
    for (name, pinned) in [("m1.txt", false), ("m2.txt", true), ("m3.txt", true)] {
        let src = fx.path("src").join(name);
        write(&src, 5);
        drop_files(&mut h, &[src]);
        click(&mut h, "Move");
        if pinned != h.state().new_job().kind_pinned {
            click(&mut h, "Keep for next transfers");
        }
        set_text(&mut h, "Destination:", fx.path("dest").to_str().unwrap());
        wait_checked(&mut h);
        click(&mut h, "Start move");
        let before = h.state().model().history.len();
        step_until(&mut h, "the move", 30, |h| {
            h.state().model().history.len() > before && h.state().model().jobs.is_empty()
        });
        h.step();
        let kind = h.state().new_job().kind;
        assert_eq!(
            kind == ferry_engine::TransferKind::Move,
            pinned,
            "{name}: {kind:?}"
        );
    }
    assert_eq!(names(&fx.path("dest")), ["m1.txt", "m2.txt", "m3.txt"]);
}

#[test]
fn save_checksums_writes_a_manifest_and_verify_reports_it() {
    let fx = fixture();
    let a = fx.path("src/a.txt");
    let b = fx.path("src/b.txt");
    write(&a, 100);
    write(&b, 200);
    let mut h = app(fx.config());
    drop_files(&mut h, &[a, b]);
    set_text(&mut h, "Destination:", fx.path("dest").to_str().unwrap());
    click(&mut h, "Save checksums");
    wait_checked(&mut h);
    let manifest = fx.path("dest/a.txt and 1 more.b3");
    assert!(has_label(
        &h,
        &format!("Checksums go to {}", manifest.display())
    ));
    click(&mut h, "Start copy");
    wait_idle(&mut h, "the copy");
    let text = fs::read_to_string(&manifest).unwrap();
    assert_eq!(text.lines().count(), 2, "{text}");
    assert!(text.contains("  a.txt"), "{text}");

    click(&mut h, "Verify");
    step_until(&mut h, "the verification", 20, |h| {
        has_label(h, "Verified: 2 files intact")
    });
    // A changed copy is found.
    fs::write(fx.path("dest/b.txt"), b"changed").unwrap();
    click(&mut h, "Verify");
    step_until(&mut h, "the second verification", 20, |h| {
        has_label(h, "Verified: 1 intact · 1 changed · 0 missing")
    });
    assert!(has_label(&h, "changed  "));
}

#[test]
fn the_timer_switch_installs_and_removes_the_timer() {
    use ferry_engine::{Schedule, TimerHost, TimerPlace};

    let fx = fixture();
    let home = fx.path("home");
    fs::create_dir(&home).unwrap();
    let program = fx.path("ferry-program");
    fs::write(&program, b"#!/bin/sh\n").unwrap();
    let place = TimerPlace {
        home: home.clone(),
        config_home: Some(home.join("config")),
        ferry_config_dir: fx.path("config"),
    };
    let host = TimerHost {
        place: place.clone(),
        program,
        env: vec![],
    };

    // Without a schedule the switch cannot be turned on, and says why.
    let mut h = app(fx.config().with_timer(Some(host.clone())));
    click(&mut h, "Settings");
    step_until(&mut h, "the timer's status", 10, |h| {
        h.state().model().timer.is_some()
    });
    assert!(has_label(&h, "Needs a schedule"));
    assert!(!enabled(&h, "Sweep on schedule while Ferry is closed"));
    assert!(has_label(&h, "Not installed"));
    drop(h);

    let mut config = fx.config().with_timer(Some(host));
    config.settings.sweep.schedule = Schedule::Every(Duration::from_secs(6 * 3600));
    let mut h = app(config);
    click(&mut h, "Settings");
    step_until(&mut h, "the timer's status", 10, |h| {
        h.state().model().timer.is_some() && !h.state().model().timer_pending
    });
    assert!(enabled(&h, "Sweep on schedule while Ferry is closed"));
    h.check_accessibility();
    click(&mut h, "Sweep on schedule while Ferry is closed");
    step_until(&mut h, "the timer to be installed", 30, |h| {
        !h.state().model().timer_pending && has_label(h, "Installed (")
    });
    for file in place.files() {
        assert!(file.exists(), "{} missing", file.display());
    }
    assert!(has_label(&h, "No scheduled sweep has run yet."));
    click(&mut h, "Sweep on schedule while Ferry is closed");
    step_until(&mut h, "the timer to be removed", 30, |h| {
        !h.state().model().timer_pending && has_label(h, "Not installed")
    });
    for file in place.files() {
        assert!(!file.exists(), "{} still there", file.display());
    }
}

#[test]
fn the_form_fits_800_by_600() {
    let fx = fixture();
    let mut h = harness(fx.config(), [800.0, 600.0]);
    h.step();
    let a = fx.path("src/a.txt");
    write(&a, 10);
    drop_files(&mut h, &[a]);
    set_text(&mut h, "Destination:", fx.path("dest").to_str().unwrap());
    wait_checked(&mut h);
    for label in ["Destination…", "Start copy", "Save checksums", "Add files…"] {
        assert!(within_width(&h, label, 800.0), "{label} is cut off");
    }
}

#[test]
fn a_queued_job_leaves_the_form_and_a_refused_one_comes_back_as_it_was() {
    let fx = fixture();
    // Job A waits for an answer, holding the only worker.
    let x = fx.path("src/x.txt");
    write(&x, 2);
    write(&fx.path("dest/x.txt"), 4);
    let mut config = fx.config();
    config.settings.transfer.workers = 1;
    let mut h = app(config);
    start(&mut h, &[x], &fx.path("dest"));
    step_until(&mut h, "A's question", 20, |h| {
        !h.state().model().conflicts.is_empty()
    });

    // Job B moves y.txt; it waits behind A, and y.txt leaves the form at
    // once: it cannot be started a second time.
    let y = fx.path("src/y.txt");
    write(&y, 2);
    drop_files(&mut h, std::slice::from_ref(&y));
    click(&mut h, "Move");
    wait_checked(&mut h);
    step_until(&mut h, "Start move", 10, |h| enabled(h, "Start move"));
    click(&mut h, "Start move");
    step_until(&mut h, "B in the queue", 10, |h| {
        h.state().model().jobs.len() == 2
    });
    h.step();
    assert!(
        h.state().new_job().sources.is_empty(),
        "{:?}",
        h.state().new_job().sources
    );
    assert_eq!(h.state().new_job().kind, ferry_engine::TransferKind::Copy);
    assert!(!enabled(&h, "Start copy"));
    assert!(has_label(&h, "Waiting for x.txt to finish"));

    // Job C (a folder moved into itself, with Verify) is refused only when
    // its turn comes; meanwhile another item and destination are entered.
    let folder = fx.path("src/album");
    fs::create_dir_all(folder.join("inside")).unwrap();
    write(&folder.join("a.jpg"), 10);
    let inside = folder.join("inside");
    drop_files(&mut h, std::slice::from_ref(&folder));
    set_text(&mut h, "Destination:", inside.to_str().unwrap());
    click(&mut h, "Move");
    click(&mut h, "Verify copies");
    wait_checked(&mut h);
    step_until(&mut h, "Start move", 10, |h| enabled(h, "Start move"));
    click(&mut h, "Start move");
    step_until(&mut h, "C in the queue", 10, |h| {
        h.state().model().jobs.len() == 3
    });
    h.step();
    assert!(h.state().new_job().sources.is_empty());
    let m1 = fx.path("src/m1.txt");
    write(&m1, 3);
    drop_files(&mut h, std::slice::from_ref(&m1));
    set_text(&mut h, "Destination:", fx.path("dest").to_str().unwrap());

    // Answer A: B moves y.txt, C is refused and its form comes back.
    click(&mut h, "Skip");
    step_until(&mut h, "C's refusal", 30, |h| {
        has_label(h, "Not started; nothing was written")
    });
    let job = h.state().new_job();
    assert_eq!(job.sources, [folder.clone(), m1.clone()]);
    assert_eq!(job.kind, ferry_engine::TransferKind::Move);
    assert!(job.verify);
    assert_eq!(h.state().view().destination, inside.display().to_string());
    step_until(&mut h, "B to end", 30, |h| {
        h.state().model().jobs.is_empty()
    });
    assert!(!y.exists());
    assert!(fx.path("dest/y.txt").exists());
    assert!(folder.join("a.jpg").exists());
}

#[test]
fn a_missing_item_put_back_is_found_again_by_itself_or_when_dropped_again() {
    let fx = fixture();
    let a = fx.path("src/a.txt");
    let b = fx.path("src/b.txt");
    let mut h = app(fx.config());
    drop_files(&mut h, &[a.clone(), b.clone()]);
    set_text(&mut h, "Destination:", fx.path("dest").to_str().unwrap());
    wait_checked(&mut h);
    assert_eq!(count_labels(&h, "missing: it is not there"), 2);
    assert!(!enabled(&h, "Start copy"));

    // Put back and dropped again: checked again at once (well before the
    // periodic check).
    write(&a, 100);
    let dropped = std::time::Instant::now();
    drop_files(&mut h, std::slice::from_ref(&a));
    step_until(&mut h, "a.txt found again", 5, |h| {
        h.state().model().sources_checked.get(&a)
            == Some(&ferry_engine::SourceState::File { size: 100 })
    });
    assert!(
        dropped.elapsed() < Duration::from_secs_f64(ferry_ui::transfers::form::RECHECK_EVERY),
        "found only by the periodic check"
    );
    assert_eq!(h.state().new_job().sources, [a.clone(), b.clone()]);
    assert_eq!(count_labels(&h, "missing: it is not there"), 1);

    // Put back without any action: the mark goes by itself.
    write(&b, 50);
    step_until(&mut h, "b.txt found again", 10, |h| {
        has_label(h, "file, 50 B") && enabled(h, "Start copy")
    });
    assert!(!has_label(&h, "missing"));
}

#[test]
fn files_left_because_they_exist_are_told_in_the_windows_words() {
    let fx = fixture();
    let mut sources = Vec::new();
    for i in 0..3 {
        let name = format!("w{i}.txt");
        fs::write(fx.path("src").join(&name), "new").unwrap();
        fs::write(fx.path("dest").join(&name), "old").unwrap();
        sources.push(fx.path("src").join(&name));
    }
    let mut config = fx.config();
    config.settings.transfer.conflict = ConflictPolicy::Fail;
    let mut h = app(config);
    start(&mut h, &sources, &fx.path("dest"));
    wait_idle(&mut h, "the job");
    h.step();
    assert!(has_label(
        &h,
        "3 files already exist at the destination (left as they were)"
    ));
    assert!(has_label(
        &h,
        "retry with \"Replace\", \"Skip\" or \"Keep both\""
    ));
    // No command-line words: neither in the history nor in the notice.
    for cli in ["conflict policy", "overwrite, skip", "'fail'"] {
        assert!(!has_label(&h, cli), "{cli} shown");
        let notices: Vec<String> = h
            .state()
            .notices()
            .items()
            .iter()
            .map(|n| n.text.clone())
            .collect();
        assert!(notices.iter().all(|n| !n.contains(cli)), "{notices:?}");
    }
    assert!(
        h.state().notices().items().iter().any(|n| n
            .text
            .contains("already exists at the destination and was left as it was")),
        "{:?}",
        h.state().notices().items()
    );
}

/// Whether every widget named `label` lies within `width`.
#[track_caller]
fn all_within(h: &App, label: &str, width: f32) {
    let rects: Vec<egui::Rect> = h.query_all_by_label(label).map(|n| n.rect()).collect();
    assert!(!rects.is_empty(), "no widget named {label}");
    for rect in rects {
        assert!(
            rect.min.x >= 0.0 && rect.max.x <= width,
            "{label} is cut off: {rect:?}"
        );
    }
}

#[test]
fn long_names_and_paths_never_push_widgets_off_an_800_by_600_window() {
    let fx = fixture();
    let deep = fx
        .path("src")
        .join("holiday-photos-from-the-long-summer-of-two-thousand-and-twenty-four")
        .join("edited-and-exported-for-the-family-album-second-attempt-final");
    fs::create_dir_all(&deep).unwrap();
    let name = "a_really_long_file_name_for_testing_the_conflict_panel_layout_at_small_sizes_v2_final_FINAL.jpeg";
    let asked = deep.join(name);
    write(&asked, 300);
    write(&fx.path("dest").join(name), 200);
    let waiting =
        deep.join("another_long_name_that_waits_in_the_list_for_its_turn_to_be_copied.png");
    write(&waiting, 100);

    let mut h = harness(fx.config(), [800.0, 600.0]);
    h.step();
    start(&mut h, std::slice::from_ref(&asked), &fx.path("dest"));
    step_until(&mut h, "the question", 20, |h| {
        !h.state().model().conflicts.is_empty()
    });
    drop_files(&mut h, std::slice::from_ref(&waiting));
    wait_checked(&mut h);
    h.step();

    // The conflict panel: both columns, the answers.
    for label in [
        "Already there",
        "Being copied",
        name,
        "Replace",
        "Skip",
        "Keep both",
        "Do this for all remaining conflicts in this job",
    ] {
        all_within(&h, label, 800.0);
    }
    // The form: the long path's row and what follows it.
    let path = waiting.display().to_string();
    for label in [
        path.as_str(),
        &format!("Remove {path}"),
        "file, 100 B",
        "Clear",
        "Destination…",
        "Start copy",
    ] {
        all_within(&h, label, 800.0);
    }

    click(&mut h, "Replace");
    step_until(&mut h, "the job to end", 30, |h| {
        h.state().model().jobs.is_empty() && !h.state().model().history.is_empty()
    });
    h.step();
    for label in ["Clear history…", "Open destination", "Details"] {
        all_within(&h, label, 800.0);
    }
    h.get_by_label("Details").scroll_to_me();
    h.run_steps(3);
    click(&mut h, "Details");
    let from = asked.display().to_string();
    step_until(&mut h, "the details", 5, |h| has_label(h, &from));
    all_within(&h, &from, 800.0);
}

#[test]
fn files_waiting_for_an_answer_are_not_counted_done_and_a_replaced_one_is_counted_once() {
    let fx = fixture();
    let old = std::time::SystemTime::now() - Duration::from_secs(6 * 365 * 86_400 + 300 * 86_400);
    let mut sources = Vec::new();
    for name in ["q1.txt", "q2.txt"] {
        fs::write(fx.path("src").join(name), vec![1u8; 1000]).unwrap();
        let dest = fx.path("dest").join(name);
        fs::write(&dest, "old").unwrap();
        fs::File::options()
            .write(true)
            .open(&dest)
            .unwrap()
            .set_modified(old)
            .unwrap();
        sources.push(fx.path("src").join(name));
    }
    let fresh = fx.path("src/fresh.txt");
    write(&fresh, 500);
    sources.push(fresh);
    let mut h = app(fx.config());
    start(&mut h, &sources, &fx.path("dest"));
    step_until(&mut h, "both questions, nothing else left", 20, |h| {
        let m = h.state().model();
        m.conflicts.len() == 2
            && m.jobs
                .first()
                .and_then(|j| j.progress.as_ref())
                .is_some_and(|p| {
                    p.phase == ferry_engine::Phase::Asking && p.files_done == p.files_total
                })
    });
    h.step();
    assert!(
        has_label(&h, "1 of 3 files · 2 waiting for your answer"),
        "{:?}",
        h.state().model().jobs[0].progress
    );
    assert!(has_label(&h, "500 B / 2.4 KiB"));
    let bar = h
        .query_all_by_role(egui::accesskit::Role::ProgressIndicator)
        .filter_map(|n| n.accesskit_node().numeric_value())
        .next()
        .unwrap();
    assert!(bar < 50.0, "{bar}");
    // Ages in words.
    assert!(has_label(&h, "(6 years ago)"));
    assert!(!has_label(&h, "months"));

    // One replaced: counted once, the total stays the plan's.
    let planned = h.state().model().jobs[0].planned.unwrap().1;
    click(&mut h, "Replace");
    let mut most = 0;
    step_until(&mut h, "the replaced file to be done", 20, |h| {
        let m = h.state().model();
        let p = m.jobs[0].progress.as_ref().unwrap();
        most = most.max(p.bytes_total);
        m.conflicts.len() == 1 && m.shown(&m.jobs[0]).files_done == 2
    });
    step_for(&mut h, Duration::from_millis(600));
    let m = h.state().model();
    most = most.max(m.jobs[0].progress.as_ref().unwrap().bytes_total);
    assert_eq!(most, planned, "the total grew past the plan");
    assert!(has_label(&h, "2 of 3 files · 1 waiting for your answer"));
    assert!(has_label(&h, "1.5 KiB / 2.4 KiB"));
    click(&mut h, "Skip");
    wait_idle(&mut h, "the job");
}

#[test]
fn a_resumed_job_says_files_already_in_place_not_done_before_the_interruption() {
    let fx = fixture();
    let src = fx.path("src/same.txt");
    write(&src, 300);
    let dest = fx.path("dest/same.txt");
    fs::copy(&src, &dest).unwrap();
    let modified = fs::metadata(&src).unwrap().modified().unwrap();
    fs::File::options()
        .write(true)
        .open(&dest)
        .unwrap()
        .set_modified(modified)
        .unwrap();
    drop(interrupted_copy(&fx, &src));

    let mut h = app(fx.config());
    step_until(&mut h, "the interrupted job", 10, |h| {
        has_label(h, "Interrupted transfers")
    });
    click(&mut h, "Resume");
    wait_idle(&mut h, "the resumed job");
    h.step();
    assert!(has_label(&h, "1 already in place when resumed"));
    assert!(!has_label(&h, "done before the interruption"));
}

#[test]
fn the_leftover_count_follows_a_discard_without_opening_cleanup() {
    use ferry_engine::journal::Record;

    let fx = fixture();
    let src = fx.path("src/left.txt");
    write(&src, 5000);
    let mut journal = interrupted_copy(&fx, &src).0;
    let temp = fx.path("dest").join(ferry_engine::names::temp_name(
        std::ffi::OsStr::new("left.txt"),
        0x1234_5678_9abc_def0,
    ));
    write(&temp, 2000);
    journal
        .append(
            &Record::Temp {
                i: 0,
                path: temp.clone(),
                existed: false,
                file: None,
                source: None,
            },
            true,
        )
        .unwrap();
    drop(journal);

    let mut config = fx.config();
    config.settings.sweep.roots = vec![fx.path("dest")];
    let mut h = app(config);
    step_until(&mut h, "the leftover in the status bar", 10, |h| {
        has_label(h, "1 leftover file (2.0 KiB)") && has_label(h, "Interrupted transfers")
    });
    click(&mut h, "Discard…");
    h.run_steps(2);
    click(&mut h, "Discard it");
    step_until(&mut h, "the temp to go", 10, |_| !temp.exists());
    step_until(&mut h, "the status bar to follow", 10, |h| {
        has_label(h, "No leftover files")
    });
    assert_eq!(h.state().view().tab, ferry_ui::state::Tab::Transfers);
}

#[test]
fn an_entry_retried_successfully_offers_no_retry_and_a_failed_open_says_so() {
    let fx = fixture();
    let mut sources = Vec::new();
    for i in 0..2 {
        let name = format!("r{i}.txt");
        fs::write(fx.path("src").join(&name), "new").unwrap();
        fs::write(fx.path("dest").join(&name), "old").unwrap();
        sources.push(fx.path("src").join(&name));
    }
    let mut config = fx.config();
    config.settings.transfer.conflict = ConflictPolicy::Fail;
    let desktop = Arc::new(RecordingDesktop {
        open_fails: Some("no file manager here".into()),
        ..Default::default()
    });
    let mut h = app(config.with_desktop(desktop.clone()));
    start(&mut h, &sources, &fx.path("dest"));
    wait_idle(&mut h, "the refusals");
    assert!(has_label(&h, "Retry 2 failed files"));
    h.get_by_label("What the retry does when a file exists")
        .click();
    h.run_steps(2);
    h.get_all_by_label("Replace it").last().unwrap().click();
    h.run_steps(2);
    click(&mut h, "Retry 2 failed files");
    step_until(&mut h, "the retry to end", 30, |h| {
        let m = h.state().model();
        m.jobs.is_empty() && m.history.len() == 2
    });
    h.step();
    assert!(!has_label(&h, "Retry 2 failed files"));
    assert!(has_label(&h, "Retried: a later transfer copied them all."));

    // Open destination on a desktop that cannot show folders.
    h.get_all_by_label("Open destination")
        .next()
        .unwrap()
        .click();
    h.run_steps(2);
    let dest = fx.path("dest").display().to_string();
    step_until(&mut h, "the failure notice", 5, |h| {
        h.state().notices().items().iter().any(|n| {
            n.text == format!("Could not open {dest} in a file manager: no file manager here")
        })
    });
}
