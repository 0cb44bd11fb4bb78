//! The last steps of loading (compose-go's `normalize`, `WithProfiles`,
//! `WithServicesEnvironmentResolved`, `CheckConsistency` and
//! `WithoutUnnecessaryResources`): the default network, resource names, implicit
//! dependencies, profiles, each service's environment with its env files read, the
//! references checked, and unused networks, volumes, secrets and configs left out.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use crate::load::{Error, Fs, Options};
use crate::yaml::{Node, Value};

fn s(x: impl Into<String>) -> Node {
    Node::str(x)
}

fn invalid(m: String) -> Error {
    Error(format!("{m}: invalid compose project"))
}

fn names(n: Option<&Node>) -> Vec<String> {
    n.and_then(Node::as_map)
        .map(|m| m.iter().map(|(k, _)| k.clone()).collect())
        .unwrap_or_default()
}

fn ensure_map<'a>(doc: &'a mut Node, key: &str) -> &'a mut Node {
    if doc.get(key).is_none_or(Node::is_null) {
        doc.set(key, Node::map(vec![]));
    }
    // The key was just set.
    doc.get_mut(key).expect("set above")
}

/// Everything after the canonical forms. Returns the model, the disabled services and
/// every profile named.
pub fn project(
    mut doc: Node,
    name: &str,
    env: &BTreeMap<String, String>,
    opts: &Options,
    fs: &dyn Fs,
    _workdir: &Path,
) -> Result<(Node, Vec<String>, Vec<String>), Error> {
    doc.set("name", s(name));
    doc.remove("version");
    ensure_map(&mut doc, "services");

    // Profiles.
    let mut enabled: BTreeSet<String> = opts.profiles.iter().cloned().collect();
    if enabled.is_empty() {
        if let Some(p) = env.get("COMPOSE_PROFILES") {
            enabled.extend(p.split(',').filter(|x| !x.is_empty()).map(str::to_string));
        }
    }
    let mut all_profiles = BTreeSet::new();
    let mut disabled = Vec::new();
    if let Some(m) = doc.get("services").and_then(Node::as_map) {
        for (k, v) in m {
            for p in v
                .get("profiles")
                .and_then(Node::as_seq)
                .into_iter()
                .flatten()
            {
                if let Some(t) = p.scalar_text() {
                    all_profiles.insert(t);
                }
            }
            let named = opts.services.contains(k);
            // `config --profiles` lists the profiles of every service, but (as docker
            // compose) loads the project with the enabled ones: a dependency on a
            // disabled service is still an error.
            if !named && !crate::load::profile_active(v, &enabled) {
                disabled.push(k.clone());
            }
        }
    }
    if let Some(m) = doc.get_mut("services").and_then(Node::as_map_mut) {
        m.retain(|(k, _)| !disabled.contains(k));
    }

    // Services: implicit dependencies, default network, environment.
    let mut uses_default = false;
    let svc_map = ensure_map(&mut doc, "services");
    if let Some(m) = svc_map.as_map_mut() {
        for (sname, svc) in m.iter_mut() {
            // Implicit dependencies (compose-go's order: links, then services whose
            // namespaces are shared, then volumes_from, which does not restart).
            let mut implicit: Vec<(String, bool)> = Vec::new();
            // `--no-normalize`: no implicit dependencies, default network or names.
            let normalize = opts.normalize;
            if let Some(links) = svc
                .get("links")
                .and_then(Node::as_seq)
                .filter(|_| normalize)
            {
                for l in links.iter().filter_map(Node::scalar_text) {
                    let parts: Vec<&str> = l.split(':').collect();
                    let target = if parts.len() == 2 { parts[0] } else { &l };
                    implicit.push((target.to_string(), true));
                }
            }
            for ns in ["network_mode", "ipc", "pid", "uts", "cgroup"] {
                if let Some(x) = svc
                    .get(ns)
                    .and_then(Node::as_str)
                    .filter(|_| normalize)
                    .and_then(|m| m.strip_prefix("service:"))
                {
                    implicit.push((x.to_string(), true));
                }
            }
            if let Some(vf) = svc
                .get("volumes_from")
                .and_then(Node::as_seq)
                .filter(|_| normalize)
            {
                for v in vf.iter().filter_map(Node::scalar_text) {
                    if !v.starts_with("container:") {
                        implicit.push((v.split(':').next().unwrap_or(&v).to_string(), false));
                    }
                }
            }
            for (dep, restart) in implicit {
                if dep == *sname {
                    continue;
                }
                add_implicit_dependency(svc, &dep, restart);
            }
            if normalize && svc.get("pull_policy").and_then(Node::as_str) == Some("if_not_present")
            {
                svc.set("pull_policy", s("missing"));
            }
            if normalize {
                if let Some(Value::Seq(vols)) = svc.get_mut("volumes").map(|v| &mut v.value) {
                    for v in vols.iter_mut() {
                        if let Some(Value::Str(t)) = v.get_mut("target").map(|t| &mut t.value) {
                            *t = clean_path(t);
                        }
                    }
                }
            }
            // A provider service joins no network.
            if normalize && svc.get("network_mode").is_none() && svc.get("provider").is_none() {
                if svc
                    .get("networks")
                    .is_none_or(|n| n.as_map().is_none_or(Vec::is_empty))
                {
                    svc.set(
                        "networks",
                        Node::map(vec![("default".into(), Node::new(Value::Null))]),
                    );
                }
                if svc.get("networks").and_then(|n| n.get("default")).is_some() {
                    uses_default = true;
                }
            }
            if svc.get("command").is_none() {
                svc.set("command", Node::new(Value::Null));
            }
            if svc.get("entrypoint").is_none() {
                svc.set("entrypoint", Node::new(Value::Null));
            }
            if let Some(b) = svc.get_mut("build").filter(|_| normalize) {
                if b.get("dockerfile").is_none() && b.get("dockerfile_inline").is_none() {
                    b.set("dockerfile", s("Dockerfile"));
                }
            }
            resolve_label_files(svc, fs)?;
            if opts.resolve_env {
                let _ = crate::dotenv::take_unset();
                resolve_environment(sname, svc, env, fs)?;
                for v in crate::dotenv::take_unset() {
                    (opts.warn)(&crate::load::unset_warning(&v));
                }
                // compose-go resolves build args when it normalizes (`--no-normalize`
                // keeps `X: null`).
                if normalize {
                    resolve_build_args(svc, env);
                }
            } else {
                // Even unresolved (`--no-env-resolution`, `--hash`), a variable named
                // without a value takes the project's.
                resolve_null_environment(svc, env);
            }
            // Every watch rule carries its (empty) `exec` hook.
            if let Some(Value::Seq(rules)) = svc
                .get_mut("develop")
                .and_then(|d| d.get_mut("watch"))
                .map(|w| &mut w.value)
            {
                for r in rules.iter_mut() {
                    if r.as_map().is_some() && r.get("exec").is_none() {
                        r.set(
                            "exec",
                            Node::map(vec![("command".into(), Node::new(Value::Null))]),
                        );
                    }
                }
            }
            if let Some(d) = svc.get_mut("deploy") {
                if d.get("resources").is_none() {
                    d.set("resources", Node::map(vec![]));
                }
                if d.get("placement").is_none() {
                    d.set("placement", Node::map(vec![]));
                }
            }
        }
    }

    // Networks and volumes: names.
    if uses_default {
        add_default_network(&mut doc);
    }
    for kind in ["networks", "volumes", "secrets", "configs"] {
        if let Some(m) = doc.get_mut(kind).and_then(Node::as_map_mut) {
            for (k, v) in m.iter_mut() {
                if v.is_null() {
                    *v = Node::map(vec![]);
                }
                // compose-go's `IPAMConfig` has no `options`: the schema takes them, the
                // model drops them.
                if kind == "networks" {
                    if let Some(ipam) = v.get_mut("ipam") {
                        ipam.remove("options");
                    }
                }
                if !opts.normalize {
                    if kind == "networks" && v.get("ipam").is_none() {
                        v.set("ipam", Node::map(vec![]));
                    }
                    continue;
                }
                let external = match v.get("external").map(|e| &e.value) {
                    Some(Value::Bool(b)) => *b,
                    Some(Value::Map(_)) => true,
                    _ => false,
                };
                if external {
                    if let Some(Value::Map(e)) = v.get("external").map(|e| &e.value) {
                        // `external: {name: X}` (legacy) names the resource.
                        if let Some(n) = e.iter().find(|(x, _)| x == "name") {
                            let n = n.1.clone();
                            v.set("name", n);
                        }
                    }
                    v.set("external", Node::new(Value::Bool(true)));
                    if v.get("name").is_none() {
                        v.set("name", s(k.clone()));
                    }
                } else if v.get("name").is_none() {
                    v.set("name", s(format!("{name}_{k}")));
                }
                if kind == "networks" {
                    if v.get("ipam").is_none() {
                        v.set("ipam", Node::map(vec![]));
                    }
                    if let Some(l) = v.get("labels").cloned() {
                        v.set("labels", crate::canon::key_values(&l, Some("")));
                    }
                }
                if kind == "volumes" {
                    if let Some(l) = v.get("labels").cloned() {
                        v.set("labels", crate::canon::key_values(&l, Some("")));
                    }
                }
            }
        }
    }

    if opts.consistency {
        check_consistency(&mut doc, &disabled)?;
    }
    prune_unused(&mut doc);
    for kind in ["networks", "volumes", "secrets", "configs", "models"] {
        if doc
            .get(kind)
            .and_then(Node::as_map)
            .is_some_and(Vec::is_empty)
        {
            doc.remove(kind);
        }
    }
    stringify_maps(&mut doc);
    drop_false(&mut doc);
    Ok((doc, disabled, all_profiles.into_iter().collect()))
}

/// Boolean fields compose-go's types declare `omitempty` (not pointers): `false` is not
/// printed. Patterns as in [`crate::load`]'s casts: `*` any key, `[]` any item.
const OMIT_FALSE: &[&str] = &[
    "services.*.oom_kill_disable",
    "services.*.privileged",
    "services.*.read_only",
    "services.*.stdin_open",
    "services.*.tty",
    "services.*.use_api_socket",
    "services.*.healthcheck.disable",
    "services.*.build.no_cache",
    "services.*.build.pull",
    "services.*.build.privileged",
    "services.*.volumes.[].read_only",
    "services.*.volumes.[].bind.create_host_path",
    "services.*.volumes.[].volume.nocopy",
    "services.*.depends_on.*.restart",
    "services.*.post_start.[].privileged",
    "services.*.pre_stop.[].privileged",
    "services.*.develop.watch.[].initial_sync",
    "networks.*.internal",
    "networks.*.attachable",
    "networks.*.external",
    "volumes.*.external",
    "secrets.*.external",
    "configs.*.external",
];

/// Mappings compose-go types as string to string (`Options`, `Mapping`,
/// `map[string]string`): scalar values print as strings (`mtu: 1500` is `"1500"`).
const STRING_MAPS: &[&str] = &[
    "services.*.log_opt",
    "services.*.storage_opt",
    "services.*.logging.options",
    "services.*.networks.*.driver_opts",
    "services.*.volumes.[].volume.labels",
    "services.*.build.additional_contexts",
    "networks.*.driver_opts",
    "networks.*.labels",
    "networks.*.ipam.options",
    "networks.*.ipam.config.[].aux_addresses",
    "volumes.*.driver_opts",
    "volumes.*.labels",
    "secrets.*.driver_opts",
    "secrets.*.labels",
    "configs.*.labels",
];

fn stringify_maps(doc: &mut Node) {
    crate::yaml::visit_mut(doc, &mut |n, path| {
        if !STRING_MAPS
            .iter()
            .any(|p| crate::load::path_matches(path, p))
        {
            return true;
        }
        if let Some(m) = n.as_map_mut() {
            for (_, v) in m.iter_mut() {
                if matches!(v.value, Value::Int(_) | Value::Float(_) | Value::Bool(_)) {
                    if let Some(t) = v.scalar_text() {
                        *v = s(t).at(v.line);
                    }
                }
            }
        }
        false
    });
}

/// Numbers, byte counts and durations compose-go's types declare `omitempty` without
/// a pointer: zero (`cpus: 0`, `mem_limit: 0`, `update_config.delay: 0s`) is not
/// printed.
const OMIT_ZERO: &[&str] = &[
    "services.*.cpu_count",
    "services.*.cpu_percent",
    "services.*.cpu_period",
    "services.*.cpu_quota",
    "services.*.cpu_rt_period",
    "services.*.cpu_rt_runtime",
    "services.*.cpus",
    "services.*.cpu_shares",
    "services.*.mem_limit",
    "services.*.mem_reservation",
    "services.*.memswap_limit",
    "services.*.mem_swappiness",
    "services.*.oom_score_adj",
    "services.*.pids_limit",
    "services.*.shm_size",
    "services.*.build.shm_size",
    "services.*.deploy.update_config.delay",
    "services.*.deploy.update_config.monitor",
    "services.*.deploy.update_config.max_failure_ratio",
    "services.*.deploy.rollback_config.delay",
    "services.*.deploy.rollback_config.monitor",
    "services.*.deploy.rollback_config.max_failure_ratio",
    "services.*.deploy.resources.limits.cpus",
    "services.*.deploy.resources.limits.memory",
    "services.*.deploy.resources.limits.pids",
    "services.*.deploy.resources.reservations.cpus",
    "services.*.deploy.resources.reservations.memory",
    "services.*.deploy.resources.reservations.pids",
];

/// Lists and mappings compose-go's types declare `omitempty` (Go slices and maps): an
/// empty one (`cap_add: []`, `labels: {}`, `healthcheck.test: []`) is not printed.
/// (`command` and `entrypoint` are not among them: `command: []` prints `[]`.)
const OMIT_EMPTY: &[&str] = &[
    "services.*.annotations",
    "services.*.cap_add",
    "services.*.cap_drop",
    "services.*.configs",
    "services.*.device_cgroup_rules",
    "services.*.devices",
    "services.*.dns",
    "services.*.dns_opt",
    "services.*.dns_search",
    "services.*.env_file",
    "services.*.environment",
    "services.*.expose",
    "services.*.external_links",
    "services.*.extra_hosts",
    "services.*.group_add",
    "services.*.labels",
    "services.*.label_file",
    "services.*.links",
    "services.*.networks",
    "services.*.ports",
    "services.*.profiles",
    "services.*.secrets",
    "services.*.security_opt",
    "services.*.storage_opt",
    "services.*.sysctls",
    "services.*.tmpfs",
    "services.*.ulimits",
    "services.*.volumes",
    "services.*.volumes_from",
    "services.*.healthcheck.test",
    "services.*.logging.options",
    "services.*.deploy.labels",
    "services.*.build.args",
    "services.*.build.labels",
    "services.*.build.cache_from",
    "services.*.build.cache_to",
    "services.*.build.tags",
    "services.*.build.platforms",
    "services.*.build.extra_hosts",
    "services.*.develop.watch",
    "services.*.post_start",
    "services.*.pre_stop",
    "services.*.deploy.placement.constraints",
    "services.*.deploy.placement.preferences",
    "services.*.deploy.resources.reservations.devices",
    "networks.*.driver_opts",
    "networks.*.labels",
    "networks.*.ipam.config",
    "volumes.*.driver_opts",
    "volumes.*.labels",
    "secrets.*.driver_opts",
    "secrets.*.labels",
    "configs.*.labels",
];

fn is_empty_collection(v: &Node) -> bool {
    match &v.value {
        Value::Seq(s) => s.is_empty(),
        Value::Map(m) => m.is_empty(),
        _ => false,
    }
}

fn is_zero(v: &Node) -> bool {
    match &v.value {
        Value::Int(0) => true,
        Value::Float(f) => *f == 0.0,
        Value::Str(t) => t == "0" || t == "0s",
        _ => false,
    }
}

fn drop_false(doc: &mut Node) {
    crate::yaml::visit_mut(doc, &mut |n, path| {
        if let Some(m) = n.as_map_mut() {
            let mut child = path.to_vec();
            m.retain(|(k, v)| {
                let list = if matches!(v.value, Value::Bool(false)) {
                    OMIT_FALSE
                } else if is_zero(v) {
                    OMIT_ZERO
                } else if is_empty_collection(v) {
                    OMIT_EMPTY
                } else {
                    return true;
                };
                child.push(k.clone());
                let omit = list.iter().any(|p| crate::load::path_matches(&child, p));
                child.pop();
                !omit
            });
        }
        true
    });
}

/// The project's `default` network, when a service is on it and the files did not
/// declare it.
fn add_default_network(doc: &mut Node) {
    let nets = ensure_map(doc, "networks");
    if nets.get("default").is_none() {
        nets.set("default", Node::map(vec![]));
    }
}

/// An implied dependency (`links`, `volumes_from`, a `service:` namespace): started
/// first, required, unless the service names it already.
fn add_implicit_dependency(svc: &mut Node, dep: &str, restart: bool) {
    if svc.get("depends_on").is_none() {
        svc.set("depends_on", Node::map(vec![]));
    }
    if let Some(d) = svc.get_mut("depends_on") {
        if d.get(dep).is_none() {
            d.set(
                dep,
                Node::map(vec![
                    ("condition".into(), s("service_started")),
                    ("restart".into(), Node::new(Value::Bool(restart))),
                    ("required".into(), Node::new(Value::Bool(true))),
                ]),
            );
        }
    }
}

/// The names of the project volumes a service mounts.
pub fn volume_sources(svc: &Node) -> Vec<String> {
    svc.get("volumes")
        .and_then(Node::as_seq)
        .into_iter()
        .flatten()
        .filter(|v| v.get("type").and_then(Node::as_str) == Some("volume"))
        .filter_map(|v| v.get("source").and_then(Node::scalar_text))
        .collect()
}

/// What `config --no-interpolate` prints: the merged files with compose-go's canonical
/// long forms, paths made absolute and (unless `--no-normalize`) the default network,
/// build defaults, dependencies implied by links and shared namespaces, and resource
/// names. Values stay as written: no profiles, no environment files read, nothing pruned.
pub fn raw_project(mut doc: Node, name: &str, opts: &Options, workdir: &Path) -> Node {
    doc.set("name", s(name));
    doc.remove("version");
    let env = &opts.os_env;
    if let Some(m) = doc.get_mut("services").and_then(Node::as_map_mut) {
        for (_, svc) in m.iter_mut() {
            if svc.is_null() {
                *svc = Node::map(vec![]);
            }
            if opts.resolve_paths {
                crate::load::resolve_service_paths(svc, workdir, env);
            }
            crate::canon::raw_service(svc);
        }
    }
    if opts.resolve_paths {
        crate::load::resolve_paths(&mut doc, workdir, env);
    }
    if !opts.normalize {
        return doc;
    }
    let mut uses_default = false;
    // docker compose resolves the untyped model against no variables: a name without a
    // value stays as it is in `environment` and leaves build args.
    let no_vars: BTreeMap<String, String> = BTreeMap::new();
    if let Some(m) = doc.get_mut("services").and_then(Node::as_map_mut) {
        for (_, svc) in m.iter_mut() {
            if let Some(b) = svc.get_mut("build") {
                if b.get("dockerfile").is_none() && b.get("dockerfile_inline").is_none() {
                    b.set("dockerfile", s("Dockerfile"));
                }
                if let Some(a) = b.get_mut("args") {
                    raw_resolve(a, &no_vars, false);
                }
            }
            if let Some(e) = svc.get_mut("environment") {
                raw_resolve(e, &no_vars, true);
            }
            if svc.get("pull_policy").and_then(Node::as_str) == Some("if_not_present") {
                svc.set("pull_policy", s("missing"));
            }
            // compose-go's `Normalize` cleans every mount target, typed or not.
            if let Some(Value::Seq(vols)) = svc.get_mut("volumes").map(|v| &mut v.value) {
                for v in vols.iter_mut() {
                    if let Some(Value::Str(t)) = v.get_mut("target").map(|t| &mut t.value) {
                        *t = clean_path(t);
                    }
                }
            }
            let mut implicit: Vec<(String, bool)> = Vec::new();
            for l in svc
                .get("links")
                .and_then(Node::as_seq)
                .into_iter()
                .flatten()
                .filter_map(Node::scalar_text)
            {
                let parts: Vec<&str> = l.split(':').collect();
                let target = if parts.len() == 2 { parts[0] } else { &l };
                implicit.push((target.to_string(), true));
            }
            for ns in ["network_mode", "ipc", "pid", "uts", "cgroup"] {
                if let Some(x) = svc
                    .get(ns)
                    .and_then(Node::as_str)
                    .and_then(|m| m.strip_prefix("service:"))
                {
                    implicit.push((x.to_string(), true));
                }
            }
            for v in svc
                .get("volumes_from")
                .and_then(Node::as_seq)
                .into_iter()
                .flatten()
                .filter_map(Node::scalar_text)
            {
                if !v.starts_with("container:") {
                    implicit.push((v.split(':').next().unwrap_or(&v).to_string(), false));
                }
            }
            for (dep, restart) in implicit {
                add_implicit_dependency(svc, &dep, restart);
            }
            if svc.get("network_mode").is_none() {
                let empty = svc
                    .get("networks")
                    .is_none_or(|n| n.as_map().is_none_or(Vec::is_empty));
                if empty {
                    svc.set(
                        "networks",
                        Node::map(vec![("default".into(), Node::new(Value::Null))]),
                    );
                }
                if svc.get("networks").and_then(|n| n.get("default")).is_some() {
                    uses_default = true;
                }
            }
        }
    }
    if uses_default {
        add_default_network(&mut doc);
    }
    for kind in ["networks", "volumes", "secrets", "configs"] {
        if let Some(m) = doc.get_mut(kind).and_then(Node::as_map_mut) {
            for (k, v) in m.iter_mut() {
                if v.is_null() {
                    *v = Node::map(vec![]);
                }
                if v.get("name").is_some() {
                    continue;
                }
                let external = match v.get("external").map(|e| &e.value) {
                    Some(Value::Bool(b)) => *b,
                    Some(Value::Map(_)) => true,
                    _ => false,
                };
                let n = if external {
                    k.clone()
                } else {
                    format!("{name}_{k}")
                };
                v.set("name", s(n));
            }
        }
    }
    doc
}

/// compose-go's `resolve` of the untyped model: a variable named without a value takes
/// the project's; an unknown one is kept (as a name or null) when `keep_empty`, else
/// dropped.
fn raw_resolve(n: &mut Node, env: &BTreeMap<String, String>, keep_empty: bool) {
    match &mut n.value {
        Value::Seq(items) => {
            items.retain_mut(|it| match &it.value {
                Value::Str(t) if !t.contains('=') => match env.get(t) {
                    Some(v) => {
                        *it = s(format!("{t}={v}")).at(it.line);
                        true
                    }
                    None => keep_empty,
                },
                Value::Str(_) => true,
                _ => false,
            });
        }
        Value::Map(m) => {
            m.retain_mut(|(k, v)| {
                if !v.is_null() {
                    return true;
                }
                match env.get(k) {
                    Some(val) => {
                        *v = s(val.clone()).at(v.line);
                        true
                    }
                    None => keep_empty,
                }
            });
        }
        _ => {}
    }
}

/// Go's `path.Clean` (slash paths, relative ones kept relative).
fn clean_path(p: &str) -> String {
    if p.is_empty() {
        return ".".into();
    }
    let cleaned = crate::load::clean(Path::new(p)).display().to_string();
    if p.starts_with('/') || cleaned != "." || p == "." {
        cleaned
    } else {
        ".".into()
    }
}

/// `label_file` read into `labels` (the files' values first, `labels` over them).
fn resolve_label_files(svc: &mut Node, fs: &dyn Fs) -> Result<(), Error> {
    let Some(files) = svc.remove("label_file") else {
        return Ok(());
    };
    let mut merged: Vec<(String, Node)> = Vec::new();
    for f in files.as_seq().into_iter().flatten() {
        let Some(path) = f.scalar_text() else {
            continue;
        };
        let src = fs.read(Path::new(&path)).map_err(|_| {
            Error(format!(
                "failed to load label file {path}: open {path}: no such file or directory"
            ))
        })?;
        let vars = crate::dotenv::parse(&src, &|_: &str| None)
            .map_err(|e| Error(format!("failed to read {path}: {e}")))?;
        for (k, v) in vars {
            match merged.iter_mut().find(|(x, _)| *x == k) {
                Some(slot) => slot.1 = s(v),
                None => merged.push((k, s(v))),
            }
        }
    }
    if let Some(l) = svc.get("labels").and_then(Node::as_map) {
        for (k, v) in l.clone() {
            match merged.iter_mut().find(|(x, _)| *x == k) {
                Some(slot) => slot.1 = v,
                None => merged.push((k, v)),
            }
        }
    }
    if !merged.is_empty() {
        svc.set("labels", Node::map(merged));
    }
    Ok(())
}

/// Build args named without a value take the project's variable, or are left out.
fn resolve_build_args(svc: &mut Node, env: &BTreeMap<String, String>) {
    if let Some(args) = svc
        .get_mut("build")
        .and_then(|b| b.get_mut("args"))
        .and_then(Node::as_map_mut)
    {
        args.retain_mut(|(k, v)| {
            if !v.is_null() {
                return true;
            }
            match env.get(k) {
                Some(val) => {
                    *v = s(val.clone()).at(v.line);
                    true
                }
                None => false,
            }
        });
    }
}

/// `environment` entries without a value set from the project's variables.
fn resolve_null_environment(svc: &mut Node, env: &BTreeMap<String, String>) {
    if let Some(m) = svc.get_mut("environment").and_then(Node::as_map_mut) {
        for (k, v) in m.iter_mut() {
            if v.is_null() {
                if let Some(val) = env.get(k) {
                    *v = s(val.clone()).at(v.line);
                }
            }
        }
    }
}

/// `env_file` read into `environment` (the file's values first, `environment` over
/// them); variables named without a value take the project's.
fn resolve_environment(
    sname: &str,
    svc: &mut Node,
    env: &BTreeMap<String, String>,
    fs: &dyn Fs,
) -> Result<(), Error> {
    let mut merged: Vec<(String, Node)> = Vec::new();
    let mut set = |k: String, v: Node| {
        if let Some(slot) = merged.iter_mut().find(|(x, _)| *x == k) {
            slot.1 = v;
        } else {
            merged.push((k, v));
        }
    };
    if let Some(files) = svc.remove("env_file") {
        for f in files.as_seq().into_iter().flatten() {
            let path = f
                .get("path")
                .and_then(Node::scalar_text)
                .unwrap_or_default();
            let required = !matches!(
                f.get("required").map(|r| &r.value),
                Some(Value::Bool(false))
            );
            let raw = f.get("format").and_then(Node::as_str) == Some("raw");
            let src = match fs.read(Path::new(&path)) {
                Ok(t) => t,
                Err(e) if e.kind() == std::io::ErrorKind::IsADirectory => {
                    return Err(Error(format!(
                        "failed to read {path}: read {path}: is a directory"
                    )))
                }
                Err(_) if !required => continue,
                Err(_) => {
                    return Err(Error(format!(
                        "env file {path} not found: stat {path}: no such file or directory"
                    )))
                }
            };
            let lookup = |k: &str| env.get(k).cloned();
            let vars = if raw {
                crate::dotenv::parse_raw(&src, &lookup)
            } else {
                crate::dotenv::parse(&src, &lookup)
            }
            .map_err(|e| Error(format!("failed to read {path}: {e}")))?;
            for (k, v) in vars {
                set(k, s(v));
            }
        }
    }
    if let Some(e) = svc.get("environment").and_then(Node::as_map) {
        for (k, v) in e.clone() {
            set(k, v);
        }
    }
    for (k, v) in merged.iter_mut() {
        if v.is_null() {
            if let Some(val) = env.get(k) {
                *v = s(val.clone());
            }
        }
    }
    let _ = sname;
    if !merged.is_empty() {
        svc.set("environment", Node::map(merged));
    }
    Ok(())
}

/// compose-go's `checkConsistency`: references to undefined resources, settings that
/// contradict each other, then dependency cycles. `disabled` are the services a profile
/// left out (an optional dependency on one of them is allowed). `scale` is copied to
/// `deploy.replicas` on the way, as compose-go does.
fn check_consistency(doc: &mut Node, disabled: &[String]) -> Result<(), Error> {
    let nets = names(doc.get("networks"));
    let vols = names(doc.get("volumes"));
    let secrets = names(doc.get("secrets"));
    let configs = names(doc.get("configs"));
    let models = names(doc.get("models"));
    let active = names(doc.get("services"));
    let text = |n: Option<&Node>| n.and_then(Node::scalar_text);
    let num = |n: Option<&Node>| -> Option<f64> {
        match n.map(|x| &x.value) {
            Some(Value::Int(i)) => Some(*i as f64),
            Some(Value::Float(f)) => Some(*f),
            Some(Value::Str(t)) => t.parse().ok(),
            _ => None,
        }
    };
    let Some(services) = doc.get_mut("services").and_then(Node::as_map_mut) else {
        return Ok(());
    };
    for (sname, svc) in services.iter_mut() {
        let build = svc.get("build").filter(|b| !b.is_null());
        if build.is_none()
            && text(svc.get("image")).is_none_or(|i| i.is_empty())
            && svc.get("provider").is_none_or(Node::is_null)
        {
            return Err(invalid(format!(
                "service {sname:?} has neither an image nor a build context specified"
            )));
        }
        if let Some(b) = build {
            if text(b.get("dockerfile_inline")).is_some_and(|t| !t.is_empty())
                && b.get("dockerfile").is_some_and(|d| !d.is_null())
            {
                return Err(invalid(format!(
                    "service {sname:?} declares mutualy exclusive dockerfile and dockerfile_inline"
                )));
            }
        }
        if svc.get("network_mode").is_some_and(|n| !n.is_null())
            && svc
                .get("networks")
                .and_then(Node::as_map)
                .is_some_and(|m| !m.is_empty())
        {
            return Err(invalid(format!(
                "service {sname} declares mutually exclusive `network_mode` and `networks`"
            )));
        }
        for n in names(svc.get("networks")) {
            if !nets.contains(&n) {
                return Err(invalid(format!(
                    "service {sname:?} refers to undefined network {n}"
                )));
            }
        }
        if let Some(first) = svc
            .get("healthcheck")
            .and_then(|h| h.get("test"))
            .and_then(Node::as_seq)
            .and_then(|t| t.first())
            .and_then(Node::scalar_text)
        {
            if !matches!(first.as_str(), "CMD" | "CMD-SHELL" | "NONE") {
                return Err(Error(
                    "healthcheck.test must start either by \"CMD\", \"CMD-SHELL\" or \"NONE\""
                        .into(),
                ));
            }
        }
        if let Some(deps) = svc.get("depends_on").and_then(Node::as_map) {
            for (dep, cfg) in deps {
                if active.contains(dep) {
                    continue;
                }
                let required = !matches!(
                    cfg.get("required").map(|r| &r.value),
                    Some(Value::Bool(false))
                );
                if disabled.contains(dep) && !required {
                    continue;
                }
                return Err(invalid(format!(
                    "service {sname:?} depends on undefined service {dep:?}"
                )));
            }
        }
        if let Some(target) = svc
            .get("network_mode")
            .and_then(Node::as_str)
            .and_then(|m| m.strip_prefix("service:"))
        {
            if !active.iter().any(|a| a == target) {
                return Err(Error(format!(
                    "service {target:?} not found for network_mode 'service:{target}'"
                )));
            }
        }
        for v in svc
            .get("volumes")
            .and_then(Node::as_seq)
            .into_iter()
            .flatten()
        {
            if v.get("type").and_then(Node::as_str) == Some("volume") {
                if let Some(src) = v
                    .get("source")
                    .and_then(Node::as_str)
                    .filter(|s| !s.is_empty())
                {
                    if !vols.iter().any(|x| x == src) {
                        return Err(invalid(format!(
                            "service {sname:?} refers to undefined volume {src}"
                        )));
                    }
                }
            }
        }
        let sources = |n: Option<&Node>| -> Vec<String> {
            n.and_then(Node::as_seq)
                .into_iter()
                .flatten()
                .filter_map(|it| it.get("source").and_then(Node::scalar_text))
                .collect()
        };
        for src in sources(svc.get("build").and_then(|b| b.get("secrets"))) {
            if !secrets.contains(&src) {
                return Err(invalid(format!(
                    "service {sname:?} refers to undefined build secret {src}"
                )));
            }
        }
        for src in sources(svc.get("configs")) {
            if !configs.contains(&src) {
                return Err(invalid(format!(
                    "service {sname:?} refers to undefined config {src}"
                )));
            }
        }
        for m in names(svc.get("models")) {
            if !models.contains(&m) {
                return Err(invalid(format!(
                    "service {sname:?} refers to undefined model {m}"
                )));
            }
        }
        for src in sources(svc.get("secrets")) {
            if !secrets.contains(&src) {
                return Err(invalid(format!(
                    "service {sname:?} refers to undefined secret {src}"
                )));
            }
        }
        let scale = num(svc.get("scale"));
        let has_deploy = svc.get("deploy").is_some_and(|d| !d.is_null());
        if let (Some(sc), true) = (scale, has_deploy) {
            if num(svc.get("deploy").and_then(|d| d.get("replicas"))).is_some_and(|r| r != sc) {
                return Err(invalid(format!(
                    "services.{sname}: can't set distinct values on 'scale' and 'deploy.replicas'"
                )));
            }
            if let (Some(d), Some(sc)) = (svc.get_mut("deploy"), svc_scale(scale)) {
                d.set("replicas", sc);
            }
        }
        if scale.is_some_and(|x| x < 0.0) {
            return Err(Error(format!(
                "services.{sname}.scale: must be greater than or equal to 0"
            )));
        }
        let replicas = num(svc.get("deploy").and_then(|d| d.get("replicas")));
        if replicas.is_some_and(|x| x < 0.0) {
            return Err(Error(format!(
                "services.{sname}.deploy.replicas: must be greater than or equal to 0"
            )));
        }
        let res = |part: &str, key: &str| {
            svc.get("deploy")
                .and_then(|d| d.get("resources"))
                .and_then(|r| r.get(part))
                .filter(|l| !l.is_null())
                .map(|l| num(l.get(key)).unwrap_or(0.0))
        };
        for (own, part, key) in [
            ("cpus", "limits", "cpus"),
            ("mem_limit", "limits", "memory"),
            ("mem_reservation", "reservations", "memory"),
            ("pids_limit", "limits", "pids"),
        ] {
            let v = num(svc.get(own)).unwrap_or(0.0);
            if v != 0.0 && res(part, key).is_some_and(|r| r != v) {
                return Err(invalid(format!(
                    "services.{sname}: can't set distinct values on '{own}' and 'deploy.resources.{part}.{key}'"
                )));
            }
        }
        let n = scale.or(replicas).unwrap_or(1.0);
        if n > 1.0 && text(svc.get("container_name")).is_some_and(|c| !c.is_empty()) {
            // compose-go swaps the two arguments of this message.
            let attr = if scale.is_some() {
                "scale"
            } else {
                "deploy.replicas"
            };
            return Err(invalid(format!(
                "services.{attr}: can't set container_name and {sname} as container name must be unique"
            )));
        }
        for w in svc
            .get("develop")
            .and_then(|d| d.get("watch"))
            .and_then(Node::as_seq)
            .into_iter()
            .flatten()
        {
            let action = text(w.get("action")).unwrap_or_default();
            if text(w.get("target")).is_none_or(|t| t.is_empty())
                && action != "rebuild"
                && action != "restart"
            {
                return Err(invalid(format!(
                    "services.{sname}.develop.watch: target is required for non-rebuild actions"
                )));
            }
        }
        let mut mounts: Vec<(String, String)> = Vec::new();
        let tmpfs: Vec<String> = svc
            .get("tmpfs")
            .and_then(Node::as_seq)
            .into_iter()
            .flatten()
            .filter_map(Node::scalar_text)
            .collect();
        let targets: Vec<String> = svc
            .get("volumes")
            .and_then(Node::as_seq)
            .into_iter()
            .flatten()
            .map(|v| text(v.get("target")).unwrap_or_default())
            .collect();
        let entries = tmpfs
            .iter()
            .enumerate()
            .map(|(i, t)| {
                (
                    t.split(':').next().unwrap_or_default().to_string(),
                    format!("services.{sname}.tmpfs[{i}]"),
                )
            })
            .chain(
                targets
                    .iter()
                    .enumerate()
                    .map(|(i, t)| (t.clone(), format!("services.{sname}.volumes[{i}]"))),
            );
        for (path, loc) in entries {
            if let Some((_, p)) = mounts.iter().find(|(m, _)| *m == path) {
                return Err(Error(format!(
                    "{loc}: target {path} already mounted as {p}"
                )));
            }
            mounts.push((path, loc));
        }
    }
    for (name, secret) in doc
        .get("secrets")
        .and_then(Node::as_map)
        .into_iter()
        .flatten()
    {
        let external = matches!(
            secret.get("external").map(|e| &e.value),
            Some(Value::Bool(true))
        );
        if !external
            && text(secret.get("file")).is_none_or(|f| f.is_empty())
            && text(secret.get("environment")).is_none_or(|f| f.is_empty())
        {
            return Err(invalid(format!(
                "secret {name:?} must declare either `file` or `environment`"
            )));
        }
    }
    let services = doc
        .get("services")
        .and_then(Node::as_map)
        .cloned()
        .unwrap_or_default();
    // Cycles in depends_on.
    let graph: BTreeMap<String, Vec<String>> = services
        .iter()
        .map(|(k, v)| (k.clone(), names(v.get("depends_on"))))
        .collect();
    fn visit(
        n: &str,
        g: &BTreeMap<String, Vec<String>>,
        stack: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Result<(), Error> {
        if done.contains(n) {
            return Ok(());
        }
        if let Some(i) = stack.iter().position(|x| x == n) {
            let mut cyc: Vec<String> = stack[i..].to_vec();
            cyc.push(n.to_string());
            return Err(Error(format!(
                "dependency cycle detected: {}",
                cyc.join(" -> ")
            )));
        }
        stack.push(n.to_string());
        for d in g.get(n).into_iter().flatten() {
            visit(d, g, stack, done)?;
        }
        stack.pop();
        done.insert(n.to_string());
        Ok(())
    }
    let mut done = BTreeSet::new();
    for k in graph.keys() {
        visit(k, &graph, &mut Vec::new(), &mut done)?;
    }
    Ok(())
}

fn svc_scale(scale: Option<f64>) -> Option<Node> {
    scale.map(|x| Node::new(Value::Int(x as i64)))
}

/// Networks, volumes, secrets and configs no service uses are left out.
fn prune_unused(doc: &mut Node) {
    let mut nets = BTreeSet::new();
    let mut vols = BTreeSet::new();
    let mut secrets = BTreeSet::new();
    let mut configs = BTreeSet::new();
    for (_, svc) in doc
        .get("services")
        .and_then(Node::as_map)
        .into_iter()
        .flatten()
    {
        nets.extend(names(svc.get("networks")));
        vols.extend(volume_sources(svc));
        for it in svc
            .get("secrets")
            .and_then(Node::as_seq)
            .into_iter()
            .flatten()
        {
            if let Some(src) = it.get("source").and_then(Node::scalar_text) {
                secrets.insert(src);
            }
        }
        for it in svc
            .get("build")
            .and_then(|b| b.get("secrets"))
            .and_then(Node::as_seq)
            .into_iter()
            .flatten()
        {
            if let Some(src) = it.get("source").and_then(Node::scalar_text) {
                secrets.insert(src);
            }
        }
        for it in svc
            .get("configs")
            .and_then(Node::as_seq)
            .into_iter()
            .flatten()
        {
            if let Some(src) = it.get("source").and_then(Node::scalar_text) {
                configs.insert(src);
            }
        }
    }
    for (kind, used) in [
        ("networks", nets),
        ("volumes", vols),
        ("secrets", secrets),
        ("configs", configs),
    ] {
        if let Some(m) = doc.get_mut(kind).and_then(Node::as_map_mut) {
            m.retain(|(k, _)| used.contains(k));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(src: &str) -> Node {
        crate::yaml::parse(src).expect("the YAML parses")
    }

    fn consistency(src: &str, disabled: &[&str]) -> Result<Node, String> {
        let mut d = doc(src);
        let disabled: Vec<String> = disabled.iter().map(|s| s.to_string()).collect();
        check_consistency(&mut d, &disabled).map_err(|e| e.0)?;
        Ok(d)
    }

    #[test]
    fn false_is_left_out_where_go_omits_it() {
        let mut d = doc("services: {app: {privileged: false, tty: false, init: false, volumes: [{type: bind, bind: {create_host_path: false}}], depends_on: {db: {restart: false, required: false}}}}\nnetworks: {n: {external: false}}\n");
        drop_false(&mut d);
        assert_eq!(
            d.to_json().to_string(),
            r#"{"networks":{"n":{}},"services":{"app":{"depends_on":{"db":{"required":false}},"init":false,"volumes":[{"bind":{},"type":"bind"}]}}}"#
        );
    }

    #[test]
    fn zero_numbers_are_left_out_where_go_omits_them() {
        let mut d = doc("services: {app: {cpus: 0, mem_limit: '0', oom_score_adj: 0, healthcheck: {retries: 0, interval: 0s}, deploy: {replicas: 0, update_config: {parallelism: 0, delay: 0s, max_failure_ratio: 0}, resources: {limits: {cpus: 0, pids: 0}}, restart_policy: {delay: 0s}}}}\n");
        drop_false(&mut d);
        assert_eq!(
            d.to_json().to_string(),
            r#"{"services":{"app":{"deploy":{"replicas":0,"resources":{"limits":{}},"restart_policy":{"delay":"0s"},"update_config":{"parallelism":0}},"healthcheck":{"interval":"0s","retries":0}}}}"#
        );
    }

    #[test]
    fn empty_lists_and_maps_are_left_out_where_go_omits_them() {
        let mut d = doc("services: {app: {command: [], cap_add: [], labels: {}, healthcheck: {test: []}, volumes: [{type: volume, target: /v, volume: {}}], develop: {watch: []}, deploy: {placement: {constraints: []}}}}\nnetworks: {n: {labels: {}, ipam: {config: []}}}\n");
        drop_false(&mut d);
        assert_eq!(
            d.to_json().to_string(),
            r#"{"networks":{"n":{"ipam":{}}},"services":{"app":{"command":[],"deploy":{"placement":{}},"develop":{},"healthcheck":{},"volumes":[{"target":"/v","type":"volume","volume":{}}]}}}"#
        );
    }

    #[test]
    fn healthcheck_disable_false_is_left_out() {
        let mut d = doc("services: {app: {healthcheck: {disable: false}}}\n");
        drop_false(&mut d);
        assert_eq!(
            d.to_json().to_string(),
            r#"{"services":{"app":{"healthcheck":{}}}}"#
        );
    }

    #[test]
    fn unresolved_environment_still_takes_project_values() {
        let env: BTreeMap<String, String> = [("A".to_string(), "1".to_string())].into();
        let mut svc = doc("{environment: {A: null, C: null, B: b}, env_file: [{path: e.env}]}");
        resolve_null_environment(&mut svc, &env);
        assert_eq!(
            svc.to_json().to_string(),
            r#"{"env_file":[{"path":"e.env"}],"environment":{"A":"1","B":"b","C":null}}"#
        );
    }

    #[test]
    fn optional_dependency_only_on_a_disabled_service() {
        let src = "services: {app: {image: a, depends_on: {opt: {condition: service_started, required: false}}}}\n";
        assert!(consistency(src, &["opt"]).is_ok());
        assert_eq!(
            consistency(src, &[]).err(),
            Some(
                "service \"app\" depends on undefined service \"opt\": invalid compose project"
                    .into()
            )
        );
    }

    #[test]
    fn image_or_build_is_required() {
        assert_eq!(
            consistency("services: {app: {command: [x]}}\n", &[]).err(),
            Some("service \"app\" has neither an image nor a build context specified: invalid compose project".into())
        );
        assert!(consistency("services: {app: {build: {context: .}}}\n", &[]).is_ok());
    }

    #[test]
    fn scale_and_resources_must_agree() {
        assert_eq!(
            consistency("services: {both: {image: a, scale: 2, deploy: {replicas: 3}}}\n", &[]).err(),
            Some("services.both: can't set distinct values on 'scale' and 'deploy.replicas': invalid compose project".into())
        );
        assert_eq!(
            consistency("services: {app: {image: a, mem_limit: '1073741824', deploy: {resources: {limits: {memory: '1610612736'}}}}}\n", &[]).err(),
            Some("services.app: can't set distinct values on 'mem_limit' and 'deploy.resources.limits.memory': invalid compose project".into())
        );
        // scale is copied to deploy.replicas.
        let d = consistency(
            "services: {app: {image: a, scale: 2, deploy: {labels: {a: b}}}}\n",
            &[],
        )
        .expect("consistent");
        assert_eq!(
            d.get("services")
                .and_then(|s| s.get("app"))
                .and_then(|a| a.get("deploy"))
                .and_then(|x| x.get("replicas"))
                .map(|r| r.value.clone()),
            Some(Value::Int(2))
        );
    }

    #[test]
    fn mounts_must_not_overlap() {
        assert_eq!(
            consistency(
                "services: {app: {image: a, tmpfs: [/x], volumes: [{type: volume, target: /x}]}}\n",
                &[]
            )
            .err(),
            Some(
                "services.app.volumes[0]: target /x already mounted as services.app.tmpfs[0]"
                    .into()
            )
        );
    }

    #[test]
    fn string_maps_print_strings() {
        let mut d = doc("networks: {n: {driver_opts: {mtu: 1500, flag: true}}}\nservices: {app: {logging: {options: {max-file: 3}}, labels: {keep: 1}}}\n");
        stringify_maps(&mut d);
        assert_eq!(
            d.to_json().to_string(),
            r#"{"networks":{"n":{"driver_opts":{"flag":"true","mtu":"1500"}}},"services":{"app":{"labels":{"keep":1},"logging":{"options":{"max-file":"3"}}}}}"#
        );
    }

    #[test]
    fn raw_resolution_of_named_variables() {
        let env: BTreeMap<String, String> = [("SET".to_string(), "v".to_string())].into();
        let mut args = doc("[A=1, SET, UNSET]");
        raw_resolve(&mut args, &env, false);
        assert_eq!(args.to_json().to_string(), r#"["A=1","SET=v"]"#);
        let mut envs = doc("{SET: null, UNSET: null, X: 1}");
        raw_resolve(&mut envs, &env, true);
        assert_eq!(
            envs.to_json().to_string(),
            r#"{"SET":"v","UNSET":null,"X":1}"#
        );
    }

    #[test]
    fn clean_path_is_go_path_clean() {
        assert_eq!(clean_path("/c/../d/"), "/d");
        assert_eq!(clean_path("/e/./f/"), "/e/f");
        assert_eq!(clean_path("a/../.."), "..");
        assert_eq!(clean_path(""), ".");
    }

    struct OneFile(&'static str, &'static str);

    impl Fs for OneFile {
        fn read(&self, p: &Path) -> std::io::Result<String> {
            if p == Path::new(self.0) {
                Ok(self.1.to_string())
            } else {
                Err(std::io::Error::from(std::io::ErrorKind::NotFound))
            }
        }
        fn exists(&self, p: &Path) -> bool {
            p == Path::new(self.0)
        }
    }

    #[test]
    fn label_files_are_read_under_labels() {
        let mut svc = doc("label_file: [/l.txt]\nlabels: {b: override}\n");
        resolve_label_files(&mut svc, &OneFile("/l.txt", "a=1\nb=2\n")).expect("the file is read");
        assert_eq!(
            svc.to_json().to_string(),
            r#"{"labels":{"a":"1","b":"override"}}"#
        );
    }
}
