//! gRPC over HTTP/2 (h2) on a hijacked connection, both ways: the service answers
//! BuildKit's control and gateway calls on `/grpc`, and calls the client's file sync on
//! `/session`. A message is framed as a compression flag (always 0 here), its length
//! (4 bytes, big endian) and its protobuf bytes; a call ends with the `grpc-status`
//! (and `grpc-message`) trailers. See gRPC's "PROTOCOL-HTTP2" document.

use bytes::{Buf, Bytes, BytesMut};
use http::{HeaderMap, HeaderValue};

/// gRPC status codes used here.
pub const UNKNOWN: u32 = 2;
pub const INVALID_ARGUMENT: u32 = 3;
pub const NOT_FOUND: u32 = 5;
pub const UNIMPLEMENTED: u32 = 12;
pub const UNAVAILABLE: u32 = 14;

/// A failed call: its status code and message.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{message} (gRPC status {code})")]
pub struct Status {
    pub code: u32,
    pub message: String,
}

impl Status {
    pub fn new(code: u32, message: impl Into<String>) -> Status {
        Status {
            code,
            message: message.into(),
        }
    }
}

impl From<h2::Error> for Status {
    fn from(e: h2::Error) -> Status {
        Status::new(UNAVAILABLE, format!("HTTP/2: {e}"))
    }
}

/// `m` as one gRPC frame.
pub fn frame(m: &impl prost::Message) -> Bytes {
    let len = m.encoded_len();
    let mut b = BytesMut::with_capacity(5 + len);
    b.extend_from_slice(&[0]);
    b.extend_from_slice(&(len as u32).to_be_bytes());
    // Encoding into a buffer with the room reserved cannot fail.
    let _ = m.encode(&mut b);
    b.freeze()
}

/// The largest message taken (fsutil's data packets are 32 KiB; a stat list is small).
const MAX_MESSAGE: usize = 16 * 1024 * 1024;

/// The messages of a request or response body.
pub struct Incoming {
    body: h2::RecvStream,
    buf: BytesMut,
}

impl Incoming {
    pub fn new(body: h2::RecvStream) -> Incoming {
        Incoming {
            body,
            buf: BytesMut::new(),
        }
    }

    /// The next message, `None` at the end of the body.
    pub async fn next<M: prost::Message + Default>(&mut self) -> Result<Option<M>, Status> {
        loop {
            if self.buf.len() >= 5 {
                if self.buf[0] != 0 {
                    return Err(Status::new(
                        UNIMPLEMENTED,
                        "compressed gRPC messages are not accepted",
                    ));
                }
                let len = u32::from_be_bytes([self.buf[1], self.buf[2], self.buf[3], self.buf[4]])
                    as usize;
                if len > MAX_MESSAGE {
                    return Err(Status::new(
                        INVALID_ARGUMENT,
                        format!("gRPC message of {len} bytes is too large"),
                    ));
                }
                if self.buf.len() >= 5 + len {
                    self.buf.advance(5);
                    let msg = self.buf.split_to(len);
                    return M::decode(msg.freeze()).map(Some).map_err(|e| {
                        Status::new(INVALID_ARGUMENT, format!("decode a message: {e}"))
                    });
                }
            }
            match self.body.data().await {
                Some(Ok(chunk)) => {
                    let _ = self.body.flow_control().release_capacity(chunk.len());
                    self.buf.extend_from_slice(&chunk);
                }
                Some(Err(e)) => return Err(e.into()),
                None if self.buf.is_empty() => return Ok(None),
                None => {
                    return Err(Status::new(
                        INVALID_ARGUMENT,
                        "the body ended inside a gRPC message",
                    ))
                }
            }
        }
    }

    /// The trailers' status once the body has ended (a response's).
    pub async fn status(&mut self) -> Result<(), Status> {
        let trailers = self.body.trailers().await?;
        status_of(trailers.as_ref())
    }
}

/// The status that `headers` (trailers, or a trailers-only response) carry; none
/// is taken as a stream that ended cleanly.
pub fn status_of(headers: Option<&HeaderMap>) -> Result<(), Status> {
    let Some(h) = headers else {
        return Ok(());
    };
    let code = h
        .get("grpc-status")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u32>().ok())
        .unwrap_or(0);
    if code == 0 {
        return Ok(());
    }
    let message = h
        .get("grpc-message")
        .and_then(|v| v.to_str().ok())
        .map(percent_decode)
        .unwrap_or_default();
    Err(Status::new(code, message))
}

/// gRPC's percent-encoding of `grpc-message`: printable ASCII but `%` as it is.
fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if (0x20..0x7f).contains(&b) && b != b'%' {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            let hex = |c: u8| (c as char).to_digit(16);
            if let (Some(h), Some(l)) = (hex(b[i + 1]), hex(b[i + 2])) {
                out.push((h * 16 + l) as u8);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn status_headers(st: &Result<(), Status>) -> HeaderMap {
    let mut h = HeaderMap::new();
    let (code, message) = match st {
        Ok(()) => (0, String::new()),
        Err(s) => (s.code, s.message.clone()),
    };
    h.insert("grpc-status", HeaderValue::from(code));
    if !message.is_empty() {
        if let Ok(v) = HeaderValue::from_str(&percent_encode(&message)) {
            h.insert("grpc-message", v);
        }
    }
    h
}

/// The server's side of one call.
pub struct Responder {
    respond: h2::server::SendResponse<Bytes>,
    stream: Option<h2::SendStream<Bytes>>,
}

impl Responder {
    pub fn new(respond: h2::server::SendResponse<Bytes>) -> Responder {
        Responder {
            respond,
            stream: None,
        }
    }

    fn head(status: &Result<(), Status>, trailers_only: bool) -> http::Response<()> {
        let mut r = http::Response::new(());
        r.headers_mut().insert(
            http::header::CONTENT_TYPE,
            HeaderValue::from_static("application/grpc"),
        );
        if trailers_only {
            r.headers_mut().extend(status_headers(status));
        }
        r
    }

    /// Send one message (the response headers first).
    pub fn send(&mut self, m: &impl prost::Message) -> Result<(), Status> {
        if self.stream.is_none() {
            let s = self
                .respond
                .send_response(Self::head(&Ok(()), false), false)?;
            self.stream = Some(s);
        }
        match &mut self.stream {
            Some(s) => s.send_data(frame(m), false).map_err(Status::from),
            None => Err(Status::new(UNKNOWN, "no response stream")),
        }
    }

    /// End the call with `status`.
    pub fn finish(mut self, status: Result<(), Status>) {
        match self.stream.take() {
            Some(mut s) => {
                let _ = s.send_trailers(status_headers(&status));
            }
            None => {
                let _ = self.respond.send_response(Self::head(&status, true), true);
            }
        }
    }

    /// One message and the end: a unary call's answer.
    pub fn reply(mut self, m: Result<impl prost::Message, Status>) {
        match m {
            Ok(m) => {
                let sent = self.send(&m);
                self.finish(sent);
            }
            Err(e) => self.finish(Err(e)),
        }
    }

    /// Resolves when the client resets the call (gives up on it).
    pub async fn reset(&mut self) {
        // Once the headers are out, the stream is the one to ask (the response's
        // `poll_reset` is then an error at once).
        match &mut self.stream {
            Some(s) => {
                let _ = std::future::poll_fn(|cx| s.poll_reset(cx)).await;
            }
            None => {
                let _ = std::future::poll_fn(|cx| self.respond.poll_reset(cx)).await;
            }
        }
    }
}

/// Start a call on a client connection: the stream to send on and the response's
/// messages once its headers have come.
pub async fn call(
    send: &mut h2::client::SendRequest<Bytes>,
    path: &str,
    metadata: &[(&str, String)],
) -> Result<(h2::SendStream<Bytes>, Incoming), Status> {
    let mut req = http::Request::builder()
        .method(http::Method::POST)
        .uri(format!("http://localhost{path}"))
        .header(http::header::CONTENT_TYPE, "application/grpc")
        .header(http::header::TE, "trailers");
    for (k, v) in metadata {
        req = req.header(*k, v.as_str());
    }
    let req = req
        .body(())
        .map_err(|e| Status::new(INVALID_ARGUMENT, format!("request: {e}")))?;
    let mut ready = send.clone().ready().await?;
    let (response, stream) = ready.send_request(req, false)?;
    let response = response.await?;
    if response.status() != http::StatusCode::OK {
        return Err(Status::new(
            UNKNOWN,
            format!("{path}: HTTP status {}", response.status()),
        ));
    }
    // A trailers-only response is an error at once.
    status_of(Some(response.headers()))?;
    Ok((stream, Incoming::new(response.into_body())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_are_framed_and_percent_encoded() {
        let m = crate::buildkit::proto::StatusRequest { r#ref: "ab".into() };
        assert_eq!(&frame(&m)[..], &[0, 0, 0, 0, 4, 10, 2, b'a', b'b']);
        assert_eq!(percent_encode("a%b\né"), "a%25b%0A%C3%A9");
        assert_eq!(percent_decode("a%25b%0A%C3%A9"), "a%b\né");
        assert_eq!(percent_decode("50%"), "50%");
    }
}
