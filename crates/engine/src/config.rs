//! The engine's stored records (versioned serde types, kept as JSON in `state.db`): what a
//! container was created with, and what it is doing.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Version of the stored [`ContainerConfig`] format.
pub const CONFIG_VERSION: u32 = 1;

/// One range of a user namespace's id map.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct IdMap {
    /// First id inside.
    pub container_id: u32,
    /// First id outside (the engine's namespace).
    pub host_id: u32,
    /// How many.
    pub size: u32,
}

impl IdMap {
    /// Podman's `--uidmap` form, `CONTAINER:HOST:SIZE`.
    pub fn parse(s: &str) -> Result<IdMap, String> {
        let f: Vec<&str> = s.split(':').collect();
        let bad = || format!("invalid id mapping {s:?}: want CONTAINER_ID:HOST_ID:SIZE");
        if f.len() != 3 {
            return Err(bad());
        }
        let n = |x: &str| x.parse::<u32>().map_err(|_| bad());
        let m = IdMap {
            container_id: n(f[0])?,
            host_id: n(f[1])?,
            size: n(f[2])?,
        };
        if m.size == 0
            || u64::from(m.container_id) + u64::from(m.size) > u64::from(u32::MAX)
            || u64::from(m.host_id) + u64::from(m.size) > u64::from(u32::MAX)
        {
            return Err(format!("invalid id mapping {s:?}: the size must be 1 or more and the ranges must fit in 32 bits"));
        }
        Ok(m)
    }
}

/// How a container was created (Docker's `Config` + `HostConfig`, as quai needs them).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct ContainerConfig {
    /// Format version ([`CONFIG_VERSION`]).
    pub version: u32,
    /// The image as the user named it.
    pub image: String,
    /// The image id (config digest).
    pub image_id: String,
    /// The entrypoint in effect (image's unless `--entrypoint`).
    pub entrypoint: Vec<String>,
    /// The command in effect (image's CMD unless arguments were given).
    pub cmd: Vec<String>,
    /// Environment: the image's, then `--env-file`, then `-e`.
    pub env: Vec<String>,
    /// Working directory (image's unless `-w`).
    pub workdir: String,
    /// `-u` or the image's USER.
    pub user: String,
    /// Hostname (the short id unless `--hostname`).
    pub hostname: String,
    /// Labels: the image's, then `--label`.
    pub labels: BTreeMap<String, String>,
    /// `-t`.
    pub tty: bool,
    /// `-i`.
    pub open_stdin: bool,
    /// Docker's `StdinOnce`: stdin closes when the first attached client leaves (kept
    /// and shown; `run -i` asks for it).
    pub stdin_once: bool,
    /// Docker's `NetworkDisabled`: no network but loopback (the network mode is kept as
    /// given and shown).
    pub network_disabled: bool,
    /// Volumes, binds and tmpfs, resolved.
    pub mounts: Vec<MountConfig>,
    /// `--restart`.
    pub restart: RestartPolicy,
    /// `--rm`.
    pub auto_remove: bool,
    /// Resource limits.
    pub resources: Resources,
    /// `--read-only`.
    pub read_only: bool,
    /// `--privileged`.
    pub privileged: bool,
    /// `--cap-add`.
    pub cap_add: Vec<String>,
    /// `--cap-drop`.
    pub cap_drop: Vec<String>,
    /// `--security-opt`.
    pub security_opt: Vec<String>,
    /// `--group-add`.
    pub group_add: Vec<String>,
    /// `--init`.
    pub init: bool,
    /// `--stop-signal` or the image's STOPSIGNAL (default SIGTERM).
    pub stop_signal: String,
    /// `--stop-timeout` in seconds (default 10).
    pub stop_timeout: Option<i64>,
    /// The health check in effect (image's HEALTHCHECK overridden by `--health-*`).
    pub health: Option<HealthConfig>,
    /// `--network`.
    pub network_mode: NetworkMode,
    /// `--network` as given (`default` when it was not), which `inspect` shows as
    /// `HostConfig.NetworkMode`, as Docker does; empty in records made before it.
    #[serde(default)]
    pub network_mode_given: String,
    /// Ports the image EXPOSEs (`80/tcp`).
    pub exposed_ports: Vec<String>,
    /// `-P` (Docker's `PublishAllPorts`; the ports it publishes are in `ports`).
    pub publish_all: bool,
    /// The JSON of `--security-opt seccomp=FILE`, read at create time.
    pub seccomp_profile: Option<String>,
    /// `-p` (and `-P`: the image's EXPOSEd ports); host port 0 is chosen at start.
    pub ports: Vec<net::ports::PortBinding>,
    /// `--dns` servers (replace the host's in `resolv.conf`).
    pub dns: Vec<String>,
    /// `--dns-option` (`resolv.conf`'s `options`).
    pub dns_options: Vec<String>,
    /// `--dns-search` (`resolv.conf`'s `search`).
    pub dns_search: Vec<String>,
    /// `--add-host NAME:IP` lines for `/etc/hosts`.
    pub extra_hosts: Vec<String>,
    /// `--ip`.
    pub ip: Option<String>,
    /// `--network-alias`.
    pub aliases: Vec<String>,
    /// `--mac-address`.
    pub mac_address: Option<String>,
    /// `--device HOST[:CONTAINER][:PERMS]`.
    pub devices: Vec<DeviceMapping>,
    /// `--device-cgroup-rule` (`c 1:3 rwm`): devices the container may use without a node.
    pub device_cgroup_rules: Vec<String>,
    /// Networks joined with `network connect` (besides `network_mode`).
    pub networks: Vec<Attachment>,
    /// `network disconnect` took the container off its `network_mode` network (which
    /// stays its mode, as Docker's `HostConfig.NetworkMode` does) until a `network connect`
    /// to it.
    pub primary_disconnected: bool,
    /// A build step's container: BuildKit's sandbox (hostname `buildkitsandbox`, its
    /// short `/etc/hosts`, no `/etc/hostname` mount, no `HOSTNAME` variable).
    pub build_step: bool,
    /// `--shm-size` in bytes (None: Docker's 64 MiB).
    pub shm_size: Option<i64>,
    /// `--sysctl KEY=VALUE` (namespaced sysctls only).
    pub sysctls: BTreeMap<String, String>,
    /// `--ipc`: `""`/`private`, `shareable`, `none`, `host` or `container:ID`.
    pub ipc_mode: String,
    /// `--pid`: `""` (a pid namespace of its own), `host` or `container:ID`.
    pub pid_mode: String,
    /// `--uts`: `""` or `host`.
    pub uts_mode: String,
    /// `--cgroupns`: `""`/`private` or `host`.
    pub cgroupns_mode: String,
    /// `--cgroup-parent`: the cgroup the container's is made under (absolute); under the
    /// systemd driver a slice (`name.slice`).
    pub cgroup_parent: String,
    /// The cgroup driver it was created under: `cgroupfs` (also when empty) or `systemd`.
    pub cgroup_manager: String,
    /// `--userns`: `""`/`host` (none of its own), `auto[:size=N]`, `keep-id[:uid=U,gid=G]`
    /// (rootless), or `private` (with `--uidmap`).
    pub userns_mode: String,
    /// The container's user namespace: uid mappings (container id, host id, size),
    /// resolved at create (`--uidmap`, `--userns=auto|keep-id`); empty: none of its own.
    pub uid_map: Vec<IdMap>,
    /// Its gid mappings.
    pub gid_map: Vec<IdMap>,
    /// `--domainname` (the UTS namespace's NIS domain name).
    pub domainname: String,
    /// `--oom-score-adj` (-1000..1000).
    pub oom_score_adj: i32,
    /// `--log-driver` and `--log-opt`.
    pub log_config: LogConfig,
    /// Which standard streams `run` attaches (`-a`; stdout and stderr by default, none
    /// with `-d`): Docker's `AttachStdin`, `AttachStdout`, `AttachStderr`.
    pub attach: AttachStreams,
    /// `--cidfile`.
    pub cid_file: String,
    /// `--link`: (the linked container's id, its alias here).
    pub links: Vec<Link>,
    /// `--volumes-from` as given (its mounts are copied into `mounts` at create).
    pub volumes_from: Vec<String>,
    /// `--runtime` (`runc` or `quai`: both are quai's runtime).
    pub runtime: String,
    /// `--isolation` (`default` or empty).
    pub isolation: String,
    /// `--annotation KEY=VALUE`: the OCI spec's annotations.
    pub annotations: BTreeMap<String, String>,
}

/// `--log-driver` and `--log-opt` (Docker's `HostConfig.LogConfig`).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(default)]
pub struct LogConfig {
    /// `json-file` (empty: the default, json-file), `local` (stored as json-file) or
    /// `none` (nothing kept: `logs` refuses).
    pub driver: String,
    /// `max-size`, `max-file`, ...
    pub opts: BTreeMap<String, String>,
}

impl LogConfig {
    /// The driver's name as Docker shows it.
    pub fn driver_name(&self) -> &str {
        if self.driver.is_empty() {
            "json-file"
        } else {
            &self.driver
        }
    }

    /// Whether output is kept (and `logs` can read it).
    pub fn keeps_logs(&self) -> bool {
        self.driver_name() != "none"
    }

    /// `max-size` in bytes (None: the file grows without rotation).
    pub fn max_size(&self) -> Option<u64> {
        let s = self.opts.get("max-size")?;
        crate::resolve::parse_bytes(s)
            .and_then(|v| u64::try_from(v).ok())
            .filter(|v| *v > 0)
    }

    /// `max-file` (1 when not given: the file is truncated when it reaches `max-size`).
    pub fn max_file(&self) -> u32 {
        self.opts
            .get("max-file")
            .and_then(|v| v.parse().ok())
            .filter(|v| *v >= 1)
            .unwrap_or(1)
    }
}

/// Which of a container's standard streams an attached `run` relays.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(default)]
pub struct AttachStreams {
    /// Docker's `AttachStdin`.
    pub stdin: bool,
    /// Docker's `AttachStdout`.
    pub stdout: bool,
    /// Docker's `AttachStderr`.
    pub stderr: bool,
}

/// A `--link` to another container on the default bridge.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(default)]
pub struct Link {
    /// The linked container's id (stored by id: it may be renamed).
    pub container: String,
    /// The name it has in this container (its `/etc/hosts` entry).
    pub alias: String,
}

impl ContainerConfig {
    /// Whether the container has an IPC namespace of its own.
    pub fn own_ipc_ns(&self) -> bool {
        self.ipc_mode != "host" && !self.ipc_mode.starts_with("container:")
    }

    /// Whether the container has a UTS namespace of its own.
    pub fn own_uts_ns(&self) -> bool {
        self.uts_mode != "host"
    }
}

/// A host device given to a container (Docker's `DeviceMapping`).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(default)]
pub struct DeviceMapping {
    /// The node on the host.
    pub path_on_host: String,
    /// Where it appears in the container.
    pub path_in_container: String,
    /// `rwm` or a subset.
    pub cgroup_permissions: String,
}

/// `--network` (Docker's `HostConfig.NetworkMode`), stored as Docker writes it: `bridge`,
/// `none`, `host`, `container:ID` or a user-defined network's name.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(from = "String", into = "String")]
pub enum NetworkMode {
    /// The default bridge network (named `bridge`).
    #[default]
    Bridge,
    /// A user-defined network, by name.
    Network(String),
    /// No network: loopback only.
    None,
    /// The host's network namespace.
    Host,
    /// Another container's network namespace, by id.
    Container(String),
}

impl NetworkMode {
    /// The bridge network it puts the container on (`bridge` or a user network's name);
    /// None for `none`, `host` and `container:`.
    pub fn network(&self) -> Option<&str> {
        match self {
            NetworkMode::Bridge => Some("bridge"),
            NetworkMode::Network(n) => Some(n),
            _ => None,
        }
    }

    /// Whether the container is on the network named `name`.
    pub fn is_on(&self, name: &str) -> bool {
        self.network() == Some(name)
    }

    /// The container whose namespace it shares.
    pub fn container(&self) -> Option<&str> {
        match self {
            NetworkMode::Container(c) => Some(c),
            _ => None,
        }
    }
}

impl From<String> for NetworkMode {
    fn from(s: String) -> Self {
        match s.as_str() {
            "" | "default" | "bridge" => NetworkMode::Bridge,
            "none" => NetworkMode::None,
            "host" => NetworkMode::Host,
            _ => match s.strip_prefix("container:") {
                Some(c) => NetworkMode::Container(c.to_string()),
                None => NetworkMode::Network(s),
            },
        }
    }
}

impl From<NetworkMode> for String {
    fn from(m: NetworkMode) -> String {
        m.to_string()
    }
}

impl std::fmt::Display for NetworkMode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            NetworkMode::Bridge => f.write_str("bridge"),
            NetworkMode::Network(n) => f.write_str(n),
            NetworkMode::None => f.write_str("none"),
            NetworkMode::Host => f.write_str("host"),
            NetworkMode::Container(c) => write!(f, "container:{c}"),
        }
    }
}

/// A network a container joins besides its first one.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(default)]
pub struct Attachment {
    /// Network name.
    pub network: String,
    /// `--alias`.
    pub aliases: Vec<String>,
    /// `--ip`.
    pub ip: Option<String>,
}

/// A live attachment to an extra network.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(default)]
pub struct Endpoint {
    /// Network name.
    pub network: String,
    /// Address on it.
    pub ip: String,
    /// Interface inside the container (`eth1`, ...).
    pub ifname: String,
}

/// A mount's type (Docker's `Mounts[].Type`, stored as `bind` / `volume` / `tmpfs`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MountKind {
    /// A host path.
    Bind,
    /// A named or anonymous volume.
    #[default]
    Volume,
    /// A tmpfs of the container's own.
    Tmpfs,
}

impl MountKind {
    /// Docker's name.
    pub fn as_str(self) -> &'static str {
        match self {
            MountKind::Bind => "bind",
            MountKind::Volume => "volume",
            MountKind::Tmpfs => "tmpfs",
        }
    }

    /// `--mount type=...`.
    pub fn parse(s: &str) -> Option<MountKind> {
        match s {
            "bind" => Some(MountKind::Bind),
            "volume" => Some(MountKind::Volume),
            "tmpfs" => Some(MountKind::Tmpfs),
            _ => None,
        }
    }
}

impl std::fmt::Display for MountKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One mount of a container.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(default)]
pub struct MountConfig {
    /// What is mounted.
    pub kind: MountKind,
    /// Host path (bind), volume name (volume), empty (tmpfs).
    pub source: String,
    /// Path in the container.
    pub target: String,
    /// Read-only.
    pub readonly: bool,
    /// tmpfs size in bytes, when given.
    pub tmpfs_size: Option<u64>,
    /// tmpfs mode, when given.
    pub tmpfs_mode: Option<u32>,
    /// Volume created for this container only (image VOLUME, `-v /path`): removed with it
    /// by `rm -v` and `--rm`.
    pub anonymous: bool,
    /// Copy the image's content at the target into an empty volume on first use.
    pub copy_up: bool,
    /// How it was asked for, which `inspect` shows back in `HostConfig` (None: the
    /// image's VOLUME, `-v /path`, or a record made before this field).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub origin: Option<MountOrigin>,
}

/// Where a mount comes from (`HostConfig.Binds`, `Mounts`, `Tmpfs`, `VolumesFrom`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub enum MountOrigin {
    /// `-v` / `HostConfig.Binds`: the text as given.
    Bind(String),
    /// `--mount` / `HostConfig.Mounts`: the specification as given.
    Mount(Box<crate::mounts::MountSpec>),
    /// `--tmpfs` / `HostConfig.Tmpfs`: its options as given.
    Tmpfs(String),
    /// `--volumes-from`: another container's mount.
    VolumesFrom,
}

/// A restart policy's kind (stored as Docker's name; an empty or unknown name reads back
/// as `no`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(from = "String", into = "String")]
pub enum RestartName {
    /// Never restart.
    #[default]
    No,
    /// Always, also after a reboot, unless removed.
    Always,
    /// Always, unless a user stopped it.
    UnlessStopped,
    /// After a non-zero exit, up to `max_retries` times (0: no limit).
    OnFailure,
}

impl RestartName {
    /// Docker's name.
    pub fn as_str(self) -> &'static str {
        match self {
            RestartName::No => "no",
            RestartName::Always => "always",
            RestartName::UnlessStopped => "unless-stopped",
            RestartName::OnFailure => "on-failure",
        }
    }
}

impl From<String> for RestartName {
    fn from(s: String) -> Self {
        match s.as_str() {
            "always" => RestartName::Always,
            "unless-stopped" => RestartName::UnlessStopped,
            "on-failure" => RestartName::OnFailure,
            _ => RestartName::No,
        }
    }
}

impl From<RestartName> for String {
    fn from(n: RestartName) -> String {
        n.as_str().to_string()
    }
}

impl std::fmt::Display for RestartName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `--restart`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(default)]
pub struct RestartPolicy {
    /// Which policy.
    pub name: RestartName,
    /// `on-failure:N`.
    pub max_retries: u32,
}

impl RestartPolicy {
    /// Parse Docker's `--restart` value.
    pub fn parse(s: &str) -> Result<RestartPolicy, String> {
        let (name, n) = match s.split_once(':') {
            Some((a, b)) => (a, Some(b)),
            None => (s, None),
        };
        let max_retries = match n {
            Some(v) => v
                .parse()
                .map_err(|_| format!("invalid restart policy {s:?}: bad retry count"))?,
            None => 0,
        };
        let simple = |name| {
            Ok(RestartPolicy {
                name,
                max_retries: 0,
            })
        };
        match name {
            "" | "no" if n.is_none() => simple(RestartName::No),
            "always" if n.is_none() => simple(RestartName::Always),
            "unless-stopped" if n.is_none() => simple(RestartName::UnlessStopped),
            "on-failure" => Ok(RestartPolicy {
                name: RestartName::OnFailure,
                max_retries,
            }),
            "always" | "unless-stopped" | "no" => Err(format!(
                "invalid restart policy {s:?}: maximum retry count can only be used with 'on-failure'"
            )),
            _ => Err(format!("invalid restart policy {s:?}")),
        }
    }

    /// Whether a container that exited with `code` restarts (`restarts` so far).
    pub fn should_restart(&self, code: i32, manually_stopped: bool, restarts: u32) -> bool {
        if manually_stopped {
            return false;
        }
        match self.name {
            RestartName::Always | RestartName::UnlessStopped => true,
            RestartName::OnFailure => {
                code != 0 && (self.max_retries == 0 || restarts < self.max_retries)
            }
            RestartName::No => false,
        }
    }
}

/// Resource limits.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(default)]
pub struct Resources {
    /// `--memory` bytes.
    pub memory: Option<i64>,
    /// `--memory-swap` bytes (-1: unlimited).
    pub memory_swap: Option<i64>,
    /// `--cpus` in billionths of a CPU.
    pub nano_cpus: Option<i64>,
    /// `--cpu-shares`.
    pub cpu_shares: Option<u64>,
    /// `--cpuset-cpus`.
    pub cpuset_cpus: Option<String>,
    /// `--pids-limit`.
    pub pids_limit: Option<i64>,
    /// `--ulimit name=soft[:hard]`.
    pub ulimits: Vec<Ulimit>,
    /// `--memory-reservation` bytes (the soft limit).
    pub memory_reservation: Option<i64>,
    /// `--memory-swappiness` (0..100).
    pub memory_swappiness: Option<i64>,
    /// `--oom-kill-disable`.
    pub oom_kill_disable: bool,
    /// `--kernel-memory` bytes: accepted and shown, never applied (deprecated by Docker,
    /// a no-op since Linux 5.16).
    pub kernel_memory: Option<i64>,
    /// `--blkio-weight` (10..1000; dropped when the kernel has no weight file).
    pub blkio_weight: Option<u16>,
    /// `--device-read-bps`.
    pub device_read_bps: Vec<ThrottleDevice>,
    /// `--device-write-bps`.
    pub device_write_bps: Vec<ThrottleDevice>,
    /// `--device-read-iops`.
    pub device_read_iops: Vec<ThrottleDevice>,
    /// `--device-write-iops`.
    pub device_write_iops: Vec<ThrottleDevice>,
    /// `--cpu-period` in microseconds.
    pub cpu_period: Option<i64>,
    /// `--cpu-quota` in microseconds.
    pub cpu_quota: Option<i64>,
    /// `--cpu-rt-period` in microseconds.
    pub cpu_rt_period: Option<i64>,
    /// `--cpu-rt-runtime` in microseconds.
    pub cpu_rt_runtime: Option<i64>,
    /// `--cpuset-mems`.
    pub cpuset_mems: Option<String>,
}

/// One `--device-{read,write}-{bps,iops}` (Docker's `ThrottleDevice`).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(default)]
pub struct ThrottleDevice {
    /// The block device on the host.
    pub path: String,
    /// Bytes or operations per second.
    pub rate: u64,
}

/// One `--ulimit`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct Ulimit {
    /// `nofile`, `nproc`, ...
    pub name: String,
    /// Soft limit.
    pub soft: u64,
    /// Hard limit.
    pub hard: u64,
}

/// A health check (Docker's `HealthConfig`; durations in nanoseconds).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(default)]
pub struct HealthConfig {
    /// `["CMD", ...]`, `["CMD-SHELL", "..."]` or `["NONE"]`.
    pub test: Vec<String>,
    /// Between checks (default 30 s).
    pub interval: i64,
    /// Per check (default 30 s).
    pub timeout: i64,
    /// Failures during this time after start do not count (default 0).
    pub start_period: i64,
    /// Consecutive failures for `unhealthy` (default 3).
    pub retries: u32,
    /// Between checks during the start period while still `starting` (0: `interval`).
    pub start_interval: i64,
}

/// What a container is doing (kept in `state.db`, written by the CLI and the monitor).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct ContainerState {
    /// Where it is in its life.
    pub status: ContainerStatus,
    /// The container's init pid on the host (0 when not running).
    pub pid: i32,
    /// The monitor's pid and its start time (clock ticks after boot, from /proc), so a
    /// reused pid is never mistaken for it.
    pub monitor_pid: i32,
    /// See `monitor_pid`.
    pub monitor_start: u64,
    /// RFC 3339.
    pub started_at: String,
    /// RFC 3339.
    pub finished_at: String,
    /// Last exit code.
    pub exit_code: i32,
    /// Whether the last exit was the kernel's OOM killer.
    pub oom_killed: bool,
    /// The last start error, if any.
    pub error: String,
    /// Restarts done by the restart policy.
    pub restart_count: u32,
    /// Stopped by `stop`/`kill`: the restart policy leaves it alone.
    pub manually_stopped: bool,
    /// Health, when the container has a check.
    pub health: Option<Health>,
    /// Its address on its first network (empty when it has none).
    pub ip: String,
    /// The network `ip` is on.
    pub network: String,
    /// Published ports in effect (host ports chosen).
    pub ports: Vec<net::ports::PortBinding>,
    /// Live attachments to extra networks.
    pub endpoints: Vec<Endpoint>,
}

/// A container's status, Docker's `State.Status` (stored as its lowercase name).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ContainerStatus {
    /// Made, never started (or its start failed).
    #[default]
    Created,
    /// Its process runs.
    Running,
    /// Frozen.
    Paused,
    /// Between a policy restart's exit and its next start.
    Restarting,
    /// Being removed (Docker's "Removal In Progress"); a listing finishes a removal whose
    /// command died.
    Removing,
    /// Its process ended.
    Exited,
    /// Unrecoverable (a status this version does not know reads back as this).
    #[serde(other)]
    Dead,
}

impl ContainerStatus {
    /// Docker's name for it.
    pub fn as_str(self) -> &'static str {
        match self {
            ContainerStatus::Created => "created",
            ContainerStatus::Running => "running",
            ContainerStatus::Paused => "paused",
            ContainerStatus::Restarting => "restarting",
            ContainerStatus::Removing => "removing",
            ContainerStatus::Exited => "exited",
            ContainerStatus::Dead => "dead",
        }
    }

    /// Running, paused or between restarts: it has (or is about to have) a process and a
    /// monitor.
    pub fn is_active(self) -> bool {
        matches!(
            self,
            ContainerStatus::Running | ContainerStatus::Paused | ContainerStatus::Restarting
        )
    }

    /// Running or paused: its process exists.
    pub fn is_up(self) -> bool {
        matches!(self, ContainerStatus::Running | ContainerStatus::Paused)
    }

    /// `start` may act on it.
    pub fn can_start(self) -> bool {
        matches!(
            self,
            ContainerStatus::Created | ContainerStatus::Exited | ContainerStatus::Dead
        )
    }

    /// Parse Docker's name (`ps --filter status=`).
    pub fn parse(s: &str) -> Option<ContainerStatus> {
        [
            ContainerStatus::Created,
            ContainerStatus::Running,
            ContainerStatus::Paused,
            ContainerStatus::Restarting,
            ContainerStatus::Removing,
            ContainerStatus::Exited,
            ContainerStatus::Dead,
        ]
        .into_iter()
        .find(|c| c.as_str() == s)
    }
}

impl std::fmt::Display for ContainerStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Health status (Docker's `State.Health`).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(default)]
pub struct Health {
    /// `starting`, `healthy`, `unhealthy`.
    pub status: String,
    /// Consecutive failures.
    pub failing_streak: u32,
    /// The last checks (at most 5).
    pub log: Vec<HealthLog>,
}

/// One health check run.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(default)]
pub struct HealthLog {
    /// RFC 3339.
    pub start: String,
    /// RFC 3339.
    pub end: String,
    /// Exit code (-1: timed out).
    pub exit_code: i32,
    /// Output (at most 4 kB).
    pub output: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_read_back_as_stored() {
        for (text, want) in [
            ("created", ContainerStatus::Created),
            ("running", ContainerStatus::Running),
            ("paused", ContainerStatus::Paused),
            ("restarting", ContainerStatus::Restarting),
            ("removing", ContainerStatus::Removing),
            ("exited", ContainerStatus::Exited),
            ("dead", ContainerStatus::Dead),
            ("from-a-later-version", ContainerStatus::Dead),
        ] {
            let st: ContainerState =
                serde_json::from_str(&format!(r#"{{"status":"{text}","pid":7}}"#)).expect("state");
            assert_eq!(st.status, want, "{text}");
            assert_eq!(st.pid, 7);
            if want != ContainerStatus::Dead {
                let back = serde_json::to_value(&st).expect("json");
                assert_eq!(back["status"], text);
                assert_eq!(ContainerStatus::parse(text), Some(want));
            }
        }
        assert!(ContainerStatus::Paused.is_active() && ContainerStatus::Paused.is_up());
        assert!(ContainerStatus::Restarting.is_active() && !ContainerStatus::Restarting.is_up());
        assert!(ContainerStatus::Exited.can_start() && !ContainerStatus::Removing.can_start());
    }

    #[test]
    fn network_modes_read_back_as_stored() {
        for (text, want) in [
            ("bridge", NetworkMode::Bridge),
            ("none", NetworkMode::None),
            ("host", NetworkMode::Host),
            ("container:abc", NetworkMode::Container("abc".into())),
            ("front", NetworkMode::Network("front".into())),
        ] {
            let m: NetworkMode = serde_json::from_value(serde_json::json!(text)).expect("mode");
            assert_eq!(m, want);
            assert_eq!(
                serde_json::to_value(&m).expect("json"),
                serde_json::json!(text)
            );
        }
        assert_eq!(NetworkMode::from(String::new()), NetworkMode::Bridge);
        assert_eq!(
            NetworkMode::from("default".to_string()),
            NetworkMode::Bridge
        );
        assert!(NetworkMode::Bridge.is_on("bridge"));
        assert_eq!(NetworkMode::Host.network(), None);
    }

    #[test]
    fn restart_policies() {
        let p = RestartPolicy::parse("on-failure:2").expect("valid");
        assert!(p.should_restart(1, false, 1));
        assert!(!p.should_restart(1, false, 2));
        assert!(!p.should_restart(0, false, 0));
        assert!(RestartPolicy::parse("always")
            .expect("valid")
            .should_restart(0, false, 9));
        assert!(!RestartPolicy::parse("always")
            .expect("valid")
            .should_restart(0, true, 0));
        assert!(RestartPolicy::parse("always:3").is_err());
        assert!(RestartPolicy::parse("sometimes").is_err());
        assert_eq!(
            RestartPolicy::parse("").expect("valid").name,
            RestartName::No
        );
        for (text, want) in [
            ("", RestartName::No),
            ("no", RestartName::No),
            ("always", RestartName::Always),
            ("unless-stopped", RestartName::UnlessStopped),
            ("on-failure", RestartName::OnFailure),
        ] {
            let p: RestartPolicy =
                serde_json::from_str(&format!(r#"{{"name":"{text}","max_retries":2}}"#))
                    .expect("stored policy");
            assert_eq!(p.name, want);
            assert_eq!(p.max_retries, 2);
        }
    }
}
