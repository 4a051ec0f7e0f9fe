//! JSON bodies of the HTTP API, shared by the node (which writes them) and the SDK (which reads
//! them). Byte fields are lowercase hex.

use serde::{Deserialize, Serialize};

use crate::Hash;
use crate::crypto::Signature;
use crate::crypto::SignatureScheme;
use crate::genesis::Suite;
use crate::types::{Block, BlockHeader, NodeRecord, Proposal, Receipt, SignedTransaction};

/// Every error the API returns: `{"error": {"code": ..., "message": ...}}`.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorResponse {
    /// The error.
    pub error: ErrorBody,
}

/// A stable code and a message for people.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// Stable, machine-readable, snake case (e.g. `bad_signature`).
    pub code: String,
    /// What was wrong, naming the offending value.
    pub message: String,
}

/// Answer to `POST /v1/txs`.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubmitTxResponse {
    /// The accepted transaction's hash.
    pub tx_hash: Hash,
}

/// Where a transaction stands.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TxState {
    /// Accepted into the mempool, not yet in a block.
    Pending,
    /// In a block; see the receipt for success or failure.
    Committed,
    /// Dropped before reaching a block (e.g. its validity window passed).
    Rejected,
}

/// Answer to `GET /v1/txs/{hash}`.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TxStatusResponse {
    /// The transaction's hash.
    pub tx_hash: Hash,
    /// Pending, committed or rejected.
    pub status: TxState,
    /// Height of the block holding it, once committed.
    pub height: Option<u64>,
    /// Its receipt, once committed; null also for a transaction of a block this node took with
    /// a state snapshot rather than executed (another node has it).
    pub receipt: Option<Receipt>,
    /// Why it was rejected, when it was.
    pub error: Option<ErrorBody>,
    /// The transaction itself, once committed.
    pub tx: Option<SignedTransaction>,
}

/// Answer to `GET /v1/blocks/{height}` and `/v1/blocks/latest`.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlockResponse {
    /// The block hash.
    pub hash: Hash,
    /// The header.
    pub header: BlockHeader,
    /// The proposer's signature.
    pub signature: Signature,
    /// Hashes of the transactions, in order.
    pub tx_hashes: Vec<Hash>,
    /// The transactions.
    pub txs: Vec<SignedTransaction>,
    /// Commit certificates of earlier blocks that this block carries on chain.
    pub carried_certificates: Vec<crate::certificate::CommitCertificate>,
    /// The voters' signatures on this block, once a quorum signed it (a moment after it
    /// committed); check it with `CommitCertificate::verify` against the voters' keys.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certificate: Option<crate::certificate::CommitCertificate>,
}

impl BlockResponse {
    /// Builds the view of `block`, without a certificate.
    pub fn new(block: Block, suite: crate::HashSuite) -> Self {
        BlockResponse {
            hash: block.header.hash(suite),
            tx_hashes: block.txs.iter().map(|t| t.hash(suite)).collect(),
            header: block.header,
            signature: block.signature,
            txs: block.txs,
            carried_certificates: block.certificates,
            certificate: None,
        }
    }
}

/// Answer to `GET /v1/status`.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusResponse {
    /// The chain id.
    pub chain_id: String,
    /// This node's id from genesis.
    pub node_id: String,
    /// Latest committed height (0 before the first block).
    pub height: u64,
    /// Hash of the latest block (the genesis hash at height 0).
    pub latest_hash: Hash,
    /// The genesis hash.
    pub genesis_hash: Hash,
    /// Node id of the current leader, if known.
    pub leader: Option<String>,
    /// This node's place in the consortium.
    pub membership: NodeMembership,
    /// Why consensus halted on this node (its execution disagreed with a committed block), if
    /// it did: its answers may be stale or diverged, ask another node.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub halted: Option<String>,
    /// The cryptographic suite.
    pub suite: Suite,
    /// Schemes the chain accepts.
    pub signature_schemes: Vec<SignatureScheme>,
    /// Transactions waiting in this node's mempool.
    pub mempool_txs: usize,
    /// Node software version.
    pub version: String,
}

/// A node's place in the consortium, as its own registry copy says.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NodeMembership {
    /// Votes and may lead.
    Voter,
    /// Replicates blocks, does not vote (an observer such as a regulator).
    Learner,
    /// Not in the registry yet: syncing blocks until governance adds it.
    Joining,
    /// Removed by governance; serves its copy of the chain, takes no part in consensus.
    Removed,
}

/// Answer to `GET /v1/gov/nodes`.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GovNodesResponse {
    /// The node registry, removed nodes included, in the order nodes joined.
    pub nodes: Vec<NodeRecord>,
    /// Raft ids of Raft's voters as this node last applied them; they follow the registry
    /// through the leader's conf changes (a new voter is a learner until it has caught up).
    pub raft_voters: Vec<u64>,
    /// Raft ids of Raft's learners as this node last applied them.
    pub raft_learners: Vec<u64>,
}

/// Answer to `GET /v1/gov/voters`: the voters whose votes certify blocks at a height.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct VotersResponse {
    /// The height asked about.
    pub height: u64,
    /// The height from which this set is in force (the block that last changed it).
    pub since_height: u64,
    /// Votes a certificate needs: a majority.
    pub quorum: usize,
    /// The voters, by node id.
    pub voters: Vec<VoterEntry>,
}

/// One voter: its node id and block-signing key.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct VoterEntry {
    /// The node id.
    pub node_id: String,
    /// Its node key, which signs its votes.
    pub public_key: crate::crypto::PublicKey,
}

/// One change of the voters: who votes after the block at `height`, with the proof of it.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VoterChange {
    /// The block that changed the voters; the new ones certify the blocks after it.
    pub height: u64,
    /// The voters from `height + 1` on.
    pub voters: Vec<VoterEntry>,
    /// The node registry proved under that block's header, whose certificate the voters before
    /// the change signed (query `{"kind": "voters"}`).
    pub proof: crate::proof::ProofBundle,
}

/// Answer to `GET /v1/gov/voter-changes`: the changes after a height, oldest first.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VoterChangesResponse {
    /// The changes, oldest first.
    pub changes: Vec<VoterChange>,
    /// Ask again with `after` = this for the ones after these; absent when these are all.
    pub next_after: Option<u64>,
}

impl VotersResponse {
    /// The set as a verifier takes it.
    pub fn voter_set(&self) -> crate::certificate::VoterSet {
        crate::certificate::VoterSet::new(
            self.voters
                .iter()
                .map(|v| (v.node_id.clone(), v.public_key.clone())),
        )
    }
}

/// Where a proposal stands.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProposalStatus {
    /// Open for approvals.
    Open,
    /// Took effect.
    Executed,
    /// Its approval window closed first.
    Expired,
}

/// A proposal with where it stands.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProposalView {
    /// The proposal as stored.
    #[serde(flatten)]
    pub proposal: Proposal,
    /// Where it stands at the node's head.
    pub status: ProposalStatus,
    /// Approvals it needs in all under the current policy (a majority of admin organisations).
    pub approvals_needed: u64,
}

/// Answer to `GET /v1/gov/proposals`.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProposalsResponse {
    /// Proposals, newest first.
    pub proposals: Vec<ProposalView>,
    /// The link to the next page (older proposals), absent when no more match.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next: Option<String>,
}
pub mod auth;
pub mod console;
pub mod licence;
pub mod trace;

/// Answer to `GET /v1/members/{public_key}`.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberResponse {
    /// The member's key.
    pub public_key: crate::crypto::PublicKey,
    /// The organisation it acts for.
    pub org: crate::ids::Uscc,
    /// Display name.
    pub name: String,
    /// Its role.
    pub role: crate::types::MemberRole,
    /// Height it was registered at.
    pub registered_at: u64,
    /// With `?proof=true`: the state entries this answer was derived from, proved under a
    /// certified block.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proof: Option<Box<crate::proof::ProofBundle>>,
}

/// `event: block` of `GET /v1/events`: a committed block and the outcome of each of its
/// transactions. The event's id is the height, so a stream resumes after it.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlockEvent {
    /// The block's height.
    pub height: u64,
    /// The block hash.
    pub hash: Hash,
    /// The proposer's clock, milliseconds since the Unix epoch.
    pub timestamp_ms: u64,
    /// One receipt per transaction, in block order.
    pub receipts: Vec<Receipt>,
}

/// `event: rejected` of `GET /v1/events`: a transaction admitted to a node's mempool that left it
/// without entering a block (its window passed, or it was committed already). Live only: a
/// resumed stream does not repeat these; `GET /v1/txs/{hash}` still tells.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RejectedEvent {
    /// The transaction.
    pub tx_hash: Hash,
    /// Why it was dropped.
    pub error: ErrorBody,
}

/// `event: lagged` of `GET /v1/events`: the stream fell behind and missed this many rejections.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LaggedEvent {
    /// How many `rejected` events were not sent.
    pub missed: u64,
}
