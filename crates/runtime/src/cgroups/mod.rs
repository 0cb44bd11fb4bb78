//! Cgroups: v1, v2 and hybrid (v1 controllers plus a cgroup2 mount at `unified`).
//!
//! Paths follow runc's cgroupfs driver: an absolute `cgroupsPath` is below each hierarchy's
//! root, a relative one below the runtime's own cgroup, an empty one is `<own cgroup>/<id>`.
//! Everything here writes plain files under a root directory, so the v2 code is tested
//! against a fake cgroupfs in a temp dir (these machines are hybrid). Device rules are the
//! exception: on v2 they are an eBPF program (`devices_bpf.rs`).

mod devices;
mod devices_bpf;
pub mod systemd;
mod v1;
mod v2;

pub use devices_bpf::{attached as attached_device_programs, PROG_NAME as DEVICE_PROG_NAME};

use std::path::{Path, PathBuf};
use std::time::Duration;

use oci_spec::runtime::LinuxResources;
use serde::{Deserialize, Serialize};

use crate::error::{Error, IoContext, Result};

/// The cgroup directories of one container.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct CgroupPaths {
    /// v1: one directory per mounted hierarchy (controller names, dir).
    #[serde(default)]
    pub v1: Vec<(String, PathBuf)>,
    /// v2 (or the unified mount of a hybrid host).
    #[serde(default)]
    pub v2: Option<PathBuf>,
    /// Whether v2 is the only hierarchy (pure v2 host).
    #[serde(default)]
    pub pure_v2: bool,
    /// Parent directories quai created on the way to the leaves (deepest first); removed
    /// again with the container when empty.
    #[serde(default)]
    pub created_parents: Vec<PathBuf>,
    /// The systemd driver's scope unit (systemd makes and removes the directory).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub systemd_unit: Option<String>,
    /// Its slice.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub systemd_slice: Option<String>,
}

/// One mounted hierarchy.
#[derive(Debug, Clone)]
pub struct Hierarchy {
    /// Controllers of a v1 hierarchy (`cpu,cpuacct`), or empty for cgroup2.
    pub controllers: Vec<String>,
    /// Mount point.
    pub mountpoint: PathBuf,
    /// The root of the mount inside the hierarchy (usually `/`).
    pub root: String,
}

/// The host's cgroup layout.
#[derive(Debug, Clone, Default)]
pub struct Layout {
    /// v1 hierarchies.
    pub v1: Vec<Hierarchy>,
    /// The cgroup2 mount, if any.
    pub v2: Option<Hierarchy>,
}

impl Layout {
    /// Read `/proc/self/mountinfo`.
    pub fn detect() -> Result<Layout> {
        let mi =
            std::fs::read_to_string("/proc/self/mountinfo").ctx("read", "/proc/self/mountinfo")?;
        Ok(Self::parse(&mi))
    }

    /// Parse mountinfo text.
    pub fn parse(mountinfo: &str) -> Layout {
        let mut l = Layout::default();
        for line in mountinfo.lines() {
            let Some((pre, post)) = line.split_once(" - ") else {
                continue;
            };
            let pre: Vec<&str> = pre.split(' ').collect();
            let post: Vec<&str> = post.split(' ').collect();
            if pre.len() < 5 || post.len() < 3 {
                continue;
            }
            let (root, mnt) = (pre[3].to_string(), PathBuf::from(unescape(pre[4])));
            match post[0] {
                "cgroup2" if l.v2.is_none() => {
                    l.v2 = Some(Hierarchy {
                        controllers: vec![],
                        mountpoint: mnt,
                        root,
                    })
                }
                "cgroup" => {
                    let controllers: Vec<String> = post[2]
                        .split(',')
                        .filter(|o| {
                            !matches!(*o, "rw" | "ro" | "relatime" | "nosuid" | "nodev" | "noexec")
                                && !o.starts_with("release_agent")
                                && *o != "clone_children"
                                && *o != "noprefix"
                                && *o != "xattr"
                                && *o != "cpuset_v2_mode"
                                && *o != "favordynmods"
                        })
                        .map(str::to_string)
                        .collect();
                    if controllers.is_empty() || l.v1.iter().any(|h| h.controllers == controllers) {
                        continue;
                    }
                    l.v1.push(Hierarchy {
                        controllers,
                        mountpoint: mnt,
                        root,
                    })
                }
                _ => {}
            }
        }
        l
    }

    /// Whether the host is pure cgroup v2.
    pub fn is_pure_v2(&self) -> bool {
        self.v1.is_empty() && self.v2.is_some()
    }
}

fn unescape(s: &str) -> String {
    s.replace("\\040", " ")
        .replace("\\011", "\t")
        .replace("\\012", "\n")
        .replace("\\134", "\\")
}

/// The process's own cgroup per hierarchy, from `/proc/self/cgroup` text.
pub fn own_cgroups(proc_cgroup: &str) -> Vec<(String, String)> {
    proc_cgroup
        .lines()
        .filter_map(|l| {
            let mut parts = l.splitn(3, ':');
            let _id = parts.next()?;
            let ctrls = parts.next()?.to_string();
            let path = parts.next()?.to_string();
            Some((ctrls, path))
        })
        .collect()
}

fn join_inner(base: &Path, inner: &str) -> PathBuf {
    let mut p = base.to_path_buf();
    for c in inner
        .split('/')
        .filter(|c| !c.is_empty() && *c != "." && *c != "..")
    {
        p.push(c);
    }
    p
}

/// Start the kernel's wait for the next cgroup migration now, so that a container's
/// `cgroup.procs` write a few milliseconds later does not pay it (call on a thread of its
/// own: it blocks). Every migration takes a per-cpu rwsem whose write side waits for an
/// RCU grace period (7-20 ms on the machines measured) unless another writer went
/// through within the last grace period; writing this process into the cgroup it is
/// already in is such a writer and changes nothing. Errors are ignored: it only saves
/// time (see docs/adr/014-cgroup-attach-warm-up.md).
pub fn warm_migration() {
    let _ = (|| -> Option<()> {
        let layout = Layout::detect().ok()?;
        let own = own_cgroups(&std::fs::read_to_string("/proc/self/cgroup").ok()?);
        let h = layout.v2.as_ref().or(layout.v1.first())?;
        let (_, path) = own.iter().find(|(c, _)| {
            if h.controllers.is_empty() {
                c.is_empty()
            } else {
                c.split(',').any(|x| h.controllers.iter().any(|y| x == y))
            }
        })?;
        let rel = path
            .strip_prefix(h.root.trim_end_matches('/'))
            .unwrap_or(path);
        let procs = join_inner(&h.mountpoint, rel).join("cgroup.procs");
        std::fs::write(procs, std::process::id().to_string()).ok()
    })();
}

/// Compute the container's cgroup directories (runc's cgroupfs rules).
pub fn resolve(
    layout: &Layout,
    own: &[(String, String)],
    cgroups_path: Option<&Path>,
    id: &str,
) -> CgroupPaths {
    let spec_path = cgroups_path
        .map(|p| p.to_string_lossy().into_owned())
        .filter(|p| !p.is_empty());
    // `slice:prefix:name` is the systemd form; with the cgroupfs driver use it as a name.
    let spec_path = spec_path.map(|p| {
        if !p.starts_with('/') && p.matches(':').count() == 2 {
            p.replace(':', "-")
        } else {
            p
        }
    });
    let inner_for = |ctrls: &str, root: &str| -> String {
        let relative = match &spec_path {
            Some(p) if p.starts_with('/') => return p.clone(),
            Some(p) => p.clone(),
            None => id.to_string(),
        };
        let own_path = own
            .iter()
            .find(|(c, _)| {
                c == ctrls
                    || c.split(',')
                        .any(|x| ctrls.split(',').any(|y| x == y) && !x.is_empty())
            })
            .map(|(_, p)| p.clone())
            .unwrap_or_else(|| "/".to_string());
        // Our own cgroup is given relative to the hierarchy root; the mount may show a
        // sub-tree (in a cgroup namespace), so strip the mount's root.
        let own_rel = own_path
            .strip_prefix(root.trim_end_matches('/'))
            .unwrap_or(&own_path);
        format!("{own_rel}/{relative}")
    };
    let mut paths = CgroupPaths::default();
    for h in &layout.v1 {
        let name = h.controllers.join(",");
        let inner = inner_for(&name, &h.root);
        paths.v1.push((name, join_inner(&h.mountpoint, &inner)));
    }
    if let Some(h) = &layout.v2 {
        let inner = inner_for("", &h.root);
        paths.v2 = Some(join_inner(&h.mountpoint, &inner));
    }
    paths.pure_v2 = layout.is_pure_v2();
    paths
}

/// Record which parent directories do not exist yet (and so will be quai's to remove).
/// Call before [`prepare`], and record the paths before creating anything.
pub fn note_created_parents(paths: &mut CgroupPaths) {
    if paths.systemd_unit.is_some() {
        return;
    }
    let dirs: Vec<PathBuf> = paths
        .v1
        .iter()
        .map(|(_, d)| d.clone())
        .chain(paths.v2.clone())
        .collect();
    for d in &dirs {
        let mut p = d.parent();
        while let Some(parent) = p {
            if parent.exists() || paths.created_parents.iter().any(|c| c == parent) {
                break;
            }
            paths.created_parents.push(parent.to_path_buf());
            p = parent.parent();
        }
    }
    // Deepest first, so removal can go in order.
    paths
        .created_parents
        .sort_by_key(|p| std::cmp::Reverse(p.components().count()));
}

/// Create the container's cgroups and apply `resources` (no process is placed yet).
pub fn prepare(
    paths: &CgroupPaths,
    resources: Option<&LinuxResources>,
    devices: &[oci_spec::runtime::LinuxDevice],
) -> Result<()> {
    // systemd makes the scope around the init: limits are written then ([`place`]).
    if paths.systemd_unit.is_some() {
        return Ok(());
    }
    for (ctrls, dir) in &paths.v1 {
        v1::create(ctrls, dir)?;
    }
    if let Some(dir) = &paths.v2 {
        v2::create(dir, paths.pure_v2)?;
    }
    apply_all(paths, resources, devices)
}

/// Put the container's init in its cgroups: [`add_pid`], or under the systemd driver a
/// new scope around it, whose limits are written now.
pub fn place(
    paths: &CgroupPaths,
    pid: i32,
    resources: Option<&LinuxResources>,
    devices: &[oci_spec::runtime::LinuxDevice],
) -> Result<()> {
    if paths.systemd_unit.is_none() {
        return add_pid(paths, pid);
    }
    systemd::start(paths, pid, resources)?;
    apply_all(paths, resources, devices)
}

fn apply_all(
    paths: &CgroupPaths,
    resources: Option<&LinuxResources>,
    devices: &[oci_spec::runtime::LinuxDevice],
) -> Result<()> {
    if let Some(r) = resources {
        for (ctrls, dir) in &paths.v1 {
            v1::apply(ctrls, dir, r)?;
        }
        if let Some(dir) = &paths.v2 {
            v2::apply(dir, r, paths.pure_v2)?;
        }
    }
    let spec_rules = resources
        .and_then(|r| r.devices().as_deref())
        .unwrap_or(&[]);
    // v1's devices controller where it is mounted (hybrid hosts keep using it); otherwise
    // the v2 cgroup gets an eBPF filter with the same rules.
    if let Some((_, dir)) = paths
        .v1
        .iter()
        .find(|(c, _)| c.split(',').any(|x| x == "devices"))
    {
        v1::apply_devices(dir, &devices::rules(spec_rules, devices)?)?;
    } else if let Some(dir) = &paths.v2 {
        match devices_bpf::apply(dir, &devices::rules(spec_rules, devices)?) {
            // A runtime in a user namespace (rootless) is refused bpf(2). Its containers
            // cannot mknod device nodes, and the nodes they get are the spec's, which
            // the rules allow anyway; runc skips there too.
            Err(Error::Sys {
                source: nix::errno::Errno::EPERM,
                ..
            }) if crate::userns::in_child_userns() => eprintln!(
                "quai-runtime: warning: device rules not enforced on {}: bpf(2) is not permitted in a user namespace",
                dir.display()
            ),
            r => r?,
        }
    }
    Ok(())
}

/// Whether `r` limits anything (beyond device rules, which a cgroup-less rootless
/// container does without: it cannot make device nodes).
pub fn has_limits(r: &LinuxResources) -> bool {
    r.memory().is_some()
        || r.cpu().is_some()
        || r.pids().is_some()
        || r.block_io().is_some()
        || r.hugepage_limits().as_ref().is_some_and(|h| !h.is_empty())
        || r.network().is_some()
        || r.rdma().as_ref().is_some_and(|m| !m.is_empty())
        || r.unified().as_ref().is_some_and(|m| !m.is_empty())
}

/// Whether this process may create every directory of `paths` (the nearest existing
/// ancestor of each is writable to it): false for a rootless user without delegation.
pub fn writable(paths: &CgroupPaths) -> bool {
    paths
        .v1
        .iter()
        .map(|(_, d)| d.as_path())
        .chain(paths.v2.as_deref())
        .all(|d| {
            let existing = d.ancestors().find(|a| a.exists());
            existing.is_some_and(|a| {
                nix::unistd::access(a, nix::unistd::AccessFlags::W_OK).is_ok()
                    && !nix::sys::statvfs::statvfs(a)
                        .is_ok_and(|s| s.flags().contains(nix::sys::statvfs::FsFlags::ST_RDONLY))
            })
        })
}

/// Write new limits to a container's existing cgroups (`update`): the same files as at
/// creation, devices aside.
pub fn update(paths: &CgroupPaths, r: &LinuxResources) -> Result<()> {
    for (ctrls, dir) in &paths.v1 {
        v1::apply(ctrls, dir, r)?;
    }
    if let Some(dir) = &paths.v2 {
        v2::apply(dir, r, paths.pure_v2)?;
    }
    Ok(())
}

/// Put `pid` into every hierarchy.
pub fn add_pid(paths: &CgroupPaths, pid: i32) -> Result<()> {
    for (_, dir) in &paths.v1 {
        write(dir, "cgroup.procs", &pid.to_string())?;
    }
    if let Some(dir) = &paths.v2 {
        write(dir, "cgroup.procs", &pid.to_string())?;
    }
    Ok(())
}

/// Pids of all processes in the container's cgroup.
pub fn pids(paths: &CgroupPaths) -> Result<Vec<i32>> {
    let dir = primary_dir(paths)?;
    let f = dir.join("cgroup.procs");
    let s = std::fs::read_to_string(&f).ctx("read", &f)?;
    Ok(s.lines().filter_map(|l| l.trim().parse().ok()).collect())
}

fn primary_dir(paths: &CgroupPaths) -> Result<&Path> {
    let pick = |name: &str| {
        paths
            .v1
            .iter()
            .find(|(c, _)| c.split(',').any(|x| x == name))
            .map(|(_, d)| d.as_path())
    };
    pick("pids")
        .or_else(|| pick("freezer"))
        .or_else(|| pick("memory"))
        .or_else(|| paths.v1.first().map(|(_, d)| d.as_path()))
        .or(paths.v2.as_deref())
        .ok_or_else(|| Error::Invalid("container has no cgroup".into()))
}

/// Freeze (`true`) or thaw the container and wait until the kernel says it is done.
pub fn set_frozen(paths: &CgroupPaths, frozen: bool) -> Result<()> {
    if let Some((_, dir)) = paths
        .v1
        .iter()
        .find(|(c, _)| c.split(',').any(|x| x == "freezer"))
    {
        let want = if frozen { "FROZEN" } else { "THAWED" };
        for i in 0..2000 {
            write(dir, "freezer.state", want)?;
            let now = read(dir, "freezer.state")?;
            if now.trim() == want {
                return Ok(());
            }
            std::thread::sleep(Duration::from_micros(100 + 10 * i));
        }
        return Err(Error::Invalid(format!(
            "{}: freezer did not reach {want}",
            dir.display()
        )));
    }
    if let Some(dir) = &paths.v2 {
        if paths.pure_v2 || dir.join("cgroup.freeze").exists() {
            write(dir, "cgroup.freeze", if frozen { "1" } else { "0" })?;
            let want = if frozen { "frozen 1" } else { "frozen 0" };
            for i in 0..2000 {
                if read(dir, "cgroup.events")?.lines().any(|l| l == want) {
                    return Ok(());
                }
                std::thread::sleep(Duration::from_micros(100 + 10 * i));
            }
            return Err(Error::Invalid(format!(
                "{}: cgroup did not reach {want}",
                dir.display()
            )));
        }
    }
    Err(Error::Invalid("no freezer cgroup: cannot pause".into()))
}

/// Whether the container's cgroup is frozen.
pub fn is_frozen(paths: &CgroupPaths) -> bool {
    if let Some((_, dir)) = paths
        .v1
        .iter()
        .find(|(c, _)| c.split(',').any(|x| x == "freezer"))
    {
        return read(dir, "freezer.state").is_ok_and(|s| s.trim() == "FROZEN");
    }
    if let Some(dir) = &paths.v2 {
        return read(dir, "cgroup.freeze").is_ok_and(|s| s.trim() == "1");
    }
    false
}

/// Remove the container's cgroup directories, waiting briefly for dying tasks.
/// Keeps going on errors and reports all of them.
pub fn destroy(paths: &CgroupPaths) -> Result<()> {
    if paths.systemd_unit.is_some() {
        // systemd removes the scope's directory with the unit.
        return systemd::stop(paths);
    }
    let mut errors = Vec::new();
    let dirs = paths
        .v1
        .iter()
        .map(|(_, d)| d.as_path())
        .chain(paths.v2.as_deref());
    for dir in dirs {
        let mut last = None;
        for i in 0..200 {
            match std::fs::remove_dir(dir) {
                Ok(()) => {
                    last = None;
                    break;
                }
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    last = None;
                    break;
                }
                Err(e) => {
                    last = Some(e);
                    std::thread::sleep(Duration::from_micros(200 + 50 * i));
                }
            }
        }
        if let Some(e) = last {
            errors.push(format!("remove {}: {e}", dir.display()));
        }
    }
    for p in &paths.created_parents {
        match std::fs::remove_dir(p) {
            Ok(()) => {}
            // Shared with another container, or already gone: not ours to force.
            Err(e)
                if matches!(
                    e.raw_os_error(),
                    Some(libc::ENOENT) | Some(libc::ENOTEMPTY) | Some(libc::EBUSY)
                ) => {}
            Err(e) => errors.push(format!("remove {}: {e}", p.display())),
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(Error::Invalid(errors.join("; ")))
    }
}

pub(crate) fn write(dir: &Path, file: &str, value: &str) -> Result<()> {
    let p = dir.join(file);
    std::fs::write(&p, value)
        .map_err(|e| Error::Invalid(format!("write {value:?} to {}: {e}", p.display())))
}

pub(crate) fn read(dir: &Path, file: &str) -> Result<String> {
    let p = dir.join(file);
    std::fs::read_to_string(&p).ctx("read", &p)
}

/// Statistics used by `ps`-like callers and tests: memory usage in bytes, if known.
pub fn memory_usage(paths: &CgroupPaths) -> Option<u64> {
    if let Some((_, d)) = paths
        .v1
        .iter()
        .find(|(c, _)| c.split(',').any(|x| x == "memory"))
    {
        return read(d, "memory.usage_in_bytes").ok()?.trim().parse().ok();
    }
    read(paths.v2.as_deref()?, "memory.current")
        .ok()?
        .trim()
        .parse()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    const HYBRID: &str = "\
25 1 254:1 / / rw,relatime shared:1 - ext4 /dev/vda1 rw
30 24 0:26 / /sys/fs/cgroup ro,nosuid,nodev,noexec shared:9 - tmpfs tmpfs ro,mode=755
31 30 0:27 / /sys/fs/cgroup/unified rw,nosuid,nodev,noexec,relatime shared:10 - cgroup2 cgroup2 rw,nsdelegate
33 30 0:29 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid,nodev,noexec,relatime shared:14 - cgroup cgroup rw,cpu,cpuacct
34 30 0:30 / /sys/fs/cgroup/memory rw,nosuid,nodev,noexec,relatime shared:15 - cgroup cgroup rw,memory
35 30 0:31 / /sys/fs/cgroup/systemd rw,nosuid,nodev,noexec,relatime shared:11 - cgroup cgroup rw,xattr,name=systemd
";

    #[test]
    fn warming_the_migration_lock_moves_nothing() {
        let before = std::fs::read_to_string("/proc/self/cgroup").expect("read");
        let t = std::time::Instant::now();
        warm_migration();
        let spent = t.elapsed();
        assert_eq!(
            std::fs::read_to_string("/proc/self/cgroup").expect("read"),
            before
        );
        // Done in a grace period or two, never hanging.
        assert!(spent < std::time::Duration::from_secs(2), "{spent:?}");
    }

    #[test]
    fn parses_hybrid_layout() {
        let l = Layout::parse(HYBRID);
        assert_eq!(l.v1.len(), 3);
        assert_eq!(l.v1[0].controllers, vec!["cpu", "cpuacct"]);
        assert_eq!(l.v1[2].controllers, vec!["name=systemd"]);
        assert_eq!(
            l.v2.as_ref().map(|h| h.mountpoint.clone()),
            Some("/sys/fs/cgroup/unified".into())
        );
        assert!(!l.is_pure_v2());
    }

    #[test]
    fn resolves_paths_like_runc() {
        let l = Layout::parse(HYBRID);
        let own = own_cgroups("4:memory:/user.slice\n3:cpu,cpuacct:/user.slice\n1:name=systemd:/user.slice/s\n0::/user.slice/s\n");
        let abs = resolve(&l, &own, Some(Path::new("/quai/c1")), "c1");
        assert_eq!(abs.v1[1].1, PathBuf::from("/sys/fs/cgroup/memory/quai/c1"));
        let rel = resolve(&l, &own, Some(Path::new("a/b")), "c1");
        assert_eq!(
            rel.v1[1].1,
            PathBuf::from("/sys/fs/cgroup/memory/user.slice/a/b")
        );
        assert_eq!(
            rel.v2,
            Some(PathBuf::from("/sys/fs/cgroup/unified/user.slice/s/a/b"))
        );
        let empty = resolve(&l, &own, None, "c1");
        assert_eq!(
            empty.v1[0].1,
            PathBuf::from("/sys/fs/cgroup/cpu,cpuacct/user.slice/c1")
        );
        let escape = resolve(&l, &own, Some(Path::new("/../../etc")), "c1");
        assert_eq!(escape.v1[1].1, PathBuf::from("/sys/fs/cgroup/memory/etc"));
    }
}
