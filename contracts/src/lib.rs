//! Xinlian contracts: the deterministic state machines of the chain.
//!
//! ```text
//!  block txs ──▶ Executor ──▶ per tx: window, duplicate, sender & role ──▶ contract method
//!                   │                                                      │
//!                   ▼                                                      ▼
//!              receipts ◀─────────────── success / stable error code ◀── tx overlay
//!                   │                                                      │ (merged on success)
//!                   └──▶ BlockOutcome { receipts, writes } ◀─────────────────────┘
//! ```
//!
//! Contracts read state through [`StateReader`] and never write it: they return a
//! [`WriteSet`] that the node stores in the same RocksDB batch as the block. No I/O, no clock
//! (block time is an input), so every node computes the same outcome.

pub mod auth;
mod bounds;
pub mod coldchain;
mod error;
mod executor;
pub mod governance;
pub mod licence;
mod state;
pub mod stats;
mod step;
pub mod system;
pub mod views;

pub use bounds::check_bounds;
pub use error::{ContractError, ExecError};
pub use executor::{BlockContext, BlockOutcome, ChainRules, Executor};
pub use state::{MemoryState, Overlay, Space, StateReader, WriteSet};
