//! Ferry's own folders. The engine reads no environment: whoever embeds
//! it (the `ferry` binary) finds the config and data folders and passes
//! them in ([`EngineConfig`](crate::EngineConfig), `Settings::load_from`);
//! [`ensure_dir`](crate::ensure_dir) creates one.
//!
//! ```
//! let dir = tempfile::tempdir()?;
//! let data = ferry_engine::ensure_dir(dir.path().join("data"))?;
//! assert!(data.is_dir());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::path::PathBuf;

use super::error::{Error, Operation, Result};

/// Creates `dir` (and its parents) if needed and returns it.
pub fn ensure(dir: PathBuf) -> Result<PathBuf> {
    std::fs::create_dir_all(&dir).map_err(|e| Error::io(Operation::CreateDir, &dir, e))?;
    Ok(dir)
}
