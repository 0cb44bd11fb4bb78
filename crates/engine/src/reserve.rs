//! Room to remove things on a full disk. A container that fills the filesystem under the
//! root would otherwise lock quai out: SQLite needs a few free pages to record a removal
//! ("database or disk is full"), so nothing could be removed to free space.
//!
//! quai keeps `<root>/reserve`, a preallocated file of [`SIZE`] bytes, made when there is
//! room for it. Removals ([`release_if_low`]) delete it first when the filesystem is
//! nearly full, so their writes to `state.db` find space; the next command that finds room
//! again makes a new one ([`ensure`]). Reading never needs it: SQLite reads in WAL mode
//! write nothing.

use std::path::{Path, PathBuf};

/// The reserve's size.
pub const SIZE: u64 = 8 << 20;
/// Free space below which a removal gives the reserve up.
const LOW: u64 = 16 << 20;

fn path(root: &Path) -> PathBuf {
    root.join("reserve")
}

fn free(root: &Path) -> Option<u64> {
    let s = rustix::fs::statvfs(root).ok()?;
    Some(s.f_bavail.saturating_mul(s.f_frsize))
}

/// Make the reserve if it is missing and the filesystem has room to spare for it.
pub fn ensure(root: &Path) {
    let p = path(root);
    if p.exists() || !root.exists() {
        return;
    }
    if free(root).is_none_or(|f| f < SIZE + 2 * LOW) {
        return;
    }
    let Ok(f) = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&p)
    else {
        return;
    };
    // Allocated blocks, not a sparse file: they are what a full disk gives back.
    if rustix::fs::fallocate(&f, rustix::fs::FallocateFlags::empty(), 0, SIZE).is_err() {
        drop(f);
        let _ = std::fs::remove_file(&p);
    }
}

/// Before a removal: give the reserve up if the filesystem is nearly full.
pub fn release_if_low(root: &Path) {
    if free(root).is_some_and(|f| f < LOW) {
        release(root);
    }
}

/// Give the reserve up (a write found the disk full).
pub fn release(root: &Path) {
    let _ = std::fs::remove_file(path(root));
}
