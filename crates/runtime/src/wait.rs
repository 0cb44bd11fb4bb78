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

/// Give the pty the size of our terminal (when stdin is one).
pub fn copy_winsize(master: &std::os::fd::OwnedFd) {
    use std::os::fd::AsRawFd;
    let mut ws = libc::winsize {
        ws_row: 0,
        ws_col: 0,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: TIOCGWINSZ writes a winsize we own; TIOCSWINSZ reads it; both on valid fds.
    unsafe {
        if libc::ioctl(0, libc::TIOCGWINSZ, &mut ws) == 0 {
            libc::ioctl(master.as_raw_fd(), libc::TIOCSWINSZ, &ws);
        }
    }
}

/// Puts stdin in raw mode while alive (when it is a terminal), restores it on drop.
pub struct RawMode(Option<nix::sys::termios::Termios>);

impl RawMode {
    /// Enter raw mode (nothing when stdin is not a terminal).
    pub fn enter() -> RawMode {
        use nix::sys::termios;
        let stdin = std::io::stdin();
        match termios::tcgetattr(&stdin) {
            Ok(orig) => {
                let mut raw = orig.clone();
                termios::cfmakeraw(&mut raw);
                let _ = termios::tcsetattr(&stdin, termios::SetArg::TCSANOW, &raw);
                RawMode(Some(orig))
            }
            Err(_) => RawMode(None),
        }
    }
}

impl Drop for RawMode {
    fn drop(&mut self) {
        if let Some(orig) = &self.0 {
            let _ = nix::sys::termios::tcsetattr(
                std::io::stdin(),
                nix::sys::termios::SetArg::TCSANOW,
                orig,
            );
        }
    }
}

/// Like [`wait_forwarding`], relaying our stdin and stdout to the container's pty.
pub fn wait_with_pty(pid: Pid, master: std::os::fd::OwnedFd) -> Result<i32> {
    use rustix::event::{poll, PollFd, PollFlags};
    use std::os::fd::AsFd;
    let mut set = forwarded();
    set.add(Signal::SIGCHLD);
    let sfd = SignalFd::with_flags(&set, SfdFlags::SFD_CLOEXEC | SfdFlags::SFD_NONBLOCK)
        .sys("signalfd", "run")?;
    let _raw = RawMode::enter();
    let stdin = std::io::stdin();
    let mut stdin_open = true;
    let mut exit: Option<i32> = None;
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        while exit.is_none() {
            match waitpid(None, Some(WaitPidFlag::WNOHANG)) {
                Ok(WaitStatus::StillAlive) | Err(_) => break,
                Ok(ws) if ws.pid() == Some(pid) => exit = exit_code(ws),
                Ok(_) => {}
            }
        }
        let mut fds = vec![
            PollFd::new(&sfd, PollFlags::IN),
            PollFd::new(&master, PollFlags::IN),
        ];
        if stdin_open && exit.is_none() {
            fds.push(PollFd::new(&stdin, PollFlags::IN));
        }
        // Once the process is gone, drain what the pty still holds, then stop.
        let timeout = exit.map(|_| rustix::time::Timespec {
            tv_sec: 0,
            tv_nsec: 20_000_000,
        });
        match poll(&mut fds, timeout.as_ref()) {
            Ok(0) if exit.is_some() => break,
            Ok(_) => {}
            Err(rustix::io::Errno::INTR) => continue,
            Err(e) => {
                return Err(crate::error::Error::sys(
                    "poll",
                    "pty",
                    nix::errno::Errno::from_raw(e.raw_os_error()),
                ))
            }
        }
        let rev: Vec<PollFlags> = fds.iter().map(|f| f.revents()).collect();
        if rev[0].contains(PollFlags::IN) {
            while let Ok(Some(info)) = sfd.read_signal() {
                let signo = info.ssi_signo as i32;
                if signo == libc::SIGWINCH {
                    copy_winsize(&master);
                } else if signo != libc::SIGCHLD {
                    if let Ok(sig) = Signal::try_from(signo) {
                        let _ = nix::sys::signal::kill(pid, sig);
                    }
                }
            }
        }
        if rev[1].intersects(PollFlags::IN | PollFlags::HUP | PollFlags::ERR) {
            match nix::unistd::read(master.as_fd(), &mut buf) {
                Ok(n) if n > 0 => {
                    let _ = write_all(std::io::stdout().as_fd(), &buf[..n]);
                }
                // EIO: the slave side is closed (the process exited).
                _ => {
                    if exit.is_some() {
                        break;
                    }
                }
            }
        }
        if rev.len() > 2 && rev[2].intersects(PollFlags::IN | PollFlags::HUP) {
            match nix::unistd::read(stdin.as_fd(), &mut buf) {
                Ok(n) if n > 0 => {
                    let _ = write_all(master.as_fd(), &buf[..n]);
                }
                _ => stdin_open = false,
            }
        }
        if let Some(code) = exit {
            if !rev[1].contains(PollFlags::IN) {
                return Ok(code);
            }
        }
    }
    Ok(exit.unwrap_or(0))
}

fn write_all(fd: std::os::fd::BorrowedFd<'_>, mut b: &[u8]) -> nix::Result<()> {
    while !b.is_empty() {
        match nix::unistd::write(fd, b) {
            Ok(n) => b = &b[n..],
            Err(nix::errno::Errno::EINTR) | Err(nix::errno::Errno::EAGAIN) => continue,
            Err(e) => return Err(e),
        }
    }
    Ok(())
}
