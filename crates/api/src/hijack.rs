//! The connection of an attach or an exec start. A client that asks for it
//! (`Upgrade: tcp`, as the docker CLI does) gets `101 Switching Protocols` and the
//! connection both ways: the process's output to the client, the client's input to the
//! process until it half-closes. A client that does not (docker-py without `socket=True`)
//! gets `200` and the output as the response body, dockerd's answer to both.

use axum::body::Body;
use axum::extract::Request;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::mpsc;

/// Input from the client: `Some(bytes)`, then `None` once it has half-closed.
pub(crate) type Input = mpsc::Sender<Option<Vec<u8>>>;

/// One session: the output for the client (framed already when the process has no
/// terminal) and, when the client's input is wanted, where it goes.
pub(crate) struct Session {
    pub out: mpsc::Receiver<Vec<u8>>,
    pub input: Option<Input>,
}

/// Whether the client asked for the connection (`Upgrade: tcp`).
pub(crate) fn upgrade_wanted(req: &Request) -> bool {
    req.headers().contains_key(header::UPGRADE)
}

/// dockerd's content type for the stream.
fn content_type(tty: bool) -> &'static str {
    if tty {
        "application/vnd.docker.raw-stream"
    } else {
        "application/vnd.docker.multiplexed-stream"
    }
}

/// Answer `req` with the session: hijacked when the client asked for it, else the
/// output as the body.
pub(crate) fn respond(req: &mut Request, tty: bool, s: Session) -> Response {
    let Session { mut out, input } = s;
    if !upgrade_wanted(req) {
        // No way for input to arrive: the process sees its end at once.
        if let Some(i) = input {
            let _ = i.try_send(None);
        }
        let chunks = futures_util::stream::poll_fn(move |cx| {
            out.poll_recv(cx)
                .map(|b| b.map(Ok::<Vec<u8>, std::io::Error>))
        });
        let body = Body::from_stream(chunks);
        return ([(header::CONTENT_TYPE, content_type(tty))], body).into_response();
    }
    let upgrade = hyper::upgrade::on(req);
    tokio::spawn(async move {
        let Ok(upgraded) = upgrade.await else {
            return;
        };
        let io = hyper_util::rt::TokioIo::new(upgraded);
        let (mut r, mut w) = tokio::io::split(io);
        let reader = async move {
            let Some(input) = input else {
                return std::future::pending::<()>().await;
            };
            let mut buf = vec![0u8; 32 * 1024];
            loop {
                match r.read(&mut buf).await {
                    Ok(n) if n > 0 => {
                        if input.send(Some(buf[..n].to_vec())).await.is_err() {
                            break;
                        }
                    }
                    _ => {
                        let _ = input.send(None).await;
                        break;
                    }
                }
            }
            // Half-closed: output may still come.
            std::future::pending::<()>().await
        };
        let writer = async move {
            while let Some(b) = out.recv().await {
                if w.write_all(&b).await.is_err() {
                    return;
                }
            }
            let _ = w.shutdown().await;
        };
        // The session ends with its output (or when the client is gone).
        tokio::select! {
            _ = reader => {}
            _ = writer => {}
        }
    });
    Response::builder()
        .status(StatusCode::SWITCHING_PROTOCOLS)
        .header(header::CONNECTION, "Upgrade")
        .header(header::UPGRADE, "tcp")
        .header(header::CONTENT_TYPE, content_type(tty))
        .body(Body::empty())
        .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response())
}
