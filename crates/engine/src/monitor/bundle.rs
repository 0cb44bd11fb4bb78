//! The monitor's bundle: the container's root mounted (overlay in the monitor's private
//! mount namespace), its `/etc` files, volumes, tmpfs and devices, and `config.json` with
//! Docker's defaults, ready for the runtime.

use crate::config::{ContainerConfig, ContainerStatus, MountKind};
use crate::db::{Db, Record};
use crate::{Error, Paths, Result};

/// Mount the root, resolve the user, write `config.json`. Returns the spec.
pub(super) fn prepare(
    paths: &Paths,
    rec: &Record,
    tty_size: Option<(u16, u16)>,
    ip: Option<std::net::Ipv4Addr>,
    network: Option<&crate::network::Network>,
) -> Result<oci_spec::runtime::Spec> {
    let c = &rec.config;
    let dir = paths.container(&rec.id);
    // `--ipc container:`: our mount namespace copies the donor's monitor's, where its
    // shareable /dev/shm is mounted (never on the host).
    let donor = match c.ipc_mode.strip_prefix("container:") {
        Some(other) => Some(ipc_donor(paths, other)?),
        None => None,
    };
    crate::rootfs::private_mount_namespace_from(donor.as_ref().map(|d| d.0))?;
    let shm_bind = match (&donor, c.ipc_mode.as_str()) {
        (Some((_, shm)), _) => {
            if !is_tmpfs(shm) {
                return Err(Error::Start {
                    code: 125,
                    message: format!(
                        "can't join IPC of container {}: its /dev/shm is gone (its monitor was replaced)",
                        c.ipc_mode.trim_start_matches("container:")
                    ),
                });
            }
            Some(shm.display().to_string())
        }
        (None, "shareable") => Some(shareable_shm(&dir, c)?.display().to_string()),
        _ => None,
    };
    let image_id: content::Digest = c
        .image_id
        .parse()
        .map_err(|e| Error::Corrupt(format!("container {} image id: {e}", rec.id)))?;
    let mut ms = image::store::ImageStore::open(&paths.root)?.snapshot(&image_id, &dir)?;
    // A build step's upper directory is read once the step ends and then dropped or
    // adopted whole; a crash throws the step away. Syncs inside it (dpkg syncs every
    // file) would buy nothing: `volatile` makes them no-ops (overlayfs, Linux 5.10).
    if c.build_step {
        ms.options.push_str(",volatile");
    }
    let rootfs = dir.join("merged");
    runtime::debug!("monitor {}: snapshot ready", rec.id);
    // A user namespace of its own (as root): the layers are idmapped, so the image's
    // files keep their owners inside.
    let idmapped = !c.uid_map.is_empty() && !crate::rootless::active();
    if idmapped {
        crate::rootfs::mount_overlay_idmapped(
            &ms,
            &rootfs,
            &dir.join("idmap"),
            &c.uid_map,
            &c.gid_map,
        )?;
    } else if crate::rootless::active() {
        crate::rootfs::mount_rootless(&ms, &rootfs, &dir)?;
    } else {
        crate::rootfs::mount_overlay(&ms, &rootfs)?;
    }
    let user = crate::rootfs::resolve_user(&rootfs, &c.user, &c.group_add)?;
    if !c.workdir.is_empty() {
        crate::rootfs::mkdir_in(&rootfs, &c.workdir, user.uid, user.gid)?;
    }
    let mut mounts = Vec::new();
    // On a user-defined network the resolver is the network's DNS server (its gateway).
    let dns_server = match (network, ip) {
        (Some(n), Some(_)) if n.name != "bridge" => Some(n.subnet()?.gateway()),
        _ => None,
    };
    let (link_hosts, link_env) = links(paths, rec)?;
    // `host-gateway`: the host on the container's bridge, else on the default one.
    let gateway = match network {
        Some(n) => Some(n.subnet()?.gateway()),
        None => crate::network::Network::default_bridge()
            .subnet()
            .ok()
            .map(|s| s.gateway()),
    };
    crate::rootfs::write_etc_files(&dir, c, ip, dns_server, gateway, &link_hosts)?;
    // dockerd: a container in another's network namespace uses that one's `hosts` and
    // `resolv.conf` (its names and resolvers are the namespace's).
    let net_donor = c
        .network_mode
        .container()
        .map(|other| paths.container(other))
        .filter(|d| d.join("resolv.conf").exists());
    for f in ["hostname", "hosts", "resolv.conf"] {
        if c.build_step && f == "hostname" {
            continue;
        }
        let from = match &net_donor {
            Some(d) if f != "hostname" => d.join(f),
            _ => dir.join(f),
        };
        if !c.mounts.iter().any(|m| m.target == format!("/etc/{f}")) {
            mounts.push((
                from.display().to_string(),
                format!("/etc/{f}"),
                "bind".to_string(),
                idmap_opt(vec!["rbind".to_string(), "rprivate".to_string()], idmapped),
            ));
        }
    }
    for m in &c.mounts {
        let mut opts = Vec::new();
        match m.kind {
            MountKind::Bind => {
                opts.extend(["rbind".to_string(), "rprivate".to_string()]);
                if m.readonly {
                    opts.push("ro".into());
                }
                mounts.push((
                    m.source.clone(),
                    m.target.clone(),
                    "bind".into(),
                    idmap_opt(opts, idmapped),
                ));
            }
            MountKind::Volume => {
                let data = paths.volume_data(&m.source);
                let v = Db::open(&paths.root)?
                    .volume(&m.source)?
                    .ok_or_else(|| Error::NoSuchVolume(m.source.clone()))?;
                if let Some(t) = v.options.get("type") {
                    let dev = v
                        .options
                        .get("device")
                        .cloned()
                        .unwrap_or_else(|| t.clone());
                    nix::mount::mount(
                        Some(dev.as_str()),
                        &data,
                        Some(t.as_str()),
                        nix::mount::MsFlags::empty(),
                        v.options.get("o").map(|s| s.as_str()),
                    )
                    .map_err(|e| Error::io("mount volume", &data, e.into()))?;
                }
                if m.copy_up {
                    crate::rootfs::copy_up(&rootfs, &m.target, &data)?;
                }
                opts.extend(["rbind".to_string(), "rprivate".to_string()]);
                if m.readonly {
                    opts.push("ro".into());
                }
                mounts.push((
                    data.display().to_string(),
                    m.target.clone(),
                    "bind".into(),
                    idmap_opt(opts, idmapped),
                ));
            }
            MountKind::Tmpfs => {
                opts.extend([
                    "nosuid".to_string(),
                    "nodev".to_string(),
                    "noexec".to_string(),
                ]);
                if let Some(s) = m.tmpfs_size {
                    opts.push(format!("size={s}"));
                }
                opts.push(format!("mode={:o}", m.tmpfs_mode.unwrap_or(0o1777)));
                if m.readonly {
                    opts.push("ro".into());
                }
                mounts.push(("tmpfs".into(), m.target.clone(), "tmpfs".into(), opts));
            }
        }
    }
    let mut args: Vec<String> = c.entrypoint.iter().chain(c.cmd.iter()).cloned().collect();
    if c.init {
        let exe = runtime::selfexe::host_path()
            .map_err(|e| Error::io("read link", "/proc/self/exe", e))?;
        mounts.push((
            exe.display().to_string(),
            crate::INIT_PATH.to_string(),
            "bind".into(),
            vec!["bind".into(), "ro".into()],
        ));
        let mut a = vec![crate::INIT_PATH.to_string(), "--".to_string()];
        a.extend(args);
        args = a;
    }
    let mut env = environment(c, &user);
    // Link variables come first: the container's own win.
    for e in link_env.into_iter().rev() {
        let k = e.split('=').next().unwrap_or_default();
        if !env.iter().any(|x| x.split('=').next() == Some(k)) {
            env.insert(0, e);
        }
    }
    let caps = crate::spec::capabilities(c);
    let seccomp = if c.privileged
        || c.security_opt
            .iter()
            .any(|s| s == "seccomp=unconfined" || s == "seccomp:unconfined")
    {
        None
    } else if let Some(p) = &c.seccomp_profile {
        Some(serde_json::from_str(p).map_err(|e| Error::Invalid(format!("seccomp profile: {e}")))?)
    } else {
        Some(crate::spec::default_seccomp(&caps))
    };
    let rootfs_s = rootfs.display().to_string();
    let spec = crate::spec::build(
        c,
        &crate::spec::SpecInputs {
            id: &rec.id,
            rootfs: &rootfs_s,
            user: &user,
            mounts,
            args,
            env,
            seccomp,
            cgroup_binds: cgroup_binds(&crate::spec::cgroups_path(c, &rec.id)),
            devices: c
                .devices
                .iter()
                .map(|d| {
                    let (kind, major, minor, mode) = crate::validate::host_device(&d.path_on_host)?;
                    Ok(crate::spec::Device {
                        path: d.path_in_container.clone(),
                        kind,
                        major,
                        minor,
                        mode,
                        access: d.cgroup_permissions.clone(),
                    })
                })
                .collect::<Result<_>>()?,
            join_netns: running_pid(paths, c.network_mode.container(), "network")?,
            join_pidns: running_pid(paths, c.pid_mode.strip_prefix("container:"), "PID")?,
            join_ipcns: running_pid(paths, c.ipc_mode.strip_prefix("container:"), "IPC")?,
            shm_bind,
            block_devices: {
                let r = &c.resources;
                let mut m = std::collections::BTreeMap::new();
                for d in r
                    .device_read_bps
                    .iter()
                    .chain(&r.device_write_bps)
                    .chain(&r.device_read_iops)
                    .chain(&r.device_write_iops)
                {
                    m.insert(d.path.clone(), crate::validate::block_device(&d.path)?);
                }
                m
            },
        },
    );
    let mut spec = spec;
    if let (true, Some((rows, cols))) = (c.tty, tty_size) {
        spec["process"]["consoleSize"] = serde_json::json!({"height": rows, "width": cols});
    }
    // Typed once here and handed to the runtime in memory; `config.json` is written for
    // `quai-runtime`, other tools and debugging.
    let cfg = dir.join("config.json");
    let bytes = serde_json::to_vec_pretty(&spec).map_err(|e| Error::Corrupt(e.to_string()))?;
    let typed = runtime::spec::parse_spec(&cfg, &bytes)?;
    std::fs::write(&cfg, bytes).map_err(|e| Error::io("write", &cfg, e))?;
    Ok(typed)
}

/// `--ipc container:`: the donor's monitor (its pid) and the shareable `/dev/shm` it
/// mounted in its mount namespace; the donor must run.
fn ipc_donor(paths: &Paths, other: &str) -> Result<(i32, std::path::PathBuf)> {
    let o = Db::open(&paths.root)?.get(other)?;
    let up = o.state.status == ContainerStatus::Running
        && crate::process_alive(o.state.monitor_pid, o.state.monitor_start);
    if !up {
        return Err(Error::Start {
            code: 125,
            message: format!("cannot join IPC of a non running container: {}", o.name),
        });
    }
    Ok((o.state.monitor_pid, paths.container(&o.id).join("shm")))
}

/// A shareable container's `/dev/shm`: a tmpfs at `<dir>/shm`, mounted in this monitor's
/// mount namespace (the monitors of the containers that join its IPC copy it).
fn shareable_shm(dir: &std::path::Path, c: &ContainerConfig) -> Result<std::path::PathBuf> {
    let shm = dir.join("shm");
    if is_tmpfs(&shm) {
        return Ok(shm);
    }
    std::fs::create_dir_all(&shm).map_err(|e| Error::io("create", &shm, e))?;
    let size = c
        .shm_size
        .filter(|s| *s > 0)
        .unwrap_or(crate::spec::DEFAULT_SHM_SIZE);
    use nix::mount::MsFlags;
    nix::mount::mount(
        Some("shm"),
        &shm,
        Some("tmpfs"),
        MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC,
        Some(format!("mode=1777,size={size}").as_str()),
    )
    .map_err(|e| Error::io("mount tmpfs", &shm, e.into()))?;
    Ok(shm)
}

fn is_tmpfs(p: &std::path::Path) -> bool {
    nix::sys::statfs::statfs(p).is_ok_and(|s| s.filesystem_type() == nix::sys::statfs::TMPFS_MAGIC)
}

/// The init of another container whose namespace of `what` this one joins (it must run).
fn running_pid(paths: &Paths, other: Option<&str>, what: &str) -> Result<Option<i32>> {
    let Some(other) = other else {
        return Ok(None);
    };
    let o = Db::open(&paths.root)?.get(other)?;
    if o.state.status != ContainerStatus::Running || o.state.pid <= 0 {
        return Err(Error::Start {
            code: 125,
            message: format!("cannot join {what} of a non running container: {}", o.name),
        });
    }
    Ok(Some(o.state.pid))
}

/// `/etc/hosts` lines: (address, names).
type LinkHosts = Vec<(String, String)>;

/// `--link`: each linked container's address on the default bridge and its names there
/// (the alias, its hostname, its name), as Docker writes them in `/etc/hosts`, and
/// Docker's link variables (`ALIAS_NAME`, `ALIAS_PORT_80_TCP...`, `ALIAS_ENV_...`); the
/// linked container must run.
fn links(paths: &Paths, rec: &Record) -> Result<(LinkHosts, Vec<String>)> {
    let c = &rec.config;
    if c.links.is_empty() {
        return Ok((Vec::new(), Vec::new()));
    }
    let db = Db::open(&paths.root)?;
    let mut out = Vec::new();
    let mut env = Vec::new();
    for l in &c.links {
        let o = db.get(&l.container)?;
        if !o.state.status.is_up() {
            return Err(Error::Start {
                code: 125,
                message: format!(
                    "Cannot link to a non running container: /{} AS {}",
                    o.name, l.alias
                ),
            });
        }
        // Only an address on the same network means anything (Docker's legacy links are
        // a default-bridge feature).
        if o.state.ip.is_empty() || o.config.network_mode != c.network_mode {
            continue;
        }
        let mut names = format!("{} {}", l.alias, o.config.hostname);
        if o.name != l.alias {
            names.push_str(&format!(" {}", o.name));
        }
        let ip = o.state.ip.clone();
        let prefix = l.alias.to_ascii_uppercase().replace('-', "_");
        env.push(format!("{prefix}_NAME=/{}/{}", rec.name, l.alias));
        let mut ports: Vec<(u16, String)> = o
            .config
            .exposed_ports
            .iter()
            .filter_map(|p| {
                let (n, proto) = p.split_once('/').unwrap_or((p.as_str(), "tcp"));
                Some((n.parse().ok()?, proto.to_string()))
            })
            .collect();
        ports.sort();
        if let Some((n, proto)) = ports.first() {
            env.push(format!("{prefix}_PORT={proto}://{ip}:{n}"));
        }
        for (n, proto) in &ports {
            let p = format!("{prefix}_PORT_{n}_{}", proto.to_ascii_uppercase());
            env.push(format!("{p}={proto}://{ip}:{n}"));
            env.push(format!("{p}_ADDR={ip}"));
            env.push(format!("{p}_PORT={n}"));
            env.push(format!("{p}_PROTO={proto}"));
        }
        for e in &o.config.env {
            if let Some((k, v)) = e.split_once('=') {
                if k != "HOME" && k != "PATH" {
                    env.push(format!("{prefix}_ENV_{k}={v}"));
                }
            }
        }
        out.push((ip, names));
    }
    Ok((out, env))
}

/// Bind mounts of a container with a user namespace of its own are idmapped with its
/// mapping (files keep the owners they have on disk).
fn idmap_opt(mut opts: Vec<String>, idmapped: bool) -> Vec<String> {
    if idmapped {
        opts.push("idmap".into());
    }
    opts
}

/// The container's cgroup directories on a v1 (or hybrid) host, where the runtime makes
/// them for the cgroups path `cgroups_path` (`/quai-<id>`, maybe under a parent);
/// `None` on pure v2 or an unusual layout.
fn cgroup_binds(cgroups_path: &str) -> Option<Vec<(String, String)>> {
    let layout = runtime::cgroups::Layout::detect().ok()?;
    // Rootless, the runtime decides whether there are cgroups at all.
    if layout.is_pure_v2() || runtime::userns::in_child_userns() {
        return None;
    }
    let mut out = Vec::new();
    for h in layout.v1.iter().chain(layout.v2.iter()) {
        if h.root != "/" || !h.mountpoint.starts_with("/sys/fs/cgroup") {
            return None;
        }
        let name = h.mountpoint.file_name()?.to_string_lossy().into_owned();
        out.push((
            h.mountpoint
                .join(cgroups_path.trim_start_matches('/'))
                .display()
                .to_string(),
            format!("/sys/fs/cgroup/{name}"),
        ));
    }
    Some(out)
}

fn environment(c: &ContainerConfig, user: &crate::spec::User) -> Vec<String> {
    let mut env: Vec<String> = Vec::new();
    let has = |env: &[String], k: &str| env.iter().any(|e| e.split('=').next() == Some(k));
    if !has(&c.env, "PATH") {
        env.push("PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin".into());
    }
    if !c.build_step {
        env.push(format!("HOSTNAME={}", c.hostname));
    }
    if c.tty {
        env.push("TERM=xterm".into());
    }
    for e in &c.env {
        let k = e.split('=').next().unwrap_or_default();
        env.retain(|x| x.split('=').next() != Some(k));
        env.push(e.clone());
    }
    if !has(&env, "HOME") {
        env.push(format!("HOME={}", user.home));
    }
    env
}
