//! The Deployment controller: one ReplicaSet per pod template (named by the template's
//! hash, labeled `pod-template-hash`), revisions in `deployment.kubernetes.io/revision`
//! (a template brought back by `kubectl rollout undo` gets the next one), the
//! RollingUpdate (maxSurge, maxUnavailable) and Recreate strategies, pausing, history
//! kept to `revisionHistoryLimit`, and the status and conditions `kubectl rollout
//! status` reads.

use serde_json::{json, Map, Value};

use super::{
    controller_ref, controller_uid, gone_ok, list, name, res, set_status, terminating, uid,
};
use crate::api::kinds::label_selector;
use crate::api::registry::{DeleteOptions, Write};
use crate::api::{ApiResult, Registry};
use crate::resources::Resource;
use crate::selector::Selector;

const REVISION: &str = "deployment.kubernetes.io/revision";
const HASH: &str = "pod-template-hash";

fn canonical(v: &Value, out: &mut String) {
    match v {
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            out.push('{');
            for k in keys {
                out.push_str(&Value::String(k.clone()).to_string());
                out.push(':');
                canonical(&m[k], out);
                out.push(',');
            }
            out.push('}');
        }
        Value::Array(a) => {
            out.push('[');
            for x in a {
                canonical(x, out);
                out.push(',');
            }
            out.push(']');
        }
        other => out.push_str(&other.to_string()),
    }
}

/// The template's hash as kube writes it: FNV-1a 32 of the template (and the collision
/// count), its decimal digits mapped onto the safe alphabet.
pub fn template_hash(template: &Value, collisions: i64) -> String {
    let mut text = String::new();
    canonical(template, &mut text);
    if collisions > 0 {
        text.push_str(&collisions.to_string());
    }
    let mut h: u32 = 0x811c_9dc5;
    for b in text.bytes() {
        h ^= u32::from(b);
        h = h.wrapping_mul(0x0100_0193);
    }
    const ALPHA: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
    h.to_string()
        .bytes()
        .map(|c| ALPHA[usize::from(c) % ALPHA.len()] as char)
        .collect()
}

fn revision(rs: &Value) -> i64 {
    rs["metadata"]["annotations"][REVISION]
        .as_str()
        .and_then(|r| r.parse().ok())
        .unwrap_or(0)
}

fn without_hash(template: &Value) -> Value {
    let mut t = template.clone();
    if let Some(l) = t["metadata"]["labels"].as_object_mut() {
        l.remove(HASH);
        if l.is_empty() {
            if let Some(m) = t["metadata"].as_object_mut() {
                m.remove("labels");
            }
        }
    }
    t
}

/// `25%` of `total`, or an int; percentages round up for surge, down for unavailable.
pub fn scaled(v: &Value, total: i64, round_up: bool) -> i64 {
    match v {
        Value::Number(n) => n.as_i64().unwrap_or(0),
        Value::String(s) => match s.strip_suffix('%').and_then(|p| p.parse::<i64>().ok()) {
            Some(p) if round_up => (p * total + 99) / 100,
            Some(p) => p * total / 100,
            None => s.parse().unwrap_or(0),
        },
        _ => 0,
    }
}

fn spec_replicas(rs: &Value) -> i64 {
    rs["spec"]["replicas"].as_i64().unwrap_or(0)
}

fn status_of(rs: &Value, k: &str) -> i64 {
    rs["status"][k].as_i64().unwrap_or(0)
}

fn scale(
    reg: &Registry,
    rsr: &Resource,
    rs: &Value,
    n: i64,
    ann: &[(&str, String)],
) -> ApiResult<()> {
    let mut new = rs.clone();
    new["spec"]["replicas"] = json!(n);
    for (k, v) in ann {
        new["metadata"]["annotations"][*k] = json!(v);
    }
    if new == *rs {
        return Ok(());
    }
    super::update(reg, rsr, new)
}

/// Claim ReplicaSets: owned ones, and orphans whose labels match.
fn claim(
    reg: &Registry,
    rsr: &Resource,
    dr: &Resource,
    d: &Value,
    sel: &Selector,
    all: &[Value],
) -> ApiResult<Vec<Value>> {
    let mut owned = Vec::new();
    for rs in all {
        match controller_uid(rs) {
            Some(u) if u == uid(d) => owned.push(rs.clone()),
            None if sel.matches(&Selector::labels_of(rs))
                && !terminating(rs)
                && !terminating(d) =>
            {
                let mut n = rs.clone();
                let mut refs = rs["metadata"]["ownerReferences"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default();
                refs.push(controller_ref(dr, d));
                n["metadata"]["ownerReferences"] = Value::Array(refs);
                if let Ok(v) = reg.update(
                    rsr,
                    super::namespace(rs),
                    name(rs),
                    n,
                    None,
                    &Write::default(),
                ) {
                    owned.push(v);
                }
            }
            _ => {}
        }
    }
    Ok(owned)
}

fn cond(
    kind: &str,
    status: &str,
    reason: &str,
    message: &str,
    old: Option<&Value>,
    now: &str,
) -> Value {
    let same_status = old.is_some_and(|o| o["status"] == status);
    let same_reason = old.is_some_and(|o| o["reason"] == reason && o["message"] == message);
    let transition = match old {
        Some(o) if same_status => o["lastTransitionTime"].clone(),
        _ => json!(now),
    };
    let update = match old {
        Some(o) if same_status && same_reason => o["lastUpdateTime"].clone(),
        _ => json!(now),
    };
    json!({"type": kind, "status": status, "lastUpdateTime": update,
           "lastTransitionTime": transition, "reason": reason, "message": message})
}

#[allow(clippy::too_many_lines)]
fn sync(reg: &Registry, d: &Value, all_rs: &[Value]) -> ApiResult<()> {
    let (dr, rsr) = (res("apps", "deployments")?, res("apps", "replicasets")?);
    let ns = super::namespace(d);
    let Some(sel) = label_selector(&d["spec"]["selector"]) else {
        return Ok(());
    };
    let mut owned = claim(reg, rsr, dr, d, &sel, all_rs)?;
    if terminating(d) {
        return Ok(());
    }
    let template = &d["spec"]["template"];
    let replicas = d["spec"]["replicas"].as_i64().unwrap_or(1);
    let paused = d["spec"]["paused"] == json!(true);
    let recreate = d["spec"]["strategy"]["type"] == "Recreate";
    let ru = &d["spec"]["strategy"]["rollingUpdate"];
    let mut surge = scaled(&ru["maxSurge"], replicas, true);
    let unavail = scaled(&ru["maxUnavailable"], replicas, false);
    let unavail = if recreate {
        0
    } else if surge == 0 && unavail == 0 {
        1
    } else {
        unavail
    };
    if recreate {
        surge = 0;
    }
    let max_rev = owned.iter().map(revision).max().unwrap_or(0);
    let mut new_idx = owned
        .iter()
        .position(|rs| without_hash(&rs["spec"]["template"]) == *template);
    let change_cause = d["metadata"]["annotations"]["kubernetes.io/change-cause"].clone();
    if new_idx.is_none() && !paused {
        let collisions = d["status"]["collisionCount"].as_i64().unwrap_or(0);
        let hash = template_hash(template, collisions);
        let mut t = template.clone();
        t["metadata"]["labels"][HASH] = json!(hash);
        let mut selector = d["spec"]["selector"].clone();
        selector["matchLabels"][HASH] = json!(hash);
        let old_total: i64 = owned.iter().map(spec_replicas).sum();
        let start = if recreate || old_total > 0 {
            0
        } else {
            replicas
        };
        let mut ann = Map::new();
        ann.insert(REVISION.to_string(), json!((max_rev + 1).to_string()));
        ann.insert(
            "deployment.kubernetes.io/desired-replicas".to_string(),
            json!(replicas.to_string()),
        );
        ann.insert(
            "deployment.kubernetes.io/max-replicas".to_string(),
            json!((replicas + surge).to_string()),
        );
        if change_cause.is_string() {
            ann.insert(
                "kubernetes.io/change-cause".to_string(),
                change_cause.clone(),
            );
        }
        let mut labels = t["metadata"]["labels"].clone();
        labels[HASH] = json!(hash);
        let rs = json!({
            "apiVersion": "apps/v1", "kind": "ReplicaSet",
            "metadata": {"name": format!("{}-{hash}", name(d)), "labels": labels,
                         "annotations": ann, "ownerReferences": [controller_ref(dr, d)]},
            "spec": {"replicas": start, "minReadySeconds": d["spec"]["minReadySeconds"].as_i64().unwrap_or(0),
                     "selector": selector, "template": t},
        });
        match reg.create(rsr, ns, rs, &Write::default()) {
            Ok(v) => {
                if start > 0 {
                    super::event(
                        reg,
                        dr,
                        d,
                        "Normal",
                        "ScalingReplicaSet",
                        &format!("Scaled up replica set {} from 0 to {start}", name(&v)),
                        "deployment-controller",
                        None,
                    );
                }
                owned.push(v);
                new_idx = Some(owned.len() - 1);
            }
            Err(e) if e.code == 409 => {
                // A ReplicaSet of that name with another template: count the collision.
                let mut nd = d.clone();
                nd["status"]["collisionCount"] = json!(collisions + 1);
                set_status(reg, dr, d, nd["status"].clone())?;
                return Ok(());
            }
            Err(e) if e.code == 403 || e.code == 404 => return Ok(()),
            Err(e) => return Err(e),
        }
    }
    // A template brought back (rollback) becomes the newest revision.
    if let Some(i) = new_idx {
        let others = owned
            .iter()
            .enumerate()
            .filter(|(j, _)| *j != i)
            .map(|(_, r)| revision(r))
            .max()
            .unwrap_or(0);
        if revision(&owned[i]) <= others && !paused {
            let mut n = owned[i].clone();
            n["metadata"]["annotations"][REVISION] = json!((others + 1).to_string());
            if change_cause.is_string() {
                n["metadata"]["annotations"]["kubernetes.io/change-cause"] = change_cause.clone();
            }
            super::update(reg, rsr, n.clone())?;
            owned[i] = n;
        }
    }
    let new_rs = new_idx.map(|i| owned[i].clone());
    let old: Vec<Value> = owned
        .iter()
        .enumerate()
        .filter(|(j, _)| Some(*j) != new_idx)
        .map(|(_, r)| r.clone())
        .collect();
    let ann = vec![
        (
            "deployment.kubernetes.io/desired-replicas",
            replicas.to_string(),
        ),
        (
            "deployment.kubernetes.io/max-replicas",
            (replicas + surge).to_string(),
        ),
    ];
    if let Some(nrs) = &new_rs {
        if paused {
            // Paused: only scaling follows spec.replicas.
            if old.iter().all(|r| spec_replicas(r) == 0) && spec_replicas(nrs) != replicas {
                scale(reg, rsr, nrs, replicas, &ann)?;
            }
        } else if recreate {
            let old_active: i64 = old
                .iter()
                .map(|r| spec_replicas(r) + status_of(r, "replicas"))
                .sum();
            for r in &old {
                if spec_replicas(r) > 0 {
                    scale(reg, rsr, r, 0, &[])?;
                }
            }
            if old_active == 0 && spec_replicas(nrs) != replicas {
                scale(reg, rsr, nrs, replicas, &ann)?;
            }
        } else {
            let total: i64 = owned.iter().map(spec_replicas).sum();
            let cur = spec_replicas(nrs);
            let mut target = cur;
            if cur < replicas {
                let max_total = replicas + surge;
                if total < max_total {
                    target = (cur + (max_total - total)).min(replicas);
                }
            } else if cur > replicas {
                target = replicas;
            }
            if target != cur
                || nrs["metadata"]["annotations"]["deployment.kubernetes.io/desired-replicas"]
                    != json!(replicas.to_string())
            {
                scale(reg, rsr, nrs, target, &ann)?;
            }
            // Old ReplicaSets down, keeping replicas - maxUnavailable available.
            let min_avail = replicas - unavail;
            let new_unavailable = (target - status_of(nrs, "availableReplicas")).max(0);
            let total_now = total - cur + target;
            let mut budget = total_now - min_avail - new_unavailable;
            let mut olds = old.clone();
            olds.sort_by_key(revision);
            if budget > 0 {
                // Unhealthy old replicas first.
                for r in &mut olds {
                    let unhealthy = (spec_replicas(r) - status_of(r, "availableReplicas")).max(0);
                    let n = unhealthy.min(budget);
                    if n > 0 {
                        let to = spec_replicas(r) - n;
                        scale(reg, rsr, r, to, &[])?;
                        r["spec"]["replicas"] = json!(to);
                        budget -= n;
                    }
                }
                let available: i64 = owned
                    .iter()
                    .map(|r| status_of(r, "availableReplicas"))
                    .sum();
                let mut down = (available - min_avail).min(budget);
                for r in &olds {
                    if down <= 0 {
                        break;
                    }
                    let n = spec_replicas(r).min(down);
                    if n > 0 {
                        scale(reg, rsr, r, spec_replicas(r) - n, &[])?;
                        down -= n;
                    }
                }
            }
        }
    }
    // History beyond revisionHistoryLimit.
    let limit = d["spec"]["revisionHistoryLimit"]
        .as_i64()
        .unwrap_or(10)
        .max(0) as usize;
    let mut idle: Vec<&Value> = old
        .iter()
        .filter(|r| spec_replicas(r) == 0 && status_of(r, "replicas") == 0 && !terminating(r))
        .collect();
    if idle.len() > limit {
        idle.sort_by_key(|r| revision(r));
        for r in &idle[..idle.len() - limit] {
            gone_ok(reg.delete(rsr, ns, name(r), &DeleteOptions::default()))?;
        }
    }
    // The Deployment's revision annotation follows its newest ReplicaSet.
    if let Some(nrs) = &new_rs {
        let rev = json!(revision(nrs).to_string());
        if d["metadata"]["annotations"][REVISION] != rev {
            let mut nd = d.clone();
            nd["metadata"]["annotations"][REVISION] = rev;
            super::update(reg, dr, nd)?;
            return Ok(());
        }
    }
    // Status.
    let sum = |k: &str| owned.iter().map(|r| status_of(r, k)).sum::<i64>();
    let available = sum("availableReplicas");
    let updated = new_rs.as_ref().map_or(0, |r| status_of(r, "replicas"));
    let total_status = sum("replicas");
    let now = clock::now_rfc3339_secs();
    let old_avail = super::condition(d, "Available");
    let old_prog = super::condition(d, "Progressing");
    let avail_cond = if available >= replicas - unavail {
        cond(
            "Available",
            "True",
            "MinimumReplicasAvailable",
            "Deployment has minimum availability.",
            old_avail,
            &now,
        )
    } else {
        cond(
            "Available",
            "False",
            "MinimumReplicasUnavailable",
            "Deployment does not have minimum availability.",
            old_avail,
            &now,
        )
    };
    let rs_name = new_rs
        .as_ref()
        .map(|r| name(r).to_string())
        .unwrap_or_default();
    let complete = updated == replicas
        && available == replicas
        && total_status == replicas
        && new_rs
            .as_ref()
            .is_some_and(|r| spec_replicas(r) == replicas);
    let deadline = d["spec"]["progressDeadlineSeconds"].as_i64().unwrap_or(600);
    let prog_cond = if paused {
        cond(
            "Progressing",
            "Unknown",
            "DeploymentPaused",
            "Deployment is paused",
            old_prog,
            &now,
        )
    } else if complete {
        cond(
            "Progressing",
            "True",
            "NewReplicaSetAvailable",
            &format!("ReplicaSet \"{rs_name}\" has successfully progressed."),
            old_prog,
            &now,
        )
    } else {
        let progressing = cond(
            "Progressing",
            "True",
            "ReplicaSetUpdated",
            &format!("ReplicaSet \"{rs_name}\" is progressing."),
            old_prog,
            &now,
        );
        let since = progressing["lastUpdateTime"]
            .as_str()
            .and_then(clock::parse_rfc3339)
            .unwrap_or(0);
        let stuck = old_prog.is_some_and(|o| o["reason"] == "ProgressDeadlineExceeded");
        if stuck || clock::now_nanos() - since > deadline.saturating_mul(1_000_000_000) {
            cond(
                "Progressing",
                "False",
                "ProgressDeadlineExceeded",
                &format!("ReplicaSet \"{rs_name}\" has timed out progressing."),
                old_prog,
                &now,
            )
        } else {
            progressing
        }
    };
    let mut status = json!({
        "observedGeneration": d["metadata"]["generation"],
        "replicas": total_status,
        "updatedReplicas": updated,
        "readyReplicas": sum("readyReplicas"),
        "availableReplicas": available,
        "unavailableReplicas": (replicas - available).max(0),
        "conditions": [avail_cond, prog_cond],
    });
    if let Some(c) = d["status"]["collisionCount"].as_i64() {
        status["collisionCount"] = json!(c);
    }
    if let Some(m) = status.as_object_mut() {
        m.retain(|_, v| v.as_i64() != Some(0));
    }
    set_status(reg, dr, d, status)
}

pub fn reconcile(reg: &Registry) -> ApiResult<()> {
    let (dr, rsr) = (res("apps", "deployments")?, res("apps", "replicasets")?);
    let all_d = list(reg, dr, None)?;
    if all_d.is_empty() {
        return Ok(());
    }
    let all_rs = list(reg, rsr, None)?;
    for d in &all_d {
        let ns = super::namespace(d);
        let in_ns: Vec<Value> = all_rs
            .iter()
            .filter(|r| super::namespace(r) == ns)
            .cloned()
            .collect();
        sync(reg, d, &in_ns)?;
    }
    Ok(())
}
