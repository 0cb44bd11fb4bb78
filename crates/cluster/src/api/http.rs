//! The API server's HTTP side: paths as kube-apiserver lays them out
//! (`/api/v1/namespaces/NS/pods/NAME/status`, `/apis/GROUP/VERSION/...`), bearer-token
//! authentication, content negotiation (JSON, server-side Tables, partial metadata),
//! and the verbs mapped onto the [`Registry`].

use std::sync::Arc;
use std::time::Instant;

use axum::body::Body;
use axum::extract::State;
use axum::http::{header, HeaderMap, Method, Request, StatusCode};
use axum::response::Response;
use axum::Router;
use serde_json::{json, Value};

use super::fields::FieldSelector;
use super::registry::{DeleteOptions, ListOptions, Registry, Write};
use super::status::{ApiError, ApiResult};
use super::typed::FieldValidation;
use super::{discovery, openapi, patch, table, watch};
use crate::resources::{self, Resource};
use crate::selector::Selector;

/// The server's settings.
#[derive(Debug, Clone, Default)]
pub struct Settings {
    /// The bearer token clients must send (`None`: no authentication, loopback tests).
    pub token: Option<String>,
    /// Where each request is logged with the server's own time (`None`: not logged).
    pub request_log: Option<std::path::PathBuf>,
    /// The cluster's token, which node agents on other machines joined with: the API
    /// server presents it to them for pods' logs and exec.
    pub node_token: String,
}

/// The API server: its registry and settings.
pub struct Server {
    pub reg: Arc<Registry>,
    pub settings: Settings,
    log: Option<std::sync::Mutex<std::fs::File>>,
    /// This machine's node agent, for the pods it runs (logs).
    pub node: Option<Arc<dyn super::node_proxy::NodeProxy>>,
}

impl Server {
    pub fn new(
        reg: Arc<Registry>,
        settings: Settings,
        node: Option<Arc<dyn super::node_proxy::NodeProxy>>,
    ) -> std::io::Result<Arc<Server>> {
        let log = match &settings.request_log {
            Some(p) => Some(std::sync::Mutex::new(
                std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(p)?,
            )),
            None => None,
        };
        Ok(Arc::new(Server {
            reg,
            settings,
            log,
            node,
        }))
    }

    fn log(&self, method: &Method, uri: &str, code: u16, t0: Instant) {
        if let Some(f) = &self.log {
            use std::io::Write;
            let us = t0.elapsed().as_micros();
            let mut f = f.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            let _ = writeln!(f, "{method} {uri} {code} {us}us");
        }
    }
}

/// The router: everything goes through one dispatcher, as paths are parsed by hand.
pub fn router(server: Arc<Server>) -> Router {
    Router::new().fallback(handle).with_state(server)
}

const MAX_BODY: usize = 3 * 1024 * 1024;

async fn handle(State(s): State<Arc<Server>>, req: Request<Body>) -> Response {
    let t0 = Instant::now();
    let method = req.method().clone();
    let uri = req.uri().to_string();
    let resp = match dispatch(&s, req).await {
        Ok(r) => r,
        Err(e) => error_response(&e),
    };
    s.log(&method, &uri, resp.status().as_u16(), t0);
    resp
}

pub(crate) fn json_response(code: u16, v: &Value) -> Response {
    json_typed(code, v, "application/json")
}

pub(crate) fn json_typed(code: u16, v: &Value, ctype: &str) -> Response {
    let mut body = serde_json::to_vec(v).unwrap_or_default();
    body.push(b'\n');
    Response::builder()
        .status(StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR))
        .header(header::CONTENT_TYPE, ctype)
        .body(Body::from(body))
        .unwrap_or_default()
}

pub(crate) fn error_response(e: &ApiError) -> Response {
    json_response(e.code, &e.status())
}

fn text(code: u16, t: &str) -> Response {
    Response::builder()
        .status(StatusCode::from_u16(code).unwrap_or(StatusCode::OK))
        .header(header::CONTENT_TYPE, "text/plain; charset=utf-8")
        .header("X-Content-Type-Options", "nosniff")
        .body(Body::from(t.to_string()))
        .unwrap_or_default()
}

/// The query string as pairs.
pub(crate) fn query_pairs(q: Option<&str>) -> Vec<(String, String)> {
    q.and_then(|q| serde_urlencoded::from_str::<Vec<(String, String)>>(q).ok())
        .unwrap_or_default()
}

pub struct Query(pub Vec<(String, String)>);

impl Query {
    pub fn get(&self, k: &str) -> Option<&str> {
        self.0
            .iter()
            .rev()
            .find(|(a, _)| a == k)
            .map(|(_, v)| v.as_str())
    }

    pub fn flag(&self, k: &str) -> bool {
        matches!(self.get(k), Some("1" | "true" | "True"))
    }
}

/// Who sent a request.
enum User {
    /// The cluster's bearer token (or no authentication on the insecure loopback port).
    Admin,
    /// A service-account token.
    ServiceAccount(super::satoken::ServiceAccountUser),
}

fn user(s: &Server, headers: &HeaderMap) -> Option<User> {
    let Some(want) = &s.settings.token else {
        return Some(User::Admin);
    };
    let got = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))?;
    // Compared in constant time: the token is the cluster's one secret.
    let admin = got.len() == want.len()
        && got
            .bytes()
            .zip(want.bytes())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0;
    if admin {
        return Some(User::Admin);
    }
    s.reg.authenticate(got).map(User::ServiceAccount)
}

/// The Node of `pod` when its agent is on another machine (it serves the kubelet API).
fn remote_node(s: &Server, pod: &Value) -> Option<Value> {
    let name = pod["spec"]["nodeName"].as_str()?;
    if s.node.as_ref().and_then(|n| n.node_name()).as_deref() == Some(name) {
        return None;
    }
    let nodes = crate::resources::find("", "v1", "nodes")?;
    let node = s.reg.get(nodes, None, name).ok()?;
    super::kubelet::endpoint(&node).map(|_| node)
}

/// kube's verb for a request.
fn verb(method: &Method, t: &Target, q: &Query) -> &'static str {
    match (method, t.name.is_some()) {
        (&Method::GET, true) => "get",
        (&Method::GET, false) if q.flag("watch") => "watch",
        (&Method::GET, false) => "list",
        (&Method::POST, _) => "create",
        (&Method::PUT, _) => "update",
        (&Method::PATCH, _) => "patch",
        (&Method::DELETE, true) => "delete",
        (&Method::DELETE, false) => "deletecollection",
        _ => "get",
    }
}

/// The 403 kube-apiserver's RBAC gives a user without a rule for the request. Until
/// RBAC is served (part 2), service accounts have only what kube's default roles give
/// every authenticated user: discovery and the self-reviews.
fn forbidden(
    u: &super::satoken::ServiceAccountUser,
    method: &Method,
    t: &Target,
    q: &Query,
) -> ApiError {
    let resource = match &t.sub {
        Some(sub) => format!("{}/{sub}", t.res.plural),
        None => t.res.plural.to_string(),
    };
    let whom = match &t.name {
        Some(n) => format!("{} \"{n}\"", t.res.qualified()),
        None => t.res.qualified(),
    };
    let scope = match &t.ns {
        Some(ns) => format!("in the namespace \"{ns}\""),
        None => "at the cluster scope".to_string(),
    };
    ApiError {
        details: Some(json!({"name": t.name.clone().unwrap_or_default(), "group": t.res.group, "kind": t.res.plural})),
        ..ApiError::new(
            403,
            "Forbidden",
            format!(
                "{whom} is forbidden: User \"{}\" cannot {} resource \"{resource}\" in API group \"{}\" {scope}",
                u.username(),
                verb(method, t, q),
                t.res.group
            ),
        )
    }
}

/// A resource request, parsed from its path.
pub struct Target {
    pub res: &'static Resource,
    pub ns: Option<String>,
    pub name: Option<String>,
    pub sub: Option<String>,
}

fn not_found_path() -> ApiError {
    ApiError::new(
        404,
        "NotFound",
        "the server could not find the requested resource",
    )
}

fn parse_target(group: &str, version: &str, rest: &[&str]) -> ApiResult<Target> {
    let (ns, rest) = match rest {
        // /namespaces/NAME[/status|/finalize] is the namespaces resource itself.
        ["namespaces", name] => (None, vec!["namespaces", *name]),
        ["namespaces", name, sub @ ("status" | "finalize")] if group.is_empty() => {
            (None, vec!["namespaces", *name, *sub])
        }
        ["namespaces", ns, tail @ ..] if !tail.is_empty() => (Some(ns.to_string()), tail.to_vec()),
        _ => (None, rest.to_vec()),
    };
    let Some(plural) = rest.first() else {
        return Err(not_found_path());
    };
    let res = resources::find(group, version, plural).ok_or_else(not_found_path)?;
    if ns.is_some() && !res.namespaced {
        return Err(not_found_path());
    }
    let name = rest.get(1).map(|s| s.to_string());
    let sub = rest.get(2).map(|s| s.to_string());
    if rest.len() > 3 {
        return Err(not_found_path());
    }
    if let Some(sb) = &sub {
        if !res.subresources.contains(&sb.as_str()) {
            return Err(not_found_path());
        }
    }
    Ok(Target { res, ns, name, sub })
}

async fn dispatch(s: &Arc<Server>, req: Request<Body>) -> ApiResult<Response> {
    let (parts, body) = req.into_parts();
    let path = parts.uri.path().to_string();
    let query = Query(query_pairs(parts.uri.query()));
    let headers = parts.headers.clone();
    let method = parts.method.clone();
    match path.as_str() {
        "/healthz" | "/livez" | "/readyz" => return Ok(text(200, "ok")),
        "/version" | "/version/" => return Ok(json_response(200, &version())),
        // The cluster's CA, public (a joining agent checks it against its join token).
        "/cacerts" => {
            return match s.reg.ca_pem() {
                Some(pem) => Ok(text(200, pem)),
                None => Err(not_found_path()),
            }
        }
        _ => {}
    }
    if let Some(check) = ["/healthz/", "/livez/", "/readyz/"]
        .iter()
        .find_map(|p| path.strip_prefix(p))
    {
        let _ = check;
        return Ok(text(200, "ok"));
    }
    let Some(who) = user(s, &headers) else {
        return Err(ApiError::new(401, "Unauthorized", "Unauthorized"));
    };
    let segs: Vec<&str> = path.split('/').filter(|p| !p.is_empty()).collect();
    let accept = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    let (group, version, rest): (&str, &str, &[&str]) = match segs.as_slice() {
        ["api"] => return Ok(discovery::core_versions(&accept, &headers)),
        ["apis"] => return Ok(discovery::groups(&accept)),
        ["api", "v1"] => return discovery::resource_list("", "v1"),
        ["apis", g] => return discovery::group(g),
        ["apis", g, v] => return discovery::resource_list(g, v),
        ["openapi", "v2"] => return super::openapi_v2::serve(&accept),
        ["openapi", rest @ ..] => return openapi::serve(rest, &query),
        ["api", "v1", rest @ ..] => ("", "v1", rest),
        ["apis", g, v, rest @ ..] => (g, v, rest),
        _ => return Err(not_found_path()),
    };
    let t = parse_target(group, version, rest)?;
    if let User::ServiceAccount(u) = &who {
        if !t.res.is_review() {
            return Err(forbidden(u, &method, &t, &query));
        }
    }
    if t.res.is_review() {
        if method != Method::POST || t.name.is_some() {
            return Err(ApiError::method_not_allowed(format!(
                "{} only answer create",
                t.res.plural
            )));
        }
        let body = axum::body::to_bytes(body, MAX_BODY)
            .await
            .map_err(|e| ApiError::bad_request(e.to_string()))?;
        let ctype = headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("application/json");
        // The answer does not depend on what is asked (one credential, the
        // administrator's), so a body this server cannot read still gets it.
        let obj = decode_body(&body, ctype).unwrap_or_else(|_| json!({}));
        return Ok(json_response(201, &review(t.res, obj, &who)));
    }
    if t.sub.as_deref() == Some("portforward") && matches!(method, Method::GET | Method::POST) {
        let name = t.name.clone().unwrap_or_default();
        let pod = s.reg.get(t.res, t.ns.as_deref(), &name)?;
        let client = Request::from_parts(parts, body);
        if let Some(node) = remote_node(s, &pod) {
            return super::kubelet::proxy_port_forward(&node, &s.settings.node_token, &pod, client)
                .await;
        }
        let Some(node) = s.node.clone() else {
            return Err(ApiError::bad_request(format!(
                "pod {name} does not run on a node this server reaches"
            )));
        };
        return super::portforward::serve(node, pod, client).await;
    }
    if matches!(t.sub.as_deref(), Some("exec" | "attach"))
        && matches!(method, Method::GET | Method::POST)
    {
        let name = t.name.clone().unwrap_or_default();
        let pod = s.reg.get(t.res, t.ns.as_deref(), &name)?;
        let req = if t.sub.as_deref() == Some("attach") {
            super::node_proxy::attach_request(&pod, &query)?
        } else {
            super::node_proxy::exec_request(&pod, &query)?
        };
        if let Some(node) = remote_node(s, &pod) {
            let client = Request::from_parts(parts, body);
            return super::kubelet::proxy_exec(&node, &s.settings.node_token, &pod, &req, client)
                .await;
        }
        let Some(node) = s.node.clone() else {
            return Err(ApiError::bad_request(format!(
                "pod {name} does not run on a node this server reaches"
            )));
        };
        return super::exec::serve_any(parts, body, node, pod, req).await;
    }
    let body = if matches!(
        method,
        Method::POST | Method::PUT | Method::PATCH | Method::DELETE
    ) {
        axum::body::to_bytes(body, MAX_BODY).await.map_err(|e| {
            ApiError::new(
                413,
                "RequestEntityTooLarge",
                format!("the request body could not be read: {e}"),
            )
        })?
    } else {
        Default::default()
    };
    let ctype = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("application/json")
        .to_string();
    let agent = headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .and_then(|u| u.split('/').next())
        .filter(|u| !u.is_empty())
        .map(str::to_string);
    let w = Write {
        dry_run: query.get("dryRun") == Some("All"),
        validation: FieldValidation::parse(query.get("fieldValidation"))?,
        field_manager: query
            .get("fieldManager")
            .filter(|m| !m.is_empty())
            .map(str::to_string)
            .or(agent)
            // kube-apiserver's manager for a client that names none and sends no
            // User-Agent: the empty one (never the in-process controllers').
            .or_else(|| Some(String::new())),
        ..Default::default()
    };
    let reg = &s.reg;
    let ns = t.ns.as_deref();
    match (&method, &t.name, t.sub.as_deref()) {
        (&Method::GET, None, None) => {
            let opts = list_options(&t, &query)?;
            if query.flag("watch") {
                return watch::serve(s.clone(), &t, opts, &query, &accept).await;
            }
            let plain = opts.labels.0.is_empty()
                && opts.fields.0.is_empty()
                && opts.continue_token.is_none()
                && !accept.split(',').next().unwrap_or_default().contains("as=");
            let raw = if plain {
                Some(reg.list_raw(t.res, ns)?)
            } else {
                None
            };
            // The stored objects as they are, without parsing them again, when they
            // all fit in one page.
            if let Some((items, rev)) =
                raw.filter(|(items, _)| opts.limit.is_none_or(|l| l == 0 || items.len() <= l))
            {
                let mut body = format!(
                    "{{\"kind\":\"{}List\",\"apiVersion\":\"{}\",\"metadata\":{{\"resourceVersion\":\"{rev}\"}},\"items\":[",
                    t.res.kind,
                    t.res.api_version()
                );
                body.push_str(&items.join(","));
                body.push_str("]}\n");
                return Response::builder()
                    .status(StatusCode::OK)
                    .header(header::CONTENT_TYPE, "application/json")
                    .body(Body::from(body))
                    .map_err(|e| ApiError::internal(e.to_string()));
            }
            let (items, rev, next) = reg.list(t.res, ns, &opts)?;
            Ok(render_list(t.res, items, rev, next, &accept, &query))
        }
        (&Method::GET, Some(name), None | Some("status")) => {
            let obj = reg.get(t.res, ns, name)?;
            Ok(render_one(t.res, obj, &accept, &query))
        }
        (&Method::GET, Some(name), Some("log")) => {
            let pod = reg.get(t.res, ns, name)?;
            let req = super::node_proxy::log_request(&pod, &query)?;
            if let Some(node) = remote_node(s, &pod) {
                return super::kubelet::proxy_logs(
                    &node,
                    &s.settings.node_token,
                    &pod,
                    &req,
                    &query.0,
                )
                .await;
            }
            let Some(proxy) = s.node.clone() else {
                return Err(ApiError::bad_request(format!(
                    "pod {name} does not run on a node this server reaches"
                )));
            };
            super::node_proxy::serve_logs(proxy, pod, req).await
        }
        (&Method::GET, Some(name), Some("scale")) => {
            let obj = reg.get(t.res, ns, name)?;
            Ok(json_response(200, &scale_of(&obj)))
        }
        (&Method::POST, None, None) => {
            let obj = decode_body(&body, &ctype)?;
            let out = reg.create(t.res, ns, obj, &w)?;
            Ok(warned(json_response(201, &out), &w))
        }
        (&Method::PUT, Some(name), None | Some("status") | Some("finalize")) => {
            let obj = decode_body(&body, &ctype)?;
            let sub = t.sub.as_deref().filter(|s| *s == "status");
            if t.sub.as_deref() == Some("finalize") {
                let out = reg.finalize_namespace(name, &obj)?;
                return Ok(json_response(200, &out));
            }
            let out = reg.update(t.res, ns, name, obj, sub, &w)?;
            Ok(warned(json_response(200, &out), &w))
        }
        (&Method::PUT, Some(name), Some("scale")) => {
            let obj = decode_body(&body, &ctype)?;
            let out = set_scale(reg, t.res, ns, name, &obj, &w)?;
            Ok(json_response(200, &out))
        }
        (&Method::PATCH, Some(name), None) if ctype.starts_with("application/apply-patch") => {
            let out = patch::server_side_apply(reg, t.res, ns, name, &body, &query, &w)?;
            Ok(warned(json_response(200, &out), &w))
        }
        (&Method::PATCH, Some(name), sub @ (None | Some("status") | Some("scale"))) => {
            let out = patch::apply(reg, t.res, ns, name, sub, &ctype, &body, &w)?;
            Ok(warned(json_response(200, &out), &w))
        }
        (&Method::DELETE, Some(name), None) => {
            let opts = delete_options(&body, &query)?;
            let out = reg.delete(t.res, ns, name, &opts)?;
            if out["metadata"]["deletionTimestamp"].is_string() {
                return Ok(json_response(200, &out));
            }
            let mut details = json!({"name": name, "kind": t.res.plural,
                                     "uid": out["metadata"]["uid"]});
            if !t.res.group.is_empty() {
                details["group"] = json!(t.res.group);
            }
            Ok(json_response(
                200,
                &json!({"kind": "Status", "apiVersion": "v1", "metadata": {},
                        "status": "Success", "details": details}),
            ))
        }
        (&Method::DELETE, None, None) => {
            let opts = list_options(&t, &query)?;
            let dopts = delete_options(&body, &query)?;
            let (items, rev, _) = reg.list(t.res, ns, &opts)?;
            let mut out = Vec::new();
            for it in items {
                let n = it["metadata"]["name"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string();
                let ins = it["metadata"]["namespace"].as_str().map(str::to_string);
                match reg.delete(t.res, ins.as_deref(), &n, &dopts) {
                    Ok(o) => out.push(o),
                    Err(e) if e.code == 404 => {}
                    Err(e) => return Err(e),
                }
            }
            Ok(render_list(t.res, out, rev, None, "", &query))
        }
        (&Method::POST, Some(name), Some("binding")) => {
            let obj = decode_body(&body, &ctype)?;
            reg.bind(ns.unwrap_or_default(), name, &obj)?;
            Ok(json_response(
                201,
                &json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "code": 201}),
            ))
        }
        (&Method::POST, Some(name), Some("token")) if t.res.plural == "serviceaccounts" => {
            let obj = decode_body(&body, &ctype)?;
            let out = reg.token_request(ns.unwrap_or_default(), name, &obj)?;
            Ok(json_response(201, &out))
        }
        (&Method::POST, Some(name), Some("eviction")) => {
            let obj = decode_body(&body, &ctype)?;
            let opts = delete_options_value(&obj["deleteOptions"])?;
            reg.delete(t.res, ns, name, &opts)?;
            Ok(json_response(
                201,
                &json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "code": 201}),
            ))
        }
        (_, Some(_), Some(sub)) => Err(ApiError::method_not_allowed(format!(
            "{} on {}/{sub} is not supported yet",
            method, t.res.plural
        ))),
        _ => Err(ApiError::method_not_allowed(format!(
            "the server does not allow this method on the requested resource ({method})"
        ))),
    }
}

/// The write's warnings as `Warning: 299 - "..."` headers (kubectl prints them).
fn warned(mut resp: Response, w: &Write) -> Response {
    for text in w.take_warnings() {
        let v = format!("299 - {}", serde_json::Value::String(text));
        if let Ok(h) = v.parse() {
            resp.headers_mut().append(header::WARNING, h);
        }
    }
    resp
}

/// The answer to a review: the administrator's token may do everything; a service
/// account only what kube's default roles give every authenticated user.
fn review(res: &Resource, mut obj: Value, who: &User) -> Value {
    obj["apiVersion"] = json!(res.api_version());
    obj["kind"] = json!(res.kind);
    if !obj["metadata"].is_object() {
        obj["metadata"] = json!({});
    }
    obj["metadata"]["creationTimestamp"] = json!(clock::now_rfc3339_secs());
    let sa = match who {
        User::Admin => None,
        User::ServiceAccount(u) => Some(u),
    };
    let user = match sa {
        None => {
            json!({"username": "quai:admin", "groups": ["system:masters", "system:authenticated"]})
        }
        Some(u) => json!({"username": u.username(), "uid": u.uid,
            "groups": ["system:serviceaccounts", format!("system:serviceaccounts:{}", u.namespace),
                       "system:authenticated"]}),
    };
    let self_review = |group: &str, resource: &str| {
        matches!(
            (group, resource),
            (
                "authorization.k8s.io",
                "selfsubjectaccessreviews" | "selfsubjectrulesreviews"
            ) | ("authentication.k8s.io", "selfsubjectreviews")
        )
    };
    match (res.kind, sa) {
        ("SelfSubjectReview", _) => obj["status"] = json!({"userInfo": user}),
        ("SelfSubjectAccessReview", None) => {
            obj["status"] = json!({"allowed": true,
                "reason": "the cluster's bearer token is its administrator's"});
        }
        ("SelfSubjectAccessReview", Some(_)) => {
            let a = &obj["spec"]["resourceAttributes"];
            let allowed = a["verb"] == "create"
                && self_review(
                    a["group"].as_str().unwrap_or_default(),
                    a["resource"].as_str().unwrap_or_default(),
                );
            obj["status"] = json!({"allowed": allowed});
        }
        (_, None) => {
            obj["status"] = json!({
                "resourceRules": [{"verbs": ["*"], "apiGroups": ["*"], "resources": ["*"]}],
                "nonResourceRules": [{"verbs": ["*"], "nonResourceURLs": ["*"]}],
                "incomplete": false,
            });
        }
        (_, Some(_)) => {
            obj["status"] = json!({
                "resourceRules": [
                    {"verbs": ["create"], "apiGroups": ["authorization.k8s.io"],
                     "resources": ["selfsubjectaccessreviews", "selfsubjectrulesreviews"]},
                    {"verbs": ["create"], "apiGroups": ["authentication.k8s.io"],
                     "resources": ["selfsubjectreviews"]}],
                "nonResourceRules": [{"verbs": ["get"], "nonResourceURLs": [
                    "/api", "/api/*", "/apis", "/apis/*", "/healthz", "/livez", "/openapi",
                    "/openapi/*", "/readyz", "/version", "/version/"]}],
                "incomplete": false,
            });
        }
    }
    obj
}

/// The server's version, as `kubectl version` shows it.
pub fn version() -> Value {
    json!({
        "major": "1", "minor": "32", "emulationMajor": "1", "emulationMinor": "32",
        "gitVersion": "v1.32.0+quai", "gitCommit": env!("CARGO_PKG_VERSION"),
        "gitTreeState": "clean", "buildDate": "2026-01-01T00:00:00Z",
        "goVersion": "rust", "compiler": "rustc", "platform": "linux/amd64",
    })
}

pub(crate) fn list_options(t: &Target, q: &Query) -> ApiResult<ListOptions> {
    let labels = Selector::parse(q.get("labelSelector").unwrap_or_default())
        .map_err(|e| ApiError::bad_request(e.to_string()))?;
    let fields = FieldSelector::parse(q.get("fieldSelector").unwrap_or_default(), t.res.kind)?;
    let limit = match q.get("limit") {
        Some(l) => Some(
            l.parse::<usize>()
                .map_err(|_| ApiError::bad_request(format!("invalid limit: {l:?}")))?,
        ),
        None => None,
    };
    Ok(ListOptions {
        labels,
        fields,
        limit,
        continue_token: q
            .get("continue")
            .filter(|c| !c.is_empty())
            .map(str::to_string),
    })
}

fn delete_options_value(v: &Value) -> ApiResult<DeleteOptions> {
    let dry = v["dryRun"]
        .as_array()
        .is_some_and(|a| a.iter().any(|x| x == "All"));
    let mut propagation = v["propagationPolicy"].as_str().map(str::to_string);
    if propagation.is_none() {
        propagation = match v["orphanDependents"].as_bool() {
            Some(true) => Some("Orphan".to_string()),
            Some(false) => Some("Background".to_string()),
            None => None,
        };
    }
    if let Some(p) = &propagation {
        if !["Orphan", "Background", "Foreground"].contains(&p.as_str()) {
            return Err(ApiError::new(
                422,
                "Invalid",
                format!("DeleteOptions.meta.k8s.io \"\" is invalid: propagationPolicy: Unsupported value: {p:?}: supported values: \"Foreground\", \"Background\", \"Orphan\", \"nil\""),
            ));
        }
    }
    Ok(DeleteOptions {
        grace_period: v["gracePeriodSeconds"].as_i64(),
        propagation,
        dry_run: dry,
        precondition_uid: v["preconditions"]["uid"].as_str().map(str::to_string),
        precondition_rv: v["preconditions"]["resourceVersion"]
            .as_str()
            .map(str::to_string),
    })
}

fn delete_options(body: &[u8], q: &Query) -> ApiResult<DeleteOptions> {
    let v: Value = if body.iter().all(u8::is_ascii_whitespace) {
        json!({})
    } else {
        super::proto::decode_any(body).map_err(|e| ApiError::bad_request(e.to_string()))?
    };
    let mut o = delete_options_value(&v)?;
    if let Some(g) = q.get("gracePeriodSeconds") {
        o.grace_period = g.parse().ok();
    }
    if let Some(p) = q.get("propagationPolicy") {
        o.propagation = Some(p.to_string());
    }
    if q.get("dryRun") == Some("All") {
        o.dry_run = true;
    }
    Ok(o)
}

/// A request body: JSON, or kube's protobuf envelope.
pub(crate) fn decode_body(body: &[u8], ctype: &str) -> ApiResult<Value> {
    if ctype.starts_with("application/vnd.kubernetes.protobuf") {
        return super::proto::decode(body).map_err(|e| ApiError::bad_request(e.to_string()));
    }
    if ctype.starts_with("application/yaml") {
        return Err(ApiError::new(
            415,
            "UnsupportedMediaType",
            "the body of the request was in an unknown format - accepted media types include: application/json, application/vnd.kubernetes.protobuf",
        ));
    }
    serde_json::from_slice(body).map_err(|e| {
        ApiError::bad_request(format!(
            "the body of the request was in an unknown format - accepted media types include: application/json, application/yaml, application/vnd.kubernetes.protobuf ({e})"
        ))
    })
}

/// Whether an Accept header asks for `as=KIND` in meta.k8s.io.
pub(crate) fn wants_as(accept: &str, kind: &str) -> bool {
    accept
        .split(',')
        .next()
        .is_some_and(|first| first.split(';').any(|p| p.trim() == format!("as={kind}")))
}

fn render_one(res: &Resource, obj: Value, accept: &str, q: &Query) -> Response {
    if wants_as(accept, "Table") {
        let rev = obj["metadata"]["resourceVersion"].clone();
        let t = table::table(res, vec![obj], q.get("includeObject"), true, &rev);
        return json_response(200, &t);
    }
    if wants_as(accept, "PartialObjectMetadata") {
        return json_response(200, &table::partial(&obj));
    }
    json_response(200, &obj)
}

fn render_list(
    res: &Resource,
    mut items: Vec<Value>,
    rev: i64,
    next: Option<String>,
    accept: &str,
    q: &Query,
) -> Response {
    if wants_as(accept, "Table") {
        let mut t = table::table(
            res,
            items,
            q.get("includeObject"),
            true,
            &json!(rev.to_string()),
        );
        if let Some(n) = &next {
            t["metadata"]["continue"] = json!(n);
        }
        return json_response(200, &t);
    }
    if wants_as(accept, "PartialObjectMetadataList") {
        let list: Vec<Value> = items.iter().map(table::partial).collect();
        return json_response(
            200,
            &object(vec![
                ("kind", json!("PartialObjectMetadataList")),
                ("apiVersion", json!("meta.k8s.io/v1")),
                ("metadata", json!({"resourceVersion": rev.to_string()})),
                ("items", Value::Array(list)),
            ]),
        );
    }
    for it in &mut items {
        if let Some(m) = it.as_object_mut() {
            m.remove("apiVersion");
            m.remove("kind");
        }
    }
    let mut md = json!({"resourceVersion": rev.to_string()});
    if let Some(n) = next {
        md["continue"] = json!(n);
    }
    json_response(
        200,
        &object(vec![
            ("kind", json!(format!("{}List", res.kind))),
            ("apiVersion", json!(res.api_version())),
            ("metadata", md),
            ("items", Value::Array(items)),
        ]),
    )
}

/// An object of `pairs`, the values moved in (`json!` would copy each one).
pub(crate) fn object(pairs: Vec<(&str, Value)>) -> Value {
    Value::Object(pairs.into_iter().map(|(k, v)| (k.to_string(), v)).collect())
}

/// The `Scale` of a workload (autoscaling/v1).
pub(crate) fn scale_of(obj: &Value) -> Value {
    let sel = match obj["spec"]["selector"]["matchLabels"].as_object() {
        Some(m) => m
            .iter()
            .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or_default()))
            .collect::<Vec<_>>()
            .join(","),
        None => String::new(),
    };
    let md = &obj["metadata"];
    json!({
        "kind": "Scale", "apiVersion": "autoscaling/v1",
        "metadata": {"name": md["name"], "namespace": md["namespace"], "uid": md["uid"],
                     "resourceVersion": md["resourceVersion"],
                     "creationTimestamp": md["creationTimestamp"]},
        "spec": {"replicas": obj["spec"]["replicas"].as_i64().unwrap_or(0)},
        "status": {"replicas": obj["status"]["replicas"].as_i64().unwrap_or(0), "selector": sel},
    })
}

pub(crate) fn set_scale(
    reg: &Registry,
    res: &Resource,
    ns: Option<&str>,
    name: &str,
    scale: &Value,
    w: &Write,
) -> ApiResult<Value> {
    let mut obj = reg.get(res, ns, name)?;
    let Some(n) = scale["spec"]["replicas"].as_i64() else {
        return Err(ApiError::bad_request("spec.replicas is required"));
    };
    if let Some(rv) = scale["metadata"]["resourceVersion"]
        .as_str()
        .filter(|r| !r.is_empty())
    {
        obj["metadata"]["resourceVersion"] = json!(rv);
    }
    obj["spec"]["replicas"] = json!(n);
    let out = reg.update(res, ns, name, obj, None, w)?;
    Ok(scale_of(&out))
}
