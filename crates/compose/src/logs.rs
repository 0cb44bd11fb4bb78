//! Containers' output as docker compose prints it: each line after its
//! `SERVICE-N  | ` prefix, in a colour per container on a terminal; `logs`, attached
//! `up` and `events`.

use std::io::{IsTerminal, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use engine::config::ContainerStatus;
use engine::lifecycle::Engine;
use engine::Record;

use crate::cli::LogsArgs;
use crate::up::{number, project_containers, service_of, Ctx};

/// docker compose's colours, in the order containers get them.
const COLORS: &[&str] = &[
    "36", "33", "32", "35", "34", "31", "96", "93", "92", "95", "94", "91",
];

struct Source {
    id: String,
    prefix: String,
    color: &'static str,
    offset: u64,
    exited_said: bool,
}

/// Follows several containers' log files.
pub struct Follower {
    sources: Vec<Source>,
    color: bool,
    prefix: bool,
    timestamps: bool,
    width: usize,
    /// Attached `up`: a container's stderr goes to this command's stderr.
    pub split_streams: bool,
}

/// The prefix of a container (`web-1`), as docker compose v2 names it in logs.
pub fn prefix_of(r: &Record) -> String {
    let s = service_of(r);
    if s.is_empty() {
        return r.name.clone();
    }
    let n = number(r);
    if r.config
        .labels
        .get(crate::service::LABEL_ONEOFF)
        .map(String::as_str)
        == Some("True")
        || n == 0
    {
        return r.name.clone();
    }
    if r.config
        .labels
        .get(crate::service::LABEL_PROJECT)
        .is_some_and(|p| r.name == format!("{p}-{s}-{n}"))
    {
        format!("{s}-{n}")
    } else {
        r.name.clone()
    }
}

/// Whether to colour: `--ansi always|never`, else on a terminal unless `--no-color`.
pub fn colors(ansi: &str, no_color: bool) -> bool {
    match ansi {
        "always" => true,
        "never" => false,
        _ => !no_color && std::io::stdout().is_terminal(),
    }
}

impl Follower {
    pub fn new(color: bool, prefix: bool, timestamps: bool) -> Follower {
        Follower {
            sources: Vec::new(),
            color,
            prefix,
            timestamps,
            width: 0,
            split_streams: false,
        }
    }

    /// Follow `r` from the start of its log (or from its end).
    pub fn add(&mut self, eng: &Engine, r: &Record, from_start: bool) {
        if self.sources.iter().any(|s| s.id == r.id) {
            return;
        }
        let offset = if from_start {
            0
        } else {
            std::fs::metadata(eng.log_path(&r.id)).map_or(0, |m| m.len())
        };
        let prefix = prefix_of(r);
        self.width = self.width.max(prefix.len());
        let color = COLORS[self.sources.len() % COLORS.len()];
        self.sources.push(Source {
            id: r.id.clone(),
            prefix,
            color,
            offset,
            exited_said: false,
        });
    }

    fn head(&self, s: &Source) -> String {
        if !self.prefix {
            return String::new();
        }
        let p = format!("{:w$} | ", s.prefix, w = self.width + 1);
        if self.color {
            format!("\x1b[{}m{p}\x1b[0m", s.color)
        } else {
            p
        }
    }

    /// Print what was written since the last call.
    pub fn drain(&mut self, eng: &mut Engine) {
        let mut out = std::io::stdout().lock();
        let mut err = std::io::stderr().lock();
        for i in 0..self.sources.len() {
            let path = eng.log_path(&self.sources[i].id);
            let Ok((entries, off)) = engine::logs::read_from(&path, self.sources[i].offset) else {
                continue;
            };
            self.sources[i].offset = off;
            let head = self.head(&self.sources[i]);
            for e in entries {
                let ts = if self.timestamps {
                    format!("{} ", e.time)
                } else {
                    String::new()
                };
                let line = e.log.strip_suffix('\n').unwrap_or(&e.log);
                if self.split_streams && e.stream == "stderr" {
                    let _ = writeln!(err, "{head}{ts}{line}");
                } else {
                    let _ = writeln!(out, "{head}{ts}{line}");
                }
            }
        }
        let _ = out.flush();
        let _ = err.flush();
    }

    /// `web-1 exited with code 3`, once per exit.
    pub fn note_exit(&mut self, r: &Record) {
        let exited = matches!(
            r.state.status,
            ContainerStatus::Exited | ContainerStatus::Dead
        );
        let color = self.color;
        if let Some(s) = self.sources.iter_mut().find(|s| s.id == r.id) {
            if exited && !s.exited_said {
                s.exited_said = true;
                // docker compose starts the line by clearing it ("\r\x1b[K"), terminal
                // or not.
                let text = format!("{} exited with code {}", s.prefix, r.state.exit_code);
                if color {
                    println!("\r\x1b[K\x1b[{}m{text}\x1b[0m", s.color);
                } else {
                    println!("\r\x1b[K{text}");
                }
            } else if !exited {
                s.exited_said = false;
            }
        }
    }
}

static INTERRUPTED: AtomicBool = AtomicBool::new(false);
static FORCED: AtomicBool = AtomicBool::new(false);

extern "C" fn on_interrupt(_: libc::c_int) {
    // A second signal while the first is being handled asks for force.
    if INTERRUPTED.swap(true, Ordering::Relaxed) {
        FORCED.store(true, Ordering::Relaxed);
    }
}

/// Whether a second SIGINT or SIGTERM came (attached `up` then kills instead of waiting).
pub fn forced() -> bool {
    FORCED.load(Ordering::Relaxed)
}

/// A flag SIGINT and SIGTERM set (attached `up` then stops the project).
pub fn interrupt_flag() -> &'static AtomicBool {
    let handler = on_interrupt as extern "C" fn(libc::c_int) as libc::sighandler_t;
    for sig in [libc::SIGINT, libc::SIGTERM] {
        // SAFETY: the handler only stores to an atomic, which is async-signal-safe, and
        // `signal` with a valid function pointer has no other preconditions.
        unsafe {
            libc::signal(sig, handler);
        }
    }
    &INTERRUPTED
}

/// `logs`.
pub fn logs(cx: &mut Ctx, a: &LogsArgs) -> anyhow::Result<i32> {
    let pname = cx.p.name.clone();
    // With the files loaded, only the project's services (no orphans), and names checked.
    let known: Vec<String> = cx.services().into_iter().map(|(k, _)| k).collect();
    let loaded = !cx.p.files.is_empty();
    if loaded {
        for s in &a.services {
            if !known.contains(s) {
                anyhow::bail!("no such service: {s}");
            }
        }
    }
    let cs: Vec<Record> = project_containers(&mut cx.eng, &pname, false)?
        .into_iter()
        .filter(|r| !loaded || known.contains(&service_of(r)))
        .filter(|r| a.services.is_empty() || a.services.contains(&service_of(r)))
        .filter(|r| a.index.is_none_or(|i| number(r) == i))
        .collect();
    if let (Some(i), true) = (a.index, cs.is_empty()) {
        // docker compose's words for a replica that is not there.
        let s = a.services.first().cloned().unwrap_or_default();
        anyhow::bail!("service {s:?} is not running container #{i}");
    }
    let mut f = Follower::new(colors(&cx.ansi, a.no_color), !a.no_log_prefix, a.timestamps);
    let tail: Option<usize> = match a.tail.as_str() {
        "all" | "" => None,
        t => Some(
            t.parse()
                .map_err(|_| anyhow::anyhow!("invalid tail value {t:?}"))?,
        ),
    };
    let since = a.since.as_deref().map(parse_time).transpose()?;
    let until = a.until.as_deref().map(parse_time).transpose()?;
    for r in &cs {
        f.add(&cx.eng, r, true);
    }
    // The history: per container, its tail, filtered by time.
    {
        let mut out = std::io::stdout().lock();
        for s in f.sources.iter_mut() {
            let path = cx.eng.log_path(&s.id);
            let (entries, off) = match tail {
                Some(n) => engine::logs::read_tail(&path, n)?,
                None => engine::logs::read_from(&path, 0)?,
            };
            s.offset = off;
            let head = if f.prefix {
                let p = format!("{:w$} | ", s.prefix, w = f.width + 1);
                if f.color {
                    format!("\x1b[{}m{p}\x1b[0m", s.color)
                } else {
                    p
                }
            } else {
                String::new()
            };
            for e in entries {
                let t = engine::time::parse_rfc3339(&e.time).unwrap_or(0);
                if since.is_some_and(|x| t < x) || until.is_some_and(|x| t > x) {
                    continue;
                }
                let ts = if f.timestamps {
                    format!("{} ", e.time)
                } else {
                    String::new()
                };
                let line = e.log.strip_suffix('\n').unwrap_or(&e.log);
                writeln!(out, "{head}{ts}{line}")?;
            }
        }
        out.flush()?;
    }
    if !a.follow {
        return Ok(0);
    }
    let stop = interrupt_flag();
    loop {
        f.drain(&mut cx.eng);
        if stop.load(Ordering::Relaxed) {
            return Ok(0);
        }
        let now: Vec<Record> = project_containers(&mut cx.eng, &pname, false)?
            .into_iter()
            .filter(|r| a.services.is_empty() || a.services.contains(&service_of(r)))
            .collect();
        for r in &now {
            if r.state.status.is_up() {
                f.add(&cx.eng, r, true);
            }
        }
        if !now
            .iter()
            .any(|r| r.state.status.is_up() || r.state.status == ContainerStatus::Restarting)
        {
            f.drain(&mut cx.eng);
            return Ok(0);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// `--since` / `--until`: RFC 3339, Unix seconds, or a duration ago (`10m`).
fn parse_time(s: &str) -> anyhow::Result<i64> {
    engine::time::parse_point(s, engine::time::now_nanos())
        .ok_or_else(|| anyhow::anyhow!("invalid time {s:?}"))
}

/// `events`: the project's container events as they happen.
pub fn events(cx: &mut Ctx, services: &[String], json: bool) -> anyhow::Result<i32> {
    let pname = cx.p.name.clone();
    let mut after = cx.eng.last_event()?;
    let stop = interrupt_flag();
    loop {
        for e in cx.eng.events(after, 0)? {
            after = after.max(e.seq);
            if e.kind != "container"
                || e.attributes.get(crate::service::LABEL_PROJECT) != Some(&pname)
            {
                continue;
            }
            let svc = e
                .attributes
                .get(crate::service::LABEL_SERVICE)
                .cloned()
                .unwrap_or_default();
            if !services.is_empty() && !services.contains(&svc) {
                continue;
            }
            let time = engine::time::rfc3339_nanos(e.time);
            let attrs: Vec<(String, String)> = e
                .attributes
                .iter()
                .filter(|(k, _)| matches!(k.as_str(), "name" | "image" | "exitCode"))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            if json {
                let m: serde_json::Map<String, serde_json::Value> = attrs
                    .iter()
                    .map(|(k, v)| (k.clone(), serde_json::Value::String(v.clone())))
                    .collect();
                println!(
                    "{}",
                    serde_json::json!({"time": time, "type": "container", "action": e.action,
                        "id": e.id, "service": svc, "attributes": m})
                );
            } else {
                let a = attrs
                    .iter()
                    .map(|(k, v)| format!("{k}={v}"))
                    .collect::<Vec<_>>()
                    .join(", ");
                println!("{time} container {} {} ({a})", e.action, e.id);
            }
        }
        std::io::stdout().flush()?;
        if stop.load(Ordering::Relaxed) {
            return Ok(0);
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}
