//! Cluster DNS, served by the node agent (CoreDNS's job): `SVC.NS.svc.cluster.local` is
//! the Service's cluster IP (a headless Service's ready endpoints), `A-B-C-D.NS.pod.
//! cluster.local` a pod address, and the PTR of a cluster IP names its Service; other
//! names under `cluster.local` do not exist, and the rest is forwarded to the host's
//! resolvers. SRV records name a Service's ports (`_PORT._PROTO.SVC.NS.svc.cluster.local`,
//! or every port for `SVC.NS.svc...`); a headless Service's endpoints are SRV targets by
//! their hostname or dashed address (`HOST.SVC.NS.svc.cluster.local`, an A record too).
//! Pods reach it as the `kube-dns` Service (10.43.0.10), which this node routes to the
//! sockets here: UDP (answers over 512 bytes truncated) and TCP (RFC 1035's
//! length-prefixed messages).

use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::sync::Arc;

use cluster::api::client::ControlPlane;
use engine::dns::{a_records, forward_udp, ptr_record, question, reply, upstreams, UDP_LIMIT};
use hickory_proto::op::ResponseCode;
use hickory_proto::rr::rdata::{A, PTR, SRV};
use hickory_proto::rr::{Name, RecordType};
use serde_json::Value;

use crate::{Error, Result};

/// The port the agent's DNS listens on, on the pods' gateway address.
pub const PORT: u16 = 10053;

const DOMAIN: &str = "cluster.local";

fn s(v: &Value) -> String {
    v.as_str().unwrap_or_default().to_string()
}

/// The addresses of `svc` in `ns`: its cluster IP, or (headless) its ready endpoints.
fn service_ips(reg: &dyn ControlPlane, ns: &str, svc: &str) -> Option<Vec<Ipv4Addr>> {
    let sr = crate::res("", "services").ok()?;
    let obj = reg.get(sr, Some(ns), svc).ok()?;
    let ip = s(&obj["spec"]["clusterIP"]);
    if let Ok(a) = ip.parse::<Ipv4Addr>() {
        return Some(vec![a]);
    }
    let er = cluster::resources::find("discovery.k8s.io", "v1", "endpointslices")?;
    let slices = reg.list(er, Some(ns), &Default::default()).ok()?;
    let mut out = Vec::new();
    for sl in slices.iter().filter(|sl| {
        sl["metadata"]["labels"]["kubernetes.io/service-name"] == Value::String(svc.to_string())
    }) {
        for e in sl["endpoints"].as_array().into_iter().flatten() {
            if e["conditions"]["ready"] == Value::Bool(true) {
                out.extend(
                    e["addresses"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .filter_map(|a| s(a).parse::<Ipv4Addr>().ok()),
                );
            }
        }
    }
    Some(out)
}

/// The Service whose cluster IP is `ip` (for PTR).
fn service_at(reg: &dyn ControlPlane, ip: &str) -> Option<String> {
    let sr = crate::res("", "services").ok()?;
    reg.list(sr, None, &Default::default())
        .ok()?
        .iter()
        .find_map(|svc| {
            (s(&svc["spec"]["clusterIP"]) == ip).then(|| {
                format!(
                    "{}.{}.svc.{DOMAIN}",
                    s(&svc["metadata"]["name"]),
                    s(&svc["metadata"]["namespace"])
                )
            })
        })
}

/// A name from its dotted form, label by label (no IDNA tables linked).
fn name(fqdn: &str) -> Option<Name> {
    let mut n = Name::root();
    for l in fqdn.split('.').filter(|l| !l.is_empty()) {
        n = n.append_label(&l.as_bytes()[..l.len().min(63)]).ok()?;
    }
    Some(n)
}

/// A Service's ports (name, protocol, port) and whether it is headless, with its ready
/// endpoints (address, hostname, and their ports by name).
struct Ports {
    headless: bool,
    ports: Vec<(String, String, u16)>,
    endpoints: Vec<(Ipv4Addr, Option<String>)>,
    endpoint_ports: Vec<(String, u16)>,
}

fn ports_of(reg: &dyn ControlPlane, ns: &str, svc: &str) -> Option<Ports> {
    let sr = crate::res("", "services").ok()?;
    let obj = reg.get(sr, Some(ns), svc).ok()?;
    let ports = obj["spec"]["ports"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|p| {
            Some((
                s(&p["name"]),
                p["protocol"].as_str().unwrap_or("TCP").to_ascii_lowercase(),
                u16::try_from(p["port"].as_u64()?).ok()?,
            ))
        })
        .collect();
    let headless = s(&obj["spec"]["clusterIP"]).parse::<Ipv4Addr>().is_err();
    let mut out = Ports {
        headless,
        ports,
        endpoints: Vec::new(),
        endpoint_ports: Vec::new(),
    };
    if headless {
        let er = cluster::resources::find("discovery.k8s.io", "v1", "endpointslices")?;
        for sl in reg
            .list(er, Some(ns), &Default::default())
            .ok()?
            .iter()
            .filter(|sl| {
                sl["metadata"]["labels"]["kubernetes.io/service-name"]
                    == Value::String(svc.to_string())
            })
        {
            for p in sl["ports"].as_array().into_iter().flatten() {
                if let Some(port) = p["port"].as_u64().and_then(|x| u16::try_from(x).ok()) {
                    out.endpoint_ports.push((s(&p["name"]), port));
                }
            }
            for e in sl["endpoints"].as_array().into_iter().flatten() {
                if e["conditions"]["ready"] != Value::Bool(true) {
                    continue;
                }
                let host = e["hostname"].as_str().map(str::to_string);
                for a in e["addresses"].as_array().into_iter().flatten() {
                    if let Ok(ip) = s(a).parse::<Ipv4Addr>() {
                        out.endpoints.push((ip, host.clone()));
                    }
                }
            }
        }
    }
    Some(out)
}

/// The SRV records of a Service's ports (`port` and `proto`: one named port, or all).
fn srv_records(p: &Ports, svc: &str, ns: &str, want: Option<(&str, &str)>) -> Vec<SRV> {
    let fqdn = format!("{svc}.{ns}.svc.{DOMAIN}");
    let mut out = Vec::new();
    for (pname, proto, port) in &p.ports {
        if let Some((wn, wp)) = want {
            if pname != wn || proto != wp {
                continue;
            }
        }
        if p.headless {
            let eport = p
                .endpoint_ports
                .iter()
                .find(|(n, _)| n == pname)
                .map_or(*port, |(_, x)| *x);
            let n = p.endpoints.len().max(1);
            let weight = u16::try_from(100 / n).unwrap_or(1).max(1);
            for (ip, host) in &p.endpoints {
                let label = host
                    .clone()
                    .unwrap_or_else(|| ip.to_string().replace('.', "-"));
                if let Some(t) = name(&format!("{label}.{fqdn}")) {
                    out.push(SRV::new(0, weight, eport, t));
                }
            }
        } else if let Some(t) = name(&fqdn) {
            out.push(SRV::new(0, 100, *port, t));
        }
    }
    out
}

/// The answer to a query, or None to forward it.
fn answer(reg: &dyn ControlPlane, buf: &[u8]) -> Option<Vec<u8>> {
    answer_with(reg, buf, UDP_LIMIT)
}

fn answer_with(reg: &dyn ControlPlane, buf: &[u8], limit: u16) -> Option<Vec<u8>> {
    let q = question(buf)?;
    let qtype = q.query.query_type();
    if let Some(rev) = q.name.strip_suffix(".in-addr.arpa") {
        let mut o: Vec<&str> = rev.split('.').collect();
        o.reverse();
        let owner = service_at(reg, &o.join("."))?;
        let answers: Vec<PTR> = if qtype == RecordType::PTR {
            ptr_record(&owner).into_iter().collect()
        } else {
            Vec::new()
        };
        return reply(&q, answers, ResponseCode::NoError, limit);
    }
    let rest = q.name.strip_suffix(&format!(".{DOMAIN}"))?;
    let labels: Vec<&str> = rest.split('.').collect();
    // SRV: a named port of a Service, or all of them.
    let srv = match labels.as_slice() {
        [port, proto, svc, ns, "svc"] if port.starts_with('_') && proto.starts_with('_') => {
            Some((*svc, *ns, Some((&port[1..], &proto[1..]))))
        }
        [svc, ns, "svc"] if qtype == RecordType::SRV => Some((*svc, *ns, None)),
        _ => None,
    };
    if let Some((svc, ns, want)) = srv {
        return match ports_of(reg, ns, svc) {
            Some(p) => {
                let answers = if qtype == RecordType::SRV {
                    srv_records(&p, svc, ns, want)
                } else {
                    Vec::new()
                };
                if want.is_some() && answers.is_empty() && qtype == RecordType::SRV {
                    reply::<SRV>(&q, Vec::new(), ResponseCode::NXDomain, limit)
                } else {
                    reply(&q, answers, ResponseCode::NoError, limit)
                }
            }
            None => reply::<SRV>(&q, Vec::new(), ResponseCode::NXDomain, limit),
        };
    }
    let ips = match labels.as_slice() {
        [svc, ns, "svc"] => service_ips(reg, ns, svc),
        // An endpoint of a headless Service, by hostname or dashed address.
        [host, svc, ns, "svc"] => ports_of(reg, ns, svc)
            .map(|p| {
                p.endpoints
                    .iter()
                    .filter(|(ip, h)| {
                        h.as_deref() == Some(*host) || ip.to_string().replace('.', "-") == *host
                    })
                    .map(|(ip, _)| *ip)
                    .collect::<Vec<_>>()
            })
            .filter(|v| !v.is_empty()),
        [ip, _ns, "pod"] => ip
            .replace('-', ".")
            .parse::<Ipv4Addr>()
            .ok()
            .map(|a| vec![a]),
        _ => None,
    };
    match ips {
        Some(ips) => {
            let answers: Vec<A> = if qtype == RecordType::A {
                a_records(&ips)
            } else {
                Vec::new()
            };
            reply(&q, answers, ResponseCode::NoError, limit)
        }
        None => reply::<A>(&q, Vec::new(), ResponseCode::NXDomain, limit),
    }
}

/// Bind `addr` once it exists (the pods' bridge comes up with the first pod).
fn bind_when_up<T>(
    addr: SocketAddr,
    what: &str,
    bind: impl Fn(SocketAddr) -> std::io::Result<T>,
) -> Option<T> {
    loop {
        match bind(addr) {
            Ok(s) => return Some(s),
            Err(e) if e.raw_os_error() == Some(libc::EADDRNOTAVAIL) => {
                std::thread::sleep(std::time::Duration::from_millis(200));
            }
            Err(e) => {
                eprintln!("quai cluster agent: cluster DNS ({what}) on {addr}: {e}");
                return None;
            }
        }
    }
}

/// One TCP client: length-prefixed queries answered in turn until it closes.
fn serve_tcp(reg: &dyn ControlPlane, mut c: TcpStream, ups: &[SocketAddr]) {
    let _ = c.set_read_timeout(Some(std::time::Duration::from_secs(10)));
    loop {
        let mut len = [0u8; 2];
        if c.read_exact(&mut len).is_err() {
            return;
        }
        let mut q = vec![0u8; usize::from(u16::from_be_bytes(len))];
        if c.read_exact(&mut q).is_err() {
            return;
        }
        let Some(out) = answer_with(reg, &q, u16::MAX)
            .or_else(|| forward_udp(&q, ups))
            .or_else(|| engine::dns::servfail(&q))
        else {
            return;
        };
        let Ok(n) = u16::try_from(out.len()) else {
            return;
        };
        let mut msg = n.to_be_bytes().to_vec();
        msg.extend(out);
        if c.write_all(&msg).is_err() {
            return;
        }
    }
}

/// The TCP side, on a thread of its own; each client on a thread too.
fn spawn_tcp(reg: Arc<dyn ControlPlane>, addr: SocketAddr) {
    let spawned = std::thread::Builder::new()
        .name("quai-node-dns-tcp".into())
        .spawn(move || {
            let Some(l) = bind_when_up(addr, "TCP", TcpListener::bind) else {
                return;
            };
            let ups = Arc::new(upstreams());
            for c in l.incoming().flatten() {
                let (reg, ups) = (reg.clone(), ups.clone());
                let _ = std::thread::Builder::new()
                    .name("quai-node-dns-conn".into())
                    .spawn(move || serve_tcp(&*reg, c, &ups));
            }
        });
    if let Err(e) = spawned {
        eprintln!("quai cluster agent: cluster DNS (TCP): {e}");
    }
}

/// Serve on `addr` on a thread of its own (once the address exists: the pods' bridge
/// comes up with the first pod).
pub fn spawn(reg: Arc<dyn ControlPlane>, addr: SocketAddr) -> Result<()> {
    spawn_tcp(reg.clone(), addr);
    std::thread::Builder::new()
        .name("quai-node-dns".into())
        .spawn(move || {
            let Some(sock) = bind_when_up(addr, "UDP", UdpSocket::bind) else {
                return;
            };
            let ups = upstreams();
            let mut buf = vec![0u8; 4096];
            loop {
                let Ok((n, from)) = sock.recv_from(&mut buf) else {
                    continue;
                };
                let q = buf[..n].to_vec();
                let out = answer(&*reg, &q)
                    .or_else(|| forward_udp(&q, &ups))
                    .or_else(|| engine::dns::servfail(&q));
                if let Some(out) = out {
                    let _ = sock.send_to(&out, from);
                }
            }
        })
        .map_err(|e| Error::Other(format!("start the DNS thread: {e}")))?;
    Ok(())
}
