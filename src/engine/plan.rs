//! Turning a request (`SRC... DEST`) into a list of file copies, and
//! refusing bad input before any byte is written.
//!
//! `DEST` is a directory when it exists as one or when several sources are
//! given (then it must exist); otherwise it is the target file path, as with
//! `cp`.
//!
//! ```
//! use ferry::engine::plan::plan_copy;
//!
//! let dir = tempfile::tempdir()?;
//! let src = dir.path().join("a.txt");
//! std::fs::write(&src, b"abc")?;
//! let out = dir.path().join("out");
//! std::fs::create_dir(&out)?;
//!
//! let plan = plan_copy(&[src.clone()], &out).unwrap();
//! assert_eq!(plan[0].dest, out.join("a.txt"));
//! assert_eq!(plan[0].size, 3);
//!
//! let missing = plan_copy(&[dir.path().join("nope")], &out).unwrap_err();
//! assert!(missing[0].to_string().contains("does not exist"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::collections::HashMap;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use super::copy::check_regular;
use super::error::{Error, ErrorKind, Operation};
use super::platform::{self, FileId};

/// One file to copy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FilePlan {
    /// The source file.
    pub source: PathBuf,
    /// The destination file path.
    pub dest: PathBuf,
    /// The source's size when planned, in bytes.
    pub size: u64,
}

/// Checks every source and the destination, and pairs each source with its
/// destination path. Returns every problem found, so a person can fix them
/// all at once; nothing is written either way.
pub fn plan_copy(sources: &[PathBuf], dest: &Path) -> Result<Vec<FilePlan>, Vec<Error>> {
    let dest_dir = match destination_directory(sources.len(), dest) {
        Ok(dir) => dir,
        Err(e) => return Err(vec![e]),
    };
    let mut errors = Vec::new();
    let mut plan = Vec::new();
    let mut claimed: HashMap<PathBuf, PathBuf> = HashMap::new();
    for source in sources {
        let target = match &dest_dir {
            Some(dir) => match source.file_name() {
                Some(name) => dir.join(name),
                None => {
                    errors.push(Error::new(
                        ErrorKind::InvalidInput,
                        Operation::Validate,
                        source,
                        "the source has no file name",
                    ));
                    continue;
                }
            },
            None => dest.to_path_buf(),
        };
        match check_pair(source, &target) {
            Ok(size) => {
                if let Some(first) = claimed.insert(target.clone(), source.clone()) {
                    errors.push(
                        Error::new(
                            ErrorKind::InvalidInput,
                            Operation::Validate,
                            source,
                            format!(
                                "it would be written to the same place as '{}'",
                                first.display()
                            ),
                        )
                        .with_path(&target),
                    );
                    continue;
                }
                plan.push(FilePlan {
                    source: source.clone(),
                    dest: target,
                    size,
                });
            }
            Err(e) => errors.push(e),
        }
    }
    if errors.is_empty() {
        Ok(plan)
    } else {
        Err(errors)
    }
}

/// `Some(dir)` when `dest` names a directory to copy into, `None` when it
/// names the target file itself.
fn destination_directory(source_count: usize, dest: &Path) -> Result<Option<PathBuf>, Error> {
    let invalid =
        |detail: &str| Error::new(ErrorKind::InvalidInput, Operation::Validate, dest, detail);
    match fs::metadata(dest) {
        Ok(meta) if meta.is_dir() => return Ok(Some(dest.to_path_buf())),
        Ok(_) if source_count > 1 => {
            return Err(invalid(
                "several sources need a destination folder, and this is not a folder",
            ));
        }
        Ok(_) => return Ok(None),
        Err(e) if e.kind() != io::ErrorKind::NotFound => {
            return Err(Error::io(Operation::Inspect, dest, e));
        }
        Err(_) => {}
    }
    let names_a_dir = dest.as_os_str().as_encoded_bytes().ends_with(b"/")
        || (cfg!(windows) && dest.as_os_str().as_encoded_bytes().ends_with(b"\\"));
    if source_count > 1 || names_a_dir {
        return Err(Error::new(
            ErrorKind::NotFound,
            Operation::Validate,
            dest,
            "the destination folder does not exist",
        ));
    }
    let parent = match dest.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    match fs::metadata(parent) {
        Ok(meta) if meta.is_dir() => Ok(None),
        Ok(_) => Err(Error::new(
            ErrorKind::InvalidInput,
            Operation::Validate,
            parent,
            "the destination's parent is not a folder",
        )),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Err(Error::new(
            ErrorKind::NotFound,
            Operation::Validate,
            parent,
            "the destination folder does not exist",
        )),
        Err(e) => Err(Error::io(Operation::Inspect, parent, e)),
    }
}

/// Checks one source against its target path; returns the source's size.
fn check_pair(source: &Path, target: &Path) -> Result<u64, Error> {
    let meta = fs::metadata(source).map_err(|e| match e.kind() {
        io::ErrorKind::NotFound => Error::new(
            ErrorKind::NotFound,
            Operation::OpenSource,
            source,
            "it does not exist",
        ),
        _ => Error::io(Operation::Inspect, source, e),
    })?;
    if meta.is_dir() {
        return Err(Error::new(
            ErrorKind::InvalidInput,
            Operation::OpenSource,
            source,
            "it is a folder, and folder copies are not supported yet",
        ));
    }
    check_regular(source, &meta)?;
    match fs::metadata(target) {
        Ok(existing) => {
            if platform::HAS_FILE_IDS && FileId::of(&existing) == FileId::of(&meta) {
                return Err(Error::new(
                    ErrorKind::InvalidInput,
                    Operation::Validate,
                    source,
                    "the source and the destination are the same file",
                )
                .with_path(target));
            }
            if existing.is_dir() {
                return Err(Error::new(
                    ErrorKind::InvalidInput,
                    Operation::Validate,
                    target,
                    "a folder of that name is in the way",
                ));
            }
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        // A dangling symlink at the target: the rename will replace the link.
        Err(_) if fs::symlink_metadata(target).is_ok() => {}
        Err(e) => return Err(Error::io(Operation::Inspect, target, e)),
    }
    Ok(meta.len())
}
