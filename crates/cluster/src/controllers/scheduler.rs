//! The scheduler: each unbound pod of `default-scheduler` goes to the node that passes
//! the filters (schedulable and ready, taints tolerated, nodeSelector and required node
//! affinity, requested resources within what is allocatable, host ports free, inter-pod
//! affinity and anti-affinity, topology spread constraints: `topology.rs`) with the best
//! score (least allocated, fewest pods of the same owner, spread and preferred affinity),
//! bound through the pods/binding subresource; a pod no node takes gets kube's
//! `PodScheduled=False Unschedulable` condition with the reasons.

use std::collections::BTreeMap;

use serde_json::{json, Value};

use super::{condition, controller_uid, list, name, namespace, pod_active, res, set_status};
use crate::api::{ApiResult, Registry};
use crate::selector::Selector;

/// A Kubernetes quantity (`100m`, `1.5`, `128Mi`, `1G`, `1e3`) in base units.
pub fn quantity(q: &str) -> Option<f64> {
    let q = q.trim();
    let split = q
        .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '+' || c == '-'))
        .unwrap_or(q.len());
    let (num, suffix) = q.split_at(split);
    let n: f64 = num.parse().ok()?;
    let mult = match suffix {
        "" => 1.0,
        "n" => 1e-9,
        "u" => 1e-6,
        "m" => 1e-3,
        "k" => 1e3,
        "M" => 1e6,
        "G" => 1e9,
        "T" => 1e12,
        "P" => 1e15,
        "E" => 1e18,
        "Ki" => 1024.0,
        "Mi" => 1024f64.powi(2),
        "Gi" => 1024f64.powi(3),
        "Ti" => 1024f64.powi(4),
        "Pi" => 1024f64.powi(5),
        "Ei" => 1024f64.powi(6),
        s if s.starts_with(['e', 'E']) => 10f64.powi(s[1..].parse().ok()?),
        _ => return None,
    };
    Some(n * mult)
}

/// What a pod asks for: the largest init container or the sum of the others.
pub fn requests(pod: &Value) -> BTreeMap<String, f64> {
    let mut sum: BTreeMap<String, f64> = BTreeMap::new();
    let spec = &pod["spec"];
    for c in spec["containers"].as_array().into_iter().flatten() {
        for (k, v) in c["resources"]["requests"].as_object().into_iter().flatten() {
            *sum.entry(k.clone()).or_default() += v.as_str().and_then(quantity).unwrap_or(0.0);
        }
    }
    for c in spec["initContainers"].as_array().into_iter().flatten() {
        for (k, v) in c["resources"]["requests"].as_object().into_iter().flatten() {
            let x = v.as_str().and_then(quantity).unwrap_or(0.0);
            let e = sum.entry(k.clone()).or_default();
            if x > *e {
                *e = x;
            }
        }
    }
    sum
}

fn tolerates(pod: &Value, taint: &Value) -> bool {
    pod["spec"]["tolerations"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|t| {
            let key_ok = t["key"].as_str().unwrap_or_default().is_empty()
                && t["operator"] == "Exists"
                || t["key"] == taint["key"];
            let op_ok = match t["operator"].as_str().unwrap_or("Equal") {
                "Exists" => true,
                _ => {
                    t["value"].as_str().unwrap_or_default()
                        == taint["value"].as_str().unwrap_or_default()
                }
            };
            let effect_ok = t["effect"].as_str().unwrap_or_default().is_empty()
                || t["effect"] == taint["effect"];
            key_ok && op_ok && effect_ok
        })
}

/// The node's taints, with those kube derives from its state.
pub fn taints(node: &Value) -> Vec<Value> {
    let mut out = node["spec"]["taints"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    if node["spec"]["unschedulable"] == json!(true) {
        out.push(json!({"key": "node.kubernetes.io/unschedulable", "effect": "NoSchedule"}));
    }
    out
}

fn node_term_matches(term: &Value, node: &Value) -> bool {
    let labels = Selector::labels_of(node);
    let exprs_ok = term["matchExpressions"]
        .as_array()
        .into_iter()
        .flatten()
        .all(|e| {
            let key = e["key"].as_str().unwrap_or_default();
            let vals: Vec<&str> = e["values"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .collect();
            let have = labels.get(key);
            match e["operator"].as_str().unwrap_or_default() {
                "In" => have.is_some_and(|h| vals.contains(&h.as_str())),
                "NotIn" => have.is_none_or(|h| !vals.contains(&h.as_str())),
                "Exists" => have.is_some(),
                "DoesNotExist" => have.is_none(),
                "Gt" | "Lt" => {
                    let (Some(h), Some(v)) = (
                        have.and_then(|h| h.parse::<i64>().ok()),
                        vals.first().and_then(|v| v.parse::<i64>().ok()),
                    ) else {
                        return false;
                    };
                    if e["operator"] == "Gt" {
                        h > v
                    } else {
                        h < v
                    }
                }
                _ => false,
            }
        });
    let fields_ok = term["matchFields"]
        .as_array()
        .into_iter()
        .flatten()
        .all(|e| {
            let vals: Vec<&str> = e["values"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .collect();
            let n = name(node);
            match e["operator"].as_str().unwrap_or_default() {
                "In" => e["key"] == "metadata.name" && vals.contains(&n),
                "NotIn" => e["key"] == "metadata.name" && !vals.contains(&n),
                _ => false,
            }
        });
    exprs_ok && fields_ok
}

/// Why `node` cannot take `pod` (None: it can).
fn unfit(pod: &Value, node: &Value, on_node: &[&Value]) -> Option<&'static str> {
    let ready = condition(node, "Ready").is_some_and(|c| c["status"] == "True");
    if !ready {
        return Some("node(s) had untolerated taint {node.kubernetes.io/not-ready: }");
    }
    for t in taints(node) {
        let effect = t["effect"].as_str().unwrap_or_default();
        if (effect == "NoSchedule" || effect == "NoExecute") && !tolerates(pod, &t) {
            return Some(if t["key"] == "node.kubernetes.io/unschedulable" {
                "node(s) were unschedulable"
            } else {
                "node(s) had untolerated taint"
            });
        }
    }
    if let Some(sel) = pod["spec"]["nodeSelector"].as_object() {
        let labels = Selector::labels_of(node);
        if sel
            .iter()
            .any(|(k, v)| labels.get(k).map(String::as_str) != v.as_str())
        {
            return Some("node(s) didn't match Pod's node affinity/selector");
        }
    }
    let required = &pod["spec"]["affinity"]["nodeAffinity"]
        ["requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"];
    if let Some(terms) = required.as_array() {
        if !terms.iter().any(|t| node_term_matches(t, node)) {
            return Some("node(s) didn't match Pod's node affinity/selector");
        }
    }
    let alloc = &node["status"]["allocatable"];
    let want = requests(pod);
    let mut used: BTreeMap<String, f64> = BTreeMap::new();
    for p in on_node {
        for (k, v) in requests(p) {
            *used.entry(k).or_default() += v;
        }
    }
    for (k, v) in &want {
        if let Some(cap) = alloc[k].as_str().and_then(quantity) {
            if used.get(k).copied().unwrap_or(0.0) + v > cap + 1e-9 {
                return Some(match k.as_str() {
                    "cpu" => "Insufficient cpu",
                    "memory" => "Insufficient memory",
                    _ => "Insufficient resources",
                });
            }
        }
    }
    if let Some(max) = alloc["pods"].as_str().and_then(quantity) {
        if on_node.len() as f64 + 1.0 > max {
            return Some("Too many pods");
        }
    }
    let ports = |p: &Value| -> Vec<(i64, String)> {
        p["spec"]["containers"]
            .as_array()
            .into_iter()
            .flatten()
            .flat_map(|c| c["ports"].as_array().cloned().unwrap_or_default())
            .filter_map(|pt| {
                pt["hostPort"]
                    .as_i64()
                    .filter(|h| *h > 0)
                    .map(|h| (h, pt["protocol"].as_str().unwrap_or("TCP").to_string()))
            })
            .collect()
    };
    let mine = ports(pod);
    if !mine.is_empty()
        && on_node
            .iter()
            .any(|p| ports(p).iter().any(|x| mine.contains(x)))
    {
        return Some("node(s) didn't have free ports for the requested pod ports");
    }
    None
}

fn score(pod: &Value, node: &Value, on_node: &[&Value]) -> f64 {
    let alloc = &node["status"]["allocatable"];
    let mut used: BTreeMap<String, f64> = requests(pod);
    for p in on_node {
        for (k, v) in requests(p) {
            *used.entry(k).or_default() += v;
        }
    }
    let free = |k: &str, default_req: f64| {
        let cap = alloc[k].as_str().and_then(quantity).unwrap_or(0.0);
        if cap <= 0.0 {
            return 0.0;
        }
        let u = used.get(k).copied().unwrap_or(0.0).max(default_req);
        ((cap - u) / cap).max(0.0)
    };
    // Least allocated (kube counts an unrequested container as 100m and 200Mi).
    let least = (free("cpu", 0.1) + free("memory", 200.0 * 1024.0 * 1024.0)) / 2.0 * 100.0;
    let owner = controller_uid(pod);
    let same = on_node
        .iter()
        .filter(|p| owner.is_some() && controller_uid(p) == owner)
        .count();
    least - 10.0 * same as f64
}

pub fn reconcile(reg: &Registry) -> ApiResult<()> {
    let (pr, nr) = (res("", "pods")?, res("", "nodes")?);
    let pods = list(reg, pr, None)?;
    let pending: Vec<&Value> = pods
        .iter()
        .filter(|p| {
            p["spec"]["nodeName"]
                .as_str()
                .unwrap_or_default()
                .is_empty()
                && p["spec"]["schedulerName"]
                    .as_str()
                    .unwrap_or("default-scheduler")
                    == "default-scheduler"
                && pod_active(p)
        })
        .collect();
    if pending.is_empty() {
        return Ok(());
    }
    let nodes = list(reg, nr, None)?;
    let ns_labels: super::topology::NsLabels = list(reg, res("", "namespaces")?, None)?
        .iter()
        .map(|n| (name(n).to_string(), crate::selector::Selector::labels_of(n)))
        .collect();
    // Pods bound so far this pass count for the next ones.
    let mut placed: Vec<(String, Value)> = pods
        .iter()
        .filter(|p| pod_active(p))
        .filter_map(|p| {
            p["spec"]["nodeName"]
                .as_str()
                .filter(|n| !n.is_empty())
                .map(|n| (n.to_string(), p.clone()))
        })
        .collect();
    for pod in pending {
        let mut best: Option<(f64, &Value)> = None;
        let mut reasons: BTreeMap<&str, usize> = BTreeMap::new();
        for node in &nodes {
            let on: Vec<&Value> = placed
                .iter()
                .filter(|(n, _)| n == name(node))
                .map(|(_, p)| p)
                .collect();
            let why = unfit(pod, node, &on)
                .or_else(|| super::topology::affinity_unfit(pod, node, &nodes, &placed, &ns_labels))
                .or_else(|| super::topology::spread_unfit(pod, node, &nodes, &placed));
            match why {
                Some(why) => *reasons.entry(why).or_default() += 1,
                None => {
                    let s = score(pod, node, &on)
                        + super::topology::score(pod, node, &nodes, &placed, &ns_labels);
                    if best.is_none_or(|(b, _)| s > b) {
                        best = Some((s, node));
                    }
                }
            }
        }
        let ns = namespace(pod).unwrap_or_default();
        match best {
            Some((_, node)) => {
                let binding = json!({"target": {"kind": "Node", "name": name(node)}});
                if reg.bind(ns, name(pod), &binding).is_ok() {
                    super::event(
                        reg,
                        pr,
                        pod,
                        "Normal",
                        "Scheduled",
                        &format!("Successfully assigned {ns}/{} to {}", name(pod), name(node)),
                        "default-scheduler",
                        None,
                    );
                    let mut p = pod.clone();
                    p["spec"]["nodeName"] = json!(name(node));
                    placed.push((name(node).to_string(), p));
                }
            }
            None => {
                let mut parts: Vec<String> =
                    reasons.iter().map(|(r, n)| format!("{n} {r}")).collect();
                parts.sort();
                let msg = if nodes.is_empty() {
                    "no nodes available to schedule pods".to_string()
                } else {
                    format!(
                        "0/{} nodes are available: {}.",
                        nodes.len(),
                        parts.join(", ")
                    )
                };
                let mut st = pod["status"].clone();
                let mut conds: Vec<Value> =
                    st["conditions"].as_array().cloned().unwrap_or_default();
                let prev = conds.iter().find(|c| c["type"] == "PodScheduled").cloned();
                if prev.as_ref().is_some_and(|c| c["message"] == json!(msg)) {
                    continue;
                }
                conds.retain(|c| c["type"] != "PodScheduled");
                conds.push(
                    json!({"type": "PodScheduled", "status": "False", "lastProbeTime": null,
                                  "lastTransitionTime": clock::now_rfc3339_secs(),
                                  "reason": "Unschedulable", "message": msg}),
                );
                st["conditions"] = Value::Array(conds);
                super::event(
                    reg,
                    pr,
                    pod,
                    "Warning",
                    "FailedScheduling",
                    &msg,
                    "default-scheduler",
                    None,
                );
                set_status(reg, pr, pod, st)?;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantities_in_base_units() {
        assert_eq!(quantity("100m"), Some(0.1));
        assert_eq!(quantity("2"), Some(2.0));
        assert_eq!(quantity("128Mi"), Some(128.0 * 1024.0 * 1024.0));
        assert_eq!(quantity("1G"), Some(1e9));
        assert_eq!(quantity("1e3"), Some(1000.0));
        assert_eq!(quantity("x"), None);
    }

    #[test]
    fn filters_say_why_a_node_does_not_fit() {
        let node = json!({"metadata": {"name": "n1", "labels": {"disk": "ssd"}},
            "spec": {"taints": [{"key": "dedicated", "value": "db", "effect": "NoSchedule"}]},
            "status": {"conditions": [{"type": "Ready", "status": "True"}],
                       "allocatable": {"cpu": "1", "memory": "1Gi", "pods": "110"}}});
        let pod = json!({"spec": {"containers": [{"resources": {"requests": {"cpu": "500m"}}}]}});
        assert_eq!(
            unfit(&pod, &node, &[]),
            Some("node(s) had untolerated taint")
        );
        let mut tol = pod.clone();
        tol["spec"]["tolerations"] = json!([{"key": "dedicated", "operator": "Equal", "value": "db", "effect": "NoSchedule"}]);
        assert_eq!(unfit(&tol, &node, &[]), None);
        assert_eq!(unfit(&tol, &node, &[&pod, &pod]), Some("Insufficient cpu"));
        tol["spec"]["nodeSelector"] = json!({"disk": "hdd"});
        assert_eq!(
            unfit(&tol, &node, &[]),
            Some("node(s) didn't match Pod's node affinity/selector")
        );
    }
}
