#!/usr/bin/env bash
# schemathesis against a one-node testnet's own /openapi.json (part of `make test`): every
# operation, with generated valid and invalid requests, every check but positive_data_acceptance
# (a schema cannot say "a point on the SM2 curve" or "a member's key", so requests that look
# valid are refused by design), seeded so a run can be repeated. Any failure (a 5xx, a response
# off its schema, an undocumented status or content type, an error not in the JSON shape, an
# invalid request accepted) fails the run. SCHEMATHESIS_EXAMPLES and SCHEMATHESIS_SEED tune it.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/xinlian/target}"
xinlian="$CARGO_TARGET_DIR/debug/xinlian"
[ -x "$xinlian" ] || cargo build -p xinlian-cli
work=$(mktemp -d)
port="${SCHEMATHESIS_PORT:-19645}"
"$xinlian" testnet up --nodes 1 --dir "$work/net" --http-port "$port" --detach >/dev/null
trap '"$xinlian" testnet down --dir "$work/net" >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
schemathesis run "http://127.0.0.1:$port/openapi.json" \
  --max-examples "${SCHEMATHESIS_EXAMPLES:-20}" --seed "${SCHEMATHESIS_SEED:-1}" \
  --request-timeout 2 --exclude-checks positive_data_acceptance --no-color 2>&1 |
  grep -vE '^\s*$' | tail -n 25
