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
