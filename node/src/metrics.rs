//! Prometheus metrics of the node, one struct for the whole chain component. Each metric's help
//! text gives its unit.

use std::sync::atomic::AtomicU64;
use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::{Registry, Unit};

/// Buckets from 0.1 ms to about 3 s, for the stages of applying a block.
fn stage_histogram() -> Histogram {
    Histogram::new(exponential_buckets(0.0001, 2.0, 16))
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CodeLabel {
    code: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CertLabel {
    cert: String,
}

/// The chain's metrics and the registry that renders them.
pub struct Metrics {
    registry: Registry,
    height: Gauge,
    blocks: Counter,
    txs_committed: Counter,
    mempool_txs: Gauge,
    txs_rejected: Family<CodeLabel, Counter>,
    block_commit_seconds: Histogram,
    blocks_refused: Family<CodeLabel, Counter>,
    raft_term: Gauge,
    raft_leader_changes: Counter,
    proposal_commit_seconds: Histogram,
    block_build_seconds: Histogram,
    block_bytes: Histogram,
    peers_connected: Gauge,
    raft_is_leader: Gauge,
    peer_messages_dropped: Family<CodeLabel, Counter>,
    peer_stream_waits: Family<CodeLabel, Counter>,
    signed_queries_refused: Family<CodeLabel, Counter>,
    signature_checks: Family<CodeLabel, Counter>,
    consensus_halted: Gauge,
    raft_loop_seen_ms: Gauge,
    block_outcomes_reused: Counter,
    compact_block_txs: Family<CodeLabel, Counter>,
    blocks_built_on_pending: Counter,
    apply_stage_seconds: Family<CodeLabel, Histogram>,
    admission_queued_bytes: Gauge,
    admission_wait_seconds: Histogram,
    /// Keyed by certificate file, so a node without TLS shows no series at all rather than a
    /// zero that would read as "expires today".
    tls_cert_expiry_days: Family<CertLabel, Gauge<f64, AtomicU64>>,
    tls_reloads: Family<CodeLabel, Counter>,
    peers_expected: Gauge,
    commit_votes: Family<CodeLabel, Counter>,
    certificates_formed: Counter,
    mempool_txs_max: Gauge,
    data_dir_available_bytes: Gauge,
    data_dir_size_bytes: Gauge,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// Registers every metric.
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("xinlian");
        let height = Gauge::default();
        let blocks = Counter::default();
        let txs_committed = Counter::default();
        let mempool_txs = Gauge::default();
        let txs_rejected = Family::<CodeLabel, Counter>::default();
        let block_commit_seconds = Histogram::new(exponential_buckets(0.001, 2.0, 14));
        let blocks_refused = Family::<CodeLabel, Counter>::default();
        let signed_queries_refused = Family::<CodeLabel, Counter>::default();
        let signature_checks = Family::<CodeLabel, Counter>::default();
        registry.register(
            "signature_checks",
            "Transaction signatures verified at admission or in a block, or skipped in a block as already verified here (code: admission, block, cached)",
            signature_checks.clone(),
        );
        registry.register(
            "signed_queries_refused",
            "Signed queries refused (unsigned, stale, replayed, bad signature, not allowed) and use codes not found, by code (requests)",
            signed_queries_refused.clone(),
        );
        registry.register(
            "blocks_refused",
            "Committed entries not applied as blocks (stale proposals, invalid blocks), by code (entries)",
            blocks_refused.clone(),
        );
        registry.register(
            "height",
            "Latest committed block height (blocks)",
            height.clone(),
        );
        registry.register(
            "blocks_committed",
            "Blocks committed by this node (blocks)",
            blocks.clone(),
        );
        registry.register(
            "txs_committed",
            "Transactions committed, successful or not (transactions)",
            txs_committed.clone(),
        );
        registry.register(
            "mempool_txs",
            "Transactions waiting in the mempool (transactions)",
            mempool_txs.clone(),
        );
        registry.register(
            "txs_rejected",
            "Transactions refused at admission or dropped before a block, by code (transactions)",
            txs_rejected.clone(),
        );
        registry.register_with_unit(
            "block_commit",
            "Time to execute, sign and durably store a block (seconds)",
            Unit::Seconds,
            block_commit_seconds.clone(),
        );
        let raft_term = Gauge::default();
        let raft_leader_changes = Counter::default();
        let proposal_commit_seconds = Histogram::new(exponential_buckets(0.001, 2.0, 16));
        let peers_connected = Gauge::default();
        registry.register(
            "raft_leader_changes",
            "Times this node saw the leader change (changes)",
            raft_leader_changes.clone(),
        );
        registry.register_with_unit(
            "proposal_commit",
            "From proposing a block to applying it, on the leader (seconds)",
            Unit::Seconds,
            proposal_commit_seconds.clone(),
        );
        registry.register(
            "peers_connected",
            "Peers with an open connection (peers)",
            peers_connected.clone(),
        );
        let raft_is_leader = Gauge::default();
        let peer_messages_dropped = Family::<CodeLabel, Counter>::default();
        registry.register("raft_term", "Current Raft term (terms)", raft_term.clone());
        registry.register(
            "raft_is_leader",
            "1 while this node leads, else 0 (boolean)",
            raft_is_leader.clone(),
        );
        registry.register(
            "peer_messages_dropped",
            "Peer messages dropped before consensus, by reason (messages)",
            peer_messages_dropped.clone(),
        );
        let peer_stream_waits = Family::<CodeLabel, Counter>::default();
        registry.register(
            "peer_stream_waits",
            "Peer messages that waited for room instead of being dropped, by where (`raft_inbox`: a Raft stream waited for the consensus loop) (messages)",
            peer_stream_waits.clone(),
        );
        let block_build_seconds = Histogram::new(exponential_buckets(0.0005, 2.0, 14));
        registry.register_with_unit(
            "block_build",
            "Time the leader takes to build a block: pick transactions, execute, sign (seconds)",
            Unit::Seconds,
            block_build_seconds.clone(),
        );
        let block_bytes = Histogram::new(exponential_buckets(1024.0, 2.0, 14));
        registry.register_with_unit(
            "block_size",
            "Encoded size of the blocks this node proposed (bytes)",
            Unit::Bytes,
            block_bytes.clone(),
        );
        let block_outcomes_reused = Counter::default();
        registry.register(
            "block_outcomes_reused",
            "Blocks this node built and then applied with the execution it did when building them, instead of executing them again (blocks)",
            block_outcomes_reused.clone(),
        );
        let apply_stage_seconds =
            Family::<CodeLabel, Histogram>::new_with_constructor(stage_histogram as fn() -> _);
        registry.register_with_unit(
            "apply_stage",
            "Time applying a committed block spends in each stage: `checks` (decode, header, transaction hashes and root), `signatures` (those not verified before), `execute` (skipped when the leader reuses its build), `store` (the synced write batch) (seconds)",
            Unit::Seconds,
            apply_stage_seconds.clone(),
        );
        let admission_queued_bytes = Gauge::default();
        registry.register_with_unit(
            "admission_queued",
            "Bytes of gossiped transactions waiting for or in admission (bounded by 64 MiB) (bytes)",
            Unit::Bytes,
            admission_queued_bytes.clone(),
        );
        let admission_wait_seconds = Histogram::new(exponential_buckets(0.0005, 2.0, 16));
        registry.register_with_unit(
            "admission_wait",
            "Time a gossiped batch waits for an admission thread (seconds)",
            Unit::Seconds,
            admission_wait_seconds.clone(),
        );
        let blocks_built_on_pending = Counter::default();
        registry.register(
            "blocks_built_on_pending",
            "Blocks the leader built on its block still in flight rather than on the head: the pipeline at work (blocks)",
            blocks_built_on_pending.clone(),
        );
        let compact_block_txs = Family::<CodeLabel, Counter>::default();
        registry.register(
            "compact_block_txs",
            "Transactions of blocks that arrived as compact blocks, by where this node found their bytes (`held`: gossip or its own clients had brought them; `fetched`: asked of the sender) (transactions)",
            compact_block_txs.clone(),
        );
        let raft_loop_seen_ms = Gauge::default();
        registry.register(
            "raft_loop_seen_ms",
            "When the consensus loop last went round, in Unix milliseconds: far behind the clock means the loop is stuck (milliseconds)",
            raft_loop_seen_ms.clone(),
        );
        let consensus_halted = Gauge::default();
        registry.register(
            "consensus_halted",
            "1 once this node stopped consensus because its execution disagreed with a committed block (a divergence; see docs/operator.md), else 0 (boolean)",
            consensus_halted.clone(),
        );
        let tls_cert_expiry_days = Family::<CertLabel, Gauge<f64, AtomicU64>>::default();
        registry.register(
            "tls_cert_expiry_days",
            "Days until the API's TLS certificate expires, negative once it has; only with [tls] (days)",
            tls_cert_expiry_days.clone(),
        );
        let tls_reloads = Family::<CodeLabel, Counter>::default();
        registry.register(
            "tls_reloads",
            "Changed TLS certificate files, by outcome: loaded, or refused (the old certificate is still served) (changes)",
            tls_reloads.clone(),
        );
        // Bounds and capacities beside the values they bound, so a dashboard or an alert reads
        // a ratio without knowing the node's config.
        let peers_expected = Gauge::default();
        registry.register(
            "peers_expected",
            "Other nodes of the registry this node should reach (nodes)",
            peers_expected.clone(),
        );
        let commit_votes = Family::<CodeLabel, Counter>::default();
        registry.register(
            "commit_votes",
            "Peers' commit votes by outcome: accepted; other_block (a signed vote for another block than this node applied); bad_signature, not_a_voter (refused); duplicate, late, out_of_window (dropped unverified) (votes)",
            commit_votes.clone(),
        );
        let certificates_formed = Counter::default();
        registry.register(
            "certificates_formed",
            "Commit certificates this node formed and stored (certificates)",
            certificates_formed.clone(),
        );
        let mempool_txs_max = Gauge::default();
        registry.register(
            "mempool_txs_max",
            "The mempool's bound, mempool_txs_max of node.toml (transactions)",
            mempool_txs_max.clone(),
        );
        let data_dir_available_bytes = Gauge::default();
        registry.register_with_unit(
            "data_dir_available",
            "Space left for the node's user on the data directory's file system",
            Unit::Bytes,
            data_dir_available_bytes.clone(),
        );
        let data_dir_size_bytes = Gauge::default();
        registry.register_with_unit(
            "data_dir_size",
            "Size of the data directory's file system",
            Unit::Bytes,
            data_dir_size_bytes.clone(),
        );
        #[cfg(target_os = "linux")]
        registry.register_collector(Box::new(ProcessCpu));
        Metrics {
            registry,
            tls_cert_expiry_days,
            tls_reloads,
            peers_expected,
            commit_votes,
            certificates_formed,
            mempool_txs_max,
            data_dir_available_bytes,
            data_dir_size_bytes,
            consensus_halted,
            raft_loop_seen_ms,
            block_outcomes_reused,
            compact_block_txs,
            blocks_built_on_pending,
            apply_stage_seconds,
            admission_queued_bytes,
            admission_wait_seconds,
            height,
            blocks,
            txs_committed,
            mempool_txs,
            txs_rejected,
            block_commit_seconds,
            blocks_refused,
            raft_term,
            raft_leader_changes,
            proposal_commit_seconds,
            block_build_seconds,
            block_bytes,
            peers_connected,
            raft_is_leader,
            peer_messages_dropped,
            peer_stream_waits,
            signed_queries_refused,
            signature_checks,
        }
    }

    /// Sets the committed height.
    pub fn set_height(&self, height: u64) {
        self.height.set(i64::try_from(height).unwrap_or(i64::MAX));
    }

    /// Sets the mempool size.
    pub fn set_mempool(&self, txs: usize) {
        self.mempool_txs.set(i64::try_from(txs).unwrap_or(i64::MAX));
    }

    /// Records a committed block.
    pub fn block_committed(&self, height: u64, txs: usize, took: Duration) {
        self.set_height(height);
        self.blocks.inc();
        self.txs_committed.inc_by(txs as u64);
        self.block_commit_seconds.observe(took.as_secs_f64());
    }

    /// Counts one signature check at `place`.
    pub fn count_signature_check(&self, place: &str) {
        self.count_signature_checks(place, 1);
    }

    /// Counts `n` signature checks at `place` (`admission`, `block`, `cached`).
    pub fn count_signature_checks(&self, place: &str, n: u64) {
        self.signature_checks
            .get_or_create(&CodeLabel {
                code: place.to_string(),
            })
            .inc_by(n);
    }

    /// Records the time applying a block spent in `stage`.
    pub fn apply_stage(&self, stage: &str, took: Duration) {
        self.apply_stage_seconds
            .get_or_create(&CodeLabel {
                code: stage.to_string(),
            })
            .observe(took.as_secs_f64());
    }

    /// Sets the bytes of gossip queued for admission.
    pub fn set_admission_queued(&self, bytes: usize) {
        self.admission_queued_bytes
            .set(i64::try_from(bytes).unwrap_or(i64::MAX));
    }

    /// Records how long a gossiped batch waited for an admission thread.
    pub fn admission_waited(&self, took: Duration) {
        self.admission_wait_seconds.observe(took.as_secs_f64());
    }

    /// Counts a block built on the block in flight.
    pub fn block_built_on_pending(&self) {
        self.blocks_built_on_pending.inc();
    }

    /// Counts `n` transactions of compact blocks whose bytes came from `source` (`held`,
    /// `fetched`).
    pub fn count_compact_block_txs(&self, source: &str, n: u64) {
        if n > 0 {
            self.compact_block_txs
                .get_or_create(&CodeLabel {
                    code: source.to_string(),
                })
                .inc_by(n);
        }
    }

    /// Counts a peer message that waited for room at `place` rather than being dropped.
    pub fn count_peer_stream_wait(&self, place: &str) {
        self.peer_stream_waits
            .get_or_create(&CodeLabel {
                code: place.to_string(),
            })
            .inc();
    }

    /// Counts a refused signed query (or a use code not found), by code.
    pub fn count_signed_query_refused(&self, code: &str) {
        self.signed_queries_refused
            .get_or_create(&CodeLabel {
                code: code.to_string(),
            })
            .inc();
    }

    /// Counts a refused or dropped transaction by its code.
    pub fn count_rejected(&self, code: &str) {
        self.txs_rejected
            .get_or_create(&CodeLabel {
                code: code.to_string(),
            })
            .inc();
    }

    /// Records that consensus halted on this node (fail-stop on divergence).
    pub fn halted(&self) {
        self.consensus_halted.set(1);
    }

    /// Counts a committed entry not applied as a block (or a refused membership change).
    pub fn count_refused_block(&self, code: &str) {
        self.blocks_refused
            .get_or_create(&CodeLabel {
                code: code.to_string(),
            })
            .inc();
    }

    /// Records the Raft term and whether this node leads.
    pub fn set_raft(&self, term: u64, is_leader: bool) {
        self.raft_term.set(i64::try_from(term).unwrap_or(i64::MAX));
        self.raft_is_leader.set(i64::from(is_leader));
    }

    /// Counts a block applied with the outcome of its own build.
    pub fn block_outcome_reused(&self) {
        self.block_outcomes_reused.inc();
    }

    /// Records that the consensus loop went round at `now_ms`.
    pub fn raft_loop_seen(&self, now_ms: u64) {
        self.raft_loop_seen_ms
            .set(i64::try_from(now_ms).unwrap_or(i64::MAX));
    }

    /// Counts a change of leader.
    pub fn leader_changed(&self) {
        self.raft_leader_changes.inc();
    }

    /// Records a block this node built and proposed: how long building took, and its size.
    pub fn block_proposed(&self, took: Duration, bytes: usize) {
        self.block_build_seconds.observe(took.as_secs_f64());
        self.block_bytes.observe(bytes as f64);
    }

    /// Records how long a proposed block took to be applied.
    pub fn proposal_committed(&self, took: Duration) {
        self.proposal_commit_seconds.observe(took.as_secs_f64());
    }

    /// Sets the number of connected peers.
    pub fn set_peers(&self, peers: usize) {
        self.peers_connected
            .set(i64::try_from(peers).unwrap_or(i64::MAX));
    }

    /// Sets how many other nodes the registry says this node should reach.
    pub fn set_peers_expected(&self, peers: usize) {
        self.peers_expected
            .set(i64::try_from(peers).unwrap_or(i64::MAX));
    }

    /// Counts `n` peers' commit votes with this outcome.
    pub fn count_commit_votes(&self, outcome: &str, n: u64) {
        self.commit_votes
            .get_or_create(&CodeLabel {
                code: outcome.to_string(),
            })
            .inc_by(n);
    }

    /// Counts a commit certificate formed.
    pub fn count_certificate_formed(&self) {
        self.certificates_formed.inc();
    }

    /// Sets the mempool's bound (from config, once).
    pub fn set_mempool_txs_max(&self, txs: usize) {
        self.mempool_txs_max
            .set(i64::try_from(txs).unwrap_or(i64::MAX));
    }

    /// Sets the data directory's file system space: available to the node, and in all.
    pub fn set_data_dir_space(&self, available: u64, size: u64) {
        self.data_dir_available_bytes
            .set(i64::try_from(available).unwrap_or(i64::MAX));
        self.data_dir_size_bytes
            .set(i64::try_from(size).unwrap_or(i64::MAX));
    }

    /// Counts a peer message dropped before consensus.
    pub fn count_dropped_peer_message(&self, reason: &str) {
        self.peer_messages_dropped
            .get_or_create(&CodeLabel {
                code: reason.to_string(),
            })
            .inc();
    }

    /// Sets the days until the API certificate in `cert` expires.
    pub fn set_tls_cert_expiry_days(&self, cert: &std::path::Path, days: f64) {
        self.tls_cert_expiry_days
            .get_or_create(&CertLabel {
                cert: cert.display().to_string(),
            })
            .set(days);
    }

    /// Counts a change of the TLS files, by outcome (`loaded` or `refused`).
    pub fn count_tls_reload(&self, outcome: &str) {
        self.tls_reloads
            .get_or_create(&CodeLabel {
                code: outcome.to_string(),
            })
            .inc();
    }

    /// Renders the Prometheus text format.
    pub fn render(&self) -> String {
        let mut out = String::new();
        prometheus_client::encoding::text::encode(&mut out, &self.registry)
            .expect("writing to a String never fails");
        out
    }
}

/// The CPU time this process has used, all its threads together, read at each scrape: what a
/// load run costs the node, whatever the machine's other load (`xinlian bench` reports it per
/// committed transaction).
#[cfg(target_os = "linux")]
#[derive(Debug)]
struct ProcessCpu;

#[cfg(target_os = "linux")]
impl prometheus_client::collector::Collector for ProcessCpu {
    fn encode(
        &self,
        mut encoder: prometheus_client::encoding::DescriptorEncoder,
    ) -> Result<(), std::fmt::Error> {
        use prometheus_client::encoding::EncodeMetric;
        let used = rustix::time::clock_gettime(rustix::time::ClockId::ProcessCPUTime);
        let seconds = used.tv_sec as f64 + used.tv_nsec as f64 * 1e-9;
        let counter = prometheus_client::metrics::counter::ConstCounter::new(seconds);
        let metric = encoder.encode_descriptor(
            "process_cpu",
            "CPU time used by the node's process, user and system, all threads (seconds)",
            Some(&Unit::Seconds),
            counter.metric_type(),
        )?;
        counter.encode(metric)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    /// The metric names in `text`: every `xinlian_…` word.
    fn names_in(text: &str) -> HashSet<String> {
        let mut names = HashSet::new();
        let mut rest = text;
        while let Some(at) = rest.find("xinlian_") {
            let word: String = rest[at..]
                .chars()
                .take_while(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '_')
                .collect();
            rest = &rest[at + word.len()..];
            names.insert(word);
        }
        names
    }

    /// The process's CPU time is exported as a counter in seconds that grows with work done.
    #[cfg(target_os = "linux")]
    #[test]
    fn process_cpu_time_is_exported_and_grows() {
        let metrics = Metrics::new();
        let read = |text: &str| -> f64 {
            let line = text
                .lines()
                .find(|l| l.starts_with("xinlian_process_cpu_seconds_total "))
                .expect("the process CPU counter is rendered");
            line.rsplit(' ').next().unwrap().parse().unwrap()
        };
        let before = read(&metrics.render());
        // A few milliseconds of work on this thread.
        let mut x = 0u64;
        for i in 0..20_000_000u64 {
            x = std::hint::black_box(x.wrapping_mul(31).wrapping_add(i));
        }
        let after = read(&metrics.render());
        assert!(before > 0.0 && after > before, "{before} then {after}");
        assert!(
            metrics
                .render()
                .contains("# TYPE xinlian_process_cpu_seconds counter")
        );
    }

    /// The operators' alert rules and dashboard (ops/) name only metrics the node exports, so
    /// a renamed metric cannot leave an alert that never fires.
    #[test]
    fn dashboards_and_alerts_name_only_exported_metrics() {
        let metrics = Metrics::new();
        // Every family gets a series, so each renders its TYPE line.
        metrics.count_rejected("x");
        metrics.count_refused_block("x");
        metrics.count_signature_check("x");
        metrics.count_signed_query_refused("x");
        metrics.count_dropped_peer_message("x");
        metrics.count_peer_stream_wait("x");
        metrics.count_compact_block_txs("x", 1);
        metrics.apply_stage("x", Duration::ZERO);
        metrics.set_tls_cert_expiry_days(std::path::Path::new("cert.pem"), 1.0);
        metrics.count_tls_reload("x");
        metrics.count_commit_votes("x", 1);
        let exported: HashSet<String> = metrics
            .render()
            .lines()
            .filter_map(|line| line.strip_prefix("# TYPE "))
            .filter_map(|line| line.split(' ').next())
            .map(str::to_string)
            .collect();
        let ops = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../ops");
        let mut checked = 0;
        for file in [
            "prometheus/xinlian-rules.yml",
            "prometheus/xinlian-rules.test.yml",
            "grafana/xinlian-node.json",
        ] {
            let text = std::fs::read_to_string(ops.join(file)).unwrap();
            for name in names_in(&text) {
                let family = ["_bucket", "_sum", "_count", "_total"]
                    .iter()
                    .find_map(|suffix| name.strip_suffix(suffix))
                    .filter(|base| exported.contains(*base))
                    .unwrap_or(&name);
                assert!(
                    exported.contains(family),
                    "{file} names {name}, which the node does not export"
                );
                checked += 1;
            }
        }
        assert!(checked > 20, "only {checked} names found");
    }
}
