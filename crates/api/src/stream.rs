//! Bodies that stream between tokio and the engine's blocking calls, never whole in
//! memory: a request body read as a blocking `Read` (through a small bounded channel,
//! so a client uploading faster than the engine unpacks waits), and a blocking `Write`
//! whose bytes become the response body as they come. The response's status waits for
//! the first bytes: an error found before anything was written is an error status, as
//! dockerd answers; one found later cuts the body short. A client that goes away ends
//! the work: the writer's next write fails, or the reader sees the body's error.
//!
//! The engine work of a stream runs on a thread of its own, not tokio's blocking pool:
//! a copy out of a stopped container mounts its root in a private mount namespace of
//! the calling thread, which must end with that thread.

use std::io::{Read, Write};

use axum::body::{Body, Bytes};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use futures_util::StreamExt;
use tokio::sync::{mpsc, oneshot};

use crate::ApiError;

/// Chunks a response body is sent in.
const CHUNK: usize = 64 * 1024;

/// Request body chunks in flight between the connection and the engine.
const IN_FLIGHT: usize = 8;

/// A request body as a blocking reader. Read it on a thread that may block (not on a
/// tokio worker).
pub(crate) struct BodyReader {
    rx: mpsc::Receiver<Result<Bytes, std::io::Error>>,
    cur: Bytes,
}

/// Read `body` as it arrives, from a blocking thread.
pub(crate) fn body_reader(body: Body) -> BodyReader {
    let (tx, rx) = mpsc::channel(IN_FLIGHT);
    tokio::spawn(async move {
        let mut s = body.into_data_stream();
        while let Some(chunk) = s.next().await {
            let chunk = chunk
                .map_err(|e| std::io::Error::new(std::io::ErrorKind::UnexpectedEof, e.to_string()));
            let failed = chunk.is_err();
            if tx.send(chunk).await.is_err() || failed {
                break;
            }
        }
    });
    BodyReader {
        rx,
        cur: Bytes::new(),
    }
}

impl Read for BodyReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while self.cur.is_empty() {
            match self.rx.blocking_recv() {
                Some(Ok(b)) => self.cur = b,
                Some(Err(e)) => return Err(e),
                None => return Ok(0),
            }
        }
        let n = buf.len().min(self.cur.len());
        buf[..n].copy_from_slice(&self.cur[..n]);
        self.cur = self.cur.slice(n..);
        Ok(n)
    }
}

/// How a streamed response began.
enum Start {
    /// Bytes came (or the work ended without any): the response is a 200 and streams.
    Data,
    /// The work failed before it wrote anything.
    Failed(ApiError),
}

/// A blocking writer into a response body.
pub(crate) struct BodyWriter {
    tx: mpsc::Sender<Result<Vec<u8>, std::io::Error>>,
    buf: Vec<u8>,
    started: Option<oneshot::Sender<Start>>,
}

impl BodyWriter {
    fn send(&mut self) -> std::io::Result<()> {
        if let Some(s) = self.started.take() {
            let _ = s.send(Start::Data);
        }
        let chunk = std::mem::take(&mut self.buf);
        self.tx.blocking_send(Ok(chunk)).map_err(|_| {
            std::io::Error::new(std::io::ErrorKind::BrokenPipe, "the client went away")
        })
    }
}

impl Write for BodyWriter {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.buf.extend_from_slice(b);
        if self.buf.len() >= CHUNK {
            self.send()?;
        }
        Ok(b.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        self.send()
    }
}

/// Run `f` on a thread of its own; its result.
pub(crate) async fn own_thread<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    let (tx, rx) = oneshot::channel();
    std::thread::Builder::new()
        .name("api-engine".into())
        .spawn(move || {
            let _ = tx.send(f());
        })
        .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?;
    rx.await.map_err(|_| {
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "the engine's worker ended without an answer",
        )
    })?
}

/// A response whose body `f` writes, on a thread of its own, with `headers` (the
/// content type among them). An error before the first byte is the response; after
/// it, the body ends early.
pub(crate) async fn streamed(
    headers: HeaderMap,
    f: impl FnOnce(&mut BodyWriter) -> Result<(), ApiError> + Send + 'static,
) -> Result<Response, ApiError> {
    let (tx, rx) = mpsc::channel(4);
    let (stx, srx) = oneshot::channel();
    std::thread::Builder::new()
        .name("api-stream".into())
        .spawn(move || {
            let mut w = BodyWriter {
                tx: tx.clone(),
                buf: Vec::new(),
                started: Some(stx),
            };
            let done = f(&mut w).and_then(|()| {
                w.flush()
                    .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))
            });
            match (done, w.started.take()) {
                (Ok(()), Some(s)) => {
                    let _ = s.send(Start::Data);
                }
                (Err(e), Some(s)) => {
                    let _ = s.send(Start::Failed(e));
                }
                (Ok(()), None) => {}
                // Too late for a status: cut the body short so the client sees it.
                (Err(e), None) => {
                    let _ = tx.blocking_send(Err(std::io::Error::other(e.message().to_string())));
                }
            }
        })
        .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?;
    match srx.await {
        Ok(Start::Data) => Ok((headers, Body::from_stream(receiver_stream(rx))).into_response()),
        Ok(Start::Failed(e)) => Err(e),
        Err(_) => Err(ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "the engine's worker ended without an answer",
        )),
    }
}

/// Headers with just a content type.
pub(crate) fn content_type(t: &'static str) -> HeaderMap {
    let mut h = HeaderMap::new();
    h.insert(header::CONTENT_TYPE, header::HeaderValue::from_static(t));
    h
}

/// A receiver as a stream of body chunks.
pub(crate) fn receiver_stream(
    mut rx: mpsc::Receiver<Result<Vec<u8>, std::io::Error>>,
) -> impl futures_core::Stream<Item = Result<Vec<u8>, std::io::Error>> {
    futures_util::stream::poll_fn(move |cx| rx.poll_recv(cx))
}

/// JSON lines (dockerd's progress streams) sent from a blocking thread.
#[derive(Clone)]
pub(crate) struct Lines {
    tx: mpsc::Sender<Result<Vec<u8>, std::io::Error>>,
}

impl Lines {
    /// A sender, and the response that streams what it sends.
    pub(crate) fn new() -> (Lines, Response) {
        let (tx, rx) = mpsc::channel(64);
        let resp = (
            content_type("application/json"),
            Body::from_stream(receiver_stream(rx)),
        )
            .into_response();
        (Lines { tx }, resp)
    }

    /// Send one line; false once the client has gone away.
    pub(crate) fn send(&self, v: serde_json::Value) -> bool {
        let mut b = v.to_string().into_bytes();
        b.push(b'\n');
        self.tx.blocking_send(Ok(b)).is_ok()
    }

    /// dockerd's in-band error line.
    pub(crate) fn error(&self, message: &str) -> bool {
        self.send(serde_json::json!({"errorDetail": {"message": message}, "error": message}))
    }
}
