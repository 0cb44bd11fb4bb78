//! Docker-style human output: sizes, relative times, tables.

/// Docker's sizes: decimal units, three significant digits (`2.05MB`, `918kB`).
pub fn human_size(bytes: u64) -> String {
    let units = ["B", "kB", "MB", "GB", "TB", "PB"];
    let mut v = bytes as f64;
    let mut i = 0;
    while v >= 1000.0 && i < units.len() - 1 {
        v /= 1000.0;
        i += 1;
    }
    let s = if v >= 100.0 || i == 0 {
        format!("{v:.0}")
    } else if v >= 10.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    };
    let s = if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    };
    format!("{s}{}", units[i])
}

/// Seconds since the epoch of an RFC 3339 time (`2026-11-22T05:00:00Z`, fractions ok).
pub fn parse_rfc3339(s: &str) -> Option<i64> {
    engine::time::parse_rfc3339(s).map(|n| n.div_euclid(1_000_000_000))
}

/// `3 minutes ago`, `2 hours ago`, `About an hour ago`, like Docker.
pub fn ago(rfc3339: &str) -> String {
    let Some(t) = parse_rfc3339(rfc3339) else {
        return rfc3339.to_string();
    };
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(t);
    format!("{} ago", human_duration((now - t).max(0)))
}

/// Docker's human durations (`Less than a second`, `5 seconds`, `About an hour`).
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

/// Print rows as a left-aligned table with three spaces between columns.
pub fn table(header: &[&str], rows: &[Vec<String>]) {
    let mut w: Vec<usize> = header.iter().map(|h| h.len()).collect();
    for r in rows {
        for (i, c) in r.iter().enumerate() {
            if i < w.len() {
                w[i] = w[i].max(c.chars().count());
            }
        }
    }
    let line = |cells: Vec<String>| {
        let n = cells.len();
        let mut s = String::new();
        for (i, c) in cells.into_iter().enumerate() {
            if i + 1 == n {
                s.push_str(&c);
            } else {
                s.push_str(&format!("{c:<width$}   ", width = w[i]));
            }
        }
        println!("{}", s.trim_end());
    };
    line(header.iter().map(|h| h.to_string()).collect());
    for r in rows {
        line(r.clone());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_like_docker() {
        assert_eq!(human_size(0), "0B");
        assert_eq!(human_size(999), "999B");
        assert_eq!(human_size(2_050_000), "2.05MB");
        assert_eq!(human_size(4_400_000), "4.4MB");
        assert_eq!(human_size(918_000), "918kB");
        assert_eq!(human_size(12_300_000_000), "12.3GB");
    }

    #[test]
    fn rfc3339() {
        assert_eq!(parse_rfc3339("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(
            parse_rfc3339("2026-11-22T05:00:00.123Z"),
            Some(1_795_323_600)
        );
    }
}
