//! A request body read as a blocking `Read` (tar contexts, archives), a chunk at a time:
//! nothing larger than the chunks in flight is held in memory, whatever the body's size.

use axum::body::Body;
use futures_util::StreamExt;

/// The body as a `Read`, for a blocking thread. A client that goes away mid-body is an
/// error on the reader, not a short read.
pub(crate) fn reader(body: Body) -> BodyReader {
    let (tx, rx) = tokio::sync::mpsc::channel::<std::io::Result<axum::body::Bytes>>(8);
    tokio::spawn(async move {
        let mut s = body.into_data_stream();
        while let Some(chunk) = s.next().await {
            let item = chunk.map_err(|e| std::io::Error::new(std::io::ErrorKind::BrokenPipe, e));
            let failed = item.is_err();
            if tx.send(item).await.is_err() || failed {
                return;
            }
        }
    });
    BodyReader {
        rx,
        cur: axum::body::Bytes::new(),
    }
}

/// See [`reader`].
pub(crate) struct BodyReader {
    rx: tokio::sync::mpsc::Receiver<std::io::Result<axum::body::Bytes>>,
    cur: axum::body::Bytes,
}

impl std::io::Read for BodyReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while self.cur.is_empty() {
            match self.rx.blocking_recv() {
                Some(Ok(b)) => self.cur = b,
                Some(Err(e)) => return Err(e),
                // The body ended.
                None => return Ok(0),
            }
        }
        let n = buf.len().min(self.cur.len());
        buf[..n].copy_from_slice(&self.cur[..n]);
        let _ = self.cur.split_to(n);
        Ok(n)
    }
}
