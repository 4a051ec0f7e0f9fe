//! The regulator's console: its signed login and sessions ([`session`]), the verifications this
//! node counts for itself ([`Verifications`]), and the reads behind its pages — the contracts'
//! counters (`xinlian_contracts::stats`), the open orders, the expiry index and the block list.
//!
//! Every read is a bounded range read of keys the contracts keep in each block's write batch;
//! nothing here scans records on request.

pub mod session;

use std::sync::Mutex;

use xinlian_contracts::stats::{self, metric};
use xinlian_contracts::{Space, coldchain, licence};
use xinlian_core::HashSuite;
use xinlian_core::api::console::{
    AuthStats, BlockList, BlockSummary, ColdChainStats, DailyCount, DayRange, ExpiringLicence,
    GaugeCount, LicenceStats, NamedCode, OpenOrder, OverviewStats,
};
use xinlian_core::calendar::{china_day, civil_from_days};
use xinlian_core::licence::Licence;
use xinlian_core::trace::LotNumber;

use crate::Result;
use crate::storage::Storage;
use crate::trace::{HolderFilter, TraceReader};

/// Most days one answer covers.
pub const DAYS_MAX: u32 = 92;
/// Most counter rows one metric contributes to an answer (a bound, never reached by a chain's
/// real dimensions: days × regions × kinds × calls).
pub const ROWS_MAX: usize = 50_000;
/// Most open orders listed with their recall figures.
pub const OPEN_ORDERS_MAX: usize = 20;
/// Most expiring licences listed.
pub const EXPIRING_LISTED_MAX: usize = 50;
/// Most expiring licences counted.
pub const EXPIRING_COUNTED_MAX: usize = 100_000;
/// Most blocks in one page of the explorer.
pub const BLOCKS_PAGE_MAX: u64 = 100;

/// `YYYY-MM-DD` of a day number.
pub fn day_text(day: u32) -> String {
    let (y, m, d) = civil_from_days(i64::from(day));
    format!("{y:04}-{m:02}-{d:02}")
}

/// The last `days` China days up to the one of `now_ms`: (first, last).
pub fn day_span(now_ms: u64, days: u32) -> (u32, u32) {
    let today = u32::try_from(china_day(now_ms)).unwrap_or(0);
    let days = days.clamp(1, DAYS_MAX);
    (today.saturating_sub(days - 1), today)
}

fn range(first: u32, last: u32) -> DayRange {
    DayRange {
        from: day_text(first),
        to: day_text(last),
    }
}

/// Reads the console's figures from committed state.
pub struct ConsoleReader<'a> {
    storage: &'a Storage,
    suite: HashSuite,
}

impl<'a> ConsoleReader<'a> {
    /// A reader over committed state.
    pub fn new(storage: &'a Storage, suite: HashSuite) -> Self {
        ConsoleReader { storage, suite }
    }

    /// A daily metric's rows from day `first` to `last`, both included.
    pub fn daily(&self, name: &str, first: u32, last: u32) -> Result<Vec<DailyCount>> {
        let prefix = stats::metric_prefix(name);
        let end = (last + 1).to_be_bytes();
        let rows = self.storage.scan(
            Space::Index,
            &prefix,
            &first.to_be_bytes(),
            Some(&end),
            ROWS_MAX,
        )?;
        Ok(rows
            .into_iter()
            .filter_map(|(rest, value)| {
                let (day, dims) = stats::parse_daily(&rest)?;
                Some(DailyCount {
                    day: day_text(day),
                    dims,
                    value: stats::value_of(&value),
                })
            })
            .collect())
    }

    /// A gauge metric's rows.
    pub fn gauge(&self, name: &str) -> Result<Vec<GaugeCount>> {
        let prefix = stats::metric_prefix(name);
        let rows = self
            .storage
            .scan(Space::Index, &prefix, &[], None, ROWS_MAX)?;
        Ok(rows
            .into_iter()
            .map(|(rest, value)| GaugeCount {
                dims: stats::parse_dims(&rest),
                value: stats::value_of(&value),
            })
            .collect())
    }

    /// The overview page's figures.
    pub fn overview(&self, first: u32, last: u32) -> Result<OverviewStats> {
        Ok(OverviewStats {
            days: range(first, last),
            transactions: self.daily(metric::TX, first, last)?,
        })
    }

    /// The cold-chain page's figures.
    pub fn coldchain(&self, first: u32, last: u32) -> Result<ColdChainStats> {
        let listed = self.storage.scan(
            Space::Index,
            coldchain::ORDERS_PREFIX,
            &[],
            None,
            OPEN_ORDERS_MAX + 1,
        )?;
        let open_orders_more = listed.len() > OPEN_ORDERS_MAX;
        let mut reader = TraceReader::new(self.storage, self.suite);
        let mut open_orders = Vec::with_capacity(listed.len().min(OPEN_ORDERS_MAX));
        for (rest, order) in listed.into_iter().take(OPEN_ORDERS_MAX) {
            let Ok(bytes) = <[u8; 8]>::try_from(rest.as_slice()) else {
                continue;
            };
            if let Some(open) = self.open_order(&mut reader, u64::from_be_bytes(bytes), order)? {
                open_orders.push(open);
            }
        }
        Ok(ColdChainStats {
            days: range(first, last),
            calls: self.daily(metric::TRACE_CALLS, first, last)?,
            packages: self.daily(metric::TRACE_PACKAGES, first, last)?,
            orders: self.gauge(metric::TRACE_ORDERS)?,
            open_orders,
            open_orders_more,
        })
    }

    fn open_order(
        &self,
        reader: &mut TraceReader<'_>,
        number: LotNumber,
        order: Vec<u8>,
    ) -> Result<Option<OpenOrder>> {
        let Some(lot) = reader.lot(number)? else {
            return Ok(None);
        };
        let Some((list, _)) = reader.holders(
            number,
            &HolderFilter::default(),
            None,
            crate::trace::RECALL_PAGE_LOTS_MAX,
        )?
        else {
            return Ok(None);
        };
        let enterprises: std::collections::BTreeSet<_> = list
            .holders
            .iter()
            .map(|row| &row.enterprise.uscc)
            .collect();
        Ok(Some(OpenOrder {
            lot: crate::trace::summary(&lot),
            order: String::from_utf8_lossy(&order).into_owned(),
            lots: list.lots_total,
            enterprises: enterprises.len() as u64,
            stock: list.stock_total,
            in_transit: list.in_transit_total,
        }))
    }

    /// The licence page's figures; `today` is `YYYYMMDD`.
    pub fn licences(
        &self,
        first: u32,
        last: u32,
        today: u32,
        verifications: Vec<DailyCount>,
    ) -> Result<LicenceStats> {
        let in_30_days = {
            let (y, m, d) = (today / 10_000, today / 100 % 100, today % 100);
            let day = xinlian_core::calendar::days_from_civil(i64::from(y), m, d) + 30;
            let (y, m, d) = civil_from_days(day);
            y as u32 * 10_000 + m * 100 + d
        };
        let ending = self.storage.scan(
            Space::Index,
            licence::EXPIRY_PREFIX,
            &today.to_be_bytes(),
            Some(&(in_30_days + 1).to_be_bytes()),
            EXPIRING_COUNTED_MAX,
        )?;
        // Ended before today: live by their recorded state, expired by their window.
        let ended = self.storage.scan(
            Space::Index,
            licence::EXPIRY_PREFIX,
            &[],
            Some(&today.to_be_bytes()),
            EXPIRING_COUNTED_MAX,
        )?;
        let mut expired: std::collections::BTreeMap<String, u64> = Default::default();
        for (rest, recorded) in &ended {
            // Suspended ones stay suspended on the page; a valid one past its window is expired.
            if recorded.as_slice() != b"valid" {
                continue;
            }
            let id = rest.get(4..).and_then(|id| std::str::from_utf8(id).ok());
            if let Some(Ok(id)) = id.map(str::parse::<xinlian_core::licence::LicenceId>) {
                *expired.entry(id.type_code.to_string()).or_default() += 1;
            }
        }
        let mut expiring = Vec::new();
        for (rest, _) in ending.iter().take(EXPIRING_LISTED_MAX) {
            let Some(id) = rest.get(4..).and_then(|id| std::str::from_utf8(id).ok()) else {
                continue;
            };
            let Ok(id) = id.parse() else { continue };
            let record: Option<Licence> = xinlian_contracts::Overlay::new(self.storage)
                .get_value(Space::State, &licence::licence_key(&id))?;
            if let Some(record) = record {
                expiring.push(ExpiringLicence {
                    id,
                    name: record.name,
                    valid_to: record.valid_to.unwrap_or(0),
                });
            }
        }
        let issued = self.daily(metric::LICENCES_ISSUED, first, last)?;
        let states = self.gauge(metric::LICENCE_STATES)?;
        let codes = issued
            .iter()
            .map(|r| &r.dims)
            .chain(states.iter().map(|g| &g.dims));
        let names = self.names(codes, |state, code| {
            let Ok(code) = code.parse() else {
                return Ok(None);
            };
            let found: Option<xinlian_core::licence::LicenceType> =
                state.get_value(Space::State, &licence::type_key(&code))?;
            Ok(found.map(|t| t.name))
        })?;
        Ok(LicenceStats {
            days: range(first, last),
            issued,
            states,
            expiring,
            expiring_total: ending.len() as u64,
            expired: expired
                .into_iter()
                .map(|(code, value)| GaugeCount {
                    dims: vec![code],
                    value,
                })
                .collect(),
            verifications,
            names,
        })
    }

    /// The authorisation page's figures.
    pub fn auth(&self, first: u32, last: u32) -> Result<AuthStats> {
        let live = self
            .storage
            .scan(
                Space::Index,
                &stats::metric_prefix(metric::GRANTS_LIVE_BY_END),
                &last.to_be_bytes(),
                None,
                ROWS_MAX,
            )?
            .iter()
            .map(|(_, value)| stats::value_of(value))
            .sum();
        let refused = self
            .daily(metric::TX, first, last)?
            .into_iter()
            .filter(|row| row.dims.first().is_some_and(|call| call == "auth.use"))
            .filter(|row| row.dims.get(1).is_some_and(|code| code != "ok"))
            .map(|row| DailyCount {
                dims: row.dims[1..].to_vec(),
                ..row
            })
            .collect();
        let uses = self.daily(metric::GRANT_USES, first, last)?;
        let names = self.names(uses.iter().map(|r| &r.dims), |state, code| {
            let Ok(uscc) = xinlian_core::ids::Uscc::parse(code) else {
                return Ok(None);
            };
            let found: Option<xinlian_contracts::system::Organisation> =
                state.get_value(Space::State, &xinlian_contracts::system::org_key(&uscc))?;
            Ok(found.map(|o| o.name))
        })?;
        Ok(AuthStats {
            days: range(first, last),
            grants: self.daily(metric::GRANTS, first, last)?,
            live,
            uses,
            refused,
            names,
        })
    }

    /// The names of the distinct first dimensions of `rows`, as `find` looks them up.
    fn names<'r>(
        &self,
        rows: impl Iterator<Item = &'r Vec<String>>,
        find: impl Fn(
            &xinlian_contracts::Overlay<'_>,
            &str,
        ) -> std::result::Result<Option<String>, xinlian_contracts::ExecError>,
    ) -> Result<Vec<NamedCode>> {
        let codes: std::collections::BTreeSet<&String> =
            rows.filter_map(|dims| dims.first()).collect();
        let state = xinlian_contracts::Overlay::new(self.storage);
        let mut out = Vec::with_capacity(codes.len());
        for code in codes {
            if let Some(name) = find(&state, code)? {
                out.push(NamedCode {
                    code: code.clone(),
                    name,
                });
            }
        }
        Ok(out)
    }

    /// Up to `limit` blocks below `before` (the head's successor when `None`), newest first.
    pub fn blocks(&self, head: u64, before: Option<u64>, limit: u64) -> Result<BlockList> {
        let top = before.unwrap_or(head + 1).min(head + 1);
        let bottom = top.saturating_sub(limit.clamp(1, BLOCKS_PAGE_MAX)).max(1);
        let mut blocks = Vec::new();
        for height in (bottom..top).rev() {
            let Some(block) = self.storage.block(height)? else {
                continue;
            };
            blocks.push(BlockSummary {
                height,
                hash: block.header.hash(self.suite),
                timestamp_ms: block.header.timestamp_ms,
                txs: block.txs.len() as u32,
                proposer: block.header.proposer.clone(),
                certified: self.storage.certificate(height)?.is_some(),
            });
        }
        Ok(BlockList {
            blocks,
            next_before: (bottom > 1).then_some(bottom),
        })
    }
}

/// The verifications this node answered, counted per China day, channel and verdict. A
/// verification is a read: it leaves nothing on chain, so each node counts its own.
#[derive(Default)]
pub struct Verifications {
    // Serialises the read-modify-write of a counter.
    lock: Mutex<()>,
}

impl Verifications {
    /// Counts one verification by channel, verdict and window; a failure to count is logged,
    /// never refused to the window.
    pub fn count(&self, storage: &Storage, now_ms: u64, dims: [&str; 3]) {
        let day = u32::try_from(china_day(now_ms)).unwrap_or(0);
        let key = verification_key(day, dims);
        let _serialised = self.lock.lock().unwrap_or_else(|e| e.into_inner());
        if let Err(e) = storage.bump_local_counter(&key) {
            tracing::warn!(error = %e, "could not count a verification");
        }
    }

    /// The counts from day `first` to `last`; dims: channel, verdict, window.
    pub fn daily(storage: &Storage, first: u32, last: u32) -> Result<Vec<DailyCount>> {
        let from = [VERIFICATIONS, &first.to_be_bytes()].concat();
        let to = [VERIFICATIONS, &(last + 1).to_be_bytes()].concat();
        Ok(storage
            .local_counters(&from, &to, ROWS_MAX)?
            .into_iter()
            .filter_map(|(key, value)| {
                let (day, dims) = stats::parse_daily(key.get(VERIFICATIONS.len()..)?)?;
                Some(DailyCount {
                    day: day_text(day),
                    dims,
                    value,
                })
            })
            .collect())
    }
}

const VERIFICATIONS: &[u8] = b"verify/";

fn verification_key(day: u32, dims: [&str; 3]) -> Vec<u8> {
    [VERIFICATIONS, &day.to_be_bytes(), &stats::dims_bytes(&dims)].concat()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn day_spans_end_today_in_china_and_are_bounded() {
        // 2025-11-30 16:30 UTC is 2025-12-01 00:30 in Beijing.
        let (first, last) = day_span(1_764_520_200_000, 7);
        assert_eq!(day_text(last), "2025-12-01");
        assert_eq!(day_text(first), "2025-11-25");
        let (first, last) = day_span(1_764_520_200_000, 10_000);
        assert_eq!(last - first + 1, DAYS_MAX);
        let (first, last) = day_span(1_764_520_200_000, 0);
        assert_eq!(first, last);
    }
}
