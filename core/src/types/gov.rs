//! Governance records kept in state: proposals and the node registry. They live here, not in the
//! contract, because the node, the HTTP API and the SDK read them too.

use borsh::{BorshDeserialize, BorshSerialize};
use serde::{Deserialize, Serialize};

use crate::Hash;
use crate::crypto::{PublicKey, SignatureScheme};
use crate::ids::Uscc;
use crate::types::GovChange;

/// A proposal and its approvals.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct Proposal {
    /// Its id (the proposing transaction's hash).
    pub id: Hash,
    /// What would change.
    pub change: GovChange,
    /// Why.
    pub memo: String,
    /// Organisations that approved, proposer first.
    pub approvals: Vec<Uscc>,
    /// Height it was made at.
    pub created_height: u64,
    /// Last height it can be approved at.
    pub expires_at_height: u64,
    /// Height it took effect at, once it did.
    pub executed_height: Option<u64>,
}

/// A consensus node as the chain knows it.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct NodeRecord {
    /// Its id.
    pub id: String,
    /// The organisation that runs it.
    pub org: Uscc,
    /// Its block-signing key.
    pub public_key: PublicKey,
    /// Its libp2p peer id.
    pub p2p_peer_id: String,
    /// Its Raft id (never reused).
    pub raft_id: u64,
    /// A learner replicates but does not vote.
    pub learner: bool,
    /// Removed nodes keep their record (and Raft id) but are cut off.
    pub removed: bool,
}

/// Chain settings changed by governance.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct Settings {
    /// Signature schemes accepted from senders.
    pub signature_schemes: Vec<SignatureScheme>,
}
