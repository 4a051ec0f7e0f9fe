//! Every bad input of the foundation issue gets its own structured error, changes nothing, and
//! leaves the node serving.

use std::time::Duration;

use serde_json::{Value, json};
use xinlian_core::crypto::{PrivateKey, SignatureScheme};
use xinlian_core::genesis::Suite;
use xinlian_core::types::{Call, MemberRole, SignedTransaction, SystemCall, Transaction};
use xinlian_core::{Hash, limits};
use xinlian_sdk::keys;

use crate::cluster::metric;
use crate::harness::{TestNode, XINLIAN};

async fn post_raw(url: &str, body: impl Into<reqwest::Body>, content_type: &str) -> (u16, Value) {
    let response = crate::harness::http()
        .post(format!("{url}/v1/txs"))
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

async fn post_json(url: &str, body: &Value) -> (u16, String) {
    let (status, answer) = post_raw(url, body.to_string(), "application/json").await;
    let code = answer["error"]["code"]
        .as_str()
        .unwrap_or_else(|| panic!("no error code in {answer}"))
        .to_string();
    assert!(
        answer["error"]["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty()),
        "{answer}"
    );
    (status, code)
}

fn evidence() -> Call {
    Call::System(SystemCall::RecordEvidence {
        kind: "contract".into(),
        digest: Hash([1; 32]),
        memo: String::new(),
    })
}

fn unsigned(
    sender: &PrivateKey,
    chain_id: &str,
    valid_until_height: u64,
    call: Call,
) -> Transaction {
    Transaction {
        chain_id: chain_id.into(),
        sender: sender.public_key(),
        nonce: 1,
        created_at_ms: 0,
        valid_until_height,
        call,
    }
}

fn to_json(tx: &SignedTransaction) -> Value {
    serde_json::to_value(tx).unwrap()
}

#[tokio::test]
async fn malformed_requests_get_structured_errors() {
    let node = TestNode::start(Suite::Gm).await;
    let url = node.url();
    let good = to_json(
        &node
            .client
            .sign_call(&node.admin(0), evidence())
            .await
            .unwrap(),
    );

    let (status, answer) = post_raw(url, "{not json", "application/json").await;
    assert_eq!(
        (status, answer["error"]["code"].as_str()),
        (400, Some("malformed_json"))
    );

    let mut wrong_type = good.clone();
    wrong_type["tx"]["nonce"] = json!("seven");
    assert_eq!(
        post_json(url, &wrong_type).await,
        (400, "invalid_field".into())
    );

    let mut unknown_field = good.clone();
    unknown_field["tx"]["colour"] = json!("red");
    assert_eq!(
        post_json(url, &unknown_field).await,
        (400, "invalid_field".into())
    );

    let mut bad_hex = good.clone();
    bad_hex["signature"] = json!("zz".repeat(64));
    assert_eq!(
        post_json(url, &bad_hex).await,
        (400, "invalid_field".into())
    );

    let mut bad_key = good.clone();
    bad_key["tx"]["sender"] = json!(format!("sm2:04{}", "11".repeat(64)));
    assert_eq!(
        post_json(url, &bad_key).await,
        (400, "invalid_field".into())
    );

    let (status, answer) = post_raw(url, good.to_string(), "text/plain").await;
    assert_eq!(
        (status, answer["error"]["code"].as_str()),
        (415, Some("unsupported_media_type"))
    );

    let huge = format!("{{\"pad\":\"{}\"}}", "x".repeat(4 * limits::TX_BYTES_MAX));
    let (status, answer) = post_raw(url, huge, "application/json").await;
    assert_eq!(
        (status, answer["error"]["code"].as_str()),
        (413, Some("body_too_large"))
    );

    let lookup = |path: &str| crate::harness::http_get(format!("{url}{path}"));
    let answer = lookup("/v1/txs/nothex").await.unwrap();
    assert_eq!(answer.status().as_u16(), 400);
    let answer = lookup(&format!("/v1/txs/{}", "ab".repeat(32)))
        .await
        .unwrap();
    assert_eq!(answer.status().as_u16(), 404);
    let answer = lookup("/v1/blocks/-1").await.unwrap();
    assert_eq!(answer.status().as_u16(), 400);
    let answer = lookup("/v1/blocks/999999").await.unwrap();
    assert_eq!(answer.status().as_u16(), 404);
    let answer = lookup("/v1/nothing").await.unwrap();
    assert_eq!(answer.status().as_u16(), 404);
    let body: Value = answer.json().await.unwrap();
    assert_eq!(body["error"]["code"], "route_not_found");
    // A path segment that is not valid percent-encoded UTF-8, on every route with a parameter.
    for path in [
        "/v1/trace/codes/%00%ff",
        "/v1/txs/%ff",
        "/v1/blocks/%c3%28",
        "/v1/members/%ff",
        "/v1/licences/%ff",
        "/v1/auth/grants/%ff",
        "/v1/gov/proposals/%ff",
        "/scan/%ff",
        "/verify/%ff",
        "/v1/trace/enterprises/%ff/stock",
    ] {
        let answer = lookup(path).await.unwrap();
        assert_eq!(answer.status().as_u16(), 400, "{path}");
        let body: Value = answer.json().await.unwrap();
        assert_eq!(body["error"]["code"], "invalid_path", "{path}");
    }

    assert_nothing_changed(&node, 0).await;
}

#[tokio::test]
async fn refused_transactions_get_their_own_codes() {
    let node = TestNode::start(Suite::Gm).await;
    let url = node.url();
    let admin = node.admin(0);
    let chain = node.layout.chain_id.clone();

    // Signed by another key than the sender.
    let stranger = keys::generate(SignatureScheme::Sm2).unwrap();
    let mut forged = unsigned(&admin, &chain, 50, evidence())
        .sign(&admin)
        .unwrap();
    forged.signature = stranger.sign(&forged.tx.signing_bytes());
    assert_eq!(
        post_json(url, &to_json(&forged)).await,
        (400, "bad_signature".into())
    );

    // Signed over another chain id, then relabelled for this chain.
    let mut relabelled = unsigned(&admin, "other-chain", 50, evidence())
        .sign(&admin)
        .unwrap();
    relabelled.tx.chain_id = chain.clone();
    assert_eq!(
        post_json(url, &to_json(&relabelled)).await,
        (400, "bad_signature".into())
    );

    // Honestly for another chain.
    let other = unsigned(&admin, "other-chain", 50, evidence())
        .sign(&admin)
        .unwrap();
    assert_eq!(
        post_json(url, &to_json(&other)).await,
        (400, "wrong_chain".into())
    );

    // Unknown sender.
    let nobody = unsigned(&stranger, &chain, 50, evidence())
        .sign(&stranger)
        .unwrap();
    assert_eq!(
        post_json(url, &to_json(&nobody)).await,
        (403, "unknown_sender".into())
    );

    // A flood from keys that are not members, well signed and forged: each refused as an
    // unknown sender before its signature is looked at (the node's own counter shows no check).
    let checks = "xinlian_signature_checks_total{code=\"admission\"}";
    let refused = "xinlian_txs_rejected_total{code=\"unknown_sender\"}";
    let (checks_before, refused_before) = (metric(url, checks).await, metric(url, refused).await);
    for i in 0..60u64 {
        let key = keys::generate(SignatureScheme::Sm2).unwrap();
        let mut tx = unsigned(&key, &chain, 50, evidence()).sign(&key).unwrap();
        if i % 2 == 0 {
            tx.signature.0[7] ^= 1;
        }
        assert_eq!(
            post_json(url, &to_json(&tx)).await,
            (403, "unknown_sender".into())
        );
    }
    assert_eq!(metric(url, checks).await, checks_before);
    assert_eq!(metric(url, refused).await, refused_before + 60);

    // Outside the validity window, both ways.
    let expired = unsigned(&admin, &chain, 0, evidence())
        .sign(&admin)
        .unwrap();
    assert_eq!(
        post_json(url, &to_json(&expired)).await,
        (400, "tx_expired".into())
    );
    let too_far = unsigned(
        &admin,
        &chain,
        10 + limits::TX_VALIDITY_BLOCKS_MAX,
        evidence(),
    )
    .sign(&admin)
    .unwrap();
    assert_eq!(
        post_json(url, &to_json(&too_far)).await,
        (400, "tx_window_too_far".into())
    );

    assert_nothing_changed(&node, 0).await;

    // A sender whose role forbids the call: an operator registering members.
    let operator = keys::generate(SignatureScheme::Ed25519).unwrap();
    let register = |key: &PrivateKey| {
        Call::System(SystemCall::RegisterMember {
            public_key: key.public_key(),
            name: "x".into(),
            role: MemberRole::Operator,
        })
    };
    let tx = node
        .client
        .sign_call(&admin, register(&operator))
        .await
        .unwrap();
    let hash = node.client.submit(&tx).await.unwrap();
    node.client
        .wait_for_commit(&hash, Duration::from_secs(30))
        .await
        .unwrap();
    let forbidden = node
        .client
        .sign_call(&operator, register(&stranger))
        .await
        .unwrap();
    let err = node.client.submit(&forbidden).await.unwrap_err();
    assert_eq!(err.node_code(), Some("role_forbidden"), "{err}");

    // Replays: while pending, and once committed.
    let tx = node.client.sign_call(&admin, evidence()).await.unwrap();
    let hash = node.client.submit(&tx).await.unwrap();
    let again = node.client.submit(&tx).await.unwrap_err();
    assert!(
        matches!(again.node_code(), Some("already_pending" | "duplicate_tx")),
        "{again}"
    );
    node.client
        .wait_for_commit(&hash, Duration::from_secs(30))
        .await
        .unwrap();
    let replay = node.client.submit(&tx).await.unwrap_err();
    assert_eq!(replay.node_code(), Some("duplicate_tx"), "{replay}");
    let status = node.client.status().await.unwrap();
    assert_eq!(
        status.height, 2,
        "only the registration and the one evidence committed"
    );
}

async fn assert_nothing_changed(node: &TestNode, height: u64) {
    let status = node.client.status().await.expect("node still serving");
    assert_eq!(status.height, height, "a refused input committed something");
    assert_eq!(status.mempool_txs, 0, "a refused input entered the mempool");
}

#[test]
fn a_key_file_that_is_not_a_key_is_refused_by_the_cli() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("junk.pem");
    std::fs::write(&path, "this is not a key").unwrap();
    let output = std::process::Command::new(XINLIAN)
        .args(["key", "show"])
        .arg(&path)
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("invalid key file"), "{stderr}");
}

#[test]
fn cli_keys_round_trip_and_encrypt() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("k.pem");
    let output = std::process::Command::new(XINLIAN)
        .args(["key", "gen", "--scheme", "ed25519", "--encrypt", "--out"])
        .arg(&path)
        .env("XINLIAN_KEY_PASSWORD", "pw")
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let public = String::from_utf8_lossy(&output.stdout).trim().to_string();
    let show = std::process::Command::new(XINLIAN)
        .args(["key", "show"])
        .arg(&path)
        .env("XINLIAN_KEY_PASSWORD", "pw")
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&show.stdout).contains(&public));
    let wrong = std::process::Command::new(XINLIAN)
        .args(["key", "show"])
        .arg(&path)
        .env("XINLIAN_KEY_PASSWORD", "no")
        .output()
        .unwrap();
    assert!(!wrong.status.success());
    let overwrite = std::process::Command::new(XINLIAN)
        .args(["key", "gen", "--out"])
        .arg(&path)
        .output()
        .unwrap();
    assert!(
        !overwrite.status.success(),
        "an existing key file must not be overwritten"
    );
}
