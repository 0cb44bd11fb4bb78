//! `logs` as a stream: a container's log entries from its json-file log (and the files
//! rotated away from it, oldest first), the last N read from the end, filtered by time,
//! and followed while the container runs, across rotations. The CLI prints them; the
//! Docker API frames them; compose prefixes them.

use std::collections::VecDeque;
use std::path::PathBuf;
use std::time::Duration;

use crate::lifecycle::Engine;
use crate::logs::{read_from, read_from_file, read_tail, rotated, Entry};
use crate::{Error, Result};

/// Which entries a [`Logs`] stream yields.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LogOptions {
    /// Only the last N entries (then `since`/`until` filter those, as Docker does).
    pub tail: Option<usize>,
    /// Only entries at or after this time (Unix nanoseconds).
    pub since: Option<i64>,
    /// Only entries at or before this time (Unix nanoseconds).
    pub until: Option<i64>,
    /// Go on yielding new entries while the container runs.
    pub follow: bool,
}

/// How often a follower looks for new entries.
const FOLLOW_POLL: Duration = Duration::from_millis(100);

/// The entries of one container's log; see [`Engine::logs`].
pub struct Logs<'a> {
    eng: &'a mut Engine,
    id: String,
    path: PathBuf,
    opts: LogOptions,
    offset: u64,
    /// The inode of the file `offset` is in: another one means the log was rotated.
    ino: Option<u64>,
    /// That file, held open by a follower: what the container wrote last is still read
    /// when the container (and its log) is removed right after it exits (`docker run
    /// --rm` of an SDK reads its followed logs after the removal).
    held: Option<std::fs::File>,
    batch: VecDeque<Entry>,
    /// The first read (the tail) is done.
    started: bool,
    /// Nothing more will come.
    ended: bool,
}

impl Entry {
    /// The entry came from the container's stderr.
    pub fn is_stderr(&self) -> bool {
        self.stream == "stderr"
    }

    /// Its time in Unix nanoseconds (0 if the stored time does not parse).
    pub fn nanos(&self) -> i64 {
        crate::time::parse_rfc3339(&self.time).unwrap_or(0)
    }
}

impl Logs<'_> {
    fn keep(&self, e: &Entry) -> bool {
        if self.opts.since.is_none() && self.opts.until.is_none() {
            return true;
        }
        let t = e.nanos();
        !(self.opts.since.is_some_and(|s| t < s) || self.opts.until.is_some_and(|u| t > u))
    }

    fn read(&mut self) -> Result<()> {
        let io = |e| Error::io("read log", self.path.clone(), e);
        let ino = |p: &std::path::Path| {
            use std::os::unix::fs::MetadataExt;
            std::fs::metadata(p).ok().map(|m| m.ino())
        };
        let mut entries = Vec::new();
        if self.started {
            let now = ino(&self.path);
            if now.is_none() && self.held.is_some() {
                let active = self
                    .eng
                    .get(&self.id)
                    .map(|r| r.state.status.is_active())
                    .unwrap_or(false);
                if active {
                    // Between a rotation's rename and the new file: next time.
                    return Ok(());
                }
                // Gone with its container (or going): the rest of the file we hold,
                // then nothing more.
                if let Some(f) = self.held.take() {
                    let (more, _) = read_from_file(f, self.offset).map_err(io)?;
                    entries.extend(more);
                }
                self.ended = true;
                let kept: Vec<Entry> = entries.into_iter().filter(|e| self.keep(e)).collect();
                self.batch.extend(kept);
                return Ok(());
            }
            if self.ino.is_some() && now != self.ino {
                // Rotated since the last read: the rest of the file we were reading (a
                // `LOG.N` now, unless rotated out), the files rotated after it, then the
                // new file from its start.
                let files = rotated(&self.path);
                if let Some(at) = files.iter().position(|f| ino(f) == self.ino) {
                    entries.extend(read_from(&files[at], self.offset).map_err(io)?.0);
                    for f in &files[at + 1..] {
                        entries.extend(read_from(f, 0).map_err(io)?.0);
                    }
                }
                self.offset = 0;
            } else if std::fs::metadata(&self.path).is_ok_and(|m| m.len() < self.offset) {
                // Emptied in place (max-file 1).
                self.offset = 0;
            }
            if now != self.ino || self.held.is_none() {
                self.held = std::fs::File::open(&self.path).ok();
            }
            self.ino = now;
            let (more, offset) = match self.held.as_ref().and_then(|f| f.try_clone().ok()) {
                Some(f) => read_from_file(f, self.offset).map_err(io)?,
                None => read_from(&self.path, self.offset).map_err(io)?,
            };
            entries.extend(more);
            self.offset = offset;
        } else {
            self.started = true;
            self.ino = ino(&self.path);
            if self.opts.follow {
                self.held = std::fs::File::open(&self.path).ok();
            }
            let (cur, offset) = match self.opts.tail {
                Some(n) => read_tail(&self.path, n).map_err(io)?,
                None => read_from(&self.path, 0).map_err(io)?,
            };
            self.offset = offset;
            // Older files, newest first, for what the current one lacks.
            let mut older: Vec<Vec<Entry>> = Vec::new();
            let mut want = self.opts.tail.map(|n| n.saturating_sub(cur.len()));
            for f in rotated(&self.path).into_iter().rev() {
                if want == Some(0) {
                    break;
                }
                let got = match want {
                    Some(n) => read_tail(&f, n).map_err(io)?.0,
                    None => read_from(&f, 0).map_err(io)?.0,
                };
                want = want.map(|n| n.saturating_sub(got.len()));
                older.push(got);
            }
            entries.extend(older.into_iter().rev().flatten());
            entries.extend(cur);
        }
        let kept: Vec<Entry> = entries.into_iter().filter(|e| self.keep(e)).collect();
        self.batch.extend(kept);
        Ok(())
    }
}

impl Iterator for Logs<'_> {
    type Item = Result<Entry>;

    fn next(&mut self) -> Option<Result<Entry>> {
        loop {
            if let Some(e) = self.batch.pop_front() {
                return Some(Ok(e));
            }
            if self.ended {
                return None;
            }
            if self.started {
                if !self.opts.follow
                    || self
                        .opts
                        .until
                        .is_some_and(|u| crate::time::now_nanos() > u)
                {
                    return None;
                }
                // Whether it still runs is asked before the read, so the entries it
                // wrote before it stopped are read once more.
                let running = self
                    .eng
                    .get(&self.id)
                    .map(|r| r.state.status.is_active())
                    .unwrap_or(false);
                if !running {
                    self.ended = true;
                } else {
                    std::thread::sleep(FOLLOW_POLL);
                }
            }
            if let Err(e) = self.read() {
                self.ended = true;
                return Some(Err(e));
            }
        }
    }
}

impl Engine {
    /// A container's log entries, as `docker logs` with these options shows them.
    pub fn logs(&mut self, what: &str, opts: LogOptions) -> Result<Logs<'_>> {
        let rec = self.get(what)?;
        if !rec.config.log_config.keeps_logs() {
            return Err(Error::Invalid(
                "configured logging driver does not support reading".into(),
            ));
        }
        let id = rec.id;
        let path = self.paths.log(&id);
        Ok(Logs {
            eng: self,
            id,
            path,
            opts,
            offset: 0,
            ino: None,
            held: None,
            batch: VecDeque::new(),
            started: false,
            ended: false,
        })
    }
}
