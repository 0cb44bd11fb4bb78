//! End-to-end: `quai build` of multi-stage Dockerfiles in a private engine, the cache,
//! `.dockerignore`, bad input and hostile contexts.

mod common;
mod engine_common;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Stdio;

use engine_common::*;

/// A context directory with these files (parents made).
fn context(e: &Eng, name: &str, files: &[(&str, &str)]) -> PathBuf {
    let dir = e.dir.path().join(name);
    for (p, text) in files {
        let f = dir.join(p);
        std::fs::create_dir_all(f.parent().expect("parent")).expect("mkdir");
        std::fs::write(&f, text).expect("write");
    }
    dir
}

fn build(e: &Eng, args: &[&str], ctx: &Path) -> std::process::Output {
    let mut a: Vec<&str> = vec!["build"];
    a.extend_from_slice(args);
    let c = ctx.to_str().expect("utf-8");
    a.push(c);
    e.q(&a)
}

fn build_ok(e: &Eng, args: &[&str], ctx: &Path) -> String {
    let o = build(e, args, ctx);
    assert!(o.status.success(), "build {args:?} failed: {}", text(&o));
    String::from_utf8_lossy(&o.stderr).into_owned()
}

const DEMO: &str = r#"# syntax=docker/dockerfile:1
ARG BASE=localbusybox
FROM $BASE AS builder
ARG VERSION=1.0
ENV APP_HOME=/srv/app
WORKDIR $APP_HOME
COPY src/ ./src/
COPY *.txt ./
RUN echo "version $VERSION" > version && cat src/main.sh > run.sh && chmod +x run.sh
RUN <<EOF
echo one > heredoc.txt
echo two >> heredoc.txt
EOF

FROM localbusybox AS unused
RUN exit 1

FROM localbusybox AS final
LABEL org.opencontainers.image.title="demo app"
COPY --from=builder /srv/app /app
COPY --chown=1000:1000 --chmod=go-rwx,g+r notes.txt /data/
USER 1000
WORKDIR /app
EXPOSE 8080/tcp 9000-9001
ENTRYPOINT ["/bin/sh", "/app/run.sh"]
CMD ["default-arg"]
"#;

fn demo_context(e: &Eng) -> PathBuf {
    context(
        e,
        "demo",
        &[
            ("Dockerfile", DEMO),
            ("src/main.sh", "echo \"main $1 $(cat /app/version)\"\n"),
            ("notes.txt", "notes\n"),
            ("extra.txt", "extra\n"),
            ("secret.log", "do not ship\n"),
            (".dockerignore", "*.log\n"),
        ],
    )
}

#[test]
fn multi_stage_build_runs_and_caches() {
    if !root_or_skip("multi_stage_build_runs_and_caches") {
        return;
    }
    let e = Eng::new();
    let ctx = demo_context(&e);
    let progress = build_ok(&e, &["--build-arg", "VERSION=2.5", "-t", "demo:1"], &ctx);
    assert!(
        progress.contains("[builder 2/6] WORKDIR /srv/app"),
        "{progress}"
    );
    assert!(
        progress.contains("[final 2/4] COPY --from=builder /srv/app /app"),
        "{progress}"
    );
    assert!(
        !progress.contains("exit 1"),
        "the unused stage ran: {progress}"
    );
    assert!(
        progress.contains("naming to docker.io/library/demo:1 done"),
        "{progress}"
    );
    // ENTRYPOINT and CMD, ARG values baked in by RUN, USER, --chown/--chmod, heredocs,
    // .dockerignore.
    assert_eq!(
        e.ok(&["run", "--rm", "demo:1"]),
        "main default-arg version 2.5"
    );
    assert_eq!(
        e.ok(&["run", "--rm", "demo:1", "other"]),
        "main other version 2.5"
    );
    let look = e.ok(&[
        "run",
        "--rm",
        "--entrypoint",
        "sh",
        "demo:1",
        "-c",
        "stat -c '%u:%g %a' /data/notes.txt; id -u; pwd; ls /app; cat /app/heredoc.txt; \
         test -e /app/secret.log || echo no-log",
    ]);
    assert_eq!(
        look,
        "1000:1000 640\n1000\n/app\nextra.txt\nheredoc.txt\nnotes.txt\nrun.sh\nsrc\nversion\none\ntwo\nno-log"
    );
    let cfg: serde_json::Value =
        serde_json::from_str(&e.ok(&["image", "inspect", "demo:1"])).expect("json");
    let c = &cfg[0]["Config"];
    assert_eq!(c["Labels"]["org.opencontainers.image.title"], "demo app");
    assert_eq!(c["User"], "1000");
    assert_eq!(c["WorkingDir"], "/app");
    assert_eq!(
        c["Entrypoint"],
        serde_json::json!(["/bin/sh", "/app/run.sh"])
    );
    assert_eq!(c["Cmd"], serde_json::json!(["default-arg"]));
    for p in ["8080/tcp", "9000/tcp", "9001/tcp"] {
        assert!(c["ExposedPorts"].get(p).is_some(), "{c}");
    }
    let hist = e.ok(&["history", "--no-trunc", "demo:1"]);
    assert!(hist.contains("COPY /srv/app /app # buildkit"), "{hist}");
    assert!(hist.contains("USER 1000"), "{hist}");

    // A second build with nothing changed takes every step from the cache and gives the
    // same image.
    let id1 = e.ok(&[
        "build",
        "-q",
        "--build-arg",
        "VERSION=2.5",
        "-t",
        "demo:1",
        ctx.to_str().expect("utf-8"),
    ]);
    let again = build_ok(&e, &["--build-arg", "VERSION=2.5", "-t", "demo:1"], &ctx);
    // Every step, and the two FROMs of a base image in the store (BuildKit's words).
    assert_eq!(again.matches("CACHED").count(), 10, "{again}");
    let id2 = e.ok(&[
        "build",
        "-q",
        "--build-arg",
        "VERSION=2.5",
        "-t",
        "demo:1",
        ctx.to_str().expect("utf-8"),
    ]);
    assert_eq!(id1, id2);
    // Another build argument: the steps after it are built again.
    let other = build_ok(&e, &["--build-arg", "VERSION=3", "-t", "demo:3"], &ctx);
    assert!(other.matches("CACHED").count() < 10, "{other}");
    assert_eq!(
        e.ok(&["run", "--rm", "demo:3"]),
        "main default-arg version 3"
    );
    // One file edited: the COPY that reads it and what follows run again, not the rest.
    std::fs::write(ctx.join("src/main.sh"), "echo \"edited $1\"\n").expect("edit");
    let edited = build_ok(&e, &["--build-arg", "VERSION=2.5", "-t", "demo:1"], &ctx);
    let cached_lines: Vec<&str> = edited.lines().filter(|l| l.ends_with("CACHED")).collect();
    assert_eq!(
        cached_lines.len(),
        3,
        "only the FROMs and WORKDIR stay cached: {edited}"
    );
    assert_eq!(e.ok(&["run", "--rm", "demo:1"]), "edited default-arg");
    // A file the ignore rules leave out changes nothing.
    std::fs::write(ctx.join("secret.log"), "changed\n").expect("edit");
    let ignored = build_ok(&e, &["--build-arg", "VERSION=2.5", "-t", "demo:1"], &ctx);
    assert_eq!(ignored.matches("CACHED").count(), 10, "{ignored}");
    // --no-cache builds everything again.
    let fresh = build_ok(
        &e,
        &["--no-cache", "--build-arg", "VERSION=2.5", "-t", "demo:1"],
        &ctx,
    );
    assert_eq!(
        fresh.matches("CACHED").count(),
        2,
        "only the FROMs: {fresh}"
    );
    // --target stops at a stage.
    build_ok(&e, &["--target", "builder", "-t", "demo:builder"], &ctx);
    assert_eq!(
        e.ok(&[
            "run",
            "--rm",
            "demo:builder",
            "sh",
            "-c",
            "pwd; cat version; echo $APP_HOME"
        ]),
        "/srv/app\nversion 1.0\n/srv/app"
    );
    // Step images are not listed; the cache is pruned on request.
    let images = e.ok(&["images", "--format", "json"]);
    let named = images
        .lines()
        // (`<none>` as Go's JSON writes it)
        .filter(|l| !l.contains("\"Repository\":\"\\u003cnone\\u003e\""))
        .count();
    assert_eq!(named, 4, "{images}");
    // The two replaced results of demo:1 are dangling, as in Docker; the steps' own
    // images are not listed.
    assert_eq!(images.lines().count(), 6, "{images}");
    let du = e.ok(&["builder", "du"]);
    assert!(du.contains("Reclaimable"), "{du}");
    e.ok(&["builder", "prune", "-a", "-f"]);
    let after = build_ok(&e, &["--build-arg", "VERSION=2.5", "-t", "demo:1"], &ctx);
    assert_eq!(
        after.matches("CACHED").count(),
        2,
        "only the FROMs: {after}"
    );
    // No build container is left.
    assert_eq!(e.ok(&["ps", "-a", "-q"]), "");
}

#[test]
fn bad_dockerfiles_and_failing_steps_are_one_clear_error() {
    if !root_or_skip("bad_dockerfiles_and_failing_steps_are_one_clear_error") {
        return;
    }
    let e = Eng::new();
    let images_before = e.ok(&["images", "-q"]);
    let cases: &[(&str, &str, &[&str])] = &[
        (
            "missing",
            "FROM localbusybox\nCOPY nothere /x\n",
            &["nothere", "not found"],
        ),
        (
            "runfail",
            "FROM localbusybox\nRUN echo failing; exit 3\n",
            &["did not complete successfully: exit code: 3"],
        ),
        (
            "unknown",
            "FROM localbusybox\nFOO bar\n",
            &["line 2", "unknown instruction: FOO"],
        ),
        (
            "nofrom",
            "RUN true\n",
            &["no build stage in current context"],
        ),
        (
            "noimage",
            "FROM nosuchimage-here:1\n",
            &["nosuchimage-here"],
        ),
        (
            "manysrc",
            "FROM localbusybox\nCOPY a b /dest\n",
            &["the destination must be a directory and end with a /"],
        ),
    ];
    for (name, df, want) in cases {
        let ctx = context(&e, name, &[("Dockerfile", df), ("a", "a"), ("b", "b")]);
        let o = build(&e, &["-t", "bad:1"], &ctx);
        assert_eq!(o.status.code(), Some(1), "{name}: {}", text(&o));
        let err = String::from_utf8_lossy(&o.stderr);
        let last = err.lines().last().unwrap_or_default();
        for w in *want {
            assert!(
                last.contains(w),
                "{name}: want {w:?} in the last line: {err}"
            );
        }
    }
    assert_eq!(e.ok(&["images", "-q"]), images_before);
    assert_eq!(
        e.ok(&["ps", "-a", "-q"]),
        "",
        "a failed build left a container"
    );
    // The output shows the failing step's output and marks it.
    let ctx = e.dir.path().join("runfail");
    let o = build(&e, &["--progress", "plain"], &ctx);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains(" failing"), "{err}");
    assert!(err.contains("ERROR: process"), "{err}");
    // BuildKit's box: the step, its last output, the Dockerfile around it.
    assert!(
        err.contains("------\n > [2/2] RUN echo failing; exit 3:\n"),
        "{err}"
    );
    assert!(
        err.contains("Dockerfile:2\n--------------------\n"),
        "{err}"
    );
    assert!(err.contains("   2 | >>> RUN echo failing; exit 3"), "{err}");
}

#[test]
fn hostile_contexts_and_archives_stay_inside() {
    if !root_or_skip("hostile_contexts_and_archives_stay_inside") {
        return;
    }
    let e = Eng::new();
    let outside = e.dir.path().join("outside.txt");
    std::fs::write(&outside, "HOST SECRET\n").expect("write");
    let ctx = context(&e, "hostile", &[("dir/ok.txt", "ok\n")]);
    std::os::unix::fs::symlink(&outside, ctx.join("link")).expect("symlink");
    std::os::unix::fs::symlink(&outside, ctx.join("dir/inner")).expect("symlink");
    std::os::unix::fs::symlink("../../..", ctx.join("up")).expect("symlink");
    // A symlink named as the source resolves inside the context: not found there.
    std::fs::write(ctx.join("Dockerfile"), "FROM localbusybox\nCOPY link /x\n").expect("w");
    let o = build(&e, &["-t", "h:1"], &ctx);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(text(&o).contains("not found"), "{}", text(&o));
    std::fs::write(
        ctx.join("Dockerfile"),
        format!("FROM localbusybox\nCOPY up{} /x\n", outside.display()),
    )
    .expect("w");
    let o = build(&e, &["-t", "h:1"], &ctx);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    // Inside a copied directory a symlink stays a link, pointing at nothing in the image.
    std::fs::write(ctx.join("Dockerfile"), "FROM localbusybox\nCOPY dir /d\n").expect("w");
    build_ok(&e, &["-t", "h:2"], &ctx);
    let out = e.ok(&[
        "run",
        "--rm",
        "h:2",
        "sh",
        "-c",
        "cat /d/ok.txt; readlink /d/inner; cat /d/inner 2>&1 || true",
    ]);
    assert!(out.starts_with("ok\n"), "{out}");
    assert!(!out.contains("HOST SECRET"), "{out}");
    // ADD unpacks a local archive; one whose entries climb out is refused.
    let good = e.dir.path().join("good.tar.gz");
    let gz = std::fs::File::create(&good).expect("create");
    let mut b = tar::Builder::new(flate2::write::GzEncoder::new(
        gz,
        flate2::Compression::fast(),
    ));
    let mut h = tar::Header::new_gnu();
    h.set_size(6);
    h.set_mode(0o644);
    h.set_uid(0);
    h.set_gid(0);
    b.append_data(&mut h, "pkg/file.txt", &b"inside"[..])
        .expect("append");
    b.into_inner().expect("tar").finish().expect("gz");
    std::fs::copy(&good, ctx.join("good.tar.gz")).expect("copy");
    let mut bad = Vec::new();
    {
        let mut raw = tar::Header::new_old();
        raw.as_old_mut().name[..13].copy_from_slice(b"../escape.txt");
        raw.set_size(3);
        raw.set_mode(0o644);
        raw.set_uid(0);
        raw.set_gid(0);
        raw.set_cksum();
        bad.write_all(raw.as_bytes()).expect("w");
        bad.write_all(b"bad").expect("w");
        bad.write_all(&[0u8; 509]).expect("w");
        bad.write_all(&[0u8; 1024]).expect("w");
    }
    std::fs::write(ctx.join("bad.tar"), &bad).expect("w");
    // xz and bzip2 too, made by the system's tar.
    let pkg = e.dir.path().join("pkgsrc");
    std::fs::create_dir_all(pkg.join("pkg")).expect("mkdir");
    std::fs::write(pkg.join("pkg/file.txt"), "inside").expect("w");
    for (flag, name) in [("-cJf", "good.tar.xz"), ("-cjf", "good.tar.bz2")] {
        let ok = std::process::Command::new("tar")
            .arg("-C")
            .arg(&pkg)
            .arg(flag)
            .arg(ctx.join(name))
            .arg("pkg")
            .status()
            .expect("tar");
        assert!(ok.success());
    }
    std::fs::write(
        ctx.join("Dockerfile"),
        "FROM localbusybox\nADD good.tar.gz /opt/\nADD good.tar.xz /xz/\nADD good.tar.bz2 /bz/\n",
    )
    .expect("w");
    build_ok(&e, &["-t", "h:3"], &ctx);
    assert_eq!(
        e.ok(&[
            "run",
            "--rm",
            "h:3",
            "cat",
            "/opt/pkg/file.txt",
            "/xz/pkg/file.txt",
            "/bz/pkg/file.txt"
        ]),
        "insideinsideinside"
    );
    std::fs::write(
        ctx.join("Dockerfile"),
        "FROM localbusybox\nADD bad.tar /opt/\n",
    )
    .expect("w");
    let o = build(&e, &["-t", "h:4"], &ctx);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(
        text(&o).contains("would leave the destination"),
        "{}",
        text(&o)
    );
    assert_eq!(e.ok(&["ps", "-a", "-q"]), "");
}

#[test]
fn dockerfile_and_context_on_stdin_and_check() {
    if !root_or_skip("dockerfile_and_context_on_stdin_and_check") {
        return;
    }
    let e = Eng::new();
    let ctx = context(&e, "stdin", &[("hello.txt", "hello\n")]);
    // -f - : the Dockerfile on stdin, the context a directory.
    let mut c = e.cmd(&[
        "build",
        "-q",
        "-t",
        "s:1",
        "-f",
        "-",
        ctx.to_str().expect("utf-8"),
    ]);
    let mut child = c
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(b"FROM localbusybox\nCOPY hello.txt /\nCMD [\"cat\", \"/hello.txt\"]\n")
        .expect("write");
    let o = child.wait_with_output().expect("wait");
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(e.ok(&["run", "--rm", "s:1"]), "hello");
    // COPY --exclude: Docker's pattern rules, relative to the source.
    std::fs::create_dir_all(ctx.join("skip")).expect("mkdir");
    std::fs::write(ctx.join("skip/x"), "x").expect("w");
    std::fs::write(ctx.join("debug.log"), "log").expect("w");
    std::fs::write(
        ctx.join("Dockerfile"),
        "FROM localbusybox\nCOPY --exclude=*.log --exclude=skip . /all/\n",
    )
    .expect("w");
    build_ok(&e, &["-t", "s:x"], &ctx);
    // `image build` is `build`.
    let id = e.ok(&[
        "image",
        "build",
        "-q",
        "-t",
        "s:ib",
        ctx.to_str().expect("utf-8"),
    ]);
    assert!(id.starts_with("sha256:"), "{id}");
    // COPY --parents keeps each source's path under the destination.
    std::fs::write(
        ctx.join("Dockerfile.parents"),
        "FROM localbusybox\nCOPY --parents skip/x ./hello.txt /p/\n",
    )
    .expect("w");
    let f = ctx.join("Dockerfile.parents");
    build_ok(&e, &["-f", f.to_str().expect("utf-8"), "-t", "s:p"], &ctx);
    assert_eq!(
        e.ok(&["run", "--rm", "s:p", "sh", "-c", "find /p -type f | sort"]),
        "/p/hello.txt\n/p/skip/x"
    );
    assert_eq!(
        e.ok(&["run", "--rm", "s:x", "ls", "/all"]),
        "Dockerfile\nhello.txt"
    );
    // - : the context as a tar on stdin.
    std::fs::write(
        ctx.join("Dockerfile"),
        "FROM localbusybox\nCOPY hello.txt /from-tar.txt\n",
    )
    .expect("w");
    let tar = std::process::Command::new("tar")
        .arg("-C")
        .arg(&ctx)
        .args(["-cf", "-", "."])
        .output()
        .expect("tar");
    let mut c = e.cmd(&["build", "-q", "-t", "s:2", "-"]);
    let mut child = c
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(&tar.stdout)
        .expect("write");
    let o = child.wait_with_output().expect("wait");
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(
        e.ok(&["run", "--rm", "s:2", "cat", "/from-tar.txt"]),
        "hello"
    );
    // --check: warnings printed as Docker prints them, nothing built, exit 0.
    std::fs::write(
        ctx.join("Dockerfile"),
        "FROM localbusybox as base\nMAINTAINER me\nCMD echo hi\n",
    )
    .expect("w");
    let o = build(&e, &["--check"], &ctx);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let out = text(&o);
    for rule in [
        "FromAsCasing",
        "MaintainerDeprecated",
        "JSONArgsRecommended",
    ] {
        assert!(out.contains(rule), "{rule}: {out}");
    }
}

#[test]
fn run_mounts_caches_and_secrets() {
    if !root_or_skip("run_mounts_caches_and_secrets") {
        return;
    }
    let e = Eng::new();
    let secret = e.dir.path().join("token");
    std::fs::write(&secret, "s3cr3t-value").expect("write");
    let df = r#"FROM localbusybox AS tools
RUN mkdir -p /opt/tool && echo tool-data > /opt/tool/data

FROM localbusybox
WORKDIR /work
RUN --mount=type=bind,source=conf,target=/mnt/conf cat /mnt/conf/app.conf > copied.conf
RUN --mount=type=bind,from=tools,source=/opt/tool,target=/mnt/tool cat /mnt/tool/data > from-stage
RUN --mount=type=cache,target=/var/cache/thing sh -c 'echo run >> /var/cache/thing/count; wc -l < /var/cache/thing/count > cache-count'
RUN --mount=type=tmpfs,target=/scratch sh -c 'echo temp > /scratch/x && cat /scratch/x > tmpfs-saw'
RUN --mount=type=secret,id=token,required=true sh -c 'cat /run/secrets/token | wc -c > secret-len'
RUN --mount=type=secret,id=token,env=TOKEN sh -c 'test "${#TOKEN}" = 12 && echo env-ok > secret-env'
"#;
    let ctx = context(
        &e,
        "mounts",
        &[("Dockerfile", df), ("conf/app.conf", "setting=1\n")],
    );
    let secret_flag = format!("id=token,src={}", secret.display());
    build_ok(&e, &["--secret", &secret_flag, "-t", "m:1"], &ctx);
    let out = e.ok(&[
        "run",
        "--rm",
        "m:1",
        "sh",
        "-c",
        "cat copied.conf from-stage cache-count tmpfs-saw secret-len secret-env; \
         ls /mnt /scratch /run/secrets /var/cache/thing 2>&1 | grep -v 'No such' ; true",
    ]);
    assert_eq!(out, "setting=1\ntool-data\n1\ntemp\n12\nenv-ok", "{out}");
    // The secret is in no layer and no history.
    let tar = e.dir.path().join("m.tar");
    e.ok(&["save", "-o", tar.to_str().expect("utf-8"), "m:1"]);
    let bytes = std::fs::read(&tar).expect("read");
    assert!(
        !bytes.windows(12).any(|w| w == b"s3cr3t-value"),
        "the secret is in the image"
    );
    // The RUN layers were kept as directories; saving wrote their blobs from them, and
    // another engine runs what was saved.
    let other = Eng::new();
    other.ok(&["load", "-q", "-i", tar.to_str().expect("utf-8")]);
    assert_eq!(
        other.ok(&["run", "--rm", "m:1", "cat", "copied.conf", "from-stage"]),
        "setting=1\ntool-data"
    );
    // The cache mount keeps its content for the next build (the step itself reruns
    // with --no-cache).
    build_ok(
        &e,
        &["--no-cache", "--secret", &secret_flag, "-t", "m:2"],
        &ctx,
    );
    assert_eq!(e.ok(&["run", "--rm", "m:2", "cat", "cache-count"]), "2");
    // A required secret that was not given fails the step with one line.
    let o = build(&e, &["--no-cache", "-t", "m:3"], &ctx);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(text(&o).contains("secret token: not found"), "{}", text(&o));
    assert_eq!(e.ok(&["ps", "-a", "-q"]), "");
}

#[test]
fn add_from_a_url_and_outputs() {
    if !root_or_skip("add_from_a_url_and_outputs") {
        return;
    }
    let e = Eng::new();
    // A web server in the test's network namespace.
    let www = e.dir.path().join("www");
    std::fs::create_dir_all(&www).expect("mkdir");
    std::fs::write(www.join("tool.sh"), "echo from the web\n").expect("w");
    let mut server = std::process::Command::new("nsenter")
        .arg(format!("--net=/run/netns/{}", e.netns))
        .args([
            "python3",
            "-m",
            "http.server",
            "18931",
            "--bind",
            "127.0.0.1",
            "--directory",
        ])
        .arg(&www)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("http server");
    struct Kill<'a>(&'a mut std::process::Child);
    impl Drop for Kill<'_> {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let _guard = Kill(&mut server);
    assert!(e.until(10, || {
        e.in_netns("sh", &["-c", "exec 3<>/dev/tcp/127.0.0.1/18931"])
            .status
            .success()
            || e.in_netns(
                "python3",
                &[
                    "-c",
                    "import socket; socket.create_connection(('127.0.0.1', 18931))",
                ],
            )
            .status
            .success()
    }));
    let sum = {
        use std::process::Command;
        let o = Command::new("sha256sum")
            .arg(www.join("tool.sh"))
            .output()
            .expect("sha256sum");
        String::from_utf8_lossy(&o.stdout)
            .split_whitespace()
            .next()
            .expect("sum")
            .to_string()
    };
    let df = format!(
        "FROM localbusybox\nADD http://127.0.0.1:18931/tool.sh /opt/\nADD --checksum=sha256:{sum} http://127.0.0.1:18931/tool.sh /opt/checked.sh\nRUN sh /opt/tool.sh > /opt/out\n"
    );
    let ctx = context(&e, "url", &[("Dockerfile", &df)]);
    build_ok(&e, &["-t", "u:1"], &ctx);
    assert_eq!(
        e.ok(&[
            "run",
            "--rm",
            "u:1",
            "sh",
            "-c",
            "cat /opt/out; stat -c %a /opt/tool.sh /opt/checked.sh"
        ]),
        "from the web\n600\n600"
    );
    // A wrong checksum fails the build.
    let bad = df.replace(&sum, &"0".repeat(64));
    std::fs::write(ctx.join("Dockerfile"), bad).expect("w");
    let o = build(&e, &["--no-cache", "-t", "u:2"], &ctx);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(text(&o).contains("digest mismatch"), "{}", text(&o));
    // ADD of a git repository (served over dumb http here): its files, without .git.
    let src = e.dir.path().join("gitsrc");
    std::fs::create_dir_all(src.join("sub")).expect("mkdir");
    std::fs::write(src.join("sub/README"), "from git\n").expect("w");
    let sh = |script: &str| {
        let ok = std::process::Command::new("sh")
            .args(["-c", script])
            .env("GIT_AUTHOR_NAME", "t")
            .env("GIT_AUTHOR_EMAIL", "t@t")
            .env("GIT_COMMITTER_NAME", "t")
            .env("GIT_COMMITTER_EMAIL", "t@t")
            .status()
            .expect("sh");
        assert!(ok.success(), "{script}");
    };
    sh(&format!(
        "cd {src} && git init -q -b main && git add -A && git commit -q -m one && git tag v1 && \
         git clone -q --bare {src} {www}/repo.git && cd {www}/repo.git && git update-server-info",
        src = src.display(),
        www = www.display()
    ));
    std::fs::write(
        ctx.join("Dockerfile"),
        "FROM localbusybox\nADD http://127.0.0.1:18931/repo.git#v1 /g/\nADD http://127.0.0.1:18931/repo.git#main:sub /s/\n",
    )
    .expect("w");
    build_ok(&e, &["-t", "u:git"], &ctx);
    assert_eq!(
        e.ok(&[
            "run",
            "--rm",
            "u:git",
            "sh",
            "-c",
            "cat /g/sub/README /s/README; test -e /g/.git || echo no-git-dir"
        ]),
        "from git\nfrom git\nno-git-dir"
    );
    // --output: the files into a directory, or as a tar.
    std::fs::write(ctx.join("Dockerfile"), &df).expect("w");
    let out_dir = e.dir.path().join("out-dir");
    let out_tar = e.dir.path().join("out.tar");
    let dir_flag = format!("type=local,dest={}", out_dir.display());
    let tar_flag = format!("type=tar,dest={}", out_tar.display());
    build_ok(&e, &["-o", &dir_flag, "-o", &tar_flag], &ctx);
    assert_eq!(
        std::fs::read_to_string(out_dir.join("opt/out")).expect("read"),
        "from the web\n"
    );
    assert!(out_dir.join("bin/busybox").exists());
    let listing = std::process::Command::new("tar")
        .arg("-tf")
        .arg(&out_tar)
        .output()
        .expect("tar");
    assert!(String::from_utf8_lossy(&listing.stdout)
        .lines()
        .any(|l| l == "opt/out"));
}

#[test]
fn a_killed_build_leaves_nothing_the_next_build_trips_on() {
    if !root_or_skip("a_killed_build_leaves_nothing_the_next_build_trips_on") {
        return;
    }
    let e = Eng::new();
    let ctx = context(
        &e,
        "killed",
        &[(
            "Dockerfile",
            "FROM localbusybox\nRUN echo started; sleep 30\nRUN echo after > /after\n",
        )],
    );
    let mut child = e
        .cmd(&[
            "build",
            "--progress",
            "plain",
            "-t",
            "k:1",
            ctx.to_str().expect("utf-8"),
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    // Wait for the RUN to have started, then kill the builder outright.
    let stderr = child.stderr.take().expect("stderr");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        use std::io::BufRead;
        for line in std::io::BufReader::new(stderr)
            .lines()
            .map_while(Result::ok)
        {
            if line.contains("started") {
                let _ = tx.send(());
            }
        }
    });
    rx.recv_timeout(std::time::Duration::from_secs(20))
        .expect("the RUN started");
    kill9(child.id() as i32);
    let _ = child.wait();
    // Its step container is still there (its monitor runs on); the next build removes
    // it, and builds.
    std::fs::write(
        ctx.join("Dockerfile"),
        "FROM localbusybox\nRUN echo quick > /quick\n",
    )
    .expect("w");
    build_ok(&e, &["-t", "k:2"], &ctx);
    assert_eq!(e.ok(&["run", "--rm", "k:2", "cat", "/quick"]), "quick");
    assert!(
        e.until(10, || e.ok(&["ps", "-a", "-q"]).is_empty()),
        "{}",
        e.ok(&["ps", "-a"])
    );
    assert!(!e.ok(&["images"]).contains("k:1"));
}

#[test]
fn independent_stages_build_at_the_same_time() {
    if !root_or_skip("independent_stages_build_at_the_same_time") {
        return;
    }
    let e = Eng::new();
    // Each stage leaves a mark in a shared cache mount and waits for the other's: only
    // stages that run at the same time both finish.
    let wait = |me: &str, other: &str| {
        format!(
            "RUN --mount=type=cache,id=meet-$RUN_ID,target=/meet sh -c 'touch /meet/{me}; i=0; \
             while [ ! -e /meet/{other} ] && [ $i -lt 200 ]; do sleep 0.05; i=$((i+1)); done; \
             test -e /meet/{other} && echo {me} > /{me}'"
        )
    };
    let df = format!(
        "FROM localbusybox AS a\nARG RUN_ID\n{}\n\nFROM localbusybox AS b\nARG RUN_ID\n{}\n\n\
         FROM localbusybox\nCOPY --from=a /a /a\nCOPY --from=b /b /b\n",
        wait("a", "b"),
        wait("b", "a")
    );
    let ctx = context(&e, "parallel", &[("Dockerfile", &df)]);
    let run_id = format!("{}", std::process::id());
    let arg = format!("RUN_ID={run_id}");
    build_ok(&e, &["--build-arg", &arg, "-t", "par:1"], &ctx);
    assert_eq!(e.ok(&["run", "--rm", "par:1", "cat", "/a", "/b"]), "a\nb");
}

#[test]
fn a_cache_exported_by_one_engine_serves_another() {
    if !root_or_skip("a_cache_exported_by_one_engine_serves_another") {
        return;
    }
    let first = Eng::new();
    let ctx = demo_context(&first);
    let cache = first.dir.path().join("cache");
    let to = format!("type=local,dest={},mode=max", cache.display());
    let id1 = first.ok(&[
        "build",
        "-q",
        "--cache-to",
        &to,
        "-t",
        "demo:1",
        ctx.to_str().expect("utf-8"),
    ]);
    assert!(cache.join("index.json").exists());
    // Another engine (its own root) with the same base image (as a registry would give
    // it): every step comes from the imported cache, and the image is the same one.
    let second = Eng::new();
    let base = first.dir.path().join("base.tar");
    first.ok(&["save", "-o", base.to_str().expect("utf-8"), "localbusybox"]);
    second.ok(&["load", "-q", "-i", base.to_str().expect("utf-8")]);
    let from = format!("type=local,src={}", cache.display());
    let log = build_ok(&second, &["--cache-from", &from, "-t", "demo:1"], &ctx);
    assert_eq!(log.matches("CACHED").count(), 10, "{log}");
    let id2 = second.ok(&[
        "build",
        "-q",
        "--cache-from",
        &from,
        "-t",
        "demo:1",
        ctx.to_str().expect("utf-8"),
    ]);
    assert_eq!(id1, id2);
    assert_eq!(
        second.ok(&["run", "--rm", "demo:1"]),
        "main default-arg version 1.0"
    );
    // A cache that is not there yet is no error; a bad spec is one line.
    let missing = format!(
        "type=local,src={}",
        second.dir.path().join("nothing").display()
    );
    build_ok(&second, &["--cache-from", &missing, "-t", "demo:2"], &ctx);
    let o = build(
        &second,
        &["--cache-to", "type=registry,ref=x", "-t", "demo:3"],
        &ctx,
    );
    assert_ne!(o.status.code(), Some(0));
    assert!(
        text(&o).contains("cache type \"registry\" is not supported"),
        "{}",
        text(&o)
    );
}
