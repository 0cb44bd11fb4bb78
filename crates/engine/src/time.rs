//! Wall-clock times as Docker prints them (RFC 3339 with nanoseconds, UTC) and the time
//! arguments Docker accepts (`--since`, `--until`): RFC 3339, Unix seconds, or a duration
//! before now (`10m`, `1h30m`).

/// Nanoseconds since the Unix epoch.
pub fn now_nanos() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as i64)
        .unwrap_or(0)
}

/// `2026-11-22T07:46:00.123456789Z`.
pub fn rfc3339_nanos(nanos: i64) -> String {
    runtime::state::rfc3339_nanos(nanos)
}

/// The current time, formatted.
pub fn now_rfc3339() -> String {
    rfc3339_nanos(now_nanos())
}

/// Parse an RFC 3339 time (fraction and offset optional) into nanoseconds.
pub fn parse_rfc3339(s: &str) -> Option<i64> {
    let n = |r: std::ops::Range<usize>| s.get(r)?.parse::<i64>().ok();
    let (y, m, d) = (n(0..4)?, n(5..7)?, n(8..10)?);
    if s.get(4..5)? != "-" || s.get(7..8)? != "-" {
        return None;
    }
    let (hh, mm, ss) = if s.len() > 10 {
        (n(11..13)?, n(14..16)?, n(17..19)?)
    } else {
        (0, 0, 0)
    };
    let mut rest = s.get(19..).unwrap_or("");
    let mut frac = 0i64;
    if let Some(r) = rest.strip_prefix('.') {
        let digits: String = r.chars().take_while(|c| c.is_ascii_digit()).collect();
        rest = &r[digits.len()..];
        let mut padded = digits.clone();
        padded.truncate(9);
        while padded.len() < 9 {
            padded.push('0');
        }
        frac = padded.parse().ok()?;
    }
    let offset = match rest {
        "" | "Z" | "z" => 0,
        o if o.len() == 6 && (o.starts_with('+') || o.starts_with('-')) => {
            let h: i64 = o.get(1..3)?.parse().ok()?;
            let mi: i64 = o.get(4..6)?.parse().ok()?;
            let v = h * 3600 + mi * 60;
            if o.starts_with('-') {
                -v
            } else {
                v
            }
        }
        _ => return None,
    };
    let y2 = if m <= 2 { y - 1 } else { y };
    let era = y2.div_euclid(400);
    let yoe = y2 - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some((days * 86400 + hh * 3600 + mm * 60 + ss - offset) * 1_000_000_000 + frac)
}

/// A Go-style duration (`300ms`, `1.5s`, `1h30m`) in nanoseconds.
pub fn parse_duration(s: &str) -> Option<i64> {
    if s == "0" {
        return Some(0);
    }
    let mut total = 0f64;
    let mut rest = s;
    if rest.is_empty() {
        return None;
    }
    while !rest.is_empty() {
        let num_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let v: f64 = rest[..num_len].parse().ok()?;
        rest = &rest[num_len..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let mult = match &rest[..unit_len] {
            "ns" => 1.0,
            "us" | "µs" => 1e3,
            "ms" => 1e6,
            "s" => 1e9,
            "m" => 60e9,
            "h" => 3600e9,
            _ => return None,
        };
        total += v * mult;
        rest = &rest[unit_len..];
    }
    Some(total as i64)
}

/// Docker's `--since`/`--until` value: RFC 3339, Unix seconds (`1700000000.5`) or a
/// duration before `now`.
pub fn parse_point(s: &str, now: i64) -> Option<i64> {
    if let Some(t) = parse_rfc3339(s) {
        return Some(t);
    }
    if s.chars().all(|c| c.is_ascii_digit() || c == '.') && !s.is_empty() {
        let v: f64 = s.parse().ok()?;
        return Some((v * 1e9) as i64);
    }
    parse_duration(s).map(|d| now - d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let t = 1_795_000_000_123_456_789;
        let s = rfc3339_nanos(t);
        assert_eq!(parse_rfc3339(&s), Some(t));
        assert_eq!(
            parse_rfc3339("1970-01-01T01:00:00+01:00"),
            Some(0),
            "offsets apply"
        );
    }

    #[test]
    fn durations_and_points() {
        assert_eq!(parse_duration("1h30m"), Some(5400 * 1_000_000_000));
        assert_eq!(parse_duration("300ms"), Some(300_000_000));
        assert_eq!(parse_duration("abc"), None);
        assert_eq!(parse_point("10s", 20_000_000_000), Some(10_000_000_000));
        assert_eq!(parse_point("5", 0), Some(5_000_000_000));
    }
}
