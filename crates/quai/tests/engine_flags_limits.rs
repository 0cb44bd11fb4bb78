//! End-to-end: docker's resource, log and health flags of `run`/`create` through the
//! binary, checked in the container's cgroup files, its log files and `inspect`.

mod common;
mod engine_common;

use engine_common::*;

/// `run --rm ARGS... localbusybox sh -c SCRIPT`, its output (it must succeed).
fn sh(e: &Eng, args: &[&str], script: &str) -> String {
    let mut all = vec!["run", "--rm"];
    all.extend(args);
    all.extend(["localbusybox", "sh", "-c", script]);
    e.ok(&all)
}

/// A cgroup v1 hybrid host (these machines); the cgroup checks are written for it.
fn cgroup_v1() -> bool {
    std::path::Path::new("/sys/fs/cgroup/memory/memory.limit_in_bytes").exists()
}

#[test]
fn resource_flags_reach_the_cgroups() {
    if !root_or_skip("resource_flags_reach_the_cgroups") {
        return;
    }
    if !cgroup_v1() {
        eprintln!("SKIP resource_flags_reach_the_cgroups: written for cgroup v1 hosts");
        return;
    }
    let e = Eng::new();
    assert_eq!(
        sh(
            &e,
            &["--oom-score-adj", "100"],
            "cat /proc/self/oom_score_adj"
        ),
        "100"
    );
    assert_eq!(
        sh(
            &e,
            &[
                "--memory",
                "64m",
                "--memory-reservation",
                "32m",
                "--memory-swappiness",
                "10",
                "--oom-kill-disable"
            ],
            "cd /sys/fs/cgroup/memory; cat memory.soft_limit_in_bytes memory.swappiness; grep oom_kill_disable memory.oom_control"
        ),
        "33554432\n10\noom_kill_disable 1"
    );
    assert_eq!(
        sh(
            &e,
            &["--cpu-period", "50000", "--cpu-quota", "25000", "--cpuset-mems", "0"],
            "cat /sys/fs/cgroup/cpu/cpu.cfs_period_us /sys/fs/cgroup/cpu/cpu.cfs_quota_us /sys/fs/cgroup/cpuset/cpuset.mems"
        ),
        "50000\n25000\n0"
    );
    if std::path::Path::new("/sys/fs/cgroup/cpu/cpu.rt_runtime_us").exists() {
        assert_eq!(
            sh(
                &e,
                &["--cpu-rt-period", "1000000", "--cpu-rt-runtime", "10000"],
                "cat /sys/fs/cgroup/cpu/cpu.rt_period_us /sys/fs/cgroup/cpu/cpu.rt_runtime_us"
            ),
            "1000000\n10000"
        );
    }
    // An I/O limit on a block device of this machine.
    let dev = std::fs::read_dir("/sys/block")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|d| {
            let name = d.file_name().to_string_lossy().into_owned();
            let numbers = std::fs::read_to_string(d.path().join("dev")).ok()?;
            let node = format!("/dev/{name}");
            (!name.starts_with("loop") && std::path::Path::new(&node).exists())
                .then(|| (node, numbers.trim().to_string()))
        })
        .next();
    if let Some((node, numbers)) = dev {
        assert_eq!(
            sh(
                &e,
                &[
                    "--device-read-bps",
                    &format!("{node}:1mb"),
                    "--device-write-iops",
                    &format!("{node}:10")
                ],
                "cd /sys/fs/cgroup/blkio; cat blkio.throttle.read_bps_device blkio.throttle.write_iops_device"
            ),
            format!("{numbers} 1048576\n{numbers} 10")
        );
    } else {
        eprintln!("no block device: the I/O limits are not checked");
    }
    // Docker's warnings: the kernel lacks what is asked, or it is deprecated.
    let o = e.q(&["run", "--rm", "--oom-kill-disable", "localbusybox", "true"]);
    assert_eq!(o.status.code(), Some(0));
    assert_eq!(
        String::from_utf8_lossy(&o.stderr),
        "WARNING: OOM killer is disabled for the container, but no memory limit is set, this can result in the system running out of resources.\n"
    );
    let o = e.q(&[
        "run",
        "--rm",
        "--kernel-memory",
        "10m",
        "localbusybox",
        "true",
    ]);
    assert_eq!(o.status.code(), Some(0));
    assert_eq!(
        String::from_utf8_lossy(&o.stderr),
        "WARNING: Specifying a kernel memory limit is deprecated and will be removed in a future release.\n"
    );
    let weight_file = std::path::Path::new("/sys/fs/cgroup/blkio/blkio.weight").exists()
        || std::path::Path::new("/sys/fs/cgroup/blkio/blkio.bfq.weight").exists();
    e.ok(&[
        "create",
        "--name",
        "weighted",
        "--blkio-weight",
        "300",
        "localbusybox",
    ]);
    if weight_file {
        assert_eq!(e.inspect("weighted", ".HostConfig.BlkioWeight"), "300");
    } else {
        let o = e.q(&[
            "run",
            "--rm",
            "--blkio-weight",
            "300",
            "localbusybox",
            "true",
        ]);
        assert_eq!(o.status.code(), Some(0));
        assert_eq!(
            String::from_utf8_lossy(&o.stderr),
            "WARNING: Your kernel does not support Block I/O weight or the cgroup is not mounted. Weight discarded.\n"
        );
        assert_eq!(e.inspect("weighted", ".HostConfig.BlkioWeight"), "0");
    }
    // --cgroup-parent: the container's cgroup under it, both gone with it.
    let id = e.ok(&[
        "run",
        "-d",
        "--cgroup-parent",
        "/quai-test-parent",
        "--memory",
        "64m",
        "localbusybox",
        "sleep",
        "60",
    ]);
    let dir = std::path::PathBuf::from(format!("/sys/fs/cgroup/memory/quai-test-parent/quai-{id}"));
    assert!(
        dir.join("memory.limit_in_bytes").exists(),
        "{}",
        dir.display()
    );
    assert_eq!(
        std::fs::read_to_string(dir.join("memory.limit_in_bytes"))
            .expect("limit")
            .trim(),
        "67108864"
    );
    assert_eq!(
        e.inspect(&id, ".HostConfig.CgroupParent"),
        "/quai-test-parent"
    );
    e.ok(&["rm", "-f", &id]);
    assert!(!dir.exists());
    assert!(!std::path::Path::new("/sys/fs/cgroup/memory/quai-test-parent").exists());
    // Inspect, Docker's names.
    e.ok(&[
        "create",
        "--name",
        "limits",
        "--oom-score-adj",
        "100",
        "--memory",
        "64m",
        "--memory-reservation",
        "32m",
        "--memory-swappiness",
        "10",
        "--oom-kill-disable",
        "--kernel-memory",
        "10m",
        "--cpu-period",
        "50000",
        "--cpu-quota",
        "25000",
        "--cpu-rt-period",
        "1000000",
        "--cpu-rt-runtime",
        "10000",
        "--cpuset-mems",
        "0",
        "localbusybox",
    ]);
    assert_eq!(
        e.inspect(
            "limits",
            ".HostConfig.OomScoreAdj}} {{.HostConfig.MemoryReservation}} {{.HostConfig.MemorySwappiness}} {{.HostConfig.OomKillDisable}} {{.HostConfig.KernelMemory}} {{.HostConfig.CpuPeriod}} {{.HostConfig.CpuQuota}} {{.HostConfig.CpuRealtimePeriod}} {{.HostConfig.CpuRealtimeRuntime}} {{.HostConfig.CpusetMems}} {{.HostConfig.MemorySwap"
        ),
        "100 33554432 10 true 10485760 50000 25000 1000000 10000 0 134217728"
    );
    // Bad values: Docker's line, status 125, nothing made.
    for (args, want) in [
        (
            &["--oom-score-adj", "2000"][..],
            "Invalid value 2000, range for oom score adj is [-1000, 1000]",
        ),
        (
            &["--memory-swappiness", "200"],
            "invalid value: 200. Valid memory swappiness range is 0-100",
        ),
        (
            &["--memory-reservation", "x"],
            "invalid argument \"x\" for \"--memory-reservation\" flag: invalid size: 'x'",
        ),
        (
            &["--memory", "8m", "--memory-reservation", "16m"],
            "Minimum memory limit can not be less than memory reservation limit, see usage",
        ),
        (
            &["--cpu-quota", "500"],
            "CPU cfs quota can not be less than 1ms (i.e. 1000)",
        ),
        (
            &["--cpu-period", "500"],
            "CPU cfs period can not be less than 1ms",
        ),
        (
            &["--cpu-period", "50000", "--cpus", "1"],
            "Conflicting options: Nano CPUs and CPU Period cannot both be set",
        ),
        (
            &["--cpuset-mems", "99"],
            "Requested memory nodes are not available - requested 99",
        ),
        (&["--device-read-bps", "bogus"], "bad format: bogus"),
        (
            &["--device-read-bps", "/dev/null:1mb"],
            "/dev/null is not a block device",
        ),
        (
            &["--blkio-weight", "x"],
            "strconv.ParseUint: parsing \"x\": invalid syntax",
        ),
    ] {
        let mut all = vec!["run", "--rm"];
        all.extend(args);
        all.extend(["localbusybox", "true"]);
        let o = e.q(&all);
        assert_eq!(o.status.code(), Some(125), "{args:?}: {}", text(&o));
        assert!(text(&o).contains(want), "{args:?}: {}", text(&o));
        assert_eq!(text(&o).trim().lines().count(), 1, "one line: {}", text(&o));
    }
    // Docker's CLI gives 127 when the daemon's words say a file is missing.
    let o = e.q(&[
        "run",
        "--rm",
        "--device-write-iops",
        "/dev/nosuch:10",
        "localbusybox",
        "true",
    ]);
    assert_eq!(o.status.code(), Some(127), "{}", text(&o));
    assert!(text(&o).contains("stat /dev/nosuch: no such file or directory"));
    let ids = e.all_ids();
    assert_eq!(ids.len(), 2, "{ids:?}");
    e.ok(&["rm", "weighted", "limits"]);
    assert_eq!(e.leaks(&ids), Vec::<String>::new());
}

#[test]
fn log_drivers_and_rotation() {
    if !root_or_skip("log_drivers_and_rotation") {
        return;
    }
    let e = Eng::new();
    // none: the output is seen, nothing kept; `logs` refuses as Docker does.
    let o = e.q(&[
        "run",
        "--name",
        "quiet",
        "--log-driver",
        "none",
        "localbusybox",
        "echo",
        "nolog",
    ]);
    assert_eq!(String::from_utf8_lossy(&o.stdout), "nolog\n");
    let o = e.q(&["logs", "quiet"]);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&o.stderr),
        "Error: configured logging driver does not support reading\n"
    );
    assert_eq!(
        e.inspect("quiet", "json .HostConfig.LogConfig}} {{.LogPath"),
        "{\"Config\":{},\"Type\":\"none\"}"
    );
    let id = e.inspect("quiet", ".Id");
    let log = e
        .root
        .join("containers")
        .join(&id)
        .join(format!("{id}-json.log"));
    assert!(!log.exists() || std::fs::metadata(&log).map(|m| m.len()).unwrap_or(0) == 0);
    // Rotation: files of about max-size, max-file of them, read back in order.
    e.ok(&[
        "run",
        "--name",
        "chatty",
        "--log-opt",
        "max-size=1k",
        "--log-opt",
        "max-file=3",
        "localbusybox",
        "sh",
        "-c",
        "i=0; while [ $i -lt 300 ]; do echo line $i; i=$((i+1)); done",
    ]);
    let id = e.inspect("chatty", ".Id");
    let dir = e.root.join("containers").join(&id);
    let mut files: Vec<String> = std::fs::read_dir(&dir)
        .expect("container dir")
        .flatten()
        .map(|f| f.file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains("-json.log"))
        .collect();
    files.sort();
    assert_eq!(
        files,
        [
            format!("{id}-json.log"),
            format!("{id}-json.log.1"),
            format!("{id}-json.log.2")
        ]
    );
    for f in &files {
        let len = std::fs::metadata(dir.join(f)).expect("stat").len();
        assert!(len <= 1024 + 200, "{f}: {len} bytes");
    }
    let all = e.ok(&["logs", "chatty"]);
    let n: Vec<u32> = all
        .lines()
        .filter_map(|l| l.strip_prefix("line ")?.parse().ok())
        .collect();
    assert_eq!(n.last(), Some(&299), "{all}");
    assert!(n.len() > 20 && n.len() < 300, "rotated away: {}", n.len());
    assert!(n.windows(2).all(|w| w[1] == w[0] + 1), "in order: {n:?}");
    assert_eq!(
        e.ok(&["logs", "--tail", "3", "chatty"]),
        "line 297\nline 298\nline 299"
    );
    // A tail longer than the current file reaches into the rotated ones.
    let tail = e.ok(&["logs", "--tail", &(n.len() - 1).to_string(), "chatty"]);
    assert_eq!(tail.lines().count(), n.len() - 1);
    assert_eq!(
        e.inspect("chatty", "json .HostConfig.LogConfig"),
        "{\"Config\":{\"max-file\":\"3\",\"max-size\":\"1k\"},\"Type\":\"json-file\"}"
    );
    // local: kept (and read) as json-file is.
    e.ok(&[
        "run",
        "--name",
        "loc",
        "--log-driver",
        "local",
        "localbusybox",
        "echo",
        "kept",
    ]);
    assert_eq!(e.ok(&["logs", "loc"]), "kept");
    for (args, want) in [
        (
            &["--log-driver", "syslog"][..],
            "plugin \"syslog\" not found",
        ),
        (
            &["--log-opt", "bogus=1"],
            "unknown log opt 'bogus' for json-file log driver",
        ),
        (
            &["--log-opt", "max-size=x"],
            "failed to initialize logging driver: invalid size: 'x'",
        ),
    ] {
        let mut all = vec!["run", "--rm"];
        all.extend(args);
        all.extend(["localbusybox", "true"]);
        let o = e.q(&all);
        assert_eq!(o.status.code(), Some(125), "{args:?}: {}", text(&o));
        assert!(text(&o).contains(want), "{args:?}: {}", text(&o));
    }
    assert_eq!(e.all_ids().len(), 3);
}

#[test]
fn health_start_interval_checks_often_while_starting() {
    if !root_or_skip("health_start_interval_checks_often_while_starting") {
        return;
    }
    let e = Eng::new();
    e.ok(&[
        "run",
        "-d",
        "--name",
        "hc",
        "--health-cmd",
        "true",
        "--health-interval",
        "1h",
        "--health-start-period",
        "1m",
        "--health-start-interval",
        "200ms",
        "localbusybox",
        "sleep",
        "60",
    ]);
    assert!(
        e.until(10, || e.inspect("hc", ".State.Health.Status") == "healthy"),
        "not healthy: {}",
        e.inspect("hc", "json .State.Health")
    );
    assert_eq!(
        e.inspect("hc", ".Config.Healthcheck.StartInterval"),
        "200000000"
    );
    e.ok(&["rm", "-f", "hc"]);
}
