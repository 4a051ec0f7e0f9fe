//! The consensus crate's error type.

/// Result with [`ConsensusError`].
pub type Result<T, E = ConsensusError> = std::result::Result<T, E>;

/// What the driver can report.
#[derive(Debug, thiserror::Error)]
pub enum ConsensusError {
    /// The configuration breaks a rule; the message names the field.
    #[error("consensus config: {0}")]
    Config(String),
    /// Only the leader may propose.
    #[error("not the leader (leader is {leader:?})")]
    NotLeader {
        /// The leader's Raft id, when known.
        leader: Option<u64>,
    },
    /// raft-rs refused an operation.
    #[error("raft: {0}")]
    Raft(#[from] raft::Error),
    /// The log store failed; the node must stop rather than guess.
    #[error("log store: {0}")]
    Store(String),
    /// The application failed to apply a committed entry; the node must stop.
    #[error("apply: {0}")]
    Apply(String),
}
