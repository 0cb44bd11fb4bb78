//! Routing: axum routes for the distribution API's endpoints, htpasswd authentication and
//! the API version header as middleware, query parameters through axum's `Query`
//! (serde_urlencoded).
//!
//! A repository name may contain slashes (`/v2/a/b/c/manifests/latest`), and axum's path
//! parameters cannot match several segments in the middle of a path. So `/v2/{*rest}` goes
//! to a middleware that splits the name off ([`split`]), keeps it in the request's
//! extensions ([`Repo`]) and rewrites the path to the endpoint's (`/manifests/latest`),
//! which a second router then matches by path and method.

use std::sync::Arc;

use axum::extract::{FromRequestParts, Path, Query, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, Uri};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use serde::de::DeserializeOwned;
use serde::Deserialize;

use crate::state::{err, valid_name, Ctx, Shared};
use crate::{blobs, manifests, Config, Result};

/// Build the registry's router over its storage.
pub(crate) fn app(cfg: Config) -> Result<Router> {
    let ctx: Shared = Arc::new(Ctx::open(cfg)?);
    let endpoints = Router::new()
        .route(
            "/blobs/{reference}",
            get(blobs::get).head(blobs::head).delete(blobs::delete),
        )
        .route("/blobs/uploads", post(blobs::start_upload))
        .route("/blobs/uploads/", post(blobs::start_upload))
        .route(
            "/blobs/uploads/{reference}",
            get(blobs::upload_status)
                .patch(blobs::patch_upload)
                .put(blobs::finish_upload)
                .delete(blobs::cancel_upload),
        )
        .route(
            "/manifests/{reference}",
            get(manifests::get)
                .head(manifests::head)
                .put(manifests::put)
                .delete(manifests::delete),
        )
        .route("/tags/list", get(manifests::tags_list))
        .route("/referrers/{reference}", get(manifests::referrers))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .with_state(ctx.clone());
    // A layer on a route runs after the outer router matched and before the inner one does.
    let repositories = Router::new()
        .route_service("/v2/{*rest}", endpoints)
        .layer(middleware::from_fn(repository));
    Ok(Router::new()
        .route("/v2/", get(base))
        .route("/v2", get(base))
        .route("/v2/_catalog", get(manifests::catalog))
        .merge(repositories)
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(middleware::from_fn_with_state(ctx.clone(), authenticate))
        .with_state(ctx))
}

async fn base() -> Response {
    (StatusCode::OK, [("Content-Type", "application/json")], "{}").into_response()
}

async fn not_found() -> Response {
    err(StatusCode::NOT_FOUND, "NOT_FOUND", "not found")
}

async fn method_not_allowed() -> Response {
    err(
        StatusCode::METHOD_NOT_ALLOWED,
        "UNSUPPORTED",
        "method not allowed",
    )
}

/// Every request needs a user of the htpasswd file (when there is one); every answer to an
/// authenticated request says which API this is.
async fn authenticate(State(ctx): State<Shared>, req: Request, next: Next) -> Response {
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
    let mut resp = next.run(req).await;
    resp.headers_mut().insert(
        "Docker-Distribution-API-Version",
        HeaderValue::from_static("registry/2.0"),
    );
    resp
}

/// The repository a request is about, split off its path by [`repository`].
#[derive(Clone, Debug)]
pub(crate) struct Repo(pub(crate) Arc<str>);

/// Split `/v2/<name>/<endpoint>`: keep the name in the extensions, leave the endpoint's path.
async fn repository(mut req: Request, next: Next) -> Response {
    let Some((name, tail)) = req.uri().path().strip_prefix("/v2/").and_then(split) else {
        return not_found().await;
    };
    if !valid_name(name) {
        return err(
            StatusCode::BAD_REQUEST,
            "NAME_INVALID",
            "invalid repository name",
        );
    }
    let path_and_query = match req.uri().query() {
        Some(q) => format!("{tail}?{q}"),
        None => tail.to_string(),
    };
    let name: Arc<str> = Arc::from(name);
    let Ok(uri) = path_and_query.parse::<Uri>() else {
        return not_found().await;
    };
    req.extensions_mut().insert(Repo(name));
    *req.uri_mut() = uri;
    next.run(req).await
}

/// Split what follows `/v2/` into the repository name and the endpoint's path, read from the
/// right as the distribution spec's endpoints are shaped: `<name>/blobs/uploads/[<id>]`,
/// `<name>/tags/list`, `<name>/(blobs|manifests|referrers)/<reference>`. The name is
/// returned as it is in the path (the caller checks its grammar), the endpoint's path with
/// its leading `/`. `None` when the path names no endpoint.
///
/// Upload paths win over a blob of a repository whose name ends in `/blobs/uploads`
/// (as in Docker's registry).
pub(crate) fn split(rest: &str) -> Option<(&str, &str)> {
    let segments: Vec<&str> = rest.split('/').collect();
    let endpoint = match segments.as_slice() {
        [_, .., "blobs", "uploads", _] => 3,
        [_, .., "blobs", "uploads"] | [_, .., "tags", "list"] => 2,
        [_, .., "blobs" | "manifests" | "referrers", _] => 2,
        _ => return None,
    };
    let name = rest.rsplitn(endpoint + 1, '/').last()?;
    Some((name, &rest[name.len()..]))
}

/// A query string's parameters, through serde_urlencoded; a query that does not parse is
/// answered in the spec's error format.
pub(crate) struct Params<T>(pub(crate) T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for Params<T> {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Response> {
        match Query::<T>::from_request_parts(parts, state).await {
            Ok(Query(v)) => Ok(Params(v)),
            Err(e) => Err(err(
                StatusCode::BAD_REQUEST,
                "UNSUPPORTED",
                &format!("query: {}", e.body_text()),
            )),
        }
    }
}

/// The last path segment of an endpoint (a digest, tag or upload id), percent-decoded.
pub(crate) struct Reference(pub(crate) String);

impl<S: Send + Sync> FromRequestParts<S> for Reference {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Response> {
        #[derive(Deserialize)]
        struct Segment {
            reference: String,
        }
        // The outer route's `rest` is among the parameters too: take the named one only.
        match Path::<Segment>::from_request_parts(parts, state).await {
            Ok(Path(s)) => Ok(Reference(s.reference)),
            Err(e) => Err(err(
                StatusCode::BAD_REQUEST,
                "UNSUPPORTED",
                &format!("path: {}", e.body_text()),
            )),
        }
    }
}

/// `?digest=` (finishing or monolithic uploads), `?mount=&from=` (cross-repository mounts).
#[derive(Deserialize, Default)]
pub(crate) struct UploadParams {
    pub(crate) digest: Option<String>,
    pub(crate) mount: Option<String>,
    pub(crate) from: Option<String>,
}

/// `?n=&last=` (tag lists and the catalog).
#[derive(Deserialize, Default)]
pub(crate) struct PageParams {
    /// How many entries at most; a value that is not a number is ignored.
    pub(crate) n: Option<String>,
    /// Entries after this one.
    pub(crate) last: Option<String>,
}

#[cfg(test)]
#[path = "routes_tests.rs"]
mod tests;
