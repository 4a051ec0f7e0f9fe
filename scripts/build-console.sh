#!/usr/bin/env bash
# Builds the regulator's console (console/) into console/dist, which the node embeds at compile
# time (node/build.rs): the npm packages exactly as console/package-lock.json pins them, bundled
# by esbuild. Reinstalls only when the lock file changed; the bundle itself takes a second.
set -euo pipefail
cd "$(dirname "$0")/../console"
stamp=node_modules/.package-lock.json
if [ ! -f "$stamp" ] || [ package-lock.json -nt "$stamp" ]; then
  npm ci --no-audit --no-fund --loglevel=error
fi
node build.mjs
