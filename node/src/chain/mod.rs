//! The chain on one node, along the data flow:
//!
//! ```text
//! admission: submit ─▶ size, chain, scheme, signature once ─▶ contracts' rules and field bounds ─▶ mempool (share per sender)
//! build (leader): senders in turn within block_txs_max / block_bytes_max ─▶ execute ─▶ header ─▶ sign ─▶ Raft
//! apply (every node): committed entry ─▶ checks ─▶ execute ─▶ compare with header (fail-stop) ─▶ one synced batch
//! reads: head, lookup_tx, membership; the domain readers live in `trace`, `licence`, `auth`
//! ```
//! This file holds the state they share and the reads; each stage has its own file.

mod admission;
mod apply;
mod build;
mod certify;
mod voter_change;

pub use admission::{Gossip, SubmitError};
pub use apply::{Applied, BlockRefusal};
pub use build::PIPELINE_DEPTH;
pub use certify::{PeerVote, VOTE_WINDOW};

use std::sync::{Arc, Mutex, MutexGuard};

use xinlian_contracts::{ChainRules, Executor};
use xinlian_core::api::ErrorBody;
use xinlian_core::crypto::PrivateKey;
use xinlian_core::genesis::Genesis;
use xinlian_core::types::{NodeRecord, Receipt};
use xinlian_core::{Hash, HashSuite};

use crate::membership::Membership;
use crate::mempool::{Mempool, RejectedTxs};
use crate::metrics::Metrics;
use crate::storage::{Head, Storage, TxLocation};
use crate::verified::VerifiedCache;
use crate::{Config, Error, Result};

/// Where a transaction stands, as the node knows it.
pub enum TxLookup {
    /// In a block, with its receipt (none for a block taken with a state snapshot).
    Committed(TxLocation, Option<Receipt>),
    /// Waiting in the mempool.
    Pending,
    /// Dropped before a block.
    Rejected(ErrorBody),
    /// Never seen (or forgotten).
    Unknown,
}

/// A running chain on one node.
pub struct Chain {
    storage: Storage,
    genesis: Genesis,
    executor: Executor,
    node_key: PrivateKey,
    node_id: String,
    block_txs_max: usize,
    /// See [`crate::config::Config::first_block_from_genesis_time`].
    first_block_from_genesis_time: bool,
    block_bytes_max: usize,
    mempool: Mutex<Mempool>,
    rejected: Mutex<RejectedTxs>,
    head: Mutex<Head>,
    metrics: Metrics,
    leader: Mutex<Option<String>>,
    gossip: std::sync::OnceLock<Gossip>,
    p2p_peer_id: String,
    membership: tokio::sync::watch::Sender<Arc<Membership>>,
    verified: Mutex<VerifiedCache>,
    /// The head's height, watched by event streams (`GET /v1/events`).
    heights: tokio::sync::watch::Sender<u64>,
    /// Transactions dropped from the mempool without entering a block, as it happens.
    rejections: tokio::sync::broadcast::Sender<Rejection>,
    /// Why consensus stopped on this node (fail-stop on divergence), once it has.
    halted: Mutex<Option<String>>,
    /// The blocks this node built and has not applied yet (at most [`PIPELINE_DEPTH`]), oldest
    /// first: when one commits, applying it reuses its execution instead of executing it a
    /// second time, and the next block may be built on the last.
    built: Mutex<std::collections::VecDeque<build::Built>>,
    /// Votes gathered toward commit certificates.
    certifier: Mutex<certify::Certifier>,
    /// The highest height whose certificate a stored block carried.
    carried_through: Mutex<u64>,
    /// Serves this node's state to peers that bootstrap from a snapshot.
    state_server: crate::state_sync::Server,
    /// How far behind a node takes a snapshot rather than replay blocks.
    state_sync_min_blocks: u64,
    /// Sends this node's votes to its peers (set by the network).
    vote_sender: std::sync::OnceLock<Box<dyn Fn(PeerVote) + Send + Sync>>,
}

/// A transaction the mempool dropped without it entering a block (expired or a duplicate).
#[derive(Clone, Debug)]
pub struct Rejection {
    /// The transaction.
    pub tx_hash: Hash,
    /// Why.
    pub error: ErrorBody,
}

/// How many rejections an event stream may fall behind by before it is told it missed some.
const REJECTIONS_BUFFERED: usize = 1024;

/// Checks that the registry's record of this node names this node's keys.
fn check_own_record(record: &NodeRecord, node_key: &PrivateKey, p2p_peer_id: &str) -> Result<()> {
    if record.removed {
        return Err(Error::Membership(format!(
            "node {:?} was removed from the chain by governance; it can no longer take part",
            record.id
        )));
    }
    if record.public_key != node_key.public_key() || record.p2p_peer_id != p2p_peer_id {
        return Err(Error::Membership(format!(
            "the chain registers node {:?} with key {} and peer id {}; this node has key {} and peer id {}",
            record.id,
            record.public_key,
            record.p2p_peer_id,
            node_key.public_key(),
            p2p_peer_id
        )));
    }
    Ok(())
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding one of these locks is a bug that already stopped the node's work;
    // the data behind them (queues) stays consistent, so carry on with it.
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Chain {
    /// Opens the store, writes genesis on first start, checks it matches on later starts, and
    /// checks this node's keys against the node registry. A node not in the registry yet starts
    /// as a joiner: it syncs blocks until governance adds it.
    pub fn open(
        config: &Config,
        genesis: Genesis,
        node_key: PrivateKey,
        p2p_peer_id: String,
    ) -> Result<Self> {
        genesis.validate()?;
        std::fs::create_dir_all(&config.data_dir)?;
        let storage = Storage::open(&config.data_dir, config.rocksdb_cache_bytes)?;
        let head = match (storage.genesis()?, storage.head()?) {
            (Some(stored), Some(head)) if stored == genesis => {
                if storage.snapshot_incomplete()? {
                    return Err(Error::Corrupt(format!(
                        "the store at {} was taking a state snapshot when the node stopped, so its state is partial: wipe the data directory and start the node again to take a fresh one",
                        config.data_dir.display()
                    )));
                }
                if !storage.has_tree_at(head.height)? {
                    return Err(Error::Corrupt(format!(
                        "the store at {} holds blocks up to {} but no state tree: it was written by a release before the state tree (block headers now carry the tree's root); move it aside and let the node sync again",
                        config.data_dir.display(),
                        head.height
                    )));
                }
                head
            }
            (Some(stored), _) => {
                return Err(Error::Genesis(format!(
                    "the store holds chain {:?} with genesis {}, the genesis file gives {}",
                    stored.chain_id,
                    stored.hash(),
                    genesis.hash()
                )));
            }
            (None, _) => {
                storage.init_genesis(&genesis, &Executor::genesis_writes(&genesis, &storage))?
            }
        };
        let membership = Membership::load(&storage)?;
        match membership.by_id(&config.node_id) {
            Some(record) => check_own_record(record, &node_key, &p2p_peer_id)?,
            None => tracing::info!(
                target: "xinlian.node",
                node_id = %config.node_id,
                public_key = %node_key.public_key(),
                p2p_peer_id = %p2p_peer_id,
                "this node is not in the chain's node registry yet; it will sync blocks and join once governance adds it with these keys"
            ),
        }
        let carried_through = storage.carried_through()?;
        let metrics = Metrics::new();
        metrics.set_height(head.height);
        metrics.set_mempool_txs_max(config.mempool_txs_max);
        let chain = Chain {
            executor: Executor::new(ChainRules::from_genesis(&genesis)),
            storage,
            genesis,
            node_key,
            node_id: config.node_id.clone(),
            p2p_peer_id,
            block_txs_max: config.block_txs_max,
            block_bytes_max: config.block_bytes_max,
            first_block_from_genesis_time: config.first_block_from_genesis_time,
            mempool: Mutex::new(Mempool::new(config.mempool_limits())),
            rejected: Mutex::new(RejectedTxs::new(config.rejected_txs_kept_max)),
            heights: tokio::sync::watch::Sender::new(head.height),
            head: Mutex::new(head),
            rejections: tokio::sync::broadcast::Sender::new(REJECTIONS_BUFFERED),
            metrics,
            leader: Mutex::new(None),
            gossip: std::sync::OnceLock::new(),
            certifier: Mutex::default(),
            carried_through: Mutex::new(carried_through),
            state_server: crate::state_sync::Server::new(&config.data_dir),
            state_sync_min_blocks: config.state_sync_min_blocks,
            vote_sender: std::sync::OnceLock::new(),
            membership: tokio::sync::watch::Sender::new(Arc::new(membership)),
            // Room for everything the mempool can hold, twice: a block's transactions are
            // usually still here when it is applied.
            verified: Mutex::new(VerifiedCache::new(2 * config.mempool_txs_max)),
            halted: Mutex::new(None),
            built: Mutex::default(),
        };
        chain.load_voter_history()?;
        Ok(chain)
    }

    /// The chain's hash suite.
    pub fn suite(&self) -> HashSuite {
        self.genesis.hash_suite()
    }

    /// The genesis.
    pub fn genesis(&self) -> &Genesis {
        &self.genesis
    }

    /// This node's id.
    pub fn node_id(&self) -> &str {
        &self.node_id
    }

    /// The store, for reads.
    pub fn storage(&self) -> &Storage {
        &self.storage
    }

    /// The metrics.
    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    /// Signature schemes the chain accepts now (governance may have changed genesis's).
    pub fn accepted_schemes(&self) -> Result<Vec<xinlian_core::crypto::SignatureScheme>> {
        Ok(self.executor.accepted_schemes(&self.storage)?)
    }

    /// The node registry as of the head, with Raft's members as last applied here.
    pub fn membership(&self) -> Arc<Membership> {
        self.membership.borrow().clone()
    }

    /// A receiver that sees every change of [`Chain::membership`] (the transport's allow list).
    pub fn watch_membership(&self) -> tokio::sync::watch::Receiver<Arc<Membership>> {
        self.membership.subscribe()
    }

    /// A receiver that sees the head's height change after each committed block.
    pub fn watch_height(&self) -> tokio::sync::watch::Receiver<u64> {
        self.heights.subscribe()
    }

    /// A receiver of the rejections that happen from now on.
    pub fn subscribe_rejections(&self) -> tokio::sync::broadcast::Receiver<Rejection> {
        self.rejections.subscribe()
    }

    /// Records Raft's voters and learners after a membership change was applied.
    pub fn set_raft_members(&self, voters: Vec<u64>, learners: Vec<u64>) {
        let current = self.membership();
        let updated = (*current).clone().with_raft_members(voters, learners);
        if updated != *current {
            self.membership.send_replace(Arc::new(updated));
        }
    }

    fn reload_membership(&self) -> Result<()> {
        let current = self.membership();
        let updated = Membership::load(&self.storage)?.with_raft_members(
            current.raft_voters().to_vec(),
            current.raft_learners().to_vec(),
        );
        if updated != *current {
            self.membership.send_replace(Arc::new(updated));
        }
        Ok(())
    }

    /// Serves this node's state to bootstrapping peers.
    pub fn state_server(&self) -> &crate::state_sync::Server {
        &self.state_server
    }

    /// How many blocks behind a node takes a certified snapshot instead of replaying (0: never).
    pub fn state_sync_min_blocks(&self) -> u64 {
        self.state_sync_min_blocks
    }

    /// Makes an installed snapshot (`crate::state_sync`) the head: stores it with the voters
    /// its state names, and reloads what this node keeps in memory of the state.
    pub(crate) fn install_snapshot_head(&self, head: Head, carried_through: u64) -> Result<()> {
        let membership = Membership::load(&self.storage)?;
        let current = self.membership();
        self.membership
            .send_replace(Arc::new(membership.with_raft_members(
                current.raft_voters().to_vec(),
                current.raft_learners().to_vec(),
            )));
        self.storage
            .finish_snapshot(&head, carried_through, &self.voter_set())?;
        lock(&self.built).clear();
        *lock(&self.carried_through) = carried_through;
        self.metrics.set_height(head.height);
        self.heights.send_replace(head.height);
        *lock(&self.head) = head;
        self.load_voter_history()
    }

    /// This node's own registry record, once governance has added it.
    pub fn own_record(&self) -> Option<NodeRecord> {
        self.membership().by_id(&self.node_id).cloned()
    }

    /// This node's Raft id, once it is an active member; an error when its registered keys are
    /// not this node's.
    pub fn admitted_raft_id(&self) -> Result<Option<u64>> {
        match self.own_record() {
            Some(record) => {
                check_own_record(&record, &self.node_key, &self.p2p_peer_id)?;
                Ok(Some(record.raft_id))
            }
            None => Ok(None),
        }
    }

    /// The node id behind a Raft id.
    pub fn node_id_of(&self, raft_id: u64) -> Option<String> {
        self.membership().by_raft_id(raft_id).map(|n| n.id.clone())
    }

    /// Raft ids of the genesis voters.
    pub fn genesis_voters(&self) -> Vec<u64> {
        (1..=self.genesis.nodes().count() as u64).collect()
    }

    /// The leader as last seen by the consensus loop.
    pub fn leader(&self) -> Option<String> {
        lock(&self.leader).clone()
    }

    /// Records the leader the consensus loop sees.
    pub fn set_leader(&self, leader: Option<String>) {
        *lock(&self.leader) = leader;
    }

    /// The latest block.
    pub fn head(&self) -> Head {
        lock(&self.head).clone()
    }

    /// Transactions waiting.
    pub fn mempool_len(&self) -> usize {
        lock(&self.mempool).len()
    }

    /// Transactions waiting and their bytes.
    pub fn mempool_size(&self) -> (usize, usize) {
        let mempool = lock(&self.mempool);
        (mempool.len(), mempool.bytes())
    }

    /// Most bytes of transactions per block.
    pub fn block_bytes_max(&self) -> usize {
        self.block_bytes_max
    }

    /// Why consensus halted on this node, if it did.
    pub fn halted(&self) -> Option<String> {
        lock(&self.halted).clone()
    }

    /// Records that consensus stopped on this node for good (a divergence): the node keeps
    /// serving what it holds, refuses new transactions and says why in `/v1/status`.
    pub fn halt(&self, why: String) {
        self.metrics.halted();
        *lock(&self.halted) = Some(why);
    }

    fn finish(&self, hashes: &[Hash]) {
        let mut mempool = lock(&self.mempool);
        mempool.remove(hashes);
        self.metrics.set_mempool(mempool.len());
    }

    /// Where transaction `hash` stands.
    pub fn lookup_tx(&self, hash: &Hash) -> Result<TxLookup> {
        if let Some(location) = self.storage.tx_location(hash)? {
            // No receipt for a block this node took with a state snapshot, unexecuted.
            let receipt = self.storage.receipt(hash)?;
            return Ok(TxLookup::Committed(location, receipt));
        }
        if lock(&self.mempool).contains(hash) {
            return Ok(TxLookup::Pending);
        }
        if let Some(reason) = lock(&self.rejected).get(hash) {
            return Ok(TxLookup::Rejected(reason.clone()));
        }
        Ok(TxLookup::Unknown)
    }
}

#[cfg(test)]
mod tests;
