#!/usr/bin/env bash
# The coverage-guided fuzz targets (fuzz/), each for FUZZ_SECONDS (default 300; CI runs 30):
# sm2_verify (our SM2 verdict against the sm2 crate's), decode (transactions and blocks in the
# canonical encoding, transactions and request bodies in JSON) and parse_keys (key and signature
# texts, key files, DER signatures). cargo fuzz on the stable toolchain without a sanitizer: the
# code under test has no `unsafe`, and what the targets look for (a wrong verdict, a second
# encoding, a panic) panics. The corpora grow in ~/.cache/xinlian/fuzz-corpus across runs, from
# the seeds in fuzz/seeds; a failing input is left in fuzz/artifacts/<target>/ and
# `cargo fuzz run -s none <target> <file>` replays it.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-${FUZZ_SECONDS:-300}}"
if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "installing cargo-fuzz (crates.io)"
    cargo install cargo-fuzz --locked --version 0.13.2
fi
export CARGO_TARGET_DIR="$HOME/.cache/xinlian/target-fuzz"
# Each target in turn for the same time; a failure stops the run with the failing input saved.
for target in sm2_verify decode parse_keys; do
    corpus="$HOME/.cache/xinlian/fuzz-corpus/$target"
    mkdir -p "$corpus"
    echo "== $target for $seconds s"
    cargo fuzz run -s none "$target" "$corpus" "fuzz/seeds/$target" -- \
        -max_total_time="$seconds" -max_len=4096 -print_final_stats=1 2>&1 |
        grep -E '^(Done|stat::number_of_executed_units|stat::new_units_added)|panicked|SUMMARY|Test unit written|ERROR'
done
