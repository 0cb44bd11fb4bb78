//! docker compose v2 (the official binary, a docker CLI plugin) and docker-compose 1.29
//! (Debian's, on docker-py) bring a project up and down through `quai system service`:
//! a one-shot service filling a volume, a web server on it with a published port, a
//! client that reaches the server by its service name, exec, logs, ps and down -v.

mod api_common;
mod common;
mod engine_common;

use std::process::{Command, Output, Stdio};

use api_common::{text, Service};
use engine_common::{root_or_skip, Eng};

const PROJECT: &str = r#"services:
  init:
    image: localbusybox
    command: ["sh", "-c", "echo hello from compose > /www/index.html"]
    volumes:
      - data:/www
  web:
    image: localbusybox
    command: ["httpd", "-f", "-p", "8080", "-h", "/www"]
    volumes:
      - data:/www
    ports:
      - "PORT:8080"
    depends_on:
      init:
        condition: service_completed_successfully
  probe:
    image: localbusybox
    command: ["sh", "-c", "for i in $$(seq 100); do wget -qO- http://web:8080/ && exit 0; sleep 0.1; done; exit 1"]
    depends_on:
      - web
volumes:
  data:
"#;

/// One client's whole scenario; `compose` is its command line before the subcommand.
fn scenario(e: &Eng, sock: &std::path::Path, compose: &[&str], port: u16) {
    let dir = e.dir.path().join(format!("proj{port}"));
    std::fs::create_dir_all(&dir).expect("project dir");
    std::fs::write(
        dir.join("docker-compose.yml"),
        PROJECT.replace("PORT", &port.to_string()),
    )
    .expect("compose file");
    let run = |args: &[&str]| -> Output {
        Command::new("nsenter")
            .arg(format!("--net=/run/netns/{}", e.netns))
            .args(compose)
            .args(args)
            .current_dir(&dir)
            .env("DOCKER_HOST", format!("unix://{}", sock.display()))
            .env("DOCKER_CONFIG", e.dir.path().join("docker-config"))
            .env("COMPOSE_PROJECT_NAME", "demo")
            .stdin(Stdio::null())
            .output()
            .expect("compose")
    };
    let ok = |args: &[&str]| -> String {
        let o = run(args);
        assert!(o.status.success(), "{compose:?} {args:?}: {}", text(&o));
        String::from_utf8_lossy(&o.stdout).into_owned()
    };
    ok(&["up", "-d"]);
    let url = format!("http://127.0.0.1:{port}/");
    assert!(
        e.until(10, || {
            e.in_netns("curl", &["-s", "-m", "2", &url]).stdout == b"hello from compose\n"
        }),
        "{compose:?}: the published port"
    );
    // The probe found the server by its service name.
    assert!(
        e.until(10, || ok(&["logs", "probe"]).contains("hello from compose")),
        "{compose:?}: {}",
        ok(&["logs", "probe"])
    );
    let ps = ok(&["ps"]);
    assert!(ps.contains("web"), "{ps}");
    assert_eq!(
        ok(&["exec", "-T", "web", "cat", "/www/index.html"]),
        "hello from compose\n"
    );
    // quai sees compose's project through its labels.
    let labels = e.ok(&[
        "ps",
        "-a",
        "--filter",
        "label=com.docker.compose.project=demo",
        "--format",
        "{{.Label \"com.docker.compose.service\"}}",
    ]);
    for s in ["init", "web", "probe"] {
        assert!(labels.lines().any(|l| l == s), "{labels}");
    }
    ok(&["down", "-v"]);
    assert_eq!(e.ok(&["ps", "-aq"]), "", "{compose:?}: containers left");
    // Attached `up`: the logs, and the end of each container as compose learns it from
    // the events of its project's label.
    std::fs::write(
        dir.join("docker-compose.yml"),
        "services:\n  one:\n    image: localbusybox\n    command: [\"sh\", \"-c\", \"echo attached-hi; sleep 0.5; exit 3\"]\n",
    )
    .expect("compose file");
    let o = run(&["up"]);
    assert!(o.status.success(), "{compose:?}: {}", text(&o));
    let out = text(&o);
    assert!(out.contains("attached-hi"), "{compose:?}: {out}");
    assert!(out.contains("exited with code 3"), "{compose:?}: {out}");
    ok(&["down"]);
    assert!(
        !e.ok(&["volume", "ls", "-q"]).contains("demo_data"),
        "{compose:?}: volume left"
    );
    assert!(
        !e.ok(&["network", "ls", "--format", "{{.Name}}"])
            .contains("demo_default"),
        "{compose:?}: network left"
    );
}

#[test]
fn docker_compose_v1_and_v2_through_the_api() {
    if !root_or_skip("docker_compose_v1_and_v2_through_the_api") {
        return;
    }
    let v2 = ["/usr/local/bin/docker", "/usr/bin/docker"]
        .into_iter()
        .find(|p| std::path::Path::new(p).exists())
        .filter(|_| {
            std::path::Path::new("/usr/local/lib/docker/cli-plugins/docker-compose").exists()
        });
    let v1 = Some("/usr/bin/docker-compose").filter(|p| std::path::Path::new(p).exists());
    if v1.is_none() && v2.is_none() {
        eprintln!("SKIP docker_compose_v1_and_v2_through_the_api: no compose (scripts/deps.sh installs both)");
        return;
    }
    let e = Eng::new();
    let svc = Service::start(&e);
    let sock = svc.sock.clone();
    match v2 {
        Some(cli) => scenario(&e, &sock, &[cli, "compose"], 18181),
        None => eprintln!("SKIP compose v2: no /usr/local/lib/docker/cli-plugins/docker-compose"),
    }
    match v1 {
        Some(v1) => scenario(&e, &sock, &[v1], 18182),
        None => eprintln!("SKIP compose v1: no /usr/bin/docker-compose"),
    }
}
