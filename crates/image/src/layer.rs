//! Unpacking a layer (tar, gzip or zstd) into a directory, for use as an overlay lower dir.
//!
//! Every entry is created relative to a directory fd found with
//! `openat2(RESOLVE_IN_ROOT)`, and the last component is never followed: a layer cannot
//! create or change anything outside the layer directory, whatever its names (`..`,
//! absolute paths), symlinks or hardlinks say. Names with `..` are refused; absolute names
//! and symlinked parents are resolved inside the layer (neutralised) and reported.
//! OCI whiteouts become overlay whiteouts: `.wh.NAME` a 0/0 character device, `.wh..wh..opq`
//! the `trusted.overlay.opaque=y` xattr on its directory.

use std::ffi::{CString, OsStr};
use std::io::{BufRead, BufReader, Read};
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Component, Path, PathBuf};

use rustix::fs::{AtFlags, Mode, OFlags, ResolveFlags};

/// Result alias.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Unpacking errors: each names the entry.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The archive itself is unreadable.
    #[error("layer: {0}")]
    Archive(#[source] std::io::Error),
    /// An entry tries to leave the layer directory.
    #[error("layer entry {entry:?}: {reason}")]
    Escape { entry: String, reason: &'static str },
    /// An entry would replace a directory with a non-directory (`existing_dir`) or the
    /// reverse, which was refused.
    #[error("layer entry {entry:?}: would replace a {} with a {}",
        if *existing_dir { "directory" } else { "non-directory" },
        if *existing_dir { "non-directory" } else { "directory" })]
    Overwrite { entry: String, existing_dir: bool },
    /// Creating an entry failed.
    #[error("layer entry {entry:?}: {op}: {source}")]
    Entry {
        entry: String,
        op: &'static str,
        #[source]
        source: std::io::Error,
    },
}

/// What unpacking did, for the user.
#[derive(Debug, Default, Clone)]
pub struct Report {
    /// Entries created.
    pub entries: u64,
    /// Bytes of file content written.
    pub bytes: u64,
    /// Entries that were neutralised or skipped, with the reason.
    pub warnings: Vec<String>,
}

/// Compression of a layer blob, from its first bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    /// Plain tar.
    None,
    /// gzip (possibly several members).
    Gzip,
    /// zstd.
    Zstd,
    /// bzip2 (possibly several streams).
    Bzip2,
    /// xz.
    Xz,
}

/// Detect the compression from the magic bytes.
pub fn detect(head: &[u8]) -> Compression {
    if head.starts_with(&[0x1f, 0x8b]) {
        Compression::Gzip
    } else if head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
        Compression::Zstd
    } else if head.starts_with(b"BZh") {
        Compression::Bzip2
    } else if head.starts_with(&[0xfd, b'7', b'z', b'X', b'Z', 0x00]) {
        Compression::Xz
    } else {
        Compression::None
    }
}

/// A reader of the uncompressed tar inside a (possibly compressed) stream: gzip, zstd,
/// bzip2, xz or none (what Docker's `DecompressStream` reads).
pub fn decompress<'a, R: Read + 'a>(reader: R) -> Result<Box<dyn Read + 'a>> {
    let mut br = BufReader::with_capacity(256 * 1024, reader);
    let head = br.fill_buf().map_err(Error::Archive)?.to_vec();
    Ok(match detect(&head) {
        Compression::Gzip => Box::new(flate2::bufread::MultiGzDecoder::new(br)),
        Compression::Zstd => {
            Box::new(zstd::stream::read::Decoder::with_buffer(br).map_err(Error::Archive)?)
        }
        Compression::Bzip2 => Box::new(bzip2::bufread::MultiBzDecoder::new(br)),
        Compression::Xz => {
            // lzma-rs decompresses from a whole input into a writer: the (compressed)
            // input is read first, a thread feeds the pipe the tar is read from; a
            // corrupt stream ends it early and the tar reader sees a short archive.
            let (r, mut w) = std::io::pipe().map_err(Error::Archive)?;
            let mut all = Vec::new();
            br.read_to_end(&mut all).map_err(Error::Archive)?;
            std::thread::spawn(move || {
                let _ = lzma_rs::xz_decompress(&mut all.as_slice(), &mut w);
            });
            Box::new(r)
        }
        Compression::None => Box::new(br),
    })
}

/// How [`unpack_with`] treats what the tar holds and what `dest` holds already.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UnpackOptions {
    /// `.wh.` entries are whiteouts (a layer); otherwise they are ordinary names (a copy
    /// into a container, as Docker's `cp` unpacks).
    pub whiteouts: bool,
    /// Every entry owned by this uid and gid instead of the tar's (Docker's `cp`, which
    /// gives what it copies to the container's root or user).
    pub owner: Option<(u32, u32)>,
    /// Refuse to replace a directory with a non-directory or the reverse (Docker's
    /// `noOverwriteDirNonDir`), instead of replacing it as a layer does.
    pub no_overwrite_dir_non_dir: bool,
}

impl UnpackOptions {
    /// A layer: whiteouts, the tar's owners, existing entries replaced.
    pub const LAYER: UnpackOptions = UnpackOptions {
        whiteouts: true,
        owner: None,
        no_overwrite_dir_non_dir: false,
    };
}

impl Default for UnpackOptions {
    fn default() -> Self {
        UnpackOptions::LAYER
    }
}

/// Unpack a (possibly compressed) layer stream into `dest` (which must exist).
pub fn unpack<'a, R: Read + 'a>(reader: R, dest: &Path) -> Result<Report> {
    unpack_with(reader, dest, &UnpackOptions::LAYER)
}

/// Unpack a (possibly compressed) tar stream into `dest` (which must exist) as `opts`
/// say.
pub fn unpack_with<'a, R: Read + 'a>(
    reader: R,
    dest: &Path,
    opts: &UnpackOptions,
) -> Result<Report> {
    unpack_tar(decompress(reader)?, dest, opts)
}

fn entry_err<'a>(entry: &'a str, op: &'static str) -> impl FnOnce(rustix::io::Errno) -> Error + 'a {
    move |e| Error::Entry {
        entry: entry.to_string(),
        op,
        source: std::io::Error::from_raw_os_error(e.raw_os_error()),
    }
}

/// The entry's path inside the layer, or why it is refused. Leading `/` and `./` are
/// dropped (and reported by the caller when the name was absolute).
fn clean(name: &Path) -> std::result::Result<PathBuf, &'static str> {
    let mut out = PathBuf::new();
    for c in name.components() {
        match c {
            Component::Normal(n) => out.push(n),
            Component::CurDir | Component::RootDir => {}
            Component::ParentDir => return Err("refused: the name contains `..`"),
            Component::Prefix(_) => return Err("refused: not a Unix path"),
        }
    }
    Ok(out)
}

struct Ctx {
    root: OwnedFd,
    dir_times: Vec<(PathBuf, i64)>,
}

/// Lexical normalisation bounded at the root: `..` never climbs above it.
fn inside_root(p: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            Component::Normal(n) => out.push(n),
            Component::ParentDir => {
                out.pop();
            }
            _ => {}
        }
    }
    out
}

impl Ctx {
    /// An fd of the directory `rel` (resolved inside the root), creating missing parents.
    fn dir(&self, rel: &Path, entry: &str) -> Result<OwnedFd> {
        self.dir_depth(rel, entry, 0)
    }

    fn dir_depth(&self, rel: &Path, entry: &str, depth: u32) -> Result<OwnedFd> {
        if depth > 40 {
            return Err(entry_err(entry, "resolve parent directory")(
                rustix::io::Errno::LOOP,
            ));
        }
        let resolve = ResolveFlags::IN_ROOT | ResolveFlags::NO_MAGICLINKS;
        let open = |p: &Path| {
            let p = if p.as_os_str().is_empty() {
                Path::new(".")
            } else {
                p
            };
            rustix::fs::openat2(
                &self.root,
                p,
                OFlags::DIRECTORY | OFlags::RDONLY | OFlags::CLOEXEC,
                Mode::empty(),
                resolve,
            )
        };
        match open(rel) {
            Ok(fd) => Ok(fd),
            Err(rustix::io::Errno::NOENT) => {
                let parent = rel.parent().unwrap_or(Path::new(""));
                let name = rel.file_name().unwrap_or_default();
                let pfd = self.dir_depth(parent, entry, depth + 1)?;
                // A dangling symlink in the way: create its target, inside the root.
                if let Ok(t) = rustix::fs::readlinkat(&pfd, name, Vec::new()) {
                    let t = PathBuf::from(OsStr::from_bytes(t.as_bytes()));
                    let inner = if t.is_absolute() {
                        inside_root(&t)
                    } else {
                        inside_root(&parent.join(t))
                    };
                    return self.dir_depth(&inner, entry, depth + 1);
                }
                match rustix::fs::mkdirat(&pfd, name, Mode::from_raw_mode(0o755)) {
                    Ok(()) | Err(rustix::io::Errno::EXIST) => {}
                    Err(e) => return Err(entry_err(entry, "create parent directory")(e)),
                }
                open(rel).map_err(entry_err(entry, "open parent directory"))
            }
            Err(e) => Err(entry_err(entry, "open parent directory")(e)),
        }
    }
}

fn remove_existing(pdir: &OwnedFd, name: &OsStr, keep_dir: bool) {
    match rustix::fs::statat(pdir, name, AtFlags::SYMLINK_NOFOLLOW) {
        Ok(st)
            if rustix::fs::FileType::from_raw_mode(st.st_mode)
                == rustix::fs::FileType::Directory =>
        {
            if !keep_dir {
                let _ = remove_tree_at(pdir, name);
            }
        }
        Ok(_) => {
            let _ = rustix::fs::unlinkat(pdir, name, AtFlags::empty());
        }
        Err(_) => {}
    }
}

fn remove_tree_at(pdir: &OwnedFd, name: &OsStr) -> rustix::io::Result<()> {
    let fd = rustix::fs::openat(
        pdir,
        name,
        OFlags::DIRECTORY | OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
        Mode::empty(),
    )?;
    let mut dir = rustix::fs::Dir::read_from(&fd)?;
    let mut names = Vec::new();
    while let Some(e) = dir.read() {
        let e = e?;
        let n = e.file_name().to_bytes();
        if n != b"." && n != b".." {
            names.push(OsStr::from_bytes(n).to_os_string());
        }
    }
    for n in names {
        remove_existing(&fd, &n, false);
    }
    rustix::fs::unlinkat(pdir, name, AtFlags::REMOVEDIR)
}

fn set_xattr(fd: &OwnedFd, name: &str, value: &[u8]) -> std::io::Result<()> {
    let n = CString::new(name).map_err(|_| std::io::Error::from_raw_os_error(libc::EINVAL))?;
    // SAFETY: fsetxattr reads the name and value buffers we pass with their lengths.
    let r = unsafe {
        libc::fsetxattr(
            fd.as_raw_fd(),
            n.as_ptr(),
            value.as_ptr().cast(),
            value.len(),
            0,
        )
    };
    if r == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

/// Set access and modification time (best effort: a layer's times are not worth failing).
fn set_mtime(fd: &OwnedFd, mtime: i64) {
    let t = rustix::fs::Timespec {
        tv_sec: mtime,
        tv_nsec: 0,
    };
    let _ = rustix::fs::futimens(
        fd,
        &rustix::fs::Timestamps {
            last_access: t,
            last_modification: t,
        },
    );
}

fn set_xattrs(fd: &OwnedFd, xattrs: &[(String, Vec<u8>)], entry: &str) -> Result<()> {
    for (k, v) in xattrs {
        match set_xattr(fd, k, v) {
            // Rootless: `trusted.*` and the like are the host root's alone.
            Err(e)
                if crate::overlay::rootless()
                    && matches!(e.raw_os_error(), Some(libc::EPERM | libc::EINVAL))
                    && !k.starts_with("user.") => {}
            r => r.map_err(|source| Error::Entry {
                entry: entry.to_string(),
                op: "set xattr",
                source,
            })?,
        }
    }
    Ok(())
}

/// Whether `name` in `pdir` is a directory (`None` when there is nothing there).
fn existing_is_dir(pdir: &OwnedFd, name: &OsStr) -> Option<bool> {
    rustix::fs::statat(pdir, name, AtFlags::SYMLINK_NOFOLLOW)
        .ok()
        .map(|st| {
            rustix::fs::FileType::from_raw_mode(st.st_mode) == rustix::fs::FileType::Directory
        })
}

fn unpack_tar<R: Read>(r: R, dest: &Path, opts: &UnpackOptions) -> Result<Report> {
    let root = rustix::fs::open(
        dest,
        OFlags::DIRECTORY | OFlags::RDONLY | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .map_err(|e| Error::Entry {
        entry: dest.display().to_string(),
        op: "open layer directory",
        source: e.into(),
    })?;
    let mut ctx = Ctx {
        root,
        dir_times: Vec::new(),
    };
    let mut report = Report::default();
    let mut ar = tar::Archive::new(r);
    for entry in ar.entries().map_err(Error::Archive)? {
        let mut entry = entry.map_err(Error::Archive)?;
        let raw = entry.path().map_err(Error::Archive)?.into_owned();
        let shown = raw.display().to_string();
        let rel = clean(&raw).map_err(|reason| Error::Escape {
            entry: shown.clone(),
            reason,
        })?;
        if raw.is_absolute() {
            report
                .warnings
                .push(format!("{shown}: absolute name taken inside the layer"));
        }
        if rel.as_os_str().is_empty() {
            continue; // "./" itself
        }
        let name = rel.file_name().unwrap_or_default().to_os_string();
        let parent = rel.parent().unwrap_or(Path::new("")).to_path_buf();
        let pdir = ctx.dir(&parent, &shown)?;
        let name_b = name.as_bytes();
        // Whiteouts.
        if opts.whiteouts && name_b == b".wh..wh..opq" {
            set_xattr(&pdir, crate::overlay::opaque(), b"y").map_err(|source| Error::Entry {
                entry: shown.clone(),
                op: "mark opaque",
                source,
            })?;
            report.entries += 1;
            continue;
        }
        if let Some(hidden) = name_b.strip_prefix(b".wh.").filter(|_| opts.whiteouts) {
            let hidden = OsStr::from_bytes(hidden);
            remove_existing(&pdir, hidden, false);
            rustix::fs::mknodat(
                &pdir,
                hidden,
                rustix::fs::FileType::CharacterDevice,
                Mode::empty(),
                rustix::fs::makedev(0, 0),
            )
            .map_err(entry_err(&shown, "create whiteout"))?;
            report.entries += 1;
            continue;
        }
        let h = entry.header().clone();
        let mode = Mode::from_raw_mode(h.mode().map_err(Error::Archive)? & 0o7777);
        let (uid, gid) = match opts.owner {
            Some(o) => o,
            None => (
                h.uid().map_err(Error::Archive)? as u32,
                h.gid().map_err(Error::Archive)? as u32,
            ),
        };
        let mtime = h.mtime().unwrap_or(0) as i64;
        let xattrs: Vec<(String, Vec<u8>)> = match entry.pax_extensions() {
            Ok(Some(exts)) => exts
                .flatten()
                .filter_map(|e| {
                    Some((
                        e.key().ok()?.strip_prefix("SCHILY.xattr.")?.to_string(),
                        e.value_bytes().to_vec(),
                    ))
                })
                // The overlay's own markers come from whiteouts, never from a layer's
                // attributes (a forged redirect or opaque mark would change what the
                // merged tree shows).
                .filter(|(k, _)| {
                    !k.starts_with("trusted.overlay.") && !k.starts_with("user.overlay.")
                })
                .collect(),
            _ => Vec::new(),
        };
        let kind = h.entry_type();
        let is_dir = kind.is_dir();
        if opts.no_overwrite_dir_non_dir {
            match existing_is_dir(&pdir, &name) {
                Some(existing_dir) if existing_dir != is_dir => {
                    return Err(Error::Overwrite {
                        entry: rel.display().to_string(),
                        existing_dir,
                    })
                }
                _ => {}
            }
        }
        remove_existing(&pdir, &name, is_dir);
        let owner = |fd_or_name: Option<&OwnedFd>| -> Result<()> {
            let r = match fd_or_name {
                Some(fd) => rustix::fs::fchown(
                    fd,
                    Some(rustix::fs::Uid::from_raw(uid)),
                    Some(rustix::fs::Gid::from_raw(gid)),
                ),
                None => rustix::fs::chownat(
                    &pdir,
                    &name,
                    Some(rustix::fs::Uid::from_raw(uid)),
                    Some(rustix::fs::Gid::from_raw(gid)),
                    AtFlags::SYMLINK_NOFOLLOW,
                ),
            };
            match r {
                // Rootless with a single-id map: other owners do not exist here; the
                // file stays the user's (as podman's ignore_chown_errors).
                Err(rustix::io::Errno::INVAL) if crate::overlay::rootless() => Ok(()),
                r => r.map_err(entry_err(&shown, "chown")),
            }
        };
        match kind {
            tar::EntryType::Directory => {
                match rustix::fs::mkdirat(&pdir, &name, mode) {
                    Ok(()) | Err(rustix::io::Errno::EXIST) => {}
                    Err(e) => return Err(entry_err(&shown, "mkdir")(e)),
                }
                let fd = rustix::fs::openat(
                    &pdir,
                    &name,
                    OFlags::DIRECTORY | OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
                    Mode::empty(),
                )
                .map_err(entry_err(&shown, "open directory"))?;
                owner(Some(&fd))?;
                rustix::fs::fchmod(&fd, mode).map_err(entry_err(&shown, "chmod"))?;
                set_xattrs(&fd, &xattrs, &shown)?;
                ctx.dir_times.push((rel.clone(), mtime));
            }
            tar::EntryType::Regular | tar::EntryType::Continuous => {
                let fd = rustix::fs::openat(
                    &pdir,
                    &name,
                    OFlags::CREATE
                        | OFlags::EXCL
                        | OFlags::WRONLY
                        | OFlags::NOFOLLOW
                        | OFlags::CLOEXEC,
                    Mode::from_raw_mode(0o600),
                )
                .map_err(entry_err(&shown, "create"))?;
                let mut f = std::fs::File::from(fd);
                let n = std::io::copy(&mut entry, &mut f).map_err(|source| Error::Entry {
                    entry: shown.clone(),
                    op: "write",
                    source,
                })?;
                report.bytes += n;
                let fd = OwnedFd::from(f);
                owner(Some(&fd))?;
                // chown clears setuid bits: chmod after it.
                rustix::fs::fchmod(&fd, mode).map_err(entry_err(&shown, "chmod"))?;
                set_xattrs(&fd, &xattrs, &shown)?;
                set_mtime(&fd, mtime);
            }
            tar::EntryType::Symlink => {
                let target = entry
                    .link_name()
                    .map_err(Error::Archive)?
                    .unwrap_or_default()
                    .into_owned();
                // The target is stored as given: it is only ever followed inside the
                // container's root (or by this code, with RESOLVE_IN_ROOT).
                rustix::fs::symlinkat(target.as_os_str(), &pdir, &name)
                    .map_err(entry_err(&shown, "symlink"))?;
                owner(None)?;
            }
            tar::EntryType::Link => {
                let target = entry
                    .link_name()
                    .map_err(Error::Archive)?
                    .unwrap_or_default()
                    .into_owned();
                let trel = clean(&target).map_err(|reason| Error::Escape {
                    entry: shown.clone(),
                    reason,
                })?;
                let tparent = ctx.dir(trel.parent().unwrap_or(Path::new("")), &shown)?;
                let tname = trel.file_name().unwrap_or_default();
                // linkat without AT_SYMLINK_FOLLOW links the entry itself, never what a
                // symlink at that name points to.
                rustix::fs::linkat(&tparent, tname, &pdir, &name, AtFlags::empty())
                    .map_err(entry_err(&shown, "hardlink"))?;
            }
            tar::EntryType::Char | tar::EntryType::Block | tar::EntryType::Fifo => {
                let ft = match kind {
                    tar::EntryType::Char => rustix::fs::FileType::CharacterDevice,
                    tar::EntryType::Block => rustix::fs::FileType::BlockDevice,
                    _ => rustix::fs::FileType::Fifo,
                };
                let dev = rustix::fs::makedev(
                    h.device_major().ok().flatten().unwrap_or(0),
                    h.device_minor().ok().flatten().unwrap_or(0),
                );
                match rustix::fs::mknodat(&pdir, &name, ft, mode, dev) {
                    // Rootless: device nodes are the host root's to make (the runtime
                    // binds the container's devices anyway); skipped, as podman does.
                    Err(rustix::io::Errno::PERM) if crate::overlay::rootless() => {
                        report
                            .warnings
                            .push(format!("{shown}: device node skipped (rootless)"));
                        continue;
                    }
                    r => r.map_err(entry_err(&shown, "mknod"))?,
                }
                owner(None)?;
            }
            tar::EntryType::XGlobalHeader
            | tar::EntryType::XHeader
            | tar::EntryType::GNULongName
            | tar::EntryType::GNULongLink => continue,
            other => {
                report
                    .warnings
                    .push(format!("{shown}: entry type {other:?} skipped"));
                continue;
            }
        }
        report.entries += 1;
    }
    // Directory times last: creating entries inside them changed their mtime.
    for (rel, mtime) in std::mem::take(&mut ctx.dir_times) {
        if let Ok(fd) = ctx.dir(&rel, "") {
            set_mtime(&fd, mtime);
        }
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::{MetadataExt, PermissionsExt};

    /// A tar with raw names (the tar crate's builder refuses `..`, which we need to test).
    fn raw_tar(entries: &[(&str, tar::EntryType, &[u8], &str)]) -> Vec<u8> {
        let mut b = tar::Builder::new(Vec::new());
        for (name, kind, data, link) in entries {
            let mut h = tar::Header::new_gnu();
            {
                let old = h.as_old_mut();
                old.name[..name.len()].copy_from_slice(name.as_bytes());
                old.linkname[..link.len()].copy_from_slice(link.as_bytes());
            }
            h.set_entry_type(*kind);
            h.set_size(data.len() as u64);
            h.set_mode(if kind.is_dir() { 0o755 } else { 0o644 });
            h.set_uid(0);
            h.set_gid(0);
            h.set_mtime(1_700_000_000);
            h.set_cksum();
            b.append(&h, *data).expect("append");
        }
        b.into_inner().expect("tar")
    }

    fn is_root() -> bool {
        rustix::process::geteuid().is_root()
    }

    #[test]
    fn unpacks_files_links_modes_and_whiteouts() {
        if !is_root() {
            eprintln!("SKIP: needs root (chown, mknod, trusted xattrs)");
            return;
        }
        let tmp = tempfile::tempdir().expect("tmp");
        let dest = tmp.path().join("layer");
        std::fs::create_dir(&dest).expect("mkdir");
        let t = raw_tar(&[
            ("etc/", tar::EntryType::Directory, b"", ""),
            ("etc/hostname", tar::EntryType::Regular, b"box\n", ""),
            ("etc/alias", tar::EntryType::Link, b"", "etc/hostname"),
            ("bin/sh", tar::EntryType::Symlink, b"", "/bin/busybox"),
            ("gone/.wh..wh..opq", tar::EntryType::Regular, b"", ""),
            ("etc/.wh.old", tar::EntryType::Regular, b"", ""),
        ]);
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        std::io::Write::write_all(&mut gz, &t).expect("gz");
        let r = unpack(&gz.finish().expect("gz")[..], &dest).expect("unpack");
        assert_eq!(r.entries, 6);
        assert_eq!(
            std::fs::read_to_string(dest.join("etc/hostname")).expect("read"),
            "box\n"
        );
        let (a, b) = (
            std::fs::metadata(dest.join("etc/hostname")).expect("m"),
            std::fs::metadata(dest.join("etc/alias")).expect("m"),
        );
        assert_eq!(a.ino(), b.ino(), "hardlink");
        assert_eq!(
            std::fs::read_link(dest.join("bin/sh")).expect("link"),
            Path::new("/bin/busybox")
        );
        let wh = std::fs::symlink_metadata(dest.join("etc/old")).expect("whiteout");
        assert_eq!(wh.rdev(), 0);
        assert!(std::os::unix::fs::FileTypeExt::is_char_device(
            &wh.file_type()
        ));
        assert_eq!(a.permissions().mode() & 0o777, 0o644);
        let mut v = [0u8; 4];
        let path = std::ffi::CString::new(dest.join("gone").as_os_str().as_bytes()).expect("cstr");
        let key = std::ffi::CString::new("trusted.overlay.opaque").expect("cstr");
        // SAFETY: getxattr writes at most v.len() bytes into v.
        let n =
            unsafe { libc::getxattr(path.as_ptr(), key.as_ptr(), v.as_mut_ptr().cast(), v.len()) };
        assert_eq!(&v[..n.max(0) as usize], b"y", "opaque directory");
        assert_eq!(a.mtime(), 1_700_000_000);
    }

    #[test]
    fn hostile_layers_cannot_escape() {
        if !is_root() {
            eprintln!("SKIP: needs root");
            return;
        }
        let tmp = tempfile::tempdir().expect("tmp");
        let outside = tmp.path().join("outside");
        std::fs::create_dir(&outside).expect("mkdir");
        let fresh = |n: &str| {
            let d = tmp.path().join(n);
            std::fs::create_dir(&d).expect("mkdir");
            d
        };
        // `..` in a name: refused.
        let e = unpack(
            &raw_tar(&[("../outside/x", tar::EntryType::Regular, b"pwn", "")])[..],
            &fresh("l1"),
        )
        .expect_err("refused");
        assert!(e.to_string().contains("`..`"), "{e}");
        // An absolute name: taken inside the layer, and reported.
        let l2 = fresh("l2");
        let abs = format!("{}/abs", outside.display());
        let r = unpack(
            &raw_tar(&[(abs.as_str(), tar::EntryType::Regular, b"pwn", "")])[..],
            &l2,
        )
        .expect("neutralised");
        assert!(!outside.join("abs").exists());
        assert!(l2
            .join(outside.strip_prefix("/").expect("abs"))
            .join("abs")
            .exists());
        assert_eq!(r.warnings.len(), 1);
        // A symlinked parent pointing out: followed inside the layer only.
        let l3 = fresh("l3");
        let target = outside.display().to_string();
        unpack(
            &raw_tar(&[
                ("evil", tar::EntryType::Symlink, b"", target.as_str()),
                ("evil/x", tar::EntryType::Regular, b"pwn", ""),
            ])[..],
            &l3,
        )
        .expect("neutralised");
        assert!(
            !outside.join("x").exists(),
            "wrote through a symlinked parent"
        );
        // A symlink then a file of the same name: the file replaces the link, not its target.
        let l4 = fresh("l4");
        std::fs::write(outside.join("victim"), "safe").expect("write");
        let victim = outside.join("victim").display().to_string();
        unpack(
            &raw_tar(&[
                ("f", tar::EntryType::Symlink, b"", victim.as_str()),
                ("f", tar::EntryType::Regular, b"pwn", ""),
            ])[..],
            &l4,
        )
        .expect("unpack");
        assert_eq!(
            std::fs::read_to_string(outside.join("victim")).expect("read"),
            "safe"
        );
        // A hardlink to a file outside the layer: resolved inside, where it does not exist.
        let l5 = fresh("l5");
        let e = unpack(
            &raw_tar(&[("h", tar::EntryType::Link, b"", victim.as_str())])[..],
            &l5,
        )
        .expect_err("no such file inside");
        assert!(e.to_string().contains("hardlink"), "{e}");
        let e = unpack(
            &raw_tar(&[("h", tar::EntryType::Link, b"", "../outside/victim")])[..],
            &l5,
        )
        .expect_err("refused");
        assert!(e.to_string().contains("`..`"), "{e}");
        assert_eq!(
            std::fs::metadata(outside.join("victim"))
                .expect("m")
                .nlink(),
            1
        );
    }

    #[test]
    fn detects_compression() {
        assert_eq!(detect(&[0x1f, 0x8b, 8]), Compression::Gzip);
        assert_eq!(detect(&[0x28, 0xb5, 0x2f, 0xfd]), Compression::Zstd);
        assert_eq!(detect(b"usr/"), Compression::None);
    }

    #[test]
    fn zstd_layers_unpack() {
        let tmp = tempfile::tempdir().expect("tmp");
        let t = raw_tar(&[("a.txt", tar::EntryType::Regular, b"zstd!", "")]);
        let z = zstd::encode_all(&t[..], 3).expect("zstd");
        if !is_root() {
            return;
        }
        unpack(&z[..], tmp.path()).expect("unpack");
        assert_eq!(
            std::fs::read_to_string(tmp.path().join("a.txt")).expect("read"),
            "zstd!"
        );
    }
}
