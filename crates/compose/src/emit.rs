//! The model printed as docker compose prints it: JSON as Go's `json.MarshalIndent`
//! writes compose-go's types (fields in the types' order, mappings sorted, the project
//! itself a sorted mapping), YAML as go-yaml v3 writes them (indent 2, fields in the
//! types' order, quoting what would read back as another type).

use crate::yaml::{go_float, Node, Value};

/// How a node's keys are ordered.
#[derive(Clone, Copy)]
pub enum Kind {
    /// Sorted keys, values of any kind.
    Any,
    /// Sorted keys, values of one kind.
    Map(&'static Kind),
    /// Items of one kind.
    Seq(&'static Kind),
    /// A Go struct: its fields in order (then `x-` extensions, sorted).
    Struct(&'static [(&'static str, Kind)]),
}

use Kind::{Any, Map, Seq, Struct};

const fn f(name: &'static str) -> (&'static str, Kind) {
    (name, Any)
}

static PORT: Kind = Struct(&[
    f("name"),
    f("mode"),
    f("host_ip"),
    f("target"),
    f("published"),
    f("protocol"),
    f("app_protocol"),
]);
static VOLUME: Kind = Struct(&[
    f("type"),
    f("source"),
    f("target"),
    f("read_only"),
    f("consistency"),
    (
        "bind",
        Struct(&[
            f("selinux"),
            f("propagation"),
            f("create_host_path"),
            f("recursive"),
        ]),
    ),
    ("volume", Struct(&[f("labels"), f("nocopy"), f("subpath")])),
    ("tmpfs", Struct(&[f("size"), f("mode")])),
    ("image", Struct(&[f("subpath")])),
]);
static FILEREF: Kind = Struct(&[f("source"), f("target"), f("uid"), f("gid"), f("mode")]);
static DEVICE: Kind = Struct(&[f("source"), f("target"), f("permissions")]);
static DEVREQ: Kind = Struct(&[
    f("capabilities"),
    f("driver"),
    f("count"),
    f("device_ids"),
    f("options"),
]);
static BLKIO: Kind = Struct(&[
    f("weight"),
    f("weight_device"),
    f("device_read_bps"),
    f("device_read_iops"),
    f("device_write_bps"),
    f("device_write_iops"),
]);
static HEALTH: Kind = Struct(&[
    f("test"),
    f("timeout"),
    f("interval"),
    f("retries"),
    f("start_period"),
    f("start_interval"),
    f("disable"),
]);
static HOOK: Kind = Struct(&[
    f("command"),
    f("user"),
    f("privileged"),
    f("working_dir"),
    f("environment"),
]);
static RESOURCE: Kind = Struct(&[
    f("cpus"),
    f("memory"),
    f("pids"),
    ("devices", Seq(&DEVREQ)),
    f("generic_resources"),
]);
static UPDATE: Kind = Struct(&[
    f("parallelism"),
    f("delay"),
    f("failure_action"),
    f("monitor"),
    f("max_failure_ratio"),
    f("order"),
]);
static DEPLOY: Kind = Struct(&[
    f("mode"),
    f("replicas"),
    f("labels"),
    ("update_config", UPDATE),
    ("rollback_config", UPDATE),
    (
        "resources",
        Struct(&[("limits", RESOURCE), ("reservations", RESOURCE)]),
    ),
    (
        "restart_policy",
        Struct(&[f("condition"), f("delay"), f("max_attempts"), f("window")]),
    ),
    (
        "placement",
        Struct(&[
            f("constraints"),
            f("preferences"),
            f("max_replicas_per_node"),
        ]),
    ),
    f("endpoint_mode"),
]);
static BUILD: Kind = Struct(&[
    f("context"),
    f("dockerfile"),
    f("dockerfile_inline"),
    f("entitlements"),
    f("args"),
    f("provenance"),
    f("sbom"),
    f("ssh"),
    f("labels"),
    f("cache_from"),
    f("cache_to"),
    f("no_cache"),
    f("additional_contexts"),
    f("pull"),
    f("extra_hosts"),
    f("isolation"),
    f("network"),
    f("target"),
    ("secrets", Seq(&FILEREF)),
    f("shm_size"),
    f("tags"),
    ("ulimits", Map(&ULIMIT)),
    f("platforms"),
    f("privileged"),
]);
static ULIMIT: Kind = Struct(&[f("single"), f("soft"), f("hard")]);
static SVC_NET: Kind = Struct(&[
    f("aliases"),
    f("driver_opts"),
    f("gw_priority"),
    f("interface_name"),
    f("ipv4_address"),
    f("ipv6_address"),
    f("link_local_ips"),
    f("mac_address"),
    f("priority"),
]);
static DEPENDENCY: Kind = Struct(&[f("condition"), f("restart"), f("required")]);
static TRIGGER: Kind = Struct(&[
    f("path"),
    f("action"),
    f("target"),
    ("exec", HOOK),
    f("include"),
    f("ignore"),
    f("initial_sync"),
]);
static SERVICE: Kind = Struct(&[
    f("profiles"),
    f("annotations"),
    f("attach"),
    ("build", BUILD),
    ("develop", Struct(&[("watch", Seq(&TRIGGER))])),
    ("blkio_config", BLKIO),
    f("cap_add"),
    f("cap_drop"),
    f("cgroup_parent"),
    f("cgroup"),
    f("cpu_count"),
    f("cpu_percent"),
    f("cpu_period"),
    f("cpu_quota"),
    f("cpu_rt_period"),
    f("cpu_rt_runtime"),
    f("cpus"),
    f("cpuset"),
    f("cpu_shares"),
    f("command"),
    ("configs", Seq(&FILEREF)),
    f("container_name"),
    f("credential_spec"),
    ("depends_on", Map(&DEPENDENCY)),
    ("deploy", DEPLOY),
    f("device_cgroup_rules"),
    ("devices", Seq(&DEVICE)),
    f("dns"),
    f("dns_opt"),
    f("dns_search"),
    f("dockerfile"),
    f("domainname"),
    f("entrypoint"),
    ("provider", Struct(&[f("type"), f("options")])),
    f("environment"),
    f("env_file"),
    f("expose"),
    ("extends", Struct(&[f("file"), f("service")])),
    f("external_links"),
    f("extra_hosts"),
    f("group_add"),
    ("gpus", Seq(&DEVREQ)),
    f("hostname"),
    ("healthcheck", HEALTH),
    f("image"),
    f("init"),
    f("ipc"),
    f("isolation"),
    f("labels"),
    f("label_file"),
    f("links"),
    ("logging", Struct(&[f("driver"), f("options")])),
    f("log_driver"),
    f("log_opt"),
    f("mem_limit"),
    f("mem_reservation"),
    f("memswap_limit"),
    f("mem_swappiness"),
    f("mac_address"),
    f("models"),
    f("net"),
    f("network_mode"),
    ("networks", Map(&SVC_NET)),
    f("oom_kill_disable"),
    f("oom_score_adj"),
    f("pid"),
    f("pids_limit"),
    f("platform"),
    ("ports", Seq(&PORT)),
    f("privileged"),
    f("pull_policy"),
    f("read_only"),
    f("restart"),
    f("runtime"),
    f("scale"),
    ("secrets", Seq(&FILEREF)),
    f("security_opt"),
    f("shm_size"),
    f("stdin_open"),
    f("stop_grace_period"),
    f("stop_signal"),
    f("storage_opt"),
    f("sysctls"),
    f("tmpfs"),
    f("tty"),
    ("ulimits", Map(&ULIMIT)),
    f("use_api_socket"),
    f("user"),
    f("userns_mode"),
    f("uts"),
    f("volume_driver"),
    ("volumes", Seq(&VOLUME)),
    f("volumes_from"),
    f("working_dir"),
    ("post_start", Seq(&HOOK)),
    ("pre_stop", Seq(&HOOK)),
]);
static NETWORK: Kind = Struct(&[
    f("name"),
    f("driver"),
    f("driver_opts"),
    (
        "ipam",
        Struct(&[
            f("driver"),
            (
                "config",
                Seq(&Struct(&[
                    f("subnet"),
                    f("gateway"),
                    f("ip_range"),
                    f("aux_addresses"),
                ])),
            ),
        ]),
    ),
    f("external"),
    f("internal"),
    f("attachable"),
    f("labels"),
    f("enable_ipv4"),
    f("enable_ipv6"),
]);
static VOLUME_DEF: Kind = Struct(&[
    f("name"),
    f("driver"),
    f("driver_opts"),
    f("external"),
    f("labels"),
]);
static FILE_OBJ: Kind = Struct(&[
    f("name"),
    f("file"),
    f("environment"),
    f("content"),
    f("external"),
    f("labels"),
    f("driver"),
    f("driver_opts"),
    f("template_driver"),
]);
static MODEL: Kind = Struct(&[f("name"), f("model"), f("context_size"), f("runtime_flags")]);
static SERVICES: Kind = Map(&SERVICE);
static NETWORKS: Kind = Map(&NETWORK);
static VOLUMES: Kind = Map(&VOLUME_DEF);
static FILE_OBJS: Kind = Map(&FILE_OBJ);
static MODELS: Kind = Map(&MODEL);

/// The project as YAML sees it (struct order).
pub static PROJECT_YAML: Kind = Struct(&[
    f("name"),
    ("services", SERVICES),
    ("networks", NETWORKS),
    ("volumes", VOLUMES),
    ("secrets", FILE_OBJS),
    ("configs", FILE_OBJS),
    ("models", MODELS),
]);

fn project_json_child(key: &str) -> Kind {
    match key {
        "services" => SERVICES,
        "networks" => NETWORKS,
        "volumes" => VOLUMES,
        "secrets" | "configs" => FILE_OBJS,
        "models" => MODELS,
        _ => Any,
    }
}

/// Keys in print order with the kind of their values.
/// go-yaml v3's order of mapping keys (its `keyList.Less`): letters compare as
/// characters, a non-letter sorts before a letter (after a letter when it follows a
/// digit), and runs of digits compare as numbers (`a2` < `a10`).
pub fn go_yaml_key_cmp(a: &str, b: &str) -> std::cmp::Ordering {
    use std::cmp::Ordering;
    let ar: Vec<char> = a.chars().collect();
    let br: Vec<char> = b.chars().collect();
    let less = |x: bool| if x { Ordering::Less } else { Ordering::Greater };
    let mut digits = false;
    let mut i = 0;
    while i < ar.len() && i < br.len() {
        if ar[i] == br[i] {
            digits = ar[i].is_numeric();
            i += 1;
            continue;
        }
        let al = ar[i].is_alphabetic();
        let bl = br[i].is_alphabetic();
        if al && bl {
            return ar[i].cmp(&br[i]);
        }
        if al || bl {
            return less(if digits { al } else { bl });
        }
        let mut an: i64 = 0;
        let mut bn: i64 = 0;
        if ar[i] == '0' || br[i] == '0' {
            let mut j = i;
            while j > 0 && ar[j - 1].is_numeric() {
                j -= 1;
                if ar[j] != '0' {
                    an = 1;
                    bn = 1;
                    break;
                }
            }
        }
        let mut ai = i;
        while ai < ar.len() && ar[ai].is_ascii_digit() {
            an = an
                .wrapping_mul(10)
                .wrapping_add(i64::from(ar[ai] as u8 - b'0'));
            ai += 1;
        }
        let mut bi = i;
        while bi < br.len() && br[bi].is_ascii_digit() {
            bn = bn
                .wrapping_mul(10)
                .wrapping_add(i64::from(br[bi] as u8 - b'0'));
            bi += 1;
        }
        if an != bn {
            return an.cmp(&bn);
        }
        if ai != bi {
            return ai.cmp(&bi);
        }
        return ar[i].cmp(&br[i]);
    }
    ar.len().cmp(&br.len())
}

fn ordered(n: &Node, kind: Kind, top_json: bool, yaml: bool) -> Vec<(&str, &Node, Kind)> {
    let cmp = |a: &str, b: &str| {
        if yaml {
            go_yaml_key_cmp(a, b)
        } else {
            a.cmp(b)
        }
    };
    let Some(m) = n.as_map() else {
        return Vec::new();
    };
    let mut out: Vec<(&str, &Node, Kind)> = Vec::new();
    match kind {
        Struct(fields) if !top_json => {
            for (fname, fk) in fields {
                if let Some((k, v)) = m.iter().find(|(k, _)| k == fname) {
                    // Every field of compose-go's types is `omitempty`: an empty
                    // string (`hostname: ${UNSET:-}`) is not printed.
                    if matches!(&v.value, Value::Str(t) if t.is_empty()) {
                        continue;
                    }
                    out.push((k.as_str(), v, *fk));
                }
            }
            let mut rest: Vec<&(String, Node)> = m
                .iter()
                .filter(|(k, _)| !fields.iter().any(|(f, _)| f == k))
                .collect();
            rest.sort_by(|a, b| cmp(&a.0, &b.0));
            out.extend(rest.into_iter().map(|(k, v)| (k.as_str(), v, Any)));
        }
        _ => {
            let mut all: Vec<&(String, Node)> = m.iter().collect();
            all.sort_by(|a, b| cmp(&a.0, &b.0));
            for (k, v) in all {
                let ck = if top_json {
                    project_json_child(k)
                } else {
                    match kind {
                        Map(inner) => *inner,
                        _ => Any,
                    }
                };
                out.push((k.as_str(), v, ck));
            }
        }
    }
    out
}

fn item_kind(kind: Kind) -> Kind {
    match kind {
        Seq(inner) => *inner,
        _ => Any,
    }
}

/// Go's JSON string escaping (HTML characters escaped too).
pub fn json_string(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '<' => out.push_str("\\u003c"),
            '>' => out.push_str("\\u003e"),
            '&' => out.push_str("\\u0026"),
            '\u{2028}' => out.push_str("\\u2028"),
            '\u{2029}' => out.push_str("\\u2029"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
}

fn json_at(n: &Node, kind: Kind, top: bool, indent: usize, out: &mut String) {
    json_write(n, kind, top, Some(indent), out)
}

/// `indent` None: compact (Go's `json.Marshal`).
fn json_write(n: &Node, kind: Kind, top: bool, indent: Option<usize>, out: &mut String) {
    let compact = indent.is_none();
    let indent = indent.unwrap_or(0);
    let nl = if compact { "" } else { "\n" };
    let pad = |k: usize| {
        if compact {
            String::new()
        } else {
            "  ".repeat(k)
        }
    };
    match &n.value {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Int(i) => out.push_str(&i.to_string()),
        Value::Float(x) => out.push_str(&crate::yaml::go_json_float(*x)),
        // A YAML timestamp kept as written (in an `x-` extension) is Go's `time.Time`.
        Value::Str(s) if n.tag == crate::yaml::Tag::Timestamp => json_string(
            &crate::yaml::go_timestamp(s).unwrap_or_else(|| s.clone()),
            out,
        ),
        Value::Str(s) => json_string(s, out),
        Value::Seq(items) => {
            if items.is_empty() {
                out.push_str("[]");
                return;
            }
            out.push('[');
            out.push_str(nl);
            for (i, it) in items.iter().enumerate() {
                out.push_str(&pad(indent + 1));
                json_write(
                    it,
                    item_kind(kind),
                    false,
                    (!compact).then_some(indent + 1),
                    out,
                );
                if i + 1 < items.len() {
                    out.push(',');
                }
                out.push_str(nl);
            }
            out.push_str(&pad(indent));
            out.push(']');
        }
        Value::Map(_) => {
            let entries = ordered(n, kind, top, false);
            if entries.is_empty() {
                out.push_str("{}");
                return;
            }
            out.push('{');
            out.push_str(nl);
            for (i, (k, v, ck)) in entries.iter().enumerate() {
                out.push_str(&pad(indent + 1));
                json_string(k, out);
                out.push_str(if compact { ":" } else { ": " });
                json_write(v, *ck, false, (!compact).then_some(indent + 1), out);
                if i + 1 < entries.len() {
                    out.push(',');
                }
                out.push_str(nl);
            }
            out.push_str(&pad(indent));
            out.push('}');
        }
    }
}

/// Go's JSON names of struct fields without a `json` tag (compose-go's blkio devices:
/// `Path`, `Rate`, `Weight`); YAML lowercases them, so the model keeps them lowercase.
/// Also the JSON-only `omitempty` of a ulimit's `soft` and `hard` (YAML prints both).
pub fn go_json_names(svc: &mut Node) {
    if let Some(u) = svc.get_mut("ulimits").and_then(Node::as_map_mut) {
        for (_, l) in u.iter_mut() {
            if let Some(m) = l.as_map_mut() {
                m.retain(|(k, v)| {
                    !(matches!(k.as_str(), "soft" | "hard") && matches!(v.value, Value::Int(0)))
                });
            }
        }
    }
    let Some(bc) = svc.get_mut("blkio_config") else {
        return;
    };
    for k in [
        "weight_device",
        "device_read_bps",
        "device_read_iops",
        "device_write_bps",
        "device_write_iops",
    ] {
        if let Some(Value::Seq(items)) = bc.get_mut(k).map(|x| &mut x.value) {
            for it in items.iter_mut() {
                if let Some(m) = it.as_map_mut() {
                    for (key, _) in m.iter_mut() {
                        if matches!(key.as_str(), "path" | "rate" | "weight") {
                            let mut c = key.chars();
                            if let Some(f) = c.next() {
                                *key = f.to_ascii_uppercase().to_string() + c.as_str();
                            }
                        }
                    }
                }
            }
        }
    }
}

/// The project as `config --format json` prints it.
pub fn project_json(model: &Node) -> String {
    let mut out = String::new();
    json_at(model, Any, true, 0, &mut out);
    out
}

/// A service as Go's `json.Marshal` writes compose-go's `ServiceConfig`.
pub fn compact_service(n: &Node) -> String {
    let mut out = String::new();
    json_write(n, SERVICE, false, None, &mut out);
    out
}

/// Any node as YAML with sorted keys.
pub fn sorted_yaml(n: &Node) -> String {
    let mut out = String::new();
    yaml_at(n, Any, 0, &mut out);
    out
}

/// Any node as indented JSON with sorted keys.
pub fn json(n: &Node) -> String {
    let mut out = String::new();
    json_at(n, Any, false, 0, &mut out);
    out
}

/// How go-yaml v3 writes a one-line string.
#[derive(Debug, PartialEq, Eq)]
enum Style {
    Plain,
    Single,
    Double,
}

/// Whether a plain string would read back as something else (a number, a boolean, null,
/// a YAML 1.1 boolean such as `yes`): go-yaml double-quotes those.
fn resolves_to_other(s: &str) -> bool {
    if s.is_empty() {
        return true;
    }
    let lower = s.to_ascii_lowercase();
    if matches!(
        lower.as_str(),
        "true" | "false" | "yes" | "no" | "on" | "off" | "y" | "n" | "null" | "~"
    ) {
        return true;
    }
    !matches!(crate::yaml::resolve_plain(s), Value::Str(_)) || timestamp_like(s) || base60_float(s)
}

/// A plain scalar go-yaml would read as a timestamp (`2001-12-14`, `2001-12-14T21:59:43Z`).
fn timestamp_like(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() >= 8 && b[..4].iter().all(u8::is_ascii_digit) && b[4] == b'-' && {
        let rest = &s[5..];
        let (m, after) = rest.split_once('-').unwrap_or((rest, ""));
        let d: String = after.chars().take_while(char::is_ascii_digit).collect();
        (1..=2).contains(&m.len())
            && m.bytes().all(|c| c.is_ascii_digit())
            && (1..=2).contains(&d.len())
            && {
                let tail = &after[d.len()..];
                tail.is_empty() || tail.starts_with(['T', 't', ' '])
            }
    }
}

/// YAML 1.1's sexagesimal floats (`1:20`, `-1:30:00.5`), which go-yaml quotes.
fn base60_float(s: &str) -> bool {
    let t = s.strip_prefix(['-', '+']).unwrap_or(s);
    let (int_part, frac) = t.split_once('.').unwrap_or((t, ""));
    let mut parts = int_part.split(':');
    let head = parts.next().unwrap_or_default();
    let rest: Vec<&str> = parts.collect();
    !rest.is_empty()
        && head.starts_with(|c: char| c.is_ascii_digit())
        && head.bytes().all(|c| c.is_ascii_digit() || c == b'_')
        && rest.iter().all(|p| {
            (1..=2).contains(&p.len())
                && p.bytes().all(|c| c.is_ascii_digit())
                && (p.len() == 1 || p.as_bytes()[0] <= b'5')
        })
        && frac.bytes().all(|c| c.is_ascii_digit() || c == b'_')
}

/// go-yaml's emitter analysis: whether a string may be written plain in block context.
fn plain_allowed(s: &str) -> bool {
    let chars: Vec<char> = s.chars().collect();
    let Some(&first) = chars.first() else {
        return false;
    };
    let ws_after = |i: usize| chars.get(i + 1).is_none_or(|c| *c == ' ' || *c == '\t');
    if "#,[]{}&*!|>'\"%@`".contains(first)
        || (first == '-' || first == '?' || first == ':') && ws_after(0)
    {
        return false;
    }
    if s.starts_with("---") || s.starts_with("...") {
        return false;
    }
    if first == ' ' || chars.last() == Some(&' ') {
        return false;
    }
    for (i, c) in chars.iter().enumerate() {
        if *c == ':' && ws_after(i) {
            return false;
        }
        if *c == '#' && i > 0 && matches!(chars[i - 1], ' ' | '\t') {
            return false;
        }
    }
    true
}

/// Characters go-yaml only writes inside double quotes (not printable).
fn special(s: &str) -> bool {
    s.chars().any(|c| c != '\t' && !printable(c))
}

/// libyaml's printable characters (astral ones are not).
fn printable(c: char) -> bool {
    let u = c as u32;
    c == '\n'
        || (0x20..=0x7E).contains(&u)
        || (0xA0..=0xD7FF).contains(&u)
        || ((0xE000..=0xFFFD).contains(&u) && u != 0xFEFF)
}

/// A double-quoted YAML scalar as go-yaml writes it.
fn yaml_double(s: &str) -> String {
    let mut o = String::from("\"");
    for c in s.chars() {
        match c {
            '\0' => o.push_str("\\0"),
            '\u{7}' => o.push_str("\\a"),
            '\u{8}' => o.push_str("\\b"),
            '\t' => o.push_str("\\t"),
            '\n' => o.push_str("\\n"),
            '\u{b}' => o.push_str("\\v"),
            '\u{c}' => o.push_str("\\f"),
            '\r' => o.push_str("\\r"),
            '\u{1b}' => o.push_str("\\e"),
            '"' => o.push_str("\\\""),
            '\\' => o.push_str("\\\\"),
            '\u{85}' => o.push_str("\\N"),
            '\u{a0}' => o.push_str("\\_"),
            '\u{2028}' => o.push_str("\\L"),
            '\u{2029}' => o.push_str("\\P"),
            c if printable(c) => o.push(c),
            c if (c as u32) <= 0xFF => o.push_str(&format!("\\x{:02X}", c as u32)),
            c if (c as u32) <= 0xFFFF => o.push_str(&format!("\\u{:04X}", c as u32)),
            c => o.push_str(&format!("\\U{:08X}", c as u32)),
        }
    }
    o.push('"');
    o
}

/// Whether go-yaml may write a multi-line string as a literal block.
fn block_allowed(s: &str) -> bool {
    !special(s) && !s.contains(" \n") && !s.ends_with(' ')
}

fn style(s: &str) -> Style {
    // A tab rules out the plain and single-quoted styles (not a literal block).
    if resolves_to_other(s) || special(s) || s.contains('\t') {
        Style::Double
    } else if plain_allowed(s) {
        Style::Plain
    } else {
        Style::Single
    }
}

/// Whether go-yaml v3 would quote a string.
#[cfg(test)]
fn needs_quotes(s: &str) -> bool {
    style(s) != Style::Plain
}

fn yaml_scalar(s: &str) -> String {
    match style(s) {
        Style::Plain => s.to_string(),
        Style::Single => format!("'{}'", s.replace('\'', "''")),
        Style::Double => yaml_double(s),
    }
}

fn yaml_inline(n: &Node) -> Option<String> {
    Some(match &n.value {
        Value::Null => "null".into(),
        Value::Bool(b) => b.to_string(),
        Value::Int(i) => i.to_string(),
        // go-yaml writes the special floats in YAML's words.
        Value::Float(x) if x.is_nan() => ".nan".into(),
        Value::Float(x) if x.is_infinite() => if *x > 0.0 { ".inf" } else { "-.inf" }.into(),
        Value::Float(x) => go_float(*x),
        Value::Str(s) if n.tag == crate::yaml::Tag::Timestamp => {
            crate::yaml::go_timestamp(s).unwrap_or_else(|| yaml_scalar(s))
        }
        Value::Str(s) if s.contains('\n') && block_allowed(s) => return None,
        Value::Str(s) if s.contains('\n') => yaml_double(s),
        Value::Str(s) => yaml_scalar(s),
        Value::Seq(items) if items.is_empty() => "[]".into(),
        Value::Map(m) if m.is_empty() => "{}".into(),
        _ => return None,
    })
}

fn yaml_block_string(s: &str, indent: usize, out: &mut String) {
    // go-yaml's hints: an indentation indicator when the text starts with a blank,
    // `-` without a final line break, `+` with more than one.
    let hint = if s.starts_with([' ', '\n']) { "2" } else { "" };
    let chomp = if !s.ends_with('\n') {
        "-"
    } else if s == "\n" || s.ends_with("\n\n") {
        "+"
    } else {
        ""
    };
    out.push_str(&format!("|{hint}{chomp}\n"));
    let body = s.strip_suffix('\n').unwrap_or(s);
    for line in body.split('\n') {
        if !line.is_empty() {
            out.push_str(&"  ".repeat(indent));
            out.push_str(line);
        }
        out.push('\n');
    }
}

fn yaml_at(n: &Node, kind: Kind, indent: usize, out: &mut String) {
    // Called for a block mapping or sequence that starts on a fresh line.
    let pad = "  ".repeat(indent);
    match &n.value {
        Value::Map(_) => {
            for (k, v, ck) in ordered(n, kind, false, true) {
                out.push_str(&pad);
                out.push_str(&yaml_scalar(k));
                out.push(':');
                yaml_value(v, ck, indent, out);
            }
        }
        Value::Seq(items) => {
            for it in items {
                out.push_str(&pad);
                out.push('-');
                match &it.value {
                    Value::Map(m) if !m.is_empty() => {
                        // The first key goes on the dash's line.
                        let mut sub = String::new();
                        yaml_at(it, item_kind(kind), indent + 1, &mut sub);
                        out.push(' ');
                        out.push_str(sub.trim_start());
                    }
                    _ => yaml_value(it, item_kind(kind), indent, out),
                }
            }
        }
        _ => {}
    }
}

/// A value after `key:` or `-`.
fn yaml_value(v: &Node, kind: Kind, indent: usize, out: &mut String) {
    if let Some(t) = yaml_inline(v) {
        out.push(' ');
        out.push_str(&t);
        out.push('\n');
        return;
    }
    match &v.value {
        Value::Str(s) => {
            out.push(' ');
            yaml_block_string(s, indent + 1, out);
        }
        _ => {
            out.push('\n');
            yaml_at(v, kind, indent + 1, out);
        }
    }
}

/// The project as `config` prints it.
pub fn project_yaml(model: &Node) -> String {
    let mut out = String::new();
    yaml_at(model, PROJECT_YAML, 0, &mut out);
    out
}

/// Fields the YAML form leaves out when empty or null (Go's `omitempty` on structs that
/// JSON keeps).
pub fn for_yaml(model: &Node) -> Node {
    let mut m = model.clone();
    if let Some(svcs) = m.get_mut("services").and_then(Node::as_map_mut) {
        for (_, s) in svcs.iter_mut() {
            for k in ["command", "entrypoint"] {
                if s.get(k).is_some_and(Node::is_null) {
                    s.remove(k);
                }
            }
            // An empty watch `exec` hook is a zero struct, which go-yaml leaves out.
            if let Some(Value::Seq(rules)) = s
                .get_mut("develop")
                .and_then(|d| d.get_mut("watch"))
                .map(|w| &mut w.value)
            {
                for r in rules.iter_mut() {
                    let empty = r
                        .get("exec")
                        .and_then(Node::as_map)
                        .is_some_and(|m| m.iter().all(|(_, v)| v.is_null()));
                    if empty {
                        r.remove("exec");
                    }
                }
            }
            if let Some(d) = s.get_mut("deploy") {
                for k in ["resources", "placement"] {
                    if d.get(k).and_then(Node::as_map).is_some_and(Vec::is_empty) {
                        d.remove(k);
                    }
                }
            }
        }
    }
    if let Some(nets) = m.get_mut("networks").and_then(Node::as_map_mut) {
        for (_, n) in nets.iter_mut() {
            if n.get("ipam")
                .and_then(Node::as_map)
                .is_some_and(Vec::is_empty)
            {
                n.remove("ipam");
            }
        }
    }
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yaml_quoting() {
        assert!(needs_quotes("8080"));
        assert!(needs_quotes("true"));
        assert!(needs_quotes(""));
        assert!(!needs_quotes("nginx:latest"));
        assert!(!needs_quotes("/tmp/x"));
        assert!(!needs_quotes("1m30s"));
        assert!(needs_quotes("a: b"));
    }

    #[test]
    fn yaml_keys_in_go_yaml_order() {
        use std::cmp::Ordering::{Greater, Less};
        // A non-letter sorts before a letter; digit runs compare as numbers.
        assert_eq!(
            go_yaml_key_cmp("DB_DATA_LOCATION", "DB_DATABASE_NAME"),
            Less
        );
        assert_eq!(
            go_yaml_key_cmp("KAFKA_LOG4J", "KAFKA_LOG_RETENTION"),
            Greater
        );
        assert_eq!(go_yaml_key_cmp("minio2", "minio10"), Less);
        assert_eq!(go_yaml_key_cmp("a", "ab"), Less);
        assert_eq!(go_yaml_key_cmp("B", "a"), Less);
        let n = crate::yaml::parse("services:\n  web:\n    environment: {DB_DATABASE_NAME: a, DB_DATA_LOCATION: b}\n    hostname: ''\n")
            .expect("the YAML parses");
        // JSON keeps Go's byte order.
        assert!(project_json(&n).contains("\"DB_DATABASE_NAME\": \"a\",\n"));
        // An empty string field is left out (omitempty).
        assert_eq!(
            project_yaml(&n),
            "services:\n  web:\n    environment:\n      DB_DATA_LOCATION: b\n      DB_DATABASE_NAME: a\n"
        );
    }

    #[test]
    fn zero_ulimit_halves_left_out_of_json() {
        let mut n = crate::yaml::parse(
            "ulimits: {nofile: {soft: 0, hard: 0}, nproc: {soft: 0, hard: 5}}\n",
        )
        .expect("the YAML parses");
        go_json_names(&mut n);
        assert_eq!(
            n.to_json().to_string(),
            r#"{"ulimits":{"nofile":{},"nproc":{"hard":5}}}"#
        );
    }

    #[test]
    fn timestamps_in_extensions_print_as_go_times() {
        let n =
            crate::yaml::parse("x-d: 2020-01-01\nx-q: '2020-01-01'\n").expect("the YAML parses");
        assert_eq!(
            sorted_yaml(&n),
            "x-d: 2020-01-01T00:00:00Z\nx-q: \"2020-01-01\"\n"
        );
        assert!(project_json(&n).contains("\"x-d\": \"2020-01-01T00:00:00Z\""));
    }

    #[test]
    fn special_floats_in_yaml() {
        let n = crate::yaml::parse("x-f: [.inf, -.Inf, .nan, 1e6]\n").expect("the YAML parses");
        assert_eq!(
            sorted_yaml(&n),
            "x-f:\n  - .inf\n  - -.inf\n  - .nan\n  - 1e+06\n"
        );
    }

    #[test]
    fn yaml_layout() {
        let n = crate::yaml::parse("name: p\nservices:\n  web:\n    image: x\n    ports:\n      - {mode: ingress, target: 80, published: '8080'}\n    command: [a, b]\n").expect("the YAML parses");
        let y = project_yaml(&n);
        assert_eq!(y, "name: p\nservices:\n  web:\n    command:\n      - a\n      - b\n    image: x\n    ports:\n      - mode: ingress\n        target: 80\n        published: \"8080\"\n");
    }

    #[test]
    fn yaml_string_styles() {
        assert_eq!(yaml_scalar("plain"), "plain");
        assert_eq!(yaml_scalar("yes"), "\"yes\"");
        assert_eq!(yaml_scalar("0755"), "\"0755\"");
        assert_eq!(yaml_scalar("1:20"), "\"1:20\"");
        assert_eq!(yaml_scalar("2001-12-14"), "\"2001-12-14\"");
        assert_eq!(yaml_scalar("[x]"), "'[x]'");
        assert_eq!(yaml_scalar("a: b"), "'a: b'");
        assert_eq!(yaml_scalar("-"), "'-'");
        assert_eq!(yaml_scalar("a #b"), "'a #b'");
        assert_eq!(yaml_scalar(" x"), "' x'");
        assert_eq!(yaml_scalar("*"), "'*'");
        assert_eq!(yaml_scalar("it's: x"), "'it''s: x'");
        assert_eq!(yaml_scalar("a\tb"), "\"a\\tb\"");
        assert_eq!(yaml_scalar("-x"), "-x");
        assert_eq!(yaml_scalar(":x"), ":x");
        assert_eq!(yaml_scalar("a#b"), "a#b");
        assert_eq!(yaml_scalar("<<"), "<<");
    }

    #[test]
    fn blkio_json_names() {
        let mut n = crate::yaml::parse("blkio_config: {device_read_bps: [{path: /dev/sda, rate: '1'}], weight_device: [{path: /dev/sdb, weight: 2}]}\n")
            .expect("the YAML parses");
        go_json_names(&mut n);
        assert_eq!(
            n.to_json().to_string(),
            r#"{"blkio_config":{"device_read_bps":[{"Path":"/dev/sda","Rate":"1"}],"weight_device":[{"Path":"/dev/sdb","Weight":2}]}}"#
        );
    }

    #[test]
    fn empty_watch_exec_is_not_yaml() {
        let n = crate::yaml::parse("services: {app: {develop: {watch: [{path: /a, action: rebuild, exec: {command: null}}]}}}\n")
            .expect("the YAML parses");
        let y = for_yaml(&n);
        assert!(y
            .get("services")
            .and_then(|s| s.get("app"))
            .and_then(|a| a.get("develop"))
            .and_then(|d| d.get("watch"))
            .and_then(Node::as_seq)
            .and_then(|w| w.first())
            .is_some_and(|r| r.get("exec").is_none()));
    }

    #[test]
    fn yaml_multiline_and_unprintable_strings() {
        assert_eq!(yaml_scalar("héllo 🎉"), "\"héllo \\U0001F389\"");
        assert_eq!(yaml_scalar("a\rb"), "\"a\\rb\"");
        let block = |s: &str| {
            let mut o = String::new();
            yaml_value(&Node::str(s), Kind::Any, 0, &mut o);
            o
        };
        assert_eq!(block("a\nb"), " |-\n  a\n  b\n");
        assert_eq!(block("a\nb\n"), " |\n  a\n  b\n");
        assert_eq!(block("a\nb\n\n"), " |+\n  a\n  b\n\n");
        assert_eq!(block("\na"), " |2-\n\n  a\n");
        assert_eq!(block("  a\n b"), " |2-\n    a\n   b\n");
        assert_eq!(block("a\n\tb"), " |-\n  a\n  \tb\n");
        // A space before a line break, or a trailing space, needs double quotes.
        assert_eq!(block("x \ny"), " \"x \\ny\"\n");
        assert_eq!(block("x\ny "), " \"x\\ny \"\n");
    }
}
