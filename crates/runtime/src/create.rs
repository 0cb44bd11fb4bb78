//! `create` (and the first half of `run`): fork the container's init through a short-lived
//! stage-1 child that joins and creates namespaces.
//!
//! ```text
//! runtime ──fork──> stage1: wait Go (it is in its cgroup) ─ setns(paths) ─ unshare(user)
//!    │                 ─ [runtime writes id maps] ─ unshare(rest) ─ fork ─> init ─ exit
//!    │                                                                      │
//!    └─ cgroups, id maps, prestart/createRuntime hooks, state.json <── sync ┘
//! init: mounts, devices, createContainer hooks, pivot_root, ... Ready, then waits on
//! exec.fifo (create) or a Start message (run), then startContainer hooks and execve.
//! ```

use std::os::fd::{AsRawFd, OwnedFd};
use std::path::{Path, PathBuf};

use nix::sys::signal::SigSet;
use nix::unistd::ForkResult;
use oci_spec::runtime::{LinuxNamespaceType, Spec};

use crate::cgroups::{self, CgroupPaths};
use crate::error::{Error, IoContext, Result, SysContext};
use crate::spec::Bundle;
use crate::state::{self, State, EXEC_FIFO};
use crate::sync::{self, Channel, Msg};

/// How the container will be started.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// `create`: init waits on `exec.fifo` for `start`.
    Create,
    /// `run`: init waits for a Start message from this process, which stays its parent.
    Run,
}

/// Options of `create`.
pub struct CreateOpts<'a> {
    /// State root (`--root`).
    pub root: &'a Path,
    /// Container id.
    pub id: &'a str,
    /// Bundle directory.
    pub bundle: &'a Path,
    /// The spec, when the caller holds it in memory (else `config.json` is read).
    pub spec: Option<&'a Spec>,
    /// `--console-socket`.
    pub console_socket: Option<&'a Path>,
    /// `--pid-file`.
    pub pid_file: Option<&'a Path>,
    /// `--preserve-fds`.
    pub preserve_fds: i32,
    /// Create or run.
    pub mode: Mode,
    /// Signal mask to restore in the container (run blocks signals before forking).
    pub sigmask: SigSet,
    /// The systemd cgroup driver (runc's `--systemd-cgroup`): `cgroupsPath` is
    /// `slice:prefix:name`, and the cgroup a transient scope.
    pub systemd_cgroup: bool,
}

/// A created container, as the caller needs it afterwards.
pub struct Created {
    /// Its state record.
    pub state: State,
    /// Its spec.
    pub spec: Spec,
    /// The sync channel (run mode: to send Start).
    pub chan: Channel,
    /// The pty master when `run` allocated the terminal itself (no console socket).
    pub pty: Option<OwnedFd>,
}

/// Create the container. On failure nothing is left: no state dir, no cgroup, no process.
pub fn create(o: &CreateOpts<'_>) -> Result<Created> {
    state::check_id(o.id)?;
    crate::selfexe::require_protected("create a container")?;
    let bundle = match o.spec {
        Some(s) => crate::spec::bundle_from(o.bundle, s.clone())?,
        None => crate::spec::load_bundle(o.bundle)?,
    };
    crate::debug!(
        "{}: bundle {} loaded, rootfs {}",
        o.id,
        bundle.dir.display(),
        bundle.rootfs.display()
    );
    let spec = &bundle.spec;
    // Without a process, `create` still builds the container (runtime-tools expects that)
    // and `start` refuses; `run` has nothing to run.
    if spec.process().is_none() && o.mode == Mode::Run {
        return Err(Error::Invalid(
            "config has no process: nothing to run".into(),
        ));
    }
    let no_limits = Vec::new();
    let rlimits = spec
        .process()
        .as_ref()
        .and_then(|p| p.rlimits().as_ref())
        .unwrap_or(&no_limits);
    crate::process::check_rlimits(rlimits)?;
    let seccomp = match spec.linux().as_ref().and_then(|l| l.seccomp().as_ref()) {
        Some(s) => Some(crate::security::build_filter(s)?),
        None => None,
    };
    if spec.process().as_ref().and_then(|p| p.terminal()) == Some(true)
        && o.console_socket.is_none()
        && o.mode == Mode::Create
    {
        return Err(Error::Invalid(
            "process.terminal is true: --console-socket is required".into(),
        ));
    }
    warn_unsupported(spec);
    let joins = crate::namespaces::open_spec_paths(spec)?;

    std::fs::create_dir_all(o.root).ctx("create state root", o.root)?;
    let dir = state::container_dir(o.root, o.id);
    match std::fs::create_dir(&dir) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            return Err(Error::Exists(o.id.to_string()))
        }
        Err(e) => return Err(Error::io("create state dir", dir, e)),
    }
    let layout = cgroups::Layout::detect()?;
    let own = cgroups::own_cgroups(
        &std::fs::read_to_string("/proc/self/cgroup").ctx("read", "/proc/self/cgroup")?,
    );
    let spec_path = spec
        .linux()
        .as_ref()
        .and_then(|l| l.cgroups_path().as_deref());
    let mut cg = if o.systemd_cgroup {
        cgroups::systemd::resolve(
            &layout,
            spec_path.map(|p| p.to_string_lossy()).as_deref(),
            o.id,
        )?
    } else {
        cgroups::resolve(&layout, &own, spec_path, o.id)
    };
    // Rootless without a cgroup tree of its own (not delegated): no cgroups at all, as
    // runc and podman do, unless limits were asked for.
    if crate::userns::in_child_userns() && !cgroups::writable(&cg) {
        let limited = spec
            .linux()
            .as_ref()
            .and_then(|l| l.resources().as_ref())
            .is_some_and(cgroups::has_limits);
        if limited {
            return Err(Error::Invalid(
                "this user has no cgroups of their own (rootless, and none delegated), so \
                 resource limits cannot be applied"
                    .into(),
            ));
        }
        cg = CgroupPaths::default();
    }

    let mut guard = Cleanup {
        dir: dir.clone(),
        cgroups: None,
        pids: vec![],
    };
    let res = launch(o, &bundle, seccomp, joins, &cg, &mut guard);
    match res {
        Ok(c) => {
            guard.disarm();
            Ok(c)
        }
        Err(e) => match guard.run() {
            Ok(()) => Err(e),
            Err(c) => Err(Error::WithCleanup {
                error: Box::new(e),
                cleanup: c,
            }),
        },
    }
}

/// Staged idmapped mounts, released when `launch` returns (the container has its own
/// copies by then, or failed).
struct Staged<'a>(&'a [(usize, PathBuf)], &'a Path);

impl Drop for Staged<'_> {
    fn drop(&mut self) {
        crate::idmap::release(self.0, self.1);
    }
}

/// Undo a half-made container; keeps going and reports every failure.
struct Cleanup {
    dir: PathBuf,
    cgroups: Option<CgroupPaths>,
    pids: Vec<i32>,
}

impl Cleanup {
    fn disarm(&mut self) {
        self.dir = PathBuf::new();
        self.cgroups = None;
        self.pids.clear();
    }

    fn run(&mut self) -> std::result::Result<(), String> {
        let mut errs = Vec::new();
        for pid in self.pids.drain(..) {
            let p = nix::unistd::Pid::from_raw(pid);
            let _ = nix::sys::signal::kill(p, nix::sys::signal::SIGKILL);
            let _ = nix::sys::wait::waitpid(p, None);
        }
        if let Some(cg) = self.cgroups.take() {
            if let Ok(pids) = cgroups::pids(&cg) {
                for pid in pids {
                    let _ = nix::sys::signal::kill(
                        nix::unistd::Pid::from_raw(pid),
                        nix::sys::signal::SIGKILL,
                    );
                }
            }
            if let Err(e) = cgroups::destroy(&cg) {
                errs.push(e.to_string());
            }
        }
        if !self.dir.as_os_str().is_empty() {
            if let Err(e) = std::fs::remove_dir_all(&self.dir) {
                errs.push(format!("remove {}: {e}", self.dir.display()));
            }
        }
        if errs.is_empty() {
            Ok(())
        } else {
            Err(errs.join("; "))
        }
    }
}

/// What the init process waits on before it executes the user process.
enum StartGate {
    Fifo(OwnedFd),
    Message,
}

fn launch(
    o: &CreateOpts<'_>,
    bundle: &Bundle,
    seccomp: Option<libseccomp::ScmpFilterContext>,
    joins: Vec<crate::namespaces::Join>,
    cg: &CgroupPaths,
    guard: &mut Cleanup,
) -> Result<Created> {
    let spec = &bundle.spec;
    let dir = state::container_dir(o.root, o.id);
    let gate = match o.mode {
        Mode::Create => {
            let fifo = dir.join(EXEC_FIFO);
            nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::from_bits_truncate(0o600))
                .sys("mkfifo", fifo.display())?;
            // O_RDWR: opening does not block, and reads block until `start` writes.
            let fd = nix::fcntl::open(
                &fifo,
                nix::fcntl::OFlag::O_RDWR | nix::fcntl::OFlag::O_CLOEXEC,
                nix::sys::stat::Mode::empty(),
            )
            .sys("open", fifo.display())?;
            StartGate::Fifo(fd)
        }
        Mode::Run => StartGate::Message,
    };
    let want_tty = spec.process().as_ref().and_then(|p| p.terminal()) == Some(true);
    // Without a console socket, `run` receives the pty master itself and relays it.
    let (console, pty_peer) = match o.console_socket {
        Some(p) => (Some(crate::console::connect(p)?), None),
        None if want_tty && o.mode == Mode::Run => {
            let (ours, theirs) =
                std::os::unix::net::UnixStream::pair().ctx("socketpair", "console")?;
            (Some(theirs), Some(ours))
        }
        None => (None, None),
    };
    let listener = crate::security::connect_listener(
        spec.linux().as_ref().and_then(|l| l.seccomp().as_ref()),
    )?;
    // Keep a copy of the config for exec, and the bundle path for state.
    std::fs::copy(bundle.dir.join("config.json"), dir.join("config.json"))
        .ctx("copy config", dir.join("config.json"))?;

    // Idmapped mounts only the host's root can make: before the fork, staged in the
    // state dir; the container's mount namespace is a copy, so they go once it has them.
    let staging = dir.join("idmap");
    let idmapped = crate::idmap::prepare(spec, &bundle.dir, &staging)?;
    let _staged = Staged(&idmapped, &staging);
    let (parent, child) = sync::pair()?;
    if o.mode == Mode::Run {
        // The init is forked by stage 1; becoming a subreaper makes it our child.
        nix::sys::prctl::set_child_subreaper(true).sys("prctl", "PR_SET_CHILD_SUBREAPER")?;
    }
    let ctx = InitCtx {
        bundle,
        seccomp: std::cell::Cell::new(seccomp),
        joins,
        gate,
        console: console.as_ref().map(|c| c.as_raw_fd()),
        listener: listener.as_ref().map(|(s, m)| (s.as_raw_fd(), m.clone())),
        preserve_fds: o.preserve_fds,
        sigmask: o.sigmask,
        cgroups: cg,
        idmapped: &idmapped,
    };
    // SAFETY: the runtime is single-threaded here (no thread was ever started), so the
    // child may allocate and run ordinary Rust code until it execs or exits.
    let stage1 = match unsafe { nix::unistd::fork() }.sys("fork", "stage-1 child")? {
        ForkResult::Child => {
            drop(parent);
            stage1_main(&ctx, &child)
        }
        ForkResult::Parent { child: pid } => pid,
    };
    drop(child);
    drop(ctx);
    crate::debug!("{}: stage 1 is pid {stage1}", o.id);
    guard.pids.push(stage1.as_raw());
    let devices = spec
        .linux()
        .as_ref()
        .and_then(|l| l.devices().clone())
        .unwrap_or_default();
    let mut cg = cg.clone();
    cgroups::note_created_parents(&mut cg);
    // A first record, so that a runtime killed from here on leaves something `delete
    // --force` can clean (pid 0 reads as stopped; the cgroups are known).
    let mut st = State {
        version: 1,
        id: o.id.to_string(),
        pid: 0,
        start_time: 0,
        bundle: bundle.dir.clone(),
        rootfs: bundle.rootfs.clone(),
        created: state::now_rfc3339(),
        owner: owner(),
        annotations: spec.annotations().clone().unwrap_or_default(),
        cgroups: cg.clone(),
        own_pid_ns: crate::spec::new_namespace(spec, LinuxNamespaceType::Pid),
    };
    st.save(o.root)?;
    // The guard learns the directories (and created parents) before any exists.
    guard.cgroups = Some(cg.clone());
    cgroups::prepare(
        &cg,
        spec.linux().as_ref().and_then(|l| l.resources().as_ref()),
        &devices,
    )?;

    let mut init_pid = None;
    while init_pid.is_none() {
        match parent.recv()? {
            Some(Msg::UsernsReady) => {
                crate::namespaces::write_id_maps(stage1.as_raw(), spec)?;
                parent.send(&Msg::MapsWritten)?;
            }
            Some(Msg::InitPid(p)) => init_pid = Some(p),
            Some(Msg::Error(e)) => return Err(Error::Child(e)),
            Some(m) => {
                return Err(Error::Invalid(format!(
                    "unexpected message {m:?} from stage 1"
                )))
            }
            None => return Err(Error::child("stage-1 child exited before forking init")),
        }
    }
    let init_pid = init_pid.unwrap_or_default();
    crate::debug!("{}: init is pid {init_pid}; cgroups {:?}", o.id, cg);
    cgroups::place(
        &cg,
        init_pid,
        spec.linux().as_ref().and_then(|l| l.resources().as_ref()),
        &devices,
    )?;
    parent.send(&Msg::Go)?;
    let _ = nix::sys::wait::waitpid(stage1, None);
    guard.pids.retain(|p| *p != stage1.as_raw());
    guard.pids.push(init_pid);

    let (start_time, _) =
        state::proc_stat(init_pid).ok_or_else(|| Error::child("init exited during create"))?;
    st.pid = init_pid;
    st.start_time = start_time;
    let st = st;
    let state_json =
        |status: state::Status| serde_json::to_vec(&st.oci_json(status)).unwrap_or_default();
    match parent.recv()? {
        Some(Msg::RuntimeHooks) => {
            if let Some(h) = spec.hooks() {
                let json = state_json(state::Status::Created);
                crate::hooks::run("prestart", h.prestart().as_deref().unwrap_or(&[]), &json)?;
                crate::hooks::run(
                    "createRuntime",
                    h.create_runtime().as_deref().unwrap_or(&[]),
                    &json,
                )?;
            }
            let json = String::from_utf8(state_json(state::Status::Created)).unwrap_or_default();
            parent.send(&Msg::HooksDone(json))?;
        }
        Some(Msg::Error(e)) => return Err(Error::Child(e)),
        Some(m) => {
            return Err(Error::Invalid(format!(
                "unexpected message {m:?} from init"
            )))
        }
        None => return Err(Error::child("init exited during create")),
    }
    parent.expect(&Msg::Ready, "create")?;
    crate::debug!("{}: init ready (root set up, waiting for start)", o.id);
    let pty = match &pty_peer {
        Some(sock) => Some(sync::recv_fd(sock.as_raw_fd())?),
        None => None,
    };
    st.save(o.root)?;
    if let Some(p) = o.pid_file {
        write_pid_file(p, init_pid)?;
    }
    Ok(Created {
        state: st,
        spec: spec.clone(),
        chan: parent,
        pty,
    })
}

/// Write a pid file atomically.
pub fn write_pid_file(p: &Path, pid: i32) -> Result<()> {
    let tmp = p.with_extension("quai-tmp");
    std::fs::write(&tmp, pid.to_string()).ctx("write pid file", &tmp)?;
    std::fs::rename(&tmp, p).ctx("write pid file", p)
}

fn owner() -> String {
    // Read /etc/passwd directly: NSS does not work in a static binary (docs/adr/002).
    let uid = nix::unistd::getuid().as_raw();
    std::fs::read_to_string("/etc/passwd")
        .ok()
        .and_then(|s| {
            s.lines().find_map(|l| {
                let f: Vec<&str> = l.split(':').collect();
                (f.len() > 2 && f[2].parse::<u32>().ok() == Some(uid)).then(|| f[0].to_string())
            })
        })
        .unwrap_or_else(|| uid.to_string())
}

struct InitCtx<'a> {
    listener: Option<(i32, String)>,
    bundle: &'a Bundle,
    seccomp: std::cell::Cell<Option<libseccomp::ScmpFilterContext>>,
    joins: Vec<crate::namespaces::Join>,
    gate: StartGate,
    console: Option<i32>,
    preserve_fds: i32,
    sigmask: SigSet,
    cgroups: &'a CgroupPaths,
    idmapped: &'a [(usize, PathBuf)],
}

fn child_fail(chan: &Channel, e: &Error) -> ! {
    if chan.send(&Msg::Error(e.to_child())).is_err() {
        eprintln!("quai-runtime: {e}");
    }
    // SAFETY: _exit skips atexit handlers and stdio flushing, right for a forked child.
    unsafe { libc::_exit(1) }
}

fn stage1_main(ctx: &InitCtx<'_>, chan: &Channel) -> ! {
    let spec = &ctx.bundle.spec;
    let r = (|| -> Result<nix::unistd::Pid> {
        // Die with the runtime if it dies before init is running.
        nix::sys::prctl::set_pdeathsig(nix::sys::signal::SIGKILL)
            .sys("prctl", "PR_SET_PDEATHSIG")?;
        crate::namespaces::join(&ctx.joins)?;
        let flags = crate::namespaces::new_flags(spec);
        if flags.contains(nix::sched::CloneFlags::CLONE_NEWUSER) {
            // Inside, /proc/self/oom_score_adj belongs to nobody: set it first.
            if let Some(score) = spec.process().as_ref().and_then(|p| p.oom_score_adj()) {
                std::fs::write("/proc/self/oom_score_adj", score.to_string())
                    .map_err(|e| Error::io("write", "/proc/self/oom_score_adj", e))?;
            }
            nix::sched::unshare(nix::sched::CloneFlags::CLONE_NEWUSER)
                .sys("unshare", "user namespace")?;
            chan.send(&Msg::UsernsReady)?;
            chan.expect(&Msg::MapsWritten, "stage 1")?;
            let root_u = nix::unistd::Uid::from_raw(0);
            let root_g = nix::unistd::Gid::from_raw(0);
            // A map without 0 (a rootless keep-id of one id): the process keeps its full
            // capabilities in the new namespace until execve all the same.
            match nix::unistd::setresgid(root_g, root_g, root_g) {
                Err(nix::errno::Errno::EINVAL) => {}
                r => r.sys("setgid", 0)?,
            }
            match nix::unistd::setresuid(root_u, root_u, root_u) {
                Err(nix::errno::Errno::EINVAL) => {}
                r => r.sys("setuid", 0)?,
            }
        }
        // The cgroup namespace is made by init once the runtime has put it in its cgroups
        // (which the runtime prepares meanwhile, in parallel with this).
        let rest =
            flags - nix::sched::CloneFlags::CLONE_NEWUSER - nix::sched::CloneFlags::CLONE_NEWCGROUP;
        nix::sched::unshare(rest).sys("unshare", format!("namespaces {rest:?}"))?;
        if rest.contains(nix::sched::CloneFlags::from_bits_retain(
            libc::CLONE_NEWTIME,
        )) {
            write_time_offsets(spec)?;
        }
        // SAFETY: single-threaded (we are a fork of a single-threaded process).
        match unsafe { nix::unistd::fork() }.sys("fork", "init")? {
            ForkResult::Child => init_main(ctx, chan),
            ForkResult::Parent { child } => Ok(child),
        }
    })();
    match r {
        Ok(pid) => {
            let _ = chan.send(&Msg::InitPid(pid.as_raw()));
            // SAFETY: see child_fail.
            unsafe { libc::_exit(0) }
        }
        Err(e) => child_fail(chan, &e),
    }
}

fn write_time_offsets(spec: &Spec) -> Result<()> {
    let Some(offsets) = spec
        .linux()
        .as_ref()
        .and_then(|l| l.time_offsets().as_ref())
    else {
        return Ok(());
    };
    let mut body = String::new();
    for (clock, off) in offsets {
        body.push_str(&format!(
            "{clock} {} {}\n",
            off.secs().unwrap_or(0),
            off.nanosecs().unwrap_or(0)
        ));
    }
    std::fs::write("/proc/self/timens_offsets", body).ctx("write", "/proc/self/timens_offsets")
}

fn init_main(ctx: &InitCtx<'_>, chan: &Channel) -> ! {
    let e = match init_inner(ctx, chan) {
        Ok(f) => f.exec(),
        Err(e) => e,
    };
    child_fail(chan, &e)
}

fn init_inner<'a>(ctx: &'a InitCtx<'a>, chan: &Channel) -> Result<crate::process::Finalize<'a>> {
    let spec = &ctx.bundle.spec;
    chan.expect(&Msg::Go, "init")?;
    if crate::spec::new_namespace(spec, LinuxNamespaceType::Cgroup) {
        nix::sched::unshare(nix::sched::CloneFlags::CLONE_NEWCGROUP)
            .sys("unshare", "cgroup namespace")?;
    }
    let process = spec.process().as_ref();
    let has_mntns = crate::spec::namespace(spec, LinuxNamespaceType::Mount).is_some();
    // A new user namespace, or a runtime in one already (rootless): the same limits.
    let userns = crate::spec::namespace(spec, LinuxNamespaceType::User).is_some()
        || crate::userns::in_child_userns();
    let rootfs = &ctx.bundle.rootfs;
    if has_mntns {
        crate::rootfs::prepare_root(spec, rootfs)?;
        let root_fd = nix::fcntl::open(
            rootfs,
            nix::fcntl::OFlag::O_PATH
                | nix::fcntl::OFlag::O_DIRECTORY
                | nix::fcntl::OFlag::O_CLOEXEC,
            nix::sys::stat::Mode::empty(),
        )
        .sys("open", rootfs.display())?;
        let mctx = crate::rootfs::MountCtx {
            rootfs,
            bundle: &ctx.bundle.dir,
            root_fd,
            userns,
            cgroupns: crate::spec::new_namespace(spec, LinuxNamespaceType::Cgroup),
            cgroups: ctx.cgroups,
            idmapped: ctx.idmapped,
        };
        crate::rootfs::mount_all(&mctx, spec)?;
        if !crate::rootfs::dev_is_bound(spec) {
            let devices = spec
                .linux()
                .as_ref()
                .and_then(|l| l.devices().clone())
                .unwrap_or_default();
            crate::rootfs::create_devices(&mctx, &devices)?;
        }
    }
    chan.send(&Msg::RuntimeHooks)?;
    let state_json = match chan.recv()? {
        Some(Msg::HooksDone(j)) => j,
        Some(Msg::Error(e)) => return Err(Error::Child(e)),
        _ => return Err(Error::child("runtime went away")),
    };
    if let Some(h) = spec.hooks() {
        crate::hooks::run(
            "createContainer",
            h.create_container().as_deref().unwrap_or(&[]),
            state_json.as_bytes(),
        )?;
    }
    if has_mntns {
        crate::rootfs::pivot(rootfs)?;
    } else {
        crate::rootfs::chroot(rootfs)?;
    }
    if let Some(fd) = ctx.console {
        let size = process
            .and_then(|p| p.console_size())
            .map(|b| (b.height() as u16, b.width() as u16));
        crate::console::setup(fd, true, size)?;
        // SAFETY: closing our copy of the console socket fd, which we own.
        unsafe { libc::close(fd) };
    }
    if let Some(linux) = spec.linux() {
        // Sysctls before the read-only paths, which include /proc/sys (runc's order).
        for (k, v) in linux.sysctl().iter().flatten() {
            let p = Path::new("/proc/sys").join(k.replace('.', "/"));
            std::fs::write(&p, v).map_err(|e| Error::Invalid(format!("sysctl {k}={v}: {e}")))?;
        }
        if has_mntns {
            crate::rootfs::mask_paths(linux.masked_paths().as_deref().unwrap_or(&[]))?;
            crate::rootfs::readonly_paths(linux.readonly_paths().as_deref().unwrap_or(&[]))?;
        }
    }
    if let Some(h) = spec.hostname() {
        if !h.is_empty() {
            nix::unistd::sethostname(h).sys("sethostname", h)?;
        }
    }
    if let Some(d) = spec.domainname() {
        if !d.is_empty() {
            // SAFETY: setdomainname reads len bytes from a valid buffer.
            if unsafe { libc::setdomainname(d.as_ptr().cast(), d.len()) } != 0 {
                return Err(Error::sys("setdomainname", d, nix::errno::Errno::last()));
            }
        }
    }
    if has_mntns {
        if spec.root().as_ref().and_then(|r| r.readonly()) == Some(true) {
            crate::rootfs::readonly_root()?;
        }
        if let Some(p) = spec
            .linux()
            .as_ref()
            .and_then(|l| l.rootfs_propagation().as_deref())
        {
            if !p.is_empty() {
                let f = crate::rootfs::parse_propagation(p)?;
                nix::mount::mount(None::<&str>, "/", None::<&str>, f, None::<&str>)
                    .sys("set propagation of", "/")?;
            }
        }
    }
    let Some(process) = process else {
        chan.send(&Msg::Ready)?;
        wait_gate(ctx, chan)?;
        return Err(Error::Invalid(
            "the container has no process to start".into(),
        ));
    };
    let cwd = process.cwd();
    enter_cwd(cwd)?;
    let env = crate::process::environment(process);
    let arg0 = process
        .args()
        .as_ref()
        .and_then(|a| a.first())
        .cloned()
        .unwrap_or_default();
    let exe = crate::process::find_executable(&arg0, &env, cwd)?;
    chan.send(&Msg::Ready)?;
    wait_gate(ctx, chan)?;
    if let Some(h) = spec.hooks() {
        crate::hooks::run(
            "startContainer",
            h.start_container().as_deref().unwrap_or(&[]),
            state_json.as_bytes(),
        )?;
    }
    Ok(crate::process::Finalize {
        process,
        exe,
        env,
        seccomp: ctx.seccomp.take(),
        preserve_fds: ctx.preserve_fds,
        sigmask: ctx.sigmask,
        personality: spec.linux().as_ref().and_then(|l| l.personality().clone()),
        notify: ctx
            .listener
            .as_ref()
            .map(|(sock, metadata)| crate::security::Notify {
                sock: *sock,
                metadata: metadata.clone(),
                pid: serde_json::from_str::<serde_json::Value>(&state_json)
                    .ok()
                    .and_then(|v| v["pid"].as_i64())
                    .unwrap_or(0) as i32,
                state: state_json.clone(),
            }),
    })
}

/// chdir into the process's cwd (creating it like runc) and make sure it is inside the
/// container's root: a leaked host directory fd would show as "(unreachable)"
/// (CVE-2024-21626 class).
pub fn enter_cwd(cwd: &Path) -> Result<()> {
    match nix::unistd::chdir(cwd) {
        Ok(()) => {}
        // Only a missing directory is created (runc's behaviour); any other failure
        // (not a directory, a magic link that resolves nowhere) is reported as it is.
        Err(nix::errno::Errno::ENOENT) => {
            std::fs::create_dir_all(cwd).ctx("create cwd", cwd)?;
            nix::unistd::chdir(cwd).sys("chdir", cwd.display())?;
        }
        Err(e) => {
            return Err(Error::sys(
                "chdir to the working directory",
                cwd.display(),
                e,
            ))
        }
    }
    let now = nix::unistd::getcwd().sys("getcwd", cwd.display())?;
    if !now.is_absolute() || now.starts_with("(unreachable)") {
        return Err(Error::Invalid(format!(
            "cwd {} is outside the container",
            cwd.display()
        )));
    }
    Ok(())
}

/// Block until `start` (the fifo) or `run` (a Start message) releases the init.
fn wait_gate(ctx: &InitCtx<'_>, chan: &Channel) -> Result<()> {
    match &ctx.gate {
        StartGate::Fifo(fd) => {
            let mut b = [0u8; 1];
            loop {
                match nix::unistd::read(fd, &mut b) {
                    Ok(_) => return Ok(()),
                    Err(nix::errno::Errno::EINTR) => continue,
                    Err(e) => return Err(Error::sys("read", "exec fifo", e)),
                }
            }
        }
        StartGate::Message => chan.expect(&Msg::Start, "init"),
    }
}

/// Fields quai accepts but does not apply yet: say so instead of ignoring them silently.
fn warn_unsupported(spec: &Spec) {
    let mut fields = Vec::new();
    if let Some(l) = spec.linux() {
        if l.net_devices().as_ref().is_some_and(|d| !d.is_empty()) {
            fields.push("linux.netDevices");
        }
        if l.intel_rdt().is_some() {
            fields.push("linux.intelRdt");
        }
        if l.memory_policy().is_some() {
            fields.push("linux.memoryPolicy");
        }
        if l.mount_label().as_ref().is_some_and(|m| !m.is_empty()) {
            fields.push("linux.mountLabel");
        }
    }
    if let Some(p) = spec.process() {
        if p.apparmor_profile().as_ref().is_some_and(|a| !a.is_empty()) {
            fields.push("process.apparmorProfile");
        }
        if p.selinux_label().as_ref().is_some_and(|a| !a.is_empty()) {
            fields.push("process.selinuxLabel");
        }
    }
    if !fields.is_empty() {
        eprintln!(
            "quai-runtime: warning: not applied (unsupported): {}",
            fields.join(", ")
        );
    }
}
