//! Protection of the runtime binary against being overwritten from inside a container
//! through `/proc/<pid>/exe` (CVE-2019-5736 class).
//!
//! Before a verb that enters a container (create, run, exec), quai re-executes itself from
//! a detached, read-only bind mount of its own binary (`open_tree` + `mount_setattr`, the
//! light-weight scheme runc 1.2 also uses). Every process that later sits in the
//! container's namespaces then has an exe whose mount is read-only and reachable from no
//! mount namespace, so a write through `/proc/<pid>/exe` fails with EROFS. Processes are
//! also made non-dumpable until they exec, which hides `/proc/<pid>/exe` from the container.
//!
//! This is the one mechanism for every path that enters a container: the library's
//! `create` and `exec` refuse to run ([`require_protected`]) in a process that skipped
//! [`ensure_protected`], so a new caller cannot forget it.

/// Set before the re-exec: the binary's path as the caller saw it (after the re-exec,
/// `/proc/self/exe` names the detached mount, which no mount namespace can reach).
const HOST_PATH_ENV: &str = "QUAI_HOST_EXE";

use std::ffi::CString;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;

use crate::error::{Error, Result};

/// Whether our executable sits on a read-only mount already.
pub fn is_protected() -> bool {
    nix::sys::statvfs::statvfs("/proc/self/exe")
        .is_ok_and(|s| s.flags().contains(nix::sys::statvfs::FsFlags::ST_RDONLY))
}

/// Refuse to go on unless this process runs from a read-only binary; then make it
/// non-dumpable, so its `/proc/<pid>/exe` and memory stay hidden from the container.
pub fn require_protected(op: &'static str) -> Result<()> {
    if !is_protected() {
        return Err(Error::Unprotected { op });
    }
    // SAFETY: prctl(PR_SET_DUMPABLE, 0) only changes a flag of this process.
    unsafe { libc::prctl(libc::PR_SET_DUMPABLE, 0, 0, 0, 0) };
    Ok(())
}

/// The path of our binary in the host's mount namespace (for bind-mounting it, e.g. as a
/// container's init), also after the re-exec from the detached mount.
pub fn host_path() -> std::io::Result<std::path::PathBuf> {
    match std::env::var_os(HOST_PATH_ENV) {
        Some(p) if is_protected() => Ok(p.into()),
        _ => std::fs::read_link("/proc/self/exe"),
    }
}

/// Re-exec from a read-only detached mount unless already protected. Returns only when
/// protected already, or with an error.
pub fn ensure_protected() -> Result<()> {
    if is_protected() {
        // SAFETY: prctl(PR_SET_DUMPABLE, 0) only changes a flag of this process.
        unsafe { libc::prctl(libc::PR_SET_DUMPABLE, 0, 0, 0, 0) };
        return Ok(());
    }
    let clone = |path: &CString| {
        // SAFETY: open_tree with a valid C path; returns a new fd we then own.
        unsafe {
            libc::syscall(
                libc::SYS_open_tree,
                libc::AT_FDCWD,
                path.as_ptr(),
                (libc::OPEN_TREE_CLONE | libc::OPEN_TREE_CLOEXEC) as libc::c_uint,
            )
        }
    };
    let path = CString::new("/proc/self/exe").map_err(|_| Error::Invalid("path".into()))?;
    let mut fd = clone(&path);
    if fd < 0 && nix::errno::Errno::last() == nix::errno::Errno::EINVAL {
        // The binary's mount is not in our mount namespace (a rootless command joined
        // the pause process's): the same path names its copy there.
        let named = std::fs::read_link("/proc/self/exe")
            .map_err(|e| Error::Io {
                op: "readlink",
                path: "/proc/self/exe".into(),
                source: e,
            })
            .and_then(|p| {
                CString::new(p.as_os_str().as_bytes()).map_err(|_| Error::Invalid("path".into()))
            })?;
        fd = clone(&named);
    }
    if fd < 0 {
        return Err(Error::sys(
            "open_tree",
            "/proc/self/exe",
            nix::errno::Errno::last(),
        ));
    }
    // SAFETY: the syscall returned a fresh fd that nothing else owns.
    let fd = unsafe { OwnedFd::from_raw_fd(fd as i32) };
    let attr = libc::mount_attr {
        attr_set: libc::MOUNT_ATTR_RDONLY | libc::MOUNT_ATTR_NOSUID | libc::MOUNT_ATTR_NODEV,
        attr_clr: 0,
        propagation: 0,
        userns_fd: 0,
    };
    let empty = CString::new("").map_err(|_| Error::Invalid("path".into()))?;
    // SAFETY: mount_setattr on our detached mount fd, with a correctly sized attr struct.
    let r = unsafe {
        libc::syscall(
            libc::SYS_mount_setattr,
            fd.as_raw_fd(),
            empty.as_ptr(),
            libc::AT_EMPTY_PATH as libc::c_uint,
            &attr as *const libc::mount_attr,
            std::mem::size_of::<libc::mount_attr>(),
        )
    };
    if r != 0 {
        return Err(Error::sys(
            "mount_setattr",
            "/proc/self/exe",
            nix::errno::Errno::last(),
        ));
    }
    let args: Vec<CString> = std::env::args_os()
        .filter_map(|a| CString::new(a.as_bytes()).ok())
        .collect();
    let host = std::fs::read_link("/proc/self/exe")
        .ok()
        .map(|p| (std::ffi::OsString::from(HOST_PATH_ENV), p.into_os_string()));
    let env: Vec<CString> = std::env::vars_os()
        .filter(|(k, _)| k != HOST_PATH_ENV)
        .chain(host)
        .filter_map(|(k, v)| {
            let mut b = k.as_bytes().to_vec();
            b.push(b'=');
            b.extend_from_slice(v.as_bytes());
            CString::new(b).ok()
        })
        .collect();
    let e = nix::unistd::execveat(
        &fd,
        empty.as_c_str(),
        &args,
        &env,
        nix::fcntl::AtFlags::AT_EMPTY_PATH,
    )
    .err()
    .unwrap_or(nix::errno::Errno::EINVAL);
    Err(Error::sys("re-exec", "protected runtime binary", e))
}
