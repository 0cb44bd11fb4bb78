//! Blobs and uploads: `GET|HEAD|DELETE /v2/<name>/blobs/<digest>` (with ranges),
//! `POST /v2/<name>/blobs/uploads/` (start, monolithic with `?digest=`, or a
//! cross-repository mount with `?mount=&from=`) and
//! `GET|PATCH|PUT|DELETE /v2/<name>/blobs/uploads/<id>`.

use std::path::{Path, PathBuf};

use axum::body::Body;
use axum::extract::{Extension, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use content::Digest;
use futures_util::StreamExt;
use tokio::io::{AsyncSeekExt, AsyncWriteExt};

use crate::routes::{Params, Reference, Repo, UploadParams};
use crate::state::{digest_of, err, valid_name, Ctx, HashState, Shared};

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

fn upload_unknown() -> Response {
    err(
        StatusCode::NOT_FOUND,
        "BLOB_UPLOAD_UNKNOWN",
        "upload unknown",
    )
}

/// A new upload id: this process and the time in nanoseconds, in hex.
fn new_upload_id(prefix: &str) -> String {
    format!(
        "{prefix}{:x}{:x}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|t| t.as_nanos())
            .unwrap_or(0)
    )
}

pub(crate) async fn start_upload(
    State(ctx): State<Shared>,
    Extension(Repo(name)): Extension<Repo>,
    Params(q): Params<UploadParams>,
    body: Body,
) -> Response {
    // Cross-repository mount.
    if let (Some(m), Some(from)) = (q.mount.as_deref().and_then(digest_of), q.from) {
        if valid_name(&from)
            && ctx.repo(&from).join("_layers").join(m.hex()).exists()
            && ctx.store.has(&m)
            && ctx.link_blob(&name, &m).is_ok()
        {
            return blob_created(&name, &m);
        }
    }
    // Monolithic upload: POST ...?digest= with the body.
    if let Some(d) = q.digest {
        let Some(d) = digest_of(&d) else {
            return err(StatusCode::BAD_REQUEST, "DIGEST_INVALID", "invalid digest");
        };
        let id = new_upload_id("m");
        let p = ctx.root.join("uploads").join(&id);
        if std::fs::write(&p, b"").is_err() {
            return err(
                StatusCode::INTERNAL_SERVER_ERROR,
                "UNKNOWN",
                "cannot create upload",
            );
        }
        ctx.put_state(&id, (<sha2::Sha256 as sha2::Digest>::new(), 0));
        return match commit_upload(&ctx, &id, &p, body, &d).await {
            Ok(()) => {
                let _ = ctx.link_blob(&name, &d);
                blob_created(&name, &d)
            }
            Err(r) => r,
        };
    }
    let id = new_upload_id("");
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

pub(crate) async fn upload_status(
    State(ctx): State<Shared>,
    Extension(Repo(name)): Extension<Repo>,
    Reference(id): Reference,
) -> Response {
    let Some(p) = upload_path(&ctx, &id) else {
        return upload_unknown();
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

pub(crate) async fn cancel_upload(State(ctx): State<Shared>, Reference(id): Reference) -> Response {
    let _ = ctx.take_state(&id, u64::MAX);
    if let Some(p) = upload_path(&ctx, &id) {
        let _ = std::fs::remove_file(p);
    }
    StatusCode::NO_CONTENT.into_response()
}

/// Append `body` to the upload file, hashing what is appended when the upload's hash
/// state is known (`state`); returns the new length.
async fn append(
    path: &Path,
    body: Body,
    mut state: Option<&mut HashState>,
) -> Result<u64, Response> {
    use sha2::Digest as _;
    let file = tokio::fs::OpenOptions::new()
        .append(true)
        .open(path)
        .await
        .map_err(|_| upload_unknown())?;
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

pub(crate) async fn patch_upload(
    State(ctx): State<Shared>,
    Extension(Repo(name)): Extension<Repo>,
    Reference(id): Reference,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let Some(p) = upload_path(&ctx, &id) else {
        return upload_unknown();
    };
    let have = std::fs::metadata(&p).map(|m| m.len()).unwrap_or(0);
    if let Some(cr) = headers.get("content-range").and_then(|v| v.to_str().ok()) {
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
    let mut st = ctx.take_state(&id, have);
    let res = append(&p, body, st.as_mut()).await;
    if let Some(st) = st {
        ctx.put_state(&id, st);
    }
    match res {
        Ok(len) => (
            StatusCode::ACCEPTED,
            [
                ("Location", format!("/v2/{name}/blobs/uploads/{id}")),
                ("Range", format!("0-{}", len.saturating_sub(1))),
                ("Docker-Upload-UUID", id),
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
    let mut st = ctx.take_state(id, have);
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

pub(crate) async fn finish_upload(
    State(ctx): State<Shared>,
    Extension(Repo(name)): Extension<Repo>,
    Reference(id): Reference,
    Params(q): Params<UploadParams>,
    body: Body,
) -> Response {
    let Some(p) = upload_path(&ctx, &id) else {
        return upload_unknown();
    };
    let Some(d) = q.digest.as_deref().and_then(digest_of) else {
        return err(
            StatusCode::BAD_REQUEST,
            "DIGEST_INVALID",
            "digest missing or invalid",
        );
    };
    let r = commit_upload(&ctx, &id, &p, body, &d).await;
    let _ = std::fs::remove_file(&p);
    match r {
        Ok(()) => {
            let _ = ctx.link_blob(&name, &d);
            blob_created(&name, &d)
        }
        Err(r) => r,
    }
}

pub(crate) async fn get(
    State(ctx): State<Shared>,
    Extension(Repo(name)): Extension<Repo>,
    Reference(what): Reference,
    headers: HeaderMap,
) -> Response {
    blob(&ctx, &name, &what, false, &headers).await
}

pub(crate) async fn head(
    State(ctx): State<Shared>,
    Extension(Repo(name)): Extension<Repo>,
    Reference(what): Reference,
    headers: HeaderMap,
) -> Response {
    blob(&ctx, &name, &what, true, &headers).await
}

pub(crate) async fn delete(
    State(ctx): State<Shared>,
    Extension(Repo(name)): Extension<Repo>,
    Reference(what): Reference,
) -> Response {
    if let Some(d) = digest_of(&what) {
        let _ = std::fs::remove_file(ctx.repo(&name).join("_layers").join(d.hex()));
    }
    StatusCode::ACCEPTED.into_response()
}

async fn blob(ctx: &Shared, name: &str, what: &str, head: bool, headers: &HeaderMap) -> Response {
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
