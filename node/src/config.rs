//! Node configuration: one TOML file, defaults for everything but identity, validated at start
//! with errors that name the field.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use xinlian_core::limits::{BLOCK_BYTES_MAX, BLOCK_TXS_MAX, TX_BYTES_MAX};

use crate::{Error, Result};

/// Everything a node needs to start.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// This node's id; must match a node in the genesis.
    pub node_id: String,
    /// Where RocksDB keeps the chain (relative paths are relative to the config file).
    pub data_dir: PathBuf,
    /// The genesis file (TOML).
    pub genesis_file: PathBuf,
    /// The node's block-signing key (PKCS#8 PEM).
    pub node_key_file: PathBuf,
    /// The node's peer-to-peer transport key (Ed25519, PKCS#8 PEM); its peer id is in genesis.
    pub p2p_key_file: PathBuf,
    /// Multiaddr the peer-to-peer transport listens on.
    #[serde(default = "defaults::p2p_listen")]
    pub p2p_listen: String,
    /// Peers to dial: multiaddrs ending in `/p2p/<peer id>`.
    #[serde(default)]
    pub peers: Vec<String>,
    /// Largest peer message (a Raft append or a batch of blocks).
    #[serde(default = "defaults::raft_message_bytes_max")]
    pub raft_message_bytes_max: usize,
    /// Address the HTTP API listens on.
    #[serde(default = "defaults::http_listen")]
    pub http_listen: SocketAddr,
    /// A block is cut this often when transactions are waiting.
    #[serde(default = "defaults::block_interval_ms")]
    pub block_interval_ms: u64,
    /// A block is cut at once when this many transactions are waiting; also the most per block.
    #[serde(default = "defaults::block_txs_max")]
    pub block_txs_max: usize,
    /// Most bytes of transactions (canonical encodings) in one block the leader cuts. At most
    /// the chain's `BLOCK_BYTES_MAX`, which every node checks, and small enough that a block
    /// travels in one peer message (`raft_message_bytes_max`).
    #[serde(default = "defaults::block_bytes_max")]
    pub block_bytes_max: usize,
    /// When this node cuts the chain's first block as leader, date it one time step after the
    /// genesis instead of at the clock, so a chain whose genesis is dated in the past (the local
    /// testnet's demo history, or a chain rebuilt from older records) gets blocks for every day
    /// since, catching up with the clock ten minutes a block. Off: a new chain's first block is
    /// dated now. Only the leader's choice: every node accepts either.
    #[serde(default)]
    pub first_block_from_genesis_time: bool,
    /// Most transactions waiting in the mempool; beyond it submissions get 503.
    #[serde(default = "defaults::mempool_txs_max")]
    pub mempool_txs_max: usize,
    /// Most bytes of transactions waiting in the mempool; beyond it submissions get 503.
    #[serde(default = "defaults::mempool_bytes_max")]
    pub mempool_bytes_max: usize,
    /// The share of the mempool (of `mempool_txs_max` and of `mempool_bytes_max`, in percent)
    /// one sender may hold; beyond it that sender's submissions get 429 `sender_share_full`, so
    /// one member cannot fill the mempool for everyone.
    #[serde(default = "defaults::mempool_sender_share_percent")]
    pub mempool_sender_share_percent: usize,
    /// Largest HTTP request body.
    #[serde(default = "defaults::http_body_bytes_max")]
    pub http_body_bytes_max: usize,
    /// How many rejected transaction hashes are remembered for status queries.
    #[serde(default = "defaults::rejected_txs_kept_max")]
    pub rejected_txs_kept_max: usize,
    /// Length of one Raft tick.
    #[serde(default = "defaults::raft_tick_ms")]
    pub raft_tick_ms: u64,
    /// Ticks without a leader before an election (randomised up to twice this).
    #[serde(default = "defaults::raft_election_ticks")]
    pub raft_election_ticks: usize,
    /// Ticks between leader heartbeats.
    #[serde(default = "defaults::raft_heartbeat_ticks")]
    pub raft_heartbeat_ticks: usize,
    /// Raft log entries kept behind the applied index before compaction.
    #[serde(default = "defaults::raft_log_kept_entries")]
    pub raft_log_kept_entries: u64,
    /// A node at least this many blocks behind what Raft's snapshot names takes a certified
    /// state snapshot from a peer instead of replaying the blocks (0: always replay).
    #[serde(default = "defaults::state_sync_min_blocks")]
    pub state_sync_min_blocks: u64,
    /// RocksDB block cache size.
    #[serde(default = "defaults::rocksdb_cache_bytes")]
    pub rocksdb_cache_bytes: usize,
    /// Requests per second one client address may make, sustained (0: no limit); beyond it
    /// 429 `rate_limited` with `Retry-After`.
    #[serde(default = "defaults::http_client_requests_per_second")]
    pub http_client_requests_per_second: u32,
    /// Requests one client address may make at once above its rate.
    #[serde(default = "defaults::http_client_request_burst")]
    pub http_client_request_burst: u32,
    /// Transactions per second this node takes from one sender key, sustained (0: no limit);
    /// beyond it 429 `sender_rate_limited` with `Retry-After`.
    #[serde(default = "defaults::sender_txs_per_second")]
    pub sender_txs_per_second: u32,
    /// Transactions one sender may send at once above its rate.
    #[serde(default = "defaults::sender_tx_burst")]
    pub sender_tx_burst: u32,
    /// Longest a request may take before 503 `request_timeout` (the event stream excepted).
    #[serde(default = "defaults::http_request_timeout_ms")]
    pub http_request_timeout_ms: u64,
    /// HTTPS for the API (`[tls]`); without it the API speaks plain HTTP, for a node behind a
    /// terminating proxy or on one machine only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls: Option<TlsSettings>,
}

/// The API's certificate, its key, and whose client certificates it requires (docs/tls.md).
/// The files are read again when they change, so a renewed certificate needs no restart.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsSettings {
    /// PEM certificate chain: the node's certificate first, then any intermediates.
    pub cert_file: PathBuf,
    /// PEM private key of the certificate (PKCS#8, SEC1 or PKCS#1; not encrypted).
    pub key_file: PathBuf,
    /// Mutual TLS: PEM certificates of the authorities whose client certificates are accepted.
    /// When set, a client without such a certificate is refused in the handshake.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_ca_file: Option<PathBuf>,
    /// How often the files are compared with what was loaded, in seconds.
    #[serde(default = "defaults::tls_reload_check_secs")]
    pub reload_check_secs: u64,
}

impl TlsSettings {
    /// Settings for a certificate and key, without client certificates.
    pub fn new(cert_file: PathBuf, key_file: PathBuf) -> Self {
        TlsSettings {
            cert_file,
            key_file,
            client_ca_file: None,
            reload_check_secs: defaults::tls_reload_check_secs(),
        }
    }
}

mod defaults {
    use std::net::SocketAddr;

    pub(super) fn http_listen() -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], 8545))
    }
    pub(super) fn p2p_listen() -> String {
        "/ip4/127.0.0.1/tcp/9545".into()
    }
    pub(super) fn raft_message_bytes_max() -> usize {
        16 << 20
    }
    pub(super) fn block_interval_ms() -> u64 {
        500
    }
    pub(super) fn block_txs_max() -> usize {
        2_000
    }
    pub(super) fn block_bytes_max() -> usize {
        4 << 20
    }
    pub(super) fn mempool_bytes_max() -> usize {
        256 << 20
    }
    pub(super) fn mempool_sender_share_percent() -> usize {
        10
    }
    pub(super) fn mempool_txs_max() -> usize {
        50_000
    }
    pub(super) fn http_body_bytes_max() -> usize {
        // A transaction's JSON is at most about twice its canonical size (hex), plus framing.
        2 * xinlian_core::limits::TX_BYTES_MAX + 4096
    }
    pub(super) fn rejected_txs_kept_max() -> usize {
        10_000
    }
    pub(super) fn http_client_requests_per_second() -> u32 {
        // A load generator or a gateway in front of many terminals sends a few thousand a
        // second; a stranger's flood far more.
        2_000
    }
    pub(super) fn http_client_request_burst() -> u32 {
        4_000
    }
    pub(super) fn sender_txs_per_second() -> u32 {
        // A terminal scans a few codes a second; a sender key shared by a busy system a few
        // hundred.
        500
    }
    pub(super) fn sender_tx_burst() -> u32 {
        1_000
    }
    pub(super) fn http_request_timeout_ms() -> u64 {
        30_000
    }
    pub(super) fn tls_reload_check_secs() -> u64 {
        // A renewed certificate is usually put in place days before the old one expires.
        60
    }
    pub(super) fn raft_tick_ms() -> u64 {
        100
    }
    pub(super) fn raft_election_ticks() -> usize {
        10
    }
    pub(super) fn raft_heartbeat_ticks() -> usize {
        2
    }
    pub(super) fn raft_log_kept_entries() -> u64 {
        1_000
    }
    pub(super) fn state_sync_min_blocks() -> u64 {
        1_000
    }
    pub(super) fn rocksdb_cache_bytes() -> usize {
        64 << 20
    }
}

/// Bytes a peer message adds around a block or the blocks of a sync answer (Raft and CBOR
/// framing); generous, since the check that uses it only needs to be safe.
pub const PEER_MESSAGE_OVERHEAD_BYTES: usize = 64 << 10;

impl Config {
    /// The mempool's bounds, in all and per sender.
    pub fn mempool_limits(&self) -> crate::mempool::MempoolLimits {
        let share = |max: usize| (max / 100 * self.mempool_sender_share_percent).max(1);
        crate::mempool::MempoolLimits {
            txs_max: self.mempool_txs_max,
            bytes_max: self.mempool_bytes_max,
            sender_txs_max: share(self.mempool_txs_max),
            sender_bytes_max: share(self.mempool_bytes_max),
        }
    }

    /// Most bytes of blocks in one block-sync answer: what fits a peer message.
    pub fn sync_bytes_max(&self) -> usize {
        (self.raft_message_bytes_max - PEER_MESSAGE_OVERHEAD_BYTES) / 2
    }

    /// Reads, resolves and validates a config file.
    pub fn load(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| Error::Config(format!("cannot read {}: {e}", path.display())))?;
        let mut config: Config =
            toml::from_str(&text).map_err(|e| Error::Config(format!("{}: {e}", path.display())))?;
        let base = path.parent().unwrap_or(Path::new("."));
        for field in [
            &mut config.data_dir,
            &mut config.genesis_file,
            &mut config.node_key_file,
            &mut config.p2p_key_file,
        ] {
            if field.is_relative() {
                *field = base.join(&*field);
            }
        }
        if let Some(tls) = &mut config.tls {
            for field in [&mut tls.cert_file, &mut tls.key_file]
                .into_iter()
                .chain(tls.client_ca_file.as_mut())
            {
                if field.is_relative() {
                    *field = base.join(&*field);
                }
            }
        }
        config.validate()?;
        Ok(config)
    }

    /// A config with defaults for everything but identity and paths.
    pub fn new(
        node_id: &str,
        data_dir: PathBuf,
        genesis_file: PathBuf,
        node_key_file: PathBuf,
        p2p_key_file: PathBuf,
    ) -> Self {
        Config {
            node_id: node_id.to_string(),
            data_dir,
            genesis_file,
            node_key_file,
            p2p_key_file,
            p2p_listen: defaults::p2p_listen(),
            peers: Vec::new(),
            raft_message_bytes_max: defaults::raft_message_bytes_max(),
            http_listen: defaults::http_listen(),
            block_interval_ms: defaults::block_interval_ms(),
            block_txs_max: defaults::block_txs_max(),
            block_bytes_max: defaults::block_bytes_max(),
            first_block_from_genesis_time: false,
            mempool_txs_max: defaults::mempool_txs_max(),
            mempool_bytes_max: defaults::mempool_bytes_max(),
            mempool_sender_share_percent: defaults::mempool_sender_share_percent(),
            http_body_bytes_max: defaults::http_body_bytes_max(),
            rejected_txs_kept_max: defaults::rejected_txs_kept_max(),
            rocksdb_cache_bytes: defaults::rocksdb_cache_bytes(),
            raft_tick_ms: defaults::raft_tick_ms(),
            raft_election_ticks: defaults::raft_election_ticks(),
            raft_heartbeat_ticks: defaults::raft_heartbeat_ticks(),
            raft_log_kept_entries: defaults::raft_log_kept_entries(),
            state_sync_min_blocks: defaults::state_sync_min_blocks(),
            http_client_requests_per_second: defaults::http_client_requests_per_second(),
            http_client_request_burst: defaults::http_client_request_burst(),
            sender_txs_per_second: defaults::sender_txs_per_second(),
            sender_tx_burst: defaults::sender_tx_burst(),
            http_request_timeout_ms: defaults::http_request_timeout_ms(),
            tls: None,
        }
    }

    /// Checks every field's range; the error names the field.
    pub fn validate(&self) -> Result<()> {
        let fail = |field: &str, rule: String| Err(Error::Config(format!("{field}: {rule}")));
        if self.node_id.is_empty() {
            return fail("node_id", "must not be empty".into());
        }
        // The peer addresses are checked here, before the store opens, so a typo stops the node
        // with the field named instead of after RocksDB and Raft started.
        match self.p2p_listen.parse::<libp2p::Multiaddr>() {
            Err(e) => {
                return fail(
                    "p2p_listen",
                    format!(
                        "{:?} is not a multiaddr ({e}); write it like /ip4/0.0.0.0/tcp/30333",
                        self.p2p_listen
                    ),
                );
            }
            Ok(addr)
                if !addr
                    .iter()
                    .any(|p| matches!(p, libp2p::multiaddr::Protocol::Tcp(_))) =>
            {
                return fail(
                    "p2p_listen",
                    format!(
                        "{:?} has no /tcp/<port> part; write it like /ip4/0.0.0.0/tcp/30333",
                        self.p2p_listen
                    ),
                );
            }
            Ok(_) => {}
        }
        for peer in &self.peers {
            let parsed = peer.parse::<libp2p::Multiaddr>();
            let has_peer_id = parsed.as_ref().is_ok_and(|addr| {
                addr.iter()
                    .any(|p| matches!(p, libp2p::multiaddr::Protocol::P2p(_)))
            });
            if !has_peer_id {
                return fail(
                    "peers",
                    format!(
                        "{peer:?} is not a peer address; write it like /ip4/10.0.0.2/tcp/30333/p2p/<peer id>"
                    ),
                );
            }
        }
        if !(10..=60_000).contains(&self.block_interval_ms) {
            return fail(
                "block_interval_ms",
                format!("must be 10 to 60000, got {}", self.block_interval_ms),
            );
        }
        if !(1..=BLOCK_TXS_MAX).contains(&self.block_txs_max) {
            return fail(
                "block_txs_max",
                format!("must be 1 to {BLOCK_TXS_MAX}, got {}", self.block_txs_max),
            );
        }
        if self.mempool_txs_max < self.block_txs_max {
            return fail(
                "mempool_txs_max",
                format!("must be at least block_txs_max ({})", self.block_txs_max),
            );
        }
        if self.http_body_bytes_max < TX_BYTES_MAX {
            return fail(
                "http_body_bytes_max",
                format!("must be at least {TX_BYTES_MAX} so any valid transaction fits"),
            );
        }
        if !(1..=10_000).contains(&self.raft_tick_ms) {
            return fail(
                "raft_tick_ms",
                format!("must be 1 to 10000, got {}", self.raft_tick_ms),
            );
        }
        if self.raft_heartbeat_ticks == 0
            || self.raft_election_ticks <= 2 * self.raft_heartbeat_ticks
        {
            return fail(
                "raft_election_ticks",
                "must exceed twice raft_heartbeat_ticks (at least 1)".into(),
            );
        }
        // The client limiter's period is a whole number of nanoseconds: at most a million a
        // second keeps it at least 1,000 ns (0 turns the limit off).
        if self.http_client_requests_per_second > 1_000_000 {
            return fail(
                "http_client_requests_per_second",
                format!(
                    "must be 0 (no limit) to 1000000, got {}",
                    self.http_client_requests_per_second
                ),
            );
        }
        if !(100..=600_000).contains(&self.http_request_timeout_ms) {
            return fail(
                "http_request_timeout_ms",
                format!(
                    "must be 100 to 600000, got {}",
                    self.http_request_timeout_ms
                ),
            );
        }
        if self.raft_log_kept_entries == 0 {
            return fail("raft_log_kept_entries", "must be at least 1".into());
        }
        // A gossip request carries transactions in a quarter of this (CBOR may double a byte
        // list), and the largest transaction must fit in one.
        if self.raft_message_bytes_max < xinlian_core::limits::TX_BYTES_MAX * 4 {
            return fail(
                "raft_message_bytes_max",
                format!(
                    "must be at least {}",
                    xinlian_core::limits::TX_BYTES_MAX * 4
                ),
            );
        }
        // A block entry travels in one Raft append (raft-rs adds entries to a message while they
        // fit `block_bytes_max`, and always at least one), CBOR may write its bytes as two each,
        // and the message around it is small.
        if !(2 * TX_BYTES_MAX..=BLOCK_BYTES_MAX).contains(&self.block_bytes_max) {
            return fail(
                "block_bytes_max",
                format!(
                    "must be {} to {BLOCK_BYTES_MAX} (the chain's limit), got {}",
                    2 * TX_BYTES_MAX,
                    self.block_bytes_max
                ),
            );
        }
        if 2 * self.block_bytes_max + PEER_MESSAGE_OVERHEAD_BYTES > self.raft_message_bytes_max {
            return fail(
                "block_bytes_max",
                format!(
                    "a block of {} bytes does not fit raft_message_bytes_max ({}): it must be at most (raft_message_bytes_max - {PEER_MESSAGE_OVERHEAD_BYTES}) / 2",
                    self.block_bytes_max, self.raft_message_bytes_max
                ),
            );
        }
        if self.mempool_bytes_max < self.block_bytes_max {
            return fail(
                "mempool_bytes_max",
                format!(
                    "must be at least block_bytes_max ({})",
                    self.block_bytes_max
                ),
            );
        }
        if !(1..=100).contains(&self.mempool_sender_share_percent) {
            return fail(
                "mempool_sender_share_percent",
                format!(
                    "must be 1 to 100, got {}",
                    self.mempool_sender_share_percent
                ),
            );
        }
        if self.mempool_limits().sender_bytes_max < TX_BYTES_MAX {
            return fail(
                "mempool_sender_share_percent",
                format!(
                    "a sender's share of mempool_bytes_max must hold one transaction of {TX_BYTES_MAX} bytes"
                ),
            );
        }
        if self.rejected_txs_kept_max == 0 {
            return fail("rejected_txs_kept_max", "must be at least 1".into());
        }
        if let Some(tls) = &self.tls
            && !(1..=86_400).contains(&tls.reload_check_secs)
        {
            return fail(
                "tls.reload_check_secs",
                format!("must be 1 to 86400, got {}", tls.reload_check_secs),
            );
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, text: &str) -> PathBuf {
        let path = dir.join("node.toml");
        std::fs::write(&path, text).unwrap();
        path
    }

    const MINIMAL: &str = "node_id = \"n0\"\ndata_dir = \"data\"\ngenesis_file = \"genesis.toml\"\nnode_key_file = \"k.pem\"\np2p_key_file = \"p2p.pem\"\n";

    #[test]
    fn defaults_fill_in_and_paths_resolve_against_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let config = Config::load(&write(dir.path(), MINIMAL)).unwrap();
        assert_eq!(config.data_dir, dir.path().join("data"));
        assert_eq!(config.block_interval_ms, 500);
    }

    /// A block must fit one peer message, so the chain cannot outgrow its own transport.
    #[test]
    fn blocks_must_fit_a_peer_message() {
        let dir = tempfile::tempdir().unwrap();
        let err = Config::load(&write(
            dir.path(),
            &format!("{MINIMAL}block_bytes_max = 8388608\nraft_message_bytes_max = 16777216\n"),
        ))
        .unwrap_err();
        assert!(err.to_string().contains("block_bytes_max"), "{err}");
        let config = Config::load(&write(dir.path(), MINIMAL)).unwrap();
        assert!(2 * config.block_bytes_max < config.raft_message_bytes_max);
        assert!(config.sync_bytes_max() >= config.block_bytes_max);
        let err = Config::load(&write(
            dir.path(),
            &format!("{MINIMAL}mempool_sender_share_percent = 0\n"),
        ))
        .unwrap_err();
        assert!(
            err.to_string().contains("mempool_sender_share_percent"),
            "{err}"
        );
    }

    #[test]
    fn errors_name_the_field() {
        let dir = tempfile::tempdir().unwrap();
        let err =
            Config::load(&write(dir.path(), &format!("{MINIMAL}block_txs_max = 0\n"))).unwrap_err();
        assert!(err.to_string().contains("block_txs_max"), "{err}");
        let err = Config::load(&write(dir.path(), &format!("{MINIMAL}colour = 1\n"))).unwrap_err();
        assert!(err.to_string().contains("colour"), "{err}");
        let err = Config::load(&write(
            dir.path(),
            &format!("{MINIMAL}block_interval_ms = \"soon\"\n"),
        ))
        .unwrap_err();
        assert!(err.to_string().contains("block_interval_ms"), "{err}");
        for (field, value) in [
            ("http_client_requests_per_second", "4000000000"),
            ("http_request_timeout_ms", "0"),
        ] {
            let err = Config::load(&write(
                dir.path(),
                &format!(
                    "{MINIMAL}{field} = {value}
"
                ),
            ))
            .unwrap_err();
            assert!(err.to_string().contains(field), "{err}");
        }
        // 0 turns a rate off; the most a client limit takes is a million a second.
        for (field, value) in [
            ("http_client_requests_per_second", "0"),
            ("http_client_requests_per_second", "1000000"),
            ("sender_txs_per_second", "0"),
        ] {
            Config::load(&write(
                dir.path(),
                &format!(
                    "{MINIMAL}{field} = {value}
"
                ),
            ))
            .unwrap();
        }
    }
}
