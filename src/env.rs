//! What the binary reads from its environment and hands to the engine (the
//! engine itself reads no environment variables).
//!
//! * `FERRY_DATA_DIR`, `FERRY_CONFIG_DIR`: where journals, logs and
//!   settings live, instead of the platform's folders (tests, portable use).
//! * `HOME`, `XDG_CONFIG_HOME` (`USERPROFILE` on Windows): where `ferry
//!   schedule` puts the per-user timer (read in `cli::schedule`, handed to
//!   the engine's timer calls as a `TimerPlace`).
//! * With the `fault-injection` feature (tests only): `FERRY_FAULT_CHUNK_DELAY_MS=N`
//!   and `FERRY_FAULT_ENTRY_DELAY_MS=N` (sleep before each chunk / entry),
//!   `FERRY_FAULT_FLIP_BYTE=1` (corrupt each temp before it is verified),
//!   `FERRY_FAULT_BUFFERED=1` (no kernel copy or reflink),
//!   `FERRY_FAULT_KILL_AT=POINT[:N]` (SIGKILL at the N-th pass of a crash
//!   point, default the first) and `FERRY_FAULT_PANIC_AT=POINT`.

use std::path::PathBuf;

use ferry_engine::{Error, ErrorKind, Operation};

/// Environment variable overriding the config directory.
pub const CONFIG_DIR_ENV: &str = "FERRY_CONFIG_DIR";
/// Environment variable overriding the data directory.
pub const DATA_DIR_ENV: &str = "FERRY_DATA_DIR";

/// Ferry's two folders.
#[derive(Debug, Clone)]
pub struct Dirs {
    /// Journals, logs, remembered folders, window state.
    pub data: PathBuf,
    /// Settings.
    pub config: PathBuf,
}

/// The platform's folders for Ferry (from the `directories` crate), each
/// overridden by its environment variable; neither is created here.
pub fn dirs() -> Result<Dirs, Error> {
    let project = directories::ProjectDirs::from("org", "Ferry", "ferry");
    let pick = |var: &str, fallback: Option<PathBuf>| {
        if let Some(dir) = std::env::var_os(var).filter(|v| !v.is_empty()) {
            return Ok(PathBuf::from(dir));
        }
        fallback.ok_or_else(|| {
            Error::new(
                ErrorKind::NotFound,
                Operation::State,
                var,
                format!("no home folder was found; set {var} to a folder Ferry may use"),
            )
        })
    };
    Ok(Dirs {
        data: pick(
            DATA_DIR_ENV,
            project.as_ref().map(|p| p.data_dir().to_path_buf()),
        )?,
        config: pick(
            CONFIG_DIR_ENV,
            project.as_ref().map(|p| p.config_dir().to_path_buf()),
        )?,
    })
}

/// Installs the fault-injection settings from the environment.
#[cfg(feature = "fault-injection")]
pub fn install_faults() {
    use std::time::Duration;
    let millis = |name: &str| {
        std::env::var(name)
            .ok()
            .and_then(|v| v.parse().ok())
            .map(Duration::from_millis)
    };
    let set = |name: &str| std::env::var_os(name).is_some_and(|v| !v.is_empty());
    let kill_at = std::env::var("FERRY_FAULT_KILL_AT").ok().map(|spec| {
        match spec
            .rsplit_once(':')
            .and_then(|(p, n)| Some((p, n.parse().ok()?)))
        {
            Some((point, n)) => (point.to_string(), n),
            None => (spec, 1),
        }
    });
    ferry_engine::faults::install(ferry_engine::faults::Faults {
        chunk_delay: millis("FERRY_FAULT_CHUNK_DELAY_MS"),
        entry_delay: millis("FERRY_FAULT_ENTRY_DELAY_MS"),
        flip_byte: set("FERRY_FAULT_FLIP_BYTE"),
        buffered: set("FERRY_FAULT_BUFFERED"),
        kill_at,
        panic_at: std::env::var("FERRY_FAULT_PANIC_AT").ok(),
        // `point:file`: create `file` at `point` and wait until it is gone.
        pause_at: std::env::var("FERRY_FAULT_PAUSE_AT").ok().and_then(|spec| {
            let (point, file) = spec.split_once(':')?;
            Some((point.to_string(), file.into()))
        }),
    });
}
