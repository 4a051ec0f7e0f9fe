//! A log store that can crash on purpose: each durable write first burns the node's fuse, and a
//! blown fuse fails the write before it happens, as power loss between two fsyncs would.

use std::cell::Cell;
use std::rc::Rc;

use raft::eraftpb::{ConfState, Entry, HardState, Snapshot};
use xinlian_consensus::{ConsensusError, LogStore, MemLogStore};

/// Durable writes left before a crash; `None` while disarmed. Shared by a node's log store and
/// its application, so a crash can fall between any two of their writes.
#[derive(Clone, Default)]
pub(crate) struct Fuse(Rc<Cell<Option<u64>>>, Rc<Cell<bool>>);

impl Fuse {
    /// Crashes the node at its `writes`-th next durable write (0: the very next one).
    pub(crate) fn arm(&self, writes: u64) {
        self.0.set(Some(writes));
        self.1.set(false);
    }

    pub(crate) fn disarm(&self) {
        self.0.set(None);
        self.1.set(false);
    }

    /// Whether the armed crash happened.
    pub(crate) fn blown(&self) -> bool {
        self.1.get()
    }

    /// Called before each durable write: fails it once the fuse runs out, and every write after.
    pub(crate) fn burn(&self) -> Result<(), ConsensusError> {
        if self.blown() {
            return Err(ConsensusError::Store("simulated crash".into()));
        }
        match self.0.get() {
            Some(0) => {
                self.1.set(true);
                Err(ConsensusError::Store("simulated crash".into()))
            }
            Some(n) => {
                self.0.set(Some(n - 1));
                Ok(())
            }
            None => Ok(()),
        }
    }
}

/// [`MemLogStore`] behind a [`Fuse`].
pub(crate) struct CrashStore {
    inner: MemLogStore,
    fuse: Fuse,
}

impl CrashStore {
    pub(crate) fn new(inner: MemLogStore, fuse: Fuse) -> Self {
        CrashStore { inner, fuse }
    }
}

impl raft::Storage for CrashStore {
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

impl LogStore for CrashStore {
    fn append(&mut self, entries: &[Entry]) -> Result<(), ConsensusError> {
        self.fuse.burn()?;
        self.inner.append(entries)
    }

    fn set_hard_state(&mut self, hard_state: &HardState) -> Result<(), ConsensusError> {
        self.fuse.burn()?;
        self.inner.set_hard_state(hard_state)
    }

    fn set_commit(&mut self, commit: u64) -> Result<(), ConsensusError> {
        self.fuse.burn()?;
        self.inner.set_commit(commit)
    }

    fn apply_snapshot(&mut self, snapshot: &Snapshot) -> Result<(), ConsensusError> {
        self.fuse.burn()?;
        self.inner.apply_snapshot(snapshot)
    }

    fn set_conf_state(&mut self, conf_state: &ConfState) -> Result<(), ConsensusError> {
        self.fuse.burn()?;
        self.inner.set_conf_state(conf_state)
    }

    fn compact(&mut self, index: u64) -> Result<(), ConsensusError> {
        self.fuse.burn()?;
        self.inner.compact(index)
    }
}
