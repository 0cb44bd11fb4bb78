//! Shared helpers for the end-to-end tests: a bundle with a busybox rootfs in a private
//! temp dir, a private state root, and cleanup that runs even when a test fails.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use serde_json::Value;

/// Whether we run as root; privileged tests print a reason and return otherwise.
pub fn root_or_skip(test: &str) -> bool {
    if nix_is_root() {
        true
    } else {
        eprintln!("SKIP {test}: needs root (namespaces, mounts, cgroups)");
        false
    }
}

/// Skip a test that this machine cannot run, visibly: the reason goes to stderr and to
/// the file `QUAI_TEST_SKIPS` names (scripts/test.sh prints that file at the end).
pub fn skip(test: &str, reason: &str) {
    let line = format!("SKIP {test}: {reason}");
    eprintln!("{line}");
    if let Some(f) = std::env::var_os("QUAI_TEST_SKIPS") {
        use std::io::Write;
        if let Ok(mut f) = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(f)
        {
            let _ = writeln!(f, "{line}");
        }
    }
}

fn nix_is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .map(|l| l.split_whitespace().nth(2) == Some("0"))
        })
        .unwrap_or(false)
}

/// Make a network namespace named `PREFIX-<the temp dir's name>` with loopback up (the
/// caller deletes it with `ip netns del` when done).
pub fn netns_add(prefix: &str, dir: &Path) -> String {
    let netns = format!(
        "{prefix}-{}",
        dir.file_name()
            .map(|n| n.to_string_lossy().replace(['.', '-'], ""))
            .unwrap_or_default()
    );
    let ok = Command::new("ip")
        .args(["netns", "add", &netns])
        .status()
        .is_ok_and(|s| s.success());
    assert!(ok, "ip netns add {netns}");
    let _ = Command::new("ip")
        .args(["-n", &netns, "link", "set", "lo", "up"])
        .status();
    netns
}

/// The quai binary under test.
pub fn quai() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_quai"))
}

/// A test's own world: temp dir, state root, bundle.
pub struct World {
    pub tmp: tempfile::TempDir,
    pub root: PathBuf,
    pub bundle: PathBuf,
    pub spec: Value,
}

impl World {
    /// A fresh bundle whose process is `args`, with a default spec.
    pub fn new(args: &[&str]) -> World {
        let tmp = tempfile::Builder::new()
            .prefix("quai-test-")
            .tempdir()
            .expect("tempdir");
        // Readable for mapped users (user-namespace tests).
        std::fs::set_permissions(
            tmp.path(),
            std::os::unix::fs::PermissionsExt::from_mode(0o755),
        )
        .expect("chmod");
        let root = tmp.path().join("state");
        let bundle = tmp.path().join("bundle");
        std::fs::create_dir_all(&bundle).expect("bundle");
        let script =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/make-busybox-rootfs");
        let st = Command::new(script)
            .arg(bundle.join("rootfs"))
            .status()
            .expect("make-busybox-rootfs");
        assert!(st.success(), "make-busybox-rootfs failed");
        let out = Command::new(quai())
            .args(["runtime", "spec", "--bundle"])
            .arg(&bundle)
            .output()
            .expect("spec");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let mut spec: Value =
            serde_json::from_slice(&std::fs::read(bundle.join("config.json")).expect("config"))
                .expect("json");
        spec["process"]["terminal"] = Value::Bool(false);
        spec["process"]["args"] = serde_json::json!(args);
        // Writable root by default (tests write files); tests that want ro set it.
        spec["root"]["readonly"] = Value::Bool(false);
        World {
            tmp,
            root,
            bundle,
            spec,
        }
    }

    /// Write the current spec to config.json.
    pub fn save(&self) {
        std::fs::write(
            self.bundle.join("config.json"),
            serde_json::to_vec_pretty(&self.spec).expect("ser"),
        )
        .expect("write config");
    }

    /// Run `quai runtime --root R ARGS...`.
    pub fn rt(&self, args: &[&str]) -> Output {
        Command::new(quai())
            .arg("runtime")
            .arg("--root")
            .arg(&self.root)
            .args(args)
            .stdin(Stdio::null())
            .output()
            .expect("run quai")
    }

    /// `run` the bundle as container `id` (saves the spec first).
    pub fn run(&self, id: &str) -> Output {
        self.save();
        let b = self.bundle.to_string_lossy().into_owned();
        self.rt(&["run", "--bundle", &b, id])
    }

    /// `create` the bundle as container `id`.
    pub fn create(&self, id: &str) -> Output {
        self.save();
        let b = self.bundle.to_string_lossy().into_owned();
        self.rt(&["create", "--bundle", &b, id])
    }

    /// `create` with the container's stdio on files (a created container keeps the
    /// runtime's stdio, so pipes would never reach EOF); returns (success, stderr).
    pub fn create_detached(&self, id: &str) -> (bool, String) {
        self.save();
        let err = self.path(&format!("{id}.stderr"));
        let out = std::fs::File::create(self.path(&format!("{id}.stdout"))).expect("stdout file");
        let st = Command::new(quai())
            .arg("runtime")
            .arg("--root")
            .arg(&self.root)
            .args(["create", "--bundle"])
            .arg(&self.bundle)
            .arg(id)
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(std::fs::File::create(&err).expect("stderr file"))
            .status()
            .expect("run quai");
        (
            st.success(),
            std::fs::read_to_string(&err).unwrap_or_default(),
        )
    }

    /// The container's stdout so far (after [`World::create_detached`]).
    pub fn container_stdout(&self, id: &str) -> String {
        std::fs::read_to_string(self.path(&format!("{id}.stdout"))).unwrap_or_default()
    }

    /// The OCI state of `id`.
    pub fn state(&self, id: &str) -> Value {
        let out = self.rt(&["state", id]);
        assert!(
            out.status.success(),
            "state {id}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).expect("state json")
    }

    /// A path in the test's temp dir.
    pub fn path(&self, name: &str) -> PathBuf {
        self.tmp.path().join(name)
    }

    /// Add a bind mount of host `src` at container `dst`.
    pub fn bind(&mut self, src: &Path, dst: &str) {
        let m = serde_json::json!({"destination": dst, "type": "bind", "source": src, "options": ["rbind", "rw"]});
        self.spec["mounts"].as_array_mut().expect("mounts").push(m);
    }
}

impl Drop for World {
    fn drop(&mut self) {
        // Delete whatever the test left, even after a failed assertion.
        if let Ok(rd) = std::fs::read_dir(&self.root) {
            for e in rd.flatten() {
                let id = e.file_name().to_string_lossy().into_owned();
                let _ = Command::new(quai())
                    .arg("runtime")
                    .arg("--root")
                    .arg(&self.root)
                    .args(["delete", "--force", &id])
                    .output();
            }
        }
    }
}

/// stdout as a string.
pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// stderr as a string.
pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// A unique container id for this test process.
pub fn id(name: &str) -> String {
    format!("qt-{name}-{}", std::process::id())
}

/// A busybox rootfs tarball made in `dir` (`dir/rootfs.tar`).
pub fn busybox_tar(dir: &Path) -> PathBuf {
    let rootfs = dir.join("rootfs");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/make-busybox-rootfs");
    assert!(Command::new(script)
        .arg(&rootfs)
        .status()
        .expect("rootfs")
        .success());
    let tar = dir.join("rootfs.tar");
    assert!(Command::new("tar")
        .arg("-C")
        .arg(&rootfs)
        .args(["-cf"])
        .arg(&tar)
        .arg(".")
        .status()
        .expect("tar")
        .success());
    tar
}
