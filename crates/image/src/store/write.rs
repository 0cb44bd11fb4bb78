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

/// The digest and size of the layer tar [`crate::diff::write_layer`] makes of `dir` over
/// `lowers`, without writing it anywhere.
fn layer_of_dir(dir: &std::path::Path, lowers: &[std::path::PathBuf]) -> Result<LayerDesc> {
    struct Counted<R> {
        inner: R,
        n: u64,
    }
    impl<R: Read> Read for Counted<R> {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            let n = self.inner.read(buf)?;
            self.n += n as u64;
            Ok(n)
        }
    }
    let io = |op| {
        let path = dir.to_path_buf();
        move |source| Error::Io { op, path, source }
    };
    let diff_err = |e: crate::diff::Error| Error::Io {
        op: e.op,
        path: e.path,
        source: e.source,
    };
    let (reader, producer) = crate::diff::layer_stream(dir, lowers, &[]).map_err(diff_err)?;
    let mut counted = Counted {
        inner: reader,
        n: 0,
    };
    let digest = Digest::of_reader(&mut counted);
    let produced = producer.join().map_err(|_| Error::Corrupt {
        what: "layer",
        digest: dir.display().to_string(),
        message: "the layer writer panicked".into(),
    })?;
    produced.map_err(diff_err)?;
    Ok(LayerDesc {
        media_type: OCI_LAYER_TAR.into(),
        digest: digest.map_err(io("read the layer of"))?,
        size: counted.n,
    })
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

    /// Make `dir` (an overlay upper directory over `lowers`, the unpacked directories of
    /// the layers `parent_diff_ids` name, holding exactly a new layer's changes in the
    /// unpacked form: overlay whiteouts) that layer's unpacked directory, by renaming it,
    /// without writing the layer's blob: the layer's digest and size are those of the tar
    /// [`crate::diff::write_layer`] makes of the directory, and
    /// [`ensure_blobs`](Self::ensure_blobs) writes the blob from the directory when
    /// something needs it (save, push, a cache export), as Docker's layer store does.
    /// A build step's layer is mostly only ever run on, and a 200 MB layer costs half a
    /// second to write.
    ///
    /// Returns the layer, or None when the directory could not be moved (it is then
    /// where it was, and the caller writes the blob). When the same layer is already
    /// unpacked, that directory serves and `dir` stays where it was.
    pub fn adopt_layer_dir(
        &self,
        parent_diff_ids: &[Digest],
        lowers: &[std::path::PathBuf],
        dir: &std::path::Path,
    ) -> Result<Option<LayerDesc>> {
        let layers = self.root.join("layers");
        let tmp = layers.join(format!(
            ".tmp-adopt-{}-{}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos())
        ));
        if std::fs::create_dir(&tmp).is_err() {
            return Ok(None);
        }
        let fs = tmp.join("fs");
        if std::fs::rename(dir, &fs).is_err() {
            let _ = std::fs::remove_dir_all(&tmp);
            return Ok(None);
        }
        // Give the directory back and forget the attempt.
        let give_back = || {
            let _ = std::fs::rename(&fs, dir);
            let _ = std::fs::remove_dir_all(&tmp);
        };
        // Hashed where it will stay (the rename above was the last change it sees).
        let layer = match layer_of_dir(&fs, lowers) {
            Ok(l) => l,
            Err(e) => {
                give_back();
                return Err(e);
            }
        };
        let mut diffs = parent_diff_ids.to_vec();
        diffs.push(layer.digest.clone());
        let Some(chain) = crate::store::chain_ids(&diffs).pop() else {
            give_back();
            return Ok(None);
        };
        let target = layers.join(chain.hex());
        if target.join(".done").exists() {
            give_back();
            return Ok(Some(layer));
        }
        if std::fs::write(tmp.join(".done"), b"").is_err()
            || std::fs::rename(&tmp, &target).is_err()
        {
            // Someone else made it first (then theirs serves), or writing failed.
            give_back();
            return Ok(target.join(".done").exists().then_some(layer));
        }
        Ok(Some(layer))
    }

    /// Write the blobs of the image's layers that exist only as unpacked directories
    /// (see [`adopt_layer_dir`](Self::adopt_layer_dir)), from those directories.
    pub fn ensure_blobs(&self, id: &Digest) -> Result<()> {
        let layers = self.layers(id)?;
        if layers.iter().all(|l| self.content.has(&l.digest)) {
            return Ok(());
        }
        let dirs = self.layer_dirs(id)?;
        for (i, l) in layers.iter().enumerate() {
            if self.content.has(&l.digest) {
                continue;
            }
            let changed = |message: String| Error::Corrupt {
                what: "layer",
                digest: l.digest.to_string(),
                message,
            };
            if l.media_type != OCI_LAYER_TAR {
                return Err(changed("its blob is missing".into()));
            }
            let (reader, producer) = crate::diff::layer_stream(&dirs[i], &dirs[..i], &[])
                .map_err(|e| changed(e.to_string()))?;
            let ingested = self.content.ingest(reader, Some(&l.digest), Some(l.size));
            let produced = producer
                .join()
                .map_err(|_| changed("the layer writer panicked".into()))?;
            produced.map_err(|e| changed(e.to_string()))?;
            match ingested {
                Ok(_) => {}
                Err(
                    content::Error::DigestMismatch { .. } | content::Error::SizeMismatch { .. },
                ) => {
                    return Err(changed(format!(
                        "its unpacked directory {} no longer makes the layer it was made as; \
                         remove the image and build it again",
                        dirs[i].display()
                    )))
                }
                Err(e) => return Err(e.into()),
            }
        }
        Ok(())
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

#[cfg(test)]
mod tests {
    use super::*;

    fn base_tar() -> Vec<u8> {
        let mut b = tar::Builder::new(Vec::new());
        for (name, data) in [("etc/os", &b"base"[..]), ("bin/tool", b"old tool")] {
            let mut h = tar::Header::new_ustar();
            h.set_path(name).expect("path");
            h.set_size(data.len() as u64);
            h.set_mode(0o755);
            h.set_mtime(1_700_000_000);
            h.set_uid(0);
            h.set_gid(0);
            h.set_cksum();
            b.append(&h, data).expect("append");
        }
        b.into_inner().expect("tar")
    }

    #[test]
    fn an_adopted_layer_has_its_blob_written_when_needed() {
        let t = tempfile::tempdir().expect("tmp");
        let mut store = ImageStore::open(t.path()).expect("store");
        let base = store
            .import(&base_tar()[..], None, &[], None)
            .expect("import");
        let parents = store.diff_ids(&base).expect("diff ids");
        let lowers = store.layer_dirs(&base).expect("dirs");
        // A step's upper directory: a new file, a changed one, a hard link.
        let upper = t.path().join("upper");
        std::fs::create_dir_all(upper.join("bin")).expect("mkdir");
        std::fs::write(upper.join("bin/tool"), b"new tool").expect("write");
        std::fs::write(upper.join("bin/other"), b"other").expect("write");
        std::fs::hard_link(upper.join("bin/other"), upper.join("bin/again")).expect("link");
        let layer = store
            .adopt_layer_dir(&parents, &lowers, &upper)
            .expect("adopt")
            .expect("adopted");
        assert!(!upper.exists(), "the directory moved");
        assert!(!store.content().has(&layer.digest), "no blob yet");
        let mut diffs = parents.clone();
        diffs.push(layer.digest.clone());
        let config = json!({"architecture": "amd64", "os": "linux", "config": {},
            "rootfs": {"type": "layers", "diff_ids": diffs.iter().map(Digest::to_string).collect::<Vec<_>>()}});
        let mut layers = store.layers(&base).expect("layers");
        layers.push(layer.clone());
        let id = store
            .write_image(&config, &layers, None, true)
            .expect("image");
        // Running on it needs no blob: the directory is the layer's.
        let dirs = store.layer_dirs(&id).expect("dirs");
        assert_eq!(
            std::fs::read(dirs[1].join("bin/tool")).expect("read"),
            b"new tool"
        );
        // Saving it does: made from the directory, with the digest it was given.
        store.ensure_blobs(&id).expect("ensure");
        assert!(store.content().has(&layer.digest));
        store.content().verify(&layer.digest).expect("verify");
        assert_eq!(
            store.content().size(&layer.digest).expect("size"),
            layer.size
        );
        let mut names = Vec::new();
        let mut ar = tar::Archive::new(store.content().open_blob(&layer.digest).expect("open"));
        for e in ar.entries().expect("entries") {
            let e = e.expect("entry");
            names.push((
                e.path().expect("path").display().to_string(),
                e.header().entry_type(),
            ));
        }
        names.sort_by(|a, b| a.0.cmp(&b.0));
        assert_eq!(names.len(), 4, "{names:?}");
        assert!(
            names
                .iter()
                .any(|(n, k)| n == "bin/again" && *k == tar::EntryType::Link)
                || names
                    .iter()
                    .any(|(n, k)| n == "bin/other" && *k == tar::EntryType::Link),
            "{names:?}"
        );
        // Adopting the same layer again: the first directory serves, this one stays.
        let again = t.path().join("again");
        let cp = std::process::Command::new("cp")
            .arg("-a")
            .arg(&dirs[1])
            .arg(&again)
            .status()
            .expect("cp");
        assert!(cp.success());
        let same = store
            .adopt_layer_dir(&parents, &lowers, &again)
            .expect("adopt")
            .expect("the same layer");
        assert_eq!(same, layer);
        assert!(again.exists());
    }

    #[test]
    fn a_changed_adopted_directory_is_refused_not_saved_wrong() {
        let t = tempfile::tempdir().expect("tmp");
        let mut store = ImageStore::open(t.path()).expect("store");
        let upper = t.path().join("upper");
        std::fs::create_dir_all(&upper).expect("mkdir");
        std::fs::write(upper.join("f"), b"one").expect("write");
        let layer = store
            .adopt_layer_dir(&[], &[], &upper)
            .expect("adopt")
            .expect("adopted");
        let config = json!({"architecture": "amd64", "os": "linux", "config": {},
            "rootfs": {"type": "layers", "diff_ids": [layer.digest.to_string()]}});
        let id = store
            .write_image(&config, std::slice::from_ref(&layer), None, true)
            .expect("image");
        let dirs = store.layer_dirs(&id).expect("dirs");
        std::fs::write(dirs[0].join("f"), b"two").expect("tamper");
        let e = store.ensure_blobs(&id).expect_err("changed");
        assert!(e.to_string().contains("no longer makes the layer"), "{e}");
        assert!(!store.content().has(&layer.digest));
    }
}
