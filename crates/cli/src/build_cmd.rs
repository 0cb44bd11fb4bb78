//! `build` and `builder`: options as Docker's (BuildKit's) CLI takes them, rendered
//! progress, and the build library doing the work over the engine.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::PathBuf;

use anyhow::{bail, Context};
use clap::{Args, Subcommand};
use engine::lifecycle::Engine;

use crate::format;

/// `build` options.
#[derive(Debug, Args)]
pub struct BuildArgs {
    /// Name and optionally a tag (`name:tag`).
    #[arg(short, long = "tag")]
    pub tag: Vec<String>,
    /// Name of the Dockerfile (default: `PATH/Dockerfile`; `-` reads it from stdin).
    #[arg(short, long)]
    pub file: Option<String>,
    /// Set the target build stage to build.
    #[arg(long)]
    pub target: Option<String>,
    /// Set build-time variables (`KEY=VALUE`, or `KEY` to take it from the environment).
    #[arg(long = "build-arg")]
    pub build_arg: Vec<String>,
    /// Do not use cache when building the image.
    #[arg(long = "no-cache")]
    pub no_cache: bool,
    /// External cache sources (`type=local,src=DIR`).
    #[arg(long = "cache-from")]
    pub cache_from: Vec<String>,
    /// Cache export destination (`type=local,dest=DIR[,mode=min|max]`).
    #[arg(long = "cache-to")]
    pub cache_to: Vec<String>,
    /// Do not cache the given stages.
    #[arg(long = "no-cache-filter")]
    pub no_cache_filter: Vec<String>,
    /// Always attempt to pull all referenced images.
    #[arg(long)]
    pub pull: bool,
    /// Set metadata for an image (`KEY=VALUE`).
    #[arg(long)]
    pub label: Vec<String>,
    /// Networking mode for the RUN instructions: `default`, `host` or `none`.
    #[arg(long, default_value = "default")]
    pub network: String,
    /// Add a custom host-to-IP mapping (`host:ip`).
    #[arg(long = "add-host")]
    pub add_host: Vec<String>,
    /// Output destination (`type=local,dest=DIR`, `type=tar,dest=FILE`,
    /// `type=docker|oci,dest=FILE`, `type=image`; `-o DIR` and `-o -` for short).
    #[arg(short, long)]
    pub output: Vec<String>,
    /// Write the image ID to the file.
    #[arg(long)]
    pub iidfile: Option<String>,
    /// Type of progress output: `auto`, `plain`, `tty`, `quiet`.
    #[arg(long, default_value = "auto")]
    pub progress: String,
    /// Suppress the build output and print image ID on success.
    #[arg(short, long)]
    pub quiet: bool,
    /// Set target platform for build (only `linux/amd64` here).
    #[arg(long)]
    pub platform: Option<String>,
    /// Secret to expose to the build (`id=ID,src=PATH` or `id=ID,env=VAR`).
    #[arg(long)]
    pub secret: Vec<String>,
    /// SSH agent socket to expose to the build (`default` or `default=PATH`).
    #[arg(long)]
    pub ssh: Vec<String>,
    /// Check for build warnings and exit, without building.
    #[arg(long)]
    pub check: bool,
    /// Build context: a directory, or `-` (a tar or a Dockerfile on stdin).
    pub context: String,
}

/// `builder ...`.
#[derive(Debug, Subcommand)]
pub enum BuilderCmd {
    /// Remove build cache.
    Prune {
        /// Remove all unused build cache, not just dangling ones.
        #[arg(short, long)]
        all: bool,
        /// Do not prompt for confirmation.
        #[arg(short, long)]
        force: bool,
        /// Provide filter values (`until=DURATION`).
        #[arg(long)]
        filter: Vec<String>,
    },
    /// Show build cache disk usage.
    Du,
}

/// `type=local,src=DIR` (or `dest=`): the directory of a local cache.
fn cache_dir(spec: &str, key: &str) -> anyhow::Result<PathBuf> {
    let mut fields = BTreeMap::new();
    for f in spec.split(',') {
        let (k, v) = f
            .split_once('=')
            .with_context(|| format!("invalid cache spec {spec:?}: want key=value fields"))?;
        fields.insert(k, v);
    }
    match fields.get("type").copied() {
        Some("local") => {}
        Some(other) => bail!("cache type {other:?} is not supported (local)"),
        None => bail!("cache spec {spec:?}: type= is required (type=local)"),
    }
    for k in fields.keys() {
        if ![
            "type",
            "src",
            "dest",
            "mode",
            "compression",
            "oci-mediatypes",
            "ignore-error",
        ]
        .contains(k)
        {
            bail!("invalid cache option {k:?} in {spec:?}");
        }
    }
    Ok(PathBuf::from(fields.get(key).with_context(|| {
        format!("cache spec {spec:?}: {key}= is required")
    })?))
}

/// The terminal's width (standard error's), or 80.
fn terminal_width() -> usize {
    let mut ws = nix::libc::winsize {
        ws_row: 0,
        ws_col: 0,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: TIOCGWINSZ writes into the winsize we own.
    let ok = unsafe { nix::libc::ioctl(2, nix::libc::TIOCGWINSZ, &mut ws) } == 0;
    if ok && ws.ws_col > 0 {
        usize::from(ws.ws_col)
    } else {
        80
    }
}

fn build_args(list: &[String]) -> anyhow::Result<BTreeMap<String, String>> {
    let mut out = BTreeMap::new();
    for a in list {
        match a.split_once('=') {
            Some((k, v)) => {
                out.insert(k.to_string(), v.to_string());
            }
            // `--build-arg K` takes K from the environment, or is left unset.
            None => {
                if let Ok(v) = std::env::var(a) {
                    out.insert(a.clone(), v);
                }
            }
        }
    }
    Ok(out)
}

/// A context given on stdin: a tar unpacked into a private directory, or a Dockerfile.
struct StdinContext {
    dir: PathBuf,
    dockerfile: Option<String>,
}

impl Drop for StdinContext {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn stdin_context(eng: &Engine) -> anyhow::Result<StdinContext> {
    let mut data = Vec::new();
    std::io::stdin()
        .lock()
        .read_to_end(&mut data)
        .context("read the context from stdin")?;
    let dir = eng
        .run_dir()
        .join(format!("build-context-{}", std::process::id()));
    std::fs::create_dir_all(&dir).with_context(|| format!("create {}", dir.display()))?;
    let mut ctx = StdinContext {
        dir: dir.clone(),
        dockerfile: None,
    };
    // A tar (plain or compressed) is a context; anything else is a Dockerfile.
    let is_tar = data.len() >= 262 && &data[257..262] == b"ustar"
        || image::layer::detect(&data) != image::layer::Compression::None;
    if is_tar {
        image::layer::unpack(data.as_slice(), &dir).context("unpack the context tar")?;
        return Ok(ctx);
    }
    ctx.dockerfile = Some(String::from_utf8_lossy(&data).into_owned());
    Ok(ctx)
}

/// `build`.
pub fn build(eng: &mut Engine, a: BuildArgs) -> anyhow::Result<i32> {
    if let Some(p) = &a.platform {
        if p != "linux/amd64" && p != "linux/x86_64" {
            bail!("platform {p:?} is not supported here (linux/amd64 only)");
        }
    }
    let network = match a.network.as_str() {
        "default" | "bridge" => engine::config::NetworkMode::Bridge,
        "host" => engine::config::NetworkMode::Host,
        "none" => engine::config::NetworkMode::None,
        other => {
            bail!("network mode {other:?} not supported by the builder (default, host or none)")
        }
    };
    let tags = a
        .tag
        .iter()
        .map(|t| {
            t.parse::<image::Reference>()
                .map_err(|e| anyhow::anyhow!("invalid tag {t:?}: {e}"))
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let mut labels = BTreeMap::new();
    for l in &a.label {
        let (k, v) = l.split_once('=').unwrap_or((l, ""));
        labels.insert(k.to_string(), v.to_string());
    }
    let stdin_ctx = if a.context == "-" {
        Some(stdin_context(eng)?)
    } else {
        None
    };
    let context = match &stdin_ctx {
        Some(c) => c.dir.clone(),
        None => {
            let p = PathBuf::from(&a.context);
            if !p.is_dir() {
                bail!("unable to prepare context: path {:?} not found", a.context);
            }
            p
        }
    };
    let (dockerfile, name) = match (
        &a.file,
        stdin_ctx.as_ref().and_then(|c| c.dockerfile.clone()),
    ) {
        (Some(f), _) if f == "-" => {
            if a.context == "-" {
                bail!("invalid argument: can't use stdin for both build context and dockerfile");
            }
            let mut s = String::new();
            std::io::stdin()
                .lock()
                .read_to_string(&mut s)
                .context("read the Dockerfile from stdin")?;
            (s, "Dockerfile".to_string())
        }
        (Some(f), _) => {
            let text = std::fs::read_to_string(f).map_err(|e| {
                anyhow::anyhow!(
                    "failed to read dockerfile: open {f}: {}",
                    crate::common::go_io(&e)
                )
            })?;
            let name = PathBuf::from(f)
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_else(|| "Dockerfile".into());
            (text, name)
        }
        (None, Some(text)) => (text, "Dockerfile".to_string()),
        (None, None) => {
            let p = context.join("Dockerfile");
            let text = std::fs::read_to_string(&p).map_err(|e| {
                anyhow::anyhow!(
                    "failed to read dockerfile: open {}: {}",
                    p.display(),
                    crate::common::go_io(&e)
                )
            })?;
            (text, "Dockerfile".to_string())
        }
    };
    let build_args = build_args(&a.build_arg)?;
    if a.check {
        let opts = dockerfile::build::BuildOptions {
            build_args,
            target: a.target.clone(),
            all_stages: a.target.is_none(),
            ..Default::default()
        };
        let report = dockerfile::checks::check(&dockerfile, &opts, &dockerfile::build::NoImages);
        print!(
            "{}",
            dockerfile::checks::render(&report, &name, &dockerfile)
        );
        return Ok(if report.error.is_some() { 1 } else { 0 });
    }
    let cache_from = a
        .cache_from
        .iter()
        .map(|c| cache_dir(c, "src"))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let cache_to = a
        .cache_to
        .iter()
        .map(|c| cache_dir(c, "dest"))
        .collect::<anyhow::Result<Vec<_>>>()?
        .pop();
    let mut secrets = BTreeMap::new();
    for s in &a.secret {
        let (id, src) = build::mounts::parse_secret(s).map_err(|e| anyhow::anyhow!("{e}"))?;
        secrets.insert(id, src);
    }
    let mut ssh = None;
    for s in &a.ssh {
        let (id, path) = s.split_once('=').unwrap_or((s, ""));
        if id != "default" {
            bail!("--ssh {s:?}: only the default agent is supported");
        }
        let sock = if path.is_empty() {
            std::env::var("SSH_AUTH_SOCK").context("--ssh default: SSH_AUTH_SOCK is not set")?
        } else {
            path.to_string()
        };
        ssh = Some(PathBuf::from(sock));
    }
    let req = build::BuildRequest {
        cache_from,
        cache_to,
        secrets,
        ssh,
        context,
        dockerfile,
        dockerfile_name: name,
        tags,
        target: a.target,
        build_args,
        labels,
        no_cache: a.no_cache,
        no_cache_filter: a.no_cache_filter,
        pull: a.pull,
        network,
        extra_hosts: a.add_host.iter().map(|h| h.replacen('=', ":", 1)).collect(),
    };
    let outputs = a
        .output
        .iter()
        .map(|o| parse_output(o))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let quiet = a.quiet || a.progress == "quiet";
    let tty = match a.progress.as_str() {
        "tty" => true,
        "plain" | "quiet" | "rawjson" => false,
        "auto" => std::io::IsTerminal::is_terminal(&std::io::stderr()),
        other => bail!("invalid progress mode {other:?} (auto, plain, tty, quiet)"),
    };
    let mut plain = build::progress::Plain::new(std::io::stderr());
    let mut live = build::progress::Tty::new(std::io::stderr(), terminal_width());
    let result = if quiet {
        build::build(eng, &req, &mut build::progress::Quiet)
    } else if tty {
        build::build(eng, &req, &mut live)
    } else {
        build::build(eng, &req, &mut plain)
    };
    let id = match result {
        Ok(id) => id,
        Err(e) => {
            let tail = |v: usize| if tty { live.tail(v) } else { plain.tail(v) };
            report_failure(&e, &tail, &req);
            return Ok(1);
        }
    };
    for o in &outputs {
        write_output(eng, &id, o)?;
    }
    if let Some(f) = &a.iidfile {
        std::fs::write(f, id.to_string()).with_context(|| format!("write {f}"))?;
    }
    if quiet {
        println!("{id}");
    }
    Ok(0)
}

/// A failed build as BuildKit reports it: the failing step with its last output lines,
/// the Dockerfile around it, then `ERROR: failed to solve: ...`.
fn report_failure(
    e: &build::Error,
    tail: &dyn Fn(usize) -> Vec<String>,
    req: &build::BuildRequest,
) {
    let mut out = String::new();
    if let build::Error::Step {
        step,
        vertex,
        lines,
        ..
    } = e
    {
        out.push_str(&format!("------\n > {step}:\n"));
        for l in tail(*vertex) {
            out.push_str(&format!("{l}\n"));
        }
        out.push_str("------\n");
        out.push_str(&dockerfile::checks::render_source(
            &req.dockerfile_name,
            &req.dockerfile,
            *lines,
        ));
    }
    if let build::Error::Dockerfile(d) = e {
        if let Some(lines) = d.lines().filter(|l| l.start > 0) {
            out.push_str(&dockerfile::checks::render_source(
                &req.dockerfile_name,
                &req.dockerfile,
                lines,
            ));
        }
    }
    out.push_str(&format!("ERROR: failed to solve: {e}\n"));
    eprint!("{out}");
}

/// Where `--output` sends the result.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Output {
    /// The image store (the default).
    Image,
    /// The files, into a directory.
    Local(PathBuf),
    /// The files as a tar (`-` for stdout).
    Tar(String),
    /// A `docker save` archive.
    Docker(String),
    /// An OCI layout archive.
    Oci(String),
}

fn parse_output(s: &str) -> anyhow::Result<Output> {
    if !s.contains('=') {
        return Ok(if s == "-" {
            Output::Tar("-".into())
        } else {
            Output::Local(PathBuf::from(s))
        });
    }
    let mut kind = None;
    let mut dest = None;
    for f in s.split(',') {
        match f.split_once('=') {
            Some(("type", v)) => kind = Some(v.to_string()),
            Some(("dest", v)) => dest = Some(v.to_string()),
            Some((_, _)) => {}
            None => bail!("invalid --output {s:?}: want key=value fields"),
        }
    }
    let need = |d: Option<String>| d.with_context(|| format!("--output {s:?}: dest= is required"));
    Ok(match kind.as_deref() {
        None | Some("image") | Some("registry") => Output::Image,
        Some("local") => Output::Local(PathBuf::from(need(dest)?)),
        Some("tar") => Output::Tar(dest.unwrap_or_else(|| "-".into())),
        Some("docker") => Output::Docker(dest.unwrap_or_else(|| "-".into())),
        Some("oci") => Output::Oci(dest.unwrap_or_else(|| "-".into())),
        Some(other) => bail!("unsupported output type {other:?} (local, tar, docker, oci, image)"),
    })
}

fn sink(dest: &str) -> anyhow::Result<Box<dyn std::io::Write>> {
    if dest == "-" {
        return Ok(Box::new(std::io::stdout().lock()));
    }
    let f = std::fs::File::create(dest).with_context(|| format!("create {dest}"))?;
    Ok(Box::new(std::io::BufWriter::new(f)))
}

fn write_output(eng: &Engine, id: &content::Digest, o: &Output) -> anyhow::Result<()> {
    match o {
        Output::Image => {}
        Output::Local(dir) => eng.image_export_dir(id, dir)?,
        Output::Tar(dest) => eng.image_export_fs(id, sink(dest)?)?,
        Output::Docker(dest) => eng.image_save(
            &[id.to_string()],
            engine::images::ArchiveFormat::DockerArchive,
            sink(dest)?,
        )?,
        Output::Oci(dest) => eng.image_save(
            &[id.to_string()],
            engine::images::ArchiveFormat::OciArchive,
            sink(dest)?,
        )?,
    }
    Ok(())
}

/// `builder ...`.
pub fn builder(eng: &mut Engine, cmd: BuilderCmd) -> anyhow::Result<i32> {
    match cmd {
        BuilderCmd::Prune { all, force, filter } => {
            let mut older = None;
            for f in &filter {
                match f.split_once('=') {
                    Some(("until", v)) => {
                        let d = engine::time::parse_duration(v)
                            .with_context(|| format!("invalid filter value {v:?}"))?;
                        older = Some((engine::time::now_nanos() - d) / 1_000_000_000);
                    }
                    _ => bail!("invalid filter {f:?} (supported: until=DURATION)"),
                }
            }
            if !crate::common::confirm(force, "all dangling build cache")? {
                return Ok(0);
            }
            let (_, freed) = eng.build_cache_prune(all, older)?;
            println!("Total:\t{}", format::human_size(freed));
            Ok(0)
        }
        BuilderCmd::Du => {
            let entries = eng.build_cache_entries()?;
            let rows: Vec<Vec<String>> = entries
                .iter()
                .map(|e| {
                    vec![
                        e.key[..25.min(e.key.len())].to_string(),
                        if e.hidden { "true" } else { "false" }.into(),
                        format::human_size(e.size),
                        format::ago(&engine::time::rfc3339_nanos(e.last_used * 1_000_000_000)),
                    ]
                })
                .collect();
            format::table(&["ID", "RECLAIMABLE", "SIZE", "LAST ACCESSED"], &rows);
            let total: u64 = entries.iter().filter(|e| e.hidden).map(|e| e.size).sum();
            println!("Reclaimable:\t{}", format::human_size(total));
            println!(
                "Total:\t\t{}",
                format::human_size(entries.iter().map(|e| e.size).sum())
            );
            Ok(0)
        }
    }
}
