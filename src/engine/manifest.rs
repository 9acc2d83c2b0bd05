//! Checksum manifests: a job asked for one (`--checksums FILE`) writes, for
//! each file it copied, its BLAKE3 hash computed from the bytes read during
//! the copy, in the format of `b3sum` (`<64 hex>  <path>`; a path with a
//! newline or backslash escaped and its line started with `\`, as `b3sum`
//! and `sha256sum` do). Paths are relative to the manifest's folder where
//! the file is inside it, absolute otherwise. [`verify`] reads the files a
//! manifest names again and reports which are intact, changed or missing.
//!
//! ```
//! use ferry_engine::manifest::{verify, Manifest};
//!
//! let dir = tempfile::tempdir()?;
//! std::fs::write(dir.path().join("a.txt"), b"hello")?;
//! let mut manifest = Manifest::create(&dir.path().join("SUMS.b3"))?;
//! manifest.add(&dir.path().join("a.txt"), &blake3::hash(b"hello").to_hex())?;
//! manifest.commit()?;
//! let report = verify(&dir.path().join("SUMS.b3"), None)?;
//! assert_eq!((report.intact, report.changed.len(), report.missing.len()), (1, 0, 0));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

use super::atomic::{AtomicFile, CommitOptions};
use super::os::path::parent_dir;
use super::error::{Error, ErrorKind, Operation, Result};
use super::job::ConflictPolicy;

/// A manifest being written: a locked temp beside its destination (made
/// with the first line, so a manifest inside a folder the job creates
/// works) that becomes the manifest when the job ends
/// ([`commit`](Self::commit)).
#[derive(Debug)]
pub struct Manifest {
    file: Option<AtomicFile>,
    path: PathBuf,
    base: PathBuf,
}

impl Manifest {
    /// Starts the manifest that will be at `path`.
    pub fn create(path: &Path) -> Result<Self> {
        let path = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
        let base = parent_dir(&path).to_path_buf();
        Ok(Self {
            file: None,
            path,
            base,
        })
    }

    fn file(&mut self) -> Result<&mut AtomicFile> {
        if self.file.is_none() {
            self.file = Some(AtomicFile::create(&self.path)?);
        }
        Ok(self.file.as_mut().expect("just made"))
    }

    /// Adds the hash of the file now at `path`.
    pub fn add(&mut self, path: &Path, hex: &str) -> Result<()> {
        let shown = path.strip_prefix(&self.base).unwrap_or(path);
        let text = shown.to_string_lossy();
        let line = if text.contains(['\n', '\\']) {
            let escaped = text.replace('\\', "\\\\").replace('\n', "\\n");
            format!("\\{hex}  {escaped}\n")
        } else {
            format!("{hex}  {text}\n")
        };
        let dest = self.path.clone();
        self.file()?
            .write_all(line.as_bytes())
            .map_err(|e| Error::io(Operation::Write, &dest, e))
    }

    /// Puts the manifest in place (replacing an older one at that path);
    /// an empty one if nothing was copied.
    pub fn commit(mut self) -> Result<()> {
        self.file()?;
        let file = self.file.take().expect("just made");
        file.commit(&CommitOptions::new(ConflictPolicy::Overwrite))
            .map(|_| ())
    }
}

/// What a check of a checksum manifest found
/// ([`Command::Verify`](crate::Command::Verify)).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VerifyReport {
    /// Files whose bytes match.
    pub intact: u64,
    /// Files whose bytes differ.
    pub changed: Vec<PathBuf>,
    /// Files that are gone.
    pub missing: Vec<PathBuf>,
    /// Files that could not be read, with why.
    pub unreadable: Vec<(PathBuf, String)>,
    /// Lines of the manifest that are not `<hash>  <path>`.
    pub bad_lines: u64,
}

impl VerifyReport {
    /// Whether every file named is intact.
    pub fn all_intact(&self) -> bool {
        self.changed.is_empty()
            && self.missing.is_empty()
            && self.unreadable.is_empty()
            && self.bad_lines == 0
    }
}

/// Reads again every file `manifest` names (relative paths against the
/// manifest's folder) and compares its BLAKE3 hash. `cancel` stops between
/// files.
pub fn verify(manifest: &Path, cancel: Option<&AtomicBool>) -> Result<VerifyReport> {
    let file = File::open(manifest).map_err(|e| Error::io(Operation::OpenSource, manifest, e))?;
    let base = parent_dir(manifest).to_path_buf();
    let mut report = VerifyReport::default();
    let mut buf = vec![0u8; 1 << 20];
    for line in BufReader::new(file).lines() {
        if cancel.is_some_and(|c| c.load(Ordering::Relaxed)) {
            return Err(Error::cancelled(manifest));
        }
        let line = line.map_err(|e| Error::io(Operation::Read, manifest, e))?;
        if line.is_empty() {
            continue;
        }
        let Some((expected, name)) = parse_line(&line) else {
            report.bad_lines += 1;
            continue;
        };
        let path = base.join(name);
        match hash_file(&path, &mut buf) {
            Ok(hash) if hash.to_hex().as_str() == expected => report.intact += 1,
            Ok(_) => report.changed.push(path),
            Err(e) if e.kind() == io::ErrorKind::NotFound => report.missing.push(path),
            Err(e) => {
                let why = Error::io(Operation::Read, &path, e).cause();
                report.unreadable.push((path, why));
            }
        }
    }
    if report.intact == 0
        && report.changed.is_empty()
        && report.missing.is_empty()
        && report.unreadable.is_empty()
        && report.bad_lines > 0
    {
        return Err(Error::new(
            ErrorKind::InvalidInput,
            Operation::Read,
            manifest,
            "it is not a checksum manifest (lines of '<BLAKE3 hash>  <path>')",
        ));
    }
    Ok(report)
}

/// `<hash>  <path>` (or `\<hash>  <escaped path>`), as `b3sum` writes it.
fn parse_line(line: &str) -> Option<(String, PathBuf)> {
    let (escaped, line) = match line.strip_prefix('\\') {
        Some(rest) => (true, rest),
        None => (false, line),
    };
    let (hash, name) = line.split_once("  ")?;
    if hash.len() != 64 || !hash.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let name = if escaped {
        let mut out = String::new();
        let mut chars = name.chars();
        while let Some(c) = chars.next() {
            match (c, c == '\\') {
                (_, true) => match chars.next()? {
                    'n' => out.push('\n'),
                    '\\' => out.push('\\'),
                    _ => return None,
                },
                (c, false) => out.push(c),
            }
        }
        out
    } else {
        name.to_string()
    };
    Some((hash.to_ascii_lowercase(), PathBuf::from(name)))
}

/// The BLAKE3 hash of a file's bytes.
pub fn hash_file(path: &Path, buf: &mut [u8]) -> io::Result<blake3::Hash> {
    let mut file = File::open(path)?;
    let mut hasher = blake3::Hasher::new();
    loop {
        match file.read(buf) {
            Ok(0) => return Ok(hasher.finalize()),
            Ok(n) => {
                hasher.update(&buf[..n]);
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
}
