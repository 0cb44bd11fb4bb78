//! Node IPAM: a node without a pod range gets the next /24 of the cluster's that no
//! other node has (kube-controller-manager's range allocator).

use serde_json::json;

use super::{list, res};
use crate::api::{ApiResult, Registry};

pub fn reconcile(reg: &Registry) -> ApiResult<()> {
    let Some(&(base, len)) = reg.cluster_cidr.get() else {
        return Ok(());
    };
    let nr = res("", "nodes")?;
    let nodes = list(reg, nr, None)?;
    let mut used: Vec<String> = nodes
        .iter()
        .filter_map(|n| n["spec"]["podCIDR"].as_str().map(str::to_string))
        .collect();
    let count: u32 = if len >= 24 {
        1
    } else {
        1u32 << (24 - u32::from(len))
    };
    for n in nodes
        .iter()
        .filter(|n| n["spec"]["podCIDR"].as_str().is_none_or(str::is_empty))
    {
        let free = (0..count)
            .map(|i| format!("{}/24", std::net::Ipv4Addr::from(base + (i << 8))))
            .find(|c| !used.contains(c));
        let Some(cidr) = free else {
            return Err(crate::api::ApiError::internal(
                "the cluster's pod range has no /24 left for a node",
            ));
        };
        let mut new = n.clone();
        new["spec"]["podCIDR"] = json!(cidr);
        new["spec"]["podCIDRs"] = json!([cidr]);
        super::update(reg, nr, new)?;
        used.push(cidr);
    }
    Ok(())
}
