//! Human-written durations in the configuration file: `10m`, `30s`, `1h`, `500ms`, `1h30m`.
//!
//! The grammar follows Go's `time.ParseDuration` (which the Go s3-orchestrator's YAML files use) minus
//! fractions: one or more `<integer><unit>` groups, units `ns`, `us` (or `µs`), `ms`, `s`, `m`, `h`,
//! plus `d` for days. A bare `0` is accepted as zero; any other bare number is refused because its unit
//! would be a guess. [`format_duration`] writes the same grammar back, for validation messages
//! (`must be between 100ms and 10m`).

use std::fmt;
use std::time::Duration;

/// Longest duration text accepted. A config duration is a handful of characters; the bound keeps error
/// messages (which quote the text) short and parsing trivially bounded.
const MAX_DURATION_TEXT_LEN: usize = 64;

/// Why a duration text was refused. Display gives a sentence suitable after `key: `.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum DurationError {
    /// The text was empty.
    Empty,
    /// Longer than [`MAX_DURATION_TEXT_LEN`].
    TooLong,
    /// A number without a unit, e.g. `600`.
    MissingUnit(String),
    /// A unit that is not one of the accepted ones.
    UnknownUnit(String),
    /// Something that is neither a digit nor a unit where a number was expected.
    Malformed(String),
    /// The value does not fit a `std::time::Duration`.
    Overflow,
}

impl fmt::Display for DurationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DurationError::Empty => f.write_str("empty duration, expected e.g. `30s`, `10m`, `1h`"),
            DurationError::TooLong => write!(
                f,
                "duration is longer than {MAX_DURATION_TEXT_LEN} characters"
            ),
            DurationError::MissingUnit(t) => write!(
                f,
                "duration `{t}` has no unit, write e.g. `{t}s` or `{t}ms` (units: ns, us, ms, s, m, h, d)"
            ),
            DurationError::UnknownUnit(u) => write!(
                f,
                "unknown duration unit `{u}`, expected one of ns, us, ms, s, m, h, d"
            ),
            DurationError::Malformed(t) => write!(
                f,
                "malformed duration `{t}`, expected e.g. `500ms`, `30s`, `10m`, `1h30m`"
            ),
            DurationError::Overflow => f.write_str("duration is too large"),
        }
    }
}

impl std::error::Error for DurationError {}

/// Nanoseconds per unit; `None` for an unknown unit.
fn unit_nanos(unit: &str) -> Option<u128> {
    const NS_PER_S: u128 = 1_000_000_000;
    Some(match unit {
        "ns" => 1,
        "us" | "µs" => 1_000,
        "ms" => 1_000_000,
        "s" => NS_PER_S,
        "m" => 60 * NS_PER_S,
        "h" => 3_600 * NS_PER_S,
        "d" => 86_400 * NS_PER_S,
        _ => return None,
    })
}

/// Parses a duration such as `10m`, `500ms` or `1h30m`.
pub(crate) fn parse_duration(text: &str) -> Result<Duration, DurationError> {
    let text = text.trim();
    if text.is_empty() {
        return Err(DurationError::Empty);
    }
    if text.len() > MAX_DURATION_TEXT_LEN {
        return Err(DurationError::TooLong);
    }
    if text == "0" {
        return Ok(Duration::ZERO);
    }
    let mut total_nanos: u128 = 0;
    let mut rest = text;
    while !rest.is_empty() {
        let digits_end = rest
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(rest.len());
        if digits_end == 0 {
            return Err(DurationError::Malformed(text.to_owned()));
        }
        let (digits, after) = rest.split_at(digits_end);
        if after.is_empty() {
            return Err(DurationError::MissingUnit(text.to_owned()));
        }
        let unit_end = after
            .find(|c: char| c.is_ascii_digit())
            .unwrap_or(after.len());
        let (unit, next) = after.split_at(unit_end);
        let per_unit =
            unit_nanos(unit).ok_or_else(|| DurationError::UnknownUnit(unit.to_owned()))?;
        // At most MAX_DURATION_TEXT_LEN digits fit in the text, but u128 holds only 38: check.
        let value: u128 = digits.parse().map_err(|_| DurationError::Overflow)?;
        total_nanos = value
            .checked_mul(per_unit)
            .and_then(|n| total_nanos.checked_add(n))
            .ok_or(DurationError::Overflow)?;
        rest = next;
    }
    const NS_PER_S: u128 = 1_000_000_000;
    let secs = u64::try_from(total_nanos / NS_PER_S).map_err(|_| DurationError::Overflow)?;
    // The remainder is < 1e9 and so always fits a u32.
    let nanos = u32::try_from(total_nanos % NS_PER_S).map_err(|_| DurationError::Overflow)?;
    Ok(Duration::new(secs, nanos))
}

/// Writes a duration in the grammar [`parse_duration`] reads, largest units first: `1h30m`, `500ms`,
/// `0s`. Days are not used (an hour count reads more plainly).
pub(crate) fn format_duration(d: Duration) -> String {
    if d.is_zero() {
        return "0s".to_owned();
    }
    let mut out = String::new();
    let mut secs = d.as_secs();
    let hours = secs / 3600;
    secs %= 3600;
    let minutes = secs / 60;
    secs %= 60;
    let sub = d.subsec_nanos();
    use std::fmt::Write as _;
    // Writing to a String cannot fail.
    if hours > 0 {
        let _ = write!(out, "{hours}h");
    }
    if minutes > 0 {
        let _ = write!(out, "{minutes}m");
    }
    if secs > 0 {
        let _ = write!(out, "{secs}s");
    }
    if sub > 0 {
        if sub.is_multiple_of(1_000_000) {
            let _ = write!(out, "{}ms", sub / 1_000_000);
        } else if sub.is_multiple_of(1_000) {
            let _ = write!(out, "{}us", sub / 1_000);
        } else {
            let _ = write!(out, "{sub}ns");
        }
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn parses_single_units() {
        assert_eq!(parse_duration("10m").unwrap(), Duration::from_secs(600));
        assert_eq!(parse_duration("30s").unwrap(), Duration::from_secs(30));
        assert_eq!(parse_duration("1h").unwrap(), Duration::from_secs(3600));
        assert_eq!(parse_duration("500ms").unwrap(), Duration::from_millis(500));
        assert_eq!(parse_duration("250us").unwrap(), Duration::from_micros(250));
        assert_eq!(parse_duration("250µs").unwrap(), Duration::from_micros(250));
        assert_eq!(parse_duration("7ns").unwrap(), Duration::from_nanos(7));
        assert_eq!(
            parse_duration("2d").unwrap(),
            Duration::from_secs(2 * 86_400)
        );
        assert_eq!(parse_duration(" 5s ").unwrap(), Duration::from_secs(5));
    }

    #[test]
    fn parses_compound_and_zero() {
        assert_eq!(parse_duration("1h30m").unwrap(), Duration::from_secs(5400));
        assert_eq!(
            parse_duration("1m1s500ms").unwrap(),
            Duration::from_millis(61_500)
        );
        assert_eq!(parse_duration("0").unwrap(), Duration::ZERO);
        assert_eq!(parse_duration("0s").unwrap(), Duration::ZERO);
    }

    #[test]
    fn refuses_bad_text() {
        assert_eq!(parse_duration(""), Err(DurationError::Empty));
        assert_eq!(
            parse_duration("600"),
            Err(DurationError::MissingUnit("600".into()))
        );
        assert_eq!(
            parse_duration("10x"),
            Err(DurationError::UnknownUnit("x".into()))
        );
        assert_eq!(
            parse_duration("10M"),
            Err(DurationError::UnknownUnit("M".into()))
        );
        assert_eq!(
            parse_duration("m"),
            Err(DurationError::Malformed("m".into()))
        );
        assert_eq!(
            parse_duration("-5s"),
            Err(DurationError::Malformed("-5s".into()))
        );
        assert_eq!(
            parse_duration("1.5h"),
            Err(DurationError::UnknownUnit(".".into()))
        );
        assert_eq!(
            parse_duration("1h 30m"),
            Err(DurationError::UnknownUnit("h ".into()))
        );
        assert_eq!(
            parse_duration(&"9".repeat(40)),
            Err(DurationError::MissingUnit("9".repeat(40)))
        );
        assert_eq!(
            parse_duration(&format!("{}s", "9".repeat(40))),
            Err(DurationError::Overflow)
        );
        assert_eq!(
            parse_duration(&format!("{}d", u64::MAX)),
            Err(DurationError::Overflow)
        );
        assert_eq!(
            parse_duration(&"1s".repeat(40)),
            Err(DurationError::TooLong)
        );
    }

    #[test]
    fn error_messages_suggest_the_fix() {
        let msg = parse_duration("600").unwrap_err().to_string();
        assert!(msg.contains("`600s`"), "{msg}");
    }

    #[test]
    fn format_round_trips() {
        for text in [
            "10m",
            "30s",
            "1h",
            "500ms",
            "1h30m",
            "1m1s500ms",
            "250us",
            "7ns",
            "0s",
        ] {
            let d = parse_duration(text).unwrap();
            assert_eq!(format_duration(d), text);
            assert_eq!(parse_duration(&format_duration(d)).unwrap(), d);
        }
        assert_eq!(format_duration(Duration::from_secs(86_400)), "24h");
    }
}
