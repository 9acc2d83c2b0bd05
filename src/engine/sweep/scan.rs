//! Scanning: resolve the roots, walk them (through the platform backend)
//! and classify what is found.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant, SystemTime};

use super::backend;
use super::meta::{Ident, Meta};
use super::patterns::{ForeignPattern, Kind};
use super::report::{Entry, Ignored, ScanReport, Status, Stop};
use super::request::{Root, SweepRequest};
use crate::engine::known_dirs;

/// A name-matching entry the walker found.
pub(super) struct Found {
    pub path: PathBuf,
    pub kind: Kind,
    pub pattern: Option<ForeignPattern>,
    /// The folder's identity.
    pub dir: Ident,
    pub meta: Meta,
    /// Whether its lock was held, or why it must be left alone.
    pub probe: Result<bool, String>,
}

/// Where the walker reports.
pub(super) trait Sink {
    /// Whether to stop now (deadline or cancel).
    fn should_stop(&mut self) -> bool;
    /// A name-matching entry.
    fn found(&mut self, found: Found);
    /// A problem that does not stop the walk.
    fn warn(&mut self, message: String);
}

/// Limits shared by the scan and the removals of one sweep.
pub(super) struct Limits<'a> {
    pub deadline: Instant,
    pub cancel: Option<&'a AtomicBool>,
    pub stopped: Option<Stop>,
}

impl<'a> Limits<'a> {
    pub fn new(time_limit: Duration, cancel: Option<&'a AtomicBool>) -> Self {
        Self {
            deadline: Instant::now()
                .checked_add(time_limit)
                .unwrap_or_else(|| Instant::now() + Duration::from_secs(86400 * 365)),
            cancel,
            stopped: None,
        }
    }

    /// Records and reports a stop; once stopped, always stopped.
    pub fn check(&mut self) -> bool {
        if self.stopped.is_none() {
            if self.cancel.is_some_and(|c| c.load(Ordering::Relaxed)) {
                self.stopped = Some(Stop::Cancelled);
            } else if Instant::now() >= self.deadline {
                self.stopped = Some(Stop::Deadline);
            }
        }
        self.stopped.is_some()
    }
}

struct Collector<'r, 'a> {
    report: ScanReport,
    limits: &'r mut Limits<'a>,
    now: SystemTime,
    threshold: Duration,
}

impl Sink for Collector<'_, '_> {
    fn should_stop(&mut self) -> bool {
        self.limits.check()
    }

    fn found(&mut self, found: Found) {
        let locked = match found.probe {
            Ok(locked) => locked,
            Err(reason) => {
                self.report.ignored.push(Ignored {
                    path: found.path,
                    reason,
                });
                return;
            }
        };
        let age = found.meta.age(self.now);
        let status = if found.kind == Kind::Foreign {
            Status::Foreign
        } else if locked {
            Status::Active
        } else if age >= self.threshold {
            Status::Orphan
        } else {
            Status::Young
        };
        self.report.entries.push(Entry {
            path: found.path,
            kind: found.kind,
            pattern: found.pattern,
            size: found.meta.size,
            age,
            status,
            locked,
            ident: found.meta.ident,
            dir: found.dir,
        });
    }

    fn warn(&mut self, message: String) {
        self.report.warnings.push(message);
    }
}

/// Scans the request's roots and classifies every candidate. Nothing is
/// modified; problems become warnings in the report.
pub fn scan(request: &SweepRequest<'_>) -> ScanReport {
    let mut limits = Limits::new(request.time_limit, request.cancel);
    scan_with(request, &mut limits)
}

pub(super) fn scan_with(request: &SweepRequest<'_>, limits: &mut Limits<'_>) -> ScanReport {
    let mut collector = Collector {
        report: ScanReport::default(),
        limits,
        now: SystemTime::now(),
        threshold: request.threshold,
    };
    let roots = resolve_roots(request, &mut collector.report.warnings);
    for root in &roots {
        if collector.should_stop() {
            break;
        }
        collector.report.roots.push(root.path.clone());
        backend::walk(root, &mut collector);
    }
    let mut report = collector.report;
    report.stopped = collector.limits.stopped;
    report.entries.sort_by(|a, b| a.path.cmp(&b.path));
    report.entries.dedup_by(|a, b| a.path == b.path);
    report.ignored.sort_by(|a, b| a.path.cmp(&b.path));
    report.ignored.dedup_by(|a, b| a.path == b.path);
    report
}

/// The request's roots, canonical, without duplicates or folders already
/// covered by a recursive root. Missing remembered folders are dropped
/// quietly; other missing roots with a warning.
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
        let canonical = match root.path.canonicalize() {
            Ok(p) if p.is_dir() => p,
            Ok(_) if root.recursive => {
                warnings.push(format!("skipped '{}': not a folder", root.path.display()));
                continue;
            }
            Err(e) if root.recursive => {
                warnings.push(format!(
                    "skipped '{}': {}",
                    root.path.display(),
                    crate::engine::ErrorKind::from_io(&e).describe()
                ));
                continue;
            }
            _ => continue,
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
