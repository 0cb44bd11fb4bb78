//! The store on etcd 3.4 (`--datastore etcd://H:P[,H:P...]`), through etcd's JSON gateway
//! (`/v3/kv/*`, `/v3/watch`: the gRPC API as HTTP/1.1 JSON, keys and values base64).
//!
//! - Keys are kube-apiserver's layout: `/registry/RESOURCE/NAMESPACE/NAME`, or
//!   `/registry/RESOURCE/NAME` when cluster-scoped. Values are the objects' JSON
//!   without `resourceVersion`, which is the key's `mod_revision` when read, as
//!   kube-apiserver does it: etcd's revision is the cluster's one revision.
//! - Writes are transactions whose compares give kube's answers: create only where
//!   the key has no `create_revision`, update and delete only where it exists, and an
//!   update with a resourceVersion only where `mod_revision` is still it (409).
//! - Watches read an in-memory window of events fed by one etcd watch on `/registry/`
//!   (kube-apiserver's watch cache): several API servers on one etcd all see every write.
//!   A revision older than the window answers 410, as after a compaction.
//! - Endpoints are tried in turn: a cluster of etcd members survives a lost one.

use std::collections::VecDeque;
use std::io::BufRead;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use serde_json::{json, Value};

use crate::store::{Error, Event, Result, Scope};

const PREFIX: &str = "/registry/";
/// How many events the window keeps at most (the compactor trims it by time first).
const WINDOW: usize = 20_000;
/// How far back the window starts when the server starts, so that watches resumed
/// across an API server's restart still find their revision.
const REPLAY: i64 = 2_000;

/// The store's side of etcd.
pub struct Etcd {
    endpoints: Vec<String>,
    agent: ureq::Agent,
    window: Arc<Mutex<Window>>,
    /// The highest revision this store wrote or saw.
    seen: Arc<std::sync::atomic::AtomicI64>,
}

#[derive(Default)]
struct Window {
    /// Revisions at or before this one are no longer in the window.
    floor: i64,
    /// The last revision the watch reported (events or progress).
    head: i64,
    events: VecDeque<Stored>,
    notify: Option<tokio::sync::watch::Sender<i64>>,
}

struct Stored {
    revision: i64,
    resource: String,
    namespace: String,
    kind: &'static str,
    object: Value,
}

fn err(e: impl std::fmt::Display) -> Error {
    Error::Backend(format!("etcd: {e}"))
}

fn b64(s: &str) -> String {
    B64.encode(s.as_bytes())
}

/// The end of a prefix's range (the prefix with its last byte one higher).
fn range_end(prefix: &str) -> String {
    let mut b = prefix.as_bytes().to_vec();
    if let Some(last) = b.last_mut() {
        *last += 1;
    }
    B64.encode(b)
}

/// etcd's gateway gives int64 fields as strings.
fn int(v: &Value) -> i64 {
    match v {
        Value::String(s) => s.parse().unwrap_or(0),
        Value::Number(n) => n.as_i64().unwrap_or(0),
        _ => 0,
    }
}

fn key(scope: Scope<'_>, name: &str) -> String {
    match scope.namespace.filter(|n| !n.is_empty()) {
        Some(ns) => format!("{PREFIX}{}/{ns}/{name}", scope.resource),
        None => format!("{PREFIX}{}/{name}", scope.resource),
    }
}

fn prefix(scope: Scope<'_>) -> String {
    match scope.namespace.filter(|n| !n.is_empty()) {
        Some(ns) => format!("{PREFIX}{}/{ns}/", scope.resource),
        None => format!("{PREFIX}{}/", scope.resource),
    }
}

/// The object of a key-value, its resourceVersion set to the key's mod_revision.
fn object(kv: &Value, revision: i64) -> Result<Value> {
    let raw = B64
        .decode(kv["value"].as_str().unwrap_or_default())
        .map_err(err)?;
    let mut v: Value = serde_json::from_slice(&raw)?;
    if v["metadata"].is_object() {
        v["metadata"]["resourceVersion"] = Value::String(revision.to_string());
    }
    Ok(v)
}

fn body_of(obj: &Value) -> Result<String> {
    let mut o = obj.clone();
    if let Some(m) = o["metadata"].as_object_mut() {
        m.remove("resourceVersion");
    }
    Ok(serde_json::to_string(&o)?)
}

fn name_of(obj: &Value) -> String {
    obj["metadata"]["name"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

impl Etcd {
    /// Connect to `endpoints` (`host:port`), check that one answers, and start the
    /// watch that feeds the event window.
    pub fn open(endpoints: &[String]) -> Result<Etcd> {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_connect(Some(Duration::from_secs(2)))
            .timeout_global(Some(Duration::from_secs(15)))
            .build()
            .into();
        let s = Etcd {
            endpoints: endpoints
                .iter()
                .map(|e| format!("http://{}", e.trim_start_matches("http://")))
                .collect(),
            agent,
            window: Arc::default(),
            seen: Arc::default(),
        };
        // An etcd started beside the server may still be electing its leader:
        // wait for it a while, as kube-apiserver does, then say what failed.
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        let now = loop {
            match s.current() {
                Ok(r) => break r,
                Err(e) if std::time::Instant::now() >= deadline => return Err(e),
                Err(_) => std::thread::sleep(Duration::from_millis(200)),
            }
        };
        let start = (now - REPLAY).max(0);
        {
            let mut w = s.lock();
            w.floor = start;
            w.head = start;
        }
        s.seen.store(now, std::sync::atomic::Ordering::Relaxed);
        let (endpoints, window, seen) = (s.endpoints.clone(), s.window.clone(), s.seen.clone());
        std::thread::Builder::new()
            .name("etcd-watch".into())
            .spawn(move || watch_loop(&endpoints, &window, &seen, start + 1))
            .map_err(err)?;
        Ok(s)
    }

    /// Where a store change is announced (the latest revision), for the registry's
    /// watchers and controllers.
    pub fn set_notify(&self, tx: tokio::sync::watch::Sender<i64>) {
        self.lock().notify = Some(tx);
    }

    fn lock(&self) -> MutexGuard<'_, Window> {
        self.window
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// POST a gateway call to the first endpoint that answers.
    fn call(&self, path: &str, body: &Value) -> Result<Value> {
        let mut last = String::from("no endpoint");
        for ep in &self.endpoints {
            let resp = self
                .agent
                .post(format!("{ep}{path}"))
                .content_type("application/json")
                .send(body.to_string().as_bytes());
            let mut resp = match resp {
                Ok(r) => r,
                Err(e) => {
                    last = format!("{ep}: {e}");
                    continue;
                }
            };
            let code = resp.status().as_u16();
            let text = resp
                .body_mut()
                .with_config()
                .limit(1 << 30)
                .read_to_string()
                .map_err(err)?;
            let v: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
            if code == 200 {
                if let Some(r) = v["header"]["revision"].as_str() {
                    let r = r.parse().unwrap_or(0);
                    self.seen.fetch_max(r, std::sync::atomic::Ordering::Relaxed);
                }
                return Ok(v);
            }
            let msg = v["error"].as_str().or(v["message"].as_str()).unwrap_or("");
            // A member without a leader or being stopped: try the next one.
            if code == 503 || msg.contains("no leader") || msg.contains("stopping") {
                last = format!("{ep}: {msg}");
                continue;
            }
            return Err(err(format!("{ep}{path}: {code} {msg}")));
        }
        Err(err(last))
    }

    /// The cluster's current revision (asked of etcd).
    fn current(&self) -> Result<i64> {
        let v = self.call("/v3/kv/range", &json!({"key": b64("/quai/revision")}))?;
        Ok(int(&v["header"]["revision"]))
    }

    /// The latest revision this server knows of: its own writes and the watch's.
    pub fn revision(&self) -> i64 {
        self.seen.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// A write: `kind` 0 create, 1 update (with an optional resourceVersion), 2 delete.
    pub fn write(
        &self,
        scope: Scope<'_>,
        mut obj: Value,
        kind: i64,
        precondition: Option<&str>,
    ) -> Result<Value> {
        let name = name_of(&obj);
        let k = b64(&key(scope, &name));
        let compare = match (kind, precondition.filter(|p| !p.is_empty())) {
            (0, _) => {
                json!({"key": k, "target": "CREATE", "result": "EQUAL", "create_revision": "0"})
            }
            (1, Some(rv)) => {
                let rv: i64 = rv.parse().map_err(|_| Error::Conflict {
                    kind: scope.resource.to_string(),
                    name: name.clone(),
                })?;
                json!({"key": k, "target": "MOD", "result": "EQUAL", "mod_revision": rv.to_string()})
            }
            _ => json!({"key": k, "target": "CREATE", "result": "GREATER", "create_revision": "0"}),
        };
        let op = if kind == 2 {
            json!({"request_delete_range": {"key": k, "prev_kv": true}})
        } else {
            json!({"request_put": {"key": k, "value": b64(&body_of(&obj)?)}})
        };
        let v = self.call(
            "/v3/kv/txn",
            &json!({"compare": [compare], "success": [op],
                    "failure": [{"request_range": {"key": k}}]}),
        )?;
        if v["succeeded"].as_bool() != Some(true) {
            let exists = v["responses"][0]["response_range"]["kvs"]
                .as_array()
                .is_some_and(|a| !a.is_empty());
            let (kind_s, name) = (scope.resource.to_string(), name);
            return Err(match (kind, exists) {
                (0, _) => Error::AlreadyExists { kind: kind_s, name },
                (_, false) => Error::NotFound { kind: kind_s, name },
                _ => Error::Conflict { kind: kind_s, name },
            });
        }
        let rev = int(&v["header"]["revision"]);
        if kind == 2 {
            let prev = &v["responses"][0]["response_delete_range"]["prev_kvs"][0];
            return object(prev, rev);
        }
        obj["metadata"]["resourceVersion"] = Value::String(rev.to_string());
        Ok(obj)
    }

    pub fn get(&self, scope: Scope<'_>, name: &str) -> Result<Value> {
        let v = self.call("/v3/kv/range", &json!({"key": b64(&key(scope, name))}))?;
        match v["kvs"].as_array().and_then(|a| a.first()) {
            Some(kv) => object(kv, int(&kv["mod_revision"])),
            None => Err(Error::NotFound {
                kind: scope.resource.to_string(),
                name: name.to_string(),
            }),
        }
    }

    /// The objects of a scope (by namespace, then name) and the list's revision.
    fn range(&self, scope: Scope<'_>) -> Result<(Vec<Value>, i64)> {
        let p = prefix(scope);
        let v = self.call(
            "/v3/kv/range",
            &json!({"key": b64(&p), "range_end": range_end(&p)}),
        )?;
        let mut out = Vec::new();
        for kv in v["kvs"].as_array().map(Vec::as_slice).unwrap_or_default() {
            out.push(object(kv, int(&kv["mod_revision"]))?);
        }
        out.sort_by(|a, b| {
            let k = |o: &Value| {
                (
                    o["metadata"]["namespace"]
                        .as_str()
                        .unwrap_or("")
                        .to_string(),
                    name_of(o),
                )
            };
            k(a).cmp(&k(b))
        });
        Ok((out, int(&v["header"]["revision"])))
    }

    pub fn list_raw(&self, scope: Scope<'_>) -> Result<(Vec<String>, i64)> {
        let (items, rev) = self.range(scope)?;
        let raw = items
            .iter()
            .map(serde_json::to_string)
            .collect::<std::result::Result<Vec<_>, _>>()?;
        Ok((raw, rev))
    }

    pub fn events_since(&self, scope: Scope<'_>, since: i64) -> Result<Vec<Event>> {
        let w = self.lock();
        if since < w.floor {
            return Err(Error::Gone {
                asked: since,
                oldest: w.floor,
            });
        }
        let ns = scope.namespace.filter(|n| !n.is_empty());
        let first = w.events.partition_point(|e| e.revision <= since);
        Ok(w.events
            .range(first..)
            .filter(|e| e.resource == scope.resource && ns.is_none_or(|n| n == e.namespace))
            .map(|e| Event {
                kind: e.kind,
                revision: e.revision,
                object: e.object.clone(),
            })
            .collect())
    }

    /// Forget the window's events at or before `revision`, and compact etcd's history
    /// there too (kube-apiserver compacts etcd the same way).
    pub fn compact(&self, revision: i64) -> Result<()> {
        {
            let mut w = self.lock();
            let n = w.events.partition_point(|e| e.revision <= revision);
            w.events.drain(..n);
            w.floor = w.floor.max(revision);
        }
        match self.call(
            "/v3/kv/compaction",
            &json!({"revision": revision.to_string()}),
        ) {
            // Another API server on the same etcd compacted there already.
            Err(Error::Backend(m)) if m.contains("compacted") => Ok(()),
            r => r.map(|_| ()),
        }
    }
}

/// Follow every change under `/registry/` from `start` into the window, reconnecting
/// (to the next endpoint) whenever the stream ends.
fn watch_loop(
    endpoints: &[String],
    window: &Mutex<Window>,
    seen: &std::sync::atomic::AtomicI64,
    mut start: i64,
) {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_connect(Some(Duration::from_secs(2)))
        .build()
        .into();
    let lock = || {
        window
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    };
    let mut i = 0usize;
    loop {
        let ep = &endpoints[i % endpoints.len()];
        i += 1;
        let req = json!({"create_request": {"key": b64(PREFIX), "range_end": range_end(PREFIX),
                         "start_revision": start.to_string(), "prev_kv": true,
                         "progress_notify": true}});
        let resp = agent
            .post(format!("{ep}/v3/watch"))
            .content_type("application/json")
            .send(req.to_string().as_bytes());
        let Ok(resp) = resp else {
            std::thread::sleep(Duration::from_millis(500));
            continue;
        };
        let reader = std::io::BufReader::new(resp.into_body().into_reader());
        for line in reader.lines() {
            let Ok(line) = line else { break };
            let Ok(v) = serde_json::from_str::<Value>(&line) else {
                continue;
            };
            let r = &v["result"];
            let compacted = int(&r["compact_revision"]);
            if compacted > 0 {
                // The history from `start` is gone: watchers from before it get 410.
                let mut w = lock();
                w.floor = w.floor.max(compacted - 1);
                start = compacted;
                break;
            }
            let mut batch = Vec::new();
            for e in r["events"]
                .as_array()
                .map(Vec::as_slice)
                .unwrap_or_default()
            {
                if let Some(s) = stored(e) {
                    batch.push(s);
                }
            }
            let head = int(&r["header"]["revision"]);
            let mut w = lock();
            for s in batch {
                start = start.max(s.revision + 1);
                w.events.push_back(s);
            }
            while w.events.len() > WINDOW {
                if let Some(e) = w.events.pop_front() {
                    w.floor = w.floor.max(e.revision);
                }
            }
            // A progress report (no events) says nothing happened up to its revision.
            let top = w.events.back().map_or(head, |e| e.revision.max(head));
            w.head = w.head.max(top);
            seen.fetch_max(w.head, std::sync::atomic::Ordering::Relaxed);
            if let Some(tx) = &w.notify {
                tx.send_replace(seen.load(std::sync::atomic::Ordering::Relaxed));
            }
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// A watch event as the window keeps it.
fn stored(e: &Value) -> Option<Stored> {
    let kv = &e["kv"];
    let key = String::from_utf8(B64.decode(kv["key"].as_str()?).ok()?).ok()?;
    let rest = key.strip_prefix(PREFIX)?;
    let mut parts = rest.splitn(3, '/');
    let resource = parts.next()?.to_string();
    let (a, b) = (parts.next()?, parts.next());
    let namespace = if b.is_some() { a } else { "" }.to_string();
    let revision = int(&kv["mod_revision"]);
    let (kind, object) = if e["type"].as_str() == Some("DELETE") {
        ("DELETED", object(&e["prev_kv"], revision).ok()?)
    } else if int(&kv["create_revision"]) == revision {
        ("ADDED", object(kv, revision).ok()?)
    } else {
        ("MODIFIED", object(kv, revision).ok()?)
    };
    Some(Stored {
        revision,
        resource,
        namespace,
        kind,
        object,
    })
}
