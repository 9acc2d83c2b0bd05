//! The desktop app, driven through egui_kittest like a person would: real
//! app state, the real engine on temp folders, real files. Queries go by the
//! labels people read; waits are `step_until` loops with deadlines, since the
//! engine wakes the window whenever something happens.
//!
//! With the `fault-injection` feature, copies are slowed (a delay per
//! chunk of I/O) so a test can pause and cancel mid-file; those tests need
//! it.

mod ui_support;

use std::collections::VecDeque;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use eframe::egui;
use egui_kittest::Harness;
use egui_kittest::kittest::{NodeT, Queryable};
use ferry_engine::Status;
use ferry_ui::dialogs::{Answer, FileDialogs, PickMode};
use ferry_ui::{AppConfig, FerryApp};
use ui_support::{click, drop_files, has_label, set_text, step_until};

/// File dialogs that answer from a script, on the dialog thread, and
/// record what they were asked.
#[derive(Default)]
struct ScriptedDialogs {
    answers: Mutex<VecDeque<Answer>>,
    asked: Mutex<Vec<(PickMode, String)>>,
}

impl ScriptedDialogs {
    fn answering(answers: impl IntoIterator<Item = Answer>) -> Arc<Self> {
        Arc::new(Self {
            answers: Mutex::new(answers.into_iter().collect()),
            asked: Mutex::default(),
        })
    }
}

impl FileDialogs for ScriptedDialogs {
    fn pick(&self, mode: PickMode, title: &str, _start_in: Option<&Path>) -> Answer {
        self.asked.lock().unwrap().push((mode, title.to_string()));
        self.answers
            .lock()
            .unwrap()
            .pop_front()
            .unwrap_or(Answer::Cancelled)
    }
}

/// A temp folder with Ferry's data and config folders, sources and a
/// destination.
struct Fixture {
    dir: tempfile::TempDir,
}

impl Fixture {
    fn new() -> Self {
        slow_copies();
        let dir = tempfile::tempdir().unwrap();
        for sub in ["data", "config", "src", "dest", "sweep"] {
            fs::create_dir(dir.path().join(sub)).unwrap();
        }
        Self { dir }
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    fn config(&self) -> AppConfig {
        AppConfig::with_dirs(self.path("data"), &self.path("config"))
            .unwrap()
            .with_dialogs(ScriptedDialogs::answering([]))
    }
}

/// Every test in this binary asks for the same delay, so the order tests
/// run in does not matter; the first to install it wins.
fn slow_copies() {
    ferry_engine::faults::install(ferry_engine::faults::Faults {
        chunk_delay: Some(std::time::Duration::from_millis(150)),
        ..Default::default()
    });
}

fn harness(config: AppConfig) -> Harness<'static, FerryApp> {
    Harness::builder()
        .with_size([1200.0, 1000.0])
        .build_eframe(move |cc| FerryApp::new(cc, config))
}

fn write_file(path: &Path, len: usize) -> Vec<u8> {
    let data: Vec<u8> = (0..len).map(|i| (i * 7 + i / 4096) as u8).collect();
    fs::write(path, &data).unwrap();
    data
}

/// Names in `dir` (temp files included).
fn names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn dropped_files_are_copied_and_the_job_lands_in_history() {
    let fx = Fixture::new();
    let a = fx.path("src/a.txt");
    let b = fx.path("src/b.bin");
    let a_data = write_file(&a, 3000);
    let b_data = write_file(&b, 200_000);
    let mut harness = harness(fx.config());
    harness.check_accessibility();

    // Dragging over the window shows the hover state.
    harness.input_mut().hovered_files = vec![
        egui::HoveredFile {
            path: Some(a.clone()),
            mime: String::new(),
        },
        egui::HoveredFile {
            path: Some(b.clone()),
            mime: String::new(),
        },
    ];
    harness.step();
    assert!(has_label(&harness, "Drop to add 2 items"));

    drop_files(&mut harness, &[a.clone(), b.clone()]);
    assert!(!has_label(&harness, "Drop to add"));
    assert!(has_label(&harness, "2 items to copy"));
    assert_eq!(
        harness.state().new_job().sources,
        vec![a.clone(), b.clone()]
    );

    let dest = fx.path("dest");
    set_text(&mut harness, "Destination:", dest.to_str().unwrap());
    click(&mut harness, "Start copy");

    // The job shows up (queued or running, or already finished).
    step_until(&mut harness, "the job to appear", 10, |h| {
        let m = h.state().model();
        !m.jobs.is_empty() || !m.history.is_empty()
    });
    step_until(&mut harness, "the job to finish", 30, |h| {
        h.state().model().jobs.is_empty() && has_label(h, "Completed")
    });
    // The history row says what happened, in words.
    assert!(has_label(&harness, "a.txt and 1 more"));
    assert!(has_label(&harness, "2 files (198.2 KiB)"));
    assert_eq!(fs::read(dest.join("a.txt")).unwrap(), a_data);
    assert_eq!(fs::read(dest.join("b.bin")).unwrap(), b_data);
    assert_eq!(names(&dest), ["a.txt", "b.bin"]);
    // The sources were used up by the job; the form is ready for the next.
    assert!(harness.state().new_job().sources.is_empty());
    harness.check_accessibility();
}

#[test]
fn a_failing_job_shows_its_error_in_words_and_per_file() {
    let fx = Fixture::new();
    let a = fx.path("src/report.pdf");
    let b = fx.path("src/notes.txt");
    write_file(&a, 1000);
    write_file(&b, 1000);
    // The destination already has a report.pdf; saved settings that say
    // "fail" (Leave it and report it) refuse it.
    fs::write(fx.path("dest/report.pdf"), b"theirs").unwrap();
    let mut config = fx.config();
    config.settings.transfer.conflict = ferry_engine::ConflictPolicy::Fail;
    let mut harness = harness(config);
    harness.step();
    assert_eq!(
        harness
            .get_by_label("What to do when a file of the same name is already there")
            .value()
            .as_deref(),
        Some("Leave it and report it")
    );

    drop_files(&mut harness, &[a, b]);
    set_text(
        &mut harness,
        "Destination:",
        fx.path("dest").to_str().unwrap(),
    );
    click(&mut harness, "Start copy");
    step_until(&mut harness, "the job to end", 30, |h| {
        !h.state().model().history.is_empty()
    });
    harness.step();

    let summary = &harness.state().model().history[0].summary;
    assert_eq!(summary.failed.len(), 1, "{summary:?}");
    assert!(has_label(&harness, "Completed with errors"));
    // The error, in the window's words, in the history row and in a notice
    // (not the command line's policy names).
    assert!(has_label(
        &harness,
        "a file of that name is already there and was left as it was"
    ));
    assert!(has_label(
        &harness,
        "already exists at the destination and was left as it was"
    ));
    assert!(!has_label(&harness, "conflict policy"));
    // Each failed file can be expanded (failures are grouped by reason).
    click(
        &mut harness,
        "1 file already exists at the destination (left as it was)",
    );
    assert!(has_label(
        &harness,
        &fx.path("dest/report.pdf").display().to_string()
    ));
    assert_eq!(fs::read(fx.path("dest/report.pdf")).unwrap(), b"theirs");
    assert!(fx.path("dest/notes.txt").exists());
    harness.check_accessibility();
}

#[test]
fn file_dialogs_answer_off_the_ui_thread_and_say_when_they_cannot() {
    let fx = Fixture::new();
    let a = fx.path("src/a.txt");
    write_file(&a, 10);
    let dialogs = ScriptedDialogs::answering([
        Answer::Picked(vec![a.clone()]),
        Answer::Picked(vec![fx.path("dest")]),
        Answer::Unavailable("No file dialog can be shown here (test).".into()),
    ]);
    let mut harness = harness(fx.config().with_dialogs(dialogs.clone()));

    click(&mut harness, "Add files…");
    step_until(&mut harness, "the picked file", 5, |h| {
        h.state().new_job().sources == [a.clone()]
    });
    click(&mut harness, "Destination…");
    step_until(&mut harness, "the picked destination", 5, |h| {
        h.state().view().destination == fx.path("dest").display().to_string()
    });
    click(&mut harness, "Add folder…");
    step_until(&mut harness, "the explanation", 5, |h| {
        has_label(h, "No file dialog can be shown here (test).")
    });
    let asked = dialogs.asked.lock().unwrap().clone();
    assert_eq!(
        asked.iter().map(|(mode, _)| *mode).collect::<Vec<_>>(),
        [PickMode::Files, PickMode::Folder, PickMode::Folder]
    );

    // Typed paths still work.
    set_text(
        &mut harness,
        "Add a path:",
        fx.path("src").to_str().unwrap(),
    );
    click(&mut harness, "Add");
    assert_eq!(harness.state().new_job().sources, [a, fx.path("src")]);
}

#[cfg(feature = "fault-injection")]
fn start_slow_copy(fx: &Fixture, harness: &mut Harness<'static, FerryApp>) -> Vec<u8> {
    // 64 MiB at 150 ms a chunk (4 MiB for the kernel copy, 1 MiB for the
    // buffered one): between 2.4 and 9.6 seconds of copying.
    let big = fx.path("src/big.bin");
    let data = write_file(&big, 64 << 20);
    drop_files(harness, &[big]);
    set_text(harness, "Destination:", fx.path("dest").to_str().unwrap());
    click(harness, "Start copy");
    step_until(harness, "bytes to move", 20, |h| {
        h.state()
            .model()
            .jobs
            .first()
            .and_then(|j| j.progress.as_ref())
            .is_some_and(|p| p.bytes_done > 0)
    });
    data
}

#[cfg(feature = "fault-injection")]
fn progress_value(harness: &Harness<'static, FerryApp>) -> f64 {
    use egui::accesskit::Role;
    harness
        .get_by_role(Role::ProgressIndicator)
        .accesskit_node()
        .numeric_value()
        .unwrap_or(0.0)
}

#[cfg(feature = "fault-injection")]
#[test]
fn pause_holds_the_copy_and_resume_finishes_it() {
    let fx = Fixture::new();
    let mut harness = harness(fx.config());
    let data = start_slow_copy(&fx, &mut harness);
    assert!(has_label(&harness, "Running"));
    assert!(has_label(&harness, "Total:"));

    click(&mut harness, "Pause");
    step_until(&mut harness, "the paused state", 10, |h| {
        has_label(h, "Paused") && h.query_by_label("Resume").is_some()
    });
    // Let the job settle on its chunk, then check that nothing moves.
    step_until(&mut harness, "a progress report while paused", 10, |h| {
        h.state().model().jobs[0]
            .progress
            .as_ref()
            .is_some_and(|p| p.paused)
    });
    let held = progress_value(&harness);
    let held_bytes = harness.state().model().jobs[0].progress.clone().unwrap();
    let until = std::time::Instant::now() + Duration::from_millis(800);
    while std::time::Instant::now() < until {
        harness.step();
        std::thread::sleep(Duration::from_millis(20));
    }
    let still = harness.state().model().jobs[0].progress.clone().unwrap();
    assert_eq!(
        still.bytes_done, held_bytes.bytes_done,
        "bytes moved while paused"
    );
    assert_eq!(progress_value(&harness), held);
    assert!(held > 0.0 && held < 100.0, "progress {held}%");

    click(&mut harness, "Resume");
    step_until(&mut harness, "the copy to finish", 60, |h| {
        h.state().model().jobs.is_empty() && has_label(h, "Completed")
    });
    assert_eq!(fs::read(fx.path("dest/big.bin")).unwrap(), data);
    assert_eq!(names(&fx.path("dest")), ["big.bin"]);
}

#[cfg(feature = "fault-injection")]
#[test]
fn cancel_stops_the_copy_and_leaves_no_file_behind() {
    let fx = Fixture::new();
    let mut harness = harness(fx.config());
    start_slow_copy(&fx, &mut harness);

    click(&mut harness, "Cancel");
    step_until(&mut harness, "the cancelled job in history", 20, |h| {
        h.state().model().jobs.is_empty() && has_label(h, "Cancelled")
    });
    // Nothing half-written: no destination file, no temp, no lock.
    assert!(
        names(&fx.path("dest")).is_empty(),
        "{:?}",
        names(&fx.path("dest"))
    );
    assert!(fx.path("src/big.bin").exists());
}

#[test]
fn an_orphan_appears_in_cleanup_and_is_swept_when_selected() {
    let fx = Fixture::new();
    let sweep = fx.path("sweep");
    let orphan = sweep.join(".movie.mkv.0123456789abcdef.ferry-part");
    fs::write(&orphan, vec![1u8; 5000]).unwrap();
    let keep = sweep.join("movie-notes.txt");
    fs::write(&keep, b"kept").unwrap();
    // A temp a live writer holds: listed as active, never selectable.
    let active = sweep.join(".live.bin.fedcba9876543210.ferry-part");
    let held = fs::File::create(&active).unwrap();
    held.lock().unwrap();

    let mut config = fx.config();
    config.settings.sweep.roots = vec![sweep.clone()];
    // The settings file cannot go below a minute; the engine takes what it
    // is given, so the orphan is old enough after a second.
    config.settings.sweep.threshold = Duration::from_secs(1);
    let mut harness = harness(config);

    click(&mut harness, "Cleanup");
    let orphan_name = ".movie.mkv.0123456789abcdef.ferry-part";
    let select = format!("Select {orphan_name}");
    step_until(&mut harness, "the orphan in the table", 20, |h| {
        if h.query_by_label(&select).is_some() {
            return true;
        }
        // Until it is a second old it is young: rescan now and then.
        if !h.state().model().scanning
            && h.state()
                .model()
                .scanned_at
                .is_some_and(|at| at.elapsed() > Duration::from_millis(300))
        {
            h.get_by_label("Rescan").click();
        }
        false
    });
    let scan = harness.state().model().scan.clone().unwrap();
    let status = |name: &str| {
        scan.entries
            .iter()
            .find(|e| e.path.file_name().unwrap() == name)
            .map(|e| e.status)
    };
    assert_eq!(status(orphan_name), Some(Status::Orphan));
    assert_eq!(
        status(".live.bin.fedcba9876543210.ferry-part"),
        Some(Status::Active)
    );
    assert!(has_label(&harness, "Orphan"));
    assert!(has_label(&harness, "Active"));
    assert!(has_label(&harness, "Can be swept: 1 file (4.9 KiB)"));
    // The active row's checkbox is disabled and says why.
    let live =
        harness.get_by_label_contains(".live.bin.fedcba9876543210.ferry-part cannot be selected");
    assert!(live.accesskit_node().is_disabled());
    harness.check_accessibility();

    // Sorting by a column and filtering by status.
    let row_y = |h: &Harness<'static, FerryApp>, name: &str| {
        h.get_by_label_contains(&format!("sweep/{name}"))
            .rect()
            .min
            .y
    };
    let (orphan_row, live_row) = (orphan_name, ".live.bin.fedcba9876543210.ferry-part");
    assert!(row_y(&harness, live_row) < row_y(&harness, orphan_row)); // by path
    click(&mut harness, "Size");
    assert!(row_y(&harness, orphan_row) < row_y(&harness, live_row)); // largest first
    click(&mut harness, "Size");
    assert!(row_y(&harness, live_row) < row_y(&harness, orphan_row)); // smallest first
    click(&mut harness, "Active (1)");
    assert!(!has_label(&harness, live_row));
    click(&mut harness, "Active (1)");
    assert!(has_label(&harness, live_row));

    harness.get_by_label(&select).click();
    harness.step();
    harness.step();
    click(&mut harness, "Sweep selected (1)");
    assert!(has_label(&harness, "Remove 1 file (4.9 KiB)?"));
    click(&mut harness, "Remove 1 file");

    step_until(&mut harness, "the orphan to be swept and gone", 20, |h| {
        let m = h.state().model();
        !m.sweeping
            && !m.scanning
            && m.scan
                .as_ref()
                .is_some_and(|s| s.entries.iter().all(|e| e.path != orphan))
    });
    assert!(!orphan.exists());
    assert!(active.exists(), "an active temp was removed");
    assert!(keep.exists());
    assert!(harness.query_by_label(&select).is_none());
    assert!(has_label(&harness, "Sweep: removed 1 file, freed 4.9 KiB."));
    assert!(has_label(&harness, "Sweep log (1)"));
    drop(held);
}

#[test]
fn a_changed_threshold_is_saved_and_read_back_by_a_new_app() {
    let fx = Fixture::new();
    let mut harness = harness(fx.config());
    click(&mut harness, "Settings");
    harness.check_accessibility();
    assert_eq!(
        harness.get_by_label("Sweep threshold:").value().as_deref(),
        Some("1")
    );
    assert!(has_label(&harness, "All changes are saved."));

    // Invalid input is refused beside the field, and nothing is saved.
    set_text(&mut harness, "Sweep threshold:", "zero");
    assert!(has_label(&harness, "'zero' is not a number"));
    assert!(has_label(&harness, "Fix the marked fields to save."));

    set_text(&mut harness, "Sweep threshold:", "3");
    click(&mut harness, "Threshold unit");
    click(&mut harness, "hours");
    click(&mut harness, "Save settings");
    step_until(&mut harness, "the engine to save the settings", 10, |h| {
        h.state().model().settings.sweep.threshold == Duration::from_secs(3 * 3600)
    });
    assert!(has_label(&harness, "Settings saved."));
    let file = fs::read_to_string(fx.path("config/settings.json")).unwrap();
    assert!(file.contains("\"threshold\": \"3h\""), "{file}");
    drop(harness);

    // A new app instance reads it back.
    let mut again = self::harness(fx.config());
    click(&mut again, "Settings");
    assert_eq!(
        again.get_by_label("Sweep threshold:").value().as_deref(),
        Some("3")
    );
    assert_eq!(
        again.get_by_label("Threshold unit").value().as_deref(),
        Some("hours")
    );
    assert_eq!(
        again.state().model().settings.sweep.threshold,
        Duration::from_secs(3 * 3600)
    );
}

#[cfg(feature = "fault-injection")]
fn close_window(harness: &mut Harness<'static, FerryApp>) -> Vec<egui::ViewportCommand> {
    harness
        .input_mut()
        .viewports
        .entry(egui::ViewportId::ROOT)
        .or_default()
        .events
        .push(egui::ViewportEvent::Close);
    harness.step();
    viewport_commands(harness)
}

#[cfg(feature = "fault-injection")]
fn viewport_commands(harness: &Harness<'static, FerryApp>) -> Vec<egui::ViewportCommand> {
    harness
        .output()
        .viewport_output
        .get(&egui::ViewportId::ROOT)
        .map(|v| v.commands.clone())
        .unwrap_or_default()
}

#[cfg(feature = "fault-injection")]
#[test]
fn closing_with_a_running_job_asks_first() {
    let fx = Fixture::new();
    let mut harness = harness(fx.config());
    start_slow_copy(&fx, &mut harness);

    // The close is held back and the person is asked.
    let commands = close_window(&mut harness);
    assert!(
        commands.contains(&egui::ViewportCommand::CancelClose),
        "{commands:?}"
    );
    step_until(&mut harness, "the question", 5, |h| {
        has_label(h, "Quit Ferry?")
    });
    assert!(has_label(&harness, "1 transfer is still running"));
    // A new window takes a frame to settle before it takes clicks.
    harness.run_steps(2);
    click(&mut harness, "Keep running");
    assert!(!has_label(&harness, "Quit Ferry?"));
    assert_eq!(harness.state().model().jobs.len(), 1);

    // Asked again, "Quit" lets the window close.
    close_window(&mut harness);
    step_until(&mut harness, "the question again", 5, |h| {
        has_label(h, "Quit Ferry?")
    });
    harness.run_steps(2);
    harness.get_by_label("Quit").click();
    harness.step();
    let commands = viewport_commands(&harness);
    assert!(
        commands.contains(&egui::ViewportCommand::Close),
        "{commands:?}"
    );
}

#[test]
fn an_interrupted_job_is_offered_and_its_warning_goes_once_it_is_resumed() {
    use ferry_engine::{JobId, JobSpec, journal::Journal, plan::plan_job};

    let fx = Fixture::new();
    let src = fx.path("src/left.txt");
    let data = write_file(&src, 5000);
    // A journal whose process died before writing anything: unlocked, plan
    // on disk, nothing done.
    let spec = JobSpec::copy(vec![src.clone()], fx.path("dest"));
    let plan = plan_job(&spec).unwrap();
    drop(Journal::create(&fx.path("data"), JobId::random(), &spec, &plan).unwrap());

    let mut harness = harness(fx.config());
    step_until(&mut harness, "the interrupted job to be offered", 10, |h| {
        has_label(h, "stopped before finishing")
    });
    click(&mut harness, "Resume");
    step_until(
        &mut harness,
        "the resumed copy and the warning to go",
        20,
        |h| fx.path("dest/left.txt").exists() && !has_label(h, "stopped before finishing"),
    );
    assert_eq!(fs::read(fx.path("dest/left.txt")).unwrap(), data);
}
