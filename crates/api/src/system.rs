//! `/_ping`, `/version`, `/info`, and the images the docker CLI lists and inspects.

use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::IntoResponse;
use axum::Json;
use serde_json::{json, Value};

use crate::{ApiError, API_VERSION, MIN_API_VERSION};

/// The headers dockerd answers every ping with (the CLI negotiates its version on them).
fn ping_headers() -> HeaderMap {
    let mut h = HeaderMap::new();
    for (k, v) in [
        ("Api-Version", API_VERSION),
        ("Ostype", "linux"),
        ("Server", "quai"),
        // 1, though BuildKit's API is served (`buildkit.rs`, ADR 017): docker CLI 28
        // takes BuildKit as on for any Linux daemon and compose v2 builds through
        // `/grpc` anyway, while a 2 would send older CLIs (Debian's 20.10) to
        // `POST /build?version=2` by default, where tar and URL contexts, secrets
        // and SSH are not served.
        ("Builder-Version", "1"),
        ("Docker-Experimental", "false"),
    ] {
        if let Ok(v) = HeaderValue::from_str(v) {
            h.insert(k, v);
        }
    }
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("no-cache, no-store, must-revalidate"),
    );
    h.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    h
}

/// `GET|HEAD /_ping`.
pub async fn ping() -> impl IntoResponse {
    (ping_headers(), "OK")
}

/// `GET /version`.
pub async fn version() -> impl IntoResponse {
    let v = env!("CARGO_PKG_VERSION");
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    (
        ping_headers(),
        Json(json!({
            "Platform": {"Name": "quai"},
            "Components": [{"Name": "Engine", "Version": v, "Details": {"ApiVersion": API_VERSION, "MinAPIVersion": MIN_API_VERSION, "Os": "linux", "Arch": "amd64", "KernelVersion": kernel.trim()}}],
            "Version": v,
            "ApiVersion": API_VERSION,
            "MinAPIVersion": MIN_API_VERSION,
            "GitCommit": "",
            "GoVersion": "",
            "Os": "linux",
            "Arch": "amd64",
            "KernelVersion": kernel.trim(),
            "BuildTime": "",
        })),
    )
}

/// `GET /info`.
pub async fn info(State(st): State<crate::State>) -> Result<Json<Value>, ApiError> {
    st.with_engine(|eng| Ok(Json(engine::docker::info(eng)?)))
        .await
}

/// An image as `GET /images/json` lists it.
pub(crate) fn image_summary(i: &engine::images::ImageSummary, repo_digests: Vec<String>) -> Value {
    let created = engine::time::parse_rfc3339(&i.created)
        .map(|n| n.div_euclid(1_000_000_000))
        .unwrap_or(0);
    let tags: Vec<String> = i.tags.iter().map(|t| t.familiar()).collect();
    json!({
        "Id": i.id.to_string(),
        "ParentId": "",
        "RepoTags": tags,
        "RepoDigests": repo_digests,
        "Created": created,
        "Size": i.size,
        "SharedSize": -1,
        "VirtualSize": i.size,
        "Labels": {},
        "Containers": -1,
    })
}

/// `GET /images/json?filters=`: `dangling` and `reference` (which keeps, of each image,
/// only the names that match, as dockerd does).
pub async fn images(
    State(st): State<crate::State>,
    axum::extract::Query(q): axum::extract::Query<std::collections::HashMap<String, String>>,
) -> Result<Json<Value>, ApiError> {
    let filters = match q.get("filters").filter(|f| !f.is_empty()) {
        Some(f) => crate::containers::parse_filters(f)?,
        None => Default::default(),
    };
    for k in filters.keys() {
        if !matches!(k.as_str(), "dangling" | "reference") {
            return Err(ApiError::bad_request(format!(
                "invalid filter '{k}' (supported here: dangling, reference)"
            )));
        }
    }
    let dangling = filters
        .get("dangling")
        .and_then(|v| v.first())
        .map(|v| v == "true" || v == "1");
    let refs = filters.get("reference").cloned().unwrap_or_default();
    st.with_engine(move |eng| {
        let mut out = Vec::new();
        for mut i in eng.image_list()? {
            if dangling.is_some_and(|d| d != i.tags.is_empty()) {
                continue;
            }
            if !refs.is_empty() {
                i.tags.retain(|t| {
                    let f = t.familiar();
                    let (repo, tag) = f.rsplit_once(':').unwrap_or((f.as_str(), ""));
                    refs.iter()
                        .all(|p| engine::images::reference_matches(p, repo, tag))
                });
                if i.tags.is_empty() {
                    continue;
                }
            }
            let digests = eng.image_repo_digests(&i.id).unwrap_or_default();
            out.push(image_summary(&i, digests));
        }
        Ok(Json(Value::Array(out)))
    })
    .await
}

/// `GET /images/{name}/json` (the name may have slashes: `/images/a/b:1/json`).
pub(crate) async fn image_inspect(
    State(st): State<crate::State>,
    name: String,
) -> Result<Json<Value>, ApiError> {
    st.with_engine(move |eng| {
        eng.image_inspect(&name).map(Json).map_err(|e| {
            if e.is_no_such_image() {
                // dockerd 28's words, its lookup's error wrapped in its own.
                let inner = crate::images::no_such_image(&name);
                ApiError::new(
                    axum::http::StatusCode::NOT_FOUND,
                    format!("no such image: {name}: {}", inner.message()),
                )
            } else {
                e.into()
            }
        })
    })
    .await
}

/// One line of dockerd's JSON progress stream.
fn progress_line(v: Value) -> Vec<u8> {
    let mut b = v.to_string().into_bytes();
    b.push(b'\n');
    b
}

/// `POST /images/create?fromImage=&tag=`: a pull, its progress streamed as dockerd's
/// JSON lines (a failure comes in-band, as `error`/`errorDetail`, after the 200), with
/// the credentials of `X-Registry-Auth`.
pub(crate) async fn pull(
    State(st): State<crate::State>,
    q: crate::Q,
    headers: HeaderMap,
) -> Result<axum::response::Response, ApiError> {
    let credentials = crate::registry::registry_auth(&headers)?;
    let from = q.non_empty("fromImage").unwrap_or_default();
    let name = match q.get("tag").filter(|t| !t.is_empty()) {
        Some(t) if t.starts_with("sha256:") => format!("{from}@{t}"),
        Some(t) => format!("{from}:{t}"),
        None => from,
    };
    let r: engine::images::Reference =
        name.parse()
            .map_err(|e: <engine::images::Reference as std::str::FromStr>::Err| {
                ApiError::bad_request(format!("invalid reference format: {e}"))
            })?;
    let platform: engine::images::Platform = q
        .get("platform")
        .filter(|p| !p.is_empty())
        .map(|p| p.parse())
        .transpose()
        .map_err(|e| ApiError::bad_request(format!("{e}")))?
        .unwrap_or_default();
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Vec<u8>, std::io::Error>>(64);
    let (root, run) = (st.root.clone(), st.run_dir.clone());
    tokio::task::spawn_blocking(move || {
        let send = |v: Value| {
            let _ = tx.blocking_send(Ok(progress_line(v)));
        };
        let fail = |m: String| send(json!({"errorDetail": {"message": m}, "error": m}));
        let eng = match engine::lifecycle::Engine::open(&root, &run) {
            Ok(e) => e,
            Err(e) => return fail(e.to_string()),
        };
        let tag = r.tag.clone().unwrap_or_else(|| "latest".into());
        send(json!({"status": format!("Pulling from {}", r.path), "id": tag}));
        let on_event = |ev: engine::images::ProgressEvent| match ev.layer() {
            Some(d) => {
                send(json!({"status": ev.status(), "progressDetail": {}, "id": &d.hex()[..12]}))
            }
            None => send(json!({"status": ev.status()})),
        };
        let progress = engine::images::Progress {
            event: &on_event,
            bytes: None,
        };
        let opts = engine::images::RegistryOptions {
            credentials,
            ..Default::default()
        };
        match eng.image_pull(&r, &platform, opts, progress) {
            Ok(_) => send(
                json!({"status": format!("Status: Downloaded newer image for {}", r.familiar())}),
            ),
            Err(e) => fail(e.to_string()),
        }
    });
    Ok((
        [(header::CONTENT_TYPE, "application/json")],
        axum::body::Body::from_stream(crate::stream::receiver_stream(rx)),
    )
        .into_response())
}
