//! When scheduled sweeps run: [`Schedule`] (a setting) and [`Scheduler`]
//! (a clock the engine's timer consults).
//!
//! Setting a schedule never sweeps at once: the first scheduled sweep is one
//! interval after the schedule was set, however long ago the last sweep
//! was (or if there never was one). The time it was set is kept in the
//! data directory (`sweep-schedule.json`), so a restart of the app keeps
//! it; a schedule found at start-up without a recorded time (set by an
//! older version, or by editing the settings file) counts as set then.
//!
//! ```
//! use ferry_engine::{Schedule, Scheduler};
//! use std::time::{Duration, SystemTime};
//!
//! let hour = Duration::from_secs(3600);
//! let now = SystemTime::now();
//! // Swept two hours ago, schedule unchanged: due (a run was missed).
//! let mut s = Scheduler::new(Schedule::Every(hour), Some(now - 2 * hour));
//! assert!(s.is_due(now));
//! s.record_run(now);
//! assert_eq!(s.next_due(now), Some(now + hour));
//! assert_eq!(s.time_until_due(now), Some(hour));
//! // A new schedule set now: due one interval from now, not at once.
//! let mut s = Scheduler::new(Schedule::Off, Some(now - 2 * hour));
//! s.set_schedule_at(Schedule::Every(hour), now).unwrap();
//! assert_eq!(s.next_due(now), Some(now + hour));
//! assert_eq!("every 6h".parse::<Schedule>(), Ok(Schedule::Every(6 * hour)));
//! ```

use std::fmt;
use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::{Duration, SystemTime};

use super::log::{self, parse_time};
use crate::atomic::{AtomicFile, CommitOptions, ConflictPolicy};
use crate::dirs;
use crate::error::{Error, ErrorKind, Operation, Result};

/// The file in the data directory that records when the current schedule
/// was set: `{"schedule":"every 6h","since":"2026-11-22T00:15:00Z"}`.
pub const SCHEDULE_FILE: &str = "sweep-schedule.json";

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

/// Decides when the next scheduled sweep is due, from the schedule, when
/// it was set and the last sweep's time. It does no I/O except where it
/// loads or keeps the time the schedule was set ([`Scheduler::load_in`],
/// [`Scheduler::start_in`], [`Scheduler::set_schedule_at`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scheduler {
    schedule: Schedule,
    last_run: Option<SystemTime>,
    retry_at: Option<SystemTime>,
    /// When the schedule was set: no scheduled sweep before one interval
    /// after it.
    since: Option<SystemTime>,
    /// Where `since` is kept.
    data_dir: Option<PathBuf>,
}

impl Scheduler {
    /// A scheduler for `schedule` whose last sweep finished at `last_run`,
    /// with no record of when the schedule was set (so a run is due one
    /// interval after `last_run`, or at once if there was none).
    pub fn new(schedule: Schedule, last_run: Option<SystemTime>) -> Self {
        Self {
            schedule,
            last_run,
            retry_at: None,
            since: None,
            data_dir: None,
        }
    }

    /// A scheduler that starts from the last sweep recorded in `data_dir`
    /// (manual sweeps count: they reset the timer) and from when the
    /// schedule was set, if that was recorded for this schedule; it also
    /// keeps the time a schedule is set there from now on.
    pub fn load_in(schedule: Schedule, data_dir: &Path) -> Result<Self> {
        let mut scheduler = Self::new(schedule, log::load_state_in(data_dir)?.last_run);
        scheduler.since = load_since(data_dir, schedule);
        scheduler.data_dir = Some(data_dir.to_path_buf());
        Ok(scheduler)
    }

    /// The scheduler of an app starting at `now` with `schedule`: as
    /// [`Scheduler::load_in`], except that a schedule with no recorded
    /// time of setting (or one recorded in the future: the clock went
    /// back) counts as set `now`, and that is recorded. Problems reading
    /// or writing the data directory are not errors here: at worst the
    /// first run comes one interval after this start.
    pub fn start_in(schedule: Schedule, data_dir: &Path, now: SystemTime) -> Self {
        let mut scheduler = Self::load_in(schedule, data_dir).unwrap_or_else(|_| {
            let mut fresh = Self::new(schedule, None);
            fresh.data_dir = Some(data_dir.to_path_buf());
            fresh
        });
        if matches!(schedule, Schedule::Every(_)) && scheduler.since.is_none_or(|since| since > now)
        {
            scheduler.since = Some(now);
            let _ = save_since(data_dir, schedule, now);
        }
        scheduler
    }

    /// The schedule.
    pub fn schedule(&self) -> Schedule {
        self.schedule
    }

    /// Changes the schedule (the settings were saved): see
    /// [`Scheduler::set_schedule_at`]; a failure to record the time is
    /// ignored.
    pub fn set_schedule(&mut self, schedule: Schedule) {
        let _ = self.set_schedule_at(schedule, SystemTime::now());
    }

    /// Changes the schedule at `now`. A schedule that differs from the
    /// current one counts from `now`: its first sweep is one interval
    /// later, never at once. The same schedule saved again changes nothing.
    /// Where the scheduler was loaded from a data directory, the time is
    /// recorded there (the error says if it could not be).
    pub fn set_schedule_at(&mut self, schedule: Schedule, now: SystemTime) -> Result<()> {
        if schedule == self.schedule {
            return Ok(());
        }
        self.schedule = schedule;
        self.retry_at = None;
        self.since = matches!(schedule, Schedule::Every(_)).then_some(now);
        match &self.data_dir {
            Some(dir) => save_since(dir, schedule, now),
            None => Ok(()),
        }
    }

    /// When the current schedule was set, if known.
    pub fn since(&self) -> Option<SystemTime> {
        self.since
    }

    /// When the last sweep finished.
    pub fn last_run(&self) -> Option<SystemTime> {
        self.last_run
    }

    /// When the next sweep is due; `None` when the schedule is off. It is
    /// one interval after the last run and never sooner than one interval
    /// after the schedule was set. Without either (never swept, no record
    /// of setting) it is due now; a last run further in the future than one
    /// interval (the clock went back) does not count.
    pub fn next_due(&self, now: SystemTime) -> Option<SystemTime> {
        let Schedule::Every(interval) = self.schedule else {
            return None;
        };
        let after_last = match self.last_run {
            Some(last) if last > now + interval => None,
            Some(last) => Some(last.checked_add(interval).unwrap_or(now)),
            None => None,
        };
        let after_set = self
            .since
            .map(|since| since.checked_add(interval).unwrap_or(now));
        let due = match (after_last, after_set) {
            (Some(a), Some(b)) => a.max(b),
            (Some(t), None) | (None, Some(t)) => t,
            (None, None) => now,
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
    /// `RETRY_DELAY`, a minute (or the interval, if shorter).
    pub fn postpone(&mut self, now: SystemTime) {
        let delay = match self.schedule {
            Schedule::Every(interval) => interval.min(RETRY_DELAY),
            Schedule::Off => RETRY_DELAY,
        };
        self.retry_at = Some(now + delay);
    }
}

#[derive(serde::Serialize, serde::Deserialize)]
struct SinceFile {
    schedule: Schedule,
    since: String,
}

/// When `schedule` was set, as recorded in `data_dir` (`None` if another
/// schedule, or nothing readable, is recorded).
fn load_since(data_dir: &Path, schedule: Schedule) -> Option<SystemTime> {
    let bytes = fs::read(data_dir.join(SCHEDULE_FILE)).ok()?;
    let file: SinceFile = serde_json::from_slice(&bytes).ok()?;
    (file.schedule == schedule)
        .then(|| parse_time(&file.since))
        .flatten()
}

/// Records atomically in `data_dir` that `schedule` was set at `at`
/// (removes the record when the schedule is off).
fn save_since(data_dir: &Path, schedule: Schedule, at: SystemTime) -> Result<()> {
    let path = data_dir.join(SCHEDULE_FILE);
    if schedule == Schedule::Off {
        return match fs::remove_file(&path) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => {
                Err(Error::io(Operation::State, &path, e))
            }
            _ => Ok(()),
        };
    }
    dirs::ensure(data_dir.to_path_buf())?;
    let file = SinceFile {
        schedule,
        // To the nanosecond: rounded to the second, it could come early.
        since: humantime::format_rfc3339_nanos(at).to_string(),
    };
    let json = serde_json::to_vec_pretty(&file)
        .map_err(|e| Error::new(ErrorKind::Io, Operation::State, &path, e.to_string()))?;
    let mut out = AtomicFile::create(&path)?;
    out.write_all(&json)
        .and_then(|()| out.write_all(b"\n"))
        .map_err(|e| Error::io(Operation::Write, &path, e))?;
    out.commit(&CommitOptions::new(ConflictPolicy::Overwrite))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_schedule_waits_one_interval_however_old_the_last_run() {
        let hour = Duration::from_secs(3600);
        let now = SystemTime::now();
        for last_run in [None, Some(now - 30 * hour), Some(now - hour / 2)] {
            let mut s = Scheduler::new(Schedule::Off, last_run);
            s.set_schedule_at(Schedule::Every(hour), now).unwrap();
            assert!(!s.is_due(now), "{last_run:?}");
            assert_eq!(s.next_due(now), Some(now + hour), "{last_run:?}");
            assert!(s.is_due(now + hour));
            // Saving the same schedule again does not restart the count.
            s.set_schedule_at(Schedule::Every(hour), now + hour / 2)
                .unwrap();
            assert_eq!(s.next_due(now), Some(now + hour));
        }
        // Changing the interval counts from the change.
        let mut s = Scheduler::new(Schedule::Every(hour), Some(now - 5 * hour));
        s.set_schedule_at(Schedule::Every(2 * hour), now).unwrap();
        assert_eq!(s.next_due(now), Some(now + 2 * hour));
        s.set_schedule_at(Schedule::Off, now).unwrap();
        assert_eq!(s.next_due(now), None);
    }

    #[test]
    fn the_time_a_schedule_was_set_survives_a_restart() {
        let data = tempfile::tempdir().unwrap();
        let hour = Duration::from_secs(3600);
        let set = parse_time("2030-01-01T10:00:00Z").unwrap();
        let every = Schedule::Every(hour);
        let mut s = Scheduler::load_in(Schedule::Off, data.path()).unwrap();
        s.set_schedule_at(every, set).unwrap();
        // Restarted a minute later, still never swept: due an hour after
        // it was set, not at once.
        let restart = set + Duration::from_secs(60);
        let s = Scheduler::start_in(every, data.path(), restart);
        assert_eq!(s.since(), Some(set));
        assert_eq!(s.next_due(restart), Some(set + hour));
        // A schedule nobody recorded counts from the start, and is recorded.
        let other = Schedule::Every(2 * hour);
        let s = Scheduler::start_in(other, data.path(), restart);
        assert_eq!(s.next_due(restart), Some(restart + 2 * hour));
        assert_eq!(load_since(data.path(), other), Some(restart));
        // Turned off: the record goes.
        let mut s = Scheduler::load_in(other, data.path()).unwrap();
        s.set_schedule_at(Schedule::Off, restart).unwrap();
        assert!(!data.path().join(SCHEDULE_FILE).exists());
    }

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
