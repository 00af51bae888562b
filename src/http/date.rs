//! HTTP dates (RFC 9110 §5.6.7).
//!
//! Responses carry a `Date` header in IMF-fixdate form
//! (`Sun, 06 Nov 1994 08:49:37 GMT`). Formatting is hand-rolled (a civil-date
//! computation, no allocation) and [`DateCache`] re-formats at most once per
//! second, so a shard writing thousands of responses per second formats the
//! date about once per second. [`parse_http_date`] reads the three formats a
//! recipient must accept, for conditional request headers
//! (`If-Modified-Since`, `If-Unmodified-Since`).

/// Length of an IMF-fixdate: `Sun, 06 Nov 1994 08:49:37 GMT`.
pub const IMF_FIXDATE_LEN: usize = 29;

/// Latest instant an IMF-fixdate can express (9999-12-31T23:59:59Z): the year
/// has exactly four digits. Later timestamps are clamped to it.
pub const MAX_HTTP_DATE_SECS: u64 = 253_402_300_799;

const DAY_NAMES: [&[u8; 3]; 7] = [b"Sun", b"Mon", b"Tue", b"Wed", b"Thu", b"Fri", b"Sat"];
const LONG_DAY_NAMES: [&[u8]; 7] = [
    b"Sunday",
    b"Monday",
    b"Tuesday",
    b"Wednesday",
    b"Thursday",
    b"Friday",
    b"Saturday",
];
const MONTH_NAMES: [&[u8; 3]; 12] = [
    b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun", b"Jul", b"Aug", b"Sep", b"Oct", b"Nov", b"Dec",
];

/// Writes `unix_secs` (seconds since 1970-01-01T00:00:00Z) as an IMF-fixdate.
/// Timestamps after year 9999 are clamped to [`MAX_HTTP_DATE_SECS`].
pub fn format_imf_fixdate(unix_secs: u64, out: &mut [u8; IMF_FIXDATE_LEN]) {
    let secs = unix_secs.min(MAX_HTTP_DATE_SECS);
    let days = secs / 86_400;
    let rem = secs % 86_400;
    let (year, month, day) = civil_from_days(days);
    // 1970-01-01 was a Thursday (index 4 with Sunday = 0).
    let weekday = ((days + 4) % 7) as usize;

    out[0..3].copy_from_slice(DAY_NAMES[weekday]);
    out[3..5].copy_from_slice(b", ");
    put2(&mut out[5..7], day);
    out[7] = b' ';
    out[8..11].copy_from_slice(MONTH_NAMES[(month - 1) as usize]);
    out[11] = b' ';
    put2(&mut out[12..14], year / 100);
    put2(&mut out[14..16], year % 100);
    out[16] = b' ';
    put2(&mut out[17..19], rem / 3600);
    out[19] = b':';
    put2(&mut out[20..22], rem / 60 % 60);
    out[22] = b':';
    put2(&mut out[23..25], rem % 60);
    out[25..29].copy_from_slice(b" GMT");
}

fn put2(out: &mut [u8], v: u64) {
    out[0] = b'0' + (v / 10 % 10) as u8;
    out[1] = b'0' + (v % 10) as u8;
}

/// Days since the epoch to (year, month 1-12, day 1-31), proleptic Gregorian
/// (Howard Hinnant's `civil_from_days`, restricted to non-negative days).
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    // Shift the epoch to 0000-03-01 so leap days fall at the end of a year.
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z % 146_097; // day of era [0, 146096]
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365; // [0, 399]
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100); // [0, 365]
    let mp = (5 * doy + 2) / 153; // [0, 11], March = 0
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + u64::from(month <= 2);
    (year, month, day)
}

/// (year, month 1-12, day 1-31) to days since the epoch; `None` before 1970.
fn days_from_civil(year: u64, month: u64, day: u64) -> Option<u64> {
    let y = if month <= 2 {
        year.checked_sub(1)?
    } else {
        year
    };
    let era = y / 400;
    let yoe = y % 400;
    let mp = if month > 2 { month - 3 } else { month + 9 };
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    (era * 146_097 + doe).checked_sub(719_468)
}

fn days_in_month(year: u64, month: u64) -> u64 {
    match month {
        4 | 6 | 9 | 11 => 30,
        2 if (year.is_multiple_of(4) && !year.is_multiple_of(100)) || year.is_multiple_of(400) => {
            29
        }
        2 => 28,
        _ => 31,
    }
}

/// Caches the formatted current date; re-formats only when the second changes.
#[derive(Debug, Clone)]
pub struct DateCache {
    secs: Option<u64>,
    buf: [u8; IMF_FIXDATE_LEN],
}

impl Default for DateCache {
    fn default() -> Self {
        Self::new()
    }
}

impl DateCache {
    /// An empty cache (formats on first use).
    pub fn new() -> Self {
        Self {
            secs: None,
            buf: [b' '; IMF_FIXDATE_LEN],
        }
    }

    /// The IMF-fixdate for `unix_secs`, formatted only if the second differs
    /// from the cached one.
    pub fn get(&mut self, unix_secs: u64) -> &str {
        if self.secs != Some(unix_secs) {
            format_imf_fixdate(unix_secs, &mut self.buf);
            self.secs = Some(unix_secs);
        }
        // Always ASCII; the fallback is unreachable.
        std::str::from_utf8(&self.buf).unwrap_or("Thu, 01 Jan 1970 00:00:00 GMT")
    }

    /// The IMF-fixdate for the current system time (a clock before 1970
    /// reads as the epoch).
    pub fn now(&mut self) -> &str {
        self.get(crate::util::clock::now_secs())
    }
}

/// Parses an HTTP-date in any of the three formats recipients must accept
/// (RFC 9110 §5.6.7) into seconds since the epoch:
/// IMF-fixdate `Sun, 06 Nov 1994 08:49:37 GMT`, obsolete RFC 850
/// `Sunday, 06-Nov-94 08:49:37 GMT` and asctime `Sun Nov  6 08:49:37 1994`.
/// The weekday name must be valid but is not checked against the date.
/// Returns `None` for anything else or for dates before 1970.
pub fn parse_http_date(v: &[u8]) -> Option<u64> {
    if v.len() == IMF_FIXDATE_LEN && v.get(3) == Some(&b',') {
        parse_imf_fixdate(v)
    } else if v.len() == 24 && v.get(3) == Some(&b' ') {
        parse_asctime(v)
    } else {
        parse_rfc850(v)
    }
}

fn parse_imf_fixdate(v: &[u8]) -> Option<u64> {
    // "Sun, 06 Nov 1994 08:49:37 GMT"
    if !DAY_NAMES.iter().any(|d| v[..3] == d[..])
        || &v[3..5] != b", "
        || v[7] != b' '
        || v[11] != b' '
        || v[16] != b' '
        || &v[25..] != b" GMT"
    {
        return None;
    }
    let day = digits(&v[5..7])?;
    let month = month_from_name(&v[8..11])?;
    let year = digits(&v[12..16])?;
    let time = parse_time(&v[17..25])?;
    to_unix(year, month, day, time)
}

fn parse_rfc850(v: &[u8]) -> Option<u64> {
    // "Sunday, 06-Nov-94 08:49:37 GMT"
    let comma = v.iter().position(|&b| b == b',')?;
    if !LONG_DAY_NAMES.iter().any(|d| v[..comma] == **d) {
        return None;
    }
    let rest = &v[comma..];
    if rest.len() != 24
        || &rest[..2] != b", "
        || rest[4] != b'-'
        || rest[8] != b'-'
        || rest[11] != b' '
        || &rest[20..] != b" GMT"
    {
        return None;
    }
    let day = digits(&rest[2..4])?;
    let month = month_from_name(&rest[5..8])?;
    let yy = digits(&rest[9..11])?;
    // Two-digit year: RFC 9110 wants "no more than 50 years in the future";
    // a fixed pivot at 70 is equivalent for the foreseeable future.
    let year = if yy >= 70 { 1900 + yy } else { 2000 + yy };
    let time = parse_time(&rest[12..20])?;
    to_unix(year, month, day, time)
}

fn parse_asctime(v: &[u8]) -> Option<u64> {
    // "Sun Nov  6 08:49:37 1994"
    if !DAY_NAMES.iter().any(|d| v[..3] == d[..])
        || v[3] != b' '
        || v[7] != b' '
        || v[10] != b' '
        || v[19] != b' '
    {
        return None;
    }
    let month = month_from_name(&v[4..7])?;
    let day = match &v[8..10] {
        [b' ', d] => digits(&[*d])?,
        d => digits(d)?,
    };
    let time = parse_time(&v[11..19])?;
    let year = digits(&v[20..24])?;
    to_unix(year, month, day, time)
}

/// "HH:MM:SS" to seconds of the day (second 60 allowed for leap seconds).
fn parse_time(v: &[u8]) -> Option<u64> {
    if v.len() != 8 || v[2] != b':' || v[5] != b':' {
        return None;
    }
    let (h, m, s) = (digits(&v[0..2])?, digits(&v[3..5])?, digits(&v[6..8])?);
    if h > 23 || m > 59 || s > 60 {
        return None;
    }
    Some(h * 3600 + m * 60 + s)
}

fn to_unix(year: u64, month: u64, day: u64, time_of_day: u64) -> Option<u64> {
    if day == 0 || day > days_in_month(year, month) {
        return None;
    }
    let days = days_from_civil(year, month, day)?;
    Some(days * 86_400 + time_of_day)
}

fn month_from_name(v: &[u8]) -> Option<u64> {
    MONTH_NAMES
        .iter()
        .position(|m| m[..] == *v)
        .map(|i| i as u64 + 1)
}

/// ASCII decimal digits (1 to 4 of them) to a number.
fn digits(v: &[u8]) -> Option<u64> {
    if v.is_empty() || v.len() > 4 {
        return None;
    }
    v.iter().try_fold(0u64, |acc, &b| {
        b.is_ascii_digit().then(|| acc * 10 + u64::from(b - b'0'))
    })
}

/// Fuzz entry point (for a cargo-fuzz target): parses arbitrary bytes as an
/// HTTP-date; any accepted date must format back to an IMF-fixdate that
/// parses to the same instant. Must never panic otherwise.
pub fn fuzz_parse_http_date(data: &[u8]) {
    if let Some(secs) = parse_http_date(data) {
        assert!(secs <= MAX_HTTP_DATE_SECS + 1, "year beyond 9999");
        let mut buf = [0u8; IMF_FIXDATE_LEN];
        format_imf_fixdate(secs, &mut buf);
        if secs <= MAX_HTTP_DATE_SECS {
            assert_eq!(parse_http_date(&buf), Some(secs));
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests may unwrap
mod tests {
    use super::*;

    fn fmt(secs: u64) -> String {
        let mut b = [0u8; IMF_FIXDATE_LEN];
        format_imf_fixdate(secs, &mut b);
        String::from_utf8(b.to_vec()).unwrap()
    }

    #[test]
    fn known_timestamps() {
        assert_eq!(fmt(784_111_777), "Sun, 06 Nov 1994 08:49:37 GMT");
        assert_eq!(fmt(0), "Thu, 01 Jan 1970 00:00:00 GMT");
        assert_eq!(fmt(951_782_400), "Tue, 29 Feb 2000 00:00:00 GMT");
        assert_eq!(fmt(1_709_164_799), "Wed, 28 Feb 2024 23:59:59 GMT");
        assert_eq!(fmt(1_709_164_800), "Thu, 29 Feb 2024 00:00:00 GMT");
        assert_eq!(fmt(4_107_542_400), "Mon, 01 Mar 2100 00:00:00 GMT");
        assert_eq!(fmt(MAX_HTTP_DATE_SECS), "Fri, 31 Dec 9999 23:59:59 GMT");
        assert_eq!(fmt(u64::MAX), "Fri, 31 Dec 9999 23:59:59 GMT");
    }

    #[test]
    fn matches_time_crate_on_many_timestamps() {
        let mut secs = 0u64;
        while secs < 8_000_000_000 {
            let dt = time::OffsetDateTime::from_unix_timestamp(secs as i64).unwrap();
            let expected = format!(
                "{}, {:02} {} {:04} {:02}:{:02}:{:02} GMT",
                &dt.weekday().to_string()[..3],
                dt.day(),
                &dt.month().to_string()[..3],
                dt.year(),
                dt.hour(),
                dt.minute(),
                dt.second()
            );
            assert_eq!(fmt(secs), expected, "secs {secs}");
            assert_eq!(parse_http_date(expected.as_bytes()), Some(secs));
            secs += 7_777_777; // ~90 days, odd step to vary time of day
        }
    }

    #[test]
    fn cache_reformats_only_on_new_second() {
        let mut c = DateCache::new();
        assert_eq!(c.get(784_111_777), "Sun, 06 Nov 1994 08:49:37 GMT");
        assert_eq!(c.secs, Some(784_111_777));
        assert_eq!(c.get(784_111_777), "Sun, 06 Nov 1994 08:49:37 GMT");
        assert_eq!(c.get(784_111_778), "Sun, 06 Nov 1994 08:49:38 GMT");
        let now = c.now().to_string();
        assert_eq!(now.len(), IMF_FIXDATE_LEN);
        assert!(now.ends_with(" GMT"));
        assert!(parse_http_date(now.as_bytes()).is_some());
    }

    #[test]
    fn parses_all_three_formats() {
        assert_eq!(
            parse_http_date(b"Sun, 06 Nov 1994 08:49:37 GMT"),
            Some(784_111_777)
        );
        assert_eq!(
            parse_http_date(b"Sunday, 06-Nov-94 08:49:37 GMT"),
            Some(784_111_777)
        );
        assert_eq!(
            parse_http_date(b"Sun Nov  6 08:49:37 1994"),
            Some(784_111_777)
        );
        assert_eq!(
            parse_http_date(b"Sun Nov 06 08:49:37 1994"),
            Some(784_111_777)
        );
        assert_eq!(
            parse_http_date(b"Thursday, 01-Jan-15 00:00:00 GMT"),
            Some(1_420_070_400)
        );
        assert_eq!(
            parse_http_date(b"Thu, 31 Dec 2037 23:59:60 GMT"),
            Some(2_145_916_800)
        );
    }

    #[test]
    fn rejects_invalid_dates() {
        for bad in [
            &b""[..],
            b"Sun, 06 Nov 1994 08:49:37 UTC",
            b"Sun, 06 Nov 1994 08:49:37 gmt",
            b"Sun, 6 Nov 1994 08:49:37 GMT",
            b"Xyz, 06 Nov 1994 08:49:37 GMT",
            b"Sun, 06 Foo 1994 08:49:37 GMT",
            b"Sun, 31 Nov 1994 08:49:37 GMT",
            b"Sun, 29 Feb 1900 08:49:37 GMT",
            b"Sun, 00 Nov 1994 08:49:37 GMT",
            b"Sun, 06 Nov 1994 24:00:00 GMT",
            b"Sun, 06 Nov 1994 08:60:00 GMT",
            b"Sun, 06 Nov 1994 08:49:61 GMT",
            b"Sun, 06 Nov 1969 08:49:37 GMT",
            b"Sun, 06 Nov 19a4 08:49:37 GMT",
            b"Sun, 06 Nov 1994 08-49-37 GMT",
            b"Sun, 06 Nov 1994 08:49:37 GMT ",
            b"Sunday, 06-Nov-1994 08:49:37 GMT",
            b"Sund, 06-Nov-94 08:49:37 GMT",
            b"Sun Nov  6 08:49:37 94  ",
            b"Sun Nov 6  08:49:37 1994",
            b",",
            b"\xff\xfe, 06 Nov 1994 08:49:37 GMT",
        ] {
            assert_eq!(
                parse_http_date(bad),
                None,
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    #[test]
    fn fuzz_entry_on_corpus() {
        for c in [
            &b"Sun, 06 Nov 1994 08:49:37 GMT"[..],
            b"Sunday, 06-Nov-94 08:49:37 GMT",
            b"Sun Nov  6 08:49:37 1994",
            b"Fri, 31 Dec 9999 23:59:60 GMT",
            b"",
            b"Sun, 99 Nov 1994 99:99:99 GMT",
        ] {
            fuzz_parse_http_date(c);
        }
        assert_eq!(
            parse_http_date(b"Fri, 31 Dec 9999 23:59:60 GMT"),
            Some(MAX_HTTP_DATE_SECS + 1)
        );
    }

    #[test]
    fn leap_years_round_trip() {
        for (y, m, d) in [
            (1972, 2, 29),
            (2000, 2, 29),
            (2024, 2, 29),
            (2100, 2, 28),
            (1999, 12, 31),
        ] {
            let days = days_from_civil(y, m, d).unwrap();
            assert_eq!(civil_from_days(days), (y, m, d));
        }
        assert_eq!(days_in_month(2100, 2), 28);
        assert_eq!(days_in_month(2000, 2), 29);
    }
}
