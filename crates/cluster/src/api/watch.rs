//! Watches: a stream of `{"type": ..., "object": ...}` lines with kube's
//! resourceVersion semantics (unset or `0`: the current state as ADDED events first; a
//! revision: every change after it, or a 410 `Expired` error when it was compacted),
//! bookmarks, `sendInitialEvents` (watch-list), `timeoutSeconds`, and Tables for
//! `kubectl get -w`.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::http::{header, StatusCode};
use axum::response::Response;
use bytes::Bytes;
use serde_json::{json, Value};

use super::http::{wants_as, Query, Server, Target};
use super::registry::ListOptions;
use super::status::{ApiError, ApiResult};
use super::table;
use crate::resources::Resource;

/// How often a watch that allows bookmarks gets one.
const BOOKMARK_EVERY: Duration = Duration::from_secs(60);

struct Stream {
    tx: tokio::sync::mpsc::Sender<Result<Bytes, std::convert::Infallible>>,
    res: &'static Resource,
    table: bool,
    sent_columns: bool,
    include: Option<String>,
}

impl Stream {
    async fn send(&mut self, kind: &str, obj: &Value) -> bool {
        let object = if self.table && kind != "BOOKMARK" && kind != "ERROR" {
            let rev = obj["metadata"]["resourceVersion"].clone();
            let t = table::table(
                self.res,
                vec![obj.clone()],
                self.include.as_deref(),
                !self.sent_columns,
                &rev,
            );
            self.sent_columns = true;
            t
        } else {
            obj.clone()
        };
        let mut line =
            serde_json::to_vec(&json!({"type": kind, "object": object})).unwrap_or_default();
        line.push(b'\n');
        self.tx.send(Ok(Bytes::from(line))).await.is_ok()
    }

    async fn bookmark(&mut self, rev: i64, initial_end: bool) -> bool {
        let mut md = json!({"resourceVersion": rev.to_string()});
        if initial_end {
            md["annotations"] = json!({"k8s.io/initial-events-end": "true"});
        }
        let obj =
            json!({"kind": self.res.kind, "apiVersion": self.res.api_version(), "metadata": md});
        self.send("BOOKMARK", &obj).await
    }
}

/// Serve a watch of `t`.
pub async fn serve(
    s: Arc<Server>,
    t: &Target,
    opts: ListOptions,
    q: &Query,
    accept: &str,
) -> ApiResult<Response> {
    let res = t.res;
    let ns = t.ns.clone();
    let rv = q.get("resourceVersion").unwrap_or_default().to_string();
    let since: Option<i64> = match rv.as_str() {
        "" | "0" => None,
        r => Some(
            r.parse()
                .map_err(|_| ApiError::bad_request(format!("invalid resource version: {r:?}")))?,
        ),
    };
    let send_initial = match q.get("sendInitialEvents") {
        Some("true") => true,
        Some(_) => false,
        None => since.is_none(),
    };
    let bookmarks = q.flag("allowWatchBookmarks");
    if q.get("sendInitialEvents") == Some("true") && !bookmarks {
        return Err(ApiError::new(
            422,
            "Invalid",
            "ListOptions.meta.k8s.io \"\" is invalid: allowWatchBookmarks: Required value: allowWatchBookmarks required when sendInitialEvents is true",
        ));
    }
    let timeout = q
        .get("timeoutSeconds")
        .and_then(|t| t.parse::<u64>().ok())
        .map(Duration::from_secs);
    let table = wants_as(accept, "Table");
    let include = q.get("includeObject").map(str::to_string);
    let (tx, rx) = tokio::sync::mpsc::channel(64);
    let mut stream = Stream {
        tx,
        res,
        table,
        sent_columns: false,
        include,
    };
    let reg = s.reg.clone();
    let mut changes = reg.subscribe();
    // The starting point, read before answering so a bad revision is an error event.
    let (initial, start) = if send_initial {
        let (items, rev, _) = reg.list(
            res,
            ns.as_deref(),
            &ListOptions {
                limit: None,
                continue_token: None,
                ..opts.clone()
            },
        )?;
        (items, since.unwrap_or(rev).max(rev))
    } else {
        (
            Vec::new(),
            match since {
                Some(r) => r,
                None => reg.revision()?,
            },
        )
    };
    let initial_bookmark = q.get("sendInitialEvents") == Some("true");
    tokio::spawn(async move {
        for obj in &initial {
            if !stream.send("ADDED", obj).await {
                return;
            }
        }
        if initial_bookmark && !stream.bookmark(start, true).await {
            return;
        }
        let deadline = timeout.map(|t| tokio::time::Instant::now() + t);
        let mut last = start;
        let mut next_bookmark = tokio::time::Instant::now() + BOOKMARK_EVERY;
        loop {
            let events = match reg.events_since(res, ns.as_deref(), last) {
                Ok(e) => e,
                Err(e) => {
                    let _ = stream.send("ERROR", &e.status()).await;
                    return;
                }
            };
            for ev in events {
                last = ev.revision;
                if !opts.matches(&ev.object) {
                    continue;
                }
                if !stream.send(ev.kind, &ev.object).await {
                    return;
                }
            }
            let wake = match deadline {
                Some(d) => d.min(next_bookmark),
                None => next_bookmark,
            };
            tokio::select! {
                changed = changes.changed() => {
                    if changed.is_err() {
                        return;
                    }
                }
                _ = tokio::time::sleep_until(wake) => {
                    if deadline.is_some_and(|d| tokio::time::Instant::now() >= d) {
                        return;
                    }
                    if bookmarks {
                        let cur = reg.revision().unwrap_or(last).max(last);
                        if !stream.bookmark(cur, false).await {
                            return;
                        }
                    }
                    next_bookmark = tokio::time::Instant::now() + BOOKMARK_EVERY;
                }
                _ = stream.tx.closed() => return,
            }
        }
    });
    let body = Body::from_stream(futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|x| (x, rx))
    }));
    Response::builder()
        .status(StatusCode::OK)
        .header(header::CONTENT_TYPE, "application/json")
        .body(body)
        .map_err(|e| ApiError::internal(e.to_string()))
}
