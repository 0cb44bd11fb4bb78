//! The per-container monitor (`quai __monitor ID`): started by the CLI, it double-forks,
//! becomes a child subreaper in a private mount namespace, mounts the container's root,
//! writes the bundle, runs the container through the runtime library, owns its stdio
//! (pipes, or the pty), writes the json-file log, serves attach on a unix socket, runs the
//! health check, records the exit (and OOM kills) and applies the restart policy.
//!
//! The overlay mount lives only in the monitor's mount namespace (and the container's):
//! when both are gone the kernel drops it, so a killed CLI or monitor never leaks a mount.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::os::fd::{AsFd, AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use nix::sys::signal::{SigSet, Signal};
use nix::sys::signalfd::{SfdFlags, SignalFd};
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use nix::unistd::Pid;

use crate::attach;
use crate::config::ContainerConfig;
use crate::config::ContainerStatus;
use crate::config::MountKind;
use crate::db::{Db, Record};
use crate::health::Health;
use crate::{Error, Paths, Result};

/// The hidden subcommand that runs a monitor.
pub use crate::launch::ARG;

/// Entry point: `quai __monitor --root R --run D [--attach ioe] ID`, fd 3 optionally a
/// connected client (the CLI that started us).
pub fn main(args: &[std::ffi::OsString]) -> i32 {
    // Everything the monitor starts enters the container (create, health checks, restarts):
    // run from the read-only copy of the binary first (CVE-2019-5736 class).
    if let Err(e) = runtime::selfexe::ensure_protected() {
        eprintln!("quai: monitor: {e}");
        return 1;
    }
    let Some(a) = crate::launch::MonitorArgs::parse(args.get(2..).unwrap_or_default()) else {
        eprintln!("quai: __monitor: usage: --root DIR --run DIR [--adopt] [--attach ioe] [--tty-size RxC] ID");
        return 2;
    };
    // The container's lock, handed over by the command that started us.
    let lock = crate::lock::Held::inherited();
    // SAFETY: fcntl on fd 3 only queries whether it is open.
    let client = if unsafe { libc::fcntl(3, libc::F_GETFD) } >= 0 {
        // SAFETY: fd 3 is open and handed to us by the CLI; nothing else owns it.
        let s = unsafe { UnixStream::from_raw_fd(3) };
        let _ = nix::fcntl::fcntl(
            &s,
            nix::fcntl::FcntlArg::F_SETFD(nix::fcntl::FdFlag::FD_CLOEXEC),
        );
        Some(s)
    } else {
        None
    };
    // Double fork: the CLI reaps our parent at once; we are nobody's child to wait for.
    // SAFETY: single-threaded here; the parent only calls _exit.
    match unsafe { nix::unistd::fork() } {
        Ok(nix::unistd::ForkResult::Parent { .. }) => {
            // SAFETY: _exit in the parent of a fork, skipping atexit handlers.
            unsafe { libc::_exit(0) }
        }
        Ok(nix::unistd::ForkResult::Child) => {}
        Err(e) => {
            eprintln!("quai: monitor: fork: {e}");
            return 1;
        }
    }
    if std::env::var_os("QUAI_DEBUG").is_some() {
        runtime::set_debug(true);
    }
    let paths = Paths::new(&a.root, &a.run);
    let mut client = client.map(|s| Client::new(s, &a.attach));
    let id = a.id.clone();
    let how = Launch {
        tty_size: a.tty_size,
        lock,
        adopt: a.adopt,
    };
    match run_monitor(&paths, &id, &mut client, how) {
        Ok(()) => 0,
        Err(e) => {
            let code = e.exit_status();
            let msg = e.to_string();
            eprintln!("quai: monitor {id}: {msg}");
            if let Some(c) = client.as_mut() {
                let mut p = vec![code as u8];
                p.extend_from_slice(msg.as_bytes());
                let _ = attach::send(&mut c.stream, attach::FAILED, &p);
            }
            1
        }
    }
}

struct Client {
    stream: UnixStream,
    dec: attach::Decoder,
    out: bool,
    err: bool,
    input: bool,
}

impl Client {
    fn new(stream: UnixStream, streams: &str) -> Client {
        let _ = stream.set_write_timeout(Some(Duration::from_secs(5)));
        Client {
            stream,
            dec: attach::Decoder::default(),
            out: streams.contains('o'),
            err: streams.contains('e'),
            input: streams.contains('i'),
        }
    }
}

/// The container's stdio as the monitor holds it.
#[derive(Default)]
struct Stdio {
    stdin: Option<OwnedFd>,
    stdout: Option<OwnedFd>,
    stderr: Option<OwnedFd>,
    pty: Option<OwnedFd>,
}

struct Monitor<'a> {
    paths: &'a Paths,
    id: String,
    db: Db,
    rec: Record,
    listener: UnixListener,
    clients: Vec<Client>,
    log: crate::logs::Writer,
    sfd: SignalFd,
    sigmask: SigSet,
    devnull: OwnedFd,
    /// Our own stderr (the monitor log), kept while fd 2 lends itself to the container.
    log_fd: OwnedFd,
    health: Option<Health>,
    /// Its bridge address, held for the monitor's life (restarts keep it).
    ip: Option<std::net::Ipv4Addr>,
    /// Its network (none for `--network none|host`).
    network: Option<crate::network::Network>,
    /// Ports published for the current run.
    ports: Vec<net::ports::PortBinding>,
    /// The container's lifecycle lock while we start it (crate::lock).
    lock: Option<crate::lock::Held>,
    /// Its root is mounted and its bundle written (not yet when we adopted it).
    prepared: bool,
    /// A running container to take over instead of starting one (crate::adopt).
    orphan: Option<crate::adopt::Orphan>,
    /// The last exit was seen through a pidfd: its status is unknown.
    exit_unknown: bool,
}

/// How this monitor was started.
struct Launch {
    /// The attached terminal's size.
    tty_size: Option<(u16, u16)>,
    /// The container's lifecycle lock, handed over by the starting command.
    lock: Option<crate::lock::Held>,
    /// Take over a running container whose monitor died (crate::adopt).
    adopt: bool,
}

fn run_monitor(paths: &Paths, id: &str, first: &mut Option<Client>, how: Launch) -> Result<()> {
    let Launch {
        tty_size,
        lock,
        adopt,
    } = how;
    nix::sys::prctl::set_child_subreaper(true)
        .map_err(|e| Error::io("prctl", "PR_SET_CHILD_SUBREAPER", e.into()))?;
    let sigmask = runtime::wait::block_signals()?;
    let mut set = runtime::wait::forwarded();
    set.add(Signal::SIGCHLD);
    let sfd = SignalFd::with_flags(&set, SfdFlags::SFD_CLOEXEC | SfdFlags::SFD_NONBLOCK)
        .map_err(|e| Error::io("signalfd", "monitor", e.into()))?;
    // SAFETY: SIG_IGN for SIGPIPE: a client that goes away must not kill the monitor.
    unsafe { libc::signal(libc::SIGPIPE, libc::SIG_IGN) };
    let mut db = Db::open(&paths.root)?;
    let me = std::process::id() as i32;
    let start = runtime::state::proc_stat(me).map(|(s, _)| s).unwrap_or(0);
    if adopt {
        // Two commands may have seen the dead monitor; the lock let one adopter through at
        // a time, and the first one is recorded by now.
        let r = db.get(id)?;
        if crate::process_alive(r.state.monitor_pid, r.state.monitor_start) {
            return Err(Error::Conflict(format!(
                "container {id} has a monitor already"
            )));
        }
    }
    db.update_state(id, |s| {
        s.monitor_pid = me;
        s.monitor_start = start;
    })?;
    let rec = db.get(id)?;
    let devnull: OwnedFd = std::fs::File::open("/dev/null")
        .map_err(|e| Error::io("open", "/dev/null", e))?
        .into();

    runtime::debug!("monitor {id}: record loaded");
    let network = match rec.config.network_mode.network() {
        // Taken off it with `network disconnect`: only its other networks.
        _ if rec.config.primary_disconnected => None,
        Some(n) => Some(crate::network::get(&db, n)?),
        None => None,
    };
    let (ip, orphan) = if adopt {
        // Its address, ports and root stay as the dead monitor left them; the root is
        // mounted again only for a restart.
        crate::rootfs::private_mount_namespace()?;
        let o = crate::adopt::take(&paths.runtime_root(), &paths.container(id), id)?;
        (rec.state.ip.parse().ok(), Some(o))
    } else {
        let ip = match &network {
            Some(n) => {
                let want = crate::network::parse_ip(rec.config.ip.as_deref())?;
                Some(db.allocate_ip(id, n, want)?)
            }
            None => None,
        };
        prepare(paths, &rec, tty_size, ip, network.as_ref())?;
        (ip, None)
    };
    let sock = paths.socket(id);
    if let Some(d) = sock.parent() {
        std::fs::create_dir_all(d).map_err(|e| Error::io("create", d, e))?;
    }
    let _ = std::fs::remove_file(&sock);
    let listener = UnixListener::bind(&sock).map_err(|e| Error::io("listen on", &sock, e))?;
    let log = crate::logs::Writer::open(&paths.log(id))
        .map_err(|e| Error::io("open", paths.log(id), e))?;
    let health = rec
        .config
        .health
        .clone()
        .filter(|h| !h.test.is_empty() && h.test[0] != "NONE")
        .map(Health::new);
    let rec_ports = rec.state.ports.clone();
    let mut m = Monitor {
        paths,
        id: id.to_string(),
        db,
        rec,
        listener,
        clients: first.take().into_iter().collect(),
        log,
        sfd,
        sigmask,
        devnull,
        log_fd: nix::unistd::dup(std::io::stderr())
            .map_err(|e| Error::io("dup", "stderr", e.into()))?,
        health,
        ip,
        network,
        ports: orphan
            .as_ref()
            .map(|_| rec_ports.clone())
            .unwrap_or_default(),
        lock,
        prepared: orphan.is_none(),
        orphan,
        exit_unknown: false,
    };
    let res = m.supervise();
    let _ = std::fs::remove_file(&sock);
    // The address goes back to the pool (the record may be gone already with --rm).
    let _ = m.db.update_state(id, |s| {
        s.ip.clear();
        s.ports.clear();
        s.endpoints.clear();
    });
    res
}

/// Mount the root, resolve the user, write `config.json`. Returns the rootfs path.
fn prepare(
    paths: &Paths,
    rec: &Record,
    tty_size: Option<(u16, u16)>,
    ip: Option<std::net::Ipv4Addr>,
    network: Option<&crate::network::Network>,
) -> Result<PathBuf> {
    let c = &rec.config;
    let dir = paths.container(&rec.id);
    crate::rootfs::private_mount_namespace()?;
    let image_id: content::Digest = c
        .image_id
        .parse()
        .map_err(|e| Error::Corrupt(format!("container {} image id: {e}", rec.id)))?;
    let ms = image::store::ImageStore::open(&paths.root)?.snapshot(&image_id, &dir)?;
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
    let cfg = dir.join("config.json");
    let bytes = serde_json::to_vec_pretty(&spec).map_err(|e| Error::Corrupt(e.to_string()))?;
    std::fs::write(&cfg, bytes).map_err(|e| Error::io("write", &cfg, e))?;
    Ok(rootfs)
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
    env.push(format!("HOSTNAME={}", c.hostname));
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

impl Monitor<'_> {
    fn supervise(&mut self) -> Result<()> {
        let mut backoff = Duration::from_millis(100);
        loop {
            let started = Instant::now();
            let mut pidfd = None;
            let next = match self.orphan.take() {
                Some(o) => self.adopted(o).map(|(init, stdio, fd)| {
                    pidfd = Some(fd);
                    (init, stdio)
                }),
                None => self.prepare_again().and_then(|()| self.start_container()),
            };
            let (init, stdio) = match next {
                Ok(v) => v,
                Err(e) => {
                    let (code, msg) = (e.exit_status(), e.to_string());
                    let _ = self.db.update_state(&self.id, |s| {
                        s.error = msg.clone();
                        s.exit_code = code;
                        s.pid = 0;
                        if s.status != ContainerStatus::Created {
                            s.status = ContainerStatus::Exited;
                            s.finished_at = crate::time::now_rfc3339();
                        }
                    });
                    if self.rec.config.auto_remove {
                        let _ =
                            crate::removal::remove_files(self.paths, &mut self.db, &self.rec, true);
                    }
                    let mut p = vec![code as u8];
                    p.extend_from_slice(msg.as_bytes());
                    self.broadcast(attach::FAILED, &p);
                    self.clients.clear();
                    return Err(e);
                }
            };
            runtime::debug!("monitor {}: started", self.id);
            let (code, oom) = self.relay(init, stdio, pidfd)?;
            runtime::debug!("monitor {}: exited {code}, runtime state deleted", self.id);
            let unknown = std::mem::take(&mut self.exit_unknown);
            let st = self.db.update_state(&self.id, |s| {
                s.status = ContainerStatus::Exited;
                s.pid = 0;
                s.exit_code = code;
                s.oom_killed = oom;
                s.finished_at = crate::time::now_rfc3339();
                if unknown {
                    s.error = crate::adopt::UNKNOWN_EXIT.into();
                }
            });
            let st = match st {
                Ok(s) => s,
                // Removed under us (`rm -f`): nothing left to record.
                Err(Error::NoSuchContainer(_)) => return Ok(()),
                Err(e) => return Err(e),
            };
            let mut a = self.attrs();
            a.insert("exitCode".into(), code.to_string());
            let _ = self.db.event("container", "die", &self.id, &a);
            if oom {
                let _ = self.db.event("container", "oom", &self.id, &self.attrs());
            }
            let c = &self.rec.config;
            if c.auto_remove
                || !c
                    .restart
                    .should_restart(code, st.manually_stopped, st.restart_count)
            {
                if c.auto_remove {
                    // The exit code still reaches the client when the removal fails: the
                    // record stays marked and the next listing finishes it.
                    match crate::removal::remove_files(self.paths, &mut self.db, &self.rec, true) {
                        Ok(()) => runtime::debug!("monitor {}: removed", self.id),
                        Err(e) => eprintln!("quai: monitor {}: --rm: {e}", self.id),
                    }
                }
                self.broadcast(attach::EXITED, code.to_string().as_bytes());
                return Ok(());
            }
            // Docker's back-off: 100 ms doubling up to a minute, reset after 10 s of running.
            if started.elapsed() >= Duration::from_secs(10) {
                backoff = Duration::from_millis(100);
            }
            self.db.update_state(&self.id, |s| {
                s.status = ContainerStatus::Restarting;
                s.restart_count += 1;
            })?;
            let deadline = Instant::now() + backoff;
            backoff = (backoff * 2).min(Duration::from_secs(60));
            // Wait out the back-off, then for the container's lock (a stop or rm holds it
            // while it waits for us to go): a user's stop ends the restarting.
            loop {
                let now = Instant::now();
                if now < deadline {
                    std::thread::sleep(Duration::from_millis(50).min(deadline - now));
                } else if let Some(h) = crate::lock::try_container(self.paths, &self.id)? {
                    self.lock = Some(h);
                } else {
                    std::thread::sleep(Duration::from_millis(10));
                }
                self.accept_clients();
                if self
                    .db
                    .get(&self.id)
                    .map(|r| r.state.manually_stopped)
                    .unwrap_or(true)
                {
                    let _ = self
                        .db
                        .update_state(&self.id, |s| s.status = ContainerStatus::Exited);
                    self.broadcast(attach::EXITED, code.to_string().as_bytes());
                    return Ok(());
                }
                if self.lock.is_some() {
                    break;
                }
            }
        }
    }

    /// Put the created container (its init is `pid`) on its first network, publishing its
    /// ports, and on the networks joined with `network connect` (read fresh: they may have
    /// changed; a container taken off its first network may have only these).
    fn join_networks(&mut self, pid: i32) -> Result<()> {
        if let (Some(ip), Some(n)) = (self.ip, self.network.as_ref()) {
            self.ports = crate::network::attach(
                self.paths,
                &self.id,
                pid,
                ip,
                n,
                &self.rec.config.ports,
                self.rec.config.mac_address.as_deref(),
            )?;
        }
        if self.ip.is_none() && !self.rec.config.primary_disconnected {
            return Ok(());
        }
        let extra = self
            .db
            .get(&self.id)
            .map(|r| r.config.networks)
            .unwrap_or_default();
        for (k, att) in extra.iter().enumerate() {
            let n = crate::network::get(&self.db, &att.network)?;
            // After the first network's eth0; eth0 itself without one.
            let ifname = format!("eth{}", k + usize::from(self.ip.is_some()));
            crate::network::join(self.paths, &mut self.db, &self.id, pid, &n, att, &ifname)?;
        }
        Ok(())
    }

    fn attrs(&self) -> BTreeMap<String, String> {
        let mut a = BTreeMap::new();
        a.insert("name".into(), self.rec.name.clone());
        a.insert("image".into(), self.rec.config.image.clone());
        a
    }

    /// Take over the orphan: record ourselves as its monitor, hand the lock back.
    fn adopted(&mut self, o: crate::adopt::Orphan) -> Result<(Pid, Stdio, OwnedFd)> {
        let io = Stdio {
            stdout: o.stdout,
            stderr: o.stderr,
            ..Stdio::default()
        };
        self.db.update_state(&self.id, |s| s.error.clear())?;
        let mut a = self.attrs();
        a.insert("adopted".into(), "true".into());
        let _ = self.db.event("container", "monitor", &self.id, &a);
        if let Some(h) = self.health.as_mut() {
            h.reset();
        }
        self.broadcast(attach::STARTED, o.pid.to_string().as_bytes());
        self.lock = None;
        Ok((Pid::from_raw(o.pid), io, o.pidfd))
    }

    /// Before a restart of an adopted container: mount its root and write its bundle.
    fn prepare_again(&mut self) -> Result<()> {
        if !self.prepared {
            let rec = self.db.get(&self.id)?;
            prepare(self.paths, &rec, None, self.ip, self.network.as_ref())?;
            self.prepared = true;
        }
        Ok(())
    }

    fn start_container(&mut self) -> Result<(Pid, Stdio)> {
        let c = &self.rec.config;
        let mut io = Stdio::default();
        let pipe = || {
            nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC)
                .map_err(|e| Error::io("pipe", "stdio", e.into()))
        };
        let mut child_ends: Vec<(OwnedFd, RawFd)> = Vec::new();
        if !c.tty {
            // FIFOs, so the output outlives this monitor (crate::adopt).
            let dir = self.paths.container(&self.id);
            let (r, w) = crate::adopt::fifo(&dir, "stdout")?;
            io.stdout = Some(r);
            child_ends.push((w, 1));
            let (r, w) = crate::adopt::fifo(&dir, "stderr")?;
            io.stderr = Some(r);
            child_ends.push((w, 2));
            if c.open_stdin {
                let (r, w) = pipe()?;
                io.stdin = Some(w);
                child_ends.push((r, 0));
            }
        }
        for (fd, target) in &child_ends {
            dup_onto(fd.as_raw_fd(), *target)?;
        }
        let rt = self.paths.runtime_root();
        let bundle = self.paths.container(&self.id);
        runtime::debug!("monitor {}: bundle written, creating", self.id);
        let created = runtime::create::create(&runtime::create::CreateOpts {
            root: &rt,
            id: &self.id,
            bundle: &bundle,
            console_socket: None,
            pid_file: None,
            preserve_fds: 0,
            mode: runtime::create::Mode::Run,
            sigmask: self.sigmask,
        });
        for t in 0..2 {
            dup_onto(self.devnull.as_raw_fd(), t)?;
        }
        dup_onto(self.log_fd.as_raw_fd(), 2)?;
        drop(child_ends);
        let mut created = created.map_err(crate::start_error)?;
        io.pty = created.pty.take();
        if let Err(e) = self.join_networks(created.state.pid) {
            let pid = Pid::from_raw(created.state.pid);
            let _ = nix::sys::signal::kill(pid, nix::sys::signal::SIGKILL);
            let _ = waitpid(pid, None);
            let endpoints = self
                .db
                .get(&self.id)
                .map(|r| r.state.endpoints)
                .unwrap_or_default();
            let _ = crate::network::detach(&self.id, &std::mem::take(&mut self.ports), &endpoints);
            let _ = self.db.update_state(&self.id, |s| s.endpoints.clear());
            let _ = runtime::ops::delete(&rt, &self.id, true);
            return Err(e);
        }
        let started = (|| -> runtime::Result<()> {
            created.chan.send(&runtime::sync::Msg::Start)?;
            match created.chan.recv()? {
                None => Ok(()),
                Some(runtime::sync::Msg::Error(e)) => Err(runtime::Error::Child(e)),
                Some(m) => Err(runtime::Error::Invalid(format!(
                    "unexpected message {m:?} from init"
                ))),
            }
        })();
        let pid = created.state.pid;
        if let Err(e) = started {
            let _ = waitpid(Pid::from_raw(pid), None);
            let _ = runtime::ops::delete(&rt, &self.id, true);
            return Err(crate::start_error(e));
        }
        let now = crate::time::now_rfc3339();
        let ports = self.ports.clone();
        let health_status = self.health.as_ref().map(|_| crate::config::Health {
            status: "starting".into(),
            ..Default::default()
        });
        self.db.update_state(&self.id, |s| {
            s.status = ContainerStatus::Running;
            s.pid = pid;
            s.started_at = now.clone();
            s.error.clear();
            s.oom_killed = false;
            s.health = health_status.clone();
            s.ports = ports.clone();
        })?;
        let _ = self.db.event("container", "start", &self.id, &self.attrs());
        if let Some(h) = self.health.as_mut() {
            h.reset();
        }
        self.broadcast(attach::STARTED, pid.to_string().as_bytes());
        // It runs: other commands may act on it now.
        self.lock = None;
        Ok((Pid::from_raw(pid), io))
    }

    fn broadcast(&mut self, kind: u8, data: &[u8]) {
        let frame = attach::frame(kind, data);
        self.clients.retain_mut(|c| {
            let wants = match kind {
                attach::STDOUT => c.out,
                attach::STDERR => c.err,
                _ => true,
            };
            !wants || c.stream.write_all(&frame).is_ok()
        });
    }

    fn accept_clients(&mut self) {
        let _ = self.listener.set_nonblocking(true);
        while let Ok((s, _)) = self.listener.accept() {
            let _ = s.set_nonblocking(false);
            self.clients.push(Client::new(s, ""));
        }
    }

    /// Relay stdio until the container's init exits; returns its exit code and whether
    /// the OOM killer ended it.
    fn relay(&mut self, init: Pid, mut io: Stdio, pidfd: Option<OwnedFd>) -> Result<(i32, bool)> {
        // An adopted init is not our child: its exit shows on its pidfd, without a status.
        let mut pidfd = pidfd;
        let mut exit: Option<i32> = None;
        let mut drain_deadline: Option<Instant> = None;
        let mut trimmed = false;
        let mut buf = vec![0u8; 64 * 1024];
        let oom_before = self.oom_count();
        loop {
            let outputs_open = io.stdout.is_some() || io.stderr.is_some() || io.pty.is_some();
            if exit.is_some()
                && (!outputs_open || drain_deadline.is_some_and(|d| Instant::now() >= d))
            {
                break;
            }
            let mut timeout = self.health.as_ref().map(|h| h.until_next());
            // Once nothing has happened for a second, shed what the last work touched.
            if !trimmed {
                timeout = Some(timeout.map_or(IDLE, |t| t.min(IDLE)));
            }
            if let Some(d) = drain_deadline {
                let left = d.saturating_duration_since(Instant::now());
                timeout = Some(timeout.map_or(left, |t| t.min(left)));
            }
            // Poll set: signals, listener, outputs, health pipe, clients.
            let mut fds: Vec<(RawFd, u8, usize)> = vec![
                (self.sfd.as_fd().as_raw_fd(), 0, 0),
                (self.listener.as_raw_fd(), 1, 0),
            ];
            for (i, f) in [&io.stdout, &io.stderr, &io.pty].into_iter().enumerate() {
                if let Some(f) = f {
                    fds.push((f.as_raw_fd(), 2, i));
                }
            }
            if let Some(fd) = self.health.as_ref().and_then(|h| h.pipe_fd()) {
                fds.push((fd, 3, 0));
            }
            for (i, c) in self.clients.iter().enumerate() {
                fds.push((c.stream.as_raw_fd(), 4, i));
            }
            if let Some(p) = &pidfd {
                fds.push((p.as_raw_fd(), 5, 0));
            }
            let mut pfds: Vec<libc::pollfd> = fds
                .iter()
                .map(|(fd, _, _)| libc::pollfd {
                    fd: *fd,
                    events: libc::POLLIN,
                    revents: 0,
                })
                .collect();
            let ms = timeout.map_or(-1, |t| t.as_millis().min(i32::MAX as u128) as i32);
            // SAFETY: pfds is a valid array of pollfd for its length.
            let n = unsafe { libc::poll(pfds.as_mut_ptr(), pfds.len() as libc::nfds_t, ms) };
            if n < 0 {
                continue;
            }
            if n == 0 && !trimmed && exit.is_none() {
                self.db.release_memory();
                trim_rss();
                trimmed = true;
            } else if n > 0 {
                // Activity (output, clients, signals) faults pages back in: trim again
                // after the next quiet second.
                trimmed = false;
            }
            let mut dead_clients = Vec::new();
            for (p, (_, kind, idx)) in pfds.iter().zip(fds.iter()) {
                if p.revents == 0 {
                    continue;
                }
                match kind {
                    0 => {
                        while let Ok(Some(_)) = self.sfd.read_signal() {}
                        loop {
                            match waitpid(None, Some(WaitPidFlag::WNOHANG)) {
                                Ok(WaitStatus::StillAlive) | Err(_) => break,
                                Ok(ws) => {
                                    if ws.pid() == Some(init) {
                                        exit = runtime::wait::exit_code(ws);
                                        drain_deadline =
                                            Some(Instant::now() + Duration::from_millis(200));
                                    } else if let (Some(h), Some(p)) =
                                        (self.health.as_mut(), ws.pid())
                                    {
                                        h.reaped(p, runtime::wait::exit_code(ws).unwrap_or(-1));
                                    }
                                }
                            }
                        }
                    }
                    1 => self.accept_clients(),
                    2 => {
                        let slot = match idx {
                            0 => &mut io.stdout,
                            1 => &mut io.stderr,
                            _ => &mut io.pty,
                        };
                        let Some(f) = slot.as_ref() else { continue };
                        match nix::unistd::read(f, &mut buf) {
                            Ok(0) | Err(nix::errno::Errno::EIO) => *slot = None,
                            Ok(n) => {
                                let stream = if *idx == 1 { 2 } else { 1 };
                                let _ = self.log.write(stream, &buf[..n]);
                                let kind = if stream == 2 {
                                    attach::STDERR
                                } else {
                                    attach::STDOUT
                                };
                                let data = buf[..n].to_vec();
                                self.broadcast(kind, &data);
                            }
                            Err(nix::errno::Errno::EINTR) | Err(nix::errno::Errno::EAGAIN) => {}
                            Err(_) => *slot = None,
                        }
                    }
                    3 => {
                        if let Some(h) = self.health.as_mut() {
                            h.read_output();
                        }
                    }
                    5 => {
                        if pidfd.as_ref().is_some_and(crate::adopt::exited) {
                            pidfd = None;
                            self.exit_unknown = true;
                            exit = Some(255);
                            drain_deadline = Some(Instant::now() + Duration::from_millis(200));
                        }
                    }
                    _ => {
                        let Some(c) = self.clients.get_mut(*idx) else {
                            continue;
                        };
                        match c.stream.read(&mut buf) {
                            Ok(0) | Err(_) => dead_clients.push(*idx),
                            Ok(n) => {
                                c.dec.push(&buf[..n]);
                                while let Some((k, p)) = c.dec.next_frame() {
                                    match k {
                                        attach::ATTACH => {
                                            c.out = p.contains(&b'o');
                                            c.err = p.contains(&b'e');
                                            c.input = p.contains(&b'i');
                                        }
                                        attach::STDIN => {
                                            let target = io.pty.as_ref().or(io.stdin.as_ref());
                                            if let Some(t) = target {
                                                let _ = write_all_fd(t, &p);
                                            }
                                        }
                                        attach::STDIN_CLOSE if c.input => {
                                            io.stdin = None;
                                            if let Some(t) = io.pty.as_ref() {
                                                // EOF on a terminal: ^D.
                                                let _ = write_all_fd(t, &[4]);
                                            }
                                        }
                                        attach::RESIZE if p.len() == 4 => {
                                            if let Some(t) = io.pty.as_ref() {
                                                let ws = libc::winsize {
                                                    ws_row: u16::from_be_bytes([p[0], p[1]]),
                                                    ws_col: u16::from_be_bytes([p[2], p[3]]),
                                                    ws_xpixel: 0,
                                                    ws_ypixel: 0,
                                                };
                                                // SAFETY: TIOCSWINSZ reads the winsize we own.
                                                unsafe {
                                                    libc::ioctl(
                                                        t.as_raw_fd(),
                                                        libc::TIOCSWINSZ,
                                                        &ws,
                                                    )
                                                };
                                            }
                                        }
                                        _ => {}
                                    }
                                }
                            }
                        }
                    }
                }
            }
            dead_clients.sort_unstable();
            for i in dead_clients.into_iter().rev() {
                if i < self.clients.len() {
                    self.clients.remove(i);
                }
            }
            if exit.is_none() {
                let (rt, id) = (self.paths.runtime_root(), self.id.clone());
                if let Some(h) = self.health.as_mut() {
                    if let Some(result) = h.tick(&rt, &id, self.sigmask, &self.devnull) {
                        let _ = crate::health::record(&mut self.db, &self.id, &self.rec, h, result);
                    }
                }
            }
        }
        let oom = self.oom_count() > oom_before;
        let _ = self.log.flush_partial();
        if let Some(h) = self.health.as_mut() {
            h.abandon();
        }
        runtime::debug!("monitor {}: container exited", self.id);
        // What is attached now (`network connect`/`disconnect` change it while it runs).
        let all = self.db.list().unwrap_or_default();
        let (ports, endpoints) = match all.iter().find(|r| r.id == self.id) {
            Some(r) => (r.state.ports.clone(), r.state.endpoints.clone()),
            None => (self.ports.clone(), Vec::new()),
        };
        self.ports.clear();
        if self.ip.is_some() || !endpoints.is_empty() {
            let _ = self.db.update_state(&self.id, |s| s.endpoints.clear());
            // The veths go with the container's network namespace, which the kernel tears
            // down on its own once the container is gone; deleting them here would only wait
            // for it (tens of ms). Only a namespace still shared with a running
            // `--network container:` user keeps them: those are deleted now.
            let shared = all.iter().any(|r| {
                r.config.network_mode.container() == Some(self.id.as_str())
                    && r.state.status.is_up()
            });
            let res = if shared {
                crate::network::detach(&self.id, &ports, &endpoints)
            } else {
                net::bridge::unpublish(&ports).map_err(Error::Net)
            };
            if let Err(e) = res {
                eprintln!("quai: monitor {}: {e}", self.id);
            }
        }
        if let Err(e) = runtime::ops::delete(&self.paths.runtime_root(), &self.id, true) {
            eprintln!("quai: monitor {}: delete: {e}", self.id);
        }
        let code = exit.unwrap_or(255);
        // The OOM killer's SIGKILL: Docker reports 137 with OOMKilled.
        Ok((code, oom && code == 137))
    }

    /// OOM kills counted by the container's memory cgroup.
    fn oom_count(&self) -> u64 {
        let Ok(st) = runtime::state::State::load(&self.paths.runtime_root(), &self.id) else {
            return 0;
        };
        let mut files: Vec<PathBuf> = st
            .cgroups
            .v1
            .iter()
            .filter(|(c, _)| c.split(',').any(|x| x == "memory"))
            .map(|(_, d)| d.join("memory.oom_control"))
            .collect();
        if let Some(d) = &st.cgroups.v2 {
            files.push(d.join("memory.events"));
        }
        files
            .iter()
            .filter_map(|f| std::fs::read_to_string(f).ok())
            .flat_map(|s| {
                s.lines()
                    .filter_map(|l| {
                        l.strip_prefix("oom_kill ")
                            .and_then(|v| v.trim().parse::<u64>().ok())
                    })
                    .collect::<Vec<_>>()
            })
            .sum()
    }
}

/// How long a monitor waits idle before it sheds its start-up memory.
const IDLE: Duration = Duration::from_secs(1);

/// Drop what starting the container touched and idling does not need: the binary's
/// read-only pages (they stay in the page cache, shared by every monitor, and fault back in
/// on use) and free heap. An idle monitor then holds little more than its loop
/// (docs/adr/007).
fn trim_rss() {
    let exe = std::fs::read_link("/proc/self/exe").unwrap_or_default();
    let smaps = std::fs::read_to_string("/proc/self/smaps").unwrap_or_default();
    // (start, end, eligible): read-only mappings of our binary without private copies
    // (RELRO pages were written at start-up: dropping them would undo the relocations).
    let mut cur: Option<(usize, usize, bool)> = None;
    let mut ranges = Vec::new();
    for l in smaps.lines() {
        let f: Vec<&str> = l.split_whitespace().collect();
        if let Some((a, b)) = f.first().and_then(|r| r.split_once('-')) {
            if let (Ok(a), Ok(b)) = (usize::from_str_radix(a, 16), usize::from_str_radix(b, 16)) {
                ranges.extend(cur.take().filter(|c| c.2));
                let ok = f.len() >= 6 && Path::new(f[5]) == exe && !f[1].contains('w');
                cur = Some((a, b, ok));
                continue;
            }
        }
        if f.first() == Some(&"Anonymous:") && f.get(1) != Some(&"0") {
            if let Some(c) = cur.as_mut() {
                c.2 = false;
            }
        }
    }
    ranges.extend(cur.take().filter(|c| c.2));
    for (a, b, _) in ranges {
        // SAFETY: MADV_DONTNEED on a read-only private file mapping that holds no private
        // pages only drops page table entries; the same file contents fault back in.
        unsafe { libc::madvise(a as *mut libc::c_void, b - a, libc::MADV_DONTNEED) };
    }
    // SAFETY: malloc_trim only returns free heap memory to the kernel.
    unsafe { libc::malloc_trim(0) };
}

fn dup_onto(fd: RawFd, target: RawFd) -> Result<()> {
    // SAFETY: dup2 onto a standard descriptor number; both are valid fds.
    if unsafe { libc::dup2(fd, target) } < 0 {
        return Err(Error::io("dup2", "stdio", std::io::Error::last_os_error()));
    }
    Ok(())
}

fn write_all_fd(fd: &OwnedFd, mut data: &[u8]) -> nix::Result<()> {
    while !data.is_empty() {
        match nix::unistd::write(fd, data) {
            Ok(n) => data = &data[n..],
            Err(nix::errno::Errno::EINTR) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}
