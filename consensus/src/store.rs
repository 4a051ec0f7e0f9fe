//! Where the Raft log and hard state live. The node keeps them in RocksDB; tests and the
//! simulation keep them in memory. Writes here must be durable when they return.

use raft::eraftpb::{ConfState, Entry, HardState, Snapshot};
use raft::storage::MemStorage;

use crate::{ConsensusError, Result};

/// Durable Raft state: raft-rs reads it through [`raft::Storage`], the driver writes it here.
pub trait LogStore: raft::Storage {
    /// Appends entries, replacing any conflicting suffix.
    fn append(&mut self, entries: &[Entry]) -> Result<()>;
    /// Stores the hard state (term, vote, commit).
    fn set_hard_state(&mut self, hard_state: &HardState) -> Result<()>;
    /// Stores the commit index alone.
    fn set_commit(&mut self, commit: u64) -> Result<()>;
    /// Replaces the log by a snapshot's position.
    fn apply_snapshot(&mut self, snapshot: &Snapshot) -> Result<()>;
    /// Stores the current membership.
    fn set_conf_state(&mut self, conf_state: &ConfState) -> Result<()>;
    /// Drops entries before `index` (they are applied everywhere that matters).
    fn compact(&mut self, index: u64) -> Result<()>;
}

/// An in-memory log store over raft-rs's `MemStorage`. Clones share the same data, which is how
/// the simulation keeps a crashed node's "disk" across a restart.
#[derive(Clone, Default)]
pub struct MemLogStore {
    inner: MemStorage,
}

impl MemLogStore {
    /// A store whose initial membership is `voters`.
    pub fn with_voters(voters: Vec<u64>) -> Self {
        Self::with_members(voters, Vec::new())
    }

    /// A store whose initial membership is `voters` and `learners`.
    pub fn with_members(voters: Vec<u64>, learners: Vec<u64>) -> Self {
        MemLogStore {
            inner: MemStorage::new_with_conf_state(ConfState::from((voters, learners))),
        }
    }
}

fn store_error(e: raft::Error) -> ConsensusError {
    ConsensusError::Store(e.to_string())
}

impl raft::Storage for MemLogStore {
    fn initial_state(&self) -> raft::Result<raft::RaftState> {
        self.inner.initial_state()
    }

    fn entries(
        &self,
        low: u64,
        high: u64,
        max_size: impl Into<Option<u64>>,
        context: raft::GetEntriesContext,
    ) -> raft::Result<Vec<Entry>> {
        self.inner.entries(low, high, max_size, context)
    }

    fn term(&self, idx: u64) -> raft::Result<u64> {
        self.inner.term(idx)
    }

    fn first_index(&self) -> raft::Result<u64> {
        self.inner.first_index()
    }

    fn last_index(&self) -> raft::Result<u64> {
        self.inner.last_index()
    }

    fn snapshot(&self, request_index: u64, to: u64) -> raft::Result<Snapshot> {
        self.inner.snapshot(request_index, to)
    }
}

impl LogStore for MemLogStore {
    fn append(&mut self, entries: &[Entry]) -> Result<()> {
        self.inner.wl().append(entries).map_err(store_error)
    }

    fn set_hard_state(&mut self, hard_state: &HardState) -> Result<()> {
        self.inner.wl().set_hardstate(hard_state.clone());
        Ok(())
    }

    fn set_commit(&mut self, commit: u64) -> Result<()> {
        self.inner.wl().mut_hard_state().commit = commit;
        Ok(())
    }

    fn apply_snapshot(&mut self, snapshot: &Snapshot) -> Result<()> {
        self.inner
            .wl()
            .apply_snapshot(snapshot.clone())
            .map_err(store_error)
    }

    fn set_conf_state(&mut self, conf_state: &ConfState) -> Result<()> {
        self.inner.wl().set_conf_state(conf_state.clone());
        Ok(())
    }

    fn compact(&mut self, index: u64) -> Result<()> {
        self.inner.wl().compact(index).map_err(store_error)
    }
}
