//! SPDY/3 framing, as Kubernetes' streaming protocols use it (moby/spdystream): 8-byte
//! frame headers, SYN_STREAM / SYN_REPLY / RST_STREAM / PING / GOAWAY control frames,
//! DATA frames with FIN, and header blocks compressed with one zlib stream per direction
//! primed with SPDY/3's dictionary. spdystream does no flow control, so neither does
//! this side (WINDOW_UPDATE and SETTINGS are read and ignored).

use axum::body::Body;
use axum::http::{header, HeaderMap, HeaderValue, Request, StatusCode};
use axum::response::Response;
use bytes::{Buf, BytesMut};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::mpsc;

use super::status::{ApiError, ApiResult};
use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress, Status};

pub const SYN_STREAM: u16 = 1;
pub const SYN_REPLY: u16 = 2;
pub const RST_STREAM: u16 = 3;
pub const PING: u16 = 6;
pub const GOAWAY: u16 = 7;
pub const FLAG_FIN: u8 = 1;

/// The header names SPDY/3's dictionary lists (each length-prefixed), then its tail.
const DICT_WORDS: &[&str] = &[
    "options",
    "head",
    "post",
    "put",
    "delete",
    "trace",
    "accept",
    "accept-charset",
    "accept-encoding",
    "accept-language",
    "accept-ranges",
    "age",
    "allow",
    "authorization",
    "cache-control",
    "connection",
    "content-base",
    "content-encoding",
    "content-language",
    "content-length",
    "content-location",
    "content-md5",
    "content-range",
    "content-type",
    "date",
    "etag",
    "expect",
    "expires",
    "from",
    "host",
    "if-match",
    "if-modified-since",
    "if-none-match",
    "if-range",
    "if-unmodified-since",
    "last-modified",
    "location",
    "max-forwards",
    "pragma",
    "proxy-authenticate",
    "proxy-authorization",
    "range",
    "referer",
    "retry-after",
    "server",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "user-agent",
    "vary",
    "via",
    "warning",
    "www-authenticate",
    "method",
    "get",
    "status",
    "200 OK",
    "version",
    "HTTP/1.1",
    "url",
    "public",
    "set-cookie",
    "keep-alive",
    "origin",
];
const DICT_TAIL: &str = "100101201202205206300302303304305306307402405406407408409410411412413414415416417502504505203 Non-Authoritative Information204 No Content301 Moved Permanently400 Bad Request401 Unauthorized403 Forbidden404 Not Found500 Internal Server Error501 Not Implemented503 Service UnavailableJan Feb Mar Apr May Jun Jul Aug Sept Oct Nov Dec 00:00:00 Mon, Tue, Wed, Thu, Fri, Sat, Sun, GMTchunked,text/html,image/png,image/jpg,image/gif,application/xml,application/xhtml+xml,text/plain,text/javascript,publicprivatemax-age=gzip,deflate,sdchcharset=utf-8charset=iso-8859-1,utf-,*,enq=0.";

fn dictionary() -> Vec<u8> {
    let mut d = Vec::with_capacity(1423);
    for w in DICT_WORDS {
        d.extend_from_slice(&u32::try_from(w.len()).unwrap_or(0).to_be_bytes());
        d.extend_from_slice(w.as_bytes());
    }
    d.extend_from_slice(DICT_TAIL.as_bytes());
    d
}

/// One frame.
#[derive(Debug)]
pub enum Frame {
    Control {
        kind: u16,
        flags: u8,
        payload: Vec<u8>,
    },
    Data {
        stream: u32,
        flags: u8,
        payload: Vec<u8>,
    },
}

/// The next whole frame in `buf`, if it holds one.
pub fn parse(buf: &mut BytesMut) -> Option<Frame> {
    if buf.len() < 8 {
        return None;
    }
    let len = (usize::from(buf[5]) << 16) | (usize::from(buf[6]) << 8) | usize::from(buf[7]);
    if buf.len() < 8 + len {
        return None;
    }
    let control = buf[0] & 0x80 != 0;
    let first = u32::from_be_bytes([buf[0], buf[1], buf[2], buf[3]]);
    let flags = buf[4];
    buf.advance(8);
    let payload = buf.split_to(len).to_vec();
    Some(if control {
        Frame::Control {
            kind: (first & 0xffff) as u16,
            flags,
            payload,
        }
    } else {
        Frame::Data {
            stream: first & 0x7fff_ffff,
            flags,
            payload,
        }
    })
}

fn header(control: bool, first: u32, flags: u8, len: usize) -> Vec<u8> {
    let mut f = Vec::with_capacity(8 + len);
    let first = if control { first | 0x8000_0000 } else { first };
    f.extend_from_slice(&first.to_be_bytes());
    f.push(flags);
    let l = u32::try_from(len.min(0xff_ffff)).unwrap_or(0);
    f.extend_from_slice(&l.to_be_bytes()[1..]);
    f
}

fn control(kind: u16, flags: u8, payload: &[u8]) -> Vec<u8> {
    let mut f = header(true, (3 << 16) | u32::from(kind), flags, payload.len());
    f.extend_from_slice(payload);
    f
}

/// A DATA frame.
pub fn data(stream: u32, fin: bool, payload: &[u8]) -> Vec<u8> {
    let mut f = header(
        false,
        stream & 0x7fff_ffff,
        if fin { FLAG_FIN } else { 0 },
        payload.len(),
    );
    f.extend_from_slice(payload);
    f
}

/// A PING answered (its id echoed).
pub fn ping(payload: &[u8]) -> Vec<u8> {
    control(PING, 0, payload)
}

/// RST_STREAM with `status` (1: protocol error, 5: cancel).
pub fn rst(stream: u32, status: u32) -> Vec<u8> {
    let mut p = stream.to_be_bytes().to_vec();
    p.extend_from_slice(&status.to_be_bytes());
    control(RST_STREAM, 0, &p)
}

/// The header blocks of one connection: one zlib stream each way.
pub struct Headers {
    inflate: Decompress,
    deflate: Compress,
    dict: Vec<u8>,
    primed: bool,
}

impl Default for Headers {
    fn default() -> Self {
        Headers {
            inflate: Decompress::new(true),
            deflate: Compress::new(Compression::default(), true),
            dict: dictionary(),
            primed: false,
        }
    }
}

impl Headers {
    /// The name/value pairs of a compressed header block.
    pub fn read(&mut self, block: &[u8]) -> Result<Vec<(String, String)>, String> {
        let mut out = Vec::with_capacity(256);
        let mut input = block;
        loop {
            if out.capacity() - out.len() < 256 {
                out.reserve(4096);
            }
            let before = self.inflate.total_in();
            match self
                .inflate
                .decompress_vec(input, &mut out, FlushDecompress::Sync)
            {
                Ok(Status::Ok | Status::BufError | Status::StreamEnd) => {}
                Err(e) if e.needs_dictionary().is_some() => {
                    self.inflate
                        .set_dictionary(&self.dict)
                        .map_err(|e| format!("spdy headers: {e}"))?;
                }
                Err(e) => return Err(format!("spdy headers: {e}")),
            }
            let used = usize::try_from(self.inflate.total_in() - before).unwrap_or(0);
            input = &input[used.min(input.len())..];
            if input.is_empty() && out.capacity() > out.len() {
                break;
            }
        }
        let mut pairs = Vec::new();
        let mut b = out.as_slice();
        let u32_at = |b: &mut &[u8]| -> Result<usize, String> {
            if b.len() < 4 {
                return Err("spdy headers: truncated".into());
            }
            let n = u32::from_be_bytes([b[0], b[1], b[2], b[3]]) as usize;
            *b = &b[4..];
            Ok(n)
        };
        let count = u32_at(&mut b)?;
        for _ in 0..count.min(1024) {
            let field = |b: &mut &[u8]| -> Result<String, String> {
                let n = u32_at(b)?;
                if b.len() < n {
                    return Err("spdy headers: truncated".into());
                }
                let s = String::from_utf8_lossy(&b[..n]).into_owned();
                *b = &b[n..];
                Ok(s)
            };
            let name = field(&mut b)?;
            let value = field(&mut b)?;
            pairs.push((name.to_ascii_lowercase(), value));
        }
        Ok(pairs)
    }

    fn write(&mut self, pairs: &[(&str, &str)]) -> Result<Vec<u8>, String> {
        let mut raw = Vec::new();
        raw.extend_from_slice(&u32::try_from(pairs.len()).unwrap_or(0).to_be_bytes());
        for (n, v) in pairs {
            for s in [n, v] {
                raw.extend_from_slice(&u32::try_from(s.len()).unwrap_or(0).to_be_bytes());
                raw.extend_from_slice(s.as_bytes());
            }
        }
        if !self.primed {
            self.deflate
                .set_dictionary(&self.dict)
                .map_err(|e| format!("spdy headers: {e}"))?;
            self.primed = true;
        }
        let mut out = Vec::with_capacity(raw.len() + 64);
        let mut input = raw.as_slice();
        loop {
            out.reserve(256);
            let before = self.deflate.total_in();
            self.deflate
                .compress_vec(input, &mut out, FlushCompress::Sync)
                .map_err(|e| format!("spdy headers: {e}"))?;
            let used = usize::try_from(self.deflate.total_in() - before).unwrap_or(0);
            input = &input[used.min(input.len())..];
            if input.is_empty() && out.capacity() > out.len() {
                break;
            }
        }
        Ok(out)
    }

    /// SYN_REPLY for `stream` with `pairs`.
    pub fn reply(&mut self, stream: u32, pairs: &[(&str, &str)]) -> Result<Vec<u8>, String> {
        let mut p = stream.to_be_bytes().to_vec();
        p.extend(self.write(pairs)?);
        Ok(control(SYN_REPLY, 0, &p))
    }

    /// SYN_STREAM (a client's, for tests).
    pub fn syn_stream(&mut self, stream: u32, pairs: &[(&str, &str)]) -> Result<Vec<u8>, String> {
        let mut p = stream.to_be_bytes().to_vec();
        p.extend_from_slice(&[0, 0, 0, 0, 0, 0]);
        p.extend(self.write(pairs)?);
        Ok(control(SYN_STREAM, 0, &p))
    }
}

/// Whether a request asks to upgrade to SPDY/3.1 for `protocol` (one of the
/// `X-Stream-Protocol-Version` values it offers).
pub fn wants(headers: &HeaderMap, protocol: &str) -> bool {
    let spdy = headers
        .get(header::UPGRADE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.to_ascii_uppercase().starts_with("SPDY/3.1"));
    spdy && offered(headers).iter().any(|v| v == protocol)
}

/// The `X-Stream-Protocol-Version` values a request offers.
pub fn offered(headers: &HeaderMap) -> Vec<String> {
    headers
        .get_all("X-Stream-Protocol-Version")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|v| v.trim().to_string())
        .collect()
}

/// Switch `req`'s connection to SPDY/3.1 with `protocol` and run `session` on it: the
/// bytes read come in chunks on its receiver, the frames it sends are written.
pub fn upgrade<F, Fut>(mut req: Request<Body>, protocol: &str, session: F) -> ApiResult<Response>
where
    F: FnOnce(mpsc::Receiver<Vec<u8>>, mpsc::Sender<Vec<u8>>) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let upgraded = hyper::upgrade::on(&mut req);
    tokio::spawn(async move {
        let Ok(io) = upgraded.await else { return };
        let io = hyper_util::rt::TokioIo::new(io);
        let (mut rd, mut wr) = tokio::io::split(io);
        let (in_tx, in_rx) = mpsc::channel::<Vec<u8>>(64);
        let (out_tx, mut out_rx) = mpsc::channel::<Vec<u8>>(256);
        tokio::spawn(async move {
            let mut buf = vec![0u8; 32 * 1024];
            while let Ok(n) = rd.read(&mut buf).await {
                if n == 0 || in_tx.send(buf[..n].to_vec()).await.is_err() {
                    break;
                }
            }
        });
        tokio::spawn(async move {
            while let Some(f) = out_rx.recv().await {
                if wr.write_all(&f).await.is_err() {
                    break;
                }
            }
            let _ = wr.shutdown().await;
        });
        session(in_rx, out_tx).await;
    });
    Response::builder()
        .status(StatusCode::SWITCHING_PROTOCOLS)
        .header(header::CONNECTION, HeaderValue::from_static("Upgrade"))
        .header(header::UPGRADE, HeaderValue::from_static("SPDY/3.1"))
        .header("X-Stream-Protocol-Version", protocol)
        .body(Body::empty())
        .map_err(|e| ApiError::internal(e.to_string()))
}

/// The stream id of a SYN_STREAM, SYN_REPLY or RST_STREAM payload.
pub fn stream_of(payload: &[u8]) -> u32 {
    payload.get(..4).map_or(0, |b| {
        u32::from_be_bytes([b[0], b[1], b[2], b[3]]) & 0x7fff_ffff
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_dictionary_is_spdy3s() {
        let d = dictionary();
        assert_eq!(d.len(), 1423);
        assert_eq!(&d[..11], b"\0\0\0\x07options");
        assert!(d.ends_with(b"enq=0."));
    }

    #[test]
    fn header_blocks_round_trip_across_frames_of_one_connection() {
        let mut client = Headers::default();
        let mut server = Headers::default();
        for (id, port) in [(1u32, "8080"), (3, "9090")] {
            let f = client
                .syn_stream(
                    id,
                    &[("streamtype", "data"), ("port", port), ("requestid", "0")],
                )
                .expect("syn");
            let mut buf = BytesMut::from(&f[..]);
            let Some(Frame::Control { kind, payload, .. }) = parse(&mut buf) else {
                panic!("no frame");
            };
            assert_eq!(kind, SYN_STREAM);
            assert_eq!(stream_of(&payload), id);
            let h = server.read(&payload[10..]).expect("headers");
            assert!(h.contains(&("port".to_string(), port.to_string())));
        }
        let mut buf = BytesMut::from(&data(5, true, b"hi")[..]);
        match parse(&mut buf) {
            Some(Frame::Data {
                stream,
                flags,
                payload,
            }) => {
                assert_eq!(
                    (stream, flags, payload.as_slice()),
                    (5, FLAG_FIN, &b"hi"[..])
                );
            }
            other => panic!("{other:?}"),
        }
    }
}
