//! Safety, durability and liveness over many seeds, and determinism of a seed.

use xinlian_consensus::{
    Driver, DriverConfig, DropReason, MemLogStore, Message, MessageType, Stepped,
};

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
        .unwrap_or(500)
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

/// Safety (one block per index, ever, and none applied twice), durability (acknowledged blocks
/// survive) and liveness (progress after healing) under drops, duplicates, delays, partitions
/// and crash-restarts, half of them at a durable write inside `Ready` handling (after applying a
/// block and before the hard state, inside snapshot handling, ...).
#[test]
fn safety_durability_liveness_over_many_seeds() {
    if let Some(seed) = std::env::var("XINLIAN_SIM_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
    {
        run(seed);
        return;
    }
    let (mut acknowledged, mut restarts, mut mid_ready) = (0, 0, 0);
    for seed in 0..seeds() {
        let cluster = run(seed);
        acknowledged += cluster.acknowledged.len();
        restarts += cluster.restarts();
        mid_ready += cluster.mid_ready_crashes;
    }
    eprintln!(
        "{} seeds: {acknowledged} blocks acknowledged, {restarts} restarts, {mid_ready} of them from crashes inside Ready handling",
        seeds()
    );
    // The scenarios must actually exercise something.
    assert!(
        acknowledged > seeds() as usize * 20,
        "too few blocks committed: {acknowledged}"
    );
    assert!(restarts > seeds(), "too few crash-restarts: {restarts}");
    assert!(
        mid_ready > seeds() / 2,
        "too few crashes inside Ready handling: {mid_ready}"
    );
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
            message(7, 1, MessageType::MsgRequestVote, 1),
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

/// Raft tolerates crashes, not lies: a member's messages count only as far as its role allows
/// (`peer_check`), and nothing dropped moves the term.
#[test]
fn peer_messages_beyond_their_role_are_dropped() {
    let config = DriverConfig {
        id: 1,
        ..DriverConfig::default()
    };
    let store = MemLogStore::with_members(vec![1, 2, 3], vec![4]);
    let mut driver = Driver::new(config, store, 0, 7).unwrap();
    // Voter 2 leads term 5.
    assert_eq!(
        driver.step(message(2, 1, MessageType::MsgHeartbeat, 5)),
        Ok(Stepped::Whole)
    );
    let cases = [
        // A voter's proposal (a block or a conf change) would bypass this node's checks.
        (
            message(3, 1, MessageType::MsgPropose, 5),
            DropReason::PeerProposal,
        ),
        (
            message(3, 1, MessageType::MsgTransferLeader, 5),
            DropReason::LeadershipTransfer,
        ),
        // Campaign-now from a voter that is not this term's leader.
        (
            message(3, 1, MessageType::MsgTimeoutNow, 5),
            DropReason::LeadershipTransfer,
        ),
        (
            message(3, 1, MessageType::MsgReadIndex, 5),
            DropReason::Unused,
        ),
        // A learner neither votes nor campaigns, and leads no term behind ours.
        (
            message(4, 1, MessageType::MsgRequestVote, 6),
            DropReason::LearnerRole,
        ),
        (
            message(4, 1, MessageType::MsgRequestPreVote, 6),
            DropReason::LearnerRole,
        ),
        (
            message(4, 1, MessageType::MsgRequestVoteResponse, 5),
            DropReason::LearnerRole,
        ),
        (
            message(4, 1, MessageType::MsgAppend, 4),
            DropReason::LearnerRole,
        ),
        (
            message(4, 1, MessageType::MsgHeartbeat, 4),
            DropReason::LearnerRole,
        ),
        (
            message(4, 1, MessageType::MsgSnapshot, 4),
            DropReason::LearnerRole,
        ),
        (
            message(4, 1, MessageType::MsgTimeoutNow, 5),
            DropReason::LearnerRole,
        ),
        // Nor does a stranger vote.
        (
            message(9, 1, MessageType::MsgRequestVote, 6),
            DropReason::UnknownPeer,
        ),
    ];
    for (m, reason) in cases {
        let kind = m.get_msg_type();
        assert_eq!(driver.step(m), Err(reason), "{kind:?}");
    }
    assert_eq!(
        (driver.term(), driver.leader()),
        (5, Some(2)),
        "no dropped message may move the term or the leader"
    );
    assert_eq!(driver.dropped().values().sum::<u64>(), 12);
    // What a learner may send: the answers to the leader's appends and heartbeats; and, since
    // this node may lag behind its promotion, the messages of a leader of a later term.
    assert_eq!(
        driver.step(message(4, 1, MessageType::MsgHeartbeatResponse, 5)),
        Ok(Stepped::Whole)
    );
    assert_eq!(
        driver.step(message(4, 1, MessageType::MsgHeartbeat, 6)),
        Ok(Stepped::Whole)
    );
    assert_eq!((driver.term(), driver.leader()), (6, Some(4)));
}

/// The application that refuses or admits every membership change.
struct Verdict(bool, Vec<u64>);

impl xinlian_consensus::Application for Verdict {
    fn apply_entry(&mut self, _: u64, _: u64, _: &[u8]) -> xinlian_consensus::Result<()> {
        Ok(())
    }
    fn admit_membership(
        &mut self,
        _: u64,
        _: &[xinlian_consensus::MemberChange],
    ) -> xinlian_consensus::Result<bool> {
        Ok(self.0)
    }
    fn membership_applied(
        &mut self,
        index: u64,
        _: &[u64],
        _: &[u64],
    ) -> xinlian_consensus::Result<()> {
        self.1.push(index);
        Ok(())
    }
    fn catch_up(&mut self, _: u64, _: u64, _: &[u8]) -> xinlian_consensus::Result<()> {
        Ok(())
    }
    fn snapshot_applied(&mut self, _: u64) -> xinlian_consensus::Result<()> {
        Ok(())
    }
}

/// A committed conf change enters Raft's membership only if the application finds it matches
/// committed state; a refused one still counts as applied, so the log moves on.
#[test]
fn committed_membership_changes_need_the_applications_verdict() {
    for admit in [false, true] {
        let config = DriverConfig {
            id: 1,
            ..DriverConfig::default()
        };
        let mut driver = Driver::new(config, MemLogStore::with_voters(vec![1]), 0, 7).unwrap();
        driver.campaign().unwrap();
        let mut app = Verdict(admit, Vec::new());
        for _ in 0..3 {
            driver.process_ready(&mut app).unwrap();
        }
        assert!(driver.is_leader());
        let mut change = xinlian_consensus::ConfChange {
            node_id: 2,
            ..Default::default()
        };
        change.set_change_type(xinlian_consensus::ConfChangeType::AddLearnerNode);
        driver.propose_membership(change).unwrap();
        for _ in 0..3 {
            driver.process_ready(&mut app).unwrap();
        }
        assert_eq!(app.1.len(), 1, "the entry was handled once");
        let expected: Vec<u64> = if admit { vec![2] } else { vec![] };
        assert_eq!(driver.learners(), expected, "admit = {admit}");
        assert!(!driver.membership_change_pending());
    }
}

/// The crash of the issue: a block applied (its batch records the index) before the hard state
/// saying it is committed was saved. The restart must neither panic nor lose the block.
#[test]
fn a_restart_with_applied_beyond_the_saved_commit_index_recovers() {
    use raft::eraftpb::{Entry, HardState};
    use xinlian_consensus::LogStore as _;
    let mut store = MemLogStore::with_voters(vec![1, 2, 3]);
    let entries: Vec<Entry> = (1..=5)
        .map(|index| Entry {
            index,
            term: 1,
            data: vec![index as u8].into(),
            ..Default::default()
        })
        .collect();
    store.append(&entries).unwrap();
    store
        .set_hard_state(&HardState {
            term: 1,
            vote: 2,
            commit: 3,
            ..Default::default()
        })
        .unwrap();
    let config = DriverConfig {
        id: 1,
        ..DriverConfig::default()
    };
    let driver = Driver::new(config, store, 5, 7).unwrap();
    assert_eq!(driver.commit_index(), 5);
}

/// A crash after the log store recorded a snapshot but before the application recorded its
/// index: the application holds everything up to it (it caught up first), so the restart
/// starts from the snapshot point instead of panicking on an applied index behind the log.
#[test]
fn a_restart_between_storing_a_snapshot_and_recording_it_recovers() {
    use raft::eraftpb::Snapshot;
    use xinlian_consensus::LogStore as _;
    let mut store = MemLogStore::with_voters(vec![1, 2, 3]);
    let mut snapshot = Snapshot::default();
    snapshot.mut_metadata().index = 40;
    snapshot.mut_metadata().term = 3;
    snapshot
        .mut_metadata()
        .set_conf_state(xinlian_consensus::ConfState::from((vec![1, 2, 3], vec![])));
    store.apply_snapshot(&snapshot).unwrap();
    let config = DriverConfig {
        id: 1,
        ..DriverConfig::default()
    };
    let driver = Driver::new(config, store, 12, 7).unwrap();
    assert_eq!(driver.commit_index(), 40);
    // An application ahead of everything durable in the log is another store's: refused.
    let config = DriverConfig {
        id: 1,
        ..DriverConfig::default()
    };
    let err = Driver::new(config, MemLogStore::with_voters(vec![1]), 9, 7)
        .err()
        .unwrap();
    assert!(err.to_string().contains("applied index 9"), "{err}");
}

/// One term has one leader: once this node follows a leader, another member's appends,
/// heartbeats and snapshots in the same term are dropped; and a heartbeat that commits beyond
/// this node's log (a forged one, or a leader's stale memory after this node was restored from a
/// backup) cannot abort the process: it is stepped without its commit.
#[test]
fn only_the_terms_leader_leads_and_no_heartbeat_commits_beyond_the_log() {
    let mut driver = member(1);
    let mut heartbeat = message(2, 1, MessageType::MsgHeartbeat, 3);
    heartbeat.commit = u64::MAX / 2;
    assert_eq!(driver.step(heartbeat), Ok(Stepped::WithoutCommit));
    assert_eq!((driver.term(), driver.leader()), (3, Some(2)));
    assert_eq!(driver.commit_index(), 0);
    for kind in [
        MessageType::MsgHeartbeat,
        MessageType::MsgAppend,
        MessageType::MsgSnapshot,
    ] {
        assert_eq!(
            driver.step(message(3, 1, kind, 3)),
            Err(DropReason::NotLeader),
            "{kind:?}"
        );
    }
    assert_eq!(driver.leader(), Some(2));
    // A later term may have another leader.
    assert_eq!(
        driver.step(message(3, 1, MessageType::MsgHeartbeat, 4)),
        Ok(Stepped::Whole)
    );
    assert_eq!(driver.leader(), Some(3));
}

/// One step of the membership plan: add node 4 as a learner, promote it, then remove node 1
/// (handing leadership away first if node 1 leads). Proposed through whoever leads, one change
/// at a time, as the node's reconciliation does.
fn advance_membership(cluster: &mut Cluster) {
    use xinlian_consensus::{ConfChange, ConfChangeType};
    let Some(leader) = cluster.leader_driver() else {
        return;
    };
    if leader.membership_change_pending() {
        return;
    }
    let (voters, learners) = (leader.voters(), leader.learners());
    let change = |node_id: u64, kind: ConfChangeType| {
        let mut change = ConfChange {
            node_id,
            ..Default::default()
        };
        change.set_change_type(kind);
        change
    };
    if !voters.contains(&4) && !learners.contains(&4) {
        let _ = leader.propose_membership(change(4, ConfChangeType::AddLearnerNode));
    } else if learners.contains(&4) && leader.matched(4) + 4 >= leader.last_index() {
        let _ = leader.propose_membership(change(4, ConfChangeType::AddNode));
    } else if voters.contains(&1) && voters.contains(&4) {
        if leader.id() == 1 {
            leader.transfer_leadership(2);
        } else {
            let _ = leader.propose_membership(change(1, ConfChangeType::RemoveNode));
        }
    }
}

/// Membership changes under the same faults (drops, partitions, crashes inside `Ready`): a
/// learner is added and promoted and a founder removed, and still no index is applied twice or
/// differently, every acknowledged block survives on the final members, and they agree on who
/// they are.
#[test]
fn membership_changes_under_faults_keep_safety_and_converge() {
    let seeds = seeds();
    let mut completed = 0;
    for seed in 0..seeds {
        let mut cluster = Cluster::with_spares(seed, 3, 1, Faults::HOSTILE);
        for _ in 0..HOSTILE_TICKS {
            cluster.step(PROPOSE_PER_MILLE);
            advance_membership(&mut cluster);
        }
        cluster.heal();
        cluster.set_faults(Faults::NONE);
        let finals = [2u64, 3, 4];
        let marker = format!("membership-marker-{seed}").into_bytes();
        let mut last_proposal: Option<u64> = None;
        let started = cluster.now;
        let done = |cluster: &Cluster| {
            finals.iter().all(|id| {
                cluster.members_of(*id) == Some((finals.to_vec(), vec![]))
                    && cluster.applied(*id).values().any(|d| *d == marker)
            })
        };
        while !done(&cluster) && cluster.now - started <= 4 * LIVENESS_TICKS_MAX {
            cluster.step(0);
            advance_membership(&mut cluster);
            let retry_due =
                last_proposal.is_none_or(|at| cluster.now - at >= 3 * ELECTION_TICKS as u64);
            if retry_due && cluster.propose_marker(&marker) {
                last_proposal = Some(cluster.now);
            }
        }
        let replay = format!("rerun with seed {seed}");
        assert!(
            cluster.violations.is_empty(),
            "safety: {:?} ({replay})",
            cluster.violations
        );
        assert!(
            done(&cluster),
            "membership or liveness not reached ({replay})\n{}",
            cluster.describe()
        );
        for id in finals {
            let applied: std::collections::BTreeSet<&Vec<u8>> =
                cluster.applied(id).values().collect();
            for acked in &cluster.acknowledged {
                assert!(
                    applied.contains(acked),
                    "durability: node {id} lacks acknowledged {:?} ({replay})",
                    String::from_utf8_lossy(acked)
                );
            }
        }
        completed += 1;
    }
    assert_eq!(completed, seeds);
}
