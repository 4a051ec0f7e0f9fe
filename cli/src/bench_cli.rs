//! `xinlian bench`: the load generator. It registers senders, signs every measured transaction
//! up front (so its own signing does not compete with the nodes during the run), submits them
//! round-robin to the nodes under a concurrency bound and an optional rate, and learns commits
//! from node 0's event stream. It reports rates, submit-to-commit latency, every refusal by its
//! code (nothing is hidden, nothing is retried), and the CPU time the nodes used per committed
//! transaction, from their own `xinlian_process_cpu_seconds_total`.

// A load generator measures time: reading the clock is its job.
#![allow(clippy::disallowed_methods)]

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use clap::{Args, ValueEnum};
use rayon::prelude::*;
use serde::Serialize;
use tokio::sync::Semaphore;
use xinlian_core::Hash;
use xinlian_core::crypto::{PrivateKey, SignatureScheme};
use xinlian_core::types::{ReceiptStatus, SignedTransaction};
use xinlian_sdk::events::ChainEvent;
use xinlian_sdk::{Client, SdkError, TlsOptions};
use xinlian_testnet::load::{self, LoadKind};

/// Send real signed transactions to a chain and measure what commits.
///
/// Example: xinlian bench --testnet .xinlian-testnet --txs 4000 --concurrency 256 --suite gm
#[derive(Args, Debug)]
pub(crate) struct BenchArgs {
    /// A testnet directory: its nodes and its first admin key.
    #[arg(long, required_unless_present = "nodes", conflicts_with = "nodes")]
    testnet: Option<PathBuf>,
    /// Node URLs, comma-separated (with --key).
    #[arg(long, value_delimiter = ',', requires = "key")]
    nodes: Vec<String>,
    /// An admin key of an organisation with the enterprise-registrar and issuer roles.
    #[arg(long)]
    key: Option<PathBuf>,
    /// With --nodes over https://: the authority to trust and a client certificate (a
    /// testnet's own are read from --testnet).
    #[command(flatten)]
    tls: crate::cli::TlsArgs,
    /// How many transactions to measure.
    #[arg(long, default_value_t = 2_000)]
    txs: usize,
    /// At most this many transactions submitted and not yet committed.
    #[arg(long, default_value_t = 128)]
    concurrency: usize,
    /// Transactions per second to submit (pressure: a cap; spike and stability: the capacity
    /// they are relative to, required).
    #[arg(long)]
    rate: Option<f64>,
    /// pressure: at capacity; spike: twice the rate for the middle fifth; stability: a fifth
    /// of the rate.
    #[arg(long, value_enum, default_value = "pressure")]
    profile: Profile,
    /// gm signs with SM2, intl with Ed25519.
    #[arg(long, value_enum, default_value = "gm")]
    suite: SuiteArg,
    /// What the transactions do, taking turns: evidence, trace, license, auth.
    #[arg(long, value_delimiter = ',', default_value = "evidence")]
    mix: Vec<LoadKind>,
    /// Sender keys per workload.
    #[arg(long, default_value_t = 16)]
    senders: usize,
    /// Seconds a transaction may take from submission to commit before it counts as timed out.
    #[arg(long, default_value_t = 60)]
    timeout: u64,
    /// Print the report as JSON (no progress bar).
    #[arg(long)]
    json: bool,
}

#[derive(Clone, Copy, Debug, ValueEnum, Serialize)]
#[serde(rename_all = "lowercase")]
enum Profile {
    Pressure,
    Spike,
    Stability,
}

#[derive(Clone, Copy, Debug, ValueEnum, Serialize)]
#[serde(rename_all = "lowercase")]
enum SuiteArg {
    Gm,
    Intl,
}

/// What a run measured.
#[derive(Debug, Default, Serialize)]
struct Report {
    profile: String,
    suite: String,
    mix: Vec<String>,
    nodes: usize,
    txs: usize,
    concurrency: usize,
    rate: Option<f64>,
    submitted: usize,
    committed: usize,
    succeeded: usize,
    /// Submissions the node refused, by code (`transport` when it could not be reached).
    rejected_on_submit: BTreeMap<String, usize>,
    /// Committed transactions whose call was refused, by receipt code.
    failed_receipts: BTreeMap<String, usize>,
    /// Transactions the mempool dropped, by code.
    dropped: BTreeMap<String, usize>,
    timed_out: usize,
    /// Transactions never sent because nothing settled for a whole timeout.
    not_sent: usize,
    /// Times node 0's event stream broke and was opened again.
    stream_reopens: usize,
    submit_seconds: f64,
    run_seconds: f64,
    submitted_per_second: f64,
    committed_per_second: f64,
    latency_ms: Latency,
    success_ratio: f64,
    /// CPU seconds the nodes' processes used from the first submission until the last
    /// transaction settled, summed over the nodes; absent when a node does not say.
    node_cpu_seconds: Option<f64>,
    /// That, in microseconds per committed transaction (all nodes together).
    node_cpu_us_per_committed: Option<f64>,
}

#[derive(Debug, Default, Serialize)]
struct Latency {
    p50: f64,
    p95: f64,
    p99: f64,
    max: f64,
}

pub(crate) async fn run(args: BenchArgs) -> Result<()> {
    let (urls, admin, tls) = targets(&args)?;
    let clients: Vec<Client> = urls
        .iter()
        .map(|url| Client::with_tls(url, &tls))
        .collect::<Result<_, _>>()?;
    let schedule = Schedule::new(args.profile, args.rate, args.txs)?;
    let scheme = match args.suite {
        SuiteArg::Gm => SignatureScheme::Sm2,
        SuiteArg::Intl => SignatureScheme::Ed25519,
    };
    note(&args, "registering senders");
    let workload = load::prepare(&clients[0], &admin, scheme, &args.mix, args.senders).await?;
    let status = clients[0].status().await?;
    let suite = status.suite.hash_suite();
    note(&args, &format!("signing {} transactions", args.txs));
    // Far inside the chain's 100,000-block window, so even a long stability run stays valid.
    let valid_until = status.height + 50_000;
    let txs: Vec<(Hash, SignedTransaction)> = (0..args.txs)
        .into_par_iter()
        .map(|i| {
            let tx = workload.transaction(i, valid_until)?;
            Ok((tx.hash(suite), tx))
        })
        .collect::<Result<_>>()?;
    let report = drive(&args, &clients, txs, &schedule).await?;
    print_report(&args, report)
}

fn note(args: &BenchArgs, what: &str) {
    if !args.json {
        eprintln!("{what} ...");
    }
}

fn targets(args: &BenchArgs) -> Result<(Vec<String>, PrivateKey, TlsOptions)> {
    if let Some(dir) = &args.testnet {
        let layout = xinlian_testnet::Layout::load(dir)?;
        let key = layout
            .admin_keys
            .first()
            .context("the testnet has no admin key")?;
        // The layout's paths are as given when it was made, perhaps relative to another working
        // directory; the key files themselves live in DIR/keys.
        let key = match key.file_name() {
            Some(name) if !key.exists() => dir.join("keys").join(name),
            _ => key.clone(),
        };
        // Nodes removed by governance refuse transactions (`unknown_sender`): leave them out.
        let urls = layout.active_nodes().map(|n| n.http_url.clone()).collect();
        return Ok((urls, crate::commands::read_key(&key)?, layout.client_tls()));
    }
    let key = args.key.as_ref().context("--nodes needs --key")?;
    Ok((
        args.nodes.clone(),
        crate::commands::read_key(key)?,
        args.tls.options(),
    ))
}

/// When each transaction is due, relative to the start: as fast as the concurrency bound allows
/// (no rate), or paced.
struct Schedule {
    /// Transactions per second for each transaction's position, or `None` for unpaced.
    rate_at: Box<dyn Fn(usize) -> Option<f64> + Send + Sync>,
}

impl Schedule {
    fn new(profile: Profile, rate: Option<f64>, txs: usize) -> Result<Self> {
        if let Some(rate) = rate {
            anyhow::ensure!(rate > 0.0 && rate.is_finite(), "--rate must be positive");
        }
        let rate_at: Box<dyn Fn(usize) -> Option<f64> + Send + Sync> = match profile {
            Profile::Pressure => Box::new(move |_| rate),
            Profile::Spike => {
                let rate = rate
                    .context("--profile spike needs --rate (the capacity a pressure run found)")?;
                let (from, to) = (txs * 2 / 5, txs * 3 / 5);
                Box::new(move |i| {
                    Some(if (from..to).contains(&i) {
                        2.0 * rate
                    } else {
                        rate
                    })
                })
            }
            Profile::Stability => {
                let rate = rate.context(
                    "--profile stability needs --rate (the capacity a pressure run found)",
                )?;
                Box::new(move |_| Some(rate / 5.0))
            }
        };
        Ok(Schedule { rate_at })
    }

    /// The offsets from the start at which each transaction is due (`None`: at once).
    fn offsets(&self, txs: usize) -> Vec<Option<Duration>> {
        let mut at = 0.0f64;
        (0..txs)
            .map(|i| {
                let rate = (self.rate_at)(i)?;
                let due = Duration::from_secs_f64(at);
                at += 1.0 / rate;
                Some(due)
            })
            .collect()
    }
}

/// Shared between the submitters and the commit watcher.
#[derive(Default)]
struct Tally {
    /// Submitted, not yet settled: when the submission started.
    pending: HashMap<Hash, Instant>,
    latencies: Vec<Duration>,
    committed: usize,
    succeeded: usize,
    submitted: usize,
    rejected_on_submit: BTreeMap<String, usize>,
    failed_receipts: BTreeMap<String, usize>,
    dropped: BTreeMap<String, usize>,
    last_commit: Option<Instant>,
    stream_reopens: usize,
}

async fn drive(
    args: &BenchArgs,
    clients: &[Client],
    txs: Vec<(Hash, SignedTransaction)>,
    schedule: &Schedule,
) -> Result<Report> {
    let total = txs.len();
    let tally = Arc::new(Mutex::new(Tally::default()));
    let in_flight = Arc::new(Semaphore::new(args.concurrency.max(1)));
    let progress = progress_bar(args, total);
    // Listen before the first submission, so no commit is missed.
    let head = clients[0].status().await?.height;
    let events = clients[0].events(Some(head + 1)).await?;
    let watcher = tokio::spawn(watch_commits(
        clients[0].clone(),
        (events, head),
        tally.clone(),
        in_flight.clone(),
        progress.clone(),
    ));
    let offsets = schedule.offsets(total);
    let cpu_before = nodes_cpu_seconds(clients).await;
    let started = Instant::now();
    let mut submitters = tokio::task::JoinSet::new();
    for (i, ((hash, tx), offset)) in txs.into_iter().zip(offsets).enumerate() {
        if let Some(offset) = offset {
            tokio::time::sleep_until((started + offset).into()).await;
        }
        // Nothing settling for a whole timeout means the chain stopped: stop sending, report.
        let waited = Duration::from_secs(args.timeout);
        match tokio::time::timeout(waited, in_flight.acquire()).await {
            Ok(permit) => permit.context("in-flight bound")?.forget(),
            Err(_) => {
                say(
                    &progress,
                    &format!(
                        "nothing settled for {} s; stopped after {i} of {total} transactions",
                        args.timeout
                    ),
                );
                break;
            }
        }
        let client = clients[i % clients.len()].clone();
        let (tally, in_flight) = (tally.clone(), in_flight.clone());
        submitters.spawn(async move { submit(client, hash, tx, tally, in_flight).await });
    }
    while submitters.join_next().await.is_some() {}
    let submit_seconds = started.elapsed().as_secs_f64();
    let deadline = Instant::now() + Duration::from_secs(args.timeout);
    while Instant::now() < deadline && !lock(&tally).pending.is_empty() {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    watcher.abort();
    progress.finish_and_clear();
    let node_cpu = match (cpu_before, nodes_cpu_seconds(clients).await) {
        (Some(before), Some(after)) => Some(after - before),
        _ => None,
    };
    let tally = std::mem::take(&mut *lock(&tally));
    Ok(report(
        args,
        clients.len(),
        tally,
        started,
        submit_seconds,
        node_cpu,
    ))
}

/// The CPU seconds the nodes' processes have used, summed over `clients`
/// (`xinlian_process_cpu_seconds_total`): what a run costs the nodes, read before and after it,
/// is a steadier measure of the node's efficiency than its rate on a machine others share.
/// `None` when a node does not export it (not on Linux) or its metrics cannot be read.
async fn nodes_cpu_seconds(clients: &[Client]) -> Option<f64> {
    let mut total = 0.0;
    for client in clients {
        let text = client.metrics().await.ok()?;
        let value = text
            .lines()
            .find_map(|line| line.strip_prefix("xinlian_process_cpu_seconds_total "))?;
        total += value.trim().parse::<f64>().ok()?;
    }
    Some(total)
}

async fn submit(
    client: Client,
    hash: Hash,
    tx: SignedTransaction,
    tally: Arc<Mutex<Tally>>,
    in_flight: Arc<Semaphore>,
) {
    lock(&tally).pending.insert(hash, Instant::now());
    let outcome = client.submit(&tx).await;
    let mut tally = lock(&tally);
    tally.submitted += 1;
    if let Err(e) = outcome {
        // Refused, never retried: the report says why.
        let code = match &e {
            SdkError::Node { code, .. } => code.clone(),
            SdkError::Transport(_) => "transport".to_string(),
            SdkError::Tls(_) => "tls".to_string(),
            other => format!("{other}"),
        };
        if tally.pending.remove(&hash).is_some() {
            in_flight.add_permits(1);
        }
        *tally.rejected_on_submit.entry(code).or_default() += 1;
    }
}

/// Settles transactions from node 0's event stream. A broken stream is opened again from the
/// block after the last one seen, so no commit is missed; rejections missed meanwhile leave their
/// transactions to time out, and the report counts them so.
async fn watch_commits(
    client: Client,
    (mut events, head): (xinlian_sdk::events::EventStream, u64),
    tally: Arc<Mutex<Tally>>,
    in_flight: Arc<Semaphore>,
    progress: indicatif::ProgressBar,
) {
    let mut last_height = head;
    loop {
        while let Some(event) = events.next().await {
            match event {
                Ok(ChainEvent::Block(block)) => {
                    last_height = block.height;
                    settle_block(&mut lock(&tally), block, &in_flight, &progress);
                }
                Ok(ChainEvent::Rejected(rejected)) => {
                    let mut tally = lock(&tally);
                    if tally.pending.remove(&rejected.tx_hash).is_some() {
                        in_flight.add_permits(1);
                        progress.inc(1);
                        *tally.dropped.entry(rejected.error.code).or_default() += 1;
                    }
                }
                Ok(ChainEvent::Lagged(_)) => {}
                Err(e) => {
                    say(&progress, &format!("event stream: {e}; opening it again"));
                    lock(&tally).stream_reopens += 1;
                    break;
                }
            }
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
        match client.events(Some(last_height + 1)).await {
            Ok(reopened) => events = reopened,
            Err(e) => say(&progress, &format!("event stream: {e}")),
        }
    }
}

fn settle_block(
    tally: &mut Tally,
    block: xinlian_core::api::BlockEvent,
    in_flight: &Semaphore,
    progress: &indicatif::ProgressBar,
) {
    let now = Instant::now();
    for receipt in block.receipts {
        let Some(submitted) = tally.pending.remove(&receipt.tx_hash) else {
            continue;
        };
        in_flight.add_permits(1);
        progress.inc(1);
        tally.latencies.push(now - submitted);
        tally.committed += 1;
        tally.last_commit = Some(now);
        match receipt.status {
            ReceiptStatus::Success => tally.succeeded += 1,
            ReceiptStatus::Failure { code, .. } => {
                *tally.failed_receipts.entry(code).or_default() += 1
            }
        }
    }
}

/// A note for the person running the bench: above the progress bar, or on stderr when the bar
/// is hidden (`--json`, or no terminal).
fn say(progress: &indicatif::ProgressBar, note: &str) {
    if progress.is_hidden() {
        eprintln!("{note}");
    } else {
        progress.println(note);
    }
}

fn lock(tally: &Mutex<Tally>) -> std::sync::MutexGuard<'_, Tally> {
    tally
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn progress_bar(args: &BenchArgs, total: usize) -> indicatif::ProgressBar {
    if args.json {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::new(total as u64);
    if let Ok(style) = indicatif::ProgressStyle::with_template(
        "{elapsed_precise} [{bar:40}] {pos}/{len} settled  {per_sec}",
    ) {
        bar.set_style(style.progress_chars("=> "));
    }
    bar
}

fn report(
    args: &BenchArgs,
    nodes: usize,
    mut tally: Tally,
    started: Instant,
    submit_seconds: f64,
    node_cpu_seconds: Option<f64>,
) -> Report {
    tally.latencies.sort();
    let percentile = |p: f64| -> f64 {
        if tally.latencies.is_empty() {
            return 0.0;
        }
        let rank =
            ((p * tally.latencies.len() as f64).ceil() as usize).clamp(1, tally.latencies.len());
        tally.latencies[rank - 1].as_secs_f64() * 1e3
    };
    let run_seconds = tally
        .last_commit
        .map_or(0.0, |last| (last - started).as_secs_f64());
    Report {
        profile: format!("{:?}", args.profile).to_lowercase(),
        suite: format!("{:?}", args.suite).to_lowercase(),
        mix: args
            .mix
            .iter()
            .map(|k| format!("{k:?}").to_lowercase())
            .collect(),
        nodes,
        txs: args.txs,
        concurrency: args.concurrency,
        rate: args.rate,
        submitted: tally.submitted,
        committed: tally.committed,
        succeeded: tally.succeeded,
        timed_out: tally.pending.len(),
        not_sent: args.txs - tally.submitted,
        stream_reopens: tally.stream_reopens,
        submit_seconds,
        run_seconds,
        submitted_per_second: tally.submitted as f64 / submit_seconds.max(1e-9),
        committed_per_second: tally.committed as f64 / run_seconds.max(1e-9),
        latency_ms: Latency {
            p50: percentile(0.50),
            p95: percentile(0.95),
            p99: percentile(0.99),
            max: percentile(1.0),
        },
        success_ratio: tally.succeeded as f64 / args.txs.max(1) as f64,
        node_cpu_seconds,
        node_cpu_us_per_committed: node_cpu_seconds
            .map(|seconds| seconds * 1e6 / tally.committed.max(1) as f64),
        rejected_on_submit: tally.rejected_on_submit,
        failed_receipts: tally.failed_receipts,
        dropped: tally.dropped,
    }
}

fn print_report(args: &BenchArgs, report: Report) -> Result<()> {
    if args.json {
        outln!("{}", serde_json::to_string_pretty(&report)?)?;
        return Ok(());
    }
    outln!(
        "{} {} {} on {} nodes: {} transactions, concurrency {}{}",
        report.profile,
        report.suite,
        report.mix.join(","),
        report.nodes,
        report.txs,
        report.concurrency,
        report
            .rate
            .map_or(String::new(), |r| format!(", rate {r}/s"))
    )?;
    outln!(
        "  submitted {:>7}  {:>9.1} tx/s over {:.1} s",
        report.submitted,
        report.submitted_per_second,
        report.submit_seconds
    )?;
    outln!(
        "  committed {:>7}  {:>9.1} tx/s over {:.1} s",
        report.committed,
        report.committed_per_second,
        report.run_seconds
    )?;
    outln!(
        "  latency   p50 {:.0} ms  p95 {:.0} ms  p99 {:.0} ms  max {:.0} ms",
        report.latency_ms.p50,
        report.latency_ms.p95,
        report.latency_ms.p99,
        report.latency_ms.max
    )?;
    outln!(
        "  succeeded {} of {} ({:.1}%), timed out {}, not sent {}",
        report.succeeded,
        report.txs,
        report.success_ratio * 100.0,
        report.timed_out,
        report.not_sent
    )?;
    if let (Some(seconds), Some(per_tx)) =
        (report.node_cpu_seconds, report.node_cpu_us_per_committed)
    {
        outln!(
            "  node CPU  {seconds:.1} s on {} nodes, {per_tx:.0} µs per committed transaction",
            report.nodes
        )?;
    }
    for (what, counts) in [
        ("refused on submit", &report.rejected_on_submit),
        ("refused in receipt", &report.failed_receipts),
        ("dropped from mempool", &report.dropped),
    ] {
        for (code, count) in counts {
            outln!("  {what}: {code} x{count}")?;
        }
    }
    Ok(())
}
