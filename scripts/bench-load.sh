#!/usr/bin/env bash
# The committed rate of a 4-node testnet under `xinlian bench`, against its verification bound
# (docs/BENCHMARKS.md). Release builds in their own target directory; criterion measures
# single-core SM2 and Ed25519 verification, then a fresh testnet in .xinlian-bench takes RUNS
# pressure runs (default 3) with SM2 senders and as many with Ed25519 senders (JSON reports in
# .xinlian-bench/*.json), and the table of rates against the bound is printed, each run and the
# median. TXS and CONCURRENCY set the size (12,000 and 2,048); extra arguments go to every
# `xinlian bench` run (e.g. `--mix trace,license,auth`).
#
# On a bigger machine, pin the nodes and the load generator to disjoint CPU sets:
#   NODE_CPUS=0-11 BENCH_CPUS=12-15 scripts/bench-load.sh
# splits NODE_CPUS evenly among the four nodes (here 3 cores each, like four 3-core machines),
# runs `xinlian bench` on BENCH_CPUS, and computes the bound over NODE_CPUS only. Growing
# NODE_CPUS (0-7, 0-15 with BENCH_CPUS elsewhere, ...) shows how the rate grows with cores.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${BENCH_TARGET_DIR:-$HOME/.cache/xinlian/target-release}"
cargo build --release -p xinlian-cli
cargo bench -p xinlian-benches --bench crypto -- '^(sm2|ed25519)/verify$'
xinlian="$CARGO_TARGET_DIR/release/xinlian"
dir=.xinlian-bench
"$xinlian" testnet down --dir "$dir" >/dev/null 2>&1 || true
rm -rf "$dir"
"$xinlian" testnet up --nodes 4 --dir "$dir" --http-port 18545 --detach
trap '"$xinlian" testnet down --dir "$dir" >/dev/null 2>&1 || true' EXIT
bench=("$xinlian")
if [ -n "${NODE_CPUS:-}" ]; then
  # Node i gets the i-th quarter of NODE_CPUS; every thread of its process is moved there.
  mapfile -t node_sets < <(python3 -c '
import sys
cpus = []
for part in sys.argv[1].split(","):
    a, _, b = part.partition("-")
    cpus += range(int(a), int(b or a) + 1)
share = len(cpus) // 4
if share == 0:
    sys.exit("NODE_CPUS needs at least 4 CPUs")
for i in range(4):
    print(",".join(map(str, cpus[i * share:(i + 1) * share])))
' "$NODE_CPUS")
  for i in 0 1 2 3; do
    pid=$("$xinlian" testnet status --dir "$dir" | awk -v n="node$i" '$1 == n { for (f = 1; f < NF; f++) if ($f == "pid") print $(f + 1) }')
    taskset -a -p -c "${node_sets[$i]}" "$pid" >/dev/null
    echo "node$i (pid $pid) on CPUs ${node_sets[$i]}"
  done
  # The bound counts the nodes' CPUs only.
  CORES=$(printf '%s\n' "${node_sets[@]}" | tr ',' '\n' | grep -c .)
  export CORES
fi
if [ -n "${BENCH_CPUS:-}" ]; then
  bench=(taskset -c "$BENCH_CPUS" "$xinlian")
  echo "xinlian bench on CPUs $BENCH_CPUS"
fi
reports=()
for suite in gm intl; do
  for run in $(seq "${RUNS:-3}"); do
    "${bench[@]}" bench --testnet "$dir" --suite "$suite" --txs "${TXS:-12000}" \
      --concurrency "${CONCURRENCY:-2048}" --json "$@" > "$dir/pressure-$suite-$run.json"
    reports+=("$dir/pressure-$suite-$run.json")
  done
done
echo
python3 scripts/bench_bound.py "$CARGO_TARGET_DIR/criterion" 4 "${reports[@]}"
