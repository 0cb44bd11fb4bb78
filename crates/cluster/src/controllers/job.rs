//! The Job controller: pods from the template until `completions` succeeded, at most
//! `parallelism` at a time; failed pods retried after kube's back-off (10 s doubling,
//! capped at 6 min) until `backoffLimit` failures; `activeDeadlineSeconds`; `suspend`;
//! the conditions (`SuccessCriteriaMet`/`Complete`, `FailureTarget`/`Failed`) and
//! counts kubectl reads; finished Jobs removed after `ttlSecondsAfterFinished`.

use serde_json::{json, Value};

use super::replicaset::{claim_pods, pod_from_template};
use super::{condition, gone_ok, list, name, namespace, pod_ready, res, set_status, terminating};
use crate::api::kinds::label_selector;
use crate::api::registry::{DeleteOptions, Write};
use crate::api::{ApiResult, Registry};

fn finished(job: &Value) -> Option<&'static str> {
    for t in ["Complete", "Failed"] {
        if condition(job, t).is_some_and(|c| c["status"] == "True") {
            return Some(if t == "Complete" {
                "Complete"
            } else {
                "Failed"
            });
        }
    }
    None
}

fn cond(t: &str, reason: &str, message: &str, now: &str) -> Value {
    json!({"type": t, "status": "True", "lastProbeTime": now, "lastTransitionTime": now,
           "reason": reason, "message": message})
}

/// When the newest failure happened (a container's finish, else the pod's creation).
fn failed_at(p: &Value) -> i64 {
    let finished = p["status"]["containerStatuses"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|c| c["state"]["terminated"]["finishedAt"].as_str())
        .filter_map(clock::parse_rfc3339)
        .max();
    finished
        .or_else(|| {
            p["metadata"]["creationTimestamp"]
                .as_str()
                .and_then(clock::parse_rfc3339)
        })
        .unwrap_or(0)
}

fn sync(reg: &Registry, job: &Value, pods: &[Value], now: i64) -> ApiResult<()> {
    let (jr, pr) = (res("batch", "jobs")?, res("", "pods")?);
    let ns = namespace(job);
    let now_s = clock::rfc3339_secs(now);
    if let Some(done) = finished(job) {
        if let Some(ttl) = job["spec"]["ttlSecondsAfterFinished"].as_i64() {
            let at = job["status"]["completionTime"]
                .as_str()
                .or_else(|| condition(job, done).and_then(|c| c["lastTransitionTime"].as_str()))
                .and_then(clock::parse_rfc3339)
                .unwrap_or(now);
            if now - at >= ttl.saturating_mul(1_000_000_000) {
                gone_ok(reg.delete(
                    jr,
                    ns,
                    name(job),
                    &DeleteOptions {
                        propagation: Some("Background".to_string()),
                        ..Default::default()
                    },
                ))?;
            }
        }
        return Ok(());
    }
    if terminating(job) {
        return Ok(());
    }
    let Some(sel) = label_selector(&job["spec"]["selector"]) else {
        return Ok(());
    };
    let owned = claim_pods(reg, jr, job, &sel, pods)?;
    let active: Vec<&Value> = owned
        .iter()
        .filter(|p| {
            !terminating(p)
                && !matches!(p["status"]["phase"].as_str(), Some("Succeeded" | "Failed"))
        })
        .collect();
    let succeeded = owned
        .iter()
        .filter(|p| p["status"]["phase"] == "Succeeded")
        .count() as i64;
    let failed_pods: Vec<&Value> = owned
        .iter()
        .filter(|p| p["status"]["phase"] == "Failed")
        .collect();
    let failed = failed_pods.len() as i64;
    let spec = &job["spec"];
    let suspended = spec["suspend"] == json!(true);
    let parallelism = spec["parallelism"].as_i64().unwrap_or(1).max(0);
    let completions = spec["completions"].as_i64();
    let backoff_limit = spec["backoffLimit"].as_i64().unwrap_or(6);
    let mut status = job["status"].clone();
    if !status.is_object() {
        status = json!({});
    }
    if status["startTime"].is_null() && !suspended {
        status["startTime"] = json!(now_s);
    }
    let mut conditions: Vec<Value> = status["conditions"].as_array().cloned().unwrap_or_default();
    let complete = match completions {
        Some(c) => succeeded >= c,
        None => succeeded > 0 && active.is_empty(),
    };
    let deadline = spec["activeDeadlineSeconds"].as_i64().and_then(|d| {
        let start = status["startTime"]
            .as_str()
            .and_then(clock::parse_rfc3339)?;
        (now - start >= d.saturating_mul(1_000_000_000)).then_some(d)
    });
    let failure = if failed > backoff_limit {
        Some((
            "BackoffLimitExceeded",
            "Job has reached the specified backoff limit",
        ))
    } else if deadline.is_some() {
        Some((
            "DeadlineExceeded",
            "Job was active longer than specified deadline",
        ))
    } else {
        None
    };
    if complete || failure.is_some() {
        for p in &active {
            gone_ok(reg.delete(pr, ns, name(p), &DeleteOptions::default()))?;
        }
        if complete {
            conditions.push(cond(
                "SuccessCriteriaMet",
                "CompletionsReached",
                "Reached expected number of succeeded pods",
                &now_s,
            ));
            conditions.push(cond(
                "Complete",
                "CompletionsReached",
                "Reached expected number of succeeded pods",
                &now_s,
            ));
            status["completionTime"] = json!(now_s);
        } else if let Some((reason, message)) = failure {
            super::event(
                reg,
                jr,
                job,
                "Warning",
                reason,
                message,
                "job-controller",
                None,
            );
            conditions.push(cond("FailureTarget", reason, message, &now_s));
            conditions.push(cond("Failed", reason, message, &now_s));
        }
        status["active"] = json!(0);
    } else if suspended {
        for p in &active {
            gone_ok(reg.delete(pr, ns, name(p), &DeleteOptions::default()))?;
        }
        if condition(job, "Suspended").is_none() {
            conditions.push(cond("Suspended", "JobSuspended", "Job suspended", &now_s));
        }
        status["active"] = json!(0);
    } else {
        conditions.retain(|c| c["type"] != "Suspended");
        let remaining = completions.map_or(parallelism, |c| (c - succeeded).max(0));
        let want = parallelism.min(remaining);
        let mut created = 0;
        let backoff_ok = failed == 0 || {
            let delay = 10i64.saturating_mul(1 << (failed - 1).clamp(0, 6)).min(360);
            let last = failed_pods.iter().map(|p| failed_at(p)).max().unwrap_or(0);
            now - last >= delay.saturating_mul(1_000_000_000)
        };
        if backoff_ok && (active.len() as i64) < want {
            for _ in active.len() as i64..want {
                let pod = pod_from_template(jr, job, &spec["template"]);
                match reg.create(pr, ns, pod, &Write::default()) {
                    Ok(p) => {
                        created += 1;
                        super::event(
                            reg,
                            jr,
                            job,
                            "Normal",
                            "SuccessfulCreate",
                            &format!("Created pod: {}", name(&p)),
                            "job-controller",
                            None,
                        );
                    }
                    Err(e) if e.code == 403 || e.code == 404 || e.code == 422 => break,
                    Err(e) => return Err(e),
                }
            }
        }
        status["active"] = json!(active.len() as i64 + created);
    }
    status["succeeded"] = json!(succeeded);
    status["failed"] = json!(failed);
    status["ready"] = json!(active.iter().filter(|p| pod_ready(p)).count());
    status["terminating"] = json!(owned.iter().filter(|p| terminating(p)).count());
    status["uncountedTerminatedPods"] = json!({});
    if !conditions.is_empty() {
        status["conditions"] = Value::Array(conditions);
    }
    if let Some(m) = status.as_object_mut() {
        m.retain(|k, v| {
            !(matches!(k.as_str(), "active" | "succeeded" | "failed") && v.as_i64() == Some(0))
        });
    }
    set_status(reg, jr, job, status)
}

pub fn reconcile(reg: &Registry) -> ApiResult<()> {
    let (jr, pr) = (res("batch", "jobs")?, res("", "pods")?);
    let jobs = list(reg, jr, None)?;
    if jobs.is_empty() {
        return Ok(());
    }
    let pods = list(reg, pr, None)?;
    let now = clock::now_nanos();
    for job in &jobs {
        let in_ns: Vec<Value> = pods
            .iter()
            .filter(|p| namespace(p) == namespace(job))
            .cloned()
            .collect();
        sync(reg, job, &in_ns, now)?;
    }
    Ok(())
}
