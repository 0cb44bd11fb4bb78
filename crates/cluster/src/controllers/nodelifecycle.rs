//! Node lifecycle: a node whose agent stopped renewing its Lease (`kube-node-lease`)
//! for the grace period (40 s by default) gets `Ready=Unknown` and the `unreachable` taints;
//! pods on a node with a NoExecute taint they do not tolerate (or tolerate only for
//! `tolerationSeconds`, 300 by default) are evicted, so their controllers replace them
//! elsewhere. A node that comes back loses the taints.

use serde_json::{json, Value};

use super::{condition, gone_ok, list, name, namespace, pod_active, res, set_status};
use crate::api::registry::DeleteOptions;
use crate::api::{ApiResult, Registry};

const UNREACHABLE: &str = "node.kubernetes.io/unreachable";
const NOT_READY: &str = "node.kubernetes.io/not-ready";

fn last_heartbeat(reg: &Registry, node: &Value) -> ApiResult<Option<i64>> {
    let lr = res("coordination.k8s.io", "leases")?;
    let lease = gone_ok(reg.get(lr, Some("kube-node-lease"), name(node)))?;
    let from_lease = lease
        .as_ref()
        .and_then(|l| l["spec"]["renewTime"].as_str())
        .and_then(clock::parse_rfc3339);
    let from_status = condition(node, "Ready")
        .and_then(|c| c["lastHeartbeatTime"].as_str())
        .and_then(clock::parse_rfc3339);
    Ok(from_lease.into_iter().chain(from_status).max())
}

fn set_taints(reg: &Registry, node: &Value, want: &[(&str, &str)], now: &str) -> ApiResult<()> {
    let nr = res("", "nodes")?;
    let cur: Vec<Value> = node["spec"]["taints"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let mut out: Vec<Value> = cur
        .iter()
        .filter(|t| {
            let k = t["key"].as_str().unwrap_or_default();
            (k != UNREACHABLE && k != NOT_READY)
                || want
                    .iter()
                    .any(|(wk, we)| t["key"] == *wk && t["effect"] == *we)
        })
        .cloned()
        .collect();
    for (k, e) in want {
        if !out.iter().any(|t| t["key"] == *k && t["effect"] == *e) {
            let mut t = json!({"key": k, "effect": e});
            if *e == "NoExecute" {
                t["timeAdded"] = json!(now);
            }
            out.push(t);
        }
    }
    if out == cur {
        return Ok(());
    }
    let mut n = node.clone();
    if out.is_empty() {
        if let Some(spec) = n["spec"].as_object_mut() {
            spec.remove("taints");
        }
    } else {
        n["spec"]["taints"] = Value::Array(out);
    }
    super::update(reg, nr, n)
}

pub fn reconcile(reg: &Registry) -> ApiResult<()> {
    let (nr, pr) = (res("", "nodes")?, res("", "pods")?);
    let nodes = list(reg, nr, None)?;
    if nodes.is_empty() {
        return Ok(());
    }
    let now = clock::now_nanos();
    let now_s = clock::rfc3339_secs(now);
    for node in &nodes {
        let ready =
            condition(node, "Ready").map(|c| c["status"].as_str().unwrap_or_default().to_string());
        let beat = last_heartbeat(reg, node)?;
        let grace = reg
            .node_grace_secs
            .load(std::sync::atomic::Ordering::Relaxed);
        let lost = beat.is_none_or(|b| now - b > grace * 1_000_000_000);
        if lost && ready.as_deref() != Some("Unknown") {
            let mut st = node["status"].clone();
            let mut conds: Vec<Value> = st["conditions"].as_array().cloned().unwrap_or_default();
            for c in &mut conds {
                if ["Ready", "MemoryPressure", "DiskPressure", "PIDPressure"]
                    .contains(&c["type"].as_str().unwrap_or_default())
                {
                    c["status"] = json!("Unknown");
                    c["reason"] = json!("NodeStatusUnknown");
                    c["message"] = json!("Kubelet stopped posting node status.");
                    c["lastTransitionTime"] = json!(now_s);
                }
            }
            if !conds.iter().any(|c| c["type"] == "Ready") {
                conds.push(json!({"type": "Ready", "status": "Unknown", "reason": "NodeStatusNeverUpdated",
                                  "message": "Kubelet never posted node status.", "lastTransitionTime": now_s}));
            }
            st["conditions"] = Value::Array(conds);
            set_status(reg, nr, node, st)?;
            continue;
        }
        let node = reg.get(nr, None, name(node))?;
        let want: &[(&str, &str)] =
            match condition(&node, "Ready").and_then(|c| c["status"].as_str()) {
                Some("True") => &[],
                Some("False") => &[(NOT_READY, "NoSchedule"), (NOT_READY, "NoExecute")],
                _ => &[(UNREACHABLE, "NoSchedule"), (UNREACHABLE, "NoExecute")],
            };
        set_taints(reg, &node, want, &now_s)?;
    }
    // Taint-based eviction.
    let nodes = list(reg, nr, None)?;
    for pod in list(reg, pr, None)? {
        if !pod_active(&pod) {
            continue;
        }
        let Some(node) = nodes
            .iter()
            .find(|n| pod["spec"]["nodeName"] == json!(name(n)))
        else {
            continue;
        };
        for t in node["spec"]["taints"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|t| t["effect"] == "NoExecute")
        {
            let toleration = pod["spec"]["tolerations"]
                .as_array()
                .into_iter()
                .flatten()
                .find(|tol| {
                    (tol["key"] == t["key"]
                        || (tol["key"].as_str().unwrap_or_default().is_empty()
                            && tol["operator"] == "Exists"))
                        && (tol["effect"].as_str().unwrap_or_default().is_empty()
                            || tol["effect"] == "NoExecute")
                });
            let evict = match toleration {
                None => true,
                Some(tol) => match tol["tolerationSeconds"].as_i64() {
                    None => false,
                    Some(secs) => {
                        let added = t["timeAdded"]
                            .as_str()
                            .and_then(clock::parse_rfc3339)
                            .unwrap_or(now);
                        now - added >= secs.saturating_mul(1_000_000_000)
                    }
                },
            };
            if evict {
                gone_ok(reg.delete(pr, namespace(&pod), name(&pod), &DeleteOptions::default()))?;
                break;
            }
        }
    }
    Ok(())
}
