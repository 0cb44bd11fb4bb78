//! `/openapi/v2`: one Swagger 2.0 document for every served kind (paths with their
//! operations and parameters, `definitions` from the same schemas as `/openapi/v3`, the
//! kinds' marked with `x-kubernetes-group-version-kind`), as JSON, or as the protobuf
//! client-go asks for (`application/com.github.proto-openapi.spec.v2@v1.0+protobuf`,
//! gnostic's `openapi_v2.Document`, whose vendor extensions carry their values as YAML:
//! JSON text is YAML).

use std::sync::OnceLock;

use axum::http::{header, StatusCode};
use axum::response::Response;
use serde_json::{json, Map, Value};

use super::status::{ApiError, ApiResult};
use crate::resources::{Resource, RESOURCES};

/// The protobuf media type client-go asks for, and the one answered (without the `@`,
/// which Go's media type parser refuses, as kube-openapi answers).
pub const PROTOBUF: &str = "application/com.github.proto-openapi.spec.v2@v1.0+protobuf";
const PROTOBUF_ANSWER: &str = "application/com.github.proto-openapi.spec.v2.v1.0+protobuf";

fn gvk(r: &Resource) -> Value {
    json!({"group": r.group, "version": r.version, "kind": r.kind})
}

fn query(name: &str) -> Value {
    json!({"name": name, "in": "query", "type": "string", "uniqueItems": true})
}

fn path_param(name: &str) -> Value {
    json!({"name": name, "in": "path", "required": true, "type": "string", "uniqueItems": true})
}

fn op(r: &Resource, action: &str, schema: &Value, params: &[&str], body: bool) -> Value {
    let mut ps: Vec<Value> = params.iter().map(|p| query(p)).collect();
    if body {
        ps.push(json!({"name": "body", "in": "body", "required": true, "schema": schema}));
    }
    json!({
        "operationId": format!("{action}{}", r.kind),
        "consumes": ["*/*"],
        "produces": ["application/json", "application/yaml", "application/vnd.kubernetes.protobuf"],
        "parameters": ps,
        "responses": {"200": {"description": "OK", "schema": schema},
                      "401": {"description": "Unauthorized"}},
        "x-kubernetes-action": action,
        "x-kubernetes-group-version-kind": gvk(r),
    })
}

fn document() -> Value {
    use k8s_openapi::schemars::gen::SchemaSettings;
    let mut settings = SchemaSettings::openapi3();
    settings.definitions_path = "#/definitions/".to_string();
    let mut gen = settings.into_generator();
    let mut paths = Map::new();
    let mut kinds = Vec::new();
    for r in RESOURCES.iter() {
        let Some(s) = super::typed::schema(r, &mut gen) else {
            continue;
        };
        let schema = serde_json::to_value(&s).unwrap_or_else(|_| json!({}));
        if let Some(name) = schema["$ref"]
            .as_str()
            .and_then(|p| p.strip_prefix("#/definitions/"))
        {
            kinds.push((name.to_string(), gvk(r)));
        }
        let prefix = if r.group.is_empty() {
            format!("/api/{}", r.version)
        } else {
            format!("/apis/{}/{}", r.group, r.version)
        };
        let base = if r.namespaced {
            format!("{prefix}/namespaces/{{namespace}}/{}", r.plural)
        } else {
            format!("{prefix}/{}", r.plural)
        };
        let write = ["dryRun", "fieldManager", "fieldValidation", "pretty"];
        let mut scope = Vec::new();
        if r.namespaced {
            scope.push(path_param("namespace"));
        }
        paths.insert(
            base.clone(),
            json!({
                "get": op(r, "list", &json!({"type": "object"}), &["labelSelector", "fieldSelector", "limit", "continue", "watch", "resourceVersion", "timeoutSeconds"], false),
                "post": op(r, "post", &schema, &write, true),
                "parameters": scope,
            }),
        );
        let mut one_scope = scope.clone();
        one_scope.push(path_param("name"));
        paths.insert(
            format!("{base}/{{name}}"),
            json!({
                "get": op(r, "get", &schema, &["pretty"], false),
                "put": op(r, "put", &schema, &write, true),
                "patch": op(r, "patch", &schema, &["dryRun", "fieldManager", "fieldValidation", "force"], true),
                "delete": op(r, "delete", &json!({"type": "object"}), &["dryRun", "gracePeriodSeconds", "propagationPolicy"], false),
                "parameters": one_scope,
            }),
        );
    }
    let mut defs = serde_json::to_value(gen.definitions()).unwrap_or_else(|_| json!({}));
    for (name, g) in kinds {
        if let Some(d) = defs.get_mut(&name) {
            d["x-kubernetes-group-version-kind"] = json!([g]);
        }
    }
    json!({
        "swagger": "2.0",
        "info": {"title": "Kubernetes", "version": "v1.32.0"},
        "paths": paths,
        "definitions": defs,
    })
}

/// The document as JSON and as protobuf, made once.
fn encoded() -> &'static (Vec<u8>, Vec<u8>) {
    static DOC: OnceLock<(Vec<u8>, Vec<u8>)> = OnceLock::new();
    DOC.get_or_init(|| {
        let doc = document();
        let json = serde_json::to_vec(&doc).unwrap_or_default();
        (json, pb_document(&doc))
    })
}

/// `GET /openapi/v2`: protobuf when the client asks for it first, else JSON.
pub fn serve(accept: &str) -> ApiResult<Response> {
    let (json, pb) = encoded();
    let wants_pb = accept.split(',').next().is_some_and(|a| {
        let a = a.trim();
        a.starts_with(PROTOBUF) || a.starts_with(PROTOBUF_ANSWER)
    });
    let (ctype, body) = if wants_pb {
        (PROTOBUF_ANSWER, pb.clone())
    } else {
        ("application/json", json.clone())
    };
    Response::builder()
        .status(StatusCode::OK)
        .header(header::CONTENT_TYPE, ctype)
        .body(axum::body::Body::from(body))
        .map_err(|e| ApiError::internal(e.to_string()))
}

// A protobuf writer for gnostic's OpenAPI v2 messages (field numbers of its
// `OpenAPIv2.proto`).

fn key(out: &mut Vec<u8>, num: u32, wire: u32) {
    varint(out, u64::from((num << 3) | wire));
}

fn varint(out: &mut Vec<u8>, mut v: u64) {
    loop {
        let b = (v & 0x7f) as u8;
        v >>= 7;
        if v == 0 {
            out.push(b);
            return;
        }
        out.push(b | 0x80);
    }
}

fn bytes(out: &mut Vec<u8>, num: u32, b: &[u8]) {
    key(out, num, 2);
    varint(out, b.len() as u64);
    out.extend_from_slice(b);
}

fn string(out: &mut Vec<u8>, num: u32, v: &Value) {
    if let Some(s) = v.as_str() {
        bytes(out, num, s.as_bytes());
    }
}

fn boolean(out: &mut Vec<u8>, num: u32, v: &Value) {
    if v.as_bool() == Some(true) {
        key(out, num, 0);
        out.push(1);
    }
}

fn int(out: &mut Vec<u8>, num: u32, v: &Value) {
    if let Some(n) = v.as_i64() {
        key(out, num, 0);
        varint(out, n as u64);
    }
}

fn double(out: &mut Vec<u8>, num: u32, v: &Value) {
    if let Some(f) = v.as_f64() {
        key(out, num, 1);
        out.extend_from_slice(&f.to_le_bytes());
    }
}

/// `Any { yaml = 2 }`.
fn any(v: &Value) -> Vec<u8> {
    let mut a = Vec::new();
    bytes(&mut a, 2, v.to_string().as_bytes());
    a
}

/// `NamedAny`s of the `x-` keys of `obj`, at field `num`.
fn extensions(out: &mut Vec<u8>, num: u32, obj: &Map<String, Value>) {
    for (k, v) in obj.iter().filter(|(k, _)| k.starts_with("x-")) {
        let mut n = Vec::new();
        bytes(&mut n, 1, k.as_bytes());
        bytes(&mut n, 2, &any(v));
        bytes(out, num, &n);
    }
}

fn named(name: &str, value: &[u8]) -> Vec<u8> {
    let mut n = Vec::new();
    bytes(&mut n, 1, name.as_bytes());
    bytes(&mut n, 2, value);
    n
}

fn pb_schema(v: &Value) -> Vec<u8> {
    let mut o = Vec::new();
    let Some(m) = v.as_object() else {
        return o;
    };
    string(&mut o, 1, &m.get("$ref").cloned().unwrap_or_default());
    string(&mut o, 2, &m.get("format").cloned().unwrap_or_default());
    string(&mut o, 3, &m.get("title").cloned().unwrap_or_default());
    string(
        &mut o,
        4,
        &m.get("description").cloned().unwrap_or_default(),
    );
    if let Some(d) = m.get("default") {
        bytes(&mut o, 5, &any(d));
    }
    double(&mut o, 7, &m.get("maximum").cloned().unwrap_or_default());
    double(&mut o, 9, &m.get("minimum").cloned().unwrap_or_default());
    int(&mut o, 11, &m.get("maxLength").cloned().unwrap_or_default());
    int(&mut o, 12, &m.get("minLength").cloned().unwrap_or_default());
    string(&mut o, 13, &m.get("pattern").cloned().unwrap_or_default());
    for r in m
        .get("required")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        string(&mut o, 19, r);
    }
    for e in m
        .get("enum")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        bytes(&mut o, 20, &any(e));
    }
    match m.get("additionalProperties") {
        Some(Value::Bool(b)) => {
            let mut a = Vec::new();
            boolean(&mut a, 2, &json!(b));
            bytes(&mut o, 21, &a);
        }
        Some(s @ Value::Object(_)) => bytes(&mut o, 21, &{
            let mut a = Vec::new();
            bytes(&mut a, 1, &pb_schema(s));
            a
        }),
        _ => {}
    }
    if let Some(t) = m.get("type") {
        let mut ti = Vec::new();
        match t {
            Value::Array(a) => a.iter().for_each(|x| string(&mut ti, 1, x)),
            x => string(&mut ti, 1, x),
        }
        bytes(&mut o, 22, &ti);
    }
    if let Some(items) = m.get("items") {
        let mut it = Vec::new();
        match items {
            Value::Array(a) => a.iter().for_each(|x| bytes(&mut it, 1, &pb_schema(x))),
            x => bytes(&mut it, 1, &pb_schema(x)),
        }
        bytes(&mut o, 23, &it);
    }
    for a in m
        .get("allOf")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        bytes(&mut o, 24, &pb_schema(a));
    }
    if let Some(props) = m.get("properties").and_then(Value::as_object) {
        let mut p = Vec::new();
        for (k, s) in props {
            bytes(&mut p, 1, &named(k, &pb_schema(s)));
        }
        bytes(&mut o, 25, &p);
    }
    boolean(&mut o, 27, &m.get("readOnly").cloned().unwrap_or_default());
    extensions(&mut o, 31, m);
    o
}

fn pb_parameter(p: &Value) -> Vec<u8> {
    // ParametersItem { parameter = 1: Parameter }.
    let mut param = Vec::new();
    if p["in"] == "body" {
        let mut b = Vec::new();
        string(&mut b, 2, &p["name"]);
        string(&mut b, 3, &p["in"]);
        boolean(&mut b, 4, &p["required"]);
        bytes(&mut b, 5, &pb_schema(&p["schema"]));
        bytes(&mut param, 1, &b);
    } else {
        let mut sub = Vec::new();
        boolean(&mut sub, 1, &p["required"]);
        string(&mut sub, 2, &p["in"]);
        string(&mut sub, 4, &p["name"]);
        let (kind, type_num, unique_num) = if p["in"] == "path" {
            (4, 5, 19)
        } else {
            (3, 6, 20)
        };
        string(&mut sub, type_num, &p["type"]);
        boolean(&mut sub, unique_num, &p["uniqueItems"]);
        let mut nb = Vec::new();
        bytes(&mut nb, kind, &sub);
        bytes(&mut param, 2, &nb);
    }
    let mut item = Vec::new();
    bytes(&mut item, 1, &param);
    item
}

fn pb_operation(op: &Value) -> Vec<u8> {
    let mut o = Vec::new();
    string(&mut o, 5, &op["operationId"]);
    for p in op["produces"].as_array().into_iter().flatten() {
        string(&mut o, 6, p);
    }
    for c in op["consumes"].as_array().into_iter().flatten() {
        string(&mut o, 7, c);
    }
    for p in op["parameters"].as_array().into_iter().flatten() {
        bytes(&mut o, 8, &pb_parameter(p));
    }
    let mut rs = Vec::new();
    for (code, r) in op["responses"].as_object().into_iter().flatten() {
        let mut resp = Vec::new();
        string(&mut resp, 1, &r["description"]);
        if r["schema"].is_object() {
            let mut si = Vec::new();
            bytes(&mut si, 1, &pb_schema(&r["schema"]));
            bytes(&mut resp, 2, &si);
        }
        let mut rv = Vec::new();
        bytes(&mut rv, 1, &resp);
        bytes(&mut rs, 1, &named(code, &rv));
    }
    bytes(&mut o, 9, &rs);
    if let Some(m) = op.as_object() {
        extensions(&mut o, 13, m);
    }
    o
}

fn pb_document(doc: &Value) -> Vec<u8> {
    let mut d = Vec::new();
    string(&mut d, 1, &doc["swagger"]);
    let mut info = Vec::new();
    string(&mut info, 1, &doc["info"]["title"]);
    string(&mut info, 2, &doc["info"]["version"]);
    bytes(&mut d, 2, &info);
    let mut paths = Vec::new();
    for (p, item) in doc["paths"].as_object().into_iter().flatten() {
        let mut pi = Vec::new();
        for (verb, num) in [
            ("get", 2),
            ("put", 3),
            ("post", 4),
            ("delete", 5),
            ("patch", 8),
        ] {
            if item[verb].is_object() {
                bytes(&mut pi, num, &pb_operation(&item[verb]));
            }
        }
        for param in item["parameters"].as_array().into_iter().flatten() {
            bytes(&mut pi, 9, &pb_parameter(param));
        }
        bytes(&mut paths, 2, &named(p, &pi));
    }
    bytes(&mut d, 8, &paths);
    let mut defs = Vec::new();
    for (name, s) in doc["definitions"].as_object().into_iter().flatten() {
        bytes(&mut defs, 1, &named(name, &pb_schema(s)));
    }
    bytes(&mut d, 9, &defs);
    d
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_document_names_every_kind_and_encodes() {
        let doc = document();
        assert_eq!(doc["swagger"], "2.0");
        let pod = &doc["definitions"]["io.k8s.api.core.v1.Pod"];
        assert_eq!(
            pod["x-kubernetes-group-version-kind"],
            json!([{"group": "", "version": "v1", "kind": "Pod"}])
        );
        assert!(
            doc["paths"]["/apis/apps/v1/namespaces/{namespace}/deployments/{name}"]["patch"]
                .is_object()
        );
        let pb = pb_document(&doc);
        // Field 1, the swagger version, first.
        assert_eq!(&pb[..5], &[0x0a, 3, b'2', b'.', b'0']);
        assert!(pb.len() > 100_000);
    }
}
