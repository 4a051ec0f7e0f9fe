//! Coding lots and moving packages: commission, ship, receive, split, sell, dispose.

use xinlian_core::Hash;
use xinlian_core::ids::Uscc;
use xinlian_core::limits::NAME_BYTES_MAX;
use xinlian_core::trace::{
    EventKind, Holding, ImportDetails, Lot, LotCode, LotOrder, Product, Selection, Serials,
    Shipment, TraceCall, TraceCode,
};

use super::{
    SPLIT_DEPTH_MAX, Step, argument, check_certificate, check_certificates_len, check_may_move,
    check_packages, children_prefix, event, invalid, lineage, load_holding, load_lot, record,
    search, select, sender_enterprise, shipment_key, store_holding, store_lot, transit_prefix,
    tx_lot_key,
};
use crate::executor::TxContext;
use crate::step::check_reason;
use crate::system::{Member, check_text};
use crate::{ContractError, ExecError, Overlay, Space, StateReader};

const NEXT_LOT_KEY: &[u8] = super::NEXT_LOT_KEY;

/// Takes the next lot number in `region`.
fn next_lot_number(state: &mut Overlay<'_>, region: u32) -> Result<u64, ExecError> {
    let seq: u64 = state.get_value(Space::State, NEXT_LOT_KEY)?.unwrap_or(1);
    state.put_value(Space::State, NEXT_LOT_KEY.to_vec(), &(seq + 1));
    Ok(TraceCode::lot_number(region, seq))
}

fn check_product(product: &Product) -> Result<(), ContractError> {
    check_text("product.name", &product.name, 1, NAME_BYTES_MAX)?;
    check_text("product.category", &product.category, 1, NAME_BYTES_MAX)?;
    check_text(
        "product.specification",
        &product.specification,
        1,
        NAME_BYTES_MAX,
    )?;
    if let Some(gtin) = &product.gtin
        && !valid_gtin(gtin)
    {
        return Err(argument(
            "product.gtin",
            "8, 12, 13 or 14 digits with a valid GS1 check digit",
        ));
    }
    Ok(())
}

/// GS1 check digit: weights 3 and 1 alternating from the right, excluding the check digit.
fn valid_gtin(gtin: &str) -> bool {
    if ![8, 12, 13, 14].contains(&gtin.len()) || !gtin.bytes().all(|b| b.is_ascii_digit()) {
        return false;
    }
    let digits: Vec<u32> = gtin.bytes().map(|b| u32::from(b - b'0')).collect();
    let (body, check) = digits.split_at(digits.len() - 1);
    let sum: u32 = body
        .iter()
        .rev()
        .enumerate()
        .map(|(i, d)| if i % 2 == 0 { d * 3 } else { *d })
        .sum();
    (10 - sum % 10) % 10 == check[0]
}

fn valid_date(yyyymmdd: u32) -> bool {
    let (year, month, day) = (yyyymmdd / 10_000, yyyymmdd / 100 % 100, yyyymmdd % 100);
    (1970..=2999).contains(&year) && (1..=12).contains(&month) && (1..=31).contains(&day)
}

/// The stateless rules of a commissioning, in the order execution checks them (after the
/// sender's enterprise may commission); shared with admission (`crate::check_bounds`).
/// Any other call passes: it has none of these fields.
pub(crate) fn check_commission(call: &TraceCall) -> Result<(), ContractError> {
    let TraceCall::Commission {
        product,
        origin_country,
        production_date,
        shelf_life_days,
        batch,
        packages,
        unit,
        import,
        certificates,
    } = call
    else {
        return Ok(());
    };
    check_product(product)?;
    if origin_country.len() != 2 || !origin_country.bytes().all(|b| b.is_ascii_uppercase()) {
        return Err(argument("origin_country", "ISO 3166-1 alpha-2, e.g. BR"));
    }
    if !valid_date(*production_date) {
        return Err(argument("production_date", "YYYYMMDD"));
    }
    if !(1..=3650).contains(shelf_life_days) {
        return Err(argument("shelf_life_days", "1 to 3650"));
    }
    check_text("batch", batch, 1, NAME_BYTES_MAX)?;
    check_text("unit", unit, 1, 64)?;
    check_packages("packages", *packages)?;
    if let Some(ImportDetails {
        customs_declaration,
        entry_port,
    }) = import
    {
        check_text(
            "import.customs_declaration",
            customs_declaration,
            1,
            NAME_BYTES_MAX,
        )?;
        check_text("import.entry_port", entry_port, 1, NAME_BYTES_MAX)?;
    }
    check_certificates_len(certificates.len())?;
    for certificate in certificates {
        check_certificate(certificate)?;
    }
    Ok(())
}

/// The stateless rules of a split's child lot: packages, specification, unit, in this order;
/// shared with admission (`crate::check_bounds`).
pub(crate) fn check_split(
    packages: u32,
    specification: &str,
    unit: &str,
) -> Result<(), ContractError> {
    check_packages("packages", packages)?;
    check_text("specification", specification, 1, NAME_BYTES_MAX)?;
    check_text("unit", unit, 1, 64)
}

pub(super) fn commission(
    state: &mut Overlay<'_>,
    ctx: &TxContext<'_>,
    sender: &Member,
    call: &TraceCall,
) -> Step<()> {
    let TraceCall::Commission {
        product,
        origin_country,
        production_date,
        shelf_life_days,
        batch,
        packages,
        unit,
        import,
        certificates,
    } = call
    else {
        return Err(invalid("call", "not a commissioning"));
    };
    let enterprise = sender_enterprise(state, sender)?;
    if !enterprise.kind.may_commission() {
        return Err(ContractError::NotFirstStation(enterprise.kind.label().to_string()).into());
    }
    check_commission(call)?;
    let number = next_lot_number(state, enterprise.region)?;
    let mut lot = Lot {
        number,
        product: product.clone(),
        origin_country: origin_country.clone(),
        production_date: *production_date,
        shelf_life_days: *shelf_life_days,
        batch: batch.clone(),
        packages: *packages,
        unit: unit.clone(),
        import: import.clone(),
        certificates: certificates.clone(),
        coded_by: sender.org.clone(),
        parent: None,
        order: LotOrder::None,
        sold: Serials::default(),
        disposed: Serials::default(),
        split: Serials::default(),
        coded_at_ms: ctx.block.timestamp_ms,
        coded_height: ctx.block.height,
        events: 0,
    };
    let all = Serials::first(*packages);
    let mut commissioned = event(ctx, EventKind::Commissioned, &sender.org);
    commissioned.serials = all.clone();
    record(state, &mut lot, commissioned);
    let holding = Holding {
        stock: all,
        received: u64::from(*packages),
        first_in_ms: ctx.block.timestamp_ms,
        last_event_ms: ctx.block.timestamp_ms,
        ..Holding::default()
    };
    store_holding(state, number, &sender.org, &holding)?;
    search::index_lot(state, ctx.rules.suite, &lot, enterprise.region);
    state.put_value(Space::Index, tx_lot_key(&ctx.tx_hash), &number);
    store_lot(state, &lot);
    Ok(())
}

/// Takes `selection` out of the sender's stock of a lot that may move. Returns the lot, the
/// sender's holding with the packages removed, and the packages.
fn take(
    state: &Overlay<'_>,
    sender: &Member,
    code: LotCode,
    selection: &Selection,
    check_orders: bool,
) -> Step<(Lot, Holding, Serials)> {
    sender_enterprise(state, sender)?;
    let lot = load_lot(state, code)?;
    let mut holding = load_holding(state, lot.number, &sender.org)?;
    let serials = select(&holding, selection, code, &sender.org)?;
    if check_orders {
        check_may_move(state, &lot)?;
    }
    holding.stock.remove(&serials);
    Ok((lot, holding, serials))
}

pub(super) fn ship(
    state: &mut Overlay<'_>,
    ctx: &TxContext<'_>,
    sender: &Member,
    code: LotCode,
    to: &Uscc,
    selection: &Selection,
    temperature_log: Option<Hash>,
) -> Step<()> {
    if *to == sender.org {
        return Err(ContractError::ShipToSelf.into());
    }
    let (mut lot, mut holding, serials) = take(state, sender, code, selection, true)?;
    if state
        .get(Space::State, &super::enterprise_key(to))?
        .is_none()
    {
        return Err(ContractError::UnknownEnterprise(to.to_string()).into());
    }
    let now = ctx.block.timestamp_ms;
    holding.shipped += serials.count();
    holding.last_event_ms = now;
    store_holding(state, lot.number, &sender.org, &holding)?;
    let shipment = Shipment {
        id: ctx.tx_hash,
        lot: lot.number,
        from: sender.org.clone(),
        to: to.clone(),
        serials: serials.clone(),
        temperature_log,
        shipped_at_ms: now,
        received_at_ms: None,
    };
    state.put_value(Space::State, shipment_key(&ctx.tx_hash), &shipment);
    let transit = [transit_prefix(to), ctx.tx_hash.as_bytes().to_vec()].concat();
    state.put(Space::Index, transit, Vec::new());
    let mut shipped = event(ctx, EventKind::Shipped, &sender.org);
    shipped.counterparty = Some(to.clone());
    shipped.serials = serials;
    shipped.reference = Some(ctx.tx_hash);
    record(state, &mut lot, shipped);
    store_lot(state, &lot);
    Ok(())
}

pub(super) fn receive(
    state: &mut Overlay<'_>,
    ctx: &TxContext<'_>,
    sender: &Member,
    id: &Hash,
) -> Step<()> {
    sender_enterprise(state, sender)?;
    let Some(mut shipment) = state.get_value::<Shipment>(Space::State, &shipment_key(id))? else {
        return Err(ContractError::ShipmentNotFound(id.to_hex()).into());
    };
    if shipment.to != sender.org {
        return Err(ContractError::NotReceiver {
            shipment: id.to_hex(),
            to: shipment.to.to_string(),
            sender: sender.org.to_string(),
        }
        .into());
    }
    if shipment.received_at_ms.is_some() {
        return Err(ContractError::AlreadyReceived(id.to_hex()).into());
    }
    // Goods already on the road are received even under a hold: they are physically here, and
    // the hold then keeps them where they are.
    let now = ctx.block.timestamp_ms;
    let mut lot = load_lot(state, LotCode(shipment.lot))?;
    let mut holding = load_holding(state, lot.number, &sender.org)?;
    holding.stock.insert(&shipment.serials);
    holding.received += shipment.serials.count();
    if holding.first_in_ms == 0 {
        holding.first_in_ms = now;
    }
    holding.last_event_ms = now;
    store_holding(state, lot.number, &sender.org, &holding)?;
    shipment.received_at_ms = Some(now);
    state.put_value(Space::State, shipment_key(id), &shipment);
    let transit = [transit_prefix(&sender.org), id.as_bytes().to_vec()].concat();
    state.delete(Space::Index, transit);
    let mut received = event(ctx, EventKind::Received, &sender.org);
    received.counterparty = Some(shipment.from.clone());
    received.serials = shipment.serials.clone();
    received.reference = Some(*id);
    record(state, &mut lot, received);
    store_lot(state, &lot);
    Ok(())
}

#[allow(clippy::too_many_arguments)] // one per field of the call
pub(super) fn split(
    state: &mut Overlay<'_>,
    ctx: &TxContext<'_>,
    sender: &Member,
    code: LotCode,
    selection: &Selection,
    packages: u32,
    specification: &str,
    unit: &str,
) -> Step<()> {
    check_split(packages, specification, unit)?;
    let enterprise = sender_enterprise(state, sender)?;
    let (mut lot, mut holding, serials) = take(state, sender, code, selection, true)?;
    if lineage(state, &lot)?.len() > SPLIT_DEPTH_MAX {
        return Err(invalid("lot", "splits may go at most 16 generations deep"));
    }
    let now = ctx.block.timestamp_ms;
    let child_number = next_lot_number(state, enterprise.region)?;
    holding.split += serials.count();
    holding.last_event_ms = now;
    store_holding(state, lot.number, &sender.org, &holding)?;
    lot.split.insert(&serials);
    let mut child = Lot {
        number: child_number,
        product: xinlian_core::trace::Product {
            specification: specification.to_string(),
            ..lot.product.clone()
        },
        unit: unit.to_string(),
        packages,
        import: None,
        certificates: Vec::new(),
        coded_by: sender.org.clone(),
        parent: Some((lot.number, serials.clone())),
        order: LotOrder::None,
        sold: Serials::default(),
        disposed: Serials::default(),
        split: Serials::default(),
        coded_at_ms: now,
        coded_height: ctx.block.height,
        events: 0,
        ..lot.clone()
    };
    let mut split = event(ctx, EventKind::Split, &sender.org);
    split.serials = serials.clone();
    split.related_lot = Some(child_number);
    record(state, &mut lot, split);
    store_lot(state, &lot);
    let mut from = event(ctx, EventKind::SplitFrom, &sender.org);
    from.serials = Serials::first(packages);
    from.related_lot = Some(lot.number);
    record(state, &mut child, from);
    store_lot(state, &child);
    let child_holding = Holding {
        stock: Serials::first(packages),
        received: u64::from(packages),
        first_in_ms: now,
        last_event_ms: now,
        ..Holding::default()
    };
    store_holding(state, child_number, &sender.org, &child_holding)?;
    let child_key = [
        children_prefix(lot.number),
        child_number.to_be_bytes().to_vec(),
    ]
    .concat();
    state.put(Space::Index, child_key, Vec::new());
    state.put_value(Space::Index, tx_lot_key(&ctx.tx_hash), &child_number);
    Ok(())
}

pub(super) fn sell(
    state: &mut Overlay<'_>,
    ctx: &TxContext<'_>,
    sender: &Member,
    code: LotCode,
    selection: &Selection,
) -> Step<()> {
    let (mut lot, mut holding, serials) = take(state, sender, code, selection, true)?;
    holding.sold += serials.count();
    holding.last_event_ms = ctx.block.timestamp_ms;
    store_holding(state, lot.number, &sender.org, &holding)?;
    lot.sold.insert(&serials);
    let mut sold = event(ctx, EventKind::Sold, &sender.org);
    sold.serials = serials;
    record(state, &mut lot, sold);
    store_lot(state, &lot);
    Ok(())
}

pub(super) fn dispose(
    state: &mut Overlay<'_>,
    ctx: &TxContext<'_>,
    sender: &Member,
    code: LotCode,
    selection: &Selection,
    reason: &str,
) -> Step<()> {
    check_reason(reason)?;
    // Held and recalled goods may be destroyed: that is often what the order leads to.
    let (mut lot, mut holding, serials) = take(state, sender, code, selection, false)?;
    holding.disposed += serials.count();
    holding.last_event_ms = ctx.block.timestamp_ms;
    store_holding(state, lot.number, &sender.org, &holding)?;
    lot.disposed.insert(&serials);
    let mut disposed = event(ctx, EventKind::Disposed, &sender.org);
    disposed.serials = serials;
    disposed.note = reason.to_string();
    record(state, &mut lot, disposed);
    store_lot(state, &lot);
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn gtin_check_digits() {
        assert!(super::valid_gtin("6901234567892"));
        assert!(super::valid_gtin("96385074"));
        assert!(!super::valid_gtin("6901234567893"));
        assert!(!super::valid_gtin("69012345678a"));
        assert!(!super::valid_gtin("123"));
    }
}
