//! cgroup v1 controllers: one directory per hierarchy, one file per knob.

use std::path::Path;

use oci_spec::runtime::LinuxResources;

use super::devices::Rule;
use super::{read, write};
use crate::error::{Error, IoContext, Result};

fn has(ctrls: &str, name: &str) -> bool {
    ctrls.split(',').any(|c| c == name)
}

/// Create the directory; cpuset needs `cpus` and `mems` copied down every new level.
pub fn create(ctrls: &str, dir: &Path) -> Result<()> {
    if !has(ctrls, "cpuset") {
        return std::fs::create_dir_all(dir).ctx("create cgroup", dir);
    }
    let mut missing = Vec::new();
    let mut p = dir;
    while !p.exists() {
        missing.push(p.to_path_buf());
        p = p
            .parent()
            .ok_or_else(|| Error::Invalid(format!("bad cgroup path {}", dir.display())))?;
    }
    for d in missing.iter().rev() {
        std::fs::create_dir(d).ctx("create cgroup", d)?;
        let parent = d.parent().unwrap_or(Path::new("/"));
        for f in ["cpuset.cpus", "cpuset.mems"] {
            if read(d, f)?.trim().is_empty() {
                write(d, f, read(parent, f)?.trim())?;
            }
        }
    }
    Ok(())
}

fn opt_write(dir: &Path, file: &str, value: String) -> Result<()> {
    write(dir, file, &value)
}

/// Write the resources that belong to the controllers of this hierarchy.
pub fn apply(ctrls: &str, dir: &Path, r: &LinuxResources) -> Result<()> {
    if has(ctrls, "memory") {
        if let Some(m) = r.memory() {
            let limit = m.limit();
            let swap = m.swap();
            if let Some(res) = m.reservation() {
                opt_write(dir, "memory.soft_limit_in_bytes", res.to_string())?;
            }
            // memsw must stay >= limit: try one order, then the other.
            let set_limit = |v: i64| write(dir, "memory.limit_in_bytes", &v.to_string());
            let has_memsw = dir.join("memory.memsw.limit_in_bytes").exists();
            let set_swap = |v: i64| -> Result<()> {
                if has_memsw {
                    write(dir, "memory.memsw.limit_in_bytes", &v.to_string())
                } else if v == -1 || Some(v) == limit {
                    Ok(())
                } else {
                    Err(Error::Invalid(format!(
                        "{}: swap limit set but swap accounting is off (no memory.memsw.limit_in_bytes)",
                        dir.display()
                    )))
                }
            };
            match (limit, swap) {
                (Some(l), Some(s)) => {
                    if set_limit(l).and_then(|_| set_swap(s)).is_err() {
                        set_swap(s)?;
                        set_limit(l)?;
                    }
                }
                (Some(l), None) => {
                    set_limit(l)?;
                    // Docker: no swap given means swap = 2x limit is not ours to choose; runc
                    // leaves memsw alone unless it is lower than the new limit.
                    if has_memsw && l > 0 {
                        let cur: i64 = read(dir, "memory.memsw.limit_in_bytes")?
                            .trim()
                            .parse()
                            .unwrap_or(i64::MAX);
                        if cur < l {
                            write(dir, "memory.memsw.limit_in_bytes", &l.to_string())?;
                        }
                    }
                }
                (None, Some(s)) => set_swap(s)?,
                (None, None) => {}
            }
            if let Some(sw) = m.swappiness() {
                if sw > 100 {
                    return Err(Error::Invalid(format!(
                        "invalid memory swappiness {sw} (0-100)"
                    )));
                }
                opt_write(dir, "memory.swappiness", sw.to_string())?;
            }
            if m.disable_oom_killer() == Some(true) {
                write(dir, "memory.oom_control", "1")?;
            }
            // Kernel memory limits: kmem.tcp still works; kmem itself is accepted and ignored
            // by Linux >= 5.16 (and absent later), so it is written only where it exists.
            for (file, v) in [
                ("memory.kmem.limit_in_bytes", m.kernel()),
                ("memory.kmem.tcp.limit_in_bytes", m.kernel_tcp()),
            ] {
                if let Some(v) = v {
                    if dir.join(file).exists() {
                        write(dir, file, &v.to_string())?;
                    }
                }
            }
        }
    }
    if has(ctrls, "cpu") {
        if let Some(c) = r.cpu() {
            if let Some(s) = c.shares() {
                opt_write(dir, "cpu.shares", s.to_string())?;
            }
            if let Some(p) = c.period() {
                opt_write(dir, "cpu.cfs_period_us", p.to_string())?;
            }
            if let Some(q) = c.quota() {
                opt_write(dir, "cpu.cfs_quota_us", q.to_string())?;
            }
            if let Some(b) = c.burst() {
                if dir.join("cpu.cfs_burst_us").exists() {
                    opt_write(dir, "cpu.cfs_burst_us", b.to_string())?;
                }
            }
            if let Some(p) = c.realtime_period() {
                opt_write(dir, "cpu.rt_period_us", p.to_string())?;
            }
            if let Some(rt) = c.realtime_runtime() {
                opt_write(dir, "cpu.rt_runtime_us", rt.to_string())?;
            }
        }
    }
    if has(ctrls, "cpuset") {
        if let Some(c) = r.cpu() {
            if let Some(cpus) = c.cpus() {
                write(dir, "cpuset.cpus", cpus)?;
            }
            if let Some(mems) = c.mems() {
                write(dir, "cpuset.mems", mems)?;
            }
        }
    }
    if has(ctrls, "pids") {
        if let Some(p) = r.pids() {
            let v = if p.limit() > 0 {
                p.limit().to_string()
            } else {
                "max".into()
            };
            write(dir, "pids.max", &v)?;
        }
    }
    if has(ctrls, "blkio") {
        if let Some(b) = r.block_io() {
            if let Some(w) = b.weight() {
                let f = if dir.join("blkio.weight").exists() {
                    "blkio.weight"
                } else {
                    "blkio.bfq.weight"
                };
                write(dir, f, &w.to_string())?;
            }
            // Leaf weights went away with CFQ (Linux 5.0): skip them when the file is gone.
            if let Some(w) = b
                .leaf_weight()
                .filter(|_| dir.join("blkio.leaf_weight").exists())
            {
                write(dir, "blkio.leaf_weight", &w.to_string())?;
            }
            for d in b.weight_device().iter().flatten() {
                if let Some(w) = d.weight() {
                    let f = if dir.join("blkio.weight_device").exists() {
                        "blkio.weight_device"
                    } else {
                        "blkio.bfq.weight_device"
                    };
                    write(dir, f, &format!("{}:{} {w}", d.major(), d.minor()))?;
                }
                if let Some(w) = d
                    .leaf_weight()
                    .filter(|_| dir.join("blkio.leaf_weight_device").exists())
                {
                    write(
                        dir,
                        "blkio.leaf_weight_device",
                        &format!("{}:{} {w}", d.major(), d.minor()),
                    )?;
                }
            }
            let throttles = [
                (
                    "blkio.throttle.read_bps_device",
                    b.throttle_read_bps_device(),
                ),
                (
                    "blkio.throttle.write_bps_device",
                    b.throttle_write_bps_device(),
                ),
                (
                    "blkio.throttle.read_iops_device",
                    b.throttle_read_iops_device(),
                ),
                (
                    "blkio.throttle.write_iops_device",
                    b.throttle_write_iops_device(),
                ),
            ];
            for (file, list) in throttles {
                for d in list.iter().flatten() {
                    write(
                        dir,
                        file,
                        &format!("{}:{} {}", d.major(), d.minor(), d.rate()),
                    )?;
                }
            }
        }
    }
    if has(ctrls, "hugetlb") {
        for h in r.hugepage_limits().iter().flatten() {
            write(
                dir,
                &format!("hugetlb.{}.limit_in_bytes", h.page_size()),
                &h.limit().to_string(),
            )?;
        }
    }
    if let Some(n) = r.network() {
        if has(ctrls, "net_cls") {
            if let Some(id) = n.class_id() {
                write(dir, "net_cls.classid", &id.to_string())?;
            }
        }
        if has(ctrls, "net_prio") {
            for p in n.priorities().iter().flatten() {
                write(
                    dir,
                    "net_prio.ifpriomap",
                    &format!("{} {}", p.name(), p.priority()),
                )?;
            }
        }
    }
    Ok(())
}

/// Write the device rule list (see `devices::rules`) to `devices.allow`/`devices.deny`.
pub fn apply_devices(dir: &Path, rules: &[Rule]) -> Result<()> {
    for r in rules {
        let file = if r.allow {
            "devices.allow"
        } else {
            "devices.deny"
        };
        write(dir, file, &r.v1_line())?;
    }
    Ok(())
}
