//! Sizes for people and paths for scripts, shared by the window and the
//! command line.
//!
//! ```
//! use std::path::Path;
//!
//! assert_eq!(ferry_engine::format::bytes(512), "512 B");
//! assert_eq!(ferry_engine::format::bytes(3 << 19), "1.5 MiB");
//! assert_eq!(ferry_engine::format::path_hex(Path::new("/tmp/a.txt")), None);
//! assert_eq!(
//!     ferry_engine::format::first_paths(&["/a", "/b", "/c"], 2),
//!     "'/a', '/b' and 1 more"
//! );
//! ```

use std::path::Path;

/// A path's exact bytes in lowercase hex where it is not UTF-8 (`None`
/// where it is), for JSON that must name every file exactly (its text is
/// then lossy). On Windows the bytes are the path's WTF-8 form.
pub use crate::os::path::hex_if_not_utf8 as path_hex;

/// The first `shown` of `paths`, quoted and separated by commas, then how
/// many more there are: `'/a', '/b' and 3 more`. For messages that name a
/// few of many files.
pub fn first_paths(paths: &[impl AsRef<Path>], shown: usize) -> String {
    let named: Vec<String> = paths
        .iter()
        .take(shown)
        .map(|p| format!("'{}'", p.as_ref().display()))
        .collect();
    match paths.len().saturating_sub(shown) {
        0 => named.join(", "),
        more => format!("{} and {more} more", named.join(", ")),
    }
}

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
