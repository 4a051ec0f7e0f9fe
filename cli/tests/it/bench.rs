//! `xinlian bench` against a real node: every workload commits and succeeds, and refusals are
//! reported by code rather than hidden.

use std::process::{Command, Output};

use xinlian_core::genesis::Suite;

use crate::harness::{TestNode, XINLIAN};

fn bench(args: &[&str]) -> Output {
    Command::new(XINLIAN)
        .arg("bench")
        .args(args)
        .output()
        .unwrap()
}

fn report(output: &Output) -> serde_json::Value {
    assert!(
        output.status.success(),
        "xinlian bench failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

#[tokio::test]
async fn every_workload_commits_and_refusals_are_reported() {
    let node = TestNode::start(Suite::Gm).await;
    let dir = node.dir().to_str().unwrap();
    let common = [
        "--txs",
        "60",
        "--concurrency",
        "16",
        "--senders",
        "2",
        "--json",
    ];

    for suite in ["gm", "intl"] {
        let mut args = vec![
            "--testnet",
            dir,
            "--suite",
            suite,
            "--mix",
            "evidence,trace,license,auth",
        ];
        args.extend(common);
        let report = report(&bench(&args));
        assert_eq!(report["committed"], 60, "{suite}: {report}");
        assert_eq!(report["succeeded"], 60, "{suite}: {report}");
        assert_eq!(report["success_ratio"], 1.0);
        assert!(report["latency_ms"]["p50"].as_f64().unwrap() > 0.0);
        assert!(report["committed_per_second"].as_f64().unwrap() > 0.0);
        assert_eq!(report["rejected_on_submit"], serde_json::json!({}));
        // What the run cost the node, from its own process CPU counter.
        let cpu = report["node_cpu_seconds"].as_f64().unwrap();
        let per_tx = report["node_cpu_us_per_committed"].as_f64().unwrap();
        assert!(
            cpu > 0.0 && (per_tx - cpu * 1e6 / 60.0).abs() < 1e-6,
            "{report}"
        );
    }

    // Half the submissions go to a node that is not there: reported as transport refusals,
    // not retried elsewhere, and the success ratio says so.
    let key = node.layout.admin_keys[0].to_str().unwrap();
    let nodes = format!("{},http://127.0.0.1:1", node.url());
    let mut args = vec![
        "--nodes",
        &nodes,
        "--key",
        key,
        "--profile",
        "pressure",
        "--rate",
        "200",
    ];
    args.extend(common);
    let report = report(&bench(&args));
    assert_eq!(report["rejected_on_submit"]["transport"], 30, "{report}");
    assert_eq!(report["succeeded"], 30, "{report}");
    assert_eq!(report["success_ratio"], 0.5);
    // A node whose metrics cannot be read: no CPU figure rather than a partial one.
    assert!(report["node_cpu_seconds"].is_null(), "{report}");

    // Bad arguments are refused before anything is sent.
    for (args, expected) in [
        (vec!["--testnet", dir, "--profile", "spike"], "--rate"),
        (vec!["--testnet", dir, "--mix", "evidence,bogus"], "bogus"),
        (vec!["--testnet", dir, "--rate", "0"], "--rate"),
        (vec!["--nodes", node.url()], "--key"),
    ] {
        let output = bench(&args);
        assert!(!output.status.success(), "{args:?} was accepted");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains(expected), "{args:?}: {stderr}");
    }
}
