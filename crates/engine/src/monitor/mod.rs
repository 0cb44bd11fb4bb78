//! The per-container monitor (`quai __monitor ID`): started by the CLI, it double-forks,
//! becomes a child subreaper in a private mount namespace, mounts the container's root,
//! writes the bundle, runs the container through the runtime library, owns its stdio
//! (pipes, or the pty), writes the json-file log, serves attach on a unix socket, runs the
//! health check, records the exit (and OOM kills) and applies the restart policy.
//!
//! The overlay mount lives only in the monitor's mount namespace (and the container's):
//! when both are gone the kernel drops it, so a killed CLI or monitor never leaks a mount.

use std::collections::BTreeMap;
use std::io::Write;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::net::{UnixListener, UnixStream};
use std::time::{Duration, Instant};

use nix::sys::signal::{SigSet, Signal};
use nix::sys::signalfd::{SfdFlags, SignalFd};
use nix::sys::wait::waitpid;
use nix::unistd::Pid;

use crate::attach;
use crate::config::ContainerStatus;
use crate::db::{Db, Record};
use crate::health::Health;
use crate::{Error, Paths, Result};

/// The hidden subcommand that runs a monitor.
pub use crate::launch::ARG;

mod bundle;
mod relay;

use bundle::prepare;

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
    /// Its spec, once its root is mounted and its bundle written (not yet when we
    /// adopted it).
    spec: Option<oci_spec::runtime::Spec>,
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
    let (ip, spec, orphan) = if adopt {
        // Its address, ports and root stay as the dead monitor left them; the root is
        // mounted again only for a restart.
        crate::rootfs::private_mount_namespace()?;
        let o = crate::adopt::take(&paths.runtime_root(), &paths.container(id), id)?;
        (rec.state.ip.parse().ok(), None, Some(o))
    } else {
        let ip = match &network {
            Some(n) => {
                let want = crate::network::parse_ip(rec.config.ip.as_deref())?;
                Some(db.allocate_ip(id, n, want)?)
            }
            None => None,
        };
        let spec = prepare(paths, &rec, tty_size, ip, network.as_ref())?;
        (ip, Some(spec), None)
    };
    let sock = paths.socket(id);
    if let Some(d) = sock.parent() {
        std::fs::create_dir_all(d).map_err(|e| Error::io("create", d, e))?;
    }
    let _ = std::fs::remove_file(&sock);
    let listener = UnixListener::bind(&sock).map_err(|e| Error::io("listen on", &sock, e))?;
    let lc = &rec.config.log_config;
    let log = if lc.keeps_logs() {
        let rotation = crate::logs::Rotation {
            max_size: lc.max_size(),
            max_file: lc.max_file(),
        };
        crate::logs::Writer::rotating(&paths.log(id), rotation)
            .map_err(|e| Error::io("open", paths.log(id), e))?
    } else {
        crate::logs::Writer::discard()
    };
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
        spec,
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
            // `update --restart` may have changed the policy since this monitor began.
            if let Ok(now) = self.db.get(&self.id) {
                self.rec.config.restart = now.config.restart;
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

    /// The attributes of this container's events: its name, image and labels (compose
    /// follows its project's containers by label).
    fn attrs(&self) -> BTreeMap<String, String> {
        self.rec.event_attrs()
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
        if self.spec.is_none() {
            let rec = self.db.get(&self.id)?;
            self.spec = Some(prepare(
                self.paths,
                &rec,
                None,
                self.ip,
                self.network.as_ref(),
            )?);
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
            spec: self.spec.as_ref(),
            console_socket: None,
            pid_file: None,
            preserve_fds: 0,
            mode: runtime::create::Mode::Run,
            sigmask: self.sigmask,
            systemd_cgroup: self.rec.config.cgroup_manager == "systemd",
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
