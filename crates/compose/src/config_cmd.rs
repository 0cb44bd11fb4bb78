//! `quai compose config`: the loaded model, or lists drawn from it.

use std::collections::BTreeSet;
use std::io::Write;

use sha2::Digest;

use crate::cli::ConfigArgs;
use crate::load::Project;
use crate::yaml::{Node, Value};

/// A service's configuration hash (docker compose's `ServiceHash`: the service as
/// compact JSON without what does not need a new container: build, pull policy, scale,
/// replicas, dependencies, profiles). `config --hash` loads the project without
/// resolving environments: env files count by their paths, not their contents.
pub fn service_hash(svc: &Node) -> String {
    let mut s = svc.clone();
    for k in ["build", "pull_policy", "scale", "depends_on", "profiles"] {
        s.remove(k);
    }
    if let Some(d) = s.get_mut("deploy") {
        d.remove("replicas");
    }
    // Go marshals a required env file as its path, others as `{path, required}`.
    if let Some(Value::Seq(files)) = s.get_mut("env_file").map(|e| &mut e.value) {
        for f in files.iter_mut() {
            let required = !matches!(
                f.get("required").map(|r| &r.value),
                Some(Value::Bool(false))
            );
            if let (Some(p), true, None) = (f.get("path").cloned(), required, f.get("format")) {
                *f = p;
            }
        }
    }
    strip_extensions(&mut s);
    crate::emit::go_json_names(&mut s);
    let text = crate::emit::compact_service(&s);
    hex::encode(sha2::Sha256::digest(text.as_bytes()))
}

/// JSON leaves out `x-` keys below the top level.
pub fn strip_extensions(n: &mut Node) {
    match &mut n.value {
        Value::Map(m) => {
            m.retain(|(k, _)| !k.starts_with("x-"));
            for (_, v) in m.iter_mut() {
                strip_extensions(v);
            }
        }
        Value::Seq(items) => {
            for v in items.iter_mut() {
                strip_extensions(v);
            }
        }
        _ => {}
    }
}

/// `$` written as `$$`, so the output loads again to the same model.
pub fn escape_dollars(n: &mut Node) {
    match &mut n.value {
        Value::Str(s) if s.contains('$') => *s = s.replace('$', "$$"),
        Value::Map(m) => {
            for (k, v) in m.iter_mut() {
                if k.contains('$') {
                    *k = k.replace('$', "$$");
                }
                escape_dollars(v);
            }
        }
        Value::Seq(items) => {
            for v in items.iter_mut() {
                escape_dollars(v);
            }
        }
        _ => {}
    }
}

/// Services in dependency order (dependencies first), each after the ones it needs.
pub fn dependency_order(model: &Node) -> Vec<String> {
    let Some(m) = model.get("services").and_then(Node::as_map) else {
        return Vec::new();
    };
    let mut out: Vec<String> = Vec::new();
    fn visit(n: &str, model: &Node, out: &mut Vec<String>, seen: &mut BTreeSet<String>) {
        if !seen.insert(n.to_string()) {
            return;
        }
        if let Some(deps) = model
            .get("services")
            .and_then(|s| s.get(n))
            .and_then(|s| s.get("depends_on"))
            .and_then(Node::as_map)
        {
            for (d, _) in deps {
                visit(d, model, out, seen);
            }
        }
        if model.get("services").and_then(|s| s.get(n)).is_some() {
            out.push(n.to_string());
        }
    }
    let mut seen = BTreeSet::new();
    for (k, _) in m {
        visit(k, model, &mut out, &mut seen);
    }
    out
}

/// The image a service runs: `image`, else `PROJECT-SERVICE` for a build.
pub fn image_name(project: &str, name: &str, svc: &Node) -> String {
    svc.get("image")
        .and_then(Node::scalar_text)
        .unwrap_or_else(|| format!("{project}-{name}"))
}

/// Keep only `names` and what they depend on.
pub fn select(model: &mut Node, names: &[String]) {
    if names.is_empty() {
        return;
    }
    let mut keep: BTreeSet<String> = BTreeSet::new();
    let mut todo: Vec<String> = names.to_vec();
    while let Some(n) = todo.pop() {
        if !keep.insert(n.clone()) {
            continue;
        }
        if let Some(deps) = model
            .get("services")
            .and_then(|s| s.get(&n))
            .and_then(|s| s.get("depends_on"))
            .and_then(Node::as_map)
        {
            todo.extend(deps.iter().map(|(d, _)| d.clone()));
        }
    }
    if let Some(m) = model.get_mut("services").and_then(Node::as_map_mut) {
        m.retain(|(k, _)| keep.contains(k));
    }
}

/// Run `config`.
pub fn run(p: &Project, a: &ConfigArgs, raw: Option<Node>) -> anyhow::Result<i32> {
    let mut out = String::new();
    let model = &p.model;
    if a.services {
        for s in dependency_order(model) {
            out.push_str(&s);
            out.push('\n');
        }
    } else if a.volumes {
        for v in model
            .get("volumes")
            .and_then(Node::as_map)
            .into_iter()
            .flatten()
        {
            out.push_str(&v.0);
            out.push('\n');
        }
    } else if a.networks {
        for v in model
            .get("networks")
            .and_then(Node::as_map)
            .into_iter()
            .flatten()
        {
            out.push_str(&v.0);
            out.push('\n');
        }
    } else if a.models {
        for v in model
            .get("models")
            .and_then(Node::as_map)
            .into_iter()
            .flatten()
        {
            out.push_str(&v.0);
            out.push('\n');
        }
    } else if a.profiles {
        for pr in &p.all_profiles {
            out.push_str(pr);
            out.push('\n');
        }
    } else if a.images {
        for (k, v) in model
            .get("services")
            .and_then(Node::as_map)
            .into_iter()
            .flatten()
        {
            out.push_str(&image_name(&p.name, k, v));
            out.push('\n');
        }
    } else if let Some(h) = &a.hash {
        let want: Vec<&str> = h.split(',').map(str::trim).collect();
        for w in want.iter().filter(|w| **w != "*") {
            let present = model.get("services").and_then(|s| s.get(w)).is_some();
            if !present {
                let why = if p.disabled.iter().any(|d| d == w) {
                    "disabled"
                } else {
                    "not found"
                };
                eprintln!("no such service: {w}: {why}");
                return Ok(1);
            }
        }
        let mut rows: Vec<(String, String)> = Vec::new();
        for (k, v) in model
            .get("services")
            .and_then(Node::as_map)
            .into_iter()
            .flatten()
        {
            if want.contains(&"*") || want.contains(&k.as_str()) {
                rows.push((k.clone(), service_hash(v)));
            }
        }
        rows.sort();
        for (k, h) in rows {
            out.push_str(&format!("{k} {h}\n"));
        }
    } else if a.environment {
        for (k, v) in &p.env {
            out.push_str(&format!("{k}={v}\n"));
        }
    } else if a.quiet {
        return Ok(0);
    } else {
        let json = a.format.as_deref() == Some("json");
        match raw {
            Some(r) => {
                // --no-interpolate: the merged files as they are, sorted.
                out = if json {
                    let mut r = r;
                    crate::merge::nil_empty_lists(&mut r, !a.no_normalize);
                    crate::emit::json(&r)
                } else {
                    crate::emit::sorted_yaml(&r)
                };
            }
            None => {
                if let Some(n) = a
                    .names
                    .iter()
                    .find(|n| model.get("services").and_then(|s| s.get(n)).is_none())
                {
                    eprintln!("no such service: {n}");
                    return Ok(1);
                }
                let mut m = model.clone();
                select(&mut m, &a.names);
                escape_dollars(&mut m);
                if json {
                    if let Some(svcs) = m.get_mut("services") {
                        strip_extensions(svcs);
                        if let Some(all) = svcs.as_map_mut() {
                            for (_, svc) in all.iter_mut() {
                                crate::emit::go_json_names(svc);
                            }
                        }
                    }
                    for k in ["networks", "volumes", "secrets", "configs"] {
                        if let Some(x) = m.get_mut(k) {
                            strip_extensions(x);
                        }
                    }
                    // The project's models are not part of its JSON form.
                    m.remove("models");
                    out = crate::emit::project_json(&m);
                } else {
                    out = crate::emit::project_yaml(&crate::emit::for_yaml(&m));
                }
            }
        }
    }
    match &a.output {
        Some(f) => std::fs::write(f, out)?,
        None => {
            let mut so = std::io::stdout().lock();
            so.write_all(out.as_bytes())?;
            so.flush()?;
        }
    }
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_counts_env_files_by_path() {
        // What docker compose v2.40.3 prints for `config --hash a` of
        // `a: {image: x, env_file: [{path: e.env, required: false}, nope.env]}` in
        // /tmp/compose-case/h.
        let svc = crate::yaml::parse(
            "command: null\nentrypoint: null\nenv_file:\n  - {path: /tmp/compose-case/h/e.env, required: false}\n  - {path: /tmp/compose-case/h/nope.env, required: true}\nimage: x\nnetworks: {default: null}\n",
        )
        .expect("the YAML parses");
        assert_eq!(
            service_hash(&svc),
            "1393d03072a43cdfc021c8b56c4fecee9678c66603007a22f440e7e46f386e52"
        );
    }
}
