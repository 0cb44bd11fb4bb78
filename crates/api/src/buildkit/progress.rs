//! The builder's events as BuildKit's `SolveStatus` messages (the `Status` stream that
//! buildx's progress display reads): a vertex per step, each update carrying the
//! whole vertex again (the display keeps the last one it got), and a step's output as
//! its logs.

use std::collections::HashMap;
use std::hash::{Hash, Hasher};

use tokio::sync::mpsc;

use super::proto::{StatusResponse, Timestamp, Vertex, VertexLog};

pub struct StatusProgress {
    tx: Option<mpsc::UnboundedSender<StatusResponse>>,
    /// Tells this build's vertices from another's in the client's display.
    salt: u64,
    vertices: HashMap<usize, Vertex>,
}

impl StatusProgress {
    pub fn new(build_id: &str, tx: Option<mpsc::UnboundedSender<StatusResponse>>) -> Self {
        let mut h = std::collections::hash_map::DefaultHasher::new();
        build_id.hash(&mut h);
        StatusProgress {
            tx,
            salt: h.finish(),
            vertices: HashMap::new(),
        }
    }

    fn digest(&self, v: usize) -> String {
        format!("sha256:{:016x}{:048x}", self.salt, v)
    }

    fn send(&self, m: StatusResponse) {
        if let Some(tx) = &self.tx {
            let _ = tx.send(m);
        }
    }

    fn vertex(&mut self, v: usize, f: impl FnOnce(&mut Vertex)) {
        let digest = self.digest(v);
        let e = self.vertices.entry(v).or_insert_with(|| Vertex {
            digest,
            ..Default::default()
        });
        f(e);
        if e.started.is_none() {
            e.started = Some(Timestamp::now());
        }
        let m = StatusResponse {
            vertexes: vec![e.clone()],
            logs: Vec::new(),
        };
        self.send(m);
    }

    fn log(&mut self, v: usize, text: &str) {
        let mut msg = text.as_bytes().to_vec();
        if !msg.ends_with(b"\n") {
            msg.push(b'\n');
        }
        self.output(v, msg);
    }

    fn output(&mut self, v: usize, msg: Vec<u8>) {
        let m = StatusResponse {
            vertexes: Vec::new(),
            logs: vec![VertexLog {
                vertex: self.digest(v),
                timestamp: Some(Timestamp::now()),
                stream: 1,
                msg,
            }],
        };
        self.send(m);
    }

    fn end(&mut self, v: usize) {
        self.vertex(v, |x| x.completed = Some(Timestamp::now()));
    }

    fn fail(&mut self, v: usize, message: &str) {
        self.vertex(v, |x| {
            x.completed = Some(Timestamp::now());
            x.error = message.to_string();
        });
    }
}

impl build::Progress for StatusProgress {
    fn event(&mut self, ev: build::Event<'_>) {
        match ev {
            build::Event::Start { vertex, name } => self.vertex(vertex, |x| {
                x.name = name.to_string();
                x.started = Some(Timestamp::now());
            }),
            build::Event::Output { vertex, data } => self.output(vertex, data.to_vec()),
            build::Event::Log { vertex, text } => self.log(vertex, text),
            // BuildKit's cached vertex is complete too.
            build::Event::Cached { vertex } => self.vertex(vertex, |x| {
                x.cached = true;
                x.completed = Some(Timestamp::now());
            }),
            build::Event::Done { vertex, .. } => self.end(vertex),
            build::Event::Failed { vertex, message } => self.fail(vertex, message),
        }
    }
}
