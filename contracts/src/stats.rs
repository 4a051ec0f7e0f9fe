//! Aggregates for the regulator's console: counters the contracts keep in the index space, in
//! the same write set as the records they count, so a chart is a short range read and never a
//! scan of records on request.
//!
//! Two shapes of key, both under `st/`:
//! - daily: `st/<metric>/<China day BE4><dims>` — what happened on a day (Beijing time, the
//!   day a regulator means), one key per combination of dimensions seen that day;
//! - gauge: `st/<metric>/<dims>` — how many are in a state now (moved as records change state).
//!
//! Dimensions are short texts (call names, codes, USCCs, region numbers) joined with NUL, which
//! no validated text of the chain contains. A value is a u64, 8 bytes big-endian.
//!
//! Counters are part of the index space and so of the state commitment: every node computes
//! the same counts, and a node whose counters differ diverges like any other state would.

use xinlian_core::calendar::china_day;

use crate::{ExecError, Overlay, Space, StateReader};

/// Prefix of every counter key.
pub const PREFIX: &[u8] = b"st/";

/// Separator between dimensions in a key.
pub const DIM_SEPARATOR: u8 = 0;

/// The metrics kept. Each names its dimensions in order.
pub mod metric {
    /// Daily: transactions by call name and outcome (`ok` or the refusal code).
    pub const TX: &str = "tx";
    /// Daily: successful cold-chain calls by call name, the acting enterprise's region and kind.
    pub const TRACE_CALLS: &str = "cc-call";
    /// Daily: packages commissioned, by region and kind of the first station.
    pub const TRACE_PACKAGES: &str = "cc-pkg";
    /// Gauge: lots under an order, by `held` or `recalled`.
    pub const TRACE_ORDERS: &str = "cc-order";
    /// Daily: licences issued (first versions and renewals), by type code.
    pub const LICENCES_ISSUED: &str = "lic-issued";
    /// Gauge: licences by type code and recorded state (`valid`, `suspended`, …).
    pub const LICENCE_STATES: &str = "lic-state";
    /// Daily: grants made and revoked, by `granted` or `revoked`.
    pub const GRANTS: &str = "au-grant";
    /// Daily, by the China day a grant ends: grants not revoked that end that day. Summed from
    /// today on, it is the number of grants in force or still to begin.
    pub const GRANTS_LIVE_BY_END: &str = "au-live";
    /// Daily: recorded uses by the using department's USCC, the matter code and its name.
    pub const GRANT_USES: &str = "au-use";
}

/// Prefix of a metric's keys.
pub fn metric_prefix(metric: &str) -> Vec<u8> {
    [PREFIX, metric.as_bytes(), b"/"].concat()
}

/// Dimensions as a key ends with them: joined with [`DIM_SEPARATOR`].
pub fn dims_bytes(dims: &[&str]) -> Vec<u8> {
    let mut out = Vec::new();
    for (i, dim) in dims.iter().enumerate() {
        if i > 0 {
            out.push(DIM_SEPARATOR);
        }
        out.extend_from_slice(dim.as_bytes());
    }
    out
}

/// Key of a daily counter.
pub fn daily_key(metric: &str, day: u32, dims: &[&str]) -> Vec<u8> {
    [
        metric_prefix(metric),
        day.to_be_bytes().to_vec(),
        dims_bytes(dims),
    ]
    .concat()
}

/// Key of a gauge.
pub fn gauge_key(metric: &str, dims: &[&str]) -> Vec<u8> {
    [metric_prefix(metric), dims_bytes(dims)].concat()
}

/// Splits the part of a daily key after its metric prefix into the day and the dimensions.
pub fn parse_daily(rest: &[u8]) -> Option<(u32, Vec<String>)> {
    let day = u32::from_be_bytes(rest.get(..4)?.try_into().ok()?);
    Some((day, parse_dims(&rest[4..])))
}

/// Splits the dimensions of a key (the part after the metric prefix, or after the day).
pub fn parse_dims(rest: &[u8]) -> Vec<String> {
    rest.split(|b| *b == DIM_SEPARATOR)
        .map(|d| String::from_utf8_lossy(d).into_owned())
        .collect()
}

/// Decodes a counter's value; a malformed one reads as zero.
pub fn value_of(bytes: &[u8]) -> u64 {
    bytes.try_into().map(u64::from_be_bytes).unwrap_or(0)
}

/// The China day (days since 1970-01-01 in Beijing time) of a block time, as counters key it.
pub fn day_of(ms: u64) -> u32 {
    u32::try_from(china_day(ms)).unwrap_or(0)
}

/// Adds `delta` to the counter at `key`; a counter never goes below zero, and one that reaches
/// zero is deleted, so a gauge keeps no keys for states nothing is in.
pub fn add(state: &mut Overlay<'_>, key: Vec<u8>, delta: i64) -> Result<(), ExecError> {
    let now = state
        .get(Space::Index, &key)?
        .map(|v| value_of(&v))
        .unwrap_or(0);
    let next = now.saturating_add_signed(delta);
    if next == 0 {
        state.delete(Space::Index, key);
    } else {
        state.put(Space::Index, key, next.to_be_bytes().to_vec());
    }
    Ok(())
}

/// Adds one to a daily counter.
pub fn count(
    state: &mut Overlay<'_>,
    metric: &str,
    ms: u64,
    dims: &[&str],
) -> Result<(), ExecError> {
    add(state, daily_key(metric, day_of(ms), dims), 1)
}

/// Moves a record from one gauge state to another (`None` on either side: entering or leaving).
pub fn move_gauge(
    state: &mut Overlay<'_>,
    metric: &str,
    from: Option<&[&str]>,
    to: Option<&[&str]>,
) -> Result<(), ExecError> {
    if from == to {
        return Ok(());
    }
    if let Some(dims) = from {
        add(state, gauge_key(metric, dims), -1)?;
    }
    if let Some(dims) = to {
        add(state, gauge_key(metric, dims), 1)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::MemoryState;

    #[test]
    fn counters_add_parse_and_vanish_at_zero() {
        let base = MemoryState::default();
        let mut state = Overlay::new(&base);
        // 2025-12-01 00:30 in Beijing is still 2025-11-30 in UTC: the day is Beijing's.
        let ms = 1_764_520_200_000;
        count(&mut state, metric::TX, ms, &["trace.ship", "ok"]).unwrap();
        count(&mut state, metric::TX, ms, &["trace.ship", "ok"]).unwrap();
        let key = daily_key(metric::TX, day_of(ms), &["trace.ship", "ok"]);
        assert_eq!(
            value_of(&state.get(Space::Index, &key).unwrap().unwrap()),
            2
        );
        let rest = &key[metric_prefix(metric::TX).len()..];
        let (day, dims) = parse_daily(rest).unwrap();
        assert_eq!(
            xinlian_core::calendar::civil_from_days(i64::from(day)),
            (2025, 12, 1)
        );
        assert_eq!(dims, ["trace.ship", "ok"]);

        move_gauge(
            &mut state,
            metric::LICENCE_STATES,
            None,
            Some(&["T1", "valid"]),
        )
        .unwrap();
        move_gauge(
            &mut state,
            metric::LICENCE_STATES,
            Some(&["T1", "valid"]),
            Some(&["T1", "revoked"]),
        )
        .unwrap();
        let valid = gauge_key(metric::LICENCE_STATES, &["T1", "valid"]);
        assert_eq!(
            state.get(Space::Index, &valid).unwrap(),
            None,
            "zero is no key"
        );
        let revoked = gauge_key(metric::LICENCE_STATES, &["T1", "revoked"]);
        assert_eq!(
            value_of(&state.get(Space::Index, &revoked).unwrap().unwrap()),
            1
        );
        // Never below zero, whatever a bug upstream asks.
        add(&mut state, valid.clone(), -5).unwrap();
        assert_eq!(state.get(Space::Index, &valid).unwrap(), None);
    }
}
