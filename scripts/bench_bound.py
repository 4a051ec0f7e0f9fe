#!/usr/bin/env python3
"""The verification bound of the testnet and how close the load generator came to it.

Usage: bench_bound.py CRITERION_DIR NODES REPORT.json...
bound = cores x single-core verify rate / nodes: every node verifies every transaction once, and
the nodes share the machine's cores. The verify rates are the criterion medians of sm2/verify and
ed25519/verify from the same run. A row per report, then per suite the median run (by committed
rate) when there are several.
"""

import json
import os
import statistics
import sys
from pathlib import Path


def verify_rate(criterion_dir, scheme):
    """The criterion median, or None when `make bench-crypto` has not run on this machine."""
    estimates = Path(criterion_dir) / scheme / "verify" / "new" / "estimates.json"
    if not estimates.exists():
        return None
    median_ns = json.loads(estimates.read_text())["median"]["point_estimate"]
    return 1e9 / median_ns


def main():
    criterion_dir, nodes, reports = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
    # The CPUs this process may run on (affinity, containers), or CORES to say otherwise.
    cores = int(os.environ.get("CORES", len(os.sched_getaffinity(0))))
    print(f"| suite | verify / s / core | bound ({cores} cores, {nodes} nodes) | committed / s | of the bound | p50 | p99 | concurrency | node CPU / tx |")
    print("|---|---|---|---|---|---|---|---|---|")
    by_suite = {}
    for path in reports:
        report = json.loads(Path(path).read_text())
        incomplete = report["timed_out"] + report["not_sent"] + sum(report["rejected_on_submit"].values())
        if incomplete:
            print(f"<!-- {path}: {incomplete} transactions did not commit; read its report -->")
        print(row(criterion_dir, cores, nodes, report, ""))
        by_suite.setdefault(report["suite"], []).append(report)
    for suite, runs in by_suite.items():
        if len(runs) > 1:
            median = statistics.median_low(r["committed_per_second"] for r in runs)
            report = next(r for r in runs if r["committed_per_second"] == median)
            print(row(criterion_dir, cores, nodes, report, f"median of {len(runs)}: "))


def row(criterion_dir, cores, nodes, report, label):
    scheme = "sm2" if report["suite"] == "gm" else "ed25519"
    rate = verify_rate(criterion_dir, scheme)
    committed = report["committed_per_second"]
    if rate is None:
        # The committed rates still compare; the bound needs `make bench-crypto` first.
        rate_text, bound_text, share = "n/a", "n/a", "n/a"
    else:
        bound = cores * rate / nodes
        rate_text, bound_text = f"{rate:,.0f}", f"{bound:,.0f} tx/s"
        share = f"{100 * committed / bound:.0f}%"
    # The nodes' CPU per committed transaction, all nodes together (absent from older reports).
    per_tx = report.get("node_cpu_us_per_committed")
    cpu_text = "n/a" if per_tx is None else f"{per_tx:,.0f} µs"
    return (
        f"| {label}{report['suite']} ({scheme}) | {rate_text} | {bound_text} | {committed:,.0f} "
        f"| {share} | {report['latency_ms']['p50']:.0f} ms "
        f"| {report['latency_ms']['p99']:.0f} ms | {report['concurrency']} | {cpu_text} |"
    )


if __name__ == "__main__":
    main()
