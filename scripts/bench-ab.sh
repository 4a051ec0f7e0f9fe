#!/usr/bin/env bash
# Two builds of `xinlian` against each other on this machine, interleaved run by run so both see
# the same noise (docs/BENCHMARKS.md, "The streaming transport"):
#   scripts/bench-ab.sh /path/to/xinlian-before /path/to/xinlian-after
# For each of RUNS runs (default 3) and each build: a fresh 4-node testnet, one pressure run per
# suite (TXS, CONCURRENCY as in bench-load.sh), the nodes' "at capacity" log lines and drop
# counters, `testnet down`. Reports go to OUT (default .xinlian-ab); the table of each build,
# with the median, is printed against the criterion verify rates of the release target.
set -euo pipefail
cd "$(dirname "$0")/.."
[ $# -eq 2 ] || { echo "usage: $0 XINLIAN_A XINLIAN_B" >&2; exit 2; }
out=${OUT:-.xinlian-ab}
rm -rf "$out"; mkdir -p "$out"
declare -A bins=([a]="$1" [b]="$2")
for run in $(seq "${RUNS:-3}"); do
  for name in a b; do
    bin=${bins[$name]}
    dir="$out/tn-$name-$run"
    "$bin" testnet up --nodes 4 --dir "$dir" --http-port 18545 --detach >/dev/null
    for suite in gm intl; do
      "$bin" bench --testnet "$dir" --suite "$suite" --txs "${TXS:-12000}" \
        --concurrency "${CONCURRENCY:-2048}" --json > "$out/$name-$suite-$run.json"
      { grep -c "at capacity" "$dir"/node*/node.log || true; } > "$out/$name-$suite-$run.capacity"
      for i in 0 1 2 3; do
        curl -s "http://127.0.0.1:$((18545 + i))/metrics" | grep -E '^xinlian_peer_(messages_dropped|stream_waits)' || true
      done > "$out/$name-$suite-$run.metrics"
    done
    "$bin" testnet down --dir "$dir" >/dev/null
  done
done
criterion=${CRITERION_DIR:-$HOME/.cache/xinlian/target-release/criterion}
for name in a b; do
  echo "== $name: ${bins[$name]} (at capacity: $(cat "$out"/$name-*.capacity | awk -F: '{s += $NF} END {print s + 0}'))"
  python3 scripts/bench_bound.py "$criterion" 4 "$out"/$name-gm-*.json "$out"/$name-intl-*.json
done
