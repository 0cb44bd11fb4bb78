//! Device rules on a cgroup v2-only host, where the runtime must attach an eBPF device
//! filter (v2 has no `devices.*` files).
//!
//! The host may be hybrid (v1 controllers plus a cgroup2 with few or no controllers), so
//! each run gets the view of a v2-only host: a private mount namespace in which every
//! cgroup mount is unmounted and one cgroup2 is mounted at /sys/fs/cgroup, inside a
//! cgroup namespace rooted at a cgroup this test made. The host's mounts are untouched
//! (the namespace dies with its last process) and the only host cgroups written are the
//! test's own, which are removed even when an assertion fails.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::*;
use serde_json::json;

/// A block device this host has (`major:minor`), a real disk if there is one.
fn host_block_device() -> Option<(u32, u32)> {
    let mut devs: Vec<(u32, u32)> = std::fs::read_dir("/sys/dev/block")
        .ok()?
        .flatten()
        .filter_map(|e| {
            let n = e.file_name().to_string_lossy().into_owned();
            let (a, b) = n.split_once(':')?;
            Some((a.parse().ok()?, b.parse().ok()?))
        })
        .collect();
    // Loop devices (7) last: an unbound one reads as empty, a disk has data.
    devs.sort_by_key(|(major, minor)| (*major == 7, *major, *minor));
    devs.first().copied()
}

/// `quai runtime run` of a World's bundle seen from a cgroup v2-only host.
struct V2Only {
    /// The test's cgroup on the host: the root of the container's cgroup namespace view.
    cg: PathBuf,
    child: Option<Child>,
    out: PathBuf,
    err: PathBuf,
}

impl V2Only {
    fn start(w: &World, id: &str, cgroup2: &Path) -> V2Only {
        w.save();
        let cg = cgroup2.join(format!("quai-test-{id}"));
        std::fs::create_dir(&cg).expect("create the test's cgroup");
        let (out, err) = (w.path(&format!("{id}.out")), w.path(&format!("{id}.err")));
        let mut s = V2Only {
            cg,
            child: None,
            out,
            err,
        };
        // Join the test cgroup, then a new mount and cgroup namespace rooted there; in
        // it, replace every cgroup mount by one cgroup2 and run the container.
        let script = r#"echo $$ > "$CG/cgroup.procs" && exec unshare --mount --propagation private --cgroup sh -c 'umount -R -l /sys/fs/cgroup && mount -t cgroup2 none /sys/fs/cgroup && exec "$QUAI" runtime --root "$ROOT" run --bundle "$BUNDLE" "$ID"'"#;
        let child = Command::new("sh")
            .args(["-c", script])
            .env("CG", &s.cg)
            .env("QUAI", quai())
            .env("ROOT", &w.root)
            .env("BUNDLE", &w.bundle)
            .env("ID", id)
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(&s.out).expect("stdout file"))
            .stderr(std::fs::File::create(&s.err).expect("stderr file"))
            .spawn()
            .expect("spawn sh");
        s.child = Some(child);
        s
    }

    /// Wait for the run to end: (success, stdout, stderr).
    fn wait(&mut self, limit: Duration) -> (bool, String, String) {
        let child = self.child.as_mut().expect("started");
        let t0 = Instant::now();
        let st = loop {
            if let Some(st) = child.try_wait().expect("wait") {
                break st;
            }
            assert!(t0.elapsed() < limit, "run did not finish in {limit:?}");
            std::thread::sleep(Duration::from_millis(50));
        };
        self.child = None;
        (
            st.success(),
            std::fs::read_to_string(&self.out).unwrap_or_default(),
            std::fs::read_to_string(&self.err).unwrap_or_default(),
        )
    }
}

impl Drop for V2Only {
    fn drop(&mut self) {
        // Everything in the test cgroup is this test's: the runtime and the container.
        let kill = self.cg.join("cgroup.kill");
        if kill.exists() {
            let _ = std::fs::write(&kill, "1");
        }
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
        // Deepest first; a cgroup goes away once its last task has exited.
        let t0 = Instant::now();
        loop {
            let mut dirs = vec![];
            let mut stack = vec![self.cg.clone()];
            while let Some(d) = stack.pop() {
                for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
                    if e.file_type().is_ok_and(|t| t.is_dir()) {
                        stack.push(e.path());
                    }
                }
                dirs.push(d);
            }
            for d in dirs.iter().rev() {
                let _ = std::fs::remove_dir(d);
            }
            if !self.cg.exists() || t0.elapsed() > Duration::from_secs(10) {
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        if self.cg.exists() {
            eprintln!("could not remove test cgroup {}", self.cg.display());
        }
    }
}

fn wait_for(path: &Path, s: &mut V2Only, limit: Duration) {
    let t0 = Instant::now();
    while !path.exists() {
        if let Some(c) = s.child.as_mut() {
            if let Ok(Some(st)) = c.try_wait() {
                panic!(
                    "run ended ({st}) before {}: {}{}",
                    path.display(),
                    std::fs::read_to_string(&s.out).unwrap_or_default(),
                    std::fs::read_to_string(&s.err).unwrap_or_default()
                );
            }
        }
        assert!(t0.elapsed() < limit, "{} did not appear", path.display());
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The default rules deny the host's disk (read after a permitted mknod) while the usual
/// devices work; the program is attached to the container's cgroup; a spec rule that
/// allows the disk makes the same read succeed; limits of controllers the cgroup2 lacks
/// warn once instead of failing.
#[test]
fn device_rules_hold_on_a_cgroup2_only_host() {
    if !root_or_skip("devices_v2") {
        return;
    }
    let Some(cgroup2) = runtime::cgroups::Layout::detect()
        .ok()
        .and_then(|l| l.v2)
        .map(|h| h.mountpoint)
    else {
        eprintln!("SKIP devices_v2: the host has no cgroup2 mount");
        return;
    };
    let Some((major, minor)) = host_block_device() else {
        eprintln!("SKIP devices_v2: no block device in /sys/dev/block");
        return;
    };
    let script = format!(
        "echo x > /dev/null && echo null=ok
         mknod /tmp/zero c 1 5 && head -c 1 /tmp/zero > /dev/null && echo zero=ok
         mknod /tmp/disk b {major} {minor} && echo mknod=ok
         if head -c 1 /tmp/disk > /dev/null 2> /tmp/err; then echo disk=read
         else echo \"disk=denied: $(cat /tmp/err)\"; fi
         touch /shared/ready
         i=0; while [ ! -e /shared/go ] && [ $i -lt 600 ]; do sleep 0.1; i=$((i+1)); done"
    );
    let mut w = World::new(&["/bin/sh", "-c", &script]);
    let shared = w.path("shared");
    std::fs::create_dir(&shared).expect("shared dir");
    w.bind(&shared, "/shared");
    for set in ["bounding", "effective", "permitted"] {
        w.spec["process"]["capabilities"][set]
            .as_array_mut()
            .expect("capabilities")
            .push(json!("CAP_MKNOD"));
    }
    w.spec["linux"]["resources"]["memory"] = json!({"limit": 268435456});
    w.spec["linux"]["resources"]["pids"] = json!({"limit": 100});
    let id1 = id("devv2");
    let mut s = V2Only::start(&w, &id1, &cgroup2);
    wait_for(&shared.join("ready"), &mut s, Duration::from_secs(60));

    // While the container waits: our program, and only it, on the container's cgroup
    // (checked after the output, which says more when both fail).
    let leaf = s.cg.join(&id1);
    let progs = runtime::cgroups::attached_device_programs(&leaf).expect("query programs");
    let bpftool = Command::new("bpftool")
        .args(["cgroup", "show"])
        .arg(&leaf)
        .output()
        .ok()
        .map(|o| stdout(&o));
    std::fs::write(shared.join("go"), "").expect("go");
    let (ok, out, err) = s.wait(Duration::from_secs(60));
    assert!(ok, "run failed: {out}{err}");
    assert!(out.contains("null=ok"), "{out}{err}");
    assert!(out.contains("zero=ok"), "{out}{err}");
    assert!(out.contains("mknod=ok"), "{out}{err}");
    assert!(
        out.contains("disk=denied") && out.contains("Operation not permitted"),
        "block device {major}:{minor} was readable: {out}{err}"
    );
    assert_eq!(
        err.matches("cgroup v2 controller(s)").count(),
        1,
        "one warning for the missing controllers: {err}"
    );
    assert!(err.contains("memory") && err.contains("pids"), "{err}");
    assert_eq!(progs.len(), 1, "{progs:?}");
    assert_eq!(progs[0].1, runtime::cgroups::DEVICE_PROG_NAME);
    if let Some(text) = bpftool {
        eprintln!("bpftool cgroup show {}:\n{text}", leaf.display());
        assert!(
            text.contains("cgroup_device") && text.contains("quai_devices"),
            "{text}"
        );
    }
    eprintln!("container output:\n{out}");
    drop(s);

    // The same read with a spec rule allowing the device.
    w.spec["process"]["args"] = json!([
        "/bin/sh",
        "-c",
        format!("mknod /tmp/disk2 b {major} {minor} && head -c 1 /tmp/disk2 > /dev/null && echo disk=read")
    ]);
    w.spec["linux"]["resources"]["devices"]
        .as_array_mut()
        .expect("devices")
        .push(json!({"allow": true, "type": "b", "major": major, "minor": minor, "access": "r"}));
    let id2 = id("devv2-allow");
    let mut s = V2Only::start(&w, &id2, &cgroup2);
    let (ok, out, err) = s.wait(Duration::from_secs(60));
    assert!(
        ok && out.contains("disk=read"),
        "allowed device: {out}{err}"
    );
}

/// The same rules through v1's devices controller where the host has one (hybrid): the
/// shared rule list must keep denying the disk there.
#[test]
fn device_rules_hold_through_v1_devices_controller() {
    if !root_or_skip("devices_v1") {
        return;
    }
    let layout = runtime::cgroups::Layout::detect().expect("layout");
    if !layout
        .v1
        .iter()
        .any(|h| h.controllers.iter().any(|c| c == "devices"))
    {
        eprintln!("SKIP devices_v1: no v1 devices hierarchy on this host");
        return;
    }
    let Some((major, minor)) = host_block_device() else {
        eprintln!("SKIP devices_v1: no block device in /sys/dev/block");
        return;
    };
    let mut w = World::new(&[
        "/bin/sh",
        "-c",
        &format!(
            "echo x > /dev/null && mknod /tmp/disk b {major} {minor} && \
             if head -c 1 /tmp/disk > /dev/null; then echo disk=read; else echo disk=denied; fi"
        ),
    ]);
    for set in ["bounding", "effective", "permitted"] {
        w.spec["process"]["capabilities"][set]
            .as_array_mut()
            .expect("capabilities")
            .push(json!("CAP_MKNOD"));
    }
    let out = w.run(&id("devv1"));
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("disk=denied") && stderr(&out).contains("Operation not permitted"),
        "{}{}",
        stdout(&out),
        stderr(&out)
    );
}
