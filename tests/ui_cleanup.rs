//! The Cleanup and Settings tabs as people leave them running, driven
//! through egui_kittest on the real app and engine with real files: consent
//! for other tools' files, the confirmation's list, schedules that never
//! sweep on save, the engine's refusals beside their fields, and a table
//! that fits an 800×600 window.

mod ui_support;

use std::fs;
use std::time::Duration;

use eframe::egui;
use egui_kittest::kittest::{NodeT, Queryable};
use ferry_engine::{ForeignPattern, Schedule, Status};

use ui_support::*;

const ORPHAN: &str = ".movie.mkv.0123456789abcdef.ferry-part";
const THEIRS: &str = "ubuntu.iso.part";
const NOT_ENABLED: &str = "photo.jpg.crdownload";
const BACKUP: &str = ".notes.txt.1122334455667788.ferry-backup";

fn removable(h: &App, name: &str) -> bool {
    h.state().model().scan.as_ref().is_some_and(|s| {
        s.entries
            .iter()
            .any(|e| e.path.file_name().unwrap() == name && e.removable())
    })
}

/// The window at `size` on its Cleanup tab, once a scan found `entries`.
fn cleanup_scanned(config: ferry_ui::AppConfig, size: [f32; 2], entries: usize) -> App {
    let mut h = harness(config, size);
    click(&mut h, "Cleanup");
    step_until(&mut h, "the scan", 20, |h| {
        h.state()
            .model()
            .scan
            .as_ref()
            .is_some_and(|s| s.entries.len() == entries)
    });
    h.run_steps(2);
    h
}

fn gone(h: &App, name: &str) -> bool {
    let m = h.state().model();
    !m.sweeping
        && !m.scanning
        && m.scan.as_ref().is_some_and(|s| {
            s.entries
                .iter()
                .all(|e| e.path.file_name().unwrap() != name)
        })
}

#[test]
fn other_tools_files_go_only_with_their_own_button_after_the_list() {
    let fx = Fixture::new();
    let sweep = fx.path("sweep");
    write(&sweep.join(ORPHAN), 5000);
    write(&sweep.join(THEIRS), 3000);
    write(&sweep.join(NOT_ENABLED), 1000);
    write(&sweep.join(BACKUP), 200);
    let mut config = fx.quick_config();
    config.settings.sweep.foreign_patterns = vec![ForeignPattern::Part];
    config.settings.sweep.foreign_min_age = Duration::from_secs(1);
    let mut h = harness(config, WINDOW);
    click(&mut h, "Cleanup");
    rescan_until(&mut h, "the orphan and the .part to be old enough", |h| {
        removable(h, ORPHAN) && removable(h, THEIRS)
    });
    h.step();
    h.check_accessibility();

    // The backup is listed, as a backup, and can never be selected.
    assert!(has_label(&h, "Backup (1)"));
    let backup_label = format!("{BACKUP} cannot be selected");
    let backup = h.get_by_label_contains(&backup_label);
    assert!(backup.accesskit_node().is_disabled());
    assert!(
        backup
            .accesskit_node()
            .label()
            .unwrap()
            .contains("backup of a replaced file")
    );
    // The disabled pattern's file says why, in the engine's words.
    let not_enabled_label = format!("{NOT_ENABLED} cannot be selected");
    let not_enabled = h.get_by_label_contains(&not_enabled_label);
    assert!(
        not_enabled
            .accesskit_node()
            .label()
            .unwrap()
            .contains("enable the 'crdownload' pattern")
    );
    assert!(has_label(&h, "Can be swept: 2 files (7.8 KiB)"));

    // Ferry's orphans: the list has the orphan and nothing of other tools.
    let orphan_path = sweep.join(ORPHAN).display().to_string();
    let theirs_path = sweep.join(THEIRS).display().to_string();
    assert_eq!(count_labels(&h, &orphan_path), 1);
    let listed = |h: &App, path: &str| has_label(h, &format!("Will remove {path} ("));
    click(&mut h, "Sweep Ferry's orphans (1)");
    h.run_steps(2);
    assert!(has_label(&h, "Remove 1 file (4.9 KiB)?"));
    assert!(
        listed(&h, &orphan_path),
        "the list does not name the orphan"
    );
    assert!(!listed(&h, &theirs_path), "Ferry's orphans include theirs");
    assert!(!has_label(&h, "not written by Ferry"));
    click(&mut h, "Remove 1 file");
    step_until(&mut h, "the orphan to go", 20, |h| gone(h, ORPHAN));
    assert!(!sweep.join(ORPHAN).exists());
    assert!(sweep.join(THEIRS).exists(), "Ferry's button swept theirs");
    assert!(sweep.join(NOT_ENABLED).exists());
    assert!(sweep.join(BACKUP).exists());

    // Other tools' files: their own button, and a plain warning.
    rescan_until(&mut h, "theirs still removable", |h| removable(h, THEIRS));
    click(&mut h, "Sweep other tools' files (1)");
    h.run_steps(2);
    assert!(has_label(&h, "Remove 1 file (2.9 KiB)?"));
    assert!(has_label(&h, "1 of these files was not written by Ferry"));
    assert!(has_label(&h, "KIO/Firefox"));
    assert!(listed(&h, &theirs_path));
    assert!(!listed(&h, &sweep.join(NOT_ENABLED).display().to_string()));
    click(&mut h, "Remove 1 file");
    step_until(&mut h, "theirs to go", 20, |h| gone(h, THEIRS));
    assert!(!sweep.join(THEIRS).exists());
    assert!(
        sweep.join(NOT_ENABLED).exists(),
        "a disabled pattern was swept"
    );
    assert!(sweep.join(BACKUP).exists(), "a backup was swept");
}

#[test]
fn the_confirmation_lists_every_file_with_size_and_age_before_anything_goes() {
    let fx = Fixture::new();
    let sweep = fx.path("sweep");
    let names: Vec<String> = (0..25)
        .map(|i| format!(".file-{i:02}.bin.{:016x}.ferry-part", 0xabc000 + i))
        .collect();
    for (i, name) in names.iter().enumerate() {
        write(&sweep.join(name), 1024 * (i + 1));
    }
    let mut h = harness(fx.quick_config(), [800.0, 600.0]);
    click(&mut h, "Cleanup");
    rescan_until(&mut h, "25 orphans", |h| {
        names.iter().all(|n| removable(h, n))
    });
    h.step();
    click(&mut h, "Sweep Ferry's orphans (25)");
    h.run_steps(2);
    assert!(has_label(&h, "Remove 25 files (325.0 KiB)?"));
    // Every file is in the list (which scrolls), with its size and age.
    let line = |i: usize, name: &str| {
        format!(
            "Will remove {} ({}.0 KiB, ",
            sweep.join(name).display(),
            i + 1
        )
    };
    let mut seen = vec![false; names.len()];
    for _ in 0..40 {
        for (i, name) in names.iter().enumerate() {
            seen[i] |= has_label(&h, &line(i, name));
        }
        if seen.iter().all(|s| *s) {
            break;
        }
        h.query_all_by_label_contains("Will remove ")
            .last()
            .expect("the list")
            .scroll_down();
        h.run_steps(2);
    }
    let missing: Vec<&String> = names
        .iter()
        .zip(&seen)
        .filter(|(_, s)| !**s)
        .map(|(n, _)| n)
        .collect();
    assert!(missing.is_empty(), "not in the list: {missing:?}");
    // Each line ends with the file's age.
    let spoken = h
        .query_all_by_label_contains("Will remove ")
        .last()
        .unwrap()
        .value()
        .unwrap();
    assert!(spoken.ends_with("s old)"), "{spoken}");
    // Nothing went while the person reads, and "Keep them" keeps them.
    step_for(&mut h, Duration::from_millis(300));
    assert!(names.iter().all(|n| sweep.join(n).exists()));
    click(&mut h, "Keep them");
    assert!(!has_label(&h, "Remove 25 files"));
    step_for(&mut h, Duration::from_millis(300));
    assert!(names.iter().all(|n| sweep.join(n).exists()));
    assert!(h.state().model().last_sweep.is_none());
}

#[test]
fn saving_a_schedule_removes_nothing_and_shows_the_next_run() {
    let fx = Fixture::new();
    let sweep = fx.path("sweep");
    write(&sweep.join(ORPHAN), 5000);
    // The settings the form can save (a threshold of at least a minute):
    // the file is young, so what is checked is that no sweep runs at all.
    let mut config = fx.config();
    config.settings.sweep.roots = vec![sweep.clone()];
    let mut h = harness(config, WINDOW);
    click(&mut h, "Cleanup");
    step_until(&mut h, "the file in the table", 20, |h| {
        h.state()
            .model()
            .scan
            .as_ref()
            .is_some_and(|s| s.entries.len() == 1)
    });
    assert!(has_label(&h, "Next: not scheduled"));
    assert!(has_label(&h, "Last: never"));

    click(&mut h, "Settings");
    click(&mut h, "Every");
    set_text(&mut h, "Scheduled sweeps:", "1");
    click(&mut h, "Interval unit");
    click(&mut h, "minutes");
    click(&mut h, "Save settings");
    step_until(&mut h, "the schedule to be saved", 10, |h| {
        h.state().model().settings.sweep.schedule == Schedule::Every(Duration::from_secs(60))
            && h.state().model().sweep_status.next_run.is_some()
    });
    // Beside the schedule: the next run, as a local clock time, a minute on.
    let next = h.get_by_label_contains("Next: ").value().unwrap();
    let clock = next.trim_start_matches("Next: ");
    assert!(
        clock.as_bytes()[2] == b':' && clock[..2].parse::<u8>().is_ok(),
        "{next}"
    );
    assert!(
        next.contains("(in 59s)") || next.contains("(in 1m)"),
        "{next}"
    );
    // And no sweep runs for it.
    step_for(&mut h, Duration::from_secs(2));
    assert!(sweep.join(ORPHAN).exists(), "saving a schedule swept");
    let m = h.state().model();
    assert!(
        m.last_sweep.is_none(),
        "a sweep ran when the schedule was saved"
    );
    assert!(m.sweep_status.last_run.is_none());
    assert!(!m.sweeping);
    click(&mut h, "Cleanup");
    assert!(has_label(&h, "Next: "));
    assert!(!has_label(&h, "Next: not scheduled"));
    assert!(has_label(&h, "Last: never"));
}

#[test]
fn a_missing_folder_is_refused_by_the_engine_and_marked_beside_it() {
    let fx = Fixture::new();
    let mut h = harness(fx.config(), WINDOW);
    click(&mut h, "Settings");
    assert!(has_label(&h, "Folders to clean"));
    let missing = fx.path("unplugged-drive");
    let kept = fx.path("sweep");
    for folder in [&kept, &missing] {
        set_text(&mut h, "or type one:", folder.to_str().unwrap());
        click(&mut h, "Add this folder");
    }
    assert!(has_label(&h, &missing.display().to_string()));
    click(&mut h, "Save settings");
    step_until(&mut h, "the engine's answer", 10, |h| {
        !h.state().model().settings_pending && !h.state().model().settings_rejected.is_empty()
    });
    h.run_steps(2);
    // Beside the folder's row, in the engine's words; nothing saved.
    assert!(has_label(&h, "cannot be used"), "no mark beside the folder");
    assert!(has_label(&h, "Not saved: see the marked fields."));
    assert!(h.state().model().settings.sweep.roots.is_empty());
    assert!(!fx.path("config/settings.json").exists());
    // The good folder has no mark.
    assert_eq!(h.query_all_by_label_contains("(not saved)").count(), 1);
    assert!(has_label(
        &h,
        "cannot be used: it does not exist (not saved)"
    ));

    // Removing the missing folder lets the rest be saved.
    h.get_by_label(&format!("Remove {}", missing.display()))
        .click();
    h.run_steps(2);
    assert!(!has_label(&h, "(not saved)"));
    click(&mut h, "Save settings");
    step_until(&mut h, "the settings to be saved", 10, |h| {
        h.state().model().settings.sweep.roots == vec![kept.clone()]
    });
    let file = fs::read_to_string(fx.path("config/settings.json")).unwrap();
    assert!(!file.contains("unplugged-drive"), "{file}");
}

#[test]
fn revert_forgets_a_refused_save() {
    let fx = Fixture::new();
    let mut h = harness(fx.config(), WINDOW);
    click(&mut h, "Settings");
    let missing = fx.path("unplugged-drive");
    set_text(&mut h, "or type one:", missing.to_str().unwrap());
    click(&mut h, "Add this folder");
    click(&mut h, "Save settings");
    step_until(&mut h, "the engine's answer", 10, |h| {
        !h.state().model().settings_pending && !h.state().model().settings_rejected.is_empty()
    });
    h.run_steps(2);
    assert!(has_label(&h, "cannot be used"));
    click(&mut h, "Revert");
    h.run_steps(2);
    // Back to the settings in force: nothing refused is shown beside the
    // fields or above Save any more (the notice of the refusal stays).
    assert!(has_label(&h, "All changes are saved."));
    assert!(!has_label(&h, "(not saved)"), "the refusal outlived Revert");
    assert!(!has_label(&h, "Not saved"), "the refusal outlived Revert");
}

#[test]
fn zero_workers_is_an_error_beside_the_field_not_one() {
    let fx = Fixture::new();
    let mut h = harness(fx.config(), WINDOW);
    click(&mut h, "Settings");
    assert_eq!(h.get_by_label("Workers:").value().as_deref(), Some("4"));
    set_text(&mut h, "Workers:", "0");
    assert_eq!(h.get_by_label("Workers:").value().as_deref(), Some("0"));
    assert!(has_label(
        &h,
        "must be between 1 and 64 (0 would run no transfer)"
    ));
    assert!(has_label(&h, "Fix the marked fields to save."));
    assert!(
        h.get_by_label("Save settings")
            .accesskit_node()
            .is_disabled()
    );
    set_text(&mut h, "Workers:", "2");
    assert!(!has_label(&h, "must be between"));
    click(&mut h, "Save settings");
    step_until(&mut h, "the settings to be saved", 10, |h| {
        h.state().model().settings.transfer.workers == 2
    });
}

#[test]
fn turning_the_schedule_off_and_on_keeps_its_interval() {
    let fx = Fixture::new();
    let mut config = fx.config();
    config.settings.sweep.schedule = Schedule::Every(Duration::from_secs(90 * 60));
    let mut h = harness(config, WINDOW);
    click(&mut h, "Settings");
    assert_eq!(
        h.get_by_label("Scheduled sweeps:").value().as_deref(),
        Some("90")
    );
    click(&mut h, "Off");
    click(&mut h, "Save settings");
    step_until(&mut h, "the schedule to be off", 10, |h| {
        h.state().model().settings.sweep.schedule == Schedule::Off
            && !h.state().model().settings_pending
    });
    h.run_steps(2);
    click(&mut h, "Every");
    assert_eq!(
        h.get_by_label("Scheduled sweeps:").value().as_deref(),
        Some("90")
    );
    assert_eq!(
        h.get_by_label("Interval unit").value().as_deref(),
        Some("minutes")
    );
    click(&mut h, "Save settings");
    step_until(&mut h, "the schedule to be on again", 10, |h| {
        h.state().model().settings.sweep.schedule == Schedule::Every(Duration::from_secs(90 * 60))
    });
}

#[test]
fn unsaved_changes_are_marked_and_revert_brings_back_the_settings_in_force() {
    let fx = Fixture::new();
    let mut h = harness(fx.config(), WINDOW);
    click(&mut h, "Settings");
    assert!(has_label(&h, "All changes are saved."));
    assert!(!has_label(&h, "Unsaved changes"));
    set_text(&mut h, "Sweep threshold:", "7");
    assert!(has_label(&h, "Unsaved changes"));
    click(&mut h, "Include other tools' files in scheduled sweeps");
    assert!(has_label(&h, "Unsaved changes"));
    click(&mut h, "Revert");
    assert_eq!(
        h.get_by_label("Sweep threshold:").value().as_deref(),
        Some("1")
    );
    assert_eq!(
        h.get_by_label("Include other tools' files in scheduled sweeps")
            .accesskit_node()
            .toggled(),
        Some(egui::accesskit::Toggled::False)
    );
    assert!(!has_label(&h, "Unsaved changes"));
    assert!(has_label(&h, "All changes are saved."));
}

#[test]
fn the_other_tools_settings_round_trip_and_survive_other_changes() {
    let fx = Fixture::new();
    let mut config = fx.config();
    config.settings.sweep.foreign_min_age = Duration::from_secs(3 * 3600);
    config.settings.sweep.foreign_in_schedule = true;
    config.settings.sweep.foreign_patterns =
        vec![ForeignPattern::Crdownload, ForeignPattern::Rclone];
    let mut h = harness(config, WINDOW);
    click(&mut h, "Settings");
    assert_eq!(h.get_by_label("Minimum age:").value().as_deref(), Some("3"));
    assert_eq!(
        h.get_by_label("Minimum age unit").value().as_deref(),
        Some("hours")
    );
    let include = "Include other tools' files in scheduled sweeps";
    assert_eq!(
        h.get_by_label(include).accesskit_node().toggled(),
        Some(egui::accesskit::Toggled::True)
    );

    // Changing something else keeps them as they are.
    set_text(&mut h, "Sweep threshold:", "2");
    click(&mut h, "Save settings");
    step_until(&mut h, "the threshold to be saved", 10, |h| {
        h.state().model().settings.sweep.threshold == Duration::from_secs(2 * 86_400)
    });
    let file = fs::read_to_string(fx.path("config/settings.json")).unwrap();
    assert!(file.contains("\"foreign_min_age\": \"3h\""), "{file}");
    assert!(file.contains("\"foreign_in_schedule\": true"), "{file}");
    assert!(file.contains("\"crdownload\",\n      \"rclone\""), "{file}");

    // Changing them saves them.
    set_text(&mut h, "Minimum age:", "2");
    click(&mut h, "Minimum age unit");
    click(&mut h, "days");
    click(&mut h, include);
    click(&mut h, "Save settings");
    step_until(&mut h, "the new values to be saved", 10, |h| {
        let s = &h.state().model().settings.sweep;
        s.foreign_min_age == Duration::from_secs(2 * 86_400) && !s.foreign_in_schedule
    });
    drop(h);
    let mut again = harness(fx.config(), WINDOW);
    click(&mut again, "Settings");
    assert_eq!(
        again.get_by_label("Minimum age:").value().as_deref(),
        Some("2")
    );
    assert_eq!(
        again.get_by_label("Minimum age unit").value().as_deref(),
        Some("days")
    );
    assert_eq!(
        again.get_by_label(include).accesskit_node().toggled(),
        Some(egui::accesskit::Toggled::False)
    );
}

#[test]
fn the_table_fits_800_by_600_stretches_wider_and_scrolls_narrower() {
    let fx = Fixture::new();
    let deep = fx.path("sweep/Downloads/a/folder/with/a/rather/long/name/for/testing");
    fs::create_dir_all(&deep).unwrap();
    let long = ".holiday-video-2024-final-cut-with-subtitles.mkv.0123456789abcdef.ferry-part";
    write(&deep.join(long), 4096);
    // One in use: listed (active), nothing can be swept.
    let live = fx.path("sweep/.live.bin.fedcba9876543210.ferry-part");
    let held = fs::File::create(&live).unwrap();
    held.lock().unwrap();
    let mut config = fx.quick_config();
    config.settings.sweep.threshold = Duration::from_secs(3600);
    let mut h = cleanup_scanned(config, [800.0, 600.0], 2);
    // The table's header.
    let header = |h: &App, name: &str| {
        h.query_all_by_label(name)
            .map(|n| n.rect())
            .min_by(|a, b| a.min.y.total_cmp(&b.min.y))
            .unwrap_or_else(|| panic!("no {name} header"))
    };
    for name in ["Status", "Path", "Size", "Age", "Kind"] {
        let rect = header(&h, name);
        assert!(
            rect.min.x >= 0.0 && rect.max.x <= 800.0,
            "{name} is outside the window: {rect:?}"
        );
    }
    // The long path is shortened in the middle and stays in its column.
    let path = deep.join(long).display().to_string();
    let cell = h.get_by_label(&path).rect();
    assert!(cell.max.x <= header(&h, "Size").min.x, "{cell:?}");
    // The status bar agrees with the table.
    assert!(has_label(
        &h,
        "2 leftover files (4.0 KiB); none can be swept now"
    ));
    assert!(!has_label(&h, "No leftover files"));

    // Ages tick between scans.
    let scanned = h.state().model().scanned_at;
    let age = |h: &App| {
        let y = h.get_by_label(&path).rect().center().y;
        h.query_all_by_label_contains("s")
            .filter(|n| (n.rect().center().y - y).abs() < 4.0)
            .filter_map(|n| n.value())
            .find(|l| {
                l.ends_with('s') && l.len() <= 7 && l.chars().next().unwrap().is_ascii_digit()
            })
            .unwrap()
    };
    let before = age(&h);
    step_for(&mut h, Duration::from_millis(2100));
    assert_eq!(h.state().model().scanned_at, scanned, "it rescanned");
    assert_ne!(age(&h), before, "the age did not tick");

    // Wider: the path column takes the room.
    let narrow_path = header(&h, "Size").min.x - header(&h, "Path").min.x;
    h.set_size(egui::vec2(1280.0, 800.0));
    h.run_steps(3);
    let wide_path = header(&h, "Size").min.x - header(&h, "Path").min.x;
    assert!(
        wide_path > narrow_path + 400.0,
        "{narrow_path} → {wide_path}"
    );
    assert!(header(&h, "Kind").max.x <= 1280.0);

    // Narrower than the table: it keeps its columns and scrolls sideways.
    h.set_size(egui::vec2(460.0, 600.0));
    h.run_steps(3);
    assert!(header(&h, "Kind").min.x > 460.0, "the table was squeezed");
    assert!(header(&h, "Size").min.x - header(&h, "Path").min.x >= 150.0);
    drop(held);
}

#[test]
fn the_chart_keeps_leftovers_across_a_restart() {
    let fx = Fixture::new();
    write(&fx.path("sweep").join(ORPHAN), 5000);
    let mut h = harness(fx.quick_config(), WINDOW);
    click(&mut h, "Cleanup");
    step_until(&mut h, "a scan with its history", 20, |h| {
        h.state()
            .model()
            .scan
            .as_ref()
            .is_some_and(|s| !s.trend.is_empty())
    });
    let first = h.state().model().scan.as_ref().unwrap().trend.clone();
    assert_eq!(first.last().unwrap().ferry.bytes, 5000);
    assert!(has_label(&h, "Leftovers over time"));
    drop(h);
    assert!(fx.path("data/sweep-trend.jsonl").exists());

    // A new window has the same history (and one more point if it changed).
    write(
        &fx.path("sweep").join(".b.0123456789abcdee.ferry-part"),
        100,
    );
    let mut again = harness(fx.quick_config(), WINDOW);
    click(&mut again, "Cleanup");
    step_until(&mut again, "the new scan", 20, |h| {
        h.state()
            .model()
            .scan
            .as_ref()
            .is_some_and(|s| s.trend.len() == first.len() + 1)
    });
    let trend = again.state().model().scan.as_ref().unwrap().trend.clone();
    assert_eq!(trend[..first.len()], first[..]);
    assert_eq!(trend.last().unwrap().ferry.bytes, 5100);
    // The orphans' status is the engine's.
    let scan = again.state().model().scan.clone().unwrap();
    assert!(scan.entries.iter().all(|e| e.status != Status::Active));
}

#[test]
fn settings_show_the_scheduled_sweep_that_just_ran() {
    use ferry_engine::{TimerHost, TimerPlace};

    let fx = Fixture::new();
    let sweep = fx.path("sweep");
    write(&sweep.join(ORPHAN), 5000);
    // The schedule was set 57 s ago (as recorded in the data folder), so
    // the window's own timer sweeps about 3 s after it starts: after
    // Settings first showed the timer's status.
    fs::create_dir_all(fx.path("data")).unwrap();
    let since = std::time::SystemTime::now() - Duration::from_secs(57);
    fs::write(
        fx.path("data/sweep-schedule.json"),
        format!(
            r#"{{"schedule":"every 1m","since":"{}"}}"#,
            humantime::format_rfc3339_nanos(since)
        ),
    )
    .unwrap();
    let home = fx.path("home");
    fs::create_dir(&home).unwrap();
    let host = TimerHost {
        place: TimerPlace {
            home: home.clone(),
            config_home: Some(home.join("config")),
            ferry_config_dir: fx.path("config"),
        },
        program: fx.path("ferry-program"),
        env: vec![],
    };
    let mut config = fx.quick_config().with_timer(Some(host));
    config.settings.sweep.schedule = Schedule::Every(Duration::from_secs(60));
    let mut h = harness(config, WINDOW);
    click(&mut h, "Settings");
    step_until(&mut h, "the timer's status", 10, |h| {
        has_label(h, "No scheduled sweep has run yet.")
    });
    assert!(sweep.join(ORPHAN).exists(), "swept too early for this test");
    step_until(&mut h, "the scheduled sweep", 20, |_| {
        !sweep.join(ORPHAN).exists()
    });
    // What Settings says of the last scheduled sweep follows the sweep
    // without a restart (it was read only at start-up).
    step_until(&mut h, "Settings to show the sweep", 10, |h| {
        has_label(h, "Last scheduled sweep:") && has_label(h, "removed 1 file")
    });
}

#[test]
fn a_chosen_file_kept_by_the_sweep_is_named_in_its_notice() {
    let fx = Fixture::new();
    let sweep = fx.path("sweep");
    let second = ".clip.mov.00112233445566ff.ferry-part";
    write(&sweep.join(ORPHAN), 5000);
    write(&sweep.join(second), 3000);
    let mut h = harness(fx.quick_config(), WINDOW);
    click(&mut h, "Cleanup");
    rescan_until(&mut h, "both orphans to be old enough", |h| {
        removable(h, ORPHAN) && removable(h, second)
    });
    for name in [ORPHAN, second] {
        h.get_by_label(&format!("Select {name}")).click();
        h.run_steps(2);
    }
    click(&mut h, "Sweep selected (2)");
    // A writer takes the second one while the confirmation is open.
    let held = fs::File::open(sweep.join(second)).unwrap();
    held.lock().unwrap();
    click(&mut h, "Remove 2 files");
    step_until(&mut h, "the sweep's notice", 20, |h| {
        has_label(h, "Sweep: removed 1 file")
    });
    assert!(!sweep.join(ORPHAN).exists());
    assert!(sweep.join(second).exists(), "a locked temp was removed");
    // The notice says which chosen file stayed, and why.
    assert!(
        has_label(&h, "Kept 1 file:"),
        "the kept file goes unmentioned"
    );
    assert!(has_label(&h, second));
    drop(held);
}

#[test]
fn a_folder_a_killed_sweep_left_is_named_a_folder_not_a_file() {
    let fx = Fixture::new();
    let sweep = fx.path("sweep");
    write(&sweep.join(ORPHAN), 2048);
    fs::create_dir(sweep.join(".ferry-aside-0123456789abcdef")).unwrap();
    let mut config = fx.quick_config();
    config.settings.sweep.threshold = Duration::from_secs(3600);
    let h = cleanup_scanned(config, WINDOW, 2);
    assert!(has_label(&h, "Ferry folder"), "the kind column names it");
    assert!(has_label(
        &h,
        "1 leftover file and 1 folder (2.0 KiB); none can be swept now"
    ));
    drop(h);

    // Once both are old enough, what can be swept says so too.
    let mut h = harness(fx.quick_config(), WINDOW);
    click(&mut h, "Cleanup");
    rescan_until(&mut h, "both to be old enough", |h| {
        h.state()
            .model()
            .scan
            .as_ref()
            .is_some_and(|s| s.entries.iter().all(|e| e.removable()))
    });
    h.run_steps(2);
    assert!(has_label(&h, "Can be swept: 1 file and 1 folder (2.0 KiB)"));
    // The confirmation says so too.
    click(&mut h, "Sweep Ferry's orphans (2)");
    h.run_steps(2);
    assert!(has_label(&h, "Remove 1 file and 1 folder (2.0 KiB)?"));
    assert!(has_label(
        &h,
        "Ferry's own leftovers: 1 file and 1 folder (2.0 KiB)"
    ));
    click(&mut h, "Keep them");
    h.run_steps(2);
    assert!(has_label(
        &h,
        "1 leftover file and 1 folder (2.0 KiB); 1 file and 1 folder (2.0 KiB) can be swept"
    ));
}
