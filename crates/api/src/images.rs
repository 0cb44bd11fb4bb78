//! Images beyond list, inspect and pull: tag, remove, history, search, save and load,
//! import (`POST /images/create?fromSrc=-`), commit, prune, and the dispatch of
//! `/images/{name}/...` by its last element (image names have slashes).

use axum::body::{Body, Bytes};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use engine::images::Reference;
use serde_json::{json, Value};

use crate::stream::{body_reader, content_type, own_thread, streamed};
use crate::{ApiError, Q};

/// dockerd's "No such image", which names a reference with its tag (`nosuch:latest`)
/// and an id as an id.
pub(crate) fn no_such_image(name: &str) -> ApiError {
    let hex = name.strip_prefix("sha256:").unwrap_or(name);
    let shown = if hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        format!("sha256:{hex}")
    } else {
        name.parse::<Reference>()
            .map_or_else(|_| name.to_string(), |r| r.familiar())
    };
    ApiError::new(StatusCode::NOT_FOUND, format!("No such image: {shown}"))
}

/// An engine error about image `name`, with dockerd's 404 text.
fn image_err(name: &str) -> impl Fn(engine::Error) -> ApiError + '_ {
    move |e| {
        if e.is_no_such_image() {
            no_such_image(name)
        } else {
            e.into()
        }
    }
}

fn page_not_found(method: &str, path: &str) -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        format!("page not found: {method} /images/{path}"),
    )
}

/// `GET /images/{name}/json|history|get` and `GET /images/get?names=`.
pub async fn get_dispatch(
    st: State<crate::State>,
    Path(path): Path<String>,
    q: Q,
) -> Result<Response, ApiError> {
    if path == "get" {
        return save(st, q.all("names")).await;
    }
    if path == "search" {
        return Ok(Json(json!([])).into_response());
    }
    if let Some(name) = path.strip_suffix("/json") {
        return crate::system::image_inspect(st, name.to_string())
            .await
            .map(IntoResponse::into_response);
    }
    if let Some(name) = path.strip_suffix("/history") {
        return history(st, name.to_string())
            .await
            .map(IntoResponse::into_response);
    }
    if let Some(name) = path.strip_suffix("/get") {
        return save(st, vec![name.to_string()]).await;
    }
    Err(page_not_found("GET", &path))
}

/// `POST /images/{name}/tag|push`.
pub async fn post_dispatch(
    st: State<crate::State>,
    Path(path): Path<String>,
    q: Q,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    if let Some(name) = path.strip_suffix("/tag") {
        return tag(st, name.to_string(), q)
            .await
            .map(IntoResponse::into_response);
    }
    if let Some(name) = path.strip_suffix("/push") {
        return crate::registry::push(st, name.to_string(), q, headers).await;
    }
    Err(page_not_found("POST", &path))
}

/// `POST /images/{name}/tag?repo=&tag=` (201).
async fn tag(State(st): State<crate::State>, name: String, q: Q) -> Result<StatusCode, ApiError> {
    let repo = q.get("repo").unwrap_or_default();
    let target = match q.non_empty("tag") {
        Some(t) => format!("{repo}:{t}"),
        None => repo.to_string(),
    };
    let r: Reference = target
        .parse()
        .map_err(|e| ApiError::bad_request(format!("invalid reference format: {e}")))?;
    st.with_engine(move |eng| {
        eng.image_tag(&name, &r).map_err(image_err(&name))?;
        Ok(StatusCode::CREATED)
    })
    .await
}

/// `DELETE /images/{name}?force=&noprune=`: dockerd's list of `Untagged` / `Deleted`.
pub async fn remove(
    State(st): State<crate::State>,
    Path(name): Path<String>,
    q: Q,
) -> Result<Json<Value>, ApiError> {
    let force = q.flag_or("force", false);
    st.with_engine(move |eng| {
        let items = eng.image_remove(&name, force).map_err(image_err(&name))?;
        Ok(Json(engine::docker::image_delete_items(&items)))
    })
    .await
}

/// `GET /images/{name}/history`.
async fn history(State(st): State<crate::State>, name: String) -> Result<Json<Value>, ApiError> {
    st.with_engine(move |eng| {
        let h = eng.image_history(&name).map_err(image_err(&name))?;
        Ok(Json(engine::docker::image_history(&h)))
    })
    .await
}

/// `GET /images/{name}/get`, `GET /images/get?names=`: a docker-archive tar, streamed as
/// it is written (as `quai save`).
async fn save(State(st): State<crate::State>, names: Vec<String>) -> Result<Response, ApiError> {
    if names.is_empty() {
        return Err(ApiError::bad_request("no image names given"));
    }
    let (root, run) = (st.root.clone(), st.run_dir.clone());
    streamed(content_type("application/x-tar"), move |w| {
        let eng = engine::lifecycle::Engine::open(&root, &run)?;
        // Every name first: a missing one is a 404 (named as given, as dockerd's save
        // names it), not a cut tar.
        for n in &names {
            eng.image_resolve(n).map_err(|e| {
                if e.is_no_such_image() {
                    ApiError::new(StatusCode::NOT_FOUND, format!("No such image: {n}"))
                } else {
                    e.into()
                }
            })?;
        }
        eng.image_save(&names, engine::images::ArchiveFormat::DockerArchive, w)?;
        Ok(())
    })
    .await
}

/// `POST /images/load?quiet=`: the tar body, read as it comes; dockerd's lines.
pub async fn load(State(st): State<crate::State>, body: Body) -> Result<Response, ApiError> {
    let reader = body_reader(body);
    let (root, run) = (st.root.clone(), st.run_dir.clone());
    let loaded = own_thread(move || {
        let eng = engine::lifecycle::Engine::open(&root, &run)?;
        Ok(eng.image_load(reader)?)
    })
    .await?;
    let mut out = String::new();
    for (id, names) in loaded {
        let lines: Vec<String> = if names.is_empty() {
            vec![format!("Loaded image ID: {id}\n")]
        } else {
            names
                .iter()
                .map(|n| format!("Loaded image: {}\n", n.familiar()))
                .collect()
        };
        for l in lines {
            out.push_str(&json!({ "stream": l }).to_string());
            out.push('\n');
        }
    }
    Ok((content_type("application/json"), out).into_response())
}

/// `POST /images/create`: a pull (`fromImage`) or an import of the body (`fromSrc=-`).
pub async fn create(
    st: State<crate::State>,
    q: Q,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    if q.non_empty("fromImage").is_some() {
        return crate::system::pull(st, q, headers).await;
    }
    match q.get("fromSrc") {
        Some("-") => import(st, q, body).await,
        Some(src) if !src.is_empty() => Err(ApiError::bad_request(format!(
            "importing from {src}: only fromSrc=- (the request body) is supported"
        ))),
        _ => Err(ApiError::bad_request("fromImage or fromSrc is required")),
    }
}

/// The image name of `repo=` and `tag=` (import, commit), if any.
fn repo_tag(q: &Q) -> Result<Option<Reference>, ApiError> {
    let Some(repo) = q.non_empty("repo") else {
        return Ok(None);
    };
    let full = match q.non_empty("tag") {
        Some(t) => format!("{repo}:{t}"),
        None => repo,
    };
    full.parse::<Reference>()
        .map(Some)
        .map_err(|e| ApiError::bad_request(format!("invalid reference format: {e}")))
}

/// `POST /images/create?fromSrc=-&repo=&tag=&changes=&message=`: the body's root
/// filesystem tar as an image; `{"status": "sha256:..."}`.
async fn import(State(st): State<crate::State>, q: Q, body: Body) -> Result<Response, ApiError> {
    let name = repo_tag(&q)?;
    let changes = q.all("changes");
    let message = q.non_empty("message");
    let reader = body_reader(body);
    let (root, run) = (st.root.clone(), st.run_dir.clone());
    let id = own_thread(move || {
        let eng = engine::lifecycle::Engine::open(&root, &run)?;
        Ok(eng.image_import(reader, name.as_ref(), &changes, message.as_deref())?)
    })
    .await?;
    let line = format!("{}\n", json!({"status": id.to_string()}));
    Ok((content_type("application/json"), line).into_response())
}

/// The `Config` body of `POST /commit` as Dockerfile instructions, applied before the
/// `changes` (as dockerd merges them).
fn config_changes(b: &Value) -> Result<Vec<String>, ApiError> {
    let mut out = Vec::new();
    let bad =
        |k: &str, want: &str| ApiError::bad_request(format!("invalid JSON: {k} must be {want}"));
    let strings = |k: &str| -> Result<Option<Vec<String>>, ApiError> {
        match &b[k] {
            Value::Null => Ok(None),
            Value::Array(a) => a
                .iter()
                .map(|x| {
                    x.as_str()
                        .map(str::to_string)
                        .ok_or_else(|| bad(k, "a list of strings"))
                })
                .collect::<Result<Vec<_>, _>>()
                .map(Some),
            Value::String(s) => Ok(Some(vec![s.clone()])),
            _ => Err(bad(k, "a list of strings")),
        }
    };
    let quoted = |k: &str, v: &str| -> Result<String, ApiError> {
        if v.contains('"') {
            return Err(ApiError::bad_request(format!(
                "{k}: a double quote in a value is not supported"
            )));
        }
        Ok(format!("\"{v}\""))
    };
    for (key, instr) in [("Cmd", "CMD"), ("Entrypoint", "ENTRYPOINT")] {
        if let Some(words) = strings(key)? {
            out.push(format!("{instr} {}", json!(words)));
        }
    }
    for e in strings("Env")?.unwrap_or_default() {
        let (k, v) = e.split_once('=').unwrap_or((&e, ""));
        out.push(format!("ENV {k}={}", quoted("Env", v)?));
    }
    for (k, v) in b["Labels"].as_object().into_iter().flatten() {
        let v = v
            .as_str()
            .ok_or_else(|| bad("Labels", "a map of strings"))?;
        out.push(format!("LABEL {k}={}", quoted("Labels", v)?));
    }
    for (key, instr) in [("WorkingDir", "WORKDIR"), ("User", "USER")] {
        match &b[key] {
            Value::Null => {}
            Value::String(s) if s.is_empty() => {}
            Value::String(s) => out.push(format!("{instr} {s}")),
            _ => return Err(bad(key, "a string")),
        }
    }
    for p in b["ExposedPorts"]
        .as_object()
        .into_iter()
        .flatten()
        .map(|(k, _)| k)
    {
        out.push(format!("EXPOSE {p}"));
    }
    let vols: Vec<&String> = b["Volumes"]
        .as_object()
        .into_iter()
        .flatten()
        .map(|(k, _)| k)
        .collect();
    if !vols.is_empty() {
        out.push(format!("VOLUME {}", json!(vols)));
    }
    Ok(out)
}

/// `POST /commit?container=&repo=&tag=&comment=&author=&pause=&changes=` (201
/// `{"Id": ...}`).
pub async fn commit(
    State(st): State<crate::State>,
    q: Q,
    body: Bytes,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let mut changes = config_changes(&crate::json_body(&body)?)?;
    changes.extend(q.all("changes"));
    let container = q.get("container").unwrap_or_default().to_string();
    let reference = repo_tag(&q)?;
    let opts = engine::commit::CommitOptions {
        reference,
        author: q.non_empty("author"),
        message: q.non_empty("comment"),
        changes,
        pause: q.flag_or("pause", true),
    };
    st.with_engine(move |eng| {
        let id = eng
            .commit(&container, opts)
            .map_err(crate::containers::no_such(&container))?;
        Ok((StatusCode::CREATED, Json(json!({"Id": id.to_string()}))))
    })
    .await
}

/// `POST /images/prune?filters=`: dangling images (`dangling=false`: every unused one).
pub async fn prune(State(st): State<crate::State>, q: Q) -> Result<Json<Value>, ApiError> {
    let f = q.filters()?;
    f.check_prune(&["dangling"])
        .map_err(|e| ApiError::bad_request(e.to_string()))?;
    if !f.get("label").is_empty() || !f.get("label!").is_empty() || !f.get("until").is_empty() {
        return Err(ApiError::bad_request(
            "image prune: the label and until filters are not supported by this service",
        ));
    }
    let all = f.get("dangling").iter().any(|v| v == "false" || v == "0");
    st.with_engine(move |eng| {
        let (items, freed) = eng.image_prune(all)?;
        let deleted = if items.is_empty() {
            Value::Null
        } else {
            engine::docker::image_delete_items(&items)
        };
        Ok(Json(
            json!({"ImagesDeleted": deleted, "SpaceReclaimed": freed}),
        ))
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commit_config_becomes_instructions() {
        let b = json!({"Cmd": ["cat", "/f"], "Env": ["A=1 2"], "Labels": {"k": "v"},
                       "WorkingDir": "/srv", "ExposedPorts": {"80/tcp": {}}});
        assert_eq!(
            config_changes(&b).expect("changes"),
            vec![
                "CMD [\"cat\",\"/f\"]",
                "ENV A=\"1 2\"",
                "LABEL k=\"v\"",
                "WORKDIR /srv",
                "EXPOSE 80/tcp"
            ]
        );
        assert!(config_changes(&json!({"Cmd": 3})).is_err());
        assert!(config_changes(&json!({"Env": ["A=\"x\""]})).is_err());
    }

    #[test]
    fn missing_images_are_named_as_dockerd_names_them() {
        assert_eq!(
            no_such_image("nosuch").message(),
            "No such image: nosuch:latest"
        );
        assert_eq!(
            no_such_image("127.0.0.1:5000/a/b:1").message(),
            "No such image: 127.0.0.1:5000/a/b:1"
        );
        let id = "a".repeat(64);
        assert_eq!(
            no_such_image(&id).message(),
            format!("No such image: sha256:{id}")
        );
    }
}
