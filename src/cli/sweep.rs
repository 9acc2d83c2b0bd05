//! `ferry scan` and `ferry sweep`: list Ferry's leftover temp files (and
//! other tools' partial files) and remove the orphans safely.
//!
//! With no ROOT both look in the settings' sweep roots and in every folder
//! Ferry has written into. `--older-than` accepts any duration of at least
//! one second (scripts and tests); the settings' threshold, the default,
//! is at least a minute. Ferry's own live temps are told apart by their
//! locks, whatever the threshold; files other programs use, other tools'
//! files younger than their minimum age, and backups of all-or-nothing
//! jobs are kept whatever it says. What a sweep would do with each file is
//! the engine's verdict, printed as it is.
//!
//! `ferry sweep --scheduled` (hidden: the per-user timer of `ferry schedule
//! install` runs it) is the window's scheduled sweep instead of a manual
//! one: the settings' roots and rules, logged as scheduled, and only when
//! the engine's scheduler says one is due.

use std::fmt::Write as _;
use std::io::{self, Write as _};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, SystemTime};

use serde::Serialize;

use super::{EXIT_INTERRUPTED, INTERRUPTED, human_bytes};
use ferry_engine::ErrorKind;
use ferry_engine::settings::Settings;
use ferry_engine::sweep::{
    self, Backup, Entry, Kind, ScanReport, Schedule, Scheduler, Status, Stop, SweepReport,
    SweepRequest,
};

/// Arguments of `ferry scan`.
#[derive(Debug, clap::Args)]
pub struct ScanArgs {
    /// Unlocked files older than this are orphans: 90s, 15m, 2h, 7d
    /// (default: the settings' threshold, one day unless changed).
    #[arg(long, value_name = "DUR", value_parser = parse_age)]
    older_than: Option<Duration>,
    /// Print one JSON document:
    /// {"entries":[{"path","kind","size","age_secs","status","removable"}]}.
    #[arg(long)]
    json: bool,
    /// Folders to look in, with their sub-folders (default: the settings'
    /// sweep roots and every folder Ferry has written into).
    #[arg(value_name = "ROOT")]
    roots: Vec<PathBuf>,
}

/// Arguments of `ferry sweep`.
#[derive(Debug, clap::Args)]
pub struct SweepArgs {
    /// Unlocked files older than this are orphans: 90s, 15m, 2h, 7d
    /// (default: the settings' threshold, one day unless changed).
    #[arg(long, value_name = "DUR", value_parser = parse_age)]
    older_than: Option<Duration>,
    /// Show what would be removed; remove nothing.
    #[arg(long)]
    dry_run: bool,
    /// Print one JSON document:
    /// {"removed":[{"path","size"}],"skipped":[{"path","reason"}],"freed_bytes"}.
    #[arg(long)]
    json: bool,
    /// Folders to look in, with their sub-folders (default: the settings'
    /// sweep roots and every folder Ferry has written into).
    #[arg(value_name = "ROOT")]
    roots: Vec<PathBuf>,
    /// What the per-user timer runs (`ferry schedule install`): the
    /// scheduled sweep the window would run, with the settings' roots and
    /// rules and logged as scheduled, if one is due by the settings'
    /// schedule; otherwise nothing.
    #[arg(long, hide = true, conflicts_with_all = ["older_than", "dry_run", "json", "roots"])]
    scheduled: bool,
}

/// Runs `ferry scan`.
pub fn run_scan(args: ScanArgs) -> ExitCode {
    let (request, _) = match prepare(args.older_than, &args.roots) {
        Ok(prepared) => prepared,
        Err(code) => return code,
    };
    let report = sweep::scan(&request);
    warn_all(&report.warnings);
    if args.json {
        emit(json_line(&ScanJson::new(&report, request.threshold)));
    } else {
        emit(scan_text(&report, &request).into_bytes());
    }
    stop_code(report.stopped, &report.roots, &request)
}

/// Runs `ferry sweep`.
pub fn run_sweep(args: SweepArgs) -> ExitCode {
    let (mut request, settings) = match prepare(args.older_than, &args.roots) {
        Ok(prepared) => prepared,
        Err(code) => return code,
    };
    request.dry_run = args.dry_run;
    let result = if args.scheduled {
        match scheduled_sweep(&request, settings.sweep.schedule) {
            Some(result) => result,
            None => return ExitCode::SUCCESS,
        }
    } else {
        sweep::run_sweep(&request)
    };
    let report = match result {
        Ok(report) => report,
        Err(e) if e.kind() == ErrorKind::Cancelled => {
            eprintln!("ferry: interrupted; nothing was removed");
            return ExitCode::from(EXIT_INTERRUPTED);
        }
        Err(e) => {
            eprintln!("ferry: {e}");
            return ExitCode::from(1);
        }
    };
    warn_all(&report.warnings);
    if args.json {
        emit(json_line(&SweepJson::from(&report)));
    } else {
        emit(sweep_text(&report).into_bytes());
        let failed = report.failures();
        if failed > 0 {
            eprintln!(
                "ferry: {failed} file{} could not be removed (see above)",
                if failed == 1 { "" } else { "s" }
            );
        }
    }
    if report.failures() > 0 {
        return ExitCode::from(1);
    }
    stop_code(report.stopped, &report.roots, &request)
}

/// `ferry sweep --scheduled`: the engine runs the scheduled sweep if one is
/// due by the clock the window keeps (the last sweep's time and when the
/// schedule was set, in the data folder). `None` (said on stdout) when the
/// schedule is off or nothing is due yet.
fn scheduled_sweep(
    request: &SweepRequest<'_>,
    schedule: Schedule,
) -> Option<ferry_engine::Result<SweepReport>> {
    if schedule == Schedule::Off {
        println!(
            "Scheduled sweeps are off in the settings: nothing to do ('ferry schedule remove' \
             removes the timer)."
        );
        return None;
    }
    let data_dir = match request.resolve_data_dir() {
        Ok(dir) => dir,
        Err(e) => return Some(Err(e)),
    };
    let now = SystemTime::now();
    let mut scheduler = Scheduler::start_in(schedule, &data_dir, now);
    let result = sweep::run_due(&mut scheduler, request, now);
    if result.is_none() {
        let due = scheduler
            .next_due(now)
            .map(|t| humantime::format_rfc3339_seconds(t).to_string())
            .unwrap_or_default();
        println!("No scheduled sweep is due yet ({schedule}): the next one is due at {due}.");
    }
    result
}

/// A duration for `--older-than`: humantime, at least one second.
fn parse_age(text: &str) -> Result<Duration, String> {
    let age = humantime::parse_duration(text).map_err(|e| {
        format!("'{text}' is not a duration ({e}); write for example 90s, 15m, 2h or 7d")
    })?;
    if age < Duration::from_secs(1) {
        return Err(format!("'{text}' is too short; the smallest is 1s"));
    }
    Ok(age)
}

/// The request both commands share: settings (warnings on stderr), roots
/// checked up front (a missing one is an error and nothing is done), the
/// threshold, and Ctrl-C as the cancel flag; and the settings it came from.
fn prepare(
    older_than: Option<Duration>,
    roots: &[PathBuf],
) -> Result<(SweepRequest<'static>, Settings), ExitCode> {
    let settings = super::load_settings();
    let mut request = if roots.is_empty() {
        SweepRequest::from_settings(&settings)
    } else {
        let mut checked = Vec::new();
        let mut bad = false;
        for root in roots {
            match sweep::check_root(root) {
                Ok(path) => checked.push(path),
                Err(e) => {
                    eprintln!("ferry: {e}");
                    bad = true;
                }
            }
        }
        if bad {
            eprintln!("ferry: nothing was done");
            return Err(ExitCode::from(1));
        }
        let mut request = SweepRequest::new(&checked, settings.sweep.threshold);
        request.apply_settings(&settings);
        request
    };
    if let Some(age) = older_than {
        request.threshold = age;
    }
    request.cancel = Some(&INTERRUPTED);
    request.data_dir = Some(super::data_dir().map_err(|()| ExitCode::from(1))?);
    Ok((request, settings))
}

fn warn_all(warnings: &[String]) {
    for w in warnings {
        eprintln!("ferry: warning: {w}");
    }
}

/// Exit status after a scan or sweep that otherwise went well. "No folders
/// to look in" is said only when none was named at all: a named folder
/// that is missing has had its warning already, in the settings' words.
fn stop_code(stopped: Option<Stop>, roots: &[PathBuf], request: &SweepRequest<'_>) -> ExitCode {
    match stopped {
        Some(Stop::Cancelled) => {
            eprintln!("ferry: interrupted; the report above is partial");
            ExitCode::from(EXIT_INTERRUPTED)
        }
        Some(Stop::Deadline) => {
            eprintln!("ferry: {}; the report above is partial", Stop::Deadline);
            ExitCode::from(1)
        }
        None => {
            if roots.is_empty() && request.roots.is_empty() {
                let where_ = crate::env::dirs()
                    .map(|d| format!(" ('{}')", Settings::path_in(&d.config).display()))
                    .unwrap_or_default();
                eprintln!(
                    "ferry: no folders to look in: name ROOT folders, add sweep roots to the \
                     settings{where_}, or copy something with Ferry first"
                );
            }
            ExitCode::SUCCESS
        }
    }
}

/// Writes a whole report to stdout at once. A closed pipe (`| head`) is
/// not worth a panic.
fn emit(bytes: Vec<u8>) {
    let mut stdout = io::stdout().lock();
    let _ = stdout.write_all(&bytes).and_then(|()| stdout.flush());
}

/// One JSON document on one line. Field names are declared in alphabetical
/// order: the documents' shape and key order are part of the interface.
fn json_line(doc: &impl Serialize) -> Vec<u8> {
    let mut out = serde_json::to_vec(doc).expect("reports serialize");
    out.push(b'\n');
    out
}

/// A path as JSON text (not UTF-8: the lossy form, as before).
fn lossy(path: &Path) -> std::borrow::Cow<'_, str> {
    path.to_string_lossy()
}

/// A path's exact bytes in lowercase hex, for paths that are not UTF-8
/// (whose `"path"` is lossy, so two files could print the same). On
/// Windows the bytes are the path's WTF-8 form.
fn path_hex(path: &Path) -> Option<String> {
    ferry_engine::os::path::hex_if_not_utf8(path)
}

/// The status word of a backup: by its age, like Ferry's own files (it is
/// never locked); `removable` is always false.
fn backup_status(backup: &Backup, threshold: Duration) -> Status {
    if backup.age >= threshold {
        Status::Orphan
    } else {
        Status::Young
    }
}

#[derive(Serialize)]
struct ScanJson<'a> {
    entries: Vec<EntryJson<'a>>,
}

impl<'a> ScanJson<'a> {
    /// The candidates and the backups, in path order.
    fn new(report: &'a ScanReport, threshold: Duration) -> Self {
        let mut entries: Vec<(&Path, EntryJson<'a>)> = report
            .entries
            .iter()
            .map(|e| (e.path.as_path(), EntryJson::from(e)))
            .chain(
                report
                    .backups
                    .iter()
                    .map(|b| (b.path.as_path(), EntryJson::backup(b, threshold))),
            )
            .collect();
        entries.sort_by(|a, b| a.0.cmp(b.0));
        Self {
            entries: entries.into_iter().map(|(_, e)| e).collect(),
        }
    }
}

#[derive(Serialize)]
struct EntryJson<'a> {
    age_secs: u64,
    kind: &'static str,
    path: std::borrow::Cow<'a, str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    path_hex: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<String>,
    removable: bool,
    size: u64,
    status: &'static str,
}

impl<'a> From<&'a Entry> for EntryJson<'a> {
    fn from(e: &'a Entry) -> Self {
        Self {
            age_secs: e.age.as_secs(),
            kind: e.kind.as_str(),
            path: lossy(&e.path),
            path_hex: path_hex(&e.path),
            reason: e.verdict.reason().map(ToString::to_string),
            removable: e.removable(),
            size: e.size,
            status: e.status.as_str(),
        }
    }
}

impl<'a> EntryJson<'a> {
    fn backup(b: &'a Backup, threshold: Duration) -> Self {
        Self {
            age_secs: b.age.as_secs(),
            kind: "backup",
            path: lossy(&b.path),
            path_hex: path_hex(&b.path),
            reason: b.verdict().reason().map(ToString::to_string),
            removable: false,
            size: b.size,
            status: backup_status(b, threshold).as_str(),
        }
    }
}

#[derive(Serialize)]
struct SweepJson<'a> {
    freed_bytes: u64,
    removed: Vec<RemovedJson<'a>>,
    skipped: Vec<SkippedJson<'a>>,
}

#[derive(Serialize)]
struct RemovedJson<'a> {
    path: std::borrow::Cow<'a, str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    path_hex: Option<String>,
    size: u64,
}

#[derive(Serialize)]
struct SkippedJson<'a> {
    path: std::borrow::Cow<'a, str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    path_hex: Option<String>,
    reason: String,
}

impl<'a> From<&'a SweepReport> for SweepJson<'a> {
    fn from(report: &'a SweepReport) -> Self {
        Self {
            freed_bytes: report.freed_bytes,
            removed: report
                .removed
                .iter()
                .map(|r| RemovedJson {
                    path: lossy(&r.path),
                    path_hex: path_hex(&r.path),
                    size: r.size,
                })
                .collect(),
            skipped: report
                .skipped
                .iter()
                .map(|s| SkippedJson {
                    path: lossy(&s.path),
                    path_hex: path_hex(&s.path),
                    reason: s.reason.to_string(),
                })
                .collect(),
        }
    }
}

/// `42s`, `12m`, `5h`, `3d`.
fn short_age(age: Duration) -> String {
    let s = age.as_secs();
    match s {
        0..60 => format!("{s}s"),
        60..3600 => format!("{}m", s / 60),
        3600..86400 => format!("{}h", s / 3600),
        _ => format!("{}d", s / 86400),
    }
}

fn kind_label(e: &Entry) -> String {
    match (e.kind, e.pattern) {
        (Kind::Foreign, Some(p)) => p.as_str().to_string(),
        (kind, _) => kind.as_str().to_string(),
    }
}

fn scan_text(report: &ScanReport, request: &SweepRequest<'_>) -> String {
    let mut out = String::new();
    // Writing to a String cannot fail.
    let _ = write_scan(&mut out, report, request);
    out
}

fn write_scan(
    out: &mut String,
    report: &ScanReport,
    request: &SweepRequest<'_>,
) -> std::fmt::Result {
    if report.entries.is_empty() && report.backups.is_empty() {
        if !report.roots.is_empty() {
            let n = report.roots.len();
            writeln!(
                out,
                "No leftover temp files in {n} folder{}.",
                if n == 1 { "" } else { "s" }
            )?;
        }
    } else {
        writeln!(
            out,
            "{:<8} {:<10} {:>10} {:>5}  PATH",
            "STATUS", "KIND", "SIZE", "AGE"
        )?;
        let mut rows: Vec<(&Path, String)> = report
            .entries
            .iter()
            .map(|e| {
                let status = e.status.as_str();
                (
                    e.path.as_path(),
                    row(status, &kind_label(e), e.size, e.age, &e.path),
                )
            })
            .chain(report.backups.iter().map(|b| {
                let status = backup_status(b, request.threshold).as_str();
                (
                    b.path.as_path(),
                    row(status, "backup", b.size, b.age, &b.path),
                )
            }))
            .collect();
        rows.sort_by(|a, b| a.0.cmp(b.0));
        for (_, line) in rows {
            writeln!(out, "{line}")?;
        }
        let count = |s: Status| report.entries.iter().filter(|e| e.status == s).count();
        let removable: Vec<&Entry> = report.entries.iter().filter(|e| e.removable()).collect();
        let headline = if removable.is_empty() {
            format!(
                "Nothing to sweep: no unlocked temp file is older than {}",
                humantime::format_duration(request.threshold)
            )
        } else {
            let n = removable.len();
            format!(
                "{n} file{} ({}) older than {} can be removed with 'ferry sweep'",
                if n == 1 { "" } else { "s" },
                human_bytes(removable.iter().map(|e| e.size).sum()),
                humantime::format_duration(request.threshold)
            )
        };
        writeln!(
            out,
            "\n{headline}; {} active, {} young, {} from other tools.",
            count(Status::Active),
            count(Status::Young),
            count(Status::Foreign),
        )?;
        // Orphans a sweep keeps all the same (another program uses them).
        let kept: Vec<&Entry> = report
            .entries
            .iter()
            .filter(|e| e.status == Status::Orphan && !e.removable())
            .collect();
        if !kept.is_empty() {
            writeln!(out, "\nKept by a sweep although unlocked and old:")?;
            for e in kept {
                if let Some(reason) = e.verdict.reason() {
                    writeln!(out, "  {}: {reason}", e.path.display())?;
                }
            }
        }
        if !report.backups.is_empty() {
            let n = report.backups.len();
            let (s, them) = if n == 1 { ("", "it") } else { ("s", "them") };
            writeln!(
                out,
                "\n{n} backup{s} of replaced files, kept by interrupted all-or-nothing jobs, \
                 never swept: see 'ferry jobs' and 'ferry rollback', or remove {them} by hand."
            )?;
        }
    }
    if !report.ignored.is_empty() {
        writeln!(
            out,
            "\nLeft alone (named like temp files, but not safe to touch):"
        )?;
        for i in &report.ignored {
            writeln!(out, "  {}: {}", i.path.display(), i.reason)?;
        }
    }
    Ok(())
}

/// One line of the scan's table.
fn row(status: &str, kind: &str, size: u64, age: Duration, path: &Path) -> String {
    format!(
        "{status:<8} {kind:<10} {:>10} {:>5}  {}",
        human_bytes(size),
        short_age(age),
        path.display()
    )
}

fn sweep_text(report: &SweepReport) -> String {
    let mut out = String::new();
    // Writing to a String cannot fail.
    let _ = write_sweep(&mut out, report);
    out
}

fn write_sweep(out: &mut String, report: &SweepReport) -> std::fmt::Result {
    let verb = if report.dry_run {
        "would remove"
    } else {
        "removed"
    };
    for r in &report.removed {
        writeln!(
            out,
            "{verb:<12} {:>10}  {}",
            human_bytes(r.size),
            r.path.display()
        )?;
    }
    for s in &report.skipped {
        writeln!(
            out,
            "{:<12} {:>10}  {}: {}",
            "kept",
            "",
            s.path.display(),
            s.reason
        )?;
    }
    let n = report.removed.len();
    let files = if n == 1 { "file" } else { "files" };
    if report.dry_run {
        writeln!(
            out,
            "Would remove {n} {files}, freeing {} (dry run: nothing was removed).",
            human_bytes(report.freed_bytes)
        )
    } else {
        writeln!(
            out,
            "Removed {n} {files}, freed {}.",
            human_bytes(report.freed_bytes)
        )
    }
}
