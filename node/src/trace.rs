//! Traceability queries, answered from the cold-chain contract's state and indexes in RocksDB:
//! a code's lineage, the recall list of a lot and its descendants, lot search, and stock.
//!
//! Every answer reads a bounded number of keys that depends on the lot's own history, never on
//! the chain's length: a code is one lot record plus its events and those of its ancestors; a
//! recall list is one prefix scan of holders per lot.

use std::collections::VecDeque;

use borsh::BorshDeserialize;
use xinlian_contracts::coldchain::{self, search};
use xinlian_contracts::views::trace::CodeReader;
use xinlian_contracts::{Overlay, Space};
use xinlian_core::api::trace::{
    CodeTrace, EnterpriseRef, HolderRow, IncomingShipment, LotSummary, RecallList, StockLine,
    StockResponse,
};
use xinlian_core::ids::Uscc;
use xinlian_core::trace::{
    Enterprise, Holding, Lot, LotCode, LotNumber, LotOrder, Shipment, TraceCode,
};
use xinlian_core::{Hash, HashSuite};

use crate::Result;
use crate::storage::Storage;

pub use xinlian_contracts::views::trace::EVENTS_READ_MAX;
/// Most lots one recall list covers.
pub const RECALL_LOTS_MAX: usize = 100_000;
/// Most index keys a lot search reads before filtering.
const SEARCH_SCAN_MAX: usize = 100_000;
/// Most holders read per lot, and most child lots per lot.
const PER_LOT_MAX: usize = 10_000;
/// Most lots on one page of a recall list.
pub const RECALL_PAGE_LOTS_MAX: usize = 10_000;
/// Most stock lines and incoming shipments on one page of a stock list.
pub const STOCK_PAGE_MAX: usize = 10_000;

/// Where the next page of a stock list starts: after a stock line (its lot), at the first
/// incoming shipment, or after one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StockCursor {
    /// After the stock line of this lot.
    Line(LotNumber),
    /// At the first incoming shipment (the lines ended with the page before).
    IncomingStart,
    /// After this incoming shipment.
    Incoming(Hash),
}

impl StockCursor {
    /// Its bytes in a client's cursor: a tag, then the lot or shipment id.
    pub fn to_bytes(self) -> Vec<u8> {
        match self {
            StockCursor::Line(lot) => [&[0u8][..], &lot.to_be_bytes()].concat(),
            StockCursor::IncomingStart => vec![1],
            StockCursor::Incoming(id) => [&[1u8][..], &id.0].concat(),
        }
    }

    /// Reads a cursor this node gave; `None` for any other bytes.
    pub fn from_bytes(bytes: &[u8]) -> Option<Self> {
        match bytes {
            [0, lot @ ..] => Some(StockCursor::Line(u64::from_be_bytes(lot.try_into().ok()?))),
            [1] => Some(StockCursor::IncomingStart),
            [1, id @ ..] => Some(StockCursor::Incoming(Hash(id.try_into().ok()?))),
            _ => None,
        }
    }
}

/// Filters of a lot search.
#[derive(Clone, Debug, Default)]
pub struct LotQuery {
    /// Exact product name.
    pub product: Option<String>,
    /// Origin country.
    pub origin: Option<String>,
    /// Region of the first station.
    pub region: Option<u32>,
    /// First coding day in China (days since the epoch of the date at UTC+8), inclusive.
    pub from_day: Option<u32>,
    /// Last coding day in China, inclusive.
    pub to_day: Option<u32>,
    /// Most results.
    pub limit: usize,
}

/// Filters of a recall list.
#[derive(Clone, Debug, Default)]
pub struct HolderFilter {
    /// Only enterprises in this region.
    pub region: Option<u32>,
    /// Only enterprises of this kind.
    pub kind: Option<xinlian_core::trace::EnterpriseKind>,
}

/// Reads traceability state; caches enterprise names within one answer.
pub struct TraceReader<'a> {
    storage: &'a Storage,
    suite: HashSuite,
    /// A code's answer, and enterprise names (`xinlian_contracts::views::trace`).
    codes: CodeReader<'a>,
}

impl<'a> TraceReader<'a> {
    /// A reader over committed state.
    pub fn new(storage: &'a Storage, suite: HashSuite) -> Self {
        TraceReader {
            storage,
            suite,
            codes: CodeReader::new(storage),
        }
    }

    fn get<T: BorshDeserialize>(&self, space: Space, key: &[u8]) -> Result<Option<T>> {
        Ok(Overlay::new(self.storage).get_value(space, key)?)
    }

    /// A lot.
    pub fn lot(&self, lot: LotNumber) -> Result<Option<Lot>> {
        self.get(Space::State, &coldchain::lot_key(lot))
    }

    /// A registered enterprise.
    pub fn enterprise(&self, uscc: &Uscc) -> Result<Option<Enterprise>> {
        self.get(Space::State, &coldchain::enterprise_key(uscc))
    }

    /// The lot a commissioning or split transaction coded.
    pub fn lot_of_tx(&self, tx: &Hash) -> Result<Option<LotNumber>> {
        self.get(Space::Index, &coldchain::tx_lot_key(tx))
    }

    /// How an enterprise (or another organisation, such as a regulator) is shown.
    pub fn enterprise_ref(&mut self, uscc: &Uscc) -> Result<EnterpriseRef> {
        Ok(self.codes.enterprise_ref(uscc)?)
    }

    /// A code's trace, or `None` for an unknown code.
    pub fn code(&mut self, code: TraceCode) -> Result<Option<CodeTrace>> {
        Ok(self.codes.code(code)?)
    }

    /// Everyone who ever held part of a lot, with what they did, and whether [`PER_LOT_MAX`]
    /// cut the list.
    fn holdings(&self, lot: LotNumber) -> Result<(Vec<(Uscc, Holding)>, bool)> {
        let prefix = coldchain::holders_prefix(lot);
        let mut out = Vec::new();
        let entries = self
            .storage
            .scan(Space::Index, &prefix, &[], None, PER_LOT_MAX + 1)?;
        let cut = entries.len() > PER_LOT_MAX;
        for (rest, _) in entries.into_iter().take(PER_LOT_MAX) {
            let Ok(uscc) = Uscc::parse(&String::from_utf8_lossy(&rest)) else {
                continue;
            };
            let holding: Holding = self
                .get(Space::State, &coldchain::holding_key(lot, &uscc))?
                .unwrap_or_default();
            out.push((uscc, holding));
        }
        Ok((out, cut))
    }

    /// The numbers of the lot and its descendants, in the order they were coded, and whether a
    /// bound cut them ([`RECALL_LOTS_MAX`] lots, [`PER_LOT_MAX`] children of one lot). Only the
    /// children index is read, so a page of a large recall does not read every lot's record.
    fn descendants(&self, lot: LotNumber) -> Result<(Vec<LotNumber>, bool)> {
        let mut numbers = Vec::new();
        let mut cut = false;
        let mut queue = VecDeque::from([lot]);
        while let Some(number) = queue.pop_front() {
            if numbers.len() >= RECALL_LOTS_MAX {
                cut = true;
                break;
            }
            let prefix = coldchain::children_prefix(number);
            let children = self
                .storage
                .scan(Space::Index, &prefix, &[], None, PER_LOT_MAX + 1)?;
            cut |= children.len() > PER_LOT_MAX;
            for (rest, _) in children.into_iter().take(PER_LOT_MAX) {
                if let Ok(bytes) = <[u8; 8]>::try_from(rest.as_slice()) {
                    queue.push_back(u64::from_be_bytes(bytes));
                }
            }
            numbers.push(number);
        }
        // Coding order: a lot split later gets a higher sequence number, so a page boundary
        // stays where it was while the recall grows, and new lots come on later pages.
        numbers.sort_by_key(|n| TraceCode::lot_seq(*n));
        Ok((numbers, cut))
    }

    /// A page of the recall list of a lot: every enterprise that held any part of it or its
    /// descendants, for at most `limit` lots coded after the one whose sequence number is
    /// `after`. Returns the page and the sequence number to continue after, if any lots remain.
    pub fn holders(
        &mut self,
        lot: LotNumber,
        filter: &HolderFilter,
        after: Option<u64>,
        limit: usize,
    ) -> Result<Option<(RecallList, Option<u64>)>> {
        let limit = limit.max(1);
        if self.lot(lot)?.is_none() {
            return Ok(None);
        }
        let (numbers, mut truncated) = self.descendants(lot)?;
        let start = after.map_or(0, |after| {
            numbers.partition_point(|n| TraceCode::lot_seq(*n) <= after)
        });
        let page = &numbers[start..numbers.len().min(start.saturating_add(limit))];
        let next = (start + page.len() < numbers.len())
            .then(|| page.last().map(|n| TraceCode::lot_seq(*n)))
            .flatten();
        let (mut rows, mut stock_total, mut in_transit_total, mut codes) = (Vec::new(), 0, 0, 0);
        let mut lots = Vec::with_capacity(page.len());
        for &number in page {
            let Some(record) = self.lot(number)? else {
                continue;
            };
            lots.push(LotCode(number));
            codes += u64::from(record.packages);
            let mut accounted =
                record.sold.count() + record.disposed.count() + record.split.count();
            let (holdings, cut) = self.holdings(record.number)?;
            truncated |= cut;
            for (uscc, holding) in holdings {
                accounted += holding.stock.count();
                let enterprise = self.enterprise_ref(&uscc)?;
                let wanted = filter.region.is_none_or(|r| enterprise.region == r)
                    && filter.kind.is_none_or(|k| enterprise.kind == Some(k));
                if !wanted {
                    continue;
                }
                stock_total += holding.stock.count();
                rows.push(HolderRow {
                    enterprise,
                    lot: LotCode(record.number),
                    specification: record.product.specification.clone(),
                    received: holding.received,
                    shipped: holding.shipped,
                    sold: holding.sold,
                    disposed: holding.disposed,
                    split: holding.split,
                    stock: holding.stock.count(),
                    first_in_ms: holding.first_in_ms,
                    last_event_ms: holding.last_event_ms,
                });
            }
            in_transit_total += u64::from(record.packages).saturating_sub(accounted);
        }
        let list = RecallList {
            lot: LotCode(lot),
            lots,
            lots_total: numbers.len() as u64,
            codes,
            holders: rows,
            stock_total,
            in_transit_total,
            next: None,
            truncated,
        };
        Ok(Some((list, next)))
    }

    /// First-station lots matching `query`, oldest first.
    pub fn search(
        &self,
        query: &LotQuery,
        cursor: Option<&[u8]>,
    ) -> Result<(Vec<LotSummary>, Option<Vec<u8>>)> {
        let prefix = match (&query.product, &query.origin, query.region) {
            (Some(product), _, _) => search::by_product_prefix(self.suite, product),
            (None, Some(origin), _) => search::by_origin_prefix(origin),
            (None, None, Some(region)) => search::by_region_prefix(region),
            (None, None, None) => search::by_day_prefix(),
        };
        // The index is keyed by the UTC day a lot was coded (a rule of the chain's state), and
        // the query's days are China's (UTC+8): China's day D runs from 16:00 UTC of day D-1 to
        // 16:00 UTC of day D, so the scan covers UTC days D-1 to D and each lot's time decides.
        // A cursor is the index key of the last lot of the page before (it lies within `from`).
        let from = match cursor {
            Some(cursor) => [cursor, &[0]].concat(),
            None => query
                .from_day
                .unwrap_or(0)
                .saturating_sub(1)
                .to_be_bytes()
                .to_vec(),
        };
        let to = query
            .to_day
            .and_then(|d| d.checked_add(1))
            .map(u32::to_be_bytes);
        let in_days = |lot: &Lot| {
            let day = xinlian_core::calendar::china_day(lot.coded_at_ms);
            query.from_day.is_none_or(|from| day >= i64::from(from))
                && query.to_day.is_none_or(|to| day <= i64::from(to))
        };
        let keys = self.storage.scan(
            Space::Index,
            &prefix,
            &from,
            to.as_ref().map(|t| t.as_slice()),
            SEARCH_SCAN_MAX,
        )?;
        // More may follow when the scan read all it may, or the page filled before its end.
        let scan_full = keys.len() == SEARCH_SCAN_MAX;
        let scanned = keys.len();
        let last = keys.last().map(|(rest, _)| rest.clone());
        let mut out = Vec::new();
        for (read, (rest, _)) in keys.into_iter().enumerate() {
            let Some((_, number)) = search::parse_suffix(&rest) else {
                continue;
            };
            let Some(lot) = self.lot(number)? else {
                continue;
            };
            let matches = in_days(&lot)
                && query
                    .origin
                    .as_ref()
                    .is_none_or(|o| *o == lot.origin_country)
                && query.region.is_none_or(|r| {
                    TraceCode {
                        lot: number,
                        serial: None,
                    }
                    .region()
                        == r
                });
            if matches {
                out.push(summary(&lot));
            }
            if out.len() >= query.limit {
                let next = (read + 1 < scanned || scan_full).then_some(rest);
                return Ok((out, next));
            }
        }
        Ok((out, last.filter(|_| scan_full)))
    }

    /// A page of what an enterprise holds now and what is on its way to it: at most `limit`
    /// stock lines and incoming shipments together, lines first, after the cursor `after` (a
    /// [`StockCursor`]). Returns the page and the cursor of the next one, or `None` if the
    /// enterprise is not registered.
    pub fn stock(
        &mut self,
        uscc: &Uscc,
        after: Option<&StockCursor>,
        limit: usize,
    ) -> Result<Option<(StockResponse, Option<StockCursor>)>> {
        let limit = limit.max(1);
        if self.enterprise(uscc)?.is_none() {
            return Ok(None);
        }
        let enterprise = self.enterprise_ref(uscc)?;
        let mut lines = Vec::new();
        let mut next = None;
        if let None | Some(StockCursor::Line(_)) = after {
            let from = match after {
                Some(StockCursor::Line(lot)) => [&lot.to_be_bytes()[..], &[0]].concat(),
                _ => Vec::new(),
            };
            let prefix = coldchain::stock_prefix(uscc);
            let entries = self
                .storage
                .scan(Space::Index, &prefix, &from, None, limit + 1)?;
            if entries.len() > limit {
                next = entries[limit - 1]
                    .0
                    .as_slice()
                    .try_into()
                    .ok()
                    .map(|bytes| StockCursor::Line(u64::from_be_bytes(bytes)));
            }
            for (rest, _) in entries.into_iter().take(limit) {
                let Ok(bytes) = <[u8; 8]>::try_from(rest.as_slice()) else {
                    continue;
                };
                let number = u64::from_be_bytes(bytes);
                let (Some(lot), Some(holding)) = (
                    self.lot(number)?,
                    self.get::<Holding>(Space::State, &coldchain::holding_key(number, uscc))?,
                ) else {
                    continue;
                };
                lines.push(StockLine {
                    lot: summary(&lot),
                    stock: holding.stock.count(),
                    serials: holding.stock,
                });
            }
        }
        let mut incoming = Vec::new();
        let room = limit.saturating_sub(lines.len());
        if next.is_none() {
            let from = match after {
                Some(StockCursor::Incoming(id)) => [&id.0[..], &[0]].concat(),
                _ => Vec::new(),
            };
            let prefix = coldchain::transit_prefix(uscc);
            let entries = self
                .storage
                .scan(Space::Index, &prefix, &from, None, room + 1)?;
            if entries.len() > room {
                // A page that filled with lines ends there; the shipments start the next.
                next = Some(match room.checked_sub(1) {
                    Some(last) => match <[u8; 32]>::try_from(entries[last].0.as_slice()) {
                        Ok(bytes) => StockCursor::Incoming(Hash(bytes)),
                        Err(_) => StockCursor::IncomingStart,
                    },
                    None => StockCursor::IncomingStart,
                });
            }
            for (rest, _) in entries.into_iter().take(room) {
                let Ok(bytes) = <[u8; 32]>::try_from(rest.as_slice()) else {
                    continue;
                };
                let id = Hash(bytes);
                if let Some(shipment) =
                    self.get::<Shipment>(Space::State, &coldchain::shipment_key(&id))?
                {
                    incoming.push(IncomingShipment {
                        shipment: id,
                        lot: LotCode(shipment.lot),
                        from: shipment.from,
                        quantity: shipment.serials.count(),
                        shipped_at_ms: shipment.shipped_at_ms,
                    });
                }
            }
        }
        let page = StockResponse {
            enterprise,
            lines,
            incoming,
            next: None,
        };
        Ok(Some((page, next)))
    }
}

pub(crate) fn summary(lot: &Lot) -> LotSummary {
    LotSummary {
        lot: LotCode(lot.number),
        product: lot.product.name.clone(),
        specification: lot.product.specification.clone(),
        unit: lot.unit.clone(),
        origin_country: lot.origin_country.clone(),
        batch: lot.batch.clone(),
        packages: lot.packages,
        coded_by: lot.coded_by.clone(),
        coded_at_ms: lot.coded_at_ms,
        order: match lot.order {
            LotOrder::None => None,
            LotOrder::Held { .. } => Some("held".into()),
            LotOrder::Recalled { .. } => Some("recalled".into()),
        },
    }
}

fn decode<T: BorshDeserialize>(bytes: &[u8], what: &str) -> Result<T> {
    borsh::from_slice(bytes).map_err(|e| crate::Error::Corrupt(format!("{what}: {e}")))
}

/// Parses `YYYY-MM-DD` into days since the epoch.
pub fn parse_date(text: &str) -> Option<u32> {
    // `YYYYMMDD` is accepted as well, as on every CLI command.
    let dashed;
    let text = if text.len() == 8 && text.bytes().all(|b| b.is_ascii_digit()) {
        dashed = format!("{}-{}-{}", &text[..4], &text[4..6], &text[6..]);
        dashed.as_str()
    } else {
        text
    };
    let mut parts = text.split('-');
    let (y, m, d) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() || y.len() != 4 || m.len() != 2 || d.len() != 2 {
        return None;
    }
    let (year, month, day): (i64, u32, u32) = (y.parse().ok()?, m.parse().ok()?, d.parse().ok()?);
    if !(1970..=2999).contains(&year) || !(1..=12).contains(&month) || !(1..=31).contains(&day) {
        return None;
    }
    if !xinlian_core::calendar::valid_yyyymmdd(year as u32 * 10_000 + month * 100 + day) {
        return None;
    }
    u32::try_from(xinlian_core::calendar::days_from_civil(year, month, day)).ok()
}

#[cfg(test)]
mod tests {
    #[test]
    fn civil_dates() {
        assert_eq!(super::parse_date("1970-01-01"), Some(0));
        assert_eq!(super::parse_date("2000-03-01"), Some(11_017));
        assert_eq!(super::parse_date("2026-11-23"), Some(20_780));
        assert_eq!(super::parse_date("20261123"), Some(20_780));
        assert_eq!(super::parse_date("20261323"), None);
        assert_eq!(super::parse_date("2026-13-01"), None);
        assert_eq!(super::parse_date("26-11-23"), None);
    }
}

#[cfg(test)]
mod list_tests;

mod flow;
