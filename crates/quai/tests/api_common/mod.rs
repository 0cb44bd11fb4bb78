//! What the tests of `quai system service` share: the docker CLI to drive it, the
//! service itself on a socket in the test's dir (stopped by its pid when dropped), and a
//! command's output as one text.
#![allow(dead_code)]

use std::process::{Command, Output, Stdio};

use crate::engine_common::Eng;

/// The start of most API tests: root, the docker CLI, a private engine and the service
/// over it; `None` (with the reason printed) when the test cannot run here. Bind it as
/// `let Some((cli, e, svc)) = setup(..)`: the service stops before the engine cleans up.
pub fn setup(test: &str) -> Option<(&'static str, Eng, Service)> {
    if !crate::engine_common::root_or_skip(test) {
        return None;
    }
    let Some(cli) = docker_cli() else {
        eprintln!("SKIP {test}: no docker CLI (apt-get install -y docker.io)");
        return None;
    };
    let e = Eng::new();
    let svc = Service::start(&e);
    Some((cli, e, svc))
}

pub fn docker_cli() -> Option<&'static str> {
    ["/usr/local/bin/docker", "/usr/bin/docker"]
        .into_iter()
        .find(|p| std::path::Path::new(p).exists())
}

/// The service, stopped (by its pid) when dropped.
pub struct Service {
    pub child: std::process::Child,
    pub sock: std::path::PathBuf,
}

impl Service {
    /// `quai system service` on a socket in the test's dir.
    pub fn start(e: &Eng) -> Service {
        let sock = e.dir.path().join("docker.sock");
        let child = e
            .cmd(&["system", "service", &format!("unix://{}", sock.display())])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("service");
        let svc = Service { child, sock };
        assert!(e.until(10, || svc.sock.exists()), "no socket");
        svc
    }

    /// The docker CLI against the service (its config in the test's dir), with `input`
    /// on its stdin.
    pub fn docker(&self, cli: &str, args: &[&str], input: Option<&[u8]>) -> Output {
        use std::io::Write;
        let cfg = self.sock.with_file_name("docker-config");
        let mut c = Command::new(cli)
            .arg("-H")
            .arg(format!("unix://{}", self.sock.display()))
            .args(args)
            .env("DOCKER_CONFIG", &cfg)
            .stdin(if input.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("docker");
        if let Some(i) = input {
            let mut w = c.stdin.take().expect("stdin");
            w.write_all(i).expect("write stdin");
        }
        c.wait_with_output().expect("docker")
    }

    /// The docker CLI on a terminal of its own (util-linux `script`), 24 rows by 80
    /// columns, for `-t`.
    pub fn docker_tty(&self, cli: &str, args: &str) -> Output {
        let cfg = self.sock.with_file_name("docker-config");
        Command::new("script")
            .args(["-qec"])
            .arg(format!(
                "stty rows 24 cols 80; {cli} -H unix://{} {args}",
                self.sock.display()
            ))
            .arg("/dev/null")
            .env("DOCKER_CONFIG", &cfg)
            .stdin(Stdio::null())
            .output()
            .expect("script")
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .arg(self.child.id().to_string())
            .status();
        let _ = self.child.wait();
    }
}

pub fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}
