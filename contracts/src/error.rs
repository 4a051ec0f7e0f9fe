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
    /// The sender's organisation is not a registered cold-chain enterprise.
    #[error("{0} is not a registered enterprise")]
    NotEnterprise(String),
    /// The enterprise is registered already.
    #[error("enterprise {0} is already registered")]
    EnterpriseExists(String),
    /// The enterprise named (a shipment's receiver) is not registered.
    #[error("{0} is not a registered enterprise")]
    UnknownEnterprise(String),
    /// Only importers, cold stores and processors code lots.
    #[error("a {0} may not code lots at the first station")]
    NotFirstStation(String),
    /// Only the market regulator's organisation registers enterprises.
    #[error("{0} may not register enterprises: not an enterprise registrar")]
    NotRegistrar(String),
    /// Only regulators hold, release and recall.
    #[error("{0} may not hold, release or recall: not a regulator")]
    NotRegulator(String),
    /// No lot with that code.
    #[error("lot {0} does not exist")]
    LotNotFound(String),
    /// The sender holds none of the lot.
    #[error("{holder} holds no packages of lot {lot}")]
    NotHolder {
        /// The sender's enterprise.
        holder: String,
        /// The lot.
        lot: String,
    },
    /// More packages asked for than the sender has in stock.
    #[error("lot {lot}: {wanted} packages asked for, {in_stock} in stock")]
    InsufficientStock {
        /// The lot.
        lot: String,
        /// Asked for.
        wanted: u64,
        /// In the sender's stock.
        in_stock: u64,
    },
    /// Package codes named that the sender does not have in stock.
    #[error("lot {0}: some of the package codes named are not in the sender's stock")]
    CodesNotHeld(String),
    /// A quantity of zero, or a count beyond the limit.
    #[error("invalid quantity {field}: {reason}")]
    InvalidQuantity {
        /// The argument.
        field: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// The lot (or a lot it was split from) is held by a regulator.
    #[error("lot {lot} is held by the regulator: {reason}")]
    LotHeld {
        /// The held lot.
        lot: String,
        /// The regulator's reason.
        reason: String,
    },
    /// The lot (or a lot it was split from) is recalled.
    #[error("lot {lot} is recalled: {reason}")]
    LotRecalled {
        /// The recalled lot.
        lot: String,
        /// The regulator's reason.
        reason: String,
    },
    /// An imported lot lacks certificates it needs to move on or be sold (四个不得).
    #[error("lot {lot} lacks required certificates: {missing}")]
    CertificatesMissing {
        /// The lot whose certificates count (the imported first-station lot).
        lot: String,
        /// The kinds missing.
        missing: String,
    },
    /// Shipping to oneself.
    #[error("an enterprise may not ship to itself")]
    ShipToSelf,
    /// No shipment with that id.
    #[error("shipment {0} does not exist")]
    ShipmentNotFound(String),
    /// The sender is not the shipment's receiver.
    #[error("shipment {shipment} is addressed to {to}, not {sender}")]
    NotReceiver {
        /// The shipment.
        shipment: String,
        /// Its receiver.
        to: String,
        /// The sender's enterprise.
        sender: String,
    },
    /// The shipment was received already.
    #[error("shipment {0} was already received")]
    AlreadyReceived(String),
    /// The regulator's order does not allow this change (release without a hold, order on a
    /// recalled lot).
    #[error("lot {lot}: {reason}")]
    OrderConflict {
        /// The lot.
        lot: String,
        /// Why.
        reason: String,
    },
    /// The sender may not attach certificates to this lot.
    #[error("{sender} neither coded nor holds lot {lot}, and is not a regulator")]
    NotCertifier {
        /// The sender's organisation.
        sender: String,
        /// The lot.
        lot: String,
    },
    /// The sender's organisation does not have the issuer role.
    #[error("{0} is not an issuing organisation")]
    NotIssuer(String),
    /// A seal with that id exists.
    #[error("seal {0} already exists")]
    SealExists(String),
    /// No seal with that id.
    #[error("seal {0} does not exist")]
    SealNotFound(String),
    /// The seal belongs to another organisation.
    #[error("seal {seal} belongs to {owner}")]
    SealNotOwned {
        /// The seal.
        seal: String,
        /// Its owner.
        owner: String,
    },
    /// The seal cannot seal now (revoked, expired or not yet valid).
    #[error("seal {seal} cannot seal now: {reason}")]
    SealInvalid {
        /// The seal.
        seal: String,
        /// Why.
        reason: String,
    },
    /// The seal's signature does not verify over this identifier and document digest.
    #[error("seal signature does not verify: {0}")]
    BadSealSignature(String),
    /// A licence type with that code exists.
    #[error("licence type {0} already exists")]
    LicenceTypeExists(String),
    /// No licence type with that code.
    #[error("licence type {0} does not exist")]
    LicenceTypeNotFound(String),
    /// The organisation may not issue this type.
    #[error("{org} may not issue {licence_type}")]
    NotTypeIssuer {
        /// The sender's organisation.
        org: String,
        /// The type's name.
        licence_type: String,
    },
    /// A licence with that identifier exists.
    #[error("licence {0} already exists")]
    LicenceExists(String),
    /// No licence with that identifier.
    #[error("licence {0} does not exist")]
    LicenceNotFound(String),
    /// The identifier's issuer part is not the sender's organisation.
    #[error("identifier {id} names another issuer than {sender}")]
    IssuerMismatch {
        /// The identifier.
        id: String,
        /// The sender's organisation.
        sender: String,
    },
    /// Only the issuer or its designee changes a licence.
    #[error("{sender} may not change licence {id}: not its issuer or designee")]
    NotLicenceIssuer {
        /// The licence.
        id: String,
        /// The sender's organisation.
        sender: String,
    },
    /// The change makes no sense from the licence's state.
    #[error("licence {id}: {reason}")]
    BadTransition {
        /// The licence.
        id: String,
        /// Why.
        reason: String,
    },
    /// The version does not follow the current one.
    #[error("licence {id}: {reason}")]
    VersionConflict {
        /// The identifier.
        id: String,
        /// Why.
        reason: String,
    },
    /// A transfer's two sides do not match.
    #[error("transfer: {0}")]
    TransferMismatch(String),
    /// A face field the licence type requires is missing.
    #[error("face field {0:?} is required by the licence type")]
    FaceFieldMissing(String),
    /// The licence does not name the grantor as its holder.
    #[error("licence {0} does not name the grantor as its holder")]
    LicenceNotHeld(String),
    /// A grant's window is inverted, already over, or too long.
    #[error("invalid window: {0}")]
    InvalidWindow(String),
    /// Another grant uses the same use code; the holder's app draws a new one.
    #[error("the use code is taken; draw another")]
    UseCodeTaken,
    /// No grant with that id.
    #[error("grant {0} does not exist")]
    GrantNotFound(String),
    /// Only the grantor revokes.
    #[error("only the grantor may revoke grant {0}")]
    NotGrantor(String),
    /// The sender is not the grantee.
    #[error("grant {0} is for another grantee")]
    NotGrantee(String),
    /// The grant was revoked.
    #[error("grant {0} is revoked")]
    GrantRevoked(String),
    /// The grant's window has not begun.
    #[error("grant {0} is not valid yet")]
    GrantNotYetValid(String),
    /// The grant's window is over.
    #[error("grant {0} has expired")]
    GrantExpired(String),
    /// The grant's uses are spent.
    #[error("grant {0} is used up")]
    GrantUsedUp(String),
    /// The use names a licence, item or action the grant does not cover.
    #[error("the use is outside the scope of grant {0}")]
    OutOfScope(String),
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
            ContractError::NotEnterprise(_) => "not_enterprise",
            ContractError::EnterpriseExists(_) => "enterprise_exists",
            ContractError::UnknownEnterprise(_) => "unknown_enterprise",
            ContractError::NotFirstStation(_) => "not_first_station",
            ContractError::NotRegistrar(_) => "not_registrar",
            ContractError::NotRegulator(_) => "not_regulator",
            ContractError::LotNotFound(_) => "lot_not_found",
            ContractError::NotHolder { .. } => "not_holder",
            ContractError::InsufficientStock { .. } => "insufficient_stock",
            ContractError::CodesNotHeld(_) => "codes_not_held",
            ContractError::InvalidQuantity { .. } => "invalid_quantity",
            ContractError::LotHeld { .. } => "lot_held",
            ContractError::LotRecalled { .. } => "lot_recalled",
            ContractError::CertificatesMissing { .. } => "certificates_missing",
            ContractError::ShipToSelf => "ship_to_self",
            ContractError::ShipmentNotFound(_) => "shipment_not_found",
            ContractError::NotReceiver { .. } => "not_receiver",
            ContractError::AlreadyReceived(_) => "already_received",
            ContractError::OrderConflict { .. } => "order_conflict",
            ContractError::NotCertifier { .. } => "not_certifier",
            ContractError::NotIssuer(_) => "not_issuer",
            ContractError::SealExists(_) => "seal_exists",
            ContractError::SealNotFound(_) => "seal_not_found",
            ContractError::SealNotOwned { .. } => "seal_not_owned",
            ContractError::SealInvalid { .. } => "seal_invalid",
            ContractError::BadSealSignature(_) => "bad_seal_signature",
            ContractError::LicenceTypeExists(_) => "licence_type_exists",
            ContractError::LicenceTypeNotFound(_) => "licence_type_not_found",
            ContractError::NotTypeIssuer { .. } => "not_type_issuer",
            ContractError::LicenceExists(_) => "licence_exists",
            ContractError::LicenceNotFound(_) => "licence_not_found",
            ContractError::IssuerMismatch { .. } => "issuer_mismatch",
            ContractError::NotLicenceIssuer { .. } => "not_licence_issuer",
            ContractError::BadTransition { .. } => "bad_transition",
            ContractError::VersionConflict { .. } => "version_conflict",
            ContractError::TransferMismatch(_) => "transfer_mismatch",
            ContractError::FaceFieldMissing(_) => "face_field_missing",
            ContractError::LicenceNotHeld(_) => "licence_not_held",
            ContractError::InvalidWindow(_) => "invalid_window",
            ContractError::UseCodeTaken => "use_code_taken",
            ContractError::GrantNotFound(_) => "grant_not_found",
            ContractError::NotGrantor(_) => "not_grantor",
            ContractError::NotGrantee(_) => "not_grantee",
            ContractError::GrantRevoked(_) => "grant_revoked",
            ContractError::GrantNotYetValid(_) => "grant_not_yet_valid",
            ContractError::GrantExpired(_) => "grant_expired",
            ContractError::GrantUsedUp(_) => "grant_used_up",
            ContractError::OutOfScope(_) => "out_of_scope",
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
