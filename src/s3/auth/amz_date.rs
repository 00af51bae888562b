//! The SigV4 timestamp: `20130524T000000Z` (ISO 8601 basic, UTC) to and from unix seconds, plus
//! the RFC 1123 `Date` header form S3 accepts when `x-amz-date` is absent.
//!
//! The formatted text is kept inside the value so the signing code can borrow it without
//! formatting again.

use std::fmt;

/// First year we accept. Unix time is our clock, so nothing before the epoch can be current.
const MIN_YEAR: i64 = 1970;
/// Last year we accept: the basic format has exactly four year digits.
const MAX_YEAR: i64 = 9999;
/// Length of `YYYYMMDDTHHMMSSZ`.
const AMZ_DATE_LEN: usize = 16;
/// Length of the `YYYYMMDD` date stamp at the front of an [`AmzDate`].
const DATE_STAMP_LEN: usize = 8;

const SECS_PER_DAY: i64 = 86_400;

/// A request timestamp, whole seconds, UTC.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct AmzDate {
    unix: i64,
    text: [u8; AMZ_DATE_LEN],
}

impl AmzDate {
    /// Parses `YYYYMMDDTHHMMSSZ` strictly (every field range-checked, no leap seconds).
    pub fn parse(text: &str) -> Option<AmzDate> {
        let b = text.as_bytes();
        if b.len() != AMZ_DATE_LEN || b[8] != b'T' || b[15] != b'Z' {
            return None;
        }
        let year = digits(&b[0..4])?;
        let month = digits(&b[4..6])?;
        let day = digits(&b[6..8])?;
        let hour = digits(&b[9..11])?;
        let minute = digits(&b[11..13])?;
        let second = digits(&b[13..15])?;
        Self::from_fields(year, month, day, hour, minute, second)
    }

    /// Parses an RFC 1123 date (`Fri, 24 May 2013 00:00:00 GMT`). Also takes `UTC` or `+0000`
    /// for the zone, since old S3 clients send those; the weekday name is checked for shape only.
    pub fn parse_http_date(text: &str) -> Option<AmzDate> {
        let mut tokens = text.split_ascii_whitespace();
        let weekday = tokens.next()?.strip_suffix(',')?;
        const WEEKDAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
        if !WEEKDAYS.iter().any(|w| w.eq_ignore_ascii_case(weekday)) {
            return None;
        }
        let day_text = tokens.next()?;
        if day_text.is_empty() || day_text.len() > 2 {
            return None;
        }
        let day = digits(day_text.as_bytes())?;
        const MONTHS: [&str; 12] = [
            "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
        ];
        let month_text = tokens.next()?;
        let month = MONTHS
            .iter()
            .position(|m| m.eq_ignore_ascii_case(month_text))? as i64
            + 1;
        let year_text = tokens.next()?;
        if year_text.len() != 4 {
            return None;
        }
        let year = digits(year_text.as_bytes())?;
        let time = tokens.next()?.as_bytes();
        if time.len() != 8 || time[2] != b':' || time[5] != b':' {
            return None;
        }
        let hour = digits(&time[0..2])?;
        let minute = digits(&time[3..5])?;
        let second = digits(&time[6..8])?;
        let zone = tokens.next()?;
        if !["GMT", "UTC", "+0000", "Z"].contains(&zone) || tokens.next().is_some() {
            return None;
        }
        Self::from_fields(year, month, day, hour, minute, second)
    }

    /// The timestamp for `unix` seconds; `None` outside years 1970..=9999.
    pub fn from_unix(unix: i64) -> Option<AmzDate> {
        if unix < 0 {
            return None;
        }
        let days = unix.div_euclid(SECS_PER_DAY);
        let secs = unix.rem_euclid(SECS_PER_DAY);
        let (year, month, day) = civil_from_days(days);
        if year > MAX_YEAR {
            return None;
        }
        let mut text = [0u8; AMZ_DATE_LEN];
        put_digits(&mut text[0..4], year);
        put_digits(&mut text[4..6], month);
        put_digits(&mut text[6..8], day);
        text[8] = b'T';
        put_digits(&mut text[9..11], secs / 3600);
        put_digits(&mut text[11..13], secs % 3600 / 60);
        put_digits(&mut text[13..15], secs % 60);
        text[15] = b'Z';
        Some(AmzDate { unix, text })
    }

    fn from_fields(
        year: i64,
        month: i64,
        day: i64,
        hour: i64,
        minute: i64,
        second: i64,
    ) -> Option<AmzDate> {
        if !(MIN_YEAR..=MAX_YEAR).contains(&year)
            || !(1..=12).contains(&month)
            || day < 1
            || day > days_in_month(year, month)
            || hour > 23
            || minute > 59
            || second > 59
        {
            return None;
        }
        let unix =
            days_from_civil(year, month, day) * SECS_PER_DAY + hour * 3600 + minute * 60 + second;
        Self::from_unix(unix)
    }

    /// Seconds since the unix epoch.
    pub fn unix(&self) -> i64 {
        self.unix
    }

    /// `20130524T000000Z`.
    pub fn as_str(&self) -> &str {
        // The buffer only ever holds ASCII digits, `T` and `Z`.
        std::str::from_utf8(&self.text).unwrap_or_default()
    }

    /// `20130524`: the date part, as used in the credential scope.
    pub fn date_stamp(&self) -> &str {
        std::str::from_utf8(&self.text[..DATE_STAMP_LEN]).unwrap_or_default()
    }
}

impl fmt::Display for AmzDate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for AmzDate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "AmzDate({})", self.as_str())
    }
}

/// Decimal value of an all-digit slice (at most four digits here, so no overflow).
fn digits(b: &[u8]) -> Option<i64> {
    if b.is_empty() {
        return None;
    }
    b.iter().try_fold(0i64, |acc, &c| {
        c.is_ascii_digit().then(|| acc * 10 + i64::from(c - b'0'))
    })
}

/// Writes `value` zero-padded into `out` (which is as wide as the field).
fn put_digits(out: &mut [u8], mut value: i64) {
    for slot in out.iter_mut().rev() {
        *slot = b'0' + (value % 10) as u8;
        value /= 10;
    }
}

fn is_leap(year: i64) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if is_leap(year) => 29,
        _ => 28,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (era-based, counting from March so the
/// leap day falls at the end of the computed year).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let year_of_era = y - era * 400;
    let shifted_month = (month + 9) % 12; // March = 0
    let day_of_year = (153 * shifted_month + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// Inverse of [`days_from_civil`].
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z - era * 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let mp = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_formats_the_aws_example_date() {
        let d = AmzDate::parse("20130524T000000Z").unwrap();
        assert_eq!(d.unix(), 1_369_353_600);
        assert_eq!(d.as_str(), "20130524T000000Z");
        assert_eq!(d.date_stamp(), "20130524");
        assert_eq!(d.to_string(), "20130524T000000Z");
        assert_eq!(AmzDate::from_unix(1_369_353_600).unwrap(), d);
    }

    #[test]
    fn epoch_leap_days_and_end_of_range() {
        assert_eq!(AmzDate::from_unix(0).unwrap().as_str(), "19700101T000000Z");
        let leap = AmzDate::parse("20240229T235959Z").unwrap();
        assert_eq!(leap.unix(), 1_709_251_199);
        assert_eq!(
            AmzDate::from_unix(leap.unix() + 1).unwrap().as_str(),
            "20240301T000000Z"
        );
        assert_eq!(
            AmzDate::parse("20000229T120000Z").unwrap().unix(),
            951_825_600
        );
        assert!(AmzDate::parse("19000229T000000Z").is_none());
        assert!(AmzDate::parse("20230229T000000Z").is_none());
        let last = AmzDate::parse("99991231T235959Z").unwrap();
        assert!(AmzDate::from_unix(last.unix() + 1).is_none());
        assert!(AmzDate::from_unix(-1).is_none());
        assert!(AmzDate::from_unix(i64::MAX).is_none());
    }

    #[test]
    fn round_trips_every_day_for_a_few_years() {
        // One check per day across leap and century boundaries (2096..2104 includes 2100).
        let start = AmzDate::parse("20960101T010203Z").unwrap().unix();
        for day in 0..(8 * 366) {
            let t = start + day * SECS_PER_DAY;
            let d = AmzDate::from_unix(t).unwrap();
            assert_eq!(AmzDate::parse(d.as_str()).unwrap().unix(), t);
        }
    }

    #[test]
    fn rejects_malformed_amz_dates() {
        for bad in [
            "",
            "20130524",
            "20130524T000000",
            "20130524T000000z",
            "20130524t000000Z",
            "2013-05-24T00:00:00Z",
            "20131324T000000Z",
            "20130532T000000Z",
            "20130500T000000Z",
            "20130524T240000Z",
            "20130524T006000Z",
            "20130524T000060Z",
            "2013052AT000000Z",
            "+0130524T000000Z",
            "19690101T000000Z",
            "20130524T000000ZZ",
            "２０１３0524T000000Z",
        ] {
            assert!(AmzDate::parse(bad).is_none(), "{bad:?}");
        }
    }

    #[test]
    fn parses_rfc1123_dates() {
        let d = AmzDate::parse_http_date("Fri, 24 May 2013 00:00:00 GMT").unwrap();
        assert_eq!(d.as_str(), "20130524T000000Z");
        let d = AmzDate::parse_http_date("Tue, 27 Mar 2007 19:36:42 +0000").unwrap();
        assert_eq!(d.as_str(), "20070327T193642Z");
        let d = AmzDate::parse_http_date("mon, 1 jan 2024 01:02:03 UTC").unwrap();
        assert_eq!(d.as_str(), "20240101T010203Z");
        for bad in [
            "",
            "Fri 24 May 2013 00:00:00 GMT",
            "Fry, 24 May 2013 00:00:00 GMT",
            "Fri, 24 Mai 2013 00:00:00 GMT",
            "Fri, 24 May 13 00:00:00 GMT",
            "Fri, 24 May 2013 00:00 GMT",
            "Fri, 24 May 2013 00:00:00 PST",
            "Fri, 24 May 2013 00:00:00 GMT extra",
            "Fri, 31 Jun 2013 00:00:00 GMT",
            "Fri, 124 May 2013 00:00:00 GMT",
            "Friday, 24-May-13 00:00:00 GMT",
        ] {
            assert!(AmzDate::parse_http_date(bad).is_none(), "{bad:?}");
        }
    }
}
