//! Turning a request ([`JobSpec`]) into the list of entries to write, and
//! refusing bad input before any byte is written.
//!
//! `DEST` is a folder when it exists as one or when several sources are
//! given (then it must exist); otherwise it is the target path, as with
//! `cp`. A folder `src` copied into an existing folder `dst` becomes
//! `dst/src` (`cp -r` semantics; a trailing slash, `src/`, changes
//! nothing), while `src/.` names the folder's contents: they go straight
//! into `dst` (and a move leaves `src` itself in place). Inside folders,
//! symbolic links are recreated, never followed; files linked to each other
//! (hard links) stay linked to each other at the destination; FIFOs,
//! sockets and devices are left out with a warning. A source named on the
//! command line that is a link is followed for a copy and moved as a link
//! for a move.
//!
//! ```
//! use ferry_engine::job::{EntryKind, JobSpec};
//! use ferry_engine::plan::plan_job;
//!
//! let dir = tempfile::tempdir()?;
//! std::fs::create_dir_all(dir.path().join("photos/2024"))?;
//! std::fs::write(dir.path().join("photos/2024/a.jpg"), b"jpeg")?;
//! let out = dir.path().join("out");
//! std::fs::create_dir(&out)?;
//!
//! let plan = plan_job(&JobSpec::copy(vec![dir.path().join("photos")], &out)).unwrap();
//! let dests: Vec<_> = plan.iter().map(|e| e.dest.clone()).collect();
//! assert_eq!(dests, [out.join("photos"), out.join("photos/2024"), out.join("photos/2024/a.jpg")]);
//! assert_eq!(plan.total_bytes(), 4);
//!
//! let missing = plan_job(&JobSpec::copy(vec![dir.path().join("nope")], &out)).unwrap_err();
//! assert!(missing[0].to_string().contains("does not exist"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::collections::HashMap;
use std::fs::{self, Metadata};
use std::io;
use std::path::{Path, PathBuf};

use super::error::{Error, ErrorKind, Operation};
use super::job::{Entry, EntryKind, JobPlan, JobSpec, TransferKind};
use super::os::{self, FileId};

/// Checks every source and the destination and lists what to write.
/// Returns every problem found, so a person can fix them all at once;
/// nothing is written either way.
pub fn plan_job(spec: &JobSpec) -> Result<JobPlan, Vec<Error>> {
    let mut planner = Planner {
        plan: JobPlan::default(),
        errors: Vec::new(),
        claimed: HashMap::new(),
        kind: spec.kind,
        links: HashMap::new(),
    };
    if !spec.pairs.is_empty() {
        // Named one by one (a retry): each source to its own target path.
        for (source, target) in &spec.pairs {
            match destination_directory(1, target) {
                Ok(None) => planner.add_top(source, target),
                Ok(Some(_)) if fs::metadata(source).is_ok_and(|m| m.is_dir()) => {
                    planner.add_top(source, target)
                }
                Ok(Some(_)) => planner
                    .errors
                    .push(invalid(target, "a folder of that name is in the way")),
                Err(e) => planner.errors.push(e),
            }
        }
        return if planner.errors.is_empty() {
            Ok(planner.plan)
        } else {
            Err(planner.errors)
        };
    }
    if spec.sources.is_empty() {
        return Err(vec![Error::new(
            ErrorKind::InvalidInput,
            Operation::Validate,
            &spec.dest,
            "there is nothing to transfer",
        )]);
    }
    let dest_dir = destination_directory(spec.sources.len(), &spec.dest).map_err(|e| vec![e])?;
    for source in &spec.sources {
        if let Some(dir) = &dest_dir
            && names_contents(source)
        {
            planner.add_contents(source, dir);
            continue;
        }
        let target = match &dest_dir {
            Some(dir) => match source.file_name() {
                Some(name) => dir.join(name),
                None => {
                    planner
                        .errors
                        .push(invalid(source, "the source has no file name"));
                    continue;
                }
            },
            None => spec.dest.clone(),
        };
        planner.add_top(source, &target);
    }
    if planner.errors.is_empty() {
        Ok(planner.plan)
    } else {
        Err(planner.errors)
    }
}

struct Planner {
    plan: JobPlan,
    errors: Vec<Error>,
    claimed: HashMap<PathBuf, PathBuf>,
    kind: TransferKind,
    /// Files with more than one link seen so far: identity → their entry.
    links: HashMap<FileId, usize>,
}

/// Whether `source` names a folder's contents (`src/.`, or `.`), as `cp -r`
/// reads it.
fn names_contents(source: &Path) -> bool {
    let bytes = source.as_os_str().as_encoded_bytes();
    bytes == b"." || bytes.ends_with(b"/.") || (cfg!(windows) && bytes.ends_with(b"\\."))
}

impl Planner {
    /// The contents of the folder `source` (named as `src/.`) go straight
    /// into the existing folder `dir`.
    fn add_contents(&mut self, source: &Path, dir: &Path) {
        let meta = match fs::metadata(source) {
            Ok(meta) => meta,
            Err(e) => return self.errors.push(not_found_or(source, e)),
        };
        if !meta.is_dir() {
            return self.errors.push(invalid(
                source,
                "it is not a folder, so it has no contents to copy",
            ));
        }
        if fs::metadata(dir).is_ok_and(|d| FileId::of(&d) == FileId::of(&meta)) {
            return self.errors.push(
                invalid(source, "the source and the destination are the same folder")
                    .with_path(dir),
            );
        }
        if let Err(e) = check_not_inside(source, &dir.join("x")) {
            return self.errors.push(e);
        }
        // Without the trailing `/.`, so paths read naturally.
        let bytes = source.as_os_str().as_encoded_bytes();
        let folder = match bytes.len() {
            1 => Path::new("."),
            // SAFETY: cut before an ASCII separator, a valid boundary.
            n => {
                Path::new(unsafe { std::ffi::OsStr::from_encoded_bytes_unchecked(&bytes[..n - 2]) })
            }
        };
        let folder = if folder.as_os_str().is_empty() {
            Path::new("/")
        } else {
            folder
        };
        self.add_children(folder, dir);
    }

    /// A source named by the user.
    fn add_top(&mut self, source: &Path, target: &Path) {
        let link_meta = match fs::symlink_metadata(source) {
            Ok(meta) => meta,
            Err(e) => return self.errors.push(not_found_or(source, e)),
        };
        let follow = !(link_meta.file_type().is_symlink() && self.kind == TransferKind::Move);
        let meta = if follow {
            match fs::metadata(source) {
                Ok(meta) => meta,
                Err(e) => return self.errors.push(not_found_or(source, e)),
            }
        } else {
            link_meta
        };
        if let Some(first) = self
            .claimed
            .insert(target.to_path_buf(), source.to_path_buf())
        {
            return self.errors.push(
                invalid(
                    source,
                    &format!(
                        "it would be written to the same place as '{}'",
                        first.display()
                    ),
                )
                .with_path(target),
            );
        }
        if let Err(e) = check_target(source, &meta, target) {
            return self.errors.push(e);
        }
        if meta.is_dir() {
            if let Err(e) = check_not_inside(source, target) {
                return self.errors.push(e);
            }
        } else if !meta.is_file() && !meta.file_type().is_symlink() {
            return self.errors.push(Error::new(
                ErrorKind::InvalidInput,
                Operation::OpenSource,
                source,
                format!(
                    "it is {}, and only files, folders and links can be transferred",
                    os::describe_file_type(&meta.file_type())
                ),
            ));
        }
        self.add(source, &meta, target);
    }

    /// Adds one entry (and, for a folder, everything under it).
    fn add(&mut self, source: &Path, meta: &Metadata, target: &Path) {
        let file_type = meta.file_type();
        let kind = if file_type.is_dir() {
            EntryKind::Dir {
                meta: os::dir_meta(meta),
            }
        } else if file_type.is_file() {
            match self.first_link(meta) {
                Some(first) => EntryKind::HardLink { first },
                None => EntryKind::File { size: meta.len() },
            }
        } else if file_type.is_symlink() {
            match fs::read_link(source) {
                Ok(link) => EntryKind::Symlink { target: link },
                Err(e) => return self.errors.push(Error::io(Operation::Inspect, source, e)),
            }
        } else {
            self.plan.warnings.push(format!(
                "skipped '{}': it is {}",
                source.display(),
                os::describe_file_type(&file_type)
            ));
            return;
        };
        let is_dir = matches!(kind, EntryKind::Dir { .. });
        let is_file = matches!(kind, EntryKind::File { .. } | EntryKind::HardLink { .. });
        let entry = Entry {
            src: source.to_path_buf(),
            dest: target.to_path_buf(),
            kind,
        };
        if is_file && os::HAS_FILE_IDS {
            // The copy opens this very file or none (a name swapped for a
            // link or another file meanwhile is refused).
            self.plan.push_file(entry, FileId::of(meta));
        } else {
            self.plan.push(entry);
        }
        if is_dir {
            self.add_children(source, target);
        }
    }

    /// For a file with several links: the entry of its first link in this
    /// job, if one was planned already (else this one becomes the first).
    fn first_link(&mut self, meta: &Metadata) -> Option<usize> {
        if !os::HAS_FILE_IDS || os::link_count(meta) < 2 {
            return None;
        }
        let next = self.plan.len();
        match self.links.entry(FileId::of(meta)) {
            std::collections::hash_map::Entry::Occupied(first) => Some(*first.get()),
            std::collections::hash_map::Entry::Vacant(slot) => {
                slot.insert(next);
                None
            }
        }
    }

    fn add_children(&mut self, dir: &Path, target: &Path) {
        let read = match fs::read_dir(dir) {
            Ok(read) => read,
            Err(e) => return self.errors.push(Error::io(Operation::ReadDir, dir, e)),
        };
        // Names only, then each looked at in order: a folder of 200,000
        // files holds no metadata for all of them at once.
        let mut names = Vec::new();
        for entry in read {
            match entry {
                Ok(entry) => names.push(entry.file_name()),
                Err(e) => return self.errors.push(Error::io(Operation::ReadDir, dir, e)),
            }
        }
        names.sort_unstable();
        for name in names {
            let source = dir.join(&name);
            match fs::symlink_metadata(&source) {
                Ok(meta) => self.add(&source, &meta, &target.join(&name)),
                Err(e) => return self.errors.push(Error::io(Operation::ReadDir, dir, e)),
            }
        }
    }
}

/// `Some(dir)` when `dest` names a folder to transfer into, `None` when it
/// names the target itself.
fn destination_directory(source_count: usize, dest: &Path) -> Result<Option<PathBuf>, Error> {
    match fs::metadata(dest) {
        Ok(meta) if meta.is_dir() => return Ok(Some(dest.to_path_buf())),
        Ok(_) if source_count > 1 => {
            return Err(invalid(
                dest,
                "several sources need a destination folder, and this is not a folder",
            ));
        }
        Ok(_) => return Ok(None),
        Err(e) if e.kind() != io::ErrorKind::NotFound => {
            return Err(Error::io(Operation::Inspect, dest, e));
        }
        Err(_) => {}
    }
    let bytes = dest.as_os_str().as_encoded_bytes();
    let names_a_dir = bytes.ends_with(b"/") || (cfg!(windows) && bytes.ends_with(b"\\"));
    if source_count > 1 || names_a_dir {
        return Err(missing_folder(dest));
    }
    let parent = super::os::path::parent_dir(dest);
    match fs::metadata(parent) {
        Ok(meta) if meta.is_dir() => Ok(None),
        Ok(_) => Err(invalid(parent, "the destination's parent is not a folder")),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Err(missing_folder(parent)),
        Err(e) => Err(Error::io(Operation::Inspect, parent, e)),
    }
}

/// Checks a top-level source against what is already at its target.
fn check_target(source: &Path, meta: &Metadata, target: &Path) -> Result<(), Error> {
    let existing = match fs::symlink_metadata(target) {
        Ok(existing) => existing,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(Error::io(Operation::Inspect, target, e)),
    };
    let same = if os::HAS_FILE_IDS {
        FileId::of(&existing) == FileId::of(meta)
            || fs::metadata(target).is_ok_and(|m| FileId::of(&m) == FileId::of(meta))
    } else {
        fs::canonicalize(source).ok() == fs::canonicalize(target).ok()
    };
    if same {
        return Err(
            invalid(source, "the source and the destination are the same file").with_path(target),
        );
    }
    match super::job::in_the_way(target, &existing, meta.is_dir()) {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

/// Refuses to copy or move a folder into itself.
fn check_not_inside(source: &Path, target: &Path) -> Result<(), Error> {
    let Ok(source) = fs::canonicalize(source) else {
        return Ok(());
    };
    let parent = super::os::path::parent_dir(target);
    let Ok(parent) = fs::canonicalize(parent) else {
        return Ok(());
    };
    let target = parent.join(target.file_name().unwrap_or_default());
    if target.starts_with(&source) {
        return Err(
            invalid(&target, "the destination is inside the source folder").with_path(&source),
        );
    }
    Ok(())
}

fn invalid(path: &Path, detail: &str) -> Error {
    Error::new(ErrorKind::InvalidInput, Operation::Validate, path, detail)
}

fn missing_folder(path: &Path) -> Error {
    Error::new(
        ErrorKind::NotFound,
        Operation::Validate,
        path,
        "the destination folder does not exist",
    )
}

fn not_found_or(source: &Path, e: io::Error) -> Error {
    if e.kind() == io::ErrorKind::NotFound {
        Error::new(
            ErrorKind::NotFound,
            Operation::OpenSource,
            source,
            "it does not exist",
        )
    } else {
        Error::io(Operation::Inspect, source, e)
    }
}
