//! Civil dates from block times, for rules written in dates (licence validity, lot search). The
//! algorithms are Howard Hinnant's `days_from_civil` and `civil_from_days` (proleptic
//! Gregorian). Licence dates are China's civil dates (UTC+8).

const MS_PER_DAY: i64 = 86_400_000;
const CHINA_OFFSET_MS: i64 = 8 * 3_600_000;

/// Days since 1970-01-01 of a civil date.
pub fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let month = i64::from(month);
    let shifted = if month > 2 { month - 3 } else { month + 9 };
    let day_of_year = (153 * shifted + 2) / 5 + i64::from(day) - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// The civil date (year, month, day) of a day number.
pub fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(month <= 2), month, day)
}

/// The day number (days since 1970-01-01) of the date in China (UTC+8) at a time in ms since
/// the epoch.
pub fn china_day(ms: u64) -> i64 {
    (ms as i64 + CHINA_OFFSET_MS).div_euclid(MS_PER_DAY)
}

/// The `YYYYMMDD` date in China (UTC+8) at a time in ms since the epoch.
pub fn china_date(ms: u64) -> u32 {
    let (y, m, d) = civil_from_days(china_day(ms));
    (y as u32) * 10_000 + m * 100 + d
}

/// Whether `yyyymmdd` is a real date between 1900 and 2999.
pub fn valid_yyyymmdd(yyyymmdd: u32) -> bool {
    let (y, m, d) = (yyyymmdd / 10_000, yyyymmdd / 100 % 100, yyyymmdd % 100);
    if !(1900..=2999).contains(&y) || !(1..=12).contains(&m) || d == 0 {
        return false;
    }
    let next_month = if m == 12 {
        days_from_civil(i64::from(y) + 1, 1, 1)
    } else {
        days_from_civil(i64::from(y), m + 1, 1)
    };
    let length = next_month - days_from_civil(i64::from(y), m, 1);
    i64::from(d) <= length
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_known_dates() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
        assert_eq!(civil_from_days(20_780), (2026, 11, 23));
        for days in [-1000, 0, 59, 60, 11_016, 20_780, 40_000] {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
        }
        // 2026-11-23 16:00 UTC is already the 24th in Beijing.
        assert_eq!(china_date(1_795_392_000_000 + 16 * 3_600_000), 20261124);
        assert!(valid_yyyymmdd(20240229) && !valid_yyyymmdd(20230229));
        assert!(!valid_yyyymmdd(20261131) && !valid_yyyymmdd(20261300));
    }
}
