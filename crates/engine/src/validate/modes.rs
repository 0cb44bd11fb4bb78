//! The namespace modes, sysctls and log settings of a container, with Docker's (and
//! runc's) words.

use super::invalid;
use crate::config::ContainerConfig;
use crate::Result;

/// The namespace modes, sysctls, OOM score, `/dev/shm` size, log settings and
/// annotations of a container.
pub(super) fn container(c: &ContainerConfig) -> Result<()> {
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
    // `--userns` is resolved (and checked) with the other containers' ranges at create:
    // `userns::resolve`.
    if !matches!(c.runtime.as_str(), "" | "runc" | "quai") {
        return Err(invalid(format!("Unknown runtime specified {}", c.runtime)));
    }
    if !matches!(c.isolation.as_str(), "" | "default") {
        return Err(invalid(format!(
            "Invalid isolation: {:?} - linux only supports 'default'",
            c.isolation
        )));
    }
    match c.cgroup_manager.as_str() {
        "" | "cgroupfs" => {}
        "systemd" => {
            if !c.cgroup_parent.is_empty()
                && (!c.cgroup_parent.ends_with(".slice") || c.cgroup_parent.contains('/'))
            {
                return Err(invalid(format!(
                    "cgroup-parent for systemd cgroup should be a valid slice named as \"xxx.slice\", not {:?}",
                    c.cgroup_parent
                )));
            }
        }
        m => {
            return Err(invalid(format!(
                "invalid cgroup manager {m:?}: cgroupfs or systemd"
            )))
        }
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

#[cfg(test)]
mod tests {
    use super::super::container;
    use super::*;

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
    }
}
