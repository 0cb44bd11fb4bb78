//! Docker CLI features with no daemon to compare against in the differential test:
//! default formats from docker's config file, `ps -s`, the `container`/`image` forms
//! of the verbs, contexts, completions and man pages, docker's usage errors.

mod common;
mod engine_common;

use engine_common::{root_or_skip, Eng};

fn text(o: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

#[test]
fn config_formats_sizes_aliases_and_contexts() {
    if !root_or_skip("config_formats_sizes_aliases_and_contexts") {
        return;
    }
    let e = Eng::new();
    e.ok(&["run", "-d", "--name", "p1", "localbusybox", "sleep", "30"]);
    e.ok(&["exec", "p1", "sh", "-c", "head -c 3000 /dev/zero > /big"]);
    // docker's config file gives the default formats; a --format or -q wins over it.
    let cfg = e.dir.path().join("dockercfg");
    std::fs::create_dir_all(&cfg).expect("mkdir");
    std::fs::write(
        cfg.join("config.json"),
        r#"{"psFormat": "table {{.Names}}\t{{.Image}}", "imagesFormat": "{{.Repository}}!"}"#,
    )
    .expect("write");
    let with_cfg = |args: &[&str]| {
        let o = e
            .cmd(args)
            .env("DOCKER_CONFIG", &cfg)
            .output()
            .expect("run");
        assert!(o.status.success(), "{}", text(&o));
        String::from_utf8_lossy(&o.stdout).into_owned()
    };
    let ps = with_cfg(&["ps"]);
    assert!(ps.starts_with("NAMES"), "{ps}");
    assert!(ps.contains("p1") && ps.contains("localbusybox"), "{ps}");
    assert_eq!(with_cfg(&["ps", "--format", "{{.Names}}"]), "p1\n");
    assert_eq!(with_cfg(&["ps", "-q"]).trim().len(), 12);
    assert_eq!(with_cfg(&["images"]), "localbusybox!\n");
    // ps -s: what the container wrote, and that plus its image.
    let size = e.ok(&["ps", "-s", "--format", "{{.Size}}"]);
    assert!(
        size.contains("kB (virtual ") && size.ends_with("MB)"),
        "{size}"
    );
    let table = e.ok(&["ps", "-s"]);
    assert!(
        table.lines().next().is_some_and(|h| h.ends_with("SIZE")),
        "{table}"
    );
    // container/image VERB are the verbs.
    assert_eq!(e.ok(&["container", "ls", "--format", "{{.Names}}"]), "p1");
    assert_eq!(
        e.ok(&["container", "inspect", "-f", "{{.Name}}", "p1"]),
        "/p1"
    );
    assert_eq!(
        e.ok(&["image", "ls", "--format", "{{.Repository}}"]),
        "localbusybox"
    );
    assert_eq!(
        e.ok(&["image", "inspect", "-f", "{{.Os}}", "localbusybox"]),
        "linux"
    );
    assert_eq!(
        e.ok(&["container", "exec", "p1", "cat", "/etc/hostname"])
            .len(),
        12
    );
    e.ok(&["container", "stop", "-t", "0", "p1"]);
    e.ok(&["container", "rm", "p1"]);
    assert_eq!(e.ok(&["ps", "-aq"]), "");
    // Usage errors as docker words them: a missing argument exits 1, an unknown flag 125.
    let o = e.q(&["rm"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(
        text(&o).contains("'quai rm' requires at least 1 argument"),
        "{}",
        text(&o)
    );
    let o = e.q(&["ps", "--bogus"]);
    assert_eq!(o.status.code(), Some(125), "{}", text(&o));
    assert!(text(&o).contains("unknown flag: --bogus"), "{}", text(&o));
    // login without a terminal cannot prompt.
    let o = e.q(&["login", "127.0.0.1:1"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(
        text(&o).contains("Cannot perform an interactive login from a non TTY device"),
        "{}",
        text(&o)
    );
    // ps --format json: docker's CreatedAt.
    e.ok(&["create", "--name", "j1", "localbusybox"]);
    let j: serde_json::Value =
        serde_json::from_str(&e.ok(&["ps", "-a", "--format", "json"])).expect("json");
    let created = j["CreatedAt"].as_str().unwrap_or_default();
    assert!(
        created.ends_with(" +0000 UTC") && created.len() == 29,
        "{created}"
    );
    // inspect -s, and inspect of networks (the predefined ones too) by name.
    let sizes = e.ok(&[
        "inspect",
        "-s",
        "-f",
        "{{.SizeRw}} {{gt .SizeRootFs 1000000}}",
        "j1",
    ]);
    assert_eq!(sizes, "0 true");
    assert_eq!(
        e.ok(&["inspect", "-f", "{{.Driver}}", "none", "host"]),
        "null\nhost"
    );
    let o = e.q(&["inspect", "--type", "bogus", "j1"]);
    assert!(
        text(&o).contains("is not a valid value for --type"),
        "{}",
        text(&o)
    );
    assert!(!e
        .ok(&[
            "system",
            "events",
            "--since",
            "1m",
            "--until",
            "0s",
            "--format",
            "{{.Action}}"
        ])
        .is_empty());
    e.ok(&["rm", "j1"]);
    // One context: this machine.
    assert_eq!(e.ok(&["context", "show"]), "default");
    assert!(e.ok(&["context", "ls"]).contains("default *"));
    let o = e.q(&["context", "use", "remote"]);
    assert_ne!(o.status.code(), Some(0));
    assert!(text(&o).contains("does not exist"), "{}", text(&o));
}

#[test]
fn sig_proxy_false_leaves_the_signal_to_the_client() {
    if !root_or_skip("sig_proxy_false_leaves_the_signal_to_the_client") {
        return;
    }
    let e = Eng::new();
    let mut client = e
        .cmd(&[
            "run",
            "--name",
            "sp",
            "--network",
            "none",
            "--sig-proxy=false",
            "localbusybox",
            "sleep",
            "60",
        ])
        .spawn()
        .expect("run");
    // (the client may not have made it yet: inspect may fail at first)
    assert!(e.until(10, || {
        let o = e.q(&["inspect", "-f", "{{.State.Running}}", "sp"]);
        String::from_utf8_lossy(&o.stdout).trim() == "true"
    }));
    // The client (nsenter execs quai in place: the same pid) gets SIGTERM.
    let _ = std::process::Command::new("kill")
        .args(["-TERM", &client.id().to_string()])
        .status();
    let st = client.wait().expect("wait");
    use std::os::unix::process::ExitStatusExt;
    assert_eq!(st.signal(), Some(15), "{st:?}");
    // The container was told nothing.
    assert_eq!(e.inspect("sp", ".State.Running"), "true");
    e.ok(&["rm", "-f", "sp"]);
}

#[test]
fn completions_and_man_pages_come_from_the_cli_definition() {
    let bin = common::quai();
    let o = std::process::Command::new(&bin)
        .args(["completion", "bash"])
        .output()
        .expect("run");
    assert!(o.status.success());
    let script = String::from_utf8_lossy(&o.stdout);
    assert!(
        script.contains("_quai()") && script.contains("inspect"),
        "{script}"
    );
    let o = std::process::Command::new(&bin)
        .args(["completion", "fish"])
        .output()
        .expect("run");
    assert!(String::from_utf8_lossy(&o.stdout).contains("complete -c quai"));
    let dir = tempfile::tempdir().expect("tmp");
    let o = std::process::Command::new(&bin)
        .arg("man")
        .arg(dir.path())
        .output()
        .expect("run");
    assert!(o.status.success(), "{}", text(&o));
    let run = std::fs::read_to_string(dir.path().join("quai-run.1")).expect("quai-run.1");
    assert!(run.contains(".TH") && run.contains("publish"), "{run}");
    assert!(dir.path().join("quai-network-create.1").exists());
    // A bad shell name is a usage error.
    let o = std::process::Command::new(&bin)
        .args(["completion", "cmd.exe"])
        .output()
        .expect("run");
    assert_eq!(o.status.code(), Some(125));
}
