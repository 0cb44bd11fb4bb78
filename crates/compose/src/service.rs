//! A service of the canonical model made into the engine's create request, with the
//! names and `com.docker.compose.*` labels docker compose v2 gives its containers, so
//! either tool sees the other's projects.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use engine::config::{
    ContainerConfig, HealthConfig, LogConfig, NetworkMode, RestartPolicy, Ulimit,
};
use engine::mounts::MountSpec;
use engine::resolve::{CreateRequest, HealthFlags};

use crate::load::Project;
use crate::yaml::{Node, Value};

pub const LABEL_PROJECT: &str = "com.docker.compose.project";
pub const LABEL_SERVICE: &str = "com.docker.compose.service";
pub const LABEL_NUMBER: &str = "com.docker.compose.container-number";
pub const LABEL_ONEOFF: &str = "com.docker.compose.oneoff";
pub const LABEL_HASH: &str = "com.docker.compose.config-hash";
pub const LABEL_WORKDIR: &str = "com.docker.compose.project.working_dir";
pub const LABEL_FILES: &str = "com.docker.compose.project.config_files";
pub const LABEL_ENV_FILE: &str = "com.docker.compose.project.environment_file";
pub const LABEL_VERSION: &str = "com.docker.compose.version";
pub const LABEL_IMAGE: &str = "com.docker.compose.image";
pub const LABEL_DEPENDS: &str = "com.docker.compose.depends_on";
pub const LABEL_NETWORK: &str = "com.docker.compose.network";
pub const LABEL_VOLUME: &str = "com.docker.compose.volume";
pub const LABEL_REPLACE: &str = "com.docker.compose.replace";

fn text(n: Option<&Node>) -> Option<String> {
    n.and_then(Node::scalar_text)
}

fn strings(n: Option<&Node>) -> Vec<String> {
    match n.map(|x| &x.value) {
        Some(Value::Seq(items)) => items.iter().filter_map(Node::scalar_text).collect(),
        Some(Value::Str(s)) => vec![s.clone()],
        _ => Vec::new(),
    }
}

fn int(n: Option<&Node>) -> Option<i64> {
    match n.map(|x| &x.value) {
        Some(Value::Int(i)) => Some(*i),
        Some(Value::Float(f)) => Some(*f as i64),
        Some(Value::Str(s)) => s.parse().ok(),
        _ => None,
    }
}

fn float(n: Option<&Node>) -> Option<f64> {
    match n.map(|x| &x.value) {
        Some(Value::Int(i)) => Some(*i as f64),
        Some(Value::Float(f)) => Some(*f),
        Some(Value::Str(s)) => s.parse().ok(),
        _ => None,
    }
}

fn boolean(n: Option<&Node>) -> bool {
    matches!(n.map(|x| &x.value), Some(Value::Bool(true)))
}

fn nanos(n: Option<&Node>) -> Option<i64> {
    text(n).and_then(|t| crate::canon::parse_duration(&t).ok())
}

/// A mapping's values as text (labels, options): an absent mapping is empty.
pub fn text_map(n: Option<&Node>) -> BTreeMap<String, String> {
    n.and_then(Node::as_map)
        .into_iter()
        .flatten()
        .map(|(k, v)| (k.clone(), v.scalar_text().unwrap_or_default()))
        .collect()
}

/// The networks a service joins, in the order docker compose attaches them (priority,
/// highest first, then name): (key in the model, its settings).
pub fn service_networks(svc: &Node) -> Vec<(String, Node)> {
    let mut v: Vec<(String, Node)> = svc
        .get("networks")
        .and_then(Node::as_map)
        .map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
        .unwrap_or_default();
    v.sort_by(|a, b| {
        let pa = int(a.1.get("priority")).unwrap_or(0);
        let pb = int(b.1.get("priority")).unwrap_or(0);
        pb.cmp(&pa).then(a.0.cmp(&b.0))
    });
    v
}

/// A project resource's engine name (`networks.KEY.name`).
pub fn resource_name(model: &Node, kind: &str, key: &str) -> String {
    text(
        model
            .get(kind)
            .and_then(|m| m.get(key))
            .and_then(|n| n.get("name")),
    )
    .unwrap_or_else(|| key.to_string())
}

/// The container name of replica `number`.
pub fn container_name(project: &str, service: &str, svc: &Node, number: u32) -> String {
    match text(svc.get("container_name")) {
        Some(n) => n,
        None => format!("{project}-{service}-{number}"),
    }
}

/// A further network joined once the container exists.
#[derive(Debug, Clone)]
pub struct Join {
    pub network: String,
    pub aliases: Vec<String>,
    pub ip: Option<String>,
}

/// What `create` needs besides the request.
pub struct Made {
    pub req: CreateRequest,
    pub joins: Vec<Join>,
}

/// Where quai keeps a project's files made for its containers (secrets and configs
/// given as content or an environment variable).
pub fn project_dir(root: &Path, project: &str) -> PathBuf {
    root.join("compose").join(project)
}

/// The `depends_on` label (`db:service_healthy:false,...`).
fn depends_label(svc: &Node) -> String {
    let mut out = Vec::new();
    for (k, v) in svc
        .get("depends_on")
        .and_then(Node::as_map)
        .into_iter()
        .flatten()
    {
        let cond = text(v.get("condition")).unwrap_or("service_started".into());
        let restart = boolean(v.get("restart"));
        out.push(format!("{k}:{cond}:{restart}"));
    }
    out.join(",")
}

/// The request for replica `number` of service `name`.
#[allow(clippy::too_many_arguments)]
pub fn request(
    p: &Project,
    root: &Path,
    name: &str,
    svc: &Node,
    number: u32,
    oneoff: bool,
    image_id: &str,
    hash: &str,
) -> Result<Made, String> {
    let model = &p.model;
    let mut c = ContainerConfig::default();
    let image = crate::config_cmd::image_name(&p.name, name, svc);

    // Environment (resolved by the loader; a variable left null is left out).
    for (k, v) in svc
        .get("environment")
        .and_then(Node::as_map)
        .into_iter()
        .flatten()
    {
        if let Some(t) = v.scalar_text() {
            c.env.push(format!("{k}={t}"));
        }
    }
    for (k, v) in svc
        .get("labels")
        .and_then(Node::as_map)
        .into_iter()
        .flatten()
    {
        c.labels
            .insert(k.clone(), v.scalar_text().unwrap_or_default());
    }
    for (k, v) in svc
        .get("annotations")
        .and_then(Node::as_map)
        .into_iter()
        .flatten()
    {
        c.annotations
            .insert(k.clone(), v.scalar_text().unwrap_or_default());
    }
    let l = &mut c.labels;
    l.insert(LABEL_PROJECT.into(), p.name.clone());
    l.insert(LABEL_SERVICE.into(), name.into());
    l.insert(LABEL_NUMBER.into(), number.to_string());
    l.insert(
        LABEL_ONEOFF.into(),
        if oneoff { "True" } else { "False" }.into(),
    );
    l.insert(LABEL_HASH.into(), hash.into());
    l.insert(LABEL_WORKDIR.into(), p.workdir.display().to_string());
    l.insert(
        LABEL_FILES.into(),
        p.files
            .iter()
            .map(|f| f.display().to_string())
            .collect::<Vec<_>>()
            .join(","),
    );
    l.insert(LABEL_VERSION.into(), crate::VERSION.into());
    if !image_id.is_empty() {
        l.insert(LABEL_IMAGE.into(), image_id.into());
    }
    // Always there, empty when there is nothing (docker compose's).
    l.insert(LABEL_DEPENDS.into(), depends_label(svc));

    c.tty = boolean(svc.get("tty"));
    c.open_stdin = boolean(svc.get("stdin_open"));
    c.init = boolean(svc.get("init"));
    c.privileged = boolean(svc.get("privileged"));
    c.read_only = boolean(svc.get("read_only"));
    c.cap_add = strings(svc.get("cap_add"));
    c.cap_drop = strings(svc.get("cap_drop"));
    c.security_opt = strings(svc.get("security_opt"));
    c.group_add = strings(svc.get("group_add"));
    c.dns = strings(svc.get("dns"));
    c.dns_options = strings(svc.get("dns_opt"));
    c.dns_search = strings(svc.get("dns_search"));
    c.extra_hosts = strings(svc.get("extra_hosts"))
        .into_iter()
        .map(|h| h.replacen('=', ":", 1))
        .collect();
    c.device_cgroup_rules = strings(svc.get("device_cgroup_rules"));
    for d in svc
        .get("devices")
        .and_then(Node::as_seq)
        .into_iter()
        .flatten()
    {
        let spec = format!(
            "{}:{}:{}",
            text(d.get("source")).unwrap_or_default(),
            text(d.get("target")).unwrap_or_default(),
            text(d.get("permissions")).unwrap_or("rwm".into())
        );
        c.devices
            .push(engine::validate::parse_device(&spec).map_err(|e| e.to_string())?);
    }
    for (k, v) in svc
        .get("sysctls")
        .and_then(Node::as_map)
        .into_iter()
        .flatten()
    {
        c.sysctls
            .insert(k.clone(), v.scalar_text().unwrap_or_default());
    }
    // `service:NAME` is that service's first container.
    let service_ref = |v: String| -> String {
        match v.strip_prefix("service:") {
            Some(s) => {
                let t = model.get("services").and_then(|x| x.get(s));
                format!(
                    "container:{}",
                    t.map(|t| container_name(&p.name, s, t, 1))
                        .unwrap_or_else(|| format!("{}-{s}-1", p.name))
                )
            }
            None => v,
        }
    };
    c.ipc_mode = service_ref(text(svc.get("ipc")).unwrap_or_default());
    c.pid_mode = service_ref(text(svc.get("pid")).unwrap_or_default());
    for v in strings(svc.get("volumes_from")) {
        // `SERVICE[:MODE]` or `container:NAME[:MODE]`.
        let (what, mode) = match v.strip_prefix("container:") {
            Some(rest) => (
                rest.split(':').next().unwrap_or_default().to_string(),
                rest.split_once(':').map(|x| x.1.to_string()),
            ),
            None => {
                let (s, m) = match v.split_once(':') {
                    Some((s, m)) => (s.to_string(), Some(m.to_string())),
                    None => (v.clone(), None),
                };
                let t = model.get("services").and_then(|x| x.get(&s));
                (
                    t.map(|t| container_name(&p.name, &s, t, 1))
                        .unwrap_or_else(|| format!("{}-{s}-1", p.name)),
                    m,
                )
            }
        };
        c.volumes_from.push(match mode {
            Some(m) => format!("{what}:{m}"),
            None => what,
        });
    }
    for l in strings(svc.get("links")) {
        let (s, alias) = l.split_once(':').unwrap_or((l.as_str(), l.as_str()));
        let target = model
            .get("services")
            .and_then(|x| x.get(s))
            .map(|t| container_name(&p.name, s, t, 1))
            .unwrap_or_else(|| s.to_string());
        c.links
            .push(engine::validate::link(&format!("{target}:{alias}")).map_err(|e| e.to_string())?);
    }
    c.uts_mode = text(svc.get("uts")).unwrap_or_default();
    c.userns_mode = text(svc.get("userns_mode")).unwrap_or_default();
    c.cgroup_parent = text(svc.get("cgroup_parent")).unwrap_or_default();
    c.cgroupns_mode = text(svc.get("cgroup")).unwrap_or_default();
    c.domainname = text(svc.get("domainname")).unwrap_or_default();
    c.mac_address = text(svc.get("mac_address"));
    c.oom_score_adj = int(svc.get("oom_score_adj")).unwrap_or(0) as i32;
    c.runtime = text(svc.get("runtime")).unwrap_or_default();
    c.isolation = text(svc.get("isolation")).unwrap_or_default();
    c.stop_timeout = nanos(svc.get("stop_grace_period")).map(|n| n / 1_000_000_000);
    c.shm_size = text(svc.get("shm_size")).and_then(|s| s.parse().ok());
    c.expose_list(strings(svc.get("expose")))?;

    // Restart: `restart`, else deploy's policy.
    let restart = match text(svc.get("restart")) {
        Some(r) => r,
        None => match svc.get("deploy").and_then(|d| d.get("restart_policy")) {
            Some(rp) => {
                let cond = text(rp.get("condition")).unwrap_or("any".into());
                match cond.as_str() {
                    "none" => "no".into(),
                    "on-failure" => match int(rp.get("max_attempts")) {
                        Some(n) => format!("on-failure:{n}"),
                        None => "on-failure".into(),
                    },
                    _ => "always".into(),
                }
            }
            None => "no".into(),
        },
    };
    c.restart = RestartPolicy::parse(&restart)?;

    // Resources: the short keys, then deploy's limits where the short key is absent.
    let r = &mut c.resources;
    let limits = svc
        .get("deploy")
        .and_then(|d| d.get("resources"))
        .and_then(|r| r.get("limits"));
    let reservations = svc
        .get("deploy")
        .and_then(|d| d.get("resources"))
        .and_then(|r| r.get("reservations"));
    r.memory = int(svc.get("mem_limit")).or(int(limits.and_then(|l| l.get("memory"))));
    r.memory_reservation =
        int(svc.get("mem_reservation")).or(int(reservations.and_then(|l| l.get("memory"))));
    r.memory_swap = int(svc.get("memswap_limit"));
    r.memory_swappiness = int(svc.get("mem_swappiness"));
    r.nano_cpus = float(svc.get("cpus"))
        .or(float(limits.and_then(|l| l.get("cpus"))))
        .filter(|c| *c > 0.0)
        .map(|c| (c * 1e9) as i64);
    r.cpu_shares = int(svc.get("cpu_shares")).map(|v| v as u64);
    r.cpu_period = int(svc.get("cpu_period"));
    r.cpu_quota = int(svc.get("cpu_quota"));
    r.cpu_rt_period = int(svc.get("cpu_rt_period"));
    r.cpu_rt_runtime = int(svc.get("cpu_rt_runtime"));
    r.cpuset_cpus = text(svc.get("cpuset"));
    r.pids_limit = int(svc.get("pids_limit"))
        .or(int(limits.and_then(|l| l.get("pids"))))
        .filter(|p| *p > 0);
    r.oom_kill_disable = boolean(svc.get("oom_kill_disable"));
    for (k, v) in svc
        .get("ulimits")
        .and_then(Node::as_map)
        .into_iter()
        .flatten()
    {
        let (soft, hard) = match &v.value {
            Value::Map(_) => (int(v.get("soft")), int(v.get("hard"))),
            _ => (int(Some(v)), int(Some(v))),
        };
        let lim = |x: Option<i64>| x.map_or(u64::MAX, |v| if v < 0 { u64::MAX } else { v as u64 });
        r.ulimits.push(Ulimit {
            name: k.clone(),
            soft: lim(soft),
            hard: lim(hard),
        });
    }

    // Logging.
    if let Some(lg) = svc.get("logging") {
        c.log_config = LogConfig {
            driver: text(lg.get("driver")).unwrap_or_default(),
            opts: crate::service::text_map(lg.get("options")),
        };
    }

    // Networks.
    let mut joins = Vec::new();
    let svc_aliases = |settings: &Node| -> Vec<String> {
        let mut a = vec![name.to_string()];
        for x in strings(settings.get("aliases")) {
            if !a.contains(&x) {
                a.push(x);
            }
        }
        a
    };
    match text(svc.get("network_mode")) {
        Some(nm) => {
            let mode = if let Some(s) = nm.strip_prefix("service:") {
                // The first replica of that service.
                let target = model
                    .get("services")
                    .and_then(|x| x.get(s))
                    .map(|t| container_name(&p.name, s, t, 1))
                    .unwrap_or_else(|| format!("{}-{s}-1", p.name));
                format!("container:{target}")
            } else {
                nm
            };
            c.network_mode_given = mode.clone();
            c.network_mode = NetworkMode::from(mode);
        }
        None => {
            let nets = service_networks(svc);
            for (i, (key, settings)) in nets.iter().enumerate() {
                let net = resource_name(model, "networks", key);
                let ip = text(settings.get("ipv4_address"));
                if i == 0 {
                    c.network_mode_given = net.clone();
                    c.network_mode = NetworkMode::from(net);
                    c.aliases = svc_aliases(settings);
                    c.ip = ip;
                    c.mac_address = c.mac_address.take().or(text(settings.get("mac_address")));
                } else {
                    joins.push(Join {
                        network: net,
                        aliases: svc_aliases(settings),
                        ip,
                    });
                }
            }
        }
    }

    // Ports.
    for pt in svc
        .get("ports")
        .and_then(Node::as_seq)
        .into_iter()
        .flatten()
    {
        let target = int(pt.get("target")).unwrap_or(0);
        let proto = text(pt.get("protocol")).unwrap_or("tcp".into());
        // An IPv6 address in brackets, as the port grammar wants it.
        let host_ip = text(pt.get("host_ip")).map(|ip| {
            if ip.contains(':') {
                format!("[{ip}]")
            } else {
                ip
            }
        });
        let spec = match (host_ip, text(pt.get("published"))) {
            (Some(ip), Some(p)) => format!("{ip}:{p}:{target}/{proto}"),
            (Some(ip), None) => format!("{ip}::{target}/{proto}"),
            (None, Some(p)) => format!("{p}:{target}/{proto}"),
            (None, None) => format!("{target}/{proto}"),
        };
        c.ports
            .extend(net::ports::parse(&spec).map_err(|e| format!("ports: {e}"))?);
    }

    // Healthcheck.
    let mut health = HealthFlags::default();
    if let Some(h) = svc.get("healthcheck") {
        if boolean(h.get("disable")) {
            health.disable = true;
        } else {
            let test = strings(h.get("test"));
            if !test.is_empty() {
                health.test = Some(test);
            }
            health.interval = nanos(h.get("interval"));
            health.timeout = nanos(h.get("timeout"));
            health.start_period = nanos(h.get("start_period"));
            health.start_interval = nanos(h.get("start_interval"));
            health.retries = int(h.get("retries")).map(|r| r as u32);
        }
    }
    let _ = HealthConfig::default;

    // Mounts.
    let mut volumes = Vec::new();
    let mut mounts = Vec::new();
    let mut tmpfs = strings(svc.get("tmpfs"));
    for v in svc
        .get("volumes")
        .and_then(Node::as_seq)
        .into_iter()
        .flatten()
    {
        let kind = text(v.get("type")).unwrap_or("volume".into());
        let target = text(v.get("target")).unwrap_or_default();
        let ro = boolean(v.get("read_only"));
        let source = text(v.get("source")).unwrap_or_default();
        match kind.as_str() {
            "bind" => {
                let create = boolean(v.get("bind").and_then(|b| b.get("create_host_path")));
                let mut opts: Vec<String> = Vec::new();
                if ro {
                    opts.push("ro".into());
                }
                if let Some(s) = text(v.get("bind").and_then(|b| b.get("selinux"))) {
                    opts.push(s);
                }
                if let Some(s) = text(v.get("bind").and_then(|b| b.get("propagation"))) {
                    opts.push(s);
                }
                if create {
                    let mut spec = format!("{source}:{target}");
                    if !opts.is_empty() {
                        spec.push(':');
                        spec.push_str(&opts.join(","));
                    }
                    volumes.push(spec);
                } else {
                    let mut m = MountSpec {
                        kind: "bind".into(),
                        source,
                        target,
                        read_only: ro,
                        ..Default::default()
                    };
                    if let Some(pr) = text(v.get("bind").and_then(|b| b.get("propagation"))) {
                        m.bind_options = Some(engine::mounts::BindOptions {
                            propagation: pr,
                            ..Default::default()
                        });
                    }
                    mounts.push(m);
                }
            }
            "volume" => {
                let vol = if source.is_empty() {
                    String::new()
                } else {
                    resource_name(model, "volumes", &source)
                };
                let nocopy = boolean(v.get("volume").and_then(|b| b.get("nocopy")));
                let mut m = MountSpec {
                    kind: "volume".into(),
                    source: vol,
                    target,
                    read_only: ro,
                    ..Default::default()
                };
                if nocopy {
                    m.volume_options = Some(engine::mounts::VolumeOptions {
                        no_copy: true,
                        ..Default::default()
                    });
                }
                mounts.push(m);
            }
            "tmpfs" => {
                let mut spec = target;
                let mut o = Vec::new();
                if let Some(sz) = int(v.get("tmpfs").and_then(|t| t.get("size"))) {
                    o.push(format!("size={sz}"));
                }
                if let Some(md) = int(v.get("tmpfs").and_then(|t| t.get("mode"))) {
                    o.push(format!("mode={md:o}"));
                }
                if !o.is_empty() {
                    spec.push(':');
                    spec.push_str(&o.join(","));
                }
                tmpfs.push(spec);
            }
            other => return Err(format!("volume type {other:?} is not supported by quai")),
        }
    }
    for kind in ["secrets", "configs"] {
        for s in svc.get(kind).and_then(Node::as_seq).into_iter().flatten() {
            let src = text(s.get("source")).unwrap_or_default();
            let target = match text(s.get("target")) {
                Some(t) if t.starts_with('/') => t,
                Some(t) => format!("/run/secrets/{t}"),
                None if kind == "configs" => format!("/{src}"),
                None => format!("/run/secrets/{src}"),
            };
            let def = model.get(kind).and_then(|m| m.get(&src));
            let file = match def.and_then(|d| text(d.get("file"))) {
                Some(f) => f,
                None => project_dir(root, &p.name)
                    .join(kind)
                    .join(&src)
                    .display()
                    .to_string(),
            };
            mounts.push(MountSpec {
                kind: "bind".into(),
                source: file,
                target,
                read_only: true,
                ..Default::default()
            });
        }
    }

    let entrypoint = match svc.get("entrypoint").map(|n| &n.value) {
        Some(Value::Seq(_)) => Some(strings(svc.get("entrypoint"))),
        _ => None,
    };
    let cmd = strings(svc.get("command"));
    let hostname = text(svc.get("hostname"));
    Ok(Made {
        req: CreateRequest {
            name: Some(container_name(&p.name, name, svc, number)),
            image,
            config: c,
            entrypoint,
            cmd,
            workdir: text(svc.get("working_dir")),
            user: text(svc.get("user")),
            hostname,
            stop_signal: text(svc.get("stop_signal")),
            volumes,
            mounts,
            anonymous_volumes: Vec::new(),
            tmpfs,
            health,
            publish_all: false,
            skip_image_volumes: false,
            platform: text(svc.get("platform")),
        },
        joins,
    })
}

trait ExposeList {
    fn expose_list(&mut self, e: Vec<String>) -> Result<(), String>;
}

impl ExposeList for ContainerConfig {
    fn expose_list(&mut self, e: Vec<String>) -> Result<(), String> {
        self.exposed_ports = engine::validate::exposed_ports(&e).map_err(|x| x.to_string())?;
        Ok(())
    }
}

/// The content of secrets and configs given inline or by environment variable, written
/// where [`request`] mounts them from.
pub fn write_contents(p: &Project, root: &Path) -> Result<(), String> {
    for kind in ["secrets", "configs"] {
        for (k, d) in p
            .model
            .get(kind)
            .and_then(Node::as_map)
            .into_iter()
            .flatten()
        {
            if text(d.get("file")).is_some() || boolean(d.get("external")) {
                continue;
            }
            let content = match (text(d.get("content")), text(d.get("environment"))) {
                (Some(c), _) => c,
                (None, Some(var)) => p.env.get(&var).cloned().ok_or_else(|| {
                    format!("environment variable {var:?} required by {kind} {k:?} is not set")
                })?,
                _ => continue,
            };
            let dir = project_dir(root, &p.name).join(kind);
            std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
            let f = dir.join(k);
            std::fs::write(&f, content).map_err(|e| format!("{}: {e}", f.display()))?;
        }
    }
    Ok(())
}

/// Labels of a network or volume the project makes.
pub fn resource_labels(
    p: &Project,
    kind_label: &str,
    key: &str,
    def: &Node,
) -> BTreeMap<String, String> {
    let mut l: BTreeMap<String, String> = crate::service::text_map(def.get("labels"));
    l.insert(LABEL_PROJECT.into(), p.name.clone());
    l.insert(kind_label.into(), key.into());
    l.insert(LABEL_VERSION.into(), crate::VERSION.into());
    l
}
