//! Systems without a per-user timer Ferry knows how to write.

use std::path::PathBuf;

use super::{Installed, Manager, Removed, TimerPlace, TimerSpec, TimerStatus};
use crate::error::{Error, ErrorKind, Operation, Result};

/// The scheduler, for people.
pub const MANAGER: &str = "no scheduler";

pub fn files(_place: &TimerPlace) -> Vec<PathBuf> {
    Vec::new()
}

pub fn install(spec: &TimerSpec) -> Result<Installed> {
    Err(Error::new(
        ErrorKind::Unsupported,
        Operation::Validate,
        &spec.program,
        "scheduled sweeps while Ferry is closed need systemd (Linux), launchd (macOS) or \
         Task Scheduler (Windows); run `ferry sweep --scheduled` from your own scheduler",
    ))
}

pub fn remove(_place: &TimerPlace) -> Result<Removed> {
    Ok(Removed {
        files: Vec::new(),
        manager_problem: None,
    })
}

pub fn status(_place: &TimerPlace) -> Result<TimerStatus> {
    Ok(TimerStatus {
        installed: false,
        files: Vec::new(),
        schedule: None,
        command: None,
        manager: Manager::Unreachable("this system has no per-user timer Ferry can use".into()),
        next_run: None,
        last_run: None,
        last_sweep: None,
    })
}
