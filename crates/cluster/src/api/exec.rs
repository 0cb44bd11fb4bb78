//! `pods/exec` over WebSocket, as kubectl 1.32 speaks it (`v5.channel.k8s.io`, and
//! `v4.channel.k8s.io`): each binary message starts with its channel (0 stdin, 1
//! stdout, 2 stderr, 3 the final `Status`, 4 terminal size, 255 a stream's close in
//! v5); the exit status is told on channel 3 (`NonZeroExitCode` with the code).
//! Clients without WebSocket get `v4.channel.k8s.io` on SPDY/3.1 instead: a stream per
//! channel (`streamtype` error, stdin, stdout, stderr, resize), the Status last on the
//! error stream.

use std::io::{Read, Write};
use std::sync::Arc;

use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};

use super::node_proxy::{ExecRequest, NodeProxy};
use super::status::{ApiError, ApiResult};

/// The subprotocols served, best first.
const PROTOCOLS: [&str; 2] = ["v5.channel.k8s.io", "v4.channel.k8s.io"];

fn status_of(code: i32, command: &[String]) -> Value {
    if code == 0 {
        return json!({"metadata": {}, "status": "Success"});
    }
    json!({"metadata": {}, "status": "Failure",
           "message": format!("command terminated with non-zero exit code: error executing command [{}], exit code {code}", command.join(" ")),
           "reason": "NonZeroExitCode",
           "details": {"causes": [{"reason": "ExitCode", "message": code.to_string()}]}})
}

/// Answer the upgrade and relay the process's streams.
pub fn serve(
    ws: WebSocketUpgrade,
    node: Arc<dyn NodeProxy>,
    pod: Value,
    req: ExecRequest,
) -> ApiResult<Response> {
    let offered = ws.protocols(PROTOCOLS);
    Ok(offered
        .on_upgrade(move |socket| relay(socket, node, pod, req))
        .into_response())
}

async fn relay(mut socket: WebSocket, node: Arc<dyn NodeProxy>, pod: Value, req: ExecRequest) {
    let v5 = socket.protocol().and_then(|p| p.to_str().ok()) == Some(PROTOCOLS[0]);
    let session = match start(&node, &pod, &req).await {
        Ok(s) => s,
        Err(st) => {
            let mut b = vec![3u8];
            b.extend(st.to_string().into_bytes());
            let _ = socket.send(Message::Binary(b.into())).await;
            let _ = socket.send(Message::Close(Some(normal()))).await;
            return;
        }
    };
    let (out_tx, mut out_rx) = tokio::sync::mpsc::channel::<(u8, Vec<u8>)>(64);
    let mut readers = Vec::new();
    for (ch, f) in [(1u8, session.stdout), (2u8, session.stderr)] {
        let Some(mut f) = f else { continue };
        let tx = out_tx.clone();
        readers.push(tokio::task::spawn_blocking(move || {
            let mut buf = vec![0u8; 32 * 1024];
            loop {
                match f.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => {
                        if tx.blocking_send((ch, buf[..n].to_vec())).is_err() {
                            break;
                        }
                    }
                }
            }
        }));
    }
    drop(out_tx);
    let wait = session.wait;
    let cancel = session.cancel;
    let waiter = tokio::task::spawn_blocking(wait);
    let mut stdin = session.stdin;
    let (in_tx, in_rx) = std::sync::mpsc::channel::<Option<Vec<u8>>>();
    let writer = stdin.take().map(|mut f| {
        tokio::task::spawn_blocking(move || {
            while let Ok(Some(b)) = in_rx.recv() {
                if f.write_all(&b).is_err() {
                    break;
                }
            }
        })
    });
    let mut outputs_done = false;
    loop {
        tokio::select! {
            out = out_rx.recv(), if !outputs_done => match out {
                Some((ch, data)) => {
                    let mut b = Vec::with_capacity(data.len() + 1);
                    b.push(ch);
                    b.extend(data);
                    if socket.send(Message::Binary(b.into())).await.is_err() {
                        break;
                    }
                }
                None => outputs_done = true,
            },
            msg = socket.recv() => match msg {
                Some(Ok(Message::Binary(b))) => match b.first() {
                    Some(0) => { let _ = in_tx.send(Some(b[1..].to_vec())); }
                    Some(255) if v5 && b.get(1) == Some(&0) => { let _ = in_tx.send(None); }
                    _ => {}
                },
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => break,
                _ => {}
            },
        }
        if outputs_done {
            break;
        }
    }
    let code = finish(in_tx, cancel, waiter, readers, writer).await;
    let mut b = vec![3u8];
    b.extend(status_of(code, &req.command).to_string().into_bytes());
    let _ = socket.send(Message::Binary(b.into())).await;
    let _ = socket.send(Message::Close(Some(normal()))).await;
}

/// Start the exec or attach on the node; a failure is the Status to end with.
async fn start(
    node: &Arc<dyn NodeProxy>,
    pod: &Value,
    req: &ExecRequest,
) -> Result<super::node_proxy::ExecSession, Value> {
    let (node, pod, req) = (node.clone(), pod.clone(), req.clone());
    let msg = match tokio::task::spawn_blocking(move || node.run(&pod, &req)).await {
        Ok(Ok(s)) => return Ok(s),
        Ok(Err(e)) => e,
        Err(_) => "the exec could not start".to_string(),
    };
    Err(json!({"metadata": {}, "status": "Failure", "message": msg, "reason": "InternalError"}))
}

/// The end of a session: stdin closed, an attach let go, the exit status waited for,
/// then the output readers and the stdin writer finished.
async fn finish(
    in_tx: std::sync::mpsc::Sender<Option<Vec<u8>>>,
    cancel: Option<Box<dyn FnOnce() + Send>>,
    waiter: tokio::task::JoinHandle<Result<i32, String>>,
    readers: Vec<tokio::task::JoinHandle<()>>,
    writer: Option<tokio::task::JoinHandle<()>>,
) -> i32 {
    let _ = in_tx.send(None);
    if let Some(c) = cancel {
        c();
    }
    let code = match waiter.await {
        Ok(Ok(c)) => c,
        _ => 1,
    };
    for r in readers {
        let _ = r.await;
    }
    drop(in_tx);
    if let Some(w) = writer {
        let _ = w.await;
    }
    code
}

/// The normal closure (1000): kubectl takes any other as a broken stream.
fn normal() -> axum::extract::ws::CloseFrame {
    axum::extract::ws::CloseFrame {
        code: axum::extract::ws::close_code::NORMAL,
        reason: "".into(),
    }
}

/// Refuse a request that is neither a WebSocket upgrade nor a SPDY/3.1 one.
pub fn not_upgraded() -> ApiError {
    ApiError::new(
        400,
        "BadRequest",
        "Upgrade request required: this server speaks v5.channel.k8s.io and v4.channel.k8s.io over WebSocket, and v4.channel.k8s.io over SPDY/3.1",
    )
}

/// The remote command protocol over SPDY, for clients that do not speak WebSocket
/// (kubectl before 1.30, client-go's SPDY executor, kubectl with
/// `KUBECTL_REMOTE_COMMAND_WEBSOCKETS=false`).
const SPDY_PROTOCOL: &str = "v4.channel.k8s.io";

/// Serve `pods/exec` on the request's own upgrade: SPDY/3.1 when asked, else WebSocket.
pub async fn serve_any(
    mut parts: axum::http::request::Parts,
    body: axum::body::Body,
    node: Arc<dyn NodeProxy>,
    pod: Value,
    req: ExecRequest,
) -> ApiResult<Response> {
    if super::spdy::wants(&parts.headers, SPDY_PROTOCOL) {
        let request = axum::http::Request::from_parts(parts, body);
        return super::spdy::upgrade(request, SPDY_PROTOCOL, move |input, out| {
            spdy_session(input, out, node, pod, req)
        });
    }
    use axum::extract::FromRequestParts;
    let ws = WebSocketUpgrade::from_request_parts(&mut parts, &())
        .await
        .map_err(|_| not_upgraded())?;
    serve(ws, node, pod, req)
}

/// The streams a request expects: error always, and stdin, stdout, stderr (not with
/// a terminal) and resize (with one) as asked.
fn expected(req: &ExecRequest) -> Vec<&'static str> {
    let mut v = vec!["error"];
    if req.stdin {
        v.push("stdin");
    }
    if req.stdout {
        v.push("stdout");
    }
    if req.stderr && !req.tty {
        v.push("stderr");
    }
    if req.tty {
        v.push("resize");
    }
    v
}

async fn spdy_session(
    mut input: tokio::sync::mpsc::Receiver<Vec<u8>>,
    out: tokio::sync::mpsc::Sender<Vec<u8>>,
    node: Arc<dyn NodeProxy>,
    pod: Value,
    req: ExecRequest,
) {
    use super::spdy::{self, Frame};
    let mut headers = spdy::Headers::default();
    let mut buf = bytes::BytesMut::new();
    let mut streams: std::collections::HashMap<String, u32> = Default::default();
    let want = expected(&req);
    // The client opens its streams first; frames after them stay in `buf`.
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(30);
    let mut pending: Vec<Frame> = Vec::new();
    while !want.iter().all(|w| streams.contains_key(*w)) {
        let chunk = match tokio::time::timeout_at(deadline, input.recv()).await {
            Ok(Some(c)) => c,
            _ => return,
        };
        buf.extend_from_slice(&chunk);
        while let Some(frame) = spdy::parse(&mut buf) {
            match frame {
                Frame::Control { kind, payload, .. } if kind == spdy::SYN_STREAM => {
                    let id = spdy::stream_of(&payload);
                    let Some(Ok(h)) = payload.get(10..).map(|b| headers.read(b)) else {
                        return;
                    };
                    let Ok(reply) = headers.reply(id, &[]) else {
                        return;
                    };
                    let _ = out.send(reply).await;
                    if let Some((_, t)) = h.iter().find(|(n, _)| n == "streamtype") {
                        streams.insert(t.clone(), id);
                    }
                }
                other => pending.push(other),
            }
        }
    }
    let id = |t: &str| streams.get(t).copied();
    let error = id("error").unwrap_or(0);
    let session = match start(&node, &pod, &req).await {
        Ok(s) => s,
        Err(st) => {
            let _ = out
                .send(spdy::data(error, true, st.to_string().as_bytes()))
                .await;
            return;
        }
    };
    let (done_tx, mut done_rx) = tokio::sync::mpsc::channel::<()>(4);
    let mut readers = Vec::new();
    for (t, f) in [("stdout", session.stdout), ("stderr", session.stderr)] {
        let (Some(mut f), Some(sid)) = (f, id(t)) else {
            continue;
        };
        let (tx, done) = (out.clone(), done_tx.clone());
        readers.push(tokio::task::spawn_blocking(move || {
            let mut b = vec![0u8; 32 * 1024];
            loop {
                match f.read(&mut b) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => {
                        if tx.blocking_send(spdy::data(sid, false, &b[..n])).is_err() {
                            break;
                        }
                    }
                }
            }
            let _ = tx.blocking_send(spdy::data(sid, true, &[]));
            drop(done);
        }));
    }
    drop(done_tx);
    let waiter = tokio::task::spawn_blocking(session.wait);
    let cancel = session.cancel;
    let (in_tx, in_rx) = std::sync::mpsc::channel::<Option<Vec<u8>>>();
    let writer = session.stdin.map(|mut f| {
        tokio::task::spawn_blocking(move || {
            while let Ok(Some(b)) = in_rx.recv() {
                if f.write_all(&b).is_err() {
                    break;
                }
            }
        })
    });
    let stdin = id("stdin");
    let handle = |frame: Frame, out: &tokio::sync::mpsc::Sender<Vec<u8>>| -> Option<Vec<u8>> {
        match frame {
            Frame::Data {
                stream,
                flags,
                payload,
            } if Some(stream) == stdin => {
                if !payload.is_empty() {
                    let _ = in_tx.send(Some(payload));
                }
                if flags & spdy::FLAG_FIN != 0 {
                    let _ = in_tx.send(None);
                }
                None
            }
            Frame::Control { kind, payload, .. } if kind == spdy::PING => {
                let _ = out;
                Some(spdy::ping(&payload))
            }
            _ => None,
        }
    };
    for f in pending {
        if let Some(reply) = handle(f, &out) {
            let _ = out.send(reply).await;
        }
    }
    loop {
        tokio::select! {
            d = done_rx.recv() => if d.is_none() { break },
            chunk = input.recv() => match chunk {
                Some(c) => {
                    buf.extend_from_slice(&c);
                    while let Some(frame) = spdy::parse(&mut buf) {
                        if let Some(reply) = handle(frame, &out) {
                            let _ = out.send(reply).await;
                        }
                    }
                }
                None => break,
            },
        }
    }
    let code = finish(in_tx, cancel, waiter, readers, writer).await;
    let st = status_of(code, &req.command);
    let _ = out
        .send(spdy::data(error, true, st.to_string().as_bytes()))
        .await;
}
