//! Wall-clock times as Docker prints them (RFC 3339 in UTC with nanoseconds), the time
//! arguments Docker accepts (`--since`, `--until`: RFC 3339, Unix seconds, or a duration
//! before now such as `10m` or `1h30m`), and Docker's human durations (`2 hours`).
//!
//! The one place for date code: every crate formats and parses times through here, and
//! the calendar arithmetic is `jiff`'s (docs/adr/011). Everything is UTC, so no time zone
//! database is linked. Times are `i64` nanoseconds since the Unix epoch (the span of
//! years 1678 to 2262), as the engine stores them.

use jiff::civil::DateTime;
use jiff::tz::Offset;
use jiff::{SignedDuration, Timestamp};

/// Nanoseconds since the Unix epoch.
pub fn now_nanos() -> i64 {
    // Not `Timestamp::now()`: it panics on a clock before 1970 with a formatted jiff
    // error, which links jiff's printers (160 KB, measured) into every binary.
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .ok()
        .and_then(|d| i64::try_from(d.as_nanos()).ok())
        .unwrap_or(0)
}

fn timestamp(nanos: i64) -> Timestamp {
    // Every i64 of nanoseconds is within jiff's range (years -9999 to 9999).
    Timestamp::from_nanosecond(i128::from(nanos)).unwrap_or_default()
}

/// `2026-11-22T07:46:00.123456789Z`: always nine digits of fraction.
pub fn rfc3339_nanos(nanos: i64) -> String {
    format!("{:.9}", timestamp(nanos))
}

/// The current time, formatted as [`rfc3339_nanos`].
pub fn now_rfc3339() -> String {
    rfc3339_nanos(now_nanos())
}

/// `2026-11-22T07:46:00Z`: whole seconds (an image's `created`).
pub fn rfc3339_secs(nanos: i64) -> String {
    format!("{:.0}", timestamp(nanos))
}

/// `2026-11-22 07:46:00 +0000 UTC`: Go's `time.Time.String()` of whole seconds in UTC
/// (how docker's CLI prints `CreatedAt` of containers and images).
pub fn go_string_secs(nanos: i64) -> String {
    let dt = Offset::UTC.to_datetime(timestamp(nanos));
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02} +0000 UTC",
        dt.year(),
        dt.month(),
        dt.day(),
        dt.hour(),
        dt.minute(),
        dt.second()
    )
}

/// The current time, formatted as [`rfc3339_secs`].
pub fn now_rfc3339_secs() -> String {
    rfc3339_secs(now_nanos())
}

/// Parse an RFC 3339 time into nanoseconds. The offset (`Z`, `+01:00`), the fraction and
/// the time of day are optional (no offset is UTC, a date alone is its midnight).
pub fn parse_rfc3339(s: &str) -> Option<i64> {
    if let Ok(t) = s.parse::<Timestamp>() {
        return i64::try_from(t.as_nanosecond()).ok();
    }
    // A civil time is read as UTC; jiff refuses `Z` here, taken above.
    let dt = s.parse::<DateTime>().ok()?;
    let t = Offset::UTC.to_timestamp(dt).ok()?;
    i64::try_from(t.as_nanosecond()).ok()
}

/// A Go-style duration (`300ms`, `1.5s`, `1h30m`, `0`) in nanoseconds.
pub fn parse_duration(s: &str) -> Option<i64> {
    if s == "0" {
        return Some(0);
    }
    // Go's units only: jiff would also take ISO 8601 (`PT1H`) and spelled-out units.
    if s.is_empty()
        || !s
            .chars()
            .all(|c| c.is_ascii_digit() || matches!(c, '.' | 'n' | 'u' | 'µ' | 'm' | 's' | 'h'))
    {
        return None;
    }
    let d = s.parse::<SignedDuration>().ok()?;
    i64::try_from(d.as_nanos()).ok()
}

/// Unix seconds with an optional fraction (`1700000000.5`), exactly, in nanoseconds.
fn parse_unix(s: &str) -> Option<i64> {
    let (secs, frac) = s.split_once('.').unwrap_or((s, ""));
    if secs.is_empty() && frac.is_empty() {
        return None;
    }
    let all_digits = |x: &str| x.chars().all(|c| c.is_ascii_digit());
    if !all_digits(secs) || !all_digits(frac) {
        return None;
    }
    let secs: i64 = if secs.is_empty() {
        0
    } else {
        secs.parse().ok()?
    };
    let digits = frac.get(..frac.len().min(9)).unwrap_or("");
    let frac: i32 = if digits.is_empty() {
        0
    } else {
        format!("{digits:0<9}").parse().ok()?
    };
    let t = Timestamp::new(secs, frac).ok()?;
    i64::try_from(t.as_nanosecond()).ok()
}

/// Docker's `--since`/`--until` value: RFC 3339, Unix seconds (`1700000000.5`) or a
/// duration before `now`.
pub fn parse_point(s: &str, now: i64) -> Option<i64> {
    // Digits are Unix seconds first (jiff would read `20260101` as a date).
    parse_unix(s)
        .or_else(|| parse_rfc3339(s))
        .or_else(|| parse_duration(s).and_then(|d| now.checked_sub(d)))
}

/// Docker's human durations (`Less than a second`, `5 seconds`, `About an hour`), of
/// whole seconds.
pub fn human_duration(d: i64) -> String {
    match d {
        i64::MIN..=0 => "Less than a second".to_string(),
        1 => "1 second".to_string(),
        2..=59 => format!("{d} seconds"),
        60..=119 => "About a minute".to_string(),
        120..=3599 => format!("{} minutes", d / 60),
        3600..=7199 => "About an hour".to_string(),
        7200..=172_799 => format!("{} hours", d / 3600),
        172_800..=1_209_599 => format!("{} days", d / 86400),
        1_209_600..=5_183_999 => format!("{} weeks", d / 604_800),
        5_184_000..=63_071_999 => format!("{} months", d / 2_592_000),
        _ => format!("{} years", d / 31_536_000),
    }
}

/// `3 minutes ago`, `2 hours ago`, `About an hour ago` for an RFC 3339 time before
/// `now` (nanoseconds); the text itself when it is not a time.
pub fn ago_at(rfc3339: &str, now: i64) -> String {
    match parse_rfc3339(rfc3339) {
        Some(t) => format!(
            "{} ago",
            human_duration((now.div_euclid(1_000_000_000) - t.div_euclid(1_000_000_000)).max(0))
        ),
        None => rfc3339.to_string(),
    }
}

/// [`ago_at`] now.
pub fn ago(rfc3339: &str) -> String {
    ago_at(rfc3339, now_nanos())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_time_strings() {
        assert_eq!(
            go_string_secs(1_795_791_530_763_471_522),
            "2026-11-27 14:58:50 +0000 UTC"
        );
        assert_eq!(go_string_secs(0), "1970-01-01 00:00:00 +0000 UTC");
    }

    const S: i64 = 1_000_000_000;

    #[test]
    fn formats_like_docker() {
        assert_eq!(rfc3339_nanos(0), "1970-01-01T00:00:00.000000000Z");
        assert_eq!(
            rfc3339_nanos(1_795_000_000_123_456_789),
            "2026-11-18T11:06:40.123456789Z"
        );
        assert_eq!(
            rfc3339_nanos(1_795_323_600 * S),
            "2026-11-22T05:00:00.000000000Z"
        );
        assert_eq!(rfc3339_nanos(-1), "1969-12-31T23:59:59.999999999Z");
        // Leap day and the turn of a century that is a leap year.
        assert_eq!(
            rfc3339_nanos(951_782_400 * S),
            "2000-02-29T00:00:00.000000000Z"
        );
        assert_eq!(
            rfc3339_secs(1_795_323_600 * S + 999),
            "2026-11-22T05:00:00Z"
        );
        let t = now_rfc3339();
        assert_eq!(t.len(), 30, "{t}");
        assert!(t.starts_with("20") && t.ends_with('Z'), "{t}");
        assert_eq!(now_rfc3339_secs().len(), 20);
    }

    #[test]
    fn round_trip() {
        for t in [
            0,
            1_795_000_000_123_456_789,
            -86_400 * S + 5,
            4_102_444_800 * S,
        ] {
            assert_eq!(parse_rfc3339(&rfc3339_nanos(t)), Some(t));
        }
        assert_eq!(
            parse_rfc3339("1970-01-01T01:00:00+01:00"),
            Some(0),
            "offsets apply"
        );
        assert_eq!(parse_rfc3339("1970-01-01T00:00:00-00:30"), Some(1800 * S));
        assert_eq!(parse_rfc3339("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(parse_rfc3339("1970-01-01t00:00:01z"), Some(S));
        assert_eq!(
            parse_rfc3339("2026-11-22T05:00:00.123Z"),
            Some(1_795_323_600 * S + 123_000_000)
        );
        // No offset: UTC; a date alone: its midnight.
        assert_eq!(
            parse_rfc3339("2026-11-22T05:00:00"),
            Some(1_795_323_600 * S)
        );
        assert_eq!(parse_rfc3339("2026-11-22"), Some(1_795_305_600 * S));
        for bad in [
            "",
            "yesterday",
            "2026-13-01T00:00:00Z",
            "2026-02-30",
            "10m",
            "1700000000",
        ] {
            assert_eq!(parse_rfc3339(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn durations_and_points() {
        assert_eq!(parse_duration("1h30m"), Some(5400 * S));
        assert_eq!(parse_duration("300ms"), Some(300_000_000));
        assert_eq!(parse_duration("1.5s"), Some(1_500_000_000));
        assert_eq!(parse_duration("1.5h"), Some(5400 * S));
        assert_eq!(parse_duration("2us"), Some(2000));
        assert_eq!(parse_duration("2µs"), Some(2000));
        assert_eq!(parse_duration("7ns"), Some(7));
        assert_eq!(parse_duration("0"), Some(0));
        assert_eq!(parse_duration("0s"), Some(0));
        for bad in ["", "abc", "10", "1d", "PT1H", "1 hour", "h"] {
            assert_eq!(parse_duration(bad), None, "{bad:?}");
        }
        assert_eq!(parse_point("10s", 20 * S), Some(10 * S));
        assert_eq!(parse_point("5", 0), Some(5 * S));
        assert_eq!(
            parse_point("1700000000.5", 0),
            Some(1_700_000_000_500_000_000)
        );
        assert_eq!(parse_point("1.000000001999", 0), Some(S + 1));
        assert_eq!(parse_point(".25", 0), Some(S / 4));
        assert_eq!(parse_point("1970-01-01T00:00:02Z", 0), Some(2 * S));
        assert_eq!(parse_point("20260101", 0), Some(20_260_101 * S));
        assert_eq!(parse_point("", 0), None);
        assert_eq!(parse_point(".", 0), None);
        assert_eq!(parse_point("1.2.3", 0), None);
    }

    #[test]
    fn human_durations_like_docker() {
        let cases = [
            (-5, "Less than a second"),
            (0, "Less than a second"),
            (1, "1 second"),
            (59, "59 seconds"),
            (60, "About a minute"),
            (119, "About a minute"),
            (120, "2 minutes"),
            (3599, "59 minutes"),
            (3600, "About an hour"),
            (7199, "About an hour"),
            (7200, "2 hours"),
            (172_799, "47 hours"),
            (172_800, "2 days"),
            (1_209_599, "13 days"),
            (1_209_600, "2 weeks"),
            (5_184_000, "2 months"),
            (63_072_000, "2 years"),
        ];
        for (d, want) in cases {
            assert_eq!(human_duration(d), want, "{d}");
        }
        let now = 1_795_323_600 * S;
        assert_eq!(
            ago_at("2026-11-22T05:00:00Z", now),
            "Less than a second ago"
        );
        assert_eq!(ago_at("2026-11-22T04:59:30.5Z", now), "30 seconds ago");
        assert_eq!(ago_at("2026-11-22T04:59:00Z", now), "About a minute ago");
        assert_eq!(ago_at("2026-11-22T03:00:00Z", now), "2 hours ago");
        assert_eq!(
            ago_at("2026-11-22T06:00:00Z", now),
            "Less than a second ago"
        );
        assert_eq!(ago_at("not a time", now), "not a time");
    }
}
