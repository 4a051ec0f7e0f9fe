//! The node's RocksDB store.
//!
//! Column families:
//! | cf | key | value |
//! |---|---|---|
//! | `blocks` | height (u64 big-endian) | canonical [`Block`] |
//! | `block_hashes` | block hash | height (u64 big-endian) |
//! | `txs` | tx hash | [`TxLocation`] |
//! | `receipts` | tx hash | canonical [`Receipt`] |
//! | `state` | contract key | contract value |
//! | `index` | query-index key | usually empty |
//! | `raft` | the Raft log, hard state, conf state and snapshot point (`raft_store.rs`) | |
//! | `meta` | `genesis`, `head` | canonical genesis, [`Head`] |
//! | `tree`, `tree_keys`, `tree_stale` | the state tree (`tree.rs`) | |
//!
//! Every block is written in one synced write batch together with its receipts, state, indexes,
//! state tree nodes and the new head, so after a crash at any moment the store holds the whole
//! block or none of it.

mod snapshot;
mod tree;
mod voter_changes;

pub use snapshot::StateChunk;
use tree::{CF_TREE, CF_TREE_KEYS, CF_TREE_STALE};
pub use tree::{Reads, StateView, TREE_VERSIONS_KEPT, TreeUpdate, update_tree};
pub use voter_changes::VoterChangeRecord;

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;

use borsh::{BorshDeserialize, BorshSerialize};
use rocksdb::{
    BlockBasedOptions, Cache, ColumnFamilyDescriptor, DB, DBCompressionType, DBRecoveryMode,
    Direction, IteratorMode, Options, WriteBatch, WriteOptions,
};
use xinlian_contracts::{ExecError, Space, StateReader, WriteSet};
use xinlian_core::certificate::{CommitCertificate, VoterSet};
use xinlian_core::crypto::PublicKey;
use xinlian_core::genesis::Genesis;
use xinlian_core::limits::BLOCK_BYTES_MAX;
use xinlian_core::types::{Block, Receipt};
use xinlian_core::{Hash, encoding};

use crate::{Error, Result};

const CF_BLOCKS: &str = "blocks";
const CF_BLOCK_HASHES: &str = "block_hashes";
const CF_TXS: &str = "txs";
const CF_RECEIPTS: &str = "receipts";
const CF_STATE: &str = "state";
const CF_INDEX: &str = "index";
const CF_RAFT: &str = "raft";
const CF_META: &str = "meta";
const ALL_CFS: [&str; 11] = [
    CF_BLOCKS,
    CF_BLOCK_HASHES,
    CF_TXS,
    CF_RECEIPTS,
    CF_STATE,
    CF_INDEX,
    CF_RAFT,
    CF_META,
    CF_TREE,
    CF_TREE_KEYS,
    CF_TREE_STALE,
];

const META_GENESIS: &[u8] = b"genesis";
const META_HEAD: &[u8] = b"head";
const META_APPLIED: &[u8] = b"applied_index";
/// Prefix of the commit certificates this node formed (`cert/` ‖ height): node-local evidence,
/// outside the state commitment, since each node gathers its own.
const META_CERTIFICATE: &[u8] = b"cert/";

/// The highest height whose commit certificate a block carried (u64 big-endian): the next block
/// may carry only higher ones.
const META_CARRIED: &[u8] = b"certificates_carried";

/// Prefix of the voter sets (`voters/` ‖ height): the set in force from that height on, written
/// when a block changes it, so a certificate is formed with the voters of its own height.
const META_VOTERS: &[u8] = b"voters/";

/// Prefix of the signed requests and QR nonces accepted lately (`replay/` ‖ time ‖ id), so a
/// restart does not reopen them to replay.
const META_REPLAY: &[u8] = b"replay/";
/// `local/<key>` → u64 BE: counters of this node's own (verifications it answered), outside
/// the chain's state.
const META_LOCAL: &[u8] = b"local/";

/// The latest applied block, as far as the store is concerned.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct Head {
    /// Height (0: genesis applied, no block yet).
    pub height: u64,
    /// Block hash (the genesis hash at height 0).
    pub hash: Hash,
    /// Root of the state tree after it.
    pub state_root: Hash,
    /// Its timestamp.
    pub timestamp_ms: u64,
}

/// Where a committed transaction is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct TxLocation {
    /// Block height.
    pub height: u64,
    /// Position in the block.
    pub index: u32,
}

/// The RocksDB store.
pub struct Storage {
    db: Arc<DB>,
    /// The version from which the stale-node index may hold entries not yet pruned (a hint to
    /// seek to, kept in memory: 0 after opening, so the first block reads the index from the
    /// start).
    tree_prune_from: AtomicU64,
}

fn db_options(cache_bytes: usize) -> (Options, Options) {
    let mut db = Options::default();
    db.create_if_missing(true);
    db.create_missing_column_families(true);
    db.set_paranoid_checks(true);
    // Synced batches are the unit of durability; replay the WAL up to the last whole batch.
    db.set_wal_recovery_mode(DBRecoveryMode::PointInTime);
    db.set_max_open_files(512);
    db.set_keep_log_file_num(5);
    db.set_bytes_per_sync(1 << 20);
    db.increase_parallelism(2);
    db.set_max_background_jobs(2);

    let mut table = BlockBasedOptions::default();
    table.set_block_cache(&Cache::new_lru_cache(cache_bytes));
    table.set_bloom_filter(10.0, false);
    table.set_cache_index_and_filter_blocks(true);
    let mut cf = Options::default();
    cf.set_block_based_table_factory(&table);
    cf.set_compression_type(DBCompressionType::Lz4);
    cf.set_write_buffer_size(32 << 20);
    (db, cf)
}

fn be_height(height: u64) -> [u8; 8] {
    height.to_be_bytes()
}

fn corrupt(what: &str, e: impl std::fmt::Display) -> Error {
    Error::Corrupt(format!("{what}: {e}"))
}

impl Storage {
    /// Opens a store read-only, without taking its lock or changing a byte of it (a backup
    /// being checked).
    pub fn open_read_only(dir: &Path) -> Result<Self> {
        let (db_opts, cf_opts) = db_options(8 << 20);
        let cfs = ALL_CFS
            .iter()
            .map(|name| ColumnFamilyDescriptor::new(*name, cf_opts.clone()));
        let db = DB::open_cf_descriptors_read_only(&db_opts, dir, cfs, false)?;
        Ok(Storage::over(db))
    }

    /// Writes a consistent copy of the whole store (every column family as of one instant) to
    /// `dir`, which must not exist yet: a RocksDB checkpoint, hard links where the file system
    /// allows.
    pub fn checkpoint(&self, dir: &Path) -> Result<()> {
        rocksdb::checkpoint::Checkpoint::new(&self.db)?.create_checkpoint(dir)?;
        Ok(())
    }

    /// Forgets Raft's state (hard state, vote, log, conf state, snapshot point) and the applied
    /// Raft index, in one synced batch, keeping blocks and state: what a store restored from a
    /// backup must do, so that it never brings back an old vote, term or log. The node then
    /// starts as a replica whose log its leader fills again; the blocks it already holds are
    /// recognised and not executed again.
    pub fn forget_consensus_state(&self) -> Result<()> {
        let mut batch = WriteBatch::default();
        batch.delete_range_cf(self.cf(CF_RAFT), [0u8].as_slice(), [0xffu8; 16].as_slice());
        batch.delete_cf(self.cf(CF_META), META_APPLIED);
        self.db.write_opt(batch, &Self::synced())?;
        Ok(())
    }

    /// Opens (or creates) the store under `dir`.
    pub fn open(dir: &Path, cache_bytes: usize) -> Result<Self> {
        let (db_opts, cf_opts) = db_options(cache_bytes);
        let cfs = ALL_CFS
            .iter()
            .map(|name| ColumnFamilyDescriptor::new(*name, cf_opts.clone()));
        let db = DB::open_cf_descriptors(&db_opts, dir, cfs)?;
        Ok(Storage::over(db))
    }

    fn over(db: DB) -> Self {
        Storage {
            db: Arc::new(db),
            tree_prune_from: AtomicU64::new(0),
        }
    }

    fn cf(&self, name: &str) -> &rocksdb::ColumnFamily {
        self.db
            .cf_handle(name)
            .expect("every column family is created at open")
    }

    fn synced() -> WriteOptions {
        let mut opts = WriteOptions::default();
        opts.set_sync(true);
        opts
    }

    /// The stored genesis, if the chain was initialised.
    pub fn genesis(&self) -> Result<Option<Genesis>> {
        let Some(bytes) = self.db.get_cf(self.cf(CF_META), META_GENESIS)? else {
            return Ok(None);
        };
        borsh::from_slice(&bytes)
            .map(Some)
            .map_err(|e| corrupt("genesis", e))
    }

    /// Writes genesis, its state (version 0 of the state tree) and head 0 in one synced batch.
    pub fn init_genesis(&self, genesis: &Genesis, writes: &WriteSet) -> Result<Head> {
        let tree = update_tree(genesis.hash_suite(), &self.tree_reader(), 0, writes)?;
        let head = Head {
            height: 0,
            hash: genesis.hash(),
            state_root: tree.root,
            timestamp_ms: genesis.genesis_time_ms,
        };
        let mut batch = WriteBatch::default();
        self.add_writes(&mut batch, writes);
        let prune_from = self.add_tree_update(&mut batch, &tree, 0)?;
        batch.put_cf(self.cf(CF_META), META_GENESIS, encoding::encode(genesis));
        batch.put_cf(self.cf(CF_META), META_HEAD, encoding::encode(&head));
        self.db.write_opt(batch, &Self::synced())?;
        self.tree_pruned_to(prune_from);
        Ok(head)
    }

    /// The latest applied block.
    pub fn head(&self) -> Result<Option<Head>> {
        let Some(bytes) = self.db.get_cf(self.cf(CF_META), META_HEAD)? else {
            return Ok(None);
        };
        borsh::from_slice(&bytes)
            .map(Some)
            .map_err(|e| corrupt("head", e))
    }

    fn add_writes(&self, batch: &mut WriteBatch, writes: &WriteSet) {
        for ((space, key), value) in writes {
            let cf = self.cf(match space {
                Space::State => CF_STATE,
                Space::Index => CF_INDEX,
            });
            match value {
                Some(v) => batch.put_cf(cf, key, v),
                None => batch.delete_cf(cf, key),
            }
        }
    }

    /// Stores a block with its receipts, state writes, indexes and state tree update, and moves
    /// the head, in one synced batch. Panics if the block does not extend the head or its tree
    /// update does not give its header's root: that is our bug, and storing it would corrupt the
    /// chain.
    #[allow(clippy::too_many_arguments)] // one block's parts, stored together
    pub fn commit_block(
        &self,
        block: &Block,
        block_bytes: &[u8],
        block_hash: &Hash,
        receipts: &[Receipt],
        writes: &WriteSet,
        tree: &TreeUpdate,
        applied_index: u64,
    ) -> Result<Head> {
        let head = self.head()?.expect("genesis is stored before any block");
        assert_eq!(
            block.header.height,
            head.height + 1,
            "block does not extend the head"
        );
        assert_eq!(
            block.header.parent_hash, head.hash,
            "block parent is not the head"
        );
        assert_eq!(
            block.txs.len(),
            receipts.len(),
            "one receipt per transaction"
        );
        let mut batch = WriteBatch::default();
        let height = be_height(block.header.height);
        // The bytes Raft committed, which decode to `block`: stored as they came rather than
        // encoded again.
        batch.put_cf(self.cf(CF_BLOCKS), height, block_bytes);
        batch.put_cf(self.cf(CF_BLOCK_HASHES), block_hash.as_bytes(), height);
        for receipt in receipts {
            let location = TxLocation {
                height: block.header.height,
                index: receipt.index,
            };
            batch.put_cf(
                self.cf(CF_TXS),
                receipt.tx_hash.as_bytes(),
                encoding::encode(&location),
            );
            batch.put_cf(
                self.cf(CF_RECEIPTS),
                receipt.tx_hash.as_bytes(),
                encoding::encode(receipt),
            );
        }
        assert_eq!(
            tree.root, block.header.state_root,
            "tree update is not the block's"
        );
        self.add_writes(&mut batch, writes);
        let prune_from = self.add_tree_update(&mut batch, tree, block.header.height)?;
        if let Some(last) = block.certificates.last() {
            batch.put_cf(self.cf(CF_META), META_CARRIED, be_height(last.height));
        }
        self.add_carried_certificates(&mut batch, block);
        let new_head = Head {
            height: block.header.height,
            hash: *block_hash,
            state_root: block.header.state_root,
            timestamp_ms: block.header.timestamp_ms,
        };
        batch.put_cf(self.cf(CF_META), META_HEAD, encoding::encode(&new_head));
        // The Raft index of this block, in the same batch: a crash never applies it twice.
        batch.put_cf(self.cf(CF_META), META_APPLIED, applied_index.to_be_bytes());
        self.db.write_opt(batch, &Self::synced())?;
        self.tree_pruned_to(prune_from);
        Ok(new_head)
    }

    /// The big-endian u64 stored at `key` of `cf`, if any.
    fn stored_u64(&self, cf: &str, key: &[u8], what: &str) -> Result<Option<u64>> {
        let Some(bytes) = self.db.get_cf(self.cf(cf), key)? else {
            return Ok(None);
        };
        let bytes: [u8; 8] = bytes
            .as_slice()
            .try_into()
            .map_err(|_| Error::Corrupt(format!("{what} is not 8 bytes")))?;
        Ok(Some(u64::from_be_bytes(bytes)))
    }

    /// The highest height whose certificate a stored block carried (0 before any).
    pub fn carried_through(&self) -> Result<u64> {
        Ok(self
            .stored_u64(CF_META, META_CARRIED, "carried certificate height")?
            .unwrap_or(0))
    }

    /// Keeps the certificates `block` carries as this node's own: one the chain carries is as
    /// good as one gathered here (the block's checks verified it), and fills the gap where this
    /// node missed the votes.
    fn add_carried_certificates(&self, batch: &mut WriteBatch, block: &Block) {
        for certificate in &block.certificates {
            let key = [META_CERTIFICATE, &be_height(certificate.height)[..]].concat();
            batch.put_cf(self.cf(CF_META), key, certificate.to_bytes());
        }
    }

    /// The Raft index applied last (0 before any).
    pub fn applied_index(&self) -> Result<u64> {
        Ok(self
            .stored_u64(CF_META, META_APPLIED, "applied index")?
            .unwrap_or(0))
    }

    /// Records a Raft index applied without a block (a membership change, a refused proposal).
    pub fn set_applied_index(&self, applied_index: u64) -> Result<()> {
        let mut opts = WriteOptions::default();
        opts.set_sync(true);
        self.db.put_cf_opt(
            self.cf(CF_META),
            META_APPLIED,
            applied_index.to_be_bytes(),
            &opts,
        )?;
        Ok(())
    }

    /// Stores the commit certificate of its height. Written through the WAL without a sync: a
    /// certificate lost to a power cut is a missing certificate, never a wrong one.
    pub fn put_certificate(&self, certificate: &CommitCertificate) -> Result<()> {
        let key = [META_CERTIFICATE, &certificate.height.to_be_bytes()].concat();
        self.db
            .put_cf(self.cf(CF_META), key, certificate.to_bytes())?;
        Ok(())
    }

    /// The commit certificate of the block at `height`, if this node formed one.
    pub fn certificate(&self, height: u64) -> Result<Option<CommitCertificate>> {
        let key = [META_CERTIFICATE, &height.to_be_bytes()].concat();
        let Some(bytes) = self.db.get_cf(self.cf(CF_META), key)? else {
            return Ok(None);
        };
        CommitCertificate::from_bytes(&bytes)
            .map(Some)
            .map_err(|e| Error::Corrupt(format!("the certificate of height {height}: {e}")))
    }

    /// The stored certificates of heights `from..to`, in height order, at most `limit`.
    pub fn certificates_between(
        &self,
        from: u64,
        to: u64,
        limit: usize,
    ) -> Result<Vec<CommitCertificate>> {
        self.scan_cf(
            CF_META,
            META_CERTIFICATE,
            &be_height(from),
            Some(&be_height(to)),
            limit,
        )?
        .into_iter()
        .map(|(_, bytes)| {
            CommitCertificate::from_bytes(&bytes)
                .map_err(|e| Error::Corrupt(format!("a stored certificate: {e}")))
        })
        .collect()
    }

    /// The height of the stored block with this hash, if any.
    pub fn height_of_block(&self, hash: &Hash) -> Result<Option<u64>> {
        self.stored_u64(CF_BLOCK_HASHES, hash.as_bytes(), "a block height")
    }

    /// Records the voter set in force from `height` on.
    pub fn put_voters(&self, height: u64, voters: &VoterSet) -> Result<()> {
        let entries: Vec<(String, PublicKey)> = voters
            .iter()
            .map(|(id, key)| (id.clone(), key.clone()))
            .collect();
        let key = [META_VOTERS, &height.to_be_bytes()].concat();
        self.db
            .put_cf(self.cf(CF_META), key, encoding::encode(&entries))?;
        Ok(())
    }

    /// Every recorded voter set, by the height it took effect.
    pub fn voter_history(&self) -> Result<BTreeMap<u64, VoterSet>> {
        let mut history = BTreeMap::new();
        for item in self.db.iterator_cf(
            self.cf(CF_META),
            IteratorMode::From(META_VOTERS, Direction::Forward),
        ) {
            let (key, value) = item?;
            let Some(height) = key.strip_prefix(META_VOTERS) else {
                break;
            };
            let height = <[u8; 8]>::try_from(height)
                .map_err(|_| Error::Corrupt("a voter set's key is malformed".into()))?;
            let entries: Vec<(String, PublicKey)> = encoding::decode(&value, "voter set", 1 << 20)
                .map_err(|e| Error::Corrupt(format!("a voter set: {e}")))?;
            history.insert(u64::from_be_bytes(height), VoterSet::new(entries));
        }
        Ok(history)
    }

    /// Remembers an accepted signed request or QR nonce `id` of `owner`, accepted at `time_ms`.
    /// Written through the WAL without a sync: it survives the process being killed, which is
    /// what a replay across a restart needs (a power cut loses at most the last moments).
    pub fn remember_accepted(&self, time_ms: u64, id: &[u8; 64], owner: &str) -> Result<()> {
        self.db
            .put_cf(self.cf(CF_META), replay_key(time_ms, id), owner.as_bytes())?;
        Ok(())
    }

    /// The requests accepted at or after `since_ms`: time, id, owner, oldest first.
    pub fn accepted_since(&self, since_ms: u64) -> Result<Vec<(u64, [u8; 64], String)>> {
        let start = replay_key(since_ms, &[0; 64]);
        let mut out = Vec::new();
        for item in self.db.iterator_cf(
            self.cf(CF_META),
            rocksdb::IteratorMode::From(&start, rocksdb::Direction::Forward),
        ) {
            let (key, owner) = item?;
            let Some(rest) = key.strip_prefix(META_REPLAY) else {
                break;
            };
            let (Ok(time), Ok(id)) = (
                <[u8; 8]>::try_from(&rest[..8.min(rest.len())]),
                <[u8; 64]>::try_from(rest.get(8..).unwrap_or_default()),
            ) else {
                return Err(Error::Corrupt("a replay entry's key is malformed".into()));
            };
            out.push((
                u64::from_be_bytes(time),
                id,
                String::from_utf8_lossy(&owner).into_owned(),
            ));
        }
        Ok(out)
    }

    /// Forgets the requests accepted before `before_ms`.
    pub fn forget_accepted_before(&self, before_ms: u64) -> Result<()> {
        self.db.delete_range_cf(
            self.cf(CF_META),
            replay_key(0, &[0; 64]),
            replay_key(before_ms, &[0; 64]),
        )?;
        Ok(())
    }

    /// Flushes every column family's memtable to SST files (before measuring size on disk or
    /// taking a file-level backup).
    pub fn flush(&self) -> Result<()> {
        for name in ALL_CFS {
            self.db.flush_cf(self.cf(name))?;
        }
        Ok(())
    }

    /// The shared database handle, for the Raft log store.
    pub fn db(&self) -> Arc<DB> {
        self.db.clone()
    }

    /// The canonical bytes of the block at `height`, as stored (block sync sends them on
    /// without decoding).
    pub fn block_bytes(&self, height: u64) -> Result<Option<Vec<u8>>> {
        Ok(self.db.get_cf(self.cf(CF_BLOCKS), be_height(height))?)
    }

    /// The block at `height`.
    pub fn block(&self, height: u64) -> Result<Option<Block>> {
        let Some(bytes) = self.block_bytes(height)? else {
            return Ok(None);
        };
        encoding::decode(&bytes, "stored block", BLOCK_BYTES_MAX)
            .map(Some)
            .map_err(|e| corrupt("block", e))
    }

    /// Where a committed transaction is.
    pub fn tx_location(&self, hash: &Hash) -> Result<Option<TxLocation>> {
        let Some(bytes) = self.db.get_cf(self.cf(CF_TXS), hash.as_bytes())? else {
            return Ok(None);
        };
        borsh::from_slice(&bytes)
            .map(Some)
            .map_err(|e| corrupt("tx location", e))
    }

    /// A committed transaction's receipt.
    pub fn receipt(&self, hash: &Hash) -> Result<Option<Receipt>> {
        let Some(bytes) = self.db.get_cf(self.cf(CF_RECEIPTS), hash.as_bytes())? else {
            return Ok(None);
        };
        borsh::from_slice(&bytes)
            .map(Some)
            .map_err(|e| corrupt("receipt", e))
    }

    /// Up to `limit` entries under `prefix` in `space` whose key (after the prefix) lies in
    /// `from..to` (`to` open when `None`), in key order: (key after the prefix, value).
    pub fn scan(
        &self,
        space: Space,
        prefix: &[u8],
        from: &[u8],
        to: Option<&[u8]>,
        limit: usize,
    ) -> Result<Vec<(Vec<u8>, Vec<u8>)>> {
        let cf = match space {
            Space::State => CF_STATE,
            Space::Index => CF_INDEX,
        };
        self.scan_cf(cf, prefix, from, to, limit)
    }

    /// [`Storage::scan`] over any column family.
    fn scan_cf(
        &self,
        cf: &str,
        prefix: &[u8],
        from: &[u8],
        to: Option<&[u8]>,
        limit: usize,
    ) -> Result<Vec<(Vec<u8>, Vec<u8>)>> {
        let start = [prefix, from].concat();
        let iter = self
            .db
            .iterator_cf(self.cf(cf), IteratorMode::From(&start, Direction::Forward));
        let mut out = Vec::new();
        for item in iter {
            let (key, value) = item?;
            let Some(rest) = key.strip_prefix(prefix) else {
                break;
            };
            if out.len() >= limit || to.is_some_and(|end| rest >= end) {
                break;
            }
            out.push((rest.to_vec(), value.to_vec()));
        }
        Ok(out)
    }

    /// Adds one to a counter of this node's own. The caller serialises increments of one key.
    pub fn bump_local_counter(&self, key: &[u8]) -> Result<()> {
        let key = [META_LOCAL, key].concat();
        let now = self
            .db
            .get_cf(self.cf(CF_META), &key)?
            .map_or(0, |v| xinlian_contracts::stats::value_of(&v));
        self.db
            .put_cf(self.cf(CF_META), &key, (now + 1).to_be_bytes())?;
        Ok(())
    }

    /// This node's own counters whose key (after `local/`) lies in `from..to`, up to `limit`.
    pub fn local_counters(
        &self,
        from: &[u8],
        to: &[u8],
        limit: usize,
    ) -> Result<Vec<(Vec<u8>, u64)>> {
        Ok(self
            .scan_cf(CF_META, META_LOCAL, from, Some(to), limit)?
            .into_iter()
            .map(|(key, value)| (key, xinlian_contracts::stats::value_of(&value)))
            .collect())
    }

    /// Keys (after the prefix) of up to `limit` index entries under `prefix`.
    pub fn index_keys(&self, prefix: &[u8], limit: usize) -> Result<Vec<Vec<u8>>> {
        let iter = self.db.iterator_cf(
            self.cf(CF_INDEX),
            IteratorMode::From(prefix, Direction::Forward),
        );
        let mut out = Vec::new();
        for item in iter {
            let (key, _) = item?;
            if !key.starts_with(prefix) || out.len() >= limit {
                break;
            }
            out.push(key[prefix.len()..].to_vec());
        }
        Ok(out)
    }
}

impl StateReader for Storage {
    fn get(&self, space: Space, key: &[u8]) -> Result<Option<Vec<u8>>, ExecError> {
        let cf = match space {
            Space::State => CF_STATE,
            Space::Index => CF_INDEX,
        };
        self.db
            .get_cf(self.cf(cf), key)
            .map_err(|e| ExecError::Storage(e.to_string()))
    }

    fn tx_committed(&self, tx_hash: &Hash) -> Result<bool, ExecError> {
        self.db
            .get_pinned_cf(self.cf(CF_TXS), tx_hash.as_bytes())
            .map(|v| v.is_some())
            .map_err(|e| ExecError::Storage(e.to_string()))
    }
}

/// `replay/` ‖ big-endian time ‖ id: entries sort by time, so old ones go by one range delete.
fn replay_key(time_ms: u64, id: &[u8; 64]) -> Vec<u8> {
    let mut key = Vec::with_capacity(META_REPLAY.len() + 8 + 64);
    key.extend_from_slice(META_REPLAY);
    key.extend_from_slice(&time_ms.to_be_bytes());
    key.extend_from_slice(id);
    key
}
