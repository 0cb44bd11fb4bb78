//! `exec`: another process in a running container, through the runtime library, with the
//! caller's stdio (or a pty relayed to it with `-t`). The exec'd process's output is not
//! logged (Docker's behaviour).
//!
//! A caller that cannot fork (the API service is a multi-threaded process) runs an exec
//! through [`Engine::exec_spawn`]: a helper process of our own binary (`quai __exec`, the
//! way the monitor is started) whose stdio are the caller's pipes or terminal.

use std::ffi::OsString;
use std::os::fd::{AsRawFd, OwnedFd};
use std::path::PathBuf;

use crate::config::ContainerStatus;
use crate::lifecycle::Engine;
use crate::{Error, Result};

/// The hidden subcommand of the exec helper.
pub const ARG: &str = "__exec";

/// `exec` options.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct ExecRequest {
    /// The command.
    pub cmd: Vec<String>,
    /// `-i`.
    pub interactive: bool,
    /// `-t`.
    pub tty: bool,
    /// `-d`.
    pub detach: bool,
    /// `-e`.
    pub env: Vec<String>,
    /// `-w`.
    pub workdir: Option<String>,
    /// `-u`.
    pub user: Option<String>,
    /// `--privileged`.
    pub privileged: bool,
}

impl Engine {
    /// The container `what` if it can take an exec now (running, not paused).
    pub fn exec_target(&mut self, what: &str) -> Result<crate::Record> {
        let rec = self.get(what)?;
        match rec.state.status {
            ContainerStatus::Running => Ok(rec),
            ContainerStatus::Paused => Err(Error::Conflict(format!(
                "container {} is paused, unpause the container before exec",
                rec.id
            ))),
            _ => Err(Error::Conflict(format!(
                "container {} is not running",
                rec.id
            ))),
        }
    }

    /// [`Engine::exec`] as docker reports it: a process that could not start is told
    /// on the exec's output and ends with status 126, whatever the reason.
    pub fn exec_reported(&mut self, what: &str, req: ExecRequest) -> Result<i32> {
        self.exec(what, req).or_else(|e| match e {
            Error::Start { message, .. } => {
                println!(
                    "OCI runtime exec failed: exec failed: unable to start container process: {message}: unknown\r"
                );
                Ok(126)
            }
            e => Err(e),
        })
    }

    /// Run `req` in the container from a helper process whose standard descriptors are
    /// `stdio` (`terminal`: they are a terminal, made the helper's controlling one, and
    /// the process gets a terminal of its own relayed to it). The helper's exit status
    /// is the process's. The container is checked first, so a stopped or paused one is
    /// refused here rather than on the helper's output.
    pub fn exec_spawn(
        &mut self,
        what: &str,
        req: &ExecRequest,
        stdio: [OwnedFd; 3],
        terminal: bool,
    ) -> Result<std::process::Child> {
        use std::os::unix::process::CommandExt;
        let rec = self.exec_target(what)?;
        if req.cmd.is_empty() {
            return Err(Error::Invalid("No exec command specified".into()));
        }
        let body =
            serde_json::to_string(req).map_err(|e| Error::Invalid(format!("exec request: {e}")))?;
        let [i, o, e] = stdio;
        let mut cmd = std::process::Command::new("/proc/self/exe");
        cmd.arg0("quai")
            .arg(ARG)
            .arg(&self.paths.root)
            .arg(&self.paths.run)
            .arg(&rec.id)
            .arg(body)
            .stdin(i)
            .stdout(o)
            .stderr(e);
        if terminal {
            // SAFETY: setsid and ioctl are async-signal-safe; fd 0 is the terminal.
            unsafe {
                cmd.pre_exec(|| {
                    libc::setsid();
                    if libc::ioctl(0, libc::TIOCSCTTY, 0) < 0 {
                        return Err(std::io::Error::last_os_error());
                    }
                    Ok(())
                });
            }
        }
        cmd.spawn()
            .map_err(|e| Error::io("start the exec helper for", &rec.id, e))
    }

    /// Run a process in a running container; its exit code (0 at once with `detach`).
    pub fn exec(&mut self, what: &str, req: ExecRequest) -> Result<i32> {
        let rec = self.exec_target(what)?;
        if req.cmd.is_empty() {
            return Err(Error::Invalid("exec: no command given".into()));
        }
        if let Some(w) = &req.workdir {
            crate::validate::workdir(w)?;
        }
        // The exec'd process's first moments in the container run our binary: from the
        // read-only copy (this re-executes the process once when it is not yet protected).
        runtime::selfexe::ensure_protected()?;
        let rt = self.paths.runtime_root();
        let spec = runtime::exec::container_spec(&rt, &rec.id)?;
        let mut p = spec.process().clone().unwrap_or_default();
        p.set_args(Some(req.cmd.clone()));
        p.set_terminal(Some(req.tty));
        if req.tty {
            // The terminal starts at the caller's size (a resize after the start would
            // race the process's first look at it).
            if let Some(w) = crate::attach::winsize_payload() {
                let b = oci_spec::runtime::BoxBuilder::default()
                    .height(u16::from_be_bytes([w[0], w[1]]))
                    .width(u16::from_be_bytes([w[2], w[3]]))
                    .build();
                p.set_console_size(b.ok());
            }
        }
        let mut env = p.env().clone().unwrap_or_default();
        for e in &req.env {
            let k = e.split('=').next().unwrap_or_default();
            env.retain(|x| x.split('=').next() != Some(k));
            env.push(e.clone());
        }
        p.set_env(Some(env));
        if let Some(w) = &req.workdir {
            p.set_cwd(w.into());
        }
        if let Some(u) = &req.user {
            let root = std::path::PathBuf::from(format!("/proc/{}/root", rec.state.pid));
            let user = crate::rootfs::resolve_user(&root, u, &rec.config.group_add)?;
            let mut pu = p.user().clone();
            pu.set_uid(user.uid);
            pu.set_gid(user.gid);
            pu.set_additional_gids(Some(user.additional));
            p.set_user(pu);
        }
        if req.privileged {
            let all: Vec<oci_spec::runtime::Capability> = crate::spec::ALL_CAPS
                .iter()
                .filter_map(|c| serde_json::from_value(serde_json::json!(c)).ok())
                .collect();
            let set: oci_spec::runtime::Capabilities = all.into_iter().collect();
            let mut caps = p.capabilities().clone().unwrap_or_default();
            caps.set_bounding(Some(set.clone()));
            caps.set_effective(Some(set.clone()));
            caps.set_permitted(Some(set));
            p.set_capabilities(Some(caps));
        }
        if !req.interactive && !req.tty {
            let null =
                std::fs::File::open("/dev/null").map_err(|e| Error::io("open", "/dev/null", e))?;
            // SAFETY: dup2 onto fd 0; both are valid descriptors.
            unsafe { libc::dup2(null.as_raw_fd(), 0) };
        }
        let sigmask = runtime::wait::block_signals()?;
        let personality = spec.linux().as_ref().and_then(|l| l.personality().clone());
        if !req.tty {
            // `-d`: the process is not attached to the caller's terminal (Docker's).
            let _quiet = if req.detach {
                Some(Redirected::to_null(&[0, 1, 2])?)
            } else {
                None
            };
            return runtime::exec::exec(runtime::exec::ExecOpts {
                root: &rt,
                id: &rec.id,
                process: p,
                console_socket: None,
                pid_file: None,
                detach: req.detach,
                preserve_fds: 0,
                sigmask,
                personality,
            })
            .map_err(crate::start_error);
        }
        // A pty: the runtime sends its master over a console socket of ours.
        let sock_dir = self.paths.run.join("s");
        std::fs::create_dir_all(&sock_dir).map_err(|e| Error::io("create", &sock_dir, e))?;
        let sock = sock_dir.join(format!("x{}", &crate::random_id()?[..12]));
        let listener = std::os::unix::net::UnixListener::bind(&sock)
            .map_err(|e| Error::io("listen on", &sock, e))?;
        let pid_file = sock.with_extension("pid");
        let res = runtime::exec::exec(runtime::exec::ExecOpts {
            root: &rt,
            id: &rec.id,
            process: p,
            console_socket: Some(&sock),
            pid_file: Some(&pid_file),
            detach: true,
            preserve_fds: 0,
            sigmask,
            personality,
        });
        let _ = std::fs::remove_file(&sock);
        let pid = std::fs::read_to_string(&pid_file)
            .ok()
            .and_then(|s| s.trim().parse::<i32>().ok());
        let _ = std::fs::remove_file(&pid_file);
        res.map_err(crate::start_error)?;
        let (conn, _) = listener
            .accept()
            .map_err(|e| Error::io("accept on", &sock, e))?;
        let master = runtime::sync::recv_fd(conn.as_raw_fd())?;
        if req.detach {
            return Ok(0);
        }
        let pid = pid.ok_or_else(|| Error::Invalid("exec: no pid recorded".into()))?;
        runtime::wait::copy_winsize(&master);
        Ok(runtime::wait::wait_with_pty(
            nix::unistd::Pid::from_raw(pid),
            master,
        )?)
    }
}

/// `quai __exec ROOT RUN ID REQUEST-JSON`: the helper [`Engine::exec_spawn`] starts; its
/// exit status is the process's (126 when it could not run at all).
pub fn main(args: &[OsString]) -> i32 {
    let [root, run, id, body] = match args.get(2..) {
        Some([a, b, c, d]) => [a, b, c, d],
        _ => {
            eprintln!("quai: {ARG}: usage: ROOT RUN ID REQUEST");
            return 126;
        }
    };
    let req: ExecRequest = match serde_json::from_str(&body.to_string_lossy()) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("quai: {ARG}: request: {e}");
            return 126;
        }
    };
    let code = Engine::open(&PathBuf::from(root), &PathBuf::from(run))
        .and_then(|mut eng| eng.exec_reported(&id.to_string_lossy(), req));
    match code {
        Ok(c) => c,
        Err(e) => {
            eprintln!("Error response from daemon: {e}");
            126
        }
    }
}

/// Standard descriptors pointed at /dev/null for a while, restored on drop.
struct Redirected(Vec<(i32, std::os::fd::OwnedFd)>);

impl Redirected {
    fn to_null(fds: &[i32]) -> Result<Redirected> {
        use std::os::fd::FromRawFd;
        let null = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open("/dev/null")
            .map_err(|e| Error::io("open", "/dev/null", e))?;
        let mut saved = Vec::new();
        for &fd in fds {
            // SAFETY: F_DUPFD_CLOEXEC on a standard descriptor returns a new fd we own.
            let copy = unsafe { libc::fcntl(fd, libc::F_DUPFD_CLOEXEC, 10) };
            if copy < 0 {
                continue;
            }
            // SAFETY: `copy` is a fresh descriptor nothing else owns.
            saved.push((fd, unsafe { std::os::fd::OwnedFd::from_raw_fd(copy) }));
            // SAFETY: dup2 of a valid descriptor onto a standard descriptor number.
            unsafe { libc::dup2(null.as_raw_fd(), fd) };
        }
        Ok(Redirected(saved))
    }
}

impl Drop for Redirected {
    fn drop(&mut self) {
        for (fd, copy) in &self.0 {
            // SAFETY: dup2 of our saved copy back onto its standard descriptor number.
            unsafe { libc::dup2(copy.as_raw_fd(), *fd) };
        }
    }
}
