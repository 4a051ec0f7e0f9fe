//! The bounded mempool: transactions admitted (signature, sender and field bounds checked) and
//! waiting for a block, in arrival order, with duplicate detection and a share per sender; and a bounded memory of rejected hashes so
//! a client can learn why its transaction never arrived.

use std::collections::{HashMap, HashSet, VecDeque};

use xinlian_core::Hash;
use xinlian_core::api::ErrorBody;
use xinlian_core::crypto::PublicKey;
use xinlian_core::types::SignedTransaction;

/// Why a transaction could not enter the mempool.
#[derive(Debug, PartialEq, Eq)]
pub enum InsertError {
    /// It is already waiting.
    AlreadyPending,
    /// The mempool holds its most transactions or bytes.
    Full,
    /// Its sender already holds its whole share of the mempool.
    SenderShareFull {
        /// Transactions the sender has waiting.
        txs: usize,
        /// Their bytes.
        bytes: usize,
    },
}

/// How much the mempool holds, in all and per sender.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MempoolLimits {
    /// Most transactions waiting.
    pub txs_max: usize,
    /// Most bytes (canonical encodings) waiting.
    pub bytes_max: usize,
    /// Most transactions of one sender.
    pub sender_txs_max: usize,
    /// Most bytes of one sender.
    pub sender_bytes_max: usize,
}

struct Pending {
    tx: SignedTransaction,
    bytes: usize,
}

/// What one sender has waiting.
#[derive(Default)]
struct Share {
    txs: usize,
    bytes: usize,
}

/// Waiting transactions, in arrival order, bounded in count and bytes, in all and per sender: a
/// member flooding the chain with valid transactions fills its own share and no more, and the
/// block builder takes senders in turn ([`Mempool::fair_batch`]).
pub struct Mempool {
    order: VecDeque<Hash>,
    txs: HashMap<Hash, Pending>,
    shares: HashMap<PublicKey, Share>,
    bytes: usize,
    limits: MempoolLimits,
}

impl Mempool {
    /// An empty mempool within `limits`.
    pub fn new(limits: MempoolLimits) -> Self {
        Mempool {
            order: VecDeque::new(),
            txs: HashMap::new(),
            shares: HashMap::new(),
            bytes: 0,
            limits,
        }
    }

    /// Adds an admitted transaction whose canonical encoding is `bytes` long.
    pub fn insert(
        &mut self,
        hash: Hash,
        tx: SignedTransaction,
        bytes: usize,
    ) -> Result<(), InsertError> {
        if self.txs.contains_key(&hash) {
            return Err(InsertError::AlreadyPending);
        }
        let limits = self.limits;
        if let Some(share) = self.shares.get(&tx.tx.sender)
            && (share.txs >= limits.sender_txs_max || share.bytes + bytes > limits.sender_bytes_max)
        {
            return Err(InsertError::SenderShareFull {
                txs: share.txs,
                bytes: share.bytes,
            });
        }
        if self.txs.len() >= limits.txs_max || self.bytes + bytes > limits.bytes_max {
            return Err(InsertError::Full);
        }
        let share = self.shares.entry(tx.tx.sender.clone()).or_default();
        share.txs += 1;
        share.bytes += bytes;
        self.bytes += bytes;
        self.order.push_back(hash);
        self.txs.insert(hash, Pending { tx, bytes });
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

    /// Bytes of the waiting transactions.
    pub fn bytes(&self) -> usize {
        self.bytes
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
            .map(|h| (*h, self.txs[h].tx.clone()))
            .collect()
    }

    /// The next block's candidates: at most `txs_max` transactions of at most `bytes_max` bytes
    /// together, taking senders in turn (the oldest transaction of each sender, in the order
    /// senders first appear, then each one's second, ...), so one sender's backlog never keeps
    /// another's transaction out of a block. Each sender's own transactions keep their arrival
    /// order: a sender whose next transaction does not fit takes no more this block.
    pub fn fair_batch(&self, txs_max: usize, bytes_max: usize) -> Vec<(Hash, SignedTransaction)> {
        self.fair_batch_without(txs_max, bytes_max, &HashSet::new())
    }

    /// [`Mempool::fair_batch`] leaving out the transactions in `skip` (those of a block built but
    /// not applied yet, which stay here until it is).
    pub fn fair_batch_without(
        &self,
        txs_max: usize,
        bytes_max: usize,
        skip: &HashSet<Hash>,
    ) -> Vec<(Hash, SignedTransaction)> {
        let mut queues: Vec<VecDeque<&Hash>> = Vec::new();
        let mut queue_of: HashMap<&PublicKey, usize> = HashMap::new();
        for hash in self.order.iter().filter(|h| !skip.contains(*h)) {
            let sender = &self.txs[hash].tx.tx.sender;
            let next = queues.len();
            let queue = *queue_of.entry(sender).or_insert(next);
            if queue == next {
                queues.push(VecDeque::new());
            }
            if queues[queue].len() < txs_max {
                queues[queue].push_back(hash);
            }
        }
        let mut batch = Vec::new();
        let mut bytes = 0;
        while batch.len() < txs_max && queues.iter().any(|q| !q.is_empty()) {
            for queue in queues.iter_mut() {
                let Some(hash) = queue.front() else { continue };
                let pending = &self.txs[*hash];
                if bytes + pending.bytes > bytes_max || batch.len() >= txs_max {
                    queue.clear();
                    continue;
                }
                bytes += pending.bytes;
                batch.push((**hash, pending.tx.clone()));
                queue.pop_front();
            }
        }
        batch
    }

    /// Removes transactions that were committed or dropped.
    pub fn remove(&mut self, hashes: &[Hash]) {
        for hash in hashes {
            let Some(pending) = self.txs.remove(hash) else {
                continue;
            };
            self.bytes -= pending.bytes;
            let sender = &pending.tx.tx.sender;
            if let Some(share) = self.shares.get_mut(sender) {
                share.txs -= 1;
                share.bytes -= pending.bytes;
                if share.txs == 0 {
                    self.shares.remove(sender);
                }
            }
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
        tx_from(1, nonce)
    }

    fn tx_from(sender: u8, nonce: u64) -> SignedTransaction {
        let key = PrivateKey::from_seed(SignatureScheme::Ed25519, [sender; 32]).unwrap();
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

    fn limits(txs_max: usize, bytes_max: usize, sender_txs_max: usize) -> MempoolLimits {
        MempoolLimits {
            txs_max,
            bytes_max,
            sender_txs_max,
            sender_bytes_max: bytes_max,
        }
    }

    #[test]
    fn bounded_and_deduplicated_in_arrival_order() {
        let mut pool = Mempool::new(limits(2, 1_000, 2));
        pool.insert(Hash([1; 32]), tx(1), 10).unwrap();
        assert_eq!(
            pool.insert(Hash([1; 32]), tx(1), 10),
            Err(InsertError::AlreadyPending)
        );
        pool.insert(Hash([2; 32]), tx_from(2, 2), 10).unwrap();
        assert_eq!(
            pool.insert(Hash([3; 32]), tx_from(3, 3), 10),
            Err(InsertError::Full)
        );
        assert_eq!(pool.oldest(1)[0].0, Hash([1; 32]));
        pool.remove(&[Hash([1; 32])]);
        assert_eq!(pool.oldest(5).len(), 1);
        assert!(!pool.contains(&Hash([1; 32])));
        assert_eq!(pool.bytes(), 10);
    }

    /// One sender fills its own share and no more, in count and in bytes; what it frees it may
    /// use again.
    #[test]
    fn a_sender_holds_at_most_its_share() {
        let mut pool = Mempool::new(MempoolLimits {
            txs_max: 100,
            bytes_max: 10_000,
            sender_txs_max: 3,
            sender_bytes_max: 250,
        });
        for n in 0..3u8 {
            pool.insert(Hash([n; 32]), tx(n.into()), 50).unwrap();
        }
        assert_eq!(
            pool.insert(Hash([9; 32]), tx(9), 50),
            Err(InsertError::SenderShareFull { txs: 3, bytes: 150 })
        );
        pool.insert(Hash([10; 32]), tx_from(2, 10), 50).unwrap();
        pool.remove(&[Hash([0; 32]), Hash([1; 32])]);
        assert_eq!(
            pool.insert(Hash([11; 32]), tx(11), 201),
            Err(InsertError::SenderShareFull { txs: 1, bytes: 50 })
        );
        pool.insert(Hash([12; 32]), tx(12), 150).unwrap();
        assert_eq!(pool.bytes(), 250);
    }

    /// A block takes senders in turn within its byte budget: a flood of large transactions from
    /// one sender queued first leaves room for the others.
    #[test]
    fn fair_batch_takes_senders_in_turn_within_the_byte_budget() {
        let mut pool = Mempool::new(limits(100, 100_000, 100));
        for n in 0..20u8 {
            pool.insert(Hash([n; 32]), tx(n.into()), 1_000).unwrap();
        }
        pool.insert(Hash([100; 32]), tx_from(2, 100), 10).unwrap();
        pool.insert(Hash([101; 32]), tx_from(3, 101), 10).unwrap();
        let batch = pool.fair_batch(50, 3_100);
        let hashes: Vec<Hash> = batch.iter().map(|(h, _)| *h).collect();
        assert_eq!(
            hashes,
            vec![
                Hash([0; 32]),
                Hash([100; 32]),
                Hash([101; 32]),
                Hash([1; 32]),
                Hash([2; 32])
            ]
        );
        assert_eq!(pool.fair_batch(2, 1_000_000).len(), 2);
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
