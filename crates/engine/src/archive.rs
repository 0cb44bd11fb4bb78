//! Copying files out of and into a container as tars (Docker's `GET/HEAD/PUT
//! /containers/{id}/archive`, what `cp` does). Everything in the container is opened
//! through descriptors resolved inside its root (`openat2(RESOLVE_IN_ROOT)`), directories
//! are walked by descriptor without following symlinks, and a tar is unpacked relative to
//! a resolved directory: a container cannot redirect a copy to the host's files. Tars
//! stream both ways: neither is ever whole in memory.

use std::io::{Read, Write};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use rustix::fs::{FileType, OFlags};

use crate::lifecycle::Engine;
use crate::{Error, Result};

/// What Docker's `X-Docker-Container-Path-Stat` says of a path in a container (the
/// path itself: a symlink is not followed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PathStat {
    /// The path's last element.
    pub name: String,
    /// Size in bytes.
    pub size: i64,
    /// `st_mode`: file type and permission bits.
    pub mode: u32,
    /// Modification time, nanoseconds since the epoch.
    pub mtime: i64,
    /// A symlink's target, resolved inside the container (absolute); empty otherwise.
    pub link_target: String,
}

impl PathStat {
    /// Whether the path is a directory.
    pub fn is_dir(&self) -> bool {
        FileType::from_raw_mode(self.mode) == FileType::Directory
    }
}

/// How [`Engine::archive_put`] writes into the container.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PutOptions {
    /// Refuse to replace a directory with a non-directory or the reverse.
    pub no_overwrite_dir_non_dir: bool,
    /// Give what is copied to the container's user (`-u`, when it has one) instead of
    /// the tar's owners, as dockerd does for `cp -a`.
    pub copy_uid_gid: bool,
}

/// The name Docker gives the top entry of a copy of `path`: its last element, or `.`
/// for `DIR/.` (the directory's contents).
pub fn archive_name(path: &str) -> PathBuf {
    if path == "." || path.ends_with("/.") {
        return PathBuf::from(".");
    }
    match path.trim_end_matches('/').rsplit('/').next() {
        Some(last) if !last.is_empty() => PathBuf::from(last),
        _ => PathBuf::from("."),
    }
}

/// A container's root for a copy: mounted by this call (a stopped container's, in this
/// thread's private mount namespace) and unmounted when dropped, or a running
/// container's `/proc/PID/root`.
struct CopyRoot {
    path: PathBuf,
    mounted: bool,
}

impl Drop for CopyRoot {
    fn drop(&mut self) {
        if self.mounted {
            // Detached: whatever still holds it lets go when it is done.
            let _ = nix::mount::umount2(&self.path, nix::mount::MntFlags::MNT_DETACH);
        }
    }
}

impl Engine {
    fn copy_root(&mut self, what: &str) -> Result<CopyRoot> {
        let r = self.get(what)?;
        let mounted = !r.state.status.is_up();
        let path = self.rootfs_for_copy(&r)?;
        Ok(CopyRoot { path, mounted })
    }

    /// What `path` in the container is (not following a symlink at its end).
    pub fn archive_stat(&mut self, what: &str, path: &str) -> Result<PathStat> {
        let root = self.copy_root(what)?;
        let missing = || Error::NoSuchPath {
            path: path.to_string(),
            container: what.to_string(),
        };
        let fd = crate::rootfs::open_in(&root.path, path, OFlags::PATH | OFlags::NOFOLLOW)
            .map_err(|_| missing())?;
        let st = rustix::fs::fstat(&fd).map_err(|_| missing())?;
        let link_target = if FileType::from_raw_mode(st.st_mode) == FileType::Symlink {
            resolve_link(&root.path, path)
        } else {
            String::new()
        };
        // (Go's `filepath.Base("/")`, what dockerd names the root.)
        let name = if path.trim_end_matches('/').is_empty() {
            "/".to_string()
        } else {
            archive_name(path).display().to_string()
        };
        Ok(PathStat {
            name,
            size: st.st_size,
            mode: st.st_mode,
            mtime: st
                .st_mtime
                .saturating_mul(1_000_000_000)
                .saturating_add(i64::try_from(st.st_mtime_nsec).unwrap_or(0)),
            link_target,
        })
    }

    /// Write a tar of `path` in the container to `out`, its top entry named `name`: a
    /// file, a symlink (as a link), or a directory with everything under it.
    pub fn archive_get(
        &mut self,
        what: &str,
        path: &str,
        name: &Path,
        out: impl Write,
    ) -> Result<()> {
        let root = self.copy_root(what)?;
        let root = &root.path;
        let missing = || Error::NoSuchPath {
            path: path.to_string(),
            container: what.to_string(),
        };
        let fd = crate::rootfs::open_in(root, path, OFlags::PATH | OFlags::NOFOLLOW)
            .map_err(|_| missing())?;
        let st = rustix::fs::fstat(&fd).map_err(|_| missing())?;
        let io = |e: std::io::Error| Error::io("copy out of the container", path, e);
        let mut b = tar::Builder::new(out);
        b.follow_symlinks(false);
        match FileType::from_raw_mode(st.st_mode) {
            FileType::Directory => {
                let dir = crate::rootfs::open_in(root, path, OFlags::RDONLY | OFlags::DIRECTORY)
                    .map_err(io)?;
                crate::rootfs::tar_tree(&mut b, &dir, name)?;
            }
            FileType::Symlink => {
                let target = read_link_in(root, path).map_err(io)?;
                let mut h = crate::rootfs::tar_header(&st, tar::EntryType::Symlink, 0);
                b.append_link(&mut h, name, target).map_err(io)?;
            }
            FileType::RegularFile => {
                let f = crate::rootfs::open_in(root, path, OFlags::RDONLY | OFlags::NOFOLLOW)
                    .map_err(io)?;
                // What was opened, not what was looked at: it may have been swapped.
                let st = rustix::fs::fstat(&f).map_err(|e| io(e.into()))?;
                let mut h = crate::rootfs::tar_header(
                    &st,
                    tar::EntryType::Regular,
                    u64::try_from(st.st_size).unwrap_or(0),
                );
                b.append_data(&mut h, name, std::fs::File::from(f))
                    .map_err(io)?;
            }
            // (Opening a FIFO would block; devices and sockets hold nothing to copy.)
            _ => {
                return Err(Error::Invalid(format!(
                    "{path}: not a regular file, directory or symlink"
                )))
            }
        }
        b.into_inner().and_then(|mut w| w.flush()).map_err(io)
    }

    /// Unpack the tar stream `tar` into directory `dir` of the container, owned as the
    /// tar says (or, with `copy_uid_gid`, by the container's user), as dockerd leaves it;
    /// `.wh.` names are plain names here.
    pub fn archive_put(
        &mut self,
        what: &str,
        dir: &str,
        tar: impl Read,
        opts: PutOptions,
    ) -> Result<()> {
        let user = self.get(what)?.config.user;
        let root = self.copy_root(what)?;
        let dfd = crate::rootfs::open_in(&root.path, dir, OFlags::PATH).map_err(|_| {
            Error::NoSuchPath {
                path: dir.to_string(),
                container: what.to_string(),
            }
        })?;
        let st = rustix::fs::fstat(&dfd).map_err(|e| Error::io("stat", dir, e.into()))?;
        if FileType::from_raw_mode(st.st_mode) != FileType::Directory {
            return Err(Error::Invalid("extraction point is not a directory".into()));
        }
        // dockerd keeps the tar's owners, or with `copy_uid_gid` gives everything to
        // the container's user (looked up in the container's passwd, not the host's).
        let owner = if opts.copy_uid_gid && !user.is_empty() {
            let u = crate::rootfs::resolve_user(&root.path, &user, &[])?;
            Some((u.uid, u.gid))
        } else {
            None
        };
        let unpack = image::layer::UnpackOptions {
            whiteouts: false,
            owner,
            no_overwrite_dir_non_dir: opts.no_overwrite_dir_non_dir,
        };
        // Entries are created relative to the directory, resolved inside it: a symlink in
        // the container cannot send them to the host.
        match image::layer::unpack_with(tar, &crate::rootfs::fd_path(&dfd), &unpack) {
            Ok(_) => Ok(()),
            Err(image::layer::Error::Overwrite {
                entry,
                existing_dir,
            }) => {
                let base = dir.trim_end_matches('/');
                let (at, parent) = (
                    format!("{base}/{entry}"),
                    if base.is_empty() { "/" } else { base },
                );
                Err(Error::Copy(if existing_dir {
                    format!("cannot overwrite directory {at:?} with non-directory {parent:?}")
                } else {
                    format!("cannot overwrite non-directory {at:?} with directory {parent:?}")
                }))
            }
            Err(e) => Err(e.into()),
        }
    }
}

/// A symlink's own target (`readlink`), its parent resolved inside `root`.
fn read_link_in(root: &Path, path: &str) -> std::io::Result<PathBuf> {
    let (parent, name) = split_parent(path);
    let pfd = crate::rootfs::open_in(root, parent, OFlags::PATH | OFlags::DIRECTORY)?;
    let t = rustix::fs::readlinkat(&pfd, name, Vec::new())?;
    Ok(PathBuf::from(std::ffi::OsStr::from_bytes(t.as_bytes())))
}

fn split_parent(path: &str) -> (&str, &str) {
    let p = path.trim_end_matches('/');
    match p.rsplit_once('/') {
        Some((parent, name)) => (if parent.is_empty() { "/" } else { parent }, name),
        None => (".", p),
    }
}

/// Lexical normalisation bounded at the root, as an absolute path.
fn clean_abs(p: &str) -> String {
    let mut out: Vec<&str> = Vec::new();
    for c in p.split('/') {
        match c {
            "" | "." => {}
            ".." => {
                out.pop();
            }
            c => out.push(c),
        }
    }
    format!("/{}", out.join("/"))
}

/// Where the symlink at `path` leads inside the container, followed link by link (up to
/// 40, as the kernel does) to something that is not a link: Docker's `linkTarget`.
fn resolve_link(root: &Path, path: &str) -> String {
    let mut cur = clean_abs(path);
    for _ in 0..40 {
        let Ok(t) = read_link_in(root, &cur) else {
            return cur;
        };
        let t = t.to_string_lossy().into_owned();
        cur = if t.starts_with('/') {
            clean_abs(&t)
        } else {
            let (parent, _) = split_parent(&cur);
            clean_abs(&format!("{parent}/{t}"))
        };
    }
    cur
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_as_docker_rebases_them() {
        assert_eq!(archive_name("/etc/passwd"), PathBuf::from("passwd"));
        assert_eq!(archive_name("/srv/app/"), PathBuf::from("app"));
        assert_eq!(archive_name("/srv/app/."), PathBuf::from("."));
        assert_eq!(archive_name("/"), PathBuf::from("."));
        assert_eq!(clean_abs("/a/../../b/./c"), "/b/c");
        assert_eq!(split_parent("/a/b"), ("/a", "b"));
        assert_eq!(split_parent("/a"), ("/", "a"));
    }
}
