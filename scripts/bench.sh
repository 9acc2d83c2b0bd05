#!/usr/bin/env bash
# Ferry's benchmark: Ferry against cp, mv, rsync, xcp, dd and find, in the
# same run, alternating, with medians, spreads and ratios.
#
#   scripts/bench.sh                 # everything (about 25 minutes)
#   BENCH_ROUNDS=3 scripts/bench.sh  # fewer rounds
#   BENCH_CASES="small moves" scripts/bench.sh
#       cases: big small moves links sweep flat memory million
#       (million: also its first 10,000 files, for the time per file)
#
# Needs hyperfine, rsync, GNU time and python3 (Debian: apt-get install -y
# hyperfine rsync time python3); xcp (cargo install xcp) joins as a peer
# where it is installed. Fixtures live in $BENCH_DIR (default
# target/bench, on the same filesystem as the repository); the move across
# filesystems starts from /dev/shm (a tmpfs). Outputs are moved aside and
# deleted only at the end of their case: on some disks, creating many
# files soon after deleting many is very slow (see the README's
# Performance section). The flat and million cases need about 12 GB and
# 9 GB of free space for their outputs.
set -euo pipefail
cd "$(dirname "$0")/.."

ROUNDS=${BENCH_ROUNDS:-7}
CASES=${BENCH_CASES:-"big small moves links sweep flat memory million"}
BENCH_DIR=${BENCH_DIR:-$PWD/target/bench}
for tool in hyperfine rsync python3; do
  command -v "$tool" >/dev/null || { echo "bench: $tool is missing (apt-get install -y hyperfine rsync time python3)" >&2; exit 2; }
done
[ -x /usr/bin/time ] || { echo "bench: /usr/bin/time is missing (apt-get install -y time)" >&2; exit 2; }
XCP=$(command -v xcp || true)
[ -n "$XCP" ] || echo "bench: xcp is not installed (cargo install xcp); it is left out" >&2

cargo build --release --quiet
FERRY=$PWD/target/release/ferry
export FERRY_DATA_DIR=$BENCH_DIR/data FERRY_CONFIG_DIR=$BENCH_DIR/config
mkdir -p "$BENCH_DIR/results" "$BENCH_DIR/trash" "$FERRY_DATA_DIR"
RESULTS=$BENCH_DIR/results
rm -f "$RESULTS"/*.json "$RESULTS"/*.txt

# run_case NAME PREPARE CMD... : ROUNDS rounds, each running every command
# once in turn (so slow drifts hit all of them alike).
# make_files ROOT FILES FOLDERS MAXSIZE: FILES files spread over FOLDERS
# folders (none: all in ROOT), sizes 0..MAXSIZE (fixed MAXSIZE if negative).
make_files() {
  python3 - "$@" <<'PY'
import os, sys
root, n, folders, size = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
data = os.urandom(max(abs(size), 1))
per = n // max(folders, 1)
for f in range(max(folders, 1)):
    d = f"{root}/d{f:04}" if folders else root
    os.makedirs(d, exist_ok=True)
    for i in range(per):
        length = -size if size < 0 else (i * 7919 + f) % (size + 1)
        fd = os.open(f"{d}/f{i:06}", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        os.write(fd, data[:length])
        os.close(fd)
PY
}

# xcp_peer CMD: sets the array `peer` to (CMD) if xcp is installed, else ().
xcp_peer() { peer=(); if [ -n "$XCP" ]; then peer=("$1"); fi; }

# park DIR: a --prepare command moving DIR aside and making it again.
park() { echo "bash -c 'mkdir -p $1; mv $1 $BENCH_DIR/trash/\$(date +%s%N); mkdir -p $1'"; }

# settle: deletes parked outputs, then waits for the disk to recover.
settle() {
  rm -rf "$BENCH_DIR/trash"; mkdir -p "$BENCH_DIR/trash"; sync
  echo "bench: waiting ${BENCH_SETTLE:-120} s after a mass delete" >&2
  sleep "${BENCH_SETTLE:-120}"
}

run_case() {
  local name=$1 prepare=$2; shift 2
  for round in $(seq 1 "$ROUNDS"); do
    hyperfine -N --runs 1 --style none --prepare "$prepare" \
      --export-json "$RESULTS/$name-$round.json" "$@" >/dev/null
  done
}

if [[ " $CASES " == *" big "* ]]; then
  echo "== 1 GiB file, source in the page cache" >&2
  big=$BENCH_DIR/big.bin
  [ -f "$big" ] || head -c 1073741824 /dev/urandom >"$big"
  cat "$big" >/dev/null
  out=$BENCH_DIR/big-out
  xcp_peer "$XCP --fsync $big $out/xcp.bin"
  run_case big "bash -c 'rm -rf $out; mkdir -p $out; cat $big >/dev/null'" \
    "$FERRY copy $big $out/ferry.bin" \
    "bash -c 'cp $big $out/cp.bin && sync $out/cp.bin'" \
    "rsync --fsync $big $out/rsync.bin" \
    "dd if=$big of=$out/dd.bin bs=1M conv=fsync status=none" \
    "${peer[@]}"
  rm -rf "$out"
fi

if [[ " $CASES " == *" small "* ]]; then
  echo "== 10,000 files of 4 KiB in 100 folders" >&2
  small=$BENCH_DIR/small
  if [ ! -d "$small" ]; then
    make_files "$small" 10000 100 -4096
    sync; sleep 5
  fi
  out=$BENCH_DIR/small-out
  # Move earlier outputs aside (never delete between runs).
  xcp_peer "bash -c '$XCP -r $small $out/xcp && sync -f $out/xcp'"
  run_case small "$(park $out)" \
    "$FERRY copy $small $out/ferry" \
    "rsync -a --fsync $small/ $out/rsync/" \
    "bash -c 'cp -r $small $out/cpsync && sync -f $out/cpsync'" \
    "cp -r $small $out/cp" \
    "${peer[@]}"
fi

if [[ " $CASES " == *" moves "* ]]; then
  echo "== moves: 3,000 files in 30 folders" >&2
  tree=$BENCH_DIR/move-tree
  [ -d "$tree" ] || make_files "$tree" 3000 30 -4096
  m=$BENCH_DIR/move
  # The source is a fresh copy before every command (not timed).
  fresh="bash -c 'mkdir -p $m; mv $m $BENCH_DIR/trash/\$(date +%s%N); mkdir -p $m/dst; cp -r $tree $m/src; sync -f $m'"
  run_case move-whole "$fresh" \
    "$FERRY move $m/src $m/dst/" \
    "bash -c 'mv $m/src $m/dst/ && sync -f $m'" \
    "bash -c 'cp -r $m/src $m/dst/ && sync -f $m'"
  # Merging into a folder that exists: one rename per entry.
  merge="bash -c 'mkdir -p $m; mv $m $BENCH_DIR/trash/\$(date +%s%N); mkdir -p $m/dst/src; cp -r $tree $m/src; sync -f $m'"
  run_case move-merge "$merge" \
    "$FERRY move $m/src $m/dst/" \
    "bash -c 'mv $m/src/* $m/dst/src/ && sync -f $m'"
  # From a tmpfs to the disk: a copy, then the sources removed.
  shm=/dev/shm/ferry-bench-src
  cross="bash -c 'mkdir -p $m; mv $m $BENCH_DIR/trash/\$(date +%s%N); mkdir -p $m/dst; rm -rf $shm; cp -r $tree $shm'"
  run_case move-cross "$cross" \
    "$FERRY move $shm $m/dst/" \
    "bash -c 'mv $shm $m/dst/ && sync -f $m'"
  rm -rf "$shm"
fi

if [[ " $CASES " == *" links "* ]]; then
  echo "== a tree with links: /usr/lib/x86_64-linux-gnu" >&2
  lib=$BENCH_DIR/lib-tree
  [ -d "$lib" ] || cp -a /usr/lib/x86_64-linux-gnu "$lib"
  out=$BENCH_DIR/lib-out
  # Outputs are large (700 MB here): removed before each round.
  xcp_peer "bash -c '$XCP -r $lib $out/xcp && sync -f $out/xcp'"
  run_case links "bash -c 'rm -rf $out; mkdir -p $out; sync -f $BENCH_DIR'" \
    "$FERRY copy $lib $out/ferry" \
    "bash -c 'cp -a $lib $out/cpa && sync -f $out/cpa'" \
    "rsync -a --fsync $lib/ $out/rsync/" \
    "${peer[@]}"
  rm -rf "$out"
fi

if [[ " $CASES " == *" sweep "* ]]; then
  echo "== sweep: 100,000 entries, 10,000 orphans" >&2
  tree=$BENCH_DIR/sweep-tree
  cat >"$BENCH_DIR/make_orphans.py" <<'PY'
import os, sys
root = sys.argv[1]
for i in range(10000):
    p = f"{root}/d{i % 1000:03}/.orphan{i:05}.bin.0123456789abcdef.ferry-part"
    if not os.path.exists(p):
        open(p, "wb").close()
PY
  make_orphans="python3 $BENCH_DIR/make_orphans.py $tree"
  if [ ! -d "$tree" ]; then
    python3 - "$tree" <<'PY'
import os, sys
root = sys.argv[1]
for d in range(1000):
    os.makedirs(f"{root}/d{d:03}")
    for f in range(89):
        open(f"{root}/d{d:03}/file{f:03}.dat", "wb").close()
PY
  fi
  $make_orphans; sleep 2
  run_case scan "true" \
    "$FERRY scan --older-than 1s --json $tree" \
    "find $tree -name '*.ferry-part'"
  run_case sweep "bash -c '$make_orphans && sleep 1.2'" \
    "$FERRY sweep --older-than 1s --json $tree" \
    "find $tree -name '*.ferry-part' -delete"
fi

if [[ " $CASES " == *" memory "* ]]; then
  echo "== peak memory, 4 GiB copy" >&2
  big=$BENCH_DIR/big.bin
  [ -f "$big" ] || head -c 1073741824 /dev/urandom >"$big"
  huge=$BENCH_DIR/huge.bin
  [ -f "$huge" ] || cat "$big" "$big" "$big" "$big" >"$huge"
  rm -f "$BENCH_DIR/huge-out.bin"
  /usr/bin/time -v "$FERRY" copy "$huge" "$BENCH_DIR/huge-out.bin" 2>"$RESULTS/memory.txt" >/dev/null
  rm -f "$BENCH_DIR/huge-out.bin"
fi

if [[ " $CASES " == *" flat "* ]]; then
  echo "== 200,000 files of 0-1 KiB in one folder" >&2
  flat=$BENCH_DIR/flat
  [ -d "$flat" ] || { make_files "$flat" 200000 0 1024; sync; sleep 30; }
  out=$BENCH_DIR/flat-out
  run_case flat "$(park $out)" \
    "/usr/bin/time -f %M -a -o $RESULTS/rss-flat.txt $FERRY copy $flat $out/ferry" \
    "bash -c 'cp -a $flat $out/cpa && sync -f $out/cpa'"
  settle
fi

if [[ " $CASES " == *" million "* ]]; then
  echo "== 1,000,000 files of 0-1 KiB in 1,000 folders (one run)" >&2
  million=$BENCH_DIR/million
  [ -d "$million" ] || { make_files "$million" 1000000 1000 1024; sync; sleep 60; }
  # Per file, the million is compared with 10,000 files of the same
  # shape (its first 10 folders), copied in the same session.
  tenk=$BENCH_DIR/tenk-out
  first10=$(printf "$million/d%04d " 0 1 2 3 4 5 6 7 8 9)
  run_case tenk "bash -c 'mkdir -p $tenk; mv $tenk $BENCH_DIR/trash/\$(date +%s%N); mkdir -p $tenk/ferry $tenk/cpsync'" \
    "$FERRY copy $first10 $tenk/ferry/" \
    "bash -c 'cp -r $first10 $tenk/cpsync/ && sync -f $tenk/cpsync'"
  out=$BENCH_DIR/million-out
  rm -rf "$out"; mkdir -p "$out"
  # Sources in the page cache, as the 10,000 are after their rounds: the
  # per-file comparison is of Ferry's work, not of cold reads.
  find "$million" -type f -print0 | xargs -0 cat >/dev/null
  /usr/bin/time -f "%e %M" -o "$RESULTS/million-copy.txt" "$FERRY" copy "$million" "$out/copy" >/dev/null 2>&1
  # Killed part-way, then resumed.
  "$FERRY" copy "$million" "$out/resumed" >/dev/null 2>&1 &
  pid=$!
  sleep "${BENCH_KILL_AFTER:-20}"
  kill -9 "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  /usr/bin/time -f "%e %M" -o "$RESULTS/million-resume.txt" "$FERRY" resume >/dev/null 2>&1
  copied=$(find "$out/resumed" -type f | wc -l)
  echo "$copied" >"$RESULTS/million-resumed-files.txt"
  mv "$out" "$BENCH_DIR/trash/million"
  settle
fi

python3 - "$RESULTS" "$ROUNDS" <<'PY'
import glob, json, os, re, statistics, sys
results, rounds = sys.argv[1], int(sys.argv[2])
labels = {
    "big": "1 GiB file (cached source)",
    "small": "10,000 × 4 KiB in 100 folders",
    "move-whole": "move 3,000 files, destination name free",
    "move-merge": "move 3,000 files into an existing folder",
    "move-cross": "move 3,000 files tmpfs → disk",
    "links": "/usr/lib/x86_64-linux-gnu (2.5k files, 545 links)",
    "scan": "scan 100,000 entries",
    "sweep": "sweep 10,000 orphans",
    "flat": "200,000 files of 0–1 KiB in one folder",
    "tenk": "10,000 files of 0–1 KiB in 10 folders",
}
def short(cmd):
    cmd = re.sub(r"^/usr/bin/time( \S+){5} ", "", cmd)
    cmd = re.sub(r"/\S*/release/ferry", "ferry", cmd)
    cmd = re.sub(r"/\S*/bin/xcp", "xcp", cmd)
    # Paths shown by their last part ("small/" stays "small/").
    cmd = re.sub(r"(?:/[^\s/']+)+/([^\s/']+/?)", r"\1", cmd)
    if cmd.startswith("bash -c '"):
        cmd = cmd[len("bash -c '"):].rstrip("'")
    return cmd
print("| case | command | median | min – max | Ferry ÷ this |")
print("|---|---|---:|---:|---:|")
medians = {}
for case in ["big", "small", "move-whole", "move-merge", "move-cross", "links", "scan", "sweep", "flat", "tenk"]:
    files = sorted(glob.glob(f"{results}/{case}-*.json"))
    if not files:
        continue
    times = {}
    for f in files:
        for r in json.load(open(f))["results"]:
            times.setdefault(r["command"], []).extend(r["times"])
    commands = list(times)
    ferry = statistics.median(times[commands[0]])
    medians[case] = ferry
    for cmd in commands:
        t = times[cmd]
        med = statistics.median(t)
        ratio = "—" if cmd == commands[0] else f"{ferry / med:.2f}×"
        print(f"| {labels[case]} | `{short(cmd)}` | {med:.3f} s | {min(t):.3f} – {max(t):.3f} s | {ratio} |")
mem = os.path.join(results, "memory.txt")
if os.path.exists(mem):
    text = open(mem).read()
    kb = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", text).group(1))
    wall = re.search(r"Elapsed \(wall clock\) time.*: (\S+)", text).group(1)
    print(f"| 4 GiB copy | `ferry copy` peak memory | {kb / 1024:.1f} MiB RSS | wall {wall} | |")
rss = os.path.join(results, "rss-flat.txt")
if os.path.exists(rss):
    kbs = [int(l) for l in open(rss) if l.strip().isdigit()]
    print(f"| 200,000 files in one folder | `ferry copy` peak memory | {statistics.median(kbs) / 1024:.1f} MiB RSS | {min(kbs) / 1024:.1f} – {max(kbs) / 1024:.1f} MiB | |")
for name, what in [("million-copy", "copy"), ("million-resume", "kill after a while, resume")]:
    path = os.path.join(results, f"{name}.txt")
    if not os.path.exists(path):
        continue
    wall, kb = open(path).read().split()[-2:]
    extra = ""
    if name == "million-copy" and "tenk" in medians:
        per_1m = float(wall) / 1_000_000
        per_10k = medians["tenk"] / 10_000
        extra = f"{per_1m * 1e6:.1f} µs per file ({per_1m / per_10k:.2f}× that of its first 10,000)"
    if name == "million-resume":
        files = open(os.path.join(results, "million-resumed-files.txt")).read().strip()
        extra = f"{files} files at the end"
    print(f"| 1,000,000 files of 0–1 KiB | `ferry` {what} | {float(wall):.1f} s, {int(kb) / 1024:.1f} MiB RSS | {extra} | |")
print(f"\n{rounds} rounds per case (the million-file case: one run), commands alternating; times are wall clock.")
PY

echo "bench: removing parked outputs" >&2
rm -rf "$BENCH_DIR/trash"
