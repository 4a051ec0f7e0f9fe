//! The chain on one node, in one process: verify-once, time steps, fail-stop, mempool shares.

use xinlian_core::crypto::{PrivateKey, SignatureScheme};
use xinlian_core::genesis::{Genesis, GenesisNode, GenesisOrganisation, Suite};
use xinlian_core::ids::Uscc;
use xinlian_core::limits::BLOCK_TIME_STEP_MS_MAX;
use xinlian_core::types::{
    Block, BlockHeader, Call, OrgRole, SignedTransaction, SystemCall, Transaction,
};

use super::*;

pub(super) fn key(seed: u8) -> PrivateKey {
    PrivateKey::from_seed(SignatureScheme::Sm2, [seed; 32]).unwrap()
}

fn chain(dir: &std::path::Path) -> Chain {
    open_chain(dir, "n", test_genesis(), key(2), "peer")
}

/// A chain in `dir` run as node `node_id` with `node_key` and transport peer id `peer`.
pub(super) fn open_chain(
    dir: &std::path::Path,
    node_id: &str,
    genesis: Genesis,
    node_key: PrivateKey,
    peer: &str,
) -> Chain {
    let config = Config::new(
        node_id,
        dir.join("data"),
        dir.join("g"),
        dir.join("k"),
        dir.join("p"),
    );
    Chain::open(&config, genesis, node_key, peer.into()).unwrap()
}

/// A gm chain of one admin organisation with these admins and nodes.
pub(super) fn genesis_with(
    chain_id: &str,
    admins: Vec<xinlian_core::crypto::PublicKey>,
    nodes: Vec<GenesisNode>,
) -> Genesis {
    Genesis {
        chain_id: chain_id.into(),
        suite: Suite::Gm,
        signature_schemes: vec![SignatureScheme::Sm2],
        genesis_time_ms: 0,
        organisations: vec![GenesisOrganisation {
            uscc: Uscc::with_check_character("11410100MB1234567").unwrap(),
            name: "org".into(),
            roles: vec![OrgRole::Admin],
            admins,
            nodes,
        }],
    }
}

fn test_genesis() -> Genesis {
    genesis_with(
        "verify-once",
        vec![key(1).public_key(), key(3).public_key()],
        vec![GenesisNode {
            id: "n".into(),
            public_key: key(2).public_key(),
            p2p_peer_id: "peer".into(),
        }],
    )
}

/// An evidence transaction of the admin key 1 on `chain`.
pub(super) fn evidence(chain: &Chain, nonce: u64) -> SignedTransaction {
    evidence_from(chain, &key(1), nonce)
}

fn evidence_from(chain: &Chain, sender: &PrivateKey, nonce: u64) -> SignedTransaction {
    Transaction {
        chain_id: chain.genesis().chain_id.clone(),
        sender: sender.public_key(),
        nonce,
        created_at_ms: 0,
        valid_until_height: chain.head().height + 10,
        call: Call::System(SystemCall::RecordEvidence {
            kind: "k".into(),
            digest: Hash([nonce as u8; 32]),
            memo: String::new(),
        }),
    }
    .sign(sender)
    .unwrap()
}

/// A transaction verified on admission is not verified again in its block; the same
/// transaction carrying another signature is verified, and refused.
#[test]
fn signatures_are_verified_once_but_never_trusted_by_hash_alone() {
    let dir = tempfile::tempdir().unwrap();
    let chain = chain(dir.path());
    chain.submit(evidence(&chain, 1)).unwrap();
    let block = chain.build_block(1_000).unwrap().unwrap();
    assert!(matches!(
        chain.apply_entry(1, &block.to_bytes()).unwrap(),
        Applied::Block(_)
    ));
    let metrics = chain.metrics().render();
    assert!(
        metrics.contains("xinlian_signature_checks_total{code=\"cached\"} 1"),
        "{metrics}"
    );

    chain.submit(evidence(&chain, 2)).unwrap();
    let mut block = chain.build_block(2_000).unwrap().unwrap();
    let other = evidence(&chain, 3);
    block.txs[0].signature = other.signature;
    match chain.apply_entry(2, &block.to_bytes()).unwrap() {
        Applied::Refused(BlockRefusal::Malformed(why)) => {
            assert!(why.contains("transaction"), "{why}")
        }
        other => panic!("a swapped signature was accepted: {other:?}"),
    }
}

/// Gossip may bring a transaction after its block: the block's check counts, and the late
/// copy is refused as committed without a second verification.
#[test]
fn a_transaction_first_seen_in_a_block_is_not_verified_again_when_gossiped() {
    let (dir_a, dir_b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (leader, follower) = (chain(dir_a.path()), chain(dir_b.path()));
    let tx = evidence(&leader, 1);
    leader.submit(tx.clone()).unwrap();
    let block = leader.build_block(1_000).unwrap().unwrap();
    assert!(matches!(
        follower.apply_entry(1, &block.to_bytes()).unwrap(),
        Applied::Block(_)
    ));
    assert!(follower.submit(tx).is_err(), "committed already");
    let metrics = follower.metrics().render();
    assert!(
        metrics.contains("xinlian_signature_checks_total{code=\"block\"} 1"),
        "{metrics}"
    );
    assert!(
        !metrics.contains("xinlian_signature_checks_total{code=\"admission\"}"),
        "{metrics}"
    );
}

/// The leader applies its own block with the outcome it computed when building it; a follower
/// executes it. Both reach the same head and the same receipts. A block other than the one
/// built last (here: an older build) is executed, not taken from the cache.
#[test]
fn the_leader_reuses_its_build_and_reaches_the_same_state_as_a_follower() {
    let (dir_a, dir_b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (leader, follower) = (chain(dir_a.path()), chain(dir_b.path()));
    for nonce in 1..=3 {
        leader.submit(evidence(&leader, nonce)).unwrap();
    }
    let first = leader.build_block(1_000).unwrap().unwrap();
    // A second build replaces the cached outcome; applying the first block must execute it.
    let _second = leader.build_block(1_500).unwrap().unwrap();
    let applied = |chain: &Chain, block: &Block| match chain.apply_entry(1, &block.to_bytes()) {
        Ok(Applied::Block(head)) => head,
        other => panic!("{other:?}"),
    };
    let (on_leader, on_follower) = (applied(&leader, &first), applied(&follower, &first));
    assert_eq!(on_leader.hash, on_follower.hash);
    assert_eq!(on_leader.state_root, on_follower.state_root);
    let reused = |chain: &Chain| {
        chain
            .metrics()
            .render()
            .lines()
            .find_map(|l| l.strip_prefix("xinlian_block_outcomes_reused_total "))
            .map_or(0, |v| v.trim().parse::<u64>().unwrap())
    };
    assert_eq!(reused(&leader), 0, "an older build is executed, not reused");

    leader.submit(evidence(&leader, 4)).unwrap();
    let next = leader.build_block(2_000).unwrap().unwrap();
    let (on_leader, on_follower) = (applied2(&leader, &next), applied2(&follower, &next));
    assert_eq!(on_leader.hash, on_follower.hash);
    assert_eq!(on_leader.state_root, next.header.state_root);
    assert_eq!(
        reused(&leader),
        1,
        "the block built last is applied with its build"
    );
    assert_eq!(reused(&follower), 0);
    for tx in &next.txs {
        let hash = tx.hash(leader.suite());
        assert_eq!(
            leader.storage().tx_location(&hash).unwrap(),
            follower.storage().tx_location(&hash).unwrap()
        );
    }
}

fn applied2(chain: &Chain, block: &Block) -> crate::storage::Head {
    match chain.apply_entry(2, &block.to_bytes()) {
        Ok(Applied::Block(head)) => head,
        other => panic!("{other:?}"),
    }
}

/// Re-signs a block after changing its header, as a proposer that lies would.
fn resign(mut block: Block, change: impl FnOnce(&mut BlockHeader)) -> Vec<u8> {
    change(&mut block.header);
    block.signature = block.header.sign(&key(2));
    block.to_bytes()
}

/// Block time is the leader's word, bounded per block against the parent (not against this
/// node's clock, so every node reaches the same verdict).
#[test]
fn a_block_more_than_a_step_after_its_parent_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let chain = chain(dir.path());
    chain.submit(evidence(&chain, 1)).unwrap();
    let first = chain.build_block(1_000).unwrap().unwrap();
    chain.apply_entry(1, &first.to_bytes()).unwrap();
    chain.submit(evidence(&chain, 2)).unwrap();
    let block = chain.build_block(2_000).unwrap().unwrap();
    let far = resign(block.clone(), |h| {
        h.timestamp_ms = 1_000 + BLOCK_TIME_STEP_MS_MAX + 1
    });
    match chain.apply_entry(2, &far).unwrap() {
        Applied::Refused(BlockRefusal::Malformed(why)) => {
            assert!(why.contains("more than"), "{why}")
        }
        other => panic!("a far-future block was accepted: {other:?}"),
    }
    assert_eq!(chain.head().height, 1);
    // The leader itself never steps further, however far its clock runs ahead.
    let clamped = chain.build_block(u64::MAX / 2).unwrap().unwrap();
    assert_eq!(clamped.header.timestamp_ms, 1_000 + BLOCK_TIME_STEP_MS_MAX);
    assert!(matches!(
        chain.apply_entry(3, &clamped.to_bytes()).unwrap(),
        Applied::Block(_)
    ));
}

/// Execution that disagrees with a committed header stops the node (fail-stop) and writes
/// nothing of the block, so a restart meets the same verdict.
#[test]
fn a_block_whose_execution_disagrees_with_its_header_stops_the_node() {
    let dir = tempfile::tempdir().unwrap();
    let chain = chain(dir.path());
    chain.submit(evidence(&chain, 1)).unwrap();
    let block = chain.build_block(1_000).unwrap().unwrap();
    let lying = resign(block, |h| h.state_root = Hash([7; 32]));
    let err = chain.apply_entry(1, &lying).unwrap_err();
    assert!(matches!(err, Error::Diverged(_)), "{err}");
    assert!(err.to_string().contains("state root"), "{err}");
    assert_eq!(chain.head().height, 0);
    assert_eq!(chain.storage().applied_index().unwrap(), 0);
}

/// A flood from one sender fills its share of the mempool and no more; another member's
/// transaction still gets in, and into the next block.
#[test]
fn one_sender_cannot_fill_the_mempool() {
    let dir = tempfile::tempdir().unwrap();
    let genesis_dir = dir.path().join("chain");
    let chain = {
        let mut config = Config::new(
            "n",
            genesis_dir.join("data"),
            dir.path().join("g"),
            dir.path().join("k"),
            dir.path().join("p"),
        );
        config.mempool_txs_max = 100;
        config.block_txs_max = 4;
        config.validate().unwrap();
        Chain::open(&config, test_genesis(), key(2), "peer".into()).unwrap()
    };
    let mut admitted = 0;
    let mut refused = None;
    for nonce in 0..20 {
        match chain.submit(evidence(&chain, nonce)) {
            Ok(_) => admitted += 1,
            Err(e) => {
                refused = Some(e);
                break;
            }
        }
    }
    assert_eq!(admitted, 10, "10% of 100");
    let refused = refused.unwrap();
    assert_eq!(refused.code(), "sender_share_full", "{refused}");
    let other = evidence_from(&chain, &key(3), 99);
    chain.submit(other.clone()).unwrap();
    let block = chain.build_block(1_000).unwrap().unwrap();
    let suite = chain.suite();
    assert!(
        block
            .txs
            .iter()
            .any(|tx| tx.hash(suite) == other.hash(suite)),
        "the other member's transaction is in the next block"
    );
}

/// A gossiped batch gets, transaction by transaction, the verdicts that submitting each alone
/// gives: good ones admitted, a bad signature, a repeat and a transaction for another chain
/// refused with their own codes.
#[test]
fn a_batch_gets_the_verdicts_of_one_by_one_submission() {
    let (dir_a, dir_b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (batched, single) = (chain(dir_a.path()), chain(dir_b.path()));
    let good = evidence(&batched, 1);
    let mut forged = evidence(&batched, 2);
    forged.signature = evidence(&batched, 3).signature;
    let mut other_chain = evidence(&batched, 4);
    other_chain.tx.chain_id = "other".into();
    let other_chain = other_chain.tx.sign(&key(1)).unwrap();
    let txs = vec![
        good.clone(),
        forged,
        good,
        other_chain,
        evidence_from(&batched, &key(3), 5),
    ];
    let code = |r: &Result<Hash, SubmitError>| r.as_ref().err().map(SubmitError::code);
    let batch: Vec<Option<&str>> = batched.submit_batch(txs.clone()).iter().map(code).collect();
    let alone: Vec<Option<&str>> = txs.into_iter().map(|tx| code(&single.submit(tx))).collect();
    assert_eq!(
        batch,
        vec![
            None,
            Some("bad_signature"),
            Some("already_pending"),
            Some("wrong_chain"),
            None
        ]
    );
    assert_eq!(batch, alone);
    assert_eq!(batched.mempool_len(), 2);
}

/// Membership and role come before the signature: transactions from keys that are not
/// members, well signed or forged, alone or gossiped in a batch, are refused as unknown senders
/// without a single signature check; a member's forgery still meets its check.
#[test]
fn strangers_cost_no_signature_checks() {
    let dir = tempfile::tempdir().unwrap();
    let chain = chain(dir.path());
    let strangers: Vec<SignedTransaction> = (0..40u8)
        .map(|i| {
            let mut tx = evidence_from(&chain, &key(100 + i), u64::from(i));
            if i % 2 == 1 {
                tx.signature.0[5] ^= 1;
            }
            tx
        })
        .collect();
    for tx in &strangers[..20] {
        let refused = chain.submit(tx.clone()).unwrap_err();
        assert_eq!(refused.code(), "unknown_sender", "{refused}");
    }
    for verdict in chain.submit_batch(strangers[20..].to_vec()) {
        assert_eq!(verdict.unwrap_err().code(), "unknown_sender");
    }
    let metrics = chain.metrics().render();
    assert!(
        !metrics.contains("xinlian_signature_checks_total{code=\"admission\"}"),
        "{metrics}"
    );
    assert!(
        metrics.contains("xinlian_txs_rejected_total{code=\"unknown_sender\"} 40"),
        "{metrics}"
    );
    let mut forged = evidence(&chain, 1);
    forged.signature = evidence(&chain, 2).signature;
    assert_eq!(chain.submit(forged).unwrap_err().code(), "bad_signature");
    assert!(
        chain
            .metrics()
            .render()
            .contains("xinlian_signature_checks_total{code=\"admission\"} 1")
    );
}

fn system_call(chain: &Chain, nonce: u64, call: SystemCall) -> SignedTransaction {
    Transaction {
        chain_id: "verify-once".into(),
        sender: key(1).public_key(),
        nonce,
        created_at_ms: 0,
        valid_until_height: chain.head().height + 10,
        call: Call::System(call),
    }
    .sign(&key(1))
    .unwrap()
}

fn receipt_ok(chain: &Chain, tx: &SignedTransaction) -> bool {
    let hash = tx.hash(chain.suite());
    matches!(chain.lookup_tx(&hash).unwrap(), TxLookup::Committed(_, Some(r)) if r.is_success())
}

/// The leader's pipeline: block 2 is built on block 1 before 1 is applied, reading the state 1
/// leaves (a member registered in 1 is removed in 2) and leaving 1's transactions out. A
/// follower executing both reaches the same state, the leader reuses both builds, and a block
/// built on a block that never commits is refused as stale.
#[test]
fn the_next_block_is_built_on_the_block_in_flight() {
    let (dir_a, dir_b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (leader, follower) = (chain(dir_a.path()), chain(dir_b.path()));
    let member = key(5).public_key();
    let register = system_call(
        &leader,
        1,
        SystemCall::RegisterMember {
            public_key: member.clone(),
            name: "m".into(),
            role: xinlian_core::types::MemberRole::Operator,
        },
    );
    leader.submit(register.clone()).unwrap();
    let first = leader.build_next(1_000, None).unwrap().unwrap();
    assert_eq!(first.txs, vec![register.clone()]);
    // Nothing new waits: nothing to build on the block in flight, and never an empty block.
    let first_hash = first.header.hash(leader.suite());
    assert!(
        leader
            .build_next(1_100, Some(first_hash))
            .unwrap()
            .is_none()
    );

    let remove = system_call(&leader, 2, SystemCall::RemoveMember { public_key: member });
    leader.submit(remove.clone()).unwrap();
    let second = leader.build_next(1_200, Some(first_hash)).unwrap().unwrap();
    assert_eq!(second.header.parent_hash, first_hash);
    assert_eq!(second.header.height, 2);
    assert_eq!(
        second.txs,
        vec![remove.clone()],
        "block 1's transaction left out"
    );
    assert!(
        leader
            .metrics()
            .render()
            .contains("xinlian_blocks_built_on_pending_total 1")
    );

    for chain in [&follower, &leader] {
        for (index, block) in [(1, &first), (2, &second)] {
            match chain.apply_entry(index, &block.to_bytes()).unwrap() {
                Applied::Block(head) => assert_eq!(head.state_root, block.header.state_root),
                other => panic!("{other:?}"),
            }
        }
        assert!(receipt_ok(chain, &register) && receipt_ok(chain, &remove));
    }
    assert!(
        leader
            .metrics()
            .render()
            .contains("xinlian_block_outcomes_reused_total 2"),
        "{}",
        leader.metrics().render()
    );
    assert_eq!(leader.head().hash, follower.head().hash);

    // Built on a block that never commits (another block 3 did): refused as stale.
    leader.submit(evidence(&leader, 7)).unwrap();
    let lost = leader.build_next(3_000, None).unwrap().unwrap();
    leader.submit(evidence(&leader, 8)).unwrap();
    let on_lost = leader
        .build_next(3_100, Some(lost.header.hash(leader.suite())))
        .unwrap()
        .unwrap();
    follower.submit(evidence(&follower, 9)).unwrap();
    let other = follower.build_next(3_050, None).unwrap().unwrap();
    applied_at(&leader, 3, &other);
    assert!(matches!(
        leader.apply_entry(4, &on_lost.to_bytes()).unwrap(),
        Applied::Refused(BlockRefusal::Stale { .. })
    ));
    // The transactions of both lost blocks wait for the next block.
    let next = leader.build_next(4_000, None).unwrap().unwrap();
    assert_eq!(next.txs.len(), 2);
}

fn applied_at(chain: &Chain, index: u64, block: &Block) {
    assert!(matches!(
        chain.apply_entry(index, &block.to_bytes()).unwrap(),
        Applied::Block(_)
    ));
}

/// A snapshot source over another node's store, as a peer would serve it, that can alter the
/// value of one entry on its way.
struct Peer<'a> {
    chain: &'a Chain,
    alter: bool,
}

impl crate::state_sync::SnapshotSource for Peer<'_> {
    fn chunk(&self, _height: u64, after: Option<[u8; 32]>) -> Result<crate::state_sync::Chunk> {
        let chunk = self
            .chain
            .storage()
            .state_chunk(self.chain.suite(), after, 16, 1 << 20)?
            .expect("the peer has entries after this one");
        let mut entries: Vec<(bytes::Bytes, bytes::Bytes)> = chunk
            .entries
            .into_iter()
            .map(|(k, v)| (k.into(), v.into()))
            .collect();
        if self.alter {
            let middle = entries.len() / 2;
            let (key, value) = entries[middle].clone();
            let mut altered = value.to_vec();
            altered.push(1);
            entries[middle] = (key, altered.into());
        }
        Ok(crate::state_sync::Chunk {
            entries,
            proof: chunk.proof.into(),
            more: chunk.more,
        })
    }

    fn blocks(&self, from: u64, count: u32) -> Result<Vec<Vec<u8>>> {
        Ok((from..from + u64::from(count))
            .map_while(|h| self.chain.storage().block_bytes(h).ok().flatten())
            .collect())
    }
}

/// A snapshot installs the peer's state under its certified root, with the blocks below it
/// unexecuted and their transactions counted as committed; one altered entry on the way is
/// refused, and leaves the store marked incomplete rather than taken for the head's state.
#[test]
fn a_snapshot_installs_the_peers_state_and_refuses_an_altered_entry() {
    let (source_dir, good_dir, bad_dir) = (
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
    );
    let source = chain(source_dir.path());
    let mut last = Hash::ZERO;
    for nonce in 1..=40 {
        let tx = evidence(&source, nonce);
        last = tx.hash(source.suite());
        source.submit(tx).unwrap();
        if nonce % 10 == 0 {
            let block = source.build_block(1_000 * nonce).unwrap().unwrap();
            let height = block.header.height;
            source.apply_entry(height, &block.to_bytes()).unwrap();
        }
    }
    let head = source.head();
    let header = source.storage().block(head.height).unwrap().unwrap().header;

    let good = chain(good_dir.path());
    let entries = crate::state_sync::install(
        &good,
        &Peer {
            chain: &source,
            alter: false,
        },
        &header,
    )
    .unwrap();
    assert!(entries > 16, "several chunks: {entries} entries");
    assert_eq!(good.head(), head);
    assert!(!good.storage().snapshot_incomplete().unwrap());
    assert!(
        xinlian_contracts::StateReader::tx_committed(good.storage(), &last).unwrap(),
        "a transaction of the history"
    );

    let bad = chain(bad_dir.path());
    let err = crate::state_sync::install(
        &bad,
        &Peer {
            chain: &source,
            alter: true,
        },
        &header,
    )
    .unwrap_err();
    assert!(err.to_string().contains("snapshot chunk"), "{err}");
    assert_eq!(bad.head().height, 0);
    assert!(bad.storage().snapshot_incomplete().unwrap());
}
