#!/usr/bin/env bash
# The coverage-guided fuzz target of our SM2 verifier against the sm2 crate's (fuzz/), for
# FUZZ_SECONDS (default 300; CI runs 60). cargo fuzz on the stable toolchain without a sanitizer:
# the code under test has no `unsafe`, and what the target looks for is a wrong verdict, which
# panics. The corpus grows in ~/.cache/xinlian/fuzz-corpus across runs, from the seeds in
# fuzz/seeds (one per kind of case); a failing input is left in fuzz/artifacts/sm2_verify/ and
# `cargo fuzz run -s none sm2_verify <file>` replays it.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-${FUZZ_SECONDS:-300}}"
if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "installing cargo-fuzz (crates.io)"
    cargo install cargo-fuzz --locked --version 0.13.2
fi
export CARGO_TARGET_DIR="$HOME/.cache/xinlian/target-fuzz"
corpus="$HOME/.cache/xinlian/fuzz-corpus/sm2_verify"
mkdir -p "$corpus"

cargo fuzz run -s none sm2_verify "$corpus" fuzz/seeds/sm2_verify -- \
    -max_total_time="$seconds" -max_len=1024 -print_final_stats=1
