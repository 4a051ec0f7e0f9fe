#!/usr/bin/env bash
# The operators' alerts and dashboard (ops/, part of `make test`): promtool checks the rules,
# runs their unit tests (the alerts fire on trouble and stay quiet otherwise) and the example
# Prometheus config; the Grafana dashboard is what its generator writes. That every metric they
# name is exported is a unit test in node/src/metrics.rs.
set -euo pipefail
cd "$(dirname "$0")/.."
promtool check rules ops/prometheus/xinlian-rules.yml
promtool test rules ops/prometheus/xinlian-rules.test.yml
promtool check config ops/prometheus/prometheus.yml
generated=$(mktemp -d)
trap 'rm -rf "$generated"' EXIT
cp ops/grafana/make_dashboard.py "$generated/"
python3 "$generated/make_dashboard.py"
if ! diff -u ops/grafana/xinlian-node.json "$generated/xinlian-node.json"; then
  echo "ops/grafana/xinlian-node.json is not what make_dashboard.py writes: run it and commit" >&2
  exit 1
fi

# Live: Prometheus scrapes a real one-node testnet with these rules; every rule evaluates without
# error, and every dashboard query runs against the node's real series.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/xinlian/target}"
xinlian="$CARGO_TARGET_DIR/debug/xinlian"
[ -x "$xinlian" ] || cargo build -p xinlian-cli
node_port="${OPS_NODE_PORT:-19745}"
prom_port="${OPS_PROMETHEUS_PORT:-19790}"
"$xinlian" testnet up --nodes 1 --dir "$generated/net" --http-port "$node_port" --detach >/dev/null
trap '"$xinlian" testnet down --dir "$generated/net" >/dev/null 2>&1 || true; kill "${prom_pid:-0}" 2>/dev/null || true; rm -rf "$generated"' EXIT
cp ops/prometheus/xinlian-rules.yml "$generated/"
cat >"$generated/prometheus.yml" <<YAML
global: {scrape_interval: 1s, evaluation_interval: 1s}
rule_files: [xinlian-rules.yml]
scrape_configs:
  - job_name: xinlian
    static_configs: [{targets: ["127.0.0.1:$node_port"]}]
YAML
prometheus --config.file="$generated/prometheus.yml" --storage.tsdb.path="$generated/tsdb" \
  --web.listen-address="127.0.0.1:$prom_port" >"$generated/prometheus.log" 2>&1 &
prom_pid=$!
python3 scripts/check_ops_live.py "http://127.0.0.1:$prom_port" ops/grafana/xinlian-node.json ||
  { tail -n 20 "$generated/prometheus.log" >&2; exit 1; }
echo "ops: rules, rule tests, config, dashboard and a live Prometheus OK"
