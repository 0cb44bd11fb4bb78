//! A container's file system as data: what it changed (`diff`), all of it as a tar
//! (`export`), and its changes as a new image (`commit`). All three read the container's
//! overlay upper directory and its image's layer directories; none of them mounts
//! anything, so they work the same on running and stopped containers.

use std::io::Write;
use std::path::PathBuf;

use content::Digest;
use image::diff::Change;
use image::Reference;
use serde_json::{json, Map, Value};

use crate::config::ContainerStatus;
use crate::db::Record;
use crate::lifecycle::Engine;
use crate::{Error, Result};

/// What `commit` records besides the layer.
#[derive(Debug, Clone, Default)]
pub struct CommitOptions {
    /// Name for the new image.
    pub reference: Option<Reference>,
    /// `--author`.
    pub author: Option<String>,
    /// `--message`: the history entry's comment.
    pub message: Option<String>,
    /// `--change`: Dockerfile instructions applied to the config.
    pub changes: Vec<String>,
    /// Freeze a running container while its layer is read (Docker's default).
    pub pause: bool,
}

fn diff_err(e: image::diff::Error) -> Error {
    Error::Io {
        op: e.op,
        path: e.path,
        source: e.source,
    }
}

impl Engine {
    /// The container's overlay upper directory and its image's layer directories
    /// (bottom first).
    pub(crate) fn layer_view(&self, r: &Record) -> Result<(PathBuf, Vec<PathBuf>)> {
        let id: Digest = r
            .config
            .image_id
            .parse()
            .map_err(|e| Error::Corrupt(format!("container {} image id: {e}", r.id)))?;
        let dir = self.paths.container(&r.id);
        if dir.join(crate::rootfs::COPY_MARKER).exists() {
            return Err(Error::Invalid(format!(
                "container {}: its root is a copy of its image (rootless without overlayfs), so its changes cannot be told apart: diff, export and commit are not available",
                r.name
            )));
        }
        let lowers = self.images()?.layer_dirs(&id)?;
        Ok((dir.join("upper"), lowers))
    }

    /// What the container changed in its image's file system, as `docker diff` lists it.
    pub fn diff(&mut self, what: &str) -> Result<Vec<Change>> {
        let r = self.get(what)?;
        let (upper, lowers) = self.layer_view(&r)?;
        image::diff::changes(&upper, &lowers).map_err(diff_err)
    }

    /// The container's whole file system as a tar (`docker export`): its image's layers
    /// with its changes over them, volumes and other mounts left out.
    pub fn export(&mut self, what: &str, out: impl Write) -> Result<()> {
        let r = self.get(what)?;
        let (upper, lowers) = self.layer_view(&r)?;
        let mut top_first = vec![upper];
        top_first.extend(lowers.into_iter().rev());
        image::flatten::write_flat(&top_first, out).map_err(diff_err)
    }

    /// A new image from the container's image and its changes, as `docker commit` makes
    /// it: one more layer (none if nothing changed), the container's command,
    /// environment, working directory, user, labels and exposed ports as its config,
    /// then `changes`; a history entry that names the container's command.
    pub fn commit(&mut self, what: &str, opts: CommitOptions) -> Result<Digest> {
        let id = self.db.get(what)?.id;
        let _lock = crate::lock::container(&self.paths, &id)?;
        let r = self.get(&id)?;
        if matches!(
            r.state.status,
            ContainerStatus::Removing | ContainerStatus::Dead
        ) {
            return Err(Error::Conflict(format!(
                "container {} is {}",
                r.id, r.state.status
            )));
        }
        let mut store = self.images()?;
        let base: Digest = r
            .config
            .image_id
            .parse()
            .map_err(|e| Error::Corrupt(format!("container {} image id: {e}", r.id)))?;
        let mut config = store.config(&base)?;
        let mut layers = store.layers(&base)?;
        // Check the changes before anything is written.
        let mut cfg = container_config(&r, &config);
        image::changes::apply(&mut cfg, &opts.changes)
            .map_err(|e| Error::Invalid(e.to_string()))?;

        let (upper, lowers) = self.layer_view(&r)?;
        let freeze = opts.pause && r.state.status == ContainerStatus::Running;
        let rt = self.paths.runtime_root();
        if freeze {
            runtime::ops::pause(&rt, &r.id)?;
        }
        let layer = write_layer_blob(&store, &upper, &lowers, &[], true);
        if freeze {
            runtime::ops::resume(&rt, &r.id)?;
        }
        let layer = layer?;

        let created = crate::time::now_rfc3339();
        let mut history = json!({
            "created": created,
            "created_by": shell_words(&r),
        });
        if let Some(a) = &opts.author {
            history["author"] = json!(a);
            config["author"] = json!(a);
        }
        if let Some(m) = &opts.message {
            history["comment"] = json!(m);
        }
        match layer {
            Some(l) => {
                push(
                    &mut config["rootfs"]["diff_ids"],
                    json!(l.digest.to_string()),
                );
                layers.push(l);
            }
            None => history["empty_layer"] = json!(true),
        }
        push(&mut config["history"], history);
        config["created"] = json!(created);
        config["config"] = Value::Object(cfg);
        config["container"] = json!(r.id);
        let new = store.write_image(&config, &layers, opts.reference.as_ref(), false)?;
        let _ = self
            .db
            .event("image", "commit", &new.to_string(), &Default::default());
        Ok(new)
    }
}

fn push(list: &mut Value, v: Value) {
    match list.as_array_mut() {
        Some(a) => a.push(v),
        None => *list = json!([v]),
    }
}

/// The layer of `upper` as a blob in the store, or `None` when nothing changed. The tar
/// streams from a writer thread into the store through a pipe: never whole in memory.
pub(crate) fn write_layer_blob(
    store: &image::store::ImageStore,
    upper: &std::path::Path,
    lowers: &[PathBuf],
    mount_points: &[PathBuf],
    empty_is_none: bool,
) -> Result<Option<image::store::LayerDesc>> {
    // `commit` makes no layer of no changes; a build step makes an empty one, so it
    // writes without scanning twice.
    if empty_is_none
        && image::diff::nothing_changed(upper, lowers, mount_points).map_err(diff_err)?
    {
        return Ok(None);
    }
    let (reader, producer) =
        image::diff::layer_stream(upper, lowers, mount_points).map_err(diff_err)?;
    let added = store.add_layer(reader);
    let produced = producer
        .join()
        .map_err(|_| Error::Invalid("the layer writer panicked".into()))?;
    produced.map_err(diff_err)?;
    Ok(Some(added?))
}

/// The command a history entry shows for a container (`/bin/sh -c echo hi`).
fn shell_words(r: &Record) -> String {
    let mut words = r.config.entrypoint.clone();
    words.extend(r.config.cmd.iter().cloned());
    words.join(" ")
}

/// The image config's `config` section for a commit of `r`: the image's, with what the
/// container runs with in its place.
fn container_config(r: &Record, image_config: &Value) -> Map<String, Value> {
    let mut c = image_config["config"]
        .as_object()
        .cloned()
        .unwrap_or_default();
    let c_ = &r.config;
    let set = |c: &mut Map<String, Value>, k: &str, v: Value| {
        if v.is_null() || v == json!([]) || v == json!("") || v == json!({}) {
            c.remove(k);
        } else {
            c.insert(k.into(), v);
        }
    };
    set(&mut c, "Env", json!(c_.env));
    set(&mut c, "Cmd", json!(c_.cmd));
    set(&mut c, "Entrypoint", json!(c_.entrypoint));
    set(&mut c, "WorkingDir", json!(c_.workdir));
    set(&mut c, "User", json!(c_.user));
    set(&mut c, "Labels", json!(c_.labels));
    let ports: Map<String, Value> = c_
        .exposed_ports
        .iter()
        .map(|p| (p.clone(), json!({})))
        .collect();
    set(&mut c, "ExposedPorts", Value::Object(ports));
    c
}
