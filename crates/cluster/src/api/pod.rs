//! Pod specs: kube-apiserver's defaults (`SetDefaults_PodSpec`, `SetDefaults_Container`,
//! probes, volumes, and for pods themselves the ServiceAccount, Priority and
//! DefaultTolerationSeconds admission plugins), the QoS class, and validation.

use serde_json::{json, Value};

use super::meta::{self, set_default};
use super::status::FieldError;
use super::{ApiError, ApiResult};

/// `Always` for an image without a tag or with `:latest`, else `IfNotPresent`.
pub fn default_pull_policy(image: &str) -> &'static str {
    if image.contains('@') {
        return "IfNotPresent";
    }
    let last = image.rsplit('/').next().unwrap_or(image);
    match last.split_once(':') {
        Some((_, "latest")) | None => "Always",
        Some(_) => "IfNotPresent",
    }
}

fn default_probe(p: &mut Value) {
    if !p.is_object() {
        return;
    }
    set_default(p, "timeoutSeconds", json!(1));
    set_default(p, "periodSeconds", json!(10));
    set_default(p, "successThreshold", json!(1));
    set_default(p, "failureThreshold", json!(3));
    if p["httpGet"].is_object() {
        set_default(&mut p["httpGet"], "scheme", json!("HTTP"));
        set_default(&mut p["httpGet"], "path", json!("/"));
    }
    if p["grpc"].is_object() {
        set_default(&mut p["grpc"], "service", json!(""));
    }
}

fn default_container(c: &mut Value) {
    set_default(c, "terminationMessagePath", json!("/dev/termination-log"));
    set_default(c, "terminationMessagePolicy", json!("File"));
    let image = c["image"].as_str().unwrap_or_default().to_string();
    set_default(c, "imagePullPolicy", json!(default_pull_policy(&image)));
    set_default(c, "resources", json!({}));
    // Requests default to the limits given.
    if let Some(limits) = c["resources"]["limits"].as_object().cloned() {
        for (k, v) in limits {
            if c["resources"]["requests"][&k].is_null() {
                c["resources"]["requests"][&k] = v;
            }
        }
    }
    if let Some(ports) = c["ports"].as_array_mut() {
        for p in ports {
            set_default(p, "protocol", json!("TCP"));
        }
    }
    if let Some(env) = c["env"].as_array_mut() {
        for e in env {
            if e["valueFrom"]["fieldRef"].is_object() {
                set_default(&mut e["valueFrom"]["fieldRef"], "apiVersion", json!("v1"));
            }
        }
    }
    for probe in ["livenessProbe", "readinessProbe", "startupProbe"] {
        default_probe(&mut c[probe]);
    }
}

fn default_volume(v: &mut Value) {
    for src in ["configMap", "secret", "downwardAPI", "projected"] {
        if v[src].is_object() {
            set_default(&mut v[src], "defaultMode", json!(420));
        }
    }
    if v["hostPath"].is_object() {
        set_default(&mut v["hostPath"], "type", json!(""));
    }
    if let Some(items) = v["downwardAPI"]["items"].as_array_mut() {
        for it in items {
            if it["fieldRef"].is_object() {
                set_default(&mut it["fieldRef"], "apiVersion", json!("v1"));
            }
        }
    }
}

/// Defaults of a pod spec; `is_pod` adds what admission gives pods (not templates).
pub fn default_pod_spec(spec: &mut Value, is_pod: bool) {
    set_default(spec, "restartPolicy", json!("Always"));
    set_default(spec, "terminationGracePeriodSeconds", json!(30));
    set_default(spec, "dnsPolicy", json!("ClusterFirst"));
    set_default(spec, "securityContext", json!({}));
    set_default(spec, "schedulerName", json!("default-scheduler"));
    for list in ["containers", "initContainers"] {
        if let Some(cs) = spec[list].as_array_mut() {
            for c in cs {
                default_container(c);
            }
        }
    }
    if let Some(vs) = spec["volumes"].as_array_mut() {
        for v in vs {
            default_volume(v);
        }
    }
    // The deprecated mirror of serviceAccountName.
    if spec["serviceAccountName"].is_string() {
        spec["serviceAccount"] = spec["serviceAccountName"].clone();
    } else if spec["serviceAccount"].is_string() {
        spec["serviceAccountName"] = spec["serviceAccount"].clone();
    }
    if is_pod {
        set_default(spec, "enableServiceLinks", json!(true));
        set_default(spec, "serviceAccountName", json!("default"));
        set_default(spec, "serviceAccount", json!("default"));
        set_default(spec, "priority", json!(0));
        set_default(spec, "preemptionPolicy", json!("PreemptLowerPriority"));
        let tolerations = spec["tolerations"].as_array().cloned().unwrap_or_default();
        let mut out = tolerations.clone();
        for key in [
            "node.kubernetes.io/not-ready",
            "node.kubernetes.io/unreachable",
        ] {
            let has = tolerations
                .iter()
                .any(|t| t["key"] == key && (t["effect"] == "NoExecute" || t["effect"].is_null()));
            if !has {
                out.push(
                    json!({"key": key, "operator": "Exists", "effect": "NoExecute",
                                "tolerationSeconds": 300}),
                );
            }
        }
        spec["tolerations"] = Value::Array(out);
    } else {
        set_default(spec, "enableServiceLinks", json!(true));
    }
}

/// Where pods find their service account's credentials.
pub const SERVICE_ACCOUNT_DIR: &str = "/var/run/secrets/kubernetes.io/serviceaccount";

/// kube-apiserver's ServiceAccount admission on a new pod: its service account must
/// exist (the `default` one may still be on its way in a new namespace), and unless the
/// pod or the account opts out (`automountServiceAccountToken: false`), a projected
/// `kube-api-access-XXXXX` volume (a bound token, the cluster's CA, the namespace) is
/// mounted read-only at [`SERVICE_ACCOUNT_DIR`] in every container.
pub fn admit_service_account(pod: &mut Value, store: &crate::store::Store) -> ApiResult<()> {
    let ns = pod["metadata"]["namespace"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let name = pod["spec"]["serviceAccountName"]
        .as_str()
        .unwrap_or("default")
        .to_string();
    let scope = crate::store::Scope {
        resource: "serviceaccounts",
        namespace: Some(&ns),
    };
    let sa = store.get(scope, &name).ok();
    if sa.is_none() && name != "default" {
        return Err(ApiError::new(
            403,
            "Forbidden",
            format!(
                "pods \"{}\" is forbidden: error looking up service account {ns}/{name}: serviceaccount \"{name}\" not found",
                pod["metadata"]["name"].as_str().unwrap_or_default()
            ),
        ));
    }
    // The account's pull secrets, for a pod that names none.
    if let Some(ps) = sa
        .as_ref()
        .map(|a| &a["imagePullSecrets"])
        .filter(|p| p.as_array().is_some_and(|a| !a.is_empty()))
    {
        if pod["spec"]["imagePullSecrets"]
            .as_array()
            .is_none_or(Vec::is_empty)
        {
            pod["spec"]["imagePullSecrets"] = ps.clone();
        }
    }
    let automount = pod["spec"]["automountServiceAccountToken"]
        .as_bool()
        .or_else(|| {
            sa.as_ref()
                .and_then(|a| a["automountServiceAccountToken"].as_bool())
        })
        .unwrap_or(true);
    if !automount {
        return Ok(());
    }
    let vol = format!("kube-api-access-{}", super::meta::random_suffix(5));
    let mut added = false;
    for list in ["initContainers", "containers"] {
        for c in pod["spec"][list].as_array_mut().into_iter().flatten() {
            let has = c["volumeMounts"]
                .as_array()
                .is_some_and(|ms| ms.iter().any(|m| m["mountPath"] == SERVICE_ACCOUNT_DIR));
            if has {
                continue;
            }
            if !c["volumeMounts"].is_array() {
                c["volumeMounts"] = json!([]);
            }
            if let Some(ms) = c["volumeMounts"].as_array_mut() {
                ms.push(json!({"name": vol, "readOnly": true, "mountPath": SERVICE_ACCOUNT_DIR}));
                added = true;
            }
        }
    }
    if added {
        if !pod["spec"]["volumes"].is_array() {
            pod["spec"]["volumes"] = json!([]);
        }
        if let Some(vs) = pod["spec"]["volumes"].as_array_mut() {
            vs.push(json!({"name": vol, "projected": {"defaultMode": 420, "sources": [
                {"serviceAccountToken": {"expirationSeconds": super::satoken::KUBE_API_ACCESS_SECS, "path": "token"}},
                {"configMap": {"name": "kube-root-ca.crt", "items": [{"key": "ca.crt", "path": "ca.crt"}]}},
                {"downwardAPI": {"items": [{"path": "namespace",
                    "fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.namespace"}}]}}]}}));
        }
    }
    Ok(())
}

/// `Guaranteed`, `Burstable` or `BestEffort`.
pub fn qos_class(spec: &Value) -> &'static str {
    let cs: Vec<&Value> = ["containers", "initContainers"]
        .iter()
        .flat_map(|l| spec[*l].as_array().into_iter().flatten())
        .collect();
    let any = cs.iter().any(|c| {
        ["requests", "limits"].iter().any(|k| {
            c["resources"][*k]
                .as_object()
                .is_some_and(|m| m.keys().any(|r| r == "cpu" || r == "memory"))
        })
    });
    if !any {
        return "BestEffort";
    }
    let guaranteed = cs.iter().all(|c| {
        ["cpu", "memory"].iter().all(|r| {
            let l = &c["resources"]["limits"][*r];
            !l.is_null() && c["resources"]["requests"][*r] == *l
        })
    });
    if guaranteed {
        "Guaranteed"
    } else {
        "Burstable"
    }
}

fn validate_container(c: &Value, path: &str, volumes: &[&str], errs: &mut Vec<FieldError>) {
    let name = c["name"].as_str().unwrap_or_default();
    if name.is_empty() {
        errs.push(FieldError::required(format!("{path}.name"), ""));
    } else {
        for e in meta::dns1123_label(name) {
            errs.push(FieldError::invalid(
                format!("{path}.name"),
                &json!(name),
                &e,
            ));
        }
    }
    if c["image"].as_str().unwrap_or_default().trim().is_empty() {
        errs.push(FieldError::required(format!("{path}.image"), ""));
    }
    if let Some(p) = c["imagePullPolicy"].as_str() {
        if !["Always", "IfNotPresent", "Never"].contains(&p) {
            errs.push(FieldError::unsupported(
                format!("{path}.imagePullPolicy"),
                &json!(p),
                &["Always", "IfNotPresent", "Never"],
            ));
        }
    }
    for (i, p) in c["ports"].as_array().into_iter().flatten().enumerate() {
        let pp = format!("{path}.ports[{i}]");
        match p["containerPort"].as_i64() {
            Some(n) if (1..=65535).contains(&n) => {}
            Some(_) => errs.push(FieldError::invalid(
                format!("{pp}.containerPort"),
                &p["containerPort"],
                "must be between 1 and 65535, inclusive",
            )),
            None => errs.push(FieldError::required(format!("{pp}.containerPort"), "")),
        }
        if let Some(proto) = p["protocol"].as_str() {
            if !["TCP", "UDP", "SCTP"].contains(&proto) {
                errs.push(FieldError::unsupported(
                    format!("{pp}.protocol"),
                    &json!(proto),
                    &["SCTP", "TCP", "UDP"],
                ));
            }
        }
    }
    for (i, e) in c["env"].as_array().into_iter().flatten().enumerate() {
        if e["name"].as_str().unwrap_or_default().is_empty() {
            errs.push(FieldError::required(format!("{path}.env[{i}].name"), ""));
        }
    }
    for (i, m) in c["volumeMounts"]
        .as_array()
        .into_iter()
        .flatten()
        .enumerate()
    {
        let mp = format!("{path}.volumeMounts[{i}]");
        let n = m["name"].as_str().unwrap_or_default();
        if n.is_empty() {
            errs.push(FieldError::required(format!("{mp}.name"), ""));
        } else if !volumes.contains(&n) {
            errs.push(FieldError {
                reason: "FieldValueNotFound",
                field: format!("{mp}.name"),
                message: format!("Not found: {n:?}"),
            });
        }
        if m["mountPath"].as_str().unwrap_or_default().is_empty() {
            errs.push(FieldError::required(format!("{mp}.mountPath"), ""));
        }
    }
}

/// Validation of a pod spec at `path` (`spec` or `spec.template.spec`).
pub fn validate_pod_spec(spec: &Value, path: &str, errs: &mut Vec<FieldError>) {
    let mut volumes = Vec::new();
    for (i, v) in spec["volumes"].as_array().into_iter().flatten().enumerate() {
        let n = v["name"].as_str().unwrap_or_default();
        let vp = format!("{path}.volumes[{i}].name");
        if n.is_empty() {
            errs.push(FieldError::required(vp, ""));
            continue;
        }
        for e in meta::dns1123_label(n) {
            errs.push(FieldError::invalid(vp.clone(), &json!(n), &e));
        }
        if volumes.contains(&n) {
            errs.push(FieldError::duplicate(vp, &json!(n)));
        }
        volumes.push(n);
    }
    let containers = spec["containers"].as_array().cloned().unwrap_or_default();
    if containers.is_empty() {
        errs.push(FieldError::required(format!("{path}.containers"), ""));
    }
    let mut names: Vec<String> = Vec::new();
    for (list, items) in [
        (
            "initContainers",
            spec["initContainers"]
                .as_array()
                .cloned()
                .unwrap_or_default(),
        ),
        ("containers", containers),
    ] {
        for (i, c) in items.iter().enumerate() {
            let cp = format!("{path}.{list}[{i}]");
            validate_container(c, &cp, &volumes, errs);
            let n = c["name"].as_str().unwrap_or_default().to_string();
            if !n.is_empty() {
                if names.contains(&n) {
                    errs.push(FieldError::duplicate(format!("{cp}.name"), &json!(n)));
                }
                names.push(n);
            }
        }
    }
    let rp = spec["restartPolicy"].as_str().unwrap_or("Always");
    if !["Always", "OnFailure", "Never"].contains(&rp) {
        errs.push(FieldError::unsupported(
            format!("{path}.restartPolicy"),
            &json!(rp),
            &["Always", "OnFailure", "Never"],
        ));
    }
    let dp = spec["dnsPolicy"].as_str().unwrap_or("ClusterFirst");
    let dns = ["ClusterFirstWithHostNet", "ClusterFirst", "Default", "None"];
    if !dns.contains(&dp) {
        errs.push(FieldError::unsupported(
            format!("{path}.dnsPolicy"),
            &json!(dp),
            &dns,
        ));
    }
    if let Some(g) = spec["terminationGracePeriodSeconds"].as_i64() {
        if g < 0 {
            errs.push(FieldError::invalid(
                format!("{path}.terminationGracePeriodSeconds"),
                &json!(g),
                "must be greater than or equal to 0",
            ));
        }
    }
    meta::validate_labels(&spec["nodeSelector"], &format!("{path}.nodeSelector"), errs);
}

/// What may change in a running pod's spec: images, activeDeadlineSeconds, added
/// tolerations, the scheduler's binding.
pub fn validate_pod_update(new: &Value, old: &Value, errs: &mut Vec<FieldError>) {
    let mut a = new.clone();
    let b = old.clone();
    for list in ["containers", "initContainers"] {
        if let (Some(na), Some(oa)) = (
            a.get_mut(list).and_then(Value::as_array_mut),
            b[list].as_array(),
        ) {
            for (n, o) in na.iter_mut().zip(oa) {
                n["image"] = o["image"].clone();
            }
        }
    }
    let mut same = vec!["activeDeadlineSeconds", "tolerations"];
    if b["nodeName"].as_str().unwrap_or_default().is_empty() {
        same.push("nodeName");
    }
    if let (Some(am), Some(bm)) = (a.as_object_mut(), b.as_object()) {
        for k in same {
            match bm.get(k) {
                Some(v) => {
                    am.insert(k.to_string(), v.clone());
                }
                None => {
                    am.remove(k);
                }
            }
        }
    }
    if a != b {
        errs.push(FieldError::forbidden(
            "spec",
            "pod updates may not change fields other than `spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)",
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_qos() {
        let mut spec = json!({"containers": [{"name": "c", "image": "nginx",
            "resources": {"limits": {"cpu": "1", "memory": "1Gi"}}}]});
        default_pod_spec(&mut spec, true);
        assert_eq!(spec["containers"][0]["imagePullPolicy"], "Always");
        assert_eq!(spec["containers"][0]["resources"]["requests"]["cpu"], "1");
        assert_eq!(spec["tolerations"].as_array().map(Vec::len), Some(2));
        assert_eq!(qos_class(&spec), "Guaranteed");
        assert_eq!(default_pull_policy("r:5000/a:1.2"), "IfNotPresent");
        assert_eq!(default_pull_policy("r:5000/a"), "Always");
        let mut errs = Vec::new();
        validate_pod_spec(&json!({"containers": [{"name": "C"}]}), "spec", &mut errs);
        let f: Vec<&str> = errs.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(f, ["spec.containers[0].name", "spec.containers[0].image"]);
    }
}
