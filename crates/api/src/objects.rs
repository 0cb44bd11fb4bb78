//! Volumes and networks: list, inspect, create, remove (the documents are the engine's,
//! the same `quai volume|network inspect` prints).

use std::collections::BTreeMap;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use serde_json::{json, Value};

use crate::ApiError;

fn map(v: &Value) -> BTreeMap<String, String> {
    v.as_object()
        .into_iter()
        .flatten()
        .map(|(k, x)| (k.clone(), x.as_str().unwrap_or_default().to_string()))
        .collect()
}

fn body(b: &[u8]) -> Result<Value, ApiError> {
    if b.is_empty() {
        return Ok(json!({}));
    }
    serde_json::from_slice(b).map_err(|e| ApiError::bad_request(format!("invalid JSON: {e}")))
}

/// `GET /volumes`.
pub async fn volumes(State(st): State<crate::State>) -> Result<Json<Value>, ApiError> {
    st.with_engine(|eng| {
        let list: Vec<Value> = eng
            .volumes()?
            .iter()
            .map(|v| engine::docker::volume_inspect(eng, v))
            .collect();
        Ok(Json(json!({"Volumes": list, "Warnings": null})))
    })
    .await
}

/// `GET /volumes/{name}`.
pub async fn volume(
    State(st): State<crate::State>,
    Path(name): Path<String>,
) -> Result<Json<Value>, ApiError> {
    st.with_engine(move |eng| match eng.volume(&name)? {
        Some(v) => Ok(Json(engine::docker::volume_inspect(eng, &v))),
        None => Err(ApiError::new(
            StatusCode::NOT_FOUND,
            format!("get {name}: no such volume"),
        )),
    })
    .await
}

/// `POST /volumes/create`.
pub async fn volume_create(
    State(st): State<crate::State>,
    b: axum::body::Bytes,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let b = body(&b)?;
    let name = b["Name"]
        .as_str()
        .filter(|n| !n.is_empty())
        .map(str::to_string);
    let driver = b["Driver"]
        .as_str()
        .filter(|d| !d.is_empty())
        .unwrap_or("local")
        .to_string();
    let (labels, opts) = (map(&b["Labels"]), map(&b["DriverOpts"]));
    st.with_engine(move |eng| {
        let v = eng.volume_create(name.as_deref(), &driver, labels, opts)?;
        Ok((
            StatusCode::CREATED,
            Json(engine::docker::volume_inspect(eng, &v)),
        ))
    })
    .await
}

/// `DELETE /volumes/{name}`.
pub async fn volume_remove(
    State(st): State<crate::State>,
    Path(name): Path<String>,
) -> Result<StatusCode, ApiError> {
    st.with_engine(move |eng| {
        if eng.volume(&name)?.is_none() {
            return Err(ApiError::new(
                StatusCode::NOT_FOUND,
                format!("get {name}: no such volume"),
            ));
        }
        eng.volume_remove(&name)
            .map_err(|e| ApiError::new(StatusCode::CONFLICT, e.to_string()))?;
        Ok(StatusCode::NO_CONTENT)
    })
    .await
}

/// `GET /networks`.
pub async fn networks(State(st): State<crate::State>) -> Result<Json<Value>, ApiError> {
    st.with_engine(|eng| {
        let mut list: Vec<Value> = eng
            .networks()?
            .iter()
            .map(|n| engine::docker::network_inspect(eng, n))
            .collect();
        for (name, driver) in engine::docker::PREDEFINED {
            list.push(engine::docker::predefined_network(eng, name, driver));
        }
        Ok(Json(Value::Array(list)))
    })
    .await
}

/// `GET /networks/{id}`.
pub async fn network(
    State(st): State<crate::State>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    st.with_engine(move |eng| {
        engine::docker::network_by_name(eng, &id)
            .map(Json)
            .ok_or_else(|| ApiError::new(StatusCode::NOT_FOUND, format!("network {id} not found")))
    })
    .await
}

/// `POST /networks/create`.
pub async fn network_create(
    State(st): State<crate::State>,
    b: axum::body::Bytes,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let b = body(&b)?;
    let name = b["Name"].as_str().unwrap_or_default().to_string();
    let driver = b["Driver"]
        .as_str()
        .filter(|d| !d.is_empty())
        .unwrap_or("bridge");
    if driver != "bridge" {
        return Err(ApiError::bad_request(format!(
            "network driver {driver:?} is not supported: only \"bridge\""
        )));
    }
    let ipam = b["IPAM"]["Config"]
        .as_array()
        .and_then(|c| c.first())
        .cloned()
        .unwrap_or(json!({}));
    let s = |k: &str| {
        ipam[k]
            .as_str()
            .filter(|x| !x.is_empty())
            .map(str::to_string)
    };
    let (subnet, gateway, range) = (s("Subnet"), s("Gateway"), s("IPRange"));
    let internal = b["Internal"].as_bool().unwrap_or(false);
    let (labels, options) = (map(&b["Labels"]), map(&b["Options"]));
    st.with_engine(move |eng| {
        let n = eng.network_create(engine::network::CreateArgs {
            name: &name,
            subnet: subnet.as_deref(),
            gateway: gateway.as_deref(),
            ip_range: range.as_deref(),
            internal,
            labels,
            options,
        })?;
        Ok((
            StatusCode::CREATED,
            Json(json!({"Id": n.id, "Warning": ""})),
        ))
    })
    .await
}

/// `DELETE /networks/{id}`.
pub async fn network_remove(
    State(st): State<crate::State>,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    st.with_engine(move |eng| {
        if engine::docker::PREDEFINED.iter().any(|(p, _)| *p == id) || id == "bridge" {
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                format!("{id} is a pre-defined network and cannot be removed"),
            ));
        }
        eng.network(&id)
            .map_err(|_| ApiError::new(StatusCode::NOT_FOUND, format!("network {id} not found")))?;
        eng.network_remove(&id)
            .map_err(|e| ApiError::new(StatusCode::CONFLICT, e.to_string()))?;
        Ok(StatusCode::NO_CONTENT)
    })
    .await
}

/// The network `id` (404 in dockerd's words when there is none) and the container
/// named in a connect or disconnect body.
fn endpoint_target(eng: &engine::lifecycle::Engine, id: &str) -> Result<(), ApiError> {
    if id == "host" {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "container cannot be disconnected from host network or connected to host network",
        ));
    }
    eng.network(id)
        .map(|_| ())
        .map_err(|_| ApiError::new(StatusCode::NOT_FOUND, format!("network {id} not found")))
}

fn container_of(b: &Value) -> Result<String, ApiError> {
    match &b["Container"] {
        Value::String(c) if !c.is_empty() => Ok(c.clone()),
        Value::Null | Value::String(_) => Err(ApiError::bad_request("Container is required")),
        _ => Err(ApiError::bad_request(
            "invalid JSON: Container must be a string",
        )),
    }
}

/// `POST /networks/{id}/connect` (`{"Container", "EndpointConfig": {"Aliases",
/// "IPAMConfig": {"IPv4Address"}}}`).
pub async fn network_connect(
    State(st): State<crate::State>,
    Path(id): Path<String>,
    b: axum::body::Bytes,
) -> Result<StatusCode, ApiError> {
    let b = crate::json_body(&b)?;
    let container = container_of(&b)?;
    let ec = &b["EndpointConfig"];
    if !(ec.is_null() || ec.is_object()) {
        return Err(ApiError::bad_request(
            "invalid JSON: EndpointConfig must be an object",
        ));
    }
    let aliases = match &ec["Aliases"] {
        Value::Null => Vec::new(),
        Value::Array(a) => a
            .iter()
            .map(|x| x.as_str().map(str::to_string))
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| ApiError::bad_request("invalid JSON: Aliases must be strings"))?,
        _ => {
            return Err(ApiError::bad_request(
                "invalid JSON: Aliases must be a list",
            ))
        }
    };
    let ip = ec["IPAMConfig"]["IPv4Address"]
        .as_str()
        .filter(|s| !s.is_empty())
        .map(str::to_string);
    st.with_engine(move |eng| {
        eng.get(&container)
            .map_err(crate::containers::no_such(&container))?;
        endpoint_target(eng, &id)?;
        eng.network_connect(&id, &container, aliases, ip)
            .map_err(forbidden)?;
        Ok(StatusCode::OK)
    })
    .await
}

/// `POST /networks/{id}/disconnect` (`{"Container", "Force"}`).
pub async fn network_disconnect(
    State(st): State<crate::State>,
    Path(id): Path<String>,
    b: axum::body::Bytes,
) -> Result<StatusCode, ApiError> {
    let b = crate::json_body(&b)?;
    let container = container_of(&b)?;
    if !(b["Force"].is_null() || b["Force"].is_boolean()) {
        return Err(ApiError::bad_request(
            "invalid JSON: Force must be a boolean",
        ));
    }
    st.with_engine(move |eng| {
        eng.get(&container)
            .map_err(crate::containers::no_such(&container))?;
        endpoint_target(eng, &id)?;
        eng.network_disconnect(&id, &container).map_err(forbidden)?;
        Ok(StatusCode::OK)
    })
    .await
}

/// A refusal to (dis)connect is dockerd's 403.
fn forbidden(e: engine::Error) -> ApiError {
    if e.is_conflict() {
        ApiError::new(StatusCode::FORBIDDEN, e.to_string())
    } else {
        e.into()
    }
}
