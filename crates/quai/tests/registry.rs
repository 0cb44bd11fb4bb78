//! End-to-end against Debian's docker-registry 2.8 with skopeo as the other client, all
//! inside a network namespace the test creates (and deletes, with the registry, on drop).

mod common;
mod registry_common;

use std::process::{Command, Stdio};
use std::time::Duration;

use common::*;
use registry_common::*;

#[test]
fn push_and_pull_with_docker_registry_and_skopeo() {
    if !ready("registry_interop") {
        return;
    }
    let tmp = tempfile::tempdir().expect("tmp");
    let mut ns = Netns::new("reg");
    let port = 5000 + (std::process::id() % 1000) as u16;
    ns.start_registry(tmp.path(), port, None);
    let reg = format!("127.0.0.1:{port}");
    let root = tmp.path().join("root");
    let quai = quai();
    let q = |args: &[&str]| {
        let mut a = vec!["--root", root.to_str().expect("utf8")];
        a.extend_from_slice(args);
        ns.cmd(quai.to_str().expect("utf8"), &a)
    };
    let tar = busybox_tar(tmp.path());
    assert!(q(&[
        "import",
        "-c",
        "CMD [\"/bin/sh\"]",
        tar.to_str().expect("utf8"),
        &format!("{reg}/quai/bb:v1")
    ])
    .status
    .success());
    // quai pushes; skopeo reads it back.
    let out = q(&["push", &format!("{reg}/quai/bb:v1")]);
    assert!(out.status.success(), "push: {}", stderr(&out));
    assert!(stdout(&out).contains(": Pushed"), "{}", stdout(&out));
    // Docker's lines: every blob Preparing first, then each one's outcome, then the tag.
    let text = stdout(&out);
    let lines: Vec<&str> = text.lines().collect();
    let last_preparing = lines.iter().rposition(|l| l.ends_with(": Preparing"));
    let first_pushed = lines.iter().position(|l| l.ends_with(": Pushed"));
    assert!(
        last_preparing.is_some() && last_preparing < first_pushed,
        "{lines:?}"
    );
    assert!(
        lines
            .last()
            .is_some_and(|l| l.starts_with("v1: digest: sha256:")),
        "{lines:?}"
    );
    let again = q(&["push", &format!("{reg}/quai/bb:v1")]);
    assert!(
        stdout(&again).contains("Layer already exists"),
        "{}",
        stdout(&again)
    );
    let ins = ns.cmd(
        "skopeo",
        &[
            "inspect",
            "--tls-verify=false",
            "--config",
            &format!("docker://{reg}/quai/bb:v1"),
        ],
    );
    assert!(ins.status.success(), "{}", stderr(&ins));
    let v: serde_json::Value = serde_json::from_slice(&ins.stdout).expect("json");
    assert_eq!(v["config"]["Cmd"], serde_json::json!(["/bin/sh"]));
    // skopeo pushes in Docker schema 2 and in OCI format; quai pulls both.
    let arch = tmp.path().join("d.tar");
    assert!(q(&[
        "save",
        "-o",
        arch.to_str().expect("utf8"),
        &format!("{reg}/quai/bb:v1")
    ])
    .status
    .success());
    for (repo, extra) in [("sk/v2s2", None), ("sk/oci", Some("--format=oci"))] {
        let dst = format!("docker://{reg}/{repo}:t");
        let mut args = vec!["copy", "-q", "--dest-tls-verify=false"];
        args.extend(extra);
        let src = format!("docker-archive:{}", arch.display());
        args.push(&src);
        args.push(&dst);
        let o = ns.cmd("skopeo", &args);
        assert!(o.status.success(), "skopeo {repo}: {}", stderr(&o));
        let fresh = tmp.path().join(format!("root-{}", repo.replace('/', "-")));
        let out = ns.cmd(
            quai.to_str().expect("utf8"),
            &[
                "--root",
                fresh.to_str().expect("utf8"),
                "pull",
                &format!("{reg}/{repo}:t"),
            ],
        );
        assert!(out.status.success(), "pull {repo}: {}", stderr(&out));
        assert!(stdout(&out).contains("Pull complete"), "{}", stdout(&out));
        let store = image::store::ImageStore::open(&fresh).expect("store");
        let id = store.resolve(&format!("{reg}/{repo}:t")).expect("resolve");
        let dirs = store.layer_dirs(&id).expect("unpack");
        assert!(dirs[0].join("bin/busybox").is_file());
        // A second pull downloads nothing.
        let out = ns.cmd(
            quai.to_str().expect("utf8"),
            &[
                "--root",
                fresh.to_str().expect("utf8"),
                "pull",
                &format!("{reg}/{repo}:t"),
            ],
        );
        assert!(stdout(&out).contains("Already exists"), "{}", stdout(&out));
        // RepoDigests, and a pull by that digest.
        let qf = |args: &[&str]| {
            let mut a = vec!["--root", fresh.to_str().expect("utf8")];
            a.extend_from_slice(args);
            ns.cmd(quai.to_str().expect("utf8"), &a)
        };
        let v: serde_json::Value =
            serde_json::from_slice(&qf(&["image", "inspect", &format!("{reg}/{repo}:t")]).stdout)
                .expect("inspect");
        let rd = v[0]["RepoDigests"][0]
            .as_str()
            .expect("repo digest")
            .to_string();
        assert!(rd.starts_with(&format!("{reg}/{repo}@sha256:")), "{rd}");
        let out = qf(&["pull", &rd]);
        assert!(out.status.success(), "pull by digest: {}", stderr(&out));
        let digests = stdout(&qf(&["images", "--digests"]));
        assert!(
            digests.contains(&rd[rd.find('@').expect("@") + 1..]),
            "{digests}"
        );
    }
    // --all-tags pulls every tag of a repository.
    assert!(q(&[
        "tag",
        &format!("{reg}/quai/bb:v1"),
        &format!("{reg}/quai/bb:v9")
    ])
    .status
    .success());
    assert!(q(&["push", &format!("{reg}/quai/bb:v9")]).status.success());
    let all = tmp.path().join("root-all");
    let out = ns.cmd(
        quai.to_str().expect("utf8"),
        &[
            "--root",
            all.to_str().expect("utf8"),
            "pull",
            "-q",
            "--all-tags",
            &format!("{reg}/quai/bb"),
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        stdout(&out),
        format!("{reg}/quai/bb:v1\n{reg}/quai/bb:v9\n")
    );
    // A missing tag is one clear line.
    let out = q(&["pull", &format!("{reg}/quai/bb:nope")]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("manifest unknown"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn basic_auth_needs_login() {
    if !ready("registry_auth") {
        return;
    }
    let tmp = tempfile::tempdir().expect("tmp");
    let htpasswd = tmp.path().join("htpasswd");
    let o = Command::new("htpasswd")
        .args(["-Bbn", "alice", "s3cret"])
        .output()
        .expect("htpasswd");
    std::fs::write(&htpasswd, &o.stdout).expect("write");
    let mut ns = Netns::new("auth");
    let port = 6000 + (std::process::id() % 1000) as u16;
    ns.start_registry(tmp.path(), port, Some(&htpasswd));
    let reg = format!("127.0.0.1:{port}");
    let root = tmp.path().join("root");
    let docker_config = tmp.path().join("docker");
    let quai = quai();
    let q = |args: &[&str], stdin: Option<&str>| {
        let mut a = vec![
            "DOCKER_CONFIG=".to_string() + docker_config.to_str().expect("utf8"),
            quai.to_string_lossy().into_owned(),
            "--root".into(),
            root.to_string_lossy().into_owned(),
        ];
        a.extend(args.iter().map(|s| s.to_string()));
        let refs: Vec<&str> = a.iter().map(String::as_str).collect();
        let mut c = ns.command("env", &refs);
        if let Some(input) = stdin {
            c.stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped());
            let mut child = c.spawn().expect("spawn");
            std::io::Write::write_all(child.stdin.as_mut().expect("stdin"), input.as_bytes())
                .expect("write");
            child.wait_with_output().expect("wait")
        } else {
            c.output().expect("run")
        }
    };
    let tar = busybox_tar(tmp.path());
    assert!(q(
        &[
            "import",
            tar.to_str().expect("utf8"),
            &format!("{reg}/a/bb:1")
        ],
        None
    )
    .status
    .success());
    let out = q(&["push", &format!("{reg}/a/bb:1")], None);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("unauthorized") && stderr(&out).contains("quai login"),
        "{}",
        stderr(&out)
    );
    let out = q(
        &["login", "-u", "alice", "--password-stdin", &reg],
        Some("wrong\n"),
    );
    assert!(!out.status.success(), "a wrong password was accepted");
    let out = q(
        &["login", "-u", "alice", "--password-stdin", &reg],
        Some("s3cret\n"),
    );
    assert!(out.status.success(), "login: {}", stderr(&out));
    assert!(stdout(&out).contains("Login Succeeded"));
    let out = q(&["push", &format!("{reg}/a/bb:1")], None);
    assert!(out.status.success(), "push after login: {}", stderr(&out));
    let out = q(&["logout", &reg], None);
    assert!(stdout(&out).contains("Removing login credentials"));
    // A credential helper named in credHelpers answers instead (Docker's protocol).
    let bin = tmp.path().join("bin");
    std::fs::create_dir_all(&bin).expect("mkdir");
    let helper = bin.join("docker-credential-quaitest");
    std::fs::write(&helper, "#!/bin/sh\nread host\nprintf '{\"ServerURL\":\"%s\",\"Username\":\"alice\",\"Secret\":\"s3cret\"}' \"$host\"\n").expect("helper");
    std::fs::set_permissions(&helper, std::os::unix::fs::PermissionsExt::from_mode(0o755))
        .expect("chmod");
    std::fs::create_dir_all(&docker_config).expect("mkdir");
    std::fs::write(
        docker_config.join("config.json"),
        format!(r#"{{"credHelpers":{{"{reg}":"quaitest"}}}}"#),
    )
    .expect("config");
    let path = format!(
        "PATH={}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let out = ns
        .command(
            "env",
            &[
                &path,
                &format!("DOCKER_CONFIG={}", docker_config.display()),
                quai.to_str().expect("utf8"),
                "--root",
                root.to_str().expect("utf8"),
                "push",
                &format!("{reg}/a/bb:1"),
            ],
        )
        .output()
        .expect("push");
    assert!(
        out.status.success(),
        "push with a credential helper: {}",
        stderr(&out)
    );
}

/// A registry that misbehaves on purpose, served from a thread that joined the test's
/// network namespace.
fn hostile_registry(
    ns: &str,
    port: u16,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    ranges: std::sync::Arc<std::sync::atomic::AtomicUsize>,
) -> std::thread::JoinHandle<()> {
    test_registry(ns, port, stop, ranges, false)
}

/// The same registry; with `bearer`, every /v2 request needs a token from its /token
/// endpoint (and no whole blob is cut short).
fn test_registry(
    ns: &str,
    port: u16,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    ranges: std::sync::Arc<std::sync::atomic::AtomicUsize>,
    bearer: bool,
) -> std::thread::JoinHandle<()> {
    let ns_path = format!("/var/run/netns/{ns}");
    std::thread::spawn(move || {
        use std::io::{BufRead, BufReader, Write};
        use std::os::fd::AsRawFd;
        let f = std::fs::File::open(&ns_path).expect("netns");
        // SAFETY: setns on this thread only, with a namespace fd we own.
        let r = unsafe { libc::setns(f.as_raw_fd(), libc::CLONE_NEWNET) };
        assert_eq!(r, 0, "setns");
        let layer: Vec<u8> = (0..300_000u32).map(|i| (i * 7 % 251) as u8).collect();
        let layer_d = image::store::sha256_of(&layer);
        let config = serde_json::json!({"architecture": "amd64", "os": "linux", "rootfs": {"type": "layers", "diff_ids": [layer_d.to_string()]}}).to_string();
        let config_d = image::store::sha256_of(config.as_bytes());
        let manifest = |size: usize| {
            serde_json::json!({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": config_d.to_string(), "size": config.len()},
                "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": layer_d.to_string(), "size": size}]})
            .to_string()
        };
        let good = manifest(layer.len());
        let lying = manifest(1000);
        let listener = std::net::TcpListener::bind(("127.0.0.1", port)).expect("bind");
        listener.set_nonblocking(true).expect("nonblocking");
        // Whole-blob requests: the first (from the lying manifest) gets everything, the
        // second is cut short, later ones get everything.
        let mut whole_requests = 0;
        while !stop.load(std::sync::atomic::Ordering::Relaxed) {
            let (mut s, _) = match listener.accept() {
                Ok(c) => c,
                Err(_) => {
                    std::thread::sleep(Duration::from_millis(5));
                    continue;
                }
            };
            s.set_nonblocking(false).expect("blocking");
            let mut r = BufReader::new(s.try_clone().expect("clone"));
            let mut line = String::new();
            if r.read_line(&mut line).is_err() {
                continue;
            }
            let path = line.split_whitespace().nth(1).unwrap_or("/").to_string();
            let mut range = None;
            let mut token_ok = false;
            loop {
                let mut h = String::new();
                if r.read_line(&mut h).unwrap_or(0) == 0 || h == "\r\n" {
                    break;
                }
                if let Some(v) = h.to_ascii_lowercase().strip_prefix("range: bytes=") {
                    range = v.trim().trim_end_matches('-').parse::<usize>().ok();
                }
                if h.trim_end() == "authorization: Bearer t0ken"
                    || h.trim_end() == "Authorization: Bearer t0ken"
                {
                    token_ok = true;
                }
            }
            let send = |s: &mut std::net::TcpStream,
                        status: &str,
                        headers: &[(&str, String)],
                        body: &[u8],
                        len: usize| {
                let mut head =
                    format!("HTTP/1.1 {status}\r\nContent-Length: {len}\r\nConnection: close\r\n");
                for (k, v) in headers {
                    head.push_str(&format!("{k}: {v}\r\n"));
                }
                head.push_str("\r\n");
                let _ = s.write_all(head.as_bytes());
                let _ = s.write_all(body);
            };
            let mt = (
                "Content-Type",
                "application/vnd.oci.image.manifest.v1+json".to_string(),
            );
            if bearer && path.starts_with("/token") {
                let ok =
                    path.contains("scope=repository:x:pull") && path.contains("service=quai-test");
                let body: &[u8] = if ok {
                    br#"{"token":"t0ken"}"#
                } else {
                    br#"{"errors":[]}"#
                };
                send(
                    &mut s,
                    if ok { "200 OK" } else { "403 Forbidden" },
                    &[],
                    body,
                    body.len(),
                );
                continue;
            }
            if bearer && !token_ok {
                let challenge = format!("Bearer realm=\"http://127.0.0.1:{port}/token\",service=\"quai-test\",scope=\"repository:x:pull\"");
                send(
                    &mut s,
                    "401 Unauthorized",
                    &[("WWW-Authenticate", challenge)],
                    b"{}",
                    2,
                );
                continue;
            }
            match path.as_str() {
                "/v2/" => send(&mut s, "200 OK", &[], b"{}", 2),
                "/v2/x/manifests/baddigest" => {
                    let wrong = image::store::sha256_of(b"something else").to_string();
                    send(
                        &mut s,
                        "200 OK",
                        &[mt, ("Docker-Content-Digest", wrong)],
                        good.as_bytes(),
                        good.len(),
                    )
                }
                "/v2/x/manifests/lying" => {
                    send(&mut s, "200 OK", &[mt], lying.as_bytes(), lying.len())
                }
                "/v2/x/manifests/trunc" => {
                    send(&mut s, "200 OK", &[mt], good.as_bytes(), good.len())
                }
                p if p == format!("/v2/x/blobs/{config_d}") => {
                    send(&mut s, "200 OK", &[], config.as_bytes(), config.len())
                }
                p if p == format!("/v2/x/blobs/{layer_d}") => match range {
                    Some(off) => {
                        ranges.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        let rest = &layer[off..];
                        let cr = (
                            "Content-Range",
                            format!("bytes {off}-{}/{}", layer.len() - 1, layer.len()),
                        );
                        send(&mut s, "206 Partial Content", &[cr], rest, rest.len())
                    }
                    None => {
                        whole_requests += 1;
                        if whole_requests == 2 && !bearer {
                            // Announce the whole blob, send a third, hang up.
                            send(&mut s, "200 OK", &[], &layer[..100_000], layer.len())
                        } else {
                            send(&mut s, "200 OK", &[], &layer, layer.len())
                        }
                    }
                },
                _ => send(
                    &mut s,
                    "404 Not Found",
                    &[],
                    br#"{"errors":[{"code":"MANIFEST_UNKNOWN","message":"unknown"}]}"#,
                    61,
                ),
            }
        }
    })
}

#[test]
fn hostile_registry_answers_are_refused_and_a_cut_download_resumes() {
    if !ready("hostile_registry") {
        return;
    }
    let tmp = tempfile::tempdir().expect("tmp");
    let ns = Netns::new("hostile");
    let port = 7000 + (std::process::id() % 1000) as u16;
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let ranges = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let server = hostile_registry(&ns.name, port, stop.clone(), ranges.clone());
    std::thread::sleep(Duration::from_millis(200));
    let root = tmp.path().join("root");
    let quai = quai();
    let q = |args: &[&str]| {
        let mut a = vec!["--root", root.to_str().expect("utf8")];
        a.extend_from_slice(args);
        ns.cmd(quai.to_str().expect("utf8"), &a)
    };
    let reg = format!("127.0.0.1:{port}");
    let out = q(&["pull", &format!("{reg}/x:baddigest")]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("manifest digest mismatch"),
        "{}",
        stderr(&out)
    );
    let out = q(&["pull", &format!("{reg}/x:lying")]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("larger than its descriptor"),
        "{}",
        stderr(&out)
    );
    // The connection drops a third into the layer: an error, no image, no visible blob...
    let out = q(&["pull", &format!("{reg}/x:trunc")]);
    assert!(!out.status.success(), "{}", stdout(&out));
    assert!(
        stderr(&out).contains("interrupted") || stderr(&out).contains("size mismatch"),
        "{}",
        stderr(&out)
    );
    assert_eq!(stdout(&q(&["images", "-q"])), "");
    // ...and the next pull resumes from where it stopped (a Range request) and completes.
    let out = q(&["pull", &format!("{reg}/x:trunc")]);
    assert!(out.status.success(), "resume: {}", stderr(&out));
    assert_eq!(
        ranges.load(std::sync::atomic::Ordering::Relaxed),
        1,
        "the second pull did not resume with a Range"
    );
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let _ = server.join();
    let store = image::store::ImageStore::open(&root).expect("store");
    let id = store.resolve(&format!("{reg}/x:trunc")).expect("resolve");
    for d in store.content().list().expect("blobs") {
        store
            .content()
            .verify(&d)
            .expect("every blob matches its digest");
    }
    let _ = id;
}

impl Netns {
    fn start_quai_registry(
        &mut self,
        dir: &std::path::Path,
        port: u16,
        htpasswd: Option<&std::path::Path>,
    ) {
        self.start_quai_registry_with(dir, port, htpasswd, None);
    }

    fn start_quai_registry_with(
        &mut self,
        dir: &std::path::Path,
        port: u16,
        htpasswd: Option<&std::path::Path>,
        tls: Option<(&std::path::Path, &std::path::Path)>,
    ) {
        let addr = format!("127.0.0.1:{port}");
        let root = dir.join("quai-registry");
        let mut args = vec![
            "registry",
            "serve",
            "--addr",
            &addr,
            "--root",
            root.to_str().expect("utf8"),
        ];
        let h = htpasswd.map(|p| p.to_string_lossy().into_owned());
        if let Some(h) = &h {
            args.extend(["--htpasswd", h.as_str()]);
        }
        let t = tls.map(|(c, k)| {
            (
                c.to_string_lossy().into_owned(),
                k.to_string_lossy().into_owned(),
            )
        });
        if let Some((c, k)) = &t {
            args.extend(["--tls-cert", c.as_str(), "--tls-key", k.as_str()]);
        }
        let scheme = if tls.is_some() { "https" } else { "http" };
        let url = format!("{scheme}://{addr}/v2/");
        let quai = quai();
        self.spawn_server(
            quai.to_str().expect("utf8"),
            &args,
            &dir.join("quai-registry.log"),
            &url,
        );
    }
}

#[test]
fn quai_registry_serves_skopeo_and_quai() {
    if !ready("quai_registry") {
        return;
    }
    let tmp = tempfile::tempdir().expect("tmp");
    let mut ns = Netns::new("qreg");
    let port = 8000 + (std::process::id() % 1000) as u16;
    ns.start_quai_registry(tmp.path(), port, None);
    let reg = format!("127.0.0.1:{port}");
    let root = tmp.path().join("root");
    let quai = quai();
    let q = |args: &[&str]| {
        let mut a = vec!["--root", root.to_str().expect("utf8")];
        a.extend_from_slice(args);
        ns.cmd(quai.to_str().expect("utf8"), &a)
    };
    let tar = busybox_tar(tmp.path());
    assert!(q(&[
        "import",
        tar.to_str().expect("utf8"),
        &format!("{reg}/a/bb:v1")
    ])
    .status
    .success());
    let arch = tmp.path().join("d.tar");
    assert!(q(&[
        "save",
        "-o",
        arch.to_str().expect("utf8"),
        &format!("{reg}/a/bb:v1")
    ])
    .status
    .success());
    // skopeo pushes (schema 2 and OCI) and pulls back.
    for (repo, extra) in [("sk/v2s2", None), ("sk/oci", Some("--format=oci"))] {
        let src = format!("docker-archive:{}", arch.display());
        let dst = format!("docker://{reg}/{repo}:t");
        let mut args = vec!["copy", "-q", "--dest-tls-verify=false"];
        args.extend(extra);
        args.push(&src);
        args.push(&dst);
        let o = ns.cmd("skopeo", &args);
        assert!(o.status.success(), "skopeo push {repo}: {}", stderr(&o));
        let out_dir = tmp.path().join(repo.replace('/', "-"));
        let o = ns.cmd(
            "skopeo",
            &[
                "copy",
                "-q",
                "--src-tls-verify=false",
                &dst,
                &format!("oci:{}:x", out_dir.display()),
            ],
        );
        assert!(o.status.success(), "skopeo pull {repo}: {}", stderr(&o));
        let o = ns.cmd(
            quai.to_str().expect("utf8"),
            &[
                "--root",
                tmp.path()
                    .join(format!("r-{}", repo.replace('/', "-")))
                    .to_str()
                    .expect("utf8"),
                "pull",
                &format!("{reg}/{repo}:t"),
            ],
        );
        assert!(o.status.success(), "quai pull {repo}: {}", stderr(&o));
    }
    // quai pushes; tags, catalog, pagination.
    assert!(q(&["push", &format!("{reg}/a/bb:v1")]).status.success());
    assert!(
        q(&["tag", &format!("{reg}/a/bb:v1"), &format!("{reg}/a/bb:v2")])
            .status
            .success()
    );
    assert!(q(&["push", &format!("{reg}/a/bb:v2")]).status.success());
    // A new repository of the same registry: blobs are mounted, not uploaded again.
    assert!(q(&[
        "tag",
        &format!("{reg}/a/bb:v1"),
        &format!("{reg}/b/copy:v1")
    ])
    .status
    .success());
    let out = q(&["push", &format!("{reg}/b/copy:v1")]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("Mounted from a/bb"),
        "{}",
        stdout(&out)
    );
    let o = ns.cmd(
        "skopeo",
        &[
            "inspect",
            "--tls-verify=false",
            &format!("docker://{reg}/b/copy:v1"),
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let o = ns.cmd(
        "skopeo",
        &[
            "list-tags",
            "--tls-verify=false",
            &format!("docker://{reg}/a/bb"),
        ],
    );
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("tags");
    assert_eq!(v["Tags"], serde_json::json!(["v1", "v2"]));
    let o = ns.cmd(
        "curl",
        &["-si", &format!("http://{reg}/v2/a/bb/tags/list?n=1")],
    );
    let text = stdout(&o);
    assert!(
        text.contains("rel=\"next\"") && text.contains("\"tags\":[\"v1\"]"),
        "{text}"
    );
    let o = ns.cmd("curl", &["-s", &format!("http://{reg}/v2/_catalog")]);
    assert_eq!(
        stdout(&o),
        r#"{"repositories":["a/bb","b/copy","sk/oci","sk/v2s2"]}"#
    );
    // A manifest whose digest does not match its reference is refused with the spec's code.
    let o = ns.cmd(
        "curl",
        &[
            "-s",
            "-X",
            "PUT",
            "-H",
            "Content-Type: application/vnd.oci.image.manifest.v1+json",
            "--data",
            "{}",
            &format!("http://{reg}/v2/a/bb/manifests/sha256:{}", "0".repeat(64)),
        ],
    );
    assert!(stdout(&o).contains("DIGEST_INVALID"), "{}", stdout(&o));
    // Blobs a manifest names must exist.
    let o = ns.cmd(
        "curl",
        &[
            "-s",
            "-X",
            "PUT",
            "-H",
            "Content-Type: application/vnd.oci.image.manifest.v1+json",
            "--data",
            &format!(
                r#"{{"schemaVersion":2,"config":{{"digest":"sha256:{}","size":1}},"layers":[]}}"#,
                "1".repeat(64)
            ),
            &format!("http://{reg}/v2/a/bb/manifests/x"),
        ],
    );
    assert!(
        stdout(&o).contains("MANIFEST_BLOB_UNKNOWN"),
        "{}",
        stdout(&o)
    );
    // A blob above the chunk size goes up in PATCH chunks, and comes back intact.
    let big = tmp.path().join("big");
    std::fs::create_dir_all(&big).expect("mkdir");
    let mut data = vec![0u8; 34 * 1024 * 1024];
    let mut x: u32 = 12345;
    for b in data.iter_mut() {
        x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
        *b = (x >> 24) as u8;
    }
    std::fs::write(big.join("blob"), &data).expect("write");
    let big_tar = tmp.path().join("big.tar");
    assert!(Command::new("tar")
        .arg("-C")
        .arg(&big)
        .args(["-cf"])
        .arg(&big_tar)
        .arg(".")
        .status()
        .expect("tar")
        .success());
    assert!(q(&[
        "import",
        big_tar.to_str().expect("utf8"),
        &format!("{reg}/big/img:1")
    ])
    .status
    .success());
    let out = q(&["push", &format!("{reg}/big/img:1")]);
    assert!(out.status.success(), "chunked push: {}", stderr(&out));
    let fresh = tmp.path().join("root-big");
    let out = ns.cmd(
        quai.to_str().expect("utf8"),
        &[
            "--root",
            fresh.to_str().expect("utf8"),
            "pull",
            &format!("{reg}/big/img:1"),
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    // Garbage collection: once sk/oci's manifest is deleted, its blobs go, the rest stay.
    let ins = ns.cmd(
        "skopeo",
        &[
            "inspect",
            "--tls-verify=false",
            &format!("docker://{reg}/sk/oci:t"),
        ],
    );
    let v: serde_json::Value = serde_json::from_slice(&ins.stdout).expect("inspect");
    let digest = v["Digest"].as_str().expect("digest").to_string();
    let o = ns.cmd(
        "curl",
        &[
            "-s",
            "-o",
            "/dev/null",
            "-w",
            "%{http_code}",
            "-X",
            "DELETE",
            &format!("http://{reg}/v2/sk/oci/manifests/{digest}"),
        ],
    );
    assert_eq!(stdout(&o), "202");
    let o = Command::new(&quai)
        .args(["registry", "gc", "--root"])
        .arg(tmp.path().join("quai-registry"))
        .output()
        .expect("gc");
    assert!(o.status.success(), "{}", stderr(&o));
    let removed: u64 = stdout(&o)
        .split_whitespace()
        .next()
        .and_then(|n| n.parse().ok())
        .expect("count");
    assert!(removed >= 1, "{}", stdout(&o));
    let out = q(&["pull", &format!("{reg}/sk/oci:t")]);
    assert!(!out.status.success());
    let out = q(&["pull", &format!("{reg}/a/bb:v1")]);
    assert!(
        out.status.success(),
        "a/bb must survive gc: {}",
        stderr(&out)
    );
}

#[test]
fn quai_registry_basic_auth() {
    if !ready("quai_registry_auth") {
        return;
    }
    let tmp = tempfile::tempdir().expect("tmp");
    let htpasswd = tmp.path().join("htpasswd");
    let o = Command::new("htpasswd")
        .args(["-Bbn", "bob", "pw"])
        .output()
        .expect("htpasswd");
    std::fs::write(&htpasswd, &o.stdout).expect("write");
    let mut ns = Netns::new("qauth");
    let port = 9000 + (std::process::id() % 500) as u16;
    ns.start_quai_registry(tmp.path(), port, Some(&htpasswd));
    let reg = format!("127.0.0.1:{port}");
    let tar = busybox_tar(tmp.path());
    let arch = tmp.path().join("d.tar");
    let root = tmp.path().join("root");
    assert!(Command::new(quai())
        .arg("--root")
        .arg(&root)
        .args(["import", tar.to_str().expect("utf8"), "x"])
        .status()
        .expect("import")
        .success());
    assert!(Command::new(quai())
        .arg("--root")
        .arg(&root)
        .args(["save", "-o", arch.to_str().expect("utf8"), "x"])
        .status()
        .expect("save")
        .success());
    let src = format!("docker-archive:{}", arch.display());
    let dst = format!("docker://{reg}/p/x:1");
    let o = ns.cmd(
        "skopeo",
        &["copy", "-q", "--dest-tls-verify=false", &src, &dst],
    );
    assert!(!o.status.success(), "pushed without credentials");
    let o = ns.cmd(
        "skopeo",
        &[
            "copy",
            "-q",
            "--dest-tls-verify=false",
            "--dest-creds",
            "bob:pw",
            &src,
            &dst,
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let o = ns.cmd(
        "skopeo",
        &["inspect", "--tls-verify=false", "--creds", "bob:pw", &dst],
    );
    assert!(o.status.success(), "{}", stderr(&o));
}

#[test]
fn quai_registry_over_tls() {
    if !ready("quai_registry_tls") || !have("openssl") {
        return;
    }
    let tmp = tempfile::tempdir().expect("tmp");
    let (cert, key) = (tmp.path().join("cert.pem"), tmp.path().join("key.pem"));
    let o = Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
            "-keyout",
        ])
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output()
        .expect("openssl");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let mut ns = Netns::new("qtls");
    let port = 9600 + (std::process::id() % 300) as u16;
    ns.start_quai_registry_with(tmp.path(), port, None, Some((&cert, &key)));
    let reg = format!("127.0.0.1:{port}");
    let root = tmp.path().join("root");
    let tar = busybox_tar(tmp.path());
    let q = |args: &[&str]| {
        let mut a = vec!["--root", root.to_str().expect("utf8")];
        a.extend_from_slice(args);
        ns.cmd(quai().to_str().expect("utf8"), &a)
    };
    assert!(q(&[
        "import",
        tar.to_str().expect("utf8"),
        &format!("{reg}/t/bb:1")
    ])
    .status
    .success());
    // A self-signed certificate is refused unless the user says otherwise.
    let out = q(&["push", &format!("{reg}/t/bb:1")]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("certificate"), "{}", stderr(&out));
    let out = q(&["push", "--tls-verify=false", &format!("{reg}/t/bb:1")]);
    assert!(out.status.success(), "{}", stderr(&out));
    let o = ns.cmd(
        "skopeo",
        &[
            "inspect",
            "--tls-verify=false",
            &format!("docker://{reg}/t/bb:1"),
        ],
    );
    assert!(o.status.success(), "skopeo over TLS: {}", stderr(&o));
    // Plain HTTP to the TLS port gets nothing useful: the server only speaks TLS.
    let o = ns.cmd(
        "curl",
        &[
            "-s",
            "-o",
            "/dev/null",
            "-w",
            "%{http_code}",
            &format!("http://{reg}/v2/"),
        ],
    );
    assert_ne!(stdout(&o), "200");
}

#[test]
fn bearer_token_auth() {
    if !ready("bearer") {
        return;
    }
    let tmp = tempfile::tempdir().expect("tmp");
    let ns = Netns::new("bearer");
    let port = 9900 + (std::process::id() % 90) as u16;
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let server = test_registry(
        &ns.name,
        port,
        stop.clone(),
        std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0)),
        true,
    );
    std::thread::sleep(Duration::from_millis(200));
    let root = tmp.path().join("root");
    let out = ns.cmd(
        quai().to_str().expect("utf8"),
        &[
            "--root",
            root.to_str().expect("utf8"),
            "pull",
            &format!("127.0.0.1:{port}/x:trunc"),
        ],
    );
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let _ = server.join();
    assert!(
        out.status.success(),
        "pull with a bearer token: {}",
        stderr(&out)
    );
    assert!(stdout(&out).contains("Pull complete"), "{}", stdout(&out));
}
