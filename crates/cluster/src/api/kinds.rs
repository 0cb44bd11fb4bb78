//! What kube-apiserver does per kind on a write: defaults (`SetDefaults_*` and the
//! mutating admission plugins on by default), allocation (service IPs and node ports),
//! validation with kube's field paths and words, and grace periods.

use serde_json::{json, Value};

use super::meta::{self, set_default, validate_labels};
use super::pod::{default_pod_spec, validate_pod_spec};
use super::status::{ApiError, ApiResult, FieldError};
use crate::resources::Resource;
use crate::selector::Selector;
use crate::store::{Scope, Store};

/// The pod template defaults of a workload (`spec.template`).
fn default_template(spec: &mut Value) {
    if !spec["template"]["spec"].is_object() {
        return;
    }
    default_pod_spec(&mut spec["template"]["spec"], false);
    if !spec["template"]["metadata"].is_object() {
        spec["template"]["metadata"] = json!({});
    }
}

/// Defaults and admission of a create.
pub fn prepare_create(
    res: &Resource,
    obj: &mut Value,
    store: &Store,
    service_cidr: (u32, u8),
) -> ApiResult<()> {
    match (res.group, res.kind) {
        ("", "Namespace") => {
            let name = obj["metadata"]["name"]
                .as_str()
                .unwrap_or_default()
                .to_string();
            obj["metadata"]["labels"]["kubernetes.io/metadata.name"] = json!(name);
            set_default(obj, "spec", json!({}));
            obj["spec"]["finalizers"] = json!(["kubernetes"]);
            obj["status"] = json!({"phase": "Active"});
        }
        ("", "Pod") => {
            if !obj["spec"].is_object() {
                obj["spec"] = json!({});
            }
            default_pod_spec(&mut obj["spec"], true);
            super::pod::admit_service_account(obj, store)?;
            let qos = super::pod::qos_class(&obj["spec"]);
            obj["status"] = json!({"phase": "Pending", "qosClass": qos});
        }
        ("", "Secret") => {
            set_default(obj, "type", json!("Opaque"));
            fold_string_data(obj);
        }
        ("", "Service") => {
            default_service(obj);
            allocate_service(obj, store, service_cidr)?;
            obj["status"] = json!({"loadBalancer": {}});
        }
        ("apps", "Deployment") => {
            if obj["spec"].is_object() {
                default_deployment_spec(&mut obj["spec"]);
            }
            obj["status"] = json!({});
        }
        ("apps", "ReplicaSet") | ("", "ReplicationController") => {
            if obj["spec"].is_object() {
                set_default(&mut obj["spec"], "replicas", json!(1));
                default_template(&mut obj["spec"]);
            }
            obj["status"] = json!({"replicas": 0});
        }
        ("batch", "Job") => default_job(obj),
        _ => {}
    }
    Ok(())
}

/// Defaults kept on an update (a client that sends less than it got back).
pub fn prepare_update(res: &Resource, obj: &mut Value, old: &Value) -> ApiResult<()> {
    match (res.group, res.kind) {
        ("", "Namespace") => {
            let name = old["metadata"]["name"]
                .as_str()
                .unwrap_or_default()
                .to_string();
            obj["metadata"]["labels"]["kubernetes.io/metadata.name"] = json!(name);
            obj["spec"] = old["spec"].clone();
        }
        ("", "Pod") if obj["spec"].is_object() => {
            default_pod_spec(&mut obj["spec"], false);
        }
        ("", "Secret") => {
            set_default(obj, "type", json!("Opaque"));
            fold_string_data(obj);
        }
        ("", "Service") => {
            default_service(obj);
            // The allocated addresses stay when a client leaves them out.
            for k in ["clusterIP", "clusterIPs"] {
                if obj["spec"][k].is_null() {
                    obj["spec"][k] = old["spec"][k].clone();
                }
            }
            if let (Some(new_ports), Some(old_ports)) = (
                obj["spec"]["ports"].as_array_mut(),
                old["spec"]["ports"].as_array(),
            ) {
                for p in new_ports {
                    if p["nodePort"].is_null() {
                        if let Some(o) = old_ports.iter().find(|o| o["port"] == p["port"]) {
                            if !o["nodePort"].is_null() {
                                p["nodePort"] = o["nodePort"].clone();
                            }
                        }
                    }
                }
            }
        }
        ("apps", "Deployment") if obj["spec"].is_object() => {
            default_deployment_spec(&mut obj["spec"]);
        }
        ("apps", "ReplicaSet") | ("", "ReplicationController") if obj["spec"].is_object() => {
            set_default(&mut obj["spec"], "replicas", json!(1));
            default_template(&mut obj["spec"]);
        }
        ("batch", "Job") if obj["spec"].is_object() => {
            for k in [
                "selector",
                "completions",
                "parallelism",
                "backoffLimit",
                "completionMode",
                "suspend",
                "podReplacementPolicy",
            ] {
                if obj["spec"][k].is_null() {
                    obj["spec"][k] = old["spec"][k].clone();
                }
            }
            default_template(&mut obj["spec"]);
        }
        _ => {}
    }
    Ok(())
}

/// `SetDefaults_Deployment`.
fn default_deployment_spec(spec: &mut Value) {
    set_default(spec, "replicas", json!(1));
    set_default(spec, "strategy", json!({}));
    set_default(&mut spec["strategy"], "type", json!("RollingUpdate"));
    if spec["strategy"]["type"] == "RollingUpdate" {
        set_default(&mut spec["strategy"], "rollingUpdate", json!({}));
        let ru = &mut spec["strategy"]["rollingUpdate"];
        set_default(ru, "maxUnavailable", json!("25%"));
        set_default(ru, "maxSurge", json!("25%"));
    }
    set_default(spec, "revisionHistoryLimit", json!(10));
    set_default(spec, "progressDeadlineSeconds", json!(600));
    default_template(spec);
}

/// `stringData` folded into `data` (base64), as the API server stores secrets.
fn fold_string_data(obj: &mut Value) {
    use base64::Engine;
    let Some(sd) = obj.as_object_mut().and_then(|m| m.remove("stringData")) else {
        return;
    };
    if let Some(m) = sd.as_object() {
        for (k, v) in m {
            let s = v.as_str().unwrap_or_default();
            obj["data"][k] = json!(base64::engine::general_purpose::STANDARD.encode(s));
        }
    }
}

fn default_service(obj: &mut Value) {
    if !obj["spec"].is_object() {
        obj["spec"] = json!({});
    }
    let spec = &mut obj["spec"];
    set_default(spec, "type", json!("ClusterIP"));
    set_default(spec, "sessionAffinity", json!("None"));
    if spec["type"] != "ExternalName" {
        set_default(spec, "internalTrafficPolicy", json!("Cluster"));
    }
    if spec["type"] == "NodePort" || spec["type"] == "LoadBalancer" {
        set_default(spec, "externalTrafficPolicy", json!("Cluster"));
    }
    if spec["sessionAffinity"] == "ClientIP" {
        set_default(
            spec,
            "sessionAffinityConfig",
            json!({"clientIP": {"timeoutSeconds": 10800}}),
        );
    }
    if let Some(ports) = spec["ports"].as_array_mut() {
        for p in ports {
            set_default(p, "protocol", json!("TCP"));
            if p["targetPort"].is_null() {
                p["targetPort"] = p["port"].clone();
            }
        }
    }
}

/// A cluster IP from the service range and node ports from 30000-32767, unused by the
/// services stored; `None` clusterIP makes a headless service.
fn allocate_service(obj: &mut Value, store: &Store, cidr: (u32, u8)) -> ApiResult<()> {
    let (services, _) = store
        .list(
            Scope {
                resource: "services",
                namespace: None,
            },
            &Selector::default(),
        )
        .map_err(|e| ApiError::internal(e.to_string()))?;
    let name = obj["metadata"]["name"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let spec = &mut obj["spec"];
    if spec["type"] == "ExternalName" {
        return Ok(());
    }
    let used: Vec<&str> = services
        .iter()
        .filter_map(|s| s["spec"]["clusterIP"].as_str())
        .collect();
    let ip = match spec["clusterIP"].as_str() {
        Some("None") => "None".to_string(),
        Some(ip) if !ip.is_empty() => {
            if used.contains(&ip) {
                return Err(ApiError::invalid(
                    crate::resources::find("", "v1", "services")
                        .ok_or_else(|| ApiError::internal("no services"))?,
                    &name,
                    &[FieldError::invalid(
                        "spec.clusterIPs",
                        &json!([ip]),
                        &format!("failed to allocate IP {ip}: provided IP is already allocated"),
                    )],
                ));
            }
            ip.to_string()
        }
        _ => {
            // The range's first address is the `kubernetes` service's, its tenth the
            // cluster DNS's.
            let (base, len) = cidr;
            let size: u32 = if len >= 32 {
                1
            } else {
                1u32 << (32 - u32::from(len))
            };
            let mut found = None;
            for off in (2u32..size.saturating_sub(1)).filter(|o| *o != 10) {
                let cand = std::net::Ipv4Addr::from(base + off).to_string();
                if !used.contains(&cand.as_str()) {
                    found = Some(cand);
                    break;
                }
            }
            found.ok_or_else(|| ApiError::internal("the service IP range is full"))?
        }
    };
    spec["clusterIP"] = json!(ip);
    spec["clusterIPs"] = json!([ip]);
    set_default(spec, "ipFamilies", json!(["IPv4"]));
    set_default(spec, "ipFamilyPolicy", json!("SingleStack"));
    if spec["type"] == "NodePort" || spec["type"] == "LoadBalancer" {
        let used_ports: Vec<i64> = services
            .iter()
            .flat_map(|s| s["spec"]["ports"].as_array().cloned().unwrap_or_default())
            .filter_map(|p| p["nodePort"].as_i64())
            .collect();
        let mut next = 30000;
        if let Some(ports) = spec["ports"].as_array_mut() {
            for p in ports {
                if p["nodePort"].as_i64().is_none() {
                    while used_ports.contains(&next) {
                        next += 1;
                    }
                    p["nodePort"] = json!(next);
                    next += 1;
                }
            }
        }
    }
    Ok(())
}

fn default_job(obj: &mut Value) {
    let uid = obj["metadata"]["uid"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let name = obj["metadata"]["name"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    if !obj["spec"].is_object() {
        return;
    }
    let spec = &mut obj["spec"];
    let manual = spec["manualSelector"] == json!(true);
    if spec["completions"].is_null() && spec["parallelism"].is_null() {
        spec["completions"] = json!(1);
        spec["parallelism"] = json!(1);
    }
    set_default(spec, "parallelism", json!(1));
    set_default(spec, "backoffLimit", json!(6));
    set_default(spec, "completionMode", json!("NonIndexed"));
    set_default(spec, "suspend", json!(false));
    set_default(spec, "podReplacementPolicy", json!("TerminatingOrFailed"));
    if !manual {
        if spec["selector"].is_null() {
            spec["selector"] = json!({"matchLabels": {"batch.kubernetes.io/controller-uid": uid}});
        }
        let labels = &mut spec["template"]["metadata"]["labels"];
        for (k, v) in [
            ("batch.kubernetes.io/controller-uid", &uid),
            ("batch.kubernetes.io/job-name", &name),
            ("controller-uid", &uid),
            ("job-name", &name),
        ] {
            labels[k] = json!(v);
        }
    }
    default_template(spec);
    let tl = obj["spec"]["template"]["metadata"]["labels"].clone();
    if obj["metadata"]["labels"]
        .as_object()
        .is_none_or(|m| m.is_empty())
        && tl.is_object()
    {
        obj["metadata"]["labels"] = tl;
    }
    obj["status"] = json!({});
}

/// The grace period of a delete: `Some` for a pod running on a node (the node agent
/// stops it and removes the object), `None` for an immediate delete.
pub fn grace_period(res: &Resource, obj: &Value, asked: Option<i64>) -> Option<i64> {
    if res.kind != "Pod" || !res.group.is_empty() {
        return None;
    }
    let on_node = obj["spec"]["nodeName"]
        .as_str()
        .is_some_and(|n| !n.is_empty());
    let done = matches!(
        obj["status"]["phase"].as_str(),
        Some("Succeeded" | "Failed")
    );
    let grace = asked.unwrap_or_else(|| {
        obj["spec"]["terminationGracePeriodSeconds"]
            .as_i64()
            .unwrap_or(30)
    });
    if !on_node || done || grace <= 0 {
        None
    } else {
        Some(grace)
    }
}

fn go_map(v: &Value) -> String {
    let pairs: Vec<String> = v
        .as_object()
        .map(|m| m.iter().map(|(k, v)| format!("{k:?}:{}", v)).collect())
        .unwrap_or_default();
    format!("map[string]string{{{}}}", pairs.join(", "))
}

/// A `LabelSelector` object (matchLabels, matchExpressions) as a selector.
pub fn label_selector(sel: &Value) -> Option<Selector> {
    use crate::selector::Requirement as R;
    let mut reqs = Vec::new();
    if let Some(m) = sel["matchLabels"].as_object() {
        for (k, v) in m {
            reqs.push(R::Equals(k.clone(), v.as_str()?.to_string()));
        }
    }
    if let Some(exprs) = sel["matchExpressions"].as_array() {
        for e in exprs {
            let key = e["key"].as_str()?.to_string();
            let vals: Vec<String> = e["values"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|v| v.as_str().map(str::to_string))
                        .collect()
                })
                .unwrap_or_default();
            reqs.push(match e["operator"].as_str()? {
                "In" => R::In(key, vals),
                "NotIn" => R::NotIn(key, vals),
                "Exists" => R::Exists(key),
                "DoesNotExist" => R::DoesNotExist(key),
                _ => return None,
            });
        }
    }
    Some(Selector(reqs))
}

fn validate_selector_and_template(spec: &Value, errs: &mut Vec<FieldError>, restart: &[&str]) {
    let sel = &spec["selector"];
    if sel.is_null() {
        errs.push(FieldError::required("spec.selector", ""));
    } else {
        validate_labels(&sel["matchLabels"], "spec.selector.matchLabels", errs);
        let empty = sel["matchLabels"].as_object().is_none_or(|m| m.is_empty())
            && sel["matchExpressions"].as_array().is_none_or(Vec::is_empty);
        if empty {
            errs.push(FieldError::invalid(
                "spec.selector",
                &json!("{}"),
                "empty selector is invalid for deployment",
            ));
        }
    }
    let labels = &spec["template"]["metadata"]["labels"];
    validate_labels(labels, "spec.template.metadata.labels", errs);
    if let Some(s) = label_selector(sel) {
        if !sel.is_null() && !s.matches(&Selector::labels_of(&spec["template"])) {
            errs.push(FieldError {
                reason: "FieldValueInvalid",
                field: "spec.template.metadata.labels".to_string(),
                message: format!(
                    "Invalid value: {}: `selector` does not match template `labels`",
                    go_map(labels)
                ),
            });
        }
    }
    if !spec["template"]["spec"].is_object() {
        errs.push(FieldError::required("spec.template.spec.containers", ""));
        return;
    }
    validate_pod_spec(&spec["template"]["spec"], "spec.template.spec", errs);
    let rp = spec["template"]["spec"]["restartPolicy"]
        .as_str()
        .unwrap_or("Always");
    if !restart.contains(&rp) {
        errs.push(FieldError::unsupported(
            "spec.template.spec.restartPolicy",
            &json!(rp),
            restart,
        ));
    }
}

fn non_negative(v: &Value, path: &str, errs: &mut Vec<FieldError>) {
    if let Some(n) = v.as_i64() {
        if n < 0 {
            errs.push(FieldError::invalid(
                path,
                v,
                "must be greater than or equal to 0",
            ));
        }
    }
}

fn immutable(new: &Value, old: &Value, path: &str, errs: &mut Vec<FieldError>) {
    if new != old {
        errs.push(FieldError::invalid(path, new, "field is immutable"));
    }
}

fn validate_data_keys(obj: &Value, errs: &mut Vec<FieldError>) {
    for field in ["data", "binaryData"] {
        if let Some(m) = obj[field].as_object() {
            for k in m.keys() {
                let ok = !k.is_empty()
                    && k.len() <= 253
                    && k.bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b"-._".contains(&b));
                if !ok {
                    errs.push(FieldError::invalid(format!("{field}[{k}]"), &json!(k), "a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')"));
                }
            }
        }
    }
}

/// Validation of a create (`old` None) or an update.
pub fn validate(res: &Resource, obj: &Value, old: Option<&Value>, errs: &mut Vec<FieldError>) {
    let spec = &obj["spec"];
    match (res.group, res.kind) {
        ("", "Pod") => {
            if !spec.is_object() {
                errs.push(FieldError::required("spec.containers", ""));
                return;
            }
            validate_pod_spec(spec, "spec", errs);
            if let Some(old) = old {
                super::pod::validate_pod_update(spec, &old["spec"], errs);
            }
        }
        ("", "ConfigMap") | ("", "Secret") => {
            validate_data_keys(obj, errs);
            if let Some(old) = old {
                if old["immutable"] == json!(true)
                    && (obj["data"] != old["data"] || obj["binaryData"] != old["binaryData"])
                {
                    errs.push(FieldError::forbidden(
                        "data",
                        "field is immutable when `immutable` is set",
                    ));
                }
            }
        }
        ("", "Service") => validate_service(obj, old, errs),
        ("apps", "Deployment") | ("apps", "ReplicaSet") => {
            non_negative(&spec["replicas"], "spec.replicas", errs);
            validate_selector_and_template(spec, errs, &["Always"]);
            if let Some(old) = old {
                immutable(
                    &spec["selector"],
                    &old["spec"]["selector"],
                    "spec.selector",
                    errs,
                );
            }
            if res.kind == "Deployment" {
                let t = spec["strategy"]["type"].as_str().unwrap_or("RollingUpdate");
                if !["RollingUpdate", "Recreate"].contains(&t) {
                    errs.push(FieldError::unsupported(
                        "spec.strategy.type",
                        &json!(t),
                        &["Recreate", "RollingUpdate"],
                    ));
                }
            }
        }
        ("batch", "Job") => {
            non_negative(&spec["parallelism"], "spec.parallelism", errs);
            non_negative(&spec["completions"], "spec.completions", errs);
            non_negative(&spec["backoffLimit"], "spec.backoffLimit", errs);
            validate_selector_and_template(spec, errs, &["OnFailure", "Never"]);
            if let Some(old) = old {
                immutable(
                    &spec["selector"],
                    &old["spec"]["selector"],
                    "spec.selector",
                    errs,
                );
                immutable(
                    &spec["template"],
                    &old["spec"]["template"],
                    "spec.template",
                    errs,
                );
                immutable(
                    &spec["completions"],
                    &old["spec"]["completions"],
                    "spec.completions",
                    errs,
                );
            }
        }
        _ => {}
    }
}

fn validate_service(obj: &Value, old: Option<&Value>, errs: &mut Vec<FieldError>) {
    let spec = &obj["spec"];
    let t = spec["type"].as_str().unwrap_or("ClusterIP");
    let types = ["ClusterIP", "ExternalName", "LoadBalancer", "NodePort"];
    if !types.contains(&t) {
        errs.push(FieldError::unsupported("spec.type", &json!(t), &types));
    }
    let headless = spec["clusterIP"] == "None";
    let ports = spec["ports"].as_array().cloned().unwrap_or_default();
    if ports.is_empty() && !headless && t != "ExternalName" {
        errs.push(FieldError::required("spec.ports", ""));
    }
    let mut names = Vec::new();
    for (i, p) in ports.iter().enumerate() {
        let path = format!("spec.ports[{i}]");
        match p["port"].as_i64() {
            Some(n) if (1..=65535).contains(&n) => {}
            Some(_) => errs.push(FieldError::invalid(
                format!("{path}.port"),
                &p["port"],
                "must be between 1 and 65535, inclusive",
            )),
            None => errs.push(FieldError::required(format!("{path}.port"), "")),
        }
        let proto = p["protocol"].as_str().unwrap_or("TCP");
        if !["TCP", "UDP", "SCTP"].contains(&proto) {
            errs.push(FieldError::unsupported(
                format!("{path}.protocol"),
                &json!(proto),
                &["SCTP", "TCP", "UDP"],
            ));
        }
        let name = p["name"].as_str().unwrap_or_default();
        if ports.len() > 1 && name.is_empty() {
            errs.push(FieldError::required(format!("{path}.name"), ""));
        }
        if !name.is_empty() {
            for e in meta::dns1123_label(name) {
                errs.push(FieldError::invalid(
                    format!("{path}.name"),
                    &json!(name),
                    &e,
                ));
            }
            if names.contains(&name) {
                errs.push(FieldError::duplicate(format!("{path}.name"), &json!(name)));
            }
            names.push(name);
        }
        if let Some(np) = p["nodePort"].as_i64() {
            if !(30000..=32767).contains(&np) {
                errs.push(FieldError::invalid(
                    format!("{path}.nodePort"),
                    &p["nodePort"],
                    "provided port is not in the valid range. The range of valid ports is 30000-32767",
                ));
            }
        }
    }
    if let Some(sel) = spec["selector"].as_object() {
        validate_labels(&Value::Object(sel.clone()), "spec.selector", errs);
    }
    if let Some(old) = old {
        let (n, o) = (&spec["clusterIP"], &old["spec"]["clusterIP"]);
        if !o.is_null() && n != o {
            errs.push(FieldError::invalid(
                "spec.clusterIPs[0]",
                n,
                "may not change once set",
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn selectors_of_label_selector_objects() {
        let s = label_selector(&json!({"matchLabels": {"app": "web"},
            "matchExpressions": [{"key": "tier", "operator": "In", "values": ["a", "b"]}]}))
        .expect("selector");
        let l = Selector::labels_of(&json!({"metadata": {"labels": {"app": "web", "tier": "b"}}}));
        assert!(s.matches(&l));
    }

    #[test]
    fn a_template_that_does_not_match_its_selector_is_invalid() {
        let d = json!({"spec": {"selector": {"matchLabels": {"app": "x"}},
            "template": {"metadata": {"labels": {"app": "y"}},
                         "spec": {"containers": [{"name": "c", "image": "i"}]}}}});
        let mut errs = Vec::new();
        let res = crate::resources::find("apps", "v1", "deployments").expect("deployments");
        validate(res, &d, None, &mut errs);
        assert_eq!(errs.len(), 1, "{errs:?}");
        assert_eq!(
            errs[0].text(),
            "spec.template.metadata.labels: Invalid value: map[string]string{\"app\":\"y\"}: `selector` does not match template `labels`"
        );
    }
}
