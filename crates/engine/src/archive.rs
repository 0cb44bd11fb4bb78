//! Copying files out of and into a container as tars (Docker's `GET/PUT
//! /containers/{id}/archive`, what `cp` does). Everything in the container is opened
//! through descriptors resolved inside its root (`openat2(RESOLVE_IN_ROOT)`), directories
//! are walked by descriptor without following symlinks, and a tar is unpacked relative to
//! a resolved directory: a container cannot redirect a copy to the host's files.

use std::path::Path;

use rustix::fs::OFlags;

use crate::lifecycle::Engine;
use crate::{Error, Result};

impl Engine {
    /// Whether `path` in the container is a directory (false when it does not exist).
    pub fn archive_is_dir(&mut self, what: &str, path: &str) -> Result<bool> {
        let r = self.get(what)?;
        let root = self.rootfs_for_copy(&r)?;
        Ok(crate::rootfs::open_in(&root, path, OFlags::RDONLY | OFlags::DIRECTORY).is_ok())
    }

    /// A tar of `path` in the container, its top entry named `name` (a file, or a
    /// directory with everything under it; symlinks as links).
    pub fn archive_get(&mut self, what: &str, path: &str, name: &Path) -> Result<Vec<u8>> {
        let r = self.get(what)?;
        let root = self.rootfs_for_copy(&r)?;
        let missing =
            |e: std::io::Error| Error::io("Could not find the file in the container at", path, e);
        let fd = crate::rootfs::open_in(&root, path, OFlags::PATH).map_err(missing)?;
        let st = rustix::fs::fstat(&fd).map_err(|e| missing(e.into()))?;
        let io = |e: std::io::Error| Error::io("copy out of the container", path, e);
        let mut b = tar::Builder::new(Vec::new());
        b.follow_symlinks(false);
        if rustix::fs::FileType::from_raw_mode(st.st_mode) == rustix::fs::FileType::Directory {
            let dir = crate::rootfs::open_in(&root, path, OFlags::RDONLY | OFlags::DIRECTORY)
                .map_err(io)?;
            crate::rootfs::tar_tree(&mut b, &dir, name)?;
        } else {
            let f = crate::rootfs::open_in(&root, path, OFlags::RDONLY).map_err(io)?;
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
        b.into_inner().map_err(io)
    }

    /// Unpack `tar` into directory `dir` of the container.
    pub fn archive_put(&mut self, what: &str, dir: &str, tar: &[u8]) -> Result<()> {
        let r = self.get(what)?;
        let root = self.rootfs_for_copy(&r)?;
        let dfd = crate::rootfs::open_in(&root, dir, OFlags::RDONLY | OFlags::DIRECTORY)
            .map_err(|e| Error::io("Could not find the directory in the container at", dir, e))?;
        // Entries are created relative to the directory, resolved inside it: a symlink in
        // the container cannot send them to the host.
        image::layer::unpack(tar, &crate::rootfs::fd_path(&dfd))?;
        Ok(())
    }
}
