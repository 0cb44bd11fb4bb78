//! Typed instructions: flags, argument checks and BuildKit's error messages.

use dockerfile::instructions::{
    parse_mount, Healthcheck, Instruction, MountType, Network, Security, Sharing,
};
use dockerfile::{Dockerfile, Error, Lines};

fn df(text: &str) -> Dockerfile {
    Dockerfile::parse(text).unwrap_or_else(|e| panic!("{text:?}: {e}"))
}

/// The instruction after `FROM scratch`.
fn one(line: &str) -> Instruction {
    let d = df(&format!("FROM scratch\n{line}\n"));
    d.stages[0].commands[0].instruction.clone()
}

fn err(text: &str) -> String {
    Dockerfile::parse(text)
        .expect_err("the test case is refused")
        .to_string()
}

fn err_after_from(line: &str) -> String {
    err(&format!("FROM scratch\n{line}\n"))
}

#[test]
fn stages_and_global_args() {
    let d = df("ARG V=1\nFROM a AS Build\nRUN x\nfrom b\nCOPY --from=build / /\n");
    assert_eq!(d.meta_args.len(), 1);
    assert_eq!(d.stages.len(), 2);
    assert_eq!(d.stages[0].from.name.as_deref(), Some("build"));
    assert_eq!(d.stages[0].from.image, "a");
    assert_eq!(d.stages[1].index, 1);
    assert_eq!(d.stages[1].keyword, "from");
    assert!(d.stage("BUILD").is_some());
}

#[test]
fn from_forms_and_errors() {
    let d = df("FROM --platform=$BUILDPLATFORM golang:1 as builder\n");
    let f = &d.stages[0].from;
    assert_eq!(f.platform.as_deref(), Some("$BUILDPLATFORM"));
    assert_eq!(f.name.as_deref(), Some("builder"));
    assert_eq!(
        err("FROM a b\n"),
        "dockerfile parse error on line 1: FROM requires either one or three arguments"
    );
    assert_eq!(
        err("FROM a AS 1x\n"),
        "dockerfile parse error on line 1: invalid name for build stage: \"1x\", name can't start with a number or contain symbols"
    );
    assert_eq!(
        err("FROM a AS b c\n"),
        "dockerfile parse error on line 1: FROM requires either one or three arguments"
    );
    assert_eq!(
        err("FROM --platfrom=x a\n"),
        "dockerfile parse error on line 1: unknown flag: --platfrom (did you mean platform?)"
    );
}

#[test]
fn stage_doc_comments() {
    let d =
        df("# builder compiles things\nFROM a AS builder\n# VERSION the version\nARG VERSION=1\n");
    assert_eq!(d.stages[0].from.doc, "compiles things");
    let Instruction::Arg(defs) = &d.stages[0].commands[0].instruction else {
        panic!()
    };
    assert_eq!(defs[0].doc, "the version");
}

#[test]
fn instruction_outside_a_stage() {
    match Dockerfile::parse("RUN x\n").expect_err("the test case is refused") {
        Error::Syntax { message, lines } => {
            assert_eq!(message, "no build stage in current context");
            assert_eq!(lines, Lines::one(1));
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn unknown_instruction_names_the_line_and_suggests() {
    assert_eq!(
        err_after_from("XYZZY bar"),
        "dockerfile parse error on line 2: unknown instruction: XYZZY"
    );
    assert_eq!(
        err_after_from("FOO bar"),
        "dockerfile parse error on line 2: unknown instruction: FOO (did you mean FROM?)"
    );
    assert_eq!(
        err_after_from("RUNN x"),
        "dockerfile parse error on line 2: unknown instruction: RUNN (did you mean RUN?)"
    );
    assert_eq!(
        err_after_from("copyy a b"),
        "dockerfile parse error on line 2: unknown instruction: copyy (did you mean copy?)"
    );
    match Dockerfile::parse("FROM a\nRUN a \\\n b\nBAD\n").expect_err("the test case is refused") {
        Error::Instruction { lines, .. } => assert_eq!(lines, Lines::one(4)),
        other => panic!("{other:?}"),
    }
}

#[test]
fn run_shell_and_exec_forms() {
    let Instruction::Run(r) = one("RUN echo $HOME") else {
        panic!()
    };
    assert_eq!(r.command.args, vec!["echo $HOME"]);
    assert!(r.command.prepend_shell);
    assert_eq!(r.network, Network::Default);
    assert_eq!(r.security, Security::Sandbox);
    let Instruction::Run(r) = one("RUN [\"/bin/echo\", \"hi\"]") else {
        panic!()
    };
    assert_eq!(r.command.args, vec!["/bin/echo", "hi"]);
    assert!(!r.command.prepend_shell);
}

#[test]
fn run_flags() {
    let Instruction::Run(r) =
        one("RUN --network=none --security=insecure --mount=type=cache,target=/c --mount=type=secret,id=tok make")
    else {
        panic!()
    };
    assert_eq!(r.network, Network::None);
    assert_eq!(r.security, Security::Insecure);
    assert_eq!(r.mount_specs.len(), 2);
    assert_eq!(r.flags_used, vec!["mount", "network", "security"]);
    assert_eq!(
        err_after_from("RUN --network=bridge x"),
        "dockerfile parse error on line 2: invalid network mode \"bridge\""
    );
    assert_eq!(
        err_after_from("RUN --security=x y"),
        "dockerfile parse error on line 2: security \"x\" is not valid"
    );
    assert_eq!(
        err_after_from("RUN --network x"),
        "dockerfile parse error on line 2: missing a value on flag: --network"
    );
    assert_eq!(
        err_after_from("RUN --mount=from=$X,target=/a x"),
        "dockerfile parse error on line 2: 'from' doesn't support variable expansion, define alias stage instead"
    );
}

#[test]
fn mounts_parsed_with_expansion() {
    let mut id = |w: &str| Ok::<_, String>(w.to_string());
    let m = parse_mount(
        "type=cache,target=/root/.cache,id=go,sharing=locked,uid=1000,mode=0755",
        Some(&mut id),
    )
    .expect("the test case is valid");
    assert_eq!(m.kind, MountType::Cache);
    assert_eq!(m.target, "/root/.cache");
    assert_eq!(m.id, "go");
    assert_eq!(m.sharing, Some(Sharing::Locked));
    assert_eq!(m.uid, Some(1000));
    assert_eq!(m.mode, Some(0o755));
    assert!(!m.read_only);
    let m = parse_mount("type=bind,from=build,source=/out,target=/in", Some(&mut id))
        .expect("the test case is valid");
    assert!(m.read_only, "bind mounts default to read-only");
    let m = parse_mount("target=/in,rw", Some(&mut id)).expect("the test case is valid");
    assert_eq!(m.kind, MountType::Bind);
    assert!(!m.read_only);
    let m = parse_mount("type=tmpfs,target=/t,size=64m", Some(&mut id))
        .expect("the test case is valid");
    assert_eq!(m.size_limit, 64 * 1024 * 1024);
    let m = parse_mount("type=secret,id=npm,env=NPM_TOKEN,required", Some(&mut id))
        .expect("the test case is valid");
    assert!(m.required);
    assert_eq!(m.env.as_deref(), Some("NPM_TOKEN"));
    let m = parse_mount("type=ssh", Some(&mut id)).expect("the test case is valid");
    assert!(m.read_only);
    let m = parse_mount("\"type=bind\",\"source=a,b\",target=/x", Some(&mut id))
        .expect("the test case is valid");
    assert_eq!(m.source, "a,b");
}

#[test]
fn mount_errors() {
    let mut id = |w: &str| Ok::<_, String>(w.to_string());
    let mut e = |s: &str| parse_mount(s, Some(&mut id)).expect_err("the test case is refused");
    assert_eq!(
        e("type=cahce,target=/x"),
        "unsupported mount type \"cahce\" (did you mean cache?)"
    );
    assert_eq!(
        e("type=bind,targte=/x"),
        "unexpected key 'targte' in 'targte=/x' (did you mean target?)"
    );
    assert_eq!(
        e("type=bind,size=1m"),
        "unexpected key 'size' for mount type 'bind'"
    );
    assert_eq!(
        e("type=bind,mode=0700"),
        "mode not allowed for \"bind\" type mounts"
    );
    assert_eq!(
        e("type=secret"),
        "invalid secret mount. one of source, target required"
    );
    assert_eq!(
        e("type=secret,id=a,from=b"),
        "secret mount should not have a from"
    );
    assert_eq!(
        e("type=bind,sharing=locked"),
        "invalid cache sharing set for bind mount"
    );
    assert_eq!(e("type=cache,uid=x"), "invalid value x for uid");
    assert_eq!(e("type=bind,ro=maybe"), "invalid value for ro: maybe");
    assert_eq!(
        e("type=bind,bogus"),
        "invalid field 'bogus' must be a key=value pair"
    );
    assert_eq!(
        e("type=bind,required"),
        "unexpected key 'required' for mount type 'bind'"
    );
}

#[test]
fn copy_and_add_flags() {
    let Instruction::Copy(c) =
        one("COPY --from=0 --chown=app:app --chmod=644 --link --parents --exclude=*.md --exclude=tmp a b /dst/")
    else {
        panic!()
    };
    assert_eq!(c.from.as_deref(), Some("0"));
    assert_eq!((c.chown.as_str(), c.chmod.as_str()), ("app:app", "644"));
    assert!(c.link && c.parents);
    assert_eq!(c.excludes, vec!["*.md", "tmp"]);
    assert_eq!(c.files.paths, vec!["a", "b"]);
    assert_eq!(c.files.dest, "/dst/");
    let Instruction::Add(a) =
        one("ADD --keep-git-dir=false --checksum=sha256:abc --unpack https://x/y.tgz /z")
    else {
        panic!()
    };
    assert_eq!(a.keep_git_dir, Some(false));
    assert_eq!(a.unpack, Some(true));
    assert_eq!(a.checksum, "sha256:abc");
    assert_eq!(
        err_after_from("COPY --checksum=x a b"),
        "dockerfile parse error on line 2: unknown flag: --checksum"
    );
    assert_eq!(
        err_after_from("COPY onlyone"),
        "dockerfile parse error on line 2: COPY requires at least two arguments, but only one was provided. Destination could not be determined"
    );
    assert_eq!(
        err_after_from("COPY --link=maybe a b"),
        "dockerfile parse error on line 2: expecting boolean value for flag --link, not: maybe"
    );
}

#[test]
fn copy_heredoc_sources() {
    let d = df("FROM scratch\nCOPY <<one <<-\"two\" plain /dst/\nhello $X\none\n\tbye $X\ntwo\n");
    let Instruction::Copy(c) = &d.stages[0].commands[0].instruction else {
        panic!()
    };
    assert_eq!(c.files.paths, vec!["plain"]);
    assert_eq!(c.files.contents.len(), 2);
    assert_eq!(c.files.contents[0].path, "one");
    assert_eq!(c.files.contents[0].data, "hello $X\n");
    assert!(c.files.contents[0].expand);
    assert_eq!(c.files.contents[1].data, "bye $X\n");
    assert!(!c.files.contents[1].expand);
    assert_eq!(
        err("FROM scratch\nCOPY a <<EOF\nx\nEOF\n"),
        "dockerfile parse error on line 2: COPY cannot accept a heredoc as a destination"
    );
}

#[test]
fn run_heredoc_files() {
    let d = df("FROM scratch\nRUN <<EOF\n#!/usr/bin/env python3\nprint(1)\nEOF\n");
    let Instruction::Run(r) = &d.stages[0].commands[0].instruction else {
        panic!()
    };
    assert_eq!(r.command.args, vec!["<<EOF"]);
    assert_eq!(
        r.command.heredocs[0].content,
        "#!/usr/bin/env python3\nprint(1)\n"
    );
}

#[test]
fn env_and_label_pairs() {
    let Instruction::Env(kvs) = one("ENV A=1 B=\"x y\"") else {
        panic!()
    };
    assert_eq!(kvs.len(), 2);
    assert_eq!(
        (kvs[1].key.as_str(), kvs[1].value.as_str(), kvs[1].legacy),
        ("B", "\"x y\"", false)
    );
    let Instruction::Env(kvs) = one("ENV A x y") else {
        panic!()
    };
    assert!(kvs[0].legacy);
    assert_eq!(kvs[0].value, "x y");
    assert_eq!(
        err_after_from("ENV =x"),
        "dockerfile parse error on line 2: ENV names can not be blank"
    );
    assert_eq!(
        err_after_from("LABEL"),
        "dockerfile parse error on line 2: LABEL requires at least one argument"
    );
}

#[test]
fn arg_definitions() {
    let Instruction::Arg(defs) = one("ARG A B=2 C=") else {
        panic!()
    };
    let got: Vec<_> = defs
        .iter()
        .map(|d| (d.key.as_str(), d.value.as_deref()))
        .collect();
    assert_eq!(got, vec![("A", None), ("B", Some("2")), ("C", Some(""))]);
    assert_eq!(
        err_after_from("ARG =1"),
        "dockerfile parse error on line 2: ARG names can not be blank"
    );
    assert_eq!(
        err_after_from("ARG"),
        "dockerfile parse error on line 2: ARG requires at least one argument"
    );
}

#[test]
fn healthcheck() {
    let Instruction::Healthcheck(Healthcheck::Cmd(h)) =
        one("HEALTHCHECK --interval=30s --timeout=1m --start-period=1.5s --start-interval=100ms --retries=3 CMD curl -f x")
    else {
        panic!()
    };
    assert_eq!(h.test, vec!["CMD-SHELL", "curl -f x"]);
    assert_eq!(h.interval, 30_000_000_000);
    assert_eq!(h.timeout, 60_000_000_000);
    assert_eq!(h.start_period, 1_500_000_000);
    assert_eq!(h.start_interval, 100_000_000);
    assert_eq!(h.retries, 3);
    let Instruction::Healthcheck(Healthcheck::Cmd(h)) = one("HEALTHCHECK CMD [\"/bin/check\"]")
    else {
        panic!()
    };
    assert_eq!(h.test, vec!["CMD", "/bin/check"]);
    assert_eq!(
        one("HEALTHCHECK none"),
        Instruction::Healthcheck(Healthcheck::None)
    );
    let e = err_after_from;
    assert_eq!(
        e("HEALTHCHECK NONE x"),
        "dockerfile parse error on line 2: HEALTHCHECK NONE takes no arguments"
    );
    assert_eq!(
        e("HEALTHCHECK FOO x"),
        "dockerfile parse error on line 2: Unknown type \"FOO\" in HEALTHCHECK (try CMD)"
    );
    assert_eq!(
        e("HEALTHCHECK CMD"),
        "dockerfile parse error on line 2: Missing command after HEALTHCHECK CMD"
    );
    assert_eq!(
        e("HEALTHCHECK --interval=1us CMD x"),
        "dockerfile parse error on line 2: Interval \"interval\" cannot be less than 1ms"
    );
    assert_eq!(
        e("HEALTHCHECK --timeout=5 CMD x"),
        "dockerfile parse error on line 2: time: missing unit in duration \"5\""
    );
    assert_eq!(
        e("HEALTHCHECK --retries=-1 CMD x"),
        "dockerfile parse error on line 2: --retries cannot be negative (-1)"
    );
    assert_eq!(
        e("HEALTHCHECK --retries=x CMD y"),
        "dockerfile parse error on line 2: strconv.ParseInt: parsing \"x\": invalid syntax"
    );
}

#[test]
fn onbuild() {
    let Instruction::Onbuild(o) = one("onbuild  RUN echo hi") else {
        panic!()
    };
    assert_eq!(o.expression, "RUN echo hi");
    let d = df("FROM a\nONBUILD RUN <<EOF\nhi\nEOF\n");
    let Instruction::Onbuild(o) = &d.stages[0].commands[0].instruction else {
        panic!()
    };
    assert_eq!(o.expression, "RUN <<EOF\nhi\nEOF");
    let e = err_after_from;
    assert_eq!(
        e("ONBUILD ONBUILD RUN x"),
        "dockerfile parse error on line 2: Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed"
    );
    assert_eq!(
        e("ONBUILD FROM x"),
        "dockerfile parse error on line 2: FROM isn't allowed as an ONBUILD trigger"
    );
    assert_eq!(
        e("ONBUILD maintainer x"),
        "dockerfile parse error on line 2: MAINTAINER isn't allowed as an ONBUILD trigger"
    );
    assert_eq!(
        e("ONBUILD"),
        "dockerfile parse error on line 2: ONBUILD requires at least one argument"
    );
}

#[test]
fn shell_requires_json() {
    assert_eq!(
        one("SHELL [\"bash\", \"-c\"]"),
        Instruction::Shell(vec!["bash".into(), "-c".into()])
    );
    assert_eq!(
        err_after_from("SHELL bash -c"),
        "dockerfile parse error on line 2: SHELL requires the arguments to be in JSON form"
    );
    assert_eq!(
        err_after_from("SHELL []"),
        "dockerfile parse error on line 2: SHELL requires at least one argument"
    );
}

#[test]
fn single_argument_instructions() {
    assert_eq!(one("USER app"), Instruction::User("app".into()));
    assert_eq!(one("WORKDIR /srv"), Instruction::Workdir("/srv".into()));
    assert_eq!(
        one("STOPSIGNAL SIGKILL"),
        Instruction::StopSignal("SIGKILL".into())
    );
    assert_eq!(one("MAINTAINER me"), Instruction::Maintainer("me".into()));
    assert_eq!(
        err_after_from("USER"),
        "dockerfile parse error on line 2: USER requires exactly one argument"
    );
    assert_eq!(
        err_after_from("WORKDIR"),
        "dockerfile parse error on line 2: WORKDIR requires exactly one argument"
    );
    assert_eq!(
        err_after_from("USER --x=1 app"),
        "dockerfile parse error on line 2: unknown flag: --x"
    );
    // BuildKit reads no flags for STOPSIGNAL: they are ignored.
    assert_eq!(
        one("STOPSIGNAL --x=1 9"),
        Instruction::StopSignal("9".into())
    );
}

#[test]
fn expose_and_volume() {
    assert_eq!(
        one("EXPOSE 8080 443/tcp 80"),
        Instruction::Expose(vec!["443/tcp".into(), "80".into(), "8080".into()])
    );
    assert_eq!(
        one("VOLUME [\"/a\", \"/b\"]"),
        Instruction::Volume(vec!["/a".into(), "/b".into()])
    );
    assert_eq!(
        err_after_from("VOLUME [\"\"]"),
        "dockerfile parse error on line 2: VOLUME specified can not be an empty string"
    );
    assert_eq!(
        err_after_from("EXPOSE"),
        "dockerfile parse error on line 2: EXPOSE requires at least one argument"
    );
}

#[test]
fn cmd_and_entrypoint() {
    let Instruction::Cmd(c) = one("CMD [\"a\", \"b\"]") else {
        panic!()
    };
    assert_eq!(c.args, vec!["a", "b"]);
    assert!(!c.prepend_shell);
    let Instruction::Entrypoint(c) = one("ENTRYPOINT exec app --flag") else {
        panic!()
    };
    assert_eq!(c.args, vec!["exec app --flag"]);
    assert!(c.prepend_shell);
    let Instruction::Cmd(c) = one("CMD") else {
        panic!()
    };
    assert!(c.args.is_empty());
}
