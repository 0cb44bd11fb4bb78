//! What talks to registries for a client: `POST /images/{name}/push` (dockerd's JSON
//! progress), `POST /auth`, and the `X-Registry-Auth` credentials a client sends with
//! a push or a pull. The service keeps no credentials: a request without them is
//! anonymous, as with dockerd.

use std::collections::HashMap;
use std::sync::Mutex;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::Json;
use base64::Engine as _;
use engine::images::{Credentials, ProgressEvent, Reference, RegistryOptions};
use serde_json::{json, Value};

use crate::stream::Lines;
use crate::{ApiError, Q};

/// Bytes between two `Pushing` lines of one layer.
const PROGRESS_STEP: u64 = 512 * 1024;

/// Base64 as Docker clients write it: URL-safe (the Engine API's), or the standard
/// alphabet, with or without padding.
fn decode_base64(s: &str) -> Option<Vec<u8>> {
    use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
    [URL_SAFE, URL_SAFE_NO_PAD, STANDARD, STANDARD_NO_PAD]
        .iter()
        .find_map(|e| e.decode(s).ok())
}

/// Credentials from an auth config document (`X-Registry-Auth`, `POST /auth`):
/// `username` and `password`, or `auth` (base64 `user:password`).
fn credentials_of(v: &Value) -> Result<Credentials, ApiError> {
    let text = |k: &str| -> Result<String, ApiError> {
        match &v[k] {
            Value::Null => Ok(String::new()),
            Value::String(s) => Ok(s.clone()),
            _ => Err(ApiError::bad_request(format!(
                "invalid auth configuration: {k} must be a string"
            ))),
        }
    };
    let (username, password, auth) = (text("username")?, text("password")?, text("auth")?);
    if !username.is_empty() {
        return Ok(Credentials::Basic { username, password });
    }
    if !auth.is_empty() {
        let pair = decode_base64(&auth)
            .and_then(|b| String::from_utf8(b).ok())
            .and_then(|s| {
                s.split_once(':')
                    .map(|(u, p)| (u.to_string(), p.to_string()))
            })
            .ok_or_else(|| ApiError::bad_request("invalid auth configuration: bad auth"))?;
        return Ok(Credentials::Basic {
            username: pair.0,
            password: pair.1,
        });
    }
    Ok(Credentials::Anonymous)
}

/// The credentials of `X-Registry-Auth` (base64url JSON); none without the header.
pub(crate) fn registry_auth(headers: &HeaderMap) -> Result<Credentials, ApiError> {
    let Some(h) = headers.get("X-Registry-Auth") else {
        return Ok(Credentials::Anonymous);
    };
    let s = h.to_str().unwrap_or_default().trim();
    if s.is_empty() {
        return Ok(Credentials::Anonymous);
    }
    let invalid = || ApiError::bad_request("invalid X-Registry-Auth header: not base64 JSON");
    let bytes = decode_base64(s).ok_or_else(invalid)?;
    let v: Value = serde_json::from_slice(&bytes).map_err(|_| invalid())?;
    if !v.is_object() {
        return Err(invalid());
    }
    credentials_of(&v)
}

/// A registry address as clients give it (`https://host:port/v1/`) as a host.
fn server_host(addr: &str) -> String {
    let a = addr
        .strip_prefix("https://")
        .or_else(|| addr.strip_prefix("http://"))
        .unwrap_or(addr);
    let host = a.split('/').next().unwrap_or_default();
    match host {
        "" | "index.docker.io" | "registry-1.docker.io" => "docker.io".into(),
        h => h.into(),
    }
}

/// `POST /auth`: whether the registry takes the credentials (nothing is stored).
pub async fn auth(body: axum::body::Bytes) -> Result<Json<Value>, ApiError> {
    let v = crate::json_body(&body)?;
    let creds = credentials_of(&v)?;
    if creds == Credentials::Anonymous {
        return Err(ApiError::bad_request(
            "a username and password are required",
        ));
    }
    let server = match &v["serveraddress"] {
        Value::String(s) => server_host(s),
        Value::Null => "docker.io".into(),
        _ => {
            return Err(ApiError::bad_request(
                "invalid auth configuration: serveraddress must be a string",
            ))
        }
    };
    let opts = RegistryOptions {
        credentials: creds,
        ..Default::default()
    };
    tokio::task::spawn_blocking(move || engine::images::registry_check_login(&server, &opts))
        .await
        .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))??;
    Ok(Json(
        json!({"Status": "Login Succeeded", "IdentityToken": ""}),
    ))
}

/// `POST /images/{name}/push?tag=`: the tag (or, with none, every tag of the
/// repository) pushed, with dockerd's progress lines; a failure comes in-band after the
/// 200, as dockerd sends it.
pub async fn push(
    State(st): State<crate::State>,
    name: String,
    q: Q,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let credentials = registry_auth(&headers)?;
    let repo: Reference = name
        .parse()
        .map_err(|e| ApiError::bad_request(format!("invalid reference format: {e}")))?;
    // A tag in the name counts when the query has none (dockerd's reading).
    let named_tag = name
        .rsplit('/')
        .next()
        .is_some_and(|last| last.contains(':') && !name.contains('@'));
    let tag = q
        .non_empty("tag")
        .or_else(|| repo.tag.clone().filter(|_| named_tag));
    let (lines, resp) = Lines::new();
    let (root, run) = (st.root.clone(), st.run_dir.clone());
    tokio::task::spawn_blocking(move || {
        lines.send(json!({
            "status": format!("The push refers to repository [{}]", repo.repository())
        }));
        let eng = match engine::lifecycle::Engine::open(&root, &run) {
            Ok(e) => e,
            Err(e) => {
                lines.error(&e.to_string());
                return;
            }
        };
        let refs = match tags_to_push(&eng, &repo, tag.as_deref()) {
            Ok(r) => r,
            Err(m) => {
                lines.error(&m);
                return;
            }
        };
        let opts = RegistryOptions {
            credentials,
            ..Default::default()
        };
        for r in refs {
            if let Err(e) = push_one(&eng, &r, &opts, &lines) {
                // dockerd's words for a registry that wants (other) credentials.
                let m = match (&opts.credentials, e.is_registry_unauthorized()) {
                    (Credentials::Anonymous, true) => "no basic auth credentials".to_string(),
                    (_, true) => "unauthorized: authentication required".to_string(),
                    _ => e.to_string(),
                };
                lines.error(&m);
                return;
            }
        }
    });
    Ok(resp)
}

/// The references a push sends, in dockerd's words when there are none.
fn tags_to_push(
    eng: &engine::lifecycle::Engine,
    repo: &Reference,
    tag: Option<&str>,
) -> Result<Vec<Reference>, String> {
    let mut local: Vec<Reference> = eng
        .image_list()
        .map_err(|e| e.to_string())?
        .into_iter()
        .flat_map(|i| i.tags)
        .filter(|t| t.repository() == repo.repository())
        .collect();
    local.sort_by_key(ToString::to_string);
    let named = || {
        let mut r = repo.clone();
        r.tag = None;
        r.familiar()
    };
    if local.is_empty() {
        return Err(format!(
            "An image does not exist locally with the tag: {}",
            named()
        ));
    }
    match tag {
        None => Ok(local),
        Some(t) => local
            .into_iter()
            .find(|r| r.tag.as_deref() == Some(t))
            .map(|r| vec![r])
            .ok_or_else(|| format!("tag does not exist: {}:{t}", named())),
    }
}

/// Push one reference, each step as a line.
fn push_one(
    eng: &engine::lifecycle::Engine,
    r: &Reference,
    opts: &RegistryOptions,
    lines: &Lines,
) -> Result<(), engine::Error> {
    // dockerd shows the layers, not the config blob.
    let config = eng.image_resolve(&r.to_string())?;
    let short = |d: &engine::images::Digest| d.hex()[..12].to_string();
    let on_event = |ev: ProgressEvent| {
        if let ProgressEvent::TagPushed {
            tag,
            manifest,
            size,
        } = &ev
        {
            lines.send(json!({"status": ev.status()}));
            lines.send(json!({"progressDetail": {},
                "aux": {"Tag": tag, "Digest": manifest.to_string(), "Size": size}}));
            return;
        }
        if let Some(d) = ev.layer().filter(|d| **d != config) {
            lines.send(json!({"status": ev.status(), "progressDetail": {}, "id": short(d)}));
        }
    };
    let last: Mutex<HashMap<String, u64>> = Mutex::new(HashMap::new());
    let on_bytes = |d: &engine::images::Digest, done: u64, total: Option<u64>| {
        if *d == config {
            return;
        }
        let id = short(d);
        let due = match last.lock() {
            Ok(mut m) => {
                let prev = m.entry(id.clone()).or_insert(0);
                let due = done >= *prev + PROGRESS_STEP || Some(done) == total;
                if due {
                    *prev = done;
                }
                due
            }
            Err(_) => false,
        };
        if due {
            let mut detail = json!({ "current": done });
            if let Some(t) = total {
                detail["total"] = json!(t);
            }
            lines.send(json!({"status": "Pushing", "progressDetail": detail, "id": id}));
        }
    };
    eng.image_push(
        r,
        opts.clone(),
        engine::images::Progress {
            event: &on_event,
            bytes: Some(&on_bytes),
        },
    )
    .map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registry_auth_headers_decode_as_docker_writes_them() {
        let mut h = HeaderMap::new();
        assert_eq!(registry_auth(&h).ok(), Some(Credentials::Anonymous));
        let doc = r#"{"username":"alice","password":"s3cret","serveraddress":"127.0.0.1:5000"}"#;
        let enc = base64::engine::general_purpose::URL_SAFE.encode(doc);
        h.insert("X-Registry-Auth", enc.parse().expect("header"));
        assert_eq!(
            registry_auth(&h).ok(),
            Some(Credentials::Basic {
                username: "alice".into(),
                password: "s3cret".into()
            })
        );
        h.insert("X-Registry-Auth", "e30=".parse().expect("header"));
        assert_eq!(registry_auth(&h).ok(), Some(Credentials::Anonymous));
        h.insert("X-Registry-Auth", "!!!".parse().expect("header"));
        assert_eq!(
            registry_auth(&h).err().map(|e| e.status()),
            Some(StatusCode::BAD_REQUEST)
        );
        assert_eq!(server_host("https://index.docker.io/v1/"), "docker.io");
        assert_eq!(server_host("http://127.0.0.1:5000"), "127.0.0.1:5000");
    }
}
