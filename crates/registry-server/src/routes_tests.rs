//! The name splitter, and the router end to end over a loopback socket with a raw HTTP/1.1
//! client (status codes, headers and error codes as clients see them).

use std::path::Path;

use content::Digest;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::*;

#[test]
fn split_reads_the_endpoint_from_the_right() {
    let d = format!("sha256:{}", "a".repeat(64));
    let cases: Vec<(String, Option<(&str, String)>)> = vec![
        (
            "a/manifests/latest".into(),
            Some(("a", "/manifests/latest".into())),
        ),
        (
            "a/b/c/d/manifests/v1.0".into(),
            Some(("a/b/c/d", "/manifests/v1.0".into())),
        ),
        (
            format!("a/b/manifests/{d}"),
            Some(("a/b", format!("/manifests/{d}"))),
        ),
        (
            format!("x/y/blobs/{d}"),
            Some(("x/y", format!("/blobs/{d}"))),
        ),
        (
            "x/y/blobs/uploads/".into(),
            Some(("x/y", "/blobs/uploads/".into())),
        ),
        (
            "x/y/blobs/uploads".into(),
            Some(("x/y", "/blobs/uploads".into())),
        ),
        (
            "x/y/z/blobs/uploads/6a1f09".into(),
            Some(("x/y/z", "/blobs/uploads/6a1f09".into())),
        ),
        (
            "lib/app/tags/list".into(),
            Some(("lib/app", "/tags/list".into())),
        ),
        (
            format!("r/referrers/{d}"),
            Some(("r", format!("/referrers/{d}"))),
        ),
        // Endpoint words inside a name are name components.
        (
            "a/blobs/b/manifests/latest".into(),
            Some(("a/blobs/b", "/manifests/latest".into())),
        ),
        (
            "manifests/tags/list".into(),
            Some(("manifests", "/tags/list".into())),
        ),
        (
            "a/manifests/tags/list".into(),
            Some(("a/manifests", "/tags/list".into())),
        ),
        (
            "a/blobs/uploads/manifests/x".into(),
            Some(("a/blobs/uploads", "/manifests/x".into())),
        ),
        // An upload wins over a blob of a repository named like `<x>/blobs/uploads`.
        (
            "a/blobs/uploads/u1".into(),
            Some(("a", "/blobs/uploads/u1".into())),
        ),
        // The name is returned as it is; its grammar is checked by the caller.
        (
            "A/../b/manifests/x".into(),
            Some(("A/../b", "/manifests/x".into())),
        ),
        ("/manifests/x".into(), Some(("", "/manifests/x".into()))),
        // An empty reference still splits; no endpoint route matches it.
        ("a/manifests/".into(), Some(("a", "/manifests/".into()))),
    ];
    for (rest, want) in cases {
        let got = split(&rest).map(|(n, t)| (n, t.to_string()));
        assert_eq!(got, want, "{rest}");
    }
    for none in [
        "",
        "a",
        "a/b",
        "_catalog",
        "manifests/x",
        "blobs/uploads",
        "tags/list",
        "a/tags",
        "a/tags/list/x",
        "a/manifests/x/y",
        "a/blobs",
        "a/referrers",
    ] {
        assert_eq!(split(none), None, "{none}");
    }
}

/// A response as the client saw it.
struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Reply {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The spec error code of an error body.
    fn code(&self) -> String {
        let v: serde_json::Value = serde_json::from_slice(&self.body).unwrap_or_default();
        v["errors"][0]["code"].as_str().unwrap_or("").to_string()
    }
}

struct Server {
    addr: std::net::SocketAddr,
    _dir: tempfile::TempDir,
    root: std::path::PathBuf,
}

async fn start(htpasswd: Option<&str>) -> Server {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path().join("reg");
    let htpasswd = htpasswd.map(|line| {
        let p = dir.path().join("htpasswd");
        std::fs::write(&p, line).expect("htpasswd");
        p
    });
    let app = app(Config {
        root: root.clone(),
        htpasswd,
    })
    .expect("app");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move { axum::serve(listener, app).await });
    Server {
        addr,
        _dir: dir,
        root,
    }
}

impl Server {
    async fn call(&self, method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> Reply {
        let mut s = tokio::net::TcpStream::connect(self.addr)
            .await
            .expect("connect");
        let mut req = format!(
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\nContent-Length: {}\r\n",
            self.addr,
            body.len()
        );
        for (k, v) in headers {
            req.push_str(&format!("{k}: {v}\r\n"));
        }
        req.push_str("\r\n");
        s.write_all(req.as_bytes()).await.expect("write");
        s.write_all(body).await.expect("write body");
        let mut raw = Vec::new();
        s.read_to_end(&mut raw).await.expect("read");
        let end = raw
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .expect("end of headers");
        let head = String::from_utf8_lossy(&raw[..end]).into_owned();
        let mut lines = head.split("\r\n");
        let status = lines
            .next()
            .and_then(|l| l.split(' ').nth(1))
            .and_then(|c| c.parse().ok())
            .expect("status");
        let headers: Vec<(String, String)> = lines
            .filter_map(|l| l.split_once(": "))
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let reply = Reply {
            status,
            headers,
            body: raw[end + 4..].to_vec(),
        };
        assert_eq!(reply.header("transfer-encoding"), None, "chunked: {path}");
        reply
    }

    async fn get(&self, path: &str) -> Reply {
        self.call("GET", path, &[], b"").await
    }

    fn exists(&self, rel: &str) -> bool {
        Path::new(&self.root).join(rel).exists()
    }
}

/// Push `bytes` monolithically into `name`; returns the digest.
async fn push_blob(s: &Server, name: &str, bytes: &[u8]) -> Digest {
    let d = Digest::of(bytes);
    let enc = d.to_string().replace(':', "%3A");
    let r = s
        .call(
            "POST",
            &format!("/v2/{name}/blobs/uploads/?digest={enc}"),
            &[],
            bytes,
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    assert_eq!(
        r.header("location"),
        Some(&*format!("/v2/{name}/blobs/{d}"))
    );
    assert_eq!(r.header("docker-content-digest"), Some(&*d.to_string()));
    d
}

async fn push_manifest(s: &Server, name: &str, reference: &str, body: &str) -> Reply {
    s.call(
        "PUT",
        &format!("/v2/{name}/manifests/{reference}"),
        &[("Content-Type", "application/vnd.oci.image.manifest.v1+json")],
        body.as_bytes(),
    )
    .await
}

fn manifest(config: &Digest, layer: &Digest, subject: Option<&Digest>) -> String {
    let subject = subject
        .map(|s| format!(r#","subject":{{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"{s}","size":1}}"#))
        .unwrap_or_default();
    format!(
        r#"{{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"{config}","size":2}},"layers":[{{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"{layer}","size":5}}]{subject}}}"#
    )
}

#[tokio::test]
async fn base_catalog_and_unknown_paths() {
    let s = start(None).await;
    for p in ["/v2/", "/v2"] {
        let r = s.get(p).await;
        assert_eq!((r.status, r.text()), (200, "{}".to_string()), "{p}");
        assert_eq!(
            r.header("docker-distribution-api-version"),
            Some("registry/2.0")
        );
    }
    let r = s.get("/v2/_catalog").await;
    assert_eq!(r.text(), r#"{"repositories":[]}"#);
    for p in [
        "/",
        "/v1/",
        "/v2/a",
        "/v2/a/b",
        "/v2/a/manifests/",
        "/v2/a/blobs/uploads/x/y",
    ] {
        let r = s.get(p).await;
        assert_eq!((r.status, r.code()), (404, "NOT_FOUND".to_string()), "{p}");
    }
    let r = s.call("POST", "/v2/a/manifests/latest", &[], b"").await;
    assert_eq!((r.status, r.code()), (405, "UNSUPPORTED".to_string()));
    let r = s.call("DELETE", "/v2/_catalog", &[], b"").await;
    assert_eq!((r.status, r.code()), (405, "UNSUPPORTED".to_string()));
}

#[tokio::test]
async fn bad_names_and_references_are_refused() {
    let s = start(None).await;
    for p in [
        "/v2/A/manifests/latest",
        "/v2/a/../b/manifests/latest",
        "/v2/a//b/tags/list",
        "/v2/a%2Fb/manifests/latest",
        "/v2//manifests/latest",
    ] {
        let r = s.get(p).await;
        assert_eq!(
            (r.status, r.code()),
            (400, "NAME_INVALID".to_string()),
            "{p}"
        );
    }
    let r = s.get("/v2/a/blobs/sha256:nothex").await;
    assert_eq!((r.status, r.code()), (400, "DIGEST_INVALID".to_string()));
    let r = push_manifest(&s, "a", "bad%2Ftag", "{}").await;
    assert_eq!((r.status, r.code()), (400, "TAG_INVALID".to_string()));
    // A percent-encoded traversal in an upload id or a tag reaches no file.
    std::fs::write(s.root.join("keep"), "x").expect("write");
    let r = s
        .call("DELETE", "/v2/a/blobs/uploads/..%2F..%2Fkeep", &[], b"")
        .await;
    assert_eq!(r.status, 204);
    let r = s
        .call(
            "DELETE",
            "/v2/a/manifests/..%2F..%2F..%2F..%2Fkeep",
            &[],
            b"",
        )
        .await;
    assert_eq!((r.status, r.code()), (404, "MANIFEST_UNKNOWN".to_string()));
    assert!(s.exists("keep"));
}

#[tokio::test]
async fn chunked_upload_ranges_and_blob_reads() {
    let s = start(None).await;
    let r = s.call("POST", "/v2/a/b/c/blobs/uploads/", &[], b"").await;
    assert_eq!(r.status, 202, "{}", r.text());
    assert_eq!(r.header("range"), Some("0-0"));
    let id = r.header("docker-upload-uuid").expect("uuid").to_string();
    let loc = format!("/v2/a/b/c/blobs/uploads/{id}");
    assert_eq!(r.header("location"), Some(&*loc));
    let r = s
        .call("PATCH", &loc, &[("Content-Range", "0-4")], b"hello")
        .await;
    assert_eq!((r.status, r.header("range")), (202, Some("0-4")));
    // A chunk that does not start where the upload is refused with the upload's range.
    let r = s
        .call("PATCH", &loc, &[("Content-Range", "2-6")], b"xxxxx")
        .await;
    assert_eq!((r.status, r.header("range")), (416, Some("0-4")));
    let r = s.get(&loc).await;
    assert_eq!((r.status, r.header("range")), (204, Some("0-4")));
    let d = Digest::of(b"hello world");
    let wrong = Digest::of(b"other");
    let r = s
        .call("PUT", &format!("{loc}?digest={wrong}"), &[], b" world")
        .await;
    assert_eq!((r.status, r.code()), (400, "DIGEST_INVALID".to_string()));
    // That attempt consumed the upload; a new one succeeds, the digest percent-encoded.
    let r = s.call("POST", "/v2/a/b/c/blobs/uploads", &[], b"").await;
    let loc = r.header("location").expect("location").to_string();
    s.call("PATCH", &loc, &[], b"hello").await;
    let enc = d.to_string().replace(':', "%3A");
    let r = s
        .call("PUT", &format!("{loc}?digest={enc}"), &[], b" world")
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    assert_eq!(r.header("location"), Some(&*format!("/v2/a/b/c/blobs/{d}")));
    let r = s.get(&loc).await;
    assert_eq!(
        (r.status, r.code()),
        (404, "BLOB_UPLOAD_UNKNOWN".to_string())
    );
    let blob = format!("/v2/a/b/c/blobs/{d}");
    let r = s.get(&blob).await;
    assert_eq!((r.status, r.text()), (200, "hello world".to_string()));
    assert_eq!(r.header("docker-content-digest"), Some(&*d.to_string()));
    let r = s.call("GET", &blob, &[("Range", "bytes=6-")], b"").await;
    assert_eq!((r.status, r.text()), (206, "world".to_string()));
    assert_eq!(r.header("content-range"), Some("bytes 6-10/11"));
    let r = s.call("GET", &blob, &[("Range", "bytes=11-")], b"").await;
    assert_eq!(r.status, 416);
    let r = s.call("HEAD", &blob, &[], b"").await;
    assert_eq!((r.status, r.header("content-length")), (200, Some("11")));
    assert!(r.body.is_empty());
    // Other repositories do not see it until it is mounted from this one.
    let r = s.get(&format!("/v2/x/blobs/{d}")).await;
    assert_eq!((r.status, r.code()), (404, "BLOB_UNKNOWN".to_string()));
    let r = s
        .call(
            "POST",
            &format!("/v2/x/blobs/uploads/?mount={d}&from=a/b/c"),
            &[],
            b"",
        )
        .await;
    assert_eq!(r.status, 201);
    assert_eq!(s.get(&format!("/v2/x/blobs/{d}")).await.status, 200);
    let r = s
        .call("DELETE", &format!("/v2/x/blobs/{d}"), &[], b"")
        .await;
    assert_eq!(r.status, 202);
    assert_eq!(s.get(&format!("/v2/x/blobs/{d}")).await.status, 404);
    // A query that does not parse is an error in the spec's format.
    let r = s
        .call("POST", "/v2/x/blobs/uploads/?digest=a&digest=b", &[], b"")
        .await;
    assert_eq!((r.status, r.code()), (400, "UNSUPPORTED".to_string()));
}

#[tokio::test]
async fn manifests_tags_catalog_and_referrers() {
    let s = start(None).await;
    let name = "a/blobs/b"; // endpoint words are fine as name components
    let config = push_blob(&s, name, b"{}").await;
    let layer = push_blob(&s, name, b"layer").await;
    let body = manifest(&config, &layer, None);
    let d = Digest::of(body.as_bytes());
    for tag in ["v2", "v1", "latest"] {
        let r = push_manifest(&s, name, tag, &body).await;
        assert_eq!(r.status, 201, "{}", r.text());
        assert_eq!(
            r.header("location"),
            Some(&*format!("/v2/{name}/manifests/{d}"))
        );
        assert_eq!(r.header("oci-subject"), None);
    }
    let enc = d.to_string().replace(':', "%3A");
    for reference in ["latest", &d.to_string(), &enc] {
        let r = s.get(&format!("/v2/{name}/manifests/{reference}")).await;
        assert_eq!((r.status, r.text()), (200, body.clone()), "{reference}");
        assert_eq!(
            r.header("content-type"),
            Some("application/vnd.oci.image.manifest.v1+json")
        );
        assert_eq!(r.header("docker-content-digest"), Some(&*d.to_string()));
    }
    let r = s
        .call("HEAD", &format!("/v2/{name}/manifests/v1"), &[], b"")
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-length"), Some(&*body.len().to_string()));
    let r = s.get(&format!("/v2/{name}/manifests/nope")).await;
    assert_eq!((r.status, r.code()), (404, "MANIFEST_UNKNOWN".to_string()));
    // Digest mismatch and unknown blobs.
    let r = push_manifest(&s, name, &format!("sha256:{}", "0".repeat(64)), "{}").await;
    assert_eq!((r.status, r.code()), (400, "DIGEST_INVALID".to_string()));
    let r = push_manifest(&s, "other", "x", &body).await;
    assert_eq!(
        (r.status, r.code()),
        (400, "MANIFEST_BLOB_UNKNOWN".to_string())
    );
    // Tags, paginated.
    let r = s.get(&format!("/v2/{name}/tags/list")).await;
    assert_eq!(
        r.text(),
        r#"{"name":"a/blobs/b","tags":["latest","v1","v2"]}"#
    );
    let r = s.get(&format!("/v2/{name}/tags/list?n=1")).await;
    assert_eq!(r.text(), r#"{"name":"a/blobs/b","tags":["latest"]}"#);
    assert_eq!(
        r.header("link"),
        Some(r#"</v2/a/blobs/b/tags/list?n=1&last=latest>; rel="next""#)
    );
    let r = s
        .get(&format!("/v2/{name}/tags/list?n=5&last=latest"))
        .await;
    assert_eq!(r.text(), r#"{"name":"a/blobs/b","tags":["v1","v2"]}"#);
    assert_eq!(r.header("link"), None);
    let r = s.get("/v2/nothing/tags/list").await;
    assert_eq!((r.status, r.code()), (404, "NAME_UNKNOWN".to_string()));
    // A referrer.
    let art = manifest(&config, &layer, Some(&d));
    let r = push_manifest(&s, name, &Digest::of(art.as_bytes()).to_string(), &art).await;
    assert_eq!(r.status, 201, "{}", r.text());
    assert_eq!(r.header("oci-subject"), Some(&*d.to_string()));
    let r = s.get(&format!("/v2/{name}/referrers/{d}")).await;
    let v: serde_json::Value = serde_json::from_slice(&r.body).expect("index");
    assert_eq!(
        v["manifests"][0]["digest"],
        Digest::of(art.as_bytes()).to_string()
    );
    assert_eq!(
        v["manifests"][0]["artifactType"],
        "application/vnd.oci.image.config.v1+json"
    );
    // The catalog, paginated.
    push_blob(&s, "z", b"x").await;
    let r = s.get("/v2/_catalog").await;
    assert_eq!(r.text(), r#"{"repositories":["a/blobs/b"]}"#);
    let r = s.get("/v2/_catalog?n=0").await;
    assert_eq!(r.text(), r#"{"repositories":[]}"#);
    // Deleting a tag, then the manifest by digest (and its other tags).
    let r = s
        .call("DELETE", &format!("/v2/{name}/manifests/v2"), &[], b"")
        .await;
    assert_eq!(r.status, 202);
    let r = s
        .call("DELETE", &format!("/v2/{name}/manifests/{d}"), &[], b"")
        .await;
    assert_eq!(r.status, 202);
    let r = s.get(&format!("/v2/{name}/tags/list")).await;
    assert_eq!(r.text(), r#"{"name":"a/blobs/b","tags":[]}"#);
}

#[tokio::test]
async fn basic_auth_guards_every_path() {
    let hash = bcrypt::hash("secret", 4).expect("bcrypt");
    let s = start(Some(&format!("alice:{hash}\n"))).await;
    for p in [
        "/v2/",
        "/v2/_catalog",
        "/v2/a/tags/list",
        "/nowhere",
        "/v2/A/manifests/x",
    ] {
        let r = s.get(p).await;
        assert_eq!(
            (r.status, r.code()),
            (401, "UNAUTHORIZED".to_string()),
            "{p}"
        );
        assert_eq!(
            r.header("www-authenticate"),
            Some("Basic realm=\"quai-registry\"")
        );
    }
    use base64::Engine as _;
    let good = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode("alice:secret")
    );
    let bad = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode("alice:wrong")
    );
    let r = s.call("GET", "/v2/", &[("Authorization", &bad)], b"").await;
    assert_eq!(r.status, 401);
    let r = s
        .call("GET", "/v2/", &[("Authorization", &good)], b"")
        .await;
    assert_eq!(r.status, 200);
    let r = s
        .call("GET", "/v2/A/manifests/x", &[("Authorization", &good)], b"")
        .await;
    assert_eq!((r.status, r.code()), (400, "NAME_INVALID".to_string()));
}
