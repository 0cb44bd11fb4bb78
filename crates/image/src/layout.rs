//! Images in an OCI image layout directory (`oci-layout`, `index.json`, `blobs/sha256/`),
//! each manifest annotated with a name: the builder's `--cache-to type=local` writes its
//! cache entries this way (annotation `io.quai.build.cache-key`), `--cache-from` reads
//! them back. Blobs are copied as they are and checked against their digests on the way in.

use std::path::Path;

use content::Digest;
use serde_json::{json, Value};

use crate::store::{Error, ImageStore, Result, OCI_MANIFEST};

fn io(op: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> Error {
    let path = path.to_path_buf();
    move |source| Error::Io { op, path, source }
}

fn corrupt(what: &'static str, d: &str, m: impl ToString) -> Error {
    Error::Corrupt {
        what,
        digest: d.to_string(),
        message: m.to_string(),
    }
}

impl ImageStore {
    /// Write images into the layout at `dir` (made if missing; entries already there
    /// with other annotations are kept), each manifest annotated `key = value`.
    pub fn write_layout(&self, dir: &Path, key: &str, images: &[(String, Digest)]) -> Result<()> {
        let blobs = dir.join("blobs").join("sha256");
        std::fs::create_dir_all(&blobs).map_err(io("create", &blobs))?;
        let layout = dir.join("oci-layout");
        std::fs::write(&layout, br#"{"imageLayoutVersion":"1.0.0"}"#)
            .map_err(io("write", &layout))?;
        let index_path = dir.join("index.json");
        let mut index: Value = std::fs::read(&index_path)
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_else(|| json!({"schemaVersion": 2, "manifests": []}));
        let mut manifests: Vec<Value> = index["manifests"].as_array().cloned().unwrap_or_default();
        for (value, id) in images {
            self.ensure_blobs(id)?;
            let manifest = self.manifest_of(id)?;
            let mut wanted = vec![manifest.clone(), id.clone()];
            wanted.extend(self.layers(id)?.into_iter().map(|l| l.digest));
            for d in &wanted {
                let to = blobs.join(d.hex());
                if !to.exists() {
                    let tmp = blobs.join(format!(".{}.tmp", d.hex()));
                    std::fs::copy(self.content().path(d), &tmp).map_err(io("copy", &tmp))?;
                    std::fs::rename(&tmp, &to).map_err(io("rename", &to))?;
                }
            }
            let size = self.content().size(&manifest)?;
            manifests.retain(|m| m["annotations"][key] != json!(value));
            manifests.push(json!({
                "mediaType": OCI_MANIFEST,
                "digest": manifest.to_string(),
                "size": size,
                "annotations": {key: value},
            }));
        }
        index["manifests"] = Value::Array(manifests);
        let tmp = dir.join(".index.json.tmp");
        let bytes = serde_json::to_vec(&index).map_err(|e| Error::Conflict(e.to_string()))?;
        std::fs::write(&tmp, bytes).map_err(io("write", &tmp))?;
        std::fs::rename(&tmp, &index_path).map_err(io("rename", &index_path))?;
        Ok(())
    }

    /// Take in the images of the layout at `dir` that carry annotation `key`, as hidden
    /// images; returns (annotation value, image id) for each.
    pub fn read_layout(&mut self, dir: &Path, key: &str) -> Result<Vec<(String, Digest)>> {
        let index_path = dir.join("index.json");
        let index: Value =
            serde_json::from_slice(&std::fs::read(&index_path).map_err(io("read", &index_path))?)
                .map_err(|e| corrupt("layout index", &index_path.display().to_string(), e))?;
        let blob = |d: &Digest| dir.join("blobs").join("sha256").join(d.hex());
        let mut out = Vec::new();
        for m in index["manifests"].as_array().into_iter().flatten() {
            let Some(value) = m["annotations"][key].as_str() else {
                continue;
            };
            let md: Digest = m["digest"]
                .as_str()
                .unwrap_or_default()
                .parse()
                .map_err(|e: content::DigestError| corrupt("layout manifest", value, e))?;
            let bytes = std::fs::read(blob(&md)).map_err(io("read", &blob(&md)))?;
            let manifest: Value = serde_json::from_slice(&bytes)
                .map_err(|e| corrupt("manifest", &md.to_string(), e))?;
            self.content().write_bytes(&bytes, Some(&md))?;
            let config: Digest = manifest["config"]["digest"]
                .as_str()
                .unwrap_or_default()
                .parse()
                .map_err(|e: content::DigestError| corrupt("manifest", &md.to_string(), e))?;
            let mut size = 0;
            let mut digests = vec![config.clone()];
            for l in manifest["layers"].as_array().into_iter().flatten() {
                let d: Digest =
                    l["digest"].as_str().unwrap_or_default().parse().map_err(
                        |e: content::DigestError| corrupt("manifest", &md.to_string(), e),
                    )?;
                size += l["size"].as_u64().unwrap_or(0);
                digests.push(d);
            }
            for d in &digests {
                if !self.content().has(d) {
                    let f = std::fs::File::open(blob(d)).map_err(io("open", &blob(d)))?;
                    self.content().ingest(f, Some(d), None)?;
                }
            }
            let created = self.config(&config)?["created"]
                .as_str()
                .unwrap_or_default()
                .to_string();
            self.record_as(&config, &md, &created, size, None, true)?;
            out.push((value.to_string(), config));
        }
        Ok(out)
    }
}
