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
    matches!(rustix::fs::lgetxattr(dir, "trusted.overlay.opaque", &mut v), Ok(1) if v[0] == b'y')
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
    }
}
