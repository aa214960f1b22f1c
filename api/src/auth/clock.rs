//! Request timestamps: parsing the formats signers send (SigV4 basic ISO
//! 8601, HTTP dates, SigV2 extended ISO 8601) into Unix seconds, and
//! formatting them back. Pure functions; the caller supplies "now".

use std::time::{SystemTime, UNIX_EPOCH};

use time::format_description::well_known::{Rfc2822, Rfc3339};
use time::macros::format_description;
use time::{OffsetDateTime, PrimitiveDateTime};

/// Seconds since the Unix epoch (negative before it).
pub(crate) fn unix_secs(t: SystemTime) -> i64 {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
        Err(e) => i64::try_from(e.duration().as_secs()).map_or(i64::MIN, |s| -s),
    }
}

/// Parses SigV4's basic format, `20150830T123600Z`, exactly.
pub(crate) fn parse_amz_date(s: &str) -> Option<i64> {
    let format = format_description!("[year][month][day]T[hour][minute][second]Z");
    PrimitiveDateTime::parse(s, format).ok().map(|t| t.assume_utc().unix_timestamp())
}

/// Parses a `Date` header: SigV4 basic format or an RFC 1123/2822 HTTP date
/// (`Wed, 25 Nov 2026 10:10:10 GMT`; botocore writes `-0000` for the zone).
pub(crate) fn parse_http_date(s: &str) -> Option<i64> {
    let s = s.trim();
    if let Some(t) = parse_amz_date(s) {
        return Some(t);
    }
    let numeric_zone = match s.strip_suffix(" GMT").or_else(|| s.strip_suffix(" UTC")) {
        Some(head) => format!("{head} +0000"),
        None => s.to_owned(),
    };
    OffsetDateTime::parse(&numeric_zone, &Rfc2822).ok().map(OffsetDateTime::unix_timestamp)
}

/// Parses SigV2's `Timestamp`/`Expires`: extended ISO 8601 with or without
/// fractional seconds, with `Z` or an offset, or with no zone (taken as UTC).
pub(crate) fn parse_iso8601(s: &str) -> Option<i64> {
    if let Ok(t) = OffsetDateTime::parse(s, &Rfc3339) {
        return Some(t.unix_timestamp());
    }
    let no_zone =
        format_description!("[year]-[month]-[day]T[hour]:[minute]:[second][optional [.[subsecond]]]");
    PrimitiveDateTime::parse(s, no_zone).ok().map(|t| t.assume_utc().unix_timestamp())
}

/// Formats Unix seconds in SigV4's basic format.
pub(crate) fn format_amz_date(secs: i64) -> String {
    let format = format_description!("[year][month][day]T[hour][minute][second]Z");
    OffsetDateTime::from_unix_timestamp(secs)
        .ok()
        .and_then(|t| t.format(format).ok())
        .unwrap_or_else(|| secs.to_string())
}

/// Formats Unix seconds as SigV2 writes them, `2026-11-25T10:10:10Z`.
pub(crate) fn format_iso8601(secs: i64) -> String {
    let format = format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]Z");
    OffsetDateTime::from_unix_timestamp(secs)
        .ok()
        .and_then(|t| t.format(format).ok())
        .unwrap_or_else(|| secs.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: i64 = 1_795_601_410; // 2026-11-25T10:10:10Z

    #[test]
    fn amz_date_round_trips_and_rejects_extended_format() {
        assert_eq!(parse_amz_date("20261125T101010Z"), Some(T));
        assert_eq!(format_amz_date(T), "20261125T101010Z");
        assert_eq!(parse_amz_date("2026-11-25T10:10:10Z"), None);
        assert_eq!(parse_amz_date("20261325T101010Z"), None);
        assert_eq!(parse_amz_date(""), None);
    }

    #[test]
    fn http_dates_in_the_shapes_clients_send() {
        assert_eq!(parse_http_date("Wed, 25 Nov 2026 10:10:10 GMT"), Some(T));
        assert_eq!(parse_http_date("Wed, 25 Nov 2026 10:10:10 -0000"), Some(T));
        assert_eq!(parse_http_date("20261125T101010Z"), Some(T));
        assert_eq!(parse_http_date("yesterday"), None);
    }

    #[test]
    fn v2_timestamps_with_and_without_millis_or_zone() {
        assert_eq!(parse_iso8601("2026-11-25T10:10:10Z"), Some(T));
        assert_eq!(parse_iso8601("2026-11-25T10:10:10.000Z"), Some(T));
        assert_eq!(parse_iso8601("2026-11-25T11:10:10+01:00"), Some(T));
        assert_eq!(parse_iso8601("2026-11-25T10:10:10"), Some(T));
        assert_eq!(parse_iso8601("2026-11-25T10:10:10.123"), Some(T));
        assert_eq!(parse_iso8601("25/11/2026"), None);
        assert_eq!(format_iso8601(T), "2026-11-25T10:10:10Z");
    }

    #[test]
    fn unix_secs_handles_times_before_the_epoch() {
        let before = UNIX_EPOCH - std::time::Duration::from_secs(5);
        assert_eq!(unix_secs(before), -5);
        assert_eq!(unix_secs(UNIX_EPOCH + std::time::Duration::from_secs(T as u64)), T);
    }
}
