//! Work on a container's mounted root filesystem (done by the monitor, in its private
//! mount namespace): the overlay mount, user lookup in the image's `/etc/passwd`, the
//! working directory, `/etc/hosts` and friends, and filling a new volume from the image.
//! Paths inside the root are resolved with `openat2(RESOLVE_IN_ROOT)`: a symlink in the
//! image cannot point the engine at the host.

use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use rustix::fs::{Mode, OFlags, ResolveFlags};

use crate::spec::User;
use crate::{Error, Result};

/// The mount namespace this process had before [`private_mount_namespace`]: long-lived
/// helpers it starts (a network's DNS server) go back to it, so they never hold the
/// container's mounts alive.
pub static HOST_MOUNT_NS: std::sync::OnceLock<std::os::fd::OwnedFd> = std::sync::OnceLock::new();

/// Move this process into a mount namespace of its own whose mounts stay private (host
/// mounts still propagate in): what it mounts there vanishes with it.
pub fn private_mount_namespace() -> Result<()> {
    private_mount_namespace_from(None)
}

/// [`private_mount_namespace`], made as a copy of the mount namespace of process `base`
/// (another container's monitor: what it mounted in its own, its shareable `/dev/shm`,
/// is then here too) instead of ours. Single-threaded callers only (setns and unshare of
/// a mount namespace refuse threads sharing the filesystem context).
pub fn private_mount_namespace_from(base: Option<i32>) -> Result<()> {
    if let Ok(f) = std::fs::File::open("/proc/self/ns/mnt") {
        let _ = HOST_MOUNT_NS.set(f.into());
    }
    if let Some(pid) = base {
        let p = format!("/proc/{pid}/ns/mnt");
        let f = std::fs::File::open(&p).map_err(|e| Error::io("open", &p, e))?;
        nix::sched::setns(&f, nix::sched::CloneFlags::CLONE_NEWNS)
            .map_err(|e| Error::io("join mount namespace", &p, e.into()))?;
    }
    nix::sched::unshare(nix::sched::CloneFlags::CLONE_NEWNS)
        .map_err(|e| Error::io("unshare", "mount namespace", e.into()))?;
    nix::mount::mount(
        None::<&str>,
        "/",
        None::<&str>,
        nix::mount::MsFlags::MS_REC | nix::mount::MsFlags::MS_SLAVE,
        None::<&str>,
    )
    .map_err(|e| Error::io("make rslave", "/", e.into()))
}

/// Mount the overlay described by `m` on `target`.
pub fn mount_overlay(m: &image::store::MountSpec, target: &Path) -> Result<()> {
    std::fs::create_dir_all(target).map_err(|e| Error::io("create", target, e))?;
    nix::mount::mount(
        Some(m.source.as_str()),
        target,
        Some(m.fstype.as_str()),
        nix::mount::MsFlags::empty(),
        Some(m.options.as_str()),
    )
    .map_err(|e| Error::io("mount overlay on", target, e.into()))
}

/// The marker of a container whose root is a copy (rootless without overlayfs).
pub const COPY_MARKER: &str = "rootfs-copy";

/// A rootless container's root (docs/adr/026): overlayfs in the user namespace (Linux
/// 5.11+), else fuse-overlayfs where /dev/fuse is the user's to open, else a copy of the
/// image's files in the container's upper directory, made at its first start and bound
/// on `target` (its changes then cannot be told apart: diff, export and commit refuse).
/// `QUAI_ROOTLESS_STORAGE` (`overlay`, `fuse-overlayfs`, `copy`) forces one. Returns the
/// one used.
pub fn mount_rootless(
    m: &image::store::MountSpec,
    target: &Path,
    dir: &Path,
) -> Result<&'static str> {
    let want = std::env::var("QUAI_ROOTLESS_STORAGE").unwrap_or_default();
    if !matches!(want.as_str(), "" | "overlay" | "fuse-overlayfs" | "copy") {
        return Err(Error::Invalid(format!(
            "QUAI_ROOTLESS_STORAGE={want}: overlay, fuse-overlayfs or copy"
        )));
    }
    let mut why = Vec::new();
    if dir.join(COPY_MARKER).exists() && want.is_empty() {
        // Made as a copy once: it stays one (its files are in the upper directory).
        return mount_copy(m, target, dir);
    }
    if want.is_empty() || want == "overlay" {
        match mount_overlay(m, target) {
            Ok(()) => return Ok("overlay"),
            Err(e) if want == "overlay" => return Err(e),
            Err(e) => why.push(e.to_string()),
        }
    }
    if want.is_empty() || want == "fuse-overlayfs" {
        match mount_fuse_overlayfs(m, target) {
            Ok(()) => return Ok("fuse-overlayfs"),
            Err(e) if want == "fuse-overlayfs" => return Err(e),
            Err(e) => why.push(e.to_string()),
        }
    }
    runtime::debug!("rootless storage: a copy ({})", why.join("; "));
    mount_copy(m, target, dir)
}

fn mount_fuse_overlayfs(m: &image::store::MountSpec, target: &Path) -> Result<()> {
    let prog = ["/usr/bin/fuse-overlayfs", "/bin/fuse-overlayfs"]
        .into_iter()
        .find(|p| Path::new(p).exists())
        .ok_or_else(|| Error::Invalid("fuse-overlayfs is not installed".into()))?;
    std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/fuse")
        .map_err(|e| Error::io("open", "/dev/fuse", e))?;
    std::fs::create_dir_all(target).map_err(|e| Error::io("create", target, e))?;
    let opts: Vec<&str> = m
        .options
        .split(',')
        .filter(|o| *o != "userxattr" && !o.starts_with("volatile"))
        .collect();
    crate::run_tool(
        std::process::Command::new(prog)
            .arg("-o")
            .arg(opts.join(","))
            .arg(target),
        "fuse-overlayfs",
    )
}

fn mount_copy(m: &image::store::MountSpec, target: &Path, dir: &Path) -> Result<&'static str> {
    let marker = dir.join(COPY_MARKER);
    if !marker.exists() {
        // The image's files, flattened, into the upper directory (once).
        let top_first: Vec<std::path::PathBuf> = m.lowers.iter().rev().cloned().collect();
        let (r, w) = std::io::pipe().map_err(|e| Error::io("pipe", "rootfs copy", e))?;
        let writer = std::thread::spawn(move || {
            image::flatten::write_flat(&top_first, std::io::BufWriter::new(w))
        });
        let unpacked = image::layer::unpack(r, &m.upper);
        let written = writer
            .join()
            .map_err(|_| Error::Invalid("rootfs copy: the writer panicked".into()))?;
        written.map_err(|e| Error::Invalid(format!("rootfs copy: {e}")))?;
        unpacked?;
        std::fs::write(&marker, b"").map_err(|e| Error::io("write", &marker, e))?;
    }
    std::fs::create_dir_all(target).map_err(|e| Error::io("create", target, e))?;
    nix::mount::mount(
        Some(&m.upper),
        target,
        None::<&str>,
        nix::mount::MsFlags::MS_BIND,
        None::<&str>,
    )
    .map_err(|e| Error::io("bind the copied root on", target, e.into()))?;
    Ok("copy")
}

/// [`mount_overlay`] for a container with a user namespace of its own: each layer and
/// the upper directory's parent are cloned as idmapped mounts (the container's mapping)
/// under `staging`, in this process's private mount namespace, and the overlay is made
/// of those (overlayfs takes idmapped layers, Linux 5.19+).
pub fn mount_overlay_idmapped(
    m: &image::store::MountSpec,
    target: &Path,
    staging: &Path,
    uid: &[crate::config::IdMap],
    gid: &[crate::config::IdMap],
) -> Result<()> {
    let conv = |v: &[crate::config::IdMap]| -> Vec<oci_spec::runtime::LinuxIdMapping> {
        v.iter()
            .filter_map(|x| {
                oci_spec::runtime::LinuxIdMappingBuilder::default()
                    .container_id(x.container_id)
                    .host_id(x.host_id)
                    .size(x.size)
                    .build()
                    .ok()
            })
            .collect()
    };
    let ns = runtime::idmap::userns_fd(&conv(uid), &conv(gid))?;
    let stage = |src: &Path, name: &str| -> Result<std::path::PathBuf> {
        let at = staging.join(name);
        std::fs::create_dir_all(&at).map_err(|e| Error::io("create", &at, e))?;
        let fd = runtime::idmap::clone_mapped(src, &ns, false)?;
        runtime::idmap::attach(&fd, &at.display().to_string())?;
        Ok(at)
    };
    let mut lowers = Vec::new();
    for (i, l) in m.lowers.iter().enumerate().rev() {
        lowers.push(stage(l, &format!("l{i}"))?.display().to_string());
    }
    let parent = m
        .upper
        .parent()
        .ok_or_else(|| Error::Invalid("the container's upper directory has no parent".into()))?;
    if m.work.parent() != Some(parent) {
        return Err(Error::Invalid(
            "upper and work directories differ in parent".into(),
        ));
    }
    let top = stage(parent, "top")?;
    let name = |p: &Path| {
        p.file_name()
            .map(|n| top.join(n).display().to_string())
            .unwrap_or_default()
    };
    let mut options = format!(
        "lowerdir={},upperdir={},workdir={}",
        lowers.join(":"),
        name(&m.upper),
        name(&m.work)
    );
    for extra in m
        .options
        .split(',')
        .filter(|o| o.starts_with("volatile") || *o == "userxattr")
    {
        options.push(',');
        options.push_str(extra);
    }
    let spec = image::store::MountSpec {
        options,
        ..m.clone()
    };
    // overlayfs works in its layers with the mounter's credentials, which must map
    // through the idmapped upper mount (EOVERFLOW, and a read-only overlay, otherwise):
    // mount as the container's root for the filesystem, capabilities kept.
    let root_of = |v: &[crate::config::IdMap]| {
        v.iter()
            .find(|x| x.container_id == 0)
            .or(v.first())
            .map(|x| x.host_id)
            .unwrap_or(0)
    };
    let (fsuid, fsgid) = (root_of(uid), root_of(gid));
    // SAFETY: setfsuid/setfsgid change this thread's filesystem ids only; they are
    // restored right after the mount.
    unsafe {
        libc::setfsgid(fsgid);
        libc::setfsuid(fsuid);
    }
    raise_effective_caps();
    let r = mount_overlay(&spec, target);
    // SAFETY: as above.
    unsafe {
        libc::setfsuid(0);
        libc::setfsgid(0);
    }
    raise_effective_caps();
    r
}

/// Put the permitted capabilities back into the effective set (a change of fsuid away
/// from 0 drops the filesystem ones).
fn raise_effective_caps() {
    if let Ok(permitted) = caps::read(None, caps::CapSet::Permitted) {
        let _ = caps::set(None, caps::CapSet::Effective, &permitted);
    }
}

/// Open `path` inside `root`, never leaving it.
pub fn open_in(root: &Path, path: &str, flags: OFlags) -> std::io::Result<OwnedFd> {
    let r = rustix::fs::open(
        root,
        OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )?;
    let rel = path.trim_start_matches('/');
    let rel = if rel.is_empty() { "." } else { rel };
    Ok(rustix::fs::openat2(
        &r,
        rel,
        flags | OFlags::CLOEXEC,
        Mode::empty(),
        ResolveFlags::IN_ROOT | ResolveFlags::NO_MAGICLINKS,
    )?)
}

/// `/proc/self/fd/N` of an fd, to hand an already-resolved object to path-based calls.
pub fn fd_path(fd: &impl AsFd) -> PathBuf {
    use std::os::fd::AsRawFd;
    PathBuf::from(format!("/proc/self/fd/{}", fd.as_fd().as_raw_fd()))
}

fn read_in(root: &Path, path: &str) -> Option<String> {
    read_file_in(root, path).ok()
}

/// The text of `path` inside `root`, never resolved out of it (links included).
pub fn read_file_in(root: &Path, path: &str) -> std::io::Result<String> {
    let fd = open_in(root, path, OFlags::RDONLY)?;
    std::fs::read_to_string(fd_path(&fd))
}

/// Resolve Docker's `-u` (`name`, `uid`, `uid:gid`, `name:group`) and `--group-add`
/// against the image's `/etc/passwd` and `/etc/group`.
pub fn resolve_user(root: &Path, user: &str, group_add: &[String]) -> Result<User> {
    let passwd = read_in(root, "etc/passwd").unwrap_or_default();
    let group = read_in(root, "etc/group").unwrap_or_default();
    let (u, g) = match user.split_once(':') {
        Some((u, g)) => (u, Some(g)),
        None => (user, None),
    };
    let u = if u.is_empty() { "0" } else { u };
    let entry = passwd.lines().find_map(|l| {
        let f: Vec<&str> = l.split(':').collect();
        if f.len() >= 7 && (f[0] == u || f[2] == u) {
            Some((
                f[0].to_string(),
                f[2].parse::<u32>().ok()?,
                f[3].parse::<u32>().ok()?,
                f[5].to_string(),
            ))
        } else {
            None
        }
    });
    let (name, uid, mut gid, home) = match (entry, u.parse::<u32>()) {
        (Some(e), _) => e,
        // A uid the image does not know runs with group 0, as under Docker.
        (None, Ok(n)) => (String::new(), n, 0, "/".to_string()),
        (None, Err(_)) => {
            return Err(Error::Start {
                code: 125,
                message: format!("unable to find user {u}: no matching entries in passwd file"),
            })
        }
    };
    let group_id = |g: &str| -> Result<u32> {
        if let Ok(n) = g.parse() {
            return Ok(n);
        }
        group
            .lines()
            .find_map(|l| {
                let f: Vec<&str> = l.split(':').collect();
                (f.len() >= 3 && f[0] == g)
                    .then(|| f[2].parse().ok())
                    .flatten()
            })
            .ok_or_else(|| Error::Start {
                code: 125,
                message: format!("unable to find group {g}: no matching entries in group file"),
            })
    };
    if let Some(g) = g {
        gid = group_id(g)?;
    }
    // runc starts the supplementary groups with the primary one (`id` in a docker
    // container prints `groups=GID,...`), then the user's groups in /etc/group.
    let mut additional: Vec<u32> = vec![gid];
    if !name.is_empty() && g.is_none() {
        for l in group.lines() {
            let f: Vec<&str> = l.split(':').collect();
            if f.len() >= 4 && f[3].split(',').any(|m| m == name) {
                if let Ok(n) = f[2].parse::<u32>() {
                    if n != gid && !additional.contains(&n) {
                        additional.push(n);
                    }
                }
            }
        }
    }
    for g in group_add {
        let n = group_id(g)?;
        if !additional.contains(&n) {
            additional.push(n);
        }
    }
    Ok(User {
        uid,
        gid,
        additional,
        home: if home.is_empty() { "/".into() } else { home },
    })
}

/// Create `path` (and its parents) inside `root`, owned by `uid:gid` when new. Symlinks on
/// the way are followed inside the root, and a dangling one gets its target created.
pub fn mkdir_in(root: &Path, path: &str, uid: u32, gid: u32) -> Result<()> {
    mkdir_depth(root, path, uid, gid, 0)
}

fn mkdir_depth(root: &Path, path: &str, uid: u32, gid: u32, depth: u32) -> Result<()> {
    if depth > 40 {
        return Err(Error::io(
            "create",
            root.join(path.trim_start_matches('/')),
            std::io::Error::from_raw_os_error(libc::ELOOP),
        ));
    }
    let mut cur = String::new();
    for comp in path.split('/').filter(|c| !c.is_empty() && *c != ".") {
        let parent = open_in(root, &cur, OFlags::PATH | OFlags::DIRECTORY)
            .map_err(|e| Error::io("open", root.join(cur.trim_start_matches('/')), e))?;
        match rustix::fs::mkdirat(&parent, comp, Mode::from_raw_mode(0o755)) {
            Ok(()) => {
                let _ = rustix::fs::chownat(
                    &parent,
                    comp,
                    Some(rustix::fs::Uid::from_raw(uid)),
                    Some(rustix::fs::Gid::from_raw(gid)),
                    rustix::fs::AtFlags::SYMLINK_NOFOLLOW,
                );
            }
            Err(rustix::io::Errno::EXIST) => {
                if let Ok(target) = rustix::fs::readlinkat(&parent, comp, Vec::new()) {
                    let target = target.to_string_lossy().into_owned();
                    let resolved = if target.starts_with('/') {
                        target
                    } else {
                        format!("{cur}/{target}")
                    };
                    mkdir_depth(root, &resolved, uid, gid, depth + 1)?;
                }
            }
            Err(e) => {
                return Err(Error::io(
                    "create",
                    root.join(path.trim_start_matches('/')),
                    e.into(),
                ))
            }
        }
        cur.push('/');
        cur.push_str(comp);
    }
    Ok(())
}

/// Add (`Some(hostname)`) or remove (`None`) the `/etc/hosts` line of one of a container's
/// addresses, when it joins or leaves a network while it runs (as Docker does). The file
/// is rewritten in place: the container sees it through a bind mount of this inode.
pub fn hosts_entry(dir: &Path, ip: &str, hostname: Option<&str>) -> Result<()> {
    let p = dir.join("hosts");
    let old = std::fs::read_to_string(&p).map_err(|e| Error::io("read", &p, e))?;
    let mut text: String = old
        .lines()
        .filter(|l| l.split_whitespace().next() != Some(ip))
        .map(|l| format!("{l}\n"))
        .collect();
    if let Some(h) = hostname {
        text.push_str(&format!("{ip}\t{h}\n"));
    }
    std::fs::write(&p, text).map_err(|e| Error::io("write", p, e))
}

/// Write `hostname`, `hosts` and `resolv.conf` for the container into `dir`.
/// `--add-host NAME:host-gateway` names `gateway`: the host's address on the container's
/// network (its bridge's, which the host answers on; Docker's is docker0's), or the
/// loopback on the host's network.
pub fn write_etc_files(
    dir: &Path,
    c: &crate::ContainerConfig,
    ip: Option<std::net::Ipv4Addr>,
    dns_server: Option<std::net::Ipv4Addr>,
    gateway: Option<std::net::Ipv4Addr>,
    links: &[(String, String)],
) -> Result<()> {
    let host_network = c.network_mode == crate::config::NetworkMode::Host;
    let hostname = &c.hostname;
    let w = |name: &str, text: String| {
        let p = dir.join(name);
        std::fs::write(&p, text).map_err(|e| Error::io("write", p, e))
    };
    w("hostname", format!("{hostname}\n"))?;
    let mut hosts = if host_network {
        std::fs::read_to_string("/etc/hosts").unwrap_or_default()
    } else if c.build_step {
        format!("127.0.0.1\tlocalhost {hostname}\n::1\tlocalhost ip6-localhost ip6-loopback\n")
    } else {
        "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\nfe00::0\tip6-localnet\nff00::0\tip6-mcastprefix\nff02::1\tip6-allnodes\nff02::2\tip6-allrouters\n".to_string()
    };
    for h in &c.extra_hosts {
        if let Some((name, addr)) = h.split_once('=').or_else(|| h.split_once(':')) {
            let addr = match (addr, gateway) {
                (crate::validate::HOST_GATEWAY, _) if host_network => "127.0.0.1".to_string(),
                (crate::validate::HOST_GATEWAY, Some(g)) => g.to_string(),
                (crate::validate::HOST_GATEWAY, None) => continue,
                (a, _) => a.to_string(),
            };
            hosts.push_str(&format!("{addr}\t{name}\n"));
        }
    }
    // `--link`: (address, names), after the extra hosts as Docker writes them.
    for (addr, names) in links {
        hosts.push_str(&format!("{addr}\t{names}\n"));
    }
    if let Some(ip) = ip.filter(|_| !c.build_step) {
        if c.domainname.is_empty() {
            hosts.push_str(&format!("{ip}\t{hostname}\n"));
        } else {
            hosts.push_str(&format!("{ip}\t{hostname}.{} {hostname}\n", c.domainname));
        }
    }
    w("hosts", hosts)?;
    // `--dns-search` (`.` alone: none) and `--dns-option` lines, replacing the host's.
    let search: Vec<&String> = c.dns_search.iter().filter(|d| *d != ".").collect();
    let mut tail = String::new();
    if !search.is_empty() {
        tail.push_str(&format!(
            "search {}\n",
            search
                .iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join(" ")
        ));
    }
    // On a user-defined network the network's DNS server answers, and forwards to the
    // `--dns` servers (as Docker's embedded DNS does); elsewhere those are the resolvers.
    if let Some(d) = dns_server {
        let mut opts = c.dns_options.clone();
        if !opts.iter().any(|o| o.starts_with("ndots:")) {
            opts.insert(0, "ndots:0".into());
        }
        return w(
            "resolv.conf",
            format!("nameserver {d}\n{tail}options {}\n", opts.join(" ")),
        );
    }
    if !c.dns_options.is_empty() {
        tail.push_str(&format!("options {}\n", c.dns_options.join(" ")));
    }
    if !c.dns.is_empty() {
        let text: String = c.dns.iter().map(|d| format!("nameserver {d}\n")).collect();
        return w("resolv.conf", text + &tail);
    }
    // The host's resolvers, without loopback ones (they mean nothing in another network
    // namespace), as Docker does.
    let host = std::fs::read_to_string("/etc/resolv.conf").unwrap_or_default();
    let mut out = String::new();
    for l in host.lines() {
        let loopback = l
            .strip_prefix("nameserver")
            .map(|a| {
                let a = a.trim();
                a.starts_with("127.") || a == "::1"
            })
            .unwrap_or(false);
        let word = l.split_whitespace().next().unwrap_or_default();
        let replaced = (!c.dns_search.is_empty() && matches!(word, "search" | "domain"))
            || (!c.dns_options.is_empty() && word == "options");
        if (!loopback || host_network) && !replaced {
            out.push_str(l);
            out.push('\n');
        }
    }
    w("resolv.conf", out + &tail)
}

/// Fill an empty volume directory with what the image has at `target` (Docker's copy-up
/// on first use): owners, modes, symlinks and times are kept.
pub fn copy_up(root: &Path, target: &str, dest: &Path) -> Result<()> {
    let Ok(src) = open_in(root, target, OFlags::RDONLY | OFlags::DIRECTORY) else {
        return Ok(());
    };
    let empty = std::fs::read_dir(dest)
        .map_err(|e| Error::io("read", dest, e))?
        .next()
        .is_none();
    if !empty {
        return Ok(());
    }
    let src_path = fd_path(&src);
    copy_tree(&src_path, dest)?;
    // The volume's root takes the image directory's owner and mode: from the descriptor
    // (lstat of `/proc/self/fd/N` would describe the magic link, which is root's).
    let st = rustix::fs::fstat(&src).map_err(|e| Error::io("stat", target, e.into()))?;
    std::os::unix::fs::chown(dest, Some(st.st_uid), Some(st.st_gid))
        .map_err(|e| Error::io("chown", dest, e))?;
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(dest, std::fs::Permissions::from_mode(st.st_mode & 0o7777))
        .map_err(|e| Error::io("chmod", dest, e))
}

fn copy_meta(src: &Path, dst: &Path) -> Result<()> {
    use std::os::unix::fs::MetadataExt;
    let m = std::fs::symlink_metadata(src).map_err(|e| Error::io("stat", src, e))?;
    let _ = std::os::unix::fs::lchown(dst, Some(m.uid()), Some(m.gid()));
    if !m.file_type().is_symlink() {
        use std::os::unix::fs::PermissionsExt;
        let _ = std::fs::set_permissions(dst, std::fs::Permissions::from_mode(m.mode() & 0o7777));
    }
    Ok(())
}

fn copy_tree(src: &Path, dst: &Path) -> Result<()> {
    for e in std::fs::read_dir(src).map_err(|e| Error::io("read", src, e))? {
        let e = e.map_err(|e| Error::io("read", src, e))?;
        let (s, d) = (e.path(), dst.join(e.file_name()));
        let ft = e.file_type().map_err(|er| Error::io("stat", &s, er))?;
        if ft.is_dir() {
            std::fs::create_dir(&d).map_err(|er| Error::io("create", &d, er))?;
            copy_tree(&s, &d)?;
        } else if ft.is_symlink() {
            let t = std::fs::read_link(&s).map_err(|er| Error::io("read link", &s, er))?;
            std::os::unix::fs::symlink(t, &d).map_err(|er| Error::io("create", &d, er))?;
        } else if ft.is_file() {
            std::fs::copy(&s, &d).map_err(|er| Error::io("copy", &d, er))?;
        } else {
            continue;
        }
        copy_meta(&s, &d)?;
    }
    Ok(())
}

/// Append the tree under the directory `dir` to `b` as `name`, never following a symlink:
/// each level is opened relative to its parent's descriptor with `O_NOFOLLOW`, so a
/// container that swaps a directory for a symlink while `cp` walks it gets an error for
/// that entry, never the host's files (CVE-2018-15664 class). Sockets, FIFOs and device
/// nodes are left out.
pub fn tar_tree<W: std::io::Write>(
    b: &mut tar::Builder<W>,
    dir: &OwnedFd,
    name: &Path,
) -> Result<()> {
    tar_level(b, dir, name, 0)
}

/// The host's name for a uid (or gid) from `/etc/passwd` (`/etc/group`), read once, as
/// Go's archive/tar names a file's owners (docker's `cp` archives carry them).
fn host_name(file: &str, id: u32) -> Option<String> {
    use std::collections::HashMap;
    use std::sync::OnceLock;
    static PASSWD: OnceLock<HashMap<u32, String>> = OnceLock::new();
    static GROUP: OnceLock<HashMap<u32, String>> = OnceLock::new();
    let load = |path: &str| -> HashMap<u32, String> {
        std::fs::read_to_string(path)
            .unwrap_or_default()
            .lines()
            .filter_map(|l| {
                let f: Vec<&str> = l.split(':').collect();
                Some((f.get(2)?.parse().ok()?, (*f.first()?).to_string()))
            })
            .collect()
    };
    let map = if file == "passwd" {
        PASSWD.get_or_init(|| load("/etc/passwd"))
    } else {
        GROUP.get_or_init(|| load("/etc/group"))
    };
    map.get(&id).cloned()
}

pub(crate) fn tar_header(st: &rustix::fs::Stat, kind: tar::EntryType, size: u64) -> tar::Header {
    // POSIX ustar with owner names, as docker's archives are.
    let mut h = tar::Header::new_ustar();
    h.set_entry_type(kind);
    // Go's archive/tar keeps the file type bits in the mode (0100644), and writes the
    // device numbers (0) of every entry.
    let type_bits = match kind {
        tar::EntryType::Directory => 0o040000,
        tar::EntryType::Symlink => 0o120000,
        _ => 0o100000,
    };
    h.set_mode(type_bits | (st.st_mode & 0o7777));
    let _ = h.set_device_major(0);
    let _ = h.set_device_minor(0);
    h.set_uid(u64::from(st.st_uid));
    h.set_gid(u64::from(st.st_gid));
    if let Some(u) = host_name("passwd", st.st_uid) {
        let _ = h.set_username(&u);
    }
    if let Some(g) = host_name("group", st.st_gid) {
        let _ = h.set_groupname(&g);
    }
    h.set_mtime(st.st_mtime.max(0) as u64);
    h.set_size(size);
    h
}

fn tar_level<W: std::io::Write>(
    b: &mut tar::Builder<W>,
    dir: &OwnedFd,
    name: &Path,
    depth: u32,
) -> Result<()> {
    let io = |e: std::io::Error| Error::io("copy", name, e);
    if depth > 128 {
        return Err(io(std::io::Error::from_raw_os_error(libc::ELOOP)));
    }
    let st = rustix::fs::fstat(dir).map_err(|e| io(e.into()))?;
    let mut h = tar_header(&st, tar::EntryType::Directory, 0);
    b.append_data(&mut h, name, std::io::empty()).map_err(io)?;
    let entries = rustix::fs::Dir::read_from(dir).map_err(|e| io(e.into()))?;
    for e in entries {
        let e = e.map_err(|e| io(e.into()))?;
        let ename = e.file_name();
        if ename.to_bytes() == b"." || ename.to_bytes() == b".." {
            continue;
        }
        let child = name.join(std::ffi::OsStr::from_bytes(ename.to_bytes()));
        let cio = |e: std::io::Error| Error::io("copy", &child, e);
        let nofollow = OFlags::NOFOLLOW | OFlags::CLOEXEC;
        let lst = rustix::fs::statat(dir, ename, rustix::fs::AtFlags::SYMLINK_NOFOLLOW)
            .map_err(|e| cio(e.into()))?;
        match rustix::fs::FileType::from_raw_mode(lst.st_mode) {
            rustix::fs::FileType::Directory => {
                let fd = rustix::fs::openat(
                    dir,
                    ename,
                    OFlags::RDONLY | OFlags::DIRECTORY | nofollow,
                    Mode::empty(),
                )
                .map_err(|e| cio(e.into()))?;
                tar_level(b, &fd, &child, depth + 1)?;
            }
            rustix::fs::FileType::Symlink => {
                let target =
                    rustix::fs::readlinkat(dir, ename, Vec::new()).map_err(|e| cio(e.into()))?;
                let mut h = tar_header(&lst, tar::EntryType::Symlink, 0);
                let target = std::ffi::OsStr::from_bytes(target.to_bytes());
                b.append_link(&mut h, &child, target).map_err(cio)?;
            }
            rustix::fs::FileType::RegularFile => {
                let fd = rustix::fs::openat(dir, ename, OFlags::RDONLY | nofollow, Mode::empty())
                    .map_err(|e| cio(e.into()))?;
                // What was opened, not what was listed: it may have been swapped.
                let st = rustix::fs::fstat(&fd).map_err(|e| cio(e.into()))?;
                if rustix::fs::FileType::from_raw_mode(st.st_mode)
                    != rustix::fs::FileType::RegularFile
                {
                    continue;
                }
                let size = st.st_size.max(0) as u64;
                let mut h = tar_header(&st, tar::EntryType::Regular, size);
                let f = std::io::Read::take(std::fs::File::from(fd), size);
                b.append_data(&mut h, &child, f).map_err(cio)?;
            }
            _ => {}
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn users_resolve_from_the_image() {
        let d = tempfile::tempdir().expect("tempdir");
        std::fs::create_dir(d.path().join("etc")).expect("mkdir");
        std::fs::write(
            d.path().join("etc/passwd"),
            "root:x:0:0:root:/root:/bin/sh\nwww:x:33:33:www:/var/www:/bin/sh\n",
        )
        .expect("write");
        std::fs::write(
            d.path().join("etc/group"),
            "root:x:0:\nwww:x:33:\nextra:x:50:www\n",
        )
        .expect("write");
        let u = resolve_user(d.path(), "www", &[]).expect("www");
        assert_eq!(
            (u.uid, u.gid, u.additional.clone(), u.home.as_str()),
            (33, 33, vec![33, 50], "/var/www")
        );
        let u = resolve_user(d.path(), "1000:extra", &["root".into()]).expect("numeric");
        assert_eq!((u.uid, u.gid, u.additional), (1000, 50, vec![50, 0]));
        // A uid the image does not know: group 0, as under Docker.
        let u = resolve_user(d.path(), "1000", &[]).expect("unknown uid");
        assert_eq!((u.uid, u.gid, u.additional), (1000, 0, vec![0]));
        let e = resolve_user(d.path(), "nobody", &[]).expect_err("unknown");
        assert!(e.to_string().contains("unable to find user nobody"));
    }

    #[test]
    fn mkdir_stays_inside() {
        let d = tempfile::tempdir().expect("tempdir");
        let outside = tempfile::tempdir().expect("tempdir");
        std::os::unix::fs::symlink(outside.path(), d.path().join("escape")).expect("symlink");
        mkdir_in(d.path(), "/escape/x/y", 0, 0).expect("mkdir");
        assert!(!outside.path().join("x").exists());
        assert!(d
            .path()
            .join(outside.path().strip_prefix("/").expect("abs"))
            .join("x/y")
            .is_dir());
    }
}
