//! The OCI runtime config of a container: Docker's defaults (capabilities, mounts, masked
//! and read-only paths, device rules, seccomp) with the container's options on top.

use serde_json::{json, Value};

use crate::config::ContainerConfig;

/// Docker's default capability set.
pub const DEFAULT_CAPS: &[&str] = &[
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_FSETID",
    "CAP_FOWNER",
    "CAP_MKNOD",
    "CAP_NET_RAW",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETFCAP",
    "CAP_SETPCAP",
    "CAP_NET_BIND_SERVICE",
    "CAP_SYS_CHROOT",
    "CAP_KILL",
    "CAP_AUDIT_WRITE",
];

/// Every capability the kernel knows (for `--privileged` and `--cap-add ALL`).
pub const ALL_CAPS: &[&str] = &[
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_DAC_READ_SEARCH",
    "CAP_FOWNER",
    "CAP_FSETID",
    "CAP_KILL",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETPCAP",
    "CAP_LINUX_IMMUTABLE",
    "CAP_NET_BIND_SERVICE",
    "CAP_NET_BROADCAST",
    "CAP_NET_ADMIN",
    "CAP_NET_RAW",
    "CAP_IPC_LOCK",
    "CAP_IPC_OWNER",
    "CAP_SYS_MODULE",
    "CAP_SYS_RAWIO",
    "CAP_SYS_CHROOT",
    "CAP_SYS_PTRACE",
    "CAP_SYS_PACCT",
    "CAP_SYS_ADMIN",
    "CAP_SYS_BOOT",
    "CAP_SYS_NICE",
    "CAP_SYS_RESOURCE",
    "CAP_SYS_TIME",
    "CAP_SYS_TTY_CONFIG",
    "CAP_MKNOD",
    "CAP_LEASE",
    "CAP_AUDIT_WRITE",
    "CAP_AUDIT_CONTROL",
    "CAP_SETFCAP",
    "CAP_MAC_OVERRIDE",
    "CAP_MAC_ADMIN",
    "CAP_SYSLOG",
    "CAP_WAKE_ALARM",
    "CAP_BLOCK_SUSPEND",
    "CAP_AUDIT_READ",
    "CAP_PERFMON",
    "CAP_BPF",
    "CAP_CHECKPOINT_RESTORE",
];

const MASKED: &[&str] = &[
    "/proc/asound",
    "/proc/acpi",
    "/proc/interrupts",
    "/proc/kcore",
    "/proc/keys",
    "/proc/latency_stats",
    "/proc/timer_list",
    "/proc/timer_stats",
    "/proc/sched_debug",
    "/proc/scsi",
    "/sys/firmware",
    "/sys/devices/virtual/powercap",
];

const READONLY: &[&str] = &[
    "/proc/bus",
    "/proc/fs",
    "/proc/irq",
    "/proc/sys",
    "/proc/sysrq-trigger",
];

/// Normalise a capability name (`net_admin`, `NET_ADMIN`, `CAP_NET_ADMIN`).
pub fn cap_name(s: &str) -> String {
    let u = s.to_ascii_uppercase();
    if u == "ALL" || u.starts_with("CAP_") {
        u
    } else {
        format!("CAP_{u}")
    }
}

/// Check `--cap-add`/`--cap-drop` names.
pub fn check_caps(names: &[String]) -> Result<(), String> {
    for n in names {
        let c = cap_name(n);
        if c != "ALL" && !ALL_CAPS.contains(&c.as_str()) {
            return Err(format!("invalid capability: {n}"));
        }
    }
    Ok(())
}

/// The capability set in effect.
pub fn capabilities(c: &ContainerConfig) -> Vec<String> {
    if c.privileged {
        return ALL_CAPS.iter().map(|s| s.to_string()).collect();
    }
    let add: Vec<String> = c.cap_add.iter().map(|s| cap_name(s)).collect();
    let drop: Vec<String> = c.cap_drop.iter().map(|s| cap_name(s)).collect();
    let mut caps: Vec<String> = if add.iter().any(|a| a == "ALL") {
        ALL_CAPS.iter().map(|s| s.to_string()).collect()
    } else {
        DEFAULT_CAPS.iter().map(|s| s.to_string()).collect()
    };
    for a in add {
        if a != "ALL" && !caps.contains(&a) {
            caps.push(a);
        }
    }
    if drop.iter().any(|d| d == "ALL") {
        caps.clear();
        for a in c.cap_add.iter().map(|s| cap_name(s)) {
            if a != "ALL" {
                caps.push(a);
            }
        }
    } else {
        caps.retain(|x| !drop.contains(x));
    }
    caps
}

/// The process user, resolved against the image's `/etc/passwd` and `/etc/group`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct User {
    /// uid.
    pub uid: u32,
    /// gid.
    pub gid: u32,
    /// Supplementary groups (the user's groups and `--group-add`).
    pub additional: Vec<u32>,
    /// Home directory (for `HOME`).
    pub home: String,
}

/// Everything the spec needs beyond the stored config.
pub struct SpecInputs<'a> {
    /// Container id (cgroup path).
    pub id: &'a str,
    /// The mounted root filesystem.
    pub rootfs: &'a str,
    /// The resolved user.
    pub user: &'a User,
    /// Mounts: (source on the host, target, type, options).
    pub mounts: Vec<(String, String, String, Vec<String>)>,
    /// Process arguments (entrypoint + cmd, maybe behind the init).
    pub args: Vec<String>,
    /// Environment (with PATH, HOSTNAME, HOME filled in).
    pub env: Vec<String>,
    /// The seccomp profile, if any.
    pub seccomp: Option<Value>,
    /// On cgroup v1 hosts: the container's own cgroup directories to bind (host path,
    /// path under `/sys/fs/cgroup`) instead of mounting each hierarchy anew.
    pub cgroup_binds: Option<Vec<(String, String)>>,
    /// `--network container:NAME`: that container's init, whose network namespace to join.
    pub join_netns: Option<i32>,
    /// `--pid container:NAME`: that container's init, whose pid namespace to join.
    pub join_pidns: Option<i32>,
    /// `--ipc container:NAME`: that container's init, whose IPC namespace to join.
    pub join_ipcns: Option<i32>,
    /// The tmpfs to bind on `/dev/shm` instead of a tmpfs of its own: a shareable
    /// container's (its own, or its donor's with `--ipc container:`).
    pub shm_bind: Option<String>,
    /// The block devices of the I/O limits: path to (major, minor).
    pub block_devices: std::collections::BTreeMap<String, (u64, u64)>,
    /// `--device`: the host's nodes as they are now.
    pub devices: Vec<Device>,
}

/// A host device node to create in the container and allow in its devices cgroup.
#[derive(Debug, Clone)]
pub struct Device {
    /// Path in the container.
    pub path: String,
    /// `c` or `b`.
    pub kind: char,
    /// Major number.
    pub major: u64,
    /// Minor number.
    pub minor: u64,
    /// The node's mode bits.
    pub mode: u32,
    /// Cgroup access (`rwm`).
    pub access: String,
}

/// The OCI `linux.resources` of a container's limits (without its device rules):
/// what `config.json` gets, and what `update` writes to a running container's cgroups.
/// `block_devices`: the (major, minor) of the throttled devices' paths.
pub(crate) fn resources_json(
    r: &crate::config::Resources,
    block_devices: &std::collections::BTreeMap<String, (u64, u64)>,
) -> Value {
    let mut resources = json!({});
    let mut memory = serde_json::Map::new();
    if let Some(v) = r.memory_reservation.filter(|v| *v > 0) {
        memory.insert("reservation".into(), json!(v));
    }
    if let Some(v) = r.memory_swappiness {
        memory.insert("swappiness".into(), json!(v));
    }
    if r.oom_kill_disable {
        memory.insert("disableOOMKiller".into(), json!(true));
    }
    if let Some(m) = r.memory {
        memory.insert("limit".into(), json!(m));
        match r.memory_swap {
            Some(s) => {
                memory.insert("swap".into(), json!(s));
            }
            // Docker: without --memory-swap, swap may be as large as the memory limit.
            None => {
                memory.insert("swap".into(), json!(m * 2));
            }
        }
    }
    if !memory.is_empty() {
        resources["memory"] = Value::Object(memory);
    }
    let mut cpu = serde_json::Map::new();
    if let Some(n) = r.nano_cpus {
        cpu.insert("period".into(), json!(100_000u64));
        cpu.insert("quota".into(), json!(n / 10_000));
    }
    if let Some(p) = r.cpu_period.filter(|p| *p > 0) {
        cpu.insert("period".into(), json!(p));
    }
    if let Some(q) = r.cpu_quota.filter(|q| *q != 0) {
        cpu.insert("quota".into(), json!(q));
    }
    if let Some(p) = r.cpu_rt_period.filter(|p| *p > 0) {
        cpu.insert("realtimePeriod".into(), json!(p));
    }
    if let Some(q) = r.cpu_rt_runtime.filter(|q| *q != 0) {
        cpu.insert("realtimeRuntime".into(), json!(q));
    }
    if let Some(m) = &r.cpuset_mems {
        cpu.insert("mems".into(), json!(m));
    }
    if let Some(s) = r.cpu_shares {
        cpu.insert("shares".into(), json!(s));
    }
    if let Some(s) = &r.cpuset_cpus {
        cpu.insert("cpus".into(), json!(s));
    }
    if !cpu.is_empty() {
        resources["cpu"] = Value::Object(cpu);
    }
    if let Some(p) = r.pids_limit {
        resources["pids"] = json!({"limit": p});
    }
    let mut block_io = serde_json::Map::new();
    if let Some(w) = r.blkio_weight {
        block_io.insert("weight".into(), json!(w));
    }
    for (key, list) in [
        ("throttleReadBpsDevice", &r.device_read_bps),
        ("throttleWriteBpsDevice", &r.device_write_bps),
        ("throttleReadIOPSDevice", &r.device_read_iops),
        ("throttleWriteIOPSDevice", &r.device_write_iops),
    ] {
        let devs: Vec<Value> = list
            .iter()
            .filter_map(|d| {
                let (major, minor) = block_devices.get(&d.path)?;
                Some(json!({"major": major, "minor": minor, "rate": d.rate}))
            })
            .collect();
        if !devs.is_empty() {
            block_io.insert(key.into(), json!(devs));
        }
    }
    if !block_io.is_empty() {
        resources["blockIO"] = Value::Object(block_io);
    }
    resources
}

/// Build `config.json`.
pub fn build(c: &ContainerConfig, i: &SpecInputs<'_>) -> Value {
    let caps = capabilities(c);
    let nnp = c.security_opt.iter().any(|s| {
        s == "no-new-privileges" || s == "no-new-privileges:true" || s == "no-new-privileges=true"
    });
    let mut rlimits = Vec::new();
    for u in &c.resources.ulimits {
        rlimits.push(json!({"type": format!("RLIMIT_{}", u.name.to_ascii_uppercase()), "soft": u.soft, "hard": u.hard}));
    }
    let sys_opts: Vec<&str> = if c.privileged {
        vec!["nosuid", "noexec", "nodev"]
    } else {
        vec!["nosuid", "noexec", "nodev", "ro"]
    };
    let mut mounts = vec![
        json!({"destination": "/proc", "type": "proc", "source": "proc", "options": ["nosuid", "noexec", "nodev"]}),
        json!({"destination": "/dev", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]}),
        json!({"destination": "/dev/pts", "type": "devpts", "source": "devpts", "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"]}),
        json!({"destination": "/sys", "type": "sysfs", "source": "sysfs", "options": sys_opts}),
        json!({"destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue", "options": ["nosuid", "noexec", "nodev"]}),
    ];
    // /dev/shm: the IPC namespace's own tmpfs (`--shm-size`), the host's (`--ipc host`),
    // a shareable one made by the monitor (`--ipc shareable`, `--ipc container:`), or
    // none (`--ipc none`).
    match (c.ipc_mode.as_str(), &i.shm_bind) {
        ("none", _) => {}
        ("host", _) => mounts.push(json!({"destination": "/dev/shm", "type": "bind", "source": "/dev/shm", "options": ["rbind", "rprivate"]})),
        (_, Some(src)) => mounts.push(json!({"destination": "/dev/shm", "type": "bind", "source": src, "options": ["rbind", "rprivate"]})),
        _ => {
            let size = c.shm_size.filter(|s| *s > 0).unwrap_or(DEFAULT_SHM_SIZE);
            mounts.push(json!({"destination": "/dev/shm", "type": "tmpfs", "source": "shm", "options": ["nosuid", "noexec", "nodev", "mode=1777", format!("size={size}")]}));
        }
    }
    match &i.cgroup_binds {
        // Binding the container's own cgroup directories (as runc does on v1) costs a
        // fraction of a fresh cgroup v1 mount per hierarchy (about 2 ms each here).
        Some(binds) => {
            mounts.push(json!({"destination": "/sys/fs/cgroup", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "noexec", "nodev", "mode=755"]}));
            let ro = if c.privileged { "rw" } else { "ro" };
            for (src, dst) in binds {
                mounts.push(json!({"destination": dst, "type": "bind", "source": src, "options": ["rbind", "rprivate", "nosuid", "noexec", "nodev", ro]}));
            }
        }
        None => mounts.push(json!({"destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup", "options": ["nosuid", "noexec", "nodev", "relatime", "ro"]})),
    }
    for (src, dst, typ, opts) in &i.mounts {
        mounts.push(json!({"destination": dst, "type": typ, "source": src, "options": opts}));
    }
    let mut namespaces = vec![json!({"type": "mount"})];
    if !c.uid_map.is_empty() {
        namespaces.push(json!({"type": "user"}));
    }
    match (c.pid_mode.as_str(), i.join_pidns) {
        ("host", _) => {}
        (_, Some(pid)) => {
            namespaces.push(json!({"type": "pid", "path": format!("/proc/{pid}/ns/pid")}))
        }
        _ => namespaces.push(json!({"type": "pid"})),
    }
    match (c.ipc_mode.as_str(), i.join_ipcns) {
        ("host", _) => {}
        (_, Some(pid)) => {
            namespaces.push(json!({"type": "ipc", "path": format!("/proc/{pid}/ns/ipc")}))
        }
        _ => namespaces.push(json!({"type": "ipc"})),
    }
    if c.own_uts_ns() {
        namespaces.push(json!({"type": "uts"}));
    }
    if c.cgroupns_mode != "host" {
        namespaces.push(json!({"type": "cgroup"}));
    }
    match (&c.network_mode, i.join_netns) {
        (crate::config::NetworkMode::Host, _) => {}
        (_, Some(pid)) => {
            namespaces.push(json!({"type": "network", "path": format!("/proc/{pid}/ns/net")}))
        }
        _ => namespaces.push(json!({"type": "network"})),
    }
    let r = &c.resources;
    let mut devices = vec![json!({"allow": c.privileged, "access": "rwm"})];
    let mut nodes = Vec::new();
    for d in &i.devices {
        nodes.push(json!({
            "path": d.path, "type": d.kind.to_string(), "major": d.major, "minor": d.minor,
            "fileMode": d.mode, "uid": 0, "gid": 0,
        }));
        devices.push(json!({
            "allow": true, "type": d.kind.to_string(), "major": d.major, "minor": d.minor,
            "access": d.access,
        }));
    }
    for rule in &c.device_cgroup_rules {
        if let Ok((t, major, minor, access)) = crate::validate::cgroup_rule(rule) {
            let mut d = json!({"allow": true, "type": t.to_string(), "access": access});
            if let Some(m) = major {
                d["major"] = json!(m);
            }
            if let Some(m) = minor {
                d["minor"] = json!(m);
            }
            devices.push(d);
        }
    }
    let mut resources = resources_json(r, &i.block_devices);
    resources["devices"] = json!(devices);
    let mut linux = json!({
        "namespaces": namespaces,
        "cgroupsPath": cgroups_path(c, i.id),
        "resources": resources,
    });
    if !c.uid_map.is_empty() {
        let maps = |m: &[crate::config::IdMap]| -> Value {
            m.iter()
                .map(
                    |x| json!({"containerID": x.container_id, "hostID": x.host_id, "size": x.size}),
                )
                .collect()
        };
        linux["uidMappings"] = maps(&c.uid_map);
        linux["gidMappings"] = maps(&c.gid_map);
    }
    if !c.sysctls.is_empty() {
        linux["sysctl"] = json!(c.sysctls);
    }
    if !nodes.is_empty() {
        linux["devices"] = json!(nodes);
    }
    if !c.privileged {
        linux["maskedPaths"] = json!(MASKED);
        linux["readonlyPaths"] = json!(READONLY);
    }
    if let Some(s) = &i.seccomp {
        linux["seccomp"] = s.clone();
    }
    let mut process = json!({
        "terminal": c.tty,
        "user": {"uid": i.user.uid, "gid": i.user.gid},
        "args": i.args,
        "env": i.env,
        "cwd": if c.workdir.is_empty() { "/" } else { c.workdir.as_str() },
        "capabilities": {"bounding": caps, "effective": caps, "permitted": caps},
        "noNewPrivileges": nnp,
        "oomScoreAdj": c.oom_score_adj,
    });
    if !i.user.additional.is_empty() {
        process["user"]["additionalGids"] = json!(i.user.additional);
    }
    if !rlimits.is_empty() {
        process["rlimits"] = json!(rlimits);
    }
    let mut spec = json!({
        "ociVersion": runtime::OCI_VERSION,
        "process": process,
        "root": {"path": i.rootfs, "readonly": c.read_only},
        "mounts": mounts,
        "linux": linux,
    });
    // Names of the UTS namespace: only in one of its own (`--uts host` keeps the host's).
    if c.own_uts_ns() {
        spec["hostname"] = json!(c.hostname);
        if !c.domainname.is_empty() {
            spec["domainname"] = json!(c.domainname);
        }
    }
    if !c.annotations.is_empty() {
        spec["annotations"] = json!(c.annotations);
    }
    spec
}

/// Docker's `/dev/shm` size.
pub const DEFAULT_SHM_SIZE: i64 = 64 << 20;

/// The container's cgroup (`/quai-ID`, under `--cgroup-parent` when given); under the
/// systemd driver the scope `quai-ID.scope` in `system.slice` or the parent slice.
pub fn cgroups_path(c: &ContainerConfig, id: &str) -> String {
    if c.cgroup_manager == "systemd" {
        let slice = if c.cgroup_parent.is_empty() {
            "system.slice"
        } else {
            c.cgroup_parent.as_str()
        };
        return format!("{slice}:quai:{id}");
    }
    let parent = c.cgroup_parent.trim_matches('/');
    if parent.is_empty() && crate::rootless::active() {
        // Relative: under the user's own cgroup, the part of the tree that may be
        // delegated to them (else the runtime goes without, docs/adr/026).
        format!("quai-{id}")
    } else if parent.is_empty() {
        format!("/quai-{id}")
    } else {
        format!("/{parent}/quai-{id}")
    }
}

/// Errno-returning rules for the syscalls Docker's default profile keeps from an
/// unprivileged container (docs/adr/007: quai writes a deny list, not Docker's allow list).
const DENIED: &[&str] = &[
    "acct",
    "add_key",
    "bpf",
    "clock_adjtime",
    "clock_settime",
    "create_module",
    "delete_module",
    "finit_module",
    "fsconfig",
    "fsmount",
    "fsopen",
    "fspick",
    "get_kernel_syms",
    "get_mempolicy",
    "init_module",
    "io_uring_enter",
    "io_uring_register",
    "io_uring_setup",
    "ioperm",
    "iopl",
    "kexec_file_load",
    "kexec_load",
    "keyctl",
    "lookup_dcookie",
    "mbind",
    "mount",
    "mount_setattr",
    "move_mount",
    "move_pages",
    "name_to_handle_at",
    "nfsservctl",
    "open_by_handle_at",
    "open_tree",
    "perf_event_open",
    "pivot_root",
    "query_module",
    "quotactl",
    "quotactl_fd",
    "reboot",
    "request_key",
    "set_mempolicy",
    "setns",
    "settimeofday",
    "stime",
    "swapoff",
    "swapon",
    "_sysctl",
    "sysfs",
    "syslog",
    "umount",
    "umount2",
    "unshare",
    "uselib",
    "userfaultfd",
    "ustat",
    "vm86",
    "vm86old",
];

/// The default seccomp profile for these capabilities.
pub fn default_seccomp(caps: &[String]) -> Value {
    let sys_admin = caps.iter().any(|c| c == "CAP_SYS_ADMIN");
    let mut denied: Vec<&str> = DENIED.to_vec();
    if sys_admin {
        let admin_ok = [
            "mount",
            "umount",
            "umount2",
            "unshare",
            "setns",
            "pivot_root",
            "fsconfig",
            "fsmount",
            "fsopen",
            "fspick",
            "open_tree",
            "move_mount",
            "mount_setattr",
            "quotactl",
            "quotactl_fd",
            "lookup_dcookie",
            "name_to_handle_at",
        ];
        denied.retain(|d| !admin_ok.contains(d));
    }
    let caps_allow = |cap: &str, names: &[&str], denied: &mut Vec<&str>| {
        if caps.iter().any(|c| c == cap) {
            denied.retain(|d| !names.contains(d));
        }
    };
    caps_allow(
        "CAP_SYS_TIME",
        &["settimeofday", "stime", "clock_settime", "clock_adjtime"],
        &mut denied,
    );
    caps_allow(
        "CAP_SYS_MODULE",
        &["init_module", "finit_module", "delete_module"],
        &mut denied,
    );
    caps_allow("CAP_SYS_BOOT", &["reboot"], &mut denied);
    caps_allow("CAP_SYSLOG", &["syslog"], &mut denied);
    caps_allow("CAP_SYS_PACCT", &["acct"], &mut denied);
    caps_allow(
        "CAP_SYS_NICE",
        &["get_mempolicy", "mbind", "set_mempolicy", "move_pages"],
        &mut denied,
    );
    caps_allow("CAP_BPF", &["bpf"], &mut denied);
    caps_allow("CAP_PERFMON", &["perf_event_open"], &mut denied);
    let mut rules = vec![json!({"names": denied, "action": "SCMP_ACT_ERRNO", "errnoRet": 1})];
    // clone3 cannot be filtered on its flags (they are behind a pointer): ENOSYS makes
    // libc fall back to clone, whose flags can be (as Docker does).
    if !sys_admin {
        rules.push(json!({"names": ["clone3"], "action": "SCMP_ACT_ERRNO", "errnoRet": 38}));
        // New namespaces through clone: one rule per flag (a masked compare matches all bits).
        for flag in [
            0x0002_0000u64, // CLONE_NEWNS
            0x0200_0000,    // CLONE_NEWCGROUP
            0x0400_0000,    // CLONE_NEWUTS
            0x0800_0000,    // CLONE_NEWIPC
            0x1000_0000,    // CLONE_NEWUSER
            0x2000_0000,    // CLONE_NEWPID
            0x4000_0000,    // CLONE_NEWNET
        ] {
            rules.push(json!({"names": ["clone"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1,
                "args": [{"index": 0, "value": flag, "valueTwo": flag, "op": "SCMP_CMP_MASKED_EQ"}]}));
        }
    }
    json!({
        "defaultAction": "SCMP_ACT_ALLOW",
        "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
        "syscalls": rules,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caps_follow_docker() {
        let mut c = ContainerConfig::default();
        assert_eq!(capabilities(&c).len(), 14);
        c.cap_drop = vec!["net_raw".into()];
        c.cap_add = vec!["SYS_ADMIN".into()];
        let caps = capabilities(&c);
        assert!(caps.contains(&"CAP_SYS_ADMIN".to_string()));
        assert!(!caps.contains(&"CAP_NET_RAW".to_string()));
        c.cap_drop = vec!["ALL".into()];
        assert_eq!(capabilities(&c), vec!["CAP_SYS_ADMIN".to_string()]);
        assert!(check_caps(&["FOO".into()]).is_err());
    }

    fn inputs<'a>(user: &'a User) -> SpecInputs<'a> {
        SpecInputs {
            id: "abc",
            rootfs: "/r",
            user,
            mounts: Vec::new(),
            args: vec!["true".into()],
            env: Vec::new(),
            seccomp: None,
            cgroup_binds: None,
            join_netns: None,
            join_pidns: None,
            join_ipcns: None,
            shm_bind: None,
            devices: Vec::new(),
            block_devices: Default::default(),
        }
    }

    fn ns_types(spec: &Value) -> Vec<String> {
        spec["linux"]["namespaces"]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|n| match n["path"].as_str() {
                        Some(p) => format!("{}={p}", n["type"].as_str().unwrap_or("")),
                        None => n["type"].as_str().unwrap_or("").to_string(),
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    fn mount<'v>(spec: &'v Value, dst: &str) -> Option<&'v Value> {
        spec["mounts"]
            .as_array()?
            .iter()
            .find(|m| m["destination"] == dst)
    }

    #[test]
    fn docker_flags_reach_the_spec() {
        let user = User::default();
        let mut c = ContainerConfig {
            hostname: "h".into(),
            domainname: "example.org".into(),
            oom_score_adj: 100,
            shm_size: Some(8 << 20),
            cgroup_parent: "/parent/".into(),
            ..Default::default()
        };
        c.sysctls.insert("net.ipv4.ip_forward".into(), "1".into());
        c.annotations.insert("a".into(), "b".into());
        let r = &mut c.resources;
        r.memory = Some(64 << 20);
        r.memory_reservation = Some(32 << 20);
        r.memory_swappiness = Some(10);
        r.oom_kill_disable = true;
        r.kernel_memory = Some(16 << 20);
        r.cpu_period = Some(50_000);
        r.cpu_quota = Some(25_000);
        r.cpu_rt_period = Some(1_000_000);
        r.cpu_rt_runtime = Some(10_000);
        r.cpuset_mems = Some("0".into());
        r.blkio_weight = Some(300);
        r.device_read_bps = vec![crate::config::ThrottleDevice {
            path: "/dev/vda".into(),
            rate: 1 << 20,
        }];
        let mut i = inputs(&user);
        i.block_devices.insert("/dev/vda".into(), (254, 0));
        let s = build(&c, &i);
        assert_eq!(s["process"]["oomScoreAdj"], 100);
        assert_eq!(s["domainname"], "example.org");
        assert_eq!(s["hostname"], "h");
        assert_eq!(s["annotations"]["a"], "b");
        assert_eq!(s["linux"]["sysctl"]["net.ipv4.ip_forward"], "1");
        assert_eq!(s["linux"]["cgroupsPath"], "/parent/quai-abc");
        let res = &s["linux"]["resources"];
        assert_eq!(res["memory"]["reservation"], 32 << 20);
        assert_eq!(res["memory"]["swappiness"], 10);
        assert_eq!(res["memory"]["disableOOMKiller"], true);
        assert!(
            res["memory"]["kernel"].is_null(),
            "kernel memory is never applied"
        );
        assert_eq!(res["cpu"]["period"], 50_000);
        assert_eq!(res["cpu"]["quota"], 25_000);
        assert_eq!(res["cpu"]["realtimePeriod"], 1_000_000);
        assert_eq!(res["cpu"]["realtimeRuntime"], 10_000);
        assert_eq!(res["cpu"]["mems"], "0");
        assert_eq!(res["blockIO"]["weight"], 300);
        assert_eq!(
            res["blockIO"]["throttleReadBpsDevice"],
            json!([{"major": 254, "minor": 0, "rate": 1 << 20}])
        );
        let shm = mount(&s, "/dev/shm").expect("shm");
        assert!(shm["options"]
            .as_array()
            .is_some_and(|o| o.contains(&json!("size=8388608"))));
        assert_eq!(
            ns_types(&s),
            ["mount", "pid", "ipc", "uts", "cgroup", "network"]
        );
        // Host namespaces: none made, no names set in the host's UTS namespace.
        c.pid_mode = "host".into();
        c.ipc_mode = "host".into();
        c.uts_mode = "host".into();
        c.cgroupns_mode = "host".into();
        c.domainname.clear();
        let s = build(&c, &inputs(&user));
        assert_eq!(ns_types(&s), ["mount", "network"]);
        assert!(s["hostname"].is_null() && s["domainname"].is_null());
        assert_eq!(mount(&s, "/dev/shm").expect("shm")["source"], "/dev/shm");
        // Another container's: joined by path, its /dev/shm shared.
        c.pid_mode = "container:x".into();
        c.ipc_mode = "container:x".into();
        let mut i = inputs(&user);
        i.join_pidns = Some(42);
        i.join_ipcns = Some(42);
        i.shm_bind = Some("/c/donor/shm".into());
        let s = build(&c, &i);
        assert_eq!(
            ns_types(&s),
            [
                "mount",
                "pid=/proc/42/ns/pid",
                "ipc=/proc/42/ns/ipc",
                "network"
            ]
        );
        assert_eq!(
            mount(&s, "/dev/shm").expect("shm")["source"],
            "/c/donor/shm"
        );
        // `--ipc none`: no /dev/shm at all.
        c.ipc_mode = "none".into();
        assert!(mount(&build(&c, &i), "/dev/shm").is_none());
    }

    #[test]
    fn seccomp_relaxes_with_sys_admin() {
        let p = default_seccomp(&[]);
        let names = &p["syscalls"][0]["names"];
        assert!(names
            .as_array()
            .is_some_and(|a| a.contains(&json!("mount"))));
        let p = default_seccomp(&["CAP_SYS_ADMIN".into()]);
        let names = &p["syscalls"][0]["names"];
        assert!(!names
            .as_array()
            .is_some_and(|a| a.contains(&json!("mount"))));
    }
}
