//! End-to-end: the container verbs through the binary, as a user types them.

mod common;
mod engine_common;

use engine_common::*;

#[test]
fn run_exit_statuses_and_rm() {
    if !root_or_skip("run_exit_statuses_and_rm") {
        return;
    }
    let e = Eng::new();
    assert_eq!(
        e.ok(&["run", "--rm", "localbusybox", "echo", "hello"]),
        "hello"
    );
    let o = e.q(&[
        "run",
        "--rm",
        "localbusybox",
        "sh",
        "-c",
        "echo out; echo err >&2; exit 3",
    ]);
    assert_eq!(o.status.code(), Some(3), "{}", text(&o));
    assert_eq!(String::from_utf8_lossy(&o.stdout), "out\n");
    assert_eq!(String::from_utf8_lossy(&o.stderr), "err\n");
    let o = e.q(&["run", "--rm", "localbusybox", "nosuch"]);
    assert_eq!(o.status.code(), Some(127), "{}", text(&o));
    assert!(
        text(&o).contains("executable file not found"),
        "{}",
        text(&o)
    );
    let o = e.q(&["run", "--rm", "localbusybox", "/etc/passwd"]);
    assert_eq!(o.status.code(), Some(126), "{}", text(&o));
    let o = e.q(&["run", "--bogus", "localbusybox"]);
    assert_eq!(o.status.code(), Some(125));
    let o = e.q(&["run", "--rm", "--restart", "always", "localbusybox", "true"]);
    assert_eq!(o.status.code(), Some(125));
    assert!(text(&o).contains("--restart and --rm"), "{}", text(&o));
    // Without --rm a failed start leaves a Created container, as in Docker.
    let o = e.q(&["run", "--name", "broken", "localbusybox", "nosuch"]);
    assert_eq!(o.status.code(), Some(127));
    assert_eq!(e.inspect("broken", ".State.Status"), "created");
    // An image a container uses cannot be removed; forced by name, its last name goes
    // and the image stays for the container (docker's `rmi -f`).
    let o = e.q(&["rmi", "localbusybox"]);
    assert_ne!(o.status.code(), Some(0));
    assert!(
        text(&o).contains("is using its referenced image"),
        "{}",
        text(&o)
    );
    let id = e.ok(&["image", "inspect", "-f", "{{.Id}}", "localbusybox"]);
    let o = e.q(&["rmi", "-f", id.as_str()]);
    assert_ne!(o.status.code(), Some(0), "by id: the image itself stays");
    assert_eq!(
        e.ok(&["rmi", "-f", "localbusybox"]),
        "Untagged: localbusybox:latest"
    );
    assert_eq!(e.inspect("broken", ".Image"), id);
    e.ok(&["image", "prune", "-a", "-f"]);
    e.ok(&["rm", "broken"]);
    assert!(
        e.ok(&["images", "-q"]).lines().count() == 1,
        "image prune kept the used image"
    );
    // --rm removed everything, even after failures.
    assert_eq!(e.ok(&["ps", "-aq"]), "");
    let left: Vec<_> = std::fs::read_dir(e.root.join("containers"))
        .map(|d| d.flatten().collect())
        .unwrap_or_default();
    assert!(left.is_empty(), "container dirs left: {left:?}");
    assert_eq!(e.leaks(&[]), Vec::<String>::new());
}

#[test]
fn image_config_and_options_apply() {
    if !root_or_skip("image_config_and_options_apply") {
        return;
    }
    let e = Eng::new();
    let tar = e.dir.path().join("rootfs.tar");
    e.ok(&[
        "import",
        "-c",
        "ENTRYPOINT [\"/bin/echo\", \"ep\"]",
        "-c",
        "CMD [\"default\"]",
        "-c",
        "ENV GREETING=hi",
        "-c",
        "WORKDIR /srv/app",
        tar.to_str().expect("utf-8"),
        "withep",
    ]);
    assert_eq!(e.ok(&["run", "--rm", "withep"]), "ep default");
    assert_eq!(e.ok(&["run", "--rm", "withep", "given"]), "ep given");
    assert_eq!(
        e.ok(&[
            "run",
            "--rm",
            "--entrypoint",
            "/bin/sh",
            "withep",
            "-c",
            "echo $GREETING $(pwd)"
        ]),
        "hi /srv/app"
    );
    let out = e.ok(&[
        "run",
        "--rm",
        "-u",
        "1000:1000",
        "-w",
        "/work",
        "-e",
        "A=1",
        "--hostname",
        "hh",
        "--group-add",
        "50",
        "localbusybox",
        "sh",
        "-c",
        "id -u; id -g; id -G; pwd; echo $A; hostname; cat /etc/hostname",
    ]);
    assert_eq!(out, "1000\n1000\n1000 50\n/work\n1\nhh\nhh");
    let envf = e.dir.path().join("env");
    std::fs::write(&envf, "# comment\nFROMFILE=yes\n").expect("env file");
    assert_eq!(
        e.ok(&[
            "run",
            "--rm",
            "--env-file",
            envf.to_str().expect("utf-8"),
            "localbusybox",
            "sh",
            "-c",
            "echo $FROMFILE"
        ]),
        "yes"
    );
    // --init: quai-init is pid 1 and the command its child.
    assert_eq!(
        e.ok(&[
            "run",
            "--rm",
            "--init",
            "localbusybox",
            "sh",
            "-c",
            "cat /proc/1/cmdline | tr '\\0' ' '"
        ]),
        "/sbin/quai-init -- sh -c cat /proc/1/cmdline | tr '\\0' ' '"
    );
    // -i: stdin reaches the container.
    let mut c = e.cmd(&[
        "run",
        "--rm",
        "-i",
        "localbusybox",
        "sh",
        "-c",
        "read x; echo got $x",
    ]);
    c.stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped());
    let mut child = c.spawn().expect("spawn");
    use std::io::Write;
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(b"ping\n")
        .expect("write");
    let o = child.wait_with_output().expect("wait");
    assert_eq!(String::from_utf8_lossy(&o.stdout), "got ping\n");
}

#[test]
fn limits_bite() {
    if !root_or_skip("limits_bite") {
        return;
    }
    let e = Eng::new();
    let o = e.q(&[
        "run",
        "--name",
        "oom",
        "--memory",
        "32m",
        "--memory-swap",
        "32m",
        "localbusybox",
        "sh",
        "-c",
        "x=$(head -c 200000000 /dev/zero | tr '\\0' a); echo survived",
    ]);
    assert_eq!(o.status.code(), Some(137), "{}", text(&o));
    assert_eq!(e.inspect("oom", ".State.OOMKilled"), "true");
    assert_eq!(e.inspect("oom", ".HostConfig.Memory"), "33554432");
    let o = e.q(&[
        "run",
        "--rm",
        "--pids-limit",
        "5",
        "localbusybox",
        "sh",
        "-c",
        "for i in 1 2 3 4 5 6 7 8; do sleep 2 & done; wait",
    ]);
    assert!(
        text(&o).contains("can't fork") || text(&o).contains("Resource temporarily unavailable"),
        "{}",
        text(&o)
    );
    let o = e.q(&["run", "--rm", "--read-only", "localbusybox", "touch", "/x"]);
    assert_ne!(o.status.code(), Some(0));
    assert!(text(&o).contains("Read-only file system"), "{}", text(&o));
    // tmpfs stays writable on a read-only root.
    e.ok(&[
        "run",
        "--rm",
        "--read-only",
        "--tmpfs",
        "/scratch",
        "localbusybox",
        "touch",
        "/scratch/x",
    ]);
    let o = e.q(&[
        "run",
        "--rm",
        "--cap-drop",
        "CHOWN",
        "localbusybox",
        "chown",
        "1:1",
        "/tmp",
    ]);
    assert_ne!(
        o.status.code(),
        Some(0),
        "chown without CAP_CHOWN: {}",
        text(&o)
    );
    e.ok(&["run", "--rm", "localbusybox", "chown", "1:1", "/tmp"]);
    // Docker's default set: no CAP_SYS_ADMIN, and the default seccomp profile denies mount
    // and unshare; --privileged gets everything.
    let caps = e.ok(&[
        "run",
        "--rm",
        "localbusybox",
        "grep",
        "CapEff",
        "/proc/self/status",
    ]);
    assert!(caps.ends_with("00000000a80425fb"), "{caps}");
    let o = e.q(&["run", "--rm", "localbusybox", "unshare", "-U", "true"]);
    assert_ne!(
        o.status.code(),
        Some(0),
        "unshare under seccomp: {}",
        text(&o)
    );
    let o = e.q(&[
        "run",
        "--rm",
        "--privileged",
        "localbusybox",
        "sh",
        "-c",
        "mkdir /m && mount -t tmpfs t /m && echo mounted",
    ]);
    assert_eq!(
        String::from_utf8_lossy(&o.stdout).trim(),
        "mounted",
        "{}",
        text(&o)
    );
    let nnp = e.ok(&[
        "run",
        "--rm",
        "--security-opt",
        "no-new-privileges",
        "localbusybox",
        "grep",
        "NoNewPrivs",
        "/proc/self/status",
    ]);
    assert!(nnp.ends_with('1'), "{nnp}");
    let o = e.q(&[
        "run",
        "--rm",
        "--ulimit",
        "nofile=100:200",
        "localbusybox",
        "sh",
        "-c",
        "ulimit -n; ulimit -Hn",
    ]);
    assert_eq!(
        String::from_utf8_lossy(&o.stdout),
        "100\n200\n",
        "{}",
        text(&o)
    );
    // CPU knobs land in the container's own cgroup (seen from inside, read-only).
    let cpu = e.ok(&[
        "run", "--rm", "--cpus", "0.5", "--cpu-shares", "512", "--cpuset-cpus", "0", "localbusybox", "sh", "-c",
        "cat /sys/fs/cgroup/cpu/cpu.cfs_quota_us /sys/fs/cgroup/cpu/cpu.shares /sys/fs/cgroup/cpuset/cpuset.cpus",
    ]);
    assert_eq!(cpu, "50000\n512\n0", "{cpu}");
    // Masked paths.
    let o = e.q(&[
        "run",
        "--rm",
        "localbusybox",
        "sh",
        "-c",
        "wc -c < /proc/timer_list; echo 1 > /proc/sys/kernel/domainname",
    ]);
    assert!(
        String::from_utf8_lossy(&o.stdout).starts_with('0'),
        "{}",
        text(&o)
    );
    assert_ne!(o.status.code(), Some(0));
    let ids = e.all_ids();
    e.ok(&["rm", "oom"]);
    assert_eq!(e.leaks(&ids), Vec::<String>::new());
}

#[test]
fn listing_filters_and_housekeeping() {
    if !root_or_skip("listing_filters_and_housekeeping") {
        return;
    }
    let e = Eng::new();
    e.ok(&["run", "--name", "ok0", "localbusybox", "true"]);
    let o = e.q(&[
        "run",
        "--name",
        "bad3",
        "localbusybox",
        "sh",
        "-c",
        "exit 3",
    ]);
    assert_eq!(o.status.code(), Some(3));
    e.ok(&[
        "create",
        "--name",
        "fresh",
        "-l",
        "app=x",
        "localbusybox",
        "true",
    ]);
    let run = e.ok(&["run", "-d", "--name", "up", "localbusybox", "sleep", "60"]);
    assert_eq!(e.ok(&["ps", "--format", "{{.Names}}"]), "up");
    assert_eq!(e.ok(&["ps", "-a", "-q"]).lines().count(), 4);
    assert_eq!(
        e.ok(&["ps", "-n", "2", "--format", "{{.Names}}"]),
        "up\nfresh"
    );
    assert_eq!(e.ok(&["ps", "-l", "-q", "--no-trunc"]), run);
    assert_eq!(
        e.ok(&[
            "ps",
            "-a",
            "--filter",
            "status=created",
            "--format",
            "{{.Names}}"
        ]),
        "fresh"
    );
    assert_eq!(
        e.ok(&["ps", "-a", "--filter", "exited=3", "--format", "{{.Names}}"]),
        "bad3"
    );
    assert_eq!(
        e.ok(&[
            "ps",
            "-a",
            "--filter",
            "label=app",
            "--format",
            "{{.Names}}"
        ]),
        "fresh"
    );
    assert_eq!(
        e.ok(&["ps", "-a", "--filter", "ancestor=localbusybox", "-q"])
            .lines()
            .count(),
        4
    );
    let t = e.ok(&["ps", "-a", "--format", "table {{.Names}}\\t{{.Status}}"]);
    // Aligned as docker's tabwriter aligns them (columns at least 10 wide).
    assert!(t.starts_with("NAMES     STATUS\n"), "{t}");
    assert!(t.contains("\nbad3      Exited (3)"), "{t}");
    let o = e.q(&["ps", "--filter", "color=red"]);
    assert_ne!(o.status.code(), Some(0));
    // Generic inspect finds containers, images and volumes.
    e.ok(&["volume", "create", "vv"]);
    assert_eq!(e.ok(&["inspect", "-f", "{{.Name}}", "vv"]), "vv");
    assert!(e
        .ok(&["inspect", "-f", "{{.Id}}", "localbusybox"])
        .starts_with("sha256:"));
    let o = e.q(&["inspect", "nothing-here"]);
    assert_ne!(o.status.code(), Some(0));
    assert!(text(&o).contains("No such object: nothing-here"));
    assert_eq!(e.ok(&["port", "up"]), "");
    // Refusals.
    let o = e.q(&["rm", "up"]);
    assert!(
        text(&o)
            .contains("container is running: stop the container before removing or force remove"),
        "{}",
        text(&o)
    );
    let o = e.q(&["create", "--name", "up", "localbusybox", "true"]);
    assert!(
        text(&o).contains("is already in use by container"),
        "{}",
        text(&o)
    );
    let o = e.q(&[
        "run",
        "--network",
        "none",
        "-p",
        "8080:80",
        "localbusybox",
        "true",
    ]);
    assert_eq!(o.status.code(), Some(125));
    // prune: stopped containers go, the running one stays; then system prune and df.
    let pruned = e.ok(&["container", "prune", "-f", "--filter", "label=app=x"]);
    assert!(pruned.contains("Deleted Containers:"), "{pruned}");
    assert_eq!(e.ok(&["ps", "-a", "-q"]).lines().count(), 3);
    e.ok(&["system", "prune", "-f", "--volumes"]);
    assert_eq!(e.ok(&["ps", "-a", "--format", "{{.Names}}"]), "up");
    assert_eq!(
        e.ok(&["images", "-q"]).lines().count(),
        1,
        "the image in use stays"
    );
    let df = e.ok(&["system", "df"]);
    assert!(df.contains("Containers") && df.contains("Images"), "{df}");
    let info = e.ok(&["info"]);
    assert!(
        info.contains("Running: 1") && info.contains("Storage Driver: overlay"),
        "{info}"
    );
    assert!(e.ok(&["version"]).contains("Version"));
    e.ok(&["rm", "-f", "up"]);
    e.ok(&["volume", "rm", "vv"]);
    assert_eq!(e.leaks(&[run]), Vec::<String>::new());
}
