//! The stateless bounds of a call's arguments, checked at admission as well as at execution.
//!
//! Why: a transaction is at most `TX_BYTES_MAX` (64 KiB), but its fields are bounded far lower
//! (a memo at `TEXT_BYTES_MAX`, a name at `NAME_BYTES_MAX`). Checked only at execution, a member
//! could fill every mempool with transactions that can never succeed, each tens of kilobytes.
//! Checked at admission too, such a transaction never enters a mempool.
//!
//! Every rule here is the very function execution calls (the contract modules own them), so the
//! two cannot drift apart; execution still calls each where it always did, between its
//! state-dependent checks, so receipts (hashed into block headers) are unchanged.

use xinlian_core::auth::AuthCall;
use xinlian_core::licence::LicenceCall;
use xinlian_core::trace::TraceCall;
use xinlian_core::types::{Call, GovCall, SystemCall};

use crate::step::check_reason;
use crate::{ContractError, auth, coldchain, governance, licence, system};

/// Checks the rules on `call`'s arguments that need no state: lengths of text fields and lists,
/// quantities, formats (GTIN, dates, region codes, licence identifiers) and the shape of windows.
///
/// What holds, and the tests check:
/// - **Nothing stricter than execution.** Every rule is one that execution checks on every path
///   to success, so a call refused here would be refused at execution whatever the state.
/// - **The same refusal.** The error (variant, code, field, message) is the one execution gives,
///   and rules are checked in execution's order; so when execution's state-dependent checks
///   pass, it refuses with this very error. (When one of them fails first, execution refuses
///   with that one instead, e.g. `not_registrar` before a bad enterprise name.)
///
/// Checked here, per call (in this order):
/// - `system.register_member`: name. `system.record_evidence`: kind, memo.
/// - `governance.propose`: memo; then for the change: add-organisation admins (non-empty) and
///   name; add-node id and peer id; set-signature-schemes (non-empty).
/// - `trace.register_enterprise`: name, address, contact, region; admins (1 to 16, no key twice).
/// - `trace.commission`: product (name, category, specification, GTIN), origin country,
///   production date, shelf life, batch, unit, packages, import details, certificate count and
///   each certificate's number and issuer.
/// - `trace.ship`, `trace.sell`: the selection (quantity ≥ 1, serials non-empty and at most
///   `SELECTION_RANGES_MAX` ranges). `trace.split`: packages, specification, unit; selection.
///   `trace.dispose`: reason; selection.
/// - `trace.attach_certificate`: number, issuer. `trace.hold`/`release`/`recall`: reason.
/// - `licence.register_seal`: id, name, window. `licence.revoke_seal`: reason.
///   `licence.register_type`: name, issuers (1 to 256), required fields (≤ 64, each a name).
/// - `licence.issue`: version 001; the draft. `licence.renew`: reason; version ≥ 002; the
///   draft. `licence.transfer_in`: the draft. The draft: identifier form, number, name, matter,
///   issue/valid-from/valid-to dates, region, face field count.
/// - `licence.change_status`, `licence.transfer_out`: reason.
/// - `auth.grant`: scope (items, actions, data item names), matter, purpose, the window's shape
///   (from before to, at most `GRANT_DAYS_MAX` days), max uses ≠ 0. `auth.use`: reason.
///
/// Checked at execution only, because they read state or the block: existence and ownership,
/// roles, accepted signature schemes of keys inside a call (they change by governance), the
/// grant window against the block time, a lot's certificate count after an attachment, a
/// licence type's required face fields, an identifier's issuer against the sender.
///
/// Not bounded by execution either, so not here (bounding them would change the consensus
/// rules): a draft's face field names and seal id, an organisation's role list, the certificate
/// kinds of `set_required_certificates`, node ids to remove, the licence identifiers and data
/// item of `auth.use`. Only the transaction size limit bounds them.
pub fn check_bounds(call: &Call) -> Result<(), ContractError> {
    match call {
        Call::System(call) => system_bounds(call),
        Call::Governance(call) => governance_bounds(call),
        Call::Trace(call) => trace_bounds(call),
        Call::Licence(call) => licence_bounds(call),
        Call::Auth(call) => auth_bounds(call),
    }
}

fn system_bounds(call: &SystemCall) -> Result<(), ContractError> {
    match call {
        SystemCall::RegisterMember { name, .. } => system::check_member_name(name),
        SystemCall::RecordEvidence { kind, memo, .. } => system::check_evidence(kind, memo),
        SystemCall::RemoveMember { .. } => Ok(()),
    }
}

fn governance_bounds(call: &GovCall) -> Result<(), ContractError> {
    match call {
        GovCall::Propose { change, memo } => {
            governance::check_memo(memo)?;
            governance::check_change(change)
        }
        GovCall::Approve { .. } => Ok(()),
    }
}

fn trace_bounds(call: &TraceCall) -> Result<(), ContractError> {
    match call {
        TraceCall::RegisterEnterprise {
            name,
            region,
            address,
            contact,
            admins,
            ..
        } => {
            coldchain::check_profile(name, address, contact, *region)?;
            coldchain::check_enterprise_admins(admins)
        }
        TraceCall::Commission { .. } => coldchain::check_commission(call),
        TraceCall::Ship { select, .. } | TraceCall::Sell { select, .. } => {
            coldchain::check_selection(select)
        }
        TraceCall::Split {
            select,
            packages,
            specification,
            unit,
            ..
        } => {
            coldchain::check_split(*packages, specification, unit)?;
            coldchain::check_selection(select)
        }
        TraceCall::Dispose { select, reason, .. } => {
            check_reason(reason)?;
            coldchain::check_selection(select)
        }
        TraceCall::AttachCertificate { certificate, .. } => {
            coldchain::check_certificate(certificate)
        }
        TraceCall::Hold { reason, .. }
        | TraceCall::Release { reason, .. }
        | TraceCall::Recall { reason, .. } => check_reason(reason),
        TraceCall::Receive { .. } => Ok(()),
    }
}

fn licence_bounds(call: &LicenceCall) -> Result<(), ContractError> {
    match call {
        LicenceCall::RegisterSeal {
            id,
            name,
            valid_from_ms,
            valid_to_ms,
            ..
        } => licence::check_seal(id, name, *valid_from_ms, *valid_to_ms),
        LicenceCall::RevokeSeal { reason, .. }
        | LicenceCall::ChangeStatus { reason, .. }
        | LicenceCall::TransferOut { reason, .. } => check_reason(reason),
        LicenceCall::RegisterType {
            name,
            issuers,
            required_fields,
            ..
        } => {
            licence::check_type(name, issuers)?;
            licence::check_required_fields(required_fields)
        }
        LicenceCall::Issue(draft) => {
            licence::check_issue_version(&draft.id)?;
            licence::check_draft_fields(draft)
        }
        LicenceCall::Renew { draft, reason } => {
            check_reason(reason)?;
            licence::check_renewal_version(&draft.id)?;
            licence::check_draft_fields(draft)
        }
        LicenceCall::TransferIn { draft, .. } => licence::check_draft_fields(draft),
        LicenceCall::Designate { .. } => Ok(()),
    }
}

fn auth_bounds(call: &AuthCall) -> Result<(), ContractError> {
    match call {
        AuthCall::Grant {
            scope,
            matter,
            purpose,
            valid_from_ms,
            valid_to_ms,
            max_uses,
            ..
        } => {
            auth::check_scope(scope)?;
            auth::check_matter(matter)?;
            auth::check_purpose(purpose)?;
            auth::check_window(*valid_from_ms, *valid_to_ms, None)?;
            auth::check_max_uses(*max_uses)
        }
        AuthCall::Use { reason, .. } => check_reason(reason),
        AuthCall::Revoke { .. } => Ok(()),
    }
}
