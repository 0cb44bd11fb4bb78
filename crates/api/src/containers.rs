//! Containers: list, inspect, the state verbs, wait, logs (multiplexed as dockerd frames
//! them) and remove (create is `create.rs`).

use std::collections::HashMap;

use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};

use crate::ApiError;

type Params = Query<HashMap<String, String>>;

/// A query flag as dockerd reads booleans (`1`, `true`).
pub(crate) fn flag(q: &HashMap<String, String>, k: &str) -> bool {
    q.get(k)
        .is_some_and(|v| v == "1" || v.eq_ignore_ascii_case("true"))
}

pub(crate) fn no_such(what: &str) -> impl Fn(engine::Error) -> ApiError + '_ {
    move |e| match e {
        engine::Error::NoSuchContainer(_) => {
            ApiError::new(StatusCode::NOT_FOUND, format!("No such container: {what}"))
        }
        e => e.into(),
    }
}

/// `SizeRw` and `SizeRootFs` (`size=1`).
fn sizes(
    eng: &engine::lifecycle::Engine,
    r: &engine::Record,
    images: &HashMap<String, u64>,
    d: &mut Value,
) {
    let (rw, root_fs) = eng.container_sizes(r, images);
    d["SizeRw"] = json!(rw);
    d["SizeRootFs"] = json!(root_fs);
}

/// A container as `GET /containers/json` lists it.
pub(crate) fn summary(eng: &engine::lifecycle::Engine, r: &engine::Record) -> Value {
    let c = &r.config;
    let created = engine::time::parse_rfc3339(&r.created)
        .map(|n| n.div_euclid(1_000_000_000))
        .unwrap_or(0);
    let command = engine::docker::command_text(c);
    let ports: Vec<Value> = r
        .state
        .ports
        .iter()
        .map(|p| {
            json!({"IP": p.host_ip.map(|i| i.to_string()).unwrap_or_else(|| "0.0.0.0".into()),
                   "PrivatePort": p.container_port, "PublicPort": p.host_port, "Type": p.proto.to_string()})
        })
        .collect();
    let network = c.network_mode.to_string();
    json!({
        "Id": r.id,
        "Names": [format!("/{}", r.name)],
        "Image": c.image,
        "ImageID": c.image_id,
        "Command": command,
        "Created": created,
        "Ports": ports,
        "Labels": c.labels,
        "State": r.state.status,
        "Status": engine::docker::status_text(r),
        "HostConfig": {"NetworkMode": if c.network_mode_given.is_empty() { network.clone() } else { c.network_mode_given.clone() }},
        // Every network with its id (compose compares them to decide on recreation).
        "NetworkSettings": {"Networks": engine::docker::network_settings(eng, r)["Networks"].take()},
        "Mounts": engine::docker::mount_points(eng, r),
    })
}

/// `GET /containers/json?all=&limit=&filters=`.
pub async fn list(
    State(st): State<crate::State>,
    Query(q): Params,
) -> Result<Json<Value>, ApiError> {
    let filters: std::collections::BTreeMap<String, Vec<String>> = match q.get("filters") {
        Some(f) if !f.is_empty() => parse_filters(f)?,
        _ => Default::default(),
    };
    let all = flag(&q, "all");
    let size = flag(&q, "size");
    let limit: Option<usize> = q
        .get("limit")
        .and_then(|l| l.parse().ok())
        .filter(|l| *l > 0);
    st.with_engine(move |eng| {
        let f = engine::filters::Filters::from_map(filters);
        let mut recs = eng.list_filtered(&f)?;
        match limit {
            Some(n) => recs.truncate(n),
            None if !all => recs.retain(|r| r.state.status.is_active()),
            None => {}
        }
        let images = if size {
            eng.image_sizes()?
        } else {
            Default::default()
        };
        let docs = recs
            .iter()
            .map(|r| {
                let mut d = summary(eng, r);
                if size {
                    sizes(eng, r, &images, &mut d);
                }
                d
            })
            .collect();
        Ok(Json(Value::Array(docs)))
    })
    .await
}

/// The `filters` query parameter: `{"key": ["v", ...]}` or the old `{"key": {"v": true}}`.
pub(crate) fn parse_filters(
    s: &str,
) -> Result<std::collections::BTreeMap<String, Vec<String>>, ApiError> {
    let v: Value = serde_json::from_str(s)
        .map_err(|e| ApiError::bad_request(format!("invalid filter: {e}")))?;
    let mut out = std::collections::BTreeMap::new();
    for (k, vals) in v.as_object().into_iter().flatten() {
        let list: Vec<String> = match vals {
            Value::Array(a) => a
                .iter()
                .filter_map(|x| x.as_str().map(str::to_string))
                .collect(),
            Value::Object(m) => m.keys().cloned().collect(),
            _ => return Err(ApiError::bad_request(format!("invalid filter '{k}'"))),
        };
        out.insert(k.clone(), list);
    }
    Ok(out)
}

/// `GET /containers/{id}/json`.
pub async fn inspect(
    State(st): State<crate::State>,
    Path(id): Path<String>,
    Query(q): Params,
) -> Result<Json<Value>, ApiError> {
    let size = flag(&q, "size");
    st.with_engine(move |eng| {
        let r = eng.get(&id).map_err(no_such(&id))?;
        let mut d = engine::docker::container_inspect(eng, &r);
        if size {
            sizes(eng, &r, &eng.image_sizes()?, &mut d);
        }
        Ok(Json(d))
    })
    .await
}

/// `POST /containers/{id}/start` (304 when it runs already).
pub async fn start(
    State(st): State<crate::State>,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let waiting = st.waiting.clone();
    let started = st.started.clone();
    st.with_engine(move |eng| {
        let r = eng.get(&id).map_err(no_such(&id))?;
        if r.state.status.is_active() {
            return Ok(StatusCode::NOT_MODIFIED);
        }
        // An attach made before the start gets the start's own output stream.
        match waiting.take(&r.id) {
            Some(attacher) => {
                let (_, stream) = eng.start(&r.id, &attacher.streams).map_err(no_such(&id))?;
                let _ = attacher.tx.send(stream);
            }
            None => {
                eng.start(&r.id, "").map_err(no_such(&id))?;
            }
        }
        started.notify();
        Ok(StatusCode::NO_CONTENT)
    })
    .await
}

/// `POST /containers/{id}/stop?t=` (304 when it is stopped already).
pub async fn stop(
    State(st): State<crate::State>,
    Path(id): Path<String>,
    Query(q): Params,
) -> Result<StatusCode, ApiError> {
    let t = q.get("t").and_then(|t| t.parse().ok());
    st.with_engine(move |eng| {
        let r = eng.get(&id).map_err(no_such(&id))?;
        if !r.state.status.is_active() {
            return Ok(StatusCode::NOT_MODIFIED);
        }
        eng.stop(&r.id, t).map_err(no_such(&id))?;
        Ok(StatusCode::NO_CONTENT)
    })
    .await
}

/// `POST /containers/{id}/restart?t=`.
pub async fn restart(
    State(st): State<crate::State>,
    Path(id): Path<String>,
    Query(q): Params,
) -> Result<StatusCode, ApiError> {
    let t = q.get("t").and_then(|t| t.parse().ok());
    st.with_engine(move |eng| {
        eng.restart(&id, t).map_err(no_such(&id))?;
        Ok(StatusCode::NO_CONTENT)
    })
    .await
}

/// `POST /containers/{id}/kill?signal=`.
pub async fn kill(
    State(st): State<crate::State>,
    Path(id): Path<String>,
    Query(q): Params,
) -> Result<StatusCode, ApiError> {
    let sig = q.get("signal").cloned().unwrap_or_else(|| "KILL".into());
    st.with_engine(move |eng| {
        eng.kill(&id, &sig).map_err(no_such(&id))?;
        Ok(StatusCode::NO_CONTENT)
    })
    .await
}

/// `POST /containers/{id}/pause`.
pub async fn pause(
    State(st): State<crate::State>,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    st.with_engine(move |eng| {
        eng.pause(&id, true).map_err(no_such(&id))?;
        Ok(StatusCode::NO_CONTENT)
    })
    .await
}

/// `POST /containers/{id}/unpause`.
pub async fn unpause(
    State(st): State<crate::State>,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    st.with_engine(move |eng| {
        eng.pause(&id, false).map_err(no_such(&id))?;
        Ok(StatusCode::NO_CONTENT)
    })
    .await
}

/// `POST /containers/{id}/wait?condition=not-running|next-exit|removed`:
/// `{"StatusCode": N}` once the condition holds (`next-exit`, what `docker run` asks
/// before it starts the container, waits for a start first).
pub async fn wait(
    State(st): State<crate::State>,
    Path(id): Path<String>,
    Query(q): Params,
) -> Result<Response, ApiError> {
    let condition = q.get("condition").cloned().unwrap_or_default();
    // dockerd answers the headers at once and the body when the condition holds:
    // `docker run` waits for the headers before it starts the container.
    let first = st
        .with_engine({
            let id = id.clone();
            move |eng| eng.get(&id).map_err(no_such(&id))
        })
        .await?;
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Vec<u8>, std::io::Error>>(1);
    let (root, run) = (st.root.clone(), st.run_dir.clone());
    let starts = st.started.clone();
    tokio::task::spawn_blocking(move || {
        let Ok(mut eng) = engine::lifecycle::Engine::open(&root, &run) else {
            return;
        };
        let full = first.id.clone();
        let mut last = first;
        if condition == "next-exit" || condition == "removed" {
            // Until it has started (or is gone: a short-lived --rm container).
            while let Ok(now) = eng.get(&full) {
                let started = now.state.status != engine::config::ContainerStatus::Created;
                last = now;
                if started {
                    break;
                }
                starts.wait(std::time::Duration::from_millis(10));
            }
        }
        let (code, error) = match eng.wait(&full) {
            Ok(c) => (c, Value::Null),
            // Removed before the wait began (--rm): its `die` event's.
            Err(engine::Error::NoSuchContainer(_)) => (eng.exit_of_removed(&last), Value::Null),
            Err(e) => (-1, json!({"Message": e.to_string()})),
        };
        if condition == "removed" {
            while eng.get(&full).is_ok() {
                std::thread::sleep(std::time::Duration::from_millis(2));
            }
        }
        let mut body = json!({"StatusCode": code, "Error": error})
            .to_string()
            .into_bytes();
        body.push(b'\n');
        let _ = tx.blocking_send(Ok(body));
    });
    Ok((
        [(header::CONTENT_TYPE, "application/json")],
        Body::from_stream(crate::stream::receiver_stream(rx)),
    )
        .into_response())
}

/// `DELETE /containers/{id}?force=&v=`.
pub async fn remove(
    State(st): State<crate::State>,
    Path(id): Path<String>,
    Query(q): Params,
) -> Result<StatusCode, ApiError> {
    let (force, volumes) = (flag(&q, "force"), flag(&q, "v"));
    let gone = st
        .with_engine(move |eng| Ok(eng.remove(&id, force, volumes).map_err(no_such(&id))?.id))
        .await?;
    crate::exec::forget_container(&st, &gone);
    Ok(StatusCode::NO_CONTENT)
}

/// One frame of dockerd's multiplexed stream: the stream (1 stdout, 2 stderr), three
/// zero bytes, the payload's length (big endian), the payload.
pub(crate) fn frame(stream: u8, data: &[u8]) -> Vec<u8> {
    let mut f = vec![stream, 0, 0, 0];
    f.extend_from_slice(&(data.len() as u32).to_be_bytes());
    f.extend_from_slice(data);
    f
}

/// `GET /containers/{id}/logs?stdout=&stderr=&tail=&timestamps=&follow=`: framed unless
/// the container has a terminal. `follow` streams as the entries come.
pub async fn logs(
    State(st): State<crate::State>,
    Path(id): Path<String>,
    Query(q): Params,
) -> Result<Response, ApiError> {
    let (want_out, want_err) = (flag(&q, "stdout"), flag(&q, "stderr"));
    let stamps = flag(&q, "timestamps");
    let tail = q.get("tail").and_then(|t| t.parse::<usize>().ok());
    let follow = flag(&q, "follow");
    let since = q
        .get("since")
        .and_then(|s| s.parse::<f64>().ok())
        .filter(|s| *s > 0.0)
        .map(|s| (s * 1e9) as i64);
    let until = q
        .get("until")
        .and_then(|s| s.parse::<f64>().ok())
        .filter(|s| *s > 0.0)
        .map(|s| (s * 1e9) as i64);
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Vec<u8>, std::io::Error>>(64);
    let tty = st
        .with_engine({
            let id = id.clone();
            move |eng| Ok(eng.get(&id).map_err(no_such(&id))?.config.tty)
        })
        .await?;
    let (root, run) = (st.root.clone(), st.run_dir.clone());
    tokio::task::spawn_blocking(move || {
        let Ok(mut eng) = engine::lifecycle::Engine::open(&root, &run) else {
            return;
        };
        let opts = engine::log_stream::LogOptions {
            tail,
            since,
            until,
            follow,
        };
        let Ok(entries) = eng.logs(&id, opts) else {
            return;
        };
        for e in entries {
            let Ok(e) = e else { break };
            let is_err = e.stream == "stderr";
            if (is_err && !want_err) || (!is_err && !want_out) {
                continue;
            }
            let text = if stamps {
                format!("{} {}", e.time, e.log)
            } else {
                e.log
            };
            let bytes = if tty {
                text.into_bytes()
            } else {
                frame(if is_err { 2 } else { 1 }, text.as_bytes())
            };
            if tx.blocking_send(Ok(bytes)).is_err() {
                break;
            }
        }
    });
    let stream = crate::stream::receiver_stream(rx);
    let kind = if tty {
        "application/vnd.docker.raw-stream"
    } else {
        "application/vnd.docker.multiplexed-stream"
    };
    Ok(([(header::CONTENT_TYPE, kind)], Body::from_stream(stream)).into_response())
}

/// `GET /containers/{id}/top?ps_args=`.
pub async fn top(
    State(st): State<crate::State>,
    Path(id): Path<String>,
    Query(q): Params,
) -> Result<Json<Value>, ApiError> {
    let args: Vec<String> = q
        .get("ps_args")
        .map(|a| a.split_whitespace().map(str::to_string).collect())
        .unwrap_or_default();
    st.with_engine(move |eng| {
        let r = eng.get(&id).map_err(no_such(&id))?;
        if !r.state.status.is_active() {
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                format!("Container {} is not running", r.id),
            ));
        }
        let t = eng.top(&r.id, &args)?;
        Ok(Json(json!({"Titles": t.titles, "Processes": t.processes})))
    })
    .await
}

/// `GET /containers/{id}/changes`: Docker's kinds as numbers (0 modified, 1 added,
/// 2 deleted).
pub async fn changes(
    State(st): State<crate::State>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    st.with_engine(move |eng| {
        let r = eng.get(&id).map_err(no_such(&id))?;
        let list: Vec<Value> = eng
            .diff(&r.id)?
            .iter()
            .map(|c| {
                let kind = match c.kind.letter() {
                    'C' => 0,
                    'A' => 1,
                    _ => 2,
                };
                json!({"Path": c.path, "Kind": kind})
            })
            .collect();
        Ok(Json(Value::Array(list)))
    })
    .await
}

/// `POST /containers/{id}/rename?name=`.
pub async fn rename(
    State(st): State<crate::State>,
    Path(id): Path<String>,
    Query(q): Params,
) -> Result<StatusCode, ApiError> {
    let name = q.get("name").cloned().unwrap_or_default();
    st.with_engine(move |eng| {
        eng.rename(&id, &name).map_err(no_such(&id))?;
        Ok(StatusCode::NO_CONTENT)
    })
    .await
}

/// `GET /events?since=&until=&filters=`: dockerd's event objects, one JSON per line,
/// as they happen (the recorded ones first with `since`).
pub async fn events(
    State(st): State<crate::State>,
    Query(q): Params,
) -> Result<Response, ApiError> {
    let point = |k: &str| -> Result<Option<i64>, ApiError> {
        match q.get(k).filter(|v| !v.is_empty()) {
            None => Ok(None),
            Some(v) => engine::time::parse_point(v, engine::time::now_nanos())
                .map(Some)
                .ok_or_else(|| ApiError::bad_request(format!("invalid value for {k}: {v}"))),
        }
    };
    let (since, until) = (point("since")?, point("until")?);
    let filters = match q.get("filters") {
        Some(f) if !f.is_empty() => parse_filters(f)?,
        _ => Default::default(),
    };
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Vec<u8>, std::io::Error>>(64);
    let (root, run) = (st.root.clone(), st.run_dir.clone());
    let opts = engine::filters::EventOptions {
        since,
        until,
        filters: engine::filters::Filters::from_map(filters),
    };
    opts.filters
        .check_event()
        .map_err(|e| ApiError::bad_request(e.to_string()))?;
    tokio::task::spawn_blocking(move || {
        let Ok(mut eng) = engine::lifecycle::Engine::open(&root, &run) else {
            return;
        };
        let Ok(stream) = eng.event_stream(opts) else {
            return;
        };
        for e in stream {
            let Ok(e) = e else { break };
            let doc = engine::docker::event(&e);
            let mut line = doc.to_string().into_bytes();
            line.push(b'\n');
            if tx.blocking_send(Ok(line)).is_err() {
                break;
            }
        }
    });
    Ok((
        [(header::CONTENT_TYPE, "application/json")],
        Body::from_stream(crate::stream::receiver_stream(rx)),
    )
        .into_response())
}
