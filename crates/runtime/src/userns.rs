//! Whether this process runs in a user namespace other than the host's (rootless quai,
//! or a runtime started inside one): then the kernel refuses what only the host's root
//! may do (mknod, most cgroup writes, `trusted.*` xattrs) and quai does without.

use std::sync::OnceLock;

/// True when `/proc/self/uid_map` is not the host's identity map (`0 0 4294967295`).
pub fn in_child_userns() -> bool {
    static IN: OnceLock<bool> = OnceLock::new();
    *IN.get_or_init(|| {
        std::fs::read_to_string("/proc/self/uid_map").is_ok_and(|m| !is_identity(&m))
    })
}

fn is_identity(map: &str) -> bool {
    let f: Vec<&str> = map.split_whitespace().collect();
    f == ["0", "0", "4294967295"]
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_host_map_is_the_identity() {
        assert!(super::is_identity("         0          0 4294967295\n"));
        assert!(!super::is_identity("0 1000 1\n"));
        assert!(!super::is_identity("0 1000 1\n1 100000 65536\n"));
    }
}
