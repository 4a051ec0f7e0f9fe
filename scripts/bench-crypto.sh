#!/usr/bin/env bash
# The signature benchmarks and OpenSSL on the same machine in the same run (docs/BENCHMARKS.md):
# criterion's benches of the hot path, then `openssl speed` for SM2 and Ed25519, then a table of
# medians, rates and the ratios between them. Extra arguments go to criterion
# (e.g. `--measurement-time 10`).
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/xinlian/target}"
seconds="${OPENSSL_SECONDS:-5}"
openssl_out=$(mktemp)
trap 'rm -f "$openssl_out"' EXIT

cargo bench -p xinlian-benches --bench crypto -- "$@"
openssl version | tee -a "$openssl_out"
openssl speed -seconds "$seconds" sm2 ed25519 2>/dev/null | tee -a "$openssl_out"
echo
echo "Machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
python3 scripts/bench_report.py "$CARGO_TARGET_DIR/criterion" "$openssl_out"
