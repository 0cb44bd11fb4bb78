//! Cluster DNS, served by the node agent (CoreDNS's job): `SVC.NS.svc.cluster.local` is
//! the Service's cluster IP (a headless Service's ready endpoints), `A-B-C-D.NS.pod.
//! cluster.local` a pod address, and the PTR of a cluster IP names its Service; other
//! names under `cluster.local` do not exist, and the rest is forwarded to the host's
//! resolvers. Pods reach it as the `kube-dns` Service (10.43.0.10), which this node
//! routes to the socket here; the engine's network DNS forwards to it.

use std::net::{Ipv4Addr, SocketAddr, UdpSocket};
use std::sync::Arc;

use cluster::api::client::ControlPlane;
use engine::dns::{a_records, forward_udp, ptr_record, question, reply, upstreams, UDP_LIMIT};
use hickory_proto::op::ResponseCode;
use hickory_proto::rr::rdata::{A, PTR};
use hickory_proto::rr::RecordType;
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

/// The answer to a query, or None to forward it.
fn answer(reg: &dyn ControlPlane, buf: &[u8]) -> Option<Vec<u8>> {
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
        return reply(&q, answers, ResponseCode::NoError, UDP_LIMIT);
    }
    let rest = q.name.strip_suffix(&format!(".{DOMAIN}"))?;
    let labels: Vec<&str> = rest.split('.').collect();
    let ips = match labels.as_slice() {
        [svc, ns, "svc"] => service_ips(reg, ns, svc),
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
            reply(&q, answers, ResponseCode::NoError, UDP_LIMIT)
        }
        None => reply::<A>(&q, Vec::new(), ResponseCode::NXDomain, UDP_LIMIT),
    }
}

/// Serve on `addr` on a thread of its own (once the address exists: the pods' bridge
/// comes up with the first pod).
pub fn spawn(reg: Arc<dyn ControlPlane>, addr: SocketAddr) -> Result<()> {
    std::thread::Builder::new()
        .name("quai-node-dns".into())
        .spawn(move || {
            let sock = loop {
                match UdpSocket::bind(addr) {
                    Ok(s) => break s,
                    Err(e) if e.raw_os_error() == Some(libc::EADDRNOTAVAIL) => {
                        std::thread::sleep(std::time::Duration::from_millis(200));
                    }
                    Err(e) => {
                        eprintln!("quai cluster agent: cluster DNS on {addr}: {e}");
                        return;
                    }
                }
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
