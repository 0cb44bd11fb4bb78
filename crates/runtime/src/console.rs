//! The container's terminal: a pty opened inside the container, its master sent to the
//! `--console-socket`.

use std::os::fd::{AsRawFd, OwnedFd, RawFd};

use nix::fcntl::OFlag;

use crate::error::{Error, Result, SysContext};

/// Open a pty in the container's devpts (after pivot_root), send the master over `sock`,
/// bind the slave over `/dev/console` (when `console` is set) and make it our stdio and
/// controlling terminal.
pub fn setup(sock: RawFd, console: bool, size: Option<(u16, u16)>) -> Result<()> {
    let master = nix::pty::posix_openpt(OFlag::O_RDWR | OFlag::O_NOCTTY | OFlag::O_CLOEXEC)
        .sys("open", "/dev/ptmx")?;
    nix::pty::grantpt(&master).sys("grantpt", "/dev/ptmx")?;
    nix::pty::unlockpt(&master).sys("unlockpt", "/dev/ptmx")?;
    let name = nix::pty::ptsname_r(&master).sys("ptsname", "/dev/ptmx")?;
    let slave: OwnedFd = nix::fcntl::open(
        name.as_str(),
        OFlag::O_RDWR | OFlag::O_NOCTTY | OFlag::O_CLOEXEC,
        nix::sys::stat::Mode::empty(),
    )
    .sys("open", &name)?;
    if let Some((rows, cols)) = size {
        let ws = libc::winsize {
            ws_row: rows,
            ws_col: cols,
            ws_xpixel: 0,
            ws_ypixel: 0,
        };
        // SAFETY: TIOCSWINSZ reads a winsize struct we own from a valid tty fd.
        unsafe { libc::ioctl(slave.as_raw_fd(), libc::TIOCSWINSZ, &ws) };
    }
    if console {
        if std::fs::symlink_metadata("/dev/console").is_err() {
            std::fs::write("/dev/console", b"")
                .map_err(|e| Error::io("create", "/dev/console", e))?;
        }
        nix::mount::mount(
            Some(name.as_str()),
            "/dev/console",
            None::<&str>,
            nix::mount::MsFlags::MS_BIND,
            None::<&str>,
        )
        .sys("bind", "/dev/console")?;
    }
    crate::sync::send_fd(sock, master.as_raw_fd())?;
    drop(master);
    nix::unistd::setsid().sys("setsid", "console")?;
    // SAFETY: TIOCSCTTY on a tty fd we own; makes it our controlling terminal.
    if unsafe { libc::ioctl(slave.as_raw_fd(), libc::TIOCSCTTY, 0) } != 0 {
        return Err(Error::sys(
            "set controlling terminal",
            &name,
            nix::errno::Errno::last(),
        ));
    }
    for fd in 0..3 {
        // SAFETY: dup2 onto the standard fds; both are valid descriptors.
        if unsafe { libc::dup2(slave.as_raw_fd(), fd) } < 0 {
            return Err(Error::sys("dup2", &name, nix::errno::Errno::last()));
        }
    }
    Ok(())
}

/// Connect to a console socket (a unix stream socket path).
pub fn connect(path: &std::path::Path) -> Result<std::os::unix::net::UnixStream> {
    std::os::unix::net::UnixStream::connect(path)
        .map_err(|e| Error::io("connect to console socket", path, e))
}
