//! The CLI's errors name the value, give the cause once and say what to do; no Rust debug form
//! reaches the user; one date format everywhere; config is checked before anything opens
//! (issue 17). Every case runs the real binary.

use std::path::Path;
use std::process::{Command, Output};

use xinlian_core::genesis::Suite;

use crate::harness::{TestNode, XINLIAN};

fn xinlian(args: &[&str]) -> Output {
    Command::new(XINLIAN)
        .args(args)
        .env_remove("XINLIAN_KEY_PASSWORD")
        .env_remove("XINLIAN_NODE")
        .output()
        .unwrap()
}

/// Fails with exit code `code` and a message holding every one of `says`, in the house style.
#[track_caller]
fn refused(output: &Output, code: i32, says: &[&str]) -> String {
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert_eq!(output.status.code(), Some(code), "exit code of: {stderr}");
    for s in says {
        assert!(stderr.contains(s), "expected {s:?} in: {stderr}");
    }
    for debug_form in ["Some(", "Failure {", "Node {", "Io {", "Os {", "panicked"] {
        assert!(!stderr.contains(debug_form), "Rust debug form in: {stderr}");
    }
    stderr
}

fn path(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn key_file_errors_say_what_is_wrong_and_what_to_do() {
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("alice.pem");
    assert!(
        xinlian(&["key", "gen", "--out", path(&key)])
            .status
            .success()
    );

    let again = refused(
        &xinlian(&["key", "gen", "--out", path(&key)]),
        1,
        &["alice.pem already exists", "choose another --out"],
    );
    assert!(!again.contains("os error"), "{again}");

    let missing = dir.path().join("nobody.pem");
    refused(
        &xinlian(&["key", "show", path(&missing)]),
        1,
        &["nobody.pem does not exist", "check the path"],
    );
    refused(
        &xinlian(&["key", "show", path(dir.path())]),
        1,
        &["is a directory", "give the key file"],
    );

    // A public key where a private key belongs.
    let public = dir.path().join("alice.pub.pem");
    let status = Command::new("openssl")
        .args(["pkey", "-in", path(&key), "-pubout", "-out", path(&public)])
        .status()
        .unwrap();
    assert!(status.success());
    let said = refused(
        &xinlian(&["key", "show", path(&public)]),
        1,
        &["holds a public key", "private key file"],
    );
    assert!(!said.contains("NUL byte"), "{said}");

    // An encrypted key without its password names the variable.
    let locked = dir.path().join("locked.pem");
    let made = Command::new(XINLIAN)
        .args(["key", "gen", "--encrypt", "--out", path(&locked)])
        .env("XINLIAN_KEY_PASSWORD", "s3cret")
        .output()
        .unwrap();
    assert!(made.status.success());
    refused(
        &xinlian(&["key", "show", path(&locked)]),
        1,
        &["locked.pem", "XINLIAN_KEY_PASSWORD"],
    );
}

#[test]
fn a_node_url_without_a_scheme_or_a_node_that_is_down_is_named() {
    refused(
        &xinlian(&["status", "--node", "127.0.0.1:8545"]),
        1,
        &["\"127.0.0.1:8545\" is not a node URL", "http://"],
    );
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let said = refused(
        &xinlian(&["status", "--node", &url]),
        1,
        &["cannot reach the node", "is it running"],
    );
    assert!(said.to_lowercase().contains("refused"), "{said}");
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("k.pem");
    assert!(
        xinlian(&["key", "gen", "--out", path(&key)])
            .status
            .success()
    );
    let call = r#"{"system":{"record_evidence":{"kind":"x","digest":"0000000000000000000000000000000000000000000000000000000000000000","memo":""}}}"#;
    refused(
        &xinlian(&[
            "tx",
            "send",
            "--node",
            &url,
            "--key",
            path(&key),
            "--call",
            call,
        ]),
        1,
        &["cannot reach the node"],
    );
}

#[test]
fn every_command_takes_the_same_date_forms_and_names_the_limits() {
    let bad_date = "write YYYY-MM-DD or YYYYMMDD";
    for args in [
        &["trace", "lots", "--from", "2026-13-01"][..],
        &["trace", "lots", "--to", "20261301"],
        &[
            "auth",
            "report",
            "--key",
            "k.pem",
            "--org",
            "91110000600037341L",
            "--from",
            "2026-02-30",
            "--to",
            "2026-03-01",
        ],
    ] {
        refused(&xinlian(args), 2, &[bad_date]);
    }
    refused(
        &xinlian(&["auth", "grant", "--key", "k.pem", "--days", "400"]),
        2,
        &["400", "1..=366"],
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn both_date_forms_reach_the_node_and_governance_waits_for_its_commit() {
    let node = TestNode::start(Suite::Gm).await;
    let url = node.url().to_string();
    for from in ["2026-11-01", "20261101"] {
        let output = xinlian(&["trace", "lots", "--node", &url, "--from", from]);
        assert!(
            output.status.success(),
            "{from}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    // `gov propose` waits for the commit by default: the proposal exists when it returns, and
    // its JSON follows the transaction hash.
    let admin = node.layout.admin_keys[0].clone();
    let propose = |change: &[&str]| {
        let mut args = vec!["gov", "propose", "--node", &url, "--key", path(&admin)];
        args.extend_from_slice(change);
        let output = xinlian(&args);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(output.status.success(), "{change:?}: {stderr}");
        let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
        let (hash, json) = stdout.split_once('\n').unwrap();
        assert_eq!(hash.len(), 64, "{stdout}");
        let proposal: serde_json::Value = serde_json::from_str(json).unwrap();
        (hash.to_string(), proposal)
    };
    let (hash, _) = propose(&["--memo", "测试", "set-schemes", "--schemes", "sm2,ed25519"]);
    let shown = xinlian(&["gov", "show", "--node", &url, &hash]);
    assert!(shown.status.success());
    // docs/trace.md's `set_required_certificates` has its command.
    let (_, proposal) = propose(&[
        "set-certificates",
        "--kinds",
        "inspection_quarantine,disinfection",
    ]);
    assert_eq!(proposal["status"], "executed", "{proposal}");
    // Both proposals, newest first, a page of one at a time through the node's next links.
    let mut ids = Vec::new();
    let mut next = Some("/v1/gov/proposals?limit=1".to_string());
    while let Some(path) = next {
        let page: serde_json::Value = crate::harness::http_get(format!("{url}{path}"))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let proposals = page["proposals"].as_array().unwrap();
        assert_eq!(proposals.len(), 1, "{page}");
        ids.push(proposals[0]["id"].as_str().unwrap().to_string());
        next = page["next"].as_str().map(str::to_string);
    }
    assert_eq!(ids.len(), 2, "{ids:?}");
    assert_eq!(ids[1], hash, "the first proposal comes last");
}

#[test]
fn a_bad_config_is_refused_before_the_store_opens() {
    let dir = tempfile::tempdir().unwrap();
    let init = xinlian(&[
        "init",
        "--dir",
        path(dir.path()),
        "--nodes",
        "1",
        "--http-port",
        "18999",
    ]);
    assert!(init.status.success());
    let config = dir.path().join("node0/node.toml");
    let text = std::fs::read_to_string(&config).unwrap();
    let (good_listen, bad) = (
        text.lines()
            .find(|l| l.starts_with("p2p_listen"))
            .unwrap()
            .to_string(),
        "p2p_listen = \"127.0.0.1:30333\"",
    );
    std::fs::write(&config, text.replace(&good_listen, bad)).unwrap();
    for _ in 0..3 {
        refused(
            &xinlian(&["node", "start", "--config", path(&config)]),
            1,
            &[
                "p2p_listen",
                "\"127.0.0.1:30333\" is not a multiaddr",
                "/ip4/0.0.0.0/tcp/30333",
            ],
        );
    }
    assert!(
        !dir.path().join("node0/data").exists(),
        "the store was opened before the config was checked"
    );

    // A p2p port another program holds: refused before the store opens, the field named.
    std::fs::write(&config, &text).unwrap();
    let port: u16 = good_listen
        .rsplit('/')
        .next()
        .unwrap()
        .trim_end_matches('"')
        .parse()
        .unwrap();
    let squatter = std::net::TcpListener::bind(("127.0.0.1", port)).unwrap();
    refused(
        &xinlian(&["node", "start", "--config", path(&config)]),
        1,
        &["p2p_listen", "is another node or program using the port?"],
    );
    drop(squatter);
    assert!(
        !dir.path().join("node0/data").exists(),
        "the store was opened before the p2p port was checked"
    );

    // An encrypted node key without its password names the file and the variable.
    let node_key = dir.path().join("node0/node.key.pem");
    let encrypted = Command::new("openssl")
        .args([
            "pkcs8",
            "-topk8",
            "-v2",
            "aes-256-cbc",
            "-passout",
            "pass:s3cret",
            "-in",
        ])
        .arg(&node_key)
        .output()
        .unwrap();
    assert!(encrypted.status.success());
    std::fs::write(&node_key, encrypted.stdout).unwrap();
    refused(
        &xinlian(&["node", "start", "--config", path(&config)]),
        1,
        &["node.key.pem", "XINLIAN_NODE_KEY_PASSWORD"],
    );
}
