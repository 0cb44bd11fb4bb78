//! End-to-end: what pulls leave in the image store, against Debian's docker-registry
//! serving 127.0.0.1 inside a network namespace the test creates (and deletes, with the
//! registry, on drop). Each test pulls into roots of its own under its temp dir.

mod common;
mod registry_common;

use std::path::{Path, PathBuf};
use std::process::Output;

use common::*;
use registry_common::*;

/// A registry holding `tags` of `bb` (distinct images sharing the busybox layer), pushed
/// by quai from a root of its own; the namespace's quai runs with `root` and a run dir
/// under the temp dir.
struct Fixture {
    tmp: tempfile::TempDir,
    ns: Netns,
    reg: String,
}

impl Fixture {
    fn new(tag: &str, tags: &[&str]) -> Fixture {
        let tmp = tempfile::tempdir().expect("tmp");
        let mut ns = Netns::new(tag);
        // A namespace of our own: every port is free in it.
        let port = 5000;
        ns.start_registry(tmp.path(), port, None);
        let f = Fixture {
            reg: format!("127.0.0.1:{port}/bb"),
            tmp,
            ns,
        };
        let src = f.tmp.path().join("src");
        let tar = busybox_tar(f.tmp.path());
        for t in tags {
            let name = format!("{}:{t}", f.reg);
            let label = format!("LABEL t={t}");
            f.ok(
                &src,
                &["import", "-c", &label, tar.to_str().expect("utf8"), &name],
            );
            f.ok(&src, &["push", "-q", &name]);
        }
        f
    }

    fn root(&self, name: &str) -> PathBuf {
        self.tmp.path().join(name)
    }

    fn q(&self, root: &Path, args: &[&str]) -> Output {
        let quai = quai();
        let mut c = self.ns.command(quai.to_str().expect("utf8"), args);
        c.env("QUAI_ROOT", root)
            .env("QUAI_RUN_DIR", self.tmp.path().join("run"));
        c.output().expect("quai")
    }

    fn ok(&self, root: &Path, args: &[&str]) -> String {
        let o = self.q(root, args);
        assert!(
            o.status.success(),
            "quai {args:?}: {}{}",
            stdout(&o),
            stderr(&o)
        );
        stdout(&o)
    }

    fn image_ids(&self, root: &Path) -> Vec<String> {
        self.ok(root, &["images", "-a", "-q", "--no-trunc"])
            .lines()
            .map(str::to_string)
            .collect()
    }
}

#[test]
fn pulled_images_are_removed_by_rmi_and_prune() {
    if !ready("pulled_images_are_removed_by_rmi_and_prune") {
        return;
    }
    if !have("sqlite3") {
        eprintln!("SKIP pulled_images_are_removed_by_rmi_and_prune: sqlite3 missing");
        return;
    }
    let f = Fixture::new("rmi", &["a", "b"]);
    let (a, b) = (format!("{}:a", f.reg), format!("{}:b", f.reg));
    let root = f.root("root");

    // rmi by name: the tag, the repository digest and the image go.
    f.ok(&root, &["pull", "-q", &a]);
    let out = f.ok(&root, &["rmi", &a]);
    assert!(out.contains(&format!("Untagged: {a}")), "{out}");
    assert!(
        out.contains(&format!("Untagged: {}@sha256:", f.reg)),
        "{out}"
    );
    assert!(out.contains("Deleted: sha256:"), "{out}");
    assert!(f.image_ids(&root).is_empty(), "{:?}", f.image_ids(&root));

    // rmi by id.
    f.ok(&root, &["pull", "-q", &a]);
    let id = f.ok(&root, &["inspect", "--type", "image", "-f", "{{.Id}}", &a]);
    let id = id.trim();
    f.ok(&root, &["rmi", id]);
    assert!(f.image_ids(&root).is_empty());

    // What a failed rmi used to leave: the image without its name but with its
    // repository digest (a `<none>` image). It is removable by id.
    f.ok(&root, &["pull", "-q", &a]);
    let db = root.join("state.db");
    let o = std::process::Command::new("sqlite3")
        .arg(&db)
        .arg("DELETE FROM tags")
        .output()
        .expect("sqlite3");
    assert!(o.status.success(), "sqlite3: {}", stderr(&o));
    assert!(f.ok(&root, &["images"]).contains("<none>"));
    f.ok(&root, &["rmi", id]);
    assert!(f.image_ids(&root).is_empty());

    // image prune -a and system prune -a.
    for prune in [
        &["image", "prune", "-a", "-f"][..],
        &["system", "prune", "-a", "-f"][..],
    ] {
        f.ok(&root, &["pull", "-q", &a]);
        f.ok(&root, &["pull", "-q", &b]);
        assert_eq!(f.image_ids(&root).len(), 2);
        let out = f.ok(&root, prune);
        assert!(out.contains("eleted: sha256:"), "{prune:?}: {out}");
        assert!(f.image_ids(&root).is_empty(), "{prune:?}: {out}");
    }
}

#[test]
fn parallel_pulls_into_a_fresh_root_all_succeed() {
    if !ready("parallel_pulls_into_a_fresh_root_all_succeed") {
        return;
    }
    let tags = ["a", "b", "c", "d"];
    let f = Fixture::new("par", &tags);
    for round in 0..10 {
        let root = f.root(&format!("root{round}"));
        // Two pulls of each tag, all at once, into a root no process has opened yet.
        let outs: Vec<(String, Output)> = std::thread::scope(|s| {
            let hs: Vec<_> = (0..8)
                .map(|i| {
                    let (f, root) = (&f, &root);
                    s.spawn(move || {
                        let name = format!("{}:{}", f.reg, tags[i % tags.len()]);
                        let o = f.q(root, &["pull", "-q", &name]);
                        (name, o)
                    })
                })
                .collect();
            hs.into_iter().map(|h| h.join().expect("thread")).collect()
        });
        for (name, o) in &outs {
            assert!(
                o.status.success(),
                "round {round}: pull {name}: {}",
                stderr(o)
            );
        }
        assert_eq!(f.image_ids(&root).len(), tags.len(), "round {round}");
        for t in tags {
            let name = format!("{}:{t}", f.reg);
            let label = f.ok(
                &root,
                &[
                    "inspect",
                    "--type",
                    "image",
                    "-f",
                    "{{index .Config.Labels \"t\"}}",
                    &name,
                ],
            );
            assert_eq!(label.trim(), t, "round {round}");
        }
    }
}
