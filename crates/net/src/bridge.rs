//! The kernel side of a bridge network: the bridge, veth pairs into containers, and the
//! `ip quai` nftables table (egress masquerade, published ports through two DNAT maps).

use std::io::Write;
use std::net::Ipv4Addr;
use std::path::Path;
use std::process::{Command, Stdio};

use crate::ipam::Subnet;
use crate::ports::PortBinding;
use crate::{Error, Result};

/// Run a command with `input` on its stdin; its stderr becomes the error.
fn run(prog: &str, args: &[&str], input: &str) -> Result<()> {
    let what = format!("{prog} {}", args.join(" "));
    let t0 = std::time::Instant::now();
    let r = run_inner(prog, args, input, &what);
    if std::env::var_os("QUAI_DEBUG").is_some() {
        eprintln!(
            "quai: debug net: {what}: {:.1} ms",
            t0.elapsed().as_secs_f64() * 1e3
        );
    }
    r
}

fn run_inner(prog: &str, args: &[&str], input: &str, what: &str) -> Result<()> {
    let what = what.to_string();
    let mut child = Command::new(prog)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| Error::Command {
            what: what.clone(),
            message: e.to_string(),
        })?;
    if let Some(mut i) = child.stdin.take() {
        let _ = i.write_all(input.as_bytes());
    }
    let out = child.wait_with_output().map_err(|e| Error::Command {
        what: what.clone(),
        message: e.to_string(),
    })?;
    if out.status.success() {
        Ok(())
    } else {
        Err(Error::Command {
            what,
            message: String::from_utf8_lossy(&out.stderr)
                .lines()
                .filter(|l| !l.trim().is_empty())
                .collect::<Vec<_>>()
                .join("; "),
        })
    }
}

/// Whether this network namespace has an interface of that name (`/proc/self/net/dev` is
/// per namespace; `/sys/class/net` is the namespace of whoever mounted sysfs).
pub fn link_exists(name: &str) -> bool {
    std::fs::read_to_string("/proc/self/net/dev").is_ok_and(|s| {
        s.lines()
            .filter_map(|l| l.split_once(':'))
            .any(|(n, _)| n.trim() == name)
    })
}

fn write_sysctl(path: &str, value: &str) -> Result<()> {
    if std::fs::read_to_string(path).is_ok_and(|v| v.trim() == value) {
        return Ok(());
    }
    std::fs::write(path, value).map_err(|source| Error::Io {
        op: "write",
        path: path.into(),
        source,
    })
}

/// The table quai owns. Networks are elements of sets (their subnets; pairs allowed to
/// talk; internal ones), published ports elements of two maps (by host address, and for
/// every address): adding or removing a network or a container's ports adds or deletes
/// elements, never rules.
pub fn ruleset() -> String {
    "table ip quai {
  set subnets { type ipv4_addr; flags interval; }
  set nat_subnets { type ipv4_addr; flags interval; }
  set internal { type ipv4_addr; flags interval; }
  set same_net { type ipv4_addr . ipv4_addr; flags interval; }
  map pub_any { type inet_proto . inet_service : ipv4_addr . inet_service; }
  map pub_ip { type ipv4_addr . inet_proto . inet_service : ipv4_addr . inet_service; }
  chain prerouting {
    type nat hook prerouting priority dstnat; policy accept;
    fib daddr type local dnat ip to ip daddr . meta l4proto . th dport map @pub_ip
    fib daddr type local dnat ip to meta l4proto . th dport map @pub_any
  }
  chain output {
    type nat hook output priority -100; policy accept;
    fib daddr type local dnat ip to ip daddr . meta l4proto . th dport map @pub_ip
    fib daddr type local dnat ip to meta l4proto . th dport map @pub_any
  }
  chain forward {
    type filter hook forward priority filter; policy accept;
    ip saddr . ip daddr @same_net accept
    ip saddr @subnets ip daddr @subnets drop
    ip saddr @internal drop
    ip daddr @internal drop
  }
  chain postrouting {
    type nat hook postrouting priority srcnat; policy accept;
    ip saddr @nat_subnets ip daddr != @subnets masquerade
    ip saddr 127.0.0.0/8 ip daddr @subnets masquerade
    ip saddr @subnets ip daddr @subnets ct status dnat masquerade
  }
}
"
    .to_string()
}

fn network_elements(op: &str, subnet: &Subnet, internal: bool) -> String {
    let kind = if internal { "internal" } else { "nat_subnets" };
    format!(
        "{op} element ip quai subnets {{ {subnet} }}\n{op} element ip quai same_net {{ {subnet} . {subnet} }}\n{op} element ip quai {kind} {{ {subnet} }}\n"
    )
}

/// Make sure the bridge, its address, forwarding and quai's table exist (idempotent; `lock`
/// serialises concurrent callers).
pub fn ensure(bridge: &str, subnet: &Subnet, internal: bool, lock: &Path) -> Result<()> {
    // Fast path: this network namespace was set up already (a marker names it by inode)
    // and the bridge is there. A table removed behind quai's back shows up as a failed
    // publish, which calls `ensure_full`.
    let marker = lock.with_file_name(format!("net-{bridge}.ready"));
    if link_exists(bridge) && std::fs::read_to_string(&marker).is_ok_and(|m| m.trim() == netns_id())
    {
        return Ok(());
    }
    ensure_full(bridge, subnet, internal, lock)?;
    let _ = std::fs::write(&marker, netns_id());
    Ok(())
}

/// This process's network namespace, as `dev:inode`.
fn netns_id() -> String {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata("/proc/self/ns/net")
        .map(|m| format!("{}:{}", m.dev(), m.ino()))
        .unwrap_or_default()
}

/// [`ensure`] without the fast path.
pub fn ensure_full(bridge: &str, subnet: &Subnet, internal: bool, lock: &Path) -> Result<()> {
    if let Some(d) = lock.parent() {
        std::fs::create_dir_all(d).map_err(|source| Error::Io {
            op: "create",
            path: d.to_path_buf(),
            source,
        })?;
    }
    let f = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(lock)
        .map_err(|source| Error::Io {
            op: "open",
            path: lock.to_path_buf(),
            source,
        })?;
    f.lock().map_err(|source| Error::Io {
        op: "lock",
        path: lock.to_path_buf(),
        source,
    })?;
    if !link_exists(bridge) {
        run(
            "ip",
            &["-b", "-"],
            &format!(
                "link add {bridge} type bridge\naddr add {}/{} dev {bridge}\nlink set {bridge} up\n",
                subnet.gateway(),
                subnet.prefix
            ),
        )?;
    }
    // Forwarding for egress (as Docker and Podman set it), and DNAT from 127.0.0.1 into
    // the bridge (as netavark sets it, on the bridge only).
    write_sysctl("/proc/sys/net/ipv4/ip_forward", "1")?;
    write_sysctl(
        &format!("/proc/sys/net/ipv4/conf/{bridge}/route_localnet"),
        "1",
    )?;
    if run("nft", &["list", "table", "ip", "quai"], "").is_err() {
        run("nft", &["-f", "-"], &ruleset())?;
    }
    run(
        "nft",
        &["-f", "-"],
        &network_elements("add", subnet, internal),
    )
}

/// Remove a network's bridge and its elements in quai's table (missing ones are fine).
pub fn remove_network(bridge: &str, subnet: &Subnet, internal: bool, lock: &Path) -> Result<()> {
    let _ = std::fs::remove_file(lock.with_file_name(format!("net-{bridge}.ready")));
    for line in network_elements("delete", subnet, internal).lines() {
        if let Err(e) = run("nft", &["-f", "-"], line) {
            if !e.to_string().contains("No such file or directory") {
                return Err(e);
            }
        }
    }
    if link_exists(bridge) {
        run("ip", &["link", "del", bridge], "")?;
    }
    Ok(())
}

/// Put a container (its init is `pid`) on the bridge: a veth pair, `eth0` inside with
/// `ip`, the default route through the gateway.
pub fn attach(
    pid: i32,
    host_if: &str,
    bridge: &str,
    ip: Ipv4Addr,
    subnet: &Subnet,
    mac: Option<&str>,
    ifname: &str,
) -> Result<()> {
    if let Some(m) = mac {
        let ok = m.split(':').count() == 6
            && m.split(':')
                .all(|b| b.len() == 2 && u8::from_str_radix(b, 16).is_ok());
        if !ok {
            return Err(Error::Invalid(format!("{m} is not a valid mac address")));
        }
    }
    // Without --mac-address, the address derives from the IP (as Docker does): a peer's
    // ARP cache stays right when an address is handed out again.
    let o = ip.octets();
    let derived = format!("02:42:{:02x}:{:02x}:{:02x}:{:02x}", o[0], o[1], o[2], o[3]);
    let mac_line = format!("link set {ifname} address {}\n", mac.unwrap_or(&derived));
    run(
        "ip",
        &["-b", "-"],
        &format!(
            "link add {host_if} type veth peer name {ifname} netns {pid}\nlink set {host_if} master {bridge}\nlink set {host_if} type bridge_slave hairpin on\nlink set {host_if} up\n"
        ),
    )?;
    // The first interface carries the default route; later ones only their subnet.
    let route = if ifname == "eth0" {
        format!("route add default via {}\n", subnet.gateway())
    } else {
        String::new()
    };
    let ns = format!("--net=/proc/{pid}/ns/net");
    let inside = run(
        "nsenter",
        &[&ns, "ip", "-b", "-"],
        &format!(
            "link set lo up\n{mac_line}addr add {ip}/{} dev {ifname}\nlink set {ifname} up\n{route}",
            subnet.prefix
        ),
    );
    if let Err(e) = inside {
        let _ = detach(host_if);
        return Err(e);
    }
    Ok(())
}

/// Remove a container's host-side veth (gone already when its namespace died: fine).
pub fn detach(host_if: &str) -> Result<()> {
    if !link_exists(host_if) {
        return Ok(());
    }
    run("ip", &["link", "del", host_if], "")
}

fn element(b: &PortBinding, ip: Ipv4Addr, with_value: bool) -> String {
    let key = match b.host_ip {
        Some(h) => format!("pub_ip {{ {h} . {} . {}", b.proto, b.host_port),
        None => format!("pub_any {{ {} . {}", b.proto, b.host_port),
    };
    if with_value {
        format!("{key} : {ip} . {} }}", b.container_port)
    } else {
        format!("{key} }}")
    }
}

/// Publish ports to a container address (all or nothing).
pub fn publish(ports: &[PortBinding], ip: Ipv4Addr) -> Result<()> {
    if ports.is_empty() {
        return Ok(());
    }
    let batch: String = ports
        .iter()
        .map(|b| format!("add element ip quai {}\n", element(b, ip, true)))
        .collect();
    run("nft", &["-f", "-"], &batch)
}

/// Withdraw published ports; missing ones are skipped. Reports the other failures.
pub fn unpublish(ports: &[PortBinding]) -> Result<()> {
    let mut errors = Vec::new();
    for b in ports {
        let line = format!(
            "delete element ip quai {}\n",
            element(b, Ipv4Addr::UNSPECIFIED, false)
        );
        if let Err(e) = run("nft", &["-f", "-"], &line) {
            if !e.to_string().contains("No such file or directory") {
                errors.push(e.to_string());
            }
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(Error::Invalid(errors.join("; ")))
    }
}

/// The host-side name of a container's veth (at most 15 bytes).
pub fn host_if(id: &str) -> String {
    format!("vq{}", &id[..id.len().min(12)])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_name_the_subnet_and_elements_the_ports() {
        let s: Subnet = "10.99.0.0/16".parse().expect("subnet");
        assert!(ruleset().contains("ip saddr @nat_subnets ip daddr != @subnets masquerade"));
        assert!(
            network_elements("add", &s, false).contains("same_net { 10.99.0.0/16 . 10.99.0.0/16 }")
        );
        let b = crate::ports::parse("127.0.0.1:8080:80").expect("spec");
        assert_eq!(
            element(&b[0], Ipv4Addr::new(10, 99, 0, 2), true),
            "pub_ip { 127.0.0.1 . tcp . 8080 : 10.99.0.2 . 80 }"
        );
        assert_eq!(host_if("0123456789abcdef"), "vq0123456789ab");
    }
}
