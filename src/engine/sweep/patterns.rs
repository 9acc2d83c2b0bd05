//! Which file names the sweeper looks at: Ferry's own temp and lock names,
//! and the partial files other tools leave behind.
//!
//! Foreign patterns are kept specific on purpose (a fixed prefix, a fixed
//! suffix, or the exact shape of a random part), because an enabled pattern
//! lets the sweeper delete files that Ferry did not write.
//!
//! ```
//! use ferry_engine::sweep::{ForeignPattern, Kind, classify_name};
//! use std::ffi::OsStr;
//!
//! assert_eq!(classify_name(OsStr::new(".a.txt.0123456789abcdef.ferry-part")), Some((Kind::Part, None)));
//! assert_eq!(classify_name(OsStr::new(".a.txt.ferry-lock")), Some((Kind::Lock, None)));
//! assert_eq!(
//!     classify_name(OsStr::new("movie.mkv.partial")),
//!     Some((Kind::Foreign, Some(ForeignPattern::Rclone)))
//! );
//! assert_eq!(classify_name(OsStr::new("notes.txt")), None);
//! ```

use std::ffi::OsStr;
use std::fmt;

use crate::names;

/// What a candidate file is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// A Ferry temp file (`.<name>.<random>.ferry-part`).
    Part,
    /// A Ferry destination lock sidecar (`.<name>.ferry-lock`).
    Lock,
    /// Another tool's partial file.
    Foreign,
}

impl Kind {
    /// The kind's name in reports and JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Part => "part",
            Self::Lock => "lock",
            Self::Foreign => "foreign",
        }
    }
}

/// A family of other tools' partial files. All are recognised and listed;
/// only those enabled in the settings are ever swept.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum ForeignPattern {
    /// rsync: `.<name>.XXXXXX` (six random letters and digits, mixed case or
    /// with a digit, so that `.bashrc.backup` is not taken for one).
    Rsync,
    /// rclone: `<name>.partial`.
    Rclone,
    /// KDE KIO and Firefox downloads: `<name>.part`.
    Part,
    /// GIO (GNOME) safe writes: `.goutputstream-XXXXXX`.
    Gio,
    /// Syncthing: `.syncthing.<name>.tmp` and `~syncthing~<name>.tmp`.
    Syncthing,
    /// Chrome, Chromium and Edge downloads: `<name>.crdownload`.
    Crdownload,
    /// Safari downloads: `<name>.download`.
    Download,
}

impl ForeignPattern {
    /// Every pattern, in the order they are tried and listed.
    pub const ALL: [Self; 7] = [
        Self::Gio,
        Self::Syncthing,
        Self::Rsync,
        Self::Rclone,
        Self::Crdownload,
        Self::Part,
        Self::Download,
    ];

    /// The pattern's name in the settings file.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Rsync => "rsync",
            Self::Rclone => "rclone",
            Self::Part => "part",
            Self::Gio => "gio",
            Self::Syncthing => "syncthing",
            Self::Crdownload => "crdownload",
            Self::Download => "download",
        }
    }

    /// What the pattern matches, for people.
    pub fn describe(self) -> &'static str {
        match self {
            Self::Rsync => "rsync temp file (.name.XXXXXX)",
            Self::Rclone => "rclone partial file (*.partial)",
            Self::Part => "KIO or Firefox partial download (*.part)",
            Self::Gio => "GIO temp file (.goutputstream-XXXXXX)",
            Self::Syncthing => "Syncthing temp file (.syncthing.*.tmp, ~syncthing~*.tmp)",
            Self::Crdownload => "Chrome partial download (*.crdownload)",
            Self::Download => "Safari partial download (*.download)",
        }
    }

    /// Whether `name` has this pattern's shape.
    pub fn matches(self, name: &OsStr) -> bool {
        let b = name.as_encoded_bytes();
        match self {
            Self::Rsync => is_rsync(b),
            Self::Rclone => has_suffix_with_stem(b, b".partial"),
            Self::Part => has_suffix_with_stem(b, b".part"),
            Self::Gio => b
                .strip_prefix(b".goutputstream-")
                .is_some_and(|rest| rest.len() == 6 && rest.iter().all(u8::is_ascii_alphanumeric)),
            Self::Syncthing => {
                let framed = |prefix: &[u8]| {
                    b.strip_prefix(prefix)
                        .and_then(|rest| rest.strip_suffix(b".tmp"))
                        .is_some_and(|middle| !middle.is_empty())
                };
                framed(b".syncthing.") || framed(b"~syncthing~")
            }
            Self::Crdownload => has_suffix_with_stem(b, b".crdownload"),
            Self::Download => has_suffix_with_stem(b, b".download"),
        }
    }
}

impl fmt::Display for ForeignPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for ForeignPattern {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|p| p.as_str() == s)
            .ok_or_else(|| {
                let known: Vec<_> = Self::ALL.iter().map(|p| p.as_str()).collect();
                format!(
                    "unknown partial-file pattern '{s}' (known: {})",
                    known.join(", ")
                )
            })
    }
}

/// Classifies a file name: Ferry's own temp or lock name, another tool's
/// partial file (with its pattern), or `None` for anything else.
pub fn classify_name(name: &OsStr) -> Option<(Kind, Option<ForeignPattern>)> {
    if names::is_temp_name(name) {
        return Some((Kind::Part, None));
    }
    if names::is_lock_name(name) {
        return Some((Kind::Lock, None));
    }
    // What a capability probe killed mid-way left: a Ferry temp like any
    // other (the JSON's kinds stay "part", "lock", "foreign", "backup").
    // (A sweep's private folder is recognised by the walk, as a folder
    // directly in a root, never by its name alone.)
    if names::is_probe_name(name) {
        return Some((Kind::Part, None));
    }
    ForeignPattern::ALL
        .into_iter()
        .find(|p| p.matches(name))
        .map(|p| (Kind::Foreign, Some(p)))
}

/// What the sweeper makes of a name it looks at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Class {
    /// A candidate a sweep may remove when its rules allow.
    Candidate(Kind, Option<ForeignPattern>),
    /// A backup kept by an all-or-nothing job
    /// (`.<name>.<16 hex>.ferry-backup`): listed, never removed.
    Backup,
}

/// [`classify_name`], and the backups of all-or-nothing jobs.
pub(crate) fn classify(name: &OsStr) -> Option<Class> {
    if names::is_backup_name(name) {
        return Some(Class::Backup);
    }
    classify_name(name).map(|(kind, pattern)| Class::Candidate(kind, pattern))
}

/// `<stem><suffix>` with a non-empty stem.
fn has_suffix_with_stem(name: &[u8], suffix: &[u8]) -> bool {
    name.strip_suffix(suffix)
        .is_some_and(|stem| !stem.is_empty())
}

/// `.<name>.XXXXXX`: rsync's mkstemp suffix is six letters and digits. To
/// stay clear of ordinary dot files (`.bashrc.backup`), the six characters
/// must mix a lower-case letter with an upper-case letter or a digit.
fn is_rsync(name: &[u8]) -> bool {
    let Some(rest) = name.strip_prefix(b".") else {
        return false;
    };
    let Some(dot) = rest.iter().rposition(|&c| c == b'.') else {
        return false;
    };
    let (stem, random) = (&rest[..dot], &rest[dot + 1..]);
    !stem.is_empty()
        && random.len() == 6
        && random.iter().all(u8::is_ascii_alphanumeric)
        && random.iter().any(u8::is_ascii_lowercase)
        && random
            .iter()
            .any(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pattern(name: &str) -> Option<ForeignPattern> {
        classify_name(OsStr::new(name)).and_then(|(_, p)| p)
    }

    #[test]
    fn foreign_patterns_are_specific() {
        assert_eq!(pattern(".report.pdf.a1B2c3"), Some(ForeignPattern::Rsync));
        assert_eq!(pattern(".bashrc.backup"), None);
        assert_eq!(pattern(".bashrc.BACKUP"), None);
        assert_eq!(pattern(".a.b1"), None);
        assert_eq!(pattern("..a1B2c3"), None);
        assert_eq!(pattern("x.partial"), Some(ForeignPattern::Rclone));
        assert_eq!(pattern(".partial"), None);
        assert_eq!(pattern("iso.part"), Some(ForeignPattern::Part));
        assert_eq!(pattern("archive.part1.rar"), None);
        assert_eq!(pattern(".goutputstream-X1Y2Z3"), Some(ForeignPattern::Gio));
        assert_eq!(pattern(".goutputstream-X1Y2Z"), None);
        assert_eq!(
            pattern(".syncthing.a.txt.tmp"),
            Some(ForeignPattern::Syncthing)
        );
        assert_eq!(
            pattern("~syncthing~a.txt.tmp"),
            Some(ForeignPattern::Syncthing)
        );
        assert_eq!(pattern(".syncthing..tmp"), None);
        assert_eq!(
            pattern("a.zip.crdownload"),
            Some(ForeignPattern::Crdownload)
        );
        assert_eq!(pattern("a.zip.download"), Some(ForeignPattern::Download));
        assert_eq!(pattern("notes.txt"), None);
    }

    #[test]
    fn ferry_names_win_over_foreign_shapes() {
        let temp = names::temp_name(OsStr::new("x.part"), 7);
        assert_eq!(classify_name(&temp), Some((Kind::Part, None)));
        assert_eq!(
            "rclone".parse::<ForeignPattern>(),
            Ok(ForeignPattern::Rclone)
        );
        assert!("nope".parse::<ForeignPattern>().is_err());
    }

    #[test]
    fn backups_are_their_own_class() {
        let backup = names::backup_name(OsStr::new("x.part"), 7);
        assert_eq!(classify(&backup), Some(Class::Backup));
        assert_eq!(classify_name(&backup), None);
        assert_eq!(
            classify(OsStr::new("x.partial")),
            Some(Class::Candidate(
                Kind::Foreign,
                Some(ForeignPattern::Rclone)
            ))
        );
    }
}
