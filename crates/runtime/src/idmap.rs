//! Idmapped mounts (OCI `idmap`/`ridmap` mount options, Linux >= 5.12): a bind mount
//! whose files show other owners, so a container in a user namespace of its own sees its
//! volumes' files as they are on disk (root's as its root's). Only the host's root may
//! idmap a mount of a host filesystem, and a container's init has left that namespace:
//! the runtime makes each mount detached before forking (`open_tree` + `mount_setattr`
//! with a user namespace that has the mapping) and the init moves it into place
//! (`move_mount`), as runc does.

use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::path::{Path, PathBuf};

use oci_spec::runtime::{LinuxIdMapping, Mount, Spec};

use crate::error::{Error, Result};

/// A uid and a gid mapping.
type Maps = (Vec<LinuxIdMapping>, Vec<LinuxIdMapping>);

/// The mapping a mount is idmapped with: its own, else the container's.
fn mappings(spec: &Spec, m: &Mount) -> Maps {
    let linux = spec.linux().as_ref();
    let own_u = m.uid_mappings().clone().unwrap_or_default();
    let own_g = m.gid_mappings().clone().unwrap_or_default();
    let u = if own_u.is_empty() {
        linux
            .and_then(|l| l.uid_mappings().clone())
            .unwrap_or_default()
    } else {
        own_u
    };
    let g = if own_g.is_empty() {
        linux
            .and_then(|l| l.gid_mappings().clone())
            .unwrap_or_default()
    } else {
        own_g
    };
    (u, g)
}

/// Whether mount `m` asks to be idmapped, and recursively.
pub fn wanted(m: &Mount) -> Option<bool> {
    let opts = m.options().as_deref().unwrap_or(&[]);
    if opts.iter().any(|o| o == "ridmap") {
        Some(true)
    } else if opts.iter().any(|o| o == "idmap")
        || m.uid_mappings().as_ref().is_some_and(|v| !v.is_empty())
    {
        Some(opts.iter().any(|o| o == "rbind"))
    } else {
        None
    }
}

/// A user namespace with these maps, as an fd (a child that made it exits at once).
pub fn userns_fd(uid: &[LinuxIdMapping], gid: &[LinuxIdMapping]) -> Result<OwnedFd> {
    let (r, w) = nix::unistd::pipe().map_err(|e| Error::sys("pipe", "idmap", e))?;
    // SAFETY: the child only calls async-signal-safe functions (unshare, read, _exit).
    match unsafe { nix::unistd::fork() }.map_err(|e| Error::sys("fork", "idmap", e))? {
        nix::unistd::ForkResult::Child => {
            drop(w);
            // SAFETY: unshare, read and _exit are async-signal-safe.
            unsafe {
                if libc::unshare(libc::CLONE_NEWUSER) != 0 {
                    libc::_exit(1);
                }
                let mut b = [0u8; 1];
                libc::read(r.as_raw_fd(), b.as_mut_ptr().cast(), 1);
                libc::_exit(0);
            }
        }
        nix::unistd::ForkResult::Parent { child } => {
            drop(r);
            let pid = child.as_raw();
            let res = (|| -> Result<OwnedFd> {
                // Wait until the child stands in its own namespace.
                let me = std::fs::metadata("/proc/self/ns/user")
                    .map_err(|e| Error::io("stat", "/proc/self/ns/user", e))?;
                let path = format!("/proc/{pid}/ns/user");
                let end = std::time::Instant::now() + std::time::Duration::from_secs(5);
                loop {
                    use std::os::unix::fs::MetadataExt;
                    match std::fs::metadata(&path) {
                        Ok(m) if m.ino() != me.ino() => break,
                        Ok(_) if std::time::Instant::now() < end => {
                            std::thread::sleep(std::time::Duration::from_micros(100))
                        }
                        _ => {
                            return Err(Error::Invalid(
                                "idmap: the helper made no user namespace".into(),
                            ))
                        }
                    }
                }
                crate::namespaces::write_maps(pid, uid, gid)?;
                let f = std::fs::File::open(&path).map_err(|e| Error::io("open", &path, e))?;
                Ok(f.into())
            })();
            drop(w);
            let _ = nix::sys::wait::waitpid(child, None);
            res
        }
    }
}

/// A detached, idmapped copy of the mount at `src` (with what is mounted below it when
/// `recursive`).
pub fn clone_mapped(src: &Path, userns: &OwnedFd, recursive: bool) -> Result<OwnedFd> {
    use std::os::unix::ffi::OsStrExt;
    let c = std::ffi::CString::new(src.as_os_str().as_bytes())
        .map_err(|_| Error::Invalid(format!("idmap: bad path {}", src.display())))?;
    let mut flags = (libc::OPEN_TREE_CLONE | libc::OPEN_TREE_CLOEXEC) as libc::c_uint;
    if recursive {
        flags |= libc::AT_RECURSIVE as libc::c_uint;
    }
    // SAFETY: open_tree with a valid C path; returns a new fd we then own.
    let fd = unsafe { libc::syscall(libc::SYS_open_tree, libc::AT_FDCWD, c.as_ptr(), flags) };
    if fd < 0 {
        return Err(Error::sys(
            "open_tree",
            src.display(),
            nix::errno::Errno::last(),
        ));
    }
    // SAFETY: the syscall returned a fresh fd that nothing else owns.
    let fd = unsafe { OwnedFd::from_raw_fd(fd as i32) };
    let attr = libc::mount_attr {
        attr_set: libc::MOUNT_ATTR_IDMAP,
        attr_clr: 0,
        propagation: 0,
        userns_fd: userns.as_raw_fd() as u64,
    };
    let mut at = libc::AT_EMPTY_PATH as libc::c_uint;
    if recursive {
        at |= libc::AT_RECURSIVE as libc::c_uint;
    }
    // SAFETY: mount_setattr on our detached mount fd, with a correctly sized attr struct.
    let r = unsafe {
        libc::syscall(
            libc::SYS_mount_setattr,
            fd.as_raw_fd(),
            c"".as_ptr(),
            at,
            &attr as *const libc::mount_attr,
            std::mem::size_of::<libc::mount_attr>(),
        )
    };
    if r != 0 {
        let e = nix::errno::Errno::last();
        return Err(Error::Invalid(format!(
            "idmap {}: {e} (idmapped mounts need Linux 5.12+, a filesystem that supports them, and the host's root)",
            src.display()
        )));
    }
    Ok(fd)
}

/// Move a detached mount onto `target` (an `O_PATH` fd's `/proc/self/fd/N` path).
pub fn attach(fd: &OwnedFd, target: &str) -> Result<()> {
    let t = std::ffi::CString::new(target).map_err(|_| Error::Invalid("path".into()))?;
    // SAFETY: move_mount from our detached mount fd to a valid C path.
    let r = unsafe {
        libc::syscall(
            libc::SYS_move_mount,
            fd.as_raw_fd(),
            c"".as_ptr(),
            libc::AT_FDCWD,
            t.as_ptr(),
            libc::MOVE_MOUNT_F_EMPTY_PATH as libc::c_uint,
        )
    };
    if r != 0 {
        return Err(Error::sys(
            "move_mount to",
            target,
            nix::errno::Errno::last(),
        ));
    }
    Ok(())
}

/// The idmapped mounts of `spec`, made now and attached under `staging` (in this
/// process's mount namespace, which the container's copies): (index among the mounts,
/// the path to bind instead of the source). A bind of an idmapped mount keeps its
/// idmapping. The user namespaces are made once per distinct mapping. Undo with
/// [`release`] once the container has its mounts.
pub fn prepare(spec: &Spec, bundle: &Path, staging: &Path) -> Result<Vec<(usize, PathBuf)>> {
    let mut out = Vec::new();
    let mut namespaces: Vec<(Maps, OwnedFd)> = Vec::new();
    let r = (|| -> Result<()> {
        for (i, m) in spec.mounts().iter().flatten().enumerate() {
            let Some(recursive) = wanted(m) else { continue };
            let maps = mappings(spec, m);
            let ns = match namespaces.iter().position(|(k, _)| *k == maps) {
                Some(p) => p,
                None => {
                    let fd = userns_fd(&maps.0, &maps.1)?;
                    namespaces.push((maps, fd));
                    namespaces.len() - 1
                }
            };
            let src = m.source().clone().unwrap_or_default();
            let src = if src.is_relative() {
                bundle.join(src)
            } else {
                src
            };
            let fd = clone_mapped(&src, &namespaces[ns].1, recursive)?;
            let at = staging.join(i.to_string());
            let is_dir = std::fs::metadata(&src)
                .map_err(|e| Error::io("stat bind source", &src, e))?
                .is_dir();
            std::fs::create_dir_all(staging).map_err(|e| Error::io("create", staging, e))?;
            if is_dir {
                std::fs::create_dir(&at).map_err(|e| Error::io("create", &at, e))?;
            } else {
                std::fs::File::create(&at).map_err(|e| Error::io("create", &at, e))?;
            }
            attach(&fd, &at.display().to_string())?;
            out.push((i, at));
        }
        Ok(())
    })();
    match r {
        Ok(()) => Ok(out),
        Err(e) => {
            release(&out, staging);
            Err(e)
        }
    }
}

/// Detach the staged idmapped mounts and remove their directory.
pub fn release(staged: &[(usize, PathBuf)], staging: &Path) {
    for (_, p) in staged {
        let _ = nix::mount::umount2(p, nix::mount::MntFlags::MNT_DETACH);
    }
    let _ = std::fs::remove_dir_all(staging);
}
