//! Checks and warnings that need this machine: cgroup files, memory nodes, block
//! devices.

use super::{cpu_list, invalid, list_text};
use crate::config::{ContainerConfig, Resources};
use crate::Result;

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_the_machine_lacks_is_warned_and_dropped() {
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
}
