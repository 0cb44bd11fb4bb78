//! End-to-end: isolation and limits really apply (namespaces, cgroups, user namespaces,
//! capabilities, seccomp, rlimits, hooks).

mod common;

use common::*;
use serde_json::json;

#[test]
fn namespaces_isolate_pid_net_uts_and_mounts() {
    if !root_or_skip("namespaces") {
        return;
    }
    let w = World::new(&["/bin/sh", "-c", "echo pid=$$; hostname; ls /sys/class/net | tr '\\n' ' '; echo; grep -c . /proc/mounts >/dev/null && echo mounts-ok; readlink /proc/self/ns/net"]);
    let out = w.run(&id("ns"));
    assert!(out.status.success(), "{}", stderr(&out));
    let s = stdout(&out);
    let lines: Vec<&str> = s.lines().collect();
    assert_eq!(lines[0], "pid=1");
    assert_eq!(lines[1], "quai");
    assert_eq!(lines[2].trim(), "lo", "only loopback in a new netns");
    assert_eq!(lines[3], "mounts-ok");
    let host_net = std::fs::read_link("/proc/self/ns/net").expect("ns");
    assert_ne!(lines[4], host_net.to_string_lossy());
}

#[test]
fn joins_a_namespace_by_path() {
    if !root_or_skip("ns_path") {
        return;
    }
    // A uts namespace of our own, held by a process we start and stop.
    let mut holder = std::process::Command::new("unshare")
        .args(["--uts", "sleep", "60"])
        .spawn()
        .expect("unshare");
    let ns = format!("/proc/{}/ns/uts", holder.id());
    let mut target = std::fs::read_link(&ns).expect("ns");
    for _ in 0..100 {
        if target != std::fs::read_link("/proc/self/ns/uts").expect("own ns") {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
        target = std::fs::read_link(&ns).expect("ns");
    }
    let mut w = World::new(&["/bin/sh", "-c", "readlink /proc/self/ns/uts"]);
    w.spec["hostname"] = json!("");
    for n in w.spec["linux"]["namespaces"].as_array_mut().expect("ns") {
        if n["type"] == "uts" {
            n["path"] = json!(ns);
        }
    }
    let out = w.run(&id("nspath"));
    let _ = holder.kill();
    let _ = holder.wait();
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out).trim(), target.to_string_lossy());
}

#[test]
fn memory_hog_is_oom_killed() {
    if !root_or_skip("oom") {
        return;
    }
    // Build a 64 MB string in the shell: far above the 16 MB limit.
    let mut w = World::new(&[
        "/bin/sh",
        "-c",
        "x=$(head -c 67108864 /dev/zero | tr '\\000' a); echo survived ${#x}",
    ]);
    w.spec["linux"]["resources"]["memory"] = json!({"limit": 16777216, "swap": 16777216});
    let out = w.run(&id("oom"));
    assert!(
        !stdout(&out).contains("survived"),
        "the hog survived: {}",
        stdout(&out)
    );
    // The shell reports its child killed, or dies itself: 137 either way or a failed status.
    assert_ne!(out.status.code(), Some(0));
}

#[test]
fn fork_bomb_stops_at_pids_max() {
    if !root_or_skip("pids") {
        return;
    }
    let mut w = World::new(&[
        "/bin/sh",
        "-c",
        "(while true; do sleep 30 & done) 2>/dev/null; exec sleep 60",
    ]);
    w.spec["linux"]["resources"]["pids"] = json!({"limit": 12});
    let id = id("pids");
    let out = w.create_detached(&id);
    assert!(out.0, "create: {}", out.1);
    assert!(w.rt(&["start", &id]).status.success());
    std::thread::sleep(std::time::Duration::from_millis(500));
    let pids = w.rt(&["ps", "--format", "json", &id]);
    let pids: Vec<i64> = serde_json::from_slice(&pids.stdout).expect("ps json");
    assert!(pids.len() >= 5, "the bomb did not fork: {pids:?}");
    assert!(
        pids.len() <= 12,
        "{} processes despite pids.max=12",
        pids.len()
    );
    assert!(w.rt(&["delete", "--force", &id]).status.success());
}

#[test]
fn cpu_and_memory_values_reach_the_cgroup() {
    if !root_or_skip("cgroup_values") {
        return;
    }
    let mut w = World::new(&["/bin/sh", "-c", "cat /sys/fs/cgroup/memory/memory.limit_in_bytes /sys/fs/cgroup/cpu/cpu.shares /sys/fs/cgroup/cpu/cpu.cfs_quota_us /sys/fs/cgroup/cpuset/cpuset.cpus"]);
    w.spec["linux"]["resources"]["memory"] = json!({"limit": 67108864});
    w.spec["linux"]["resources"]["cpu"] =
        json!({"shares": 512, "quota": 50000, "period": 100000, "cpus": "0"});
    let out = w.run(&id("cgv"));
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out), "67108864\n512\n50000\n0\n");
}

#[test]
fn user_namespace_maps_root() {
    if !root_or_skip("userns") {
        return;
    }
    let mut w = World::new(&["/bin/sh", "-c", "id -u; cat /proc/self/uid_map"]);
    w.spec["linux"]["namespaces"]
        .as_array_mut()
        .expect("ns")
        .push(json!({"type": "user"}));
    w.spec["linux"]["uidMappings"] = json!([{"containerID": 0, "hostID": 200000, "size": 65536}]);
    w.spec["linux"]["gidMappings"] = json!([{"containerID": 0, "hostID": 200000, "size": 65536}]);
    let out = w.run(&id("userns"));
    assert!(out.status.success(), "{}", stderr(&out));
    let s = stdout(&out);
    let mut lines = s.lines();
    assert_eq!(lines.next(), Some("0"));
    let map: Vec<&str> = lines.next().expect("map").split_whitespace().collect();
    assert_eq!(map, vec!["0", "200000", "65536"]);
}

#[test]
fn capabilities_are_dropped() {
    if !root_or_skip("caps") {
        return;
    }
    let mut w = World::new(&[
        "/bin/sh",
        "-c",
        "grep -E '^Cap(Eff|Bnd)' /proc/self/status; hostname foo 2>&1 || echo denied",
    ]);
    w.spec["process"]["capabilities"] =
        json!({"bounding": ["CAP_KILL"], "effective": ["CAP_KILL"], "permitted": ["CAP_KILL"]});
    let out = w.run(&id("caps"));
    assert!(out.status.success(), "{}", stderr(&out));
    let s = stdout(&out);
    assert!(s.contains("CapEff:\t0000000000000020"), "{s}");
    assert!(s.contains("CapBnd:\t0000000000000020"), "{s}");
    assert!(
        s.contains("denied"),
        "hostname worked without CAP_SYS_ADMIN: {s}"
    );
}

#[test]
fn seccomp_profile_denies_a_syscall() {
    if !root_or_skip("seccomp") {
        return;
    }
    let mut w = World::new(&[
        "/bin/sh",
        "-c",
        "mkdir /tmp/a 2>&1 && echo made || echo refused; grep Seccomp: /proc/self/status",
    ]);
    w.spec["linux"]["seccomp"] = json!({
        "defaultAction": "SCMP_ACT_ALLOW",
        "architectures": ["SCMP_ARCH_X86_64"],
        "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1}]
    });
    let out = w.run(&id("seccomp"));
    assert!(out.status.success(), "{}", stderr(&out));
    let s = stdout(&out);
    assert!(s.contains("refused"), "{s}");
    assert!(s.contains("Seccomp:\t2"), "{s}");
}

#[test]
fn rlimits_apply_and_an_impossible_one_is_refused_cleanly() {
    if !root_or_skip("rlimits") {
        return;
    }
    let mut w = World::new(&["/bin/sh", "-c", "ulimit -n; ulimit -Hn"]);
    w.spec["process"]["rlimits"] = json!([{"type": "RLIMIT_NOFILE", "soft": 123, "hard": 456}]);
    let out = w.run(&id("rl"));
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out), "123\n456\n");
    // Above the caller's hard limit (no CAP_SYS_RESOURCE here): a clear error, nothing left.
    let hard = std::fs::read_to_string("/proc/self/limits")
        .expect("limits")
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .and_then(|l| {
            l.split_whitespace()
                .nth(4)
                .and_then(|v| v.parse::<u64>().ok())
        })
        .expect("nofile hard");
    w.spec["process"]["rlimits"] =
        json!([{"type": "RLIMIT_NOFILE", "soft": 1024, "hard": hard + 1}]);
    let out = w.run(&id("rl2"));
    let caps = std::fs::read_to_string("/proc/self/status").expect("status");
    let has_sys_resource = caps
        .lines()
        .find(|l| l.starts_with("CapEff:"))
        .and_then(|l| u64::from_str_radix(l.split_whitespace().nth(1)?, 16).ok())
        .is_some_and(|c| c & (1 << 24) != 0);
    if !has_sys_resource {
        assert!(!out.status.success());
        let e = stderr(&out);
        assert!(
            e.contains("RLIMIT_NOFILE") && e.contains("hard limit"),
            "{e}"
        );
        assert_eq!(e.lines().count(), 1, "one line: {e}");
        assert_eq!(
            std::fs::read_dir(&w.root).map(|r| r.count()).unwrap_or(0),
            0,
            "state left behind"
        );
    }
}

#[test]
fn hooks_run_in_order_with_state_on_stdin() {
    if !root_or_skip("hooks") {
        return;
    }
    let mut w = World::new(&["/bin/true"]);
    let log = w.path("hooks.log");
    let hook = |name: &str| json!({"path": "/bin/sh", "args": ["sh", "-c", format!("read -r s; echo \"{name} $s\" >> {}", log.display())]});
    // createContainer and startContainer run inside the container's namespaces; the log
    // is reachable there through a bind mount at the same path.
    let dir = w.tmp.path().to_path_buf();
    w.bind(&dir, dir.to_str().expect("utf8"));
    w.spec["hooks"] = json!({
        "prestart": [hook("prestart")],
        "createRuntime": [hook("createRuntime")],
        "createContainer": [hook("createContainer")],
        "poststart": [hook("poststart")],
        "poststop": [hook("poststop")],
    });
    let id = id("hooks");
    let out = w.run(&id);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = std::fs::read_to_string(&log).expect("hook log");
    let order: Vec<&str> = text
        .lines()
        .map(|l| l.split(' ').next().unwrap_or(""))
        .collect();
    assert_eq!(
        order,
        vec![
            "prestart",
            "createRuntime",
            "createContainer",
            "poststart",
            "poststop"
        ],
        "{text}"
    );
    for l in text.lines() {
        assert!(l.contains(&format!("\"id\":\"{id}\"")), "{l}");
    }
    // A failing prestart hook fails create and leaves nothing.
    w.spec["hooks"] = json!({"prestart": [{"path": "/bin/false"}]});
    let out = w.run(&id);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("prestart hook /bin/false"),
        "{}",
        stderr(&out)
    );
    assert_eq!(
        std::fs::read_dir(&w.root).map(|r| r.count()).unwrap_or(0),
        0
    );
}

#[test]
fn readonly_root_masked_and_readonly_paths() {
    if !root_or_skip("readonly") {
        return;
    }
    let mut w = World::new(&["/bin/sh", "-c", "touch /x 2>/dev/null && echo root-rw || echo root-ro; cat /proc/kcore 2>/dev/null | head -c1 | wc -c; echo 1 > /proc/sys/kernel/ns_last_pid 2>/dev/null && echo sys-rw || echo sys-ro"]);
    w.spec["root"]["readonly"] = json!(true);
    let out = w.run(&id("ro"));
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out), "root-ro\n0\nsys-ro\n");
}

#[test]
fn all_capabilities_on_a_host_that_withholds_some() {
    if !root_or_skip("all_caps") {
        return;
    }
    // Every capability the kernel knows, as `--privileged` asks; the host may lack some
    // (these machines lack CAP_SYS_RESOURCE): the container runs with the rest.
    let last: u32 = std::fs::read_to_string("/proc/sys/kernel/cap_last_cap")
        .expect("cap_last_cap")
        .trim()
        .parse()
        .expect("number");
    let names: Vec<String> = (0..=last).filter_map(cap_name).collect();
    let mut w = World::new(&["/bin/sh", "-c", "grep CapEff /proc/self/status"]);
    w.spec["process"]["capabilities"] =
        json!({"bounding": names, "effective": names, "permitted": names});
    let out = w.run(&id("allcaps"));
    assert!(out.status.success(), "{}", stderr(&out));
    let own = std::fs::read_to_string("/proc/self/status").expect("status");
    let own_bnd = own
        .lines()
        .find(|l| l.starts_with("CapBnd:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .expect("CapBnd")
        .to_string();
    assert_eq!(
        stdout(&out).trim(),
        format!("CapEff:\t{own_bnd}"),
        "container should get every capability the host has"
    );
}

fn cap_name(n: u32) -> Option<String> {
    const NAMES: [&str; 41] = [
        "CHOWN",
        "DAC_OVERRIDE",
        "DAC_READ_SEARCH",
        "FOWNER",
        "FSETID",
        "KILL",
        "SETGID",
        "SETUID",
        "SETPCAP",
        "LINUX_IMMUTABLE",
        "NET_BIND_SERVICE",
        "NET_BROADCAST",
        "NET_ADMIN",
        "NET_RAW",
        "IPC_LOCK",
        "IPC_OWNER",
        "SYS_MODULE",
        "SYS_RAWIO",
        "SYS_CHROOT",
        "SYS_PTRACE",
        "SYS_PACCT",
        "SYS_ADMIN",
        "SYS_BOOT",
        "SYS_NICE",
        "SYS_RESOURCE",
        "SYS_TIME",
        "SYS_TTY_CONFIG",
        "MKNOD",
        "LEASE",
        "AUDIT_WRITE",
        "AUDIT_CONTROL",
        "SETFCAP",
        "MAC_OVERRIDE",
        "MAC_ADMIN",
        "SYSLOG",
        "WAKE_ALARM",
        "BLOCK_SUSPEND",
        "AUDIT_READ",
        "PERFMON",
        "BPF",
        "CHECKPOINT_RESTORE",
    ];
    NAMES.get(n as usize).map(|s| format!("CAP_{s}"))
}

#[test]
fn seccomp_notify_sends_the_fd_to_the_listener() {
    if !root_or_skip("seccomp_notify") {
        return;
    }
    let mut w = World::new(&["/bin/sh", "-c", "mkdir /tmp/n 2>&1; echo after"]);
    let sock = w.path("agent.sock");
    let listener = std::os::unix::net::UnixListener::bind(&sock).expect("bind");
    w.spec["linux"]["seccomp"] = json!({
        "defaultAction": "SCMP_ACT_ALLOW",
        "listenerPath": sock,
        "listenerMetadata": "hello-agent",
        "architectures": ["SCMP_ARCH_X86_64"],
        "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_NOTIFY"}]
    });
    // The agent: take the message and the fd, check them, then close the fd (the kernel
    // then fails the notified syscalls with ENOSYS).
    let agent = std::thread::spawn(move || {
        use std::os::fd::AsRawFd;
        let (conn, _) = listener.accept().expect("accept");
        let mut buf = [0u8; 8192];
        let mut iov = [std::io::IoSliceMut::new(&mut buf)];
        let mut space = vec![0u8; 64];
        let mut msg = libc::msghdr {
            msg_name: std::ptr::null_mut(),
            msg_namelen: 0,
            msg_iov: iov.as_mut_ptr().cast(),
            msg_iovlen: 1,
            msg_control: space.as_mut_ptr().cast(),
            msg_controllen: space.len(),
            msg_flags: 0,
        };
        // SAFETY: recvmsg into buffers we own and describe correctly.
        let n = unsafe { libc::recvmsg(conn.as_raw_fd(), &mut msg, 0) };
        assert!(n > 0, "recvmsg");
        // SAFETY: the control buffer holds one SCM_RIGHTS message if the runtime sent one;
        // the fd in it is ours now and is closed right away (no agent answers).
        let has_fd = unsafe {
            let c = libc::CMSG_FIRSTHDR(&msg);
            if c.is_null() {
                false
            } else {
                let fd = std::ptr::read_unaligned(libc::CMSG_DATA(c).cast::<i32>());
                libc::close(fd);
                true
            }
        };
        let text = String::from_utf8_lossy(&buf[..n as usize]).into_owned();
        (text, has_fd)
    });
    let out = w.run(&id("notify"));
    let (text, has_fd) = agent.join().expect("agent");
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(has_fd, "no fd in the message");
    let v: serde_json::Value = serde_json::from_str(&text).expect("json");
    assert_eq!(v["fds"], json!(["seccompFd"]));
    assert_eq!(v["metadata"], "hello-agent");
    assert!(v["pid"].as_i64().unwrap_or(0) > 1, "{v}");
    assert!(
        v["state"]["id"]
            .as_str()
            .is_some_and(|s| s.starts_with("qt-notify")),
        "{v}"
    );
    assert!(stdout(&out).contains("after"));
}

#[test]
fn time_namespace_offsets_and_domainname() {
    if !root_or_skip("timens") {
        return;
    }
    let mut w = World::new(&[
        "/bin/sh",
        "-c",
        "cut -d. -f1 /proc/uptime; cat /proc/sys/kernel/domainname",
    ]);
    w.spec["domainname"] = json!("example.org");
    w.spec["linux"]["namespaces"]
        .as_array_mut()
        .expect("ns")
        .push(json!({"type": "time"}));
    w.spec["linux"]["timeOffsets"] =
        json!({"boottime": {"secs": 864000}, "monotonic": {"secs": 864000}});
    let out = w.run(&id("timens"));
    assert!(out.status.success(), "{}", stderr(&out));
    let s = stdout(&out);
    let mut lines = s.lines();
    let up: u64 = lines
        .next()
        .and_then(|l| l.trim().parse().ok())
        .expect("uptime");
    let host: u64 = std::fs::read_to_string("/proc/uptime")
        .expect("uptime")
        .split('.')
        .next()
        .and_then(|x| x.parse().ok())
        .expect("host uptime");
    assert!(
        up >= host + 864000 - 5,
        "uptime {up} not offset from {host}"
    );
    assert_eq!(lines.next(), Some("example.org"));
}

#[test]
fn scheduler_io_priority_and_personality_apply() {
    if !root_or_skip("sched") {
        return;
    }
    // Field 41 of /proc/self/stat is the policy. The I/O priority has no reader in busybox
    // or /proc: here it is only checked that ioprio_set accepted it (a failure fails run).
    let mut w = World::new(&["/bin/sh", "-c", "cut -d' ' -f41 /proc/self/stat; uname -m"]);
    w.spec["process"]["scheduler"] = json!({"policy": "SCHED_BATCH", "nice": 5});
    w.spec["process"]["ioPriority"] = json!({"class": "IOPRIO_CLASS_BE", "priority": 6});
    w.spec["linux"]["personality"] = json!({"domain": "LINUX32"});
    let out = w.run(&id("sched"));
    assert!(out.status.success(), "{}", stderr(&out));
    let s = stdout(&out);
    let mut lines = s.lines();
    assert_eq!(lines.next(), Some("3"), "SCHED_BATCH is policy 3: {s}");
    assert_eq!(lines.next(), Some("i686"), "LINUX32 personality: {s}");
}
