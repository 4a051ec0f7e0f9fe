//! The bounded mempool: transactions admitted (signature and sender checked) and waiting for a
//! block, in arrival order, with duplicate detection; and a bounded memory of rejected hashes so
//! a client can learn why its transaction never arrived.

use std::collections::{HashMap, VecDeque};

use xinlian_core::Hash;
use xinlian_core::api::ErrorBody;
use xinlian_core::types::SignedTransaction;

/// Why a transaction could not enter the mempool.
#[derive(Debug, PartialEq, Eq)]
pub enum InsertError {
    /// It is already waiting.
    AlreadyPending,
    /// The mempool holds `mempool_txs_max` transactions.
    Full,
}

/// Waiting transactions.
pub struct Mempool {
    order: VecDeque<Hash>,
    txs: HashMap<Hash, SignedTransaction>,
    txs_max: usize,
}

impl Mempool {
    /// An empty mempool holding at most `txs_max` transactions.
    pub fn new(txs_max: usize) -> Self {
        Mempool {
            order: VecDeque::new(),
            txs: HashMap::new(),
            txs_max,
        }
    }

    /// Adds an admitted transaction.
    pub fn insert(&mut self, hash: Hash, tx: SignedTransaction) -> Result<(), InsertError> {
        if self.txs.contains_key(&hash) {
            return Err(InsertError::AlreadyPending);
        }
        if self.txs.len() >= self.txs_max {
            return Err(InsertError::Full);
        }
        self.order.push_back(hash);
        self.txs.insert(hash, tx);
        Ok(())
    }

    /// Whether `hash` is waiting.
    pub fn contains(&self, hash: &Hash) -> bool {
        self.txs.contains_key(hash)
    }

    /// Number of waiting transactions.
    pub fn len(&self) -> usize {
        self.txs.len()
    }

    /// Whether nothing is waiting.
    pub fn is_empty(&self) -> bool {
        self.txs.is_empty()
    }

    /// Up to `n` of the oldest transactions, left in place until [`Mempool::remove`].
    pub fn oldest(&self, n: usize) -> Vec<(Hash, SignedTransaction)> {
        self.order
            .iter()
            .take(n)
            .map(|h| (*h, self.txs[h].clone()))
            .collect()
    }

    /// Removes transactions that were committed or dropped.
    pub fn remove(&mut self, hashes: &[Hash]) {
        for hash in hashes {
            self.txs.remove(hash);
        }
        self.order.retain(|h| self.txs.contains_key(h));
    }
}

/// A bounded memory of transactions dropped before reaching a block, oldest forgotten first.
pub struct RejectedTxs {
    order: VecDeque<Hash>,
    reasons: HashMap<Hash, ErrorBody>,
    kept_max: usize,
}

impl RejectedTxs {
    /// Remembers at most `kept_max` hashes.
    pub fn new(kept_max: usize) -> Self {
        RejectedTxs {
            order: VecDeque::new(),
            reasons: HashMap::new(),
            kept_max,
        }
    }

    /// Records why `hash` was dropped.
    pub fn insert(&mut self, hash: Hash, reason: ErrorBody) {
        if self.reasons.insert(hash, reason).is_none() {
            self.order.push_back(hash);
        }
        while self.order.len() > self.kept_max {
            if let Some(old) = self.order.pop_front() {
                self.reasons.remove(&old);
            }
        }
    }

    /// Why `hash` was dropped, if it is remembered.
    pub fn get(&self, hash: &Hash) -> Option<&ErrorBody> {
        self.reasons.get(hash)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use xinlian_core::crypto::{PrivateKey, SignatureScheme};
    use xinlian_core::types::{Call, SystemCall, Transaction};

    fn tx(nonce: u64) -> SignedTransaction {
        let key = PrivateKey::from_seed(SignatureScheme::Ed25519, [1; 32]).unwrap();
        Transaction {
            chain_id: "c".into(),
            sender: key.public_key(),
            nonce,
            created_at_ms: 0,
            valid_until_height: 5,
            call: Call::System(SystemCall::RemoveMember {
                public_key: key.public_key(),
            }),
        }
        .sign(&key)
        .unwrap()
    }

    #[test]
    fn bounded_and_deduplicated_in_arrival_order() {
        let mut pool = Mempool::new(2);
        pool.insert(Hash([1; 32]), tx(1)).unwrap();
        assert_eq!(
            pool.insert(Hash([1; 32]), tx(1)),
            Err(InsertError::AlreadyPending)
        );
        pool.insert(Hash([2; 32]), tx(2)).unwrap();
        assert_eq!(pool.insert(Hash([3; 32]), tx(3)), Err(InsertError::Full));
        assert_eq!(pool.oldest(1)[0].0, Hash([1; 32]));
        pool.remove(&[Hash([1; 32])]);
        assert_eq!(pool.oldest(5).len(), 1);
        assert!(!pool.contains(&Hash([1; 32])));
    }

    #[test]
    fn rejected_memory_forgets_oldest() {
        let mut rejected = RejectedTxs::new(2);
        for i in 0..3u8 {
            rejected.insert(
                Hash([i; 32]),
                ErrorBody {
                    code: "x".into(),
                    message: String::new(),
                },
            );
        }
        assert!(rejected.get(&Hash([0; 32])).is_none());
        assert!(rejected.get(&Hash([2; 32])).is_some());
    }
}
