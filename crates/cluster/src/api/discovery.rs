//! Discovery: the legacy documents (`/api`, `/apis`, `/api/v1`, `/apis/G/V`) and the
//! aggregated ones (`apidiscovery.k8s.io/v2` `APIGroupDiscoveryList`) kubectl 1.32 asks
//! for first.

use axum::http::HeaderMap;
use axum::response::Response;
use serde_json::{json, Value};

use super::http::{json_response, json_typed};
use super::status::{ApiError, ApiResult};
use crate::resources::{self, Resource, RESOURCES};

const AGGREGATED: &str = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList";
const AGGREGATED_BETA: &str =
    "application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList";

/// Which aggregated version the Accept header takes first, if any.
fn aggregated(accept: &str) -> Option<&'static str> {
    for part in accept.split(',') {
        let p: Vec<&str> = part.split(';').map(str::trim).collect();
        if !p.contains(&"as=APIGroupDiscoveryList") || !p.contains(&"g=apidiscovery.k8s.io") {
            continue;
        }
        if p.contains(&"v=v2") {
            return Some("v2");
        }
        if p.contains(&"v=v2beta1") {
            return Some("v2beta1");
        }
    }
    None
}

const VERBS: &[&str] = &[
    "create",
    "delete",
    "deletecollection",
    "get",
    "list",
    "patch",
    "update",
    "watch",
];

fn verbs(r: &Resource) -> Vec<&'static str> {
    match r.kind {
        "Binding" => vec!["create"],
        _ if r.is_review() => vec!["create"],
        _ => VERBS.to_vec(),
    }
}

/// A subresource's kind (group, version, kind) and verbs.
fn sub_kind(
    r: &Resource,
    sub: &str,
) -> (
    (&'static str, &'static str, &'static str),
    Vec<&'static str>,
) {
    let own = (r.group, r.version, r.kind);
    let gpu = vec!["get", "patch", "update"];
    match sub {
        "status" | "ephemeralcontainers" | "resize" => (own, gpu),
        "scale" => (("autoscaling", "v1", "Scale"), gpu),
        "log" => (own, vec!["get"]),
        "exec" => (("", "v1", "PodExecOptions"), vec!["create", "get"]),
        "attach" => (("", "v1", "PodAttachOptions"), vec!["create", "get"]),
        "portforward" => (("", "v1", "PodPortForwardOptions"), vec!["create", "get"]),
        "proxy" => (
            (
                "",
                "v1",
                if r.kind == "Node" {
                    "NodeProxyOptions"
                } else if r.kind == "Service" {
                    "ServiceProxyOptions"
                } else {
                    "PodProxyOptions"
                },
            ),
            vec!["create", "delete", "get", "patch", "update"],
        ),
        "eviction" => (("policy", "v1", "Eviction"), vec!["create"]),
        "binding" => (("", "v1", "Binding"), vec!["create"]),
        "finalize" => (own, vec!["update"]),
        "token" => (
            ("authentication.k8s.io", "v1", "TokenRequest"),
            vec!["create"],
        ),
        _ => (own, gpu),
    }
}

/// `/api`.
pub fn core_versions(accept: &str, headers: &HeaderMap) -> Response {
    if let Some(v) = aggregated(accept) {
        return aggregated_list(true, v);
    }
    let host = headers
        .get("host")
        .and_then(|h| h.to_str().ok())
        .unwrap_or("127.0.0.1:6443");
    json_response(
        200,
        &json!({"kind": "APIVersions", "versions": ["v1"],
                "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": host}]}),
    )
}

fn group_doc(g: &str, v: &str) -> Value {
    let gv = format!("{g}/{v}");
    json!({"name": g, "versions": [{"groupVersion": gv, "version": v}],
           "preferredVersion": {"groupVersion": gv, "version": v}})
}

/// `/apis`.
pub fn groups(accept: &str) -> Response {
    if let Some(v) = aggregated(accept) {
        return aggregated_list(false, v);
    }
    let gs: Vec<Value> = resources::groups()
        .into_iter()
        .filter(|(g, _)| !g.is_empty())
        .map(|(g, v)| group_doc(g, v))
        .collect();
    json_response(
        200,
        &json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": gs}),
    )
}

/// `/apis/GROUP`.
pub fn group(g: &str) -> ApiResult<Response> {
    let Some((_, v)) = resources::groups().into_iter().find(|(x, _)| *x == g) else {
        return Err(ApiError::new(
            404,
            "NotFound",
            "the server could not find the requested resource",
        ));
    };
    let mut d = group_doc(g, v);
    d["kind"] = json!("APIGroup");
    d["apiVersion"] = json!("v1");
    Ok(json_response(200, &d))
}

/// `/api/v1` or `/apis/GROUP/VERSION`.
pub fn resource_list(g: &str, v: &str) -> ApiResult<Response> {
    let rs: Vec<&Resource> = RESOURCES
        .iter()
        .filter(|r| r.group == g && r.version == v)
        .collect();
    if rs.is_empty() {
        return Err(ApiError::new(
            404,
            "NotFound",
            "the server could not find the requested resource",
        ));
    }
    let mut out = Vec::new();
    for r in rs {
        let mut e = json!({"name": r.plural, "singularName": r.singular, "namespaced": r.namespaced,
                           "kind": r.kind, "verbs": verbs(r)});
        if !r.short_names.is_empty() {
            e["shortNames"] = json!(r.short_names);
        }
        if !r.categories.is_empty() {
            e["categories"] = json!(r.categories);
        }
        out.push(e);
        for sub in r.subresources {
            let ((sg, sv, sk), verbs) = sub_kind(r, sub);
            let mut e = json!({"name": format!("{}/{sub}", r.plural), "singularName": "",
                               "namespaced": r.namespaced, "kind": sk, "verbs": verbs});
            if (sg, sv) != (r.group, r.version) {
                e["group"] = json!(sg);
                e["version"] = json!(sv);
            }
            out.push(e);
        }
    }
    let gv = if g.is_empty() {
        v.to_string()
    } else {
        format!("{g}/{v}")
    };
    Ok(json_response(
        200,
        &json!({"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": gv, "resources": out}),
    ))
}

fn aggregated_resource(r: &Resource) -> Value {
    let mut e = json!({
        "resource": r.plural,
        "responseKind": {"group": r.group, "version": r.version, "kind": r.kind},
        "scope": if r.namespaced { "Namespaced" } else { "Cluster" },
        "singularResource": r.singular,
        "verbs": verbs(r),
    });
    if !r.short_names.is_empty() {
        e["shortNames"] = json!(r.short_names);
    }
    if !r.categories.is_empty() {
        e["categories"] = json!(r.categories);
    }
    let subs: Vec<Value> = r
        .subresources
        .iter()
        .map(|s| {
            let ((g, v, k), verbs) = sub_kind(r, s);
            json!({"subresource": s, "responseKind": {"group": g, "version": v, "kind": k},
                   "verbs": verbs})
        })
        .collect();
    if !subs.is_empty() {
        e["subresources"] = json!(subs);
    }
    e
}

fn aggregated_list(core: bool, version: &str) -> Response {
    let mut items = Vec::new();
    for (g, v) in resources::groups() {
        if g.is_empty() != core {
            continue;
        }
        let rs: Vec<Value> = RESOURCES
            .iter()
            .filter(|r| r.group == g && r.version == v)
            .map(aggregated_resource)
            .collect();
        let mut md = json!({"creationTimestamp": null});
        if !g.is_empty() {
            md["name"] = json!(g);
        }
        items.push(json!({"metadata": md,
                          "versions": [{"version": v, "resources": rs, "freshness": "Current"}]}));
    }
    let (api_version, ctype) = if version == "v2" {
        ("apidiscovery.k8s.io/v2", AGGREGATED)
    } else {
        ("apidiscovery.k8s.io/v2beta1", AGGREGATED_BETA)
    };
    json_typed(
        200,
        &json!({"kind": "APIGroupDiscoveryList", "apiVersion": api_version,
                "metadata": {}, "items": items}),
        ctype,
    )
}
