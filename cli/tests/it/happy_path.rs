//! Transactions signed with both schemes are committed by a real node, on either suite.

use std::time::Duration;

use xinlian_core::Hash;
use xinlian_core::api::TxState;
use xinlian_core::crypto::SignatureScheme;
use xinlian_core::genesis::Suite;
use xinlian_core::types::{Call, MemberRole, SystemCall};
use xinlian_sdk::events::ChainEvent;
use xinlian_sdk::{keys, proof};

use crate::harness::TestNode;

const WAIT: Duration = Duration::from_secs(30);

fn evidence(memo: &str) -> Call {
    Call::System(SystemCall::RecordEvidence {
        kind: "contract".into(),
        digest: Hash([3; 32]),
        memo: memo.into(),
    })
}

async fn both_schemes_commit(suite: Suite) {
    let node = TestNode::start(suite).await;
    let admin = node.admin(0);
    for scheme in [SignatureScheme::Sm2, SignatureScheme::Ed25519] {
        let operator = keys::generate(scheme).unwrap();
        let register = Call::System(SystemCall::RegisterMember {
            public_key: operator.public_key(),
            name: format!("operator {scheme}"),
            role: MemberRole::Operator,
        });
        let tx = node.client.sign_call(&admin, register).await.unwrap();
        let hash = node.client.submit(&tx).await.unwrap();
        let status = node.client.wait_for_commit(&hash, WAIT).await.unwrap();
        assert!(status.receipt.unwrap().is_success());

        let tx = node
            .client
            .sign_call(&operator, evidence("signed by operator"))
            .await
            .unwrap();
        let hash = node.client.submit(&tx).await.unwrap();
        let status = node.client.wait_for_commit(&hash, WAIT).await.unwrap();
        assert_eq!(status.status, TxState::Committed);
        assert!(
            status.receipt.as_ref().unwrap().is_success(),
            "{scheme}: {:?}",
            status.receipt
        );
        assert_eq!(status.tx.as_ref(), Some(&tx));

        // The block holds it, and its tx root proves it (offline checks, with the SDK).
        let block = node.client.block(status.height.unwrap()).await.unwrap();
        let chain_suite = suite.hash_suite();
        proof::verify_block(chain_suite, &block).unwrap();
        let inclusion = proof::prove_inclusion(chain_suite, &block.tx_hashes, &hash).unwrap();
        proof::verify_inclusion(chain_suite, &block.header.tx_root, &hash, &inclusion).unwrap();
        let mut forged = inclusion.clone();
        forged.path.push(Hash([0; 32]));
        assert!(
            proof::verify_inclusion(chain_suite, &block.header.tx_root, &hash, &forged).is_err()
        );
        block.header.verify_signature(&block.signature).unwrap();
    }
}

#[tokio::test]
async fn sm2_and_ed25519_transactions_commit_on_a_gm_chain() {
    both_schemes_commit(Suite::Gm).await;
}

#[tokio::test]
async fn sm2_and_ed25519_transactions_commit_on_an_intl_chain() {
    both_schemes_commit(Suite::Intl).await;
}

#[tokio::test]
async fn blocks_link_and_status_reports_the_chain() {
    let node = TestNode::start(Suite::Gm).await;
    let admin = node.admin(0);
    for i in 0..3 {
        let tx = node
            .client
            .sign_call(&admin, evidence(&format!("n{i}")))
            .await
            .unwrap();
        let hash = node.client.submit(&tx).await.unwrap();
        node.client.wait_for_commit(&hash, WAIT).await.unwrap();
    }
    let status = node.client.status().await.unwrap();
    assert!(status.height >= 3);
    let mut parent = status.genesis_hash;
    for height in 1..=status.height {
        let block = node.client.block(height).await.unwrap();
        assert_eq!(block.header.parent_hash, parent, "height {height}");
        parent = block.hash;
    }
    assert_eq!(parent, status.latest_hash);
    // The metric is set just after the head moves, so it may lag the status for an instant.
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    loop {
        let metrics = crate::harness::http_get(format!("{}/metrics", node.url()))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        if metrics.contains(&format!("xinlian_height {}", status.height)) {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "{metrics}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let openapi: serde_json::Value =
        crate::harness::http_get(format!("{}/openapi.json", node.url()))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
    assert!(openapi["paths"]["/v1/txs"]["post"].is_object());
}

#[tokio::test]
async fn the_event_stream_sends_blocks_with_outcomes_and_resumes() {
    let node = TestNode::start(Suite::Gm).await;
    let admin = node.admin(0);
    let mut live = node.client.events(None).await.unwrap();
    let mut hashes = Vec::new();
    for i in 0..3 {
        let tx = node
            .client
            .sign_call(&admin, evidence(&format!("e{i}")))
            .await
            .unwrap();
        hashes.push(node.client.submit(&tx).await.unwrap());
    }
    // Live: blocks arrive in order, and together they carry a success receipt for each.
    let mut seen = Vec::new();
    let mut last_height = 0;
    while seen.len() < hashes.len() {
        let event = tokio::time::timeout(WAIT, live.next())
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        let ChainEvent::Block(block) = event else {
            panic!("unexpected {event:?}")
        };
        assert!(block.height > last_height, "heights rise");
        last_height = block.height;
        for receipt in block.receipts {
            assert!(receipt.is_success(), "{receipt:?}");
            seen.push(receipt.tx_hash);
        }
    }
    seen.sort();
    hashes.sort();
    assert_eq!(seen, hashes);

    // Resumed from height 1: every block from the start, heights consecutive.
    let head = node.client.status().await.unwrap().height;
    let mut resumed = node.client.events(Some(1)).await.unwrap();
    for height in 1..=head {
        match tokio::time::timeout(WAIT, resumed.next())
            .await
            .unwrap()
            .unwrap()
            .unwrap()
        {
            ChainEvent::Block(block) => {
                assert_eq!(block.height, height);
                assert_eq!(block.hash, node.client.block(height).await.unwrap().hash);
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    // The standard resumption header works too, and bad starts are refused with a code.
    let http = crate::harness::http();
    let response = http
        .get(format!("{}/v1/events", node.url()))
        .header("Last-Event-ID", "not-a-height")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    let err = node.client.events(Some(head + 2)).await.unwrap_err();
    assert_eq!(err.node_code(), Some("bad_request"), "{err}");
    let response = http
        .get(format!("{}/v1/events?from_height=-1", node.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    let response = http
        .get(format!("{}/v1/events", node.url()))
        .header("Last-Event-ID", head.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["content-type"].to_str().unwrap(),
        "text/event-stream"
    );
}

#[tokio::test]
async fn event_streams_beyond_the_limit_are_refused_with_their_own_code() {
    let node = TestNode::start(Suite::Gm).await;
    let http = crate::harness::http();
    let url = format!("{}/v1/events", node.url());
    let mut open = Vec::new();
    for _ in 0..256 {
        let response = http.get(&url).send().await.unwrap();
        assert_eq!(response.status(), 200);
        open.push(response);
    }
    let refused = http.get(&url).send().await.unwrap();
    assert_eq!(refused.status(), 503);
    let body: serde_json::Value = refused.json().await.unwrap();
    assert_eq!(body["error"]["code"], "too_many_streams", "{body}");
    // The node still answers everything else.
    assert!(node.client.status().await.is_ok());
}
