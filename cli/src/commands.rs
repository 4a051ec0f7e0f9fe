//! What each command does, over the SDK, the node and the testnet crates.

use std::path::Path;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use xinlian_core::Hash;
use xinlian_core::types::{Call, GovCall};
use xinlian_sdk::{Client, keys};

use crate::cli::{
    BlockCommand, Cli, Command, GovCommand, InitArgs, KeyCommand, NodeCommand, TestnetCommand,
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
        Command::Node(NodeCommand::Backup { config, out }) => node_backup(&config, &out).await,
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
        Command::Bench(args) => crate::bench_cli::run(args).await,
        Command::Tx(command) => tx(command).await,
        Command::Status(node) => print_json(&Client::new(&node.node)?.status().await?),
        Command::Block(BlockCommand::Get { node, height }) => {
            let client = Client::new(&node.node)?;
            let block =
                match height.as_str() {
                    "latest" => client.latest_block().await?,
                    h => {
                        client
                            .block(h.parse().with_context(|| {
                                format!("height {h:?} is not a number or `latest`")
                            })?)
                            .await?
                    }
                };
            print_json(&block)
        }
        Command::Testnet(command) => testnet(command).await,
    }
}

pub(crate) fn print_json<T: serde::Serialize>(value: &T) -> Result<()> {
    println!("{}", serde_json::to_string_pretty(value)?);
    Ok(())
}

fn password_from_env() -> Option<String> {
    std::env::var(KEY_PASSWORD_ENV).ok()
}

pub(crate) fn read_key(path: &Path) -> Result<xinlian_core::crypto::PrivateKey> {
    keys::read_key_file(path, password_from_env().as_deref())
        .with_context(|| format!("loading key {}", path.display()))
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
            let key = keys::generate(scheme)?;
            keys::write_key_file(&out, &key, password.as_deref())?;
            println!("{}", key.public_key());
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
    let layout = xinlian_testnet::init(&args.dir, args.nodes, args.suite, args.http_port)?;
    println!(
        "chain {} written to {}",
        layout.chain_id,
        args.dir.display()
    );
    println!("  genesis: {}", layout.genesis_file.display());
    for node in &layout.nodes {
        println!(
            "  {}: xinlian node start --config {}",
            node.id,
            node.config_file.display()
        );
    }
    for key in &layout.admin_keys {
        println!("  admin key: {}", key.display());
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

async fn node_backup(config: &Path, out: &Path) -> Result<()> {
    let config = xinlian_node::Config::load(config)?;
    let out = std::path::absolute(out)?;
    let answer = xinlian_testnet::admin_request(
        &format!("http://{}", config.http_listen),
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
            gov_send(&node.node, &key, call, wait).await
        }
        GovCommand::Approve {
            node,
            key,
            wait,
            id,
        } => {
            let proposal_id = Hash::from_hex(&id).context("proposal id")?;
            let call = Call::Governance(GovCall::Approve { proposal_id });
            gov_send(&node.node, &key, call, wait).await
        }
        GovCommand::List {
            node,
            status,
            limit,
        } => print_json(&Client::new(&node.node)?.proposals(status, limit).await?),
        GovCommand::Show { node, id } => {
            let id = Hash::from_hex(&id).context("proposal id")?;
            print_json(&Client::new(&node.node)?.proposal(&id).await?)
        }
        GovCommand::Nodes(node) => print_json(&Client::new(&node.node)?.gov_nodes().await?),
    }
}

/// Signs and submits a governance call; prints its hash and, with `wait`, the proposal after
/// the call committed (an approval prints the proposal it approved).
async fn gov_send(node: &str, key: &Path, call: Call, wait: bool) -> Result<()> {
    let approved = match &call {
        Call::Governance(GovCall::Approve { proposal_id }) => Some(*proposal_id),
        _ => None,
    };
    let key = read_key(key)?;
    let client = Client::new(node)?;
    let tx = client.sign_call(&key, call).await?;
    let hash = client.submit(&tx).await?;
    println!("{hash}");
    if !wait {
        return Ok(());
    }
    let status = client
        .wait_for_commit(&hash, Duration::from_secs(30))
        .await?;
    let receipt = status.receipt.context("committed without a receipt")?;
    if !receipt.is_success() {
        bail!("refused: {:?}", receipt.status);
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
            let client = Client::new(&node.node)?;
            let tx = client.sign_call(&key, call).await?;
            let hash = client.submit(&tx).await?;
            println!("{hash}");
            if wait {
                let status = client
                    .wait_for_commit(&hash, Duration::from_secs(timeout_s))
                    .await?;
                print_json(&status)?;
            }
            Ok(())
        }
        TxCommand::Get { node, hash } => {
            let hash = Hash::from_hex(&hash)?;
            print_json(&Client::new(&node.node)?.tx(&hash).await?)
        }
    }
}

async fn testnet(command: TestnetCommand) -> Result<()> {
    match command {
        TestnetCommand::Up {
            nodes,
            dir,
            suite,
            demo,
            detach,
            http_port,
        } => testnet_up(&dir, nodes, suite, demo, detach, http_port).await,
        TestnetCommand::Status { dir } => {
            let layout = xinlian_testnet::Layout::load(&dir)?;
            for node in &layout.nodes {
                match Client::new(&node.http_url)?.status().await {
                    Ok(s) => println!(
                        "{}  {}  {:?}  height {}  leader {}",
                        node.id,
                        node.http_url,
                        s.membership,
                        s.height,
                        s.leader.as_deref().unwrap_or("-")
                    ),
                    Err(e) => println!("{}  {}  down ({e})", node.id, node.http_url),
                }
            }
            Ok(())
        }
        TestnetCommand::Kill(args) => {
            xinlian_testnet::kill_node(&args.dir, args.node)?;
            println!("killed node{} (SIGKILL)", args.node);
            Ok(())
        }
        TestnetCommand::Restart(args) => {
            let mut layout = xinlian_testnet::Layout::load(&args.dir)?;
            let binary = std::env::current_exe().context("locating the xinlian binary")?;
            xinlian_testnet::start_node(&mut layout, args.node, &binary)?;
            layout.save(&args.dir)?;
            println!("restarted node{}", args.node);
            Ok(())
        }
        TestnetCommand::Isolate(args) => {
            xinlian_testnet::set_isolated(&args.dir, args.node, true).await?;
            println!("node{} is cut off from its peers", args.node);
            Ok(())
        }
        TestnetCommand::Heal(args) => {
            xinlian_testnet::set_isolated(&args.dir, args.node, false).await?;
            println!("node{} is reconnected", args.node);
            Ok(())
        }
        TestnetCommand::AddNode { dir, learner } => {
            let mut layout = xinlian_testnet::Layout::load(&dir)?;
            let binary = std::env::current_exe().context("locating the xinlian binary")?;
            let (index, proposal) =
                xinlian_testnet::add_node(&dir, &mut layout, &binary, learner).await?;
            let node = &layout.nodes[index];
            println!(
                "{} added by proposal {proposal}{}; it syncs and joins Raft",
                node.id,
                if learner { " as a learner" } else { "" }
            );
            println!(
                "  {}/v1/status   log: {}",
                node.http_url,
                node.log_file.display()
            );
            Ok(())
        }
        TestnetCommand::RemoveNode(args) => {
            let layout = xinlian_testnet::Layout::load(&args.dir)?;
            let proposal = xinlian_testnet::remove_node(&layout, args.node).await?;
            println!("node{} removed by proposal {proposal}", args.node);
            Ok(())
        }
        TestnetCommand::Down { dir } => {
            xinlian_testnet::down(&dir)?;
            println!("stopped the nodes of {}", dir.display());
            Ok(())
        }
    }
}

async fn testnet_up(
    dir: &Path,
    nodes: usize,
    suite: xinlian_core::genesis::Suite,
    demo: bool,
    detach: bool,
    http_port: u16,
) -> Result<()> {
    let mut layout = if dir.join("testnet.json").exists() {
        xinlian_testnet::Layout::load(dir)?
    } else {
        xinlian_testnet::init(dir, nodes, suite, http_port)?
    };
    let binary = std::env::current_exe().context("locating the xinlian binary")?;
    xinlian_testnet::start_nodes(dir, &mut layout, &binary)?;
    let ready = async {
        xinlian_testnet::wait_healthy(&layout, Duration::from_secs(30)).await?;
        xinlian_testnet::wait_leader(&layout, Duration::from_secs(30)).await
    };
    let leader = match ready.await {
        Ok(leader) => leader,
        Err(e) => {
            let _ = xinlian_testnet::down(dir);
            return Err(e);
        }
    };
    println!(
        "Xinlian testnet {} is up ({} node{}, leader {leader}):",
        layout.chain_id,
        layout.nodes.len(),
        if layout.nodes.len() == 1 { "" } else { "s" }
    );
    for node in &layout.nodes {
        println!(
            "  {}  {}/v1/status   log: {}",
            node.id,
            node.http_url,
            node.log_file.display()
        );
    }
    if demo {
        let report = xinlian_testnet::load_demo(&layout).await?;
        println!("Demo transactions committed:");
        for (what, hash, height) in &report.committed {
            println!(
                "  {what:<32} height {height:<4} {}/v1/txs/{hash}",
                layout.nodes[0].http_url
            );
        }
        let demo = &report.cold_chain;
        println!("Cold chain (冷链追溯) — scan these on any node:");
        for (what, code) in &demo.codes {
            println!("  {what}: {}/scan/{code}", layout.nodes[0].http_url);
        }
        println!(
            "  Recall list of the positive lot: {}/scan/{}?view=regulator   (JSON: {}/v1/trace/codes/{}/holders)",
            layout.nodes[0].http_url, demo.recalled, layout.nodes[0].http_url, demo.recalled
        );
        println!(
            "  Lot {} lacks its disinfection certificate; its shipment was refused: {}",
            demo.refused.0, demo.refused.1
        );
        let auth = &report.auth;
        println!(
            "Authorisation (链上授权) — the cold store let the regulator's window use its business licence:"
        );
        println!(
            "  grant {} (use code {}): 2 uses recorded; grant {} revoked, a later use refused: {}",
            auth.grant.0, auth.grant.1, auth.revoked, auth.refused
        );
        println!(
            "  the holder sees every use: xinlian auth list --node {} --key {}",
            layout.nodes[0].http_url,
            auth.holder_key.display()
        );
        println!("Licences (电子证照) — the window's verification page on any node:");
        for licence in &report.licences {
            println!(
                "  {}: {}/verify/{}?digest={}",
                licence.what, layout.nodes[0].http_url, licence.id, licence.digest
            );
        }
    }
    let first = &layout.nodes[0].http_url;
    println!("Look at: {first}/v1/blocks/latest   {first}/metrics   {first}/openapi.json");
    println!("Events (SSE, from the first block): {first}/v1/events?from_height=1");
    if demo {
        println!(
            "Build on it: cargo run -p xinlian-sdk --example cold_chain_terminal|licence_window|holder_grants -- {}",
            dir.display()
        );
    }
    println!(
        "Load it: xinlian bench --testnet {} --txs 2000 --mix trace,license,auth",
        dir.display()
    );
    println!(
        "Admin keys: {}",
        layout
            .admin_keys
            .iter()
            .map(|p| p.display().to_string())
            .collect::<Vec<_>>()
            .join(", ")
    );
    if detach {
        println!(
            "Nodes keep running; stop them with: xinlian testnet down --dir {}",
            dir.display()
        );
        return Ok(());
    }
    println!("Press Ctrl-C to stop the nodes.");
    shutdown_signal().await;
    xinlian_testnet::down(dir)?;
    println!("stopped.");
    Ok(())
}
