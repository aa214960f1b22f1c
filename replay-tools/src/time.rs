//! Times on the command line and in output. The log records microseconds
//! since the Unix epoch (UTC); tools print them as RFC 3339.

use crate::error::ReplayError;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// Microseconds since the Unix epoch.
pub type Micros = i64;

pub const MICROS_PER_SECOND: i64 = 1_000_000;

/// The wall clock.
pub fn now() -> Micros {
    let d = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    i64::try_from(d.as_micros()).unwrap_or(i64::MAX)
}

/// Reads a time: RFC 3339 (`2026-11-25T10:00:00Z`, `…T19:00:00.5+09:00`),
/// Unix seconds (`1764064800`), `now`, or an offset back from now
/// (`-90s`, `-15m`, `-2h`, `-7d`).
pub fn parse(text: &str) -> Result<Micros, ReplayError> {
    let text = text.trim();
    let bad = || {
        ReplayError::Invalid(format!(
            "{text:?} is not a time: use RFC 3339 (2026-11-25T10:00:00Z), Unix seconds, now, or -90s/-15m/-2h/-7d"
        ))
    };
    if text == "now" {
        return Ok(now());
    }
    if let Some(ago) = text.strip_prefix('-') {
        let (number, unit) = ago.split_at(ago.len().saturating_sub(1));
        let n: i64 = number.parse().map_err(|_| bad())?;
        let seconds = match unit {
            "s" => n,
            "m" => n * 60,
            "h" => n * 3600,
            "d" => n * 86_400,
            _ => return Err(bad()),
        };
        return Ok(now() - seconds * MICROS_PER_SECOND);
    }
    if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) {
        let seconds: i64 = text.parse().map_err(|_| bad())?;
        return seconds.checked_mul(MICROS_PER_SECOND).ok_or_else(bad);
    }
    let t = OffsetDateTime::parse(text, &Rfc3339).map_err(|_| bad())?;
    i64::try_from(t.unix_timestamp_nanos() / 1000).map_err(|_| bad())
}

/// RFC 3339 in UTC with microseconds: `2026-11-25T10:00:00.123456Z`.
pub fn format(at: Micros) -> String {
    let nanos = i128::from(at) * 1000;
    match OffsetDateTime::from_unix_timestamp_nanos(nanos) {
        Ok(t) => {
            let (y, mo, d) = (t.year(), u8::from(t.month()), t.day());
            let (h, mi, s) = (t.hour(), t.minute(), t.second());
            format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}.{:06}Z", t.microsecond())
        }
        Err(_) => format!("@{at}us"),
    }
}

/// A duration in seconds as `H:MM:SS` (hours unbounded).
pub fn hms(seconds: u64) -> String {
    format!("{}:{:02}:{:02}", seconds / 3600, seconds / 60 % 60, seconds % 60)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_read_and_print_back() {
        let t = parse("2026-11-25T10:00:00Z").unwrap();
        assert_eq!(t, 1_795_600_800 * MICROS_PER_SECOND);
        assert_eq!(format(t + 123_456), "2026-11-25T10:00:00.123456Z");
        assert_eq!(parse("2026-11-25T19:00:00.5+09:00").unwrap(), t + 500_000);
        assert_eq!(parse("1795600800").unwrap(), t);
        assert_eq!(parse(&format(t + 7)).unwrap(), t + 7);
        let ago = parse("-2h").unwrap();
        assert!((now() - ago - 7200 * MICROS_PER_SECOND).abs() < 5 * MICROS_PER_SECOND);
        assert!(parse("yesterday").is_err());
        assert!(parse("-5x").is_err());
        assert_eq!(hms(90), "0:01:30");
        assert_eq!(hms(3 * 3600 + 61), "3:01:01");
    }
}
