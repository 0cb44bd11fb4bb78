//! EXPOSE port specs (`80`, `80/udp`, `8000-8010/tcp`) as BuildKit normalizes them.

/// What one spec produced: ports as `N/proto`, and whether it used an upper-case protocol
/// or an IP/host part (lint findings).
pub(crate) struct PortSpec {
    pub ports: Vec<String>,
    pub proto_not_lower: bool,
    pub has_host_part: bool,
}

fn port_number(raw: &str) -> Result<u32, String> {
    if raw.is_empty() {
        return Err("value is empty".into());
    }
    let digits = raw.strip_prefix(['+', '-']).unwrap_or(raw);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err("invalid syntax".into());
    }
    match raw.parse::<i64>() {
        Ok(n) if (0..=65535).contains(&n) => Ok(n as u32),
        _ => Err("value out of range (0–65535)".into()),
    }
}

fn port_range(ports: &str) -> Result<(u32, u32), String> {
    if ports.is_empty() {
        return Err("empty string specified for ports".into());
    }
    let (start, end) = match ports.split_once('-') {
        Some((s, e)) => (s, Some(e)),
        None => (ports, None),
    };
    let s = port_number(start).map_err(|e| format!("invalid start port '{start}': {e}"))?;
    match end {
        None => Ok((s, s)),
        Some(e) if e == start => Ok((s, s)),
        Some(e) => {
            let en = port_number(e).map_err(|err| format!("invalid end port '{e}': {err}"))?;
            if en < s {
                return Err(format!("invalid port range: {ports}"));
            }
            Ok((s, en))
        }
    }
}

pub(crate) fn parse_port(raw: &str) -> Result<PortSpec, String> {
    let parts: Vec<&str> = raw.split(':').collect();
    let (ip, host_port, container) = match parts.len() {
        1 => ("".to_string(), "", parts[0]),
        2 => ("".to_string(), parts[0], parts[1]),
        n => (parts[..n - 2].join(":"), parts[n - 2], parts[n - 1]),
    };
    let (port, proto) = match container.split_once('/') {
        Some((p, pr)) => (p, pr),
        None => (container, ""),
    };
    if port.is_empty() {
        return Err(format!(
            "invalid port: {}: no port specified",
            crate::quote::go_quote(raw)
        ));
    }
    let proto = match proto.to_lowercase().as_str() {
        "" => "tcp".to_string(),
        "tcp" | "udp" | "sctp" => proto.to_string(),
        _ => {
            return Err(format!(
                "invalid port: {}: invalid proto: {proto}",
                crate::quote::go_quote(raw)
            ))
        }
    };
    let proto_not_lower = proto != proto.to_lowercase();
    let has_host_part = !ip.is_empty() || !host_port.is_empty();
    let ip = ip
        .strip_prefix('[')
        .and_then(|s| s.strip_suffix(']'))
        .map(str::to_string)
        .unwrap_or(ip);
    if !ip.is_empty() && ip.parse::<std::net::IpAddr>().is_err() {
        return Err(format!("invalid IP address: {ip}"));
    }
    let (start, end) = port_range(port).map_err(|_| format!("invalid containerPort: {port}"))?;
    if !host_port.is_empty() {
        let (hs, he) =
            port_range(host_port).map_err(|_| format!("invalid hostPort: {host_port}"))?;
        if end - start != he - hs && end != start {
            return Err(format!(
                "invalid ranges specified for container and host Ports: {port} and {host_port}"
            ));
        }
    }
    let proto = proto.to_lowercase();
    Ok(PortSpec {
        ports: (start..=end).map(|p| format!("{p}/{proto}")).collect(),
        proto_not_lower,
        has_host_part,
    })
}

#[cfg(test)]
mod tests {
    use super::parse_port;

    #[test]
    fn ports() {
        assert_eq!(
            parse_port("80").expect("the test case is valid").ports,
            vec!["80/tcp"]
        );
        assert_eq!(
            parse_port("53/udp").expect("the test case is valid").ports,
            vec!["53/udp"]
        );
        assert_eq!(
            parse_port("8000-8002")
                .expect("the test case is valid")
                .ports,
            vec!["8000/tcp", "8001/tcp", "8002/tcp"]
        );
        let s = parse_port("80/TCP").expect("the test case is valid");
        assert!(s.proto_not_lower);
        assert_eq!(s.ports, vec!["80/tcp"]);
        let s = parse_port("127.0.0.1:8080:80").expect("the test case is valid");
        assert!(s.has_host_part);
        assert_eq!(s.ports, vec!["80/tcp"]);
        assert!(parse_port("80/xyz").is_err());
        assert!(parse_port("99999").is_err());
        assert!(parse_port("/tcp").is_err());
    }
}
