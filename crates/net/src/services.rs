//! The cluster's Services in quai's table (kube-proxy's job, as its nftables mode does
//! it): a verdict map from a service's cluster IP, protocol and port (and one from a
//! node port) to a chain per service port that DNATs to one of its ready endpoints at
//! random. Applied whole, in one nft transaction, so a change is atomic.

use std::fmt::Write as _;
use std::net::Ipv4Addr;

use crate::ports::Protocol;
use crate::Result;

/// One port of one Service and where its traffic goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServicePort {
    /// `NAMESPACE/NAME:PORTNAME`, for the chain's name and messages.
    pub key: String,
    pub cluster_ip: Ipv4Addr,
    pub protocol: Protocol,
    pub port: u16,
    pub node_port: Option<u16>,
    /// Ready endpoints (address, target port).
    pub backends: Vec<(Ipv4Addr, u16)>,
    /// `sessionAffinity: ClientIP`: a client keeps its endpoint this many seconds.
    pub affinity_secs: Option<u32>,
}

fn chain_name(key: &str) -> String {
    // FNV-1a 32 of the key: short, stable, and only [a-z0-9-].
    let mut h: u32 = 0x811c_9dc5;
    for b in key.bytes() {
        h ^= u32::from(b);
        h = h.wrapping_mul(0x0100_0193);
    }
    format!("svc-{h:08x}")
}

/// The chains (and affinity sets) `ports` need: per port its chain, and with session
/// affinity a chain and a set per endpoint.
fn objects(ports: &[ServicePort]) -> (Vec<String>, Vec<String>) {
    let (mut chains, mut sets) = (Vec::new(), Vec::new());
    for p in ports.iter().filter(|p| !p.backends.is_empty()) {
        let c = chain_name(&p.key);
        if p.affinity_secs.is_some() {
            for i in 0..p.backends.len() {
                chains.push(format!("{c}-{i}"));
                sets.push(format!("aff{}-{i}", &c[3..]));
            }
        }
        chains.push(c);
    }
    (chains, sets)
}

/// The nft script that makes quai's service maps and chains exactly `ports` (the
/// previous service chains and affinity sets named in `old` are removed).
pub fn script(ports: &[ServicePort], old: &[String], old_sets: &[String]) -> String {
    let mut s = String::new();
    s.push_str("add map ip quai svc { type ipv4_addr . inet_proto . inet_service : verdict; }\n");
    s.push_str("add map ip quai svc_nodeport { type inet_proto . inet_service : verdict; }\n");
    s.push_str("flush map ip quai svc\nflush map ip quai svc_nodeport\n");
    let (new, sets) = objects(ports);
    // Rules go first (chains kept are emptied), then what no rule refers to any more.
    for c in old.iter().filter(|c| new.contains(c)) {
        let _ = writeln!(s, "flush chain ip quai {c}");
    }
    for c in old.iter().filter(|c| !new.contains(c)) {
        let _ = writeln!(s, "delete chain ip quai {c}");
    }
    for set in old_sets.iter().filter(|x| !sets.contains(x)) {
        let _ = writeln!(s, "delete set ip quai {set}");
    }
    for c in &new {
        let _ = writeln!(s, "add chain ip quai {c}");
    }
    for p in ports.iter().filter(|p| !p.backends.is_empty()) {
        let c = chain_name(&p.key);
        let proto = p.protocol.as_str();
        let n = p.backends.len();
        match p.affinity_secs {
            None => {
                let targets: Vec<String> = p
                    .backends
                    .iter()
                    .enumerate()
                    .map(|(i, (ip, port))| format!("{i} : {ip} . {port}"))
                    .collect();
                let _ = writeln!(
                    s,
                    "add rule ip quai {c} meta l4proto {proto} dnat ip to numgen random mod {n} map {{ {} }}",
                    targets.join(", ")
                );
            }
            Some(secs) => {
                // kube-proxy's nftables way: a client seen on an endpoint (its set, with
                // a timeout) goes back there; others are spread at random.
                for (i, (ip, port)) in p.backends.iter().enumerate() {
                    let set = format!("aff{}-{i}", &c[3..]);
                    let _ = writeln!(
                        s,
                        "add set ip quai {set} {{ type ipv4_addr; flags dynamic,timeout; timeout {secs}s; }}"
                    );
                    let _ = writeln!(
                        s,
                        "add rule ip quai {c}-{i} update @{set} {{ ip saddr }} meta l4proto {proto} dnat ip to {ip}:{port}"
                    );
                    let _ = writeln!(s, "add rule ip quai {c} ip saddr @{set} goto {c}-{i}");
                }
                let targets: Vec<String> = (0..n).map(|i| format!("{i} : goto {c}-{i}")).collect();
                let _ = writeln!(
                    s,
                    "add rule ip quai {c} numgen random mod {n} vmap {{ {} }}",
                    targets.join(", ")
                );
            }
        }
        let _ = writeln!(
            s,
            "add element ip quai svc {{ {} . {proto} . {} : goto {c} }}",
            p.cluster_ip, p.port
        );
        if let Some(np) = p.node_port {
            let _ = writeln!(
                s,
                "add element ip quai svc_nodeport {{ {proto} . {np} : goto {c} }}"
            );
        }
    }
    s
}

/// The service chains and affinity sets in the table now.
fn current() -> (Vec<String>, Vec<String>) {
    let out = std::process::Command::new("nft")
        .args(["list", "table", "ip", "quai"])
        .output();
    let text = out
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap_or_default();
    let named = |kw: &str, prefix: &str| -> Vec<String> {
        text.lines()
            .filter_map(|l| l.trim().strip_prefix(kw))
            .map(|rest| rest.trim_end_matches(" {").trim().to_string())
            .filter(|n| n.starts_with(prefix))
            .collect()
    };
    (named("chain ", "svc-"), named("set ", "aff-"))
}

/// The rules that send traffic through the maps, added once to quai's chains.
fn hooks() -> Result<()> {
    let out = std::process::Command::new("nft")
        .args(["list", "chain", "ip", "quai", "prerouting"])
        .output();
    let has = out.is_ok_and(|o| String::from_utf8_lossy(&o.stdout).contains("@svc"));
    if has {
        return Ok(());
    }
    let mut s = String::new();
    s.push_str("add map ip quai svc { type ipv4_addr . inet_proto . inet_service : verdict; }\n");
    s.push_str("add map ip quai svc_nodeport { type inet_proto . inet_service : verdict; }\n");
    for chain in ["prerouting", "output"] {
        let _ = writeln!(
            s,
            "insert rule ip quai {chain} ip daddr . meta l4proto . th dport vmap @svc"
        );
        let _ = writeln!(
            s,
            "add rule ip quai {chain} fib daddr type local meta l4proto . th dport vmap @svc_nodeport"
        );
    }
    crate::bridge::run("nft", &["-f", "-"], &s)
}

/// Route another node's pod range through that node.
pub fn route(cidr: &str, via: &str) -> Result<()> {
    crate::bridge::run("ip", &["route", "replace", cidr, "via", via], "")
}

/// Make quai's table route exactly these service ports (quai's table must exist: a
/// quai network was made first), with a route for the service range through `dev` (the
/// pods' bridge) so that the host's own connections reach the NAT hook.
pub fn apply(ports: &[ServicePort], service_cidr: &str, dev: &str) -> Result<()> {
    crate::bridge::run("ip", &["route", "replace", service_cidr, "dev", dev], "")?;
    hooks()?;
    let (chains, sets) = current();
    crate::bridge::run("nft", &["-f", "-"], &script(ports, &chains, &sets))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_chain_per_service_port_with_random_endpoints() {
        let p = ServicePort {
            key: "default/web:http".into(),
            cluster_ip: Ipv4Addr::new(10, 43, 0, 2),
            protocol: Protocol::Tcp,
            port: 80,
            node_port: Some(30001),
            backends: vec![
                (Ipv4Addr::new(10, 42, 0, 2), 8080),
                (Ipv4Addr::new(10, 42, 0, 3), 8080),
            ],
            affinity_secs: None,
        };
        let c = chain_name("default/web:http");
        let mut sticky = p.clone();
        sticky.key = "default/sticky:".into();
        sticky.affinity_secs = Some(10800);
        let s = script(
            &[p, sticky],
            &["svc-gone".to_string(), c.clone()],
            &["aff-gone-0".to_string()],
        );
        assert!(s.contains("delete set ip quai aff-gone-0"), "{s}");
        assert!(s.contains("flags dynamic,timeout; timeout 10800s;"), "{s}");
        assert!(s.contains("update @aff"), "{s}");
        assert!(s.contains("delete chain ip quai svc-gone"));
        assert!(!s.contains(&format!("delete chain ip quai {c}")));
        assert!(
            s.contains(
                "dnat ip to numgen random mod 2 map { 0 : 10.42.0.2 . 8080, 1 : 10.42.0.3 . 8080 }"
            ),
            "{s}"
        );
        assert!(s.contains("add element ip quai svc { 10.43.0.2 . tcp . 80 : goto "));
        assert!(s.contains("add element ip quai svc_nodeport { tcp . 30001 : goto "));
    }
}
