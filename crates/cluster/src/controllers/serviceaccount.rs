//! The service account controller: every active namespace has the `default` service
//! account and the `kube-root-ca.crt` config map (the cluster CA that pods' projected
//! service account volumes carry).

use serde_json::json;

use super::{list, name, res, terminating};
use crate::api::registry::Write;
use crate::api::{ApiResult, Registry};

pub fn reconcile(reg: &Registry) -> ApiResult<()> {
    let nsr = res("", "namespaces")?;
    let sar = res("", "serviceaccounts")?;
    let cmr = res("", "configmaps")?;
    for ns in list(reg, nsr, None)? {
        if terminating(&ns) {
            continue;
        }
        let n = name(&ns);
        if reg.get(sar, Some(n), "default").is_err() {
            ok_if_exists(reg.create(
                sar,
                Some(n),
                json!({"metadata": {"name": "default"}}),
                &Write::default(),
            ))?;
        }
        if let Some(ca) = reg.ca_pem() {
            match reg.get(cmr, Some(n), "kube-root-ca.crt") {
                Ok(cm) if cm["data"]["ca.crt"] == ca => {}
                Ok(mut cm) => {
                    cm["data"] = json!({"ca.crt": ca});
                    super::update(reg, cmr, cm)?;
                }
                Err(_) => ok_if_exists(reg.create(
                    cmr,
                    Some(n),
                    json!({"metadata": {"name": "kube-root-ca.crt",
                            "annotations": {"kubernetes.io/description": "Contains a CA bundle that can be used to verify the kube-apiserver when using internal endpoints such as the internal service IP or kubernetes.default.svc. No other usage is guaranteed across distributions of Kubernetes clusters."}},
                           "data": {"ca.crt": ca}}),
                    &Write::default(),
                ))?,
            }
        }
    }
    Ok(())
}

fn ok_if_exists<T>(r: ApiResult<T>) -> ApiResult<()> {
    match r {
        Ok(_) => Ok(()),
        // Exists (a race with a client), or its namespace went meanwhile.
        Err(e) if e.code == 409 || e.code == 404 || e.code == 403 => Ok(()),
        Err(e) => Err(e),
    }
}
