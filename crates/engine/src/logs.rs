//! Container logs in Docker's json-file format: one JSON object per line,
//! `{"log":"text\n","stream":"stdout","time":"RFC 3339 with nanoseconds"}`.

use std::fs::File;
use std::io::{BufRead, BufReader, Write};
use std::path::Path;

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

/// Splits a stream's bytes into lines and appends entries to the log file.
pub struct Writer {
    file: File,
    partial: [Vec<u8>; 2],
}

impl Writer {
    /// Open (appending) the log file.
    pub fn open(path: &Path) -> std::io::Result<Writer> {
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)?;
        Ok(Writer {
            file,
            partial: [Vec::new(), Vec::new()],
        })
    }

    /// Add bytes of stream 1 (stdout) or 2 (stderr).
    pub fn write(&mut self, stream: u8, mut data: &[u8]) -> std::io::Result<()> {
        let i = usize::from(stream == 2);
        let mut out = Vec::new();
        while let Some(nl) = data.iter().position(|&b| b == b'\n') {
            self.partial[i].extend_from_slice(&data[..=nl]);
            data = &data[nl + 1..];
            let line = std::mem::take(&mut self.partial[i]);
            out.extend(encode(stream, &line));
        }
        self.partial[i].extend_from_slice(data);
        while self.partial[i].len() >= MAX_LINE {
            let rest = self.partial[i].split_off(MAX_LINE);
            let line = std::mem::replace(&mut self.partial[i], rest);
            out.extend(encode(stream, &line));
        }
        if out.is_empty() {
            return Ok(());
        }
        self.file.write_all(&out)
    }

    /// Write what is left of unfinished lines (at the container's exit).
    pub fn flush_partial(&mut self) -> std::io::Result<()> {
        let mut out = Vec::new();
        for (i, stream) in [(0usize, 1u8), (1, 2)] {
            let line = std::mem::take(&mut self.partial[i]);
            if !line.is_empty() {
                out.extend(encode(stream, &line));
            }
        }
        self.file.write_all(&out)
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
    use std::io::Seek;
    let mut f = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok((Vec::new(), offset)),
        Err(e) => return Err(e),
    };
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
}
