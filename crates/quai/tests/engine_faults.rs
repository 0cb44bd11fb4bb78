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

/// A truncated tar is refused at import, garbage at load with one readable line, and a
/// `--rm` container whose start fails (a broken layer, a bad mount) does not stay.
#[test]
fn broken_images_and_failed_starts_leave_nothing() {
    if !root_or_skip("broken_images_and_failed_starts_leave_nothing") {
        return;
    }
    let e = Eng::new();
    let tar = std::fs::read(e.dir.path().join("rootfs.tar")).expect("busybox tar");
    let cut = e.dir.path().join("cut.tar");
    std::fs::write(&cut, &tar[..tar.len() / 2]).expect("write");
    let o = e.q(&["import", cut.to_str().expect("utf-8"), "cut"]);
    assert_ne!(o.status.code(), Some(0), "a truncated tar was imported");
    assert!(text(&o).contains("truncated"), "{}", text(&o));
    assert!(!e.ok(&["images", "-q"]).contains('\n'), "only localbusybox");
    let junk = e.dir.path().join("junk");
    let bytes: Vec<u8> = (0..4096u32)
        .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
        .collect();
    std::fs::write(&junk, bytes).expect("write");
    let o = e.q(&["load", "-i", junk.to_str().expect("utf-8")]);
    assert_ne!(o.status.code(), Some(0));
    let err = String::from_utf8_lossy(&o.stderr).into_owned();
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(
        !err.chars().any(|c| c.is_control() && c != '\n'),
        "binary bytes in: {err:?}"
    );
    // A bind mount of a file onto a directory fails at start: `--rm` takes it away.
    let o = e.q(&[
        "run",
        "--rm",
        "-v",
        "/etc/hostname:/bin",
        "localbusybox",
        "true",
    ]);
    assert_eq!(o.status.code(), Some(125), "{}", text(&o));
    assert_eq!(e.ok(&["ps", "-aq"]), "", "a failed --rm container stayed");
    // A broken layer (its unpacked tree gone): the same.
    let layers = e.root.join("layers");
    for l in std::fs::read_dir(&layers).expect("layers").flatten() {
        std::fs::rename(l.path().join("fs"), l.path().join("fs.away")).expect("break layer");
    }
    let o = e.q(&["run", "--rm", "localbusybox", "true"]);
    assert_eq!(o.status.code(), Some(125), "{}", text(&o));
    assert_eq!(e.ok(&["ps", "-aq"]), "", "a failed --rm container stayed");
    for l in std::fs::read_dir(&layers).expect("layers").flatten() {
        std::fs::rename(l.path().join("fs.away"), l.path().join("fs")).expect("mend layer");
    }
    assert_eq!(e.leaks(&[]), Vec::<String>::new());
}

/// `run -d` and `rm -f` 5 ms later, and start/stop/restart storms on one container: each
/// command waits for the other's operation instead of racing it.
#[test]
fn lifecycle_operations_on_one_container_are_serialised() {
    if !root_or_skip("lifecycle_operations_on_one_container_are_serialised") {
        return;
    }
    let e = Eng::new();
    let mut ids = Vec::new();
    for i in 0..8 {
        let name = format!("race{i}");
        let run = e
            .cmd(&["run", "-d", "--name", &name, "localbusybox", "sleep", "100"])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("spawn run");
        std::thread::sleep(std::time::Duration::from_millis(5));
        let t = std::time::Instant::now();
        let rm = e.q(&["rm", "-f", &name]);
        let took = t.elapsed();
        let run = run.wait_with_output().expect("run -d");
        ids.push(String::from_utf8_lossy(&run.stdout).trim().to_string());
        assert!(took.as_secs() < 5, "rm -f stalled {took:?}");
        let rm_err = text(&rm);
        assert!(
            rm.status.success() || rm_err.contains("No such container"),
            "rm -f: {rm_err}"
        );
        let run_err = text(&run);
        assert!(
            run.status.success() || run_err.to_lowercase().contains("no such container"),
            "run -d: {run_err}"
        );
        // Either the rm came first (the run then found nothing or made a new one) or it
        // removed what the run started: what is left is listed and removable.
        let left = e.ok(&["ps", "-aq", "--filter", &format!("name={name}")]);
        if !left.is_empty() {
            assert_eq!(e.inspect(&name, ".State.Status"), "running");
            e.ok(&["rm", "-f", &name]);
        }
    }
    ids.retain(|i| !i.is_empty());
    // Storms: starts, stops and restarts from four clients at once.
    e.ok(&[
        "run",
        "-d",
        "--name",
        "storm",
        "localbusybox",
        "sleep",
        "100",
    ]);
    std::thread::scope(|s| {
        for t in 0..4 {
            let e = &e;
            s.spawn(move || {
                for k in 0..4 {
                    let verb = ["start", "stop", "restart"][(t + k) % 3];
                    let mut args = vec![verb];
                    if verb != "start" {
                        args.extend(["-t", "1"]);
                    }
                    args.push("storm");
                    let o = e.q(&args);
                    let err = text(&o);
                    assert!(
                        o.status.success() || err.contains("is already"),
                        "{verb}: {err}"
                    );
                    assert!(!err.contains("already exists"), "{verb}: {err}");
                    assert!(!err.contains("invalid config"), "{verb}: {err}");
                }
            });
        }
    });
    e.ok(&["start", "storm"]).clear();
    assert_eq!(e.inspect("storm", ".State.Status"), "running");
    assert_eq!(e.ok(&["exec", "storm", "echo", "ok"]), "ok");
    ids.push(e.inspect("storm", ".Id"));
    e.ok(&["rm", "-f", "storm"]);
    assert_eq!(e.leaks(&ids), Vec::<String>::new());
}

/// kill -9 of `rm -f` at random points: the next command finishes the removal; no
/// directory is left that no container names.
#[test]
fn killed_rm_leaves_no_orphan_directories() {
    if !root_or_skip("killed_rm_leaves_no_orphan_directories") {
        return;
    }
    let e = Eng::new();
    let mut seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(1, |d| d.as_nanos() as u64);
    eprintln!("seed {seed}");
    let mut ids = Vec::new();
    for i in 0..12 {
        let id = e.ok(&[
            "run",
            "-d",
            "--name",
            &format!("victim{i}"),
            "localbusybox",
            "sleep",
            "100",
        ]);
        let mut rm = e.cmd(&["rm", "-f", &id]).spawn().expect("spawn rm");
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        std::thread::sleep(std::time::Duration::from_micros((seed >> 33) % 40_000));
        // SAFETY: kill(2) on the pid of the child we just spawned.
        unsafe { libc::kill(rm.id() as i32, libc::SIGKILL) };
        let _ = rm.wait();
        ids.push(id);
    }
    // The next listing finishes removals that were marked; the rest are removed again.
    for id in e.ok(&["ps", "-aq", "--no-trunc"]).lines() {
        e.ok(&["rm", "-f", id]);
    }
    assert_eq!(e.ok(&["ps", "-aq"]), "");
    let dirs: Vec<String> = std::fs::read_dir(e.root.join("containers"))
        .map(|d| {
            d.flatten()
                .map(|x| x.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    assert_eq!(dirs, Vec::<String>::new(), "orphaned container directories");
    assert_eq!(e.leaks(&ids), Vec::<String>::new());
}

/// A tmpfs of our own, unmounted (lazily: monitors' namespaces may hold copies) on drop.
struct SmallFs(tempfile::TempDir);

impl SmallFs {
    fn new(size: &str) -> SmallFs {
        let d = tempfile::tempdir().expect("tempdir");
        let st = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(d.path())
            .status()
            .expect("mount");
        assert!(st.success(), "mount tmpfs");
        SmallFs(d)
    }

    fn free(&self) -> u64 {
        let p = std::ffi::CString::new(self.0.path().as_os_str().as_encoded_bytes()).expect("path");
        // SAFETY: statvfs(3) fills the zeroed struct we own from a valid C path.
        let mut s: libc::statvfs = unsafe { std::mem::zeroed() };
        // SAFETY: as above.
        assert_eq!(unsafe { libc::statvfs(p.as_ptr(), &mut s) }, 0, "statvfs");
        s.f_bavail * s.f_frsize
    }
}

impl Drop for SmallFs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(self.0.path()).status();
    }
}

/// A container fills the filesystem of quai's root: listing, removing containers,
/// volumes and images still work, a `--rm` container that filled it is removed, and the
/// space comes back.
#[test]
fn a_full_disk_does_not_lock_quai_out() {
    if !root_or_skip("a_full_disk_does_not_lock_quai_out") {
        return;
    }
    let small = SmallFs::new("64m");
    let mut e = Eng::new();
    e.root = small.0.path().join("root");
    let tar = e.dir.path().join("rootfs.tar");
    e.ok(&["import", tar.to_str().expect("utf-8"), "bb"]);
    e.ok(&["volume", "create", "vol"]);
    e.ok(&["run", "-d", "--name", "keep", "bb", "sleep", "100"]);
    // A --rm container that fills the disk and exits.
    let o = e.q(&[
        "run",
        "--rm",
        "--network",
        "none",
        "bb",
        "sh",
        "-c",
        "dd if=/dev/zero of=/fill bs=1M count=200",
    ]);
    assert_ne!(
        o.status.code(),
        Some(0),
        "dd should have hit a full disk: {}",
        text(&o)
    );
    assert!(
        e.until(5, || e.ok(&["ps", "-aq"]).lines().count() == 1),
        "the --rm container that filled the disk stayed: {}",
        e.ok(&["ps", "-a"])
    );
    // One that fills it and stays.
    e.ok(&[
        "run",
        "-d",
        "--name",
        "filler",
        "--network",
        "none",
        "bb",
        "sh",
        "-c",
        "dd if=/dev/zero of=/fill bs=1M count=200; sleep 100",
    ]);
    assert!(
        e.until(10, || small.free() < (1 << 20)),
        "the disk did not fill"
    );
    assert!(e.ok(&["ps", "-a"]).contains("filler"));
    assert!(e.ok(&["system", "df"]).contains("Containers"));
    e.ok(&["volume", "rm", "vol"]);
    e.ok(&["rm", "-f", "filler"]);
    // The overlay goes with the monitor's mount namespace, which the kernel tears down
    // just after the monitor exits.
    assert!(
        e.until(10, || small.free() > 32 << 20),
        "the space did not come back"
    );
    e.ok(&["rm", "-f", "keep"]);
    e.ok(&["rmi", "bb"]);
    assert_eq!(e.ok(&["ps", "-aq"]), "");
    // With room again, the reserve is back for the next time.
    e.ok(&["ps"]);
    assert!(e.root.join("reserve").exists());
    assert_eq!(e.leaks(&[]), Vec::<String>::new());
}

/// The devices cgroup: a node the container makes for a device it was not given cannot be
/// read (the host's disk stays out of reach even with CAP_MKNOD); `--device` and
/// `--device-cgroup-rule` open exactly what they name.
#[test]
fn devices_are_what_the_flags_allow() {
    if !root_or_skip("devices_are_what_the_flags_allow") {
        return;
    }
    let e = Eng::new();
    // A block device of the host's that the host can open (a disk is what an attacker
    // would read; this machine refuses to open its own root disk even to root).
    let disk = std::fs::read_dir("/sys/dev/block")
        .expect("/sys/dev/block")
        .flatten()
        .filter_map(|d| {
            let ev = std::fs::read_to_string(d.path().join("uevent")).ok()?;
            let name = ev.lines().find_map(|l| l.strip_prefix("DEVNAME="))?;
            std::fs::File::open(format!("/dev/{name}")).ok()?;
            Some(d.file_name().to_string_lossy().into_owned())
        })
        .min()
        .expect("a block device the host can open");
    let (major, minor) = disk.split_once(':').expect("MAJOR:MINOR");
    let open_disk =
        format!("mknod /tmp/d b {major} {minor} && head -c 4 /tmp/d > /tmp/o && echo opened");
    let o = e.q(&["run", "--rm", "localbusybox", "sh", "-c", &open_disk]);
    assert_ne!(o.status.code(), Some(0), "{}", text(&o));
    assert!(text(&o).contains("not permitted"), "{}", text(&o));
    let rule = format!("b {major}:{minor} r");
    let got = e.ok(&[
        "run",
        "--rm",
        "--device-cgroup-rule",
        &rule,
        "localbusybox",
        "sh",
        "-c",
        &open_disk,
    ]);
    assert_eq!(got, "opened");
    let got = e.ok(&[
        "run",
        "--rm",
        "--device",
        "/dev/zero:/dev/myzero:r",
        "localbusybox",
        "sh",
        "-c",
        "stat -c %t:%T /dev/myzero && head -c 3 /dev/myzero | wc -c",
    ]);
    assert_eq!(got, "1:5\n3");
    for (flag, v, want) in [
        (
            "--device",
            "/dev/nope",
            "error gathering device information",
        ),
        ("--device", "/etc/hostname", "not a device node"),
        ("--device", "/dev/zero:relative", "bad format for path"),
        (
            "--device-cgroup-rule",
            "c 1:5",
            "invalid device cgroup format",
        ),
    ] {
        let o = e.q(&["run", "-d", flag, v, "localbusybox", "true"]);
        assert_eq!(o.status.code(), Some(125), "{}", text(&o));
        assert!(text(&o).contains(want), "{v}: {}", text(&o));
    }
    assert_eq!(e.ok(&["ps", "-aq"]), "");
}
