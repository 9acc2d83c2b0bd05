//! Linux: a systemd user timer and service in `<config home>/systemd/user`.
//!
//! The timer starts the service one interval after it is started itself (at
//! install and at each log-in, `OnActiveSec=`), one interval after each run
//! (`OnUnitInactiveSec=`), and a few minutes after the user's service
//! manager starts (`OnStartupSec=`). That last one is the catch-up that
//! `Persistent=` gives calendar timers, which monotonic timers do not have:
//! the command decides whether a sweep is due (by the last sweep's time
//! kept in Ferry's data folder), so a sweep that fell due while the
//! computer was off or nobody was logged in runs soon after log-in, and a
//! timer that looks when nothing is due does nothing.

use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use super::{
    Installed, Manager, Removed, TimerPlace, TimerSpec, TimerStatus, delete_files, invalid, marker,
    path_text, read_file, read_marker, run_ok, run_tool, write_file,
};
use crate::error::Result;
use crate::sweep::Schedule;

/// The scheduler, for people.
pub const MANAGER: &str = "systemd";

/// The timer unit's name.
pub const TIMER: &str = "ferry-sweep.timer";
/// The service unit's name.
pub const SERVICE: &str = "ferry-sweep.service";

/// At most this long after log-in, a sweep that fell due meanwhile runs.
const CATCH_UP: Duration = Duration::from_secs(5 * 60);

/// The folder of the user's own units.
fn unit_dir(place: &TimerPlace) -> PathBuf {
    place
        .config_home
        .clone()
        .unwrap_or_else(|| place.home.join(".config"))
        .join("systemd")
        .join("user")
}

/// Where `enable` links the timer.
fn wants_link(place: &TimerPlace) -> PathBuf {
    unit_dir(place).join("timers.target.wants").join(TIMER)
}

pub fn files(place: &TimerPlace) -> Vec<PathBuf> {
    let dir = unit_dir(place);
    vec![dir.join(TIMER), dir.join(SERVICE)]
}

pub fn install(spec: &TimerSpec) -> Result<Installed> {
    let service = service_unit(spec)?;
    let timer = timer_unit(spec.interval);
    let files = files(&spec.place);
    // The service first: a timer must never point at nothing.
    write_file(&files[1], &service)?;
    write_file(&files[0], &timer)?;
    let command = service
        .lines()
        .find_map(|l| l.strip_prefix("ExecStart="))
        .unwrap_or_default()
        .to_string();
    let by_hand = vec![
        "systemctl --user daemon-reload".to_string(),
        format!("systemctl --user enable --now {TIMER}"),
    ];
    let (manager, enable_by_hand) = match run_ok("systemctl", &["--user", "daemon-reload"]) {
        Ok(_) => match run_ok("systemctl", &["--user", "enable", TIMER])
            // Restarted, so a new interval counts from now.
            .and_then(|_| run_ok("systemctl", &["--user", "restart", TIMER]))
        {
            Ok(_) => (Manager::Enabled, Vec::new()),
            Err(why) => (Manager::Unreachable(why), by_hand),
        },
        // No user manager answers (none runs, a container): systemctl
        // still links the timer on its own, so the manager starts it at the
        // next log-in.
        Err(why) => match run_ok("systemctl", &["--user", "enable", TIMER]) {
            Ok(_) => (Manager::AtNextLogin(why), by_hand),
            Err(_) => (Manager::Unreachable(why), by_hand),
        },
    };
    Ok(Installed {
        files,
        command,
        manager,
        enable_by_hand,
        notes: Vec::new(),
    })
}

pub fn remove(place: &TimerPlace) -> Result<Removed> {
    let files = files(place);
    let link = wants_link(place);
    let installed =
        files.iter().any(|f| f.exists()) || link.symlink_metadata().is_ok_and(|m| m.is_symlink());
    if !installed {
        return Ok(Removed {
            files: Vec::new(),
            manager_problem: None,
        });
    }
    let mut manager_problem = run_ok("systemctl", &["--user", "disable", "--now", TIMER]).err();
    if manager_problem.is_some() {
        // No user manager answers: at least unlink it (systemctl can on
        // its own), so no log-in starts it.
        let _ = run_ok("systemctl", &["--user", "disable", TIMER]);
    }
    // Where systemctl could not unlink it (no user manager), the link goes
    // with the files.
    let mut deleted = delete_files(&files)?;
    if link.symlink_metadata().is_ok_and(|m| m.is_symlink()) {
        deleted.extend(delete_files(&[link])?);
    }
    if manager_problem.is_none() {
        manager_problem = run_ok("systemctl", &["--user", "daemon-reload"]).err();
    }
    Ok(Removed {
        files: deleted,
        manager_problem,
    })
}

pub fn status(place: &TimerPlace) -> Result<TimerStatus> {
    let files = files(place);
    let timer = read_file(&files[0])?;
    let service = read_file(&files[1])?;
    let installed = timer.is_some();
    let schedule = timer.as_deref().and_then(read_marker);
    let command = service.as_deref().and_then(|s| {
        s.lines()
            .find_map(|l| l.strip_prefix("ExecStart="))
            .map(str::to_string)
    });
    let mut status = TimerStatus {
        installed,
        files: if installed {
            files.into_iter().filter(|f| f.exists()).collect()
        } else {
            files
        },
        schedule,
        command,
        manager: Manager::NotEnabled("not installed".into()),
        next_run: None,
        last_run: None,
        last_sweep: None,
    };
    if installed {
        ask_manager(&mut status);
    }
    Ok(status)
}

/// Fills in what the user's service manager says of the timer.
fn ask_manager(status: &mut TimerStatus) {
    let enabled = match run_tool("systemctl", &["--user", "is-enabled", TIMER]) {
        Err(why) => {
            status.manager = Manager::Unreachable(why);
            return;
        }
        Ok(run) => {
            let word = run.stdout.trim().to_string();
            if !run.ok && word.is_empty() {
                status.manager = Manager::Unreachable(run.said);
                return;
            }
            word
        }
    };
    let show = match run_ok(
        "systemctl",
        &[
            "--user",
            "show",
            TIMER,
            "--timestamp=unix",
            "--property=ActiveState,NextElapseUSecRealtime,NextElapseUSecMonotonic,LastTriggerUSec",
        ],
    ) {
        Ok(show) => show,
        Err(why) if enabled == "enabled" => {
            status.manager = Manager::AtNextLogin(why);
            return;
        }
        Err(why) => {
            status.manager = Manager::Unreachable(format!("{why}; the unit files say {enabled}"));
            return;
        }
    };
    let prop = |name: &str| {
        show.lines()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix('='))
            .map(str::trim)
            .filter(|v| !v.is_empty())
    };
    let active = prop("ActiveState").unwrap_or("unknown");
    status.manager = if enabled == "enabled" && active == "active" {
        Manager::Enabled
    } else {
        Manager::NotEnabled(format!("{enabled}, {active}"))
    };
    status.last_run = prop("LastTriggerUSec").and_then(unix_time);
    status.next_run = prop("NextElapseUSecRealtime")
        .and_then(unix_time)
        .or_else(|| prop("NextElapseUSecMonotonic").and_then(monotonic_to_wall));
}

/// `@1767420000` (what `--timestamp=unix` prints) as a time.
fn unix_time(text: &str) -> Option<SystemTime> {
    let secs: u64 = text.strip_prefix('@')?.parse().ok()?;
    (secs > 0).then(|| SystemTime::UNIX_EPOCH + Duration::from_secs(secs))
}

/// A point of the monotonic clock, as systemd prints it (a time span since
/// boot: `2d 5h 3min 1.5s`), as a wall-clock time.
fn monotonic_to_wall(text: &str) -> Option<SystemTime> {
    let at = parse_span(text)?;
    if at.is_zero() {
        return None;
    }
    let mut now = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `now` is a valid timespec for the call to fill in.
    if unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut now) } != 0 {
        return None;
    }
    let mono_now = Duration::new(
        u64::try_from(now.tv_sec).ok()?,
        u32::try_from(now.tv_nsec).ok()?,
    );
    let wall = SystemTime::now();
    Some(match at.checked_sub(mono_now) {
        Some(ahead) => wall + ahead,
        None => wall - (mono_now - at),
    })
}

/// A systemd time span (`1d 2h 3min 4.5s`, `500ms`) as a duration.
fn parse_span(text: &str) -> Option<Duration> {
    let text = text.trim();
    if text == "0" {
        return Some(Duration::ZERO);
    }
    let mut total = 0f64;
    for token in text.split_whitespace() {
        let split = token.find(|c: char| !(c.is_ascii_digit() || c == '.'))?;
        let (number, unit) = token.split_at(split);
        let number: f64 = number.parse().ok()?;
        let scale = match unit {
            "y" => 31_557_600.0,
            "month" => 2_629_800.0,
            "w" => 604_800.0,
            "d" => 86_400.0,
            "h" => 3_600.0,
            "min" => 60.0,
            "s" => 1.0,
            "ms" => 1e-3,
            "us" | "µs" => 1e-6,
            _ => return None,
        };
        total += number * scale;
    }
    Duration::try_from_secs_f64(total).ok()
}

/// A duration as a systemd time span: `6h`, `1h 30min`, `7d`, `1min 500ms`.
fn span(d: Duration) -> String {
    let mut secs = d.as_secs();
    let mut parts = Vec::new();
    for (unit, size) in [("d", 86_400), ("h", 3_600), ("min", 60), ("s", 1)] {
        if secs >= size {
            parts.push(format!("{}{unit}", secs / size));
            secs %= size;
        }
    }
    let millis = d.subsec_millis();
    if millis > 0 {
        parts.push(format!("{millis}ms"));
    }
    if parts.is_empty() {
        parts.push("1s".to_string());
    }
    parts.join(" ")
}

/// A value in double quotes for a unit file: backslashes and quotes
/// escaped, `%` (specifiers) doubled, and in command lines `$` doubled
/// (variables).
fn quoted(text: &str, command: bool) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '%' => out.push_str("%%"),
            '$' if command => out.push_str("$$"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A word of a command line: as it is when it holds nothing systemd
/// reads specially, else [`quoted`].
fn word(text: &str) -> String {
    let plain = !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./=:,+@".contains(c));
    if plain {
        text.to_string()
    } else {
        quoted(text, true)
    }
}

/// Whether `name` can be an environment variable's name in a unit.
fn valid_env_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// The header comment both units start with.
fn header(what: &str, interval: Duration) -> String {
    format!(
        "# Written by `ferry schedule install` {what}.\n\
         # `ferry schedule remove` removes it; installing again rewrites it (change the\n\
         # schedule in Ferry's settings, then run `ferry schedule install` again).\n\
         # {}\n",
        marker(interval)
    )
}

fn service_unit(spec: &TimerSpec) -> Result<String> {
    let mut exec = word(path_text(&spec.program)?);
    for arg in &spec.args {
        if arg.chars().any(char::is_control) {
            return Err(invalid(
                &spec.program,
                format!("the argument {arg:?} cannot go in a unit file"),
            ));
        }
        exec.push(' ');
        exec.push_str(&word(arg));
    }
    let mut env = String::new();
    for (name, value) in &spec.env {
        if !valid_env_name(name) {
            return Err(invalid(
                value,
                format!("'{name}' is not a name an environment variable can have"),
            ));
        }
        let value = path_text(value)?;
        env.push_str(&format!(
            "Environment={}\n",
            quoted(&format!("{name}={value}"), false)
        ));
    }
    Ok(format!(
        "{header}\
         [Unit]\n\
         Description=Ferry: scheduled sweep of leftover temp files\n\
         \n\
         [Service]\n\
         Type=oneshot\n\
         {env}\
         ExecStart={exec}\n\
         # A sweep stops itself after 10 minutes; this is a backstop.\n\
         TimeoutStartSec=15min\n\
         # A sweep is light, but it need not compete with what you are doing.\n\
         Nice=10\n\
         IOSchedulingClass=idle\n",
        header = header("to run Ferry's scheduled sweep", spec.interval),
    ))
}

fn timer_unit(interval: Duration) -> String {
    let every = span(interval);
    let catch_up = span(interval.min(CATCH_UP));
    // Late by at most a tenth of the interval (and a minute at most).
    let accuracy = span((interval / 10).clamp(Duration::from_secs(1), Duration::from_secs(60)));
    format!(
        "{header}\
         #\n\
         # `ferry sweep --scheduled` sweeps only when a scheduled sweep is due by the\n\
         # clock Ferry's window uses (one interval after the last sweep, and never\n\
         # sooner than one interval after the schedule was set); otherwise it does\n\
         # nothing. So this timer may look more often than it sweeps.\n\
         [Unit]\n\
         Description=Ferry: scheduled sweeps of leftover temp files ({schedule})\n\
         \n\
         [Timer]\n\
         # One interval after the timer starts (at install and at each log-in)...\n\
         OnActiveSec={every}\n\
         # ...and one interval after each run.\n\
         OnUnitInactiveSec={every}\n\
         # Catch-up, as Persistent= does for calendar timers: soon after you log in,\n\
         # a sweep that fell due while the computer was off runs.\n\
         OnStartupSec={catch_up}\n\
         AccuracySec={accuracy}\n\
         \n\
         [Install]\n\
         WantedBy=timers.target\n",
        header = header("for the schedule in Ferry's settings", interval),
        schedule = Schedule::Every(interval),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(program: &str) -> TimerSpec {
        TimerSpec {
            interval: Duration::from_secs(90 * 60),
            program: program.into(),
            args: vec!["sweep".into(), "--scheduled".into()],
            env: vec![("FERRY_DATA_DIR".into(), "/tmp/a \"b\" 100%".into())],
            place: TimerPlace {
                home: "/home/me".into(),
                config_home: None,
                ferry_config_dir: "/home/me/.config/ferry".into(),
            },
        }
    }

    #[test]
    fn spans_are_systemd_spans_and_read_back() {
        let h = 3600;
        for (secs, text) in [
            (60, "1min"),
            (6 * h, "6h"),
            (90 * 60, "1h 30min"),
            (7 * 24 * h, "7d"),
            (24 * h + 1, "1d 1s"),
        ] {
            assert_eq!(span(Duration::from_secs(secs)), text);
            assert_eq!(parse_span(text), Some(Duration::from_secs(secs)));
        }
        assert_eq!(
            parse_span("2d 5h 3min 1.5s"),
            Some(Duration::from_millis(
                ((2 * 24 + 5) * 3600 + 3 * 60) * 1000 + 1500
            ))
        );
        assert_eq!(parse_span("infinity"), None);
        assert_eq!(
            unix_time("@1767420000"),
            Some(SystemTime::UNIX_EPOCH + Duration::from_secs(1_767_420_000))
        );
        assert_eq!(unix_time("n/a"), None);
    }

    #[test]
    fn units_quote_what_systemd_would_expand() {
        let service = service_unit(&spec("/opt/my $apps/ferry%1")).unwrap();
        assert!(
            service.contains("ExecStart=\"/opt/my $$apps/ferry%%1\" sweep --scheduled\n"),
            "{service}"
        );
        assert!(
            service.contains("Environment=\"FERRY_DATA_DIR=/tmp/a \\\"b\\\" 100%%\"\n"),
            "{service}"
        );
        assert_eq!(
            read_marker(&service),
            Some(Schedule::Every(Duration::from_secs(5400)))
        );
        let timer = timer_unit(Duration::from_secs(90 * 60));
        assert!(timer.contains("OnUnitInactiveSec=1h 30min\n"), "{timer}");
        assert!(timer.contains("OnStartupSec=5min\n"), "{timer}");
        assert!(service_unit(&spec("/opt/a\nb")).is_err());
        let mut bad = spec("/usr/bin/ferry");
        bad.env[0].0 = "NOT A NAME".into();
        assert!(service_unit(&bad).is_err());
    }
}
