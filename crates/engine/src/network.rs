//! The engine's side of networking: the default bridge, addresses held in container
//! records (allocated in one transaction, so parallel starts never share one), and the
//! attach/detach steps the monitor runs around a container's life.

use std::net::Ipv4Addr;

use crate::db::Db;
use crate::{Error, Paths, Result};

/// The default bridge (Docker's `docker0`, Podman's `podman0`).
pub const DEFAULT_BRIDGE: &str = "quai0";
/// Its subnet.
pub const DEFAULT_SUBNET: &str = "10.99.0.0/16";

fn subnet() -> net::ipam::Subnet {
    DEFAULT_SUBNET.parse().expect("the default subnet is valid")
}

fn net_err(e: net::Error) -> Error {
    Error::Start {
        code: 125,
        message: format!("network: {e}"),
    }
}

impl Db {
    /// Give container `id` the lowest address no other container holds (one IMMEDIATE
    /// transaction: parallel starts never share an address).
    pub fn allocate_ip(&mut self, id: &str) -> Result<Ipv4Addr> {
        let s = subnet();
        let ip = self.update_states(|all| {
            let used: Vec<Ipv4Addr> = all
                .iter()
                .filter(|(other, _)| other != id)
                .filter_map(|(_, st)| st.ip.parse().ok())
                .collect();
            let st = &mut all.iter_mut().find(|(other, _)| other == id)?.1;
            if let Ok(ip) = st.ip.parse::<Ipv4Addr>() {
                return Some(ip);
            }
            let ip = s.allocate(&used).ok()?;
            st.ip = ip.to_string();
            Some(ip)
        })?;
        ip.ok_or_else(|| Error::Conflict(format!("no free address left in {s}")))
    }
}

/// Put a created container (its init is `pid`) on the default bridge and publish its
/// ports; returns the ports in effect (host ports chosen).
pub fn attach(
    paths: &Paths,
    id: &str,
    pid: i32,
    ip: Ipv4Addr,
    wanted: &[net::ports::PortBinding],
) -> Result<Vec<net::ports::PortBinding>> {
    let s = subnet();
    net::bridge::ensure(DEFAULT_BRIDGE, &s, &paths.run.join("net.lock")).map_err(net_err)?;
    runtime::debug!("network {id}: bridge ready");
    let host_if = net::bridge::host_if(id);
    // A veth left by a killed monitor of the same container.
    let _ = net::bridge::detach(&host_if);
    net::bridge::attach(pid, &host_if, DEFAULT_BRIDGE, ip, &s).map_err(net_err)?;
    runtime::debug!("network {id}: attached");
    let mut ports = wanted.to_vec();
    // A port published by another container, or one a host process listens on.
    for p in ports.iter().filter(|p| p.host_port != 0) {
        let taken_by_quai = db_ports_in_use(paths, id)?.iter().any(|o| {
            o.proto == p.proto
                && o.host_port == p.host_port
                && (o.host_ip.is_none() || p.host_ip.is_none() || o.host_ip == p.host_ip)
        });
        if taken_by_quai || net::ports::free_port_is(&p.proto, p.host_ip, p.host_port).is_err() {
            return Err(Error::Start {
                code: 125,
                message: format!(
                    "Bind for {}:{} failed: port is already allocated",
                    p.host_ip.unwrap_or(Ipv4Addr::UNSPECIFIED),
                    p.host_port
                ),
            });
        }
    }
    for p in ports.iter_mut().filter(|p| p.host_port == 0) {
        p.host_port = net::ports::free_port(&p.proto, p.host_ip).map_err(net_err)?;
    }
    runtime::debug!("network {id}: ports checked");
    let published = net::bridge::publish(&ports, ip).or_else(|_| {
        // The table may have been removed since the namespace was set up: once more.
        net::bridge::ensure_full(DEFAULT_BRIDGE, &s, &paths.run.join("net.lock"))?;
        net::bridge::publish(&ports, ip)
    });
    if let Err(e) = published {
        let _ = net::bridge::detach(&host_if);
        return Err(net_err(e));
    }
    Ok(ports)
}

fn db_ports_in_use(paths: &Paths, id: &str) -> Result<Vec<net::ports::PortBinding>> {
    Ok(Db::open(&paths.root)?
        .list()?
        .into_iter()
        .filter(|r| r.id != id)
        .flat_map(|r| r.state.ports)
        .collect())
}

/// Undo [`attach`]: withdraw the ports, remove the veth. Keeps going and reports all.
pub fn detach(id: &str, ports: &[net::ports::PortBinding]) -> Result<()> {
    let a = net::bridge::unpublish(ports);
    let b = net::bridge::detach(&net::bridge::host_if(id));
    match (a, b) {
        (Ok(()), Ok(())) => Ok(()),
        (a, b) => Err(Error::Invalid(
            [a.err(), b.err()]
                .into_iter()
                .flatten()
                .map(|e| format!("network: {e}"))
                .collect::<Vec<_>>()
                .join("; "),
        )),
    }
}
