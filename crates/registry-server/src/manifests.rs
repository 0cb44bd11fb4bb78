//! Manifests (`GET|HEAD|PUT|DELETE /v2/<name>/manifests/<reference>`), tag lists
//! (`/v2/<name>/tags/list`), the catalog (`/v2/_catalog`), both paginated with `?n=&last=`,
//! and referrers (`/v2/<name>/referrers/<digest>`).

use std::path::Path;

use axum::body::Bytes;
use axum::extract::{Extension, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use content::Digest;
use serde_json::json;

use crate::routes::{PageParams, Params, Reference, Repo};
use crate::state::{digest_of, err, valid_tag, Ctx, Shared};

/// The largest manifest accepted.
const MANIFEST_MAX: usize = 4 * 1024 * 1024;

fn manifest_unknown() -> Response {
    err(
        StatusCode::NOT_FOUND,
        "MANIFEST_UNKNOWN",
        "manifest unknown",
    )
}

fn resolve(ctx: &Ctx, name: &str, reference: &str) -> Option<Digest> {
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

pub(crate) async fn get(
    State(ctx): State<Shared>,
    Extension(Repo(name)): Extension<Repo>,
    Reference(reference): Reference,
) -> Response {
    manifest(&ctx, &name, &reference, false)
}

pub(crate) async fn head(
    State(ctx): State<Shared>,
    Extension(Repo(name)): Extension<Repo>,
    Reference(reference): Reference,
) -> Response {
    manifest(&ctx, &name, &reference, true)
}

fn manifest(ctx: &Ctx, name: &str, reference: &str, head: bool) -> Response {
    let Some(d) = resolve(ctx, name, reference) else {
        return manifest_unknown();
    };
    let media = std::fs::read_to_string(ctx.repo(name).join("_manifests/revisions").join(d.hex()))
        .unwrap_or_default();
    let Ok(bytes) = ctx.store.read(&d) else {
        return manifest_unknown();
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

pub(crate) async fn put(
    State(ctx): State<Shared>,
    Extension(Repo(name)): Extension<Repo>,
    Reference(reference): Reference,
    headers: HeaderMap,
    body: axum::body::Body,
) -> Response {
    let media = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let Ok(bytes) = axum::body::to_bytes(body, MANIFEST_MAX).await else {
        return err(
            StatusCode::BAD_REQUEST,
            "MANIFEST_INVALID",
            "manifest too large or interrupted",
        );
    };
    store_manifest(&ctx, &name, &reference, media, bytes)
}

fn store_manifest(ctx: &Ctx, name: &str, reference: &str, media: String, bytes: Bytes) -> Response {
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
    let repo = ctx.repo(name);
    // Every blob (or child manifest) it names must be in this repository.
    for m in v["manifests"].as_array().into_iter().flatten() {
        if let Some(dd) = m["digest"].as_str().and_then(digest_of) {
            if !repo.join("_manifests/revisions").join(dd.hex()).exists() {
                return err(
                    StatusCode::BAD_REQUEST,
                    "MANIFEST_BLOB_UNKNOWN",
                    &format!("manifest {dd} unknown"),
                );
            }
        }
    }
    let needed = v["layers"]
        .as_array()
        .into_iter()
        .flatten()
        .chain(std::iter::once(&v["config"]))
        .filter_map(|l| l["digest"].as_str())
        .filter(|n| !n.is_empty());
    for n in needed {
        let known = digest_of(n).is_some_and(|b| repo.join("_layers").join(b.hex()).exists());
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
    let mut ok = ctx
        .link(&repo.join("_manifests/revisions").join(d.hex()), &media)
        .is_ok();
    let subject = v["subject"]["digest"].as_str().and_then(digest_of);
    if let Some(subject) = &subject {
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
    let mut r = (
        StatusCode::CREATED,
        [
            ("Location", format!("/v2/{name}/manifests/{d}")),
            ("Docker-Content-Digest", d.to_string()),
        ],
    )
        .into_response();
    // The spec's signal that this registry indexes referrers by their subject.
    if let Some(subject) = subject.and_then(|s| HeaderValue::from_str(&s.to_string()).ok()) {
        r.headers_mut().insert("OCI-Subject", subject);
    }
    r
}

pub(crate) async fn delete(
    State(ctx): State<Shared>,
    Extension(Repo(name)): Extension<Repo>,
    Reference(reference): Reference,
) -> Response {
    let repo = ctx.repo(&name);
    if digest_of(&reference).is_none() {
        if !valid_tag(&reference) {
            return manifest_unknown();
        }
        return match std::fs::remove_file(repo.join("_manifests/tags").join(&reference)) {
            Ok(()) => StatusCode::ACCEPTED.into_response(),
            Err(_) => manifest_unknown(),
        };
    }
    let Some(d) = resolve(&ctx, &name, &reference) else {
        return manifest_unknown();
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

/// Sort `items`, keep those after `last`, at most `n` of them; a `Link` header to the next
/// page when some were left out.
fn paginate(
    mut items: Vec<String>,
    page: PageParams,
    url: &str,
    key: &str,
    extra: Option<(&str, &str)>,
) -> Response {
    items.sort();
    if let Some(last) = page.last {
        items.retain(|t| *t > last);
    }
    let n = page.n.and_then(|n| n.parse::<usize>().ok());
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

pub(crate) async fn tags_list(
    State(ctx): State<Shared>,
    Extension(Repo(name)): Extension<Repo>,
    Params(page): Params<PageParams>,
) -> Response {
    let Ok(rd) = std::fs::read_dir(ctx.repo(&name).join("_manifests/tags")) else {
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
        page,
        &format!("/v2/{name}/tags/list"),
        "tags",
        Some(("name", &name)),
    )
}

pub(crate) async fn catalog(
    State(ctx): State<Shared>,
    Params(page): Params<PageParams>,
) -> Response {
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
    let mut repos = Vec::new();
    walk(&ctx.root.join("repos"), "", &mut repos);
    paginate(repos, page, "/v2/_catalog", "repositories", None)
}

pub(crate) async fn referrers(
    State(ctx): State<Shared>,
    Extension(Repo(name)): Extension<Repo>,
    Reference(what): Reference,
) -> Response {
    let Some(subject) = digest_of(&what) else {
        return err(StatusCode::BAD_REQUEST, "DIGEST_INVALID", "invalid digest");
    };
    let mut manifests = Vec::new();
    if let Ok(rd) = std::fs::read_dir(ctx.repo(&name).join("_referrers").join(subject.hex())) {
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
