//! More real clients of `quai system service`: docker-py (Debian's python3-docker) in its
//! everyday calls beyond create, and Debian's docker 20.10 CLI (API 1.41) beside the
//! docker 28 CLI the other tests drive.

mod api_common;
mod common;
mod engine_common;

use std::process::{Command, Output, Stdio};

use api_common::{text, Service};
use engine_common::{root_or_skip, Eng};

#[test]
fn docker_py_everyday_calls() {
    if !root_or_skip("docker_py_everyday_calls") {
        return;
    }
    let has_sdk = Command::new("python3")
        .args(["-c", "import docker"])
        .status()
        .is_ok_and(|s| s.success());
    if !has_sdk {
        eprintln!(
            "SKIP docker_py_everyday_calls: no docker-py (apt-get install -y python3-docker)"
        );
        return;
    }
    let e = Eng::new();
    let svc = Service::start(&e);
    let sock = svc.sock.clone();
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/api_sdk.py");
    let o = Command::new("nsenter")
        .arg(format!("--net=/run/netns/{}", e.netns))
        .arg("python3")
        .arg(&script)
        .arg(&sock)
        .arg(e.dir.path())
        .stdin(Stdio::null())
        .output()
        .expect("python3");
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(
        String::from_utf8_lossy(&o.stdout).trim(),
        "ok",
        "{}",
        text(&o)
    );
}

#[test]
fn docker_cli_20_10_drives_quai_too() {
    if !root_or_skip("docker_cli_20_10_drives_quai_too") {
        return;
    }
    let cli = "/usr/bin/docker";
    if !std::path::Path::new(cli).exists() {
        eprintln!("SKIP docker_cli_20_10_drives_quai_too: no {cli} (apt-get install -y docker.io)");
        return;
    }
    let e = Eng::new();
    let svc = Service::start(&e);
    let d = |args: &[&str], input: Option<&[u8]>| -> Output { svc.docker(cli, args, input) };
    let ok = |args: &[&str]| -> String {
        let o = d(args, None);
        assert!(o.status.success(), "{args:?}: {}", text(&o));
        String::from_utf8_lossy(&o.stdout).trim().to_string()
    };
    assert_eq!(
        ok(&["version", "--format", "{{.Client.APIVersion}}"]),
        "1.41"
    );
    let o = d(
        &[
            "run",
            "--rm",
            "--network",
            "none",
            "localbusybox",
            "sh",
            "-c",
            "echo fg; exit 5",
        ],
        None,
    );
    assert_eq!(
        (String::from_utf8_lossy(&o.stdout).as_ref(), o.status.code()),
        ("fg\n", Some(5)),
        "{}",
        text(&o)
    );
    let o = d(
        &[
            "run",
            "-i",
            "--rm",
            "--network",
            "none",
            "localbusybox",
            "tr",
            "a-z",
            "A-Z",
        ],
        Some(b"old cli\n"),
    );
    assert_eq!(
        String::from_utf8_lossy(&o.stdout),
        "OLD CLI\n",
        "{}",
        text(&o)
    );
    ok(&[
        "run",
        "-d",
        "--name",
        "c20",
        "--network",
        "none",
        "localbusybox",
        "sh",
        "-c",
        "echo hi; sleep 60",
    ]);
    assert!(e.until(5, || ok(&["logs", "c20"]) == "hi"));
    assert_eq!(
        ok(&["ps", "--format", "{{.Names}} {{.Status}}"])
            .split(' ')
            .next(),
        Some("c20")
    );
    assert_eq!(
        ok(&["exec", "-e", "V=1", "c20", "sh", "-c", "echo $V"]),
        "1"
    );
    let f = e.dir.path().join("up.txt");
    std::fs::write(&f, "copied\n").expect("file");
    ok(&["cp", f.to_str().expect("utf-8"), "c20:/tmp/up.txt"]);
    assert_eq!(ok(&["exec", "c20", "cat", "/tmp/up.txt"]), "copied");
    let back = e.dir.path().join("back.txt");
    ok(&["cp", "c20:/tmp/up.txt", back.to_str().expect("utf-8")]);
    assert_eq!(std::fs::read_to_string(&back).expect("back"), "copied\n");
    // The 20.10 CLI builds with the classic builder by itself.
    let ctx = e.dir.path().join("ctx");
    std::fs::create_dir_all(&ctx).expect("ctx");
    std::fs::write(
        ctx.join("Dockerfile"),
        "FROM localbusybox\nRUN echo from-20 > /v\n",
    )
    .expect("df");
    let o = d(
        &["build", "-t", "old:1", ctx.to_str().expect("utf-8")],
        None,
    );
    assert!(
        String::from_utf8_lossy(&o.stdout).contains("Successfully tagged old:1"),
        "{}",
        text(&o)
    );
    assert_eq!(
        ok(&["run", "--rm", "--network", "none", "old:1", "cat", "/v"]),
        "from-20"
    );
    ok(&["stop", "-t", "0", "c20"]);
    assert_eq!(ok(&["inspect", "-f", "{{.State.ExitCode}}", "c20"]), "137");
    ok(&["rm", "c20"]);
    ok(&["rmi", "old:1"]);
    let o = d(&["rm", "nosuch"], None);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        text(&o).contains("No such container: nosuch"),
        "{}",
        text(&o)
    );
    assert_eq!(e.ok(&["ps", "-aq"]), "");
}
