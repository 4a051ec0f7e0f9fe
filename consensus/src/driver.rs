//! The driver: ticks raft-rs, steps checked peer messages, proposes blocks, and handles `Ready`
//! in the order raft-rs documents (snapshot, apply committed, persist entries and hard state, then
//! release messages; then the light ready).

use std::collections::BTreeMap;

use protobuf::Message as _;
use raft::eraftpb::{
    ConfChange, ConfChangeSingle, ConfChangeV2, Entry, EntryType, Message, MessageType, Snapshot,
};
use raft::{RawNode, StateRole};

use crate::application::{Application, MemberChange};
use crate::peer_check::{self, DropReason};
use crate::{ConsensusError, LogStore, Result};

/// Tunables of one Raft member. Times are in ticks; the node decides how long a tick is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DriverConfig {
    /// This member's Raft id (non-zero).
    pub id: u64,
    /// Ticks without a leader before a (pre-)election.
    pub election_ticks: usize,
    /// Ticks between leader heartbeats.
    pub heartbeat_ticks: usize,
    /// Most bytes of entries in one append message.
    pub append_bytes_max: u64,
    /// Most append messages in flight to one follower.
    pub inflight_msgs_max: usize,
    /// A message whose term exceeds ours by more than this is dropped as impossible: with
    /// pre-vote, terms only grow by real elections, a handful at a time.
    pub term_jump_max: u64,
}

impl Default for DriverConfig {
    fn default() -> Self {
        DriverConfig {
            id: 1,
            election_ticks: 10,
            heartbeat_ticks: 2,
            append_bytes_max: 4 << 20,
            inflight_msgs_max: 64,
            term_jump_max: 10_000,
        }
    }
}

impl DriverConfig {
    /// Checks the fields; the error names the one at fault.
    pub fn validate(&self) -> Result<()> {
        let fail = |m: String| Err(ConsensusError::Config(m));
        if self.id == 0 {
            return fail("id must be non-zero".into());
        }
        if self.heartbeat_ticks == 0 {
            return fail("heartbeat_ticks must be at least 1".into());
        }
        if self.election_ticks < 2 * self.heartbeat_ticks + 1 {
            return fail(format!(
                "election_ticks ({}) must exceed twice heartbeat_ticks ({})",
                self.election_ticks, self.heartbeat_ticks
            ));
        }
        if self.inflight_msgs_max == 0 || self.append_bytes_max == 0 || self.term_jump_max == 0 {
            return fail(
                "inflight_msgs_max, append_bytes_max and term_jump_max must be positive".into(),
            );
        }
        Ok(())
    }

    fn to_raft(&self, applied: u64) -> raft::Config {
        raft::Config {
            id: self.id,
            election_tick: self.election_ticks,
            heartbeat_tick: self.heartbeat_ticks,
            applied,
            max_size_per_msg: self.append_bytes_max,
            max_inflight_msgs: self.inflight_msgs_max,
            pre_vote: true,
            check_quorum: true,
            ..raft::Config::default()
        }
    }
}

/// How a peer message was stepped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stepped {
    /// As it came.
    Whole,
    /// Without the commit index it carried ([`DropReason::CommitBeyondLog`]).
    WithoutCommit,
}

/// A Raft member driven by its owner.
pub struct Driver<S: LogStore> {
    node: RawNode<S>,
    config: DriverConfig,
    dropped: BTreeMap<DropReason, u64>,
    jitter: SplitMix64,
    shape: (u64, StateRole, u64),
}

/// SplitMix64: a tiny seeded generator for election jitter, so a simulation run is a function
/// of its seed. Not for anything secret.
struct SplitMix64(u64);

impl SplitMix64 {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

impl<S: LogStore> Driver<S> {
    /// Starts (or restarts) a member over `store`, whose application has applied up to `applied`.
    /// `jitter_seed` drives the randomised election timeouts: the node passes OS randomness, the
    /// simulation a value derived from its seed.
    ///
    /// A crash can stop a member between any two durable writes, so before raft-rs sees the
    /// store, what it will be told is reconciled with what is durable:
    /// - the application records an entry as applied with its effects, before the hard state that
    ///   says it is committed is saved: the commit index is raised to the applied index (the
    ///   entry was committed, or it would not have been applied, and it is in the durable log);
    /// - a snapshot is stored only after the application caught up to it, so an applied index
    ///   behind the snapshot point means the crash came before the application recorded it: the
    ///   applied index is the snapshot point.
    pub fn new(config: DriverConfig, mut store: S, applied: u64, jitter_seed: u64) -> Result<Self> {
        config.validate()?;
        let applied = reconcile(&mut store, applied)?;
        let raft_config = config.to_raft(applied);
        raft_config.validate()?;
        let logger = slog::Logger::root(slog::Discard, slog::o!());
        let node = RawNode::new(&raft_config, store, &logger)?;
        let shape = (node.raft.term, node.raft.state, node.raft.leader_id);
        let mut driver = Driver {
            node,
            config,
            dropped: BTreeMap::new(),
            jitter: SplitMix64(jitter_seed),
            shape,
        };
        driver.rejitter();
        Ok(driver)
    }

    /// raft-rs draws a fresh election timeout from `thread_rng` whenever a member changes term or
    /// role. Overwrite it from our seeded generator at each such change, before any tick reads
    /// it, so that timing is reproducible from the seed.
    fn rejitter_if_reset(&mut self) {
        let shape = (
            self.node.raft.term,
            self.node.raft.state,
            self.node.raft.leader_id,
        );
        if shape != self.shape {
            self.shape = shape;
            self.rejitter();
        }
    }

    fn rejitter(&mut self) {
        let min = self.config.election_ticks as u64;
        let timeout = min + self.jitter.next() % min;
        self.node
            .raft
            .set_randomized_election_timeout(timeout as usize);
    }

    /// Advances logical time by one tick.
    pub fn tick(&mut self) {
        self.node.tick();
        self.rejitter_if_reset();
    }

    /// This member's id.
    pub fn id(&self) -> u64 {
        self.config.id
    }

    /// The leader this member knows of.
    pub fn leader(&self) -> Option<u64> {
        let leader = self.node.raft.leader_id;
        (leader != raft::INVALID_ID).then_some(leader)
    }

    /// Whether this member leads.
    pub fn is_leader(&self) -> bool {
        self.node.raft.state == StateRole::Leader
    }

    /// The current term.
    pub fn term(&self) -> u64 {
        self.node.raft.term
    }

    /// The committed index.
    pub fn commit_index(&self) -> u64 {
        self.node.raft.raft_log.committed
    }

    /// The last index applied through the application.
    pub fn applied_index(&self) -> u64 {
        self.node.raft.raft_log.applied
    }

    /// Voters of the current membership.
    pub fn voters(&self) -> Vec<u64> {
        self.node.raft.prs().conf().voters().ids().iter().collect()
    }

    /// Learners of the current membership.
    pub fn learners(&self) -> Vec<u64> {
        self.node
            .raft
            .prs()
            .conf()
            .learners()
            .iter()
            .copied()
            .collect()
    }

    /// Whether a membership change was proposed and is not applied yet: raft-rs takes one at a
    /// time and turns a second into an empty entry.
    pub fn membership_change_pending(&self) -> bool {
        self.node.raft.has_pending_conf()
    }

    /// How far member `id`'s log is known to match this leader's (0 when unknown).
    pub fn matched(&self, id: u64) -> u64 {
        self.node.raft.prs().get(id).map_or(0, |p| p.matched)
    }

    /// The last index of this member's log.
    pub fn last_index(&self) -> u64 {
        self.node.raft.raft_log.last_index()
    }

    /// Hands leadership to voter `to`: raft-rs brings it up to date and tells it to campaign.
    pub fn transfer_leadership(&mut self, to: u64) {
        self.node.transfer_leader(to);
        self.rejitter_if_reset();
    }

    /// Messages dropped so far, by reason.
    pub fn dropped(&self) -> &BTreeMap<DropReason, u64> {
        &self.dropped
    }

    /// The log store.
    pub fn store(&self) -> &S {
        self.node.store()
    }

    fn drop_message(&mut self, reason: DropReason) -> Result<Stepped, DropReason> {
        *self.dropped.entry(reason).or_default() += 1;
        Err(reason)
    }

    /// Steps a message from a peer after checking it could have come from an honest member in
    /// its role ([`crate::peer_check`]).
    pub fn step(&mut self, message: Message) -> Result<Stepped, DropReason> {
        let conf = self.node.raft.prs().conf();
        let voters = |id: u64| conf.voters().contains(id);
        let learners = |id: u64| conf.learners().contains(&id);
        let view = peer_check::View {
            id: self.config.id,
            term: self.term(),
            leader: self.leader(),
            voters: &voters,
            learners: &learners,
            term_jump_max: self.config.term_jump_max,
        };
        if let Err(reason) = peer_check::check(&message, &view) {
            return self.drop_message(reason);
        }
        let mut message = message;
        let mut outcome = Stepped::Whole;
        if message.get_msg_type() == MessageType::MsgHeartbeat
            && message.commit > self.node.raft.raft_log.last_index()
        {
            // Only the commit is dropped: the heartbeat still keeps this follower from
            // campaigning, and its answer makes the leader probe and fill this node's log.
            *self.dropped.entry(DropReason::CommitBeyondLog).or_default() += 1;
            message.commit = 0;
            outcome = Stepped::WithoutCommit;
        }
        let stepped = self.node.step(message);
        self.rejitter_if_reset();
        match stepped {
            Ok(()) => Ok(outcome),
            Err(_) => self.drop_message(DropReason::Refused),
        }
    }

    /// Starts an election now (a single-member cluster need not wait for a timeout).
    pub fn campaign(&mut self) -> Result<()> {
        self.node.campaign()?;
        self.rejitter_if_reset();
        Ok(())
    }

    /// Proposes one block (as one log entry). Only the leader may.
    pub fn propose(&mut self, data: Vec<u8>) -> Result<()> {
        if !self.is_leader() {
            return Err(ConsensusError::NotLeader {
                leader: self.leader(),
            });
        }
        self.node.propose(Vec::new(), data)?;
        Ok(())
    }

    /// Proposes adding (`learner` false: as a voter) or removing a member.
    pub fn propose_membership(&mut self, change: ConfChange) -> Result<()> {
        if !self.is_leader() {
            return Err(ConsensusError::NotLeader {
                leader: self.leader(),
            });
        }
        self.node.propose_conf_change(Vec::new(), change)?;
        Ok(())
    }

    /// Drops log entries before `index` once the application has applied past them.
    pub fn compact(&mut self, index: u64) -> Result<()> {
        self.node.mut_store().compact(index)
    }

    /// Handles one `Ready`, if any: catches the application up to a snapshot, applies committed
    /// entries through `app`, persists, and returns the messages to send. Messages are released
    /// only after the entries and hard state they depend on are durable.
    pub fn process_ready(&mut self, app: &mut impl Application) -> Result<Vec<Message>> {
        if !self.node.has_ready() {
            return Ok(Vec::new());
        }
        let mut ready = self.node.ready();
        let mut outgoing = ready.take_messages();
        if !ready.snapshot().is_empty() {
            let snapshot: Snapshot = ready.snapshot().clone();
            let from = self.leader().unwrap_or_default();
            let index = snapshot.get_metadata().index;
            // The application first, the log store after: a crash in between restarts with the
            // old log and the application ahead of it, which replaying entries or a new
            // snapshot reconciles; the other order would leave a log that claims a state the
            // application does not hold.
            app.catch_up(index, from, &snapshot.data)?;
            self.node.mut_store().apply_snapshot(&snapshot)?;
            app.snapshot_applied(index)?;
        }
        self.apply_committed(ready.take_committed_entries(), app)?;
        if !ready.entries().is_empty() {
            self.node.mut_store().append(ready.entries())?;
        }
        if let Some(hard_state) = ready.hs() {
            self.node.mut_store().set_hard_state(hard_state)?;
        }
        outgoing.extend(ready.take_persisted_messages());
        let mut light = self.node.advance(ready);
        if let Some(commit) = light.commit_index() {
            self.node.mut_store().set_commit(commit)?;
        }
        outgoing.extend(light.take_messages());
        self.apply_committed(light.take_committed_entries(), app)?;
        self.node.advance_apply();
        self.rejitter_if_reset();
        Ok(outgoing)
    }

    fn apply_committed(&mut self, entries: Vec<Entry>, app: &mut impl Application) -> Result<()> {
        for entry in entries {
            match entry.get_entry_type() {
                EntryType::EntryNormal if entry.data.is_empty() => {}
                EntryType::EntryNormal => app.apply_entry(entry.index, entry.term, &entry.data)?,
                EntryType::EntryConfChange | EntryType::EntryConfChangeV2 => {
                    self.apply_membership(&entry, app)?;
                }
            }
        }
        Ok(())
    }

    /// Applies a committed membership entry if the application finds it matches committed state,
    /// and refuses it otherwise; either way the same on every member.
    fn apply_membership(&mut self, entry: &Entry, app: &mut impl Application) -> Result<()> {
        let decode_error = |e: protobuf::ProtobufError| {
            ConsensusError::Apply(format!("committed conf change: {e}"))
        };
        let change = if entry.get_entry_type() == EntryType::EntryConfChange {
            let v1 = ConfChange::parse_from_bytes(&entry.data).map_err(decode_error)?;
            let mut single = ConfChangeSingle::default();
            single.set_change_type(v1.get_change_type());
            single.node_id = v1.node_id;
            let mut v2 = ConfChangeV2::default();
            v2.mut_changes().push(single);
            v2
        } else {
            ConfChangeV2::parse_from_bytes(&entry.data).map_err(decode_error)?
        };
        let changes: Vec<MemberChange> = change
            .get_changes()
            .iter()
            .map(|c| MemberChange {
                kind: c.get_change_type(),
                node_id: c.node_id,
            })
            .collect();
        // An empty change (what raft-rs writes for a second change proposed while one is
        // pending) changes nothing and needs no verdict.
        let admitted = !changes.is_empty() && app.admit_membership(entry.index, &changes)?;
        let removes_self = changes.iter().any(|c| {
            c.node_id == self.config.id && c.kind == raft::eraftpb::ConfChangeType::RemoveNode
        });
        if admitted && removes_self && self.is_leader() {
            // raft-rs does not step a leader down when it applies its own removal, and then
            // fails on its missing progress; leadership can come back to a node after its
            // removal was proposed, so step down here and let the others elect a leader.
            let term = self.node.raft.term;
            self.node.raft.become_follower(term, raft::INVALID_ID);
        }
        let conf_state = if admitted {
            let conf_state = self.node.apply_conf_change(&change)?;
            self.node.mut_store().set_conf_state(&conf_state)?;
            conf_state
        } else {
            self.node.raft.prs().conf().to_conf_state()
        };
        app.membership_applied(entry.index, &conf_state.voters, &conf_state.learners)
    }

    /// Reports whether a snapshot message reached `peer`. The leader pauses replication to a peer
    /// while its snapshot is in flight; the transport must say how that ended, or a lost
    /// snapshot would stall the peer for good.
    pub fn report_snapshot(&mut self, peer: u64, delivered: bool) {
        let status = if delivered {
            raft::SnapshotStatus::Finish
        } else {
            raft::SnapshotStatus::Failure
        };
        self.node.report_snapshot(peer, status);
    }

    /// Reports that a peer could not be reached, so raft-rs probes it gently.
    pub fn report_unreachable(&mut self, peer: u64) {
        self.node.report_unreachable(peer);
    }
}

/// Brings the durable state raft-rs will read in line with the application's applied index
/// after a crash (see [`Driver::new`]); returns the applied index to give raft-rs.
fn reconcile<S: LogStore>(store: &mut S, applied: u64) -> Result<u64> {
    let snapshot_point = store.first_index()? - 1;
    let applied = applied.max(snapshot_point);
    let last = store.last_index()?;
    if applied > last {
        return Err(ConsensusError::Store(format!(
            "the application applied index {applied} but the durable Raft log ends at {last}: \
             the store is not the one the application wrote"
        )));
    }
    let commit = store.initial_state()?.hard_state.commit;
    if applied > commit {
        store.set_commit(applied)?;
    }
    Ok(applied)
}
