//! `update`: limits and the restart policy changed in a container's record and, while it
//! runs, in its cgroups; bad values refused with nothing changed.

mod common;
mod engine_common;

use engine_common::{root_or_skip, Eng};

fn text(o: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// A cgroup file of the container, read inside it (its cgroup namespace shows its own).
fn cg(e: &Eng, c: &str, v1: &str, v2: &str) -> String {
    e.ok(&[
        "exec",
        c,
        "sh",
        "-c",
        &format!("cat /sys/fs/cgroup/{v1} 2>/dev/null || cat /sys/fs/cgroup/{v2}"),
    ])
}

#[test]
fn limits_change_live_and_bad_values_change_nothing() {
    if !root_or_skip("limits_change_live_and_bad_values_change_nothing") {
        return;
    }
    let e = Eng::new();
    e.ok(&[
        "run",
        "-d",
        "--name",
        "u1",
        "--network",
        "none",
        "--memory",
        "64m",
        "--memory-swap",
        "256m",
        "localbusybox",
        "sh",
        "-c",
        "while [ ! -f /tmp/die ]; do sleep 0.1; done; rm /tmp/die; exit 3",
    ]);
    assert_eq!(
        cg(&e, "u1", "memory/memory.limit_in_bytes", "memory.max"),
        "67108864"
    );
    let out = e.ok(&[
        "update",
        "--memory",
        "128m",
        "--cpus",
        "0.5",
        "--pids-limit",
        "50",
        "--restart",
        "on-failure:3",
        "u1",
    ]);
    assert_eq!(out, "u1");
    assert_eq!(
        cg(&e, "u1", "memory/memory.limit_in_bytes", "memory.max"),
        "134217728"
    );
    let quota = cg(&e, "u1", "cpu/cpu.cfs_quota_us", "cpu.max");
    assert!(quota == "50000" || quota.starts_with("50000 "), "{quota}");
    assert_eq!(cg(&e, "u1", "pids/pids.max", "pids.max"), "50");
    assert_eq!(
        e.ok(&[
            "inspect",
            "-f",
            "{{.HostConfig.Memory}} {{.HostConfig.NanoCpus}} {{.HostConfig.PidsLimit}} {{.HostConfig.RestartPolicy.Name}}:{{.HostConfig.RestartPolicy.MaximumRetryCount}}",
            "u1"
        ]),
        "134217728 500000000 50 on-failure:3"
    );
    // Bad values: one line, nothing changed (the record and the cgroup alike).
    let o = e.q(&["update", "--memory", "1m", "u1"]);
    assert_ne!(o.status.code(), Some(0));
    assert!(
        text(&o).contains("Minimum memory limit allowed is 6MB"),
        "{}",
        text(&o)
    );
    let o = e.q(&["update", "--memory", "512m", "u1"]);
    assert_ne!(o.status.code(), Some(0));
    assert!(
        text(&o).contains("smaller than already set memoryswap limit"),
        "{}",
        text(&o)
    );
    let o = e.q(&["update", "--cpus", "1", "--cpu-quota", "1000", "u1"]);
    assert!(text(&o).contains("Conflicting options"), "{}", text(&o));
    let o = e.q(&["update", "u1"]);
    assert!(
        text(&o).contains("you must provide one or more flags"),
        "{}",
        text(&o)
    );
    let o = e.q(&["update", "--memory", "64m", "nosuch"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(
        text(&o).contains("No such container: nosuch"),
        "{}",
        text(&o)
    );
    assert_eq!(
        cg(&e, "u1", "memory/memory.limit_in_bytes", "memory.max"),
        "134217728"
    );
    assert_eq!(e.inspect("u1", ".HostConfig.Memory"), "134217728");
    // The new restart policy is the monitor's at the next exit: a failure restarts it.
    let pid_before = e.inspect("u1", ".State.Pid");
    e.ok(&["exec", "u1", "touch", "/tmp/die"]);
    assert!(
        e.until(10, || e.inspect("u1", ".RestartCount") == "1"
            && e.inspect("u1", ".State.Running") == "true"),
        "restarted: {}",
        e.ok(&["inspect", "-f", "{{.RestartCount}} {{.State.Status}}", "u1"])
    );
    assert_ne!(e.inspect("u1", ".State.Pid"), pid_before);
    // A stopped container's update is recorded and taken at its next start.
    e.ok(&["update", "--restart", "no", "u1"]);
    e.ok(&["stop", "-t", "0", "u1"]);
    e.ok(&["update", "--pids-limit", "77", "u1"]);
    e.ok(&["start", "u1"]);
    assert_eq!(cg(&e, "u1", "pids/pids.max", "pids.max"), "77");
    // --rm containers keep no restart policy.
    e.ok(&[
        "run",
        "-d",
        "--rm",
        "--name",
        "u2",
        "--network",
        "none",
        "localbusybox",
        "sleep",
        "300",
    ]);
    let o = e.q(&["update", "--restart", "always", "u2"]);
    assert!(text(&o).contains("AutoRemove is enabled"), "{}", text(&o));
}
