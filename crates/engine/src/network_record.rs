//! A bridge network's stored record (JSON in the `networks` table; the default one is
//! built in) and its lookup by name or id. Pure data and reads: the DNS server and the
//! attach steps both use it, and it uses neither.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::db::Db;
use crate::{Error, Result};

/// `-o com.docker.network.bridge.enable_ip_masquerade`.
pub(crate) const OPT_MASQUERADE: &str = "com.docker.network.bridge.enable_ip_masquerade";
/// `-o com.docker.network.driver.mtu`.
pub(crate) const OPT_MTU: &str = "com.docker.network.driver.mtu";

/// The default bridge (Docker's `docker0`, Podman's `podman0`).
pub const DEFAULT_BRIDGE: &str = "quai0";
/// Its subnet.
pub const DEFAULT_SUBNET: &str = "10.99.0.0/16";

/// A bridge network (stored as JSON in the `networks` table; the default one is built in).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(default)]
pub struct Network {
    /// 64 hex digits.
    pub id: String,
    /// Name.
    pub name: String,
    /// `bridge`.
    pub driver: String,
    /// `10.100.0.0/24`.
    pub subnet: String,
    /// `--gateway`, when not the subnet's first address.
    pub gateway: String,
    /// `--ip-range`: where addresses are handed out from, when not the whole subnet.
    pub ip_range: String,
    /// The Linux bridge.
    pub bridge: String,
    /// No egress, no ingress from outside the network.
    pub internal: bool,
    /// `--label`.
    pub labels: BTreeMap<String, String>,
    /// `-o`.
    pub options: BTreeMap<String, String>,
    /// RFC 3339.
    pub created: String,
}

impl Network {
    /// The built-in default network.
    pub fn default_bridge() -> Network {
        Network {
            // Docker's networks have random ids; the built-in one's is fixed (a hash of
            // its role), so that every quai on every machine names it alike.
            id: content::Digest::of(b"quai built-in network bridge")
                .hex()
                .to_string(),
            name: "bridge".into(),
            driver: "bridge".into(),
            subnet: DEFAULT_SUBNET.into(),
            bridge: DEFAULT_BRIDGE.into(),
            ..Default::default()
        }
    }

    /// How its bridge is set up (`--internal` and the `-o` options).
    pub fn kind(&self) -> net::bridge::Kind {
        net::bridge::Kind {
            internal: self.internal,
            masquerade: self
                .options
                .get(OPT_MASQUERADE)
                .is_none_or(|v| v != "false"),
            mtu: self.options.get(OPT_MTU).and_then(|v| v.parse().ok()),
        }
    }

    /// Its subnet, parsed, with its gateway and address range.
    pub fn subnet(&self) -> Result<net::ipam::Subnet> {
        pool(&self.subnet, &self.gateway, &self.ip_range)
            .map_err(|e| Error::Corrupt(format!("network {}: {e}", self.name)))
    }
}

/// A subnet with an optional gateway and address range (empty: none).
pub(crate) fn pool(
    subnet: &str,
    gateway: &str,
    range: &str,
) -> std::result::Result<net::ipam::Subnet, net::Error> {
    let mut s: net::ipam::Subnet = subnet.parse()?;
    if !gateway.is_empty() {
        let g = gateway
            .parse()
            .map_err(|_| net::Error::Invalid(format!("invalid gateway {gateway:?}")))?;
        s = s.with_gateway(g)?;
    }
    if !range.is_empty() {
        s = s.with_range(range.parse()?)?;
    }
    Ok(s)
}

/// All networks, the default first.
pub fn list(db: &Db) -> Result<Vec<Network>> {
    let mut out = vec![Network::default_bridge()];
    for (n, j) in db.network_rows()? {
        out.push(
            serde_json::from_str(&j).map_err(|e| Error::Corrupt(format!("network {n}: {e}")))?,
        );
    }
    Ok(out)
}

/// A network by name or id prefix.
pub fn get(db: &Db, what: &str) -> Result<Network> {
    let all = list(db)?;
    if let Some(n) = all.iter().find(|n| n.name == what || n.id == what) {
        return Ok(n.clone());
    }
    let by_prefix: Vec<&Network> = all
        .iter()
        .filter(|n| !what.is_empty() && n.id.starts_with(what))
        .collect();
    match by_prefix.as_slice() {
        [one] => Ok((*one).clone()),
        _ => Err(Error::NoSuchNetwork(what.to_string())),
    }
}
