//! `apply-bench`: how long a node takes to apply a loaded chain's blocks, replayed from a stopped
//! node's store into a fresh store in this one process: each block validated, its signatures
//! checked (none is known yet, so every one is verified), executed, its state tree updated and
//! stored in one synced batch, as a follower applies a committed block. Without the transport,
//! the mempool and three other nodes on the same cores, a change to the apply path shows here
//! with far less noise than in a testnet run (docs/BENCHMARKS.md).
//!
//! Usage, after `xinlian bench` loaded a testnet and `xinlian testnet down` stopped it:
//! `cargo run --release -p xinlian-benches --features trace --bin apply-bench -- NODE_DIR [RUNS]`
//! (NODE_DIR holds the node's `node.toml`, e.g. `.xinlian-bench/node1`; RUNS defaults to 3).
//! Prints each run's time per transaction and per stage (the node's own
//! `xinlian_apply_stage_seconds`), then the median.

#![allow(clippy::disallowed_methods)] // a benchmark reads the clock

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context, Result};
use xinlian_core::crypto::{PrivateKey, SignatureScheme};
use xinlian_core::types::Block;
use xinlian_node::chain::Applied;
use xinlian_node::storage::Storage;
use xinlian_node::{Chain, Config};

/// The stages the node times as it applies a block, in their order.
const STAGES: [&str; 5] = ["checks", "signatures", "execute", "state_tree", "store"];

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let usage = "usage: apply-bench NODE_DIR [RUNS]";
    let node_dir = PathBuf::from(args.first().context(usage)?);
    let runs: usize = match args.get(1) {
        Some(runs) => runs.parse().context(usage)?,
        None => 3,
    };
    let source_config = Config::load(&node_dir.join("node.toml"))?;
    let genesis = xinlian_node::load_genesis(&source_config.genesis_file)?;
    let source = Storage::open_read_only(&source_config.data_dir)?;
    let head = source.head()?.context("the store holds no chain")?;
    let mut blocks = Vec::new();
    let mut txs = 0;
    for height in 1..=head.height {
        let bytes = source
            .block_bytes(height)?
            .with_context(|| format!("block {height} is not stored"))?;
        txs += Block::from_bytes(&bytes)?.txs.len();
        blocks.push(bytes);
    }
    drop(source);
    println!(
        "{}: {} blocks, {txs} transactions",
        node_dir.display(),
        blocks.len()
    );
    let mut per_tx = Vec::new();
    for run in 1..=runs {
        let dir = tempfile::tempdir()?;
        let mut config = Config::new(
            "apply-bench",
            dir.path().join("data"),
            dir.path().join("genesis.toml"),
            dir.path().join("node.pem"),
            dir.path().join("p2p.pem"),
        );
        config.rocksdb_cache_bytes = source_config.rocksdb_cache_bytes;
        let key = PrivateKey::from_seed(SignatureScheme::Sm2, [7; 32])?;
        let chain = Chain::open(&config, genesis.clone(), key, "apply-bench".into())?;
        let started = Instant::now();
        for (index, bytes) in (1..).zip(&blocks) {
            if let Applied::Refused(refusal) = chain.apply_entry(index, bytes)? {
                anyhow::bail!("block at index {index} refused: {refusal}");
            }
        }
        let took = started.elapsed().as_secs_f64();
        anyhow::ensure!(
            chain.head().state_root == head.state_root,
            "the replayed chain's state root differs from the source's"
        );
        let stages = stage_seconds(&chain.metrics().render());
        let us = |seconds: f64| seconds * 1e6 / txs.max(1) as f64;
        let parts: Vec<String> = STAGES
            .iter()
            .map(|stage| {
                format!(
                    "{stage} {:.1}",
                    us(stages.get(*stage).copied().unwrap_or(0.0))
                )
            })
            .collect();
        println!(
            "  run {run}: {took:.2} s, {:.1} us per transaction ({})",
            us(took),
            parts.join(", ")
        );
        per_tx.push(us(took));
    }
    per_tx.sort_by(f64::total_cmp);
    if let Some(median) = per_tx.get(per_tx.len() / 2) {
        println!("  median of {runs}: {median:.1} us per transaction");
    }
    Ok(())
}

/// Seconds spent in each stage, from the node's metrics text.
fn stage_seconds(metrics: &str) -> BTreeMap<String, f64> {
    let prefix = "xinlian_apply_stage_seconds_sum{code=\"";
    metrics
        .lines()
        .filter_map(|line| {
            let rest = line.strip_prefix(prefix)?;
            let (stage, value) = rest.split_once("\"} ")?;
            Some((stage.to_string(), value.trim().parse().ok()?))
        })
        .collect()
}
