//! End-to-end resilience: killed CLIs and monitors, a wiped run dir (a reboot), and many
//! `run -d` at once. After each, the next commands work and nothing leaks.

mod common;
mod engine_common;

use engine_common::*;

fn remove_all(e: &Eng) -> Vec<String> {
    let ids = e.all_ids();
    for id in &ids {
        e.ok(&["rm", "-f", "-v", id]);
    }
    assert_eq!(e.ok(&["ps", "-aq"]), "");
    ids
}

/// The numbers of the `lineN` lines of a log, in order.
fn line_numbers(log: &str) -> Vec<u64> {
    log.lines()
        .filter_map(|l| l.trim().strip_prefix("line")?.parse().ok())
        .collect()
}

#[test]
fn a_killed_monitor_is_replaced_by_the_next_command() {
    if !root_or_skip("a_killed_monitor_is_replaced_by_the_next_command") {
        return;
    }
    let e = Eng::new();
    let id = e.ok(&[
        "run",
        "-d",
        "--name",
        "orphan",
        "--restart",
        "always",
        "--health-cmd",
        "true",
        "--health-interval",
        "200ms",
        "localbusybox",
        "sh",
        "-c",
        "i=0; while true; do echo line$i; i=$((i+1)); sleep 0.05; done",
    ]);
    let logs = || e.ok(&["logs", "orphan"]);
    assert!(e.until(10, || line_numbers(&logs()).len() > 5));
    let m = e.monitors(&id);
    assert_eq!(m.len(), 1);
    kill9(m[0]);
    assert!(e.until(5, || e.monitors(&id).is_empty()));
    // Output goes on while no monitor runs: it waits in the container's FIFO.
    std::thread::sleep(std::time::Duration::from_millis(500));
    // The next command adopts it.
    assert_eq!(e.inspect("orphan", ".State.Status"), "running");
    let m2 = e.monitors(&id);
    assert_eq!(m2.len(), 1, "one new monitor");
    assert_ne!(m2[0], m[0]);
    assert_eq!(e.inspect("orphan", ".State.Error"), "");
    // Logs keep flowing, and nothing written meanwhile was lost.
    let at = line_numbers(&logs()).last().copied().unwrap_or(0);
    assert!(e.until(10, || line_numbers(&logs())
        .last()
        .is_some_and(|n| *n > at + 10)));
    let nums = line_numbers(&logs());
    let want: Vec<u64> = (0..nums.len() as u64).collect();
    assert_eq!(nums, want, "lines lost or repeated across the adoption");
    // Health checks resume.
    assert!(e.until(10, || e.inspect("orphan", ".State.Health.Status")
        == "healthy"));
    assert_eq!(e.ok(&["exec", "orphan", "echo", "alive"]), "alive");
    // So does the restart policy.
    let pid: i32 = e.inspect("orphan", ".State.Pid").parse().expect("pid");
    kill9(pid);
    assert!(
        e.until(10, || e.inspect("orphan", ".RestartCount") == "1"
            && e.inspect("orphan", ".State.Status") == "running"),
        "no restart after the adopted container died"
    );
    // Without a policy, the exit is recorded honestly: its status died with the monitor.
    let plain = e.ok(&[
        "run",
        "-d",
        "--name",
        "plain",
        "localbusybox",
        "sleep",
        "100",
    ]);
    let m = e.monitors(&plain);
    assert_eq!(m.len(), 1);
    kill9(m[0]);
    assert!(e.until(5, || e.monitors(&plain).is_empty()));
    assert_eq!(e.inspect("plain", ".State.Status"), "running");
    let pid: i32 = e.inspect("plain", ".State.Pid").parse().expect("pid");
    kill9(pid);
    assert!(e.until(10, || e.inspect("plain", ".State.Status") == "exited"));
    assert_eq!(e.inspect("plain", ".State.ExitCode"), "255");
    assert!(e
        .inspect("plain", ".State.Error")
        .contains("exit status unknown"));
    e.ok(&["rm", "-f", "orphan", "plain"]);
    assert_eq!(e.leaks(&[id, plain]), Vec::<String>::new());
}

#[test]
fn killed_cli_and_monitor_at_random_points() {
    if !root_or_skip("killed_cli_and_monitor_at_random_points") {
        return;
    }
    let e = Eng::new();
    // A fixed pseudo-random sequence: reproducible failures.
    let mut x: u64 = 0x2545_f491_4f6c_dd1d;
    let mut next = || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let mut all_ids = Vec::new();
    for i in 0..24 {
        let delay = std::time::Duration::from_millis(next() % 80);
        let mut child = e
            .cmd(&["run", "-d", "localbusybox", "sleep", "30"])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("spawn");
        std::thread::sleep(delay);
        if i % 2 == 0 {
            let _ = child.kill();
        } else {
            for m in e.monitors("") {
                kill9(m);
            }
        }
        let _ = child.wait();
        // The next commands work.
        let ps = e.q(&["ps", "-a"]);
        assert!(ps.status.success(), "{}", text(&ps));
        all_ids.extend(e.all_ids());
    }
    assert!(e.ok(&["run", "--rm", "localbusybox", "echo", "still fine"]) == "still fine");
    remove_all(&e);
    all_ids.sort();
    all_ids.dedup();
    assert_eq!(e.leaks(&all_ids), Vec::<String>::new());
}

#[test]
fn after_a_reboot_boot_starts_what_the_policy_says() {
    if !root_or_skip("after_a_reboot_boot_starts_what_the_policy_says") {
        return;
    }
    let e = Eng::new();
    let svc = e.ok(&[
        "run",
        "-d",
        "--name",
        "svc",
        "--restart",
        "always",
        "localbusybox",
        "sleep",
        "100",
    ]);
    let plain = e.ok(&[
        "run",
        "-d",
        "--name",
        "plain",
        "localbusybox",
        "sleep",
        "100",
    ]);
    // A reboot: every process gone, the run dir and the cgroups wiped.
    let pids: Vec<i32> = [&svc, &plain]
        .iter()
        .map(|c| e.inspect(c, ".State.Pid").parse().expect("pid"))
        .collect();
    for m in e.monitors("") {
        kill9(m);
    }
    for p in &pids {
        kill9(*p);
    }
    assert!(e.until(5, || e.monitors("").is_empty()
        && pids
            .iter()
            .all(|p| !std::path::Path::new(&format!("/proc/{p}")).exists())));
    std::fs::remove_dir_all(&e.run).expect("wipe run dir");
    for id in [&svc, &plain] {
        for h in hierarchies() {
            let _ = std::fs::remove_dir(h.join(format!("quai-{id}")));
        }
    }
    // The next command finds both dead with their monitors, status unknown: the one whose
    // policy says so is started again, the other is recorded as exited.
    assert_eq!(e.inspect("plain", ".State.Status"), "exited");
    assert_eq!(e.inspect("plain", ".State.ExitCode"), "255");
    assert_eq!(e.inspect("svc", ".State.Status"), "running");
    // `system boot` (what a boot-time unit runs) finds nothing left to start.
    assert_eq!(e.ok(&["system", "boot"]), "");
    assert_eq!(e.inspect("svc", ".State.Status"), "running");
    assert_eq!(e.inspect("plain", ".State.Status"), "exited");
    let ids = remove_all(&e);
    assert_eq!(e.leaks(&ids), Vec::<String>::new());
}

#[test]
fn fifty_parallel_runs_all_succeed() {
    if !root_or_skip("fifty_parallel_runs_all_succeed") {
        return;
    }
    let e = Eng::new();
    let results = e.run_parallel(50, "p");
    for o in &results {
        assert!(o.status.success(), "{}", text(o));
    }
    let running = e.ok(&["ps", "-q"]);
    assert_eq!(running.lines().count(), 50, "{running}");
    let ids = e.all_ids();
    std::thread::scope(|s| {
        for chunk in ids.chunks(10) {
            let e = &e;
            s.spawn(move || {
                let mut args = vec!["rm", "-f"];
                args.extend(chunk.iter().map(String::as_str));
                e.ok(&args);
            });
        }
    });
    assert_eq!(e.ok(&["ps", "-aq"]), "");
    assert_eq!(e.leaks(&ids), Vec::<String>::new());
}
