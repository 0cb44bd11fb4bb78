//! Go's `time.ParseDuration`, which HEALTHCHECK's interval flags use.

use crate::quote::go_quote;

/// Nanoseconds of a Go duration string (`1m30s`, `1.5h`, `300ms`, `0`).
pub fn parse_go_duration(s: &str) -> Result<i64, String> {
    let invalid = || format!("time: invalid duration {}", go_quote(s));
    let mut rest = s;
    let mut neg = false;
    if let Some(r) = rest.strip_prefix('-') {
        neg = true;
        rest = r;
    } else if let Some(r) = rest.strip_prefix('+') {
        rest = r;
    }
    if rest == "0" {
        return Ok(0);
    }
    if rest.is_empty() {
        return Err(invalid());
    }
    let mut total: u128 = 0;
    while !rest.is_empty() {
        let int_len = rest.bytes().take_while(u8::is_ascii_digit).count();
        let int_part = &rest[..int_len];
        rest = &rest[int_len..];
        let mut frac_part = "";
        if let Some(r) = rest.strip_prefix('.') {
            let frac_len = r.bytes().take_while(u8::is_ascii_digit).count();
            frac_part = &r[..frac_len];
            rest = &r[frac_len..];
            if int_len == 0 && frac_len == 0 {
                return Err(invalid());
            }
        } else if int_len == 0 {
            return Err(invalid());
        }
        let unit_len = rest
            .char_indices()
            .find(|(_, c)| *c == '.' || c.is_ascii_digit())
            .map(|(i, _)| i)
            .unwrap_or(rest.len());
        let unit = &rest[..unit_len];
        rest = &rest[unit_len..];
        if unit.is_empty() {
            return Err(format!("time: missing unit in duration {}", go_quote(s)));
        }
        let scale: u128 = match unit {
            "ns" => 1,
            "us" | "\u{b5}s" | "\u{3bc}s" => 1_000,
            "ms" => 1_000_000,
            "s" => 1_000_000_000,
            "m" => 60_000_000_000,
            "h" => 3_600_000_000_000,
            _ => {
                return Err(format!(
                    "time: unknown unit {} in duration {}",
                    go_quote(unit),
                    go_quote(s)
                ))
            }
        };
        let int: u128 = if int_part.is_empty() {
            0
        } else {
            int_part.parse().map_err(|_| invalid())?
        };
        let mut value = int.checked_mul(scale).ok_or_else(invalid)?;
        if !frac_part.is_empty() {
            let mut f: u128 = 0;
            let mut div: u128 = 1;
            // At most 18 digits, as Go's leadingFraction keeps within an int64 (found by
            // fuzzing: 30 digits overflowed here).
            for d in frac_part.bytes().take(18) {
                f = f * 10 + u128::from(d - b'0');
                div *= 10;
            }
            // Go's arithmetic: float64(f) * (float64(unit) / scale).
            let frac = (f as f64 * (scale as f64 / div as f64)) as u128;
            value = value.checked_add(frac).ok_or_else(invalid)?;
        }
        total = total.checked_add(value).ok_or_else(invalid)?;
        if total > i64::MAX as u128 + u128::from(neg) {
            return Err(invalid());
        }
    }
    let total = i128::try_from(total).map_err(|_| invalid())?;
    let signed = if neg { -total } else { total };
    i64::try_from(signed).map_err(|_| invalid())
}

#[cfg(test)]
mod tests {
    use super::parse_go_duration as p;

    #[test]
    fn go_durations() {
        assert_eq!(p("0"), Ok(0));
        assert_eq!(p("30s"), Ok(30_000_000_000));
        assert_eq!(p("1m30s"), Ok(90_000_000_000));
        assert_eq!(p("1.5h"), Ok(5_400_000_000_000));
        assert_eq!(p("300ms"), Ok(300_000_000));
        assert_eq!(p("2us"), Ok(2_000));
        assert_eq!(p("-1s"), Ok(-1_000_000_000));
        // A long fraction of a large unit (a fuzzing find: it overflowed).
        let long = p("1.666666666666666666666666666666666h").expect("parses");
        assert!((long - 6_000_000_000_000).abs() <= 1, "{long}");
        assert_eq!(p(".5s"), Ok(500_000_000));
        assert_eq!(p("1"), Err("time: missing unit in duration \"1\"".into()));
        assert_eq!(
            p("1d"),
            Err("time: unknown unit \"d\" in duration \"1d\"".into())
        );
        assert_eq!(p(""), Err("time: invalid duration \"\"".into()));
        assert_eq!(p("s"), Err("time: invalid duration \"s\"".into()));
        assert!(p("9999999999h").is_err());
    }
}
