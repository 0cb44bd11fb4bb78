//! `save` and `load`: image archives in Docker's format (`manifest.json` + config + layer
//! tars, what `docker save` and `skopeo copy ... docker-archive:` write) and as an OCI
//! image layout in a tar (`oci-archive`).
//!
//! Loading streams every blob straight into the content store with its digest checked;
//! names inside the archive are never used as paths. Links between entries (docker-archive
//! stores a layer several images share once and links the other copies to it) are
//! followed by name, within the archive only.

use std::collections::HashMap;
use std::io::{Read, Write};

use content::Digest;
use serde_json::{json, Value};

use crate::reference::Reference;
use crate::store::{Error, ImageStore, Result, OCI_CONFIG, OCI_LAYER_TAR, OCI_MANIFEST};

/// Archive formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// `docker save`'s format.
    DockerArchive,
    /// An OCI image layout in a tar.
    OciArchive,
}

fn corrupt(what: &'static str, message: impl Into<String>) -> Error {
    let message = message.into();
    // The tar reader quotes a damaged header's raw bytes: one line of text instead.
    let message = if message
        .chars()
        .any(|c| (c.is_control() && c != '\t') || c == '\u{FFFD}')
    {
        "not a readable tar archive (a damaged header)".to_string()
    } else {
        message
    };
    Error::Corrupt {
        what,
        digest: "archive".into(),
        message,
    }
}

fn append(b: &mut tar::Builder<impl Write>, path: &str, size: u64, data: impl Read) -> Result<()> {
    let mut h = tar::Header::new_ustar();
    h.set_path(path)
        .map_err(|e| corrupt("archive path", e.to_string()))?;
    h.set_size(size);
    h.set_mode(0o644);
    h.set_mtime(0);
    h.set_entry_type(tar::EntryType::Regular);
    h.set_cksum();
    b.append(&h, data).map_err(|source| Error::Io {
        op: "write",
        path: path.into(),
        source,
    })
}

fn doc(store: &ImageStore, d: &Digest, what: &'static str) -> Result<Value> {
    serde_json::from_slice(&store.content().read(d)?).map_err(|e| Error::Corrupt {
        what,
        digest: d.to_string(),
        message: e.to_string(),
    })
}

fn digest_of(v: &Value, what: &'static str) -> Result<Digest> {
    v["digest"]
        .as_str()
        .unwrap_or_default()
        .parse()
        .map_err(|e: content::DigestError| corrupt(what, e.to_string()))
}

/// Write the images (names or ids) to `out`.
pub fn save<W: Write>(store: &ImageStore, images: &[String], format: Format, out: W) -> Result<()> {
    let mut b = tar::Builder::new(out);
    let mut docker_manifest = Vec::new();
    let mut index = Vec::new();
    let mut written: std::collections::HashSet<Digest> = Default::default();
    for what in images {
        let id = store.resolve(what)?;
        store.ensure_blobs(&id)?;
        let summary = store
            .list()?
            .into_iter()
            .find(|s| s.id == id)
            .ok_or_else(|| Error::NotFound(what.clone()))?;
        // The names to record: the one asked for, or all of the image's.
        let names: Vec<Reference> = match what.parse::<Reference>() {
            Ok(r) if summary.tags.contains(&r) => vec![r],
            _ => summary.tags.clone(),
        };
        let manifest = doc(store, &summary.manifest, "manifest")?;
        let layers: Vec<Digest> = manifest["layers"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|l| digest_of(l, "manifest"))
            .collect::<Result<_>>()?;
        match format {
            Format::OciArchive => {
                for d in std::iter::once(&summary.manifest)
                    .chain(std::iter::once(&id))
                    .chain(layers.iter())
                {
                    if written.insert(d.clone()) {
                        append(
                            &mut b,
                            &format!("blobs/sha256/{}", d.hex()),
                            store.content().size(d)?,
                            store.content().open_blob(d)?,
                        )?;
                    }
                }
                let size = store.content().size(&summary.manifest)?;
                if names.is_empty() {
                    index.push(json!({"mediaType": OCI_MANIFEST, "digest": summary.manifest.to_string(), "size": size}));
                }
                for n in &names {
                    index.push(json!({"mediaType": OCI_MANIFEST, "digest": summary.manifest.to_string(), "size": size,
                        "annotations": {"io.containerd.image.name": n.to_string(), "org.opencontainers.image.ref.name": n.tag.clone().unwrap_or_default()}}));
                }
            }
            Format::DockerArchive => {
                let diff_ids = store.diff_ids(&id)?;
                let mut layer_paths = Vec::new();
                for (blob, diff) in layers.iter().zip(&diff_ids) {
                    let path = format!("{}/layer.tar", diff.hex());
                    if written.insert(diff.clone()) {
                        if blob == diff {
                            append(
                                &mut b,
                                &path,
                                store.content().size(blob)?,
                                store.content().open_blob(blob)?,
                            )?;
                        } else {
                            // A compressed blob: the archive wants the uncompressed tar.
                            let mut tmp = tempfile_in(store)?;
                            let mut dec =
                                crate::layer::decompress(store.content().open_blob(blob)?)
                                    .map_err(crate::store::Error::Layer)?;
                            let n = std::io::copy(&mut dec, &mut tmp.1).map_err(|source| {
                                Error::Io {
                                    op: "decompress",
                                    path: tmp.0.clone(),
                                    source,
                                }
                            })?;
                            let f = std::fs::File::open(&tmp.0).map_err(|source| Error::Io {
                                op: "open",
                                path: tmp.0.clone(),
                                source,
                            })?;
                            append(&mut b, &path, n, f)?;
                            let _ = std::fs::remove_file(&tmp.0);
                        }
                    }
                    layer_paths.push(path);
                }
                let cfg_path = format!("{}.json", id.hex());
                if written.insert(id.clone()) {
                    append(
                        &mut b,
                        &cfg_path,
                        store.content().size(&id)?,
                        store.content().open_blob(&id)?,
                    )?;
                }
                docker_manifest.push(json!({"Config": cfg_path, "RepoTags": names.iter().map(Reference::familiar).collect::<Vec<_>>(), "Layers": layer_paths}));
            }
        }
    }
    let (name, body) = match format {
        Format::DockerArchive => ("manifest.json", serde_json::to_vec(&docker_manifest)),
        Format::OciArchive => {
            let layout = br#"{"imageLayoutVersion":"1.0.0"}"#;
            append(&mut b, "oci-layout", layout.len() as u64, &layout[..])?;
            (
                "index.json",
                serde_json::to_vec(
                    &json!({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": index}),
                ),
            )
        }
    };
    let body = body.map_err(|e| corrupt("archive", e.to_string()))?;
    append(&mut b, name, body.len() as u64, &body[..])?;
    b.into_inner()
        .and_then(|mut w| w.flush())
        .map_err(|source| Error::Io {
            op: "write",
            path: "archive".into(),
            source,
        })
}

fn tempfile_in(store: &ImageStore) -> Result<(std::path::PathBuf, std::fs::File)> {
    let p = store.root().join("ingest").join(format!(
        "save-{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0)
    ));
    let f = std::fs::File::create(&p).map_err(|source| Error::Io {
        op: "create",
        path: p.clone(),
        source,
    })?;
    Ok((p, f))
}

/// What `load` brought in: (image id, names).
pub type Loaded = Vec<(Digest, Vec<Reference>)>;

/// Read an archive (either format, detected from its contents).
pub fn load<R: Read>(store: &mut ImageStore, input: R) -> Result<Loaded> {
    let mut by_path: HashMap<String, Digest> = HashMap::new();
    let mut links: HashMap<String, Link> = HashMap::new();
    let mut small: HashMap<String, Vec<u8>> = HashMap::new();
    let mut ar = tar::Archive::new(input);
    for entry in ar
        .entries()
        .map_err(|e| corrupt("archive", e.to_string()))?
    {
        let mut entry = entry.map_err(|e| corrupt("archive", e.to_string()))?;
        let kind = entry.header().entry_type();
        let link = kind.is_symlink() || kind.is_hard_link();
        if !kind.is_file() && !link {
            continue;
        }
        let path = entry
            .path()
            .map_err(|e| corrupt("archive", e.to_string()))?
            .to_string_lossy()
            .trim_start_matches("./")
            .to_string();
        if link {
            // `docker save` stores a layer shared by several images once, and the others
            // as symlinks `<id>/layer.tar -> ../<id0>/layer.tar`: followed when used.
            let target = entry
                .link_name()
                .map_err(|e| corrupt("archive", e.to_string()))?
                .map(|t| t.to_string_lossy().into_owned())
                .unwrap_or_default();
            links.insert(
                path,
                Link {
                    target,
                    hard: kind.is_hard_link(),
                },
            );
            continue;
        }
        let size = entry.header().size().unwrap_or(0);
        if matches!(
            path.as_str(),
            "manifest.json" | "index.json" | "oci-layout" | "repositories"
        ) {
            let mut v = Vec::new();
            entry.read_to_end(&mut v).map_err(|e| {
                corrupt(
                    if path == "index.json" {
                        "index"
                    } else {
                        "manifest"
                    },
                    e.to_string(),
                )
            })?;
            small.insert(path, v);
            continue;
        }
        // OCI blobs are named by their digest: checked while ingesting.
        let expected = path
            .strip_prefix("blobs/sha256/")
            .and_then(|h| format!("sha256:{h}").parse::<Digest>().ok());
        let d = store
            .content()
            .ingest(&mut entry, expected.as_ref(), Some(size))?;
        by_path.insert(path, d);
    }
    if let Some(index) = small.get("index.json") {
        return load_oci(store, index);
    }
    let manifest = small.get("manifest.json").ok_or_else(|| {
        corrupt(
            "archive",
            "neither manifest.json (docker-archive) nor index.json (oci-archive) in it",
        )
    })?;
    load_docker(store, manifest, &by_path, &links)
}

/// A link entry of an archive.
struct Link {
    /// What it points at, as stored.
    target: String,
    /// A hard link (its target is relative to the archive's top) rather than a symlink
    /// (relative to the link's directory).
    hard: bool,
}

/// `path` with `.` and `..` taken out, or `None` when it is absolute or climbs above the
/// archive's top.
fn clean(path: &str) -> Option<String> {
    if path.starts_with('/') {
        return None;
    }
    let mut parts: Vec<&str> = Vec::new();
    for c in path.split('/') {
        match c {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            c => parts.push(c),
        }
    }
    Some(parts.join("/"))
}

/// The blob an archive path names, following links inside the archive. A link that
/// points outside it, that loops, or whose target is not in it is an error naming the
/// link.
fn resolve(
    path: &str,
    by_path: &HashMap<String, Digest>,
    links: &HashMap<String, Link>,
) -> Result<Digest> {
    let missing = || corrupt("manifest.json", format!("{path} is not in the archive"));
    let mut at = clean(path).ok_or_else(missing)?;
    let mut seen = std::collections::HashSet::new();
    loop {
        if let Some(d) = by_path.get(&at) {
            return Ok(d.clone());
        }
        let Some(link) = links.get(&at) else {
            return Err(missing());
        };
        let bad = |message: String| Error::Corrupt {
            what: "archive entry",
            digest: at.clone(),
            message,
        };
        if !seen.insert(at.clone()) {
            return Err(bad(format!("links loop (reached from {path})")));
        }
        let joined = if link.hard || link.target.starts_with('/') {
            link.target.clone()
        } else {
            match at.rsplit_once('/') {
                Some((dir, _)) => format!("{dir}/{}", link.target),
                None => link.target.clone(),
            }
        };
        let next = clean(&joined).ok_or_else(|| {
            bad(format!(
                "link to {} points outside the archive",
                link.target
            ))
        })?;
        if !by_path.contains_key(&next) && !links.contains_key(&next) {
            return Err(bad(format!(
                "link target {} is not in the archive",
                link.target
            )));
        }
        at = next;
    }
}

fn load_docker(
    store: &mut ImageStore,
    manifest: &[u8],
    by_path: &HashMap<String, Digest>,
    links: &HashMap<String, Link>,
) -> Result<Loaded> {
    let m: Value =
        serde_json::from_slice(manifest).map_err(|e| corrupt("manifest.json", e.to_string()))?;
    let mut out = Vec::new();
    for img in m
        .as_array()
        .ok_or_else(|| corrupt("manifest.json", "not a list"))?
    {
        let find = |p: &str| resolve(p, by_path, links);
        let config = find(img["Config"].as_str().unwrap_or_default())?;
        let cfg = doc(store, &config, "config")?;
        let diff_ids: Vec<String> = cfg["rootfs"]["diff_ids"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|d| d.as_str().map(str::to_string))
            .collect();
        let mut layers = Vec::new();
        let mut size = 0;
        for (i, l) in img["Layers"].as_array().into_iter().flatten().enumerate() {
            let d = find(l.as_str().unwrap_or_default())?;
            // docker-archive layers are the uncompressed diffs: each must be its diff id
            // (a compressed one is accepted when the config's diff id matches its content).
            if diff_ids.get(i).map(String::as_str) != Some(d.to_string().as_str()) {
                let mut dec = crate::layer::decompress(store.content().open_blob(&d)?)?;
                let actual = content::Digest::of_reader(&mut dec).map_err(|source| Error::Io {
                    op: "read layer",
                    path: l.as_str().unwrap_or_default().into(),
                    source,
                })?;
                if diff_ids.get(i).map(String::as_str) != Some(actual.to_string().as_str()) {
                    return Err(corrupt(
                        "archive",
                        format!(
                            "layer {} does not match the config's diff id {}",
                            l,
                            diff_ids.get(i).cloned().unwrap_or_default()
                        ),
                    ));
                }
            }
            size += store.content().size(&d)?;
            layers.push(json!({"mediaType": OCI_LAYER_TAR, "digest": d.to_string(), "size": store.content().size(&d)?}));
        }
        if layers.len() != diff_ids.len() {
            return Err(corrupt(
                "archive",
                "layer count differs from the config's diff ids",
            ));
        }
        let cfg_size = store.content().size(&config)?;
        let manifest = json!({"schemaVersion": 2, "mediaType": OCI_MANIFEST,
            "config": {"mediaType": OCI_CONFIG, "digest": config.to_string(), "size": cfg_size}, "layers": layers});
        let mbytes =
            serde_json::to_vec(&manifest).map_err(|e| corrupt("manifest", e.to_string()))?;
        let md = store.content().write_bytes(&mbytes, None)?;
        let names: Vec<Reference> = img["RepoTags"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|t| t.as_str()?.parse().ok())
            .collect();
        let created = cfg["created"]
            .as_str()
            .unwrap_or("1970-01-01T00:00:00Z")
            .to_string();
        store.record(&config, &md, &created, size, None)?;
        for n in &names {
            store.tag(&config.to_string(), n)?;
        }
        out.push((config, names));
    }
    Ok(out)
}

fn load_oci(store: &mut ImageStore, index: &[u8]) -> Result<Loaded> {
    let idx: Value =
        serde_json::from_slice(index).map_err(|e| corrupt("index.json", e.to_string()))?;
    let mut out = Vec::new();
    for desc in idx["manifests"].as_array().into_iter().flatten() {
        let mut md = digest_of(desc, "index.json")?;
        let mut m = doc(store, &md, "manifest")?;
        // A nested index (multi-platform): take linux/amd64.
        if m.get("manifests").is_some() {
            let pick = m["manifests"]
                .as_array()
                .into_iter()
                .flatten()
                .find(|d| {
                    d["platform"]["os"] == "linux" && d["platform"]["architecture"] == "amd64"
                })
                .ok_or_else(|| corrupt("index", "no linux/amd64 manifest"))?;
            md = digest_of(pick, "index")?;
            m = doc(store, &md, "manifest")?;
        }
        let config = digest_of(&m["config"], "manifest")?;
        let mut size = 0;
        for l in m["layers"].as_array().into_iter().flatten() {
            let d = digest_of(l, "manifest")?;
            size += store
                .content()
                .size(&d)
                .map_err(|_| corrupt("archive", format!("layer {d} is not in the archive")))?;
        }
        let cfg = doc(store, &config, "config")?;
        let created = cfg["created"]
            .as_str()
            .unwrap_or("1970-01-01T00:00:00Z")
            .to_string();
        store.record(&config, &md, &created, size, None)?;
        let ann = &desc["annotations"];
        let name = ann["io.containerd.image.name"].as_str().or_else(|| {
            ann["org.opencontainers.image.ref.name"]
                .as_str()
                .filter(|n| n.contains('/') || n.contains(':'))
        });
        let mut names = Vec::new();
        if let Some(n) = name.and_then(|n| n.parse::<Reference>().ok()) {
            store.tag(&config.to_string(), &n)?;
            names.push(n);
        }
        out.push((config, names));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    enum E<'a> {
        File(&'a [u8]),
        Symlink(&'a str),
        Dir,
    }

    fn tar_of(entries: &[(&str, E<'_>)]) -> Vec<u8> {
        let mut b = tar::Builder::new(Vec::new());
        for (name, e) in entries {
            let mut h = tar::Header::new_gnu();
            h.set_mode(0o644);
            h.set_uid(0);
            h.set_gid(0);
            h.set_mtime(0);
            match e {
                E::File(d) => {
                    h.set_size(d.len() as u64);
                    h.set_entry_type(tar::EntryType::Regular);
                    h.set_cksum();
                    b.append_data(&mut h, name, *d).expect("file");
                }
                E::Symlink(t) => {
                    h.set_size(0);
                    h.set_entry_type(tar::EntryType::Symlink);
                    b.append_link(&mut h, name, t).expect("symlink");
                }
                E::Dir => {
                    h.set_size(0);
                    h.set_entry_type(tar::EntryType::Directory);
                    h.set_cksum();
                    b.append_data(&mut h, name, &[][..]).expect("dir");
                }
            }
        }
        b.into_inner().expect("tar")
    }

    fn config(diffs: &[&[u8]]) -> Vec<u8> {
        let ids: Vec<String> = diffs.iter().map(|l| Digest::of(l).to_string()).collect();
        serde_json::to_vec(
            &json!({"architecture": "amd64", "os": "linux", "config": {},
            "created": "2024-01-01T00:00:00Z", "rootfs": {"type": "layers", "diff_ids": ids}}),
        )
        .expect("json")
    }

    /// Two images sharing their bottom layer, stored once, as `docker save` writes them;
    /// the second image's copy is `link` (a symlink target).
    fn two_images(link: &str) -> Vec<u8> {
        let l0 = tar_of(&[("etc/hostname", E::File(b"x\n"))]);
        let l1 = tar_of(&[("etc/motd", E::File(b"hi\n"))]);
        let (ca, cb) = (config(&[&l0]), config(&[&l0, &l1]));
        let (ida, idb) = (Digest::of(&ca), Digest::of(&cb));
        let manifest = serde_json::to_vec(&json!([
            {"Config": format!("{}.json", ida.hex()), "RepoTags": ["a:1"], "Layers": ["l0/layer.tar"]},
            {"Config": format!("{}.json", idb.hex()), "RepoTags": ["b:1"], "Layers": ["l0b/layer.tar", "l1/layer.tar"]},
        ]))
        .expect("json");
        tar_of(&[
            ("l0", E::Dir),
            ("l0/layer.tar", E::File(&l0)),
            ("l0b", E::Dir),
            ("l0b/layer.tar", E::Symlink(link)),
            ("l1/layer.tar", E::File(&l1)),
            (&format!("{}.json", ida.hex()), E::File(&ca)),
            (&format!("{}.json", idb.hex()), E::File(&cb)),
            ("manifest.json", E::File(&manifest)),
        ])
    }

    #[test]
    fn a_layer_shared_through_a_symlink_loads_for_both_images() {
        let tmp = tempfile::tempdir().expect("tmp");
        let mut s = ImageStore::open(tmp.path()).expect("open");
        let loaded = load(&mut s, &two_images("../l0/layer.tar")[..]).expect("load");
        assert_eq!(loaded.len(), 2);
        let a = s.resolve("a:1").expect("a");
        let b = s.resolve("b:1").expect("b");
        let (la, lb) = (s.diff_ids(&a).expect("a"), s.diff_ids(&b).expect("b"));
        assert_eq!(lb.len(), 2);
        assert_eq!(la[0], lb[0]);
        let dirs = s.layer_dirs(&b).expect("unpack b");
        assert!(dirs[0].join("etc/hostname").exists());
        assert!(dirs[1].join("etc/motd").exists());
    }

    #[test]
    fn links_outside_the_archive_or_in_a_loop_are_refused() {
        for (target, says) in [
            ("../../l0/layer.tar", "points outside the archive"),
            ("/l0/layer.tar", "points outside the archive"),
            ("layer.tar", "links loop"),
            ("../l9/layer.tar", "is not in the archive"),
        ] {
            let tmp = tempfile::tempdir().expect("tmp");
            let mut s = ImageStore::open(tmp.path()).expect("open");
            let e = load(&mut s, &two_images(target)[..]).expect_err(target);
            let e = e.to_string();
            assert!(
                e.contains("l0b/layer.tar") && e.contains(says),
                "{target}: {e}"
            );
        }
    }

    #[test]
    fn clean_paths() {
        assert_eq!(clean("a/./b/../c").as_deref(), Some("a/c"));
        assert_eq!(
            clean("l0b/../l0/layer.tar").as_deref(),
            Some("l0/layer.tar")
        );
        assert_eq!(clean("a/../../b"), None);
        assert_eq!(clean("/a"), None);
    }
}
