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
pub mod namespaces;
pub mod ops;
pub mod process;
pub mod rootfs;
pub mod security;
pub mod selfexe;
pub mod spec;
pub mod state;
pub mod sync;
pub mod wait;

/// The runtime-spec version quai implements.
pub const OCI_VERSION: &str = "1.1.0";

pub use error::{Error, Result};
