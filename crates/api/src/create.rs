//! `POST /containers/create`: Docker's create body (v1.47's `Config` with its
//! `HostConfig` and `NetworkingConfig`, as the docker CLI, compose and docker-py send it)
//! made into the engine's request. Every value is read here and checked (here for what
//! dockerd's router and `verifyContainerSettings` check in their own words, in the engine
//! for the rest) before anything is created; the further networks of `EndpointsConfig`
//! are joined once the container exists, and a failure there removes it again.

use std::collections::{BTreeMap, HashMap};

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::{Extension, Json};
use engine::config::{
    AttachStreams, DeviceMapping, LogConfig, NetworkMode, RestartName, RestartPolicy,
    ThrottleDevice, Ulimit,
};
use engine::resolve::{CreateRequest, HealthFlags};
use serde_json::{json, Value};

use crate::{ApiError, ApiVersion};

pub(crate) mod body;

use body::{decode, Body, PortBinding, Restart, StrSlice, Throttle};

/// A further network the container joins once created.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Join {
    pub network: String,
    pub aliases: Vec<String>,
    pub ip: Option<String>,
}

/// What the body asks for: the engine's request, the further networks, and dockerd's
/// warnings about what is not applied.
#[derive(Debug)]
pub(crate) struct Plan {
    pub req: CreateRequest,
    pub joins: Vec<Join>,
    pub warnings: Vec<String>,
}

fn opt(s: String) -> Option<String> {
    (!s.is_empty()).then_some(s)
}

fn nonzero(v: i64) -> Option<i64> {
    (v != 0).then_some(v)
}

fn bad(m: impl Into<String>) -> ApiError {
    ApiError::bad_request(m)
}

/// dockerd's `ValidateRestartPolicy`, in its words.
fn restart_policy(r: &Restart) -> Result<RestartPolicy, ApiError> {
    let name = match r.name.as_str() {
        "" | "no" => RestartName::No,
        "always" => RestartName::Always,
        "unless-stopped" => RestartName::UnlessStopped,
        "on-failure" => RestartName::OnFailure,
        other => {
            return Err(bad(format!(
                "invalid restart policy: unknown policy '{other}'; use one of 'no', 'always', 'on-failure', or 'unless-stopped'"
            )))
        }
    };
    let n = r.maximum_retry_count;
    match name {
        // An empty name took any count before Docker 25.
        _ if r.name.is_empty() => {}
        RestartName::OnFailure if n < 0 => {
            return Err(bad(
                "invalid restart policy: maximum retry count cannot be negative",
            ))
        }
        RestartName::OnFailure => {}
        _ if n != 0 => {
            let neg = if n < 0 { " and cannot be negative" } else { "" };
            return Err(bad(format!(
                "invalid restart policy: maximum retry count can only be used with 'on-failure'{neg}"
            )));
        }
        _ => {}
    }
    Ok(RestartPolicy {
        name,
        max_retries: if name == RestartName::OnFailure {
            u32::try_from(n).unwrap_or(u32::MAX)
        } else {
            0
        },
    })
}

/// `PortBindings` as the engine's `-p` texts, dockerd's `validatePortBindings` first.
fn port_specs(
    bindings: &BTreeMap<String, Vec<PortBinding>>,
    warnings: &mut Vec<String>,
) -> Result<(Vec<String>, Vec<String>), ApiError> {
    let (mut specs, mut exposed) = (Vec::new(), Vec::new());
    for (port, list) in bindings {
        let (num, proto) = port.split_once('/').unwrap_or((port.as_str(), "tcp"));
        let valid =
            num.parse::<u16>().is_ok_and(|n| n != 0) && matches!(proto, "tcp" | "udp" | "sctp");
        if !valid {
            return Err(bad(format!("invalid port specification: {port:?}")));
        }
        exposed.push(format!("{num}/{proto}"));
        for b in list {
            if !b.host_port.is_empty() {
                let ok = match b.host_port.split_once('-') {
                    Some((a, z)) => a.parse::<u16>().is_ok() && z.parse::<u16>().is_ok(),
                    None => b.host_port.parse::<u16>().is_ok(),
                };
                if !ok {
                    return Err(bad(format!(
                        "invalid port specification: {:?}",
                        b.host_port
                    )));
                }
            }
            let spec = match b.host_ip.parse::<std::net::IpAddr>() {
                _ if b.host_ip.is_empty() && b.host_port.is_empty() => format!("{num}/{proto}"),
                _ if b.host_ip.is_empty() => format!("{}:{num}/{proto}", b.host_port),
                Ok(std::net::IpAddr::V6(_)) => {
                    warnings.push(format!(
                        "quai has no IPv6: the binding of {port} to [{}]:{} is left out",
                        b.host_ip, b.host_port
                    ));
                    continue;
                }
                _ => format!("{}:{}:{num}/{proto}", b.host_ip, b.host_port),
            };
            specs.push(spec);
        }
    }
    Ok((specs, exposed))
}

/// Docker's create body as the engine's request, checked as dockerd checks it before it
/// creates anything (what needs the engine's state — the networks, the image, other
/// containers — is checked by the caller and by `Engine::create`).
pub(crate) fn plan(
    name: Option<String>,
    platform: Option<String>,
    version: ApiVersion,
    b: Body,
) -> Result<Plan, ApiError> {
    let h = b.host_config;
    let mut warnings = Vec::new();
    if b.image.is_empty() {
        return Err(bad("config cannot be empty in order to create a container"));
    }
    if let Some(p) = &platform {
        engine::validate::platform(p).map_err(|e| bad(e.to_string()))?;
    }
    // dockerd's `validateCreateRequest` and router checks, in its order and words.
    if h.uts_mode == "host" && !b.hostname.is_empty() {
        return Err(bad("conflicting options: hostname and the UTS mode"));
    }
    if !h.isolation.is_empty() && h.isolation != "default" {
        return Err(bad(format!(
            "invalid isolation ({}): linux only supports 'default'",
            h.isolation
        )));
    }
    if h.io_maximum_bandwidth != 0 {
        return Err(bad(
            "invalid option: QoS maximum bandwidth configuration is not supported on linux",
        ));
    }
    if h.io_maximum_iops != 0 {
        return Err(bad(
            "invalid option: QoS maximum IOPs configuration is not supported on linux",
        ));
    }
    if h.cpu_realtime_period != 0
        && h.cpu_realtime_runtime != 0
        && h.cpu_realtime_runtime > h.cpu_realtime_period
    {
        return Err(bad(
            "cpu real-time runtime cannot be higher than cpu real-time period",
        ));
    }
    if h.cpu_shares < 0 {
        return Err(bad(format!(
            "invalid CPU shares ({}): value must be a positive integer",
            h.cpu_shares
        )));
    }
    if version.at_least(1, 42) {
        for m in &h.mounts {
            for (set, what) in [
                (
                    m.volume_options.is_some() && m.kind != "volume",
                    "VolumeOptions",
                ),
                (m.bind_options.is_some() && m.kind != "bind", "BindOptions"),
                (
                    m.tmpfs_options.is_some() && m.kind != "tmpfs",
                    "TmpfsOptions",
                ),
            ] {
                if set {
                    return Err(bad(format!(
                        "{what} must not be specified on mount type {:?}",
                        m.kind
                    )));
                }
            }
        }
    }
    // The networks: the one `NetworkMode` names first, the others joined after create.
    let mode = match h.network_mode.as_str() {
        "" | "default" => "bridge".to_string(),
        m => m.to_string(),
    };
    let mut endpoints = BTreeMap::new();
    for (net, ep) in b.networking_config.endpoints_config {
        let ep = ep.ok_or_else(|| {
            bad(format!(
                "invalid config for network {net}: EndpointsConfig is nil"
            ))
        })?;
        let net = if net == "default" {
            "bridge".to_string()
        } else {
            net
        };
        endpoints.insert(net, ep);
    }
    if !version.at_least(1, 44) && endpoints.len() > 1 {
        return Err(bad(format!(
            "Container cannot be created with multiple network endpoints: {}",
            endpoints.keys().cloned().collect::<Vec<_>>().join(", ")
        )));
    }
    let primary = endpoints.remove(&mode).unwrap_or_default();
    for (net, ep) in &endpoints {
        if !ep.ipam_config.ipv6_address.is_empty() {
            return Err(bad(format!(
                "invalid config for network {net}: quai's networks have no IPv6 addresses"
            )));
        }
        if let Some(ip) = opt(ep.ipam_config.ipv4_address.clone()) {
            ip.parse::<std::net::Ipv4Addr>().map_err(|_| {
                bad(format!(
                    "invalid config for network {net}: invalid endpoint settings:\ninvalid IPv4 address: {ip}"
                ))
            })?;
        }
        for (set, what) in [
            (!ep.mac_address.is_empty(), "MacAddress"),
            (!ep.links.is_empty(), "Links"),
        ] {
            if set {
                return Err(bad(format!(
                    "invalid config for network {net}: {what} on a network other than the first is not supported by quai"
                )));
            }
        }
        if !ep.driver_opts.is_empty() {
            warnings.push(format!(
                "DriverOpts of network {net} are not applied by quai"
            ));
        }
    }
    let as_mode = NetworkMode::from(mode.clone());
    if !endpoints.is_empty() && as_mode.network().is_none() {
        return Err(bad("container sharing network namespace with another container or host cannot be connected to any other network"));
    }
    if !primary.ipam_config.ipv6_address.is_empty() {
        return Err(bad(format!(
            "invalid config for network {mode}: quai's networks have no IPv6 addresses"
        )));
    }
    if !primary.driver_opts.is_empty() {
        warnings.push(format!(
            "DriverOpts of network {mode} are not applied by quai"
        ));
    }
    // The container-wide MacAddress (deprecated in 1.44): the first network's.
    let mut mac = primary.mac_address.clone();
    if !b.mac_address.is_empty() {
        if !version.at_least(1, 44) && as_mode.network().is_none() {
            return Err(bad("conflicting options: mac-address and the network mode"));
        }
        if mac.is_empty() {
            mac = b.mac_address.clone();
        } else if !mac.eq_ignore_ascii_case(&b.mac_address) {
            return Err(bad("the container-wide MAC address must match the endpoint-specific MAC address for the main network, or be left empty"));
        }
        if version.at_least(1, 44) {
            warnings.push("The container-wide MacAddress field is now deprecated. It should be specified in EndpointsConfig instead.".into());
        }
    }
    // dockerd's `verifyContainerSettings`.
    if let Some(hc) = &b.healthcheck {
        if hc.retries < 0 {
            return Err(bad("Retries in Healthcheck cannot be negative"));
        }
    }
    let restart = restart_policy(&h.restart_policy)?;
    if h.auto_remove && restart.name != RestartName::No {
        return Err(bad(
            "can't create 'AutoRemove' container with restart policy",
        ));
    }
    for m in &h.mounts {
        m.to_config().map_err(|e| bad(e.to_string()))?;
    }
    for e in &h.extra_hosts {
        engine::validate::extra_host(e).map_err(|e| bad(e.to_string()))?;
    }
    let (ports, port_keys) = port_specs(&h.port_bindings, &mut warnings)?;
    for (list, what) in [(&h.cap_add, "CapAdd"), (&h.cap_drop, "CapDrop")] {
        for cap in list {
            if engine::spec::check_caps(std::slice::from_ref(cap)).is_err() {
                let full = engine::spec::cap_name(cap);
                return Err(bad(format!("invalid {what}: unknown capability: {full:?}")));
            }
        }
    }
    if h.annotations.keys().any(String::is_empty) {
        return Err(bad(
            "invalid Annotations: the empty string is not permitted as an annotation key",
        ));
    }
    // What quai does not have, refused rather than ignored.
    if !h.cgroup.is_empty() {
        return Err(bad(format!(
            "HostConfig.Cgroup {:?} is not supported by quai",
            h.cgroup
        )));
    }
    if !h.storage_opt.is_empty() {
        return Err(bad(
            "--storage-opt is supported only for overlay over xfs with 'pquota' mount option",
        ));
    }
    if h.masked_paths.is_some() || h.readonly_paths.is_some() {
        return Err(bad(
            "HostConfig.MaskedPaths and ReadonlyPaths are not supported by quai",
        ));
    }
    if let Some(r) = h.device_requests.first() {
        return Err(bad(format!(
            "could not select device driver {:?} with capabilities: {} (quai has no device drivers)",
            r["Driver"].as_str().unwrap_or_default(),
            r["Capabilities"]
        )));
    }
    engine::volumes::check_driver(&h.volume_driver, &BTreeMap::new())
        .map_err(|e| bad(e.to_string()))?;
    if !h.blkio_weight_device.is_empty() {
        warnings.push("Your kernel does not support Block I/O weight_device or the cgroup is not mounted. Weight-device discarded.".into());
    }
    if h.cpu_percent > 0 {
        warnings.push("linux does not support CPU percent. Percent discarded.".into());
    }

    let mut req = CreateRequest {
        name,
        image: b.image,
        platform,
        workdir: opt(b.working_dir),
        user: opt(b.user),
        hostname: opt(b.hostname),
        stop_signal: opt(b.stop_signal),
        volumes: h.binds,
        mounts: h.mounts,
        anonymous_volumes: b.volumes.into_keys().collect(),
        tmpfs: h
            .tmpfs
            .into_iter()
            .map(|(dst, o)| {
                if o.is_empty() {
                    dst
                } else {
                    format!("{dst}:{o}")
                }
            })
            .collect(),
        publish_all: h.publish_all_ports,
        ..Default::default()
    };
    // dockerd's `merge`: an entrypoint given replaces the image's (`[]` clears it).
    req.entrypoint = b.entrypoint.map(StrSlice::into_vec);
    req.cmd = b.cmd.map(StrSlice::into_vec).unwrap_or_default();
    if let Some(hc) = b.healthcheck {
        req.health = HealthFlags {
            test: Some(hc.test),
            interval: nonzero(hc.interval),
            timeout: nonzero(hc.timeout),
            start_period: nonzero(hc.start_period),
            // StartInterval came with API 1.44.
            start_interval: nonzero(hc.start_interval).filter(|_| version.at_least(1, 44)),
            retries: u32::try_from(hc.retries).ok().filter(|r| *r != 0),
            disable: false,
        };
    }
    let c = &mut req.config;
    c.domainname = b.domainname;
    c.env = b.env;
    c.labels = b.labels;
    c.tty = b.tty;
    c.open_stdin = b.open_stdin;
    c.stdin_once = b.stdin_once;
    c.attach = AttachStreams {
        stdin: b.attach_stdin,
        stdout: b.attach_stdout,
        stderr: b.attach_stderr,
    };
    c.stop_timeout = b.stop_timeout;
    c.network_disabled = b.network_disabled;
    let mut exposed: Vec<String> = b.exposed_ports.into_keys().collect();
    exposed.extend(port_keys);
    c.exposed_ports = engine::validate::exposed_ports(&exposed).map_err(|e| bad(e.to_string()))?;
    for p in &ports {
        c.ports
            .extend(engine::network::parse_ports(p).map_err(bad)?);
    }
    // dockerd's router names the default network at once: `HostConfig.NetworkMode` reads
    // back `bridge` for `""` and `default`.
    c.network_mode_given = mode.clone();
    c.network_mode = as_mode;
    c.ip = opt(primary.ipam_config.ipv4_address);
    c.aliases = primary.aliases;
    c.mac_address = opt(mac);
    c.restart = restart;
    c.auto_remove = h.auto_remove;
    c.volumes_from = h.volumes_from;
    c.annotations = h.annotations;
    c.cap_add = h.cap_add;
    c.cap_drop = h.cap_drop;
    c.cgroupns_mode = h.cgroupns_mode;
    c.dns = h.dns;
    c.dns_options = h.dns_options;
    c.dns_search = h.dns_search;
    c.extra_hosts = h.extra_hosts;
    c.group_add = h.group_add;
    c.ipc_mode = h.ipc_mode;
    c.pid_mode = h.pid_mode;
    c.uts_mode = h.uts_mode;
    c.userns_mode = h.userns_mode;
    c.cgroup_parent = h.cgroup_parent;
    c.oom_score_adj = i32::try_from(h.oom_score_adj).unwrap_or(if h.oom_score_adj < 0 {
        i32::MIN
    } else {
        i32::MAX
    });
    c.privileged = h.privileged;
    c.read_only = h.readonly_rootfs;
    c.security_opt = h.security_opt;
    c.shm_size = nonzero(h.shm_size);
    c.sysctls = h.sysctls;
    c.runtime = h.runtime;
    c.isolation = h.isolation;
    c.init = h.init.unwrap_or(false);
    c.cid_file = h.container_id_file;
    c.log_config = LogConfig {
        driver: h.log_config.kind,
        opts: h.log_config.config,
    };
    // Links: the host config's and the first network's (docker's CLI sends both).
    for l in h.links.iter().chain(primary.links.iter()) {
        let l = engine::validate::link(l).map_err(|e| bad(e.to_string()))?;
        if !c.links.contains(&l) {
            c.links.push(l);
        }
    }
    for d in h.devices {
        c.devices.push(DeviceMapping {
            path_in_container: if d.path_in_container.is_empty() {
                d.path_on_host.clone()
            } else {
                d.path_in_container
            },
            path_on_host: d.path_on_host,
            cgroup_permissions: if d.cgroup_permissions.is_empty() {
                "rwm".into()
            } else {
                d.cgroup_permissions
            },
        });
    }
    c.device_cgroup_rules = h.device_cgroup_rules;
    let r = &mut c.resources;
    r.memory = nonzero(h.memory);
    r.memory_swap = nonzero(h.memory_swap);
    r.memory_reservation = nonzero(h.memory_reservation);
    r.memory_swappiness = h.memory_swappiness.filter(|s| *s != -1);
    r.kernel_memory = nonzero(h.kernel_memory);
    r.oom_kill_disable = h.oom_kill_disable.unwrap_or(false);
    r.nano_cpus = nonzero(h.nano_cpus);
    r.cpu_shares = u64::try_from(h.cpu_shares).ok().filter(|s| *s != 0);
    r.cpu_period = nonzero(h.cpu_period);
    r.cpu_quota = nonzero(h.cpu_quota);
    r.cpu_rt_period = nonzero(h.cpu_realtime_period);
    r.cpu_rt_runtime = nonzero(h.cpu_realtime_runtime);
    r.cpuset_cpus = opt(h.cpuset_cpus);
    r.cpuset_mems = opt(h.cpuset_mems);
    // 0 and negative: no limit (dockerd's router).
    r.pids_limit = h.pids_limit.filter(|p| *p > 0);
    r.blkio_weight = match h.blkio_weight {
        0 => None,
        w => Some(
            u16::try_from(w)
                .ok()
                .filter(|w| (10..=1000).contains(w))
                .ok_or_else(|| bad("Range of blkio weight is from 10 to 1000"))?,
        ),
    };
    let throttles = |list: Vec<Throttle>| -> Result<Vec<ThrottleDevice>, ApiError> {
        list.into_iter()
            .map(|t| {
                Ok(ThrottleDevice {
                    rate: u64::try_from(t.rate).map_err(|_| {
                        bad(format!("invalid rate for device {}: {}", t.path, t.rate))
                    })?,
                    path: t.path,
                })
            })
            .collect()
    };
    r.device_read_bps = throttles(h.blkio_device_read_bps)?;
    r.device_write_bps = throttles(h.blkio_device_write_bps)?;
    r.device_read_iops = throttles(h.blkio_device_read_iops)?;
    r.device_write_iops = throttles(h.blkio_device_write_iops)?;
    for u in h.ulimits {
        // -1: unlimited.
        let lim = |v: i64| match v {
            -1 => Ok(u64::MAX),
            v => u64::try_from(v).map_err(|_| bad(format!("invalid ulimit {}: {v}", u.name))),
        };
        r.ulimits.push(Ulimit {
            soft: lim(u.soft)?,
            hard: lim(u.hard)?,
            name: u.name,
        });
    }
    let joins = endpoints
        .into_iter()
        .map(|(network, ep)| Join {
            network,
            aliases: ep.aliases,
            ip: opt(ep.ipam_config.ipv4_address),
        })
        .collect();
    Ok(Plan {
        req,
        joins,
        warnings,
    })
}

/// `POST /containers/create?name=&platform=`.
pub async fn create(
    State(st): State<crate::State>,
    Query(q): Query<HashMap<String, String>>,
    version: Option<Extension<ApiVersion>>,
    body: axum::body::Bytes,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let version = version.map_or(ApiVersion::current(), |Extension(v)| v);
    let name = q.get("name").filter(|n| !n.is_empty()).cloned();
    // The platform query came with API 1.41.
    let platform = q
        .get("platform")
        .filter(|p| !p.is_empty() && version.at_least(1, 41))
        .cloned();
    let Plan {
        req,
        joins,
        mut warnings,
    } = plan(name, platform, version, decode(&body)?)?;
    let image = req.image.clone();
    st.with_engine(move |eng| {
        // The further networks exist, and their addresses are on them, before anything
        // is made.
        for j in &joins {
            let n = eng.network(&j.network)?;
            let ip = engine::network::parse_ip(j.ip.as_deref())?;
            if ip.is_some_and(|ip| n.subnet().is_ok_and(|s| !s.contains(ip))) {
                return Err(bad(format!(
                    "invalid config for network {}: invalid endpoint settings:\nno configured subnet or ip-range contain the IP address {}",
                    n.name,
                    j.ip.as_deref().unwrap_or_default()
                )));
            }
        }
        let (rec, more) = match eng.create_with_warnings(req) {
            Ok(made) => made,
            Err(e) if e.is_no_such_image() => {
                return Err(ApiError::new(
                    StatusCode::NOT_FOUND,
                    format!("No such image: {image}"),
                ))
            }
            Err(e) => return Err(e.into()),
        };
        warnings.extend(more);
        for j in joins {
            if let Err(e) = eng.network_connect(&j.network, &rec.id, j.aliases, j.ip) {
                // A create that fails leaves nothing: the container goes again.
                let _ = eng.remove(&rec.id, true, true);
                return Err(e.into());
            }
        }
        Ok((
            StatusCode::CREATED,
            Json(json!({"Id": rec.id, "Warnings": warnings})),
        ))
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan_of(v: Value) -> Result<Plan, String> {
        let body = decode(v.to_string().as_bytes()).map_err(|e| e.message)?;
        plan(Some("c1".into()), None, ApiVersion::current(), body).map_err(|e| e.message)
    }

    /// What docker CLI 28 sends for a `docker run` with many flags (captured).
    fn cli_body() -> Value {
        serde_json::from_str(include_str!("create/cli28-run.json")).expect("captured body")
    }

    #[test]
    fn the_docker_clis_body_maps_onto_the_request() {
        let p = plan_of(cli_body()).expect("plan");
        assert!(p.joins.is_empty() && p.warnings.is_empty(), "{p:?}");
        let r = &p.req;
        assert_eq!(r.entrypoint.as_deref(), Some(&[String::new()][..]));
        assert_eq!(r.cmd, ["sh", "-c", "echo hi"]);
        assert_eq!(r.user.as_deref(), Some("1000:1000"));
        assert_eq!(r.workdir.as_deref(), Some("/tmp"));
        assert_eq!(r.volumes, ["named:/named"]);
        assert_eq!(r.anonymous_volumes, ["/anon"]);
        assert_eq!(r.tmpfs, ["/run:size=1m"]);
        assert_eq!(r.mounts.len(), 3);
        assert_eq!(
            r.health.test.as_deref(),
            Some(&["CMD-SHELL".to_string(), "true".to_string()][..])
        );
        assert_eq!(r.health.interval, Some(2_000_000_000));
        let c = &r.config;
        assert_eq!(c.network_mode, NetworkMode::Network("net1".into()));
        assert_eq!(c.ip.as_deref(), Some("10.1.1.5"));
        assert_eq!(c.aliases, ["a1"]);
        assert_eq!(c.mac_address.as_deref(), Some("02:42:ac:11:00:02"));
        assert_eq!(
            (c.restart.name, c.restart.max_retries),
            (RestartName::OnFailure, 3)
        );
        assert_eq!(c.ports.len(), 1);
        assert_eq!(
            (c.ports[0].container_port, c.ports[0].host_port),
            (80, 8080)
        );
        assert_eq!(c.exposed_ports, ["80/tcp"]);
        assert_eq!(c.resources.memory, Some(64 << 20));
        assert_eq!(c.resources.nano_cpus, Some(500_000_000));
        assert_eq!(c.resources.pids_limit, Some(50));
        assert_eq!(c.resources.memory_swappiness, None, "-1: the host's");
        assert_eq!(
            (c.resources.ulimits[0].soft, c.resources.ulimits[0].hard),
            (100, 200)
        );
        assert_eq!(c.devices[0].path_in_container, "/dev/xnull");
        assert_eq!(c.shm_size, Some(8 << 20));
        assert_eq!(c.sysctls["net.ipv4.ip_forward"], "1");
        assert_eq!(c.log_config.opts["max-size"], "1m");
        assert!(c.read_only);
        assert_eq!(c.cap_add, ["CAP_NET_ADMIN"]);
        assert_eq!(c.extra_hosts, ["h:1.2.3.4"]);
        assert_eq!(c.network_mode_given, "net1");
    }

    #[test]
    fn several_networks_the_first_named_by_the_mode() {
        let p = plan_of(json!({
            "Image": "img",
            "HostConfig": {"NetworkMode": "front"},
            "NetworkingConfig": {"EndpointsConfig": {
                "back": {"Aliases": ["db"], "IPAMConfig": {"IPv4Address": "10.9.0.5"}},
                "front": {"Aliases": ["web"]}
            }}
        }))
        .expect("plan");
        assert_eq!(p.req.config.aliases, ["web"]);
        assert_eq!(
            p.joins,
            [Join {
                network: "back".into(),
                aliases: vec!["db".into()],
                ip: Some("10.9.0.5".into())
            }]
        );
        // Before API 1.44 a create has one network.
        let body = decode(
            json!({"Image": "i", "NetworkingConfig": {"EndpointsConfig": {"a": {}, "b": {}}}})
                .to_string()
                .as_bytes(),
        )
        .expect("decode");
        let e = plan(None, None, ApiVersion(1, 43), body).expect_err("refused");
        assert_eq!(
            e.message,
            "Container cannot be created with multiple network endpoints: a, b"
        );
    }

    #[test]
    fn entrypoint_and_cmd_take_strings_and_arrays() {
        let p = plan_of(json!({"Image": "i", "Entrypoint": "/bin/sh", "Cmd": "ls"})).expect("plan");
        assert_eq!(p.req.entrypoint, Some(vec!["/bin/sh".to_string()]));
        assert_eq!(p.req.cmd, ["ls"]);
        let p = plan_of(json!({"Image": "i", "Entrypoint": []})).expect("plan");
        assert_eq!(p.req.entrypoint, Some(Vec::new()));
        let p =
            plan_of(json!({"Image": "i", "Entrypoint": null, "Healthcheck": {"Test": ["NONE"]}}))
                .expect("plan");
        assert_eq!(p.req.entrypoint, None);
        assert_eq!(p.req.health.test, Some(vec!["NONE".to_string()]));
    }

    #[test]
    fn bad_bodies_get_dockerds_words() {
        let msg = |v: Value| plan_of(v).expect_err("refused");
        assert!(decode(b"{nope")
            .map_err(|e| e.message)
            .expect_err("bad")
            .starts_with("invalid JSON: "));
        assert_eq!(
            msg(json!({})),
            "config cannot be empty in order to create a container"
        );
        assert_eq!(
            msg(json!({"Image": "i", "HostConfig": {"RestartPolicy": {"Name": "sometimes"}}})),
            "invalid restart policy: unknown policy 'sometimes'; use one of 'no', 'always', 'on-failure', or 'unless-stopped'"
        );
        assert_eq!(
            msg(
                json!({"Image": "i", "HostConfig": {"RestartPolicy": {"Name": "always", "MaximumRetryCount": 2}}})
            ),
            "invalid restart policy: maximum retry count can only be used with 'on-failure'"
        );
        assert_eq!(
            msg(
                json!({"Image": "i", "HostConfig": {"RestartPolicy": {"Name": "on-failure", "MaximumRetryCount": -1}}})
            ),
            "invalid restart policy: maximum retry count cannot be negative"
        );
        assert_eq!(
            msg(
                json!({"Image": "i", "HostConfig": {"AutoRemove": true, "RestartPolicy": {"Name": "always"}}})
            ),
            "can't create 'AutoRemove' container with restart policy"
        );
        assert_eq!(
            msg(json!({"Image": "i", "HostConfig": {"Mounts": [{"Type": "bind", "Source": "/nonexistent-quai", "Target": "/x"}]}})),
            "invalid mount config for type \"bind\": bind source path does not exist: /nonexistent-quai"
        );
        assert_eq!(
            msg(
                json!({"Image": "i", "HostConfig": {"Mounts": [{"Type": "volume", "Target": "/x", "TmpfsOptions": {}}]}})
            ),
            "TmpfsOptions must not be specified on mount type \"volume\""
        );
        assert_eq!(
            msg(json!({"Image": "i", "HostConfig": {"PortBindings": {"0/tcp": []}}})),
            "invalid port specification: \"0/tcp\""
        );
        assert_eq!(
            msg(json!({"Image": "i", "HostConfig": {"ExtraHosts": ["nocolon"]}})),
            "bad format for add-host: \"nocolon\""
        );
        assert_eq!(
            msg(json!({"Image": "i", "HostConfig": {"CapAdd": ["NOPE"]}})),
            "invalid CapAdd: unknown capability: \"CAP_NOPE\""
        );
        assert_eq!(
            msg(json!({"Image": "i", "Healthcheck": {"Test": ["CMD", "x"], "Retries": -1}})),
            "Retries in Healthcheck cannot be negative"
        );
        assert_eq!(
            msg(json!({"Image": "i", "HostConfig": {"NetworkMode": "host"}, "NetworkingConfig": {"EndpointsConfig": {"other": {}}}})),
            "container sharing network namespace with another container or host cannot be connected to any other network"
        );
        assert_eq!(
            msg(json!({"Image": "i", "NetworkingConfig": {"EndpointsConfig": {"other": null}}})),
            "invalid config for network other: EndpointsConfig is nil"
        );
    }
}
