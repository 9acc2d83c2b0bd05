//! Reading one folder: every entry is read (with the type the directory
//! itself records, so nothing is inspected one by one), and only the ones
//! the walk will act on are kept, names back to back in one buffer.
//!
//! A folder is read in full before any of its entries is acted on, so the
//! sweep's own renames in it can never show up later in the same reading.

use std::ffi::CStr;
use std::os::fd::BorrowedFd;

use rustix::fs::FileType;
use rustix::io::Errno;

/// The kept entries of one folder.
#[derive(Default)]
pub(super) struct Listing {
    /// NUL-terminated names, back to back.
    names: Vec<u8>,
    /// Where each kept name starts in `names`, and its type as recorded in
    /// the folder ([`FileType::Unknown`] where the filesystem records none).
    entries: Vec<(usize, FileType)>,
}

impl Listing {
    /// The kept entries: name and recorded type.
    pub fn iter(&self) -> impl Iterator<Item = (&CStr, FileType)> {
        self.entries.iter().map(|&(start, ft)| {
            let name = CStr::from_bytes_until_nul(&self.names[start..])
                .expect("names are stored NUL-terminated");
            (name, ft)
        })
    }

    fn clear(&mut self) {
        self.names.clear();
        self.entries.clear();
    }

    fn push(&mut self, name: &CStr, ft: FileType) {
        self.entries.push((self.names.len(), ft));
        self.names.extend_from_slice(name.to_bytes_with_nul());
    }
}

/// Reads folders, reusing one buffer for all of them.
pub(super) struct Reader {
    /// Room for one `getdents64` call: 32 KiB, like `find`, which is two
    /// calls (one with data, one saying the end) for most folders.
    #[cfg(any(target_os = "linux", target_os = "android"))]
    buf: Vec<u8>,
}

impl Reader {
    pub fn new() -> Self {
        Self {
            #[cfg(any(target_os = "linux", target_os = "android"))]
            buf: Vec::with_capacity(32 * 1024),
        }
    }

    /// Reads every entry of `dir` (but `.` and `..`) into `out`, keeping
    /// those for which `keep(name, type)` is true. On an error, `out` holds
    /// what was kept before it.
    pub fn read(
        &mut self,
        dir: BorrowedFd<'_>,
        mut keep: impl FnMut(&[u8], FileType) -> bool,
        out: &mut Listing,
    ) -> Result<(), Errno> {
        out.clear();
        let mut take = |name: &CStr, ft: FileType| {
            let bytes = name.to_bytes();
            if bytes != b"." && bytes != b".." && keep(bytes, ft) {
                out.push(name, ft);
            }
        };
        #[cfg(any(target_os = "linux", target_os = "android"))]
        {
            let mut entries = rustix::fs::RawDir::new(dir, self.buf.spare_capacity_mut());
            while let Some(entry) = entries.next() {
                match entry {
                    Ok(entry) => take(entry.file_name(), entry.file_type()),
                    Err(Errno::NOENT) => break,
                    Err(e) => return Err(e),
                }
            }
        }
        #[cfg(not(any(target_os = "linux", target_os = "android")))]
        {
            let mut entries = rustix::fs::Dir::read_from(dir)?;
            while let Some(entry) = entries.read() {
                match entry {
                    Ok(entry) => take(entry.file_name(), entry.file_type()),
                    Err(Errno::NOENT) => break,
                    Err(e) => return Err(e),
                }
            }
        }
        Ok(())
    }
}
