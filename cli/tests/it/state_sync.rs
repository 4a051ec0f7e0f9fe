//! Certified snapshot bootstrap (issue 13) between real node processes: a node whose store was
//! wiped, with the leader's Raft log compacted past it, takes the state at a certified height
//! from a peer (each chunk checked against the certified state root), fetches the recent blocks
//! without executing them, follows the chain from there, and then agrees with the others block
//! for block, answers proven queries that verify, and refuses a replayed transaction. After
//! governance changed the voters, a wiped node that knows only the genesis voters follows the
//! changes the offer carries to check its certificate, and then serves those changes itself.

use xinlian_core::licence::LicenceStatus;
use xinlian_core::proof::Trust;

use crate::cluster::Cluster;

/// Raft logs compacted after two entries, and a snapshot taken five blocks behind.
fn snapshot_soon(text: &mut String) {
    *text = text
        .replace("raft_log_kept_entries = 1000", "raft_log_kept_entries = 2")
        .replace("state_sync_min_blocks = 1000", "state_sync_min_blocks = 5");
}

/// Node `i`'s log says it took a certified snapshot.
fn assert_bootstrapped(cluster: &Cluster, i: usize) {
    let log = std::fs::read_to_string(&cluster.layout.nodes[i].log_file).unwrap();
    assert!(
        log.contains("bootstrapped from a certified snapshot"),
        "the node did not bootstrap from a snapshot:\n{}",
        cluster.log_tail(i)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_wiped_node_bootstraps_from_a_certified_snapshot_and_then_agrees_block_for_block() {
    let mut cluster = Cluster::start_with(4, snapshot_soon).await;
    let leader = cluster.leader(None).await;
    let demo = xinlian_testnet::load_demo(&cluster.layout).await.unwrap();
    let down = (leader + 1) % 4;
    cluster.kill_9(down);
    std::fs::remove_dir_all(&cluster.layout.nodes[down].data_dir).unwrap();
    let mut last = (xinlian_core::Hash::ZERO, 0);
    let mut while_wiped = Vec::new();
    for n in 0..8 {
        last = cluster
            .commit_via(leader, &format!("while-wiped-{n}"))
            .await;
        while_wiped.push(last);
    }
    cluster.spawn(down);
    cluster.wait_height(down, last.1).await;
    assert_bootstrapped(&cluster, down);

    // It follows the chain from there: blocks committed through it land everywhere, and every
    // node holds the same blocks, the ones below the snapshot included.
    for n in 0..3 {
        last = cluster.commit_via(down, &format!("after-{n}")).await;
    }
    for i in 0..4 {
        cluster.wait_height(i, last.1).await;
    }
    cluster.assert_identical(last.1).await;
    let mut roots = Vec::new();
    for i in 0..4 {
        roots.push(
            cluster
                .client(i)
                .block(last.1)
                .await
                .unwrap()
                .header
                .state_root,
        );
    }
    assert!(roots.windows(2).all(|w| w[0] == w[1]), "{roots:?}");

    // Its state is the chain's: a proven answer from it verifies against the genesis.
    let trust =
        Trust::from_genesis(&xinlian_node::load_genesis(&cluster.layout.genesis_file).unwrap());
    let revoked = demo
        .licences
        .iter()
        .find(|l| l.what.contains("已吊销"))
        .unwrap();
    let proven = cluster
        .client(down)
        .licence_proven(&revoked.id, &trust)
        .await
        .unwrap();
    assert_eq!(proven.answer.status, LicenceStatus::Revoked);

    // Transactions committed before the snapshot are known as committed there (from the
    // blocks it fetched without executing), so none can be replayed through it.
    for (hash, height) in &while_wiped {
        let status = cluster.client(down).tx(hash).await.unwrap();
        assert_eq!(status.height, Some(*height), "{hash}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn after_the_voters_changed_a_wiped_node_follows_them_to_a_certified_snapshot() {
    let mut cluster = Cluster::start_with(3, snapshot_soon).await;
    cluster.leader(None).await;
    let (_, change) = cluster.spawn_joiner_with(false, snapshot_soon).await;
    cluster.admit_fourth_voter(change).await;
    // A genesis node is wiped: it knows only the three genesis voters, while the blocks it
    // missed are certified by three of the four, the new one among them (one of the four is
    // down, and a certificate needs three).
    let leader = cluster.leader(None).await;
    let down = (0..3).find(|i| *i != leader).unwrap();
    cluster.kill_9(down);
    std::fs::remove_dir_all(&cluster.layout.nodes[down].data_dir).unwrap();
    let mut last = (xinlian_core::Hash::ZERO, 0);
    for n in 0..8 {
        last = cluster
            .commit_via(leader, &format!("while-wiped-{n}"))
            .await;
    }
    cluster.spawn(down);
    cluster.wait_height(down, last.1).await;
    assert_bootstrapped(&cluster, down);
    // It keeps the change it followed, and serves it: a client that trusts only the genesis
    // follows the voters through it.
    let genesis =
        Trust::from_genesis(&xinlian_node::load_genesis(&cluster.layout.genesis_file).unwrap());
    let followed = cluster
        .client(down)
        .follow_voter_changes(&genesis, None)
        .await
        .unwrap();
    assert_eq!(followed.voters.len(), 4);
    let voters = cluster.client(leader).voters_at(last.1).await.unwrap();
    assert_eq!(followed.voters, voters.voter_set());
    // And it takes part: a block committed through it lands everywhere, certified.
    let through = cluster
        .commit_via(down, "through the bootstrapped node")
        .await;
    for i in 0..4 {
        cluster.wait_height(i, through.1).await;
    }
    cluster.assert_identical(through.1).await;
    cluster
        .assert_certified(down, through.1, &voters.voter_set())
        .await;
}
