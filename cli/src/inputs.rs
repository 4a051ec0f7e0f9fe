//! Values typed on the command line that need more than clap's parsers: one date format for
//! every command.

use std::fmt;
use std::str::FromStr;

/// A calendar day, typed as `YYYY-MM-DD` or `YYYYMMDD` on every command (production dates,
/// licence dates, report and search ranges alike).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Day(u32);

impl Day {
    /// As the chain stores dates: `yyyymmdd`.
    pub(crate) fn yyyymmdd(self) -> u32 {
        self.0
    }

    /// As the HTTP API's query parameters take dates: `YYYY-MM-DD`.
    pub(crate) fn iso(self) -> String {
        format!(
            "{:04}-{:02}-{:02}",
            self.0 / 10_000,
            self.0 / 100 % 100,
            self.0 % 100
        )
    }
}

impl FromStr for Day {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let digits: String = match text.len() {
            10 if text.as_bytes()[4] == b'-' && text.as_bytes()[7] == b'-' => {
                text.split('-').collect()
            }
            _ => text.to_string(),
        };
        let value = (digits.len() == 8 && digits.bytes().all(|b| b.is_ascii_digit()))
            .then(|| digits.parse::<u32>().ok())
            .flatten()
            .filter(|v| xinlian_core::calendar::valid_yyyymmdd(*v));
        value.map(Day).ok_or_else(|| {
            format!("{text:?} is not a date; write YYYY-MM-DD or YYYYMMDD, e.g. 2026-10-01")
        })
    }
}

impl fmt::Display for Day {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.iso())
    }
}

#[cfg(test)]
mod tests {
    use super::Day;

    #[test]
    fn both_date_forms_mean_the_same_day_and_impossible_days_are_refused() {
        let dashed: Day = "2026-10-01".parse().unwrap();
        let plain: Day = "20261001".parse().unwrap();
        assert_eq!(dashed, plain);
        assert_eq!(plain.yyyymmdd(), 20_261_001);
        assert_eq!(plain.iso(), "2026-10-01");
        for bad in [
            "2026-02-30",
            "20261301",
            "2026-1-01",
            "2026/10/01",
            "261001",
            "",
            "2026-10-0x",
        ] {
            let error = bad.parse::<Day>().unwrap_err();
            assert!(error.contains("YYYY-MM-DD or YYYYMMDD"), "{bad}: {error}");
        }
    }
}
