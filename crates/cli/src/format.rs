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
/// (The status words that used it are the engine's now; its checks stay.)
#[cfg(test)]
pub fn parse_rfc3339(s: &str) -> Option<i64> {
    engine::time::parse_rfc3339(s).map(|n| n.div_euclid(1_000_000_000))
}

pub use engine::time::ago;
#[cfg(test)]
use engine::time::human_duration;

/// Print rows as docker's tables are: left-aligned, each column (with its three spaces)
/// at least 10 wide.
pub fn table(header: &[&str], rows: &[Vec<String>]) {
    // docker's formatter: Go's tabwriter with minimum width 10 and padding 3.
    table_min(header, rows, 10)
}

/// [`table`] whose columns (with their three spaces) are at least `min` wide, as Go's
/// tabwriter with that minimum width prints them (`top` uses 20).
pub fn table_min(header: &[&str], rows: &[Vec<String>], min: usize) {
    let mut w: Vec<usize> = header.iter().map(|h| h.len()).collect();
    for r in rows {
        for (i, c) in r.iter().enumerate() {
            if i < w.len() {
                w[i] = w[i].max(c.chars().count());
            }
        }
    }
    for c in &mut w {
        *c = (*c).max(min.saturating_sub(3));
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
        assert_eq!(
            parse_rfc3339("2026-11-22T06:00:00+01:00"),
            Some(1_795_323_600)
        );
        assert_eq!(parse_rfc3339("1969-12-31T23:59:59.5Z"), Some(-1));
        assert_eq!(parse_rfc3339("Created"), None);
    }

    #[test]
    fn durations_like_docker() {
        assert_eq!(human_duration(0), "Less than a second");
        assert_eq!(human_duration(45), "45 seconds");
        assert_eq!(human_duration(90), "About a minute");
        assert_eq!(human_duration(4000), "About an hour");
        assert_eq!(human_duration(3 * 86400), "3 days");
        assert_eq!(ago("not a time"), "not a time");
        assert!(ago("1970-01-01T00:00:00Z").ends_with(" years ago"));
    }
}
