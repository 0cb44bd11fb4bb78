//! End-to-end: a container's changes as `diff` lists them, `export` of its whole file
//! system, and `commit` of its changes into an image that runs.

mod common;
mod engine_common;

use engine_common::*;

#[test]
fn diff_export_and_commit() {
    if !root_or_skip("diff_export_and_commit") {
        return;
    }
    let e = Eng::new();
    e.ok(&[
        "run",
        "--name",
        "changer",
        "-e",
        "GREETING=hi",
        "-w",
        "/srv",
        "localbusybox",
        "sh",
        "-c",
        "echo edited >> /etc/passwd && mkdir -p /srv/app && echo data > /srv/app/f \
         && ln /srv/app/f /srv/app/hard && rm /var/www/index.html && rm -r /usr/sbin \
         && mkdir /usr/sbin && echo fresh > /usr/sbin/only",
    ]);
    // diff: what Docker lists, sorted, the runtime's mount points left out.
    let diff = e.ok(&["diff", "changer"]);
    assert_eq!(
        diff.lines().collect::<Vec<_>>(),
        [
            "C /etc",
            "C /etc/passwd",
            "A /srv",
            "A /srv/app",
            "A /srv/app/f",
            "A /srv/app/hard",
            "C /usr",
            "C /usr/sbin",
            "A /usr/sbin/only",
            "C /var",
            "C /var/www",
            "D /var/www/index.html",
        ],
        "{diff}"
    );
    assert_eq!(
        e.ok(&["container", "diff", "changer"]),
        diff,
        "docker's container group"
    );
    // export: the merged file system, deletions applied, nothing of the old /usr/sbin.
    let tar_path = e.dir.path().join("export.tar");
    e.ok(&["export", "-o", tar_path.to_str().expect("utf-8"), "changer"]);
    let listing = std::process::Command::new("tar")
        .arg("-tf")
        .arg(&tar_path)
        .output()
        .expect("tar");
    let names = String::from_utf8_lossy(&listing.stdout).to_string();
    assert!(names.lines().any(|l| l == "bin/busybox"), "{names}");
    assert!(names.lines().any(|l| l == "srv/app/hard"), "{names}");
    assert!(names.lines().any(|l| l == "usr/sbin/only"), "{names}");
    assert!(!names.contains("index.html"), "{names}");
    assert!(
        !names
            .lines()
            .any(|l| l.starts_with("usr/sbin/") && l != "usr/sbin/only"),
        "{names}"
    );
    assert!(!names.contains(".wh."), "{names}");
    // commit: a new image with the changes and the container's settings, plus --change.
    let id = e.ok(&[
        "commit",
        "-a",
        "someone",
        "-m",
        "first commit",
        "-c",
        "LABEL stage=committed",
        "-c",
        "CMD [\"cat\", \"/srv/app/f\"]",
        "changer",
        "committed:v1",
    ]);
    assert!(id.starts_with("sha256:"), "{id}");
    assert_eq!(e.ok(&["run", "--rm", "committed:v1"]), "data");
    assert_eq!(
        e.ok(&[
            "run",
            "--rm",
            "committed:v1",
            "sh",
            "-c",
            "echo $GREETING $(pwd); tail -n1 /etc/passwd; ls /usr/sbin; test -e /var/www/index.html || echo gone"
        ]),
        "hi /srv\nedited\nonly\ngone"
    );
    let cfg: serde_json::Value =
        serde_json::from_str(&e.ok(&["image", "inspect", "committed:v1"])).expect("json");
    let c = &cfg[0];
    assert_eq!(c["Config"]["Labels"]["stage"], "committed");
    assert_eq!(c["Author"], "someone");
    assert_eq!(c["RootFS"]["Layers"].as_array().map(Vec::len), Some(2));
    let hist = e.ok(&["history", "--no-trunc", "committed:v1"]);
    assert!(hist.contains("first commit"), "{hist}");
    // A container of the new image that changes nothing commits an empty layer.
    e.ok(&["create", "--name", "same", "committed:v1"]);
    assert_eq!(e.ok(&["diff", "same"]), "");
    e.ok(&["commit", "same", "committed:v2"]);
    let cfg: serde_json::Value =
        serde_json::from_str(&e.ok(&["image", "inspect", "committed:v2"])).expect("json");
    assert_eq!(cfg[0]["RootFS"]["Layers"].as_array().map(Vec::len), Some(2));
    // The image a container was committed from cannot go while the container uses it.
    let o = e.q(&["rmi", "committed:v1"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(
        text(&o).contains("is using its referenced image"),
        "{}",
        text(&o)
    );
    // Bad input: one line, nothing made.
    let o = e.q(&["commit", "-c", "BOGUS x", "changer", "bad:1"]);
    assert_ne!(o.status.code(), Some(0));
    assert!(text(&o).contains("BOGUS"), "{}", text(&o));
    // (By repository: an image id is hex, and "bad" is hex too.)
    assert!(!e
        .ok(&["images", "--format", "{{.Repository}}"])
        .lines()
        .any(|r| r == "bad"));
    let o = e.q(&["diff", "nosuch"]);
    assert!(
        text(&o).contains("No such container: nosuch"),
        "{}",
        text(&o)
    );
}

#[test]
fn commit_of_a_running_container_pauses_it_and_it_runs_on() {
    if !root_or_skip("commit_of_a_running_container_pauses_it_and_it_runs_on") {
        return;
    }
    let e = Eng::new();
    e.ok(&[
        "run",
        "-d",
        "--name",
        "busy",
        "localbusybox",
        "sh",
        "-c",
        "i=0; while true; do i=$((i+1)); echo $i > /tmp/count; sleep 0.05; done",
    ]);
    assert!(e.until(5, || e.ok(&["diff", "busy"]).contains("/tmp/count")));
    e.ok(&["commit", "busy", "snap:1"]);
    assert_eq!(e.inspect("busy", ".State.Status"), "running");
    let n: u64 = e
        .ok(&["run", "--rm", "snap:1", "cat", "/tmp/count"])
        .parse()
        .expect("a number");
    assert!(n >= 1);
    // The export of a running container reads the same layers.
    let o = e.cmd(&["export", "busy"]).output().expect("export");
    assert!(o.status.success(), "{}", text(&o));
    assert!(o.stdout.len() > 1_000_000, "{}", o.stdout.len());
}
