//! `trace-bench`: loads a city's worth of cold-chain codes into a node's RocksDB store through
//! the node's own block path (admission with signature checks, block building, validation,
//! execution, one synced batch per block), then measures the traceability queries.
//!
//! Scenario (defaults): 10,000 first-station lots of 100 packages (1,000,000 codes), each moved
//! importer → cold store → wholesaler → supermarket with a sale at the end (8 events per lot);
//! and one large lot of 10,000 packages spread over 50 retailers that each repack part of it
//! into a child lot of 200 bags (20,000 codes under the large lot).
//!
//! Reports trace lookup p50/p99/max over random package codes, the recall list of the large lot,
//! and bytes on disk per code and per event. Usage:
//! `cargo run --release -p xinlian-benches --bin trace-bench -- [lots] [packages per lot]`.

#![allow(clippy::disallowed_methods)] // a benchmark reads the clock
#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use xinlian_core::Hash;
use xinlian_core::crypto::{PrivateKey, SignatureScheme};
use xinlian_core::genesis::{Genesis, GenesisNode, GenesisOrganisation, Suite};
use xinlian_core::ids::Uscc;
use xinlian_core::trace::{
    Certificate, CertificateKind, EnterpriseKind, ImportDetails, LotCode, Product, Selection,
    TraceCall, TraceCode,
};
use xinlian_core::types::BlockHeader;
use xinlian_core::types::{Call, OrgRole, SignedTransaction, Transaction};
use xinlian_node::state_sync::{self, Chunk, SnapshotSource};
use xinlian_node::trace::{HolderFilter, RECALL_PAGE_LOTS_MAX, TraceReader};
use xinlian_node::{Chain, Config};

const CHAIN_ID: &str = "trace-bench";
const RETAILERS: usize = 50;

/// A deterministic generator for picking codes (SplitMix64).
struct Picker(u64);

impl Picker {
    fn next(&mut self, below: u64) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        (z ^ (z >> 31)) % below
    }
}

struct Bench {
    chain: Chain,
    registrar: PrivateKey,
    nonce: u64,
    raft_index: u64,
    txs: u64,
}

impl Bench {
    fn sign(&mut self, key: &PrivateKey, call: Call) -> SignedTransaction {
        self.nonce += 1;
        let height = self.chain.head().height;
        Transaction {
            chain_id: CHAIN_ID.into(),
            sender: key.public_key(),
            nonce: self.nonce,
            created_at_ms: 0,
            valid_until_height: height + 1_000,
            call,
        }
        .sign(key)
        .unwrap()
    }

    /// Admits `calls` in order and commits them in blocks; every receipt must be a success.
    fn run(&mut self, calls: Vec<(PrivateKey, TraceCall)>) -> Result<Vec<Hash>> {
        let mut hashes = Vec::with_capacity(calls.len());
        for chunk in calls.chunks(self.chain.block_txs_max()) {
            for (key, call) in chunk {
                let tx = self.sign(key, Call::Trace(call.clone()));
                hashes.push(self.chain.submit(tx).map_err(|e| anyhow::anyhow!("{e}"))?);
            }
            while self.chain.mempool_len() > 0 {
                let block = self
                    .chain
                    .build_block(now_ms())?
                    .context("nothing to build")?;
                self.raft_index += 1;
                match self.chain.apply_entry(self.raft_index, &block.to_bytes())? {
                    xinlian_node::chain::Applied::Block(_) => {}
                    xinlian_node::chain::Applied::Refused(r) => anyhow::bail!("block refused: {r}"),
                }
            }
        }
        for hash in &hashes {
            let receipt = self.chain.storage().receipt(hash)?.context("no receipt")?;
            anyhow::ensure!(receipt.is_success(), "{hash}: {:?}", receipt.status);
        }
        self.txs += hashes.len() as u64;
        Ok(hashes)
    }

    fn lot_of(&self, tx: &Hash) -> LotCode {
        let reader = TraceReader::new(self.chain.storage(), self.chain.suite());
        LotCode(reader.lot_of_tx(tx).unwrap().unwrap())
    }
}

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

fn key(seed: u64) -> PrivateKey {
    let mut bytes = [7u8; 32];
    bytes[..8].copy_from_slice(&seed.to_le_bytes());
    PrivateKey::from_seed(SignatureScheme::Sm2, bytes).unwrap()
}

fn uscc(n: usize) -> Uscc {
    Uscc::with_check_character(&format!("91410100MA{n:07}")).unwrap()
}

/// The bench chain's genesis, dated now.
fn genesis() -> Result<Genesis> {
    let registrar = key(1);
    let node_key = key(2);
    Ok(Genesis {
        chain_id: CHAIN_ID.into(),
        suite: Suite::Gm,
        signature_schemes: vec![SignatureScheme::Sm2],
        genesis_time_ms: xinlian_sdk::now_ms(),
        organisations: vec![GenesisOrganisation {
            uscc: Uscc::with_check_character("11410100MB1234567")?,
            name: "郑州市市场监督管理局".into(),
            roles: vec![
                OrgRole::Regulator,
                OrgRole::Admin,
                OrgRole::EnterpriseRegistrar,
            ],
            admins: vec![registrar.public_key()],
            nodes: vec![GenesisNode {
                id: "bench".into(),
                public_key: node_key.public_key(),
                p2p_peer_id: "bench-peer".into(),
            }],
        }],
    })
}

fn open(dir: &Path, genesis: Genesis) -> Result<Bench> {
    let mut config = Config::new(
        "bench",
        dir.join("data"),
        dir.join("genesis.toml"),
        dir.join("node.pem"),
        dir.join("p2p.pem"),
    );
    config.block_txs_max = 5_000;
    config.mempool_txs_max = 10_000;
    // One importer codes every lot: a block's worth from one sender at a time (a node's default
    // share, a tenth of the mempool, is for many members sharing it).
    config.mempool_sender_share_percent = 100;
    let chain = Chain::open(&config, genesis, key(2), "bench-peer".into())?;
    Ok(Bench {
        chain,
        registrar: key(1),
        nonce: 0,
        raft_index: 0,
        txs: 0,
    })
}

fn enterprise(n: usize, kind: EnterpriseKind) -> (Uscc, PrivateKey, TraceCall) {
    let admin = key(1000 + n as u64);
    let call = TraceCall::RegisterEnterprise {
        uscc: uscc(n),
        name: format!("企业 {n}"),
        kind,
        region: 410100 + (n % 8) as u32,
        address: "郑州市".into(),
        contact: "联系人".into(),
        admins: vec![admin.public_key()],
    };
    (uscc(n), admin, call)
}

fn commission(packages: u32, n: usize) -> TraceCall {
    let kinds = [
        CertificateKind::InspectionQuarantine,
        CertificateKind::NucleicAcidTest,
        CertificateKind::Disinfection,
    ];
    TraceCall::Commission {
        product: Product {
            name: ["冷冻牛肉", "冻虾", "三文鱼", "冻鸡翅"][n % 4].into(),
            category: "冻品".into(),
            specification: "10kg/箱".into(),
            gtin: None,
        },
        origin_country: ["BR", "EC", "NO", "AR"][n % 4].into(),
        production_date: 20261001,
        shelf_life_days: 365,
        batch: format!("B{n}"),
        packages,
        unit: "箱".into(),
        import: Some(ImportDetails {
            customs_declaration: format!("{n:018}"),
            entry_port: "天津新港".into(),
        }),
        certificates: kinds
            .iter()
            .map(|k| Certificate {
                kind: *k,
                number: format!("{k:?}-{n}"),
                issuer: "海关".into(),
                digest: Hash([*k as u8; 32]),
            })
            .collect(),
    }
}

fn ship(lot: LotCode, to: &Uscc, quantity: u32) -> TraceCall {
    TraceCall::Ship {
        lot,
        to: to.clone(),
        select: Selection::Quantity(quantity),
        temperature_log: None,
    }
}

fn dir_bytes(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .flatten()
                .map(|e| match e.metadata() {
                    Ok(m) if m.is_dir() => dir_bytes(&e.path()),
                    Ok(m) => m.len(),
                    Err(_) => 0,
                })
                .sum()
        })
        .unwrap_or(0)
}

/// Percentile of sorted samples.
fn pct(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn main() -> Result<()> {
    let mut args = std::env::args().skip(1);
    let lots: usize = args.next().map_or(Ok(10_000), |a| a.parse())?;
    let packages: u32 = args.next().map_or(Ok(100), |a| a.parse())?;
    let tmp = tempfile::tempdir()?;
    let genesis = genesis()?;
    let mut bench = open(tmp.path(), genesis.clone())?;
    let started = Instant::now();

    // Enterprises: importer 0, cold store 1, wholesaler 2, supermarkets 3..=10, retailers after.
    let mut ids = Vec::new();
    let mut keys = Vec::new();
    let mut calls = Vec::new();
    for n in 0..(11 + RETAILERS) {
        let kind = match n {
            0 => EnterpriseKind::Importer,
            1 => EnterpriseKind::ColdStore,
            2 => EnterpriseKind::Wholesaler,
            3..=10 => EnterpriseKind::Supermarket,
            _ => EnterpriseKind::Restaurant,
        };
        let (id, admin, call) = enterprise(n, kind);
        ids.push(id);
        keys.push(admin);
        calls.push((bench.registrar.clone(), call));
    }
    bench.run(calls)?;
    bench.chain.storage().flush()?;
    let baseline = dir_bytes(&tmp.path().join("data"));

    // 10,000 lots through four holders.
    let commissions: Vec<_> = (0..lots)
        .map(|n| (keys[0].clone(), commission(packages, n)))
        .collect();
    let coded = bench.run(commissions)?;
    let lot_codes: Vec<LotCode> = coded.iter().map(|tx| bench.lot_of(tx)).collect();
    let legs = [
        (0, 1, packages * 6 / 10),
        (1, 2, packages * 3 / 10),
        (2, 3, packages / 10),
    ];
    for (from, to, quantity) in legs {
        let shipments: Vec<_> = lot_codes
            .iter()
            .enumerate()
            .map(|(n, lot)| {
                let to = if to == 3 { 3 + n % 8 } else { to };
                (keys[from].clone(), ship(*lot, &ids[to], quantity))
            })
            .collect();
        let receivers: Vec<usize> = (0..lots)
            .map(|n| if to == 3 { 3 + n % 8 } else { to })
            .collect();
        let shipped = bench.run(shipments)?;
        let receipts = shipped
            .iter()
            .zip(&receivers)
            .map(|(shipment, to)| {
                (
                    keys[*to].clone(),
                    TraceCall::Receive {
                        shipment: *shipment,
                    },
                )
            })
            .collect();
        bench.run(receipts)?;
    }
    let sales = lot_codes
        .iter()
        .enumerate()
        .map(|(n, lot)| {
            let select = Selection::Quantity((packages / 25).max(1));
            (
                keys[3 + n % 8].clone(),
                TraceCall::Sell { lot: *lot, select },
            )
        })
        .collect();
    bench.run(sales)?;

    // The large lot: 10,000 packages over 50 retailers, each repacking 20 into 200 bags.
    let big_tx = bench.run(vec![(keys[0].clone(), commission(10_000, lots))])?;
    let big = bench.lot_of(&big_tx[0]);
    let to_store = bench.run(vec![(keys[0].clone(), ship(big, &ids[1], 10_000))])?;
    bench.run(vec![(
        keys[1].clone(),
        TraceCall::Receive {
            shipment: to_store[0],
        },
    )])?;
    let retailers: Vec<usize> = (11..11 + RETAILERS).collect();
    let spread = bench.run(
        retailers
            .iter()
            .map(|r| (keys[1].clone(), ship(big, &ids[*r], 200)))
            .collect(),
    )?;
    bench.run(
        spread
            .iter()
            .zip(&retailers)
            .map(|(s, r)| (keys[*r].clone(), TraceCall::Receive { shipment: *s }))
            .collect(),
    )?;
    let splits = retailers
        .iter()
        .map(|r| {
            let split = TraceCall::Split {
                lot: big,
                select: Selection::Quantity(20),
                packages: 200,
                specification: "500g/袋".into(),
                unit: "袋".into(),
            };
            (keys[*r].clone(), split)
        })
        .collect();
    bench.run(splits)?;
    let load_time = started.elapsed();

    bench.chain.storage().flush()?;
    let total = dir_bytes(&tmp.path().join("data"));
    let codes = lots as u64 * u64::from(packages) + 20_000;
    // Per lot: coded, three legs shipped and received, a sale. The large lot: coded, shipped and
    // received once, then 50 shipments, receipts and splits, and each child's split-from.
    let events = lots as u64 * 8 + 3 + 4 * RETAILERS as u64;

    // Trace lookups of random package codes.
    let reader_storage = bench.chain.storage();
    let mut reader = TraceReader::new(reader_storage, bench.chain.suite());
    let mut picker = Picker(42);
    let mut samples = Vec::new();
    for _ in 0..10_000 {
        let lot = lot_codes[picker.next(lots as u64) as usize];
        let serial = 1 + picker.next(u64::from(packages)) as u32;
        let code = TraceCode {
            lot: lot.0,
            serial: Some(serial),
        };
        let mut fresh = TraceReader::new(reader_storage, bench.chain.suite());
        let t = Instant::now();
        let trace = fresh.code(code)?.context("traced")?;
        samples.push(t.elapsed());
        assert!(!trace.lineage[0].hops.is_empty());
    }
    samples.sort();
    let mut recalls = Vec::new();
    let mut rows = 0;
    for _ in 0..50 {
        let mut fresh = TraceReader::new(reader_storage, bench.chain.suite());
        let t = Instant::now();
        // One page holds the whole recall here (its lots are far below the page bound).
        let (list, next) = fresh
            .holders(big.0, &HolderFilter::default(), None, RECALL_PAGE_LOTS_MAX)?
            .context("listed")?;
        recalls.push(t.elapsed());
        assert!(next.is_none());
        rows = list.holders.len();
        assert_eq!(list.codes, 20_000);
    }
    recalls.sort();
    let _ = reader.code(TraceCode {
        lot: big.0,
        serial: None,
    })?;

    println!(
        "trace-bench: {lots} lots x {packages} packages + 1 lot of 10,000 over {RETAILERS} retailers"
    );
    println!(
        "  loaded {} transactions in {:.1} s ({} blocks)",
        bench.txs,
        load_time.as_secs_f64(),
        bench.chain.head().height
    );
    println!("  codes {codes}, events {events}");
    println!(
        "  trace lookup (random package code, 10,000 lookups): p50 {:.3} ms, p99 {:.3} ms, max {:.3} ms",
        pct(&samples, 0.5).as_secs_f64() * 1e3,
        pct(&samples, 0.99).as_secs_f64() * 1e3,
        samples[samples.len() - 1].as_secs_f64() * 1e3
    );
    println!(
        "  recall list of the large lot (51 lots, 20,000 codes, {rows} rows, 50 runs): p50 {:.2} ms, p99 {:.2} ms",
        pct(&recalls, 0.5).as_secs_f64() * 1e3,
        pct(&recalls, 0.99).as_secs_f64() * 1e3
    );
    console(&mut bench, big, &lot_codes)?;
    bootstrap_vs_replay(&bench, &genesis)?;
    let added = total.saturating_sub(baseline);
    println!(
        "  on disk: {:.1} MiB in all ({:.1} MiB for the trace data): {:.1} bytes per code, {:.0} bytes per event",
        total as f64 / 1048576.0,
        added as f64 / 1048576.0,
        added as f64 / codes as f64,
        added as f64 / events as f64
    );
    Ok(())
}

/// The loaded chain's blocks and snapshot, as a peer would send them, without the transport.
struct LocalSource<'a> {
    chain: &'a Chain,
}

impl SnapshotSource for LocalSource<'_> {
    fn chunk(&self, height: u64, after: Option<[u8; 32]>) -> xinlian_node::Result<Chunk> {
        let server = self.chain.state_server();
        server
            .chunk(self.chain, height, after, 8 << 20)?
            .ok_or_else(|| xinlian_node::Error::Consensus("no snapshot served".into()))
    }

    fn blocks(&self, from: u64, count: u32) -> xinlian_node::Result<Vec<Vec<u8>>> {
        let mut blocks = Vec::new();
        for height in from..from + u64::from(count) {
            match self.chain.storage().block_bytes(height)? {
                Some(bytes) => blocks.push(bytes),
                None => break,
            }
        }
        Ok(blocks)
    }
}

/// A new node onto this chain (issue 13): replaying every block into a fresh store (each block
/// validated, its signatures checked, executed and stored, as block sync does) against
/// installing a certified snapshot of the head (`state_sync::install`: chunks of 4,096 entries
/// with range proofs, each checked against the certified root as the tree is rebuilt, then the
/// blocks below fetched and checked by hash, unexecuted). Both in one process: the transport is
/// in neither.
fn bootstrap_vs_replay(bench: &Bench, genesis: &Genesis) -> Result<()> {
    let source = &bench.chain;
    let head = source.head();
    let replay_dir = tempfile::tempdir()?;
    let replay = open(replay_dir.path(), genesis.clone())?;
    let started = Instant::now();
    for height in 1..=head.height {
        let bytes = source
            .storage()
            .block_bytes(height)?
            .context("a block of the loaded chain")?;
        replay.chain.apply_entry(height, &bytes)?;
    }
    let replay_time = started.elapsed();
    anyhow::ensure!(replay.chain.head().state_root == head.state_root);
    drop(replay);

    let fresh_dir = tempfile::tempdir()?;
    let fresh = open(fresh_dir.path(), genesis.clone())?;
    let started = Instant::now();
    let offer = source
        .state_server()
        .offer(source)?
        .context("the head is not certified")?;
    let header: BlockHeader = xinlian_core::encoding::decode(&offer.header, "header", 1 << 16)?;
    let entries = state_sync::install(&fresh.chain, &LocalSource { chain: source }, &header)?;
    let bootstrap_time = started.elapsed();
    anyhow::ensure!(fresh.chain.head().state_root == head.state_root);
    println!(
        "  a new node onto {} blocks: replay {:.1} s, certified snapshot {:.1} s ({entries} entries and the blocks below, unexecuted): {:.1}x",
        head.height,
        replay_time.as_secs_f64(),
        bootstrap_time.as_secs_f64(),
        replay_time.as_secs_f64() / bootstrap_time.as_secs_f64()
    );
    Ok(())
}

/// The console's pages over this chain, as the node assembles their data (storage reads and
/// the answer's structure, without HTTP): the cold-chain page with the most open orders it lists
/// (the large lot recalled and 19 lots held), the large lot's flow, and the other pages. Each is
/// read 50 times; p50 and p95.
fn console(bench: &mut Bench, big: LotCode, lots: &[LotCode]) -> Result<()> {
    use xinlian_node::console::{ConsoleReader, day_span};
    let mut orders = vec![(
        bench.registrar.clone(),
        TraceCall::Recall {
            lot: big,
            reason: "bench".into(),
        },
    )];
    for lot in lots.iter().step_by((lots.len() / 19).max(1)).take(19) {
        let hold = TraceCall::Hold {
            lot: *lot,
            reason: "bench".into(),
        };
        orders.push((bench.registrar.clone(), hold));
    }
    bench.run(orders)?;
    let storage = bench.chain.storage();
    let suite = bench.chain.suite();
    let head = bench.chain.head().height;
    let (first, last) = day_span(now_ms(), 30);
    let today = xinlian_core::calendar::china_date(now_ms());
    // Each read ends with the answer encoded as the API sends it: its JSON bytes.
    let json = |value: &dyn erased::Json| value.bytes();
    let pages: [(&str, &dyn Fn() -> Result<usize>); 6] = [
        ("overview", &|| {
            Ok(json(
                &ConsoleReader::new(storage, suite).overview(first, last)?,
            ))
        }),
        ("coldchain (20 open orders)", &|| {
            let stats = ConsoleReader::new(storage, suite).coldchain(first, last)?;
            anyhow::ensure!(stats.open_orders.len() == 20, "20 open orders listed");
            Ok(json(&stats))
        }),
        ("flow of the large lot", &|| {
            let flow = TraceReader::new(storage, suite)
                .flow(big.0)?
                .context("a flow")?;
            anyhow::ensure!(flow.recalled_in_stock > 0, "the recalled part is in stock");
            Ok(json(&flow))
        }),
        ("licences", &|| {
            Ok(json(&ConsoleReader::new(storage, suite).licences(
                first,
                last,
                today,
                Vec::new(),
            )?))
        }),
        ("auth", &|| {
            Ok(json(&ConsoleReader::new(storage, suite).auth(first, last)?))
        }),
        ("explorer (20 blocks)", &|| {
            Ok(json(
                &ConsoleReader::new(storage, suite).blocks(head, None, 20)?,
            ))
        }),
    ];
    println!(
        "  console pages' data (read and encoded as JSON in the node, no HTTP; 50 reads each):"
    );
    for (name, read) in pages {
        let mut times = Vec::with_capacity(50);
        let mut bytes = 0;
        for _ in 0..50 {
            let t = Instant::now();
            bytes = read()?;
            times.push(t.elapsed());
        }
        times.sort();
        println!(
            "    {name}: p50 {:.2} ms, p95 {:.2} ms ({bytes} bytes of JSON)",
            pct(&times, 0.5).as_secs_f64() * 1e3,
            pct(&times, 0.95).as_secs_f64() * 1e3
        );
    }
    Ok(())
}

/// JSON encoding behind a trait object, so the pages' answers of different types share a table.
mod erased {
    pub(super) trait Json {
        fn bytes(&self) -> usize;
    }

    impl<T: serde::Serialize> Json for T {
        fn bytes(&self) -> usize {
            serde_json::to_vec(self).map_or(0, |v| v.len())
        }
    }
}
