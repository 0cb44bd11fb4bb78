//! The garbage collector: dependents whose owners are gone are deleted (background
//! propagation); an owner deleted in the foreground waits (its `foregroundDeletion`
//! finalizer) until its dependents are gone; an owner deleted with `orphan` releases
//! its dependents (their ownerReferences to it are removed) before it goes.

use std::collections::HashMap;

use serde_json::{json, Value};

use super::{gone_ok, list, name, namespace, terminating, uid};
use crate::api::registry::DeleteOptions;
use crate::api::{ApiResult, Registry};
use crate::resources::{self, Resource, RESOURCES};

/// The live owner named by an ownerReference of an object in `ns`, if any.
fn owner(reg: &Registry, r: &Value, ns: Option<&str>) -> ApiResult<Option<Value>> {
    let Some(res) = resources::by_kind(
        r["apiVersion"].as_str().unwrap_or_default(),
        r["kind"].as_str().unwrap_or_default(),
    ) else {
        // An owner of a kind this server does not serve: never collected.
        return Ok(Some(Value::Null));
    };
    let ns = if res.namespaced { ns } else { None };
    let o = gone_ok(reg.get(res, ns, r["name"].as_str().unwrap_or_default()))?;
    Ok(o.filter(|o| uid(o) == r["uid"].as_str().unwrap_or_default()))
}

fn remove_finalizer(reg: &Registry, r: &Resource, obj: &Value, f: &str) -> ApiResult<()> {
    let mut new = obj.clone();
    let rest: Vec<Value> = obj["metadata"]["finalizers"]
        .as_array()
        .map(|a| a.iter().filter(|x| *x != f).cloned().collect())
        .unwrap_or_default();
    new["metadata"]["finalizers"] = Value::Array(rest);
    super::update(reg, r, new)
}

pub fn reconcile(reg: &Registry) -> ApiResult<()> {
    // Dependents by owner uid.
    let mut dependents: HashMap<String, Vec<(&'static Resource, Value)>> = HashMap::new();
    for r in RESOURCES.iter().filter(|r| r.kind != "Binding") {
        for o in list(reg, r, None)? {
            let refs = o["metadata"]["ownerReferences"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            if refs.is_empty() {
                continue;
            }
            let mut live = 0;
            let mut orphaned_by: Vec<String> = Vec::new();
            for rf in &refs {
                if let Some(ow) = owner(reg, rf, namespace(&o))? {
                    live += 1;
                    let fins = &ow["metadata"]["finalizers"];
                    let has = |f: &str| fins.as_array().is_some_and(|a| a.contains(&json!(f)));
                    if terminating(&ow) && has("orphan") {
                        orphaned_by.push(uid(&ow).to_string());
                    }
                    let foreground = terminating(&ow) && has("foregroundDeletion");
                    if foreground && !terminating(&o) {
                        gone_ok(reg.delete(
                            r,
                            namespace(&o),
                            name(&o),
                            &DeleteOptions {
                                propagation: Some("Foreground".to_string()),
                                ..Default::default()
                            },
                        ))?;
                    }
                    if !ow.is_null() {
                        dependents
                            .entry(uid(&ow).to_string())
                            .or_default()
                            .push((r, o.clone()));
                    }
                }
            }
            if !orphaned_by.is_empty() {
                let mut new = o.clone();
                let kept: Vec<Value> = refs
                    .iter()
                    .filter(|rf| !orphaned_by.iter().any(|u| rf["uid"] == json!(u)))
                    .cloned()
                    .collect();
                new["metadata"]["ownerReferences"] = Value::Array(kept);
                super::update(reg, r, new)?;
            } else if live == 0 && !terminating(&o) {
                gone_ok(reg.delete(
                    r,
                    namespace(&o),
                    name(&o),
                    &DeleteOptions {
                        propagation: Some("Background".to_string()),
                        ..Default::default()
                    },
                ))?;
            }
        }
    }
    // Owners waiting on their dependents.
    for r in RESOURCES.iter().filter(|r| r.kind != "Binding") {
        for o in list(reg, r, None)? {
            if !terminating(&o) {
                continue;
            }
            let fins = o["metadata"]["finalizers"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            let waiting = dependents.get(uid(&o)).map_or(0, Vec::len);
            if fins.contains(&json!("foregroundDeletion")) && waiting == 0 {
                remove_finalizer(reg, r, &o, "foregroundDeletion")?;
            } else if fins.contains(&json!("orphan")) && waiting == 0 {
                remove_finalizer(reg, r, &o, "orphan")?;
            }
        }
    }
    Ok(())
}
