//! `pods/portforward` (`kubectl port-forward`), as kube-apiserver and the kubelet serve
//! it: the `portforward.k8s.io` protocol on SPDY/3, either on a connection upgraded to
//! `SPDY/3.1`, or tunnelled in the binary messages of a WebSocket whose subprotocol is
//! `SPDY/3.1+portforward.k8s.io` (kubectl's default since 1.31).
//!
//! For each forwarded connection the client opens two streams with the same
//! `requestID` and `port`: `streamType: error` and `streamType: data`. The data stream
//! is spliced to a TCP connection to the port inside the pod's network namespace (the
//! node dials it: [`NodeProxy::port_forward`]); a failure is written on the error
//! stream, which kubectl prints. Both streams are closed when the connection ends.

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::http::{header, Request};
use axum::response::Response;
use bytes::BytesMut;
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use tokio::sync::mpsc;

use super::node_proxy::NodeProxy;
use super::spdy::{self, Frame};
use super::status::{ApiError, ApiResult};

/// The protocol's names.
pub const PROTOCOL: &str = "portforward.k8s.io";
pub const WS_PROTOCOL: &str = "SPDY/3.1+portforward.k8s.io";

/// Serve a port-forward request for `pod` on `proxy`'s node: a WebSocket tunnel when the
/// client asks for one, else an upgrade to SPDY/3.1.
pub async fn serve(
    proxy: Arc<dyn NodeProxy>,
    pod: Value,
    req: Request<Body>,
) -> ApiResult<Response> {
    if pod["status"]["phase"] != "Running" {
        return Err(ApiError::bad_request(format!(
            "unable to upgrade connection: pod {} is not running",
            pod["metadata"]["name"].as_str().unwrap_or_default()
        )));
    }
    let headers = req.headers();
    let wants_ws = headers
        .get(header::UPGRADE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("websocket"));
    if wants_ws {
        let (mut parts, _) = req.into_parts();
        use axum::extract::FromRequestParts;
        let ws = WebSocketUpgrade::from_request_parts(&mut parts, &())
            .await
            .map_err(|_| super::exec::not_upgraded())?;
        let offered = parts
            .headers
            .get(header::SEC_WEBSOCKET_PROTOCOL)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        if !offered.split(',').any(|p| p.trim() == WS_PROTOCOL) {
            return Err(ApiError::bad_request(format!(
                "unable to upgrade connection: the port-forward WebSocket protocol is {WS_PROTOCOL}"
            )));
        }
        return Ok(ws
            .protocols([WS_PROTOCOL])
            .on_upgrade(move |socket| tunnel(socket, proxy, pod)));
    }
    if !super::spdy::wants(headers, PROTOCOL) {
        return Err(ApiError::bad_request(
            "unable to upgrade connection: port-forward needs an upgrade to SPDY/3.1 (portforward.k8s.io) or a WebSocket",
        ));
    }
    super::spdy::upgrade(req, PROTOCOL, move |input, out| {
        session(input, out, proxy, pod)
    })
}

/// The SPDY session carried in a WebSocket's binary messages.
async fn tunnel(socket: WebSocket, proxy: Arc<dyn NodeProxy>, pod: Value) {
    use futures_util::{SinkExt, StreamExt};
    let (mut ws_tx, mut ws_rx) = socket.split();
    let (in_tx, in_rx) = mpsc::channel::<Vec<u8>>(64);
    let (out_tx, mut out_rx) = mpsc::channel::<Vec<u8>>(256);
    tokio::spawn(async move {
        while let Some(Ok(m)) = ws_rx.next().await {
            let chunk = match m {
                Message::Binary(b) => b.to_vec(),
                Message::Close(_) => break,
                _ => continue,
            };
            if in_tx.send(chunk).await.is_err() {
                break;
            }
        }
    });
    tokio::spawn(async move {
        while let Some(f) = out_rx.recv().await {
            if ws_tx.send(Message::Binary(f.into())).await.is_err() {
                break;
            }
        }
        let _ = ws_tx.close().await;
    });
    session(in_rx, out_tx, proxy, pod).await;
}

/// One forwarded connection: its streams and the pod side's writer.
#[derive(Default)]
struct Pair {
    error: Option<u32>,
    data: Option<u32>,
    port: u16,
    to_pod: Option<mpsc::Sender<Option<Vec<u8>>>>,
}

/// Run the port-forward protocol over SPDY frames read from `input` (raw bytes in
/// chunks) and written to `out`, until the client goes away.
async fn session(
    mut input: mpsc::Receiver<Vec<u8>>,
    out: mpsc::Sender<Vec<u8>>,
    proxy: Arc<dyn NodeProxy>,
    pod: Value,
) {
    let mut headers = spdy::Headers::default();
    let mut buf = BytesMut::new();
    let mut pairs: HashMap<String, Pair> = HashMap::new();
    // Data stream id -> request id.
    let mut by_stream: HashMap<u32, String> = HashMap::new();
    while let Some(chunk) = input.recv().await {
        buf.extend_from_slice(&chunk);
        while let Some(frame) = spdy::parse(&mut buf) {
            match frame {
                Frame::Control { kind, payload, .. } if kind == spdy::SYN_STREAM => {
                    let id = spdy::stream_of(&payload);
                    let h = match payload.get(10..).map(|b| headers.read(b)) {
                        Some(Ok(h)) => h,
                        _ => {
                            let _ = out.send(spdy::rst(id, 1)).await;
                            continue;
                        }
                    };
                    let get = |k: &str| {
                        h.iter()
                            .find(|(n, _)| n == k)
                            .map(|(_, v)| v.clone())
                            .unwrap_or_default()
                    };
                    match headers.reply(id, &[]) {
                        Ok(f) => {
                            let _ = out.send(f).await;
                        }
                        Err(_) => return,
                    }
                    let request = get("requestid");
                    let port: u16 = get("port").parse().unwrap_or(0);
                    let pair = pairs.entry(request.clone()).or_default();
                    pair.port = port;
                    match get("streamtype").as_str() {
                        "error" => pair.error = Some(id),
                        "data" => {
                            pair.data = Some(id);
                            by_stream.insert(id, request.clone());
                        }
                        _ => {
                            let _ = out.send(spdy::rst(id, 1)).await;
                            continue;
                        }
                    }
                    if let (Some(err), Some(data), None) = (pair.error, pair.data, &pair.to_pod) {
                        let (tx, rx) = mpsc::channel::<Option<Vec<u8>>>(64);
                        pair.to_pod = Some(tx);
                        tokio::spawn(forward(
                            proxy.clone(),
                            pod.clone(),
                            port,
                            (err, data),
                            rx,
                            out.clone(),
                        ));
                    }
                }
                Frame::Control { kind, payload, .. } if kind == spdy::PING => {
                    let _ = out.send(spdy::ping(&payload)).await;
                }
                Frame::Control { kind, .. } if kind == spdy::GOAWAY => return,
                Frame::Control { kind, payload, .. } if kind == spdy::RST_STREAM => {
                    let id = spdy::stream_of(&payload);
                    if let Some(req) = by_stream.remove(&id) {
                        if let Some(p) = pairs.remove(&req) {
                            if let Some(tx) = p.to_pod {
                                let _ = tx.send(None).await;
                            }
                        }
                    }
                }
                Frame::Control { .. } => {}
                Frame::Data {
                    stream,
                    flags,
                    payload,
                } => {
                    let Some(req) = by_stream.get(&stream) else {
                        continue;
                    };
                    let Some(tx) = pairs.get(req).and_then(|p| p.to_pod.clone()) else {
                        continue;
                    };
                    if !payload.is_empty() {
                        let _ = tx.send(Some(payload)).await;
                    }
                    if flags & spdy::FLAG_FIN != 0 {
                        let _ = tx.send(None).await;
                    }
                }
            }
        }
    }
}

/// Splice one forwarded connection: dial the pod's port, then copy both ways; a
/// failure goes on the error stream, as the kubelet reports it.
async fn forward(
    proxy: Arc<dyn NodeProxy>,
    pod: Value,
    port: u16,
    (error, data): (u32, u32),
    mut from_client: mpsc::Receiver<Option<Vec<u8>>>,
    out: mpsc::Sender<Vec<u8>>,
) {
    let p = pod.clone();
    let dialed = tokio::task::spawn_blocking(move || proxy.port_forward(&p, port))
        .await
        .map_err(|e| e.to_string())
        .and_then(|r| r);
    let stream = dialed.and_then(|s| {
        s.set_nonblocking(true).map_err(|e| e.to_string())?;
        tokio::net::TcpStream::from_std(s).map_err(|e| e.to_string())
    });
    let tcp = match stream {
        Ok(t) => t,
        Err(e) => {
            let msg = format!(
                "error forwarding port {port} to pod {}, uid : {e}",
                pod["metadata"]["uid"].as_str().unwrap_or_default()
            );
            let _ = out.send(spdy::data(error, true, msg.as_bytes())).await;
            let _ = out.send(spdy::data(data, true, &[])).await;
            return;
        }
    };
    let (mut rd, mut wr) = tcp.into_split();
    let to_client = out.clone();
    let reader = tokio::spawn(async move {
        let mut buf = vec![0u8; 32 * 1024];
        loop {
            match rd.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    if to_client
                        .send(spdy::data(data, false, &buf[..n]))
                        .await
                        .is_err()
                    {
                        break;
                    }
                }
            }
        }
        let _ = to_client.send(spdy::data(data, true, &[])).await;
    });
    while let Some(Some(chunk)) = from_client.recv().await {
        if wr.write_all(&chunk).await.is_err() {
            break;
        }
    }
    let _ = wr.shutdown().await;
    let _ = reader.await;
    let _ = out.send(spdy::data(error, true, &[])).await;
}
