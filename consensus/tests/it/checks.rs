//! Safety, durability and liveness over many seeds, and determinism of a seed.

use xinlian_consensus::{Driver, DriverConfig, DropReason, MemLogStore, Message, MessageType};

use crate::sim::{Cluster, ELECTION_TICKS, Faults};

const HOSTILE_TICKS: u64 = 1_500;
const PROPOSE_PER_MILLE: u64 = 300;
/// After healing, a new block must be applied everywhere within this many ticks: a few election
/// timeouts (each at most twice `ELECTION_TICKS`) plus replication.
const LIVENESS_TICKS_MAX: u64 = 40 * ELECTION_TICKS as u64;

fn seeds() -> u64 {
    std::env::var("XINLIAN_SIM_SEEDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(200)
}

/// Runs one seeded scenario and returns the cluster for inspection; panics with the seed on any
/// violated property.
fn run(seed: u64) -> Cluster {
    let size = if seed.is_multiple_of(2) { 5 } else { 3 };
    let mut cluster = Cluster::new(seed, size, Faults::HOSTILE);
    for _ in 0..HOSTILE_TICKS {
        cluster.step(PROPOSE_PER_MILLE);
    }
    cluster.heal();
    cluster.set_faults(Faults::NONE);
    let marker = format!("liveness-marker-{seed}").into_bytes();
    let healed_at = cluster.now;
    // A proposal can be lost when leadership changes before it commits; like a client, retry
    // until it shows up.
    let mut last_proposal: Option<u64> = None;
    while cluster.now - healed_at <= LIVENESS_TICKS_MAX {
        cluster.step(0);
        let applied_everywhere = cluster
            .ids()
            .all(|id| cluster.applied(id).values().any(|d| *d == marker));
        if applied_everywhere {
            break;
        }
        let retry_due =
            last_proposal.is_none_or(|at| cluster.now - at >= 3 * ELECTION_TICKS as u64);
        if retry_due && cluster.propose_marker(&marker) {
            last_proposal = Some(cluster.now);
        }
    }
    let replay = format!("rerun with XINLIAN_SIM_SEED={seed}");
    assert!(
        cluster.violations.is_empty(),
        "safety: {:?} ({replay})",
        cluster.violations
    );
    assert!(
        cluster
            .ids()
            .all(|id| cluster.applied(id).values().any(|d| *d == marker)),
        "liveness: no block applied on every node within {LIVENESS_TICKS_MAX} ticks of healing ({replay})\n{}",
        cluster.describe()
    );
    // Let stragglers finish, then every acknowledged block must be on every node.
    for _ in 0..LIVENESS_TICKS_MAX {
        cluster.step(0);
    }
    for id in cluster.ids() {
        let applied: std::collections::BTreeSet<&Vec<u8>> = cluster.applied(id).values().collect();
        for acked in &cluster.acknowledged {
            assert!(
                applied.contains(acked),
                "durability: node {id} lacks acknowledged {:?} ({replay})",
                String::from_utf8_lossy(acked)
            );
        }
    }
    cluster
}

/// Safety (one block per index, ever), durability (acknowledged blocks survive) and liveness
/// (progress after healing) under drops, duplicates, delays, partitions and crash-restarts.
#[test]
fn safety_durability_liveness_over_many_seeds() {
    if let Some(seed) = std::env::var("XINLIAN_SIM_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
    {
        run(seed);
        return;
    }
    let (mut acknowledged, mut restarts) = (0, 0);
    for seed in 0..seeds() {
        let cluster = run(seed);
        acknowledged += cluster.acknowledged.len();
        restarts += cluster.restarts();
    }
    // The scenarios must actually exercise something.
    assert!(
        acknowledged > seeds() as usize * 20,
        "too few blocks committed: {acknowledged}"
    );
    assert!(restarts > seeds(), "too few crash-restarts: {restarts}");
}

/// The same seed gives the same run, to the message.
#[test]
fn a_seed_replays_exactly() {
    for seed in [3, 42] {
        let (a, b) = (run(seed), run(seed));
        assert_eq!(a.fingerprint(), b.fingerprint(), "seed {seed}");
        assert_eq!(a.history, b.history, "seed {seed}");
    }
}

fn member(id: u64) -> Driver<MemLogStore> {
    let config = DriverConfig {
        id,
        ..DriverConfig::default()
    };
    Driver::new(config, MemLogStore::with_voters(vec![1, 2, 3]), 0, 7).unwrap()
}

fn message(from: u64, to: u64, kind: MessageType, term: u64) -> Message {
    let mut m = Message::default();
    m.set_msg_type(kind);
    m.from = from;
    m.to = to;
    m.term = term;
    m
}

/// Peer messages that could not have come from a member are dropped and counted, never stepped.
#[test]
fn impossible_peer_messages_are_dropped_and_counted() {
    let mut driver = member(1);
    let cases = [
        (
            message(2, 9, MessageType::MsgHeartbeat, 1),
            DropReason::WrongRecipient,
        ),
        (
            message(7, 1, MessageType::MsgHeartbeat, 1),
            DropReason::UnknownPeer,
        ),
        (
            message(2, 1, MessageType::MsgHup, 1),
            DropReason::LocalOnlyType,
        ),
        (
            message(2, 1, MessageType::MsgHeartbeat, u64::MAX),
            DropReason::ImpossibleTerm,
        ),
    ];
    for (m, reason) in cases {
        assert_eq!(driver.step(m), Err(reason));
    }
    assert_eq!(driver.dropped().values().sum::<u64>(), 4);
    assert_eq!(driver.term(), 0, "no dropped message may move the term");
}

#[test]
fn config_errors_name_the_field() {
    let bad = DriverConfig {
        election_ticks: 3,
        heartbeat_ticks: 2,
        ..DriverConfig::default()
    };
    let err = Driver::new(bad, MemLogStore::with_voters(vec![1]), 0, 0)
        .err()
        .unwrap();
    assert!(err.to_string().contains("election_ticks"), "{err}");
    let zero = DriverConfig {
        id: 0,
        ..DriverConfig::default()
    };
    assert!(Driver::new(zero, MemLogStore::with_voters(vec![1]), 0, 0).is_err());
}

#[test]
fn only_the_leader_proposes() {
    let mut driver = member(2);
    assert!(driver.propose(b"block".to_vec()).is_err());
}
