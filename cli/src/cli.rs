//! The command line, as clap types.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use xinlian_core::crypto::SignatureScheme;
use xinlian_core::genesis::Suite;

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
pub(crate) enum Command {
    /// Generate and inspect key files (PKCS#8 PEM, readable by OpenSSL 3).
    #[command(subcommand)]
    Key(KeyCommand),
    /// Write genesis, node configs and keys for a new chain.
    ///
    /// Example: xinlian init --dir ./mychain --nodes 1 --suite gm
    Init(InitArgs),
    /// Run a node.
    #[command(subcommand)]
    Node(NodeCommand),
    /// Build, sign and submit transactions.
    #[command(subcommand)]
    Tx(TxCommand),
    /// Show a node's status: chain, height, leader, suite.
    ///
    /// Example: xinlian status --node http://127.0.0.1:8545
    Status(NodeArg),
    /// Read blocks.
    #[command(subcommand)]
    Block(BlockCommand),
    /// Run a local chain of node processes on this machine.
    #[command(subcommand)]
    Testnet(TestnetCommand),
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
}

#[derive(Args, Debug)]
pub(crate) struct NodeArg {
    /// The node's HTTP URL.
    #[arg(long, env = "XINLIAN_NODE", default_value = "http://127.0.0.1:8545")]
    pub(crate) node: String,
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
        /// Return once the nodes run, leaving them running.
        #[arg(long)]
        detach: bool,
        /// First HTTP port of a new testnet.
        #[arg(long, default_value_t = 8545)]
        http_port: u16,
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

fn parse_suite(text: &str) -> Result<Suite, String> {
    match text {
        "gm" => Ok(Suite::Gm),
        "intl" => Ok(Suite::Intl),
        other => Err(format!("unknown suite {other:?}; expected gm or intl")),
    }
}
