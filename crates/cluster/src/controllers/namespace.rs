//! The namespace controller: a namespace marked for deletion loses its content (every
//! namespaced resource), then its `kubernetes` finalizer, and then it goes.

use serde_json::{json, Value};

use super::{gone_ok, list, name, res, terminating};
use crate::api::registry::DeleteOptions;
use crate::api::{ApiResult, Registry};
use crate::resources::RESOURCES;

pub fn reconcile(reg: &Registry) -> ApiResult<()> {
    let nsr = res("", "namespaces")?;
    for ns in list(reg, nsr, None)? {
        if !terminating(&ns) {
            continue;
        }
        let n = name(&ns).to_string();
        let mut left = 0;
        for r in RESOURCES
            .iter()
            .filter(|r| r.namespaced && r.kind != "Binding")
        {
            for o in list(reg, r, Some(&n))? {
                left += 1;
                if !terminating(&o) || r.kind == "Pod" {
                    gone_ok(reg.delete(
                        r,
                        Some(&n),
                        name(&o),
                        &DeleteOptions {
                            propagation: Some("Background".to_string()),
                            ..Default::default()
                        },
                    ))?;
                }
            }
        }
        if left == 0 {
            let rest: Vec<Value> = ns["spec"]["finalizers"]
                .as_array()
                .map(|a| a.iter().filter(|f| *f != "kubernetes").cloned().collect())
                .unwrap_or_default();
            gone_ok(reg.finalize_namespace(&n, &json!({"spec": {"finalizers": rest}})))?;
        }
    }
    Ok(())
}
