//! What the binary reads from its environment and hands to the engine (the
//! engine itself reads no environment variables).
//!
//! * `FERRY_DATA_DIR`, `FERRY_CONFIG_DIR`: see [`ferry_engine::dirs`].
//! * `HOME`, `XDG_CONFIG_HOME` (`USERPROFILE` on Windows): where `ferry
//!   schedule` puts the per-user timer (read in `cli::schedule`, handed to
//!   `ferry_engine::timer`).
//! * With the `fault-injection` feature (tests only): `FERRY_FAULT_CHUNK_DELAY_MS=N`
//!   and `FERRY_FAULT_ENTRY_DELAY_MS=N` (sleep before each chunk / entry),
//!   `FERRY_FAULT_FLIP_BYTE=1` (corrupt each temp before it is verified),
//!   `FERRY_FAULT_BUFFERED=1` (no kernel copy or reflink),
//!   `FERRY_FAULT_KILL_AT=POINT[:N]` (SIGKILL at the N-th pass of a crash
//!   point, default the first) and `FERRY_FAULT_PANIC_AT=POINT`.

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
    });
}
