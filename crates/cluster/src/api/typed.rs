//! Request bodies checked against the Kubernetes API types (`k8s-openapi`), as
//! kube-apiserver decodes them into its Go types: a value of the wrong type is a 400,
//! and fields the type does not have are refused (`fieldValidation=Strict`, kubectl's
//! default), dropped with a warning (`Warn`, the API's default) or dropped (`Ignore`).
//! What is stored is the decoded object, so unknown fields never reach the store.

use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;

use super::status::ApiError;
use crate::resources::Resource;

/// `?fieldValidation=`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FieldValidation {
    Strict,
    #[default]
    Warn,
    Ignore,
}

impl FieldValidation {
    pub fn parse(s: Option<&str>) -> Result<FieldValidation, ApiError> {
        match s {
            None | Some("") | Some("Warn") => Ok(FieldValidation::Warn),
            Some("Strict") => Ok(FieldValidation::Strict),
            Some("Ignore") => Ok(FieldValidation::Ignore),
            Some(other) => Err(ApiError::bad_request(format!(
                "fieldValidation parameter unsupported: {other}"
            ))),
        }
    }
}

fn roundtrip<T: DeserializeOwned + Serialize>(v: &Value) -> Result<Value, String> {
    let typed: T = serde_path_to_error::deserialize(v).map_err(|e| {
        let path = e.path().to_string();
        if path == "." || path.is_empty() {
            e.inner().to_string()
        } else {
            format!("{path}: {}", e.inner())
        }
    })?;
    serde_json::to_value(&typed).map_err(|e| e.to_string())
}

macro_rules! kinds {
    ($v:expr, $res:expr, { $( ($g:literal, $k:literal) => $t:ty ),* $(,)? }) => {
        match ($res.group, $res.kind) {
            $( ($g, $k) => Some(roundtrip::<$t>($v)), )*
            _ => None,
        }
    };
}

macro_rules! schemas {
    ($gen:expr, $res:expr, { $( ($g:literal, $k:literal) => $t:ty ),* $(,)? }) => {
        match ($res.group, $res.kind) {
            $( ($g, $k) => Some($gen.subschema_for::<$t>()), )*
            _ => None,
        }
    };
}

/// The one list of kinds with a `k8s-openapi` type, for `$m` (`kinds` or `schemas`).
macro_rules! kind_table {
    ($m:ident, $a:expr, $res:expr) => {{
        use k8s_openapi::api::{
            apps::v1 as apps, autoscaling::v2 as autoscaling, batch::v1 as batch,
            coordination::v1 as coordination, core::v1 as core, discovery::v1 as discovery,
            events::v1 as events, networking::v1 as networking, policy::v1 as policy,
            rbac::v1 as rbac, scheduling::v1 as scheduling, storage::v1 as storage,
        };
        $m!($a, $res, {
        ("", "Binding") => core::Binding,
        ("", "ConfigMap") => core::ConfigMap,
        ("", "Endpoints") => core::Endpoints,
        ("", "Event") => core::Event,
        ("", "LimitRange") => core::LimitRange,
        ("", "Namespace") => core::Namespace,
        ("", "Node") => core::Node,
        ("", "PersistentVolumeClaim") => core::PersistentVolumeClaim,
        ("", "PersistentVolume") => core::PersistentVolume,
        ("", "Pod") => core::Pod,
        ("", "PodTemplate") => core::PodTemplate,
        ("", "ReplicationController") => core::ReplicationController,
        ("", "ResourceQuota") => core::ResourceQuota,
        ("", "Secret") => core::Secret,
        ("", "ServiceAccount") => core::ServiceAccount,
        ("", "Service") => core::Service,
        ("apps", "ControllerRevision") => apps::ControllerRevision,
        ("apps", "DaemonSet") => apps::DaemonSet,
        ("apps", "Deployment") => apps::Deployment,
        ("apps", "ReplicaSet") => apps::ReplicaSet,
        ("apps", "StatefulSet") => apps::StatefulSet,
        ("batch", "CronJob") => batch::CronJob,
        ("batch", "Job") => batch::Job,
        ("autoscaling", "HorizontalPodAutoscaler") => autoscaling::HorizontalPodAutoscaler,
        ("coordination.k8s.io", "Lease") => coordination::Lease,
        ("discovery.k8s.io", "EndpointSlice") => discovery::EndpointSlice,
        ("events.k8s.io", "Event") => events::Event,
        ("networking.k8s.io", "IngressClass") => networking::IngressClass,
        ("networking.k8s.io", "Ingress") => networking::Ingress,
        ("networking.k8s.io", "NetworkPolicy") => networking::NetworkPolicy,
        ("policy", "PodDisruptionBudget") => policy::PodDisruptionBudget,
        ("rbac.authorization.k8s.io", "ClusterRoleBinding") => rbac::ClusterRoleBinding,
        ("rbac.authorization.k8s.io", "ClusterRole") => rbac::ClusterRole,
        ("rbac.authorization.k8s.io", "RoleBinding") => rbac::RoleBinding,
        ("rbac.authorization.k8s.io", "Role") => rbac::Role,
        ("scheduling.k8s.io", "PriorityClass") => scheduling::PriorityClass,
        ("storage.k8s.io", "StorageClass") => storage::StorageClass,
        })
    }};
}

fn decode(res: &Resource, v: &Value) -> Option<Result<Value, String>> {
    kind_table!(kinds, v, res)
}

/// The OpenAPI schema of `res`'s type (a reference; the definitions go to `gen`).
pub fn schema(
    res: &Resource,
    gen: &mut k8s_openapi::schemars::gen::SchemaGenerator,
) -> Option<k8s_openapi::schemars::schema::Schema> {
    kind_table!(schemas, gen, res)
}

/// The fields of `input` that `decoded` does not have (paths like `spec.foo`,
/// `spec.containers[0].bar`).
fn unknown_fields(input: &Value, decoded: &Value, path: &str, out: &mut Vec<String>) {
    match (input, decoded) {
        (Value::Object(a), Value::Object(b)) => {
            for (k, v) in a {
                let p = if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                };
                match b.get(k) {
                    Some(d) => unknown_fields(v, d, &p, out),
                    None if v.is_null() => {}
                    None => out.push(p),
                }
            }
        }
        (Value::Array(a), Value::Array(b)) => {
            for (i, (x, y)) in a.iter().zip(b).enumerate() {
                unknown_fields(x, y, &format!("{path}[{i}]"), out);
            }
        }
        // Objects whose type holds any JSON (status of a RawExtension, ...) or maps.
        _ => {}
    }
}

/// Check `obj` (of `res`) against its type: the decoded object, and the warnings of
/// `Warn`.
pub fn check(
    res: &Resource,
    obj: Value,
    mode: FieldValidation,
) -> Result<(Value, Vec<String>), ApiError> {
    let Some(decoded) = decode(res, &obj) else {
        return Ok((obj, Vec::new()));
    };
    let handled = |why: String| {
        ApiError::bad_request(format!(
            "{} in version \"{}\" cannot be handled as a {}: {why}",
            res.kind, res.version, res.kind
        ))
    };
    let decoded = decoded.map_err(handled)?;
    let mut unknown = Vec::new();
    unknown_fields(&obj, &decoded, "", &mut unknown);
    // Fields of an object's own metadata the types know as a map of anything.
    let texts: Vec<String> = unknown
        .iter()
        .map(|p| format!("unknown field \"{p}\""))
        .collect();
    match mode {
        FieldValidation::Strict if !texts.is_empty() => Err(handled(format!(
            "strict decoding error: {}",
            texts.join(", ")
        ))),
        FieldValidation::Warn => Ok((decoded, texts)),
        _ => Ok((decoded, Vec::new())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn wrong_types_and_unknown_fields() {
        let cm = crate::resources::find("", "v1", "configmaps").expect("configmaps");
        let good = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a"},
                          "data": {"k": "v"}});
        let (v, w) = check(cm, good.clone(), FieldValidation::Strict).expect("good");
        assert_eq!(v["data"], good["data"]);
        assert!(w.is_empty());
        let bogus = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a", "nope": 1},
                           "bogus": 1});
        let e = check(cm, bogus.clone(), FieldValidation::Strict).expect_err("strict");
        assert_eq!(
            e.message,
            "ConfigMap in version \"v1\" cannot be handled as a ConfigMap: strict decoding error: unknown field \"bogus\", unknown field \"metadata.nope\""
        );
        let (v, w) = check(cm, bogus, FieldValidation::Warn).expect("warn");
        assert!(v.get("bogus").is_none());
        assert_eq!(w.len(), 2);
        let d = crate::resources::find("apps", "v1", "deployments").expect("deployments");
        let bad = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "a"},
            "spec": {"selector": {}, "template": {"metadata": {"labels": {"app": true}}}}});
        let e = check(d, bad, FieldValidation::Strict).expect_err("type");
        assert_eq!(e.code, 400);
        assert!(
            e.message.contains("spec.template.metadata.labels.app"),
            "{}",
            e.message
        );
    }
}
