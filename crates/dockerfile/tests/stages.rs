//! Planning: ARG scoping, build arguments, platform arguments, expansion per instruction,
//! the stage graph and target pruning.

use std::collections::BTreeMap;

use dockerfile::build::{
    plan, Base, BuildOptions, ImageConfig, NoImages, Op, Plan, Platform, StagePlan,
};
use dockerfile::{Dockerfile, Error};

fn opts(args: &[(&str, &str)]) -> BuildOptions {
    BuildOptions {
        build_args: args
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        ..BuildOptions::default()
    }
}

fn plan_of(text: &str, o: &BuildOptions) -> Plan {
    let df = Dockerfile::parse(text).unwrap_or_else(|e| panic!("{e}"));
    plan(&df, o, &NoImages).unwrap_or_else(|e| panic!("{e}"))
}

fn plan_err(text: &str, o: &BuildOptions) -> Error {
    let df = Dockerfile::parse(text).unwrap_or_else(|e| panic!("{e}"));
    plan(&df, o, &NoImages).expect_err("the test case is refused")
}

fn last(p: &Plan) -> &StagePlan {
    &p.stages[p.target]
}

fn env_of(op: &Op) -> Vec<(String, String)> {
    match op {
        Op::Env(kv) | Op::Label(kv) => kv.clone(),
        other => panic!("{other:?}"),
    }
}

fn kv(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[test]
fn global_args_only_reach_from_lines() {
    let p = plan_of(
        "ARG IMG=alpine\nARG V\nFROM $IMG:${V:-3}\nENV A=$IMG\n",
        &opts(&[]),
    );
    let s = last(&p);
    assert_eq!(s.base, Base::Image("alpine:3".into()));
    assert_eq!(env_of(&s.steps[0].op), kv(&[("A", "")]));
}

#[test]
fn redeclared_global_arg_takes_the_global_value() {
    let p = plan_of("ARG V=1.2\nFROM scratch\nARG V\nENV A=$V\n", &opts(&[]));
    let s = last(&p);
    assert_eq!(
        s.steps[0].op,
        Op::Arg(vec![("V".into(), Some("1.2".into()))])
    );
    assert_eq!(env_of(&s.steps[1].op), kv(&[("A", "1.2")]));
}

#[test]
fn build_args_override_defaults_everywhere() {
    let text = "ARG V=1\nFROM img:$V\nARG V\nARG W=def\nENV A=$V B=$W\n";
    let p = plan_of(text, &opts(&[("V", "9"), ("W", "given")]));
    let s = last(&p);
    assert_eq!(s.base, Base::Image("img:9".into()));
    assert_eq!(env_of(&s.steps[2].op), kv(&[("A", "9"), ("B", "given")]));
}

#[test]
fn undeclared_build_args_are_not_visible() {
    let p = plan_of("FROM scratch\nENV A=$NOPE\n", &opts(&[("NOPE", "x")]));
    assert_eq!(env_of(&last(&p).steps[0].op), kv(&[("A", "")]));
}

#[test]
fn arg_default_expands_with_earlier_values() {
    let p = plan_of("FROM scratch\nARG A=x\nARG B=${A}y\nENV C=$B\n", &opts(&[]));
    assert_eq!(env_of(&last(&p).steps[2].op), kv(&[("C", "xy")]));
}

#[test]
fn global_arg_defaults_expand_in_order() {
    let p = plan_of("ARG A=1\nARG B=$A.2\nFROM img:$B\n", &opts(&[]));
    assert_eq!(last(&p).base, Base::Image("img:1.2".into()));
    assert!(p.global_args.contains(&("B".into(), "1.2".into())));
}

#[test]
fn platform_args_have_defaults() {
    let text = "FROM scratch\nARG TARGETPLATFORM TARGETARCH BUILDOS\nENV P=$TARGETPLATFORM A=$TARGETARCH O=$BUILDOS\n";
    let p = plan_of(text, &opts(&[]));
    assert_eq!(
        env_of(&last(&p).steps[1].op),
        kv(&[("P", "linux/amd64"), ("A", "amd64"), ("O", "linux")])
    );
    let o = BuildOptions {
        target_platform: Some(Platform {
            os: "linux".into(),
            arch: "arm64".into(),
            variant: "v8".into(),
        }),
        ..BuildOptions::default()
    };
    let p = plan_of(text, &o);
    assert_eq!(
        env_of(&last(&p).steps[1].op),
        kv(&[("P", "linux/arm64/v8"), ("A", "arm64"), ("O", "linux")])
    );
}

#[test]
fn platform_args_are_not_set_without_arg() {
    let p = plan_of("FROM scratch\nENV P=$TARGETPLATFORM\n", &opts(&[]));
    assert_eq!(env_of(&last(&p).steps[0].op), kv(&[("P", "")]));
}

#[test]
fn from_platform_is_expanded_and_parsed() {
    let p = plan_of(
        "FROM --platform=$BUILDPLATFORM scratch AS b\nFROM --platform=linux/arm64 scratch\n",
        &opts(&[]),
    );
    assert_eq!(p.stages[0].platform.to_string(), "linux/amd64");
    assert_eq!(p.stages[1].platform.to_string(), "linux/arm64/v8");
    let e = plan_err("FROM --platform=$NOPE scratch\n", &opts(&[]));
    assert_eq!(e.to_string(), "empty platform value from expression $NOPE");
    let e = plan_err("FROM --platform=linux/${X} scratch\n", &opts(&[]));
    assert!(e.to_string().starts_with(
        "failed to parse platform linux/${X}: \"\" is an invalid component of \"linux/\""
    ));
}

#[test]
fn env_and_arg_order_decides_the_value() {
    // Both go into the environment instructions expand with; the later one wins.
    let p = plan_of("FROM scratch\nARG A=arg\nENV A=env\nENV B=$A\n", &opts(&[]));
    assert_eq!(env_of(&last(&p).steps[2].op), kv(&[("B", "env")]));
    let p = plan_of("FROM scratch\nENV A=env\nARG A=arg\nENV B=$A\n", &opts(&[]));
    assert_eq!(env_of(&last(&p).steps[2].op), kv(&[("B", "arg")]));
}

#[test]
fn env_values_in_one_instruction_see_the_previous_environment() {
    let p = plan_of("FROM scratch\nENV A=1\nENV A=2 B=$A\n", &opts(&[]));
    assert_eq!(env_of(&last(&p).steps[1].op), kv(&[("A", "2"), ("B", "1")]));
}

#[test]
fn env_label_quoting_values() {
    let p = plan_of(
        "FROM scratch\nENV A=\"x y\" B='$PATH' C=a\\ b\nLABEL \"com.k\"=\"v w\" plain=1\nENV E hello \"world\"\n",
        &opts(&[]),
    );
    let s = last(&p);
    assert_eq!(
        env_of(&s.steps[0].op),
        kv(&[("A", "x y"), ("B", "$PATH"), ("C", "a b")])
    );
    assert_eq!(
        env_of(&s.steps[1].op),
        kv(&[("com.k", "v w"), ("plain", "1")])
    );
    assert_eq!(env_of(&s.steps[2].op), kv(&[("E", "hello world")]));
}

#[test]
fn run_is_not_expanded_but_sees_args_as_environment() {
    let p = plan_of(
        "FROM scratch\nARG V=1\nENV E=2\nRUN echo $V $E\n",
        &opts(&[]),
    );
    let Op::Run(r) = &last(&p).steps[2].op else {
        panic!()
    };
    assert_eq!(r.command.args, vec!["echo $V $E"]);
    let env: BTreeMap<_, _> = r.env.iter().cloned().collect();
    assert_eq!(env["V"], "1");
    assert_eq!(env["E"], "2");
    assert!(env.contains_key("PATH"));
    // The image keeps ENV, not ARG.
    assert!(last(&p).env.iter().all(|(k, _)| k != "V"));
    assert!(last(&p).env.iter().any(|(k, v)| k == "E" && v == "2"));
}

#[test]
fn base_image_environment_is_used() {
    let df = Dockerfile::parse("FROM node:20\nENV PATH=/app/bin:$PATH\nWORKDIR sub\n")
        .expect("the test case is valid");
    let mut images = BTreeMap::new();
    images.insert(
        "node:20".to_string(),
        ImageConfig {
            env: vec![("PATH".into(), "/node/bin".into())],
            workdir: "/home/node".into(),
            ..ImageConfig::default()
        },
    );
    let p = plan(&df, &BuildOptions::default(), &images).expect("the test case is valid");
    let s = last(&p);
    assert_eq!(
        env_of(&s.steps[0].op),
        kv(&[("PATH", "/app/bin:/node/bin")])
    );
    assert_eq!(
        s.steps[1].op,
        Op::Workdir {
            path: "sub".into(),
            resolved: "/home/node/sub".into()
        }
    );
}

#[test]
fn copy_add_words_are_expanded() {
    let text = "FROM scratch\nARG U=1000 D=/dst\nCOPY --chown=$U:$U --chmod=${MODE:-644} src/$U ${D}/\nADD --checksum=sha256:$U http://x/$U.tgz $D\n";
    let p = plan_of(text, &opts(&[]));
    let s = last(&p);
    let Op::Copy(c) = &s.steps[1].op else {
        panic!()
    };
    assert_eq!(c.chown, "1000:1000");
    assert_eq!(c.chmod, "644");
    assert_eq!(c.files.paths, vec!["src/1000"]);
    assert_eq!(c.files.dest, "/dst/");
    assert_eq!(c.source, None);
    let Op::Add(a) = &s.steps[2].op else { panic!() };
    assert_eq!(a.checksum, "sha256:1000");
    assert_eq!(a.files.paths, vec!["http://x/1000.tgz"]);
}

#[test]
fn copy_heredoc_bodies_expand_unless_quoted() {
    let text = "FROM scratch\nARG N=world\nCOPY <<A <<'B' /d/\nhello $N \"q\"\nA\nbye $N\nB\n";
    let p = plan_of(text, &opts(&[]));
    let Op::Copy(c) = &last(&p).steps[1].op else {
        panic!()
    };
    assert_eq!(c.files.contents[0].data, "hello world \"q\"\n");
    assert_eq!(c.files.contents[1].data, "bye $N\n");
}

#[test]
fn other_expanded_instructions() {
    let text = "FROM scratch\nARG P=8080 U=app S=TERM V=/data\nEXPOSE $P ${P}/udp 9000-9001\nUSER $U\nSTOPSIGNAL SIG$S\nVOLUME $V [\"x\"]\nWORKDIR /srv/$U\nWORKDIR ../x\n";
    let p = plan_of(text, &opts(&[]));
    let s = last(&p);
    assert_eq!(
        s.steps[1].op,
        Op::Expose(vec![
            "8080/tcp".into(),
            "8080/udp".into(),
            "9000/tcp".into(),
            "9001/tcp".into()
        ])
    );
    assert_eq!(s.steps[2].op, Op::User("app".into()));
    assert_eq!(s.steps[3].op, Op::StopSignal("SIGTERM".into()));
    assert_eq!(
        s.steps[4].op,
        Op::Volume(vec!["/data".into(), "[x]".into()])
    );
    assert_eq!(
        s.steps[6].op,
        Op::Workdir {
            path: "../x".into(),
            resolved: "/srv/x".into()
        }
    );
    assert_eq!(s.workdir, "/srv/x");
    assert_eq!(s.user, "app");
}

#[test]
fn cmd_entrypoint_healthcheck_shell_are_not_expanded() {
    let p = plan_of(
        "FROM scratch\nARG X=1\nCMD echo $X\nSHELL [\"/bin/bash\", \"-c\"]\n",
        &opts(&[]),
    );
    let s = last(&p);
    let Op::Cmd(c) = &s.steps[1].op else { panic!() };
    assert_eq!(c.args, vec!["echo $X"]);
    assert_eq!(s.shell, vec!["/bin/bash", "-c"]);
}

#[test]
fn expansion_errors_name_the_word() {
    let e = plan_err("FROM scratch\nENV A=${NEED:?set-NEED}\n", &opts(&[]));
    assert_eq!(
        e.to_string(),
        "failed to process \"${NEED:?set-NEED}\": NEED: set-NEED"
    );
    assert_eq!(e.lines().map(|l| l.start), Some(2));
    let e = plan_err("FROM scratch\nSTOPSIGNAL SIGNOPE\n", &opts(&[]));
    assert_eq!(e.to_string(), "Invalid signal: SIGNOPE");
    let e = plan_err("FROM scratch\nEXPOSE 80/sctpx\n", &opts(&[]));
    assert_eq!(
        e.to_string(),
        "invalid port: \"80/sctpx\": invalid proto: sctpx"
    );
}

#[test]
fn base_name_errors() {
    let e = plan_err("ARG I\nFROM $I\n", &opts(&[]));
    assert_eq!(e.to_string(), "base name ($I) should not be blank");
    let e = plan_err("ARG I\n", &opts(&[]));
    assert_eq!(e.to_string(), "dockerfile contains no stages to build");
}

#[test]
fn stage_graph_and_target_pruning() {
    let text = "FROM alpine AS base\nRUN a\nFROM base AS build\nRUN b\nFROM scratch AS unused\nRUN c\nFROM base AS final\nCOPY --from=build /o /o\nRUN --mount=type=bind,from=tools,target=/t d\n";
    let p = plan_of(text, &opts(&[]));
    assert_eq!(p.target, 3);
    let needed: Vec<usize> = p.needed().map(|s| s.index).collect();
    assert_eq!(needed, vec![0, 1, 3]);
    assert!(
        p.stages[2].steps.is_empty(),
        "unused stages are not expanded"
    );
    assert_eq!(p.stages[1].base, Base::Stage(0));
    assert_eq!(p.stages[2].base, Base::Scratch);
    let deps: Vec<&Base> = p.stages[3].deps.iter().map(|d| &d.on).collect();
    assert_eq!(deps, vec![&Base::Stage(1), &Base::Image("tools".into())]);
    let Op::Copy(c) = &p.stages[3].steps[0].op else {
        panic!()
    };
    assert_eq!(c.source, Some(Base::Stage(1)));
    let Op::Run(r) = &p.stages[3].steps[1].op else {
        panic!()
    };
    assert_eq!(r.mounts[0].source, Some(Base::Image("tools".into())));
}

#[test]
fn target_selects_a_stage_case_insensitively() {
    let text = "FROM scratch AS a\nFROM scratch AS b\nCOPY --from=a / /\nFROM scratch AS c\n";
    let o = BuildOptions {
        target: Some("B".into()),
        ..BuildOptions::default()
    };
    let p = plan_of(text, &o);
    assert_eq!(p.target, 1);
    assert_eq!(p.needed().map(|s| s.index).collect::<Vec<_>>(), vec![0, 1]);
    let o = BuildOptions {
        target: Some("cc".into()),
        ..BuildOptions::default()
    };
    assert_eq!(
        plan_err(text, &o).to_string(),
        "target stage \"cc\" could not be found (did you mean c?)"
    );
}

#[test]
fn all_stages_expands_unneeded_ones() {
    let text = "FROM scratch AS a\nENV X=1\nFROM scratch AS b\n";
    let o = BuildOptions {
        all_stages: true,
        ..BuildOptions::default()
    };
    let p = plan_of(text, &o);
    assert!(!p.stages[0].needed);
    assert_eq!(p.stages[0].steps.len(), 1);
}

#[test]
fn copy_from_by_index_and_errors() {
    let p = plan_of(
        "FROM scratch\nFROM scratch\nCOPY --from=0 / /\n",
        &opts(&[]),
    );
    let Op::Copy(c) = &p.stages[1].steps[0].op else {
        panic!()
    };
    assert_eq!(c.source, Some(Base::Stage(0)));
    let e = plan_err("FROM scratch\nCOPY --from=5 / /\n", &opts(&[]));
    assert_eq!(e.to_string(), "invalid stage index 5");
    let e = plan_err("ARG S=a\nFROM scratch\nCOPY --from=$S / /\n", &opts(&[]));
    assert!(e
        .to_string()
        .starts_with("variable expansion is not supported for --from"));
    let e = plan_err(
        "FROM scratch AS a\nCOPY --from=b / /\nFROM scratch AS b\nCOPY --from=a / /\n",
        &opts(&[]),
    );
    assert_eq!(e.to_string(), "circular dependency detected on stage: a");
}

#[test]
fn copy_from_a_later_stage_is_refused() {
    let text = "FROM scratch AS a\nCOPY --from=b / /\nFROM scratch AS b\nFROM a\n";
    let e = plan_err(text, &opts(&[]));
    assert_eq!(
        e.to_string(),
        "cannot copy from stage \"b\", it needs to be defined before current stage \"a\""
    );
}

#[test]
fn from_a_stage_name_must_match_exactly() {
    let p = plan_of("FROM scratch AS base\nFROM base\n", &opts(&[]));
    assert_eq!(p.stages[1].base, Base::Stage(0));
    // Stage names are lower-cased; `FROM Base` names an image (and an invalid one).
    let p = plan_of("FROM scratch AS base\nFROM Base\n", &opts(&[]));
    assert_eq!(p.stages[1].base, Base::Image("Base".into()));
}

#[test]
fn stage_names_shown_by_buildkit() {
    let p = plan_of(
        "FROM scratch\nFROM scratch AS named\nFROM scratch\n",
        &opts(&[]),
    );
    let names: Vec<_> = p.stages.iter().map(|s| s.display_name.as_str()).collect();
    assert_eq!(names, vec!["stage-0", "named", "stage-2"]);
    let p = plan_of("FROM scratch AS only\n", &opts(&[]));
    assert_eq!(p.stages[0].display_name, "");
}

#[test]
fn onbuild_triggers_of_a_base_stage_run_first() {
    let text = "FROM scratch AS base\nONBUILD ENV FROM_TRIGGER=1\nONBUILD COPY --from=helper / /\nFROM scratch AS helper\nFROM base\nENV AFTER=2\n";
    let p = plan_of(text, &opts(&[]));
    let s = last(&p);
    assert!(s.steps[0].onbuild && s.steps[1].onbuild);
    assert_eq!(env_of(&s.steps[0].op), kv(&[("FROM_TRIGGER", "1")]));
    assert_eq!(
        s.steps[0].lines,
        p.stages[2]
            .steps
            .first()
            .map(|_| s.steps[0].lines)
            .unwrap_or(s.steps[0].lines)
    );
    assert!(
        p.stages[1].needed,
        "a trigger's COPY --from makes its stage needed"
    );
    assert_eq!(env_of(&s.steps[2].op), kv(&[("AFTER", "2")]));
}

#[test]
fn onbuild_triggers_from_an_image() {
    let df = Dockerfile::parse("FROM app-base\nRUN make\n").expect("the test case is valid");
    let mut images = BTreeMap::new();
    images.insert(
        "app-base".to_string(),
        ImageConfig {
            onbuild: vec!["COPY . /src".into()],
            ..ImageConfig::default()
        },
    );
    let p = plan(&df, &BuildOptions::default(), &images).expect("the test case is valid");
    let s = last(&p);
    assert!(s.steps[0].onbuild);
    assert!(matches!(s.steps[0].op, Op::Copy(_)));
    assert_eq!(s.steps[0].lines, df.stages[0].lines);
}

#[test]
fn stages_inherit_environment_args_and_shell_from_base_stage() {
    let text =
        "FROM scratch AS a\nARG V=1\nENV E=$V\nSHELL [\"sh\"]\nWORKDIR /w\nFROM a\nENV F=$E-$V\n";
    let p = plan_of(text, &opts(&[]));
    let s = last(&p);
    assert_eq!(env_of(&s.steps[0].op), kv(&[("F", "1-1")]));
    assert_eq!(s.shell, vec!["sh"]);
    assert_eq!(s.workdir, "/w");
}

#[test]
fn run_mounts_are_expanded() {
    let text = "FROM scratch AS deps\nFROM scratch\nARG C=/cache T=deps\nRUN --mount=type=cache,target=$C,id=${C}-id --mount=type=bind,from=deps,target=/d make\n";
    let p = plan_of(text, &opts(&[("T", "x")]));
    let Op::Run(r) = &last(&p).steps[1].op else {
        panic!()
    };
    assert_eq!(r.mounts[0].mount.target, "/cache");
    assert_eq!(r.mounts[0].mount.id, "/cache-id");
    assert_eq!(r.mounts[0].source, None);
    assert_eq!(r.mounts[1].source, Some(Base::Stage(0)));
    let e = plan_err(
        "FROM scratch\nRUN --mount=type=nope,target=/x y\n",
        &opts(&[]),
    );
    assert_eq!(e.to_string(), "unsupported mount type \"nope\"");
}

#[test]
fn scratch_and_path_defaults() {
    let p = plan_of("FROM scratch\n", &opts(&[]));
    assert_eq!(
        last(&p).env,
        kv(&[(
            "PATH",
            "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
        )])
    );
}

#[test]
fn escape_directive_applies_to_expansion() {
    let p = plan_of(
        "# escape=`\nFROM scratch\nENV A=c:\\dir B=`$X\n",
        &opts(&[]),
    );
    assert_eq!(
        env_of(&last(&p).steps[0].op),
        kv(&[("A", "c:\\dir"), ("B", "$X")])
    );
}

fn run_step(text: &str) -> dockerfile::build::RunStep {
    let p = plan_of(text, &opts(&[]));
    match &last(&p).steps.last().expect("the test case is valid").op {
        Op::Run(r) => r.clone(),
        other => panic!("{other:?}"),
    }
}

#[test]
fn run_invocations() {
    let r = run_step("FROM scratch\nRUN echo hi\n");
    assert_eq!(
        r.invocation(&[], false)
            .expect("the test case is valid")
            .args,
        vec!["/bin/sh", "-c", "echo hi"]
    );
    let shell = vec!["bash".to_string(), "-eu".to_string(), "-c".to_string()];
    assert_eq!(
        r.invocation(&shell, false)
            .expect("the test case is valid")
            .args,
        vec!["bash", "-eu", "-c", "echo hi"]
    );
    let r = run_step("FROM scratch\nRUN [\"/bin/true\", \"x\"]\n");
    assert_eq!(
        r.invocation(&[], false)
            .expect("the test case is valid")
            .args,
        vec!["/bin/true", "x"]
    );
}

#[test]
fn run_heredoc_invocations() {
    // A lone heredoc is the shell script itself.
    let r = run_step("FROM scratch\nRUN <<-EOF\n\techo a\n\techo b\nEOF\n");
    let inv = r.invocation(&[], false).expect("the test case is valid");
    assert_eq!(inv.args, vec!["/bin/sh", "-c", "echo a\necho b\n"]);
    assert!(inv.script.is_none());
    // With `#!` it becomes an executable file run by its interpreter.
    let r = run_step("FROM scratch\nRUN <<py\n#!/usr/bin/env python3\nprint(1)\npy\n");
    let inv = r.invocation(&[], false).expect("the test case is valid");
    assert_eq!(inv.args, vec!["/bin/sh", "-c", "/dev/pipes/py"]);
    let script = inv.script.expect("the test case is valid");
    assert_eq!(script.path, "/dev/pipes/py");
    assert_eq!(script.data, "#!/usr/bin/env python3\nprint(1)\n");
    // Otherwise the bodies are handed to the shell after the command.
    let r = run_step("FROM scratch\nRUN cat <<A > /f\nx\nA\n");
    assert_eq!(
        r.invocation(&[], false)
            .expect("the test case is valid")
            .args,
        vec!["/bin/sh", "-c", "cat <<A > /f\nx\nA"]
    );
}
