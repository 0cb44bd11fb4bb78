//! A stack of layer directories read as the one file system an overlay mount shows,
//! without mounting it: for `export` (of a running container too: its upper directory is
//! only read) and for a build's `--output type=local|tar`.
//!
//! The rules are overlayfs's (Documentation/filesystems/overlayfs.rst): the topmost
//! layer that has a name wins; a whiteout (a 0/0 character device) hides the name in the
//! layers below; a directory merges with the directories of the same name below it
//! unless it is opaque (`trusted.overlay.opaque=y`); anything else hides what is below.

use std::collections::{BTreeMap, HashSet};
use std::ffi::OsString;
use std::io::Write;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};

use crate::diff::{Error, TarWriter};

fn opaque(dir: &Path) -> bool {
    let mut v = [0u8; 8];
    matches!(rustix::fs::lgetxattr(dir, crate::overlay::opaque(), &mut v), Ok(1) if v[0] == b'y')
}

fn is_whiteout(m: &std::fs::Metadata) -> bool {
    m.file_type().is_char_device() && m.rdev() == 0
}

/// Write the merged directory `rel` of `layers` (top first, each one where `rel` is a
/// directory that shows through), then everything under it.
fn walk<W: Write>(layers: &[PathBuf], rel: &Path, w: &mut TarWriter<W>) -> Result<(), Error> {
    // name -> (index of the layer it comes from, its metadata)
    let mut names: BTreeMap<OsString, (usize, std::fs::Metadata)> = BTreeMap::new();
    let mut hidden: HashSet<OsString> = HashSet::new();
    for (i, layer) in layers.iter().enumerate() {
        let dir = layer.join(rel);
        let rd = match std::fs::read_dir(&dir) {
            Ok(rd) => rd,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(source) => {
                return Err(Error {
                    op: "read directory",
                    path: dir,
                    source,
                })
            }
        };
        for e in rd {
            let e = e.map_err(|source| Error {
                op: "read directory",
                path: dir.clone(),
                source,
            })?;
            let name = e.file_name();
            if names.contains_key(&name) || hidden.contains(&name) {
                continue;
            }
            let p = e.path();
            let m = std::fs::symlink_metadata(&p).map_err(|source| Error {
                op: "stat",
                path: p.clone(),
                source,
            })?;
            if is_whiteout(&m) {
                hidden.insert(name);
            } else {
                names.insert(name, (i, m));
            }
        }
        if opaque(&dir) {
            break;
        }
    }
    for (name, (i, meta)) in names {
        let child = rel.join(&name);
        let path = layers[i].join(&child);
        w.entry(&path, &child, &meta)?;
        if !meta.is_dir() {
            continue;
        }
        // The directories of the same name below it that show through.
        let mut below = vec![layers[i].clone()];
        if !opaque(&path) {
            for l in &layers[i + 1..] {
                match std::fs::symlink_metadata(l.join(&child)) {
                    Ok(m) if m.is_dir() => {
                        below.push(l.clone());
                        if opaque(&l.join(&child)) {
                            break;
                        }
                    }
                    Ok(_) => break,
                    Err(_) => {}
                }
            }
        }
        walk(&below, &child, w)?;
    }
    Ok(())
}

/// Write the file system that `layers` (top first) make as one tar (no whiteouts in it).
pub fn write_flat(layers: &[PathBuf], out: impl Write) -> Result<(), Error> {
    let mut w = TarWriter::new(out);
    walk(layers, Path::new(""), &mut w)?;
    w.finish(layers.first().map_or(Path::new("/"), PathBuf::as_path))
}

/// An entry of a [`Tree`]: where its bytes are and what it is.
#[derive(Debug, Clone)]
pub struct Found {
    /// The entry in the layer directory that provides it.
    pub path: PathBuf,
    /// Its metadata (not followed).
    pub meta: std::fs::Metadata,
}

/// A stack of layer directories looked at as one tree, without mounting: what a build
/// step's COPY reads from another stage and resolves its destination in.
#[derive(Debug, Clone, Default)]
pub struct Tree {
    /// Top layer first.
    layers: Vec<PathBuf>,
}

/// Symlinks followed while resolving one path, at most (Linux's `MAXSYMLINKS`).
const MAX_LINKS: usize = 40;

impl Tree {
    /// The tree of `layers`, top layer first.
    pub fn new(layers: Vec<PathBuf>) -> Tree {
        Tree { layers }
    }

    /// Its layer directories, top first.
    pub fn layers(&self) -> &[PathBuf] {
        &self.layers
    }

    /// Whether an ancestor of `rel` in `layer` hides it and the layers below (a whiteout
    /// or a non-directory), or makes the layers below invisible (an opaque directory).
    fn ancestors(layer: &Path, rel: &Path) -> (bool, bool) {
        let mut opaque_seen = false;
        let mut a = rel.parent();
        while let Some(p) = a.filter(|p| !p.as_os_str().is_empty()) {
            let full = layer.join(p);
            if let Ok(m) = std::fs::symlink_metadata(&full) {
                if !m.is_dir() {
                    return (true, true);
                }
                if opaque(&full) {
                    opaque_seen = true;
                }
            }
            a = p.parent();
        }
        (false, opaque_seen)
    }

    /// The entry at `rel` (relative, no `..`), symlinks not followed.
    pub fn lookup(&self, rel: &Path) -> Option<Found> {
        if rel.as_os_str().is_empty() {
            let top = self.layers.first()?;
            let meta = std::fs::symlink_metadata(top).ok()?;
            return Some(Found {
                path: top.clone(),
                meta,
            });
        }
        for l in &self.layers {
            let p = l.join(rel);
            if let Ok(meta) = std::fs::symlink_metadata(&p) {
                return (!is_whiteout(&meta)).then_some(Found { path: p, meta });
            }
            let (hidden, stop) = Tree::ancestors(l, rel);
            if hidden || stop {
                return None;
            }
        }
        None
    }

    /// The names in directory `rel` with their entries, sorted (empty when it is not a
    /// directory).
    pub fn read_dir(&self, rel: &Path) -> Vec<(OsString, Found)> {
        let mut names: BTreeMap<OsString, Option<Found>> = BTreeMap::new();
        for l in &self.layers {
            let dir = l.join(rel);
            let m = std::fs::symlink_metadata(&dir);
            match &m {
                Ok(m) if m.is_dir() => {
                    if let Ok(rd) = std::fs::read_dir(&dir) {
                        for e in rd.flatten() {
                            let name = e.file_name();
                            if names.contains_key(&name) {
                                continue;
                            }
                            let path = e.path();
                            let found = std::fs::symlink_metadata(&path)
                                .ok()
                                .filter(|m| !is_whiteout(m))
                                .map(|meta| Found { path, meta });
                            names.insert(name, found);
                        }
                    }
                    if opaque(&dir) {
                        break;
                    }
                }
                Ok(_) => break,
                Err(_) => {}
            }
            let (hidden, stop) = Tree::ancestors(l, rel);
            if hidden || stop {
                break;
            }
        }
        names
            .into_iter()
            .filter_map(|(n, f)| Some((n, f?)))
            .collect()
    }

    /// Resolve `path` inside the tree as the kernel would inside a root it cannot leave
    /// (`RESOLVE_IN_ROOT`): `..` stops at the root, absolute symlinks start again at it.
    /// The last component is followed only with `follow_last`. Returns the path relative
    /// to the root (its last component may not exist).
    pub fn resolve(&self, path: &str, follow_last: bool) -> Result<PathBuf, Error> {
        let mut todo: Vec<String> = path
            .split('/')
            .filter(|c| !c.is_empty() && *c != ".")
            .map(str::to_string)
            .rev()
            .collect();
        let mut out = PathBuf::new();
        let mut links = 0;
        while let Some(c) = todo.pop() {
            if c == ".." {
                out.pop();
                continue;
            }
            let next = out.join(&c);
            let last = todo.is_empty();
            match self.lookup(&next) {
                Some(f) if f.meta.file_type().is_symlink() && (!last || follow_last) => {
                    links += 1;
                    if links > MAX_LINKS {
                        return Err(Error {
                            op: "resolve",
                            path: PathBuf::from(path),
                            source: std::io::Error::from_raw_os_error(libc::ELOOP),
                        });
                    }
                    let target = std::fs::read_link(&f.path).map_err(|source| Error {
                        op: "read link",
                        path: f.path.clone(),
                        source,
                    })?;
                    let t = target.to_string_lossy().into_owned();
                    if t.starts_with('/') {
                        out = PathBuf::new();
                    }
                    todo.extend(
                        t.split('/')
                            .filter(|c| !c.is_empty() && *c != ".")
                            .map(str::to_string)
                            .rev(),
                    );
                }
                _ => out = next,
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layers_merge_as_overlayfs_merges_them() {
        if !rustix::process::geteuid().is_root() {
            eprintln!("SKIP: needs root (whiteout device nodes, trusted xattrs)");
            return;
        }
        let t = tempfile::tempdir().expect("tmp");
        let (top, mid, bottom) = (
            t.path().join("top"),
            t.path().join("mid"),
            t.path().join("bot"),
        );
        for (l, dirs) in [
            (&bottom, &["a", "b/deep", "c", "d"][..]),
            (&mid, &["a", "b", "c"][..]),
            (&top, &["a"][..]),
        ] {
            for d in dirs {
                std::fs::create_dir_all(l.join(d)).expect("mkdir");
            }
        }
        std::fs::write(bottom.join("a/1"), "bottom").expect("w");
        std::fs::write(bottom.join("a/2"), "bottom").expect("w");
        std::fs::write(bottom.join("b/deep/x"), "x").expect("w");
        std::fs::write(bottom.join("c/old"), "x").expect("w");
        std::fs::write(bottom.join("d/f"), "x").expect("w");
        std::fs::write(mid.join("a/1"), "mid").expect("w");
        std::fs::write(mid.join("c/new"), "x").expect("w");
        // mid: /c is opaque (its lower content is gone), /d is deleted.
        rustix::fs::lsetxattr(
            mid.join("c"),
            "trusted.overlay.opaque",
            b"y",
            rustix::fs::XattrFlags::empty(),
        )
        .expect("opaque");
        let wh = |p: PathBuf| {
            rustix::fs::mknodat(
                rustix::fs::CWD,
                &p,
                rustix::fs::FileType::CharacterDevice,
                rustix::fs::Mode::empty(),
                0,
            )
            .expect("whiteout")
        };
        wh(mid.join("d"));
        // top: /a/2 deleted, /b replaced by a file.
        wh(top.join("a/2"));
        std::fs::write(top.join("b"), "file").expect("w");
        let mut bytes = Vec::new();
        write_flat(&[top, mid, bottom], &mut bytes).expect("flat");
        let mut a = tar::Archive::new(bytes.as_slice());
        let mut got = Vec::new();
        for e in a.entries().expect("entries") {
            let mut e = e.expect("entry");
            let mut s = String::new();
            std::io::Read::read_to_string(&mut e, &mut s).expect("read");
            got.push(format!("{}={s}", e.path().expect("path").display()));
        }
        assert_eq!(got, ["a=", "a/1=mid", "b=file", "c=", "c/new=x"]);
        // The same rules for lookups, listings and resolution.
        let tree = Tree::new(vec![
            t.path().join("top"),
            t.path().join("mid"),
            t.path().join("bot"),
        ]);
        let names = |p: &str| -> Vec<String> {
            tree.read_dir(Path::new(p))
                .into_iter()
                .map(|(n, _)| n.to_string_lossy().into_owned())
                .collect()
        };
        assert_eq!(names(""), ["a", "b", "c"]);
        assert_eq!(names("a"), ["1"]);
        assert_eq!(names("c"), ["new"]);
        assert!(tree.lookup(Path::new("a/2")).is_none());
        assert!(tree.lookup(Path::new("b/deep/x")).is_none());
        assert!(tree.lookup(Path::new("c/old")).is_none());
        assert!(tree.lookup(Path::new("d/f")).is_none());
        let one = tree.lookup(Path::new("a/1")).expect("a/1");
        assert_eq!(std::fs::read_to_string(one.path).expect("read"), "mid");
        std::os::unix::fs::symlink("../../a", t.path().join("top/link")).expect("ln");
        std::os::unix::fs::symlink("/c/new", t.path().join("top/abs")).expect("ln");
        assert_eq!(tree.resolve("/link/1", false).expect("r"), Path::new("a/1"));
        assert_eq!(tree.resolve("link", false).expect("r"), Path::new("link"));
        assert_eq!(tree.resolve("abs", true).expect("r"), Path::new("c/new"));
        assert_eq!(
            tree.resolve("/../../etc", true).expect("r"),
            Path::new("etc")
        );
        std::os::unix::fs::symlink("loop", t.path().join("top/loop")).expect("ln");
        assert!(tree.resolve("loop/x", true).is_err());
    }
}
