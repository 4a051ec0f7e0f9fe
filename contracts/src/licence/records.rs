//! Licence records: issue, state changes, renewal and transfer.

use xinlian_core::calendar::valid_yyyymmdd;
use xinlian_core::ids::Uscc;
use xinlian_core::licence::{
    Licence, LicenceDraft, LicenceId, LicenceState, LicenceType, StatusAction, seal_signing_bytes,
};
use xinlian_core::limits::{NAME_BYTES_MAX, TEXT_BYTES_MAX};
use xinlian_core::types::OrgRole;

use super::{
    by_issuer_prefix, licence_key, load_licence, load_seal, may_change, org_has_role, record,
    type_key,
};
use crate::executor::TxContext;
use crate::step::{Step, argument, check_reason};
use crate::system::{Member, check_text};
use crate::{ContractError, ExecError, Overlay, Space, StateReader, stats};

// The stateless rules of a draft, shared with admission (`crate::check_bounds`). [`check_draft`]
// calls each where it always did, between its state-dependent checks, so the order of refusals
// (and receipts) stays as it was.

/// The identifier's own form (serial, version).
fn check_draft_id(id: &LicenceId) -> Result<(), ContractError> {
    id.validate().map_err(|e| ContractError::InvalidArgument {
        field: "id",
        reason: e.to_string(),
    })
}

/// Number and name (1 to `NAME_BYTES_MAX` bytes), matter (at most `TEXT_BYTES_MAX`), then the
/// issue and validity dates.
fn check_draft_text(draft: &LicenceDraft) -> Result<(), ContractError> {
    check_text("number", &draft.number, 1, NAME_BYTES_MAX)?;
    check_text("name", &draft.name, 1, NAME_BYTES_MAX)?;
    check_text("matter", &draft.matter, 0, TEXT_BYTES_MAX)?;
    for (field, date) in [
        ("issue_date", draft.issue_date),
        ("valid_from", draft.valid_from),
    ] {
        if !valid_yyyymmdd(date) {
            return Err(argument(field, "a real date, YYYYMMDD"));
        }
    }
    if let Some(to) = draft.valid_to
        && (!valid_yyyymmdd(to) || to < draft.valid_from)
    {
        return Err(argument(
            "valid_to",
            "a real date, YYYYMMDD, not before valid_from",
        ));
    }
    Ok(())
}

/// The region code, then the number of face fields (at most 64).
fn check_draft_face(draft: &LicenceDraft) -> Result<(), ContractError> {
    if !(110_000..=820_000).contains(&draft.region) {
        return Err(argument("region", "a 6-digit GB/T 2260 code"));
    }
    if draft.face.len() > 64 {
        return Err(argument("face", "at most 64 fields"));
    }
    Ok(())
}

/// Every stateless rule of a draft, in [`check_draft`]'s order: for admission.
pub(crate) fn check_draft_fields(draft: &LicenceDraft) -> Result<(), ContractError> {
    check_draft_id(&draft.id)?;
    check_draft_text(draft)?;
    check_draft_face(draft)
}

/// A newly issued licence is version 001.
pub(crate) fn check_issue_version(id: &LicenceId) -> Result<(), ContractError> {
    if id.version != 1 {
        return Err(ContractError::VersionConflict {
            id: id.to_string(),
            reason: "a new licence is version 001; later versions come by renewal".into(),
        });
    }
    Ok(())
}

/// Why a renewal to `id` does not follow a current version.
fn renewal_conflict(id: &LicenceId) -> ContractError {
    let previous_id = id.with_version(id.version.saturating_sub(1));
    ContractError::VersionConflict {
        id: id.to_string(),
        reason: format!("a renewal follows the current version {previous_id}"),
    }
}

/// A renewal is version 002 or later.
pub(crate) fn check_renewal_version(id: &LicenceId) -> Result<(), ContractError> {
    if id.version < 2 {
        return Err(renewal_conflict(id));
    }
    Ok(())
}

/// The checks every new licence record passes: identifier, type, dates, face fields and the
/// seal (owned by the issuer, valid now, signature over this identifier and digest).
fn check_draft(
    state: &Overlay<'_>,
    ctx: &TxContext<'_>,
    sender: &Member,
    draft: &LicenceDraft,
) -> Step<()> {
    let id = &draft.id;
    check_draft_id(id)?;
    if id.issuer != sender.org {
        return Err(ContractError::IssuerMismatch {
            id: id.to_string(),
            sender: sender.org.to_string(),
        }
        .into());
    }
    let Some(licence_type) =
        state.get_value::<LicenceType>(Space::State, &type_key(&id.type_code))?
    else {
        return Err(ContractError::LicenceTypeNotFound(id.type_code.to_string()).into());
    };
    if !licence_type.issuers.contains(&sender.org) {
        return Err(ContractError::NotTypeIssuer {
            org: sender.org.to_string(),
            licence_type: licence_type.name.clone(),
        }
        .into());
    }
    if state.get(Space::State, &licence_key(id))?.is_some() {
        return Err(ContractError::LicenceExists(id.to_string()).into());
    }
    check_draft_text(draft)?;
    if let Some(key) = &draft.holder_key
        && !ctx.accepts(key.scheme())
    {
        return Err(ContractError::SchemeNotAccepted(key.scheme().to_string()).into());
    }
    check_draft_face(draft)?;
    if let Some(missing) = licence_type
        .required_fields
        .iter()
        .find(|f| !draft.face.iter().any(|field| &field.name == *f))
    {
        return Err(ContractError::FaceFieldMissing(missing.clone()).into());
    }
    let seal = load_seal(state, &draft.seal_id)?;
    if seal.org != sender.org {
        return Err(ContractError::SealNotOwned {
            seal: seal.id.clone(),
            owner: seal.org.to_string(),
        }
        .into());
    }
    if !seal.valid_at(ctx.block.timestamp_ms) {
        let reason = match &seal.revoked {
            Some((_, why)) => format!("revoked: {why}"),
            None => "outside its validity period".to_string(),
        };
        return Err(ContractError::SealInvalid {
            seal: seal.id.clone(),
            reason,
        }
        .into());
    }
    let message = seal_signing_bytes(id, &draft.document_digest);
    seal.public_key
        .verify(&message, &draft.seal_signature)
        .map_err(|e| ContractError::BadSealSignature(e.to_string()))?;
    Ok(())
}

fn new_licence(ctx: &TxContext<'_>, draft: &LicenceDraft) -> Licence {
    Licence {
        id: draft.id.clone(),
        number: draft.number.clone(),
        name: draft.name.clone(),
        issue_date: draft.issue_date,
        valid_from: draft.valid_from,
        valid_to: draft.valid_to,
        holder_id_type: draft.holder_id_type,
        holder_commitment: draft.holder_commitment,
        holder_key: draft.holder_key.clone(),
        region: draft.region,
        matter: draft.matter.clone(),
        document_digest: draft.document_digest,
        seal_id: draft.seal_id.clone(),
        seal_signature: draft.seal_signature,
        face: draft.face.clone(),
        state: LicenceState::Valid,
        supersedes: None,
        superseded_by: None,
        transfer: None,
        recorded_at_ms: ctx.block.timestamp_ms,
        events: 0,
    }
}

/// Writes a licence, and keeps the console's counters and expiry index in step with it.
fn store(state: &mut Overlay<'_>, licence: &Licence) -> Result<(), ExecError> {
    let previous: Option<Licence> = state.get_value(Space::State, &licence_key(&licence.id))?;
    let type_code = licence.id.type_code.to_string();
    let standing = |l: &Licence| [type_code.as_str(), standing(l)];
    let (before, after) = (previous.as_ref().map(standing), standing(licence));
    stats::move_gauge(
        state,
        stats::metric::LICENCE_STATES,
        before.as_ref().map(|d| d.as_slice()),
        Some(after.as_slice()),
    )?;
    if previous.is_none() {
        stats::count(
            state,
            stats::metric::LICENCES_ISSUED,
            licence.recorded_at_ms,
            &[&type_code],
        )?;
    }
    if let Some(key) = previous.as_ref().and_then(super::expiry_key) {
        state.delete(Space::Index, key);
    }
    if let Some(key) = super::expiry_key(licence) {
        // The recorded state, so the console tells valid from suspended among the expired.
        state.put(Space::Index, key, licence.state.name().as_bytes().to_vec());
    }
    state.put_value(Space::State, licence_key(&licence.id), licence);
    let index = [
        by_issuer_prefix(&licence.id.issuer),
        licence.id.to_string().into_bytes(),
    ]
    .concat();
    state.put(Space::Index, index, Vec::new());
    Ok(())
}

/// How the console counts a licence: its recorded state, or `superseded` once renewed (the
/// later version is the one in force).
fn standing(licence: &Licence) -> &'static str {
    match licence.superseded_by {
        Some(_) => "superseded",
        None => licence.state.name(),
    }
}

pub(super) fn issue(
    state: &mut Overlay<'_>,
    ctx: &TxContext<'_>,
    sender: &Member,
    draft: &LicenceDraft,
) -> Step<()> {
    check_issue_version(&draft.id)?;
    check_draft(state, ctx, sender, draft)?;
    let mut licence = new_licence(ctx, draft);
    record(state, ctx, &mut licence, sender, "issued", "");
    store(state, &licence)?;
    Ok(())
}

/// A licence the sender may change, which no later version replaced.
fn changeable(state: &Overlay<'_>, sender: &Member, id: &LicenceId) -> Step<Licence> {
    let licence = load_licence(state, id)?;
    if !may_change(state, &id.issuer, &sender.org)? {
        return Err(ContractError::NotLicenceIssuer {
            id: id.to_string(),
            sender: sender.org.to_string(),
        }
        .into());
    }
    if let Some(next) = &licence.superseded_by {
        return Err(ContractError::BadTransition {
            id: id.to_string(),
            reason: format!("superseded by {next}"),
        }
        .into());
    }
    Ok(licence)
}

pub(super) fn change_status(
    state: &mut Overlay<'_>,
    ctx: &TxContext<'_>,
    sender: &Member,
    id: &LicenceId,
    action: StatusAction,
    reason: &str,
) -> Step<()> {
    check_reason(reason)?;
    let mut licence = changeable(state, sender, id)?;
    use LicenceState::{Suspended, Valid};
    let next = match (licence.state, action) {
        (Valid, StatusAction::Suspend) => LicenceState::Suspended,
        (Suspended, StatusAction::Resume) => Valid,
        (Valid | Suspended, StatusAction::Rescind) => LicenceState::Rescinded,
        (Valid | Suspended, StatusAction::Cancel) => LicenceState::Cancelled,
        (Valid | Suspended, StatusAction::Revoke) => LicenceState::Revoked,
        (from, _) => {
            return Err(ContractError::BadTransition {
                id: id.to_string(),
                reason: format!("{action:?} is not possible from {from:?}"),
            }
            .into());
        }
    };
    licence.state = next;
    let what = format!("{action:?}").to_lowercase();
    record(state, ctx, &mut licence, sender, &what, reason);
    store(state, &licence)?;
    Ok(())
}

pub(super) fn renew(
    state: &mut Overlay<'_>,
    ctx: &TxContext<'_>,
    sender: &Member,
    draft: &LicenceDraft,
    reason: &str,
) -> Step<()> {
    check_reason(reason)?;
    let previous_id = draft.id.with_version(draft.id.version.saturating_sub(1));
    check_renewal_version(&draft.id)?;
    // A missing previous version is a refusal; a failed read stops the block like any other.
    let mut previous = state
        .get_value::<Licence>(Space::State, &licence_key(&previous_id))?
        .ok_or_else(|| renewal_conflict(&draft.id))?;
    let previous_state = changeable(state, sender, &previous_id)?.state;
    if !matches!(
        previous_state,
        LicenceState::Valid | LicenceState::Suspended
    ) {
        return Err(ContractError::BadTransition {
            id: previous_id.to_string(),
            reason: format!("a {previous_state:?} licence is not renewed"),
        }
        .into());
    }
    check_draft(state, ctx, sender, draft)?;
    let mut next = new_licence(ctx, draft);
    next.supersedes = Some(previous_id.clone());
    record(state, ctx, &mut next, sender, "renewed_from", reason);
    store(state, &next)?;
    previous.superseded_by = Some(draft.id.clone());
    record(state, ctx, &mut previous, sender, "renewed_to", reason);
    store(state, &previous)?;
    Ok(())
}

pub(super) fn transfer_out(
    state: &mut Overlay<'_>,
    ctx: &TxContext<'_>,
    sender: &Member,
    id: &LicenceId,
    to: &Uscc,
    reason: &str,
) -> Step<()> {
    check_reason(reason)?;
    let mut licence = changeable(state, sender, id)?;
    if licence.state != LicenceState::Valid {
        return Err(ContractError::BadTransition {
            id: id.to_string(),
            reason: format!(
                "only a valid licence is transferred, this one is {:?}",
                licence.state
            ),
        }
        .into());
    }
    if to == &id.issuer || !org_has_role(state, to, OrgRole::Issuer)? {
        return Err(ContractError::TransferMismatch(format!(
            "{to} is not another issuing organisation"
        ))
        .into());
    }
    licence.state = LicenceState::TransferredOut;
    // The receiving record's identifier is not known yet: it points back here until then.
    licence.transfer = Some((to.clone(), id.clone()));
    record(state, ctx, &mut licence, sender, "transferred_out", reason);
    store(state, &licence)?;
    Ok(())
}

pub(super) fn transfer_in(
    state: &mut Overlay<'_>,
    ctx: &TxContext<'_>,
    sender: &Member,
    draft: &LicenceDraft,
    from: &LicenceId,
) -> Step<()> {
    let mut old = load_licence(state, from)?;
    let awaiting =
        matches!(&old.transfer, Some((to, pending)) if *to == sender.org && pending == from);
    if old.state != LicenceState::TransferredOut || !awaiting {
        return Err(ContractError::TransferMismatch(format!(
            "{from} was not transferred out to {}, or was taken in already",
            sender.org
        ))
        .into());
    }
    check_draft(state, ctx, sender, draft)?;
    let mut new = new_licence(ctx, draft);
    new.transfer = Some((from.issuer.clone(), from.clone()));
    record(
        state,
        ctx,
        &mut new,
        sender,
        "transferred_in",
        &from.to_string(),
    );
    store(state, &new)?;
    old.transfer = Some((sender.org.clone(), draft.id.clone()));
    record(
        state,
        ctx,
        &mut old,
        sender,
        "taken_in_as",
        &draft.id.to_string(),
    );
    store(state, &old)?;
    Ok(())
}

/// The status a verifier sees at `date`: the stored state, or expired once the window passed.
pub fn status_at(licence: &Licence, date: u32) -> xinlian_core::licence::LicenceStatus {
    use xinlian_core::licence::LicenceStatus as S;
    match licence.state {
        LicenceState::Valid if date < licence.valid_from => S::NotYetValid,
        LicenceState::Valid if licence.valid_to.is_some_and(|to| date > to) => S::Expired,
        LicenceState::Valid => S::Valid,
        LicenceState::Suspended => S::Suspended,
        LicenceState::Rescinded => S::Rescinded,
        LicenceState::Cancelled => S::Cancelled,
        LicenceState::TransferredOut => S::TransferredOut,
        LicenceState::Revoked => S::Revoked,
    }
}
