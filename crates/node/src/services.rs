//! The node's share of Services (kube-proxy's job): each Service's ports with a cluster
//! IP (and node ports) sent to its ready endpoints, from the Services and their
//! EndpointSlices, applied to quai's table through the engine when they change.

use std::net::Ipv4Addr;

use cluster::api::client::ControlPlane;
use engine::lifecycle::Engine;
use net::ports::Protocol;
use net::services::ServicePort;
use serde_json::Value;

use crate::Result;

fn s(v: &Value) -> String {
    v.as_str().unwrap_or_default().to_string()
}

/// The service ports the cluster wants routed now.
pub fn wanted(reg: &dyn ControlPlane, dns: Option<Ipv4Addr>) -> Result<Vec<ServicePort>> {
    let sr = crate::res("", "services")?;
    let er = cluster::resources::find("discovery.k8s.io", "v1", "endpointslices")
        .ok_or_else(|| crate::Error::Other("no endpointslices".into()))?;
    let services = reg.list(sr, None, &Default::default())?;
    let slices = reg.list(er, None, &Default::default())?;
    let mut out = Vec::new();
    for svc in &services {
        let spec = &svc["spec"];
        let Ok(ip) = s(&spec["clusterIP"]).parse::<Ipv4Addr>() else {
            continue;
        };
        let ns = s(&svc["metadata"]["namespace"]);
        let name = s(&svc["metadata"]["name"]);
        let mine: Vec<&Value> = slices
            .iter()
            .filter(|sl| {
                s(&sl["metadata"]["namespace"]) == ns
                    && sl["metadata"]["labels"]["kubernetes.io/service-name"]
                        == Value::String(name.clone())
            })
            .collect();
        for p in spec["ports"].as_array().into_iter().flatten() {
            let Some(protocol) = Protocol::parse(&s(&p["protocol"]).to_lowercase()) else {
                continue;
            };
            let Some(port) = p["port"].as_u64().and_then(|x| u16::try_from(x).ok()) else {
                continue;
            };
            let pname = s(&p["name"]);
            let mut backends = Vec::new();
            for sl in &mine {
                let target = sl["ports"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .find(|sp| s(&sp["name"]) == pname)
                    .and_then(|sp| sp["port"].as_u64())
                    .and_then(|x| u16::try_from(x).ok());
                let Some(target) = target else { continue };
                for e in sl["endpoints"].as_array().into_iter().flatten() {
                    if e["conditions"]["ready"] != Value::Bool(true) {
                        continue;
                    }
                    for a in e["addresses"].as_array().into_iter().flatten() {
                        if let Ok(addr) = s(a).parse::<Ipv4Addr>() {
                            backends.push((addr, target));
                        }
                    }
                }
            }
            // The cluster DNS is this node's agent.
            if ns == "kube-system" && name == "kube-dns" {
                if let Some(gw) = dns {
                    backends = vec![(gw, crate::dns::PORT)];
                }
            }
            backends.sort();
            out.push(ServicePort {
                key: format!("{ns}/{name}:{pname}:{}", protocol.as_str()),
                cluster_ip: ip,
                protocol,
                port,
                node_port: p["nodePort"].as_u64().and_then(|x| u16::try_from(x).ok()),
                backends,
                affinity_secs: (spec["sessionAffinity"] == "ClientIP").then(|| {
                    spec["sessionAffinityConfig"]["clientIP"]["timeoutSeconds"]
                        .as_u64()
                        .and_then(|t| u32::try_from(t).ok())
                        .unwrap_or(10800)
                }),
            });
        }
    }
    Ok(out)
}

/// Routes applied last, to skip a pass that changes nothing.
#[derive(Default)]
pub struct Proxy {
    last: Option<Vec<ServicePort>>,
}

impl Proxy {
    pub fn sync(&mut self, reg: &dyn ControlPlane, eng: &Engine, network: &str) -> Result<()> {
        let gw = crate::pods::gateway(eng, network);
        let want = wanted(reg, gw)?;
        if self.last.as_ref() == Some(&want) || !eng.network_up(network)? {
            return Ok(());
        }
        let (base, len) = reg.service_cidr();
        let cidr = format!("{}/{len}", Ipv4Addr::from(base));
        eng.cluster_services(&want, &cidr, network)?;
        self.last = Some(want);
        Ok(())
    }
}

/// Routes to the other nodes' pod ranges, through those nodes.
#[derive(Default)]
pub struct Routes {
    applied: std::collections::HashMap<String, String>,
}

impl Routes {
    pub fn sync(&mut self, reg: &dyn ControlPlane, eng: &Engine, me: &str) -> Result<()> {
        let nr = crate::res("", "nodes")?;
        for n in reg.list(nr, None, &Default::default())? {
            if n["metadata"]["name"] == Value::String(me.to_string()) {
                continue;
            }
            let cidr = s(&n["spec"]["podCIDR"]);
            let ip = n["status"]["addresses"]
                .as_array()
                .and_then(|a| a.iter().find(|x| x["type"] == "InternalIP"))
                .map(|x| s(&x["address"]))
                .unwrap_or_default();
            if cidr.is_empty() || ip.is_empty() || ip.starts_with("127.") {
                continue;
            }
            if self.applied.get(&cidr) == Some(&ip) {
                continue;
            }
            eng.cluster_route(&cidr, &ip)?;
            self.applied.insert(cidr, ip);
        }
        Ok(())
    }
}
