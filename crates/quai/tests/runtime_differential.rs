//! Differential tests: the same bundle under Debian's runc and under quai; the container
//! must see the same world.

mod common;

use std::process::Command;

use common::*;

fn runc() -> Option<&'static str> {
    ["/usr/sbin/runc", "/usr/bin/runc"]
        .into_iter()
        .find(|p| std::path::Path::new(p).exists())
}

#[test]
fn container_sees_the_same_as_under_runc() {
    if !root_or_skip("differential") {
        return;
    }
    let Some(runc) = runc() else {
        eprintln!("SKIP differential: runc not installed (apt-get install -y runc)");
        return;
    };
    let probe = "id; hostname; umask; ulimit -n; grep -E '^(Cap(Inh|Prm|Eff|Bnd|Amb)|NoNewPrivs|Seccomp):' /proc/self/status; \
                 ls -l /dev | awk '{print $1, $5, $6, $NF}'; echo pid=$$; ls /sys/class/net; \
                 awk '{print $2, $3}' /proc/mounts | sort; cat /proc/self/oom_score_adj";
    let mut w = World::new(&["/bin/sh", "-c", probe]);
    w.spec["process"]["oomScoreAdj"] = serde_json::json!(100);
    let out = w.run(&id("diff"));
    assert!(out.status.success(), "quai: {}", stderr(&out));
    let runc_root = w.path("runc-root");
    let r = Command::new(runc)
        .arg("--root")
        .arg(&runc_root)
        .args(["run", "--bundle"])
        .arg(&w.bundle)
        .arg(id("diffr"))
        .output()
        .expect("runc");
    assert!(
        r.status.success(),
        "runc: {}",
        String::from_utf8_lossy(&r.stderr)
    );
    let ours = stdout(&out);
    let theirs = String::from_utf8_lossy(&r.stdout).into_owned();
    // cgroup mounts differ by design (runc binds the host hierarchies, quai mounts them in
    // the cgroup namespace, both read-only); compare everything else line by line.
    let keep = |s: &str| {
        s.lines()
            .filter(|l| !l.starts_with("/sys/fs/cgroup"))
            .map(str::to_string)
            .collect::<Vec<_>>()
    };
    assert_eq!(
        keep(&ours),
        keep(&theirs),
        "\n--- quai\n{ours}\n--- runc\n{theirs}"
    );
}
