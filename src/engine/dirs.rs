//! Where Ferry keeps its own files: settings in the config directory,
//! journals, the sweep log and remembered destinations in the data
//! directory. Both come from the `directories` crate and can be overridden
//! with `FERRY_CONFIG_DIR` and `FERRY_DATA_DIR` (tests, portable use).
//!
//! ```
//! // SAFETY (of the doctest): it runs single-threaded.
//! unsafe { std::env::set_var("FERRY_DATA_DIR", "/tmp/ferry-doc-data") };
//! assert_eq!(ferry_engine::dirs::data_dir().unwrap(), std::path::Path::new("/tmp/ferry-doc-data"));
//! ```

use std::path::PathBuf;

use directories::ProjectDirs;

use super::error::{Error, ErrorKind, Operation, Result};

/// Environment variable overriding the config directory.
pub const CONFIG_DIR_ENV: &str = "FERRY_CONFIG_DIR";
/// Environment variable overriding the data directory.
pub const DATA_DIR_ENV: &str = "FERRY_DATA_DIR";

fn project_dirs() -> Option<ProjectDirs> {
    ProjectDirs::from("org", "Ferry", "ferry")
}

fn from_env_or(var: &str, fallback: impl FnOnce(&ProjectDirs) -> PathBuf) -> Result<PathBuf> {
    if let Some(dir) = std::env::var_os(var).filter(|v| !v.is_empty()) {
        return Ok(PathBuf::from(dir));
    }
    project_dirs().map(|p| fallback(&p)).ok_or_else(|| {
        Error::new(
            ErrorKind::NotFound,
            Operation::State,
            var,
            format!("no home directory was found; set {var} to a folder Ferry may use"),
        )
    })
}

/// The folder for settings (not created here).
pub fn config_dir() -> Result<PathBuf> {
    from_env_or(CONFIG_DIR_ENV, |p| p.config_dir().to_path_buf())
}

/// The folder for journals, logs and other state (not created here).
pub fn data_dir() -> Result<PathBuf> {
    from_env_or(DATA_DIR_ENV, |p| p.data_dir().to_path_buf())
}

/// Creates `dir` (and its parents) if needed and returns it.
pub fn ensure(dir: PathBuf) -> Result<PathBuf> {
    std::fs::create_dir_all(&dir).map_err(|e| Error::io(Operation::CreateDir, &dir, e))?;
    Ok(dir)
}
