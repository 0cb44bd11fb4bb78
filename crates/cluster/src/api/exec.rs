//! `pods/exec` over WebSocket, as kubectl 1.32 speaks it (`v5.channel.k8s.io`, and
//! `v4.channel.k8s.io`): each binary message starts with its channel (0 stdin, 1
//! stdout, 2 stderr, 3 the final `Status`, 4 terminal size, 255 a stream's close in
//! v5); the exit status is told on channel 3 (`NonZeroExitCode` with the code).

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
    let started = {
        let (node, pod, req) = (node.clone(), pod.clone(), req.clone());
        tokio::task::spawn_blocking(move || node.exec(&pod, &req)).await
    };
    let session = match started {
        Ok(Ok(s)) => s,
        other => {
            let msg = match other {
                Ok(Err(e)) => e,
                _ => "the exec could not start".to_string(),
            };
            let st = json!({"metadata": {}, "status": "Failure", "message": msg, "reason": "InternalError"});
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
    let _ = in_tx.send(None);
    let code = match waiter.await {
        Ok(Ok(c)) => c,
        _ => 1,
    };
    for r in readers {
        let _ = r.await;
    }
    if let Some(w) = writer {
        drop(in_tx);
        let _ = w.await;
    }
    let mut b = vec![3u8];
    b.extend(status_of(code, &req.command).to_string().into_bytes());
    let _ = socket.send(Message::Binary(b.into())).await;
    let _ = socket.send(Message::Close(Some(normal()))).await;
}

/// The normal closure (1000): kubectl takes any other as a broken stream.
fn normal() -> axum::extract::ws::CloseFrame {
    axum::extract::ws::CloseFrame {
        code: axum::extract::ws::close_code::NORMAL,
        reason: "".into(),
    }
}

/// Refuse a request that is not a WebSocket upgrade (SPDY is not served).
pub fn not_upgraded() -> ApiError {
    ApiError::new(
        400,
        "BadRequest",
        "Upgrade request required: this server speaks v5.channel.k8s.io and v4.channel.k8s.io over WebSocket",
    )
}
