//! Docker's documents of the engine's objects, shaped as the Docker Engine API returns
//! them (and `docker inspect` prints them): a container's `Config`, `HostConfig`, `State`,
//! `Mounts` and `NetworkSettings`. The CLI's `inspect` and the Docker API service both
//! serve these.

use std::collections::BTreeMap;

use serde_json::{json, Value};

use crate::config::{ContainerStatus, MountKind, MountOrigin, NetworkMode};
use crate::db::Record;
use crate::lifecycle::Engine;

/// The Docker-shaped `inspect` document of a container.
pub fn container_inspect(eng: &Engine, r: &Record) -> Value {
    let c = &r.config;
    let s = &r.state;
    let args: Vec<String> = c.entrypoint.iter().chain(c.cmd.iter()).cloned().collect();
    let dir = eng.container_dir(&r.id);
    let mounts = mount_points(eng, r);
    let health = s.health.as_ref().map(|h| {
        json!({"Status": h.status, "FailingStreak": h.failing_streak,
            "Log": h.log.iter().map(|l| json!({"Start": l.start, "End": l.end, "ExitCode": l.exit_code, "Output": l.output})).collect::<Vec<_>>()})
    });
    let mut state = json!({
        "Status": s.status, "Running": s.status.is_up(),
        "Paused": s.status == ContainerStatus::Paused, "Restarting": s.status == ContainerStatus::Restarting,
        "OOMKilled": s.oom_killed, "Dead": s.status == ContainerStatus::Dead, "Pid": s.pid,
        "ExitCode": s.exit_code, "Error": s.error,
        "StartedAt": if s.started_at.is_empty() { "0001-01-01T00:00:00Z" } else { s.started_at.as_str() },
        "FinishedAt": if s.finished_at.is_empty() { "0001-01-01T00:00:00Z" } else { s.finished_at.as_str() },
    });
    if let Some(h) = health {
        state["Health"] = h;
    }
    // Docker's `HealthConfig`: every field `omitempty`.
    let healthcheck = c.health.as_ref().map(|h| {
        let mut v = json!({"Test": h.test});
        for (k, n) in [
            ("Interval", h.interval),
            ("Timeout", h.timeout),
            ("StartPeriod", h.start_period),
            ("StartInterval", h.start_interval),
            ("Retries", i64::from(h.retries)),
        ] {
            if n != 0 {
                v[k] = json!(n);
            }
        }
        v
    });

    let ports: BTreeMap<String, Value> = c
        .exposed_ports
        .iter()
        .map(|p| (p.clone(), json!({})))
        .collect();
    // `Config.Volumes`: the anonymous volumes but `--mount`'s (image's VOLUMEs, `-v /x`).
    let volumes: BTreeMap<String, Value> = c
        .mounts
        .iter()
        .filter(|m| m.anonymous && !matches!(m.origin, Some(MountOrigin::Mount(_))))
        .map(|m| (m.target.clone(), json!({})))
        .collect();
    let mut doc = json!({
        "Id": r.id,
        "Created": r.created,
        "Path": args.first().cloned().unwrap_or_default(),
        "Args": args.get(1..).unwrap_or_default(),
        "State": state,
        "Image": c.image_id,
        "ResolvConfPath": dir.join("resolv.conf"),
        "HostnamePath": dir.join("hostname"),
        "HostsPath": dir.join("hosts"),
        // Docker shows no path for a driver whose file is not json-file's.
        "LogPath": if c.log_config.driver_name() == "json-file" { json!(eng.log_path(&r.id)) } else { json!("") },
        "Name": format!("/{}", r.name),
        "RestartCount": s.restart_count,
        "Driver": "overlay",
        "Platform": "linux",
        "HostConfig": host_config(eng, r),
        "Mounts": mounts,
        "Config": {
            "Hostname": c.hostname,
            "Domainname": c.domainname,
            "User": c.user,
            "AttachStdin": c.attach.stdin,
            "AttachStdout": c.attach.stdout,
            "AttachStderr": c.attach.stderr,
            "Tty": c.tty,
            "OpenStdin": c.open_stdin,
            "StdinOnce": c.stdin_once,
            "Env": c.env,
            "Cmd": c.cmd,
            "Image": c.image,
            "Volumes": if volumes.is_empty() { Value::Null } else { json!(volumes) },
            "WorkingDir": c.workdir,
            "Entrypoint": if c.entrypoint.is_empty() { Value::Null } else { json!(c.entrypoint) },
            "Labels": c.labels,
            "StopSignal": c.stop_signal,
            "StopTimeout": c.stop_timeout,
            "Healthcheck": healthcheck,
            "ExposedPorts": if ports.is_empty() { Value::Null } else { json!(ports) },
            "OnBuild": null,
        },
        "NetworkSettings": network_settings(eng, r),
    });
    if c.network_disabled {
        doc["Config"]["NetworkDisabled"] = json!(true);
    }
    doc
}

/// A container's mounts as dockerd lists them (`Mounts` of inspect and of the list).
pub fn mount_points(eng: &Engine, r: &Record) -> Vec<Value> {
    r.config
        .mounts
        .iter()
        .map(|m| {
            let source = match m.kind {
                MountKind::Volume => eng.volume_mountpoint(&m.source).display().to_string(),
                MountKind::Bind => m.source.clone(),
                MountKind::Tmpfs => String::new(),
            };
            let mut v = json!({
                "Type": m.kind, "Source": source, "Destination": m.target,
                "Mode": if m.readonly { "ro" } else { "" }, "RW": !m.readonly, "Propagation": "",
            });
            if m.kind == MountKind::Volume {
                v["Name"] = json!(m.source);
                v["Driver"] = json!("local");
            }
            v
        })
        .collect()
}

/// Docker's `NetworkSettings` of a container (inspect; the list's `Networks` part).
pub fn network_settings(eng: &Engine, r: &Record) -> Value {
    let mut ports: BTreeMap<String, Value> = BTreeMap::new();
    for p in &r.state.ports {
        let v = ports
            .entry(format!("{}/{}", p.container_port, p.proto))
            .or_insert_with(|| json!([]));
        if let Some(a) = v.as_array_mut() {
            a.push(json!({"HostIp": p.host_ip.map(|i| i.to_string()).unwrap_or_else(|| "0.0.0.0".into()), "HostPort": p.host_port.to_string()}));
        }
    }
    // A running container's exposed ports that nothing publishes are there too, as null.
    if r.state.status.is_active() && r.config.network_mode.network().is_some() {
        for e in &r.config.exposed_ports {
            let key = if e.contains('/') {
                e.clone()
            } else {
                format!("{e}/tcp")
            };
            ports.entry(key).or_insert(Value::Null);
        }
    }
    let (ip, gw, prefix) = if r.state.ip.is_empty() {
        (String::new(), String::new(), 0)
    } else {
        let net = r.config.network_mode.network().unwrap_or_default();
        match eng.network(net).and_then(|n| n.subnet()) {
            Ok(s) => (r.state.ip.clone(), s.gateway().to_string(), s.prefix),
            Err(_) => (r.state.ip.clone(), String::new(), 0),
        }
    };
    let c = &r.config;
    let mut networks = serde_json::Map::new();
    if (c.network_mode != NetworkMode::Host || !ip.is_empty()) && !c.primary_disconnected {
        let name = c.network_mode.to_string();
        let mut ep = endpoint(eng, r, &name, &c.aliases, c.ip.as_deref());
        ep["IPAddress"] = json!(ip);
        ep["Gateway"] = json!(gw);
        ep["IPPrefixLen"] = json!(prefix);
        ep["MacAddress"] = json!(c.mac_address.clone().unwrap_or_default());
        networks.insert(name, ep);
    }
    // The further networks as asked, then the addresses of those joined (a first
    // network joined again while it runs is one of them).
    for a in &c.networks {
        let ep = endpoint(eng, r, &a.network, &a.aliases, a.ip.as_deref());
        networks.insert(a.network.clone(), ep);
    }
    for e in &r.state.endpoints {
        let (gw, prefix) = eng
            .network(&e.network)
            .and_then(|n| n.subnet())
            .map(|s| (s.gateway().to_string(), s.prefix))
            .unwrap_or_default();
        let ep = networks
            .entry(e.network.clone())
            .or_insert_with(|| endpoint(eng, r, &e.network, &c.aliases, c.ip.as_deref()));
        ep["IPAddress"] = json!(e.ip);
        ep["Gateway"] = json!(gw);
        ep["IPPrefixLen"] = json!(prefix);
    }
    json!({"IPAddress": ip, "Gateway": gw, "IPPrefixLen": prefix, "Ports": ports, "Networks": networks})
}

/// One of `NetworkSettings.Networks` (Docker's `EndpointSettings`), before its address:
/// what was asked (aliases, `IPAMConfig`) and the names the network's DNS answers for it.
fn endpoint(eng: &Engine, r: &Record, net: &str, aliases: &[String], ip: Option<&str>) -> Value {
    let id = eng.network(net).map(|n| n.id).unwrap_or_default();
    // The embedded DNS of a user network answers the name, the aliases and the short id.
    let dns_names = (net != "bridge" && !id.is_empty()).then(|| {
        let mut names = vec![r.name.clone()];
        names.extend(aliases.iter().cloned());
        names.push(r.id[..12.min(r.id.len())].to_string());
        names.dedup();
        names
    });
    json!({
        "IPAMConfig": ip.map(|ip| json!({"IPv4Address": ip})),
        "Links": null,
        "Aliases": if aliases.is_empty() { Value::Null } else { json!(aliases) },
        "MacAddress": "",
        "DriverOpts": null,
        "GwPriority": 0,
        "NetworkID": id,
        "EndpointID": "",
        "Gateway": "",
        "IPAddress": "",
        "IPPrefixLen": 0,
        "IPv6Gateway": "",
        "GlobalIPv6Address": "",
        "GlobalIPv6PrefixLen": 0,
        "DNSNames": dns_names,
    })
}

/// Docker's `HostConfig` of a container.
fn host_config(eng: &Engine, r: &Record) -> Value {
    let c = &r.config;
    let res = &c.resources;
    // `/NAME:/THIS/ALIAS`, as Docker stores a link (names as they are now).
    let links: Vec<String> = if c.links.is_empty() {
        Vec::new()
    } else {
        let all = eng.records().unwrap_or_default();
        c.links
            .iter()
            .map(|l| {
                let name = all
                    .iter()
                    .find(|o| o.id == l.container)
                    .map_or(l.container.as_str(), |o| o.name.as_str());
                format!("/{name}:/{}/{}", r.name, l.alias)
            })
            .collect()
    };
    let mut hc = json!({
            "Binds": binds(c),
            "NetworkMode": if c.network_mode_given.is_empty() { c.network_mode.to_string() } else { c.network_mode_given.clone() },
            "RestartPolicy": {"Name": c.restart.name, "MaximumRetryCount": c.restart.max_retries},
            "AutoRemove": c.auto_remove,
            "CapAdd": c.cap_add, "CapDrop": c.cap_drop,
            "GroupAdd": c.group_add,
            "Privileged": c.privileged,
            "ReadonlyRootfs": c.read_only,
            "SecurityOpt": c.security_opt,
            "Devices": c.devices.iter().map(|d| json!({
                "PathOnHost": d.path_on_host,
                "PathInContainer": d.path_in_container,
                "CgroupPermissions": d.cgroup_permissions,
            })).collect::<Vec<_>>(),
            "DeviceCgroupRules": c.device_cgroup_rules,
            "Init": c.init,
            "Memory": c.resources.memory.unwrap_or(0),
            // Docker stores what it applies: twice the memory when no swap limit was given.
            "MemorySwap": c.resources.memory_swap.or(c.resources.memory.map(|m| m * 2)).unwrap_or(0),
            "NanoCpus": c.resources.nano_cpus.unwrap_or(0),
            "CpuShares": c.resources.cpu_shares.unwrap_or(0),
            "CpusetCpus": c.resources.cpuset_cpus.clone().unwrap_or_default(),
            "PidsLimit": c.resources.pids_limit,
            "Ulimits": c.resources.ulimits.iter().map(|u| json!({"Name": u.name, "Soft": u.soft, "Hard": u.hard})).collect::<Vec<_>>(),
            "Tmpfs": c.mounts.iter().filter_map(|m| match &m.origin {
                Some(MountOrigin::Tmpfs(o)) => Some((m.target.clone(), json!(o))),
                None if m.kind == MountKind::Tmpfs => Some((m.target.clone(), json!(""))),
                _ => None,
            }).collect::<BTreeMap<_, _>>(),
            "PortBindings": port_bindings(c),
            "PublishAllPorts": c.publish_all,
    });
    let more = json!({
            "ShmSize": c.shm_size.unwrap_or(crate::spec::DEFAULT_SHM_SIZE),
            "Sysctls": if c.sysctls.is_empty() { Value::Null } else { json!(c.sysctls) },
            "IpcMode": if c.ipc_mode.is_empty() { "private" } else { c.ipc_mode.as_str() },
            "PidMode": c.pid_mode,
            "UTSMode": c.uts_mode,
            "UsernsMode": c.userns_mode,
            "CgroupnsMode": if c.cgroupns_mode.is_empty() { "private" } else { c.cgroupns_mode.as_str() },
            "CgroupParent": c.cgroup_parent,
            "OomScoreAdj": c.oom_score_adj,
            "OomKillDisable": res.oom_kill_disable,
            "MemoryReservation": res.memory_reservation.unwrap_or(0),
            "MemorySwappiness": res.memory_swappiness,
            "KernelMemory": res.kernel_memory.unwrap_or(0),
            "BlkioWeight": res.blkio_weight.unwrap_or(0),
            "BlkioDeviceReadBps": throttles(&res.device_read_bps),
            "BlkioDeviceWriteBps": throttles(&res.device_write_bps),
            "BlkioDeviceReadIOps": throttles(&res.device_read_iops),
            "BlkioDeviceWriteIOps": throttles(&res.device_write_iops),
            "CpuPeriod": res.cpu_period.unwrap_or(0),
            "CpuQuota": res.cpu_quota.unwrap_or(0),
            "CpuRealtimePeriod": res.cpu_rt_period.unwrap_or(0),
            "CpuRealtimeRuntime": res.cpu_rt_runtime.unwrap_or(0),
            "CpusetMems": res.cpuset_mems.clone().unwrap_or_default(),
            "LogConfig": {"Type": c.log_config.driver_name(), "Config": c.log_config.opts},
            "ContainerIDFile": c.cid_file,
            "Links": if links.is_empty() { Value::Null } else { json!(links) },
            "VolumesFrom": if c.volumes_from.is_empty() { Value::Null } else { json!(c.volumes_from) },
            "Runtime": if c.runtime.is_empty() { "runc" } else { c.runtime.as_str() },
            "Isolation": c.isolation,
            "Annotations": if c.annotations.is_empty() { Value::Null } else { json!(c.annotations) },
            "Dns": c.dns,
            "DnsOptions": c.dns_options,
            "DnsSearch": c.dns_search,
            "ExtraHosts": if c.extra_hosts.is_empty() { Value::Null } else { json!(c.extra_hosts) },
    });
    if let (Some(hc), Value::Object(more)) = (hc.as_object_mut(), more) {
        hc.extend(more);
    }
    // `Mounts` (omitted when empty, as dockerd omits it): the `--mount`s as given.
    let specs: Vec<&crate::mounts::MountSpec> = c
        .mounts
        .iter()
        .filter_map(|m| match &m.origin {
            Some(MountOrigin::Mount(spec)) => Some(spec.as_ref()),
            _ => None,
        })
        .collect();
    if !specs.is_empty() {
        hc["Mounts"] = json!(specs);
    }
    hc
}

/// `HostConfig.Binds`: the `-v` texts as given (a record made before they were kept: its
/// binds, as `SRC:DST[:ro]`).
fn binds(c: &crate::config::ContainerConfig) -> Vec<String> {
    c.mounts
        .iter()
        .filter_map(|m| match &m.origin {
            Some(MountOrigin::Bind(text)) => Some(text.clone()),
            None if m.kind == MountKind::Bind => Some(format!(
                "{}:{}{}",
                m.source,
                m.target,
                if m.readonly { ":ro" } else { "" }
            )),
            _ => None,
        })
        .collect()
}

/// `HostConfig.PortBindings`: the ports asked for (host port 0: any, shown empty).
fn port_bindings(c: &crate::config::ContainerConfig) -> Value {
    let mut out: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    for p in &c.ports {
        out.entry(format!("{}/{}", p.container_port, p.proto))
            .or_default()
            .push(json!({
                "HostIp": p.host_ip.map(|i| i.to_string()).unwrap_or_default(),
                "HostPort": if p.host_port == 0 { String::new() } else { p.host_port.to_string() },
            }));
    }
    json!(out)
}

/// `--device-*-bps|iops` as Docker shows them.
fn throttles(list: &[crate::config::ThrottleDevice]) -> Vec<Value> {
    list.iter()
        .map(|d| json!({"Path": d.path, "Rate": d.rate}))
        .collect()
}

/// One entry of `IPAM.Config`: Docker leaves out an `IPRange` that was not given.
fn ipam_config(n: &crate::network_record::Network, gw: &str) -> Value {
    let mut c = json!({"Subnet": n.subnet, "Gateway": gw});
    if !n.ip_range.is_empty() {
        c["IPRange"] = json!(n.ip_range);
    }
    c
}

/// Docker's `network inspect` document.
pub fn network_inspect(eng: &Engine, n: &crate::network_record::Network) -> Value {
    let gw = n
        .subnet()
        .map(|s| s.gateway().to_string())
        .unwrap_or_default();
    let mut containers = serde_json::Map::new();
    for r in eng.records().unwrap_or_default() {
        let ip = if r.config.network_mode.is_on(&n.name) && !r.state.ip.is_empty() {
            r.state.ip.clone()
        } else {
            r.state
                .endpoints
                .iter()
                .find(|e| e.network == n.name)
                .map(|e| e.ip.clone())
                .unwrap_or_default()
        };
        if !ip.is_empty() {
            let prefix = n.subnet().map(|s| s.prefix).unwrap_or(0);
            containers.insert(
                r.id.clone(),
                json!({"Name": r.name, "IPv4Address": format!("{ip}/{prefix}")}),
            );
        }
    }
    json!({
        "Name": n.name, "Id": n.id, "Created": if n.created.is_empty() { "0001-01-01T00:00:00Z" } else { n.created.as_str() }, "Scope": "local", "Driver": n.driver,
        "EnableIPv6": false,
        "IPAM": {"Driver": "default", "Config": [ipam_config(n, &gw)]},
        "Internal": n.internal, "Attachable": false,
        "Containers": containers, "Options": n.options, "Labels": n.labels,
        "com.quai.bridge": n.bridge,
    })
}

/// Docker's predefined `host` and `none` networks (no state of their own: a container
/// on them shares the host's network namespace, or has only loopback).
pub const PREDEFINED: &[(&str, &str)] = &[("host", "host"), ("none", "null")];

/// The `network inspect` document of `host` or `none`.
pub fn predefined_network(eng: &Engine, name: &str, driver: &str) -> Value {
    let id = content::Digest::of(format!("quai predefined network {name}").as_bytes());
    let mut containers = serde_json::Map::new();
    for r in eng.records().unwrap_or_default() {
        let on = match r.config.network_mode {
            crate::config::NetworkMode::Host => name == "host",
            crate::config::NetworkMode::None => name == "none",
            _ => false,
        };
        if on {
            containers.insert(
                r.id.clone(),
                json!({"Name": r.name, "IPv4Address": "", "IPv6Address": "", "MacAddress": ""}),
            );
        }
    }
    json!({
        "Name": name, "Id": id.hex(), "Created": "0001-01-01T00:00:00Z", "Scope": "local",
        "Driver": driver, "EnableIPv6": false,
        "IPAM": {"Driver": "default", "Options": null, "Config": []},
        "Internal": false, "Attachable": false, "Ingress": false,
        "Containers": containers, "Options": {}, "Labels": {},
    })
}

/// A network's inspect document by name or id (the predefined ones too), if any.
pub fn network_by_name(eng: &Engine, name: &str) -> Option<Value> {
    if let Some((n, driver)) = PREDEFINED.iter().find(|(p, _)| *p == name) {
        return Some(predefined_network(eng, n, driver));
    }
    eng.network(name).ok().map(|n| network_inspect(eng, &n))
}

/// Docker's `volume inspect` document.
pub fn volume_inspect(eng: &Engine, v: &crate::db::Volume) -> Value {
    json!({
        "CreatedAt": v.created,
        "Driver": v.driver,
        "Labels": v.labels,
        "Mountpoint": eng.volume_mountpoint(&v.name),
        "Name": v.name,
        "Options": v.options,
        "Scope": "local",
    })
}

/// Docker's `info` document (the Engine API's `/info`), of this engine.
pub fn info(eng: &mut Engine) -> crate::Result<Value> {
    let i = eng.info()?;
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_default();
    Ok(json!({
        "ID": "",
        "Containers": i.containers,
        "ContainersRunning": i.running,
        "ContainersPaused": i.paused,
        "ContainersStopped": i.containers - i.running - i.paused,
        "Images": i.images,
        "Driver": "overlay",
        "DockerRootDir": eng.root().display().to_string(),
        "LoggingDriver": "json-file",
        "CgroupDriver": crate::cgroup_manager().unwrap_or_else(|_| "cgroupfs".into()),
        "CgroupVersion": i.cgroup_version.to_string(),
        "KernelVersion": i.kernel,
        "OperatingSystem": i.operating_system,
        "OSType": "linux",
        "Architecture": i.architecture,
        "NCPU": i.cpus,
        "MemTotal": i.memory,
        "Name": host.trim(),
        "ServerVersion": env!("CARGO_PKG_VERSION"),
        "DefaultRuntime": "quai-runtime",
        "Runtimes": {"quai-runtime": {"path": "quai"}},
        "SecurityOptions": if i.rootless.is_some() {
            json!(["name=seccomp,profile=builtin", "name=rootless"])
        } else {
            json!(["name=seccomp,profile=builtin"])
        },
        "Warnings": null,
    }))
}

/// `Up 5 seconds (healthy)`, `Exited (0) 3 seconds ago`, `Created`, ...
pub fn status_text(r: &Record) -> String {
    let s = &r.state;
    let since = |t: &str| {
        crate::time::parse_rfc3339(t)
            .map(|t| {
                crate::time::human_duration(
                    (crate::time::now_nanos() - t).div_euclid(1_000_000_000),
                )
            })
            .unwrap_or_default()
    };
    let health = s
        .health
        .as_ref()
        .map(|h| match h.status.as_str() {
            "starting" => " (health: starting)".to_string(),
            st => format!(" ({st})"),
        })
        .unwrap_or_default();
    match s.status {
        ContainerStatus::Running => format!("Up {}{health}", since(&s.started_at)),
        ContainerStatus::Paused => format!("Up {} (Paused)", since(&s.started_at)),
        ContainerStatus::Restarting => {
            format!("Restarting ({}) {} ago", s.exit_code, since(&s.finished_at))
        }
        ContainerStatus::Exited => {
            format!("Exited ({}) {} ago", s.exit_code, since(&s.finished_at))
        }
        ContainerStatus::Created => "Created".into(),
        ContainerStatus::Removing => "Removal In Progress".into(),
        ContainerStatus::Dead => "Dead".into(),
    }
}

/// The COMMAND column as dockerd makes it: the path, then the arguments, those with a
/// space in single quotes.
pub fn command_text(c: &crate::config::ContainerConfig) -> String {
    let mut all = c.entrypoint.iter().chain(c.cmd.iter());
    let mut out = all.next().cloned().unwrap_or_default();
    for a in all {
        out.push(' ');
        if a.contains(' ') {
            out.push_str(&format!("'{a}'"));
        } else {
            out.push_str(a);
        }
    }
    out
}

/// An event as dockerd reports it (`GET /events`, `docker events --format`).
pub fn event(e: &crate::db::Event) -> Value {
    json!({
        "status": e.action, "id": e.id, "from": e.attributes.get("image"),
        "Type": e.kind, "Action": e.action,
        "Actor": {"ID": e.id, "Attributes": e.attributes},
        "scope": "local", "time": e.time.div_euclid(1_000_000_000), "timeNano": e.time,
    })
}

/// `DELETE /images/{name}`'s and `/images/prune`'s steps: `{"Untagged": ...}` and
/// `{"Deleted": ...}`.
pub fn image_delete_items(items: &[crate::images::Removed]) -> Value {
    Value::Array(
        items
            .iter()
            .map(|i| match i {
                crate::images::Removed::Untagged(n) => json!({"Untagged": n}),
                crate::images::Removed::Deleted(d) => json!({"Deleted": d}),
            })
            .collect(),
    )
}

/// `GET /images/{name}/history`: the entries newest first; the newest has the image's
/// id and names, the others `<missing>`.
pub fn image_history(entries: &[crate::images::HistoryEntry]) -> Value {
    Value::Array(
        entries
            .iter()
            .map(|h| {
                let created = crate::time::parse_rfc3339(&h.created)
                    .map(|n| n.div_euclid(1_000_000_000))
                    .unwrap_or(0);
                let tags: Vec<String> = h.tags.iter().map(|t| t.familiar()).collect();
                json!({
                    "Id": h.id.as_ref().map_or_else(|| "<missing>".to_string(), ToString::to_string),
                    "Created": created,
                    "CreatedBy": h.created_by,
                    "Tags": if tags.is_empty() { Value::Null } else { json!(tags) },
                    "Size": h.size,
                    "Comment": h.comment,
                })
            })
            .collect(),
    )
}

/// Go's `os.FileMode` of a `st_mode` (what Docker's path stat carries): the permission
/// bits, and the type and special bits where Go keeps them.
pub fn go_file_mode(st_mode: u32) -> u32 {
    const DIR: u32 = 1 << 31;
    const SYMLINK: u32 = 1 << 27;
    const DEVICE: u32 = 1 << 26;
    const NAMED_PIPE: u32 = 1 << 25;
    const SOCKET: u32 = 1 << 24;
    const SETUID: u32 = 1 << 23;
    const SETGID: u32 = 1 << 22;
    const CHAR_DEVICE: u32 = 1 << 21;
    const STICKY: u32 = 1 << 20;
    let mut m = st_mode & 0o777;
    m |= match st_mode & 0o170000 {
        0o060000 => DEVICE,
        0o020000 => DEVICE | CHAR_DEVICE,
        0o040000 => DIR,
        0o010000 => NAMED_PIPE,
        0o120000 => SYMLINK,
        0o140000 => SOCKET,
        _ => 0,
    };
    if st_mode & 0o4000 != 0 {
        m |= SETUID;
    }
    if st_mode & 0o2000 != 0 {
        m |= SETGID;
    }
    if st_mode & 0o1000 != 0 {
        m |= STICKY;
    }
    m
}

/// The `X-Docker-Container-Path-Stat` document (before its base64).
pub fn path_stat(s: &crate::archive::PathStat) -> Value {
    json!({
        "name": s.name,
        "size": s.size,
        "mode": go_file_mode(s.mode),
        "mtime": crate::time::rfc3339_nanos(s.mtime),
        "linkTarget": s.link_target,
    })
}

/// `GET /containers/{id}/stats`'s document: the reading `cur` (none for a container
/// that is not running: zeros, as dockerd sends) and the one before it (`precpu_stats`,
/// for the CPU percentage).
pub fn stats(
    r: &Record,
    cur: Option<&crate::stats::Reading>,
    pre: Option<&crate::stats::Reading>,
) -> Value {
    const ZERO_TIME: &str = "0001-01-01T00:00:00Z";
    let time = |x: Option<&crate::stats::Reading>| {
        x.map_or_else(
            || ZERO_TIME.to_string(),
            |x| crate::time::rfc3339_nanos(x.time),
        )
    };
    let throttling = json!({"periods": 0, "throttled_periods": 0, "throttled_time": 0});
    let cpu = |x: Option<&crate::stats::Reading>| match x {
        Some(x) => json!({
            "cpu_usage": {
                "total_usage": x.sample.cpu_ns,
                "percpu_usage": if x.detail.percpu_ns.is_empty() { Value::Null } else { json!(x.detail.percpu_ns) },
                "usage_in_kernelmode": x.detail.cpu_kernel_ns,
                "usage_in_usermode": x.detail.cpu_user_ns,
            },
            "system_cpu_usage": x.system_cpu_ns,
            "online_cpus": x.online_cpus,
            "throttling_data": throttling,
        }),
        None => json!({
            "cpu_usage": {"total_usage": 0, "usage_in_kernelmode": 0, "usage_in_usermode": 0},
            "throttling_data": throttling,
        }),
    };
    let mut doc = json!({
        "read": time(cur),
        "preread": time(pre),
        "pids_stats": {},
        "blkio_stats": {
            "io_service_bytes_recursive": null, "io_serviced_recursive": null,
            "io_queue_recursive": null, "io_service_time_recursive": null,
            "io_wait_time_recursive": null, "io_merged_recursive": null,
            "io_time_recursive": null, "sectors_recursive": null,
        },
        "num_procs": 0,
        "storage_stats": {},
        "cpu_stats": cpu(cur),
        "precpu_stats": cpu(pre),
        "memory_stats": {},
        "name": format!("/{}", r.name),
        "id": r.id,
    });
    let Some(c) = cur else {
        return doc;
    };
    let s = &c.sample;
    doc["pids_stats"] = match r.config.resources.pids_limit {
        Some(l) => json!({"current": s.pids, "limit": l}),
        None => json!({"current": s.pids}),
    };
    doc["blkio_stats"]["io_service_bytes_recursive"] = json!([
        {"major": 0, "minor": 0, "op": "read", "value": s.block_read},
        {"major": 0, "minor": 0, "op": "write", "value": s.block_write},
    ]);
    doc["memory_stats"] =
        json!({"usage": s.memory, "stats": c.detail.memory_stat, "limit": s.memory_limit});
    if let Some(m) = c.detail.memory_max_usage {
        doc["memory_stats"]["max_usage"] = json!(m);
    }
    if r.config.network_mode.network().is_some() {
        doc["networks"] = json!({"eth0": {
            "rx_bytes": s.net_rx, "rx_packets": 0, "rx_errors": 0, "rx_dropped": 0,
            "tx_bytes": s.net_tx, "tx_packets": 0, "tx_errors": 0, "tx_dropped": 0,
        }});
    }
    doc
}
