//! When scheduled sweeps run: [`Schedule`] (a setting) and [`Scheduler`]
//! (a pure clock the engine's timer consults).
//!
//! ```
//! use ferry_engine::sweep::{Schedule, Scheduler};
//! use std::time::{Duration, SystemTime};
//!
//! let hour = Duration::from_secs(3600);
//! let now = SystemTime::now();
//! let mut s = Scheduler::new(Schedule::Every(hour), Some(now - 2 * hour));
//! assert!(s.is_due(now));
//! s.record_run(now);
//! assert_eq!(s.next_due(now), Some(now + hour));
//! assert_eq!(s.time_until_due(now), Some(hour));
//! assert_eq!("every 6h".parse::<Schedule>(), Ok(Schedule::Every(6 * hour)));
//! ```

use std::fmt;
use std::path::Path;
use std::str::FromStr;
use std::time::{Duration, SystemTime};

use super::log;
use crate::error::Result;

/// How long to wait before retrying a scheduled sweep that could not start
/// (another sweep was running), at most the interval itself.
pub const RETRY_DELAY: Duration = Duration::from_secs(60);

/// When to sweep on a timer. Written `"off"` or `"every 6h"` in the
/// settings (any humantime duration: `90m`, `2h`, `1day`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Schedule {
    /// Only when asked.
    #[default]
    Off,
    /// Every so often.
    Every(Duration),
}

impl fmt::Display for Schedule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Off => f.write_str("off"),
            Self::Every(d) => write!(f, "every {}", humantime::format_duration(*d)),
        }
    }
}

impl FromStr for Schedule {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        if s == "off" {
            return Ok(Self::Off);
        }
        let Some(every) = s.strip_prefix("every ") else {
            return Err(format!(
                "the schedule '{s}' is not understood; write \"off\" or \"every 6h\""
            ));
        };
        humantime::parse_duration(every.trim())
            .map(Self::Every)
            .map_err(|e| format!("the schedule '{s}' has a bad duration: {e}"))
    }
}

impl serde::Serialize for Schedule {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for Schedule {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// Decides when the next scheduled sweep is due, from the schedule and the
/// last sweep's time. It does no I/O except in [`Scheduler::load`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scheduler {
    schedule: Schedule,
    last_run: Option<SystemTime>,
    retry_at: Option<SystemTime>,
}

impl Scheduler {
    /// A scheduler for `schedule` whose last sweep finished at `last_run`.
    pub fn new(schedule: Schedule, last_run: Option<SystemTime>) -> Self {
        Self {
            schedule,
            last_run,
            retry_at: None,
        }
    }

    /// A scheduler that starts from the last sweep recorded in the data
    /// directory (manual sweeps count: they reset the timer).
    pub fn load(schedule: Schedule) -> Result<Self> {
        Ok(Self::new(schedule, log::load_state()?.last_run))
    }

    /// [`Scheduler::load`] with an explicit data directory.
    pub fn load_in(schedule: Schedule, data_dir: &Path) -> Result<Self> {
        Ok(Self::new(schedule, log::load_state_in(data_dir)?.last_run))
    }

    /// The schedule.
    pub fn schedule(&self) -> Schedule {
        self.schedule
    }

    /// Changes the schedule (the settings were saved).
    pub fn set_schedule(&mut self, schedule: Schedule) {
        self.schedule = schedule;
    }

    /// When the last sweep finished.
    pub fn last_run(&self) -> Option<SystemTime> {
        self.last_run
    }

    /// When the next sweep is due; `None` when the schedule is off. Never
    /// having swept means due now; a last run further in the future than
    /// one interval (the clock went back) also means due now.
    pub fn next_due(&self, now: SystemTime) -> Option<SystemTime> {
        let Schedule::Every(interval) = self.schedule else {
            return None;
        };
        let due = match self.last_run {
            None => now,
            Some(last) if last > now + interval => now,
            Some(last) => last.checked_add(interval).unwrap_or(now),
        };
        Some(self.retry_at.map_or(due, |retry| due.max(retry)))
    }

    /// Whether a sweep is due at `now`.
    pub fn is_due(&self, now: SystemTime) -> bool {
        self.next_due(now).is_some_and(|due| due <= now)
    }

    /// How long the engine's timer should wait before the next sweep
    /// (zero when due); `None` when the schedule is off.
    pub fn time_until_due(&self, now: SystemTime) -> Option<Duration> {
        self.next_due(now)
            .map(|due| due.duration_since(now).unwrap_or(Duration::ZERO))
    }

    /// Records a sweep (scheduled or manual) that finished at `at`.
    pub fn record_run(&mut self, at: SystemTime) {
        self.last_run = Some(at);
        self.retry_at = None;
    }

    /// Records that a due sweep could not run at `now`: try again after
    /// [`RETRY_DELAY`] (or the interval, if shorter).
    pub fn postpone(&mut self, now: SystemTime) {
        let delay = match self.schedule {
            Schedule::Every(interval) => interval.min(RETRY_DELAY),
            Schedule::Off => RETRY_DELAY,
        };
        self.retry_at = Some(now + delay);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schedule_text_round_trips_and_off_is_never_due() {
        for s in [Schedule::Off, Schedule::Every(Duration::from_secs(90 * 60))] {
            assert_eq!(s.to_string().parse::<Schedule>(), Ok(s));
        }
        assert!("sometimes".parse::<Schedule>().is_err());
        assert!("every later".parse::<Schedule>().is_err());
        let now = SystemTime::now();
        let off = Scheduler::new(Schedule::Off, None);
        assert!(!off.is_due(now));
        assert_eq!(off.time_until_due(now), None);
    }

    #[test]
    fn never_run_is_due_and_failures_back_off() {
        let minute = Duration::from_secs(60);
        let now = SystemTime::now();
        let mut s = Scheduler::new(Schedule::Every(10 * minute), None);
        assert!(s.is_due(now));
        s.postpone(now);
        assert!(!s.is_due(now));
        assert!(s.is_due(now + RETRY_DELAY));
        s.record_run(now);
        assert_eq!(s.next_due(now), Some(now + 10 * minute));
        // The clock went back a day: sweep now rather than in a day.
        let s = Scheduler::new(Schedule::Every(10 * minute), Some(now + 1440 * minute));
        assert!(s.is_due(now));
    }
}
