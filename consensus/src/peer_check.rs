//! Peer messages checked by role before raft-rs sees them.
//!
//! Raft tolerates crashes, not lies: raft-rs acts on any message type from any member. A member
//! node is operated by another department, so its messages get only what Raft's protocol gives
//! its role:
//! - nobody but this node proposes: `MsgPropose` from a peer would put an entry (a block or a
//!   conf change) into the leader's log without going through this node's checks;
//! - nobody asks this node to hand over leadership (`MsgTransferLeader`); `MsgTimeoutNow`, which
//!   makes a follower campaign at once, counts only from the leader of the current term (the
//!   leader sends it when it transfers leadership while being removed);
//! - a learner never votes or campaigns: from a learner only the answers to the leader's appends
//!   and heartbeats count, and leader messages of a term not behind ours (it may have been
//!   promoted and elected while this node lagged behind the change);
//! - in a term whose leader this node knows, only that leader appends, beats and sends
//!   snapshots;
//! - a heartbeat may not commit beyond this node's log: raft-rs would abort the process on it
//!   (the leader's memory of what this node acknowledged is stale after a restore from backup,
//!   or the heartbeat is forged), so the driver steps it without its commit index;
//! - read-index messages are unused here and refused;
//! - local-only types (`MsgHup`, `MsgBeat`, ...), messages for another member or with a term no
//!   election could have reached are impossible from an honest peer; a peer outside this node's
//!   membership may only act as a leader (it may have joined and been elected while this node
//!   lagged behind the change).

use raft::eraftpb::{Message, MessageType};

/// Why a peer message was dropped before reaching raft-rs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum DropReason {
    /// Addressed to another member.
    WrongRecipient,
    /// From a peer outside the membership.
    UnknownPeer,
    /// A type only the local node may generate (e.g. `MsgHup`).
    LocalOnlyType,
    /// A term beyond any that elections could have reached.
    ImpossibleTerm,
    /// A proposal from a peer: only this node proposes to its own log.
    PeerProposal,
    /// A leadership transfer this node did not start, or a `MsgTimeoutNow` not from the leader.
    LeadershipTransfer,
    /// A learner sent what only voters send (votes, appends, heartbeats, snapshots).
    LearnerRole,
    /// An append, heartbeat or snapshot in the current term from a peer other than the term's
    /// leader: one term has one leader.
    NotLeader,
    /// A heartbeat whose commit index lies beyond this node's log (a node restored from a
    /// backup, or a forged heartbeat meant to crash raft-rs): stepped with the commit removed.
    CommitBeyondLog,
    /// A type this chain does not use (read index).
    Unused,
    /// raft-rs refused it.
    Refused,
}

impl DropReason {
    /// Stable code for metrics and logs.
    pub fn code(self) -> &'static str {
        match self {
            DropReason::WrongRecipient => "wrong_recipient",
            DropReason::UnknownPeer => "unknown_peer",
            DropReason::LocalOnlyType => "local_only_type",
            DropReason::ImpossibleTerm => "impossible_term",
            DropReason::PeerProposal => "peer_proposal",
            DropReason::LeadershipTransfer => "leadership_transfer",
            DropReason::LearnerRole => "learner_role",
            DropReason::NotLeader => "not_leader",
            DropReason::CommitBeyondLog => "commit_beyond_log",
            DropReason::Unused => "unused_type",
            DropReason::Refused => "refused",
        }
    }
}

/// What the checks need to know of this member.
pub(crate) struct View<'a> {
    pub(crate) id: u64,
    pub(crate) term: u64,
    /// The leader of the current term, if known.
    pub(crate) leader: Option<u64>,
    pub(crate) voters: &'a dyn Fn(u64) -> bool,
    pub(crate) learners: &'a dyn Fn(u64) -> bool,
    pub(crate) term_jump_max: u64,
}

/// Checks that `message` could have come from an honest member in its role.
pub(crate) fn check(message: &Message, view: &View<'_>) -> Result<(), DropReason> {
    use MessageType::*;
    if message.to != view.id {
        return Err(DropReason::WrongRecipient);
    }
    let kind = message.get_msg_type();
    if raft::raw_node::is_local_msg(kind) {
        return Err(DropReason::LocalOnlyType);
    }
    let from = message.from;
    if message.term > view.term.saturating_add(view.term_jump_max) {
        return Err(DropReason::ImpossibleTerm);
    }
    match kind {
        MsgPropose => return Err(DropReason::PeerProposal),
        MsgTransferLeader => return Err(DropReason::LeadershipTransfer),
        MsgReadIndex | MsgReadIndexResp => return Err(DropReason::Unused),
        _ => {}
    }
    let leads = matches!(kind, MsgAppend | MsgHeartbeat | MsgSnapshot);
    if !(view.voters)(from) {
        // A node this node knows as a learner, or not at all, may have been promoted and elected
        // while this node lagged behind the change, which it learns of only from the log that
        // leader sends: so it may act as the leader of a term not behind ours (the transport has
        // checked it is a registered node). Apart from that, a learner only answers the leader.
        let learner = (view.learners)(from);
        let may_lead = leads && message.term >= view.term;
        let answers = learner && matches!(kind, MsgAppendResponse | MsgHeartbeatResponse);
        if !may_lead && !answers {
            return Err(if learner {
                DropReason::LearnerRole
            } else {
                DropReason::UnknownPeer
            });
        }
    }
    if kind == MsgTimeoutNow && (view.leader != Some(from) || message.term != view.term) {
        return Err(DropReason::LeadershipTransfer);
    }
    if leads && message.term == view.term && view.leader.is_some_and(|leader| leader != from) {
        return Err(DropReason::NotLeader);
    }
    Ok(())
}
