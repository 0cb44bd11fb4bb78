//! The build context: a directory seen through `.dockerignore`, the files a COPY or ADD
//! names in it (wildcards as Go's `filepath.Match`, symlinks resolved inside the context,
//! never out of it), and their content hashes for cache keys, remembered by
//! (size, mtime, inode) so an unchanged context is not read again.

use std::io::Read;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use image::flatten::Tree;
use image::store::FileStamp;
use sha2::{Digest as _, Sha256};

use crate::ignore::Ignore;
use crate::Error;

/// A file system entry to copy: where it is on the host and what it is.
#[derive(Debug, Clone)]
pub struct Entry {
    /// Path relative to the copied source's root (empty for the source itself).
    pub rel: PathBuf,
    /// The file on the host.
    pub path: PathBuf,
    /// Its metadata, not followed.
    pub meta: std::fs::Metadata,
}

/// One COPY source after selection: a file, or a directory whose contents are copied.
#[derive(Debug, Clone)]
pub struct Source {
    /// The name it matched as (for `dest/NAME` of a file).
    pub name: String,
    /// Downloaded by ADD from a URL: never unpacked.
    pub remote: bool,
    /// The path it matched, relative to the origin's root (`COPY --parents` keeps it;
    /// the part before a `/./` is dropped).
    pub path: PathBuf,
    /// The source itself and, for a directory, everything under it (parents first).
    pub entries: Vec<Entry>,
}

/// Where COPY sources come from: the context directory, or another stage's or image's
/// file system.
pub enum Origin<'a> {
    /// The context with its ignore rules.
    Context(&'a Context),
    /// A tree of layers.
    Tree(&'a Tree),
}

/// The context directory.
pub struct Context {
    root: PathBuf,
    tree: Tree,
    ignore: Ignore,
}

fn has_wildcard(s: &str) -> bool {
    s.contains(['*', '?', '['])
}

impl Context {
    /// The context at `root` with the rules of `ignore`.
    pub fn new(root: &Path, ignore: Ignore) -> Context {
        Context {
            root: root.to_path_buf(),
            tree: Tree::new(vec![root.to_path_buf()]),
            ignore,
        }
    }

    /// The directory.
    pub fn root(&self) -> &Path {
        &self.root
    }
}

impl Origin<'_> {
    fn tree(&self) -> &Tree {
        match self {
            Origin::Context(c) => &c.tree,
            Origin::Tree(t) => t,
        }
    }

    fn excluded(&self, rel: &Path) -> bool {
        match self {
            Origin::Context(c) => c.ignore.excluded(&rel.to_string_lossy()),
            Origin::Tree(_) => false,
        }
    }

    fn skip_dir(&self, rel: &Path) -> bool {
        match self {
            Origin::Context(c) => {
                let r = rel.to_string_lossy();
                c.ignore.excluded(&r) && !c.ignore.may_reinclude_under(&r)
            }
            Origin::Tree(_) => false,
        }
    }

    /// Everything under directory `rel` that is not ignored, parents first, names sorted.
    fn walk(&self, rel: &Path, under: &Path, out: &mut Vec<Entry>) {
        for (name, f) in self.tree().read_dir(rel) {
            let child = rel.join(&name);
            let child_under = under.join(&name);
            let is_dir = f.meta.is_dir();
            if self.excluded(&child) {
                if is_dir && !self.skip_dir(&child) {
                    self.walk(&child, &child_under, out);
                }
                continue;
            }
            out.push(Entry {
                rel: child_under.clone(),
                path: f.path,
                meta: f.meta,
            });
            if is_dir {
                self.walk(&child, &child_under, out);
            }
        }
    }

    /// The sources a COPY names with `src` (relative to the origin's root).
    pub fn select(&self, src: &str) -> Result<Vec<Source>, Error> {
        let clean: Vec<&str> = src
            .split('/')
            .filter(|s| !s.is_empty() && *s != ".")
            .collect();
        let not_found = || {
            // The path as BuildKit names it: cleaned, `..` applied, from the root.
            let mut shown: Vec<&str> = Vec::new();
            for c in &clean {
                if *c == ".." {
                    shown.pop();
                } else {
                    shown.push(c);
                }
            }
            Error::NotFound(format!("\"/{}\": not found", shown.join("/")))
        };
        if clean.iter().any(|s| has_wildcard(s)) {
            let mut out = Vec::new();
            self.glob(Path::new(""), &clean, &mut out);
            // A wildcard that matches nothing copies nothing, as in BuildKit.
            return Ok(out);
        }
        let tree = self.tree();
        let rel = tree
            .resolve(&clean.join("/"), true)
            .map_err(|e| Error::Io(e.to_string()))?;
        if self.excluded(&rel) && !rel.as_os_str().is_empty() {
            return Err(not_found());
        }
        let f = match tree.lookup(&rel) {
            Some(f) => f,
            None => return Err(not_found()),
        };
        let mut one = self.source(clean.last().copied().unwrap_or(".").to_string(), &rel, f);
        // `--parents` keeps the path as written, from a `/./` pivot when there is one.
        let written = src.trim_start_matches('/');
        let kept = match written.rfind("/./") {
            Some(i) => &written[i + 3..],
            None => written,
        };
        one.path = kept
            .split('/')
            .filter(|c| !c.is_empty() && *c != "." && *c != "..")
            .collect();
        Ok(vec![one])
    }

    fn source(&self, name: String, rel: &Path, f: image::flatten::Found) -> Source {
        let is_dir = f.meta.is_dir();
        let mut entries = vec![Entry {
            rel: PathBuf::new(),
            path: f.path,
            meta: f.meta,
        }];
        if is_dir {
            self.walk(rel, Path::new(""), &mut entries);
        }
        Source {
            name,
            remote: false,
            path: rel.to_path_buf(),
            entries,
        }
    }

    /// Match `pat` (segments) against the tree under `at`.
    fn glob(&self, at: &Path, pat: &[&str], out: &mut Vec<Source>) {
        let Some((first, rest)) = pat.split_first() else {
            return;
        };
        if !has_wildcard(first) {
            let next = at.join(first);
            if rest.is_empty() {
                if let Some(f) = self.tree().lookup(&next) {
                    if !self.excluded(&next) {
                        out.push(self.source(first.to_string(), &next, f));
                    }
                }
            } else {
                self.glob(&next, rest, out);
            }
            return;
        }
        let pc: Vec<char> = first.chars().collect();
        for (name, f) in self.tree().read_dir(at) {
            let n = name.to_string_lossy();
            let nc: Vec<char> = n.chars().collect();
            if !crate::ignore::segment_matches(&pc, &nc) {
                continue;
            }
            let next = at.join(&name);
            if rest.is_empty() {
                if !self.excluded(&next) {
                    out.push(self.source(n.into_owned(), &next, f));
                }
            } else if f.meta.is_dir() {
                self.glob(&next, rest, out);
            }
        }
    }
}

/// The stamp of a file.
pub fn stamp(m: &std::fs::Metadata) -> FileStamp {
    FileStamp {
        size: m.len(),
        mtime: m.mtime() * 1_000_000_000 + m.mtime_nsec(),
        ino: m.ino(),
    }
}

/// sha256 of a file's content, hex.
pub fn hash_file(path: &Path) -> Result<String, Error> {
    let mut f = std::fs::File::open(path)
        .map_err(|e| Error::Io(format!("open {}: {e}", path.display())))?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 256 * 1024];
    loop {
        let n = f
            .read(&mut buf)
            .map_err(|e| Error::Io(format!("read {}: {e}", path.display())))?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(hex::encode(h.finalize()))
}
