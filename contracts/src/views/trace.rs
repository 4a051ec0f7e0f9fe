//! A trace code's answer (`GET /v1/trace/codes/{code}`), derived from the cold-chain contract's
//! state by point reads only: the lot and its ancestors, each lot's events by the count the lot
//! keeps, and its holders by the count and sequence-numbered list the contract keeps in state
//! (`lot_holders`), so that every entry can be proved and none left out.

use std::collections::HashMap;

use borsh::BorshDeserialize;
use xinlian_core::api::trace::{CodeStatus, CodeTrace, EnterpriseRef, Hop, LotHops};
use xinlian_core::ids::Uscc;
use xinlian_core::trace::{
    Enterprise, Holding, Lot, LotCode, LotNumber, LotOrder, Serials, TraceCode, TraceEvent,
};

use crate::coldchain::{self, SPLIT_DEPTH_MAX};
use crate::{ExecError, Overlay, Space, StateReader, system};

type Result<T> = std::result::Result<T, ExecError>;

/// Most events read per lot for a trace (a lot sold package by package can have many).
pub const EVENTS_READ_MAX: usize = 10_000;
/// Most holders read per lot.
pub const HOLDERS_READ_MAX: usize = 10_000;

/// Reads trace codes; caches enterprise names within one answer.
pub struct CodeReader<'a> {
    state: &'a dyn StateReader,
    names: HashMap<Uscc, EnterpriseRef>,
}

fn single(serial: u32) -> Serials {
    Serials::try_from(vec![(serial, serial)]).unwrap_or_default()
}

impl<'a> CodeReader<'a> {
    /// A reader over `state`.
    pub fn new(state: &'a dyn StateReader) -> Self {
        CodeReader {
            state,
            names: HashMap::new(),
        }
    }

    fn get<T: BorshDeserialize>(&self, key: &[u8]) -> Result<Option<T>> {
        Overlay::new(self.state).get_value(Space::State, key)
    }

    fn lot(&self, lot: LotNumber) -> Result<Option<Lot>> {
        self.get(&coldchain::lot_key(lot))
    }

    /// How an enterprise (or another organisation, such as a regulator) is shown.
    pub fn enterprise_ref(&mut self, uscc: &Uscc) -> Result<EnterpriseRef> {
        if let Some(known) = self.names.get(uscc) {
            return Ok(known.clone());
        }
        let enterprise: Option<Enterprise> = self.get(&coldchain::enterprise_key(uscc))?;
        let shown = match enterprise {
            Some(e) => EnterpriseRef {
                uscc: e.uscc,
                name: e.name,
                kind: Some(e.kind),
                kind_label: e.kind.label().to_string(),
                region: e.region,
            },
            None => {
                let org: Option<system::Organisation> = self.get(&system::org_key(uscc))?;
                EnterpriseRef {
                    uscc: uscc.clone(),
                    name: org.map(|o| o.name).unwrap_or_default(),
                    kind: None,
                    kind_label: "监管部门".into(),
                    region: 0,
                }
            }
        };
        self.names.insert(uscc.clone(), shown.clone());
        Ok(shown)
    }

    /// A lot's events, oldest first, at most [`EVENTS_READ_MAX`]; and whether there are more.
    fn events(&self, lot: &Lot) -> Result<(Vec<TraceEvent>, bool)> {
        let prefix = coldchain::events_prefix(lot.number);
        let count = (lot.events as usize).min(EVENTS_READ_MAX);
        let mut events = Vec::with_capacity(count);
        for seq in 0..lot.events.min(EVENTS_READ_MAX as u32) {
            let key = [prefix.as_slice(), &seq.to_be_bytes()].concat();
            let event = self.get(&key)?.ok_or_else(|| ExecError::Corrupt {
                key: format!("lot {} event {seq}", LotCode(lot.number)),
                reason: format!("missing, below the count of {}", lot.events),
            })?;
            events.push(event);
        }
        Ok((events, lot.events as usize > EVENTS_READ_MAX))
    }

    /// Everyone who ever held part of a lot, in the order they first did, with what they did:
    /// at most [`HOLDERS_READ_MAX`].
    fn holdings(&self, lot: LotNumber) -> Result<Vec<(Uscc, Holding)>> {
        let count: u32 = self
            .get(&coldchain::lot_holders_count_key(lot))?
            .unwrap_or(0);
        let mut out = Vec::new();
        for seq in 0..count.min(HOLDERS_READ_MAX as u32) {
            let uscc: Uscc = self
                .get(&coldchain::lot_holder_key(lot, seq))?
                .ok_or_else(|| ExecError::Corrupt {
                    key: format!("lot {} holder {seq}", LotCode(lot)),
                    reason: format!("missing, below the count of {count}"),
                })?;
            let holding: Holding = self
                .get(&coldchain::holding_key(lot, &uscc))?
                .unwrap_or_default();
            out.push((uscc, holding));
        }
        Ok(out)
    }

    fn hop(&mut self, event: TraceEvent) -> Result<Hop> {
        let actor = self.enterprise_ref(&event.actor)?;
        let counterparty = match &event.counterparty {
            Some(uscc) => Some(self.enterprise_ref(uscc)?),
            None => None,
        };
        Ok(Hop {
            kind: event.kind,
            label: event.kind.label().to_string(),
            actor,
            counterparty,
            quantity: event.serials.count(),
            related_lot: event.related_lot.map(LotCode),
            reference: event.reference,
            note: event.note,
            at_ms: event.at_ms,
            height: event.height,
            tx: event.tx,
        })
    }

    /// The lot and its ancestors, each with the serials that concern the code (`None`: all).
    fn lineage(&self, lot: Lot, focus: Option<Serials>) -> Result<Vec<(Lot, Option<Serials>)>> {
        let mut chain = vec![(lot, focus)];
        while chain.len() <= SPLIT_DEPTH_MAX {
            let Some((parent, serials)) = chain[chain.len() - 1].0.parent.clone() else {
                break;
            };
            let Some(parent) = self.lot(parent)? else {
                break;
            };
            chain.push((parent, Some(serials)));
        }
        Ok(chain)
    }

    /// A code's trace, or `None` for an unknown code.
    pub fn code(&mut self, code: TraceCode) -> Result<Option<CodeTrace>> {
        let Some(lot) = self.lot(code.lot)? else {
            return Ok(None);
        };
        if code.serial.is_some_and(|s| s == 0 || s > lot.packages) {
            return Ok(None);
        }
        let focus = code.serial.map(single);
        let chain = self.lineage(lot.clone(), focus)?;
        let (mut status, mut order_reason, mut order_lot) = (CodeStatus::Normal, None, None);
        for (ancestor, _) in &chain {
            match &ancestor.order {
                LotOrder::Recalled { reason } => {
                    (status, order_reason, order_lot) = (
                        CodeStatus::Recalled,
                        Some(reason.clone()),
                        Some(LotCode(ancestor.number)),
                    );
                    break;
                }
                LotOrder::Held { reason } if status == CodeStatus::Normal => {
                    (status, order_reason, order_lot) = (
                        CodeStatus::Held,
                        Some(reason.clone()),
                        Some(LotCode(ancestor.number)),
                    );
                }
                _ => {}
            }
        }
        let mut holder = None;
        if let Some(serial) = code.serial {
            let (where_, who) = self.package_state(&lot, serial)?;
            holder = match who {
                Some(uscc) => Some(self.enterprise_ref(&uscc)?),
                None => None,
            };
            if status == CodeStatus::Normal {
                status = where_;
            }
        }
        let mut certificates = Vec::new();
        let mut lineage = Vec::with_capacity(chain.len());
        for (ancestor, focus) in chain.iter() {
            certificates.extend(ancestor.certificates.iter().cloned());
            lineage.push(self.lot_hops(ancestor, focus.as_ref())?);
        }
        let root = &chain[chain.len() - 1].0;
        Ok(Some(CodeTrace {
            code,
            lot: LotCode(lot.number),
            status,
            order_reason,
            order_lot,
            holder,
            digital_link: lot
                .product
                .gtin
                .as_ref()
                .map(|gtin| code.digital_link(gtin, &lot.batch)),
            product: lot.product.name.clone(),
            category: lot.product.category.clone(),
            specification: lot.product.specification.clone(),
            gtin: lot.product.gtin.clone(),
            origin_country: lot.origin_country.clone(),
            production_date: lot.production_date,
            shelf_life_days: lot.shelf_life_days,
            batch: lot.batch.clone(),
            import: root.import.clone(),
            certificates,
            lineage,
            proof: None,
        }))
    }

    fn lot_hops(&mut self, lot: &Lot, focus: Option<&Serials>) -> Result<LotHops> {
        let (events, truncated) = self.events(lot)?;
        let mut hops = Vec::new();
        for event in events {
            let concerns = match focus {
                None => true,
                Some(f) => event.serials.is_empty() || event.serials.intersects(f),
            };
            if concerns {
                hops.push(self.hop(event)?);
            }
        }
        Ok(LotHops {
            lot: LotCode(lot.number),
            coded_by: self.enterprise_ref(&lot.coded_by)?,
            specification: lot.product.specification.clone(),
            unit: lot.unit.clone(),
            packages: lot.packages,
            hops,
            truncated,
        })
    }

    /// Where one package is: sold, disposed, split, in someone's stock, or in transit.
    fn package_state(&self, lot: &Lot, serial: u32) -> Result<(CodeStatus, Option<Uscc>)> {
        if lot.sold.contains(serial) {
            return Ok((CodeStatus::Sold, None));
        }
        if lot.disposed.contains(serial) {
            return Ok((CodeStatus::Disposed, None));
        }
        if lot.split.contains(serial) {
            return Ok((CodeStatus::Split, None));
        }
        for (uscc, holding) in self.holdings(lot.number)? {
            if holding.stock.contains(serial) {
                return Ok((CodeStatus::Normal, Some(uscc)));
            }
        }
        Ok((CodeStatus::InTransit, None))
    }
}
