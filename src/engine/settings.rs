//! Ferry's settings: the sweeper's threshold, schedule, roots and its
//! rules for other tools' files, and the defaults for new transfers.
//!
//! They live in `settings.json` in the config directory (which the
//! embedding program finds: the `ferry` binary uses the platform's folder,
//! `FERRY_CONFIG_DIR` overrides), are written with
//! Ferry's own atomic protocol, and are checked by [`Settings::validate`]
//! before every save (sweep folders must exist then). Missing fields take
//! their defaults, so files written by older versions load as they are. A
//! file that cannot be used (not JSON, or invalid values) is kept aside as
//! `settings.json.corrupt-<UTC time>`, the defaults are used, and a warning
//! says so; a sweep folder that has gone missing since it was saved (an
//! unplugged drive) does not make the file unusable: scans say it is
//! missing.
//!
//! ```json
//! {
//!   "sweep": {
//!     "threshold": "1day",
//!     "schedule": "every 6h",
//!     "roots": ["/home/me/Downloads"],
//!     "foreign_patterns": ["rclone", "crdownload"],
//!     "foreign_min_age": "1day",
//!     "foreign_in_schedule": false
//!   },
//!   "transfer": {
//!     "conflict": "fail",
//!     "verify": false,
//!     "all_or_nothing": false,
//!     "workers": 4
//!   }
//! }
//! ```
//!
//! ```
//! use ferry_engine::Settings;
//! use std::time::Duration;
//!
//! let dir = tempfile::tempdir()?;
//! let path = dir.path().join("settings.json");
//! let mut settings = Settings::default();
//! settings.sweep.threshold = Duration::from_secs(2 * 3600);
//! settings.save_to(&path)?;
//! let (loaded, warnings) = Settings::load_from(&path)?;
//! assert_eq!(loaded, settings);
//! assert!(warnings.is_empty());
//!
//! settings.sweep.threshold = Duration::from_secs(5);
//! assert!(settings.validate().unwrap_err().to_string().contains("at least 1m"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::fmt;
use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use super::atomic::{AtomicFile, CommitOptions, ConflictPolicy};
use super::dirs;
use super::error::{Error, ErrorKind, Operation, Result};
use super::os;
use super::sweep::{DEFAULT_FOREIGN_MIN_AGE, ForeignPattern, Schedule, resolve_root};

/// All settings.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct Settings {
    /// The sweeper.
    pub sweep: SweepSettings,
    /// Defaults for new transfers.
    pub transfer: TransferDefaults,
}

/// The sweeper's settings.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct SweepSettings {
    /// Unlocked temps older than this are orphans (at least one minute).
    #[serde(with = "duration_text")]
    pub threshold: Duration,
    /// When to sweep on a timer.
    pub schedule: Schedule,
    /// Folders to sweep (absolute), with their sub-folders, in addition to
    /// every folder Ferry has written into.
    pub roots: Vec<PathBuf>,
    /// Other tools' partial files that may be removed (all are listed).
    pub foreign_patterns: Vec<ForeignPattern>,
    /// Other tools' files are removed only once they are at least this old,
    /// whatever the threshold (one day unless lowered, at least a minute).
    #[serde(with = "duration_text")]
    pub foreign_min_age: Duration,
    /// "Include other tools' files in scheduled sweeps": off by default, so
    /// a scheduled sweep removes only Ferry's own orphans.
    pub foreign_in_schedule: bool,
}

impl Default for SweepSettings {
    fn default() -> Self {
        Self {
            threshold: Settings::DEFAULT_THRESHOLD,
            schedule: Schedule::Off,
            roots: Vec::new(),
            foreign_patterns: Vec::new(),
            foreign_min_age: Settings::DEFAULT_FOREIGN_MIN_AGE,
            foreign_in_schedule: false,
        }
    }
}

/// Defaults for new transfers.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct TransferDefaults {
    /// What to do when a destination exists.
    pub conflict: ConflictPolicy,
    /// Read each copy back and compare checksums.
    pub verify: bool,
    /// Roll the whole job back on any failure.
    pub all_or_nothing: bool,
    /// How many files are copied at once (1 to 64; 0 is refused, not taken
    /// for 1).
    pub workers: usize,
}

impl Default for TransferDefaults {
    fn default() -> Self {
        Self {
            conflict: ConflictPolicy::Fail,
            verify: false,
            all_or_nothing: false,
            workers: Settings::DEFAULT_WORKERS,
        }
    }
}

/// Settings values that are out of range, each described for people.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidSettings {
    /// One sentence per problem.
    pub problems: Vec<String>,
}

impl fmt::Display for InvalidSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.problems.join("; "))
    }
}

impl std::error::Error for InvalidSettings {}

fn human(d: Duration) -> String {
    humantime::format_duration(d).to_string()
}

impl Settings {
    /// The settings file's name in the config folder.
    pub const FILE_NAME: &str = "settings.json";
    /// The default sweep threshold: unlocked temps older than a day are
    /// orphans.
    pub const DEFAULT_THRESHOLD: Duration = Duration::from_secs(24 * 3600);
    /// The smallest threshold the settings accept.
    pub const MIN_THRESHOLD: Duration = Duration::from_secs(60);
    /// The largest threshold the settings accept (365.25 days: "1year").
    pub const MAX_THRESHOLD: Duration = Duration::from_secs(31_557_600);
    /// The shortest interval between scheduled sweeps.
    pub const MIN_INTERVAL: Duration = Duration::from_secs(60);
    /// The longest interval between scheduled sweeps.
    pub const MAX_INTERVAL: Duration = Duration::from_secs(365 * 24 * 3600);
    /// Other tools' files are swept only once they are at least this old,
    /// whatever the threshold (the default of `foreign_min_age`).
    pub const DEFAULT_FOREIGN_MIN_AGE: Duration = DEFAULT_FOREIGN_MIN_AGE;
    /// The smallest minimum age for other tools' files the settings accept.
    pub const MIN_FOREIGN_MIN_AGE: Duration = Duration::from_secs(60);
    /// The default number of transfer workers.
    pub const DEFAULT_WORKERS: usize = 4;
    /// The largest number of transfer workers.
    pub const MAX_WORKERS: usize = 64;

    /// Checks every value, and that every sweep folder exists as a folder
    /// (so it looks at the disk); lists every problem found, one sentence
    /// each. This is the one validation: the engine refuses to save
    /// settings that fail it, and clients show its problems.
    pub fn validate(&self) -> std::result::Result<(), InvalidSettings> {
        let mut problems = self.value_problems();
        for root in self.sweep.roots.iter().filter(|r| r.is_absolute()) {
            if let Err(problem) = resolve_root(root) {
                problems.push(problem.describe(root));
            }
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(InvalidSettings { problems })
        }
    }

    /// The problems of the values themselves, without looking at the disk
    /// (what makes a settings file unusable when it is loaded).
    fn value_problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        let sweep = &self.sweep;
        if sweep.threshold < Settings::MIN_THRESHOLD || sweep.threshold > Settings::MAX_THRESHOLD {
            problems.push(format!(
                "the sweep threshold must be at least {} and at most {} (it is {})",
                human(Settings::MIN_THRESHOLD),
                human(Settings::MAX_THRESHOLD),
                human(sweep.threshold)
            ));
        }
        if let Schedule::Every(interval) = sweep.schedule
            && (interval < Settings::MIN_INTERVAL || interval > Settings::MAX_INTERVAL)
        {
            problems.push(format!(
                "scheduled sweeps must be at least {} and at most {} apart (the schedule says {})",
                human(Settings::MIN_INTERVAL),
                human(Settings::MAX_INTERVAL),
                human(interval)
            ));
        }
        if sweep.foreign_min_age < Settings::MIN_FOREIGN_MIN_AGE || sweep.foreign_min_age > Settings::MAX_THRESHOLD {
            problems.push(format!(
                "the minimum age of other tools' files must be at least {} and at most {} \
                 (it is {})",
                human(Settings::MIN_FOREIGN_MIN_AGE),
                human(Settings::MAX_THRESHOLD),
                human(sweep.foreign_min_age)
            ));
        }
        for root in &sweep.roots {
            if !root.is_absolute() {
                problems.push(format!(
                    "the sweep root '{}' must be an absolute path",
                    root.display()
                ));
            }
        }
        let workers = self.transfer.workers;
        if !(1..=Settings::MAX_WORKERS).contains(&workers) {
            problems.push(format!(
                "the number of workers must be between 1 and {} (it is {workers})",
                Settings::MAX_WORKERS
            ));
        }
        problems
    }

    /// Where the settings file is in a config folder: `settings.json`.
    pub fn path_in(config_dir: &Path) -> PathBuf {
        config_dir.join(Settings::FILE_NAME)
    }

    /// Loads the settings from `path`. A missing file gives the defaults. A
    /// file that cannot be used is renamed aside with a timestamp and the
    /// defaults are returned with a warning for people. A sweep folder that
    /// no longer exists does not make it unusable (scans say so). Fails only
    /// when the file cannot be read at all (or not renamed aside).
    pub fn load_from(path: &Path) -> Result<(Self, Vec<String>)> {
        let bytes = match fs::read(path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok((Self::default(), vec![])),
            Err(e) => return Err(Error::io(Operation::Read, path, e)),
        };
        let problem = match serde_json::from_slice::<Self>(&bytes) {
            Ok(settings) => {
                let problems = settings.value_problems();
                if problems.is_empty() {
                    return Ok((settings, Vec::new()));
                }
                InvalidSettings { problems }.to_string()
            }
            Err(e) => format!("it is not valid settings JSON: {e}"),
        };
        let aside = set_aside(path)?;
        let warning = format!(
            "the settings file '{}' could not be used ({problem}); it was kept as '{}' and \
             the default settings are in use",
            path.display(),
            aside.display()
        );
        Ok((Self::default(), vec![warning]))
    }

    /// Validates and saves the settings at `path` with the atomic protocol
    /// (a reader sees the old file or the new one, whole).
    pub fn save_to(&self, path: &Path) -> Result<()> {
        self.validate().map_err(|invalid| {
            Error::new(
                ErrorKind::InvalidInput,
                Operation::Validate,
                path,
                format!("the settings were not saved: {invalid}"),
            )
        })?;
        let json = serde_json::to_vec_pretty(self).map_err(|e| {
            Error::new(
                ErrorKind::InvalidInput,
                Operation::Validate,
                path,
                format!("the settings were not saved: {e}"),
            )
        })?;
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            dirs::ensure(dir.to_path_buf())?;
        }
        let mut file = AtomicFile::create(path)?;
        file.write_all(&json)
            .and_then(|()| file.write_all(b"\n"))
            .map_err(|e| Error::io(Operation::Write, path, e))?;
        file.commit(&CommitOptions::new(ConflictPolicy::Overwrite))?;
        Ok(())
    }
}

/// Renames an unusable settings file to `<name>.corrupt-<UTC time>` (with a
/// counter if that exists) and returns the new path.
fn set_aside(path: &Path) -> Result<PathBuf> {
    let stamp: String = humantime::format_rfc3339_seconds(SystemTime::now())
        .to_string()
        .chars()
        .filter(|c| !matches!(c, '-' | ':' | 'Z'))
        .collect();
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| Settings::FILE_NAME.to_string());
    for n in 1..=100 {
        let aside_name = if n == 1 {
            format!("{name}.corrupt-{stamp}")
        } else {
            format!("{name}.corrupt-{stamp}-{n}")
        };
        let aside = path.with_file_name(aside_name);
        match os::rename_noreplace(path, &aside) {
            Ok(()) => return Ok(aside),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(Error::io(Operation::Rename, path, e).with_path(&aside)),
        }
    }
    Err(Error::new(
        ErrorKind::AlreadyExists,
        Operation::Rename,
        path,
        "too many corrupt settings files are kept beside it; remove some",
    ))
}

/// Durations as human text (`"90s"`, `"2h"`, `"1day"`) in the file.
mod duration_text {
    use std::time::Duration;

    pub fn serialize<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&humantime::format_duration(*d))
    }

    pub fn deserialize<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        let text = <String as serde::Deserialize>::deserialize(d)?;
        humantime::parse_duration(&text).map_err(|e| {
            serde::de::Error::custom(format!(
                "the duration '{text}' is not understood ({e}); write for example 90s, 15m, 2h or 7d"
            ))
        })
    }
}
