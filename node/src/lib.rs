//! Xinlian node: the daemon a department runs.
//!
//! ```text
//!   HTTP / gossip ──▶ chain::admission (checks, mempool shares)
//!                                │ leader, every block_interval_ms or when full
//!                                ▼
//!                     chain::build ──▶ raft_loop (Driver) ──▶ peers (network)
//!                                              │ committed
//!        reads ◀── RocksDB (Storage) ◀── chain::apply (checks, execute, fail-stop, one synced batch)
//! ```
//!
//! Domain rules live in `xinlian-contracts`; this crate stores, schedules and serves.

pub mod admin;
pub mod api;
pub mod auth;
pub mod backup;
pub mod chain;
pub mod config;
pub mod console;
mod error;
pub mod fault;
pub mod membership;
pub mod mempool;
pub mod metrics;
pub mod network;
pub mod raft_loop;
pub mod raft_store;
pub mod state_sync;
pub mod storage;
pub mod tls;
pub mod trace;
pub mod verified;
pub mod workers;

use std::future::Future;
use std::path::Path;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use tokio::net::TcpListener;
use xinlian_core::crypto::{PrivateKey, keyfile};
use xinlian_core::genesis::Genesis;

pub use api::router;
pub use chain::{Chain, SubmitError, TxLookup};
pub use config::Config;
pub use error::{Error, Result};
pub use storage::{Head, Storage};

/// Environment variable holding the node key's password when its file is encrypted.
pub const NODE_KEY_PASSWORD_ENV: &str = "XINLIAN_NODE_KEY_PASSWORD";

/// Reads and validates a genesis TOML file.
pub fn load_genesis(path: &Path) -> Result<Genesis> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| Error::Genesis(format!("cannot read {}: {e}", path.display())))?;
    let genesis: Genesis =
        toml::from_str(&text).map_err(|e| Error::Genesis(format!("{}: {e}", path.display())))?;
    genesis.validate()?;
    Ok(genesis)
}

/// Reads the node key, decrypting it with `XINLIAN_NODE_KEY_PASSWORD` when the file is encrypted.
pub fn load_node_key(path: &Path) -> Result<PrivateKey> {
    load_key(path, "node_key_file")
}

/// Reads a key file named by config `field`; an encrypted one needs `XINLIAN_NODE_KEY_PASSWORD`.
fn load_key(path: &Path, field: &str) -> Result<PrivateKey> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| Error::Config(format!("{field} {}: {e}", path.display())))?;
    let password = std::env::var(NODE_KEY_PASSWORD_ENV).ok();
    keyfile::from_pem(&text, password.as_deref().map(str::as_bytes)).map_err(|e| {
        let hint = if text.contains("ENCRYPTED PRIVATE KEY") {
            if password.is_some() {
                format!("; is {NODE_KEY_PASSWORD_ENV} the password it was encrypted with?")
            } else {
                format!("; it is encrypted: set its password in {NODE_KEY_PASSWORD_ENV}")
            }
        } else {
            String::new()
        };
        Error::Config(format!("{field} {}: {e}{hint}", path.display()))
    })
}

/// The leader's clock for block timestamps (the node is where time enters the chain).
#[allow(clippy::disallowed_methods)]
pub(crate) fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// How often a follower re-sends what still waits in its mempool, so transactions reach a new
/// leader or one that was unreachable when they arrived.
const REGOSSIP_INTERVAL: std::time::Duration = std::time::Duration::from_secs(2);
/// Most transactions re-sent per round.
const REGOSSIP_TXS_MAX: usize = 256;
/// Most bytes of transactions re-sent per round.
const REGOSSIP_BYTES_MAX: usize = 4 << 20;

async fn regossip(chain: std::sync::Arc<Chain>, network: network::NetworkHandle) {
    let mut interval = tokio::time::interval(REGOSSIP_INTERVAL);
    loop {
        interval.tick().await;
        let leads = chain.leader().as_deref() == Some(chain.node_id());
        if leads {
            continue;
        }
        for tx in chain.pending_to_resend(REGOSSIP_TXS_MAX, REGOSSIP_BYTES_MAX) {
            network.send(network::Outgoing::Tx(Box::new(tx)));
        }
    }
}

/// How often a node whose head has not moved sends its vote on it again, and how many times.
const REVOTE_INTERVAL: std::time::Duration = std::time::Duration::from_secs(2);
const REVOTES_MAX: u32 = 15;

/// Sends this node's vote on a head that stays put again, every [`REVOTE_INTERVAL`] for at
/// most [`REVOTES_MAX`] times, so a peer that was not connected when the vote first went
/// (restarting, reconnecting) still certifies an idle chain's head. A peer that already
/// certified it drops the vote unchecked.
async fn revote(chain: std::sync::Arc<Chain>) {
    let mut interval = tokio::time::interval(REVOTE_INTERVAL);
    let (mut last, mut sent) = (0, 0);
    loop {
        interval.tick().await;
        let head = chain.head().height;
        if head != last {
            (last, sent) = (head, 0);
        } else if sent < REVOTES_MAX {
            sent += 1;
            if let Err(e) = chain.resend_head_vote() {
                tracing::warn!(target: "xinlian.node", error = %e, "could not vote on the head again");
            }
        }
    }
}

/// How often the data directory's free space is read for the metrics.
const DISK_CHECK_INTERVAL: std::time::Duration = std::time::Duration::from_secs(30);

/// Keeps `xinlian_data_dir_available_bytes` current: a full disk stops the node (a failed
/// durable write is fatal), so operators are warned while there is still room.
async fn watch_disk(chain: std::sync::Arc<Chain>, data_dir: std::path::PathBuf) {
    let mut interval = tokio::time::interval(DISK_CHECK_INTERVAL);
    loop {
        interval.tick().await;
        #[cfg(target_os = "linux")]
        match rustix::fs::statvfs(&data_dir) {
            Ok(fs) => chain.metrics().set_data_dir_space(
                fs.f_bavail.saturating_mul(fs.f_frsize),
                fs.f_blocks.saturating_mul(fs.f_frsize),
            ),
            Err(e) => {
                tracing::warn!(target: "xinlian.node", error = %e, dir = %data_dir.display(), "cannot read the data directory's free space")
            }
        }
        #[cfg(not(target_os = "linux"))]
        let _ = (&chain, &data_dir);
    }
}

/// Runs a node until `shutdown` completes or a fatal error (a failed durable write) occurs.
pub async fn run(config: Config, shutdown: impl Future<Output = ()>) -> Result<()> {
    let genesis = load_genesis(&config.genesis_file)?;
    let node_key = load_node_key(&config.node_key_file)?;
    let p2p_key = load_key(&config.p2p_key_file, "p2p_key_file")?;
    let p2p_peer_id = network::identity_of(&p2p_key)?
        .public()
        .to_peer_id()
        .to_string();
    // Bound before the store opens: a port in use is then a clean config error, not a failure
    // with RocksDB and the Raft thread already running.
    let listener = TcpListener::bind(config.http_listen).await.map_err(|e| {
        Error::Config(format!(
            "http_listen {}: {e} (is another node or program using the port?)",
            config.http_listen
        ))
    })?;
    network::probe_listen(&config)?;
    let tls = config.tls.as_ref().map(tls::Tls::load).transpose()?;
    let chain = Arc::new(Chain::open(&config, genesis, node_key, p2p_peer_id)?);
    tracing::info!(
        target: "xinlian.node",
        node_id = %config.node_id,
        http = %listener.local_addr()?,
        tls = tls.is_some(),
        height = chain.head().height,
        "node started"
    );
    let admin = admin::AdminToken::write(&config.data_dir)?;
    let fault = fault::FaultSwitch::default();
    let app = router(
        chain.clone(),
        config.http_body_bytes_max,
        api::Limits::from_config(&config),
        admin,
        fault.clone(),
        config.tls.is_some(),
    )?;
    // With each connection's address, which the per-client rate limit keys on.
    let service = app.into_make_service_with_connect_info::<std::net::SocketAddr>();
    let server: std::pin::Pin<Box<dyn Future<Output = std::io::Result<()>> + Send>> = match tls {
        None => Box::pin(axum::serve(listener, service).into_future()),
        Some(tls) => {
            let server = axum_server::from_tcp_rustls(listener.into_std()?, tls.acceptor_config())?;
            tokio::spawn(tls.watch(chain.clone()));
            Box::pin(server.serve(service))
        }
    };
    let (network, outgoing) = network::channel(chain.clone());
    let raft_network = network.clone();
    let raft_network_reports = network.clone();
    let outbound: raft_loop::Outbound =
        Box::new(move |message| raft_network.send(network::Outgoing::Raft(message)));
    let fetch_network = network.clone();
    let fetcher: raft_loop::BlockFetcher =
        Box::new(move |peer, from, count| fetch_network.fetch_blocks(peer, from, count));
    let ask_network = network.clone();
    let asker: state_sync::PeerAsker =
        Box::new(move |peer, request| ask_network.ask(peer, request));
    let mut raft = raft_loop::RaftLoop::start(
        chain.clone(),
        &config,
        raft_loop::Transport {
            outbound,
            fetcher,
            asker,
            relay: network.relay(),
        },
    )?;
    let inputs = raft.inputs();
    raft_network_reports.set_raft_inputs(inputs.clone());
    network::start(
        chain.clone(),
        &config,
        &p2p_key,
        &network,
        outgoing,
        inputs.clone(),
        fault,
    )?;
    tokio::spawn(regossip(chain.clone(), network.clone()));
    tokio::spawn(watch_disk(chain.clone(), config.data_dir.clone()));
    tokio::spawn(revote(chain.clone()));
    let vote_network = network.clone();
    chain.set_vote_sender(Box::new(move |vote| {
        vote_network.send(network::Outgoing::Vote(vote))
    }));
    chain.set_gossip(Box::new(move |tx| {
        network.send(network::Outgoing::Tx(Box::new(tx.clone())))
    }));
    // The loop ends by itself on a fatal error, which stops the node, or when governance
    // removed this node, which leaves the HTTP API serving its copy of the chain.
    let (failed_tx, failed_rx) = tokio::sync::oneshot::channel();
    std::thread::spawn(move || {
        let _ = failed_tx.send(raft.join());
    });
    let halting_chain = chain.clone();
    let consensus_failed = async {
        match failed_rx.await {
            // Fail-stop: consensus stays stopped, while the node keeps answering reads and
            // `/v1/status` says why, so operators see the divergence instead of a restart loop.
            Ok(Err(Error::Diverged(why))) => {
                tracing::error!(target: "xinlian.node", error = %Error::Diverged(why.clone()), "consensus halted on divergence; reads are still served, transactions refused");
                halting_chain.halt(format!("diverged: {why}"));
                std::future::pending().await
            }
            Ok(Err(e)) => e,
            _ => std::future::pending().await,
        }
    };
    let outcome = tokio::select! {
        result = server => result.map_err(Error::Io),
        e = consensus_failed => {
            tracing::error!(target: "xinlian.node", error = %e, "consensus stopped; stopping the node");
            Err(e)
        },
        () = shutdown => {
            tracing::info!(target: "xinlian.node", "shutting down");
            Ok(())
        }
    };
    let _ = inputs.send(raft_loop::Input::Stop);
    outcome
}
