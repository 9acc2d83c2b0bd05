//! Numbers for people: bytes, rates, durations and moments.

use std::time::{Duration, SystemTime};

use ferry_engine::atomic::ConflictPolicy;

pub use ferry_engine::format::bytes;

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
        Ok(past) => format!("{} ago", duration(Duration::from_secs(past.as_secs()))),
        Err(future) => {
            let ahead = future.duration();
            if ahead < Duration::from_secs(5) {
                "now".to_string()
            } else {
                format!("in {}", duration(Duration::from_secs(ahead.as_secs())))
            }
        }
    }
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
        assert_eq!(count(1, "file", "files"), "1 file");
        assert_eq!(count(2, "file", "files"), "2 files");
    }
}
