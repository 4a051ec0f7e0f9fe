//! Parsed public keys, by encoding. Every transaction carries its sender's key and a terminal
//! sends many; a node decodes each transaction several times (from a client, from gossip, in a
//! block). Without this, each decoding would check the point again (an Ed25519 decompression is a
//! square root; an SM2 key also needs its `Z`, an SM3 over about 210 bytes).

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Mutex, PoisonError};

use crate::Result;

/// Keys remembered per scheme; when full, the cache starts again empty (keys in use come straight
/// back), so its memory stays bounded whatever keys arrive.
const CAPACITY: usize = 4_096;

/// A bounded map from a key's encoding to its parsed form.
pub(super) struct KeyCache<K, V>(Mutex<Option<HashMap<K, V>>>);

impl<K: Eq + Hash, V: Clone> KeyCache<K, V> {
    /// An empty cache, usable in a `static`.
    pub(super) const fn new() -> Self {
        KeyCache(Mutex::new(None))
    }

    /// The parsed key for `encoding`, parsing it with `parse` if it is not here. Refused
    /// encodings are not remembered.
    pub(super) fn get_or_parse(&self, encoding: K, parse: impl FnOnce() -> Result<V>) -> Result<V> {
        if let Some(parsed) = self.lock().get_or_insert_with(HashMap::new).get(&encoding) {
            return Ok(parsed.clone());
        }
        let parsed = parse()?;
        let mut guard = self.lock();
        let map = guard.get_or_insert_with(HashMap::new);
        if map.len() >= CAPACITY {
            map.clear();
        }
        map.insert(encoding, parsed.clone());
        Ok(parsed)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<HashMap<K, V>>> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
}
