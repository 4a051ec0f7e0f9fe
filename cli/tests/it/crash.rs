//! Durability: SIGKILL a node under load; after restart every transaction it reported committed
//! is still committed at the same height, and the chain carries on.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Mutex;
use xinlian_core::Hash;
use xinlian_core::api::TxState;
use xinlian_core::genesis::Suite;
use xinlian_core::types::{Call, SystemCall};
use xinlian_sdk::Client;

use crate::harness::TestNode;

const SUBMITTERS: usize = 4;

/// Submits evidence transactions until stopped, recording those the node reports committed.
async fn load(
    client: Client,
    key: xinlian_core::crypto::PrivateKey,
    worker: usize,
    committed: Arc<Mutex<HashMap<Hash, u64>>>,
) {
    for i in 0.. {
        let call = Call::System(SystemCall::RecordEvidence {
            kind: "load".into(),
            digest: Hash([worker as u8; 32]),
            memo: format!("{worker}-{i}"),
        });
        let Ok(tx) = client.sign_call(&key, call).await else {
            return;
        };
        let Ok(hash) = client.submit(&tx).await else {
            return;
        };
        // Poll until committed or the node is gone.
        loop {
            match client.tx(&hash).await {
                Ok(status) if status.status == TxState::Committed => {
                    committed
                        .lock()
                        .await
                        .insert(hash, status.height.expect("committed has a height"));
                    break;
                }
                Ok(_) => tokio::time::sleep(Duration::from_millis(20)).await,
                Err(_) => return,
            }
        }
    }
}

const ROUNDS: usize = 3;
const COMMITS_PER_ROUND: usize = 30;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sigkill_under_load_loses_nothing_reported_committed() {
    let mut node = TestNode::start(Suite::Gm).await;
    let committed = Arc::new(Mutex::new(HashMap::new()));
    for round in 1..=ROUNDS {
        let mut workers = Vec::new();
        for worker in 0..SUBMITTERS {
            let key = node.admin(worker % 2);
            workers.push(tokio::spawn(load(
                node.client.clone(),
                key,
                worker * ROUNDS + round,
                committed.clone(),
            )));
        }
        // Let blocks accumulate, then kill without warning while submissions are in flight.
        let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
        while committed.lock().await.len() < round * COMMITS_PER_ROUND {
            assert!(
                tokio::time::Instant::now() < deadline,
                "round {round}: too few commits before the kill"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        node.kill_9();
        for worker in workers {
            let _ = worker.await;
        }
        node.spawn().await;
        let reported = committed.lock().await.clone();
        for (hash, height) in &reported {
            let status = node
                .client
                .tx(hash)
                .await
                .expect("committed transaction is known after restart");
            assert_eq!(
                status.status,
                TxState::Committed,
                "round {round}: {hash} lost"
            );
            assert_eq!(status.height, Some(*height), "round {round}: {hash} moved");
        }
    }
    // The chain links up and carries on.
    let height_after_restart = node.client.status().await.unwrap().height;
    let call = Call::System(SystemCall::RecordEvidence {
        kind: "after-crash".into(),
        digest: Hash([9; 32]),
        memo: String::new(),
    });
    let tx = node.client.sign_call(&node.admin(0), call).await.unwrap();
    let hash = node.client.submit(&tx).await.unwrap();
    let status = node
        .client
        .wait_for_commit(&hash, Duration::from_secs(30))
        .await
        .unwrap();
    assert!(status.height.unwrap() > height_after_restart);
    let mut parent = node.client.status().await.unwrap().genesis_hash;
    for height in 1..=status.height.unwrap() {
        let block = node.client.block(height).await.unwrap();
        assert_eq!(
            block.header.parent_hash, parent,
            "height {height} does not link"
        );
        parent = block.hash;
    }
}
