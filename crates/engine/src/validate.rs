//! Checks Docker's daemon makes on a container's settings, with its messages, made before
//! anything is created: a value the kernel or the runtime would refuse at start must not
//! leave a Created container behind, and one it would silently accept (a negative CPU
//! quota) must not mean "no limit".

use crate::config::{ContainerConfig, MountConfig, Resources};
use crate::{Error, Result};

/// Docker's smallest memory limit.
const MIN_MEMORY: i64 = 6 << 20;

/// The `--ulimit` names Docker knows.
pub const ULIMITS: &[&str] = &[
    "core",
    "cpu",
    "data",
    "fsize",
    "locks",
    "memlock",
    "msgqueue",
    "nice",
    "nofile",
    "nproc",
    "rss",
    "rtprio",
    "rttime",
    "sigpending",
    "stack",
];

fn invalid(m: impl Into<String>) -> Error {
    Error::Invalid(m.into())
}

/// Everything of a container's own settings (the network-dependent checks are made where
/// the network is resolved).
pub fn container(c: &ContainerConfig) -> Result<()> {
    // /sys is read only when a CPU limit needs the machine's CPUs (`run` is a hot path).
    let r = &c.resources;
    let online = if r.nano_cpus.is_some() || r.cpuset_cpus.is_some() {
        online_cpus()
    } else {
        Vec::new()
    };
    resources(r, &online)?;
    for e in &c.env {
        env(e)?;
    }
    hostname(&c.hostname)?;
    if let Some(m) = &c.mac_address {
        mac(m)?;
    }
    for d in &c.devices {
        host_device(&d.path_on_host)?;
    }
    for r in &c.device_cgroup_rules {
        cgroup_rule(r)?;
    }
    modes(c)?;
    for (k, v) in &c.sysctls {
        sysctl(&format!("{k}={v}"))?;
        sysctl_namespace(c, k)?;
    }
    if !(-1000..=1000).contains(&c.oom_score_adj) {
        return Err(invalid(format!(
            "Invalid value {}, range for oom score adj is [-1000, 1000]",
            c.oom_score_adj
        )));
    }
    if let Some(s) = c.shm_size {
        if s < 0 {
            return Err(invalid("SHM size can not be less than 0"));
        }
    }
    log_config(&c.log_config)?;
    for k in c.annotations.keys() {
        if k.is_empty() {
            return Err(invalid("invalid annotation: the key is empty"));
        }
    }
    Ok(())
}

/// The namespace modes (`--ipc`, `--pid`, `--uts`, `--cgroupns`, `--userns`), the
/// runtime and the isolation, with Docker's words.
fn modes(c: &ContainerConfig) -> Result<()> {
    let other = |m: &str| m.strip_prefix("container:").is_some_and(|n| !n.is_empty());
    match c.ipc_mode.as_str() {
        "" | "private" | "shareable" | "none" | "host" => {}
        m if other(m) => {}
        m => return Err(invalid(format!("Invalid IPC mode: {m}"))),
    }
    match c.pid_mode.as_str() {
        "" | "host" => {}
        m if other(m) => {}
        _ => return Err(invalid("--pid: invalid PID mode")),
    }
    if !matches!(c.uts_mode.as_str(), "" | "host") {
        return Err(invalid("--uts: invalid UTS mode"));
    }
    if !c.own_uts_ns() && !c.domainname.is_empty() {
        return Err(invalid("conflicting options: domainname and the UTS mode"));
    }
    if !matches!(c.cgroupns_mode.as_str(), "" | "private" | "host") {
        return Err(invalid("--cgroupns: invalid CGROUP mode"));
    }
    if !matches!(c.userns_mode.as_str(), "" | "host") {
        return Err(invalid(format!(
            "--userns: invalid USER mode (quai runs containers without a user namespace: only \"host\" is supported, not {:?})",
            c.userns_mode
        )));
    }
    if !matches!(c.runtime.as_str(), "" | "runc" | "quai") {
        return Err(invalid(format!("Unknown runtime specified {}", c.runtime)));
    }
    if !matches!(c.isolation.as_str(), "" | "default") {
        return Err(invalid(format!(
            "Invalid isolation: {:?} - linux only supports 'default'",
            c.isolation
        )));
    }
    if !c.cgroup_parent.is_empty() {
        let bad = c
            .cgroup_parent
            .split('/')
            .any(|p| p == ".." || p == "." || p.contains('\0'));
        if bad {
            return Err(invalid(format!(
                "invalid cgroup parent {:?}",
                c.cgroup_parent
            )));
        }
    }
    Ok(())
}

/// The sysctls IPC namespaces own (with `fs.mqueue.*`), Docker's and runc's list.
const IPC_SYSCTLS: &[&str] = &[
    "kernel.msgmax",
    "kernel.msgmnb",
    "kernel.msgmni",
    "kernel.sem",
    "kernel.shmall",
    "kernel.shmmax",
    "kernel.shmmni",
    "kernel.shm_rmid_forced",
];

/// `--sysctl KEY=VALUE`: only sysctls a container's own namespaces hold (Docker's
/// `ValidateSysctl`).
pub fn sysctl(kv: &str) -> Result<()> {
    let not = || invalid(format!("sysctl '{kv}' is not allowed"));
    let (k, _) = kv.split_once('=').ok_or_else(not)?;
    if IPC_SYSCTLS.contains(&k) || k.starts_with("net.") || k.starts_with("fs.mqueue.") {
        Ok(())
    } else {
        Err(not())
    }
}

/// A sysctl is written in the container's namespace: refused when that namespace is the
/// host's (runc's rule and words; writing it would change the host).
fn sysctl_namespace(c: &ContainerConfig, k: &str) -> Result<()> {
    let ipc = IPC_SYSCTLS.contains(&k) || k.starts_with("fs.mqueue.");
    if ipc && c.ipc_mode == "host" {
        return Err(invalid(format!(
            "sysctl {k:?} is not allowed in the hosts ipc namespace"
        )));
    }
    if k.starts_with("net.") && c.network_mode == crate::config::NetworkMode::Host {
        return Err(invalid(format!(
            "sysctl {k:?} not allowed in host network namespace"
        )));
    }
    Ok(())
}

/// The log drivers quai has.
pub const LOG_DRIVERS: &[&str] = &["json-file", "local", "none"];

/// `--log-driver` and `--log-opt`.
pub fn log_config(l: &crate::config::LogConfig) -> Result<()> {
    let d = l.driver_name();
    if !LOG_DRIVERS.contains(&d) {
        return Err(invalid(format!(
            "error looking up logging plugin {d}: plugin {d:?} not found (quai has the json-file, local and none drivers)"
        )));
    }
    let known: &[&str] = match d {
        "json-file" => &[
            "max-size",
            "max-file",
            "compress",
            "labels",
            "labels-regex",
            "env",
            "env-regex",
            "tag",
        ],
        "local" => &["max-size", "max-file", "compress"],
        _ => &[],
    };
    for (k, v) in &l.opts {
        if !known.contains(&k.as_str()) {
            return Err(invalid(format!("unknown log opt '{k}' for {d} log driver")));
        }
        match k.as_str() {
            "max-size" if crate::resolve::parse_bytes(v).is_none() => {
                return Err(invalid(format!(
                    "failed to initialize logging driver: invalid size: '{v}'"
                )))
            }
            "max-file" => match v.parse::<i64>() {
                Ok(n) if n < 1 => {
                    return Err(invalid(
                        "failed to initialize logging driver: max-file cannot be less than 1",
                    ))
                }
                Ok(_) => {}
                Err(_) => {
                    return Err(invalid(format!(
                        "failed to initialize logging driver: strconv.Atoi: parsing {v:?}: invalid syntax"
                    )))
                }
            },
            "compress" if !matches!(v.as_str(), "true" | "false" | "1" | "0") => {
                return Err(invalid(format!(
                    "failed to initialize logging driver: strconv.ParseBool: parsing {v:?}: invalid syntax"
                )))
            }
            _ => {}
        }
    }
    Ok(())
}

/// What this machine cannot do of the limits asked: Docker's warnings, with the setting
/// dropped as Docker drops it (a kernel without a blkio weight file, cgroup v2 without
/// an OOM-killer switch or swappiness), then the checks Docker makes on what is kept.
/// `/sys` is read only for what is asked.
pub fn host_warnings(c: &mut ContainerConfig) -> Result<Vec<String>> {
    let mut w = Vec::new();
    let r = &mut c.resources;
    let needs_layout = r.blkio_weight.is_some()
        || r.oom_kill_disable
        || r.memory_swappiness.is_some()
        || r.cpu_rt_period.is_some()
        || r.cpu_rt_runtime.is_some();
    let layout = if needs_layout {
        runtime::cgroups::Layout::detect().ok()
    } else {
        None
    };
    let pure_v2 = layout.as_ref().is_some_and(|l| l.is_pure_v2());
    // The mount point of the v1 hierarchy with this controller.
    let v1 = |ctrl: &str| -> Option<std::path::PathBuf> {
        layout.as_ref().and_then(|l| {
            l.v1.iter()
                .find(|h| h.controllers.iter().any(|c| c == ctrl))
                .map(|h| h.mountpoint.clone())
        })
    };
    if r.kernel_memory.is_some_and(|k| k > 0) {
        w.push(
            "Specifying a kernel memory limit is deprecated and will be removed in a future release."
                .to_string(),
        );
    }
    if r.memory_swappiness.is_some() && pure_v2 {
        w.push("Your kernel does not support memory swappiness capabilities or the cgroup is not mounted. Memory swappiness discarded.".into());
        r.memory_swappiness = None;
    }
    if r.oom_kill_disable && pure_v2 {
        w.push("Your kernel does not support OomKillDisable. OomKillDisable discarded.".into());
        r.oom_kill_disable = false;
    }
    if r.oom_kill_disable && r.memory.is_none() {
        w.push("OOM killer is disabled for the container, but no memory limit is set, this can result in the system running out of resources.".into());
    }
    if r.blkio_weight.is_some() {
        let supported = if pure_v2 {
            layout
                .as_ref()
                .and_then(|l| l.v2.as_ref())
                .is_some_and(|h| {
                    std::fs::read_to_string(h.mountpoint.join("cgroup.controllers"))
                        .is_ok_and(|s| s.split_whitespace().any(|c| c == "io"))
                })
        } else {
            v1("blkio").is_some_and(|m| {
                m.join("blkio.weight").exists() || m.join("blkio.bfq.weight").exists()
            })
        };
        if !supported {
            w.push("Your kernel does not support Block I/O weight or the cgroup is not mounted. Weight discarded.".into());
            r.blkio_weight = None;
        }
    }
    if let Some(wt) = r.blkio_weight {
        if !(10..=1000).contains(&wt) {
            return Err(invalid("Range of blkio weight is from 10 to 1000"));
        }
    }
    Ok(w)
}

/// Checks that need this machine: the memory nodes, the real-time scheduler's files, the
/// block devices of the I/O limits (made before anything is created).
pub fn host_resources(r: &Resources) -> Result<()> {
    if let Some(m) = &r.cpuset_mems {
        let want =
            cpu_list(m).ok_or_else(|| invalid(format!("Invalid value {m} for cpuset mems")))?;
        let online = std::fs::read_to_string("/sys/devices/system/node/online")
            .ok()
            .and_then(|s| cpu_list(&s))
            .unwrap_or_else(|| vec![0]);
        if want.iter().any(|n| !online.contains(n)) {
            return Err(invalid(format!(
                "Requested memory nodes are not available - requested {m}, available: {}",
                list_text(&online)
            )));
        }
    }
    if r.cpu_rt_period.is_some() || r.cpu_rt_runtime.is_some() {
        let has = runtime::cgroups::Layout::detect().ok().is_some_and(|l| {
            l.v1.iter()
                .find(|h| h.controllers.iter().any(|c| c == "cpu"))
                .is_some_and(|h| h.mountpoint.join("cpu.rt_runtime_us").exists())
        });
        if !has {
            let what = if r.cpu_rt_period.is_some() {
                "period"
            } else {
                "runtime"
            };
            return Err(invalid(format!(
                "Your kernel does not support cgroup cpu real-time {what}"
            )));
        }
    }
    for d in r
        .device_read_bps
        .iter()
        .chain(&r.device_write_bps)
        .chain(&r.device_read_iops)
        .chain(&r.device_write_iops)
    {
        block_device(&d.path)?;
    }
    Ok(())
}

/// Operating systems and architectures `--platform` may name (Go's, as containerd
/// knows them).
const KNOWN_OS: &[&str] = &[
    "aix",
    "android",
    "darwin",
    "dragonfly",
    "freebsd",
    "hurd",
    "illumos",
    "ios",
    "js",
    "linux",
    "nacl",
    "netbsd",
    "openbsd",
    "plan9",
    "solaris",
    "wasip1",
    "windows",
    "zos",
];
const KNOWN_ARCH: &[&str] = &[
    "386",
    "amd64",
    "amd64p32",
    "arm",
    "armbe",
    "arm64",
    "arm64be",
    "loong64",
    "mips",
    "mipsle",
    "mips64",
    "mips64le",
    "mips64p32",
    "mips64p32le",
    "ppc",
    "ppc64",
    "ppc64le",
    "riscv",
    "riscv64",
    "s390",
    "s390x",
    "sparc",
    "sparc64",
    "wasm",
];

/// containerd's architecture names (`x86_64` is `amd64`, `aarch64` is `arm64`, `arm`
/// is `arm/v7`, written back without the variant).
fn normalize_arch(a: &str, v: &str) -> (String, String) {
    let (a, v) = match a {
        "x86_64" | "x86-64" | "amd64" => ("amd64", v.to_string()),
        "i386" => ("386", String::new()),
        "aarch64" | "arm64" => (
            "arm64",
            if v == "8" || v == "v8" {
                String::new()
            } else {
                v.to_string()
            },
        ),
        "armhf" => ("arm", "v7".into()),
        "armel" => ("arm", "v6".into()),
        "arm" => (
            "arm",
            match v {
                "" | "7" | "v7" => "v7".into(),
                "5" | "6" | "8" => format!("v{v}"),
                _ => v.to_string(),
            },
        ),
        _ => (a, v.to_string()),
    };
    let v = if a == "arm" && v == "v7" {
        String::new()
    } else {
        v
    };
    (a.to_string(), v)
}

/// `--platform`: `os[/arch[/variant]]` or `arch`, normalised as containerd does;
/// `(os, arch, variant)`.
pub fn platform(s: &str) -> Result<(String, String, String)> {
    let bad = |why: &str| invalid(format!("{s:?}: {why}: invalid argument"));
    let parts: Vec<String> = s.split('/').map(str::to_ascii_lowercase).collect();
    let component_ok = |p: &String| {
        !p.is_empty()
            && p.chars()
                .all(|c| c.is_ascii_alphanumeric() || "_-".contains(c))
    };
    if !parts.iter().all(component_ok) {
        return Err(bad("invalid platform component"));
    }
    let os = |o: &str| {
        if o == "macos" {
            "darwin".to_string()
        } else {
            o.to_string()
        }
    };
    let (o, (a, v)) = match parts.as_slice() {
        [one] if KNOWN_OS.contains(&os(one).as_str()) => (os(one), ("amd64".into(), String::new())),
        [one] => {
            let (a, v) = normalize_arch(one, "");
            if !KNOWN_ARCH.contains(&a.as_str()) {
                return Err(bad("unknown operating system or architecture"));
            }
            ("linux".into(), (a, v))
        }
        [o, a] => (os(o), normalize_arch(a, "")),
        [o, a, v] => (os(o), normalize_arch(a, v)),
        _ => return Err(bad("cannot parse platform specifier")),
    };
    Ok((o, a, v))
}

/// The image (its config blob `img`) is of the platform asked for (Docker's words when
/// it is not).
pub fn image_platform(name: &str, want: &str, img: &serde_json::Value) -> Result<()> {
    let (wo, wa, wv) = platform(want)?;
    let io = img["os"].as_str().unwrap_or("linux");
    let (ia, iv) = normalize_arch(
        img["architecture"].as_str().unwrap_or("amd64"),
        img["variant"].as_str().unwrap_or(""),
    );
    if wo == io && wa == ia && (wv.is_empty() || wv == iv) {
        return Ok(());
    }
    let show = |o: &str, a: &str, v: &str| {
        if v.is_empty() {
            format!("{o}/{a}")
        } else {
            format!("{o}/{a}/{v}")
        }
    };
    Err(invalid(format!(
        "image with reference {name} was found but does not match the specified platform: wanted {}, actual: {}",
        show(&wo, &wa, &wv),
        show(io, &ia, &iv)
    )))
}

/// A block device node's major and minor numbers.
pub fn block_device(p: &str) -> Result<(u64, u64)> {
    use std::os::unix::fs::{FileTypeExt, MetadataExt};
    let m = std::fs::metadata(p).map_err(|e| {
        let why = match e.kind() {
            std::io::ErrorKind::NotFound => "no such file or directory".to_string(),
            _ => e.to_string(),
        };
        invalid(format!("stat {p}: {why}"))
    })?;
    if !m.file_type().is_block_device() {
        return Err(invalid(format!("{p} is not a block device")));
    }
    let r = m.rdev();
    Ok((libc::major(r).into(), libc::minor(r).into()))
}

/// `--device HOST[:CONTAINER][:PERMS]`, Docker's grammar.
pub fn parse_device(s: &str) -> Result<crate::config::DeviceMapping> {
    let perms_ok = |p: &str| !p.is_empty() && p.len() <= 3 && p.chars().all(|c| "rwm".contains(c));
    let parts: Vec<&str> = s.split(':').collect();
    let (host, ctr, perms) = match parts.as_slice() {
        [h] => (*h, *h, "rwm"),
        [h, p] if perms_ok(p) => (*h, *h, *p),
        [h, c] => (*h, *c, "rwm"),
        [h, c, p] => (*h, *c, *p),
        _ => return Err(invalid(format!("invalid device specification: {s}"))),
    };
    if !perms_ok(perms) {
        return Err(invalid(format!("invalid device mode: {perms}")));
    }
    if !ctr.starts_with('/') {
        return Err(invalid(format!("bad format for path: {ctr}")));
    }
    Ok(crate::config::DeviceMapping {
        path_on_host: host.into(),
        path_in_container: ctr.into(),
        cgroup_permissions: perms.into(),
    })
}

/// A host device node: `(type, major, minor, mode)`, type `c` or `b`.
pub fn host_device(p: &str) -> Result<(char, u64, u64, u32)> {
    use std::os::unix::fs::{FileTypeExt, MetadataExt};
    let m = std::fs::metadata(p).map_err(|e| {
        invalid(format!(
            "error gathering device information while adding custom device {p:?}: {e}"
        ))
    })?;
    let t = if m.file_type().is_char_device() {
        'c'
    } else if m.file_type().is_block_device() {
        'b'
    } else {
        return Err(invalid(format!(
            "error gathering device information while adding custom device {p:?}: not a device node"
        )));
    };
    let r = m.rdev();
    Ok((
        t,
        libc::major(r).into(),
        libc::minor(r).into(),
        m.mode() & 0o7777,
    ))
}

/// `--device-cgroup-rule`: `TYPE MAJOR:MINOR ACCESS` (`c 1:3 rwm`, `b *:* m`, `a *:* rwm`).
pub fn cgroup_rule(r: &str) -> Result<(char, Option<u64>, Option<u64>, String)> {
    let bad = || invalid(format!("invalid device cgroup format '{r}'"));
    let f: Vec<&str> = r.split(' ').collect();
    let [t, mm, access] = f.as_slice() else {
        return Err(bad());
    };
    let t = match *t {
        "a" | "b" | "c" => t.chars().next().ok_or_else(bad)?,
        _ => return Err(bad()),
    };
    let (ma, mi) = mm.split_once(':').ok_or_else(bad)?;
    let num = |x: &str| -> Result<Option<u64>> {
        if x == "*" {
            Ok(None)
        } else {
            x.parse().map(Some).map_err(|_| bad())
        }
    };
    let ok = !access.is_empty() && access.len() <= 3 && access.chars().all(|c| "rwm".contains(c));
    if !ok {
        return Err(bad());
    }
    Ok((t, num(ma)?, num(mi)?, access.to_string()))
}

/// A working directory (`-w`, the image's WORKDIR, `exec -w`): absolute.
pub fn workdir(w: &str) -> Result<()> {
    if w.starts_with('/') {
        Ok(())
    } else {
        Err(invalid(format!(
            "the working directory '{w}' is invalid, it needs to be an absolute path"
        )))
    }
}

/// A hostname the kernel takes (at most 64 bytes, no blanks).
pub fn hostname(h: &str) -> Result<()> {
    if h.len() > 64 {
        return Err(invalid(format!(
            "invalid hostname {h:?}: longer than 64 characters"
        )));
    }
    if let Some(ch) = h.chars().find(|ch| ch.is_whitespace() || *ch == '\0') {
        return Err(invalid(format!(
            "invalid hostname {h:?}: it contains {ch:?}"
        )));
    }
    Ok(())
}

/// One `KEY=VALUE` of the environment.
pub fn env(e: &str) -> Result<()> {
    let key = e.split('=').next().unwrap_or_default();
    if key.is_empty() || e.contains('\0') {
        return Err(invalid(format!(
            "invalid environment variable: {}",
            e.replace('\0', "\\0")
        )));
    }
    Ok(())
}

/// A MAC address `xx:xx:xx:xx:xx:xx`.
pub fn mac(m: &str) -> Result<()> {
    let parts: Vec<&str> = m.split(':').collect();
    let ok = parts.len() == 6
        && parts
            .iter()
            .all(|p| p.len() == 2 && u8::from_str_radix(p, 16).is_ok());
    if ok {
        Ok(())
    } else {
        Err(invalid(format!("{m} is not a valid mac address")))
    }
}

/// Limits, against this machine's CPUs (`online`: the CPU numbers that exist).
pub fn resources(r: &Resources, online: &[u32]) -> Result<()> {
    if let Some(m) = r.memory {
        if m < MIN_MEMORY {
            return Err(invalid("Minimum memory limit allowed is 6MB"));
        }
    }
    if let Some(s) = r.memory_swap {
        if s != -1 && s < r.memory.unwrap_or(0) {
            return Err(invalid(
                "Minimum memoryswap limit should be larger than memory limit, see usage",
            ));
        }
    }
    let n = online.len().max(1) as i64;
    if let Some(c) = r.nano_cpus {
        if !(0..=n * 1_000_000_000).contains(&c) || (c > 0 && c < 10_000_000) {
            return Err(invalid(format!(
                "Range of CPUs is from 0.01 to {n}.00, as there are only {n} CPUs available"
            )));
        }
    }
    if let Some(s) = r.cpu_shares {
        if s > 262_144 {
            return Err(invalid(format!(
                "invalid --cpu-shares {s}: the maximum is 262144"
            )));
        }
    }
    if let Some(set) = &r.cpuset_cpus {
        let want =
            cpu_list(set).ok_or_else(|| invalid(format!("Invalid value {set} for cpuset cpus")))?;
        if want.iter().any(|c| !online.contains(c)) {
            return Err(invalid(format!(
                "Requested CPUs are not available - requested {set}, available: {}",
                list_text(online)
            )));
        }
    }
    if let Some(v) = r.memory_reservation {
        if v > 0 && v < MIN_MEMORY {
            return Err(invalid("Minimum memory reservation allowed is 6MB"));
        }
        if r.memory.is_some_and(|m| m > 0 && m < v) {
            return Err(invalid(
                "Minimum memory limit can not be less than memory reservation limit, see usage",
            ));
        }
    }
    if let Some(s) = r.memory_swappiness {
        if !(0..=100).contains(&s) {
            return Err(invalid(format!(
                "Invalid value: {s}, valid memory swappiness range is 0-100"
            )));
        }
    }
    if r.kernel_memory.is_some_and(|k| k > 0 && k < 4 << 20) {
        return Err(invalid("Minimum kernel memory limit allowed is 4MB"));
    }
    if r.nano_cpus.is_some_and(|n| n > 0) {
        if r.cpu_period.is_some_and(|p| p > 0) {
            return Err(invalid(
                "Conflicting options: Nano CPUs and CPU Period cannot both be set",
            ));
        }
        if r.cpu_quota.is_some_and(|q| q > 0) {
            return Err(invalid(
                "Conflicting options: Nano CPUs and CPU Quota cannot both be set",
            ));
        }
    }
    if let Some(p) = r.cpu_period.filter(|p| *p != 0) {
        if !(1000..=1_000_000).contains(&p) {
            return Err(invalid(
                "CPU cfs period can not be less than 1ms (i.e. 1000) or larger than 1s (i.e. 1000000)",
            ));
        }
    }
    if r.cpu_quota.is_some_and(|q| q > 0 && q < 1000) {
        return Err(invalid(
            "CPU cfs quota can not be less than 1ms (i.e. 1000)",
        ));
    }
    if let (Some(p), Some(rt)) = (r.cpu_rt_period, r.cpu_rt_runtime) {
        if p != 0 && rt != 0 && rt > p {
            return Err(invalid(
                "cpu-rt-runtime cannot be higher than cpu-rt-period",
            ));
        }
    }
    if let Some(m) = &r.cpuset_mems {
        cpu_list(m).ok_or_else(|| invalid(format!("Invalid value {m} for cpuset mems")))?;
    }
    for u in &r.ulimits {
        if !ULIMITS.contains(&u.name.as_str()) {
            return Err(invalid(format!("invalid ulimit type: {}", u.name)));
        }
        if u.soft > u.hard {
            return Err(invalid(format!(
                "ulimit soft limit must be less than or equal to hard limit: {} > {}",
                u.soft, u.hard
            )));
        }
    }
    Ok(())
}

/// A mount target, and a tmpfs's options.
pub fn mount(m: &MountConfig) -> Result<()> {
    if !m.target.starts_with('/') {
        return Err(invalid(format!(
            "invalid mount config for type \"{}\": invalid mount path: '{}' mount path must be absolute",
            m.kind, m.target
        )));
    }
    if m.target == "/" {
        return Err(invalid(format!(
            "invalid mount config for type \"{}\": invalid specification: destination can't be '/'",
            m.kind
        )));
    }
    Ok(())
}

/// `0-3,5`: the CPU numbers, or None when it does not parse.
pub fn cpu_list(s: &str) -> Option<Vec<u32>> {
    let mut out = Vec::new();
    for part in s.trim().split(',') {
        match part.split_once('-') {
            Some((a, b)) => {
                let (a, b): (u32, u32) = (a.parse().ok()?, b.parse().ok()?);
                if a > b || b - a > 4096 {
                    return None;
                }
                out.extend(a..=b);
            }
            None => out.push(part.parse().ok()?),
        }
    }
    Some(out)
}

fn list_text(cpus: &[u32]) -> String {
    let mut out: Vec<String> = Vec::new();
    let mut i = 0;
    while i < cpus.len() {
        let mut j = i;
        while j + 1 < cpus.len() && cpus[j + 1] == cpus[j] + 1 {
            j += 1;
        }
        out.push(if i == j {
            cpus[i].to_string()
        } else {
            format!("{}-{}", cpus[i], cpus[j])
        });
        i = j + 1;
    }
    out.join(",")
}

/// The CPUs this machine has online.
pub fn online_cpus() -> Vec<u32> {
    std::fs::read_to_string("/sys/devices/system/cpu/online")
        .ok()
        .and_then(|s| cpu_list(&s))
        .unwrap_or_else(|| {
            let n = std::thread::available_parallelism().map_or(1, |n| n.get());
            (0..n as u32).collect()
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Ulimit;

    fn res(f: impl FnOnce(&mut Resources)) -> Result<()> {
        let mut r = Resources::default();
        f(&mut r);
        resources(&r, &[0, 1])
    }

    fn msg(r: Result<()>) -> String {
        r.expect_err("should be refused").to_string()
    }

    #[test]
    fn limits_are_checked_with_dockers_words() {
        assert!(res(|r| r.memory = Some(64 << 20)).is_ok());
        assert_eq!(
            msg(res(|r| r.memory = Some(1))),
            "Minimum memory limit allowed is 6MB"
        );
        assert!(msg(res(|r| r.nano_cpus = Some(-1_000_000_000))).starts_with("Range of CPUs"));
        assert!(
            msg(res(|r| r.nano_cpus = Some(1_000_000_000 * 1_000_000_000))).contains("only 2 CPUs")
        );
        assert!(res(|r| r.nano_cpus = Some(1_500_000_000)).is_ok());
        assert_eq!(
            msg(res(|r| r.cpuset_cpus = Some("99".into()))),
            "Requested CPUs are not available - requested 99, available: 0-1"
        );
        assert!(res(|r| r.cpuset_cpus = Some("0-1".into())).is_ok());
        assert!(msg(res(|r| r.cpuset_cpus = Some("x".into()))).contains("Invalid value"));
        let u = |name: &str, soft, hard| {
            res(|r| {
                r.ulimits = vec![Ulimit {
                    name: name.into(),
                    soft,
                    hard,
                }]
            })
        };
        assert_eq!(msg(u("bogus", 1, 2)), "invalid ulimit type: bogus");
        assert_eq!(
            msg(u("nofile", 1, 0)),
            "ulimit soft limit must be less than or equal to hard limit: 1 > 0"
        );
        assert!(u("nofile", 10, 20).is_ok());
    }

    #[test]
    fn docker_flag_values_are_checked_with_dockers_words() {
        let msg_c = |f: &dyn Fn(&mut ContainerConfig)| {
            let mut c = ContainerConfig::default();
            f(&mut c);
            container(&c).err().map(|e| e.to_string())
        };
        assert_eq!(msg_c(&|_| {}), None);
        assert_eq!(
            msg_c(&|c| c.ipc_mode = "bogus".into()).as_deref(),
            Some("Invalid IPC mode: bogus")
        );
        for ok in ["private", "shareable", "none", "host", "container:x"] {
            assert_eq!(msg_c(&|c| c.ipc_mode = ok.into()), None, "{ok}");
        }
        assert_eq!(
            msg_c(&|c| c.pid_mode = "container:".into()).as_deref(),
            Some("--pid: invalid PID mode")
        );
        assert_eq!(
            msg_c(&|c| c.uts_mode = "x".into()).as_deref(),
            Some("--uts: invalid UTS mode")
        );
        assert_eq!(
            msg_c(&|c| c.cgroupns_mode = "x".into()).as_deref(),
            Some("--cgroupns: invalid CGROUP mode")
        );
        assert!(msg_c(&|c| c.userns_mode = "private".into())
            .is_some_and(|m| m.starts_with("--userns: invalid USER mode")));
        assert_eq!(
            msg_c(&|c| c.oom_score_adj = 1001).as_deref(),
            Some("Invalid value 1001, range for oom score adj is [-1000, 1000]")
        );
        assert_eq!(
            msg_c(&|c| c.runtime = "crun".into()).as_deref(),
            Some("Unknown runtime specified crun")
        );
        assert_eq!(
            msg_c(&|c| c.isolation = "hyperv".into()).as_deref(),
            Some("Invalid isolation: \"hyperv\" - linux only supports 'default'")
        );
        assert_eq!(
            msg_c(&|c| {
                c.uts_mode = "host".into();
                c.domainname = "example.org".into();
            })
            .as_deref(),
            Some("conflicting options: domainname and the UTS mode")
        );
        assert_eq!(
            msg_c(&|c| c.cgroup_parent = "/a/../b".into()).as_deref(),
            Some("invalid cgroup parent \"/a/../b\"")
        );
        // Sysctls: namespaced ones only, and in the container's own namespace.
        assert_eq!(
            sysctl("kernel.hostname=x").expect_err("host's").to_string(),
            "sysctl 'kernel.hostname=x' is not allowed"
        );
        assert!(sysctl("foo").is_err());
        for ok in [
            "net.ipv4.ip_forward=1",
            "kernel.shmmax=1",
            "fs.mqueue.msg_max=20",
        ] {
            assert!(sysctl(ok).is_ok(), "{ok}");
        }
        let with = |k: &str, f: &dyn Fn(&mut ContainerConfig)| {
            msg_c(&|c| {
                c.sysctls.insert(k.into(), "1".into());
                f(c)
            })
        };
        assert_eq!(with("net.ipv4.ip_forward", &|_| {}), None);
        assert_eq!(
            with("net.ipv4.ip_forward", &|c| c.network_mode =
                crate::config::NetworkMode::Host)
            .as_deref(),
            Some("sysctl \"net.ipv4.ip_forward\" not allowed in host network namespace")
        );
        assert_eq!(
            with("kernel.sem", &|c| c.ipc_mode = "host".into()).as_deref(),
            Some("sysctl \"kernel.sem\" is not allowed in the hosts ipc namespace")
        );
        // Log drivers and their options.
        let log = |d: &str, opts: &[(&str, &str)]| {
            log_config(&crate::config::LogConfig {
                driver: d.into(),
                opts: opts
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
            })
            .err()
            .map(|e| e.to_string())
        };
        assert_eq!(log("", &[("max-size", "10m"), ("max-file", "3")]), None);
        assert_eq!(log("none", &[]), None);
        assert!(log("syslog", &[]).is_some_and(|m| m.contains("plugin \"syslog\" not found")));
        assert_eq!(
            log("json-file", &[("bogus", "1")]).as_deref(),
            Some("unknown log opt 'bogus' for json-file log driver")
        );
        assert_eq!(
            log("local", &[("max-size", "x")]).as_deref(),
            Some("failed to initialize logging driver: invalid size: 'x'")
        );
        assert_eq!(
            log("json-file", &[("max-file", "0")]).as_deref(),
            Some("failed to initialize logging driver: max-file cannot be less than 1")
        );
        // Limits.
        assert_eq!(
            msg(res(|r| r.memory_reservation = Some(1 << 20))),
            "Minimum memory reservation allowed is 6MB"
        );
        assert_eq!(
            msg(res(|r| {
                r.memory = Some(8 << 20);
                r.memory_reservation = Some(16 << 20);
            })),
            "Minimum memory limit can not be less than memory reservation limit, see usage"
        );
        assert_eq!(
            msg(res(|r| r.memory_swappiness = Some(101))),
            "Invalid value: 101, valid memory swappiness range is 0-100"
        );
        assert_eq!(
            msg(res(|r| {
                r.nano_cpus = Some(1_000_000_000);
                r.cpu_period = Some(50_000);
            })),
            "Conflicting options: Nano CPUs and CPU Period cannot both be set"
        );
        assert_eq!(
            msg(res(|r| r.cpu_period = Some(500))),
            "CPU cfs period can not be less than 1ms (i.e. 1000) or larger than 1s (i.e. 1000000)"
        );
        assert_eq!(
            msg(res(|r| r.cpu_quota = Some(500))),
            "CPU cfs quota can not be less than 1ms (i.e. 1000)"
        );
        assert!(res(|r| r.cpu_quota = Some(-1)).is_ok(), "-1: no quota");
        assert_eq!(
            msg(res(|r| {
                r.cpu_rt_period = Some(1000);
                r.cpu_rt_runtime = Some(2000);
            })),
            "cpu-rt-runtime cannot be higher than cpu-rt-period"
        );
        assert_eq!(
            msg(res(|r| r.cpuset_mems = Some("x".into()))),
            "Invalid value x for cpuset mems"
        );
        // What the machine lacks: docker's warnings, the setting dropped.
        let mut c = ContainerConfig::default();
        c.resources.kernel_memory = Some(16 << 20);
        c.resources.oom_kill_disable = true;
        let w = host_warnings(&mut c).expect("warnings");
        assert!(w[0].starts_with("Specifying a kernel memory limit is deprecated"));
        assert!(w.iter().any(
            |w| w.starts_with("OOM killer is disabled for the container, but no memory limit")
        ));
        c.resources.memory = Some(64 << 20);
        let w = host_warnings(&mut c).expect("warnings");
        assert!(!w.iter().any(|w| w.starts_with("OOM killer")), "{w:?}");
        assert!(block_device("/dev/null")
            .expect_err("char")
            .to_string()
            .contains("not a block device"));
        assert_eq!(
            block_device("/dev/nosuch")
                .expect_err("missing")
                .to_string(),
            "stat /dev/nosuch: no such file or directory"
        );
    }

    #[test]
    fn platforms_as_containerd_reads_them() {
        let p = |s: &str| platform(s).map_err(|e| e.to_string());
        let t = |o: &str, a: &str, v: &str| Ok((o.to_string(), a.to_string(), v.to_string()));
        assert_eq!(p("linux/amd64"), t("linux", "amd64", ""));
        assert_eq!(p("linux/x86_64"), t("linux", "amd64", ""));
        assert_eq!(p("linux"), t("linux", "amd64", ""));
        assert_eq!(p("arm64"), t("linux", "arm64", ""));
        assert_eq!(p("linux/aarch64/v8"), t("linux", "arm64", ""));
        assert_eq!(p("linux/arm/v7"), t("linux", "arm", ""));
        assert_eq!(p("linux/arm/v6"), t("linux", "arm", "v6"));
        assert_eq!(
            p("bogus"),
            Err("\"bogus\": unknown operating system or architecture: invalid argument".into())
        );
        assert!(p("linux/amd64/v1/x").is_err());
        assert!(p("linux//amd64").is_err());
        let img = serde_json::json!({"os": "linux", "architecture": "amd64"});
        assert!(image_platform("img", "linux/amd64", &img).is_ok());
        assert!(image_platform("img", "linux/x86_64", &img).is_ok());
        assert_eq!(
            image_platform("img", "linux/arm64", &img).expect_err("arm").to_string(),
            "image with reference img was found but does not match the specified platform: wanted linux/arm64, actual: linux/amd64"
        );
    }

    #[test]
    fn settings_are_checked() {
        assert!(mac("02:42:ac:11:00:02").is_ok());
        assert_eq!(
            mac("zz:zz").expect_err("bad").to_string(),
            "zz:zz is not a valid mac address"
        );
        assert!(env("=novar").is_err());
        assert!(env("A=b\0c").is_err());
        assert!(env("A=").is_ok());
        let mut c = ContainerConfig {
            hostname: "h".repeat(300),
            ..Default::default()
        };
        assert!(container(&c).is_err());
        c.hostname = "web".into();
        assert!(container(&c).is_ok());
        let m = MountConfig {
            kind: crate::config::MountKind::Tmpfs,
            target: "relative".into(),
            ..Default::default()
        };
        assert!(mount(&m)
            .expect_err("relative")
            .to_string()
            .contains("must be absolute"));
        assert_eq!(list_text(&[0, 1, 2, 5, 7, 8]), "0-2,5,7-8");
        let d = parse_device("/dev/fuse:/dev/f:rw").expect("device");
        assert_eq!(
            (
                d.path_on_host.as_str(),
                d.path_in_container.as_str(),
                d.cgroup_permissions.as_str()
            ),
            ("/dev/fuse", "/dev/f", "rw")
        );
        let d = parse_device("/dev/fuse:r").expect("device");
        assert_eq!(d.path_in_container, "/dev/fuse");
        assert!(parse_device("/dev/fuse:rel").is_err());
        assert!(parse_device("/dev/fuse:/x:q").is_err());
        assert_eq!(host_device("/dev/null").expect("null").0, 'c');
        assert!(host_device("/etc/hostname").is_err());
        assert_eq!(
            cgroup_rule("c 1:3 rwm").expect("rule"),
            ('c', Some(1), Some(3), "rwm".into())
        );
        assert_eq!(cgroup_rule("b *:* m").expect("rule").1, None);
        for bad in ["c 1:3", "x 1:3 r", "c 1-3 r", "c a:3 r", "c 1:3 rx"] {
            assert!(cgroup_rule(bad).is_err(), "{bad}");
        }
    }
}
