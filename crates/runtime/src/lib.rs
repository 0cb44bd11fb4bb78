//! quai's OCI runtime: runs containers from OCI bundles (runtime-spec 1.1, Linux).
//!
//! Owns: namespaces, mounts and pivot_root, devices, cgroups (v1, v2, hybrid), capabilities,
//! seccomp, rlimits, hooks, the container state directory, and the runc-compatible CLI.
//! Must never depend on the image store, the engine, networking or anything async: the
//! runtime forks, and forking is only sound from a single-threaded process.

pub mod args;
pub mod cgroups;
pub mod cli;
pub mod console;
pub mod create;
pub mod error;
pub mod exec;
pub mod features;
pub mod hooks;
pub mod idmap;
pub mod namespaces;
pub mod ops;
pub mod process;
pub mod rootfs;
pub mod sched;
pub mod security;
pub mod selfexe;
pub mod spec;
pub mod state;
pub mod sync;
pub mod userns;
pub mod wait;

/// The runtime-spec version quai implements.
pub const OCI_VERSION: &str = "1.1.0";

pub use error::{Error, Result};

static DEBUG: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Turn `--debug` step logging on or off.
pub fn set_debug(on: bool) {
    DEBUG.store(on, std::sync::atomic::Ordering::Relaxed);
}

/// Whether `--debug` is on.
pub fn debug_enabled() -> bool {
    DEBUG.load(std::sync::atomic::Ordering::Relaxed)
}

/// Log one step to stderr when `--debug` is on, with the monotonic time in ms.
#[macro_export]
macro_rules! debug {
    ($($arg:tt)*) => {
        if $crate::debug_enabled() {
            let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
            // SAFETY: clock_gettime writes into the timespec we own.
            unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
            eprintln!("quai-runtime: debug {:.3} [{}] {}", ts.tv_sec as f64 * 1e3 + ts.tv_nsec as f64 / 1e6, std::process::id(), format!($($arg)*));
        }
    };
}
