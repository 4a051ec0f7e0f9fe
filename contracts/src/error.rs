//! Contract errors: a refused call (with a stable code, recorded in the receipt) versus a failure
//! to read state (which stops block execution: a node must never guess state).

/// Why a call was refused. Each has a stable code that receipts and the API carry.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ContractError {
    /// The transaction names another chain.
    #[error("transaction is for chain {found:?}, this chain is {expected:?}")]
    WrongChain {
        /// The chain id of this chain.
        expected: String,
        /// The chain id in the transaction.
        found: String,
    },
    /// The sender's key scheme is not accepted by the chain.
    #[error("signature scheme {0} is not accepted by this chain")]
    SchemeNotAccepted(String),
    /// `valid_until_height` is already past.
    #[error("transaction expired: valid until height {valid_until}, chain is at {height}")]
    Expired {
        /// The transaction's last valid height.
        valid_until: u64,
        /// The height it would be included at.
        height: u64,
    },
    /// `valid_until_height` is further ahead than the chain allows.
    #[error("valid_until_height {valid_until} is more than {max} blocks beyond height {height}")]
    WindowTooFar {
        /// The transaction's last valid height.
        valid_until: u64,
        /// The height it would be included at.
        height: u64,
        /// The largest window allowed.
        max: u64,
    },
    /// The same transaction is already on chain (or earlier in the block).
    #[error("transaction {0} was already committed")]
    Duplicate(String),
    /// The sender is not a registered, active member.
    #[error("sender {0} is not a registered member")]
    UnknownSender(String),
    /// The sender's role does not allow the call.
    #[error("{role} of {org} may not call {call}")]
    RoleForbidden {
        /// The sender's role.
        role: String,
        /// The sender's organisation.
        org: String,
        /// The call refused.
        call: String,
    },
    /// The call targets an organisation other than the sender's.
    #[error("member of {sender_org} may not manage members of {target_org}")]
    OtherOrganisation {
        /// The sender's organisation.
        sender_org: String,
        /// The organisation the call would change.
        target_org: String,
    },
    /// The member to register already exists.
    #[error("member {0} is already registered")]
    MemberExists(String),
    /// The member named does not exist.
    #[error("member {0} is not registered")]
    MemberNotFound(String),
    /// Only admins of organisations with the `admin` role take part in governance.
    #[error("{0} may not propose or approve: not an admin of an organisation with the admin role")]
    NotGovernor(String),
    /// No proposal with that id.
    #[error("proposal {0} does not exist")]
    ProposalNotFound(String),
    /// The proposal already took effect.
    #[error("proposal {0} is closed")]
    ProposalClosed(String),
    /// The proposal's approval window passed.
    #[error("proposal {id} expired at height {expired_at}")]
    ProposalExpired {
        /// The proposal.
        id: String,
        /// Its last height.
        expired_at: u64,
    },
    /// The organisation approved already.
    #[error("{0} already approved this proposal")]
    AlreadyApproved(String),
    /// The organisation exists already.
    #[error("organisation {0} already exists")]
    OrganisationExists(String),
    /// The organisation does not exist.
    #[error("organisation {0} does not exist")]
    UnknownOrganisation(String),
    /// A node with that id, key or peer id exists already.
    #[error("node {0} already exists")]
    NodeExists(String),
    /// No active node with that id.
    #[error("node {0} does not exist")]
    NodeNotFound(String),
    /// An argument breaks a rule; the message names it.
    #[error("invalid argument {field}: {reason}")]
    InvalidArgument {
        /// The argument.
        field: &'static str,
        /// What is wrong with it.
        reason: String,
    },
}

impl ContractError {
    /// The stable code recorded in receipts and returned by the API.
    pub fn code(&self) -> &'static str {
        match self {
            ContractError::WrongChain { .. } => "wrong_chain",
            ContractError::SchemeNotAccepted(_) => "scheme_not_accepted",
            ContractError::Expired { .. } => "tx_expired",
            ContractError::WindowTooFar { .. } => "tx_window_too_far",
            ContractError::Duplicate(_) => "duplicate_tx",
            ContractError::UnknownSender(_) => "unknown_sender",
            ContractError::RoleForbidden { .. } => "role_forbidden",
            ContractError::OtherOrganisation { .. } => "other_organisation",
            ContractError::MemberExists(_) => "member_exists",
            ContractError::MemberNotFound(_) => "member_not_found",
            ContractError::NotGovernor(_) => "not_governor",
            ContractError::ProposalNotFound(_) => "proposal_not_found",
            ContractError::ProposalClosed(_) => "proposal_closed",
            ContractError::ProposalExpired { .. } => "proposal_expired",
            ContractError::AlreadyApproved(_) => "already_approved",
            ContractError::OrganisationExists(_) => "organisation_exists",
            ContractError::UnknownOrganisation(_) => "unknown_organisation",
            ContractError::NodeExists(_) => "node_exists",
            ContractError::NodeNotFound(_) => "node_not_found",
            ContractError::InvalidArgument { .. } => "invalid_argument",
        }
    }
}

/// A failure that stops execution of the whole block.
#[derive(Debug, thiserror::Error)]
pub enum ExecError {
    /// State could not be read; the block must not be applied.
    #[error("state read failed: {0}")]
    Storage(String),
    /// Stored state failed to decode: our bug or corruption, never user input.
    #[error("stored state is corrupt at {key}: {reason}")]
    Corrupt {
        /// The key whose value failed to decode.
        key: String,
        /// The decoding error.
        reason: String,
    },
}
