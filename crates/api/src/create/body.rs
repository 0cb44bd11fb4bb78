//! The create body's wire types (moby's `container.Config`, `HostConfig`,
//! `NetworkingConfig`, the fields v1.47 has) and its decoding as Go decodes it: `null` is
//! the zero value, unknown fields are ignored, `Cmd` and `Entrypoint` take a string too.

use std::collections::BTreeMap;

use engine::mounts::MountSpec;
use serde::Deserialize;
use serde_json::Value;

use crate::ApiError;

/// `Cmd` and `Entrypoint`: Go's `StrSlice` takes a string as well as an array.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub(crate) enum StrSlice {
    One(String),
    Many(Vec<String>),
}

impl StrSlice {
    pub(crate) fn into_vec(self) -> Vec<String> {
        match self {
            StrSlice::One(s) => vec![s],
            StrSlice::Many(v) => v,
        }
    }
}

/// The body: `Config`'s fields, with `HostConfig` and `NetworkingConfig` beside them.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub(crate) struct Body {
    pub(crate) hostname: String,
    pub(crate) domainname: String,
    pub(crate) user: String,
    pub(crate) attach_stdin: bool,
    pub(crate) attach_stdout: bool,
    pub(crate) attach_stderr: bool,
    pub(crate) exposed_ports: BTreeMap<String, Value>,
    pub(crate) tty: bool,
    pub(crate) open_stdin: bool,
    pub(crate) stdin_once: bool,
    pub(crate) env: Vec<String>,
    pub(crate) cmd: Option<StrSlice>,
    pub(crate) healthcheck: Option<Health>,
    pub(crate) image: String,
    pub(crate) volumes: BTreeMap<String, Value>,
    pub(crate) working_dir: String,
    pub(crate) entrypoint: Option<StrSlice>,
    pub(crate) network_disabled: bool,
    pub(crate) mac_address: String,
    pub(crate) labels: BTreeMap<String, String>,
    pub(crate) stop_signal: String,
    pub(crate) stop_timeout: Option<i64>,
    pub(crate) host_config: Host,
    pub(crate) networking_config: Networking,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub(crate) struct Health {
    pub(crate) test: Vec<String>,
    pub(crate) interval: i64,
    pub(crate) timeout: i64,
    pub(crate) start_period: i64,
    pub(crate) start_interval: i64,
    pub(crate) retries: i64,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub(crate) struct Host {
    pub(crate) binds: Vec<String>,
    #[serde(rename = "ContainerIDFile")]
    pub(crate) container_id_file: String,
    pub(crate) log_config: Log,
    pub(crate) network_mode: String,
    pub(crate) port_bindings: BTreeMap<String, Vec<PortBinding>>,
    pub(crate) restart_policy: Restart,
    pub(crate) auto_remove: bool,
    pub(crate) volume_driver: String,
    pub(crate) volumes_from: Vec<String>,
    pub(crate) annotations: BTreeMap<String, String>,
    pub(crate) cap_add: Vec<String>,
    pub(crate) cap_drop: Vec<String>,
    pub(crate) cgroupns_mode: String,
    pub(crate) dns: Vec<String>,
    pub(crate) dns_options: Vec<String>,
    pub(crate) dns_search: Vec<String>,
    pub(crate) extra_hosts: Vec<String>,
    pub(crate) group_add: Vec<String>,
    pub(crate) ipc_mode: String,
    pub(crate) cgroup: String,
    pub(crate) links: Vec<String>,
    pub(crate) oom_score_adj: i64,
    pub(crate) pid_mode: String,
    pub(crate) privileged: bool,
    pub(crate) publish_all_ports: bool,
    pub(crate) readonly_rootfs: bool,
    pub(crate) security_opt: Vec<String>,
    pub(crate) storage_opt: BTreeMap<String, String>,
    pub(crate) tmpfs: BTreeMap<String, String>,
    #[serde(rename = "UTSMode")]
    pub(crate) uts_mode: String,
    pub(crate) userns_mode: String,
    pub(crate) shm_size: i64,
    pub(crate) sysctls: BTreeMap<String, String>,
    pub(crate) runtime: String,
    pub(crate) isolation: String,
    pub(crate) mounts: Vec<MountSpec>,
    pub(crate) masked_paths: Option<Vec<String>>,
    pub(crate) readonly_paths: Option<Vec<String>>,
    pub(crate) init: Option<bool>,
    // Resources.
    pub(crate) cpu_shares: i64,
    pub(crate) memory: i64,
    pub(crate) nano_cpus: i64,
    pub(crate) cgroup_parent: String,
    pub(crate) blkio_weight: i64,
    pub(crate) blkio_weight_device: Vec<Value>,
    pub(crate) blkio_device_read_bps: Vec<Throttle>,
    pub(crate) blkio_device_write_bps: Vec<Throttle>,
    #[serde(rename = "BlkioDeviceReadIOps")]
    pub(crate) blkio_device_read_iops: Vec<Throttle>,
    #[serde(rename = "BlkioDeviceWriteIOps")]
    pub(crate) blkio_device_write_iops: Vec<Throttle>,
    pub(crate) cpu_period: i64,
    pub(crate) cpu_quota: i64,
    pub(crate) cpu_realtime_period: i64,
    pub(crate) cpu_realtime_runtime: i64,
    pub(crate) cpuset_cpus: String,
    pub(crate) cpuset_mems: String,
    pub(crate) devices: Vec<Device>,
    pub(crate) device_cgroup_rules: Vec<String>,
    pub(crate) device_requests: Vec<Value>,
    pub(crate) kernel_memory: i64,
    pub(crate) memory_reservation: i64,
    pub(crate) memory_swap: i64,
    pub(crate) memory_swappiness: Option<i64>,
    pub(crate) oom_kill_disable: Option<bool>,
    pub(crate) pids_limit: Option<i64>,
    pub(crate) ulimits: Vec<UlimitBody>,
    pub(crate) cpu_percent: i64,
    #[serde(rename = "IOMaximumIOps")]
    pub(crate) io_maximum_iops: u64,
    #[serde(rename = "IOMaximumBandwidth")]
    pub(crate) io_maximum_bandwidth: u64,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub(crate) struct Log {
    #[serde(rename = "Type")]
    pub(crate) kind: String,
    pub(crate) config: BTreeMap<String, String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub(crate) struct PortBinding {
    pub(crate) host_ip: String,
    pub(crate) host_port: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub(crate) struct Restart {
    pub(crate) name: String,
    pub(crate) maximum_retry_count: i64,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub(crate) struct Throttle {
    pub(crate) path: String,
    pub(crate) rate: i64,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub(crate) struct Device {
    pub(crate) path_on_host: String,
    pub(crate) path_in_container: String,
    pub(crate) cgroup_permissions: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub(crate) struct UlimitBody {
    pub(crate) name: String,
    pub(crate) soft: i64,
    pub(crate) hard: i64,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub(crate) struct Networking {
    pub(crate) endpoints_config: BTreeMap<String, Option<Endpoint>>,
}

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub(crate) struct Endpoint {
    #[serde(rename = "IPAMConfig")]
    pub(crate) ipam_config: Ipam,
    pub(crate) links: Vec<String>,
    pub(crate) aliases: Vec<String>,
    pub(crate) mac_address: String,
    pub(crate) driver_opts: BTreeMap<String, String>,
}

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub(crate) struct Ipam {
    #[serde(rename = "IPv4Address")]
    pub(crate) ipv4_address: String,
    #[serde(rename = "IPv6Address")]
    pub(crate) ipv6_address: String,
}

/// Go's decoding of `null`: the zero value, as if the field were not there. (Inside
/// maps too: a label whose value is null is left out.)
/// A network's entry in `EndpointsConfig` stays when null: dockerd refuses it.
fn drop_nulls(v: &mut Value) {
    match v {
        Value::Object(m) => {
            for (k, x) in m.iter_mut() {
                match x {
                    Value::Object(eps) if k == "EndpointsConfig" => {
                        eps.values_mut().for_each(drop_nulls)
                    }
                    x => drop_nulls(x),
                }
            }
            m.retain(|_, x| !x.is_null());
        }
        Value::Array(a) => a.iter_mut().for_each(drop_nulls),
        _ => {}
    }
}

/// The body as dockerd decodes it (`DecodeCreateRequest`): JSON, with a `Config`.
pub(crate) fn decode(bytes: &[u8]) -> Result<Body, ApiError> {
    let mut v: Value = serde_json::from_slice(bytes)
        .map_err(|e| ApiError::bad_request(format!("invalid JSON: {e}")))?;
    // `Config` is embedded in the request: it exists when one of its fields is there.
    let has_config = v.as_object().is_some_and(|o| {
        o.keys()
            .any(|k| k != "HostConfig" && k != "NetworkingConfig")
    });
    if !has_config {
        return Err(ApiError::bad_request(
            "config cannot be empty in order to create a container",
        ));
    }
    drop_nulls(&mut v);
    serde_json::from_value(v).map_err(|e| ApiError::bad_request(format!("invalid JSON: {e}")))
}
