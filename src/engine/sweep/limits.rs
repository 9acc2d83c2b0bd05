//! When a scan or sweep must stop: its deadline or its cancel flag. One
//! [`Limits`] is shared by every thread of a walk and by the removals that
//! follow, so a stop seen by one is seen by all.

use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::time::{Duration, Instant};

use super::report::Stop;

const RUNNING: u8 = 0;
const DEADLINE: u8 = 1;
const CANCELLED: u8 = 2;

/// The deadline and cancel flag of one scan or sweep.
pub(super) struct Limits<'a> {
    deadline: Instant,
    cancel: Option<&'a AtomicBool>,
    stopped: AtomicU8,
}

impl<'a> Limits<'a> {
    pub fn new(time_limit: Duration, cancel: Option<&'a AtomicBool>) -> Self {
        Self {
            deadline: Instant::now()
                .checked_add(time_limit)
                .unwrap_or_else(|| Instant::now() + Duration::from_secs(86400 * 365)),
            cancel,
            stopped: AtomicU8::new(RUNNING),
        }
    }

    /// Records and reports a stop; once stopped, always stopped.
    pub fn check(&self) -> bool {
        if self.stopped.load(Ordering::Relaxed) != RUNNING {
            return true;
        }
        let stop = if self.cancel.is_some_and(|c| c.load(Ordering::Relaxed)) {
            CANCELLED
        } else if Instant::now() >= self.deadline {
            DEADLINE
        } else {
            return false;
        };
        // The first reason recorded wins.
        let _ = self
            .stopped
            .compare_exchange(RUNNING, stop, Ordering::Relaxed, Ordering::Relaxed);
        true
    }

    /// Why it stopped, if it did.
    pub fn stopped(&self) -> Option<Stop> {
        match self.stopped.load(Ordering::Relaxed) {
            DEADLINE => Some(Stop::Deadline),
            CANCELLED => Some(Stop::Cancelled),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stop_is_recorded_once_and_for_all() {
        let running = Limits::new(Duration::from_secs(60), None);
        assert!(!running.check());
        assert_eq!(running.stopped(), None);

        let late = Limits::new(Duration::ZERO, None);
        assert!(late.check());
        assert_eq!(late.stopped(), Some(Stop::Deadline));

        let cancel = AtomicBool::new(false);
        let limits = Limits::new(Duration::from_secs(60), Some(&cancel));
        assert!(!limits.check());
        cancel.store(true, Ordering::Relaxed);
        assert!(limits.check());
        cancel.store(false, Ordering::Relaxed);
        assert!(limits.check(), "once stopped, always stopped");
        assert_eq!(limits.stopped(), Some(Stop::Cancelled));
    }
}
