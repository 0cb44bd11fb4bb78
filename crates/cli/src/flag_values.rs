//! Docker's flag values as its CLI (pflag and docker's opts) reads them, with their
//! words when they do not parse: booleans, integers, sizes, I/O limits, exposed ports,
//! links, detach keys, label files.

use std::path::Path;

use anyhow::bail;
use engine::config::{Link, ThrottleDevice};

/// A boolean flag's value as Go's `strconv.ParseBool` reads it (docker's `--rm=false`,
/// `-d=0`).
pub(crate) fn go_bool(s: &str) -> Result<bool, String> {
    match s {
        "1" | "t" | "T" | "true" | "TRUE" | "True" => Ok(true),
        "0" | "f" | "F" | "false" | "FALSE" | "False" => Ok(false),
        _ => Err(format!("strconv.ParseBool: parsing {s:?}: invalid syntax")),
    }
}

/// A flag's value that does not parse, in pflag's words.
pub(crate) fn bad_arg(flag: &str, v: &str, why: impl std::fmt::Display) -> anyhow::Error {
    anyhow::anyhow!("invalid argument {v:?} for \"--{flag}\" flag: {why}")
}

/// An integer flag, with Go's `strconv` words when it does not parse.
pub(crate) fn int_flag<T: std::str::FromStr>(
    flag: &str,
    v: &Option<String>,
) -> anyhow::Result<Option<T>> {
    let Some(s) = v else { return Ok(None) };
    s.parse().map(Some).map_err(|_| {
        let digits = s.strip_prefix('-').unwrap_or(s);
        let why = if !digits.is_empty() && digits.chars().all(|c| c.is_ascii_digit()) {
            "value out of range"
        } else {
            "invalid syntax"
        };
        let func = if std::any::type_name::<T>().starts_with('u') {
            "ParseUint"
        } else {
            "ParseInt"
        };
        bad_arg(flag, s, format!("strconv.{func}: parsing {s:?}: {why}"))
    })
}

/// A size flag (`64m`), Docker's `MemBytes`.
pub(crate) fn size_flag(flag: &str, v: &Option<String>) -> anyhow::Result<Option<i64>> {
    let Some(s) = v else { return Ok(None) };
    engine::lifecycle::parse_bytes(s)
        .map(Some)
        .ok_or_else(|| bad_arg(flag, s, format!("invalid size: '{s}'")))
}

/// `--device-read-bps /dev/sda:1mb` and the other three: Docker's throttle grammar.
pub(crate) fn throttle_flag(
    flag: &str,
    list: &[String],
    bps: bool,
) -> anyhow::Result<Vec<ThrottleDevice>> {
    let mut out = Vec::new();
    for v in list {
        let (path, rate) = v
            .split_once(':')
            .ok_or_else(|| bad_arg(flag, v, format!("bad format: {v}")))?;
        if !path.starts_with("/dev/") {
            return Err(bad_arg(flag, v, format!("bad format for device path: {v}")));
        }
        let rate = if bps {
            engine::lifecycle::parse_bytes(rate).and_then(|r| u64::try_from(r).ok())
        } else {
            rate.parse::<u64>().ok()
        };
        let rate = rate.ok_or_else(|| {
            let unit = if bps {
                "[<unit>]. Number must be a positive integer. Unit is optional and can be kb, mb, or gb"
            } else {
                ". Number must be a positive integer"
            };
            bad_arg(
                flag,
                v,
                format!("invalid rate for device: {v}. The correct format is <device-path>:<number>{unit}"),
            )
        })?;
        out.push(ThrottleDevice {
            path: path.to_string(),
            rate,
        });
    }
    Ok(out)
}

/// `--expose 80`, `--expose 7000-7010/udp`: the `PORT/PROTO` keys, Docker's grammar.
pub(crate) fn expose_flag(list: &[String]) -> anyhow::Result<Vec<String>> {
    let mut out = Vec::new();
    for e in list {
        if e.contains(':') {
            bail!("invalid port format for --expose: {e}");
        }
        let (range, proto) = e.split_once('/').unwrap_or((e.as_str(), "tcp"));
        let proto = if proto.is_empty() { "tcp" } else { proto };
        let num = |p: &str| -> anyhow::Result<u16> {
            p.parse::<u16>().map_err(|_| {
                let why = if !p.is_empty() && p.chars().all(|c| c.is_ascii_digit()) {
                    "value out of range"
                } else {
                    "invalid syntax"
                };
                anyhow::anyhow!(
                    "invalid range format for --expose: {e}, error: strconv.ParseUint: parsing {p:?}: {why}"
                )
            })
        };
        let (lo, hi) = match range.split_once('-') {
            Some((a, b)) => (num(a)?, num(b)?),
            None => {
                let p = num(range)?;
                (p, p)
            }
        };
        if hi < lo {
            bail!("invalid range format for --expose: {e}, error: invalid range specified for container port: {range}");
        }
        for p in lo..=hi {
            let k = format!("{p}/{proto}");
            if !out.contains(&k) {
                out.push(k);
            }
        }
    }
    Ok(out)
}

/// `--link NAME[:ALIAS]` (Docker's `ParseLink`, including the `/name:/c/alias` form a
/// stored HostConfig has).
pub(crate) fn link_flag(v: &str) -> anyhow::Result<Link> {
    if v.is_empty() {
        bail!("empty string specified for links");
    }
    let parts: Vec<&str> = v.split(':').collect();
    let (name, alias) = match parts.as_slice() {
        [n] => (*n, *n),
        [n, a] if n.starts_with('/') => (&n[1..], a.rsplit('/').next().unwrap_or(a)),
        [n, a] => (*n, *a),
        _ => bail!("bad format for links: {v}"),
    };
    Ok(Link {
        container: name.to_string(),
        alias: alias.to_string(),
    })
}

/// `--label-file`: `key=value` lines (`#` comments and blank lines skipped).
pub(crate) fn label_file(p: &Path) -> anyhow::Result<Vec<String>> {
    let text = std::fs::read_to_string(p)
        .map_err(|e| anyhow::anyhow!("open {}: {}", p.display(), crate::common::go_io(&e)))?;
    Ok(text
        .lines()
        .map(str::trim_start)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(str::to_string)
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flag_values_with_dockers_words() {
        assert_eq!(
            expose_flag(&["80".into(), "7000-7001/udp".into(), "80/tcp".into()]).expect("ports"),
            ["80/tcp", "7000/udp", "7001/udp"]
        );
        assert_eq!(
            expose_flag(&["x".into()]).expect_err("bad").to_string(),
            "invalid range format for --expose: x, error: strconv.ParseUint: parsing \"x\": invalid syntax"
        );
        assert!(expose_flag(&["1:2".into()]).is_err());
        let t = throttle_flag("device-read-bps", &["/dev/sda:1mb".into()], true).expect("bps");
        assert_eq!((t[0].path.as_str(), t[0].rate), ("/dev/sda", 1 << 20));
        assert_eq!(
            throttle_flag("device-read-bps", &["bogus".into()], true)
                .expect_err("bad")
                .to_string(),
            "invalid argument \"bogus\" for \"--device-read-bps\" flag: bad format: bogus"
        );
        assert!(throttle_flag("device-read-iops", &["/dev/sda:1mb".into()], false).is_err());
        assert!(throttle_flag("device-read-iops", &["sda:1".into()], false)
            .expect_err("path")
            .to_string()
            .contains("bad format for device path"));
        let l = link_flag("web:alias").expect("link");
        assert_eq!((l.container.as_str(), l.alias.as_str()), ("web", "alias"));
        let l = link_flag("/web:/me/alias").expect("stored form");
        assert_eq!((l.container.as_str(), l.alias.as_str()), ("web", "alias"));
        assert_eq!(link_flag("web").expect("link").alias, "web");
        assert!(link_flag("a:b:c").is_err());

        assert_eq!(
            int_flag::<u16>("blkio-weight", &Some("x".into()))
                .expect_err("bad")
                .to_string(),
            "invalid argument \"x\" for \"--blkio-weight\" flag: strconv.ParseUint: parsing \"x\": invalid syntax"
        );
        assert_eq!(
            size_flag("shm-size", &Some("-1".into()))
                .expect_err("bad")
                .to_string(),
            "invalid argument \"-1\" for \"--shm-size\" flag: invalid size: '-1'"
        );
    }
}
