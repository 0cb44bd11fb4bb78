//! COPY and ADD as a layer tar made straight from the sources, without a container: the
//! destination is resolved inside the image's file system (its symlinks followed, never
//! out of it), missing parents are created, existing ones keep their metadata, owners
//! and modes follow `--chown` and `--chmod`. ADD unpacks local tar archives (plain,
//! gzip, zstd) into the destination; their entries cannot leave it.

use std::collections::HashSet;
use std::io::{Read, Write};
use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};
use std::path::{Component, Path, PathBuf};

use image::flatten::Tree;

use crate::context::Source;
use crate::Error;

/// What to copy where.
pub struct CopyJob<'a> {
    /// The selected sources, in the order given.
    pub sources: Vec<Source>,
    /// More than one source was named (or a wildcard was used).
    pub many: bool,
    /// The destination, absolute (WORKDIR applied), as written (a trailing `/` means a
    /// directory).
    pub dest: String,
    /// `--chown` as uid and gid; `None` keeps the sources' owners (`root_owner` says
    /// whether those are replaced by 0:0, as for the build context).
    pub owner: Option<(u32, u32)>,
    /// Context files belong to root unless `--chown` says otherwise.
    pub root_owner: bool,
    /// `--chmod`.
    pub chmod: Option<crate::chmod::Chmod>,
    /// ADD: unpack local archives.
    pub unpack: bool,
    /// `COPY --parents`: each source keeps its path under the destination.
    pub parents: bool,
    /// The file system the layer goes on.
    pub target: &'a Tree,
}

fn io(what: &str, p: &Path, e: std::io::Error) -> Error {
    Error::Io(format!("{what} {}: {e}", p.display()))
}

struct Writer<'a, W: Write> {
    b: tar::Builder<W>,
    dirs: HashSet<PathBuf>,
    /// The first path written of each multiply-linked source file (hard links stay
    /// links within the layer, as BuildKit keeps them).
    links: std::collections::HashMap<(u64, u64), PathBuf>,
    job: &'a CopyJob<'a>,
    now: u64,
}

impl<W: Write> Writer<'_, W> {
    fn owner_of(&self, meta: Option<&std::fs::Metadata>) -> (u32, u32) {
        match (self.job.owner, meta) {
            (Some(o), _) => o,
            (None, _) if self.job.root_owner => (0, 0),
            (None, Some(m)) => (m.uid(), m.gid()),
            (None, None) => (0, 0),
        }
    }

    /// A directory entry for each missing or existing ancestor of `p` (and `p` itself
    /// with `include_self`), once.
    fn parents(&mut self, p: &Path, include_self: bool) -> Result<(), Error> {
        let mut chain: Vec<PathBuf> = p
            .ancestors()
            .skip(usize::from(!include_self))
            .map(Path::to_path_buf)
            .collect();
        chain.reverse();
        for d in chain {
            if d.as_os_str().is_empty() || !self.dirs.insert(d.clone()) {
                continue;
            }
            if self.job.target.lookup(&d).is_some_and(|f| !f.meta.is_dir()) {
                return Err(Error::Invalid(format!(
                    "mkdir /{}: not a directory",
                    d.display()
                )));
            }
            let mut h = tar::Header::new_gnu();
            h.set_entry_type(tar::EntryType::Directory);
            h.set_size(0);
            match self.job.target.lookup(&d).filter(|f| f.meta.is_dir()) {
                Some(f) => {
                    h.set_mode(f.meta.permissions().mode() & 0o7777);
                    h.set_uid(f.meta.uid().into());
                    h.set_gid(f.meta.gid().into());
                    h.set_mtime(f.meta.mtime().max(0) as u64);
                }
                None => {
                    let (u, g) = self.job.owner.unwrap_or((0, 0));
                    h.set_mode(0o755);
                    h.set_uid(u.into());
                    h.set_gid(g.into());
                    h.set_mtime(self.now);
                }
            }
            self.b
                .append_data(&mut h, &d, std::io::empty())
                .map_err(|e| io("write", &d, e))?;
        }
        Ok(())
    }

    /// One entry of a source, written at `at`.
    fn entry(&mut self, at: &Path, src: &Path, meta: &std::fs::Metadata) -> Result<(), Error> {
        let ft = meta.file_type();
        if ft.is_socket() {
            return Ok(());
        }
        let mut h = tar::Header::new_gnu();
        h.set_metadata_in_mode(meta, tar::HeaderMode::Complete);
        let _ = h.set_username("");
        let _ = h.set_groupname("");
        let (u, g) = self.owner_of(Some(meta));
        h.set_uid(u.into());
        h.set_gid(g.into());
        if let Some(m) = &self.job.chmod {
            if !ft.is_symlink() {
                h.set_mode(m.apply(meta.mode(), ft.is_dir()));
            }
        }
        if ft.is_dir() {
            self.dirs.insert(at.to_path_buf());
        }
        if ft.is_symlink() {
            let target = std::fs::read_link(src).map_err(|e| io("read link", src, e))?;
            return self
                .b
                .append_link(&mut h, at, &target)
                .map_err(|e| io("write", at, e));
        }
        if ft.is_file() {
            if meta.nlink() > 1 {
                let key = (meta.dev(), meta.ino());
                if let Some(first) = self.links.get(&key) {
                    h.set_entry_type(tar::EntryType::Link);
                    h.set_size(0);
                    let first = first.clone();
                    return self
                        .b
                        .append_link(&mut h, at, &first)
                        .map_err(|e| io("write", at, e));
                }
                self.links.insert(key, at.to_path_buf());
            }
            let f = std::fs::File::open(src).map_err(|e| io("open", src, e))?;
            return self
                .b
                .append_data(&mut h, at, f)
                .map_err(|e| io("write", at, e));
        }
        h.set_size(0);
        self.b
            .append_data(&mut h, at, std::io::empty())
            .map_err(|e| io("write", at, e))
    }

    /// The entries of a tar archive under `dir`.
    fn archive(&mut self, dir: &Path, data: impl Read) -> Result<(), Error> {
        let mut a = tar::Archive::new(data);
        let entries = a.entries().map_err(|e| io("read archive for", dir, e))?;
        for e in entries {
            let mut e = e.map_err(|e| io("read archive for", dir, e))?;
            let name = e
                .path()
                .map_err(|e| io("read archive for", dir, e))?
                .into_owned();
            let rel = contained(&name).ok_or_else(|| {
                Error::Invalid(format!(
                    "archive entry {:?} would leave the destination {}",
                    name.display(),
                    dir.display()
                ))
            })?;
            if rel.as_os_str().is_empty() {
                continue;
            }
            let at = dir.join(&rel);
            if let Some(p) = at.parent() {
                self.parents(p, true)?;
            }
            let mut h = e.header().clone();
            if let Some((u, g)) = self.job.owner {
                h.set_uid(u.into());
                h.set_gid(g.into());
            }
            let kind = h.entry_type();
            if kind.is_hard_link() {
                let target = e
                    .link_name()
                    .map_err(|e| io("read archive for", dir, e))?
                    .and_then(|t| contained(&t))
                    .ok_or_else(|| {
                        Error::Invalid(format!(
                            "archive link {:?} would leave the destination",
                            name.display()
                        ))
                    })?;
                self.b
                    .append_link(&mut h, &at, dir.join(target))
                    .map_err(|e| io("write", &at, e))?;
            } else if kind.is_symlink() {
                let target = e
                    .link_name()
                    .map_err(|e| io("read archive for", dir, e))?
                    .unwrap_or_default()
                    .into_owned();
                self.b
                    .append_link(&mut h, &at, target)
                    .map_err(|e| io("write", &at, e))?;
            } else if kind.is_dir() {
                self.dirs.insert(at.clone());
                self.b
                    .append_data(&mut h, &at, std::io::empty())
                    .map_err(|e| io("write", &at, e))?;
            } else if kind.is_file() || kind == tar::EntryType::Continuous {
                self.b
                    .append_data(&mut h, &at, &mut e)
                    .map_err(|e| io("write", &at, e))?;
            }
            // Devices, FIFOs and PAX-only records of an ADDed archive are left out.
        }
        Ok(())
    }
}

/// `p` made relative with `..` applied, or `None` if it climbs above its start.
fn contained(p: &Path) -> Option<PathBuf> {
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            Component::Normal(n) => out.push(n),
            Component::ParentDir => {
                if !out.pop() {
                    return None;
                }
            }
            Component::RootDir | Component::CurDir | Component::Prefix(_) => {}
        }
    }
    Some(out)
}

/// Whether a 512-byte block is a tar header: its checksum holds (any tar format, v7
/// included, as Go's archive reader accepts them).
fn tar_header(block: &[u8]) -> bool {
    if block.len() < 512 || block.iter().all(|&b| b == 0) {
        return false;
    }
    let field = String::from_utf8_lossy(&block[148..156]);
    let Ok(want) = u32::from_str_radix(field.trim_matches(|c: char| c == '\0' || c == ' '), 8)
    else {
        return false;
    };
    let sum: u32 = block
        .iter()
        .enumerate()
        .map(|(i, &b)| {
            if (148..156).contains(&i) {
                32
            } else {
                u32::from(b)
            }
        })
        .sum();
    sum == want
}

/// A local file ADD unpacks: a tar (recognised by its first header, not its name),
/// plain or compressed as `image::layer::decompress` reads them (gzip, bzip2, xz, zstd).
fn archive_reader(path: &Path) -> Option<Box<dyn Read>> {
    let open = || {
        let f = std::fs::File::open(path).ok()?;
        image::layer::decompress(f).ok()
    };
    let mut head = vec![0u8; 512];
    let mut r = open()?;
    r.read_exact(&mut head).ok()?;
    drop(r);
    if !tar_header(&head) {
        return None;
    }
    open()
}

/// Write the layer of a COPY or ADD. Returns nothing; errors name the path.
pub fn write_layer(job: &CopyJob<'_>, out: impl Write) -> Result<(), Error> {
    let dir_hint = job.dest.ends_with('/') || job.dest.ends_with("/.");
    if job.many && !dir_hint {
        return Err(Error::Invalid(
            "When using COPY with more than one source file, the destination must be a directory and end with a /".into(),
        ));
    }
    let rel = job
        .target
        .resolve(&job.dest, true)
        .map_err(|e| Error::Io(e.to_string()))?;
    let dest_is_dir = dir_hint || job.target.lookup(&rel).is_some_and(|f| f.meta.is_dir());
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let mut w = Writer {
        b: tar::Builder::new(out),
        dirs: HashSet::new(),
        links: Default::default(),
        job,
        now,
    };
    w.b.follow_symlinks(false);
    for s in &job.sources {
        let Some(top) = s.entries.first() else {
            continue;
        };
        if top.meta.is_dir() {
            // A directory's contents go into the destination directory (with
            // `--parents`, under its own path there).
            let base = if job.parents {
                rel.join(&s.path)
            } else {
                rel.clone()
            };
            w.parents(&base, true)?;
            for e in &s.entries[1..] {
                let at = base.join(&e.rel);
                w.entry(&at, &e.path, &e.meta)?;
            }
            continue;
        }
        if job.unpack && !s.remote && top.meta.is_file() {
            if let Some(r) = archive_reader(&top.path) {
                w.parents(&rel, true)?;
                w.archive(&rel, r)?;
                continue;
            }
        }
        let at = if job.parents {
            rel.join(&s.path)
        } else if dest_is_dir || job.many {
            rel.join(&s.name)
        } else {
            rel.clone()
        };
        if let Some(p) = at.parent() {
            w.parents(p, true)?;
        }
        // The source named itself is followed when it is a symlink (BuildKit copies
        // what it points at); symlinks inside directories stay links.
        let (path, meta) = if top.meta.file_type().is_symlink() {
            let m = std::fs::metadata(&top.path).map_err(|e| io("stat", &top.path, e))?;
            (top.path.clone(), m)
        } else {
            (top.path.clone(), top.meta.clone())
        };
        w.entry(&at, &path, &meta)?;
    }
    w.b.into_inner()
        .map_err(|e| Error::Io(format!("finish layer: {e}")))?;
    Ok(())
}

/// `--chown USER[:GROUP]` resolved in the image's `/etc/passwd` and `/etc/group`
/// (numbers are taken as they are; a user alone takes its primary group).
pub fn parse_chown(s: &str, target: &Tree) -> Result<Option<(u32, u32)>, Error> {
    if s.is_empty() {
        return Ok(None);
    }
    let (user, group) = match s.split_once(':') {
        Some((u, g)) => (u, Some(g)),
        None => (s, None),
    };
    let read = |f: &str| -> String {
        target
            .resolve(f, true)
            .ok()
            .and_then(|p| target.lookup(&p))
            .and_then(|f| std::fs::read_to_string(f.path).ok())
            .unwrap_or_default()
    };
    let lookup = |db: &str, name: &str, field: usize| -> Option<(u32, Option<u32>)> {
        db.lines().find_map(|l| {
            let f: Vec<&str> = l.split(':').collect();
            (f.first() == Some(&name)).then(|| {
                (
                    f.get(field).and_then(|v| v.parse().ok()).unwrap_or(0),
                    f.get(3).and_then(|v| v.parse().ok()),
                )
            })
        })
    };
    let (uid, primary) = match user.parse::<u32>() {
        Ok(n) => (n, None),
        Err(_) => lookup(&read("/etc/passwd"), user, 2).ok_or_else(|| {
                Error::Invalid(format!(
                    "unable to convert uid/gid chown string to host mapping: can't find uid for user {user}: no such user: {user}"
                ))
            })?,
    };
    let gid = match group {
        None => primary.unwrap_or(uid),
        Some(g) => match g.parse::<u32>() {
            Ok(n) => n,
            Err(_) => lookup(&read("/etc/group"), g, 2)
                .map(|(gid, _)| gid)
                .ok_or_else(|| {
                    Error::Invalid(format!(
                        "unable to convert uid/gid chown string to host mapping: can't find gid for group {g}: no such group: {g}"
                    ))
                })?,
        },
    };
    Ok(Some((uid, gid)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn archive_paths_stay_inside() {
        assert_eq!(contained(Path::new("a/../b")), Some(PathBuf::from("b")));
        assert_eq!(
            contained(Path::new("/etc/passwd")),
            Some(PathBuf::from("etc/passwd"))
        );
        assert_eq!(contained(Path::new("../x")), None);
        assert_eq!(contained(Path::new("a/../../x")), None);
    }

    #[test]
    fn chown_values() {
        let t = tempfile::tempdir().expect("tmp");
        std::fs::create_dir(t.path().join("etc")).expect("mkdir");
        std::fs::write(
            t.path().join("etc/passwd"),
            "app:x:1000:1001::/home/app:/bin/sh\n",
        )
        .expect("w");
        std::fs::write(t.path().join("etc/group"), "staff:x:50:\n").expect("w");
        let tree = Tree::new(vec![t.path().to_path_buf()]);
        assert_eq!(parse_chown("app", &tree).expect("ok"), Some((1000, 1001)));
        assert_eq!(
            parse_chown("app:staff", &tree).expect("ok"),
            Some((1000, 50))
        );
        assert_eq!(parse_chown("5:6", &tree).expect("ok"), Some((5, 6)));
        assert_eq!(parse_chown("7", &tree).expect("ok"), Some((7, 7)));
        assert!(parse_chown("nobody", &tree).is_err());
    }
}
