//! quai's container engine: containers and volumes as state in SQLite, their lifecycle over
//! the runtime and the image store, the per-container monitor, logs, exec, health checks,
//! restart policies and events.
//!
//! Owns `state.db`'s `containers`, `volumes` and `events` tables, `<root>/containers/<id>/`,
//! the `networks` table, `<root>/volumes/` and the run dir (`<run>/runtime` is the runtime's state root,
//! `<run>/s/` the monitors' sockets). Daemonless: every quai process opens the database;
//! the monitor (`quai __monitor`) is the only long-lived process and it is one per
//! container. Must never depend on the CLI, async runtimes or the cluster crates; it forks
//! (through the runtime) only from single-threaded processes.

pub mod adopt;
mod api;
pub mod archive;
pub mod attach;
mod build_support;
pub mod commit;
pub mod config;
pub mod db;
pub mod dns;
pub mod docker;
pub mod exec;
pub mod filters;
pub mod health;
pub mod images;
pub mod info;
pub mod init;
pub mod launch;
pub mod lifecycle;
pub mod lock;
pub mod log_stream;
pub mod logs;
pub mod monitor;
pub mod mounts;
pub mod network;
pub mod network_record;
pub mod portfwd;
pub mod removal;
pub mod reserve;
pub mod resolve;
pub mod rootfs;
pub mod rootless;
pub mod spec;
pub mod stats;
pub mod time;
pub mod update;
pub mod usage;
pub mod userns;
pub mod validate;
pub mod volumes;

use std::path::{Path, PathBuf};

pub use config::{ContainerConfig, ContainerState};
pub use db::{Db, Record};

/// Engine errors: each names the operation and the object.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A file operation.
    #[error("{op} {path}: {source}")]
    Io {
        op: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The database.
    #[error("state database {path}: {source}")]
    Db {
        path: PathBuf,
        #[source]
        source: rusqlite::Error,
    },
    /// A stored record that does not parse.
    #[error("corrupt record: {0}")]
    Corrupt(String),
    /// No container by that name or id.
    #[error("No such container: {0}")]
    NoSuchContainer(String),
    /// No volume by that name.
    #[error("no such volume: {0}")]
    NoSuchVolume(String),
    /// No network by that name or id.
    #[error("network {0} not found")]
    NoSuchNetwork(String),
    /// Refused, with the reason.
    #[error("{0}")]
    Conflict(String),
    /// Bad input, with the reason.
    #[error("{0}")]
    Invalid(String),
    /// A registry refused the credentials (dockerd's words).
    #[error("{0}")]
    Unauthorized(String),
    /// A copy into a container that could not be done (dockerd's words).
    #[error("{0}")]
    Copy(String),
    /// No such path in a container (`cp`, Docker's archive endpoints).
    #[error("Could not find the file {path} in container {container}")]
    NoSuchPath { path: String, container: String },
    /// Opening `state.db`.
    #[error(transparent)]
    Open(#[from] image::statedb::OpenError),
    /// The image store.
    #[error(transparent)]
    Image(#[from] image::store::Error),
    /// A layer or copy tar.
    #[error(transparent)]
    Layer(#[from] image::layer::Error),
    /// The runtime.
    #[error(transparent)]
    Runtime(#[from] runtime::Error),
    /// A registry (pull, push, tags).
    #[error(transparent)]
    Registry(#[from] registry::Error),
    /// Networking (bridges, veths, nftables), with its kind kept.
    #[error("network: {0}")]
    Net(#[from] net::Error),
    /// A teardown that went on after failures: every one of them.
    #[error("{}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))]
    Several(Vec<Error>),
    /// The container could not start; `code` is Docker's exit status for it (125, 126,
    /// 127).
    #[error("{message}")]
    Start { code: i32, message: String },
}

impl Error {
    pub(crate) fn io(op: &'static str, path: impl Into<PathBuf>, source: std::io::Error) -> Error {
        Error::Io {
            op,
            path: path.into(),
            source,
        }
    }

    pub(crate) fn db(path: &Path, source: rusqlite::Error) -> Error {
        Error::Db {
            path: path.to_path_buf(),
            source,
        }
    }

    /// The filesystem under the state database is full.
    pub fn is_disk_full(&self) -> bool {
        matches!(
            self,
            Error::Db {
                source: rusqlite::Error::SqliteFailure(
                    rusqlite::ffi::Error {
                        code: rusqlite::ErrorCode::DiskFull,
                        ..
                    },
                    _
                ),
                ..
            }
        )
    }

    /// Refused because of the state of things (an image in use, a name taken): the
    /// Engine API's 409.
    pub fn is_conflict(&self) -> bool {
        matches!(
            self,
            Error::Conflict(_) | Error::Image(image::store::Error::Conflict(_))
        )
    }

    /// Bad input from the caller (a malformed reference or `--change`, an invalid
    /// value): the Engine API's 400.
    pub fn is_bad_input(&self) -> bool {
        matches!(
            self,
            Error::Invalid(_)
                | Error::Image(image::store::Error::Reference(_) | image::store::Error::Change(_))
        )
    }

    /// A registry refused the request for want of (good) credentials.
    pub fn is_registry_unauthorized(&self) -> bool {
        matches!(
            self,
            Error::Unauthorized(_) | Error::Registry(registry::Error::Unauthorized { .. })
        )
    }

    /// No image by the name or id given.
    pub fn is_no_such_image(&self) -> bool {
        matches!(self, Error::Image(image::store::Error::NotFound(_)))
    }

    /// The exit status Docker's CLI gives for this error (125 unless the command could
    /// not be run).
    pub fn exit_status(&self) -> i32 {
        match self {
            Error::Start { code, .. } => *code,
            _ => 125,
        }
    }
}

/// Map a runtime failure to start a process to Docker's exit status: 127 for a missing
/// command, 126 for one that cannot be executed, 125 otherwise.
pub(crate) fn start_error(e: runtime::Error) -> Error {
    let code = match &e {
        runtime::Error::Child(c) => match c.kind {
            runtime::error::ChildKind::NotFound => 127,
            runtime::error::ChildKind::NotExecutable => 126,
            runtime::error::ChildKind::Other => 125,
        },
        _ => 125,
    };
    Error::Start {
        code,
        message: e.to_string(),
    }
}

/// Result alias.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Where the engine keeps things.
#[derive(Debug, Clone)]
pub struct Paths {
    /// `--root` / `QUAI_ROOT`.
    pub root: PathBuf,
    /// `QUAI_RUN_DIR`.
    pub run: PathBuf,
}

impl Paths {
    /// From the root and the run dir.
    pub fn new(root: &Path, run: &Path) -> Paths {
        Paths {
            root: root.to_path_buf(),
            run: run.to_path_buf(),
        }
    }

    /// `<root>/containers/<id>`: bundle, upper/work/merged, log.
    pub fn container(&self, id: &str) -> PathBuf {
        self.root.join("containers").join(id)
    }

    /// The json-file log.
    pub fn log(&self, id: &str) -> PathBuf {
        self.container(id).join(format!("{id}-json.log"))
    }

    /// The runtime's state root.
    pub fn runtime_root(&self) -> PathBuf {
        self.run.join("runtime")
    }

    /// The monitor's socket (short: unix socket paths are limited to 108 bytes).
    pub fn socket(&self, id: &str) -> PathBuf {
        self.run.join("s").join(&id[..id.len().min(16)])
    }

    /// `<root>/volumes/<name>/_data`.
    pub fn volume_data(&self, name: &str) -> PathBuf {
        self.root.join("volumes").join(name).join("_data")
    }
}

/// 64 random hex digits.
pub fn random_id() -> Result<String> {
    let mut b = [0u8; 32];
    let mut got = 0;
    while got < b.len() {
        // SAFETY: getrandom(2) writes at most the given length into our buffer.
        let n = unsafe { libc::getrandom(b[got..].as_mut_ptr().cast(), b.len() - got, 0) };
        if n < 0 {
            let e = std::io::Error::last_os_error();
            if e.kind() == std::io::ErrorKind::Interrupted {
                continue;
            }
            // Never an id of zeros: two containers would get the same one.
            return Err(Error::io("getrandom", "an id", e));
        }
        got += n as usize;
    }
    Ok(b.iter().map(|x| format!("{x:02x}")).collect())
}

/// A process's start time (clock ticks since boot), to record with its pid.
pub fn process_start(pid: i32) -> Option<u64> {
    runtime::state::proc_stat(pid).map(|(start, _)| start)
}

/// Whether a process is the one we recorded (same pid and start time).
pub fn process_alive(pid: i32, start: u64) -> bool {
    // A process in exit(2) counts as gone: it only closes its files now (a monitor's last
    // close can wait on the kernel for tens of ms; it reported the exit before).
    pid > 0
        && runtime::state::proc_stat_flags(pid).is_some_and(|(st, state, flags)| {
            st == start && state != 'Z' && flags & runtime::state::PF_EXITING == 0
        })
}

/// The cgroup driver new containers get: `QUAI_CGROUP_MANAGER` (`--cgroup-manager`),
/// else systemd where systemd is pid 1 on a cgroup v2 host and quai runs as root (as
/// Docker and Podman choose), else cgroupfs.
pub fn cgroup_manager() -> Result<String> {
    match std::env::var("QUAI_CGROUP_MANAGER")
        .unwrap_or_default()
        .as_str()
    {
        "" => {
            let v2 = runtime::cgroups::Layout::detect().is_ok_and(|l| l.is_pure_v2());
            Ok(
                if v2 && runtime::cgroups::systemd::running() && !rootless::active() {
                    "systemd".into()
                } else {
                    "cgroupfs".into()
                },
            )
        }
        "cgroupfs" => Ok("cgroupfs".into()),
        "systemd" => {
            if !runtime::cgroups::systemd::running() {
                return Err(Error::Invalid(
                    "--cgroup-manager systemd: systemd is not pid 1 on this machine".into(),
                ));
            }
            Ok("systemd".into())
        }
        m => Err(Error::Invalid(format!(
            "--cgroup-manager {m:?}: cgroupfs or systemd"
        ))),
    }
}

/// Run a helper program to its end; its stderr becomes the error, prefixed with `what`.
pub(crate) fn run_tool(cmd: &mut std::process::Command, what: &str) -> Result<()> {
    let out = cmd
        .stdin(std::process::Stdio::null())
        .output()
        .map_err(|e| Error::io("run", what, e))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(Error::Invalid(format!(
            "{what}: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        )))
    }
}

/// Where `--init` mounts quai (which runs as a minimal init under this name).
pub const INIT_PATH: &str = "/sbin/quai-init";
