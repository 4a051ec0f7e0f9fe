//! The Raft log and hard state in the `raft` column family, with every write synced: raft-rs
//! reads through [`raft::Storage`], the driver writes through [`LogStore`].
//!
//! Keys: `hs` hard state, `cs` conf state, `snap` metadata of the last snapshot or compaction
//! point (index and term of the entry before the first kept one), `e<index u64 BE>` entries.

use std::sync::Arc;

use protobuf::Message as _;
use raft::eraftpb::{ConfState, Entry, HardState, Snapshot, SnapshotMetadata};
use raft::{GetEntriesContext, RaftState, StorageError};
use rocksdb::{DB, WriteBatch, WriteOptions};
use xinlian_consensus::{ConsensusError, LogStore};

const CF_RAFT: &str = "raft";
const KEY_HARD_STATE: &[u8] = b"hs";
const KEY_CONF_STATE: &[u8] = b"cs";
const KEY_SNAPSHOT: &[u8] = b"snap";

fn entry_key(index: u64) -> [u8; 9] {
    let mut key = [b'e'; 9];
    key[1..].copy_from_slice(&index.to_be_bytes());
    key
}

/// Supplies the application's part of a snapshot: the applied index and what a follower needs
/// to catch up to it (the node's head, encoded).
pub type SnapshotSource = Arc<dyn Fn() -> (u64, Vec<u8>) + Send + Sync>;

/// The Raft log over RocksDB.
pub struct RaftLogStore {
    db: Arc<DB>,
    hard_state: HardState,
    conf_state: ConfState,
    snapshot: SnapshotMetadata,
    last: u64,
    snapshot_source: SnapshotSource,
}

fn store_error(e: impl std::fmt::Display) -> ConsensusError {
    ConsensusError::Store(e.to_string())
}

impl RaftLogStore {
    /// Opens the log, initialising the membership to `voters` on first use.
    pub fn open(
        db: Arc<DB>,
        voters: Vec<u64>,
        snapshot_source: SnapshotSource,
    ) -> Result<Self, ConsensusError> {
        let reader = db.clone();
        let read = move |key: &[u8]| -> Result<Option<Vec<u8>>, ConsensusError> {
            let cf = reader
                .cf_handle(CF_RAFT)
                .expect("raft column family exists");
            reader.get_cf(cf, key).map_err(store_error)
        };
        let hard_state = match read(KEY_HARD_STATE)? {
            Some(bytes) => HardState::parse_from_bytes(&bytes).map_err(store_error)?,
            None => HardState::default(),
        };
        let snapshot = match read(KEY_SNAPSHOT)? {
            Some(bytes) => SnapshotMetadata::parse_from_bytes(&bytes).map_err(store_error)?,
            None => SnapshotMetadata::default(),
        };
        let mut store = RaftLogStore {
            db,
            hard_state,
            conf_state: ConfState::default(),
            snapshot,
            last: 0,
            snapshot_source,
        };
        store.conf_state = match read(KEY_CONF_STATE)? {
            Some(bytes) => ConfState::parse_from_bytes(&bytes).map_err(store_error)?,
            None => {
                let initial = ConfState::from((voters, vec![]));
                store.put(
                    KEY_CONF_STATE,
                    &initial.write_to_bytes().map_err(store_error)?,
                )?;
                initial
            }
        };
        store.last = store.scan_last_index()?.unwrap_or(store.snapshot.index);
        Ok(store)
    }

    fn cf(&self) -> &rocksdb::ColumnFamily {
        self.db
            .cf_handle(CF_RAFT)
            .expect("raft column family exists")
    }

    fn synced() -> WriteOptions {
        let mut opts = WriteOptions::default();
        opts.set_sync(true);
        opts
    }

    fn put(&self, key: &[u8], value: &[u8]) -> Result<(), ConsensusError> {
        self.db
            .put_cf_opt(self.cf(), key, value, &Self::synced())
            .map_err(store_error)
    }

    fn scan_last_index(&self) -> Result<Option<u64>, ConsensusError> {
        let mut iter = self.db.raw_iterator_cf(self.cf());
        iter.seek_for_prev(entry_key(u64::MAX));
        match iter.key() {
            Some(key) if key.len() == 9 && key[0] == b'e' => Ok(Some(u64::from_be_bytes(
                key[1..].try_into().expect("9-byte key"),
            ))),
            _ => iter.status().map(|()| None).map_err(store_error),
        }
    }

    fn read_entry(&self, index: u64) -> raft::Result<Entry> {
        let bytes = self
            .db
            .get_cf(self.cf(), entry_key(index))
            .map_err(|e| raft::Error::Store(StorageError::Other(Box::new(e))))?
            .ok_or(raft::Error::Store(StorageError::Unavailable))?;
        Entry::parse_from_bytes(&bytes)
            .map_err(|e| raft::Error::Store(StorageError::Other(Box::new(e))))
    }

    fn first(&self) -> u64 {
        self.snapshot.index + 1
    }
}

impl raft::Storage for RaftLogStore {
    fn initial_state(&self) -> raft::Result<RaftState> {
        Ok(RaftState {
            hard_state: self.hard_state.clone(),
            conf_state: self.conf_state.clone(),
        })
    }

    fn entries(
        &self,
        low: u64,
        high: u64,
        max_size: impl Into<Option<u64>>,
        _: GetEntriesContext,
    ) -> raft::Result<Vec<Entry>> {
        if low < self.first() {
            return Err(raft::Error::Store(StorageError::Compacted));
        }
        if high > self.last + 1 {
            return Err(raft::Error::Store(StorageError::Unavailable));
        }
        let mut entries = Vec::with_capacity((high - low) as usize);
        for index in low..high {
            entries.push(self.read_entry(index)?);
        }
        raft::util::limit_size(&mut entries, max_size.into());
        Ok(entries)
    }

    fn term(&self, index: u64) -> raft::Result<u64> {
        if index == self.snapshot.index {
            return Ok(self.snapshot.term);
        }
        if index < self.first() {
            return Err(raft::Error::Store(StorageError::Compacted));
        }
        if index > self.last {
            return Err(raft::Error::Store(StorageError::Unavailable));
        }
        Ok(self.read_entry(index)?.term)
    }

    fn first_index(&self) -> raft::Result<u64> {
        Ok(self.first())
    }

    fn last_index(&self) -> raft::Result<u64> {
        Ok(self.last)
    }

    /// A snapshot at the application's applied index: metadata plus the head a follower must
    /// reach by fetching and validating blocks from peers.
    fn snapshot(&self, request_index: u64, _to: u64) -> raft::Result<Snapshot> {
        let (applied, data) = (self.snapshot_source)();
        if applied < request_index || applied < self.snapshot.index {
            return Err(raft::Error::Store(
                StorageError::SnapshotTemporarilyUnavailable,
            ));
        }
        let mut snapshot = Snapshot {
            data: data.into(),
            ..Default::default()
        };
        let meta = snapshot.mut_metadata();
        meta.index = applied;
        meta.term = self.term(applied)?;
        meta.set_conf_state(self.conf_state.clone());
        Ok(snapshot)
    }
}

impl LogStore for RaftLogStore {
    fn append(&mut self, entries: &[Entry]) -> Result<(), ConsensusError> {
        let (Some(first), Some(last)) = (entries.first(), entries.last()) else {
            return Ok(());
        };
        let mut batch = WriteBatch::default();
        // Entries from `first.index` on replace whatever the log held there.
        if first.index <= self.last {
            batch.delete_range_cf(self.cf(), entry_key(first.index), entry_key(self.last + 1));
        }
        for entry in entries {
            batch.put_cf(
                self.cf(),
                entry_key(entry.index),
                entry.write_to_bytes().map_err(store_error)?,
            );
        }
        self.db
            .write_opt(batch, &Self::synced())
            .map_err(store_error)?;
        self.last = last.index;
        Ok(())
    }

    fn set_hard_state(&mut self, hard_state: &HardState) -> Result<(), ConsensusError> {
        self.put(
            KEY_HARD_STATE,
            &hard_state.write_to_bytes().map_err(store_error)?,
        )?;
        self.hard_state = hard_state.clone();
        Ok(())
    }

    fn set_commit(&mut self, commit: u64) -> Result<(), ConsensusError> {
        let mut hard_state = self.hard_state.clone();
        hard_state.commit = commit;
        self.set_hard_state(&hard_state)
    }

    fn apply_snapshot(&mut self, snapshot: &Snapshot) -> Result<(), ConsensusError> {
        let meta = snapshot.get_metadata().clone();
        let mut batch = WriteBatch::default();
        batch.delete_range_cf(self.cf(), entry_key(0), entry_key(u64::MAX));
        let mut hard_state = self.hard_state.clone();
        hard_state.commit = hard_state.commit.max(meta.index);
        hard_state.term = hard_state.term.max(meta.term);
        batch.put_cf(
            self.cf(),
            KEY_HARD_STATE,
            hard_state.write_to_bytes().map_err(store_error)?,
        );
        batch.put_cf(
            self.cf(),
            KEY_CONF_STATE,
            meta.get_conf_state()
                .write_to_bytes()
                .map_err(store_error)?,
        );
        batch.put_cf(
            self.cf(),
            KEY_SNAPSHOT,
            meta.write_to_bytes().map_err(store_error)?,
        );
        self.db
            .write_opt(batch, &Self::synced())
            .map_err(store_error)?;
        self.hard_state = hard_state;
        self.conf_state = meta.get_conf_state().clone();
        self.last = meta.index;
        self.snapshot = meta;
        Ok(())
    }

    fn set_conf_state(&mut self, conf_state: &ConfState) -> Result<(), ConsensusError> {
        self.put(
            KEY_CONF_STATE,
            &conf_state.write_to_bytes().map_err(store_error)?,
        )?;
        self.conf_state = conf_state.clone();
        Ok(())
    }

    fn compact(&mut self, index: u64) -> Result<(), ConsensusError> {
        if index <= self.first() {
            return Ok(());
        }
        let index = index.min(self.last + 1);
        let mut point = SnapshotMetadata {
            index: index - 1,
            term: raft::Storage::term(self, index - 1).map_err(store_error)?,
            ..Default::default()
        };
        point.set_conf_state(self.conf_state.clone());
        let mut batch = WriteBatch::default();
        batch.put_cf(
            self.cf(),
            KEY_SNAPSHOT,
            point.write_to_bytes().map_err(store_error)?,
        );
        batch.delete_range_cf(self.cf(), entry_key(0), entry_key(index));
        self.db
            .write_opt(batch, &Self::synced())
            .map_err(store_error)?;
        self.snapshot = point;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use raft::Storage as _;

    use super::*;
    use crate::storage::Storage;

    fn entry(index: u64, term: u64) -> Entry {
        Entry {
            index,
            term,
            data: vec![index as u8].into(),
            ..Default::default()
        }
    }

    fn no_snapshot() -> SnapshotSource {
        Arc::new(|| (0, Vec::new()))
    }

    fn open(dir: &std::path::Path) -> RaftLogStore {
        let storage = Storage::open(dir, 1 << 20).unwrap();
        RaftLogStore::open(storage.db(), vec![1, 2, 3], no_snapshot()).unwrap()
    }

    /// Raft's log matching: entries from a new leader replace a conflicting suffix.
    #[test]
    fn append_replaces_a_conflicting_suffix() {
        let dir = tempfile::tempdir().unwrap();
        let mut log = open(dir.path());
        log.append(&[entry(1, 1), entry(2, 1), entry(3, 1)])
            .unwrap();
        log.append(&[entry(2, 2)]).unwrap();
        assert_eq!(log.last_index().unwrap(), 2);
        assert_eq!(log.term(2).unwrap(), 2);
        assert!(log.term(3).is_err());
    }

    /// Everything raft-rs was told is durable survives a reopen (a crash).
    #[test]
    fn state_survives_reopen() {
        let dir = tempfile::tempdir().unwrap();
        {
            let mut log = open(dir.path());
            log.append(&[entry(1, 1), entry(2, 3)]).unwrap();
            let hard_state = HardState {
                term: 3,
                vote: 2,
                commit: 2,
                ..Default::default()
            };
            log.set_hard_state(&hard_state).unwrap();
        }
        let log = open(dir.path());
        let state = log.initial_state().unwrap();
        assert_eq!(
            (
                state.hard_state.term,
                state.hard_state.vote,
                state.hard_state.commit
            ),
            (3, 2, 2)
        );
        assert_eq!(state.conf_state.voters, vec![1, 2, 3]);
        assert_eq!(
            log.entries(1, 3, None, GetEntriesContext::empty(false))
                .unwrap()
                .len(),
            2
        );
    }

    /// After compaction the term before the first kept entry stays known, for log matching.
    #[test]
    fn compaction_keeps_the_matching_term() {
        let dir = tempfile::tempdir().unwrap();
        let mut log = open(dir.path());
        log.append(&(1..=10).map(|i| entry(i, 1 + i / 5)).collect::<Vec<_>>())
            .unwrap();
        log.compact(6).unwrap();
        assert_eq!(log.first_index().unwrap(), 6);
        assert_eq!(log.term(5).unwrap(), 2);
        assert!(matches!(
            log.entries(3, 7, None, GetEntriesContext::empty(false)),
            Err(raft::Error::Store(StorageError::Compacted))
        ));
        drop(log);
        let log = open(dir.path());
        assert_eq!(
            (log.first_index().unwrap(), log.last_index().unwrap()),
            (6, 10)
        );
    }
}
