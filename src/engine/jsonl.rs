//! Append-only JSON lines: the one way Ferry appends records to its own
//! files (job journals, the remembered folders, the sweep log). Each record
//! is one line; a batch of records is one `write`, started on a fresh line
//! if a crash tore the last one, and fsynced before the call returns when
//! it must be durable. Journals, which recovery must be able to trust,
//! prefix each record with `<16 hex> ` (the first 64 bits of the JSON's
//! BLAKE3 hash), so a damaged line is recognised ([`Lines::Checked`]); the
//! logs people read with other tools are bare JSON ([`Lines::Plain`]).
//!
//! ```
//! let dir = tempfile::tempdir()?;
//! let path = dir.path().join("log.jsonl");
//! let mut file = ferry_engine::os::open_private_append(&path)?;
//! use ferry_engine::jsonl::Lines;
//! ferry_engine::jsonl::append(&mut file, &path, &["one", "two"], Lines::Plain, true)?;
//! let text = std::fs::read(&path)?;
//! let read: Vec<String> = ferry_engine::jsonl::lines(&text).filter_map(|l| l.ok()).collect();
//! assert_eq!(read, ["one", "two"]);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::fs::File;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::Path;

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::error::{Error, ErrorKind, Operation, Result};

/// The checksum written before each record.
fn checksum(json: &[u8]) -> String {
    blake3::hash(json).to_hex()[..16].to_string()
}

/// Adds `record` as one checksummed line to `out`.
pub fn encode(out: &mut Vec<u8>, record: &impl Serialize) -> serde_json::Result<()> {
    let json = serde_json::to_vec(record)?;
    out.extend_from_slice(checksum(&json).as_bytes());
    out.push(b' ');
    out.extend_from_slice(&json);
    out.push(b'\n');
    Ok(())
}

/// Adds `record` as one line of bare JSON (older journals, which have no
/// checksums, are continued in their own format).
pub fn encode_plain(out: &mut Vec<u8>, record: &impl Serialize) -> serde_json::Result<()> {
    serde_json::to_writer(&mut *out, record)?;
    out.push(b'\n');
    Ok(())
}

/// How records are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lines {
    /// `<16 hex> <JSON>`: checked on reading.
    #[cfg(any(test, feature = "internals"))]
    Checked,
    /// Bare JSON.
    Plain,
}

/// Appends `records` to `file` (named `path`, for errors) in one write,
/// starting on a fresh line if a crash tore the last one; with `durable`,
/// fsyncs before returning.
pub fn append(
    file: &mut File,
    path: &Path,
    records: &[impl Serialize],
    lines: Lines,
    durable: bool,
) -> Result<()> {
    let mut bytes = Vec::new();
    for record in records {
        let encoded = match lines {
            #[cfg(any(test, feature = "internals"))]
            Lines::Checked => encode(&mut bytes, record),
            Lines::Plain => encode_plain(&mut bytes, record),
        };
        encoded.map_err(|e| Error::new(ErrorKind::Io, Operation::State, path, e.to_string()))?;
    }
    write_lines(file, path, &bytes, durable)
}

/// Appends already encoded lines in one write (see [`append`]).
pub fn write_lines(file: &mut File, path: &Path, bytes: &[u8], durable: bool) -> Result<()> {
    let err = |e| Error::io(Operation::State, path, e);
    if ends_on_fresh_line(file).map_err(err)? {
        file.write_all(bytes).map_err(err)?;
    } else {
        // After a crash tore the last line: still one write.
        let mut out = Vec::with_capacity(bytes.len() + 1);
        out.push(b'\n');
        out.extend_from_slice(bytes);
        file.write_all(&out).map_err(err)?;
    }
    if durable {
        file.sync_data().map_err(err)?;
    }
    Ok(())
}

/// Whether the file is empty or ends with a newline (a crash may have torn
/// its last line).
fn ends_on_fresh_line(file: &mut File) -> std::io::Result<bool> {
    let end = file.seek(SeekFrom::End(0))?;
    if end == 0 {
        return Ok(true);
    }
    let mut last = [0u8];
    file.seek(SeekFrom::Start(end - 1))?;
    file.read_exact(&mut last)?;
    file.seek(SeekFrom::End(0))?;
    Ok(last[0] == b'\n')
}

/// One line as a record: checksummed (`<16 hex> <JSON>`, checked) or, from
/// older versions, bare JSON. `None` for a torn or damaged line.
pub fn decode<T: DeserializeOwned>(line: &[u8]) -> Option<T> {
    decode_checked(line).or_else(|| serde_json::from_slice(line).ok())
}

/// One checksummed line as a record; `None` unless its checksum matches.
pub fn decode_checked<T: DeserializeOwned>(line: &[u8]) -> Option<T> {
    let (sum, json) = (line.get(..16)?, line.get(17..)?);
    if line.get(16) != Some(&b' ') || checksum(json).as_bytes() != sum {
        return None;
    }
    serde_json::from_slice(json).ok()
}

/// The records of a whole file's text, a torn or damaged line being `Err`.
pub fn lines<T: DeserializeOwned>(text: &[u8]) -> impl Iterator<Item = std::result::Result<T, ()>> {
    text.split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .map(|l| decode(l).ok_or(()))
}
