//! Docker's flag values as its CLI (pflag and docker's opts) reads them, with their
//! words when they do not parse: booleans, integers, sizes, I/O limits, label files
//! (exposed ports, links, mounts and hosts are the engine's: `engine::validate`,
//! `engine::mounts`, shared with the Docker API service).

use std::path::Path;

use engine::config::ThrottleDevice;

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
