//! Scanning: resolve the roots, walk them (through the platform backend)
//! and classify what is found: each candidate's status, and the verdict a
//! sweep would reach on it ([`judge`], the one place the rules live).

use std::cmp::Ordering as CmpOrdering;
use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use super::backend::{self, InUse};
use super::limits::Limits;
use super::meta::{FileKind, Ident, Meta};
use super::patterns::{Class, Kind};
use super::report::{Backup, Entry, Ignored, ScanReport, SkipReason, Status, Verdict};
use super::request::{Root, SweepRequest, Trigger, resolve_root};
use crate::known_dirs;

/// A name-matching entry the walker found.
pub(super) struct Found<'a> {
    pub path: PathBuf,
    pub class: Class,
    /// The folder's identity.
    pub dir: Ident,
    /// When the folder last changed, as found before the sweep touched it
    /// (see [`Meta::bounded_by`](super::meta::Meta::bounded_by)).
    pub dir_changed: Option<std::time::SystemTime>,
    pub probe: Probe<'a>,
}

/// What the walker learned about a found entry.
pub(super) enum Probe<'a> {
    /// It must be left alone, for this reason.
    Unsafe(String),
    /// Someone else holds its lock.
    Held(Meta),
    /// Nobody held its lock, and the walker now holds it (until the
    /// [`Locked`](backend::Locked) is dropped), so a sweep can remove it
    /// without letting go in between.
    Free(Meta, backend::Locked<'a>),
    /// A backup kept by an all-or-nothing job (looked at, never opened).
    Backup(Meta),
    /// A folder a capability probe left (`.ferry-probe-<16 hex>.dir`): of
    /// this user, in the folder's mount. A sweep removes it with `rmdir`,
    /// which removes only an empty folder.
    #[cfg_attr(not(unix), allow(dead_code))] // the walk there reports none
    Folder(Meta),
}

/// Where the walker reports. A walk may run on several threads, each with
/// its own sink; the caller merges them.
pub(super) trait Sink: Send {
    /// Whether to stop now (deadline or cancel).
    fn should_stop(&mut self) -> bool;
    /// A name-matching entry.
    fn found(&mut self, found: Found<'_>);
    /// A problem that does not stop the walk.
    fn warn(&mut self, message: String);
    /// The walk is over for this sink's thread: last work done there, in
    /// parallel with the other threads' walks (sorting what it found).
    fn finish(&mut self) {}
}

/// A found entry, classified.
// Made and taken apart at once for every candidate, on the stack: boxing
// the large variant would cost an allocation each on the sweep's hot path.
#[allow(clippy::large_enum_variant)]
pub(super) enum Judged<'a> {
    /// A candidate (with the verdict a sweep would reach), with its lock
    /// if the walker holds it.
    Entry(Entry, Option<backend::Locked<'a>>),
    /// A look-alike left alone.
    Ignored(Ignored),
    /// A backup kept by an all-or-nothing job.
    Backup(Backup),
}

/// Classifies a found entry: its status (its age at `now` against the
/// request's threshold, and whether someone holds its lock) and the
/// verdict a sweep by `request` would reach, including, for a file the
/// rules would remove and with `in_use`, whether another program is using
/// it. (A sweep passes `None`: its removal makes that check itself, right
/// before the unlink.)
pub(super) fn judge<'a>(
    found: Found<'a>,
    now: SystemTime,
    request: &SweepRequest<'_>,
    in_use: Option<&InUse>,
) -> Judged<'a> {
    let (meta, locked, lock) = match found.probe {
        Probe::Unsafe(reason) => {
            return Judged::Ignored(Ignored {
                path: found.path,
                reason,
            });
        }
        Probe::Backup(meta) => {
            return Judged::Backup(Backup {
                path: found.path,
                size: meta.size,
                age: meta.age(now),
                links: meta.links,
            });
        }
        Probe::Held(meta) => (meta, true, None),
        Probe::Free(meta, lock) => (meta, false, Some(lock)),
        Probe::Folder(meta) => (meta, false, None),
    };
    let folder = meta.kind == FileKind::Directory;
    let Class::Candidate(kind, pattern) = found.class else {
        return Judged::Ignored(Ignored {
            path: found.path,
            reason: "a backup kept by an all-or-nothing job".into(),
        });
    };
    let age = meta.age(now);
    let status = if kind == Kind::Foreign {
        Status::Foreign
    } else if locked {
        Status::Active
    } else if age >= request.threshold {
        Status::Orphan
    } else {
        Status::Young
    };
    let mut entry = Entry {
        path: found.path,
        kind,
        pattern,
        // A folder frees nothing of its own when removed (empty).
        size: if folder { 0 } else { meta.size },
        age,
        status,
        locked,
        verdict: Verdict::Removable,
        ident: meta.ident,
        dir: found.dir,
        dir_changed: found.dir_changed,
        folder,
    };
    let verdict = match (rules(&entry, request), &lock) {
        (Err(reason), _) => Err(reason),
        (Ok(()), Some(lock)) => match in_use {
            Some(in_use) => lock.claim(in_use, meta.ident).map(drop),
            None => Ok(()),
        },
        // A probe's folder has no lock: `rmdir` decides.
        (Ok(()), None) if folder => Ok(()),
        // Removable by the rules means unlocked, so the walker holds it.
        (Ok(()), None) => Err(SkipReason::Active),
    };
    entry.verdict = match verdict {
        Ok(()) => Verdict::Removable,
        Err(reason) => Verdict::Kept(reason),
    };
    Judged::Entry(entry, lock)
}

/// Whether a sweep by `request` may remove a scanned entry, or why not,
/// by the rules alone (whether another program is using the file is
/// checked on the file itself, by the backend).
pub(super) fn rules(entry: &Entry, request: &SweepRequest<'_>) -> Result<(), SkipReason> {
    if entry.kind == Kind::Foreign {
        let Some(pattern) = entry.pattern else {
            return Err(SkipReason::Unsafe("unknown kind of file".into()));
        };
        if !request.foreign.contains(&pattern) {
            return Err(SkipReason::NotEnabled(pattern));
        }
        if request.trigger == Trigger::Scheduled && !request.foreign_in_schedule {
            return Err(SkipReason::NotInSchedule(pattern));
        }
    }
    if entry.locked || entry.status == Status::Active {
        return Err(SkipReason::Active);
    }
    min_age(
        entry.kind,
        entry.age,
        request.threshold,
        request.foreign_min_age,
    )
}

/// Whether a file of `kind` aged `age` is old enough to go: older than the
/// threshold, and for other tools' files, than their own minimum age.
pub(super) fn min_age(
    kind: Kind,
    age: Duration,
    threshold: Duration,
    foreign_min_age: Duration,
) -> Result<(), SkipReason> {
    if age < threshold {
        return Err(SkipReason::Young { age, threshold });
    }
    if kind == Kind::Foreign && age < foreign_min_age {
        return Err(SkipReason::ForeignTooYoung {
            age,
            min_age: foreign_min_age,
        });
    }
    Ok(())
}

struct Collector<'r, 'a> {
    report: ScanReport,
    limits: &'r Limits<'a>,
    now: SystemTime,
    request: &'r SweepRequest<'a>,
    in_use: &'r InUse,
}

impl Sink for Collector<'_, '_> {
    fn should_stop(&mut self) -> bool {
        self.limits.check()
    }

    fn found(&mut self, found: Found<'_>) {
        // The probe's lock, if any, is let go here: a scan changes nothing.
        match judge(found, self.now, self.request, Some(self.in_use)) {
            Judged::Entry(entry, _) => self.report.entries.push(entry),
            Judged::Ignored(ignored) => self.report.ignored.push(ignored),
            Judged::Backup(backup) => self.report.backups.push(backup),
        }
    }

    fn warn(&mut self, message: String) {
        self.report.warnings.push(message);
    }

    fn finish(&mut self) {
        sort_by_path(&mut self.report.entries, |e| &e.path);
        sort_by_path(&mut self.report.ignored, |i| &i.path);
        sort_by_path(&mut self.report.backups, |b| &b.path);
    }
}

/// Scans the request's roots and classifies every candidate. Nothing is
/// modified; problems become warnings in the report.
pub fn scan(request: &SweepRequest<'_>) -> ScanReport {
    let limits = Limits::new(request.time_limit, request.cancel);
    let now = SystemTime::now();
    let in_use = InUse::new();
    let mut collectors: Vec<Collector<'_, '_>> = (0..backend::walkers())
        .map(|_| Collector {
            report: ScanReport::default(),
            limits: &limits,
            now,
            request,
            in_use: &in_use,
        })
        .collect();
    let roots = walk_roots(request, &mut collectors);
    let mut report = ScanReport::default();
    // Each part is sorted (by its thread): sorting them joined merges them.
    for part in collectors.into_iter().map(|c| c.report) {
        report.entries.extend(part.entries);
        report.ignored.extend(part.ignored);
        report.backups.extend(part.backups);
        report.warnings.extend(part.warnings);
    }
    report.roots = roots;
    report.threshold = request.threshold;
    report.stopped = limits.stopped();
    sort_by_path(&mut report.entries, |e| &e.path);
    report.entries.dedup_by(|a, b| a.path == b.path);
    sort_by_path(&mut report.ignored, |i| &i.path);
    report.ignored.dedup_by(|a, b| a.path == b.path);
    sort_by_path(&mut report.backups, |b| &b.path);
    report.backups.dedup_by(|a, b| a.path == b.path);
    dedup_warnings(&mut report.warnings);
    report
}

/// Drops repeated warnings (a folder named twice, or by two roots), keeping
/// the first of each in its place.
pub(super) fn dedup_warnings(warnings: &mut Vec<String>) {
    let mut seen = HashSet::new();
    warnings.retain(|w| seen.insert(w.clone()));
}

/// Walks every root of the request with one sink per walking thread, and
/// returns the roots looked in (canonical paths). Problems with the roots
/// are told to the first sink.
pub(super) fn walk_roots<S: Sink>(request: &SweepRequest<'_>, sinks: &mut [S]) -> Vec<PathBuf> {
    let Some(first) = sinks.first_mut() else {
        return Vec::new();
    };
    let mut warnings = Vec::new();
    let roots = resolve_roots(request, &mut warnings);
    for warning in warnings {
        first.warn(warning);
    }
    if roots.is_empty() || first.should_stop() {
        return Vec::new();
    }
    let mut sinks: Vec<&mut dyn Sink> = sinks.iter_mut().map(|s| s as &mut dyn Sink).collect();
    backend::walk(&roots, &mut sinks);
    roots.into_iter().map(|root| root.path).collect()
}

/// Sorts items by their path, as [`Path`](std::path::Path)'s order does
/// (component by component), but comparing bytes: the paths here are
/// canonical (absolute, no `.`, `..`, doubled or trailing separators), and
/// for those, comparing component by component is comparing bytes with
/// the separator ranked below every other byte. The sort is stable, which
/// finds runs already in order: sorted parts joined are merged in linear
/// time.
pub(super) fn sort_by_path<T>(items: &mut [T], path: impl Fn(&T) -> &Path) {
    items.sort_by(|a, b| path_order(path(a), path(b)));
}

fn path_order(a: &Path, b: &Path) -> CmpOrdering {
    let (a, b) = (
        a.as_os_str().as_encoded_bytes(),
        b.as_os_str().as_encoded_bytes(),
    );
    let rank = |c: u8| if c == b'/' { 0 } else { u16::from(c) + 1 };
    match first_difference(a, b) {
        Some(i) => rank(a[i]).cmp(&rank(b[i])),
        None => a.len().cmp(&b.len()),
    }
}

/// Where two byte strings first differ (within the shorter one), eight
/// bytes at a time: sorted paths share long prefixes.
fn first_difference(a: &[u8], b: &[u8]) -> Option<usize> {
    let len = a.len().min(b.len());
    let (mut a_words, mut b_words) = (a[..len].chunks_exact(8), b[..len].chunks_exact(8));
    let mut at = 0;
    for (x, y) in a_words.by_ref().zip(b_words.by_ref()) {
        let x = u64::from_le_bytes(x.try_into().expect("eight bytes"));
        let y = u64::from_le_bytes(y.try_into().expect("eight bytes"));
        if x != y {
            // Little-endian: the lowest differing byte comes first.
            return Some(at + (x ^ y).trailing_zeros() as usize / 8);
        }
        at += 8;
    }
    let (a_rest, b_rest) = (a_words.remainder(), b_words.remainder());
    a_rest
        .iter()
        .zip(b_rest)
        .position(|(x, y)| x != y)
        .map(|i| at + i)
}

/// The request's roots, canonical, without duplicates or folders already
/// covered by a recursive root. Missing remembered folders are dropped
/// quietly; other missing roots with one warning each, in the words the
/// settings use.
fn resolve_roots(request: &SweepRequest<'_>, warnings: &mut Vec<String>) -> Vec<Root> {
    let mut wanted: Vec<Root> = request.roots.clone();
    if request.include_remembered {
        let remembered = request
            .resolve_data_dir()
            .and_then(|dir| known_dirs::load_in(&dir));
        match remembered {
            Ok(dirs) => wanted.extend(dirs.into_iter().map(Root::folder)),
            Err(e) => warnings.push(format!("the remembered folders are not available: {e}")),
        }
    }
    let mut by_path: BTreeMap<PathBuf, bool> = BTreeMap::new();
    for root in wanted {
        let canonical = match resolve_root(&root.path) {
            Ok(p) => p,
            Err(problem) if root.recursive => {
                warnings.push(format!("{}; skipped", problem.describe(&root.path)));
                continue;
            }
            Err(_) => continue,
        };
        *by_path.entry(canonical).or_insert(false) |= root.recursive;
    }
    let trees: Vec<PathBuf> = by_path
        .iter()
        .filter(|(_, recursive)| **recursive)
        .map(|(p, _)| p.clone())
        .collect();
    by_path
        .into_iter()
        .filter(|(path, _)| !trees.iter().any(|t| t != path && path.starts_with(t)))
        .map(|(path, recursive)| Root { path, recursive })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_order_is_path_order_for_canonical_paths() {
        let long = "/home/someone/Downloads/some-folder";
        let paths = [
            "/a".to_string(),
            "/a/b".into(),
            "/a.b".into(),
            "/a-b".into(),
            "/a/b/c".into(),
            "/a/b.c".into(),
            "/a/bc".into(),
            "/a0".into(),
            "/ab".into(),
            "/a/.b".into(),
            "/a/~b".into(),
            "/A".into(),
            "/a/b/ü".into(),
            "/a/b/z".into(),
            "/".into(),
            format!("{long}/x"),
            format!("{long}.x"),
            format!("{long}-x/y"),
            format!("{long}/.x.0123456789abcdef.ferry-part"),
            format!("{long}/.x.0123456789abcdee.ferry-part"),
            format!("{long}/.x.0123456789abcdef.ferry-part/z"),
            format!("{long}x"),
            long.to_string(),
        ];
        for a in &paths {
            for b in &paths {
                let (a, b) = (Path::new(a), Path::new(b));
                assert_eq!(path_order(a, b), a.cmp(b), "{a:?} vs {b:?}");
            }
        }
        let mut sorted: Vec<PathBuf> = paths.iter().map(PathBuf::from).collect();
        sort_by_path(&mut sorted, |p| p);
        assert!(sorted.is_sorted());
    }
}
