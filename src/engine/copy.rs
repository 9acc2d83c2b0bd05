//! Copying one regular file through the atomic protocol, in chunks, with
//! progress and cancellation honoured between chunks.
//!
//! ```
//! use ferry_engine::atomic::ConflictPolicy;
//! use ferry_engine::copy::{copy_file, CopyOptions, FileOutcome};
//!
//! let dir = tempfile::tempdir()?;
//! let (src, dest) = (dir.path().join("a"), dir.path().join("b"));
//! std::fs::write(&src, b"payload")?;
//!
//! let mut copied = 0;
//! let outcome = copy_file(&src, &dest, &CopyOptions::new(ConflictPolicy::Fail), &mut |n| copied += n)?;
//! assert!(matches!(outcome, FileOutcome::Copied { bytes: 7, .. }));
//! assert_eq!(copied, 7);
//! assert_eq!(std::fs::read(&dest)?, b"payload");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::fs::{self, File, Metadata};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use super::atomic::{AtomicFile, BeforeReplace, CommitOptions, Committed, ConflictPolicy};
use super::caps::Traits;
use super::control::Control;
use super::error::{Error, ErrorKind, Operation, Result};
use super::job::Decision;
use super::lock::Wait;
use super::os::{FileId, FileStamp, MetaKept};
use super::{faults, os};

/// Size of one chunk of I/O: the granularity of progress, pause and cancel.
pub const CHUNK_SIZE: usize = 1 << 20;

/// How to copy one file.
#[derive(Clone, Copy)]
pub struct CopyOptions<'a> {
    /// What to do when the destination exists.
    pub policy: ConflictPolicy,
    /// Pause and cancel, checked before each chunk; a cancel removes the temp.
    pub control: Option<&'a Control>,
    /// How long to wait for another writer of the same destination.
    pub wait: Wait,
    /// Hash the source while reading and compare with the temp read back
    /// from the disk before the rename.
    pub verify: bool,
    /// Hash the source's bytes as they are read (for a checksum manifest),
    /// without reading the copy back.
    pub hash: bool,
    /// Runs before an existing destination is replaced (backups).
    pub before_replace: Option<BeforeReplace<'a>>,
    /// Continue a dead run's temp instead of starting over (resume).
    pub resume: Option<&'a Continue>,
    /// Told, after an fsync, how many bytes of the temp are durable: every
    /// so often during a large file's copy (journals keep it, so a resume
    /// can continue from there).
    pub on_durable: Option<&'a (dyn Fn(u64) -> Result<()> + Sync)>,
    /// Told what the copy is doing after its data is written: flushing it
    /// to the disk, reading it back (with bytes read so far and in all).
    pub on_stage: Option<&'a (dyn Fn(Stage) + Sync)>,
    /// Runs before a numbered name is tried (`rename` policy; journals).
    pub before_place: Option<super::atomic::BeforePlace<'a>>,
    /// What the destination's filesystem can do.
    pub traits: &'a Traits,
    /// The destination's folder was made by this job and nothing else
    /// writes there: skip the early look for an existing file (the commit's
    /// no-clobber rename still decides).
    pub dest_free: bool,
    /// Told about the temp file as soon as it exists, before any data is
    /// written (journals record it there, durably, before the commit).
    pub on_temp: Option<OnTemp<'a>>,
    /// Stage into a temp without a name where the filesystem can and the
    /// policy never replaces ([`AtomicFile::create_unnamed`]): for batches,
    /// whose files are journaled by identity and flushed together.
    pub unnamed_temp: bool,
    /// Whether a symbolic link in the source's place is followed (a source
    /// the user named) or refused (a file found inside a folder).
    pub follow: bool,
    /// The identity the source had when the job was planned: any other
    /// file found at its path is refused, not copied.
    pub planned: Option<FileId>,
}

impl CopyOptions<'_> {
    /// Options with `policy` and nothing else: no control, no verify.
    pub fn new(policy: ConflictPolicy) -> Self {
        Self {
            policy,
            control: None,
            wait: Wait::Block,
            verify: false,
            hash: false,
            before_replace: None,
            before_place: None,
            traits: &crate::caps::POSIX_TRAITS,
            on_temp: None,
            dest_free: false,
            unnamed_temp: false,
            resume: None,
            on_durable: None,
            on_stage: None,
            follow: true,
            planned: None,
        }
    }
}

/// How a file's data was copied: the fastest way the filesystem allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum CopyMethod {
    /// The data was cloned, not copied (`FICLONE`: btrfs, XFS).
    Reflink,
    /// Copied in the kernel (`copy_file_range`), in chunks.
    KernelCopy,
    /// Read into a buffer and written (needed to hash for `--verify`, and
    /// the fallback everywhere).
    Buffered,
    /// Not copied at all: renamed within one filesystem (moves).
    Rename,
}

impl CopyMethod {
    /// The name shown in job summaries.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Reflink => "reflink",
            Self::KernelCopy => "copy_file_range",
            Self::Buffered => "buffered copy",
            Self::Rename => "rename",
        }
    }
}

/// What happened to one file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileOutcome {
    /// The copy is committed at `path`.
    Copied {
        /// Where it is (differs from the request under `rename`).
        path: PathBuf,
        /// Bytes copied.
        bytes: u64,
        /// Whether it replaced an existing file.
        replaced: bool,
        /// How the data was copied.
        method: CopyMethod,
        /// What could be kept of the source's metadata.
        kept: MetaKept,
        /// The source as it was when opened (a move removes it only if it
        /// still matches).
        source: FileStamp,
        /// The BLAKE3 hash of the bytes copied, in hex, where asked for.
        hash: Option<String>,
    },
    /// The conflict policy kept the existing destination.
    Skipped,
}

/// A temp a dead run of the job left, whose first `offset` bytes are
/// durable and equal to the source's (checked by whoever decided to
/// continue it): the copy goes on from there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Continue {
    /// The temp.
    pub temp: PathBuf,
    /// Bytes kept.
    pub offset: u64,
}

/// What a copy is doing once its data is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// Making the data durable (fsync).
    Flushing,
    /// Reading the copy back: bytes read and in all.
    Verifying(u64, u64),
    /// Done with both.
    Done,
}

/// Files smaller than this get no durable checkpoints (starting over costs
/// little).
pub const CHECKPOINT_MIN: u64 = 64 << 20;

/// When to make a large temp's data durable and say so: every 16 MiB, or
/// every 64th of the file for larger ones (a resume rewrites at most that
/// much; write-behind has already started writing it, so the fsync is
/// short).
struct Marks<'a> {
    step: u64,
    next: u64,
    hook: Option<&'a (dyn Fn(u64) -> Result<()> + Sync)>,
}

impl<'a> Marks<'a> {
    fn new(size: u64, start: u64, hook: Option<&'a (dyn Fn(u64) -> Result<()> + Sync)>) -> Self {
        let step = (size / 64).max(16 << 20);
        Self {
            step,
            next: start + step,
            hook: hook.filter(|_| size >= CHECKPOINT_MIN),
        }
    }

    /// `written` bytes of `temp` are written: past a mark, fsync and tell.
    fn pass(&mut self, temp: &AtomicFile, written: u64) -> Result<()> {
        let Some(hook) = self.hook else {
            return Ok(());
        };
        if written < self.next {
            return Ok(());
        }
        temp.handle()
            .sync_data()
            .map_err(|e| Error::io(Operation::Sync, temp.temp_path(), e))?;
        hook(written)?;
        while self.next <= written {
            self.next += self.step;
        }
        Ok(())
    }
}

/// Called with a new temp before any data is written to it.
pub type OnTemp<'a> = &'a (dyn Fn(&TempInfo) -> Result<()> + Sync);

/// What a journal records about a temp when it is made: where it is, the
/// identity it will keep once renamed into place, and the source as it was
/// when opened.
#[derive(Debug, Clone, Copy)]
pub struct TempInfo<'a> {
    /// The temp file.
    pub path: &'a Path,
    /// Its identity (device and inode).
    pub file: FileStamp,
    /// The source when it was opened.
    pub source: FileStamp,
}

/// Copies the regular file `src` to `dest` atomically. `on_progress` gets
/// the number of bytes of each chunk as it is written.
pub fn copy_file(
    src: &Path,
    dest: &Path,
    options: &CopyOptions<'_>,
    on_progress: &mut dyn FnMut(u64),
) -> Result<FileOutcome> {
    let mut buf = vec![0u8; CHUNK_SIZE];
    match stage_file(src, dest, options, &mut buf, on_progress)? {
        Staged::Ready(staged) => staged.commit(options, &mut buf, true),
        Staged::Skipped => Ok(FileOutcome::Skipped),
    }
}

/// The first half of a copy: the data is in a locked temp beside the
/// destination, with the source's mode, but neither durable nor visible
/// yet.
///
/// The source's times are given to the temp only at the last moment,
/// right before the flush that makes it durable ([`StagedFile::set_times`],
/// called by [`StagedFile::commit`] or, for a batch, before its one
/// flush), not after its data is written. While the data is written the
/// temp's modification time is that of its last write, so a temp left by
/// a copy killed mid-write looks as fresh as it is. That matters where the
/// filesystem has no status-change time of its own (exFAT, FAT32, sshfs
/// report the modification time as the status-change time): had it the
/// source's old time from the start, the sweeper would take a temp killed
/// a second ago for one years old. The sweeper is careful there too: see
/// `sweep::meta::Meta::bounded_by`.
///
/// [`StagedFile::commit`] finishes it; dropping it removes the temp.
/// Splitting the two lets a batch of small files be made durable with one
/// flush instead of one fsync each.
#[derive(Debug)]
pub struct StagedFile {
    temp: AtomicFile,
    bytes: u64,
    method: CopyMethod,
    source_modified: Option<std::time::SystemTime>,
    hash: Option<blake3::Hash>,
    verify: bool,
    file: FileStamp,
    source: FileStamp,
    kept: MetaKept,
    source_accessed: Option<std::time::SystemTime>,
    /// The source's times are on the temp ([`StagedFile::set_times`]).
    times_set: bool,
}

/// What [`stage_file`] made of a source.
#[derive(Debug)]
pub enum Staged {
    /// The data is in its temp.
    Ready(Box<StagedFile>),
    /// The conflict policy settled it already (the destination stays).
    Skipped,
}

/// Copies `src`'s data into a temp beside `dest` (see [`StagedFile`]).
/// `buf` is the buffer for buffered copies (at least one chunk long).
pub fn stage_file(
    src: &Path,
    dest: &Path,
    options: &CopyOptions<'_>,
    buf: &mut [u8],
    on_progress: &mut dyn FnMut(u64),
) -> Result<Staged> {
    let source = match os::open_source(src, options.follow) {
        Ok(source) => source,
        Err(e) if !options.follow && os::is_symlink_refused(&e) => {
            return Err(not_planned(src, "a symbolic link"));
        }
        Err(e) => return Err(Error::io(Operation::OpenSource, src, e)),
    };
    // Everything below (owner, mode, set-ID bits, size) comes from the file
    // actually opened, and that must be the file the plan saw.
    let meta = source
        .metadata()
        .map_err(|e| Error::io(Operation::Inspect, src, e))?;
    if let Some(planned) = options.planned
        && os::HAS_FILE_IDS
        && FileId::of(&meta) != planned
    {
        return Err(not_planned(src, "a different file"));
    }
    check_regular(src, &meta)?;
    if !options.dest_free && conflict_settled_early(dest, &meta, options)? {
        return Ok(Staged::Skipped);
    }

    let source_stamp = FileStamp::of(&meta);
    let mut hasher = (options.verify || options.hash).then(blake3::Hasher::new);
    let (mut temp, start) = match options.resume {
        Some(resume) => {
            let temp = AtomicFile::adopt(&resume.temp, dest)?;
            let start = resume.offset.min(meta.len());
            prepare_continue(&temp, &source, src, start, buf, hasher.as_mut())?;
            (temp, start)
        }
        None if options.unnamed_temp => (
            AtomicFile::create_unnamed(dest, options.traits, options.policy)?,
            0,
        ),
        None => (AtomicFile::create(dest)?, 0),
    };
    let temp_meta = temp
        .handle()
        .metadata()
        .map_err(|e| Error::io(Operation::Inspect, temp.temp_path(), e))?;
    let file = FileStamp::of(&temp_meta);
    faults::point("temp-unjournaled");
    if let (Some(on_temp), None) = (options.on_temp, options.resume) {
        on_temp(&TempInfo {
            path: temp.temp_path(),
            file,
            source: source_stamp,
        })?;
    }
    faults::point("after-temp");
    let mut marks = Marks::new(meta.len(), start, options.on_durable);
    // Files that report no size or a made-up one (procfs, sysfs) are read
    // to their end.
    let size_unknown = os::size_is_unknown(&source, &meta);
    let (bytes, method) = copy_contents(
        &source,
        src,
        &meta,
        size_unknown,
        options.traits.grows_by_truncate,
        &mut temp,
        buf,
        options.control,
        hasher.as_mut(),
        start,
        &mut marks,
        on_progress,
    )?;
    check_unchanged(&source, src, &meta, bytes, !size_unknown)?;
    faults::after_write(temp.handle());
    let keep = os::KeepMeta {
        permissions: options.traits.permissions,
        owner: options.traits.ownership,
    };
    let kept = os::copy_file_meta(&source, &meta, temp.handle(), &temp_meta, keep)
        .map_err(|e| Error::io(Operation::SetMetadata, temp.temp_path(), e))?;
    temp.note_written();
    Ok(Staged::Ready(Box::new(StagedFile {
        temp,
        bytes,
        method,
        source_modified: meta.modified().ok(),
        hash: hasher.map(|h| h.finalize()),
        verify: options.verify,
        file,
        source: source_stamp,
        kept,
        source_accessed: meta.accessed().ok(),
        times_set: false,
    })))
}

/// Readies an adopted temp to continue at `start`: cut to `start` bytes,
/// both files positioned there, and the kept prefix fed to the hash (read
/// from the source) where one is computed.
fn prepare_continue(
    temp: &AtomicFile,
    source: &File,
    src: &Path,
    start: u64,
    buf: &mut [u8],
    hasher: Option<&mut blake3::Hasher>,
) -> Result<()> {
    let write_err = |e| Error::io(Operation::Write, temp.temp_path(), e);
    temp.handle().set_len(start).map_err(write_err)?;
    let mut handle = temp.handle();
    handle.seek(SeekFrom::Start(start)).map_err(write_err)?;
    let mut reader = source;
    if let Some(hasher) = hasher {
        let mut at = 0u64;
        while at < start {
            let want = (start - at).min(buf.len() as u64) as usize;
            let n = os::read_at(source, &mut buf[..want], at)
                .map_err(|e| Error::io(Operation::Read, src, e))?;
            if n == 0 {
                break;
            }
            hasher.update(&buf[..n]);
            at += n as u64;
        }
    }
    reader
        .seek(SeekFrom::Start(start))
        .map_err(|e| Error::io(Operation::Read, src, e))?;
    Ok(())
}

/// The error for a source whose path names something else than when the
/// job was planned (`now`: what it is now, in words).
fn not_planned(src: &Path, now: &str) -> Error {
    Error::new(
        ErrorKind::SourceChanged,
        Operation::OpenSource,
        src,
        format!("it changed since it was planned (it is now {now}); it was not copied"),
    )
}

/// Refuses a copy whose source changed while it was read (a file being
/// written to): committing it could publish a torn mix of old and new
/// data, and a move would delete what was added meanwhile. `copied` must
/// be the size it was opened with where that size is `size_known`.
fn check_unchanged(
    source: &File,
    src: &Path,
    opened: &Metadata,
    copied: u64,
    size_known: bool,
) -> Result<()> {
    let now = source
        .metadata()
        .map_err(|e| Error::io(Operation::Inspect, src, e))?;
    let before = FileStamp::of(opened);
    if before.contents_changed(&now) || (size_known && copied != opened.len()) {
        return Err(Error::new(
            ErrorKind::SourceChanged,
            Operation::Read,
            src,
            "it changed while it was being copied, so the copy was not kept",
        ));
    }
    Ok(())
}

impl StagedFile {
    /// The temp holding the data.
    pub fn temp(&self) -> &AtomicFile {
        &self.temp
    }

    /// The temp's identity (kept by the rename into place).
    pub fn file(&self) -> FileStamp {
        self.file
    }

    /// The source as it was when opened.
    pub fn source(&self) -> FileStamp {
        self.source
    }

    /// What could be kept of the source's owner, permissions, attributes
    /// and times.
    #[cfg(any(test, feature = "internals"))]
    pub fn kept(&self) -> MetaKept {
        self.kept
    }

    /// Gives the temp the source's access and modification times (once):
    /// the last thing done to it before the flush that makes it durable
    /// (see [`StagedFile`]).
    pub fn set_times(&mut self) -> Result<()> {
        if self.times_set {
            return Ok(());
        }
        let kept = os::set_file_times(
            self.temp.handle(),
            self.source_accessed,
            self.source_modified,
        )
        .map_err(|e| Error::io(Operation::SetMetadata, self.temp.temp_path(), e))?;
        self.kept.times_unsupported = !kept;
        self.times_set = true;
        Ok(())
    }

    /// Declares the data durable after a batch flush
    /// ([`AtomicFile::assume_synced`]).
    pub fn assume_synced(&mut self) {
        self.temp.assume_synced();
    }

    /// The second half of a copy: fsync (unless already durable), verify
    /// when asked (read back from the disk), then commit under the conflict
    /// policy. With `sync_dir` false the caller must fsync the destination
    /// folder before reporting the file done.
    pub fn commit(
        mut self,
        options: &CopyOptions<'_>,
        buf: &mut [u8],
        sync_dir: bool,
    ) -> Result<FileOutcome> {
        let stage = |s| {
            if let Some(on_stage) = options.on_stage {
                on_stage(s);
            }
        };
        self.set_times()?;
        stage(Stage::Flushing);
        self.temp.sync()?;
        if let (true, Some(expected)) = (self.verify, &self.hash) {
            verify_temp(
                &self.temp,
                expected,
                buf,
                options.control,
                self.bytes,
                &stage,
            )?;
        }
        stage(Stage::Done);
        let commit = CommitOptions {
            policy: options.policy,
            source_modified: self.source_modified,
            wait: options.wait,
            cancel: options.control.map(Control::cancel_flag),
            before_replace: options.before_replace,
            sync_dir,
            before_place: options.before_place,
            traits: options.traits,
        };
        let committed = self.temp.commit(&commit)?;
        if let Committed::Written { path, .. } = &committed
            && !options.traits.rename_keeps_times
        {
            // The rename gave the file the time of the rename (fusefat).
            crate::os::set_times_by_path(path, self.source_accessed, self.source_modified)
                .map_err(|e| Error::io(Operation::SetMetadata, path, e))?;
        }
        Ok(match committed {
            Committed::Written { path, replaced } => FileOutcome::Copied {
                path,
                bytes: self.bytes,
                replaced,
                method: self.method,
                kept: self.kept,
                source: self.source,
                hash: self.hash.map(|h| h.to_hex().to_string()),
            },
            Committed::Skipped => FileOutcome::Skipped,
        })
    }
}

/// Refuses anything but a regular file (FIFOs, sockets, devices, folders).
pub fn check_regular(path: &Path, meta: &Metadata) -> Result<()> {
    if meta.is_file() {
        return Ok(());
    }
    Err(Error::new(
        ErrorKind::InvalidInput,
        Operation::OpenSource,
        path,
        format!(
            "it is {}, and only regular files can be copied",
            os::describe_file_type(&meta.file_type())
        ),
    ))
}

/// Decides, before any byte is written, conflicts that need no data: `fail`
/// refuses an existing destination, `skip` and `newer` skip it. Returns
/// `true` when the file should be skipped. The commit re-checks under the
/// destination lock, so a race in between is still handled.
fn conflict_settled_early(
    dest: &Path,
    src_meta: &Metadata,
    options: &CopyOptions<'_>,
) -> Result<bool> {
    let existing = match fs::symlink_metadata(dest) {
        Ok(meta) => meta,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(false),
        Err(e) => return Err(Error::io(Operation::Inspect, dest, e)),
    };
    if let Some(e) = crate::job::in_the_way(dest, &existing, false) {
        return Err(e);
    }
    match options.policy.decide(
        src_meta.modified().ok(),
        Some(existing.modified().ok()),
        options.traits.time_step,
    ) {
        Decision::Refuse | Decision::Ask => Err(Error::new(
            ErrorKind::AlreadyExists,
            Operation::Validate,
            dest,
            "the destination already exists and the conflict policy is 'fail'",
        )),
        Decision::Keep => Ok(true),
        Decision::Write | Decision::Replace | Decision::WriteBeside => Ok(false),
    }
}

/// Copies all of `source` into `temp`, the fastest way available: a
/// reflink, else `copy_file_range` in chunks, else a buffered copy (always
/// buffered when hashing for `--verify`). Holes of a sparse file stay holes
/// on every path where the destination can make a file longer with
/// `ftruncate` (`holes`; fusefat cannot: holes are written as zeros
/// there); a file whose size is unknown (`size_unknown`: procfs, sysfs) is
/// read to its end. Progress, pause and cancel are honoured between chunks.
/// Returns the bytes copied (holes included) and the method.
#[allow(clippy::too_many_arguments)]
fn copy_contents(
    source: &File,
    src: &Path,
    meta: &Metadata,
    size_unknown: bool,
    holes: bool,
    temp: &mut AtomicFile,
    buf: &mut [u8],
    control: Option<&Control>,
    mut hasher: Option<&mut blake3::Hasher>,
    start: u64,
    marks: &mut Marks<'_>,
    on_progress: &mut dyn FnMut(u64),
) -> Result<(u64, CopyMethod)> {
    let size = meta.len();
    if size_unknown {
        let copied = copy_buffered(
            source,
            src,
            temp,
            buf,
            control,
            hasher,
            0,
            None,
            marks,
            on_progress,
        )?;
        return Ok((copied, CopyMethod::Buffered));
    }
    let fast = hasher.is_none() && !faults::forces_buffered();
    if fast && start == 0 && os::reflink(source, meta, temp.handle()).is_ok() {
        on_progress(size);
        return Ok((size, CopyMethod::Reflink));
    }
    if holes && os::looks_sparse(meta) {
        return copy_sparse(
            source,
            src,
            size,
            temp,
            buf,
            control,
            hasher.as_deref_mut(),
            fast,
            start,
            marks,
            on_progress,
        );
    }
    let mut total = start;
    if fast {
        let mut write_behind = os::WriteBehind::default();
        loop {
            checkpoint(control, temp.dest())?;
            faults::before_chunk();
            // The size seen when the source was opened is what is copied
            // (the plan and the progress count on it; a source that grew
            // meanwhile is refused afterwards); this also saves the call
            // that would only report the end of the file.
            if total >= size {
                return Ok((total, CopyMethod::KernelCopy));
            }
            let want = (size - total).min(KERNEL_CHUNK_SIZE as u64) as usize;
            match os::copy_range(source, temp.handle(), want) {
                Ok(0) => return Ok((total, CopyMethod::KernelCopy)),
                Ok(n) => {
                    temp.note_written();
                    total += n as u64;
                    write_behind.advance(temp.handle(), total);
                    on_progress(n as u64);
                    marks.pass(temp, total)?;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                // Both positions have advanced by `total`: the buffered copy
                // carries on from there.
                Err(e) if os::is_unsupported(&e) => break,
                Err(e) => return Err(Error::io(Operation::Write, temp.dest(), e)),
            }
        }
    }
    let copied = copy_buffered(
        source,
        src,
        temp,
        buf,
        control,
        hasher,
        total,
        Some(size),
        marks,
        on_progress,
    )?;
    Ok((total + copied, CopyMethod::Buffered))
}

/// Copies a sparse file range by range of data (`SEEK_DATA`/`SEEK_HOLE`),
/// leaving the holes unwritten, and gives the temp the full length.
#[allow(clippy::too_many_arguments)]
fn copy_sparse(
    source: &File,
    src: &Path,
    size: u64,
    temp: &mut AtomicFile,
    buf: &mut [u8],
    control: Option<&Control>,
    mut hasher: Option<&mut blake3::Hasher>,
    mut fast: bool,
    start: u64,
    marks: &mut Marks<'_>,
    on_progress: &mut dyn FnMut(u64),
) -> Result<(u64, CopyMethod)> {
    temp.note_written();
    let temp = &*temp;
    let read_err = |e| Error::io(Operation::Read, src, e);
    let write_err = |e| Error::io(Operation::Write, temp.dest(), e);
    let mut used_kernel = false;
    let mut pos = start;
    loop {
        let next = os::next_data(source, pos, size).map_err(read_err)?;
        let (start, end) = next.unwrap_or((size, size));
        if let Some(h) = hasher.as_deref_mut() {
            hash_zeros(h, start - pos);
        }
        on_progress(start - pos);
        if next.is_none() {
            break;
        }
        let (mut from, mut to) = (start, start);
        while from < end {
            checkpoint(control, temp.dest())?;
            faults::before_chunk();
            let want = (end - from).min(buf.len() as u64) as usize;
            if fast {
                match os::copy_range_at(source, &mut from, temp.handle(), &mut to, want) {
                    Ok(0) => break,
                    Ok(n) => {
                        used_kernel = true;
                        on_progress(n as u64);
                        marks.pass(temp, to)?;
                        continue;
                    }
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Err(e) if os::is_unsupported(&e) => fast = false,
                    Err(e) => return Err(write_err(e)),
                }
            }
            let n = match os::read_at(source, &mut buf[..want], from) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(read_err(e)),
            };
            os::write_all_at(temp.handle(), &buf[..n], to).map_err(write_err)?;
            if let Some(h) = hasher.as_deref_mut() {
                h.update(&buf[..n]);
            }
            from += n as u64;
            to += n as u64;
            on_progress(n as u64);
            marks.pass(temp, to)?;
        }
        pos = end;
    }
    temp.handle().set_len(size).map_err(write_err)?;
    let method = if used_kernel {
        CopyMethod::KernelCopy
    } else {
        CopyMethod::Buffered
    };
    Ok((size, method))
}

/// Feeds `n` zero bytes (a hole) to a hash.
fn hash_zeros(hasher: &mut blake3::Hasher, mut n: u64) {
    static ZEROS: [u8; 64 << 10] = [0; 64 << 10];
    while n > 0 {
        let step = n.min(ZEROS.len() as u64) as usize;
        hasher.update(&ZEROS[..step]);
        n -= step as u64;
    }
}

/// Bytes per `copy_file_range` call.
const KERNEL_CHUNK_SIZE: usize = 4 << 20;

/// Reads `source` into `buf` and writes it to `temp`, chunk by chunk, up to
/// `end` bytes from the start of the file (the size seen when it was
/// opened: a file written to meanwhile is caught afterwards, not chased),
/// or to its end for a file that reports no size. `already` bytes were
/// copied before (by a faster path that gave up).
#[allow(clippy::too_many_arguments)]
fn copy_buffered(
    mut source: &File,
    src: &Path,
    temp: &mut AtomicFile,
    buf: &mut [u8],
    control: Option<&Control>,
    mut hasher: Option<&mut blake3::Hasher>,
    already: u64,
    end: Option<u64>,
    marks: &mut Marks<'_>,
    on_progress: &mut dyn FnMut(u64),
) -> Result<u64> {
    let mut total = 0u64;
    let mut write_behind = os::WriteBehind::default();
    loop {
        checkpoint(control, temp.dest())?;
        faults::before_chunk();
        let want = match end {
            Some(end) => (end.saturating_sub(already + total)).min(buf.len() as u64) as usize,
            None => buf.len(),
        };
        if want == 0 {
            return Ok(total);
        }
        let n = match source.read(&mut buf[..want]) {
            Ok(0) => return Ok(total),
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(Error::io(Operation::Read, src, e)),
        };
        temp.write_all(&buf[..n])
            .map_err(|e| Error::io(Operation::Write, temp.dest(), e))?;
        if let Some(h) = hasher.as_deref_mut() {
            h.update(&buf[..n]);
        }
        total += n as u64;
        write_behind.advance(temp.handle(), already + total);
        on_progress(n as u64);
        marks.pass(temp, already + total)?;
    }
}

/// Waits while paused; fails with "cancelled" if the work must stop.
fn checkpoint(control: Option<&Control>, path: &Path) -> Result<()> {
    match control {
        Some(c) if !c.checkpoint() => Err(Error::cancelled(path)),
        _ => Ok(()),
    }
}

/// Reads the fsynced temp back from the disk (its cached pages dropped
/// first) and compares its hash with the source's.
fn verify_temp(
    temp: &AtomicFile,
    expected: &blake3::Hash,
    buf: &mut [u8],
    control: Option<&Control>,
    total: u64,
    stage: &dyn Fn(Stage),
) -> Result<()> {
    let read_err = |e| Error::io(Operation::Verify, temp.temp_path(), e);
    let mut read = 0u64;
    stage(Stage::Verifying(0, total));
    let mut file = temp.handle();
    os::drop_cached_pages(file);
    file.seek(SeekFrom::Start(0)).map_err(read_err)?;
    let mut hasher = blake3::Hasher::new();
    loop {
        checkpoint(control, temp.dest())?;
        faults::before_chunk();
        match file.read(buf) {
            Ok(0) => break,
            Ok(n) => {
                hasher.update(&buf[..n]);
                read += n as u64;
                stage(Stage::Verifying(read, total));
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(read_err(e)),
        }
    }
    if hasher.finalize() == *expected {
        Ok(())
    } else {
        Err(Error::new(
            ErrorKind::VerifyFailed,
            Operation::Verify,
            temp.dest(),
            "the data read back from the disk differs from the source",
        ))
    }
}
