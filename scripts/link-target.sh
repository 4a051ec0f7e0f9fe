#!/usr/bin/env bash
# Points ./target at the shared target directory ($CARGO_TARGET_DIR, ~/.cache/xinlian/target by
# default), so plain `cargo run -p xinlian-sdk --example ...` in the clone reuses what `make`
# built instead of compiling RocksDB and the workspace a second time into ./target. Cargo's
# config cannot name a directory relative to $HOME, hence a link. An existing ./target directory
# (a plain cargo build made before) is left alone, with a hint.
set -euo pipefail
cd "$(dirname "$0")/.."
shared="${CARGO_TARGET_DIR:-$HOME/.cache/xinlian/target}"
mkdir -p "$shared"
if [ -L target ]; then
  [ "$(readlink target)" = "$shared" ] || ln -sfn "$shared" target
elif [ -e target ]; then
  echo "note: ./target is a directory of its own; remove it so plain cargo shares $shared" >&2
else
  ln -s "$shared" target
fi
