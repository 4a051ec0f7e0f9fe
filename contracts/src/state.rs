//! State access: a read-only view of committed state, overlays that buffer a block's and a
//! transaction's writes, and the write set handed to the node.

use std::collections::BTreeMap;

use borsh::{BorshDeserialize, BorshSerialize};
use xinlian_core::{Hash, encoding};

use crate::ExecError;

/// Which keyspace a key lives in; the node keeps each in its own column family.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, BorshSerialize, BorshDeserialize,
)]
#[borsh(use_discriminant = true)]
pub enum Space {
    /// Contract state: what the rules read.
    State = 0,
    /// Query indexes: what the API reads; contracts write them in the same batch.
    Index = 1,
}

/// Read access to committed state.
pub trait StateReader {
    /// The value at `key` in `space`, if any.
    fn get(&self, space: Space, key: &[u8]) -> Result<Option<Vec<u8>>, ExecError>;
    /// Whether a transaction with this hash is already on chain.
    fn tx_committed(&self, tx_hash: &Hash) -> Result<bool, ExecError>;
}

/// Buffered writes over a reader: `None` is a deletion.
pub type WriteSet = BTreeMap<(Space, Vec<u8>), Option<Vec<u8>>>;

/// Writes buffered over a base reader; reads see the buffered writes first.
pub struct Overlay<'a> {
    base: &'a dyn StateReader,
    writes: WriteSet,
}

impl<'a> Overlay<'a> {
    /// An empty overlay over `base`.
    pub fn new(base: &'a dyn StateReader) -> Self {
        Overlay {
            base,
            writes: WriteSet::new(),
        }
    }

    /// Buffers a write.
    pub fn put(&mut self, space: Space, key: Vec<u8>, value: Vec<u8>) {
        self.writes.insert((space, key), Some(value));
    }

    /// Buffers a deletion.
    pub fn delete(&mut self, space: Space, key: Vec<u8>) {
        self.writes.insert((space, key), None);
    }

    /// Encodes and buffers a typed value.
    pub fn put_value<T: BorshSerialize>(&mut self, space: Space, key: Vec<u8>, value: &T) {
        self.put(space, key, encoding::encode(value));
    }

    /// Reads and decodes a typed value.
    pub fn get_value<T: BorshDeserialize>(
        &self,
        space: Space,
        key: &[u8],
    ) -> Result<Option<T>, ExecError> {
        let Some(bytes) = self.get(space, key)? else {
            return Ok(None);
        };
        borsh::from_slice(&bytes)
            .map(Some)
            .map_err(|e| ExecError::Corrupt {
                key: String::from_utf8_lossy(key).into_owned(),
                reason: e.to_string(),
            })
    }

    /// Takes the buffered writes.
    pub fn into_writes(self) -> WriteSet {
        self.writes
    }

    /// Adds writes made in a nested overlay.
    pub fn absorb(&mut self, writes: WriteSet) {
        self.writes.extend(writes);
    }
}

impl StateReader for Overlay<'_> {
    fn get(&self, space: Space, key: &[u8]) -> Result<Option<Vec<u8>>, ExecError> {
        match self.writes.get(&(space, key.to_vec())) {
            Some(value) => Ok(value.clone()),
            None => self.base.get(space, key),
        }
    }

    fn tx_committed(&self, tx_hash: &Hash) -> Result<bool, ExecError> {
        self.base.tx_committed(tx_hash)
    }
}

/// State held in memory: the reference reader for unit tests and the simulation.
#[derive(Clone, Default)]
pub struct MemoryState {
    entries: BTreeMap<(Space, Vec<u8>), Vec<u8>>,
    committed_txs: std::collections::BTreeSet<Hash>,
}

impl MemoryState {
    /// Applies a write set and records committed transactions.
    pub fn apply(&mut self, writes: &WriteSet, tx_hashes: impl IntoIterator<Item = Hash>) {
        for (key, value) in writes {
            match value {
                Some(v) => self.entries.insert(key.clone(), v.clone()),
                None => self.entries.remove(key),
            };
        }
        self.committed_txs.extend(tx_hashes);
    }

    /// Whether both hold the same records: the same keys and values, committed transactions and
    /// the console's counters (`st/`, which count refused calls too) aside.
    pub fn same_records(&self, other: &MemoryState) -> bool {
        let records = |state: &MemoryState| {
            state
                .entries
                .iter()
                .filter(|((space, key), _)| {
                    !(*space == Space::Index && key.starts_with(crate::stats::PREFIX))
                })
                .map(|(key, value)| (key.clone(), value.clone()))
                .collect::<Vec<_>>()
        };
        records(self) == records(other)
    }
}

impl StateReader for MemoryState {
    fn get(&self, space: Space, key: &[u8]) -> Result<Option<Vec<u8>>, ExecError> {
        Ok(self.entries.get(&(space, key.to_vec())).cloned())
    }

    fn tx_committed(&self, tx_hash: &Hash) -> Result<bool, ExecError> {
        Ok(self.committed_txs.contains(tx_hash))
    }
}
