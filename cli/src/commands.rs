//! What each command does, over the SDK, the node and the testnet crates.

use std::path::Path;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use xinlian_core::Hash;
use xinlian_core::proof::Trust;
use xinlian_core::types::{Call, GovCall};
use xinlian_sdk::proof::VerifiedAnswer;
use xinlian_sdk::{Client, SdkError, keys};

use crate::cli::{
    BlockCommand, Cli, Command, GovCommand, InitArgs, KeyCommand, NodeArg, NodeCommand, TlsArgs,
    TxCommand,
};

const KEY_PASSWORD_ENV: &str = "XINLIAN_KEY_PASSWORD";

pub(crate) fn init_tracing(args: &Cli) {
    let filter =
        tracing_subscriber::EnvFilter::try_new(&args.log).unwrap_or_else(|_| "info".into());
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
}

pub(crate) async fn run(args: Cli) -> Result<()> {
    match args.command {
        Command::Key(command) => key(command),
        Command::Init(init) => init_chain(init),
        Command::Node(NodeCommand::Start { config }) => node_start(&config).await,
        Command::Node(NodeCommand::Identity { config }) => node_identity(&config),
        Command::Node(NodeCommand::Backup { config, out, tls }) => {
            node_backup(&config, &out, &tls).await
        }
        Command::Node(NodeCommand::Restore {
            config,
            from,
            replace,
        }) => node_restore(&config, &from, replace),
        Command::Gov(command) => gov(command).await,
        Command::Trace(command) => crate::trace_cli::run(command).await,
        Command::Seal(command) => crate::licence_cli::seal(command).await,
        Command::License(command) => crate::licence_cli::license(command).await,
        Command::Auth(command) => crate::auth_cli::run(command).await,
        Command::Console(command) => crate::console_cli::run(command).await,
        Command::Bench(args) => crate::bench_cli::run(args).await,
        Command::Tx(command) => tx(command).await,
        Command::Status(node) => print_json(&node.client()?.status().await?),
        Command::Block(BlockCommand::Get { node, height }) => {
            print_json(&block_at(&node.client()?, &height).await?)
        }
        Command::Block(BlockCommand::Verify {
            node,
            height,
            genesis,
        }) => verify_block(&node.client()?, &height, &genesis).await,
        Command::Testnet(command) => crate::testnet_cli::run(command).await,
        Command::Verify {
            genesis,
            node,
            file,
        } => verify_answer(&genesis, node.as_deref(), &file).await,
    }
}

/// `verify`: a saved proven answer checked against `genesis`, and against the voters' changes
/// since as `node` serves them when it is given.
async fn verify_answer(genesis: &Path, node: Option<&str>, file: &Path) -> Result<()> {
    let text = if file == Path::new("-") {
        std::io::read_to_string(std::io::stdin()).context("reading standard input")?
    } else {
        std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?
    };
    let answer: serde_json::Value =
        serde_json::from_str(&text).with_context(|| format!("{} is not JSON", file.display()))?;
    // The voters of the answer's block: the changes made below it (a saved answer may be older
    // than today's voters).
    let height = answer["proof"]["header"]["height"].as_u64();
    let trust = match node {
        Some(node) => trust_from(genesis, &Client::new(node)?, height).await?,
        None => trust(genesis)?,
    };
    let verified =
        xinlian_sdk::proof::verify_answer(&answer, &trust).map_err(|e| unverified(e.into()))?;
    print_json(&serde_json::json!({
        "verified": true,
        "kind": answer["proof"]["query"]["kind"],
        "proven": proven_summary(&verified),
        "answer": verified.answer,
    }))
}

/// What a verifier trusts: the voters of the genesis file at `genesis`.
pub(crate) fn trust(genesis: &Path) -> Result<Trust> {
    Ok(Trust::from_genesis(&xinlian_node::load_genesis(genesis)?))
}

/// The voters of the genesis file at `genesis`, then every change of them `client` serves
/// (below height `below` when given), each checked against the voters before it.
pub(crate) async fn trust_from(
    genesis: &Path,
    client: &Client,
    below: Option<u64>,
) -> Result<Trust> {
    client
        .follow_voter_changes(&trust(genesis)?, below)
        .await
        .map_err(unverified)
}

/// What a verified answer holds as of: the certified block and how many voters signed it.
pub(crate) fn proven_summary<T>(verified: &VerifiedAnswer<T>) -> serde_json::Value {
    serde_json::json!({
        "height": verified.height,
        "block_hash": verified.block_hash,
        "block_time_ms": verified.block_time_ms,
        "signers": verified.signers,
        "voters": verified.voters,
        "entries": verified.entries,
    })
}

/// An answer that does not verify is refused as not acceptable (exit 3), with its reason;
/// other errors stay as they are.
pub(crate) fn unverified(error: SdkError) -> anyhow::Error {
    match error {
        SdkError::Unverified(e) => {
            crate::report::NotAcceptable(format!("the answer does not verify ({}): {e}", e.code()))
                .into()
        }
        other => other.into(),
    }
}

/// The block at `height` (a number or `latest`).
async fn block_at(client: &Client, height: &str) -> Result<xinlian_core::api::BlockResponse> {
    Ok(match height {
        "latest" => client.latest_block().await?,
        h => {
            client
                .block(
                    h.parse()
                        .with_context(|| format!("height {h:?} is not a number or `latest`"))?,
                )
                .await?
        }
    })
}

/// `block verify`: the block's certificate checked against `genesis`'s voters, with the hash
/// computed here from the header the node sent.
async fn verify_block(client: &Client, height: &str, genesis_file: &Path) -> Result<()> {
    let genesis = xinlian_node::load_genesis(genesis_file)?;
    let block = block_at(client, height).await?;
    let height = block.header.height;
    let block_hash = block.header.hash(genesis.hash_suite());
    let voters = trust_from(genesis_file, client, Some(height)).await?.voters;
    let Some(certificate) = block.certificate else {
        return Err(crate::report::NotAcceptable(format!(
            "block {height} has no commit certificate at this node yet (a quorum of votes forms a moment after the block commits; try again)"
        ))
        .into());
    };
    certificate
        .verify(&genesis.chain_id, height, &block_hash, &voters)
        .map_err(|e| {
            crate::report::NotAcceptable(format!("block {height} is not certified: {e}"))
        })?;
    print_json(&serde_json::json!({
        "chain_id": genesis.chain_id,
        "height": height,
        "block_hash": block_hash,
        "certified": true,
        "signed_by": certificate.votes.iter().map(|v| &v.node_id).collect::<Vec<_>>(),
        "voters": voters.len(),
        "quorum": voters.quorum(),
    }))
}

pub(crate) fn print_json<T: serde::Serialize>(value: &T) -> Result<()> {
    outln!("{}", serde_json::to_string_pretty(value)?)?;
    Ok(())
}

fn password_from_env() -> Option<String> {
    std::env::var(KEY_PASSWORD_ENV).ok()
}

/// Reads a private key file, with errors that say what is wrong with the file and what to do.
pub(crate) fn read_key(path: &Path) -> Result<xinlian_core::crypto::PrivateKey> {
    let shown = path.display();
    if path.is_dir() {
        bail!(
            "{shown} is a directory; give the key file (PKCS#8 PEM, as `xinlian key gen` writes)"
        );
    }
    if !path.exists() {
        bail!(
            "key file {shown} does not exist; check the path (a testnet's keys are in its keys/ directory)"
        );
    }
    let text = std::fs::read(path).with_context(|| format!("reading key file {shown}"))?;
    let text = String::from_utf8_lossy(&text);
    if text.contains("PUBLIC KEY-----") && !text.contains("PRIVATE KEY-----") {
        bail!("{shown} holds a public key; signing needs the private key file");
    }
    let password = password_from_env();
    keys::read_key_file(path, password.as_deref()).map_err(|e| {
        let hint = if text.contains("ENCRYPTED PRIVATE KEY") {
            match password {
                Some(_) => format!("; is {KEY_PASSWORD_ENV} the password it was encrypted with?"),
                None => format!("; it is encrypted: set its password in {KEY_PASSWORD_ENV}"),
            }
        } else {
            "; a key file is PKCS#8 PEM (`-----BEGIN PRIVATE KEY-----`), as `xinlian key gen` writes".into()
        };
        anyhow::anyhow!("{shown} is not a usable private key ({e}){hint}")
    })
}

fn key(command: KeyCommand) -> Result<()> {
    match command {
        KeyCommand::Gen {
            scheme,
            out,
            encrypt,
        } => {
            let password = match (encrypt, password_from_env()) {
                (false, _) => None,
                (true, Some(p)) if !p.is_empty() => Some(p),
                (true, _) => bail!("--encrypt needs the password in {KEY_PASSWORD_ENV}"),
            };
            if out.exists() {
                bail!(
                    "{} already exists; key gen never overwrites a key: choose another --out, or move the old file away first",
                    out.display()
                );
            }
            let key = keys::generate(scheme)?;
            keys::write_key_file(&out, &key, password.as_deref())
                .with_context(|| format!("writing {}", out.display()))?;
            outln!("{}", key.public_key())?;
            eprintln!(
                "wrote {} ({scheme}{})",
                out.display(),
                if encrypt { ", encrypted" } else { "" }
            );
            Ok(())
        }
        KeyCommand::Show { file } => {
            let key = read_key(&file)?;
            print_json(
                &serde_json::json!({ "scheme": key.scheme(), "public_key": key.public_key() }),
            )
        }
    }
}

fn init_chain(args: InitArgs) -> Result<()> {
    let layout = xinlian_testnet::init(
        &args.dir,
        args.nodes,
        args.suite,
        args.http_port,
        xinlian_testnet::TlsMode::Off,
    )?;
    outln!(
        "chain {} written to {}",
        layout.chain_id,
        args.dir.display()
    )?;
    outln!("  genesis: {}", layout.genesis_file.display())?;
    for node in &layout.nodes {
        outln!(
            "  {}: xinlian node start --config {}",
            node.id,
            node.config_file.display()
        )?;
    }
    for key in &layout.admin_keys {
        outln!("  admin key: {}", key.display())?;
    }
    Ok(())
}

async fn node_start(config: &Path) -> Result<()> {
    let config = xinlian_node::Config::load(config)?;
    xinlian_node::run(config, shutdown_signal()).await?;
    Ok(())
}

fn node_identity(config: &Path) -> Result<()> {
    let config = xinlian_node::Config::load(config)?;
    let node_key = xinlian_node::load_node_key(&config.node_key_file)?;
    let p2p_key = read_key(&config.p2p_key_file)?;
    let peer_id = xinlian_node::network::identity_of(&p2p_key)?
        .public()
        .to_peer_id();
    print_json(&serde_json::json!({
        "node_id": config.node_id,
        "public_key": node_key.public_key(),
        "p2p_peer_id": peer_id.to_string(),
    }))
}

async fn node_backup(config: &Path, out: &Path, tls: &TlsArgs) -> Result<()> {
    let config = xinlian_node::Config::load(config)?;
    let out = std::path::absolute(out)?;
    // The node listens on every address or on one; the admin route is asked on this machine.
    let mut address = config.http_listen;
    if address.ip().is_unspecified() {
        address.set_ip(std::net::Ipv4Addr::LOCALHOST.into());
    }
    let scheme = if config.tls.is_some() {
        "https"
    } else {
        "http"
    };
    let answer = xinlian_testnet::admin_request(
        &format!("{scheme}://{address}"),
        &tls.options(),
        &config.data_dir,
        "backup",
        &serde_json::json!({ "dir": out }),
    )
    .await
    .context("the node did not take the backup")?;
    print_json(&answer)
}

fn node_restore(config: &Path, from: &Path, replace: bool) -> Result<()> {
    let config = xinlian_node::Config::load(config)?;
    let genesis = xinlian_node::load_genesis(&config.genesis_file)?;
    let info = xinlian_node::backup::restore(&config, genesis.hash(), from, replace)?;
    print_json(&info)?;
    eprintln!(
        "restored height {} into {}; start the node and its peers bring it up to date",
        info.height,
        info.dir.display()
    );
    Ok(())
}

async fn gov(command: GovCommand) -> Result<()> {
    match command {
        GovCommand::Propose {
            node,
            key,
            memo,
            wait,
            change,
        } => {
            let call = Call::Governance(GovCall::Propose {
                change: change.into_change(),
                memo,
            });
            gov_send(&node, &key, call, !wait.no_wait).await
        }
        GovCommand::Approve {
            node,
            key,
            wait,
            id,
        } => {
            let proposal_id = Hash::from_hex(&id).context("proposal id")?;
            let call = Call::Governance(GovCall::Approve { proposal_id });
            gov_send(&node, &key, call, !wait.no_wait).await
        }
        GovCommand::List {
            node,
            status,
            limit,
        } => print_json(&node.client()?.proposals(status, limit).await?),
        GovCommand::Show { node, id } => {
            let id = Hash::from_hex(&id).context("proposal id")?;
            print_json(&node.client()?.proposal(&id).await?)
        }
        GovCommand::Nodes(node) => print_json(&node.client()?.gov_nodes().await?),
    }
}

/// Signs and submits a governance call; prints its hash and, with `wait`, the proposal after
/// the call committed (an approval prints the proposal it approved).
async fn gov_send(node: &NodeArg, key: &Path, call: Call, wait: bool) -> Result<()> {
    let approved = match &call {
        Call::Governance(GovCall::Approve { proposal_id }) => Some(*proposal_id),
        _ => None,
    };
    let key = read_key(key)?;
    let client = node.client()?;
    let tx = client.sign_call(&key, call).await?;
    let hash = client.submit(&tx).await?;
    outln!("{hash}")?;
    if !wait {
        return Ok(());
    }
    let status = client
        .wait_for_commit(&hash, Duration::from_secs(30))
        .await?;
    let receipt = status.receipt.context("committed without a receipt")?;
    if !receipt.is_success() {
        return Err(crate::report::NotAcceptable(format!(
            "proposal transaction {hash}: {}",
            receipt.status
        ))
        .into());
    }
    print_json(&client.proposal(&approved.unwrap_or(hash)).await?)
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(term) => term,
                Err(_) => return std::future::pending().await,
            };
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}

async fn tx(command: TxCommand) -> Result<()> {
    match command {
        TxCommand::Send {
            node,
            key,
            call,
            wait,
            timeout_s,
        } => {
            let call: Call = serde_json::from_str(&call)
                .context("--call is not a valid call (see README: Calls)")?;
            let key = read_key(&key)?;
            let client = node.client()?;
            let tx = client.sign_call(&key, call).await?;
            let hash = client.submit(&tx).await?;
            outln!("{hash}")?;
            if wait {
                let status = client
                    .wait_for_commit(&hash, Duration::from_secs(timeout_s))
                    .await?;
                print_json(&status)?;
                if let Some(receipt) = status.receipt.filter(|r| !r.is_success()) {
                    return Err(crate::report::NotAcceptable(format!(
                        "transaction {hash}: {}",
                        receipt.status
                    ))
                    .into());
                }
            }
            Ok(())
        }
        TxCommand::Get { node, hash } => {
            let hash = Hash::from_hex(&hash)?;
            print_json(&node.client()?.tx(&hash).await?)
        }
    }
}
