//! The systemd cgroup driver: where systemd is pid 1 on cgroup v2, a container's cgroup is
//! the transient scope `quai-ID.scope` in `system.slice` (or its `--cgroup-parent`
//! slice), with its limits, gone with the container. Elsewhere the test says it skipped
//! (scripts/test.sh lists the skips) and checks that asking for the driver is refused.

mod common;
mod engine_common;

use engine_common::*;

fn systemd_here() -> Option<String> {
    let comm = std::fs::read_to_string("/proc/1/comm").unwrap_or_default();
    if comm.trim() != "systemd" {
        return Some(format!("systemd is not pid 1 here ({})", comm.trim()));
    }
    let v2 = std::fs::read_to_string("/proc/self/mountinfo")
        .unwrap_or_default()
        .lines()
        .any(|l| l.contains(" /sys/fs/cgroup ") && l.contains(" - cgroup2 "));
    if !v2 {
        return Some("the cgroup hierarchy is not unified (v2)".into());
    }
    None
}

#[test]
fn systemd_driver_makes_a_scope_per_container() {
    if !root_or_skip("systemd_driver_makes_a_scope_per_container") {
        return;
    }
    let e = Eng::new();
    if let Some(why) = systemd_here() {
        common::skip("systemd_driver_makes_a_scope_per_container", &why);
        // What a user gets here instead: one clear line, nothing made.
        let o = e.q(&[
            "--cgroup-manager",
            "systemd",
            "run",
            "--rm",
            "localbusybox",
            "true",
        ]);
        assert!(!o.status.success());
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(err.contains("systemd is not pid 1"), "{err}");
        assert_eq!(e.ok(&["ps", "-aq"]), "");
        return;
    }
    let id = e.ok(&[
        "--cgroup-manager",
        "systemd",
        "run",
        "-d",
        "--memory",
        "64m",
        "--pids-limit",
        "50",
        "localbusybox",
        "sleep",
        "300",
    ]);
    let unit = format!("quai-{id}.scope");
    let cg = e.ok(&["exec", &id, "cat", "/proc/1/cgroup"]);
    let pid = e.inspect(&id, ".State.Pid");
    let host_cg = std::fs::read_to_string(format!("/proc/{pid}/cgroup")).expect("cgroup");
    assert!(
        host_cg.contains(&format!("/system.slice/{unit}")),
        "{host_cg} / {cg}"
    );
    let dir = format!("/sys/fs/cgroup/system.slice/{unit}");
    assert_eq!(
        std::fs::read_to_string(format!("{dir}/memory.max"))
            .expect("memory.max")
            .trim(),
        "67108864"
    );
    assert_eq!(
        std::fs::read_to_string(format!("{dir}/pids.max"))
            .expect("pids.max")
            .trim(),
        "50"
    );
    let show = std::process::Command::new("systemctl")
        .args(["show", "-p", "ActiveState", "-p", "Delegate", &unit])
        .output()
        .expect("systemctl");
    let show = String::from_utf8_lossy(&show.stdout);
    assert!(
        show.contains("ActiveState=active") && show.contains("Delegate=yes"),
        "{show}"
    );
    assert_eq!(e.inspect(&id, ".HostConfig.CgroupParent"), "");
    e.ok(&["rm", "-f", &id]);
    assert!(
        e.until(10, || !std::path::Path::new(&dir).exists()),
        "{dir} outlived the container"
    );
}
