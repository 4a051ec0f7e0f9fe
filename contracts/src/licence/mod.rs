//! The licence contract (电子证照): seals, licence types, sealed licences and their lifecycle.
//!
//! A licence is recorded only if the issuer may issue its type, and the seal named belongs to the
//! issuer and is valid at the block's time. The seal's signature must also verify over the
//! identifier and the document digest. Expiry is never stored: it is derived from the validity
//! window at the time of the question. Only the issuer, or an organisation it designated, changes
//! a licence, and every change keeps its reason and operator.
//!
//! State keys:
//! - `lic/seal/<seal id>` → [`Seal`]; `lic/type/<type code>` → [`LicenceType`]
//! - `lic/licence/<identifier>` → [`Licence`]; `lic/ev/<identifier>/<seq BE4>` → [`LicenceEvent`]
//! - `lic/designee/<issuer>/<org>` → empty
//!
//! Index: `lic/by-issuer/<issuer>/<identifier>`, `lic/seals-of/<org>/<seal id>`, the expiry
//! index ([`expiry_key`]) and the console's counters (`crate::stats`).

mod records;

pub use records::status_at;
pub(crate) use records::{check_draft_fields, check_issue_version, check_renewal_version};

use xinlian_core::ids::Uscc;
use xinlian_core::licence::{
    Licence, LicenceCall, LicenceEvent, LicenceId, LicenceType, LicenceTypeCode, Seal,
};
use xinlian_core::limits::NAME_BYTES_MAX;
use xinlian_core::types::{MemberRole, OrgRole};

use crate::executor::TxContext;
use crate::step::{Step, argument, check_reason};
use crate::system::{self, Member, check_text, org_has_role};
use crate::{ContractError, ExecError, Overlay, Space, StateReader};

/// State key of a seal.
pub fn seal_key(id: &str) -> Vec<u8> {
    [b"lic/seal/".as_slice(), id.as_bytes()].concat()
}

/// State key of a licence type.
pub fn type_key(code: &LicenceTypeCode) -> Vec<u8> {
    [b"lic/type/".as_slice(), code.to_string().as_bytes()].concat()
}

/// State key of a licence.
pub fn licence_key(id: &LicenceId) -> Vec<u8> {
    [b"lic/licence/".as_slice(), id.to_string().as_bytes()].concat()
}

/// State key prefix of a licence's history.
pub fn events_prefix(id: &LicenceId) -> Vec<u8> {
    [b"lic/ev/".as_slice(), id.to_string().as_bytes(), b"/"].concat()
}

/// Index prefix of live licences (valid or suspended, not superseded) by the last day of their
/// validity: then `valid_to` (YYYYMMDD, 4 bytes BE) and the identifier, → the recorded state's
/// name. The console's "expiring within 30 days" and "expired" are one range read each.
pub const EXPIRY_PREFIX: &[u8] = b"lic/expiry/";

/// The expiry index key of a licence, if it is live and not long-term.
pub fn expiry_key(licence: &Licence) -> Option<Vec<u8>> {
    let live = matches!(
        licence.state,
        xinlian_core::licence::LicenceState::Valid | xinlian_core::licence::LicenceState::Suspended
    ) && licence.superseded_by.is_none();
    let valid_to = licence.valid_to.filter(|_| live)?;
    Some(
        [
            EXPIRY_PREFIX,
            &valid_to.to_be_bytes(),
            licence.id.to_string().as_bytes(),
        ]
        .concat(),
    )
}

fn designee_key(issuer: &Uscc, org: &Uscc) -> Vec<u8> {
    [
        b"lic/designee/".as_slice(),
        issuer.as_str().as_bytes(),
        b"/",
        org.as_str().as_bytes(),
    ]
    .concat()
}

/// Index prefix of an issuer's licences.
pub fn by_issuer_prefix(issuer: &Uscc) -> Vec<u8> {
    [
        b"lic/by-issuer/".as_slice(),
        issuer.as_str().as_bytes(),
        b"/",
    ]
    .concat()
}

/// Executes one licence call.
pub fn execute(
    state: &mut Overlay<'_>,
    ctx: &TxContext<'_>,
    sender: &Member,
    call: &LicenceCall,
) -> Result<Result<(), ContractError>, ExecError> {
    let result = match call {
        LicenceCall::RegisterSeal {
            id,
            name,
            kind,
            public_key,
            valid_from_ms,
            valid_to_ms,
            picture_digest,
        } => {
            let seal = Seal {
                id: id.clone(),
                name: name.clone(),
                kind: *kind,
                org: sender.org.clone(),
                public_key: public_key.clone(),
                valid_from_ms: *valid_from_ms,
                valid_to_ms: *valid_to_ms,
                picture_digest: *picture_digest,
                revoked: None,
            };
            register_seal(state, ctx, sender, seal)
        }
        LicenceCall::RevokeSeal { id, reason } => revoke_seal(state, ctx, sender, id, reason),
        LicenceCall::RegisterType {
            code,
            name,
            issuers,
            required_fields,
        } => {
            let licence_type = LicenceType {
                code: code.clone(),
                name: name.clone(),
                issuers: issuers.clone(),
                required_fields: required_fields.clone(),
                registered_by: sender.org.clone(),
            };
            register_type(state, sender, licence_type)
        }
        LicenceCall::Issue(draft) => records::issue(state, ctx, sender, draft),
        LicenceCall::ChangeStatus { id, action, reason } => {
            records::change_status(state, ctx, sender, id, *action, reason)
        }
        LicenceCall::Renew { draft, reason } => records::renew(state, ctx, sender, draft, reason),
        LicenceCall::TransferOut { id, to, reason } => {
            records::transfer_out(state, ctx, sender, id, to, reason)
        }
        LicenceCall::TransferIn { draft, from } => {
            records::transfer_in(state, ctx, sender, draft, from)
        }
        LicenceCall::Designate { org } => designate(state, sender, org),
    };
    crate::step::finish(result)
}

/// Whether a member's role may send licence calls (admins and operators; admin-only methods are
/// checked by the method).
pub fn role_allows(role: MemberRole) -> bool {
    matches!(role, MemberRole::Admin | MemberRole::Operator)
}

/// The sender must be an admin of an organisation with the issuer role.
fn issuer_admin(state: &Overlay<'_>, sender: &Member, call: &str) -> Step<()> {
    if !org_has_role(state, &sender.org, OrgRole::Issuer)? {
        return Err(ContractError::NotIssuer(sender.org.to_string()).into());
    }
    if sender.role != MemberRole::Admin {
        return Err(ContractError::RoleForbidden {
            role: format!("{:?}", sender.role).to_lowercase(),
            org: sender.org.to_string(),
            call: call.to_string(),
        }
        .into());
    }
    Ok(())
}

// The stateless rules of licence calls, shared with admission (`crate::check_bounds`). Each is
// called where execution checks it, so the order of refusals (and receipts) stays as it was.

/// A seal's id (1 to 64 bytes), name (1 to `NAME_BYTES_MAX`), and a window that is not empty.
pub(crate) fn check_seal(
    id: &str,
    name: &str,
    valid_from_ms: u64,
    valid_to_ms: u64,
) -> Result<(), ContractError> {
    check_text("id", id, 1, 64)?;
    check_text("name", name, 1, NAME_BYTES_MAX)?;
    if valid_from_ms >= valid_to_ms {
        return Err(argument("valid_to_ms", "must be after valid_from_ms"));
    }
    Ok(())
}

/// A licence type's name (1 to `NAME_BYTES_MAX` bytes), then 1 to 256 issuers.
pub(crate) fn check_type(name: &str, issuers: &[Uscc]) -> Result<(), ContractError> {
    check_text("name", name, 1, NAME_BYTES_MAX)?;
    if issuers.is_empty() || issuers.len() > 256 {
        return Err(argument("issuers", "1 to 256 organisations"));
    }
    Ok(())
}

/// A licence type's required face fields: at most 64, each 1 to `NAME_BYTES_MAX` bytes.
pub(crate) fn check_required_fields(fields: &[String]) -> Result<(), ContractError> {
    if fields.len() > 64 {
        return Err(argument("required_fields", "at most 64"));
    }
    for field in fields {
        check_text("required_fields", field, 1, NAME_BYTES_MAX)?;
    }
    Ok(())
}

fn register_seal(
    state: &mut Overlay<'_>,
    ctx: &TxContext<'_>,
    sender: &Member,
    seal: Seal,
) -> Step<()> {
    issuer_admin(state, sender, "licence.register_seal")?;
    check_seal(&seal.id, &seal.name, seal.valid_from_ms, seal.valid_to_ms)?;
    if !ctx.accepts(seal.public_key.scheme()) {
        return Err(ContractError::SchemeNotAccepted(seal.public_key.scheme().to_string()).into());
    }
    if state.get(Space::State, &seal_key(&seal.id))?.is_some() {
        return Err(ContractError::SealExists(seal.id.clone()).into());
    }
    state.put_value(Space::State, seal_key(&seal.id), &seal);
    let index = [
        b"lic/seals-of/".as_slice(),
        sender.org.as_str().as_bytes(),
        b"/",
        seal.id.as_bytes(),
    ]
    .concat();
    state.put(Space::Index, index, Vec::new());
    Ok(())
}

fn revoke_seal(
    state: &mut Overlay<'_>,
    ctx: &TxContext<'_>,
    sender: &Member,
    id: &str,
    reason: &str,
) -> Step<()> {
    issuer_admin(state, sender, "licence.revoke_seal")?;
    check_reason(reason)?;
    let mut seal = load_seal(state, id)?;
    if seal.org != sender.org {
        return Err(ContractError::SealNotOwned {
            seal: id.to_string(),
            owner: seal.org.to_string(),
        }
        .into());
    }
    if seal.revoked.is_some() {
        return Err(ContractError::SealInvalid {
            seal: id.to_string(),
            reason: "already revoked".into(),
        }
        .into());
    }
    // Effective from this block: what it sealed before stays sealed while it was valid.
    seal.revoked = Some((ctx.block.timestamp_ms, reason.to_string()));
    state.put_value(Space::State, seal_key(id), &seal);
    Ok(())
}

fn register_type(state: &mut Overlay<'_>, sender: &Member, licence_type: LicenceType) -> Step<()> {
    issuer_admin(state, sender, "licence.register_type")?;
    check_type(&licence_type.name, &licence_type.issuers)?;
    for issuer in &licence_type.issuers {
        if state.get(Space::State, &system::org_key(issuer))?.is_none() {
            return Err(ContractError::UnknownOrganisation(issuer.to_string()).into());
        }
    }
    check_required_fields(&licence_type.required_fields)?;
    if state
        .get(Space::State, &type_key(&licence_type.code))?
        .is_some()
    {
        return Err(ContractError::LicenceTypeExists(licence_type.code.to_string()).into());
    }
    state.put_value(Space::State, type_key(&licence_type.code), &licence_type);
    Ok(())
}

fn designate(state: &mut Overlay<'_>, sender: &Member, org: &Uscc) -> Step<()> {
    issuer_admin(state, sender, "licence.designate")?;
    if state.get(Space::State, &system::org_key(org))?.is_none() {
        return Err(ContractError::UnknownOrganisation(org.to_string()).into());
    }
    state.put(Space::State, designee_key(&sender.org, org), Vec::new());
    Ok(())
}

fn load_seal(state: &Overlay<'_>, id: &str) -> Step<Seal> {
    state
        .get_value(Space::State, &seal_key(id))?
        .ok_or_else(|| ContractError::SealNotFound(id.to_string()).into())
}

fn load_licence(state: &Overlay<'_>, id: &LicenceId) -> Step<Licence> {
    state
        .get_value(Space::State, &licence_key(id))?
        .ok_or_else(|| ContractError::LicenceNotFound(id.to_string()).into())
}

/// Whether `org` may change the issuer's licences: the issuer itself or a designee.
fn may_change(state: &Overlay<'_>, issuer: &Uscc, org: &Uscc) -> Result<bool, ExecError> {
    Ok(issuer == org
        || state
            .get(Space::State, &designee_key(issuer, org))?
            .is_some())
}

/// Appends to a licence's history (the caller stores the licence).
fn record(
    state: &mut Overlay<'_>,
    ctx: &TxContext<'_>,
    licence: &mut Licence,
    sender: &Member,
    what: &str,
    reason: &str,
) {
    let event = LicenceEvent {
        what: what.to_string(),
        reason: reason.to_string(),
        org: sender.org.clone(),
        operator: sender.public_key.clone(),
        at_ms: ctx.block.timestamp_ms,
        tx: ctx.tx_hash,
    };
    let key = [
        events_prefix(&licence.id),
        licence.events.to_be_bytes().to_vec(),
    ]
    .concat();
    state.put_value(Space::State, key, &event);
    licence.events += 1;
}
