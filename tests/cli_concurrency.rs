//! Several `ferry copy` processes at once:
//!
//! * many of them write the same destination: the result is exactly one
//!   writer's bytes and nothing else is left beside it;
//! * under `--on-conflict fail` exactly one of them wins.
#![cfg(unix)]

mod support;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use support::{MIB, Sandbox, hash_file, names_in, pattern, run_concurrently, stderr_of, write};

const WRITERS: usize = 8;
const LIMIT: Duration = Duration::from_secs(60);

/// Eight sources of a few MiB each, all different (sizes too).
fn sources(sandbox: &Sandbox) -> Vec<(PathBuf, blake3::Hash)> {
    let dir = sandbox.dir("src");
    (0..WRITERS)
        .map(|i| {
            let data = pattern(3 * MIB + i * 4099, 100 + i as u64);
            let path = dir.join(format!("source-{i}.bin"));
            write(&path, &data);
            (path, blake3::hash(&data))
        })
        .collect()
}

fn copy_commands(
    sandbox: &Sandbox,
    sources: &[(PathBuf, blake3::Hash)],
    policy: &str,
    dest: &Path,
) -> Vec<Command> {
    sources
        .iter()
        .map(|(src, _)| {
            let mut cmd = sandbox.copy_cmd(["--on-conflict", policy]);
            cmd.arg(src).arg(dest);
            cmd
        })
        .collect()
}

#[test]
fn simultaneous_overwrites_leave_exactly_one_writers_bytes() {
    let sandbox = Sandbox::new();
    let sources = sources(&sandbox);
    let out = sandbox.dir("out");
    let dest = out.join("shared.bin");
    let old = b"the old destination";
    for round in 0..5 {
        write(&dest, old);
        let outputs =
            run_concurrently(copy_commands(&sandbox, &sources, "overwrite", &dest), LIMIT);
        for (i, output) in outputs.iter().enumerate() {
            assert_eq!(
                output.status.code(),
                Some(0),
                "round {round}, writer {i}: {}",
                stderr_of(output)
            );
        }
        let result = hash_file(&dest);
        let winner = sources.iter().position(|(_, h)| *h == result);
        assert!(
            winner.is_some(),
            "round {round}: the destination ({} bytes) is not any one source",
            fs::metadata(&dest).unwrap().len()
        );
        assert_eq!(
            names_in(&out),
            ["shared.bin"],
            "round {round}: a temp or lock was left"
        );
    }
}

#[test]
fn simultaneous_fail_policy_copies_have_exactly_one_winner() {
    let sandbox = Sandbox::new();
    let sources = sources(&sandbox);
    let out = sandbox.dir("out");
    for round in 0..3 {
        // A fresh name each round instead of deleting and re-creating.
        let dest = out.join(format!("new-{round}.bin"));
        let outputs: Vec<Output> =
            run_concurrently(copy_commands(&sandbox, &sources, "fail", &dest), LIMIT);
        let winners: Vec<usize> = (0..WRITERS)
            .filter(|&i| outputs[i].status.code() == Some(0))
            .collect();
        assert_eq!(
            winners.len(),
            1,
            "round {round}: exit codes {:?}",
            outputs.iter().map(|o| o.status.code()).collect::<Vec<_>>()
        );
        for (i, output) in outputs.iter().enumerate() {
            if i != winners[0] {
                assert_eq!(output.status.code(), Some(1), "{}", stderr_of(output));
                assert!(
                    stderr_of(output).to_lowercase().contains("exist"),
                    "round {round}, loser {i}: {}",
                    stderr_of(output)
                );
            }
        }
        assert_eq!(
            hash_file(&dest),
            sources[winners[0]].1,
            "round {round}: the winner's bytes are not the destination's"
        );
        let expected: Vec<std::ffi::OsString> =
            (0..=round).map(|r| format!("new-{r}.bin").into()).collect();
        assert_eq!(names_in(&out), expected, "round {round}: litter left");
    }
}
