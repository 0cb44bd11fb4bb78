//! BuildKit's `--progress plain` output: `#N NAME`, the step's output lines prefixed with
//! `#N` and the seconds since it started, then `#N DONE 0.3s`, `#N CACHED` or
//! `#N ERROR: ...`, a blank line between vertices.

use std::io::Write;
use std::time::Instant;

use crate::{Event, Progress};

/// Plain progress into a writer (standard error for `quai build`).
pub struct Plain<W: Write> {
    out: W,
    /// Something was printed (vertices after the first start with a blank line).
    any: bool,
    /// The last output lines of each vertex (BuildKit shows them when a step fails).
    tails: std::collections::HashMap<usize, std::collections::VecDeque<String>>,
    started: std::collections::HashMap<usize, Instant>,
    /// Bytes of an unfinished output line, per vertex.
    partial: std::collections::HashMap<usize, Vec<u8>>,
}

impl<W: Write> Plain<W> {
    /// Write to `out`.
    pub fn new(out: W) -> Self {
        Plain {
            out,
            any: false,
            tails: Default::default(),
            started: Default::default(),
            partial: Default::default(),
        }
    }

    fn line(&mut self, vertex: usize, text: &str) {
        let t = self
            .started
            .get(&vertex)
            .map_or(0.0, |s| s.elapsed().as_secs_f64());
        let line = format!("{t:.3} {text}");
        let _ = writeln!(self.out, "#{vertex} {line}");
        let tail = self.tails.entry(vertex).or_default();
        tail.push_back(line);
        if tail.len() > 6 {
            tail.pop_front();
        }
    }

    /// The last lines a vertex printed (at most 6).
    pub fn tail(&self, vertex: usize) -> Vec<String> {
        self.tails
            .get(&vertex)
            .map(|t| t.iter().cloned().collect())
            .unwrap_or_default()
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
                if self.any {
                    let _ = writeln!(self.out);
                }
                self.any = true;
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
                let _ = writeln!(self.out, "#{vertex} CACHED");
            }
            Event::Done { vertex, secs } => {
                self.flush_partial(vertex);
                let _ = writeln!(self.out, "#{vertex} DONE {secs:.1}s");
            }
            Event::Failed { vertex, message } => {
                self.flush_partial(vertex);
                let _ = writeln!(self.out, "#{vertex} ERROR: {message}");
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
