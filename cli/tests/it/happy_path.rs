//! Transactions signed with both schemes are committed by a real node, on either suite.

use std::time::Duration;

use xinlian_core::api::TxState;
use xinlian_core::crypto::SignatureScheme;
use xinlian_core::genesis::Suite;
use xinlian_core::types::{Call, MemberRole, SystemCall};
use xinlian_core::{Hash, merkle};
use xinlian_sdk::keys;

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

        // The block holds it, and its tx root proves it (offline check, as the SDK would).
        let block = node.client.block(status.height.unwrap()).await.unwrap();
        let index = block
            .tx_hashes
            .iter()
            .position(|h| *h == hash)
            .expect("tx in its block");
        let chain_suite = suite.hash_suite();
        let leaves: Vec<Hash> = block
            .tx_hashes
            .iter()
            .map(|h| merkle::leaf_hash(chain_suite, h.as_bytes()))
            .collect();
        let proof = merkle::prove(chain_suite, &leaves, index).unwrap();
        proof
            .verify(chain_suite, &leaves[index], &block.header.tx_root)
            .unwrap();
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
    let metrics = reqwest::get(format!("{}/metrics", node.url()))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains(&format!("xinlian_height {}", status.height)),
        "{metrics}"
    );
    let openapi: serde_json::Value = reqwest::get(format!("{}/openapi.json", node.url()))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(openapi["paths"]["/v1/txs"]["post"].is_object());
}
