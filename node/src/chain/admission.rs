//! Admission: a transaction from a client or a peer is checked (size, chain, scheme, the
//! contracts' rules and field bounds, then its signature once: the costly check last) and enters
//! the mempool within its sender's share.

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

/// A transaction through the checks before its signature's.
struct Screened {
    tx: SignedTransaction,
    hash: Hash,
    /// Its canonical encoding's length.
    size: usize,
    /// Whether this node verified this very signature already (in a block, or before).
    signature_known: bool,
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

    /// Admits a batch of transactions (gossip) with one verdict each, as [`Chain::submit`] would
    /// give them one by one; Ed25519 signatures are checked in batches
    /// ([`xinlian_core::verify::verify_each`]), which costs about half as much per signature.
    pub fn submit_batch(&self, txs: Vec<SignedTransaction>) -> Vec<Result<Hash, SubmitError>> {
        let schemes = match self.accepted_schemes() {
            Ok(schemes) => schemes,
            // A failed read: each transaction then meets (and reports) it on its own.
            Err(_) => return txs.into_iter().map(|tx| self.submit(tx)).collect(),
        };
        // Every check that reads no signature first (size, chain, scheme, window, duplicate,
        // membership, role, bounds), so a stranger's transactions cost no signature check.
        let screened: Vec<Result<Screened, SubmitError>> = txs
            .into_iter()
            .map(|tx| {
                let screened = self.screen(tx, &schemes)?;
                self.check_rules(&screened)?;
                Ok(screened)
            })
            .collect();
        let unchecked: Vec<&SignedTransaction> = screened
            .iter()
            .filter_map(|s| s.as_ref().ok())
            .filter(|s| !s.signature_known)
            .map(|s| &s.tx)
            .collect();
        let mut verdicts = xinlian_core::verify::verify_each(&unchecked).into_iter();
        let results: Vec<Result<Hash, SubmitError>> = screened
            .into_iter()
            .map(|screened| {
                let screened = screened?;
                if !screened.signature_known {
                    let verdict = verdicts
                        .next()
                        .expect("one verdict per unchecked transaction");
                    self.record_signature_check(&screened, verdict)?;
                }
                self.enter_mempool(screened)
            })
            .collect();
        for e in results.iter().filter_map(|r| r.as_ref().err()) {
            self.metrics.count_rejected(e.code());
        }
        results
    }

    fn admit(&self, tx: SignedTransaction) -> Result<Hash, SubmitError> {
        let schemes = self.accepted_schemes()?;
        let screened = self.screen(tx, &schemes)?;
        self.check_rules(&screened)?;
        if !screened.signature_known {
            let verdict = screened.tx.verify_signature();
            self.record_signature_check(&screened, verdict)?;
        }
        self.enter_mempool(screened)
    }

    /// The checks before the signature: the node takes transactions, size, chain, scheme, and
    /// whether the same transaction waits already.
    fn screen(
        &self,
        tx: SignedTransaction,
        schemes: &[xinlian_core::crypto::SignatureScheme],
    ) -> Result<Screened, SubmitError> {
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
        let signature_known = lock(&self.verified).contains(&hash, &tx.signature);
        Ok(Screened {
            tx,
            hash,
            size,
            signature_known,
        })
    }

    /// Counts a signature check and remembers a good signature, or refuses the transaction.
    fn record_signature_check(
        &self,
        screened: &Screened,
        verdict: xinlian_core::Result<()>,
    ) -> Result<(), SubmitError> {
        self.metrics.count_signature_check("admission");
        verdict.map_err(|e| SubmitError::BadSignature(e.to_string()))?;
        lock(&self.verified).insert(&screened.hash, &screened.tx.signature);
        Ok(())
    }

    /// The contracts' rules against committed state (window, duplicate, the sender a member, its
    /// role allowing the call, field bounds). They read no signature, so they run before it: a
    /// flood from keys that are not members costs lookups, never a signature check.
    fn check_rules(&self, screened: &Screened) -> Result<(), SubmitError> {
        let next_height = self.head().height + 1;
        self.executor
            .check_admission_hashed(&self.storage, &screened.tx, &screened.hash, next_height)
            .map_err(Error::from)??;
        Ok(())
    }

    /// Puts a transaction that passed every check, its signature's too, into the mempool.
    fn enter_mempool(&self, screened: Screened) -> Result<Hash, SubmitError> {
        let Screened { tx, hash, size, .. } = screened;
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
