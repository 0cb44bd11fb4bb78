//! The overlay's own attributes. As root, overlayfs keeps whiteout and opaque markers in
//! `trusted.overlay.*`; in a user namespace (rootless quai) only `user.overlay.*` can be
//! written, and the mount says so with `userxattr`. Layers unpacked, mounted and diffed
//! in one mode stay in it (a rootless store is a store of its own).

use std::sync::OnceLock;

/// True when this process runs in a user namespace other than the host's.
pub fn rootless() -> bool {
    static IN: OnceLock<bool> = OnceLock::new();
    *IN.get_or_init(|| {
        std::fs::read_to_string("/proc/self/uid_map")
            .is_ok_and(|m| m.split_whitespace().collect::<Vec<_>>() != ["0", "0", "4294967295"])
    })
}

/// The opaque-directory attribute in this mode's namespace.
pub fn opaque() -> &'static str {
    if rootless() {
        "user.overlay.opaque"
    } else {
        "trusted.overlay.opaque"
    }
}

/// The attributes of overlay features a layer cannot express (redirected directories,
/// metadata-only copies) in this mode's namespace.
pub fn unexpressible() -> [&'static str; 2] {
    if rootless() {
        ["user.overlay.redirect", "user.overlay.metacopy"]
    } else {
        ["trusted.overlay.redirect", "trusted.overlay.metacopy"]
    }
}

/// What the overlay mount adds to its options in this mode.
pub fn mount_options() -> &'static str {
    if rootless() {
        ",userxattr"
    } else {
        ""
    }
}
