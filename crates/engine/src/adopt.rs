//! A container whose monitor died is adopted by a new one, started by the next command
//! that sees it (`Engine::observe`).
//!
//! What makes that possible is stdio that outlives a monitor: a container's stdout and
//! stderr are FIFOs in its directory, which the container holds open for reading *and*
//! writing. Its writes never fail for want of a reader (no EPIPE, no SIGPIPE) while no
//! monitor runs: they wait in the pipe (64 KiB, then the writer blocks) until the adopting
//! monitor opens the FIFOs again and logs them. With a terminal (`-t`) the pty's master
//! died with the monitor, so only supervision resumes.
//!
//! The adopting monitor is not the parent of the container's init, so it learns of its
//! exit through a pidfd but not its status: the record then says the exit status is
//! unknown (255), and the restart policy applies as for any other exit.

use std::os::fd::{AsFd, OwnedFd};
use std::path::{Path, PathBuf};

use rustix::fs::{Mode, OFlags};

use crate::{Error, Result};

/// The message recorded for an exit whose status only the dead monitor could have read.
pub const UNKNOWN_EXIT: &str =
    "exit status unknown: the container's monitor had died and another one adopted it";

fn fifo_path(dir: &Path, name: &str) -> PathBuf {
    dir.join(format!("{name}.fifo"))
}

/// A new FIFO for one output stream: (the monitor's read end, the container's end).
pub fn fifo(dir: &Path, name: &str) -> Result<(OwnedFd, OwnedFd)> {
    let p = fifo_path(dir, name);
    let _ = std::fs::remove_file(&p);
    nix::unistd::mkfifo(&p, nix::sys::stat::Mode::from_bits_truncate(0o600))
        .map_err(|e| Error::io("mkfifo", &p, e.into()))?;
    let r = open_read(&p)?;
    // Read and write: the container is always a reader of its own output as well, so
    // its writes never meet a FIFO without readers when no monitor runs.
    let w = rustix::fs::open(&p, OFlags::RDWR | OFlags::CLOEXEC, Mode::empty())
        .map_err(|e| Error::io("open", &p, e.into()))?;
    Ok((r, w))
}

/// The monitor's read end of a FIFO that exists, blocking (poll tells when to read).
fn open_read(p: &Path) -> Result<OwnedFd> {
    // Non-blocking to open without waiting for a writer, then blocking for reads.
    let r = rustix::fs::open(
        p,
        OFlags::RDONLY | OFlags::NONBLOCK | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .map_err(|e| Error::io("open", p, e.into()))?;
    let fl = rustix::fs::fcntl_getfl(&r).map_err(|e| Error::io("fcntl", p, e.into()))?;
    rustix::fs::fcntl_setfl(&r, fl - OFlags::NONBLOCK)
        .map_err(|e| Error::io("fcntl", p, e.into()))?;
    Ok(r)
}

/// What an adopting monitor takes over from a running container.
pub struct Orphan {
    /// The container's init.
    pub pid: i32,
    /// Readable when the init has exited.
    pub pidfd: OwnedFd,
    /// The output FIFOs, when the container has them (not with `-t`).
    pub stdout: Option<OwnedFd>,
    /// As above.
    pub stderr: Option<OwnedFd>,
}

/// Take over a running container: its init (still the same process) and its outputs.
pub fn take(runtime_root: &Path, dir: &Path, id: &str) -> Result<Orphan> {
    let st = runtime::state::State::load(runtime_root, id)?;
    if !st.init_alive() {
        return Err(Error::Invalid(format!(
            "nothing to adopt: container {id} does not run"
        )));
    }
    let pid = rustix::process::Pid::from_raw(st.pid)
        .ok_or_else(|| Error::Invalid(format!("container {id}: no init pid")))?;
    let pidfd = rustix::process::pidfd_open(pid, rustix::process::PidfdFlags::empty())
        .map_err(|e| Error::io("pidfd_open", format!("/proc/{}", st.pid), e.into()))?;
    // The pid could have been reused between the state check and pidfd_open.
    if !st.init_alive() {
        return Err(Error::Invalid(format!(
            "nothing to adopt: container {id} does not run"
        )));
    }
    let out = |name: &str| -> Result<Option<OwnedFd>> {
        let p = fifo_path(dir, name);
        if p.exists() {
            open_read(&p).map(Some)
        } else {
            Ok(None)
        }
    };
    Ok(Orphan {
        pid: st.pid,
        pidfd,
        stdout: out("stdout")?,
        stderr: out("stderr")?,
    })
}

/// Whether the adopted init has exited (its pidfd is readable).
pub fn exited(pidfd: &impl AsFd) -> bool {
    let mut p = [rustix::event::PollFd::new(
        pidfd,
        rustix::event::PollFlags::IN,
    )];
    rustix::event::poll(&mut p, Some(&rustix::event::Timespec::default())).is_ok_and(|n| n > 0)
}
