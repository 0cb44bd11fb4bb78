//! `--init`: quai bind-mounted into the container as `/sbin/quai-init` runs the command as
//! its child, forwards signals to it, reaps every orphan and exits with the command's
//! status (the job Docker gives to tini).

use nix::sys::signal::Signal;
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};

/// The command that makes `quai-init` a pod's pause process.
pub const PAUSE: &str = "--pause";

/// A pod's pause process: holds the pod's namespaces, reaps the orphans given to it,
/// and exits 0 on SIGTERM or SIGINT.
fn pause() -> i32 {
    let Ok(_old) = runtime::wait::block_signals() else {
        return 1;
    };
    let mut set = nix::sys::signal::SigSet::empty();
    for s in [Signal::SIGTERM, Signal::SIGINT, Signal::SIGCHLD] {
        set.add(s);
    }
    loop {
        match set.wait() {
            Ok(Signal::SIGCHLD) => {
                while let Ok(st) = waitpid(None, Some(WaitPidFlag::WNOHANG)) {
                    if st == WaitStatus::StillAlive {
                        break;
                    }
                }
            }
            Ok(_) => return 0,
            Err(_) => continue,
        }
    }
}

/// Entry point: `quai-init -- CMD ARGS...`, or `quai-init -- --pause`.
pub fn main(args: &[std::ffi::OsString]) -> i32 {
    let cmd: Vec<std::ffi::CString> = args
        .iter()
        .skip(1)
        .skip_while(|a| a.as_os_str() == "--")
        .filter_map(|a| {
            use std::os::unix::ffi::OsStrExt;
            std::ffi::CString::new(a.as_bytes()).ok()
        })
        .collect();
    if cmd.is_empty() {
        eprintln!("quai-init: usage: quai-init -- COMMAND [ARG...]");
        return 2;
    }
    if cmd.len() == 1 && cmd[0].as_bytes() == PAUSE.as_bytes() {
        return pause();
    }
    let Ok(old) = runtime::wait::block_signals() else {
        return 1;
    };
    let set = runtime::wait::forwarded();
    // SAFETY: single-threaded; the child only restores its mask and execs.
    let child = match unsafe { nix::unistd::fork() } {
        Ok(nix::unistd::ForkResult::Child) => {
            let _ = old.thread_set_mask();
            let e = nix::unistd::execvp(&cmd[0], &cmd).err();
            eprintln!(
                "quai-init: exec {:?}: {}",
                cmd[0],
                e.map(|e| e.desc()).unwrap_or("")
            );
            // SAFETY: _exit in a forked child after a failed exec.
            unsafe {
                libc::_exit(if e == Some(nix::errno::Errno::ENOENT) {
                    127
                } else {
                    126
                })
            }
        }
        Ok(nix::unistd::ForkResult::Parent { child }) => child,
        Err(e) => {
            eprintln!("quai-init: fork: {e}");
            return 1;
        }
    };
    let mut all = set;
    all.add(Signal::SIGCHLD);
    loop {
        let Ok(sig) = all.wait() else { continue };
        if sig != Signal::SIGCHLD {
            let _ = nix::sys::signal::kill(child, sig);
            continue;
        }
        loop {
            match waitpid(None, Some(WaitPidFlag::WNOHANG)) {
                Ok(WaitStatus::StillAlive) | Err(_) => break,
                Ok(ws) if ws.pid() == Some(child) => {
                    return runtime::wait::exit_code(ws).unwrap_or(1);
                }
                Ok(_) => {}
            }
        }
    }
}
