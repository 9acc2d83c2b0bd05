//! The destination lock across processes: its critical sections never
//! overlap (exclusive holders among themselves and against shared
//! holders), what another process may take while it is held, and it never
//! litters.
//!
//! The tests re-run this test binary as child processes: the test
//! `lock_child_role` does the child's work when `FERRY_TEST_LOCK_ROLE` is
//! set and returns at once otherwise.
#![cfg(unix)]

mod support;

use std::fs::{self, File};
use std::io::ErrorKind as IoErrorKind;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::thread;
use std::time::Duration;

use ferry_engine::ErrorKind;
use ferry_engine::lock::{DestinationLock, LockMode, Wait};
use support::{Sandbox, describe_status, names_in, run_concurrently, stderr_of};

const LIMIT: Duration = Duration::from_secs(60);

// ----- the destination lock across processes -----

const ROLE_ENV: &str = "FERRY_TEST_LOCK_ROLE";
const DIR_ENV: &str = "FERRY_TEST_LOCK_DIR";
const ITERATIONS: usize = 30;

/// The destination whose sidecar lock the children fight over.
fn lock_dest(dir: &Path) -> PathBuf {
    dir.join("target.bin")
}

/// The folder where holders put their markers while inside.
fn markers(dir: &Path) -> PathBuf {
    dir.join("markers")
}

/// The count of writer critical sections, kept with a read-modify-write
/// that loses updates if two writers ever overlap.
fn counter(dir: &Path) -> PathBuf {
    dir.join("counter")
}

fn read_counter(dir: &Path) -> u64 {
    match fs::read_to_string(counter(dir)) {
        Ok(text) => text
            .parse()
            .unwrap_or_else(|_| panic!("counter is half-written: {text:?}")),
        Err(e) if e.kind() == IoErrorKind::NotFound => 0,
        Err(e) => panic!("read counter: {e}"),
    }
}

fn reader_markers(dir: &Path) -> Vec<String> {
    names_in(&markers(dir))
        .into_iter()
        .map(|n| n.to_string_lossy().into_owned())
        .filter(|n| n.starts_with("reader-"))
        .collect()
}

/// Waits for the parent's start signal, so that all children contend.
fn wait_for_start(dir: &Path) {
    assert!(
        support::wait_until(LIMIT, || dir.join("go").exists()),
        "never told to start"
    );
}

/// An exclusive holder: inside, it must be alone.
fn writer(dir: &Path, wait: Wait) {
    let dest = lock_dest(dir);
    let marker = markers(dir).join("writer");
    wait_for_start(dir);
    for i in 0..ITERATIONS {
        let lock = DestinationLock::acquire(&dest, LockMode::Exclusive, wait, None)
            .unwrap_or_else(|e| panic!("writer {i}: acquire: {e}"));
        assert!(lock.path().exists(), "the sidecar exists while held");
        if let Err(e) = File::create_new(&marker) {
            panic!("OVERLAP: writer {i} found another writer inside ({e})");
        }
        let readers = reader_markers(dir);
        assert!(
            readers.is_empty(),
            "OVERLAP: writer {i} found readers inside: {readers:?}"
        );
        let count = read_counter(dir);
        thread::sleep(Duration::from_millis(1));
        fs::write(counter(dir), (count + 1).to_string()).unwrap();
        let readers = reader_markers(dir);
        assert!(
            readers.is_empty(),
            "OVERLAP: readers entered while writer {i} was inside: {readers:?}"
        );
        fs::remove_file(&marker).unwrap();
        drop(lock);
        thread::sleep(Duration::from_micros(500));
    }
}

/// A shared holder: inside, no writer may be.
fn reader(dir: &Path) {
    let dest = lock_dest(dir);
    let writer_marker = markers(dir).join("writer");
    let pid = std::process::id();
    wait_for_start(dir);
    for i in 0..ITERATIONS {
        let lock = DestinationLock::acquire(&dest, LockMode::Shared, Wait::Block, None)
            .unwrap_or_else(|e| panic!("reader {i}: acquire: {e}"));
        let mine = markers(dir).join(format!("reader-{pid}-{i}"));
        File::create_new(&mine).unwrap();
        assert!(
            !writer_marker.exists(),
            "OVERLAP: reader {i} found a writer inside"
        );
        read_counter(dir);
        thread::sleep(Duration::from_millis(1));
        assert!(
            !writer_marker.exists(),
            "OVERLAP: a writer entered while reader {i} was inside"
        );
        fs::remove_file(&mine).unwrap();
        drop(lock);
        thread::sleep(Duration::from_millis(2));
    }
}

/// Checks what a second process may take while the parent holds `held`.
fn probe(dir: &Path, held: &str) {
    let dest = lock_dest(dir);
    let busy = |r: &ferry_engine::Result<DestinationLock>| matches!(r, Err(e) if e.kind() == ErrorKind::Busy);
    let shared = DestinationLock::acquire(&dest, LockMode::Shared, Wait::Try, None);
    match held {
        "shared" => assert!(shared.is_ok(), "shared + shared: {shared:?}"),
        "exclusive" => assert!(busy(&shared), "exclusive + shared: {shared:?}"),
        other => panic!("unknown probe {other}"),
    }
    drop(shared);
    let exclusive = DestinationLock::acquire(&dest, LockMode::Exclusive, Wait::Try, None);
    let timed = DestinationLock::acquire(
        &dest,
        LockMode::Exclusive,
        Wait::Timeout(Duration::from_millis(100)),
        None,
    );
    assert!(busy(&exclusive), "{held} + exclusive: {exclusive:?}");
    assert!(busy(&timed), "{held} + timed exclusive: {timed:?}");
}

/// Takes the lock once, blocking, and records that it got it.
fn block_once(dir: &Path) {
    let _lock = DestinationLock::acquire(&lock_dest(dir), LockMode::Exclusive, Wait::Block, None)
        .expect("acquire");
    File::create_new(dir.join("acquired")).unwrap();
}

/// Not a test of its own: the body of the child processes (see above).
#[test]
fn lock_child_role() {
    let Some(role) = std::env::var_os(ROLE_ENV) else {
        return;
    };
    let dir = PathBuf::from(std::env::var_os(DIR_ENV).expect("FERRY_TEST_LOCK_DIR"));
    match role.to_str().expect("role") {
        "writer-block" => writer(&dir, Wait::Block),
        "writer-poll" => writer(&dir, Wait::Timeout(LIMIT)),
        "reader" => reader(&dir),
        "probe-shared" => probe(&dir, "shared"),
        "probe-exclusive" => probe(&dir, "exclusive"),
        "block-once" => block_once(&dir),
        other => panic!("unknown role {other}"),
    }
}

fn child(role: &str, dir: &Path) -> Command {
    let mut cmd = Command::new(std::env::current_exe().expect("current_exe"));
    cmd.args([
        "lock_child_role",
        "--exact",
        "--nocapture",
        "--test-threads=1",
    ])
    .env(ROLE_ENV, role)
    .env(DIR_ENV, dir);
    cmd
}

fn assert_children_ok(roles: &[&str], outputs: &[Output]) {
    for (role, output) in roles.iter().zip(outputs) {
        assert!(
            output.status.success(),
            "child {role} failed ({}): {}{}",
            describe_status(output.status),
            String::from_utf8_lossy(&output.stdout),
            stderr_of(output)
        );
    }
}

/// Runs children with `roles` at once in a fresh folder; returns it.
fn contend(sandbox: &Sandbox, roles: &[&str]) -> PathBuf {
    let dir = sandbox.dir("lock");
    fs::create_dir_all(markers(&dir)).unwrap();
    let commands = roles.iter().map(|role| child(role, &dir)).collect();
    let starter = {
        let go = dir.join("go");
        thread::spawn(move || {
            thread::sleep(Duration::from_millis(200));
            File::create(go).unwrap();
        })
    };
    let outputs = run_concurrently(commands, LIMIT);
    starter.join().unwrap();
    assert_children_ok(roles, &outputs);
    dir
}

fn assert_no_lock_left(dir: &Path) {
    let locks: Vec<_> = names_in(dir)
        .into_iter()
        .filter(|n| ferry_engine::names::is_lock_name(n))
        .collect();
    assert!(locks.is_empty(), "lock files left: {locks:?}");
    assert!(!DestinationLock::sidecar_path(&lock_dest(dir)).exists());
}

#[test]
fn exclusive_critical_sections_never_overlap_across_processes() {
    let sandbox = Sandbox::new();
    let roles = [
        "writer-block",
        "writer-block",
        "writer-block",
        "writer-poll",
        "writer-poll",
    ];
    let dir = contend(&sandbox, &roles);
    assert_eq!(
        read_counter(&dir),
        (roles.len() * ITERATIONS) as u64,
        "lost updates: two writers were inside at once"
    );
    assert!(names_in(&markers(&dir)).is_empty());
    assert_no_lock_left(&dir);
}

#[test]
fn shared_holders_never_overlap_exclusive_ones_across_processes() {
    let sandbox = Sandbox::new();
    let roles = ["writer-block", "writer-block", "reader", "reader", "reader"];
    let dir = contend(&sandbox, &roles);
    assert_eq!(read_counter(&dir), (2 * ITERATIONS) as u64);
    assert!(names_in(&markers(&dir)).is_empty());
    assert_no_lock_left(&dir);
}

#[test]
fn lock_modes_seen_from_another_process() {
    let sandbox = Sandbox::new();
    let dir = sandbox.dir("lock");
    let dest = lock_dest(&dir);
    let run = |role: &str| support::run_with_timeout(child(role, &dir), LIMIT);

    // Shared held here: another process may share it, not take it.
    let held = DestinationLock::acquire(&dest, LockMode::Shared, Wait::Try, None).unwrap();
    assert_children_ok(&["probe-shared"], &[run("probe-shared")]);
    assert!(
        held.path().exists(),
        "the other reader left our sidecar alone"
    );
    drop(held);
    assert_no_lock_left(&dir);

    // Exclusive held here: another process gets nothing.
    let held = DestinationLock::acquire(&dest, LockMode::Exclusive, Wait::Try, None).unwrap();
    assert_children_ok(&["probe-exclusive"], &[run("probe-exclusive")]);

    // A blocking taker waits until we release, then gets it.
    let mut waiter = child("block-once", &dir)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    thread::sleep(Duration::from_millis(300));
    assert!(
        !dir.join("acquired").exists(),
        "a second process took a held exclusive lock"
    );
    assert!(waiter.try_wait().unwrap().is_none(), "it should be waiting");
    drop(held);
    let status = support::wait_or_kill(&mut waiter, LIMIT, "block-once child");
    assert!(status.success(), "{}", describe_status(status));
    assert!(dir.join("acquired").exists());
    assert_no_lock_left(&dir);
}
