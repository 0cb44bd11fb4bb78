//! The engine's door for images: list, inspect, tag, remove (refused while a container
//! uses the image), prune, import, save, load, pull and push. Clients never open the image
//! store or the registry client themselves; the rules (which images are in use, when
//! layers are collected, where names and repo digests are recorded) live here once.

use std::collections::HashMap;
use std::io::{Read, Write};

use content::Digest;
pub use image::store::ImageSummary;
pub use image::Reference;
use serde_json::Value;

use crate::lifecycle::Engine;
use crate::{Error, Result};

pub use image::archive::{Format as ArchiveFormat, Loaded};
pub use registry::pull::{Event as ProgressEvent, Platform};

/// Where and how to reach a registry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RegistryOptions {
    /// Verify TLS certificates (and use HTTPS for hosts other than loopback).
    pub tls_verify: bool,
}

impl Default for RegistryOptions {
    fn default() -> Self {
        RegistryOptions { tls_verify: true }
    }
}

/// What a pull brought in.
pub type Pulled = registry::pull::Pulled;

/// Progress callbacks of a pull or a push: typed events, and bytes done per layer.
pub struct Progress<'a> {
    /// Each step (`Pulling fs layer`, `Download complete`, `Pushed`, ...).
    pub event: registry::pull::Progress<'a>,
    /// Bytes of a layer fetched so far, and its size when known.
    pub bytes: Option<registry::pull::Bytes<'a>>,
}

impl Engine {
    /// Every image, with its names.
    pub fn image_list(&self) -> Result<Vec<ImageSummary>> {
        Ok(self.images()?.list()?)
    }

    /// An image's id by name, id or id prefix.
    pub fn image_resolve(&self, what: &str) -> Result<Digest> {
        Ok(self.images()?.resolve(what)?)
    }

    /// An image's config (the OCI image config JSON, as stored).
    pub fn image_config(&self, id: &Digest) -> Result<Value> {
        Ok(self.images()?.config(id)?)
    }

    /// `docker image inspect`'s document for an image.
    pub fn image_inspect(&self, what: &str) -> Result<Value> {
        Ok(self.images()?.inspect(what)?)
    }

    /// `REPO@DIGEST` names an image was pulled or pushed by.
    pub fn image_repo_digests(&self, id: &Digest) -> Result<Vec<String>> {
        Ok(self.images()?.repo_digests(id)?)
    }

    /// Give an image another name.
    pub fn image_tag(&self, source: &str, target: &Reference) -> Result<()> {
        Ok(self.images()?.tag(source, target)?)
    }

    /// Image ids that containers use, each with one container using it.
    pub fn images_in_use(&self) -> Result<HashMap<String, String>> {
        Ok(self
            .db
            .list()?
            .into_iter()
            .map(|r| (r.config.image_id, r.id))
            .collect())
    }

    /// Remove an image name (or, by id, the image), then the layers and blobs no image
    /// uses any more. An image a container uses stays, even with `force` (its layers are
    /// the container's root): Docker's conflict message says which container.
    pub fn image_remove(&self, what: &str, force: bool) -> Result<Vec<String>> {
        crate::reserve::release_if_low(&self.paths.root);
        let mut store = self.images()?;
        let used = self.images_in_use()?;
        if let Some(c) = store
            .resolve(what)
            .ok()
            .and_then(|id| used.get(&id.to_string()))
        {
            return Err(Error::Conflict(format!(
                "conflict: unable to remove repository reference \"{what}\" - container {} is using its referenced image",
                &c[..12.min(c.len())]
            )));
        }
        let lines = store.remove(what, force)?;
        store.gc()?;
        Ok(lines)
    }

    /// Remove the images no container uses: the untagged ones, or with `all` every one.
    /// Returns Docker's `Untagged: ...` / `Deleted: ...` lines and the bytes freed.
    pub fn image_prune(&self, all: bool) -> Result<(Vec<String>, u64)> {
        crate::reserve::release_if_low(&self.paths.root);
        let mut store = self.images()?;
        let used = self.images_in_use()?;
        let mut deleted = Vec::new();
        for i in store.list()? {
            if (all || i.tags.is_empty()) && !used.contains_key(&i.id.to_string()) {
                deleted.extend(store.remove(&i.id.to_string(), true)?);
            }
        }
        let freed = store.gc()?;
        Ok((deleted, freed))
    }

    /// `import`: a root filesystem tar (optionally compressed) as a one-layer image,
    /// with Dockerfile-like `changes` applied to its config.
    pub fn image_import(
        &self,
        input: impl Read,
        name: Option<&Reference>,
        changes: &[String],
        message: Option<&str>,
    ) -> Result<Digest> {
        Ok(self.images()?.import(input, name, changes, message)?)
    }

    /// `save`: images as a docker-archive or oci-archive tar.
    pub fn image_save(
        &self,
        images: &[String],
        format: ArchiveFormat,
        out: impl Write,
    ) -> Result<()> {
        Ok(image::archive::save(&*self.images()?, images, format, out)?)
    }

    /// `load`: the images of an archive (either format).
    pub fn image_load(&self, input: impl Read) -> Result<Loaded> {
        let mut store = self.images()?;
        let _lease = store.lease()?;
        Ok(image::archive::load(&mut store, input)?)
    }

    /// `pull`: fetch an image (the manifest for `platform` of an index) and record it
    /// under its name (none for a pull by digest) and its repo digest.
    pub fn image_pull(
        &self,
        r: &Reference,
        platform: &Platform,
        opts: RegistryOptions,
        progress: Progress<'_>,
    ) -> Result<Pulled> {
        let mut store = self.images()?;
        // Blobs land before the image that refers to them.
        let _lease = store.lease()?;
        let client = registry::Client::new(opts.tls_verify);
        let pulled = registry::pull::pull(
            &client,
            store.content(),
            r,
            platform,
            progress.event,
            progress.bytes,
        )?;
        let name = if r.digest.is_some() { None } else { Some(r) };
        store.record(
            &pulled.config,
            &pulled.manifest,
            &pulled.created,
            pulled.size,
            name,
        )?;
        store.record_repo_digest(&pulled.config, r, &pulled.manifest)?;
        Ok(pulled)
    }

    /// The tags of a repository in its registry (`pull --all-tags`).
    pub fn image_remote_tags(&self, r: &Reference, opts: RegistryOptions) -> Result<Vec<String>> {
        Ok(registry::pull::tags(
            &registry::Client::new(opts.tls_verify),
            r,
        )?)
    }

    /// `push`: send an image to the registry its name points at, mounting blobs from
    /// other repositories of that registry that hold them. Returns the manifest digest.
    pub fn image_push(
        &self,
        r: &Reference,
        opts: RegistryOptions,
        progress: Progress<'_>,
    ) -> Result<Digest> {
        let store = self.images()?;
        let id = store.resolve(&r.to_string())?;
        store.ensure_blobs(&id)?;
        let manifest = store.manifest_of(&id)?;
        let mut sources: Vec<String> = store
            .list()?
            .into_iter()
            .filter(|i| i.id == id)
            .flat_map(|i| i.tags)
            .filter(|t| t.domain == r.domain && t.path != r.path)
            .map(|t| t.path)
            .collect();
        for d in store.repo_digests(&id)? {
            let Some((repo, _)) = d.split_once('@') else {
                continue;
            };
            if let Ok(rr) = format!("{repo}:x").parse::<Reference>() {
                if rr.domain == r.domain && rr.path != r.path {
                    sources.push(rr.path);
                }
            }
        }
        sources.sort();
        sources.dedup();
        let client = registry::Client::new(opts.tls_verify);
        Ok(registry::push::push(
            &client,
            store.content(),
            r,
            &manifest,
            &sources,
            progress.event,
            progress.bytes,
        )?)
    }
}

/// `login`: check the credentials against the registry, then store them (Docker's
/// `config.json` format) for later pulls and pushes. Nothing is kept if the registry
/// refuses them.
pub fn registry_login(
    server: &str,
    user: &str,
    password: &str,
    opts: RegistryOptions,
) -> Result<()> {
    let client = registry::Client::new(opts.tls_verify);
    registry::auth::store(server, user, password)
        .map_err(|e| Error::io("store credentials for", server, e))?;
    let checked = client
        .authorize(server, "registry:catalog:*")
        .and_then(|_| {
            let base = client.base(server)?;
            client
                .send(
                    "GET",
                    server,
                    &format!("{base}/v2/"),
                    "registry:catalog:*",
                    &[],
                    None,
                )?
                .ok()
                .map(|_| ())
        });
    if let Err(e) = checked {
        let _ = registry::auth::remove(server);
        return Err(e.into());
    }
    Ok(())
}

/// `logout`: forget the stored credentials; whether there were any.
pub fn registry_logout(server: &str) -> Result<bool> {
    registry::auth::remove(server).map_err(|e| Error::io("remove credentials for", server, e))
}
