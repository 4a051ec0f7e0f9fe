//! Writing a testnet's files.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use serde::{Deserialize, Serialize};
use xinlian_core::crypto::{PrivateKey, SignatureScheme};
use xinlian_core::genesis::{Genesis, GenesisNode, GenesisOrganisation, Suite};
use xinlian_core::ids::Uscc;
use xinlian_core::types::OrgRole;
use xinlian_node::Config;
use xinlian_sdk::{Client, TlsOptions, keys};

use crate::tls::{LayoutTls, TlsMode};

/// `testnet.json`: where everything of a testnet is.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Layout {
    /// The chain id.
    pub chain_id: String,
    /// The suite.
    pub suite: Suite,
    /// The genesis file.
    pub genesis_file: PathBuf,
    /// Admin keys that may submit transactions, SM2 first.
    pub admin_keys: Vec<PathBuf>,
    /// The nodes.
    pub nodes: Vec<NodeEntry>,
    /// HTTPS (`up --tls`): the testnet's CA and client certificate; absent for plain HTTP.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls: Option<LayoutTls>,
}

/// One node of the testnet.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct NodeEntry {
    /// Its id in genesis.
    pub id: String,
    /// Its HTTP API.
    pub http_url: String,
    /// Reserved for the peer-to-peer address (consensus issue).
    pub p2p_address: Option<String>,
    /// The pid it was last started with (informational: whether it runs is read from the
    /// machine, see `running_pid`).
    pub pid: Option<u32>,
    /// Removed from the chain by governance: not started, waited for or loaded any more.
    #[serde(default)]
    pub removed: bool,
    /// Its config file.
    pub config_file: PathBuf,
    /// Its RocksDB directory.
    pub data_dir: PathBuf,
    /// Its log file.
    pub log_file: PathBuf,
}

impl Layout {
    /// Reads `DIR/testnet.json`.
    pub fn load(dir: &Path) -> Result<Self> {
        let path = dir.join("testnet.json");
        let text = std::fs::read_to_string(&path).with_context(|| {
            format!(
                "reading {} (is {} a testnet directory? `xinlian testnet up --dir {}` creates one)",
                path.display(),
                dir.display(),
                dir.display()
            )
        })?;
        serde_json::from_str(&text).with_context(|| format!("parsing {}", path.display()))
    }

    /// The nodes that are part of the chain (not removed by governance).
    pub fn active_nodes(&self) -> impl Iterator<Item = &NodeEntry> {
        self.nodes.iter().filter(|n| !n.removed)
    }

    /// Indices of the nodes that are part of the chain.
    pub fn active_indices(&self) -> Vec<usize> {
        (0..self.nodes.len())
            .filter(|i| !self.nodes[*i].removed)
            .collect()
    }

    /// How the testnet's clients reach its nodes: trusting its CA and with its client
    /// certificate when it runs HTTPS, plain otherwise.
    pub fn client_tls(&self) -> TlsOptions {
        self.tls
            .as_ref()
            .map(LayoutTls::client_options)
            .unwrap_or_default()
    }

    /// An SDK client of `node`.
    pub fn client(&self, node: &NodeEntry) -> xinlian_sdk::Result<Client> {
        Client::with_tls(&node.http_url, &self.client_tls())
    }

    /// Writes `DIR/testnet.json`.
    pub fn save(&self, dir: &Path) -> Result<()> {
        let path = dir.join("testnet.json");
        std::fs::write(&path, serde_json::to_string_pretty(self)?)
            .with_context(|| format!("writing {}", path.display()))
    }
}

/// A founding organisation of the local chain: USCC prefix, name, roles.
const ORGS: [(&str, &str, &[OrgRole]); 4] = [
    (
        "11410100MB1234567",
        "郑州市市场监督管理局",
        &[
            OrgRole::Regulator,
            OrgRole::Admin,
            OrgRole::EnterpriseRegistrar,
            OrgRole::Issuer,
        ],
    ),
    (
        "11410100MB2234567",
        "郑州市行政审批和政务信息管理局",
        &[OrgRole::Issuer, OrgRole::Admin],
    ),
    (
        "11410100MB3234567",
        "郑州海关",
        &[OrgRole::Regulator, OrgRole::Admin],
    ),
    (
        "11410100MB4234567",
        "郑州市大数据管理局",
        &[OrgRole::Admin, OrgRole::Audit],
    ),
];

/// Writes keys, genesis and node configs for `nodes` nodes (one organisation each) under `dir`,
/// with HTTP ports from `http_port_base`, and with `tls` a local CA and node certificates.
pub fn init(
    dir: &Path,
    nodes: usize,
    suite: Suite,
    http_port_base: u16,
    tls: TlsMode,
) -> Result<Layout> {
    init_dated(dir, nodes, suite, http_port_base, tls, 0)
}

/// [`init`] with the genesis dated `history_days` back: the chain's first blocks then carry
/// times in the past and step forward until they reach the clock, and the demo plays a day of
/// business on each day they pass (`history_demo`).
pub fn init_dated(
    dir: &Path,
    nodes: usize,
    suite: Suite,
    http_port_base: u16,
    tls: TlsMode,
    history_days: u32,
) -> Result<Layout> {
    if !(1..=ORGS.len()).contains(&nodes) {
        bail!("--nodes must be 1 to {}", ORGS.len());
    }
    if dir.join("genesis.toml").exists() {
        bail!(
            "{} already holds a chain; remove it or choose another --dir",
            dir.display()
        );
    }
    std::fs::create_dir_all(dir.join("keys"))?;
    let layout_tls = match tls {
        TlsMode::Off => None,
        TlsMode::Https => Some(crate::tls::create_authority(dir, false)?),
        TlsMode::MutualTls => Some(crate::tls::create_authority(dir, true)?),
    };
    let scheme = suite.default_scheme();
    let other = match scheme {
        SignatureScheme::Sm2 => SignatureScheme::Ed25519,
        SignatureScheme::Ed25519 => SignatureScheme::Sm2,
    };
    let mut organisations = Vec::new();
    let mut admin_keys = Vec::new();
    let mut nodes_made = Vec::new();
    for (i, (uscc17, name, roles)) in ORGS.iter().take(nodes).enumerate() {
        let uscc = Uscc::with_check_character(uscc17)?;
        let mut admins = Vec::new();
        // The first organisation also gets an admin of the other scheme, so both are exercised.
        let schemes: &[SignatureScheme] = if i == 0 { &[scheme, other] } else { &[scheme] };
        for s in schemes {
            let key = keys::generate(*s)?;
            let path = dir.join("keys").join(format!("org{i}-admin-{s}.pem"));
            keys::write_key_file(&path, &key, None)?;
            admins.push(key.public_key());
            admin_keys.push(path);
        }
        let node_dir = dir.join(format!("node{i}"));
        let (node_key, peer_id) = write_node_keys(&node_dir, scheme)?;
        let node_id = format!("node{i}");
        let ports = Ports {
            http: http_port_base + i as u16,
            p2p: http_port_base + P2P_PORT_OFFSET + i as u16,
        };
        nodes_made.push((node_id.clone(), node_dir.clone(), ports, peer_id.clone()));
        organisations.push(GenesisOrganisation {
            uscc,
            name: name.to_string(),
            roles: roles.to_vec(),
            admins,
            nodes: vec![GenesisNode {
                id: node_id,
                public_key: node_key.public_key(),
                p2p_peer_id: peer_id,
            }],
        });
    }
    let genesis = Genesis {
        chain_id: "xinlian-local".into(),
        suite,
        signature_schemes: vec![SignatureScheme::Sm2, SignatureScheme::Ed25519],
        genesis_time_ms: xinlian_sdk::now_ms() - u64::from(history_days) * 86_400_000,
        organisations,
    };
    genesis.validate()?;
    let addresses: Vec<String> = nodes_made
        .iter()
        .map(|(_, _, ports, peer)| format!("/ip4/127.0.0.1/tcp/{}/p2p/{peer}", ports.p2p))
        .collect();
    let mut entries = Vec::new();
    for (i, (node_id, node_dir, ports, _)) in nodes_made.iter().enumerate() {
        let peers = addresses
            .iter()
            .enumerate()
            .filter(|(j, _)| *j != i)
            .map(|(_, a)| a.clone())
            .collect();
        entries.push(write_node_config(
            node_dir,
            node_id,
            *ports,
            peers,
            layout_tls.as_ref(),
            history_days > 0,
        )?);
    }
    let genesis_file = dir.join("genesis.toml");
    std::fs::write(&genesis_file, toml::to_string_pretty(&genesis)?)?;
    let layout = Layout {
        chain_id: genesis.chain_id,
        suite,
        genesis_file,
        admin_keys,
        nodes: entries,
        tls: layout_tls,
    };
    layout.save(dir)?;
    Ok(layout)
}

/// Creates `node_dir` with a block-signing key of `scheme` and a transport key; returns the
/// signing key and the libp2p peer id.
pub(crate) fn write_node_keys(
    node_dir: &Path,
    scheme: SignatureScheme,
) -> Result<(PrivateKey, String)> {
    std::fs::create_dir_all(node_dir)?;
    let node_key = keys::generate(scheme)?;
    keys::write_key_file(&node_dir.join("node.key.pem"), &node_key, None)?;
    let p2p_key = keys::generate(SignatureScheme::Ed25519)?;
    keys::write_key_file(&node_dir.join("p2p.key.pem"), &p2p_key, None)?;
    let peer_id = xinlian_node::network::identity_of(&p2p_key)?
        .public()
        .to_peer_id()
        .to_string();
    Ok((node_key, peer_id))
}

/// Ports of one node.
#[derive(Clone, Copy)]
pub(crate) struct Ports {
    pub(crate) http: u16,
    pub(crate) p2p: u16,
}

/// Node i's p2p port is its HTTP port plus this.
pub(crate) const P2P_PORT_OFFSET: u16 = 1000;

pub(crate) fn write_node_config(
    node_dir: &Path,
    node_id: &str,
    ports: Ports,
    peers: Vec<String>,
    tls: Option<&LayoutTls>,
    history: bool,
) -> Result<NodeEntry> {
    let mut config = Config::new(
        node_id,
        "data".into(),
        "../genesis.toml".into(),
        "node.key.pem".into(),
        "p2p.key.pem".into(),
    );
    config.http_listen = std::net::SocketAddr::from(([127, 0, 0, 1], ports.http));
    config.p2p_listen = format!("/ip4/127.0.0.1/tcp/{}", ports.p2p);
    config.peers = peers;
    // Loopback: short ticks make elections and commits quick.
    config.raft_tick_ms = 50;
    // A local chain should feel instant: cut blocks often.
    config.block_interval_ms = 200;
    // Every client of a local chain (the demo, the SDK examples, `xinlian bench` with thousands
    // of requests a second from 16 senders) comes from 127.0.0.1: one address, so the rates are
    // set for a load generator on one machine. A department's node keeps the defaults.
    config.http_client_requests_per_second = 50_000;
    config.http_client_request_burst = 100_000;
    config.sender_txs_per_second = 5_000;
    config.sender_tx_burst = 10_000;
    // A genesis dated in the past: the first block too steps forward from it, so the demo's
    // history has blocks on every day.
    config.first_block_from_genesis_time = history;
    if let Some(tls) = tls {
        let (cert_file, key_file) =
            crate::tls::write_node_certificate(tls, node_dir, node_id, crate::tls::VALID_DAYS)?;
        let mut settings = xinlian_node::config::TlsSettings::new(
            cert_file.file_name().context("certificate path")?.into(),
            key_file.file_name().context("key path")?.into(),
        );
        settings.client_ca_file = tls.mutual.then(|| tls.ca_file.clone());
        // A certificate renewed by hand (or by the tests) is picked up within seconds.
        settings.reload_check_secs = 2;
        config.tls = Some(settings);
    }
    let scheme = if tls.is_some() { "https" } else { "http" };
    let config_file = node_dir.join("node.toml");
    std::fs::write(&config_file, toml::to_string_pretty(&config)?)?;
    let absolute = |p: &Path| std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf());
    Ok(NodeEntry {
        id: node_id.to_string(),
        http_url: format!("{scheme}://127.0.0.1:{}", ports.http),
        p2p_address: Some(format!("/ip4/127.0.0.1/tcp/{}", ports.p2p)),
        pid: None,
        removed: false,
        config_file: absolute(&config_file),
        data_dir: absolute(&node_dir.join("data")),
        log_file: absolute(&node_dir.join("node.log")),
    })
}

/// Loads the admin key at `index` of the layout.
pub(crate) fn admin_key(layout: &Layout, index: usize) -> Result<PrivateKey> {
    let path = layout
        .admin_keys
        .get(index)
        .context("the testnet has no such admin key")?;
    Ok(keys::read_key_file(path, None)?)
}
