//! Starting a monitor (`quai __monitor`): its arguments as one typed struct that the
//! launcher writes and the monitor reads back, and the spawn itself (the first
//! connection on fd 3, the container's lifecycle lock on fd 4, a session of its own).

use std::ffi::OsString;
use std::os::unix::net::UnixStream;
use std::path::PathBuf;

use crate::{Error, Paths, Result};

/// The hidden subcommand that runs a monitor.
pub const ARG: &str = "__monitor";

/// What a monitor is started with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MonitorArgs {
    /// The state root.
    pub root: PathBuf,
    /// The run dir.
    pub run: PathBuf,
    /// The container.
    pub id: String,
    /// The streams the first client attaches (`i`, `o`, `e`).
    pub attach: String,
    /// The attached terminal's size (rows, columns).
    pub tty_size: Option<(u16, u16)>,
    /// Take over a running container whose monitor died (crate::adopt).
    pub adopt: bool,
}

impl MonitorArgs {
    /// For a container of this engine; the terminal size is ours when streams attach.
    pub fn new(paths: &Paths, id: &str, attach: &str, adopt: bool) -> MonitorArgs {
        let tty_size = (!attach.is_empty())
            .then(crate::attach::winsize_payload)
            .flatten()
            .map(|p| {
                (
                    u16::from_be_bytes([p[0], p[1]]),
                    u16::from_be_bytes([p[2], p[3]]),
                )
            });
        MonitorArgs {
            root: paths.root.clone(),
            run: paths.run.clone(),
            id: id.to_string(),
            attach: attach.to_string(),
            tty_size,
            adopt,
        }
    }

    /// The command line after `quai __monitor`.
    pub fn to_args(&self) -> Vec<OsString> {
        let mut a: Vec<OsString> = vec![
            "--root".into(),
            self.root.clone().into(),
            "--run".into(),
            self.run.clone().into(),
        ];
        if self.adopt {
            a.push("--adopt".into());
        }
        if !self.attach.is_empty() {
            a.push("--attach".into());
            a.push(self.attach.clone().into());
        }
        if let Some((r, c)) = self.tty_size {
            a.push("--tty-size".into());
            a.push(format!("{r}x{c}").into());
        }
        a.push(self.id.clone().into());
        a
    }

    /// Read back what [`MonitorArgs::to_args`] wrote.
    pub fn parse(args: &[OsString]) -> Option<MonitorArgs> {
        let mut root = None;
        let mut run = None;
        let mut id = None;
        let mut m = MonitorArgs {
            root: PathBuf::new(),
            run: PathBuf::new(),
            id: String::new(),
            attach: String::new(),
            tty_size: None,
            adopt: false,
        };
        let mut it = args.iter().map(|a| a.to_string_lossy().into_owned());
        while let Some(a) = it.next() {
            match a.as_str() {
                "--root" => root = it.next(),
                "--run" => run = it.next(),
                "--adopt" => m.adopt = true,
                "--attach" => m.attach = it.next()?,
                "--tty-size" => {
                    let v = it.next()?;
                    let (r, c) = v.split_once('x')?;
                    m.tty_size = Some((r.parse().ok()?, c.parse().ok()?));
                }
                _ if a.starts_with("--") => return None,
                _ => id = Some(a),
            }
        }
        m.root = root?.into();
        m.run = run?.into();
        m.id = id?;
        Some(m)
    }
}

/// Start `quai __monitor` for a container; returns our end of its first connection.
pub fn spawn(paths: &Paths, args: &MonitorArgs, lock: &crate::lock::Held) -> Result<UnixStream> {
    use std::os::fd::AsRawFd;
    use std::os::unix::process::CommandExt;
    let (ours, theirs) = UnixStream::pair().map_err(|e| Error::io("socketpair", "monitor", e))?;
    let log = paths.container(&args.id).join("monitor.log");
    let errf = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&log)
        .map_err(|e| Error::io("open", &log, e))?;
    let fd = theirs.as_raw_fd();
    let lock_fd = lock.raw();
    // Our own binary through the magic link: after the re-exec from the read-only copy
    // (runtime::selfexe) no path in any mount namespace names it.
    let mut cmd = std::process::Command::new("/proc/self/exe");
    cmd.arg0("quai");
    cmd.arg(ARG).args(args.to_args());
    cmd.stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(errf);
    // SAFETY: the closure only calls async-signal-safe functions (fcntl, dup2, setsid).
    unsafe {
        cmd.pre_exec(move || {
            // Out of the way first: either may sit on the other's target number.
            let (a, b) = (
                libc::fcntl(fd, libc::F_DUPFD_CLOEXEC, 10),
                libc::fcntl(lock_fd, libc::F_DUPFD_CLOEXEC, 10),
            );
            if a < 0 || b < 0 || libc::dup2(a, 3) < 0 || libc::dup2(b, crate::lock::MONITOR_FD) < 0
            {
                return Err(std::io::Error::last_os_error());
            }
            libc::setsid();
            Ok(())
        });
    }
    // The monitor moves the container's init into its cgroups in ~10 ms: start the
    // kernel's grace-period wait for that now, beside it.
    std::thread::spawn(runtime::cgroups::warm_migration);
    let mut child = cmd
        .spawn()
        .map_err(|e| Error::io("start monitor", &log, e))?;
    drop(theirs);
    // The first process forks the monitor and exits at once.
    let _ = child.wait();
    Ok(ours)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arguments_round_trip() {
        let m = MonitorArgs {
            root: "/var/lib/quai".into(),
            run: "/run/quai".into(),
            id: "c0ffee".into(),
            attach: "ioe".into(),
            tty_size: Some((40, 132)),
            adopt: true,
        };
        assert_eq!(MonitorArgs::parse(&m.to_args()), Some(m.clone()));
        let plain = MonitorArgs {
            attach: String::new(),
            tty_size: None,
            adopt: false,
            ..m
        };
        assert_eq!(MonitorArgs::parse(&plain.to_args()), Some(plain));
        assert_eq!(MonitorArgs::parse(&["--root".into(), "/r".into()]), None);
        assert_eq!(
            MonitorArgs::parse(&["--bogus".into(), "--root".into(), "/r".into()]),
            None
        );
    }
}
