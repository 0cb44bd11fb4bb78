//! Push: blobs the registry lacks (checked with HEAD), uploaded monolithically (POST then
//! PUT with the digest) or in chunks (PATCH with Content-Range) for large ones, then the
//! manifest, with its media type, by tag.

use std::io::Read;

use content::{Digest, Store};
use image::Reference;
use serde_json::Value;

use crate::client::{api_host, Client, Error, Result};

/// Blobs above this size go up in chunks of this size.
pub const CHUNK: u64 = 32 * 1024 * 1024;

fn location(base: &str, resp: &crate::client::Response) -> Result<String> {
    let loc = resp
        .headers
        .get("location")
        .cloned()
        .ok_or_else(|| Error::Invalid(format!("{}: upload without a Location", resp.url)))?;
    Ok(
        if loc.starts_with("http://") || loc.starts_with("https://") {
            loc
        } else {
            format!("{base}{loc}")
        },
    )
}

fn with_query(url: &str, kv: &str) -> String {
    if url.contains('?') {
        format!("{url}&{kv}")
    } else {
        format!("{url}?{kv}")
    }
}

/// What happened to one blob.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BlobPush {
    /// The repository had it.
    Exists,
    /// Mounted from another repository of the same registry.
    Mounted(String),
    /// Uploaded.
    Uploaded,
}

/// Upload one blob unless the registry has it; first try to mount it from `sources`
/// (repositories of the same registry that have it).
/// A reader that reports how much of a blob went by.
struct Counting<'a, R> {
    inner: R,
    digest: &'a Digest,
    done: u64,
    total: u64,
    bytes: Option<crate::pull::Bytes<'a>>,
}

impl<R: Read> Read for Counting<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.done += n as u64;
        if let Some(b) = self.bytes {
            b(self.digest, self.done, Some(self.total));
        }
        Ok(n)
    }
}

pub fn push_blob(
    c: &Client,
    store: &Store,
    r: &Reference,
    d: &Digest,
    sources: &[String],
    bytes: Option<crate::pull::Bytes<'_>>,
) -> Result<BlobPush> {
    let host = api_host(&r.domain);
    let base = c.base(host)?;
    let scope = format!("repository:{}:pull,push", r.path);
    c.authorize(host, &scope)?;
    let head = c.send(
        "HEAD",
        host,
        &format!("{base}/v2/{}/blobs/{d}", r.path),
        &scope,
        &[],
        None,
    )?;
    if head.status == 200 {
        return Ok(BlobPush::Exists);
    }
    let mut start = None;
    for from in sources.iter().filter(|s| **s != r.path) {
        let url = format!("{base}/v2/{}/blobs/uploads/?mount={d}&from={from}", r.path);
        let scope_from = format!("{scope} repository:{from}:pull");
        let resp = c.send(
            "POST",
            host,
            &url,
            &scope_from,
            &[("Content-Length", "0".into())],
            Some(&[]),
        )?;
        match resp.status {
            201 => return Ok(BlobPush::Mounted(from.clone())),
            // Not mountable: the registry started a normal upload instead.
            202 => {
                start = Some(resp);
                break;
            }
            _ => {}
        }
    }
    let start = match start {
        Some(s) => s,
        None => c
            .send(
                "POST",
                host,
                &format!("{base}/v2/{}/blobs/uploads/", r.path),
                &scope,
                &[("Content-Length", "0".into())],
                Some(&[]),
            )?
            .ok()?,
    };
    let mut loc = location(&base, &start)?;
    let size = store.size(d)?;
    let mut f = Counting {
        inner: store.open_blob(d)?,
        digest: d,
        done: 0,
        total: size,
        bytes,
    };
    if size > CHUNK {
        let mut offset = 0u64;
        while offset < size {
            let n = CHUNK.min(size - offset);
            let mut part = (&mut f).take(n);
            let headers = [
                ("Content-Type", "application/octet-stream".to_string()),
                ("Content-Range", format!("{}-{}", offset, offset + n - 1)),
                ("Content-Length", n.to_string()),
            ];
            let resp = c
                .send_reader("PATCH", host, &loc, &scope, &headers, &mut part)?
                .ok()?;
            loc = location(&base, &resp)?;
            offset += n;
        }
        c.send(
            "PUT",
            host,
            &with_query(&loc, &format!("digest={d}")),
            &scope,
            &[("Content-Length", "0".into())],
            Some(&[]),
        )?
        .ok()?;
    } else {
        let headers = [
            ("Content-Type", "application/octet-stream".to_string()),
            ("Content-Length", size.to_string()),
        ];
        c.send_reader(
            "PUT",
            host,
            &with_query(&loc, &format!("digest={d}")),
            &scope,
            &headers,
            &mut f,
        )?
        .ok()?;
    }
    Ok(BlobPush::Uploaded)
}

/// Push the image whose manifest is `manifest` as `r` (its tag), mounting blobs from
/// `sources` (other repositories of the same registry known to hold the image) when it
/// can. Returns the manifest digest.
pub fn push(
    c: &Client,
    store: &Store,
    r: &Reference,
    manifest: &Digest,
    sources: &[String],
    progress: crate::pull::Progress<'_>,
    on_bytes: Option<crate::pull::Bytes<'_>>,
) -> Result<Digest> {
    let bytes = store.read(manifest)?;
    let m: Value = serde_json::from_slice(&bytes)
        .map_err(|e| Error::Invalid(format!("manifest {manifest}: {e}")))?;
    let mut blobs: Vec<Digest> = Vec::new();
    for l in m["layers"]
        .as_array()
        .into_iter()
        .flatten()
        .chain(std::iter::once(&m["config"]))
    {
        blobs.push(
            l["digest"]
                .as_str()
                .unwrap_or_default()
                .parse()
                .map_err(|e| Error::Invalid(format!("manifest {manifest}: {e}")))?,
        );
    }
    for d in &blobs {
        progress(crate::pull::Event::Preparing(d.clone()));
    }
    for d in &blobs {
        progress(match push_blob(c, store, r, d, sources, on_bytes)? {
            BlobPush::Exists => crate::pull::Event::LayerExists(d.clone()),
            BlobPush::Mounted(from) => crate::pull::Event::Mounted {
                blob: d.clone(),
                from,
            },
            BlobPush::Uploaded => crate::pull::Event::Pushed(d.clone()),
        });
    }
    let host = api_host(&r.domain);
    let base = c.base(host)?;
    let scope = format!("repository:{}:pull,push", r.path);
    let tag = r.tag.clone().unwrap_or_else(|| "latest".into());
    let media = m["mediaType"]
        .as_str()
        .unwrap_or("application/vnd.oci.image.manifest.v1+json")
        .to_string();
    c.send(
        "PUT",
        host,
        &format!("{base}/v2/{}/manifests/{tag}", r.path),
        &scope,
        &[("Content-Type", media)],
        Some(&bytes),
    )?
    .ok()?;
    progress(crate::pull::Event::TagPushed {
        tag,
        manifest: manifest.clone(),
        size: bytes.len(),
    });
    Ok(manifest.clone())
}
