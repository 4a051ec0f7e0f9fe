//! Index keys for finding first-station lots by product, origin country, region and date.
//!
//! Each lot is indexed under four prefixes; each key ends with the coding day (days since the
//! Unix epoch, 4 bytes big-endian) and the lot number (8 bytes), so a date range is one range
//! scan under the most selective prefix, and the other filters are checked on the lot.

use xinlian_core::HashSuite;
use xinlian_core::trace::{Lot, LotNumber};

use crate::{Overlay, Space};

const MS_PER_DAY: u64 = 86_400_000;

/// The day (since the Unix epoch) of a block time.
pub fn day_of(ms: u64) -> u32 {
    (ms / MS_PER_DAY) as u32
}

/// Prefix of lots by coding day.
pub fn by_day_prefix() -> Vec<u8> {
    b"cc/lots/day/".to_vec()
}

/// Prefix of lots of a product name (exact name, hashed to a fixed width).
pub fn by_product_prefix(suite: HashSuite, name: &str) -> Vec<u8> {
    [
        b"cc/lots/product/".as_slice(),
        suite.digest(name.as_bytes()).as_bytes(),
    ]
    .concat()
}

/// Prefix of lots by origin country.
pub fn by_origin_prefix(country: &str) -> Vec<u8> {
    [b"cc/lots/origin/".as_slice(), country.as_bytes(), b"/"].concat()
}

/// Prefix of lots coded in a region.
pub fn by_region_prefix(region: u32) -> Vec<u8> {
    [b"cc/lots/region/".as_slice(), &region.to_be_bytes()].concat()
}

/// The key suffix for a lot coded on `day`.
pub fn suffix(day: u32, lot: LotNumber) -> Vec<u8> {
    [day.to_be_bytes().as_slice(), &lot.to_be_bytes()].concat()
}

/// Decodes a key suffix into (day, lot).
pub fn parse_suffix(suffix: &[u8]) -> Option<(u32, LotNumber)> {
    let day = u32::from_be_bytes(suffix.get(..4)?.try_into().ok()?);
    let lot = u64::from_be_bytes(suffix.get(4..12)?.try_into().ok()?);
    Some((day, lot))
}

/// Indexes a first-station lot under all four prefixes.
pub(super) fn index_lot(state: &mut Overlay<'_>, suite: HashSuite, lot: &Lot, region: u32) {
    let tail = suffix(day_of(lot.coded_at_ms), lot.number);
    for prefix in [
        by_day_prefix(),
        by_product_prefix(suite, &lot.product.name),
        by_origin_prefix(&lot.origin_country),
        by_region_prefix(region),
    ] {
        state.put(Space::Index, [prefix, tail.clone()].concat(), Vec::new());
    }
}
