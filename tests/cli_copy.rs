//! `ferry copy` end to end: the built binary on real files.
//!
//! * Bad input is refused before any byte is written: exit 1, a clear
//!   message, every folder involved exactly as it was.
//! * Usage errors exit 2.
//! * The conflict policies, long and non-UTF-8 names, mode and times.
//! * SIGINT / SIGTERM mid-copy: exit 130, nothing left behind.
#![cfg(unix)]

mod support;

use std::ffi::{OsStr, OsString};
use std::fs::{self, File, FileTimes};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::UnixListener;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use support::{Sandbox, Tree, listing, litter_in, pattern, read, stderr_of, write};

/// A sandbox with a source folder `src/` and a destination folder `out/`.
struct Setup {
    sandbox: Sandbox,
    src: PathBuf,
    out: PathBuf,
}

impl Setup {
    fn new() -> Self {
        let sandbox = Sandbox::new();
        let src = sandbox.dir("src");
        let out = sandbox.dir("out");
        Self { sandbox, src, out }
    }

    /// Writes a source file `name` with `bytes` and returns its path.
    fn source(&self, name: impl AsRef<OsStr>, bytes: &[u8]) -> PathBuf {
        let path = self.src.join(name.as_ref());
        write(&path, bytes);
        path
    }

    fn copy<I, S>(&self, args: I) -> Output
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.sandbox.copy(args)
    }

    fn state(&self) -> [Tree; 2] {
        [listing(&self.src), listing(&self.out)]
    }
}

/// How long a refusal may take before the test calls it a hang.
const REFUSAL_LIMIT: Duration = Duration::from_secs(20);

/// Asserts that `ferry copy ARGS` is refused: exit 1, a message on stderr
/// naming `mentions` and containing one of `phrases` (case-insensitive),
/// and the source and destination folders unchanged.
fn assert_refused<S: AsRef<OsStr>>(
    setup: &Setup,
    args: &[S],
    mentions: &str,
    phrases: &[&str],
) -> String {
    let before = setup.state();
    // Refusing takes no time: a hang (say, opening a FIFO) is killed and
    // fails the test.
    let output = support::run_with_timeout(setup.sandbox.copy_cmd(args), REFUSAL_LIMIT);
    let stderr = stderr_of(&output);
    let shown: Vec<_> = args.iter().map(|a| a.as_ref().to_owned()).collect();
    assert_eq!(
        output.status.code(),
        Some(1),
        "ferry copy {shown:?} should be refused with exit 1; stderr: {stderr}"
    );
    assert!(
        stderr.contains(mentions),
        "the message should name {mentions:?}; stderr: {stderr}"
    );
    let lower = stderr.to_lowercase();
    assert!(
        phrases.iter().any(|p| lower.contains(p)),
        "the message should say one of {phrases:?}; stderr: {stderr}"
    );
    assert_eq!(
        setup.state(),
        before,
        "ferry copy {shown:?} changed the folders"
    );
    stderr
}

/// Asserts a successful run (exit 0) and returns its stderr.
fn assert_ok(output: &Output) -> String {
    let stderr = stderr_of(output);
    assert_eq!(output.status.code(), Some(0), "stderr: {stderr}");
    stderr
}

fn path_arg(p: &Path) -> &OsStr {
    p.as_os_str()
}

// ----- bad input -----

#[test]
fn missing_source_is_refused_and_nothing_is_copied() {
    let s = Setup::new();
    let present = s.source("present.txt", b"present");
    let missing = s.src.join("missing.txt");
    assert_refused(
        &s,
        &[path_arg(&missing), path_arg(&s.out)],
        "missing.txt",
        &["not exist", "no such", "not found"],
    );
    // One bad source among good ones: the good one is not copied either.
    assert_refused(
        &s,
        &[path_arg(&present), path_arg(&missing), path_arg(&s.out)],
        "missing.txt",
        &["not exist", "no such", "not found"],
    );
    assert!(!s.out.join("present.txt").exists());
}

#[test]
fn source_equal_to_destination_is_refused() {
    let s = Setup::new();
    let data = pattern(100_000, 1);
    let file = s.source("same.bin", &data);
    let same = &["same", "identical"];
    // The same path.
    assert_refused(&s, &[path_arg(&file), path_arg(&file)], "same.bin", same);
    // The folder the source is already in.
    assert_refused(&s, &[path_arg(&file), path_arg(&s.src)], "same.bin", same);
    // A hard link to the source.
    let link = s.src.join("hard-link.bin");
    fs::hard_link(&file, &link).unwrap();
    for policy in ["fail", "overwrite", "rename"] {
        assert_refused(
            &s,
            &[
                OsStr::new("--on-conflict"),
                OsStr::new(policy),
                path_arg(&file),
                path_arg(&link),
            ],
            "hard-link.bin",
            same,
        );
    }
    // A symbolic link to the source.
    let symlink = s.src.join("sym-link.bin");
    std::os::unix::fs::symlink(&file, &symlink).unwrap();
    assert_refused(
        &s,
        &[
            OsStr::new("--on-conflict"),
            OsStr::new("overwrite"),
            path_arg(&file),
            path_arg(&symlink),
        ],
        "sym-link.bin",
        same,
    );
    assert_eq!(read(&file), data);
}

#[test]
fn fifo_source_is_refused_promptly() {
    let s = Setup::new();
    let fifo = s.src.join("pipe");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .expect("run mkfifo");
    assert!(made.success(), "mkfifo failed");
    // A hang (opening or reading the FIFO) is killed after REFUSAL_LIMIT
    // by `assert_refused` and fails the test.
    assert_refused(
        &s,
        &[path_arg(&fifo), path_arg(&s.out)],
        "pipe",
        &["fifo", "pipe"],
    );
    assert_refused(
        &s,
        &[path_arg(&fifo), path_arg(&s.out.join("copy"))],
        "pipe",
        &["fifo", "pipe"],
    );
}

#[test]
fn socket_source_is_refused() {
    let s = Setup::new();
    let socket = s.src.join("sock");
    let _listener = UnixListener::bind(&socket).expect("bind a socket");
    assert_refused(
        &s,
        &[path_arg(&socket), path_arg(&s.out)],
        "sock",
        &["socket"],
    );
}

#[test]
fn device_source_is_refused() {
    let s = Setup::new();
    assert_refused(
        &s,
        &[OsStr::new("/dev/null"), path_arg(&s.out)],
        "/dev/null",
        &["device"],
    );
    assert_refused(
        &s,
        &[OsStr::new("/dev/zero"), path_arg(&s.out.join("zero.bin"))],
        "/dev/zero",
        &["device"],
    );
}

#[test]
fn missing_destination_folder_is_refused() {
    let s = Setup::new();
    let file = s.source("a.txt", b"a");
    let missing = s.out.join("missing");
    assert_refused(
        &s,
        &[path_arg(&file), path_arg(&missing.join("a.txt"))],
        "missing",
        &["not exist", "no such", "not found"],
    );
    let mut with_slash = missing.clone().into_os_string();
    with_slash.push("/");
    assert_refused(
        &s,
        &[path_arg(&file), with_slash.as_os_str()],
        "missing",
        &["not exist", "no such", "not found"],
    );
    assert!(!missing.exists());
}

#[test]
fn several_sources_need_a_folder() {
    let s = Setup::new();
    let a = s.source("a.txt", b"a");
    let b = s.source("b.txt", b"b");
    let existing = s.out.join("file.txt");
    write(&existing, b"not a folder");
    assert_refused(
        &s,
        &[path_arg(&a), path_arg(&b), path_arg(&existing)],
        "file.txt",
        &["folder", "directory"],
    );
    let absent = s.out.join("absent");
    assert_refused(
        &s,
        &[path_arg(&a), path_arg(&b), path_arg(&absent)],
        "absent",
        &["folder", "directory"],
    );
    // Into a real folder, both are copied.
    assert_ok(&s.copy([path_arg(&a), path_arg(&b), path_arg(&s.out)]));
    assert_eq!(read(&s.out.join("a.txt")), b"a");
    assert_eq!(read(&s.out.join("b.txt")), b"b");
    assert!(litter_in(&s.out).is_empty());
}

#[test]
fn usage_errors_exit_2() {
    let s = Setup::new();
    let file = s.source("a.txt", b"a");
    let cases: Vec<Vec<&OsStr>> = vec![
        vec![
            OsStr::new("--on-conflict"),
            OsStr::new("clobber"),
            path_arg(&file),
            path_arg(&s.out),
        ],
        vec![path_arg(&file)],
        vec![],
        vec![
            OsStr::new("--no-such-flag"),
            path_arg(&file),
            path_arg(&s.out),
        ],
    ];
    for args in cases {
        let before = s.state();
        let output = s.copy(&args);
        assert_eq!(
            output.status.code(),
            Some(2),
            "ferry copy {args:?}: stderr: {}",
            stderr_of(&output)
        );
        assert!(!output.stderr.is_empty(), "a usage error explains itself");
        assert_eq!(s.state(), before);
    }
    let output = s.copy(["--on-conflict", "clobber", "x", "y"]);
    let stderr = stderr_of(&output);
    assert!(
        stderr.contains("clobber") && stderr.contains("overwrite"),
        "the message names the bad value and the valid ones: {stderr}"
    );
}

// ----- conflict policies -----

/// A source newer than an existing destination, with different contents.
struct Conflict {
    setup: Setup,
    src: PathBuf,
    dest: PathBuf,
    new: Vec<u8>,
    old: Vec<u8>,
}

fn conflict() -> Conflict {
    let setup = Setup::new();
    let new = pattern(300_000, 10);
    let old = pattern(200_000, 20);
    let src = setup.source("doc.txt", &new);
    let dest = setup.out.join("doc.txt");
    write(&dest, &old);
    set_mtime(&dest, UNIX_EPOCH + Duration::from_secs(1_000_000_000));
    set_mtime(&src, UNIX_EPOCH + Duration::from_secs(1_500_000_000));
    Conflict {
        setup,
        src,
        dest,
        new,
        old,
    }
}

fn set_mtime(path: &Path, time: SystemTime) {
    let file = File::options().write(true).open(path).unwrap();
    file.set_times(FileTimes::new().set_modified(time).set_accessed(time))
        .unwrap();
}

fn copy_with(c: &Conflict, policy: Option<&str>) -> Output {
    let mut args: Vec<&OsStr> = Vec::new();
    if let Some(policy) = policy {
        args.extend([OsStr::new("--on-conflict"), OsStr::new(policy)]);
    }
    args.extend([path_arg(&c.src), path_arg(&c.dest)]);
    c.setup.copy(args)
}

#[test]
fn fail_policy_refuses_an_existing_destination() {
    for policy in [None, Some("fail")] {
        let c = conflict();
        let before = c.setup.state();
        let output = copy_with(&c, policy);
        let stderr = stderr_of(&output);
        assert_eq!(output.status.code(), Some(1), "{policy:?}: {stderr}");
        assert!(stderr.contains("doc.txt"), "{stderr}");
        assert!(stderr.to_lowercase().contains("exist"), "{stderr}");
        assert_eq!(c.setup.state(), before, "the destination is untouched");
        assert_eq!(read(&c.dest), c.old);
    }
}

#[test]
fn skip_policy_keeps_the_destination() {
    let c = conflict();
    let before = c.setup.state();
    assert_ok(&copy_with(&c, Some("skip")));
    assert_eq!(c.setup.state(), before);
    assert_eq!(read(&c.dest), c.old);
}

#[test]
fn rename_policy_writes_beside_the_destination() {
    let c = conflict();
    assert_ok(&copy_with(&c, Some("rename")));
    assert_eq!(read(&c.dest), c.old, "the original is untouched");
    assert_eq!(read(&c.setup.out.join("doc (1).txt")), c.new);
    assert_ok(&copy_with(&c, Some("rename")));
    assert_eq!(read(&c.setup.out.join("doc (2).txt")), c.new);
    assert_eq!(
        support::names_in(&c.setup.out),
        ["doc (1).txt", "doc (2).txt", "doc.txt"]
    );
}

#[test]
fn overwrite_policy_replaces_the_destination() {
    let c = conflict();
    let old_inode = listing(&c.setup.out)[Path::new("doc.txt")].inode;
    assert_ok(&copy_with(&c, Some("overwrite")));
    assert_eq!(read(&c.dest), c.new);
    let after = listing(&c.setup.out);
    assert_eq!(after.len(), 1, "no temp or lock left: {after:?}");
    assert_ne!(
        after[Path::new("doc.txt")].inode,
        old_inode,
        "replaced by a rename, not rewritten in place"
    );
}

#[test]
fn newer_policy_replaces_only_older_destinations() {
    // The source is newer: replaced.
    let c = conflict();
    assert_ok(&copy_with(&c, Some("newer")));
    assert_eq!(read(&c.dest), c.new);
    assert_eq!(support::names_in(&c.setup.out), ["doc.txt"]);

    // The source is older: kept.
    let c = conflict();
    set_mtime(&c.src, UNIX_EPOCH + Duration::from_secs(900_000_000));
    let before = c.setup.state();
    assert_ok(&copy_with(&c, Some("newer")));
    assert_eq!(c.setup.state(), before);
    assert_eq!(read(&c.dest), c.old);

    // Same time: kept.
    let c = conflict();
    set_mtime(&c.src, UNIX_EPOCH + Duration::from_secs(1_000_000_000));
    let before = c.setup.state();
    assert_ok(&copy_with(&c, Some("newer")));
    assert_eq!(c.setup.state(), before);
}

/// The no-clobber policies on a batch of small files (copied through
/// temps without a name where the filesystem has them, named by a link
/// that never replaces): every existing file is kept byte for byte, the
/// others are copied, and nothing is left beside them.
#[test]
fn no_clobber_policies_hold_across_a_batch_of_small_files() {
    for policy in ["fail", "skip", "rename"] {
        let setup = Setup::new();
        for i in 0..40 {
            setup.source(format!("f{i:02}.txt"), &pattern(100 + i, i as u64));
        }
        for i in (0..40).step_by(2) {
            write(&setup.out.join(format!("f{i:02}.txt")), b"kept");
        }
        let mut args: Vec<&OsStr> = vec![OsStr::new("--on-conflict"), OsStr::new(policy)];
        let contents = setup.src.join(".");
        args.extend([contents.as_os_str(), path_arg(&setup.out)]);
        let output = setup.copy(args);
        let stderr = stderr_of(&output);
        let expected_code = if policy == "fail" { 1 } else { 0 };
        assert_eq!(
            output.status.code(),
            Some(expected_code),
            "{policy}: {stderr}"
        );
        for i in 0..40 {
            let name = format!("f{i:02}.txt");
            let dest = setup.out.join(&name);
            if i % 2 == 0 {
                assert_eq!(read(&dest), b"kept", "{policy}: {name} was replaced");
            } else {
                assert_eq!(read(&dest), pattern(100 + i, i as u64), "{policy}: {name}");
            }
        }
        let numbered = (0..40)
            .step_by(2)
            .filter(|i| setup.out.join(format!("f{i:02} (1).txt")).exists())
            .count();
        assert_eq!(
            numbered,
            if policy == "rename" { 20 } else { 0 },
            "{policy}"
        );
        assert!(
            litter_in(&setup.out).is_empty(),
            "{policy}: {:?}",
            litter_in(&setup.out)
        );
        let files = support::names_in(&setup.out).len();
        assert_eq!(files, if policy == "rename" { 60 } else { 40 }, "{policy}");
    }
}

#[test]
fn every_policy_copies_to_an_absent_destination() {
    for policy in ["fail", "overwrite", "skip", "rename", "newer"] {
        let s = Setup::new();
        let data = pattern(70_000, 5);
        let src = s.source("fresh.bin", &data);
        let dest = s.out.join("fresh.bin");
        assert_ok(&s.copy([
            OsStr::new("--on-conflict"),
            OsStr::new(policy),
            path_arg(&src),
            path_arg(&dest),
        ]));
        assert_eq!(read(&dest), data, "{policy}");
        assert_eq!(support::names_in(&s.out), ["fresh.bin"], "{policy}");
    }
}

// ----- names, mode and times -----

#[test]
fn longest_names_copy_exactly() {
    let s = Setup::new();
    let name = format!("{}.txt", "n".repeat(251));
    assert_eq!(name.len(), 255);
    let data = pattern(1_234_567, 3);
    let src = s.source(&name, &data);
    assert_ok(&s.copy([path_arg(&src), path_arg(&s.out)]));
    assert_eq!(read(&s.out.join(&name)), data);

    let accented = "é".repeat(127) + "z";
    assert_eq!(accented.len(), 255);
    assert_ok(&s.copy([path_arg(&src), path_arg(&s.out.join(&accented))]));
    assert_eq!(read(&s.out.join(&accented)), data);

    let mut expected = vec![OsString::from(name), OsString::from(accented)];
    expected.sort();
    assert_eq!(support::names_in(&s.out), expected);
}

#[cfg(target_os = "linux")]
#[test]
fn non_utf8_names_copy_exactly() {
    use std::os::unix::ffi::OsStrExt;
    let s = Setup::new();
    let name = OsStr::from_bytes(b"r\xe9sum\xe9-\xff.dat");
    let data = pattern(500_000, 4);
    let src = s.source(name, &data);
    assert_ok(&s.copy([path_arg(&src), path_arg(&s.out)]));
    assert_eq!(read(&s.out.join(name)), data);

    let mut long = vec![0xfeu8; 254];
    long.push(b'\xe9');
    let long = OsStr::from_bytes(&long);
    assert_ok(&s.copy([path_arg(&src), path_arg(&s.out.join(long))]));
    assert_eq!(read(&s.out.join(long)), data);

    let mut expected = vec![name.to_os_string(), long.to_os_string()];
    expected.sort();
    assert_eq!(support::names_in(&s.out), expected);
}

#[test]
fn mode_and_modification_time_are_preserved() {
    let s = Setup::new();
    let mtime = UNIX_EPOCH + Duration::new(1_000_000_000, 123_456_789);
    for (name, mode) in [
        ("private.txt", 0o640),
        ("tool.sh", 0o751),
        ("ro.txt", 0o444),
    ] {
        let src = s.source(name, &pattern(50_000, mode as u64));
        set_mtime(&src, mtime);
        fs::set_permissions(&src, fs::Permissions::from_mode(mode)).unwrap();
        assert_ok(&s.copy([path_arg(&src), path_arg(&s.out)]));
        let copied = fs::metadata(s.out.join(name)).unwrap();
        assert_eq!(copied.permissions().mode() & 0o7777, mode, "{name}");
        assert_eq!(copied.modified().unwrap(), mtime, "{name}");
        assert_eq!(read(&s.out.join(name)), read(&src));
    }
}

// ----- the destination lock, seen from the command line -----

#[test]
fn copy_waits_for_the_destination_lock_and_sigint_cancels_the_wait() {
    use ferry_engine::lock::{DestinationLock, LockMode, Wait};
    let s = Setup::new();
    let data = pattern(2 * support::MIB, 8);
    let src = s.source("locked.bin", &data);
    let dest = s.out.join("locked.bin");
    write(&dest, b"old");
    let before = listing(&s.out);
    let held = DestinationLock::acquire(&dest, LockMode::Exclusive, Wait::Block, None).unwrap();

    let mut child = s
        .sandbox
        .copy_cmd(["--on-conflict", "overwrite"])
        .args([&src, &dest])
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // The data is written to the temp, then the commit waits for us.
    let full_temp = support::wait_until(Duration::from_secs(20), || {
        support::temps_in(&s.out)
            .iter()
            .any(|t| fs::metadata(s.out.join(t)).is_ok_and(|m| m.len() == data.len() as u64))
    });
    if !full_temp {
        let _ = child.kill();
        let _ = child.wait();
        panic!("the copy never wrote its temp");
    }
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(
        read(&dest),
        b"old",
        "a copy committed while the lock was held"
    );
    assert!(
        child.try_wait().unwrap().is_none(),
        "the copy should be waiting"
    );

    support::send_signal(child.id(), "INT");
    let status = support::wait_or_kill(&mut child, Duration::from_secs(10), "ferry copy");
    assert_eq!(
        status.code(),
        Some(130),
        "{}",
        support::describe_status(status)
    );
    drop(held);
    assert_eq!(
        listing(&s.out),
        before,
        "no temp or lock left, dest untouched"
    );
}

// ----- signals mid-copy -----

#[cfg(feature = "fault-injection")]
fn interrupted_mid_copy(signal: &str, dest_exists: bool) {
    let s = Setup::new();
    let data = pattern(16 * support::MIB, 9);
    let src = s.source("big.bin", &data);
    let dest = s.out.join("big.bin");
    if dest_exists {
        write(&dest, &pattern(support::MIB, 10));
    }
    let before = listing(&s.out);
    let stderr_path = s.sandbox.root().join("stderr.txt");

    let mut child = s
        .sandbox
        .copy_cmd(["--on-conflict", "overwrite"])
        .args([&src, &dest])
        .env("FERRY_FAULT_CHUNK_DELAY_MS", "50")
        .stderr(File::create(&stderr_path).unwrap())
        .spawn()
        .unwrap();
    let started = support::wait_until(Duration::from_secs(20), || {
        !support::temps_in(&s.out).is_empty()
    });
    if !started {
        let _ = child.kill();
        let _ = child.wait();
        panic!("no temp file appeared");
    }
    support::send_signal(child.id(), signal);
    let status = support::wait_or_kill(&mut child, Duration::from_secs(10), "ferry copy");
    let stderr = fs::read_to_string(&stderr_path).unwrap();
    assert_eq!(
        status.code(),
        Some(130),
        "SIG{signal}: {}; stderr: {stderr}",
        support::describe_status(status)
    );
    assert_eq!(
        listing(&s.out),
        before,
        "SIG{signal}: temp or lock left, or destination changed"
    );
    assert_eq!(dest.exists(), dest_exists);
}

#[cfg(feature = "fault-injection")]
#[test]
fn sigint_mid_copy_leaves_the_existing_destination() {
    interrupted_mid_copy("INT", true);
}

#[cfg(feature = "fault-injection")]
#[test]
fn sigterm_mid_copy_leaves_the_existing_destination() {
    interrupted_mid_copy("TERM", true);
}

#[cfg(feature = "fault-injection")]
#[test]
fn sigint_mid_copy_leaves_no_destination() {
    interrupted_mid_copy("INT", false);
}

#[cfg(feature = "fault-injection")]
#[test]
fn sigterm_mid_copy_leaves_no_destination() {
    interrupted_mid_copy("TERM", false);
}

/// Interrupted, an all-or-nothing job stays journaled like any other (it
/// used to be rolled back at once): exit 130, listed by `ferry jobs`, and
/// `ferry rollback ID` (which the message names) puts the destination back.
#[cfg(feature = "fault-injection")]
#[test]
fn sigint_keeps_an_all_or_nothing_job_journaled_for_resume_or_rollback() {
    let s = Setup::new();
    for i in 0..40 {
        s.source(format!("f{i:02}.bin"), &pattern(64 * 1024, i));
    }
    let dest = s.out.join("copy");
    fs::create_dir(&dest).unwrap();
    write(&dest.join("f00.bin"), b"old");
    // (Folder times are not restored: DESIGN's decision 5.)
    let before = listing(&dest);
    let stderr_path = s.sandbox.root().join("stderr.txt");
    let mut child = s
        .sandbox
        .copy_cmd(["--all-or-nothing", "--on-conflict", "overwrite"])
        .arg(s.src.join("."))
        .arg(&dest)
        .env("FERRY_FAULT_CHUNK_DELAY_MS", "50")
        .stderr(File::create(&stderr_path).unwrap())
        .spawn()
        .unwrap();
    assert!(support::wait_until(Duration::from_secs(20), || {
        !support::temps_in(&dest).is_empty()
    }));
    support::send_signal(child.id(), "INT");
    let status = support::wait_or_kill(&mut child, Duration::from_secs(10), "ferry copy");
    let stderr = fs::read_to_string(&stderr_path).unwrap();
    assert_eq!(status.code(), Some(130), "{stderr}");
    let jobs = support::json_of(&support::run(s.sandbox.ferry().args(["jobs", "--json"])));
    let jobs = jobs["jobs"].as_array().unwrap();
    assert_eq!(jobs.len(), 1, "{jobs:?}");
    let id = jobs[0]["id"].as_str().unwrap().to_owned();
    assert!(stderr.contains(&format!("ferry rollback {id}")), "{stderr}");
    let out = support::run(s.sandbox.ferry().args(["rollback", &id]));
    assert!(out.status.success(), "{out:?}");
    assert_eq!(listing(&dest), before, "rolled back");
    assert_eq!(read(&dest.join("f00.bin")), b"old");
}

/// A signal before the job was even journaled: nothing to resume, and the
/// message does not send the user to a job that does not exist.
#[cfg(feature = "fault-injection")]
#[test]
fn sigint_before_a_job_starts_names_no_job_to_resume() {
    let s = Setup::new();
    let src = s.source("a.txt", b"a");
    let flag = s.sandbox.root().join("paused");
    let stderr_path = s.sandbox.root().join("stderr.txt");
    let mut child = s
        .sandbox
        .copy_cmd([&src, &s.out])
        .env(
            "FERRY_FAULT_PAUSE_AT",
            format!("before-job:{}", flag.display()),
        )
        .stderr(File::create(&stderr_path).unwrap())
        .spawn()
        .unwrap();
    assert!(support::wait_until(Duration::from_secs(20), || flag.exists()));
    support::send_signal(child.id(), "INT");
    // The interrupt reaches the engine while its worker waits.
    std::thread::sleep(Duration::from_millis(300));
    fs::remove_file(&flag).unwrap();
    let status = support::wait_or_kill(&mut child, Duration::from_secs(10), "ferry copy");
    let stderr = fs::read_to_string(&stderr_path).unwrap();
    assert_eq!(status.code(), Some(130), "{stderr}");
    assert!(!stderr.contains("ferry resume"), "{stderr}");
    assert!(stderr.contains("nothing was changed"), "{stderr}");
    let jobs = support::json_of(&support::run(s.sandbox.ferry().args(["jobs", "--json"])));
    assert_eq!(jobs["jobs"].as_array().unwrap().len(), 0, "{jobs}");
    assert!(!s.out.join("a.txt").exists());
}
