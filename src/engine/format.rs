//! Numbers for people, shared by the window and the command line.
//!
//! ```
//! assert_eq!(ferry_engine::format::bytes(512), "512 B");
//! assert_eq!(ferry_engine::format::bytes(3 << 19), "1.5 MiB");
//! ```

/// Bytes in binary units: `512 B`, `1.5 MiB`.
pub fn bytes(n: u64) -> String {
    const UNITS: [&str; 6] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
    let mut value = n as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{n} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}
