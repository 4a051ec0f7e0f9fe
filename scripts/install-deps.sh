#!/usr/bin/env bash
# Installs what a fresh Debian machine lacks to build and test Xinlian:
# libclang-dev (bindgen for RocksDB's C++ build), the openssl command (interoperability tests),
# Debian's chromium (the scan page's and the console's browser tests), Node.js and npm (the
# console's build and its Playwright test), iproute2 and iptables (partitions in
# network namespaces), procps (kill, pkill), prometheus (promtool, for the alert rules in ops/),
# and schemathesis from PyPI.
set -euo pipefail

missing=()
dpkg -s libclang-dev >/dev/null 2>&1 || missing+=(libclang-dev)
command -v openssl >/dev/null 2>&1 || missing+=(openssl)
command -v cc >/dev/null 2>&1 || missing+=(build-essential)
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
# Network namespaces and iptables for the partition tests (cli/tests/it/partition.rs).
command -v ip >/dev/null 2>&1 || missing+=(iproute2)
command -v iptables >/dev/null 2>&1 || missing+=(iptables)
# kill and pkill for the testnet and README tests (cli/tests/it/testnet_cli.rs, readme.rs).
command -v pkill >/dev/null 2>&1 || missing+=(procps)
# promtool checks and unit-tests the operators' alert rules (scripts/check-ops.sh). Installed
# without recommends: they add node-exporter, a service a build machine does not want.
lean=()
command -v promtool >/dev/null 2>&1 || lean+=(prometheus)
# Node.js and npm build the console (scripts/build-console.sh) and run its browser test.
command -v node >/dev/null 2>&1 || missing+=(nodejs)
command -v npm >/dev/null 2>&1 || missing+=(npm)
# A CJK font, so the scan page's screenshot shows its Chinese labels.
dpkg -s fonts-wqy-zenhei >/dev/null 2>&1 || missing+=(fonts-wqy-zenhei)
# schemathesis (PyPI) for the API's hostile-input run against its own OpenAPI (make test).
if ! command -v schemathesis >/dev/null 2>&1; then
  echo "installing: schemathesis (PyPI)"
  python3 -m pip install -q schemathesis==4.32.5
fi
[ ${#missing[@]} -eq 0 ] && [ ${#lean[@]} -eq 0 ] && exit 0

echo "installing: ${missing[*]} ${lean[*]}"
if [ "$(id -u)" -eq 0 ]; then sudo=""; elif command -v sudo >/dev/null 2>&1; then sudo="sudo"; else
  echo "need root (or sudo) to install ${missing[*]} ${lean[*]}" >&2
  exit 1
fi
$sudo apt-get update -qq
if [ ${#missing[@]} -gt 0 ]; then
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
fi
if [ ${#lean[@]} -gt 0 ]; then
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${lean[@]}" >/dev/null
fi
