//! Which network namespace holds quai's bridges, their nftables table and the networks'
//! DNS servers. Run as root, this process's own. Rootless, the namespace the user's
//! rootless helper holds (docs/adr/026): its path is in [`ENV`], set by the engine when it
//! joins the helper and inherited by the monitors it starts. Everything in [`crate::bridge`]
//! runs there; published ports and registries stay in the caller's namespace.

use std::os::fd::AsFd;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use crate::{Error, Result};

/// The variable that names the bridges' namespace (a `/proc/PID/ns/net` path).
pub const ENV: &str = "QUAI_BRIDGE_NETNS";

/// The bridges' namespace when it is not this process's own.
pub fn bridge_netns() -> Option<&'static Path> {
    static NS: OnceLock<Option<PathBuf>> = OnceLock::new();
    NS.get_or_init(|| {
        std::env::var_os(ENV)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    })
    .as_deref()
}

/// The namespace of the calling thread as `dev:inode` (threads may differ from the
/// process: `/proc/thread-self`).
pub fn thread_netns_id() -> String {
    std::fs::metadata("/proc/thread-self/ns/net")
        .map(|m| format!("{}:{}", m.dev(), m.ino()))
        .unwrap_or_default()
}

/// Run `f` in the bridges' namespace: on this thread when it is there already (or the
/// namespace is this process's own), else on a helper thread that enters it (a thread
/// that left the host's namespace could not go back; processes it starts stay there).
pub fn in_bridge_ns<T: Send, E: Send + From<Error>>(
    f: impl FnOnce() -> Result<T, E> + Send,
) -> Result<T, E> {
    let Some(path) = bridge_netns() else {
        return f();
    };
    let here = std::fs::metadata(path)
        .map(|m| format!("{}:{}", m.dev(), m.ino()))
        .map_err(|source| Error::Io {
            op: "open the rootless network namespace",
            path: path.to_path_buf(),
            source,
        })
        .map_err(E::from)?;
    if here == thread_netns_id() {
        return f();
    }
    std::thread::scope(|s| {
        s.spawn(move || {
            enter_bridge_ns().map_err(E::from)?;
            f()
        })
        .join()
        .unwrap_or_else(|_| {
            Err(E::from(Error::Invalid(
                "the network namespace helper thread panicked".into(),
            )))
        })
    })
}

/// Enter the bridges' namespace for good on this thread (a thread that only dials into
/// containers: a rootless port forwarder's).
pub fn enter_bridge_ns() -> Result<()> {
    let Some(path) = bridge_netns() else {
        return Ok(());
    };
    let ns = std::fs::File::open(path).map_err(|source| Error::Io {
        op: "open",
        path: path.to_path_buf(),
        source,
    })?;
    nix::sched::setns(ns.as_fd(), nix::sched::CloneFlags::CLONE_NEWNET).map_err(|e| Error::Io {
        op: "enter",
        path: path.to_path_buf(),
        source: e.into(),
    })
}
