//! Settings through the engine's public API: round trip, defaults,
//! validation, corrupt files kept aside.

use std::fs;
use std::path::PathBuf;
use std::time::Duration;

use ferry_engine::{ConflictPolicy, ForeignPattern, Schedule, Settings};

fn custom() -> Settings {
    let mut s = Settings::default();
    s.sweep.threshold = Duration::from_secs(90 * 60);
    s.sweep.schedule = Schedule::Every(Duration::from_secs(6 * 3600));
    // Sweep folders must exist to be saved.
    s.sweep.roots = vec![
        PathBuf::from(env!("CARGO_MANIFEST_DIR")),
        std::env::temp_dir(),
    ];
    s.sweep.foreign_patterns = vec![ForeignPattern::Rclone, ForeignPattern::Crdownload];
    s.transfer.conflict = ConflictPolicy::Rename;
    s.transfer.verify = true;
    s.transfer.all_or_nothing = true;
    s.transfer.workers = 8;
    s
}

#[test]
fn settings_round_trip_through_an_atomic_write() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nested/settings.json");
    let s = custom();
    s.save_to(&path).unwrap();
    assert_eq!(Settings::load_from(&path).unwrap(), (s.clone(), vec![]));
    let names: Vec<_> = fs::read_dir(path.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, ["settings.json"], "a temp or lock was left");

    let doc: serde_json::Value = serde_json::from_slice(&fs::read(&path).unwrap()).unwrap();
    assert_eq!(doc["sweep"]["threshold"], "1h 30m");
    assert_eq!(doc["sweep"]["schedule"], "every 6h");
    assert_eq!(
        doc["sweep"]["foreign_patterns"],
        serde_json::json!(["rclone", "crdownload"])
    );
    assert_eq!(doc["transfer"]["conflict"], "rename");
    assert_eq!(doc["transfer"]["workers"], 8);

    let mut changed = s;
    changed.sweep.schedule = Schedule::Off;
    changed.save_to(&path).unwrap();
    assert_eq!(Settings::load_from(&path).unwrap().0, changed);
}

#[test]
fn missing_files_and_fields_take_the_defaults() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("settings.json");
    let (s, warnings) = Settings::load_from(&path).unwrap();
    assert_eq!(s, Settings::default());
    assert!(warnings.is_empty());
    assert_eq!(s.sweep.threshold, Duration::from_secs(86400));
    assert_eq!(s.sweep.schedule, Schedule::Off);
    assert_eq!(s.transfer.conflict, ConflictPolicy::Fail);
    assert!(s.transfer.workers >= 1);

    fs::write(&path, r#"{"sweep":{"threshold":"2h"},"unknown":1}"#).unwrap();
    let (s, warnings) = Settings::load_from(&path).unwrap();
    assert!(warnings.is_empty());
    assert_eq!(s.sweep.threshold, Duration::from_secs(7200));
    assert_eq!(s.transfer, Settings::default().transfer);
}

#[test]
fn invalid_values_are_refused_with_clear_messages() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("settings.json");
    custom().save_to(&path).unwrap();
    let before = fs::read(&path).unwrap();

    let mut bad = custom();
    bad.sweep.threshold = Duration::from_secs(10);
    bad.sweep.schedule = Schedule::Every(Duration::from_secs(5));
    bad.sweep.roots.push(PathBuf::from("relative/folder"));
    bad.transfer.workers = 0;
    let problems = bad.validate().unwrap_err().problems;
    assert_eq!(problems.len(), 4, "{problems:#?}");
    let text = problems.join("\n");
    for expected in [
        "threshold must be at least 1m",
        "at least 1m",
        "absolute",
        "workers",
    ] {
        assert!(text.contains(expected), "{expected}: {text}");
    }
    let err = bad.save_to(&path).unwrap_err();
    assert_eq!(err.kind(), ferry_engine::ErrorKind::InvalidInput);
    assert!(err.to_string().contains("were not saved"), "{err}");
    assert_eq!(
        fs::read(&path).unwrap(),
        before,
        "a refused save changed the file"
    );
}

#[test]
fn a_corrupt_file_is_kept_aside_and_the_defaults_are_used() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("settings.json");
    for (n, content) in [
        "{ this is not json".as_bytes(),
        br#"{"sweep":{"threshold":"soonish"}}"#,
        br#"{"sweep":{"threshold":"5s"}}"#,
    ]
    .into_iter()
    .enumerate()
    {
        fs::write(&path, content).unwrap();
        let (s, warnings) = Settings::load_from(&path).unwrap();
        assert_eq!(s, Settings::default());
        assert_eq!(warnings.len(), 1);
        assert!(warnings[0].contains("could not be used"), "{}", warnings[0]);
        assert!(!path.exists(), "the corrupt file is still in the way");
        let kept: Vec<PathBuf> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        assert_eq!(kept.len(), n + 1);
        let newest = kept
            .iter()
            .find(|p| fs::read(p).unwrap() == content)
            .expect("the corrupt content is kept");
        let name = newest.file_name().unwrap().to_str().unwrap();
        let stamp = name.strip_prefix("settings.json.corrupt-").unwrap();
        assert!(stamp.len() >= 15 && stamp.as_bytes()[8] == b'T', "{name}");
        assert!(warnings[0].contains(name), "{}", warnings[0]);
    }
    // Saving again works, and the next load is clean.
    custom().save_to(&path).unwrap();
    assert_eq!(Settings::load_from(&path).unwrap(), (custom(), vec![]));
}

/// Sweep folders must exist as folders: one problem per folder, in words,
/// and nothing is saved. A folder that goes missing after it was saved (an
/// unplugged drive) does not make the settings file unusable.
#[test]
fn sweep_roots_must_be_existing_folders() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("settings.json");
    let file = dir.path().join("a-file.txt");
    fs::write(&file, b"not a folder").unwrap();
    let present = dir.path().join("present");
    fs::create_dir(&present).unwrap();
    let mut s = Settings::default();
    s.sweep.roots = vec![
        dir.path().join("missing-one"),
        present.clone(),
        dir.path().join("missing-two"),
        file.clone(),
    ];
    let problems = s.validate().unwrap_err().problems;
    assert_eq!(problems.len(), 3, "{problems:#?}");
    assert!(problems[0].contains("missing-one") && problems[0].contains("does not exist"));
    assert!(problems[1].contains("missing-two") && problems[1].contains("does not exist"));
    assert!(problems[2].contains("a-file.txt") && problems[2].contains("not a folder"));
    assert!(s.save_to(&path).is_err());
    assert!(!path.exists(), "refused settings were saved");

    s.sweep.roots = vec![present.clone()];
    s.save_to(&path).unwrap();
    fs::remove_dir(&present).unwrap();
    let (loaded, warnings) = Settings::load_from(&path).unwrap();
    assert_eq!(loaded, s, "{warnings:?}");
    assert!(path.exists(), "the settings were set aside");
}
