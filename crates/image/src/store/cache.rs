//! The builder's cache in `state.db`: a step's cache key -> the (hidden) image it made,
//! and the content hashes of context files keyed by what `stat` says of them.

use std::collections::HashSet;

use content::Digest;
use rusqlite::{params, OptionalExtension};

use super::{Error, ImageStore, Result};

/// One cache entry as `builder du` lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CacheEntry {
    /// The step's key.
    pub key: String,
    /// The image it made.
    pub image: Digest,
    /// The image is a build step's (not a named or listed image).
    pub hidden: bool,
    /// Bytes of its own layers (the last layer; 0 for a config-only image).
    pub size: u64,
    /// Unix seconds of its last use.
    pub last_used: i64,
}

/// What a stat of a context file says, to know whether its stored hash still holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileStamp {
    /// Size in bytes.
    pub size: u64,
    /// Modification time in nanoseconds.
    pub mtime: i64,
    /// Inode number.
    pub ino: u64,
}

fn now_secs() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

impl ImageStore {
    /// The image a step with this key made, if it is still there (and mark it used).
    pub fn cache_get(&self, key: &str) -> Result<Option<Digest>> {
        let found: Option<String> = self
            .db
            .query_row(
                "SELECT c.image FROM build_cache c JOIN images i ON i.id = c.image WHERE c.key = ?1",
                params![key],
                |r| r.get(0),
            )
            .optional()
            .map_err(self.dberr())?;
        let Some(id) = found else {
            return Ok(None);
        };
        self.db
            .execute(
                "UPDATE build_cache SET last_used = ?2 WHERE key = ?1",
                params![key, now_secs()],
            )
            .map_err(self.dberr())?;
        id.parse()
            .map(Some)
            .map_err(|e: content::DigestError| Error::Corrupt {
                what: "build cache image id",
                digest: id,
                message: e.to_string(),
            })
    }

    /// Remember that the step with this key made `image`.
    pub fn cache_put(&self, key: &str, image: &Digest) -> Result<()> {
        self.db
            .execute(
                "INSERT INTO build_cache (key, image, created, last_used) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT(key) DO UPDATE SET image = excluded.image, last_used = excluded.last_used",
                params![key, image.to_string(), clock::now_rfc3339_secs(), now_secs()],
            )
            .map_err(self.dberr())?;
        Ok(())
    }

    /// Every cache entry, most recently used first.
    pub fn cache_entries(&self) -> Result<Vec<CacheEntry>> {
        let mut stmt = self
            .db
            .prepare(
                "SELECT c.key, c.image, c.last_used, COALESCE(i.hidden, 1) FROM build_cache c
                 LEFT JOIN images i ON i.id = c.image ORDER BY c.last_used DESC, c.key",
            )
            .map_err(self.dberr())?;
        let rows: Vec<(String, String, i64, bool)> = stmt
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
            .map_err(self.dberr())?
            .collect::<std::result::Result<_, _>>()
            .map_err(self.dberr())?;
        let mut out = Vec::new();
        for (key, image, last_used, hidden) in rows {
            let Ok(image) = image.parse::<Digest>() else {
                continue;
            };
            let size = self
                .layers(&image)
                .ok()
                .and_then(|l| l.last().map(|l| l.size))
                .unwrap_or(0);
            out.push(CacheEntry {
                key,
                image,
                hidden,
                size,
                last_used,
            });
        }
        Ok(out)
    }

    /// `builder prune`: forget cache entries (all of them, or those of build steps'
    /// images only, and with `older_than` only those unused since then), remove the step
    /// images nothing refers to any more (not `in_use` by a container), and collect their
    /// blobs and layers. Returns the entries removed and the bytes freed.
    pub fn cache_prune(
        &mut self,
        all: bool,
        older_than: Option<i64>,
        in_use: &HashSet<String>,
    ) -> Result<(usize, u64)> {
        let cutoff = older_than.unwrap_or(i64::MAX);
        let removed = if all {
            self.db
                .execute(
                    "DELETE FROM build_cache WHERE last_used < ?1",
                    params![cutoff],
                )
                .map_err(self.dberr())?
        } else {
            self.db
                .execute(
                    "DELETE FROM build_cache WHERE last_used < ?1 AND image IN
                     (SELECT id FROM images WHERE hidden = 1)",
                    params![cutoff],
                )
                .map_err(self.dberr())?
        };
        let orphans: Vec<String> = {
            let mut stmt = self
                .db
                .prepare(
                    "SELECT id FROM images WHERE hidden = 1
                     AND id NOT IN (SELECT image FROM build_cache)",
                )
                .map_err(self.dberr())?;
            let v: Vec<String> = stmt
                .query_map([], |r| r.get(0))
                .map_err(self.dberr())?
                .collect::<std::result::Result<_, _>>()
                .map_err(self.dberr())?;
            v
        };
        for id in orphans.iter().filter(|id| !in_use.contains(*id)) {
            self.remove(id, true)?;
        }
        let freed = self.gc()?;
        Ok((removed, freed))
    }

    /// The stored content hash of a context file, if its stamp still matches.
    pub fn file_hash(&self, path: &str, stamp: FileStamp) -> Result<Option<String>> {
        self.db
            .query_row(
                "SELECT hash FROM build_file_hashes WHERE path = ?1 AND size = ?2 AND mtime = ?3 AND ino = ?4",
                params![path, stamp.size as i64, stamp.mtime, stamp.ino as i64],
                |r| r.get(0),
            )
            .optional()
            .map_err(self.dberr())
    }

    /// Remember the content hashes of context files (one transaction).
    pub fn put_file_hashes(&mut self, rows: &[(String, FileStamp, String)]) -> Result<()> {
        if rows.is_empty() {
            return Ok(());
        }
        let db_path = self.db_path.clone();
        let tx = self.db.transaction().map_err(|source| Error::Db {
            path: db_path.clone(),
            source,
        })?;
        for (path, st, hash) in rows {
            tx.execute(
                "INSERT INTO build_file_hashes (path, size, mtime, ino, hash) VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT(path) DO UPDATE SET size = excluded.size, mtime = excluded.mtime,
                     ino = excluded.ino, hash = excluded.hash",
                params![path, st.size as i64, st.mtime, st.ino as i64, hash],
            )
            .map_err(|source| Error::Db {
                path: db_path.clone(),
                source,
            })?;
        }
        tx.commit().map_err(|source| Error::Db {
            path: db_path,
            source,
        })
    }
}
