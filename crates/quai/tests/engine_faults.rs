//! Faults found by probing the engine as a hostile or clumsy user would: volumes filled
//! from images owned by other users, exec's stdio and working directory, bad values that
//! must be refused before anything is created, broken images, races and kill -9 during
//! removal, a full disk. Each test reproduces the fault the way it was found.

mod common;
mod engine_common;

use engine_common::*;
use std::process::Command;

/// An image like postgres': a data directory owned by uid 100 (gid 102), mode 0700, with a
/// file in it. An empty named volume mounted there takes that owner, mode and content.
#[test]
fn empty_volume_takes_the_image_directory_owner() {
    if !root_or_skip("empty_volume_takes_the_image_directory_owner") {
        return;
    }
    let e = Eng::new();
    let rootfs = e.dir.path().join("rootfs");
    let data = rootfs.join("srv/pgdata");
    std::fs::create_dir_all(&data).expect("mkdir");
    std::fs::write(data.join("seed"), "seeded\n").expect("seed");
    for p in [&data, &data.join("seed")] {
        std::os::unix::fs::chown(p, Some(100), Some(102)).expect("chown");
    }
    std::fs::set_permissions(&data, std::os::unix::fs::PermissionsExt::from_mode(0o700))
        .expect("chmod");
    let tar = e.dir.path().join("pg.tar");
    let st = Command::new("tar")
        .arg("-C")
        .arg(&rootfs)
        .arg("-cf")
        .arg(&tar)
        .arg(".")
        .status()
        .expect("tar");
    assert!(st.success());
    e.ok(&["import", tar.to_str().expect("utf-8"), "pgimg"]);
    let got = e.ok(&[
        "run",
        "--rm",
        "-v",
        "pg:/srv/pgdata",
        "pgimg",
        "stat",
        "-c",
        "%u:%g %a",
        "/srv/pgdata",
    ]);
    assert_eq!(got, "100:102 700");
    // The data's owner initialises and uses it, as postgres' entrypoint would.
    let got = e.ok(&[
        "run",
        "--rm",
        "-u",
        "100:102",
        "-v",
        "pg:/srv/pgdata",
        "pgimg",
        "sh",
        "-c",
        "echo mine > /srv/pgdata/new && cat /srv/pgdata/seed /srv/pgdata/new",
    ]);
    assert_eq!(got, "seeded\nmine");
    e.ok(&["volume", "rm", "pg"]);
}

#[test]
fn exec_detach_and_working_directories() {
    if !root_or_skip("exec_detach_and_working_directories") {
        return;
    }
    let e = Eng::new();
    e.ok(&["run", "-d", "--name", "box", "localbusybox", "sleep", "100"]);
    // `exec -d`: nothing reaches the caller's terminal, and the command still runs.
    let o = e.q(&[
        "exec",
        "-d",
        "box",
        "sh",
        "-c",
        "echo leaked; echo leaked >&2; echo done > /tmp/ran",
    ]);
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(text(&o), "", "exec -d printed on the caller's terminal");
    assert!(
        e.until(5, || e.q(&["exec", "box", "cat", "/tmp/ran"]).stdout
            == b"done\n")
    );
    // A relative working directory is refused as Docker refuses it.
    let o = e.q(&["exec", "-w", "relative", "box", "pwd"]);
    assert_ne!(o.status.code(), Some(0));
    assert!(
        text(&o).contains("needs to be an absolute path"),
        "{}",
        text(&o)
    );
    // A magic link that is no directory: the real reason, not "File exists".
    let o = e.q(&["exec", "-w", "/proc/self/fd/0", "box", "pwd"]);
    assert_ne!(o.status.code(), Some(0));
    assert!(!text(&o).contains("File exists"), "{}", text(&o));
    assert!(text(&o).contains("/proc/self/fd/0"), "{}", text(&o));
    assert_eq!(text(&o).trim().lines().count(), 1, "{}", text(&o));
}

/// Bad values are refused with one line and Docker's words, before anything exists: no
/// Created container, no volume, no host directory.
#[test]
fn bad_values_are_refused_before_anything_is_created() {
    if !root_or_skip("bad_values_are_refused_before_anything_is_created") {
        return;
    }
    let e = Eng::new();
    let nul_env = e.dir.path().join("nul.env");
    std::fs::write(&nul_env, "A=b\0c\n").expect("env file");
    let nul_env = nul_env.to_str().expect("utf-8").to_string();
    let host_dir = e.dir.path().join("must-not-exist");
    let bind = format!("{}:/data", host_dir.display());
    let long_host = "h".repeat(300);
    let cases: &[(&[&str], &str)] = &[
        (&["--memory", "-5"], "invalid size"),
        (&["--memory", "99999999999999999999"], "invalid size"),
        (&["--memory", "1"], "Minimum memory limit allowed is 6MB"),
        (&["--cpus", "-1"], "Range of CPUs is from 0.01"),
        (&["--cpus", "1e9"], "Range of CPUs is from 0.01"),
        (&["--cpuset-cpus", "99"], "Requested CPUs are not available"),
        (&["--ulimit", "bogus=1:2"], "invalid ulimit type: bogus"),
        (
            &["--ulimit", "nofile=1:0"],
            "soft limit must be less than or equal",
        ),
        (&["--mac-address", "zz:zz"], "is not a valid mac address"),
        (&["--env-file", &nul_env], "invalid environment variable"),
        (&["--hostname", &long_host], "invalid hostname"),
        (&["--tmpfs", "relative"], "must be absolute"),
        (&["--tmpfs", "/t:size=lots"], "invalid tmpfs size"),
        (&["-e", "=novar"], "invalid environment variable"),
        (&["--ip", "10.99.0.50"], "user defined networks only"),
    ];
    for (flags, want) in cases {
        let mut args = vec!["run", "-d", "-v", &bind];
        args.extend_from_slice(flags);
        args.extend(["localbusybox", "true"]);
        let o = e.q(&args);
        let err = String::from_utf8_lossy(&o.stderr).into_owned();
        assert_eq!(o.status.code(), Some(125), "{flags:?}: {}", text(&o));
        assert!(err.contains(want), "{flags:?}: want {want:?}, got {err}");
        assert_eq!(err.trim().lines().count(), 1, "{flags:?}: {err}");
        assert!(!err.contains("/sys/fs/cgroup"), "{flags:?}: {err}");
        assert_eq!(e.ok(&["ps", "-aq"]), "", "{flags:?} left a container");
    }
    assert!(
        !host_dir.exists(),
        "a refused run created its bind directory"
    );
    assert_eq!(e.ok(&["volume", "ls", "-q"]), "");
    let o = e.q(&["network", "create", "a/b"]);
    assert_ne!(o.status.code(), Some(0));
    let err = text(&o);
    assert!(err.contains("invalid network name"), "{err}");
    assert!(!err.contains("container"), "{err}");
}
