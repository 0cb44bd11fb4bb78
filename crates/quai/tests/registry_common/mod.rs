//! A network namespace per test with a registry in it (Debian's docker-registry, or
//! `quai registry serve`), deleted with the registry on drop.
#![allow(dead_code)]

use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

use crate::common::*;

pub struct Netns {
    pub name: String,
    pub registry: Option<Child>,
}

impl Netns {
    pub fn new(tag: &str) -> Netns {
        let name = format!("quai-{tag}-{}", std::process::id());
        assert!(Command::new("ip")
            .args(["netns", "add", &name])
            .status()
            .expect("ip")
            .success());
        let ns = Netns {
            name,
            registry: None,
        };
        assert!(ns.cmd("ip", &["link", "set", "lo", "up"]).status.success());
        ns
    }

    pub fn command(&self, prog: &str, args: &[&str]) -> Command {
        // nsenter, not `ip netns exec`: the latter remounts /sys and hides the cgroup
        // mounts from everything inside.
        let mut c = Command::new("nsenter");
        c.arg(format!("--net=/run/netns/{}", self.name))
            .arg(prog)
            .args(args)
            .stdin(Stdio::null());
        c
    }

    pub fn cmd(&self, prog: &str, args: &[&str]) -> Output {
        self.command(prog, args).output().expect("nsenter")
    }

    pub fn start_registry(
        &mut self,
        dir: &std::path::Path,
        port: u16,
        htpasswd: Option<&std::path::Path>,
    ) {
        let auth = htpasswd.map_or(String::new(), |h| {
            format!(
                "auth:\n  htpasswd:\n    realm: quai-test\n    path: {}\n",
                h.display()
            )
        });
        let cfg = dir.join("registry.yml");
        std::fs::write(
            &cfg,
            format!("version: 0.1\nstorage:\n  filesystem:\n    rootdirectory: {}\n  delete:\n    enabled: true\nhttp:\n  addr: 127.0.0.1:{port}\n{auth}", dir.join("data").display()),
        )
        .expect("config");
        let url = format!("http://127.0.0.1:{port}/v2/");
        self.spawn_server(
            "docker-registry",
            &["serve", cfg.to_str().expect("utf8")],
            &dir.join("registry.log"),
            &url,
        );
    }

    /// Start a registry process in the namespace and wait until `url` answers 200 or 401.
    pub fn spawn_server(
        &mut self,
        prog: &str,
        args: &[&str],
        log_path: &std::path::Path,
        url: &str,
    ) {
        let log = std::fs::File::create(log_path).expect("log");
        let child = self
            .command(prog, args)
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("server");
        self.registry = Some(child);
        for _ in 0..100 {
            let o = self.cmd(
                "curl",
                &["-sk", "-o", "/dev/null", "-w", "%{http_code}", url],
            );
            if matches!(stdout(&o).as_str(), "200" | "401") {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!(
            "{prog} did not start: {}",
            std::fs::read_to_string(log_path).unwrap_or_default()
        );
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        if let Some(mut c) = self.registry.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
        let _ = Command::new("ip")
            .args(["netns", "del", &self.name])
            .status();
    }
}

pub fn have(tool: &str) -> bool {
    Command::new("sh")
        .arg("-c")
        .arg(format!("command -v {tool}"))
        .output()
        .is_ok_and(|o| o.status.success())
}

pub fn ready(test: &str) -> bool {
    if !root_or_skip(test) {
        return false;
    }
    for t in ["docker-registry", "skopeo", "curl", "htpasswd"] {
        if !have(t) {
            eprintln!("SKIP {test}: {t} missing (apt-get install -y docker-registry skopeo curl apache2-utils)");
            return false;
        }
    }
    true
}
