//! The scheduler's plugins that look at other pods by topology, as kube-scheduler's
//! InterPodAffinity and PodTopologySpread do:
//! - required pod affinity (the node's domain of `topologyKey` holds a matching pod; the
//!   first pod of a group that matches its own term may go anywhere) and anti-affinity
//!   (it holds none), and the required anti-affinity of pods already placed;
//! - `topologySpreadConstraints`: `DoNotSchedule` filters out a domain where placing the
//!   pod would make the skew (its count minus the smallest count among the eligible
//!   domains) exceed `maxSkew`; `ScheduleAnyway` scores by the counts;
//! - preferred (anti-)affinity weights in the score.
//!
//! Terms look at the pod's own namespace, the `namespaces` they list, or those their
//! `namespaceSelector` matches by label (`{}`: all).

use std::collections::BTreeMap;

use serde_json::Value;

use crate::api::kinds::label_selector;
use crate::selector::Selector;

/// The pods bound so far: (node name, pod).
pub type Placed = [(String, Value)];

fn node_label<'a>(node: &'a Value, key: &str) -> Option<&'a str> {
    node["metadata"]["labels"][key].as_str()
}

fn ns_of(p: &Value) -> &str {
    p["metadata"]["namespace"].as_str().unwrap_or_default()
}

/// Each namespace's labels (for terms' `namespaceSelector`).
pub type NsLabels = BTreeMap<String, BTreeMap<String, String>>;

/// Whether `other` is in the namespaces a term of `pod` looks at: those listed, those
/// `namespaceSelector` selects (`{}`: all), else the pod's own.
fn in_namespaces(term: &Value, pod: &Value, other: &Value, ns: &NsLabels) -> bool {
    let listed = term["namespaces"].as_array().filter(|a| !a.is_empty());
    let by_selector = term["namespaceSelector"].is_object().then(|| {
        label_selector(&term["namespaceSelector"]).is_some_and(|sel| {
            ns.get(ns_of(other))
                .is_some_and(|labels| sel.matches(labels))
        })
    });
    match (listed, by_selector) {
        (None, None) => ns_of(other) == ns_of(pod),
        (list, sel) => {
            list.is_some_and(|l| l.iter().any(|n| n.as_str() == Some(ns_of(other))))
                || sel == Some(true)
        }
    }
}

fn term_matches(term: &Value, pod: &Value, other: &Value, ns: &NsLabels) -> bool {
    let Some(sel) = label_selector(&term["labelSelector"]) else {
        return false;
    };
    !term["labelSelector"].is_null()
        && in_namespaces(term, pod, other, ns)
        && sel.matches(&Selector::labels_of(other))
}

/// The pods placed in `node`'s domain of `key` (none when the node lacks the label).
fn in_domain<'a>(
    key: &str,
    node: &Value,
    nodes: &'a [Value],
    placed: &'a Placed,
) -> Vec<&'a Value> {
    let Some(v) = node_label(node, key) else {
        return Vec::new();
    };
    let names: Vec<&str> = nodes
        .iter()
        .filter(|n| node_label(n, key) == Some(v))
        .filter_map(|n| n["metadata"]["name"].as_str())
        .collect();
    placed
        .iter()
        .filter(|(n, _)| names.contains(&n.as_str()))
        .map(|(_, p)| p)
        .collect()
}

fn required<'a>(pod: &'a Value, kind: &str) -> impl Iterator<Item = &'a Value> {
    pod["spec"]["affinity"][kind]["requiredDuringSchedulingIgnoredDuringExecution"]
        .as_array()
        .into_iter()
        .flatten()
}

/// Why `node` fails `pod`'s inter-pod affinity rules (or those of pods already placed).
pub fn affinity_unfit(
    pod: &Value,
    node: &Value,
    nodes: &[Value],
    placed: &Placed,
    ns: &NsLabels,
) -> Option<&'static str> {
    for term in required(pod, "podAffinity") {
        let key = term["topologyKey"].as_str().unwrap_or_default();
        let here = in_domain(key, node, nodes, placed);
        if here.iter().any(|p| term_matches(term, pod, p, ns)) {
            continue;
        }
        // The first of a group: nothing matches anywhere, and the pod matches itself.
        let anywhere = placed.iter().any(|(_, p)| term_matches(term, pod, p, ns));
        if anywhere || !term_matches(term, pod, pod, ns) || node_label(node, key).is_none() {
            return Some("node(s) didn't match pod affinity rules");
        }
    }
    for term in required(pod, "podAntiAffinity") {
        let key = term["topologyKey"].as_str().unwrap_or_default();
        if in_domain(key, node, nodes, placed)
            .iter()
            .any(|p| term_matches(term, pod, p, ns))
        {
            return Some("node(s) didn't match pod anti-affinity rules");
        }
    }
    // Pods already placed whose required anti-affinity rejects this one near them.
    for (_, other) in placed.iter() {
        for term in required(other, "podAntiAffinity") {
            let key = term["topologyKey"].as_str().unwrap_or_default();
            let near = in_domain(key, node, nodes, placed)
                .iter()
                .any(|p| std::ptr::eq(*p, other));
            if near && term_matches(term, other, pod, ns) {
                return Some("node(s) didn't satisfy existing pods anti-affinity rules");
            }
        }
    }
    None
}

/// The pods matching a spread constraint in each domain of its key, over the nodes
/// that have the key.
fn counts(c: &Value, pod: &Value, nodes: &[Value], placed: &Placed) -> BTreeMap<String, i64> {
    let key = c["topologyKey"].as_str().unwrap_or_default();
    let sel = label_selector(&c["labelSelector"]);
    let mut out: BTreeMap<String, i64> = BTreeMap::new();
    for n in nodes {
        if let Some(v) = node_label(n, key) {
            out.entry(v.to_string()).or_default();
        }
    }
    for (nname, p) in placed {
        if ns_of(p) != ns_of(pod)
            || !sel
                .as_ref()
                .is_some_and(|s| s.matches(&Selector::labels_of(p)))
        {
            continue;
        }
        let Some(n) = nodes
            .iter()
            .find(|n| n["metadata"]["name"] == nname.as_str())
        else {
            continue;
        };
        if let Some(v) = node_label(n, key) {
            *out.entry(v.to_string()).or_default() += 1;
        }
    }
    out
}

fn constraints<'a>(pod: &'a Value, when: &'a str) -> impl Iterator<Item = &'a Value> {
    pod["spec"]["topologySpreadConstraints"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(move |c| c["whenUnsatisfiable"].as_str().unwrap_or("DoNotSchedule") == when)
}

/// Why `node` fails `pod`'s `DoNotSchedule` spread constraints.
pub fn spread_unfit(
    pod: &Value,
    node: &Value,
    nodes: &[Value],
    placed: &Placed,
) -> Option<&'static str> {
    for c in constraints(pod, "DoNotSchedule") {
        let key = c["topologyKey"].as_str().unwrap_or_default();
        let Some(v) = node_label(node, key) else {
            return Some(
                "node(s) didn't match pod topology spread constraints (missing required label)",
            );
        };
        let counts = counts(c, pod, nodes, placed);
        let min = counts.values().copied().min().unwrap_or(0);
        let here = counts.get(v).copied().unwrap_or(0);
        let max_skew = c["maxSkew"].as_i64().unwrap_or(1).max(1);
        if here + 1 - min > max_skew {
            return Some("node(s) didn't match pod topology spread constraints");
        }
    }
    None
}

/// Score adjustments (higher is better): fewer matching pods in the node's domain for
/// `ScheduleAnyway` constraints, and the weights of preferred (anti-)affinity terms.
pub fn score(pod: &Value, node: &Value, nodes: &[Value], placed: &Placed, ns: &NsLabels) -> f64 {
    let mut s = 0.0;
    for c in constraints(pod, "ScheduleAnyway") {
        let key = c["topologyKey"].as_str().unwrap_or_default();
        if let Some(v) = node_label(node, key) {
            s -= 10.0 * counts(c, pod, nodes, placed).get(v).copied().unwrap_or(0) as f64;
        }
    }
    for (kind, sign) in [("podAffinity", 1.0), ("podAntiAffinity", -1.0)] {
        let preferred = pod["spec"]["affinity"][kind]
            ["preferredDuringSchedulingIgnoredDuringExecution"]
            .as_array()
            .into_iter()
            .flatten();
        for w in preferred {
            let term = &w["podAffinityTerm"];
            let key = term["topologyKey"].as_str().unwrap_or_default();
            let matched = in_domain(key, node, nodes, placed)
                .iter()
                .filter(|p| term_matches(term, pod, p, ns))
                .count();
            if matched > 0 {
                s += sign * w["weight"].as_f64().unwrap_or(1.0);
            }
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn node(name: &str, zone: &str) -> Value {
        json!({"metadata": {"name": name, "labels": {"kubernetes.io/hostname": name, "zone": zone}}})
    }

    fn pod(app: &str) -> Value {
        json!({"metadata": {"namespace": "default", "labels": {"app": app}}, "spec": {}})
    }

    #[test]
    fn anti_affinity_keeps_replicas_apart_and_affinity_brings_them_together() {
        let ns = NsLabels::new();
        let nodes = vec![node("a", "z1"), node("b", "z1"), node("c", "z2")];
        let mut web = pod("web");
        web["spec"]["affinity"] = json!({"podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [
            {"labelSelector": {"matchLabels": {"app": "web"}}, "topologyKey": "kubernetes.io/hostname"}]}});
        let placed = vec![("a".to_string(), web.clone())];
        assert!(affinity_unfit(&web, &nodes[0], &nodes, &placed, &ns).is_some());
        assert!(affinity_unfit(&web, &nodes[1], &nodes, &placed, &ns).is_none());
        // An unrelated pod may go next to it, and the placed pod's rule rejects another web.
        assert!(affinity_unfit(&pod("db"), &nodes[0], &nodes, &placed, &ns).is_none());
        assert_eq!(
            affinity_unfit(&pod("web"), &nodes[0], &nodes, &placed, &ns),
            Some("node(s) didn't satisfy existing pods anti-affinity rules")
        );
        let mut cache = pod("cache");
        cache["spec"]["affinity"] = json!({"podAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [
            {"labelSelector": {"matchLabels": {"app": "web"}}, "topologyKey": "zone"}]}});
        assert!(affinity_unfit(&cache, &nodes[1], &nodes, &placed, &ns).is_none());
        assert!(affinity_unfit(&cache, &nodes[2], &nodes, &placed, &ns).is_some());
        // A namespaceSelector looks at the namespaces whose labels it matches.
        let mut other = pod("web");
        other["metadata"]["namespace"] = json!("prod");
        let placed = vec![("a".to_string(), other)];
        let mut sel = pod("x");
        sel["spec"]["affinity"] = json!({"podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [
            {"labelSelector": {"matchLabels": {"app": "web"}}, "topologyKey": "kubernetes.io/hostname",
             "namespaceSelector": {"matchLabels": {"env": "prod"}}}]}});
        assert!(affinity_unfit(&sel, &nodes[0], &nodes, &placed, &ns).is_none());
        let mut labelled = NsLabels::new();
        labelled.insert(
            "prod".into(),
            [("env".to_string(), "prod".to_string())].into(),
        );
        assert!(affinity_unfit(&sel, &nodes[0], &nodes, &placed, &labelled).is_some());
    }

    #[test]
    fn spread_constraints_bound_the_skew() {
        let ns = NsLabels::new();
        let nodes = vec![node("a", "z1"), node("b", "z2")];
        let mut p = pod("web");
        p["spec"]["topologySpreadConstraints"] = json!([{"maxSkew": 1, "topologyKey": "zone",
            "whenUnsatisfiable": "DoNotSchedule", "labelSelector": {"matchLabels": {"app": "web"}}}]);
        let placed = vec![("a".to_string(), pod("web"))];
        assert!(spread_unfit(&p, &nodes[0], &nodes, &placed).is_some());
        assert!(spread_unfit(&p, &nodes[1], &nodes, &placed).is_none());
        p["spec"]["topologySpreadConstraints"][0]["whenUnsatisfiable"] = json!("ScheduleAnyway");
        assert!(spread_unfit(&p, &nodes[0], &nodes, &placed).is_none());
        assert!(
            score(&p, &nodes[0], &nodes, &placed, &ns) < score(&p, &nodes[1], &nodes, &placed, &ns)
        );
    }
}
