//! The runc-compatible command line: `quai runtime <verb>` or `quai-runtime <verb>`.
//!
//! Parsed by hand (see [`crate::args`]), not with clap: building clap's command tree costs
//! about 1 MB of RSS and half a millisecond on every invocation, and engines call the
//! runtime several times per container (docs/adr/002).

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::args::{Flag, Parsed};
use crate::error::{Error, Result};

const USAGE: &str = "\
quai-runtime: quai's OCI runtime (runc-compatible command line)

Usage: quai-runtime [global options] <command> [options] <container-id> ...

Commands:
  create   create a container (its process waits for `start`)
             --bundle|-b DIR  --console-socket PATH  --pid-file PATH  --preserve-fds N
  start    start a created container
  state    print a container's state as JSON
  kill     send a signal (name or number, default SIGTERM): kill [--all|-a] ID [SIGNAL]
  delete   delete a container: delete [--force|-f] ID
  run      create, start, wait and delete; exit with the container's status
             the create options, and --detach|-d
  exec     run a process in a container: exec [options] ID COMMAND [ARG...]
             --process|-p FILE  --tty|-t  --detach|-d  --cwd DIR  --env|-e K=V
             --user|-u UID[:GID]  --additional-gids|-g GID  --cap|-c CAP
             --no-new-privs  --console-socket PATH  --pid-file PATH  --preserve-fds N
  ps       list a container's processes: ps [--format|-f table|json] ID [PS-ARGS...]
  pause    freeze a container           resume   thaw it
  list     list containers: list [--format|-f table|json] [--quiet|-q]
  features print what this runtime supports (JSON)
  spec     write a default config.json: spec [--bundle|-b DIR] [--rootless]

Global options:
  --root DIR         state directory (default /run/quai/runtime)
  --log FILE         also write errors to FILE   --log-format text|json
  --debug            verbose errors              --systemd-cgroup  cgroups as systemd scopes
  -h, --help         this text                   -v, --version
";

const GLOBAL: &[Flag] = &[
    Flag::value("root", None),
    Flag::value("log", None),
    Flag::value("log-format", None),
    Flag::value("criu", None),
    Flag::value("rootless", None),
    Flag::switch("debug", None),
    Flag::switch("systemd-cgroup", None),
    Flag::switch("help", Some('h')),
    Flag::switch("version", Some('v')),
];

const CREATE: &[Flag] = &[
    Flag::value("bundle", Some('b')),
    Flag::value("console-socket", None),
    Flag::value("pid-file", None),
    Flag::value("preserve-fds", None),
    Flag::switch("no-pivot", None),
    Flag::switch("no-new-keyring", None),
    Flag::switch("detach", Some('d')),
    Flag::switch("keep", None),
];

const EXEC: &[Flag] = &[
    Flag::value("process", Some('p')),
    Flag::value("console-socket", None),
    Flag::value("cwd", None),
    Flag::value("env", Some('e')),
    Flag::switch("tty", Some('t')),
    Flag::value("user", Some('u')),
    Flag::value("additional-gids", Some('g')),
    Flag::switch("no-new-privs", None),
    Flag::value("cap", Some('c')),
    Flag::value("preserve-fds", None),
    Flag::switch("detach", Some('d')),
    Flag::value("pid-file", None),
    Flag::value("process-label", None),
    Flag::value("apparmor", None),
    Flag::value("cgroup", None),
    Flag::switch("ignore-paused", None),
];

/// `exec` options.
#[derive(Debug, Default)]
pub struct ExecArgs {
    /// Container id.
    pub id: String,
    /// Command and arguments (unless --process).
    pub command: Vec<String>,
    /// A process.json to run.
    pub process: Option<PathBuf>,
    /// Unix socket that receives the pty master.
    pub console_socket: Option<PathBuf>,
    /// Working directory.
    pub cwd: Option<PathBuf>,
    /// Extra environment (KEY=VALUE).
    pub env: Vec<String>,
    /// Allocate a pty.
    pub tty: bool,
    /// uid[:gid].
    pub user: Option<String>,
    /// Additional gids.
    pub additional_gids: Vec<u32>,
    /// Set no_new_privs.
    pub no_new_privs: bool,
    /// Add a capability.
    pub cap: Vec<String>,
    /// Pass this many extra fds.
    pub preserve_fds: i32,
    /// Return once started.
    pub detach: bool,
    /// File to write the pid to.
    pub pid_file: Option<PathBuf>,
}

/// Entry point: parse `args` (argv including argv[0]) and run; returns the exit code.
pub fn main(args: Vec<std::ffi::OsString>) -> i32 {
    let args: Vec<String> = args
        .into_iter()
        .skip(1)
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    let mut log: Option<(PathBuf, String)> = None;
    let res = (|| -> Result<i32> {
        let g = crate::args::parse(&args, GLOBAL, true, "global options")?;
        let root = PathBuf::from(g.value("root").unwrap_or("/run/quai/runtime"));
        if let Some(l) = g.value("log") {
            log = Some((
                PathBuf::from(l),
                g.value("log-format").unwrap_or("text").to_string(),
            ));
        }
        if g.has("help") {
            print!("{USAGE}");
            return Ok(0);
        }
        if g.has("version") {
            println!(
                "quai-runtime {}\nspec: {}",
                env!("CARGO_PKG_VERSION"),
                crate::OCI_VERSION
            );
            return Ok(0);
        }
        crate::set_debug(g.has("debug"));
        let Some((verb, rest)) = g.positional.split_first() else {
            return Err(Error::Invalid(
                "no command given; see quai-runtime --help".into(),
            ));
        };
        dispatch(&root, verb, rest, g.has("systemd-cgroup"))
    })();
    match res {
        Ok(code) => code,
        Err(e) => {
            let msg = e.to_string();
            eprintln!("quai-runtime: {msg}");
            if let Some((path, format)) = &log {
                write_log(path, format, &msg);
            }
            1
        }
    }
}

fn one_id(p: &Parsed, verb: &str) -> Result<String> {
    match p.positional.as_slice() {
        [id] => Ok(id.clone()),
        [] => Err(Error::Invalid(format!(
            "{verb}: a container id is required"
        ))),
        _ => Err(Error::Invalid(format!(
            "{verb}: too many arguments: {}",
            p.positional.join(" ")
        ))),
    }
}

fn preserve_fds(p: &Parsed) -> Result<i32> {
    match p.value("preserve-fds") {
        None => Ok(0),
        Some(v) => v
            .parse()
            .map_err(|_| Error::Invalid(format!("invalid --preserve-fds {v:?}"))),
    }
}

fn dispatch(root: &Path, verb: &str, rest: &[String], systemd_cgroup: bool) -> Result<i32> {
    let parse =
        |flags: &[Flag], stop_after: bool| crate::args::parse(rest, flags, stop_after, verb);
    match verb {
        "create" | "run" => {
            let p = parse(CREATE, false)?;
            let id = one_id(&p, verb)?;
            crate::selfexe::ensure_protected()?;
            let mode = if verb == "create" {
                crate::create::Mode::Create
            } else {
                crate::create::Mode::Run
            };
            let sigmask = if verb == "run" {
                crate::wait::block_signals()?
            } else {
                nix::sys::signal::SigSet::thread_get_mask()
                    .unwrap_or_else(|_| nix::sys::signal::SigSet::empty())
            };
            let bundle = PathBuf::from(p.value("bundle").unwrap_or("."));
            let console = p.value("console-socket").map(PathBuf::from);
            let pid_file = p.value("pid-file").map(PathBuf::from);
            let o = crate::create::CreateOpts {
                root,
                id: &id,
                bundle: &bundle,
                spec: None,
                console_socket: console.as_deref(),
                pid_file: pid_file.as_deref(),
                preserve_fds: preserve_fds(&p)?,
                mode,
                sigmask,
                systemd_cgroup,
            };
            if verb == "create" {
                crate::create::create(&o).map(|_| 0)
            } else {
                crate::ops::run(&o, p.has("detach"))
            }
        }
        "start" => crate::ops::start(root, &one_id(&parse(&[], false)?, verb)?).map(|_| 0),
        "state" => print_json(&crate::ops::state_json(
            root,
            &one_id(&parse(&[], false)?, verb)?,
        )?)
        .map(|_| 0),
        "kill" => {
            let p = parse(&[Flag::switch("all", Some('a'))], false)?;
            let (id, sig) = match p.positional.as_slice() {
                [id] => (id, "SIGTERM"),
                [id, sig] => (id, sig.as_str()),
                _ => return Err(Error::Invalid("usage: kill [--all] ID [SIGNAL]".into())),
            };
            crate::ops::kill(root, id, crate::ops::parse_signal(sig)?, p.has("all")).map(|_| 0)
        }
        "delete" => {
            let p = parse(&[Flag::switch("force", Some('f'))], false)?;
            crate::ops::delete(root, &one_id(&p, verb)?, p.has("force")).map(|_| 0)
        }
        "pause" => crate::ops::pause(root, &one_id(&parse(&[], false)?, verb)?).map(|_| 0),
        "resume" => crate::ops::resume(root, &one_id(&parse(&[], false)?, verb)?).map(|_| 0),
        "ps" => {
            let p = parse(&[Flag::value("format", Some('f'))], true)?;
            let Some((id, ps_args)) = p.positional.split_first() else {
                return Err(Error::Invalid("ps: a container id is required".into()));
            };
            ps(root, id, p.value("format").unwrap_or("table"), ps_args)
        }
        "list" => {
            let p = parse(
                &[
                    Flag::value("format", Some('f')),
                    Flag::switch("quiet", Some('q')),
                ],
                false,
            )?;
            list(root, p.value("format").unwrap_or("table"), p.has("quiet"))
        }
        "features" => print_json(&crate::features::features()).map(|_| 0),
        "spec" => {
            let p = parse(
                &[
                    Flag::value("bundle", Some('b')),
                    Flag::switch("rootless", None),
                ],
                false,
            )?;
            crate::features::write_default_spec(
                Path::new(p.value("bundle").unwrap_or(".")),
                p.has("rootless"),
            )
            .map(|_| 0)
        }
        "exec" => {
            let p = parse(EXEC, true)?;
            let Some((id, command)) = p.positional.split_first() else {
                return Err(Error::Invalid("exec: a container id is required".into()));
            };
            let gids = p
                .values("additional-gids")
                .iter()
                .map(|g| {
                    g.parse()
                        .map_err(|_| Error::Invalid(format!("invalid --additional-gids {g:?}")))
                })
                .collect::<Result<Vec<u32>>>()?;
            let a = ExecArgs {
                id: id.clone(),
                command: command.to_vec(),
                process: p.value("process").map(PathBuf::from),
                console_socket: p.value("console-socket").map(PathBuf::from),
                cwd: p.value("cwd").map(PathBuf::from),
                env: p.values("env").to_vec(),
                tty: p.has("tty"),
                user: p.value("user").map(str::to_string),
                additional_gids: gids,
                no_new_privs: p.has("no-new-privs"),
                cap: p.values("cap").to_vec(),
                preserve_fds: preserve_fds(&p)?,
                detach: p.has("detach"),
                pid_file: p.value("pid-file").map(PathBuf::from),
            };
            crate::selfexe::ensure_protected()?;
            exec(root, &a)
        }
        other => Err(Error::Invalid(format!(
            "unknown command {other:?}; see quai-runtime --help"
        ))),
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
        personality: crate::exec::container_spec(root, &a.id)?
            .linux()
            .as_ref()
            .and_then(|l| l.personality().clone()),
    })
}

fn ps(root: &Path, id: &str, format: &str, args: &[String]) -> Result<i32> {
    let pids = crate::ops::pids(root, id)?;
    match format {
        "json" => print_json(&serde_json::json!(pids)).map(|_| 0),
        "table" => {
            print!("{}", crate::ops::ps_table(&pids, args)?);
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
