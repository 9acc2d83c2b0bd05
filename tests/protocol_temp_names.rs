//! Temp file names: 10,000 of them in one folder never collide, carry 64
//! unpredictable bits, keep their shape, and still work in a crowded folder
//! and for the longest and strangest destination names.
#![cfg(unix)]

mod support;

use std::collections::HashSet;
use std::ffi::{OsStr, OsString};
use std::fs::{self, File};
use std::io::Write;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use ferry_engine::ConflictPolicy;
use ferry_engine::atomic::{AtomicFile, CommitOptions, Committed};
use ferry_engine::lock::{DestinationLock, LockMode, Wait, try_lock};
use ferry_engine::names::NAME_MAX;
use ferry_engine::names::{self, RANDOM_HEX_DIGITS, TEMP_SUFFIX};
use support::Rng;

/// A folder for tests that create thousands of files. It lives on tmpfs
/// (`/dev/shm`) when there is one: the names are what is under test, and
/// on this project's ext4 disks creating many files soon after another run
/// deleted many is very slow (see BENCH_NOTES, "Trap"). Falls back to the
/// default temp folder elsewhere.
fn crowd_dir() -> tempfile::TempDir {
    let shm = Path::new("/dev/shm");
    if shm.is_dir()
        && let Ok(dir) = tempfile::Builder::new()
            .prefix("ferry-names-")
            .tempdir_in(shm)
    {
        return dir;
    }
    tempfile::Builder::new()
        .prefix("ferry-names-")
        .tempdir()
        .expect("create a temp dir")
}

/// Closes the temp file's handle but keeps the file (and so its name) on
/// disk, without running `AtomicFile`'s drop (which would remove it). Keeps
/// the test within small open-file limits. Returns the temp's path.
fn keep_on_disk(file: AtomicFile) -> PathBuf {
    let path = file.temp_path().to_path_buf();
    let fd = file.handle().as_raw_fd();
    std::mem::forget(file);
    // SAFETY: `file` was forgotten, so its `File` will never close `fd`;
    // ownership of the descriptor passes to this `OwnedFd`, closed once.
    drop(unsafe { OwnedFd::from_raw_fd(fd) });
    path
}

/// The random hex digits of a temp name for a destination named `dest`
/// (asserting the name's exact shape `.<dest>.<16 hex>.ferry-part`).
fn random_part<'a>(temp: &'a OsStr, dest: &OsStr) -> &'a str {
    let bytes = temp.as_bytes();
    let mut prefix = b".".to_vec();
    prefix.extend_from_slice(dest.as_bytes());
    prefix.push(b'.');
    assert!(bytes.starts_with(&prefix), "bad prefix: {temp:?}");
    let rest = &bytes[prefix.len()..];
    let hex = rest
        .strip_suffix(TEMP_SUFFIX.as_bytes())
        .unwrap_or_else(|| panic!("bad suffix: {temp:?}"));
    assert_eq!(hex.len(), RANDOM_HEX_DIGITS, "{temp:?}");
    assert!(
        hex.iter()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(b)),
        "not lowercase hex: {temp:?}"
    );
    std::str::from_utf8(hex).expect("hex is ASCII")
}

#[test]
fn ten_thousand_temps_in_one_folder_never_collide_and_carry_64_random_bits() {
    const COUNT: usize = 10_000;
    let dir = crowd_dir();
    let dest_name = OsStr::new("report.pdf");
    let dest = dir.path().join(dest_name);

    let mut names: HashSet<OsString> = HashSet::with_capacity(COUNT);
    let mut randoms: Vec<u64> = Vec::with_capacity(COUNT);
    for i in 0..COUNT {
        let temp = AtomicFile::create(&dest)
            .unwrap_or_else(|e| panic!("create #{i} in a folder of {i} temps: {e}"));
        assert_eq!(temp.dest(), dest);
        if i % 1000 == 0 {
            // Step 1 and 2 of the protocol: mode 0600, locked for its life.
            let meta = fs::metadata(temp.temp_path()).unwrap();
            assert_eq!(meta.permissions().mode() & 0o777, 0o600);
            let other = File::open(temp.temp_path()).unwrap();
            assert!(
                !try_lock(&other, LockMode::Shared).unwrap(),
                "a live temp must be locked exclusively"
            );
        }
        let path = keep_on_disk(temp);
        assert_eq!(
            path.parent(),
            Some(dir.path()),
            "temp beside the destination"
        );
        let name = path.file_name().unwrap().to_owned();
        assert!(names::is_temp_name(&name), "{name:?}");
        assert!(!names::is_lock_name(&name), "{name:?}");
        let hex = random_part(&name, dest_name);
        randoms.push(u64::from_str_radix(hex, 16).unwrap());
        assert!(names.insert(name.clone()), "name given twice: {name:?}");
    }

    // Every temp is still there, under exactly the names handed out.
    let on_disk: HashSet<OsString> = support::names_in(dir.path()).into_iter().collect();
    assert_eq!(on_disk.len(), COUNT);
    assert_eq!(on_disk, names);
    assert!(!dest.exists(), "nothing appears at the destination");

    // The random parts are distinct, every hex position takes every one of
    // the 16 digits, and every one of the 64 bits is set in roughly half
    // the names (for 10,000 fair bits: 50% ± 0.5%; the bounds are ±10σ).
    let distinct: HashSet<u64> = randoms.iter().copied().collect();
    assert_eq!(distinct.len(), COUNT, "random parts repeat");
    for position in 0..RANDOM_HEX_DIGITS {
        let shift = 4 * (RANDOM_HEX_DIGITS - 1 - position);
        let digits: HashSet<u64> = randoms.iter().map(|r| (r >> shift) & 0xf).collect();
        assert_eq!(digits.len(), 16, "hex position {position} does not vary");
    }
    for bit in 0..64 {
        let ones = randoms.iter().filter(|r| (*r >> bit) & 1 == 1).count();
        assert!(
            (4_500..=5_500).contains(&ones),
            "bit {bit} is set in {ones} of {COUNT} names: not random"
        );
    }
}

#[test]
fn random_source_gives_distinct_values() {
    let values: HashSet<u64> = (0..10_000).map(|_| names::random_u64()).collect();
    assert_eq!(values.len(), 10_000);
}

#[test]
fn creating_temps_works_in_a_crowded_folder() {
    const TAKEN: usize = 5_000;
    const CREATED: usize = 1_000;
    let dir = crowd_dir();
    let dest_name = OsStr::new("movie.mkv");
    let dest = dir.path().join(dest_name);

    // Thousands of plausible temp names (same shape, same destination) and
    // unrelated files already take up the folder.
    let mut rng = Rng::new();
    let mut taken = HashSet::new();
    for i in 0..TAKEN {
        let name = names::temp_name(dest_name, rng.next_u64());
        File::create_new(dir.path().join(&name)).unwrap();
        taken.insert(name);
        if i % 10 == 0 {
            File::create_new(dir.path().join(format!("other-{i}.txt"))).unwrap();
        }
    }
    let before = support::names_in(dir.path()).len();

    let mut created = HashSet::new();
    for i in 0..CREATED {
        let temp = AtomicFile::create(&dest)
            .unwrap_or_else(|e| panic!("create #{i} in a crowded folder: {e}"));
        let path = keep_on_disk(temp);
        let name = path.file_name().unwrap().to_owned();
        assert!(names::is_temp_name(&name));
        random_part(&name, dest_name);
        assert!(!taken.contains(&name), "reused a taken name: {name:?}");
        assert!(created.insert(name));
    }
    assert_eq!(support::names_in(dir.path()).len(), before + CREATED);

    // A whole write still commits among them and cleans up after itself.
    let mut file = AtomicFile::create(&dest).unwrap();
    file.write_all(b"crowded").unwrap();
    file.commit(&CommitOptions::new(ConflictPolicy::Fail))
        .unwrap();
    assert_eq!(fs::read(&dest).unwrap(), b"crowded");
    assert_eq!(support::names_in(dir.path()).len(), before + CREATED + 1);
}

/// Creates a temp for `dest` and commits `data` through it, checking the
/// temp's name on the way; returns the temp name used.
fn write_through_temp(dest: &Path, data: &[u8]) -> OsString {
    let mut file = AtomicFile::create(dest).unwrap_or_else(|e| panic!("create for {dest:?}: {e}"));
    let name = file.temp_path().file_name().unwrap().to_owned();
    assert!(
        name.len() <= NAME_MAX,
        "temp name of {} bytes: {name:?}",
        name.len()
    );
    assert!(names::is_temp_name(&name), "{name:?}");
    assert!(file.temp_path().exists(), "the temp exists under that name");
    assert_eq!(file.temp_path().parent(), dest.parent());
    file.write_all(data).unwrap();
    let done = file
        .commit(&CommitOptions::new(ConflictPolicy::Fail))
        .unwrap_or_else(|e| panic!("commit to {dest:?}: {e}"));
    assert_eq!(
        done,
        Committed::Written {
            path: dest.to_path_buf(),
            replaced: false
        }
    );
    assert_eq!(fs::read(dest).unwrap(), data);
    name
}

#[test]
fn longest_destination_names_get_working_temp_names() {
    let sandbox = support::Sandbox::new();
    let dir = sandbox.dir("out");

    // 255 bytes of ASCII.
    let ascii = OsString::from(format!("{}.bin", "a".repeat(NAME_MAX - 4)));
    assert_eq!(ascii.len(), NAME_MAX);
    let temp = write_through_temp(&dir.join(&ascii), b"ascii");
    assert!(temp.as_bytes().starts_with(b".aaaa"));

    // 255 bytes of two-byte characters (plus one): the cut must not split
    // a character, so the temp name stays valid UTF-8.
    let accented = OsString::from("é".repeat(127) + "x");
    assert_eq!(accented.len(), NAME_MAX);
    let temp = write_through_temp(&dir.join(&accented), b"accented");
    assert!(temp.to_str().is_some(), "temp name cut inside a character");

    // Two long names that differ only at the end: distinct live temps at
    // once, distinct destination locks, and both commit.
    let a = OsString::from("x".repeat(NAME_MAX - 1) + "a");
    let b = OsString::from("x".repeat(NAME_MAX - 1) + "b");
    let (dest_a, dest_b) = (dir.join(&a), dir.join(&b));
    let mut ta = AtomicFile::create(&dest_a).unwrap();
    let mut tb = AtomicFile::create(&dest_b).unwrap();
    assert_ne!(ta.temp_path(), tb.temp_path());
    assert!(ta.temp_path().is_file() && tb.temp_path().is_file());
    {
        let held = DestinationLock::acquire(&dest_a, LockMode::Exclusive, Wait::Try, None)
            .expect("lock a");
        let other = DestinationLock::acquire(&dest_b, LockMode::Exclusive, Wait::Try, None);
        assert!(other.is_ok(), "two long names share a lock: {other:?}");
        let lock_name = held.path().file_name().unwrap();
        assert!(lock_name.len() <= NAME_MAX && names::is_lock_name(lock_name));
    }
    ta.write_all(b"a").unwrap();
    tb.write_all(b"b").unwrap();
    ta.commit(&CommitOptions::new(ConflictPolicy::Fail))
        .unwrap();
    tb.commit(&CommitOptions::new(ConflictPolicy::Fail))
        .unwrap();
    assert_eq!(fs::read(&dest_a).unwrap(), b"a");
    assert_eq!(fs::read(&dest_b).unwrap(), b"b");

    // Only the destinations remain: no temp, no lock.
    let mut expected = vec![ascii, accented, a, b];
    expected.sort();
    assert_eq!(support::names_in(&dir), expected);
}

/// Linux accepts any bytes in a name (macOS and Windows do not).
#[cfg(target_os = "linux")]
#[test]
fn non_utf8_destination_names_get_working_temp_names() {
    let sandbox = support::Sandbox::new();
    let dir = sandbox.dir("out");

    let short = OsStr::from_bytes(b"caf\xe9-\xff\xfe.dat");
    let temp = write_through_temp(&dir.join(short), b"latin-1");
    random_part(&temp, short);

    // At the limit: the cut falls among the non-UTF-8 bytes.
    let mut long_bytes = b"\xff\xfe".to_vec();
    long_bytes.extend(std::iter::repeat_n(0xe9u8, NAME_MAX - 2));
    let long = OsStr::from_bytes(&long_bytes);
    assert_eq!(long.len(), NAME_MAX);
    write_through_temp(&dir.join(long), b"long latin-1");

    let mut expected = vec![short.to_os_string(), long.to_os_string()];
    expected.sort();
    assert_eq!(support::names_in(&dir), expected, "no temp or lock left");
}
