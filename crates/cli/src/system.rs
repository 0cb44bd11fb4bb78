//! `volume ...`, `system df|prune|info|boot`, `info`, `version`.

use crate::common::{confirm, kv, volume_json};
use anyhow::Context as _;
use engine::config::ContainerStatus;
use engine::config::MountKind;

use clap::Subcommand;
use engine::lifecycle::Engine;
use serde_json::json;

use crate::format;

/// `volume` subcommands.
#[derive(Debug, Subcommand)]
pub enum VolumeCmd {
    /// Create a volume.
    Create {
        /// Volume driver (`local`).
        #[arg(short, long, default_value = "local")]
        driver: String,
        /// Driver options (`type=tmpfs`, `device=tmpfs`, `o=size=64m`).
        #[arg(short, long = "opt")]
        opt: Vec<String>,
        /// Labels.
        #[arg(short, long = "label")]
        label: Vec<String>,
        /// Name (random when absent).
        name: Option<String>,
    },
    /// List volumes.
    #[command(alias = "list")]
    Ls {
        /// Only names.
        #[arg(short, long)]
        quiet: bool,
        /// Filter (`name=`, `label=`, `dangling=`).
        #[arg(short, long)]
        filter: Vec<String>,
        /// `json` or a Go template.
        #[arg(long)]
        format: Option<String>,
    },
    /// Show volume details.
    Inspect {
        /// Go template.
        #[arg(short, long)]
        format: Option<String>,
        /// Volumes.
        #[arg(required = true)]
        names: Vec<String>,
    },
    /// Remove volumes.
    Rm {
        /// Ignore missing volumes.
        #[arg(short, long)]
        force: bool,
        /// Volumes.
        #[arg(required = true)]
        names: Vec<String>,
    },
    /// Remove unused volumes (anonymous ones; all unused with -a).
    Prune {
        /// All unused volumes, not just anonymous ones.
        #[arg(short, long)]
        all: bool,
        /// Do not prompt.
        #[arg(short, long)]
        force: bool,
    },
}

/// `volume ...`.
pub fn volume(eng: &mut Engine, cmd: VolumeCmd) -> anyhow::Result<i32> {
    match cmd {
        VolumeCmd::Create {
            driver,
            opt,
            label,
            name,
        } => {
            let v = eng.volume_create(name.as_deref(), &driver, kv(&label), kv(&opt))?;
            println!("{}", v.name);
            Ok(0)
        }
        VolumeCmd::Ls {
            quiet,
            filter,
            format,
        } => {
            let format = format.or_else(|| {
                if quiet {
                    None
                } else {
                    crate::common::config_format("volumesFormat")
                }
            });
            let used: Vec<String> = eng
                .records()?
                .iter()
                .flat_map(|r| {
                    r.config
                        .mounts
                        .iter()
                        .filter(|m| m.kind == MountKind::Volume)
                        .map(|m| m.source.clone())
                        .collect::<Vec<_>>()
                })
                .collect();
            let mut rows = Vec::new();
            for v in eng.volumes()? {
                let ok = filter.iter().all(|f| {
                    let (k, val) = f.split_once('=').unwrap_or((f, ""));
                    match k {
                        "name" => v.name.contains(val),
                        "dangling" => (val == "true" || val == "1") != used.contains(&v.name),
                        "driver" => v.driver == val,
                        "label" => match val.split_once('=') {
                            Some((lk, lv)) => v.labels.get(lk).is_some_and(|x| x == lv),
                            None => v.labels.contains_key(val),
                        },
                        _ => false,
                    }
                });
                if ok {
                    rows.push(v);
                }
            }
            if quiet {
                rows.iter().for_each(|v| println!("{}", v.name));
                return Ok(0);
            }
            match format.as_deref() {
                Some("json") => rows.iter().for_each(|v| {
                    println!("{}", crate::template::go_json(&json!({"Availability": "N/A", "Driver": v.driver, "Group": "N/A", "Labels": v.labels.iter().map(|(k, x)| format!("{k}={x}")).collect::<Vec<_>>().join(","), "Links": "N/A", "Mountpoint": eng.volume_mountpoint(&v.name), "Name": v.name, "Scope": "local", "Size": "N/A", "Status": "N/A"})))
                }),
                Some(t) => {
                    for v in &rows {
                        println!("{}", crate::template::render(t, &volume_json(eng, v)).map_err(anyhow::Error::msg)?);
                    }
                }
                None => format::table(
                    &["DRIVER", "VOLUME NAME"],
                    &rows.iter().map(|v| vec![v.driver.clone(), v.name.clone()]).collect::<Vec<_>>(),
                ),
            }
            Ok(0)
        }
        VolumeCmd::Inspect { format, names } => {
            let mut docs = Vec::new();
            let mut code = 0;
            for n in &names {
                match eng.volume(n)? {
                    Some(v) => docs.push(volume_json(eng, &v)),
                    None => {
                        eprintln!("Error: No such volume: {n}");
                        code = 1;
                    }
                }
            }
            crate::template::print_docs(&docs, format.as_deref())?;
            Ok(code)
        }
        VolumeCmd::Rm { force, names } => {
            crate::common::each(&names, |n| match eng.volume_remove(n) {
                Err(engine::Error::NoSuchVolume(_)) if force => Ok(()),
                r => r,
            })
        }
        VolumeCmd::Prune { all, force } => {
            if !confirm(
                force,
                "all anonymous local volumes not used by at least one container",
            )? {
                return Ok(0);
            }
            let (gone, freed) = eng.volume_prune(&prune_all(all))?;
            if !gone.is_empty() {
                println!("Deleted Volumes:");
                gone.iter().for_each(|v| println!("{v}"));
                println!();
            }
            println!("Total reclaimed space: {}", format::human_size(freed));
            Ok(0)
        }
    }
}

/// A volume prune's filters: anonymous volumes, or with `all` every unused one.
fn prune_all(all: bool) -> engine::filters::Filters {
    let mut m = std::collections::BTreeMap::new();
    if all {
        m.insert("all".to_string(), vec!["true".to_string()]);
    }
    engine::filters::Filters::from_map(m)
}

/// `system` subcommands.
#[derive(Debug, Subcommand)]
pub enum SystemCmd {
    /// Show disk usage.
    Df {
        /// Go template (`table ...` for a table), or `json`.
        #[arg(long)]
        format: Option<String>,
    },
    /// Remove stopped containers, dangling images (all unused with -a) and, with
    /// --volumes, unused anonymous volumes.
    Prune {
        /// All unused images, not just dangling ones.
        #[arg(short, long)]
        all: bool,
        /// Do not prompt.
        #[arg(short, long)]
        force: bool,
        /// Prune anonymous volumes too.
        #[arg(long)]
        volumes: bool,
    },
    /// Serve the Docker Engine API (docker CLI, compose, SDKs) over this engine.
    Service(ServiceArgs),
    /// Display system-wide information.
    Info {
        /// Go template, or `json`.
        #[arg(short, long)]
        format: Option<String>,
    },
    /// Start the containers whose restart policy asks for it (run at boot, after the run
    /// dir was wiped).
    Boot,
    /// Rootless: stop the running containers and the user namespace's pause process, so
    /// that the next command sets it up afresh (after a reboot, a change of /etc/subuid or
    /// an upgrade).
    Migrate,
}

/// `system service`.
#[derive(Debug, clap::Args)]
pub struct ServiceArgs {
    /// Exit after this many seconds without a request (0: never).
    #[arg(short, long, default_value_t = 0)]
    time: u64,
    /// Share the unix socket with this group (name or id; mode 0660).
    #[arg(long)]
    group: Option<String>,
    /// Serve TLS (tcp:// only).
    #[arg(long)]
    tls: bool,
    /// Serve TLS and require client certificates signed by --tlscacert.
    #[arg(long)]
    tlsverify: bool,
    /// The CA that signs client certificates.
    #[arg(long)]
    tlscacert: Option<std::path::PathBuf>,
    /// The server's certificate (PEM).
    #[arg(long)]
    tlscert: Option<std::path::PathBuf>,
    /// The server's key (PEM).
    #[arg(long)]
    tlskey: Option<std::path::PathBuf>,
    /// Write systemd units (quai.socket, quai.service) that start the service on the
    /// first connection, and enable them where systemd runs.
    #[arg(long)]
    install: bool,
    /// Where: `unix:///PATH` (default `unix:///run/quai/docker.sock`),
    /// `tcp://HOST:PORT` or `fd://` (socket activation).
    address: Option<String>,
}

/// `system service`: validate everything, then serve.
fn service(eng: &Engine, a: ServiceArgs) -> anyhow::Result<i32> {
    let address = a
        .address
        .as_deref()
        .unwrap_or("unix:///run/quai/docker.sock");
    let listen: api::Listen = address.parse()?;
    let group = match &a.group {
        None => None,
        // The host's /etc/group, read as for a container's `-u` (no NSS in a static
        // binary).
        Some(g) => Some(
            engine::rootfs::resolve_user(std::path::Path::new("/"), &format!("0:{g}"), &[])
                .map_err(|_| anyhow::anyhow!("group {g} not found"))?
                .gid,
        ),
    };
    let tls = if a.tls || a.tlsverify {
        let need = |p: &Option<std::path::PathBuf>, flag: &str| {
            p.clone()
                .ok_or_else(|| anyhow::anyhow!("--{flag} is needed with --tls/--tlsverify"))
        };
        Some(api::Tls {
            cert: need(&a.tlscert, "tlscert")?,
            key: need(&a.tlskey, "tlskey")?,
            ca: a.tlscacert.clone(),
            verify: a.tlsverify,
        })
    } else {
        None
    };
    let opts = api::Options {
        idle: (a.time > 0).then(|| std::time::Duration::from_secs(a.time)),
        group,
        tls,
    };
    api::check(&listen, &opts)?;
    if a.install {
        return install(eng, &listen, &a);
    }
    let state = api::State::new(eng.root().to_path_buf(), eng.run_dir().to_path_buf());
    api::serve(state, &listen, &opts)?;
    Ok(0)
}

/// `system service --install`: quai.socket listens where the service would, and starts
/// quai.service (`system service fd://`) on the first connection, as docker.socket does.
fn install(eng: &Engine, listen: &api::Listen, a: &ServiceArgs) -> anyhow::Result<i32> {
    let stream = match listen {
        api::Listen::Unix(p) => p.display().to_string(),
        api::Listen::Tcp(t) => t.to_string(),
        api::Listen::Fd(_) => anyhow::bail!("--install: give the address to listen on, not fd://"),
    };
    let (mode, group) = match &a.group {
        Some(g) => ("0660", format!("SocketGroup={g}\n")),
        None => ("0600", String::new()),
    };
    let exe = std::fs::read_link("/proc/self/exe").context("our own binary")?;
    let mut extra = String::new();
    for (flag, v) in [
        ("--tlscacert", &a.tlscacert),
        ("--tlscert", &a.tlscert),
        ("--tlskey", &a.tlskey),
    ] {
        if let Some(p) = v {
            extra.push_str(&format!(" {flag} {}", p.display()));
        }
    }
    if a.tlsverify {
        extra.push_str(" --tlsverify");
    } else if a.tls {
        extra.push_str(" --tls");
    }
    if a.time > 0 {
        extra.push_str(&format!(" --time {}", a.time));
    }
    let socket = format!(
        "[Unit]\nDescription=quai Docker Engine API socket\n\n[Socket]\nListenStream={stream}\nSocketMode={mode}\nSocketUser=root\n{group}\n[Install]\nWantedBy=sockets.target\n"
    );
    let service = format!(
        "[Unit]\nDescription=quai Docker Engine API service\nRequires=quai.socket\nAfter=quai.socket\n\n[Service]\nType=exec\nEnvironment=QUAI_ROOT={} QUAI_RUN_DIR={}\nExecStart={} system service{extra} fd://\nKillMode=process\nDelegate=yes\n\n[Install]\nWantedBy=multi-user.target\n",
        eng.root().display(),
        eng.run_dir().display(),
        exe.display(),
    );
    let dir = std::env::var_os("QUAI_SYSTEMD_UNIT_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| "/etc/systemd/system".into());
    std::fs::create_dir_all(&dir).with_context(|| format!("create {}", dir.display()))?;
    for (name, text) in [("quai.socket", &socket), ("quai.service", &service)] {
        let p = dir.join(name);
        std::fs::write(&p, text).with_context(|| format!("write {}", p.display()))?;
        println!("{}", p.display());
    }
    if std::path::Path::new("/run/systemd/system").exists() {
        for args in [
            &["daemon-reload"][..],
            &["enable", "--now", "quai.socket"][..],
        ] {
            let st = std::process::Command::new("systemctl")
                .args(args)
                .status()
                .context("systemctl")?;
            anyhow::ensure!(st.success(), "systemctl {} failed", args.join(" "));
        }
    } else {
        eprintln!("systemd is not running here: start the socket with `systemctl enable --now quai.socket` where it is");
    }
    Ok(0)
}

/// `system ...`.
pub fn system(eng: &mut Engine, cmd: SystemCmd) -> anyhow::Result<i32> {
    match cmd {
        SystemCmd::Df { format } => df(eng, format.as_deref()),
        SystemCmd::Service(a) => service(eng, a),
        SystemCmd::Info { format } => info_cmd(eng, format.as_deref()),
        SystemCmd::Migrate => {
            let (stopped, reset) = eng.rootless_reset()?;
            for name in stopped {
                eprintln!("stopped {name}");
            }
            if !reset {
                eprintln!("nothing to migrate: quai does not run rootless here");
            }
            Ok(0)
        }
        SystemCmd::Boot => {
            let mut code = 0;
            for (id, res) in eng.boot()? {
                match res {
                    Ok(()) => println!("{id}"),
                    Err(e) => {
                        eprintln!("Error: start {id}: {e}");
                        code = 1;
                    }
                }
            }
            Ok(code)
        }
        SystemCmd::Prune {
            all,
            force,
            volumes,
        } => {
            if !confirm(
                force,
                "all stopped containers, unused images and build cache",
            )? {
                return Ok(0);
            }
            eng.make_room();
            let (gone, _) = crate::containers::prune(eng, &[])?;
            if !gone.is_empty() {
                println!("Deleted Containers:");
                gone.iter().for_each(|c| println!("{c}"));
            }
            if volumes {
                let (v, _) = eng.volume_prune(&prune_all(false))?;
                if !v.is_empty() {
                    println!("Deleted Volumes:");
                    v.iter().for_each(|x| println!("{x}"));
                }
            }
            let (deleted, freed) = eng.image_prune(all)?;
            if !deleted.is_empty() {
                println!("Deleted Images:");
                deleted.iter().for_each(|d| println!("{d}"));
            }
            println!("\nTotal reclaimed space: {}", format::human_size(freed));
            Ok(0)
        }
    }
}

fn df(eng: &mut Engine, format: Option<&str>) -> anyhow::Result<i32> {
    let du = eng.disk_usage()?;
    let img_active = du.images.iter().filter(|i| i.containers > 0).count();
    let c_active = du
        .containers
        .iter()
        .filter(|c| c.record.state.status == ContainerStatus::Running)
        .count();
    let c_size: u64 = du.containers.iter().map(|c| c.size_rw).sum();
    let c_reclaim: u64 = du
        .containers
        .iter()
        .filter(|c| c.record.state.status != ContainerStatus::Running)
        .map(|c| c.size_rw)
        .sum();
    let v_active = du.volumes.iter().filter(|v| v.ref_count > 0).count();
    let v_size: u64 = du.volumes.iter().map(|v| v.size).sum();
    let v_reclaim: u64 = du
        .volumes
        .iter()
        .filter(|v| v.ref_count == 0)
        .map(|v| v.size)
        .sum();
    let pct = |r: u64, t: u64| {
        (r * 100)
            .checked_div(t)
            .map(|p| format!(" ({p}%)"))
            .unwrap_or_default()
    };
    // The build cache: its entries; those whose images are a build's own steps can go.
    let cache = &du.build_cache;
    let cache_size: u64 = cache.iter().map(|e| e.size).sum();
    let cache_reclaim: u64 = cache.iter().filter(|e| e.hidden).map(|e| e.size).sum();
    let row = |kind: &str, total: usize, active: usize, size: u64, reclaim: u64| {
        json!({
            "Type": kind,
            "TotalCount": total.to_string(),
            "Active": active.to_string(),
            "Size": format::human_size(size),
            "Reclaimable": format!("{}{}", format::human_size(reclaim), pct(reclaim, size)),
        })
    };
    let rows = [
        row(
            "Images",
            du.images.len(),
            img_active,
            du.layers_size,
            du.images_reclaimable(),
        ),
        row(
            "Containers",
            du.containers.len(),
            c_active,
            c_size,
            c_reclaim,
        ),
        row(
            "Local Volumes",
            du.volumes.len(),
            v_active,
            v_size,
            v_reclaim,
        ),
        row(
            "Build Cache",
            cache.len(),
            cache.iter().filter(|e| !e.hidden).count(),
            cache_size,
            cache_reclaim,
        ),
    ];
    match format {
        Some("json") => rows
            .iter()
            .for_each(|r| println!("{}", crate::template::go_json(r))),
        Some(f) => match f.strip_prefix("table") {
            Some(rest) => println!(
                "{}",
                crate::template::render_table(
                    rest.trim_start(),
                    &rows,
                    &[
                        ("Type", "TYPE"),
                        ("TotalCount", "TOTAL"),
                        ("Active", "ACTIVE"),
                        ("Size", "SIZE"),
                        ("Reclaimable", "RECLAIMABLE"),
                    ],
                )
                .map_err(anyhow::Error::msg)?
            ),
            None => {
                for r in &rows {
                    println!(
                        "{}",
                        crate::template::render(f, r).map_err(anyhow::Error::msg)?
                    );
                }
            }
        },
        None => format::table(
            &["TYPE", "TOTAL", "ACTIVE", "SIZE", "RECLAIMABLE"],
            &rows
                .iter()
                .map(|r| {
                    ["Type", "TotalCount", "Active", "Size", "Reclaimable"]
                        .iter()
                        .map(|k| r[k].as_str().unwrap_or_default().to_string())
                        .collect()
                })
                .collect::<Vec<_>>(),
        ),
    }
    Ok(0)
}

/// Docker's `info` document (the Engine API's `/info` shape, with the client's part
/// under `ClientInfo`), for `info --format`.
fn info_json(eng: &mut Engine) -> anyhow::Result<serde_json::Value> {
    let mut doc = engine::docker::info(eng)?;
    doc["ClientInfo"] = serde_json::json!({"Debug": false, "Version": env!("CARGO_PKG_VERSION"), "Context": "default", "Plugins": []});
    Ok(doc)
}

/// `info [--format TEMPLATE]`.
pub fn info_cmd(eng: &mut Engine, format: Option<&str>) -> anyhow::Result<i32> {
    let Some(f) = format else {
        return info(eng);
    };
    let doc = info_json(eng)?;
    if f == "json" {
        println!("{doc}");
    } else {
        println!(
            "{}",
            crate::template::render(f, &doc).map_err(anyhow::Error::msg)?
        );
    }
    Ok(0)
}

fn info(eng: &mut Engine) -> anyhow::Result<i32> {
    let i = eng.info()?;
    println!(
        "Client:\n Version:    {}\n Context:    default\n",
        env!("CARGO_PKG_VERSION")
    );
    println!("Server:");
    println!(" Containers: {}", i.containers);
    println!("  Running: {}", i.running);
    println!("  Paused: {}", i.paused);
    println!("  Stopped: {}", i.containers - i.running - i.paused);
    println!(" Images: {}", i.images);
    println!(
        " Server Version: quai {} (daemonless)",
        env!("CARGO_PKG_VERSION")
    );
    println!(" Storage Driver: overlay");
    println!(" Logging Driver: json-file");
    println!(
        " Cgroup Driver: {}",
        engine::cgroup_manager().unwrap_or_else(|_| "cgroupfs".into())
    );
    println!(" Cgroup Version: {}", i.cgroup_version);
    println!(" Runtime: quai-runtime (in process)");
    println!(" Security Options:\n  seccomp\n   Profile: builtin");
    if let Some(r) = &i.rootless {
        println!("  rootless");
        println!(" Rootless: true");
        println!("  User: {} (uid {})", r.user, r.uid);
        println!("  ID Mapping: {}", r.id_mapping);
        println!("  Network: {}", r.network);
        println!(
            "  Cgroups: {}",
            if r.cgroups { "delegated" } else { "none" }
        );
        for n in &r.notices {
            println!("  Notice: {n}");
        }
    }
    println!(" Kernel Version: {}", i.kernel);
    println!(" Operating System: {}", i.operating_system);
    println!(" Architecture: {}", i.architecture);
    println!(" CPUs: {}", i.cpus);
    println!(
        " Total Memory: {:.2}GiB",
        i.memory as f64 / 1024.0 / 1024.0 / 1024.0
    );
    println!(" Docker Root Dir: {}", eng.root().display());
    println!(" Run Dir: {}", eng.run_dir().display());
    Ok(0)
}

/// `version --format TEMPLATE`: docker's version document.
pub fn version_format(format: &str) -> anyhow::Result<i32> {
    let v = env!("CARGO_PKG_VERSION");
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    let doc = serde_json::json!({
        "Client": {"Platform": {"Name": "quai"}, "Version": v, "ApiVersion": "1.41",
                   "DefaultAPIVersion": "1.41", "GitCommit": "", "GoVersion": "",
                   "Os": "linux", "Arch": "amd64", "BuildTime": "", "Context": "default"},
        "Server": {"Platform": {"Name": "quai (daemonless)"},
                   "Components": [{"Name": "Engine", "Version": v},
                                  {"Name": "quai-runtime", "Version": v}],
                   "Version": v, "ApiVersion": "1.41", "MinAPIVersion": "1.12",
                   "GitCommit": "", "GoVersion": "", "Os": "linux", "Arch": "amd64",
                   "KernelVersion": kernel.trim(), "BuildTime": ""},
    });
    if format == "json" {
        println!("{doc}");
    } else {
        println!(
            "{}",
            crate::template::render(format, &doc).map_err(anyhow::Error::msg)?
        );
    }
    Ok(0)
}

/// `version`.
pub fn version() -> i32 {
    let v = env!("CARGO_PKG_VERSION");
    println!("Client:\n Version:           {v}\n OS/Arch:           linux/amd64\n\nServer: quai (daemonless)\n Engine:\n  Version:          {v}\n  API version:      1.41\n  OS/Arch:          linux/amd64\n Runtime:\n  Version:          quai-runtime {v} (OCI runtime-spec {})", runtime::OCI_VERSION);
    0
}

/// `context ...`: quai talks to no daemon, so there is one context, `default`.
#[derive(Debug, Subcommand)]
pub enum ContextCmd {
    /// List contexts.
    #[command(alias = "list")]
    Ls {
        /// Only names.
        #[arg(short, long)]
        quiet: bool,
        /// Go template, or `json`.
        #[arg(long)]
        format: Option<String>,
    },
    /// Print the current context.
    Show,
    /// Set the current context (only `default` exists).
    Use {
        /// Context name.
        name: String,
    },
    /// Show a context.
    Inspect {
        /// Context names (`default`).
        names: Vec<String>,
        /// Go template.
        #[arg(short, long)]
        format: Option<String>,
    },
}

fn context_doc() -> serde_json::Value {
    serde_json::json!({
        "Name": "default", "Current": true,
        "Description": "This machine (quai needs no daemon)",
        "DockerEndpoint": "", "Error": "",
        "Metadata": {}, "Endpoints": {"docker": {"Host": "", "SkipTLSVerify": false}},
        "TLSMaterial": {}, "Storage": {"MetadataPath": "<IN MEMORY>", "TLSPath": "<IN MEMORY>"},
    })
}

/// `context`.
pub fn context(cmd: ContextCmd) -> anyhow::Result<i32> {
    let missing =
        |n: &str| anyhow::anyhow!("context {n:?} does not exist (quai has only \"default\")");
    match cmd {
        ContextCmd::Ls { quiet: true, .. } => println!("default"),
        ContextCmd::Ls {
            format: Some(f), ..
        } => {
            let d = context_doc();
            if f == "json" {
                println!("{d}");
            } else {
                println!(
                    "{}",
                    crate::template::render(&f, &d).map_err(anyhow::Error::msg)?
                );
            }
        }
        ContextCmd::Ls { .. } => {
            let d = context_doc();
            format::table(
                &["NAME", "DESCRIPTION", "DOCKER ENDPOINT", "ERROR"],
                &[vec![
                    "default *".to_string(),
                    d["Description"].as_str().unwrap_or_default().to_string(),
                    String::new(),
                    String::new(),
                ]],
            );
        }
        ContextCmd::Show => println!("default"),
        ContextCmd::Use { name } => {
            if name != "default" {
                return Err(missing(&name));
            }
            println!("default");
            eprintln!("Current context is now \"default\"");
        }
        ContextCmd::Inspect { names, format } => {
            if let Some(n) = names.iter().find(|n| *n != "default") {
                return Err(missing(n));
            }
            crate::template::print_docs(&[context_doc()], format.as_deref())?;
        }
    }
    Ok(0)
}

/// Man pages (roff) for `quai` and every subcommand, as `quai-run.1` and so on.
pub fn man_pages(cmd: clap::Command, dir: &std::path::Path) -> anyhow::Result<i32> {
    std::fs::create_dir_all(dir).with_context(|| format!("create {}", dir.display()))?;
    fn write(cmd: &clap::Command, name: &str, dir: &std::path::Path) -> anyhow::Result<usize> {
        let mut buf = Vec::new();
        clap_mangen::Man::new(cmd.clone())
            .title(name.to_string())
            .render(&mut buf)
            .with_context(|| format!("render the man page of {name}"))?;
        let path = dir.join(format!("{name}.1"));
        std::fs::write(&path, buf).with_context(|| format!("write {}", path.display()))?;
        let mut n = 1;
        for sub in cmd.get_subcommands() {
            n += write(sub, &format!("{name}-{}", sub.get_name()), dir)?;
        }
        Ok(n)
    }
    let n = write(&cmd, "quai", dir)?;
    println!("{n} man pages written to {}", dir.display());
    Ok(0)
}
