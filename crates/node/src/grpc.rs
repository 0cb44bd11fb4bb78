//! The kubelet's gRPC probe: `grpc.health.v1.Health/Check` over HTTP/2 without TLS
//! (prior knowledge), as the standard gRPC health checking protocol defines it; healthy
//! only when the answer is `SERVING`.

use std::time::Duration;

use bytes::Bytes;

fn code_name(code: &str) -> &'static str {
    match code {
        "1" => "Canceled",
        "2" => "Unknown",
        "3" => "InvalidArgument",
        "4" => "DeadlineExceeded",
        "5" => "NotFound",
        "7" => "PermissionDenied",
        "12" => "Unimplemented",
        "13" => "Internal",
        "14" => "Unavailable",
        "16" => "Unauthenticated",
        _ => "Unknown",
    }
}

fn status_name(s: u64) -> &'static str {
    match s {
        1 => "SERVING",
        2 => "NOT_SERVING",
        3 => "SERVICE_UNKNOWN",
        _ => "UNKNOWN",
    }
}

/// `HealthCheckRequest { string service = 1; }`, framed as one gRPC message.
fn request(service: &str) -> Vec<u8> {
    let mut msg = Vec::new();
    if !service.is_empty() {
        msg.push(0x0a);
        let mut n = service.len();
        loop {
            let b = (n & 0x7f) as u8;
            n >>= 7;
            if n == 0 {
                msg.push(b);
                break;
            }
            msg.push(b | 0x80);
        }
        msg.extend_from_slice(service.as_bytes());
    }
    let mut out = vec![0u8];
    out.extend_from_slice(&u32::try_from(msg.len()).unwrap_or(0).to_be_bytes());
    out.extend(msg);
    out
}

/// The `status` of a framed `HealthCheckResponse` (0 when absent, as proto3 says).
fn response_status(framed: &[u8]) -> Result<u64, String> {
    let body = framed
        .get(5..)
        .ok_or_else(|| "the health check answer is not a gRPC message".to_string())?;
    let mut i = 0;
    let mut status = 0;
    while i < body.len() {
        let key = body[i];
        i += 1;
        let mut v: u64 = 0;
        let mut shift = 0;
        if key & 7 != 0 {
            return Err("the health check answer is not a HealthCheckResponse".into());
        }
        loop {
            let b = *body.get(i).ok_or("a truncated HealthCheckResponse")?;
            i += 1;
            v |= u64::from(b & 0x7f) << shift;
            shift += 7;
            if b & 0x80 == 0 || shift > 63 {
                break;
            }
        }
        if key >> 3 == 1 {
            status = v;
        }
    }
    Ok(status)
}

/// Check `service` ("" for the server) at `ip:port` within `timeout`.
pub fn health_check(ip: &str, port: u16, service: &str, timeout: Duration) -> Result<(), String> {
    let addr = format!("{ip}:{port}");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    rt.block_on(async {
        match tokio::time::timeout(timeout, check(&addr, service)).await {
            Ok(r) => r,
            Err(_) => Err(format!(
                "timeout: health rpc did not complete within {timeout:?}"
            )),
        }
    })
}

async fn check(addr: &str, service: &str) -> Result<(), String> {
    let failed = |e: &dyn std::fmt::Display| format!("failed to connect service {addr:?}: {e}");
    let tcp = tokio::net::TcpStream::connect(addr)
        .await
        .map_err(|e| failed(&e))?;
    let (client, conn) = h2::client::handshake(tcp).await.map_err(|e| failed(&e))?;
    tokio::spawn(async move {
        let _ = conn.await;
    });
    let mut client = client.ready().await.map_err(|e| failed(&e))?;
    let req = http::Request::post(format!("http://{addr}/grpc.health.v1.Health/Check"))
        .header("content-type", "application/grpc")
        .header("te", "trailers")
        .header("user-agent", "kube-probe/1.32")
        .body(())
        .map_err(|e| e.to_string())?;
    let rpc = |e: h2::Error| format!("failed to check health: {e}");
    let (resp, mut send) = client.send_request(req, false).map_err(rpc)?;
    send.send_data(Bytes::from(request(service)), true)
        .map_err(rpc)?;
    let resp = resp.await.map_err(rpc)?;
    let (parts, mut body) = resp.into_parts();
    let mut data = Vec::new();
    while let Some(chunk) = body.data().await {
        let chunk = chunk.map_err(rpc)?;
        let _ = body.flow_control().release_capacity(chunk.len());
        data.extend_from_slice(&chunk);
    }
    let trailers = body.trailers().await.map_err(rpc)?.unwrap_or_default();
    let field = |k: &str| {
        trailers
            .get(k)
            .or_else(|| parts.headers.get(k))
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    let code = field("grpc-status").unwrap_or_else(|| "2".to_string());
    if code != "0" {
        return Err(format!(
            "failed to check health: rpc error: code = {} desc = {}",
            code_name(&code),
            field("grpc-message").unwrap_or_default()
        ));
    }
    match response_status(&data)? {
        1 => Ok(()),
        s => Err(format!(
            "service unhealthy (responded with {:?})",
            status_name(s)
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_and_answers_are_framed_as_grpc_messages() {
        assert_eq!(request(""), [0, 0, 0, 0, 0]);
        assert_eq!(request("db"), [0, 0, 0, 0, 4, 0x0a, 2, b'd', b'b']);
        assert_eq!(response_status(&[0, 0, 0, 0, 2, 0x08, 1]), Ok(1));
        assert_eq!(response_status(&[0, 0, 0, 0, 2, 0x08, 2]), Ok(2));
        assert_eq!(response_status(&[0, 0, 0, 0, 0]), Ok(0));
        assert!(response_status(&[0, 0]).is_err());
    }
}
