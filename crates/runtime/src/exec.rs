//! `exec`: run another process in a running container's namespaces and cgroups.

use std::os::fd::AsRawFd;
use std::path::Path;

use nix::sys::signal::SigSet;
use nix::unistd::{ForkResult, Pid};
use oci_spec::runtime::Process;

use crate::error::{Error, Result, SysContext};
use crate::state::{State, Status};
use crate::sync::{self, Channel, Msg};

/// Options of `exec`.
pub struct ExecOpts<'a> {
    /// State root.
    pub root: &'a Path,
    /// Container id.
    pub id: &'a str,
    /// The process to run (from `--process` or built from the command line).
    pub process: Process,
    /// `--console-socket`.
    pub console_socket: Option<&'a Path>,
    /// `--pid-file`.
    pub pid_file: Option<&'a Path>,
    /// `--detach`.
    pub detach: bool,
    /// `--preserve-fds`.
    pub preserve_fds: i32,
    /// Signal mask to restore in the process.
    pub sigmask: SigSet,
    /// The container's `linux.personality`.
    pub personality: Option<oci_spec::runtime::LinuxPersonality>,
}

/// The container's stored config (its process is the base for `exec` defaults).
pub fn container_spec(root: &Path, id: &str) -> Result<oci_spec::runtime::Spec> {
    let st = State::load(root, id)?;
    let p = st.dir(root).join("config.json");
    let b = std::fs::read(&p).map_err(|e| Error::io("read", &p, e))?;
    crate::spec::parse_spec(&p, &b)
}

/// Run the process; returns its exit code (0 at once with `detach`).
pub fn exec(o: ExecOpts<'_>) -> Result<i32> {
    crate::selfexe::require_protected("enter a container")?;
    let st = State::load(o.root, o.id)?;
    let status = st.status(o.root);
    if status != Status::Running && status != Status::Created {
        return Err(Error::WrongState {
            id: st.id.clone(),
            status: status.to_string(),
            op: "exec",
        });
    }
    let spec = container_spec(o.root, o.id)?;
    crate::process::check_rlimits(o.process.rlimits().as_deref().unwrap_or(&[]))?;
    let seccomp = match spec.linux().as_ref().and_then(|l| l.seccomp().as_ref()) {
        Some(s) => Some(crate::security::build_filter(s)?),
        None => None,
    };
    if o.process.terminal() == Some(true) && o.console_socket.is_none() {
        return Err(Error::Invalid(
            "terminal requested: --console-socket is required".into(),
        ));
    }
    let console = match o.console_socket {
        Some(p) => Some(crate::console::connect(p)?),
        None => None,
    };
    let joins = crate::namespaces::open_of_pid(st.pid)?;
    let listener = crate::security::connect_listener(
        spec.linux().as_ref().and_then(|l| l.seccomp().as_ref()),
    )?;
    // Stage 1 tells the exec'd process its host pid (for the seccomp agent's message).
    let (pid_r, pid_w) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).sys("pipe", "exec")?;
    let notify_base = listener
        .as_ref()
        .map(|(sock, metadata)| crate::security::Notify {
            sock: sock.as_raw_fd(),
            metadata: metadata.clone(),
            state: st.oci_json(status).to_string(),
            pid: 0,
        });
    let (parent, child) = sync::pair()?;
    nix::sys::prctl::set_child_subreaper(true).sys("prctl", "PR_SET_CHILD_SUBREAPER")?;
    let mut seccomp = Some(seccomp);
    // SAFETY: single-threaded runtime; the child runs plain Rust code until execve/_exit.
    let stage1 = match unsafe { nix::unistd::fork() }.sys("fork", "exec stage 1")? {
        ForkResult::Child => {
            drop(parent);
            let e = match stage1(&child, &joins) {
                Ok(ForkResult::Child) => {
                    let notify = notify_base.map(|mut n| {
                        let mut b = [0u8; 4];
                        if nix::unistd::read(&pid_r, &mut b) == Ok(4) {
                            n.pid = i32::from_le_bytes(b);
                        }
                        n
                    });
                    let e = match exec_child(
                        &o,
                        seccomp.take().flatten(),
                        console.as_ref().map(|c| c.as_raw_fd()),
                        notify,
                    ) {
                        Ok(f) => f.exec(),
                        Err(e) => e,
                    };
                    let _ = child.send(&Msg::Error(e.to_child()));
                    // SAFETY: _exit in a forked child.
                    unsafe { libc::_exit(127) }
                }
                Ok(ForkResult::Parent { child: pid }) => {
                    let _ = nix::unistd::write(&pid_w, &pid.as_raw().to_le_bytes());
                    let _ = child.send(&Msg::InitPid(pid.as_raw()));
                    // SAFETY: _exit in a forked child.
                    unsafe { libc::_exit(0) }
                }
                Err(e) => e,
            };
            let _ = child.send(&Msg::Error(e.to_child()));
            // SAFETY: _exit in a forked child.
            unsafe { libc::_exit(1) }
        }
        ForkResult::Parent { child: pid } => pid,
    };
    drop(child);
    drop(console);
    drop(listener);
    let res = (|| -> Result<Pid> {
        crate::cgroups::add_pid(&st.cgroups, stage1.as_raw())?;
        parent.send(&Msg::Go)?;
        let pid = match parent.recv()? {
            Some(Msg::InitPid(p)) => Pid::from_raw(p),
            Some(Msg::Error(e)) => return Err(Error::Child(e)),
            _ => return Err(Error::child("exec: stage 1 exited")),
        };
        let _ = nix::sys::wait::waitpid(stage1, None);
        match parent.recv()? {
            None => Ok(pid),
            Some(Msg::Error(e)) => {
                let _ = nix::sys::wait::waitpid(pid, None);
                Err(Error::Child(e))
            }
            Some(m) => Err(Error::Invalid(format!("unexpected message {m:?}"))),
        }
    })();
    let pid = match res {
        Ok(p) => p,
        Err(e) => {
            let _ = nix::sys::signal::kill(stage1, nix::sys::signal::SIGKILL);
            let _ = nix::sys::wait::waitpid(stage1, None);
            return Err(e);
        }
    };
    if let Some(p) = o.pid_file {
        crate::create::write_pid_file(p, pid.as_raw())?;
    }
    if o.detach {
        return Ok(0);
    }
    crate::wait::wait_forwarding(pid)
}

fn stage1(chan: &Channel, joins: &[crate::namespaces::Join]) -> Result<ForkResult> {
    nix::sys::prctl::set_pdeathsig(nix::sys::signal::SIGKILL).sys("prctl", "PR_SET_PDEATHSIG")?;
    chan.expect(&Msg::Go, "exec")?;
    crate::namespaces::join(joins)?;
    // SAFETY: single-threaded fork.
    unsafe { nix::unistd::fork() }.sys("fork", "exec process")
}

fn exec_child<'a>(
    o: &'a ExecOpts<'a>,
    seccomp: Option<libseccomp::ScmpFilterContext>,
    console: Option<i32>,
    notify: Option<crate::security::Notify>,
) -> Result<crate::process::Finalize<'a>> {
    let p = &o.process;
    if let Some(fd) = console {
        let size = p
            .console_size()
            .map(|b| (b.height() as u16, b.width() as u16));
        crate::console::setup(fd, false, size)?;
    }
    crate::create::enter_cwd(p.cwd())?;
    let env = crate::process::environment(p);
    let arg0 = p
        .args()
        .as_ref()
        .and_then(|a| a.first())
        .cloned()
        .unwrap_or_default();
    let exe = crate::process::find_executable(&arg0, &env, p.cwd())?;
    Ok(crate::process::Finalize {
        process: p,
        exe,
        env,
        seccomp,
        preserve_fds: o.preserve_fds,
        sigmask: o.sigmask,
        notify,
        personality: o.personality.clone(),
    })
}
