//! Making images here rather than receiving them: a layer tar taken in as a blob, and an
//! image written from its config and its layers (`import`, `commit`, the builder).

use std::io::Read;

use content::Digest;
use serde_json::{json, Value};

use super::{Error, ImageStore, Result, OCI_CONFIG, OCI_LAYER_TAR, OCI_MANIFEST};
use crate::reference::Reference;

/// A layer as a manifest lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LayerDesc {
    /// Its media type (compressed or not).
    pub media_type: String,
    /// The blob's digest (the diff id too when it is uncompressed).
    pub digest: Digest,
    /// The blob's size.
    pub size: u64,
}

/// A reader that also writes what it reads to `copy` (and stops copying if that fails).
struct Tee<R: Read> {
    inner: R,
    copy: Option<std::io::PipeWriter>,
}

impl<R: Read> Read for Tee<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        if n == 0 {
            self.copy = None;
        } else if let Some(w) = &mut self.copy {
            if std::io::Write::write_all(w, &buf[..n]).is_err() {
                self.copy = None;
            }
        }
        Ok(n)
    }
}

fn corrupt(what: &'static str, d: &Digest) -> impl Fn(String) -> Error {
    let digest = d.to_string();
    move |message| Error::Corrupt {
        what,
        digest: digest.clone(),
        message,
    }
}

impl ImageStore {
    /// An image's layers as its manifest lists them, bottom first.
    pub fn layers(&self, id: &Digest) -> Result<Vec<LayerDesc>> {
        let md = self.manifest_of(id)?;
        let m: Value = serde_json::from_slice(&self.content.read(&md)?)
            .map_err(|e| corrupt("manifest", &md)(e.to_string()))?;
        m["layers"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|l| {
                let digest =
                    l["digest"].as_str().unwrap_or_default().parse().map_err(
                        |e: content::DigestError| corrupt("manifest", &md)(e.to_string()),
                    )?;
                Ok(LayerDesc {
                    media_type: l["mediaType"].as_str().unwrap_or(OCI_LAYER_TAR).to_string(),
                    digest,
                    size: l["size"].as_u64().unwrap_or(0),
                })
            })
            .collect()
    }

    /// Take in an uncompressed layer tar as a blob (its digest is its diff id).
    pub fn add_layer(&self, tar: impl Read) -> Result<LayerDesc> {
        let digest = self.content.ingest(tar, None, None)?;
        Ok(LayerDesc {
            media_type: OCI_LAYER_TAR.into(),
            size: self.content.size(&digest)?,
            digest,
        })
    }

    /// [`add_layer`](Self::add_layer), unpacking the tar at the same time (on another
    /// thread, as it streams by) into the layer directory it will have on top of
    /// `parent_diff_ids`: the first container that uses it finds it ready.
    pub fn add_layer_unpacked(
        &self,
        parent_diff_ids: &[Digest],
        tar: impl Read,
    ) -> Result<LayerDesc> {
        let (pipe_r, pipe_w) = std::io::pipe().map_err(|source| Error::Io {
            op: "pipe for",
            path: self.root.clone(),
            source,
        })?;
        let tmp = self.root.join("layers").join(format!(
            ".tmp-build-{}-{}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos())
        ));
        let data = tmp.join("fs");
        std::fs::create_dir_all(&data).map_err(|source| Error::Io {
            op: "create",
            path: data.clone(),
            source,
        })?;
        let unpacker = {
            let data = data.clone();
            // If the unpacker stops early, its end of the pipe closes and the tee stops
            // copying; the blob is what counts.
            std::thread::spawn(move || crate::layer::unpack(pipe_r, &data))
        };
        let tee = Tee {
            inner: tar,
            copy: Some(pipe_w),
        };
        let added = self.add_layer(tee);
        let unpacked = unpacker.join();
        let layer = match added {
            Ok(l) => l,
            Err(e) => {
                let _ = std::fs::remove_dir_all(&tmp);
                return Err(e);
            }
        };
        let mut diffs = parent_diff_ids.to_vec();
        diffs.push(layer.digest.clone());
        let chain = crate::store::chain_ids(&diffs)
            .pop()
            .expect("a chain of at least one layer");
        let dir = self.root.join("layers").join(chain.hex());
        let ok = matches!(unpacked, Ok(Ok(_)));
        // Only a complete unpacking takes the layer's place; otherwise the first use
        // unpacks it from the blob as usual.
        if ok && !dir.join(".done").exists() && std::fs::write(tmp.join(".done"), b"").is_ok() {
            if std::fs::rename(&tmp, &dir).is_err() {
                let _ = std::fs::remove_dir_all(&tmp);
            }
        } else {
            let _ = std::fs::remove_dir_all(&tmp);
        }
        Ok(layer)
    }

    /// Make `dir` (an overlay upper directory holding exactly `layer`'s changes, in the
    /// unpacked form: overlay whiteouts) the unpacked directory of `layer` on top of
    /// `parent_diff_ids`, by renaming it. Returns whether it did (false if that layer is
    /// already unpacked or the rename failed; `dir` is then left where it was).
    pub fn adopt_layer_dir(
        &self,
        parent_diff_ids: &[Digest],
        layer: &Digest,
        dir: &std::path::Path,
    ) -> bool {
        let mut diffs = parent_diff_ids.to_vec();
        diffs.push(layer.clone());
        let Some(chain) = crate::store::chain_ids(&diffs).pop() else {
            return false;
        };
        let target = self.root.join("layers").join(chain.hex());
        if target.join(".done").exists() {
            return false;
        }
        let tmp = self.root.join("layers").join(format!(
            ".tmp-adopt-{}-{}",
            chain.hex(),
            std::process::id()
        ));
        let _ = std::fs::remove_dir_all(&tmp);
        if std::fs::create_dir_all(&tmp).is_err() {
            return false;
        }
        if std::fs::rename(dir, tmp.join("fs")).is_err() {
            let _ = std::fs::remove_dir_all(&tmp);
            return false;
        }
        if std::fs::write(tmp.join(".done"), b"").is_err()
            || std::fs::rename(&tmp, &target).is_err()
        {
            // Someone else made it first, or writing failed: give the directory back.
            let _ = std::fs::rename(tmp.join("fs"), dir);
            let _ = std::fs::remove_dir_all(&tmp);
            return false;
        }
        true
    }

    /// Write an image: its config (as given: `rootfs.diff_ids` must list the layers'
    /// diff ids) and a manifest of `layers`, and record it under `name` (`hidden`: a
    /// build step's image, not listed). Returns its id.
    pub fn write_image(
        &mut self,
        config: &Value,
        layers: &[LayerDesc],
        name: Option<&Reference>,
        hidden: bool,
    ) -> Result<Digest> {
        let n_diffs = config["rootfs"]["diff_ids"].as_array().map_or(0, Vec::len);
        if n_diffs != layers.len() {
            return Err(Error::Conflict(format!(
                "image config lists {n_diffs} layers, the manifest {}",
                layers.len()
            )));
        }
        let config_bytes =
            serde_json::to_vec(config).map_err(|e| Error::Conflict(e.to_string()))?;
        let config_digest = self.content.write_bytes(&config_bytes, None)?;
        let manifest = json!({
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": {"mediaType": OCI_CONFIG, "digest": config_digest.to_string(), "size": config_bytes.len()},
            "layers": layers.iter().map(|l| json!({
                "mediaType": l.media_type, "digest": l.digest.to_string(), "size": l.size,
            })).collect::<Vec<_>>(),
        });
        let manifest_bytes =
            serde_json::to_vec(&manifest).map_err(|e| Error::Conflict(e.to_string()))?;
        let manifest_digest = self.content.write_bytes(&manifest_bytes, None)?;
        let created = config["created"].as_str().unwrap_or_default().to_string();
        let size = layers.iter().map(|l| l.size).sum();
        self.record_as(
            &config_digest,
            &manifest_digest,
            &created,
            size,
            name,
            hidden,
        )?;
        Ok(config_digest)
    }
}
