//! Leader election among API servers sharing one etcd (kube-controller-manager's way):
//! a Lease `kube-system/quai-controller-manager` names the holder, who renews it every
//! two seconds. Another server takes it over only after seeing no renewal for the
//! lease's duration, timed by its own clock from when it last saw the record change
//! (so clocks of different machines never have to agree). Writes are compare-and-swap
//! on the Lease's resourceVersion: two contenders cannot both win.

use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::api::registry::Write;
use crate::api::Registry;

const NAME: &str = "quai-controller-manager";
const NS: &str = "kube-system";
const DURATION: u64 = 15;
const RENEW: Duration = Duration::from_secs(2);

/// One server's view of the election.
pub struct Elector {
    id: String,
    leading: bool,
    last_try: Option<Instant>,
    /// The record last seen (holder and renew time) and when it was first seen so.
    observed: Option<(String, Instant)>,
}

fn micro_now() -> String {
    let now = clock::rfc3339_nanos(clock::now_nanos());
    format!("{}Z", &now[..now.len().saturating_sub(4)])
}

impl Elector {
    pub fn new(id: String) -> Elector {
        Elector {
            id,
            leading: false,
            last_try: None,
            observed: None,
        }
    }

    /// Whether this server leads now (asking the store at most every two seconds).
    pub fn leading(&mut self, reg: &Registry) -> bool {
        if self.last_try.is_some_and(|t| t.elapsed() < RENEW) {
            return self.leading;
        }
        self.last_try = Some(Instant::now());
        let was = self.leading;
        self.leading = self.try_lead(reg);
        if self.leading != was {
            let what = if self.leading { "leading" } else { "following" };
            eprintln!("quai cluster: controllers: {what} ({})", self.id);
        }
        self.leading
    }

    fn try_lead(&mut self, reg: &Registry) -> bool {
        let Ok(lr) = super::res("coordination.k8s.io", "leases") else {
            return false;
        };
        let now = micro_now();
        let mine = |transitions: i64, acquired: &str| {
            json!({"holderIdentity": self.id, "leaseDurationSeconds": DURATION,
                   "acquireTime": acquired, "renewTime": now, "leaseTransitions": transitions})
        };
        let cur = match reg.get(lr, Some(NS), NAME) {
            Ok(l) => l,
            Err(e) if e.code == 404 => {
                let l = json!({"metadata": {"name": NAME}, "spec": mine(0, &now)});
                return reg.create(lr, Some(NS), l, &Write::default()).is_ok();
            }
            Err(_) => return false,
        };
        let spec = &cur["spec"];
        let holder = spec["holderIdentity"].as_str().unwrap_or_default();
        let record = format!(
            "{holder} {}",
            spec["renewTime"].as_str().unwrap_or_default()
        );
        let seen_since = match &self.observed {
            Some((r, t)) if *r == record => *t,
            _ => {
                self.observed = Some((record.clone(), Instant::now()));
                Instant::now()
            }
        };
        let transitions = spec["leaseTransitions"].as_i64().unwrap_or(0);
        let dur = spec["leaseDurationSeconds"].as_u64().unwrap_or(DURATION);
        let new_spec = if holder == self.id {
            let acquired = spec["acquireTime"].as_str().unwrap_or(&now).to_string();
            mine(transitions, &acquired)
        } else if holder.is_empty() || seen_since.elapsed() >= Duration::from_secs(dur) {
            mine(transitions + 1, &now)
        } else {
            return false;
        };
        let mut l: Value = cur.clone();
        l["spec"] = new_spec;
        // The resourceVersion read above makes this a compare-and-swap.
        reg.update(lr, Some(NS), NAME, l, None, &Write::default())
            .is_ok()
    }
}
