//! What the specification tests share: an in-memory file system for the loader.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use compose::load::Fs;

/// Files by absolute path.
pub struct MemFs(pub BTreeMap<PathBuf, String>);

impl Fs for MemFs {
    fn read(&self, p: &Path) -> std::io::Result<String> {
        self.0
            .get(p)
            .cloned()
            .ok_or_else(|| std::io::Error::from(std::io::ErrorKind::NotFound))
    }
    fn exists(&self, p: &Path) -> bool {
        self.0.contains_key(p)
    }
}
