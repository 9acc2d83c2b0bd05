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

use super::{EXIT_INTERRUPTED, human_bytes, shown, start_engine};
use ferry_engine::{
    Backup, Command, Engine, ErrorKind, Event, Kind, ScanEntry, ScanReport, Schedule, Settings,
    Status, Stop, SweepReport, SweepScope,
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

/// What the engine answered to a scan or sweep.
enum Answer {
    Scanned(ScanReport),
    Swept(SweepReport),
    Failed {
        kind: ErrorKind,
        message: String,
    },
    NotDue {
        schedule: Schedule,
        next_run: Option<SystemTime>,
    },
    Rejected(Vec<String>),
}

/// Waits for the engine's answer to the scan or sweep just asked for.
/// (Nothing else runs on this engine; its start-up events are not this
/// command's business.)
fn answer(engine: &Engine) -> Option<Answer> {
    loop {
        let answer = match engine.events().recv().ok()? {
            Event::ScanFinished(report) => Answer::Scanned(report),
            Event::SweepFinished(report) => Answer::Swept(report),
            Event::SweepFailed { kind, message, .. } => Answer::Failed { kind, message },
            Event::SweepNotDue { schedule, next_run } => Answer::NotDue { schedule, next_run },
            Event::ScopeRejected { problems, .. } => Answer::Rejected(problems),
            _ => continue,
        };
        return Some(answer);
    }
}

/// The scope of a command: the folders named (checked by the engine before
/// anything is done) and the threshold.
fn scope(roots: &[PathBuf], older_than: Option<Duration>, dry_run: bool) -> SweepScope {
    SweepScope {
        roots: roots.to_vec(),
        older_than,
        dry_run,
    }
}

/// Says why nothing was done when folders named cannot be used.
fn rejected(problems: &[String], json: Option<Doc>) -> ExitCode {
    for problem in problems {
        eprintln!("ferry: {problem}");
    }
    eprintln!("ferry: nothing was done");
    nothing_done(json, &problems.join("; "));
    ExitCode::from(1)
}

/// Which command's `--json` document.
#[derive(Clone, Copy)]
enum Doc {
    Scan,
    Sweep,
}

/// With `--json`, the command's document even when nothing was done: no
/// entries, and `error` saying why (scripts always get one document).
fn nothing_done(json: Option<Doc>, error: &str) {
    let error = Some(error.to_owned());
    match json {
        Some(Doc::Scan) => emit(json_line(&ScanJson {
            entries: Vec::new(),
            error,
        })),
        Some(Doc::Sweep) => emit(json_line(&SweepJson {
            error,
            freed_bytes: 0,
            removed: Vec::new(),
            skipped: Vec::new(),
        })),
        None => {}
    }
}

/// Runs `ferry scan`.
pub fn run_scan(args: ScanArgs) -> ExitCode {
    let (engine, settings) = match start_engine() {
        Ok(started) => started,
        Err(code) => return code,
    };
    engine.send(Command::Scan(scope(&args.roots, args.older_than, false)));
    let report = match answer(&engine) {
        Some(Answer::Scanned(report)) => report,
        Some(Answer::Rejected(problems)) => {
            return rejected(&problems, args.json.then_some(Doc::Scan));
        }
        _ => return unexpected(),
    };
    warn_all(&report.warnings);
    if args.json {
        emit(json_line(&ScanJson::new(&report)));
    } else {
        emit(scan_text(&report).into_bytes());
    }
    stop_code(report.stopped, &report.roots, &args.roots, &settings)
}

/// Runs `ferry sweep`.
pub fn run_sweep(args: SweepArgs) -> ExitCode {
    let (engine, settings) = match start_engine() {
        Ok(started) => started,
        Err(code) => return code,
    };
    let json = args.json.then_some(Doc::Sweep);
    engine.send(if args.scheduled {
        Command::SweepIfDue
    } else {
        Command::Sweep(scope(&args.roots, args.older_than, args.dry_run))
    });
    let report = match answer(&engine) {
        Some(Answer::Swept(report)) => report,
        Some(Answer::Failed {
            kind: ErrorKind::Cancelled,
            ..
        }) => {
            eprintln!("ferry: interrupted; nothing was removed");
            nothing_done(json, "interrupted; nothing was removed");
            return ExitCode::from(EXIT_INTERRUPTED);
        }
        Some(Answer::Failed { message, .. }) => {
            eprintln!("ferry: {message}");
            nothing_done(json, &message);
            return ExitCode::from(1);
        }
        Some(Answer::NotDue { schedule, next_run }) => return not_due(schedule, next_run),
        Some(Answer::Rejected(problems)) => return rejected(&problems, json),
        _ => return unexpected(),
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
    stop_code(report.stopped, &report.roots, &args.roots, &settings)
}

/// `ferry sweep --scheduled` when the engine found no scheduled sweep due
/// (by the clock the window keeps: the last sweep's time and when the
/// schedule was set, in the data folder): said on stdout.
fn not_due(schedule: Schedule, next_run: Option<SystemTime>) -> ExitCode {
    if schedule == Schedule::Off {
        println!(
            "Scheduled sweeps are off in the settings: nothing to do ('ferry schedule remove' \
             removes the timer)."
        );
    } else {
        let due = next_run
            .map(|t| humantime::format_rfc3339_seconds(t).to_string())
            .unwrap_or_default();
        println!("No scheduled sweep is due yet ({schedule}): the next one is due at {due}.");
    }
    ExitCode::SUCCESS
}

/// The engine stopped without answering (it never does).
fn unexpected() -> ExitCode {
    eprintln!("ferry: the engine stopped without an answer; nothing more is known");
    ExitCode::from(1)
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

fn warn_all(warnings: &[String]) {
    for w in warnings {
        eprintln!("ferry: warning: {w}");
    }
}

/// Exit status after a scan or sweep that otherwise went well. "No folders
/// to look in" is said only when none was named at all (on the command
/// line or in the settings): a named folder that is missing has had its
/// warning already, in the settings' words.
fn stop_code(
    stopped: Option<Stop>,
    looked_in: &[PathBuf],
    named: &[PathBuf],
    settings: &Settings,
) -> ExitCode {
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
            if looked_in.is_empty() && named.is_empty() && settings.sweep.roots.is_empty() {
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

/// A path as JSON text, and its exact bytes in lowercase hex when it is
/// not UTF-8 (its text is then the lossy form, so two files could print
/// the same; on Windows the bytes are the path's WTF-8 form). UTF-8 is
/// checked once.
fn json_path(path: &Path) -> (std::borrow::Cow<'_, str>, Option<String>) {
    match path.to_str() {
        Some(text) => (text.into(), None),
        None => (path.to_string_lossy(), ferry_engine::format::path_hex(path)),
    }
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
    /// Why nothing was done (only then).
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

impl<'a> ScanJson<'a> {
    /// The candidates and the backups, in path order.
    fn new(report: &'a ScanReport) -> Self {
        let mut entries: Vec<(&Path, EntryJson<'a>)> = report
            .entries
            .iter()
            .map(|e| (e.path.as_path(), EntryJson::from(e)))
            .chain(
                report
                    .backups
                    .iter()
                    .map(|b| (b.path.as_path(), EntryJson::backup(b, report.threshold))),
            )
            .collect();
        entries.sort_by(|a, b| a.0.cmp(b.0));
        Self {
            entries: entries.into_iter().map(|(_, e)| e).collect(),
            error: None,
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

impl<'a> From<&'a ScanEntry> for EntryJson<'a> {
    fn from(e: &'a ScanEntry) -> Self {
        let (path, path_hex) = json_path(&e.path);
        Self {
            age_secs: e.age.as_secs(),
            kind: e.kind.as_str(),
            path,
            path_hex,
            reason: e.verdict.reason().map(ToString::to_string),
            removable: e.removable(),
            size: e.size,
            status: e.status.as_str(),
        }
    }
}

impl<'a> EntryJson<'a> {
    fn backup(b: &'a Backup, threshold: Duration) -> Self {
        let (path, path_hex) = json_path(&b.path);
        Self {
            age_secs: b.age.as_secs(),
            kind: "backup",
            path,
            path_hex,
            reason: b.verdict().reason().map(ToString::to_string),
            removable: false,
            size: b.size,
            status: backup_status(b, threshold).as_str(),
        }
    }
}

#[derive(Serialize)]
struct SweepJson<'a> {
    /// Why nothing was done (only then).
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
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
            error: None,
            freed_bytes: report.freed_bytes,
            removed: report
                .removed
                .iter()
                .map(|r| {
                    let (path, path_hex) = json_path(&r.path);
                    RemovedJson {
                        path,
                        path_hex,
                        size: r.size,
                    }
                })
                .collect(),
            skipped: report
                .skipped
                .iter()
                .map(|s| {
                    let (path, path_hex) = json_path(&s.path);
                    SkippedJson {
                        path,
                        path_hex,
                        reason: s.reason.to_string(),
                    }
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

fn kind_label(e: &ScanEntry) -> String {
    match (e.kind, e.pattern) {
        // A folder a killed probe or sweep left (`part` in the JSON).
        (Kind::Part, _) if e.is_folder() => "folder".to_string(),
        (Kind::Foreign, Some(p)) => p.as_str().to_string(),
        (kind, _) => kind.as_str().to_string(),
    }
}

fn scan_text(report: &ScanReport) -> String {
    let mut out = String::new();
    // Writing to a String cannot fail.
    let _ = write_scan(&mut out, report);
    out
}

fn write_scan(out: &mut String, report: &ScanReport) -> std::fmt::Result {
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
                let status = backup_status(b, report.threshold).as_str();
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
        let removable: Vec<&ScanEntry> = report.entries.iter().filter(|e| e.removable()).collect();
        let headline = if removable.is_empty() {
            format!(
                "Nothing to sweep: no unlocked temp file is older than {}",
                humantime::format_duration(report.threshold)
            )
        } else {
            let n = removable.len();
            format!(
                "{n} file{} ({}) older than {} can be removed with 'ferry sweep'",
                if n == 1 { "" } else { "s" },
                human_bytes(removable.iter().map(|e| e.size).sum()),
                humantime::format_duration(report.threshold)
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
        let kept: Vec<&ScanEntry> = report
            .entries
            .iter()
            .filter(|e| e.status == Status::Orphan && !e.removable())
            .collect();
        if !kept.is_empty() {
            writeln!(out, "\nKept by a sweep although unlocked and old:")?;
            for e in kept {
                if let Some(reason) = e.verdict.reason() {
                    writeln!(out, "  {}: {reason}", shown(&e.path))?;
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
            writeln!(out, "  {}: {}", shown(&i.path), i.reason)?;
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
        shown(path)
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
            shown(&r.path)
        )?;
    }
    for s in &report.skipped {
        writeln!(
            out,
            "{:<12} {:>10}  {}: {}",
            "kept",
            "",
            shown(&s.path),
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
