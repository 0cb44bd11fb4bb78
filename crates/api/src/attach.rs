//! `POST /containers/{id}/attach`: the HTTP connection is hijacked (101, `Upgrade: tcp`)
//! and carries the container's output, multiplexed as dockerd frames it unless it has a
//! terminal. A client attaching to a created container (`docker run` attaches before it
//! starts the container) is handed the output stream of the start itself, so nothing
//! the container writes first is lost.

use std::collections::HashMap;
use std::os::unix::net::UnixStream;
use std::sync::{Arc, Mutex};

use axum::extract::{Path, Query, Request, State};
use axum::http::StatusCode;
use axum::response::Response;

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

/// An attacher waiting for its container's start: where the start's stream goes, and
/// the streams it wants (`i`, `o`, `e`).
pub(crate) struct Waiter {
    pub tx: tokio::sync::oneshot::Sender<UnixStream>,
    pub streams: String,
}

/// Attach requests waiting for their container's start, by container id.
#[derive(Default, Clone)]
pub struct Waiting(Arc<Mutex<HashMap<String, Waiter>>>);

impl std::fmt::Debug for Waiting {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Waiting")
    }
}

impl Waiting {
    /// The attacher waiting for `id`, if any.
    pub(crate) fn take(&self, id: &str) -> Option<Waiter> {
        self.0.lock().ok()?.remove(id)
    }
}

/// `POST /containers/{id}/attach?stream=1&stdin=1&stdout=1&stderr=1&detachKeys=`.
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
    let keys = match q.get("detachKeys").filter(|k| !k.is_empty()) {
        Some(k) => {
            engine::attach::detach_keys(k).map_err(|e| ApiError::bad_request(e.to_string()))?
        }
        None => engine::attach::DEFAULT_DETACH_KEYS.to_vec(),
    };
    let (rec_id, tty, created, open_stdin) = st
        .with_engine({
            let id = id.clone();
            move |eng| {
                let r = eng.get(&id).map_err(crate::containers::no_such(&id))?;
                // A container not running yet (created, or exited: `docker start -a`)
                // is attached by its next start.
                Ok((
                    r.id.clone(),
                    r.config.tty,
                    !r.state.status.is_active(),
                    r.config.open_stdin,
                ))
            }
        })
        .await?;
    let want_in = open_stdin && crate::containers::flag(&q, "stdin");
    let streams = format!("{}oe", if want_in { "i" } else { "" });
    // Where the container's output will come from: the start's stream, or the running
    // container's attach socket.
    let (tx, source) = tokio::sync::oneshot::channel::<UnixStream>();
    if created {
        if let Ok(mut m) = st.waiting.0.lock() {
            m.insert(rec_id.clone(), Waiter { tx, streams });
        }
    } else {
        let s = st
            .with_engine({
                let id = rec_id.clone();
                move |eng| {
                    let mut s = eng.attach_stream(&id)?;
                    engine::attach::send(&mut s, engine::attach::ATTACH, streams.as_bytes())
                        .map_err(|e| {
                            ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, e.to_string())
                        })?;
                    Ok(s)
                }
            })
            .await?;
        let _ = tx.send(s);
    }
    let (out_tx, out) = tokio::sync::mpsc::channel::<Vec<u8>>(64);
    let (in_tx, mut in_rx) = tokio::sync::mpsc::channel::<Option<Vec<u8>>>(16);
    tokio::spawn(async move {
        let Ok(stream) = source.await else {
            return;
        };
        // The client's input, as the monitor's stdin frames; the detach keys end the
        // session (the container runs on).
        if want_in {
            if let Ok(mut w) = stream.try_clone() {
                tokio::task::spawn_blocking(move || {
                    let mut esc = engine::attach::Escape::new(&keys);
                    while let Some(chunk) = in_rx.blocking_recv() {
                        let Some(b) = chunk else {
                            // The end of the client's input ends the container's only
                            // for the attacher of its start (`run -i`, `start -ai`:
                            // dockerd's StdinOnce); a later attacher going away leaves
                            // it open for the next one.
                            if created {
                                let _ =
                                    engine::attach::send(&mut w, engine::attach::STDIN_CLOSE, b"");
                            }
                            return;
                        };
                        let data = if tty { esc.feed(&b) } else { Some(b) };
                        match data {
                            Some(d) => {
                                if !d.is_empty()
                                    && engine::attach::send(&mut w, engine::attach::STDIN, &d)
                                        .is_err()
                                {
                                    return;
                                }
                            }
                            None => {
                                let _ = w.shutdown(std::net::Shutdown::Both);
                                return;
                            }
                        }
                    }
                });
            }
        }
        // The engine's frames, read on a blocking thread, become dockerd's.
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
                if out_tx.blocking_send(bytes).is_err() {
                    break;
                }
            }
        });
    });
    let session = crate::hijack::Session {
        out,
        input: want_in.then_some(in_tx),
    };
    Ok(crate::hijack::respond(&mut req, tty, session))
}

/// `POST /containers/{id}/resize?h=&w=`: the container's terminal size.
pub async fn resize(
    State(st): State<crate::State>,
    Path(id): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<StatusCode, ApiError> {
    let (h, w) = size(&q)?;
    st.with_engine(move |eng| {
        let r = eng.get(&id).map_err(crate::containers::no_such(&id))?;
        if !r.state.status.is_active() {
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                format!("Container {} is not running", r.id),
            ));
        }
        let mut s = eng.attach_stream(&r.id)?;
        let mut p = h.to_be_bytes().to_vec();
        p.extend_from_slice(&w.to_be_bytes());
        engine::attach::send(&mut s, engine::attach::RESIZE, &p)
            .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?;
        Ok(StatusCode::OK)
    })
    .await
}

/// `h` and `w` of a resize, as dockerd reads them.
pub(crate) fn size(q: &HashMap<String, String>) -> Result<(u16, u16), ApiError> {
    let get = |k: &str| -> Result<u16, ApiError> {
        let v = q.get(k).map(String::as_str).unwrap_or("");
        v.parse::<u16>().map_err(|_| {
            ApiError::bad_request(format!("strconv.Atoi: parsing \"{v}\": invalid syntax"))
        })
    };
    Ok((get("h")?, get("w")?))
}
