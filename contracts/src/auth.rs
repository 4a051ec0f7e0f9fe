//! The authorisation contract (链上授权办事): grants by holders, revocation, and recorded uses.
//!
//! State keys:
//! - `auth/grant/<id>` → [`Grant`]; `auth/use/<grant><seq BE4>` → [`GrantUse`]
//!
//! Index keys:
//! - `auth/code/<use code digest>` → grant id;
//! - `auth/by-grantor/<member id><grant>` and `auth/by-grantee/<uscc>/<grant>`;
//! - `auth/uses-by-org/<uscc>/<day BE4><tx>` → the grant, for usage reports.

use xinlian_core::Hash;
use xinlian_core::auth::{
    Action, AuthCall, GRANT_DAYS_MAX, Grant, GrantUse, Grantee, Matter, SCOPE_ITEMS_MAX, Scope,
};
use xinlian_core::licence::LicenceId;
use xinlian_core::limits::{NAME_BYTES_MAX, TEXT_BYTES_MAX};

use crate::executor::TxContext;
use crate::step::{Step, argument, check_reason};
use crate::system::{self, Member, check_text};
use crate::{ContractError, ExecError, Overlay, Space, StateReader, stats};

const DAY_MS: u64 = 86_400_000;

/// State key of a grant.
pub fn grant_key(id: &Hash) -> Vec<u8> {
    [b"auth/grant/".as_slice(), id.as_bytes()].concat()
}

/// State key prefix of a grant's uses (then a 4-byte sequence).
pub fn uses_prefix(grant: &Hash) -> Vec<u8> {
    [b"auth/use/".as_slice(), grant.as_bytes()].concat()
}

/// Index key of a use code's digest.
pub fn code_key(digest: &Hash) -> Vec<u8> {
    [b"auth/code/".as_slice(), digest.as_bytes()].concat()
}

/// Index prefix of the grants a member key gave (by its member id).
pub fn by_grantor_prefix(grantor_id: &Hash) -> Vec<u8> {
    [b"auth/by-grantor/".as_slice(), grantor_id.as_bytes()].concat()
}

/// Index prefix of the grants held by a department.
pub fn by_grantee_prefix(org: &xinlian_core::ids::Uscc) -> Vec<u8> {
    [
        b"auth/by-grantee/".as_slice(),
        org.as_str().as_bytes(),
        b"/",
    ]
    .concat()
}

/// Index prefix of a department's uses by day.
pub fn uses_by_org_prefix(org: &xinlian_core::ids::Uscc) -> Vec<u8> {
    [
        b"auth/uses-by-org/".as_slice(),
        org.as_str().as_bytes(),
        b"/",
    ]
    .concat()
}

/// Any member may grant, revoke their own grants, and record uses of grants they hold.
pub fn role_allows(_role: xinlian_core::types::MemberRole) -> bool {
    true
}

/// Executes one authorisation call.
pub fn execute(
    state: &mut Overlay<'_>,
    ctx: &TxContext<'_>,
    sender: &Member,
    call: &AuthCall,
) -> Result<Result<(), ContractError>, ExecError> {
    let result = match call {
        AuthCall::Grant {
            grantee,
            scope,
            matter,
            purpose,
            valid_from_ms,
            valid_to_ms,
            max_uses,
            use_code_digest,
        } => {
            let grant = Grant {
                id: ctx.tx_hash,
                grantor: sender.public_key.clone(),
                grantee: grantee.clone(),
                scope: scope.clone(),
                matter: matter.clone(),
                purpose: purpose.clone(),
                valid_from_ms: *valid_from_ms,
                valid_to_ms: *valid_to_ms,
                max_uses: *max_uses,
                uses: 0,
                revoked_at_ms: None,
                use_code_digest: *use_code_digest,
                granted_at_ms: ctx.block.timestamp_ms,
            };
            grant_access(state, ctx, grant)
        }
        AuthCall::Revoke { grant } => revoke(state, ctx, sender, grant),
        AuthCall::Use {
            grant,
            reason,
            licence,
            data_item,
            action,
            result_digest,
        } => {
            let record = GrantUse {
                grant: *grant,
                reason: reason.clone(),
                operator: sender.public_key.clone(),
                org: sender.org.clone(),
                licence: licence.clone(),
                data_item: data_item.clone(),
                action: *action,
                result_digest: *result_digest,
                at_ms: ctx.block.timestamp_ms,
                tx: ctx.tx_hash,
            };
            record_use(state, ctx, record)
        }
    };
    crate::step::finish(result)
}

// The stateless rules of a grant, shared with admission (`crate::check_bounds`). Execution calls
// each where it always did, so the order of refusals (and receipts) stays as it was.

/// A scope names 1 to `SCOPE_ITEMS_MAX` licences and data items and at least one action; each
/// data item is 1 to `NAME_BYTES_MAX` bytes.
pub(crate) fn check_scope(scope: &Scope) -> Result<(), ContractError> {
    if scope.licences.is_empty() && scope.data_items.is_empty() {
        return Err(argument("scope", "name at least one licence or data item"));
    }
    if scope.licences.len() + scope.data_items.len() > SCOPE_ITEMS_MAX {
        return Err(argument("scope", "at most 64 licences and data items"));
    }
    if scope.actions.is_empty() {
        return Err(argument(
            "scope.actions",
            "at least one of view, verify, download",
        ));
    }
    for item in &scope.data_items {
        check_text("scope.data_items", item, 1, NAME_BYTES_MAX)?;
    }
    Ok(())
}

/// A matter's code (1 to 64 bytes), name (1 to `NAME_BYTES_MAX`) and serial (at most 64).
pub(crate) fn check_matter(matter: &Matter) -> Result<(), ContractError> {
    check_text("matter.code", &matter.code, 1, 64)?;
    check_text("matter.name", &matter.name, 1, NAME_BYTES_MAX)?;
    check_text("matter.serial", &matter.serial, 0, 64)
}

/// A grant's purpose: 1 to `TEXT_BYTES_MAX` bytes.
pub(crate) fn check_purpose(purpose: &str) -> Result<(), ContractError> {
    check_text("purpose", purpose, 1, TEXT_BYTES_MAX)
}

/// A grant's window: `from` before `to`, at most `GRANT_DAYS_MAX` days long, and, given the
/// block time `now`, ending after it and starting at most `GRANT_DAYS_MAX` days ahead of it.
/// Admission passes no `now` (the block time is not known yet) and checks the window's shape.
pub(crate) fn check_window(from: u64, to: u64, now: Option<u64>) -> Result<(), ContractError> {
    let span = GRANT_DAYS_MAX * DAY_MS;
    // The terms are pure, so their order does not change the outcome. Short-circuiting keeps the
    // arithmetic safe: `to - from` is reached only when `from < to`, and `now + span` only when
    // `to` lies ahead of `now`, as before this check was shared.
    let refused =
        from >= to || to - from > span || now.is_some_and(|now| to <= now || from > now + span);
    if refused {
        return Err(ContractError::InvalidWindow(format!(
            "from {from} to {to} (ms): from must precede to, to must lie ahead, and the window at most {GRANT_DAYS_MAX} days"
        )));
    }
    Ok(())
}

/// A grant's most uses, when given: at least 1.
pub(crate) fn check_max_uses(max_uses: Option<u32>) -> Result<(), ContractError> {
    if max_uses == Some(0) {
        return Err(ContractError::InvalidQuantity {
            field: "max_uses",
            reason: "at least 1 when given".into(),
        });
    }
    Ok(())
}

fn grant_access(state: &mut Overlay<'_>, ctx: &TxContext<'_>, grant: Grant) -> Step<()> {
    check_scope(&grant.scope)?;
    check_matter(&grant.matter)?;
    check_purpose(&grant.purpose)?;
    let now = ctx.block.timestamp_ms;
    check_window(grant.valid_from_ms, grant.valid_to_ms, Some(now))?;
    check_max_uses(grant.max_uses)?;
    let grantee_org = match &grant.grantee {
        Grantee::Org(org) => org.clone(),
        Grantee::Member(key) => {
            system::find_member(state, ctx.rules.suite, key)?
                .ok_or_else(|| ContractError::MemberNotFound(key.to_string()))?
                .org
        }
    };
    if state
        .get(Space::State, &system::org_key(&grantee_org))?
        .is_none()
    {
        return Err(ContractError::UnknownOrganisation(grantee_org.to_string()).into());
    }
    // Only a licence's holder grants its use: the licence must name the grantor's key.
    for id in &grant.scope.licences {
        let licence: Option<xinlian_core::licence::Licence> =
            state.get_value(Space::State, &crate::licence::licence_key(id))?;
        match licence {
            None => return Err(ContractError::LicenceNotFound(id.to_string()).into()),
            Some(l) if l.holder_key.as_ref() != Some(&grant.grantor) => {
                return Err(ContractError::LicenceNotHeld(id.to_string()).into());
            }
            Some(_) => {}
        }
    }
    if state
        .get(Space::Index, &code_key(&grant.use_code_digest))?
        .is_some()
    {
        return Err(ContractError::UseCodeTaken.into());
    }
    state.put_value(Space::Index, code_key(&grant.use_code_digest), &grant.id);
    let grantor_id = system::member_id(ctx.rules.suite, &grant.grantor);
    let by_grantor = [by_grantor_prefix(&grantor_id), grant.id.as_bytes().to_vec()].concat();
    state.put(Space::Index, by_grantor, Vec::new());
    let by_grantee = [
        by_grantee_prefix(&grantee_org),
        grant.id.as_bytes().to_vec(),
    ]
    .concat();
    state.put(Space::Index, by_grantee, Vec::new());
    stats::count(state, stats::metric::GRANTS, now, &["granted"])?;
    stats::add(state, live_key(&grant), 1)?;
    state.put_value(Space::State, grant_key(&grant.id), &grant);
    Ok(())
}

/// The console's counter of live grants that end on this grant's last day.
fn live_key(grant: &Grant) -> Vec<u8> {
    let last_day = stats::day_of(grant.valid_to_ms.saturating_sub(1));
    stats::daily_key(stats::metric::GRANTS_LIVE_BY_END, last_day, &[])
}

fn load(state: &Overlay<'_>, id: &Hash) -> Step<Grant> {
    state
        .get_value(Space::State, &grant_key(id))?
        .ok_or_else(|| ContractError::GrantNotFound(id.to_hex()).into())
}

fn revoke(state: &mut Overlay<'_>, ctx: &TxContext<'_>, sender: &Member, id: &Hash) -> Step<()> {
    let mut grant = load(state, id)?;
    if grant.grantor != sender.public_key {
        return Err(ContractError::NotGrantor(id.to_hex()).into());
    }
    if grant.revoked_at_ms.is_some() {
        return Err(ContractError::GrantRevoked(id.to_hex()).into());
    }
    // From the next block on: uses in this block's earlier transactions stand.
    grant.revoked_at_ms = Some(ctx.block.timestamp_ms);
    stats::count(
        state,
        stats::metric::GRANTS,
        ctx.block.timestamp_ms,
        &["revoked"],
    )?;
    stats::add(state, live_key(&grant), -1)?;
    state.put_value(Space::State, grant_key(id), &grant);
    Ok(())
}

/// Whether the sender is the grantee (a member of the department, or the named member).
fn is_grantee(grant: &Grant, record: &GrantUse) -> bool {
    match &grant.grantee {
        Grantee::Org(org) => *org == record.org,
        Grantee::Member(key) => *key == record.operator,
    }
}

/// Whether a licence (of any version) is in scope.
fn licence_in_scope(scope: &Scope, id: &LicenceId) -> bool {
    scope
        .licences
        .iter()
        .any(|l| l.type_code == id.type_code && l.issuer == id.issuer && l.serial == id.serial)
}

fn record_use(state: &mut Overlay<'_>, ctx: &TxContext<'_>, record: GrantUse) -> Step<()> {
    check_reason(&record.reason)?;
    let mut grant = load(state, &record.grant)?;
    let id = grant.id.to_hex();
    if !is_grantee(&grant, &record) {
        return Err(ContractError::NotGrantee(id).into());
    }
    let now = ctx.block.timestamp_ms;
    if grant.revoked_at_ms.is_some() {
        return Err(ContractError::GrantRevoked(id).into());
    }
    if now < grant.valid_from_ms {
        return Err(ContractError::GrantNotYetValid(id).into());
    }
    if now >= grant.valid_to_ms {
        return Err(ContractError::GrantExpired(id).into());
    }
    if grant.max_uses.is_some_and(|max| grant.uses >= max) {
        return Err(ContractError::GrantUsedUp(id).into());
    }
    let in_scope = grant.scope.actions.contains(&record.action)
        && (record.licence.is_some() || record.data_item.is_some())
        && record
            .licence
            .as_ref()
            .is_none_or(|l| licence_in_scope(&grant.scope, l))
        && record
            .data_item
            .as_ref()
            .is_none_or(|d| grant.scope.data_items.contains(d));
    if !in_scope {
        return Err(ContractError::OutOfScope(id).into());
    }
    let key = [uses_prefix(&grant.id), grant.uses.to_be_bytes().to_vec()].concat();
    state.put_value(Space::State, key, &record);
    grant.uses += 1;
    state.put_value(Space::State, grant_key(&grant.id), &grant);
    let day = ((now / DAY_MS) as u32).to_be_bytes();
    let report = [
        uses_by_org_prefix(&record.org),
        day.to_vec(),
        ctx.tx_hash.as_bytes().to_vec(),
    ]
    .concat();
    state.put_value(Space::Index, report, &grant.id);
    stats::count(
        state,
        stats::metric::GRANT_USES,
        now,
        &[record.org.as_str(), &grant.matter.code, &grant.matter.name],
    )?;
    Ok(())
}

/// Index value decoding for the node's reports.
pub fn action_name(action: Action) -> &'static str {
    match action {
        Action::View => "view",
        Action::Verify => "verify",
        Action::Download => "download",
    }
}
