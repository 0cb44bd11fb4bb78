//! A container's changes to its image, read from its overlay upper directory: listed as
//! `docker diff` shows them, and written as an OCI layer tar (overlay whiteouts become
//! `.wh.NAME` files, opaque directories get `.wh..wh..opq`) for `commit` and the
//! builder's steps.
//!
//! The engine mounts overlays without `redirect_dir` or `metacopy` (the kernel's defaults
//! here), so the upper directory holds whole copies: a directory that carries
//! `trusted.overlay.redirect` or a file that carries `trusted.overlay.metacopy` is refused
//! rather than written as a wrong layer.
//!
//! The mount points a runtime makes for a container that the image lacks (`/proc`,
//! `/sys`, `/dev/...`, `/etc/hosts`, `/etc/hostname`, `/etc/resolv.conf`) are left out, as
//! Docker leaves them out by keeping them in a layer of their own: they are empty, and
//! they would otherwise show in every diff and every committed layer.

use std::collections::HashMap;
use std::io::Write;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};

/// Reading the upper directory or writing the layer failed.
#[derive(Debug, thiserror::Error)]
#[error("{op} {path}: {source}")]
pub struct Error {
    /// What was being done.
    pub op: &'static str,
    /// Where.
    pub path: PathBuf,
    /// Why it failed.
    #[source]
    pub source: std::io::Error,
}

/// Docker's kinds of change (its API numbers them 0, 1, 2 in this order).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangeKind {
    /// `C`: was in the image, changed.
    Modified,
    /// `A`: not in the image.
    Added,
    /// `D`: removed.
    Deleted,
}

impl ChangeKind {
    /// The letter `docker diff` prints.
    pub fn letter(self) -> char {
        match self {
            ChangeKind::Modified => 'C',
            ChangeKind::Added => 'A',
            ChangeKind::Deleted => 'D',
        }
    }
}

/// One changed path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    /// Absolute in the container (`/etc/passwd`).
    pub path: String,
    /// What happened to it.
    pub kind: ChangeKind,
}

/// Paths a runtime creates as mount points; left out when the image lacks them and they
/// are empty.
const MOUNT_POINTS: &[&str] = &[
    ".dockerenv",
    "dev",
    "dev/console",
    "dev/mqueue",
    "dev/pts",
    "dev/shm",
    "etc/hostname",
    "etc/hosts",
    "etc/mtab",
    "etc/resolv.conf",
    "proc",
    "sys",
];

/// One entry of the upper directory that belongs in the diff.
#[derive(Debug)]
struct Node {
    /// Relative to the root, no leading `/`.
    rel: PathBuf,
    /// `None` for a whiteout (a deletion).
    meta: Option<std::fs::Metadata>,
    /// The lower layers have this path.
    in_lower: bool,
    /// An opaque directory (what was below it is hidden).
    opaque: bool,
    /// The extended attributes the layer keeps.
    xattrs: Vec<(String, Vec<u8>)>,
}

fn io_err(op: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> Error {
    let path = path.to_path_buf();
    move |source| Error { op, path, source }
}

fn is_whiteout(m: &std::fs::Metadata) -> bool {
    m.file_type().is_char_device() && m.rdev() == 0
}

fn xattr(path: &Path, name: &str) -> Option<Vec<u8>> {
    let mut buf = vec![0u8; 256];
    loop {
        match rustix::fs::lgetxattr(path, name, &mut buf) {
            Ok(n) => {
                buf.truncate(n);
                return Some(buf);
            }
            Err(rustix::io::Errno::RANGE) if buf.len() < 65536 => buf.resize(buf.len() * 4, 0),
            Err(_) => return None,
        }
    }
}

/// The names of an entry's extended attributes (one `llistxattr`).
fn xattr_names(path: &Path) -> Vec<String> {
    let mut names = vec![0u8; 1024];
    let n = loop {
        match rustix::fs::llistxattr(path, &mut names) {
            Ok(n) => break n,
            Err(rustix::io::Errno::RANGE) if names.len() < 65536 => {
                names.resize(names.len() * 4, 0)
            }
            Err(_) => return Vec::new(),
        }
    };
    names[..n]
        .split(|&b| b == 0)
        .filter(|k| !k.is_empty())
        .filter_map(|k| std::str::from_utf8(k).ok())
        .map(str::to_string)
        .collect()
}

/// Of `names`, the extended attributes a layer keeps, with their values: file
/// capabilities and `user.*` (never the overlay's own `*.overlay.*`).
fn kept_xattrs(path: &Path, names: &[String]) -> Vec<(String, Vec<u8>)> {
    names
        .iter()
        .filter(|k| {
            *k == "security.capability"
                || (k.starts_with("user.") && !k.starts_with("user.overlay."))
        })
        .filter_map(|k| Some((k.clone(), xattr(path, k)?)))
        .collect()
}

/// The extended attributes a layer keeps of `path`.
fn layer_xattrs(path: &Path) -> Vec<(String, Vec<u8>)> {
    kept_xattrs(path, &xattr_names(path))
}

/// Whether the merged lower layers show `rel`: the topmost layer that has an entry for
/// it decides (a whiteout there means no).
fn in_lower(lowers: &[PathBuf], rel: &Path) -> bool {
    for l in lowers.iter().rev() {
        if let Ok(m) = std::fs::symlink_metadata(l.join(rel)) {
            return !is_whiteout(&m);
        }
    }
    false
}

fn lower_meta(lowers: &[PathBuf], rel: &Path) -> Option<std::fs::Metadata> {
    lowers
        .iter()
        .rev()
        .find_map(|l| std::fs::symlink_metadata(l.join(rel)).ok())
}

/// Walk `dir` (relative `rel`) of the upper directory; append what belongs in the diff
/// (parents before children, names sorted) and say whether anything did.
fn walk(
    upper: &Path,
    lowers: &[PathBuf],
    extra: &[PathBuf],
    rel: &Path,
    out: &mut Vec<Node>,
) -> Result<bool, Error> {
    let dir = upper.join(rel);
    let mut names: Vec<_> = std::fs::read_dir(&dir)
        .map_err(io_err("read directory", &dir))?
        .map(|e| e.map(|e| e.file_name()))
        .collect::<Result<_, _>>()
        .map_err(io_err("read directory", &dir))?;
    names.sort();
    let mut any = false;
    for name in names {
        let rel = rel.join(&name);
        let path = upper.join(&rel);
        let meta = std::fs::symlink_metadata(&path).map_err(io_err("stat", &path))?;
        if is_whiteout(&meta) {
            out.push(Node {
                rel,
                meta: None,
                in_lower: true,
                opaque: false,
                xattrs: Vec::new(),
            });
            any = true;
            continue;
        }
        if meta.file_type().is_socket() {
            continue;
        }
        let names = xattr_names(&path);
        if names
            .iter()
            .any(|n| crate::overlay::unexpressible().contains(&n.as_str()))
        {
            return Err(Error {
                op: "read overlay change",
                path,
                source: std::io::Error::other(
                    "the overlay uses redirect_dir or metacopy, which a layer cannot express",
                ),
            });
        }
        let lower = in_lower(lowers, &rel);
        let mount_point = !lower
            && (MOUNT_POINTS.iter().any(|m| Path::new(m) == rel)
                || extra.iter().any(|m| m.starts_with(&rel)));
        if meta.is_dir() {
            let key = crate::overlay::opaque();
            let opaque =
                names.iter().any(|n| n == key) && xattr(&path, key).as_deref() == Some(b"y");
            let at = out.len();
            out.push(Node {
                rel: rel.clone(),
                meta: Some(meta.clone()),
                in_lower: lower,
                opaque,
                xattrs: kept_xattrs(&path, &names),
            });
            let children = walk(upper, lowers, extra, &rel, out)?;
            // A directory that is only in the upper layer because something under it
            // changed, and nothing under it is kept, is no change of its own.
            let own_change = opaque
                || !lower
                || lower_meta(lowers, &rel).is_none_or(|l| {
                    l.mode() != meta.mode() || l.uid() != meta.uid() || l.gid() != meta.gid()
                });
            let keep = children || (own_change && !mount_point);
            if keep {
                any = true;
            } else {
                out.truncate(at);
            }
            continue;
        }
        let empty = meta.is_file() && meta.len() == 0 || meta.file_type().is_symlink();
        if mount_point && empty {
            continue;
        }
        out.push(Node {
            xattrs: kept_xattrs(&path, &names),
            rel,
            meta: Some(meta),
            in_lower: lower,
            opaque: false,
        });
        any = true;
    }
    Ok(any)
}

fn scan(upper: &Path, lowers: &[PathBuf], extra: &[PathBuf]) -> Result<Vec<Node>, Error> {
    let mut out = Vec::new();
    match std::fs::symlink_metadata(upper) {
        Ok(_) => {
            walk(upper, lowers, extra, Path::new(""), &mut out)?;
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(io_err("stat", upper)(e)),
    }
    Ok(out)
}

/// The changes in `upper` over `lowers` (bottom layer first), as `docker diff` lists
/// them: sorted by path, each changed directory itself a `C`.
pub fn changes(upper: &Path, lowers: &[PathBuf]) -> Result<Vec<Change>, Error> {
    let mut out: Vec<Change> = scan(upper, lowers, &[])?
        .into_iter()
        .map(|n| Change {
            path: format!("/{}", n.rel.display()),
            kind: match (&n.meta, n.in_lower) {
                (None, _) => ChangeKind::Deleted,
                (Some(_), true) => ChangeKind::Modified,
                (Some(_), false) => ChangeKind::Added,
            },
        })
        .collect();
    out.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(out)
}

/// Writes file system entries into a tar as layers carry them: numeric owners, file
/// capabilities and `user.*` xattrs as PAX records, hard links within the tar as links.
pub(crate) struct TarWriter<W: Write> {
    b: tar::Builder<W>,
    /// The first path written for each multiply-linked inode.
    first: HashMap<(u64, u64), PathBuf>,
}

impl<W: Write> TarWriter<W> {
    pub(crate) fn new(out: W) -> Self {
        let mut b = tar::Builder::new(out);
        b.follow_symlinks(false);
        TarWriter {
            b,
            first: HashMap::new(),
        }
    }

    /// Append `path` (described by `meta`) under the name `rel`.
    pub(crate) fn entry(
        &mut self,
        path: &Path,
        rel: &Path,
        meta: &std::fs::Metadata,
    ) -> Result<(), Error> {
        let xattrs = layer_xattrs(path);
        self.entry_with(path, rel, meta, &xattrs)
    }

    /// [`entry`](Self::entry) with its extended attributes already read.
    pub(crate) fn entry_with(
        &mut self,
        path: &Path,
        rel: &Path,
        meta: &std::fs::Metadata,
        xattrs: &[(String, Vec<u8>)],
    ) -> Result<(), Error> {
        let err = || io_err("write layer entry for", path);
        let ft = meta.file_type();
        if ft.is_socket() {
            return Ok(());
        }
        if !xattrs.is_empty() {
            let pax: Vec<(String, &[u8])> = xattrs
                .iter()
                .map(|(k, v)| (format!("SCHILY.xattr.{k}"), v.as_slice()))
                .collect();
            self.b
                .append_pax_extensions(pax.iter().map(|(k, v)| (k.as_str(), *v)))
                .map_err(err())?;
        }
        let mut h = tar::Header::new_gnu();
        h.set_metadata_in_mode(meta, tar::HeaderMode::Complete);
        // Numeric owners only: names from the host's passwd mean nothing in an image.
        let _ = h.set_username("");
        let _ = h.set_groupname("");
        if ft.is_symlink() {
            let target = std::fs::read_link(path).map_err(io_err("read link", path))?;
            return self.b.append_link(&mut h, rel, &target).map_err(err());
        }
        if ft.is_file() {
            if meta.nlink() > 1 {
                let key = (meta.dev(), meta.ino());
                if let Some(target) = self.first.get(&key) {
                    h.set_entry_type(tar::EntryType::Link);
                    h.set_size(0);
                    return self.b.append_link(&mut h, rel, target).map_err(err());
                }
                self.first.insert(key, rel.to_path_buf());
            }
            let f = std::fs::File::open(path).map_err(io_err("open", path))?;
            return self.b.append_data(&mut h, rel, f).map_err(err());
        }
        // Directories, devices and FIFOs: the header carries the type and device numbers.
        h.set_size(0);
        self.b
            .append_data(&mut h, rel, std::io::empty())
            .map_err(err())
    }

    /// An empty regular file (a whiteout marker).
    pub(crate) fn marker(&mut self, rel: &Path, at: &Path) -> Result<(), Error> {
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(tar::EntryType::Regular);
        h.set_size(0);
        h.set_mode(0o644);
        h.set_mtime(0);
        h.set_uid(0);
        h.set_gid(0);
        self.b
            .append_data(&mut h, rel, std::io::empty())
            .map_err(io_err("write layer entry for", at))
    }

    pub(crate) fn finish(self, at: &Path) -> Result<(), Error> {
        self.b.into_inner().map_err(io_err("finish layer", at))?;
        Ok(())
    }
}

/// Write the changes in `upper` as an uncompressed OCI layer tar. Returns whether the
/// layer has any entry (an empty one is what Docker marks `empty_layer`).
pub fn write_layer(upper: &Path, lowers: &[PathBuf], out: impl Write) -> Result<bool, Error> {
    write_layer_excluding(upper, lowers, &[], out)
}

/// Remove from `upper` the empty mount points [`write_layer_excluding`] leaves out (and
/// their parents that are left empty and are not in the lower layers), so the directory
/// holds what the layer holds and can serve as the layer's unpacked directory.
pub fn remove_mount_points(upper: &Path, lowers: &[PathBuf], mount_points: &[PathBuf]) {
    let mut candidates: Vec<PathBuf> = MOUNT_POINTS.iter().map(PathBuf::from).collect();
    for m in mount_points {
        candidates.extend(
            m.ancestors()
                .filter(|a| !a.as_os_str().is_empty())
                .map(Path::to_path_buf),
        );
    }
    candidates.sort();
    candidates.dedup();
    // Deepest first, so a parent is looked at after its children went.
    candidates.sort_by_key(|c| std::cmp::Reverse(c.components().count()));
    for c in candidates {
        if in_lower(lowers, &c) {
            continue;
        }
        let p = upper.join(&c);
        let Ok(m) = std::fs::symlink_metadata(&p) else {
            continue;
        };
        if m.is_dir() {
            let _ = std::fs::remove_dir(&p);
        } else if (m.is_file() && m.len() == 0) || m.file_type().is_symlink() {
            let _ = std::fs::remove_file(&p);
        }
    }
}

/// Whether [`write_layer_excluding`] would write nothing (only scans, reads no file).
pub fn nothing_changed(
    upper: &Path,
    lowers: &[PathBuf],
    mount_points: &[PathBuf],
) -> Result<bool, Error> {
    Ok(scan(upper, lowers, mount_points)?.is_empty())
}

/// [`write_layer_excluding`] as a stream: the tar is written by a thread into a pipe as
/// the returned reader is read (hashing or storing it then overlaps reading the files).
/// The thread's result says whether the layer had entries, or what failed.
pub fn layer_stream(
    upper: &Path,
    lowers: &[PathBuf],
    mount_points: &[PathBuf],
) -> Result<
    (
        std::io::PipeReader,
        std::thread::JoinHandle<Result<bool, Error>>,
    ),
    Error,
> {
    let (reader, writer) = std::io::pipe().map_err(io_err("pipe for", upper))?;
    let (up, lo, mp) = (upper.to_path_buf(), lowers.to_vec(), mount_points.to_vec());
    let producer = std::thread::spawn(move || {
        let w = std::io::BufWriter::with_capacity(256 * 1024, writer);
        write_layer_excluding(&up, &lo, &mp, w)
    });
    Ok((reader, producer))
}

/// [`write_layer`], with more mount points left out (relative paths: a build step's
/// mounts, whose targets the runtime created and which belong to no layer).
pub fn write_layer_excluding(
    upper: &Path,
    lowers: &[PathBuf],
    mount_points: &[PathBuf],
    out: impl Write,
) -> Result<bool, Error> {
    let nodes = scan(upper, lowers, mount_points)?;
    let mut w = TarWriter::new(out);
    for n in &nodes {
        let path = upper.join(&n.rel);
        let Some(meta) = &n.meta else {
            let name = n
                .rel
                .file_name()
                .map(|f| f.to_string_lossy())
                .unwrap_or_default();
            w.marker(&n.rel.with_file_name(format!(".wh.{name}")), &path)?;
            continue;
        };
        w.entry_with(&path, &n.rel, meta, &n.xattrs)?;
        if n.opaque {
            w.marker(&n.rel.join(".wh..wh..opq"), &path)?;
        }
    }
    w.finish(upper)?;
    Ok(!nodes.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn root() -> bool {
        rustix::process::geteuid().is_root()
    }

    #[test]
    fn changes_and_layer_of_an_upper_directory() {
        if !root() {
            eprintln!("SKIP: needs root (whiteout device nodes, trusted xattrs)");
            return;
        }
        let t = tempfile::tempdir().expect("tmp");
        let (lower, upper) = (t.path().join("lower"), t.path().join("upper"));
        for d in ["etc", "usr/bin", "var/old", "keep"] {
            std::fs::create_dir_all(lower.join(d)).expect("mkdir");
        }
        std::fs::write(lower.join("etc/passwd"), "root\n").expect("w");
        std::fs::write(lower.join("usr/bin/gone"), "x").expect("w");
        std::fs::write(lower.join("var/old/a"), "x").expect("w");
        // The container: edits /etc/passwd, adds /etc/new and a hard link to it, deletes
        // /usr/bin/gone, replaces /var/old with an empty directory, adds its runtime
        // mount points, and touches /keep (copied up, unchanged).
        for d in ["etc", "usr/bin", "var/old", "proc", "dev/pts", "keep"] {
            std::fs::create_dir_all(upper.join(d)).expect("mkdir");
        }
        std::fs::write(upper.join("etc/passwd"), "root\nme\n").expect("w");
        std::fs::write(upper.join("etc/new"), "new").expect("w");
        std::fs::hard_link(upper.join("etc/new"), upper.join("etc/new2")).expect("ln");
        std::fs::write(upper.join("etc/hosts"), "").expect("w");
        std::os::unix::fs::symlink("new", upper.join("etc/link")).expect("symlink");
        rustix::fs::mknodat(
            rustix::fs::CWD,
            upper.join("usr/bin/gone"),
            rustix::fs::FileType::CharacterDevice,
            rustix::fs::Mode::empty(),
            0,
        )
        .expect("whiteout");
        rustix::fs::lsetxattr(
            upper.join("var/old"),
            "trusted.overlay.opaque",
            b"y",
            rustix::fs::XattrFlags::empty(),
        )
        .expect("opaque");
        let lowers = vec![lower.clone()];
        let got: Vec<String> = changes(&upper, &lowers)
            .expect("changes")
            .iter()
            .map(|c| format!("{} {}", c.kind.letter(), c.path))
            .collect();
        assert_eq!(
            got,
            [
                "C /etc",
                "A /etc/link",
                "A /etc/new",
                "A /etc/new2",
                "C /etc/passwd",
                "C /usr",
                "C /usr/bin",
                "D /usr/bin/gone",
                "C /var",
                "C /var/old",
            ]
        );
        let mut tar_bytes = Vec::new();
        assert!(write_layer(&upper, &lowers, &mut tar_bytes).expect("layer"));
        let mut a = tar::Archive::new(tar_bytes.as_slice());
        let entries: Vec<(String, tar::EntryType)> = a
            .entries()
            .expect("entries")
            .map(|e| {
                let e = e.expect("entry");
                (
                    e.path().expect("path").display().to_string(),
                    e.header().entry_type(),
                )
            })
            .collect();
        let names: Vec<&str> = entries.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(
            names,
            [
                "etc",
                "etc/link",
                "etc/new",
                "etc/new2",
                "etc/passwd",
                "usr",
                "usr/bin",
                "usr/bin/.wh.gone",
                "var",
                "var/old",
                "var/old/.wh..wh..opq",
            ]
        );
        assert_eq!(entries[1].1, tar::EntryType::Symlink);
        assert_eq!(entries[3].1, tar::EntryType::Link);
        // Nothing changed: no layer.
        let empty = t.path().join("empty");
        std::fs::create_dir_all(empty.join("proc")).expect("mkdir");
        assert!(changes(&empty, &lowers).expect("changes").is_empty());
        assert!(!write_layer(&empty, &lowers, std::io::sink()).expect("layer"));
        assert!(changes(&t.path().join("missing"), &lowers)
            .expect("changes")
            .is_empty());
    }
}
