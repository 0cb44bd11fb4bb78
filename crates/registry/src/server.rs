//! `quai registry serve`: an OCI distribution registry.
//!
//! Blobs live in a `content` store (verified on upload, committed by rename, so
//! concurrent pushes of one blob cannot corrupt it); repositories are directories of links:
//! `repos/<name>/_layers/<hex>` (blob belongs to the repository),
//! `repos/<name>/_manifests/revisions/<hex>` (holds the manifest's media type) and
//! `repos/<name>/_manifests/tags/<tag>` (holds a digest). Uploads in progress are files in
//! `uploads/<id>`. Errors use the spec's JSON error codes.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use content::{Digest, Store};
use futures_util::StreamExt;
use serde_json::json;
use tokio::io::{AsyncSeekExt, AsyncWriteExt};

/// Server settings.
pub struct Config {
    /// Storage root.
    pub root: PathBuf,
    /// htpasswd file (bcrypt entries) for basic auth, if any.
    pub htpasswd: Option<PathBuf>,
}

struct Ctx {
    root: PathBuf,
    store: Store,
    users: Vec<(String, String)>,
    /// Hash state of uploads in progress (id -> hasher, bytes hashed), so finishing an
    /// upload needs no second read of what was received.
    hashing: std::sync::Mutex<std::collections::HashMap<String, (sha2::Sha256, u64)>>,
}

type Shared = Arc<Ctx>;

fn err(status: StatusCode, code: &str, message: &str) -> Response {
    let body = json!({"errors": [{"code": code, "message": message, "detail": null}]}).to_string();
    (status, [("Content-Type", "application/json")], body).into_response()
}

fn valid_name(n: &str) -> bool {
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

fn valid_tag(t: &str) -> bool {
    !t.is_empty()
        && t.len() <= 128
        && t.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
        && !t.starts_with(['.', '-'])
}

impl Ctx {
    fn repo(&self, name: &str) -> PathBuf {
        self.root.join("repos").join(name)
    }

    fn link(&self, p: &Path, content: &str) -> std::io::Result<()> {
        if let Some(d) = p.parent() {
            std::fs::create_dir_all(d)?;
        }
        let tmp = p.with_extension(format!("tmp{}", std::process::id()));
        std::fs::write(&tmp, content)?;
        std::fs::rename(tmp, p)
    }

    fn authorized(&self, headers: &HeaderMap) -> bool {
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
}

/// Build the registry's router over its storage.
fn app(cfg: Config) -> std::io::Result<axum::Router> {
    for d in ["repos", "uploads"] {
        std::fs::create_dir_all(cfg.root.join(d))?;
    }
    let store = Store::open(cfg.root.join("content")).map_err(std::io::Error::other)?;
    let users = match &cfg.htpasswd {
        Some(p) => std::fs::read_to_string(p)?
            .lines()
            .filter_map(|l| {
                l.split_once(':')
                    .map(|(u, h)| (u.to_string(), h.trim().to_string()))
            })
            .collect(),
        None => Vec::new(),
    };
    let ctx = Arc::new(Ctx {
        root: cfg.root,
        store,
        users,
        hashing: Default::default(),
    });
    Ok(axum::Router::new().fallback(route).with_state(ctx))
}

async fn shutdown() {
    let _ = tokio::signal::ctrl_c().await;
}

/// Serve plain HTTP until interrupted.
pub async fn serve(cfg: Config, listener: tokio::net::TcpListener) -> std::io::Result<()> {
    let app = app(cfg)?;
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown())
        .await
}

/// Serve HTTPS with the PEM certificate chain `cert` and key `key` until interrupted.
pub async fn serve_tls(
    cfg: Config,
    listener: tokio::net::TcpListener,
    cert: &Path,
    key: &Path,
) -> std::io::Result<()> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let bad = |what: &str, p: &Path, e: String| {
        std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            format!("{what} {}: {e}", p.display()),
        )
    };
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
        .map_err(|e| bad("certificate", cert, e.to_string()))?
        .collect::<Result<_, _>>()
        .map_err(|e| bad("certificate", cert, e.to_string()))?;
    let key = PrivateKeyDer::from_pem_file(key).map_err(|e| bad("key", key, e.to_string()))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let tls = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| std::io::Error::other(e.to_string()))?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| {
            std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                format!("TLS certificate and key: {e}"),
            )
        })?;
    let app = app(cfg)?;
    let listener = TlsListener {
        tcp: listener,
        acceptor: tokio_rustls::TlsAcceptor::from(Arc::new(tls)),
    };
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown())
        .await
}

/// TCP plus a TLS handshake; a failed handshake drops that connection only.
struct TlsListener {
    tcp: tokio::net::TcpListener,
    acceptor: tokio_rustls::TlsAcceptor,
}

impl axum::serve::Listener for TlsListener {
    type Io = tokio_rustls::server::TlsStream<tokio::net::TcpStream>;
    type Addr = std::net::SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            let (stream, addr) = match self.tcp.accept().await {
                Ok(c) => c,
                Err(_) => {
                    tokio::time::sleep(std::time::Duration::from_millis(10)).await;
                    continue;
                }
            };
            let hs = tokio::time::timeout(
                std::time::Duration::from_secs(10),
                self.acceptor.accept(stream),
            )
            .await;
            if let Ok(Ok(tls)) = hs {
                return (tls, addr);
            }
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        self.tcp.local_addr()
    }
}

async fn route(State(ctx): State<Shared>, req: Request) -> Response {
    let path = req.uri().path().to_string();
    let query = req.uri().query().unwrap_or("").to_string();
    let method = req.method().clone();
    if !ctx.authorized(req.headers()) {
        let mut r = err(
            StatusCode::UNAUTHORIZED,
            "UNAUTHORIZED",
            "authentication required",
        );
        r.headers_mut().insert(
            "WWW-Authenticate",
            HeaderValue::from_static("Basic realm=\"quai-registry\""),
        );
        return r;
    }
    let mut resp = dispatch(&ctx, method, &path, &query, req).await;
    resp.headers_mut().insert(
        "Docker-Distribution-API-Version",
        HeaderValue::from_static("registry/2.0"),
    );
    resp
}

/// A query parameter, percent-decoded (`sha256%3A...`).
fn param(query: &str, key: &str) -> Option<String> {
    let raw = query
        .split('&')
        .find_map(|kv| kv.strip_prefix(key)?.strip_prefix('='))?;
    let b = raw.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'%' if i + 2 < b.len() => {
                let h = std::str::from_utf8(&b[i + 1..i + 3])
                    .ok()
                    .and_then(|h| u8::from_str_radix(h, 16).ok());
                match h {
                    Some(v) => {
                        out.push(v);
                        i += 3;
                    }
                    None => {
                        out.push(b'%');
                        i += 1;
                    }
                }
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8(out).ok()
}

async fn dispatch(ctx: &Shared, method: Method, path: &str, query: &str, req: Request) -> Response {
    if path == "/v2/" || path == "/v2" {
        return (StatusCode::OK, [("Content-Type", "application/json")], "{}").into_response();
    }
    if path == "/v2/_catalog" {
        return catalog(ctx, query);
    }
    let Some(rest) = path.strip_prefix("/v2/") else {
        return err(StatusCode::NOT_FOUND, "NOT_FOUND", "not found");
    };
    // <name>/(blobs|manifests|tags|referrers)/...; the name itself may contain slashes.
    for kind in [
        "/blobs/uploads/",
        "/blobs/uploads",
        "/blobs/",
        "/manifests/",
        "/tags/list",
        "/referrers/",
    ] {
        if let Some(i) = rest.rfind(kind) {
            let name = &rest[..i];
            let tail = &rest[i + kind.len()..];
            if !valid_name(name) {
                return err(
                    StatusCode::BAD_REQUEST,
                    "NAME_INVALID",
                    "invalid repository name",
                );
            }
            return match (kind, method) {
                ("/blobs/uploads/" | "/blobs/uploads", Method::POST) if tail.is_empty() => {
                    start_upload(ctx, name, query, req).await
                }
                ("/blobs/uploads/", Method::PATCH) => patch_upload(ctx, name, tail, req).await,
                ("/blobs/uploads/", Method::PUT) => {
                    finish_upload(ctx, name, tail, query, req).await
                }
                ("/blobs/uploads/", Method::GET) => upload_status(ctx, name, tail),
                ("/blobs/uploads/", Method::DELETE) => {
                    let _ = take_state(ctx, tail, u64::MAX);
                    let _ = std::fs::remove_file(ctx.root.join("uploads").join(tail));
                    StatusCode::NO_CONTENT.into_response()
                }
                ("/blobs/", Method::GET | Method::HEAD) => {
                    get_blob(ctx, name, tail, req.method() == Method::HEAD, req.headers()).await
                }
                ("/blobs/", Method::DELETE) => {
                    let _ = std::fs::remove_file(
                        ctx.repo(name)
                            .join("_layers")
                            .join(tail.trim_start_matches("sha256:")),
                    );
                    StatusCode::ACCEPTED.into_response()
                }
                ("/manifests/", Method::GET | Method::HEAD) => {
                    get_manifest(ctx, name, tail, req.method() == Method::HEAD)
                }
                ("/manifests/", Method::PUT) => put_manifest(ctx, name, tail, req).await,
                ("/manifests/", Method::DELETE) => delete_manifest(ctx, name, tail),
                ("/tags/list", Method::GET) => tags_list(ctx, name, query),
                ("/referrers/", Method::GET) => referrers(ctx, name, tail),
                _ => err(
                    StatusCode::METHOD_NOT_ALLOWED,
                    "UNSUPPORTED",
                    "method not allowed",
                ),
            };
        }
    }
    err(StatusCode::NOT_FOUND, "NOT_FOUND", "not found")
}

/// 201 for a blob now in repository `name`.
fn blob_created(name: &str, d: &Digest) -> Response {
    (
        StatusCode::CREATED,
        [
            ("Location", format!("/v2/{name}/blobs/{d}")),
            ("Docker-Content-Digest", d.to_string()),
        ],
    )
        .into_response()
}

fn digest_of(s: &str) -> Option<Digest> {
    s.parse().ok()
}

fn link_blob(ctx: &Ctx, name: &str, d: &Digest) -> std::io::Result<()> {
    ctx.link(
        &ctx.repo(name).join("_layers").join(d.hex()),
        &d.to_string(),
    )
}

async fn start_upload(ctx: &Shared, name: &str, query: &str, req: Request) -> Response {
    // Cross-repository mount.
    if let (Some(m), Some(from)) = (
        param(query, "mount").as_deref().and_then(digest_of),
        param(query, "from"),
    ) {
        if valid_name(&from)
            && ctx.repo(&from).join("_layers").join(m.hex()).exists()
            && ctx.store.has(&m)
            && link_blob(ctx, name, &m).is_ok()
        {
            return blob_created(name, &m);
        }
    }
    // Monolithic upload: POST ...?digest= with the body.
    if let Some(d) = param(query, "digest") {
        let Some(d) = digest_of(&d) else {
            return err(StatusCode::BAD_REQUEST, "DIGEST_INVALID", "invalid digest");
        };
        let id = format!(
            "m{:x}{:x}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|t| t.as_nanos())
                .unwrap_or(0)
        );
        let p = ctx.root.join("uploads").join(&id);
        if std::fs::write(&p, b"").is_err() {
            return err(
                StatusCode::INTERNAL_SERVER_ERROR,
                "UNKNOWN",
                "cannot create upload",
            );
        }
        put_state(ctx, &id, (<sha2::Sha256 as sha2::Digest>::new(), 0));
        return match commit_upload(ctx, &id, &p, req.into_body(), &d).await {
            Ok(()) => {
                let _ = link_blob(ctx, name, &d);
                blob_created(name, &d)
            }
            Err(r) => r,
        };
    }
    let id = format!(
        "{:x}{:x}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0)
    );
    if std::fs::write(ctx.root.join("uploads").join(&id), b"").is_err() {
        return err(
            StatusCode::INTERNAL_SERVER_ERROR,
            "UNKNOWN",
            "cannot create upload",
        );
    }
    (
        StatusCode::ACCEPTED,
        [
            ("Location", format!("/v2/{name}/blobs/uploads/{id}")),
            ("Range", "0-0".to_string()),
            ("Docker-Upload-UUID", id),
        ],
    )
        .into_response()
}

fn upload_path(ctx: &Ctx, id: &str) -> Option<PathBuf> {
    (!id.is_empty() && id.bytes().all(|b| b.is_ascii_alphanumeric()))
        .then(|| ctx.root.join("uploads").join(id))
        .filter(|p| p.exists())
}

fn upload_status(ctx: &Shared, name: &str, id: &str) -> Response {
    let Some(p) = upload_path(ctx, id) else {
        return err(
            StatusCode::NOT_FOUND,
            "BLOB_UPLOAD_UNKNOWN",
            "upload unknown",
        );
    };
    let len = std::fs::metadata(&p).map(|m| m.len()).unwrap_or(0);
    (
        StatusCode::NO_CONTENT,
        [
            ("Location", format!("/v2/{name}/blobs/uploads/{id}")),
            ("Range", format!("0-{}", len.saturating_sub(1))),
        ],
    )
        .into_response()
}

/// Append `body` to the upload file, hashing what is appended when the upload's hash
/// state is known (`state`); returns the new length.
async fn append(
    path: &Path,
    body: Body,
    mut state: Option<&mut (sha2::Sha256, u64)>,
) -> Result<u64, Response> {
    use sha2::Digest as _;
    let file = tokio::fs::OpenOptions::new()
        .append(true)
        .open(path)
        .await
        .map_err(|_| {
            err(
                StatusCode::NOT_FOUND,
                "BLOB_UPLOAD_UNKNOWN",
                "upload unknown",
            )
        })?;
    // Bodies arrive in small frames; each tokio file write is a trip to the blocking pool,
    // so write in 1 MB batches.
    let mut f = tokio::io::BufWriter::with_capacity(1024 * 1024, file);
    let mut stream = body.into_data_stream();
    let mut since_writeback = 0u64;
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|_| {
            err(
                StatusCode::BAD_REQUEST,
                "BLOB_UPLOAD_INVALID",
                "body interrupted",
            )
        })?;
        f.write_all(&chunk)
            .await
            .map_err(|_| err(StatusCode::INTERNAL_SERVER_ERROR, "UNKNOWN", "write failed"))?;
        if let Some(st) = state.as_deref_mut() {
            st.0.update(&chunk);
            st.1 += chunk.len() as u64;
        }
        // Start write-back every 8 MB so the fsync at commit has little left to wait for.
        since_writeback += chunk.len() as u64;
        if since_writeback >= 8 * 1024 * 1024 {
            since_writeback = 0;
            if f.flush().await.is_ok() {
                use std::os::fd::AsRawFd;
                // SAFETY: sync_file_range on our own open fd; it only starts write-back.
                unsafe {
                    libc::sync_file_range(
                        f.get_ref().as_raw_fd(),
                        0,
                        0,
                        libc::SYNC_FILE_RANGE_WRITE,
                    )
                };
            }
        }
    }
    f.flush()
        .await
        .map_err(|_| err(StatusCode::INTERNAL_SERVER_ERROR, "UNKNOWN", "write failed"))?;
    Ok(f.get_ref().metadata().await.map(|m| m.len()).unwrap_or(0))
}

fn take_state(ctx: &Ctx, id: &str, len: u64) -> Option<(sha2::Sha256, u64)> {
    let st = ctx.hashing.lock().ok()?.remove(id)?;
    (st.1 == len).then_some(st)
}

fn put_state(ctx: &Ctx, id: &str, st: (sha2::Sha256, u64)) {
    if let Ok(mut m) = ctx.hashing.lock() {
        m.insert(id.to_string(), st);
    }
}

async fn patch_upload(ctx: &Shared, name: &str, id: &str, req: Request) -> Response {
    let Some(p) = upload_path(ctx, id) else {
        return err(
            StatusCode::NOT_FOUND,
            "BLOB_UPLOAD_UNKNOWN",
            "upload unknown",
        );
    };
    let have = std::fs::metadata(&p).map(|m| m.len()).unwrap_or(0);
    if let Some(cr) = req
        .headers()
        .get("content-range")
        .and_then(|v| v.to_str().ok())
    {
        let start = cr
            .trim_start_matches("bytes ")
            .split('-')
            .next()
            .and_then(|s| s.parse::<u64>().ok());
        if start != Some(have) {
            return (
                StatusCode::RANGE_NOT_SATISFIABLE,
                [
                    ("Location", format!("/v2/{name}/blobs/uploads/{id}")),
                    ("Range", format!("0-{}", have.saturating_sub(1))),
                ],
            )
                .into_response();
        }
    }
    let mut st = take_state(ctx, id, have);
    let res = append(&p, req.into_body(), st.as_mut()).await;
    if let Some(st) = st {
        put_state(ctx, id, st);
    }
    match res {
        Ok(len) => (
            StatusCode::ACCEPTED,
            [
                ("Location", format!("/v2/{name}/blobs/uploads/{id}")),
                ("Range", format!("0-{}", len.saturating_sub(1))),
                ("Docker-Upload-UUID", id.to_string()),
            ],
        )
            .into_response(),
        Err(r) => r,
    }
}

/// Append `body` to the upload file at `path` and take the file into the store as `d`
/// (no second copy: the file is renamed into place once its digest checks out).
async fn commit_upload(
    ctx: &Shared,
    id: &str,
    path: &Path,
    body: Body,
    d: &Digest,
) -> Result<(), Response> {
    let have = tokio::fs::metadata(path)
        .await
        .map(|m| m.len())
        .unwrap_or(0);
    let mut st = take_state(ctx, id, have);
    if let Err(r) = append(path, body, st.as_mut()).await {
        let _ = tokio::fs::remove_file(path).await;
        return Err(r);
    }
    let known = st.map(|(h, _)| Digest::from_hasher(h));
    let store = ctx.store.clone();
    let (d2, p2) = (d.clone(), path.to_path_buf());
    let r = tokio::task::spawn_blocking(move || store.adopt(&p2, &d2, known.as_ref())).await;
    match r {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(content::Error::DigestMismatch { .. })) => Err(err(
            StatusCode::BAD_REQUEST,
            "DIGEST_INVALID",
            "provided digest did not match uploaded content",
        )),
        _ => Err(err(
            StatusCode::INTERNAL_SERVER_ERROR,
            "UNKNOWN",
            "storing the blob failed",
        )),
    }
}

async fn finish_upload(ctx: &Shared, name: &str, id: &str, query: &str, req: Request) -> Response {
    let Some(p) = upload_path(ctx, id) else {
        return err(
            StatusCode::NOT_FOUND,
            "BLOB_UPLOAD_UNKNOWN",
            "upload unknown",
        );
    };
    let Some(d) = param(query, "digest").as_deref().and_then(digest_of) else {
        return err(
            StatusCode::BAD_REQUEST,
            "DIGEST_INVALID",
            "digest missing or invalid",
        );
    };
    let r = commit_upload(ctx, id, &p, req.into_body(), &d).await;
    let _ = std::fs::remove_file(&p);
    match r {
        Ok(()) => {
            let _ = link_blob(ctx, name, &d);
            blob_created(name, &d)
        }
        Err(r) => r,
    }
}

async fn get_blob(
    ctx: &Shared,
    name: &str,
    what: &str,
    head: bool,
    headers: &HeaderMap,
) -> Response {
    let Some(d) = digest_of(what) else {
        return err(StatusCode::BAD_REQUEST, "DIGEST_INVALID", "invalid digest");
    };
    if !ctx.repo(name).join("_layers").join(d.hex()).exists() || !ctx.store.has(&d) {
        return err(
            StatusCode::NOT_FOUND,
            "BLOB_UNKNOWN",
            "blob unknown to registry",
        );
    }
    let size = ctx.store.size(&d).unwrap_or(0);
    let start = headers
        .get("range")
        .and_then(|v| v.to_str().ok())
        .and_then(|r| {
            r.strip_prefix("bytes=")?
                .split('-')
                .next()?
                .parse::<u64>()
                .ok()
        });
    let mut builder = Response::builder()
        .header("Content-Type", "application/octet-stream")
        .header("Docker-Content-Digest", d.to_string())
        .header("Accept-Ranges", "bytes")
        .header("ETag", format!("\"{d}\""));
    let (status, from) = match start {
        Some(s) if s < size => (StatusCode::PARTIAL_CONTENT, s),
        Some(_) => {
            return err(
                StatusCode::RANGE_NOT_SATISFIABLE,
                "BLOB_UNKNOWN",
                "range not satisfiable",
            )
        }
        None => (StatusCode::OK, 0),
    };
    builder = builder
        .status(status)
        .header("Content-Length", (size - from).to_string());
    if status == StatusCode::PARTIAL_CONTENT {
        builder = builder.header("Content-Range", format!("bytes {from}-{}/{size}", size - 1));
    }
    if head {
        return builder
            .body(Body::empty())
            .unwrap_or_else(|_| err(StatusCode::INTERNAL_SERVER_ERROR, "UNKNOWN", "response"));
    }
    let Ok(mut f) = tokio::fs::File::open(ctx.store.path(&d)).await else {
        return err(StatusCode::NOT_FOUND, "BLOB_UNKNOWN", "blob unknown");
    };
    if from > 0 && f.seek(std::io::SeekFrom::Start(from)).await.is_err() {
        return err(StatusCode::INTERNAL_SERVER_ERROR, "UNKNOWN", "seek failed");
    }
    let stream = tokio_util::io::ReaderStream::with_capacity(f, 256 * 1024);
    builder
        .body(Body::from_stream(stream))
        .unwrap_or_else(|_| err(StatusCode::INTERNAL_SERVER_ERROR, "UNKNOWN", "response"))
}

fn resolve_manifest(ctx: &Ctx, name: &str, reference: &str) -> Option<Digest> {
    if let Some(d) = digest_of(reference) {
        return ctx
            .repo(name)
            .join("_manifests/revisions")
            .join(d.hex())
            .exists()
            .then_some(d);
    }
    if !valid_tag(reference) {
        return None;
    }
    std::fs::read_to_string(ctx.repo(name).join("_manifests/tags").join(reference))
        .ok()?
        .trim()
        .parse()
        .ok()
}

fn get_manifest(ctx: &Shared, name: &str, reference: &str, head: bool) -> Response {
    let Some(d) = resolve_manifest(ctx, name, reference) else {
        return err(
            StatusCode::NOT_FOUND,
            "MANIFEST_UNKNOWN",
            "manifest unknown",
        );
    };
    let media = std::fs::read_to_string(ctx.repo(name).join("_manifests/revisions").join(d.hex()))
        .unwrap_or_default();
    let Ok(bytes) = ctx.store.read(&d) else {
        return err(
            StatusCode::NOT_FOUND,
            "MANIFEST_UNKNOWN",
            "manifest unknown",
        );
    };
    let headers = [
        ("Content-Type", media),
        ("Docker-Content-Digest", d.to_string()),
        ("Content-Length", bytes.len().to_string()),
        ("ETag", format!("\"{d}\"")),
    ];
    if head {
        (StatusCode::OK, headers).into_response()
    } else {
        (StatusCode::OK, headers, bytes).into_response()
    }
}

async fn put_manifest(ctx: &Shared, name: &str, reference: &str, req: Request) -> Response {
    let media = req
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let Ok(bytes) = axum::body::to_bytes(req.into_body(), 4 * 1024 * 1024).await else {
        return err(
            StatusCode::BAD_REQUEST,
            "MANIFEST_INVALID",
            "manifest too large or interrupted",
        );
    };
    let d = Digest::of(&bytes);
    if let Some(want) = digest_of(reference) {
        if want != d {
            return err(
                StatusCode::BAD_REQUEST,
                "DIGEST_INVALID",
                "manifest digest does not match the reference",
            );
        }
    } else if !valid_tag(reference) {
        return err(StatusCode::BAD_REQUEST, "TAG_INVALID", "invalid tag");
    }
    let Ok(v) = serde_json::from_slice::<serde_json::Value>(&bytes) else {
        return err(
            StatusCode::BAD_REQUEST,
            "MANIFEST_INVALID",
            "manifest is not JSON",
        );
    };
    let media = if media.is_empty() {
        v["mediaType"]
            .as_str()
            .unwrap_or("application/vnd.oci.image.manifest.v1+json")
            .to_string()
    } else {
        media
    };
    // Every blob (or child manifest) it names must be in this repository.
    let mut needed: Vec<String> = v["layers"]
        .as_array()
        .into_iter()
        .flatten()
        .chain(std::iter::once(&v["config"]))
        .filter_map(|l| l["digest"].as_str().map(str::to_string))
        .collect();
    for m in v["manifests"].as_array().into_iter().flatten() {
        if let Some(dd) = m["digest"].as_str().and_then(digest_of) {
            if !ctx
                .repo(name)
                .join("_manifests/revisions")
                .join(dd.hex())
                .exists()
            {
                return err(
                    StatusCode::BAD_REQUEST,
                    "MANIFEST_BLOB_UNKNOWN",
                    &format!("manifest {dd} unknown"),
                );
            }
        }
    }
    needed.retain(|n| !n.is_empty());
    for n in needed {
        let known =
            digest_of(&n).is_some_and(|b| ctx.repo(name).join("_layers").join(b.hex()).exists());
        if !known {
            return err(
                StatusCode::BAD_REQUEST,
                "MANIFEST_BLOB_UNKNOWN",
                &format!("blob {n} unknown to registry"),
            );
        }
    }
    if ctx.store.write_bytes(&bytes, Some(&d)).is_err() {
        return err(
            StatusCode::INTERNAL_SERVER_ERROR,
            "UNKNOWN",
            "storing the manifest failed",
        );
    }
    let repo = ctx.repo(name);
    let mut ok = ctx
        .link(&repo.join("_manifests/revisions").join(d.hex()), &media)
        .is_ok();
    if let Some(subject) = v["subject"]["digest"].as_str().and_then(digest_of) {
        ok &= ctx
            .link(
                &repo.join("_referrers").join(subject.hex()).join(d.hex()),
                &media,
            )
            .is_ok();
    }
    if digest_of(reference).is_none() {
        ok &= ctx
            .link(
                &repo.join("_manifests/tags").join(reference),
                &d.to_string(),
            )
            .is_ok();
    }
    if !ok {
        return err(
            StatusCode::INTERNAL_SERVER_ERROR,
            "UNKNOWN",
            "linking the manifest failed",
        );
    }
    (
        StatusCode::CREATED,
        [
            ("Location", format!("/v2/{name}/manifests/{d}")),
            ("Docker-Content-Digest", d.to_string()),
        ],
    )
        .into_response()
}

fn delete_manifest(ctx: &Shared, name: &str, reference: &str) -> Response {
    let repo = ctx.repo(name);
    if digest_of(reference).is_none() {
        return match std::fs::remove_file(repo.join("_manifests/tags").join(reference)) {
            Ok(()) => StatusCode::ACCEPTED.into_response(),
            Err(_) => err(
                StatusCode::NOT_FOUND,
                "MANIFEST_UNKNOWN",
                "manifest unknown",
            ),
        };
    }
    let Some(d) = resolve_manifest(ctx, name, reference) else {
        return err(
            StatusCode::NOT_FOUND,
            "MANIFEST_UNKNOWN",
            "manifest unknown",
        );
    };
    let _ = std::fs::remove_file(repo.join("_manifests/revisions").join(d.hex()));
    if let Ok(rd) = std::fs::read_dir(repo.join("_manifests/tags")) {
        for e in rd.flatten() {
            if std::fs::read_to_string(e.path()).is_ok_and(|s| s.trim() == d.to_string()) {
                let _ = std::fs::remove_file(e.path());
            }
        }
    }
    StatusCode::ACCEPTED.into_response()
}

fn paginate(
    mut items: Vec<String>,
    query: &str,
    url: &str,
    key: &str,
    extra: Option<(&str, &str)>,
) -> Response {
    items.sort();
    if let Some(last) = param(query, "last") {
        items.retain(|t| *t > last);
    }
    let n = param(query, "n").and_then(|n| n.parse::<usize>().ok());
    let mut link = None;
    if let Some(n) = n {
        if items.len() > n {
            items.truncate(n);
            if let Some(l) = items.last() {
                link = Some(format!("<{url}?n={n}&last={l}>; rel=\"next\""));
            }
        }
    }
    let mut body = json!({ key: items });
    if let Some((k, v)) = extra {
        body[k] = json!(v);
    }
    let mut r = (
        StatusCode::OK,
        [("Content-Type", "application/json")],
        body.to_string(),
    )
        .into_response();
    if let Some(l) = link.and_then(|l| HeaderValue::from_str(&l).ok()) {
        r.headers_mut().insert("Link", l);
    }
    r
}

fn tags_list(ctx: &Shared, name: &str, query: &str) -> Response {
    let Ok(rd) = std::fs::read_dir(ctx.repo(name).join("_manifests/tags")) else {
        return err(
            StatusCode::NOT_FOUND,
            "NAME_UNKNOWN",
            "repository name not known to registry",
        );
    };
    let tags: Vec<String> = rd
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|t| valid_tag(t))
        .collect();
    paginate(
        tags,
        query,
        &format!("/v2/{name}/tags/list"),
        "tags",
        Some(("name", name)),
    )
}

fn catalog(ctx: &Shared, query: &str) -> Response {
    let mut repos = Vec::new();
    fn walk(dir: &Path, prefix: &str, out: &mut Vec<String>) {
        let Ok(rd) = std::fs::read_dir(dir) else {
            return;
        };
        for e in rd.flatten() {
            let n = e.file_name().to_string_lossy().into_owned();
            if n.starts_with('_') {
                continue;
            }
            let full = if prefix.is_empty() {
                n.clone()
            } else {
                format!("{prefix}/{n}")
            };
            if e.path().join("_manifests").is_dir() {
                out.push(full.clone());
            }
            walk(&e.path(), &full, out);
        }
    }
    walk(&ctx.root.join("repos"), "", &mut repos);
    paginate(repos, query, "/v2/_catalog", "repositories", None)
}

fn referrers(ctx: &Shared, name: &str, what: &str) -> Response {
    let Some(subject) = digest_of(what) else {
        return err(StatusCode::BAD_REQUEST, "DIGEST_INVALID", "invalid digest");
    };
    let mut manifests = Vec::new();
    if let Ok(rd) = std::fs::read_dir(ctx.repo(name).join("_referrers").join(subject.hex())) {
        for e in rd.flatten() {
            let Ok(d) = format!("sha256:{}", e.file_name().to_string_lossy()).parse::<Digest>()
            else {
                continue;
            };
            let media = std::fs::read_to_string(e.path()).unwrap_or_default();
            let Ok(bytes) = ctx.store.read(&d) else {
                continue;
            };
            let v: serde_json::Value = serde_json::from_slice(&bytes).unwrap_or_default();
            let mut desc =
                json!({"mediaType": media, "digest": d.to_string(), "size": bytes.len()});
            if let Some(a) = v
                .get("artifactType")
                .or_else(|| v["config"].get("mediaType"))
            {
                desc["artifactType"] = a.clone();
            }
            if let Some(a) = v.get("annotations") {
                desc["annotations"] = a.clone();
            }
            manifests.push(desc);
        }
    }
    let body = json!({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": manifests});
    (
        StatusCode::OK,
        [("Content-Type", "application/vnd.oci.image.index.v1+json")],
        body.to_string(),
    )
        .into_response()
}

/// `quai registry gc`: remove blobs no manifest of any repository references.
pub fn gc(root: &Path) -> std::io::Result<content::GcReport> {
    let store = Store::open(root.join("content")).map_err(std::io::Error::other)?;
    let mut keep = std::collections::HashSet::new();
    fn manifests(dir: &Path, out: &mut Vec<PathBuf>) {
        let Ok(rd) = std::fs::read_dir(dir) else {
            return;
        };
        for e in rd.flatten() {
            let p = e.path();
            if p.file_name().is_some_and(|n| n == "revisions") {
                if let Ok(r) = std::fs::read_dir(&p) {
                    out.extend(r.flatten().map(|e| e.path()));
                }
            } else if p.is_dir() {
                manifests(&p, out);
            }
        }
    }
    let mut revs = Vec::new();
    manifests(&root.join("repos"), &mut revs);
    for r in revs {
        let Some(d) = r.file_name().and_then(|n| {
            format!("sha256:{}", n.to_string_lossy())
                .parse::<Digest>()
                .ok()
        }) else {
            continue;
        };
        if let Ok(bytes) = store.read(&d) {
            let v: serde_json::Value = serde_json::from_slice(&bytes).unwrap_or_default();
            for l in v["layers"]
                .as_array()
                .into_iter()
                .flatten()
                .chain(std::iter::once(&v["config"]))
                .chain(v["manifests"].as_array().into_iter().flatten())
            {
                if let Some(b) = l["digest"].as_str().and_then(digest_of) {
                    keep.insert(b);
                }
            }
            keep.insert(d);
        }
    }
    store.gc(&keep).map_err(std::io::Error::other)
}
