//! Ordering, on the leader: the next block from the mempool (senders in turn, within the count
//! and byte budgets), executed and signed, for the Raft loop to propose; on the head, or on the
//! block in flight (the pipeline, [`Chain::build_next`]).

use std::collections::HashSet;

use xinlian_contracts::{
    BlockContext, BlockOutcome, ContractError, ExecError, Space, StateReader, WriteSet,
};
use xinlian_core::Hash;
use xinlian_core::limits::BLOCK_TIME_STEP_MS_MAX;
use xinlian_core::types::{Block, BlockHeader, SignedTransaction};

use super::apply::receipts_root;
use super::{Chain, lock};
use crate::Result;
use crate::storage::{Head, Storage, TreeUpdate, update_tree};

impl Chain {
    /// Most transactions per block.
    pub fn block_txs_max(&self) -> usize {
        self.block_txs_max
    }

    /// Whether the chain has gone half a time step without a block, as of `now_ms`: the leader
    /// then cuts a block even with nothing waiting, so block time never lags the clock by more
    /// than one block may catch up ([`BLOCK_TIME_STEP_MS_MAX`]).
    pub fn is_idle(head: &Head, now_ms: u64) -> bool {
        now_ms.saturating_sub(head.timestamp_ms) >= BLOCK_TIME_STEP_MS_MAX / 2
    }

    /// Whether block time lags the clock by a whole time step or more, as of `now_ms`: the
    /// leader then cuts the empty blocks that catch up one after another.
    pub fn is_behind(head: &Head, now_ms: u64) -> bool {
        now_ms.saturating_sub(head.timestamp_ms) >= BLOCK_TIME_STEP_MS_MAX
    }

    /// Builds, executes and signs the next block on the head from waiting transactions (senders
    /// in turn, within `block_txs_max` and `block_bytes_max`), without storing it: the leader
    /// proposes it through Raft and every node (this one too) applies it when committed. Returns
    /// `None` when nothing waits, unless the chain has been idle for half of
    /// [`BLOCK_TIME_STEP_MS_MAX`]: then an empty block keeps block time close to the clock.
    pub fn build_block(&self, now_ms: u64) -> Result<Option<Block>> {
        self.build_next(now_ms, None)
    }

    /// Builds the next block on the head or, with `on` the hash of a block this node built on
    /// the head and proposed but has not applied yet, on that block: the leader's pipeline, so
    /// that block N+1 is built while N replicates and commits. A block built on N reads the state
    /// N leaves (N's writes over the committed state) and leaves N's transactions out; if N never
    /// commits, the block built on it is refused as stale everywhere, and its transactions wait
    /// for the next one. Returns `None` when `on` is no longer a pending build on the head, and
    /// on a pending block never builds an empty one.
    pub fn build_next(&self, now_ms: u64, on: Option<Hash>) -> Result<Option<Block>> {
        let head = self.head();
        let mut built = lock(&self.built);
        built.retain(|b| b.header.height > head.height);
        let parent = match on {
            None => {
                // A build on the head replaces what was built before, proposed or not.
                built.clear();
                None
            }
            Some(hash) => match built.iter().find(|b| b.hash == hash) {
                Some(parent)
                    if parent.header.height == head.height + 1
                        && parent.header.parent_hash == head.hash =>
                {
                    Some(parent)
                }
                _ => return Ok(None),
            },
        };
        let pending = parent.map(|p| PendingState {
            storage: &self.storage,
            writes: &p.outcome.writes,
            txs: p.tx_hashes.iter().copied().collect(),
        });
        let base: &dyn StateReader = match &pending {
            Some(pending) => pending,
            None => &self.storage,
        };
        let (parent_height, parent_hash, parent_time) = match parent {
            Some(p) => (p.header.height, p.hash, p.header.timestamp_ms),
            None => (head.height, head.hash, head.timestamp_ms),
        };
        let skip = pending.as_ref().map(|p| p.txs.clone()).unwrap_or_default();
        // Certificates of earlier blocks ride along, above those the parent carried; their bytes
        // come out of the block's budget.
        let carried_after = parent.map_or_else(|| self.carried_through(), |p| p.carried_through);
        let certificates = self.certificates_to_carry(parent_height + 1, carried_after)?;
        let certificate_bytes: usize = certificates.iter().map(|c| c.to_bytes().len()).sum();
        let carried_through = certificates.last().map_or(carried_after, |c| c.height);
        let candidates = lock(&self.mempool).fair_batch_without(
            self.block_txs_max,
            self.block_bytes_max.saturating_sub(certificate_bytes),
            &skip,
        );
        let idle = parent.is_none() && Self::is_idle(&head, now_ms);
        if candidates.is_empty() && !idle {
            return Ok(None);
        }
        let height = parent_height + 1;
        let (txs, hashes, dropped) = self.select_includable(base, candidates, height)?;
        self.finish(&dropped);
        if txs.is_empty() && !idle {
            return Ok(None);
        }
        // The leader's clock, kept strictly increasing along the chain and within the step every
        // node allows.
        let mut timestamp_ms = now_ms.max(parent_time + 1);
        if parent_height > 0 || self.first_block_from_genesis_time {
            timestamp_ms = timestamp_ms.min(parent_time + BLOCK_TIME_STEP_MS_MAX);
        }
        let context = BlockContext {
            height,
            timestamp_ms,
        };
        let outcome = self
            .executor
            .execute_block_hashed(base, &context, &txs, &hashes)?;
        let suite = self.suite();
        let stored = self.storage.tree_reader();
        let tree = match parent {
            Some(p) => update_tree(suite, &p.tree.over(&stored), height, &outcome.writes)?,
            None => update_tree(suite, &stored, height, &outcome.writes)?,
        };
        let header = BlockHeader {
            chain_id: self.genesis.chain_id.clone(),
            height,
            parent_hash,
            tx_root: Block::tx_root_of_hashes(suite, &hashes),
            receipts_root: receipts_root(suite, &outcome.receipts),
            state_root: tree.root,
            certificates_hash: Block::certificates_hash(suite, &certificates),
            timestamp_ms,
            proposer: self.node_key.public_key(),
        };
        if parent.is_some() {
            self.metrics.block_built_on_pending();
        }
        drop(pending);
        built.push_back(Built {
            hash: header.hash(suite),
            header: header.clone(),
            tx_hashes: hashes,
            outcome,
            tree,
            carried_through,
        });
        while built.len() > PIPELINE_DEPTH {
            built.pop_front();
        }
        Ok(Some(Block {
            signature: header.sign(&self.node_key),
            header,
            certificates,
            txs,
        }))
    }

    /// Splits candidates into those that may enter block `height` on `state` and those whose
    /// window has passed or that were committed meanwhile (remembered as rejected). Returns the
    /// included transactions, their hashes (computed once, at admission) and the dropped hashes.
    fn select_includable(
        &self,
        state: &dyn StateReader,
        candidates: Vec<(Hash, SignedTransaction)>,
        height: u64,
    ) -> Result<(Vec<SignedTransaction>, Vec<Hash>, Vec<Hash>)> {
        let mut txs = Vec::with_capacity(candidates.len());
        let mut hashes = Vec::with_capacity(candidates.len());
        let mut dropped = Vec::new();
        for (hash, tx) in candidates {
            match self
                .executor
                .check_admission_hashed(state, &tx, &hash, height)?
            {
                Err(e @ (ContractError::Expired { .. } | ContractError::Duplicate(_))) => {
                    self.record_rejection(&mut lock(&self.rejected), hash, &e);
                    dropped.push(hash);
                }
                // Other refusals (a sender removed meanwhile) are recorded in a receipt.
                _ => {
                    txs.push(tx);
                    hashes.push(hash);
                }
            }
        }
        Ok((txs, hashes, dropped))
    }
}

/// Most blocks this node keeps built ahead of its head: the one in flight and the one built on
/// it (see [`Chain::build_next`]).
pub const PIPELINE_DEPTH: usize = 2;

/// A block this node built, kept until it is applied: its execution is reused then, and the
/// next block may be built on it.
pub(super) struct Built {
    pub(super) hash: Hash,
    header: BlockHeader,
    tx_hashes: Vec<Hash>,
    pub(super) outcome: BlockOutcome,
    /// Its state tree update: stored with it, and the base of a block built on it.
    pub(super) tree: TreeUpdate,
    /// The highest height whose certificate it or the chain below it carries.
    carried_through: u64,
}

/// The committed state with a built, not yet applied block on top: its writes over the store,
/// and its transactions as committed.
struct PendingState<'a> {
    storage: &'a Storage,
    writes: &'a WriteSet,
    txs: HashSet<Hash>,
}

impl StateReader for PendingState<'_> {
    fn get(&self, space: Space, key: &[u8]) -> std::result::Result<Option<Vec<u8>>, ExecError> {
        match self.writes.get(&(space, key.to_vec())) {
            Some(written) => Ok(written.clone()),
            None => self.storage.get(space, key),
        }
    }

    fn tx_committed(&self, tx_hash: &Hash) -> std::result::Result<bool, ExecError> {
        Ok(self.txs.contains(tx_hash) || self.storage.tx_committed(tx_hash)?)
    }
}
