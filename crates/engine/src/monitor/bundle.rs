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
    crate::rootfs::private_mount_namespace()?;
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
    crate::rootfs::mount_overlay(&ms, &rootfs)?;
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
    crate::rootfs::write_etc_files(&dir, c, ip, dns_server)?;
    for f in ["hostname", "hosts", "resolv.conf"] {
        if c.build_step && f == "hostname" {
            continue;
        }
        if !c.mounts.iter().any(|m| m.target == format!("/etc/{f}")) {
            mounts.push((
                dir.join(f).display().to_string(),
                format!("/etc/{f}"),
                "bind".to_string(),
                vec!["rbind".to_string(), "rprivate".to_string()],
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
                mounts.push((m.source.clone(), m.target.clone(), "bind".into(), opts));
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
                    opts,
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
    let env = environment(c, &user);
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
            cgroup_binds: cgroup_binds(&rec.id),
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
            join_netns: match c.network_mode.container() {
                Some(other) => {
                    let o = Db::open(&paths.root)?.get(other)?;
                    if o.state.status != ContainerStatus::Running || o.state.pid <= 0 {
                        return Err(Error::Start {
                            code: 125,
                            message: format!(
                                "cannot join network of a non running container: {other}"
                            ),
                        });
                    }
                    Some(o.state.pid)
                }
                None => None,
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

/// The container's cgroup directories on a v1 (or hybrid) host, where the runtime makes
/// them for the cgroups path `/quai-<id>`; `None` on pure v2 or an unusual layout.
fn cgroup_binds(id: &str) -> Option<Vec<(String, String)>> {
    let layout = runtime::cgroups::Layout::detect().ok()?;
    if layout.is_pure_v2() {
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
                .join(format!("quai-{id}"))
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
