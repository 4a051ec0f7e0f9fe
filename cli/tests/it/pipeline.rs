//! The leader's pipeline against real node processes: with a backlog of more than a block, the
//! leader builds each block on the one still in flight, and every node commits the same chain
//! with every transaction in it.

use std::time::Duration;

use xinlian_core::Hash;
use xinlian_core::types::{Call, SystemCall};
use xinlian_sdk::keys;

use crate::cluster::{Cluster, metric, set_config};

const NODES: usize = 4;
const TXS: usize = 240;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_backlog_commits_through_pipelined_blocks_identical_on_every_node() {
    // Small blocks, so the backlog is many blocks long.
    let cluster = Cluster::start_with(NODES, |text| {
        set_config(text, "block_txs_max", "6");
        set_config(text, "block_interval_ms", "50");
    })
    .await;
    // One submitter per node, all at once, so the backlog outgrows a block.
    let mut submitters = Vec::new();
    for node in 0..NODES {
        let key = keys::read_key_file(&cluster.layout.admin_keys[node % 2], None).unwrap();
        let client = cluster.client(node);
        submitters.push(tokio::spawn(async move {
            let mut hashes = Vec::new();
            for i in (node..TXS).step_by(NODES) {
                let call = Call::System(SystemCall::RecordEvidence {
                    kind: "pipeline".into(),
                    digest: Hash([9; 32]),
                    memo: format!("{i}"),
                });
                let tx = client.sign_call(&key, call).await.unwrap();
                hashes.push((node, client.submit(&tx).await.unwrap()));
            }
            hashes
        }));
    }
    let mut hashes = Vec::new();
    for submitter in submitters {
        hashes.extend(submitter.await.unwrap());
    }
    let mut height = 0;
    for (i, hash) in &hashes {
        let status = cluster
            .client(*i)
            .wait_for_commit(hash, Duration::from_secs(60))
            .await
            .unwrap();
        assert!(status.receipt.unwrap().is_success());
        height = height.max(status.height.unwrap());
    }
    for i in 0..NODES {
        cluster.wait_height(i, height).await;
    }
    cluster.assert_identical(height).await;
    let leader = cluster.leader(None).await;
    let url = &cluster.layout.nodes[leader].http_url;
    let pipelined = metric(url, "xinlian_blocks_built_on_pending_total ").await;
    let reused = metric(url, "xinlian_block_outcomes_reused_total ").await;
    eprintln!(
        "pipeline: {TXS} transactions in {height} blocks; the leader built {pipelined} on the block in flight and applied {reused} with their build"
    );
    assert!(pipelined > 0, "no block was built on the block in flight");
    assert!(
        reused >= pipelined,
        "{reused} reused, {pipelined} pipelined"
    );
    // A follower timed every stage of applying the blocks it executed.
    let follower = &cluster.layout.nodes[(leader + 1) % NODES].http_url;
    for stage in ["checks", "signatures", "execute", "store"] {
        let name = format!("xinlian_apply_stage_seconds_count{{code=\"{stage}\"}} ");
        assert!(metric(follower, &name).await > 0, "no {stage} timings");
    }
}
