#!/usr/bin/env bash
# The committed rate of a 4-node testnet under `xinlian bench` (docs/BENCHMARKS.md): release
# builds in their own target directory, a fresh testnet in .xinlian-bench, a pressure run with SM2
# and one with Ed25519 senders, JSON reports in .xinlian-bench/*.json. TXS and CONCURRENCY set
# the size (10,000 and 512); extra arguments go to every `xinlian bench` run (e.g. `--mix trace`).
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${BENCH_TARGET_DIR:-$HOME/.cache/xinlian/target-release}"
cargo build --release -p xinlian-cli
xinlian="$CARGO_TARGET_DIR/release/xinlian"
dir=.xinlian-bench
"$xinlian" testnet down --dir "$dir" >/dev/null 2>&1 || true
rm -rf "$dir"
"$xinlian" testnet up --nodes 4 --dir "$dir" --http-port 18545 --detach
trap '"$xinlian" testnet down --dir "$dir" >/dev/null 2>&1 || true' EXIT
for suite in gm intl; do
  "$xinlian" bench --testnet "$dir" --suite "$suite" --txs "${TXS:-10000}" \
    --concurrency "${CONCURRENCY:-512}" --json "$@" \
    | tee "$dir/pressure-$suite.json"
done
