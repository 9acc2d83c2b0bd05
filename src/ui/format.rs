//! Numbers for people: bytes, rates, durations and moments.

use std::path::Path;
use std::sync::OnceLock;
use std::time::{Duration, SystemTime};

use jiff::Timestamp;
use jiff::tz::TimeZone;

use ferry_engine::{ConflictPolicy, FileError};

pub use ferry_engine::format::bytes;

/// The folder holding `path` (`.` for a bare name).
pub fn parent_dir(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

/// A transfer rate: `12.3 MiB/s` (a dash when nothing moves).
pub fn rate(bytes_per_second: f64) -> String {
    if !bytes_per_second.is_finite() || bytes_per_second < 1.0 {
        "–".to_string()
    } else {
        format!("{}/s", bytes(bytes_per_second as u64))
    }
}

/// A duration, rounded to its two largest units (`45s`, `3m 20s`,
/// `2h 5m`, `3days 4h`; below a second, milliseconds), written by
/// `humantime`.
pub fn duration(d: Duration) -> String {
    const UNITS: [u64; 4] = [86_400, 3600, 60, 1];
    let secs = d.as_secs();
    let rounded = match UNITS.iter().position(|&unit| secs >= unit) {
        // Keep the largest unit and the next one, drop the rest.
        Some(i) => {
            let keep = UNITS.get(i + 1).copied().unwrap_or(1);
            Duration::from_secs(secs - secs % keep)
        }
        None => Duration::from_millis(d.as_millis() as u64),
    };
    humantime::format_duration(rounded).to_string()
}

/// Time left: `about 2m 10s`, or a dash when unknown.
pub fn eta(eta: Option<Duration>) -> String {
    match eta {
        Some(d) => format!("{} left", duration(Duration::from_secs(d.as_secs().max(1)))),
        None => "–".to_string(),
    }
}

/// A moment relative to `now`: `just now`, `5m ago`, `in 2h`.
pub fn moment(time: SystemTime, now: SystemTime) -> String {
    match now.duration_since(time) {
        Ok(past) if past < Duration::from_secs(5) => "just now".to_string(),
        Ok(past) => format!("{} ago", span(past)),
        Err(future) => {
            let ahead = future.duration();
            if ahead < Duration::from_secs(5) {
                "now".to_string()
            } else {
                format!("in {}", span(ahead))
            }
        }
    }
}

/// How far a moment is, as people say it: `5m`, `2h 5m` within a day,
/// then in one word-sized unit: `3 days`, `2 months`, `6 years`.
fn span(d: Duration) -> String {
    const DAY: u64 = 86_400;
    let secs = d.as_secs();
    let (n, unit) = match secs {
        s if s < DAY => return duration(Duration::from_secs(s)),
        s if s < 31 * DAY => (s / DAY, "day"),
        // Average months and years (30.44 and 365.25 days).
        s if s < 365 * DAY => (s * 100 / (3044 * DAY), "month"),
        s => (s * 100 / (36_525 * DAY), "year"),
    };
    let n = n.max(1);
    format!("{n} {unit}{}", if n == 1 { "" } else { "s" })
}

static ZONE: OnceLock<TimeZone> = OnceLock::new();
static UTC: TimeZone = TimeZone::UTC;

/// Reads the system's time zone (the `TZ` variable or `/etc/localtime`)
/// once, so that [`clock`] never touches the disk. Called before the event
/// loop starts; until then (and if there is none) clock times are in UTC.
pub fn load_time_zone() {
    ZONE.get_or_init(|| TimeZone::try_system().unwrap_or(TimeZone::UTC));
}

fn zone() -> &'static TimeZone {
    ZONE.get().unwrap_or(&UTC)
}

/// A moment as a local clock time, as short as it can be said next to
/// `now`: `14:20` today, `tomorrow 14:20`, `yesterday 09:05`, `Tue 14:20`
/// within a week, `2026-11-22 14:20` otherwise.
pub fn clock(time: SystemTime, now: SystemTime) -> String {
    let (Ok(at), Ok(today)) = (Timestamp::try_from(time), Timestamp::try_from(now)) else {
        return "?".to_string();
    };
    let (at, today) = (zone().to_datetime(at), zone().to_datetime(today));
    let hm = at.strftime("%H:%M").to_string();
    let days = today
        .date()
        .until(at.date())
        .map_or(i64::MAX, |span| i64::from(span.get_days()));
    match days {
        0 => hm,
        1 => format!("tomorrow {hm}"),
        -1 => format!("yesterday {hm}"),
        -6..=6 => format!("{} {hm}", at.strftime("%a")),
        _ => format!("{} {hm}", at.strftime("%Y-%m-%d")),
    }
}

/// A moment on a chart's time axis: `14:00`, the day at midnight (`Sun`),
/// or the day and date (`Sun 29`) for marks a day or more apart.
pub fn clock_mark(time: SystemTime, step: Duration) -> String {
    let Ok(at) = Timestamp::try_from(time) else {
        return String::new();
    };
    let at = zone().to_datetime(at);
    if step >= Duration::from_secs(86_400) {
        at.strftime("%a %d").to_string()
    } else if at.hour() == 0 && at.minute() == 0 {
        // Midnight names the day that starts.
        at.strftime("%a").to_string()
    } else {
        at.strftime("%H:%M").to_string()
    }
}

/// How far the local zone is ahead of UTC at `time`, in seconds.
pub fn utc_offset(time: SystemTime) -> i64 {
    Timestamp::try_from(time).map_or(0, |t| i64::from(zone().to_offset(t).seconds()))
}

/// Text from the engine made drawable with the window's fonts (which have
/// no arrows): `a → b` becomes `a -> b`.
pub fn drawable(text: &str) -> String {
    text.replace('→', "->")
}

/// Why a file failed, without its paths, in the window's words: a file
/// already at the destination is told with the window's own choices.
pub fn failure_reason(f: &FileError) -> String {
    if f.conflict {
        return "a file of that name is already there and was left as it was; retry with \
                \"Replace\", \"Skip\" or \"Keep both\" to go on"
            .into();
    }
    let reason = if f.reason.is_empty() {
        &f.message
    } else {
        &f.reason
    };
    drawable(reason)
}

/// What happened to a file, with its path, in the window's words.
pub fn failure_message(f: &FileError) -> String {
    if f.conflict {
        let dest = f.dest.as_ref().unwrap_or(&f.path);
        return format!(
            "'{}' already exists at the destination and was left as it was",
            dest.display()
        );
    }
    drawable(&f.message)
}

/// `1 file`, `3 files`.
pub fn count(n: u64, one: &str, many: &str) -> String {
    if n == 1 {
        format!("1 {one}")
    } else {
        format!("{n} {many}")
    }
}

/// A conflict policy in words.
pub fn policy(policy: ConflictPolicy) -> &'static str {
    match policy {
        ConflictPolicy::Ask => "Ask me",
        ConflictPolicy::Fail => "Leave it and report it",
        ConflictPolicy::Overwrite => "Replace it",
        ConflictPolicy::Skip => "Keep it (skip)",
        ConflictPolicy::Rename => "Keep both (rename)",
        ConflictPolicy::Newer => "Replace if older",
    }
}

/// What a conflict policy does, in a sentence (hover text).
pub fn policy_help(policy: ConflictPolicy) -> &'static str {
    match policy {
        ConflictPolicy::Ask => "Ask for each file, showing both; the other files go on meanwhile",
        ConflictPolicy::Fail => "Leave the existing file untouched and list this one as not copied",
        ConflictPolicy::Overwrite => "Replace the existing file with the new one",
        ConflictPolicy::Skip => "Keep the existing file and skip the new one",
        ConflictPolicy::Rename => "Keep both: the new one goes beside it as \"name (1).ext\"",
        ConflictPolicy::Newer => "Replace the existing file only if the new one was modified later",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn human_numbers() {
        assert_eq!(bytes(0), "0 B");
        assert_eq!(bytes(1023), "1023 B");
        assert_eq!(bytes(1536), "1.5 KiB");
        assert_eq!(bytes(5 * 1024 * 1024 * 1024), "5.0 GiB");
        assert_eq!(rate(0.0), "–");
        assert_eq!(rate(2.0 * 1024.0 * 1024.0), "2.0 MiB/s");
        assert_eq!(duration(Duration::ZERO), "0s");
        assert_eq!(duration(Duration::from_millis(250)), "250ms");
        assert_eq!(duration(Duration::from_secs(45)), "45s");
        assert_eq!(duration(Duration::from_secs(200)), "3m 20s");
        assert_eq!(duration(Duration::from_secs(3600)), "1h");
        assert_eq!(duration(Duration::from_secs(7500)), "2h 5m");
        assert_eq!(duration(Duration::from_secs(86_400)), "1day");
        assert_eq!(
            duration(Duration::from_secs(3 * 86_400 + 4 * 3600 + 59)),
            "3days 4h"
        );
        assert_eq!(eta(None), "–");
        assert_eq!(eta(Some(Duration::from_millis(10))), "1s left");
        let now = SystemTime::now();
        assert_eq!(moment(now, now), "just now");
        assert_eq!(moment(now - Duration::from_secs(300), now), "5m ago");
        assert_eq!(moment(now + Duration::from_secs(7200), now), "in 2h");
        let day = 86_400;
        let ago = |secs: u64| moment(now - Duration::from_secs(secs), now);
        assert_eq!(ago(day + 3600), "1 day ago");
        assert_eq!(ago(3 * day + 5 * 3600), "3 days ago");
        assert_eq!(ago(65 * day), "2 months ago");
        assert_eq!(ago(6 * 365 * day + 300 * day), "6 years ago");
        assert_eq!(count(1, "file", "files"), "1 file");
        assert_eq!(count(2, "file", "files"), "2 files");
    }

    #[test]
    fn clock_times() {
        // Without a loaded zone, UTC.
        let noon = SystemTime::UNIX_EPOCH
            + Duration::from_secs(1_795_000_000 / 86_400 * 86_400)
            + Duration::from_secs(12 * 3600 + 20 * 60);
        assert_eq!(clock(noon, noon), "12:20");
        let hour = Duration::from_secs(3600);
        assert_eq!(clock(noon + 12 * hour, noon), "tomorrow 00:20");
        assert_eq!(clock(noon - 13 * hour, noon), "yesterday 23:20");
        assert_eq!(clock(noon + 72 * hour, noon).len(), "Tue 12:20".len());
        assert!(clock(noon + 24 * 30 * hour, noon).ends_with(" 12:20"));
        assert_eq!(
            clock(noon + 24 * 30 * hour, noon).len(),
            "2026-11-22 12:20".len()
        );
    }
}
