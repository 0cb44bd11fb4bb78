//! `update`: a container's limits and restart policy changed in its record and, while it
//! runs, in its cgroups at once (Docker's `docker update`).

use crate::config::{Resources, RestartPolicy};
use crate::db::Record;
use crate::lifecycle::Engine;
use crate::{Error, Result};

/// What `update` changes; `None` leaves a setting as it is.
#[derive(Debug, Clone, Default)]
pub struct UpdateRequest {
    /// `--memory` bytes.
    pub memory: Option<i64>,
    /// `--memory-swap` bytes (-1: unlimited).
    pub memory_swap: Option<i64>,
    /// `--memory-reservation` bytes.
    pub memory_reservation: Option<i64>,
    /// `--cpus` in billionths of a CPU.
    pub nano_cpus: Option<i64>,
    /// `--cpu-shares`.
    pub cpu_shares: Option<u64>,
    /// `--cpu-period` (µs).
    pub cpu_period: Option<i64>,
    /// `--cpu-quota` (µs).
    pub cpu_quota: Option<i64>,
    /// `--cpu-rt-period` (µs).
    pub cpu_rt_period: Option<i64>,
    /// `--cpu-rt-runtime` (µs).
    pub cpu_rt_runtime: Option<i64>,
    /// `--cpuset-cpus`.
    pub cpuset_cpus: Option<String>,
    /// `--cpuset-mems`.
    pub cpuset_mems: Option<String>,
    /// `--pids-limit` (0 or -1: unlimited).
    pub pids_limit: Option<i64>,
    /// `--blkio-weight`.
    pub blkio_weight: Option<u16>,
    /// `--restart`.
    pub restart: Option<String>,
}

impl UpdateRequest {
    /// The limits after the update.
    fn apply(&self, r: &Resources) -> Resources {
        let mut n = r.clone();
        if let Some(m) = self.memory {
            n.memory = Some(m);
            // Docker: a new memory limit without a swap limit keeps swap at twice it when
            // swap was never set, and refuses one above an explicit swap limit (checked).
        }
        if self.memory_swap.is_some() {
            n.memory_swap = self.memory_swap;
        }
        if self.memory_reservation.is_some() {
            n.memory_reservation = self.memory_reservation;
        }
        if let Some(c) = self.nano_cpus {
            n.nano_cpus = Some(c);
            n.cpu_period = None;
            n.cpu_quota = None;
        }
        if self.cpu_shares.is_some() {
            n.cpu_shares = self.cpu_shares;
        }
        if self.cpu_period.is_some() || self.cpu_quota.is_some() {
            n.nano_cpus = None;
        }
        if self.cpu_period.is_some() {
            n.cpu_period = self.cpu_period;
        }
        if self.cpu_quota.is_some() {
            n.cpu_quota = self.cpu_quota;
        }
        if self.cpu_rt_period.is_some() {
            n.cpu_rt_period = self.cpu_rt_period;
        }
        if self.cpu_rt_runtime.is_some() {
            n.cpu_rt_runtime = self.cpu_rt_runtime;
        }
        if self.cpuset_cpus.is_some() {
            n.cpuset_cpus = self.cpuset_cpus.clone();
        }
        if self.cpuset_mems.is_some() {
            n.cpuset_mems = self.cpuset_mems.clone();
        }
        if let Some(p) = self.pids_limit {
            n.pids_limit = (p > 0).then_some(p);
        }
        if self.blkio_weight.is_some() {
            n.blkio_weight = self.blkio_weight;
        }
        n
    }

    fn conflicts(&self) -> Result<()> {
        if self.nano_cpus.is_some() && (self.cpu_period.is_some() || self.cpu_quota.is_some()) {
            return Err(Error::Invalid(
                "Conflicting options: Nano CPUs and CPU Period cannot both be set".into(),
            ));
        }
        Ok(())
    }
}

impl Engine {
    /// Change a container's limits and restart policy: checked whole first (nothing
    /// changes on a bad value), then recorded, then written to its cgroups if it runs.
    pub fn update(&mut self, what: &str, req: &UpdateRequest) -> Result<Record> {
        req.conflicts()?;
        let mut rec = self.get(what)?;
        let mut c = rec.config.clone();
        let old = c.resources.clone();
        c.resources = req.apply(&old);
        if let (Some(m), None, Some(s)) = (req.memory, req.memory_swap, old.memory_swap) {
            if s != -1 && m > s {
                return Err(Error::Invalid(
                    "Memory limit should be smaller than already set memoryswap limit, update the memoryswap at the same time".into(),
                ));
            }
        }
        if let Some(r) = &req.restart {
            let policy = RestartPolicy::parse(r).map_err(Error::Invalid)?;
            if c.auto_remove && policy.name != crate::config::RestartName::No {
                return Err(Error::Invalid(
                    "Restart policy cannot be updated because AutoRemove is enabled for the container".into(),
                ));
            }
            c.restart = policy;
        }
        crate::validate::container(&c)?;
        crate::validate::host_resources(&c.resources)?;
        if rec.state.status.is_active() {
            let st = runtime::state::State::load(&self.paths.runtime_root(), &rec.id)
                .map_err(|e| Error::Invalid(format!("Cannot update container {}: {e}", rec.id)))?;
            let json = crate::spec::resources_json(&c.resources, &Default::default());
            let resources: oci_spec::runtime::LinuxResources = serde_json::from_value(json)
                .map_err(|e| Error::Invalid(format!("resources: {e}")))?;
            runtime::cgroups::update(&st.cgroups, &resources)
                .map_err(|e| Error::Invalid(format!("Cannot update container {}: {e}", rec.id)))?;
        }
        self.db.set_config(&rec.id, &c)?;
        let _ = self
            .db
            .event("container", "update", &rec.id, &rec.event_attrs());
        rec.config = c;
        Ok(rec)
    }
}
