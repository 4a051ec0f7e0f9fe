#!/usr/bin/env bash
# The committed rate of a 4-node testnet under `xinlian bench`, against its verification bound
# (docs/BENCHMARKS.md). Release builds in their own target directory; criterion measures
# single-core SM2 and Ed25519 verification, then a fresh testnet in .xinlian-bench takes a
# pressure run with SM2 senders and one with Ed25519 senders (JSON reports in
# .xinlian-bench/*.json), and the table of rates against the bound is printed. TXS and
# CONCURRENCY set the size (12,000 and 2,048); extra arguments go to every `xinlian bench` run
# (e.g. `--mix trace,license,auth`).
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
for suite in gm intl; do
  "$xinlian" bench --testnet "$dir" --suite "$suite" --txs "${TXS:-12000}" \
    --concurrency "${CONCURRENCY:-2048}" --json "$@" > "$dir/pressure-$suite.json"
done
echo
python3 scripts/bench_bound.py "$CARGO_TARGET_DIR/criterion" 4 "$dir"/pressure-gm.json "$dir"/pressure-intl.json
