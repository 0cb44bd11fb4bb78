//! The registry's shared state (storage root, blob store, users, upload hash states), the
//! name and tag grammars, and the spec's JSON error responses.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use content::{Digest, Store};
use serde_json::json;

use crate::{Config, Error, Result};

/// Hash state of an upload in progress: the hasher and the bytes it has seen.
pub(crate) type HashState = (sha2::Sha256, u64);

pub(crate) struct Ctx {
    pub(crate) root: PathBuf,
    pub(crate) store: Store,
    users: Vec<(String, String)>,
    /// Hash state of uploads in progress (id -> hasher, bytes hashed), so finishing an
    /// upload needs no second read of what was received.
    hashing: Mutex<HashMap<String, HashState>>,
}

pub(crate) type Shared = Arc<Ctx>;

/// A response in the distribution spec's error format.
pub(crate) fn err(status: StatusCode, code: &str, message: &str) -> Response {
    let body = json!({"errors": [{"code": code, "message": message, "detail": null}]}).to_string();
    (status, [("Content-Type", "application/json")], body).into_response()
}

/// A repository name: `/`-separated components of `[a-z0-9._-]`, none empty, `.` or `..`.
pub(crate) fn valid_name(n: &str) -> bool {
    !n.is_empty()
        && n.len() <= 255
        && n.split('/').all(|c| {
            !c.is_empty()
                && c != "."
                && c != ".."
                && c.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b))
        })
}

/// A tag: up to 128 of `[A-Za-z0-9._-]`, not starting with `.` or `-`.
pub(crate) fn valid_tag(t: &str) -> bool {
    !t.is_empty()
        && t.len() <= 128
        && t.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
        && !t.starts_with(['.', '-'])
}

pub(crate) fn digest_of(s: &str) -> Option<Digest> {
    s.parse().ok()
}

impl Ctx {
    /// Make the storage directories, open the blob store, read the users.
    pub(crate) fn open(cfg: Config) -> Result<Ctx> {
        for d in ["repos", "uploads"] {
            let path = cfg.root.join(d);
            std::fs::create_dir_all(&path).map_err(|source| Error::Storage { path, source })?;
        }
        let path = cfg.root.join("content");
        let store = Store::open(&path).map_err(|source| Error::Store {
            op: "open",
            path,
            source,
        })?;
        let users = match &cfg.htpasswd {
            Some(p) => std::fs::read_to_string(p)
                .map_err(|source| Error::Htpasswd {
                    path: p.clone(),
                    source,
                })?
                .lines()
                .filter_map(|l| {
                    l.split_once(':')
                        .map(|(u, h)| (u.to_string(), h.trim().to_string()))
                })
                .collect(),
            None => Vec::new(),
        };
        Ok(Ctx {
            root: cfg.root,
            store,
            users,
            hashing: Default::default(),
        })
    }

    pub(crate) fn repo(&self, name: &str) -> PathBuf {
        self.root.join("repos").join(name)
    }

    /// Write a link file (write to a temp file, rename).
    pub(crate) fn link(&self, p: &Path, content: &str) -> std::io::Result<()> {
        if let Some(d) = p.parent() {
            std::fs::create_dir_all(d)?;
        }
        let tmp = p.with_extension(format!("tmp{}", std::process::id()));
        std::fs::write(&tmp, content)?;
        std::fs::rename(tmp, p)
    }

    /// Record that blob `d` belongs to repository `name`.
    pub(crate) fn link_blob(&self, name: &str, d: &Digest) -> std::io::Result<()> {
        self.link(
            &self.repo(name).join("_layers").join(d.hex()),
            &d.to_string(),
        )
    }

    /// Whether the request carries credentials of a user in the htpasswd file (always, when
    /// there is none).
    pub(crate) fn authorized(&self, headers: &HeaderMap) -> bool {
        if self.users.is_empty() {
            return true;
        }
        use base64::Engine as _;
        let Some(v) = headers.get("authorization").and_then(|v| v.to_str().ok()) else {
            return false;
        };
        let Some(b) = v.strip_prefix("Basic ") else {
            return false;
        };
        let Ok(raw) = base64::engine::general_purpose::STANDARD.decode(b.trim()) else {
            return false;
        };
        let s = String::from_utf8_lossy(&raw);
        let Some((u, p)) = s.split_once(':') else {
            return false;
        };
        self.users
            .iter()
            .any(|(user, hash)| user == u && bcrypt::verify(p, hash).unwrap_or(false))
    }

    /// Take the hash state of upload `id` if it has hashed exactly `len` bytes.
    pub(crate) fn take_state(&self, id: &str, len: u64) -> Option<HashState> {
        let st = self.hashing.lock().ok()?.remove(id)?;
        (st.1 == len).then_some(st)
    }

    pub(crate) fn put_state(&self, id: &str, st: HashState) {
        if let Ok(mut m) = self.hashing.lock() {
            m.insert(id.to_string(), st);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_the_distribution_grammar() {
        for ok in ["a", "a/b", "library/busybox", "a/b/c/d", "x.y_z-1/0"] {
            assert!(valid_name(ok), "{ok}");
        }
        let long = "a".repeat(256);
        for bad in [
            "", "A", "a//b", "/a", "a/", "a/../b", ".", "a/./b", "a b", "a%2fb", &long,
        ] {
            assert!(!valid_name(bad), "{bad}");
        }
    }

    #[test]
    fn tags_follow_the_distribution_grammar() {
        for ok in ["latest", "v1.2.3", "A_b-c", "1"] {
            assert!(valid_tag(ok), "{ok}");
        }
        let long = "a".repeat(129);
        for bad in ["", ".x", "-x", "a:b", "a/b", &long] {
            assert!(!valid_tag(bad), "{bad}");
        }
    }
}
