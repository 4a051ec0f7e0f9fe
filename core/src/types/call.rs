//! Typed contract calls. Each contract has one enum of methods; new contracts and methods are
//! appended with the next discriminant, so old encodings keep their meaning.

use borsh::{BorshDeserialize, BorshSerialize};
use serde::{Deserialize, Serialize};

use crate::Hash;
use crate::crypto::PublicKey;

/// A call to one contract method, with typed arguments.
///
/// JSON form (externally tagged, snake case):
/// `{"system": {"record_evidence": {"kind": "contract", "digest": "<64 hex>", "memo": ""}}}`.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
#[allow(clippy::large_enum_variant)] // a wire type, decoded once per transaction
pub enum Call {
    /// The system contract: organisations, members, evidence.
    System(SystemCall),
    /// Governance: proposals and approvals that change the consortium.
    Governance(GovCall),
    /// Cold-chain traceability: enterprises, lots, movements, regulators' orders.
    Trace(crate::trace::TraceCall),
    /// Electronic licences under electronic seals.
    Licence(crate::licence::LicenceCall),
    /// Authorisation on chain: grants, revocations, recorded uses.
    Auth(crate::auth::AuthCall),
}

impl Call {
    /// `contract.method`, as used in receipts, metrics and permission tables.
    pub fn name(&self) -> &'static str {
        match self {
            Call::System(call) => call.name(),
            Call::Governance(GovCall::Propose { .. }) => "governance.propose",
            Call::Governance(GovCall::Approve { .. }) => "governance.approve",
            Call::Trace(call) => call.name(),
            Call::Licence(call) => call.name(),
            Call::Auth(call) => call.name(),
        }
    }
}

/// Methods of the system contract.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum SystemCall {
    /// An organisation admin adds a member to their own organisation.
    RegisterMember {
        /// The member's key; its scheme must be one the chain accepts.
        public_key: PublicKey,
        /// Display name.
        name: String,
        /// What the member may do.
        role: MemberRole,
    },
    /// An organisation admin removes a member of their own organisation.
    RemoveMember {
        /// The member's key.
        public_key: PublicKey,
    },
    /// Any member records the digest of a document as evidence (存证).
    RecordEvidence {
        /// What the document is (free text, e.g. `contract`, `inspection-report`).
        kind: String,
        /// Digest of the document under the chain's hash suite.
        digest: Hash,
        /// A short note.
        memo: String,
    },
}

impl SystemCall {
    fn name(&self) -> &'static str {
        match self {
            SystemCall::RegisterMember { .. } => "system.register_member",
            SystemCall::RemoveMember { .. } => "system.remove_member",
            SystemCall::RecordEvidence { .. } => "system.record_evidence",
        }
    }
}

/// Methods of the governance contract. Only admins of organisations with the `admin` role take
/// part; each such organisation has one vote.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
#[allow(clippy::large_enum_variant)] // a wire type, decoded once per transaction
pub enum GovCall {
    /// Proposes a change; the proposer's organisation approves it at once.
    Propose {
        /// What would change.
        change: GovChange,
        /// Why (shown to the other organisations).
        memo: String,
    },
    /// Approves an open proposal on behalf of the sender's organisation.
    Approve {
        /// The proposal's id (the hash of the transaction that proposed it).
        proposal_id: Hash,
    },
}

/// A change the consortium can make by proposal and approval.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
#[allow(clippy::large_enum_variant)] // a wire type, decoded once per transaction
pub enum GovChange {
    /// A new organisation with its first admin keys.
    AddOrganisation {
        /// Its USCC.
        uscc: crate::ids::Uscc,
        /// Its name.
        name: String,
        /// What it is on the chain.
        roles: Vec<OrgRole>,
        /// Its first admins.
        admins: Vec<PublicKey>,
    },
    /// A node run by a member organisation: a voter, or a learner (read-only replica).
    AddNode {
        /// The organisation that runs it.
        org: crate::ids::Uscc,
        /// Its unique id.
        id: String,
        /// Its block-signing key.
        public_key: PublicKey,
        /// Its libp2p peer id.
        p2p_peer_id: String,
        /// A learner receives blocks but does not vote or propose.
        learner: bool,
    },
    /// Removes a node; the others refuse its connections from then on.
    RemoveNode {
        /// Its id.
        id: String,
    },
    /// Changes which signature schemes the chain accepts from senders.
    SetSignatureSchemes {
        /// The accepted schemes (at least one).
        schemes: Vec<crate::crypto::SignatureScheme>,
    },
    /// Changes which certificates an imported lot needs before it moves on or is sold.
    SetRequiredCertificates {
        /// The certificate kinds (may be empty).
        kinds: Vec<crate::trace::CertificateKind>,
    },
}

/// A member's role inside their organisation.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    Hash,
    BorshSerialize,
    BorshDeserialize,
    Serialize,
    Deserialize,
)]
#[serde(rename_all = "snake_case")]
#[borsh(use_discriminant = true)]
pub enum MemberRole {
    /// Manages the organisation's members; may also do what an operator does.
    Admin = 0,
    /// Submits the organisation's business transactions.
    Operator = 1,
    /// Reads audit data; submits nothing but evidence.
    Auditor = 2,
}

/// What an organisation is on the chain; decides which contracts' writes it may make.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    Hash,
    BorshSerialize,
    BorshDeserialize,
    Serialize,
    Deserialize,
)]
#[serde(rename_all = "kebab-case")]
#[borsh(use_discriminant = true)]
pub enum OrgRole {
    /// A regulator (market supervision, customs): holds, recalls, reads everything.
    Regulator = 0,
    /// Issues licences under its seals.
    Issuer = 1,
    /// Registers enterprises (cold-chain participants).
    EnterpriseRegistrar = 2,
    /// Administers the consortium (governance).
    Admin = 3,
    /// An enterprise that acts in its own name (cold chain).
    Enterprise = 4,
    /// Audits (reads personal usage records with a signed query).
    Audit = 5,
}
