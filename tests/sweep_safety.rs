//! The sweeper's safety rules against hostile or unusual trees: links,
//! mounts, other users' files, hard links, FIFOs, folders named like temps,
//! and files swapped under its feet.

#![cfg(unix)]

mod support;

use std::collections::HashMap;
use std::fs::{self, File};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Barrier, mpsc};
use std::time::{Duration, Instant};

use ferry_engine::{SkipReason, SweepReport, sweep};
use support::*;

#[test]
fn support_child() {
    child_entry();
}

/// Runs a sweep on another thread and fails the test if it hangs.
fn sweep_with_timeout(root: &Path, data: &Path) -> SweepReport {
    let (root, data) = (root.to_path_buf(), data.to_path_buf());
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(sweep::run_sweep(&request(&root, &data)).unwrap());
    });
    rx.recv_timeout(Duration::from_secs(30))
        .expect("the sweep hung")
}

fn mkfifo(path: &Path) {
    let status = Command::new("mkfifo").arg(path).status().unwrap();
    assert!(status.success(), "mkfifo failed");
}

#[test]
fn symbolic_links_are_never_followed() {
    let root = tempfile::tempdir().unwrap();
    let outside = tempfile::tempdir().unwrap();
    let data = tempfile::tempdir().unwrap();
    let target = outside.path().join("precious.txt");
    fs::write(&target, b"precious").unwrap();
    let outside_orphan = write_temp(outside.path(), "x", b"outside");
    // A link named like a temp, pointing at a real file; a dangling one; a
    // link to a folder full of orphans.
    let link = root.path().join(temp_name("precious.txt"));
    std::os::unix::fs::symlink(&target, &link).unwrap();
    let dangling = root.path().join(temp_name("gone"));
    std::os::unix::fs::symlink(outside.path().join("nothing"), &dangling).unwrap();
    let lock_link = root.path().join(".precious.txt.ferry-lock");
    std::os::unix::fs::symlink(&target, &lock_link).unwrap();
    std::os::unix::fs::symlink(outside.path(), root.path().join("linked-dir")).unwrap();
    age_past_threshold();

    let scan = sweep::scan(&request(root.path(), data.path()));
    assert!(scan.entries.is_empty(), "{:#?}", scan.entries);
    assert_eq!(scan.ignored.len(), 3, "{:#?}", scan.ignored);
    assert!(
        scan.ignored
            .iter()
            .all(|i| i.reason.contains("symbolic link"))
    );

    let report = sweep_with_timeout(root.path(), data.path());
    assert!(report.removed.is_empty(), "{:#?}", report.removed);
    assert_eq!(fs::read(&target).unwrap(), b"precious");
    assert!(outside_orphan.exists(), "the linked folder was descended");
    for l in [&link, &dangling, &lock_link] {
        assert!(
            fs::symlink_metadata(l).is_ok(),
            "{} was removed",
            l.display()
        );
    }
}

/// Unmounts on drop.
struct Mount(PathBuf);

impl Drop for Mount {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}

#[test]
fn a_nested_mount_is_not_crossed() {
    if !is_root() {
        println!("skipped: mounting a tmpfs needs root");
        return;
    }
    let root = tempfile::tempdir().unwrap();
    let data = tempfile::tempdir().unwrap();
    let mnt = root.path().join("mnt");
    fs::create_dir(&mnt).unwrap();
    let mounted = Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=1m", "tmpfs"])
        .arg(&mnt)
        .output();
    if !mounted.as_ref().is_ok_and(|o| o.status.success()) {
        println!("skipped: mount -t tmpfs failed here ({mounted:?})");
        return;
    }
    let _mount = Mount(mnt.clone());
    let inside = write_temp(&mnt, "on-tmpfs", b"other filesystem");
    let beside = write_temp(root.path(), "here", b"same filesystem");
    age_past_threshold();

    let scan = sweep::scan(&request(root.path(), data.path()));
    assert!(scan.entries.iter().all(|e| e.path != canon(&inside)));
    let report = sweep_with_timeout(root.path(), data.path());
    assert_eq!(report.removed.len(), 1, "{report:#?}");
    assert_eq!(report.removed[0].path, canon(&beside));
    assert!(inside.exists(), "the sweep crossed into the tmpfs");
}

#[test]
fn unsafe_look_alikes_are_untouched_and_never_hang_the_sweep() {
    let root = tempfile::tempdir().unwrap();
    let data = tempfile::tempdir().unwrap();
    let r = root.path();
    // A hard-linked temp: its other name would keep the data anyway.
    let linked = write_temp(r, "linked", b"two names");
    let other_name = r.join("other-name.txt");
    fs::hard_link(&linked, &other_name).unwrap();
    // A FIFO named like a temp: opening it for reading would block.
    let fifo = r.join(temp_name("pipe"));
    mkfifo(&fifo);
    let fifo_lock = r.join(".pipe.ferry-lock");
    mkfifo(&fifo_lock);
    // Folders named like temps (with an orphan inside, which is fair game).
    let dir_temp = r.join(temp_name("folder"));
    fs::create_dir(&dir_temp).unwrap();
    fs::write(dir_temp.join("keep.txt"), b"keep").unwrap();
    let dir_lock = r.join(".folder.ferry-lock");
    fs::create_dir(&dir_lock).unwrap();
    // Another user's temp.
    let foreign_owner = write_temp(r, "nobody", b"not mine");
    let chowned =
        is_root() && std::os::unix::fs::chown(&foreign_owner, Some(65534), Some(65534)).is_ok();
    if !chowned {
        println!("skipped: the other-user case needs root to chown");
    }
    let plain = write_temp(r, "plain", b"mine");
    age_past_threshold();

    let report = sweep_with_timeout(r, data.path());
    let removed: Vec<_> = report.removed.iter().map(|x| x.path.clone()).collect();
    assert_eq!(removed, [canon(&plain)], "{report:#?}");
    assert_eq!(fs::read(&linked).unwrap(), b"two names");
    assert_eq!(fs::metadata(&other_name).unwrap().nlink(), 2);
    for p in [&fifo, &fifo_lock, &dir_temp, &dir_lock] {
        assert!(
            fs::symlink_metadata(p).is_ok(),
            "{} was removed",
            p.display()
        );
    }
    assert!(dir_temp.join("keep.txt").exists());
    assert_eq!(fs::read(&foreign_owner).unwrap(), b"not mine");
    let reason = |p: &Path| -> String {
        match &report
            .skipped
            .iter()
            .find(|s| s.path == canon(p))
            .unwrap()
            .reason
        {
            SkipReason::Unsafe(why) => why.clone(),
            other => panic!("{}: {other:?}", p.display()),
        }
    };
    assert!(reason(&linked).contains("hard links"));
    assert!(reason(&fifo).contains("FIFO"));
    assert!(reason(&fifo_lock).contains("FIFO"));
    assert!(reason(&dir_temp).contains("folder"));
    assert!(reason(&dir_lock).contains("folder"));
    if chowned {
        assert!(reason(&foreign_owner).contains("another user"));
    }
}

/// Fresh replacement files, made ahead in a staging folder beside the
/// temps (same filesystem), each with content naming its number.
fn stage_replacements(stage: &Path, n: usize) -> Vec<PathBuf> {
    fs::create_dir(stage).unwrap();
    (0..n)
        .map(|i| {
            let p = stage.join(format!("new-{i}"));
            fs::write(&p, format!("new {i}")).unwrap();
            p
        })
        .collect()
}

/// The file now at `name` must be the replacement, alive and whole.
fn assert_replacement_survived(name: &Path, replacement: &File, i: usize) {
    let meta = replacement.metadata().unwrap();
    assert_eq!(meta.nlink(), 1, "replacement {i} was deleted");
    assert_eq!(fs::read_to_string(name).unwrap(), format!("new {i}"));
    assert_eq!(fs::metadata(name).unwrap().ino(), meta.ino());
}

#[test]
fn a_file_swapped_in_between_scan_and_removal_is_never_deleted() {
    const PER_PHASE: usize = 334;
    let root = tempfile::tempdir().unwrap();
    let data = tempfile::tempdir().unwrap();
    let temps_dir = root.path().join("temps");
    fs::create_dir(&temps_dir).unwrap();
    let temps: Vec<PathBuf> = (0..3 * PER_PHASE)
        .map(|i| canon(&write_temp(&temps_dir, &format!("t{i}"), b"old")))
        .collect();
    age_past_threshold();
    let replacements = stage_replacements(&root.path().join("stage"), temps.len());
    let held: Vec<File> = replacements
        .iter()
        .map(|p| File::open(p).unwrap())
        .collect();

    let mut req = request(&temps_dir, data.path());
    let scan = sweep::scan(&req);
    assert_eq!(scan.entries.len(), temps.len());
    let entries: HashMap<PathBuf, _> = scan
        .entries
        .iter()
        .map(|e| (e.path.clone(), e.clone()))
        .collect();
    let phase = |k: usize| (k * PER_PHASE)..((k + 1) * PER_PHASE);

    // Phase 1: swapped after the scan, before the sweep looks again: the
    // scanned identity no longer matches.
    for i in phase(0) {
        fs::rename(&replacements[i], &temps[i]).unwrap();
    }
    let batch: Vec<_> = phase(0).map(|i| entries[&temps[i]].clone()).collect();
    let report = sweep::sweep_entries(&batch, &req).unwrap();
    assert!(report.removed.is_empty(), "{:#?}", report.removed);
    for s in &report.skipped {
        assert!(
            matches!(&s.reason, SkipReason::Changed(w) if w.contains("another file now has its name")),
            "{s:?}"
        );
    }
    for i in phase(0) {
        assert_replacement_survived(&temps[i], &held[i], i);
    }

    // Phase 2: swapped while the sweeper holds the old file's lock, just
    // before it unlinks: the path no longer names the locked inode.
    let swap_of: HashMap<PathBuf, usize> = phase(1).map(|i| (temps[i].clone(), i)).collect();
    let swap = |path: &Path| {
        let i = swap_of[path];
        fs::rename(&replacements[i], &temps[i]).unwrap();
    };
    req.on_remove = Some(&swap);
    let batch: Vec<_> = phase(1).map(|i| entries[&temps[i]].clone()).collect();
    let report = sweep::sweep_entries(&batch, &req).unwrap();
    assert!(report.removed.is_empty(), "{:#?}", report.removed);
    assert_eq!(report.skipped.len(), PER_PHASE);
    for s in &report.skipped {
        assert!(
            matches!(&s.reason, SkipReason::Changed(w) if w.contains("at the last moment")),
            "{s:?}"
        );
    }
    for i in phase(1) {
        assert_replacement_survived(&temps[i], &held[i], i);
    }
    req.on_remove = None;

    // Phase 3: a thread swaps at a varying moment while the sweep runs.
    let barrier = Barrier::new(2);
    let (mut removed, mut late) = (0, 0);
    std::thread::scope(|s| {
        s.spawn(|| {
            for i in phase(2) {
                barrier.wait();
                let spin = Duration::from_micros(((i * 7919) % 120) as u64);
                let start = Instant::now();
                while start.elapsed() < spin {
                    std::hint::spin_loop();
                }
                fs::rename(&replacements[i], &temps[i]).unwrap();
                barrier.wait();
            }
        });
        for i in phase(2) {
            barrier.wait();
            let report = sweep::sweep_entries(&[entries[&temps[i]].clone()], &req).unwrap();
            removed += report.removed.len();
            late += report
                .skipped
                .iter()
                .filter(
                    |s| matches!(&s.reason, SkipReason::Changed(w) if w.contains("last moment")),
                )
                .count();
            assert_eq!(report.failures(), 0, "{report:#?}");
            barrier.wait();
            assert_replacement_survived(&temps[i], &held[i], i);
        }
    });
    println!(
        "phase 3 of {PER_PHASE}: removed before the swap {removed}, \
         swap caught after the lock {late}, caught before it {}",
        PER_PHASE - removed - late
    );
}

/// Orphans spread over many folders at several depths, so that a sweep's
/// walk shares them out between its threads.
fn spread_orphans(root: &Path, folders: usize) -> Vec<PathBuf> {
    let mut orphans = Vec::new();
    for i in 0..folders {
        let mut dir = root.join(format!("f{i:02}"));
        for depth in 0..3 {
            fs::create_dir_all(&dir).unwrap();
            orphans.push(canon(&write_temp(&dir, &format!("o{i}-{depth}"), b"old")));
            dir = dir.join("deeper");
        }
    }
    orphans
}

#[test]
fn a_sweep_holds_each_lock_from_its_look_until_the_file_is_gone() {
    let root = tempfile::tempdir().unwrap();
    let data = tempfile::tempdir().unwrap();
    let orphans = spread_orphans(root.path(), 20);
    age_past_threshold();
    // Just before each removal, another open file of the same file must
    // find its lock taken: the sweep's walk locked it when it looked, and
    // never let go.
    let checked = std::sync::atomic::AtomicUsize::new(0);
    let check = |path: &Path| {
        let other = File::open(path).unwrap();
        assert!(
            matches!(other.try_lock(), Err(std::fs::TryLockError::WouldBlock)),
            "{} was not locked by the sweep",
            path.display()
        );
        checked.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    };
    let mut req = request(root.path(), data.path());
    req.on_remove = Some(&check);
    let report = sweep::run_sweep(&req).unwrap();
    let removed: Vec<PathBuf> = report.removed.iter().map(|r| r.path.clone()).collect();
    let mut expected = orphans.clone();
    expected.sort();
    assert_eq!(removed, expected, "{report:#?}");
    assert_eq!(checked.into_inner(), orphans.len());
    assert!(orphans.iter().all(|o| !o.exists()));
}

#[test]
fn a_file_swapped_in_during_a_sweep_walk_is_never_deleted() {
    let root = tempfile::tempdir().unwrap();
    let data = tempfile::tempdir().unwrap();
    let tree = root.path().join("tree");
    let orphans = spread_orphans(&tree, 10);
    age_past_threshold();
    let replacements = stage_replacements(&root.path().join("stage"), orphans.len());
    let held: Vec<File> = replacements
        .iter()
        .map(|p| File::open(p).unwrap())
        .collect();
    // Every other orphan is replaced while the sweep holds its lock, just
    // before it is unlinked.
    let swap_of: HashMap<PathBuf, usize> = orphans
        .iter()
        .enumerate()
        .filter(|(i, _)| i % 2 == 0)
        .map(|(i, p)| (p.clone(), i))
        .collect();
    let swap = |path: &Path| {
        if let Some(&i) = swap_of.get(path) {
            fs::rename(&replacements[i], path).unwrap();
        }
    };
    let mut req = request(&tree, data.path());
    req.on_remove = Some(&swap);
    let report = sweep::run_sweep(&req).unwrap();
    assert_eq!(report.failures(), 0, "{report:#?}");
    assert_eq!(report.removed.len(), orphans.len() - swap_of.len());
    assert_eq!(report.skipped.len(), swap_of.len());
    for s in &report.skipped {
        assert!(swap_of.contains_key(&s.path), "{s:?}");
        assert!(
            matches!(&s.reason, SkipReason::Changed(w) if w.contains("at the last moment")),
            "{s:?}"
        );
    }
    for (path, &i) in &swap_of {
        assert_replacement_survived(path, &held[i], i);
    }
    for (i, orphan) in orphans.iter().enumerate() {
        if !swap_of.contains_key(orphan) {
            assert!(!orphan.exists(), "orphan {i} was kept");
        }
    }
}

/// The private folders (`.ferry-aside-…`) directly in `dir`.
fn private_folders(dir: &Path) -> Vec<PathBuf> {
    fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with(".ferry-aside-")
        })
        .collect()
}

#[test]
fn a_walking_sweep_moves_files_aside_in_a_private_folder_it_removes_after() {
    let root = tempfile::tempdir().unwrap();
    let data = tempfile::tempdir().unwrap();
    let tree = canon(&root.path().join("tree"));
    let orphans = spread_orphans(&tree, 20);
    fs::write(tree.join("keep.txt"), b"a person's file").unwrap();
    age_past_threshold();
    // Just before each removal: the private folders that exist by then.
    let seen = std::sync::Mutex::new(Vec::new());
    let look = |_: &Path| seen.lock().unwrap().extend(private_folders(&tree));
    let mut req = request(&tree, data.path());
    req.on_remove = Some(&look);
    let report = sweep::run_sweep(&req).unwrap();

    assert_eq!(report.removed.len(), orphans.len(), "{report:#?}");
    assert!(report.skipped.is_empty(), "{report:#?}");
    assert!(orphans.iter().all(|o| !o.exists()));
    let seen = seen.into_inner().unwrap();
    assert!(
        !seen.is_empty(),
        "no private folder was used for {} removals",
        orphans.len()
    );
    // One per walking thread at most, all gone once the sweep is over,
    // and nothing else touched.
    let distinct: std::collections::HashSet<_> = seen.iter().collect();
    assert!(distinct.len() <= 4, "{distinct:?}");
    assert!(private_folders(&tree).is_empty());
    assert_eq!(fs::read(tree.join("keep.txt")).unwrap(), b"a person's file");
}

#[test]
fn what_a_killed_sweep_left_in_its_private_folder_is_swept_even_one_level_deep() {
    let root = tempfile::tempdir().unwrap();
    let data = tempfile::tempdir().unwrap();
    let dir = canon(root.path());
    // What a sweep killed between its move aside and its unlink leaves.
    let left = dir.join(".ferry-aside-0123456789abcdef");
    fs::create_dir(&left).unwrap();
    let orphan = canon(&write_temp(&left, ".x.0123456789abcdef.ferry-part", b"old"));
    // A person's folder by a look-alike name is never a private folder.
    let mine = dir.join(".ferry-aside-0123456789abcdef-mine");
    fs::create_dir(&mine).unwrap();
    fs::write(mine.join("photo.jpg"), b"keep").unwrap();
    age_past_threshold();
    let mut req = request(&dir, data.path());
    // A remembered destination folder: looked at one level deep only.
    req.roots = vec![ferry_engine::sweep::Root::folder(&dir)];

    let first = sweep::run_sweep(&req).unwrap();
    let removed: Vec<&Path> = first.removed.iter().map(|r| r.path.as_path()).collect();
    assert_eq!(removed, [orphan.as_path()], "{first:#?}");
    assert!(!orphan.exists());
    // The removal changed the folder: it goes once that is old too.
    age_past_threshold();
    let second = sweep::run_sweep(&req).unwrap();
    assert_eq!(second.failures(), 0, "{second:#?}");
    assert!(!left.exists(), "{second:#?}");
    assert_eq!(fs::read(mine.join("photo.jpg")).unwrap(), b"keep");
}

#[test]
fn a_persons_file_or_deeper_folder_named_like_a_private_folder_is_never_touched() {
    let root = tempfile::tempdir().unwrap();
    let data = tempfile::tempdir().unwrap();
    let dir = canon(root.path());
    // Only a sweep's folder directly in a root has that name and shape.
    let file = dir.join(".ferry-aside-0123456789abcdef");
    fs::write(&file, b"my notes").unwrap();
    let deeper = dir.join("sub").join(".ferry-aside-00000000000000aa");
    fs::create_dir_all(&deeper).unwrap();
    let orphan = canon(&write_temp(&dir.join("sub"), "o", b"old"));
    age_past_threshold();
    let req = request(&dir, data.path());
    let scan = sweep::scan(&req);
    let listed: Vec<&Path> = scan.entries.iter().map(|e| e.path.as_path()).collect();
    assert_eq!(listed, [orphan.as_path()], "{scan:#?}");
    let report = sweep::run_sweep(&req).unwrap();
    assert_eq!(report.removed.len(), 1, "{report:#?}");
    assert!(report.skipped.is_empty(), "{report:#?}");
    assert_eq!(fs::read(&file).unwrap(), b"my notes");
    assert!(deeper.is_dir());
}

#[test]
fn another_running_sweeps_private_folder_is_neither_entered_nor_removed() {
    let root = tempfile::tempdir().unwrap();
    let data = tempfile::tempdir().unwrap();
    let dir = canon(root.path());
    // A sweep with other settings, running: its folder is locked, and the
    // file in it is the one it is removing.
    let theirs = dir.join(".ferry-aside-0123456789abcdef");
    fs::create_dir(&theirs).unwrap();
    let inside = canon(&write_temp(&theirs, "aside", b"old"));
    let held = File::open(&theirs).unwrap();
    held.lock().unwrap();
    age_past_threshold();
    let report = sweep::run_sweep(&request(&dir, data.path())).unwrap();
    assert!(report.removed.is_empty(), "{report:#?}");
    assert!(theirs.is_dir() && inside.exists());
    let skipped: Vec<_> = report
        .skipped
        .iter()
        .map(|s| (&s.path, &s.reason))
        .collect();
    assert_eq!(skipped, [(&theirs, &SkipReason::Active)], "{report:#?}");

    // Once that sweep is gone (killed), its leftovers go.
    drop(held);
    let first = sweep::run_sweep(&request(&dir, data.path())).unwrap();
    let removed: Vec<&Path> = first.removed.iter().map(|r| r.path.as_path()).collect();
    assert_eq!(removed, [inside.as_path()], "{first:#?}");
    age_past_threshold();
    let second = sweep::run_sweep(&request(&dir, data.path())).unwrap();
    assert!(!theirs.exists(), "{second:#?}");
}
