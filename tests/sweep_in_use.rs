//! The sweeper's library never removes a file that another program is
//! using, nor one this very process has open through another descriptor
//! (`cli_sweep_in_use` checks the same through the `ferry` binary).

#![cfg(target_os = "linux")]

mod support;

use std::fs;
use std::path::Path;

use support::*;

#[test]
fn support_child() {
    child_entry();
}

/// The same rules through the library: another tool's file held open is
/// kept (with its floor cut, since change times cannot be backdated), and
/// so is a file this very process has open through another descriptor.
#[test]
fn the_library_keeps_files_in_use_by_others_and_by_its_own_process() {
    use ferry_engine::{ForeignPattern, SkipReason, sweep};

    let root = tempfile::tempdir().unwrap();
    let data = tempfile::tempdir().unwrap();
    let download = root.path().join("movie.iso.part");
    fs::write(&download, b"half").unwrap();
    let mine = write_temp(root.path(), "mine", b"open here");
    age_past_threshold();
    let holder = hold_open_with_sleep(&download);
    let open_here = fs::File::open(&mine).unwrap();

    let mut req = request(root.path(), data.path());
    req.foreign = vec![ForeignPattern::Part];
    req.foreign_min_age = THRESHOLD;
    let scan = sweep::scan(&req);
    for path in [&download, &mine] {
        let e = entry(&scan.entries, &canon(path));
        assert!(
            matches!(e.verdict.reason(), Some(SkipReason::InUse(_))),
            "{e:?}"
        );
    }
    let report = sweep::run_sweep(&req).unwrap();
    assert!(report.removed.is_empty(), "{report:#?}");
    let reason = |p: &Path| {
        report
            .skipped
            .iter()
            .find(|s| s.path == canon(p))
            .map(|s| s.reason.clone())
    };
    assert_eq!(
        reason(&download),
        Some(SkipReason::InUse(Some("sleep".into())))
    );
    assert!(matches!(reason(&mine), Some(SkipReason::InUse(Some(_)))));

    drop(holder);
    drop(open_here);
    let report = sweep::run_sweep(&req).unwrap();
    assert_eq!(report.removed.len(), 2, "{report:#?}");
    assert!(!download.exists() && !mine.exists());
}
