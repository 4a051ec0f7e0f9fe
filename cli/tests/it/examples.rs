//! The SDK's examples, run as a developer runs them: against a testnet loaded with the demo.

use std::path::PathBuf;
use std::process::Command;

use crate::cluster::Cluster;

/// Where `cargo test --workspace` put the SDK's example programs.
fn example(name: &str) -> PathBuf {
    let bin = PathBuf::from(crate::harness::XINLIAN);
    let path = bin.parent().unwrap().join("examples").join(name);
    assert!(
        path.exists(),
        "{} is missing: build the examples first (`cargo test --workspace` does)",
        path.display()
    );
    path
}

#[tokio::test]
async fn the_sdk_examples_run_against_the_demo_testnet() {
    let cluster = Cluster::start(1).await;
    xinlian_testnet::load_demo(&cluster.layout).await.unwrap();
    let dir = cluster._dir.path();
    for (name, expected) in [
        ("cold_chain_terminal", "received"),
        (
            "licence_window",
            "altered copies of each document were refused",
        ),
        (
            "holder_grants",
            "use after revocation refused: grant_revoked",
        ),
    ] {
        let output = Command::new(example(name)).arg(dir).output().unwrap();
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(
            output.status.success(),
            "{name} failed:\n{stdout}\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
        assert!(stdout.contains(expected), "{name}:\n{stdout}");
    }

    // The same examples when their node is down: an error for people, no Rust debug form. The
    // demo's keys and documents are in place, so each gets as far as calling the node.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let layout_file = dir.join("testnet.json");
    let mut layout: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&layout_file).unwrap()).unwrap();
    layout["nodes"][0]["http_url"] = url.into();
    std::fs::write(&layout_file, layout.to_string()).unwrap();
    for name in ["cold_chain_terminal", "licence_window", "holder_grants"] {
        let output = Command::new(example(name)).arg(dir).output().unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!output.status.success(), "{name} succeeded without a node");
        assert!(
            stderr.starts_with("error: ") && stderr.contains("cannot reach the node"),
            "{name}: {stderr}"
        );
        for debug_form in ["Node {", "Transport(", "Io {", "Some(", "Error: "] {
            assert!(!stderr.contains(debug_form), "{name}: {stderr}");
        }
    }
}
