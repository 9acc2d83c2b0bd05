//! `ferry schedule install|remove|status` and the sweep its timer runs
//! (`ferry sweep --scheduled`), with the real binary in a sandbox: a
//! temporary `HOME` and `XDG_CONFIG_HOME`, and no user manager to talk to
//! (`XDG_RUNTIME_DIR` points at an empty folder and there is no session
//! bus), so the tests never touch the real user's systemd. Where a test
//! needs a user manager that answers, a stand-in `systemctl` on `PATH`
//! records what it is asked.
#![cfg(target_os = "linux")]

mod support;

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use support::{FERRY, Sandbox, run_with_timeout, stderr_of};

const TIMER: &str = "ferry-sweep.timer";
const SERVICE: &str = "ferry-sweep.service";

/// A sandbox with its own home, config home and runtime folder.
struct Home {
    sandbox: Sandbox,
    /// Prepended to `PATH` (a stand-in `systemctl`).
    path_first: Option<PathBuf>,
    /// Whether `XDG_CONFIG_HOME` is set.
    xdg: bool,
}

impl Home {
    fn new(xdg: bool) -> Self {
        let sandbox = Sandbox::new();
        let run = sandbox.dir("run");
        fs::set_permissions(&run, fs::Permissions::from_mode(0o700)).unwrap();
        sandbox.dir("home");
        Self {
            sandbox,
            path_first: None,
            xdg,
        }
    }

    fn home(&self) -> PathBuf {
        self.sandbox.root().join("home")
    }

    fn config_home(&self) -> PathBuf {
        self.sandbox.root().join("xdg-config")
    }

    fn unit_dir(&self) -> PathBuf {
        let base = if self.xdg {
            self.config_home()
        } else {
            self.home().join(".config")
        };
        base.join("systemd").join("user")
    }

    fn config_dir(&self) -> PathBuf {
        self.sandbox.root().join(".state").join("config")
    }

    fn data_dir(&self) -> PathBuf {
        self.sandbox.root().join(".state").join("data")
    }

    fn settings(&self, json: &str) {
        fs::create_dir_all(self.config_dir()).unwrap();
        fs::write(self.config_dir().join("settings.json"), json).unwrap();
    }

    /// The environment a user manager-less session has, in the sandbox.
    fn env(&self, cmd: &mut Command) {
        cmd.env("HOME", self.home())
            .env("XDG_RUNTIME_DIR", self.sandbox.root().join("run"))
            .env_remove("DBUS_SESSION_BUS_ADDRESS")
            .env_remove("XDG_CONFIG_HOME");
        if self.xdg {
            cmd.env("XDG_CONFIG_HOME", self.config_home());
        }
        if let Some(dir) = &self.path_first {
            let path = std::env::var_os("PATH").unwrap_or_default();
            let mut dirs = vec![dir.clone()];
            dirs.extend(std::env::split_paths(&path));
            cmd.env("PATH", std::env::join_paths(dirs).unwrap());
        }
    }

    fn ferry(&self, args: &[&str]) -> Output {
        let mut cmd = self.sandbox.ferry();
        self.env(&mut cmd);
        cmd.args(args);
        run_with_timeout(cmd, Duration::from_secs(60))
    }
}

fn stdout_of(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn ok(output: &Output, what: &str) -> String {
    assert!(
        output.status.success(),
        "{what} failed ({:?}): {}\n{}",
        output.status,
        stdout_of(output),
        stderr_of(output)
    );
    stdout_of(output)
}

/// `systemd-analyze` on `PATH`, if there is one.
fn systemd_analyze() -> Option<PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|dir| dir.join("systemd-analyze"))
        .find(|p| p.is_file())
}

/// The interval's units pass `systemd-analyze verify --user` (with the
/// sandbox's environment, so it finds them as a user manager would): no
/// error and no warning.
fn verify_units(home: &Home) {
    let Some(analyze) = systemd_analyze() else {
        eprintln!(
            "skipped: systemd-analyze not found (apt-get install systemd): units not verified"
        );
        return;
    };
    let mut cmd = Command::new(analyze);
    home.env(&mut cmd);
    cmd.args(["verify", "--user"])
        .arg(home.unit_dir().join(TIMER))
        .arg(home.unit_dir().join(SERVICE));
    let output = run_with_timeout(cmd, Duration::from_secs(60));
    let said = stderr_of(&output);
    assert!(
        output.status.success() && said.trim().is_empty(),
        "systemd-analyze verify: {:?}\n{said}",
        output.status
    );
}

#[test]
fn install_writes_units_systemd_accepts_then_status_and_remove_follow() {
    let home = Home::new(true);
    home.settings(r#"{"sweep":{"schedule":"every 6h"}}"#);
    let out = ok(&home.ferry(&["schedule", "install"]), "install");
    let timer = home.unit_dir().join(TIMER);
    let service = home.unit_dir().join(SERVICE);
    assert!(out.contains(&timer.display().to_string()), "{out}");
    assert!(out.contains("ferry-sweep.timer"), "{out}");
    // No user manager here: written, and said how to enable it.
    assert!(
        out.contains("systemctl --user enable --now ferry-sweep.timer"),
        "{out}"
    );
    assert!(
        !home.home().join(".config/systemd").exists(),
        "XDG_CONFIG_HOME is honoured"
    );

    let service_text = fs::read_to_string(&service).unwrap();
    let timer_text = fs::read_to_string(&timer).unwrap();
    assert!(service_text.contains("\nType=oneshot\n"), "{service_text}");
    assert!(
        service_text.contains(&format!("\nExecStart={FERRY} sweep --scheduled\n")),
        "the binary's absolute path: {service_text}"
    );
    for (name, dir) in [
        ("FERRY_CONFIG_DIR", home.config_dir()),
        ("FERRY_DATA_DIR", home.data_dir()),
    ] {
        let line = format!("\nEnvironment=\"{name}={}\"\n", dir.display());
        assert!(service_text.contains(&line), "{line} in {service_text}");
    }
    for line in [
        "\nOnActiveSec=6h\n",
        "\nOnUnitInactiveSec=6h\n",
        "\nOnStartupSec=5min\n",
        "\nWantedBy=timers.target\n",
    ] {
        assert!(timer_text.contains(line), "{line} in {timer_text}");
    }
    verify_units(&home);

    let out = ok(&home.ferry(&["schedule", "status"]), "status");
    assert!(out.contains("installed, every 6h"), "{out}");
    assert!(out.contains(&timer.display().to_string()), "{out}");
    assert!(out.contains(&service.display().to_string()), "{out}");
    assert!(out.contains("sweep --scheduled"), "{out}");
    assert!(out.contains("Last scheduled sweep: none recorded"), "{out}");

    let out = ok(&home.ferry(&["schedule", "remove"]), "remove");
    assert!(out.contains("Removed"), "{out}");
    assert!(!timer.exists() && !service.exists());
    assert!(
        !home
            .unit_dir()
            .join("timers.target.wants")
            .join(TIMER)
            .exists(),
        "no link left to start it at log-in"
    );
    let out = ok(&home.ferry(&["schedule", "status"]), "status");
    assert!(out.contains("not installed"), "{out}");
    let out = ok(&home.ferry(&["schedule", "remove"]), "remove again");
    assert!(out.contains("nothing to remove"), "{out}");
}

#[test]
fn install_refuses_when_the_schedule_is_off() {
    let home = Home::new(false);
    let output = home.ferry(&["schedule", "install"]);
    assert_eq!(output.status.code(), Some(1), "{}", stdout_of(&output));
    let said = stderr_of(&output);
    assert!(said.contains("scheduled sweeps are off"), "{said}");
    assert!(said.contains("every 6h"), "says how to set one: {said}");
    assert!(!home.unit_dir().exists(), "nothing written");
}

/// Without `XDG_CONFIG_HOME` the units go to `~/.config/systemd/user`;
/// `status` notices when the settings changed since, and installing again
/// follows them.
#[test]
fn installing_again_follows_a_new_schedule() {
    let home = Home::new(false);
    home.settings(r#"{"sweep":{"schedule":"every 90m"}}"#);
    ok(&home.ferry(&["schedule", "install"]), "install");
    let timer = home.home().join(".config/systemd/user").join(TIMER);
    let text = fs::read_to_string(&timer).unwrap();
    assert!(text.contains("\nOnUnitInactiveSec=1h 30min\n"), "{text}");
    verify_units(&home);

    home.settings(r#"{"sweep":{"schedule":"every 2h"}}"#);
    let out = ok(&home.ferry(&["schedule", "status"]), "status");
    assert!(out.contains("installed, every 1h 30m"), "{out}");
    assert!(out.contains("The settings now say every 2h"), "{out}");
    ok(&home.ferry(&["schedule", "install"]), "install again");
    let text = fs::read_to_string(&timer).unwrap();
    assert!(text.contains("\nOnUnitInactiveSec=2h\n"), "{text}");
    let out = ok(&home.ferry(&["schedule", "status"]), "status");
    assert!(out.contains("installed, every 2h"), "{out}");
    assert!(!out.contains("settings now say"), "{out}");
    ok(&home.ferry(&["schedule", "remove"]), "remove");
    assert!(!timer.exists());
}

/// Where a user manager answers, install reloads it, enables and
/// (re)starts the timer; status reports what it says; remove disables it.
/// A stand-in `systemctl` records the calls.
#[test]
fn install_and_remove_tell_a_user_manager_that_answers() {
    let mut home = Home::new(true);
    let bin = home.sandbox.dir("bin");
    let log = home.sandbox.root().join("systemctl.log");
    let script = format!(
        "#!/bin/sh\n\
         echo \"$*\" >> '{}'\n\
         case \"$*\" in\n\
         *is-enabled*) echo enabled ;;\n\
         *show*) echo ActiveState=active; echo NextElapseUSecRealtime=; \
         echo NextElapseUSecMonotonic=infinity; echo LastTriggerUSec=@1767420000 ;;\n\
         esac\n",
        log.display()
    );
    fs::write(bin.join("systemctl"), script).unwrap();
    fs::set_permissions(bin.join("systemctl"), fs::Permissions::from_mode(0o755)).unwrap();
    home.path_first = Some(bin);
    home.settings(r#"{"sweep":{"schedule":"every 1h"}}"#);

    let out = ok(&home.ferry(&["schedule", "install"]), "install");
    assert!(out.contains("systemd has enabled it"), "{out}");
    let calls = fs::read_to_string(&log).unwrap();
    assert_eq!(
        calls.lines().collect::<Vec<_>>(),
        [
            "--user daemon-reload",
            "--user enable ferry-sweep.timer",
            "--user restart ferry-sweep.timer"
        ],
        "{calls}"
    );

    let out = ok(&home.ferry(&["schedule", "status"]), "status");
    assert!(out.contains("systemd:  enabled\n"), "{out}");
    assert!(out.contains("last run: 2026-01-03T06:00:00Z"), "{out}");

    fs::remove_file(&log).unwrap();
    ok(&home.ferry(&["schedule", "remove"]), "remove");
    let calls = fs::read_to_string(&log).unwrap();
    assert_eq!(
        calls.lines().collect::<Vec<_>>(),
        [
            "--user disable --now ferry-sweep.timer",
            "--user daemon-reload"
        ],
        "{calls}"
    );
    assert!(!home.unit_dir().join(TIMER).exists());
}

/// `--scheduled` is the timer's: hidden from `ferry sweep --help`, and it
/// takes none of the options a person gives a manual sweep.
#[test]
fn the_scheduled_flag_is_hidden_and_stands_alone() {
    let home = Home::new(false);
    let help = stdout_of(&home.ferry(&["sweep", "--help"]));
    assert!(help.contains("--dry-run"), "{help}");
    assert!(!help.contains("--scheduled"), "{help}");
    for extra in [
        &["--dry-run"][..],
        &["--json"],
        &["--older-than", "1s"],
        &["/tmp"],
    ] {
        let mut args = vec!["sweep", "--scheduled"];
        args.extend_from_slice(extra);
        let output = home.ferry(&args);
        assert_eq!(
            output.status.code(),
            Some(2),
            "{args:?}: {}",
            stderr_of(&output)
        );
    }
}

const ORPHAN: &str = ".movie.mkv.00112233aabbccdd.ferry-part";
const FOREIGN: &str = "download.part";

/// A sandbox whose settings sweep `files/` every minute with the `part`
/// pattern enabled and the smallest ages the settings accept, with a Ferry
/// orphan and another tool's partial file in it, and the timer installed.
fn scheduled_sandbox(schedule: &str, consent: bool) -> (Home, PathBuf, PathBuf) {
    let home = Home::new(false);
    let files = home.sandbox.dir("files");
    home.settings(&format!(
        r#"{{"sweep":{{"schedule":"{schedule}","threshold":"1m","roots":["{}"],
            "foreign_patterns":["part"],"foreign_min_age":"1m",
            "foreign_in_schedule":{consent}}}}}"#,
        files.display()
    ));
    let orphan = files.join(ORPHAN);
    let foreign = files.join(FOREIGN);
    fs::write(&orphan, b"half a movie").unwrap();
    fs::write(&foreign, b"half a download").unwrap();
    (home, orphan, foreign)
}

fn log_lines(data_dir: &Path) -> Vec<serde_json::Value> {
    fs::read_to_string(data_dir.join("sweep-log.jsonl"))
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// The sweep the timer runs is the app's scheduled sweep: Ferry's orphan
/// goes; another tool's file (of an enabled pattern, older than every
/// threshold) goes only with the consent for scheduled sweeps; it is
/// logged as scheduled and `status` shows it; a second run before the next
/// interval does nothing, and a schedule turned off makes it do nothing.
/// Change times cannot be backdated, so the test waits out the smallest
/// ages the settings accept (one minute).
#[test]
fn the_timers_sweep_honours_consent_and_is_logged_as_scheduled() {
    let (without, orphan_a, foreign_a) = scheduled_sandbox("every 1m", false);
    let (with, orphan_b, foreign_b) = scheduled_sandbox("every 1m", true);
    let (off, orphan_c, _) = scheduled_sandbox("off", true);
    for home in [&without, &with] {
        ok(&home.ferry(&["schedule", "install"]), "install");
    }
    // Installing set the schedule: nothing is due for one interval.
    let out = ok(&without.ferry(&["sweep", "--scheduled"]), "early sweep");
    assert!(out.contains("No scheduled sweep is due yet"), "{out}");
    assert!(orphan_a.exists());
    let made = Instant::now();
    std::thread::sleep(Duration::from_secs(62).saturating_sub(made.elapsed()));

    let out = ok(
        &without.ferry(&["sweep", "--scheduled"]),
        "sweep without consent",
    );
    assert!(!orphan_a.exists(), "Ferry's orphan goes: {out}");
    assert!(foreign_a.exists(), "not without consent: {out}");
    assert!(
        out.contains("scheduled sweeps"),
        "says why it was kept: {out}"
    );

    let out = ok(&with.ferry(&["sweep", "--scheduled"]), "sweep with consent");
    assert!(!orphan_b.exists(), "{out}");
    assert!(!foreign_b.exists(), "with consent it goes: {out}");

    let out = ok(
        &off.ferry(&["sweep", "--scheduled"]),
        "sweep with the schedule off",
    );
    assert!(out.contains("off"), "{out}");
    assert!(
        orphan_c.exists(),
        "no scheduled sweep when the schedule is off"
    );

    for (home, gone) in [
        (&without, vec![&orphan_a]),
        (&with, vec![&orphan_b, &foreign_b]),
    ] {
        let lines = log_lines(&home.data_dir());
        assert_eq!(lines.len(), gone.len(), "{lines:?}");
        for line in &lines {
            assert_eq!(line["trigger"], "scheduled", "{line}");
        }
        for path in &gone {
            let name = path.file_name().unwrap().to_str().unwrap();
            assert!(
                lines
                    .iter()
                    .any(|l| l["path"].as_str().unwrap().ends_with(name)),
                "{name} in {lines:?}"
            );
        }
        let out = ok(&home.ferry(&["schedule", "status"]), "status");
        let n = gone.len();
        let files = if n == 1 { "file" } else { "files" };
        assert!(out.contains(&format!(", removed {n} {files} (")), "{out}");
        assert!(out.contains(ORPHAN), "{out}");
    }

    // Swept a moment ago: the next one is an interval away.
    let out = ok(&without.ferry(&["sweep", "--scheduled"]), "second sweep");
    assert!(out.contains("No scheduled sweep is due yet"), "{out}");
    assert_eq!(log_lines(&without.data_dir()).len(), 1);
}

/// A schedule set long ago: installing the timer says a sweep is due now,
/// not that the next one is due at a time already past.
#[test]
fn install_says_an_overdue_sweep_is_due_now() {
    let (home, _, _) = scheduled_sandbox("every 1m", false);
    fs::create_dir_all(home.data_dir()).unwrap();
    fs::write(
        home.data_dir().join("sweep-schedule.json"),
        r#"{"schedule":"every 1m","since":"2020-01-01T00:00:00.000000000Z"}"#,
    )
    .unwrap();
    let out = ok(&home.ferry(&["schedule", "install"]), "install");
    assert!(out.contains("A scheduled sweep is due now"), "{out}");
    assert!(!out.contains("The next scheduled sweep is due at"), "{out}");
}
