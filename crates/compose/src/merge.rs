//! Merging compose files (`-f a -f b`, `extends`, `include`) by the compose
//! specification's rules as compose-go applies them: mappings merge key by key,
//! sequences append, and the fields below have rules of their own. `!reset` removes what
//! earlier files set, `!override` replaces it whole. [`unicity`] then keeps one entry per
//! key in the sequences that must not repeat one (the last one wins, in the first one's
//! place).

use crate::yaml::{Node, Tag, Value};

/// A path pattern: `*` matches one key, `[]` one sequence index.
fn matches(path: &[String], pattern: &str) -> bool {
    let pat: Vec<&str> = pattern.split('.').collect();
    pat.len() == path.len() && pat.iter().zip(path).all(|(p, s)| *p == "*" || *p == s)
}

#[derive(Clone, Copy)]
enum Rule {
    ToSequence,
    Override,
    Build,
    DependsOn,
    ToMapping,
    ExtraHosts,
    Logging,
    Ulimit,
}

const RULES: &[(&str, Rule)] = &[
    ("networks.*.labels", Rule::ToSequence),
    ("volumes.*.labels", Rule::ToSequence),
    ("services.*.annotations", Rule::ToSequence),
    ("services.*.build", Rule::Build),
    ("services.*.build.args", Rule::ToSequence),
    ("services.*.build.additional_contexts", Rule::ToSequence),
    ("services.*.build.extra_hosts", Rule::ExtraHosts),
    ("services.*.build.labels", Rule::ToSequence),
    ("services.*.command", Rule::Override),
    ("services.*.depends_on", Rule::DependsOn),
    ("services.*.deploy.labels", Rule::ToSequence),
    ("services.*.dns", Rule::ToSequence),
    ("services.*.dns_opt", Rule::ToSequence),
    ("services.*.dns_search", Rule::ToSequence),
    ("services.*.entrypoint", Rule::Override),
    ("services.*.env_file", Rule::ToSequence),
    ("services.*.label_file", Rule::ToSequence),
    ("services.*.environment", Rule::ToSequence),
    ("services.*.extra_hosts", Rule::ExtraHosts),
    ("services.*.healthcheck.test", Rule::Override),
    ("services.*.labels", Rule::ToSequence),
    ("services.*.volumes.[].volume.labels", Rule::ToSequence),
    ("services.*.logging", Rule::Logging),
    ("services.*.models", Rule::ToMapping),
    ("services.*.networks", Rule::ToMapping),
    ("services.*.sysctls", Rule::ToSequence),
    ("services.*.tmpfs", Rule::ToSequence),
    ("services.*.ulimits.*", Rule::Ulimit),
];

/// Merge `over` into `base` (the document root).
pub fn merge(base: Node, over: Node) -> Result<Node, String> {
    merge_at(base, over, &mut Vec::new())
}

fn merge_at(base: Node, over: Node, path: &mut Vec<String>) -> Result<Node, String> {
    if over.tag == Tag::Override {
        let mut o = over;
        o.tag = Tag::None;
        return Ok(o);
    }
    let (base, over) = apply_entry_resets(base, over);
    if let Some(rule) = RULES.iter().find(|(p, _)| matches(path, p)).map(|r| r.1) {
        return Ok(match rule {
            Rule::Override => over,
            Rule::ToSequence => {
                let mut s = to_sequence(&base);
                s.extend(to_sequence(&over));
                seq_node(s, base.line)
            }
            Rule::ExtraHosts => {
                let mut s = to_sequence(&base);
                for v in to_sequence(&over) {
                    if !s.iter().any(|x| x.value == v.value) {
                        s.push(v);
                    }
                }
                seq_node(s, base.line)
            }
            Rule::Build => {
                let b = to_build(base);
                let o = to_build(over);
                merge_maps(b, o, path)?
            }
            Rule::DependsOn => {
                let b = to_mapping(base, true);
                let o = to_mapping(over, true);
                merge_maps(b, o, path)?
            }
            Rule::ToMapping => {
                let b = to_mapping(base, false);
                let o = to_mapping(over, false);
                merge_maps(b, o, path)?
            }
            Rule::Logging => {
                let bd = base
                    .get("driver")
                    .and_then(Node::as_str)
                    .map(str::to_string);
                let od = over
                    .get("driver")
                    .and_then(Node::as_str)
                    .map(str::to_string);
                match (bd, od) {
                    (Some(b), Some(o)) if b != o => over,
                    _ => merge_maps(base, over, path)?,
                }
            }
            Rule::Ulimit => {
                if base.as_map().is_some() && over.as_map().is_some() {
                    merge_maps(base, over, path)?
                } else {
                    over
                }
            }
        });
    }
    if over.is_null() {
        return Ok(base);
    }
    match (&base.value, &over.value) {
        (Value::Map(_), Value::Map(_)) => merge_maps(base, over, path),
        (Value::Map(_), _) | (Value::Seq(_), _) if base.value_kind() != over.value_kind() => {
            Err(format!("cannot override {}", path.join(".")))
        }
        (Value::Seq(_), Value::Seq(_)) => {
            let mut b = base;
            if let (Value::Seq(bs), Value::Seq(os)) = (&mut b.value, over.value) {
                bs.extend(os);
            }
            Ok(b)
        }
        _ => Ok(over),
    }
}

impl Node {
    fn value_kind(&self) -> u8 {
        match self.value {
            Value::Map(_) => 1,
            Value::Seq(_) => 2,
            _ => 0,
        }
    }
}

/// `KEY: !reset ...` entries of an overriding mapping remove `KEY` from the base, in
/// either of its forms (a mapping's entry, or a `KEY=VALUE` / `KEY` item of a list), and
/// are dropped themselves: compose-go removes reset paths before it merges, so a reset
/// inside `environment` or `labels` (merged as sequences) still takes the entry away.
fn apply_entry_resets(base: Node, over: Node) -> (Node, Node) {
    let Value::Map(om) = &over.value else {
        return (base, over);
    };
    let reset: Vec<String> = om
        .iter()
        .filter(|(_, v)| v.tag == Tag::Reset)
        .map(|(k, _)| k.clone())
        .collect();
    if reset.is_empty() {
        return (base, over);
    }
    let mut base = base;
    match &mut base.value {
        Value::Map(bm) => bm.retain(|(k, _)| !reset.contains(k)),
        Value::Seq(items) => items.retain(|it| {
            let t = it.scalar_text().unwrap_or_default();
            let k = t.split_once('=').map_or(t.as_str(), |(k, _)| k);
            !reset.iter().any(|r| r == k)
        }),
        _ => {}
    }
    let mut over = over;
    if let Value::Map(om) = &mut over.value {
        om.retain(|(_, v)| v.tag != Tag::Reset);
    }
    (base, over)
}

fn seq_node(items: Vec<Node>, line: usize) -> Node {
    Node::new(Value::Seq(items)).at(line)
}

fn merge_maps(base: Node, over: Node, path: &mut Vec<String>) -> Result<Node, String> {
    let line = base.line;
    let Value::Map(mut bm) = base.value else {
        return Ok(over);
    };
    let Value::Map(om) = over.value else {
        return Ok(Node::new(Value::Map(bm)).at(line));
    };
    for (k, v) in om {
        if v.tag == Tag::Reset {
            bm.retain(|(x, _)| *x != k);
            continue;
        }
        match bm.iter().position(|(x, _)| *x == k) {
            None => {
                let mut v = v;
                strip_tags(&mut v);
                bm.push((k, v));
            }
            Some(i) => {
                let old = std::mem::replace(&mut bm[i].1, Node::new(Value::Null));
                path.push(k.clone());
                let merged = merge_at(old, v, path);
                path.pop();
                bm[i].1 = merged?;
            }
        }
    }
    Ok(Node::new(Value::Map(bm)).at(line))
}

/// Drop `!reset` entries and tags from a subtree that merges into nothing.
pub fn strip_tags(n: &mut Node) {
    if n.tag != Tag::Timestamp {
        n.tag = Tag::None;
    }
    match &mut n.value {
        Value::Map(m) => {
            m.retain(|(_, v)| v.tag != Tag::Reset);
            for (_, v) in m.iter_mut() {
                strip_tags(v);
            }
        }
        Value::Seq(s) => {
            s.retain(|v| v.tag != Tag::Reset);
            for v in s.iter_mut() {
                strip_tags(v);
            }
        }
        _ => {}
    }
}

/// A `KEY=VALUE` sequence of a mapping (sorted by text, as compose-go does), or the
/// sequence itself.
pub fn to_sequence(n: &Node) -> Vec<Node> {
    match &n.value {
        Value::Map(m) => {
            let mut out: Vec<Node> = Vec::new();
            for (k, v) in m {
                match &v.value {
                    Value::Null => out.push(Node::str(k.clone()).at(v.line)),
                    Value::Seq(items) => {
                        for it in items {
                            out.push(
                                Node::str(format!("{k}={}", it.scalar_text().unwrap_or_default()))
                                    .at(it.line),
                            )
                        }
                    }
                    _ => out.push(
                        Node::str(format!("{k}={}", v.scalar_text().unwrap_or_default()))
                            .at(v.line),
                    ),
                }
            }
            out.sort_by(|a, b| a.as_str().cmp(&b.as_str()));
            out
        }
        Value::Seq(s) => s.clone(),
        Value::Str(_) => vec![n.clone()],
        _ => Vec::new(),
    }
}

fn to_build(n: Node) -> Node {
    match &n.value {
        Value::Str(_) => Node::map(vec![("context".into(), n.clone())]).at(n.line),
        _ => n,
    }
}

/// A list of names as a mapping (`depends_on`'s entries get their defaults).
pub fn to_mapping(n: Node, depends: bool) -> Node {
    match n.value {
        Value::Seq(items) => Node::map(
            items
                .into_iter()
                .map(|it| {
                    let v = if depends {
                        Node::map(vec![
                            ("condition".into(), Node::str("service_started")),
                            ("required".into(), Node::new(Value::Bool(true))),
                        ])
                        .at(it.line)
                    } else {
                        Node::new(Value::Null).at(it.line)
                    };
                    (it.scalar_text().unwrap_or_default(), v)
                })
                .collect(),
        )
        .at(n.line),
        _ => n,
    }
}

type Indexer = fn(&Node) -> Option<String>;

fn key_value(n: &Node) -> Option<String> {
    let s = n.scalar_text()?;
    Some(s.split_once('=').map_or(s.clone(), |(k, _)| k.to_string()))
}

fn volume_key(n: &Node) -> Option<String> {
    match &n.value {
        Value::Map(_) => n.get("target").and_then(Node::scalar_text),
        Value::Str(s) => crate::canon::parse_volume(s).ok().map(|v| v.target),
        _ => None,
    }
}

fn device_key(n: &Node) -> Option<String> {
    match &n.value {
        Value::Map(_) => n.get("target").and_then(Node::scalar_text),
        Value::Str(s) => {
            let parts: Vec<&str> = s.split(':').collect();
            Some(parts.get(1).unwrap_or(&parts[0]).to_string())
        }
        _ => None,
    }
}

fn expose_key(n: &Node) -> Option<String> {
    n.scalar_text()
}

fn mount_key(default: &str, n: &Node) -> Option<String> {
    match &n.value {
        Value::Str(s) => Some(format!("{default}/{s}")),
        Value::Map(_) => match n.get("target").and_then(Node::scalar_text) {
            Some(t) => Some(t),
            None => Some(format!(
                "{default}/{}",
                n.get("source")
                    .and_then(Node::scalar_text)
                    .unwrap_or_default()
            )),
        },
        _ => None,
    }
}

fn secret_key(n: &Node) -> Option<String> {
    mount_key("/run/secrets", n)
}

fn config_key(n: &Node) -> Option<String> {
    mount_key("", n)
}

fn port_key(n: &Node) -> Option<String> {
    match &n.value {
        Value::Map(_) => {
            let t = |k: &str, d: &str| n.get(k).and_then(Node::scalar_text).unwrap_or(d.into());
            Some(format!(
                "{}:{}:{}/{}",
                t("host_ip", "0.0.0.0"),
                t("published", "%!s(<nil>)"),
                t("target", "0"),
                t("protocol", "tcp")
            ))
        }
        _ => n.scalar_text(),
    }
}

fn env_file_key(n: &Node) -> Option<String> {
    match &n.value {
        Value::Map(_) => n.get("path").and_then(Node::scalar_text),
        _ => n.scalar_text(),
    }
}

const UNIQUE: &[(&str, Indexer)] = &[
    ("networks.*.labels", key_value),
    ("networks.*.ipam.options", key_value),
    ("services.*.annotations", key_value),
    ("services.*.build.args", key_value),
    ("services.*.build.additional_contexts", key_value),
    ("services.*.build.platform", key_value),
    ("services.*.build.tags", key_value),
    ("services.*.build.labels", key_value),
    ("services.*.cap_add", key_value),
    ("services.*.cap_drop", key_value),
    ("services.*.configs", config_key),
    ("services.*.deploy.labels", key_value),
    ("services.*.dns", key_value),
    ("services.*.dns_opt", key_value),
    ("services.*.dns_search", key_value),
    ("services.*.environment", key_value),
    ("services.*.env_file", env_file_key),
    ("services.*.expose", expose_key),
    ("services.*.labels", key_value),
    ("services.*.links", key_value),
    ("services.*.networks.*.aliases", key_value),
    ("services.*.networks.*.link_local_ips", key_value),
    ("services.*.ports", port_key),
    ("services.*.profiles", key_value),
    ("services.*.secrets", secret_key),
    ("services.*.sysctls", key_value),
    ("services.*.tmpfs", key_value),
    ("services.*.volumes", volume_key),
    ("services.*.devices", device_key),
];

/// The Go type compose-go names for a YAML value (`%T`).
fn go_type(n: &Node) -> &'static str {
    match &n.value {
        Value::Str(_) if n.tag == Tag::Timestamp => "time.Time",
        Value::Str(_) => "string",
        Value::Int(_) => "int",
        Value::Float(_) => "float64",
        Value::Bool(_) => "bool",
        Value::Null => "<nil>",
        Value::Map(_) => "map[string]interface {}",
        Value::Seq(_) => "[]interface {}",
    }
}

/// The errors of compose-go's `EnforceUnicity` (which runs before the schema): an item
/// of a `KEY=VALUE` list that is not a string (`- NAME: value` in an `environment`
/// list) is refused as `services.web.environment.[1]: unexpected type ...`.
pub fn unicity_errors(n: &Node) -> Result<(), String> {
    fn walk(n: &Node, path: &mut Vec<String>) -> Result<(), String> {
        match &n.value {
            Value::Map(m) => {
                for (k, v) in m {
                    path.push(k.clone());
                    walk(v, path)?;
                    path.pop();
                }
            }
            Value::Seq(items) if matches(path, "services.*.volumes") => {
                for (i, it) in items.iter().enumerate() {
                    if it.as_map().is_some()
                        && !matches!(it.get("target").map(|t| &t.value), Some(Value::Str(_)))
                    {
                        return Err(format!(
                            "service volume {}.[{i}] is missing a mount target",
                            path.join(".")
                        ));
                    }
                }
            }
            Value::Seq(items) => {
                let key_value_list = UNIQUE.iter().any(|(p, idx)| {
                    std::ptr::fn_addr_eq(*idx, key_value as Indexer) && matches(path, p)
                });
                if key_value_list {
                    for (i, it) in items.iter().enumerate() {
                        if !matches!(it.value, Value::Str(_)) || it.tag == Tag::Timestamp {
                            return Err(format!(
                                "{}.[{i}]: unexpected type {}",
                                path.join("."),
                                go_type(it)
                            ));
                        }
                    }
                }
            }
            _ => {}
        }
        Ok(())
    }
    walk(n, &mut Vec::new())
}

/// Empty lists as the untyped model holds them: compose-go's `OmitEmpty` rebuilds every
/// list (an empty one becomes Go's nil slice, JSON `null`), then `EnforceUnicity` makes
/// the ones it indexes empty again (`cap_add: []` stays `[]`). With `resolved` (the
/// model was normalized), `environment` and build `args` went through compose-go's
/// `resolve` after that, which rebuilds them (nil when empty). For `--no-interpolate`
/// JSON; YAML writes a nil slice as `[]` too.
pub fn nil_empty_lists(n: &mut Node, resolved: bool) {
    fn walk(n: &mut Node, path: &mut Vec<String>, resolved: bool) {
        let rebuilt = resolved
            && (matches(path, "services.*.environment") || matches(path, "services.*.build.args"));
        let unique = !rebuilt && UNIQUE.iter().any(|(p, _)| matches(path, p));
        match &mut n.value {
            Value::Seq(items) if items.is_empty() && !unique => n.value = Value::Null,
            Value::Seq(items) => {
                path.push("[]".into());
                for it in items.iter_mut() {
                    walk(it, path, resolved);
                }
                path.pop();
            }
            Value::Map(m) => {
                for (k, v) in m.iter_mut() {
                    path.push(k.clone());
                    walk(v, path, resolved);
                    path.pop();
                }
            }
            _ => {}
        }
    }
    walk(n, &mut Vec::new(), resolved)
}

/// compose-go's `EnforceUnicity`.
pub fn unicity(n: &mut Node) {
    unicity_at(n, &mut Vec::new())
}

fn unicity_at(n: &mut Node, path: &mut Vec<String>) {
    match &mut n.value {
        Value::Map(m) => {
            for (k, v) in m.iter_mut() {
                path.push(k.clone());
                unicity_at(v, path);
                path.pop();
            }
        }
        Value::Seq(items) => {
            if let Some((_, idx)) = UNIQUE.iter().find(|(p, _)| matches(path, p)) {
                let mut out: Vec<Node> = Vec::new();
                let mut keys: Vec<String> = Vec::new();
                for it in items.drain(..) {
                    let k = idx(&it).unwrap_or_default();
                    match keys.iter().position(|x| *x == k) {
                        Some(j) => out[j] = it,
                        None => {
                            keys.push(k);
                            out.push(it);
                        }
                    }
                }
                *items = out;
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::yaml::parse;

    fn j(n: &Node) -> String {
        n.to_json().to_string()
    }

    #[test]
    fn empty_lists_of_the_untyped_model() {
        let src = "services:\n  a:\n    command: []\n    cap_add: []\n    environment: []\n    x-e: []\nx-top: []\n";
        let mut n = parse(src).expect("the YAML parses");
        nil_empty_lists(&mut n, true);
        assert_eq!(
            j(&n),
            r#"{"services":{"a":{"cap_add":[],"command":null,"environment":null,"x-e":null}},"x-top":null}"#
        );
        let mut n = parse(src).expect("the YAML parses");
        nil_empty_lists(&mut n, false);
        assert_eq!(
            j(&n),
            r#"{"services":{"a":{"cap_add":[],"command":null,"environment":[],"x-e":null}},"x-top":null}"#
        );
    }

    #[test]
    fn non_string_items_of_key_value_lists_are_refused() {
        let n = parse("services:\n  web:\n    environment:\n      - DEBUG=1\n      - NESTED:\n          a: b\n")
            .expect("the YAML parses");
        assert_eq!(
            unicity_errors(&n),
            Err("services.web.environment.[1]: unexpected type map[string]interface {}".into())
        );
        let n = parse("services:\n  web:\n    labels: [2020-01-01]\n    ports: [80]\n")
            .expect("the YAML parses");
        assert_eq!(
            unicity_errors(&n),
            Err("services.web.labels.[0]: unexpected type time.Time".into())
        );
        let n = parse("services:\n  web:\n    volumes: [{type: bind, source: ./a}]\n")
            .expect("the YAML parses");
        assert_eq!(
            unicity_errors(&n),
            Err("service volume services.web.volumes.[0] is missing a mount target".into())
        );
        let n = parse("services:\n  web:\n    cap_add: [NET_ADMIN]\n    ports: [80]\n")
            .expect("the YAML parses");
        assert_eq!(unicity_errors(&n), Ok(()));
    }

    #[test]
    fn maps_merge_sequences_append_scalars_override() {
        let a = parse("services:\n  web:\n    image: a\n    cap_add: [X]\n    environment: {A: 1, B: 2}\n    command: [a, b]\n").expect("the YAML parses");
        let b = parse("services:\n  web:\n    image: b\n    cap_add: [Y]\n    environment: [B=3]\n    command: c\n").expect("the YAML parses");
        let mut m = merge(a, b).expect("the files merge");
        unicity(&mut m);
        let w = m
            .get("services")
            .expect("the key is present")
            .get("web")
            .expect("the key is present");
        assert_eq!(j(w.get("image").expect("the key is present")), "\"b\"");
        assert_eq!(
            j(w.get("cap_add").expect("the key is present")),
            "[\"X\",\"Y\"]"
        );
        assert_eq!(
            j(w.get("environment").expect("the key is present")),
            "[\"A=1\",\"B=3\"]"
        );
        assert_eq!(j(w.get("command").expect("the key is present")), "\"c\"");
    }

    #[test]
    fn reset_and_override() {
        let a =
            parse("services:\n  web:\n    image: a\n    ports: ['80:80']\n    labels: {a: b}\n")
                .expect("the YAML parses");
        let b = parse("services:\n  web:\n    ports: !reset []\n    labels: !override {c: d}\n")
            .expect("the YAML parses");
        let m = merge(a, b).expect("the files merge");
        let w = m
            .get("services")
            .expect("the key is present")
            .get("web")
            .expect("the key is present");
        assert!(w.get("ports").is_none());
        assert_eq!(
            j(w.get("labels").expect("the key is present")),
            "{\"c\":\"d\"}"
        );
    }

    #[test]
    fn ports_keep_one_per_binding() {
        let a =
            parse("services:\n  web:\n    ports: ['80:80', '81:81']\n").expect("the YAML parses");
        let b = parse("services:\n  web:\n    ports: ['80:80']\n").expect("the YAML parses");
        let mut m = merge(a, b).expect("the files merge");
        unicity(&mut m);
        let w = m
            .get("services")
            .expect("the key is present")
            .get("web")
            .expect("the key is present");
        assert_eq!(
            j(w.get("ports").expect("the key is present")),
            "[\"80:80\",\"81:81\"]"
        );
    }
}
