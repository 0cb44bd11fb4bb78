//! What a node agent needs of the control plane, as one trait: the registry in process
//! (the agent of `quai cluster server`) or the API over HTTPS (`quai cluster agent`).

use serde_json::Value;

use super::registry::{DeleteOptions, ListOptions, Registry, Write};
use super::status::ApiResult;
use crate::resources::Resource;

/// Reads and writes of API objects, as a node agent makes them.
pub trait ControlPlane: Send + Sync {
    fn get(&self, res: &Resource, ns: Option<&str>, name: &str) -> ApiResult<Value>;
    fn list(&self, res: &Resource, ns: Option<&str>, opts: &ListOptions) -> ApiResult<Vec<Value>>;
    fn create(&self, res: &Resource, ns: Option<&str>, obj: Value) -> ApiResult<Value>;
    /// Replace (`sub`: `status` for the status subresource).
    fn update(
        &self,
        res: &Resource,
        ns: Option<&str>,
        name: &str,
        obj: Value,
        sub: Option<&str>,
    ) -> ApiResult<Value>;
    /// The kubelet's last word on a pod it stopped: delete it now.
    fn remove(&self, res: &Resource, ns: Option<&str>, name: &str) -> ApiResult<()>;
    /// The store's latest revision (changes on every write).
    fn revision(&self) -> ApiResult<i64>;
    /// The Services' address range.
    fn service_cidr(&self) -> (u32, u8);
    /// A token for service account `name` in `ns` (`serviceaccounts/token`, a
    /// TokenRequest in, the answered TokenRequest out).
    fn token_request(&self, ns: &str, name: &str, req: &Value) -> ApiResult<Value>;
    /// How often to look for changes ([`ControlPlane::revision`]).
    fn poll_interval(&self) -> std::time::Duration {
        std::time::Duration::from_millis(50)
    }
}

fn kubelet() -> Write {
    Write {
        field_manager: Some("kubelet".to_string()),
        ..Default::default()
    }
}

impl ControlPlane for Registry {
    fn get(&self, res: &Resource, ns: Option<&str>, name: &str) -> ApiResult<Value> {
        Registry::get(self, res, ns, name)
    }

    fn list(&self, res: &Resource, ns: Option<&str>, opts: &ListOptions) -> ApiResult<Vec<Value>> {
        Ok(Registry::list(self, res, ns, opts)?.0)
    }

    fn create(&self, res: &Resource, ns: Option<&str>, obj: Value) -> ApiResult<Value> {
        Registry::create(self, res, ns, obj, &kubelet())
    }

    fn update(
        &self,
        res: &Resource,
        ns: Option<&str>,
        name: &str,
        obj: Value,
        sub: Option<&str>,
    ) -> ApiResult<Value> {
        Registry::update(self, res, ns, name, obj, sub, &kubelet())
    }

    fn remove(&self, res: &Resource, ns: Option<&str>, name: &str) -> ApiResult<()> {
        let gone = DeleteOptions {
            grace_period: Some(0),
            ..Default::default()
        };
        match Registry::delete(self, res, ns, name, &gone) {
            Ok(_) => Ok(()),
            Err(e) if e.code == 404 => Ok(()),
            Err(e) => Err(e),
        }
    }

    fn revision(&self) -> ApiResult<i64> {
        Registry::revision(self)
    }

    fn service_cidr(&self) -> (u32, u8) {
        self.service_cidr
    }

    fn token_request(&self, ns: &str, name: &str, req: &Value) -> ApiResult<Value> {
        Registry::token_request(self, ns, name, req)
    }
}
