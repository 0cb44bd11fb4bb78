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
    /// How it runs rootless, when it does.
    pub rootless: Option<Rootless>,
}

/// What a rootless engine runs with and what it could not do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rootless {
    /// The user (name and uid on the host).
    pub user: String,
    /// Their uid on the host.
    pub uid: u32,
    /// `0 -> 1000, 1-65536 -> 100000-165535` or `0 -> 1000 (single id)`.
    pub id_mapping: String,
    /// `pasta`, `slirp4netns` or `none`.
    pub network: String,
    /// Whether containers get cgroups (the user's tree is delegated).
    pub cgroups: bool,
    /// What could not be done, one line each.
    pub notices: Vec<String>,
}

/// The rootless part of `info` (none as root).
fn rootless(run: &std::path::Path) -> Option<Rootless> {
    if !crate::rootless::active() {
        return None;
    }
    let st = crate::rootless::state(run).unwrap_or_default();
    let layout = runtime::cgroups::Layout::detect().ok();
    let own = std::fs::read_to_string("/proc/self/cgroup")
        .map(|c| runtime::cgroups::own_cgroups(&c))
        .unwrap_or_default();
    let cgroups = layout
        .map(|l| runtime::cgroups::writable(&runtime::cgroups::resolve(&l, &own, None, "probe")))
        .unwrap_or(false);
    let mut notices = st.notices.clone();
    if !cgroups {
        notices.push(
            "cgroups are not delegated to this user: containers run without them, and \
             resource limits (--memory, --cpus, --pids-limit, ...) are refused"
                .into(),
        );
    }
    let id_mapping = match st.subuid {
        Some((start, count)) => format!(
            "0 -> {}, 1-{count} -> {start}-{}",
            st.uid,
            u64::from(start) + u64::from(count) - 1
        ),
        None => format!("0 -> {} (single id)", st.uid),
    };
    Some(Rootless {
        user: st.user,
        uid: st.uid,
        id_mapping,
        network: if st.network_helper.is_empty() {
            "none".into()
        } else {
            st.network_helper
        },
        cgroups,
        notices,
    })
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
            rootless: rootless(self.run_dir()),
        })
    }
}
