//! The controllers: level-triggered reconcile loops over the registry, in process.
//! Each one reads the whole state it owns and writes only what differs, so running it
//! again changes nothing; the runner calls each after every change of the store's
//! revision and once a second (for what time alone changes).

use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Value};

use crate::api::registry::{ListOptions, Write};
use crate::api::{ApiError, ApiResult, Registry};
use crate::resources::{self, Resource};

pub mod deployment;
pub mod endpoints;
pub mod gc;
pub mod job;
pub mod leader;
pub mod namespace;
pub mod nodeipam;
pub mod nodelifecycle;
pub mod replicaset;
pub mod scheduler;
pub mod serviceaccount;
pub mod topology;

#[cfg(test)]
mod tests;

/// A resource of the table (the table is static, so a miss is a bug caught by tests).
pub fn res(group: &str, plural: &str) -> ApiResult<&'static Resource> {
    let version = if group == "autoscaling" { "v2" } else { "v1" };
    resources::find(group, version, plural)
        .ok_or_else(|| ApiError::internal(format!("no resource {plural}.{group}")))
}

/// Every object of `r` (in `ns`, or all namespaces).
pub fn list(reg: &Registry, r: &Resource, ns: Option<&str>) -> ApiResult<Vec<Value>> {
    Ok(reg.list(r, ns, &ListOptions::default())?.0)
}

pub fn name(o: &Value) -> &str {
    o["metadata"]["name"].as_str().unwrap_or_default()
}

pub fn namespace(o: &Value) -> Option<&str> {
    o["metadata"]["namespace"].as_str()
}

pub fn uid(o: &Value) -> &str {
    o["metadata"]["uid"].as_str().unwrap_or_default()
}

pub fn terminating(o: &Value) -> bool {
    o["metadata"]["deletionTimestamp"].is_string()
}

/// The uid of the object's controller (its ownerReference with `controller: true`).
pub fn controller_uid(o: &Value) -> Option<&str> {
    o["metadata"]["ownerReferences"]
        .as_array()?
        .iter()
        .find(|r| r["controller"] == json!(true))
        .and_then(|r| r["uid"].as_str())
}

/// An ownerReference naming `owner` (of `r`) as the controller.
pub fn controller_ref(r: &Resource, owner: &Value) -> Value {
    json!({"apiVersion": r.api_version(), "kind": r.kind, "name": name(owner),
           "uid": uid(owner), "controller": true, "blockOwnerDeletion": true})
}

/// Whether a pod counts: not terminating, not finished.
pub fn pod_active(p: &Value) -> bool {
    !terminating(p) && !matches!(p["status"]["phase"].as_str(), Some("Succeeded" | "Failed"))
}

/// The status of a condition of an object (`True`, `False`, ...).
pub fn condition<'a>(o: &'a Value, t: &str) -> Option<&'a Value> {
    o["status"]["conditions"]
        .as_array()?
        .iter()
        .find(|c| c["type"] == t)
}

pub fn pod_ready(p: &Value) -> bool {
    condition(p, "Ready").is_some_and(|c| c["status"] == "True")
}

/// Whether a ready pod has been ready for `min_ready` seconds at `now` (nanoseconds).
pub fn pod_available(p: &Value, min_ready: i64, now: i64) -> bool {
    if !pod_ready(p) {
        return false;
    }
    if min_ready <= 0 {
        return true;
    }
    let since = condition(p, "Ready")
        .and_then(|c| c["lastTransitionTime"].as_str())
        .and_then(clock::parse_rfc3339);
    since.is_some_and(|t| now - t >= min_ready.saturating_mul(1_000_000_000))
}

/// A write that ignores a vanished object (another actor deleted it first).
pub fn gone_ok<T>(r: ApiResult<T>) -> ApiResult<Option<T>> {
    match r {
        Ok(v) => Ok(Some(v)),
        Err(e) if e.code == 404 => Ok(None),
        Err(e) => Err(e),
    }
}

/// Replace an object's status when it changed (a conflict is left to the next pass).
pub fn set_status(reg: &Registry, r: &Resource, obj: &Value, status: Value) -> ApiResult<()> {
    if obj["status"] == status {
        return Ok(());
    }
    let mut new = obj.clone();
    new["status"] = status;
    match reg.update(
        r,
        namespace(obj),
        name(obj),
        new,
        Some("status"),
        &Write::default(),
    ) {
        Ok(_) => Ok(()),
        Err(e) if e.code == 404 || e.code == 409 => Ok(()),
        Err(e) => Err(e),
    }
}

/// Replace an object (a conflict or a vanished object is left to the next pass).
pub fn update(reg: &Registry, r: &Resource, new: Value) -> ApiResult<()> {
    let n = name(&new).to_string();
    let ns = namespace(&new).map(str::to_string);
    match reg.update(r, ns.as_deref(), &n, new, None, &Write::default()) {
        Ok(_) => Ok(()),
        Err(e) if e.code == 404 || e.code == 409 => Ok(()),
        Err(e) => Err(e),
    }
}

/// A reconcile pass of one controller.
pub type Pass = fn(&Registry) -> ApiResult<()>;

/// The control plane's controllers, in the order a pass runs them.
pub const ALL: &[(&str, Pass)] = &[
    ("namespace", namespace::reconcile),
    ("serviceaccount", serviceaccount::reconcile),
    ("garbagecollector", gc::reconcile),
    ("deployment", deployment::reconcile),
    ("replicaset", replicaset::reconcile),
    ("job", job::reconcile),
    ("nodeipam", nodeipam::reconcile),
    ("nodelifecycle", nodelifecycle::reconcile),
    ("scheduler", scheduler::reconcile),
    ("endpoints", endpoints::reconcile),
];

/// Run every controller after each change and once a second, until the runtime ends.
pub async fn run(reg: Arc<Registry>, elector: Option<leader::Elector>) {
    let mut changes = reg.subscribe();
    let elector = Arc::new(std::sync::Mutex::new(elector));
    // The garbage collector reads every object: once a second is soon enough for it.
    let mut last_gc = std::time::Instant::now() - Duration::from_secs(1);
    loop {
        let r = reg.clone();
        let gc_due = last_gc.elapsed() >= Duration::from_secs(1);
        if gc_due {
            last_gc = std::time::Instant::now();
        }
        let el = elector.clone();
        let done = tokio::task::spawn_blocking(move || {
            // With several API servers on one store, only the elected one reconciles.
            let mut el = el.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            if el.as_mut().is_some_and(|e| !e.leading(&r)) {
                return;
            }
            for (what, pass) in ALL {
                if *what == "garbagecollector" && !gc_due {
                    continue;
                }
                if let Err(e) = pass(&r) {
                    eprintln!("quai cluster: {what} controller: {e}");
                }
            }
        })
        .await;
        if done.is_err() {
            eprintln!("quai cluster: a controller pass panicked");
        }
        tokio::select! {
            c = changes.changed() => {
                if c.is_err() {
                    return;
                }
                // Let a burst of writes settle into one pass.
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            _ = tokio::time::sleep(Duration::from_secs(1)) => {}
        }
    }
}

/// Run every controller until nothing changes (tests and one-shot use).
pub fn settle(reg: &Registry) -> ApiResult<()> {
    for _ in 0..50 {
        let before = reg.revision()?;
        for (_, pass) in ALL {
            pass(reg)?;
        }
        if reg.revision()? == before {
            return Ok(());
        }
    }
    Err(ApiError::internal(
        "the controllers did not settle in 50 passes",
    ))
}

#[allow(clippy::too_many_arguments)]
/// Record an Event about `obj` (of `r`), as the component `component` (on `host`)
/// reports it; a repeat of the same reason and message counts up instead.
pub fn event(
    cp: &dyn crate::api::client::ControlPlane,
    r: &Resource,
    obj: &Value,
    kind: &str,
    reason: &str,
    message: &str,
    component: &str,
    host: Option<&str>,
) {
    let Ok(er) = res("", "events") else { return };
    let ns = namespace(obj).unwrap_or("default").to_string();
    let now = clock::now_rfc3339_secs();
    // One Event per object, reason and message: its name says which, so a repeat is
    // found by name (not by listing the namespace's events).
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in uid(obj)
        .bytes()
        .chain(reason.bytes())
        .chain(message.bytes())
    {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    let ev_name = format!("{}.{h:016x}", name(obj));
    if let Ok(mut e) = cp.get(er, Some(&ns), &ev_name) {
        e["count"] = json!(e["count"].as_i64().unwrap_or(1) + 1);
        e["lastTimestamp"] = json!(now);
        let _ = cp.update(er, Some(&ns), &ev_name, e, None);
        return;
    }
    let mut source = json!({"component": component});
    if let Some(h) = host {
        source["host"] = json!(h);
    }
    let ev = json!({
        "metadata": {"name": ev_name},
        "involvedObject": {"kind": r.kind, "namespace": namespace(obj), "name": name(obj),
                           "uid": uid(obj), "apiVersion": r.api_version(),
                           "resourceVersion": obj["metadata"]["resourceVersion"]},
        "reason": reason, "message": message, "source": source,
        "firstTimestamp": now, "lastTimestamp": now, "count": 1, "type": kind,
        "reportingComponent": component, "reportingInstance": host.unwrap_or_default(),
    });
    let _ = cp.create(er, Some(&ns), ev);
}
