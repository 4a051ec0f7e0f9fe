#!/usr/bin/env python3
"""Against a Prometheus that scrapes a live node with ops/prometheus/xinlian-rules.yml: waits
for the node's series and a round of rule evaluation, then fails if any rule's health is not ok
or any query of the dashboard errors. Usage: check_ops_live.py PROMETHEUS_URL DASHBOARD_JSON"""
import json
import sys
import time
import urllib.parse
import urllib.request


def api(base, path, **params):
    url = f"{base}/api/v1/{path}"
    if params:
        url += "?" + urllib.parse.urlencode(params)
    with urllib.request.urlopen(url, timeout=5) as response:
        body = json.load(response)
    if body.get("status") != "success":
        raise RuntimeError(f"{path} {params}: {body}")
    return body["data"]


def main():
    base, dashboard = sys.argv[1], sys.argv[2]
    deadline = time.time() + 60
    while True:
        try:
            if api(base, "query", query="xinlian_height")["result"]:
                rules = [r for g in api(base, "rules")["groups"] for r in g["rules"]]
                if rules and all(r.get("lastEvaluation", "").startswith("2") for r in rules):
                    break
        except OSError:
            pass
        if time.time() > deadline:
            sys.exit("Prometheus did not scrape the node and evaluate the rules within 60 s")
        time.sleep(0.5)
    time.sleep(2)
    failures = []
    rules = [r for g in api(base, "rules")["groups"] for r in g["rules"]]
    for rule in rules:
        if rule.get("health") != "ok":
            failures.append(f"rule {rule['name']}: {rule.get('health')} {rule.get('lastError')}")
    panels = json.load(open(dashboard, encoding="utf-8"))["panels"]
    queries = 0
    for panel in panels:
        for target in panel.get("targets", []):
            expr = target["expr"].replace("$instance", ".*")
            try:
                api(base, "query", query=expr)
                queries += 1
            except Exception as e:  # noqa: BLE001 (any failure is reported)
                failures.append(f"panel {panel['title']!r}: {expr}: {e}")
    if failures:
        sys.exit("\n".join(failures))
    print(f"live Prometheus: {len(rules)} rules healthy, {queries} dashboard queries ran")


if __name__ == "__main__":
    main()
