//! Local testnet: generates keys, genesis and node configs, starts node processes on loopback,
//! and loads demo data.
//!
//! ```text
//! DIR/
//!   genesis.toml            the chain
//!   testnet.json            nodes (id, http_url, pid, data dir, log) and the admin key paths
//!   keys/                   organisation admin keys (PKCS#8 PEM)
//!   node0/node.toml         config, node.key.pem, data/ (RocksDB), node.log
//! ```
//!
//! The single-node form serves the foundation; the consensus issue grows it to N nodes with
//! Raft, kill/restart and partitions.

mod demo;
mod layout;
mod process;

pub use demo::load_demo;
pub use layout::{Layout, NodeEntry, init};
pub use process::{down, kill_node, set_isolated, start_node, start_nodes, wait_healthy};
