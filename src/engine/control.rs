//! Pause, resume and cancel for running work, checked between chunks.
//!
//! ```
//! use ferry_engine::control::Control;
//! use std::sync::Arc;
//!
//! let control = Arc::new(Control::default());
//! control.pause();
//! let worker = {
//!     let control = control.clone();
//!     std::thread::spawn(move || control.checkpoint()) // blocks while paused
//! };
//! control.cancel();
//! assert!(!worker.join().unwrap(), "a cancelled checkpoint returns false");
//! ```

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Condvar, Mutex};
use std::time::Duration;

use super::job::Answer;

/// Flags a worker checks before each chunk of I/O.
#[derive(Debug, Default)]
pub struct Control {
    cancelled: AtomicBool,
    interrupted: AtomicBool,
    paused: AtomicBool,
    gate: Mutex<()>,
    wake: Condvar,
    answers: Mutex<VecDeque<Answer>>,
}

impl Control {
    /// Asks the work to stop; also ends a pause.
    pub fn cancel(&self) {
        self.cancelled.store(true, Ordering::SeqCst);
        self.notify();
    }

    /// Stops the work because the process is going away (a signal): like
    /// [`cancel`](Self::cancel), but the job stays journaled so it can be
    /// resumed.
    pub fn interrupt(&self) {
        self.interrupted.store(true, Ordering::SeqCst);
        self.cancel();
    }

    /// Whether the work was stopped by [`interrupt`](Self::interrupt).
    pub fn is_interrupted(&self) -> bool {
        self.interrupted.load(Ordering::SeqCst)
    }

    /// Holds the work at its next checkpoint.
    pub fn pause(&self) {
        self.paused.store(true, Ordering::SeqCst);
    }

    /// Lets paused work go on.
    pub fn resume(&self) {
        self.paused.store(false, Ordering::SeqCst);
        self.notify();
    }

    /// Whether cancel was asked.
    pub fn is_cancelled(&self) -> bool {
        self.cancelled.load(Ordering::SeqCst)
    }

    /// Whether the work is paused.
    pub fn is_paused(&self) -> bool {
        self.paused.load(Ordering::SeqCst)
    }

    /// The cancel flag, for waits that poll a flag (lock waits).
    pub fn cancel_flag(&self) -> &AtomicBool {
        &self.cancelled
    }

    /// Waits while paused. Returns `false` if the work must stop.
    pub fn checkpoint(&self) -> bool {
        let mut guard = self.gate.lock().unwrap_or_else(|e| e.into_inner());
        while self.is_paused() && !self.is_cancelled() {
            guard = self
                .wake
                .wait_timeout(guard, Duration::from_millis(200))
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
        !self.is_cancelled()
    }

    /// Hands the job a person's answer to one of its conflicts.
    pub fn answer(&self, answer: Answer) {
        self.answers
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push_back(answer);
        self.notify();
    }

    /// The answers that arrived since the last call.
    pub fn take_answers(&self) -> Vec<Answer> {
        self.answers
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .drain(..)
            .collect()
    }

    /// Waits up to `timeout` for an answer (less if the work is cancelled);
    /// `None` if none came.
    pub fn wait_answer(&self, timeout: Duration) -> Option<Answer> {
        let guard = self.gate.lock().unwrap_or_else(|e| e.into_inner());
        let pending = |c: &Self| {
            c.answers
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .pop_front()
        };
        if let Some(answer) = pending(self) {
            return Some(answer);
        }
        if self.is_cancelled() {
            return None;
        }
        let _ = self
            .wake
            .wait_timeout(guard, timeout)
            .unwrap_or_else(|e| e.into_inner());
        pending(self)
    }

    fn notify(&self) {
        let _guard = self.gate.lock().unwrap_or_else(|e| e.into_inner());
        self.wake.notify_all();
    }
}
