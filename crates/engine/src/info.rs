//! What `info` reports about this engine and its host (the CLI's `info`, the Docker
//! API's `/info`).

use crate::config::ContainerStatus;
use crate::lifecycle::Engine;
use crate::Result;

/// The engine's counts and the host's facts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Info {
    /// All containers.
    pub containers: usize,
    /// Running ones.
    pub running: usize,
    /// Paused ones.
    pub paused: usize,
    /// Images in the store.
    pub images: usize,
    /// `uname -r`.
    pub kernel: String,
    /// `/etc/os-release`'s `PRETTY_NAME`.
    pub operating_system: String,
    /// `uname -m`.
    pub architecture: String,
    /// CPUs this process may use.
    pub cpus: usize,
    /// The host's memory in bytes.
    pub memory: u64,
    /// 1 (v1 or hybrid) or 2 (unified).
    pub cgroup_version: u8,
}

impl Engine {
    /// Counts of containers and images and the host's facts.
    pub fn info(&mut self) -> Result<Info> {
        let ctrs = self.list()?;
        let count = |s: ContainerStatus| ctrs.iter().filter(|r| r.state.status == s).count();
        let uname = nix::sys::utsname::uname()
            .map_err(|e| crate::Error::io("uname", "", std::io::Error::from(e)))?;
        let operating_system = std::fs::read_to_string("/etc/os-release")
            .ok()
            .and_then(|s| {
                s.lines().find_map(|l| {
                    l.strip_prefix("PRETTY_NAME=")
                        .map(|v| v.trim_matches('"').to_string())
                })
            })
            .unwrap_or_else(|| "Linux".into());
        let pure_v2 = runtime::cgroups::Layout::detect()?.is_pure_v2();
        Ok(Info {
            containers: ctrs.len(),
            running: count(ContainerStatus::Running),
            paused: count(ContainerStatus::Paused),
            images: self.images()?.list()?.len(),
            kernel: uname.release().to_string_lossy().into_owned(),
            operating_system,
            architecture: uname.machine().to_string_lossy().into_owned(),
            cpus: std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(1),
            memory: crate::stats::host_memory(),
            cgroup_version: if pure_v2 { 2 } else { 1 },
        })
    }
}
