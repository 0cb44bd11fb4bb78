//! The verbs that act on an existing container: start, state, kill, delete, pause,
//! resume, ps, list, and `run` (create + start + wait + delete).

use std::path::Path;
use std::time::Duration;

use nix::sys::signal::Signal;
use nix::unistd::Pid;

use crate::error::{Error, IoContext, Result, SysContext};
use crate::state::{State, Status, EXEC_FIFO};

fn load_config(root: &Path, st: &State) -> Option<oci_spec::runtime::Spec> {
    let p = st.dir(root).join("config.json");
    let b = std::fs::read(&p).ok()?;
    crate::spec::parse_spec(&p, &b).ok()
}

fn wrong(st: &State, status: Status, op: &'static str) -> Error {
    Error::WrongState {
        id: st.id.clone(),
        status: status.to_string(),
        op,
    }
}

/// `start`: release a created container's init, then run poststart hooks.
pub fn start(root: &Path, id: &str) -> Result<()> {
    let st = State::load(root, id)?;
    let status = st.status(root);
    if status != Status::Created {
        return Err(wrong(&st, status, "start"));
    }
    let fifo = st.dir(root).join(EXEC_FIFO);
    let spec = load_config(root, &st);
    if spec.as_ref().is_some_and(|s| s.process().is_none()) {
        return Err(Error::Invalid(format!(
            "container {id} has no process to start (config.json has no \"process\")"
        )));
    }
    let flags = nix::fcntl::OFlag::O_NONBLOCK | nix::fcntl::OFlag::O_CLOEXEC;
    let mode = nix::sys::stat::Mode::empty();
    // A read end of our own (not to read: to see the init close its end when it execs).
    let rfd = nix::fcntl::open(&fifo, nix::fcntl::OFlag::O_RDONLY | flags, mode)
        .sys("open", fifo.display())?;
    let fd = match nix::fcntl::open(&fifo, nix::fcntl::OFlag::O_WRONLY | flags, mode) {
        Ok(fd) => fd,
        Err(nix::errno::Errno::ENXIO) | Err(nix::errno::Errno::ENOENT) => {
            return Err(wrong(&st, Status::Stopped, "start"))
        }
        Err(e) => return Err(Error::sys("open", fifo.display(), e)),
    };
    // Remove the fifo first: a second `start` then sees "running" and fails.
    std::fs::remove_file(&fifo).ctx("remove", &fifo)?;
    nix::unistd::write(&fd, b"0").map_err(|e| Error::sys("write", fifo.display(), e))?;
    drop(fd);
    wait_exec(&rfd, &st);
    if let Some(h) = load_config(root, &st).and_then(|s| s.hooks().clone()) {
        let json = serde_json::to_vec(&st.oci_json(Status::Running)).unwrap_or_default();
        // Poststart failures are reported but do not stop the container (spec).
        crate::hooks::run("poststart", h.poststart().as_deref().unwrap_or(&[]), &json)?;
    }
    Ok(())
}

/// Wait until the init has taken the start byte and closed its close-on-exec end of the
/// fifo, that is until it has executed the user process (or died), so that signals sent
/// right after `start` reach the user's program rather than the runtime's init code.
fn wait_exec(rfd: &std::os::fd::OwnedFd, st: &State) {
    use rustix::event::{poll, PollFd, PollFlags};
    let started = std::time::Instant::now();
    let ts = rustix::time::Timespec {
        tv_sec: 0,
        tv_nsec: 5_000_000,
    };
    while started.elapsed() < Duration::from_secs(10) {
        let mut fds = [PollFd::new(rfd, PollFlags::IN)];
        match poll(&mut fds, Some(&ts)) {
            Ok(_) => {
                let r = fds[0].revents();
                if r.contains(PollFlags::HUP) && !r.contains(PollFlags::IN) {
                    return;
                }
                if r.contains(PollFlags::IN) {
                    // The byte is still there: the init has not read it yet.
                    std::thread::sleep(Duration::from_micros(50));
                }
            }
            Err(_) => return,
        }
        if !st.init_alive() {
            return;
        }
    }
}

/// `state`: the OCI state JSON.
pub fn state_json(root: &Path, id: &str) -> Result<serde_json::Value> {
    let st = State::load(root, id)?;
    let status = st.status(root);
    Ok(st.oci_json(status))
}

/// Parse a signal given as a name (`KILL`, `SIGKILL`) or a number.
pub fn parse_signal(s: &str) -> Result<Signal> {
    let bad = || Error::Invalid(format!("invalid signal {s:?}"));
    if let Ok(n) = s.parse::<i32>() {
        return Signal::try_from(n).map_err(|_| bad());
    }
    let up = s.to_ascii_uppercase();
    let name = if up.starts_with("SIG") {
        up
    } else {
        format!("SIG{up}")
    };
    name.parse::<Signal>().map_err(|_| bad())
}

/// `kill`: send a signal to init, or with `all` to every process of the container.
pub fn kill(root: &Path, id: &str, sig: Signal, all: bool) -> Result<()> {
    let st = State::load(root, id)?;
    let status = st.status(root);
    if status == Status::Stopped && !all {
        return Err(wrong(&st, status, "kill"));
    }
    if all {
        let pids = crate::cgroups::pids(&st.cgroups).unwrap_or_default();
        for pid in &pids {
            let _ = nix::sys::signal::kill(Pid::from_raw(*pid), sig);
        }
        // The init is signalled even when the cgroup lists nothing (no cgroup of its
        // own, or one that could not be read): `stop` relies on this SIGKILL.
        if st.pid > 0 && !pids.contains(&st.pid) && status != Status::Stopped {
            let _ = nix::sys::signal::kill(Pid::from_raw(st.pid), sig);
        }
        if status == Status::Paused && sig == Signal::SIGKILL {
            let _ = crate::cgroups::set_frozen(&st.cgroups, false);
        }
        return Ok(());
    }
    nix::sys::signal::kill(Pid::from_raw(st.pid), sig)
        .map_err(|e| Error::sys("kill", format!("container {id}"), e))
}

/// Wait until `pid` (not necessarily our child) is gone, up to `limit`.
fn wait_gone(st: &State, limit: Duration) -> bool {
    if let Ok(fd) = rustix::process::pidfd_open(
        rustix::process::Pid::from_raw(st.pid).unwrap_or(rustix::process::Pid::INIT),
        rustix::process::PidfdFlags::empty(),
    ) {
        let mut fds = [rustix::event::PollFd::new(
            &fd,
            rustix::event::PollFlags::IN,
        )];
        let ts = rustix::time::Timespec {
            tv_sec: limit.as_secs() as i64,
            tv_nsec: limit.subsec_nanos() as i64,
        };
        let _ = rustix::event::poll(&mut fds, Some(&ts));
    }
    let start = std::time::Instant::now();
    while st.init_alive() {
        if start.elapsed() > limit {
            return false;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    true
}

/// `delete`: remove a stopped (or, with `force`, any) container: kill what is left, run
/// poststop hooks, remove cgroups and state. Keeps going on errors and reports them all.
pub fn delete(root: &Path, id: &str, force: bool) -> Result<()> {
    let st = match State::load(root, id) {
        Ok(s) => s,
        Err(Error::NotFound(_)) if force => {
            // A runtime killed before it wrote any record leaves only the directory.
            let dir = crate::state::container_dir(root, id);
            if dir.is_dir() {
                std::fs::remove_dir_all(&dir).ctx("remove", &dir)?;
            }
            return Ok(());
        }
        Err(e) => return Err(e),
    };
    let hooks = load_config(root, &st).and_then(|s| s.hooks().clone());
    remove(root, &st, hooks.as_ref(), force)
}

/// The body of `delete` for a loaded state and its hooks (`run` passes what it has in
/// memory instead of reading state.json and config.json again).
fn remove(
    root: &Path,
    st: &State,
    hooks: Option<&oci_spec::runtime::Hooks>,
    force: bool,
) -> Result<()> {
    let id = st.id.as_str();
    let status = st.status(root);
    match status {
        Status::Stopped => {}
        _ if force => {}
        _ => return Err(wrong(st, status, "delete (not stopped; use --force)")),
    }
    let mut errs: Vec<String> = Vec::new();
    if status != Status::Stopped {
        let _ = nix::sys::signal::kill(Pid::from_raw(st.pid), Signal::SIGKILL);
    }
    // Whatever is left in the cgroup goes too: the other processes of a container without
    // its own pid namespace, or an init whose runtime was killed before recording it.
    for pid in crate::cgroups::pids(&st.cgroups).unwrap_or_default() {
        let _ = nix::sys::signal::kill(Pid::from_raw(pid), Signal::SIGKILL);
    }
    if status == Status::Paused {
        if let Err(e) = crate::cgroups::set_frozen(&st.cgroups, false) {
            errs.push(e.to_string());
        }
    }
    if status != Status::Stopped && !wait_gone(st, Duration::from_secs(10)) {
        errs.push(format!("init {} did not exit", st.pid));
    }
    if let Some(h) = hooks {
        let json = serde_json::to_vec(&st.oci_json(Status::Stopped)).unwrap_or_default();
        if let Err(e) = crate::hooks::run("poststop", h.poststop().as_deref().unwrap_or(&[]), &json)
        {
            // The spec: poststop failures are logged and deletion goes on.
            eprintln!("quai-runtime: warning: {e}");
        }
    }
    if let Err(e) = crate::cgroups::destroy(&st.cgroups) {
        errs.push(e.to_string());
    }
    let dir = st.dir(root);
    if let Err(e) = std::fs::remove_dir_all(&dir) {
        errs.push(format!("remove {}: {e}", dir.display()));
    }
    if errs.is_empty() {
        Ok(())
    } else {
        Err(Error::Invalid(format!("delete {id}: {}", errs.join("; "))))
    }
}

/// `pause`.
pub fn pause(root: &Path, id: &str) -> Result<()> {
    let st = State::load(root, id)?;
    let status = st.status(root);
    if status != Status::Running && status != Status::Created {
        return Err(wrong(&st, status, "pause"));
    }
    crate::cgroups::set_frozen(&st.cgroups, true)
}

/// `resume`.
pub fn resume(root: &Path, id: &str) -> Result<()> {
    let st = State::load(root, id)?;
    let status = st.status(root);
    if status != Status::Paused {
        return Err(wrong(&st, status, "resume"));
    }
    crate::cgroups::set_frozen(&st.cgroups, false)
}

/// `ps`: pids of the container's processes.
pub fn pids(root: &Path, id: &str) -> Result<Vec<i32>> {
    let st = State::load(root, id)?;
    crate::cgroups::pids(&st.cgroups)
}

/// `list`: every container under `root`, sorted by id.
pub fn list(root: &Path) -> Result<Vec<(State, Status)>> {
    let rd = match std::fs::read_dir(root) {
        Ok(r) => r,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(vec![]),
        Err(e) => return Err(Error::io("read", root, e)),
    };
    let mut v = Vec::new();
    for e in rd.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if let Ok(st) = State::load(root, &name) {
            let status = st.status(root);
            v.push((st, status));
        }
    }
    v.sort_by(|a, b| a.0.id.cmp(&b.0.id));
    Ok(v)
}

/// `run`: create, start, wait (forwarding signals), delete; returns the exit code.
pub fn run(o: &crate::create::CreateOpts<'_>, detach: bool) -> Result<i32> {
    if detach && o.console_socket.is_none() {
        let cfg = o.bundle.join("config.json");
        let tty = std::fs::read(&cfg)
            .ok()
            .and_then(|b| crate::spec::parse_spec(&cfg, &b).ok())
            .and_then(|s| s.process().as_ref().and_then(|p| p.terminal()));
        if tty == Some(true) {
            return Err(Error::Invalid(
                "process.terminal is true: --detach needs --console-socket".into(),
            ));
        }
    }
    let mut created = crate::create::create(o)?;
    if let Some(m) = &created.pty {
        crate::wait::copy_winsize(m);
    }
    let st = &created.state;
    let started = (|| -> Result<()> {
        created.chan.send(&crate::sync::Msg::Start)?;
        // EOF means execve succeeded (the channel is close-on-exec).
        match created.chan.recv()? {
            None => Ok(()),
            Some(crate::sync::Msg::Error(e)) => Err(Error::Child(e)),
            Some(m) => Err(Error::Invalid(format!(
                "unexpected message {m:?} from init"
            ))),
        }
    })();
    if let Err(e) = started {
        let _ = remove(o.root, st, created.spec.hooks().as_ref(), true);
        return Err(e);
    }
    if let Some(h) = created.spec.hooks() {
        let json = serde_json::to_vec(&st.oci_json(Status::Running)).unwrap_or_default();
        if let Err(e) =
            crate::hooks::run("poststart", h.poststart().as_deref().unwrap_or(&[]), &json)
        {
            let _ = remove(o.root, st, created.spec.hooks().as_ref(), true);
            return Err(e);
        }
    }
    if detach {
        return Ok(0);
    }
    crate::debug!("{}: user process started", o.id);
    let code = match created.pty.take() {
        Some(master) => crate::wait::wait_with_pty(Pid::from_raw(st.pid), master)?,
        None => crate::wait::wait_forwarding(Pid::from_raw(st.pid))?,
    };
    crate::debug!("{}: exited with {code}", o.id);
    remove(o.root, st, created.spec.hooks().as_ref(), true)?;
    crate::debug!("{}: deleted", o.id);
    Ok(code)
}

/// `ps ARGS` (default `-ef`) output: the header and the lines of these pids.
pub fn ps_table(pids: &[i32], args: &[String]) -> Result<String> {
    let args: Vec<String> = if args.is_empty() {
        vec!["-ef".into()]
    } else {
        args.to_vec()
    };
    let out = std::process::Command::new("ps")
        .args(&args)
        .output()
        .map_err(|e| Error::io("run", "ps", e))?;
    let text = String::from_utf8_lossy(&out.stdout);
    let mut lines = text.lines();
    let header = lines.next().unwrap_or_default();
    let col = header
        .split_whitespace()
        .position(|h| h == "PID")
        .ok_or_else(|| Error::Invalid("ps output has no PID column".into()))?;
    let mut s = format!("{header}\n");
    for l in lines {
        if l.split_whitespace()
            .nth(col)
            .and_then(|p| p.parse::<i32>().ok())
            .is_some_and(|p| pids.contains(&p))
        {
            s.push_str(l);
            s.push('\n');
        }
    }
    Ok(s)
}
