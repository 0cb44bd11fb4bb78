//! The on-disk record of a container: `<root>/<id>/state.json`, written atomically.
//!
//! Version 1 of this format; fields are only ever added. The status is not stored: it is
//! derived from the init process (alive, same start time), the exec fifo and the freezer.

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::cgroups::CgroupPaths;
use crate::error::{Error, IoContext, Result};

/// Name of the fifo that `start` writes to release the init process.
pub const EXEC_FIFO: &str = "exec.fifo";
const STATE_FILE: &str = "state.json";

/// Container status, as the OCI runtime spec names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Being created.
    Creating,
    /// Created, waiting for `start`.
    Created,
    /// The user process runs.
    Running,
    /// Frozen.
    Paused,
    /// The init process has exited.
    Stopped,
}

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Status::Creating => "creating",
            Status::Created => "created",
            Status::Running => "running",
            Status::Paused => "paused",
            Status::Stopped => "stopped",
        })
    }
}

/// What quai keeps about a container between invocations.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct State {
    /// Format version of this record.
    pub version: u32,
    /// Container id.
    pub id: String,
    /// Host pid of the container's init process.
    pub pid: i32,
    /// Start time of the init process in clock ticks since boot (pid reuse guard).
    pub start_time: u64,
    /// Absolute bundle path.
    pub bundle: PathBuf,
    /// Absolute rootfs path.
    pub rootfs: PathBuf,
    /// RFC 3339 creation time.
    pub created: String,
    /// Owner (user name or uid) of the runtime process that created it.
    pub owner: String,
    /// Annotations from the config.
    #[serde(default)]
    pub annotations: HashMap<String, String>,
    /// Cgroup directories of the container.
    pub cgroups: CgroupPaths,
    /// Whether the container has its own pid namespace (kill semantics differ).
    pub own_pid_ns: bool,
}

/// The directory that holds a container's state.
pub fn container_dir(root: &Path, id: &str) -> PathBuf {
    root.join(id)
}

/// Validate an id the way runc does: no path separators, no dot names.
pub fn check_id(id: &str) -> Result<()> {
    let ok = !id.is_empty()
        && id.len() <= 1024
        && id != "."
        && id != ".."
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '+' | '-' | '.'));
    if ok {
        Ok(())
    } else {
        Err(Error::Invalid(format!("invalid container id {id:?}")))
    }
}

impl State {
    /// Load the state of container `id` under `root`.
    pub fn load(root: &Path, id: &str) -> Result<State> {
        check_id(id)?;
        let path = container_dir(root, id).join(STATE_FILE);
        let bytes = match std::fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(Error::NotFound(id.to_string()))
            }
            Err(e) => return Err(Error::io("read", path, e)),
        };
        serde_json::from_slice(&bytes)
            .map_err(|e| Error::Invalid(format!("corrupt state {}: {e}", path.display())))
    }

    /// Write atomically (temp file + rename).
    pub fn save(&self, root: &Path) -> Result<()> {
        let dir = container_dir(root, &self.id);
        let tmp = dir.join(".state.json.tmp");
        let path = dir.join(STATE_FILE);
        let bytes = serde_json::to_vec(self)
            .map_err(|e| Error::Invalid(format!("serialise state: {e}")))?;
        let mut f = std::fs::File::create(&tmp).ctx("create", &tmp)?;
        f.write_all(&bytes).ctx("write", &tmp)?;
        std::fs::rename(&tmp, &path).ctx("rename", &path)?;
        Ok(())
    }

    /// The state directory of this container.
    pub fn dir(&self, root: &Path) -> PathBuf {
        container_dir(root, &self.id)
    }

    /// Whether the init process still exists (and is the same process).
    pub fn init_alive(&self) -> bool {
        matches!(proc_stat(self.pid), Some((st, state)) if st == self.start_time && state != 'Z' && state != 'X')
    }

    /// Current status, derived from the live system.
    pub fn status(&self, root: &Path) -> Status {
        if !self.init_alive() {
            return Status::Stopped;
        }
        if crate::cgroups::is_frozen(&self.cgroups) {
            return Status::Paused;
        }
        if self.dir(root).join(EXEC_FIFO).exists() {
            Status::Created
        } else {
            Status::Running
        }
    }

    /// The OCI state JSON (runtime-spec `state` plus runc's extra fields).
    pub fn oci_json(&self, status: Status) -> serde_json::Value {
        let mut v = serde_json::json!({
            "ociVersion": crate::OCI_VERSION,
            "id": self.id,
            "status": status.to_string(),
            "bundle": self.bundle,
            "rootfs": self.rootfs,
            "created": self.created,
            "owner": self.owner,
            "annotations": self.annotations,
        });
        if status != Status::Stopped {
            v["pid"] = serde_json::json!(self.pid);
        } else {
            v["pid"] = serde_json::json!(0);
        }
        v
    }
}

/// Start time (field 22) and state letter (field 3) of a process, from `/proc/PID/stat`.
pub fn proc_stat(pid: i32) -> Option<(u64, char)> {
    proc_stat_flags(pid).map(|(start, state, _)| (start, state))
}

/// The kernel's `PF_EXITING` flag of a process: it is past the point of no return in
/// exit(2), only closing its files and releasing what it held.
pub const PF_EXITING: u64 = 0x4;

/// [`proc_stat`] with the process's `PF_*` flags.
pub fn proc_stat_flags(pid: i32) -> Option<(u64, char, u64)> {
    if pid <= 0 {
        return None;
    }
    // One read into a buffer longer than the line (`ps` calls this once per container:
    // read_to_string would stat the file and grow its buffer over several reads).
    let mut buf = [0u8; 1024];
    let mut f = std::fs::File::open(format!("/proc/{pid}/stat")).ok()?;
    let n = std::io::Read::read(&mut f, &mut buf).ok()?;
    let s = &buf[..n];
    // The command name is in parentheses and may contain spaces (or any byte): split after
    // the last ')'.
    let close = s.iter().rposition(|&b| b == b')')?;
    let rest = std::str::from_utf8(s.get(close + 2..)?).ok()?;
    let mut fields = rest.split(' ');
    let state = fields.next()?.chars().next()?;
    // After the state: ppid, pgrp, session, tty_nr, tpgid, then flags (field 9).
    let flags = fields.nth(5)?.parse().ok()?;
    // Start time is field 22.
    let start = fields.nth(12)?.parse().ok()?;
    Some((start, state, flags))
}

/// RFC 3339 UTC timestamps with nanoseconds (`state.json`'s `created`, log lines).
pub use clock::{now_rfc3339, rfc3339_nanos};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids() {
        assert!(check_id("abc-1.2_x+y").is_ok());
        for bad in ["", ".", "..", "a/b", "a b", "../x"] {
            assert!(check_id(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn own_stat_is_readable() {
        let pid = std::process::id() as i32;
        let (start, state) = proc_stat(pid).expect("own stat");
        assert!(start > 0);
        assert!(state == 'R' || state == 'S');
    }

    #[test]
    fn a_name_with_parentheses_and_spaces_is_skipped() {
        let own = proc_stat_flags(std::process::id() as i32).expect("own stat");
        let got = std::thread::Builder::new()
            .name("x) (y) z".into())
            .spawn(|| proc_stat_flags(nix::unistd::gettid().as_raw()))
            .expect("spawn")
            .join()
            .expect("join")
            .expect("the thread's stat");
        assert!(got.0 >= own.0);
        assert!(got.1 == 'R' || got.1 == 'S');
        assert_eq!(got.2 & PF_EXITING, 0);
    }

    #[test]
    fn timestamp_shape() {
        let t = now_rfc3339();
        assert_eq!(t.len(), 30, "{t}");
        assert!(t.starts_with("20") && t.ends_with('Z'), "{t}");
    }
}
