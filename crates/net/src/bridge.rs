//! The kernel side of a bridge network: the bridge, veth pairs into containers, and the
//! `ip quai` nftables table (egress masquerade, published ports through two DNAT maps).

use std::io::Write;
use std::net::Ipv4Addr;
use std::path::Path;
use std::process::{Command, Stdio};

use crate::ipam::Subnet;
use crate::netlink::{self, Element, Route};
use crate::ports::PortBinding;
use crate::{Error, Result};

/// Run a command with `input` on its stdin; its stderr becomes the error.
pub(crate) fn run(prog: &str, args: &[&str], input: &str) -> Result<()> {
    let what = format!("{prog} {}", args.join(" "));
    let t0 = std::time::Instant::now();
    let r = run_inner(prog, args, input, &what);
    debug(&what, t0);
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

/// Whether the bridges' namespace has an interface of that name.
pub fn link_exists(name: &str) -> bool {
    crate::ns::in_bridge_ns(|| Ok::<_, crate::Error>(link_exists_here(name))).unwrap_or(false)
}

/// Whether this thread's network namespace has an interface of that name
/// (`/proc/thread-self/net/dev` is per namespace; `/sys/class/net` is the namespace of
/// whoever mounted sysfs).
fn link_exists_here(name: &str) -> bool {
    std::fs::read_to_string("/proc/thread-self/net/dev").is_ok_and(|s| {
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

/// How a network's bridge is set up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Kind {
    /// `--internal`: no traffic in or out, only within.
    pub internal: bool,
    /// Masquerade egress (Docker's `enable_ip_masquerade`, on by default).
    pub masquerade: bool,
    /// The MTU of the bridge and its containers' interfaces (the kernel's default without).
    pub mtu: Option<u32>,
}

impl Default for Kind {
    fn default() -> Kind {
        Kind {
            internal: false,
            masquerade: true,
            mtu: None,
        }
    }
}

fn network_elements(op: &str, subnet: &Subnet, kind: Kind) -> String {
    let mut s = format!(
        "{op} element ip quai subnets {{ {subnet} }}\n{op} element ip quai same_net {{ {subnet} . {subnet} }}\n"
    );
    if kind.internal {
        s.push_str(&format!("{op} element ip quai internal {{ {subnet} }}\n"));
    } else if kind.masquerade {
        s.push_str(&format!(
            "{op} element ip quai nat_subnets {{ {subnet} }}\n"
        ));
    }
    s
}

/// Make sure the bridge, its address, forwarding and quai's table exist (idempotent; `lock`
/// serialises concurrent callers).
pub fn ensure(bridge: &str, subnet: &Subnet, kind: Kind, lock: &Path) -> Result<()> {
    crate::ns::in_bridge_ns(|| ensure_here(bridge, subnet, kind, lock))
}

fn ensure_here(bridge: &str, subnet: &Subnet, kind: Kind, lock: &Path) -> Result<()> {
    // Fast path: this network namespace was set up already (a marker names it by inode)
    // and the bridge is there. A table removed behind quai's back shows up as a failed
    // publish, which calls `ensure_full`.
    let marker = lock.with_file_name(format!("net-{bridge}.ready"));
    let id = crate::ns::thread_netns_id();
    if link_exists_here(bridge) && std::fs::read_to_string(&marker).is_ok_and(|m| m.trim() == id) {
        return Ok(());
    }
    ensure_full_here(bridge, subnet, kind, lock)?;
    let _ = std::fs::write(&marker, id);
    Ok(())
}

/// [`ensure`] without the fast path.
pub fn ensure_full(bridge: &str, subnet: &Subnet, kind: Kind, lock: &Path) -> Result<()> {
    crate::ns::in_bridge_ns(|| ensure_full_here(bridge, subnet, kind, lock))
}

fn ensure_full_here(bridge: &str, subnet: &Subnet, kind: Kind, lock: &Path) -> Result<()> {
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
    if !link_exists_here(bridge) {
        Route::new()?.add_bridge(bridge, subnet.gateway(), subnet.prefix, kind.mtu)?;
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
    run("nft", &["-f", "-"], &network_elements("add", subnet, kind))
}

/// Remove a network's bridge and its elements in quai's table. Elements, sets or the table
/// that were never created are fine: a network no container used has none of them (its
/// elements are added when its first container joins).
///
/// With `defer`, the bridge is taken down at once (its routes go with it) and deleted by a
/// process left behind: a deletion waits for the kernel's RCU grace periods (35-50 ms a
/// bridge here), and nothing can use a down bridge whose name nobody will choose again
/// (docs/adr/019).
pub fn remove_network(
    bridge: &str,
    subnet: &Subnet,
    kind: Kind,
    lock: &Path,
    defer: bool,
) -> Result<()> {
    crate::ns::in_bridge_ns(|| remove_network_here(bridge, subnet, kind, lock, defer))
}

fn remove_network_here(
    bridge: &str,
    subnet: &Subnet,
    kind: Kind,
    lock: &Path,
    defer: bool,
) -> Result<()> {
    let _ = std::fs::remove_file(lock.with_file_name(format!("net-{bridge}.ready")));
    // One transaction for the whole network (one nft process, one commit); only when some
    // element is missing already (a network never used here) line by line, so the rest
    // still goes.
    let script = network_elements("delete", subnet, kind);
    match run("nft", &["-f", "-"], &script) {
        Err(Error::Command { message, .. }) if nft_says_missing(&message) => {
            for line in script.lines() {
                match run("nft", &["-f", "-"], line) {
                    Err(Error::Command { message, .. }) if nft_says_missing(&message) => {}
                    other => other?,
                }
            }
        }
        other => other?,
    }
    let mut route = Route::new()?;
    if defer {
        if let Some(index) = route.link_index(bridge)? {
            route.set_down(index, &format!("take {bridge} down"))?;
            // `sh` exits once `ip` runs in the background: nothing is left to reap here.
            let spawned = std::process::Command::new("sh")
                .args(["-c", "ip link del \"$0\" >/dev/null 2>&1 &", bridge])
                .stdin(std::process::Stdio::null())
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .status();
            if spawned.is_ok_and(|s| s.success()) {
                return Ok(());
            }
        }
    }
    route.del_link(bridge).map(drop)
}

/// Whether every error `nft` reported (its stderr, lines joined with `; `) says that
/// what it was asked to delete does not exist: an element of an interval set (checked
/// by nft itself), or an element, set, chain or table (the kernel's ENOENT).
fn nft_says_missing(message: &str) -> bool {
    const MISSING: [&str; 3] = [
        "element does not exist",
        "No such file or directory",
        "Could not process rule: No such file or directory",
    ];
    let mut errors = message
        .split("; ")
        .filter_map(|l| l.split_once("Error: ").map(|(_, e)| e.trim()))
        .peekable();
    errors.peek().is_some() && errors.all(|e| MISSING.contains(&e))
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
    crate::ns::in_bridge_ns(|| attach_here(pid, host_if, bridge, ip, subnet, mac, ifname))
}

fn attach_here(
    pid: i32,
    host_if: &str,
    bridge: &str,
    ip: Ipv4Addr,
    subnet: &Subnet,
    mac: Option<&str>,
    ifname: &str,
) -> Result<()> {
    // Without --mac-address, the address derives from the IP (as Docker does): a peer's
    // ARP cache stays right when an address is handed out again.
    let o = ip.octets();
    let mac_bytes = match mac {
        Some(m) => {
            let bad = || Error::Invalid(format!("{m} is not a valid mac address"));
            let parts: Vec<u8> = m
                .split(':')
                .map(|b| {
                    (b.len() == 2)
                        .then(|| u8::from_str_radix(b, 16).ok())
                        .flatten()
                })
                .collect::<Option<_>>()
                .ok_or_else(bad)?;
            <[u8; 6]>::try_from(parts).map_err(|_| bad())?
        }
        None => [0x02, 0x42, o[0], o[1], o[2], o[3]],
    };
    let t0 = std::time::Instant::now();
    let mut host = Route::new()?;
    let (master, mtu) = host
        .link_info(bridge)?
        .ok_or_else(|| Error::Invalid(format!("bridge {bridge} is missing")))?;
    // Both ends take the bridge's MTU (a network's `driver.mtu`).
    host.add_veth(host_if, master, ifname, pid, mac_bytes, mtu)?;
    let inside = (|| {
        let what = format!("configure {ifname} of process {pid}");
        let mut ctr = Route::in_netns_of(pid)?;
        ctr.set_up(1, &what)?;
        let index = ctr
            .link_index(ifname)?
            .ok_or_else(|| Error::Invalid(format!("{what}: {ifname} is missing")))?;
        ctr.add_address(index, ip, subnet.prefix, &what)?;
        ctr.set_up(index, &what)?;
        // The first interface carries the default route; later ones only their subnet. (A
        // first network joined again while the container runs takes it back from the
        // network that had it meanwhile.)
        if ifname == "eth0" {
            ctr.add_default_route(subnet.gateway(), true, &what)?;
        }
        Ok(())
    })();
    debug(&format!("attach {host_if}"), t0);
    if let Err(e) = inside {
        let _ = host.del_link(host_if);
        return Err(e);
    }
    Ok(())
}

/// Point the default route of process `pid`'s network namespace at `gateway` (when the
/// network that had it is left).
pub fn default_route(pid: i32, gateway: Ipv4Addr) -> Result<()> {
    Route::in_netns_of(pid)?.add_default_route(
        gateway,
        true,
        &format!("default route of process {pid}"),
    )
}

/// Remove a container's host-side veth (gone already when its namespace died: fine).
pub fn detach(host_if: &str) -> Result<()> {
    crate::ns::in_bridge_ns(|| Route::new()?.del_link(host_if).map(drop))
}

/// A published port as an element of `pub_ip` (bound to one host address) or `pub_any`,
/// laid out as nftables registers: addresses as they are, the protocol in a 4-byte slot,
/// ports big-endian in a 4-byte slot.
fn element(b: &PortBinding, ip: Ipv4Addr, with_value: bool) -> Element {
    let proto: u8 = b.proto.number();
    let mut key = Vec::with_capacity(12);
    if let Some(h) = b.host_ip {
        key.extend_from_slice(&h.octets());
    }
    key.extend_from_slice(&[proto, 0, 0, 0]);
    key.extend_from_slice(&b.host_port.to_be_bytes());
    key.extend_from_slice(&[0, 0]);
    let value = with_value.then(|| {
        let mut v = ip.octets().to_vec();
        v.extend_from_slice(&b.container_port.to_be_bytes());
        v.extend_from_slice(&[0, 0]);
        v
    });
    Element {
        map: if b.host_ip.is_some() {
            "pub_ip"
        } else {
            "pub_any"
        },
        key,
        value,
    }
}

fn debug(what: &str, t0: std::time::Instant) {
    if std::env::var_os("QUAI_DEBUG").is_some() {
        eprintln!(
            "quai: debug net: {what}: {:.2} ms",
            t0.elapsed().as_secs_f64() * 1e3
        );
    }
}

/// Publish ports to a container address (all or nothing, one nftables transaction).
pub fn publish(ports: &[PortBinding], ip: Ipv4Addr) -> Result<()> {
    crate::ns::in_bridge_ns(|| publish_here(ports, ip))
}

fn publish_here(ports: &[PortBinding], ip: Ipv4Addr) -> Result<()> {
    let t0 = std::time::Instant::now();
    let elements: Vec<Element> = ports.iter().map(|b| element(b, ip, true)).collect();
    // A netlink message must fit the socket's send buffer (about 200 KB): a big range
    // (`-p 20000-23000:...`) goes in several transactions, the earlier ones undone when a
    // later one fails.
    let mut done = 0;
    let mut r = Ok(());
    for chunk in elements.chunks(PUBLISH_CHUNK) {
        r = netlink::set_elements(true, chunk);
        if r.is_err() {
            break;
        }
        done += chunk.len();
    }
    if r.is_err() {
        // All of these were just added: one transaction takes them back.
        let keys: Vec<Element> = elements[..done]
            .iter()
            .map(|e| Element {
                value: None,
                ..e.clone()
            })
            .collect();
        let _ = netlink::set_elements(false, &keys);
    }
    debug("publish", t0);
    r
}

/// Map elements per nftables transaction when publishing (up to 48 bytes each on the wire).
const PUBLISH_CHUNK: usize = 1024;

/// Withdraw published ports; missing ones are skipped. Reports the other failures.
pub fn unpublish(ports: &[PortBinding]) -> Result<()> {
    crate::ns::in_bridge_ns(|| unpublish_here(ports))
}

fn unpublish_here(ports: &[PortBinding]) -> Result<()> {
    let t0 = std::time::Instant::now();
    let keys: Vec<Element> = ports
        .iter()
        .map(|b| element(b, Ipv4Addr::UNSPECIFIED, false))
        .collect();
    // Usually all are there: one transaction. When one is missing the kernel refuses the
    // whole transaction; then one each, so that it does not keep the others.
    if keys.len() <= PUBLISH_CHUNK && netlink::set_elements(false, &keys).is_ok() {
        debug("unpublish", t0);
        return Ok(());
    }
    let mut errors = Vec::new();
    for e in keys {
        if let Err(e) = netlink::set_elements(false, &[e]) {
            if !netlink::is_missing(&e) {
                errors.push(e.to_string());
            }
        }
    }
    debug("unpublish", t0);
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
    fn only_missing_objects_are_ignored_on_removal() {
        // What nft 1.0 prints for an element never added to an interval set, to a
        // concatenation set, and for a table or set that does not exist.
        for m in [
            "/dev/stdin:1:34-44: Error: element does not exist; delete element ip quai subnets { 10.1.0.0/16 }; ^^^^^^^^^^^",
            "/dev/stdin:1:35-59: Error: Could not process rule: No such file or directory; delete element ip quai same_net { 10.1.0.0/16 . 10.1.0.0/16 }; ^^^^",
            "/dev/stdin:1:19-22: Error: No such file or directory; delete element ip quai subnets { 10.1.0.0/16 }; ^^^^",
        ] {
            assert!(nft_says_missing(m), "{m}");
        }
        for m in [
            "",
            "/dev/stdin:1:1-6: Error: Could not process rule: Operation not permitted; delete element ip quai subnets { 10.1.0.0/16 }",
            "/dev/stdin:1:1-6: Error: syntax error, unexpected junk",
            "/dev/stdin:1:1-4: Error: element does not exist; /dev/stdin:2:1-4: Error: Could not process rule: Device or resource busy",
            "netlink: Error: No such file or directory here",
        ] {
            assert!(!nft_says_missing(m), "{m}");
        }
    }

    #[test]
    fn rules_name_the_subnet_and_elements_the_ports() {
        let s: Subnet = "10.99.0.0/16".parse().expect("subnet");
        assert!(ruleset().contains("ip saddr @nat_subnets ip daddr != @subnets masquerade"));
        assert!(network_elements("add", &s, Kind::default())
            .contains("same_net { 10.99.0.0/16 . 10.99.0.0/16 }"));
        let b = crate::ports::parse("127.0.0.1:8080:80").expect("spec");
        let e = element(&b[0], Ipv4Addr::new(10, 99, 0, 2), true);
        assert_eq!(e.map, "pub_ip");
        assert_eq!(e.key, [127, 0, 0, 1, 6, 0, 0, 0, 0x1f, 0x90, 0, 0]);
        assert_eq!(e.value, Some(vec![10, 99, 0, 2, 0, 80, 0, 0]));
        let b = crate::ports::parse("53:53/udp").expect("spec");
        let e = element(&b[0], Ipv4Addr::new(10, 99, 0, 2), false);
        assert_eq!(e.map, "pub_any");
        assert_eq!(e.key, [17, 0, 0, 0, 0, 53, 0, 0]);
        assert_eq!(e.value, None);
        assert_eq!(host_if("0123456789abcdef"), "vq0123456789ab");
    }
}
