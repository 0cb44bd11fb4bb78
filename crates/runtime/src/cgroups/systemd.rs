//! The systemd cgroup driver (runc's `--systemd-cgroup`, docs/adr/028): the container's
//! cgroup is a transient scope that systemd makes around its init and delegates to us.
//! The D-Bus calls run in `quai __systemd` (the `systemd` crate): zbus runs threads, and
//! the runtime forks only while single-threaded; starting the helper is a fork+exec.

use std::path::PathBuf;

use oci_spec::runtime::LinuxResources;

use super::{CgroupPaths, Layout};
use crate::error::{Error, Result};

/// Whether systemd runs as pid 1 here.
pub fn running() -> bool {
    std::path::Path::new("/run/systemd/system").is_dir()
        && std::fs::read_to_string("/proc/1/comm").is_ok_and(|c| c.trim() == "systemd")
}

/// The unit and slice of a cgroups path in systemd's form (`slice:prefix:name`):
/// `prefix-name.scope` (or `name` when it names a unit) in `slice` (`system.slice` when
/// empty).
pub fn unit_of(cgroups_path: &str) -> Option<(String, String)> {
    let mut f = cgroups_path.split(':');
    let (slice, prefix, name) = (f.next()?, f.next()?, f.next()?);
    if f.next().is_some() || name.is_empty() {
        return None;
    }
    let slice = if slice.is_empty() {
        "system.slice"
    } else {
        slice
    };
    if !slice.ends_with(".slice") || slice.contains('/') || name.contains('/') {
        return None;
    }
    let unit = if name.ends_with(".scope") {
        name.to_string()
    } else if prefix.is_empty() {
        format!("{name}.scope")
    } else {
        format!("{prefix}-{name}.scope")
    };
    Some((unit, slice.to_string()))
}

/// A slice's directory under the cgroup root: `a-b.slice` is `a.slice/a-b.slice`.
pub fn slice_dir(slice: &str) -> String {
    if slice == "-.slice" {
        return String::new();
    }
    let stem = slice.trim_end_matches(".slice");
    let parts: Vec<&str> = stem.split('-').collect();
    (1..=parts.len())
        .map(|n| format!("{}.slice", parts[..n].join("-")))
        .collect::<Vec<_>>()
        .join("/")
}

/// The container's cgroup under systemd: cgroup v2 only, systemd running.
pub fn resolve(layout: &Layout, cgroups_path: Option<&str>, id: &str) -> Result<CgroupPaths> {
    let v2 = match &layout.v2 {
        Some(h) if layout.is_pure_v2() => h.mountpoint.clone(),
        _ => {
            return Err(Error::Invalid(
                "the systemd cgroup driver needs cgroup v2 (a unified hierarchy)".into(),
            ))
        }
    };
    if !running() {
        return Err(Error::Invalid(
            "the systemd cgroup driver needs systemd as pid 1, which this machine does not run"
                .into(),
        ));
    }
    let path = cgroups_path
        .filter(|p| !p.is_empty())
        .map(str::to_string)
        .unwrap_or_else(|| format!("system.slice:quai:{id}"));
    let (unit, slice) = unit_of(&path).ok_or_else(|| {
        Error::Invalid(format!(
            "cgroupsPath {path:?}: the systemd driver wants slice:prefix:name"
        ))
    })?;
    let mut dir = v2;
    let sd = slice_dir(&slice);
    if !sd.is_empty() {
        dir = dir.join(sd);
    }
    Ok(CgroupPaths {
        v2: Some(dir.join(&unit)),
        pure_v2: true,
        systemd_unit: Some(unit),
        systemd_slice: Some(slice),
        ..CgroupPaths::default()
    })
}

/// systemd's names for what `r` limits (the same values are then written to the
/// scope's files, so both agree).
fn properties(r: Option<&LinuxResources>) -> Vec<String> {
    let mut out = Vec::new();
    let Some(r) = r else { return out };
    if let Some(m) = r
        .memory()
        .as_ref()
        .and_then(|m| m.limit())
        .filter(|l| *l > 0)
    {
        out.push(format!("MemoryMax={m}"));
    }
    if let Some(p) = r.pids().as_ref().map(|p| p.limit()).filter(|l| *l > 0) {
        out.push(format!("TasksMax={p}"));
    }
    if let Some(c) = r.cpu() {
        if let Some(shares) = c.shares().filter(|s| *s > 0) {
            // runc's conversion of cgroup v1 shares to a v2 weight.
            let w = 1 + (shares.saturating_sub(2) * 9999) / 262_142;
            out.push(format!("CPUWeight={}", w.min(10_000)));
        }
        if let (Some(q), Some(p)) = (c.quota().filter(|q| *q > 0), c.period().filter(|p| *p > 0)) {
            out.push(format!("CPUQuotaPerSecUSec={}", (q as u64) * 1_000_000 / p));
        }
    }
    out
}

fn helper(args: &[String]) -> Result<()> {
    let out = std::process::Command::new("/proc/self/exe")
        .arg("__systemd")
        .args(args)
        .stdin(std::process::Stdio::null())
        .output()
        .map_err(|e| Error::io("start", "the systemd helper", e))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(Error::Invalid(format!(
            "systemd: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        )))
    }
}

/// Ask systemd for the scope around `pid`.
pub fn start(paths: &CgroupPaths, pid: i32, r: Option<&LinuxResources>) -> Result<()> {
    let (Some(unit), Some(slice)) = (&paths.systemd_unit, &paths.systemd_slice) else {
        return Ok(());
    };
    let mut args = vec![
        "start".to_string(),
        unit.clone(),
        slice.clone(),
        pid.to_string(),
    ];
    args.extend(properties(r));
    helper(&args)?;
    let dir: PathBuf = paths.v2.clone().unwrap_or_default();
    if !dir.is_dir() {
        return Err(Error::Invalid(format!(
            "systemd started {unit} but {} is missing",
            dir.display()
        )));
    }
    Ok(())
}

/// Stop the scope (its processes are gone; a unit systemd dropped already is fine).
pub fn stop(paths: &CgroupPaths) -> Result<()> {
    match &paths.systemd_unit {
        Some(unit) => helper(&["stop".to_string(), unit.clone()]),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units_and_slices_as_runc_names_them() {
        assert_eq!(
            unit_of("system.slice:quai:abc"),
            Some(("quai-abc.scope".into(), "system.slice".into()))
        );
        assert_eq!(
            unit_of(":quai:abc"),
            Some(("quai-abc.scope".into(), "system.slice".into()))
        );
        assert_eq!(
            unit_of("machine.slice::x.scope"),
            Some(("x.scope".into(), "machine.slice".into()))
        );
        assert_eq!(unit_of("/quai-abc"), None);
        assert_eq!(unit_of("a/b.slice:p:n"), None);
        assert_eq!(slice_dir("system.slice"), "system.slice");
        assert_eq!(slice_dir("a-b-c.slice"), "a.slice/a-b.slice/a-b-c.slice");
        assert_eq!(slice_dir("-.slice"), "");
    }

    #[test]
    fn limits_become_systemd_properties() {
        let r: LinuxResources = serde_json::from_str(
            r#"{"memory":{"limit":67108864},"pids":{"limit":100},"cpu":{"shares":1024,"quota":50000,"period":100000}}"#,
        )
        .expect("resources");
        assert_eq!(
            properties(Some(&r)),
            [
                "MemoryMax=67108864",
                "TasksMax=100",
                "CPUWeight=39",
                "CPUQuotaPerSecUSec=500000"
            ]
        );
    }
}
