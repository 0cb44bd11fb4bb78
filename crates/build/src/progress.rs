//! BuildKit's `--progress plain` output: `#N NAME`, the step's output lines prefixed with
//! `#N` and the seconds since it started, then `#N DONE 0.3s`, `#N CACHED` or
//! `#N ERROR: ...`, a blank line between vertices.

use std::io::Write;
use std::time::Instant;

use crate::{Event, Progress};

/// Plain progress into a writer (standard error for `quai build`).
pub struct Plain<W: Write> {
    out: W,
    started: std::collections::HashMap<usize, Instant>,
    /// Bytes of an unfinished output line, per vertex.
    partial: std::collections::HashMap<usize, Vec<u8>>,
}

impl<W: Write> Plain<W> {
    /// Write to `out`.
    pub fn new(out: W) -> Self {
        Plain {
            out,
            started: Default::default(),
            partial: Default::default(),
        }
    }

    fn line(&mut self, vertex: usize, text: &str) {
        let t = self
            .started
            .get(&vertex)
            .map_or(0.0, |s| s.elapsed().as_secs_f64());
        let _ = writeln!(self.out, "#{vertex} {t:.3} {text}");
    }

    fn flush_partial(&mut self, vertex: usize) {
        if let Some(p) = self.partial.remove(&vertex) {
            if !p.is_empty() {
                let s = String::from_utf8_lossy(&p).into_owned();
                self.line(vertex, &s);
            }
        }
    }
}

impl<W: Write> Progress for Plain<W> {
    fn event(&mut self, ev: Event<'_>) {
        match ev {
            Event::Start { vertex, name } => {
                self.started.insert(vertex, Instant::now());
                let _ = writeln!(self.out, "#{vertex} {name}");
            }
            Event::Output { vertex, data } => {
                let mut buf = self.partial.remove(&vertex).unwrap_or_default();
                buf.extend_from_slice(data);
                while let Some(nl) = buf.iter().position(|&b| b == b'\n') {
                    let line: Vec<u8> = buf.drain(..=nl).collect();
                    let s = String::from_utf8_lossy(&line[..line.len() - 1]).into_owned();
                    self.line(vertex, &s);
                }
                self.partial.insert(vertex, buf);
            }
            Event::Log { vertex, text } => {
                let _ = writeln!(self.out, "#{vertex} {text}");
            }
            Event::Cached { vertex } => {
                let _ = writeln!(self.out, "#{vertex} CACHED\n");
            }
            Event::Done { vertex, secs } => {
                self.flush_partial(vertex);
                let _ = writeln!(self.out, "#{vertex} DONE {secs:.1}s\n");
            }
            Event::Failed { vertex, message } => {
                self.flush_partial(vertex);
                let _ = writeln!(self.out, "#{vertex} ERROR: {message}\n");
            }
        }
        let _ = self.out.flush();
    }
}

/// No output (`-q`).
pub struct Quiet;

impl Progress for Quiet {
    fn event(&mut self, _: Event<'_>) {}
}
