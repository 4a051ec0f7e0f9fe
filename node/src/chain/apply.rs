//! Applying a committed block: the follower's checks (form, parent, proposer, time step,
//! transaction root, signatures once), execution through the contracts, the comparison with
//! the header (fail-stop on divergence), and one synced write batch with the Raft index.

use std::time::Instant;

use xinlian_contracts::BlockContext;
use xinlian_core::limits::{BLOCK_TIME_STEP_MS_MAX, BLOCK_TXS_MAX};
use xinlian_core::types::{Block, Call, Receipt, SignedTransaction};
use xinlian_core::{Hash, HashSuite, merkle};

use super::{Chain, lock};
use crate::storage::{Head, update_tree};
use crate::{Error, Result};

/// Merkle root over receipt hashes, as a header's `receipts_root` must be.
pub(super) fn receipts_root(suite: HashSuite, receipts: &[Receipt]) -> Hash {
    let leaves: Vec<Hash> = receipts
        .iter()
        .map(|r| merkle::leaf_hash(suite, r.hash(suite).as_bytes()))
        .collect();
    merkle::root_of_leaf_hashes(suite, &leaves)
}

/// Why a committed entry was not applied as a block. Every node reaches the same verdict, so
/// the chains stay identical.
#[derive(Debug, thiserror::Error)]
pub enum BlockRefusal {
    /// This node already holds this very block (it synced it before Raft replayed the entry).
    #[error("block {0} is already applied")]
    AlreadyApplied(u64),
    /// It does not extend the head (a proposal overtaken by another leader's).
    #[error("stale block at height {height}; head is {head}")]
    Stale {
        /// The block's height.
        height: u64,
        /// The head it should have followed.
        head: u64,
    },
    /// The proposer is not a member node, or its signature does not verify.
    #[error("bad proposer: {0}")]
    Proposer(String),
    /// It does not decode, or breaks a rule of form.
    #[error("malformed block: {0}")]
    Malformed(String),
}

impl BlockRefusal {
    /// Stable code for metrics and logs.
    pub fn code(&self) -> &'static str {
        match self {
            BlockRefusal::AlreadyApplied(_) => "already_applied",
            BlockRefusal::Stale { .. } => "stale",
            BlockRefusal::Proposer(_) => "bad_proposer",
            BlockRefusal::Malformed(_) => "malformed",
        }
    }
}

/// What applying a committed entry did.
#[derive(Debug)]
pub enum Applied {
    /// A block was stored; the new head.
    Block(Head),
    /// The entry was refused; nothing changed but the applied index.
    Refused(BlockRefusal),
}

impl Chain {
    /// Applies the committed Raft entry at `index`: a block that passes validation is executed
    /// and stored with `index` in one batch; anything else (stale, invalid) is recorded as
    /// applied and changes nothing, the same way on every node.
    pub fn apply_entry(&self, index: u64, data: &[u8]) -> Result<Applied> {
        #[allow(clippy::disallowed_methods)] // the node measures its own work
        let started = Instant::now();
        let validated = match self.validate(data) {
            Ok((block, tx_hashes)) => self.check_carried(&block)?.map(|()| (block, tx_hashes)),
            Err(refusal) => Err(refusal),
        };
        let (block, tx_hashes) = match validated {
            Ok(validated) => validated,
            Err(refusal) => {
                self.storage.set_applied_index(index)?;
                if !matches!(refusal, BlockRefusal::AlreadyApplied(_)) {
                    self.metrics.count_refused_block(refusal.code());
                }
                return Ok(Applied::Refused(refusal));
            }
        };
        let suite = self.suite();
        let block_hash = block.header.hash(suite);
        // The block this node built, on this same head (`validate` checked the parent): its
        // execution then is its execution now, since execution depends only on the parent state,
        // the header's context and the transactions, all fixed by the header hash.
        let built = {
            let mut built = lock(&self.built);
            let position = built.iter().position(|b| b.hash == block_hash);
            position.and_then(|p| built.remove(p))
        };
        let (outcome, tree) = match built {
            Some(built) => {
                self.metrics.block_outcome_reused();
                (built.outcome, built.tree)
            }
            None => {
                #[allow(clippy::disallowed_methods)] // the node measures its own work
                let executing = Instant::now();
                let context = BlockContext {
                    height: block.header.height,
                    timestamp_ms: block.header.timestamp_ms,
                };
                let outcome = self.executor.execute_block_hashed(
                    &self.storage,
                    &context,
                    &block.txs,
                    &tx_hashes,
                )?;
                self.metrics.apply_stage("execute", executing.elapsed());
                #[allow(clippy::disallowed_methods)] // the node measures its own work
                let hashing = Instant::now();
                let tree = update_tree(
                    suite,
                    &self.storage.tree_reader(),
                    block.header.height,
                    &outcome.writes,
                )?;
                self.metrics.apply_stage("state_tree", hashing.elapsed());
                (outcome, tree)
            }
        };
        let receipts_root = receipts_root(suite, &outcome.receipts);
        if receipts_root != block.header.receipts_root || tree.root != block.header.state_root {
            // Raft committed this block, so a quorum holds it; this node's execution disagrees
            // with the header its proposer signed. Either this node's state differs from the
            // others' or the proposer lied, and from here no answer of this node can be trusted:
            // stop rather than serve or vote on a state that may be diverged. Nothing of the
            // block is written, so a restart meets the same block and the same verdict.
            self.metrics.count_refused_block("outcome_mismatch");
            return Err(Error::Diverged(format!(
                "block {} (Raft index {index}) claims receipts root {} and state root {}; executing it here gives {receipts_root} and {}",
                block.header.height, block.header.receipts_root, block.header.state_root, tree.root
            )));
        }
        #[allow(clippy::disallowed_methods)] // the node measures its own work
        let storing = Instant::now();
        let new_head = self.storage.commit_block(
            &block,
            data,
            &block_hash,
            &outcome.receipts,
            &outcome.writes,
            &tree,
            index,
        )?;
        self.metrics.apply_stage("store", storing.elapsed());
        *lock(&self.head) = new_head.clone();
        if let Some(last) = block.certificates.last() {
            *lock(&self.carried_through) = last.height;
        }
        self.heights.send_replace(new_head.height);
        if block
            .txs
            .iter()
            .any(|tx| matches!(tx.tx.call, Call::Governance(_)))
        {
            self.reload_membership()?;
        }
        // After the membership reload, so a block that changes the voters records the change
        // (it is still voted on by the voters before it).
        self.vote_on(new_head.height, block_hash)?;
        let done: Vec<Hash> = outcome.receipts.iter().map(|r| r.tx_hash).collect();
        self.finish(&done);
        self.prune_expired(new_head.height);
        self.metrics
            .block_committed(new_head.height, block.txs.len(), started.elapsed());
        Ok(Applied::Block(new_head))
    }

    /// Applies a block fetched by block sync (catching up after a snapshot): the same checks
    /// and execution as a committed entry, leaving the applied Raft index where it is.
    pub fn apply_synced_block(&self, data: &[u8]) -> Result<Applied> {
        let index = self.storage.applied_index()?;
        let outcome = self.apply_entry(index, data)?;
        Ok(outcome)
    }

    /// The checks a follower makes before executing a committed block. Returns the block and
    /// its transactions' hashes, computed here once for the root, the signature checks and
    /// execution.
    fn validate(&self, data: &[u8]) -> Result<(Block, Vec<Hash>), BlockRefusal> {
        #[allow(clippy::disallowed_methods)] // the node measures its own work
        let checking = Instant::now();
        let block = Block::from_bytes(data).map_err(|e| BlockRefusal::Malformed(e.to_string()))?;
        let header = &block.header;
        let head = self.head();
        if header.chain_id != self.genesis.chain_id {
            return Err(BlockRefusal::Malformed(format!(
                "block for chain {:?}",
                header.chain_id
            )));
        }
        if header.height <= head.height && self.holds(&block) {
            return Err(BlockRefusal::AlreadyApplied(header.height));
        }
        if header.height != head.height + 1 || header.parent_hash != head.hash {
            return Err(BlockRefusal::Stale {
                height: header.height,
                head: head.height,
            });
        }
        if !self.membership().may_propose(&header.proposer) {
            return Err(BlockRefusal::Proposer(format!(
                "{} is not an active voting node",
                header.proposer
            )));
        }
        header
            .verify_signature(&block.signature)
            .map_err(|e| BlockRefusal::Proposer(format!("proposer signature: {e}")))?;
        if header.timestamp_ms <= head.timestamp_ms {
            return Err(BlockRefusal::Malformed(format!(
                "timestamp {} does not follow {}",
                header.timestamp_ms, head.timestamp_ms
            )));
        }
        // Checked against the parent, not this node's clock: every node must reach the same
        // verdict on a committed block.
        // The first block may start anywhere after genesis (a genesis is often written days
        // before the chain starts).
        if head.height > 0 && header.timestamp_ms - head.timestamp_ms > BLOCK_TIME_STEP_MS_MAX {
            return Err(BlockRefusal::Malformed(format!(
                "timestamp {} is more than {BLOCK_TIME_STEP_MS_MAX} ms after its parent's {}",
                header.timestamp_ms, head.timestamp_ms
            )));
        }
        if block.txs.len() > BLOCK_TXS_MAX {
            return Err(BlockRefusal::Malformed(format!(
                "{} transactions, more than {BLOCK_TXS_MAX}",
                block.txs.len()
            )));
        }
        let suite = self.suite();
        let tx_hashes: Vec<Hash> = block.txs.iter().map(|tx| tx.hash(suite)).collect();
        if Block::tx_root_of_hashes(suite, &tx_hashes) != header.tx_root {
            return Err(BlockRefusal::Malformed(
                "transaction root does not match".into(),
            ));
        }
        if Block::certificates_hash(suite, &block.certificates) != header.certificates_hash {
            return Err(BlockRefusal::Malformed(
                "the carried certificates do not match the header's hash of them".into(),
            ));
        }
        self.metrics.apply_stage("checks", checking.elapsed());
        #[allow(clippy::disallowed_methods)] // the node measures its own work
        let verifying = Instant::now();
        self.verify_block_signatures(&block, &tx_hashes)?;
        self.metrics.apply_stage("signatures", verifying.elapsed());
        Ok((block, tx_hashes))
    }

    /// Verifies the signatures of a block's transactions that this node has not verified yet:
    /// SM2 ones in parallel across the cores, Ed25519 ones in batches
    /// ([`xinlian_core::verify`]). The outcome, and the first failure in block order, are the
    /// same on every node whatever each had verified before.
    fn verify_block_signatures(
        &self,
        block: &Block,
        tx_hashes: &[Hash],
    ) -> Result<(), BlockRefusal> {
        let unchecked: Vec<(Hash, &SignedTransaction)> = {
            let verified = lock(&self.verified);
            tx_hashes
                .iter()
                .copied()
                .zip(&block.txs)
                .filter(|(hash, tx)| !verified.contains(hash, &tx.signature))
                .collect()
        };
        let cached = block.txs.len() - unchecked.len();
        self.metrics.count_signature_checks("cached", cached as u64);
        self.metrics
            .count_signature_checks("block", unchecked.len() as u64);
        let txs: Vec<&SignedTransaction> = unchecked.iter().map(|(_, tx)| *tx).collect();
        xinlian_core::verify::verify_signatures(&txs).map_err(|rejected| {
            let hash = unchecked[rejected.index].0;
            BlockRefusal::Malformed(format!("transaction {hash}: {}", rejected.error))
        })?;
        let mut verified = lock(&self.verified);
        for (hash, tx) in &unchecked {
            verified.insert(hash, &tx.signature);
        }
        Ok(())
    }

    /// Whether the stored block at `block`'s height is `block`.
    fn holds(&self, block: &Block) -> bool {
        let suite = self.suite();
        matches!(
            self.storage.block(block.header.height),
            Ok(Some(stored)) if stored.header.hash(suite) == block.header.hash(suite)
        )
    }
}
