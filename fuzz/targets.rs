// What each fuzz target checks of one input: shared by the fuzz targets (cargo-fuzz) and
// by the corpus replay in quai's tests, so every input kept in `fuzz/corpus` is checked
// in CI as the fuzzer checked it. A panic is a finding.

/// An image reference: parsing never panics, and what parses prints back to a form that
/// parses to the same reference.
pub fn reference(data: &[u8]) {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(r) = s.parse::<image::reference::Reference>() {
        let again: image::reference::Reference = r
            .to_string()
            .parse()
            .unwrap_or_else(|e| panic!("{r} (from {s:?}) does not parse again: {e}"));
        assert_eq!(again.to_string(), r.to_string(), "{s:?}");
    }
}

/// A Dockerfile: parsing never panics.
pub fn dockerfile(data: &[u8]) {
    if let Ok(s) = std::str::from_utf8(data) {
        let _ = dockerfile::Dockerfile::parse(s);
    }
}

/// A Go duration: parsing never panics.
pub fn duration(data: &[u8]) {
    if let Ok(s) = std::str::from_utf8(data) {
        let _ = dockerfile::parse_go_duration(s);
    }
}

/// A layer stream (tar, possibly compressed) unpacked into a directory of its own inside
/// a scratch directory: never a panic, and nothing written beside the destination.
pub fn layer(data: &[u8]) {
    let Ok(scratch) = tempfile::tempdir() else {
        return;
    };
    let dest = scratch.path().join("rootfs");
    if std::fs::create_dir(&dest).is_err() {
        return;
    }
    let _ = image::layer::unpack(data, &dest);
    let beside: Vec<_> = std::fs::read_dir(scratch.path())
        .map(|d| d.filter_map(|e| e.ok().map(|e| e.file_name())).collect())
        .unwrap_or_default();
    assert_eq!(
        beside,
        vec![std::ffi::OsString::from("rootfs")],
        "escaped the root"
    );
}

/// A manifest or index as a pull reads it. The first byte chooses the media type the
/// registry would have sent; the rest is the document. Never a panic.
pub fn manifest(data: &[u8]) {
    const MEDIA: [&str; 7] = [
        "",
        "application/json",
        "application/vnd.oci.image.manifest.v1+json",
        "application/vnd.docker.distribution.manifest.v2+json",
        "application/vnd.oci.image.index.v1+json",
        "application/vnd.docker.distribution.manifest.list.v2+json",
        "application/vnd.docker.distribution.manifest.v1+prettyjws",
    ];
    let Some((&first, rest)) = data.split_first() else {
        return;
    };
    let _ = registry::pull::check_manifest(MEDIA[usize::from(first) % MEDIA.len()], rest);
}

/// An OCI runtime `config.json`: parsing and validation never panic.
pub fn config_json(data: &[u8]) {
    let p = std::path::Path::new("config.json");
    if let Ok(spec) = runtime::spec::parse_spec(p, data) {
        let _ = runtime::spec::validate(p, &spec);
    }
}

/// A compose file, loaded as `quai compose config` loads it (interpolation, merging,
/// normalization, checks) from a file system that has only it: never a panic.
pub fn compose(data: &[u8]) {
    struct One(String);
    impl compose::load::Fs for One {
        fn read(&self, p: &std::path::Path) -> std::io::Result<String> {
            if p == std::path::Path::new("/fuzz/compose.yaml") {
                Ok(self.0.clone())
            } else {
                Err(std::io::ErrorKind::NotFound.into())
            }
        }
        fn exists(&self, p: &std::path::Path) -> bool {
            p == std::path::Path::new("/fuzz/compose.yaml")
        }
    }
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    let _ = compose::yaml::parse(s);
    let mut o = compose::load::Options::new("/fuzz".into(), Default::default());
    o.files = vec!["/fuzz/compose.yaml".into()];
    let _ = compose::load::load(&o, &One(s.to_string()));
}

/// A DNS query to a network's DNS server: the question is read without a panic, and a
/// reply to it decodes again with the query's id and question.
pub fn dns(data: &[u8]) {
    let Some(q) = engine::dns::question(data) else {
        return;
    };
    let ips = [std::net::Ipv4Addr::new(10, 0, 0, 2)];
    let Some(r) = engine::dns::reply(
        &q,
        engine::dns::a_records(&ips),
        hickory_proto::op::ResponseCode::NoError,
        512,
    ) else {
        return;
    };
    let m = hickory_proto::op::Message::from_vec(&r)
        .unwrap_or_else(|e| panic!("the reply to {data:?} does not decode: {e}"));
    assert_eq!(m.metadata.id, q.header.id);
    assert_eq!(m.queries.first().map(|x| x.name()), Some(q.query.name()));
}

/// A `POST /containers/create` body: decoding and the server's checks never panic.
pub fn create_body(data: &[u8]) {
    let _ = api::check_create_body(data);
}

/// One request to the registry server (a real one on loopback, started once per
/// process, its storage in a scratch directory). The input's first byte chooses the
/// method, its first line is the path (with the query), the rest the body. Never a 5xx
/// (a panic in a handler is one), and nothing written beside the storage root.
pub fn registry_request(data: &[u8]) {
    use std::io::{Read, Write};
    static SERVER: std::sync::OnceLock<(u16, std::path::PathBuf, tempfile::TempDir)> =
        std::sync::OnceLock::new();
    let (port, root, scratch) = SERVER.get_or_init(|| {
        let scratch = tempfile::tempdir().expect("tempdir");
        let root = scratch.path().join("root");
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("addr").port();
        listener.set_nonblocking(true).expect("nonblocking");
        let cfg = registry_server::Config {
            root: root.clone(),
            htpasswd: None,
        };
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .enable_all()
                .build()
                .expect("runtime");
            rt.block_on(async move {
                let l = tokio::net::TcpListener::from_std(listener).expect("listener");
                let _ = registry_server::serve(cfg, l).await;
            });
        });
        (port, root, scratch)
    });
    let Some((&first, rest)) = data.split_first() else {
        return;
    };
    const METHODS: [&str; 6] = ["GET", "HEAD", "PUT", "POST", "PATCH", "DELETE"];
    let method = METHODS[usize::from(first) % METHODS.len()];
    let (path, body) = match rest.iter().position(|b| *b == b'\n') {
        Some(i) => (&rest[..i], &rest[i + 1..]),
        None => (rest, &[][..]),
    };
    // A request line the HTTP layer would refuse before any handler is not this target's.
    let Ok(path) = std::str::from_utf8(path) else {
        return;
    };
    // Only what a URI may hold (RFC 3986): the HTTP layer refuses the rest before any
    // handler sees it.
    let uri_byte = |b: u8| b.is_ascii_alphanumeric() || b"-._~:/?#[]@!$&'()*+,;=%".contains(&b);
    if !path.starts_with('/') || !path.bytes().all(uri_byte) {
        return;
    }
    let send = |body: &[u8]| -> Option<u16> {
        let mut s = std::net::TcpStream::connect(("127.0.0.1", *port)).ok()?;
        let _ = s.set_read_timeout(Some(std::time::Duration::from_secs(10)));
        let head = format!(
            "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nContent-Type: application/octet-stream\r\nContent-Length: {}\r\n\r\n",
            body.len()
        );
        s.write_all(head.as_bytes()).ok()?;
        let _ = s.write_all(body);
        let mut answer = Vec::new();
        let _ = s.read_to_end(&mut answer);
        let line = String::from_utf8_lossy(&answer[..answer.len().min(64)]).to_string();
        line.split_whitespace().nth(1).and_then(|c| c.parse().ok())
    };
    // A server that answers before reading the whole body (a refused request) closes
    // with bytes unread: the kernel's reset can beat its answer to the client. The
    // request without a body must then be answered.
    let status = send(body)
        .or_else(|| send(&[]))
        .unwrap_or_else(|| panic!("no answer to {method} {path:?}"));
    assert!(status < 500, "{method} {path:?} answered {status}");
    let beside: Vec<_> = std::fs::read_dir(scratch.path())
        .map(|d| d.filter_map(|e| e.ok().map(|e| e.file_name())).collect())
        .unwrap_or_default();
    assert!(
        beside.iter().all(|n| n == "root"),
        "written beside the registry's root: {beside:?}"
    );
    let _ = root;
}
