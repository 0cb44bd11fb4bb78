//! Container logs in Docker's json-file format: one JSON object per line,
//! `{"log":"text\n","stream":"stdout","time":"RFC 3339 with nanoseconds"}`, rotated as
//! Docker's `max-size`/`max-file` say (`LOG`, then `LOG.1` the newest of the older ones,
//! up to `LOG.<max-file - 1>`).

use std::fs::File;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// One log entry.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Entry {
    /// The text, with its newline (none for a partial line).
    pub log: String,
    /// `stdout` or `stderr`.
    pub stream: String,
    /// RFC 3339 with nanoseconds.
    pub time: String,
}

/// Docker splits lines longer than this into several entries.
const MAX_LINE: usize = 16 * 1024;

/// When to rotate a log file, and how many files to keep.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Rotation {
    /// Rotate once the file has this many bytes (None: never).
    pub max_size: Option<u64>,
    /// Files kept, the current one included (at least 1: then the file is emptied).
    pub max_file: u32,
}

/// Splits a stream's bytes into lines and appends entries to the log file.
pub struct Writer {
    /// None: the `none` driver, nothing is kept.
    file: Option<File>,
    path: PathBuf,
    rotation: Rotation,
    size: u64,
    partial: [Vec<u8>; 2],
}

/// The rotated files of a log, oldest first (`LOG.2`, `LOG.1`; not `LOG` itself).
pub fn rotated(path: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for i in 1.. {
        let p = numbered(path, i);
        if !p.exists() {
            break;
        }
        out.push(p);
    }
    out.reverse();
    out
}

fn numbered(path: &Path, i: u32) -> PathBuf {
    let mut s = path.as_os_str().to_os_string();
    s.push(format!(".{i}"));
    PathBuf::from(s)
}

impl Writer {
    /// Open (appending) the log file.
    pub fn open(path: &Path) -> std::io::Result<Writer> {
        Self::rotating(path, Rotation::default())
    }

    /// Open (appending) the log file, to be rotated as `rotation` says.
    pub fn rotating(path: &Path, rotation: Rotation) -> std::io::Result<Writer> {
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)?;
        let size = file.metadata()?.len();
        Ok(Writer {
            file: Some(file),
            path: path.to_path_buf(),
            rotation,
            size,
            partial: [Vec::new(), Vec::new()],
        })
    }

    /// A writer that keeps nothing (the `none` log driver).
    pub fn discard() -> Writer {
        Writer {
            file: None,
            path: PathBuf::new(),
            rotation: Rotation::default(),
            size: 0,
            partial: [Vec::new(), Vec::new()],
        }
    }

    /// Append the entries, rotating before one when the file is full (Docker's rule,
    /// entry by entry: a file ends past `max-size` by at most its last entry). The
    /// entries between rotations go in one write.
    fn append(&mut self, entries: Vec<Vec<u8>>) -> std::io::Result<()> {
        if self.file.is_none() {
            return Ok(());
        }
        let mut buf: Vec<u8> = Vec::new();
        for e in entries {
            if self
                .rotation
                .max_size
                .is_some_and(|m| self.size + buf.len() as u64 >= m)
            {
                self.write_out(&mut buf)?;
                self.rotate()?;
            }
            buf.extend(e);
        }
        self.write_out(&mut buf)
    }

    fn write_out(&mut self, buf: &mut Vec<u8>) -> std::io::Result<()> {
        if buf.is_empty() {
            return Ok(());
        }
        if let Some(f) = self.file.as_mut() {
            f.write_all(buf)?;
        }
        self.size += buf.len() as u64;
        buf.clear();
        Ok(())
    }

    fn rotate(&mut self) -> std::io::Result<()> {
        let keep = self.rotation.max_file.max(1);
        if keep == 1 {
            if let Some(f) = self.file.as_ref() {
                f.set_len(0)?;
            }
            self.size = 0;
            return Ok(());
        }
        // LOG.(keep-2) -> LOG.(keep-1), ..., LOG -> LOG.1; the oldest is overwritten.
        for i in (1..keep - 1).rev() {
            let from = numbered(&self.path, i);
            if from.exists() {
                std::fs::rename(&from, numbered(&self.path, i + 1))?;
            }
        }
        std::fs::rename(&self.path, numbered(&self.path, 1))?;
        self.file = Some(
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&self.path)?,
        );
        self.size = 0;
        Ok(())
    }

    /// Add bytes of stream 1 (stdout) or 2 (stderr).
    pub fn write(&mut self, stream: u8, mut data: &[u8]) -> std::io::Result<()> {
        let i = usize::from(stream == 2);
        let mut out = Vec::new();
        while let Some(nl) = data.iter().position(|&b| b == b'\n') {
            self.partial[i].extend_from_slice(&data[..=nl]);
            data = &data[nl + 1..];
            let line = std::mem::take(&mut self.partial[i]);
            out.push(encode(stream, &line));
        }
        self.partial[i].extend_from_slice(data);
        while self.partial[i].len() >= MAX_LINE {
            let rest = self.partial[i].split_off(MAX_LINE);
            let line = std::mem::replace(&mut self.partial[i], rest);
            out.push(encode(stream, &line));
        }
        self.append(out)
    }

    /// Write what is left of unfinished lines (at the container's exit).
    pub fn flush_partial(&mut self) -> std::io::Result<()> {
        let mut out = Vec::new();
        for (i, stream) in [(0usize, 1u8), (1, 2)] {
            let line = std::mem::take(&mut self.partial[i]);
            if !line.is_empty() {
                out.push(encode(stream, &line));
            }
        }
        self.append(out)
    }
}

fn encode(stream: u8, line: &[u8]) -> Vec<u8> {
    let e = Entry {
        log: String::from_utf8_lossy(line).into_owned(),
        stream: if stream == 2 { "stderr" } else { "stdout" }.into(),
        time: crate::time::now_rfc3339(),
    };
    let mut v = serde_json::to_vec(&e).unwrap_or_default();
    v.push(b'\n');
    v
}

/// Read entries from a log file starting at byte `offset`; returns them and the offset
/// after the last complete line.
pub fn read_from(path: &Path, offset: u64) -> std::io::Result<(Vec<Entry>, u64)> {
    match File::open(path) {
        Ok(f) => read_from_file(f, offset),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok((Vec::new(), offset)),
        Err(e) => Err(e),
    }
}

/// [`read_from`] on an open log file (one a follower holds: it stays readable after
/// the container and its log are removed).
pub fn read_from_file(mut f: File, offset: u64) -> std::io::Result<(Vec<Entry>, u64)> {
    use std::io::Seek;
    f.seek(std::io::SeekFrom::Start(offset))?;
    let mut r = BufReader::new(f);
    let mut out = Vec::new();
    let mut pos = offset;
    let mut line = String::new();
    loop {
        line.clear();
        let n = r.read_line(&mut line)?;
        if n == 0 || !line.ends_with('\n') {
            break;
        }
        pos += n as u64;
        if let Ok(e) = serde_json::from_str::<Entry>(&line) {
            out.push(e);
        }
    }
    Ok((out, pos))
}

/// How much [`read_tail`] reads at a time, walking back from the end of the log.
const TAIL_BLOCK: u64 = 64 * 1024;

/// The last `n` entries of a log file and the offset after its last complete line (where
/// a follower goes on with [`read_from`]): what `read_from(path, 0)` followed by keeping
/// the last `n` entries returns, without reading the whole file. It reads blocks
/// backwards from the end and parses only the lines it keeps; a last line without its
/// newline (being written) is left for the follower, a line that is not an entry is
/// skipped and not counted, as `read_from` does.
pub fn read_tail(path: &Path, n: usize) -> std::io::Result<(Vec<Entry>, u64)> {
    read_tail_in_blocks(path, n, TAIL_BLOCK)
}

fn read_tail_in_blocks(path: &Path, n: usize, block: u64) -> std::io::Result<(Vec<Entry>, u64)> {
    use std::os::unix::fs::FileExt;
    let f = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok((Vec::new(), 0)),
        Err(e) => return Err(e),
    };
    let len = f.metadata()?.len();
    // The offset after the last newline, once found.
    let mut end: Option<u64> = None;
    // The start of a line whose beginning is not read yet (it ends at the previous newline).
    let mut carry: Vec<u8> = Vec::new();
    let mut newest_first: Vec<Entry> = Vec::new();
    let mut buf = vec![0u8; usize::try_from(block.min(len)).unwrap_or(0)];
    let mut pos = len;
    while pos > 0 && (end.is_none() || newest_first.len() < n) {
        let start = pos.saturating_sub(block);
        let chunk = &mut buf[..usize::try_from(pos - start).unwrap_or(0)];
        f.read_exact_at(chunk, start)?;
        // The end (exclusive) in `chunk` of the line being assembled.
        let mut hi = chunk.len();
        for i in (0..chunk.len()).rev() {
            if chunk[i] != b'\n' {
                continue;
            }
            if end.is_none() {
                end = Some(start + i as u64 + 1);
            } else if newest_first.len() >= n {
                break;
            } else {
                let mut line = chunk[i + 1..hi].to_vec();
                line.append(&mut carry);
                if let Ok(e) = serde_json::from_slice::<Entry>(&line) {
                    newest_first.push(e);
                    if newest_first.len() >= n {
                        break;
                    }
                }
            }
            hi = i + 1;
        }
        if end.is_some() && newest_first.len() < n {
            let mut head = chunk[..hi].to_vec();
            head.append(&mut carry);
            carry = head;
        }
        pos = start;
    }
    if pos == 0 && newest_first.len() < n && !carry.is_empty() {
        // The file's first line.
        if let Ok(e) = serde_json::from_slice::<Entry>(&carry) {
            newest_first.push(e);
        }
    }
    newest_first.reverse();
    Ok((newest_first, end.unwrap_or(0)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_become_entries() {
        let d = tempfile::tempdir().expect("tempdir");
        let p = d.path().join("log");
        let mut w = Writer::open(&p).expect("open");
        w.write(1, b"hel").expect("write");
        w.write(1, b"lo\nwor").expect("write");
        w.write(2, b"oops\n").expect("write");
        w.flush_partial().expect("flush");
        let (e, end) = read_from(&p, 0).expect("read");
        let logs: Vec<(&str, &str)> = e
            .iter()
            .map(|e| (e.stream.as_str(), e.log.as_str()))
            .collect();
        assert_eq!(
            logs,
            vec![
                ("stdout", "hello\n"),
                ("stderr", "oops\n"),
                ("stdout", "wor")
            ]
        );
        assert_eq!(end, std::fs::metadata(&p).expect("stat").len());
        assert!(crate::time::parse_rfc3339(&e[0].time).is_some());
    }

    /// What `logs --tail n` showed before read_tail: everything, then the last n.
    fn tail_by_reading_all(p: &Path, n: usize) -> (Vec<Entry>, u64) {
        let (mut e, end) = read_from(p, 0).expect("read");
        e.drain(..e.len().saturating_sub(n));
        (e, end)
    }

    /// Every n up to past the end, with blocks smaller than a line, about a line, and
    /// larger than the file.
    fn check_all_tails(p: &Path) {
        let count = read_from(p, 0).expect("read").0.len();
        for block in [1, 7, 64, 100, 333, 4096, TAIL_BLOCK] {
            for n in 0..count + 3 {
                assert_eq!(
                    read_tail_in_blocks(p, n, block).expect("tail"),
                    tail_by_reading_all(p, n),
                    "n {n}, block {block}"
                );
            }
        }
    }

    fn write_lines(p: &Path, lines: &[&str]) {
        let mut w = Writer::open(p).expect("open");
        for l in lines {
            w.write(1, l.as_bytes()).expect("write");
        }
    }

    #[test]
    fn tails_match_reading_everything() {
        let d = tempfile::tempdir().expect("tempdir");
        let p = d.path().join("log");
        let long = "x".repeat(300);
        write_lines(
            &p,
            &[
                "one\n",
                "two\n",
                &format!("{long}\n"),
                "é\n",
                "\n",
                "last\n",
            ],
        );
        check_all_tails(&p);
        let (e, end) = read_tail(&p, 2).expect("tail");
        assert_eq!(
            e.iter().map(|e| e.log.as_str()).collect::<Vec<_>>(),
            ["\n", "last\n"]
        );
        assert_eq!(end, std::fs::metadata(&p).expect("stat").len());
    }

    #[test]
    fn a_last_line_without_newline_is_left_for_the_follower() {
        let d = tempfile::tempdir().expect("tempdir");
        let p = d.path().join("log");
        write_lines(&p, &["a\n", "b\n", "c\n"]);
        let complete = std::fs::metadata(&p).expect("stat").len();
        // Half an entry, as when the monitor is writing one.
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(&p)
            .expect("open");
        f.write_all(br#"{"log":"d\n","stream":"std"#)
            .expect("write");
        check_all_tails(&p);
        let (e, end) = read_tail(&p, 1).expect("tail");
        assert_eq!(e[0].log, "c\n");
        assert_eq!(end, complete);
        let (e, end) = read_tail(&p, 0).expect("tail");
        assert!(e.is_empty());
        assert_eq!(end, complete);
    }

    #[test]
    fn lines_that_are_not_entries_are_not_counted() {
        let d = tempfile::tempdir().expect("tempdir");
        let p = d.path().join("log");
        write_lines(&p, &["a\n", "b\n"]);
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(&p)
            .expect("open");
        f.write_all(b"not json\n\n{}\n").expect("write");
        drop(f);
        write_lines(&p, &["c\n"]);
        check_all_tails(&p);
        let (e, _) = read_tail(&p, 2).expect("tail");
        assert_eq!(
            e.iter().map(|e| e.log.as_str()).collect::<Vec<_>>(),
            ["b\n", "c\n"]
        );
    }

    #[test]
    fn tails_across_many_blocks() {
        let d = tempfile::tempdir().expect("tempdir");
        let p = d.path().join("log");
        let lines: Vec<String> = (0..5000).map(|i| format!("line {i}\n")).collect();
        let refs: Vec<&str> = lines.iter().map(|s| s.as_str()).collect();
        write_lines(&p, &refs);
        assert!(std::fs::metadata(&p).expect("stat").len() > 3 * TAIL_BLOCK);
        for n in [0, 1, 10, 999, 1000, 4999, 5000, 5001, usize::MAX] {
            for block in [97, TAIL_BLOCK] {
                assert_eq!(
                    read_tail_in_blocks(&p, n, block).expect("tail"),
                    tail_by_reading_all(&p, n),
                    "n {n}, block {block}"
                );
            }
        }
        let (e, _) = read_tail(&p, 3).expect("tail");
        assert_eq!(e[0].log, "line 4997\n");
    }

    #[test]
    fn rotation_keeps_max_file_files_of_about_max_size() {
        let d = tempfile::tempdir().expect("tempdir");
        let p = d.path().join("log");
        let mut w = Writer::rotating(
            &p,
            Rotation {
                max_size: Some(300),
                max_file: 3,
            },
        )
        .expect("open");
        for i in 0..50 {
            w.write(1, format!("line {i}\n").as_bytes()).expect("write");
        }
        // Many lines in one read of the pipe rotate entry by entry too.
        let many: String = (50..100).map(|i| format!("line {i}\n")).collect();
        w.write(1, many.as_bytes()).expect("write");
        let old = rotated(&p);
        assert_eq!(old, [d.path().join("log.2"), d.path().join("log.1")]);
        assert!(!d.path().join("log.3").exists());
        for f in old.iter().chain([&p]) {
            let len = std::fs::metadata(f).expect("stat").len();
            // One entry is about 80 bytes: a file ends at most one entry past the limit.
            assert!(len < 300 + 100, "{} is {len} bytes", f.display());
        }
        // The newest lines are in the current file, the order kept across files.
        let mut all = Vec::new();
        for f in old.iter().chain([&p]) {
            all.extend(read_from(f, 0).expect("read").0);
        }
        assert_eq!(all.last().map(|e| e.log.as_str()), Some("line 99\n"));
        let n: Vec<u32> = all
            .iter()
            .filter_map(|e| e.log.trim().strip_prefix("line ")?.parse().ok())
            .collect();
        assert!(n.windows(2).all(|w| w[1] == w[0] + 1), "{n:?}");
        // One file: emptied instead.
        let q = d.path().join("one");
        let mut w = Writer::rotating(
            &q,
            Rotation {
                max_size: Some(200),
                max_file: 1,
            },
        )
        .expect("open");
        for i in 0..50 {
            w.write(2, format!("e {i}\n").as_bytes()).expect("write");
        }
        assert!(rotated(&q).is_empty());
        assert!(std::fs::metadata(&q).expect("stat").len() < 300);
        // `none`: nothing at all.
        let mut w = Writer::discard();
        w.write(1, b"gone\n").expect("write");
        w.flush_partial().expect("flush");
    }

    #[test]
    fn tails_of_empty_missing_and_unfinished_files() {
        let d = tempfile::tempdir().expect("tempdir");
        let p = d.path().join("log");
        assert_eq!(read_tail(&p, 10).expect("missing"), (Vec::new(), 0));
        std::fs::write(&p, b"").expect("write");
        assert_eq!(read_tail(&p, 10).expect("empty"), (Vec::new(), 0));
        std::fs::write(&p, br#"{"log":"x","stream":"stdout","time":""}"#).expect("write");
        assert_eq!(read_tail(&p, 10).expect("no newline"), (Vec::new(), 0));
        check_all_tails(&p);
    }
}
