//! Xinlian consensus: a sans-IO driver around tikv's raft-rs (`raft = "=0.7.0"`) and the
//! deterministic cluster simulation that is its main test.
//!
//! ```text
//!   node: tick every tick_ms ─┐        peer messages ─▶ Driver::step (checked, counted)
//!                             ▼
//!   leader: Driver::propose(block bytes) ─▶ RawNode ─▶ Driver::process_ready(app)
//!                                                        1. app catches up to a snapshot,
//!                                                           then the log store records it
//!                                                        2. apply committed entries (app)
//!                                                        3. persist entries and hard state
//!                                                        4. return messages to send
//! ```
//!
//! The driver owns no sockets, files or clocks: the node supplies ticks, delivers messages and
//! persists through [`LogStore`]; the simulation does the same with a seeded network. A block is
//! one log entry; the application applies a committed entry and records the applied index in the
//! same write, so a crash neither skips nor repeats a block. Peer messages are checked by role
//! ([`DropReason`]) and membership entries must match committed state ([`Application`]).

mod application;
mod driver;
mod error;
mod peer_check;
mod store;

pub use application::{Application, MemberChange};
pub use driver::{Driver, DriverConfig, Stepped};
pub use error::{ConsensusError, Result};
pub use peer_check::DropReason;
pub use raft::eraftpb::{
    ConfChange, ConfChangeType, ConfState, Entry, EntryType, HardState, Message, MessageType,
    Snapshot,
};
pub use store::{LogStore, MemLogStore};
