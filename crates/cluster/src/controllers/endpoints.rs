//! The endpoints controllers: for each Service with a selector, the Endpoints object of
//! the same name (ready pods under `addresses`, the others under `notReadyAddresses`)
//! and one EndpointSlice (`SERVICE-xxxxx`, with ready/serving/terminating conditions),
//! target ports resolved by number or by the pods' port names.

use serde_json::{json, Value};

use super::{controller_ref, gone_ok, list, name, namespace, pod_ready, res, terminating};
use crate::api::registry::{DeleteOptions, Write};
use crate::api::{ApiResult, Registry};
use crate::selector::Selector;

/// The port a pod serves a service port on (a number, or a named container port).
fn target_port(pod: &Value, sp: &Value) -> Option<i64> {
    match &sp["targetPort"] {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => pod["spec"]["containers"]
            .as_array()?
            .iter()
            .flat_map(|c| c["ports"].as_array().cloned().unwrap_or_default())
            .find(|p| p["name"] == json!(s))
            .and_then(|p| p["containerPort"].as_i64()),
        _ => sp["port"].as_i64(),
    }
}

fn address(pod: &Value) -> Value {
    let mut a = json!({"ip": pod["status"]["podIP"],
        "targetRef": {"kind": "Pod", "namespace": namespace(pod), "name": name(pod), "uid": pod["metadata"]["uid"]}});
    if let Some(n) = pod["spec"]["nodeName"].as_str().filter(|n| !n.is_empty()) {
        a["nodeName"] = json!(n);
    }
    a
}

fn sync(reg: &Registry, svc: &Value, pods: &[Value]) -> ApiResult<()> {
    let (er, sr, svr) = (
        res("", "endpoints")?,
        res("discovery.k8s.io", "endpointslices")?,
        res("", "services")?,
    );
    let ns = namespace(svc);
    let Some(sel) = svc["spec"]["selector"]
        .as_object()
        .filter(|m| !m.is_empty())
    else {
        return Ok(());
    };
    let sel = Selector(
        sel.iter()
            .map(|(k, v)| {
                crate::selector::Requirement::Equals(
                    k.clone(),
                    v.as_str().unwrap_or_default().to_string(),
                )
            })
            .collect(),
    );
    let publish = svc["spec"]["publishNotReadyAddresses"] == json!(true);
    let ports: Vec<Value> = svc["spec"]["ports"].as_array().cloned().unwrap_or_default();
    let members: Vec<&Value> = pods
        .iter()
        .filter(|p| sel.matches(&Selector::labels_of(p)))
        .filter(|p| {
            p["status"]["podIP"]
                .as_str()
                .is_some_and(|ip| !ip.is_empty())
        })
        .filter(|p| !matches!(p["status"]["phase"].as_str(), Some("Succeeded" | "Failed")))
        .collect();
    // Endpoints: pods grouped by their resolved port lists.
    let mut subsets: Vec<(Vec<Value>, Vec<Value>, Vec<Value>)> = Vec::new();
    for p in &members {
        if terminating(p) && !publish {
            continue;
        }
        let eps: Vec<Value> = ports
            .iter()
            .filter_map(|sp| {
                target_port(p, sp).map(|tp| {
                    let mut e =
                        json!({"port": tp, "protocol": sp["protocol"].as_str().unwrap_or("TCP")});
                    if let Some(n) = sp["name"].as_str().filter(|n| !n.is_empty()) {
                        e["name"] = json!(n);
                    }
                    e
                })
            })
            .collect();
        let idx = match subsets.iter().position(|(pp, _, _)| *pp == eps) {
            Some(i) => i,
            None => {
                subsets.push((eps, Vec::new(), Vec::new()));
                subsets.len() - 1
            }
        };
        if (pod_ready(p) || publish) && !terminating(p) {
            subsets[idx].1.push(address(p));
        } else {
            subsets[idx].2.push(address(p));
        }
    }
    let subsets: Vec<Value> = subsets
        .into_iter()
        .map(|(ports, ready, not_ready)| {
            let mut s = json!({});
            if !ready.is_empty() {
                s["addresses"] = Value::Array(ready);
            }
            if !not_ready.is_empty() {
                s["notReadyAddresses"] = Value::Array(not_ready);
            }
            if !ports.is_empty() {
                s["ports"] = Value::Array(ports);
            }
            s
        })
        .collect();
    let mut labels = svc["metadata"]["labels"].clone();
    if svc["spec"]["clusterIP"] == "None" {
        labels["service.kubernetes.io/headless"] = json!("");
    }
    let mut want = json!({"metadata": {"name": name(svc),
        "annotations": {"endpoints.kubernetes.io/last-change-trigger-time": clock::now_rfc3339_secs()}},
        "subsets": subsets});
    if labels.is_object() {
        want["metadata"]["labels"] = labels.clone();
    }
    match gone_ok(reg.get(er, ns, name(svc)))? {
        Some(cur) => {
            if cur["subsets"].as_array().cloned().unwrap_or_default()
                != want["subsets"].as_array().cloned().unwrap_or_default()
                || (labels.is_object() && cur["metadata"]["labels"] != labels)
            {
                let mut n = cur.clone();
                n["subsets"] = want["subsets"].clone();
                if labels.is_object() {
                    n["metadata"]["labels"] = labels.clone();
                }
                super::update(reg, er, n)?;
            }
        }
        None => {
            let _ = gone_ok(reg.create(er, ns, want, &Write::default()));
        }
    }
    // The EndpointSlice.
    let slice_ports: Vec<Value> = ports
        .iter()
        .map(|sp| {
            let port = members.first().and_then(|p| target_port(p, sp)).or_else(|| sp["targetPort"].as_i64());
            json!({"name": sp["name"].as_str().unwrap_or_default(), "protocol": sp["protocol"].as_str().unwrap_or("TCP"), "port": port})
        })
        .collect();
    let endpoints: Vec<Value> = members
        .iter()
        .map(|p| {
            let mut e = json!({"addresses": [p["status"]["podIP"]],
                "conditions": {"ready": pod_ready(p) && !terminating(p), "serving": pod_ready(p), "terminating": terminating(p)},
                "targetRef": {"kind": "Pod", "namespace": namespace(p), "name": name(p), "uid": p["metadata"]["uid"]}});
            if let Some(n) = p["spec"]["nodeName"].as_str().filter(|n| !n.is_empty()) {
                e["nodeName"] = json!(n);
            }
            e
        })
        .collect();
    let slices: Vec<Value> = list(reg, sr, ns)?
        .into_iter()
        .filter(|s| s["metadata"]["labels"]["kubernetes.io/service-name"] == json!(name(svc)))
        .collect();
    let mut slice_labels = labels.clone();
    if !slice_labels.is_object() {
        slice_labels = json!({});
    }
    slice_labels["kubernetes.io/service-name"] = json!(name(svc));
    slice_labels["endpointslice.kubernetes.io/managed-by"] =
        json!("endpointslice-controller.k8s.io");
    match slices.first() {
        Some(cur) => {
            if cur["endpoints"].as_array().cloned().unwrap_or_default() != endpoints
                || cur["ports"] != json!(slice_ports)
            {
                let mut n = cur.clone();
                n["endpoints"] = json!(endpoints);
                n["ports"] = json!(slice_ports);
                super::update(reg, sr, n)?;
            }
            for extra in &slices[1..] {
                gone_ok(reg.delete(sr, ns, name(extra), &DeleteOptions::default()))?;
            }
        }
        None => {
            let slice = json!({"metadata": {"generateName": format!("{}-", name(svc)), "labels": slice_labels,
                                "ownerReferences": [controller_ref(svr, svc)]},
                               "addressType": "IPv4", "endpoints": endpoints, "ports": slice_ports});
            let _ = gone_ok(reg.create(sr, ns, slice, &Write::default()));
        }
    }
    Ok(())
}

pub fn reconcile(reg: &Registry) -> ApiResult<()> {
    let (svr, pr, er) = (
        res("", "services")?,
        res("", "pods")?,
        res("", "endpoints")?,
    );
    let services = list(reg, svr, None)?;
    let pods = list(reg, pr, None)?;
    for svc in &services {
        if terminating(svc) {
            continue;
        }
        let in_ns: Vec<Value> = pods
            .iter()
            .filter(|p| namespace(p) == namespace(svc))
            .cloned()
            .collect();
        sync(reg, svc, &in_ns)?;
    }
    // Endpoints this controller made for services that are gone (the slices go with
    // their owner through the garbage collector).
    for ep in list(reg, er, None)? {
        let ours = ep["metadata"]["annotations"]
            ["endpoints.kubernetes.io/last-change-trigger-time"]
            .is_string();
        let has_service = services
            .iter()
            .any(|s| namespace(s) == namespace(&ep) && name(s) == name(&ep));
        if ours && !has_service {
            gone_ok(reg.delete(er, namespace(&ep), name(&ep), &DeleteOptions::default()))?;
        }
    }
    Ok(())
}
