//! End-to-end: the image verbs through the binary, and an imported image's layers
//! mounted with overlayfs and run by quai's runtime.

mod common;
mod engine_common;

use std::process::{Command, Stdio};

use common::*;

fn q(root: &std::path::Path, args: &[&str]) -> std::process::Output {
    Command::new(quai())
        .arg("--root")
        .arg(root)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("quai")
}

#[test]
fn import_list_tag_inspect_history_rmi() {
    let tmp = tempfile::tempdir().expect("tmp");
    let root = tmp.path().join("root");
    let tar = busybox_tar(tmp.path());
    let out = q(
        &root,
        &[
            "import",
            "-c",
            "CMD [\"/bin/httpd\",\"-f\"]",
            "-c",
            "ENV A=1",
            tar.to_str().expect("utf8"),
            "localbusybox",
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let id = stdout(&out).trim().to_string();
    assert!(id.starts_with("sha256:") && id.len() == 71, "{id}");
    let out = q(&root, &["images"]);
    let s = stdout(&out);
    assert!(s.starts_with("REPOSITORY"), "{s}");
    assert!(s.contains("localbusybox") && s.contains(&id[7..19]), "{s}");
    assert!(q(&root, &["tag", "localbusybox", "127.0.0.1:5000/bb:v1"])
        .status
        .success());
    // Go templates and docker's table headers.
    let out = q(&root, &["images", "--format", "{{.Repository}}:{{.Tag}}"]);
    let mut names: Vec<String> = stdout(&out).lines().map(str::to_string).collect();
    names.sort();
    assert_eq!(
        names,
        ["127.0.0.1:5000/bb:v1", "localbusybox:latest"],
        "{}",
        stderr(&out)
    );
    let out = q(
        &root,
        &["images", "--format", "table {{.Repository}}\\t{{.ID}}"],
    );
    let s = stdout(&out);
    assert!(s.starts_with("REPOSITORY          IMAGE ID\n"), "{s}");
    let out = q(
        &root,
        &[
            "images",
            "--format",
            "json",
            "--filter",
            "reference=127.0.0.1:5000/*",
        ],
    );
    let lines: Vec<serde_json::Value> = stdout(&out)
        .lines()
        .map(|l| serde_json::from_str(l).expect("json"))
        .collect();
    assert_eq!(lines.len(), 1, "{}", stdout(&out));
    assert_eq!(lines[0]["Tag"], "v1");
    let out = q(&root, &["image", "inspect", "127.0.0.1:5000/bb:v1"]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("inspect json");
    assert_eq!(v[0]["Id"], id.as_str());
    assert_eq!(
        v[0]["Config"]["Cmd"],
        serde_json::json!(["/bin/httpd", "-f"])
    );
    assert_eq!(v[0]["Config"]["Env"], serde_json::json!(["A=1"]));
    assert!(stdout(&q(&root, &["history", "localbusybox"])).contains("Imported from -"));
    // By id with two names: refused without -f.
    let out = q(&root, &["rmi", &id[7..19]]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("must be forced"), "{}", stderr(&out));
    let out = q(&root, &["rmi", "-f", &id[7..19]]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains(&format!("Deleted: {id}")));
    assert_eq!(stdout(&q(&root, &["images", "-q"])), "");
    // Nothing left in the blob store either.
    assert_eq!(
        std::fs::read_dir(root.join("blobs/sha256"))
            .expect("blobs")
            .count(),
        0
    );
}

#[test]
fn bad_image_input_is_one_clear_line() {
    let tmp = tempfile::tempdir().expect("tmp");
    let root = tmp.path().join("root");
    let junk = tmp.path().join("junk");
    std::fs::write(&junk, "not a tar").expect("write");
    let out = q(&root, &["import", junk.to_str().expect("utf8"), "x"]);
    assert!(!out.status.success());
    assert_eq!(
        stderr(&out).trim(),
        "Error: import: the input is not a tar archive (plain, gzip or zstd)"
    );
    let out = q(&root, &["tag", "nope", "x"]);
    assert_eq!(stderr(&out).trim(), "Error: no such image: nope");
    let out = q(
        &root,
        &["import", "-c", "RUN true", junk.to_str().expect("utf8")],
    );
    assert!(
        stderr(&out).contains("invalid --change \"RUN true\""),
        "{}",
        stderr(&out)
    );
    let out = q(&root, &["tag", "x", "Bad/Name"]);
    assert!(
        stderr(&out).contains("invalid reference \"Bad/Name\""),
        "{}",
        stderr(&out)
    );
    // `quai images | head -0`: a reader gone away ends quai by SIGPIPE, silently (as docker).
    let (reader, writer) = std::io::pipe().expect("pipe");
    drop(reader);
    let out = Command::new(quai())
        .arg("--root")
        .arg(&root)
        .arg("images")
        .stdout(writer)
        .stderr(Stdio::piped())
        .output()
        .expect("quai");
    use std::os::unix::process::ExitStatusExt;
    assert_eq!(out.status.signal(), Some(13), "{:?}", out.status);
    assert_eq!(stderr(&out), "");
}

#[test]
fn imported_layers_mount_as_an_overlay_and_run() {
    if !root_or_skip("overlay_run") {
        return;
    }
    let w = World::new(&[
        "/bin/sh",
        "-c",
        "echo hi > /written; cat /var/www/index.html; ls /written",
    ]);
    let root = w.path("quai-root");
    let tar = busybox_tar(&w.path("src"));
    let out = q(
        &root,
        &["import", tar.to_str().expect("utf8"), "localbusybox"],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let store = image::store::ImageStore::open(&root).expect("store");
    let image_id = store.resolve("localbusybox").expect("resolve");
    let rootfs = w.bundle.join("rootfs");
    std::fs::remove_dir_all(&rootfs).expect("rm");
    std::fs::create_dir_all(&rootfs).expect("mkdir");
    let spec = store
        .snapshot(&image_id, &w.path("snap"))
        .expect("snapshot");
    let (lowers, upper) = (spec.lowers.clone(), spec.upper.clone());
    assert_eq!(lowers.len(), 1);
    assert!(lowers[0].join("bin/busybox").is_file());
    assert!(Command::new("mount")
        .args(["-t", &spec.fstype, &spec.source, "-o", &spec.options])
        .arg(&rootfs)
        .status()
        .expect("mount")
        .success());
    let out = w.run(&id("overlay"));
    let _ = Command::new("umount").arg(&rootfs).status();
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out), "hello from quai\n/written\n");
    // The write went to the upper dir; the shared layer is untouched.
    assert!(upper.join("written").exists());
    assert!(!lowers[0].join("written").exists());
}

fn have(tool: &str) -> bool {
    Command::new("sh")
        .arg("-c")
        .arg(format!("command -v {tool}"))
        .output()
        .is_ok_and(|o| o.status.success())
}

#[test]
fn save_and_load_interoperate_with_skopeo_and_umoci() {
    if !have("skopeo") || !have("umoci") {
        eprintln!(
            "SKIP save/load interop: skopeo and umoci needed (apt-get install -y skopeo umoci)"
        );
        return;
    }
    let tmp = tempfile::tempdir().expect("tmp");
    let root = tmp.path().join("root");
    let tar = busybox_tar(tmp.path());
    assert!(q(
        &root,
        &[
            "import",
            "-c",
            "CMD [\"/bin/sh\"]",
            tar.to_str().expect("utf8"),
            "localbusybox"
        ]
    )
    .status
    .success());
    let p = |n: &str| tmp.path().join(n).to_string_lossy().into_owned();
    // quai -> skopeo, both formats.
    assert!(q(&root, &["save", "-o", &p("d.tar"), "localbusybox"])
        .status
        .success());
    assert!(q(
        &root,
        &[
            "save",
            "--format",
            "oci-archive",
            "-o",
            &p("o.tar"),
            "localbusybox"
        ]
    )
    .status
    .success());
    let ins = Command::new("skopeo")
        .args(["inspect", &format!("docker-archive:{}", p("d.tar"))])
        .output()
        .expect("skopeo");
    assert!(
        ins.status.success(),
        "{}",
        String::from_utf8_lossy(&ins.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&ins.stdout).expect("json");
    assert_eq!(v["Layers"].as_array().map(Vec::len), Some(1));
    let ins = Command::new("skopeo")
        .args([
            "inspect",
            "--config",
            &format!("oci-archive:{}", p("o.tar")),
        ])
        .output()
        .expect("skopeo");
    assert!(
        ins.status.success(),
        "{}",
        String::from_utf8_lossy(&ins.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&ins.stdout).expect("json");
    assert_eq!(v["config"]["Cmd"], serde_json::json!(["/bin/sh"]));
    // skopeo -> quai: a docker-archive and a (gzip-layered) oci-archive written by skopeo.
    let cp = |src: String, dst: String| {
        let o = Command::new("skopeo")
            .args(["copy", "-q", &src, &dst])
            .output()
            .expect("skopeo");
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    };
    cp(
        format!("docker-archive:{}", p("d.tar")),
        format!("docker-archive:{}:skopeo/bb:v2", p("sk.tar")),
    );
    cp(
        format!("docker-archive:{}", p("d.tar")),
        format!("oci-archive:{}:other/bb:v3", p("sko.tar")),
    );
    let out = q(&root, &["load", "-i", &p("sk.tar")]);
    assert_eq!(
        stdout(&out),
        "Loaded image: skopeo/bb:v2\n",
        "{}",
        stderr(&out)
    );
    let out = q(&root, &["load", "-i", &p("sko.tar")]);
    assert_eq!(
        stdout(&out),
        "Loaded image: other/bb:v3\n",
        "{}",
        stderr(&out)
    );
    // The gzip layer skopeo wrote unpacks into a usable tree.
    let store = image::store::ImageStore::open(&root).expect("store");
    let id = store.resolve("other/bb:v3").expect("resolve");
    let dirs = store.layer_dirs(&id).expect("unpack");
    assert!(dirs[0].join("bin/busybox").is_file());
    // umoci unpacks what quai saved as an OCI archive.
    let layout = tmp.path().join("layout");
    std::fs::create_dir(&layout).expect("mkdir");
    assert!(Command::new("tar")
        .arg("-xf")
        .arg(p("o.tar"))
        .arg("-C")
        .arg(&layout)
        .status()
        .expect("tar")
        .success());
    let o = Command::new("umoci")
        .arg("unpack")
        .arg("--image")
        .arg(format!("{}:latest", layout.display()))
        .arg(tmp.path().join("bundle"))
        .output()
        .expect("umoci");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(tmp.path().join("bundle/rootfs/bin/busybox").is_file());
    // A truncated archive is refused and leaves no image.
    let full = std::fs::read(p("d.tar")).expect("read");
    std::fs::write(p("cut.tar"), &full[..full.len() / 2]).expect("write");
    let fresh = tmp.path().join("root2");
    let out = q(&fresh, &["load", "-i", &p("cut.tar")]);
    assert!(!out.status.success());
    assert_eq!(stderr(&out).lines().count(), 1, "{}", stderr(&out));
    assert_eq!(stdout(&q(&fresh, &["images", "-q"])), "");
}

/// A tar entry for [`docker_archive`]: a file, a symlink or a directory.
enum Entry<'a> {
    File(&'a [u8]),
    Symlink(&'a str),
    Dir,
}

fn archive_of(entries: &[(&str, Entry<'_>)]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    for (name, e) in entries {
        let mut h = tar::Header::new_gnu();
        h.set_mode(0o644);
        h.set_mtime(0);
        h.set_uid(0);
        h.set_gid(0);
        match e {
            Entry::File(d) => {
                h.set_size(d.len() as u64);
                h.set_entry_type(tar::EntryType::Regular);
                h.set_cksum();
                b.append_data(&mut h, name, *d).expect("file");
            }
            Entry::Symlink(t) => {
                h.set_size(0);
                h.set_entry_type(tar::EntryType::Symlink);
                b.append_link(&mut h, name, t).expect("symlink");
            }
            Entry::Dir => {
                h.set_mode(0o755);
                h.set_size(0);
                h.set_entry_type(tar::EntryType::Directory);
                h.set_cksum();
                b.append_data(&mut h, name, &[][..]).expect("dir");
            }
        }
    }
    b.into_inner().expect("tar")
}

fn sha256(b: &[u8]) -> String {
    image::store::sha256_of(b).to_string()
}

#[test]
fn load_follows_the_symlink_of_a_layer_two_images_share() {
    if !engine_common::root_or_skip("load_follows_the_symlink_of_a_layer_two_images_share") {
        return;
    }
    let e = engine_common::Eng::new();
    let dir = e.dir.path();
    // What `docker save` writes for two images sharing their bottom layer: the layer
    // once, the second image's copy a symlink to it.
    let base = std::fs::read(busybox_tar(&dir.join("base"))).expect("busybox layer");
    let top = archive_of(&[("etc/second", Entry::File(b"two\n"))]);
    let (d0, d1) = (sha256(&base), sha256(&top));
    let config = |diffs: &[&str]| {
        serde_json::to_vec(&serde_json::json!({"architecture": "amd64", "os": "linux",
            "created": "2024-01-01T00:00:00Z",
            "config": {"Env": ["PATH=/usr/sbin:/usr/bin:/sbin:/bin"], "Cmd": ["/bin/sh"]},
            "rootfs": {"type": "layers", "diff_ids": diffs}}))
        .expect("config")
    };
    let (ca, cb) = (config(&[&d0]), config(&[&d0, &d1]));
    let (ida, idb) = (sha256(&ca), sha256(&cb));
    let (ja, jb) = (format!("{}.json", &ida[7..]), format!("{}.json", &idb[7..]));
    let manifest = serde_json::to_vec(&serde_json::json!([
        {"Config": ja, "RepoTags": ["shared/a:1"], "Layers": ["aaaa/layer.tar"]},
        {"Config": jb, "RepoTags": ["shared/b:1"], "Layers": ["bbbb/layer.tar", "cccc/layer.tar"]},
    ]))
    .expect("manifest");
    let ar = archive_of(&[
        ("aaaa", Entry::Dir),
        ("aaaa/layer.tar", Entry::File(&base)),
        ("bbbb", Entry::Dir),
        ("bbbb/layer.tar", Entry::Symlink("../aaaa/layer.tar")),
        ("cccc", Entry::Dir),
        ("cccc/layer.tar", Entry::File(&top)),
        (&ja, Entry::File(&ca)),
        (&jb, Entry::File(&cb)),
        ("manifest.json", Entry::File(&manifest)),
    ]);
    let path = dir.join("two.tar");
    std::fs::write(&path, &ar).expect("write archive");
    let out = e.ok(&["load", "-i", path.to_str().expect("utf8")]);
    assert!(
        out.contains("Loaded image: shared/a:1") && out.contains("Loaded image: shared/b:1"),
        "{out}"
    );
    for (name, id, layers) in [
        ("shared/a:1", &ida, vec![d0.clone()]),
        ("shared/b:1", &idb, vec![d0.clone(), d1.clone()]),
    ] {
        let v: serde_json::Value =
            serde_json::from_str(&e.ok(&["image", "inspect", name])).expect("inspect json");
        assert_eq!(v[0]["Id"], serde_json::json!(id), "{name}");
        assert_eq!(
            v[0]["RootFS"]["Layers"],
            serde_json::json!(layers),
            "{name}"
        );
    }
    e.ok(&["run", "--rm", "--network", "none", "shared/a:1", "true"]);
    assert_eq!(
        e.ok(&[
            "run",
            "--rm",
            "--network",
            "none",
            "shared/b:1",
            "cat",
            "/etc/second"
        ]),
        "two"
    );
}
