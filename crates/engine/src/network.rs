//! The engine's side of networking: bridge networks (the default `bridge` on `quai0`, and
//! user-defined ones, each its own Linux bridge and subnet), addresses held in container
//! records (allocated in one transaction, so parallel starts never share one), and the
//! attach/detach steps the monitor runs around a container's life.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;

use crate::config::ContainerStatus;
use crate::db::Db;
use crate::{Error, Paths, Result};

pub use crate::network_record::{get, list, Network, DEFAULT_BRIDGE, DEFAULT_SUBNET};
use crate::network_record::{pool, OPT_MASQUERADE, OPT_MTU};

const OPT_BRIDGE_NAME: &str = "com.docker.network.bridge.name";
const OPT_ICC: &str = "com.docker.network.bridge.enable_icc";

/// Docker's bridge driver options that quai honours; any other is refused rather than
/// silently ignored.
fn check_options(options: &BTreeMap<String, String>, existing: &[Network]) -> Result<()> {
    let bool_opt = |k: &str, v: &str| match v {
        "true" | "false" => Ok(()),
        _ => Err(Error::Invalid(format!(
            "option {k}: {v:?} is not true or false"
        ))),
    };
    for (k, v) in options {
        match k.as_str() {
            OPT_BRIDGE_NAME => {
                let ok = (1..=15).contains(&v.len())
                    && v.bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b"_.-".contains(&b));
                if !ok {
                    return Err(Error::Invalid(format!(
                        "option {k}: {v:?} is not a valid interface name (1-15 of a-z A-Z 0-9 _ . -)"
                    )));
                }
                if existing.iter().any(|n| n.bridge == *v) || net::bridge::link_exists(v) {
                    return Err(Error::Conflict(format!(
                        "option {k}: an interface named {v} exists already"
                    )));
                }
            }
            OPT_MTU => {
                if !v.parse::<u32>().is_ok_and(|m| (68..=65535).contains(&m)) {
                    return Err(Error::Invalid(format!(
                        "option {k}: {v:?} is not an MTU (68-65535)"
                    )));
                }
            }
            OPT_MASQUERADE => bool_opt(k, v)?,
            OPT_ICC => {
                bool_opt(k, v)?;
                if v == "false" {
                    return Err(Error::Invalid(format!(
                        "option {k}=false is not supported: containers on one network always reach each other"
                    )));
                }
            }
            _ => {
                return Err(Error::Invalid(format!(
                    "network option {k:?} is not supported (quai honours {OPT_BRIDGE_NAME}, {OPT_MTU}, {OPT_MASQUERADE} and {OPT_ICC}=true)"
                )));
            }
        }
    }
    Ok(())
}

/// What `network create` was asked for.
#[derive(Debug, Default)]
pub struct CreateArgs<'a> {
    pub name: &'a str,
    pub subnet: Option<&'a str>,
    pub gateway: Option<&'a str>,
    pub ip_range: Option<&'a str>,
    pub internal: bool,
    pub labels: BTreeMap<String, String>,
    pub options: BTreeMap<String, String>,
}

/// `network create`.
pub fn create(db: &Db, a: CreateArgs<'_>) -> Result<Network> {
    let CreateArgs {
        name,
        subnet,
        gateway,
        ip_range,
        internal,
        labels,
        options,
    } = a;
    if !crate::lifecycle::name_chars_ok(name) {
        return Err(Error::Invalid(format!(
            "invalid network name {name:?}: only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed"
        )));
    }
    if ["bridge", "host", "none", "default"].contains(&name) {
        return Err(Error::Conflict(format!(
            "network with name {name} already exists (a built-in one)"
        )));
    }
    let existing = list(db)?;
    if existing.iter().any(|n| n.name == name) {
        return Err(Error::Conflict(format!(
            "network with name {name} already exists"
        )));
    }
    check_options(&options, &existing)?;
    let taken: Vec<net::ipam::Subnet> = existing.iter().filter_map(|n| n.subnet().ok()).collect();
    let overlaps = |s: &net::ipam::Subnet| {
        taken
            .iter()
            .any(|t| t.contains(s.base) || s.contains(t.base))
    };
    let subnet_arg = subnet;
    let subnet: net::ipam::Subnet = match subnet {
        Some(s) => {
            let s: net::ipam::Subnet = s
                .parse()
                .map_err(|e: net::Error| Error::Invalid(e.to_string()))?;
            if overlaps(&s) {
                return Err(Error::Conflict(format!(
                    "invalid pool request: Pool overlaps with other one on this address space ({s})"
                )));
            }
            s
        }
        None => (0..=255u8)
            .filter_map(|i| format!("10.100.{i}.0/24").parse().ok())
            .find(|s| !overlaps(s))
            .ok_or_else(|| Error::Conflict("no free subnet left in 10.100.0.0/16".into()))?,
    };
    if (gateway.is_some() || ip_range.is_some()) && subnet_arg.is_none() {
        return Err(Error::Invalid(
            "--gateway and --ip-range need a --subnet".into(),
        ));
    }
    // Checked now: a gateway or range that does not fit the subnet is refused here.
    let (gateway, ip_range) = (gateway.unwrap_or(""), ip_range.unwrap_or(""));
    pool(&subnet.to_string(), gateway, ip_range).map_err(|e| Error::Invalid(e.to_string()))?;
    let id = crate::random_id()?;
    let n = Network {
        bridge: options
            .get(OPT_BRIDGE_NAME)
            .cloned()
            .unwrap_or_else(|| format!("quai-{}", &id[..8])),
        id,
        name: name.into(),
        driver: "bridge".into(),
        subnet: subnet.to_string(),
        gateway: gateway.to_string(),
        ip_range: ip_range.to_string(),
        internal,
        labels,
        options,
        created: crate::time::now_rfc3339(),
    };
    let json = serde_json::to_string(&n).map_err(|e| Error::Corrupt(e.to_string()))?;
    if !db.insert_network(name, &json)? {
        return Err(Error::Conflict(format!(
            "network with name {name} already exists"
        )));
    }
    let mut a = BTreeMap::new();
    a.insert("name".to_string(), name.to_string());
    a.insert("type".to_string(), "bridge".to_string());
    db.event("network", "create", &n.id, &a)?;
    Ok(n)
}

/// Containers of a network that are running (or about to).
pub fn active_users(db: &Db, n: &Network) -> Result<Vec<String>> {
    Ok(db
        .list()?
        .into_iter()
        .filter(|r| {
            ((r.config.network_mode.is_on(&n.name) || r.config.network_mode.is_on(&n.id))
                && !r.config.primary_disconnected)
                || r.config.networks.iter().any(|a| a.network == n.name)
        })
        .filter(|r| {
            r.state.status.is_active() || !r.state.ip.is_empty() || !r.state.endpoints.is_empty()
        })
        .map(|r| r.name)
        .collect())
}

/// `network rm`: refused while containers use it; removes its bridge and rules.
pub fn remove(paths: &Paths, db: &Db, what: &str) -> Result<Network> {
    crate::reserve::release_if_low(&paths.root);
    let n = get(db, what)?;
    if n.name == "bridge" {
        return Err(Error::Conflict(
            "bridge is a pre-defined network and cannot be removed".into(),
        ));
    }
    let users = active_users(db, &n)?;
    if !users.is_empty() {
        return Err(Error::Conflict(format!(
            "error while removing network: network {} id {} has active endpoints ({})",
            n.name,
            n.id,
            users.join(", ")
        )));
    }
    crate::dns::stop(paths, &n);
    // A bridge named by quai (never chosen again) is deleted in the background; one the
    // user named, at once, so the name is free when this returns.
    let deferred = !n.options.contains_key(OPT_BRIDGE_NAME);
    net::bridge::remove_network(
        &n.bridge,
        &n.subnet()?,
        n.kind(),
        &paths.run.join("net.lock"),
        deferred,
    )
    .map_err(Error::Net)?;
    db.delete_network(&n.name)?;
    let mut a = BTreeMap::new();
    a.insert("name".to_string(), n.name.clone());
    db.event("network", "destroy", &n.id, &a)?;
    Ok(n)
}

impl Db {
    /// Give container `id` an address on `n`: `want` if free, else the lowest free one (one
    /// IMMEDIATE transaction: parallel starts never share an address).
    pub fn allocate_ip(
        &mut self,
        id: &str,
        n: &Network,
        want: Option<Ipv4Addr>,
    ) -> Result<Ipv4Addr> {
        let s = n.subnet()?;
        if let Some(w) = want {
            if !s.usable(w) {
                return Err(Error::Invalid(format!("address {w} is not usable in {s}")));
            }
        }
        let got = self.update_states(|all| {
            let used = used_on(all, id, &n.name);
            let st = &mut all.iter_mut().find(|(other, _)| other == id)?.1;
            if let Ok(ip) = st.ip.parse::<Ipv4Addr>() {
                return Some(Ok(ip));
            }
            let ip = match want {
                Some(w) if used.contains(&w) => {
                    return Some(Err(Error::Conflict(format!("Address already in use: {w}"))))
                }
                Some(w) => w,
                None => match s.allocate(&used) {
                    Ok(ip) => ip,
                    Err(e) => return Some(Err(Error::Conflict(e.to_string()))),
                },
            };
            st.ip = ip.to_string();
            st.network = n.name.clone();
            Some(Ok(ip))
        })?;
        got.ok_or_else(|| Error::NoSuchContainer(id.to_string()))?
    }
}

/// Addresses on network `net` held by containers other than `id`: first interfaces on
/// it, and endpoints of containers connected to it later. Decided from the states alone,
/// inside the allocating transaction (a container created meanwhile counts too).
fn used_on(all: &[(String, crate::ContainerState)], id: &str, net: &str) -> Vec<Ipv4Addr> {
    let mut used = Vec::new();
    for (_, st) in all.iter().filter(|(other, _)| other != id) {
        if st.network == net {
            used.extend(st.ip.parse::<Ipv4Addr>().ok());
        }
        for e in st.endpoints.iter().filter(|e| e.network == net) {
            used.extend(e.ip.parse::<Ipv4Addr>().ok());
        }
    }
    used
}

/// Give container `id` an address on `n` for an extra interface `ifname`, recorded as an
/// endpoint in its state (one IMMEDIATE transaction).
pub fn allocate_endpoint(
    db: &mut Db,
    id: &str,
    n: &Network,
    want: Option<Ipv4Addr>,
    ifname: &str,
) -> Result<Ipv4Addr> {
    let s = n.subnet()?;
    let got = db.update_states(|all| {
        let used = used_on(all, id, &n.name);
        let st = &mut all.iter_mut().find(|(other, _)| other == id)?.1;
        if let Some(e) = st.endpoints.iter().find(|e| e.network == n.name) {
            return e.ip.parse::<Ipv4Addr>().ok().map(Ok);
        }
        let ip = match want {
            Some(w) if used.contains(&w) => {
                return Some(Err(Error::Conflict(format!("Address already in use: {w}"))))
            }
            Some(w) if !s.usable(w) => {
                return Some(Err(Error::Invalid(format!(
                    "address {w} is not usable in {s}"
                ))))
            }
            Some(w) => w,
            None => match s.allocate(&used) {
                Ok(ip) => ip,
                Err(e) => return Some(Err(Error::Conflict(e.to_string()))),
            },
        };
        st.endpoints.push(crate::config::Endpoint {
            network: n.name.clone(),
            ip: ip.to_string(),
            ifname: ifname.to_string(),
        });
        Some(Ok(ip))
    })?;
    got.ok_or_else(|| Error::NoSuchContainer(id.to_string()))?
}

/// The host-side veth of a container's interface (`eth0` is the first network's).
pub fn host_if(id: &str, ifname: &str) -> String {
    match ifname.strip_prefix("eth").filter(|k| *k != "0") {
        Some(k) => format!("vq{}x{k}", &id[..id.len().min(10)]),
        None => net::bridge::host_if(id),
    }
}

/// Put a running container (init `pid`) on an extra network as `ifname`.
pub fn join(
    paths: &Paths,
    db: &mut Db,
    id: &str,
    pid: i32,
    n: &Network,
    att: &crate::config::Attachment,
    ifname: &str,
) -> Result<()> {
    let ip = allocate_endpoint(db, id, n, parse_ip(att.ip.as_deref())?, ifname)?;
    let s = n.subnet()?;
    net::bridge::ensure(&n.bridge, &s, n.kind(), &paths.run.join("net.lock"))
        .map_err(Error::Net)?;
    if n.name != "bridge" {
        crate::dns::ensure(paths, n)?;
    }
    let hif = host_if(id, ifname);
    let _ = net::bridge::detach(&hif);
    if let Err(e) = net::bridge::attach(pid, &hif, &n.bridge, ip, &s, None, ifname) {
        let _ = db.update_state(id, |st| st.endpoints.retain(|e| e.network != n.name));
        return Err(Error::Net(e));
    }
    let hostname = db.get(id)?.config.hostname;
    crate::rootfs::hosts_entry(&paths.container(id), &ip.to_string(), Some(&hostname))
}

/// `network connect`: remember the attachment; join now if the container runs.
pub fn connect(
    paths: &Paths,
    db: &mut Db,
    net_name: &str,
    ctr: &str,
    aliases: Vec<String>,
    ip: Option<String>,
) -> Result<()> {
    let n = get(db, net_name)?;
    let mut r = db.get(ctr)?;
    let mode = r.config.network_mode.clone();
    if mode.network().is_none() {
        return Err(Error::Conflict(format!("container sharing network namespace with another container or host cannot be connected to any other network ({mode})")));
    }
    if mode.is_on(&n.name) && r.config.primary_disconnected {
        // Back on its own network: as its first one from the next start on; now, if it
        // runs, as one more interface (its published ports return at the next start).
        r.config.primary_disconnected = false;
        if !aliases.is_empty() {
            r.config.aliases = aliases.clone();
        }
        if ip.is_some() {
            r.config.ip = ip.clone();
        }
        db.set_config(&r.id, &r.config)?;
        if r.state.status == ContainerStatus::Running && r.state.pid > 0 {
            let att = crate::config::Attachment {
                network: n.name.clone(),
                aliases,
                ip,
            };
            let ifname = next_ifname(&r.state);
            if let Err(e) = join(paths, db, &r.id, r.state.pid, &n, &att, &ifname) {
                r.config.primary_disconnected = true;
                db.set_config(&r.id, &r.config)?;
                return Err(e);
            }
        }
        return endpoint_event(db, "connect", &n, &r.id);
    }
    if (mode.is_on(&n.name) && !r.config.primary_disconnected)
        || r.config.networks.iter().any(|a| a.network == n.name)
    {
        return Err(Error::Conflict(format!(
            "endpoint with name {} already exists in network {}",
            r.name, n.name
        )));
    }
    let att = crate::config::Attachment {
        network: n.name.clone(),
        aliases,
        ip,
    };
    r.config.networks.push(att.clone());
    db.set_config(&r.id, &r.config)?;
    if r.state.status == ContainerStatus::Running && r.state.pid > 0 {
        let ifname = next_ifname(&r.state);
        if let Err(e) = join(paths, db, &r.id, r.state.pid, &n, &att, &ifname) {
            r.config.networks.retain(|a| a.network != n.name);
            db.set_config(&r.id, &r.config)?;
            return Err(e);
        }
    }
    endpoint_event(db, "connect", &n, &r.id)
}

/// A network event about one of its containers (`connect`, `disconnect`).
fn endpoint_event(db: &Db, action: &str, n: &Network, id: &str) -> Result<()> {
    let mut a = BTreeMap::new();
    a.insert("container".to_string(), id.to_string());
    a.insert("name".to_string(), n.name.clone());
    db.event("network", action, &n.id, &a)
}

/// The first `ethN` a running container does not use (`eth0` is its first network's).
fn next_ifname(st: &crate::config::ContainerState) -> String {
    (0..)
        .map(|k| format!("eth{k}"))
        .find(|name| {
            (st.ip.is_empty() || name != "eth0") && !st.endpoints.iter().any(|e| e.ifname == *name)
        })
        .unwrap_or_default()
}

/// `network disconnect`: leave an extra network (now, if running).
pub fn disconnect(paths: &Paths, db: &mut Db, net_name: &str, ctr: &str) -> Result<()> {
    let n = get(db, net_name)?;
    let mut r = db.get(ctr)?;
    let dir = paths.container(&r.id);
    // Its interface on `n` besides eth0: an extra network's, or a first network's joined
    // again while it runs.
    let endpoint = r.state.endpoints.iter().find(|e| e.network == n.name);
    let primary = r.config.network_mode.is_on(&n.name) && !r.config.primary_disconnected;
    if primary {
        // Off its first network: eth0 and the published ports go now; another network's
        // gateway becomes the default route, as Docker does.
        r.config.primary_disconnected = true;
        crate::portfwd::stop_all();
        net::bridge::unpublish(&r.state.ports).map_err(Error::Net)?;
        net::bridge::detach(&net::bridge::host_if(&r.id)).map_err(Error::Net)?;
        if !r.state.ip.is_empty() {
            crate::rootfs::hosts_entry(&dir, &r.state.ip, None)?;
        }
    } else if r.config.networks.iter().any(|a| a.network == n.name) {
        r.config.networks.retain(|a| a.network != n.name);
    } else {
        return Err(Error::Conflict(format!(
            "container {} is not connected to network {}",
            r.id, n.name
        )));
    }
    db.set_config(&r.id, &r.config)?;
    if let Some(e) = endpoint {
        net::bridge::detach(&host_if(&r.id, &e.ifname)).map_err(Error::Net)?;
        crate::rootfs::hosts_entry(&dir, &e.ip, None)?;
    }
    let st = db.update_state(&r.id, |st| {
        if primary {
            st.ip.clear();
            st.network.clear();
            st.ports.clear();
        }
        st.endpoints.retain(|e| e.network != n.name);
    })?;
    let live = r.state.status == ContainerStatus::Running && r.state.pid > 0;
    if primary && live && (!r.state.ip.is_empty() || endpoint.is_some()) {
        if let Some(e) = st.endpoints.first() {
            let gw = get(db, &e.network)?.subnet()?.gateway();
            net::bridge::default_route(r.state.pid, gw).map_err(Error::Net)?;
        }
    }
    endpoint_event(db, "disconnect", &n, &r.id)
}

/// A requested `--ip`, parsed.
pub fn parse_ip(s: Option<&str>) -> Result<Option<Ipv4Addr>> {
    s.map(|s| {
        s.parse()
            .map_err(|_| Error::Invalid(format!("invalid --ip {s}")))
    })
    .transpose()
}

fn db_ports_in_use(paths: &Paths, id: &str) -> Result<Vec<net::ports::PortBinding>> {
    Ok(Db::open(&paths.root)?
        .list()?
        .into_iter()
        .filter(|r| r.id != id)
        .flat_map(|r| r.state.ports)
        .collect())
}

/// Put a created container (its init is `pid`) on its network and publish its ports;
/// returns the ports in effect (host ports chosen).
pub fn attach(
    paths: &Paths,
    id: &str,
    pid: i32,
    ip: Ipv4Addr,
    n: &Network,
    wanted: &[net::ports::PortBinding],
    mac: Option<&str>,
) -> Result<Vec<net::ports::PortBinding>> {
    let s = n.subnet()?;
    let lock = paths.run.join("net.lock");
    net::bridge::ensure(&n.bridge, &s, n.kind(), &lock).map_err(Error::Net)?;
    if n.name != "bridge" {
        crate::dns::ensure(paths, n)?;
    }
    runtime::debug!("network {id}: bridge ready");
    let host_if = net::bridge::host_if(id);
    // A veth left by a killed monitor of the same container.
    let _ = net::bridge::detach(&host_if);
    net::bridge::attach(pid, &host_if, &n.bridge, ip, &s, mac, "eth0").map_err(Error::Net)?;
    runtime::debug!("network {id}: attached");
    let mut ports = wanted.to_vec();
    // A port published by another container, or one a host process listens on.
    let in_use = if ports.iter().any(|p| p.host_port != 0) {
        db_ports_in_use(paths, id)?
    } else {
        Vec::new()
    };
    for p in ports.iter().filter(|p| p.host_port != 0) {
        let taken_by_quai = in_use.iter().any(|o| {
            o.proto == p.proto
                && o.host_port == p.host_port
                && (o.host_ip.is_none() || p.host_ip.is_none() || o.host_ip == p.host_ip)
        });
        let free = if taken_by_quai {
            Ok(())
        } else {
            net::ports::free_port_is(p.proto, p.host_ip, p.host_port)
        };
        if taken_by_quai || free.is_err() {
            let _ = net::bridge::detach(&host_if);
            let at = format!(
                "{}:{}",
                p.host_ip.unwrap_or(Ipv4Addr::UNSPECIFIED),
                p.host_port
            );
            let refused = matches!(&free, Err(net::Error::Io { source, .. })
                if source.kind() == std::io::ErrorKind::PermissionDenied);
            return Err(Error::Start {
                code: 125,
                message: if refused {
                    format!(
                        "Bind for {at} failed: permission denied (rootless: ports below \
                         net.ipv4.ip_unprivileged_port_start, {}, need that sysctl lowered)",
                        std::fs::read_to_string("/proc/sys/net/ipv4/ip_unprivileged_port_start")
                            .unwrap_or_default()
                            .trim()
                    )
                } else {
                    format!("Bind for {at} failed: port is already allocated")
                },
            });
        }
    }
    for p in ports.iter_mut().filter(|p| p.host_port == 0) {
        p.host_port = net::ports::free_port(p.proto, p.host_ip).map_err(Error::Net)?;
    }
    runtime::debug!("network {id}: ports checked");
    let published = net::bridge::publish(&ports, ip).or_else(|_| {
        // The table may have been removed since the namespace was set up: once more.
        net::bridge::ensure_full(&n.bridge, &s, n.kind(), &lock)?;
        net::bridge::publish(&ports, ip)
    });
    if let Err(e) = published {
        let _ = net::bridge::detach(&host_if);
        return Err(Error::Net(e));
    }
    // Rootless, the host cannot reach the bridge: this process (the monitor) listens.
    if crate::rootless::active() && !ports.is_empty() {
        if let Err(e) = crate::portfwd::start(&ports, ip) {
            let _ = net::bridge::unpublish(&ports);
            let _ = net::bridge::detach(&host_if);
            return Err(e);
        }
    }
    Ok(ports)
}

/// Undo [`attach`] (and [`join`]s): withdraw the ports, remove the veths. Keeps going and
/// reports all.
pub fn detach(
    id: &str,
    ports: &[net::ports::PortBinding],
    endpoints: &[crate::config::Endpoint],
) -> Result<()> {
    // Every step is tried and every failure kept (a leaked veth must not hide a leaked
    // port, nor the other way round).
    let mut errors: Vec<Error> = Vec::new();
    crate::portfwd::stop_all();
    errors.extend(net::bridge::unpublish(ports).err().map(Error::Net));
    errors.extend(
        net::bridge::detach(&net::bridge::host_if(id))
            .err()
            .map(Error::Net),
    );
    for e in endpoints {
        errors.extend(
            net::bridge::detach(&host_if(id, &e.ifname))
                .err()
                .map(Error::Net),
        );
    }
    match errors.len() {
        0 => Ok(()),
        1 => Err(errors.remove(0)),
        _ => Err(Error::Several(errors)),
    }
}

/// `-p`'s grammar (`[IP:][HOST:]CTR[/PROTO]`, ranges too), for clients that take
/// published ports in other forms (the Docker API's `PortBindings`).
pub fn parse_ports(spec: &str) -> std::result::Result<Vec<net::ports::PortBinding>, String> {
    net::ports::parse(spec).map_err(|e| e.to_string())
}
