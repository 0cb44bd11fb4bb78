//! docker compose v2 builds a `build:` service through `quai system service` on
//! BuildKit's path (no `DOCKER_BUILDKIT=0`): buildx's "docker" driver dials the
//! service's `/grpc` and `/session`, the context comes over the session's file sync
//! (`.dockerignore` applied), quai's builder runs the Dockerfile, and the progress and
//! a failure come back in BuildKit's words. Debian's docker CLI 20.10 with
//! `DOCKER_BUILDKIT=1` builds through `POST /build?version=2` and its session.

mod api_common;
mod common;
mod engine_common;

use std::process::{Command, Output, Stdio};

use api_common::{text, Service};
use engine_common::{root_or_skip, Eng};

const DOCKERFILE: &str = "FROM localbusybox
ARG GREETING=unset
RUN echo \"built by RUN with $GREETING\" > /built.txt
COPY hello.txt /hello.txt
CMD [\"sh\", \"-c\", \"cat /built.txt /hello.txt; ls /secret.txt 2>&1 || true\"]
";

const PROJECT: &str = "services:
  svc:
    build:
      context: .
      args:
        GREETING: from-compose
";

#[test]
fn docker_compose_v2_builds_through_buildkits_api() {
    if !root_or_skip("docker_compose_v2_builds_through_buildkits_api") {
        return;
    }
    let Some(cli) = ["/usr/local/bin/docker", "/usr/bin/docker"]
        .into_iter()
        .find(|p| std::path::Path::new(p).exists())
        .filter(|_| {
            std::path::Path::new("/usr/local/lib/docker/cli-plugins/docker-compose").exists()
        })
    else {
        eprintln!("SKIP docker_compose_v2_builds_through_buildkits_api: no docker CLI with the compose plugin (scripts/deps.sh installs it)");
        return;
    };
    let e = Eng::new();
    let svc = Service::start(&e);
    let sock = svc.sock.clone();
    let dir = e.dir.path().join("proj");
    std::fs::create_dir_all(&dir).expect("project dir");
    std::fs::write(dir.join("Dockerfile"), DOCKERFILE).expect("Dockerfile");
    std::fs::write(dir.join("hello.txt"), "hello from the context\n").expect("file");
    std::fs::write(dir.join("secret.txt"), "never sent\n").expect("file");
    std::fs::write(dir.join(".dockerignore"), "secret.txt\n").expect("ignore");
    std::fs::write(dir.join("docker-compose.yml"), PROJECT).expect("compose file");
    let run = |args: &[&str]| -> Output {
        Command::new("nsenter")
            .arg(format!("--net=/run/netns/{}", e.netns))
            .args([cli, "compose"])
            .args(args)
            .current_dir(&dir)
            .env("DOCKER_HOST", format!("unix://{}", sock.display()))
            .env("DOCKER_CONFIG", e.dir.path().join("docker-config"))
            .env("COMPOSE_PROJECT_NAME", "bk")
            .env_remove("DOCKER_BUILDKIT")
            .env_remove("COMPOSE_BAKE")
            .stdin(Stdio::null())
            .output()
            .expect("compose")
    };
    let ok = |args: &[&str]| -> String {
        let o = run(args);
        assert!(o.status.success(), "{args:?}: {}", text(&o));
        text(&o)
    };

    // `build`: BuildKit's progress, the steps of quai's builder.
    let out = ok(&["--progress", "plain", "build"]);
    assert!(
        out.contains("building with \"default\" instance using docker driver"),
        "{out}"
    );
    assert!(out.contains("[svc 2/3] RUN echo"), "{out}");
    assert!(out.contains("[svc 3/3] COPY hello.txt /hello.txt"), "{out}");
    assert!(
        out.contains("naming to docker.io/library/bk-svc:latest"),
        "{out}"
    );
    let images = e.ok(&["images", "--format", "{{.Repository}}:{{.Tag}}"]);
    assert!(images.lines().any(|l| l == "bk-svc:latest"), "{images}");

    // `run`: what was built, without the ignored file.
    let out = ok(&["run", "--rm", "svc"]);
    assert!(
        out.contains("built by RUN with from-compose\nhello from the context\n"),
        "{out}"
    );
    assert!(out.contains("/secret.txt: No such file"), "{out}");

    // `up --build` after a change of the context: built again and run.
    std::fs::write(dir.join("hello.txt"), "changed context\n").expect("file");
    let out = ok(&["up", "--build"]);
    assert!(out.contains("changed context"), "{out}");
    assert!(out.contains("exited with code 0"), "{out}");
    ok(&["down"]);

    // A failing step fails the build in BuildKit's words.
    std::fs::write(
        dir.join("Dockerfile"),
        "FROM localbusybox\nRUN echo about-to-fail; exit 3\n",
    )
    .expect("Dockerfile");
    let o = run(&["--progress", "plain", "build"]);
    let out = text(&o);
    assert!(!o.status.success(), "{out}");
    assert!(out.contains("about-to-fail"), "{out}");
    assert!(
        out.contains("did not complete successfully: exit code: 3"),
        "{out}"
    );
    // The contexts received are gone.
    let left: Vec<_> = std::fs::read_dir(e.run.join("api"))
        .map(|d| d.flatten().map(|e| e.file_name()).collect())
        .unwrap_or_default();
    assert!(
        !left
            .iter()
            .any(|n| n.to_string_lossy().starts_with("buildkit-")),
        "{left:?}"
    );
}

#[test]
fn docker_cli_20_10_builds_with_buildkit_through_the_session() {
    if !root_or_skip("docker_cli_20_10_builds_with_buildkit_through_the_session") {
        return;
    }
    let cli = "/usr/bin/docker";
    if !std::path::Path::new(cli).exists() {
        eprintln!("SKIP docker_cli_20_10_builds_with_buildkit_through_the_session: no {cli} (scripts/deps.sh installs docker.io)");
        return;
    }
    let e = Eng::new();
    let svc = Service::start(&e);
    let sock = svc.sock.clone();
    let dir = e.dir.path().join("ctx");
    std::fs::create_dir_all(&dir).expect("ctx");
    std::fs::write(dir.join("Dockerfile"), DOCKERFILE).expect("Dockerfile");
    std::fs::write(dir.join("hello.txt"), "hello over the session\n").expect("file");
    std::fs::write(dir.join("secret.txt"), "never sent\n").expect("file");
    std::fs::write(dir.join(".dockerignore"), "secret.txt\n").expect("ignore");
    // The docker CLI waits for its session to end: a kill after a minute keeps a
    // regression from hanging the suite.
    let docker = |args: &[&str], stdin: Stdio| -> Output {
        Command::new("timeout")
            .args(["-s", "KILL", "60", "nsenter"])
            .arg(format!("--net=/run/netns/{}", e.netns))
            .args([cli, "-H", &format!("unix://{}", sock.display())])
            .args(args)
            .current_dir(&dir)
            .env("DOCKER_BUILDKIT", "1")
            .env("DOCKER_CONFIG", e.dir.path().join("docker-config"))
            .stdin(stdin)
            .output()
            .expect("docker")
    };
    let o = docker(
        &[
            "build",
            "--progress",
            "plain",
            "--build-arg",
            "GREETING=from-20.10",
            "-t",
            "bk20:1",
            ".",
        ],
        Stdio::null(),
    );
    let out = text(&o);
    assert!(o.status.success(), "{out}");
    assert!(out.contains("[3/3] COPY hello.txt /hello.txt"), "{out}");
    assert!(out.contains("naming to docker.io/library/bk20:1"), "{out}");
    let ran = e.ok(&["run", "--rm", "--network", "none", "bk20:1"]);
    assert!(
        ran.contains("built by RUN with from-20.10\nhello over the session\n"),
        "{ran}"
    );
    assert!(ran.contains("/secret.txt: No such file"), "{ran}");
    // A context sent as the body (a tar on stdin) is refused, and the CLI ends.
    let tar = dir.parent().expect("parent").join("ctx.tar");
    let made = Command::new("tar")
        .arg("-C")
        .arg(&dir)
        .arg("-cf")
        .arg(&tar)
        .arg(".")
        .status()
        .expect("tar");
    assert!(made.success(), "tar");
    let o = docker(
        &["build", "-t", "bk20:2", "-"],
        Stdio::from(std::fs::File::open(&tar).expect("ctx.tar")),
    );
    let out = text(&o);
    assert!(!o.status.success(), "{out}");
    assert!(out.contains("not supported here"), "{out}");
}
