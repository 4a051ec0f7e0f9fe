//! The README's CLI block, run line by line against a real testnet, so the README cannot drift
//! from the binary again (issue 17).

use std::process::Command;

use crate::cluster::free_port_base;
use crate::harness::XINLIAN;

/// The first ```sh block after the "## Using the CLI" heading.
fn readme_cli_block() -> String {
    let readme = include_str!("../../../README.md");
    let section = readme
        .split("## Using the CLI")
        .nth(1)
        .expect("README has a \"## Using the CLI\" section");
    let start = section.find("```sh\n").expect("a ```sh block") + "```sh\n".len();
    let end = start + section[start..].find("```").expect("the block ends");
    section[start..end].to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_readme_cli_block_runs_against_a_testnet() {
    let block = readme_cli_block();
    let binary_line = block
        .lines()
        .find(|l| l.starts_with("X="))
        .expect("the block names the binary as X=...");
    // Two things differ from a user's run: the binary is the one under test, and the ports are
    // free ones (the testnet's through XINLIAN_HTTP_PORT and XINLIAN_NODE, the block's own
    // chain's by rewriting its port number).
    let testnet_port = free_port_base(5);
    let own_port = free_port_base(1);
    assert!(
        block.contains("8645"),
        "the block's own chain listens on 8645"
    );
    let script = format!(
        "set -euxo pipefail\n{}",
        block
            .replace(binary_line, &format!("X={XINLIAN}"))
            .replace("8645", &own_port.to_string())
    );
    let dir = tempfile::tempdir().unwrap();
    // Bounded, so a step that never ends (a node that never answers) fails the test instead of
    // hanging the suite.
    let output = Command::new("timeout")
        .args(["600", "bash", "-c"])
        .arg(&script)
        .current_dir(dir.path())
        .env("XINLIAN_HTTP_PORT", testnet_port.to_string())
        .env("XINLIAN_NODE", format!("http://127.0.0.1:{testnet_port}"))
        .output()
        .unwrap();
    // Whatever the block left running (it should leave nothing) is stopped before asserting: the
    // testnet's nodes name their absolute config paths, the block's own chain a relative one.
    let mut leftover = false;
    for pattern in [dir.path().to_str().unwrap(), "mychain/node0/node.toml"] {
        leftover |= Command::new("pkill")
            .args(["-9", "-f", pattern])
            .status()
            .unwrap()
            .success();
    }
    let log = format!(
        "{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        output.status.success(),
        "the README's CLI block failed:\n{log}"
    );
    assert!(
        !leftover,
        "the README's CLI block left node processes running:\n{log}"
    );
}
