//! Local testnet: generates keys, genesis and node configs, starts node processes on loopback,
//! and loads demo data.
//!
//! ```text
//! DIR/
//!   genesis.toml            the chain
//!   testnet.json            nodes (id, http_url, pid, data dir, log) and the admin key paths
//!   keys/                   organisation admin keys (PKCS#8 PEM)
//!   node0/node.toml         config, node.key.pem, data/ (RocksDB), node.log, tls.pem (--tls)
//!   tls/                    with --tls: the local CA (ca.pem) and the tools' client certificate
//! ```
//!
//! Nodes beyond the founding ones join the way a department's would: keys and a config are
//! written, governance passes the proposal, and the node syncs and joins Raft.

mod auth_demo;
mod coldchain_demo;
mod demo;
mod governance;
mod history_demo;
mod layout;
mod licence_demo;
pub mod load;
mod process;
pub mod tls;

pub use auth_demo::AuthDemo;
pub use coldchain_demo::ColdChainDemo;
pub use demo::{DemoReport, load_demo};
pub use governance::{PreparedNode, add_node, pass_proposal, prepare_node, remove_node};
pub use history_demo::HistoryReport;
pub use layout::{Layout, NodeEntry, init, init_dated};
pub use licence_demo::DemoLicence;
pub use process::{
    Stop, admin_request, log_tail, running_pid, set_isolated, start_node, stop_nodes, wait_healthy,
    wait_leader,
};
pub use tls::{LayoutTls, TlsMode};
