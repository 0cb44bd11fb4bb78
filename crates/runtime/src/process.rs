//! The last steps before `execve` of the container process: rlimits, user, capabilities,
//! no_new_privs, seccomp, file descriptors, environment, executable lookup.

use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use libseccomp::ScmpFilterContext;
use nix::unistd::{Gid, Uid};
use oci_spec::runtime::{PosixRlimit, PosixRlimitType, Process};

use crate::error::{Error, Result, SysContext};

const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

fn resource(t: PosixRlimitType) -> libc::__rlimit_resource_t {
    use PosixRlimitType as R;
    match t {
        R::RlimitCpu => libc::RLIMIT_CPU,
        R::RlimitFsize => libc::RLIMIT_FSIZE,
        R::RlimitData => libc::RLIMIT_DATA,
        R::RlimitStack => libc::RLIMIT_STACK,
        R::RlimitCore => libc::RLIMIT_CORE,
        R::RlimitRss => libc::RLIMIT_RSS,
        R::RlimitNproc => libc::RLIMIT_NPROC,
        R::RlimitNofile => libc::RLIMIT_NOFILE,
        R::RlimitMemlock => libc::RLIMIT_MEMLOCK,
        R::RlimitAs => libc::RLIMIT_AS,
        R::RlimitLocks => libc::RLIMIT_LOCKS,
        R::RlimitSigpending => libc::RLIMIT_SIGPENDING,
        R::RlimitMsgqueue => libc::RLIMIT_MSGQUEUE,
        R::RlimitNice => libc::RLIMIT_NICE,
        R::RlimitRtprio => libc::RLIMIT_RTPRIO,
        R::RlimitRttime => libc::RLIMIT_RTTIME,
    }
}

fn rlimit_name(t: PosixRlimitType) -> String {
    serde_json::to_value(t)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_else(|| format!("{t:?}"))
}

fn getrlimit(r: libc::__rlimit_resource_t) -> libc::rlimit {
    let mut cur = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes into the struct we own; the resource id comes from libc.
    unsafe { libc::getrlimit(r, &mut cur) };
    cur
}

/// Refuse, before anything is created, rlimits that raise a hard limit above the caller's
/// (raising needs CAP_SYS_RESOURCE, which these machines do not grant).
pub fn check_rlimits(limits: &[PosixRlimit]) -> Result<()> {
    let have_sys_resource = caps::has_cap(
        None,
        caps::CapSet::Effective,
        caps::Capability::CAP_SYS_RESOURCE,
    )
    .unwrap_or(false);
    for l in limits {
        if l.soft() > l.hard() {
            return Err(Error::Invalid(format!(
                "rlimit {}: soft limit {} is above hard limit {}",
                rlimit_name(l.typ()),
                l.soft(),
                l.hard()
            )));
        }
        let cur = getrlimit(resource(l.typ()));
        if !have_sys_resource && l.hard() > cur.rlim_max {
            return Err(Error::Invalid(format!(
                "rlimit {}: hard limit {} is above the caller's hard limit {} (raising it needs CAP_SYS_RESOURCE)",
                rlimit_name(l.typ()),
                l.hard(),
                cur.rlim_max
            )));
        }
    }
    Ok(())
}

/// Apply rlimits to the calling process.
pub fn set_rlimits(limits: &[PosixRlimit]) -> Result<()> {
    for l in limits {
        let r = libc::rlimit {
            rlim_cur: l.soft(),
            rlim_max: l.hard(),
        };
        // SAFETY: setrlimit reads the struct we pass; the resource id comes from libc.
        if unsafe { libc::setrlimit(resource(l.typ()), &r) } != 0 {
            return Err(Error::sys(
                "setrlimit",
                rlimit_name(l.typ()),
                nix::errno::Errno::last(),
            ));
        }
    }
    Ok(())
}

/// Environment for the process: the spec's, plus PATH and HOME when missing.
pub fn environment(p: &Process) -> Vec<String> {
    let mut env: Vec<String> = p.env().clone().unwrap_or_default();
    if !env.iter().any(|e| e.starts_with("PATH=")) {
        env.push(format!("PATH={DEFAULT_PATH}"));
    }
    if !env.iter().any(|e| e.starts_with("HOME=")) {
        env.push(format!("HOME={}", home_of(p.user().uid())));
    }
    env
}

/// Home directory of `uid` from the container's /etc/passwd (call after pivot_root).
fn home_of(uid: u32) -> String {
    std::fs::read_to_string("/etc/passwd")
        .ok()
        .and_then(|s| {
            s.lines().find_map(|l| {
                let f: Vec<&str> = l.split(':').collect();
                (f.len() >= 6 && f[2].parse::<u32>().ok() == Some(uid)).then(|| f[5].to_string())
            })
        })
        .unwrap_or_else(|| "/".to_string())
}

/// Find the executable (call inside the container's root): names with a `/` are taken as
/// they are, others are searched in the process's PATH.
pub fn find_executable(arg0: &str, env: &[String], cwd: &Path) -> Result<PathBuf> {
    let is_exec =
        |p: &Path| nix::unistd::access(p, nix::unistd::AccessFlags::X_OK).is_ok() && p.is_file();
    if arg0.contains('/') {
        let p = if Path::new(arg0).is_absolute() {
            PathBuf::from(arg0)
        } else {
            cwd.join(arg0)
        };
        if !p.exists() {
            return Err(exec_error(
                crate::error::ChildKind::NotFound,
                format!("exec: {arg0:?}: stat {arg0}: no such file or directory"),
            ));
        }
        if !is_exec(&p) {
            return Err(exec_error(
                crate::error::ChildKind::NotExecutable,
                format!("exec: {arg0:?}: permission denied"),
            ));
        }
        return Ok(p);
    }
    let path = env
        .iter()
        .find_map(|e| e.strip_prefix("PATH="))
        .unwrap_or(DEFAULT_PATH);
    for dir in path.split(':') {
        let dir = if dir.is_empty() { "." } else { dir };
        let cand = Path::new(dir).join(arg0);
        let cand = if cand.is_relative() {
            cwd.join(cand)
        } else {
            cand
        };
        if is_exec(&cand) {
            return Ok(cand);
        }
    }
    Err(exec_error(
        crate::error::ChildKind::NotFound,
        format!("exec: {arg0:?}: executable file not found in $PATH"),
    ))
}

fn exec_error(kind: crate::error::ChildKind, message: String) -> Error {
    Error::Child(crate::error::ChildError { kind, message })
}

/// Everything after the namespaces and the root are in place, up to and including
/// `execve`. Returns only on failure.
pub struct Finalize<'a> {
    /// The process to run.
    pub process: &'a Process,
    /// The resolved executable.
    pub exe: PathBuf,
    /// Its environment.
    pub env: Vec<String>,
    /// A seccomp filter, if any.
    pub seccomp: Option<ScmpFilterContext>,
    /// File descriptors 3..3+n that pass through (`--preserve-fds`, LISTEN_FDS).
    pub preserve_fds: i32,
    /// The signal mask to restore before exec.
    pub sigmask: nix::sys::signal::SigSet,
    /// Where to send the seccomp notify fd (SCMP_ACT_NOTIFY profiles).
    pub notify: Option<crate::security::Notify>,
    /// `linux.personality`.
    pub personality: Option<oci_spec::runtime::LinuxPersonality>,
}

impl Finalize<'_> {
    /// Do it.
    pub fn exec(self) -> Error {
        match self.prepare() {
            Ok((exe, argv, envp)) => {
                let e = nix::unistd::execve(&exe, &argv, &envp)
                    .err()
                    .unwrap_or(nix::errno::Errno::EINVAL);
                let kind = match e {
                    nix::errno::Errno::ENOENT => crate::error::ChildKind::NotFound,
                    nix::errno::Errno::EACCES => crate::error::ChildKind::NotExecutable,
                    _ => crate::error::ChildKind::Other,
                };
                exec_error(kind, format!("exec {}: {e}", self.exe.display()))
            }
            Err(e) => e,
        }
    }

    fn prepare(&self) -> Result<(CString, Vec<CString>, Vec<CString>)> {
        let p = self.process;
        let cstr = |s: &[u8], what: &str| {
            CString::new(s).map_err(|_| Error::Invalid(format!("{what} contains a NUL byte")))
        };
        let exe = cstr(self.exe.as_os_str().as_bytes(), "executable path")?;
        let argv = p
            .args()
            .iter()
            .flatten()
            .map(|a| cstr(a.as_bytes(), "argument"))
            .collect::<Result<Vec<_>>>()?;
        let envp = self
            .env
            .iter()
            .map(|e| cstr(e.as_bytes(), "environment"))
            .collect::<Result<Vec<_>>>()?;

        if let Some(r) = p.rlimits() {
            set_rlimits(r)?;
        }
        if let Some(score) = p.oom_score_adj() {
            // Set before a new user namespace (stage 1), where the file is out of reach.
            let now = std::fs::read_to_string("/proc/self/oom_score_adj").unwrap_or_default();
            if now.trim() != score.to_string() {
                std::fs::write("/proc/self/oom_score_adj", score.to_string())
                    .map_err(|e| Error::io("write", "/proc/self/oom_score_adj", e))?;
            }
        }
        if let Some(per) = &self.personality {
            crate::sched::set_personality(per)?;
        }
        if let Some(io) = p.io_priority() {
            crate::sched::set_io_priority(io)?;
        }
        // While still privileged: real-time policies need CAP_SYS_NICE.
        if let Some(s) = p.scheduler() {
            crate::sched::set_scheduler(s)?;
        }
        let nnp = p.no_new_privileges().unwrap_or(false);
        // Without no_new_privs a filter can only be loaded while we still hold
        // CAP_SYS_ADMIN, so it goes in before the capabilities are dropped.
        if !nnp {
            if let Some(f) = &self.seccomp {
                crate::security::load(f)?;
                if let Some(n) = &self.notify {
                    crate::security::send_notify(f, n)?;
                }
            }
        }
        crate::security::drop_bounding(p.capabilities().as_ref())?;
        // Keep permitted capabilities across the uid change; set the final sets after it.
        nix::sys::prctl::set_keepcaps(true).sys("prctl", "PR_SET_KEEPCAPS")?;
        let user = p.user();
        let gids: Vec<Gid> = user
            .additional_gids()
            .iter()
            .flatten()
            .map(|g| Gid::from_raw(*g))
            .collect();
        match nix::unistd::setgroups(&gids) {
            Ok(()) => {}
            // In a user namespace with setgroups denied, only an empty list is allowed
            // (rootless with one id mapped: a list of the primary group alone means
            // nothing more than it).
            Err(nix::errno::Errno::EPERM)
                if gids.is_empty()
                    || (gids.iter().all(|g| g.as_raw() == user.gid())
                        && std::fs::read_to_string("/proc/self/setgroups")
                            .is_ok_and(|s| s.trim() == "deny")) => {}
            Err(e) => {
                return Err(Error::sys(
                    "setgroups",
                    format!("{:?}", user.additional_gids()),
                    e,
                ))
            }
        }
        let gid = Gid::from_raw(user.gid());
        let uid = Uid::from_raw(user.uid());
        let unmapped = |what: &'static str, id: u32| {
            move |e: nix::errno::Errno| {
                if e == nix::errno::Errno::EINVAL && crate::userns::in_child_userns() {
                    Error::Invalid(format!(
                        "{what} {id}: that id is not mapped in this user namespace (rootless \
                         without a range in /etc/subuid and /etc/subgid maps only 0)"
                    ))
                } else {
                    Error::sys(what, id.to_string(), e)
                }
            }
        };
        nix::unistd::setresgid(gid, gid, gid).map_err(unmapped("setgid", user.gid()))?;
        nix::unistd::setresuid(uid, uid, uid).map_err(unmapped("setuid", user.uid()))?;
        nix::sys::prctl::set_keepcaps(false).sys("prctl", "PR_SET_KEEPCAPS")?;
        crate::security::set_caps(p.capabilities().as_ref())?;
        if let Some(mask) = user.umask() {
            nix::sys::stat::umask(nix::sys::stat::Mode::from_bits_truncate(mask));
        } else {
            nix::sys::stat::umask(nix::sys::stat::Mode::from_bits_truncate(0o022));
        }
        if nnp {
            nix::sys::prctl::set_no_new_privs().sys("prctl", "PR_SET_NO_NEW_PRIVS")?;
            if let Some(f) = &self.seccomp {
                crate::security::load(f)?;
                if let Some(n) = &self.notify {
                    crate::security::send_notify(f, n)?;
                }
            }
        }
        close_fds_from(3 + self.preserve_fds);
        self.sigmask
            .thread_set_mask()
            .sys("restore", "signal mask")?;
        // Default dispositions for signals the runtime may have ignored.
        // SAFETY: setting SIG_DFL installs no handler code; we exec right after.
        let _ = unsafe {
            nix::sys::signal::signal(
                nix::sys::signal::SIGPIPE,
                nix::sys::signal::SigHandler::SigDfl,
            )
        };
        Ok((exe, argv, envp))
    }
}

/// Mark every fd from `first` close-on-exec, so no host fd reaches the container
/// (CVE-2024-21626 class).
pub fn close_fds_from(first: i32) {
    // SAFETY: close_range with CLOSE_RANGE_CLOEXEC only sets flags on our own fd table.
    let r = unsafe {
        libc::syscall(
            libc::SYS_close_range,
            first as libc::c_uint,
            libc::c_uint::MAX,
            libc::CLOSE_RANGE_CLOEXEC,
        )
    };
    if r != 0 {
        // Older kernels: walk /proc/self/fd.
        if let Ok(rd) = std::fs::read_dir("/proc/self/fd") {
            let fds: Vec<i32> = rd
                .filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
                .collect();
            for fd in fds.into_iter().filter(|fd| *fd >= first) {
                // SAFETY: F_SETFD with FD_CLOEXEC on an fd number; a stale number fails harmlessly.
                unsafe { libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC) };
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn executable_lookup() {
        let env = vec!["PATH=/nonexistent:/bin:/usr/bin".to_string()];
        let sh = find_executable("sh", &env, Path::new("/")).expect("sh found");
        assert!(sh.ends_with("sh"));
        let e = find_executable("no-such-binary-xyz", &env, Path::new("/"))
            .expect_err("missing")
            .to_string();
        assert!(e.contains("executable file not found"), "{e}");
        let e = find_executable("/no/such", &env, Path::new("/"))
            .expect_err("missing")
            .to_string();
        assert!(e.contains("no such file"), "{e}");
    }

    #[test]
    fn rlimit_above_hard_is_refused() {
        let cur = getrlimit(libc::RLIMIT_NOFILE);
        if caps::has_cap(
            None,
            caps::CapSet::Effective,
            caps::Capability::CAP_SYS_RESOURCE,
        )
        .unwrap_or(false)
            || cur.rlim_max == libc::RLIM_INFINITY
        {
            return;
        }
        let l: PosixRlimit = serde_json::from_str(&format!(
            r#"{{"type":"RLIMIT_NOFILE","hard":{},"soft":1024}}"#,
            cur.rlim_max + 1
        ))
        .expect("rlimit");
        let e = check_rlimits(&[l]).expect_err("refused").to_string();
        assert!(
            e.contains("RLIMIT_NOFILE") && e.contains("caller's hard limit"),
            "{e}"
        );
    }
}
