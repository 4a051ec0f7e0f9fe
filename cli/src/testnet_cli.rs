//! `xinlian testnet ...`: a local chain of node processes, where every command checks the
//! machine before and after it acts and says exactly what it did.
//!
//! What runs is read from the process table (`xinlian_testnet::running_pid`), never trusted from
//! `testnet.json` alone. A command that did nothing it was asked to (kill of a stopped node,
//! `up` of a testnet whose nodes all run) fails with exit code 1. `up` on an existing directory
//! resumes it; the demo loads once and is shown again afterwards (`DIR/demo.txt`).

use std::path::Path;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use xinlian_core::genesis::Suite;
use xinlian_testnet::{Layout, Stop, TlsMode, running_pid};

use crate::cli::TestnetCommand;

/// The demo as printed when it was loaded; printed again when the testnet is resumed.
const DEMO_REPORT_FILE: &str = "demo.txt";
/// Written before the demo starts loading and removed once it loaded: a demo load that was
/// interrupted cannot be repeated (its first transactions are on chain) and is reported.
const DEMO_LOADING_FILE: &str = "demo.loading";

pub(crate) async fn run(command: TestnetCommand) -> Result<()> {
    match command {
        TestnetCommand::Up {
            nodes,
            dir,
            suite,
            demo,
            history_days,
            detach,
            http_port,
            tls,
            mtls,
        } => {
            let tls = match (tls, mtls) {
                (_, true) => TlsMode::MutualTls,
                (true, false) => TlsMode::Https,
                (false, false) => TlsMode::Off,
            };
            up(
                &dir,
                UpArgs {
                    nodes,
                    suite,
                    demo,
                    history_days,
                    detach,
                    http_port,
                    tls,
                },
            )
            .await
        }
        TestnetCommand::Status { dir } => status(&dir).await,
        TestnetCommand::Kill(args) => {
            let mut layout = Layout::load(&args.dir)?;
            let stopped =
                xinlian_testnet::stop_nodes(&mut layout, &[args.node], Stop::Kill).await?;
            let id = &layout.nodes[args.node].id;
            let Some(pid) = stopped[0] else {
                bail!("{id} is not running; nothing killed");
            };
            layout.save(&args.dir)?;
            outln!(
                "killed {id} (pid {pid}, SIGKILL); its data is kept: `xinlian testnet restart --node {} --dir {}` starts it again",
                args.node,
                args.dir.display()
            )?;
            Ok(())
        }
        TestnetCommand::Restart(args) => restart(&args.dir, args.node).await,
        TestnetCommand::Isolate(args) => {
            xinlian_testnet::set_isolated(&args.dir, args.node, true).await?;
            outln!("node{} is cut off from its peers", args.node)?;
            Ok(())
        }
        TestnetCommand::Heal(args) => {
            xinlian_testnet::set_isolated(&args.dir, args.node, false).await?;
            outln!("node{} is reconnected", args.node)?;
            Ok(())
        }
        TestnetCommand::AddNode { dir, learner } => {
            let mut layout = Layout::load(&dir)?;
            let binary = std::env::current_exe().context("locating the xinlian binary")?;
            let (index, proposal) =
                xinlian_testnet::add_node(&dir, &mut layout, &binary, learner).await?;
            let node = &layout.nodes[index];
            outln!(
                "{} added by proposal {proposal}{} and started (pid {}); it syncs and joins Raft",
                node.id,
                if learner { " as a learner" } else { "" },
                node.pid.unwrap_or_default()
            )?;
            outln!(
                "  {}/v1/status   log: {}",
                node.http_url,
                node.log_file.display()
            )?;
            Ok(())
        }
        TestnetCommand::RemoveNode(args) => {
            let mut layout = Layout::load(&args.dir)?;
            let proposal = xinlian_testnet::remove_node(&args.dir, &mut layout, args.node).await?;
            outln!(
                "node{} removed by proposal {proposal}; `up`, `status` and `bench` leave it out, `down` stops its process",
                args.node
            )?;
            Ok(())
        }
        TestnetCommand::Down { dir } => down(&dir).await,
    }
}

struct UpArgs {
    nodes: usize,
    suite: Suite,
    demo: bool,
    history_days: u32,
    detach: bool,
    http_port: u16,
    tls: TlsMode,
}

async fn up(dir: &Path, args: UpArgs) -> Result<()> {
    let fresh = !dir.join("testnet.json").exists();
    let layout = if fresh {
        xinlian_testnet::init_dated(
            dir,
            args.nodes,
            args.suite,
            args.http_port,
            args.tls,
            args.history_days,
        )?
    } else {
        Layout::load(dir)?
    };
    let active = layout.active_indices();
    let was_running: Vec<usize> = active
        .iter()
        .copied()
        .filter(|i| running_pid(&layout.nodes[*i]).is_some())
        .collect();
    if !active.is_empty() && was_running.len() == active.len() {
        bail!(
            "every node of {} is already running ({}); nothing started. `xinlian testnet status --dir {}` shows them, `xinlian testnet down --dir {}` stops them",
            dir.display(),
            describe_pids(&layout, &active),
            dir.display(),
            dir.display()
        );
    }
    let tls_of_layout = match &layout.tls {
        None => TlsMode::Off,
        Some(tls) if tls.mutual => TlsMode::MutualTls,
        Some(_) => TlsMode::Https,
    };
    if !fresh && args.tls != TlsMode::Off && args.tls != tls_of_layout {
        bail!(
            "{} holds a testnet made with other TLS settings ({tls_of_layout:?}); --tls and --mtls apply to a new one only: remove the directory or choose another --dir",
            dir.display()
        );
    }
    if !fresh && (args.nodes != layout.nodes.len() || args.suite != layout.suite) {
        outln!(
            "{} holds a testnet of {} nodes ({} suite); --nodes and --suite apply to a new one only",
            dir.display(),
            layout.nodes.len(),
            match layout.suite {
                Suite::Gm => "gm",
                Suite::Intl => "intl",
            }
        )?;
    }
    let to_start: Vec<usize> = active
        .iter()
        .copied()
        .filter(|i| !was_running.contains(i))
        .collect();
    // Both signals are listened for from here on, so a Ctrl-C between two waits is not lost.
    let mut shutdown = Shutdown::listen()?;
    let work = async {
        let layout = start_and_report(dir, layout, &to_start, &was_running).await?;
        if args.demo {
            demo(dir, &layout).await?;
        }
        print_pointers(dir, &layout, args.demo)?;
        anyhow::Ok(())
    };
    // Ctrl-C while nodes start or the demo loads stops what this command started, as does any
    // failure: no node is left running that the user did not see reported as running.
    let outcome = tokio::select! {
        outcome = work => outcome,
        _ = shutdown.recv() => Err(anyhow::anyhow!("interrupted")),
    };
    if let Err(error) = outcome {
        // The original error is what the user needs; a failure while cleaning up is added to
        // it, never put in its place.
        let cleanup = async {
            let mut layout = Layout::load(dir)?;
            let stopped = xinlian_testnet::stop_nodes(&mut layout, &to_start, Stop::Clean).await;
            layout.save(dir)?;
            stopped
        };
        return Err(match cleanup.await {
            Ok(stopped) => {
                let stopped = stopped.iter().flatten().count();
                if stopped > 0 {
                    eprintln!("stopped the {stopped} node(s) this command had started");
                }
                error
            }
            Err(cleanup) => anyhow::anyhow!(
                "{}; stopping the nodes this command had started failed too ({}): `xinlian testnet down --dir {}` stops them",
                crate::report::render(&error),
                crate::report::render(&cleanup),
                dir.display()
            ),
        });
    }
    if args.detach {
        outln!(
            "Nodes keep running; stop them with: xinlian testnet down --dir {}",
            dir.display()
        )?;
        return Ok(());
    }
    outln!("Press Ctrl-C to stop the nodes.")?;
    shutdown.recv().await;
    down(dir).await
}

/// SIGINT and SIGTERM, listened for once for the whole of `up`.
struct Shutdown {
    interrupt: tokio::signal::unix::Signal,
    terminate: tokio::signal::unix::Signal,
}

impl Shutdown {
    fn listen() -> Result<Self> {
        use tokio::signal::unix::{SignalKind, signal};
        Ok(Shutdown {
            interrupt: signal(SignalKind::interrupt()).context("listening for Ctrl-C")?,
            terminate: signal(SignalKind::terminate()).context("listening for SIGTERM")?,
        })
    }

    async fn recv(&mut self) {
        tokio::select! {
            _ = self.interrupt.recv() => {}
            _ = self.terminate.recv() => {}
        }
    }
}

/// Starts `to_start` (each confirmed by its answer), finds the leader, prints the nodes.
async fn start_and_report(
    dir: &Path,
    mut layout: Layout,
    to_start: &[usize],
    was_running: &[usize],
) -> Result<Layout> {
    let binary = std::env::current_exe().context("locating the xinlian binary")?;
    for &index in to_start {
        let started = xinlian_testnet::start_node(&mut layout, index, &binary).await;
        layout.save(dir)?;
        started?;
    }
    let leader = xinlian_testnet::wait_leader(&layout, Duration::from_secs(30)).await?;
    let active = layout.active_nodes().count();
    outln!(
        "Xinlian testnet {} is up ({active} node{}, leader {leader}):",
        layout.chain_id,
        if active == 1 { "" } else { "s" }
    )?;
    for (index, node) in layout.nodes.iter().enumerate() {
        let state = if node.removed {
            "removed by governance, not started".to_string()
        } else if was_running.contains(&index) {
            format!(
                "already running, pid {}",
                running_pid(node).unwrap_or_default()
            )
        } else {
            format!("started, pid {}", node.pid.unwrap_or_default())
        };
        outln!(
            "  {}  {}/v1/status   log: {}   ({state})",
            node.id,
            node.http_url,
            node.log_file.display()
        )?;
    }
    Ok(layout)
}

/// Loads the demo into a new testnet, or shows the one loaded before.
async fn demo(dir: &Path, layout: &Layout) -> Result<()> {
    let report_file = dir.join(DEMO_REPORT_FILE);
    let loading_file = dir.join(DEMO_LOADING_FILE);
    if let Ok(report) = std::fs::read_to_string(&report_file) {
        outln!("Demo data (loaded when this testnet was first started; still on chain):")?;
        return outln!("{}", report.trim_end()).map_err(Into::into);
    }
    if loading_file.exists() {
        bail!(
            "an earlier demo load into {} did not finish, so part of it may be on chain and it cannot load again; start afresh with `rm -rf {}` (or use another --dir; with make: `make run TESTNET_DIR=...`), or run without --demo",
            dir.display(),
            dir.display()
        );
    }
    std::fs::write(&loading_file, b"")?;
    let report = xinlian_testnet::load_demo(layout).await?;
    let text = render_demo(layout, &report);
    std::fs::write(&report_file, &text)
        .with_context(|| format!("writing {}", report_file.display()))?;
    std::fs::remove_file(&loading_file)?;
    outln!("{}", text.trim_end())?;
    Ok(())
}

fn render_demo(layout: &Layout, report: &xinlian_testnet::DemoReport) -> String {
    use std::fmt::Write;
    let first = &layout.nodes[0].http_url;
    let mut out = String::new();
    // Writing to a String cannot fail.
    let _ = writeln!(out, "Demo transactions committed:");
    for (what, hash, height) in &report.committed {
        let _ = writeln!(out, "  {what:<32} height {height:<4} {first}/v1/txs/{hash}");
    }
    let demo = &report.cold_chain;
    let _ = writeln!(out, "Cold chain (冷链追溯) — scan these on any node:");
    for (what, code) in &demo.codes {
        let _ = writeln!(out, "  {what}: {first}/scan/{code}");
    }
    // The recall list names enterprises: a signed query of a regulator (org 0, the market
    // regulator, in the testnet).
    let _ = writeln!(
        out,
        "  Recall list of the positive lot (regulators only, signed): xinlian trace holders --node {first} --key {} {}",
        layout.admin_keys[0].display(),
        demo.recalled
    );
    let _ = writeln!(
        out,
        "  Lot {} lacks its disinfection certificate; its shipment was refused: {}",
        demo.refused.0, demo.refused.1
    );
    let history = &report.history;
    if history.days > 0 {
        let _ = writeln!(
            out,
            "History: {} days of business before today, {} transactions in blocks of those days",
            history.days, history.transactions
        );
    }
    let auth = &report.auth;
    let _ = writeln!(
        out,
        "Authorisation (链上授权) — the cold store let the regulator's window use its business licence:"
    );
    let _ = writeln!(
        out,
        "  grant {} (use code {}): 2 uses recorded; grant {} revoked, a later use refused: {}",
        auth.grant.0, auth.grant.1, auth.revoked, auth.refused
    );
    let _ = writeln!(
        out,
        "  the holder sees every use: xinlian auth list --node {first} --key {}",
        auth.holder_key.display()
    );
    let _ = writeln!(
        out,
        "Licences (电子证照) — the window's verification page on any node:"
    );
    for licence in &report.licences {
        let _ = writeln!(
            out,
            "  {}: {first}/verify/{}?digest={}",
            licence.what, licence.id, licence.digest
        );
    }
    out
}

fn print_pointers(dir: &Path, layout: &Layout, demo: bool) -> Result<()> {
    let first = &layout
        .active_nodes()
        .next()
        .context("the testnet has no active node")?
        .http_url;
    outln!(
        "Console (一屏掌控): {first}/console/ — log in with a regulator's key: paste the file {}",
        layout.admin_keys[0].display()
    )?;
    outln!("Look at: {first}/v1/blocks/latest   {first}/metrics   {first}/openapi.json")?;
    outln!("Events (SSE, from the first block): {first}/v1/events?from_height=1")?;
    if let Some(tls) = &layout.tls {
        let client = if tls.mutual {
            format!(
                " and XINLIAN_CLIENT_CERT={} XINLIAN_CLIENT_KEY={} (every node requires a client certificate)",
                tls.client_cert.display(),
                tls.client_key.display()
            )
        } else {
            String::new()
        };
        outln!(
            "HTTPS: trust the testnet's CA, for xinlian commands with XINLIAN_CA_FILE={}{client}; for curl with --cacert",
            tls.ca_file.display()
        )?;
    }
    if demo {
        outln!(
            "Build on it: cargo run -p xinlian-sdk --example cold_chain_terminal|licence_window|holder_grants -- {}",
            dir.display()
        )?;
    }
    outln!(
        "Load it: xinlian bench --testnet {} --txs 2000 --mix trace,license,auth",
        dir.display()
    )?;
    let keys: Vec<String> = layout
        .admin_keys
        .iter()
        .map(|p| p.display().to_string())
        .collect();
    outln!("Admin keys: {}", keys.join(", "))?;
    Ok(())
}

fn describe_pids(layout: &Layout, indices: &[usize]) -> String {
    indices
        .iter()
        .map(|i| {
            let node = &layout.nodes[*i];
            match running_pid(node) {
                Some(pid) => format!("{} pid {pid}", node.id),
                None => format!("{} stopped", node.id),
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

async fn status(dir: &Path) -> Result<()> {
    let layout = Layout::load(dir)?;
    for node in &layout.nodes {
        let pid = running_pid(node);
        let process = match pid {
            Some(pid) => format!("pid {pid}"),
            // Something answers on its port, but no process runs its config file: a node
            // started by hand with another path, or a stranger holding the port.
            None => "no process runs its config".to_string(),
        };
        if node.removed {
            let process = if pid.is_some() { &process } else { "stopped" };
            outln!(
                "{}  {}  removed by governance  {process}",
                node.id,
                node.http_url
            )?;
            continue;
        }
        let answer = layout.client(node)?.status().await;
        if pid.is_none() && answer.is_err() {
            outln!("{}  {}  stopped", node.id, node.http_url)?;
            continue;
        }
        match answer {
            Ok(s) => outln!(
                "{}  {}  {process}  {}  height {}  leader {}{}",
                node.id,
                node.http_url,
                serde_json::to_value(s.membership)?
                    .as_str()
                    .unwrap_or("unknown"),
                s.height,
                s.leader.as_deref().unwrap_or("-"),
                s.halted
                    .map(|why| format!("  HALTED: {why}"))
                    .unwrap_or_default()
            )?,
            Err(e) => outln!(
                "{}  {}  {process}  not answering ({e})",
                node.id,
                node.http_url
            )?,
        }
    }
    Ok(())
}

/// Restarts node `index`: a clean stop if it runs, then a start confirmed by its answer.
async fn restart(dir: &Path, index: usize) -> Result<()> {
    let mut layout = Layout::load(dir)?;
    let node = layout
        .nodes
        .get(index)
        .with_context(|| format!("--node must be below {}", layout.nodes.len()))?;
    if node.removed {
        bail!(
            "{} was removed from the chain by governance; nothing restarted",
            node.id
        );
    }
    let stopped = xinlian_testnet::stop_nodes(&mut layout, &[index], Stop::Clean).await?;
    layout.save(dir)?;
    let binary = std::env::current_exe().context("locating the xinlian binary")?;
    let started = xinlian_testnet::start_node(&mut layout, index, &binary).await;
    layout.save(dir)?;
    let pid = match (started, stopped[0]) {
        (Ok(pid), _) => pid,
        (Err(e), Some(old)) => {
            return Err(e.context(format!(
                "the old process (pid {old}) was stopped and the new one did not start"
            )));
        }
        (Err(e), None) => return Err(e),
    };
    let id = &layout.nodes[index].id;
    match stopped[0] {
        Some(old) => outln!("restarted {id}: stopped pid {old}, started pid {pid}")?,
        None => {
            outln!("started {id} (pid {pid}; it was not running); it catches up from its peers")?
        }
    }
    Ok(())
}

/// Stops every node process of the testnet (removed nodes' too) and says which were running.
async fn down(dir: &Path) -> Result<()> {
    let mut layout = Layout::load(dir)?;
    let all: Vec<usize> = (0..layout.nodes.len()).collect();
    let stopped = xinlian_testnet::stop_nodes(&mut layout, &all, Stop::Clean).await?;
    layout.save(dir)?;
    let mut any = false;
    for (node, pid) in layout.nodes.iter().zip(&stopped) {
        if let Some(pid) = pid {
            any = true;
            outln!("stopped {} (pid {pid})", node.id)?;
        }
    }
    if !any {
        outln!("no node of {} was running; nothing to stop", dir.display())?;
    }
    Ok(())
}
