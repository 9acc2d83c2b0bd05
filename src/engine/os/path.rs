//! The one way Ferry writes down a path that may not be valid Unicode (a
//! Unix file name is any bytes): as a string where it is UTF-8, else as
//! `{"hex":"<its bytes in hex>"}`. Journals, the remembered folders and the
//! sweeper's JSON all use it. Reading also accepts the forms older versions
//! wrote (a byte array in journals, `{"raw":…}` in the folder list).
//!
//! ```
//! use ferry_engine::os::path::{decode, encode, hex};
//! use std::path::Path;
//!
//! let text = encode(Path::new("/photos/été.jpg"));
//! assert_eq!(serde_json::to_string(&text).unwrap(), r#""/photos/été.jpg""#);
//! assert_eq!(decode(text).unwrap(), Path::new("/photos/été.jpg"));
//! assert_eq!(hex(b"/a\xff"), "2f61ff");
//! ```

use std::borrow::Cow;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The directory holding `path` (`.` for a bare name).
///
/// ```
/// use ferry_engine::os::path::parent_dir;
/// use std::path::Path;
///
/// assert_eq!(parent_dir(Path::new("a/b.txt")), Path::new("a"));
/// assert_eq!(parent_dir(Path::new("b.txt")), Path::new("."));
/// ```
pub fn parent_dir(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

/// A path as it is written down.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum PathRepr {
    /// A UTF-8 path, as a string.
    Text(String),
    /// Any other path: its bytes, in hex.
    Hex {
        /// Lower-case hex digits, two per byte.
        hex: String,
    },
    /// Older folder lists (read only).
    Raw {
        /// Hex digits.
        raw: String,
    },
    /// Older journals (read only).
    Bytes(Vec<u8>),
}

/// How `path` is written down.
pub fn encode(path: &Path) -> PathRepr {
    match path.to_str() {
        Some(text) => PathRepr::Text(text.to_owned()),
        None => PathRepr::Hex {
            hex: hex(&bytes(path)),
        },
    }
}

/// The path written down as `repr`; `None` for bytes this platform cannot
/// name a file with (a non-UTF-8 Unix path read on Windows).
pub fn decode(repr: PathRepr) -> Option<PathBuf> {
    match repr {
        PathRepr::Text(text) => Some(PathBuf::from(text)),
        PathRepr::Hex { hex } | PathRepr::Raw { raw: hex } => from_bytes(unhex(&hex)?),
        PathRepr::Bytes(bytes) => from_bytes(bytes),
    }
}

/// The bytes of `path`: its raw bytes on Unix, UTF-8 (lossy only for
/// unpaired surrogates) elsewhere.
pub fn bytes(path: &Path) -> Cow<'_, [u8]> {
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        Cow::Borrowed(path.as_os_str().as_bytes())
    }
    #[cfg(not(unix))]
    {
        match path.to_string_lossy() {
            Cow::Borrowed(text) => Cow::Borrowed(text.as_bytes()),
            Cow::Owned(text) => Cow::Owned(text.into_bytes()),
        }
    }
}

/// A path from its bytes (see [`bytes`]).
pub fn from_bytes(bytes: Vec<u8>) -> Option<PathBuf> {
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStringExt;
        Some(PathBuf::from(std::ffi::OsString::from_vec(bytes)))
    }
    #[cfg(not(unix))]
    {
        String::from_utf8(bytes).ok().map(PathBuf::from)
    }
}

/// Bytes as lower-case hex.
pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes.iter().fold(String::new(), |mut out, b| {
        let _ = write!(out, "{b:02x}");
        out
    })
}

/// Hex digits back to bytes.
pub fn unhex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

/// The path's bytes in hex where it is not UTF-8 (`None` where it is), for
/// JSON that must name every file exactly.
pub fn hex_if_not_utf8(path: &Path) -> Option<String> {
    path.to_str().is_none().then(|| hex(&bytes(path)))
}

/// Serde for one path field (`#[serde(with = "ferry_engine::os::path::serde_path")]`).
pub mod serde_path {
    use super::*;

    /// Writes a path (as [`encode`] does, without copying a UTF-8 one).
    pub fn serialize<S: Serializer>(path: &Path, s: S) -> Result<S::Ok, S::Error> {
        match path.to_str() {
            Some(text) => s.serialize_str(text),
            None => encode(path).serialize(s),
        }
    }

    /// Reads a path.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<PathBuf, D::Error> {
        decode(PathRepr::deserialize(d)?)
            .ok_or_else(|| serde::de::Error::custom("a path this system cannot name"))
    }

    /// The same for a list of paths.
    pub mod vec {
        use super::*;

        /// Writes a list of paths.
        pub fn serialize<S: Serializer>(paths: &[PathBuf], s: S) -> Result<S::Ok, S::Error> {
            s.collect_seq(paths.iter().map(|p| encode(p)))
        }

        /// Reads a list of paths.
        pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<PathBuf>, D::Error> {
            Vec::<PathRepr>::deserialize(d)?
                .into_iter()
                .map(|r| {
                    decode(r)
                        .ok_or_else(|| serde::de::Error::custom("a path this system cannot name"))
                })
                .collect()
        }
    }
}
