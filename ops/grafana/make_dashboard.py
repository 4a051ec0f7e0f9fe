#!/usr/bin/env python3
"""Writes ops/grafana/xinlian-node.json, the Grafana dashboard of one Xinlian node.

The dashboard is generated so its panels stay uniform (one datasource variable, one instance
variable, units on every panel); edit this file and run it, not the JSON. CI checks that the JSON
is what this script writes and that every metric it names is one the node exports
(node/src/metrics.rs, test `dashboards_and_alerts_name_only_exported_metrics`).
"""
import json
import pathlib

I = '{instance=~"$instance"}'

ROWS = [
    ("共识 Consensus", [
        ("stat", "Height", [("xinlian_height" + I, "{{instance}}")], "none"),
        ("stat", "Leader", [("xinlian_raft_is_leader" + I, "{{instance}}")], "bool_yes_no"),
        ("stat", "Consensus halted", [("xinlian_consensus_halted" + I, "{{instance}}")], "bool_yes_no"),
        ("timeseries", "Consensus loop age", [("time() * 1000 - xinlian_raft_loop_seen_ms" + I, "{{instance}}")], "ms"),
        ("timeseries", "Leader changes (per 15 min)", [("increase(xinlian_raft_leader_changes_total" + I + "[15m])", "{{instance}}")], "none"),
        ("timeseries", "Raft term", [("xinlian_raft_term" + I, "{{instance}}")], "none"),
    ]),
    ("吞吐 Throughput and latency", [
        ("timeseries", "Transactions committed", [("rate(xinlian_txs_committed_total" + I + "[1m])", "{{instance}}")], "ops"),
        ("timeseries", "Blocks committed", [("rate(xinlian_blocks_committed_total" + I + "[1m])", "{{instance}}")], "ops"),
        ("timeseries", "Block apply (execute + fsync)", [
            ("histogram_quantile(0.5, sum by (instance, le) (rate(xinlian_block_commit_seconds_bucket" + I + "[5m])))", "p50 {{instance}}"),
            ("histogram_quantile(0.99, sum by (instance, le) (rate(xinlian_block_commit_seconds_bucket" + I + "[5m])))", "p99 {{instance}}"),
        ], "s"),
        ("timeseries", "Proposal to commit (leader)", [
            ("histogram_quantile(0.5, sum by (instance, le) (rate(xinlian_proposal_commit_seconds_bucket" + I + "[5m])))", "p50 {{instance}}"),
            ("histogram_quantile(0.99, sum by (instance, le) (rate(xinlian_proposal_commit_seconds_bucket" + I + "[5m])))", "p99 {{instance}}"),
        ], "s"),
        ("timeseries", "Block size (p50)", [("histogram_quantile(0.5, sum by (instance, le) (rate(xinlian_block_size_bytes_bucket" + I + "[5m])))", "{{instance}}")], "bytes"),
        ("timeseries", "Mempool", [
            ("xinlian_mempool_txs" + I, "waiting {{instance}}"),
            ("xinlian_mempool_txs_max" + I, "bound {{instance}}"),
        ], "none"),
    ]),
    ("准入 Admission and queries", [
        ("timeseries", "Transactions refused, by code", [("sum by (code) (rate(xinlian_txs_rejected_total" + I + "[5m]))", "{{code}}")], "ops"),
        ("timeseries", "Signature checks, by place", [("sum by (code) (rate(xinlian_signature_checks_total" + I + "[5m]))", "{{code}}")], "ops"),
        ("timeseries", "Admission queue", [("xinlian_admission_queued_bytes" + I, "{{instance}}")], "bytes"),
        ("timeseries", "Signed queries refused, by code", [("sum by (code) (rate(xinlian_signed_queries_refused_total" + I + "[5m]))", "{{code}}")], "ops"),
    ]),
    ("网络 Peers", [
        ("timeseries", "Peers", [
            ("xinlian_peers_connected" + I, "connected {{instance}}"),
            ("xinlian_peers_expected" + I, "registered {{instance}}"),
        ], "none"),
        ("timeseries", "Peer messages dropped, by code", [("sum by (code) (rate(xinlian_peer_messages_dropped_total" + I + "[5m]))", "{{code}}")], "ops"),
        ("timeseries", "Committed entries refused, by code", [("sum by (code) (increase(xinlian_blocks_refused_total" + I + "[10m]))", "{{code}}")], "none"),
    ]),
    ("存储与证书 Disk and TLS", [
        ("timeseries", "Data directory free", [("xinlian_data_dir_available_bytes" + I + " / xinlian_data_dir_size_bytes" + I, "{{instance}}")], "percentunit"),
        ("stat", "Data directory available", [("xinlian_data_dir_available_bytes" + I, "{{instance}}")], "bytes"),
        ("stat", "API certificate expires in", [("xinlian_tls_cert_expiry_days" + I, "{{cert}}")], "d"),
        ("timeseries", "TLS file changes, by outcome", [("sum by (code) (increase(xinlian_tls_reloads_total" + I + "[1h]))", "{{code}}")], "none"),
    ]),
]

def panel(pid, kind, title, targets, unit, x, y):
    p = {
        "id": pid,
        "type": kind,
        "title": title,
        "datasource": {"type": "prometheus", "uid": "${datasource}"},
        "gridPos": {"h": 7, "w": 8, "x": x, "y": y},
        "fieldConfig": {"defaults": {"unit": unit}, "overrides": []},
        "targets": [
            {"refId": chr(ord("A") + i), "expr": expr, "legendFormat": legend,
             "datasource": {"type": "prometheus", "uid": "${datasource}"}}
            for i, (expr, legend) in enumerate(targets)
        ],
    }
    if kind == "stat":
        p["options"] = {"reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
                        "colorMode": "value", "graphMode": "none"}
    return p

def dashboard():
    panels, pid, y = [], 1, 0
    for title, row in ROWS:
        panels.append({"id": pid, "type": "row", "title": title, "collapsed": False,
                       "gridPos": {"h": 1, "w": 24, "x": 0, "y": y}, "panels": []})
        pid, y = pid + 1, y + 1
        for i, (kind, ptitle, targets, unit) in enumerate(row):
            panels.append(panel(pid, kind, ptitle, targets, unit, (i % 3) * 8, y + (i // 3) * 7))
            pid += 1
        y += ((len(row) + 2) // 3) * 7
    return {
        "title": "Xinlian node 信链节点",
        "uid": "xinlian-node",
        "description": "One department's Xinlian node: consensus, throughput, admission, peers, disk and TLS (docs/operator.md).",
        "tags": ["xinlian"],
        "timezone": "browser",
        "schemaVersion": 39,
        "version": 1,
        "editable": True,
        "refresh": "30s",
        "time": {"from": "now-6h", "to": "now"},
        "templating": {"list": [
            {"name": "datasource", "type": "datasource", "query": "prometheus", "label": "Prometheus"},
            {"name": "instance", "type": "query", "label": "Node",
             "datasource": {"type": "prometheus", "uid": "${datasource}"},
             "query": "label_values(xinlian_height, instance)", "refresh": 2,
             "includeAll": True, "multi": True, "current": {}},
        ]},
        "annotations": {"list": []},
        "panels": panels,
    }

if __name__ == "__main__":
    out = pathlib.Path(__file__).with_name("xinlian-node.json")
    out.write_text(json.dumps(dashboard(), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
