//! Everything that touches the disk. No UI code lives here: the GUI and the
//! command line are two clients of the same engine.
//!
//! * [`atomic`]: the atomic write protocol (temp, lock, fsync, rename, dir fsync).
//! * [`caps`]: what a destination filesystem can keep, probed with real calls.
//! * [`lock`]: advisory locks and the destination sidecar lock.
//! * [`copy`]: copying one regular file through the protocol.
//! * [`plan`]: validating a request and pairing sources with destinations.
//! * [`names`]: Ferry's temp and lock file names.
//! * [`dirs`]: the config and data folders.
//! * [`error`]: the one error type.
//! * [`platform`]: operating-system specifics, behind `cfg`.
//! * [`timer`]: the per-user timer (systemd, launchd, Task Scheduler) that
//!   runs scheduled sweeps while Ferry is closed.

pub mod atomic;
pub mod control;
pub mod copy;
pub mod dirs;
pub mod error;
pub mod faults;
pub mod format;
pub mod handle;
pub mod history;
pub mod inspect;
pub mod job;
pub mod journal;
pub mod jsonl;
pub mod known_dirs;
pub mod lock;
pub mod manifest;
pub mod names;
pub mod os;
pub mod plan;
pub use os::caps;
pub mod settings;
pub mod sweep;
pub mod sweeper;
pub mod timer;
pub mod transfer;

pub use error::{Error, ErrorKind, Operation, Result};

/// The README's examples, compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
pub struct ReadmeDoctests;
