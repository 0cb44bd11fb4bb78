//! Container verbs: run, create, start, stop, restart, kill, pause, unpause, rm, ps,
//! inspect, exec, attach, wait, rename, port, container prune.

use engine::config::ContainerStatus;
use engine::config::{MountKind, NetworkMode};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use clap::{Args, Subcommand};
use engine::attach::Ended;
use engine::lifecycle::{CreateRequest, Engine, HealthFlags};
use engine::{ContainerConfig, Record};
use serde_json::{json, Value};

use crate::format;

/// Options shared by `create` and `run`.
#[derive(Debug, Args)]
pub struct CreateArgs {
    /// Assign a name.
    #[arg(long)]
    pub name: Option<String>,
    /// Keep STDIN open.
    #[arg(short, long)]
    pub interactive: bool,
    /// Allocate a pseudo-TTY.
    #[arg(short, long)]
    pub tty: bool,
    /// Remove the container when it exits.
    #[arg(long)]
    pub rm: bool,
    /// Set environment variables.
    #[arg(short, long = "env")]
    pub env: Vec<String>,
    /// Read environment variables from a file.
    #[arg(long = "env-file")]
    pub env_file: Vec<PathBuf>,
    /// Bind mount or volume (`SRC:DST[:ro]`, `NAME:DST`, `DST`).
    #[arg(short, long = "volume")]
    pub volume: Vec<String>,
    /// Mount (`type=bind|volume|tmpfs,source=...,target=...`).
    #[arg(long)]
    pub mount: Vec<String>,
    /// Mount a tmpfs (`DST[:size=64m,mode=1777]`).
    #[arg(long)]
    pub tmpfs: Vec<String>,
    /// Working directory inside the container.
    #[arg(short, long)]
    pub workdir: Option<String>,
    /// User (`name|uid[:group|gid]`).
    #[arg(short, long)]
    pub user: Option<String>,
    /// Overwrite the image's ENTRYPOINT.
    #[arg(long)]
    pub entrypoint: Option<String>,
    /// Container hostname.
    #[arg(long)]
    pub hostname: Option<String>,
    /// Set metadata (`key=value`).
    #[arg(short, long = "label")]
    pub label: Vec<String>,
    /// Restart policy (`no`, `always`, `unless-stopped`, `on-failure[:N]`).
    #[arg(long, default_value = "no")]
    pub restart: String,
    /// Memory limit (`256m`).
    #[arg(short, long)]
    pub memory: Option<String>,
    /// Memory plus swap (`-1`: unlimited).
    #[arg(long = "memory-swap", allow_hyphen_values = true)]
    pub memory_swap: Option<String>,
    /// Number of CPUs (`1.5`).
    #[arg(long)]
    pub cpus: Option<f64>,
    /// CPU shares (relative weight).
    #[arg(short = 'c', long = "cpu-shares")]
    pub cpu_shares: Option<u64>,
    /// CPUs in which to allow execution (`0-1`).
    #[arg(long = "cpuset-cpus")]
    pub cpuset_cpus: Option<String>,
    /// Tune the pids limit (`-1`: unlimited).
    #[arg(long = "pids-limit", allow_hyphen_values = true)]
    pub pids_limit: Option<i64>,
    /// Ulimit (`nofile=1024:2048`).
    #[arg(long)]
    pub ulimit: Vec<String>,
    /// Mount the root filesystem read-only.
    #[arg(long = "read-only")]
    pub read_only: bool,
    /// Add Linux capabilities.
    #[arg(long = "cap-add")]
    pub cap_add: Vec<String>,
    /// Drop Linux capabilities.
    #[arg(long = "cap-drop")]
    pub cap_drop: Vec<String>,
    /// Give extended privileges.
    #[arg(long)]
    pub privileged: bool,
    /// Security options (`no-new-privileges`, `seccomp=FILE|unconfined`).
    #[arg(long = "security-opt")]
    pub security_opt: Vec<String>,
    /// Add a host device (`HOST[:CONTAINER][:PERMS]`).
    #[arg(long = "device")]
    pub device: Vec<String>,
    /// Add a rule to the devices cgroup (`c 1:3 rwm`).
    #[arg(long = "device-cgroup-rule")]
    pub device_cgroup_rule: Vec<String>,
    /// Additional groups.
    #[arg(long = "group-add")]
    pub group_add: Vec<String>,
    /// Run an init inside the container that forwards signals and reaps processes.
    #[arg(long)]
    pub init: bool,
    /// Signal to stop the container.
    #[arg(long = "stop-signal")]
    pub stop_signal: Option<String>,
    /// Seconds to wait before killing the container on stop.
    #[arg(long = "stop-timeout", allow_hyphen_values = true)]
    pub stop_timeout: Option<i64>,
    /// Command to run to check health.
    #[arg(long = "health-cmd")]
    pub health_cmd: Option<String>,
    /// Time between running the check (`30s`).
    #[arg(long = "health-interval")]
    pub health_interval: Option<String>,
    /// Maximum time to allow one check to run.
    #[arg(long = "health-timeout")]
    pub health_timeout: Option<String>,
    /// Start period for the container to initialize.
    #[arg(long = "health-start-period")]
    pub health_start_period: Option<String>,
    /// Consecutive failures needed to report unhealthy.
    #[arg(long = "health-retries")]
    pub health_retries: Option<u32>,
    /// Disable any container-specified HEALTHCHECK.
    #[arg(long = "no-healthcheck")]
    pub no_healthcheck: bool,
    /// Connect to a network (`bridge`, `none`, `host`).
    #[arg(long, alias = "net", default_value = "bridge")]
    pub network: String,
    /// Publish a port (`[IP:][HOST:]CTR[/PROTO]`, ranges too).
    #[arg(short, long)]
    pub publish: Vec<String>,
    /// IPv4 address on the network (`--network` must be a bridge network).
    #[arg(long)]
    pub ip: Option<String>,
    /// MAC address of the container's interface.
    #[arg(long = "mac-address")]
    pub mac_address: Option<String>,
    /// Another name for the container on its network.
    #[arg(long = "network-alias")]
    pub network_alias: Vec<String>,
    /// Custom DNS servers.
    #[arg(long)]
    pub dns: Vec<String>,
    /// Add a custom host-to-IP mapping (`host:ip`).
    #[arg(long = "add-host")]
    pub add_host: Vec<String>,
    /// Publish all exposed ports to free host ports.
    #[arg(short = 'P', long = "publish-all")]
    pub publish_all: bool,
    /// The image, then the command and its arguments (options end at the image, as in
    /// Docker).
    #[arg(
        value_name = "IMAGE [COMMAND] [ARG...]",
        trailing_var_arg = true,
        allow_hyphen_values = true,
        required = true,
        num_args = 1..
    )]
    pub command: Vec<String>,
}

/// `run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// Run in the background and print the container id.
    #[arg(short, long)]
    pub detach: bool,
    /// Create options.
    #[command(flatten)]
    pub create: CreateArgs,
}

fn duration_flag(name: &str, v: &Option<String>) -> anyhow::Result<Option<i64>> {
    v.as_ref()
        .map(|s| {
            engine::time::parse_duration(s).with_context(|| {
                format!("invalid argument {s:?} for \"--{name}\" flag: time: invalid duration")
            })
        })
        .transpose()
}

fn env_file(p: &Path) -> anyhow::Result<Vec<String>> {
    let text = std::fs::read_to_string(p).with_context(|| format!("open {}", p.display()))?;
    let mut out = Vec::new();
    for l in text.lines() {
        let l = l.trim_start();
        if l.is_empty() || l.starts_with('#') {
            continue;
        }
        out.push(resolve_env(l));
    }
    Ok(out)
}

/// `-e KEY` takes KEY from our environment (dropped when unset), like Docker.
fn resolve_env(e: &str) -> String {
    if e.contains('=') {
        e.to_string()
    } else {
        std::env::var(e)
            .map(|v| format!("{e}={v}"))
            .unwrap_or_default()
    }
}

fn request(a: CreateArgs) -> anyhow::Result<CreateRequest> {
    let mut c = ContainerConfig::default();
    for f in &a.env_file {
        c.env.extend(env_file(f)?);
    }
    c.env.extend(
        a.env
            .iter()
            .map(|e| resolve_env(e))
            .filter(|e| !e.is_empty()),
    );
    for l in &a.label {
        let (k, v) = l.split_once('=').unwrap_or((l.as_str(), ""));
        c.labels.insert(k.to_string(), v.to_string());
    }
    c.tty = a.tty;
    c.open_stdin = a.interactive;
    c.restart = engine::config::RestartPolicy::parse(&a.restart).map_err(anyhow::Error::msg)?;
    c.auto_remove = a.rm;
    let bytes = |flag: &str, v: &Option<String>| -> anyhow::Result<Option<i64>> {
        v.as_ref()
            .map(|s| {
                if s == "-1" {
                    return Ok(-1);
                }
                engine::lifecycle::parse_bytes(s).with_context(|| {
                    format!("invalid argument {s:?} for \"--{flag}\" flag: invalid size")
                })
            })
            .transpose()
    };
    c.resources.memory = bytes("memory", &a.memory)?;
    c.resources.memory_swap = bytes("memory-swap", &a.memory_swap)?;
    if let (Some(m), Some(s)) = (c.resources.memory, c.resources.memory_swap) {
        if s != -1 && s < m {
            bail!("Minimum memoryswap limit should be larger than memory limit, see usage");
        }
    }
    if c.resources.memory_swap.is_some() && c.resources.memory.is_none() {
        bail!("You should always set the Memory limit when using Memoryswap limit, see usage");
    }
    if let Some(x) = a.cpus.filter(|x| !x.is_finite()) {
        bail!("invalid argument \"{x}\" for \"--cpus\" flag: not a number of CPUs");
    }
    c.resources.nano_cpus = a.cpus.map(|x| (x * 1e9) as i64);
    c.resources.cpu_shares = a.cpu_shares;
    c.resources.cpuset_cpus = a.cpuset_cpus;
    c.resources.pids_limit = a.pids_limit.filter(|p| *p > 0);
    for u in &a.ulimit {
        let (name, vals) = u
            .split_once('=')
            .with_context(|| format!("invalid ulimit argument: {u}"))?;
        let (s, h) = vals.split_once(':').unwrap_or((vals, vals));
        let parse = |x: &str| -> anyhow::Result<u64> {
            if x == "-1" || x == "unlimited" {
                return Ok(u64::MAX);
            }
            x.parse()
                .with_context(|| format!("invalid ulimit argument: {u}"))
        };
        c.resources.ulimits.push(engine::config::Ulimit {
            name: name.to_string(),
            soft: parse(s)?,
            hard: parse(h)?,
        });
    }
    c.read_only = a.read_only;
    c.privileged = a.privileged;
    c.cap_add = a.cap_add;
    c.cap_drop = a.cap_drop;
    c.security_opt = a.security_opt;
    for d in &a.device {
        c.devices.push(engine::validate::parse_device(d)?);
    }
    c.device_cgroup_rules = a.device_cgroup_rule;
    c.group_add = a.group_add;
    c.init = a.init;
    c.stop_timeout = a.stop_timeout;
    c.network_mode = a.network.into();
    for d in &a.dns {
        d.parse::<std::net::IpAddr>()
            .with_context(|| format!("{d} is not an ip address"))?;
    }
    for h in &a.add_host {
        let ok = h
            .split_once(':')
            .is_some_and(|(n, ip)| !n.is_empty() && ip.parse::<std::net::IpAddr>().is_ok());
        if !ok {
            bail!("invalid argument {h:?} for \"--add-host\" flag: bad format for add-host");
        }
    }
    c.dns = a.dns;
    c.ip = a.ip;
    c.aliases = a.network_alias;
    c.mac_address = a.mac_address;
    c.extra_hosts = a.add_host;
    for p in &a.publish {
        c.ports.extend(net::ports::parse(p)?);
    }
    let mut command = a.command.into_iter();
    let image = command.next().unwrap_or_default();
    if image.starts_with('-') {
        return Err(anyhow::Error::new(Status(
            125,
            format!("unknown flag: {image} (see 'quai run --help')"),
        )));
    }
    Ok(CreateRequest {
        name: a.name,
        image,
        config: c,
        entrypoint: a.entrypoint,
        cmd: command.collect(),
        workdir: a.workdir,
        user: a.user,
        hostname: a.hostname,
        stop_signal: a.stop_signal,
        volumes: a.volume,
        mounts: a.mount,
        tmpfs: a.tmpfs,
        health: HealthFlags {
            cmd: a.health_cmd,
            interval: duration_flag("health-interval", &a.health_interval)?,
            timeout: duration_flag("health-timeout", &a.health_timeout)?,
            start_period: duration_flag("health-start-period", &a.health_start_period)?,
            retries: a.health_retries,
            disable: a.no_healthcheck,
        },
        publish_all: a.publish_all,
        skip_image_volumes: false,
    })
}

/// A failure with Docker's exit status for it.
#[derive(Debug)]
pub struct Status(pub i32, pub String);

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.1)
    }
}

impl std::error::Error for Status {}

/// A bad option of `create`/`run`: Docker's status 125.
fn usage(e: anyhow::Error) -> anyhow::Error {
    match e.downcast::<Status>() {
        Ok(s) => anyhow::Error::new(s),
        Err(e) => anyhow::Error::new(Status(125, format!("{e:#}"))),
    }
}

fn engine_err(e: engine::Error) -> anyhow::Error {
    anyhow::Error::new(Status(e.exit_status(), e.to_string()))
}

fn create_with_pull(eng: &mut Engine, req: CreateRequest) -> anyhow::Result<Record> {
    match eng.create(req.clone()) {
        Err(e) if e.is_no_such_image() => {
            eprintln!("Unable to find image '{}' locally", req.image);
            crate::registry_cmds::pull(eng, crate::registry_cmds::PullArgs::for_image(&req.image))
                .map_err(|e| anyhow::Error::new(Status(125, format!("{e:#}"))))?;
            eng.create(req).map_err(engine_err)
        }
        r => r.map_err(engine_err),
    }
}

/// `create`.
pub fn create(eng: &mut Engine, a: CreateArgs) -> anyhow::Result<i32> {
    let rec = create_with_pull(eng, request(a).map_err(usage)?)?;
    println!("{}", rec.id);
    Ok(0)
}

/// `run`.
pub fn run(eng: &mut Engine, a: RunArgs) -> anyhow::Result<i32> {
    let interactive = a.create.interactive;
    let tty = a.create.tty;
    let rec = create_with_pull(eng, request(a.create).map_err(usage)?)?;
    if a.detach {
        eng.start(&rec.id, "").map_err(engine_err)?;
        println!("{}", rec.id);
        return Ok(0);
    }
    let streams = if interactive { "ioe" } else { "oe" };
    let (rec, stream) = eng.start(&rec.id, streams).map_err(engine_err)?;
    attached(eng, &rec, stream, interactive, tty)
}

fn attached(
    eng: &mut Engine,
    rec: &Record,
    stream: std::os::unix::net::UnixStream,
    stdin: bool,
    tty: bool,
) -> anyhow::Result<i32> {
    let forward = eng.signaller(&rec.id);
    let ended = engine::attach::client_loop(stream, stdin, tty, forward).context("attach")?;
    Ok(match ended {
        Ended::Exited(code) => code,
        Ended::Closed => eng.get(&rec.id).map(|r| r.state.exit_code).unwrap_or(255),
        Ended::Failed { code, message } => return Err(anyhow::Error::new(Status(code, message))),
    })
}

/// `start`.
pub fn start(
    eng: &mut Engine,
    attach: bool,
    interactive: bool,
    containers: &[String],
) -> anyhow::Result<i32> {
    if attach || interactive {
        if containers.len() != 1 {
            bail!("you cannot start and attach multiple containers at once");
        }
        let rec = eng.get(&containers[0]).map_err(engine_err)?;
        let streams = if interactive { "ioe" } else { "oe" };
        let (rec, stream) = eng.start(&rec.id, streams).map_err(engine_err)?;
        return attached(eng, &rec, stream, interactive, rec.config.tty);
    }
    crate::common::each(containers, |c| {
        let r = eng.get(c)?;
        if r.state.status != ContainerStatus::Running && r.state.status != ContainerStatus::Paused {
            eng.start(c, "")?;
        }
        Ok(())
    })
}

/// `Up 5 seconds (healthy)`, `Exited (0) 3 seconds ago`, `Created`, ...
pub fn status_text(r: &Record) -> String {
    let s = &r.state;
    let since = |t: &str| {
        format::parse_rfc3339(t)
            .map(|t| {
                let now = engine::time::now_nanos() / 1_000_000_000;
                format::human_duration(now - t)
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
fn command_text(c: &ContainerConfig) -> String {
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

/// Go's `strconv.Quote`: double quotes, with `"` and `\` and control characters escaped.
fn go_quote(s: &str) -> String {
    let mut out = String::from("\"");
    for ch in s.chars() {
        match ch {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                out.push_str(&format!("\\x{:02x}", c as u32))
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// The Docker-shaped `inspect` document of a container.
pub fn inspect_json(eng: &Engine, r: &Record) -> Value {
    let c = &r.config;
    let s = &r.state;
    let args: Vec<String> = c.entrypoint.iter().chain(c.cmd.iter()).cloned().collect();
    let dir = eng.container_dir(&r.id);
    let mounts: Vec<Value> = c
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
        .collect();
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
    let healthcheck = c.health.as_ref().map(|h| {
        json!({"Test": h.test, "Interval": h.interval, "Timeout": h.timeout, "StartPeriod": h.start_period, "Retries": h.retries})
    });
    let ports: BTreeMap<String, Value> = c
        .exposed_ports
        .iter()
        .map(|p| (p.clone(), json!({})))
        .collect();
    let volumes: BTreeMap<String, Value> = c
        .mounts
        .iter()
        .filter(|m| m.anonymous)
        .map(|m| (m.target.clone(), json!({})))
        .collect();
    json!({
        "Id": r.id,
        "Created": r.created,
        "Path": args.first().cloned().unwrap_or_default(),
        "Args": args.get(1..).unwrap_or_default(),
        "State": state,
        "Image": c.image_id,
        "ResolvConfPath": dir.join("resolv.conf"),
        "HostnamePath": dir.join("hostname"),
        "HostsPath": dir.join("hosts"),
        "LogPath": eng.log_path(&r.id),
        "Name": format!("/{}", r.name),
        "RestartCount": s.restart_count,
        "Driver": "overlay",
        "Platform": "linux",
        "HostConfig": {
            "Binds": c.mounts.iter().filter(|m| m.kind == MountKind::Bind).map(|m| format!("{}:{}{}", m.source, m.target, if m.readonly { ":ro" } else { "" })).collect::<Vec<_>>(),
            "NetworkMode": c.network_mode,
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
            "MemorySwap": c.resources.memory_swap.unwrap_or(0),
            "NanoCpus": c.resources.nano_cpus.unwrap_or(0),
            "CpuShares": c.resources.cpu_shares.unwrap_or(0),
            "CpusetCpus": c.resources.cpuset_cpus.clone().unwrap_or_default(),
            "PidsLimit": c.resources.pids_limit,
            "Ulimits": c.resources.ulimits.iter().map(|u| json!({"Name": u.name, "Soft": u.soft, "Hard": u.hard})).collect::<Vec<_>>(),
            "Tmpfs": c.mounts.iter().filter(|m| m.kind == MountKind::Tmpfs).map(|m| (m.target.clone(), json!(""))).collect::<BTreeMap<_, _>>(),
        },
        "Mounts": mounts,
        "Config": {
            "Hostname": c.hostname,
            "User": c.user,
            "AttachStdin": c.open_stdin,
            "Tty": c.tty,
            "OpenStdin": c.open_stdin,
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
        },
        "NetworkSettings": network_settings(eng, r),
    })
}

fn network_settings(eng: &Engine, r: &Record) -> Value {
    let mut ports: BTreeMap<String, Value> = BTreeMap::new();
    for p in &r.state.ports {
        let v = ports
            .entry(format!("{}/{}", p.container_port, p.proto))
            .or_insert_with(|| json!([]));
        if let Some(a) = v.as_array_mut() {
            a.push(json!({"HostIp": p.host_ip.map(|i| i.to_string()).unwrap_or_else(|| "0.0.0.0".into()), "HostPort": p.host_port.to_string()}));
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
    let mut networks = serde_json::Map::new();
    if (r.config.network_mode != NetworkMode::Host || !ip.is_empty())
        && !r.config.primary_disconnected
    {
        networks.insert(
            r.config.network_mode.to_string(),
            json!({"IPAddress": ip, "Gateway": gw, "IPPrefixLen": prefix}),
        );
    }
    for e in &r.state.endpoints {
        let (gw, prefix) = eng
            .network(&e.network)
            .and_then(|n| n.subnet())
            .map(|s| (s.gateway().to_string(), s.prefix))
            .unwrap_or_default();
        networks.insert(
            e.network.clone(),
            json!({"IPAddress": e.ip, "Gateway": gw, "IPPrefixLen": prefix}),
        );
    }
    json!({"IPAddress": ip, "Gateway": gw, "IPPrefixLen": prefix, "Ports": ports, "Networks": networks})
}

/// `ps` options.
#[derive(Debug, Args)]
pub struct PsArgs {
    /// Show all containers (default shows just running).
    #[arg(short, long)]
    pub all: bool,
    /// Only display container ids.
    #[arg(short, long)]
    pub quiet: bool,
    /// Show n last created containers (includes all states).
    #[arg(short = 'n', long = "last")]
    pub last: Option<usize>,
    /// Show the latest created container.
    #[arg(short = 'l', long)]
    pub latest: bool,
    /// Filter (`name=`, `label=`, `status=`, `ancestor=`, `id=`, `exited=`).
    #[arg(short, long)]
    pub filter: Vec<String>,
    /// `json`, `table`, or a Go template.
    #[arg(long)]
    pub format: Option<String>,
    /// Don't truncate output.
    #[arg(long = "no-trunc")]
    pub no_trunc: bool,
    /// Display total file sizes.
    #[arg(short, long)]
    pub size: bool,
}

/// The PORTS column as docker's CLI makes it from a running container's ports: runs of
/// exposed ports (and ports published on the same number) grouped into ranges first,
/// then the other published ones, each `IP:HOST->PORT/PROTO`.
fn displayable_ports(r: &Record) -> String {
    if !r.state.status.is_active() {
        return String::new();
    }
    // (private port, ip, public port, proto) as the daemon lists them.
    let mut ports: Vec<(u16, String, u16, String)> = Vec::new();
    for p in &r.state.ports {
        ports.push((
            p.container_port,
            p.host_ip
                .unwrap_or(std::net::Ipv4Addr::UNSPECIFIED)
                .to_string(),
            p.host_port,
            p.proto.to_string(),
        ));
    }
    for e in &r.config.exposed_ports {
        let (n, proto) = e.split_once('/').unwrap_or((e, "tcp"));
        let Ok(n) = n.parse::<u16>() else { continue };
        if !ports.iter().any(|p| p.0 == n && p.3 == proto) {
            ports.push((n, String::new(), 0, proto.to_string()));
        }
    }
    ports.sort();
    let mut groups: Vec<(String, u16, u16)> = Vec::new();
    let mut mappings = Vec::new();
    for (private, ip, public, proto) in ports {
        let key = if ip.is_empty() {
            proto.clone()
        } else if public != private {
            mappings.push(format!("{ip}:{public}->{private}/{proto}"));
            continue;
        } else {
            format!("{ip}/{proto}")
        };
        match groups.iter_mut().rev().find(|g| g.0 == key) {
            Some(g) if g.2 + 1 == private => g.2 = private,
            _ => groups.push((key, private, private)),
        }
    }
    let form = |(key, first, last): &(String, u16, u16)| {
        let range = if first == last {
            first.to_string()
        } else {
            format!("{first}-{last}")
        };
        match key.split_once('/') {
            Some((ip, proto)) => format!("{ip}:{range}->{range}/{proto}"),
            None => format!("{range}/{key}"),
        }
    };
    groups
        .iter()
        .map(form)
        .chain(mappings)
        .collect::<Vec<_>>()
        .join(", ")
}

fn ps_row(r: &Record, no_trunc: bool) -> Value {
    let cmd = command_text(&r.config);
    let cmd = if no_trunc || cmd.chars().count() <= 20 {
        go_quote(&cmd)
    } else {
        go_quote(&format!("{}…", cmd.chars().take(19).collect::<String>()))
    };
    let labels: Vec<String> = r
        .config
        .labels
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    json!({
        "ID": if no_trunc { r.id.clone() } else { r.id[..12].to_string() },
        "Image": r.config.image,
        "Command": cmd,
        "CreatedAt": engine::time::parse_rfc3339(&r.created).map(engine::time::go_string_secs).unwrap_or_default(),
        "RunningFor": format::ago(&r.created),
        "Status": status_text(r),
        "State": r.state.status,
        "Ports": displayable_ports(r),
        "Names": r.name,
        "Labels": labels.join(","),
        "Mounts": r.config.mounts.iter().map(|m| m.source.clone()).collect::<Vec<_>>().join(","),
        "Networks": (!r.config.primary_disconnected)
            .then(|| r.config.network_mode.to_string())
            .into_iter()
            .chain(r.config.networks.iter().map(|a| a.network.clone()))
            .collect::<Vec<_>>()
            .join(","),
        "Size": "",
        "LocalVolumes": r.config.mounts.iter().filter(|m| m.kind == MountKind::Volume).count().to_string(),
    })
}

/// Docker's header names of `ps` fields (docker/cli's container formatter).
const PS_HEADERS: &[(&str, &str)] = &[
    ("ID", "CONTAINER ID"),
    ("Image", "IMAGE"),
    ("Command", "COMMAND"),
    ("CreatedAt", "CREATED AT"),
    ("RunningFor", "CREATED"),
    ("Ports", "PORTS"),
    ("Status", "STATUS"),
    ("Size", "SIZE"),
    ("Names", "NAMES"),
    ("Labels", "LABELS"),
    ("Mounts", "MOUNTS"),
    ("LocalVolumes", "LOCAL VOLUMES"),
    ("Networks", "NETWORKS"),
    ("State", "STATE"),
    ("Platform", "PLATFORM"),
];

/// `ps`.
pub fn ps(eng: &mut Engine, a: PsArgs) -> anyhow::Result<i32> {
    let filters = engine::filters::Filters::parse(&a.filter).map_err(anyhow::Error::new)?;
    let mut all = eng.list_filtered(&filters).map_err(anyhow::Error::new)?;
    let last = if a.latest { Some(1) } else { a.last };
    if let Some(n) = last {
        all.truncate(n);
    } else if !a.all {
        all.retain(|r| r.state.status.is_active());
    }
    let mut rows = Vec::new();
    let image_sizes: std::collections::HashMap<String, u64> = if a.size {
        eng.image_list()
            .map_err(anyhow::Error::new)?
            .into_iter()
            .map(|i| (i.id.to_string(), i.size))
            .collect()
    } else {
        Default::default()
    };
    for r in &all {
        let mut row = ps_row(r, a.no_trunc);
        if a.size {
            let rw = eng.container_size(&r.id);
            let image = image_sizes.get(&r.config.image_id).copied().unwrap_or(0);
            row["Size"] = json!(format!(
                "{} (virtual {})",
                format::human_size(rw),
                format::human_size(rw + image)
            ));
        }
        rows.push(row);
    }
    // docker's default format from its config file (`psFormat`), unless one was given.
    let configured = if a.format.is_none() && !a.quiet {
        crate::common::config_format("psFormat")
    } else {
        None
    };
    let a = PsArgs {
        format: a.format.or(configured),
        ..a
    };
    if a.quiet && a.format.as_deref().is_none_or(|f| f == "table") {
        for r in &rows {
            println!("{}", r["ID"].as_str().unwrap_or_default());
        }
        return Ok(0);
    }
    match a.format.as_deref() {
        Some("json") => {
            for r in &rows {
                println!("{r}");
            }
        }
        Some(t) if t != "table" => match t.strip_prefix("table") {
            Some(rest) => {
                let out = crate::template::render_table(rest.trim_start(), &rows, PS_HEADERS)
                    .map_err(anyhow::Error::msg)?;
                println!("{out}");
            }
            None => {
                for r in &rows {
                    println!(
                        "{}",
                        crate::template::render(t, r).map_err(anyhow::Error::msg)?
                    );
                }
            }
        },
        _ => {
            let mut keys = vec![
                "ID",
                "Image",
                "Command",
                "RunningFor",
                "Status",
                "Ports",
                "Names",
            ];
            let mut heads = vec![
                "CONTAINER ID",
                "IMAGE",
                "COMMAND",
                "CREATED",
                "STATUS",
                "PORTS",
                "NAMES",
            ];
            if a.size {
                keys.push("Size");
                heads.push("SIZE");
            }
            let table: Vec<Vec<String>> = rows
                .iter()
                .map(|r| {
                    keys.iter()
                        .map(|k| r[k].as_str().unwrap_or_default().to_string())
                        .collect()
                })
                .collect();
            format::table(&heads, &table);
        }
    }
    Ok(0)
}

/// `inspect` (containers first, then images and volumes, like Docker's generic inspect).
pub fn inspect(
    eng: &mut Engine,
    names: &[String],
    format: Option<&str>,
    kind: Option<&str>,
    size: bool,
) -> anyhow::Result<i32> {
    if let Some(k) = kind {
        if !matches!(k, "container" | "image" | "volume" | "network") {
            anyhow::bail!("\"{k}\" is not a valid value for --type");
        }
    }
    let mut docs = Vec::new();
    let mut code = 0;
    for n in names {
        let doc = match kind {
            Some("container") | None => match eng.get(n) {
                Ok(r) => {
                    let mut d = inspect_json(eng, &r);
                    if size {
                        let rw = eng.container_size(&r.id);
                        let image = eng
                            .image_list()
                            .ok()
                            .and_then(|l| {
                                l.into_iter()
                                    .find(|i| i.id.to_string() == r.config.image_id)
                            })
                            .map_or(0, |i| i.size);
                        d["SizeRw"] = json!(rw);
                        d["SizeRootFs"] = json!(rw + image);
                    }
                    Some(d)
                }
                Err(_) if kind.is_none() => None,
                Err(e) => {
                    eprintln!("Error: {e}");
                    code = 1;
                    continue;
                }
            },
            _ => None,
        };
        let doc = match doc {
            Some(d) => Some(d),
            None if kind.is_none() || kind == Some("image") => eng.image_inspect(n).ok(),
            None => None,
        };
        let doc = match doc {
            Some(d) => Some(d),
            None if kind.is_none() || kind == Some("volume") => eng
                .volume(n)
                .ok()
                .flatten()
                .map(|v| crate::common::volume_json(eng, &v)),
            None => None,
        };
        let doc = match doc {
            Some(d) => Some(d),
            None if kind.is_none() || kind == Some("network") => {
                crate::networks::inspect_doc(eng, n)
            }
            None => None,
        };
        match doc {
            Some(d) => docs.push(d),
            None => {
                eprintln!("Error: No such object: {n}");
                code = 1;
            }
        }
    }
    crate::template::print_docs(&docs, format)?;
    Ok(code)
}

/// `exec` options.
#[derive(Debug, Args)]
pub struct ExecArgs {
    /// Keep STDIN open.
    #[arg(short, long)]
    pub interactive: bool,
    /// Allocate a pseudo-TTY.
    #[arg(short, long)]
    pub tty: bool,
    /// Run in the background.
    #[arg(short, long)]
    pub detach: bool,
    /// Set environment variables.
    #[arg(short, long)]
    pub env: Vec<String>,
    /// Working directory.
    #[arg(short, long)]
    pub workdir: Option<String>,
    /// User.
    #[arg(short, long)]
    pub user: Option<String>,
    /// Extended privileges.
    #[arg(long)]
    pub privileged: bool,
    /// Container.
    pub container: String,
    /// Command and arguments.
    #[arg(trailing_var_arg = true, allow_hyphen_values = true, required = true)]
    pub cmd: Vec<String>,
}

/// `exec`.
pub fn exec(eng: &mut Engine, a: ExecArgs) -> anyhow::Result<i32> {
    eng.exec(
        &a.container,
        engine::exec::ExecRequest {
            cmd: a.cmd,
            interactive: a.interactive,
            tty: a.tty,
            detach: a.detach,
            env: a
                .env
                .iter()
                .map(|e| resolve_env(e))
                .filter(|e| !e.is_empty())
                .collect(),
            workdir: a.workdir,
            user: a.user,
            privileged: a.privileged,
        },
    )
    .or_else(|e| match e {
        // Docker (against dockerd 20.10) reports a process that could not start on the
        // exec's output stream and exits 126 whatever the reason.
        engine::Error::Start { message, .. } => {
            println!(
                "OCI runtime exec failed: exec failed: unable to start container process: {message}: unknown\r"
            );
            Ok(126)
        }
        // Anything else is the CLI's plain failure (status 1).
        e => Err(anyhow::Error::new(e)),
    })
}

/// `attach`.
pub fn attach(eng: &mut Engine, container: &str, no_stdin: bool) -> anyhow::Result<i32> {
    let r = eng.get(container).map_err(engine_err)?;
    if r.state.status != ContainerStatus::Running {
        bail!("You cannot attach to a stopped container, start it first");
    }
    let mut s = eng.attach_stream(&r.id)?;
    let stdin = r.config.open_stdin && !no_stdin;
    engine::attach::send(
        &mut s,
        engine::attach::ATTACH,
        if stdin { b"ioe" } else { b"oe" },
    )?;
    attached(eng, &r, s, stdin, r.config.tty)
}

/// Container management verbs (`quai container ...`).
#[derive(Debug, Subcommand)]
pub enum ContainerCmd {
    /// Remove all stopped containers.
    Prune {
        /// Do not prompt.
        #[arg(short, long)]
        force: bool,
        /// Filter (`label=`).
        #[arg(long)]
        filter: Vec<String>,
    },
    /// Create a new image from a container's changes.
    Commit(crate::container_io::CommitArgs),
    /// Inspect changes to files or directories on a container's filesystem.
    Diff {
        /// Container.
        container: String,
    },
    /// Export a container's filesystem as a tar archive.
    Export {
        /// Write to a file, instead of standard output.
        #[arg(short, long)]
        output: Option<String>,
        /// Container.
        container: String,
    },
}

/// `container prune`: stopped containers (matching the filters) removed; their ids.
pub fn prune(eng: &mut Engine, filters: &[String]) -> anyhow::Result<Vec<String>> {
    let f = engine::filters::Filters::parse(filters).map_err(anyhow::Error::new)?;
    eng.container_prune(&f).map_err(anyhow::Error::new)
}
