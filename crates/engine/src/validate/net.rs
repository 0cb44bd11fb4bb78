//! The network settings of a container as Docker's CLI and daemon read and check them:
//! DNS servers, extra hosts, links, exposed ports.

use super::invalid;
use crate::config::Link;
use crate::Result;

/// A `--dns` server (`Dns[]`): an IP address.
pub fn dns_server(d: &str) -> Result<()> {
    d.parse::<std::net::IpAddr>()
        .map(|_| ())
        .map_err(|_| invalid(format!("{d} is not an ip address")))
}

/// The address word of `--add-host NAME:host-gateway`.
pub const HOST_GATEWAY: &str = "host-gateway";

/// An `--add-host` entry (`ExtraHosts[]`): `NAME:IP` or `NAME=IP`, dockerd's
/// `ValidateExtraHost` and its words. `host-gateway` is the host as the container reaches
/// it (see [`crate::rootfs::write_etc_files`]).
pub fn extra_host(h: &str) -> Result<()> {
    let (_, addr) = h
        .split_once('=')
        .or_else(|| h.split_once(':'))
        .filter(|(n, _)| !n.is_empty() && !n.contains(':'))
        .ok_or_else(|| invalid(format!("bad format for add-host: {h:?}")))?;
    if addr == HOST_GATEWAY {
        return Ok(());
    }
    let bare = addr
        .strip_prefix('[')
        .and_then(|a| a.strip_suffix(']'))
        .unwrap_or(addr);
    bare.parse::<std::net::IpAddr>()
        .map(|_| ())
        .map_err(|_| invalid(format!("invalid IP address in add-host: {addr:?}")))
}

/// `--link NAME[:ALIAS]` (`Links[]`, Docker's `ParseLink`, including the `/name:/c/alias`
/// form a stored HostConfig has).
pub fn link(v: &str) -> Result<Link> {
    if v.is_empty() {
        return Err(invalid("empty string specified for links"));
    }
    let parts: Vec<&str> = v.split(':').collect();
    let (name, alias) = match parts.as_slice() {
        [n] => (*n, *n),
        [n, a] if n.starts_with('/') => (&n[1..], a.rsplit('/').next().unwrap_or(a)),
        [n, a] => (*n, *a),
        _ => return Err(invalid(format!("bad format for links: {v}"))),
    };
    Ok(Link {
        container: name.to_string(),
        alias: alias.to_string(),
    })
}

/// `--expose 80`, `--expose 7000-7010/udp` (and the keys of `ExposedPorts`): the
/// `PORT/PROTO` keys, Docker's grammar and words.
pub fn exposed_ports(list: &[String]) -> Result<Vec<String>> {
    let mut out = Vec::new();
    for e in list {
        if e.contains(':') {
            return Err(invalid(format!("invalid port format for --expose: {e}")));
        }
        let (range, proto) = e.split_once('/').unwrap_or((e.as_str(), "tcp"));
        let proto = if proto.is_empty() { "tcp" } else { proto };
        let num = |p: &str| -> Result<u16> {
            p.parse::<u16>().map_err(|_| {
                let why = if !p.is_empty() && p.chars().all(|c| c.is_ascii_digit()) {
                    "value out of range"
                } else {
                    "invalid syntax"
                };
                invalid(format!(
                    "invalid range format for --expose: {e}, error: strconv.ParseUint: parsing {p:?}: {why}"
                ))
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
            return Err(invalid(format!(
                "invalid range format for --expose: {e}, error: invalid range specified for container port: {range}"
            )));
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn network_values_with_dockers_words() {
        assert!(dns_server("1.1.1.1").is_ok() && dns_server("::1").is_ok());
        assert_eq!(
            dns_server("x").expect_err("bad").to_string(),
            "x is not an ip address"
        );
        for ok in ["h:1.2.3.4", "h=1.2.3.4", "h:::1", "h=[::1]"] {
            assert!(extra_host(ok).is_ok(), "{ok}");
        }
        assert_eq!(
            extra_host("bad").expect_err("bad").to_string(),
            "bad format for add-host: \"bad\""
        );
        assert_eq!(
            extra_host("h:x").expect_err("bad").to_string(),
            "invalid IP address in add-host: \"x\""
        );
        assert_eq!(
            exposed_ports(&["80".into(), "7000-7001/udp".into(), "80/tcp".into()]).expect("ports"),
            ["80/tcp", "7000/udp", "7001/udp"]
        );
        assert_eq!(
            exposed_ports(&["x".into()]).expect_err("bad").to_string(),
            "invalid range format for --expose: x, error: strconv.ParseUint: parsing \"x\": invalid syntax"
        );
        assert!(exposed_ports(&["1:2".into()]).is_err());
        let l = link("web:alias").expect("link");
        assert_eq!((l.container.as_str(), l.alias.as_str()), ("web", "alias"));
        let l = link("/web:/me/alias").expect("stored form");
        assert_eq!((l.container.as_str(), l.alias.as_str()), ("web", "alias"));
        assert_eq!(link("web").expect("link").alias, "web");
        assert!(link("a:b:c").is_err());
    }
}
