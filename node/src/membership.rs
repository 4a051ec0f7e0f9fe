//! Who the consensus nodes are: the governance node registry in committed state, and the step
//! that brings Raft's own membership in line with it.
//!
//! Governance decides membership in a block; Raft learns it afterwards through conf changes that
//! only the leader proposes, one at a time. Every node reads the same registry at the same
//! height, so the transport's allow list, the proposer check and the leader's conf changes all
//! follow one source. A leader that dies halfway is harmless: the next one compares again.

use xinlian_contracts::Overlay;
use xinlian_contracts::governance;
use xinlian_core::crypto::PublicKey;
use xinlian_core::types::NodeRecord;

use crate::storage::Storage;
use crate::{Error, Result};

/// A learner that should become a voter is promoted once its log is at most this many entries
/// behind the leader's, so a new voter never stalls commits while it catches up.
pub const PROMOTE_LAG_ENTRIES_MAX: u64 = 8;

/// The node registry as of the committed head, and Raft's members as this node last applied
/// them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Membership {
    nodes: Vec<NodeRecord>,
    raft_voters: Vec<u64>,
    raft_learners: Vec<u64>,
}

impl Membership {
    /// Reads the registry from committed state.
    pub fn load(storage: &Storage) -> Result<Self> {
        let nodes = governance::list_nodes(&Overlay::new(storage)).map_err(Error::from)?;
        Ok(Membership::from_records(nodes))
    }

    /// A registry of these records, with no Raft members known yet.
    pub fn from_records(nodes: Vec<NodeRecord>) -> Self {
        Membership {
            nodes,
            raft_voters: Vec::new(),
            raft_learners: Vec::new(),
        }
    }

    /// The same registry with Raft's current voters and learners.
    pub fn with_raft_members(mut self, mut voters: Vec<u64>, mut learners: Vec<u64>) -> Self {
        voters.sort_unstable();
        learners.sort_unstable();
        self.raft_voters = voters;
        self.raft_learners = learners;
        self
    }

    /// Raft's voters as last applied here.
    pub fn raft_voters(&self) -> &[u64] {
        &self.raft_voters
    }

    /// Raft's learners as last applied here.
    pub fn raft_learners(&self) -> &[u64] {
        &self.raft_learners
    }

    /// Whether Raft (as last applied here) counts `raft_id` as a voter or learner.
    pub fn in_raft(&self, raft_id: u64) -> bool {
        self.raft_voters.contains(&raft_id) || self.raft_learners.contains(&raft_id)
    }

    /// Nodes the transport lets in: active ones, and removed ones until Raft has applied their
    /// removal (their vote may still be needed to commit it).
    pub fn reachable(&self) -> impl Iterator<Item = &NodeRecord> {
        self.nodes
            .iter()
            .filter(|n| !n.removed || self.in_raft(n.raft_id))
    }

    /// Every record, removed ones included, in the order nodes joined.
    pub fn nodes(&self) -> &[NodeRecord] {
        &self.nodes
    }

    /// Records of nodes not removed.
    pub fn active(&self) -> impl Iterator<Item = &NodeRecord> {
        self.nodes.iter().filter(|n| !n.removed)
    }

    /// The record of node `id`.
    pub fn by_id(&self, id: &str) -> Option<&NodeRecord> {
        self.nodes.iter().find(|n| n.id == id)
    }

    /// The record behind a Raft id.
    pub fn by_raft_id(&self, raft_id: u64) -> Option<&NodeRecord> {
        self.nodes.iter().find(|n| n.raft_id == raft_id)
    }

    /// Raft ids of the nodes that should vote.
    pub fn voters(&self) -> Vec<u64> {
        self.active()
            .filter(|n| !n.learner)
            .map(|n| n.raft_id)
            .collect()
    }

    /// Whether `key` belongs to a node that may propose blocks (an active voter).
    pub fn may_propose(&self, key: &PublicKey) -> bool {
        self.active().any(|n| !n.learner && n.public_key == *key)
    }
}

/// Checks a committed Raft membership change against the registry as of the blocks applied
/// before it: only the leader's translation of a governance decision passes ([`next_step`]
/// proposes exactly these). Every node checks the same entry against the same registry, so all
/// refuse or all apply. A refused change leaves Raft's membership as it is; a leader whose step
/// was overtaken by a later decision simply compares again.
pub fn check_change(
    membership: &Membership,
    changes: &[xinlian_consensus::MemberChange],
) -> std::result::Result<(), String> {
    use xinlian_consensus::ConfChangeType;
    let [change] = changes else {
        return Err(format!(
            "{} changes in one entry; the leader proposes one at a time",
            changes.len()
        ));
    };
    let id = change.node_id;
    let record = membership.active().find(|n| n.raft_id == id);
    match (change.kind, record) {
        (ConfChangeType::AddLearnerNode, Some(_)) => Ok(()),
        (ConfChangeType::AddNode, Some(node)) if !node.learner => Ok(()),
        (ConfChangeType::AddNode, Some(_)) => Err(format!(
            "Raft member {id} is registered as a learner, not a voter"
        )),
        (ConfChangeType::RemoveNode, None) => Ok(()),
        (ConfChangeType::RemoveNode, Some(node)) => Err(format!(
            "node {:?} (Raft member {id}) is active in the registry",
            node.id
        )),
        (_, None) => Err(format!(
            "Raft member {id} is not an active node in the registry"
        )),
    }
}

/// Raft's membership as the leader sees it.
pub struct RaftView<'a> {
    /// The leader's own Raft id.
    pub leader: u64,
    /// Current voters.
    pub voters: &'a [u64],
    /// Current learners.
    pub learners: &'a [u64],
    /// The leader's last log index.
    pub last_index: u64,
    /// How far a member's log matches the leader's.
    pub matched: &'a dyn Fn(u64) -> u64,
}

/// One step towards the registry's membership.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step {
    /// Add a node as a learner: new voters start here too, until they catch up.
    AddLearner(u64),
    /// Make a caught-up learner a voter.
    Promote(u64),
    /// Remove a member.
    Remove(u64),
    /// The leader itself must go: hand leadership to this voter first (raft-rs does not step a
    /// removed leader down cleanly).
    TransferLeadership(u64),
}

/// The next step, or `None` when Raft already matches the registry (or must wait for a learner
/// to catch up). Additions come before removals, so fault tolerance never dips lower than it
/// must.
pub fn next_step(membership: &Membership, raft: &RaftView<'_>) -> Option<Step> {
    let is_voter = |id: u64| raft.voters.contains(&id);
    let is_learner = |id: u64| raft.learners.contains(&id);
    for node in membership.active() {
        let id = node.raft_id;
        if !is_voter(id) && !is_learner(id) {
            return Some(Step::AddLearner(id));
        }
        // `matched` is 0 until the learner has acknowledged an append: a node not started yet
        // is never promoted.
        let matched = (raft.matched)(id);
        let caught_up = matched > 0 && matched + PROMOTE_LAG_ENTRIES_MAX >= raft.last_index;
        if !node.learner && is_learner(id) && caught_up {
            return Some(Step::Promote(id));
        }
    }
    let wanted = |id: u64| membership.active().any(|n| n.raft_id == id);
    let unwanted = raft
        .voters
        .iter()
        .chain(raft.learners)
        .copied()
        .find(|id| !wanted(*id))?;
    if unwanted != raft.leader {
        return Some(Step::Remove(unwanted));
    }
    // The most caught-up voter takes over (the lowest id among equals, to be predictable).
    let successor = membership
        .voters()
        .into_iter()
        .filter(|id| *id != raft.leader && is_voter(*id))
        .max_by_key(|id| ((raft.matched)(*id), std::cmp::Reverse(*id)))?;
    Some(Step::TransferLeadership(successor))
}

#[cfg(test)]
mod tests {
    use super::*;
    use xinlian_core::crypto::{PrivateKey, SignatureScheme};
    use xinlian_core::ids::Uscc;

    fn record(raft_id: u64, learner: bool, removed: bool) -> NodeRecord {
        let key = PrivateKey::from_seed(SignatureScheme::Ed25519, [raft_id as u8; 32])
            .expect("a valid seed");
        NodeRecord {
            id: format!("node{raft_id}"),
            org: Uscc::with_check_character("11410100MB1234567").expect("valid"),
            public_key: key.public_key(),
            p2p_peer_id: format!("peer{raft_id}"),
            raft_id,
            learner,
            removed,
        }
    }

    fn step(records: Vec<NodeRecord>, voters: &[u64], learners: &[u64], lag: u64) -> Option<Step> {
        let membership = Membership::from_records(records);
        let matched = move |_id: u64| 100 - lag;
        next_step(
            &membership,
            &RaftView {
                leader: 1,
                voters,
                learners,
                last_index: 100,
                matched: &matched,
            },
        )
    }

    #[test]
    fn in_line_with_the_registry_nothing_happens() {
        let records = vec![record(1, false, false), record(2, false, false)];
        assert_eq!(step(records, &[1, 2], &[], 0), None);
    }

    #[test]
    fn a_new_voter_joins_as_learner_and_is_promoted_once_caught_up() {
        let records = vec![record(1, false, false), record(2, false, false)];
        assert_eq!(
            step(records.clone(), &[1], &[], 0),
            Some(Step::AddLearner(2))
        );
        assert_eq!(step(records.clone(), &[1], &[2], 50), None);
        assert_eq!(
            step(records.clone(), &[1], &[2], 100),
            None,
            "never heard from"
        );
        assert_eq!(step(records, &[1], &[2], 3), Some(Step::Promote(2)));
    }

    #[test]
    fn a_learner_node_stays_a_learner() {
        let records = vec![record(1, false, false), record(2, true, false)];
        assert_eq!(
            step(records.clone(), &[1], &[], 0),
            Some(Step::AddLearner(2))
        );
        assert_eq!(step(records, &[1], &[2], 0), None);
    }

    #[test]
    fn removed_nodes_leave_after_additions() {
        let records = vec![
            record(1, false, false),
            record(2, false, true),
            record(3, false, false),
        ];
        assert_eq!(
            step(records.clone(), &[1, 2], &[], 0),
            Some(Step::AddLearner(3))
        );
        assert_eq!(step(records, &[1, 2, 3], &[], 0), Some(Step::Remove(2)));
    }

    #[test]
    fn a_removed_leader_hands_over_first() {
        let records = vec![
            record(1, false, true),
            record(2, false, false),
            record(3, false, false),
        ];
        assert_eq!(
            step(records, &[1, 2, 3], &[], 0),
            Some(Step::TransferLeadership(2))
        );
    }

    #[test]
    fn a_removed_node_stays_reachable_until_raft_removes_it() {
        let records = vec![record(1, false, false), record(2, false, true)];
        let membership = Membership::from_records(records);
        let reachable = |m: &Membership| m.reachable().map(|n| n.raft_id).collect::<Vec<_>>();
        assert_eq!(
            reachable(&membership.clone().with_raft_members(vec![2, 1], vec![])),
            vec![1, 2]
        );
        assert_eq!(
            reachable(&membership.with_raft_members(vec![1], vec![])),
            vec![1]
        );
    }

    #[test]
    fn proposers_are_active_voters_only() {
        let records = vec![
            record(1, false, false),
            record(2, true, false),
            record(3, false, true),
        ];
        let keys: Vec<PublicKey> = records.iter().map(|r| r.public_key.clone()).collect();
        let membership = Membership::from_records(records);
        assert!(membership.may_propose(&keys[0]));
        assert!(!membership.may_propose(&keys[1]));
        assert!(!membership.may_propose(&keys[2]));
        assert_eq!(membership.voters(), vec![1]);
    }
}
