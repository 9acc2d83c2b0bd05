//! The atomic write protocol, checked on the real system calls of
//! `ferry copy` under `strace`:
//!
//! 1. `openat(".<dest>.<random>.ferry-part", O_CREAT|O_EXCL, 0600)` → fd T,
//!    then `flock(T, LOCK_EX)` before any data;
//! 2. all the data written to T, then mode and times set through T;
//! 3. `fsync(T)` after the last write;
//! 4. where the policy may replace a file (`overwrite`), the sidecar lock
//!    `.<dest>.ferry-lock` opened and locked exclusively; then
//!    `rename*(temp → dest)` (no-clobber `renameat2(RENAME_NOREPLACE)`,
//!    which needs no lock, where the policy forbids overwriting), then
//!    `fsync` of the destination directory; the sidecar is unlinked before
//!    it is closed.
//!
//! And the sweep's removal protocol, per orphan (see
//! [`a_sweep_removes_each_orphan_under_its_lock_and_lease`]).
//!
//! Skipped (with a message) when `strace` is not installed.
#![cfg(target_os = "linux")]

mod support;

use std::collections::HashMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use ferry_engine::names;
use support::{Sandbox, pattern, read, stderr_of, write};

const TRACED: &str = "?open,openat,write,pwrite64,writev,pwritev,copy_file_range,?sendfile,\
                      fsync,fdatasync,?rename,?renameat,renameat2,flock,close,fchmod,\
                      utimensat,?unlink,unlinkat";

fn strace_available() -> bool {
    Command::new("strace")
        .arg("-V")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// One completed system call from the strace log.
#[derive(Debug, Clone)]
struct Call {
    name: String,
    args: Vec<String>,
    ret: Option<i64>,
    line: String,
}

impl Call {
    fn fd_arg(&self, index: usize) -> Option<i64> {
        self.args.get(index).and_then(|a| a.parse().ok())
    }

    fn path_arg(&self, index: usize) -> Option<PathBuf> {
        self.args
            .get(index)
            .and_then(|a| unquote(a))
            .map(PathBuf::from)
    }

    fn ok(&self) -> bool {
        self.ret.is_some_and(|r| r >= 0)
    }
}

/// The text inside a quoted strace string, with `\"`, `\\` and the usual
/// escapes undone; `None` if `arg` is not a quoted string.
fn unquote(arg: &str) -> Option<OsString> {
    let inner = arg.strip_prefix('"')?;
    let inner = inner.strip_suffix("...").unwrap_or(inner);
    let inner = inner.strip_suffix('"')?;
    let mut bytes = Vec::new();
    let mut chars = inner.bytes().peekable();
    while let Some(b) = chars.next() {
        if b != b'\\' {
            bytes.push(b);
            continue;
        }
        match chars.next()? {
            b'n' => bytes.push(b'\n'),
            b't' => bytes.push(b'\t'),
            b'x' => {
                let hex: Vec<u8> = (0..2).filter_map(|_| chars.next()).collect();
                bytes.push(u8::from_str_radix(std::str::from_utf8(&hex).ok()?, 16).ok()?);
            }
            d @ b'0'..=b'7' => {
                let mut value = u32::from(d - b'0');
                for _ in 0..2 {
                    match chars.peek() {
                        Some(&o @ b'0'..=b'7') => {
                            value = value * 8 + u32::from(o - b'0');
                            chars.next();
                        }
                        _ => break,
                    }
                }
                bytes.push(value as u8);
            }
            other => bytes.push(other),
        }
    }
    use std::os::unix::ffi::OsStringExt;
    Some(OsString::from_vec(bytes))
}

/// Splits an argument list at top-level commas (not inside strings,
/// brackets or braces).
fn split_args(text: &str) -> Vec<String> {
    let mut args = Vec::new();
    let mut current = String::new();
    let (mut depth, mut in_string, mut escaped) = (0i32, false, false);
    for c in text.chars() {
        if in_string {
            current.push(c);
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_string = false;
            }
            continue;
        }
        match c {
            '"' => in_string = true,
            '(' | '[' | '{' => depth += 1,
            ')' | ']' | '}' => depth -= 1,
            ',' if depth == 0 => {
                args.push(current.trim().to_string());
                current.clear();
                continue;
            }
            _ => {}
        }
        current.push(c);
    }
    if !current.trim().is_empty() {
        args.push(current.trim().to_string());
    }
    args
}

/// Parses an `strace -f -o` log, joining `<unfinished ...>` calls with
/// their `<... resumed>` ends.
fn parse_log(log: &str) -> Vec<Call> {
    let mut pending: HashMap<String, String> = HashMap::new();
    let mut calls = Vec::new();
    for raw in log.lines() {
        let (pid, rest) = raw
            .trim()
            .split_once(char::is_whitespace)
            .unwrap_or(("", raw));
        let rest = rest.trim_start();
        if rest.starts_with("+++") || rest.starts_with("---") {
            continue;
        }
        let line = if let Some(head) = rest.strip_suffix("<unfinished ...>") {
            pending.insert(pid.to_string(), head.trim_end().to_string());
            continue;
        } else if let Some(resumed) = rest.strip_prefix("<... ") {
            let Some((_, tail)) = resumed.split_once("resumed>") else {
                continue;
            };
            let head = pending.remove(pid).unwrap_or_default();
            let tail = tail.trim_start();
            if head.ends_with('(') || tail.starts_with(')') {
                format!("{head}{tail}")
            } else {
                format!("{head}, {tail}")
            }
        } else {
            rest.to_string()
        };
        // strace pads short calls: `flock(4, LOCK_EX)        = 0`.
        let Some(open) = line.find('(') else { continue };
        let Some(eq) = line.rfind(" = ") else {
            continue;
        };
        let Some(head) = line[..eq].trim_end().strip_suffix(')') else {
            continue;
        };
        if head.len() < open {
            continue;
        }
        let ret = line[eq + 3..]
            .split_whitespace()
            .next()
            .and_then(|r| r.parse().ok());
        calls.push(Call {
            name: line[..open].to_string(),
            args: split_args(&head[open + 1..]),
            ret,
            line: line.clone(),
        });
    }
    calls
}

/// The path and flags an `open`/`openat` call opened (paths relative to
/// another directory fd are not resolved).
fn opened(call: &Call) -> Option<(PathBuf, String)> {
    match call.name.as_str() {
        "open" => Some((call.path_arg(0)?, call.args.get(1)?.clone())),
        "openat" if call.args.first().is_some_and(|d| d == "AT_FDCWD") => {
            Some((call.path_arg(1)?, call.args.get(2)?.clone()))
        }
        "openat" => {
            let path = call.path_arg(1)?;
            path.is_absolute()
                .then(|| (path, call.args.get(2).cloned().unwrap_or_default()))
        }
        _ => None,
    }
}

/// The fd a data-writing call writes to, and how many bytes it wrote.
fn data_write(call: &Call) -> Option<(i64, i64)> {
    let fd = match call.name.as_str() {
        "write" | "pwrite64" | "writev" | "pwritev" | "pwritev2" | "sendfile" => call.fd_arg(0),
        "copy_file_range" => call.fd_arg(2),
        _ => None,
    }?;
    Some((fd, call.ret?))
}

/// An open file description's history, from its open to its close.
#[derive(Debug)]
struct Opened {
    path: PathBuf,
    flags: String,
    fd: i64,
    open_at: usize,
    closed_at: Option<usize>,
}

/// Every successful open with its fd and the index of the close that ended
/// it, following fd reuse.
fn open_files(calls: &[Call]) -> Vec<Opened> {
    let mut files: Vec<Opened> = Vec::new();
    let mut live: HashMap<i64, usize> = HashMap::new();
    for (i, call) in calls.iter().enumerate() {
        if let Some((path, flags)) = opened(call)
            && let Some(fd) = call.ret.filter(|&fd| fd >= 0)
        {
            if let Some(previous) = live.insert(fd, files.len()) {
                files[previous].closed_at.get_or_insert(i);
            }
            files.push(Opened {
                path,
                flags,
                fd,
                open_at: i,
                closed_at: None,
            });
        } else if call.name == "close"
            && let Some(fd) = call.fd_arg(0)
            && let Some(index) = live.remove(&fd)
        {
            files[index].closed_at = Some(i);
        }
    }
    files
}

/// The calls named in `names` whose first argument is `file`'s fd, while it
/// is open (between its open and its close), with their indices.
fn calls_on<'a>(
    calls: &'a [Call],
    file: &Opened,
    names: &'a [&str],
) -> impl Iterator<Item = (usize, &'a Call)> + 'a {
    let (fd, from, to) = (
        file.fd,
        file.open_at + 1,
        file.closed_at.unwrap_or(calls.len()),
    );
    calls
        .iter()
        .enumerate()
        .take(to)
        .skip(from)
        .filter(move |(_, c)| names.contains(&c.name.as_str()) && c.fd_arg(0) == Some(fd))
}

/// The (from, to, flags) of a successful rename-family call.
fn renamed(call: &Call) -> Option<(PathBuf, PathBuf, String)> {
    if !call.ok() {
        return None;
    }
    match call.name.as_str() {
        "rename" => Some((call.path_arg(0)?, call.path_arg(1)?, String::new())),
        "renameat" => Some((call.path_arg(1)?, call.path_arg(3)?, String::new())),
        "renameat2" => Some((
            call.path_arg(1)?,
            call.path_arg(3)?,
            call.args.get(4).cloned().unwrap_or_default(),
        )),
        _ => None,
    }
}

fn same_dir(a: &Path, b: &Path) -> bool {
    let trim = |p: &Path| {
        let s = p.to_string_lossy().into_owned();
        s.strip_suffix("/.")
            .unwrap_or(&s)
            .trim_end_matches('/')
            .to_string()
    };
    trim(a) == trim(b)
}

/// Runs `ferry copy ARGS` under strace; returns the parsed calls.
fn trace_copy(sandbox: &Sandbox, args: &[&std::ffi::OsStr]) -> Vec<Call> {
    let log = sandbox
        .root()
        .join(format!("strace-{}.log", support::Rng::new().next_u64()));
    let trace = format!("trace={TRACED}");
    run_traced(
        &sandbox.copy_cmd(args),
        &["-f", "-qq", "-e", &trace, "-o"],
        &log,
    );
    let text = std::fs::read_to_string(&log).expect("read the strace log");
    let calls = parse_log(&text);
    assert!(!calls.is_empty(), "empty strace log");
    calls
}

/// Runs `ferry` (its program, arguments and environment) under `strace`
/// with `options`, the last of which (`-o`) takes `log`; panics unless it
/// succeeds.
fn run_traced(ferry: &Command, options: &[&str], log: &Path) {
    let mut cmd = Command::new("strace");
    cmd.args(options)
        .arg(log)
        .arg(ferry.get_program())
        .args(ferry.get_args());
    for (key, value) in ferry.get_envs() {
        match value {
            Some(value) => cmd.env(key, value),
            None => cmd.env_remove(key),
        };
    }
    let output = support::run_with_timeout(cmd, Duration::from_secs(60));
    assert!(
        output.status.success(),
        "strace {:?}: {}",
        ferry.get_args().collect::<Vec<_>>(),
        stderr_of(&output)
    );
}

/// Checks the protocol's order for one copy of `size` bytes to `dest`;
/// `no_clobber` says whether the rename must refuse to replace a file.
fn check_protocol(calls: &[Call], size: u64, dest: &Path, no_clobber: bool) {
    let dump = || {
        calls
            .iter()
            .map(|c| c.line.as_str())
            .filter(|l| !l.starts_with("write(2,"))
            .collect::<Vec<_>>()
            .join("\n")
    };
    let dir = dest.parent().unwrap();
    let files = open_files(calls);

    // 1. The temp: created exclusively, 0600, beside the destination.
    let temps: Vec<&Opened> = files
        .iter()
        .filter(|f| {
            f.path.parent() == Some(dir) && f.path.file_name().is_some_and(names::is_temp_name)
        })
        .collect();
    assert_eq!(temps.len(), 1, "one temp expected:\n{}", dump());
    let temp = temps[0];
    assert!(
        temp.flags.contains("O_CREAT") && temp.flags.contains("O_EXCL"),
        "temp not created exclusively: {}",
        calls[temp.open_at].line
    );
    assert!(
        calls[temp.open_at].args.iter().any(|a| a == "0600"),
        "temp not created with mode 0600: {}",
        calls[temp.open_at].line
    );
    assert_eq!(
        temp.path.parent(),
        Some(dir),
        "temp not beside the destination"
    );

    // 2. Locked before any data; all the data written through its fd.
    let first_lock = calls_on(calls, temp, &["flock"])
        .find(|(_, c)| c.args.get(1).is_some_and(|a| a.contains("LOCK_EX")) && c.ok())
        .map(|(i, _)| i)
        .unwrap_or_else(|| panic!("temp never locked exclusively:\n{}", dump()));
    let writes: Vec<(usize, i64)> = calls
        .iter()
        .enumerate()
        .skip(temp.open_at + 1)
        .take(temp.closed_at.unwrap_or(calls.len()) - temp.open_at - 1)
        .filter_map(|(i, c)| {
            data_write(c)
                .filter(|&(fd, _)| fd == temp.fd)
                .map(|(_, n)| (i, n))
        })
        .collect();
    let written: i64 = writes.iter().map(|&(_, n)| n).sum();
    assert_eq!(
        written as u64,
        size,
        "bytes written to the temp:\n{}",
        dump()
    );
    let first_write = writes.first().map(|w| w.0).unwrap_or(usize::MAX);
    let last_write = writes.last().map(|w| w.0).unwrap_or(0);
    assert!(
        first_lock < first_write,
        "data written before the temp was locked"
    );

    // 3. Metadata through the handle, then fsync after the last write.
    let fsync = calls_on(calls, temp, &["fsync"])
        .filter(|(i, c)| *i > last_write && c.ok())
        .map(|(i, _)| i)
        .last()
        .unwrap_or_else(|| panic!("no fsync of the temp after its last write:\n{}", dump()));
    for name in ["fchmod", "utimensat"] {
        let set = calls_on(calls, temp, &[name]).map(|(i, _)| i).last();
        assert!(
            set.is_some_and(|i| i > last_write && i < fsync),
            "{name} on the temp should come after the data and before its fsync:\n{}",
            dump()
        );
    }

    // 4. The rename of that temp onto the destination, after the fsync.
    let (rename_at, flags) = calls
        .iter()
        .enumerate()
        .find_map(|(i, c)| {
            renamed(c)
                .filter(|(from, to, _)| *from == temp.path && to == dest)
                .map(|(_, _, flags)| (i, flags))
        })
        .unwrap_or_else(|| panic!("no rename of the temp onto {dest:?}:\n{}", dump()));
    assert!(
        fsync < rename_at,
        "renamed before the temp's fsync:\n{}",
        dump()
    );
    let rename_call = &calls[rename_at];
    if no_clobber {
        assert!(
            rename_call.name == "renameat2" && flags.contains("RENAME_NOREPLACE"),
            "this policy must never overwrite, so the rename must be no-clobber: {}",
            rename_call.line
        );
    } else {
        assert!(
            !flags.contains("RENAME_NOREPLACE"),
            "overwrite must replace: {}",
            rename_call.line
        );
    }

    // The destination lock: where the policy may replace a file, taken
    // exclusively before the rename and unlinked before it is released. A
    // no-clobber rename is decided atomically by the kernel and needs none.
    if !no_clobber {
        let lock_file = files
            .iter()
            .find(|f| {
                f.path.parent() == Some(dir)
                    && f.path.file_name().is_some_and(names::is_lock_name)
                    && f.open_at < rename_at
                    && f.closed_at.is_none_or(|c| c > rename_at)
            })
            .unwrap_or_else(|| panic!("no destination lock open across the rename:\n{}", dump()));
        assert!(
            calls_on(calls, lock_file, &["flock"]).any(|(i, c)| i < rename_at
                && c.ok()
                && c.args.get(1).is_some_and(|a| a.contains("LOCK_EX"))),
            "the destination lock was not taken exclusively before the rename:\n{}",
            dump()
        );
        let unlink = calls.iter().enumerate().skip(rename_at).find(|(_, c)| {
            let path = match c.name.as_str() {
                "unlink" => c.path_arg(0),
                "unlinkat" => c.path_arg(1),
                _ => None,
            };
            c.ok() && path.as_deref() == Some(lock_file.path.as_path())
        });
        let unlink_at = unlink
            .map(|(i, _)| i)
            .unwrap_or_else(|| panic!("the destination lock was never unlinked:\n{}", dump()));
        assert!(
            lock_file.closed_at.is_none_or(|c| unlink_at < c),
            "the lock must be unlinked before it is closed (released):\n{}",
            dump()
        );
    }

    // 5. The destination directory fsynced after the rename.
    let dir_synced = files.iter().any(|f| {
        same_dir(&f.path, dir)
            && (f.flags.contains("O_DIRECTORY") || f.flags.contains("O_RDONLY"))
            && calls_on(calls, f, &["fsync"]).any(|(i, c)| i > rename_at && c.ok())
    });
    assert!(
        dir_synced,
        "no fsync of {dir:?} after the rename:\n{}",
        dump()
    );
}

#[test]
fn overwrite_follows_the_protocol() {
    if !strace_available() {
        eprintln!("skipped: strace not installed");
        return;
    }
    let sandbox = Sandbox::new();
    let data = pattern(3 * support::MIB + 123, 1);
    let src = sandbox.dir("src").join("data.bin");
    let out = sandbox.dir("out");
    let dest = out.join("data.bin");
    write(&src, &data);
    write(&dest, b"old content");
    let calls = trace_copy(
        &sandbox,
        &[
            "--on-conflict".as_ref(),
            "overwrite".as_ref(),
            src.as_os_str(),
            dest.as_os_str(),
        ],
    );
    check_protocol(&calls, data.len() as u64, &dest, false);
    assert_eq!(read(&dest), data);
    assert_eq!(support::names_in(&out), ["data.bin"]);
}

#[test]
fn fail_policy_follows_the_protocol_with_a_no_clobber_rename() {
    if !strace_available() {
        eprintln!("skipped: strace not installed");
        return;
    }
    let sandbox = Sandbox::new();
    let data = pattern(2 * support::MIB + 7, 2);
    let src = sandbox.dir("src").join("fresh.bin");
    let out = sandbox.dir("out");
    write(&src, &data);
    // DEST given as the folder: the destination is out/fresh.bin.
    let calls = trace_copy(&sandbox, &[src.as_os_str(), out.as_os_str()]);
    let dest = out.join("fresh.bin");
    check_protocol(&calls, data.len() as u64, &dest, true);
    assert_eq!(read(&dest), data);
    assert_eq!(support::names_in(&out), ["fresh.bin"]);
}

#[test]
fn rename_policy_follows_the_protocol_with_a_no_clobber_rename() {
    if !strace_available() {
        eprintln!("skipped: strace not installed");
        return;
    }
    let sandbox = Sandbox::new();
    let data = pattern(support::MIB + 1, 3);
    let src = sandbox.dir("src").join("doc.txt");
    let out = sandbox.dir("out");
    let dest = out.join("doc.txt");
    write(&src, &data);
    write(&dest, b"keep me");
    let calls = trace_copy(
        &sandbox,
        &[
            "--on-conflict".as_ref(),
            "rename".as_ref(),
            src.as_os_str(),
            dest.as_os_str(),
        ],
    );
    let renamed_dest = out.join("doc (1).txt");
    check_protocol(&calls, data.len() as u64, &renamed_dest, true);
    assert_eq!(read(&dest), b"keep me");
    assert_eq!(read(&renamed_dest), data);
}

/// The filesystem type `stat -f` names for `path` (`ext2/ext3`, `tmpfs`,
/// `overlayfs`, ...).
fn filesystem_type(path: &Path) -> String {
    let out = Command::new("stat")
        .args(["-f", "-c", "%T"])
        .arg(path)
        .output()
        .expect("run stat -f");
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// The calls of one orphan's removal, from the walk's open of `name` to
/// the close of that handle, in one thread's log.
fn removal_of<'a>(calls: &'a [Call], name: &str) -> Option<&'a [Call]> {
    let quoted = format!("\"{name}\"");
    let start = calls
        .iter()
        .position(|c| c.name == "openat" && c.args.get(1) == Some(&quoted) && c.ok())?;
    let fd = calls[start].ret?.to_string();
    let end = start
        + calls[start..]
            .iter()
            .position(|c| c.name == "close" && c.args.first() == Some(&fd))?;
    Some(&calls[start..=end])
}

/// Sweeps orphans in `root` under `strace -ff` (one log per thread) and
/// checks each removal's calls, in order: the open (no link followed, not
/// blocking), `flock(LOCK_EX|LOCK_NB)`, the status, the lease
/// (`F_SETLEASE F_WRLCK`), `renameat2(RENAME_NOREPLACE)` to a private
/// name, the status of what was moved, `F_GETLEASE`, the unlink of the
/// private name, the close (which lets the lease and the lock go). Where
/// the lease sees every user (`local`) no lock is asked about, and the
/// whole removal takes ten calls; elsewhere `F_OFD_GETLK` asks after the
/// lease and again just before the unlink.
fn check_sweep_protocol(sandbox: &Sandbox, root: &Path, local: bool) {
    let names: Vec<String> = (0..6)
        .map(|i| {
            let path = support::write_temp(root, &format!("orphan{i}.bin"), b"leftover");
            path.file_name().unwrap().to_string_lossy().into_owned()
        })
        .collect();
    support::age_past_threshold();
    let logs = sandbox.dir(&format!("strace-{}", support::Rng::new().next_u64()));
    let mut ferry = sandbox.ferry();
    ferry.args(["sweep", "--older-than", "1s"]).arg(root);
    run_traced(&ferry, &["-ff", "-qq", "-o"], &logs.join("t"));
    // One log per thread, whose lines carry no thread id: one is added.
    let threads: Vec<Vec<Call>> = std::fs::read_dir(&logs)
        .unwrap()
        .map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap())
        .map(|log| parse_log(&log.lines().map(|l| format!("0 {l}\n")).collect::<String>()))
        .collect();
    for name in &names {
        assert!(!root.join(name).exists(), "{name} was not swept");
        let calls = threads
            .iter()
            .find_map(|calls| removal_of(calls, name))
            .unwrap_or_else(|| panic!("no open of {name} in the strace logs"));
        let dump = || {
            calls
                .iter()
                .map(|c| c.line.as_str())
                .collect::<Vec<_>>()
                .join("\n")
        };
        let at = |what: &dyn Fn(&Call) -> bool| {
            calls
                .iter()
                .position(what)
                .unwrap_or_else(|| panic!("{name}: a call is missing:\n{}", dump()))
        };
        let fd = calls[0].ret.unwrap().to_string();
        let on_fd = |c: &Call| c.args.first() == Some(&fd);
        assert!(
            calls[0].args[2].contains("O_NOFOLLOW") && calls[0].args[2].contains("O_NONBLOCK"),
            "{}",
            dump()
        );
        let flock = at(&|c| c.name == "flock" && on_fd(c) && c.args[1] == "LOCK_EX|LOCK_NB");
        let lease =
            at(&|c| c.name == "fcntl" && on_fd(c) && c.line.contains("F_SETLEASE, F_WRLCK"));
        let aside = at(&|c| c.name == "renameat2" && c.args[1] == format!("\"{name}\""));
        let unlink = at(&|c| c.name == "unlinkat" && c.ok());
        assert!(
            flock < lease && lease < aside && aside < unlink,
            "{name}: out of order:\n{}",
            dump()
        );
        // Where the filesystem refuses leases, `/proc` is read instead.
        let leased = calls[lease].ok();
        assert!(
            leased || !local,
            "{name}: no lease on a local disk:\n{}",
            dump()
        );
        if leased {
            let check = at(&|c| c.name == "fcntl" && on_fd(c) && c.args[1] == "F_GETLEASE");
            assert!(aside < check && check < unlink, "{name}:\n{}", dump());
        }
        assert!(calls[aside].line.contains("RENAME_NOREPLACE"), "{}", dump());
        assert_eq!(
            unquote(&calls[unlink].args[1]),
            unquote(&calls[aside].args[3]),
            "{name}: the unlinked name is not the private one:\n{}",
            dump()
        );
        let lock_queries: Vec<usize> = (0..calls.len())
            .filter(|&i| calls[i].line.contains("F_OFD_GETLK"))
            .collect();
        if local {
            assert!(
                lock_queries.is_empty(),
                "{name}: locks asked about:\n{}",
                dump()
            );
            // (A debug build's standard library checks each handle it
            // closes with `F_GETFD`: not counted. A thread's first removal
            // also makes its private folder.)
            let made = calls.iter().filter(|c| !c.line.contains("F_GETFD")).count();
            let first = calls.iter().any(|c| c.name == "mkdirat");
            assert!(first || made <= 10, "{name}: {made} calls:\n{}", dump());
        } else if leased {
            assert_eq!(lock_queries.len(), 2, "{name}:\n{}", dump());
            assert!(
                lock_queries[1] > aside && lock_queries[1] < unlink,
                "{name}: no lock query just before the unlink:\n{}",
                dump()
            );
        } else {
            assert_eq!(lock_queries.len(), 1, "{name}:\n{}", dump());
            assert!(lock_queries[0] < aside, "{name}:\n{}", dump());
        }
    }
}

/// Local disk filesystems (as `stat -f` names them), whose leases see
/// every user of a file.
const LOCAL_FILESYSTEMS: [&str; 5] = ["ext2/ext3", "tmpfs", "xfs", "btrfs", "f2fs"];

#[test]
fn a_sweep_removes_each_orphan_under_its_lock_and_lease() {
    if !strace_available() {
        eprintln!("skipped: strace not installed");
        return;
    }
    let sandbox = Sandbox::new();
    let root = sandbox.dir("litter");
    let kind = filesystem_type(&root);
    check_sweep_protocol(&sandbox, &root, LOCAL_FILESYSTEMS.contains(&kind.as_str()));
    // A tmpfs too, wherever /dev/shm is one (also in containers).
    if filesystem_type(Path::new("/dev/shm")) == "tmpfs"
        && let Ok(shm) = tempfile::tempdir_in("/dev/shm")
    {
        check_sweep_protocol(&sandbox, shm.path(), true);
    } else {
        eprintln!("/dev/shm is not a tmpfs here: only {kind} was checked");
    }
}

#[test]
fn parser_handles_strace_shapes() {
    let log = r#"100 openat(AT_FDCWD, "/d/.x.0123456789abcdef.ferry-part", O_RDWR|O_CREAT|O_EXCL|O_CLOEXEC, 0600) = 4
100 write(4, "a,b\"c) = 1"..., 1048576 <unfinished ...>
101 close(9) = 0
100 <... write resumed>) = 1048576
100 renameat2(AT_FDCWD, "/d/a b", AT_FDCWD, "/d/\303\251", RENAME_NOREPLACE) = 0
100 fsync(4)                   = -1 EIO (Input/output error)
100 +++ exited with 0 +++"#;
    let calls = parse_log(log);
    assert_eq!(calls.len(), 5, "{calls:?}");
    assert_eq!(calls[0].ret, Some(4));
    assert_eq!(calls[0].args.len(), 4);
    // A call that was interrupted by another thread's line counts where it
    // completed.
    assert_eq!(calls[1].name, "close");
    assert_eq!(data_write(&calls[2]), Some((4, 1_048_576)));
    assert_eq!(calls[2].args.len(), 3, "{:?}", calls[2].args);
    let (from, to, flags) = renamed(&calls[3]).unwrap();
    assert_eq!(from, Path::new("/d/a b"));
    assert_eq!(to, Path::new("/d/é"));
    assert_eq!(flags, "RENAME_NOREPLACE");
    assert_eq!(calls[4].ret, Some(-1));
    assert!(!calls[4].ok());
}
