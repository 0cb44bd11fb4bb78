//! `quai system service`, driven by the docker CLI: images (tag, rmi, history, save,
//! load, import, commit, prune, push, login), containers' files and use (export, cp both
//! ways, stats, update), disk usage and prunes, network connect and disconnect, and
//! bodies the service must refuse. Each test has its own engine, network namespace and
//! service; dockerd's words and exit codes are the oracle. (`exec` is quai's own: the
//! API's exec is not part of these.)

mod api_common;
mod common;
mod engine_common;

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use api_common::{docker_cli, text};
use engine_common::{root_or_skip, Eng};

/// A process of this test's, stopped (by its pid) when dropped.
struct Child(std::process::Child);

impl Drop for Child {
    fn drop(&mut self) {
        let _ = Command::new("kill").arg(self.0.id().to_string()).status();
        let _ = self.0.wait();
    }
}

/// An engine, the service over it on a socket in the test's dir, and the docker CLI
/// pointed at it. (The service goes before the engine cleans up.)
struct Api {
    svc: Option<Child>,
    e: Eng,
    sock: PathBuf,
    cli: &'static str,
    cfg: PathBuf,
}

impl Api {
    fn start(test: &str) -> Option<Api> {
        if !root_or_skip(test) {
            return None;
        }
        let Some(cli) = docker_cli() else {
            eprintln!("SKIP {test}: no docker CLI (apt-get install -y docker.io)");
            return None;
        };
        let e = Eng::new();
        let sock = e.dir.path().join("docker.sock");
        let svc = Child(
            e.cmd(&["system", "service", &format!("unix://{}", sock.display())])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("service"),
        );
        assert!(e.until(10, || sock.exists()), "no socket");
        let cfg = e.dir.path().join("docker-config");
        Some(Api {
            svc: Some(svc),
            e,
            sock,
            cli,
            cfg,
        })
    }

    /// What the engine left behind, the service stopped first.
    fn leaks(&mut self, ids: &[String]) -> Vec<String> {
        self.svc = None;
        self.e.leaks(ids)
    }

    fn cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new(self.cli);
        c.arg("-H")
            .arg(format!("unix://{}", self.sock.display()))
            .args(args)
            .env("DOCKER_CONFIG", &self.cfg)
            .current_dir(self.e.dir.path());
        c
    }

    fn d(&self, args: &[&str]) -> Output {
        self.cmd(args)
            .stdin(Stdio::null())
            .output()
            .expect("docker")
    }

    /// `docker ARGS` with `input` on its stdin.
    fn d_in(&self, args: &[&str], input: &[u8]) -> Output {
        let mut c = self
            .cmd(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("docker");
        let mut i = c.stdin.take().expect("stdin");
        let data = input.to_vec();
        let w = std::thread::spawn(move || {
            let _ = i.write_all(&data);
        });
        let o = c.wait_with_output().expect("docker");
        let _ = w.join();
        o
    }

    fn ok(&self, args: &[&str]) -> String {
        let o = self.d(args);
        assert!(o.status.success(), "docker {args:?}: {}", text(&o));
        String::from_utf8_lossy(&o.stdout).trim().to_string()
    }

    /// `docker ARGS` fails as dockerd's CLI fails: exit 1 and `want` in what it says.
    fn fails(&self, args: &[&str], want: &str) {
        let o = self.d(args);
        assert_eq!(o.status.code(), Some(1), "docker {args:?}: {}", text(&o));
        assert!(text(&o).contains(want), "docker {args:?}: {}", text(&o));
    }

    fn path(&self, name: &str) -> String {
        self.e.dir.path().join(name).display().to_string()
    }

    /// A raw HTTP/1.1 request on the socket: the status and the body.
    fn raw(&self, method: &str, path: &str, body: &[u8]) -> (u16, String) {
        let mut s = std::os::unix::net::UnixStream::connect(&self.sock).expect("connect");
        s.set_read_timeout(Some(std::time::Duration::from_secs(20)))
            .expect("timeout");
        let head = format!(
            "{method} {path} HTTP/1.1\r\nHost: docker\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            body.len()
        );
        s.write_all(head.as_bytes()).expect("send");
        s.write_all(body).expect("send body");
        let mut out = Vec::new();
        let _ = s.read_to_end(&mut out);
        let text = String::from_utf8_lossy(&out).into_owned();
        let status = text
            .split_whitespace()
            .nth(1)
            .and_then(|c| c.parse().ok())
            .unwrap_or(0);
        let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
        let chunked = head
            .to_ascii_lowercase()
            .contains("transfer-encoding: chunked");
        (
            status,
            if chunked {
                dechunk(body)
            } else {
                body.to_string()
            },
        )
    }
}

/// A chunked HTTP/1.1 body, joined.
fn dechunk(mut b: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = b.split_once("\r\n") {
        let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if n == 0 || rest.len() < n {
            break;
        }
        out.push_str(&rest[..n]);
        b = rest[n..].trim_start_matches("\r\n");
    }
    out
}

/// The entries of a tar, with the contents of its files.
fn tar_entries(data: &[u8]) -> Vec<(String, Vec<u8>)> {
    let mut ar = tar::Archive::new(data);
    ar.entries()
        .expect("tar")
        .map(|en| {
            let mut en = en.expect("entry");
            let name = en.path().expect("path").display().to_string();
            let mut content = Vec::new();
            en.read_to_end(&mut content).expect("content");
            (name, content)
        })
        .collect()
}

#[test]
fn images_tag_rmi_history_commit_save_load_import_prune() {
    let Some(mut a) = Api::start("images_tag_rmi_history_commit_save_load_import_prune") else {
        return;
    };
    // tag and rmi, and their errors in dockerd's words.
    a.ok(&["tag", "localbusybox", "mytag:v1"]);
    let names = a.ok(&["images", "--format", "{{.Repository}}:{{.Tag}}"]);
    assert!(names.lines().any(|l| l == "mytag:v1"), "{names}");
    a.fails(
        &["tag", "nosuch", "other:v1"],
        "Error response from daemon: No such image: nosuch:latest",
    );
    a.fails(
        &["rmi", "nosuch"],
        "Error response from daemon: No such image: nosuch:latest",
    );
    assert_eq!(a.ok(&["rmi", "mytag:v1"]), "Untagged: mytag:v1");
    // history: the import's entry, with the image's id on top.
    let id = a.ok(&["inspect", "-f", "{{.Id}}", "localbusybox"]);
    let h = a.ok(&[
        "history",
        "--no-trunc",
        "--format",
        "{{.ID}}|{{.CreatedBy}}",
        "localbusybox",
    ]);
    assert!(h.starts_with(&format!("{id}|")), "{h}");
    // commit: a container's change and a new command, seen by a run of the image.
    a.ok(&[
        "run",
        "-d",
        "--name",
        "c1",
        "--network",
        "none",
        "localbusybox",
        "sh",
        "-c",
        "echo committed > /marker; sleep 60",
    ]);
    assert!(a.e.until(5, || a
        .e
        .q(&["exec", "c1", "cat", "/marker"])
        .stdout
        .starts_with(b"committed")));
    let new = a.ok(&[
        "commit",
        "-c",
        "CMD [\"cat\", \"/marker\"]",
        "-m",
        "the marker",
        "-a",
        "me",
        "c1",
        "roundtrip:v1",
    ]);
    assert!(new.starts_with("sha256:") && new.len() == 71, "{new}");
    assert_eq!(
        a.ok(&["run", "--rm", "--network", "none", "roundtrip:v1"]),
        "committed"
    );
    assert_eq!(
        a.ok(&["inspect", "-f", "{{.Author}}", "roundtrip:v1"]),
        "me"
    );
    let h = a.ok(&["history", "--format", "{{.Comment}}", "roundtrip:v1"]);
    assert_eq!(h.lines().next(), Some("the marker"), "{h}");
    a.fails(&["commit", "nosuch", "x:y"], "No such container: nosuch");
    // save (to a file and to a pipe), rmi, load, run.
    let tarball = a.path("rt.tar");
    a.ok(&["save", "-o", &tarball, "roundtrip:v1"]);
    let saved = std::fs::read(&tarball).expect("saved");
    let names: Vec<String> = tar_entries(&saved).into_iter().map(|(n, _)| n).collect();
    assert!(names.iter().any(|n| n == "manifest.json"), "{names:?}");
    let piped = a.d(&["save", "roundtrip:v1"]);
    assert!(piped.status.success(), "{}", text(&piped));
    assert!(tar_entries(&piped.stdout)
        .iter()
        .any(|(n, _)| n == "manifest.json"));
    a.fails(
        &["save", "nosuch"],
        "Error response from daemon: No such image: nosuch",
    );
    a.ok(&["rm", "-f", "c1"]);
    let rmi = a.ok(&["rmi", "roundtrip:v1"]);
    assert!(
        rmi.contains("Untagged: roundtrip:v1") && rmi.contains(&format!("Deleted: {new}")),
        "{rmi}"
    );
    assert!(!a.ok(&["images"]).contains("roundtrip"));
    assert_eq!(
        a.ok(&["load", "-i", &tarball]),
        "Loaded image: roundtrip:v1"
    );
    assert_eq!(a.ok(&["inspect", "-f", "{{.Id}}", "roundtrip:v1"]), new);
    assert_eq!(
        a.ok(&["run", "--rm", "--network", "none", "roundtrip:v1"]),
        "committed"
    );
    // load from stdin, quietly as the CLI asks when its output is not a terminal.
    a.ok(&["rmi", "roundtrip:v1"]);
    let o = a.d_in(&["load"], &saved);
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(
        String::from_utf8_lossy(&o.stdout).trim(),
        "Loaded image: roundtrip:v1"
    );
    // A bad archive is refused with an error, and nothing is left.
    let o = a.d_in(&["load"], b"not a tar at all");
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    // import: a root file system tar (from a file and from stdin) with changes.
    let rootfs = common::busybox_tar(&a.e.dir.path().join("imp"));
    let rootfs = rootfs.display().to_string();
    let imported = a.ok(&[
        "import",
        "-c",
        "CMD [\"echo\", \"imported\"]",
        "-m",
        "from a tar",
        &rootfs,
        "imported:v1",
    ]);
    assert!(imported.starts_with("sha256:"), "{imported}");
    assert_eq!(
        a.ok(&["run", "--rm", "--network", "none", "imported:v1"]),
        "imported"
    );
    assert_eq!(
        a.ok(&["history", "--format", "{{.Comment}}", "imported:v1"]),
        "from a tar"
    );
    let o = a.d_in(
        &["import", "-", "imported:v2"],
        &std::fs::read(&rootfs).expect("tar"),
    );
    assert!(o.status.success(), "{}", text(&o));
    assert!(String::from_utf8_lossy(&o.stdout).starts_with("sha256:"));
    a.fails(&["import", "-c", "BOGUS x", &rootfs, "bad:v1"], "BOGUS");
    // search answers (with nothing: no index is reachable).
    assert!(a.ok(&["search", "busybox"]).starts_with("NAME"));
    // image prune: a dangling image goes, named ones stay.
    a.ok(&[
        "run",
        "--name",
        "c2",
        "--network",
        "none",
        "localbusybox",
        "touch",
        "/x",
    ]);
    let dangling = a.ok(&["commit", "c2"]);
    a.ok(&["rm", "c2"]);
    let pruned = a.ok(&["image", "prune", "-f"]);
    assert!(
        pruned.contains("Deleted Images:") && pruned.contains(&format!("deleted: {dangling}")),
        "{pruned}"
    );
    assert!(pruned.contains("Total reclaimed space:"), "{pruned}");
    let left = a.ok(&["images", "--format", "{{.Repository}}:{{.Tag}}"]);
    for n in [
        "localbusybox:latest",
        "roundtrip:v1",
        "imported:v1",
        "imported:v2",
    ] {
        assert!(left.lines().any(|l| l == n), "{n} pruned: {left}");
    }
    // rmi of an image a container uses: dockerd's conflict.
    a.ok(&[
        "create",
        "--name",
        "user",
        "--network",
        "none",
        "imported:v2",
        "true",
    ]);
    a.fails(
        &["rmi", "imported:v2"],
        "conflict: unable to remove repository reference \"imported:v2\" (must force) - container",
    );
    a.ok(&["rm", "user"]);
    assert_eq!(a.leaks(&[]), Vec::<String>::new());
}

#[test]
fn push_and_login_through_the_api() {
    let Some(mut a) = Api::start("push_and_login_through_the_api") else {
        return;
    };
    let htpasswd = a.e.dir.path().join("htpasswd");
    let o = Command::new("htpasswd")
        .args(["-Bbn", "alice", "s3cret"])
        .output()
        .expect("htpasswd");
    assert!(o.status.success(), "htpasswd");
    std::fs::write(&htpasswd, &o.stdout).expect("write");
    let regdir = a.e.dir.path().join("registry");
    let registry = Child(
        a.e.cmd(&[
            "registry",
            "serve",
            "--addr",
            "127.0.0.1:5000",
            "--root",
            regdir.to_str().expect("utf-8"),
            "--htpasswd",
            htpasswd.to_str().expect("utf-8"),
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("registry"),
    );
    let reg = "127.0.0.1:5000";
    assert!(a.e.until(10, || a
        .e
        .in_netns(
            "curl",
            &["-s", "-o", "/dev/null", "http://127.0.0.1:5000/v2/"]
        )
        .status
        .success()));
    a.ok(&["tag", "localbusybox", &format!("{reg}/t/bb:v1")]);
    // Without credentials the registry refuses the push (in-band, exit 1).
    let o = a.d(&["push", &format!("{reg}/t/bb:v1")]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(text(&o).contains(&format!("The push refers to repository [{reg}/t/bb]")));
    assert!(
        text(&o).contains("no basic auth credentials"),
        "{}",
        text(&o)
    );
    // A wrong password: dockerd's 401 and words; nothing stored.
    let o = a.d_in(
        &["login", "-u", "alice", "--password-stdin", reg],
        b"wrong\n",
    );
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(
        text(&o).contains(&format!(
            "Error response from daemon: login attempt to http://{reg}/v2/ failed with status: 401 Unauthorized"
        )),
        "{}",
        text(&o)
    );
    let o = a.d_in(
        &["login", "-u", "alice", "--password-stdin", reg],
        b"s3cret\n",
    );
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("Login Succeeded"), "{}", text(&o));
    // The push, with the credentials the CLI sends, and dockerd's lines.
    let out = a.ok(&["push", &format!("{reg}/t/bb:v1")]);
    assert!(
        out.contains(&format!("The push refers to repository [{reg}/t/bb]")),
        "{out}"
    );
    assert!(out.contains(": Pushed"), "{out}");
    let last = out.lines().last().unwrap_or_default();
    assert!(
        last.starts_with("v1: digest: sha256:") && last.contains(" size: "),
        "{out}"
    );
    // Pushed again: the layer is there already.
    assert!(a
        .ok(&["push", &format!("{reg}/t/bb:v1")])
        .contains("Layer already exists"));
    // And back: removed, pulled through the API with the same credentials, run.
    a.ok(&["rmi", &format!("{reg}/t/bb:v1")]);
    let pulled = a.ok(&["pull", &format!("{reg}/t/bb:v1")]);
    assert!(pulled.contains("Downloaded newer image"), "{pulled}");
    assert_eq!(
        a.ok(&[
            "run",
            "--rm",
            "--network",
            "none",
            &format!("{reg}/t/bb:v1"),
            "echo",
            "pulled"
        ]),
        "pulled"
    );
    a.fails(
        &["push", &format!("{reg}/t/nosuch:v1")],
        &format!("An image does not exist locally with the tag: {reg}/t/nosuch"),
    );
    drop(registry);
    assert_eq!(a.leaks(&[]), Vec::<String>::new());
}

#[test]
fn export_cp_stats_update_through_the_api() {
    let Some(mut a) = Api::start("export_cp_stats_update_through_the_api") else {
        return;
    };
    a.ok(&[
        "run",
        "-d",
        "--name",
        "box",
        "--network",
        "none",
        "localbusybox",
        "sh",
        "-c",
        "echo inside > /f; mkdir -p /d/e; echo deep > /d/e/y; ln -s /d/e/y /link; sleep 60",
    ]);
    assert!(a.e.until(5, || a
        .e
        .q(&["exec", "box", "test", "-e", "/link"])
        .status
        .success()));
    // export: the whole file system, with what the container wrote.
    let o = a.d(&["export", "box"]);
    assert!(o.status.success(), "{}", text(&o));
    let entries = tar_entries(&o.stdout);
    assert!(
        entries
            .iter()
            .any(|(n, c)| n.trim_start_matches("./") == "f" && c == b"inside\n"),
        "no /f in the export"
    );
    assert!(entries
        .iter()
        .any(|(n, _)| n.trim_start_matches("./") == "bin/busybox"));
    a.fails(&["export", "nosuch"], "No such container: nosuch");
    // cp out: a file, a directory, a symlink (as a link), to stdout as a tar.
    let out = a.path("f.out");
    a.ok(&["cp", "box:/f", &out]);
    assert_eq!(std::fs::read_to_string(&out).expect("f"), "inside\n");
    let dir = a.path("d.out");
    a.ok(&["cp", "box:/d", &dir]);
    assert_eq!(
        std::fs::read_to_string(Path::new(&dir).join("e/y")).expect("y"),
        "deep\n"
    );
    let o = a.d(&["cp", "box:/f", "-"]);
    assert!(o.status.success(), "{}", text(&o));
    let t = tar_entries(&o.stdout);
    assert_eq!(t.len(), 1);
    assert_eq!(
        (t[0].0.as_str(), t[0].1.as_slice()),
        ("f", &b"inside\n"[..])
    );
    let link = a.path("link.out");
    a.ok(&["cp", "box:/link", &link]);
    assert_eq!(
        std::fs::read_link(&link).expect("a link"),
        PathBuf::from("/d/e/y")
    );
    let followed = a.path("followed.out");
    a.ok(&["cp", "-L", "box:/link", &followed]);
    assert_eq!(std::fs::read_to_string(&followed).expect("y"), "deep\n");
    a.fails(
        &["cp", "box:/nosuch", &a.path("x")],
        "Error response from daemon: Could not find the file /nosuch in container box",
    );
    // cp in: a file (bigger than a chunk) and a directory; out again, equal.
    let data: Vec<u8> = (0..300_000u32).map(|i| (i * 7 % 251) as u8).collect();
    let src = a.path("data.bin");
    std::fs::write(&src, &data).expect("write");
    // dockerd keeps the owners the CLI's tar carries (without -a).
    std::os::unix::fs::chown(&src, Some(1234), Some(1234)).expect("chown");
    a.ok(&["cp", &src, "box:/tmp/data.bin"]);
    let back = a.path("data.back");
    a.ok(&["cp", "box:/tmp/data.bin", &back]);
    assert_eq!(std::fs::read(&back).expect("back"), data);
    assert_eq!(
        a.e.ok(&["exec", "box", "stat", "-c", "%u:%g %s", "/tmp/data.bin"]),
        "1234:1234 300000"
    );
    let tree = a.e.dir.path().join("tree");
    std::fs::create_dir_all(tree.join("sub")).expect("mkdir");
    std::fs::write(tree.join("sub/z"), "zz\n").expect("write");
    a.ok(&["cp", tree.to_str().expect("utf-8"), "box:/srv"]);
    assert_eq!(a.e.ok(&["exec", "box", "cat", "/srv/sub/z"]), "zz");
    // A file over a directory is refused (noOverwriteDirNonDir), as dockerd refuses it.
    std::fs::write(a.e.dir.path().join("e"), "file\n").expect("write");
    a.fails(
        &["cp", &a.path("e"), "box:/d/"],
        "cannot overwrite directory \"/d/e\" with non-directory \"/d\"",
    );
    assert_eq!(a.e.ok(&["exec", "box", "cat", "/d/e/y"]), "deep");
    // A stopped container's files, through its root mounted for the copy only.
    a.ok(&["stop", "-t", "0", "box"]);
    let o2 = a.path("f.stopped");
    a.ok(&["cp", "box:/f", &o2]);
    assert_eq!(std::fs::read_to_string(&o2).expect("f"), "inside\n");
    a.ok(&["cp", &src, "box:/tmp/again.bin"]);
    a.ok(&["start", "box"]);
    assert_eq!(
        a.e.ok(&["exec", "box", "cmp", "/tmp/data.bin", "/tmp/again.bin"]),
        ""
    );
    let base = a.e.dir.path().display().to_string();
    let mounts = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    assert!(!mounts
        .lines()
        .any(|l| l.contains(&base) && l.contains("merged")));
    // stats: one sample with dockerd's fields (a name, some memory, a pid).
    let s = a.ok(&[
        "stats",
        "--no-stream",
        "--format",
        "{{.Name}}|{{.MemUsage}}|{{.PIDs}}|{{.CPUPerc}}",
        "box",
    ]);
    let f: Vec<&str> = s.split('|').collect();
    assert_eq!(f.len(), 4, "{s}");
    assert_eq!(f[0], "box", "{s}");
    let used = f[1].split(" / ").next().unwrap_or_default();
    assert!(!used.is_empty() && used != "0B", "memory: {s}");
    assert_ne!(f[2], "0", "{s}");
    assert!(f[3].ends_with('%'), "{s}");
    // The raw document: dockerd's keys.
    let (code, body) = a.raw(
        "GET",
        "/v1.47/containers/box/stats?stream=false&one-shot=true",
        b"",
    );
    assert_eq!(code, 200, "{body}");
    let doc: serde_json::Value = serde_json::from_str(body.trim()).expect("stats json");
    for k in [
        "read",
        "preread",
        "cpu_stats",
        "precpu_stats",
        "memory_stats",
        "pids_stats",
        "blkio_stats",
    ] {
        assert!(doc.get(k).is_some(), "no {k}: {body}");
    }
    assert!(
        doc["memory_stats"]["usage"].as_u64().unwrap_or(0) > 0,
        "{body}"
    );
    assert_eq!(doc["name"], "/box");
    // update: limits live, the restart policy, and an unknown container.
    assert_eq!(
        a.ok(&["update", "--memory", "64m", "--memory-swap", "128m", "box"]),
        "box"
    );
    assert_eq!(
        a.ok(&[
            "inspect",
            "-f",
            "{{.HostConfig.Memory}} {{.HostConfig.MemorySwap}}",
            "box"
        ]),
        "67108864 134217728"
    );
    a.ok(&["update", "--restart", "on-failure:3", "box"]);
    assert_eq!(
        a.ok(&[
            "inspect",
            "-f",
            "{{.HostConfig.RestartPolicy.Name}}:{{.HostConfig.RestartPolicy.MaximumRetryCount}}",
            "box"
        ]),
        "on-failure:3"
    );
    a.fails(
        &["update", "--memory", "64m", "nosuch"],
        "No such container: nosuch",
    );
    a.ok(&["rm", "-f", "box"]);
    assert_eq!(a.leaks(&[]), Vec::<String>::new());
}

#[test]
fn df_prunes_and_network_connect_through_the_api() {
    let Some(mut a) = Api::start("df_prunes_and_network_connect_through_the_api") else {
        return;
    };
    a.ok(&["network", "create", "--subnet", "10.124.1.0/24", "used"]);
    a.ok(&["network", "create", "--subnet", "10.124.2.0/24", "unused"]);
    a.ok(&["volume", "create", "named"]);
    a.ok(&["volume", "create", "kept"]);
    let run = a.ok(&[
        "run",
        "-d",
        "--name",
        "up",
        "--network",
        "used",
        "-v",
        "kept:/k",
        "localbusybox",
        "sleep",
        "60",
    ]);
    let stopped = a.ok(&[
        "create",
        "--name",
        "down",
        "--network",
        "none",
        "-v",
        "/anon",
        "localbusybox",
        "true",
    ]);
    let anon = a.ok(&["inspect", "-f", "{{range .Mounts}}{{.Name}}{{end}}", "down"]);
    assert_eq!(anon.len(), 64, "{anon}");
    // system df: what there is and what is active.
    let df = a.ok(&[
        "system",
        "df",
        "--format",
        "{{.Type}} {{.TotalCount}} {{.Active}}",
    ]);
    assert_eq!(
        df, "Images 1 1\nContainers 2 1\nLocal Volumes 3 2\nBuild Cache 0 0",
        "{df}"
    );
    let (code, body) = a.raw("GET", "/v1.47/system/df", b"");
    assert_eq!(code, 200, "{body}");
    let doc: serde_json::Value = serde_json::from_str(body.trim()).expect("df json");
    assert!(doc["LayersSize"].as_u64().unwrap_or(0) > 0, "{body}");
    assert_eq!(doc["Images"][0]["Containers"], 2, "{body}");
    let kept = doc["Volumes"]
        .as_array()
        .and_then(|v| v.iter().find(|v| v["Name"] == "kept"))
        .cloned()
        .unwrap_or_default();
    assert_eq!(kept["UsageData"]["RefCount"], 1, "{body}");
    assert!(doc["Containers"]
        .as_array()
        .is_some_and(|c| c.iter().all(|c| c["SizeRw"].is_u64())));
    // container prune: the stopped one goes, the running one stays.
    let out = a.ok(&["container", "prune", "-f"]);
    assert!(
        out.contains("Deleted Containers:") && out.contains(&stopped),
        "{out}"
    );
    assert!(!out.contains(&run), "{out}");
    assert_eq!(a.ok(&["ps", "-aq", "--no-trunc"]), run);
    // volume prune: anonymous unused ones only; -a: every unused one; never a used one.
    let out = a.ok(&["volume", "prune", "-f"]);
    assert!(out.contains(&anon) && !out.contains("named"), "{out}");
    let vols = a.ok(&["volume", "ls", "-q"]);
    assert_eq!(vols, "kept\nnamed", "{vols}");
    let out = a.ok(&["volume", "prune", "-af"]);
    assert!(out.contains("named") && !out.contains("kept"), "{out}");
    assert_eq!(a.ok(&["volume", "ls", "-q"]), "kept");
    // network prune: the unused network goes.
    let out = a.ok(&["network", "prune", "-f"]);
    assert!(
        out.contains("Deleted Networks:") && out.contains("unused"),
        "{out}"
    );
    assert!(!out.lines().any(|l| l == "used"), "{out}");
    let nets = a.ok(&["network", "ls", "--format", "{{.Name}}"]);
    assert!(
        nets.lines().any(|l| l == "used") && !nets.lines().any(|l| l == "unused"),
        "{nets}"
    );
    // connect with an alias: reachable by it from the other network's containers.
    a.ok(&["network", "create", "--subnet", "10.124.3.0/24", "other"]);
    a.ok(&["network", "connect", "--alias", "alias1", "other", "up"]);
    let ip = a.ok(&[
        "inspect",
        "-f",
        "{{.NetworkSettings.Networks.other.IPAddress}}",
        "up",
    ]);
    assert!(ip.starts_with("10.124.3."), "{ip}");
    assert_eq!(
        a.ok(&[
            "inspect",
            "-f",
            "{{json .NetworkSettings.Networks.other.Aliases}}",
            "up"
        ]),
        "[\"alias1\"]"
    );
    let ns = a.e.sh_on("other", "nslookup alias1");
    assert!(ns.contains(&ip), "{ns}");
    a.fails(
        &["network", "connect", "other", "up"],
        "endpoint with name up already exists in network other",
    );
    a.fails(
        &["network", "connect", "nosuch", "up"],
        "network nosuch not found",
    );
    a.fails(
        &["network", "connect", "host", "up"],
        "container cannot be disconnected from host network or connected to host network",
    );
    a.fails(
        &["network", "connect", "other", "nosuch"],
        "No such container: nosuch",
    );
    // disconnect: gone from the network; again is an error.
    a.ok(&["network", "disconnect", "other", "up"]);
    let nets = a.ok(&[
        "inspect",
        "-f",
        "{{range $k, $v := .NetworkSettings.Networks}}{{$k}} {{end}}",
        "up",
    ]);
    assert_eq!(nets.trim(), "used", "{nets}");
    let o = a.d(&["network", "disconnect", "other", "up"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    a.ok(&["rm", "-f", "up"]);
    a.ok(&["network", "rm", "other", "used"]);
    assert_eq!(a.leaks(&[run]), Vec::<String>::new());
}

#[test]
fn malformed_bodies_and_clients_that_go_away() {
    let Some(mut a) = Api::start("malformed_bodies_and_clients_that_go_away") else {
        return;
    };
    a.ok(&[
        "run",
        "-d",
        "--name",
        "web",
        "--network",
        "none",
        "localbusybox",
        "sleep",
        "60",
    ]);
    for (method, path, body) in [
        ("POST", "/v1.47/containers/web/update", &b"{not json"[..]),
        (
            "POST",
            "/v1.47/containers/web/update",
            br#"{"Memory": "lots"}"#,
        ),
        ("POST", "/v1.47/networks/bridge/connect", b"[1, 2]"),
        (
            "POST",
            "/v1.47/networks/bridge/connect",
            br#"{"Container": 7}"#,
        ),
        ("POST", "/v1.47/auth", b"nope"),
        ("POST", "/v1.47/commit?container=web", br#"{"Cmd": 3}"#),
        ("POST", "/v1.47/containers/create", b"{\"Image\": "),
    ] {
        let (code, body) = a.raw(method, path, body);
        assert_eq!(code, 400, "{method} {path}: {body}");
        let v: serde_json::Value = serde_json::from_str(body.trim())
            .unwrap_or_else(|e| panic!("{method} {path}: not JSON ({e}): {body}"));
        assert!(
            v["message"].as_str().is_some_and(|m| !m.is_empty()),
            "{method} {path}: {body}"
        );
    }
    // A client that leaves a stats stream, an upload and an export midway: the service
    // goes on serving, and nothing is left behind.
    {
        let mut s = std::os::unix::net::UnixStream::connect(&a.sock).expect("connect");
        s.write_all(b"GET /v1.47/containers/web/stats HTTP/1.1\r\nHost: d\r\n\r\n")
            .expect("send");
        let mut b = [0u8; 512];
        let n = s.read(&mut b).expect("first stats");
        assert!(String::from_utf8_lossy(&b[..n]).starts_with("HTTP/1.1 200"));
    }
    {
        let mut s = std::os::unix::net::UnixStream::connect(&a.sock).expect("connect");
        s.write_all(
            b"POST /v1.47/images/load HTTP/1.1\r\nHost: d\r\nContent-Length: 100000000\r\n\r\n",
        )
        .expect("send");
        // (The service may answer and close before all of it: no tar there.)
        let _ = s.write_all(&vec![0u8; 1 << 20]);
    }
    {
        let mut s = std::os::unix::net::UnixStream::connect(&a.sock).expect("connect");
        s.write_all(b"GET /v1.47/containers/web/export HTTP/1.1\r\nHost: d\r\n\r\n")
            .expect("send");
        let mut b = [0u8; 512];
        let _ = s.read(&mut b).expect("start of the export");
    }
    let (code, _) = a.raw("GET", "/_ping", b"");
    assert_eq!(code, 200);
    assert_eq!(a.ok(&["images", "-q"]).lines().count(), 1);
    // The streams' threads end: no thread of the service is left reading or writing.
    let pid = a.svc.as_ref().map_or(0, |c| c.0.id());
    assert!(
        a.e.until(10, || {
            let n = std::fs::read_dir(format!("/proc/{pid}/task"))
                .map(|d| d.count())
                .unwrap_or(0);
            let names: Vec<String> = std::fs::read_dir(format!("/proc/{pid}/task"))
                .into_iter()
                .flatten()
                .flatten()
                .filter_map(|t| std::fs::read_to_string(t.path().join("comm")).ok())
                .collect();
            n > 0 && !names.iter().any(|c| c.starts_with("api-"))
        }),
        "stream threads left in the service"
    );
    a.ok(&["rm", "-f", "web"]);
    assert_eq!(a.leaks(&[]), Vec::<String>::new());
}
