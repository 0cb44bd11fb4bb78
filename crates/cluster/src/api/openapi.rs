//! `/openapi/v3`: the root document (group-versions with their hashed URLs) and one
//! document per group-version whose operations carry `x-kubernetes-group-version-kind`
//! and the `fieldValidation` parameter, which is what kubectl 1.32 reads to learn that
//! the server validates fields itself, and whose `components.schemas` are the kinds'
//! schemas with their fields' descriptions (`k8s-openapi`'s, through schemars), each
//! kind's marked with its group, version and kind, as `kubectl explain` looks them up.
//! `/openapi/v2` is `openapi_v2.rs`.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use axum::http::{header, StatusCode};
use axum::response::Response;
use serde_json::{json, Value};
use sha2::Digest;

use super::http::{json_response, Query};
use super::status::{ApiError, ApiResult};
use crate::resources::{self, Resource, RESOURCES};

struct Docs {
    /// "api/v1" or "apis/apps/v1" -> (the document's JSON, its hash).
    by_gv: BTreeMap<String, (Vec<u8>, String)>,
}

fn param(name: &str, location: &str) -> Value {
    json!({"name": name, "in": location, "schema": {"type": "string", "uniqueItems": true}})
}

fn gvk(r: &Resource) -> Value {
    json!({"group": r.group, "version": r.version, "kind": r.kind})
}

fn op(r: &Resource, action: &str, params: &[&str], body: &[&str]) -> Value {
    let mut o = json!({
        "operationId": format!("{action}{}", r.kind),
        "x-kubernetes-action": action,
        "x-kubernetes-group-version-kind": gvk(r),
        "parameters": params.iter().map(|p| param(p, "query")).collect::<Vec<_>>(),
        "responses": {"200": {"description": "OK", "content": {"application/json": {"schema": {"type": "object"}}}},
                      "401": {"description": "Unauthorized"}},
    });
    if !body.is_empty() {
        let content: serde_json::Map<String, Value> = body
            .iter()
            .map(|c| (c.to_string(), json!({"schema": {"type": "object"}})))
            .collect();
        o["requestBody"] = json!({"content": content, "required": true});
    }
    o
}

/// The schemas of a group-version's kinds and everything they refer to, each kind's
/// with `x-kubernetes-group-version-kind`; and each kind's reference, by kind.
fn schemas(group: &str, version: &str) -> (Value, BTreeMap<&'static str, Value>) {
    use k8s_openapi::schemars::gen::SchemaSettings;
    let mut gen = SchemaSettings::openapi3().into_generator();
    let mut refs = BTreeMap::new();
    for r in RESOURCES
        .iter()
        .filter(|r| r.group == group && r.version == version)
    {
        if let Some(s) = super::typed::schema(r, &mut gen) {
            if let Ok(v) = serde_json::to_value(&s) {
                refs.insert(r.kind, v);
            }
        }
    }
    let mut defs = serde_json::to_value(gen.definitions()).unwrap_or_else(|_| json!({}));
    wrap_refs(&mut defs);
    for r in RESOURCES
        .iter()
        .filter(|r| r.group == group && r.version == version)
    {
        let Some(name) = refs
            .get(r.kind)
            .and_then(|v| v["$ref"].as_str())
            .and_then(|p| p.strip_prefix("#/components/schemas/"))
        else {
            continue;
        };
        if let Some(def) = defs.get_mut(name) {
            def["x-kubernetes-group-version-kind"] = json!([gvk(r)]);
        }
    }
    (defs, refs)
}

/// A reference with siblings (a field's own description beside its type's) as
/// kube-openapi writes it, `allOf: [{$ref}]`: OpenAPI 3.0 ignores the siblings of a bare
/// `$ref`, and so does `kubectl explain`.
fn wrap_refs(v: &mut Value) {
    match v {
        Value::Object(m) => {
            if m.len() > 1 {
                if let Some(r) = m.remove("$ref") {
                    m.insert("allOf".to_string(), json!([{"$ref": r}]));
                }
            }
            for x in m.values_mut() {
                wrap_refs(x);
            }
        }
        Value::Array(a) => a.iter_mut().for_each(wrap_refs),
        _ => {}
    }
}

fn gv_doc(group: &str, version: &str) -> Value {
    let (defs, refs) = schemas(group, version);
    let mut paths = serde_json::Map::new();
    let prefix = if group.is_empty() {
        format!("/api/{version}")
    } else {
        format!("/apis/{group}/{version}")
    };
    for r in RESOURCES
        .iter()
        .filter(|r| r.group == group && r.version == version)
    {
        let base = if r.namespaced {
            format!("{prefix}/namespaces/{{namespace}}/{}", r.plural)
        } else {
            format!("{prefix}/{}", r.plural)
        };
        let write = ["dryRun", "fieldManager", "fieldValidation", "pretty"];
        let patch_types = [
            "application/json-patch+json",
            "application/merge-patch+json",
            "application/apply-patch+yaml",
        ];
        paths.insert(
            base.clone(),
            json!({
                "get": op(r, "list", &["labelSelector", "fieldSelector", "limit", "continue", "watch", "resourceVersion", "timeoutSeconds"], &[]),
                "post": op(r, "post", &write, &["*/*"]),
                "delete": op(r, "deletecollection", &["labelSelector", "fieldSelector", "gracePeriodSeconds", "propagationPolicy"], &[]),
            }),
        );
        let one = format!("{base}/{{name}}");
        let mut get = op(r, "get", &["pretty"], &[]);
        if let Some(sr) = refs.get(r.kind) {
            get["responses"]["200"]["content"]["application/json"]["schema"] = sr.clone();
        }
        paths.insert(
            one.clone(),
            json!({
                "get": get,
                "put": op(r, "put", &write, &["*/*"]),
                "patch": op(r, "patch", &["dryRun", "fieldManager", "fieldValidation", "force", "pretty"], &patch_types),
                "delete": op(r, "delete", &["dryRun", "gracePeriodSeconds", "propagationPolicy"], &[]),
            }),
        );
        for sub in r
            .subresources
            .iter()
            .filter(|s| ["status", "scale"].contains(s))
        {
            paths.insert(
                format!("{one}/{sub}"),
                json!({
                    "get": op(r, "get", &["pretty"], &[]),
                    "put": op(r, "put", &write, &["*/*"]),
                    "patch": op(r, "patch", &["dryRun", "fieldManager", "fieldValidation", "force"], &patch_types),
                }),
            );
        }
    }
    json!({
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes", "version": "v1.32.0"},
        "paths": paths,
        "components": {"schemas": defs},
    })
}

fn docs() -> &'static Docs {
    static DOCS: OnceLock<Docs> = OnceLock::new();
    DOCS.get_or_init(|| {
        let mut by_gv = BTreeMap::new();
        for (g, v) in resources::groups() {
            let key = if g.is_empty() {
                format!("api/{v}")
            } else {
                format!("apis/{g}/{v}")
            };
            let bytes = serde_json::to_vec(&gv_doc(g, v)).unwrap_or_default();
            let hash: String = sha2::Sha512::digest(&bytes)
                .iter()
                .map(|b| format!("{b:02X}"))
                .collect();
            by_gv.insert(key, (bytes, hash));
        }
        Docs { by_gv }
    })
}

/// `/openapi/...`.
pub fn serve(rest: &[&str], q: &Query) -> ApiResult<Response> {
    let not_found = || {
        ApiError::new(
            404,
            "NotFound",
            "the server could not find the requested resource",
        )
    };
    match rest {
        ["v3"] => {
            let paths: serde_json::Map<String, Value> = docs()
                .by_gv
                .iter()
                .map(|(k, (_, h))| {
                    (
                        k.clone(),
                        json!({"serverRelativeURL": format!("/openapi/v3/{k}?hash={h}")}),
                    )
                })
                .collect();
            Ok(json_response(200, &json!({"paths": paths})))
        }
        ["v3", gv @ ..] => {
            let key = gv.join("/");
            let (doc, hash) = docs().by_gv.get(&key).ok_or_else(not_found)?;
            if let Some(h) = q.get("hash") {
                if h != hash {
                    return Response::builder()
                        .status(StatusCode::MOVED_PERMANENTLY)
                        .header(header::LOCATION, format!("/openapi/v3/{key}?hash={hash}"))
                        .body(axum::body::Body::empty())
                        .map_err(|e| ApiError::internal(e.to_string()));
                }
            }
            Response::builder()
                .status(StatusCode::OK)
                .header(header::CONTENT_TYPE, "application/json")
                .header(header::ETAG, format!("\"{hash}\""))
                .body(axum::body::Body::from(doc.clone()))
                .map_err(|e| ApiError::internal(e.to_string()))
        }
        _ => Err(not_found()),
    }
}
