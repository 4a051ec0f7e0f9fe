//! The authenticated state tree: every state and index entry of the chain under one root in each
//! block header, with proofs that one key holds one value (or none) under that root.
//!
//! ```text
//!   (space, key) ──H("xinlian/state-key/v1", space‖key)──▶ key hash ──▶ leaf of a Jellyfish
//!   value ──────────────────────────────────────────────▶ H(value)      Merkle Tree (jmt crate)
//!                                                                            │
//!           versions 2h (deletions), 2h+1 (the rest) for block h ▼
//!                                                                       root ─▶ header.state_root
//! ```
//!
//! The tree is the `jmt` crate's (Diem's Jellyfish Merkle Tree, kept by Penumbra), hashed with the
//! chain's suite (SM3 or BLAKE3) through [`Sm3TreeHasher`] and [`Blake3TreeHasher`]. This module
//! is pure: the node hands in a [`TreeReader`] over RocksDB and writes the returned
//! [`TreeUpdateBatch`] in the block's own write batch; the SDK only verifies.
//!
//! A proof travels as the borsh bytes of jmt's `SparseMerkleProof` (the leaf met on the key's path,
//! if any, and the sibling hashes from the bottom up); see `docs/formats.md`.

use std::collections::HashMap;
use std::sync::Mutex;

use jmt::proof::SparseMerkleProof;
use jmt::restore::{JellyfishMerkleRestore, StateSnapshotReceiver};
use jmt::storage::{
    LeafNode, Node, NodeBatch, NodeKey, StaleNodeIndex, TreeReader, TreeUpdateBatch, TreeWriter,
};
use jmt::{JellyfishMerkleTree, KeyHash, OwnedValue, RootHash, SimpleHasher, Version};

use crate::hash::domains;
use crate::{Error, Hash, HashSuite, Result};

/// Most bytes of one encoded proof: 256 siblings (the tree's depth in bits) of at most 65 bytes
/// each, a leaf and the lengths. A proof that claims more is refused before decoding.
pub const PROOF_BYTES_MAX: usize = 256 * 65 + 128;

/// jmt's hasher over SM3.
pub struct Sm3TreeHasher(sm3::Sm3);

impl SimpleHasher for Sm3TreeHasher {
    fn new() -> Self {
        Sm3TreeHasher(<sm3::Sm3 as sm3::Digest>::new())
    }
    fn update(&mut self, data: &[u8]) {
        sm3::Digest::update(&mut self.0, data);
    }
    fn finalize(self) -> [u8; 32] {
        sm3::Digest::finalize(self.0).into()
    }
}

/// jmt's hasher over BLAKE3.
pub struct Blake3TreeHasher(blake3::Hasher);

impl SimpleHasher for Blake3TreeHasher {
    fn new() -> Self {
        Blake3TreeHasher(blake3::Hasher::new())
    }
    fn update(&mut self, data: &[u8]) {
        self.0.update(data);
    }
    fn finalize(self) -> [u8; 32] {
        *self.0.finalize().as_bytes()
    }
}

/// Where an entry sits in the tree: the suite's hash of its space (0 contract state, 1 query
/// index) and key, under its own domain tag.
pub fn key_hash(suite: HashSuite, space: u8, key: &[u8]) -> KeyHash {
    KeyHash(
        suite
            .digest_tagged(&domains::STATE_KEY, &[&[space], key].concat())
            .0,
    )
}

fn tree_error(what: &str, e: impl std::fmt::Display) -> Error {
    Error::InvalidProof(format!("state tree {what}: {e}"))
}

/// The tree's version that holds the state after block `height` (genesis state: height 0).
/// Each block takes two versions: `2·height` for its deletions, applied key by key, and
/// `2·height + 1` for everything it writes, inserted in one pass that hashes each touched node
/// once (jmt's batch path, which cannot delete). The second is the block's state.
pub fn tree_version(height: u64) -> Version {
    2 * height + 1
}

/// The key of the tree's root at `version`: the node at the empty nibble path.
pub fn root_key(version: Version) -> NodeKey {
    NodeKey::new(version, std::iter::empty().collect())
}

/// Nodes of an update not stored yet, over the stored tree: what the next update reads when
/// it is made before the one it builds on is stored.
pub struct Pending<'a, R> {
    /// The stored tree.
    pub base: &'a R,
    /// The nodes not stored yet.
    pub nodes: &'a NodeBatch,
}

impl<R: TreeReader> TreeReader for Pending<'_, R> {
    fn get_node_option(&self, key: &NodeKey) -> anyhow::Result<Option<Node>> {
        match self.nodes.get_node(key) {
            Some(node) => Ok(Some(node.clone())),
            None => self.base.get_node_option(key),
        }
    }
    fn get_value_option(
        &self,
        max_version: Version,
        key: KeyHash,
    ) -> anyhow::Result<Option<OwnedValue>> {
        self.base.get_value_option(max_version, key)
    }
    fn get_rightmost_leaf(&self) -> anyhow::Result<Option<(NodeKey, LeafNode)>> {
        self.base.get_rightmost_leaf()
    }
}

/// Applies block `height`'s writes (`None` deletes) on top of the tree of block `height - 1`
/// (nothing for genesis) and returns the new root and what to store: new nodes and the nodes
/// they make stale. Nothing is written; the caller stores the batch with the block.
pub fn apply<R: TreeReader>(
    suite: HashSuite,
    reader: &R,
    height: u64,
    writes: impl IntoIterator<Item = (KeyHash, Option<Vec<u8>>)>,
) -> Result<(Hash, TreeUpdateBatch)> {
    fn run<H: SimpleHasher, R: TreeReader>(
        reader: &R,
        height: u64,
        writes: impl IntoIterator<Item = (KeyHash, Option<Vec<u8>>)>,
    ) -> Result<(Hash, TreeUpdateBatch)> {
        let (mut deletes, mut puts) = (Vec::new(), Vec::new());
        for (key, value) in writes {
            match value {
                Some(value) => puts.push((key, value)),
                None => deletes.push((key, None)),
            }
        }
        let (first, second) = (2 * height, tree_version(height));
        let no_deletions = deletes.is_empty();
        let (_, mut batch) = JellyfishMerkleTree::<R, H>::new(reader)
            .put_value_set(deletes, first)
            .map_err(|e| tree_error("deletion", e))?;
        let pending = Pending {
            base: reader,
            nodes: &batch.node_batch,
        };
        let tree = JellyfishMerkleTree::<Pending<'_, R>, H>::new(&pending);
        let no_puts = puts.is_empty();
        let (roots, second_batch) = if no_puts {
            tree.put_value_sets(vec![Vec::new()], second)
        } else {
            tree.batch_put_value_sets(vec![puts], None, second)
        }
        .map_err(|e| tree_error("update", e))?;
        batch.node_batch.merge(second_batch.node_batch);
        batch
            .stale_node_index_batch
            .extend(second_batch.stale_node_index_batch);
        batch.node_stats.extend(second_batch.node_stats);
        // A version that changes nothing gets a copy of the root before it and marks nothing
        // stale; that root is stale all the same.
        for (empty, version) in [(no_deletions, first), (no_puts, second)] {
            if empty && version > 0 {
                batch.stale_node_index_batch.insert(StaleNodeIndex {
                    stale_since_version: version,
                    node_key: root_key(version - 1),
                });
            }
        }
        let root = roots
            .first()
            .ok_or_else(|| tree_error("update", "no root"))?;
        Ok((Hash(root.0), batch))
    }
    match suite {
        HashSuite::Sm3 => run::<Sm3TreeHasher, R>(reader, height, writes),
        HashSuite::Blake3 => run::<Blake3TreeHasher, R>(reader, height, writes),
    }
}

/// The root after block `height`, read from the stored nodes.
pub fn root_at<R: TreeReader>(suite: HashSuite, reader: &R, height: u64) -> Result<Hash> {
    let version = tree_version(height);
    fn run<H: SimpleHasher, R: TreeReader>(reader: &R, version: Version) -> Result<Hash> {
        JellyfishMerkleTree::<R, H>::new(reader)
            .get_root_hash(version)
            .map(|root| Hash(root.0))
            .map_err(|e| tree_error("root", e))
    }
    match suite {
        HashSuite::Sm3 => run::<Sm3TreeHasher, R>(reader, version),
        HashSuite::Blake3 => run::<Blake3TreeHasher, R>(reader, version),
    }
}

/// The value at `key` after block `height` and the encoded proof of it (of its absence when
/// `None`).
pub fn prove<R: TreeReader>(
    suite: HashSuite,
    reader: &R,
    height: u64,
    key: KeyHash,
) -> Result<(Option<Vec<u8>>, Vec<u8>)> {
    let version = tree_version(height);
    fn run<H: SimpleHasher, R: TreeReader>(
        reader: &R,
        version: Version,
        key: KeyHash,
    ) -> Result<(Option<Vec<u8>>, Vec<u8>)> {
        let (value, proof) = JellyfishMerkleTree::<R, H>::new(reader)
            .get_with_proof(key, version)
            .map_err(|e| tree_error("proof", e))?;
        let bytes = borsh::to_vec(&proof).map_err(|e| tree_error("proof encoding", e))?;
        Ok((value, bytes))
    }
    match suite {
        HashSuite::Sm3 => run::<Sm3TreeHasher, R>(reader, version, key),
        HashSuite::Blake3 => run::<Blake3TreeHasher, R>(reader, version, key),
    }
}

/// Checks that under `root`, `key` holds `value` (`None`: holds nothing), by `proof` as
/// [`prove`] encodes it. The reason of a refusal says which part disagreed.
pub fn verify(
    suite: HashSuite,
    root: &Hash,
    key: KeyHash,
    value: Option<&[u8]>,
    proof: &[u8],
) -> Result<()> {
    fn run<H: SimpleHasher>(
        root: &Hash,
        key: KeyHash,
        value: Option<&[u8]>,
        proof: &[u8],
    ) -> Result<()> {
        if proof.len() > PROOF_BYTES_MAX {
            return Err(Error::InvalidProof(format!(
                "state proof is {} bytes, more than {PROOF_BYTES_MAX}",
                proof.len()
            )));
        }
        let proof: SparseMerkleProof<H> = borsh::from_slice(proof)
            .map_err(|e| Error::InvalidProof(format!("state proof does not decode: {e}")))?;
        proof
            .verify(RootHash(root.0), key, value)
            .map_err(|e| Error::InvalidProof(format!("state proof does not verify: {e}")))
    }
    match suite {
        HashSuite::Sm3 => run::<Sm3TreeHasher>(root, key, value, proof),
        HashSuite::Blake3 => run::<Blake3TreeHasher>(root, key, value, proof),
    }
}

/// The proof that the keys up to `rightmost` (in key-hash order) are all the tree holds after
/// block `height` left of it: what a snapshot chunk ending at `rightmost` comes with.
pub fn range_proof<R: TreeReader>(
    suite: HashSuite,
    reader: &R,
    height: u64,
    rightmost: KeyHash,
) -> Result<Vec<u8>> {
    let version = tree_version(height);
    fn run<H: SimpleHasher, R: TreeReader>(
        reader: &R,
        version: Version,
        rightmost: KeyHash,
    ) -> Result<Vec<u8>> {
        let proof = JellyfishMerkleTree::<R, H>::new(reader)
            .get_range_proof(rightmost, version)
            .map_err(|e| tree_error("range proof", e))?;
        borsh::to_vec(&proof).map_err(|e| tree_error("range proof encoding", e))
    }
    match suite {
        HashSuite::Sm3 => run::<Sm3TreeHasher, R>(reader, version, rightmost),
        HashSuite::Blake3 => run::<Blake3TreeHasher, R>(reader, version, rightmost),
    }
}

/// A tree being rebuilt from a snapshot's chunks, each checked against the expected root as it
/// comes (jmt's `JellyfishMerkleRestore`): entries in increasing key-hash order, and with each
/// chunk the proof of what lies right of it. The store receives the finished nodes.
pub struct Restore(RestoreBySuite);

enum RestoreBySuite {
    Sm3(JellyfishMerkleRestore<Sm3TreeHasher>),
    Blake3(JellyfishMerkleRestore<Blake3TreeHasher>),
}

impl Restore {
    /// Starts rebuilding the tree after block `height`, whose root must come out as `root`. The
    /// store must hold no tree nodes of a restore begun before (it is not resumed).
    pub fn new<D: 'static + TreeReader + TreeWriter>(
        suite: HashSuite,
        store: std::sync::Arc<D>,
        height: u64,
        root: Hash,
    ) -> Result<Self> {
        let version = tree_version(height);
        let root = RootHash(root.0);
        let inner = match suite {
            HashSuite::Sm3 => RestoreBySuite::Sm3(
                JellyfishMerkleRestore::new(store, version, root)
                    .map_err(|e| tree_error("restore", e))?,
            ),
            HashSuite::Blake3 => RestoreBySuite::Blake3(
                JellyfishMerkleRestore::new(store, version, root)
                    .map_err(|e| tree_error("restore", e))?,
            ),
        };
        Ok(Restore(inner))
    }

    /// Adds a chunk (after the previous one in key-hash order) with its encoded range proof;
    /// refused unless the entries so far and the proof give the expected root.
    pub fn add_chunk(&mut self, chunk: Vec<(KeyHash, Vec<u8>)>, proof: &[u8]) -> Result<()> {
        if proof.len() > PROOF_BYTES_MAX {
            return Err(Error::InvalidProof(format!(
                "range proof is {} bytes, more than {PROOF_BYTES_MAX}",
                proof.len()
            )));
        }
        let refused = |e: anyhow::Error| Error::InvalidProof(format!("snapshot chunk: {e}"));
        let undecodable =
            |e: std::io::Error| Error::InvalidProof(format!("range proof does not decode: {e}"));
        match &mut self.0 {
            RestoreBySuite::Sm3(restore) => restore
                .add_chunk(chunk, borsh::from_slice(proof).map_err(undecodable)?)
                .map_err(refused),
            RestoreBySuite::Blake3(restore) => restore
                .add_chunk(chunk, borsh::from_slice(proof).map_err(undecodable)?)
                .map_err(refused),
        }
    }

    /// Writes the last nodes, root included, once every chunk is in.
    pub fn finish(self) -> Result<()> {
        let refused = |e: anyhow::Error| Error::InvalidProof(format!("snapshot: {e}"));
        match self.0 {
            RestoreBySuite::Sm3(restore) => restore.finish().map_err(refused),
            RestoreBySuite::Blake3(restore) => restore.finish().map_err(refused),
        }
    }
}

/// A whole tree in memory, every version kept: for tests, fixtures and tools; the node keeps
/// its tree in RocksDB.
#[derive(Default)]
pub struct MemoryTree {
    nodes: Mutex<HashMap<NodeKey, Node>>,
    values: Mutex<HashMap<(Version, KeyHash), Option<OwnedValue>>>,
}

impl MemoryTree {
    /// Stores an update that [`apply`] returned.
    pub fn store(&self, batch: &TreeUpdateBatch) {
        // jmt's writer trait reports errors this store never has.
        let _ = self.write_node_batch(&batch.node_batch);
    }
}

impl TreeReader for MemoryTree {
    fn get_node_option(&self, key: &NodeKey) -> anyhow::Result<Option<Node>> {
        Ok(lock(&self.nodes).get(key).cloned())
    }

    fn get_value_option(
        &self,
        max_version: Version,
        key: KeyHash,
    ) -> anyhow::Result<Option<OwnedValue>> {
        Ok(lock(&self.values)
            .iter()
            .filter(|((version, k), _)| *k == key && *version <= max_version)
            .max_by_key(|((version, _), _)| *version)
            .and_then(|(_, value)| value.clone()))
    }

    /// Only for a restore into an empty tree (which has none); a restore is not resumed.
    fn get_rightmost_leaf(&self) -> anyhow::Result<Option<(NodeKey, LeafNode)>> {
        if lock(&self.nodes).is_empty() {
            return Ok(None);
        }
        Err(anyhow::anyhow!(
            "MemoryTree does not track the rightmost leaf"
        ))
    }
}

impl TreeWriter for MemoryTree {
    fn write_node_batch(&self, batch: &NodeBatch) -> anyhow::Result<()> {
        lock(&self.nodes).extend(batch.nodes().clone());
        lock(&self.values).extend(batch.values().clone());
        Ok(())
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn put(
        suite: HashSuite,
        tree: &MemoryTree,
        version: Version,
        writes: &[(&str, Option<&str>)],
    ) -> Hash {
        let writes = writes.iter().map(|(k, v)| {
            (
                key_hash(suite, 0, k.as_bytes()),
                v.map(|v| v.as_bytes().to_vec()),
            )
        });
        let (root, batch) = apply(suite, tree, version, writes).unwrap();
        tree.store(&batch);
        root
    }

    #[test]
    fn proves_presence_and_absence_under_both_suites() {
        for suite in [HashSuite::Sm3, HashSuite::Blake3] {
            let tree = MemoryTree::default();
            put(suite, &tree, 0, &[("a", Some("1")), ("b", Some("2"))]);
            let root = put(suite, &tree, 1, &[("b", None), ("c", Some("3"))]);
            assert_eq!(root, root_at(suite, &tree, 1).unwrap());

            let a = key_hash(suite, 0, b"a");
            let (value, proof) = prove(suite, &tree, 1, a).unwrap();
            assert_eq!(value.as_deref(), Some(&b"1"[..]));
            verify(suite, &root, a, Some(b"1"), &proof).unwrap();
            // Another value, another key, another root, another suite: each refused.
            assert!(verify(suite, &root, a, Some(b"2"), &proof).is_err());
            assert!(verify(suite, &root, a, None, &proof).is_err());
            assert!(verify(suite, &root, key_hash(suite, 0, b"c"), Some(b"1"), &proof).is_err());
            assert!(verify(suite, &Hash([9; 32]), a, Some(b"1"), &proof).is_err());
            let other = match suite {
                HashSuite::Sm3 => HashSuite::Blake3,
                HashSuite::Blake3 => HashSuite::Sm3,
            };
            assert!(verify(other, &root, a, Some(b"1"), &proof).is_err());

            // The deleted key is provably absent, and cannot be claimed present.
            let b = key_hash(suite, 0, b"b");
            let (value, proof) = prove(suite, &tree, 1, b).unwrap();
            assert_eq!(value, None);
            verify(suite, &root, b, None, &proof).unwrap();
            assert!(verify(suite, &root, b, Some(b"2"), &proof).is_err());
            // The same key in the other space is another leaf.
            assert_ne!(a, key_hash(suite, 1, b"a"));
        }
    }

    #[test]
    fn a_tampered_proof_is_refused_and_never_panics() {
        let suite = HashSuite::Sm3;
        let tree = MemoryTree::default();
        let writes: Vec<(String, Option<String>)> = (0..200)
            .map(|i| (format!("k{i}"), Some(format!("v{i}"))))
            .collect();
        let writes: Vec<(&str, Option<&str>)> = writes
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_deref()))
            .collect();
        let root = put(suite, &tree, 0, &writes);
        let key = key_hash(suite, 0, b"k7");
        let (_, proof) = prove(suite, &tree, 0, key).unwrap();
        verify(suite, &root, key, Some(b"v7"), &proof).unwrap();
        for i in 0..proof.len() {
            let mut bad = proof.clone();
            bad[i] ^= 0x01;
            assert!(
                verify(suite, &root, key, Some(b"v7"), &bad).is_err(),
                "flipping byte {i} of {} went unnoticed",
                proof.len()
            );
        }
        assert!(verify(suite, &root, key, Some(b"v7"), &proof[..proof.len() - 1]).is_err());
        assert!(
            verify(
                suite,
                &root,
                key,
                Some(b"v7"),
                &vec![0xff; PROOF_BYTES_MAX + 1]
            )
            .is_err()
        );
    }

    #[test]
    fn an_empty_write_set_keeps_the_root() {
        let suite = HashSuite::Blake3;
        let tree = MemoryTree::default();
        let first = put(suite, &tree, 0, &[("a", Some("1"))]);
        assert_eq!(put(suite, &tree, 1, &[]), first);
        assert_ne!(put(suite, &tree, 2, &[("a", Some("2"))]), first);
        // jmt's placeholder stands for an empty tree.
        let empty = MemoryTree::default();
        assert_eq!(
            put(suite, &empty, 0, &[]).0,
            *b"SPARSE_MERKLE_PLACEHOLDER_HASH__"
        );
    }

    /// A snapshot of 300 entries, sent in chunks of 64 in key-hash order with range proofs,
    /// rebuilds the same tree; a chunk with an altered value, or with an entry left out, is
    /// refused.
    #[test]
    fn a_tree_restores_from_proven_chunks_and_refuses_altered_ones() {
        for suite in [HashSuite::Sm3, HashSuite::Blake3] {
            let source = MemoryTree::default();
            let mut entries: Vec<(KeyHash, Vec<u8>)> = (0..300u32)
                .map(|i| {
                    (
                        key_hash(suite, 0, &i.to_be_bytes()),
                        i.to_le_bytes().to_vec(),
                    )
                })
                .collect();
            let (root, batch) = apply(
                suite,
                &source,
                0,
                entries.iter().map(|(k, v)| (*k, Some(v.clone()))),
            )
            .unwrap();
            source.store(&batch);
            entries.sort_by_key(|(k, _)| *k);
            type Chunk = (Vec<(KeyHash, Vec<u8>)>, Vec<u8>);
            let chunks: Vec<Chunk> = entries
                .chunks(64)
                .map(|chunk| {
                    let last = chunk[chunk.len() - 1].0;
                    (
                        chunk.to_vec(),
                        range_proof(suite, &source, 0, last).unwrap(),
                    )
                })
                .collect();

            let target = std::sync::Arc::new(MemoryTree::default());
            let mut restore = Restore::new(suite, target.clone(), 0, root).unwrap();
            for (chunk, proof) in &chunks {
                restore.add_chunk(chunk.clone(), proof).unwrap();
            }
            restore.finish().unwrap();
            assert_eq!(root_at(suite, target.as_ref(), 0).unwrap(), root);

            let refused = |mut chunk: Vec<(KeyHash, Vec<u8>)>, proof: &[u8]| {
                let fresh = std::sync::Arc::new(MemoryTree::default());
                let mut restore = Restore::new(suite, fresh, 0, root).unwrap();
                restore
                    .add_chunk(std::mem::take(&mut chunk), proof)
                    .is_err()
            };
            let mut altered = chunks[0].0.clone();
            altered[3].1[0] ^= 1;
            assert!(refused(altered, &chunks[0].1), "an altered value");
            let mut short = chunks[0].0.clone();
            short.remove(10);
            assert!(refused(short, &chunks[0].1), "an entry left out");
            assert!(
                refused(chunks[0].0.clone(), &chunks[1].1),
                "another chunk's proof"
            );
        }
    }

    /// The root depends on the entries alone, not on the order and the blocks they came in:
    /// blocks of puts, updates and deletions end at the root of their final entries written at
    /// once.
    #[test]
    fn the_root_is_that_of_the_final_entries_however_they_came() {
        for suite in [HashSuite::Sm3, HashSuite::Blake3] {
            let tree = MemoryTree::default();
            let mut expected = std::collections::BTreeMap::new();
            let mut root = Hash::ZERO;
            for height in 0..40u64 {
                let writes: Vec<(KeyHash, Option<Vec<u8>>)> = (0..25u64)
                    .map(|i| {
                        let key = (height * 7 + i * 13) % 150;
                        let value = ((height + i) % 5 != 0)
                            .then(|| (height * 1000 + i).to_be_bytes().to_vec());
                        (key_hash(suite, 0, &key.to_be_bytes()), value)
                    })
                    .collect::<std::collections::BTreeMap<_, _>>()
                    .into_iter()
                    .collect();
                for (key, value) in &writes {
                    match value {
                        Some(v) => expected.insert(*key, v.clone()),
                        None => expected.remove(key),
                    };
                }
                let (next, batch) = apply(suite, &tree, height, writes).unwrap();
                tree.store(&batch);
                root = next;
            }
            let fresh = MemoryTree::default();
            let (at_once, _) = apply(
                suite,
                &fresh,
                0,
                expected.into_iter().map(|(k, v)| (k, Some(v))),
            )
            .unwrap();
            assert_eq!(root, at_once);
        }
    }
}
