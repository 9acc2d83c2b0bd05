#!/usr/bin/env bash
# Ferry's benchmark: Ferry against cp, rsync, dd and find, in the same run,
# alternating, with medians, spreads and ratios.
#
#   scripts/bench.sh                 # everything (about 10 minutes)
#   BENCH_ROUNDS=3 scripts/bench.sh  # fewer rounds
#   BENCH_CASES="big small" scripts/bench.sh   # some cases: big small sweep memory
#
# Needs hyperfine, rsync, GNU time and python3 (Debian: apt-get install -y
# hyperfine rsync time python3). Fixtures live in $BENCH_DIR (default
# target/bench, on the same filesystem as the repository). Outputs of the
# many-small-files case are moved aside and deleted only at the end: on
# some disks, creating many files soon after deleting many is very slow
# (see the README's Performance section).
set -euo pipefail
cd "$(dirname "$0")/.."

ROUNDS=${BENCH_ROUNDS:-5}
CASES=${BENCH_CASES:-"big small sweep memory"}
BENCH_DIR=${BENCH_DIR:-$PWD/target/bench}
for tool in hyperfine rsync python3; do
  command -v "$tool" >/dev/null || { echo "bench: $tool is missing (apt-get install -y hyperfine rsync time python3)" >&2; exit 2; }
done
[ -x /usr/bin/time ] || { echo "bench: /usr/bin/time is missing (apt-get install -y time)" >&2; exit 2; }

cargo build --release --quiet
FERRY=$PWD/target/release/ferry
export FERRY_DATA_DIR=$BENCH_DIR/data FERRY_CONFIG_DIR=$BENCH_DIR/config
mkdir -p "$BENCH_DIR/results" "$BENCH_DIR/trash" "$FERRY_DATA_DIR"
RESULTS=$BENCH_DIR/results
rm -f "$RESULTS"/*.json "$RESULTS"/memory.txt

# run_case NAME PREPARE CMD... : ROUNDS rounds, each running every command
# once in turn (so slow drifts hit all of them alike).
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
  run_case big "bash -c 'rm -rf $out; mkdir -p $out; cat $big >/dev/null'" \
    "$FERRY copy $big $out/ferry.bin" \
    "bash -c 'cp $big $out/cp.bin && sync $out/cp.bin'" \
    "rsync --fsync $big $out/rsync.bin" \
    "dd if=$big of=$out/dd.bin bs=1M conv=fsync status=none"
  rm -rf "$out"
fi

if [[ " $CASES " == *" small "* ]]; then
  echo "== 10,000 files of 4 KiB in 100 folders" >&2
  small=$BENCH_DIR/small
  if [ ! -d "$small" ]; then
    python3 - "$small" <<'PY'
import os, sys
root = sys.argv[1]
for d in range(100):
    os.makedirs(f"{root}/d{d:03}")
    for f in range(100):
        with open(f"{root}/d{d:03}/f{f:03}", "wb") as fh:
            fh.write(os.urandom(4096))
PY
    sync; sleep 5
  fi
  out=$BENCH_DIR/small-out
  # Move earlier outputs aside (never delete between runs).
  park="bash -c 'mkdir -p $out; mv $out $BENCH_DIR/trash/\$(date +%s%N); mkdir -p $out'"
  run_case small "$park" \
    "$FERRY copy $small $out/ferry" \
    "rsync -a --fsync $small/ $out/rsync/" \
    "bash -c 'cp -r $small $out/cpsync && sync -f $out/cpsync'" \
    "cp -r $small $out/cp"
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

python3 - "$RESULTS" "$ROUNDS" <<'PY'
import glob, json, os, re, statistics, sys
results, rounds = sys.argv[1], int(sys.argv[2])
labels = {
    "big": "1 GiB file (cached source)",
    "small": "10,000 × 4 KiB in 100 folders",
    "scan": "scan 100,000 entries",
    "sweep": "sweep 10,000 orphans",
}
def short(cmd):
    cmd = re.sub(r"/\S*/release/ferry", "ferry", cmd)
    cmd = re.sub(r"/\S+/", "", cmd)
    if cmd.startswith("bash -c '"):
        cmd = cmd[len("bash -c '"):].rstrip("'")
    return cmd
print("| case | command | median | min – max | Ferry ÷ this |")
print("|---|---|---:|---:|---:|")
for case in ["big", "small", "scan", "sweep"]:
    files = sorted(glob.glob(f"{results}/{case}-*.json"))
    if not files:
        continue
    times = {}
    for f in files:
        for r in json.load(open(f))["results"]:
            times.setdefault(r["command"], []).extend(r["times"])
    commands = list(times)
    ferry = statistics.median(times[commands[0]])
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
print(f"\n{rounds} rounds per case, commands alternating; times are wall clock.")
PY

echo "bench: removing parked outputs" >&2
rm -rf "$BENCH_DIR/trash"
