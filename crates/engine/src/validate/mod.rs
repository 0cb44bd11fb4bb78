//! Checks Docker's daemon makes on a container's settings, with its messages, made before
//! anything is created: a value the kernel or the runtime would refuse at start must not
//! leave a Created container behind, and one it would silently accept (a negative CPU
//! quota) must not mean "no limit".

use crate::config::{ContainerConfig, MountConfig, Resources};
use crate::{Error, Result};

mod host;
mod modes;
mod net;
mod platform;

pub use host::{block_device, host_resources, host_warnings};
pub use modes::{log_config, sysctl, LOG_DRIVERS};
pub use net::{dns_server, exposed_ports, extra_host, link, HOST_GATEWAY};
pub use platform::{image_platform, platform};

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

pub(crate) fn invalid(m: impl Into<String>) -> Error {
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
    for d in &c.dns {
        dns_server(d)?;
    }
    for h in &c.extra_hosts {
        extra_host(h)?;
    }
    modes::container(c)?;
    Ok(())
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
    fn docker_limits_are_checked_with_dockers_words() {
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
