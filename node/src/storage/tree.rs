//! The state tree in RocksDB: its nodes, the key behind each leaf, and the nodes a later version
//! made stale, all written in the block's own batch (see `xinlian_core::state_tree`).
//!
//! | cf | key | value |
//! |---|---|---|
//! | `tree` | borsh(jmt `NodeKey`): version and nibble path | borsh(jmt `Node`) |
//! | `tree_keys` | key hash | space byte ‖ key: the entry a leaf stands for |
//! | `tree_stale` | version it went stale (u64 big-endian) ‖ borsh(`NodeKey`) | empty |
//!
//! The tree's leaves hold hashes only; values stay where they were, in `state` and `index`, so
//! the tree adds no second copy of them. `tree_keys` leads from a leaf back to its value (a
//! proof's value, a snapshot chunk's entries, in key-hash order). Each block takes two of the
//! tree's versions (`state_tree::tree_version`). Nodes stale for more than
//! [`TREE_VERSIONS_KEPT`] blocks are deleted in the batch of a later block, so the tree keeps
//! about one live node per entry whatever the chain's age.

use std::cell::RefCell;
use std::collections::BTreeSet;
use std::sync::atomic::Ordering;

use jmt::storage::{LeafNode, Node, NodeKey, TreeReader, TreeUpdateBatch};
use jmt::{KeyHash, OwnedValue, Version};
use rocksdb::{DB, Direction, IteratorMode, SnapshotWithThreadMode, WriteBatch};
use xinlian_contracts::views::state_space;
use xinlian_contracts::{ExecError, Space, StateReader, WriteSet};
use xinlian_core::proof::{HexBytes, ProvenEntry};
use xinlian_core::{Hash, HashSuite, state_tree};

use super::{CF_INDEX, CF_STATE, Head, META_HEAD, Storage, corrupt};
use crate::{Error, Result};

pub(super) const CF_TREE: &str = "tree";
pub(super) const CF_TREE_KEYS: &str = "tree_keys";
pub(super) const CF_TREE_STALE: &str = "tree_stale";

/// Blocks' trees kept readable behind the head: the head's own and the one before it
/// (a block being built reads its parent's). Older nodes are pruned; a proof or snapshot chunk is
/// read from one RocksDB snapshot, which keeps what it reads alive while it is open.
pub const TREE_VERSIONS_KEPT: u64 = 2;

/// Most stale nodes pruned in one block's batch: about as many as a block makes stale, so pruning
/// keeps pace, while one batch stays bounded after a long outage of pruning.
const PRUNED_PER_BLOCK_MAX: usize = 1 << 20;

/// What a block (or genesis) does to the state tree, computed with its execution and stored in
/// its batch.
pub struct TreeUpdate {
    /// The root after it: the header's `state_root`.
    pub root: Hash,
    batch: TreeUpdateBatch,
    /// Each written entry's key hash and, unless deleted, its space and key.
    preimages: Vec<(KeyHash, Option<Vec<u8>>)>,
}

impl TreeUpdate {
    /// `base` with this update's nodes over it, for a block built on this one before it is
    /// stored.
    pub fn over<'a, R: TreeReader>(&'a self, base: &'a R) -> state_tree::Pending<'a, R> {
        state_tree::Pending {
            base,
            nodes: &self.batch.node_batch,
        }
    }
}

impl std::fmt::Debug for TreeUpdate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TreeUpdate")
            .field("root", &self.root)
            .field("nodes", &self.batch.node_batch.nodes().len())
            .finish()
    }
}

fn space_byte(space: Space) -> u8 {
    space as u8
}

/// The tree after block `height`'s `writes`, on top of `base` (the stored tree of the block
/// before, with a built block's update over it when the leader builds ahead: see
/// [`TreeUpdate::over`]).
pub fn update_tree(
    suite: HashSuite,
    base: &impl TreeReader,
    height: u64,
    writes: &WriteSet,
) -> Result<TreeUpdate> {
    let mut preimages = Vec::with_capacity(writes.len());
    let mut entries = Vec::with_capacity(writes.len());
    for ((space, key), value) in writes {
        let tree_key = [&[space_byte(*space)][..], key].concat();
        let hash = state_tree::key_hash(suite, space_byte(*space), key);
        preimages.push((hash, value.as_ref().map(|_| tree_key)));
        entries.push((hash, value.clone()));
    }
    let (root, batch) = state_tree::apply(suite, base, height, entries)?;
    Ok(TreeUpdate {
        root,
        batch,
        preimages,
    })
}

fn node_key_bytes(key: &NodeKey) -> Vec<u8> {
    borsh::to_vec(key).expect("a node key encodes")
}

fn tree_error(e: impl std::fmt::Display) -> anyhow::Error {
    anyhow::anyhow!("{e}")
}

/// Where tree reads come from: the live store, or one snapshot of it.
pub(super) trait Source {
    fn read(&self, storage: &Storage, cf: &str, key: &[u8]) -> Result<Option<Vec<u8>>>;
}

struct Live;

impl Source for Live {
    fn read(&self, storage: &Storage, cf: &str, key: &[u8]) -> Result<Option<Vec<u8>>> {
        Ok(storage.db.get_cf(storage.cf(cf), key)?)
    }
}

impl Source for SnapshotWithThreadMode<'_, DB> {
    fn read(&self, storage: &Storage, cf: &str, key: &[u8]) -> Result<Option<Vec<u8>>> {
        Ok(self.get_cf(storage.cf(cf), key)?)
    }
}

/// A [`TreeReader`] over the store through `source`.
struct Reader<'a, S: Source> {
    storage: &'a Storage,
    source: S,
}

impl<S: Source> Reader<'_, S> {
    /// The value a leaf stands for, as the store holds it now.
    fn value_of(&self, key: KeyHash) -> Result<Option<Vec<u8>>> {
        let Some(tree_key) = self.source.read(self.storage, CF_TREE_KEYS, &key.0)? else {
            return Ok(None);
        };
        let (space, key) = tree_key
            .split_first()
            .ok_or_else(|| Error::Corrupt("empty state tree key".into()))?;
        let cf = match *space {
            0 => CF_STATE,
            1 => CF_INDEX,
            other => return Err(Error::Corrupt(format!("state tree key in space {other}"))),
        };
        self.source.read(self.storage, cf, key)
    }
}

impl<S: Source> TreeReader for Reader<'_, S> {
    fn get_node_option(&self, node_key: &NodeKey) -> anyhow::Result<Option<Node>> {
        let Some(bytes) = self
            .source
            .read(self.storage, CF_TREE, &node_key_bytes(node_key))
            .map_err(tree_error)?
        else {
            return Ok(None);
        };
        borsh::from_slice(&bytes).map(Some).map_err(tree_error)
    }

    /// Values are read where the chain keeps them, which holds the latest version only: the
    /// tree asks for one when it proves a key, always at the version of the head its reads see.
    fn get_value_option(
        &self,
        _max_version: Version,
        key: KeyHash,
    ) -> anyhow::Result<Option<OwnedValue>> {
        self.value_of(key).map_err(tree_error)
    }

    fn get_rightmost_leaf(&self) -> anyhow::Result<Option<(NodeKey, LeafNode)>> {
        Err(anyhow::anyhow!(
            "the store does not index the rightmost leaf (not needed: snapshots restore from chunks)"
        ))
    }
}

/// State and tree as of one instant: reads and proofs that agree with one head, however far the
/// chain moves meanwhile.
pub struct StateView<'a> {
    storage: &'a Storage,
    snapshot: SnapshotWithThreadMode<'a, DB>,
    head: Head,
}

impl StateView<'_> {
    /// The head the view sees.
    pub fn head(&self) -> &Head {
        &self.head
    }

    fn reader(&self) -> Reader<'_, &SnapshotWithThreadMode<'_, DB>> {
        Reader {
            storage: self.storage,
            source: &self.snapshot,
        }
    }

    /// The value at `key` in `space`, with the proof of it (or of its absence) under the head's
    /// state root, as a proof bundle carries it.
    pub fn prove(&self, suite: HashSuite, space: Space, key: &[u8]) -> Result<ProvenEntry> {
        let hash = state_tree::key_hash(suite, space_byte(space), key);
        let (value, proof) = state_tree::prove(suite, &self.reader(), self.head.height, hash)?;
        Ok(ProvenEntry {
            space: state_space(space),
            key: HexBytes(key.to_vec()),
            value: value.map(HexBytes),
            proof: HexBytes(proof),
        })
    }

    /// The value at `key` in `space` as the view sees it.
    pub fn get(&self, space: Space, key: &[u8]) -> Result<Option<Vec<u8>>> {
        let cf = match space {
            Space::State => CF_STATE,
            Space::Index => CF_INDEX,
        };
        self.snapshot.read(self.storage, cf, key)
    }

    /// Runs `derive` over this view and returns what it gave with every entry it read, in key
    /// order: the entries a proof of its answer must prove.
    pub fn record<T>(&self, derive: impl FnOnce(&dyn StateReader) -> T) -> (T, Reads) {
        let recording = Recording {
            view: self,
            read: RefCell::new(BTreeSet::new()),
        };
        let answer = derive(&recording);
        (answer, recording.read.into_inner())
    }

    /// Proves each of `reads` (present with its value, or absent) under the head's state root,
    /// as a proof bundle carries them.
    pub fn prove_all(&self, suite: HashSuite, reads: Reads) -> Result<Vec<ProvenEntry>> {
        reads
            .into_iter()
            .map(|(space, key)| self.prove(suite, space, &key))
            .collect()
    }
}

/// The entries a derivation read.
pub type Reads = BTreeSet<(Space, Vec<u8>)>;

/// Reads through one view and remembers what it read.
struct Recording<'a> {
    view: &'a StateView<'a>,
    read: RefCell<Reads>,
}

impl StateReader for Recording<'_> {
    fn get(&self, space: Space, key: &[u8]) -> std::result::Result<Option<Vec<u8>>, ExecError> {
        self.read.borrow_mut().insert((space, key.to_vec()));
        self.view
            .get(space, key)
            .map_err(|e| ExecError::Storage(e.to_string()))
    }

    fn tx_committed(&self, _tx_hash: &Hash) -> std::result::Result<bool, ExecError> {
        Err(ExecError::Storage(
            "a proven answer reads state entries only".into(),
        ))
    }
}

impl<S: Source> Source for &S {
    fn read(&self, storage: &Storage, cf: &str, key: &[u8]) -> Result<Option<Vec<u8>>> {
        (*self).read(storage, cf, key)
    }
}

impl Storage {
    /// The stored tree at the head, for computing the next block's update.
    pub fn tree_reader(&self) -> impl TreeReader + '_ {
        Reader {
            storage: self,
            source: Live,
        }
    }

    /// A consistent view of state and tree at the current head.
    pub fn state_view(&self) -> Result<StateView<'_>> {
        let snapshot = self.db.snapshot();
        let head = snapshot
            .read(self, super::CF_META, META_HEAD)?
            .ok_or_else(|| Error::Corrupt("no head in the store".into()))?;
        let head: Head = borsh::from_slice(&head).map_err(|e| corrupt("head", e))?;
        Ok(StateView {
            storage: self,
            snapshot,
            head,
        })
    }

    /// Whether the tree's root node after block `height` is stored: false for a store written before
    /// the chain had a state tree.
    pub fn has_tree_at(&self, height: u64) -> Result<bool> {
        let root = state_tree::root_key(state_tree::tree_version(height));
        Ok(self
            .db
            .get_pinned_cf(self.cf(CF_TREE), node_key_bytes(&root))?
            .is_some())
    }

    /// Adds `update`, made for block `height`, to `batch`: its nodes, its stale index, the keys
    /// of its leaves, and the pruning of nodes stale for more than [`TREE_VERSIONS_KEPT`] blocks.
    /// Returns the version from which stale nodes may remain after this batch: the caller hands
    /// it to [`Storage::tree_pruned_to`] once the batch is written.
    pub(super) fn add_tree_update(
        &self,
        batch: &mut WriteBatch,
        update: &TreeUpdate,
        height: u64,
    ) -> Result<u64> {
        let (tree, keys, stale) = (
            self.cf(CF_TREE),
            self.cf(CF_TREE_KEYS),
            self.cf(CF_TREE_STALE),
        );
        for (key, node) in update.batch.node_batch.nodes() {
            let node = borsh::to_vec(node).map_err(|e| corrupt("tree node", e))?;
            batch.put_cf(tree, node_key_bytes(key), node);
        }
        for index in &update.batch.stale_node_index_batch {
            let key = [
                &index.stale_since_version.to_be_bytes()[..],
                &node_key_bytes(&index.node_key),
            ]
            .concat();
            batch.put_cf(stale, key, []);
        }
        for (hash, tree_key) in &update.preimages {
            match tree_key {
                Some(tree_key) => batch.put_cf(keys, hash.0, tree_key),
                None => batch.delete_cf(keys, hash.0),
            }
        }
        let from = self.tree_prune_from.load(Ordering::Relaxed);
        let Some(prune_through) =
            state_tree::tree_version(height).checked_sub(2 * TREE_VERSIONS_KEPT)
        else {
            return Ok(from);
        };
        // Read from where the last written batch left off: what lies before it was deleted by
        // range tombstones, which an iterator from the start would step over key by key (5% of
        // a follower's CPU under load when it did).
        let iter = self.db.iterator_cf(
            stale,
            IteratorMode::From(&from.to_be_bytes(), Direction::Forward),
        );
        let (mut last, mut next_from) = (None, prune_through + 1);
        for (read, item) in iter.enumerate() {
            let (key, _) = item?;
            let since = key
                .get(..8)
                .and_then(|b| b.try_into().ok())
                .map(u64::from_be_bytes)
                .ok_or_else(|| Error::Corrupt("short stale-node key".into()))?;
            if since > prune_through {
                break;
            }
            if read == PRUNED_PER_BLOCK_MAX {
                // Cut short: the next block goes on from this version.
                next_from = since;
                break;
            }
            batch.delete_cf(tree, &key[8..]);
            last = Some(key);
        }
        // The index entries read go in one range tombstone: point tombstones would pile up at
        // the front of the index, where every block's pruning starts reading, until compaction.
        if let Some(last) = last {
            batch.delete_range_cf(stale, [].as_slice(), [&last[..], &[0]].concat().as_slice());
        }
        Ok(next_from)
    }

    /// Records that the batch whose tree update returned `from` was written: the next block's
    /// pruning reads the stale-node index from there. Until the first (after opening, or after
    /// the tree was cleared: `from` 0), it reads from the start.
    pub(super) fn tree_pruned_to(&self, from: u64) {
        self.tree_prune_from.store(from, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use xinlian_core::encoding;

    const SUITE: HashSuite = HashSuite::Sm3;

    /// Stores `writes` as block `height` the way a block's batch does, with a head naming it.
    fn store(storage: &Storage, height: u64, writes: &[(&str, Option<&str>)]) -> Hash {
        let writes: WriteSet = writes
            .iter()
            .map(|(k, v)| ((Space::State, k.as_bytes().to_vec()), v.map(|v| v.into())))
            .collect();
        let update = update_tree(SUITE, &storage.tree_reader(), height, &writes).unwrap();
        let mut batch = WriteBatch::default();
        storage.add_writes(&mut batch, &writes);
        let prune_from = storage
            .add_tree_update(&mut batch, &update, height)
            .unwrap();
        let head = Head {
            height,
            hash: Hash::ZERO,
            state_root: update.root,
            timestamp_ms: 0,
        };
        batch.put_cf(
            storage.cf(super::super::CF_META),
            META_HEAD,
            encoding::encode(&head),
        );
        storage.db.write(batch).unwrap();
        storage.tree_pruned_to(prune_from);
        update.root
    }

    fn count(storage: &Storage, cf: &str) -> usize {
        storage
            .db
            .iterator_cf(storage.cf(cf), IteratorMode::Start)
            .count()
    }

    #[test]
    fn proofs_from_the_store_verify_and_an_altered_value_is_caught() {
        let dir = tempfile::tempdir().unwrap();
        let storage = Storage::open(dir.path(), 1 << 20).unwrap();
        store(
            &storage,
            0,
            &[("lic/1", Some("valid")), ("lic/2", Some("valid"))],
        );
        let root = store(&storage, 1, &[("lic/1", Some("revoked")), ("lic/2", None)]);

        let view = storage.state_view().unwrap();
        assert_eq!(view.head().state_root, root);
        let check = |entry: &ProvenEntry| {
            state_tree::verify(
                SUITE,
                &root,
                state_tree::key_hash(SUITE, 0, &entry.key.0),
                entry.value.as_ref().map(|v| v.0.as_slice()),
                &entry.proof.0,
            )
        };
        let one = view.prove(SUITE, Space::State, b"lic/1").unwrap();
        assert_eq!(one.value, Some(HexBytes(b"revoked".to_vec())));
        check(&one).unwrap();
        let two = view.prove(SUITE, Space::State, b"lic/2").unwrap();
        assert_eq!(two.value, None);
        check(&two).unwrap();
        drop(view);

        // Someone with the disk turns the revoked licence back to valid: the node now answers
        // "valid", and the proof it sends with it does not verify under the certified root.
        storage
            .db
            .put_cf(storage.cf(CF_STATE), b"lic/1", b"valid")
            .unwrap();
        let forged = storage
            .state_view()
            .unwrap()
            .prove(SUITE, Space::State, b"lic/1")
            .unwrap();
        assert_eq!(forged.value, Some(HexBytes(b"valid".to_vec())));
        let err = check(&forged).unwrap_err();
        assert!(err.to_string().contains("does not verify"), "{err}");
    }

    #[test]
    fn stale_nodes_are_pruned_so_the_tree_does_not_grow_with_versions() {
        let dir = tempfile::tempdir().unwrap();
        let mut storage = Storage::open(dir.path(), 1 << 20).unwrap();
        let keys: Vec<String> = (0..100).map(|i| format!("k{i}")).collect();
        let first: Vec<(&str, Option<&str>)> =
            keys.iter().map(|k| (k.as_str(), Some("0"))).collect();
        store(&storage, 0, &first);
        let after_first = count(&storage, CF_TREE);
        let values: Vec<String> = (1..=300).map(|v| v.to_string()).collect();
        for (version, value) in (1..=300).zip(&values) {
            // Every version rewrites ten keys, and every tenth changes nothing.
            let writes: Vec<(&str, Option<&str>)> = if version % 10 == 0 {
                vec![]
            } else {
                keys.iter()
                    .skip((version as usize * 10) % 100)
                    .take(10)
                    .map(|k| (k.as_str(), Some(value.as_str())))
                    .collect()
            };
            store(&storage, version, &writes);
            if version == 150 {
                // Pruning goes on from where the last block left it; a store opened again
                // reads the stale-node index from its start once.
                drop(storage);
                storage = Storage::open(dir.path(), 1 << 20).unwrap();
            }
        }
        let nodes = count(&storage, CF_TREE);
        // Live nodes plus those of the versions kept: nowhere near 300 versions' worth.
        assert!(
            nodes < after_first * 2,
            "{nodes} nodes after 300 versions, {after_first} after the first"
        );
        assert_eq!(count(&storage, CF_TREE_KEYS), 100);
        // The head's tree is whole: every key proves.
        let view = storage.state_view().unwrap();
        for key in &keys {
            let entry = view.prove(SUITE, Space::State, key.as_bytes()).unwrap();
            state_tree::verify(
                SUITE,
                &view.head().state_root,
                state_tree::key_hash(SUITE, 0, key.as_bytes()),
                entry.value.as_ref().map(|v| v.0.as_slice()),
                &entry.proof.0,
            )
            .unwrap();
        }
    }
}
