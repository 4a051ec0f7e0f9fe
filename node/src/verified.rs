//! Signatures this node has already checked: a transaction verified when it entered the mempool
//! is not verified again when its block is applied here. The key is the transaction hash and the
//! signature together (the hash leaves the signature out), so a block carrying the same
//! transaction with another signature is checked in full.

use std::collections::{HashSet, VecDeque};

use xinlian_core::Hash;
use xinlian_core::crypto::Signature;

type Key = ([u8; 32], [u8; 64]);

/// A bounded set of verified (hash, signature) pairs; the oldest leave first.
pub struct VerifiedCache {
    set: HashSet<Key>,
    order: VecDeque<Key>,
    capacity: usize,
}

impl VerifiedCache {
    /// An empty cache holding at most `capacity` pairs.
    pub fn new(capacity: usize) -> Self {
        VerifiedCache {
            set: HashSet::with_capacity(capacity.min(1 << 16)),
            order: VecDeque::with_capacity(capacity.min(1 << 16)),
            capacity: capacity.max(1),
        }
    }

    /// Remembers that `signature` verified for transaction `hash`.
    pub fn insert(&mut self, hash: &Hash, signature: &Signature) {
        let key = (*hash.as_bytes(), signature.0);
        if !self.set.insert(key) {
            return;
        }
        self.order.push_back(key);
        while self.order.len() > self.capacity {
            if let Some(old) = self.order.pop_front() {
                self.set.remove(&old);
            }
        }
    }

    /// Whether this exact signature was verified for `hash`.
    pub fn contains(&self, hash: &Hash, signature: &Signature) -> bool {
        self.set.contains(&(*hash.as_bytes(), signature.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keyed_by_signature_and_bounded() {
        let mut cache = VerifiedCache::new(2);
        let (a, b, c) = (Hash([1; 32]), Hash([2; 32]), Hash([3; 32]));
        cache.insert(&a, &Signature([1; 64]));
        assert!(cache.contains(&a, &Signature([1; 64])));
        assert!(
            !cache.contains(&a, &Signature([2; 64])),
            "another signature is not verified"
        );
        cache.insert(&b, &Signature([1; 64]));
        cache.insert(&c, &Signature([1; 64]));
        assert!(!cache.contains(&a, &Signature([1; 64])), "the oldest left");
        assert!(cache.contains(&c, &Signature([1; 64])));
    }
}
