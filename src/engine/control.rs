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

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Condvar, Mutex};
use std::time::Duration;

/// Flags a worker checks before each chunk of I/O.
#[derive(Debug, Default)]
pub struct Control {
    cancelled: AtomicBool,
    interrupted: AtomicBool,
    paused: AtomicBool,
    gate: Mutex<()>,
    wake: Condvar,
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

    fn notify(&self) {
        let _guard = self.gate.lock().unwrap_or_else(|e| e.into_inner());
        self.wake.notify_all();
    }
}
