//! The filesystem matrix (issue 10): today's `ferry` binary and the
//! capability probe on every filesystem people copy to — tmpfs, btrfs,
//! exFAT, FAT32, NTFS and sshfs, each freshly mounted by
//! `support::mounts` (root only; without root, FUSE or a tool each test
//! prints `skipped: …` and passes).
//!
//! Each check is a function of the filesystem; the `matrix!` lists below
//! make one test per filesystem, named `<check>::<filesystem>` (run one with
//! `cargo test --all-features --test cli_fs_matrix -- tree_copy::exfat`).
//! Every check holds on every filesystem of the matrix.
//!
//! * `probe`: [`ferry_engine::caps::probe`] reports what the filesystem
//!   really does (measured, see `support::mounts`), leaves nothing behind,
//!   and a [`ProbeCache`] probes the filesystem once.
//! * `tree_copy`: a tree (nested folders, an empty file, 20 small files
//!   for the batch path, a multi-chunk file) copies with exit 0, equal in
//!   names, contents, modification times (to the filesystem's step) and
//!   modes (where kept), with no temp or lock left.
//! * `second_copy`: the same tree onto an existing copy with the default
//!   policy exits 1, says the destination already exists, and changes
//!   nothing.
//! * `rename_policy`: `--on-conflict rename` writes `report (1).txt` beside
//!   the existing `report.txt`.
//! * `symlink`: a symbolic link is copied as one where the filesystem has
//!   them, and refused in words (no raw `os error`) where it has not.
//! * `sigkill` (fault-injection builds): a copy slowed to 50 ms per chunk
//!   and killed with SIGKILL mid-write leaves the destination absent or
//!   whole; `ferry sweep --older-than 1s` removes the temp it left.
//! * `oversize_fat32`: a 4.6 GiB (sparse) file onto FAT32 is refused within
//!   a second, in words that name the 4 GiB limit, with nothing written.
#![cfg(target_os = "linux")]

mod support;

use std::fs::{self, File, FileTimes};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::{Duration, Instant, UNIX_EPOCH};

use ferry_engine::caps::{self, Capabilities, Ownership, ProbeCache};
use ferry_engine::names;
use support::mounts::{Fs, Mounted};
use support::{
    MIB, Node, NodeKind, Sandbox, Tree, describe_status, pattern, snapshot, stderr_of, walk, write,
};

/// One test per filesystem for a check function `fn(Fs)`.
macro_rules! matrix {
    ($check:ident { $( $test:ident => $fs:expr ),* $(,)? }) => {
        mod $check {
            use super::*;
            $(
                #[test]
                fn $test() {
                    super::$check($fs)
                }
            )*
        }
    };
}

/// Mounts `fs` for one test, or prints why not (then the test passes).
fn mount(fs: Fs) -> Option<Mounted> {
    let mounted = fs.mount()?;
    eprintln!("{} mounted at {}", fs.name(), mounted.path().display());
    Some(mounted)
}

/// The step modification times are kept to, as measured (module docs of
/// `support::mounts`).
fn time_step(fs: Fs) -> Duration {
    match fs {
        Fs::Tmpfs | Fs::Btrfs => Duration::from_nanos(1),
        Fs::Ntfs => Duration::from_nanos(100),
        Fs::Exfat | Fs::Sshfs => Duration::from_secs(1),
        Fs::Fat32 => Duration::from_secs(2),
    }
}

fn keeps_modes(fs: Fs) -> bool {
    matches!(fs, Fs::Tmpfs | Fs::Btrfs | Fs::Sshfs)
}

fn keeps_symlinks(fs: Fs) -> bool {
    !matches!(fs, Fs::Exfat | Fs::Fat32)
}

// ---------------------------------------------------------------- probe

matrix!(probe {
    tmpfs => Fs::Tmpfs,
    btrfs => Fs::Btrfs,
    exfat => Fs::Exfat,
    fat32 => Fs::Fat32,
    ntfs => Fs::Ntfs,
    sshfs => Fs::Sshfs,
});

fn probe(fs: Fs) {
    let Some(mnt) = mount(fs) else { return };
    let sub = mnt.path().join("sub");
    fs::create_dir(&sub).unwrap();
    let found = caps::probe(&sub).unwrap_or_else(|e| panic!("probe on {}: {e}", fs.name()));
    eprintln!("{}: {found}\n{found:#?}", fs.name());
    assert!(
        probe_litter(mnt.path()).is_empty(),
        "the probe left {:?}",
        probe_litter(mnt.path())
    );
    assert_eq!(
        fs::read_dir(&sub).unwrap().count(),
        0,
        "nothing left in sub"
    );
    expect(fs, &found);

    let cache = ProbeCache::new();
    let a = cache.get(mnt.path()).unwrap();
    let b = cache.get(&sub).unwrap();
    assert!(std::sync::Arc::ptr_eq(&a, &b), "one probe per filesystem");
    assert_eq!(cache.len(), 1);
    assert_eq!(a.filesystem, found.filesystem);
    assert!(probe_litter(mnt.path()).is_empty());
}

/// What each filesystem really does (measured by hand with the same calls,
/// see `support::mounts`); the probe must find the same.
fn expect(fs: Fs, c: &Capabilities) {
    let all_chars = caps::WINDOWS_RESERVED_CHARS.to_vec();
    let ns = Duration::from_nanos;
    let secs = Duration::from_secs;
    let posix_names = |c: &Capabilities| {
        assert!(c.case_sensitive, "{c:?}");
        assert!(c.refused_chars.is_empty(), "{c:?}");
        assert!(c.refused_endings.is_empty(), "{c:?}");
    };
    assert!(c.flock, "flock works on every one of them (locally): {c:?}");
    // sshfs sets a link's times and owner on what it points to (SFTP's
    // SETSTAT follows links on the server), whatever the flags say.
    assert_eq!(
        c.link_metadata_follows,
        fs == Fs::Sshfs,
        "link metadata on {}: {c:?}",
        fs.name()
    );
    // Files without a name: the kernel's own filesystems, no FUSE one.
    assert_eq!(
        c.unnamed_files,
        matches!(fs, Fs::Tmpfs | Fs::Btrfs),
        "O_TMPFILE on {}: {c:?}",
        fs.name()
    );
    // fusefat takes only plain ASCII names (EPERM for `é`), and refuses
    // to make a file longer with ftruncate (EPERM).
    assert_eq!(c.ascii_names_only, fs == Fs::Fat32, "{c:?}");
    assert_eq!(c.grows_by_truncate, fs != Fs::Fat32, "{c:?}");
    // Windows cannot open a name ending in a dot or space on its formats.
    assert_eq!(
        c.traits().refused_endings.is_empty(),
        !matches!(fs, Fs::Exfat | Fs::Fat32 | Fs::Ntfs),
        "{c:?}"
    );
    // fusefat loses what is in a renamed folder (moves there go entry by
    // entry); the others keep it.
    assert_eq!(
        c.folder_rename_keeps_contents,
        fs != Fs::Fat32,
        "folder renames on {}: {c:?}",
        fs.name()
    );
    match fs {
        Fs::Tmpfs | Fs::Btrfs => {
            let name = if fs == Fs::Tmpfs { "tmpfs" } else { "btrfs" };
            assert_eq!(c.filesystem, name);
            assert!(c.rename_noreplace && c.hard_links && c.symlinks, "{c:?}");
            assert!(c.permissions && c.ownership == Ownership::Any, "{c:?}");
            assert_eq!(c.time_granularity, Some(ns(1)));
            // Both take a sparse file of 2^63 - 1 bytes.
            assert_eq!(c.max_file_size, None);
            posix_names(c);
            let space = c.space.expect("space");
            assert!(space.total > 32 * MIB as u64 && space.available <= space.total);
        }
        Fs::Exfat => {
            assert_eq!(c.filesystem, "exFAT");
            assert!(c.driver.starts_with("fuseblk"), "{}", c.driver);
            assert!(!c.rename_noreplace && !c.hard_links && !c.symlinks, "{c:?}");
            assert!(!c.no_clobber_rename());
            assert!(!c.permissions && c.ownership == Ownership::None, "{c:?}");
            assert_eq!(c.new_file.mode, 0o777);
            assert_eq!(c.time_granularity, Some(secs(1)));
            assert_eq!(c.max_file_size, None);
            assert!(!c.case_sensitive);
            assert!(!c.locks_across_spellings);
            assert_eq!(c.refused_chars, all_chars);
            assert!(c.refused_endings.is_empty(), "exfat-fuse keeps them");
            assert!(c.space.is_some_and(|s| s.total == 64 << 20), "{c:?}");
        }
        Fs::Fat32 => {
            assert_eq!(c.filesystem, "FAT32");
            assert!(!c.rename_noreplace && !c.hard_links && !c.symlinks, "{c:?}");
            assert!(!c.permissions && c.ownership == Ownership::None, "{c:?}");
            assert_eq!(c.time_granularity, Some(secs(2)));
            assert_eq!(c.max_file_size, Some(caps::FAT_MAX_FILE_SIZE));
            assert!(!c.fits(caps::FAT_MAX_FILE_SIZE + 1));
            assert!(!c.case_sensitive);
            assert!(!c.locks_across_spellings);
            assert_eq!(c.refused_chars, all_chars);
            assert!(c.refused_endings.is_empty(), "fusefat keeps them");
            assert_eq!(c.space, None, "fusefat reports no blocks");
        }
        Fs::Ntfs => {
            assert_eq!(c.filesystem, "NTFS");
            assert!(c.driver.starts_with("fuseblk"), "{}", c.driver);
            assert!(!c.rename_noreplace, "ntfs-3g has no rename2 flags");
            assert!(c.hard_links && c.symlinks && c.no_clobber_rename(), "{c:?}");
            assert!(!c.permissions && c.ownership == Ownership::None, "{c:?}");
            assert_eq!(c.time_granularity, Some(ns(100)));
            assert_eq!(c.max_file_size, None);
            // ntfs-3g without `windows_names`: POSIX names, case-sensitive.
            posix_names(c);
            assert!(c.space.is_some());
        }
        Fs::Sshfs => {
            assert_eq!(c.filesystem, "sshfs");
            assert!(!c.rename_noreplace, "sshfs has no rename2 flags");
            assert!(c.hard_links && c.symlinks && c.no_clobber_rename(), "{c:?}");
            // The server runs as root and keeps modes and owners.
            assert!(c.permissions && c.ownership == Ownership::Any, "{c:?}");
            assert_eq!(c.time_granularity, Some(secs(1)));
            // The server's filesystem decides: at least 4 GiB anywhere it
            // is not FAT.
            assert!(c.fits(5 << 30), "{c:?}");
            posix_names(c);
            assert!(c.space.is_some());
        }
    }
    assert!(
        c.elapsed < Duration::from_millis(500),
        "the probe took {:?}",
        c.elapsed
    );
}

/// A folder the probe cannot write in is an error, and leaves nothing.
#[test]
fn probe_on_a_read_only_filesystem_fails_cleanly() {
    let Some(mnt) = mount(Fs::Tmpfs) else { return };
    fs::create_dir(mnt.path().join("sub")).unwrap();
    assert!(mnt.remount_read_only(), "remount read-only");
    let err = caps::probe(&mnt.path().join("sub")).unwrap_err();
    assert_eq!(err.kind(), ferry_engine::ErrorKind::ReadOnly, "{err}");
    assert_eq!(walk(mnt.path()), [PathBuf::from("sub")]);
}

fn probe_litter(root: &Path) -> Vec<PathBuf> {
    walk(root)
        .into_iter()
        .filter(|p| p.file_name().is_some_and(names::is_probe_name))
        .collect()
}

// ------------------------------------------------------------ tree copy

matrix!(tree_copy {
    tmpfs => Fs::Tmpfs,
    btrfs => Fs::Btrfs,
    exfat => Fs::Exfat,
    fat32 => Fs::Fat32,
    ntfs => Fs::Ntfs,
    sshfs => Fs::Sshfs,
});

fn tree_copy(fs: Fs) {
    let Some(mnt) = mount(fs) else { return };
    let sandbox = Sandbox::new();
    let src = sandbox.dir("src").join("photos");
    make_tree(&src);
    let out = sandbox.copy([src.as_os_str(), mnt.path().as_os_str()]);
    report(fs, "tree copy", &out);
    assert_eq!(out.status.code(), Some(0), "{}", stderr_of(&out));
    let dest = mnt.path().join("photos");
    assert_same_tree(fs, &src, &dest);
    assert_no_litter(mnt.path());
}

/// A tree with nested folders, an empty file, 20 small files (so the
/// batch path runs) and a file of several chunks; odd modes and old times.
fn make_tree(root: &Path) {
    let old = UNIX_EPOCH + Duration::new(1_500_000_001, 987_654_321);
    let file = |rel: &str, len: usize, seed: u64, mode: u32| {
        let path = root.join(rel);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        write(&path, &pattern(len, seed));
        let f = File::options().write(true).open(&path).unwrap();
        f.set_times(FileTimes::new().set_modified(old).set_accessed(old))
            .unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(mode)).unwrap();
    };
    file("a.jpg", 300_000, 1, 0o644);
    file("empty.txt", 0, 2, 0o600);
    file("Notes.md", 1234, 3, 0o640);
    file("sub/b.txt", 5000, 4, 0o644);
    file("sub/deeper/c.bin", 2 * MIB + 7, 5, 0o755);
    for i in 0..20 {
        file(
            &format!("many/f{i:02}.dat"),
            100 + i * 37,
            10 + i as u64,
            0o644,
        );
    }
}

/// What a check compares of a tree: names and kinds, a link's target, a
/// file's contents, mode and modification time. Not folders' modes and
/// times, nor inode numbers (exfat-fuse and fusefat number nodes as they
/// are looked up).
fn compared(root: &Path) -> Tree {
    snapshot(root)
        .into_iter()
        .map(|(rel, node)| {
            let node = match node.kind {
                NodeKind::File { .. } => Node { inode: 0, ..node },
                kind => Node {
                    kind,
                    mode: 0,
                    mtime: (0, 0),
                    len: 0,
                    inode: 0,
                },
            };
            (rel, node)
        })
        .collect()
}

/// `dest` holds what `src` holds: same names and kinds, same contents,
/// modification times within the filesystem's step, modes where kept.
fn assert_same_tree(fs: Fs, src: &Path, dest: &Path) {
    let want = snapshot(src);
    let got = snapshot(dest);
    let names = |m: &Tree| m.keys().cloned().collect::<Vec<_>>();
    assert_eq!(names(&got), names(&want), "entries differ");
    let step = time_step(fs).as_nanos() as i128;
    for (rel, want) in &want {
        let got = &got[rel];
        match (&want.kind, &got.kind) {
            (NodeKind::File { hash: h1 }, NodeKind::File { hash: h2 }) => {
                let (m1, m2, t1, t2) = (want.mode, got.mode, want.mtime, got.mtime);
                assert_eq!(h1, h2, "{rel:?}: contents differ");
                if keeps_modes(fs) {
                    assert_eq!(m1, m2, "{rel:?}: mode");
                }
                let ns = |t: &(i64, i64)| t.0 as i128 * 1_000_000_000 + t.1 as i128;
                let diff = (ns(&t1) - ns(&t2)).abs();
                assert!(
                    diff == 0 || diff < step,
                    "{rel:?}: mtime {t2:?} vs source {t1:?} (step {:?})",
                    time_step(fs)
                );
            }
            (want, got) => assert_eq!(want, got, "{rel:?}"),
        }
    }
}

/// Ferry's temps, locks, backups or probe files anywhere under `root`.
fn litter(root: &Path) -> Vec<PathBuf> {
    walk(root)
        .into_iter()
        .filter(|p| {
            p.file_name().is_some_and(|n| {
                names::is_temp_name(n)
                    || names::is_lock_name(n)
                    || names::is_probe_name(n)
                    || names::is_aside_folder_name(n)
                    || n.to_string_lossy().ends_with(names::BACKUP_SUFFIX)
            })
        })
        .collect()
}

fn assert_no_litter(root: &Path) {
    let left = litter(root);
    assert!(left.is_empty(), "left behind: {left:?}");
}

/// Prints what `ferry` did, for the findings.
fn report(fs: Fs, what: &str, out: &Output) {
    eprintln!(
        "{}: {what}: {}\n{}",
        fs.name(),
        describe_status(out.status),
        stderr_of(out).trim_end()
    );
}

/// Copies a tree by hand (no Ferry), keeping modification times.
fn plain_copy(src: &Path, dest: &Path) {
    fs::create_dir_all(dest).unwrap();
    for rel in walk(src) {
        let from = src.join(&rel);
        let to = dest.join(&rel);
        let meta = fs::symlink_metadata(&from).unwrap();
        if meta.is_dir() {
            fs::create_dir_all(&to).unwrap();
        } else {
            fs::create_dir_all(to.parent().unwrap()).unwrap();
            let mut reader = File::open(&from).unwrap();
            let mut writer = File::create(&to).unwrap();
            std::io::copy(&mut reader, &mut writer).unwrap();
            writer
                .set_times(FileTimes::new().set_modified(meta.modified().unwrap()))
                .unwrap();
            writer.sync_all().unwrap();
        }
    }
}

// ---------------------------------------------------------- second copy

matrix!(second_copy {
    tmpfs => Fs::Tmpfs,
    btrfs => Fs::Btrfs,
    exfat => Fs::Exfat,
    fat32 => Fs::Fat32,
    ntfs => Fs::Ntfs,
    sshfs => Fs::Sshfs,
});

fn second_copy(fs: Fs) {
    let Some(mnt) = mount(fs) else { return };
    let sandbox = Sandbox::new();
    let src = sandbox.dir("src").join("photos");
    make_tree(&src);
    // The first copy is made without Ferry, so this check does not depend
    // on `tree_copy`.
    let dest = mnt.path().join("photos");
    plain_copy(&src, &dest);
    let before = compared(&dest);
    let out = sandbox.copy([src.as_os_str(), mnt.path().as_os_str()]);
    report(fs, "second copy", &out);
    assert_eq!(out.status.code(), Some(1), "{}", stderr_of(&out));
    let err = stderr_of(&out);
    assert!(err.contains("already exists"), "{err}");
    assert!(!err.contains("os error"), "raw OS error shown: {err}");
    assert_eq!(compared(&dest), before, "the destination changed");
    assert_no_litter(mnt.path());
}

// -------------------------------------------------------- rename policy

matrix!(rename_policy {
    tmpfs => Fs::Tmpfs,
    btrfs => Fs::Btrfs,
    exfat => Fs::Exfat,
    fat32 => Fs::Fat32,
    ntfs => Fs::Ntfs,
    sshfs => Fs::Sshfs,
});

fn rename_policy(fs: Fs) {
    let Some(mnt) = mount(fs) else { return };
    let sandbox = Sandbox::new();
    let src = sandbox.dir("src").join("report.txt");
    write(&src, b"the new report\n");
    let existing = mnt.path().join("report.txt");
    write(&existing, b"the old report\n");
    let out = sandbox.copy([
        "--on-conflict".as_ref(),
        "rename".as_ref(),
        src.as_os_str(),
        mnt.path().as_os_str(),
    ]);
    report(fs, "--on-conflict rename", &out);
    assert_eq!(out.status.code(), Some(0), "{}", stderr_of(&out));
    assert_eq!(fs::read(&existing).unwrap(), b"the old report\n");
    let renamed = mnt.path().join("report (1).txt");
    assert_eq!(fs::read(&renamed).unwrap(), b"the new report\n");
    assert_no_litter(mnt.path());
}

// -------------------------------------------------------------- symlink

matrix!(symlink {
    tmpfs => Fs::Tmpfs,
    btrfs => Fs::Btrfs,
    exfat => Fs::Exfat,
    fat32 => Fs::Fat32,
    ntfs => Fs::Ntfs,
    sshfs => Fs::Sshfs,
});

fn symlink(fs: Fs) {
    let Some(mnt) = mount(fs) else { return };
    let sandbox = Sandbox::new();
    let src = sandbox.dir("src").join("album");
    fs::create_dir_all(&src).unwrap();
    write(&src.join("a.txt"), b"a\n");
    std::os::unix::fs::symlink("a.txt", src.join("link.txt")).unwrap();
    let out = sandbox.copy([src.as_os_str(), mnt.path().as_os_str()]);
    report(fs, "tree with a symlink", &out);
    let dest = mnt.path().join("album");
    if keeps_symlinks(fs) {
        assert_eq!(out.status.code(), Some(0), "{}", stderr_of(&out));
        assert_eq!(
            fs::read_link(dest.join("link.txt")).unwrap(),
            Path::new("a.txt")
        );
        assert_eq!(fs::read(dest.join("a.txt")).unwrap(), b"a\n");
    } else {
        assert_eq!(out.status.code(), Some(1), "{}", stderr_of(&out));
        let err = stderr_of(&out);
        assert!(err.contains("symbolic link"), "not said in words: {err}");
        assert!(err.contains("1 not copied"), "{err}");
        assert!(!err.contains("failed"), "{err}");
        assert!(!err.contains("os error"), "raw OS error shown: {err}");
        assert!(fs::symlink_metadata(dest.join("link.txt")).is_err());
    }
    assert_no_litter(mnt.path());
}

// ------------------------------------------------------ link metadata

matrix!(link_metadata {
    tmpfs => Fs::Tmpfs,
    btrfs => Fs::Btrfs,
    ntfs => Fs::Ntfs,
    sshfs => Fs::Sshfs,
});

/// Copying symbolic links never changes the files they point to, nor
/// fails on a link that points nowhere: on sshfs, where setting a link's
/// times or owner reaches its target, those are left off (one warning per
/// kind), elsewhere they are kept.
fn link_metadata(fs: Fs) {
    use std::os::unix::fs::MetadataExt;

    let Some(mnt) = mount(fs) else { return };
    let sandbox = Sandbox::new();
    // A file outside the job, on the drive, that a link points to.
    let outside = mnt.path().join("outside.conf");
    write(&outside, b"keep me\n");
    let old = UNIX_EPOCH + Duration::from_secs(1_000_000_000);
    File::options()
        .write(true)
        .open(&outside)
        .unwrap()
        .set_times(FileTimes::new().set_modified(old).set_accessed(old))
        .unwrap();
    let before = fs::metadata(&outside).unwrap();

    let src = sandbox.dir("src").join("links");
    fs::create_dir_all(&src).unwrap();
    // The absolute link names the file as the server sees it on sshfs (a
    // link to the client's mount point would make the server call into
    // its own client: a deadlock on a loopback mount).
    let seen_by_server = match mnt.remote() {
        Some(remote) => remote.join("outside.conf"),
        None => outside.clone(),
    };
    let links = [
        ("abs", seen_by_server),
        ("rel", PathBuf::from("../outside.conf")),
        ("gone", PathBuf::from("/nonexistent-ferry/x")),
    ];
    for (name, target) in &links {
        let link = src.join(name);
        std::os::unix::fs::symlink(target, &link).unwrap();
        if support::is_root() {
            std::os::unix::fs::lchown(&link, Some(1234), Some(1234)).unwrap();
        }
        let touched = std::process::Command::new("touch")
            .args(["-h", "-d", "2015-05-05 05:05:05"])
            .arg(&link)
            .status()
            .unwrap();
        assert!(touched.success());
    }
    let out = support::run_with_timeout(
        sandbox.copy_cmd([src.as_os_str(), mnt.path().as_os_str()]),
        Duration::from_secs(60),
    );
    report(fs, "links to outside and to nowhere", &out);
    assert_eq!(out.status.code(), Some(0), "{}", stderr_of(&out));
    let err = stderr_of(&out);

    let after = fs::metadata(&outside).unwrap();
    assert_eq!(fs::read(&outside).unwrap(), b"keep me\n");
    assert_eq!(
        (after.mtime(), after.uid(), after.gid()),
        (before.mtime(), before.uid(), before.gid()),
        "the file a link points to changed"
    );
    let dest = mnt.path().join("links");
    for (name, target) in &links {
        // Read on the server where there is one (sshfs answers a readlink
        // of an absolute link with EPERM).
        let link = server_side(&mnt, &dest.join(name)).unwrap_or_else(|| dest.join(name));
        assert_eq!(&fs::read_link(&link).unwrap(), target, "{name}");
    }
    let src_time = fs::symlink_metadata(src.join("abs")).unwrap().mtime();
    let dest_time = fs::symlink_metadata(dest.join("abs")).unwrap().mtime();
    if fs == Fs::Sshfs {
        assert!(
            err.contains("times of 3 symbolic links were not kept"),
            "{err}"
        );
        if support::is_root() {
            assert!(
                err.contains("owner of 3 symbolic links was not kept"),
                "{err}"
            );
        }
    } else {
        assert!(!err.contains("symbolic link"), "{err}");
        assert_eq!(dest_time, src_time, "the link's own time is kept");
    }
    assert_no_litter(mnt.path());
}

/// The server's path of a path on an sshfs mount.
fn server_side(mnt: &Mounted, path: &Path) -> Option<PathBuf> {
    Some(mnt.remote()?.join(path.strip_prefix(mnt.path()).ok()?))
}

// -------------------------------------------------------------- sigkill

#[cfg(feature = "fault-injection")]
matrix!(sigkill {
    tmpfs => Fs::Tmpfs,
    btrfs => Fs::Btrfs,
    exfat => Fs::Exfat,
    fat32 => Fs::Fat32,
    ntfs => Fs::Ntfs,
    sshfs => Fs::Sshfs,
});

/// Size of the file killed mid-copy: 24 chunks of 1 MiB, or 6 kernel
/// copies of 4 MiB, at 50 ms each.
#[cfg(feature = "fault-injection")]
const KILLED_LEN: usize = 24 * MIB + 321;

#[cfg(feature = "fault-injection")]
fn sigkill(fs: Fs) {
    use std::process::Stdio;

    let Some(mnt) = mount(fs) else { return };
    let sandbox = Sandbox::new();
    let src = sandbox.dir("src").join("big.bin");
    let data = pattern(KILLED_LEN, 7);
    write(&src, &data);
    let want = blake3::hash(&data);
    drop(data);
    let dest = mnt.path().join("big.bin");

    let mut cmd = sandbox.copy_cmd([src.as_os_str(), mnt.path().as_os_str()]);
    cmd.env("FERRY_FAULT_CHUNK_DELAY_MS", "50")
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let mut child = cmd.spawn().expect("spawn ferry");
    let temp_seen = support::wait_until(Duration::from_secs(30), || {
        !support::temps_in(mnt.path()).is_empty()
    });
    // Let some data land in the temp before the kill.
    std::thread::sleep(Duration::from_millis(120));
    let _ = child.kill(); // SIGKILL
    let status = child.wait().unwrap();
    eprintln!(
        "{}: killed copy: {}, temp seen: {temp_seen}",
        fs.name(),
        describe_status(status)
    );
    assert!(temp_seen, "no temp file appeared within 30 s");
    match fs::symlink_metadata(&dest) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Ok(_) => assert_eq!(support::hash_file(&dest), want, "a partial destination"),
        Err(e) => panic!("stat {dest:?}: {e}"),
    }
    let left = support::temps_in(mnt.path());
    assert!(!left.is_empty(), "a SIGKILL mid-write leaves its temp");

    // Older than 1 s by the newer of mtime and ctime, on every step size.
    std::thread::sleep(Duration::from_millis(2500));
    let mut sweep = sandbox.ferry();
    sweep.args(["sweep", "--older-than", "1s"]).arg(mnt.path());
    let out = support::run_with_timeout(sweep, Duration::from_secs(60));
    report(fs, "sweep after SIGKILL", &out);
    assert_eq!(out.status.code(), Some(0), "{}", stderr_of(&out));
    assert_no_litter(mnt.path());
    if let Ok(meta) = fs::symlink_metadata(&dest) {
        assert_eq!(meta.len(), KILLED_LEN as u64);
    }
}

// ------------------------------------------------- the age of a leftover

/// The scan's view of the Ferry temps under `root`: (path, status, age in
/// seconds), with the default threshold (1 day).
fn scanned_temps(sandbox: &Sandbox, root: &Path) -> Vec<(String, String, u64)> {
    let mut scan = sandbox.ferry();
    scan.args(["scan", "--json"]).arg(root);
    let out = support::run_with_timeout(scan, Duration::from_secs(60));
    assert_eq!(out.status.code(), Some(0), "{}", stderr_of(&out));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    doc["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "part")
        .map(|e| {
            (
                e["path"].as_str().unwrap().to_string(),
                e["status"].as_str().unwrap().to_string(),
                e["age_secs"].as_u64().unwrap(),
            )
        })
        .collect()
}

/// Runs `ferry sweep` with the default threshold (1 day) on `root`.
fn default_sweep(sandbox: &Sandbox, root: &Path) -> Output {
    let mut sweep = sandbox.ferry();
    sweep.arg("sweep").arg(root);
    support::run_with_timeout(sweep, Duration::from_secs(60))
}

#[cfg(feature = "fault-injection")]
matrix!(killed_temp_is_young {
    // Not tmpfs or btrfs: small files are written without a name there.
    exfat => Fs::Exfat,
    fat32 => Fs::Fat32,
    ntfs => Fs::Ntfs,
    sshfs => Fs::Sshfs,
});

/// A copy of old files killed mid-way leaves temps that are as young as
/// they are, also where the filesystem has no status-change time of its
/// own (exFAT, FAT32, sshfs report the modification time): the default
/// sweep keeps them. Small files go in batches (each staged, then one
/// flush for all), so the kill finds several temps written and waiting.
#[cfg(feature = "fault-injection")]
fn killed_temp_is_young(fs: Fs) {
    use std::process::Stdio;

    let Some(mnt) = mount(fs) else { return };
    let sandbox = Sandbox::new();
    let src = sandbox.dir("src").join("old");
    fs::create_dir_all(&src).unwrap();
    let old = UNIX_EPOCH + Duration::from_secs(1_430_000_000); // 2015
    for i in 0..40 {
        let path = src.join(format!("f{i:02}.dat"));
        write(&path, &pattern(10_000 + i, i as u64));
        File::options()
            .write(true)
            .open(&path)
            .unwrap()
            .set_times(FileTimes::new().set_modified(old).set_accessed(old))
            .unwrap();
    }
    let mut cmd = sandbox.copy_cmd([src.as_os_str(), mnt.path().as_os_str()]);
    cmd.env("FERRY_FAULT_CHUNK_DELAY_MS", "50")
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let mut child = cmd.spawn().expect("spawn ferry");
    let dest = mnt.path().join("old");
    let seen = support::wait_until(Duration::from_secs(30), || {
        dest.is_dir() && support::temps_in(&dest).len() >= 4
    });
    let _ = child.kill();
    let _ = child.wait();
    assert!(seen, "no temps appeared");
    let temps = scanned_temps(&sandbox, mnt.path());
    eprintln!("{}: after the kill: {temps:?}", fs.name());
    assert!(!temps.is_empty());
    for (path, status, age) in &temps {
        assert_eq!(status, "young", "{path}: {temps:?}");
        assert!(*age < 120, "{path}: a temp killed just now is {age} s old");
    }
    let out = default_sweep(&sandbox, mnt.path());
    assert_eq!(out.status.code(), Some(0), "{}", stderr_of(&out));
    assert_eq!(
        support::temps_in(&dest).len(),
        temps.len(),
        "the sweep took some"
    );
}

matrix!(old_looking_temp_is_kept {
    tmpfs => Fs::Tmpfs,
    exfat => Fs::Exfat,
    fat32 => Fs::Fat32,
    ntfs => Fs::Ntfs,
    sshfs => Fs::Sshfs,
});

/// A temp made a moment ago whose times were then set to an old source's
/// (a copy killed between giving the temp its times and renaming it, or a
/// live copy on another machine at that moment) is not taken for an old
/// orphan by the default sweep, also where the filesystem keeps no
/// status-change time: its folder changed when it was made.
fn old_looking_temp_is_kept(fs: Fs) {
    let Some(mnt) = mount(fs) else { return };
    let sandbox = Sandbox::new();
    let dir = mnt.path().join("album");
    fs::create_dir(&dir).unwrap();
    let temp = dir.join(names::temp_name(
        "photo.jpg".as_ref(),
        0x1234_5678_9abc_def0,
    ));
    write(&temp, b"half a photo");
    let old = UNIX_EPOCH + Duration::from_secs(1_430_000_000); // 2015
    File::options()
        .write(true)
        .open(&temp)
        .unwrap()
        .set_times(FileTimes::new().set_modified(old).set_accessed(old))
        .unwrap();
    let meta = fs::metadata(&temp).unwrap();
    eprintln!(
        "{}: mtime {:?} ctime {}.{} folder mtime {:?}",
        fs.name(),
        meta.modified().unwrap(),
        std::os::unix::fs::MetadataExt::ctime(&meta),
        std::os::unix::fs::MetadataExt::ctime_nsec(&meta),
        fs::metadata(&dir).unwrap().modified().unwrap()
    );
    let temps = scanned_temps(&sandbox, mnt.path());
    eprintln!("{}: {temps:?}", fs.name());
    assert_eq!(temps.len(), 1, "{temps:?}");
    assert_eq!(temps[0].1, "young", "{temps:?}");
    let out = default_sweep(&sandbox, mnt.path());
    assert_eq!(out.status.code(), Some(0), "{}", stderr_of(&out));
    assert!(
        temp.exists(),
        "the default sweep removed a temp made just now"
    );
    // Once old enough by every clock, it goes.
    std::thread::sleep(Duration::from_millis(2500));
    let mut sweep = sandbox.ferry();
    sweep.args(["sweep", "--older-than", "2s"]).arg(mnt.path());
    let out = support::run_with_timeout(sweep, Duration::from_secs(60));
    assert_eq!(out.status.code(), Some(0), "{}", stderr_of(&out));
    assert!(!temp.exists(), "{}", stderr_of(&out));
}

// --------------------------------------------------------- oversize FAT

#[test]
fn oversize_fat32() {
    let Some(mnt) = mount(Fs::Fat32) else { return };
    let sandbox = Sandbox::new();
    let src = sandbox.dir("src").join("disk.iso");
    File::create(&src)
        .unwrap()
        .set_len(4_600 * 1024 * 1024)
        .unwrap();
    let started = Instant::now();
    let out = support::run_with_timeout(
        sandbox.copy_cmd([src.as_os_str(), mnt.path().as_os_str()]),
        Duration::from_secs(120),
    );
    let took = started.elapsed();
    report(Fs::Fat32, "4.6 GiB file", &out);
    eprintln!("took {took:?}");
    assert_eq!(out.status.code(), Some(1), "{}", stderr_of(&out));
    assert!(took < Duration::from_secs(1), "refused only after {took:?}");
    let err = stderr_of(&out);
    assert!(err.contains("disk.iso"), "{err}");
    assert!(
        err.contains("4 GiB") || err.contains("4.0 GiB") || err.contains("FAT32"),
        "the limit is not named: {err}"
    );
    assert!(!err.contains("os error"), "raw OS error shown: {err}");
    assert!(fs::symlink_metadata(mnt.path().join("disk.iso")).is_err());
    assert_no_litter(mnt.path());

    // All or nothing: refused before anything is written, naming the file
    // and the limit (not only the space).
    let small = sandbox.dir("src").join("small.txt");
    write(&small, b"small\n");
    let out = support::run_with_timeout(
        sandbox.copy_cmd([
            "--all-or-nothing".as_ref(),
            small.as_os_str(),
            src.as_os_str(),
            mnt.path().as_os_str(),
        ]),
        Duration::from_secs(120),
    );
    let err = stderr_of(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("disk.iso") && err.contains("per file"),
        "{err}"
    );
    assert!(!mnt.path().join("small.txt").exists(), "{err}");

    // Exactly 4 GiB: told in bytes, not as "4.0 GiB; at most 4.0 GiB".
    let exact = sandbox.dir("src").join("exact.bin");
    File::create(&exact).unwrap().set_len(4 << 30).unwrap();
    let out = sandbox.copy([exact.as_os_str(), mnt.path().as_os_str()]);
    let err = stderr_of(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("it is 4294967296 bytes") && err.contains("at most 4294967295 bytes"),
        "{err}"
    );
    assert_no_litter(mnt.path());
}

// ---------------------------------------------- names that cannot be kept

matrix!(refused_names {
    exfat => Fs::Exfat,
    fat32 => Fs::Fat32,
});

/// Names the drive refuses are refused in words before anything of them is
/// written; two names that differ only by case are a conflict, never a
/// silent overwrite; the rest of the job goes on.
fn refused_names(fs: Fs) {
    let Some(mnt) = mount(fs) else { return };
    let sandbox = Sandbox::new();
    let src = sandbox.dir("src").join("photos");
    fs::create_dir_all(&src).unwrap();
    write(&src.join("Photo.jpg"), b"upper\n");
    write(&src.join("photo.jpg"), b"lower\n");
    write(&src.join("a:b.txt"), b"colon\n");
    write(&src.join("fine.txt"), b"fine\n");
    let out = sandbox.copy([src.as_os_str(), mnt.path().as_os_str()]);
    report(fs, "refused names", &out);
    assert_eq!(out.status.code(), Some(1), "{}", stderr_of(&out));
    let err = stderr_of(&out);
    assert!(err.contains("same name"), "{err}");
    assert!(err.contains("does not allow ':'"), "{err}");
    assert!(!err.contains("os error"), "raw OS error shown: {err}");
    let dest = mnt.path().join("photos");
    assert_eq!(fs::read(dest.join("fine.txt")).unwrap(), b"fine\n");
    // The first spelling (in name order, "Photo.jpg") is kept, whole.
    assert_eq!(fs::read(dest.join("Photo.jpg")).unwrap(), b"upper\n");
    assert_no_litter(mnt.path());
    // The advice never suggests the policy already chosen.
    assert!(!err.contains("overwrite, skip, rename or newer"), "{err}");
    let over = mnt.path().join("over");
    fs::create_dir(&over).unwrap();
    let out = sandbox.copy([
        "--on-conflict".as_ref(),
        "overwrite".as_ref(),
        src.as_os_str(),
        over.as_os_str(),
    ]);
    let err = stderr_of(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("same name"), "{err}");
    assert!(!err.contains("overwrite, skip"), "{err}");
    assert!(err.contains("'rename' conflict policy"), "{err}");
    assert_eq!(fs::read(over.join("photos/Photo.jpg")).unwrap(), b"upper\n");

    // With `rename`, the second spelling is kept beside the first.
    let again = mnt.path().join("again");
    fs::create_dir(&again).unwrap();
    fs::remove_file(src.join("a:b.txt")).unwrap();
    let out = sandbox.copy([
        "--on-conflict".as_ref(),
        "rename".as_ref(),
        src.as_os_str(),
        again.as_os_str(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr_of(&out));
    assert_eq!(
        fs::read(again.join("photos/Photo.jpg")).unwrap(),
        b"upper\n"
    );
    assert_eq!(
        fs::read(again.join("photos/photo (1).jpg")).unwrap(),
        b"lower\n"
    );
    assert_no_litter(mnt.path());

    // Two folders whose names differ by case: the second is refused in one
    // message (what it holds fails with it, said once, without a second
    // and contrary hint).
    let folders = sandbox.dir("folders").join("case");
    fs::create_dir_all(folders.join("Dir")).unwrap();
    fs::create_dir_all(folders.join("dir")).unwrap();
    write(&folders.join("Dir/x.txt"), b"x\n");
    write(&folders.join("dir/y.txt"), b"y\n");
    let out = sandbox.copy([folders.as_os_str(), mnt.path().as_os_str()]);
    let err = stderr_of(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert_eq!(err.matches("same name").count(), 1, "{err}");
    assert!(!err.contains("overwrite, skip, rename or newer"), "{err}");

    // exFAT compares names upper-cased: the final and the medial sigma are
    // one letter there (lower-casing keeps them apart). A move with
    // `overwrite` must not let one replace the other and remove both
    // sources. (fusefat takes no such names at all.)
    if fs == Fs::Exfat {
        let greek = sandbox.dir("greek").join("album");
        fs::create_dir_all(&greek).unwrap();
        write(&greek.join("ας.txt"), b"final\n");
        write(&greek.join("ασ.txt"), b"medial\n");
        let out = support::run(
            sandbox
                .ferry()
                .args(["move", "--on-conflict", "overwrite"])
                .arg(&greek)
                .arg(mnt.path()),
        );
        let err = stderr_of(&out);
        assert_eq!(out.status.code(), Some(1), "{err}");
        assert!(err.contains("same name"), "{err}");
        let on_drive = fs::read_dir(mnt.path().join("album")).unwrap().count();
        let left = fs::read_dir(&greek).unwrap().count();
        assert_eq!((on_drive, left), (1, 1), "{err}");
        assert_no_litter(mnt.path());
    }
}

// ------------------------------------------- what the drive cannot do

matrix!(all_or_nothing_without_hard_links {
    exfat => Fs::Exfat,
    fat32 => Fs::Fat32,
});

/// An all-or-nothing job keeps each file it replaces as a hard link, which
/// FAT and exFAT cannot make: the job is undone and says why in words (it
/// used to advise freeing space on a nearly empty drive).
fn all_or_nothing_without_hard_links(fs: Fs) {
    let Some(mnt) = mount(fs) else { return };
    let sandbox = Sandbox::new();
    let src = sandbox.dir("src").join("notes.txt");
    write(&src, b"new\n");
    let dest = mnt.path().join("notes.txt");
    write(&dest, b"old\n");
    let out = sandbox.copy([
        "--all-or-nothing".as_ref(),
        "--on-conflict".as_ref(),
        "overwrite".as_ref(),
        src.as_os_str(),
        dest.as_os_str(),
    ]);
    let err = stderr_of(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("cannot make"), "{err}");
    assert!(!err.contains("free some space"), "{err}");
    assert_eq!(fs::read(&dest).unwrap(), b"old\n");
    assert_no_litter(mnt.path());
}

matrix!(non_ascii_names {
    exfat => Fs::Exfat,
    fat32 => Fs::Fat32,
    ntfs => Fs::Ntfs,
    sshfs => Fs::Sshfs,
});

/// Names beyond plain ASCII copy where the drive takes them; fusefat
/// refuses them (EPERM), so there they are refused up front, in words,
/// never as "permission denied", once for a folder, and the rest goes on.
fn non_ascii_names(fs: Fs) {
    let Some(mnt) = mount(fs) else { return };
    let sandbox = Sandbox::new();
    let src = sandbox.dir("src").join("uni");
    fs::create_dir_all(src.join("Ünïcödé 写真")).unwrap();
    write(&src.join("café.txt"), b"cafe\n");
    write(&src.join("plain.txt"), b"plain\n");
    write(&src.join("Ünïcödé 写真/inner.txt"), b"inner\n");
    write(&src.join("Ünïcödé 写真/more.txt"), b"more\n");
    let out = sandbox.copy([src.as_os_str(), mnt.path().as_os_str()]);
    report(fs, "names beyond ASCII", &out);
    let err = stderr_of(&out);
    let dest = mnt.path().join("uni");
    assert!(!err.contains("permission denied"), "{err}");
    assert!(!err.contains("os error"), "{err}");
    assert_eq!(fs::read(dest.join("plain.txt")).unwrap(), b"plain\n");
    if fs == Fs::Fat32 {
        assert_eq!(out.status.code(), Some(1), "{err}");
        assert!(err.contains("plain ASCII"), "{err}");
        assert!(err.contains("café.txt"), "{err}");
        assert!(!err.contains("does not exist"), "{err}");
        // One message for the folder (not one more per file in it), and the
        // summary counts files as files.
        assert_eq!(err.matches("Ünïcödé 写真'").count(), 1, "{err}");
        assert!(
            err.contains(", 3 not copied (see above why), 1 folder not created"),
            "{err}"
        );
    } else {
        assert_eq!(out.status.code(), Some(0), "{err}");
        assert_same_tree(fs, &src, &dest);
    }
    assert_no_litter(mnt.path());
}

matrix!(trailing_dots_and_spaces {
    tmpfs => Fs::Tmpfs,
    exfat => Fs::Exfat,
    fat32 => Fs::Fat32,
    ntfs => Fs::Ntfs,
});

/// Names ending in a dot or a space are refused on the formats Windows
/// reads (it cannot open them there), with advice; elsewhere they copy.
fn trailing_dots_and_spaces(fs: Fs) {
    let Some(mnt) = mount(fs) else { return };
    let sandbox = Sandbox::new();
    let src = sandbox.dir("src").join("ends");
    fs::create_dir_all(&src).unwrap();
    write(&src.join("trailing."), b"dot\n");
    write(&src.join("trailsp "), b"space\n");
    write(&src.join("fine.txt"), b"fine\n");
    let out = sandbox.copy([src.as_os_str(), mnt.path().as_os_str()]);
    report(fs, "names ending in a dot or space", &out);
    let err = stderr_of(&out);
    let dest = mnt.path().join("ends");
    assert_eq!(fs::read(dest.join("fine.txt")).unwrap(), b"fine\n");
    if fs == Fs::Tmpfs {
        assert_eq!(out.status.code(), Some(0), "{err}");
        assert!(dest.join("trailing.").exists() && dest.join("trailsp ").exists());
    } else {
        assert_eq!(out.status.code(), Some(1), "{err}");
        assert!(err.contains("Windows cannot open"), "{err}");
        assert!(err.contains("rename it"), "{err}");
        let names: Vec<_> = walk(&dest);
        assert_eq!(names, [PathBuf::from("fine.txt")], "{err}");
    }
    assert_no_litter(mnt.path());
}

/// A sparse file copies onto fusefat, which refuses to make a file longer
/// with `ftruncate` (EPERM): its holes are written as zeros.
#[test]
fn sparse_file_fat32() {
    let Some(mnt) = mount(Fs::Fat32) else { return };
    let sandbox = Sandbox::new();
    let src = sandbox.dir("src").join("s.bin");
    let file = File::create(&src).unwrap();
    file.set_len(10 * MIB as u64).unwrap();
    std::os::unix::fs::FileExt::write_at(&file, b"middle", 5 * MIB as u64).unwrap();
    drop(file);
    let out = sandbox.copy([src.as_os_str(), mnt.path().as_os_str()]);
    report(Fs::Fat32, "sparse file", &out);
    assert_eq!(out.status.code(), Some(0), "{}", stderr_of(&out));
    assert_eq!(
        support::hash_file(&mnt.path().join("s.bin")),
        support::hash_file(&src)
    );
    assert_no_litter(mnt.path());
}

/// A full fusefat drive (which says EPERM when full) is reported as full,
/// not as "permission denied", and leaves nothing behind.
#[test]
fn full_drive_fat32() {
    let Some(mnt) = mount(Fs::Fat32) else { return };
    let sandbox = Sandbox::new();
    let src = sandbox.dir("src").join("huge.bin");
    write(&src, &pattern(100 * MIB, 4));
    let out = sandbox.copy([src.as_os_str(), mnt.path().as_os_str()]);
    report(Fs::Fat32, "a file larger than the free space", &out);
    assert_eq!(out.status.code(), Some(1), "{}", stderr_of(&out));
    let err = stderr_of(&out);
    assert!(err.contains("full"), "{err}");
    assert!(!err.contains("permission denied"), "{err}");
    assert!(!mnt.path().join("huge.bin").exists());
    assert_no_litter(mnt.path());
}

// ------------------------------------------- no-clobber without the kernel

matrix!(racing_writers {
    exfat => Fs::Exfat,
    fat32 => Fs::Fat32,
    ntfs => Fs::Ntfs,
});

/// Where the kernel has no no-clobber rename (and FAT none of its
/// fallbacks), writers of one name — under any spelling on a drive that
/// ignores case — still never clobber each other: exactly one wins, whole.
fn racing_writers(fs: Fs) {
    let Some(mnt) = mount(fs) else { return };
    let sandbox = Sandbox::new();
    let case_blind = matches!(fs, Fs::Exfat | Fs::Fat32);
    for round in 0..4 {
        let mut commands = Vec::new();
        let mut sources = Vec::new();
        for i in 0..8u8 {
            let src = sandbox.dir(&format!("r{round}w{i}")).join("payload.bin");
            let data = pattern(256 * 1024, u64::from(i) + 10 * round);
            write(&src, &data);
            sources.push(data);
            let name = if case_blind && i % 2 == 1 {
                format!("REPORT{round}.BIN")
            } else {
                format!("report{round}.bin")
            };
            let mut cmd = sandbox.ferry();
            // Each writer its own state folder: they are separate jobs.
            cmd.env("FERRY_DATA_DIR", sandbox.dir(&format!("state{round}-{i}")))
                .arg("copy")
                .arg(&src)
                .arg(mnt.path().join(name));
            commands.push(cmd);
        }
        let outputs = support::run_concurrently(commands, Duration::from_secs(60));
        let winners = outputs.iter().filter(|o| o.status.success()).count();
        assert_eq!(winners, 1, "round {round}: exactly one writer wins");
        for out in outputs.iter().filter(|o| !o.status.success()) {
            assert!(
                stderr_of(out).contains("already exists"),
                "round {round}: a loser failed otherwise: {}\nall: {:#?}",
                stderr_of(out),
                outputs.iter().map(stderr_of).collect::<Vec<_>>()
            );
        }
        let got = fs::read(mnt.path().join(format!("report{round}.bin"))).unwrap();
        assert!(
            sources.contains(&got),
            "the result is one writer's bytes, whole"
        );
    }
    assert_no_litter(mnt.path());
}

// ------------------------------------------------------------- moves

matrix!(moves {
    tmpfs => Fs::Tmpfs,
    btrfs => Fs::Btrfs,
    exfat => Fs::Exfat,
    fat32 => Fs::Fat32,
    ntfs => Fs::Ntfs,
    sshfs => Fs::Sshfs,
});

/// A tree moved onto the drive (another filesystem: copied in batches, the
/// sources removed once their copies are durable), then within the drive
/// into an existing folder (renamed in batches) and to a free name (one
/// rename): identical each time, no source left, no litter.
fn moves(fs: Fs) {
    let Some(mnt) = mount(fs) else { return };
    let sandbox = Sandbox::new();
    let src = sandbox.dir("src").join("photos");
    make_tree(&src);
    let reference = sandbox.dir("ref").join("photos");
    make_tree(&reference);
    let move_ = |args: &[&std::ffi::OsStr]| {
        let mut cmd = sandbox.ferry();
        cmd.arg("move").args(args);
        support::run_with_timeout(cmd, Duration::from_secs(60))
    };
    let out = move_(&[src.as_os_str(), mnt.path().as_os_str()]);
    report(fs, "move onto the drive", &out);
    assert_eq!(out.status.code(), Some(0), "{}", stderr_of(&out));
    assert!(!src.exists(), "the sources went");
    let on_drive = mnt.path().join("photos");
    assert_same_tree(fs, &reference, &on_drive);

    // Within the drive, into an existing folder (merged entry by entry).
    let merged = mnt.path().join("album");
    fs::create_dir_all(merged.join("photos/many")).unwrap();
    let out = move_(&[on_drive.as_os_str(), merged.as_os_str()]);
    report(fs, "merge within the drive", &out);
    assert_eq!(out.status.code(), Some(0), "{}", stderr_of(&out));
    assert!(!on_drive.exists());
    let names = |root: &Path| walk(root);
    assert_eq!(names(&merged.join("photos")), names(&reference));

    // Within the drive, to a free name.
    let renamed = mnt.path().join("renamed");
    let out = move_(&[merged.join("photos").as_os_str(), renamed.as_os_str()]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr_of(&out));
    assert_eq!(names(&renamed), names(&reference));
    assert_no_litter(mnt.path());
}

// ------------------------------------------------------ time granularity

matrix!(newer_at_the_drives_step {
    exfat => Fs::Exfat,
    fat32 => Fs::Fat32,
    ntfs => Fs::Ntfs,
});

/// `--on-conflict newer` compares times at the drive's step: copying again
/// copies nothing, and a source changed later is copied.
fn newer_at_the_drives_step(fs: Fs) {
    let Some(mnt) = mount(fs) else { return };
    let sandbox = Sandbox::new();
    let src = sandbox.dir("src").join("docs");
    fs::create_dir_all(&src).unwrap();
    for i in 0..20 {
        let path = src.join(format!("doc{i:02}.txt"));
        write(&path, format!("doc {i}\n").as_bytes());
        // Odd seconds and nanoseconds, which FAT cannot keep.
        let when = UNIX_EPOCH + Duration::new(1_500_000_001 + i, 987_654_321);
        File::options()
            .write(true)
            .open(&path)
            .unwrap()
            .set_modified(when)
            .unwrap();
    }
    let first = sandbox.copy([src.as_os_str(), mnt.path().as_os_str()]);
    assert_eq!(first.status.code(), Some(0), "{}", stderr_of(&first));
    let newer = |sandbox: &Sandbox| {
        sandbox.copy([
            "--on-conflict".as_ref(),
            "newer".as_ref(),
            src.as_os_str(),
            mnt.path().as_os_str(),
        ])
    };
    let again = newer(&sandbox);
    assert_eq!(again.status.code(), Some(0), "{}", stderr_of(&again));
    assert!(
        stderr_of(&again).contains("copied 0 files"),
        "nothing is newer: {}",
        stderr_of(&again)
    );
    let changed = src.join("doc07.txt");
    write(&changed, b"doc 7, changed\n");
    let later = newer(&sandbox);
    assert_eq!(later.status.code(), Some(0), "{}", stderr_of(&later));
    assert!(
        stderr_of(&later).contains("copied 1 file"),
        "{}",
        stderr_of(&later)
    );
    assert_eq!(
        fs::read(mnt.path().join("docs/doc07.txt")).unwrap(),
        b"doc 7, changed\n"
    );
    assert_no_litter(mnt.path());
}

// ------------------------------------------------------------ free space

/// An all-or-nothing job that cannot fit is refused before it starts;
/// another job copies what fits and says what did not.
#[test]
fn not_enough_space() {
    let Some(mnt) = mount(Fs::Exfat) else { return };
    let sandbox = Sandbox::new();
    let src = sandbox.dir("src").join("big");
    fs::create_dir_all(&src).unwrap();
    write(&src.join("small.txt"), b"small\n");
    // 100 MiB of real data does not fit on the 64 MiB drive.
    write(&src.join("huge.bin"), &pattern(100 * MIB, 3));
    let out = sandbox.copy([
        "--all-or-nothing".as_ref(),
        src.as_os_str(),
        mnt.path().as_os_str(),
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr_of(&out));
    let err = stderr_of(&out);
    assert!(err.contains("needs") && err.contains("free"), "{err}");
    assert!(!mnt.path().join("big").exists(), "nothing was written");
    let out = sandbox.copy([src.as_os_str(), mnt.path().as_os_str()]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr_of(&out));
    assert!(stderr_of(&out).contains("free"), "{}", stderr_of(&out));
    assert_eq!(
        fs::read(mnt.path().join("big/small.txt")).unwrap(),
        b"small\n"
    );
    assert!(!mnt.path().join("big/huge.bin").exists());
    assert_no_litter(mnt.path());
}

/// A check that does not depend on any mount: the litter filter knows all
/// of Ferry's names.
#[test]
fn litter_filter_knows_ferry_names() {
    let dir = tempfile::tempdir().unwrap();
    for name in [
        names::temp_name("a".as_ref(), 1),
        names::lock_name("a".as_ref()),
        names::probe_name(2),
        names::aside_folder_name(3),
        "a".into(),
    ] {
        File::create(dir.path().join(name)).unwrap();
    }
    assert_eq!(litter(dir.path()).len(), 4);
}
