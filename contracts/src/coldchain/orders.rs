//! Regulators' orders (hold, release, recall) and certificates attached after coding.

use xinlian_core::trace::{Certificate, EventKind, LotCode, LotOrder};
use xinlian_core::types::OrgRole;

use super::{
    Step, check_certificate, check_certificates_len, event, load_lot, org_has_role, record,
    store_lot,
};
use crate::ContractError;
use crate::executor::TxContext;
use crate::step::check_reason;
use crate::system::Member;
use crate::{Overlay, Space, stats};

fn regulator(state: &Overlay<'_>, sender: &Member) -> Step<()> {
    if !org_has_role(state, &sender.org, OrgRole::Regulator)? {
        return Err(ContractError::NotRegulator(sender.org.to_string()).into());
    }
    Ok(())
}

/// A change of a lot's order: the new order, its event, and which current orders allow it.
struct Transition {
    next: LotOrder,
    event: EventKind,
    allowed: fn(&LotOrder) -> Result<(), &'static str>,
}

/// Applies a regulator's order to a lot.
fn order(
    state: &mut Overlay<'_>,
    ctx: &TxContext<'_>,
    sender: &Member,
    code: LotCode,
    reason: &str,
    transition: Transition,
) -> Step<()> {
    regulator(state, sender)?;
    check_reason(reason)?;
    let mut lot = load_lot(state, code)?;
    (transition.allowed)(&lot.order).map_err(|why| ContractError::OrderConflict {
        lot: code.to_string(),
        reason: why.to_string(),
    })?;
    let (before, after) = (order_name(&lot.order), order_name(&transition.next));
    stats::move_gauge(
        state,
        stats::metric::TRACE_ORDERS,
        before.as_ref().map(std::slice::from_ref),
        after.as_ref().map(std::slice::from_ref),
    )?;
    let listed = super::orders_key(lot.number);
    match after {
        Some(name) => state.put(Space::Index, listed, name.as_bytes().to_vec()),
        None => state.delete(Space::Index, listed),
    }
    lot.order = transition.next;
    let mut ordered = event(ctx, transition.event, &sender.org);
    ordered.note = reason.to_string();
    record(state, &mut lot, ordered);
    store_lot(state, &lot);
    Ok(())
}

pub(super) fn hold(
    state: &mut Overlay<'_>,
    ctx: &TxContext<'_>,
    sender: &Member,
    code: LotCode,
    reason: &str,
) -> Step<()> {
    let transition = Transition {
        next: LotOrder::Held {
            reason: reason.to_string(),
        },
        event: EventKind::Held,
        allowed: |current| match current {
            LotOrder::None => Ok(()),
            LotOrder::Held { .. } => Err("already held"),
            LotOrder::Recalled { .. } => Err("recalled; a recall is final"),
        },
    };
    order(state, ctx, sender, code, reason, transition)
}

pub(super) fn release(
    state: &mut Overlay<'_>,
    ctx: &TxContext<'_>,
    sender: &Member,
    code: LotCode,
    reason: &str,
) -> Step<()> {
    let transition = Transition {
        next: LotOrder::None,
        event: EventKind::Released,
        allowed: |current| match current {
            LotOrder::Held { .. } => Ok(()),
            LotOrder::None => Err("not held"),
            LotOrder::Recalled { .. } => Err("recalled; a recall is final"),
        },
    };
    order(state, ctx, sender, code, reason, transition)
}

pub(super) fn recall(
    state: &mut Overlay<'_>,
    ctx: &TxContext<'_>,
    sender: &Member,
    code: LotCode,
    reason: &str,
) -> Step<()> {
    let transition = Transition {
        next: LotOrder::Recalled {
            reason: reason.to_string(),
        },
        event: EventKind::Recalled,
        allowed: |current| match current {
            LotOrder::Recalled { .. } => Err("already recalled"),
            _ => Ok(()),
        },
    };
    order(state, ctx, sender, code, reason, transition)
}

pub(super) fn attach_certificate(
    state: &mut Overlay<'_>,
    ctx: &TxContext<'_>,
    sender: &Member,
    code: LotCode,
    certificate: &Certificate,
) -> Step<()> {
    check_certificate(certificate)?;
    let mut lot = load_lot(state, code)?;
    // The coder and regulators attach anything. A current holder (with stock) attaches only
    // documents the chain does not require, so nobody downstream can clear the four-forbiddens
    // check with papers of their own.
    let authority =
        lot.coded_by == sender.org || org_has_role(state, &sender.org, OrgRole::Regulator)?;
    let holding = super::load_holding(state, lot.number, &sender.org)?;
    let required = super::config(state)?
        .required_certificates
        .contains(&certificate.kind);
    let may = authority || (!holding.stock.is_empty() && !required);
    if !may {
        return Err(ContractError::NotCertifier {
            sender: sender.org.to_string(),
            lot: code.to_string(),
        }
        .into());
    }
    check_certificates_len(lot.certificates.len() + 1)?;
    lot.certificates.push(certificate.clone());
    let mut attached = event(ctx, EventKind::CertificateAttached, &sender.org);
    attached.reference = Some(certificate.digest);
    attached.note = format!("{} {}", certificate.kind.label(), certificate.number);
    record(state, &mut lot, attached);
    store_lot(state, &lot);
    Ok(())
}

/// The order's name in the console's aggregates and the orders index; `None` for no order.
fn order_name(order: &LotOrder) -> Option<&'static str> {
    match order {
        LotOrder::None => None,
        LotOrder::Held { .. } => Some("held"),
        LotOrder::Recalled { .. } => Some("recalled"),
    }
}
