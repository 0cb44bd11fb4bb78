//! A container's files as tars: `GET /containers/{id}/export` (the whole file system)
//! and `GET|HEAD|PUT /containers/{id}/archive?path=` (what `docker cp` does), streamed
//! both ways, the engine's work on a thread of its own (a stopped container's root is
//! mounted in that thread's private mount namespace, which ends with it).

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;

use crate::stream::{body_reader, content_type, own_thread, streamed};
use crate::{ApiError, Q};

/// `GET /containers/{id}/export`: the file system as a tar.
pub async fn export(
    State(st): State<crate::State>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let (root, run) = (st.root.clone(), st.run_dir.clone());
    streamed(content_type("application/x-tar"), move |w| {
        let mut eng = engine::lifecycle::Engine::open(&root, &run)?;
        eng.export(&id, w).map_err(crate::containers::no_such(&id))
    })
    .await
}

fn path_param(q: &Q) -> Result<String, ApiError> {
    q.non_empty("path")
        .ok_or_else(|| ApiError::bad_request("bad parameter: path cannot be empty"))
}

/// The stat of `path` as dockerd's `X-Docker-Container-Path-Stat` header.
async fn stat_header(st: &crate::State, id: &str, path: &str) -> Result<HeaderValue, ApiError> {
    let (root, run) = (st.root.clone(), st.run_dir.clone());
    let (id, path) = (id.to_string(), path.to_string());
    let stat = own_thread(move || {
        let mut eng = engine::lifecycle::Engine::open(&root, &run)?;
        eng.archive_stat(&id, &path)
            .map_err(crate::containers::no_such(&id))
    })
    .await?;
    let doc = engine::docker::path_stat(&stat).to_string();
    HeaderValue::from_str(&base64::engine::general_purpose::STANDARD.encode(doc))
        .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))
}

/// `HEAD /containers/{id}/archive?path=`: only the path's stat.
pub async fn head(
    State(st): State<crate::State>,
    Path(id): Path<String>,
    q: Q,
) -> Result<Response, ApiError> {
    let path = path_param(&q)?;
    let stat = stat_header(&st, &id, &path).await?;
    let mut h = HeaderMap::new();
    h.insert("X-Docker-Container-Path-Stat", stat);
    Ok((h, ()).into_response())
}

/// `GET /containers/{id}/archive?path=`: a tar of the path (its top entry named as its
/// last element), with its stat in `X-Docker-Container-Path-Stat`.
pub async fn get(
    State(st): State<crate::State>,
    Path(id): Path<String>,
    q: Q,
) -> Result<Response, ApiError> {
    let path = path_param(&q)?;
    let mut headers = content_type("application/x-tar");
    headers.insert(
        "X-Docker-Container-Path-Stat",
        stat_header(&st, &id, &path).await?,
    );
    let (root, run) = (st.root.clone(), st.run_dir.clone());
    streamed(headers, move |w| {
        let mut eng = engine::lifecycle::Engine::open(&root, &run)?;
        let name = engine::archive::archive_name(&path);
        eng.archive_get(&id, &path, &name, w)
            .map_err(crate::containers::no_such(&id))
    })
    .await
}

/// `PUT /containers/{id}/archive?path=&noOverwriteDirNonDir=&copyUIDGID=`: the tar body
/// unpacked into directory `path`, read as it arrives.
pub async fn put(
    State(st): State<crate::State>,
    Path(id): Path<String>,
    q: Q,
    body: Body,
) -> Result<StatusCode, ApiError> {
    let path = path_param(&q)?;
    let opts = engine::archive::PutOptions {
        no_overwrite_dir_non_dir: q.flag_or("noOverwriteDirNonDir", false),
        copy_uid_gid: q.flag_or("copyUIDGID", false),
    };
    let mut reader = body_reader(body);
    let (root, run) = (st.root.clone(), st.run_dir.clone());
    own_thread(move || {
        let res = engine::lifecycle::Engine::open(&root, &run)
            .and_then(|mut eng| eng.archive_put(&id, &path, &mut reader, opts));
        // The tar ends before the body does (its padding, or a refusal): the rest is read
        // too, so the client finishes sending and gets the answer instead of a broken pipe.
        let _ = std::io::copy(&mut reader, &mut std::io::sink());
        res.map_err(crate::containers::no_such(&id))
    })
    .await?;
    Ok(StatusCode::OK)
}
