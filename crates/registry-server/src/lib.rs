//! quai's OCI distribution registry: `quai registry serve` (axum on tokio, in its own
//! process) and `quai registry gc`.
//!
//! It owns the registry's storage layout and the distribution API's server side: uploads
//! (POST, PATCH with Content-Range, PUT with digest, monolithic POST, cross-repository
//! mount), blobs with ranges, manifests by tag and digest with their media type, tag lists
//! and `_catalog` with pagination, referrers, htpasswd (bcrypt) basic auth, TLS (rustls with
//! ring), and the spec's JSON error codes. Requests are routed by axum's `Router`; the one
//! piece axum cannot express, a repository name with slashes in the middle of the path, is
//! split off by `routes::split` before the endpoint routes match.
//!
//! Blobs live in a `content` store (verified on upload, committed by rename, so concurrent
//! pushes of one blob cannot corrupt it); repositories are directories of links:
//! `repos/<name>/_layers/<hex>` (the blob belongs to the repository),
//! `repos/<name>/_manifests/revisions/<hex>` (holds the manifest's media type),
//! `repos/<name>/_manifests/tags/<tag>` (holds a digest) and
//! `repos/<name>/_referrers/<subject hex>/<hex>` (holds the referrer's media type). Uploads
//! in progress are files in `uploads/<id>`.
//!
//! Depends on `content` only. It must never depend on the runtime, the engine or `net` (a
//! registry is a file server, and those fork or change the host), nor on the `registry`
//! client crate.

mod blobs;
mod gc;
mod manifests;
mod routes;
mod state;
mod tls;

use std::path::PathBuf;

pub use gc::gc;
pub use tls::serve_tls;

/// Server settings.
pub struct Config {
    /// Storage root.
    pub root: PathBuf,
    /// htpasswd file (bcrypt entries) for basic auth, if any.
    pub htpasswd: Option<PathBuf>,
}

/// Registry server errors, each naming the operation and the object.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The storage directories could not be made.
    #[error("create registry storage {path}: {source}")]
    Storage {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The blob store could not be opened (or collected).
    #[error("{op} the blob store under {path}: {source}")]
    Store {
        op: &'static str,
        path: PathBuf,
        #[source]
        source: content::Error,
    },
    /// The htpasswd file could not be read.
    #[error("read htpasswd file {path}: {source}")]
    Htpasswd {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The TLS certificate chain could not be read.
    #[error("read TLS certificate {path}: {reason}")]
    Certificate { path: PathBuf, reason: String },
    /// The TLS key could not be read.
    #[error("read TLS key {path}: {reason}")]
    Key { path: PathBuf, reason: String },
    /// rustls refused the certificate and key.
    #[error("TLS certificate {cert} and key {key}: {source}")]
    Tls {
        cert: PathBuf,
        key: PathBuf,
        #[source]
        source: rustls::Error,
    },
    /// Accepting or serving connections failed.
    #[error("serve the registry on {addr}: {source}")]
    Serve {
        addr: String,
        #[source]
        source: std::io::Error,
    },
}

/// Result alias.
pub type Result<T, E = Error> = std::result::Result<T, E>;

async fn shutdown() {
    let _ = tokio::signal::ctrl_c().await;
}

fn addr_of(listener: &tokio::net::TcpListener) -> String {
    listener
        .local_addr()
        .map(|a| a.to_string())
        .unwrap_or_else(|_| "?".to_string())
}

/// Serve plain HTTP until interrupted.
pub async fn serve(cfg: Config, listener: tokio::net::TcpListener) -> Result<()> {
    let app = routes::app(cfg)?;
    let addr = addr_of(&listener);
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown())
        .await
        .map_err(|source| Error::Serve { addr, source })
}
