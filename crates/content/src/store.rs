//! The blob store on disk.

use std::collections::HashSet;
use std::fs::File;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use sha2::{Digest as _, Sha256};

use crate::digest::Digest;

/// Result alias.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Content store errors, each naming the blob or path.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A file operation failed.
    #[error("{op} {path}: {source}")]
    Io {
        op: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The bytes do not hash to what was expected.
    #[error("digest mismatch: expected {expected}, got {actual}")]
    DigestMismatch { expected: Digest, actual: Digest },
    /// The bytes are not as long as announced.
    #[error("size mismatch for {digest}: expected {expected} bytes, got {actual}")]
    SizeMismatch {
        digest: String,
        expected: u64,
        actual: u64,
    },
    /// No such blob.
    #[error("blob {0} not found")]
    NotFound(Digest),
}

fn io<'a>(op: &'static str, path: &'a Path) -> impl FnOnce(std::io::Error) -> Error + 'a {
    move |source| Error::Io {
        op,
        path: path.to_path_buf(),
        source,
    }
}

/// The store.
#[derive(Debug, Clone)]
pub struct Store {
    root: PathBuf,
}

/// What garbage collection removed.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct GcReport {
    /// Blobs removed.
    pub removed: Vec<Digest>,
    /// Bytes freed.
    pub bytes: u64,
}

impl Store {
    /// Open (creating) a store under `root`.
    pub fn open(root: impl Into<PathBuf>) -> Result<Store> {
        let root = root.into();
        for d in [root.join("blobs/sha256"), root.join("ingest")] {
            std::fs::create_dir_all(&d).map_err(io("create", &d))?;
        }
        Ok(Store { root })
    }

    /// Where a blob lives.
    pub fn path(&self, d: &Digest) -> PathBuf {
        self.root.join("blobs/sha256").join(d.hex())
    }

    /// Whether the blob is present.
    pub fn has(&self, d: &Digest) -> bool {
        self.path(d).is_file()
    }

    /// Size of a blob.
    pub fn size(&self, d: &Digest) -> Result<u64> {
        match std::fs::metadata(self.path(d)) {
            Ok(m) => Ok(m.len()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(Error::NotFound(d.clone())),
            Err(e) => Err(Error::Io {
                op: "stat",
                path: self.path(d),
                source: e,
            }),
        }
    }

    /// Open a blob for reading.
    pub fn open_blob(&self, d: &Digest) -> Result<File> {
        match File::open(self.path(d)) {
            Ok(f) => Ok(f),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(Error::NotFound(d.clone())),
            Err(e) => Err(Error::Io {
                op: "open",
                path: self.path(d),
                source: e,
            }),
        }
    }

    /// Read a whole blob (manifests, configs).
    pub fn read(&self, d: &Digest) -> Result<Vec<u8>> {
        let mut f = self.open_blob(d)?;
        let mut v = Vec::new();
        f.read_to_end(&mut v).map_err(io("read", &self.path(d)))?;
        Ok(v)
    }

    /// Store `bytes`, checking them against `expected` when given.
    pub fn write_bytes(&self, bytes: &[u8], expected: Option<&Digest>) -> Result<Digest> {
        let d = Digest::of(bytes);
        if let Some(e) = expected {
            if *e != d {
                return Err(Error::DigestMismatch {
                    expected: e.clone(),
                    actual: d,
                });
            }
        }
        if self.has(&d) {
            return Ok(d);
        }
        let mut w = self.writer(None)?;
        w.write_all(bytes).map_err(io("write", &w.path))?;
        w.commit(Some(&d), Some(bytes.len() as u64))
    }

    /// Copy a stream into the store, checking digest and size when given.
    pub fn ingest<R: Read>(
        &self,
        mut r: R,
        expected: Option<&Digest>,
        size: Option<u64>,
    ) -> Result<Digest> {
        if let Some(e) = expected {
            if self.has(e) {
                return Ok(e.clone());
            }
        }
        let mut w = self.writer(expected)?;
        if let Some(e) = expected {
            // Another writer finished it while we waited for the lock.
            if self.has(e) {
                w.abort();
                return Ok(e.clone());
            }
        }
        let mut buf = vec![0u8; 256 * 1024];
        loop {
            let n = match r.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(source) => {
                    return Err(Error::Io {
                        op: "read source for",
                        path: w.path.clone(),
                        source,
                    })
                }
            };
            w.write_all(&buf[..n]).map_err(io("write", &w.path))?;
            if let Some(s) = size {
                if w.written > s {
                    let d = expected.map_or_else(|| "blob".to_string(), Digest::to_string);
                    let actual = w.written;
                    w.abort();
                    return Err(Error::SizeMismatch {
                        digest: d,
                        expected: s,
                        actual,
                    });
                }
            }
        }
        w.commit(expected, size)
    }

    /// A writer for a new blob. With `key` (the expected digest) a partial ingest left by
    /// an interrupted writer is resumed: [`Writer::offset`] tells how much is there.
    pub fn writer(&self, key: Option<&Digest>) -> Result<Writer> {
        let path = match key {
            Some(k) => self
                .root
                .join("ingest")
                .join(format!("{}.partial", k.hex())),
            None => {
                self.root
                    .join("ingest")
                    .join(format!("tmp-{}-{}", std::process::id(), unique()))
            }
        };
        // One writer per key: a second one waits for the first (concurrent pulls). After
        // the wait the file may have been committed (renamed into blobs/): then start over
        // on a fresh file, never append to a committed blob.
        let file = loop {
            let f = std::fs::OpenOptions::new()
                .create(true)
                .read(true)
                .append(true)
                .open(&path)
                .map_err(io("open", &path))?;
            f.lock().map_err(io("lock", &path))?;
            let same = match (f.metadata(), std::fs::metadata(&path)) {
                (Ok(a), Ok(b)) => {
                    use std::os::unix::fs::MetadataExt;
                    a.ino() == b.ino() && a.dev() == b.dev()
                }
                _ => false,
            };
            if same {
                break f;
            }
        };
        let mut hasher = Sha256::new();
        let mut written = 0u64;
        if key.is_some() {
            let mut buf = vec![0u8; 256 * 1024];
            let mut rf = File::open(&path).map_err(io("open", &path))?;
            loop {
                let n = rf.read(&mut buf).map_err(io("read", &path))?;
                if n == 0 {
                    break;
                }
                hasher.update(&buf[..n]);
                written += n as u64;
            }
        }
        Ok(Writer {
            store: self.clone(),
            file,
            path,
            hasher,
            written,
        })
    }

    /// Take the file at `path` (on the store's filesystem) as the blob `expected`: hash it
    /// unless `known` already says what it hashes to, check, sync, rename into place. The
    /// file is consumed either way.
    pub fn adopt(&self, path: &Path, expected: &Digest, known: Option<&Digest>) -> Result<Digest> {
        let actual = match known {
            Some(k) => k.clone(),
            None => {
                let mut f = File::open(path).map_err(io("open", path))?;
                Digest::of_reader(&mut f).map_err(io("read", path))?
            }
        };
        if actual != *expected {
            let _ = std::fs::remove_file(path);
            return Err(Error::DigestMismatch {
                expected: expected.clone(),
                actual,
            });
        }
        if self.has(expected) {
            let _ = std::fs::remove_file(path);
            return Ok(actual);
        }
        File::open(path)
            .and_then(|f| f.sync_data())
            .map_err(io("sync", path))?;
        let dest = self.path(expected);
        std::fs::rename(path, &dest).map_err(io("commit", &dest))?;
        Ok(actual)
    }

    /// Remove a blob (missing is fine).
    pub fn delete(&self, d: &Digest) -> Result<()> {
        match std::fs::remove_file(self.path(d)) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(Error::Io {
                op: "remove",
                path: self.path(d),
                source: e,
            }),
        }
    }

    /// Every blob in the store.
    pub fn list(&self) -> Result<Vec<Digest>> {
        let dir = self.root.join("blobs/sha256");
        let mut v = Vec::new();
        for e in std::fs::read_dir(&dir).map_err(io("read", &dir))? {
            let e = e.map_err(io("read", &dir))?;
            if let Ok(d) = format!("sha256:{}", e.file_name().to_string_lossy()).parse::<Digest>() {
                v.push(d);
            }
        }
        v.sort();
        Ok(v)
    }

    /// Re-hash a blob and compare with its name.
    pub fn verify(&self, d: &Digest) -> Result<()> {
        let mut f = self.open_blob(d)?;
        let mut h = Sha256::new();
        let mut buf = vec![0u8; 256 * 1024];
        loop {
            let n = f.read(&mut buf).map_err(io("read", &self.path(d)))?;
            if n == 0 {
                break;
            }
            h.update(&buf[..n]);
        }
        let actual = Digest::from_hasher(h);
        if actual != *d {
            return Err(Error::DigestMismatch {
                expected: d.clone(),
                actual,
            });
        }
        Ok(())
    }

    /// Remove every blob not in `keep`, and temp files of finished writers.
    pub fn gc(&self, keep: &HashSet<Digest>) -> Result<GcReport> {
        self.gc_sparing(keep, None)
    }

    /// [`gc`](Self::gc), sparing blobs written at or after `since` (a writer's lease
    /// began then: its blobs may not be referred to yet).
    pub fn gc_sparing(
        &self,
        keep: &HashSet<Digest>,
        since: Option<std::time::SystemTime>,
    ) -> Result<GcReport> {
        let mut report = GcReport::default();
        let recent = |d: &Digest| {
            since.is_some_and(|t| {
                std::fs::metadata(self.path(d))
                    .and_then(|m| m.modified())
                    .is_ok_and(|m| m >= t)
            })
        };
        for d in self.list()? {
            if !keep.contains(&d) && !recent(&d) {
                report.bytes += self.size(&d).unwrap_or(0);
                self.delete(&d)?;
                report.removed.push(d);
            }
        }
        // Temp files whose writer is gone (no lock held) are garbage too.
        let ingest = self.root.join("ingest");
        for e in std::fs::read_dir(&ingest)
            .map_err(io("read", &ingest))?
            .flatten()
        {
            if let Ok(f) = File::open(e.path()) {
                if f.try_lock().is_ok() && e.file_name().to_string_lossy().starts_with("tmp-") {
                    let _ = std::fs::remove_file(e.path());
                }
            }
        }
        Ok(report)
    }
}

fn unique() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0);
    t ^ N.fetch_add(1, Ordering::Relaxed).rotate_left(40)
}

/// A blob being written. Dropped without [`Writer::commit`], a keyed writer keeps its
/// partial file for the next attempt; an unkeyed one removes it.
pub struct Writer {
    store: Store,
    file: File,
    path: PathBuf,
    hasher: Sha256,
    written: u64,
}

impl Writer {
    /// Bytes already written (resume offset).
    pub fn offset(&self) -> u64 {
        self.written
    }

    /// Finish: check digest and size, sync, rename into place.
    pub fn commit(mut self, expected: Option<&Digest>, size: Option<u64>) -> Result<Digest> {
        self.file.flush().map_err(io("flush", &self.path))?;
        let actual = Digest::from_hasher(std::mem::take(&mut self.hasher));
        if let Some(s) = size {
            if s != self.written {
                let (p, w) = (self.path.clone(), self.written);
                let _ = std::fs::remove_file(&p);
                return Err(Error::SizeMismatch {
                    digest: actual.to_string(),
                    expected: s,
                    actual: w,
                });
            }
        }
        if let Some(e) = expected {
            if *e != actual {
                let _ = std::fs::remove_file(&self.path);
                return Err(Error::DigestMismatch {
                    expected: e.clone(),
                    actual,
                });
            }
        }
        self.file.sync_data().map_err(io("sync", &self.path))?;
        let dest = self.store.path(&actual);
        std::fs::rename(&self.path, &dest).map_err(io("commit", &dest))?;
        Ok(actual)
    }

    /// Drop the partial data.
    pub fn abort(self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// Start write-back every this many bytes, so the fsync at commit has little left to wait
/// for (sync_file_range(2), SYNC_FILE_RANGE_WRITE only starts I/O).
const WRITEBACK: u64 = 8 * 1024 * 1024;

impl Write for Writer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.file.write(buf)?;
        self.hasher.update(&buf[..n]);
        let before = self.written;
        self.written += n as u64;
        if before / WRITEBACK != self.written / WRITEBACK {
            let start = (self.written / WRITEBACK - 1) * WRITEBACK;
            use std::os::fd::AsRawFd;
            // SAFETY: sync_file_range on our own fd with a valid range; it only starts I/O.
            unsafe {
                libc::sync_file_range(
                    self.file.as_raw_fd(),
                    start as i64,
                    WRITEBACK as i64,
                    libc::SYNC_FILE_RANGE_WRITE,
                )
            };
        }
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.file.flush()
    }
}

impl Drop for Writer {
    fn drop(&mut self) {
        if self
            .path
            .file_name()
            .is_some_and(|n| n.to_string_lossy().starts_with("tmp-"))
        {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ingest_verifies_and_commits() {
        let tmp = tempfile::tempdir().expect("tmp");
        let s = Store::open(tmp.path()).expect("store");
        let d = s
            .ingest(
                &b"layer bytes"[..],
                Some(&Digest::of(b"layer bytes")),
                Some(11),
            )
            .expect("ingest");
        assert!(s.has(&d));
        assert_eq!(s.read(&d).expect("read"), b"layer bytes");
        s.verify(&d).expect("verify");
        // Wrong digest: refused, nothing visible, no temp left.
        let e = s
            .ingest(&b"evil"[..], Some(&Digest::of(b"good")), None)
            .expect_err("mismatch");
        assert!(matches!(e, Error::DigestMismatch { .. }), "{e}");
        assert!(!s.has(&Digest::of(b"evil")));
        // A size that lies.
        let e = s
            .ingest(&b"0123456789"[..], None, Some(4))
            .expect_err("size");
        assert!(e.to_string().contains("expected 4 bytes"), "{e}");
        let e = s
            .ingest(&b"01"[..], Some(&Digest::of(b"01")), Some(4))
            .expect_err("short");
        assert!(matches!(e, Error::SizeMismatch { .. }), "{e}");
        assert_eq!(
            std::fs::read_dir(tmp.path().join("ingest"))
                .expect("dir")
                .count(),
            0
        );
    }

    #[test]
    fn interrupted_ingest_resumes() {
        let tmp = tempfile::tempdir().expect("tmp");
        let s = Store::open(tmp.path()).expect("store");
        let data = vec![7u8; 1_000_000];
        let d = Digest::of(&data);
        {
            let mut w = s.writer(Some(&d)).expect("writer");
            w.write_all(&data[..300_000]).expect("write");
            // Dropped: the "connection" broke.
        }
        assert!(!s.has(&d), "a half blob is visible");
        let mut w = s.writer(Some(&d)).expect("writer");
        assert_eq!(w.offset(), 300_000);
        w.write_all(&data[300_000..]).expect("write");
        assert_eq!(w.commit(Some(&d), Some(1_000_000)).expect("commit"), d);
        s.verify(&d).expect("verify");
    }

    #[test]
    fn gc_keeps_only_referenced() {
        let tmp = tempfile::tempdir().expect("tmp");
        let s = Store::open(tmp.path()).expect("store");
        let a = s.write_bytes(b"a", None).expect("a");
        let b = s.write_bytes(b"bb", None).expect("b");
        let r = s.gc(&HashSet::from([a.clone()])).expect("gc");
        assert_eq!(r.removed, vec![b.clone()]);
        assert_eq!(r.bytes, 2);
        assert!(s.has(&a) && !s.has(&b));
    }

    #[test]
    fn concurrent_writers_of_one_blob_do_not_corrupt_it() {
        let tmp = tempfile::tempdir().expect("tmp");
        let s = Store::open(tmp.path()).expect("store");
        let data: Vec<u8> = (0..2_000_000u32).map(|i| (i % 251) as u8).collect();
        let d = Digest::of(&data);
        let handles: Vec<_> = (0..4)
            .map(|_| {
                let (s, data, d) = (s.clone(), data.clone(), d.clone());
                std::thread::spawn(move || s.ingest(&data[..], Some(&d), Some(data.len() as u64)))
            })
            .collect();
        for h in handles {
            // Each either commits or finds the blob already there; none may corrupt it.
            let _ = h.join().expect("thread");
        }
        s.verify(&d).expect("intact");
    }
}
