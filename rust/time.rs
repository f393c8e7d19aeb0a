//! `System/TimeCreated/@SystemTime` to microseconds since the Unix epoch.
//!
//! Accepted form (docs/semantics.md, "Values and fields"): `YYYY-MM-DDTHH:MM:SS[.fraction][Z]` in
//! ASCII digits, XML whitespace around it ignored, a real proleptic-Gregorian
//! date in years 1-9999, seconds 00-59, at least one digit after a `.`, any
//! number of fraction digits truncated (never rounded) to microseconds.

/// Microseconds since 1970-01-01T00:00:00Z (negative before it).
pub type Micros = i64;

/// The times [`parse_system_time`] gives: years 1-9999, from
/// 0001-01-01T00:00:00Z to 9999-12-31T23:59:59.999999Z (Python's
/// `datetime` range).
pub const TIME_RANGE: std::ops::RangeInclusive<Micros> = -62_135_596_800_000_000..=253_402_300_799_999_999;

/// Parses a SystemTime value; `None` when it is not a valid time.
pub fn parse_system_time(value: &str) -> Option<Micros> {
    let s = value.trim_matches(|c| matches!(c, ' ' | '\t' | '\r' | '\n')).as_bytes();
    if s.len() < 19 || s[4] != b'-' || s[7] != b'-' || s[10] != b'T' || s[13] != b':' || s[16] != b':' {
        return None;
    }
    let year = digits(&s[0..4])?;
    let month = digits(&s[5..7])?;
    let day = digits(&s[8..10])?;
    let hour = digits(&s[11..13])?;
    let minute = digits(&s[14..16])?;
    let second = digits(&s[17..19])?;
    let mut rest = &s[19..];
    let mut micros: i64 = 0;
    if let Some((&b'.', fraction_and_rest)) = rest.split_first() {
        let n = fraction_and_rest.iter().take_while(|b| b.is_ascii_digit()).count();
        if n == 0 {
            return None;
        }
        for i in 0..6 {
            let digit = fraction_and_rest.get(i).filter(|_| i < n).map_or(0, |b| b - b'0');
            micros = micros * 10 + i64::from(digit);
        }
        rest = &fraction_and_rest[n..];
    }
    if !(rest.is_empty() || rest == b"Z") {
        return None;
    }
    if !(1..=9999).contains(&year) || !(1..=12).contains(&month) || hour > 23 || minute > 59 || second > 59 {
        return None;
    }
    if day < 1 || day > days_in_month(year, month) {
        return None;
    }
    let days = days_from_civil(year, month, day);
    Some(((days * 24 + hour) * 60 + minute) * 60_000_000 + second * 1_000_000 + micros)
}

fn digits(bytes: &[u8]) -> Option<i64> {
    bytes.iter().try_fold(0i64, |acc, &b| b.is_ascii_digit().then(|| acc * 10 + i64::from(b - b'0')))
}

fn is_leap(year: i64) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic-Gregorian date (Howard Hinnant's
/// `days_from_civil`, exact for every year we accept).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// A UTC date and time of day, as calendars and Python's `datetime` take it.
#[cfg(any(feature = "python", test))]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Civil {
    pub year: i32,
    pub month: u8,
    pub day: u8,
    pub hour: u8,
    pub minute: u8,
    pub second: u8,
    pub micros: u32,
}

/// The UTC date and time `micros` after the epoch (the inverse of
/// [`parse_system_time`]; Howard Hinnant's `civil_from_days`).
#[cfg(any(feature = "python", test))]
pub fn civil_from_micros(micros: Micros) -> Civil {
    let days = micros.div_euclid(86_400_000_000);
    let in_day = micros.rem_euclid(86_400_000_000);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    let seconds = in_day / 1_000_000;
    Civil {
        year: year as i32,
        month: month as u8,
        day: day as u8,
        hour: (seconds / 3600) as u8,
        minute: (seconds / 60 % 60) as u8,
        second: (seconds % 60) as u8,
        micros: (in_day % 1_000_000) as u32,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_range_is_what_parsing_gives() {
        assert_eq!(parse_system_time("0001-01-01T00:00:00Z"), Some(*TIME_RANGE.start()));
        assert_eq!(parse_system_time("9999-12-31T23:59:59.9999999Z"), Some(*TIME_RANGE.end()));
    }

    #[test]
    fn civil_is_the_inverse_of_parsing() {
        for text in [
            "1970-01-01T00:00:00.000000Z",
            "0001-01-01T00:00:00.000000Z",
            "9999-12-31T23:59:59.999999Z",
            "2000-02-29T12:34:56.000001Z",
            "1969-12-31T23:59:59.999999Z",
            "2021-04-28T20:11:34.709744Z",
        ] {
            let c = civil_from_micros(parse_system_time(text).unwrap());
            let back = format!(
                "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:06}Z",
                c.year, c.month, c.day, c.hour, c.minute, c.second, c.micros
            );
            assert_eq!(back, text);
        }
    }

    #[test]
    fn epoch_and_fraction_truncation() {
        assert_eq!(parse_system_time("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(parse_system_time("1970-01-01T00:00:01.9999999Z"), Some(1_999_999));
        assert_eq!(parse_system_time(" 1970-01-01T00:00:00.5\n"), Some(500_000));
        assert_eq!(parse_system_time("2021-04-28T20:11:34.1234567Z"), Some(1_619_640_694_123_456));
    }

    #[test]
    fn extremes_of_the_calendar() {
        assert_eq!(parse_system_time("0001-01-01T00:00:00"), Some(-62_135_596_800_000_000));
        assert!(parse_system_time("9999-12-31T23:59:59.999999Z").is_some());
        assert!(parse_system_time("2020-02-29T00:00:00Z").is_some());
    }

    #[test]
    fn rejects_what_is_not_a_time() {
        for bad in [
            "",
            "0000-01-01T00:00:00Z",
            "2021-02-29T00:00:00Z",
            "1900-02-29T00:00:00Z",
            "2021-13-01T00:00:00Z",
            "2021-04-31T00:00:00Z",
            "2021-04-28T24:00:00Z",
            "2021-04-28T23:60:00Z",
            "2021-04-28T23:59:60Z",
            "2021-04-28T20:11:34.Z",
            "2021-04-28 20:11:34Z",
            "2021-04-28T20:11:34ZZ",
            "2021-04-28T20:11:34+00:00",
            "２021-04-28T20:11:34Z",
            "2021-4-28T20:11:34Z",
        ] {
            assert_eq!(parse_system_time(bad), None, "{bad:?}");
        }
    }
}
