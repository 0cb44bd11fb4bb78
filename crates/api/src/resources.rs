//! What a container uses and may use: `GET /containers/{id}/stats` (dockerd's stats
//! document, once or every second) and `POST /containers/{id}/update` (limits and
//! restart policy, live).

use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::Json;
use serde_json::{json, Value};

use crate::stream::Lines;
use crate::{ApiError, Q};

/// dockerd's collector interval: one document per second, each with the one before as
/// its `precpu_stats`.
const INTERVAL: Duration = Duration::from_secs(1);

/// `GET /containers/{id}/stats?stream=&one-shot=`. `stream` (the default) sends a
/// document every second until the client goes away or the container stops; otherwise
/// one, after a second's second sample (or at once with `one-shot`, without a previous
/// one). A container that is not running gets dockerd's zeros.
pub async fn stats(
    State(st): State<crate::State>,
    Path(id): Path<String>,
    q: Q,
) -> Result<Response, ApiError> {
    let stream = q.flag_or("stream", true);
    let one_shot = q.flag_or("one-shot", false);
    if one_shot && stream {
        return Err(ApiError::bad_request(
            "cannot have stream=true and one-shot=true",
        ));
    }
    let rec = st
        .with_engine({
            let id = id.clone();
            move |eng| eng.get(&id).map_err(crate::containers::no_such(&id))
        })
        .await?;
    let (lines, resp) = Lines::new();
    let (root, run) = (st.root.clone(), st.run_dir.clone());
    tokio::task::spawn_blocking(move || {
        let Ok(eng) = engine::lifecycle::Engine::open(&root, &run) else {
            return;
        };
        let mut cur = eng.stats_reading(&rec.id);
        if !stream {
            let pre = if one_shot || cur.is_none() {
                None
            } else {
                std::thread::sleep(INTERVAL);
                std::mem::replace(&mut cur, eng.stats_reading(&rec.id))
            };
            lines.send(engine::docker::stats(&rec, cur.as_ref(), pre.as_ref()));
            return;
        }
        let mut pre = None;
        loop {
            if !lines.send(engine::docker::stats(&rec, cur.as_ref(), pre.as_ref())) || cur.is_none()
            {
                return;
            }
            std::thread::sleep(INTERVAL);
            pre = cur.take();
            cur = eng.stats_reading(&rec.id);
        }
    });
    Ok(resp)
}

/// A number field of the update body: absent or null is `None`; 0 too when `zero_unset`
/// (Docker's `omitempty` fields).
fn number(b: &Value, k: &str, zero_unset: bool) -> Result<Option<i64>, ApiError> {
    match &b[k] {
        Value::Null => Ok(None),
        Value::Number(n) => {
            let v = n.as_i64().ok_or_else(|| {
                ApiError::bad_request(format!("invalid JSON: {k} must be an integer"))
            })?;
            Ok((!(zero_unset && v == 0)).then_some(v))
        }
        _ => Err(ApiError::bad_request(format!(
            "invalid JSON: {k} must be a number"
        ))),
    }
}

fn text(b: &Value, k: &str) -> Result<Option<String>, ApiError> {
    match &b[k] {
        Value::Null => Ok(None),
        Value::String(s) if s.is_empty() => Ok(None),
        Value::String(s) => Ok(Some(s.clone())),
        _ => Err(ApiError::bad_request(format!(
            "invalid JSON: {k} must be a string"
        ))),
    }
}

/// Docker's update body (`HostConfig`'s resources and `RestartPolicy`) as the engine's
/// request.
fn update_request(b: &Value) -> Result<engine::update::UpdateRequest, ApiError> {
    let nonneg = |k: &str| -> Result<Option<u64>, ApiError> {
        number(b, k, true)?
            .map(|v| {
                u64::try_from(v).map_err(|_| {
                    ApiError::bad_request(format!("invalid {k}: must not be negative"))
                })
            })
            .transpose()
    };
    let restart = match &b["RestartPolicy"] {
        Value::Null => None,
        Value::Object(_) => {
            let p = &b["RestartPolicy"];
            match text(p, "Name")? {
                None => None,
                Some(name) => match number(p, "MaximumRetryCount", true)? {
                    Some(n) if name == "on-failure" => Some(format!("{name}:{n}")),
                    _ => Some(name),
                },
            }
        }
        _ => {
            return Err(ApiError::bad_request(
                "invalid JSON: RestartPolicy must be an object",
            ))
        }
    };
    let blkio = nonneg("BlkioWeight")?
        .map(|w| u16::try_from(w).map_err(|_| ApiError::bad_request("invalid BlkioWeight")))
        .transpose()?;
    Ok(engine::update::UpdateRequest {
        memory: number(b, "Memory", true)?,
        memory_swap: number(b, "MemorySwap", true)?,
        memory_reservation: number(b, "MemoryReservation", true)?,
        nano_cpus: number(b, "NanoCpus", true)?,
        cpu_shares: nonneg("CpuShares")?,
        cpu_period: number(b, "CpuPeriod", true)?,
        cpu_quota: number(b, "CpuQuota", true)?,
        cpu_rt_period: number(b, "CpuRealtimePeriod", true)?,
        cpu_rt_runtime: number(b, "CpuRealtimeRuntime", true)?,
        cpuset_cpus: text(b, "CpusetCpus")?,
        cpuset_mems: text(b, "CpusetMems")?,
        // A pointer in Docker's body: present (0 or -1 for unlimited) or null.
        pids_limit: number(b, "PidsLimit", false)?,
        blkio_weight: blkio,
        restart,
    })
}

/// `POST /containers/{id}/update`: `{"Warnings": []}`.
pub async fn update(
    State(st): State<crate::State>,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let req = update_request(&crate::json_body(&body)?)?;
    st.with_engine(move |eng| {
        eng.update(&id, &req)
            .map_err(crate::containers::no_such(&id))?;
        Ok((StatusCode::OK, Json(json!({"Warnings": []}))))
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn update_bodies_read_as_docker_sends_them() {
        let r = update_request(
            &json!({"Memory": 67108864, "MemorySwap": -1, "CpuShares": 0,
            "PidsLimit": null, "RestartPolicy": {"Name": "on-failure", "MaximumRetryCount": 3}}),
        )
        .expect("request");
        assert_eq!(r.memory, Some(67_108_864));
        assert_eq!(r.memory_swap, Some(-1));
        assert_eq!(r.cpu_shares, None);
        assert_eq!(r.pids_limit, None);
        assert_eq!(r.restart.as_deref(), Some("on-failure:3"));
        let r = update_request(&json!({"PidsLimit": 0, "RestartPolicy": {}})).expect("request");
        assert_eq!(r.pids_limit, Some(0));
        assert_eq!(r.restart, None);
        assert!(update_request(&json!({"Memory": "lots"})).is_err());
        assert!(update_request(&json!({"CpuShares": -2})).is_err());
    }
}
