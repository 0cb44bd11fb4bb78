//! Capabilities and seccomp for the container process.

use std::collections::HashSet;
use std::str::FromStr;

use caps::{CapSet, Capability};
use libseccomp::{
    ScmpAction, ScmpArch, ScmpArgCompare, ScmpCompareOp, ScmpFilterContext, ScmpSyscall,
};
use oci_spec::runtime::{
    LinuxCapabilities, LinuxSeccomp, LinuxSeccompAction, LinuxSeccompOperator,
};

use crate::error::{Error, Result};

fn to_caps(set: Option<&oci_spec::runtime::Capabilities>) -> HashSet<Capability> {
    set.into_iter()
        .flatten()
        .filter_map(|c| {
            let name = serde_json::to_value(c).ok()?;
            Capability::from_str(name.as_str()?).ok()
        })
        .collect()
}

/// Drop every capability not in the bounding set from the bounding set.
pub fn drop_bounding(c: Option<&LinuxCapabilities>) -> Result<()> {
    let keep = to_caps(c.and_then(|c| c.bounding().as_ref()));
    for cap in caps::all() {
        if !keep.contains(&cap) && caps::has_cap(None, CapSet::Bounding, cap).unwrap_or(false) {
            caps::drop(None, CapSet::Bounding, cap)
                .map_err(|e| Error::Invalid(format!("drop {cap} from the bounding set: {e}")))?;
        }
    }
    Ok(())
}

/// Set effective, permitted, inheritable and ambient sets (after the uid change).
///
/// A capability outside the bounding set (the runtime's own, narrowed to the config's) can
/// never be granted: it is left out with a warning instead of failing the container, so
/// "all capabilities" works on hosts that withhold some (these machines lack
/// CAP_SYS_RESOURCE).
pub fn set_caps(c: Option<&LinuxCapabilities>) -> Result<()> {
    let bounding = caps::read(None, CapSet::Bounding)
        .map_err(|e| Error::Invalid(format!("read bounding set: {e}")))?;
    let mut missing: Vec<Capability> = Vec::new();
    let mut get = |f: fn(&LinuxCapabilities) -> &Option<oci_spec::runtime::Capabilities>| {
        let want = to_caps(c.and_then(|c| f(c).as_ref()));
        for cap in want.difference(&bounding) {
            if !missing.contains(cap) {
                missing.push(*cap);
            }
        }
        want.intersection(&bounding)
            .copied()
            .collect::<HashSet<Capability>>()
    };
    let effective = get(LinuxCapabilities::effective);
    let permitted = get(LinuxCapabilities::permitted);
    let inheritable = get(LinuxCapabilities::inheritable);
    let ambient = get(LinuxCapabilities::ambient);
    if !missing.is_empty() {
        missing.sort_by_key(|c| c.index());
        let names: Vec<String> = missing.iter().map(|c| c.to_string()).collect();
        eprintln!(
            "quai-runtime: warning: not granted (outside the bounding set): {}",
            names.join(", ")
        );
    }
    let set = |which: CapSet, v: &HashSet<Capability>| {
        caps::set(None, which, v)
            .map_err(|e| Error::Invalid(format!("set {which:?} capabilities: {e}")))
    };
    // Inheritable while we still hold CAP_SETPCAP; effective before permitted (effective
    // must stay a subset of permitted at every step); ambient last.
    set(CapSet::Inheritable, &inheritable)?;
    set(CapSet::Effective, &effective)?;
    set(CapSet::Permitted, &permitted)?;
    caps::clear(None, CapSet::Ambient)
        .map_err(|e| Error::Invalid(format!("clear ambient capabilities: {e}")))?;
    for cap in ambient {
        // An ambient capability must be permitted and inheritable; skip the rest like runc.
        if permitted.contains(&cap) && inheritable.contains(&cap) {
            caps::raise(None, CapSet::Ambient, cap)
                .map_err(|e| Error::Invalid(format!("raise ambient {cap}: {e}")))?;
        }
    }
    Ok(())
}

fn action(a: LinuxSeccompAction, errno: Option<u32>) -> ScmpAction {
    match a {
        LinuxSeccompAction::ScmpActKill | LinuxSeccompAction::ScmpActKillThread => {
            ScmpAction::KillThread
        }
        LinuxSeccompAction::ScmpActKillProcess => ScmpAction::KillProcess,
        LinuxSeccompAction::ScmpActTrap => ScmpAction::Trap,
        LinuxSeccompAction::ScmpActErrno => {
            ScmpAction::Errno(errno.map_or(libc::EPERM, |e| e as i32))
        }
        LinuxSeccompAction::ScmpActNotify => ScmpAction::Notify,
        LinuxSeccompAction::ScmpActTrace => {
            ScmpAction::Trace(errno.map_or(libc::EPERM as u16, |e| e as u16))
        }
        LinuxSeccompAction::ScmpActLog => ScmpAction::Log,
        LinuxSeccompAction::ScmpActAllow => ScmpAction::Allow,
    }
}

fn op(o: LinuxSeccompOperator, mask: u64) -> ScmpCompareOp {
    match o {
        LinuxSeccompOperator::ScmpCmpNe => ScmpCompareOp::NotEqual,
        LinuxSeccompOperator::ScmpCmpLt => ScmpCompareOp::Less,
        LinuxSeccompOperator::ScmpCmpLe => ScmpCompareOp::LessOrEqual,
        LinuxSeccompOperator::ScmpCmpEq => ScmpCompareOp::Equal,
        LinuxSeccompOperator::ScmpCmpGe => ScmpCompareOp::GreaterEqual,
        LinuxSeccompOperator::ScmpCmpGt => ScmpCompareOp::Greater,
        LinuxSeccompOperator::ScmpCmpMaskedEq => ScmpCompareOp::MaskedEqual(mask),
    }
}

/// Build the filter (without loading it), so errors surface before the process starts.
pub fn build_filter(s: &LinuxSeccomp) -> Result<ScmpFilterContext> {
    let err = |what: String| {
        move |e: libseccomp::error::SeccompError| Error::Invalid(format!("seccomp: {what}: {e}"))
    };
    let default = action(s.default_action(), s.default_errno_ret());
    let mut ctx = ScmpFilterContext::new(default).map_err(err("create filter".into()))?;
    // The kernel rejects TSYNC with notify; everything else goes through libseccomp attrs.
    ctx.set_ctl_nnp(false).map_err(err("clear nnp".into()))?;
    // A binary tree of syscall numbers instead of a list: every syscall of the container
    // pays for the filter, and long profiles (Docker's, ours) cost a lot linearly (a busy
    // HTTP server in a container served half the requests per second with the list).
    // Older libseccomp without the attribute keeps the default.
    let _ = ctx.set_ctl_optimize(2);
    for a in s.architectures().iter().flatten() {
        let name = serde_json::to_value(a)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default();
        let arch = ScmpArch::from_str(&name).map_err(err(format!("architecture {name}")))?;
        ctx.add_arch(arch)
            .map_err(err(format!("add architecture {name}")))?;
    }
    for flag in s.flags().iter().flatten() {
        use oci_spec::runtime::LinuxSeccompFilterFlag as F;
        match flag {
            F::SeccompFilterFlagLog => {
                ctx.set_ctl_log(true).map_err(err("log flag".into()))?;
            }
            F::SeccompFilterFlagSpecAllow => {
                ctx.set_ctl_ssb(true)
                    .map_err(err("spec_allow flag".into()))?;
            }
            F::SeccompFilterFlagTsync | F::SeccompFilterFlagWaitKillableRecv => {}
        }
    }
    for rule in s.syscalls().iter().flatten() {
        let act = action(rule.action(), rule.errno_ret());
        if act == default {
            continue;
        }
        for name in rule.names() {
            // Unknown names are skipped (the profile may list syscalls of newer kernels).
            let Ok(sc) = ScmpSyscall::from_name(name) else {
                continue;
            };
            let args = rule.args().as_deref().unwrap_or(&[]);
            if args.is_empty() {
                ctx.add_rule(act, sc)
                    .map_err(err(format!("rule for {name}")))?;
                continue;
            }
            let cmps: Vec<ScmpArgCompare> = args
                .iter()
                .map(|a| {
                    let o = op(a.op(), a.value());
                    match a.op() {
                        LinuxSeccompOperator::ScmpCmpMaskedEq => {
                            ScmpArgCompare::new(a.index() as u32, o, a.value_two().unwrap_or(0))
                        }
                        _ => ScmpArgCompare::new(a.index() as u32, o, a.value()),
                    }
                })
                .collect();
            // libseccomp ANDs conditions of one rule, but refuses two on the same argument:
            // those become one rule each (OR), as runc does.
            let mut indices: Vec<usize> = args.iter().map(|a| a.index()).collect();
            indices.sort_unstable();
            indices.dedup();
            if indices.len() == args.len() {
                ctx.add_rule_conditional(act, sc, &cmps)
                    .map_err(err(format!("rule for {name}")))?;
            } else {
                for c in &cmps {
                    ctx.add_rule_conditional(act, sc, std::slice::from_ref(c))
                        .map_err(err(format!("rule for {name}")))?;
                }
            }
        }
    }
    Ok(ctx)
}

/// Load a built filter into the calling thread.
pub fn load(ctx: &ScmpFilterContext) -> Result<()> {
    ctx.load()
        .map_err(|e| Error::Invalid(format!("load seccomp filter: {e}")))
}

/// Whether the profile hands syscalls to a supervisor (SCMP_ACT_NOTIFY anywhere).
pub fn uses_notify(s: &LinuxSeccomp) -> bool {
    s.default_action() == LinuxSeccompAction::ScmpActNotify
        || s.syscalls()
            .iter()
            .flatten()
            .any(|r| r.action() == LinuxSeccompAction::ScmpActNotify)
}

/// Connect to the profile's `listenerPath` when it uses SCMP_ACT_NOTIFY (in the runtime,
/// before forking: the path is a host path).
pub fn connect_listener(
    s: Option<&LinuxSeccomp>,
) -> Result<Option<(std::os::unix::net::UnixStream, String)>> {
    let Some(s) = s.filter(|s| uses_notify(s)) else {
        return Ok(None);
    };
    let path = s.listener_path().as_ref().ok_or_else(|| {
        Error::Invalid("seccomp: SCMP_ACT_NOTIFY needs linux.seccomp.listenerPath".into())
    })?;
    let sock = std::os::unix::net::UnixStream::connect(path)
        .map_err(|e| Error::io("connect to seccomp listener", path, e))?;
    Ok(Some((
        sock,
        s.listener_metadata().clone().unwrap_or_default(),
    )))
}

/// What the seccomp agent receives: the runtime-spec `ContainerProcessState`.
pub struct Notify {
    /// Connected listener socket (raw fd, inherited over fork).
    pub sock: i32,
    /// `listenerMetadata`.
    pub metadata: String,
    /// The container state JSON.
    pub state: String,
    /// Host pid of the process.
    pub pid: i32,
}

/// Send the loaded filter's notify fd and the process state to the listener, then close it.
pub fn send_notify(ctx: &ScmpFilterContext, n: &Notify) -> Result<()> {
    let fd = ctx
        .get_notify_fd()
        .map_err(|e| Error::Invalid(format!("seccomp: notify fd: {e}")))?;
    let state: serde_json::Value =
        serde_json::from_str(&n.state).unwrap_or(serde_json::Value::Null);
    let msg = serde_json::json!({
        "ociVersion": crate::OCI_VERSION,
        "fds": ["seccompFd"],
        "pid": n.pid,
        "metadata": n.metadata,
        "state": state,
    })
    .to_string();
    let fds = [fd];
    let cmsg = [nix::sys::socket::ControlMessage::ScmRights(&fds)];
    let iov = [std::io::IoSlice::new(msg.as_bytes())];
    nix::sys::socket::sendmsg::<()>(
        n.sock,
        &iov,
        &cmsg,
        nix::sys::socket::MsgFlags::empty(),
        None,
    )
    .map_err(|e| Error::sys("send seccomp fd", "listener", e))?;
    // SAFETY: both fds are ours; the agent has its own copy of the notify fd now.
    unsafe {
        libc::close(n.sock);
        libc::close(fd);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds_a_profile_with_conditions() {
        let s: LinuxSeccomp = serde_json::from_str(
            r#"{"defaultAction":"SCMP_ACT_ALLOW","architectures":["SCMP_ARCH_X86_64"],
               "syscalls":[{"names":["getcwd","no_such_call"],"action":"SCMP_ACT_ERRNO","errnoRet":1},
                           {"names":["personality"],"action":"SCMP_ACT_ERRNO",
                            "args":[{"index":0,"value":8,"op":"SCMP_CMP_NE"},{"index":0,"value":0,"op":"SCMP_CMP_NE"}]},
                           {"names":["clone"],"action":"SCMP_ACT_ERRNO",
                            "args":[{"index":0,"value":2114060288,"valueTwo":0,"op":"SCMP_CMP_MASKED_EQ"}]}]}"#,
        )
        .expect("profile");
        build_filter(&s).expect("filter builds");
    }
}
