//! The runc-compatible command line: `quai runtime <verb>` or `quai-runtime <verb>`.

use std::io::Write;
use std::path::{Path, PathBuf};

use clap::{Args, Parser, Subcommand};

use crate::error::{Error, Result};

/// quai's OCI runtime (runc-compatible command line).
#[derive(Debug, Parser)]
#[command(
    name = "quai-runtime",
    version,
    about = "quai's OCI runtime (runc-compatible)"
)]
pub struct Cli {
    /// Directory for container state.
    #[arg(long, global = true, default_value = "/run/quai/runtime")]
    pub root: PathBuf,
    /// Append errors to this file too (as engines like containerd expect).
    #[arg(long, global = true)]
    pub log: Option<PathBuf>,
    /// Format of --log: text or json.
    #[arg(long = "log-format", global = true, default_value = "text")]
    pub log_format: String,
    /// Verbose output on stderr.
    #[arg(long, global = true)]
    pub debug: bool,
    /// Accepted for compatibility; quai has no systemd cgroup driver yet (ignored).
    #[arg(long = "systemd-cgroup", global = true)]
    pub systemd_cgroup: bool,
    /// Accepted for compatibility (ignored).
    #[arg(long, global = true, hide = true)]
    pub criu: Option<String>,
    /// Accepted for compatibility (ignored).
    #[arg(long = "rootless", id = "global_rootless", hide = true)]
    pub global_rootless: Option<String>,
    /// The verb.
    #[command(subcommand)]
    pub cmd: Cmd,
}

/// Options shared by create and run.
#[derive(Debug, Args)]
pub struct CreateArgs {
    /// Container id.
    pub id: String,
    /// Bundle directory.
    #[arg(short, long, default_value = ".")]
    pub bundle: PathBuf,
    /// Unix socket that receives the pty master when process.terminal is true.
    #[arg(long = "console-socket")]
    pub console_socket: Option<PathBuf>,
    /// File to write the init pid to.
    #[arg(long = "pid-file")]
    pub pid_file: Option<PathBuf>,
    /// Pass this many extra fds (3, 4, ...) to the container.
    #[arg(long = "preserve-fds", default_value_t = 0)]
    pub preserve_fds: i32,
    /// Accepted for compatibility (quai always pivots).
    #[arg(long = "no-pivot", hide = true)]
    pub no_pivot: bool,
    /// Accepted for compatibility.
    #[arg(long = "no-new-keyring", hide = true)]
    pub no_new_keyring: bool,
}

/// The verbs.
#[derive(Debug, Subcommand)]
pub enum Cmd {
    /// Create a container (its process waits for `start`).
    Create(CreateArgs),
    /// Start a created container.
    Start {
        /// Container id.
        id: String,
    },
    /// Print the state of a container as JSON.
    State {
        /// Container id.
        id: String,
    },
    /// Send a signal to a container's init (or all its processes).
    Kill {
        /// Container id.
        id: String,
        /// Signal name or number.
        #[arg(default_value = "SIGTERM")]
        signal: String,
        /// Signal every process of the container.
        #[arg(short, long)]
        all: bool,
    },
    /// Delete a container.
    Delete {
        /// Container id.
        id: String,
        /// Kill it first if it runs.
        #[arg(short, long)]
        force: bool,
    },
    /// Create, start, wait for and delete a container; exit with its status.
    Run {
        #[command(flatten)]
        create: CreateArgs,
        /// Return once started.
        #[arg(short, long)]
        detach: bool,
        /// Keep the state after exit (accepted; quai deletes unless detached).
        #[arg(long, hide = true)]
        keep: bool,
    },
    /// Run a process in a running container.
    Exec(ExecArgs),
    /// List the processes of a container.
    Ps {
        /// Container id.
        id: String,
        /// table or json.
        #[arg(short, long, default_value = "table")]
        format: String,
        /// Arguments for ps(1).
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        ps_args: Vec<String>,
    },
    /// Freeze every process of a container.
    Pause {
        /// Container id.
        id: String,
    },
    /// Thaw a paused container.
    Resume {
        /// Container id.
        id: String,
    },
    /// List containers.
    List {
        /// table or json.
        #[arg(short, long, default_value = "table")]
        format: String,
        /// Ids only.
        #[arg(short, long)]
        quiet: bool,
    },
    /// Print what this runtime supports (JSON).
    Features,
    /// Write a default config.json.
    Spec {
        /// Bundle directory.
        #[arg(short, long, default_value = ".")]
        bundle: PathBuf,
        /// A config for an unprivileged user (user namespace).
        #[arg(long)]
        rootless: bool,
    },
}

/// `exec` options.
#[derive(Debug, Args)]
pub struct ExecArgs {
    /// Container id.
    pub id: String,
    /// Command and arguments (unless --process).
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    pub command: Vec<String>,
    /// A process.json to run.
    #[arg(short, long)]
    pub process: Option<PathBuf>,
    /// Unix socket that receives the pty master.
    #[arg(long = "console-socket")]
    pub console_socket: Option<PathBuf>,
    /// Working directory.
    #[arg(long)]
    pub cwd: Option<PathBuf>,
    /// Extra environment (KEY=VALUE).
    #[arg(short, long)]
    pub env: Vec<String>,
    /// Allocate a pty.
    #[arg(short, long)]
    pub tty: bool,
    /// uid[:gid].
    #[arg(short, long)]
    pub user: Option<String>,
    /// Additional gids.
    #[arg(short = 'g', long = "additional-gids")]
    pub additional_gids: Vec<u32>,
    /// Set no_new_privs.
    #[arg(long = "no-new-privs")]
    pub no_new_privs: bool,
    /// Add a capability.
    #[arg(short, long)]
    pub cap: Vec<String>,
    /// Pass this many extra fds.
    #[arg(long = "preserve-fds", default_value_t = 0)]
    pub preserve_fds: i32,
    /// Return once started.
    #[arg(short, long)]
    pub detach: bool,
    /// File to write the pid to.
    #[arg(long = "pid-file")]
    pub pid_file: Option<PathBuf>,
    /// Accepted for compatibility (ignored).
    #[arg(long = "process-label", hide = true)]
    pub process_label: Option<String>,
    /// Accepted for compatibility (ignored).
    #[arg(long, hide = true)]
    pub apparmor: Option<String>,
}

/// Entry point: parse `args` (argv including argv[0]) and run; returns the exit code.
pub fn main(args: Vec<std::ffi::OsString>) -> i32 {
    let cli = match Cli::try_parse_from(args) {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() { 2 } else { 0 };
        }
    };
    if cli.systemd_cgroup {
        eprintln!("quai-runtime: warning: --systemd-cgroup is not supported yet; using cgroupfs");
    }
    match dispatch(&cli) {
        Ok(code) => code,
        Err(e) => {
            let msg = e.to_string();
            eprintln!("quai-runtime: {msg}");
            if let Some(log) = &cli.log {
                write_log(log, &cli.log_format, &msg);
            }
            1
        }
    }
}

fn write_log(path: &Path, format: &str, msg: &str) {
    let line = if format == "json" {
        serde_json::json!({"level": "error", "msg": msg, "time": crate::state::now_rfc3339()})
            .to_string()
    } else {
        format!(
            "time=\"{}\" level=error msg={:?}",
            crate::state::now_rfc3339(),
            msg
        )
    };
    if let Ok(mut f) = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
    {
        let _ = writeln!(f, "{line}");
    }
}

fn print_json(v: &serde_json::Value) -> Result<()> {
    let s = serde_json::to_string_pretty(v).map_err(|e| Error::Invalid(e.to_string()))?;
    println!("{s}");
    Ok(())
}

fn dispatch(cli: &Cli) -> Result<i32> {
    let root = cli.root.as_path();
    match &cli.cmd {
        Cmd::Create(a) => {
            crate::selfexe::ensure_protected()?;
            let o = create_opts(
                root,
                a,
                crate::create::Mode::Create,
                nix::sys::signal::SigSet::thread_get_mask()
                    .unwrap_or_else(|_| nix::sys::signal::SigSet::empty()),
            );
            crate::create::create(&o)?;
            Ok(0)
        }
        Cmd::Run { create, detach, .. } => {
            crate::selfexe::ensure_protected()?;
            let old = crate::wait::block_signals()?;
            let o = create_opts(root, create, crate::create::Mode::Run, old);
            crate::ops::run(&o, *detach)
        }
        Cmd::Start { id } => crate::ops::start(root, id).map(|_| 0),
        Cmd::State { id } => print_json(&crate::ops::state_json(root, id)?).map(|_| 0),
        Cmd::Kill { id, signal, all } => {
            let sig = crate::ops::parse_signal(signal)?;
            crate::ops::kill(root, id, sig, *all).map(|_| 0)
        }
        Cmd::Delete { id, force } => crate::ops::delete(root, id, *force).map(|_| 0),
        Cmd::Pause { id } => crate::ops::pause(root, id).map(|_| 0),
        Cmd::Resume { id } => crate::ops::resume(root, id).map(|_| 0),
        Cmd::Ps {
            id,
            format,
            ps_args,
        } => ps(root, id, format, ps_args),
        Cmd::List { format, quiet } => list(root, format, *quiet),
        Cmd::Features => print_json(&crate::features::features()).map(|_| 0),
        Cmd::Spec { bundle, rootless } => {
            crate::features::write_default_spec(bundle, *rootless).map(|_| 0)
        }
        Cmd::Exec(a) => {
            crate::selfexe::ensure_protected()?;
            exec(root, a)
        }
    }
}

fn create_opts<'a>(
    root: &'a Path,
    a: &'a CreateArgs,
    mode: crate::create::Mode,
    sigmask: nix::sys::signal::SigSet,
) -> crate::create::CreateOpts<'a> {
    crate::create::CreateOpts {
        root,
        id: &a.id,
        bundle: &a.bundle,
        console_socket: a.console_socket.as_deref(),
        pid_file: a.pid_file.as_deref(),
        preserve_fds: a.preserve_fds,
        mode,
        sigmask,
    }
}

fn exec(root: &Path, a: &ExecArgs) -> Result<i32> {
    let process: oci_spec::runtime::Process = if let Some(p) = &a.process {
        let b = std::fs::read(p).map_err(|e| Error::io("read", p, e))?;
        let de = &mut serde_json::Deserializer::from_slice(&b);
        serde_path_to_error::deserialize(de).map_err(|e| Error::Config {
            path: p.clone(),
            field: e.path().to_string(),
            message: e.inner().to_string(),
        })?
    } else {
        if a.command.is_empty() {
            return Err(Error::Invalid(
                "exec: a command or --process is required".into(),
            ));
        }
        let spec = crate::exec::container_spec(root, &a.id)?;
        let mut p = spec.process().clone().unwrap_or_default();
        p.set_args(Some(a.command.clone()));
        let mut env = p.env().clone().unwrap_or_default();
        env.extend(a.env.iter().cloned());
        p.set_env(Some(env));
        if let Some(c) = &a.cwd {
            p.set_cwd(c.clone());
        }
        p.set_terminal(Some(a.tty));
        if let Some(u) = &a.user {
            let (uid, gid) = u
                .split_once(':')
                .map_or((u.as_str(), None), |(u, g)| (u, Some(g)));
            let uid: u32 = uid
                .parse()
                .map_err(|_| Error::Invalid(format!("invalid --user {u:?} (want uid[:gid])")))?;
            let gid: u32 = match gid {
                Some(g) => g.parse().map_err(|_| {
                    Error::Invalid(format!("invalid --user {u:?} (want uid[:gid])"))
                })?,
                None => 0,
            };
            p.user_mut().set_uid(uid);
            p.user_mut().set_gid(gid);
        }
        if !a.additional_gids.is_empty() {
            p.user_mut()
                .set_additional_gids(Some(a.additional_gids.clone()));
        }
        if a.no_new_privs {
            p.set_no_new_privileges(Some(true));
        }
        if !a.cap.is_empty() {
            let mut caps = p.capabilities().clone().unwrap_or_default();
            for c in &a.cap {
                let cap: oci_spec::runtime::Capability =
                    serde_json::from_value(serde_json::json!(c))
                        .map_err(|_| Error::Invalid(format!("unknown capability {c:?}")))?;
                let add = |s: &Option<oci_spec::runtime::Capabilities>| {
                    let mut s = s.clone().unwrap_or_default();
                    s.insert(cap);
                    Some(s)
                };
                caps.set_bounding(add(caps.bounding()));
                caps.set_effective(add(caps.effective()));
                caps.set_permitted(add(caps.permitted()));
            }
            p.set_capabilities(Some(caps));
        }
        p
    };
    if process.args().as_ref().is_none_or(|a| a.is_empty()) {
        return Err(Error::Invalid(
            "exec: process.args must not be empty".into(),
        ));
    }
    let sigmask = crate::wait::block_signals()?;
    crate::exec::exec(crate::exec::ExecOpts {
        root,
        id: &a.id,
        process,
        console_socket: a.console_socket.as_deref(),
        pid_file: a.pid_file.as_deref(),
        detach: a.detach,
        preserve_fds: a.preserve_fds,
        sigmask,
    })
}

fn ps(root: &Path, id: &str, format: &str, args: &[String]) -> Result<i32> {
    let pids = crate::ops::pids(root, id)?;
    match format {
        "json" => print_json(&serde_json::json!(pids)).map(|_| 0),
        "table" => {
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
            println!("{header}");
            for l in lines {
                if l.split_whitespace()
                    .nth(col)
                    .and_then(|p| p.parse::<i32>().ok())
                    .is_some_and(|p| pids.contains(&p))
                {
                    println!("{l}");
                }
            }
            Ok(0)
        }
        other => Err(Error::Invalid(format!(
            "invalid format {other:?} (table or json)"
        ))),
    }
}

fn list(root: &Path, format: &str, quiet: bool) -> Result<i32> {
    let all = crate::ops::list(root)?;
    if quiet {
        for (st, _) in &all {
            println!("{}", st.id);
        }
        return Ok(0);
    }
    match format {
        "json" => {
            let v: Vec<serde_json::Value> = all.iter().map(|(st, s)| st.oci_json(*s)).collect();
            print_json(&serde_json::json!(v)).map(|_| 0)
        }
        "table" => {
            println!(
                "{:<20} {:<8} {:<10} {:<40} {:<32} OWNER",
                "ID", "PID", "STATUS", "BUNDLE", "CREATED"
            );
            for (st, s) in &all {
                let pid = if *s == crate::state::Status::Stopped {
                    0
                } else {
                    st.pid
                };
                println!(
                    "{:<20} {:<8} {:<10} {:<40} {:<32} {}",
                    st.id,
                    pid,
                    s.to_string(),
                    st.bundle.display(),
                    st.created,
                    st.owner
                );
            }
            Ok(0)
        }
        other => Err(Error::Invalid(format!(
            "invalid format {other:?} (table or json)"
        ))),
    }
}
