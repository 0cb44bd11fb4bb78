//! Running a project over the engine library, as docker compose v2 runs it on dockerd:
//! images first (pulled or built before anything is made), then networks and volumes,
//! then each service's containers in dependency order, recreated only when their
//! configuration hash changed; `down` removes what `up` made and nothing else.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context as _};
use engine::config::ContainerStatus;
use engine::lifecycle::Engine;
use engine::Record;

use crate::cli::{ComposeArgs, ComposeCmd, CreateOpts, DownArgs, UpArgs};
use crate::config_cmd::{dependency_order, image_name, service_hash};
use crate::load::{Options, Project};
use crate::service::{self as svcmod, LABEL_NUMBER, LABEL_ONEOFF, LABEL_PROJECT, LABEL_SERVICE};
use crate::yaml::{Node, Value};

/// A project and the engine it runs on.
pub struct Ctx {
    pub p: Project,
    pub eng: Engine,
    pub root: std::path::PathBuf,
    pub run_dir: std::path::PathBuf,
    pub quiet: bool,
    /// `--ansi`: `always`, `never` or `auto` (colours on a terminal).
    pub ansi: String,
    /// `--parallel`: at most this many engine operations at once (-1: no limit).
    pub parallel: i64,
}

impl Ctx {
    /// Run `f` on each item at once, each on a thread with an engine of its own; the
    /// results with the items' names, in order.
    pub fn parallel<F>(
        &self,
        items: Vec<(String, String)>,
        f: F,
    ) -> Vec<(String, Result<(), String>)>
    where
        F: Fn(&mut Engine, String) -> engine::Result<()> + Sync,
    {
        let (root, run) = (&self.root, &self.run_dir);
        let f = &f;
        let width = if self.parallel > 0 {
            self.parallel as usize
        } else {
            items.len().max(1)
        };
        let mut out = Vec::new();
        let mut items = items.into_iter().peekable();
        while items.peek().is_some() {
            let batch: Vec<(String, String)> = items.by_ref().take(width).collect();
            out.extend(std::thread::scope(|s| {
                let hs: Vec<_> = batch
                    .into_iter()
                    .map(|(item, name)| {
                        s.spawn(move || {
                            let r = Engine::open(root, run)
                                .and_then(|mut e| f(&mut e, item))
                                .map_err(|e| e.to_string());
                            (name, r)
                        })
                    })
                    .collect();
                hs.into_iter()
                    .map(|h| {
                        h.join()
                            .unwrap_or_else(|_| (String::new(), Err("worker panicked".into())))
                    })
                    .collect::<Vec<_>>()
            }));
        }
        out
    }

    /// A progress line, as docker compose prints them without a terminal.
    pub fn say(&self, kind: &str, name: &str, state: &str) {
        if !self.quiet {
            eprintln!(" {kind} {name}  {state}");
        }
    }

    pub fn services(&self) -> Vec<(String, Node)> {
        self.p
            .model
            .get("services")
            .and_then(Node::as_map)
            .cloned()
            .unwrap_or_default()
    }

    pub fn service(&self, name: &str) -> anyhow::Result<Node> {
        self.p
            .model
            .get("services")
            .and_then(|s| s.get(name))
            .cloned()
            .ok_or_else(|| anyhow!("no such service: {name}"))
    }
}

/// Every container of project `name` (one-off ones with `oneoff`).
pub fn project_containers(
    eng: &mut Engine,
    name: &str,
    oneoff: bool,
) -> anyhow::Result<Vec<Record>> {
    let mut v: Vec<Record> = eng
        .list()?
        .into_iter()
        .filter(|r| r.config.labels.get(LABEL_PROJECT).map(String::as_str) == Some(name))
        .filter(|r| oneoff || r.config.labels.get(LABEL_ONEOFF).map(String::as_str) != Some("True"))
        .collect();
    v.sort_by(|a, b| {
        let k = |r: &Record| {
            (
                r.config
                    .labels
                    .get(LABEL_SERVICE)
                    .cloned()
                    .unwrap_or_default(),
                number(r),
            )
        };
        k(a).cmp(&k(b))
    });
    Ok(v)
}

/// A container's replica number.
pub fn number(r: &Record) -> u32 {
    r.config
        .labels
        .get(LABEL_NUMBER)
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

pub fn service_of(r: &Record) -> String {
    r.config
        .labels
        .get(LABEL_SERVICE)
        .cloned()
        .unwrap_or_default()
}

fn is_oneoff(r: &Record) -> bool {
    r.config.labels.get(LABEL_ONEOFF).map(String::as_str) == Some("True")
}

/// The services to act on: those named (or all) plus, unless `no_deps`, what they
/// depend on; in dependency order.
pub fn selected(p: &Project, names: &[String], no_deps: bool) -> anyhow::Result<Vec<String>> {
    if p.files.is_empty() {
        // A project known by name only: the names are its services' as they are.
        return Ok(names.to_vec());
    }
    let all = dependency_order(&p.model);
    for n in names {
        if !all.contains(n) {
            if p.disabled.contains(n) {
                bail!("service {n:?} is not enabled by the active profiles");
            }
            bail!("no such service: {n}");
        }
    }
    if names.is_empty() {
        return Ok(all);
    }
    let mut keep: BTreeSet<String> = names.iter().cloned().collect();
    if !no_deps {
        let mut todo: Vec<String> = names.to_vec();
        while let Some(n) = todo.pop() {
            for (d, _) in p
                .model
                .get("services")
                .and_then(|s| s.get(&n))
                .and_then(|s| s.get("depends_on"))
                .and_then(Node::as_map)
                .into_iter()
                .flatten()
            {
                if keep.insert(d.clone()) {
                    todo.push(d.clone());
                }
            }
        }
    }
    Ok(all.into_iter().filter(|s| keep.contains(s)).collect())
}

/// `names` and every service that depends on one of them, transitively.
pub fn dependents(p: &Project, names: &[String]) -> Vec<String> {
    dependents_by(p, names, false)
}

/// `names` and the services that depend on one of them, transitively; with `restart`,
/// only through `depends_on` entries with `restart: true` (what `restart` takes along).
pub fn dependents_by(p: &Project, names: &[String], restart: bool) -> Vec<String> {
    let mut out: Vec<String> = names.to_vec();
    loop {
        let mut added = false;
        for (k, v) in p
            .model
            .get("services")
            .and_then(Node::as_map)
            .into_iter()
            .flatten()
        {
            if out.contains(k) {
                continue;
            }
            let deps = v.get("depends_on").and_then(Node::as_map);
            let edge = |(x, d): &(String, Node)| {
                out.contains(x)
                    && (!restart
                        || d.get("restart")
                            .is_some_and(|r| matches!(r.value, Value::Bool(true))))
            };
            if deps.is_some_and(|d| d.iter().any(edge)) {
                out.push(k.clone());
                added = true;
            }
        }
        if !added {
            return out;
        }
    }
}

fn replicas(svc: &Node, scale: &BTreeMap<String, u32>, name: &str) -> u32 {
    if let Some(n) = scale.get(name) {
        return *n;
    }
    let int = |n: Option<&Node>| match n.map(|x| &x.value) {
        Some(Value::Int(i)) => Some(*i),
        _ => None,
    };
    int(svc.get("scale"))
        .or(int(svc.get("deploy").and_then(|d| d.get("replicas"))))
        .map_or(1, |n| n.max(0) as u32)
}

fn parse_scale(list: &[String]) -> anyhow::Result<BTreeMap<String, u32>> {
    let mut m = BTreeMap::new();
    for s in list {
        let (k, v) = s
            .split_once('=')
            .ok_or_else(|| anyhow!("invalid scale specifier: {s}"))?;
        let n: u32 = v
            .parse()
            .map_err(|_| anyhow!("invalid scale specifier: {s}"))?;
        m.insert(k.to_string(), n);
    }
    Ok(m)
}

/// Dispatch the commands that run things.
pub fn dispatch(a: &ComposeArgs, o: &Options, root: &Path, run_dir: &Path) -> anyhow::Result<i32> {
    if let ComposeCmd::Ls {
        all,
        format,
        quiet,
        filter,
    } = &a.cmd
    {
        let mut eng = Engine::open(root, run_dir)?;
        return ls(&mut eng, *all, format, *quiet, filter.as_deref());
    }
    let mut o = o.clone();
    match &a.cmd {
        ComposeCmd::Up(u) => o.services = u.services.clone(),
        ComposeCmd::Run(r) => o.services = vec![r.service.clone()],
        _ => {}
    }
    let p = project_for(a, &o)?;
    let eng = Engine::open(root, run_dir)?;
    let quiet = a.progress.as_deref() == Some("quiet");
    let mut cx = Ctx {
        p,
        eng,
        root: root.to_path_buf(),
        run_dir: run_dir.to_path_buf(),
        quiet,
        ansi: a.ansi.clone(),
        parallel: a.parallel,
    };
    match &a.cmd {
        ComposeCmd::Up(u) => up(&mut cx, u),
        ComposeCmd::Create { opts, services } => {
            let u = UpArgs {
                create: opts.clone(),
                detach: true,
                no_start: true,
                services: services.clone(),
                ..Default::default()
            };
            up(&mut cx, &u)
        }
        ComposeCmd::Down(d) => down(&mut cx, d),
        ComposeCmd::Start {
            wait,
            wait_timeout,
            services,
        } => {
            let mut names = selected(&cx.p, services, false)?;
            let pname = cx.p.name.clone();
            let have: Vec<String> = project_containers(&mut cx.eng, &pname, false)?
                .iter()
                .map(service_of)
                .collect();
            if names.is_empty() {
                // A project known by name only: what it has.
                names = have.clone();
                names.dedup();
            }
            for n in &names {
                if !have.contains(n) {
                    bail!("service {n:?} has no container to start");
                }
            }
            start_services(&mut cx, &names, true)?;
            if *wait {
                wait_healthy(&mut cx, &names, wait_timeout.map(Duration::from_secs))?;
            }
            Ok(0)
        }
        ComposeCmd::Stop { timeout, services } => {
            stop(&mut cx, services, *timeout)?;
            Ok(0)
        }
        ComposeCmd::Restart {
            no_deps,
            timeout,
            services,
        } => {
            // The services named and, unless --no-deps, those that depend on them.
            let mut names = selected(&cx.p, services, true)?;
            if !services.is_empty() && !*no_deps {
                names = dependents_by(&cx.p, &names, true);
            }
            let order = dependency_order(&cx.p.model);
            let mut cs = project_containers(&mut cx.eng, &cx.p.name.clone(), false)?;
            cs.sort_by_key(|r| {
                order
                    .iter()
                    .position(|s| *s == service_of(r))
                    .unwrap_or(usize::MAX)
            });
            for r in cs {
                if names.contains(&service_of(&r)) {
                    cx.say("Container", &r.name, "Restarting");
                    cx.eng.restart(&r.id, *timeout)?;
                    cx.say("Container", &r.name, "Started");
                }
            }
            Ok(0)
        }
        ComposeCmd::Kill {
            remove_orphans: orphans,
            signal,
            services,
        } => {
            let cs = targets(&mut cx, services)?;
            if !cs.iter().any(|r| r.state.status.is_up()) {
                // docker compose's words, without a newline; not an error.
                eprint!("no container to kill");
            }
            for r in cs {
                if r.state.status.is_up() {
                    cx.say("Container", &r.name, "Killing");
                    if let Err(e) = cx.eng.kill(&r.id, signal) {
                        // The daemon's words, capitalized as dockerd's are.
                        cx.say("Container", &r.name, "Error while Killing");
                        let e = e.to_string();
                        let mut c = e.chars();
                        let e = c
                            .next()
                            .map(|f| f.to_uppercase().chain(c).collect::<String>())
                            .unwrap_or_default();
                        bail!("Error response from daemon: {e}");
                    }
                    cx.say("Container", &r.name, "Killed");
                }
            }
            if *orphans {
                remove_orphans(&mut cx, None)?;
            }
            Ok(0)
        }
        ComposeCmd::Rm {
            force,
            stop: st,
            volumes,
            services,
        } => {
            let all = targets(&mut cx, services)?;
            if *st {
                let errors = stop_in_order(&mut cx, &all, None);
                if !errors.is_empty() {
                    bail!("{}", errors.join("; "));
                }
            }
            let pname = cx.p.name.clone();
            let gone: Vec<Record> = project_containers(&mut cx.eng, &pname, false)?
                .into_iter()
                .filter(|r| all.iter().any(|a| a.id == r.id) && !r.state.status.is_up())
                .collect();
            if gone.is_empty() {
                eprintln!("No stopped containers");
                return Ok(0);
            }
            // Newest first, as the engine lists them to docker compose.
            let mut gone = gone;
            gone.sort_by(|a, b| b.created.cmp(&a.created));
            let names: Vec<&str> = gone.iter().map(|r| r.name.as_str()).collect();
            let msg = format!("Going to remove {}", names.join(", "));
            if *force {
                println!("{msg}");
            } else {
                // docker compose asks: on a terminal as survey does, else the message
                // alone (no newline) and a line read; no answer (a closed stdin) is no.
                use std::io::IsTerminal;
                let tty = std::io::stdin().is_terminal();
                if tty {
                    print!("? {msg} (y/N) ");
                } else {
                    print!("{msg}");
                }
                std::io::stdout().flush()?;
                let mut answer = String::new();
                let _ = std::io::stdin().read_line(&mut answer);
                if !matches!(
                    answer.trim().to_ascii_lowercase().as_str(),
                    "y" | "yes" | "true" | "1"
                ) {
                    if tty {
                        println!();
                    }
                    return Ok(0);
                }
            }
            for r in gone {
                cx.say("Container", &r.name, "Removing");
                cx.eng.remove(&r.id, true, *volumes)?;
                cx.say("Container", &r.name, "Removed");
            }
            Ok(0)
        }
        ComposeCmd::Pause { services } => each(
            &mut cx,
            services,
            ContainerStatus::Running,
            "Paused",
            |e, id| e.pause(id, true).map(drop),
        ),
        ComposeCmd::Unpause { services } => each(
            &mut cx,
            services,
            ContainerStatus::Paused,
            "Unpaused",
            |e, id| e.pause(id, false).map(drop),
        ),
        ComposeCmd::Pull {
            ignore_buildable,
            ignore_pull_failures,
            include_deps,
            policy,
            quiet,
            services,
        } => {
            let names = selected(&cx.p, services, !include_deps)?;
            for n in names {
                let svc = cx.service(&n)?;
                if svc.get("image").is_none() || (*ignore_buildable && svc.get("build").is_some()) {
                    continue;
                }
                let image = image_name(&cx.p.name, &n, &svc);
                if policy.as_deref() == Some("missing") && cx.eng.image_resolve(&image).is_ok() {
                    continue;
                }
                match pull(&cx, &image, *quiet) {
                    Ok(()) => {}
                    // Reported, and the pull goes on.
                    Err(e) if *ignore_pull_failures => eprintln!("{e:#}"),
                    Err(e) => return Err(e),
                }
            }
            Ok(0)
        }
        ComposeCmd::Push {
            ignore_push_failures,
            include_deps,
            quiet,
            services,
        } => {
            let names = selected(&cx.p, services, !include_deps)?;
            for n in names {
                let svc = cx.service(&n)?;
                let Some(image) = svc.get("image").and_then(Node::scalar_text) else {
                    continue;
                };
                let r: image::reference::Reference = image.parse()?;
                if !quiet {
                    cx.say("Image", &image, "Pushing");
                }
                let res = cx.eng.image_push(
                    &r,
                    engine::images::RegistryOptions::default(),
                    engine::images::Progress {
                        event: &|_| {},
                        bytes: None,
                    },
                );
                match res {
                    Ok(_) => {
                        if !quiet {
                            cx.say("Image", &image, "Pushed");
                        }
                    }
                    Err(e) if *ignore_push_failures => eprintln!("{e}"),
                    Err(e) => return Err(e.into()),
                }
            }
            Ok(0)
        }
        ComposeCmd::Build {
            build_arg,
            no_cache,
            pull: pl,
            push: _,
            quiet,
            with_dependencies,
            services,
        } => {
            let names = selected(&cx.p, services, !with_dependencies)?;
            let args: BTreeMap<String, String> = build_arg
                .iter()
                .map(|a| match a.split_once('=') {
                    Some((k, v)) => (k.to_string(), v.to_string()),
                    None => (a.clone(), std::env::var(a).unwrap_or_default()),
                })
                .collect();
            for n in names {
                let svc = cx.service(&n)?;
                if svc.get("build").is_some() {
                    build_service(&mut cx, &n, &svc, &args, *no_cache, *pl, *quiet)?;
                }
            }
            Ok(0)
        }
        ComposeCmd::Scale { no_deps, scales } => {
            let scale = parse_scale(scales)?;
            let names: Vec<String> = scale.keys().cloned().collect();
            let u = UpArgs {
                detach: true,
                no_deps: *no_deps,
                create: CreateOpts {
                    scale: scales.clone(),
                    ..Default::default()
                },
                services: names,
                ..Default::default()
            };
            up(&mut cx, &u)
        }
        ComposeCmd::Wait {
            down_project,
            services,
        } => {
            // Every running container of the services (one-off ones too), each waited on
            // at once; the status of the last to exit (docker compose's).
            let pname = cx.p.name.clone();
            let cs: Vec<Record> = project_containers(&mut cx.eng, &pname, true)?
                .into_iter()
                .filter(|r| services.contains(&service_of(r)) && r.state.status.is_up())
                .collect();
            if cs.is_empty() {
                bail!("no containers for project {pname:?}");
            }
            let (root, run) = (cx.root.clone(), cx.run_dir.clone());
            let last = std::sync::Mutex::new(0i32);
            std::thread::scope(|s| {
                for r in &cs {
                    let (root, run, last) = (&root, &run, &last);
                    s.spawn(move || {
                        let code = Engine::open(root, run).and_then(|mut e| e.wait(&r.id));
                        if let Ok(code) = code {
                            println!("container {:?} exited with status code {code}", r.id);
                            if let Ok(mut l) = last.lock() {
                                *l = code;
                            }
                        }
                    });
                }
            });
            let code = last.into_inner().unwrap_or(0);
            if *down_project {
                down(
                    &mut cx,
                    &DownArgs {
                        remove_orphans: true,
                        ..Default::default()
                    },
                )?;
            }
            Ok(code)
        }
        ComposeCmd::Exec(e) => crate::exec::exec(&mut cx, e),
        ComposeCmd::Run(r) => crate::exec::run(&mut cx, r),
        ComposeCmd::Logs(l) => crate::logs::logs(&mut cx, l),
        ComposeCmd::Watch {
            no_up,
            prune: _,
            quiet,
            services,
        } => crate::watch::watch(&mut cx, services, *no_up, *quiet),
        ComposeCmd::Events {
            json,
            since: _,
            until: _,
            services,
        } => crate::logs::events(&mut cx, services, *json),
        other => bail!(
            "quai compose {}: handled by the command line",
            command_name(other)
        ),
    }
}

/// `op` on the named services' containers that are in status `when`, with its outcome.
fn each(
    cx: &mut Ctx,
    services: &[String],
    when: ContainerStatus,
    done: &str,
    op: impl Fn(&mut Engine, &str) -> engine::Result<()>,
) -> anyhow::Result<i32> {
    // docker compose prints the outcome only ("Paused", no "Pausing").
    // Every running container of the services, paused or not (as the engine lists them
    // to docker compose): one already in the state is the daemon's error.
    let mut failed: Option<String> = None;
    for r in targets(cx, services)? {
        if r.state.status.is_up() && r.state.status != when {
            let already = if when == ContainerStatus::Running {
                "is already paused"
            } else {
                "is not paused"
            };
            failed.get_or_insert(format!(
                "Error response from daemon: Container {} {already}",
                r.id
            ));
        }
        if r.state.status == when {
            op(&mut cx.eng, &r.id)?;
            cx.say("Container", &r.name, done);
        }
    }
    if let Some(e) = failed {
        bail!("{e}");
    }
    Ok(0)
}

fn command_name(c: &ComposeCmd) -> String {
    format!("{c:?}")
        .split(|ch: char| !ch.is_alphanumeric())
        .next()
        .unwrap_or_default()
        .to_lowercase()
}

/// The project a command acts on. The commands on what exists take a project by name
/// alone (`-p NAME` without `-f`: no file read), and fall back to `COMPOSE_PROJECT_NAME`
/// when the files do not load, as docker compose's `projectOrName` does.
pub fn project_for(a: &ComposeArgs, o: &Options) -> anyhow::Result<Project> {
    if !acts_on_existing(&a.cmd) {
        return crate::command::load(o);
    }
    if let Some(name) = a.project_name.clone().filter(|_| a.file.is_empty()) {
        return Ok(stub_project(name, o));
    }
    match crate::command::load(o) {
        Ok(p) => Ok(p),
        Err(e) => match o
            .os_env
            .get("COMPOSE_PROJECT_NAME")
            .filter(|n| !n.is_empty())
        {
            Some(n) => Ok(stub_project(n.clone(), o)),
            None => Err(e),
        },
    }
}

pub fn acts_on_existing(c: &ComposeCmd) -> bool {
    matches!(
        c,
        ComposeCmd::Down(_)
            | ComposeCmd::Ps(_)
            | ComposeCmd::Logs(_)
            | ComposeCmd::Stop { .. }
            | ComposeCmd::Kill { .. }
            | ComposeCmd::Rm { .. }
            | ComposeCmd::Pause { .. }
            | ComposeCmd::Unpause { .. }
            | ComposeCmd::Restart { .. }
            | ComposeCmd::Start { .. }
            | ComposeCmd::Exec(_)
            | ComposeCmd::Top { .. }
            | ComposeCmd::Images { .. }
            | ComposeCmd::Port { .. }
            | ComposeCmd::Events { .. }
            | ComposeCmd::Wait { .. }
            | ComposeCmd::Cp { .. }
            | ComposeCmd::Attach { .. }
            | ComposeCmd::Stats { .. }
            | ComposeCmd::Volumes { .. }
            | ComposeCmd::Commit { .. }
            | ComposeCmd::Export { .. }
    )
}

/// A project known only by name (`-p NAME` with no files): what its containers carry.
pub fn stub_project(name: String, o: &Options) -> Project {
    Project {
        name: name.clone(),
        workdir: o.cwd.clone(),
        files: Vec::new(),
        env: o.os_env.clone(),
        model: Node::map(vec![
            ("name".into(), Node::str(name)),
            ("services".into(), Node::map(vec![])),
        ]),
        disabled: Vec::new(),
        all_profiles: Vec::new(),
        raw: Node::map(vec![]),
    }
}

/// The project's containers of the named services (all when none named).
pub fn targets(cx: &mut Ctx, services: &[String]) -> anyhow::Result<Vec<Record>> {
    // docker compose refuses a name that is not one of the project's services.
    selected(&cx.p, services, true)?;
    let all = project_containers(&mut cx.eng, &cx.p.name.clone(), false)?;
    Ok(all
        .into_iter()
        .filter(|r| services.is_empty() || services.contains(&service_of(r)))
        .collect())
}

/// Pull one image.
pub fn pull(cx: &Ctx, image: &str, quiet: bool) -> anyhow::Result<()> {
    let r: image::reference::Reference = image
        .parse()
        .map_err(|e| anyhow!("invalid reference format {image:?}: {e}"))?;
    let platform: engine::images::Platform = "".parse().unwrap_or_default();
    if !quiet {
        cx.say("Image", image, "Pulling");
    }
    cx.eng
        .image_pull(
            &r,
            &platform,
            engine::images::RegistryOptions::default(),
            engine::images::Progress {
                event: &|_| {},
                bytes: None,
            },
        )
        .map_err(|e| anyhow!("Error response from daemon: {e}"))?;
    if !quiet {
        cx.say("Image", image, "Pulled");
    }
    Ok(())
}

/// Build a service's image (tagged `image`, or `PROJECT-SERVICE`).
pub fn build_service(
    cx: &mut Ctx,
    name: &str,
    svc: &Node,
    extra_args: &BTreeMap<String, String>,
    no_cache: bool,
    pull: bool,
    quiet: bool,
) -> anyhow::Result<()> {
    let b = svc.get("build").cloned().unwrap_or(Node::map(vec![]));
    let text = |k: &str| b.get(k).and_then(Node::scalar_text);
    let ctx_dir = std::path::PathBuf::from(text("context").unwrap_or(".".into()));
    if text("context").is_some_and(|c| c.contains("://")) {
        bail!(
            "service {name:?}: quai builds from local contexts only, not {}",
            text("context").unwrap_or_default()
        );
    }
    let (dockerfile, dname) = match text("dockerfile_inline") {
        Some(inline) => (inline, "Dockerfile".to_string()),
        None => {
            let d = text("dockerfile").unwrap_or("Dockerfile".into());
            let path = if Path::new(&d).is_absolute() {
                Path::new(&d).to_path_buf()
            } else {
                ctx_dir.join(&d)
            };
            let body = std::fs::read_to_string(&path).with_context(|| {
                format!(
                    "service {name:?}: failed to read dockerfile: open {}",
                    path.display()
                )
            })?;
            (body, d)
        }
    };
    let mut args: BTreeMap<String, String> = BTreeMap::new();
    for (k, v) in b.get("args").and_then(Node::as_map).into_iter().flatten() {
        if let Some(t) = v.scalar_text() {
            args.insert(k.clone(), t);
        } else if let Some(t) = cx.p.env.get(k) {
            args.insert(k.clone(), t.clone());
        }
    }
    args.extend(extra_args.clone());
    let mut labels: BTreeMap<String, String> = crate::service::text_map(b.get("labels"));
    labels.insert(LABEL_PROJECT.into(), cx.p.name.clone());
    labels.insert(LABEL_SERVICE.into(), name.into());
    labels.insert(svcmod::LABEL_VERSION.into(), crate::VERSION.into());
    let image = image_name(&cx.p.name, name, svc);
    let mut tags = vec![image
        .parse()
        .map_err(|e| anyhow!("invalid reference format {image:?}: {e}"))?];
    for t in b.get("tags").and_then(Node::as_seq).into_iter().flatten() {
        if let Some(s) = t.scalar_text() {
            tags.push(s.parse().map_err(|e| anyhow!("invalid tag {s:?}: {e}"))?);
        }
    }
    let network = match text("network") {
        Some(n) => engine::config::NetworkMode::from(n),
        None => engine::config::NetworkMode::default(),
    };
    let req = build::BuildRequest {
        context: ctx_dir,
        dockerfile,
        dockerfile_name: dname,
        tags,
        target: text("target"),
        build_args: args,
        labels,
        no_cache: no_cache
            || matches!(b.get("no_cache").map(|n| &n.value), Some(Value::Bool(true))),
        no_cache_filter: Vec::new(),
        pull: pull || matches!(b.get("pull").map(|n| &n.value), Some(Value::Bool(true))),
        network,
        extra_hosts: b
            .get("extra_hosts")
            .and_then(Node::as_seq)
            .into_iter()
            .flatten()
            .filter_map(Node::scalar_text)
            .map(|h| h.replacen('=', ":", 1))
            .collect(),
        secrets: BTreeMap::new(),
        ssh: None,
        cache_from: Vec::new(),
        cache_to: None,
    };
    cx.say("Service", name, "Building");
    let res = if quiet || cx.quiet {
        build::build(&mut cx.eng, &req, &mut build::progress::Quiet)
    } else {
        let mut pr = build::progress::Plain::new(std::io::stderr());
        build::build(&mut cx.eng, &req, &mut pr)
    };
    res.map_err(|e| anyhow!("failed to solve: {e}"))?;
    cx.say("Service", name, "Built");
    Ok(())
}

/// Images of the services, pulled or built as their policies say, before anything is
/// made. Returns each service's image id.
fn ensure_images(
    cx: &mut Ctx,
    names: &[String],
    o: &CreateOpts,
) -> anyhow::Result<BTreeMap<String, String>> {
    let mut ids = BTreeMap::new();
    for n in names {
        let svc = cx.service(n)?;
        let image = image_name(&cx.p.name, n, &svc);
        let policy = svc
            .get("pull_policy")
            .and_then(Node::scalar_text)
            .unwrap_or_default();
        let has_build = svc.get("build").is_some();
        let present = cx.eng.image_resolve(&image).is_ok();
        let must_build = has_build
            && !o.no_build
            && (o.build || policy == "build" || (!present && policy != "always"));
        if must_build {
            build_service(cx, n, &svc, &BTreeMap::new(), false, false, false)?;
        } else {
            let pol = o.pull.clone().unwrap_or(policy);
            match pol.as_str() {
                "always" => pull(cx, &image, o.quiet_pull)?,
                "never" if !present => {
                    bail!("Error response from daemon: No such image: {image}")
                }
                _ if !present => {
                    if has_build && o.no_build {
                        bail!("service {n:?} has no image and --no-build was given");
                    }
                    pull(cx, &image, o.quiet_pull)?
                }
                _ => {}
            }
        }
        let id = cx
            .eng
            .image_resolve(&image)
            .map_err(|e| anyhow!("{e}"))?
            .to_string();
        ids.insert(n.clone(), id);
    }
    Ok(ids)
}

/// The project's networks and volumes (made when missing; external ones must exist).
pub fn ensure_resources(cx: &mut Ctx, names: &[String]) -> anyhow::Result<()> {
    let model = cx.p.model.clone();
    let mut nets: BTreeSet<String> = BTreeSet::new();
    let mut vols: BTreeSet<String> = BTreeSet::new();
    for n in names {
        let svc = cx.service(n)?;
        for (k, _) in svcmod::service_networks(&svc) {
            nets.insert(k);
        }
        vols.extend(crate::normalize::volume_sources(&svc));
    }
    let existing: Vec<engine::network_record::Network> = cx.eng.networks()?;
    for key in nets {
        let def = model
            .get("networks")
            .and_then(|m| m.get(&key))
            .cloned()
            .unwrap_or(Node::map(vec![]));
        let name = svcmod::resource_name(&model, "networks", &key);
        let external = matches!(
            def.get("external").map(|e| &e.value),
            Some(Value::Bool(true))
        );
        if existing.iter().any(|n| n.name == name) {
            continue;
        }
        if external {
            bail!("network {name} declared as external, but could not be found");
        }
        let pool = def
            .get("ipam")
            .and_then(|i| i.get("config"))
            .and_then(Node::as_seq)
            .and_then(|s| s.first())
            .cloned();
        let subnet = pool
            .as_ref()
            .and_then(|p| p.get("subnet"))
            .and_then(Node::scalar_text);
        let gateway = pool
            .as_ref()
            .and_then(|p| p.get("gateway"))
            .and_then(Node::scalar_text);
        let ip_range = pool
            .as_ref()
            .and_then(|p| p.get("ip_range"))
            .and_then(Node::scalar_text);
        let options: BTreeMap<String, String> = crate::service::text_map(def.get("driver_opts"));
        cx.say("Network", &name, "Creating");
        cx.eng
            .network_create(engine::network::CreateArgs {
                name: &name,
                subnet: subnet.as_deref(),
                gateway: gateway.as_deref(),
                ip_range: ip_range.as_deref(),
                internal: matches!(
                    def.get("internal").map(|e| &e.value),
                    Some(Value::Bool(true))
                ),
                labels: svcmod::resource_labels(&cx.p, svcmod::LABEL_NETWORK, &key, &def),
                options,
            })
            .map_err(|e| anyhow!("failed to create network {name}: {e}"))?;
        cx.say("Network", &name, "Created");
    }
    for key in vols {
        let def = model
            .get("volumes")
            .and_then(|m| m.get(&key))
            .cloned()
            .unwrap_or(Node::map(vec![]));
        let name = svcmod::resource_name(&model, "volumes", &key);
        let external = matches!(
            def.get("external").map(|e| &e.value),
            Some(Value::Bool(true))
        );
        if cx.eng.volume(&name)?.is_some() {
            continue;
        }
        if external {
            bail!("external volume \"{name}\" not found");
        }
        let driver = def
            .get("driver")
            .and_then(Node::scalar_text)
            .unwrap_or("local".into());
        let options: BTreeMap<String, String> = crate::service::text_map(def.get("driver_opts"));
        cx.say("Volume", &name, "Creating");
        cx.eng
            .volume_create(
                Some(&name),
                &driver,
                svcmod::resource_labels(&cx.p, svcmod::LABEL_VOLUME, &key, &def),
                options,
            )
            .map_err(|e| anyhow!("failed to create volume {name}: {e}"))?;
        cx.say("Volume", &name, "Created");
    }
    svcmod::write_contents(&cx.p, &cx.root).map_err(|e| anyhow!(e))?;
    Ok(())
}

/// What quai cannot run, refused before anything is made.
fn refuse_unsupported(name: &str, svc: &Node) -> anyhow::Result<()> {
    if svc.get("gpus").is_some()
        || svc
            .get("deploy")
            .and_then(|d| d.get("resources"))
            .and_then(|r| r.get("reservations"))
            .and_then(|r| r.get("devices"))
            .is_some()
    {
        bail!("service {name:?}: quai has no GPU support (gpus, deploy.resources.reservations.devices)");
    }
    if svc.get("provider").is_some() {
        bail!("service {name:?}: provider services are not supported by quai");
    }
    if svc.get("models").is_some() {
        bail!("service {name:?}: models are not supported by quai");
    }
    if let Some(b) = svc.get("build") {
        for k in [
            "ssh",
            "cache_to",
            "platforms",
            "entitlements",
            "privileged",
            "isolation",
        ] {
            if b.get(k).is_some() {
                bail!("service {name:?}: build.{k} is not supported by quai's builder");
            }
        }
        if b.get("context")
            .and_then(Node::scalar_text)
            .is_some_and(|c| c.contains("://") || c.starts_with("git@"))
        {
            bail!("service {name:?}: quai builds from local contexts only");
        }
    }
    Ok(())
}

/// Make replica `number` of a service.
pub fn create_container(
    cx: &mut Ctx,
    name: &str,
    svc: &Node,
    number: u32,
    oneoff: bool,
    image_id: &str,
    edit: impl FnOnce(&mut engine::resolve::CreateRequest),
) -> anyhow::Result<Record> {
    let hash = service_hash(svc);
    let mut made = svcmod::request(&cx.p, &cx.root, name, svc, number, oneoff, image_id, &hash)
        .map_err(|e| anyhow!("service {name:?}: {e}"))?;
    edit(&mut made.req);
    let cname = made.req.name.clone().unwrap_or_default();
    cx.say("Container", &cname, "Creating");
    let rec = cx
        .eng
        .create(made.req)
        .map_err(|e| anyhow!("Error response from daemon: {e}"))?;
    for j in made.joins {
        if let Err(e) = cx.eng.network_connect(&j.network, &rec.id, j.aliases, j.ip) {
            let _ = cx.eng.remove(&rec.id, true, false);
            bail!("Error response from daemon: {e}");
        }
    }
    cx.say("Container", &cname, "Created");
    Ok(rec)
}

/// How `up` treats containers whose configuration did not change.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Recreate {
    /// Only those that diverged.
    Diverged,
    /// All of them.
    Force,
    /// None.
    Never,
}

/// Replace container `old` with a new one of `svc` numbered `k`, as docker compose
/// does: the new one is made first (under a temporary name, with the old one's anonymous
/// volumes unless `renew`), then the old one is stopped and removed, then the new one
/// takes the name. A failed create leaves the old container as it was.
#[allow(clippy::too_many_arguments)]
fn recreate(
    cx: &mut Ctx,
    name: &str,
    svc: &Node,
    k: u32,
    old: &Record,
    image_id: &str,
    renew: bool,
    timeout: Option<i64>,
) -> anyhow::Result<()> {
    cx.say("Container", &old.name, "Recreate");
    let tmp = format!("{}_{}", &old.id[..12], old.name);
    let inherited: Vec<(String, String)> = if renew {
        Vec::new()
    } else {
        old.config
            .mounts
            .iter()
            .filter(|m| m.anonymous && m.kind == engine::config::MountKind::Volume)
            .map(|m| (m.source.clone(), m.target.clone()))
            .collect()
    };
    let replaced = old.id.clone();
    // The new container under its temporary name is no progress of its own.
    let quiet = std::mem::replace(&mut cx.quiet, true);
    let new = create_container(cx, name, svc, k, false, image_id, |req| {
        req.name = Some(tmp.clone());
        req.config
            .labels
            .insert(svcmod::LABEL_REPLACE.into(), replaced.clone());
        let taken: BTreeSet<String> = req
            .mounts
            .iter()
            .map(|m| m.target.clone())
            .chain(req.volumes.iter().filter_map(|v| {
                let parts: Vec<&str> = v.split(':').collect();
                parts.get(1).or(parts.first()).map(|t| t.to_string())
            }))
            .chain(
                req.tmpfs
                    .iter()
                    .map(|t| t.split(':').next().unwrap_or_default().to_string()),
            )
            .collect();
        for (vol, target) in &inherited {
            // The service's own anonymous volume at that target takes the old one's.
            if let Some(m) = req
                .mounts
                .iter_mut()
                .find(|m| m.kind == "volume" && m.source.is_empty() && m.target == *target)
            {
                m.source = vol.clone();
                continue;
            }
            if !taken.contains(target) {
                req.mounts.push(engine::mounts::MountSpec {
                    kind: "volume".into(),
                    source: vol.clone(),
                    target: target.clone(),
                    ..Default::default()
                });
            }
        }
    });
    cx.quiet = quiet;
    let new = new?;
    if old.state.status.is_up() {
        if let Ok(s) = cx.service(name) {
            let _ = run_hooks(cx, &s, "pre_stop", &old.id);
        }
        cx.eng.stop(&old.id, timeout)?;
    }
    cx.eng.remove(&old.id, true, renew)?;
    cx.eng.rename(&new.id, &old.name)?;
    cx.say("Container", &old.name, "Recreated");
    Ok(())
}

/// Bring each service's containers to its configuration and count: obsolete replicas go
/// first when scaling down, new ones take the next numbers.
#[allow(clippy::too_many_arguments)]
fn converge(
    cx: &mut Ctx,
    names: &[String],
    ids: &BTreeMap<String, String>,
    u: &UpArgs,
    scale: &BTreeMap<String, u32>,
) -> anyhow::Result<()> {
    let pname = cx.p.name.clone();
    let o = &u.create;
    for n in names {
        let svc = cx.service(n)?;
        let want = replicas(&svc, scale, n) as usize;
        let hash = service_hash(&svc);
        let id = ids.get(n).cloned().unwrap_or_default();
        // --force-recreate is for the services asked for; their dependencies only with
        // --always-recreate-deps.
        let asked = u.services.is_empty() || u.services.contains(n);
        let policy = if o.no_recreate {
            Recreate::Never
        } else if o.force_recreate && (asked || u.always_recreate_deps) {
            Recreate::Force
        } else {
            Recreate::Diverged
        };
        if want > 1 && svc.get("container_name").is_some() {
            bail!("services.{n}: can't set container_name and {n} as container name must be unique: invalid compose project");
        }
        let diverged = |r: &Record| {
            r.config.labels.get(svcmod::LABEL_HASH) != Some(&hash)
                || (!id.is_empty() && r.config.labels.get(svcmod::LABEL_IMAGE) != Some(&id))
        };
        let mut existing: Vec<Record> = project_containers(&mut cx.eng, &pname, false)?
            .into_iter()
            .filter(|r| service_of(r) == *n)
            .collect();
        // Keep the up-to-date ones with the lowest numbers; obsolete ones go first.
        existing.sort_by_key(|r| (diverged(r) && policy != Recreate::Never, number(r)));
        let next = existing.iter().map(number).max().unwrap_or(0) + 1;
        let redo = |r: &Record| match policy {
            Recreate::Never => false,
            Recreate::Force => true,
            Recreate::Diverged => diverged(r),
        };
        for r in existing.iter().take(want) {
            if !redo(r) && r.state.status.is_up() {
                // Up to date and running: docker compose says so, before any scaling.
                cx.say("Container", &r.name, "Running");
            }
        }
        for r in existing.iter().skip(want) {
            cx.say("Container", &r.name, "Stopping");
            cx.eng.stop(&r.id, u.timeout)?;
            cx.say("Container", &r.name, "Stopped");
            cx.say("Container", &r.name, "Removing");
            cx.eng.remove(&r.id, true, false)?;
            cx.say("Container", &r.name, "Removed");
        }
        if existing.iter().take(want).any(&redo) {
            // What depends on it with `restart: true` stops first, to start again after
            // (docker compose's stopDependentContainers).
            let dependents: Vec<String> = names
                .iter()
                .filter(|d| {
                    cx.service(d).ok().is_some_and(|s| {
                        s.get("depends_on").and_then(|x| x.get(n)).is_some_and(|c| {
                            c.get("restart")
                                .is_some_and(|r| matches!(r.value, Value::Bool(true)))
                        })
                    })
                })
                .cloned()
                .collect();
            if !dependents.is_empty() {
                let theirs: Vec<Record> = project_containers(&mut cx.eng, &pname, false)?
                    .into_iter()
                    .filter(|r| dependents.contains(&service_of(r)))
                    .collect();
                let errors = stop_parallel(cx, &theirs, u.timeout);
                if !errors.is_empty() {
                    bail!("{}", errors.join("; "));
                }
            }
        }
        for r in existing.iter().take(want) {
            if redo(r) {
                recreate(
                    cx,
                    n,
                    &svc,
                    number(r).max(1),
                    r,
                    &id,
                    u.renew_anon_volumes,
                    u.timeout,
                )?;
            }
        }
        for i in 0..want.saturating_sub(existing.len()) {
            create_container(cx, n, &svc, next + i as u32, false, &id, |_| {})?;
        }
    }
    Ok(())
}

/// Wait for what `svc` depends on, per condition, as docker compose does: `service_started`
/// is the start order itself; a dependency outside `scope` (`--no-deps`) or scaled to 0
/// is not waited for; an optional one that fails is a warning.
fn wait_dependencies(
    cx: &mut Ctx,
    name: &str,
    svc: &Node,
    scope: &[String],
    timeout: Option<Duration>,
) -> anyhow::Result<()> {
    let pname = cx.p.name.clone();
    let stop = crate::logs::interrupt_flag();
    for (dep, cond) in svc
        .get("depends_on")
        .and_then(Node::as_map)
        .cloned()
        .unwrap_or_default()
    {
        let condition = cond
            .get("condition")
            .and_then(Node::scalar_text)
            .unwrap_or("service_started".into());
        let required = !matches!(
            cond.get("required").map(|r| &r.value),
            Some(Value::Bool(false))
        );
        if condition == "service_started" || !scope.contains(&dep) {
            continue;
        }
        if let Ok(d) = cx.service(&dep) {
            if replicas(&d, &BTreeMap::new(), &dep) == 0 {
                continue;
            }
        }
        let start = Instant::now();
        let mut said = false;
        loop {
            if stop.load(std::sync::atomic::Ordering::Relaxed) {
                bail!("canceled");
            }
            let cs: Vec<Record> = project_containers(&mut cx.eng, &pname, false)?
                .into_iter()
                .filter(|r| service_of(r) == dep)
                .collect();
            // docker compose says it waits on each of them first, done or not.
            if !said {
                said = true;
                for r in &cs {
                    cx.say("Container", &r.name, "Waiting");
                }
            }
            if cs.is_empty() {
                if required {
                    bail!("{name} is missing dependency {dep}");
                }
                crate::command::warn(&format!("{name} is missing dependency {dep}"));
                break;
            }
            // Ok(true): done; Ok(false): not yet; Err: failed.
            let state: Result<bool, String> = match condition.as_str() {
                "service_healthy" => {
                    let mut res = Ok(true);
                    for r in &cs {
                        if matches!(
                            r.state.status,
                            ContainerStatus::Exited | ContainerStatus::Dead
                        ) {
                            res = Err(format!(
                                "container {} exited ({})",
                                r.name, r.state.exit_code
                            ));
                            break;
                        }
                        match r.state.health.as_ref().map(|h| h.status.as_str()) {
                            None | Some("") => {
                                res = Err(format!(
                                    "container {} has no healthcheck configured",
                                    r.name
                                ));
                                break;
                            }
                            Some("healthy") => {}
                            Some("unhealthy") => {
                                res = Err(format!("container {} is unhealthy", r.name));
                                break;
                            }
                            Some(_) => res = res.map(|_| false),
                        }
                    }
                    match res {
                        Err(e) if !required => {
                            for r in &cs {
                                cx.say(
                                    "Container",
                                    &r.name,
                                    &format!(
                                        "Skipped: optional dependency {dep:?} failed to start"
                                    ),
                                );
                            }
                            crate::command::warn(&format!(
                                "optional dependency {dep:?} failed to start: {e}"
                            ));
                            Ok(true)
                        }
                        Err(e) => {
                            for r in &cs {
                                cx.say("Container", &r.name, "Error");
                            }
                            Err(format!("dependency failed to start: {e}"))
                        }
                        Ok(true) => {
                            for r in &cs {
                                cx.say("Container", &r.name, "Healthy");
                            }
                            Ok(true)
                        }
                        other => other,
                    }
                }
                "service_completed_successfully" => {
                    match cs.iter().find(|r| {
                        matches!(
                            r.state.status,
                            ContainerStatus::Exited | ContainerStatus::Dead
                        )
                    }) {
                        None => Ok(false),
                        Some(r) if r.state.exit_code == 0 => {
                            for r in &cs {
                                cx.say("Container", &r.name, "Exited");
                            }
                            Ok(true)
                        }
                        Some(r) => {
                            let msg = format!(
                                "{dep:?} didn't complete successfully: exit {}",
                                r.state.exit_code
                            );
                            let name = r.name.clone();
                            if required {
                                cx.say("Container", &name, &format!("service {msg}"));
                                Err(format!("service {msg}"))
                            } else {
                                cx.say(
                                    "Container",
                                    &name,
                                    &format!("Skipped: optional dependency {msg}"),
                                );
                                crate::command::warn(&format!("optional dependency {msg}"));
                                Ok(true)
                            }
                        }
                    }
                }
                other => {
                    crate::command::warn(&format!("unsupported depends_on condition: {other}"));
                    Ok(true)
                }
            };
            match state {
                Ok(true) => break,
                Ok(false) => {}
                Err(e) => bail!("{e}"),
            }
            if timeout.is_some_and(|t| start.elapsed() > t) {
                bail!("timeout waiting for dependency {dep:?}");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
    Ok(())
}

/// `run`: wait for the service's dependencies (all of the project in scope).
pub fn wait_for_run(cx: &mut Ctx, name: &str, svc: &Node) -> anyhow::Result<()> {
    let scope: Vec<String> = cx.services().into_iter().map(|(k, _)| k).collect();
    wait_dependencies(cx, name, svc, &scope, None)
}

/// Start the services' containers in order, each after its dependencies' conditions.
pub fn start_services(cx: &mut Ctx, names: &[String], wait_deps: bool) -> anyhow::Result<()> {
    let pname = cx.p.name.clone();
    for n in names {
        // A project known by name only has no definitions: its containers as they are.
        let svc = cx.service(n).unwrap_or(Node::map(vec![]));
        if wait_deps {
            wait_dependencies(cx, n, &svc, names, None)?;
        }
        let cs: Vec<Record> = project_containers(&mut cx.eng, &pname, false)?
            .into_iter()
            .filter(|r| service_of(r) == *n)
            .collect();
        for r in cs {
            if r.state.status.is_up() {
                continue;
            }
            cx.say("Container", &r.name, "Starting");
            cx.eng
                .start(&r.id, "")
                .map_err(|e| anyhow!("Error response from daemon: {e}"))?;
            run_hooks(cx, &svc, "post_start", &r.id)?;
            cx.say("Container", &r.name, "Started");
        }
    }
    Ok(())
}

/// A process in a container from the engine's exec helper (a process of its own: this
/// one may have threads, and must not fork into a container); its exit status. Its
/// output is this command's.
pub fn exec_helper(cx: &mut Ctx, id: &str, req: engine::exec::ExecRequest) -> anyhow::Result<i32> {
    use std::os::fd::AsFd;
    let null: std::os::fd::OwnedFd = std::fs::File::open("/dev/null")?.into();
    let out = std::io::stdout().as_fd().try_clone_to_owned()?;
    let err = std::io::stderr().as_fd().try_clone_to_owned()?;
    let mut child = cx.eng.exec_spawn(id, &req, [null, out, err], false)?;
    let st = child.wait()?;
    Ok(st.code().unwrap_or(255))
}

/// `post_start` / `pre_stop` hooks, run in the container.
fn run_hooks(cx: &mut Ctx, svc: &Node, key: &str, id: &str) -> anyhow::Result<()> {
    for h in svc
        .get(key)
        .and_then(Node::as_seq)
        .cloned()
        .unwrap_or_default()
    {
        let cmd: Vec<String> = h
            .get("command")
            .and_then(Node::as_seq)
            .into_iter()
            .flatten()
            .filter_map(Node::scalar_text)
            .collect();
        if cmd.is_empty() {
            continue;
        }
        let env: Vec<String> = h
            .get("environment")
            .and_then(Node::as_map)
            .into_iter()
            .flatten()
            .filter_map(|(k, v)| v.scalar_text().map(|t| format!("{k}={t}")))
            .collect();
        let code = exec_helper(
            cx,
            id,
            engine::exec::ExecRequest {
                cmd,
                detach: false,
                env,
                workdir: h.get("working_dir").and_then(Node::scalar_text),
                user: h.get("user").and_then(Node::scalar_text),
                privileged: matches!(
                    h.get("privileged").map(|p| &p.value),
                    Some(Value::Bool(true))
                ),
                ..Default::default()
            },
        )?;
        if code != 0 && key == "post_start" {
            bail!("{key} hook exited with status {code}");
        }
    }
    Ok(())
}

/// Whether some service waits for `name` with `service_completed_successfully`.
fn completion_awaited(p: &Project, name: &str) -> bool {
    p.model
        .get("services")
        .and_then(Node::as_map)
        .into_iter()
        .flatten()
        .any(|(_, s)| {
            s.get("depends_on")
                .and_then(|d| d.get(name))
                .and_then(|c| c.get("condition"))
                .and_then(Node::as_str)
                == Some("service_completed_successfully")
        })
}

/// Whether a running container has been up long enough to count as running for
/// `--wait` (250ms since it started).
fn settled(r: &Record) -> bool {
    let Some(started) = engine::time::parse_rfc3339(&r.state.started_at) else {
        return true;
    };
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX));
    now.saturating_sub(started) >= 250_000_000
}

/// `--wait`: every selected service running (and healthy where it has a check); one-shot
/// services that exited 0 count as done.
fn wait_healthy(cx: &mut Ctx, names: &[String], timeout: Option<Duration>) -> anyhow::Result<()> {
    let pname = cx.p.name.clone();
    let start = Instant::now();
    // Each container: "Waiting" first, then "Healthy" (or "Exited" for a one-shot one
    // that completed) as soon as it is, as docker compose prints them.
    let mut done: BTreeSet<String> = BTreeSet::new();
    let mut said = false;
    loop {
        let cs: Vec<Record> = project_containers(&mut cx.eng, &pname, false)?
            .into_iter()
            .filter(|r| names.contains(&service_of(r)))
            .collect();
        if !said {
            said = true;
            for r in &cs {
                cx.say("Container", &r.name, "Waiting");
            }
        }
        let mut ready = true;
        for r in &cs {
            let outcome = match r.state.status {
                // A one-shot service others wait for to complete: done when it exits.
                ContainerStatus::Running if completion_awaited(&cx.p, &service_of(r)) => None,
                ContainerStatus::Running => match &r.state.health {
                    Some(h) if h.status == "unhealthy" => {
                        bail!("container {} is unhealthy", r.name);
                    }
                    Some(h) if h.status != "healthy" => None,
                    Some(_) => Some("Healthy"),
                    // No check: running is enough, once it has settled (docker compose
                    // first looks half a second in, so a one-shot container has exited
                    // by then and fails the wait).
                    None if !settled(r) => None,
                    None => Some("Healthy"),
                },
                ContainerStatus::Exited | ContainerStatus::Dead => {
                    // A one-shot service others wait for to complete is done when it
                    // exited 0; any other exit fails the wait (docker compose's).
                    let s = service_of(r);
                    if r.state.exit_code != 0 || !completion_awaited(&cx.p, &s) {
                        bail!("container {} exited ({})", r.name, r.state.exit_code);
                    }
                    Some("Exited")
                }
                _ => None,
            };
            match outcome {
                Some(word) => {
                    if done.insert(r.id.clone()) {
                        cx.say("Container", &r.name, word);
                    }
                }
                None => ready = false,
            }
        }
        if ready {
            return Ok(());
        }
        if timeout.is_some_and(|t| start.elapsed() > t) {
            bail!(
                "application not healthy after {}",
                crate::canon::format_duration(
                    i64::try_from(timeout.unwrap_or_default().as_nanos()).unwrap_or(i64::MAX)
                )
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn remove_orphans(cx: &mut Ctx, timeout: Option<i64>) -> anyhow::Result<()> {
    let known: Vec<String> = cx.services().into_iter().map(|(k, _)| k).collect();
    let pname = cx.p.name.clone();
    for r in project_containers(&mut cx.eng, &pname, true)? {
        let s = service_of(&r);
        if !known.contains(&s) && !cx.p.disabled.contains(&s) {
            if r.state.status.is_up() {
                cx.say("Container", &r.name, "Stopping");
                cx.eng.stop(&r.id, timeout)?;
            }
            cx.say("Container", &r.name, "Removing");
            cx.eng.remove(&r.id, true, false)?;
            cx.say("Container", &r.name, "Removed");
        }
    }
    Ok(())
}

/// `up` (and `create`, `scale`).
pub fn up(cx: &mut Ctx, u: &UpArgs) -> anyhow::Result<i32> {
    let names = selected(&cx.p, &u.services, u.no_deps)?;
    let scale = parse_scale(&u.create.scale)?;
    for k in scale.keys() {
        if !names.contains(k) {
            bail!("no such service: {k}");
        }
    }
    if let Some(s) = &u.exit_code_from {
        if !names.contains(s) {
            bail!("no such service: {s}: not found");
        }
    }
    // docker compose's own checks of the flags.
    let conflicts = [
        (u.create.force_recreate && u.create.no_recreate, "--force-recreate and --no-recreate are incompatible"),
        (u.create.build && u.create.no_build, "--build and --no-build are incompatible"),
        (u.abort_on_container_exit && u.abort_on_container_failure, "--abort-on-container-exit and --abort-on-container-failure cannot be combined"),
        (u.detach && (u.abort_on_container_exit || u.abort_on_container_failure), "--abort-on-container-exit and --abort-on-container-failure cannot be combined with --detach"),
        (u.detach && !u.attach.is_empty(), "--detach cannot be combined with --attach"),
        (u.detach && u.attach_dependencies, "--detach cannot be combined with --attach-dependencies"),
    ];
    if let Some((_, msg)) = conflicts.iter().find(|(c, _)| *c) {
        bail!("{msg}");
    }
    for n in &names {
        let svc = cx.service(n)?;
        refuse_unsupported(n, &svc)?;
    }
    // Everything checked and every image present before anything is made.
    let ids = ensure_images(cx, &names, &u.create)?;
    ensure_resources(cx, &names)?;
    // Orphans first: removed, or the warning before any progress (docker compose's).
    if u.create.remove_orphans {
        remove_orphans(cx, u.timeout)?;
    } else {
        let known: Vec<String> = cx.services().into_iter().map(|(k, _)| k).collect();
        let pname = cx.p.name.clone();
        let mut orphans: Vec<&Record> = Vec::new();
        let cs = project_containers(&mut cx.eng, &pname, false)?;
        for r in &cs {
            if !known.contains(&service_of(r)) && !cx.p.disabled.contains(&service_of(r)) {
                orphans.push(r);
            }
        }
        // Newest first, as the engine's list gives them to docker compose.
        orphans.sort_by(|a, b| b.created.cmp(&a.created));
        let orphans: Vec<String> = orphans.iter().map(|r| r.name.clone()).collect();
        if !orphans.is_empty() && !cx.quiet {
            crate::command::warn(&format!("Found orphan containers ([{}]) for this project. If you removed or renamed this service in your compose file, you can run this command with the --remove-orphans flag to clean it up.", orphans.join(" ")));
        }
    }
    converge(cx, &names, &ids, u, &scale)?;
    if u.no_start {
        return Ok(0);
    }
    let detach = u.detach || u.wait;
    if detach {
        start_services(cx, &names, true)?;
        if u.wait {
            wait_healthy(cx, &names, u.wait_timeout.map(Duration::from_secs))?;
        }
        if u.watch {
            return crate::watch::watch(cx, &u.services, true, u.quiet_build);
        }
        return Ok(0);
    }
    // Attached: follow the logs of the attached services from the start.
    let attach: Vec<String> = if !u.attach.is_empty() {
        u.attach.clone()
    } else if u.services.is_empty() || u.attach_dependencies {
        names.clone()
    } else {
        u.services.clone()
    };
    for s in &u.attach {
        if !names.contains(s) {
            bail!("cannot attach to services not included in up: {s}");
        }
    }
    let attach: Vec<String> = attach
        .into_iter()
        .filter(|s| !u.no_attach.contains(s))
        // A service's `attach: false` keeps it out unless --attach names it.
        .filter(|s| {
            u.attach.contains(s)
                || !cx
                    .service(s)
                    .ok()
                    .and_then(|n| n.get("attach").cloned())
                    .is_some_and(|a| matches!(a.value, Value::Bool(false)))
        })
        .collect();
    let mut follower = crate::logs::Follower::new(
        crate::logs::colors(&cx.ansi, u.no_color),
        !u.no_log_prefix,
        u.timestamps,
    );
    follower.split_streams = true;
    let pname = cx.p.name.clone();
    // Offsets from before the start: no new line is missed, no old one shown again.
    let mut attached = Vec::new();
    for r in project_containers(&mut cx.eng, &pname, false)? {
        if attach.contains(&service_of(&r)) {
            follower.add(&cx.eng, &r, false);
            attached.push(crate::logs::prefix_of(&r));
        }
    }
    if !attached.is_empty() {
        println!("Attaching to {}", attached.join(", "));
    }
    let interrupted = crate::logs::interrupt_flag();
    // Attached, docker compose shows no progress of the start (no Starting/Started).
    let quiet = std::mem::replace(&mut cx.quiet, true);
    let started = start_services(cx, &names, true);
    cx.quiet = quiet;
    if let Err(e) = started {
        follower.drain(&mut cx.eng);
        return Err(e);
    }
    let abort =
        u.abort_on_container_exit || u.abort_on_container_failure || u.exit_code_from.is_some();
    // --watch: the rules run between two looks at the logs.
    let mut watcher = if u.watch {
        let w = crate::watch::Watcher::new(cx, &u.services, u.quiet_build)?;
        eprintln!("Watch enabled");
        Some(w)
    } else {
        None
    };
    let mut code = 0;
    loop {
        if interrupted.load(std::sync::atomic::Ordering::Relaxed) {
            follower.drain(&mut cx.eng);
            println!("Gracefully Stopping... press Ctrl+C again to force");
            let (root, run) = (cx.root.clone(), cx.run_dir.clone());
            let targets_now: Vec<String> = targets(cx, &u.services)?
                .into_iter()
                .map(|r| r.id)
                .collect();
            let finished = std::sync::atomic::AtomicBool::new(false);
            let res = std::thread::scope(|s| {
                let h = s.spawn(|| {
                    let r = stop(cx, &u.services, u.timeout);
                    finished.store(true, std::sync::atomic::Ordering::Relaxed);
                    r
                });
                // A second Ctrl+C kills what is still running.
                let mut killed = false;
                while !finished.load(std::sync::atomic::Ordering::Relaxed) {
                    if !killed && crate::logs::forced() {
                        killed = true;
                        if let Ok(mut e) = Engine::open(&root, &run) {
                            for id in &targets_now {
                                let _ = e.kill(id, "SIGKILL");
                            }
                        }
                    }
                    std::thread::sleep(Duration::from_millis(50));
                }
                h.join().unwrap_or_else(|_| Err(anyhow!("stop panicked")))
            });
            res?;
            return Ok(130);
        }
        // The state first, then the output: an exit line follows the container's last
        // lines.
        let cs: Vec<Record> = project_containers(&mut cx.eng, &pname, false)?
            .into_iter()
            .filter(|r| names.contains(&service_of(r)))
            .collect();
        follower.drain(&mut cx.eng);
        for r in &cs {
            follower.note_exit(r);
        }
        if let Some(w) = watcher.as_mut() {
            w.tick(cx);
        }
        if abort {
            let exited = cs.iter().find(|r| {
                matches!(
                    r.state.status,
                    ContainerStatus::Exited | ContainerStatus::Dead
                ) && (u.abort_on_container_exit
                    || u.exit_code_from.is_some()
                    || r.state.exit_code != 0)
            });
            if let Some(r) = exited {
                follower.drain(&mut cx.eng);
                code = match &u.exit_code_from {
                    Some(s) => cs
                        .iter()
                        .find(|x| service_of(x) == *s)
                        .map_or(r.state.exit_code, |x| x.state.exit_code),
                    None => r.state.exit_code,
                };
                let _ = std::io::stdout().flush();
                // On stderr, in red, terminal or not (docker compose's).
                eprintln!("\x1b[31m\x1b[1mAborting on container exit...\x1b[0m");
                stop(cx, &u.services, u.timeout)?;
                let cs2 = project_containers(&mut cx.eng, &pname, false)?;
                follower.drain(&mut cx.eng);
                for r in cs2.iter().filter(|r| names.contains(&service_of(r))) {
                    follower.note_exit(r);
                }
                if let Some(s) = &u.exit_code_from {
                    if let Some(x) = cs2.iter().find(|x| service_of(x) == *s) {
                        code = x.state.exit_code;
                    }
                }
                let _ = std::io::stdout().flush();
                if code != 0 {
                    // docker's CLI prints the status error's empty message: a blank line.
                    eprintln!();
                }
                return Ok(code);
            }
        }
        let running = cs.iter().any(|r| {
            attach.contains(&service_of(r))
                && (r.state.status.is_up() || r.state.status == ContainerStatus::Restarting)
        });
        // With --watch, up stays until interrupted (a rebuild may bring them back).
        if !running && watcher.is_none() {
            follower.drain(&mut cx.eng);
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = std::io::stdout().flush();
    let _ = &mut code;
    Ok(code)
}

/// Stop containers at once, each on a thread with an engine of its own (docker compose
/// stops a project's containers in parallel, so a slow one does not hold up the rest).
pub fn stop_parallel(cx: &mut Ctx, cs: &[Record], timeout: Option<i64>) -> Vec<String> {
    // docker compose reports every container of the services, stopped ones too.
    let up: Vec<&Record> = cs.iter().collect();
    for r in &up {
        if r.state.status.is_up() {
            if let Ok(svc) = cx.service(&service_of(r)) {
                let _ = run_hooks(cx, &svc, "pre_stop", &r.id);
            }
        }
        cx.say("Container", &r.name, "Stopping");
    }
    let items: Vec<(String, String)> = up
        .iter()
        .filter(|r| r.state.status.is_up())
        .map(|r| (r.id.clone(), r.name.clone()))
        .collect();
    let mut results = cx.parallel(items, move |e, id| match e.stop(&id, timeout) {
        // Gone while stopping (a `run --rm` container removes itself).
        Err(engine::Error::NoSuchContainer(_)) => Ok(()),
        r => r.map(|_| ()),
    });
    for r in up.iter().filter(|r| !r.state.status.is_up()) {
        results.push((r.name.clone(), Ok(())));
    }
    let mut errors = Vec::new();
    for (name, r) in results {
        match r {
            Ok(()) => cx.say("Container", &name, "Stopped"),
            Err(e) => errors.push(e),
        }
    }
    errors
}

/// Stop `cs` in reverse dependency order: a service's containers stop (at once) after
/// those of every service that depends on it.
pub fn stop_in_order(cx: &mut Ctx, cs: &[Record], timeout: Option<i64>) -> Vec<String> {
    let mut errors = Vec::new();
    for batch in stop_levels(cx, cs) {
        errors.extend(stop_parallel(cx, &batch, timeout));
    }
    errors
}

/// `cs` in batches, in reverse dependency order: a service's containers come after
/// those of every service that depends on it.
fn stop_levels(cx: &Ctx, cs: &[Record]) -> Vec<Vec<Record>> {
    let order = dependency_order(&cx.p.model);
    let services: Vec<String> = order.clone();
    // A service's level: 0 for those nothing depends on, else one more than its
    // dependents' highest.
    let mut level: BTreeMap<String, usize> = BTreeMap::new();
    for s in order.iter().rev() {
        let l = services
            .iter()
            .filter(|d| {
                cx.service(d)
                    .ok()
                    .and_then(|n| n.get("depends_on").and_then(|x| x.get(s)).cloned())
                    .is_some()
            })
            .map(|d| level.get(d).copied().unwrap_or(0) + 1)
            .max()
            .unwrap_or(0);
        level.insert(s.clone(), l);
    }
    let max = level.values().copied().max().unwrap_or(0);
    (0..=max)
        .map(|l| {
            cs.iter()
                .filter(|r| level.get(&service_of(r)).copied().unwrap_or(0) == l)
                .cloned()
                .collect()
        })
        .collect()
}

/// `stop`.
pub fn stop(cx: &mut Ctx, services: &[String], timeout: Option<i64>) -> anyhow::Result<()> {
    let cs = targets(cx, services)?;
    let errors = stop_in_order(cx, &cs, timeout);
    if !errors.is_empty() {
        bail!("{}", errors.join("; "));
    }
    Ok(())
}

/// `down`: containers (one-off ones too), then networks, then volumes (`-v`), images
/// (`--rmi`) and the project's files.
pub fn down(cx: &mut Ctx, d: &DownArgs) -> anyhow::Result<i32> {
    let pname = cx.p.name.clone();
    let known: Vec<String> = cx.services().into_iter().map(|(k, _)| k).collect();
    let all = project_containers(&mut cx.eng, &pname, true)?;
    // `down SERVICE` takes the services that depend on it down too.
    let scope = dependents(&cx.p, &d.services);
    let mut errors: Vec<String> = Vec::new();
    let mut order = dependency_order(&cx.p.model);
    order.reverse();
    let mut cs: Vec<Record> = all
        .into_iter()
        .filter(|r| {
            let s = service_of(r);
            (d.services.is_empty() || scope.contains(&s))
                && (!is_oneoff(r) || d.remove_orphans || cx.p.files.is_empty())
                && (known.is_empty()
                    || known.contains(&s)
                    || d.remove_orphans
                    || cx.p.files.is_empty())
        })
        .collect();
    cs.sort_by_key(|r| {
        order
            .iter()
            .position(|s| *s == service_of(r))
            .unwrap_or(usize::MAX)
    });
    let mut images: BTreeSet<String> = BTreeSet::new();
    // Anything to take down at all (else docker compose's warning).
    let mut acted = !cs.is_empty();
    // Level by level (reverse dependency order), each batch stopped then removed, as
    // docker compose takes a service down before what it depends on.
    for batch in stop_levels(cx, &cs) {
        errors.extend(stop_parallel(cx, &batch, d.timeout));
        for r in &batch {
            cx.say("Container", &r.name, "Removing");
            images.insert(r.config.image.clone());
        }
        let ids: Vec<(String, String)> = batch
            .iter()
            .map(|r| (r.id.clone(), r.name.clone()))
            .collect();
        let removal = move |e: &mut Engine, id: String| match e.remove(&id, true, d.volumes) {
            // Gone already (a `run --rm` container removes itself once stopped).
            Err(engine::Error::NoSuchContainer(_)) => Ok(()),
            r => r.map(|_| ()),
        };
        for (name, res) in cx.parallel(ids, removal) {
            match res {
                Ok(()) => cx.say("Container", &name, "Removed"),
                Err(e) => errors.push(e),
            }
        }
    }
    if d.services.is_empty() {
        // Networks of the project (by label, so a project known only by name goes too),
        // removed at once: each is a bridge and an nftables transaction of its own.
        let mut nets = Vec::new();
        for n in cx.eng.networks()? {
            if n.labels.get(LABEL_PROJECT) == Some(&pname) {
                cx.say("Network", &n.name, "Removing");
                acted = true;
                if cx.eng.network_users(&n)?.is_empty() {
                    nets.push((n.name.clone(), n.name.clone()));
                } else {
                    // docker compose tries, and says why not (not an error).
                    cx.say("Network", &n.name, "Resource is still in use");
                }
            }
        }
        for (name, res) in cx.parallel(nets, |e, n| e.network_remove(&n).map(|_| ())) {
            match res {
                Ok(()) => cx.say("Network", &name, "Removed"),
                Err(e) => errors.push(e),
            }
        }
        if d.volumes {
            for v in cx.eng.volumes()? {
                if v.labels.get(LABEL_PROJECT) == Some(&pname) {
                    cx.say("Volume", &v.name, "Removing");
                    acted = true;
                    match cx.eng.volume_remove(&v.name) {
                        Ok(()) => cx.say("Volume", &v.name, "Removed"),
                        Err(e) => errors.push(e.to_string()),
                    }
                }
            }
        }
        if let Some(mode) = &d.rmi {
            let mut rm: BTreeSet<String> = BTreeSet::new();
            for (n, svc) in cx.services() {
                let has_image = svc.get("image").is_some();
                if mode == "all" || !has_image {
                    rm.insert(image_name(&pname, &n, &svc));
                }
            }
            if mode == "all" {
                rm.extend(images);
            }
            for i in rm {
                if cx.eng.image_resolve(&i).is_err() {
                    continue;
                }
                // Named as docker compose names it: with its tag.
                let last = i.rsplit('/').next().unwrap_or(&i);
                let shown = if last.contains(':') || last.contains('@') {
                    i.clone()
                } else {
                    format!("{i}:latest")
                };
                cx.say("Image", &shown, "Removing");
                acted = true;
                match cx.eng.image_remove(&i, false) {
                    Ok(_) => cx.say("Image", &shown, "Removed"),
                    // Used by another container: docker compose says so, and goes on.
                    Err(engine::Error::Conflict(_)) => {
                        cx.say("Image", &shown, "Resource is still in use");
                    }
                    Err(e) => errors.push(e.to_string()),
                }
            }
        }
        let dir = svcmod::project_dir(&cx.root, &pname);
        if dir.exists() {
            let _ = std::fs::remove_dir_all(&dir);
        }
    }
    if !acted {
        crate::command::warn(&format!(
            "Warning: No resource found to remove for project {pname:?}."
        ));
    }
    if !errors.is_empty() {
        bail!("{}", errors.join("; "));
    }
    Ok(0)
}

/// One project of `ls`.
pub struct ProjectSummary {
    pub name: String,
    pub status: String,
    pub files: String,
}

/// Projects from their containers' labels.
pub fn projects(eng: &mut Engine, all: bool) -> anyhow::Result<Vec<ProjectSummary>> {
    let mut by: BTreeMap<String, (BTreeMap<String, usize>, String)> = BTreeMap::new();
    for r in eng.list()? {
        let Some(p) = r.config.labels.get(LABEL_PROJECT) else {
            continue;
        };
        let e = by.entry(p.clone()).or_default();
        *e.0.entry(r.state.status.as_str().to_string()).or_default() += 1;
        // The union of the files the project's containers were made from.
        for f in r
            .config
            .labels
            .get(svcmod::LABEL_FILES)
            .map(|f| f.split(',').map(str::to_string).collect::<Vec<_>>())
            .unwrap_or_default()
        {
            if !f.is_empty() && !e.1.split(',').any(|x| x == f) {
                if !e.1.is_empty() {
                    e.1.push(',');
                }
                e.1.push_str(&f);
            }
        }
    }
    let mut out = Vec::new();
    for (name, (counts, files)) in by {
        if !all && !counts.contains_key("running") {
            continue;
        }
        // Without -a, docker compose counts the running containers only.
        let status = counts
            .iter()
            .filter(|(s, _)| all || s.as_str() == "running")
            .map(|(s, n)| format!("{s}({n})"))
            .collect::<Vec<_>>()
            .join(", ");
        out.push(ProjectSummary {
            name,
            status,
            files,
        });
    }
    Ok(out)
}

fn ls(
    eng: &mut Engine,
    all: bool,
    format: &str,
    quiet: bool,
    filter: Option<&str>,
) -> anyhow::Result<i32> {
    let mut ps = projects(eng, all)?;
    if let Some(f) = filter {
        let (k, v) = f
            .split_once('=')
            .ok_or_else(|| anyhow!("invalid filter {f:?}"))?;
        if k != "name" {
            bail!("invalid filter {k:?}");
        }
        ps.retain(|p| p.name.contains(v));
    }
    if quiet {
        for p in ps {
            println!("{}", p.name);
        }
        return Ok(0);
    }
    if format == "json" {
        // docker compose's order of the keys.
        let v: Vec<String> = ps
            .iter()
            .map(|p| {
                ordered_json(&[
                    ("Name", serde_json::json!(p.name)),
                    ("Status", serde_json::json!(p.status)),
                    ("ConfigFiles", serde_json::json!(p.files)),
                ])
            })
            .collect();
        println!("[{}]", v.join(","));
        return Ok(0);
    }
    let mut rows = vec![vec![
        "NAME".to_string(),
        "STATUS".to_string(),
        "CONFIG FILES".to_string(),
    ]];
    rows.extend(ps.into_iter().map(|p| vec![p.name, p.status, p.files]));
    print!("{}", crate::variables::pretty_table(&rows));
    Ok(0)
}

/// A JSON object with its keys in the order given (Go's encoding of a struct).
pub fn ordered_json(pairs: &[(&str, serde_json::Value)]) -> String {
    let fields: Vec<String> = pairs
        .iter()
        .map(|(k, v)| format!("{}:{v}", serde_json::Value::from(*k)))
        .collect();
    format!("{{{}}}", fields.join(","))
}

#[cfg(test)]
mod tests {
    use super::ordered_json;

    #[test]
    fn ordered_json_keeps_the_keys_in_order() {
        let s = ordered_json(&[
            ("Name", serde_json::json!("p")),
            ("Status", serde_json::json!("running(1)")),
            ("ConfigFiles", serde_json::json!("/a \"b\"")),
        ]);
        assert_eq!(
            s,
            r#"{"Name":"p","Status":"running(1)","ConfigFiles":"/a \"b\""}"#
        );
    }
}
