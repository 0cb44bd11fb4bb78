//! `POST /containers/{id}/attach`: the HTTP connection is hijacked (101, `Upgrade: tcp`)
//! and carries the container's output, multiplexed as dockerd frames it unless it has a
//! terminal. A client attaching to a created container (`docker run` attaches before it
//! starts the container) is handed the output stream of the start itself, so nothing
//! the container writes first is lost.

use std::collections::HashMap;
use std::os::unix::net::UnixStream;
use std::sync::{Arc, Mutex};

use axum::body::Body;
use axum::extract::{Path, Query, Request, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use tokio::io::AsyncWriteExt;

use crate::ApiError;

/// Starts made by this service, for waits on `next-exit` to see at once (a start by
/// another process is seen by polling).
#[derive(Debug, Default, Clone)]
pub struct Started(Arc<(Mutex<u64>, std::sync::Condvar)>);

impl Started {
    /// A start happened.
    pub(crate) fn notify(&self) {
        if let Ok(mut n) = self.0 .0.lock() {
            *n += 1;
        }
        self.0 .1.notify_all();
    }

    /// Sleep until a start happens here, or `max` passes.
    pub(crate) fn wait(&self, max: std::time::Duration) {
        if let Ok(g) = self.0 .0.lock() {
            let _ = self.0 .1.wait_timeout(g, max);
        }
    }
}

/// Attach requests waiting for their container's start, by container id.
#[derive(Debug, Default, Clone)]
pub struct Waiting(Arc<Mutex<HashMap<String, tokio::sync::oneshot::Sender<UnixStream>>>>);

impl Waiting {
    /// The attacher waiting for `id`, if any.
    pub(crate) fn take(&self, id: &str) -> Option<tokio::sync::oneshot::Sender<UnixStream>> {
        self.0.lock().ok()?.remove(id)
    }
}

/// `POST /containers/{id}/attach?stream=1&stdout=1&stderr=1`.
pub async fn attach(
    State(st): State<crate::State>,
    Path(id): Path<String>,
    Query(q): Query<HashMap<String, String>>,
    mut req: Request,
) -> Result<Response, ApiError> {
    let (want_out, want_err) = (
        crate::containers::flag(&q, "stdout"),
        crate::containers::flag(&q, "stderr"),
    );
    let (rec_id, tty, created) = st
        .with_engine({
            let id = id.clone();
            move |eng| {
                let r = eng.get(&id).map_err(|e| match e {
                    engine::Error::NoSuchContainer(_) => {
                        ApiError::new(StatusCode::NOT_FOUND, format!("No such container: {id}"))
                    }
                    e => e.into(),
                })?;
                Ok((
                    r.id.clone(),
                    r.config.tty,
                    r.state.status == engine::config::ContainerStatus::Created,
                ))
            }
        })
        .await?;
    // Where the container's output will come from: the start's stream, or the running
    // container's attach socket.
    let source: tokio::sync::oneshot::Receiver<UnixStream> = if created {
        let (tx, rx) = tokio::sync::oneshot::channel();
        if let Ok(mut m) = st.waiting.0.lock() {
            m.insert(rec_id.clone(), tx);
        }
        rx
    } else {
        let (tx, rx) = tokio::sync::oneshot::channel();
        let s = st
            .with_engine({
                let id = rec_id.clone();
                move |eng| {
                    let mut s = eng.attach_stream(&id)?;
                    engine::attach::send(&mut s, engine::attach::ATTACH, b"oe").map_err(|e| {
                        ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, e.to_string())
                    })?;
                    Ok(s)
                }
            })
            .await?;
        let _ = tx.send(s);
        rx
    };
    let upgrade = hyper::upgrade::on(&mut req);
    tokio::spawn(async move {
        let Ok(upgraded) = upgrade.await else {
            return;
        };
        let mut io = hyper_util::rt::TokioIo::new(upgraded);
        let Ok(stream) = source.await else {
            return;
        };
        // The engine's frames, read on a blocking thread, become dockerd's.
        let (tx, mut rx) = tokio::sync::mpsc::channel::<Vec<u8>>(64);
        tokio::task::spawn_blocking(move || {
            let mut stream = stream;
            while let Ok(Some((kind, data))) = engine::attach::recv(&mut stream) {
                let out = match kind {
                    engine::attach::STDOUT if want_out => 1u8,
                    engine::attach::STDERR if want_err => 2u8,
                    engine::attach::EXITED | engine::attach::FAILED => break,
                    _ => continue,
                };
                let bytes = if tty {
                    data
                } else {
                    crate::containers::frame(out, &data)
                };
                if tx.blocking_send(bytes).is_err() {
                    break;
                }
            }
        });
        while let Some(b) = rx.recv().await {
            if io.write_all(&b).await.is_err() {
                break;
            }
        }
        let _ = io.shutdown().await;
    });
    let kind = if tty {
        "application/vnd.docker.raw-stream"
    } else {
        "application/vnd.docker.multiplexed-stream"
    };
    Ok(Response::builder()
        .status(StatusCode::SWITCHING_PROTOCOLS)
        .header(header::CONNECTION, "Upgrade")
        .header(header::UPGRADE, "tcp")
        .header(header::CONTENT_TYPE, kind)
        .body(Body::empty())
        .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response()))
}
