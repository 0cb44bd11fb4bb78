//! `quai compose`: the commands that show or reach into a service's containers (`ps`,
//! `images`, `top`, `port`, `cp`, `export`, `commit`, `stats`, `attach`, `volumes`) are
//! the container commands of this CLI applied to the project's containers; the rest
//! (loading, `up`, `down`, ...) is the compose library's.

use std::path::Path;

use anyhow::bail;
use compose::cli::{ComposeArgs, ComposeCmd, PsArgs};
use compose::up::{project_containers, service_of, Ctx};
use engine::lifecycle::Engine;
use engine::Record;
use serde_json::{json, Value};

use crate::format;

/// Run `quai compose ...`. docker compose prints its errors bare (no `Error: `), and
/// exits 1.
pub fn compose(a: ComposeArgs, root: &Path, run_dir: &Path) -> anyhow::Result<i32> {
    match compose_inner(a, root, run_dir) {
        Err(e) if e.downcast_ref::<crate::containers::Status>().is_none() => {
            eprintln!("{}", format!("{e:#}").replace('\n', " "));
            Ok(1)
        }
        r => r,
    }
}

fn compose_inner(a: ComposeArgs, root: &Path, run_dir: &Path) -> anyhow::Result<i32> {
    let shown = matches!(
        a.cmd,
        ComposeCmd::Ps(_)
            | ComposeCmd::Images { .. }
            | ComposeCmd::Top { .. }
            | ComposeCmd::Port { .. }
            | ComposeCmd::Cp { .. }
            | ComposeCmd::Export { .. }
            | ComposeCmd::Commit { .. }
            | ComposeCmd::Stats { .. }
            | ComposeCmd::Attach { .. }
            | ComposeCmd::Volumes { .. }
    );
    if !shown {
        return compose::command::main(a, root, run_dir);
    }
    let o = compose::command::options(&a)?;
    let p = compose::up::project_for(&a, &o)?;
    let eng = Engine::open(root, run_dir)?;
    let mut cx = Ctx {
        p,
        eng,
        root: root.to_path_buf(),
        run_dir: run_dir.to_path_buf(),
        quiet: false,
        ansi: a.ansi.clone(),
        parallel: a.parallel,
    };
    match a.cmd {
        ComposeCmd::Ps(ps) => ps_cmd(&mut cx, &ps),
        ComposeCmd::Images {
            format,
            quiet,
            services,
        } => images(&mut cx, &format, quiet, &services),
        ComposeCmd::Top { services } => {
            // One table, as docker compose prints it: the service and the container's
            // number first, then ps's columns.
            let cs = compose::up::targets(&mut cx, &services)?;
            let mut header: Vec<String> = vec!["SERVICE".into(), "#".into()];
            let mut rows: Vec<Vec<String>> = Vec::new();
            for r in cs.iter().filter(|r| r.state.status.is_up()) {
                let t = cx.eng.top(&r.id, &[]).map_err(|e| anyhow::anyhow!("{e}"))?;
                if header.len() == 2 {
                    header.extend(t.titles.iter().cloned());
                }
                for p in t.processes {
                    let mut row = vec![service_of(r), compose::up::number(r).to_string()];
                    row.extend(p);
                    rows.push(row);
                }
            }
            if !rows.is_empty() {
                print!("{}", tabwrite(&header, &rows, 4, 2));
            }
            Ok(0)
        }
        ComposeCmd::Port {
            index,
            protocol,
            service,
            private_port,
        } => {
            let r = compose::exec::service_container(&mut cx, &service, index)?;
            if !r.state.status.is_up() {
                bail!("service {service:?} is not running");
            }
            let protocol = protocol.to_ascii_lowercase();
            let port: u16 = private_port
                .parse()
                .map_err(|_| anyhow::anyhow!("invalid port {private_port:?}"))?;
            for b in &r.state.ports {
                if b.container_port == port && b.proto.to_string() == protocol {
                    println!(
                        "{}:{}",
                        b.host_ip.unwrap_or(std::net::Ipv4Addr::UNSPECIFIED),
                        b.host_port
                    );
                    return Ok(0);
                }
            }
            // What is published, as docker compose lists it: the host ports, in the
            // order of the container ports.
            let mut ports: Vec<_> = r.state.ports.iter().collect();
            ports.sort_by_key(|b| (b.container_port, b.proto.to_string()));
            let have: Vec<String> = ports
                .iter()
                .map(|b| format!("{}/{}", b.host_port, b.proto))
                .collect();
            bail!(
                "no port {private_port}/{protocol} for container {}: {}",
                r.name,
                have.join(", ")
            )
        }
        ComposeCmd::Cp {
            index, src, dst, ..
        } => {
            // SERVICE:PATH on either side names the service's container.
            let map = |s: &str, cx: &mut Ctx| -> anyhow::Result<String> {
                match s.split_once(':') {
                    Some((svc, path)) if !svc.contains('/') && !svc.is_empty() => {
                        let r = compose::exec::service_container(cx, svc, index)?;
                        Ok(format!("{}:{path}", r.id))
                    }
                    _ => Ok(s.to_string()),
                }
            };
            let s = map(&src, &mut cx)?;
            let d = map(&dst, &mut cx)?;
            crate::container_io::cp(&mut cx.eng, &s, &d)
        }
        ComposeCmd::Export {
            index,
            output,
            service,
        } => {
            let r = compose::exec::service_container(&mut cx, &service, index)?;
            let out = output.map(|o| o.display().to_string());
            crate::container_io::export(&mut cx.eng, out.as_deref(), &r.id)
        }
        ComposeCmd::Commit {
            author,
            change,
            index,
            message,
            pause,
            service,
            repository,
        } => {
            let r = compose::exec::service_container(&mut cx, &service, index)?;
            crate::container_io::commit(
                &mut cx.eng,
                crate::container_io::CommitArgs {
                    author,
                    change,
                    message,
                    pause,
                    container: r.id,
                    reference: repository,
                },
            )
        }
        ComposeCmd::Stats {
            all,
            format,
            no_stream,
            no_trunc,
            service,
        } => {
            let services: Vec<String> = service.into_iter().collect();
            let cs = compose::up::targets(&mut cx, &services)?;
            let ids: Vec<String> = cs
                .iter()
                .filter(|r| all || r.state.status.is_up())
                .map(|r| r.id.clone())
                .collect();
            if ids.is_empty() {
                return Ok(0);
            }
            crate::container_io::stats(
                &mut cx.eng,
                no_stream,
                all,
                &ids,
                format.as_deref(),
                no_trunc,
            )
        }
        ComposeCmd::Attach {
            detach_keys,
            index,
            no_stdin,
            sig_proxy,
            service,
        } => {
            let r = compose::exec::service_container(&mut cx, &service, index)?;
            crate::containers::attach(
                &mut cx.eng,
                &r.id,
                no_stdin,
                detach_keys.as_deref(),
                sig_proxy,
            )
        }
        ComposeCmd::Volumes {
            format,
            quiet,
            services,
        } => volumes(&mut cx, format.as_deref(), quiet, &services),
        _ => Ok(0),
    }
}

fn status_filter(r: &Record, statuses: &[String]) -> bool {
    statuses.is_empty() || statuses.iter().any(|s| s == r.state.status.as_str())
}

/// `ps`.
fn ps_cmd(cx: &mut Ctx, a: &PsArgs) -> anyhow::Result<i32> {
    let pname = cx.p.name.clone();
    let known: Vec<String> = cx.services().into_iter().map(|(k, _)| k).collect();
    let mut statuses = a.status.clone();
    if let Some(f) = &a.filter {
        match f.split_once('=') {
            Some(("status", v)) => statuses.push(v.to_string()),
            Some((k, _)) => bail!("unknown filter {k}"),
            None => bail!("arguments to --filter should be in form KEY=VAL"),
        }
    }
    for n in &a.names {
        if !known.is_empty() && !known.contains(n) {
            bail!("no such service: {n}");
        }
    }
    let oneoff = |r: &Record| {
        r.config
            .labels
            .get(compose::service::LABEL_ONEOFF)
            .map(String::as_str)
            == Some("True")
    };
    let mut cs: Vec<Record> = project_containers(&mut cx.eng, &pname, true)?
        .into_iter()
        // One-off containers only with -a or a status filter (docker compose's).
        .filter(|r| !oneoff(r) || a.all || !statuses.is_empty())
        .filter(|r| a.all || r.state.status.is_up() || !statuses.is_empty())
        .filter(|r| a.names.is_empty() || a.names.contains(&service_of(r)))
        .filter(|r| a.orphans || known.is_empty() || known.contains(&service_of(r)))
        .filter(|r| status_filter(r, &statuses))
        .collect();
    cs.sort_by(|x, y| x.name.cmp(&y.name));
    if a.services {
        let mut seen = Vec::new();
        for r in &cs {
            let s = service_of(r);
            if !seen.contains(&s) {
                println!("{s}");
                seen.push(s);
            }
        }
        return Ok(0);
    }
    if a.quiet {
        for r in &cs {
            // Full ids, as docker compose prints them.
            println!("{}", r.id);
        }
        return Ok(0);
    }
    let rows: Vec<Value> = cs.iter().map(|r| row(r, a.no_trunc)).collect();
    match a.format.as_deref() {
        Some("json") => {
            for r in &rows {
                println!("{r}");
            }
        }
        None | Some("table") => {
            let header = [
                "NAME", "IMAGE", "COMMAND", "SERVICE", "CREATED", "STATUS", "PORTS",
            ];
            let keys = [
                "Name",
                "Image",
                "Command",
                "Service",
                "RunningFor",
                "Status",
                "Ports",
            ];
            let cells: Vec<Vec<String>> = rows
                .iter()
                .map(|r| {
                    keys.iter()
                        .map(|k| r[*k].as_str().unwrap_or_default().to_string())
                        .collect()
                })
                .collect();
            // docker/cli's container table: cells at least 10 wide, padding 3, a row's
            // last cells kept as Go's tabwriter leaves them (blanks after STATUS when
            // there are no ports).
            let header: Vec<String> = header.iter().map(|h| h.to_string()).collect();
            print!("{}", tabwrite(&header, &cells, 10, 3));
        }
        Some(t) => {
            if t.starts_with("table") {
                let headers: &[(&str, &str)] = &[
                    ("Name", "NAME"),
                    ("Image", "IMAGE"),
                    ("Command", "COMMAND"),
                    ("Service", "SERVICE"),
                    ("RunningFor", "CREATED"),
                    ("Status", "STATUS"),
                    ("Ports", "PORTS"),
                    ("ID", "CONTAINER ID"),
                    ("State", "STATE"),
                    ("Health", "HEALTH"),
                    ("ExitCode", "EXIT CODE"),
                ];
                let rest = t.strip_prefix("table").unwrap_or(t).trim_start();
                println!(
                    "{}",
                    crate::template::render_table(rest, &rows, headers)
                        .map_err(anyhow::Error::msg)?
                );
            } else {
                for r in &rows {
                    println!(
                        "{}",
                        crate::template::render(t, r).map_err(anyhow::Error::msg)?
                    );
                }
            }
        }
    }
    Ok(0)
}

fn row(r: &Record, no_trunc: bool) -> Value {
    let cmd = crate::containers::command_column(r, no_trunc);
    let health = r
        .state
        .health
        .as_ref()
        .map(|h| h.status.clone())
        .unwrap_or_default();
    let publishers: Vec<Value> = r
        .state
        .ports
        .iter()
        .map(|p| {
            json!({
                "URL": p.host_ip.unwrap_or(std::net::Ipv4Addr::UNSPECIFIED).to_string(),
                "TargetPort": p.container_port,
                "PublishedPort": p.host_port,
                "Protocol": p.proto.to_string(),
            })
        })
        .collect();
    let labels = crate::containers::labels_text(r);
    json!({
        "Command": cmd,
        "CreatedAt": engine::time::parse_rfc3339(&r.created).map(engine::time::go_string_secs).unwrap_or_default(),
        "ExitCode": r.state.exit_code,
        "Health": health,
        "ID": if no_trunc { r.id.clone() } else { r.id[..12].to_string() },
        "Image": r.config.image,
        "Labels": labels,
        "LocalVolumes": r.config.mounts.iter().filter(|m| m.kind == engine::config::MountKind::Volume).count().to_string(),
        "Mounts": r.config.mounts.iter().map(|m| m.source.clone()).collect::<Vec<_>>().join(","),
        "Name": r.name,
        "Names": r.name,
        "Networks": r.config.network_mode.to_string(),
        "Ports": crate::containers::displayable_ports(r),
        "Project": r.config.labels.get(compose::service::LABEL_PROJECT).cloned().unwrap_or_default(),
        "Publishers": publishers,
        "RunningFor": format::ago(&r.created),
        "Service": service_of(r),
        "Size": "0B",
        "State": r.state.status.as_str(),
        "Status": engine::docker::status_text(r),
    })
}

/// `images`.
fn images(cx: &mut Ctx, fmt: &str, quiet: bool, services: &[String]) -> anyhow::Result<i32> {
    let cs = compose::up::targets(cx, services)?;
    let list = cx.eng.image_list()?;
    let mut rows: Vec<Vec<String>> = Vec::new();
    let mut json_rows: Vec<String> = Vec::new();
    let mut printed: Vec<String> = Vec::new();
    for r in &cs {
        let id = r.config.image_id.clone();
        let img = list.iter().find(|i| i.id.to_string() == id);
        let (repo, tag) = match r.config.image.rsplit_once(':') {
            Some((a, b)) if !b.contains('/') => (a.to_string(), b.to_string()),
            _ => (r.config.image.clone(), "latest".to_string()),
        };
        let bare = id.strip_prefix("sha256:").unwrap_or(&id);
        let short = &bare[..bare.len().min(12)];
        if quiet {
            // Full ids, once each.
            if !printed.contains(&bare.to_string()) {
                println!("{bare}");
                printed.push(bare.to_string());
            }
            continue;
        }
        let size = img.map_or(0, |i| i.size);
        json_rows.push(compose::up::ordered_json(&[
            ("ID", json!(id)),
            ("ContainerName", json!(r.name)),
            ("Repository", json!(repo)),
            ("Tag", json!(tag)),
            ("Platform", json!("linux/amd64")),
            ("Size", json!(size)),
            ("LastTagTime", json!("0001-01-01T00:00:00Z")),
        ]));
        rows.push(vec![
            r.name.clone(),
            repo,
            tag,
            "linux/amd64".into(),
            short.to_string(),
            format::human_size(size),
            img.map(|i| format::ago(&i.created)).unwrap_or_default(),
        ]);
    }
    if quiet {
        return Ok(0);
    }
    if fmt == "json" {
        // docker compose's order of the keys, and a blank line after.
        println!("[{}]\n", json_rows.join(","));
        return Ok(0);
    }
    // docker compose's pretty tables: cells at least 20 wide.
    format::table_min(
        &[
            "CONTAINER",
            "REPOSITORY",
            "TAG",
            "PLATFORM",
            "IMAGE ID",
            "SIZE",
            "CREATED",
        ],
        &rows,
        20,
    );
    Ok(0)
}

/// `volumes`.
fn volumes(
    cx: &mut Ctx,
    fmt: Option<&str>,
    quiet: bool,
    services: &[String],
) -> anyhow::Result<i32> {
    let pname = cx.p.name.clone();
    let mut names: Vec<String> = Vec::new();
    for v in cx.eng.volumes()? {
        if v.labels.get(compose::service::LABEL_PROJECT) != Some(&pname) {
            continue;
        }
        if !services.is_empty() {
            let used = cx.eng.volume_users(&v.name)?;
            let ok = project_containers(&mut cx.eng, &pname, false)?
                .iter()
                .any(|r| services.contains(&service_of(r)) && used.contains(&r.id));
            if !ok {
                continue;
            }
        }
        names.push(v.name.clone());
    }
    if quiet {
        for n in names {
            println!("{n}");
        }
        return Ok(0);
    }
    let rows: Vec<Vec<String>> = names
        .iter()
        .map(|n| vec!["local".to_string(), n.clone()])
        .collect();
    match fmt {
        Some("json") => {
            for n in &names {
                println!("{}", json!({"Driver": "local", "Name": n}));
            }
        }
        _ => format::table(&["DRIVER", "VOLUME NAME"], &rows),
    }
    Ok(0)
}

/// Rows as Go's tabwriter lays them out (cells padded to the column's widest plus
/// `padding`, at least `min`; the last cell as it is).
fn tabwrite(header: &[String], rows: &[Vec<String>], min: usize, padding: usize) -> String {
    let mut w: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for r in rows {
        for (i, c) in r.iter().enumerate() {
            if i < w.len() {
                w[i] = w[i].max(c.chars().count());
            }
        }
    }
    let mut out = String::new();
    for cells in std::iter::once(header).chain(rows.iter().map(Vec::as_slice)) {
        let n = cells.len();
        for (i, c) in cells.iter().enumerate() {
            if i + 1 == n {
                out.push_str(c);
            } else {
                let width = (w.get(i).copied().unwrap_or(0) + padding).max(min);
                out.push_str(&format!("{c:<width$}"));
            }
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::tabwrite;

    #[test]
    fn top_table_is_laid_out_as_docker_compose_does() {
        let h: Vec<String> = ["SERVICE", "#", "UID", "CMD"].map(String::from).to_vec();
        let rows = vec![["api", "1", "root", "sleep 1"].map(String::from).to_vec()];
        assert_eq!(
            tabwrite(&h, &rows, 4, 2),
            "SERVICE  #   UID   CMD\napi      1   root  sleep 1\n"
        );
    }
}
