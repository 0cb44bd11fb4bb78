//! `quai compose`: the loader against what docker compose v2.40.3 printed for the
//! corpus in `data/compose` (key for key, byte for byte), and projects run end to end on
//! the engine library: up with a healthcheck, a one-shot service and a published port,
//! logs, exec, run, recreation only of what changed, scale, attached up, bad input that
//! makes nothing, and down leaving nothing; docker compose v2 (through `quai system
//! service`) and quai compose seeing each other's projects.

mod api_common;
mod common;
mod engine_common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use engine_common::{root_or_skip, Eng};

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for e in std::fs::read_dir(from).expect("read_dir").flatten() {
        let name = e.file_name();
        let n = name.to_string_lossy();
        if matches!(n.as_ref(), "cmd" | "env" | "unordered") || n.starts_with("expected") {
            continue;
        }
        let ft = e.file_type().expect("file type");
        if ft.is_dir() {
            copy_dir(&e.path(), &to.join(&name));
        } else if ft.is_symlink() {
            let t = std::fs::read_link(e.path()).expect("readlink");
            std::os::unix::fs::symlink(t, to.join(&name)).expect("symlink");
        } else {
            std::fs::copy(e.path(), to.join(&name)).expect("copy");
        }
    }
}

/// Every case of the corpus: stdout byte for byte, the exit code, and for failures the
/// message (docker compose prints it bare, quai after `Error: `).
#[test]
fn config_matches_docker_compose_v2_on_the_corpus() {
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/compose");
    // The cases' expected output names this directory (see data/compose/README.md).
    let base = PathBuf::from("/tmp/compose-case");
    let home = PathBuf::from("/tmp/compose-home");
    let mut failures = Vec::new();
    let mut n = 0;
    let mut names: Vec<PathBuf> = std::fs::read_dir(&data)
        .expect("corpus")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.join("cmd").exists())
        .collect();
    names.sort();
    for case in names {
        let name = case
            .file_name()
            .expect("name")
            .to_string_lossy()
            .into_owned();
        let dst = base.join(&name);
        let _ = std::fs::remove_dir_all(&dst);
        copy_dir(&case, &dst);
        let cmd = std::fs::read_to_string(case.join("cmd")).expect("cmd");
        let args = shell_words(cmd.trim());
        let mut c = Command::new(common::quai());
        c.arg("compose")
            .args(&args)
            .current_dir(&dst)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("HOME", &home)
            .stdin(Stdio::null());
        if let Ok(env) = std::fs::read_to_string(case.join("env")) {
            for l in env.lines() {
                if let Some((k, v)) = l.split_once('=') {
                    c.env(k, v);
                }
            }
        }
        let o = c.output().expect("quai compose");
        let mut out = String::from_utf8_lossy(&o.stdout).into_owned();
        if case.join("unordered").exists() {
            let mut lines: Vec<&str> = out.split_inclusive('\n').collect();
            lines.sort();
            out = lines.concat();
        }
        let want = std::fs::read_to_string(case.join("expected")).expect("expected");
        let code: i32 = std::fs::read_to_string(case.join("expected.exit"))
            .expect("expected.exit")
            .trim()
            .parse()
            .expect("exit code");
        let want_err = std::fs::read_to_string(case.join("expected.stderr")).unwrap_or_default();
        let err = String::from_utf8_lossy(&o.stderr);
        let err = err
            .trim()
            .strip_prefix("Error: ")
            .unwrap_or(err.trim())
            .to_string();
        let ok =
            out == want && o.status.code() == Some(code) && (code == 0 || err == want_err.trim());
        if !ok {
            failures.push(format!(
                "{name}: exit {:?} (want {code})\n--- got\n{out}{err}\n--- want\n{want}{want_err}",
                o.status.code()
            ));
        }
        n += 1;
        let _ = std::fs::remove_dir_all(&dst);
    }
    assert!(n >= 100, "only {n} cases found");
    assert!(
        failures.is_empty(),
        "{} of {n} cases differ from docker compose v2.40.3:\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}

/// POSIX-shell words (quotes honoured, nothing expanded), as the corpus's `cmd` files are.
fn shell_words(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut have = false;
    let mut it = s.chars();
    while let Some(c) = it.next() {
        match c {
            '\'' => {
                have = true;
                for d in it.by_ref() {
                    if d == '\'' {
                        break;
                    }
                    cur.push(d);
                }
            }
            '"' => {
                have = true;
                while let Some(d) = it.next() {
                    match d {
                        '"' => break,
                        '\\' => {
                            if let Some(x) = it.next() {
                                cur.push(x);
                            }
                        }
                        _ => cur.push(d),
                    }
                }
            }
            ' ' | '\t' => {
                if have {
                    out.push(std::mem::take(&mut cur));
                    have = false;
                }
            }
            _ => {
                have = true;
                cur.push(c);
            }
        }
    }
    if have {
        out.push(cur);
    }
    out
}

const PROJECT: &str = r#"name: demo
services:
  web:
    image: localbusybox
    init: true
    command: ["httpd", "-f", "-p", "80", "-h", "/www"]
    ports: ["PORT:80"]
    volumes: [data:/www]
    environment:
      GREETING: ${GREETING:-hi}
    depends_on:
      init: {condition: service_completed_successfully}
      db: {condition: service_healthy}
    networks: [front, back]
    restart: unless-stopped
    deploy:
      resources:
        limits: {memory: 64m}
    secrets: [token, from_env]
    configs:
      - source: motd
        target: /etc/motd
    post_start:
      - command: sh -c 'echo started > /tmp/post_start'
  init:
    image: localbusybox
    command: sh -c 'echo hello from quai compose > /www/index.html'
    volumes: [data:/www]
  db:
    image: localbusybox
    init: true
    command: sh -c 'touch /tmp/ready; exec sleep 1000'
    healthcheck:
      test: ["CMD", "test", "-f", "/tmp/ready"]
      interval: 1s
      start_period: 10s
      start_interval: 100ms
    networks:
      back:
        ipv4_address: 10.123.0.10
  worker:
    image: localbusybox
    init: true
    command: sleep 1000
  debug:
    image: localbusybox
    profiles: [debug]
    init: true
    command: sleep 1000
volumes:
  data:
networks:
  front:
  back:
    ipam:
      config:
        - subnet: 10.123.0.0/24
secrets:
  token:
    file: ./token.txt
  from_env:
    environment: SECRET_VALUE
configs:
  motd:
    content: welcome to ${COMPOSE_PROJECT_NAME}
"#;

struct Proj<'a> {
    e: &'a Eng,
    dir: PathBuf,
}

impl Proj<'_> {
    fn run(&self, args: &[&str]) -> Output {
        self.e
            .cmd(&["compose"])
            .args(args)
            .current_dir(&self.dir)
            .output()
            .expect("quai compose")
    }

    fn ok(&self, args: &[&str]) -> String {
        let o = self.run(args);
        assert!(o.status.success(), "quai compose {args:?}: {}", text(&o));
        String::from_utf8_lossy(&o.stdout).into_owned()
    }

    fn ids(&self) -> Vec<(String, String)> {
        let out = self.e.ok(&[
            "ps",
            "-a",
            "--filter",
            "label=com.docker.compose.project=demo",
            "--format",
            "{{.Names}} {{.ID}}",
        ]);
        let mut v: Vec<(String, String)> = out
            .lines()
            .filter_map(|l| l.split_once(' '))
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect();
        v.sort();
        v
    }
}

/// Nothing of the project left: containers, networks, volumes, monitors, nft rules.
fn assert_clean(e: &Eng, port: u16) {
    assert_eq!(e.ok(&["ps", "-aq"]), "", "containers left");
    let nets = e.ok(&["network", "ls", "--format", "{{.Name}}"]);
    assert!(!nets.contains("demo_"), "networks left: {nets}");
    let vols = e.ok(&["volume", "ls", "-q"]);
    assert!(!vols.contains("demo_"), "volumes left: {vols}");
    assert!(e.until(5, || e.monitors("").is_empty()), "monitors left");
    let nft = String::from_utf8_lossy(&e.in_netns("nft", &["list", "ruleset"]).stdout).into_owned();
    assert!(!nft.contains(&port.to_string()), "nft rules left: {nft}");
}

#[test]
fn quai_compose_runs_a_project_and_down_leaves_nothing() {
    if !root_or_skip("quai_compose_runs_a_project_and_down_leaves_nothing") {
        return;
    }
    let e = Eng::new();
    let port = 18301;
    let dir = e.dir.path().join("proj");
    std::fs::create_dir_all(&dir).expect("dir");
    std::fs::write(
        dir.join("compose.yaml"),
        PROJECT.replace("PORT", &port.to_string()),
    )
    .expect("compose.yaml");
    std::fs::write(dir.join(".env"), "GREETING=hello\nSECRET_VALUE=s3cret\n").expect(".env");
    std::fs::write(dir.join("token.txt"), "file-token\n").expect("token");
    let p = Proj {
        e: &e,
        dir: dir.clone(),
    };

    // Up, waiting for health; the one-shot filled the volume before web started.
    let o = p.run(&["up", "-d", "--wait"]);
    assert!(o.status.success(), "{}", text(&o));
    let url = format!("http://127.0.0.1:{port}/");
    let got = e.in_netns("curl", &["-s", "-m", "2", &url]);
    assert_eq!(
        String::from_utf8_lossy(&got.stdout),
        "hello from quai compose\n"
    );
    // The profile's service was not started; names and labels are compose v2's.
    let names: Vec<String> = p.ids().into_iter().map(|(n, _)| n).collect();
    assert_eq!(
        names,
        ["demo-db-1", "demo-init-1", "demo-web-1", "demo-worker-1"]
    );
    assert_eq!(
        e.inspect(
            "demo-web-1",
            "index .Config.Labels \"com.docker.compose.service\""
        ),
        "web"
    );
    let hash = p.ok(&["config", "--hash", "web"]);
    assert!(
        hash.contains(&e.inspect(
            "demo-web-1",
            "index .Config.Labels \"com.docker.compose.config-hash\""
        )),
        "{hash}"
    );
    assert_eq!(e.inspect("demo-db-1", ".State.Health.Status"), "healthy");
    // A static address, limits, the restart policy, secrets, configs, a post_start hook.
    assert!(e
        .inspect("demo-db-1", "json .NetworkSettings.Networks")
        .contains("10.123.0.10"));
    assert_eq!(e.inspect("demo-web-1", ".HostConfig.Memory"), "67108864");
    assert_eq!(
        e.inspect("demo-web-1", ".HostConfig.RestartPolicy.Name"),
        "unless-stopped"
    );
    let sh = |c: &str| p.ok(&["exec", "-T", "web", "sh", "-c", c]);
    assert_eq!(sh("cat /run/secrets/token"), "file-token\n");
    assert_eq!(sh("cat /run/secrets/from_env"), "s3cret");
    assert_eq!(sh("cat /etc/motd"), "welcome to demo");
    assert_eq!(sh("cat /tmp/post_start"), "started\n");

    // ps, exec, logs, run, DNS by service name on a shared network, .env interpolation.
    let ps = p.ok(&["ps"]);
    assert!(ps.starts_with("NAME"), "{ps}");
    assert!(
        ps.contains("demo-web-1") && ps.contains(&format!("0.0.0.0:{port}->80/tcp")),
        "{ps}"
    );
    assert!(
        !ps.contains("demo-init-1"),
        "ps without -a shows running ones only: {ps}"
    );
    assert!(p.ok(&["ps", "-a"]).contains("Exited (0)"));
    assert_eq!(
        p.ok(&["exec", "-T", "web", "sh", "-c", "echo $GREETING"]),
        "hello\n"
    );
    let o = p.run(&["exec", "-T", "web", "sh", "-c", "exit 7"]);
    assert_eq!(o.status.code(), Some(7), "{}", text(&o));
    assert!(p
        .ok(&["exec", "-T", "web", "ping", "-c1", "-W2", "db"])
        .contains("1 packets received"));
    let o = p.run(&[
        "run",
        "--rm",
        "-T",
        "web",
        "sh",
        "-c",
        "wget -qO- http://web/ && exit 5",
    ]);
    assert_eq!(o.status.code(), Some(5), "{}", text(&o));
    assert!(String::from_utf8_lossy(&o.stdout).contains("hello from quai compose"));
    assert!(
        !e.ok(&["ps", "-a"]).contains("-run-"),
        "run --rm left its container"
    );
    p.ok(&[
        "exec",
        "-T",
        "db",
        "sh",
        "-c",
        "echo db-log-line > /proc/1/fd/1",
    ]);
    assert!(
        e.until(5, || p.ok(&["logs", "db"]).contains("db-1  | db-log-line")),
        "{}",
        p.ok(&["logs"])
    );
    let ls = e.ok(&["compose", "ls"]);
    assert!(ls.contains("demo") && ls.contains("running(3)"), "{ls}");

    // A second up changes nothing; a changed service alone is recreated.
    let before = p.ids();
    p.ok(&["up", "-d", "--wait"]);
    assert_eq!(p.ids(), before, "an unchanged project was recreated");
    std::fs::write(dir.join(".env"), "GREETING=changed\nSECRET_VALUE=s3cret\n").expect(".env");
    p.ok(&["up", "-d", "--wait"]);
    let after = p.ids();
    let changed: Vec<&String> = after
        .iter()
        .zip(&before)
        .filter(|(a, b)| a.1 != b.1)
        .map(|(a, _)| &a.0)
        .collect();
    assert_eq!(changed, ["demo-web-1"], "only web's configuration changed");
    assert_eq!(
        p.ok(&["exec", "-T", "web", "sh", "-c", "echo $GREETING"]),
        "changed\n"
    );

    // Scale, stop/start, a profile's service.
    p.ok(&["up", "-d", "--scale", "worker=2", "--no-deps", "worker"]);
    assert!(p.ok(&["ps", "--services"]).contains("worker"));
    assert_eq!(p.ok(&["ps", "-q", "worker"]).lines().count(), 2);
    p.ok(&["--profile", "debug", "up", "-d", "debug"]);
    assert!(p.ok(&["ps"]).contains("demo-debug-1"));
    p.ok(&["stop"]);
    assert_eq!(p.ok(&["ps", "-q"]), "");
    p.ok(&["start", "db"]);
    assert_eq!(p.ok(&["ps", "-q"]).lines().count(), 1);

    // down -v: nothing left.
    p.ok(&["--profile", "debug", "down", "-v", "-t", "1"]);
    assert_clean(&e, port);
}

#[test]
fn attached_up_prints_prefixed_logs_and_aborts_on_exit() {
    if !root_or_skip("attached_up_prints_prefixed_logs_and_aborts_on_exit") {
        return;
    }
    let e = Eng::new();
    let dir = e.dir.path().join("att");
    std::fs::create_dir_all(&dir).expect("dir");
    std::fs::write(
        dir.join("compose.yaml"),
        "name: demo\nservices:\n  a:\n    image: localbusybox\n    command: sh -c 'echo one; sleep 0.3; echo two; exit 3'\n  b:\n    image: localbusybox\n    init: true\n    command: sh -c 'echo bee; exec sleep 100'\n",
    )
    .expect("compose.yaml");
    let p = Proj { e: &e, dir };
    let o = p.run(&["up", "--abort-on-container-exit"]);
    assert_eq!(o.status.code(), Some(3), "{}", text(&o));
    let out = String::from_utf8_lossy(&o.stdout).into_owned();
    for want in [
        "a-1  | one",
        "a-1  | two",
        "b-1  | bee",
        "a-1 exited with code 3",
    ] {
        assert!(out.contains(want), "{want:?} in:\n{out}");
    }
    // b was stopped, not left running.
    assert_eq!(p.ok(&["ps", "-q"]), "");
    let o = p.run(&["up", "--exit-code-from", "a"]);
    assert_eq!(o.status.code(), Some(3), "{}", text(&o));
    // Old lines are not shown again by a later attached up.
    let again = String::from_utf8_lossy(&o.stdout).into_owned();
    assert_eq!(again.matches("a-1  | one").count(), 1, "{again}");
    p.ok(&["down", "-t", "1"]);
    assert_eq!(e.ok(&["ps", "-aq"]), "");
}

#[test]
fn bad_input_makes_nothing_and_a_failed_up_is_removed_by_down() {
    if !root_or_skip("bad_input_makes_nothing_and_a_failed_up_is_removed_by_down") {
        return;
    }
    let e = Eng::new();
    let dir = e.dir.path().join("bad");
    std::fs::create_dir_all(&dir).expect("dir");
    let p = Proj {
        e: &e,
        dir: dir.clone(),
    };
    let write = |s: &str| std::fs::write(dir.join("compose.yaml"), s).expect("write");
    let nothing = || {
        assert_eq!(e.ok(&["ps", "-aq"]), "");
        assert!(!e.ok(&["network", "ls"]).contains("demo_"));
        assert!(!e.ok(&["volume", "ls"]).contains("demo_"));
    };
    // An unknown key, a wrong type, a missing variable, a cycle: one line, nothing made.
    for (yaml, want) in [
        ("name: demo\nservices:\n  a:\n    imag: x\n", "additional properties 'imag' not allowed"),
        ("name: demo\nservices:\n  a:\n    image: x\n    ports: 5\n", "services.a.ports must be a array"),
        ("name: demo\nservices:\n  a:\n    image: ${NOPE:?set NOPE}\n", "required variable NOPE is missing a value: set NOPE"),
        ("name: demo\nservices:\n  a:\n    image: x\n    depends_on: [b]\n  b:\n    image: x\n    depends_on: [a]\n", "dependency cycle detected"),
        ("name: demo\nservices:\n  a:\n    image: x\n    env_file: nope.env\n", "nope.env not found"),
    ] {
        write(yaml);
        let o = p.run(&["up", "-d"]);
        assert_eq!(o.status.code(), Some(1), "{yaml}: {}", text(&o));
        let err = String::from_utf8_lossy(&o.stderr).into_owned();
        assert!(err.contains(want), "{yaml}: {err}");
        assert_eq!(err.trim().lines().count(), 1, "one line: {err}");
        nothing();
    }
    // A missing image: refused before anything is made (the registry is unreachable).
    write("name: demo\nservices:\n  a:\n    image: localbusybox\n    command: sleep 100\n  b:\n    image: 127.0.0.1:1/nosuch:1\nvolumes: {}\n");
    let o = p.run(&["up", "-d"]);
    assert_ne!(o.status.code(), Some(0));
    assert!(text(&o).contains("127.0.0.1:1/nosuch:1"), "{}", text(&o));
    nothing();
    // A port taken mid-way: a clear message, and down removes what was made.
    let port = 18302;
    write(&format!(
        "name: demo\nservices:\n  a:\n    image: localbusybox\n    init: true\n    command: sleep 100\n    ports: ['{port}:80']\n  b:\n    image: localbusybox\n    command: sleep 100\n    ports: ['{port}:81']\n    depends_on: [a]\n"
    ));
    let o = p.run(&["up", "-d"]);
    assert_ne!(o.status.code(), Some(0), "{}", text(&o));
    assert!(text(&o).contains(&port.to_string()), "{}", text(&o));
    p.ok(&["down", "-t", "1"]);
    assert_clean(&e, port);
}

#[test]
fn docker_compose_and_quai_compose_share_projects() {
    let Some((cli, e, svc)) = api_common::setup("docker_compose_and_quai_compose_share_projects")
    else {
        return;
    };
    if !Path::new("/usr/local/lib/docker/cli-plugins/docker-compose").exists() {
        eprintln!("SKIP docker_compose_and_quai_compose_share_projects: no compose v2 plugin (scripts/deps.sh installs it)");
        return;
    }
    let port = 18303;
    let dir = e.dir.path().join("shared");
    std::fs::create_dir_all(&dir).expect("dir");
    std::fs::write(
        dir.join("compose.yaml"),
        PROJECT.replace("PORT", &port.to_string()),
    )
    .expect("compose.yaml");
    std::fs::write(dir.join(".env"), "SECRET_VALUE=s3cret\n").expect(".env");
    std::fs::write(dir.join("token.txt"), "file-token\n").expect("token");
    let p = Proj {
        e: &e,
        dir: dir.clone(),
    };
    let docker = |args: &[&str]| -> Output {
        Command::new("nsenter")
            .arg(format!("--net=/run/netns/{}", e.netns))
            .arg(cli)
            .arg("compose")
            .args(args)
            .current_dir(&dir)
            .env("DOCKER_HOST", format!("unix://{}", svc.sock.display()))
            .env("DOCKER_CONFIG", e.dir.path().join("docker-config"))
            .stdin(Stdio::null())
            .output()
            .expect("docker compose")
    };
    // quai compose up; docker compose sees the project and finds nothing to recreate.
    p.ok(&["up", "-d", "--wait"]);
    let before = p.ids();
    let o = docker(&["ps", "--format", "{{.Name}}"]);
    assert!(o.status.success(), "{}", text(&o));
    let names = String::from_utf8_lossy(&o.stdout).into_owned();
    assert!(
        names.contains("demo-web-1") && names.contains("demo-db-1"),
        "{names}"
    );
    let o = docker(&["up", "-d", "--wait"]);
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(
        p.ids(),
        before,
        "docker compose recreated quai compose's containers"
    );
    // docker compose down removes quai compose's project.
    let o = docker(&["down", "-v", "-t", "1"]);
    assert!(o.status.success(), "{}", text(&o));
    assert_clean(&e, port);
    // And the other way round.
    let o = docker(&["up", "-d", "--wait"]);
    assert!(o.status.success(), "{}", text(&o));
    let before = p.ids();
    assert_eq!(before.len(), 4, "{before:?}");
    p.ok(&["up", "-d", "--wait"]);
    assert_eq!(
        p.ids(),
        before,
        "quai compose recreated docker compose's containers"
    );
    assert!(p.ok(&["ps"]).contains("demo-web-1"));
    p.ok(&["down", "-v", "-t", "1"]);
    assert_clean(&e, port);
}

#[test]
fn build_and_watch_sync() {
    if !root_or_skip("build_and_watch_sync") {
        return;
    }
    let e = Eng::new();
    let dir = e.dir.path().join("bw");
    std::fs::create_dir_all(dir.join("app")).expect("dir");
    std::fs::write(
        dir.join("app/Dockerfile"),
        "FROM localbusybox\nARG MSG=none\nRUN echo \"built $MSG\" > /msg\nCOPY hello.txt /hello.txt\nCMD [\"sh\", \"-c\", \"cat /msg; exec sleep 100\"]\n",
    )
    .expect("Dockerfile");
    std::fs::write(dir.join("app/hello.txt"), "first\n").expect("hello");
    std::fs::write(
        dir.join("compose.yaml"),
        "name: demo\nservices:\n  app:\n    build:\n      context: ./app\n      args: {MSG: by-compose}\n    init: true\n    develop:\n      watch:\n        - path: ./app/hello.txt\n          target: /hello.txt\n          action: sync\n",
    )
    .expect("compose.yaml");
    let p = Proj {
        e: &e,
        dir: dir.clone(),
    };
    p.ok(&["up", "-d", "--wait"]);
    // The image is PROJECT-SERVICE, built with the args; the container runs it.
    assert!(e
        .ok(&["images", "--format", "{{.Repository}}"])
        .contains("demo-app"));
    assert!(e.until(5, || p.ok(&["logs", "app"]).contains("built by-compose")));
    assert_eq!(p.ok(&["exec", "-T", "app", "cat", "/hello.txt"]), "first\n");
    // watch copies a changed file into the running container.
    let mut w = e
        .cmd(&["compose", "watch", "--no-up"])
        .current_dir(&dir)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("watch");
    std::thread::sleep(std::time::Duration::from_millis(700));
    std::fs::write(dir.join("app/hello.txt"), "second\n").expect("hello");
    let synced = e.until(10, || {
        p.ok(&["exec", "-T", "app", "cat", "/hello.txt"]) == "second\n"
    });
    let _ = w.kill();
    let _ = w.wait();
    assert!(synced, "watch did not sync the file");
    // down --rmi local removes the built image.
    p.ok(&["down", "--rmi", "local", "-t", "1"]);
    assert!(!e
        .ok(&["images", "--format", "{{.Repository}}"])
        .contains("demo-app"));
    assert_eq!(e.ok(&["ps", "-aq"]), "");
}

#[test]
fn recreation_keeps_anonymous_volumes_and_run_waits_for_dependencies() {
    if !root_or_skip("recreation_keeps_anonymous_volumes_and_run_waits_for_dependencies") {
        return;
    }
    let e = Eng::new();
    let dir = e.dir.path().join("rec");
    std::fs::create_dir_all(&dir).expect("dir");
    let file = |v: &str| {
        format!(
            "name: demo\nservices:\n  data:\n    image: localbusybox\n    init: true\n    command: sleep 1000\n    volumes: [/keep]\n    environment: {{V: '{v}'}}\n  slow:\n    image: localbusybox\n    init: true\n    command: sh -c 'sleep 1; touch /tmp/ready; exec sleep 1000'\n    healthcheck:\n      test: [CMD, test, -f, /tmp/ready]\n      interval: 100ms\n      start_period: 10s\n  client:\n    image: localbusybox\n    profiles: [tools]\n    depends_on:\n      slow: {{condition: service_healthy}}\n"
        )
    };
    std::fs::write(dir.join("compose.yaml"), file("1")).expect("compose.yaml");
    let p = Proj {
        e: &e,
        dir: dir.clone(),
    };
    p.ok(&["up", "-d", "data"]);
    p.ok(&["exec", "-T", "data", "sh", "-c", "echo kept > /keep/f"]);
    let before = p.ids();
    // A changed configuration: a new container, the old one's anonymous volume.
    std::fs::write(dir.join("compose.yaml"), file("2")).expect("compose.yaml");
    p.ok(&["up", "-d", "data"]);
    assert_ne!(p.ids(), before, "not recreated");
    assert_eq!(p.ok(&["exec", "-T", "data", "cat", "/keep/f"]), "kept\n");
    // -V: a fresh one.
    std::fs::write(dir.join("compose.yaml"), file("3")).expect("compose.yaml");
    p.ok(&["up", "-d", "-V", "data"]);
    let o = p.run(&["exec", "-T", "data", "cat", "/keep/f"]);
    assert_ne!(o.status.code(), Some(0), "renewed volume kept the file");
    // run starts the dependency and waits for it to be healthy.
    let o = p.run(&[
        "--profile",
        "tools",
        "run",
        "--rm",
        "-T",
        "client",
        "echo",
        "ran",
    ]);
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(String::from_utf8_lossy(&o.stdout), "ran\n");
    assert_eq!(e.inspect("demo-slow-1", ".State.Health.Status"), "healthy");
    // down -v leaves no volume, anonymous ones included.
    p.ok(&["down", "-v", "-t", "1"]);
    assert_eq!(e.ok(&["ps", "-aq"]), "");
    assert_eq!(e.ok(&["volume", "ls", "-q"]), "", "volumes left");
}
