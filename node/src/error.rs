//! The node's error type.

/// Result with the node [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What can stop a node or fail an operation on it.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The configuration is unusable; the message names the field.
    #[error("config: {0}")]
    Config(String),
    /// The genesis file is unusable or does not match the stored chain.
    #[error("genesis: {0}")]
    Genesis(String),
    /// This node's place in the consortium forbids what was asked (removed, or its keys are not
    /// the ones governance registered).
    #[error("membership: {0}")]
    Membership(String),
    /// RocksDB failed. A failed durable write is fatal for the node.
    #[error("storage: {0}")]
    Storage(#[from] rocksdb::Error),
    /// Stored data failed to decode: corruption or a bug, never user input.
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
    /// Executing a block failed for a reason other than a refused call.
    #[error("execution: {0}")]
    Exec(#[from] xinlian_contracts::ExecError),
    /// This node's execution of a committed block disagrees with the block's header: its state
    /// may have diverged from the chain's. Consensus stops on this node (fail-stop).
    #[error(
        "diverged: {0}. This node stopped taking part in consensus so that it neither serves nor votes on a state that may differ from the other nodes'; see docs/operator.md, \"A node that halted on divergence\""
    )]
    Diverged(String),
    /// A backup could not be taken or restored; the message says why and what to do.
    #[error("backup: {0}")]
    Backup(String),
    /// The consensus driver or its log store failed.
    #[error("consensus: {0}")]
    Consensus(String),
    /// Core rejected a value (bad key file, ...).
    #[error(transparent)]
    Core(#[from] xinlian_core::Error),
    /// I/O outside RocksDB (files, sockets).
    #[error("io: {0}")]
    Io(#[from] std::io::Error),
}
