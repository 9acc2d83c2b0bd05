//! The real window: `ferry` with no arguments under Xvfb opens a window
//! named Ferry that draws something, and closes cleanly (exit 0) when asked
//! with Ctrl+Q. Skipped, with a word, where Xvfb, xdotool or ImageMagick
//! are missing (CI installs them).

mod support;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::thread::sleep;
use std::time::{Duration, Instant};

use support::{ferry, ferry_in, run};

/// Whether `program` runs at all.
fn runs(program: &str, args: &[&str]) -> Option<Output> {
    Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .ok()
}

/// A child process killed when dropped.
struct Reaped(Child);

impl Drop for Reaped {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A free X display number (no socket, no lock file).
fn free_display() -> u32 {
    (90..400)
        .find(|n| {
            !Path::new(&format!("/tmp/.X11-unix/X{n}")).exists()
                && !Path::new(&format!("/tmp/.X{n}-lock")).exists()
        })
        .expect("no free X display number")
}

fn start_xvfb() -> (Reaped, String) {
    for _ in 0..5 {
        let n = free_display();
        let xvfb = Command::new("Xvfb")
            .args([
                &format!(":{n}"),
                "-screen",
                "0",
                "1280x800x24",
                "-nolisten",
                "tcp",
                // No reset when the readiness probe below disconnects (a
                // reset refuses the next client for a moment).
                "-noreset",
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("Xvfb could not be started");
        let mut xvfb = Reaped(xvfb);
        let deadline = Instant::now() + Duration::from_secs(10);
        let display = format!(":{n}");
        while Instant::now() < deadline {
            // Ready when a client gets an answer (its socket may exist a
            // moment before it accepts one, under load).
            if Path::new(&format!("/tmp/.X11-unix/X{n}")).exists()
                && xdotool(&display, &["getdisplaygeometry"]).status.success()
            {
                return (xvfb, display);
            }
            if xvfb.0.try_wait().unwrap().is_some() {
                break; // lost a race for the number: try another
            }
            sleep(Duration::from_millis(50));
        }
    }
    panic!("Xvfb did not start");
}

fn xdotool(display: &str, args: &[&str]) -> Output {
    Command::new("xdotool")
        .args(args)
        .env("DISPLAY", display)
        .output()
        .expect("xdotool could not run")
}

/// Waits for a top-level window named exactly "Ferry".
fn wait_for_window(display: &str, ferry: &mut Reaped, log: &Path) -> String {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let found = xdotool(display, &["search", "--name", "^Ferry$"]);
        let ids = String::from_utf8_lossy(&found.stdout);
        if let Some(id) = ids.split_whitespace().next() {
            return id.to_string();
        }
        if let Some(status) = ferry.0.try_wait().unwrap() {
            panic!(
                "ferry exited ({status}) before showing a window:\n{}\n{}",
                fs::read_to_string(log).unwrap_or_default(),
                fs::read_to_string(log.with_file_name("ferry.err")).unwrap_or_default()
            );
        }
        assert!(
            Instant::now() < deadline,
            "no window named Ferry appeared within 60s:\n{}",
            fs::read_to_string(log).unwrap_or_default()
        );
        sleep(Duration::from_millis(200));
    }
}

/// Distinct colours in a screenshot of the whole screen (1 for a blank
/// screen; 0 when no screenshot could be taken yet).
fn colours(display: &str, shot: &Path) -> u64 {
    let import = Command::new("import")
        .args(["-window", "root", shot.to_str().unwrap()])
        .env("DISPLAY", display)
        .output()
        .expect("import could not run");
    if !import.status.success() {
        return 0;
    }
    let count = Command::new("convert")
        .args([shot.to_str().unwrap(), "-format", "%k", "info:"])
        .output()
        .expect("convert could not run");
    String::from_utf8_lossy(&count.stdout)
        .trim()
        .parse()
        .unwrap_or(0)
}

#[test]
fn the_window_opens_draws_and_closes_cleanly() {
    let missing: Vec<&str> = [
        ("Xvfb", vec!["-help"]),
        ("xdotool", vec!["version"]),
        ("import", vec!["-version"]),
    ]
    .into_iter()
    .filter(|(tool, args)| runs(tool, args).is_none())
    .map(|(tool, _)| tool)
    .collect();
    // `convert` must be ImageMagick's, not a stand-in.
    let imagemagick = runs("convert", &["-version"])
        .is_some_and(|o| String::from_utf8_lossy(&o.stdout).contains("ImageMagick"));
    if !missing.is_empty() || !imagemagick {
        println!(
            "skipped: the window smoke test needs Xvfb, xdotool and ImageMagick (missing: {})",
            if missing.is_empty() {
                "ImageMagick's convert".to_string()
            } else {
                missing.join(", ")
            }
        );
        return;
    }

    let dir = tempfile::tempdir().unwrap();
    let data: PathBuf = dir.path().join("data");
    let config: PathBuf = dir.path().join("config");
    let log = dir.path().join("ferry.log");
    let (_xvfb, display) = start_xvfb();

    let mut ferry = Reaped(
        ferry_in(&config, &data)
            .env("DISPLAY", &display)
            .env_remove("WAYLAND_DISPLAY")
            .stdout(fs::File::create(&log).unwrap())
            .stderr(fs::File::create(dir.path().join("ferry.err")).unwrap())
            .spawn()
            .unwrap(),
    );
    let window = wait_for_window(&display, &mut ferry, &log);

    // Something is drawn: a blank (or black) window has one colour. The
    // first frames may still be empty, so look a few times.
    let shot = dir.path().join("shot.png");
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut seen = colours(&display, &shot);
    while seen < 16 && Instant::now() < deadline {
        sleep(Duration::from_millis(300));
        seen = colours(&display, &shot);
    }
    assert!(seen >= 16, "the window looks blank ({seen} colours)");

    // Ctrl+Q closes it the normal way.
    xdotool(&display, &["windowfocus", "--sync", &window]);
    xdotool(&display, &["key", "--clearmodifiers", "ctrl+q"]);
    let deadline = Instant::now() + Duration::from_secs(10);
    let status = loop {
        if let Some(status) = ferry.0.try_wait().unwrap() {
            break status;
        }
        assert!(
            Instant::now() < deadline,
            "ferry did not exit within 10s of Ctrl+Q"
        );
        sleep(Duration::from_millis(50));
    };
    let stderr = fs::read_to_string(dir.path().join("ferry.err")).unwrap_or_default();
    assert!(status.success(), "ferry exited with {status}: {stderr}");
    // eframe saved the window's size and the view state on the way out.
    let saved = fs::read_to_string(data.join("window.ron")).unwrap_or_default();
    assert!(
        saved.contains("ferry-view"),
        "window state not saved: {saved:?}"
    );
}

#[test]
fn without_a_display_ferry_says_so_and_exits_1() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(
        ferry_in(&dir.path().join("config"), &dir.path().join("data"))
            .env_remove("DISPLAY")
            .env_remove("WAYLAND_DISPLAY"),
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("the window could not be opened"),
        "{stderr}"
    );
    assert!(stderr.contains("ferry --help"), "{stderr}");
}

#[test]
fn the_command_line_is_unchanged_by_the_window() {
    let dir = tempfile::tempdir().unwrap();
    let help = run(ferry(dir.path()).arg("--help"));
    assert!(help.status.success());
    let text = String::from_utf8_lossy(&help.stdout);
    for command in [
        "copy", "move", "jobs", "resume", "rollback", "scan", "sweep",
    ] {
        assert!(text.contains(command), "{command} missing from:\n{text}");
    }
    // A usage error is still exit status 2.
    let bad = run(ferry(dir.path()).arg("--no-such-flag"));
    assert_eq!(bad.status.code(), Some(2));
}
