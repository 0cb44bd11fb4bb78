//! The options of `create` and `run` (Docker's flags, with Docker's parsing and words)
//! and the engine request they make.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use clap::Args;
use engine::lifecycle::{CreateRequest, HealthFlags};
use engine::ContainerConfig;

use crate::containers::Status;

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
pub(crate) fn resolve_env(e: &str) -> String {
    if e.contains('=') {
        e.to_string()
    } else {
        std::env::var(e)
            .map(|v| format!("{e}={v}"))
            .unwrap_or_default()
    }
}

pub(crate) fn request(a: CreateArgs) -> anyhow::Result<CreateRequest> {
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
