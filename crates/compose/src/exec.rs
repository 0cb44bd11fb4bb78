//! `exec` in a service's container and `run`, a one-off container of a service.

use std::io::IsTerminal;

use anyhow::{anyhow, bail};
use engine::attach::Ended;
use engine::Record;

use crate::cli::{ExecArgs, RunArgs};
use crate::up::{create_container, number, project_containers, selected, service_of, Ctx};

/// The container of `service` with replica `index` (0: the first one).
pub fn service_container(cx: &mut Ctx, service: &str, index: u32) -> anyhow::Result<Record> {
    let pname = cx.p.name.clone();
    // The service's containers, one-off ones last (docker compose's exec target).
    let mut cs: Vec<Record> = project_containers(&mut cx.eng, &pname, true)?
        .into_iter()
        .filter(|r| service_of(r) == service)
        .collect();
    cs.sort_by_key(|r| {
        r.config
            .labels
            .get(crate::service::LABEL_ONEOFF)
            .is_some_and(|v| v == "True")
    });
    let pick = if index == 0 {
        cs.iter().find(|r| r.state.status.is_up()).or(cs.first())
    } else {
        cs.iter()
            .find(|r| number(r) == index && r.state.status.is_up())
    };
    match pick {
        Some(r) => Ok(r.clone()),
        None if index > 0 => bail!("service {service:?} is not running container #{index}"),
        None => bail!("service {service:?} is not running"),
    }
}

/// `exec`.
pub fn exec(cx: &mut Ctx, a: &ExecArgs) -> anyhow::Result<i32> {
    let r = service_container(cx, &a.service, a.index)?;
    if !r.state.status.is_up() {
        bail!("service {:?} is not running", a.service);
    }
    if r.state.status == engine::config::ContainerStatus::Paused {
        bail!(
            "Error response from daemon: Container {} is paused, unpause the container before exec",
            r.id
        );
    }
    // docker compose: a terminal when its own output is one, unless -T.
    let tty = !a.no_tty && !a.detach && std::io::stdout().is_terminal();
    Ok(cx.eng.exec_reported(
        &r.id,
        engine::exec::ExecRequest {
            cmd: a.command.clone(),
            interactive: !a.detach,
            tty,
            detach: a.detach,
            env: a
                .env
                .iter()
                .map(|e| resolve_env(e))
                .filter(|e| !e.is_empty())
                .collect(),
            workdir: a.workdir.clone(),
            user: a.user.clone(),
            privileged: a.privileged,
        },
    )?)
}

/// `-e NAME` takes the value from this process's environment (left out when unset).
fn resolve_env(e: &str) -> String {
    if e.contains('=') {
        return e.to_string();
    }
    match std::env::var(e) {
        Ok(v) => format!("{e}={v}"),
        Err(_) => String::new(),
    }
}

/// `run`.
pub fn run(cx: &mut Ctx, a: &RunArgs) -> anyhow::Result<i32> {
    let svc = cx.service(&a.service)?;
    // Dependencies first, as `up -d` would start them.
    if !a.no_deps {
        let deps: Vec<String> = selected(&cx.p, std::slice::from_ref(&a.service), false)?
            .into_iter()
            .filter(|s| *s != a.service)
            .collect();
        if !deps.is_empty() {
            let u = crate::cli::UpArgs {
                detach: true,
                no_deps: true,
                services: deps.clone(),
                create: crate::cli::CreateOpts {
                    build: a.build,
                    pull: a.pull.clone(),
                    ..Default::default()
                },
                ..Default::default()
            };
            crate::up::up(cx, &u)?;
        }
        crate::up::wait_for_run(cx, &a.service, &svc)?;
    }
    // The service's own image.
    let image = crate::config_cmd::image_name(&cx.p.name, &a.service, &svc);
    if a.build || (svc.get("build").is_some() && cx.eng.image_resolve(&image).is_err()) {
        crate::up::build_service(
            cx,
            &a.service,
            &svc,
            &Default::default(),
            false,
            false,
            a.quiet_build,
        )?;
    } else if cx.eng.image_resolve(&image).is_err() || a.pull.as_deref() == Some("always") {
        if a.pull.as_deref() == Some("never") {
            bail!("Error response from daemon: No such image: {image}");
        }
        crate::up::pull(cx, &image, a.quiet_pull)?;
    }
    let id = cx
        .eng
        .image_resolve(&image)
        .map_err(|e| anyhow!("{e}"))?
        .to_string();
    let write_pull_network = |cx: &mut Ctx| -> anyhow::Result<()> {
        let names = vec![a.service.clone()];
        crate::up::ensure_resources(cx, &names)
    };
    write_pull_network(cx)?;
    if a.quiet {
        cx.quiet = true;
    }
    // A terminal when both ends are one (or -t), unless -T or -d.
    let tty = !a.no_tty
        && !a.detach
        && (a.tty || (std::io::stdin().is_terminal() && std::io::stdout().is_terminal()));
    let mut svc2 = svc.clone();
    if !a.service_ports {
        svc2.remove("ports");
    }
    let slug = engine::random_id()?;
    let name = match &a.name {
        Some(n) => n.clone(),
        None => format!("{}-{}-run-{}", cx.p.name, a.service, &slug[..12]),
    };
    let mut from_files: Vec<String> = Vec::new();
    for f in &a.env_from_file {
        let src =
            std::fs::read_to_string(f).map_err(|e| anyhow!("env file {}: {e}", f.display()))?;
        let vars = crate::dotenv::parse_raw(&src, &|k: &str| std::env::var(k).ok())
            .map_err(|e| anyhow!("env file {}: {e}", f.display()))?;
        from_files.extend(vars.into_iter().map(|(k, v)| format!("{k}={v}")));
    }
    let mut publish = Vec::new();
    for p in &a.publish {
        publish.extend(net::ports::parse(p).map_err(|e| anyhow!("invalid publish {p:?}: {e}"))?);
    }
    let entrypoint = a
        .entrypoint
        .as_ref()
        .map(|e| crate::canon::split_command(e).map_err(|x| anyhow!(x)))
        .transpose()?;
    // docker compose shows no progress for the one-off container itself.
    let quiet = std::mem::replace(&mut cx.quiet, true);
    let rec = create_container(cx, &a.service, &svc2, 0, true, &id, |req| {
        req.name = Some(name.clone());
        if !a.command.is_empty() {
            req.cmd = a.command.clone();
        }
        if let Some(e) = entrypoint {
            req.entrypoint = Some(e);
            // docker compose: a new entrypoint drops the service's command.
            if a.command.is_empty() {
                req.cmd.clear();
            }
        }
        // One-off containers carry no replica number, and a slug.
        req.config.labels.remove(crate::service::LABEL_NUMBER);
        req.config
            .labels
            .insert("com.docker.compose.slug".into(), slug.clone());
        for e in from_files.iter().chain(a.env.iter()) {
            let e = resolve_env(e);
            if let Some((k, _)) = e.split_once('=') {
                req.config
                    .env
                    .retain(|x| x.split_once('=').map(|y| y.0) != Some(k));
            }
            if !e.is_empty() {
                req.config.env.push(e);
            }
        }
        for l in &a.label {
            let (k, v) = l.split_once('=').unwrap_or((l.as_str(), ""));
            req.config.labels.insert(k.to_string(), v.to_string());
        }
        req.config.ports.extend(publish);
        req.volumes.extend(a.volume.iter().cloned());
        if let Some(u) = &a.user {
            req.user = Some(u.clone());
        }
        if let Some(w) = &a.workdir {
            req.workdir = Some(w.clone());
        }
        req.config.cap_add.extend(a.cap_add.iter().cloned());
        req.config.cap_drop.extend(a.cap_drop.iter().cloned());
        req.config.tty = tty;
        req.config.open_stdin = a.interactive;
        req.config.stdin_once = req.config.open_stdin;
        req.config.auto_remove = a.rm && a.detach;
        // A one-off container does not restart.
        req.config.restart = engine::config::RestartPolicy::default();
        if !a.use_aliases {
            req.config.aliases.clear();
        }
    });
    cx.quiet = quiet;
    let rec = rec?;
    if a.detach {
        cx.eng
            .start(&rec.id, "")
            .map_err(|e| anyhow!("Error response from daemon: {e}"))?;
        println!("{}", rec.id);
        return Ok(0);
    }
    let stdin = a.interactive;
    let streams = if stdin { "ioe" } else { "oe" };
    let (rec, stream) = cx
        .eng
        .start(&rec.id, streams)
        .map_err(|e| anyhow!("Error response from daemon: {e}"))?;
    let forward = cx.eng.signaller(&rec.id);
    let ended = engine::attach::client_loop(
        stream,
        stdin,
        tty,
        engine::attach::DEFAULT_DETACH_KEYS,
        forward,
    )?;
    let code = match ended {
        Ended::Exited(c) => Ok(c),
        Ended::Detached => return Ok(0),
        Ended::Closed => Ok(cx
            .eng
            .get(&rec.id)
            .map(|r| r.state.exit_code)
            .unwrap_or(255)),
        Ended::Failed { code: _, message } => Err(anyhow!("{message}")),
    };
    // --rm: removed however the run ended (its anonymous volumes too, as docker's
    // AutoRemove does).
    if a.rm {
        let _ = cx.eng.remove(&rec.id, true, true);
    }
    if code.as_ref().is_ok_and(|c| *c != 0) {
        // The exit status reaches docker's CLI as a status error with no message: a
        // blank line.
        eprintln!();
    }
    code
}
