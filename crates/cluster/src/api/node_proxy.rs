//! What the API server asks of the node running a pod (kube-apiserver proxies these to
//! the kubelet): `pods/log` and `pods/exec`. The agent of this machine registers an implementation;
//! the HTTP side streams what it yields.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{header, StatusCode};
use axum::response::Response;
use bytes::Bytes;
use serde_json::Value;

use super::http::Query;
use super::status::{ApiError, ApiResult};

/// `pods/NAME/log`'s options.
#[derive(Debug, Clone, Default)]
pub struct LogRequest {
    pub container: String,
    pub follow: bool,
    pub previous: bool,
    pub tail: Option<usize>,
    /// Unix nanoseconds.
    pub since: Option<i64>,
    pub timestamps: bool,
    pub limit_bytes: Option<usize>,
}

/// The node side of the API server's pod subresources.
pub trait NodeProxy: Send + Sync {
    /// Write the container's log to `sink`, chunk by chunk (an empty first chunk once
    /// the container was found), until it ends or `sink` returns false; an error before
    /// the first chunk is the request's error (kube's words).
    fn logs(
        &self,
        pod: &Value,
        req: &LogRequest,
        sink: &mut dyn FnMut(&[u8]) -> bool,
    ) -> Result<(), String>;

    /// Start `req.command` in the pod's container, with pipes for the streams asked.
    fn exec(&self, pod: &Value, req: &ExecRequest) -> Result<ExecSession, String>;

    /// The node this proxy answers for (its pods are reached in process, never through
    /// the kubelet API).
    fn node_name(&self) -> Option<String> {
        None
    }

    /// Attach to the container's main process (its stdio as the container was made:
    /// stdin only if the container keeps it open); `wait` ends with its exit.
    fn attach(&self, pod: &Value, req: &ExecRequest) -> Result<ExecSession, String> {
        let _ = (pod, req);
        Err("this node does not attach".to_string())
    }

    /// Run `req` on this node: a new process, or an attach.
    fn run(&self, pod: &Value, req: &ExecRequest) -> Result<ExecSession, String> {
        if req.attach {
            self.attach(pod, req)
        } else {
            self.exec(pod, req)
        }
    }

    /// A TCP connection to `port` inside the pod's network namespace (its loopback),
    /// as the kubelet dials for `pods/portforward`.
    fn port_forward(&self, pod: &Value, port: u16) -> Result<std::net::TcpStream, String> {
        let _ = (pod, port);
        Err("this node does not forward ports".to_string())
    }
}

fn containers(pod: &Value) -> Vec<String> {
    pod["spec"]["containers"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|c| c["name"].as_str().map(str::to_string))
        .collect()
}

/// The log request of `pod` from the query, checked as kube-apiserver checks it.
pub fn log_request(pod: &Value, q: &Query) -> ApiResult<LogRequest> {
    let name = pod["metadata"]["name"].as_str().unwrap_or_default();
    let all = containers(pod);
    let inits: Vec<String> = pod["spec"]["initContainers"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|c| c["name"].as_str().map(str::to_string))
        .collect();
    let container = match q.get("container").filter(|c| !c.is_empty()) {
        Some(c) => {
            if !all.iter().chain(&inits).any(|x| x == c) {
                return Err(ApiError::bad_request(format!(
                    "container {c} is not valid for pod {name}"
                )));
            }
            c.to_string()
        }
        None if all.len() == 1 => all[0].clone(),
        None => {
            let mut text = format!(
                "a container name must be specified for pod {name}, choose one of: [{}]",
                all.join(" ")
            );
            if !inits.is_empty() {
                text.push_str(&format!(
                    " or one of the init containers: [{}]",
                    inits.join(" ")
                ));
            }
            return Err(ApiError::bad_request(text));
        }
    };
    let num = |k: &str| -> ApiResult<Option<i64>> {
        match q.get(k) {
            Some(v) => v
                .parse::<i64>()
                .map(Some)
                .map_err(|_| ApiError::bad_request(format!("invalid {k}: {v:?}"))),
            None => Ok(None),
        }
    };
    let since = match (num("sinceSeconds")?, q.get("sinceTime")) {
        (Some(s), _) => Some(clock::now_nanos() - s.saturating_mul(1_000_000_000)),
        (None, Some(t)) => Some(
            clock::parse_rfc3339(t)
                .ok_or_else(|| ApiError::bad_request(format!("invalid sinceTime: {t:?}")))?,
        ),
        _ => None,
    };
    Ok(LogRequest {
        container,
        follow: q.flag("follow"),
        previous: q.flag("previous"),
        tail: num("tailLines")?.map(|n| n.max(0) as usize),
        since,
        timestamps: q.flag("timestamps"),
        limit_bytes: num("limitBytes")?.map(|n| n.max(0) as usize),
    })
}

enum Msg {
    Data(Bytes),
    Err(String),
}

/// Stream a pod's log through `proxy`.
pub async fn serve_logs(
    proxy: Arc<dyn NodeProxy>,
    pod: Value,
    req: LogRequest,
) -> ApiResult<Response> {
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Msg>(64);
    let tx2 = tx.clone();
    tokio::task::spawn_blocking(move || {
        let mut sink = |b: &[u8]| {
            tx2.blocking_send(Msg::Data(Bytes::copy_from_slice(b)))
                .is_ok()
        };
        if let Err(e) = proxy.logs(&pod, &req, &mut sink) {
            let _ = tx2.blocking_send(Msg::Err(e));
        }
    });
    drop(tx);
    let first = match rx.recv().await {
        Some(Msg::Err(e)) => return Err(ApiError::bad_request(e)),
        Some(Msg::Data(b)) => b,
        None => Bytes::new(),
    };
    let stream = futures_util::stream::unfold((Some(first), rx), |(first, mut rx)| async move {
        if let Some(f) = first {
            return Some((Ok::<Bytes, std::convert::Infallible>(f), (None, rx)));
        }
        match rx.recv().await {
            Some(Msg::Data(b)) => Some((Ok(b), (None, rx))),
            _ => None,
        }
    });
    Response::builder()
        .status(StatusCode::OK)
        .header(header::CONTENT_TYPE, "text/plain")
        .body(Body::from_stream(stream))
        .map_err(|e| ApiError::internal(e.to_string()))
}

/// A process started in a pod's container for `pods/exec`: its pipes, and how to wait
/// for its exit status.
pub struct ExecSession {
    pub stdin: Option<std::fs::File>,
    pub stdout: Option<std::fs::File>,
    pub stderr: Option<std::fs::File>,
    pub wait: Box<dyn FnOnce() -> Result<i32, String> + Send>,
    /// Let go when the client leaves first (an attach stops following the container,
    /// which runs on).
    pub cancel: Option<Box<dyn FnOnce() + Send>>,
}

/// `pods/NAME/exec`'s options.
#[derive(Debug, Clone, Default)]
pub struct ExecRequest {
    pub container: String,
    pub command: Vec<String>,
    pub stdin: bool,
    pub stdout: bool,
    pub stderr: bool,
    pub tty: bool,
    /// `pods/attach`: the container's own process, not a new one (`command` is empty).
    pub attach: bool,
}

/// The exec request of `pod` from the query (`command` repeated), checked as
/// kube-apiserver checks it.
pub fn exec_request(pod: &Value, q: &Query) -> ApiResult<ExecRequest> {
    let name = pod["metadata"]["name"].as_str().unwrap_or_default();
    let command: Vec<String> =
        q.0.iter()
            .filter(|(k, _)| k == "command")
            .map(|(_, v)| v.clone())
            .collect();
    if command.is_empty() {
        return Err(ApiError::bad_request("you must specify at least 1 command"));
    }
    let all = containers(pod);
    let container = match q.get("container").filter(|c| !c.is_empty()) {
        Some(c) if all.iter().any(|x| x == c) => c.to_string(),
        Some(c) => {
            return Err(ApiError::bad_request(format!(
                "container {c} is not valid for pod {name}"
            )))
        }
        None if all.len() == 1 => all[0].clone(),
        None => {
            return Err(ApiError::bad_request(format!(
                "a container name must be specified for pod {name}, choose one of: [{}]",
                all.join(" ")
            )))
        }
    };
    if pod["status"]["phase"] != "Running" {
        return Err(ApiError::bad_request(format!(
            "unable to upgrade connection: container not found (\"{container}\")"
        )));
    }
    Ok(ExecRequest {
        container,
        command,
        stdin: q.flag("stdin"),
        stdout: q.flag("stdout"),
        stderr: q.flag("stderr"),
        tty: q.flag("tty"),
        attach: false,
    })
}

/// The attach request of `pod` from the query, checked as kube-apiserver checks it.
pub fn attach_request(pod: &Value, q: &Query) -> ApiResult<ExecRequest> {
    let mut pairs = q.0.clone();
    pairs.push(("command".to_string(), String::new()));
    let mut req = exec_request(pod, &Query(pairs))?;
    req.command.clear();
    req.attach = true;
    Ok(req)
}
