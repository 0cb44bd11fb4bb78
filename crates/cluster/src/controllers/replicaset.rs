//! The ReplicaSet controller: each ReplicaSet keeps `spec.replicas` active pods from
//! its template (adopting matching orphans, releasing pods that stopped matching, and
//! deleting the least settled pods first when there are too many), and reports how
//! many exist, are fully labeled, ready and available.

use serde_json::{json, Value};

use super::{
    controller_ref, controller_uid, gone_ok, list, name, pod_active, pod_available, pod_ready, res,
    set_status, terminating, uid,
};
use crate::api::kinds::label_selector;
use crate::api::registry::{DeleteOptions, Write};
use crate::api::{ApiResult, Registry};
use crate::resources::Resource;
use crate::selector::Selector;

/// The order pods are deleted in when scaling down: unscheduled, pending, not ready,
/// then the youngest (kube's `ActivePods` ranking, simplified).
fn rank(p: &Value) -> (u8, u8, u8, std::cmp::Reverse<String>) {
    let scheduled = p["spec"]["nodeName"]
        .as_str()
        .is_some_and(|n| !n.is_empty());
    let pending = p["status"]["phase"] == "Pending";
    (
        u8::from(scheduled),
        u8::from(!pending),
        u8::from(pod_ready(p)),
        std::cmp::Reverse(
            p["metadata"]["creationTimestamp"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
        ),
    )
}

/// A pod of `owner`'s template (a ReplicaSet, or a Job's pods through the same shape).
pub fn pod_from_template(owner_res: &Resource, owner: &Value, template: &Value) -> Value {
    let md = &template["metadata"];
    let mut meta = json!({
        "generateName": format!("{}-", name(owner)),
        "ownerReferences": [controller_ref(owner_res, owner)],
    });
    for k in ["labels", "annotations", "finalizers"] {
        if md[k].is_object() || md[k].is_array() {
            meta[k] = md[k].clone();
        }
    }
    json!({"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": template["spec"]})
}

/// Take orphans that match `sel` and release owned pods that no longer match; the pods
/// owned afterwards.
pub fn claim_pods(
    reg: &Registry,
    owner_res: &Resource,
    owner: &Value,
    sel: &Selector,
    pods: &[Value],
) -> ApiResult<Vec<Value>> {
    let pr = res("", "pods")?;
    let mut owned = Vec::new();
    for p in pods {
        let matches = sel.matches(&Selector::labels_of(p));
        match controller_uid(p) {
            Some(u) if u == uid(owner) => {
                if matches || terminating(p) {
                    owned.push(p.clone());
                } else {
                    let mut np = p.clone();
                    let refs: Vec<Value> = p["metadata"]["ownerReferences"]
                        .as_array()
                        .map(|a| {
                            a.iter()
                                .filter(|r| r["uid"] != json!(uid(owner)))
                                .cloned()
                                .collect()
                        })
                        .unwrap_or_default();
                    np["metadata"]["ownerReferences"] = Value::Array(refs);
                    super::update(reg, pr, np)?;
                }
            }
            None if matches && !terminating(p) && !terminating(owner) => {
                let mut np = p.clone();
                let mut refs = p["metadata"]["ownerReferences"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default();
                refs.push(controller_ref(owner_res, owner));
                np["metadata"]["ownerReferences"] = Value::Array(refs);
                if reg
                    .update(
                        pr,
                        super::namespace(p),
                        name(p),
                        np.clone(),
                        None,
                        &Write::default(),
                    )
                    .is_ok()
                {
                    owned.push(np);
                }
            }
            _ => {}
        }
    }
    Ok(owned)
}

fn sync(reg: &Registry, rsr: &Resource, rs: &Value, pods: &[Value], now: i64) -> ApiResult<()> {
    let pr = res("", "pods")?;
    let ns = super::namespace(rs);
    let Some(sel) = label_selector(&rs["spec"]["selector"]) else {
        return Ok(());
    };
    let owned = claim_pods(reg, rsr, rs, &sel, pods)?;
    let mut active: Vec<&Value> = owned.iter().filter(|p| pod_active(p)).collect();
    let want = rs["spec"]["replicas"].as_i64().unwrap_or(1).max(0) as usize;
    if !terminating(rs) {
        if active.len() < want {
            for _ in active.len()..want {
                let pod = pod_from_template(rsr, rs, &rs["spec"]["template"]);
                match reg.create(pr, ns, pod, &Write::default()) {
                    Ok(p) => super::event(
                        reg,
                        rsr,
                        rs,
                        "Normal",
                        "SuccessfulCreate",
                        &format!("Created pod: {}", name(&p)),
                        "replicaset-controller",
                        None,
                    ),
                    // The namespace is going, or the template is refused: the
                    // ReplicaSet's status says what exists; the next pass retries.
                    Err(e) if e.code == 403 || e.code == 404 || e.code == 422 => break,
                    Err(e) => return Err(e),
                }
            }
        } else if active.len() > want {
            active.sort_by_key(|p| rank(p));
            for p in &active[..active.len() - want] {
                if gone_ok(reg.delete(pr, ns, name(p), &DeleteOptions::default()))?.is_some() {
                    super::event(
                        reg,
                        rsr,
                        rs,
                        "Normal",
                        "SuccessfulDelete",
                        &format!("Deleted pod: {}", name(p)),
                        "replicaset-controller",
                        None,
                    );
                }
            }
            active.truncate(want);
        }
    }
    let template_sel = Selector::labels_of(&rs["spec"]["template"]);
    let min_ready = rs["spec"]["minReadySeconds"].as_i64().unwrap_or(0);
    let counted: Vec<&Value> = owned.iter().filter(|p| pod_active(p)).collect();
    let fully = counted
        .iter()
        .filter(|p| {
            let l = Selector::labels_of(p);
            template_sel.iter().all(|(k, v)| l.get(k) == Some(v))
        })
        .count();
    let ready = counted.iter().filter(|p| pod_ready(p)).count();
    let available = counted
        .iter()
        .filter(|p| pod_available(p, min_ready, now))
        .count();
    let mut status = json!({
        "replicas": counted.len(),
        "fullyLabeledReplicas": fully,
        "readyReplicas": ready,
        "availableReplicas": available,
        "observedGeneration": rs["metadata"]["generation"],
    });
    if let Some(m) = status.as_object_mut() {
        m.retain(|k, v| k == "replicas" || v.as_i64() != Some(0));
    }
    set_status(reg, rsr, rs, status)
}

pub fn reconcile(reg: &Registry) -> ApiResult<()> {
    let rsr = res("apps", "replicasets")?;
    let pr = res("", "pods")?;
    let now = clock::now_nanos();
    let all_rs = list(reg, rsr, None)?;
    if all_rs.is_empty() {
        return Ok(());
    }
    let pods = list(reg, pr, None)?;
    for rs in &all_rs {
        let ns = super::namespace(rs);
        let in_ns: Vec<Value> = pods
            .iter()
            .filter(|p| super::namespace(p) == ns)
            .cloned()
            .collect();
        sync(reg, rsr, rs, &in_ns, now)?;
    }
    Ok(())
}
