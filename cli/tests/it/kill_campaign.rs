//! The kill -9 campaign (Jepsen's acknowledged-write rule with real processes): four nodes under
//! SM2 load, one node SIGKILLed at a time (the leader about half the time) and restarted after a
//! random pause, while clients record every transaction a node told them was committed. At the
//! end every node is up, all hold the same block at every height, and no acknowledged transaction
//! is missing or moved.
//!
//! `make test` runs a short campaign (`XINLIAN_KILLS`, 20 by default); `make kill-campaign` a long
//! one. `XINLIAN_KILL_SEED` replays a campaign's choices of victim and pause.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use tokio::sync::Mutex;
use xinlian_core::Hash;
use xinlian_core::api::TxState;
use xinlian_core::types::{Call, SystemCall};
use xinlian_sdk::{Client, keys};

use crate::cluster::{Cluster, assert_everywhere, metric, set_config};

const NODES: usize = 4;
const SUBMITTERS: usize = 4;
/// A restart that does not answer within this is a failed restart.
const RESTART_TIMEOUT: Duration = Duration::from_secs(30);

/// SplitMix64, seeded, for the campaign's choices.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        (z ^ (z >> 31)) % n
    }
}

fn env_u64(name: &str) -> Option<u64> {
    std::env::var(name).ok().and_then(|v| v.parse().ok())
}

/// Submits evidence through each node in turn until `stop`, recording what a node reports
/// committed, at which height. A node that is down or answers an error is simply skipped.
async fn submit(
    clients: Vec<Client>,
    key: xinlian_core::crypto::PrivateKey,
    worker: usize,
    stop: Arc<AtomicBool>,
    acknowledged: Arc<Mutex<HashMap<Hash, u64>>>,
) {
    for i in 0usize.. {
        if stop.load(Ordering::Relaxed) {
            return;
        }
        let client = &clients[(worker + i) % clients.len()];
        let call = Call::System(SystemCall::RecordEvidence {
            kind: "campaign".into(),
            digest: Hash([worker as u8; 32]),
            memo: format!("{worker}-{i}"),
        });
        let Ok(tx) = client.sign_call(&key, call).await else {
            tokio::time::sleep(Duration::from_millis(50)).await;
            continue;
        };
        let Ok(hash) = client.submit(&tx).await else {
            tokio::time::sleep(Duration::from_millis(50)).await;
            continue;
        };
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline && !stop.load(Ordering::Relaxed) {
            match client.tx(&hash).await {
                Ok(status) if status.status == TxState::Committed => {
                    let height = status.height.expect("committed has a height");
                    acknowledged.lock().await.insert(hash, height);
                    break;
                }
                Ok(_) => tokio::time::sleep(Duration::from_millis(25)).await,
                Err(_) => break,
            }
        }
    }
}

/// Waits for node `i` to answer its status; false if it did not within [`RESTART_TIMEOUT`] or its
/// process exited.
async fn answers(cluster: &mut Cluster, i: usize) -> bool {
    let deadline = Instant::now() + RESTART_TIMEOUT;
    while Instant::now() < deadline {
        if cluster.exited(i) {
            return false;
        }
        if cluster.client(i).status().await.is_ok() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    false
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn kill_9_campaign_under_load_loses_no_acknowledged_transaction() {
    let kills = env_u64("XINLIAN_KILLS").unwrap_or(20);
    let seed = env_u64("XINLIAN_KILL_SEED").unwrap_or_else(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos() as u64
    });
    eprintln!("kill campaign: {kills} kills, XINLIAN_KILL_SEED={seed}");
    let mut rng = Rng(seed);
    // Short blocks and a short kept log, so kills land inside block commits and restarted
    // nodes also catch up through snapshots and block sync; blocks of at most two transactions,
    // so the four submitters keep more than a block waiting and the leader builds blocks on the
    // one in flight (the pipeline) while it is killed.
    let mut cluster = Cluster::start_with(NODES, |text| {
        set_config(text, "block_interval_ms", "50");
        set_config(text, "raft_log_kept_entries", "20");
        set_config(text, "block_txs_max", "2");
    })
    .await;
    let clients: Vec<Client> = (0..NODES).map(|i| cluster.client(i)).collect();
    let stop = Arc::new(AtomicBool::new(false));
    let acknowledged = Arc::new(Mutex::new(HashMap::new()));
    let mut workers = Vec::new();
    for worker in 0..SUBMITTERS {
        let key = keys::read_key_file(&cluster.layout.admin_keys[worker % 2], None).unwrap();
        workers.push(tokio::spawn(submit(
            clients.clone(),
            key,
            worker,
            stop.clone(),
            acknowledged.clone(),
        )));
    }

    let started = Instant::now();
    let (mut leader_kills, mut failed_restarts) = (0, Vec::new());
    for kill in 0..kills {
        let victim = if rng.below(2) == 0 {
            leader_kills += 1;
            cluster.leader(None).await
        } else {
            rng.below(NODES as u64) as usize
        };
        // Let the load run a little between kills.
        tokio::time::sleep(Duration::from_millis(200 + rng.below(800))).await;
        cluster.kill_9(victim);
        tokio::time::sleep(Duration::from_millis(100 + rng.below(1_500))).await;
        cluster.spawn(victim);
        if !answers(&mut cluster, victim).await {
            failed_restarts.push(format!(
                "kill {kill}: node{victim}: {}",
                cluster.log_tail(victim)
            ));
            // Keep the campaign honest about what follows: a node that did not come back is
            // started again so the remaining checks see four nodes.
            cluster.kill_9(victim);
            cluster.spawn(victim);
        }
    }
    let campaign = started.elapsed();
    stop.store(true, Ordering::Relaxed);
    for worker in workers {
        worker.await.unwrap();
    }
    assert!(
        failed_restarts.is_empty(),
        "{} failed restarts (seed {seed}):\n{}",
        failed_restarts.len(),
        failed_restarts.join("\n")
    );

    // Every node up and at the same height, the same blocks everywhere.
    let leader = cluster.leader(None).await;
    let (_, height) = cluster.commit_via(leader, "after the campaign").await;
    for i in 0..NODES {
        cluster.wait_height(i, height).await;
    }
    cluster.assert_identical(height).await;
    let acknowledged = acknowledged.lock().await.clone();
    assert!(
        acknowledged.len() as u64 >= kills,
        "the load committed too little to mean anything: {}",
        acknowledged.len()
    );
    assert_everywhere(&clients, &acknowledged, &format!("seed {seed}")).await;
    // A SIGKILL leaves no trace in a log, but a restart that panicked or found its store corrupt
    // would, and so would a transport dropping peer streams for want of capacity: the logs of
    // all runs of every node must hold none of them.
    for node in &cluster.layout.nodes {
        let log = std::fs::read_to_string(&node.log_file).unwrap();
        for bad in ["panicked", "corrupt", "Dropping inbound stream"] {
            assert!(
                !log.contains(bad),
                "{}'s log mentions {bad:?} (seed {seed}):\n{}",
                node.id,
                log.lines()
                    .filter(|l| l.contains(bad))
                    .take(5)
                    .collect::<Vec<_>>()
                    .join("\n")
            );
        }
    }
    // Counted since each node's last start: a lower bound on the campaign's pipelined blocks.
    let mut pipelined = 0;
    for node in &cluster.layout.nodes {
        pipelined += metric(&node.http_url, "xinlian_blocks_built_on_pending_total ").await;
    }
    eprintln!(
        "kill campaign: {kills} kills ({leader_kills} of the leader) in {:.0?}, 0 failed restarts, {} acknowledged transactions all present on all {NODES} nodes, {height} identical blocks, at least {pipelined} built on the block in flight (seed {seed})",
        campaign,
        acknowledged.len()
    );
}
