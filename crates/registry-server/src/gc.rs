//! `quai registry gc`: remove blobs no manifest of any repository references.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use content::{Digest, Store};

use crate::state::digest_of;
use crate::{Error, Result};

/// Remove from the registry under `root` the blobs that no manifest of any repository
/// references (manifests themselves are kept while a repository lists them).
pub fn gc(root: &Path) -> Result<content::GcReport> {
    let path = root.join("content");
    let store = Store::open(&path).map_err(|source| Error::Store {
        op: "open",
        path: path.clone(),
        source,
    })?;
    let mut keep = HashSet::new();
    let mut revs = Vec::new();
    manifests(&root.join("repos"), &mut revs);
    for r in revs {
        let Some(d) = r.file_name().and_then(|n| {
            format!("sha256:{}", n.to_string_lossy())
                .parse::<Digest>()
                .ok()
        }) else {
            continue;
        };
        if let Ok(bytes) = store.read(&d) {
            let v: serde_json::Value = serde_json::from_slice(&bytes).unwrap_or_default();
            for l in v["layers"]
                .as_array()
                .into_iter()
                .flatten()
                .chain(std::iter::once(&v["config"]))
                .chain(v["manifests"].as_array().into_iter().flatten())
            {
                if let Some(b) = l["digest"].as_str().and_then(digest_of) {
                    keep.insert(b);
                }
            }
            keep.insert(d);
        }
    }
    store.gc(&keep).map_err(|source| Error::Store {
        op: "collect garbage in",
        path,
        source,
    })
}

/// The manifest revision links (`.../_manifests/revisions/<hex>`) under `dir`.
fn manifests(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    for e in rd.flatten() {
        let p = e.path();
        if p.file_name().is_some_and(|n| n == "revisions") {
            if let Ok(r) = std::fs::read_dir(&p) {
                out.extend(r.flatten().map(|e| e.path()));
            }
        } else if p.is_dir() {
            manifests(&p, out);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gc_keeps_what_manifests_name_and_removes_the_rest() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(dir.path().join("content")).expect("store");
        let layer = store.write_bytes(b"layer", None).expect("layer");
        let config = store.write_bytes(b"{}", None).expect("config");
        let orphan = store.write_bytes(b"orphan", None).expect("orphan");
        let manifest = format!(
            r#"{{"schemaVersion":2,"config":{{"digest":"{config}"}},"layers":[{{"digest":"{layer}"}}]}}"#
        );
        let m = store
            .write_bytes(manifest.as_bytes(), None)
            .expect("manifest");
        let rev = dir.path().join("repos/a/b/_manifests/revisions");
        std::fs::create_dir_all(&rev).expect("mkdir");
        std::fs::write(
            rev.join(m.hex()),
            "application/vnd.oci.image.manifest.v1+json",
        )
        .expect("link");
        let report = gc(dir.path()).expect("gc");
        assert_eq!(report.removed, vec![orphan.clone()]);
        for kept in [&layer, &config, &m] {
            assert!(store.has(kept), "{kept} was removed");
        }
        assert!(!store.has(&orphan));
    }
}
