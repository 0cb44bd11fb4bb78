//! Kubernetes' protobuf bodies (`application/vnd.kubernetes.protobuf`), as typed
//! client-go clients (every `kubectl create ...`) send them: the `k8s\0` magic, a
//! `runtime.Unknown` envelope (typeMeta {apiVersion = 1, kind = 2}, raw = 2), and the
//! object's own message, decoded into its JSON form with the field table of
//! `proto_schema.rs`. A field the table does not know is refused by number, never
//! dropped.

use base64::Engine;
use serde_json::{json, Map, Value};

use super::proto_schema as s;

/// A body that could not be decoded.
#[derive(Debug, thiserror::Error, PartialEq)]
#[error("{0}")]
pub struct Error(pub String);

/// What a field holds.
#[derive(Debug, Clone, Copy)]
pub enum T {
    Str,
    Bytes,
    I32,
    I64,
    Bool,
    F64,
    /// meta/v1 Time {seconds = 1, nanos = 2}: RFC 3339 seconds.
    Time,
    /// meta/v1 MicroTime: RFC 3339 with microseconds.
    MicroTime,
    /// resource.Quantity {string = 1}.
    Quantity,
    /// intstr.IntOrString {type = 1, intVal = 2, strVal = 3}.
    IntOrString,
    /// meta/v1 FieldsV1 {Raw = 1}: JSON bytes.
    FieldsV1,
    /// runtime.RawExtension {raw = 1}: JSON bytes.
    Raw,
    /// meta/v1 Duration {duration = 1}: nanoseconds.
    Duration,
    MapStr,
    MapBytes,
    MapQuantity,
    MapTime,
    Msg(&'static [F]),
}

/// Repeated.
pub const REP: u8 = 1;
/// A pointer in the Go type: a zero value is still a value.
pub const PTR: u8 = 2;
/// Inlined into the parent in JSON (`json:",inline"`).
pub const INLINE: u8 = 4;

/// One field of a message.
#[derive(Debug, Clone, Copy)]
pub struct F {
    pub num: u32,
    pub name: &'static str,
    pub t: T,
    pub flags: u8,
}

impl F {
    pub const fn new(num: u32, name: &'static str, t: T, flags: u8) -> F {
        F {
            num,
            name,
            t,
            flags,
        }
    }
}

/// The message of each kind a client may send.
fn root(api_version: &str, kind: &str) -> Option<&'static [F]> {
    Some(match (api_version, kind) {
        ("v1", "Namespace") => s::CORE_NAMESPACE,
        ("v1", "ConfigMap") => s::CORE_CONFIG_MAP,
        ("v1", "Secret") => s::CORE_SECRET,
        ("v1", "Service") => s::CORE_SERVICE,
        ("v1", "ServiceAccount") => s::CORE_SERVICE_ACCOUNT,
        ("v1", "Pod") => s::CORE_POD,
        ("v1", "Binding") => s::CORE_BINDING,
        ("v1", "ResourceQuota") => s::CORE_RESOURCE_QUOTA,
        ("v1", "Endpoints") => s::CORE_ENDPOINTS,
        ("apps/v1", "Deployment") => s::APPS_DEPLOYMENT,
        ("apps/v1", "ReplicaSet") => s::APPS_REPLICA_SET,
        ("apps/v1", "StatefulSet") => s::APPS_STATEFUL_SET,
        ("apps/v1", "DaemonSet") => s::APPS_DAEMON_SET,
        ("batch/v1", "Job") => s::BATCH_JOB,
        ("batch/v1", "CronJob") => s::BATCH_CRON_JOB,
        ("policy/v1", "Eviction") => s::POLICY_EVICTION,
        ("policy/v1", "PodDisruptionBudget") => s::POLICY_POD_DISRUPTION_BUDGET,
        ("v1" | "meta.k8s.io/v1", "DeleteOptions") => s::META_DELETE_OPTIONS,
        ("authentication.k8s.io/v1", "TokenRequest") => s::AUTHN_TOKEN_REQUEST,
        ("authentication.k8s.io/v1", "SelfSubjectReview") => s::AUTHN_SELF_SUBJECT_REVIEW,
        ("authorization.k8s.io/v1", "SelfSubjectAccessReview") => {
            s::AUTHZ_SELF_SUBJECT_ACCESS_REVIEW
        }
        ("authorization.k8s.io/v1", "SelfSubjectRulesReview") => s::AUTHZ_SELF_SUBJECT_RULES_REVIEW,
        _ => return None,
    })
}

struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

fn short() -> Error {
    Error("the protobuf body ends in the middle of a field".to_string())
}

impl<'a> Reader<'a> {
    fn new(buf: &'a [u8]) -> Reader<'a> {
        Reader { buf, pos: 0 }
    }

    fn done(&self) -> bool {
        self.pos >= self.buf.len()
    }

    fn varint(&mut self) -> Result<u64, Error> {
        let mut v: u64 = 0;
        for shift in (0..64).step_by(7) {
            let b = *self.buf.get(self.pos).ok_or_else(short)?;
            self.pos += 1;
            v |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Ok(v);
            }
        }
        Err(Error(
            "a protobuf varint is longer than ten bytes".to_string(),
        ))
    }

    fn bytes(&mut self) -> Result<&'a [u8], Error> {
        let n = usize::try_from(self.varint()?).map_err(|_| short())?;
        let end = self.pos.checked_add(n).ok_or_else(short)?;
        let b = self.buf.get(self.pos..end).ok_or_else(short)?;
        self.pos = end;
        Ok(b)
    }

    fn fixed(&mut self, n: usize) -> Result<&'a [u8], Error> {
        let b = self.buf.get(self.pos..self.pos + n).ok_or_else(short)?;
        self.pos += n;
        Ok(b)
    }

    /// The next field's number and wire type.
    fn key(&mut self) -> Result<(u32, u8), Error> {
        let k = self.varint()?;
        let num = u32::try_from(k >> 3)
            .map_err(|_| Error(format!("protobuf field number {} is out of range", k >> 3)))?;
        Ok((num, (k & 7) as u8))
    }

    fn skip(&mut self, wire: u8) -> Result<(), Error> {
        match wire {
            0 => self.varint().map(|_| ()),
            1 => self.fixed(8).map(|_| ()),
            2 => self.bytes().map(|_| ()),
            5 => self.fixed(4).map(|_| ()),
            w => Err(Error(format!("protobuf wire type {w} is not supported"))),
        }
    }
}

fn utf8(b: &[u8], path: &str) -> Result<String, Error> {
    String::from_utf8(b.to_vec()).map_err(|_| Error(format!("{path}: a string is not UTF-8")))
}

/// One field of a small message: number, wire type, varint value, bytes.
type SmallField = (u32, u8, Value, Option<Vec<u8>>);

/// The fields of a small fixed message (Time, Quantity, ...), by number.
fn small(b: &[u8]) -> Result<Vec<SmallField>, Error> {
    let mut r = Reader::new(b);
    let mut out = Vec::new();
    while !r.done() {
        let (num, wire) = r.key()?;
        match wire {
            0 => out.push((num, 0, json!(r.varint()?), None)),
            2 => {
                let bytes = r.bytes()?.to_vec();
                out.push((num, 2, Value::Null, Some(bytes)));
            }
            w => r.skip(w)?,
        }
    }
    Ok(out)
}

fn time(b: &[u8], micro: bool) -> Result<Value, Error> {
    let mut secs: i64 = 0;
    let mut nanos: i64 = 0;
    for (num, _, v, _) in small(b)? {
        let n = v.as_u64().map_or(0, |x| x as i64);
        match num {
            1 => secs = n,
            2 => nanos = i64::from(n as i32),
            _ => {}
        }
    }
    if secs == 0 && nanos == 0 {
        return Ok(Value::Null);
    }
    let t = secs.saturating_mul(1_000_000_000).saturating_add(nanos);
    if micro {
        let full = clock::rfc3339_nanos(t);
        // 2026-01-01T00:00:00.123456789Z -> 2026-01-01T00:00:00.123456Z
        let cut = full.len().saturating_sub(4);
        Ok(json!(format!("{}Z", &full[..cut])))
    } else {
        Ok(json!(clock::rfc3339_secs(t)))
    }
}

fn go_duration(nanos: i64) -> String {
    if nanos == 0 {
        return "0s".to_string();
    }
    let secs = nanos / 1_000_000_000;
    let (h, m, s) = (secs / 3600, (secs % 3600) / 60, secs % 60);
    let frac = nanos % 1_000_000_000;
    let s_text = if frac == 0 {
        format!("{s}")
    } else {
        format!("{s}.{:09}", frac).trim_end_matches('0').to_string()
    };
    if h > 0 {
        format!("{h}h{m}m{s_text}s")
    } else if m > 0 {
        format!("{m}m{s_text}s")
    } else {
        format!("{s_text}s")
    }
}

fn is_zero(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::String(s) => s.is_empty(),
        Value::Bool(b) => !b,
        Value::Number(n) => n.as_f64() == Some(0.0),
        _ => false,
    }
}

/// One value of field `f` (wire type `wire`).
fn value(r: &mut Reader<'_>, f: &F, wire: u8, path: &str) -> Result<Value, Error> {
    let want_len = |w: u8| -> Result<(), Error> {
        if w == 2 {
            Ok(())
        } else {
            Err(Error(format!(
                "{path}: wire type {w} where bytes were expected"
            )))
        }
    };
    Ok(match f.t {
        T::I32 | T::I64 | T::Bool => {
            if wire != 0 {
                return Err(Error(format!(
                    "{path}: wire type {wire} where a number was expected"
                )));
            }
            let v = r.varint()?;
            match f.t {
                T::Bool => json!(v != 0),
                T::I32 => json!(v as i64 as i32),
                _ => json!(v as i64),
            }
        }
        T::F64 => {
            if wire != 1 {
                return Err(Error(format!(
                    "{path}: wire type {wire} where a double was expected"
                )));
            }
            let b = r.fixed(8)?;
            let mut a = [0u8; 8];
            a.copy_from_slice(b);
            json!(f64::from_le_bytes(a))
        }
        _ => {
            want_len(wire)?;
            let b = r.bytes()?;
            match f.t {
                T::Str => json!(utf8(b, path)?),
                T::Bytes => json!(base64::engine::general_purpose::STANDARD.encode(b)),
                T::Time => time(b, false)?,
                T::MicroTime => time(b, true)?,
                T::Quantity => {
                    let mut q = String::new();
                    for (num, _, _, bytes) in small(b)? {
                        if let (1, Some(bytes)) = (num, bytes) {
                            q = utf8(&bytes, path)?;
                        }
                    }
                    json!(q)
                }
                T::IntOrString => {
                    let (mut ty, mut int, mut text) = (0u64, 0i64, String::new());
                    for (num, _, v, bytes) in small(b)? {
                        match (num, bytes) {
                            (1, None) => ty = v.as_u64().unwrap_or(0),
                            (2, None) => int = i64::from(v.as_u64().unwrap_or(0) as i64 as i32),
                            (3, Some(bytes)) => text = utf8(&bytes, path)?,
                            _ => {}
                        }
                    }
                    if ty == 1 {
                        json!(text)
                    } else {
                        json!(int)
                    }
                }
                T::FieldsV1 | T::Raw => {
                    let mut out = Value::Null;
                    for (num, _, _, bytes) in small(b)? {
                        if let (1, Some(bytes)) = (num, bytes) {
                            out = serde_json::from_slice(&bytes)
                                .map_err(|e| Error(format!("{path}: {e}")))?;
                        }
                    }
                    out
                }
                T::Duration => {
                    let mut n = 0i64;
                    for (num, _, v, _) in small(b)? {
                        if num == 1 {
                            n = v.as_u64().unwrap_or(0) as i64;
                        }
                    }
                    json!(go_duration(n))
                }
                T::MapStr | T::MapBytes | T::MapQuantity | T::MapTime => {
                    let (mut k, mut v) = (String::new(), Value::Null);
                    let mut e = Reader::new(b);
                    while !e.done() {
                        let (num, w) = e.key()?;
                        if w != 2 {
                            e.skip(w)?;
                            continue;
                        }
                        let x = e.bytes()?;
                        match num {
                            1 => k = utf8(x, path)?,
                            2 => {
                                v = match f.t {
                                    T::MapStr => json!(utf8(x, path)?),
                                    T::MapBytes => {
                                        json!(base64::engine::general_purpose::STANDARD.encode(x))
                                    }
                                    T::MapTime => time(x, false)?,
                                    _ => {
                                        let quantity = F::new(0, "", T::Quantity, 0);
                                        let mut inner = Vec::with_capacity(x.len() + 2);
                                        encode_len(&mut inner, x);
                                        value(&mut Reader::new(&inner), &quantity, 2, path)?
                                    }
                                }
                            }
                            _ => {}
                        }
                    }
                    if v.is_null() && matches!(f.t, T::MapStr) {
                        v = json!("");
                    }
                    json!({ k: v })
                }
                T::Msg(desc) => Value::Object(message(b, desc, path)?),
                _ => Value::Null,
            }
        }
    })
}

fn encode_len(out: &mut Vec<u8>, b: &[u8]) {
    let mut n = b.len() as u64;
    loop {
        let byte = (n & 0x7f) as u8;
        n >>= 7;
        if n == 0 {
            out.push(byte);
            break;
        }
        out.push(byte | 0x80);
    }
    out.extend_from_slice(b);
}

fn message(b: &[u8], desc: &'static [F], path: &str) -> Result<Map<String, Value>, Error> {
    let mut r = Reader::new(b);
    let mut out = Map::new();
    while !r.done() {
        let (num, wire) = r.key()?;
        let Some(f) = desc.iter().find(|f| f.num == num) else {
            return Err(Error(format!(
                "{}: protobuf field {num} is not one this server decodes yet; send the object as JSON",
                if path.is_empty() { "object" } else { path }
            )));
        };
        let fpath = if path.is_empty() {
            f.name.to_string()
        } else {
            format!("{path}.{}", f.name)
        };
        let rep = f.flags & REP != 0;
        // Packed repeated numbers.
        if rep && wire == 2 && matches!(f.t, T::I32 | T::I64 | T::Bool) {
            let b = r.bytes()?;
            let mut p = Reader::new(b);
            while !p.done() {
                let v = value(&mut p, f, 0, &fpath)?;
                push(&mut out, f.name, v);
            }
            continue;
        }
        let v = value(&mut r, f, wire, &fpath)?;
        if rep {
            push(&mut out, f.name, v);
        } else if matches!(f.t, T::MapStr | T::MapBytes | T::MapQuantity | T::MapTime) {
            if let (Some(m), Value::Object(e)) = (
                out.entry(f.name.to_string())
                    .or_insert_with(|| Value::Object(Map::new()))
                    .as_object_mut(),
                v,
            ) {
                m.extend(e);
            }
        } else if f.flags & INLINE != 0 {
            if let Value::Object(m) = v {
                out.extend(m);
            }
        } else if f.flags & PTR != 0 || !is_zero(&v) {
            out.insert(f.name.to_string(), v);
        }
    }
    Ok(out)
}

fn push(out: &mut Map<String, Value>, name: &str, v: Value) {
    if let Some(a) = out
        .entry(name.to_string())
        .or_insert_with(|| Value::Array(Vec::new()))
        .as_array_mut()
    {
        a.push(v);
    }
}

/// Decode a protobuf request body into the object's JSON form.
pub fn decode(body: &[u8]) -> Result<Value, Error> {
    let Some(rest) = body.strip_prefix(b"k8s\0") else {
        return Err(Error(
            "the protobuf body does not start with the k8s envelope".to_string(),
        ));
    };
    let mut r = Reader::new(rest);
    let (mut api_version, mut kind, mut raw) = (String::new(), String::new(), None);
    while !r.done() {
        let (num, wire) = r.key()?;
        match (num, wire) {
            (1, 2) => {
                let tm = r.bytes()?;
                let mut t = Reader::new(tm);
                while !t.done() {
                    let (n, w) = t.key()?;
                    match (n, w) {
                        (1, 2) => api_version = utf8(t.bytes()?, "typeMeta.apiVersion")?,
                        (2, 2) => kind = utf8(t.bytes()?, "typeMeta.kind")?,
                        (_, w) => t.skip(w)?,
                    }
                }
            }
            (2, 2) => raw = Some(r.bytes()?),
            (3 | 4, 2) => {
                let enc = r.bytes()?;
                if num == 3 && !enc.is_empty() {
                    return Err(Error(format!(
                        "protobuf content encoding {:?} is not supported",
                        String::from_utf8_lossy(enc)
                    )));
                }
            }
            (_, w) => r.skip(w)?,
        }
    }
    let desc = root(&api_version, &kind).ok_or_else(|| {
        Error(format!(
            "protobuf bodies of {kind} ({api_version}) are not decoded by this server; send the object as JSON"
        ))
    })?;
    let mut obj = Map::new();
    obj.insert("apiVersion".to_string(), json!(api_version));
    obj.insert("kind".to_string(), json!(kind));
    obj.extend(message(raw.unwrap_or_default(), desc, "")?);
    Ok(Value::Object(obj))
}

/// A body that is JSON or protobuf (DeleteOptions).
pub fn decode_any(body: &[u8]) -> Result<Value, Error> {
    if body.starts_with(b"k8s\0") {
        return decode(body);
    }
    serde_json::from_slice(body).map_err(|e| Error(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(out: &mut Vec<u8>, num: u32, b: &[u8]) {
        out.push(((num << 3) | 2) as u8);
        encode_len(out, b);
    }

    fn varint_field(out: &mut Vec<u8>, num: u32, v: u64) {
        out.push((num << 3) as u8);
        let mut n = v;
        loop {
            let byte = (n & 0x7f) as u8;
            n >>= 7;
            if n == 0 {
                out.push(byte);
                break;
            }
            out.push(byte | 0x80);
        }
    }

    fn envelope(api_version: &str, kind: &str, raw: &[u8]) -> Vec<u8> {
        let mut tm = Vec::new();
        field(&mut tm, 1, api_version.as_bytes());
        field(&mut tm, 2, kind.as_bytes());
        let mut out = b"k8s\0".to_vec();
        field(&mut out, 1, &tm);
        field(&mut out, 2, raw);
        field(&mut out, 3, b"");
        field(&mut out, 4, b"");
        out
    }

    #[test]
    fn a_deployment_as_kubectl_create_sends_it() {
        // metadata {name: web, labels {app: web}, creationTimestamp {}}
        let mut label = Vec::new();
        field(&mut label, 1, b"app");
        field(&mut label, 2, b"web");
        let mut md = Vec::new();
        field(&mut md, 1, b"web");
        field(&mut md, 2, b"");
        field(&mut md, 8, b"");
        field(&mut md, 11, &label);
        // container {name: nginx, image: nginx:1, ports [{containerPort: 80}]}
        let mut port = Vec::new();
        varint_field(&mut port, 3, 80);
        let mut c = Vec::new();
        field(&mut c, 1, b"nginx");
        field(&mut c, 2, b"nginx:1");
        field(&mut c, 6, &port);
        field(&mut c, 8, b"");
        let mut pod_spec = Vec::new();
        field(&mut pod_spec, 2, &c);
        let mut tmpl_md = Vec::new();
        field(&mut tmpl_md, 11, &label);
        let mut tmpl = Vec::new();
        field(&mut tmpl, 1, &tmpl_md);
        field(&mut tmpl, 2, &pod_spec);
        let mut sel = Vec::new();
        field(&mut sel, 1, &label);
        // maxSurge as IntOrString {type: 1, strVal: "25%"}
        let mut ios = Vec::new();
        varint_field(&mut ios, 1, 1);
        varint_field(&mut ios, 2, 0);
        field(&mut ios, 3, b"25%");
        let mut ru = Vec::new();
        field(&mut ru, 2, &ios);
        let mut strategy = Vec::new();
        field(&mut strategy, 2, &ru);
        let mut spec = Vec::new();
        varint_field(&mut spec, 1, 0);
        field(&mut spec, 2, &sel);
        field(&mut spec, 3, &tmpl);
        field(&mut spec, 4, &strategy);
        let mut d = Vec::new();
        field(&mut d, 1, &md);
        field(&mut d, 2, &spec);
        field(&mut d, 3, b"");
        let v = decode(&envelope("apps/v1", "Deployment", &d)).expect("decode");
        assert_eq!(
            v,
            json!({"apiVersion": "apps/v1", "kind": "Deployment",
                "metadata": {"name": "web", "labels": {"app": "web"}},
                "spec": {"replicas": 0, "selector": {"matchLabels": {"app": "web"}},
                    "template": {"metadata": {"labels": {"app": "web"}},
                        "spec": {"containers": [{"name": "nginx", "image": "nginx:1",
                            "ports": [{"containerPort": 80}], "resources": {}}]}},
                    "strategy": {"rollingUpdate": {"maxSurge": "25%"}}},
                "status": {}})
        );
    }

    #[test]
    fn unknown_fields_and_kinds_are_refused_by_name() {
        let mut md = Vec::new();
        field(&mut md, 15, b"x");
        let mut ns = Vec::new();
        field(&mut ns, 1, &md);
        let e = decode(&envelope("v1", "Namespace", &ns)).expect_err("unknown field");
        assert!(e.0.contains("metadata: protobuf field 15"), "{e}");
        let e = decode(&envelope("example.com/v1", "Widget", b"")).expect_err("kind");
        assert!(e.0.contains("Widget"), "{e}");
        assert!(decode(b"k8s\0\x0a\xff").is_err());
        assert!(decode(b"{}").is_err());
    }
}
