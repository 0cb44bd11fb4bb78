//! Namespaces: which to create, which to join, in which order.

use std::os::fd::{AsFd, OwnedFd};
use std::path::Path;

use nix::sched::CloneFlags;
use oci_spec::runtime::{LinuxNamespaceType, Spec};

use crate::error::{Error, Result, SysContext};

/// The clone flag of a namespace type.
pub fn flag(t: LinuxNamespaceType) -> CloneFlags {
    match t {
        LinuxNamespaceType::Mount => CloneFlags::CLONE_NEWNS,
        LinuxNamespaceType::Cgroup => CloneFlags::CLONE_NEWCGROUP,
        LinuxNamespaceType::Uts => CloneFlags::CLONE_NEWUTS,
        LinuxNamespaceType::Ipc => CloneFlags::CLONE_NEWIPC,
        LinuxNamespaceType::User => CloneFlags::CLONE_NEWUSER,
        LinuxNamespaceType::Pid => CloneFlags::CLONE_NEWPID,
        LinuxNamespaceType::Network => CloneFlags::CLONE_NEWNET,
        LinuxNamespaceType::Time => CloneFlags::from_bits_retain(libc::CLONE_NEWTIME),
    }
}

/// `/proc/PID/ns/` name of a namespace type.
pub fn proc_name(t: LinuxNamespaceType) -> &'static str {
    match t {
        LinuxNamespaceType::Mount => "mnt",
        LinuxNamespaceType::Cgroup => "cgroup",
        LinuxNamespaceType::Uts => "uts",
        LinuxNamespaceType::Ipc => "ipc",
        LinuxNamespaceType::User => "user",
        LinuxNamespaceType::Pid => "pid",
        LinuxNamespaceType::Network => "net",
        LinuxNamespaceType::Time => "time",
    }
}

/// Join order: user first (it grants the capabilities for the rest), mount last (paths
/// opened before it stay valid).
pub const ORDER: [LinuxNamespaceType; 8] = [
    LinuxNamespaceType::User,
    LinuxNamespaceType::Ipc,
    LinuxNamespaceType::Uts,
    LinuxNamespaceType::Network,
    LinuxNamespaceType::Pid,
    LinuxNamespaceType::Cgroup,
    LinuxNamespaceType::Time,
    LinuxNamespaceType::Mount,
];

/// A namespace to join: its type and an open fd.
pub struct Join {
    /// Namespace type.
    pub typ: LinuxNamespaceType,
    /// Open namespace file.
    pub fd: OwnedFd,
}

/// Open the namespace files the spec names (in the runtime, before forking).
pub fn open_spec_paths(spec: &Spec) -> Result<Vec<Join>> {
    let mut v = Vec::new();
    for t in ORDER {
        if let Some(ns) = crate::spec::namespace(spec, t) {
            if let Some(p) = ns.path() {
                v.push(Join {
                    typ: t,
                    fd: open_ns(p)?,
                });
            }
        }
    }
    Ok(v)
}

fn open_ns(p: &Path) -> Result<OwnedFd> {
    nix::fcntl::open(
        p,
        nix::fcntl::OFlag::O_RDONLY | nix::fcntl::OFlag::O_CLOEXEC,
        nix::sys::stat::Mode::empty(),
    )
    .sys("open namespace", p.display())
}

/// Open the namespaces of process `pid` that differ from ours (for `exec`).
pub fn open_of_pid(pid: i32) -> Result<Vec<Join>> {
    let mut v = Vec::new();
    for t in ORDER {
        let theirs = format!("/proc/{pid}/ns/{}", proc_name(t));
        let ours = format!("/proc/self/ns/{}", proc_name(t));
        let (Ok(a), Ok(b)) = (std::fs::metadata(&theirs), std::fs::metadata(&ours)) else {
            continue;
        };
        use std::os::unix::fs::MetadataExt;
        if a.ino() != b.ino() || a.dev() != b.dev() {
            v.push(Join {
                typ: t,
                fd: open_ns(Path::new(&theirs))?,
            });
        }
    }
    Ok(v)
}

/// setns into each, in order.
pub fn join(joins: &[Join]) -> Result<()> {
    for j in joins {
        nix::sched::setns(j.fd.as_fd(), flag(j.typ))
            .map_err(|e| Error::sys("join namespace", proc_name(j.typ), e))?;
    }
    Ok(())
}

/// Flags of the namespaces the spec asks to create (those without a path).
pub fn new_flags(spec: &Spec) -> CloneFlags {
    let mut f = CloneFlags::empty();
    for ns in spec
        .linux()
        .as_ref()
        .and_then(|l| l.namespaces().as_ref())
        .into_iter()
        .flatten()
    {
        if ns.path().is_none() {
            f |= flag(ns.typ());
        }
    }
    f
}

/// Write `/proc/PID/{uid,gid}_map` for a child that created a user namespace.
pub fn write_id_maps(pid: i32, spec: &Spec) -> Result<()> {
    let Some(linux) = spec.linux() else {
        return Ok(());
    };
    write_maps(
        pid,
        linux.uid_mappings().as_deref().unwrap_or_default(),
        linux.gid_mappings().as_deref().unwrap_or_default(),
    )
}

/// Write these maps of process `pid` (an empty one is left unwritten).
pub(crate) fn write_maps(
    pid: i32,
    uid: &[oci_spec::runtime::LinuxIdMapping],
    gid: &[oci_spec::runtime::LinuxIdMapping],
) -> Result<()> {
    let fmt = |m: &[oci_spec::runtime::LinuxIdMapping]| {
        m.iter()
            .map(|m| format!("{} {} {}\n", m.container_id(), m.host_id(), m.size()))
            .collect::<String>()
    };
    for (file, body) in [("uid_map", fmt(uid)), ("gid_map", fmt(gid))] {
        if body.is_empty() {
            continue;
        }
        let p = format!("/proc/{pid}/{file}");
        std::fs::write(&p, body.as_bytes()).map_err(|e| Error::io("write", p, e))?;
    }
    Ok(())
}
