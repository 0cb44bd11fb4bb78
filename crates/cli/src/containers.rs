//! Container verbs: run, create, start, stop, restart, kill, pause, unpause, rm, ps,
//! inspect, exec, attach, wait, rename, port, container prune.

use engine::config::ContainerStatus;
use engine::config::MountKind;

use anyhow::{bail, Context};
use clap::{Args, Subcommand};
use engine::attach::Ended;
use engine::lifecycle::{CreateRequest, Engine};
use engine::Record;
use serde_json::{json, Value};

use crate::create_opts::{request, resolve_env, CreateArgs, Plan, Pull, RunArgs};
use crate::format;
use engine::attach::detach_keys as detach_keys_flag;

/// A failure with Docker's exit status for it.
#[derive(Debug)]
pub struct Status(pub i32, pub String);

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.1)
    }
}

impl std::error::Error for Status {}

/// A bad option of `create`/`run`: Docker's status 125.
fn usage(e: anyhow::Error) -> anyhow::Error {
    match e.downcast::<Status>() {
        Ok(s) => anyhow::Error::new(s),
        Err(e) => anyhow::Error::new(Status(125, format!("{e:#}"))),
    }
}

pub(crate) fn engine_err(e: engine::Error) -> anyhow::Error {
    anyhow::Error::new(Status(e.exit_status(), e.to_string()))
}

/// Pull as `--pull` says (`--platform`'s image when given), create, and show Docker's
/// warnings; `--cidfile` is claimed first (refused when it exists) and gets the id, or
/// goes again when nothing was created.
fn create_with_pull(eng: &mut Engine, plan: Plan) -> anyhow::Result<Record> {
    let Plan { req, pull, cidfile } = plan;
    if let Some(p) = &cidfile {
        claim_cidfile(p)?;
    }
    let made = create_pulling(eng, req, pull);
    match (&cidfile, &made) {
        (Some(p), Ok(rec)) => std::fs::write(p, &rec.id)
            .map_err(|e| anyhow::anyhow!("failed to write the container ID to the file: {e}"))?,
        (Some(p), Err(_)) => {
            let _ = std::fs::remove_file(p);
        }
        _ => {}
    }
    made
}

fn create_pulling(eng: &mut Engine, req: CreateRequest, pull: Pull) -> anyhow::Result<Record> {
    let fetch = |eng: &mut Engine, req: &CreateRequest| {
        let mut a = crate::registry_cmds::PullArgs::for_image(&req.image);
        if let Some(p) = &req.platform {
            a.platform = p.clone();
        }
        crate::registry_cmds::pull(eng, a)
            .map(|_| ())
            .map_err(|e| anyhow::Error::new(Status(125, format!("{e:#}"))))
    };
    if pull == Pull::Always {
        fetch(eng, &req)?;
    }
    let made = match eng.create_with_warnings(req.clone()) {
        Err(e) if e.is_no_such_image() && pull == Pull::Missing => {
            eprintln!("Unable to find image '{}' locally", req.image);
            fetch(eng, &req)?;
            eng.create_with_warnings(req)
        }
        Err(e) if e.is_no_such_image() => {
            let name = match req
                .image
                .rsplit('/')
                .next()
                .is_some_and(|l| l.contains(':'))
                || req.image.contains('@')
            {
                true => req.image.clone(),
                false => format!("{}:latest", req.image),
            };
            return Err(anyhow::Error::new(Status(
                125,
                format!("No such image: {name}"),
            )));
        }
        r => r,
    };
    let (rec, warnings) = made.map_err(engine_err)?;
    for w in warnings {
        eprintln!("WARNING: {w}");
    }
    Ok(rec)
}

/// `--cidfile`: make the file, refusing one that exists (Docker's words).
fn claim_cidfile(p: &std::path::Path) -> anyhow::Result<()> {
    match std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(p)
    {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Err(anyhow::Error::new(Status(
            125,
            format!(
                "container ID file found, make sure the other container isn't running or delete {}",
                p.display()
            ),
        ))),
        Err(e) => Err(anyhow::Error::new(Status(
            125,
            format!(
                "failed to create the container ID file: open {}: {}",
                p.display(),
                crate::common::go_io(&e)
            ),
        ))),
    }
}

/// `run`'s status for a failed create, as docker's CLI picks it from the words: 127
/// for a missing file, 126 for one it may not use, else 125.
fn run_create_status(e: anyhow::Error) -> anyhow::Error {
    let text = format!("{e:#}");
    let code = if text.contains("executable file not found")
        || text.contains("no such file or directory")
    {
        127
    } else if text.contains("permission denied") || text.contains("is a directory") {
        126
    } else {
        match e.downcast_ref::<Status>() {
            Some(s) => s.0,
            None => 125,
        }
    };
    anyhow::Error::new(Status(code, text))
}

/// `create`.
pub fn create(eng: &mut Engine, a: CreateArgs) -> anyhow::Result<i32> {
    let rec = create_with_pull(eng, request(a, false).map_err(usage)?)?;
    println!("{}", rec.id);
    Ok(0)
}

/// `run`.
pub fn run(eng: &mut Engine, a: RunArgs) -> anyhow::Result<i32> {
    let tty = a.create.tty;
    let keys = match &a.detach_keys {
        Some(k) => detach_keys_flag(k).map_err(|e| usage(e.into()))?,
        None => engine::attach::DEFAULT_DETACH_KEYS.to_vec(),
    };
    let rec = create_with_pull(eng, request(a.create, a.detach).map_err(usage)?)
        .map_err(run_create_status)?;
    if a.detach {
        eng.start(&rec.id, "").map_err(engine_err)?;
        println!("{}", rec.id);
        return Ok(0);
    }
    let at = rec.config.attach;
    let streams: String = [(at.stdin, 'i'), (at.stdout, 'o'), (at.stderr, 'e')]
        .iter()
        .filter(|(on, _)| *on)
        .map(|(_, c)| *c)
        .collect();
    let (rec, stream) = eng.start(&rec.id, &streams).map_err(engine_err)?;
    attached(eng, &rec, stream, at.stdin, tty, &keys, a.sig_proxy)
}

fn attached(
    eng: &mut Engine,
    rec: &Record,
    stream: std::os::unix::net::UnixStream,
    stdin: bool,
    tty: bool,
    detach_keys: &[u8],
    sig_proxy: bool,
) -> anyhow::Result<i32> {
    let forward = eng.signaller(&rec.id);
    // --sig-proxy=false: a signal is this client's, as for docker's: it dies of it, and
    // the container runs on.
    let proxy = move |s: nix::sys::signal::Signal| {
        if sig_proxy {
            forward(s);
            return;
        }
        use nix::sys::signal::{self, SigHandler, SigSet, SigmaskHow};
        // SAFETY: restoring the default action of a signal this thread then receives.
        unsafe {
            let _ = signal::signal(s, SigHandler::SigDfl);
        }
        let mut one = SigSet::empty();
        one.add(s);
        let _ = signal::pthread_sigmask(SigmaskHow::SIG_UNBLOCK, Some(&one), None);
        let _ = signal::raise(s);
    };
    let ended =
        engine::attach::client_loop(stream, stdin, tty, detach_keys, proxy).context("attach")?;
    Ok(match ended {
        Ended::Exited(code) => code,
        Ended::Detached => 0,
        Ended::Closed => eng.get(&rec.id).map(|r| r.state.exit_code).unwrap_or(255),
        Ended::Failed { code, message } => return Err(anyhow::Error::new(Status(code, message))),
    })
}

/// `start`.
pub fn start(
    eng: &mut Engine,
    attach: bool,
    interactive: bool,
    containers: &[String],
    detach_keys: Option<&str>,
) -> anyhow::Result<i32> {
    let keys = match detach_keys {
        Some(k) => detach_keys_flag(k)?,
        None => engine::attach::DEFAULT_DETACH_KEYS.to_vec(),
    };
    if attach || interactive {
        if containers.len() != 1 {
            bail!("you cannot start and attach multiple containers at once");
        }
        let rec = eng.get(&containers[0]).map_err(engine_err)?;
        let streams = if interactive { "ioe" } else { "oe" };
        let (rec, stream) = eng.start(&rec.id, streams).map_err(engine_err)?;
        return attached(eng, &rec, stream, interactive, rec.config.tty, &keys, true);
    }
    crate::common::each(containers, |c| {
        let r = eng.get(c)?;
        if r.state.status != ContainerStatus::Running && r.state.status != ContainerStatus::Paused {
            eng.start(c, "")?;
        }
        Ok(())
    })
}

/// `ps` options.
#[derive(Debug, Args)]
pub struct PsArgs {
    /// Show all containers (default shows just running).
    #[arg(short, long)]
    pub all: bool,
    /// Only display container ids.
    #[arg(short, long)]
    pub quiet: bool,
    /// Show n last created containers (includes all states).
    #[arg(short = 'n', long = "last")]
    pub last: Option<usize>,
    /// Show the latest created container.
    #[arg(short = 'l', long)]
    pub latest: bool,
    /// Filter (`name=`, `label=`, `status=`, `ancestor=`, `id=`, `exited=`).
    #[arg(short, long)]
    pub filter: Vec<String>,
    /// `json`, `table`, or a Go template.
    #[arg(long)]
    pub format: Option<String>,
    /// Don't truncate output.
    #[arg(long = "no-trunc")]
    pub no_trunc: bool,
    /// Display total file sizes.
    #[arg(short, long)]
    pub size: bool,
}

/// The PORTS column as docker's CLI makes it from a running container's ports: runs of
/// exposed ports (and ports published on the same number) grouped into ranges first,
/// then the other published ones, each `IP:HOST->PORT/PROTO`.
pub(crate) fn displayable_ports(r: &Record) -> String {
    if !r.state.status.is_active() {
        return String::new();
    }
    // (private port, ip, public port, proto) as the daemon lists them.
    let mut ports: Vec<(u16, String, u16, String)> = Vec::new();
    for p in &r.state.ports {
        ports.push((
            p.container_port,
            p.host_ip
                .unwrap_or(std::net::Ipv4Addr::UNSPECIFIED)
                .to_string(),
            p.host_port,
            p.proto.to_string(),
        ));
    }
    for e in &r.config.exposed_ports {
        let (n, proto) = e.split_once('/').unwrap_or((e, "tcp"));
        let Ok(n) = n.parse::<u16>() else { continue };
        if !ports.iter().any(|p| p.0 == n && p.3 == proto) {
            ports.push((n, String::new(), 0, proto.to_string()));
        }
    }
    ports.sort();
    let mut groups: Vec<(String, u16, u16)> = Vec::new();
    let mut mappings = Vec::new();
    for (private, ip, public, proto) in ports {
        let key = if ip.is_empty() {
            proto.clone()
        } else if public != private {
            mappings.push(format!("{ip}:{public}->{private}/{proto}"));
            continue;
        } else {
            format!("{ip}/{proto}")
        };
        match groups.iter_mut().rev().find(|g| g.0 == key) {
            Some(g) if g.2 + 1 == private => g.2 = private,
            _ => groups.push((key, private, private)),
        }
    }
    let form = |(key, first, last): &(String, u16, u16)| {
        let range = if first == last {
            first.to_string()
        } else {
            format!("{first}-{last}")
        };
        match key.split_once('/') {
            Some((ip, proto)) => format!("{ip}:{range}->{range}/{proto}"),
            None => format!("{range}/{key}"),
        }
    };
    groups
        .iter()
        .map(form)
        .chain(mappings)
        .collect::<Vec<_>>()
        .join(", ")
}

/// The COMMAND column: quoted, cut to 20 characters unless `no_trunc`.
pub(crate) fn command_column(r: &Record, no_trunc: bool) -> String {
    let cmd = engine::docker::command_text(&r.config);
    if no_trunc || cmd.chars().count() <= 20 {
        dockerfile::go_quote(&cmd)
    } else {
        dockerfile::go_quote(&format!("{}…", cmd.chars().take(19).collect::<String>()))
    }
}

/// The Labels field: `k=v` joined with commas.
pub(crate) fn labels_text(r: &Record) -> String {
    r.config
        .labels
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(",")
}

fn ps_row(r: &Record, no_trunc: bool) -> Value {
    let cmd = command_column(r, no_trunc);
    let labels = labels_text(r);
    json!({
        "ID": if no_trunc { r.id.clone() } else { r.id[..12].to_string() },
        "Image": r.config.image,
        "Command": cmd,
        "CreatedAt": engine::time::parse_rfc3339(&r.created).map(engine::time::go_string_secs).unwrap_or_default(),
        "RunningFor": format::ago(&r.created),
        "Status": engine::docker::status_text(r),
        "State": r.state.status,
        "Ports": displayable_ports(r),
        "Names": r.name,
        "Labels": labels,
        "Mounts": r.config.mounts.iter().map(|m| m.source.clone()).collect::<Vec<_>>().join(","),
        "Networks": (!r.config.primary_disconnected)
            .then(|| r.config.network_mode.to_string())
            .into_iter()
            .chain(r.config.networks.iter().map(|a| a.network.clone()))
            .collect::<Vec<_>>()
            .join(","),
        "Size": "",
        "LocalVolumes": r.config.mounts.iter().filter(|m| m.kind == MountKind::Volume).count().to_string(),
    })
}

/// Docker's header names of `ps` fields (docker/cli's container formatter).
const PS_HEADERS: &[(&str, &str)] = &[
    ("ID", "CONTAINER ID"),
    ("Image", "IMAGE"),
    ("Command", "COMMAND"),
    ("CreatedAt", "CREATED AT"),
    ("RunningFor", "CREATED"),
    ("Ports", "PORTS"),
    ("Status", "STATUS"),
    ("Size", "SIZE"),
    ("Names", "NAMES"),
    ("Labels", "LABELS"),
    ("Mounts", "MOUNTS"),
    ("LocalVolumes", "LOCAL VOLUMES"),
    ("Networks", "NETWORKS"),
    ("State", "STATE"),
    ("Platform", "PLATFORM"),
];

/// `ps`.
pub fn ps(eng: &mut Engine, a: PsArgs) -> anyhow::Result<i32> {
    let filters = engine::filters::Filters::parse(&a.filter).map_err(anyhow::Error::new)?;
    let mut all = eng.list_filtered(&filters).map_err(anyhow::Error::new)?;
    let last = if a.latest { Some(1) } else { a.last };
    if let Some(n) = last {
        all.truncate(n);
    } else if !a.all {
        all.retain(|r| r.state.status.is_active());
    }
    let mut rows = Vec::new();
    let image_sizes: std::collections::HashMap<String, u64> = if a.size {
        eng.image_sizes()?
    } else {
        Default::default()
    };
    for r in &all {
        let mut row = ps_row(r, a.no_trunc);
        if a.size {
            let (rw, root_fs) = eng.container_sizes(r, &image_sizes);
            row["Size"] = json!(format!(
                "{} (virtual {})",
                format::human_size(rw),
                format::human_size(root_fs)
            ));
        }
        rows.push(row);
    }
    // docker's default format from its config file (`psFormat`), unless one was given.
    let configured = if a.format.is_none() && !a.quiet {
        crate::common::config_format("psFormat")
    } else {
        None
    };
    let a = PsArgs {
        format: a.format.or(configured),
        ..a
    };
    if a.quiet && a.format.as_deref().is_none_or(|f| f == "table") {
        for r in &rows {
            println!("{}", r["ID"].as_str().unwrap_or_default());
        }
        return Ok(0);
    }
    match a.format.as_deref() {
        Some("json") => {
            for r in &rows {
                println!("{}", crate::template::go_json(r));
            }
        }
        Some(t) if t != "table" => match t.strip_prefix("table") {
            Some(rest) => {
                let out = crate::template::render_table(rest.trim_start(), &rows, PS_HEADERS)
                    .map_err(anyhow::Error::msg)?;
                println!("{out}");
            }
            None => {
                for r in &rows {
                    println!(
                        "{}",
                        crate::template::render(t, r).map_err(anyhow::Error::msg)?
                    );
                }
            }
        },
        _ => {
            let mut keys = vec![
                "ID",
                "Image",
                "Command",
                "RunningFor",
                "Status",
                "Ports",
                "Names",
            ];
            let mut heads = vec![
                "CONTAINER ID",
                "IMAGE",
                "COMMAND",
                "CREATED",
                "STATUS",
                "PORTS",
                "NAMES",
            ];
            if a.size {
                keys.push("Size");
                heads.push("SIZE");
            }
            let table: Vec<Vec<String>> = rows
                .iter()
                .map(|r| {
                    keys.iter()
                        .map(|k| r[k].as_str().unwrap_or_default().to_string())
                        .collect()
                })
                .collect();
            format::table(&heads, &table);
        }
    }
    Ok(0)
}

/// `exec` options.
#[derive(Debug, Args)]
pub struct ExecArgs {
    /// Keep STDIN open.
    #[arg(short, long)]
    pub interactive: bool,
    /// Allocate a pseudo-TTY.
    #[arg(short, long)]
    pub tty: bool,
    /// Run in the background.
    #[arg(short, long)]
    pub detach: bool,
    /// Set environment variables.
    #[arg(short, long)]
    pub env: Vec<String>,
    /// Working directory.
    #[arg(short, long)]
    pub workdir: Option<String>,
    /// User.
    #[arg(short, long)]
    pub user: Option<String>,
    /// Extended privileges.
    #[arg(long)]
    pub privileged: bool,
    /// Container.
    pub container: String,
    /// Command and arguments.
    #[arg(trailing_var_arg = true, allow_hyphen_values = true, required = true)]
    pub cmd: Vec<String>,
}

/// `exec`.
pub fn exec(eng: &mut Engine, a: ExecArgs) -> anyhow::Result<i32> {
    eng.exec_reported(
        &a.container,
        engine::exec::ExecRequest {
            cmd: a.cmd,
            interactive: a.interactive,
            tty: a.tty,
            detach: a.detach,
            env: a
                .env
                .iter()
                .map(|e| resolve_env(e))
                .filter(|e| !e.is_empty())
                .collect(),
            workdir: a.workdir,
            user: a.user,
            privileged: a.privileged,
        },
    )
    .map_err(anyhow::Error::new)
}

/// `attach`.
pub fn attach(
    eng: &mut Engine,
    container: &str,
    no_stdin: bool,
    detach_keys: Option<&str>,
    sig_proxy: bool,
) -> anyhow::Result<i32> {
    let keys = match detach_keys {
        Some(k) => detach_keys_flag(k)?,
        None => engine::attach::DEFAULT_DETACH_KEYS.to_vec(),
    };
    let r = eng.get(container).map_err(engine_err)?;
    if r.state.status != ContainerStatus::Running {
        bail!("You cannot attach to a stopped container, start it first");
    }
    let mut s = eng.attach_stream(&r.id)?;
    let stdin = r.config.open_stdin && !no_stdin;
    engine::attach::send(
        &mut s,
        engine::attach::ATTACH,
        if stdin { b"ioe" } else { b"oe" },
    )?;
    attached(eng, &r, s, stdin, r.config.tty, &keys, sig_proxy)
}

/// Container management verbs (`quai container ...`).
#[derive(Debug, Subcommand)]
pub enum ContainerCmd {
    /// Remove all stopped containers.
    Prune {
        /// Do not prompt.
        #[arg(short, long)]
        force: bool,
        /// Filter (`label=`).
        #[arg(long)]
        filter: Vec<String>,
    },
    /// Create a new image from a container's changes.
    Commit(crate::container_io::CommitArgs),
    /// Inspect changes to files or directories on a container's filesystem.
    Diff {
        /// Container.
        container: String,
    },
    /// Export a container's filesystem as a tar archive.
    Export {
        /// Write to a file, instead of standard output.
        #[arg(short, long)]
        output: Option<String>,
        /// Container.
        container: String,
    },
}

/// `container prune`: stopped containers (matching the filters) removed; their ids and
/// the bytes their layers held.
pub fn prune(eng: &mut Engine, filters: &[String]) -> anyhow::Result<(Vec<String>, u64)> {
    let f = engine::filters::Filters::parse(filters).map_err(anyhow::Error::new)?;
    eng.container_prune(&f).map_err(anyhow::Error::new)
}

/// `update` options (docker's).
#[derive(Debug, clap::Args)]
pub struct UpdateArgs {
    /// Block IO weight (10 to 1000, 0 to leave it).
    #[arg(long = "blkio-weight")]
    pub blkio_weight: Option<u16>,
    /// Limit CPU CFS period (µs).
    #[arg(long = "cpu-period", allow_hyphen_values = true)]
    pub cpu_period: Option<String>,
    /// Limit CPU CFS quota (µs).
    #[arg(long = "cpu-quota", allow_hyphen_values = true)]
    pub cpu_quota: Option<String>,
    /// Limit the CPU real-time period (µs).
    #[arg(long = "cpu-rt-period", allow_hyphen_values = true)]
    pub cpu_rt_period: Option<String>,
    /// Limit the CPU real-time runtime (µs).
    #[arg(long = "cpu-rt-runtime", allow_hyphen_values = true)]
    pub cpu_rt_runtime: Option<String>,
    /// CPU shares (relative weight).
    #[arg(short = 'c', long = "cpu-shares", allow_hyphen_values = true)]
    pub cpu_shares: Option<String>,
    /// Number of CPUs.
    #[arg(long)]
    pub cpus: Option<f64>,
    /// CPUs in which to allow execution (0-3, 0,1).
    #[arg(long = "cpuset-cpus")]
    pub cpuset_cpus: Option<String>,
    /// MEMs in which to allow execution (0-3, 0,1).
    #[arg(long = "cpuset-mems")]
    pub cpuset_mems: Option<String>,
    /// Memory limit.
    #[arg(short, long)]
    pub memory: Option<String>,
    /// Memory soft limit.
    #[arg(long = "memory-reservation")]
    pub memory_reservation: Option<String>,
    /// Swap limit equal to memory plus swap: -1 for unlimited.
    #[arg(long = "memory-swap", allow_hyphen_values = true)]
    pub memory_swap: Option<String>,
    /// Tune the container's pids limit (-1 for unlimited).
    #[arg(long = "pids-limit", allow_hyphen_values = true)]
    pub pids_limit: Option<String>,
    /// Restart policy to apply when a container exits.
    #[arg(long)]
    pub restart: Option<String>,
    /// Containers.
    #[arg(required = true)]
    pub containers: Vec<String>,
}

/// `update`: each container's name as given, once changed (docker's output).
pub fn update(eng: &mut Engine, a: UpdateArgs) -> anyhow::Result<i32> {
    use crate::flag_values::{int_flag, size_flag};
    let swap = match a.memory_swap.as_deref() {
        Some("-1") => Some(-1),
        _ => size_flag("memory-swap", &a.memory_swap)?,
    };
    if let Some(x) = a.cpus.filter(|x| !x.is_finite() || *x < 0.0) {
        anyhow::bail!("invalid argument \"{x}\" for \"--cpus\" flag: not a number of CPUs");
    }
    let req = engine::update::UpdateRequest {
        memory: size_flag("memory", &a.memory)?,
        memory_swap: swap,
        memory_reservation: size_flag("memory-reservation", &a.memory_reservation)?,
        nano_cpus: a.cpus.map(|x| (x * 1e9) as i64),
        cpu_shares: int_flag("cpu-shares", &a.cpu_shares)?,
        cpu_period: int_flag("cpu-period", &a.cpu_period)?,
        cpu_quota: int_flag("cpu-quota", &a.cpu_quota)?,
        cpu_rt_period: int_flag("cpu-rt-period", &a.cpu_rt_period)?,
        cpu_rt_runtime: int_flag("cpu-rt-runtime", &a.cpu_rt_runtime)?,
        cpuset_cpus: a.cpuset_cpus,
        cpuset_mems: a.cpuset_mems,
        pids_limit: int_flag("pids-limit", &a.pids_limit)?,
        blkio_weight: a.blkio_weight.filter(|w| *w != 0),
        restart: a.restart,
    };
    let nothing = req.memory.is_none()
        && req.memory_swap.is_none()
        && req.memory_reservation.is_none()
        && req.nano_cpus.is_none()
        && req.cpu_shares.is_none()
        && req.cpu_period.is_none()
        && req.cpu_quota.is_none()
        && req.cpu_rt_period.is_none()
        && req.cpu_rt_runtime.is_none()
        && req.cpuset_cpus.is_none()
        && req.cpuset_mems.is_none()
        && req.pids_limit.is_none()
        && req.blkio_weight.is_none()
        && req.restart.is_none();
    if nothing {
        anyhow::bail!("you must provide one or more flags when using this command");
    }
    let mut failed = false;
    for c in &a.containers {
        match eng.update(c, &req) {
            Ok(_) => println!("{c}"),
            Err(e) => {
                eprintln!("Error: {e}");
                failed = true;
            }
        }
    }
    Ok(i32::from(failed))
}
