//! Disk usage and what frees it: `GET /system/df` and the prunes of containers,
//! volumes and networks (images prune in `images.rs`). The engine counts; this shapes
//! dockerd's documents.

use axum::extract::State;
use axum::Json;
use serde_json::{json, Value};

use crate::{ApiError, Q};

/// A list, or dockerd's `null` for none.
fn list_or_null(v: Vec<String>) -> Value {
    if v.is_empty() {
        Value::Null
    } else {
        json!(v)
    }
}

/// `GET /system/df?type=`: `LayersSize`, `Images`, `Containers`, `Volumes`,
/// `BuildCache` (only the kinds asked for when `type` is given).
pub async fn df(State(st): State<crate::State>, q: Q) -> Result<Json<Value>, ApiError> {
    let types = q.all("type");
    for t in &types {
        if !matches!(t.as_str(), "container" | "image" | "volume" | "build-cache") {
            return Err(ApiError::bad_request(format!("unknown object type: {t}")));
        }
    }
    let want = move |t: &str| types.is_empty() || types.iter().any(|x| x == t);
    st.with_engine(move |eng| {
        let du = eng.disk_usage()?;
        let mut doc = json!({"LayersSize": 0, "Images": null, "Containers": null,
                             "Volumes": null, "BuildCache": null});
        if want("image") {
            doc["LayersSize"] = json!(du.layers_size);
            let images: Vec<Value> = du
                .images
                .iter()
                .map(|i| {
                    let digests = eng.image_repo_digests(&i.image.id).unwrap_or_default();
                    let mut v = crate::system::image_summary(&i.image, digests);
                    v["SharedSize"] = json!(i.shared_size);
                    v["Containers"] = json!(i.containers);
                    v
                })
                .collect();
            doc["Images"] = json!(images);
        }
        if want("container") {
            let containers: Vec<Value> = du
                .containers
                .iter()
                .map(|c| {
                    let mut v = crate::containers::summary(eng, &c.record);
                    v["SizeRw"] = json!(c.size_rw);
                    v["SizeRootFs"] = json!(c.size_root_fs);
                    v
                })
                .collect();
            doc["Containers"] = json!(containers);
        }
        if want("volume") {
            let volumes: Vec<Value> = du
                .volumes
                .iter()
                .map(|v| {
                    let mut d = engine::docker::volume_inspect(eng, &v.volume);
                    d["UsageData"] = json!({"Size": v.size, "RefCount": v.ref_count});
                    d
                })
                .collect();
            doc["Volumes"] = json!(volumes);
        }
        if want("build-cache") {
            let cache: Vec<Value> = du
                .build_cache
                .iter()
                .map(|e| {
                    let at = engine::time::rfc3339_nanos(e.last_used.saturating_mul(1_000_000_000));
                    json!({
                        "ID": e.key, "Parent": "", "Parents": null, "Type": "regular",
                        "Description": format!("build step of {}", e.image),
                        // A build's own step images can go; the others are images too.
                        "InUse": !e.hidden, "Shared": false, "Size": e.size,
                        "CreatedAt": at, "LastUsedAt": at, "UsageCount": 1,
                    })
                })
                .collect();
            doc["BuildCache"] = json!(cache);
        }
        Ok(Json(doc))
    })
    .await
}

/// `POST /containers/prune?filters=`: stopped containers (`label`, `label!`, `until`).
pub async fn containers(State(st): State<crate::State>, q: Q) -> Result<Json<Value>, ApiError> {
    let f = q.filters()?;
    st.with_engine(move |eng| {
        let (gone, freed) = eng.container_prune(&f)?;
        Ok(Json(
            json!({"ContainersDeleted": list_or_null(gone), "SpaceReclaimed": freed}),
        ))
    })
    .await
}

/// `POST /build/prune?all=&filters=`: the build cache no image uses (`until`), as
/// `docker system prune` and `docker builder prune` ask for it. The cache records'
/// ids are not kept, so `CachesDeleted` stays empty; the space reclaimed is counted.
pub async fn build_cache(State(st): State<crate::State>, q: Q) -> Result<Json<Value>, ApiError> {
    let f = q.filters()?;
    let mut older = None;
    for v in f.get("until") {
        let d = engine::time::parse_duration(v)
            .ok_or_else(|| ApiError::bad_request(format!("invalid filter 'until={v}'")))?;
        older = Some((engine::time::now_nanos() - d) / 1_000_000_000);
    }
    let all = q.flag_or("all", false);
    st.with_engine(move |eng| {
        let (_, freed) = eng.build_cache_prune(all, older)?;
        Ok(Json(
            json!({"CachesDeleted": null, "SpaceReclaimed": freed}),
        ))
    })
    .await
}

/// `POST /volumes/prune?filters=`: unused anonymous volumes, or every unused one with
/// `all=true` (API 1.42 and later).
pub async fn volumes(State(st): State<crate::State>, q: Q) -> Result<Json<Value>, ApiError> {
    let f = q.filters()?;
    st.with_engine(move |eng| {
        let (gone, freed) = eng.volume_prune(&f)?;
        Ok(Json(
            json!({"VolumesDeleted": list_or_null(gone), "SpaceReclaimed": freed}),
        ))
    })
    .await
}

/// `POST /networks/prune?filters=`: user networks no container uses.
pub async fn networks(State(st): State<crate::State>, q: Q) -> Result<Json<Value>, ApiError> {
    let f = q.filters()?;
    st.with_engine(move |eng| {
        let gone = eng.network_prune(&f)?;
        Ok(Json(json!({"NetworksDeleted": list_or_null(gone)})))
    })
    .await
}
