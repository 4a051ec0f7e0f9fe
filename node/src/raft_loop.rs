//! The consensus loop: one OS thread that owns the Raft driver, ticks it, steps peer messages,
//! proposes blocks when this node leads, applies committed entries through [`Chain`], and hands
//! outgoing messages to the transport.
//!
//! A thread rather than an async task: every step writes RocksDB synchronously, and nothing else
//! should wait behind it.

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, sync_channel};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use xinlian_consensus::{
    Application, ConfChange, ConfChangeType, ConsensusError, Driver, DriverConfig, DropReason,
    MemberChange, Message, Stepped,
};
use xinlian_core::encoding;

use crate::chain::{BlockRefusal, Chain, PIPELINE_DEPTH};
use crate::membership::{RaftView, Step, next_step};
use crate::raft_store::RaftLogStore;
use crate::{Config, Error, Result};

/// Most inputs waiting for the loop; a full queue makes senders wait (back-pressure).
pub const RAFT_INPUTS_MAX: usize = 4_096;

/// What the loop is told.
pub enum Input {
    /// A message from a peer (already size-checked and decoded by the transport).
    Peer(Message),
    /// A snapshot send to a peer ended.
    SnapshotSent {
        /// The peer.
        peer: u64,
        /// Whether it arrived.
        delivered: bool,
    },
    /// A peer could not be reached.
    Unreachable(u64),
    /// Stop after the current step.
    Stop,
}

/// Where outgoing Raft messages go.
pub type Outbound = Box<dyn FnMut(Message) + Send>;

/// Fetches blocks `from..from+count` (canonical bytes) from the peer with a Raft id; blocks the
/// calling thread until the answer or a timeout.
pub type BlockFetcher = Box<dyn Fn(u64, u64, u32) -> Result<Vec<Vec<u8>>, String> + Send>;

/// How the loop reaches its peers.
pub struct Transport {
    /// Where outgoing Raft messages go.
    pub outbound: Outbound,
    /// Block sync.
    pub fetcher: BlockFetcher,
    /// Other questions to peers (state snapshots).
    pub asker: crate::state_sync::PeerAsker,
    /// Where proposals are recorded, so the Raft streams can send them as compact blocks.
    pub relay: Arc<crate::network::TxRelay>,
}

/// A running loop: its input queue and its thread.
pub struct RaftLoop {
    inputs: SyncSender<Input>,
    thread: Option<JoinHandle<Result<()>>>,
}

struct Pacing {
    block_interval: Duration,
    /// Proposals not settled yet, oldest first: at most [`PIPELINE_DEPTH`], each built on the
    /// one before (the first on the head). A second block built on the same head would be
    /// refused as stale when applied, so the next block is built on the last one in flight.
    in_flight: VecDeque<Proposal>,
    last_block: Instant,
}

/// A block proposal of the leader that has not settled yet.
struct Proposal {
    height: u64,
    /// The block's hash, which the next block names as its parent.
    hash: xinlian_core::Hash,
    /// Its transactions and their bytes, still in the mempool until it is applied.
    txs: usize,
    tx_bytes: usize,
    /// The term it was proposed in: while it holds, Raft commits the entry (or a later leader
    /// replaces it, which changes the term).
    term: u64,
    /// Its log index: once applied here, the entry has settled, as a block or refused.
    index: u64,
    since: Instant,
}

impl RaftLoop {
    /// Starts the loop for `chain`.
    pub fn start(chain: Arc<Chain>, config: &Config, transport: Transport) -> Result<Self> {
        let (inputs, receiver) = sync_channel(RAFT_INPUTS_MAX);
        let config = config.clone();
        let tick = Duration::from_millis(config.raft_tick_ms);
        #[allow(clippy::disallowed_methods)] // the node keeps its own time
        let now = Instant::now();
        let pacing = Pacing {
            block_interval: Duration::from_millis(config.block_interval_ms),
            in_flight: VecDeque::new(),
            last_block: now,
        };
        let thread = std::thread::Builder::new()
            .name("xinlian-raft".into())
            .spawn(move || {
                let Some(raft_id) = await_admission(&chain, &transport.fetcher, &receiver)? else {
                    return Ok(());
                };
                let driver = open_driver(&chain, &config, raft_id)?;
                let kept = config.raft_log_kept_entries;
                run(chain, driver, receiver, transport, tick, pacing, kept)
            })?;
        Ok(RaftLoop {
            inputs,
            thread: Some(thread),
        })
    }

    /// A handle for the transport to deliver peer messages.
    pub fn inputs(&self) -> SyncSender<Input> {
        self.inputs.clone()
    }

    /// Stops the loop and waits for it; returns its error if it failed.
    pub fn stop(mut self) -> Result<()> {
        let _ = self.inputs.send(Input::Stop);
        self.join()
    }

    /// Waits for the loop to end on its own: with an error when it failed, or `Ok` when
    /// governance removed this node.
    pub fn join(&mut self) -> Result<()> {
        match self.thread.take().map(JoinHandle::join) {
            Some(Ok(result)) => result,
            Some(Err(_)) => Err(Error::Corrupt("the consensus loop panicked".into())),
            None => Ok(()),
        }
    }
}

/// Every pause of a joining node between sync rounds that brought nothing.
const JOIN_PAUSE: Duration = Duration::from_millis(500);
/// How often a joining node says it is still waiting.
const JOIN_LOG_INTERVAL: Duration = Duration::from_secs(30);

/// A node that governance has not added yet syncs blocks from the members until the registry
/// holds its record, then returns its Raft id; `None` when told to stop first.
fn await_admission(
    chain: &Chain,
    fetcher: &BlockFetcher,
    receiver: &Receiver<Input>,
) -> Result<Option<u64>> {
    #[allow(clippy::disallowed_methods)] // the node keeps its own time
    let mut last_log = Instant::now();
    loop {
        if let Some(raft_id) = chain.admitted_raft_id()? {
            return Ok(Some(raft_id));
        }
        let progressed = sync_round(chain, fetcher, &chain.membership().voters(), None, None)?;
        if progressed {
            continue;
        }
        if last_log.elapsed() >= JOIN_LOG_INTERVAL {
            last_log += JOIN_LOG_INTERVAL;
            tracing::info!(target: "xinlian.node.raft", height = chain.head().height, "waiting for governance to add this node");
        }
        match receiver.recv_timeout(JOIN_PAUSE) {
            Ok(Input::Stop) | Err(RecvTimeoutError::Disconnected) => return Ok(None),
            // Raft traffic before admission cannot be for us yet.
            Ok(_) => chain.metrics().count_dropped_peer_message("not_admitted"),
            Err(RecvTimeoutError::Timeout) => {}
        }
    }
}

fn open_driver(chain: &Arc<Chain>, config: &Config, raft_id: u64) -> Result<Driver<RaftLogStore>> {
    let source_chain = Arc::downgrade(chain);
    let snapshot_source = Arc::new(move || match source_chain.upgrade() {
        Some(chain) => {
            let applied = chain.storage().applied_index().unwrap_or(0);
            let head = chain.head();
            (applied, encoding::encode(&(head.height, head.hash)))
        }
        None => (0, Vec::new()),
    });
    // Every member's log starts from the genesis voters; later changes are entries in it.
    let store = RaftLogStore::open(
        chain.storage().db(),
        chain.genesis_voters(),
        snapshot_source,
    )
    .map_err(consensus_error)?;
    let applied = chain.storage().applied_index()?;
    let driver_config = DriverConfig {
        id: raft_id,
        election_ticks: config.raft_election_ticks,
        heartbeat_ticks: config.raft_heartbeat_ticks,
        // One block is one entry: an append carries at most one block beyond this, and a block
        // is at most `block_bytes_max`, so an append always fits a peer message.
        append_bytes_max: config.block_bytes_max as u64,
        ..DriverConfig::default()
    };
    let mut seed = [0u8; 8];
    getrandom::fill(&mut seed).map_err(|e| Error::Config(format!("no OS randomness: {e}")))?;
    let mut driver = Driver::new(driver_config, store, applied, u64::from_le_bytes(seed))
        .map_err(consensus_error)?;
    if driver.voters() == [raft_id] {
        driver.campaign().map_err(consensus_error)?;
    }
    chain.set_raft_members(driver.voters(), driver.learners());
    Ok(driver)
}

fn consensus_error(e: ConsensusError) -> Error {
    Error::Consensus(e.to_string())
}

fn run(
    chain: Arc<Chain>,
    mut driver: Driver<RaftLogStore>,
    receiver: Receiver<Input>,
    mut transport: Transport,
    tick: Duration,
    mut pacing: Pacing,
    kept: u64,
) -> Result<()> {
    #[allow(clippy::disallowed_methods)] // the node keeps its own time
    let mut next_tick = Instant::now() + tick;
    loop {
        #[allow(clippy::disallowed_methods)]
        let now = Instant::now();
        match receiver.recv_timeout(next_tick.saturating_duration_since(now)) {
            Ok(Input::Peer(message)) => match driver.step(message) {
                Ok(Stepped::Whole) => {}
                Ok(Stepped::WithoutCommit) => chain
                    .metrics()
                    .count_dropped_peer_message(DropReason::CommitBeyondLog.code()),
                Err(reason) => chain.metrics().count_dropped_peer_message(reason.code()),
            },
            Ok(Input::SnapshotSent { peer, delivered }) => driver.report_snapshot(peer, delivered),
            Ok(Input::Unreachable(peer)) => driver.report_unreachable(peer),
            Ok(Input::Stop) | Err(RecvTimeoutError::Disconnected) => return Ok(()),
            Err(RecvTimeoutError::Timeout) => {}
        }
        #[allow(clippy::disallowed_methods)]
        let now = Instant::now();
        if now >= next_tick {
            driver.tick();
            next_tick = now + tick;
        }
        let leader = driver.leader().and_then(|id| chain.node_id_of(id));
        if leader.is_some() && leader != chain.leader() {
            chain.metrics().leader_changed();
        }
        chain.set_leader(leader);
        chain.metrics().set_raft(driver.term(), driver.is_leader());
        chain.metrics().raft_loop_seen(crate::now_ms());
        maybe_propose(&chain, &mut driver, &mut pacing, &transport.relay, now)?;
        reconcile_membership(&chain, &mut driver)?;
        let mut app = NodeApp {
            chain: &chain,
            fetcher: &transport.fetcher,
            asker: &transport.asker,
            failure: None,
        };
        let processed = driver.process_ready(&mut app);
        if let Some(failure) = app.failure {
            // The application's own error (a divergence, a failed write) says more than the
            // driver's wrapping of it.
            return Err(failure);
        }
        let messages = processed.map_err(consensus_error)?;
        let head_height = chain.head().height;
        while let Some(proposal) = pacing.in_flight.front()
            && head_height >= proposal.height
        {
            chain.metrics().proposal_committed(proposal.since.elapsed());
            pacing.in_flight.pop_front();
        }
        for message in messages {
            (transport.outbound)(message);
        }
        compact(&chain, &mut driver, kept)?;
        if removed_by_governance(&chain, driver.id()) {
            tracing::warn!(target: "xinlian.node.raft", "governance removed this node and Raft applied it: leaving consensus; the HTTP API keeps serving this node's copy of the chain");
            return Ok(());
        }
    }
}

/// The chain as the driver's application, for one `Ready`.
struct NodeApp<'a> {
    chain: &'a Chain,
    fetcher: &'a BlockFetcher,
    asker: &'a crate::state_sync::PeerAsker,
    /// The node error behind a failed call, kept whole for the loop to stop with.
    failure: Option<Error>,
}

impl NodeApp<'_> {
    fn keep<T>(&mut self, result: Result<T>) -> Result<T, ConsensusError> {
        result.map_err(|e| {
            let message = e.to_string();
            self.failure = Some(e);
            ConsensusError::Apply(message)
        })
    }
}

impl Application for NodeApp<'_> {
    fn apply_entry(&mut self, index: u64, _term: u64, data: &[u8]) -> Result<(), ConsensusError> {
        let outcome = self.chain.apply_entry(index, data);
        if let Ok(crate::chain::Applied::Refused(refusal)) = &outcome
            && !matches!(refusal, BlockRefusal::AlreadyApplied(_))
        {
            tracing::warn!(target: "xinlian.node.raft", index, %refusal, "committed entry refused as a block");
        }
        self.keep(outcome.map(|_| ()))
    }

    fn admit_membership(
        &mut self,
        index: u64,
        changes: &[MemberChange],
    ) -> Result<bool, ConsensusError> {
        let verdict = crate::membership::check_change(&self.chain.membership(), changes);
        if let Err(why) = &verdict {
            tracing::warn!(target: "xinlian.node.raft", index, ?changes, %why, "committed membership change refused: it does not match the registry");
            self.chain
                .metrics()
                .count_refused_block("membership_mismatch");
        }
        Ok(verdict.is_ok())
    }

    fn membership_applied(
        &mut self,
        index: u64,
        voters: &[u64],
        learners: &[u64],
    ) -> Result<(), ConsensusError> {
        tracing::info!(target: "xinlian.node.raft", index, ?voters, ?learners, "membership changed");
        self.chain
            .set_raft_members(voters.to_vec(), learners.to_vec());
        let recorded = self.chain.storage().set_applied_index(index);
        self.keep(recorded)
    }

    fn catch_up(&mut self, index: u64, from: u64, data: &[u8]) -> Result<(), ConsensusError> {
        let caught_up = catch_up(self.chain, self.fetcher, self.asker, index, from, data);
        self.keep(caught_up)
    }

    fn snapshot_applied(&mut self, index: u64) -> Result<(), ConsensusError> {
        let recorded = self.chain.storage().set_applied_index(index);
        self.keep(recorded)
    }
}

/// Most rounds of block sync before giving up (each round asks every peer once).
const SYNC_ROUNDS_MAX: u32 = 50;
const SYNC_ROUND_PAUSE: Duration = Duration::from_millis(200);

/// The log was compacted past this node: fetch the missing blocks from peers (the snapshot's
/// sender first), validate and apply each. The snapshot's index is recorded as applied only
/// after the driver stored the snapshot ([`Application::snapshot_applied`]).
fn catch_up(
    chain: &Chain,
    fetcher: &BlockFetcher,
    asker: &crate::state_sync::PeerAsker,
    index: u64,
    from: u64,
    data: &[u8],
) -> Result<()> {
    let (target_height, target_hash): (u64, xinlian_core::Hash) =
        encoding::decode(data, "snapshot", 64)?;
    let min_gain = chain.state_sync_min_blocks();
    if min_gain > 0 && target_height >= chain.head().height + min_gain {
        tracing::info!(target: "xinlian.node.raft", target_height, head = chain.head().height, "far behind: asking peers for a certified state snapshot");
        let mut peers = chain.membership().voters();
        peers.sort_by_key(|p| *p != from);
        let own = chain.own_record().map(|r| r.raft_id);
        peers.retain(|p| Some(*p) != own);
        if crate::state_sync::bootstrap(chain, asker, fetcher, &peers, min_gain)?.is_none() {
            tracing::info!(target: "xinlian.node.raft", "no certified snapshot worth taking; replaying blocks");
        }
    }
    tracing::info!(target: "xinlian.node.raft", target_height, index, "catching up by block sync");
    let mut rounds = 0;
    while chain.head().height < target_height {
        let peers = chain.membership().voters();
        if !sync_round(chain, fetcher, &peers, Some(from), Some(target_height))? {
            rounds += 1;
            if rounds >= SYNC_ROUNDS_MAX {
                return Err(Error::Consensus(format!(
                    "block sync stalled below height {target_height}"
                )));
            }
            std::thread::sleep(SYNC_ROUND_PAUSE);
        }
    }
    let held = chain.storage().block(target_height)?;
    if held.map(|b| b.header.hash(chain.suite())) != Some(target_hash) {
        return Err(Error::Consensus(format!(
            "after block sync the block at {target_height} is not the snapshot's {target_hash}"
        )));
    }
    Ok(())
}

/// Asks each of `peers` (`first` before the others) once for the blocks after the head, and
/// validates and applies them, up to `until`. Returns whether the head moved.
fn sync_round(
    chain: &Chain,
    fetcher: &BlockFetcher,
    peers: &[u64],
    first: Option<u64>,
    until: Option<u64>,
) -> Result<bool> {
    let mut peers: Vec<u64> = peers
        .iter()
        .copied()
        .filter(|p| Some(*p) != chain.own_record().map(|r| r.raft_id))
        .collect();
    peers.sort_by_key(|p| Some(*p) != first);
    let done = |chain: &Chain| until.is_some_and(|h| chain.head().height >= h);
    let mut progressed = false;
    for peer in peers {
        let next = chain.head().height + 1;
        let Ok(blocks) = fetcher(peer, next, crate::network::SYNC_BLOCKS_MAX) else {
            continue;
        };
        for bytes in blocks {
            if done(chain) {
                return Ok(progressed);
            }
            match chain.apply_synced_block(&bytes)? {
                crate::chain::Applied::Block(_) => progressed = true,
                crate::chain::Applied::Refused(refusal) => {
                    tracing::warn!(target: "xinlian.node.raft", peer, %refusal, "peer sent a block we refuse");
                    break;
                }
            }
        }
    }
    Ok(progressed)
}

/// Whether governance removed this node and Raft has applied the removal.
fn removed_by_governance(chain: &Chain, raft_id: u64) -> bool {
    let removed = chain.own_record().is_some_and(|r| r.removed);
    removed && !chain.membership().in_raft(raft_id)
}

/// On the leader: proposes the next conf change that brings Raft's membership to the
/// registry's, one at a time.
fn reconcile_membership(chain: &Chain, driver: &mut Driver<RaftLogStore>) -> Result<()> {
    if !driver.is_leader() || driver.membership_change_pending() {
        return Ok(());
    }
    let (voters, learners) = (driver.voters(), driver.learners());
    let matched = |id: u64| driver.matched(id);
    let view = RaftView {
        leader: driver.id(),
        voters: &voters,
        learners: &learners,
        last_index: driver.last_index(),
        matched: &matched,
    };
    let Some(step) = next_step(&chain.membership(), &view) else {
        return Ok(());
    };
    tracing::info!(target: "xinlian.node.raft", ?step, "membership step towards the registry");
    let change = |id: u64, change_type: ConfChangeType| {
        let mut change = ConfChange {
            node_id: id,
            ..ConfChange::default()
        };
        change.set_change_type(change_type);
        change
    };
    let proposed = match step {
        Step::AddLearner(id) => {
            driver.propose_membership(change(id, ConfChangeType::AddLearnerNode))
        }
        Step::Promote(id) => driver.propose_membership(change(id, ConfChangeType::AddNode)),
        Step::Remove(id) => driver.propose_membership(change(id, ConfChangeType::RemoveNode)),
        Step::TransferLeadership(id) => {
            driver.transfer_leadership(id);
            Ok(())
        }
    };
    if let Err(e) = proposed {
        tracing::debug!(target: "xinlian.node.raft", error = %e, "membership step not proposed");
    }
    Ok(())
}

fn maybe_propose(
    chain: &Chain,
    driver: &mut Driver<RaftLogStore>,
    pacing: &mut Pacing,
    relay: &crate::network::TxRelay,
    now: Instant,
) -> Result<()> {
    if !driver.is_leader() {
        pacing.in_flight.clear();
        return Ok(());
    }
    if !pacing.in_flight.is_empty() {
        let head_height = chain.head().height;
        let (applied, term) = (driver.applied_index(), driver.term());
        // Settled: applied (as a block or refused), or overtaken by a new term. Once one has
        // settled without becoming the head, the blocks built on it are stale too.
        if let Some(settled) = pacing
            .in_flight
            .iter()
            .rposition(|p| head_height >= p.height || applied >= p.index || term != p.term)
        {
            let committed = head_height >= pacing.in_flight[settled].height;
            pacing.in_flight.drain(..=settled);
            if !committed {
                pacing.in_flight.clear();
            }
        }
    }
    if pacing.in_flight.len() >= PIPELINE_DEPTH {
        return Ok(());
    }
    let (pending, pending_bytes) = chain.mempool_size();
    let waiting = pending.saturating_sub(pacing.in_flight.iter().map(|p| p.txs).sum());
    let waiting_bytes =
        pending_bytes.saturating_sub(pacing.in_flight.iter().map(|p| p.tx_bytes).sum());
    let now_ms = crate::now_ms();
    let interval_passed = now.duration_since(pacing.last_block) >= pacing.block_interval;
    // The head is read only when nothing is in flight: the loop runs this at every message.
    // Empty blocks are cut on the head only.
    // A full block's worth, by count or by bytes, goes at once.
    // A chain a whole time step or more behind the clock (after an outage, or a genesis dated in
    // the past) catches up one block after another, without waiting out the interval.
    let due = waiting >= chain.block_txs_max()
        || waiting_bytes >= chain.block_bytes_max()
        || (interval_passed && waiting > 0)
        || (pacing.in_flight.is_empty() && {
            let head = chain.head();
            Chain::is_behind(&head, now_ms) || (interval_passed && Chain::is_idle(&head, now_ms))
        });
    if !due {
        return Ok(());
    }
    #[allow(clippy::disallowed_methods)] // the node keeps its own time
    let building = Instant::now();
    let on = pacing.in_flight.back().map(|p| p.hash);
    let Some(block) = chain.build_next(now_ms, on)? else {
        return Ok(());
    };
    let hash = block.header.hash(chain.suite());
    let txs = block.txs.len();
    let tx_lens: Vec<usize> = block.txs.iter().map(|tx| tx.encoded_len()).collect();
    let tx_bytes = tx_lens.iter().sum();
    let height = block.header.height;
    let bytes = block.to_bytes();
    chain
        .metrics()
        .block_proposed(building.elapsed(), bytes.len());
    let data = bytes::Bytes::from(bytes.clone());
    match driver.propose(bytes) {
        Ok(()) => {
            let (term, index) = (driver.term(), driver.last_index());
            relay.proposed(term, index, data, &tx_lens);
            pacing.in_flight.push_back(Proposal {
                height,
                hash,
                txs,
                tx_bytes,
                term,
                index,
                since: now,
            });
            pacing.last_block = now;
        }
        Err(e) => tracing::debug!(target: "xinlian.node.raft", error = %e, "proposal refused"),
    }
    Ok(())
}

fn compact(chain: &Chain, driver: &mut Driver<RaftLogStore>, kept: u64) -> Result<()> {
    let applied = chain.storage().applied_index()?;
    let first = raft::Storage::first_index(driver.store()).unwrap_or(1);
    if applied > first + 2 * kept {
        driver.compact(applied - kept).map_err(consensus_error)?;
    }
    Ok(())
}
