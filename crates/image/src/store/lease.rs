//! Leases: a writer that puts blobs and layer directories in the store a moment before
//! an image refers to them (a build, a pull) holds one, so that garbage collection in
//! another process spares what it wrote. A lease is a file under `<root>/leases/` that
//! holds its start time and is locked (flock) for as long as its holder lives.

use std::fs::File;
use std::io::{Read, Write};
use std::path::PathBuf;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::{Error, ImageStore, Result};

/// A held lease; dropping it ends it.
#[derive(Debug)]
pub struct Lease {
    path: PathBuf,
    // Held open (and locked) until the lease ends.
    _file: File,
}

impl Drop for Lease {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

impl ImageStore {
    /// Take a lease: what is written from now on survives collection until it ends.
    pub fn lease(&self) -> Result<Lease> {
        let dir = self.root.join("leases");
        std::fs::create_dir_all(&dir).map_err(|source| Error::Io {
            op: "create",
            path: dir.clone(),
            source,
        })?;
        let start = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos();
        let path = dir.join(format!("{}-{start}", std::process::id()));
        let io = |op, source| Error::Io {
            op,
            path: path.clone(),
            source,
        };
        let mut file = File::create(&path).map_err(|e| io("create", e))?;
        file.lock().map_err(|e| io("lock", e))?;
        file.write_all(start.to_string().as_bytes())
            .map_err(|e| io("write", e))?;
        Ok(Lease { path, _file: file })
    }

    /// When the oldest lease still held began (leases whose holder died are removed).
    pub fn oldest_lease(&self) -> Option<SystemTime> {
        let dir = self.root.join("leases");
        let mut oldest: Option<SystemTime> = None;
        for e in std::fs::read_dir(&dir).ok()?.flatten() {
            let Ok(mut f) = File::open(e.path()) else {
                continue;
            };
            if f.try_lock().is_ok() {
                // Nobody holds it: its holder is gone.
                let _ = std::fs::remove_file(e.path());
                continue;
            }
            let mut s = String::new();
            let start = match f
                .read_to_string(&mut s)
                .ok()
                .and_then(|_| s.trim().parse::<u64>().ok())
            {
                Some(nanos) => UNIX_EPOCH + Duration::from_nanos(nanos),
                // Being written right now: it began about now.
                None => SystemTime::now(),
            };
            oldest = Some(oldest.map_or(start, |o| o.min(start)));
        }
        oldest
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn collection_spares_what_a_leaseholder_wrote() {
        let t = tempfile::tempdir().expect("tmp");
        let store = ImageStore::open(t.path()).expect("store");
        let lease = store.lease().expect("lease");
        // Written under the lease, referred to by no image (yet).
        let d = store
            .content()
            .write_bytes(b"a layer not recorded yet", None)
            .expect("blob");
        let layer = t.path().join("layers").join("deadbeef");
        std::fs::create_dir_all(&layer).expect("mkdir");
        store.gc().expect("gc");
        assert!(store.content().has(&d), "the leaseholder's blob went");
        assert!(layer.exists(), "the leaseholder's layer went");
        // Another lease, held elsewhere, is seen while it is held.
        assert!(store.oldest_lease().is_some());
        drop(lease);
        assert!(store.oldest_lease().is_none());
        store.gc().expect("gc");
        assert!(!store.content().has(&d));
        assert!(!layer.exists());
    }
}
