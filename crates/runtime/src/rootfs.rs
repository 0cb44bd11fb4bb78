//! The container's root filesystem: mounts, devices, pivot_root, masked and read-only paths.
//!
//! Every mount target is resolved inside the rootfs with `openat2(RESOLVE_IN_ROOT)` and
//! mounted through `/proc/self/fd/N`, so a symlink in the image (or one swapped in by a
//! racing container process) cannot redirect a mount to the host (CVE-2021-30465 class).

use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Component, Path, PathBuf};

use nix::mount::{mount, umount2, MntFlags, MsFlags};
use oci_spec::runtime::{LinuxDevice, LinuxDeviceType, Mount, Spec};
use rustix::fs::{Mode, OFlags, ResolveFlags};

use crate::error::{Error, Result, SysContext};

/// Parsed mount options.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MountOptions {
    /// Flags for mount(2).
    pub flags: MsFlags,
    /// Propagation changes applied after the mount.
    pub propagation: Vec<MsFlags>,
    /// Filesystem-specific data (`mode=755,size=64k`).
    pub data: Vec<String>,
    /// A bind mount (`bind` or `rbind`).
    pub bind: bool,
}

/// Turn `["nosuid","rbind","mode=755"]` into flags and data.
pub fn parse_options(opts: &[String]) -> MountOptions {
    let mut o = MountOptions {
        flags: MsFlags::empty(),
        propagation: vec![],
        data: vec![],
        bind: false,
    };
    for opt in opts {
        let (set, clear): (MsFlags, MsFlags) = match opt.as_str() {
            "ro" => (MsFlags::MS_RDONLY, MsFlags::empty()),
            "rw" => (MsFlags::empty(), MsFlags::MS_RDONLY),
            "nosuid" => (MsFlags::MS_NOSUID, MsFlags::empty()),
            "suid" => (MsFlags::empty(), MsFlags::MS_NOSUID),
            "nodev" => (MsFlags::MS_NODEV, MsFlags::empty()),
            "dev" => (MsFlags::empty(), MsFlags::MS_NODEV),
            "noexec" => (MsFlags::MS_NOEXEC, MsFlags::empty()),
            "exec" => (MsFlags::empty(), MsFlags::MS_NOEXEC),
            "sync" => (MsFlags::MS_SYNCHRONOUS, MsFlags::empty()),
            "async" => (MsFlags::empty(), MsFlags::MS_SYNCHRONOUS),
            "dirsync" => (MsFlags::MS_DIRSYNC, MsFlags::empty()),
            "remount" => (MsFlags::MS_REMOUNT, MsFlags::empty()),
            "mand" => (MsFlags::MS_MANDLOCK, MsFlags::empty()),
            "nomand" => (MsFlags::empty(), MsFlags::MS_MANDLOCK),
            "noatime" => (MsFlags::MS_NOATIME, MsFlags::empty()),
            "atime" => (MsFlags::empty(), MsFlags::MS_NOATIME),
            "nodiratime" => (MsFlags::MS_NODIRATIME, MsFlags::empty()),
            "diratime" => (MsFlags::empty(), MsFlags::MS_NODIRATIME),
            "relatime" => (MsFlags::MS_RELATIME, MsFlags::empty()),
            "norelatime" => (MsFlags::empty(), MsFlags::MS_RELATIME),
            "strictatime" => (MsFlags::MS_STRICTATIME, MsFlags::empty()),
            "nostrictatime" => (MsFlags::empty(), MsFlags::MS_STRICTATIME),
            "silent" => (MsFlags::MS_SILENT, MsFlags::empty()),
            "loud" => (MsFlags::empty(), MsFlags::MS_SILENT),
            "lazytime" => (MsFlags::MS_LAZYTIME, MsFlags::empty()),
            "nolazytime" => (MsFlags::empty(), MsFlags::MS_LAZYTIME),
            "nosymfollow" => (MsFlags::from_bits_retain(0x100), MsFlags::empty()),
            "bind" => {
                o.bind = true;
                (MsFlags::MS_BIND, MsFlags::empty())
            }
            "rbind" => {
                o.bind = true;
                (MsFlags::MS_BIND | MsFlags::MS_REC, MsFlags::empty())
            }
            "private" => (prop(&mut o, MsFlags::MS_PRIVATE), MsFlags::empty()),
            "rprivate" => (
                prop(&mut o, MsFlags::MS_PRIVATE | MsFlags::MS_REC),
                MsFlags::empty(),
            ),
            "shared" => (prop(&mut o, MsFlags::MS_SHARED), MsFlags::empty()),
            "rshared" => (
                prop(&mut o, MsFlags::MS_SHARED | MsFlags::MS_REC),
                MsFlags::empty(),
            ),
            "slave" => (prop(&mut o, MsFlags::MS_SLAVE), MsFlags::empty()),
            "rslave" => (
                prop(&mut o, MsFlags::MS_SLAVE | MsFlags::MS_REC),
                MsFlags::empty(),
            ),
            "unbindable" => (prop(&mut o, MsFlags::MS_UNBINDABLE), MsFlags::empty()),
            "runbindable" => (
                prop(&mut o, MsFlags::MS_UNBINDABLE | MsFlags::MS_REC),
                MsFlags::empty(),
            ),
            // Options for other runtimes' extensions that have no effect here.
            // (idmap and ridmap are refused when the config is validated.)
            "tmpcopyup" | "idmap" | "ridmap" | "copy-symlink" | "defaults" => {
                (MsFlags::empty(), MsFlags::empty())
            }
            other => {
                o.data.push(other.to_string());
                (MsFlags::empty(), MsFlags::empty())
            }
        };
        o.flags |= set;
        o.flags &= !clear;
    }
    o
}

fn prop(o: &mut MountOptions, f: MsFlags) -> MsFlags {
    o.propagation.push(f);
    MsFlags::empty()
}

/// Parse `rootfsPropagation`.
pub fn parse_propagation(p: &str) -> Result<MsFlags> {
    Ok(match p {
        "shared" => MsFlags::MS_SHARED,
        "rshared" => MsFlags::MS_SHARED | MsFlags::MS_REC,
        "slave" => MsFlags::MS_SLAVE,
        "rslave" => MsFlags::MS_SLAVE | MsFlags::MS_REC,
        "private" => MsFlags::MS_PRIVATE,
        "rprivate" => MsFlags::MS_PRIVATE | MsFlags::MS_REC,
        "unbindable" => MsFlags::MS_UNBINDABLE,
        "runbindable" => MsFlags::MS_UNBINDABLE | MsFlags::MS_REC,
        other => {
            return Err(Error::Invalid(format!(
                "invalid rootfsPropagation {other:?}"
            )))
        }
    })
}

/// A path relative to the rootfs: absolute container paths lose their leading `/`, and
/// `..` cannot climb above the root.
pub fn relative_in_root(p: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            Component::Normal(n) => out.push(n),
            Component::ParentDir => {
                out.pop();
            }
            _ => {}
        }
    }
    out
}

const RESOLVE: ResolveFlags = ResolveFlags::IN_ROOT.union(ResolveFlags::NO_MAGICLINKS);

/// Open `rel` inside `root` (O_PATH), creating missing parents as directories and the last
/// component as a directory (`dir`) or an empty file. A dangling symlink on the way is
/// followed inside the root and its target created there.
pub fn open_or_create(root: &OwnedFd, rel: &Path, dir: bool) -> Result<OwnedFd> {
    open_or_create_depth(root, rel, dir, 0)
}

fn errno(e: rustix::io::Errno) -> nix::errno::Errno {
    nix::errno::Errno::from_raw(e.raw_os_error())
}

fn open_or_create_depth(root: &OwnedFd, rel: &Path, dir: bool, depth: u32) -> Result<OwnedFd> {
    let fail = |op: &'static str, e: rustix::io::Errno| Error::sys(op, rel.display(), errno(e));
    if depth > 40 {
        return Err(Error::sys(
            "resolve",
            rel.display(),
            nix::errno::Errno::ELOOP,
        ));
    }
    let open = |p: &Path| {
        let p = if p.as_os_str().is_empty() {
            Path::new(".")
        } else {
            p
        };
        rustix::fs::openat2(
            root.as_fd(),
            p,
            OFlags::PATH | OFlags::CLOEXEC,
            Mode::empty(),
            RESOLVE,
        )
    };
    match open(rel) {
        Ok(fd) => return Ok(fd),
        Err(rustix::io::Errno::NOENT) => {}
        Err(e) => return Err(fail("open", e)),
    }
    let comps: Vec<_> = rel.components().collect();
    let mut cur = PathBuf::new();
    let mut parent = open(Path::new(".")).map_err(|e| fail("open root", e))?;
    for (i, c) in comps.iter().enumerate() {
        let last = i + 1 == comps.len();
        let prev = cur.clone();
        cur.push(c);
        match open(&cur) {
            Ok(fd) => {
                parent = fd;
                continue;
            }
            Err(rustix::io::Errno::NOENT) => {}
            Err(e) => return Err(fail("open", e)),
        }
        let name = c.as_os_str();
        let pdir = rustix::fs::openat(
            &parent,
            ".",
            OFlags::DIRECTORY | OFlags::CLOEXEC | OFlags::RDONLY,
            Mode::empty(),
        )
        .map_err(|e| fail("open parent", e))?;
        // A dangling symlink: create its target, taken inside the root.
        if let Ok(target) = rustix::fs::readlinkat(&pdir, name, Vec::new()) {
            let target = PathBuf::from(std::ffi::OsStr::from_bytes(target.as_bytes()));
            let inner = if target.is_absolute() {
                relative_in_root(&target)
            } else {
                relative_in_root(&prev.join(target))
            };
            let rest: PathBuf = comps[i + 1..].iter().collect();
            return open_or_create_depth(root, &inner.join(rest), dir, depth + 1);
        }
        if last && !dir {
            match rustix::fs::openat(
                &pdir,
                name,
                OFlags::CREATE | OFlags::EXCL | OFlags::WRONLY | OFlags::CLOEXEC | OFlags::NOFOLLOW,
                Mode::from_raw_mode(0o644),
            ) {
                Ok(_) | Err(rustix::io::Errno::EXIST) => {}
                Err(e) => return Err(fail("create file", e)),
            }
        } else {
            match rustix::fs::mkdirat(&pdir, name, Mode::from_raw_mode(0o755)) {
                Ok(()) | Err(rustix::io::Errno::EXIST) => {}
                Err(e) => return Err(fail("create directory", e)),
            }
        }
        parent = open(&cur).map_err(|e| fail("open", e))?;
    }
    Ok(parent)
}

/// [`open_or_create`] a directory and open it for `*at` calls (an O_PATH fd cannot create).
pub fn open_dir_in_root(root: &OwnedFd, rel: &Path) -> Result<OwnedFd> {
    let p = open_or_create(root, rel, true)?;
    rustix::fs::openat(
        &p,
        ".",
        OFlags::DIRECTORY | OFlags::CLOEXEC | OFlags::RDONLY,
        Mode::empty(),
    )
    .map_err(|e| Error::sys("open", rel.display(), errno(e)))
}

fn fd_path(fd: &OwnedFd) -> String {
    format!("/proc/self/fd/{}", fd.as_raw_fd())
}

/// Mount flags of the mount holding `path` (locked flags must be kept on remount).
fn current_flags(path: &str) -> MsFlags {
    match nix::sys::statvfs::statvfs(path) {
        Ok(s) => {
            use nix::sys::statvfs::FsFlags as F;
            let f = s.flags();
            let mut m = MsFlags::empty();
            for (a, b) in [
                (F::ST_NOSUID, MsFlags::MS_NOSUID),
                (F::ST_NODEV, MsFlags::MS_NODEV),
                (F::ST_NOEXEC, MsFlags::MS_NOEXEC),
                (F::ST_NOATIME, MsFlags::MS_NOATIME),
                (F::ST_NODIRATIME, MsFlags::MS_NODIRATIME),
                (F::ST_RELATIME, MsFlags::MS_RELATIME),
            ] {
                if f.contains(a) {
                    m |= b;
                }
            }
            m
        }
        Err(_) => MsFlags::empty(),
    }
}

/// Remount a bind mount with `flags`, keeping flags the kernel locked (user namespaces).
pub fn remount_bind(target: &str, flags: MsFlags) -> Result<()> {
    let base = MsFlags::MS_BIND
        | MsFlags::MS_REMOUNT
        | (flags & !(MsFlags::MS_BIND | MsFlags::MS_REC | MsFlags::MS_REMOUNT));
    match mount(None::<&str>, target, None::<&str>, base, None::<&str>) {
        Ok(()) => Ok(()),
        Err(nix::errno::Errno::EPERM) => {
            let with_locked = base | current_flags(target);
            mount(
                None::<&str>,
                target,
                None::<&str>,
                with_locked,
                None::<&str>,
            )
            .sys("remount", target)
        }
        Err(e) => Err(Error::sys("remount", target, e)),
    }
}

/// Context for mounting one container's filesystems.
pub struct MountCtx<'a> {
    /// The rootfs (absolute host path).
    pub rootfs: &'a Path,
    /// The bundle (relative bind sources are relative to it).
    pub bundle: &'a Path,
    /// An O_PATH fd of the rootfs.
    pub root_fd: OwnedFd,
    /// Whether the container has a new user namespace.
    pub userns: bool,
    /// Whether it has a new cgroup namespace.
    pub cgroupns: bool,
    /// The container's cgroups (for v1 bind mounts without a cgroup namespace).
    pub cgroups: &'a crate::cgroups::CgroupPaths,
    /// Idmapped mounts staged by the runtime before the fork (index among the mounts,
    /// what to bind instead of the source).
    pub idmapped: &'a [(usize, PathBuf)],
}

/// Prepare `/` and bind the rootfs onto itself (before the config's mounts).
pub fn prepare_root(spec: &Spec, rootfs: &Path) -> Result<()> {
    // Only a private request is applied now; shared or unbindable would make the rootfs
    // bind below fail (EINVAL), so those are set on the new root after pivot_root.
    let prop = match spec
        .linux()
        .as_ref()
        .and_then(|l| l.rootfs_propagation().as_deref())
    {
        Some(p) if p.ends_with("private") => parse_propagation(p)?,
        _ => MsFlags::MS_SLAVE | MsFlags::MS_REC,
    };
    mount(None::<&str>, "/", None::<&str>, prop, None::<&str>).sys("set propagation of", "/")?;
    make_parent_private(rootfs)?;
    mount(
        Some(rootfs),
        rootfs,
        None::<&str>,
        MsFlags::MS_BIND | MsFlags::MS_REC,
        None::<&str>,
    )
    .sys("bind mount rootfs", rootfs.display())?;
    Ok(())
}

/// pivot_root fails when the rootfs's parent mount is shared: make that mount private.
fn make_parent_private(rootfs: &Path) -> Result<()> {
    let mi = std::fs::read_to_string("/proc/self/mountinfo")
        .map_err(|e| Error::io("read", "/proc/self/mountinfo", e))?;
    let mut best: Option<(PathBuf, bool)> = None;
    for line in mi.lines() {
        let f: Vec<&str> = line.split(' ').collect();
        if f.len() < 7 {
            continue;
        }
        let mp = PathBuf::from(f[4].replace("\\040", " "));
        if rootfs.starts_with(&mp)
            && best
                .as_ref()
                .is_none_or(|(b, _)| mp.as_os_str().len() >= b.as_os_str().len())
        {
            let shared = f[6..]
                .iter()
                .take_while(|x| **x != "-")
                .any(|x| x.starts_with("shared:"));
            best = Some((mp, shared));
        }
    }
    if let Some((mp, true)) = best {
        mount(
            None::<&str>,
            &mp,
            None::<&str>,
            MsFlags::MS_PRIVATE,
            None::<&str>,
        )
        .sys("make private", mp.display())?;
    }
    Ok(())
}

/// Mount every entry of `spec.mounts` in order.
pub fn mount_all(ctx: &MountCtx<'_>, spec: &Spec) -> Result<()> {
    for (i, m) in spec.mounts().iter().flatten().enumerate() {
        mount_one(ctx, i, m).map_err(|e| match e {
            Error::Sys { op, object, source } => Error::Sys {
                op,
                object: format!(
                    "{object} (mount {} on {})",
                    m.source().as_deref().unwrap_or(Path::new("none")).display(),
                    m.destination().display()
                ),
                source,
            },
            e => e,
        })?;
    }
    Ok(())
}

fn mount_one(ctx: &MountCtx<'_>, index: usize, m: &Mount) -> Result<()> {
    let opts = parse_options(m.options().as_deref().unwrap_or(&[]));
    let typ = m.typ().as_deref().unwrap_or("");
    let rel = relative_in_root(m.destination());
    let data = opts.data.join(",");
    let data_opt = if data.is_empty() {
        None
    } else {
        Some(data.as_str())
    };
    if opts.bind || typ == "bind" {
        let src = m.source().clone().unwrap_or_default();
        let src = if src.is_relative() {
            ctx.bundle.join(src)
        } else {
            src
        };
        let is_dir = std::fs::metadata(&src)
            .map_err(|e| Error::io("stat bind source", &src, e))?
            .is_dir();
        let target = open_or_create(&ctx.root_fd, &rel, is_dir)?;
        let flags = MsFlags::MS_BIND | (opts.flags & MsFlags::MS_REC);
        let src = match ctx.idmapped.iter().find(|(i, _)| *i == index) {
            Some((_, staged)) => staged.clone(),
            None => src,
        };
        mount(
            Some(&src),
            fd_path(&target).as_str(),
            None::<&str>,
            flags,
            None::<&str>,
        )
        .sys("bind mount", src.display())?;
        let mounted = open_or_create(&ctx.root_fd, &rel, is_dir)?;
        let extra = opts.flags & !(MsFlags::MS_BIND | MsFlags::MS_REC | MsFlags::MS_REMOUNT);
        if !extra.is_empty() {
            remount_bind(&fd_path(&mounted), opts.flags)?;
        }
        return apply_propagation(&mounted, &opts);
    }
    match typ {
        "cgroup" | "cgroup2" => return mount_cgroup(ctx, &rel, &opts, typ),
        _ => {}
    }
    let target = open_or_create(&ctx.root_fd, &rel, true)?;
    let source = m
        .source()
        .as_ref()
        .map(|p| p.to_string_lossy().into_owned())
        .unwrap_or_else(|| typ.to_string());
    let flags = opts.flags & !MsFlags::MS_REMOUNT;
    let tp = fd_path(&target);
    let res = mount(
        Some(source.as_str()),
        tp.as_str(),
        Some(typ),
        flags,
        data_opt,
    );
    match res {
        Ok(()) => {}
        // Without a network namespace of its own, a user namespace may not mount sysfs;
        // nor mqueue without its own ipc namespace: bind the host's instead (as runc).
        Err(nix::errno::Errno::EPERM) if typ == "sysfs" || typ == "mqueue" => {
            let host = if typ == "sysfs" {
                "/sys"
            } else {
                "/dev/mqueue"
            };
            mount(
                Some(host),
                tp.as_str(),
                None::<&str>,
                MsFlags::MS_BIND | MsFlags::MS_REC,
                None::<&str>,
            )
            .sys("bind mount", host)?;
            let mounted = open_or_create(&ctx.root_fd, &rel, true)?;
            remount_bind(&fd_path(&mounted), flags)?;
        }
        // A user namespace that maps one id has no `tty` group: devpts without `gid=`
        // (as podman mounts it there).
        Err(nix::errno::Errno::EINVAL) if typ == "devpts" && data.contains("gid=") => {
            let kept: Vec<&str> = data.split(',').filter(|o| !o.starts_with("gid=")).collect();
            let kept = kept.join(",");
            mount(
                Some(source.as_str()),
                tp.as_str(),
                Some(typ),
                flags,
                Some(kept.as_str()),
            )
            .sys("mount devpts on", rel.display())?;
        }
        Err(e) => {
            return Err(Error::sys(
                "mount",
                format!("{typ} on {}", m.destination().display()),
                e,
            ))
        }
    }
    let mounted = open_or_create(&ctx.root_fd, &rel, true)?;
    apply_propagation(&mounted, &opts)
}

fn apply_propagation(target: &OwnedFd, opts: &MountOptions) -> Result<()> {
    for p in &opts.propagation {
        mount(
            None::<&str>,
            fd_path(target).as_str(),
            None::<&str>,
            *p,
            None::<&str>,
        )
        .sys("set propagation of", "mount")?;
    }
    Ok(())
}

/// `/sys/fs/cgroup`: cgroup2 on a v2 host; on v1 a tmpfs with one directory per hierarchy,
/// each a fresh cgroup mount in a cgroup namespace or a bind of the container's cgroup.
fn mount_cgroup(ctx: &MountCtx<'_>, rel: &Path, opts: &MountOptions, typ: &str) -> Result<()> {
    let flags = opts.flags & !(MsFlags::MS_REMOUNT | MsFlags::MS_BIND | MsFlags::MS_REC);
    let target = open_or_create(&ctx.root_fd, rel, true)?;
    let layout = crate::cgroups::Layout::detect()?;
    if layout.is_pure_v2() || typ == "cgroup2" {
        let res = mount(
            Some("cgroup2"),
            fd_path(&target).as_str(),
            Some("cgroup2"),
            flags,
            None::<&str>,
        );
        if res.is_err() {
            // Without a cgroup namespace the kernel may refuse in a user namespace.
            let src = ctx
                .cgroups
                .v2
                .clone()
                .unwrap_or_else(|| PathBuf::from("/sys/fs/cgroup"));
            mount(
                Some(&src),
                fd_path(&target).as_str(),
                None::<&str>,
                MsFlags::MS_BIND | MsFlags::MS_REC,
                None::<&str>,
            )
            .sys("bind mount", src.display())?;
            let mounted = open_or_create(&ctx.root_fd, rel, true)?;
            remount_bind(&fd_path(&mounted), flags)?;
        }
        return Ok(());
    }
    mount(
        Some("tmpfs"),
        fd_path(&target).as_str(),
        Some("tmpfs"),
        flags & !MsFlags::MS_RDONLY,
        Some("mode=755"),
    )
    .sys("mount tmpfs on", rel.display())?;
    for h in &layout.v1 {
        let name = h
            .mountpoint
            .file_name()
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from(h.controllers.join(",")));
        let sub = rel.join(&name);
        let dir = open_or_create(&ctx.root_fd, &sub, true)?;
        let dp = fd_path(&dir);
        let res = if ctx.cgroupns {
            let data = h.controllers.join(",");
            mount(
                Some("cgroup"),
                dp.as_str(),
                Some("cgroup"),
                flags,
                Some(data.as_str()),
            )
        } else {
            Err(nix::errno::Errno::EPERM)
        };
        if res.is_err() {
            let key = h.controllers.join(",");
            let src = ctx
                .cgroups
                .v1
                .iter()
                .find(|(c, _)| *c == key)
                .map(|(_, d)| d.clone())
                .unwrap_or_else(|| h.mountpoint.clone());
            mount(
                Some(&src),
                dp.as_str(),
                None::<&str>,
                MsFlags::MS_BIND | MsFlags::MS_REC,
                None::<&str>,
            )
            .sys("bind mount", src.display())?;
            let mounted = open_or_create(&ctx.root_fd, &sub, true)?;
            remount_bind(&fd_path(&mounted), flags)?;
        }
        // Co-mounted controllers get symlinks (cpu -> cpu,cpuacct), as on the host.
        let name_s = name.to_string_lossy().into_owned();
        if name_s.contains(',') {
            let pdir = open_dir_in_root(&ctx.root_fd, rel)?;
            for c in name_s.split(',') {
                let _ = rustix::fs::symlinkat(name_s.as_str(), &pdir, c);
            }
        }
    }
    if flags.contains(MsFlags::MS_RDONLY) {
        let mounted = open_or_create(&ctx.root_fd, rel, true)?;
        mount(
            None::<&str>,
            fd_path(&mounted).as_str(),
            None::<&str>,
            MsFlags::MS_REMOUNT | flags,
            Some("mode=755"),
        )
        .sys("remount ro", rel.display())?;
    }
    Ok(())
}

/// The devices the spec says every container gets.
const DEFAULT_DEVICES: &[(&str, u64, u64)] = &[
    ("null", 1, 3),
    ("zero", 1, 5),
    ("full", 1, 7),
    ("random", 1, 8),
    ("urandom", 1, 9),
    ("tty", 5, 0),
];

/// Whether the config bind-mounts the host's /dev (then quai creates nothing there).
pub fn dev_is_bound(spec: &Spec) -> bool {
    spec.mounts().iter().flatten().any(|m| {
        relative_in_root(m.destination()) == Path::new("dev")
            && (m.typ().as_deref() == Some("bind")
                || m.options()
                    .iter()
                    .flatten()
                    .any(|o| o == "bind" || o == "rbind"))
    })
}

/// Create default and configured devices and the standard /dev symlinks.
pub fn create_devices(ctx: &MountCtx<'_>, devices: &[LinuxDevice]) -> Result<()> {
    let old = nix::sys::stat::umask(nix::sys::stat::Mode::empty());
    let res = (|| {
        for (name, maj, min) in DEFAULT_DEVICES {
            if devices
                .iter()
                .any(|d| relative_in_root(d.path()) == Path::new("dev").join(name))
            {
                continue;
            }
            make_device(
                ctx,
                &Path::new("dev").join(name),
                'c',
                *maj,
                *min,
                0o666,
                0,
                0,
            )?;
        }
        for d in devices {
            let t = match d.typ() {
                LinuxDeviceType::B => 'b',
                LinuxDeviceType::P => 'p',
                _ => 'c',
            };
            let mode = d.file_mode().unwrap_or(0o666);
            make_device(
                ctx,
                &relative_in_root(d.path()),
                t,
                d.major() as u64,
                d.minor() as u64,
                mode,
                d.uid().unwrap_or(0),
                d.gid().unwrap_or(0),
            )?;
        }
        let devdir = open_dir_in_root(&ctx.root_fd, Path::new("dev"))?;
        for (link, to) in [
            ("fd", "/proc/self/fd"),
            ("stdin", "/proc/self/fd/0"),
            ("stdout", "/proc/self/fd/1"),
            ("stderr", "/proc/self/fd/2"),
            ("ptmx", "pts/ptmx"),
        ] {
            match rustix::fs::symlinkat(to, &devdir, link) {
                Ok(()) | Err(rustix::io::Errno::EXIST) => {}
                Err(e) => {
                    return Err(Error::sys(
                        "symlink",
                        format!("/dev/{link}"),
                        nix::errno::Errno::from_raw(e.raw_os_error()),
                    ))
                }
            }
        }
        if Path::new("/proc/kcore").exists() {
            let _ = rustix::fs::symlinkat("/proc/kcore", &devdir, "core");
        }
        Ok(())
    })();
    nix::sys::stat::umask(old);
    res
}

#[allow(clippy::too_many_arguments)]
fn make_device(
    ctx: &MountCtx<'_>,
    rel: &Path,
    t: char,
    maj: u64,
    min: u64,
    mode: u32,
    uid: u32,
    gid: u32,
) -> Result<()> {
    let parent_rel = rel.parent().unwrap_or(Path::new(""));
    let name = rel
        .file_name()
        .ok_or_else(|| Error::Invalid(format!("bad device path {}", rel.display())))?;
    let pdir = open_dir_in_root(&ctx.root_fd, parent_rel)?;
    if ctx.userns {
        // mknod is not allowed in a user namespace: bind the host's node over an empty file.
        let host = Path::new("/").join(rel);
        let target = open_or_create(&ctx.root_fd, rel, false)?;
        return mount(
            Some(&host),
            fd_path(&target).as_str(),
            None::<&str>,
            MsFlags::MS_BIND,
            None::<&str>,
        )
        .sys("bind device", host.display());
    }
    let ftype = match t {
        'b' => rustix::fs::FileType::BlockDevice,
        'p' => rustix::fs::FileType::Fifo,
        _ => rustix::fs::FileType::CharacterDevice,
    };
    let dev = rustix::fs::makedev(maj as u32, min as u32);
    let _ = rustix::fs::unlinkat(&pdir, name, rustix::fs::AtFlags::empty());
    rustix::fs::mknodat(&pdir, name, ftype, Mode::from_raw_mode(mode & 0o7777), dev).map_err(
        |e| {
            Error::sys(
                "mknod",
                rel.display(),
                nix::errno::Errno::from_raw(e.raw_os_error()),
            )
        },
    )?;
    rustix::fs::chownat(
        &pdir,
        name,
        Some(rustix::fs::Uid::from_raw(uid)),
        Some(rustix::fs::Gid::from_raw(gid)),
        rustix::fs::AtFlags::SYMLINK_NOFOLLOW,
    )
    .map_err(|e| {
        Error::sys(
            "chown",
            rel.display(),
            nix::errno::Errno::from_raw(e.raw_os_error()),
        )
    })?;
    Ok(())
}

/// pivot_root into `rootfs` without a put_old directory (runc's trick), then detach the
/// old root.
pub fn pivot(rootfs: &Path) -> Result<()> {
    let old = nix::fcntl::open(
        "/",
        nix::fcntl::OFlag::O_DIRECTORY | nix::fcntl::OFlag::O_RDONLY | nix::fcntl::OFlag::O_CLOEXEC,
        nix::sys::stat::Mode::empty(),
    )
    .sys("open", "/")?;
    let new = nix::fcntl::open(
        rootfs,
        nix::fcntl::OFlag::O_DIRECTORY | nix::fcntl::OFlag::O_RDONLY | nix::fcntl::OFlag::O_CLOEXEC,
        nix::sys::stat::Mode::empty(),
    )
    .sys("open", rootfs.display())?;
    nix::unistd::fchdir(&new).sys("chdir", rootfs.display())?;
    nix::unistd::pivot_root(".", ".").sys("pivot_root", rootfs.display())?;
    nix::unistd::fchdir(&old).sys("chdir", "old root")?;
    // The old root must not propagate its unmount to the host.
    mount(
        None::<&str>,
        ".",
        None::<&str>,
        MsFlags::MS_SLAVE | MsFlags::MS_REC,
        None::<&str>,
    )
    .sys("make slave", "old root")?;
    umount2(".", MntFlags::MNT_DETACH).sys("unmount", "old root")?;
    nix::unistd::chdir("/").sys("chdir", "/")?;
    Ok(())
}

/// Without a mount namespace: chroot (nothing is mounted).
pub fn chroot(rootfs: &Path) -> Result<()> {
    nix::unistd::chroot(rootfs).sys("chroot", rootfs.display())?;
    nix::unistd::chdir("/").sys("chdir", "/")
}

/// Hide `paths` (after pivot_root): /dev/null over files, an empty read-only tmpfs over dirs.
pub fn mask_paths(paths: &[String]) -> Result<()> {
    for p in paths {
        let meta = match std::fs::metadata(p) {
            Ok(m) => m,
            Err(_) => continue,
        };
        let res = if meta.is_dir() {
            mount(
                Some("tmpfs"),
                p.as_str(),
                Some("tmpfs"),
                MsFlags::MS_RDONLY,
                None::<&str>,
            )
        } else {
            mount(
                Some("/dev/null"),
                p.as_str(),
                None::<&str>,
                MsFlags::MS_BIND,
                None::<&str>,
            )
        };
        res.sys("mask", p)?;
    }
    Ok(())
}

/// Make `paths` read-only (after pivot_root).
pub fn readonly_paths(paths: &[String]) -> Result<()> {
    for p in paths {
        if std::fs::symlink_metadata(p).is_err() {
            continue;
        }
        mount(
            Some(p.as_str()),
            p.as_str(),
            None::<&str>,
            MsFlags::MS_BIND | MsFlags::MS_REC,
            None::<&str>,
        )
        .sys("bind", p)?;
        remount_bind(p, MsFlags::MS_RDONLY | MsFlags::MS_REC)?;
    }
    Ok(())
}

/// Remount `/` read-only.
pub fn readonly_root() -> Result<()> {
    remount_bind("/", MsFlags::MS_RDONLY)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn options() {
        let o = parse_options(&s(&[
            "nosuid", "rbind", "ro", "mode=755", "rslave", "size=1k",
        ]));
        assert!(o.bind);
        assert_eq!(
            o.flags,
            MsFlags::MS_NOSUID | MsFlags::MS_BIND | MsFlags::MS_REC | MsFlags::MS_RDONLY
        );
        assert_eq!(o.propagation, vec![MsFlags::MS_SLAVE | MsFlags::MS_REC]);
        assert_eq!(o.data, s(&["mode=755", "size=1k"]));
        let o = parse_options(&s(&["ro", "rw"]));
        assert_eq!(o.flags, MsFlags::empty());
    }

    #[test]
    fn dotdot_cannot_climb() {
        assert_eq!(
            relative_in_root(Path::new("/../../etc/passwd")),
            PathBuf::from("etc/passwd")
        );
        assert_eq!(relative_in_root(Path::new("/a/../b")), PathBuf::from("b"));
    }

    #[test]
    fn symlinks_resolve_inside_the_root() {
        let tmp = tempfile::tempdir().expect("tmp");
        let root = tmp.path().join("root");
        let outside = tmp.path().join("outside");
        std::fs::create_dir_all(&root).expect("mkdir");
        std::fs::create_dir_all(&outside).expect("mkdir");
        std::os::unix::fs::symlink(&outside, root.join("evil")).expect("symlink");
        let root_fd = rustix::fs::open(
            &root,
            OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .expect("open");
        open_or_create(&root_fd, Path::new("evil/x/y"), true).expect("create");
        assert!(!outside.join("x").exists(), "escaped through the symlink");
        // The absolute link target was re-rooted: the dirs were made under root/<outside>.
        assert!(root
            .join(outside.strip_prefix("/").expect("abs"))
            .join("x/y")
            .is_dir());
    }
}
