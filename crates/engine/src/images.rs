//! The engine's door for images: list, inspect, tag, remove (refused while a container
//! uses the image), prune, import, save, load, pull and push. Clients never open the image
//! store or the registry client themselves; the rules (which images are in use, when
//! layers are collected, where names and repo digests are recorded) live here once.

use std::collections::HashMap;
use std::io::{Read, Write};

pub use content::Digest;
pub use image::store::ImageSummary;
pub use image::Reference;
use serde_json::Value;

use crate::lifecycle::Engine;
use crate::{Error, Result};

pub use image::archive::{Format as ArchiveFormat, Loaded};
pub use registry::pull::{Event as ProgressEvent, Platform};

pub use image::store::Removed;
pub use registry::auth::Credentials;

/// Where and how to reach a registry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistryOptions {
    /// Verify TLS certificates (and use HTTPS for hosts other than loopback).
    pub tls_verify: bool,
    /// What to answer the registry's challenges with (Docker's config file by default).
    pub credentials: Credentials,
}

impl Default for RegistryOptions {
    fn default() -> Self {
        RegistryOptions {
            tls_verify: true,
            credentials: Credentials::Config,
        }
    }
}

impl RegistryOptions {
    fn client(&self) -> registry::Client {
        registry::Client::new(self.tls_verify).with_credentials(self.credentials.clone())
    }
}

/// One entry of an image's history, as `docker history` and the Engine API's
/// `/images/{name}/history` show it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryEntry {
    /// The image's id on its newest entry; `None` on the entries below (`<missing>`).
    pub id: Option<Digest>,
    /// When the step ran (RFC 3339, as recorded).
    pub created: String,
    /// The step (`/bin/sh -c #(nop) CMD ["sh"]`).
    pub created_by: String,
    /// Bytes of the layer the step made (0 for a step that made none).
    pub size: u64,
    /// The step's comment (`commit -m`, `import -m`).
    pub comment: String,
    /// The image's names, on its newest entry.
    pub tags: Vec<Reference>,
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
        let mut store = self.images()?;
        store.tag(source, target)?;
        if let Ok(id) = store.resolve(&target.to_string()) {
            self.image_event("tag", &id.to_string(), &target.familiar());
        }
        Ok(())
    }

    /// Record an image event as dockerd's: the image's id (or, for pull and push, the
    /// name) and its `name` attribute.
    fn image_event(&self, action: &str, id: &str, name: &str) {
        let mut a = std::collections::BTreeMap::new();
        a.insert("name".to_string(), name.to_string());
        let _ = self.db.event("image", action, id, &a);
    }

    /// The events of a removal: `untag` for each name, `delete` for the image.
    fn removal_events(&self, id: &Digest, steps: &[Removed]) {
        for r in steps {
            match r {
                Removed::Untagged(n) => self.image_event("untag", &id.to_string(), n),
                Removed::Deleted(d) if *d == id.to_string() => self.image_event("delete", d, d),
                Removed::Deleted(_) => {}
            }
        }
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
    /// uses any more. A name the image has besides others goes whoever uses the image
    /// (as Docker untags); the last name or the image itself stays while a container uses
    /// it, even with `force` (its layers are the container's root), refused in Docker's
    /// words.
    pub fn image_remove(&self, what: &str, force: bool) -> Result<Vec<Removed>> {
        crate::reserve::release_if_low(&self.paths.root);
        let mut store = self.images()?;
        let id = store.resolve(what)?;
        if let Some(user) = self.image_user(&id)? {
            let names: Vec<String> = store
                .list()?
                .into_iter()
                .filter(|i| i.id == id)
                .flat_map(|i| i.tags)
                .map(|t| t.to_string())
                .collect();
            let by_name = what
                .parse::<Reference>()
                .ok()
                .is_some_and(|r| names.contains(&r.to_string()));
            if by_name && names.len() == 1 && force {
                // dockerd's: the name goes, the image stays for its containers.
                let r: Reference = what
                    .parse()
                    .map_err(|e| Error::Invalid(format!("{what}: {e}")))?;
                let lines = store.untag(&r)?;
                self.removal_events(&id, &lines);
                return Ok(lines);
            }
            if !(by_name && names.len() > 1) {
                return Err(Error::Conflict(in_use_message(
                    what, &id, &user, by_name, force,
                )));
            }
        }
        let lines = store.remove(what, force)?;
        store.gc()?;
        self.removal_events(&id, &lines);
        Ok(lines)
    }

    /// A container using image `id`, a running one first.
    fn image_user(&self, id: &Digest) -> Result<Option<crate::db::Record>> {
        let mut users: Vec<crate::db::Record> = self
            .db
            .list()?
            .into_iter()
            .filter(|r| r.config.image_id == id.to_string())
            .collect();
        users.sort_by_key(|r| !r.state.status.is_active());
        Ok(users.into_iter().next())
    }

    /// Remove the images no container uses: the untagged ones, or with `all` every one.
    /// Returns Docker's `Untagged` / `Deleted` steps and the bytes freed.
    pub fn image_prune(&self, all: bool) -> Result<(Vec<Removed>, u64)> {
        crate::reserve::release_if_low(&self.paths.root);
        let mut store = self.images()?;
        let used = self.images_in_use()?;
        let mut deleted = Vec::new();
        for i in store.list()? {
            if (all || i.tags.is_empty()) && !used.contains_key(&i.id.to_string()) {
                let steps = store.remove(&i.id.to_string(), true)?;
                self.removal_events(&i.id, &steps);
                deleted.extend(steps);
            }
        }
        let freed = store.gc()?;
        Ok((deleted, freed))
    }

    /// An image's history, newest first: each step with the size of the layer it made
    /// (the steps that made a layer take the image's layers in order, bottom first).
    pub fn image_history(&self, what: &str) -> Result<Vec<HistoryEntry>> {
        let store = self.images()?;
        let id = store.resolve(what)?;
        let config = store.config(&id)?;
        let tags: Vec<Reference> = store
            .list()?
            .into_iter()
            .filter(|i| i.id == id)
            .flat_map(|i| i.tags)
            .collect();
        let sizes: Vec<u64> = store.layers(&id)?.iter().map(|l| l.size).collect();
        let hist = config["history"].as_array().cloned().unwrap_or_default();
        let mut next_layer = 0usize;
        let mut out: Vec<HistoryEntry> = hist
            .iter()
            .map(|h| {
                let size = if h["empty_layer"].as_bool().unwrap_or(false) {
                    0
                } else {
                    next_layer += 1;
                    sizes.get(next_layer - 1).copied().unwrap_or(0)
                };
                let text = |k: &str| h[k].as_str().unwrap_or_default().to_string();
                HistoryEntry {
                    id: None,
                    created: text("created"),
                    created_by: text("created_by"),
                    size,
                    comment: text("comment"),
                    tags: Vec::new(),
                }
            })
            .collect();
        out.reverse();
        if let Some(top) = out.first_mut() {
            top.id = Some(id);
            top.tags = tags;
        }
        Ok(out)
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
        let id = self.images()?.import(input, name, changes, message)?;
        let shown = name.map(|n| n.familiar()).unwrap_or_default();
        self.image_event("import", &id.to_string(), &shown);
        Ok(id)
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
        let loaded = image::archive::load(&mut store, input)?;
        for (id, names) in &loaded {
            let name = names
                .first()
                .map(|n| n.familiar())
                .unwrap_or_else(|| id.to_string());
            self.image_event("load", &id.to_string(), &name);
        }
        Ok(loaded)
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
        let client = opts.client();
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
        self.image_event("pull", &r.familiar(), &r.familiar());
        Ok(pulled)
    }

    /// The tags of a repository in its registry (`pull --all-tags`).
    pub fn image_remote_tags(&self, r: &Reference, opts: RegistryOptions) -> Result<Vec<String>> {
        Ok(registry::pull::tags(&opts.client(), r)?)
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
        let client = opts.client();
        let digest = registry::push::push(
            &client,
            store.content(),
            r,
            &manifest,
            &sources,
            progress.event,
            progress.bytes,
        )?;
        self.image_event("push", &r.familiar(), &r.familiar());
        Ok(digest)
    }
}

/// Whether the registry at `server` accepts `opts.credentials` (nothing is stored):
/// refused credentials give [`Error::Unauthorized`] with dockerd's words.
pub fn registry_check_login(server: &str, opts: &RegistryOptions) -> Result<()> {
    let client = opts.client();
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
    match checked {
        Ok(()) => Ok(()),
        Err(registry::Error::Unauthorized { .. }) => {
            let base = client
                .base(server)
                .unwrap_or_else(|_| format!("https://{server}"));
            Err(Error::Unauthorized(format!(
                "login attempt to {base}/v2/ failed with status: 401 Unauthorized"
            )))
        }
        Err(e) => Err(e.into()),
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
    let opts = RegistryOptions {
        credentials: Credentials::Basic {
            username: user.to_string(),
            password: password.to_string(),
        },
        ..opts
    };
    registry_check_login(server, &opts)?;
    registry::auth::store(server, user, password)
        .map_err(|e| Error::io("store credentials for", server, e))
}

/// Docker's refusal to remove an image (or its last name) a container uses.
fn in_use_message(
    what: &str,
    id: &Digest,
    user: &crate::db::Record,
    by_name: bool,
    force: bool,
) -> String {
    let (c, i) = (&user.id[..12.min(user.id.len())], &id.hex()[..12]);
    if by_name {
        let must = if force { "" } else { " (must force)" };
        return format!(
            "conflict: unable to remove repository reference \"{what}\"{must} - container {c} is using its referenced image {i}"
        );
    }
    let (how, state) = if user.state.status.is_active() {
        ("cannot be forced", "running")
    } else if force {
        ("cannot be forced", "stopped")
    } else {
        ("must be forced", "stopped")
    };
    format!("conflict: unable to delete {i} ({how}) - image is being used by {state} container {c}")
}

/// `logout`: forget the stored credentials; whether there were any.
pub fn registry_logout(server: &str) -> Result<bool> {
    registry::auth::remove(server).map_err(|e| Error::io("remove credentials for", server, e))
}

/// Docker's `reference=PATTERN` image filter on one name (`repo` and `tag` as `images`
/// shows them): the pattern matches `repo:tag` or `repo`.
pub fn reference_matches(pattern: &str, repo: &str, tag: &str) -> bool {
    glob(pattern, &format!("{repo}:{tag}")) || glob(pattern, repo)
}

/// `*` matches within a path segment, like Docker's reference filter.
fn glob(pat: &str, s: &str) -> bool {
    fn go(p: &[u8], s: &[u8]) -> bool {
        match (p.first(), s.first()) {
            (None, None) => true,
            (Some(b'*'), _) => go(&p[1..], s) || (!s.is_empty() && s[0] != b'/' && go(p, &s[1..])),
            (Some(a), Some(b)) if a == b => go(&p[1..], &s[1..]),
            _ => false,
        }
    }
    go(pat.as_bytes(), s.as_bytes())
}

#[cfg(test)]
mod reference_tests {
    use super::*;

    #[test]
    fn reference_patterns_match_within_path_segments() {
        assert!(glob("busy*", "busybox"));
        assert!(glob("*box:1.*", "busybox:1.36"));
        assert!(!glob("*", "library/busybox"));
        assert!(glob("*/*", "library/busybox"));
        assert!(reference_matches("busy*", "busybox", "latest"));
        assert!(reference_matches("busybox:1.*", "busybox", "1.36"));
        assert!(!reference_matches("other", "busybox", "latest"));
    }
}
