#!/usr/bin/env python3
"""Prints the crypto benchmark table: criterion medians beside `openssl speed` rates.

Usage: bench_report.py CRITERION_DIR OPENSSL_SPEED_OUTPUT
Each row is one criterion benchmark (median time per iteration and per element); the SM2 and
Ed25519 rows also show OpenSSL's rate and the ratio ours / OpenSSL's (above 1: we are faster).
"""

import json
import re
import sys
from pathlib import Path

# criterion id -> (elements per iteration, OpenSSL row and column to compare with)
ROWS = [
    ("sm2/sign", 1, ("SM2", "sign")),
    ("sm2/verify", 1, ("SM2", "verify")),
    ("sm2/verify_cold_key", 1, ("SM2", "verify")),
    ("sm2/verify_sm2_crate", 1, ("SM2", "verify")),
    ("sm2/verify_parallel/*", 256, ("SM2", "verify")),
    ("ed25519/sign", 1, ("Ed25519", "sign")),
    ("ed25519/verify", 1, ("Ed25519", "verify")),
    ("ed25519/verify_batch/64", 64, ("Ed25519", "verify")),
    ("ed25519/verify_batch/1024", 1024, ("Ed25519", "verify")),
    ("ed25519/verify_signatures/64", 64, ("Ed25519", "verify")),
    ("ed25519/verify_signatures/1024", 1024, ("Ed25519", "verify")),
    ("hash/sm3/1024", 1, None),
    ("hash/blake3/1024", 1, None),
    ("hash/sm3/65536", 1, None),
    ("hash/blake3/65536", 1, None),
    ("merkle_root/sm3/1000", 1, None),
    ("merkle_root/blake3/1000", 1, None),
    ("merkle_root/sm3/10000", 1, None),
    ("merkle_root/blake3/10000", 1, None),
    ("transaction/encode", 1, None),
    ("transaction/decode", 1, None),
    ("block_validation/gm/1000", 1000, ("SM2", "verify")),
    ("block_validation/intl/1000", 1000, ("Ed25519", "verify")),
]


def openssl_rates(path):
    """{("SM2", "sign"): ops/s, ...} from `openssl speed` output."""
    rates = {}
    for line in Path(path).read_text().splitlines():
        for name, pattern in (("SM2", r"SM2 \(CurveSM2\)"), ("Ed25519", r"EdDSA \(Ed25519\)")):
            if re.search(pattern, line):
                numbers = line.split()[-2:]
                rates[(name, "sign")] = float(numbers[0])
                rates[(name, "verify")] = float(numbers[1])
    return rates


def median_ns(criterion_dir, bench_id):
    # Newest first: a wildcard may also match results of an earlier run on other hardware.
    matches = sorted(
        Path(criterion_dir).glob(f"{bench_id}/new/estimates.json"),
        key=lambda path: path.stat().st_mtime,
        reverse=True,
    )
    if not matches:
        return None, bench_id
    estimates = json.loads(matches[0].read_text())
    found = str(matches[0].parent.parent.relative_to(criterion_dir))
    return estimates["median"]["point_estimate"], found


def duration(ns):
    """A median in a readable unit."""
    if ns < 1e3:
        return f"{ns:,.0f} ns"
    if ns < 1e6:
        return f"{ns / 1e3:,.1f} µs"
    return f"{ns / 1e6:,.2f} ms"


def main():
    criterion_dir, openssl_file = sys.argv[1], sys.argv[2]
    rates = openssl_rates(openssl_file)
    print("| benchmark | median per iteration | per element | elements/s | OpenSSL/s | ratio |")
    print("|---|---|---|---|---|---|")
    for bench_id, elements, compare in ROWS:
        ns, found = median_ns(criterion_dir, bench_id)
        if ns is None:
            print(f"| {bench_id} | (not run) | | | | |")
            continue
        per_element_us = ns / elements / 1e3
        per_second = 1e9 * elements / ns
        theirs = rates.get(compare) if compare else None
        ratio = f"{per_second / theirs:.2f}" if theirs else ""
        theirs_text = f"{theirs:,.0f}" if theirs else ""
        print(
            f"| {found} | {duration(ns)} | {duration(per_element_us * 1e3)} | {per_second:,.0f} "
            f"| {theirs_text} | {ratio} |"
        )


if __name__ == "__main__":
    main()
