//! Crash tests: `create` killed with SIGKILL at many points; `delete --force` then leaves
//! nothing behind (no state, no cgroup, no process).

mod common;

use std::process::{Command, Stdio};
use std::time::Duration;

use common::*;

fn find_dir(dir: &std::path::Path, name: &str, depth: u32) -> Option<std::path::PathBuf> {
    if depth == 0 {
        return None;
    }
    for e in std::fs::read_dir(dir).ok()?.flatten() {
        if e.file_type().is_ok_and(|t| t.is_dir()) {
            if e.file_name() == name {
                return Some(e.path());
            }
            if let Some(p) = find_dir(&e.path(), name, depth - 1) {
                return Some(p);
            }
        }
    }
    None
}

#[test]
fn killed_create_is_cleaned_by_delete_force() {
    if !root_or_skip("crash") {
        return;
    }
    let mut w = World::new(&["/bin/sleep", "1000"]);
    // A slow createRuntime hook widens the window in the middle of create.
    w.spec["hooks"] =
        serde_json::json!({"createRuntime": [{"path": "/bin/sleep", "args": ["sleep", "0.02"]}]});
    w.save();
    for i in 0..24u64 {
        let id = id(&format!("crash{i}"));
        let mut child = Command::new(quai())
            .args(["runtime", "--root"])
            .arg(&w.root)
            .args(["create", "--bundle"])
            .arg(&w.bundle)
            .arg(&id)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn");
        // Spread the kill over the whole of create (a few ms to ~40 ms).
        std::thread::sleep(Duration::from_micros(500 + (i * 7919) % 40_000));
        let _ = child.kill();
        let _ = child.wait();
        let out = w.rt(&["delete", "--force", &id]);
        assert!(
            out.status.success(),
            "iteration {i}: delete --force: {}",
            stderr(&out)
        );
        assert!(!w.root.join(&id).exists(), "iteration {i}: state left");
        for h in ["pids", "memory", "freezer"] {
            let found = find_dir(&std::path::Path::new("/sys/fs/cgroup").join(h), &id, 5);
            assert!(found.is_none(), "iteration {i}: cgroup {found:?} left");
        }
        // The id is free again.
        let (ok, err) = w.create_detached(&id);
        assert!(ok, "iteration {i}: create after crash: {err}");
        assert!(w.rt(&["delete", "--force", &id]).status.success());
    }
}
