//! Parsed public keys, by encoding. Every transaction carries its sender's key and a terminal
//! sends many; a node decodes each transaction several times (from a client, from gossip, in a
//! block). Without this, each decoding would check the point again (an Ed25519 decompression is a
//! square root; an SM2 key also needs its `Z`, an SM3 over about 210 bytes).
//!
//! Anyone can make a node decode a key (a transaction or signed request from a stranger is
//! decoded before it is refused), so the cache keeps two generations: keys that have verified a
//! good signature ("proven": the node checks signatures only for members, after the membership
//! lookup) and the rest. When the cache is full, the unproven keys go and the proven stay, so a
//! flood of random keys costs members nothing.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Mutex, PoisonError};

use crate::Result;

/// Keys remembered per scheme and generation; a full generation starts again empty (keys in use
/// come straight back), so memory stays bounded whatever keys arrive.
const CAPACITY: usize = 4_096;

struct Generations<K, V> {
    proven: HashMap<K, V>,
    unproven: HashMap<K, V>,
}

impl<K, V> Default for Generations<K, V> {
    fn default() -> Self {
        Generations {
            proven: HashMap::new(),
            unproven: HashMap::new(),
        }
    }
}

/// A bounded map from a key's encoding to its parsed form.
pub(super) struct KeyCache<K, V>(Mutex<Option<Generations<K, V>>>);

impl<K: Eq + Hash, V: Clone> KeyCache<K, V> {
    /// An empty cache, usable in a `static`.
    pub(super) const fn new() -> Self {
        KeyCache(Mutex::new(None))
    }

    /// The parsed key for `encoding`, parsing it with `parse` if it is not here. Refused
    /// encodings are not remembered; a new key is unproven.
    pub(super) fn get_or_parse(&self, encoding: K, parse: impl FnOnce() -> Result<V>) -> Result<V> {
        {
            let mut guard = self.lock();
            let generations = guard.get_or_insert_with(Generations::default);
            if let Some(parsed) = generations
                .proven
                .get(&encoding)
                .or_else(|| generations.unproven.get(&encoding))
            {
                return Ok(parsed.clone());
            }
        }
        let parsed = parse()?;
        let mut guard = self.lock();
        let generations = guard.get_or_insert_with(Generations::default);
        if generations.unproven.len() >= CAPACITY {
            generations.unproven.clear();
        }
        generations.unproven.insert(encoding, parsed.clone());
        Ok(parsed)
    }

    /// Moves a key that verified a good signature to the proven generation.
    pub(super) fn prove(&self, encoding: &K) {
        let mut guard = self.lock();
        let Some(generations) = guard.as_mut() else {
            return;
        };
        if let Some((encoding, parsed)) = generations.unproven.remove_entry(encoding) {
            if generations.proven.len() >= CAPACITY {
                generations.proven.clear();
            }
            generations.proven.insert(encoding, parsed);
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<Generations<K, V>>> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;

    use super::*;

    #[test]
    fn a_flood_of_unproven_keys_leaves_the_proven_ones() {
        let cache: KeyCache<u32, u32> = KeyCache::new();
        let parses = Cell::new(0);
        let parse = |value: u32| {
            parses.set(parses.get() + 1);
            Ok(value)
        };
        cache.get_or_parse(1, || parse(10)).unwrap();
        cache.prove(&1);
        for key in 2..3 * CAPACITY as u32 {
            cache.get_or_parse(key, || parse(key)).unwrap();
        }
        let parsed_before = parses.get();
        assert_eq!(cache.get_or_parse(1, || parse(99)).unwrap(), 10);
        assert_eq!(parses.get(), parsed_before, "the proven key stayed parsed");
        // A key from early in the flood was shed and is parsed again.
        cache.get_or_parse(2, || parse(2)).unwrap();
        assert_eq!(parses.get(), parsed_before + 1);
    }

    #[test]
    fn both_generations_stay_bounded() {
        let cache: KeyCache<u32, u32> = KeyCache::new();
        for key in 0..3 * CAPACITY as u32 {
            cache.get_or_parse(key, || Ok(key)).unwrap();
            if key % 2 == 0 {
                cache.prove(&key);
            }
        }
        let guard = cache.lock();
        let generations = guard.as_ref().unwrap();
        assert!(generations.proven.len() <= CAPACITY);
        assert!(generations.unproven.len() <= CAPACITY);
        assert!(!generations.proven.is_empty() && !generations.unproven.is_empty());
    }
}
