//! A seeded cluster: nodes with kept "disks", a network that drops, duplicates, delays,
//! partitions and heals, and crashes with restarts. Everything random comes from one seed, so a
//! failing seed replays exactly.

use std::collections::{BTreeMap, BTreeSet};

use xinlian_consensus::{
    Application, ConsensusError, Driver, DriverConfig, MemberChange, Message, MessageType,
};

use crate::crash::{CrashStore, Fuse};

/// A seeded generator (SplitMix64).
pub(crate) struct Rng(u64);

impl Rng {
    pub(crate) fn new(seed: u64) -> Self {
        Rng(seed)
    }

    pub(crate) fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    pub(crate) fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    /// True with probability `per_mille` / 1000.
    pub(crate) fn chance(&mut self, per_mille: u64) -> bool {
        self.below(1000) < per_mille
    }
}

/// How hostile the network and the machines are.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Faults {
    pub(crate) drop_per_mille: u64,
    pub(crate) duplicate_per_mille: u64,
    pub(crate) delay_ticks_max: u64,
    /// Chance per tick that a partition starts (when none is in force).
    pub(crate) partition_per_mille: u64,
    /// Chance per tick that a live node crashes (at most a minority is down at once).
    pub(crate) crash_per_mille: u64,
    pub(crate) outage_ticks_max: u64,
}

impl Faults {
    pub(crate) const NONE: Faults = Faults {
        drop_per_mille: 0,
        duplicate_per_mille: 0,
        delay_ticks_max: 1,
        partition_per_mille: 0,
        crash_per_mille: 0,
        outage_ticks_max: 0,
    };

    pub(crate) const HOSTILE: Faults = Faults {
        drop_per_mille: 100,
        duplicate_per_mille: 50,
        delay_ticks_max: 6,
        partition_per_mille: 8,
        crash_per_mille: 4,
        outage_ticks_max: 300,
    };
}

/// A node: its driver while up, and what survives a crash (log store and applied entries).
struct Node {
    driver: Option<Driver<CrashStore>>,
    disk: xinlian_consensus::MemLogStore,
    /// Armed to crash the node at one of its next durable writes (log or application).
    fuse: Fuse,
    /// The application's durable state.
    app: AppDisk,
    restart_at: Option<u64>,
    restarts: u64,
}

/// What the application keeps on disk: applied blocks by log index, written with the applied
/// index in one step, as the real node's block batch does.
#[derive(Default)]
struct AppDisk {
    applied: BTreeMap<u64, Vec<u8>>,
    applied_index: u64,
}

struct InFlight {
    deliver_at: u64,
    order: u64,
    message: Message,
}

/// The cluster and everything the checks need to know.
pub(crate) struct Cluster {
    pub(crate) seed: u64,
    rng: Rng,
    pub(crate) now: u64,
    nodes: Vec<Node>,
    network: Vec<InFlight>,
    sent: u64,
    /// Group of each node while a partition is in force.
    partition: Option<(Vec<u8>, u64)>,
    faults: Faults,
    next_proposal: u64,
    /// The one entry applied at each index anywhere: two different ones is a safety violation.
    pub(crate) history: BTreeMap<u64, Vec<u8>>,
    /// Proposals a leader reported committed (applied on the proposing leader).
    pub(crate) acknowledged: BTreeSet<Vec<u8>>,
    /// Proposals made and by whom, to know who may acknowledge.
    proposed_by: BTreeMap<Vec<u8>, u64>,
    pub(crate) violations: Vec<String>,
    /// Snapshot deliveries to report back to their senders: (sender, recipient, delivered).
    snapshot_reports: Vec<(u64, u64, bool)>,
    /// Crashes at a durable write inside `Ready` handling.
    pub(crate) mid_ready_crashes: u64,
}

pub(crate) const ELECTION_TICKS: usize = 10;
const COMPACT_EVERY: u64 = 40;
const COMPACT_KEEP: u64 = 5;

fn driver_config(id: u64) -> DriverConfig {
    DriverConfig {
        id,
        election_ticks: ELECTION_TICKS,
        heartbeat_ticks: 2,
        ..DriverConfig::default()
    }
}

impl Cluster {
    pub(crate) fn new(seed: u64, size: u64, faults: Faults) -> Self {
        Self::with_spares(seed, size, 0, faults)
    }

    /// `voters` founding members and `spares` more nodes that run from the start but are not
    /// members until a conf change adds them (their logs start from the founders' membership,
    /// as a joining node's does).
    pub(crate) fn with_spares(seed: u64, voters: u64, spares: u64, faults: Faults) -> Self {
        let founders: Vec<u64> = (1..=voters).collect();
        let mut rng = Rng::new(seed);
        let nodes = (1..=voters + spares)
            .map(|id| {
                let disk = xinlian_consensus::MemLogStore::with_voters(founders.clone());
                let fuse = Fuse::default();
                let store = CrashStore::new(disk.clone(), fuse.clone());
                let driver = Driver::new(driver_config(id), store, 0, rng.next()).unwrap();
                Node {
                    driver: Some(driver),
                    disk,
                    fuse,
                    app: AppDisk::default(),
                    restart_at: None,
                    restarts: 0,
                }
            })
            .collect();
        Cluster {
            seed,
            rng,
            now: 0,
            nodes,
            network: Vec::new(),
            sent: 0,
            partition: None,
            faults,
            next_proposal: 0,
            history: BTreeMap::new(),
            acknowledged: BTreeSet::new(),
            proposed_by: BTreeMap::new(),
            violations: Vec::new(),
            snapshot_reports: Vec::new(),
            mid_ready_crashes: 0,
        }
    }

    pub(crate) fn set_faults(&mut self, faults: Faults) {
        self.faults = faults;
    }

    /// Ends every fault: partitions heal and crashed nodes restart now.
    pub(crate) fn heal(&mut self) {
        self.partition = None;
        for index in 0..self.nodes.len() {
            self.nodes[index].fuse.disarm();
            if self.nodes[index].driver.is_none() {
                self.restart(index);
            }
        }
    }

    fn index_of(id: u64) -> usize {
        (id - 1) as usize
    }

    fn connected(&self, a: u64, b: u64) -> bool {
        match &self.partition {
            Some((groups, _)) => groups[Self::index_of(a)] == groups[Self::index_of(b)],
            None => true,
        }
    }

    /// One tick of the whole world.
    pub(crate) fn step(&mut self, propose_per_mille: u64) {
        self.now += 1;
        self.inject_faults();
        for node in self.nodes.iter_mut() {
            if let Some(driver) = node.driver.as_mut() {
                driver.tick();
            }
        }
        self.deliver_due();
        if self.rng.chance(propose_per_mille) {
            self.propose();
        }
        for index in 0..self.nodes.len() {
            self.process(index);
        }
    }

    fn inject_faults(&mut self) {
        if let Some((_, until)) = &self.partition {
            if self.now >= *until {
                self.partition = None;
            }
        } else if self.rng.chance(self.faults.partition_per_mille) {
            let groups: Vec<u8> = (0..self.nodes.len())
                .map(|_| self.rng.below(2) as u8)
                .collect();
            let until = self.now + 1 + self.rng.below(self.faults.outage_ticks_max.max(1));
            self.partition = Some((groups, until));
        }
        for index in 0..self.nodes.len() {
            if self.nodes[index]
                .restart_at
                .is_some_and(|at| at <= self.now)
            {
                self.restart(index);
            }
        }
        let down = self.nodes.iter().filter(|n| n.driver.is_none()).count();
        let minority = (self.nodes.len() - 1) / 2;
        if down < minority && self.rng.chance(self.faults.crash_per_mille) {
            let index = self.rng.below(self.nodes.len() as u64) as usize;
            // Half the crashes come between two steps of the world, half at one of the node's
            // next few durable writes: in the middle of handling a `Ready`, between applying a
            // block and saving the hard state, or inside snapshot handling.
            if self.rng.chance(500) {
                let writes = self.rng.below(6);
                self.nodes[index].fuse.arm(writes);
            } else {
                self.crash(index);
            }
        }
    }

    fn crash(&mut self, index: usize) {
        let outage = 1 + self.rng.below(self.faults.outage_ticks_max.max(1));
        let node = &mut self.nodes[index];
        node.fuse.disarm();
        if node.driver.take().is_some() {
            node.restart_at = Some(self.now + outage);
        }
    }

    fn restart(&mut self, index: usize) {
        let id = index as u64 + 1;
        let seed = self.rng.next();
        let node = &mut self.nodes[index];
        node.restart_at = None;
        node.restarts += 1;
        let store = CrashStore::new(node.disk.clone(), node.fuse.clone());
        let driver = Driver::new(driver_config(id), store, node.app.applied_index, seed);
        node.driver = Some(
            driver.unwrap_or_else(|e| panic!("seed {}: restart of {id} failed: {e}", self.seed)),
        );
    }

    fn deliver_due(&mut self) {
        let now = self.now;
        let mut due: Vec<InFlight> = Vec::new();
        let mut keep = Vec::with_capacity(self.network.len());
        for flight in self.network.drain(..) {
            if flight.deliver_at <= now {
                due.push(flight)
            } else {
                keep.push(flight)
            }
        }
        self.network = keep;
        due.sort_by_key(|f| (f.deliver_at, f.order));
        for flight in due {
            let (from, to) = (flight.message.from, flight.message.to);
            let is_snapshot = flight.message.get_msg_type() == MessageType::MsgSnapshot;
            let connected = self.connected(from, to);
            let delivered = match self.nodes[Self::index_of(to)].driver.as_mut() {
                Some(driver) if connected => {
                    let _ = driver.step(flight.message);
                    true
                }
                _ => false,
            };
            if is_snapshot {
                self.snapshot_reports.push((from, to, delivered));
            }
        }
        self.report_snapshots();
    }

    /// The transport tells a leader how each snapshot send ended, as request-response would.
    fn report_snapshots(&mut self) {
        for (from, to, delivered) in std::mem::take(&mut self.snapshot_reports) {
            if let Some(driver) = self.nodes[Self::index_of(from)].driver.as_mut() {
                driver.report_snapshot(to, delivered);
            }
        }
    }

    fn propose(&mut self) {
        let Some(index) = self
            .nodes
            .iter()
            .position(|n| n.driver.as_ref().is_some_and(|d| d.is_leader()))
        else {
            return;
        };
        self.next_proposal += 1;
        let data = format!("block-{}-seed-{}", self.next_proposal, self.seed).into_bytes();
        let leader = self.nodes[index].driver.as_mut().unwrap();
        if leader.propose(data.clone()).is_ok() {
            self.proposed_by.insert(data, index as u64 + 1);
        }
    }

    /// The current leader's driver, if a node leads.
    pub(crate) fn leader_driver(&mut self) -> Option<&mut Driver<CrashStore>> {
        self.nodes
            .iter_mut()
            .filter_map(|n| n.driver.as_mut())
            .find(|d| d.is_leader())
    }

    /// Raft's voters and learners as node `id` last applied them (`None` while it is down).
    pub(crate) fn members_of(&self, id: u64) -> Option<(Vec<u64>, Vec<u64>)> {
        let driver = self.nodes[Self::index_of(id)].driver.as_ref()?;
        let (mut voters, mut learners) = (driver.voters(), driver.learners());
        voters.sort_unstable();
        learners.sort_unstable();
        Some((voters, learners))
    }

    /// Proposes `data` through the current leader; false when there is none.
    pub(crate) fn propose_marker(&mut self, data: &[u8]) -> bool {
        let Some(index) = self
            .nodes
            .iter()
            .position(|n| n.driver.as_ref().is_some_and(|d| d.is_leader()))
        else {
            return false;
        };
        let ok = self.nodes[index]
            .driver
            .as_mut()
            .unwrap()
            .propose(data.to_vec())
            .is_ok();
        if ok {
            self.proposed_by.insert(data.to_vec(), index as u64 + 1);
        }
        ok
    }

    fn process(&mut self, index: usize) {
        let id = index as u64 + 1;
        let Some(mut driver) = self.nodes[index].driver.take() else {
            return;
        };
        let node = &mut self.nodes[index];
        let mut app = SimApp {
            seed: self.seed,
            id,
            is_leader: driver.is_leader(),
            disk: &mut node.app,
            fuse: &node.fuse,
            history: &mut self.history,
            acknowledged: &mut self.acknowledged,
            proposed_by: &self.proposed_by,
            violations: &mut self.violations,
        };
        let messages = match driver.process_ready(&mut app) {
            Ok(messages) => messages,
            Err(_) if node.fuse.blown() => {
                self.mid_ready_crashes += 1;
                self.crash(index);
                return;
            }
            Err(e) => panic!("seed {}: node {id} failed to process ready: {e}", self.seed),
        };
        let applied_index = node.app.applied_index;
        if applied_index >= COMPACT_EVERY && applied_index.is_multiple_of(COMPACT_EVERY) {
            let _ = driver.compact(applied_index - COMPACT_KEEP);
        }
        if node.fuse.blown() {
            self.mid_ready_crashes += 1;
            self.crash(index);
            return;
        }
        self.nodes[index].driver = Some(driver);
        for message in messages {
            self.send(message);
        }
    }

    fn send(&mut self, message: Message) {
        if self.rng.chance(self.faults.drop_per_mille) {
            if message.get_msg_type() == MessageType::MsgSnapshot {
                self.snapshot_reports
                    .push((message.from, message.to, false));
            }
            return;
        }
        let copies = if self.rng.chance(self.faults.duplicate_per_mille) {
            2
        } else {
            1
        };
        for _ in 0..copies {
            let delay = 1 + self.rng.below(self.faults.delay_ticks_max.max(1));
            self.sent += 1;
            self.network.push(InFlight {
                deliver_at: self.now + delay,
                order: self.sent,
                message: message.clone(),
            });
        }
    }

    /// Applied blocks of node `id`.
    pub(crate) fn applied(&self, id: u64) -> &BTreeMap<u64, Vec<u8>> {
        &self.nodes[Self::index_of(id)].app.applied
    }

    /// Ids of all nodes.
    pub(crate) fn ids(&self) -> impl Iterator<Item = u64> {
        1..=self.nodes.len() as u64
    }

    /// Restarts so far, over all nodes.
    pub(crate) fn restarts(&self) -> u64 {
        self.nodes.iter().map(|n| n.restarts).sum()
    }

    /// What each node looks like now, for failure messages.
    pub(crate) fn describe(&self) -> String {
        let nodes: Vec<String> = self
            .nodes
            .iter()
            .enumerate()
            .map(|(i, n)| match &n.driver {
                Some(d) => format!(
                    "node {}: term {} leader {:?} commit {} applied {} first {:?} last {:?} voters {:?} learners {:?} dropped {:?}",
                    i + 1,
                    d.term(),
                    d.leader(),
                    d.commit_index(),
                    n.app.applied_index,
                    raft::Storage::first_index(d.store()),
                    raft::Storage::last_index(d.store()),
                    d.voters(),
                    d.learners(),
                    d.dropped()
                ),
                None => format!("node {}: down", i + 1),
            })
            .collect();
        format!(
            "t={} partition={:?} in flight={}\n{}",
            self.now,
            self.partition,
            self.network.len(),
            nodes.join("\n")
        )
    }

    /// A digest of everything observable, to compare two runs of the same seed.
    pub(crate) fn fingerprint(&self) -> String {
        let applied: Vec<_> = self
            .nodes
            .iter()
            .map(|n| (n.app.applied_index, n.app.applied.len()))
            .collect();
        let leaders: Vec<_> = self
            .nodes
            .iter()
            .map(|n| n.driver.as_ref().map(|d| (d.term(), d.leader())))
            .collect();
        format!(
            "{:?} {:?} {:?} {} {}",
            applied,
            leaders,
            self.history.len(),
            self.acknowledged.len(),
            self.sent
        )
    }
}

/// The simulated application of one node for one `Ready`: writes go to its durable state, each
/// behind the node's crash fuse, and every applied block is checked against the cluster's history.
struct SimApp<'a> {
    seed: u64,
    id: u64,
    is_leader: bool,
    disk: &'a mut AppDisk,
    fuse: &'a Fuse,
    history: &'a mut BTreeMap<u64, Vec<u8>>,
    acknowledged: &'a mut BTreeSet<Vec<u8>>,
    proposed_by: &'a BTreeMap<Vec<u8>, u64>,
    violations: &'a mut Vec<String>,
}

impl SimApp<'_> {
    /// Records a block at `log_index`; `advance` moves the applied index with it (block sync
    /// stores blocks without it, as the real node does).
    fn record(&mut self, log_index: u64, data: Vec<u8>, advance: bool) {
        let (seed, id) = (self.seed, self.id);
        match self.history.get(&log_index) {
            Some(existing) if *existing != data => self.violations.push(format!(
                "seed {seed}: node {id} applied {:?} at index {log_index}, another node applied {:?}",
                String::from_utf8_lossy(&data),
                String::from_utf8_lossy(existing)
            )),
            Some(_) => {}
            None => {
                self.history.insert(log_index, data.clone());
            }
        }
        if advance && log_index <= self.disk.applied_index {
            self.violations.push(format!(
                "seed {seed}: node {id} applied index {log_index} again (applied up to {})",
                self.disk.applied_index
            ));
        }
        if let Some(synced) = self.disk.applied.get(&log_index)
            && *synced != data
        {
            self.violations.push(format!(
                "seed {seed}: node {id} synced {:?} at index {log_index} but Raft committed {:?}",
                String::from_utf8_lossy(synced),
                String::from_utf8_lossy(&data)
            ));
        }
        self.disk.applied.insert(log_index, data.clone());
        if advance {
            self.disk.applied_index = log_index;
        }
        if self.is_leader && self.proposed_by.get(&data) == Some(&id) {
            self.acknowledged.insert(data);
        }
    }
}

impl Application for SimApp<'_> {
    fn apply_entry(&mut self, index: u64, _term: u64, data: &[u8]) -> Result<(), ConsensusError> {
        self.fuse.burn()?;
        self.record(index, data.to_vec(), true);
        Ok(())
    }

    fn admit_membership(&mut self, _: u64, _: &[MemberChange]) -> Result<bool, ConsensusError> {
        Ok(true)
    }

    fn membership_applied(
        &mut self,
        index: u64,
        _: &[u64],
        _: &[u64],
    ) -> Result<(), ConsensusError> {
        self.fuse.burn()?;
        self.disk.applied_index = index;
        Ok(())
    }

    /// Block sync: copy what the cluster applied up to the snapshot's index (every block there
    /// was applied by the sender, and `record` compares each with what others applied). A crash
    /// may stop it between any two blocks.
    fn catch_up(&mut self, index: u64, _from: u64, _data: &[u8]) -> Result<(), ConsensusError> {
        let start = self.disk.applied_index + 1;
        let blocks: Vec<(u64, Vec<u8>)> = self
            .history
            .range(start..=index)
            .map(|(i, d)| (*i, d.clone()))
            .collect();
        for (log_index, data) in blocks {
            self.fuse.burn()?;
            self.record(log_index, data, false);
        }
        Ok(())
    }

    fn snapshot_applied(&mut self, index: u64) -> Result<(), ConsensusError> {
        self.fuse.burn()?;
        self.disk.applied_index = self.disk.applied_index.max(index);
        Ok(())
    }
}
