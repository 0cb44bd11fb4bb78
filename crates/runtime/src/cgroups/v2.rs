//! cgroup v2: one unified tree; controllers enabled top-down through `cgroup.subtree_control`.
//!
//! Device rules have no files on v2: `devices_bpf.rs` attaches an eBPF program instead.

use std::path::Path;

use oci_spec::runtime::LinuxResources;

use super::{read, write};
use crate::error::{IoContext, Result};

/// Create the directory and, on a pure v2 host, enable the available controllers on every
/// level from the mount (or the first cgroup directory) down to the leaf's parent, creating
/// the missing levels on the way so each gets its controllers before the next is made.
pub fn create(dir: &Path, pure: bool) -> Result<()> {
    if pure {
        let mut ancestors: Vec<&Path> = dir.ancestors().skip(1).collect();
        ancestors.reverse();
        let mut inside = false;
        for a in ancestors {
            inside = inside || a.join("cgroup.controllers").exists();
            if !inside {
                continue;
            }
            if !a.exists() {
                std::fs::create_dir(a).ctx("create cgroup", a)?;
            }
            let avail = read(a, "cgroup.controllers").unwrap_or_default();
            let enable: Vec<String> = avail.split_whitespace().map(|c| format!("+{c}")).collect();
            if !enable.is_empty() {
                // Best effort: a controller may be busy in a threaded subtree, or the level
                // holds processes (no internal processes); the knobs then warn in `apply`.
                let _ = write(a, "cgroup.subtree_control", &enable.join(" "));
            }
        }
    }
    std::fs::create_dir_all(dir).ctx("create cgroup", dir)
}

/// cgroup v1 cpu.shares (2..262144) to v2 cpu.weight (1..10000), as runc converts.
pub fn shares_to_weight(shares: u64) -> u64 {
    if shares == 0 {
        return 0;
    }
    1 + (shares.saturating_sub(2) * 9999) / 262_142
}

/// Write resources. On a hybrid host only hugetlb lives here (and `unified` keys).
///
/// A knob whose controller this cgroup lacks (bound to v1 on a hybrid host, or not enabled
/// above) is skipped, with one warning naming all such controllers: failing would make
/// such a host unusable for any spec with limits. `unified` keys are the caller's own
/// file names and still fail.
pub fn apply(dir: &Path, r: &LinuxResources, pure: bool) -> Result<()> {
    let avail = read(dir, "cgroup.controllers").unwrap_or_default();
    let has = |c: &str| avail.split_whitespace().any(|a| a == c);
    let mut missing: Vec<&str> = Vec::new();
    // Whether to write the knobs of controller `c` the spec `asked` for.
    let mut wants = |c: &'static str, asked: bool| {
        if asked && !has(c) && !missing.contains(&c) {
            missing.push(c);
        }
        asked && has(c)
    };
    if pure {
        memory(dir, r, &mut wants)?;
        if let Some(c) = r.cpu() {
            let cpu = c.shares().is_some() || c.quota().is_some() || c.period().is_some();
            if wants("cpu", cpu) {
                if let Some(s) = c.shares() {
                    write(dir, "cpu.weight", &shares_to_weight(s).to_string())?;
                }
                if c.quota().is_some() || c.period().is_some() {
                    let quota = c.quota().map_or("max".to_string(), max_or);
                    let period = c.period().unwrap_or(100_000);
                    write(dir, "cpu.max", &format!("{quota} {period}"))?;
                }
            }
            if wants("cpuset", c.cpus().is_some() || c.mems().is_some()) {
                if let Some(cpus) = c.cpus() {
                    write(dir, "cpuset.cpus", cpus)?;
                }
                if let Some(mems) = c.mems() {
                    write(dir, "cpuset.mems", mems)?;
                }
            }
        }
        if let Some(p) = r.pids().as_ref().filter(|_| wants("pids", true)) {
            write(dir, "pids.max", &max_or(p.limit()))?;
        }
        io(dir, r, &mut wants)?;
    }
    let hugepages = r.hugepage_limits().as_ref().is_some_and(|h| !h.is_empty());
    // On a hybrid host hugetlb may be bound to v1 instead: written there, not missed here.
    if (pure && wants("hugetlb", hugepages)) || (!pure && has("hugetlb")) {
        for h in r.hugepage_limits().iter().flatten() {
            write(
                dir,
                &format!("hugetlb.{}.max", h.page_size()),
                &max_or(h.limit()),
            )?;
        }
    }
    for (k, v) in r.unified().iter().flatten() {
        if k.contains('/') || k.starts_with('.') {
            return Err(crate::error::Error::Invalid(format!(
                "invalid unified cgroup key {k:?}"
            )));
        }
        write(dir, k, v)?;
    }
    if !missing.is_empty() {
        eprintln!(
            "quai-runtime: warning: cgroup v2 controller(s) {} not available in {}: their limits are not applied",
            missing.join(", "),
            dir.display()
        );
    }
    Ok(())
}

fn memory(
    dir: &Path,
    r: &LinuxResources,
    wants: &mut impl FnMut(&'static str, bool) -> bool,
) -> Result<()> {
    let Some(m) = r.memory() else {
        return Ok(());
    };
    let asked = m.reservation().is_some()
        || m.limit().is_some()
        || m.swap().is_some()
        || m.disable_oom_killer() == Some(true);
    if !wants("memory", asked) {
        return Ok(());
    }
    if let Some(res) = m.reservation() {
        write(dir, "memory.low", &res.to_string())?;
    }
    if let Some(l) = m.limit() {
        write(dir, "memory.max", &max_or(l))?;
    }
    if let Some(s) = m.swap() {
        // The spec's swap is memory+swap; v2's swap.max is swap alone.
        let v = match (s, m.limit()) {
            (-1, _) => "max".to_string(),
            (s, Some(l)) if l > 0 => (s - l).max(0).to_string(),
            (s, _) => s.to_string(),
        };
        write(dir, "memory.swap.max", &v)?;
    }
    if m.disable_oom_killer() == Some(true) {
        write(dir, "memory.oom.group", "0")?;
    }
    Ok(())
}

fn io(
    dir: &Path,
    r: &LinuxResources,
    wants: &mut impl FnMut(&'static str, bool) -> bool,
) -> Result<()> {
    let Some(b) = r.block_io() else {
        return Ok(());
    };
    let throttles = [
        ("rbps", b.throttle_read_bps_device()),
        ("wbps", b.throttle_write_bps_device()),
        ("riops", b.throttle_read_iops_device()),
        ("wiops", b.throttle_write_iops_device()),
    ];
    let asked = b.weight().is_some()
        || throttles
            .iter()
            .any(|(_, l)| l.as_ref().is_some_and(|l| !l.is_empty()));
    if !wants("io", asked) {
        return Ok(());
    }
    if let Some(w) = b.weight() {
        // blkio weight 10..1000 to io.weight 1..10000.
        let w = 1 + (u64::from(w).saturating_sub(10) * 9999) / 990;
        write(dir, "io.weight", &format!("default {w}"))?;
    }
    let mut lines = std::collections::BTreeMap::<(i64, i64), Vec<String>>::new();
    for (key, list) in throttles {
        for d in list.iter().flatten() {
            lines
                .entry((d.major(), d.minor()))
                .or_default()
                .push(format!("{key}={}", d.rate()));
        }
    }
    for ((maj, min), kv) in lines {
        write(dir, "io.max", &format!("{maj}:{min} {}", kv.join(" ")))?;
    }
    Ok(())
}

fn max_or(v: i64) -> String {
    if v < 0 {
        "max".into()
    } else {
        v.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fake_cgroup(dir: &Path, controllers: &str) {
        std::fs::create_dir_all(dir).expect("mkdir");
        std::fs::write(dir.join("cgroup.controllers"), controllers).expect("write");
    }

    #[test]
    fn writes_v2_files_against_a_fake_root() {
        let tmp = tempfile::tempdir().expect("tmp");
        let root = tmp.path();
        fake_cgroup(root, "cpu memory pids io cpuset hugetlb");
        std::fs::write(root.join("cgroup.subtree_control"), "").expect("write");
        let leaf = root.join("quai").join("c1");
        create(&leaf, true).expect("create");
        assert_eq!(
            std::fs::read_to_string(root.join("cgroup.subtree_control")).expect("read"),
            "+cpu +memory +pids +io +cpuset +hugetlb"
        );
        std::fs::write(
            leaf.join("cgroup.controllers"),
            "cpu memory pids io cpuset hugetlb",
        )
        .expect("write");
        let r: LinuxResources = serde_json::from_str(
            r#"{"memory":{"limit":268435456,"swap":536870912,"reservation":1048576},
                "cpu":{"shares":1024,"quota":50000,"period":100000,"cpus":"0"},
                "pids":{"limit":-1},
                "blockIO":{"weight":500,"throttleReadBpsDevice":[{"major":8,"minor":0,"rate":1000}]},
                "hugepageLimits":[{"pageSize":"2MB","limit":4194304}],
                "unified":{"memory.high":"1000000"}}"#,
        )
        .expect("resources");
        apply(&leaf, &r, true).expect("apply");
        let rd = |f: &str| std::fs::read_to_string(leaf.join(f)).expect(f);
        assert_eq!(rd("memory.max"), "268435456");
        assert_eq!(rd("memory.swap.max"), "268435456");
        assert_eq!(rd("memory.low"), "1048576");
        assert_eq!(rd("cpu.weight"), "39");
        assert_eq!(rd("cpu.max"), "50000 100000");
        assert_eq!(rd("cpuset.cpus"), "0");
        assert_eq!(rd("pids.max"), "max");
        assert_eq!(rd("io.weight"), "default 4950");
        assert_eq!(rd("io.max"), "8:0 rbps=1000");
        assert_eq!(rd("hugetlb.2MB.max"), "4194304");
        assert_eq!(rd("memory.high"), "1000000");
    }

    #[test]
    fn rejects_unified_keys_that_leave_the_cgroup() {
        let tmp = tempfile::tempdir().expect("tmp");
        let r: LinuxResources =
            serde_json::from_str(r#"{"unified":{"../x":"1"}}"#).expect("resources");
        assert!(apply(tmp.path(), &r, true).is_err());
    }

    #[test]
    fn knobs_of_missing_controllers_are_skipped_not_fatal() {
        // A cgroup2 next to v1 controllers: only hugetlb is here.
        let tmp = tempfile::tempdir().expect("tmp");
        let leaf = tmp.path().join("c1");
        fake_cgroup(&leaf, "hugetlb");
        let r: LinuxResources = serde_json::from_str(
            r#"{"memory":{"limit":268435456},"pids":{"limit":100},"cpu":{"shares":512},
                "hugepageLimits":[{"pageSize":"2MB","limit":4194304}]}"#,
        )
        .expect("resources");
        apply(&leaf, &r, true).expect("apply warns instead");
        for f in ["memory.max", "pids.max", "cpu.weight"] {
            assert!(!leaf.join(f).exists(), "{f} written");
        }
        assert_eq!(
            std::fs::read_to_string(leaf.join("hugetlb.2MB.max")).expect("hugetlb"),
            "4194304"
        );
    }

    #[test]
    fn share_conversion() {
        assert_eq!(shares_to_weight(2), 1);
        assert_eq!(shares_to_weight(262_144), 10_000);
        assert_eq!(shares_to_weight(1024), 39);
    }
}
