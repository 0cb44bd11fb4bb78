//! Container verbs that read or move data: logs, cp, top, stats, events.

use engine::config::ContainerStatus;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{bail, Context};
use clap::Args;
use engine::lifecycle::Engine;

use crate::format;

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
    let r = eng.get(&a.container).map_err(|e| anyhow::anyhow!("{e}"))?;
    let path = eng.log_path(&r.id);
    let since = point("since", &a.since)?;
    let until = point("until", &a.until)?;
    let tail: Option<usize> = match a.tail.as_str() {
        "all" | "-1" => None,
        n => Some(
            n.parse()
                .with_context(|| format!("invalid value for \"--tail\": {n:?}"))?,
        ),
    };
    let show = |entries: Vec<engine::logs::Entry>| {
        let (mut out, mut err) = (std::io::stdout().lock(), std::io::stderr().lock());
        for e in entries {
            let t = engine::time::parse_rfc3339(&e.time).unwrap_or(0);
            if since.is_some_and(|s| t < s) || until.is_some_and(|u| t > u) {
                continue;
            }
            let line = if a.timestamps {
                format!("{} {}", e.time, e.log)
            } else {
                e.log
            };
            let w: &mut dyn Write = if e.stream == "stderr" {
                &mut err
            } else {
                &mut out
            };
            let _ = w.write_all(line.as_bytes());
            let _ = w.flush();
        }
    };
    // `--tail N` reads back from the end; `--since`/`--until` then filter those N, as
    // Docker does.
    let (entries, mut offset) = match tail {
        Some(n) => engine::logs::read_tail(&path, n)?,
        None => engine::logs::read_from(&path, 0)?,
    };
    show(entries);
    if !a.follow {
        return Ok(0);
    }
    loop {
        let running = eng
            .get(&r.id)
            .map(|r| r.state.status.is_active())
            .unwrap_or(false);
        let (e, o) = engine::logs::read_from(&path, offset)?;
        offset = o;
        show(e);
        if !running {
            return Ok(0);
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// `top CONTAINER [ps OPTIONS]`.
pub fn top(eng: &mut Engine, container: &str, ps_args: &[String]) -> anyhow::Result<i32> {
    let r = eng.get(container).map_err(|e| anyhow::anyhow!("{e}"))?;
    if r.state.status != ContainerStatus::Running && r.state.status != ContainerStatus::Paused {
        bail!("container {} is not running", r.id);
    }
    let pids = eng.pids(&r.id)?;
    print!("{}", runtime::ops::ps_table(&pids, ps_args)?);
    Ok(0)
}

struct Sample {
    cpu_ns: u64,
    mem: u64,
    limit: u64,
    pids: u64,
}

fn sample(st: &runtime::state::State) -> Sample {
    let read = |d: &Path, f: &str| -> Option<u64> {
        std::fs::read_to_string(d.join(f)).ok()?.trim().parse().ok()
    };
    let v1 = |ctrl: &str| {
        st.cgroups
            .v1
            .iter()
            .find(|(c, _)| c.split(',').any(|x| x == ctrl))
            .map(|(_, d)| d.clone())
    };
    let host_mem = crate::system::host_memory();
    let v2 = st.cgroups.v2.clone().filter(|_| st.cgroups.pure_v2);
    if let Some(d) = v2 {
        let cpu = std::fs::read_to_string(d.join("cpu.stat"))
            .ok()
            .and_then(|s| {
                s.lines().find_map(|l| {
                    l.strip_prefix("usage_usec ")
                        .and_then(|v| v.trim().parse::<u64>().ok())
                })
            })
            .unwrap_or(0)
            * 1000;
        let limit = std::fs::read_to_string(d.join("memory.max"))
            .ok()
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or(host_mem);
        return Sample {
            cpu_ns: cpu,
            mem: read(&d, "memory.current").unwrap_or(0),
            limit: limit.min(host_mem),
            pids: read(&d, "pids.current").unwrap_or(0),
        };
    }
    let cpu = v1("cpuacct")
        .and_then(|d| read(&d, "cpuacct.usage"))
        .unwrap_or(0);
    let (mem, limit) = v1("memory")
        .map(|d| {
            (
                read(&d, "memory.usage_in_bytes").unwrap_or(0),
                read(&d, "memory.limit_in_bytes").unwrap_or(host_mem),
            )
        })
        .unwrap_or((0, host_mem));
    Sample {
        cpu_ns: cpu,
        mem,
        limit: limit.min(host_mem),
        pids: v1("pids")
            .and_then(|d| read(&d, "pids.current"))
            .unwrap_or(0),
    }
}

/// `stats [--no-stream] [CONTAINER...]`.
pub fn stats(
    eng: &mut Engine,
    no_stream: bool,
    all: bool,
    names: &[String],
) -> anyhow::Result<i32> {
    loop {
        let recs: Vec<engine::Record> = if names.is_empty() {
            eng.list()
                .map_err(|e| anyhow::anyhow!("{e}"))?
                .into_iter()
                .filter(|r| all || r.state.status == ContainerStatus::Running)
                .collect()
        } else {
            names
                .iter()
                .map(|n| eng.get(n))
                .collect::<Result<_, _>>()
                .map_err(|e| anyhow::anyhow!("{e}"))?
        };
        let states: Vec<Option<runtime::state::State>> =
            recs.iter().map(|r| eng.runtime_state(&r.id)).collect();
        let first: Vec<Option<Sample>> = states.iter().map(|s| s.as_ref().map(sample)).collect();
        let t0 = std::time::Instant::now();
        std::thread::sleep(Duration::from_millis(500));
        let dt = t0.elapsed().as_nanos() as f64;
        let mut rows = Vec::new();
        for ((r, st), a) in recs.iter().zip(&states).zip(&first) {
            let b = st.as_ref().map(sample);
            let (cpu, mem, limit, pids) = match (a, b) {
                (Some(a), Some(b)) => (
                    (b.cpu_ns.saturating_sub(a.cpu_ns)) as f64 / dt * 100.0,
                    b.mem,
                    b.limit,
                    b.pids,
                ),
                _ => (0.0, 0, 0, 0),
            };
            let mem_pct = if limit > 0 {
                mem as f64 / limit as f64 * 100.0
            } else {
                0.0
            };
            rows.push(vec![
                r.id[..12].to_string(),
                r.name.clone(),
                format!("{cpu:.2}%"),
                format!("{} / {}", bin_size(mem), bin_size(limit)),
                format!("{mem_pct:.2}%"),
                "0B / 0B".into(),
                "0B / 0B".into(),
                pids.to_string(),
            ]);
        }
        if !no_stream {
            print!("\x1b[2J\x1b[H");
        }
        format::table(
            &[
                "CONTAINER ID",
                "NAME",
                "CPU %",
                "MEM USAGE / LIMIT",
                "MEM %",
                "NET I/O",
                "BLOCK I/O",
                "PIDS",
            ],
            &rows,
        );
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
            let data = eng
                .archive_get(c, path, &name)
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            if dst == "-" {
                std::io::stdout().write_all(&data)?;
            } else {
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
            let target_is_dir = eng.archive_is_dir(c, path).map_err(|e| anyhow::anyhow!("{e}"))?;
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
            eng.archive_put(c, &dir, &data)
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
    let now = engine::time::now_nanos();
    let since = point("since", &a.since)?;
    let until = point("until", &a.until)?;
    let mut seq = if since.is_some() {
        0
    } else {
        eng.last_event()?
    };
    let from = since.unwrap_or(0);
    // `container=NAME` also matches the events of the container that has the name now.
    let named: Vec<String> = a
        .filter
        .iter()
        .filter_map(|f| f.strip_prefix("container="))
        .filter_map(|n| eng.resolve(n).ok())
        .collect();
    loop {
        for e in eng.events(seq, from)? {
            seq = e.seq;
            if until.is_some_and(|u| e.time > u) {
                return Ok(0);
            }
            let ok = a.filter.iter().all(|f| {
                let (k, v) = f.split_once('=').unwrap_or((f, ""));
                match k {
                    "type" => e.kind == v,
                    "event" => e.action == v || e.action.split(':').next() == Some(v),
                    "container" => {
                        e.kind == "container"
                            && (e.id.starts_with(v)
                                || named.contains(&e.id)
                                || e.attributes.get("name").is_some_and(|n| n == v))
                    }
                    "volume" => e.kind == "volume" && e.id == v,
                    "label" => match v.split_once('=') {
                        Some((lk, lv)) => e.attributes.get(lk).is_some_and(|x| x == lv),
                        None => e.attributes.contains_key(v),
                    },
                    _ => false,
                }
            });
            if !ok {
                continue;
            }
            let doc = serde_json::json!({
                "Type": e.kind, "Action": e.action, "status": e.action, "id": e.id,
                "Actor": {"ID": e.id, "Attributes": e.attributes},
                "time": e.time / 1_000_000_000, "timeNano": e.time,
            });
            match a.format.as_deref() {
                Some("json") => println!("{doc}"),
                Some(t) => println!(
                    "{}",
                    crate::template::render(t, &doc).map_err(anyhow::Error::msg)?
                ),
                None => {
                    let attrs: Vec<String> = e
                        .attributes
                        .iter()
                        .map(|(k, v)| format!("{k}={v}"))
                        .collect();
                    println!(
                        "{} {} {} {} ({})",
                        engine::time::rfc3339_nanos(e.time),
                        e.kind,
                        e.action,
                        e.id,
                        attrs.join(", ")
                    );
                }
            }
        }
        let _ = std::io::stdout().flush();
        let t = engine::time::now_nanos();
        if until.is_some_and(|u| t > u) || (until.is_none() && since.is_some() && a.until.is_some())
        {
            return Ok(0);
        }
        let _ = now;
        std::thread::sleep(Duration::from_millis(100));
    }
}
