//! Pull: manifest (with platform choice), config, layers in parallel, each checked against
//! its digest and size while it streams in; an interrupted layer resumes with a Range.

use std::io::Write;

use content::{Digest, Store};
use image::Reference;
use serde_json::Value;

use crate::client::{api_host, Client, Error, Result};

/// Manifest media types quai asks for.
pub const ACCEPT: &str = "application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json, \
application/vnd.docker.distribution.manifest.v2+json, application/vnd.docker.distribution.manifest.list.v2+json";

/// What a pull brought in.
#[derive(Debug, Clone)]
pub struct Pulled {
    /// Digest of the (platform) manifest.
    pub manifest: Digest,
    /// Image id (config digest).
    pub config: Digest,
    /// Sum of layer sizes.
    pub size: u64,
    /// RFC 3339 creation time from the config.
    pub created: String,
}

/// A platform: `linux/amd64`, `linux/arm64/v8`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Platform {
    /// OS.
    pub os: String,
    /// Architecture.
    pub arch: String,
    /// Variant, if any.
    pub variant: Option<String>,
}

impl std::str::FromStr for Platform {
    type Err = Error;
    fn from_str(s: &str) -> Result<Platform> {
        let p: Vec<&str> = s.split('/').collect();
        match p.as_slice() {
            [os, arch] => Ok(Platform {
                os: os.to_string(),
                arch: arch.to_string(),
                variant: None,
            }),
            [os, arch, v] => Ok(Platform {
                os: os.to_string(),
                arch: arch.to_string(),
                variant: Some(v.to_string()),
            }),
            _ => Err(Error::Invalid(format!(
                "invalid platform {s:?} (want os/arch[/variant])"
            ))),
        }
    }
}

impl Default for Platform {
    fn default() -> Platform {
        Platform {
            os: "linux".into(),
            arch: "amd64".into(),
            variant: None,
        }
    }
}

/// What a pull or a push reports as it goes; clients render it (Docker's words are
/// [`Event::docker_line`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// A layer is in the store already (pull).
    AlreadyExists(Digest),
    /// A layer was fetched and verified (pull).
    PullComplete(Digest),
    /// The manifest pulled (the pull's last word).
    Pulled(Digest),
    /// A blob about to be pushed (push: every blob, before the first is sent).
    Preparing(Digest),
    /// A blob the registry had already (push).
    LayerExists(Digest),
    /// A blob mounted from another repository of the registry (push).
    Mounted {
        /// The blob.
        blob: Digest,
        /// The repository it came from.
        from: String,
    },
    /// A blob uploaded (push).
    Pushed(Digest),
    /// The manifest stored under its tag (the push's last word).
    TagPushed {
        /// The tag.
        tag: String,
        /// The manifest.
        manifest: Digest,
        /// Its size.
        size: usize,
    },
}

impl Event {
    /// The blob a per-layer line is about.
    pub fn layer(&self) -> Option<&Digest> {
        match self {
            Event::AlreadyExists(d)
            | Event::PullComplete(d)
            | Event::LayerExists(d)
            | Event::Preparing(d)
            | Event::Pushed(d) => Some(d),
            Event::Mounted { blob, .. } => Some(blob),
            Event::Pulled(_) | Event::TagPushed { .. } => None,
        }
    }

    /// What happened to the layer, in Docker's words (`Pull complete`).
    pub fn status(&self) -> String {
        match self {
            Event::AlreadyExists(_) => "Already exists".into(),
            Event::PullComplete(_) => "Pull complete".into(),
            Event::LayerExists(_) => "Layer already exists".into(),
            Event::Preparing(_) => "Preparing".into(),
            Event::Mounted { from, .. } => format!("Mounted from {from}"),
            Event::Pushed(_) => "Pushed".into(),
            Event::Pulled(d) => format!("Digest: {d}"),
            Event::TagPushed {
                tag,
                manifest,
                size,
            } => format!("{tag}: digest: {manifest} size: {size}"),
        }
    }

    /// The whole line as docker prints it (`a3ed95caeb02: Pull complete`).
    pub fn docker_line(&self) -> String {
        match self.layer() {
            Some(d) => format!("{}: {}", &d.hex()[..12], self.status()),
            None => self.status(),
        }
    }
}

/// Where progress events go.
pub type Progress<'a> = &'a (dyn Fn(Event) + Sync);

/// Bytes of a blob received so far: (blob, bytes, total when known).
pub type Bytes<'a> = &'a (dyn Fn(&Digest, u64, Option<u64>) + Sync);

fn manifest_url(base: &str, r: &Reference, what: &str) -> String {
    format!("{base}/v2/{}/manifests/{what}", r.path)
}

/// Fetch a manifest document by tag or digest, verify it and store it as received.
/// A manifest as a registry serves it: an index (a list per platform) or one image's.
#[derive(Debug)]
enum Fetched {
    Index(Box<oci_spec::image::ImageIndex>),
    Image(Box<oci_spec::image::ImageManifest>),
}

/// The media types of indexes (OCI's and Docker's manifest list).
const INDEX_TYPES: &[&str] = &[
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
];
/// The media types of image manifests (OCI's and Docker's schema 2).
const IMAGE_TYPES: &[&str] = &[
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.v2+json",
];

/// Parse a manifest's bytes by its media type (the response's, else the document's own
/// `mediaType`, else its shape), refusing Docker's schema 1.
fn parse_manifest(what: &str, media: &str, bytes: &[u8]) -> Result<Fetched> {
    let bad =
        |e: &dyn std::fmt::Display| Error::Invalid(format!("{what}: malformed manifest: {e}"));
    let v: Value = serde_json::from_slice(bytes).map_err(|e| bad(&e))?;
    if v["schemaVersion"] == 1
        || media.starts_with("application/vnd.docker.distribution.manifest.v1")
    {
        return Err(Error::Invalid(format!(
            "{what}: Docker schema 1 manifests are not supported (push the image again with a current client)"
        )));
    }
    let media = match media {
        "" | "application/json" | "text/plain" => v["mediaType"].as_str().unwrap_or_default(),
        m => m.split(';').next().unwrap_or_default().trim(),
    };
    let is_index = if INDEX_TYPES.contains(&media) {
        true
    } else if IMAGE_TYPES.contains(&media) {
        false
    } else if media.is_empty() {
        v.get("manifests").is_some()
    } else {
        return Err(Error::Invalid(format!(
            "{what}: unsupported manifest media type {media:?}"
        )));
    };
    Ok(if is_index {
        Fetched::Index(Box::new(serde_json::from_value(v).map_err(|e| bad(&e))?))
    } else {
        Fetched::Image(Box::new(serde_json::from_value(v).map_err(|e| bad(&e))?))
    })
}

/// What a pull reads of a manifest it fetched, as far as no network is needed: the parse
/// by media type, every descriptor's digest, and an index's platform choice (the fuzz
/// target's entry, `fuzz/targets.rs`). The error is the one a pull would report.
pub fn check_manifest(media: &str, bytes: &[u8]) -> Result<()> {
    match parse_manifest("fuzz", media, bytes)? {
        Fetched::Image(m) => {
            descriptor("config", m.config())?;
            for l in m.layers() {
                descriptor("layer", l)?;
            }
        }
        Fetched::Index(i) => {
            let _ = pick_platform(&i, &Platform::default());
            for m in i.manifests() {
                descriptor("manifest", m)?;
            }
        }
    }
    Ok(())
}

/// An OCI descriptor's digest and size as the content store takes them.
fn descriptor(what: &str, d: &oci_spec::image::Descriptor) -> Result<(Digest, Option<u64>)> {
    let digest = d
        .digest()
        .to_string()
        .parse::<Digest>()
        .map_err(|e| Error::Invalid(format!("manifest {what}: {e}")))?;
    Ok((digest, Some(d.size())))
}

fn fetch_manifest(
    c: &Client,
    store: &Store,
    r: &Reference,
    what: &str,
    expected: Option<&Digest>,
) -> Result<(Digest, Fetched)> {
    let host = api_host(&r.domain);
    let base = c.base(host)?;
    let scope = format!("repository:{}:pull", r.path);
    let url = manifest_url(&base, r, what);
    let resp = c.send(
        "GET",
        host,
        &url,
        &scope,
        &[("Accept", ACCEPT.to_string())],
        None,
    )?;
    if resp.status == 404 {
        return Err(Error::Invalid(format!(
            "{}: manifest unknown (no such image or tag)",
            r.familiar()
        )));
    }
    let resp = resp.ok()?;
    let media = resp
        .headers
        .get("content-type")
        .cloned()
        .unwrap_or_default();
    let header_digest = resp.headers.get("docker-content-digest").cloned();
    let bytes = resp.bytes()?;
    let actual = Digest::of(&bytes);
    if let Some(e) = expected {
        if *e != actual {
            return Err(Error::Invalid(format!(
                "{url}: manifest digest mismatch: expected {e}, got {actual}"
            )));
        }
    }
    if let Some(h) = header_digest {
        if h != actual.to_string() {
            return Err(Error::Invalid(format!(
                "{url}: manifest digest mismatch: the registry says {h}, the bytes are {actual}"
            )));
        }
    }
    let m = parse_manifest(&r.familiar(), &media, &bytes)?;
    store.write_bytes(&bytes, Some(&actual))?;
    Ok((actual, m))
}

fn pick_platform(index: &oci_spec::image::ImageIndex, p: &Platform) -> Option<Digest> {
    index.manifests().iter().find_map(|m| {
        let pl = m.platform().as_ref()?;
        let ok = pl.os().to_string() == p.os
            && pl.architecture().to_string() == p.arch
            && p.variant
                .as_deref()
                .is_none_or(|v| pl.variant().as_deref() == Some(v));
        if ok {
            m.digest().to_string().parse().ok()
        } else {
            None
        }
    })
}

/// Download one blob into the store (resuming a partial one), checking digest and size.
pub fn fetch_blob(
    c: &Client,
    store: &Store,
    r: &Reference,
    digest: &Digest,
    size: Option<u64>,
    on_bytes: Option<Bytes<'_>>,
) -> Result<()> {
    if store.has(digest) {
        return Ok(());
    }
    let host = api_host(&r.domain);
    let base = c.base(host)?;
    let scope = format!("repository:{}:pull", r.path);
    let url = format!("{base}/v2/{}/blobs/{digest}", r.path);
    let mut w = store.writer(Some(digest))?;
    if store.has(digest) {
        w.abort();
        return Ok(());
    }
    let mut headers = Vec::new();
    if w.offset() > 0 {
        headers.push(("Range", format!("bytes={}-", w.offset())));
    }
    let resp = c.send("GET", host, &url, &scope, &headers, None)?;
    let resp = if resp.status == 206 {
        resp
    } else {
        if w.offset() > 0 {
            // The registry ignored the range: start again from the first byte.
            w.abort();
            w = store.writer(Some(digest))?;
        }
        resp.ok()?
    };
    copy_body(resp, w, digest, size, &url, on_bytes)
}

fn copy_body(
    resp: crate::client::Response,
    mut w: content::Writer,
    digest: &Digest,
    size: Option<u64>,
    url: &str,
    on_bytes: Option<Bytes<'_>>,
) -> Result<()> {
    let mut reader = resp.body.into_with_config().limit(u64::MAX).reader();
    let mut buf = vec![0u8; 1024 * 1024];
    loop {
        let n = match std::io::Read::read(&mut reader, &mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            // The partial file stays for the next pull to resume.
            Err(e) => {
                return Err(Error::Transport {
                    url: url.to_string(),
                    message: format!("download interrupted after {} bytes: {e}", w.offset()),
                })
            }
        };
        w.write_all(&buf[..n]).map_err(|e| Error::Transport {
            url: url.to_string(),
            message: e.to_string(),
        })?;
        if let Some(f) = on_bytes {
            f(digest, w.offset(), size);
        }
        if let Some(s) = size {
            if w.offset() > s {
                w.abort();
                return Err(Error::Invalid(format!(
                    "{url}: blob larger than its descriptor's {s} bytes"
                )));
            }
        }
    }
    w.commit(Some(digest), size)?;
    Ok(())
}

/// Pull `r` into `store`. Layers go four at a time; those already present are skipped.
pub fn pull(
    c: &Client,
    store: &Store,
    r: &Reference,
    platform: &Platform,
    progress: Progress<'_>,
    on_bytes: Option<Bytes<'_>>,
) -> Result<Pulled> {
    let what = r
        .digest
        .as_ref()
        .map(|d| d.to_string())
        .or_else(|| r.tag.clone())
        .unwrap_or_else(|| "latest".into());
    let (mut digest, mut fetched) = fetch_manifest(c, store, r, &what, r.digest.as_ref())?;
    if let Fetched::Index(ix) = &fetched {
        let pick = pick_platform(ix, platform).ok_or_else(|| {
            Error::Invalid(format!(
                "{}: no manifest for platform {}/{}",
                r.familiar(),
                platform.os,
                platform.arch
            ))
        })?;
        (digest, fetched) = fetch_manifest(c, store, r, &pick.to_string(), Some(&pick))?;
    }
    let Fetched::Image(m) = fetched else {
        return Err(Error::Invalid(format!(
            "{}: the index's entry {digest} is an index again",
            r.familiar()
        )));
    };
    let what = digest.to_string();
    let (config, config_size) = descriptor(&what, m.config())?;
    fetch_blob(c, store, r, &config, config_size, None)?;
    let layers: Vec<(Digest, Option<u64>)> = m
        .layers()
        .iter()
        .map(|l| descriptor(&what, l))
        .collect::<Result<_>>()?;
    let next = std::sync::atomic::AtomicUsize::new(0);
    let failures = std::sync::Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for _ in 0..4.min(layers.len().max(1)) {
            s.spawn(|| loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let Some((d, size)) = layers.get(i) else {
                    break;
                };
                if store.has(d) {
                    progress(Event::AlreadyExists(d.clone()));
                    continue;
                }
                match fetch_blob(c, store, r, d, *size, on_bytes) {
                    Ok(()) => progress(Event::PullComplete(d.clone())),
                    Err(e) => {
                        if let Ok(mut f) = failures.lock() {
                            f.push(e);
                        }
                    }
                }
            });
        }
    });
    if let Some(e) = failures.into_inner().ok().and_then(|mut f| {
        if f.is_empty() {
            None
        } else {
            Some(f.remove(0))
        }
    }) {
        return Err(e);
    }
    let cfg: Value = serde_json::from_slice(&store.read(&config)?)
        .map_err(|e| Error::Invalid(format!("config {config}: {e}")))?;
    let n_diff = cfg["rootfs"]["diff_ids"].as_array().map_or(0, Vec::len);
    if n_diff != layers.len() {
        return Err(Error::Invalid(format!(
            "manifest {digest}: {} layers but the config lists {n_diff} diff ids",
            layers.len()
        )));
    }
    let size = layers.iter().map(|(d, _)| store.size(d).unwrap_or(0)).sum();
    let created = cfg["created"]
        .as_str()
        .unwrap_or("1970-01-01T00:00:00Z")
        .to_string();
    progress(Event::Pulled(digest.clone()));
    Ok(Pulled {
        manifest: digest,
        config,
        size,
        created,
    })
}

/// Every tag of the repository (following `Link: <...>; rel="next"` pagination).
pub fn tags(c: &Client, r: &Reference) -> Result<Vec<String>> {
    let host = api_host(&r.domain);
    let base = c.base(host)?;
    let scope = format!("repository:{}:pull", r.path);
    let mut url = format!("{base}/v2/{}/tags/list?n=1000", r.path);
    let mut out = Vec::new();
    for _ in 0..1000 {
        let resp = c.send("GET", host, &url, &scope, &[], None)?.ok()?;
        let next = resp.headers.get("link").and_then(|l| {
            let l = l
                .split(';')
                .next()?
                .trim()
                .trim_start_matches('<')
                .trim_end_matches('>');
            Some(if l.starts_with("http") {
                l.to_string()
            } else {
                format!("{base}{l}")
            })
        });
        let v: Value = serde_json::from_slice(&resp.bytes()?)
            .map_err(|e| Error::Invalid(format!("{url}: {e}")))?;
        out.extend(
            v["tags"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|t| t.as_str().map(str::to_string)),
        );
        match next {
            Some(n) => url = n,
            None => break,
        }
    }
    out.sort();
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn manifest_json(media: Option<&str>) -> Vec<u8> {
        let mut v = serde_json::json!({
            "schemaVersion": 2,
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                       "digest": format!("sha256:{}", "c".repeat(64)), "size": 7},
            "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                        "digest": format!("sha256:{}", "1".repeat(64)), "size": 99}],
        });
        if let Some(m) = media {
            v["mediaType"] = serde_json::json!(m);
        }
        serde_json::to_vec(&v).expect("json")
    }

    fn index_json(media: Option<&str>) -> Vec<u8> {
        let entry = |arch: &str, variant: Option<&str>, hex: char| {
            let mut p = serde_json::json!({"os": "linux", "architecture": arch});
            if let Some(v) = variant {
                p["variant"] = serde_json::json!(v);
            }
            serde_json::json!({"mediaType": "application/vnd.oci.image.manifest.v1+json",
                "digest": format!("sha256:{}", hex.to_string().repeat(64)), "size": 1, "platform": p})
        };
        let mut v = serde_json::json!({"schemaVersion": 2, "manifests": [
            entry("arm", Some("v6"), 'a'), entry("arm", Some("v7"), 'b'), entry("amd64", None, 'd'),
        ]});
        if let Some(m) = media {
            v["mediaType"] = serde_json::json!(m);
        }
        serde_json::to_vec(&v).expect("json")
    }

    #[test]
    fn manifests_parse_by_media_type_into_oci_types() {
        let img = |media: &str, body: &[u8]| match parse_manifest("t", media, body) {
            Ok(Fetched::Image(m)) => m.layers().len(),
            other => panic!("{media}: {other:?}"),
        };
        assert_eq!(img(IMAGE_TYPES[0], &manifest_json(None)), 1);
        assert_eq!(img(IMAGE_TYPES[1], &manifest_json(None)), 1);
        assert_eq!(
            img("application/json", &manifest_json(Some(IMAGE_TYPES[0]))),
            1
        );
        assert_eq!(img("", &manifest_json(None)), 1, "by shape");
        let ix = |media: &str, body: &[u8]| match parse_manifest("t", media, body) {
            Ok(Fetched::Index(ix)) => ix,
            other => panic!("{media}: {other:?}"),
        };
        let i = ix(INDEX_TYPES[1], &index_json(None));
        assert_eq!(i.manifests().len(), 3);
        let i = ix("", &index_json(None));
        let pick = |os: &str, arch: &str, variant: Option<&str>| {
            pick_platform(
                &i,
                &Platform {
                    os: os.into(),
                    arch: arch.into(),
                    variant: variant.map(str::to_string),
                },
            )
            .map(|d| d.hex()[..1].to_string())
        };
        assert_eq!(pick("linux", "amd64", None).as_deref(), Some("d"));
        assert_eq!(pick("linux", "arm", Some("v7")).as_deref(), Some("b"));
        assert_eq!(pick("linux", "arm", None).as_deref(), Some("a"));
        assert_eq!(pick("linux", "s390x", None), None);
        let err = |media: &str, body: &[u8]| {
            parse_manifest("t", media, body)
                .expect_err(media)
                .to_string()
        };
        assert!(err(
            "application/vnd.docker.distribution.manifest.v1+prettyjws",
            br#"{"schemaVersion":1}"#
        )
        .contains("schema 1"));
        assert!(err("application/vnd.example+json", &manifest_json(None)).contains("unsupported"));
        assert!(err(IMAGE_TYPES[0], b"{not json").contains("malformed"));
        assert!(err(IMAGE_TYPES[0], br#"{"schemaVersion":2,"layers":[]}"#).contains("malformed"));
    }

    #[test]
    fn events_render_as_docker_prints_them() {
        let d: Digest = format!(
            "sha256:{}",
            "a3ed95caeb02".repeat(6).get(..64).unwrap_or("")
        )
        .parse()
        .expect("digest");
        assert_eq!(
            Event::PullComplete(d.clone()).docker_line(),
            "a3ed95caeb02: Pull complete"
        );
        assert_eq!(
            Event::AlreadyExists(d.clone()).docker_line(),
            "a3ed95caeb02: Already exists"
        );
        assert_eq!(
            Event::Mounted {
                blob: d.clone(),
                from: "library/busybox".into()
            }
            .docker_line(),
            "a3ed95caeb02: Mounted from library/busybox"
        );
        assert_eq!(
            Event::LayerExists(d.clone()).docker_line(),
            "a3ed95caeb02: Layer already exists"
        );
        assert_eq!(
            Event::Pulled(d.clone()).docker_line(),
            format!("Digest: {d}")
        );
        assert_eq!(
            Event::TagPushed {
                tag: "1.0".into(),
                manifest: d.clone(),
                size: 528
            }
            .docker_line(),
            format!("1.0: digest: {d} size: 528")
        );
        assert_eq!(Event::Pulled(d.clone()).layer(), None);
        assert_eq!(Event::Pushed(d.clone()).layer(), Some(&d));
    }
}
