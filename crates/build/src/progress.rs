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

/// BuildKit's live view on a terminal (`--progress tty`, or `auto` on a terminal): a
/// `[+] Building` header and one line per step with its time, the running steps'
/// last output lines under them, redrawn in place.
pub struct Tty<W: Write> {
    out: W,
    t0: Instant,
    steps: Vec<TtyStep>,
    /// Lines drawn last time (to move back over them).
    drawn: usize,
    last_draw: Option<Instant>,
    width: usize,
}

struct TtyStep {
    vertex: usize,
    name: String,
    started: Instant,
    /// `None` while running; then the seconds it took.
    done: Option<f64>,
    cached: bool,
    error: Option<String>,
    logs: std::collections::VecDeque<String>,
    partial: Vec<u8>,
}

impl<W: Write> Tty<W> {
    /// Draw on `out`, `width` columns wide.
    pub fn new(out: W, width: usize) -> Self {
        Tty {
            out,
            t0: Instant::now(),
            steps: Vec::new(),
            drawn: 0,
            last_draw: None,
            width: width.max(40),
        }
    }

    fn step(&mut self, vertex: usize) -> Option<&mut TtyStep> {
        self.steps.iter_mut().find(|s| s.vertex == vertex)
    }

    fn fit(&self, s: &str, right: &str) -> String {
        let room = self.width.saturating_sub(right.chars().count() + 1);
        let mut left: String = s.chars().take(room).collect();
        let pad = room.saturating_sub(left.chars().count());
        left.push_str(&" ".repeat(pad));
        format!("{left} {right}")
    }

    fn draw(&mut self, force: bool) {
        if !force
            && self
                .last_draw
                .is_some_and(|t| t.elapsed().as_millis() < 100)
        {
            return;
        }
        self.last_draw = Some(Instant::now());
        let total = self.steps.len();
        let finished = self.steps.iter().filter(|s| s.done.is_some()).count();
        let mut lines = vec![format!(
            "[+] Building {:.1}s ({finished}/{total})",
            self.t0.elapsed().as_secs_f64()
        )];
        for s in &self.steps {
            let secs = s.done.unwrap_or_else(|| s.started.elapsed().as_secs_f64());
            let right = if s.cached {
                "CACHED".to_string()
            } else if s.error.is_some() {
                "ERROR".to_string()
            } else {
                format!("{secs:.1}s")
            };
            let mut head = format!(" => {}", s.name);
            if s.cached {
                head = format!(" => CACHED {}", s.name);
            }
            lines.push(self.fit(&head, &right));
            if s.done.is_none() || s.error.is_some() {
                for l in &s.logs {
                    lines.push(self.fit(&format!(" => => # {l}"), ""));
                }
            }
        }
        let mut buf = String::new();
        if self.drawn > 0 {
            buf.push_str(&format!("\x1b[{}A", self.drawn));
        }
        for l in &lines {
            buf.push_str("\x1b[2K");
            buf.push_str(l.trim_end());
            buf.push('\n');
        }
        // Lines left over from a taller drawing are cleared.
        for _ in lines.len()..self.drawn {
            buf.push_str("\x1b[2K\n");
        }
        let extra = self.drawn.saturating_sub(lines.len());
        if extra > 0 {
            buf.push_str(&format!("\x1b[{extra}A"));
        }
        self.drawn = lines.len();
        let _ = self.out.write_all(buf.as_bytes());
        let _ = self.out.flush();
    }
}

impl<W: Write> Progress for Tty<W> {
    fn event(&mut self, ev: Event<'_>) {
        let force = match ev {
            Event::Start { vertex, name } => {
                self.steps.push(TtyStep {
                    vertex,
                    name: name.to_string(),
                    started: Instant::now(),
                    done: None,
                    cached: false,
                    error: None,
                    logs: Default::default(),
                    partial: Vec::new(),
                });
                true
            }
            Event::Output { vertex, data } => {
                if let Some(s) = self.step(vertex) {
                    s.partial.extend_from_slice(data);
                    while let Some(nl) = s.partial.iter().position(|&b| b == b'\n') {
                        let line: Vec<u8> = s.partial.drain(..=nl).collect();
                        s.logs.push_back(
                            String::from_utf8_lossy(&line[..line.len() - 1]).into_owned(),
                        );
                        if s.logs.len() > 6 {
                            s.logs.pop_front();
                        }
                    }
                }
                false
            }
            Event::Log { .. } => false,
            Event::Cached { vertex } => {
                if let Some(s) = self.step(vertex) {
                    s.cached = true;
                    s.done = Some(0.0);
                }
                true
            }
            Event::Done { vertex, secs } => {
                if let Some(s) = self.step(vertex) {
                    s.done = Some(secs);
                }
                true
            }
            Event::Failed { vertex, message } => {
                if let Some(s) = self.step(vertex) {
                    s.error = Some(message.to_string());
                    s.done = Some(s.started.elapsed().as_secs_f64());
                }
                true
            }
        };
        self.draw(force);
    }
}

impl<W: Write> Tty<W> {
    /// The last lines a vertex printed (at most 6).
    pub fn tail(&self, vertex: usize) -> Vec<String> {
        self.steps
            .iter()
            .find(|s| s.vertex == vertex)
            .map(|s| s.logs.iter().cloned().collect())
            .unwrap_or_default()
    }
}
