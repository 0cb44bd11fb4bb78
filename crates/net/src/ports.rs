//! Docker's `-p` grammar: `[IP:][HOST:]CTR[/PROTO]`, with ranges (`8000-8001:80-81`).

use std::net::Ipv4Addr;

use serde::{Deserialize, Serialize};

use crate::{Error, Result};

/// A published port's transport (stored as `tcp` / `udp`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Protocol {
    /// TCP, the default.
    #[default]
    Tcp,
    /// UDP.
    Udp,
}

impl Protocol {
    /// `tcp` or `udp`.
    pub fn as_str(self) -> &'static str {
        match self {
            Protocol::Tcp => "tcp",
            Protocol::Udp => "udp",
        }
    }

    /// The IP protocol number (nftables' `meta l4proto`).
    pub fn number(self) -> u8 {
        match self {
            Protocol::Tcp => 6,
            Protocol::Udp => 17,
        }
    }

    /// Docker's names, any case; None for anything else (sctp is not supported).
    pub fn parse(s: &str) -> Option<Protocol> {
        match s.to_ascii_lowercase().as_str() {
            "tcp" => Some(Protocol::Tcp),
            "udp" => Some(Protocol::Udp),
            _ => None,
        }
    }
}

impl std::fmt::Display for Protocol {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One published port. `host_port` 0 means "choose a free one".
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PortBinding {
    /// Host address (`None`: every address).
    pub host_ip: Option<Ipv4Addr>,
    /// Host port (0 until chosen).
    pub host_port: u16,
    /// Container port.
    pub container_port: u16,
    /// Its transport.
    pub proto: Protocol,
}

impl PortBinding {
    /// `0.0.0.0:8080->80/tcp`, as `docker ps` shows it.
    pub fn display(&self) -> String {
        format!(
            "{}:{}->{}/{}",
            self.host_ip.unwrap_or(Ipv4Addr::UNSPECIFIED),
            self.host_port,
            self.container_port,
            self.proto
        )
    }
}

fn range(s: &str, what: &str, spec: &str) -> Result<(u16, u16)> {
    let bad = || Error::Invalid(format!("invalid {what} in port spec {spec:?}"));
    let (a, b) = s.split_once('-').unwrap_or((s, s));
    let (a, b): (u16, u16) = (a.parse().map_err(|_| bad())?, b.parse().map_err(|_| bad())?);
    if b < a || (a == 0 && what == "container port") {
        return Err(bad());
    }
    Ok((a, b))
}

/// Parse one `-p` value into bindings (one per port of a range).
pub fn parse(spec: &str) -> Result<Vec<PortBinding>> {
    let (rest, proto) = match spec.rsplit_once('/') {
        Some((r, p)) => (
            r,
            Protocol::parse(p).ok_or_else(|| {
                Error::Invalid(format!(
                    "invalid protocol {p:?} in port spec {spec:?} (tcp or udp)"
                ))
            })?,
        ),
        None => (spec, Protocol::Tcp),
    };
    if rest.starts_with('[') {
        return Err(Error::Invalid(format!(
            "port spec {spec:?}: IPv6 host addresses are not supported (quai publishes on IPv4)"
        )));
    }
    let parts: Vec<&str> = rest.split(':').collect();
    let (ip, host, ctr) = match parts.as_slice() {
        [c] => (None, "", *c),
        [h, c] => (None, *h, *c),
        [i, h, c] => (Some(*i), *h, *c),
        _ => return Err(Error::Invalid(format!("invalid port spec {spec:?}"))),
    };
    let host_ip = match ip {
        None | Some("") | Some("0.0.0.0") => None,
        Some(i) => Some(
            i.trim_matches(|c| c == '[' || c == ']')
                .parse::<Ipv4Addr>()
                .map_err(|_| {
                    Error::Invalid(format!("invalid IP address {i:?} in port spec {spec:?}"))
                })?,
        ),
    };
    let (c0, c1) = range(ctr, "container port", spec)?;
    let hosts = if host.is_empty() {
        None
    } else {
        Some(range(host, "host port", spec)?)
    };
    if let Some((h0, h1)) = hosts {
        if h1 - h0 != c1 - c0 && !(h0 != h1 && c0 == c1) {
            return Err(Error::Invalid(format!(
                "invalid port spec {spec:?}: host and container ranges differ in size"
            )));
        }
    }
    Ok((c0..=c1)
        .enumerate()
        .map(|(i, c)| PortBinding {
            host_ip,
            host_port: hosts.map_or(0, |(h0, _)| h0 + i as u16),
            container_port: c,
            proto,
        })
        .collect())
}

/// A free host port for `proto` (the kernel's choice from its ephemeral range, as Docker
/// takes one from the same range).
pub fn free_port(proto: Protocol, ip: Option<Ipv4Addr>) -> Result<u16> {
    let addr = std::net::SocketAddr::from((ip.unwrap_or(Ipv4Addr::UNSPECIFIED), 0));
    let port = if proto == Protocol::Udp {
        std::net::UdpSocket::bind(addr).and_then(|s| s.local_addr())
    } else {
        std::net::TcpListener::bind(addr).and_then(|s| s.local_addr())
    };
    port.map(|a| a.port()).map_err(|e| Error::Io {
        op: "find a free port on",
        path: addr.to_string().into(),
        source: e,
    })
}

/// Whether `port` can be bound now (nobody on the host listens on it).
pub fn free_port_is(proto: Protocol, ip: Option<Ipv4Addr>, port: u16) -> Result<()> {
    let addr = std::net::SocketAddr::from((ip.unwrap_or(Ipv4Addr::UNSPECIFIED), port));
    let r = if proto == Protocol::Udp {
        std::net::UdpSocket::bind(addr).map(drop)
    } else {
        std::net::TcpListener::bind(addr).map(drop)
    };
    r.map_err(|e| Error::Io {
        op: "bind",
        path: addr.to_string().into(),
        source: e,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn docker_port_specs() {
        let p = parse("8080:80").expect("ok");
        assert_eq!(p[0].display(), "0.0.0.0:8080->80/tcp");
        let p = parse("127.0.0.1:8081:80/udp").expect("ok");
        assert_eq!(p[0].display(), "127.0.0.1:8081->80/udp");
        let p = parse("127.0.0.1::80").expect("ok");
        assert_eq!(
            (p[0].host_port, p[0].host_ip),
            (0, Some(Ipv4Addr::LOCALHOST))
        );
        let p = parse("80").expect("ok");
        assert_eq!(p[0].host_port, 0);
        let p = parse("9000-9002:90-92").expect("ok");
        assert_eq!(
            p.iter()
                .map(|b| (b.host_port, b.container_port))
                .collect::<Vec<_>>(),
            vec![(9000, 90), (9001, 91), (9002, 92)]
        );
        assert!(parse("9000-9001:90-92").is_err());
        assert!(parse("80/sctp").is_err());
        assert!(parse("x:80").is_err());
        assert!(parse("1.2.3:80:80").is_err());
        let e = parse("[::1]:80:80").expect_err("IPv6");
        assert!(e.to_string().contains("IPv6"), "{e}");
    }
}
