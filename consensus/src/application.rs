//! What the driver asks of the application that owns the replicated state (the node's chain, or
//! the simulation's model of it).
//!
//! The contract that makes a crash at any instant recoverable: every effect of a call is durable,
//! together with the index it belongs to, before the call returns; and [`Application::catch_up`]
//! holds everything up to the snapshot's index before the driver records the snapshot in the log
//! store. On restart the driver then reconciles what raft-rs is told with what is durable
//! (see [`crate::Driver::new`]).

use raft::eraftpb::ConfChangeType;

use crate::Result;

/// One change of a committed membership entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MemberChange {
    /// Add as voter, add as learner, or remove.
    pub kind: ConfChangeType,
    /// The member's Raft id.
    pub node_id: u64,
}

/// The replicated state machine behind the driver.
pub trait Application {
    /// Applies the committed normal entry at `index` (a block), recording `index` as applied in
    /// the same durable write as its effects. Empty entries (a new leader's no-op) are not passed.
    /// A block the application refuses still records `index`, the same way on every member.
    fn apply_entry(&mut self, index: u64, term: u64, data: &[u8]) -> Result<()>;

    /// Whether a committed membership entry matches committed state (only the leader's
    /// translation of a governance decision does). `false` refuses it: Raft's membership stays
    /// as it is, on every member alike, since all decide on the same committed state.
    fn admit_membership(&mut self, index: u64, changes: &[MemberChange]) -> Result<bool>;

    /// The membership entry at `index` was handled (applied to Raft, or refused): record `index`
    /// as applied. `voters` and `learners` are Raft's members now.
    fn membership_applied(&mut self, index: u64, voters: &[u64], learners: &[u64]) -> Result<()>;

    /// The leader sent a snapshot because this member is behind its compacted log: bring the
    /// application up to `index` (the node fetches and validates blocks from peers, starting with
    /// `from`). Must not record `index` as applied: the driver stores the snapshot next and then
    /// calls [`Application::snapshot_applied`].
    fn catch_up(&mut self, index: u64, from: u64, data: &[u8]) -> Result<()>;

    /// The snapshot at `index` is stored in the log: record `index` as applied.
    fn snapshot_applied(&mut self, index: u64) -> Result<()>;
}
