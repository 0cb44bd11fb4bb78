//! End-to-end: removing user-defined networks, used or not, inside a network namespace
//! the test creates (see engine_common).

mod common;
mod engine_common;

use engine_common::*;

fn names(e: &Eng) -> Vec<String> {
    e.ok(&["network", "ls", "--format", "{{.Name}}"])
        .lines()
        .map(str::to_string)
        .collect()
}

/// The elements of quai's nftables set `set` (empty when the table is not there).
fn set_elements(e: &Eng, set: &str) -> String {
    let o = e.in_netns("nft", &["list", "set", "ip", "quai", set]);
    String::from_utf8_lossy(&o.stdout)
        .lines()
        .filter(|l| l.contains("elements"))
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn networks_no_container_used_are_removed_and_pruned() {
    if !root_or_skip("networks_no_container_used_are_removed_and_pruned") {
        return;
    }
    let e = Eng::new();
    // Before any container ran: no bridge, no nftables table.
    e.ok(&["network", "create", "--subnet", "10.100.60.0/24", "early"]);
    e.ok(&["network", "rm", "early"]);
    assert!(!names(&e).contains(&"early".to_string()));

    // A container on the default network loads quai's table; a network no container
    // used has no elements in it, nor a bridge.
    e.ok(&["run", "--rm", "localbusybox", "true"]);
    assert!(e
        .in_netns("nft", &["list", "table", "ip", "quai"])
        .status
        .success());
    e.ok(&["network", "create", "--subnet", "10.100.61.0/24", "unused"]);
    e.ok(&[
        "network",
        "create",
        "--subnet",
        "10.100.62.0/24",
        "--internal",
        "unused-internal",
    ]);
    e.ok(&["network", "rm", "unused", "unused-internal"]);
    let left = names(&e);
    assert!(
        !left.iter().any(|n| n.starts_with("unused")),
        "network ls: {left:?}"
    );

    // Prune takes used and unused ones alike, and the used one's elements go.
    e.ok(&[
        "network",
        "create",
        "--subnet",
        "10.100.63.0/24",
        "p-unused",
    ]);
    e.ok(&["network", "create", "--subnet", "10.100.64.0/24", "p-used"]);
    e.ok(&["run", "--rm", "--network", "p-used", "localbusybox", "true"]);
    assert!(set_elements(&e, "subnets").contains("10.100.64.0/24"));
    let out = e.ok(&["network", "prune", "-f"]);
    assert!(
        out.contains("p-unused") && out.contains("p-used"),
        "prune: {out}"
    );
    // (and docker's predefined host and none)
    assert_eq!(names(&e), vec!["bridge", "host", "none"]);
    for set in ["subnets", "same_net", "nat_subnets"] {
        let el = set_elements(&e, set);
        assert!(!el.contains("10.100.6"), "{set}: {el}");
    }
    let links = String::from_utf8_lossy(&e.in_netns("ip", &["-o", "link"]).stdout).into_owned();
    assert!(!links.contains(": quai-"), "bridges left: {links}");
    assert!(e.leaks(&e.all_ids()).is_empty());
}
