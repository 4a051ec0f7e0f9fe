//! The governance contract: the consortium changes itself by proposal and approval.
//!
//! The electorate is the organisations with the `admin` role; each has one vote, cast by any of
//! its admin members. A proposal takes effect in the transaction that brings its approvals above
//! half the electorate (the default policy), and expires `PROPOSAL_BLOCKS_MAX` blocks after it
//! was made.
//!
//! Keys:
//! - state `gov/proposal/<id>` → [`Proposal`] (id = the proposing transaction's hash)
//! - state `gov/node/<node id>` → [`NodeRecord`]; state `gov/next-raft-id` → u64
//! - state `gov/electorate` → u64; state `gov/settings` → [`Settings`]
//! - index `gov/proposals/<height BE><id>` → empty (listing, newest last)

use xinlian_core::Hash;
use xinlian_core::crypto::{PublicKey, SignatureScheme};
use xinlian_core::genesis::Genesis;
use xinlian_core::limits::{NAME_BYTES_MAX, TEXT_BYTES_MAX};
use xinlian_core::types::{GovCall, GovChange, MemberRole, OrgRole};
pub use xinlian_core::types::{NodeRecord, Proposal, Settings};

use crate::executor::TxContext;
use crate::step::argument;
use crate::system::{self, Member, Organisation};
use crate::{ContractError, ExecError, Overlay, Space, StateReader};

/// Blocks after which an open proposal can no longer be approved.
pub const PROPOSAL_BLOCKS_MAX: u64 = 100_000;

const ELECTORATE_KEY: &[u8] = b"gov/electorate";
const NEXT_RAFT_ID_KEY: &[u8] = b"gov/next-raft-id";
const SETTINGS_KEY: &[u8] = b"gov/settings";
const NODE_IDS_KEY: &[u8] = b"gov/node-ids";

/// State key of a proposal.
pub fn proposal_key(id: &Hash) -> Vec<u8> {
    [b"gov/proposal/".as_slice(), id.as_bytes()].concat()
}

/// State key of a node record.
pub fn node_key(id: &str) -> Vec<u8> {
    [b"gov/node/".as_slice(), id.as_bytes()].concat()
}

/// Prefix of node records, for listing.
pub const NODE_PREFIX: &[u8] = b"gov/node/";
/// Prefix of the proposal listing index.
pub const PROPOSALS_INDEX_PREFIX: &[u8] = b"gov/proposals/";

/// Genesis governance state: node records with Raft ids 1..=n in genesis order, the electorate,
/// and the settings.
pub fn genesis_writes(genesis: &Genesis, state: &mut Overlay<'_>) {
    let mut raft_id = 0;
    for (org, node) in genesis.nodes() {
        raft_id += 1;
        let record = NodeRecord {
            id: node.id.clone(),
            org: org.uscc.clone(),
            public_key: node.public_key.clone(),
            p2p_peer_id: node.p2p_peer_id.clone(),
            raft_id,
            learner: false,
            removed: false,
        };
        state.put_value(Space::State, node_key(&node.id), &record);
    }
    state.put_value(Space::State, NEXT_RAFT_ID_KEY.to_vec(), &(raft_id + 1));
    let ids: Vec<String> = genesis.nodes().map(|(_, n)| n.id.clone()).collect();
    state.put_value(Space::State, NODE_IDS_KEY.to_vec(), &ids);
    let electorate = genesis
        .organisations
        .iter()
        .filter(|o| o.roles.contains(&OrgRole::Admin))
        .count() as u64;
    state.put_value(Space::State, ELECTORATE_KEY.to_vec(), &electorate);
    let settings = Settings {
        signature_schemes: genesis.signature_schemes.clone(),
    };
    state.put_value(Space::State, SETTINGS_KEY.to_vec(), &settings);
}

/// The accepted signature schemes, as governance last set them.
pub fn settings(state: &Overlay<'_>) -> Result<Option<Settings>, ExecError> {
    state.get_value(Space::State, SETTINGS_KEY)
}

/// Organisations with a vote (those with the admin role).
pub fn electorate(state: &Overlay<'_>) -> Result<u64, ExecError> {
    Ok(state.get_value(Space::State, ELECTORATE_KEY)?.unwrap_or(1))
}

/// Approvals a proposal needs to take effect: more than half the electorate.
pub fn approvals_needed(electorate: u64) -> u64 {
    electorate / 2 + 1
}

/// A stored proposal.
pub fn proposal(state: &Overlay<'_>, id: &Hash) -> Result<Option<Proposal>, ExecError> {
    state.get_value(Space::State, &proposal_key(id))
}

/// Whether `member` may take part in governance.
pub fn is_governor(state: &Overlay<'_>, member: &Member) -> Result<bool, ExecError> {
    if member.role != MemberRole::Admin {
        return Ok(false);
    }
    system::org_has_role(state, &member.org, OrgRole::Admin)
}

type Outcome = Result<Result<(), ContractError>, ExecError>;

/// Executes a governance call for a sender already checked to be a governor.
pub fn execute(
    state: &mut Overlay<'_>,
    ctx: &TxContext<'_>,
    sender: &Member,
    call: &GovCall,
) -> Outcome {
    match call {
        GovCall::Propose { change, memo } => propose(state, ctx, sender, change, memo),
        GovCall::Approve { proposal_id } => approve(state, ctx, sender, proposal_id),
    }
}

fn propose(
    state: &mut Overlay<'_>,
    ctx: &TxContext<'_>,
    sender: &Member,
    change: &GovChange,
    memo: &str,
) -> Outcome {
    if let Err(e) = check_memo(memo) {
        return Ok(Err(e));
    }
    if let Err(e) = validate_change(state, ctx, change)? {
        return Ok(Err(e));
    }
    let height = ctx.block.height;
    let proposal = Proposal {
        id: ctx.tx_hash,
        change: change.clone(),
        memo: memo.to_string(),
        approvals: vec![sender.org.clone()],
        created_height: height,
        expires_at_height: height + PROPOSAL_BLOCKS_MAX,
        executed_height: None,
    };
    let index = [
        PROPOSALS_INDEX_PREFIX,
        &height.to_be_bytes(),
        ctx.tx_hash.as_bytes(),
    ]
    .concat();
    state.put(Space::Index, index, Vec::new());
    settle(state, ctx, proposal)
}

fn approve(state: &mut Overlay<'_>, ctx: &TxContext<'_>, sender: &Member, id: &Hash) -> Outcome {
    let Some(mut proposal) = state.get_value::<Proposal>(Space::State, &proposal_key(id))? else {
        return Ok(Err(ContractError::ProposalNotFound(id.to_hex())));
    };
    if proposal.executed_height.is_some() {
        return Ok(Err(ContractError::ProposalClosed(id.to_hex())));
    }
    if ctx.block.height > proposal.expires_at_height {
        return Ok(Err(ContractError::ProposalExpired {
            id: id.to_hex(),
            expired_at: proposal.expires_at_height,
        }));
    }
    if proposal.approvals.contains(&sender.org) {
        return Ok(Err(ContractError::AlreadyApproved(sender.org.to_string())));
    }
    proposal.approvals.push(sender.org.clone());
    settle(state, ctx, proposal)
}

/// Stores the proposal and, once more than half the electorate approved, applies its change.
fn settle(state: &mut Overlay<'_>, ctx: &TxContext<'_>, mut proposal: Proposal) -> Outcome {
    if proposal.approvals.len() as u64 >= approvals_needed(electorate(state)?) {
        // The state may have moved since the proposal was made: check again before applying.
        if let Err(e) = validate_change(state, ctx, &proposal.change)? {
            return Ok(Err(e));
        }
        apply_change(state, ctx, &proposal.change)?;
        proposal.executed_height = Some(ctx.block.height);
    }
    state.put_value(Space::State, proposal_key(&proposal.id), &proposal);
    Ok(Ok(()))
}

fn text(field: &'static str, value: &str) -> Result<(), ContractError> {
    system::check_text(field, value, 1, NAME_BYTES_MAX)
}

// The stateless rules of a proposal, shared with admission (`crate::check_bounds`): each is
// called where execution checks it, so the order of refusals (and receipts) stays as it was.

/// A proposal's memo: at most `TEXT_BYTES_MAX` bytes.
pub(crate) fn check_memo(memo: &str) -> Result<(), ContractError> {
    system::check_text("memo", memo, 0, TEXT_BYTES_MAX)
}

/// A new organisation: at least one admin key, then a name of 1 to `NAME_BYTES_MAX` bytes.
pub(crate) fn check_new_organisation(
    name: &str,
    admins: &[PublicKey],
) -> Result<(), ContractError> {
    if admins.is_empty() {
        return Err(argument("admins", "at least one admin key"));
    }
    text("name", name)
}

/// A new node's id, then its peer id: each 1 to `NAME_BYTES_MAX` bytes.
pub(crate) fn check_new_node(id: &str, p2p_peer_id: &str) -> Result<(), ContractError> {
    text("id", id).and_then(|()| text("p2p_peer_id", p2p_peer_id))
}

/// The accepted signature schemes: at least one.
pub(crate) fn check_schemes(schemes: &[SignatureScheme]) -> Result<(), ContractError> {
    if schemes.is_empty() {
        return Err(argument("schemes", "at least one scheme"));
    }
    Ok(())
}

/// The stateless rules of a change, in the order [`validate_change`] checks them.
pub(crate) fn check_change(change: &GovChange) -> Result<(), ContractError> {
    match change {
        GovChange::AddOrganisation { name, admins, .. } => check_new_organisation(name, admins),
        GovChange::AddNode {
            id, p2p_peer_id, ..
        } => check_new_node(id, p2p_peer_id),
        GovChange::SetSignatureSchemes { schemes } => check_schemes(schemes),
        GovChange::RemoveNode { .. } | GovChange::SetRequiredCertificates { .. } => Ok(()),
    }
}

fn validate_change(
    state: &Overlay<'_>,
    ctx: &TxContext<'_>,
    change: &GovChange,
) -> Result<Result<(), ContractError>, ExecError> {
    Ok(match change {
        GovChange::AddOrganisation {
            uscc, name, admins, ..
        } => {
            if state.get(Space::State, &system::org_key(uscc))?.is_some() {
                Err(ContractError::OrganisationExists(uscc.to_string()))
            } else {
                check_new_organisation(name, admins)
            }
        }
        GovChange::AddNode {
            org,
            id,
            public_key,
            p2p_peer_id,
            ..
        } => {
            if state.get(Space::State, &system::org_key(org))?.is_none() {
                Err(ContractError::UnknownOrganisation(org.to_string()))
            } else if state.get(Space::State, &node_key(id))?.is_some()
                || node_uses(state, public_key, p2p_peer_id)?
            {
                Err(ContractError::NodeExists(id.clone()))
            } else if !ctx.accepts(public_key.scheme()) {
                Err(ContractError::SchemeNotAccepted(
                    public_key.scheme().to_string(),
                ))
            } else {
                check_new_node(id, p2p_peer_id)
            }
        }
        GovChange::RemoveNode { id } => {
            match state.get_value::<NodeRecord>(Space::State, &node_key(id))? {
                Some(node) if !node.removed => Ok(()),
                _ => Err(ContractError::NodeNotFound(id.clone())),
            }
        }
        GovChange::SetSignatureSchemes { schemes } => check_schemes(schemes),
        GovChange::SetRequiredCertificates { .. } => Ok(()),
    })
}

/// Whether a key or peer id is already used by a node.
fn node_uses(state: &Overlay<'_>, key: &PublicKey, peer: &str) -> Result<bool, ExecError> {
    // Nodes are few (one or two per department): a scan is cheap and needs no extra index.
    Ok(list_nodes(state)?
        .iter()
        .any(|n| n.public_key == *key || n.p2p_peer_id == peer))
}

/// Every node record, in the order nodes joined.
pub fn list_nodes(state: &Overlay<'_>) -> Result<Vec<NodeRecord>, ExecError> {
    let ids: Vec<String> = state
        .get_value(Space::State, NODE_IDS_KEY)?
        .unwrap_or_default();
    let mut nodes = Vec::with_capacity(ids.len());
    for id in ids {
        if let Some(node) = state.get_value(Space::State, &node_key(&id))? {
            nodes.push(node);
        }
    }
    Ok(nodes)
}

fn apply_change(
    state: &mut Overlay<'_>,
    ctx: &TxContext<'_>,
    change: &GovChange,
) -> Result<(), ExecError> {
    match change {
        GovChange::AddOrganisation {
            uscc,
            name,
            roles,
            admins,
        } => {
            let org = Organisation {
                uscc: uscc.clone(),
                name: name.clone(),
                roles: roles.clone(),
            };
            state.put_value(Space::State, system::org_key(uscc), &org);
            system::add_admins(state, ctx.rules.suite, &org, admins, ctx.block.height);
            if roles.contains(&OrgRole::Admin) {
                let electorate: u64 = state.get_value(Space::State, ELECTORATE_KEY)?.unwrap_or(0);
                state.put_value(Space::State, ELECTORATE_KEY.to_vec(), &(electorate + 1));
            }
        }
        GovChange::AddNode {
            org,
            id,
            public_key,
            p2p_peer_id,
            learner,
        } => {
            let raft_id: u64 = state
                .get_value(Space::State, NEXT_RAFT_ID_KEY)?
                .unwrap_or(1);
            state.put_value(Space::State, NEXT_RAFT_ID_KEY.to_vec(), &(raft_id + 1));
            let record = NodeRecord {
                id: id.clone(),
                org: org.clone(),
                public_key: public_key.clone(),
                p2p_peer_id: p2p_peer_id.clone(),
                raft_id,
                learner: *learner,
                removed: false,
            };
            state.put_value(Space::State, node_key(id), &record);
            let mut ids: Vec<String> = state
                .get_value(Space::State, NODE_IDS_KEY)?
                .unwrap_or_default();
            ids.push(id.clone());
            state.put_value(Space::State, NODE_IDS_KEY.to_vec(), &ids);
        }
        GovChange::RemoveNode { id } => {
            if let Some(mut node) = state.get_value::<NodeRecord>(Space::State, &node_key(id))? {
                node.removed = true;
                state.put_value(Space::State, node_key(id), &node);
            }
        }
        GovChange::SetRequiredCertificates { kinds } => {
            let mut config = crate::coldchain::config(state)?;
            let mut kinds = kinds.clone();
            kinds.sort_unstable();
            kinds.dedup();
            config.required_certificates = kinds;
            crate::coldchain::set_config(state, &config);
        }
        GovChange::SetSignatureSchemes { schemes } => {
            state.put_value(
                Space::State,
                SETTINGS_KEY.to_vec(),
                &Settings {
                    signature_schemes: schemes.clone(),
                },
            );
        }
    }
    Ok(())
}
