//! A container's own user namespace as root: `--userns=auto`, `--uidmap/--gidmap`, the
//! image's files and the container's volumes and binds seen through idmapped mounts (they
//! keep their owners on disk), and the refusals.

mod common;
mod engine_common;

use engine_common::*;
use std::os::unix::fs::MetadataExt;

fn map_of(e: &Eng, name: &str) -> Vec<Vec<String>> {
    e.ok(&["exec", name, "cat", "/proc/self/uid_map"])
        .lines()
        .map(|l| l.split_whitespace().map(str::to_string).collect())
        .collect()
}

#[test]
fn auto_gives_each_container_its_own_range_and_files_keep_their_owners() {
    if !root_or_skip("auto_gives_each_container_its_own_range") {
        return;
    }
    let e = Eng::new();
    let bind = e.dir.path().join("bind");
    std::fs::create_dir(&bind).expect("mkdir");
    std::fs::write(bind.join("f"), "from the host").expect("write");
    let b = format!("{}:/b", bind.display());
    e.ok(&[
        "run",
        "-d",
        "--name",
        "u1",
        "--userns=auto",
        "-v",
        &b,
        "-v",
        "uvol:/v",
        "localbusybox",
        "sleep",
        "300",
    ]);
    e.ok(&[
        "run",
        "-d",
        "--name",
        "u2",
        "--userns=auto:size=1000",
        "localbusybox",
        "sleep",
        "300",
    ]);
    let (m1, m2) = (map_of(&e, "u1"), map_of(&e, "u2"));
    assert_eq!(m1.len(), 1);
    assert_eq!(m1[0][0], "0");
    assert_eq!(m1[0][2], "65536");
    assert_eq!(m2[0][2], "1000");
    let (h1, h2): (u64, u64) = (m1[0][1].parse().expect("id"), m2[0][1].parse().expect("id"));
    assert!(h1 >= 65536 && h2 >= 65536, "{h1} {h2}");
    assert!(
        h1 + 65536 <= h2 || h2 + 1000 <= h1,
        "ranges overlap: {h1} {h2}"
    );
    // The image's files and the host's are root's inside; what root writes is root's on
    // disk.
    let owners = e.ok(&[
        "exec",
        "u1",
        "stat",
        "-c",
        "%u:%g",
        "/bin/busybox",
        "/b/f",
        "/etc/hostname",
    ]);
    assert_eq!(owners.lines().collect::<Vec<_>>(), ["0:0", "0:0", "0:0"]);
    assert_eq!(e.ok(&["exec", "u1", "cat", "/b/f"]), "from the host");
    e.ok(&[
        "exec",
        "u1",
        "sh",
        "-c",
        "echo w > /v/new && echo w > /b/new && touch /rootfile && chown 1000:1000 /v/new",
    ]);
    let v = std::fs::metadata(e.root.join("volumes/uvol/_data/new")).expect("volume file");
    assert_eq!((v.uid(), v.gid()), (1000, 1000));
    let bf = std::fs::metadata(bind.join("new")).expect("bind file");
    assert_eq!((bf.uid(), bf.gid()), (0, 0));
    // Outside, the processes run as the range's ids.
    let pid = e.inspect("u1", ".State.Pid");
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("status");
    let uid_line = status.lines().find(|l| l.starts_with("Uid:")).expect("Uid");
    assert!(uid_line.contains(&h1.to_string()), "{uid_line}");
    // A restart keeps the range (the container's files are already theirs).
    e.ok(&["restart", "-t", "0", "u1"]);
    assert_eq!(map_of(&e, "u1"), m1);
    assert_eq!(e.ok(&["exec", "u1", "stat", "-c", "%u", "/rootfile"]), "0");
    assert_eq!(e.inspect("u1", ".HostConfig.UsernsMode"), "auto");
    e.ok(&["rm", "-f", "u1", "u2"]);
}

#[test]
fn uidmap_and_gidmap_are_taken_as_given_and_bad_ones_refused() {
    if !root_or_skip("uidmap_and_gidmap_are_taken_as_given") {
        return;
    }
    let e = Eng::new();
    let out = e.ok(&[
        "run",
        "--rm",
        "--uidmap",
        "0:300000:5000",
        "--gidmap",
        "0:400000:5000",
        "localbusybox",
        "sh",
        "-c",
        "cat /proc/self/uid_map /proc/self/gid_map; id -u",
    ]);
    let words: Vec<&str> = out.split_whitespace().collect();
    assert_eq!(words, ["0", "300000", "5000", "0", "400000", "5000", "0"]);
    for (args, want) in [
        (
            vec!["--userns=keep-id"],
            "keep-id is only supported in rootless mode",
        ),
        (
            vec!["--userns=host", "--uidmap", "0:300000:10"],
            "conflicts",
        ),
        (
            vec!["--uidmap", "0:300000:100", "--uidmap", "50:500000:10"],
            "ranges overlap",
        ),
        (vec!["--uidmap", "0:1:2:3"], "CONTAINER_ID:HOST_ID:SIZE"),
        (vec!["--userns=auto:size=0"], "size must be 1 or more"),
        (vec!["--userns=bogus"], "invalid USER mode"),
    ] {
        let mut a = vec!["run", "--rm"];
        a.extend(args.iter());
        a.extend(["localbusybox", "true"]);
        let o = e.q(&a);
        assert!(!o.status.success(), "{a:?} succeeded");
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(err.contains(want), "{a:?}: {err}");
    }
    assert_eq!(e.ok(&["ps", "-aq"]), "");
}
