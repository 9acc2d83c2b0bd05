//! A panic in a worker never hangs the window: the job shows as failed and
//! closing the window returns at once. (Its own test binary: the injected
//! panic is installed for the whole process.)
#![cfg(feature = "fault-injection")]

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use eframe::egui;
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use ferry_ui::{AppConfig, FerryApp};

#[derive(Debug)]
struct Dropped(PathBuf);

impl egui::DroppedFile for Dropped {
    fn path(&self) -> &Path {
        &self.0
    }

    fn bytes(&self) -> Result<Vec<u8>, String> {
        Err("not read".into())
    }
}

#[test]
fn a_panicking_job_fails_and_the_window_still_quits_promptly() {
    ferry_engine::faults::install(ferry_engine::faults::Faults {
        panic_at: Some("after-temp".into()),
        ..Default::default()
    });
    let dir = tempfile::tempdir().unwrap();
    for sub in ["data", "config", "dest"] {
        fs::create_dir(dir.path().join(sub)).unwrap();
    }
    let src = dir.path().join("photo.jpg");
    fs::write(&src, b"jpeg").unwrap();
    let config = AppConfig::with_dirs(dir.path().join("data"), &dir.path().join("config")).unwrap();
    let mut harness = Harness::builder()
        .with_size([1200.0, 900.0])
        .build_eframe(move |cc| FerryApp::new(cc, config));
    harness.step();
    harness
        .get_by_label("Destination:")
        .set_text_value_accesskit(dir.path().join("dest").to_str().unwrap());
    harness.step();
    harness
        .input_mut()
        .dropped_files
        .push(Arc::new(Dropped(src)));
    harness.step();
    harness.step();
    harness.step();
    harness.get_by_label("Start copy").click();
    let deadline = Instant::now() + Duration::from_secs(30);
    while harness
        .query_all_by_label_contains("internal error")
        .next()
        .is_none()
    {
        assert!(Instant::now() < deadline, "the failure was never shown");
        harness.step();
        std::thread::sleep(Duration::from_millis(15));
    }

    // Quitting: nothing runs, so the window closes without asking, and
    // dropping the app (which shuts the engine down) returns.
    harness
        .input_mut()
        .viewports
        .entry(egui::ViewportId::ROOT)
        .or_default()
        .events
        .push(egui::ViewportEvent::Close);
    harness.step();
    // The harness cannot move to another thread: a watchdog ends the test
    // process if dropping it hangs.
    let (done_tx, done_rx) = crossbeam_channel::bounded::<()>(1);
    std::thread::spawn(move || {
        if done_rx.recv_timeout(Duration::from_secs(20)).is_err() {
            eprintln!("closing the window hung: the engine did not shut down");
            std::process::exit(101);
        }
    });
    let started = Instant::now();
    drop(harness);
    let _ = done_tx.send(());
    assert!(started.elapsed() < Duration::from_secs(20));
}
