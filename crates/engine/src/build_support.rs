//! What a builder needs of the engine beyond running containers: an image's layers as a
//! tree to read, layers and images written from a build's steps, a container's changes
//! as a layer, and the build cache. The builder calls these; it never opens the image
//! store itself.

use std::collections::HashSet;
use std::io::Read;

use content::Digest;
use image::flatten::Tree;
use image::store::{CacheEntry, FileStamp, LayerDesc};
use image::Reference;
use serde_json::Value;

use crate::lifecycle::Engine;
use crate::Result;

impl Engine {
    /// An image's layers as its manifest lists them, bottom first.
    pub fn image_layers(&self, id: &Digest) -> Result<Vec<LayerDesc>> {
        Ok(self.images()?.layers(id)?)
    }

    /// An image's file system to read (its layers unpacked if they were not yet).
    pub fn image_tree(&self, id: &Digest) -> Result<Tree> {
        let mut dirs = self.images()?.layer_dirs(id)?;
        dirs.reverse();
        Ok(Tree::new(dirs))
    }

    /// An image's whole file system as one tar (no whiteouts): `build --output
    /// type=tar|local`.
    pub fn image_export_fs(&self, id: &Digest, out: impl std::io::Write) -> Result<()> {
        let tree = self.image_tree(id)?;
        image::flatten::write_flat(tree.layers(), out).map_err(|e| crate::Error::Io {
            op: e.op,
            path: e.path,
            source: e.source,
        })
    }

    /// An image's whole file system written into the directory `dir` (`build --output
    /// type=local`), entries kept inside it.
    pub fn image_export_dir(&self, id: &Digest, dir: &std::path::Path) -> Result<()> {
        let tree = self.image_tree(id)?;
        std::fs::create_dir_all(dir).map_err(|e| crate::Error::io("create", dir, e))?;
        let (reader, writer) = std::io::pipe().map_err(|e| crate::Error::io("pipe for", dir, e))?;
        let layers = tree.layers().to_vec();
        let producer = std::thread::spawn(move || {
            image::flatten::write_flat(&layers, std::io::BufWriter::new(writer))
        });
        let unpacked = image::layer::unpack(reader, dir);
        let produced = producer
            .join()
            .map_err(|_| crate::Error::Invalid("the export writer panicked".into()))?;
        produced.map_err(|e| crate::Error::Io {
            op: e.op,
            path: e.path,
            source: e.source,
        })?;
        unpacked?;
        Ok(())
    }

    /// Take in an uncompressed layer tar.
    pub fn image_add_layer(&self, tar: impl Read) -> Result<LayerDesc> {
        Ok(self.images()?.add_layer(tar)?)
    }

    /// Take in a layer tar that goes on top of `parent_diff_ids`, unpacking it for use
    /// as it streams in.
    pub fn image_add_layer_unpacked(
        &self,
        parent_diff_ids: &[Digest],
        tar: impl Read,
    ) -> Result<LayerDesc> {
        Ok(self.images()?.add_layer_unpacked(parent_diff_ids, tar)?)
    }

    /// Write an image from its config and layers (`hidden`: a build step's image).
    pub fn image_write(
        &self,
        config: &Value,
        layers: &[LayerDesc],
        name: Option<&Reference>,
        hidden: bool,
    ) -> Result<Digest> {
        Ok(self.images()?.write_image(config, layers, name, hidden)?)
    }

    /// A container's changes to its image as a layer in the store; `None` when it changed
    /// nothing. `mount_points` (absolute in the container) are left out when the image
    /// did not have them: the targets of a build step's mounts.
    pub fn container_layer(
        &mut self,
        what: &str,
        mount_points: &[String],
    ) -> Result<Option<LayerDesc>> {
        self.container_layer_adopting(what, mount_points, None)
    }

    /// [`container_layer`](Self::container_layer) of a stopped container, whose upper
    /// directory then becomes the layer's unpacked directory on top of `parent_diff_ids`
    /// (its image's layers): the next container on that layer needs no unpacking, and
    /// the layer's blob is written only when something needs it
    /// ([`image::store::ImageStore::adopt_layer_dir`]). The container keeps no file
    /// system: only removal may follow.
    pub fn container_layer_adopting(
        &mut self,
        what: &str,
        mount_points: &[String],
        parent_diff_ids: Option<&[Digest]>,
    ) -> Result<Option<LayerDesc>> {
        let r = self.get(what)?;
        let (upper, lowers) = self.layer_view(&r)?;
        let mp: Vec<std::path::PathBuf> = mount_points
            .iter()
            .map(|m| std::path::PathBuf::from(m.trim_start_matches('/')))
            .collect();
        let store = self.images()?;
        if let Some(parents) = parent_diff_ids {
            if !r.state.status.is_active() {
                // The directory then holds exactly the layer.
                image::diff::remove_mount_points(&upper, &lowers, &mp);
                if let Some(layer) = store.adopt_layer_dir(parents, &lowers, &upper)? {
                    return Ok(Some(layer));
                }
            }
        }
        crate::commit::write_layer_blob(&store, &upper, &lowers, &mp, parent_diff_ids.is_none())
    }

    /// A lease on the image store: what is written while it is held survives garbage
    /// collection in other processes ([`image::store::Lease`]).
    pub fn image_lease(&self) -> Result<image::store::Lease> {
        Ok(self.images()?.lease()?)
    }

    /// A directory that keeps a build's `RUN --mount=type=cache` content between builds.
    pub fn build_cache_mount(&self, id: &str) -> Result<std::path::PathBuf> {
        let d = self.paths.root.join("build-mounts").join(hex_id(id));
        std::fs::create_dir_all(&d).map_err(|e| crate::Error::io("create", &d, e))?;
        Ok(d)
    }

    /// The image a build step with this cache key made.
    pub fn build_cache_get(&self, key: &str) -> Result<Option<Digest>> {
        Ok(self.images()?.cache_get(key)?)
    }

    /// Remember the image a build step with this key made.
    pub fn build_cache_put(&self, key: &str, image: &Digest) -> Result<()> {
        Ok(self.images()?.cache_put(key, image)?)
    }

    /// `--cache-to type=local,dest=DIR`: these cache entries (key, image) into an OCI
    /// layout directory.
    pub fn build_cache_export(
        &self,
        dir: &std::path::Path,
        entries: &[(String, Digest)],
    ) -> Result<()> {
        Ok(self.images()?.write_layout(dir, CACHE_KEY, entries)?)
    }

    /// `--cache-from type=local,src=DIR`: the cache entries of an OCI layout directory
    /// into this store's cache. Returns how many.
    pub fn build_cache_import(&self, dir: &std::path::Path) -> Result<usize> {
        let entries = self.images()?.read_layout(dir, CACHE_KEY)?;
        for (key, id) in &entries {
            self.build_cache_put(key, id)?;
        }
        Ok(entries.len())
    }

    /// The build cache's entries (`builder du`).
    pub fn build_cache_entries(&self) -> Result<Vec<CacheEntry>> {
        Ok(self.images()?.cache_entries()?)
    }

    /// `builder prune`: see [`image::store::ImageStore::cache_prune`].
    pub fn build_cache_prune(&self, all: bool, older_than: Option<i64>) -> Result<(usize, u64)> {
        crate::reserve::release_if_low(&self.paths.root);
        let in_use: HashSet<String> = self.images_in_use()?.into_keys().collect();
        Ok(self.images()?.cache_prune(all, older_than, &in_use)?)
    }

    /// Stored content hashes of context files whose stamps still match (one per input).
    pub fn build_file_hashes(&self, files: &[(String, FileStamp)]) -> Result<Vec<Option<String>>> {
        let store = self.images()?;
        files
            .iter()
            .map(|(p, st)| Ok(store.file_hash(p, *st)?))
            .collect()
    }

    /// Remember content hashes of context files.
    pub fn build_put_file_hashes(&self, rows: &[(String, FileStamp, String)]) -> Result<()> {
        Ok(self.images()?.put_file_hashes(rows)?)
    }
}

/// The annotation that names a cache entry's key in an exported cache.
const CACHE_KEY: &str = "io.quai.build.cache-key";

fn hex_id(id: &str) -> String {
    image::store::sha256_of(id.as_bytes()).hex()[..32].to_string()
}
