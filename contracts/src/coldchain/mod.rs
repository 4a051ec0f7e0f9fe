//! The cold-chain contract (冷链食品溯源): enterprises, lots coded down to the smallest package,
//! movements between holders, and regulators' orders.
//!
//! Rules it enforces: quantities are conserved (a holder's stock is an exact set of package
//! serials; in transit is nobody's stock); only a holder moves packages, and only to registered
//! enterprises; a held or recalled lot, or a lot split from one, does not move; an imported lot
//! moves on or is sold only once the certificates the chain requires are attached (四个不得).
//!
//! State keys (binary parts: lot numbers as 8-byte big-endian, sequence numbers 4-byte):
//! - `cc/config` → [`TraceConfig`]; `cc/next-lot` → u64
//! - `cc/ent/<uscc>` → [`Enterprise`]
//! - `cc/lot/<lot>` → [`Lot`]; `cc/ev/<lot><seq>` → [`TraceEvent`]
//! - `cc/hold/<lot><uscc>` → [`Holding`]; `cc/ship/<tx hash>` → [`Shipment`]
//!
//! Index keys (what the queries read): `cc/holders/<lot><uscc>`, `cc/children/<lot><child>`,
//! `cc/stock/<uscc>/<lot>` (while in stock), `cc/transit/<uscc>/<shipment>` (awaiting receipt),
//! `cc/tx-lot/<tx hash>` → lot, `cc/orders/<lot>` → `held` or `recalled`, the lot search keys
//! of [`search`], and the console's counters (`crate::stats`).

mod movement;
mod orders;
pub mod search;

use xinlian_core::Hash;
use xinlian_core::crypto::PublicKey;
use xinlian_core::ids::Uscc;
use xinlian_core::limits::{NAME_BYTES_MAX, TEXT_BYTES_MAX};
use xinlian_core::trace::{
    CERTIFICATES_MAX, Certificate, Enterprise, Holding, Lot, LotCode, LotNumber, LotOrder,
    PACKAGES_PER_LOT_MAX, SELECTION_RANGES_MAX, Selection, Serials, TraceCall, TraceConfig,
    TraceEvent,
};
use xinlian_core::types::{MemberRole, OrgRole};

use crate::executor::TxContext;
use crate::system::{self, Member, Organisation, org_has_role};
use crate::{ContractError, ExecError, Overlay, Space, StateReader, stats};

/// Most generations of splits below a first-station lot.
pub const SPLIT_DEPTH_MAX: usize = 16;

pub(crate) use crate::step::{Step, argument, invalid};
pub(crate) use movement::{check_commission, check_split};

const CONFIG_KEY: &[u8] = b"cc/config";
const NEXT_LOT_KEY: &[u8] = b"cc/next-lot";

/// State key of an enterprise.
pub fn enterprise_key(uscc: &Uscc) -> Vec<u8> {
    [b"cc/ent/".as_slice(), uscc.as_str().as_bytes()].concat()
}

/// State key of a lot.
pub fn lot_key(lot: LotNumber) -> Vec<u8> {
    [b"cc/lot/".as_slice(), &lot.to_be_bytes()].concat()
}

/// State key prefix of a lot's events (then a 4-byte sequence number).
pub fn events_prefix(lot: LotNumber) -> Vec<u8> {
    [b"cc/ev/".as_slice(), &lot.to_be_bytes()].concat()
}

/// State key of how many enterprises ever held part of `lot` (u32).
pub fn lot_holders_count_key(lot: LotNumber) -> Vec<u8> {
    [b"cc/nholders/".as_slice(), &lot.to_be_bytes()].concat()
}

/// State key of the `seq`-th enterprise to hold part of `lot`, in the order they first did: with
/// the count, a list a proof can show complete (the `cc/holders/` index cannot).
pub fn lot_holder_key(lot: LotNumber, seq: u32) -> Vec<u8> {
    [
        b"cc/holder/".as_slice(),
        &lot.to_be_bytes(),
        &seq.to_be_bytes(),
    ]
    .concat()
}

/// State key of what `uscc` did with `lot`.
pub fn holding_key(lot: LotNumber, uscc: &Uscc) -> Vec<u8> {
    [
        b"cc/hold/".as_slice(),
        &lot.to_be_bytes(),
        uscc.as_str().as_bytes(),
    ]
    .concat()
}

/// State key of a shipment.
pub fn shipment_key(id: &Hash) -> Vec<u8> {
    [b"cc/ship/".as_slice(), id.as_bytes()].concat()
}

/// Index prefix of a lot's holders (then the USCC).
pub fn holders_prefix(lot: LotNumber) -> Vec<u8> {
    [b"cc/holders/".as_slice(), &lot.to_be_bytes()].concat()
}

/// Index prefix of a lot's child lots (then the child's 8-byte number).
pub fn children_prefix(lot: LotNumber) -> Vec<u8> {
    [b"cc/children/".as_slice(), &lot.to_be_bytes()].concat()
}

/// Index prefix of the lots an enterprise has in stock (then the 8-byte lot number).
pub fn stock_prefix(uscc: &Uscc) -> Vec<u8> {
    [b"cc/stock/".as_slice(), uscc.as_str().as_bytes(), b"/"].concat()
}

/// Index prefix of the shipments awaiting `uscc`'s receipt (then the shipment id).
pub fn transit_prefix(uscc: &Uscc) -> Vec<u8> {
    [b"cc/transit/".as_slice(), uscc.as_str().as_bytes(), b"/"].concat()
}

/// Index key of a lot under a regulator's order → `held` or `recalled` (the open orders the
/// console lists; a released lot leaves it).
pub fn orders_key(lot: LotNumber) -> Vec<u8> {
    [ORDERS_PREFIX, &lot.to_be_bytes()].concat()
}

/// Index prefix of the lots under an order.
pub const ORDERS_PREFIX: &[u8] = b"cc/orders/";

/// Index key of the lot a transaction coded (commission or split).
pub fn tx_lot_key(tx: &Hash) -> Vec<u8> {
    [b"cc/tx-lot/".as_slice(), tx.as_bytes()].concat()
}

/// Genesis state: the default configuration.
pub fn genesis_writes(state: &mut Overlay<'_>) {
    state.put_value(Space::State, CONFIG_KEY.to_vec(), &TraceConfig::default());
}

/// The chain's cold-chain configuration.
pub fn config(state: &Overlay<'_>) -> Result<TraceConfig, ExecError> {
    Ok(state
        .get_value(Space::State, CONFIG_KEY)?
        .unwrap_or_default())
}

/// Sets the configuration (governance).
pub(crate) fn set_config(state: &mut Overlay<'_>, config: &TraceConfig) {
    state.put_value(Space::State, CONFIG_KEY.to_vec(), config);
}

/// Whether a member's role may send cold-chain calls: admins and operators; auditors only read.
pub fn role_allows(role: MemberRole) -> bool {
    matches!(role, MemberRole::Admin | MemberRole::Operator)
}

/// Executes one cold-chain call.
pub fn execute(
    state: &mut Overlay<'_>,
    ctx: &TxContext<'_>,
    sender: &Member,
    call: &TraceCall,
) -> Result<Result<(), ContractError>, ExecError> {
    let result = match call {
        TraceCall::RegisterEnterprise {
            uscc,
            name,
            kind,
            region,
            address,
            contact,
            admins,
        } => {
            let profile = Enterprise {
                uscc: uscc.clone(),
                name: name.clone(),
                kind: *kind,
                region: *region,
                address: address.clone(),
                contact: contact.clone(),
                registered_height: ctx.block.height,
            };
            register_enterprise(state, ctx, sender, profile, admins)
        }
        TraceCall::Commission { .. } => movement::commission(state, ctx, sender, call),
        TraceCall::Ship {
            lot,
            to,
            select,
            temperature_log,
        } => movement::ship(state, ctx, sender, *lot, to, select, *temperature_log),
        TraceCall::Receive { shipment } => movement::receive(state, ctx, sender, shipment),
        TraceCall::Split {
            lot,
            select,
            packages,
            specification,
            unit,
        } => movement::split(
            state,
            ctx,
            sender,
            *lot,
            select,
            *packages,
            specification,
            unit,
        ),
        TraceCall::Sell { lot, select } => movement::sell(state, ctx, sender, *lot, select),
        TraceCall::Dispose {
            lot,
            select,
            reason,
        } => movement::dispose(state, ctx, sender, *lot, select, reason),
        TraceCall::AttachCertificate { lot, certificate } => {
            orders::attach_certificate(state, ctx, sender, *lot, certificate)
        }
        TraceCall::Hold { lot, reason } => orders::hold(state, ctx, sender, *lot, reason),
        TraceCall::Release { lot, reason } => orders::release(state, ctx, sender, *lot, reason),
        TraceCall::Recall { lot, reason } => orders::recall(state, ctx, sender, *lot, reason),
    };
    let result = result.and_then(|()| Ok(count_call(state, ctx, sender, call)?));
    crate::step::finish(result)
}

/// Counts a successful call for the console: by the acting enterprise's region and kind (`-`
/// for a regulator's order), and the packages a first station coded.
fn count_call(
    state: &mut Overlay<'_>,
    ctx: &TxContext<'_>,
    sender: &Member,
    call: &TraceCall,
) -> Result<(), ExecError> {
    let enterprise: Option<Enterprise> =
        state.get_value(Space::State, &enterprise_key(&sender.org))?;
    let (region, kind) = match &enterprise {
        Some(e) => (e.region.to_string(), e.kind.name()),
        None => ("-".to_string(), "-"),
    };
    let at = ctx.block.timestamp_ms;
    stats::count(
        state,
        stats::metric::TRACE_CALLS,
        at,
        &[call.name(), &region, kind],
    )?;
    if let TraceCall::Commission { packages, .. } = call {
        let key = stats::daily_key(
            stats::metric::TRACE_PACKAGES,
            stats::day_of(at),
            &[&region, kind],
        );
        stats::add(state, key, i64::from(*packages))?;
    }
    Ok(())
}

// The stateless rules of cold-chain calls, shared with admission (`crate::check_bounds`). Each is
// called where execution checks it, so the order of refusals (and receipts) stays as it was.

/// An enterprise's name, address, contact and region, in this order.
pub(crate) fn check_profile(
    name: &str,
    address: &str,
    contact: &str,
    region: u32,
) -> Result<(), ContractError> {
    system::check_text("name", name, 1, NAME_BYTES_MAX)?;
    system::check_text("address", address, 1, TEXT_BYTES_MAX)?;
    system::check_text("contact", contact, 1, NAME_BYTES_MAX)?;
    if !(110_000..=820_000).contains(&region) {
        return Err(argument(
            "region",
            "a 6-digit GB/T 2260 code, 110000 to 820000",
        ));
    }
    Ok(())
}

/// An enterprise's first admins: 1 to 16 keys, none named twice.
pub(crate) fn check_enterprise_admins(admins: &[PublicKey]) -> Result<(), ContractError> {
    if admins.is_empty() || admins.len() > 16 {
        return Err(argument("admins", "1 to 16 admin keys"));
    }
    if admins
        .iter()
        .enumerate()
        .any(|(i, k)| admins[..i].contains(k))
    {
        return Err(argument("admins", "a key is named twice"));
    }
    Ok(())
}

/// What a selection may name whatever the stock: at least one package, at most
/// `SELECTION_RANGES_MAX` ranges of serials.
pub(crate) fn check_selection(selection: &Selection) -> Result<(), ContractError> {
    match selection {
        Selection::Quantity(0) => Err(ContractError::InvalidQuantity {
            field: "quantity",
            reason: "must be at least 1".into(),
        }),
        Selection::Serials(serials) if serials.is_empty() => Err(ContractError::InvalidQuantity {
            field: "serials",
            reason: "name at least one package".into(),
        }),
        Selection::Serials(serials) if serials.ranges().len() > SELECTION_RANGES_MAX => {
            Err(ContractError::InvalidQuantity {
                field: "serials",
                reason: format!("at most {SELECTION_RANGES_MAX} ranges"),
            })
        }
        Selection::Quantity(_) | Selection::Serials(_) => Ok(()),
    }
}

fn register_enterprise(
    state: &mut Overlay<'_>,
    ctx: &TxContext<'_>,
    sender: &Member,
    profile: Enterprise,
    admins: &[PublicKey],
) -> Step<()> {
    if !org_has_role(state, &sender.org, OrgRole::EnterpriseRegistrar)? {
        return Err(ContractError::NotRegistrar(sender.org.to_string()).into());
    }
    check_profile(
        &profile.name,
        &profile.address,
        &profile.contact,
        profile.region,
    )?;
    if state
        .get(Space::State, &enterprise_key(&profile.uscc))?
        .is_some()
    {
        return Err(ContractError::EnterpriseExists(profile.uscc.to_string()).into());
    }
    if state
        .get(Space::State, &system::org_key(&profile.uscc))?
        .is_some()
    {
        return Err(ContractError::OrganisationExists(profile.uscc.to_string()).into());
    }
    check_enterprise_admins(admins)?;
    for key in admins {
        if !ctx.accepts(key.scheme()) {
            return Err(ContractError::SchemeNotAccepted(key.scheme().to_string()).into());
        }
        if system::find_member(state, ctx.rules.suite, key)?.is_some() {
            return Err(ContractError::MemberExists(key.to_string()).into());
        }
    }
    let org = Organisation {
        uscc: profile.uscc.clone(),
        name: profile.name.clone(),
        roles: vec![OrgRole::Enterprise],
    };
    state.put_value(Space::State, system::org_key(&org.uscc), &org);
    system::add_admins(state, ctx.rules.suite, &org, admins, ctx.block.height);
    state.put_value(Space::State, enterprise_key(&profile.uscc), &profile);
    Ok(())
}

/// The sender's enterprise, or `not_enterprise`.
fn sender_enterprise(state: &Overlay<'_>, sender: &Member) -> Step<Enterprise> {
    state
        .get_value(Space::State, &enterprise_key(&sender.org))?
        .ok_or_else(|| ContractError::NotEnterprise(sender.org.to_string()).into())
}

/// A lot, or `lot_not_found`.
fn load_lot(state: &Overlay<'_>, lot: LotCode) -> Step<Lot> {
    state
        .get_value(Space::State, &lot_key(lot.0))?
        .ok_or_else(|| ContractError::LotNotFound(lot.to_string()).into())
}

fn store_lot(state: &mut Overlay<'_>, lot: &Lot) {
    state.put_value(Space::State, lot_key(lot.number), lot);
}

/// The lot and its ancestors, the lot first (split depth is bounded at creation).
fn lineage(state: &Overlay<'_>, lot: &Lot) -> Step<Vec<Lot>> {
    let mut chain = vec![lot.clone()];
    while let Some((parent, _)) = &chain[chain.len() - 1].parent {
        if chain.len() > SPLIT_DEPTH_MAX {
            break;
        }
        let parent = load_lot(state, LotCode(*parent))?;
        chain.push(parent);
    }
    Ok(chain)
}

/// Refuses a move of `lot` when it or a lot it came from is held or recalled, or when its
/// imported first-station lot lacks a required certificate.
fn check_may_move(state: &Overlay<'_>, lot: &Lot) -> Step<()> {
    let chain = lineage(state, lot)?;
    for ancestor in &chain {
        let code = LotCode(ancestor.number).to_string();
        match &ancestor.order {
            LotOrder::None => {}
            LotOrder::Held { reason } => {
                return Err(ContractError::LotHeld {
                    lot: code,
                    reason: reason.clone(),
                }
                .into());
            }
            LotOrder::Recalled { reason } => {
                return Err(ContractError::LotRecalled {
                    lot: code,
                    reason: reason.clone(),
                }
                .into());
            }
        }
    }
    let root = &chain[chain.len() - 1];
    if root.import.is_some() {
        let required = config(state)?.required_certificates;
        let missing: Vec<&str> = required
            .iter()
            .filter(|kind| !root.certificates.iter().any(|c| c.kind == **kind))
            .map(|kind| kind.label())
            .collect();
        if !missing.is_empty() {
            return Err(ContractError::CertificatesMissing {
                lot: LotCode(root.number).to_string(),
                missing: missing.join(", "),
            }
            .into());
        }
    }
    Ok(())
}

fn load_holding(state: &Overlay<'_>, lot: LotNumber, uscc: &Uscc) -> Result<Holding, ExecError> {
    Ok(state
        .get_value(Space::State, &holding_key(lot, uscc))?
        .unwrap_or_default())
}

/// Stores a holding and keeps the holder list and the holder and stock indexes in line with it.
fn store_holding(
    state: &mut Overlay<'_>,
    lot: LotNumber,
    uscc: &Uscc,
    holding: &Holding,
) -> Result<(), ExecError> {
    let key = holding_key(lot, uscc);
    if state.get(Space::State, &key)?.is_none() {
        let count: u32 = state
            .get_value(Space::State, &lot_holders_count_key(lot))?
            .unwrap_or(0);
        state.put_value(Space::State, lot_holder_key(lot, count), uscc);
        state.put_value(Space::State, lot_holders_count_key(lot), &(count + 1));
    }
    state.put_value(Space::State, key, holding);
    let holder = [holders_prefix(lot), uscc.as_str().as_bytes().to_vec()].concat();
    state.put(Space::Index, holder, Vec::new());
    let stock = [stock_prefix(uscc), lot.to_be_bytes().to_vec()].concat();
    if holding.stock.is_empty() {
        state.delete(Space::Index, stock);
    } else {
        state.put(Space::Index, stock, Vec::new());
    }
    Ok(())
}

/// The packages a selection names from `holding`'s stock.
fn select(holding: &Holding, selection: &Selection, lot: LotCode, holder: &Uscc) -> Step<Serials> {
    if holding.stock.is_empty() {
        return Err(ContractError::NotHolder {
            holder: holder.to_string(),
            lot: lot.to_string(),
        }
        .into());
    }
    check_selection(selection)?;
    match selection {
        Selection::Quantity(n) => holding.stock.lowest(u64::from(*n)).ok_or_else(|| {
            ContractError::InsufficientStock {
                lot: lot.to_string(),
                wanted: u64::from(*n),
                in_stock: holding.stock.count(),
            }
            .into()
        }),
        Selection::Serials(serials) if !holding.stock.contains_all(serials) => {
            Err(ContractError::CodesNotHeld(lot.to_string()).into())
        }
        Selection::Serials(serials) => Ok(serials.clone()),
    }
}

/// Appends an event to `lot`'s history (the caller stores the lot).
fn record(state: &mut Overlay<'_>, lot: &mut Lot, event: TraceEvent) {
    let key = [events_prefix(lot.number), lot.events.to_be_bytes().to_vec()].concat();
    state.put_value(Space::State, key, &event);
    lot.events += 1;
}

fn event(ctx: &TxContext<'_>, kind: xinlian_core::trace::EventKind, actor: &Uscc) -> TraceEvent {
    TraceEvent {
        kind,
        actor: actor.clone(),
        counterparty: None,
        serials: Serials::default(),
        related_lot: None,
        reference: None,
        note: String::new(),
        at_ms: ctx.block.timestamp_ms,
        height: ctx.block.height,
        tx: ctx.tx_hash,
    }
}

/// A certificate's number, then its issuer: each 1 to `NAME_BYTES_MAX` bytes.
pub(crate) fn check_certificate(certificate: &Certificate) -> Result<(), ContractError> {
    system::check_text("certificate.number", &certificate.number, 1, NAME_BYTES_MAX)?;
    system::check_text("certificate.issuer", &certificate.issuer, 1, NAME_BYTES_MAX)
}

/// A lot's package count: 1 to `PACKAGES_PER_LOT_MAX`.
pub(crate) fn check_packages(field: &'static str, packages: u32) -> Result<(), ContractError> {
    if packages == 0 || packages > PACKAGES_PER_LOT_MAX {
        return Err(ContractError::InvalidQuantity {
            field,
            reason: format!("must be 1 to {PACKAGES_PER_LOT_MAX}, got {packages}"),
        });
    }
    Ok(())
}

/// A lot's certificate count: at most `CERTIFICATES_MAX`.
fn check_certificates_len(count: usize) -> Result<(), ContractError> {
    if count > CERTIFICATES_MAX {
        return Err(argument("certificates", "at most 32 per lot"));
    }
    Ok(())
}
