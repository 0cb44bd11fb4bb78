//! The options of `create` and `run` (Docker's flags, with Docker's parsing and words)
//! and the engine request they make.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use clap::{ArgAction, Args};
use engine::config::{AttachStreams, LogConfig};
use engine::lifecycle::{CreateRequest, HealthFlags};
use engine::ContainerConfig;

use crate::containers::Status;
use crate::flag_values::{bad_arg, go_bool, int_flag, label_file, size_flag, throttle_flag};

/// Options shared by `create` and `run`.
#[derive(Debug, Args)]
pub struct CreateArgs {
    /// Assign a name.
    #[arg(long, allow_hyphen_values = true)]
    pub name: Option<String>,
    /// Keep STDIN open.
    #[arg(short, long, num_args = 0..=1, require_equals = true, default_missing_value = "true", default_value = "false", value_parser = go_bool, action = ArgAction::Set)]
    pub interactive: bool,
    /// Allocate a pseudo-TTY.
    #[arg(short, long, num_args = 0..=1, require_equals = true, default_missing_value = "true", default_value = "false", value_parser = go_bool, action = ArgAction::Set)]
    pub tty: bool,
    /// Remove the container when it exits.
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true", default_value = "false", value_parser = go_bool, action = ArgAction::Set)]
    pub rm: bool,
    /// Set environment variables.
    #[arg(short, long = "env", allow_hyphen_values = true)]
    pub env: Vec<String>,
    /// Read environment variables from a file.
    #[arg(long = "env-file", allow_hyphen_values = true)]
    pub env_file: Vec<PathBuf>,
    /// Bind mount or volume (`SRC:DST[:ro]`, `NAME:DST`, `DST`).
    #[arg(short, long = "volume", allow_hyphen_values = true)]
    pub volume: Vec<String>,
    /// Mount (`type=bind|volume|tmpfs,source=...,target=...`).
    #[arg(long, allow_hyphen_values = true)]
    pub mount: Vec<String>,
    /// Mount a tmpfs (`DST[:size=64m,mode=1777]`).
    #[arg(long, allow_hyphen_values = true)]
    pub tmpfs: Vec<String>,
    /// Working directory inside the container.
    #[arg(short, long, allow_hyphen_values = true)]
    pub workdir: Option<String>,
    /// User (`name|uid[:group|gid]`).
    #[arg(short, long, allow_hyphen_values = true)]
    pub user: Option<String>,
    /// Overwrite the image's ENTRYPOINT.
    #[arg(long, allow_hyphen_values = true)]
    pub entrypoint: Option<String>,
    /// Container hostname.
    #[arg(long, allow_hyphen_values = true)]
    pub hostname: Option<String>,
    /// Set metadata (`key=value`).
    #[arg(short, long = "label", allow_hyphen_values = true)]
    pub label: Vec<String>,
    /// Restart policy (`no`, `always`, `unless-stopped`, `on-failure[:N]`).
    #[arg(long, default_value = "no", allow_hyphen_values = true)]
    pub restart: String,
    /// Memory limit (`256m`).
    #[arg(short, long, allow_hyphen_values = true)]
    pub memory: Option<String>,
    /// Memory plus swap (`-1`: unlimited).
    #[arg(long = "memory-swap", allow_hyphen_values = true)]
    pub memory_swap: Option<String>,
    /// Number of CPUs (`1.5`).
    #[arg(long, allow_hyphen_values = true)]
    pub cpus: Option<f64>,
    /// CPU shares (relative weight).
    #[arg(short = 'c', long = "cpu-shares", allow_hyphen_values = true)]
    pub cpu_shares: Option<u64>,
    /// CPUs in which to allow execution (`0-1`).
    #[arg(long = "cpuset-cpus", allow_hyphen_values = true)]
    pub cpuset_cpus: Option<String>,
    /// Tune the pids limit (`-1`: unlimited).
    #[arg(long = "pids-limit", allow_hyphen_values = true)]
    pub pids_limit: Option<i64>,
    /// Ulimit (`nofile=1024:2048`).
    #[arg(long, allow_hyphen_values = true)]
    pub ulimit: Vec<String>,
    /// Mount the root filesystem read-only.
    #[arg(long = "read-only", num_args = 0..=1, require_equals = true, default_missing_value = "true", default_value = "false", value_parser = go_bool, action = ArgAction::Set)]
    pub read_only: bool,
    /// Add Linux capabilities.
    #[arg(long = "cap-add", allow_hyphen_values = true)]
    pub cap_add: Vec<String>,
    /// Drop Linux capabilities.
    #[arg(long = "cap-drop", allow_hyphen_values = true)]
    pub cap_drop: Vec<String>,
    /// Give extended privileges.
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true", default_value = "false", value_parser = go_bool, action = ArgAction::Set)]
    pub privileged: bool,
    /// Security options (`no-new-privileges`, `seccomp=FILE|unconfined`).
    #[arg(long = "security-opt", allow_hyphen_values = true)]
    pub security_opt: Vec<String>,
    /// Add a host device (`HOST[:CONTAINER][:PERMS]`).
    #[arg(long = "device", allow_hyphen_values = true)]
    pub device: Vec<String>,
    /// Add a rule to the devices cgroup (`c 1:3 rwm`).
    #[arg(long = "device-cgroup-rule", allow_hyphen_values = true)]
    pub device_cgroup_rule: Vec<String>,
    /// Additional groups.
    #[arg(long = "group-add", allow_hyphen_values = true)]
    pub group_add: Vec<String>,
    /// Run an init inside the container that forwards signals and reaps processes.
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true", default_value = "false", value_parser = go_bool, action = ArgAction::Set)]
    pub init: bool,
    /// Signal to stop the container.
    #[arg(long = "stop-signal", allow_hyphen_values = true)]
    pub stop_signal: Option<String>,
    /// Seconds to wait before killing the container on stop.
    #[arg(long = "stop-timeout", allow_hyphen_values = true)]
    pub stop_timeout: Option<i64>,
    /// Command to run to check health.
    #[arg(long = "health-cmd", allow_hyphen_values = true)]
    pub health_cmd: Option<String>,
    /// Time between running the check (`30s`).
    #[arg(long = "health-interval", allow_hyphen_values = true)]
    pub health_interval: Option<String>,
    /// Maximum time to allow one check to run.
    #[arg(long = "health-timeout", allow_hyphen_values = true)]
    pub health_timeout: Option<String>,
    /// Start period for the container to initialize.
    #[arg(long = "health-start-period", allow_hyphen_values = true)]
    pub health_start_period: Option<String>,
    /// Consecutive failures needed to report unhealthy.
    #[arg(long = "health-retries", allow_hyphen_values = true)]
    pub health_retries: Option<u32>,
    /// Time between running the check during the start period.
    #[arg(long = "health-start-interval", allow_hyphen_values = true)]
    pub health_start_interval: Option<String>,
    /// Disable any container-specified HEALTHCHECK.
    #[arg(long = "no-healthcheck", num_args = 0..=1, require_equals = true, default_missing_value = "true", default_value = "false", value_parser = go_bool, action = ArgAction::Set)]
    pub no_healthcheck: bool,
    /// Connect to a network (`bridge`, `none`, `host`).
    #[arg(
        long,
        alias = "net",
        default_value = "default",
        allow_hyphen_values = true
    )]
    pub network: String,
    /// Publish a port (`[IP:][HOST:]CTR[/PROTO]`, ranges too).
    #[arg(short, long, allow_hyphen_values = true)]
    pub publish: Vec<String>,
    /// IPv4 address on the network (`--network` must be a bridge network).
    #[arg(long, allow_hyphen_values = true)]
    pub ip: Option<String>,
    /// MAC address of the container's interface.
    #[arg(long = "mac-address", allow_hyphen_values = true)]
    pub mac_address: Option<String>,
    /// Another name for the container on its network.
    #[arg(long = "network-alias", allow_hyphen_values = true)]
    pub network_alias: Vec<String>,
    /// Custom DNS servers.
    #[arg(long, allow_hyphen_values = true)]
    pub dns: Vec<String>,
    /// Set DNS options (`resolv.conf`'s `options`).
    #[arg(long = "dns-option", alias = "dns-opt", allow_hyphen_values = true)]
    pub dns_option: Vec<String>,
    /// Set custom DNS search domains.
    #[arg(long = "dns-search", allow_hyphen_values = true)]
    pub dns_search: Vec<String>,
    /// Add a custom host-to-IP mapping (`host:ip`).
    #[arg(long = "add-host", allow_hyphen_values = true)]
    pub add_host: Vec<String>,
    /// Publish all exposed ports to free host ports.
    #[arg(short = 'P', long = "publish-all", num_args = 0..=1, require_equals = true, default_missing_value = "true", default_value = "false", value_parser = go_bool, action = ArgAction::Set)]
    pub publish_all: bool,
    /// Expose a port or a range of ports (`80`, `7000-7010/udp`).
    #[arg(long, allow_hyphen_values = true)]
    pub expose: Vec<String>,
    /// Link to another container on the default bridge (`NAME[:ALIAS]`).
    #[arg(long, allow_hyphen_values = true)]
    pub link: Vec<String>,
    /// IPv6 address (quai's networks have none).
    #[arg(long, allow_hyphen_values = true)]
    pub ip6: Option<String>,
    /// Size of /dev/shm (`64m`).
    #[arg(long = "shm-size", allow_hyphen_values = true)]
    pub shm_size: Option<String>,
    /// Sysctl options (`net.ipv4.ip_forward=1`).
    #[arg(long, allow_hyphen_values = true)]
    pub sysctl: Vec<String>,
    /// IPC mode (`private`, `shareable`, `none`, `host`, `container:NAME`).
    #[arg(long, allow_hyphen_values = true)]
    pub ipc: Option<String>,
    /// PID namespace (`host`, `container:NAME`).
    #[arg(long, allow_hyphen_values = true)]
    pub pid: Option<String>,
    /// UTS namespace (`host`).
    #[arg(long, allow_hyphen_values = true)]
    pub uts: Option<String>,
    /// Cgroup namespace (`private`, `host`).
    #[arg(long, allow_hyphen_values = true)]
    pub cgroupns: Option<String>,
    /// User namespace: `host`, `auto[:size=N]`, `keep-id[:uid=U,gid=G]` (rootless).
    #[arg(long, allow_hyphen_values = true)]
    pub userns: Option<String>,
    /// A user namespace with this uid mapping, `CONTAINER_ID:HOST_ID:SIZE` (repeatable).
    #[arg(long = "uidmap")]
    pub uidmap: Vec<String>,
    /// Its gid mapping (default: the uid mapping).
    #[arg(long = "gidmap")]
    pub gidmap: Vec<String>,
    /// Container NIS domain name.
    #[arg(long, allow_hyphen_values = true)]
    pub domainname: Option<String>,
    /// Tune the host's OOM preferences (-1000 to 1000).
    #[arg(long = "oom-score-adj", allow_hyphen_values = true)]
    pub oom_score_adj: Option<String>,
    /// Disable the OOM killer.
    #[arg(long = "oom-kill-disable", num_args = 0..=1, require_equals = true, default_missing_value = "true", default_value = "false", value_parser = go_bool, action = ArgAction::Set)]
    pub oom_kill_disable: bool,
    /// Memory soft limit (`32m`).
    #[arg(long = "memory-reservation", allow_hyphen_values = true)]
    pub memory_reservation: Option<String>,
    /// Tune the container's memory swappiness (0 to 100, -1: the host's).
    #[arg(long = "memory-swappiness", allow_hyphen_values = true)]
    pub memory_swappiness: Option<String>,
    /// Kernel memory limit (deprecated: accepted, not applied).
    #[arg(long = "kernel-memory", allow_hyphen_values = true)]
    pub kernel_memory: Option<String>,
    /// Block IO weight (10 to 1000).
    #[arg(long = "blkio-weight", allow_hyphen_values = true)]
    pub blkio_weight: Option<String>,
    /// Limit the read rate from a device (`/dev/sda:1mb`).
    #[arg(long = "device-read-bps", allow_hyphen_values = true)]
    pub device_read_bps: Vec<String>,
    /// Limit the write rate to a device (`/dev/sda:1mb`).
    #[arg(long = "device-write-bps", allow_hyphen_values = true)]
    pub device_write_bps: Vec<String>,
    /// Limit the read operations per second from a device (`/dev/sda:1000`).
    #[arg(long = "device-read-iops", allow_hyphen_values = true)]
    pub device_read_iops: Vec<String>,
    /// Limit the write operations per second to a device (`/dev/sda:1000`).
    #[arg(long = "device-write-iops", allow_hyphen_values = true)]
    pub device_write_iops: Vec<String>,
    /// Limit the CPU CFS period (microseconds).
    #[arg(long = "cpu-period", allow_hyphen_values = true)]
    pub cpu_period: Option<String>,
    /// Limit the CPU CFS quota (microseconds; -1: none).
    #[arg(long = "cpu-quota", allow_hyphen_values = true)]
    pub cpu_quota: Option<String>,
    /// Limit the CPU real-time period (microseconds).
    #[arg(long = "cpu-rt-period", allow_hyphen_values = true)]
    pub cpu_rt_period: Option<String>,
    /// Limit the CPU real-time runtime (microseconds).
    #[arg(long = "cpu-rt-runtime", allow_hyphen_values = true)]
    pub cpu_rt_runtime: Option<String>,
    /// Memory nodes in which to allow execution (`0-3`, `0,1`).
    #[arg(long = "cpuset-mems", allow_hyphen_values = true)]
    pub cpuset_mems: Option<String>,
    /// Cgroup under which the container's is made.
    #[arg(long = "cgroup-parent", allow_hyphen_values = true)]
    pub cgroup_parent: Option<String>,
    /// Pull the image before creating (`always`, `missing`, `never`).
    #[arg(long, default_value = "missing", allow_hyphen_values = true)]
    pub pull: String,
    /// Set the platform the image must be of (`linux/amd64`).
    #[arg(long, allow_hyphen_values = true)]
    pub platform: Option<String>,
    /// Logging driver (`json-file`, `local`, `none`).
    #[arg(long = "log-driver", allow_hyphen_values = true)]
    pub log_driver: Option<String>,
    /// Log driver options (`max-size=10m`, `max-file=3`).
    #[arg(long = "log-opt", allow_hyphen_values = true)]
    pub log_opt: Vec<String>,
    /// Attach to STDIN, STDOUT or STDERR.
    #[arg(short = 'a', long = "attach", allow_hyphen_values = true)]
    pub attach: Vec<String>,
    /// Write the container id to the file.
    #[arg(long, allow_hyphen_values = true)]
    pub cidfile: Option<PathBuf>,
    /// Read labels from a file of `key=value` lines.
    #[arg(long = "label-file", allow_hyphen_values = true)]
    pub label_file: Vec<PathBuf>,
    /// Mount the volumes of another container (`NAME[:ro|rw]`).
    #[arg(long = "volumes-from", allow_hyphen_values = true)]
    pub volumes_from: Vec<String>,
    /// Runtime for the container (`runc` or `quai`: quai's own either way).
    #[arg(long, allow_hyphen_values = true)]
    pub runtime: Option<String>,
    /// Container isolation technology (`default`).
    #[arg(long, allow_hyphen_values = true)]
    pub isolation: Option<String>,
    /// Add an annotation to the container's OCI spec (`key=value`).
    #[arg(long, allow_hyphen_values = true)]
    pub annotation: Vec<String>,
    /// GPU devices to add (quai has no GPU support).
    #[arg(long, allow_hyphen_values = true)]
    pub gpus: Option<String>,
    /// The image, then the command and its arguments (options end at the image, as in
    /// Docker: everything after it is the command's).
    #[arg(
        value_name = "IMAGE [COMMAND] [ARG...]",
        trailing_var_arg = true,
        required = true,
        num_args = 1..
    )]
    pub command: Vec<String>,
}

/// `run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// Run in the background and print the container id.
    #[arg(short, long, num_args = 0..=1, require_equals = true, default_missing_value = "true", default_value = "false", value_parser = go_bool, action = ArgAction::Set)]
    pub detach: bool,
    /// Override the key sequence for detaching a container (`ctrl-p,ctrl-q`).
    #[arg(long = "detach-keys", allow_hyphen_values = true)]
    pub detach_keys: Option<String>,
    /// Proxy received signals to the process (without a terminal).
    #[arg(long = "sig-proxy", num_args = 0..=1, require_equals = true, default_missing_value = "true", default_value = "true", value_parser = go_bool, action = ArgAction::Set)]
    pub sig_proxy: bool,
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

/// What `create` and `run` do besides the engine's create: when to pull, where to write
/// the id.
#[derive(Debug)]
pub(crate) struct Plan {
    /// The engine's request.
    pub req: CreateRequest,
    /// `--pull`.
    pub pull: Pull,
    /// `--cidfile`.
    pub cidfile: Option<PathBuf>,
}

/// `--pull`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Pull {
    /// Pull first, always.
    Always,
    /// Pull when the image is not here (the default).
    Missing,
    /// Never pull.
    Never,
}

pub(crate) fn request(a: CreateArgs, detached: bool) -> anyhow::Result<Plan> {
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
    let mut labels = Vec::new();
    for f in &a.label_file {
        labels.extend(label_file(f)?);
    }
    labels.extend(a.label.iter().cloned());
    for l in &labels {
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
                engine::lifecycle::parse_bytes(s)
                    .ok_or_else(|| bad_arg(flag, s, format!("invalid size: '{s}'")))
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
    c.network_mode_given = a.network.clone();
    c.network_mode = a.network.into();
    for d in &a.dns {
        engine::validate::dns_server(d).map_err(|e| bad_arg("dns", d, e))?;
    }
    for h in &a.add_host {
        engine::validate::extra_host(h).map_err(|e| bad_arg("add-host", h, e))?;
    }
    c.dns = a.dns;
    c.dns_options = a.dns_option;
    c.dns_search = a.dns_search;
    c.ip = a.ip;
    c.aliases = a.network_alias;
    c.mac_address = a.mac_address;
    c.extra_hosts = a.add_host;
    for p in &a.publish {
        c.ports.extend(net::ports::parse(p)?);
    }
    c.exposed_ports = engine::validate::exposed_ports(&a.expose)?;
    if a.ip6.is_some() {
        bail!("--ip6: quai's networks have no IPv6 addresses");
    }
    if let Some(g) = &a.gpus {
        bail!("could not select device driver \"\" with capabilities: [[gpu]] (--gpus {g}: quai has no GPU support)");
    }
    for l in &a.link {
        c.links.push(engine::validate::link(l)?);
    }
    c.volumes_from = a.volumes_from;
    let r = &mut c.resources;
    r.memory_reservation = size_flag("memory-reservation", &a.memory_reservation)?;
    r.kernel_memory = size_flag("kernel-memory", &a.kernel_memory)?;
    r.memory_swappiness = int_flag::<i64>("memory-swappiness", &a.memory_swappiness)?;
    if let Some(s) = r.memory_swappiness {
        if s != -1 && !(0..=100).contains(&s) {
            bail!("invalid value: {s}. Valid memory swappiness range is 0-100");
        }
    }
    // -1: the host's (nothing written).
    r.memory_swappiness = r.memory_swappiness.filter(|s| *s != -1);
    r.oom_kill_disable = a.oom_kill_disable;
    r.blkio_weight = int_flag::<u16>("blkio-weight", &a.blkio_weight)?.filter(|w| *w != 0);
    r.device_read_bps = throttle_flag("device-read-bps", &a.device_read_bps, true)?;
    r.device_write_bps = throttle_flag("device-write-bps", &a.device_write_bps, true)?;
    r.device_read_iops = throttle_flag("device-read-iops", &a.device_read_iops, false)?;
    r.device_write_iops = throttle_flag("device-write-iops", &a.device_write_iops, false)?;
    r.cpu_period = int_flag("cpu-period", &a.cpu_period)?;
    r.cpu_quota = int_flag("cpu-quota", &a.cpu_quota)?;
    r.cpu_rt_period = int_flag("cpu-rt-period", &a.cpu_rt_period)?;
    r.cpu_rt_runtime = int_flag("cpu-rt-runtime", &a.cpu_rt_runtime)?;
    r.cpuset_mems = a.cpuset_mems;
    c.shm_size = size_flag("shm-size", &a.shm_size)?.filter(|s| *s != 0);
    for kv in &a.sysctl {
        engine::validate::sysctl(kv).map_err(|e| bad_arg("sysctl", kv, e))?;
        let (k, v) = kv.split_once('=').unwrap_or((kv.as_str(), ""));
        c.sysctls.insert(k.to_string(), v.to_string());
    }
    c.ipc_mode = a.ipc.unwrap_or_default();
    c.pid_mode = a.pid.unwrap_or_default();
    c.uts_mode = a.uts.unwrap_or_default();
    c.cgroupns_mode = a.cgroupns.unwrap_or_default();
    c.userns_mode = a.userns.unwrap_or_default();
    let maps = |v: &[String]| -> anyhow::Result<Vec<engine::config::IdMap>> {
        v.iter()
            .map(|m| engine::config::IdMap::parse(m).map_err(anyhow::Error::msg))
            .collect()
    };
    c.uid_map = maps(&a.uidmap)?;
    c.gid_map = maps(&a.gidmap)?;
    c.cgroup_parent = a.cgroup_parent.unwrap_or_default();
    c.domainname = a.domainname.unwrap_or_default();
    c.oom_score_adj = int_flag("oom-score-adj", &a.oom_score_adj)?.unwrap_or(0);
    c.runtime = a.runtime.unwrap_or_default();
    c.isolation = a.isolation.unwrap_or_default();
    for kv in &a.annotation {
        let (k, v) = kv.split_once('=').unwrap_or((kv.as_str(), ""));
        c.annotations.insert(k.to_string(), v.to_string());
    }
    c.log_config = LogConfig {
        driver: a.log_driver.unwrap_or_default(),
        opts: a
            .log_opt
            .iter()
            .map(|o| {
                let (k, v) = o.split_once('=').unwrap_or((o.as_str(), ""));
                (k.to_string(), v.to_string())
            })
            .collect(),
    };
    let mut attach = AttachStreams::default();
    for s in &a.attach {
        match s.to_ascii_lowercase().as_str() {
            "stdin" => attach.stdin = true,
            "stdout" => attach.stdout = true,
            "stderr" => attach.stderr = true,
            _ => {
                return Err(anyhow::anyhow!(
                    "invalid argument {s:?} for \"-a, --attach\" flag: valid streams are STDIN, STDOUT and STDERR"
                ))
            }
        }
    }
    if detached && !a.attach.is_empty() {
        // Docker's status for this one is 1, not 125.
        return Err(anyhow::Error::new(Status(
            1,
            "conflicting options: cannot specify both --attach and --detach".into(),
        )));
    }
    if !detached {
        attach.stdin |= a.interactive;
        if a.attach.is_empty() {
            attach.stdout = true;
            attach.stderr = true;
        }
    }
    // docker's CLI: an attached stdin closes when its client leaves.
    c.stdin_once = c.open_stdin && attach.stdin;
    c.attach = attach;
    c.cid_file = a
        .cidfile
        .as_ref()
        .map(|p| p.display().to_string())
        .unwrap_or_default();
    let pull = match a.pull.as_str() {
        "always" => Pull::Always,
        "missing" | "" => Pull::Missing,
        "never" => Pull::Never,
        p => {
            bail!("invalid pull option: '{p}': must be one of \"always\", \"missing\" or \"never\"")
        }
    };
    if let Some(p) = &a.platform {
        engine::validate::platform(p)
            .map_err(|e| anyhow::anyhow!("error parsing specified platform: {e}"))?;
    }
    let mounts = a
        .mount
        .iter()
        .map(|m| engine::mounts::MountSpec::parse_flag(m).map_err(|e| bad_arg("mount", m, e)))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let mut command = a.command.into_iter();
    let image = command.next().unwrap_or_default();
    let req = CreateRequest {
        name: a.name,
        image,
        config: c,
        // `--entrypoint ''` is `[""]`, as docker's CLI sends it.
        entrypoint: a.entrypoint.map(|e| vec![e]),
        cmd: command.collect(),
        workdir: a.workdir,
        user: a.user,
        hostname: a.hostname,
        stop_signal: a.stop_signal,
        volumes: a.volume,
        mounts,
        anonymous_volumes: Vec::new(),
        tmpfs: a.tmpfs,
        health: HealthFlags {
            test: a.health_cmd.map(|c| vec!["CMD-SHELL".to_string(), c]),
            interval: duration_flag("health-interval", &a.health_interval)?,
            timeout: duration_flag("health-timeout", &a.health_timeout)?,
            start_period: duration_flag("health-start-period", &a.health_start_period)?,
            retries: a.health_retries,
            start_interval: duration_flag("health-start-interval", &a.health_start_interval)?,
            disable: a.no_healthcheck,
        },
        publish_all: a.publish_all,
        skip_image_volumes: false,
        platform: a.platform,
    };
    Ok(Plan {
        req,
        pull,
        cidfile: a.cidfile,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    /// `quai run ARGS...` parsed as the CLI parses it.
    fn run(args: &[&str]) -> Result<RunArgs, String> {
        let mut all = vec!["quai", "run"];
        all.extend(args);
        match crate::Cli::try_parse_from(all) {
            Ok(crate::Cli {
                cmd: crate::Cmd::Run(a),
                ..
            }) => Ok(a),
            Ok(_) => Err("not run".into()),
            Err(e) => Err(e.to_string()),
        }
    }

    #[test]
    fn flags_parse_as_dockers_flag_package_reads_them() {
        let a = run(&[
            "--rm=true",
            "-d=false",
            "-eC=3",
            "-it",
            "img",
            "sh",
            "-c",
            "x",
        ])
        .expect("parses");
        assert!(a.create.rm && !a.detach && a.create.interactive && a.create.tty);
        assert_eq!(a.create.env, ["C=3"]);
        assert_eq!(a.create.command, ["img", "sh", "-c", "x"]);
        let a = run(&["--rm=false", "--init=1", "-t=f", "img"]).expect("parses");
        assert!(!a.create.rm && a.create.init && !a.create.tty);
        // Options end at the image: the command's own flags stay its.
        let a = run(&["img", "ls", "-la", "--rm"]).expect("parses");
        assert!(!a.create.rm);
        assert_eq!(a.create.command, ["img", "ls", "-la", "--rm"]);
        // The last of a repeated flag wins; negative numbers are values.
        let a = run(&["--rm", "--rm=false", "--oom-score-adj", "-500", "img"]).expect("parses");
        assert!(!a.create.rm);
        assert_eq!(a.create.oom_score_adj.as_deref(), Some("-500"));
        assert!(run(&["--rm=maybe", "img"])
            .expect_err("not a bool")
            .contains("strconv.ParseBool"));
        assert!(run(&["--nosuch", "img"]).is_err());
        // A flag's value is the next word, dashes and all (pflag's rule).
        let a = run(&["--memory", "-5", "-e", "-x", "img"]).expect("parses");
        assert_eq!(a.create.memory.as_deref(), Some("-5"));
        assert_eq!(a.create.env, ["-x"]);
    }

    #[test]
    fn the_request_carries_the_flags() {
        let plan = |args: &[&str], detached: bool| {
            request(run(args).expect("parses").create, detached).map_err(|e| format!("{e:#}"))
        };
        let p = plan(
            &[
                "--shm-size",
                "8m",
                "--sysctl",
                "net.ipv4.ip_forward=1",
                "--ipc",
                "shareable",
                "--expose",
                "7000",
                "--log-opt",
                "max-size=1k",
                "--log-driver",
                "local",
                "-a",
                "STDOUT",
                "--pull",
                "never",
                "--memory-swappiness",
                "-1",
                "--dns-search",
                "example.org",
                "--dns-option",
                "ndots:2",
                "img",
            ],
            false,
        )
        .expect("request");
        let c = &p.req.config;
        assert_eq!(c.shm_size, Some(8 << 20));
        assert_eq!(c.sysctls["net.ipv4.ip_forward"], "1");
        assert_eq!(c.ipc_mode, "shareable");
        assert_eq!(c.exposed_ports, ["7000/tcp"]);
        assert_eq!(c.log_config.driver, "local");
        assert_eq!(c.log_config.opts["max-size"], "1k");
        assert!(c.attach.stdout && !c.attach.stderr && !c.attach.stdin);
        assert_eq!(c.resources.memory_swappiness, None, "-1: the host's");
        assert_eq!(
            (c.dns_search.as_slice(), c.dns_options.as_slice()),
            (
                &["example.org".to_string()][..],
                &["ndots:2".to_string()][..]
            )
        );
        assert_eq!(p.pull, Pull::Never);
        let p = plan(&["-i", "img"], false).expect("request");
        assert!(p.req.config.attach.stdin && p.req.config.attach.stdout);
        let p = plan(&["-i", "img"], true).expect("request");
        assert_eq!(
            p.req.config.attach,
            AttachStreams::default(),
            "-d attaches nothing"
        );
        for (args, want) in [
            (
                &["-a", "bogus", "img"][..],
                "valid streams are STDIN, STDOUT and STDERR",
            ),
            (
                &["--pull", "sometimes", "img"],
                "invalid pull option: 'sometimes'",
            ),
            (
                &["--platform", "bogus", "img"],
                "error parsing specified platform: \"bogus\"",
            ),
            (
                &["--memory-swappiness", "200", "img"],
                "invalid value: 200. Valid memory swappiness range is 0-100",
            ),
            (
                &["--sysctl", "vm.swappiness=1", "img"],
                "sysctl 'vm.swappiness=1' is not allowed",
            ),
            (&["--gpus", "all", "img"], "no GPU support"),
            (&["--ip6", "::1", "img"], "no IPv6"),
            (
                &["--label-file", "/nosuch", "img"],
                "open /nosuch: no such file or directory",
            ),
        ] {
            let e = plan(args, false).expect_err(want);
            assert!(e.contains(want), "{args:?}: want {want:?}, got {e:?}");
        }
        let e = plan(&["-a", "stdout", "img"], true).expect_err("conflict");
        assert_eq!(
            e,
            "conflicting options: cannot specify both --attach and --detach"
        );
    }
}
