//! Waiting for a child while forwarding signals to it, with no lost SIGCHLD: the signals
//! are blocked before the first fork and read from a signalfd afterwards.

use nix::sys::signal::{SigSet, Signal};
use nix::sys::signalfd::{SfdFlags, SignalFd};
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use nix::unistd::Pid;

use crate::error::{Result, SysContext};

/// Signals `run` and `exec` pass on to the container process.
pub fn forwarded() -> SigSet {
    let mut s = SigSet::empty();
    for sig in Signal::iterator() {
        if !matches!(
            sig,
            Signal::SIGKILL
                | Signal::SIGSTOP
                | Signal::SIGCHLD
                | Signal::SIGSEGV
                | Signal::SIGBUS
                | Signal::SIGILL
                | Signal::SIGFPE
                | Signal::SIGTRAP
                | Signal::SIGABRT
                | Signal::SIGSYS
        ) {
            s.add(sig);
        }
    }
    s
}

/// Block SIGCHLD and the forwarded signals; returns the previous mask (for the children).
pub fn block_signals() -> Result<SigSet> {
    let mut set = forwarded();
    set.add(Signal::SIGCHLD);
    let mut old = SigSet::empty();
    nix::sys::signal::pthread_sigmask(
        nix::sys::signal::SigmaskHow::SIG_BLOCK,
        Some(&set),
        Some(&mut old),
    )
    .sys("block", "signals")?;
    Ok(old)
}

/// Exit code the way a shell reports it: the status, or 128 + the signal.
pub fn exit_code(ws: WaitStatus) -> Option<i32> {
    match ws {
        WaitStatus::Exited(_, c) => Some(c),
        WaitStatus::Signaled(_, s, _) => Some(128 + s as i32),
        _ => None,
    }
}

/// Wait for `pid` (our child), forwarding signals to it; reap other children on the way.
pub fn wait_forwarding(pid: Pid) -> Result<i32> {
    let mut set = forwarded();
    set.add(Signal::SIGCHLD);
    let sfd = SignalFd::with_flags(&set, SfdFlags::SFD_CLOEXEC).sys("signalfd", "run")?;
    loop {
        // Reap first: the child may have exited before the signalfd existed.
        loop {
            match waitpid(None, Some(WaitPidFlag::WNOHANG)) {
                Ok(WaitStatus::StillAlive) | Err(_) => break,
                Ok(ws) => {
                    if ws.pid() == Some(pid) {
                        if let Some(c) = exit_code(ws) {
                            return Ok(c);
                        }
                    }
                }
            }
        }
        match sfd.read_signal() {
            Ok(Some(info)) => {
                let signo = info.ssi_signo as i32;
                if signo != libc::SIGCHLD {
                    if let Ok(sig) = Signal::try_from(signo) {
                        let _ = nix::sys::signal::kill(pid, sig);
                    }
                }
            }
            Ok(None) => {}
            Err(nix::errno::Errno::EINTR) => {}
            Err(e) => return Err(crate::error::Error::sys("read", "signalfd", e)),
        }
    }
}
