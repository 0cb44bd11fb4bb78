//! `POST /build?version=2`: BuildKit through the classic endpoint, as docker CLIs that
//! read `Builder-Version: 2` (20.10) build. The context is not the body: the request
//! names the client's session (`remote=client-session`, `session=`), whose file sync
//! holds the `context` and `dockerfile` directories, and the build's id (`buildid=`).
//! The answer is dockerd's JSON lines: each `SolveStatus` as a `moby.buildkit.trace`
//! message (its protobuf bytes, base64 as Go's JSON has `[]byte`), then the image as
//! `moby.image.id`, or the error.

use std::collections::HashMap;

use axum::response::Response;
use base64::Engine as _;
use serde_json::json;

use super::{lock, proto, Control};
use crate::ApiError;

/// The classic query's options as the Dockerfile frontend's.
fn attrs(q: &[(String, String)]) -> Result<HashMap<String, String>, ApiError> {
    let get = |k: &str| crate::query_last(q, k);
    let flag = |k: &str| crate::query_flag(q, k);
    let mut a = HashMap::new();
    if let Some(d) = get("dockerfile").filter(|d| !d.is_empty()) {
        a.insert("filename".to_string(), d.to_string());
    }
    if let Some(t) = get("target").filter(|t| !t.is_empty()) {
        a.insert("target".into(), t.to_string());
    }
    if let Some(p) = get("platform").filter(|p| !p.is_empty()) {
        a.insert("platform".into(), p.to_string());
    }
    if flag("nocache") {
        a.insert("no-cache".into(), String::new());
    }
    if flag("pull") {
        a.insert("image-resolve-mode".into(), "pull".into());
    }
    if let Some(n) = get("networkmode").filter(|n| !n.is_empty()) {
        a.insert("force-network-mode".into(), n.to_string());
    }
    let hosts: Vec<&str> = q
        .iter()
        .filter(|(k, v)| k == "extrahosts" && !v.is_empty())
        .map(|(_, v)| v.as_str())
        .collect();
    if !hosts.is_empty() {
        a.insert("add-hosts".into(), hosts.join(","));
    }
    for (key, prefix) in [("buildargs", "build-arg:"), ("labels", "label:")] {
        for (_, v) in q.iter().filter(|(k, v)| k == key && !v.is_empty()) {
            let m: HashMap<String, Option<String>> = serde_json::from_str(v)
                .map_err(|e| ApiError::bad_request(format!("{key}: invalid JSON: {e}")))?;
            for (k, v) in m {
                if let Some(v) = v {
                    a.insert(format!("{prefix}{k}"), v);
                }
            }
        }
    }
    Ok(a)
}

/// One `SolveStatus` as dockerd's trace line.
fn trace(m: &proto::StatusResponse) -> serde_json::Value {
    let b = prost::Message::encode_to_vec(m);
    json!({
        "id": "moby.buildkit.trace",
        "aux": base64::engine::general_purpose::STANDARD.encode(b),
    })
}

/// `POST /build?version=2&remote=client-session&session=ID&buildid=ID&...`.
pub async fn build(st: crate::State, q: Vec<(String, String)>) -> Result<Response, ApiError> {
    let get = |k: &str| {
        crate::query_last(&q, k)
            .filter(|v| !v.is_empty())
            .map(str::to_string)
    };
    if get("remote").as_deref() != Some("client-session") {
        if let Some(s) = get("session") {
            st.buildkit.close_session(&s);
        }
        return Err(ApiError::bad_request(
            "a BuildKit build takes its context from the client's session (remote=client-session); contexts sent as the body or by URL are not supported here",
        ));
    }
    let session = get("session")
        .ok_or_else(|| ApiError::bad_request("a BuildKit build needs its session (session=)"))?;
    let build_id = match get("buildid") {
        Some(b) => b,
        None => crate::exec::new_id()?,
    };
    let attrs = attrs(&q)?;
    let names: Vec<String> = q
        .iter()
        .filter(|(k, v)| k == "t" && !v.is_empty())
        .map(|(_, v)| v.clone())
        .collect();
    // What the builder will be asked is checked before anything starts.
    super::options::Spec::from_attrs(&attrs, &names)
        .map_err(|e| ApiError::bad_request(e.message))?;
    let b = st.buildkit.build(&build_id);
    *lock(&b.control) = Some(Control {
        session,
        names,
        attrs: attrs.clone(),
    });
    let rx = lock(&b.status_rx).take();
    drop(b);
    let (done_tx, done_rx) = tokio::sync::oneshot::channel();
    let (lines, response) = crate::stream::Lines::new();
    tokio::task::spawn_blocking(move || {
        if let Some(mut rx) = rx {
            while let Some(m) = rx.blocking_recv() {
                if !lines.send(trace(&m)) {
                    break;
                }
            }
        }
        match done_rx.blocking_recv() {
            Ok(Ok(id)) => {
                let id: content::Digest = id;
                lines.send(json!({"id": "moby.image.id", "aux": {"ID": id.to_string()}}));
            }
            Ok(Err(e)) => {
                let e: super::grpc::Status = e;
                lines.error(&e.message);
            }
            Err(_) => {
                lines.error("the build went away");
            }
        }
    });
    tokio::spawn(async move {
        let res = super::run(&st, &build_id, &attrs).await;
        // Ends the status stream: the lines above then give the outcome.
        st.buildkit.end(&build_id);
        let _ = done_tx.send(res);
    });
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_classic_query_as_frontend_options() {
        let q: Vec<(String, String)> = [
            ("dockerfile", "Dockerfile.x"),
            ("buildargs", r#"{"A":"1","B":null}"#),
            ("labels", r#"{"l":"v"}"#),
            ("nocache", "1"),
            ("extrahosts", "h:1.2.3.4"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let a = attrs(&q).expect("attrs");
        assert_eq!(a.get("filename").map(String::as_str), Some("Dockerfile.x"));
        assert_eq!(a.get("build-arg:A").map(String::as_str), Some("1"));
        assert!(!a.contains_key("build-arg:B"));
        assert_eq!(a.get("label:l").map(String::as_str), Some("v"));
        assert_eq!(a.get("no-cache").map(String::as_str), Some(""));
        assert_eq!(a.get("add-hosts").map(String::as_str), Some("h:1.2.3.4"));
        let line = trace(&proto::StatusResponse::default());
        assert_eq!(line["id"], "moby.buildkit.trace");
    }
}
