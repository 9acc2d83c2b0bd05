//! How long the window's frames take while the engine copies 10,000 small
//! files (issue 6: the app's per-frame CPU time must stay under 16 ms).
//!
//! Drives the real app through egui_kittest (no display needed): drops a
//! folder of 10,000 files, starts the copy, and times every frame until the
//! job is in the history; then copies the same tree again under the `fail`
//! policy so that 10,000 failures sit in the history, and times frames
//! again. Prints medians, the 99th percentile and the worst frame.
//!
//! With `FERRY_FRAME_TREE` set to a folder (e.g. a million files made by
//! `scripts/bench.sh million`), a third round copies that folder and times
//! the frames while the window shows a job of that size.
//!
//! `cargo bench --bench frame_time`
//! `FERRY_FRAME_TREE=/path/to/million cargo bench --bench frame_time`

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
        fs::read(&self.0).map_err(|e| e.to_string())
    }
}

fn make_tree(root: &Path) {
    for d in 0..100 {
        let dir = root.join(format!("d{d:03}"));
        fs::create_dir_all(&dir).unwrap();
        for f in 0..100 {
            fs::write(dir.join(format!("f{f:03}")), [d as u8; 4096]).unwrap();
        }
    }
}

/// Steps frames until the history holds `jobs` jobs (and a further second),
/// returning each frame's duration.
fn frames_until(
    harness: &mut Harness<'static, FerryApp>,
    jobs: usize,
    limit: Duration,
) -> Vec<Duration> {
    let mut frames = Vec::new();
    let deadline = Instant::now() + limit;
    let mut settled: Option<Instant> = None;
    while Instant::now() < deadline {
        let started = Instant::now();
        harness.step();
        frames.push(started.elapsed());
        if settled.is_none() && harness.state().model().history.len() >= jobs {
            settled = Some(Instant::now());
        }
        if settled.is_some_and(|t| t.elapsed() > Duration::from_secs(1)) {
            return frames;
        }
        // A display refreshes at 60 Hz: step about that often.
        std::thread::sleep(Duration::from_millis(16));
    }
    panic!("the copy did not finish in {limit:?}");
}

fn report(what: &str, frames: &mut [Duration]) {
    frames.sort();
    let at = |q: f64| frames[((frames.len() - 1) as f64 * q) as usize];
    println!(
        "{what}: {} frames · median {:.2?} · p99 {:.2?} · worst {:.2?}",
        frames.len(),
        at(0.5),
        at(0.99),
        frames[frames.len() - 1]
    );
}

fn main() {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("tree");
    make_tree(&src);
    let dest = tmp.path().join("dest");
    fs::create_dir(&dest).unwrap();
    let mut config =
        AppConfig::with_dirs(tmp.path().join("data"), &tmp.path().join("config")).unwrap();
    // The second round's 10,000 conflicts fail rather than wait for answers.
    config.settings.transfer.conflict = ferry_engine::ConflictPolicy::Fail;
    let mut harness = Harness::builder()
        .with_size([1200.0, 900.0])
        .build_eframe(move |cc| FerryApp::new(cc, config));

    let minutes = |m: u64| Duration::from_secs(60 * m);
    let mut rounds = vec![
        (
            src.clone(),
            dest.clone(),
            "copying 10,000 files".to_owned(),
            minutes(2),
        ),
        (
            src,
            dest,
            "10,000 failures in the history".to_owned(),
            minutes(2),
        ),
    ];
    if let Some(big) = std::env::var_os("FERRY_FRAME_TREE").map(PathBuf::from) {
        let big_dest = tmp.path().join("big");
        fs::create_dir(&big_dest).unwrap();
        let label = format!("copying {}", big.display());
        rounds.push((big, big_dest, label, minutes(30)));
    }
    for (round, (from, to, label, limit)) in rounds.into_iter().enumerate() {
        let input = harness.input_mut();
        input.hovered_files.clear();
        input.dropped_files.push(Arc::new(Dropped(from)));
        harness.step();
        harness
            .get_by_label("Destination:")
            .set_text_value_accesskit(to.to_str().unwrap());
        harness.step();
        harness.get_by_label("Start copy").click();
        let mut frames = frames_until(&mut harness, round + 1, limit);
        report(&label, &mut frames);
    }
}
