//! The store's side of certified state snapshots (`crate::state_sync`): reading a chunk of the
//! state in key-hash order with its range proof (from a checkpoint, which does not change while
//! peers read it), and installing a snapshot received from peers: its entries, the tree rebuilt
//! from them, the recent blocks whose transactions must not be replayed, and the new head.

use std::sync::Arc;

use jmt::storage::{LeafNode, Node, NodeBatch, NodeKey, TreeReader, TreeWriter};
use jmt::{KeyHash, OwnedValue, Version};
use rocksdb::{DB, Direction, IteratorMode, WriteBatch};
use xinlian_core::certificate::VoterSet;
use xinlian_core::types::Block;
use xinlian_core::{Hash, HashSuite, encoding, state_tree};

use super::tree::{CF_TREE, CF_TREE_KEYS, CF_TREE_STALE};
use super::{
    CF_BLOCK_HASHES, CF_BLOCKS, CF_INDEX, CF_META, CF_RECEIPTS, CF_STATE, CF_TXS, Head,
    META_CARRIED, META_HEAD, Storage, TxLocation, be_height, corrupt,
};
use crate::{Error, Result};

/// One chunk of a snapshot: entries (space byte ‖ key, value) in key-hash order, the range
/// proof of the last, and whether more follow.
pub struct StateChunk {
    /// The entries.
    pub entries: Vec<(Vec<u8>, Vec<u8>)>,
    /// `state_tree::range_proof` of the last entry.
    pub proof: Vec<u8>,
    /// Whether entries follow.
    pub more: bool,
}

/// The column family of a state entry's space byte.
fn space_cf(tree_key: &[u8]) -> Result<(&'static str, &[u8])> {
    match tree_key.split_first() {
        Some((0, key)) => Ok((CF_STATE, key)),
        Some((1, key)) => Ok((CF_INDEX, key)),
        _ => Err(Error::Corrupt(format!(
            "a state entry names no space: {}",
            hex::encode(tree_key)
        ))),
    }
}

/// Writes a restored tree's nodes straight into the `tree` column family (jmt's restore hands
/// them over as they freeze). It serves no rightmost leaf: a restore starts over rather than
/// resumes, on a tree emptied first.
struct RestoreStore {
    db: Arc<DB>,
}

impl TreeWriter for RestoreStore {
    fn write_node_batch(&self, batch: &NodeBatch) -> anyhow::Result<()> {
        let cf = self
            .db
            .cf_handle(CF_TREE)
            .ok_or_else(|| anyhow::anyhow!("no tree column family"))?;
        let mut write = WriteBatch::default();
        for (key, node) in batch.nodes() {
            write.put_cf(cf, borsh::to_vec(key)?, borsh::to_vec(node)?);
        }
        // Values are written with the chunk's entries, in the state and index families.
        self.db.write(write)?;
        Ok(())
    }
}

impl TreeReader for RestoreStore {
    fn get_node_option(&self, node_key: &NodeKey) -> anyhow::Result<Option<Node>> {
        let cf = self
            .db
            .cf_handle(CF_TREE)
            .ok_or_else(|| anyhow::anyhow!("no tree column family"))?;
        match self.db.get_cf(cf, borsh::to_vec(node_key)?)? {
            Some(bytes) => Ok(Some(borsh::from_slice(&bytes)?)),
            None => Ok(None),
        }
    }

    fn get_value_option(
        &self,
        _max_version: Version,
        _key: KeyHash,
    ) -> anyhow::Result<Option<OwnedValue>> {
        Err(anyhow::anyhow!("a restore reads no values"))
    }

    fn get_rightmost_leaf(&self) -> anyhow::Result<Option<(NodeKey, LeafNode)>> {
        Ok(None)
    }
}

/// Present while a snapshot is being installed: the state is not the head's.
const META_SNAPSHOT_INCOMPLETE: &[u8] = b"snapshot_incomplete";

impl Storage {
    /// Whether a snapshot was being installed when the node stopped, so the state is partial.
    pub fn snapshot_incomplete(&self) -> Result<bool> {
        Ok(self
            .db
            .get_pinned_cf(self.cf(CF_META), META_SNAPSHOT_INCOMPLETE)?
            .is_some())
    }

    /// Up to `entries_max` entries after key hash `after` (from the first when `None`), within
    /// `bytes_max` bytes (the first entry goes even alone), with the range proof of the last at
    /// the head's version. `None` when no entry lies after `after`.
    pub fn state_chunk(
        &self,
        suite: HashSuite,
        after: Option<[u8; 32]>,
        entries_max: usize,
        bytes_max: usize,
    ) -> Result<Option<StateChunk>> {
        let head = self.head()?.ok_or_else(|| corrupt("head", "missing"))?;
        let start = after.map(|a| a.to_vec()).unwrap_or_default();
        let mut iter = self.db.iterator_cf(
            self.cf(CF_TREE_KEYS),
            IteratorMode::From(&start, Direction::Forward),
        );
        let mut entries = Vec::new();
        let mut last = None;
        let mut bytes = 0;
        let mut more = false;
        for item in iter.by_ref() {
            let (hash, tree_key) = item?;
            if after.is_some_and(|a| hash.as_ref() == a) {
                continue;
            }
            let (cf, key) = space_cf(&tree_key)?;
            let value = self.db.get_cf(self.cf(cf), key)?.ok_or_else(|| {
                Error::Corrupt(format!("state entry {} has no value", hex::encode(key)))
            })?;
            if !entries.is_empty()
                && (entries.len() >= entries_max
                    || bytes + tree_key.len() + value.len() > bytes_max)
            {
                more = true;
                break;
            }
            bytes += tree_key.len() + value.len();
            let hash: [u8; 32] = hash
                .as_ref()
                .try_into()
                .map_err(|_| Error::Corrupt("a state key hash is not 32 bytes".into()))?;
            last = Some(KeyHash(hash));
            entries.push((tree_key.to_vec(), value));
        }
        let Some(last) = last else {
            return Ok(None);
        };
        let proof = state_tree::range_proof(suite, &self.tree_reader(), head.height, last)?;
        Ok(Some(StateChunk {
            entries,
            proof,
            more,
        }))
    }

    /// Forgets every state entry and the whole tree, before a snapshot is installed, and marks
    /// the store as holding an incomplete state until [`Storage::finish_snapshot`].
    pub fn clear_state(&self) -> Result<()> {
        let mut batch = WriteBatch::default();
        batch.put_cf(self.cf(CF_META), META_SNAPSHOT_INCOMPLETE, []);
        // Keys are ASCII paths, hashes or node keys: all sort below this bound.
        let end = [0xffu8; 512];
        for cf in [CF_STATE, CF_INDEX, CF_TREE, CF_TREE_KEYS, CF_TREE_STALE] {
            batch.delete_range_cf(self.cf(cf), [].as_slice(), end.as_slice());
        }
        self.db.write_opt(batch, &Self::synced())?;
        self.tree_pruned_to(0);
        Ok(())
    }

    /// A restore of the tree at `version` with root `root`, writing into this store.
    pub fn restore_tree(
        &self,
        suite: HashSuite,
        version: Version,
        root: Hash,
    ) -> Result<state_tree::Restore> {
        let store = Arc::new(RestoreStore {
            db: self.db.clone(),
        });
        Ok(state_tree::Restore::new(suite, store, version, root)?)
    }

    /// Writes a checked chunk's entries and the keys behind their leaves.
    pub fn put_state_entries(&self, entries: &[(KeyHash, Vec<u8>, Vec<u8>)]) -> Result<()> {
        let mut batch = WriteBatch::default();
        for (hash, tree_key, value) in entries {
            let (cf, key) = space_cf(tree_key)?;
            batch.put_cf(self.cf(cf), key, value);
            batch.put_cf(self.cf(CF_TREE_KEYS), hash.0, tree_key);
        }
        self.db.write(batch)?;
        Ok(())
    }

    /// Stores blocks below a snapshot's head, already checked to chain up to it, without
    /// executing them: their transactions count as committed (a replay of one is refused), and
    /// the certificates they carry are kept. Their receipts are not known here.
    pub fn put_synced_history(&self, suite: HashSuite, blocks: &[(Vec<u8>, Block)]) -> Result<()> {
        let mut batch = WriteBatch::default();
        for (bytes, block) in blocks {
            let height = be_height(block.header.height);
            batch.put_cf(self.cf(CF_BLOCKS), height, bytes);
            batch.put_cf(
                self.cf(CF_BLOCK_HASHES),
                block.header.hash(suite).as_bytes(),
                height,
            );
            for (index, tx) in block.txs.iter().enumerate() {
                let location = TxLocation {
                    height: block.header.height,
                    index: u32::try_from(index).unwrap_or(u32::MAX),
                };
                let hash = tx.hash(suite);
                batch.put_cf(
                    self.cf(CF_TXS),
                    hash.as_bytes(),
                    encoding::encode(&location),
                );
                // A receipt from an earlier life of this store would not be this chain's.
                batch.delete_cf(self.cf(CF_RECEIPTS), hash.as_bytes());
            }
            self.add_carried_certificates(&mut batch, block);
        }
        self.db.write(batch)?;
        Ok(())
    }

    /// Makes a restored snapshot the head, with the highest carried certificate, in one synced
    /// batch after everything else is written; then records `voters` (those its state names) as
    /// in force from the block after it.
    pub fn finish_snapshot(
        &self,
        head: &Head,
        carried_through: u64,
        voters: &VoterSet,
    ) -> Result<()> {
        // Synced: the log it ends holds every write of the snapshot before it.
        let mut batch = WriteBatch::default();
        batch.put_cf(self.cf(CF_META), META_HEAD, encoding::encode(head));
        batch.put_cf(self.cf(CF_META), META_CARRIED, be_height(carried_through));
        batch.delete_cf(self.cf(CF_META), META_SNAPSHOT_INCOMPLETE);
        self.db.write_opt(batch, &Self::synced())?;
        self.put_voters(head.height + 1, voters)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A snapshot being installed marks the store until its head is written, so a node that
    /// stops halfway never takes its partial state for the head's.
    #[test]
    fn a_store_is_marked_incomplete_from_clearing_until_the_snapshot_head() {
        let dir = tempfile::tempdir().unwrap();
        let storage = Storage::open(dir.path(), 1 << 20).unwrap();
        assert!(!storage.snapshot_incomplete().unwrap());
        storage.clear_state().unwrap();
        assert!(storage.snapshot_incomplete().unwrap());
        drop(storage);
        let reopened = Storage::open(dir.path(), 1 << 20).unwrap();
        assert!(
            reopened.snapshot_incomplete().unwrap(),
            "the mark survives a restart"
        );
        let head = Head {
            height: 5,
            hash: Hash([5; 32]),
            state_root: Hash([6; 32]),
            timestamp_ms: 7,
        };
        reopened
            .finish_snapshot(&head, 3, &VoterSet::default())
            .unwrap();
        assert!(!reopened.snapshot_incomplete().unwrap());
        assert_eq!(reopened.head().unwrap(), Some(head));
        assert_eq!(reopened.carried_through().unwrap(), 3);
    }
}
