//! Admission: a transaction from a client or a peer is checked (size, chain, scheme, signature
//! once, the contracts' rules and field bounds) and enters the mempool within its sender's share.

use xinlian_contracts::ContractError;
use xinlian_core::Hash;
use xinlian_core::api::ErrorBody;
use xinlian_core::limits::TX_BYTES_MAX;
use xinlian_core::types::SignedTransaction;

use super::{Chain, Rejection, lock};
use crate::Error;
use crate::mempool::{InsertError, RejectedTxs};

/// Why a submitted transaction was not admitted.
#[derive(Debug, thiserror::Error)]
pub enum SubmitError {
    /// Its canonical encoding is larger than [`TX_BYTES_MAX`].
    #[error("transaction is {0} bytes, more than the limit of {TX_BYTES_MAX}")]
    TooLarge(usize),
    /// The signature does not verify for the sender over this chain's signing bytes.
    #[error("{0}")]
    BadSignature(String),
    /// A contract rule refused it (chain, window, duplicate, sender, role).
    #[error(transparent)]
    Refused(#[from] ContractError),
    /// The same transaction is already waiting.
    #[error("transaction {0} is already pending")]
    AlreadyPending(Hash),
    /// The mempool is full; try again later.
    #[error("mempool is full ({0} transactions); try again later")]
    MempoolFull(usize),
    /// The sender already holds its whole share of the mempool.
    #[error(
        "the sender already has {txs} transactions ({bytes} bytes) waiting, its whole share of this node's mempool; wait for some to commit and send again"
    )]
    SenderShareFull {
        /// Transactions the sender has waiting.
        txs: usize,
        /// Their bytes.
        bytes: usize,
    },
    /// Consensus halted on this node (see `/v1/status`); it takes no transactions.
    #[error("this node halted: {0}; send the transaction to another node")]
    Halted(String),
    /// The node failed.
    #[error(transparent)]
    Internal(#[from] Error),
}

impl SubmitError {
    /// The stable code the API returns.
    pub fn code(&self) -> &'static str {
        match self {
            SubmitError::TooLarge(_) => "tx_too_large",
            SubmitError::BadSignature(_) => "bad_signature",
            SubmitError::Refused(e) => e.code(),
            SubmitError::AlreadyPending(_) => "already_pending",
            SubmitError::MempoolFull(_) => "mempool_full",
            SubmitError::SenderShareFull { .. } => "sender_share_full",
            SubmitError::Halted(_) => "node_halted",
            SubmitError::Internal(_) => "internal",
        }
    }
}

/// Passes a transaction admitted over HTTP on to the peers.
pub type Gossip = Box<dyn Fn(&SignedTransaction) + Send + Sync>;

impl Chain {
    /// Sets where admitted client transactions are passed on (once, at start).
    pub fn set_gossip(&self, gossip: Gossip) {
        let _ = self.gossip.set(gossip);
    }

    /// Admits a client's transaction (see [`Chain::submit`]) and passes it on to the peers, so
    /// whichever node leads now or later can include it.
    pub fn submit_from_client(&self, tx: SignedTransaction) -> Result<Hash, SubmitError> {
        let copy = self.gossip.get().map(|_| tx.clone());
        let hash = self.submit(tx)?;
        if let (Some(gossip), Some(tx)) = (self.gossip.get(), copy) {
            gossip(&tx);
        }
        Ok(hash)
    }

    /// Admits a transaction into the mempool after checking its size, signature and the contract
    /// rules against committed state. Returns its hash.
    pub fn submit(&self, tx: SignedTransaction) -> Result<Hash, SubmitError> {
        let result = self.admit(tx);
        if let Err(e) = &result {
            self.metrics.count_rejected(e.code());
        }
        result
    }

    fn admit(&self, tx: SignedTransaction) -> Result<Hash, SubmitError> {
        if let Some(why) = self.halted() {
            return Err(SubmitError::Halted(why));
        }
        let size = tx.encoded_len();
        if size > TX_BYTES_MAX {
            return Err(SubmitError::TooLarge(size));
        }
        let rules = self.executor.rules();
        // Chain and scheme first, so a transaction for another chain says so rather than
        // failing its signature check.
        if tx.tx.chain_id != rules.chain_id {
            return Err(ContractError::WrongChain {
                expected: rules.chain_id.clone(),
                found: tx.tx.chain_id.clone(),
            }
            .into());
        }
        let schemes = self.accepted_schemes()?;
        if !schemes.contains(&tx.tx.sender.scheme()) {
            return Err(ContractError::SchemeNotAccepted(tx.tx.sender.scheme().to_string()).into());
        }
        // A duplicate (re-gossiped, or sent twice) is recognised by its hash before the costly
        // signature check; the hash excludes the signature, so this cannot admit a forgery.
        let hash = tx.hash(self.suite());
        if lock(&self.mempool).contains(&hash) {
            // Just committed, and not yet cleared from the mempool (applying a block commits it
            // before the mempool forgets it): the committed answer is the true one.
            if self.storage.tx_location(&hash)?.is_some() {
                return Err(ContractError::Duplicate(hash.to_hex()).into());
            }
            return Err(SubmitError::AlreadyPending(hash));
        }
        // Gossip can bring a transaction after its block did; the block's check counts.
        if !lock(&self.verified).contains(&hash, &tx.signature) {
            tx.verify_signature()
                .map_err(|e| SubmitError::BadSignature(e.to_string()))?;
            self.metrics.count_signature_check("admission");
            lock(&self.verified).insert(&hash, &tx.signature);
        }
        let next_height = self.head().height + 1;
        self.executor
            .check_admission_hashed(&self.storage, &tx, &hash, next_height)
            .map_err(Error::from)??;
        let mut mempool = lock(&self.mempool);
        match mempool.insert(hash, tx, size) {
            Ok(()) => {
                self.metrics.set_mempool(mempool.len());
                Ok(hash)
            }
            Err(InsertError::AlreadyPending) => Err(SubmitError::AlreadyPending(hash)),
            Err(InsertError::Full) => Err(SubmitError::MempoolFull(mempool.len())),
            Err(InsertError::SenderShareFull { txs, bytes }) => {
                Err(SubmitError::SenderShareFull { txs, bytes })
            }
        }
    }

    /// Up to `n` waiting transactions of at most `bytes_max` bytes together, for re-sending to
    /// peers: senders in turn, as for a block, so a flooding sender's backlog never keeps
    /// another's transaction from being re-sent.
    pub fn pending_to_resend(&self, n: usize, bytes_max: usize) -> Vec<SignedTransaction> {
        lock(&self.mempool)
            .fair_batch(n, bytes_max)
            .into_iter()
            .map(|(_, tx)| tx)
            .collect()
    }

    /// Drops waiting transactions whose window closed at the head, remembering why.
    pub(super) fn prune_expired(&self, head_height: u64) {
        let expired: Vec<(Hash, u64)> = lock(&self.mempool)
            .oldest(usize::MAX)
            .into_iter()
            .filter(|(_, tx)| tx.tx.valid_until_height <= head_height)
            .map(|(hash, tx)| (hash, tx.tx.valid_until_height))
            .collect();
        if expired.is_empty() {
            return;
        }
        let mut rejected = lock(&self.rejected);
        for (hash, valid_until) in &expired {
            let e = ContractError::Expired {
                valid_until: *valid_until,
                height: head_height + 1,
            };
            self.record_rejection(&mut rejected, *hash, &e);
        }
        drop(rejected);
        let hashes: Vec<Hash> = expired.into_iter().map(|(h, _)| h).collect();
        self.finish(&hashes);
    }

    /// Remembers a transaction the mempool dropped as rejected, counts it and tells the event
    /// streams.
    pub(super) fn record_rejection(
        &self,
        rejected: &mut RejectedTxs,
        tx_hash: Hash,
        e: &ContractError,
    ) {
        let error = ErrorBody {
            code: e.code().into(),
            message: e.to_string(),
        };
        rejected.insert(tx_hash, error.clone());
        self.metrics.count_rejected(e.code());
        // No receiver is not an error: nobody is listening.
        let _ = self.rejections.send(Rejection { tx_hash, error });
    }
}
