//! Short syntaxes made long (compose-go's `transform.Canonical` and
//! `SetDefaultValues`), and the values compose-go's types normalise on decoding:
//! durations as Go prints them, byte sizes as byte counts, commands split as a shell
//! would, `KEY=VALUE` lists as mappings.

use crate::yaml::{go_float, Node, Value};

/// A parsed short volume (`SRC:DST:MODE`).
#[derive(Debug, Default, Clone, PartialEq)]
pub struct ShortVolume {
    pub kind: &'static str,
    pub source: String,
    pub target: String,
    pub read_only: bool,
    pub selinux: String,
    pub propagation: String,
    pub nocopy: bool,
}

fn is_windows_drive(buf: &[char], c: char) -> bool {
    c == ':' && buf.len() == 1 && buf[0].is_alphabetic()
}

fn is_file_path(s: &str) -> bool {
    match s.chars().next() {
        None => false,
        Some('.' | '/' | '~') => true,
        Some(_) if s.starts_with("\\\\") => true,
        Some(c) => {
            let mut it = s.chars();
            it.next();
            it.next().is_some_and(|n| is_windows_drive(&[c], n))
        }
    }
}

/// compose-go's `ParseVolume`.
pub fn parse_volume(spec: &str) -> Result<ShortVolume, String> {
    let mut v = ShortVolume::default();
    let n = spec.chars().count();
    if n == 0 {
        return Err("invalid empty volume spec".into());
    }
    if n <= 2 {
        v.target = spec.to_string();
        v.kind = "volume";
        return Ok(v);
    }
    let chars: Vec<char> = spec.chars().collect();
    let mut buf: Vec<char> = Vec::new();
    let mut depth = 0;
    let mut i = 0;
    while i <= chars.len() {
        let end = i == chars.len();
        let c = if end { '\0' } else { chars[i] };
        if !end && c == '$' && chars.get(i + 1) == Some(&'{') {
            depth += 1;
            buf.push(c);
        } else if !end && c == '}' && depth > 0 {
            depth -= 1;
            buf.push(c);
        } else if !end && is_windows_drive(&buf, c) {
            buf.push(c);
        } else if (c == ':' || end) && depth == 0 {
            let s: String = buf.iter().collect();
            if buf.is_empty() {
                return Err(format!(
                    "invalid spec: {spec}: empty section between colons"
                ));
            } else if v.source.is_empty() && end {
                v.target = s;
            } else if v.source.is_empty() {
                v.source = s;
            } else if v.target.is_empty() {
                v.target = s;
            } else if c == ':' {
                return Err(format!("invalid spec: {spec}: too many colons"));
            } else {
                for opt in s.split(',') {
                    match opt {
                        "ro" => v.read_only = true,
                        "rw" => v.read_only = false,
                        "nocopy" => v.nocopy = true,
                        "rprivate" | "private" | "rshared" | "shared" | "rslave" | "slave" => {
                            v.propagation = opt.into()
                        }
                        "z" | "Z" => v.selinux = opt.into(),
                        _ => {}
                    }
                }
            }
            buf.clear();
        } else {
            buf.push(c);
        }
        i += 1;
    }
    v.kind = if is_file_path(&v.source) {
        "bind"
    } else {
        "volume"
    };
    Ok(v)
}

fn s(x: impl Into<String>) -> Node {
    Node::str(x)
}

fn b(x: bool) -> Node {
    Node::new(Value::Bool(x))
}

fn i(x: i64) -> Node {
    Node::new(Value::Int(x))
}

/// compose-go's `transformMaybeExternal` for the top-level resources: the legacy
/// `external: {name: X}` becomes `external: true` with `name: X`, with a warning
/// (`networks.proxy: external.name is deprecated...`); a different `name` is an error.
pub fn legacy_externals(doc: &mut Node, warn: fn(&str)) -> Result<(), String> {
    for kind in ["volumes", "networks", "secrets", "configs"] {
        let Some(m) = doc.get_mut(kind).and_then(Node::as_map_mut) else {
            continue;
        };
        for (k, v) in m.iter_mut() {
            let Some(ext) = v.get("external").filter(|e| e.as_map().is_some()) else {
                continue;
            };
            let ext_name = ext.get("name").cloned();
            let line = ext.line;
            v.set("external", b(true).at(line));
            if let Some(en) = ext_name {
                warn(&format!(
                    "{kind}.{k}: external.name is deprecated. Please set name and external: true"
                ));
                match v.get("name") {
                    Some(n) if n.value != en.value => {
                        return Err(format!(
                            "{kind}.{k}: name and external.name conflict; only use name"
                        ));
                    }
                    Some(_) => {}
                    None => v.set("name", en),
                }
            }
        }
    }
    Ok(())
}

/// A volume in the short syntax in its long form.
pub(crate) fn short_volume(spec: &str, line: usize) -> Result<Node, String> {
    let v = parse_volume(spec)?;
    let mut m: Vec<(String, Node)> = vec![("type".into(), s(v.kind))];
    if !v.source.is_empty() {
        m.push(("source".into(), s(&v.source)));
    }
    m.push(("target".into(), s(&v.target)));
    if v.read_only {
        m.push(("read_only".into(), b(true)));
    }
    // compose-go keeps `z`/`Z` and propagation options whatever the type (a named
    // volume `db:/x:z` gets `bind: {selinux: z}`), and `nocopy` on a bind too.
    let is_bind = v.kind == "bind";
    if is_bind || !v.selinux.is_empty() || !v.propagation.is_empty() {
        let mut bind = Vec::new();
        if !v.selinux.is_empty() {
            bind.push(("selinux".into(), s(&v.selinux)));
        }
        if !v.propagation.is_empty() {
            bind.push(("propagation".into(), s(&v.propagation)));
        }
        if is_bind {
            bind.push(("create_host_path".into(), b(true)));
        }
        m.push(("bind".into(), Node::map(bind)));
    }
    if v.nocopy || (!is_bind && (!v.source.is_empty() || spec.chars().count() > 2)) {
        let mut vol = Vec::new();
        if v.nocopy {
            vol.push(("nocopy".into(), b(true)));
        }
        m.push(("volume".into(), Node::map(vol)));
    }
    Ok(Node::map(m).at(line))
}

/// One port in nat's grammar: `[[IP:]PUBLISHED:]TARGET[/PROTO]`, with ranges.
pub fn parse_ports(spec: &str, line: usize) -> Result<Vec<Node>, String> {
    let (rest, proto) = match spec.rsplit_once('/') {
        Some((r, p)) => (r, p.to_ascii_lowercase()),
        None => (spec, "tcp".to_string()),
    };
    // IPv6 addresses come in brackets.
    let (ip, rest) = if let Some(r) = rest.strip_prefix('[') {
        let (addr, after) = r
            .split_once(']')
            .ok_or_else(|| format!("invalid IP address: {spec}"))?;
        (
            addr.to_string(),
            after.strip_prefix(':').unwrap_or(after).to_string(),
        )
    } else {
        let parts: Vec<&str> = rest.split(':').collect();
        match parts.len() {
            1 | 2 => (String::new(), rest.to_string()),
            3 => (parts[0].to_string(), format!("{}:{}", parts[1], parts[2])),
            _ => {
                // An unbracketed IPv6 address: the last two parts are the ports.
                let n = parts.len();
                (
                    parts[..n - 2].join(":"),
                    format!("{}:{}", parts[n - 2], parts[n - 1]),
                )
            }
        }
    };
    let (published, target) = match rest.split_once(':') {
        Some((p, t)) => (p.to_string(), t.to_string()),
        None => (String::new(), rest.clone()),
    };
    if target.is_empty() {
        return Err(format!("no port specified: {spec}<empty>"));
    }
    let range = |r: &str| -> Result<(u32, u32), String> {
        let (a, z) = r.split_once('-').unwrap_or((r, r));
        let a: u32 = a
            .parse()
            .map_err(|_| format!("invalid containerPort: {target}"))?;
        let z: u32 = z
            .parse()
            .map_err(|_| format!("invalid containerPort: {target}"))?;
        if z < a || z > 65535 {
            return Err(format!("invalid containerPort: {target}"));
        }
        Ok((a, z))
    };
    if !ip.is_empty() && ip.parse::<std::net::IpAddr>().is_err() {
        return Err(format!("invalid IP address: {ip}"));
    }
    if !matches!(proto.as_str(), "tcp" | "udp" | "sctp") {
        return Err(format!("invalid proto: {proto}"));
    }
    let (t0, t1) = range(&target)?;
    let prange = if published.is_empty() {
        None
    } else {
        let (a, z) = published
            .split_once('-')
            .unwrap_or((&published, &published));
        let a: u32 = a
            .parse()
            .map_err(|_| format!("invalid hostPort: {published}"))?;
        let z: u32 = z
            .parse()
            .map_err(|_| format!("invalid hostPort: {published}"))?;
        if a > 65535 || z > 65535 || z < a {
            return Err(format!("invalid hostPort: {published}"));
        }
        Some((a, z))
    };
    let mut out = Vec::new();
    for (k, t) in (t0..=t1).enumerate() {
        let publ = match prange {
            None => String::new(),
            Some((a, z)) if t0 == t1 => {
                if a == z {
                    a.to_string()
                } else {
                    format!("{a}-{z}")
                }
            }
            Some((a, z)) => {
                if z - a != t1 - t0 {
                    return Err(format!(
                        "invalid ranges specified for container and host Ports: {target} and {published}"
                    ));
                }
                (a + k as u32).to_string()
            }
        };
        let mut m = vec![("mode".to_string(), s("ingress"))];
        if !ip.is_empty() {
            m.push(("host_ip".into(), s(&ip)));
        }
        m.push(("target".into(), i(t as i64)));
        if !publ.is_empty() {
            m.push(("published".into(), s(publ)));
        }
        m.push(("protocol".into(), s(&proto)));
        out.push(Node::map(m).at(line));
    }
    // nat sorts the ports by their text (`80/tcp` < `8080/tcp`).
    out.sort_by_key(|n| {
        format!(
            "{}/{}",
            n.get("target")
                .and_then(Node::scalar_text)
                .unwrap_or_default(),
            proto
        )
    });
    Ok(out)
}

/// `KEY=VALUE` list (or mapping) as a mapping; a key without `=` maps to `missing`.
pub fn key_values(n: &Node, missing: Option<&str>) -> Node {
    match &n.value {
        Value::Seq(items) => {
            let mut m: Vec<(String, Node)> = Vec::new();
            for it in items {
                let t = it.scalar_text().unwrap_or_default();
                let (k, v) = match t.split_once('=') {
                    Some((k, v)) => (k.to_string(), s(v)),
                    None => (t.clone(), missing.map_or(Node::new(Value::Null), s)),
                };
                if let Some(slot) = m.iter_mut().find(|(x, _)| *x == k) {
                    slot.1 = v.at(it.line);
                } else {
                    m.push((k, v.at(it.line)));
                }
            }
            Node::map(m).at(n.line)
        }
        Value::Map(m) => Node::map(
            m.iter()
                .map(|(k, v)| {
                    let v2 = match &v.value {
                        Value::Null => missing.map_or(Node::new(Value::Null), s),
                        _ => s(v.scalar_text().unwrap_or_default()),
                    };
                    (k.clone(), v2.at(v.line))
                })
                .collect(),
        )
        .at(n.line),
        _ => n.clone(),
    }
}

/// Go's `time.Duration.String()` of a compose duration (`1m30s`, `500ms`, `0s`).
pub fn go_duration(text: &str) -> Result<String, String> {
    let nanos = parse_duration(text)?;
    Ok(format_duration(nanos))
}

/// A Go duration (`1h2m3.5s`, `300ms`; a bare number is seconds, as compose reads it) in
/// nanoseconds.
pub fn parse_duration(text: &str) -> Result<i64, String> {
    let t = text.trim();
    if let Ok(n) = t.parse::<f64>() {
        return Ok((n * 1e9) as i64);
    }
    let bad = || format!("time: invalid duration {:?}", text);
    let (neg, mut rest) = match t.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, t.strip_prefix('+').unwrap_or(t)),
    };
    if rest.is_empty() {
        return Err(bad());
    }
    let mut total: f64 = 0.0;
    while !rest.is_empty() {
        let num_end = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .ok_or_else(|| format!("time: missing unit in duration {:?}", text))?;
        let num: f64 = rest[..num_end].parse().map_err(|_| bad())?;
        let after = &rest[num_end..];
        let unit_end = after
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(after.len());
        let mult = match &after[..unit_end] {
            "ns" => 1.0,
            "us" | "µs" | "μs" => 1e3,
            "ms" => 1e6,
            "s" => 1e9,
            "m" => 60e9,
            "h" => 3600e9,
            "" => return Err(format!("time: missing unit in duration {:?}", text)),
            u => return Err(format!("time: unknown unit {u:?} in duration {:?}", text)),
        };
        total += num * mult;
        rest = &after[unit_end..];
    }
    Ok(if neg { -(total as i64) } else { total as i64 })
}

/// Go's `Duration.String`.
pub fn format_duration(d: i64) -> String {
    if d == 0 {
        return "0s".into();
    }
    let neg = d < 0;
    let u = d.unsigned_abs();
    let sign = if neg { "-" } else { "" };
    if u < 1_000_000_000 {
        let (unit, div) = if u < 1_000 {
            ("ns", 1)
        } else if u < 1_000_000 {
            ("µs", 1_000)
        } else {
            ("ms", 1_000_000)
        };
        return format!("{sign}{}{unit}", frac(u, div));
    }
    let h = u / 3_600_000_000_000;
    let rem = u % 3_600_000_000_000;
    let m = rem / 60_000_000_000;
    let sec = rem % 60_000_000_000;
    let mut out = sign.to_string();
    if h > 0 {
        out.push_str(&format!("{h}h"));
    }
    if h > 0 || m > 0 {
        out.push_str(&format!("{m}m"));
    }
    out.push_str(&format!("{}s", frac(sec, 1_000_000_000)));
    out
}

fn frac(v: u64, div: u64) -> String {
    let whole = v / div;
    let f = v % div;
    if f == 0 {
        return whole.to_string();
    }
    let width = div.to_string().len() - 1;
    let digits = format!("{f:0width$}");
    format!("{whole}.{}", digits.trim_end_matches('0'))
}

/// Docker's `RAMInBytes` (go-units' `parseSize` with binary units): `512m`, `1g`,
/// `1.5GB`, `10 MiB`, a bare number of bytes; its errors word for word.
pub fn ram_bytes(text: &str) -> Result<i64, String> {
    let Some(sep) = text.rfind(|c: char| c.is_ascii_digit() || c == '.' || c == ' ') else {
        return Err(format!("invalid size: '{text}'"));
    };
    let (num, sfx) = if text.as_bytes()[sep] == b' ' {
        (&text[..sep], &text[sep + 1..])
    } else {
        (&text[..=sep], &text[sep + 1..])
    };
    let size: f64 = num.parse().map_err(|_| {
        format!(
            "strconv.ParseFloat: parsing {}: invalid syntax",
            crate::interpolate::go_quote(num)
        )
    })?;
    if size < 0.0 {
        return Err(format!("invalid size: '{text}'"));
    }
    if sfx.is_empty() {
        return Ok(size as i64);
    }
    let bad = |s: &str| Err(format!("invalid suffix: '{s}'"));
    if sfx.len() > 3 {
        return bad(sfx);
    }
    let lower = sfx.to_lowercase();
    let b = lower.as_bytes();
    if b[0] == b'b' {
        return if b.len() > 1 {
            bad(&lower)
        } else {
            Ok(size as i64)
        };
    }
    let mult: f64 = match b[0] {
        b'k' => 1024.0,
        b'm' => 1024f64.powi(2),
        b'g' => 1024f64.powi(3),
        b't' => 1024f64.powi(4),
        b'p' => 1024f64.powi(5),
        _ => return bad(&lower),
    };
    if (b.len() == 2 && b[1] != b'b') || (b.len() == 3 && &b[1..] != b"ib") {
        return bad(&lower);
    }
    Ok((size * mult) as i64)
}

fn bytes_node(n: &Node) -> Result<Node, String> {
    let v = match &n.value {
        Value::Int(i) => *i,
        Value::Float(f) => *f as i64,
        Value::Str(t) => ram_bytes(t)?,
        _ => return Ok(n.clone()),
    };
    Ok(s(v.to_string()).at(n.line))
}

fn duration_node(n: &Node) -> Result<Node, String> {
    match &n.value {
        Value::Str(t) => Ok(s(go_duration(t)?).at(n.line)),
        Value::Int(v) => Ok(s(format_duration(*v * 1_000_000_000)).at(n.line)),
        _ => Ok(n.clone()),
    }
}

fn float_node(n: &Node) -> Result<Node, String> {
    match &n.value {
        Value::Str(t) => t
            .trim()
            .parse::<f64>()
            .map(|f| Node::new(Value::Float(f)).at(n.line))
            .map_err(|_| format!("invalid cpus value {t:?}")),
        Value::Int(v) => Ok(Node::new(Value::Float(*v as f64)).at(n.line)),
        _ => Ok(n.clone()),
    }
}

/// A shell-like command line split into words (go-shellwords' rules for what compose
/// files hold: quotes, backslashes, no expansion).
pub fn split_command(text: &str) -> Result<Vec<String>, String> {
    shlex::split(text).ok_or_else(|| "invalid command line string".to_string())
}

fn command_node(n: &Node) -> Result<Node, String> {
    match &n.value {
        Value::Str(t) => Ok(Node::new(Value::Seq(
            split_command(t)?.into_iter().map(Node::str).collect(),
        ))
        .at(n.line)),
        Value::Seq(items) => Ok(Node::new(Value::Seq(
            items
                .iter()
                .map(|x| s(x.scalar_text().unwrap_or_default()).at(x.line))
                .collect(),
        ))
        .at(n.line)),
        _ => Ok(n.clone()),
    }
}

fn string_or_list(n: &Node) -> Node {
    match &n.value {
        Value::Str(_) => Node::new(Value::Seq(vec![n.clone()])).at(n.line),
        _ => n.clone(),
    }
}

fn transform<F>(m: &mut Node, key: &str, f: F) -> Result<(), String>
where
    F: FnOnce(&Node) -> Result<Node, String>,
{
    if let Some(v) = m.get(key) {
        if v.is_null() {
            return Ok(());
        }
        let nv = f(v)?;
        m.set(key, nv);
    }
    Ok(())
}

const DECODING: &str = "decoding failed due to the following error(s):";

/// mapstructure's report of a value that does not decode (`path` as it writes it:
/// `services[app].healthcheck.interval`); an error already in that form is kept.
fn decode(path: &str, e: String) -> String {
    if e.starts_with(DECODING) {
        e
    } else {
        format!("{DECODING}\n\n'{path}' {e}")
    }
}

/// The canonical forms compose-go gives a service before it is typed (what
/// `config --no-interpolate` prints): long forms of build, dependencies, env files,
/// ports, volumes, secrets and configs; values (environment, commands, sizes) as written.
/// A port or volume that does not parse (it may hold a `${...}`) is kept as written.
pub fn raw_service(svc: &mut Node) {
    if let Some(b) = svc.get_mut("build") {
        if let Value::Str(_) = b.value {
            *b = Node::map(vec![("context".into(), b.clone())]).at(b.line);
        }
        if b.as_map().is_some() && b.get("context").is_none() {
            b.set("context", s("."));
        }
        if let Some(Value::Seq(items)) = b.get_mut("secrets").map(|x| &mut x.value) {
            for it in items.iter_mut() {
                if let Value::Str(src) = &it.value {
                    *it = Node::map(vec![("source".into(), s(src))]).at(it.line);
                }
            }
        }
        let _ = transform(b, "ssh", |x| Ok(ssh_keys(x)));
    }
    let _ = transform(svc, "depends_on", |d| Ok(depends_on_long(d)));
    let _ = transform(svc, "env_file", |e| Ok(env_file_long(e, false)));
    for k in ["dns", "label_file"] {
        let _ = transform(svc, k, |x| Ok(string_or_list(x)));
    }
    // compose-go's `transformGpus`: a string (`all`) is one request for all devices.
    let _ = transform(svc, "gpus", |g| {
        Ok(match &g.value {
            Value::Str(_) => Node::new(Value::Seq(vec![Node::map(vec![(
                "count".into(),
                s("all"),
            )])]))
            .at(g.line),
            _ => g.clone(),
        })
    });
    let _ = transform(svc, "extends", |e| {
        Ok(match &e.value {
            Value::Str(_) => Node::map(vec![("service".into(), e.clone())]).at(e.line),
            _ => e.clone(),
        })
    });
    for k in ["networks", "models"] {
        let _ = transform(svc, k, |n| Ok(crate::merge::to_mapping(n.clone(), false)));
    }
    if let Some(Value::Seq(items)) = svc.get_mut("volumes").map(|x| &mut x.value) {
        for it in items.iter_mut() {
            if let Value::Str(spec) = &it.value {
                if let Ok(mut v) = short_volume(spec, it.line) {
                    if let Some(Value::Str(t)) = v.get_mut("target").map(|t| &mut t.value) {
                        if !t.is_empty() {
                            *t = crate::load::clean(std::path::Path::new(t.as_str()))
                                .display()
                                .to_string();
                        }
                    }
                    *it = v;
                }
            }
        }
    }
    if let Some(Value::Seq(items)) = svc.get_mut("devices").map(|x| &mut x.value) {
        for it in items.iter_mut() {
            if let Value::Str(spec) = &it.value {
                *it = device_node(spec).at(it.line);
            }
        }
    }
    for (k, default_dir) in [("secrets", Some("/run/secrets/")), ("configs", None)] {
        if let Some(Value::Seq(items)) = svc.get_mut(k).map(|x| &mut x.value) {
            for it in items.iter_mut() {
                if let Value::Str(src) = &it.value {
                    *it = Node::map(vec![("source".into(), s(src))]).at(it.line);
                }
                if let (Some(dir), None) = (default_dir, it.get("target")) {
                    let src = it
                        .get("source")
                        .and_then(Node::scalar_text)
                        .unwrap_or_default();
                    it.set("target", s(format!("{dir}{src}")));
                }
            }
        }
    }
    if let Some(p) = svc.get("ports").and_then(Node::as_seq) {
        let mut out = Vec::new();
        let mut ok = true;
        for it in p {
            let parsed = match &it.value {
                Value::Str(spec) => parse_ports(spec, it.line),
                Value::Int(n) => parse_ports(&n.to_string(), it.line),
                _ => {
                    let mut it = it.clone();
                    if it.as_map().is_some() {
                        if it.get("mode").is_none() {
                            it.set("mode", s("ingress"));
                        }
                        if it.get("protocol").is_none() {
                            it.set("protocol", s("tcp"));
                        }
                    }
                    Ok(vec![it])
                }
            };
            match parsed {
                Ok(v) => out.extend(v),
                Err(_) => ok = false,
            }
        }
        if ok {
            svc.set("ports", Node::new(Value::Seq(out)));
        }
    }
}

/// Build SSH keys as a mapping (`default` alone maps to null, `id=path` to the path).
fn ssh_keys(x: &Node) -> Node {
    match &x.value {
        Value::Seq(items) => Node::map(
            items
                .iter()
                .filter_map(Node::scalar_text)
                .map(|t| match t.split_once('=') {
                    Some((id, p)) => (id.to_string(), s(p)),
                    None => (t, Node::new(Value::Null)),
                })
                .collect(),
        )
        .at(x.line),
        _ => x.clone(),
    }
}

/// A device in the short syntax (`SRC[:DST[:PERMISSIONS]]`).
fn device_node(spec: &str) -> Node {
    let p: Vec<&str> = spec.split(':').collect();
    let (src, dst, perm) = match p.len() {
        1 => (p[0], p[0], "rwm"),
        2 => (p[0], p[1], "rwm"),
        _ => (p[0], p[1], p[2]),
    };
    Node::map(vec![
        ("source".into(), s(src)),
        ("target".into(), s(dst)),
        ("permissions".into(), s(perm)),
    ])
}

/// Device requests with `count: all` as compose-go stores it (`-1`).
fn device_counts(d: &Node) -> Node {
    let mut d = d.clone();
    if let Value::Seq(items) = &mut d.value {
        for it in items.iter_mut() {
            match it.get("count").map(|c| &c.value) {
                Some(Value::Str(t)) if t == "all" => it.set("count", i(-1)),
                Some(Value::Str(t)) => {
                    if let Ok(n) = t.parse::<i64>() {
                        it.set("count", i(n));
                    }
                }
                _ => {}
            }
        }
    }
    d
}

/// compose-go's `HostsList`: entries grouped by host (`host=ip`, `host:ip`, comma
/// lists of addresses, the mapping form), brackets around an address removed, printed
/// as sorted `host=ip` lines.
pub fn extra_hosts(e: &Node) -> Result<Node, String> {
    let mut hosts: Vec<(String, Vec<String>)> = Vec::new();
    let mut add = |host: String, ips: Vec<String>| match hosts.iter_mut().find(|(h, _)| *h == host)
    {
        Some((_, v)) => v.extend(ips),
        None => hosts.push((host, ips)),
    };
    match &e.value {
        Value::Map(m) => {
            for (k, v) in m {
                let ips = match &v.value {
                    Value::Seq(items) => items
                        .iter()
                        .map(|x| x.scalar_text().unwrap_or_default())
                        .collect(),
                    _ => vec![v.scalar_text().unwrap_or_default()],
                };
                add(k.clone(), ips);
            }
        }
        Value::Seq(items) => {
            for x in items {
                let t = x.scalar_text().unwrap_or_default();
                let (host, ip) = t
                    .split_once('=')
                    .or_else(|| t.split_once(':'))
                    .ok_or_else(|| format!("invalid additional host, missing IP: {t}"))?;
                add(
                    host.to_string(),
                    ip.split(',').map(str::to_string).collect(),
                );
            }
        }
        _ => return Ok(e.clone()),
    }
    let mut out = Vec::new();
    for (host, ips) in hosts {
        if host.is_empty() || host.contains([':', '=']) {
            return Err(format!("bad host name '{host}'"));
        }
        for ip in ips {
            let ip = match ip.strip_prefix('[').and_then(|x| x.strip_suffix(']')) {
                Some(inner) if ip.len() > 2 => inner.to_string(),
                _ => ip,
            };
            out.push(format!("{host}={ip}"));
        }
    }
    out.sort();
    Ok(Node::new(Value::Seq(
        out.into_iter().map(Node::str).collect(),
    )))
}

/// Canonical (long) forms of one service, in place.
pub fn service(name: &str, svc: &mut Node) -> Result<(), String> {
    let at = |k: &str, e: String| decode(&format!("services[{name}].{k}"), e);
    transform(svc, "build", |b| {
        let mut b = match &b.value {
            Value::Str(_) => Node::map(vec![("context".into(), b.clone())]).at(b.line),
            _ => b.clone(),
        };
        for k in ["args", "labels"] {
            transform(&mut b, k, |x| Ok(key_values(x, None)))?;
        }
        transform(&mut b, "additional_contexts", |x| Ok(key_values(x, None)))?;
        transform(&mut b, "shm_size", bytes_node).map_err(|e| at("build.shm_size", e))?;
        transform(&mut b, "extra_hosts", |e| Ok(extra_hosts(e)?.at(e.line)))?;
        // Typed, SSH keys are `id` or `id=path` items.
        transform(&mut b, "ssh", |x| {
            Ok(match &x.value {
                Value::Map(m) => Node::new(Value::Seq(
                    m.iter()
                        .map(|(k, v)| match v.scalar_text().filter(|p| !p.is_empty()) {
                            Some(p) => s(format!("{k}={p}")),
                            None => s(k),
                        })
                        .collect(),
                ))
                .at(x.line),
                _ => x.clone(),
            })
        })?;
        // Build secrets: the short form is a source, with no default target.
        transform(&mut b, "secrets", |x| {
            Ok(match &x.value {
                Value::Seq(items) => Node::new(Value::Seq(
                    items
                        .iter()
                        .map(|it| match &it.value {
                            Value::Str(src) => {
                                Node::map(vec![("source".into(), s(src))]).at(it.line)
                            }
                            _ => it.clone(),
                        })
                        .collect(),
                ))
                .at(x.line),
                _ => x.clone(),
            })
        })?;
        if b.get("context").is_none() {
            b.set("context", s("."));
        }
        Ok(b)
    })?;
    transform(svc, "depends_on", |d| Ok(depends_on_long(d)))?;
    transform(svc, "env_file", |e| Ok(env_file_long(e, true)))?;
    transform(svc, "extends", |e| {
        Ok(match &e.value {
            Value::Str(_) => Node::map(vec![("service".into(), e.clone())]).at(e.line),
            _ => e.clone(),
        })
    })?;
    transform(svc, "networks", |n| {
        Ok(crate::merge::to_mapping(n.clone(), false))
    })?;
    transform(svc, "models", |n| {
        Ok(crate::merge::to_mapping(n.clone(), false))
    })?;
    transform(svc, "volumes", |v| {
        let Some(items) = v.as_seq() else {
            return Ok(v.clone());
        };
        let mut out = Vec::new();
        for (idx, it) in items.iter().enumerate() {
            match &it.value {
                Value::Str(spec) => out.push(short_volume(spec, it.line)?),
                _ => {
                    // The long syntax gets no `create_host_path` default.
                    let mut it = it.clone();
                    if it.get("type").and_then(Node::as_str) == Some("bind")
                        && it
                            .get("source")
                            .and_then(Node::scalar_text)
                            .is_none_or(|s| s.is_empty())
                    {
                        return Err(
                            "invalid mount config for type \"bind\": field Source must not be empty"
                                .into(),
                        );
                    }
                    transform(&mut it, "tmpfs", |t| {
                        let mut t = t.clone();
                        transform(&mut t, "size", bytes_node)
                            .map_err(|e| at(&format!("volumes[{idx}].tmpfs.size"), e))?;
                        Ok(t)
                    })?;
                    out.push(it)
                }
            }
        }
        Ok(Node::new(Value::Seq(out)).at(v.line))
    })?;
    for k in ["dns", "dns_search", "tmpfs", "label_file"] {
        transform(svc, k, |x| Ok(string_or_list(x)))?;
    }
    transform(svc, "devices", |d| {
        let Some(items) = d.as_seq() else {
            return Ok(d.clone());
        };
        Ok(Node::new(Value::Seq(
            items
                .iter()
                .map(|it| match &it.value {
                    Value::Str(spec) => device_node(spec).at(it.line),
                    _ => it.clone(),
                })
                .collect(),
        ))
        .at(d.line))
    })?;
    for (k, default_dir) in [("secrets", "/run/secrets/"), ("configs", "/")] {
        transform(svc, k, |x| {
            let Some(items) = x.as_seq() else {
                return Ok(x.clone());
            };
            Ok(Node::new(Value::Seq(
                items
                    .iter()
                    .map(|it| {
                        let mut it = match &it.value {
                            Value::Str(src) => {
                                Node::map(vec![("source".into(), s(src))]).at(it.line)
                            }
                            _ => it.clone(),
                        };
                        if k == "secrets" {
                            let src = it
                                .get("source")
                                .and_then(Node::scalar_text)
                                .unwrap_or_default();
                            // A relative target is kept as written.
                            if it.get("target").is_none() {
                                it.set("target", s(format!("{default_dir}{src}")));
                            }
                        }
                        transform(&mut it, "mode", |m| {
                            Ok(match &m.value {
                                Value::Int(v) => s(format!("0{v:o}")),
                                Value::Str(t) => {
                                    match i64::from_str_radix(t.trim_start_matches("0o"), 8) {
                                        Ok(v) => s(format!("0{v:o}")),
                                        Err(_) => m.clone(),
                                    }
                                }
                                _ => m.clone(),
                            })
                        })
                        .ok();
                        it
                    })
                    .collect(),
            ))
            .at(x.line))
        })?;
    }
    transform(svc, "ports", |p| {
        let Some(items) = p.as_seq() else {
            return Ok(p.clone());
        };
        let mut out = Vec::new();
        for it in items {
            match &it.value {
                Value::Str(spec) => out.extend(parse_ports(spec, it.line)?),
                Value::Int(n) => out.extend(parse_ports(&n.to_string(), it.line)?),
                _ => {
                    let mut it = it.clone();
                    if it.get("mode").is_none() {
                        it.set("mode", s("ingress"));
                    }
                    if it.get("protocol").is_none() {
                        it.set("protocol", s("tcp"));
                    }
                    transform(&mut it, "published", |x| {
                        Ok(s(x.scalar_text().unwrap_or_default()).at(x.line))
                    })?;
                    out.push(it);
                }
            }
        }
        Ok(Node::new(Value::Seq(out)).at(p.line))
    })?;
    // Both are lists of strings in compose-go's types (`group_add: [1001]` is "1001").
    for k in ["expose", "group_add"] {
        transform(svc, k, |e| {
            Ok(match &e.value {
                Value::Seq(items) => Node::new(Value::Seq(
                    items
                        .iter()
                        .map(|x| s(x.scalar_text().unwrap_or_default()).at(x.line))
                        .collect(),
                ))
                .at(e.line),
                _ => e.clone(),
            })
        })?;
    }
    transform(svc, "environment", |e| Ok(key_values(e, None)))?;
    for k in ["labels", "annotations"] {
        transform(svc, k, |e| Ok(key_values(e, Some(""))))?;
    }
    transform(svc, "sysctls", |e| Ok(key_values(e, Some(""))))?;
    transform(svc, "extra_hosts", |e| Ok(extra_hosts(e)?.at(e.line)))?;
    for k in ["command", "entrypoint"] {
        transform(svc, k, command_node).map_err(|e| at(k, e))?;
    }
    transform(svc, "healthcheck", |h| {
        let mut h = h.clone();
        transform(&mut h, "test", |t| {
            Ok(match &t.value {
                Value::Str(c) => Node::new(Value::Seq(vec![s("CMD-SHELL"), s(c)])).at(t.line),
                _ => command_node(t)?,
            })
        })?;
        for k in ["timeout", "interval", "start_period", "start_interval"] {
            transform(&mut h, k, duration_node).map_err(|e| at(&format!("healthcheck.{k}"), e))?;
        }
        Ok(h)
    })?;
    transform(svc, "stop_grace_period", duration_node).map_err(|e| at("stop_grace_period", e))?;
    for k in [
        "mem_limit",
        "mem_reservation",
        "memswap_limit",
        "mem_swappiness",
        "shm_size",
    ] {
        transform(svc, k, bytes_node).map_err(|e| at(k, e))?;
    }
    transform(svc, "cpus", float_node).map_err(|e| at("cpus", e))?;
    // Provider options are lists of strings.
    if let Some(Value::Map(opts)) = svc
        .get_mut("provider")
        .and_then(|p| p.get_mut("options"))
        .map(|o| &mut o.value)
    {
        for (_, v) in opts.iter_mut() {
            let items: Vec<Node> = match &v.value {
                Value::Seq(items) => items
                    .iter()
                    .map(|x| s(x.scalar_text().unwrap_or_default()))
                    .collect(),
                _ => vec![s(v.scalar_text().unwrap_or_default())],
            };
            *v = Node::new(Value::Seq(items)).at(v.line);
        }
    }
    transform(svc, "blkio_config", |bc| {
        let mut bc = bc.clone();
        for k in [
            "device_read_bps",
            "device_read_iops",
            "device_write_bps",
            "device_write_iops",
        ] {
            if let Some(Value::Seq(items)) = bc.get_mut(k).map(|x| &mut x.value) {
                for (idx, it) in items.iter_mut().enumerate() {
                    transform(it, "rate", bytes_node)
                        .map_err(|e| at(&format!("blkio_config.{k}[{idx}].rate"), e))?;
                }
            }
        }
        Ok(bc)
    })?;
    // `gpus: all` is one request for every GPU.
    transform(svc, "gpus", |g| {
        Ok(match &g.value {
            Value::Str(t) if t == "all" => {
                Node::new(Value::Seq(vec![Node::map(vec![("count".into(), i(-1))])])).at(g.line)
            }
            _ => device_counts(g),
        })
    })?;
    transform(svc, "deploy", |d| {
        let mut d = d.clone();
        transform(&mut d, "labels", |e| Ok(key_values(e, Some(""))))?;
        transform(&mut d, "resources", |r| {
            let mut r = r.clone();
            for k in ["limits", "reservations"] {
                transform(&mut r, k, |l| {
                    let mut l = l.clone();
                    transform(&mut l, "memory", bytes_node)
                        .map_err(|e| at(&format!("deploy.resources.{k}.memory"), e))?;
                    transform(&mut l, "cpus", float_node)?;
                    transform(&mut l, "devices", |d| Ok(device_counts(d)))?;
                    Ok(l)
                })?;
            }
            Ok(r)
        })?;
        for k in ["update_config", "rollback_config"] {
            transform(&mut d, k, |u| {
                let mut u = u.clone();
                for f in ["delay", "monitor"] {
                    transform(&mut u, f, duration_node)
                        .map_err(|e| at(&format!("deploy.{k}.{f}"), e))?;
                }
                Ok(u)
            })?;
        }
        transform(&mut d, "restart_policy", |u| {
            let mut u = u.clone();
            for f in ["delay", "window"] {
                transform(&mut u, f, duration_node)
                    .map_err(|e| at(&format!("deploy.restart_policy.{f}"), e))?;
            }
            Ok(u)
        })?;
        Ok(d)
    })?;
    transform(svc, "ulimits", |u| {
        let mut u = u.clone();
        if let Some(m) = u.as_map_mut() {
            for (_, v) in m.iter_mut() {
                if let Value::Str(t) = &v.value {
                    if let Ok(n) = t.parse::<i64>() {
                        *v = i(n);
                    }
                }
                // compose-go prints a single limit of 0 (its zero value) as the pair.
                if matches!(v.value, Value::Int(0)) {
                    *v = Node::map(vec![("soft".into(), i(0)), ("hard".into(), i(0))]).at(v.line);
                }
            }
        }
        Ok(u)
    })?;
    transform(svc, "develop", |d| {
        let mut d = d.clone();
        transform(&mut d, "watch", |w| {
            let Some(items) = w.as_seq() else {
                return Ok(w.clone());
            };
            Ok(Node::new(Value::Seq(
                items
                    .iter()
                    .map(|t| {
                        let mut t = t.clone();
                        for k in ["ignore", "include"] {
                            transform(&mut t, k, |x| Ok(string_or_list(x))).ok();
                        }
                        t
                    })
                    .collect(),
            ))
            .at(w.line))
        })?;
        Ok(d)
    })?;
    for k in ["post_start", "pre_stop"] {
        transform(svc, k, |hooks| {
            let Some(items) = hooks.as_seq() else {
                return Ok(hooks.clone());
            };
            let mut out = Vec::new();
            for h in items {
                let mut h = h.clone();
                transform(&mut h, "command", command_node)?;
                transform(&mut h, "environment", |e| Ok(key_values(e, None)))?;
                out.push(h);
            }
            Ok(Node::new(Value::Seq(out)).at(hooks.line))
        })?;
    }
    Ok(())
}

/// `env_file` in its long form: a path is `{path, required: true}`; with `fill`, a long
/// entry without `required` gets it too (the typed model; the untyped one keeps it as
/// written).
fn env_file_long(e: &Node, fill: bool) -> Node {
    let items = match &e.value {
        Value::Seq(items) => items.clone(),
        _ => vec![e.clone()],
    };
    Node::new(Value::Seq(
        items
            .into_iter()
            .map(|it| match &it.value {
                Value::Str(p) => {
                    Node::map(vec![("path".into(), s(p)), ("required".into(), b(true))]).at(it.line)
                }
                _ => {
                    let mut it = it;
                    if fill && it.get("required").is_none() {
                        it.set("required", b(true));
                    }
                    it
                }
            })
            .collect(),
    ))
    .at(e.line)
}

/// `depends_on` in its long form, each entry with its defaults.
fn depends_on_long(d: &Node) -> Node {
    let mut d = crate::merge::to_mapping(d.clone(), true);
    if let Some(m) = d.as_map_mut() {
        for (_, v) in m.iter_mut() {
            if v.is_null() {
                *v = Node::map(vec![]);
            }
            if v.get("condition").is_none() {
                v.set("condition", s("service_started"));
            }
            if v.get("required").is_none() {
                v.set("required", b(true));
            }
        }
    }
    d
}

/// A number as compose-go prints a float32 (`cpus`).
pub fn float32_text(f: f64) -> String {
    go_float((f as f32) as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(go_duration("90s").expect("a valid duration"), "1m30s");
        assert_eq!(go_duration("1h").expect("a valid duration"), "1h0m0s");
        assert_eq!(go_duration("500ms").expect("a valid duration"), "500ms");
        assert_eq!(go_duration("1.5s").expect("a valid duration"), "1.5s");
        assert_eq!(go_duration("0s").expect("a valid duration"), "0s");
        assert!(go_duration("5x").is_err());
    }

    #[test]
    fn volumes() {
        let v = parse_volume("./a:/b:ro,z").expect("a valid volume");
        assert_eq!(
            (v.kind, v.source.as_str(), v.target.as_str(), v.read_only),
            ("bind", "./a", "/b", true)
        );
        assert_eq!(v.selinux, "z");
        let v = parse_volume("data:/d").expect("a valid volume");
        assert_eq!(v.kind, "volume");
        let v = parse_volume("/anon").expect("a valid volume");
        assert_eq!((v.source.as_str(), v.target.as_str()), ("", "/anon"));
        // A one-letter section before a colon reads as a Windows drive (as in
        // compose-go: `a::b` binds `a:` on `b`); empty sections elsewhere are errors.
        let v = parse_volume("a::b").expect("a valid volume");
        assert_eq!((v.source.as_str(), v.target.as_str()), ("a:", "b"));
        assert!(parse_volume("/a:/b::ro").is_err());
        assert!(parse_volume("a:b:").is_err());
    }

    #[test]
    fn short_volume_options_whatever_the_type() {
        let j = |spec: &str| {
            short_volume(spec, 0)
                .expect("a valid volume")
                .to_json()
                .to_string()
        };
        assert_eq!(
            j("db:/var/lib/mysql:Z"),
            r#"{"bind":{"selinux":"Z"},"source":"db","target":"/var/lib/mysql","type":"volume","volume":{}}"#
        );
        assert_eq!(
            j("./a:/b:nocopy,rslave"),
            r#"{"bind":{"create_host_path":true,"propagation":"rslave"},"source":"./a","target":"/b","type":"bind","volume":{"nocopy":true}}"#
        );
        assert_eq!(
            j("data:/d"),
            r#"{"source":"data","target":"/d","type":"volume","volume":{}}"#
        );
    }

    #[test]
    fn ports() {
        let p = parse_ports("127.0.0.1:8000-8001:80-81/udp", 1).expect("a valid port");
        assert_eq!(p.len(), 2);
        assert_eq!(
            p[1].get("published").expect("the key is present").as_str(),
            Some("8001")
        );
        assert_eq!(
            p[1].get("protocol").expect("the key is present").as_str(),
            Some("udp")
        );
        let p = parse_ports("80", 1).expect("a valid port");
        assert!(p[0].get("published").is_none());
        assert!(parse_ports("a:b", 1).is_err());
    }

    #[test]
    fn bytes() {
        assert_eq!(ram_bytes("512m").expect("a valid size"), 536870912);
        assert_eq!(ram_bytes("1g").expect("a valid size"), 1 << 30);
        assert_eq!(ram_bytes("100").expect("a valid size"), 100);
    }

    fn svc(src: &str) -> Result<Node, String> {
        let mut n = crate::yaml::parse(src).expect("the YAML parses");
        service("app", &mut n)?;
        Ok(n)
    }

    fn json(n: Option<&Node>) -> String {
        n.expect("the key is present").to_json().to_string()
    }

    #[test]
    fn extra_hosts_are_grouped_unbracketed_and_sorted() {
        let n = svc(
            "extra_hosts: ['somehost:1.2.3.4', 'other=5.6.7.8', 'v6=[::1]', 'm=1.1.1.1,2.2.2.2']\n",
        )
        .expect("valid extra_hosts");
        assert_eq!(
            json(n.get("extra_hosts")),
            r#"["m=1.1.1.1","m=2.2.2.2","other=5.6.7.8","somehost=1.2.3.4","v6=::1"]"#
        );
        let n =
            svc("extra_hosts: {b: '[::2]', a: [1.1.1.1, 2.2.2.2]}\n").expect("valid extra_hosts");
        assert_eq!(
            json(n.get("extra_hosts")),
            r#"["a=1.1.1.1","a=2.2.2.2","b=::2"]"#
        );
        assert!(svc("extra_hosts: [nohost]\n").is_err());
    }

    #[test]
    fn count_all_is_minus_one() {
        let n = svc("gpus: all\ndeploy: {resources: {reservations: {devices: [{capabilities: [gpu], count: all}]}}}\n")
            .expect("valid devices");
        assert_eq!(json(n.get("gpus")), r#"[{"count":-1}]"#);
        assert_eq!(
            json(n.get("deploy")),
            r#"{"resources":{"reservations":{"devices":[{"capabilities":["gpu"],"count":-1}]}}}"#
        );
    }

    #[test]
    fn build_secrets_short_form_has_no_target() {
        let n = svc("build: {context: ., secrets: [s1, {source: s2, target: t}]}\n")
            .expect("valid build");
        assert_eq!(
            json(n.get("build").and_then(|b| b.get("secrets"))),
            r#"[{"source":"s1"},{"source":"s2","target":"t"}]"#
        );
        // The dockerfile default is normalisation's business.
        assert!(n.get("build").and_then(|b| b.get("dockerfile")).is_none());
    }

    #[test]
    fn blkio_rates_are_byte_counts() {
        let n =
            svc("blkio_config: {weight: 300, device_read_bps: [{path: /dev/sda, rate: 12mb}]}\n")
                .expect("valid blkio");
        assert_eq!(
            json(n.get("blkio_config")),
            r#"{"device_read_bps":[{"path":"/dev/sda","rate":"12582912"}],"weight":300}"#
        );
    }

    #[test]
    fn legacy_external_names() {
        let mut d = crate::yaml::parse(
            "networks: {proxy: {external: {name: nginx-proxy}}}\nvolumes: {v: {external: true}}\n",
        )
        .expect("the YAML parses");
        legacy_externals(&mut d, |_| {}).expect("no conflict");
        assert_eq!(
            d.to_json().to_string(),
            r#"{"networks":{"proxy":{"external":true,"name":"nginx-proxy"}},"volumes":{"v":{"external":true}}}"#
        );
        let mut d = crate::yaml::parse("volumes: {v: {name: a, external: {name: b}}}\n")
            .expect("the YAML parses");
        assert_eq!(
            legacy_externals(&mut d, |_| {}),
            Err("volumes.v: name and external.name conflict; only use name".into())
        );
    }

    #[test]
    fn zero_ulimit_is_a_pair() {
        let n = svc("ulimits: {nofile: 0, nproc: 10}\n").expect("valid ulimits");
        assert_eq!(
            json(n.get("ulimits")),
            r#"{"nofile":{"hard":0,"soft":0},"nproc":10}"#
        );
    }

    #[test]
    fn ram_bytes_as_go_units() {
        assert_eq!(ram_bytes("512m"), Ok(536870912));
        assert_eq!(ram_bytes("1.5GB"), Ok(1610612736));
        assert_eq!(ram_bytes("10 MiB"), Ok(10485760));
        assert_eq!(ram_bytes("100b"), Ok(100));
        assert_eq!(ram_bytes("1.5gigs"), Err("invalid suffix: 'gigs'".into()));
        assert_eq!(ram_bytes("2MX"), Err("invalid suffix: 'mx'".into()));
        assert_eq!(ram_bytes("lots"), Err("invalid size: 'lots'".into()));
        assert_eq!(
            ram_bytes("1.2.3m"),
            Err("strconv.ParseFloat: parsing \"1.2.3\": invalid syntax".into())
        );
    }

    #[test]
    fn tmpfs_size_is_a_byte_count_string() {
        let n = svc("volumes: [{type: tmpfs, target: /t, tmpfs: {size: 10m}}]\n")
            .expect("valid volume");
        assert_eq!(
            json(n.get("volumes")),
            r#"[{"target":"/t","tmpfs":{"size":"10485760"},"type":"tmpfs"}]"#
        );
    }

    #[test]
    fn long_bind_gets_no_create_host_path() {
        let n =
            svc("volumes: [{type: bind, source: /a, target: /b}, /c:/d]\n").expect("valid volumes");
        assert_eq!(
            json(n.get("volumes")),
            r#"[{"source":"/a","target":"/b","type":"bind"},{"bind":{"create_host_path":true},"source":"/c","target":"/d","type":"bind"}]"#
        );
    }

    #[test]
    fn decoding_errors_name_the_field() {
        assert_eq!(
            svc("stop_grace_period: forever\n").err(),
            Some("decoding failed due to the following error(s):\n\n'services[app].stop_grace_period' time: invalid duration \"forever\"".to_string())
        );
        assert_eq!(
            svc("healthcheck: {interval: lots}\n").err(),
            Some("decoding failed due to the following error(s):\n\n'services[app].healthcheck.interval' time: invalid duration \"lots\"".to_string())
        );
        assert_eq!(
            svc("mem_limit: lots\n").err(),
            Some("decoding failed due to the following error(s):\n\n'services[app].mem_limit' invalid size: 'lots'".to_string())
        );
        assert_eq!(
            svc("command: 'echo \"open'\n").err(),
            Some("decoding failed due to the following error(s):\n\n'services[app].command' invalid command line string".to_string())
        );
    }

    #[test]
    fn host_ports_are_checked() {
        assert_eq!(
            parse_ports("99999:80", 1).err(),
            Some("invalid hostPort: 99999".to_string())
        );
        assert!(parse_ports("8081-8080:80", 1).is_err());
        assert!(parse_ports("65535:80", 1).is_ok());
    }

    #[test]
    fn raw_forms_keep_values_as_written() {
        let mut n = crate::yaml::parse(
            "build: ./b\ncommand: echo $$HOME\nenvironment: [A=$A]\nports: ['${P:-1}:2', '80']\nsecrets: [s]\ndepends_on: [db]\ngpus: all\n",
        )
        .expect("the YAML parses");
        raw_service(&mut n);
        assert_eq!(
            n.to_json().to_string(),
            r#"{"build":{"context":"./b"},"command":"echo $$HOME","depends_on":{"db":{"condition":"service_started","required":true}},"environment":["A=$A"],"gpus":[{"count":"all"}],"ports":["${P:-1}:2","80"],"secrets":[{"source":"s","target":"/run/secrets/s"}]}"#
        );
    }

    #[test]
    fn port_addresses_and_protocols_are_checked() {
        assert_eq!(
            parse_ports("1:2:3:4", 1).err(),
            Some("invalid IP address: 1:2".to_string())
        );
        assert_eq!(
            parse_ports("80/xyz", 1).err(),
            Some("invalid proto: xyz".to_string())
        );
        assert!(parse_ports("::1:80:80", 1).is_ok());
        assert!(parse_ports("0.0.0.0:1:1/UDP", 1).is_ok());
    }

    #[test]
    fn a_long_bind_needs_a_source() {
        assert_eq!(
            svc("volumes: [{type: bind, target: /x}]\n").err(),
            Some(
                "invalid mount config for type \"bind\": field Source must not be empty"
                    .to_string()
            )
        );
    }
}
