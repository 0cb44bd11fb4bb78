//! The local image store: blobs in `content`, names and images in `state.db` (SQLite, WAL),
//! unpacked layers under `layers/<chain id>/` shared by every image that has them.

use std::io::Read;
use std::path::{Path, PathBuf};

use content::{Digest, Store as Content};
use rusqlite::{params, Connection, OptionalExtension};
use serde_json::{json, Value};
use sha2::{Digest as _, Sha256};

use crate::reference::Reference;

mod cache;
mod lease;
mod remove;
mod write;

pub use cache::{CacheEntry, FileStamp};
pub use lease::Lease;
pub use remove::Removed;
pub use write::LayerDesc;

/// Media types quai writes.
pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
/// OCI config.
pub const OCI_CONFIG: &str = "application/vnd.oci.image.config.v1+json";
/// Uncompressed layer.
pub const OCI_LAYER_TAR: &str = "application/vnd.oci.image.layer.v1.tar";

/// Image store errors.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Blob store.
    #[error(transparent)]
    Content(#[from] content::Error),
    /// Database.
    #[error("image database {path}: {source}")]
    Db {
        path: PathBuf,
        #[source]
        source: rusqlite::Error,
    },
    /// No image by that name or id.
    #[error("no such image: {0}")]
    NotFound(String),
    /// An id prefix that fits several images.
    #[error("image id {0} is ambiguous")]
    Ambiguous(String),
    /// Refused, with the reason.
    #[error("{0}")]
    Conflict(String),
    /// Opening `state.db`.
    #[error(transparent)]
    Open(#[from] crate::statedb::OpenError),
    /// Bad reference.
    #[error(transparent)]
    Reference(#[from] crate::reference::ReferenceError),
    /// Bad --change.
    #[error(transparent)]
    Change(#[from] crate::changes::ChangeError),
    /// Layer unpacking.
    #[error(transparent)]
    Layer(#[from] crate::layer::Error),
    /// A stored document that does not parse.
    #[error("corrupt {what} {digest}: {message}")]
    Corrupt {
        what: &'static str,
        digest: String,
        message: String,
    },
    /// A file operation.
    #[error("{op} {path}: {source}")]
    Io {
        op: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// Result alias.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// One image as `images` lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageSummary {
    /// Image id (config digest).
    pub id: Digest,
    /// Manifest digest.
    pub manifest: Digest,
    /// Names pointing at it.
    pub tags: Vec<Reference>,
    /// RFC 3339 creation time from the config.
    pub created: String,
    /// Sum of the layer sizes.
    pub size: u64,
}

/// What to mount for a container's root: `mount -t overlay overlay -o OPTIONS TARGET`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MountSpec {
    /// `overlay`.
    pub fstype: String,
    /// `overlay`.
    pub source: String,
    /// `lowerdir=...,upperdir=...,workdir=...`.
    pub options: String,
    /// Layer directories, bottom first.
    pub lowers: Vec<PathBuf>,
    /// Writable directory.
    pub upper: PathBuf,
    /// overlayfs work directory.
    pub work: PathBuf,
}

/// The image store's tables in `state.db`, registered with [`crate::statedb`].
pub const COMPONENT: crate::statedb::Component = crate::statedb::Component {
    name: "image",
    migrations: &[V1, V2],
};

/// Version 2: the builder's cache. Images a build made for its steps are `hidden` (not
/// listed, not pruned by `image prune`; `builder prune` removes them); `build_cache` maps a
/// step's cache key to the image it made; `build_file_hashes` remembers the content hash
/// of context files by (size, mtime, inode) so an unchanged context is never read again.
const V2: &str = "
ALTER TABLE images ADD COLUMN hidden INTEGER NOT NULL DEFAULT 0;
CREATE TABLE IF NOT EXISTS build_cache (
    key TEXT PRIMARY KEY,
    image TEXT NOT NULL,
    created TEXT NOT NULL,
    last_used INTEGER NOT NULL    -- Unix seconds
);
CREATE TABLE IF NOT EXISTS build_file_hashes (
    path TEXT PRIMARY KEY,        -- absolute path on the host
    size INTEGER NOT NULL,
    mtime INTEGER NOT NULL,       -- nanoseconds
    ino INTEGER NOT NULL,
    hash TEXT NOT NULL
);";

/// Version 1: the schema of the release before versioning.
const V1: &str = "
CREATE TABLE IF NOT EXISTS images (
    id TEXT PRIMARY KEY,          -- config digest
    manifest TEXT NOT NULL,       -- manifest digest
    created TEXT NOT NULL,
    size INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS tags (
    name TEXT PRIMARY KEY,        -- normalised reference
    image TEXT NOT NULL REFERENCES images(id)
);
CREATE TABLE IF NOT EXISTS digests (
    name TEXT PRIMARY KEY,        -- repository@manifest-digest (RepoDigests)
    image TEXT NOT NULL REFERENCES images(id)
);";

/// The store.
pub struct ImageStore {
    root: PathBuf,
    content: Content,
    db: Connection,
    db_path: PathBuf,
}

/// Chain ids of a list of diff ids (OCI image spec, "Layer ChainID").
pub fn chain_ids(diff_ids: &[Digest]) -> Vec<Digest> {
    let mut out: Vec<Digest> = Vec::with_capacity(diff_ids.len());
    for d in diff_ids {
        let next = match out.last() {
            None => d.clone(),
            Some(prev) => Digest::of(format!("{prev} {d}").as_bytes()),
        };
        out.push(next);
    }
    out
}

impl ImageStore {
    /// Open (creating) the store under `root`.
    pub fn open(root: &Path) -> Result<ImageStore> {
        let content = Content::open(root)?;
        let layers = root.join("layers");
        std::fs::create_dir_all(&layers).map_err(|source| Error::Io {
            op: "create",
            path: layers.clone(),
            source,
        })?;
        let db_path = root.join("state.db");
        let db = crate::statedb::open(root, &[&COMPONENT])?;
        Ok(ImageStore {
            root: root.to_path_buf(),
            content,
            db,
            db_path,
        })
    }

    fn dberr(&self) -> impl FnOnce(rusqlite::Error) -> Error + '_ {
        move |source| Error::Db {
            path: self.db_path.clone(),
            source,
        }
    }

    /// The store's root directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The blob store.
    pub fn content(&self) -> &Content {
        &self.content
    }

    /// Import a root filesystem tarball (plain, gzip or zstd) as a one-layer image.
    pub fn import<R: Read>(
        &mut self,
        reader: R,
        name: Option<&Reference>,
        changes: &[String],
        message: Option<&str>,
    ) -> Result<Digest> {
        let mut config_obj = serde_json::Map::new();
        crate::changes::apply(&mut config_obj, changes)?;
        let diff = self
            .content
            .ingest(crate::layer::decompress(reader)?, None, None)?;
        // Check it is a tar before calling it an image.
        let mut f = self.content.open_blob(&diff)?;
        let mut block = [0u8; 512];
        let is_tar = f.read_exact(&mut block).is_ok() && &block[257..262] == b"ustar";
        if !is_tar {
            return Err(Error::Conflict(
                "import: the input is not a tar archive (plain, gzip or zstd)".into(),
            ));
        }
        // Read it through: a truncated or damaged tar must fail here, not at the first run.
        if let Err(message) = check_tar(self.content.open_blob(&diff)?) {
            let _ = self.content.delete(&diff);
            return Err(Error::Conflict(format!(
                "import: the tar archive is truncated or damaged: {message}"
            )));
        }
        let size = self.content.size(&diff)?;
        let created = clock::now_rfc3339_secs();
        let config = json!({
            "created": created,
            "architecture": "amd64",
            "os": "linux",
            "config": Value::Object(config_obj),
            "rootfs": {"type": "layers", "diff_ids": [diff.to_string()]},
            // Docker's: no created_by, the message or where the tar came from (the CLI
            // streams it: "-").
            "history": [{"created": created, "comment": message.filter(|m| !m.is_empty()).unwrap_or("Imported from -")}],
        });
        let layer = LayerDesc {
            media_type: OCI_LAYER_TAR.into(),
            digest: diff,
            size,
        };
        self.write_image(&config, &[layer], name, false)
    }

    /// Record an image (and optionally a name for it) in one transaction.
    pub fn record(
        &mut self,
        id: &Digest,
        manifest: &Digest,
        created: &str,
        size: u64,
        name: Option<&Reference>,
    ) -> Result<()> {
        self.record_as(id, manifest, created, size, name, false)
    }

    /// [`record`](Self::record), `hidden` for an image a build made for one of its steps
    /// (a name or a visible record of the same image makes it visible).
    pub(crate) fn record_as(
        &mut self,
        id: &Digest,
        manifest: &Digest,
        created: &str,
        size: u64,
        name: Option<&Reference>,
        hidden: bool,
    ) -> Result<()> {
        let hidden = hidden && name.is_none();
        let path = self.db_path.clone();
        let dberr = |source| Error::Db {
            path: path.clone(),
            source,
        };
        let tx = self
            .db
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(dberr)?;
        tx.execute(
            "INSERT INTO images (id, manifest, created, size, hidden) VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT(id) DO UPDATE SET manifest = excluded.manifest,
                 hidden = MIN(hidden, excluded.hidden)",
            params![
                id.to_string(),
                manifest.to_string(),
                created,
                size as i64,
                hidden
            ],
        )
        .map_err(dberr)?;
        if let Some(n) = name {
            tx.execute("INSERT INTO tags (name, image) VALUES (?1, ?2) ON CONFLICT(name) DO UPDATE SET image = excluded.image", params![n.to_string(), id.to_string()])
                .map_err(dberr)?;
        }
        tx.commit().map_err(dberr)?;
        Ok(())
    }

    /// Remember that `repository` serves this image under `manifest` (Docker's RepoDigests).
    pub fn record_repo_digest(&self, id: &Digest, r: &Reference, manifest: &Digest) -> Result<()> {
        let name = format!("{}@{manifest}", r.repository());
        self.db
            .execute("INSERT INTO digests (name, image) VALUES (?1, ?2) ON CONFLICT(name) DO UPDATE SET image = excluded.image", params![name, id.to_string()])
            .map_err(self.dberr())?;
        Ok(())
    }

    /// `repository@sha256:...` names of an image, in Docker's short form.
    pub fn repo_digests(&self, id: &Digest) -> Result<Vec<String>> {
        let mut stmt = self
            .db
            .prepare("SELECT name FROM digests WHERE image = ?1 ORDER BY name")
            .map_err(self.dberr())?;
        let names: Vec<String> = stmt
            .query_map(params![id.to_string()], |r| r.get(0))
            .map_err(self.dberr())?
            .collect::<std::result::Result<_, _>>()
            .map_err(self.dberr())?;
        Ok(names
            .into_iter()
            .map(|n| {
                n.strip_prefix("docker.io/library/")
                    .or_else(|| n.strip_prefix("docker.io/"))
                    .map(str::to_string)
                    .unwrap_or(n)
            })
            .collect())
    }

    /// Find an image by name (`busybox`, `host/repo:tag`) or by id (full or a prefix of at
    /// least 4 hex digits, with or without `sha256:`).
    pub fn resolve(&self, what: &str) -> Result<Digest> {
        if let Ok(r) = what.parse::<Reference>() {
            if let Some(d) = &r.digest {
                if let Some(id) = self.image_named("digests", &format!("{}@{d}", r.repository()))? {
                    return Ok(id);
                }
            }
            if let Some(id) = self.image_named("tags", &r.to_string())? {
                return Ok(id);
            }
        }
        let hex = what.strip_prefix("sha256:").unwrap_or(what);
        if hex.len() >= 4 && hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            let mut stmt = self
                .db
                .prepare("SELECT id FROM images WHERE id LIKE ?1")
                .map_err(self.dberr())?;
            let ids: Vec<String> = stmt
                .query_map(
                    params![format!("sha256:{}%", hex.to_ascii_lowercase())],
                    |row| row.get(0),
                )
                .map_err(self.dberr())?
                .collect::<std::result::Result<_, _>>()
                .map_err(self.dberr())?;
            return match ids.as_slice() {
                [one] => one.parse::<Digest>().map_err(|e| Error::Corrupt {
                    what: "image id",
                    digest: one.clone(),
                    message: e.to_string(),
                }),
                [] => Err(Error::NotFound(what.to_string())),
                _ => Err(Error::Ambiguous(what.to_string())),
            };
        }
        Err(Error::NotFound(what.to_string()))
    }

    /// The image a row of `tags` or `digests` names.
    fn image_named(&self, table: &str, name: &str) -> Result<Option<Digest>> {
        let found: Option<String> = self
            .db
            .query_row(
                &format!("SELECT image FROM {table} WHERE name = ?1"),
                params![name],
                |row| row.get(0),
            )
            .optional()
            .map_err(self.dberr())?;
        found
            .map(|id| {
                id.parse::<Digest>().map_err(|e| Error::Corrupt {
                    what: "image id",
                    digest: id.clone(),
                    message: e.to_string(),
                })
            })
            .transpose()
    }

    /// Give image `src` (name or id) the name `dst`.
    pub fn tag(&mut self, src: &str, dst: &Reference) -> Result<()> {
        let id = self.resolve(src)?;
        self.db
            .execute("INSERT INTO tags (name, image) VALUES (?1, ?2) ON CONFLICT(name) DO UPDATE SET image = excluded.image", params![dst.to_string(), id.to_string()])
            .map_err(self.dberr())?;
        self.db
            .execute(
                "UPDATE images SET hidden = 0 WHERE id = ?1",
                params![id.to_string()],
            )
            .map_err(self.dberr())?;
        Ok(())
    }

    /// Every image with its names, newest first (not the build's step images).
    pub fn list(&self) -> Result<Vec<ImageSummary>> {
        self.list_where("WHERE hidden = 0")
    }

    /// Every image, the build's step images too.
    pub(crate) fn list_all(&self) -> Result<Vec<ImageSummary>> {
        self.list_where("")
    }

    fn list_where(&self, filter: &str) -> Result<Vec<ImageSummary>> {
        let mut stmt = self
            .db
            .prepare(&format!(
                "SELECT id, manifest, created, size FROM images {filter} ORDER BY created DESC, id"
            ))
            .map_err(self.dberr())?;
        let rows: Vec<(String, String, String, i64)> = stmt
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
            .map_err(self.dberr())?
            .collect::<std::result::Result<_, _>>()
            .map_err(self.dberr())?;
        let mut out = Vec::new();
        for (id, manifest, created, size) in rows {
            let parse = |s: &str| {
                s.parse::<Digest>().map_err(|e| Error::Corrupt {
                    what: "digest",
                    digest: s.to_string(),
                    message: e.to_string(),
                })
            };
            out.push(ImageSummary {
                tags: self.tags_of(&id)?,
                id: parse(&id)?,
                manifest: parse(&manifest)?,
                created,
                size: size as u64,
            });
        }
        Ok(out)
    }

    fn tags_of(&self, id: &str) -> Result<Vec<Reference>> {
        let mut stmt = self
            .db
            .prepare("SELECT name FROM tags WHERE image = ?1 ORDER BY name")
            .map_err(self.dberr())?;
        let names: Vec<String> = stmt
            .query_map(params![id], |r| r.get(0))
            .map_err(self.dberr())?
            .collect::<std::result::Result<_, _>>()
            .map_err(self.dberr())?;
        Ok(names.iter().filter_map(|n| n.parse().ok()).collect())
    }

    /// The image's config document.
    pub fn config(&self, id: &Digest) -> Result<Value> {
        let b = self.content.read(id)?;
        serde_json::from_slice(&b).map_err(|e| Error::Corrupt {
            what: "config",
            digest: id.to_string(),
            message: e.to_string(),
        })
    }

    /// The manifest digest of an image.
    pub fn manifest_of(&self, id: &Digest) -> Result<Digest> {
        let m: String = self
            .db
            .query_row(
                "SELECT manifest FROM images WHERE id = ?1",
                params![id.to_string()],
                |r| r.get(0),
            )
            .map_err(self.dberr())?;
        m.parse().map_err(|e: content::DigestError| Error::Corrupt {
            what: "manifest",
            digest: id.to_string(),
            message: e.to_string(),
        })
    }

    /// Layer diff ids, bottom first.
    pub fn diff_ids(&self, id: &Digest) -> Result<Vec<Digest>> {
        let c = self.config(id)?;
        c["rootfs"]["diff_ids"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|d| {
                let s = d.as_str().unwrap_or_default();
                s.parse::<Digest>().map_err(|e| Error::Corrupt {
                    what: "config",
                    digest: id.to_string(),
                    message: format!("diff id {s:?}: {e}"),
                })
            })
            .collect()
    }

    /// Docker-shaped `image inspect` JSON.
    pub fn inspect(&self, what: &str) -> Result<Value> {
        let id = self.resolve(what)?;
        let c = self.config(&id)?;
        let summary = self
            .list()?
            .into_iter()
            .find(|s| s.id == id)
            .ok_or_else(|| Error::NotFound(what.to_string()))?;
        Ok(json!({
            "Id": id.to_string(),
            "RepoTags": summary.tags.iter().map(Reference::familiar).collect::<Vec<_>>(),
            "RepoDigests": self.repo_digests(&id)?,
            "Parent": "",
            // Docker's: the config's comment, which commit and import set (their
            // message), as the newest history entry also has it.
            "Comment": c.get("comment").cloned().unwrap_or_else(|| {
                c["history"]
                    .as_array()
                    .and_then(|h| h.last())
                    .and_then(|e| e.get("comment").cloned())
                    .unwrap_or(json!(""))
            }),
            "Created": c["created"],
            "DockerVersion": "",
            "Author": c.get("author").cloned().unwrap_or(json!("")),
            "Architecture": c["architecture"],
            "Os": c["os"],
            "Size": summary.size,
            "VirtualSize": summary.size,
            "Config": c.get("config").cloned().unwrap_or(json!({})),
            "RootFS": {"Type": "layers", "Layers": c["rootfs"]["diff_ids"]},
            // Go's zero time, as dockerd writes it: the docker CLI parses the field.
            "Metadata": {"LastTagTime": "0001-01-01T00:00:00Z"},
        }))
    }

    /// An overlay snapshot for a container: the image's layers as read-only lower dirs and
    /// a fresh writable upper and work dir under `dir`. Returns what to mount (the engine
    /// mounts it; this crate never does).
    pub fn snapshot(&self, id: &Digest, dir: &Path) -> Result<MountSpec> {
        let lowers = self.layer_dirs(id)?;
        let (upper, work) = (dir.join("upper"), dir.join("work"));
        for d in [&upper, &work] {
            std::fs::create_dir_all(d).map_err(|source| Error::Io {
                op: "create",
                path: d.clone(),
                source,
            })?;
        }
        // overlayfs wants the top layer first.
        let lower: Vec<String> = lowers
            .iter()
            .rev()
            .map(|p| p.display().to_string())
            .collect();
        let options = format!(
            "lowerdir={},upperdir={},workdir={}{}",
            lower.join(":"),
            upper.display(),
            work.display(),
            crate::overlay::mount_options()
        );
        Ok(MountSpec {
            fstype: "overlay".into(),
            source: "overlay".into(),
            options,
            lowers,
            upper,
            work,
        })
    }

    /// Unpack the image's layers (once per chain id, shared by all images) and return the
    /// directories, bottom layer first.
    pub fn layer_dirs(&self, id: &Digest) -> Result<Vec<PathBuf>> {
        let m_digest: String = self
            .db
            .query_row(
                "SELECT manifest FROM images WHERE id = ?1",
                params![id.to_string()],
                |r| r.get(0),
            )
            .map_err(self.dberr())?;
        let m_digest: Digest =
            m_digest
                .parse()
                .map_err(|e: content::DigestError| Error::Corrupt {
                    what: "manifest",
                    digest: id.to_string(),
                    message: e.to_string(),
                })?;
        let m: Value =
            serde_json::from_slice(&self.content.read(&m_digest)?).map_err(|e| Error::Corrupt {
                what: "manifest",
                digest: m_digest.to_string(),
                message: e.to_string(),
            })?;
        let diff_ids = self.diff_ids(id)?;
        let chains = chain_ids(&diff_ids);
        let layers: Vec<&Value> = m["layers"].as_array().into_iter().flatten().collect();
        if layers.len() != diff_ids.len() {
            return Err(Error::Corrupt {
                what: "manifest",
                digest: m_digest.to_string(),
                message: "layer count differs from the config's diff ids".into(),
            });
        }
        let mut dirs = Vec::new();
        for (layer, chain) in layers.iter().zip(&chains) {
            let dir = self.root.join("layers").join(chain.hex());
            if !dir.join(".done").exists() {
                let blob: Digest = layer["digest"]
                    .as_str()
                    .unwrap_or_default()
                    .parse()
                    .map_err(|e: content::DigestError| Error::Corrupt {
                        what: "manifest",
                        digest: m_digest.to_string(),
                        message: e.to_string(),
                    })?;
                let tmp = self.root.join("layers").join(format!(
                    ".tmp-{}-{}",
                    chain.hex(),
                    std::process::id()
                ));
                let _ = std::fs::remove_dir_all(&tmp);
                std::fs::create_dir(&tmp).map_err(|source| Error::Io {
                    op: "create",
                    path: tmp.clone(),
                    source,
                })?;
                let data = tmp.join("fs");
                std::fs::create_dir(&data).map_err(|source| Error::Io {
                    op: "create",
                    path: data.clone(),
                    source,
                })?;
                let res = crate::layer::unpack(self.content.open_blob(&blob)?, &data);
                if let Err(e) = res {
                    let _ = std::fs::remove_dir_all(&tmp);
                    return Err(e.into());
                }
                std::fs::write(tmp.join(".done"), b"").map_err(|source| Error::Io {
                    op: "write",
                    path: tmp.clone(),
                    source,
                })?;
                // Another process may have finished the same layer first: keep theirs.
                if std::fs::rename(&tmp, &dir).is_err() {
                    let _ = std::fs::remove_dir_all(&tmp);
                }
            }
            dirs.push(dir.join("fs"));
        }
        Ok(dirs)
    }
}

/// The digest of `bytes` written the way a hasher sees them (used by tests and callers that
/// build documents).
pub fn sha256_of(bytes: &[u8]) -> Digest {
    let mut h = Sha256::new();
    h.update(bytes);
    Digest::from_hasher(h)
}

/// Read every entry of a tar stream to its end: Err names the entry that is cut short or
/// the header that does not parse.
fn check_tar(r: impl Read) -> std::result::Result<(), String> {
    let mut ar = tar::Archive::new(std::io::BufReader::with_capacity(256 * 1024, r));
    let mut last = String::from("the first entry");
    for entry in ar.entries().map_err(|e| e.to_string())? {
        let mut entry = entry.map_err(|e| format!("after {last}: {e}"))?;
        last = entry.path().map_or_else(
            |_| "an entry with a bad name".to_string(),
            |p| p.display().to_string(),
        );
        let want = entry
            .header()
            .entry_size()
            .map_err(|e| format!("{last}: {e}"))?;
        let got =
            std::io::copy(&mut entry, &mut std::io::sink()).map_err(|e| format!("{last}: {e}"))?;
        if got != want {
            return Err(format!("{last}: {got} of {want} bytes"));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tar_of(files: &[(&str, &[u8])]) -> Vec<u8> {
        let mut b = tar::Builder::new(Vec::new());
        for (name, data) in files {
            let mut h = tar::Header::new_ustar();
            h.set_path(name).expect("path");
            h.set_size(data.len() as u64);
            h.set_mode(0o644);
            h.set_cksum();
            b.append(&h, *data).expect("append");
        }
        b.into_inner().expect("tar")
    }

    #[test]
    fn import_tag_list_inspect_remove_gc() {
        let tmp = tempfile::tempdir().expect("tmp");
        let mut s = ImageStore::open(tmp.path()).expect("open");
        let name: Reference = "localbusybox".parse().expect("ref");
        let t = tar_of(&[("etc/hostname", b"x\n")]);
        let id = s
            .import(&t[..], Some(&name), &["CMD [\"/bin/sh\"]".into()], None)
            .expect("import");
        assert_eq!(s.resolve("localbusybox").expect("by name"), id);
        assert_eq!(s.resolve(&id.hex()[..12]).expect("by id"), id);
        s.tag("localbusybox", &"example.com/a/b:1".parse().expect("ref"))
            .expect("tag");
        let l = s.list().expect("list");
        assert_eq!(l.len(), 1);
        assert_eq!(l[0].tags.len(), 2);
        let i = s.inspect("example.com/a/b:1").expect("inspect");
        assert_eq!(i["Config"]["Cmd"], json!(["/bin/sh"]));
        assert_eq!(
            i["RepoTags"],
            json!(["localbusybox:latest", "example.com/a/b:1"])
        );
        // By id with two names: refused without force.
        assert!(s.remove(&id.hex()[..12], false).is_err());
        assert_eq!(
            s.remove("localbusybox", false).expect("untag"),
            vec![Removed::Untagged("localbusybox:latest".into())]
        );
        let layer = chain_ids(&s.diff_ids(&id).expect("diff ids"))
            .pop()
            .expect("chain");
        let lines: Vec<String> = s
            .remove("example.com/a/b:1", false)
            .expect("rmi")
            .iter()
            .map(ToString::to_string)
            .collect();
        // The image, then the layer no other image has (by chain id), as docker says.
        assert_eq!(
            lines[lines.len() - 2..],
            [format!("Deleted: {id}"), format!("Deleted: {layer}")]
        );
        assert!(s.list().expect("list").is_empty());
        assert!(s.gc().expect("gc") > 0);
        assert!(s.content().list().expect("blobs").is_empty());
    }

    #[test]
    fn a_pulled_image_is_removed_with_its_repo_digests() {
        let tmp = tempfile::tempdir().expect("tmp");
        let mut s = ImageStore::open(tmp.path()).expect("open");
        let name: Reference = "example.com/a/b:1".parse().expect("ref");
        let t = tar_of(&[("etc/hostname", b"x\n")]);
        // What a pull leaves: a name and a repository digest.
        let id = s.import(&t[..], Some(&name), &[], None).expect("import");
        let manifest = s.manifest_of(&id).expect("manifest");
        s.record_repo_digest(&id, &name, &manifest)
            .expect("repo digest");
        let layer = chain_ids(&s.diff_ids(&id).expect("diff ids"))
            .pop()
            .expect("chain");
        let lines: Vec<String> = s
            .remove("example.com/a/b:1", false)
            .expect("rmi")
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(
            lines,
            vec![
                "Untagged: example.com/a/b:1".to_string(),
                format!("Untagged: example.com/a/b@{manifest}"),
                format!("Deleted: {id}"),
                format!("Deleted: {layer}"),
            ]
        );
        assert!(s.list().expect("list").is_empty());
        // What a failed removal used to leave: no name, the digest row still there.
        let id = s.import(&t[..], Some(&name), &[], None).expect("import");
        s.record_repo_digest(&id, &name, &manifest)
            .expect("repo digest");
        s.db.execute("DELETE FROM tags", []).expect("untag");
        let lines = s.remove(&id.hex()[..12], false).expect("rmi by id");
        assert!(
            lines.contains(&Removed::Deleted(id.to_string())),
            "{lines:?}"
        );
        assert!(s.list().expect("list").is_empty());
        let left: i64 =
            s.db.query_row("SELECT count(*) FROM digests", [], |r| r.get(0))
                .expect("count");
        assert_eq!(left, 0);
    }

    #[test]
    fn not_a_tar_is_refused() {
        let tmp = tempfile::tempdir().expect("tmp");
        let mut s = ImageStore::open(tmp.path()).expect("open");
        let e = s
            .import(&b"hello, not a tar"[..], None, &[], None)
            .expect_err("refused");
        assert!(e.to_string().contains("not a tar"), "{e}");
        assert!(s.list().expect("list").is_empty());
    }

    #[test]
    fn chain_ids_follow_the_spec() {
        let a = Digest::of(b"a");
        let b = Digest::of(b"b");
        let c = chain_ids(&[a.clone(), b.clone()]);
        assert_eq!(c[0], a);
        assert_eq!(c[1], Digest::of(format!("{a} {b}").as_bytes()));
    }
}
