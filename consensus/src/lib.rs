//! Xinlian consensus: a sans-IO driver around tikv's raft-rs (`raft = "=0.7.0"`) and the
//! deterministic cluster simulation that is its main test.
//!
//! ```text
//!   node: tick every tick_ms ─┐        peer messages ─▶ Driver::step (checked, counted)
//!                             ▼
//!   leader: Driver::propose(block bytes) ─▶ RawNode ─▶ Driver::process_ready(store, apply)
//!                                                        1. snapshot into the log store
//!                                                        2. apply committed entries (callback)
//!                                                        3. persist entries and hard state
//!                                                        4. return messages to send
//! ```
//!
//! The driver owns no sockets, files or clocks: the node supplies ticks, delivers messages and
//! persists through [`LogStore`]; the simulation does the same with a seeded network. A block is
//! one log entry; the application applies a committed entry and records the applied index in the
//! same write, so a crash neither skips nor repeats a block.

mod driver;
mod error;
mod store;

pub use driver::{Applied, Driver, DriverConfig, DropReason};
pub use error::{ConsensusError, Result};
pub use raft::eraftpb::{
    ConfChange, ConfChangeType, ConfState, Entry, EntryType, HardState, Message, MessageType,
    Snapshot,
};
pub use store::{LogStore, MemLogStore};
