//! Container verbs that read or move data: logs, cp, top, stats, events.

use engine::config::ContainerStatus;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{bail, Context};
use clap::Args;
use engine::lifecycle::Engine;

use crate::format;
use engine::stats::Sample;

/// `logs` options.
#[derive(Debug, Args)]
pub struct LogsArgs {
    /// Follow log output.
    #[arg(short, long)]
    pub follow: bool,
    /// Number of lines to show from the end (`all`).
    #[arg(short = 'n', long, default_value = "all")]
    pub tail: String,
    /// Show logs since a time (RFC 3339, Unix seconds, or a duration like `10m`).
    #[arg(long)]
    pub since: Option<String>,
    /// Show logs before a time.
    #[arg(long)]
    pub until: Option<String>,
    /// Show timestamps.
    #[arg(short, long)]
    pub timestamps: bool,
    /// Container.
    pub container: String,
}

fn point(flag: &str, v: &Option<String>) -> anyhow::Result<Option<i64>> {
    let now = engine::time::now_nanos();
    v.as_ref()
        .map(|s| {
            engine::time::parse_point(s, now)
                .with_context(|| format!("invalid value for \"--{flag}\": {s:?}"))
        })
        .transpose()
}

/// `logs`.
pub fn logs(eng: &mut Engine, a: LogsArgs) -> anyhow::Result<i32> {
    let tail: Option<usize> = match a.tail.as_str() {
        "all" | "-1" => None,
        n => Some(
            n.parse()
                .with_context(|| format!("invalid value for \"--tail\": {n:?}"))?,
        ),
    };
    let opts = engine::log_stream::LogOptions {
        tail,
        since: point("since", &a.since)?,
        until: point("until", &a.until)?,
        follow: a.follow,
    };
    let logs = eng
        .logs(&a.container, opts)
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    for e in logs {
        let e = e?;
        let line = if a.timestamps {
            format!("{} {}", e.time, e.log)
        } else {
            e.log
        };
        // A reader that went away (`| head`) ends the command quietly.
        let written = if e.stream == "stderr" {
            let mut w = std::io::stderr().lock();
            w.write_all(line.as_bytes()).and_then(|()| w.flush())
        } else {
            let mut w = std::io::stdout().lock();
            w.write_all(line.as_bytes()).and_then(|()| w.flush())
        };
        if written.is_err() {
            break;
        }
    }
    Ok(0)
}

/// `top CONTAINER [ps OPTIONS]`.
pub fn top(eng: &mut Engine, container: &str, ps_args: &[String]) -> anyhow::Result<i32> {
    let t = eng
        .top(container, ps_args)
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let titles: Vec<&str> = t.titles.iter().map(String::as_str).collect();
    format::table_min(&titles, &t.processes, 20);
    Ok(0)
}

/// `stats [--no-stream] [CONTAINER...]`.
/// Docker's header names of `stats`'s fields.
const STATS_HEADERS: &[(&str, &str)] = &[
    ("Container", "CONTAINER"),
    ("ID", "CONTAINER ID"),
    ("Name", "NAME"),
    ("CPUPerc", "CPU %"),
    ("MemUsage", "MEM USAGE / LIMIT"),
    ("MemPerc", "MEM %"),
    ("NetIO", "NET I/O"),
    ("BlockIO", "BLOCK I/O"),
    ("PIDs", "PIDS"),
];

/// Docker's default `stats` format.
const STATS_FORMAT: &str =
    "table {{.ID}}\t{{.Name}}\t{{.CPUPerc}}\t{{.MemUsage}}\t{{.MemPerc}}\t{{.NetIO}}\t{{.BlockIO}}\t{{.PIDs}}";

/// `stats`: one sample of each container (or a refreshing screen), docker's fields.
pub fn stats(
    eng: &mut Engine,
    no_stream: bool,
    all: bool,
    names: &[String],
    format: Option<&str>,
    no_trunc: bool,
) -> anyhow::Result<i32> {
    let configured = crate::common::config_format("statsFormat");
    let format = format.or(configured.as_deref()).unwrap_or(STATS_FORMAT);
    loop {
        let recs: Vec<(String, engine::Record)> = if names.is_empty() {
            eng.list()
                .map_err(|e| anyhow::anyhow!("{e}"))?
                .into_iter()
                .filter(|r| all || r.state.status == ContainerStatus::Running)
                .map(|r| (r.id[..12].to_string(), r))
                .collect()
        } else {
            names
                .iter()
                .map(|n| eng.get(n).map(|r| (n.clone(), r)))
                .collect::<Result<_, _>>()
                .map_err(|e| anyhow::anyhow!("{e}"))?
        };
        let first: Vec<Option<Sample>> = recs.iter().map(|(_, r)| eng.stats(&r.id)).collect();
        let t0 = std::time::Instant::now();
        std::thread::sleep(Duration::from_millis(500));
        let dt = t0.elapsed().as_nanos() as f64;
        let mut docs = Vec::new();
        for ((given, r), a) in recs.iter().zip(&first) {
            let (cpu, b) = match (a, eng.stats(&r.id)) {
                (Some(a), Some(b)) => (b.cpu_ns.saturating_sub(a.cpu_ns) as f64 / dt * 100.0, b),
                _ => (0.0, Sample::default()),
            };
            let mem_pct = if b.memory_limit > 0 {
                b.memory as f64 / b.memory_limit as f64 * 100.0
            } else {
                0.0
            };
            docs.push(serde_json::json!({
                "Container": given,
                "ID": if no_trunc { r.id.clone() } else { r.id[..12].to_string() },
                "Name": r.name,
                "CPUPerc": format!("{cpu:.2}%"),
                "MemUsage": format!("{} / {}", bin_size(b.memory), bin_size(b.memory_limit)),
                "MemPerc": format!("{mem_pct:.2}%"),
                "NetIO": format!("{} / {}", format::human_size(b.net_rx), format::human_size(b.net_tx)),
                "BlockIO": format!("{} / {}", format::human_size(b.block_read), format::human_size(b.block_write)),
                "PIDs": b.pids.to_string(),
            }));
        }
        if !no_stream {
            print!("\x1b[2J\x1b[H");
        }
        if format == "json" {
            for d in &docs {
                println!("{}", crate::template::go_json(d));
            }
        } else if let Some(rest) = format.strip_prefix("table") {
            println!(
                "{}",
                crate::template::render_table(rest.trim_start(), &docs, STATS_HEADERS)
                    .map_err(anyhow::Error::msg)?
            );
        } else {
            for d in &docs {
                println!(
                    "{}",
                    crate::template::render(format, d).map_err(anyhow::Error::msg)?
                );
            }
        }
        if no_stream {
            return Ok(0);
        }
        std::thread::sleep(Duration::from_millis(500));
    }
}

/// Docker's stats sizes: binary units (`1.5MiB`).
fn bin_size(b: u64) -> String {
    let units = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = b as f64;
    let mut i = 0;
    while v >= 1024.0 && i < units.len() - 1 {
        v /= 1024.0;
        i += 1;
    }
    if i == 0 {
        format!("{b}B")
    } else {
        format!("{v:.4}")
            .trim_end_matches('0')
            .trim_end_matches('.')
            .to_string()
            + units[i]
    }
}

fn split_ctr(s: &str) -> Option<(&str, &str)> {
    if s.starts_with('/') || s.starts_with('.') {
        return None;
    }
    s.split_once(':')
}

/// `cp CONTAINER:SRC DEST|-` and `cp SRC|- CONTAINER:DEST`.
pub fn cp(eng: &mut Engine, src: &str, dst: &str) -> anyhow::Result<i32> {
    match (split_ctr(src), split_ctr(dst)) {
        (Some((c, path)), None) => {
            let base = Path::new(path).file_name().map(|n| n.to_os_string()).unwrap_or_else(|| ".".into());
            let dest = Path::new(dst);
            let (name, into) = if dst == "-" || dest.is_dir() {
                (PathBuf::from(&base), if dst == "-" { PathBuf::new() } else { dest.to_path_buf() })
            } else {
                (
                    PathBuf::from(dest.file_name().context("destination has no file name")?),
                    dest.parent().map(Path::to_path_buf).filter(|p| !p.as_os_str().is_empty()).unwrap_or_else(|| ".".into()),
                )
            };
            if dst == "-" {
                let mut out = std::io::stdout().lock();
                eng.archive_get(c, path, &name, &mut out)
                    .map_err(|e| anyhow::anyhow!("{e}"))?;
            } else {
                let mut data = Vec::new();
                eng.archive_get(c, path, &name, &mut data)
                    .map_err(|e| anyhow::anyhow!("{e}"))?;
                let mut ar = tar::Archive::new(&data[..]);
                ar.set_preserve_permissions(true);
                ar.unpack(&into).with_context(|| format!("extract into {}", into.display()))?;
            }
            Ok(0)
        }
        (None, Some((c, path))) => {
            let data: Vec<u8> = if src == "-" {
                let mut v = Vec::new();
                std::io::stdin().read_to_end(&mut v)?;
                v
            } else {
                Vec::new()
            };
            // A symlink is followed inside the container, as docker's cp does.
            let target_is_dir = match eng.archive_stat(c, path) {
                Ok(st) if !st.link_target.is_empty() => eng
                    .archive_stat(c, &st.link_target)
                    .is_ok_and(|t| t.is_dir()),
                Ok(st) => st.is_dir(),
                Err(engine::Error::NoSuchPath { .. }) => false,
                Err(e) => bail!("{e}"),
            };
            let (dir, name) = if target_is_dir || src == "-" {
                (path.to_string(), None)
            } else {
                let p = Path::new(path);
                (
                    p.parent().map(|x| x.display().to_string()).unwrap_or_else(|| "/".into()),
                    p.file_name().map(|n| n.to_os_string()),
                )
            };
            let data = if src == "-" {
                data
            } else {
                let from = Path::new(src);
                let meta = std::fs::symlink_metadata(from).with_context(|| format!("lstat {src}"))?;
                let name = name.unwrap_or_else(|| from.file_name().map(|n| n.to_os_string()).unwrap_or_else(|| ".".into()));
                let mut b = tar::Builder::new(Vec::new());
                b.follow_symlinks(false);
                if meta.is_dir() {
                    b.append_dir_all(&name, from)?;
                } else {
                    b.append_path_with_name(from, &name)?;
                }
                b.into_inner()?
            };
            eng.archive_put(c, &dir, &data[..], engine::archive::PutOptions::default())
                .map_err(|e| anyhow::anyhow!("copy into {c}:{dir}: {e}"))?;
            Ok(0)
        }
        _ => bail!("copying between containers or between local paths is not supported: one side must be CONTAINER:PATH"),
    }
}

/// `events` options.
#[derive(Debug, Args)]
pub struct EventsArgs {
    /// Show events since a time.
    #[arg(long)]
    pub since: Option<String>,
    /// Stream events until this time.
    #[arg(long)]
    pub until: Option<String>,
    /// Filter (`type=`, `event=`, `container=`, `label=`).
    #[arg(short, long)]
    pub filter: Vec<String>,
    /// `json` or a Go template.
    #[arg(long)]
    pub format: Option<String>,
}

/// `events`.
pub fn events(eng: &mut Engine, a: EventsArgs) -> anyhow::Result<i32> {
    let opts = engine::filters::EventOptions {
        since: point("since", &a.since)?,
        until: point("until", &a.until)?,
        filters: engine::filters::Filters::parse(&a.filter).map_err(|e| anyhow::anyhow!("{e}"))?,
    };
    let stream = eng.event_stream(opts).map_err(|e| anyhow::anyhow!("{e}"))?;
    for e in stream {
        let e = e?;
        let doc = engine::docker::event(&e);
        let line = match a.format.as_deref() {
            Some("json") => crate::template::go_json(&doc),
            Some(t) => crate::template::render(t, &doc).map_err(anyhow::Error::msg)?,
            None => {
                let attrs: Vec<String> = e
                    .attributes
                    .iter()
                    .map(|(k, v)| format!("{k}={v}"))
                    .collect();
                format!(
                    "{} {} {} {} ({})",
                    engine::time::rfc3339_nanos(e.time),
                    e.kind,
                    e.action,
                    e.id,
                    attrs.join(", ")
                )
            }
        };
        let mut out = std::io::stdout().lock();
        if writeln!(out, "{line}").and_then(|()| out.flush()).is_err() {
            break;
        }
    }
    Ok(0)
}

/// `commit` options.
#[derive(Debug, Args)]
pub struct CommitArgs {
    /// Author (`"Name <email>"`).
    #[arg(short, long)]
    pub author: Option<String>,
    /// Apply a Dockerfile instruction to the image's config.
    #[arg(short, long = "change")]
    pub change: Vec<String>,
    /// Commit message.
    #[arg(short, long)]
    pub message: Option<String>,
    /// Pause the container while its changes are read.
    #[arg(short, long, default_value_t = true, action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true")]
    pub pause: bool,
    /// Container.
    pub container: String,
    /// `REPOSITORY[:TAG]` for the new image.
    pub reference: Option<String>,
}

/// `commit`.
pub fn commit(eng: &mut Engine, a: CommitArgs) -> anyhow::Result<i32> {
    let reference = a
        .reference
        .as_deref()
        .map(str::parse::<image::Reference>)
        .transpose()?;
    let id = eng
        .commit(
            &a.container,
            engine::commit::CommitOptions {
                reference,
                author: a.author,
                message: a.message,
                changes: a.change,
                pause: a.pause,
            },
        )
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    println!("{id}");
    Ok(0)
}

/// `diff`.
pub fn diff(eng: &mut Engine, container: &str) -> anyhow::Result<i32> {
    let changes = eng.diff(container).map_err(|e| anyhow::anyhow!("{e}"))?;
    let mut out = std::io::stdout().lock();
    for c in changes {
        writeln!(out, "{} {}", c.kind.letter(), c.path)?;
    }
    Ok(0)
}

/// `export [-o FILE] CONTAINER`.
pub fn export(eng: &mut Engine, output: Option<&str>, container: &str) -> anyhow::Result<i32> {
    use std::io::IsTerminal;
    match output {
        Some(path) => {
            // Written next to the target and renamed: a failed export leaves no half tar.
            let tmp = format!("{path}.quai-tmp");
            let f = std::fs::File::create(&tmp).with_context(|| format!("create {tmp}"))?;
            let res = eng.export(container, std::io::BufWriter::new(f));
            if let Err(e) = res {
                let _ = std::fs::remove_file(&tmp);
                bail!("{e}");
            }
            std::fs::rename(&tmp, path).with_context(|| format!("write {path}"))?;
        }
        None => {
            if std::io::stdout().is_terminal() {
                bail!("cowardly refusing to save to a terminal. Use the -o flag or redirect");
            }
            eng.export(container, std::io::BufWriter::new(std::io::stdout().lock()))
                .map_err(|e| anyhow::anyhow!("{e}"))?;
        }
    }
    Ok(0)
}
