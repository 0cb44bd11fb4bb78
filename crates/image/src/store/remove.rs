//! Removing images and collecting what no image uses any more.

use std::collections::HashSet;

use content::Digest;
use rusqlite::{params, OptionalExtension, Transaction, TransactionBehavior};
use serde_json::Value;

use super::{chain_ids, Error, ImageStore, Result};

/// One step of a removal, as Docker reports it (the Engine API's
/// `ImageDeleteResponseItem`; `Untagged: busybox:latest` as text).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Removed {
    /// A name that no longer points at the image.
    Untagged(String),
    /// An image or a layer (by chain id) deleted.
    Deleted(String),
}

impl std::fmt::Display for Removed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Removed::Untagged(n) => write!(f, "Untagged: {n}"),
            Removed::Deleted(d) => write!(f, "Deleted: {d}"),
        }
    }
}

impl ImageStore {
    /// Remove a name only, whatever is left of its image (which then stays, without a
    /// name when it was its last: Docker's `rmi -f NAME` of an image a container uses).
    pub fn untag(&mut self, r: &crate::Reference) -> Result<Vec<Removed>> {
        let n = self
            .db
            .execute("DELETE FROM tags WHERE name = ?1", params![r.to_string()])
            .map_err(self.dberr())?;
        if n == 0 {
            return Err(Error::NotFound(r.familiar()));
        }
        Ok(vec![Removed::Untagged(r.familiar())])
    }

    /// Remove a name, or an image by id. An image goes when its last name goes; an image
    /// with several names is only removed by id with `force`. The image's row goes with
    /// every row that refers to it (names and the repository digests recorded at pull),
    /// all in one IMMEDIATE transaction: it is removed whole or not at all. Returns
    /// Docker's steps.
    pub fn remove(&mut self, what: &str, force: bool) -> Result<Vec<Removed>> {
        // `new_unchecked` borrows the connection shared: the lookups below run on it, in
        // the transaction. The write lock is taken first, so nothing changes between them
        // and the deletes (and no read has to be upgraded to a write).
        let tx = Transaction::new_unchecked(&self.db, TransactionBehavior::Immediate)
            .map_err(self.dberr())?;
        let id = self.resolve(what)?;
        let mut lines = Vec::new();
        let by_name = what.parse::<crate::Reference>().ok().filter(|r| {
            tx.query_row(
                "SELECT 1 FROM tags WHERE name = ?1",
                params![r.to_string()],
                |_| Ok(()),
            )
            .optional()
            .ok()
            .flatten()
            .is_some()
        });
        let tags = self.tags_of(&id.to_string())?;
        match by_name {
            Some(r) => {
                tx.execute("DELETE FROM tags WHERE name = ?1", params![r.to_string()])
                    .map_err(self.dberr())?;
                lines.push(Removed::Untagged(r.familiar()));
                if tags.len() > 1 {
                    tx.commit().map_err(self.dberr())?;
                    return Ok(lines);
                }
            }
            None => {
                if tags.len() > 1 && !force {
                    return Err(Error::Conflict(format!(
                        "conflict: unable to delete {} (must be forced) - image is referenced in multiple repositories",
                        &id.hex()[..12]
                    )));
                }
                for t in &tags {
                    lines.push(Removed::Untagged(t.familiar()));
                }
            }
        }
        for d in self.repo_digests(&id)? {
            lines.push(Removed::Untagged(d));
        }
        for table in ["tags", "digests"] {
            tx.execute(
                &format!("DELETE FROM {table} WHERE image = ?1"),
                params![id.to_string()],
            )
            .map_err(self.dberr())?;
        }
        let layers = chain_ids(&self.diff_ids(&id)?);
        tx.execute("DELETE FROM images WHERE id = ?1", params![id.to_string()])
            .map_err(self.dberr())?;
        tx.commit().map_err(self.dberr())?;
        lines.push(Removed::Deleted(id.to_string()));
        // Then the layers no other image has, top first, by chain id: docker's lines.
        let mut kept = HashSet::new();
        for img in self.list_all()? {
            kept.extend(chain_ids(&self.diff_ids(&img.id)?));
        }
        for c in layers.iter().rev().filter(|c| !kept.contains(*c)) {
            lines.push(Removed::Deleted(c.to_string()));
        }
        Ok(lines)
    }

    /// Blobs and unpacked layers referenced by some image.
    fn referenced(&self) -> Result<(HashSet<Digest>, HashSet<String>)> {
        let mut blobs = HashSet::new();
        let mut chains = HashSet::new();
        for img in self.list_all()? {
            blobs.insert(img.id.clone());
            blobs.insert(img.manifest.clone());
            let m: Value =
                serde_json::from_slice(&self.content.read(&img.manifest)?).map_err(|e| {
                    Error::Corrupt {
                        what: "manifest",
                        digest: img.manifest.to_string(),
                        message: e.to_string(),
                    }
                })?;
            for l in m["layers"].as_array().into_iter().flatten() {
                if let Some(Ok(d)) = l["digest"].as_str().map(str::parse::<Digest>) {
                    blobs.insert(d);
                }
            }
            for c in chain_ids(&self.diff_ids(&img.id)?) {
                chains.insert(c.hex().to_string());
            }
        }
        Ok((blobs, chains))
    }

    /// Remove blobs and unpacked layers no image uses; returns bytes of blobs freed.
    pub fn gc(&self) -> Result<u64> {
        // What a writer holding a lease wrote since it began may not be referred to
        // yet (the second's slack covers file systems with coarse timestamps).
        let since = self
            .oldest_lease()
            .map(|t| t - std::time::Duration::from_secs(1));
        let (blobs, chains) = self.referenced()?;
        let report = self.content.gc_sparing(&blobs, since)?;
        let layers = self.root.join("layers");
        for e in std::fs::read_dir(&layers)
            .map_err(|source| Error::Io {
                op: "read",
                path: layers.clone(),
                source,
            })?
            .flatten()
        {
            let name = e.file_name().to_string_lossy().into_owned();
            let recent = since.is_some_and(|t| {
                e.metadata()
                    .and_then(|m| m.modified())
                    .is_ok_and(|m| m >= t)
            });
            if !chains.contains(&name) && !recent {
                let _ = std::fs::remove_dir_all(e.path());
            }
        }
        Ok(report.bytes)
    }
}
