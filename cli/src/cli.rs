//! The command line, as clap types.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use xinlian_core::api::ProposalStatus;
use xinlian_core::crypto::{PublicKey, SignatureScheme};
use xinlian_core::genesis::Suite;
use xinlian_core::ids::Uscc;
use xinlian_core::trace::CertificateKind;
use xinlian_core::types::{GovChange, OrgRole};

/// Xinlian (信链): a permissioned consortium chain with national (SM2/SM3) and international
/// (Ed25519/BLAKE3) cryptography.
#[derive(Parser, Debug)]
#[command(name = "xinlian", version, propagate_version = true)]
pub(crate) struct Cli {
    /// Log filter (tracing's env-filter syntax), e.g. `info` or `xinlian=debug`.
    #[arg(long, global = true, env = "XINLIAN_LOG", default_value = "info")]
    pub(crate) log: String,
    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Subcommand, Debug)]
#[allow(clippy::large_enum_variant)] // parsed once per run
pub(crate) enum Command {
    /// Generate and inspect key files (PKCS#8 PEM, readable by OpenSSL 3).
    ///
    /// Example: xinlian key gen --scheme sm2 --out alice.pem && xinlian key show alice.pem
    #[command(subcommand)]
    Key(KeyCommand),
    /// Write genesis, node configs and keys for a new chain.
    ///
    /// Example: xinlian init --dir ./mychain --nodes 1 --suite gm
    Init(InitArgs),
    /// Run a node, print its identity, back it up and restore it.
    ///
    /// Example: xinlian node start --config ./mychain/node0/node.toml
    #[command(subcommand)]
    Node(NodeCommand),
    /// Build, sign and submit transactions, and read them back.
    ///
    /// Example: xinlian tx get <transaction hash>
    #[command(subcommand)]
    Tx(TxCommand),
    /// Show a node's status: chain, height, leader, suite.
    ///
    /// Example: xinlian status --node http://127.0.0.1:8545
    Status(NodeArg),
    /// Read blocks.
    ///
    /// Example: xinlian block get latest
    #[command(subcommand)]
    Block(BlockCommand),
    /// Run a local chain of node processes on this machine.
    ///
    /// Example: xinlian testnet up --nodes 4 --demo --detach; xinlian testnet status
    #[command(subcommand)]
    Testnet(TestnetCommand),
    /// Governance: propose and approve changes to the consortium, list proposals and nodes.
    ///
    /// Example: xinlian gov list --status open
    #[command(subcommand)]
    Gov(GovCommand),
    /// Cold-chain traceability: enterprises, coding, movements, orders, scans and recalls.
    ///
    /// Example: xinlian trace show 1201160000000001-201O
    #[command(subcommand)]
    Trace(crate::trace_cli::TraceCommand),
    /// Electronic seals of issuing organisations.
    ///
    /// Example: xinlian seal revoke --key admin.pem --id ZZSJJ-01 --reason 私钥泄露
    #[command(subcommand)]
    Seal(crate::licence_cli::SealCommand),
    /// Electronic licences: types, issue, show, verify, state changes.
    ///
    /// Example: xinlian license verify <licence id> --document licence.pdf
    #[command(subcommand)]
    License(crate::licence_cli::LicenseCommand),
    /// Authorisation on chain: grant, revoke, use, list, report.
    ///
    /// Example: xinlian auth list --key holder.pem
    #[command(subcommand)]
    Auth(crate::auth_cli::AuthCommand),
    /// The regulator's console: log in with a member's key, print a page's figures.
    ///
    /// Example: xinlian console show overview --key org0-admin-sm2.pem
    #[command(subcommand)]
    Console(crate::console_cli::ConsoleCommand),
    /// Check a proven answer offline (one a node served with ?proof=true, saved to a file, or
    /// `-` for standard input) against a genesis you hold: the commit certificate's quorum of
    /// the genesis's voters, the header, every state proof, and the answer derived again from
    /// the proven entries. Prints the verified answer and the block it holds as of; exit 3 and
    /// the reason when any of it does not hold.
    ///
    /// Example: xinlian license show <identifier> --proof > record.json;
    ///   xinlian verify --genesis genesis.toml record.json
    Verify {
        /// The chain's genesis (TOML), the trust anchor: its nodes are the first voters.
        #[arg(long)]
        genesis: PathBuf,
        /// Follow governance's changes of the voters since genesis as this node serves them,
        /// each checked against the voters before it (the node is not trusted); without it,
        /// the genesis voters are trusted.
        #[arg(long, value_name = "URL")]
        node: Option<String>,
        /// The saved answer (JSON with its `proof` field), or `-`.
        file: PathBuf,
    },
    /// Load generator: send real signed transactions and report committed rate and latency.
    ///
    /// Example: xinlian bench --testnet .xinlian-testnet --txs 2000 --mix trace,license,auth
    Bench(crate::bench_cli::BenchArgs),
}

#[derive(Subcommand, Debug)]
#[allow(clippy::large_enum_variant)] // parsed once per run
pub(crate) enum GovCommand {
    /// Propose a change, signed by an admin of an admin organisation; prints the proposal id
    /// (the transaction hash), waits for the commit and prints the proposal. It takes effect once
    /// a majority of admin organisations approve (the proposer's counts).
    ///
    /// Example: xinlian gov propose --key org0-admin-sm2.pem --memo "海关节点" add-node
    ///   --org 91110000100000000X --id node4 --public-key sm2:04... --p2p-peer-id 12D3Koo...
    Propose {
        #[command(flatten)]
        node: NodeArg,
        /// The proposer's key file.
        #[arg(long)]
        key: PathBuf,
        /// Why (kept on chain).
        #[arg(long, default_value = "")]
        memo: String,
        #[command(flatten)]
        wait: GovWait,
        #[command(subcommand)]
        change: ChangeArg,
    },
    /// Approve a proposal for your organisation; prints the transaction hash, waits for the
    /// commit and prints the proposal.
    ///
    /// Example: xinlian gov approve --key org1-admin-sm2.pem <proposal id>
    Approve {
        #[command(flatten)]
        node: NodeArg,
        /// The approver's key file.
        #[arg(long)]
        key: PathBuf,
        #[command(flatten)]
        wait: GovWait,
        /// The proposal id.
        id: String,
    },
    /// List proposals, newest first, as JSON.
    ///
    /// Example: xinlian gov list --status open
    List {
        #[command(flatten)]
        node: NodeArg,
        /// Only `open`, `executed` or `expired` ones.
        #[arg(long, value_parser = parse_proposal_status)]
        status: Option<ProposalStatus>,
        /// Most to list.
        #[arg(long, default_value_t = 50)]
        limit: usize,
    },
    /// Show one proposal as JSON.
    ///
    /// Example: xinlian gov show <proposal id>
    Show {
        #[command(flatten)]
        node: NodeArg,
        /// The proposal id.
        id: String,
    },
    /// List the chain's nodes (the registry) and Raft's current members, as JSON.
    ///
    /// Example: xinlian gov nodes
    Nodes(NodeArg),
}

/// Governance commands wait for their commit by default: a proposal exists, and an approval
/// counts, only once committed, and the next admin's `gov approve` needs the proposal to exist.
#[derive(Args, Debug)]
pub(crate) struct GovWait {
    /// Return once submitted, without waiting for the commit.
    #[arg(long)]
    pub(crate) no_wait: bool,
    /// Accepted for older scripts; waiting is the default.
    #[arg(long, hide = true, conflicts_with = "no_wait")]
    pub(crate) wait: bool,
}

/// What a proposal changes.
#[derive(Subcommand, Debug)]
#[allow(clippy::large_enum_variant)] // parsed once per run
pub(crate) enum ChangeArg {
    /// Add a node run by a member organisation (get its keys with `xinlian node identity`).
    ///
    /// Example: xinlian gov propose --key org0-admin-sm2.pem add-node --org 91110000100000000X
    ///   --id node4 --public-key sm2:04... --p2p-peer-id 12D3Koo...
    AddNode {
        /// The organisation that runs it (USCC).
        #[arg(long)]
        org: Uscc,
        /// Its node id (the `node_id` of its config).
        #[arg(long)]
        id: String,
        /// Its block-signing public key.
        #[arg(long)]
        public_key: PublicKey,
        /// Its libp2p peer id.
        #[arg(long)]
        p2p_peer_id: String,
        /// A read-only replica that does not vote (an observer such as a regulator).
        #[arg(long)]
        learner: bool,
    },
    /// Remove a node; the others cut it off once Raft applies the removal.
    ///
    /// Example: xinlian gov propose --key org0-admin-sm2.pem --memo 设备退役 remove-node --id node3
    RemoveNode {
        /// Its node id.
        #[arg(long)]
        id: String,
    },
    /// Add an organisation with its first admin keys.
    ///
    /// Example: xinlian gov propose --key org0-admin-sm2.pem add-org --uscc 91110000100000000X
    ///   --name 某某冷链物流有限公司 --roles enterprise --admin sm2:04...
    AddOrg {
        /// Its USCC.
        #[arg(long)]
        uscc: Uscc,
        /// Its name.
        #[arg(long)]
        name: String,
        /// Its roles, comma separated: admin, regulator, issuer, enterprise-registrar, enterprise,
        /// audit.
        #[arg(long, value_delimiter = ',', value_parser = parse_org_role)]
        roles: Vec<OrgRole>,
        /// Its first admins' public keys (repeat, or comma separated).
        #[arg(long = "admin", value_delimiter = ',', required = true)]
        admins: Vec<PublicKey>,
    },
    /// Set which signature schemes senders may use.
    ///
    /// Example: xinlian gov propose --key org0-admin-sm2.pem set-schemes --schemes sm2
    SetSchemes {
        /// Comma separated: sm2, ed25519.
        #[arg(long, value_delimiter = ',', value_parser = parse_scheme, required = true)]
        schemes: Vec<SignatureScheme>,
    },
    /// Set which certificates an imported lot needs before it is shipped, split or sold (the
    /// four forbiddens, 四个不得); `--none` requires none.
    ///
    /// Example: xinlian gov propose --key org0-admin-sm2.pem set-certificates
    ///   --kinds inspection_quarantine,nucleic_acid_test,disinfection
    SetCertificates {
        /// Comma separated: inspection_quarantine, nucleic_acid_test, disinfection,
        /// customs_declaration, other.
        #[arg(long, value_delimiter = ',', value_parser = parse_certificate_kind, required_unless_present = "none")]
        kinds: Vec<CertificateKind>,
        /// Require no certificate at all.
        #[arg(long, conflicts_with = "kinds")]
        none: bool,
    },
}

#[derive(Subcommand, Debug)]
pub(crate) enum KeyCommand {
    /// Generate a key and write it as PKCS#8 PEM (mode 0600; never overwrites).
    ///
    /// With --encrypt the file is protected (PBES2, PBKDF2-SHA256, AES-256-CBC) by the password
    /// in XINLIAN_KEY_PASSWORD.
    ///
    /// Example: xinlian key gen --scheme sm2 --out alice.pem
    Gen {
        /// Signature scheme.
        #[arg(long, value_parser = parse_scheme, default_value = "sm2")]
        scheme: SignatureScheme,
        /// Where to write the key.
        #[arg(long)]
        out: PathBuf,
        /// Encrypt with the password in XINLIAN_KEY_PASSWORD.
        #[arg(long)]
        encrypt: bool,
    },
    /// Print a key file's scheme and public key.
    ///
    /// Example: xinlian key show alice.pem
    Show {
        /// The key file (an encrypted one reads its password from XINLIAN_KEY_PASSWORD).
        file: PathBuf,
    },
}

#[derive(Args, Debug)]
pub(crate) struct InitArgs {
    /// Directory to create the chain in.
    #[arg(long)]
    pub(crate) dir: PathBuf,
    /// Number of nodes (one organisation each).
    #[arg(long, default_value_t = 1)]
    pub(crate) nodes: usize,
    /// Cryptographic suite: gm (SM3 hash, SM2 keys) or intl (BLAKE3 hash, Ed25519 keys).
    #[arg(long, value_parser = parse_suite, default_value = "gm")]
    pub(crate) suite: Suite,
    /// First HTTP port; node i listens on port + i.
    #[arg(long, default_value_t = 8545)]
    pub(crate) http_port: u16,
}

#[derive(Subcommand, Debug)]
pub(crate) enum NodeCommand {
    /// Start a node in the foreground; stops on Ctrl-C or SIGTERM.
    ///
    /// Example: xinlian node start --config ./mychain/node0/node.toml
    Start {
        /// The node's config file (TOML).
        #[arg(long)]
        config: PathBuf,
    },
    /// Print what governance needs to add this node: its id, block-signing public key and
    /// libp2p peer id, as JSON (no secrets).
    ///
    /// Example: xinlian node identity --config ./node4/node.toml
    Identity {
        /// The node's config file (TOML).
        #[arg(long)]
        config: PathBuf,
    },
    /// Take a consistent backup (a RocksDB checkpoint) of a running node's store, through its
    /// admin route (reads `admin.token` from the node's data directory).
    ///
    /// Example: xinlian node backup --config ./node0/node.toml --out /backups/node0-2026-11-30
    Backup {
        /// The node's config file (TOML).
        #[arg(long)]
        config: PathBuf,
        /// A directory that does not exist yet (on the data directory's file system, the backup
        /// is hard links and takes no space until the store moves on).
        #[arg(long)]
        out: PathBuf,
        /// For a node with `[tls]`: the authority to trust and, with mutual TLS, the client
        /// certificate.
        #[command(flatten)]
        tls: TlsArgs,
    },
    /// Restore a stopped node's store from a backup: blocks and state come back, Raft's vote,
    /// term and log do not, so the node rejoins as a replica its peers bring up to date.
    ///
    /// Example: xinlian node restore --config ./node0/node.toml --from /backups/node0-2026-11-30 --replace
    Restore {
        /// The node's config file (TOML).
        #[arg(long)]
        config: PathBuf,
        /// The backup directory.
        #[arg(long)]
        from: PathBuf,
        /// Move an existing data directory aside (to `DATA_DIR.before-restore-<ms>`) first.
        #[arg(long)]
        replace: bool,
    },
}

/// A node and the key that signs what is sent to it.
#[derive(Args, Clone, Debug)]
pub(crate) struct Signer {
    #[command(flatten)]
    pub(crate) node: NodeArg,
    /// The sender's key file.
    #[arg(long)]
    pub(crate) key: PathBuf,
}

#[derive(Args, Clone, Debug)]
pub(crate) struct NodeArg {
    /// The node's URL: http://, or https:// for a node with TLS.
    #[arg(long, env = "XINLIAN_NODE", default_value = "http://127.0.0.1:8545")]
    pub(crate) node: String,
    #[command(flatten)]
    pub(crate) tls: TlsArgs,
}

/// How the CLI trusts an https:// node and proves itself to one with mutual TLS.
#[derive(Args, Clone, Debug, Default)]
pub(crate) struct TlsArgs {
    /// PEM certificates of the authority that signed the nodes' certificates; only these are
    /// trusted (without it, the system's trust store is).
    #[arg(long, env = "XINLIAN_CA_FILE", value_name = "PEM")]
    pub(crate) ca_file: Option<PathBuf>,
    /// The client certificate (PEM) for nodes that require one (mutual TLS).
    #[arg(
        long,
        env = "XINLIAN_CLIENT_CERT",
        value_name = "PEM",
        requires = "client_key"
    )]
    pub(crate) client_cert: Option<PathBuf>,
    /// The client certificate's private key (PEM, not encrypted).
    #[arg(
        long,
        env = "XINLIAN_CLIENT_KEY",
        value_name = "PEM",
        requires = "client_cert"
    )]
    pub(crate) client_key: Option<PathBuf>,
}

impl TlsArgs {
    /// The SDK's form of these options.
    pub(crate) fn options(&self) -> xinlian_sdk::TlsOptions {
        xinlian_sdk::TlsOptions {
            trust_root: self.ca_file.clone(),
            client_cert: self.client_cert.clone().zip(self.client_key.clone()).map(
                |(cert_file, key_file)| xinlian_sdk::ClientCert {
                    cert_file,
                    key_file,
                },
            ),
        }
    }
}

impl NodeArg {
    /// A client of this node with these TLS options.
    pub(crate) fn client(&self) -> xinlian_sdk::Result<xinlian_sdk::Client> {
        xinlian_sdk::Client::with_tls(&self.node, &self.tls.options())
    }
}

#[derive(Subcommand, Debug)]
pub(crate) enum TxCommand {
    /// Sign a call with a key and submit it; prints the transaction hash, and with --wait the
    /// committed status and receipt as JSON.
    ///
    /// Example: xinlian tx send --key alice.pem --wait --call
    ///   '{"system":{"record_evidence":{"kind":"contract","digest":"<64 hex>","memo":"lease"}}}'
    Send {
        #[command(flatten)]
        node: NodeArg,
        /// The sender's key file.
        #[arg(long)]
        key: PathBuf,
        /// The call as JSON (see the README for the forms).
        #[arg(long)]
        call: String,
        /// Wait until committed and print the receipt.
        #[arg(long)]
        wait: bool,
        /// How long --wait waits, in seconds.
        #[arg(long, default_value_t = 30)]
        timeout_s: u64,
    },
    /// Print a transaction's status and receipt as JSON.
    ///
    /// Example: xinlian tx get <hash>
    Get {
        #[command(flatten)]
        node: NodeArg,
        /// Transaction hash (64 hex digits).
        hash: String,
    },
}

#[derive(Subcommand, Debug)]
pub(crate) enum BlockCommand {
    /// Print a block as JSON: a height, or `latest`.
    ///
    /// Example: xinlian block get 1
    Get {
        #[command(flatten)]
        node: NodeArg,
        /// Height, or `latest`.
        height: String,
    },
    /// Check a block's commit certificate against the voters of a genesis you hold: the node
    /// is not trusted, the block's hash is computed here. Prints what was certified; exit 3 when
    /// the certificate does not certify the block, or none formed yet.
    ///
    /// Example: xinlian block verify 12 --genesis ./mychain/genesis.toml
    Verify {
        #[command(flatten)]
        node: NodeArg,
        /// Height, or `latest` (whose certificate may not have formed yet).
        height: String,
        /// The chain's genesis (TOML), the trust anchor: its nodes are the first voters, and
        /// governance's changes of them are followed from the node, each checked against the
        /// voters before it (docs/formats.md).
        #[arg(long)]
        genesis: PathBuf,
    },
}

#[derive(Subcommand, Debug)]
pub(crate) enum TestnetCommand {
    /// Create (if needed) and start a local chain; with --demo, load demo data; without
    /// --detach, stay in the foreground and stop the nodes on Ctrl-C.
    ///
    /// Example: xinlian testnet up --nodes 1 --demo
    Up {
        /// Number of nodes.
        #[arg(long, default_value_t = 1)]
        nodes: usize,
        /// The testnet's directory.
        #[arg(long, default_value = ".xinlian-testnet")]
        dir: PathBuf,
        /// Cryptographic suite of a new testnet.
        #[arg(long, value_parser = parse_suite, default_value = "gm")]
        suite: Suite,
        /// Load demo data once the nodes answer.
        #[arg(long)]
        demo: bool,
        /// Date a new testnet's genesis this many days back: its blocks start in the past and
        /// catch up with the clock, and --demo plays a day of business on each day they pass,
        /// so the console's charts have weeks of history (about 10 s a day on two cores).
        #[arg(long, default_value_t = 0, value_parser = clap::value_parser!(u32).range(0..=60))]
        history_days: u32,
        /// Return once the nodes run, leaving them running.
        #[arg(long)]
        detach: bool,
        /// First HTTP port of a new testnet; node i listens on port + i.
        #[arg(long, env = "XINLIAN_HTTP_PORT", default_value_t = 8545)]
        http_port: u16,
        /// A new testnet serves HTTPS: a local CA (DIR/tls/ca.pem) signs each node's
        /// certificate; give clients the CA with --ca-file.
        #[arg(long)]
        tls: bool,
        /// As --tls, and every node also requires a client certificate of that CA (DIR/tls/
        /// client.pem and client.key.pem are one).
        #[arg(long)]
        mtls: bool,
    },
    /// Show each node's status.
    ///
    /// Example: xinlian testnet status
    Status {
        /// The testnet's directory.
        #[arg(long, default_value = ".xinlian-testnet")]
        dir: PathBuf,
    },
    /// Kill one node with SIGKILL (no clean shutdown; data is kept).
    ///
    /// Example: xinlian testnet kill --node 2
    Kill(TestnetNodeArgs),
    /// Start one node again (after kill), keeping its data; it catches up from its peers.
    ///
    /// Example: xinlian testnet restart --node 2
    Restart(TestnetNodeArgs),
    /// Cut one node off from its peers through its fault switch (needs its admin.token).
    ///
    /// Example: xinlian testnet isolate --node 1
    Isolate(TestnetNodeArgs),
    /// Reconnect an isolated node.
    ///
    /// Example: xinlian testnet heal --node 1
    Heal(TestnetNodeArgs),
    /// Add a node through governance: write its keys and config, pass the proposal with the
    /// testnet's admin keys, start it; it syncs and joins Raft.
    ///
    /// Example: xinlian testnet add-node --learner
    AddNode {
        /// The testnet's directory.
        #[arg(long, default_value = ".xinlian-testnet")]
        dir: PathBuf,
        /// Add it as a learner (replicates, does not vote).
        #[arg(long)]
        learner: bool,
    },
    /// Remove a node through governance; its process keeps running, cut off from the others.
    ///
    /// Example: xinlian testnet remove-node --node 3
    RemoveNode(TestnetNodeArgs),
    /// Stop the testnet's nodes (data is kept).
    ///
    /// Example: xinlian testnet down
    Down {
        /// The testnet's directory.
        #[arg(long, default_value = ".xinlian-testnet")]
        dir: PathBuf,
    },
}

#[derive(Args, Debug)]
pub(crate) struct TestnetNodeArgs {
    /// The node's index (0 for node0).
    #[arg(long)]
    pub(crate) node: usize,
    /// The testnet's directory.
    #[arg(long, default_value = ".xinlian-testnet")]
    pub(crate) dir: PathBuf,
}

fn parse_scheme(text: &str) -> Result<SignatureScheme, String> {
    text.parse().map_err(|e: xinlian_core::Error| e.to_string())
}

impl ChangeArg {
    pub(crate) fn into_change(self) -> GovChange {
        match self {
            ChangeArg::AddNode {
                org,
                id,
                public_key,
                p2p_peer_id,
                learner,
            } => GovChange::AddNode {
                org,
                id,
                public_key,
                p2p_peer_id,
                learner,
            },
            ChangeArg::RemoveNode { id } => GovChange::RemoveNode { id },
            ChangeArg::AddOrg {
                uscc,
                name,
                roles,
                admins,
            } => GovChange::AddOrganisation {
                uscc,
                name,
                roles,
                admins,
            },
            ChangeArg::SetSchemes { schemes } => GovChange::SetSignatureSchemes { schemes },
            // With `--none`, `kinds` is empty.
            ChangeArg::SetCertificates { kinds, none: _ } => {
                GovChange::SetRequiredCertificates { kinds }
            }
        }
    }
}

fn parse_proposal_status(text: &str) -> Result<ProposalStatus, String> {
    serde_json::from_value(serde_json::Value::String(text.into()))
        .map_err(|_| format!("unknown status {text:?}; expected open, executed or expired"))
}

fn parse_org_role(text: &str) -> Result<OrgRole, String> {
    serde_json::from_value(serde_json::Value::String(text.into())).map_err(|_| {
        format!("unknown role {text:?}; expected admin, regulator, issuer, enterprise-registrar, enterprise or audit")
    })
}

fn parse_certificate_kind(text: &str) -> Result<CertificateKind, String> {
    serde_json::from_value(serde_json::Value::String(text.into())).map_err(|_| {
        format!("unknown certificate kind {text:?}; expected inspection_quarantine, nucleic_acid_test, disinfection, customs_declaration or other")
    })
}

fn parse_suite(text: &str) -> Result<Suite, String> {
    match text {
        "gm" => Ok(Suite::Gm),
        "intl" => Ok(Suite::Intl),
        other => Err(format!("unknown suite {other:?}; expected gm or intl")),
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    /// Clap's own consistency checks (unique names, valid defaults) over every subcommand.
    #[test]
    fn the_command_line_is_consistent() {
        super::Cli::command().debug_assert();
    }

    /// The README promises an example in every command's `--help`, groups included.
    #[test]
    fn every_command_has_an_example_in_its_help() {
        fn walk(command: &clap::Command, path: &str, missing: &mut Vec<String>) {
            for sub in command.get_subcommands() {
                let path = format!("{path} {}", sub.get_name());
                let help = sub
                    .get_long_about()
                    .or(sub.get_about())
                    .map(|t| t.to_string())
                    .unwrap_or_default()
                    + &sub
                        .get_after_long_help()
                        .map(|t| t.to_string())
                        .unwrap_or_default();
                if !help.contains("Example") {
                    missing.push(path.clone());
                }
                walk(sub, &path, missing);
            }
        }
        let mut missing = Vec::new();
        walk(&super::Cli::command(), "xinlian", &mut missing);
        assert!(missing.is_empty(), "no example in --help of: {missing:#?}");
    }
}
