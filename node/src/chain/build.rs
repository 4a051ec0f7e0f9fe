//! Ordering, on the leader: the next block from the mempool (senders in turn, within the count
//! and byte budgets), executed and signed, for the Raft loop to propose.

use xinlian_contracts::{BlockContext, ContractError};
use xinlian_core::Hash;
use xinlian_core::limits::BLOCK_TIME_STEP_MS_MAX;
use xinlian_core::types::{Block, BlockHeader, Receipt, SignedTransaction};

use super::apply::receipts_root;
use super::{Chain, lock};
use crate::Result;
use crate::storage::Head;

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

    /// Builds, executes and signs the next block from waiting transactions (senders in turn,
    /// within `block_txs_max` and `block_bytes_max`), without storing it: the leader proposes it
    /// through Raft and every node (this one too) applies it when committed. Returns `None` when
    /// nothing waits, unless the chain has been idle for half of [`BLOCK_TIME_STEP_MS_MAX`]: then
    /// an empty block keeps block time close to the clock.
    pub fn build_block(&self, now_ms: u64) -> Result<Option<Block>> {
        let candidates = lock(&self.mempool).fair_batch(self.block_txs_max, self.block_bytes_max);
        let head = self.head();
        let idle = Self::is_idle(&head, now_ms);
        if candidates.is_empty() && !idle {
            return Ok(None);
        }
        let height = head.height + 1;
        let (txs, hashes, dropped) = self.select_includable(candidates, height)?;
        self.finish(&dropped);
        if txs.is_empty() && !idle {
            return Ok(None);
        }
        // The leader's clock, kept strictly increasing along the chain and within the step every
        // node allows.
        let mut timestamp_ms = now_ms.max(head.timestamp_ms + 1);
        if head.height > 0 {
            timestamp_ms = timestamp_ms.min(head.timestamp_ms + BLOCK_TIME_STEP_MS_MAX);
        }
        let context = BlockContext {
            height,
            timestamp_ms,
        };
        let outcome = self.executor.execute_block_hashed(
            &self.storage,
            &context,
            &txs,
            &hashes,
            &head.state_root,
        )?;
        let header = self.header(
            &head,
            &context,
            &hashes,
            &outcome.receipts,
            outcome.state_root,
        );
        *lock(&self.built) = Some((header.hash(self.suite()), outcome));
        Ok(Some(Block {
            signature: header.sign(&self.node_key),
            header,
            txs,
        }))
    }

    /// Splits candidates into those that may enter block `height` and those whose window has
    /// passed or that were committed meanwhile (remembered as rejected). Returns the included
    /// transactions, their hashes (computed once, at admission) and the dropped hashes.
    fn select_includable(
        &self,
        candidates: Vec<(Hash, SignedTransaction)>,
        height: u64,
    ) -> Result<(Vec<SignedTransaction>, Vec<Hash>, Vec<Hash>)> {
        let mut txs = Vec::with_capacity(candidates.len());
        let mut hashes = Vec::with_capacity(candidates.len());
        let mut dropped = Vec::new();
        for (hash, tx) in candidates {
            match self
                .executor
                .check_admission_hashed(&self.storage, &tx, &hash, height)?
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

    fn header(
        &self,
        head: &Head,
        context: &BlockContext,
        tx_hashes: &[Hash],
        receipts: &[Receipt],
        state_root: Hash,
    ) -> BlockHeader {
        let suite = self.suite();
        BlockHeader {
            chain_id: self.genesis.chain_id.clone(),
            height: context.height,
            parent_hash: head.hash,
            tx_root: Block::tx_root_of_hashes(suite, tx_hashes),
            receipts_root: receipts_root(suite, receipts),
            state_root,
            timestamp_ms: context.timestamp_ms,
            proposer: self.node_key.public_key(),
        }
    }
}
