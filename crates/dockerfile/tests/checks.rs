//! `docker build --check`: each rule, the `# check=` directive and comments, the error
//! cases, and the printed text.

use dockerfile::build::{BuildOptions, NoImages};
use dockerfile::checks::{check, render, CheckReport, LintConfig};

fn report(text: &str) -> CheckReport {
    check(text, &BuildOptions::default(), &NoImages)
}

/// `(rule, line, message)` of every warning.
fn warnings(text: &str) -> Vec<(String, usize, String)> {
    let r = report(text);
    assert!(r.error.is_none(), "{text:?}: {:?}", r.error);
    r.warnings
        .iter()
        .map(|w| (w.rule.to_string(), w.lines.start, w.message.clone()))
        .collect()
}

fn rules(text: &str) -> Vec<String> {
    warnings(text).into_iter().map(|w| w.0).collect()
}

fn w(rule: &str, line: usize, msg: &str) -> (String, usize, String) {
    (rule.to_string(), line, msg.to_string())
}

#[test]
fn clean_file_has_no_warnings() {
    assert!(warnings(
        "FROM alpine AS build\nRUN make\nFROM scratch\nCOPY --from=build /out /\nCMD [\"/app\"]\n"
    )
    .is_empty());
}

#[test]
fn stage_name_casing_and_from_as_casing() {
    let text = "\n# warning: stage name should be lowercase\n#\nFROM scratch AS BadStageName\n\n# warning: 'as' should match 'FROM' cmd casing.\n#\nFROM scratch as base2\n\nFROM scratch AS base3\n";
    assert_eq!(
        warnings(text),
        vec![
            w(
                "StageNameCasing",
                4,
                "Stage name 'BadStageName' should be lowercase"
            ),
            w(
                "FromAsCasing",
                8,
                "'as' and 'FROM' keywords' casing do not match"
            ),
        ]
    );
    assert_eq!(
        warnings("from scratch AS base\nfrom scratch as base2\n"),
        vec![w(
            "FromAsCasing",
            1,
            "'AS' and 'from' keywords' casing do not match"
        )]
    );
}

#[test]
fn no_empty_continuation() {
    let text = "\nFROM scratch\n# warning: empty continuation line\nCOPY Dockerfile \\\n\n.\nCOPY Dockerfile \\\n.\n";
    assert_eq!(
        warnings(text),
        vec![w("NoEmptyContinuation", 6, "Empty continuation line")]
    );
}

#[test]
fn consistent_instruction_casing() {
    assert_eq!(
        warnings("From scratch as base\nFROM scratch AS base2\n"),
        vec![w(
            "ConsistentInstructionCasing",
            1,
            "Command 'From' should match the case of the command majority (uppercase)"
        )]
    );
    assert_eq!(
        warnings("FROM scratch\ncopy a /foo\nCOPY a /bar\n"),
        vec![w(
            "ConsistentInstructionCasing",
            2,
            "Command 'copy' should match the case of the command majority (uppercase)"
        )]
    );
    assert_eq!(
        warnings("FROM scratch\ncopy a /foo\ncopy a /bar\ncopy a /baz\n"),
        vec![w(
            "ConsistentInstructionCasing",
            1,
            "Command 'FROM' should match the case of the command majority (lowercase)"
        )]
    );
    assert!(warnings("from scratch\ncopy a /foo\n").is_empty());
}

#[test]
fn duplicate_and_reserved_stage_names() {
    assert_eq!(
        warnings("FROM scratch AS b\nFROM scratch AS b\n"),
        vec![w(
            "DuplicateStageName",
            2,
            "Duplicate stage name \"b\", stage names should be unique"
        )]
    );
    assert_eq!(
        rules("FROM scratch AS scratch\nFROM scratch AS context\n"),
        vec!["ReservedStageName", "ReservedStageName"]
    );
    assert!(warnings("FROM scratch\nFROM scratch AS a\n").is_empty());
}

#[test]
fn json_args_recommended() {
    assert_eq!(
        warnings("FROM scratch\nCMD mycommand\n"),
        vec![w("JSONArgsRecommended", 2, "JSON arguments recommended for CMD to prevent unintended behavior related to OS signals")]
    );
    assert_eq!(
        rules("FROM scratch\nENTRYPOINT mycommand\n"),
        vec!["JSONArgsRecommended"]
    );
    assert!(warnings("FROM scratch\nSHELL [\"/bin/custom\"]\nCMD mycommand\n").is_empty());
    assert!(
        warnings("FROM scratch AS base\nSHELL [\"/bin/custom\"]\nFROM base\nENTRYPOINT x\n")
            .is_empty()
    );
    assert!(warnings("FROM scratch\n# check=skip=JSONArgsRecommended\nCMD mycommand\n").is_empty());
}

#[test]
fn maintainer_deprecated() {
    assert_eq!(
        warnings("FROM scratch\nMAINTAINER me@example.org\n"),
        vec![w(
            "MaintainerDeprecated",
            2,
            "Maintainer instruction is deprecated in favor of using label"
        )]
    );
    assert!(
        warnings("FROM scratch\n# check=skip=MaintainerDeprecated\nMAINTAINER me\n").is_empty()
    );
}

#[test]
fn warnings_before_a_parse_error_are_kept() {
    let r = report("\nFROM scratch AS BadStageName\nMAINTAINER me@example.org\nBADCMD\n");
    let got: Vec<_> = r.warnings.iter().map(|w| (w.rule, w.lines.start)).collect();
    assert_eq!(
        got,
        vec![("StageNameCasing", 2), ("MaintainerDeprecated", 3)]
    );
    assert_eq!(
        r.error.expect("the test case is valid").to_string(),
        "dockerfile parse error on line 4: unknown instruction: BADCMD"
    );
}

#[test]
fn undefined_arg_in_from() {
    assert!(warnings("ARG base=scratch\nFROM $base\n").is_empty());
    assert!(warnings("FROM --platform=$BUILDPLATFORM scratch\n").is_empty());
    assert!(warnings("ARG DEBUG\nFROM scratch${DEBUG}\n").is_empty());
    assert_eq!(
        warnings("ARG tag=latest\nFROM busybox:${tag}${version} AS b\n"),
        vec![w(
            "UndefinedArgInFrom",
            2,
            "FROM argument 'version' is not declared"
        )]
    );
    let r = report("FROM --platform=$BULIDPLATFORM scratch\n");
    assert_eq!(
        r.warnings[0].message,
        "FROM argument 'BULIDPLATFORM' is not declared (did you mean BUILDPLATFORM?)"
    );
    assert_eq!(
        r.error.expect("the test case is valid").to_string(),
        "empty platform value from expression $BULIDPLATFORM (did you mean BUILDPLATFORM?)"
    );
    let r = report("ARG MY_OS=linux\nARG MY_ARCH=amd64\nFROM --platform=linux/${MYARCH} busybox\n");
    assert_eq!(
        r.warnings[0].message,
        "FROM argument 'MYARCH' is not declared (did you mean MY_ARCH?)"
    );
    assert_eq!(
        r.error.expect("the test case is valid").to_string(),
        "failed to parse platform linux/${MYARCH}: \"\" is an invalid component of \"linux/\": platform specifier component must match \"^[A-Za-z0-9_.-]+$\": invalid argument (did you mean MY_ARCH?)"
    );
}

#[test]
fn workdir_relative_path() {
    assert_eq!(
        warnings("FROM scratch\nWORKDIR app/\n"),
        vec![w(
            "WorkdirRelativePath",
            2,
            "Relative workdir \"app/\" can have unexpected results if the base image changes"
        )]
    );
    assert!(warnings("FROM scratch AS a\nWORKDIR /app\nFROM a AS b\nWORKDIR subdir/\n").is_empty());
    // Only the first WORKDIR of a stage chain counts.
    assert!(warnings("FROM scratch\nWORKDIR /a\nWORKDIR b\n").is_empty());
}

#[test]
fn undefined_var() {
    assert!(warnings("FROM scratch\nARG foo\nCOPY Dockerfile${foo} .\n").is_empty());
    assert!(
        warnings("FROM alpine AS base\nARG foo=Dockerfile\nFROM base\nCOPY $foo .\n").is_empty()
    );
    assert!(warnings("FROM alpine\nRUN echo $PATH $NOT_CHECKED\n").is_empty());
    assert_eq!(
        warnings("FROM alpine\nCOPY $foo .\nARG foo=bar\nRUN echo $foo\n"),
        vec![w("UndefinedVar", 2, "Usage of undefined variable '$foo'")]
    );
    assert_eq!(
        warnings(
            "FROM alpine\nARG DIR_BINARIES=binaries/\nARG DIR_ASSETS=assets/\nCOPY $DIR_ASSET .\n"
        ),
        vec![w(
            "UndefinedVar",
            4,
            "Usage of undefined variable '$DIR_ASSET' (did you mean $DIR_ASSETS?)"
        )]
    );
    assert_eq!(
        warnings("FROM alpine\nENV PATH=$PAHT:/tmp/bin\n"),
        vec![w(
            "UndefinedVar",
            2,
            "Usage of undefined variable '$PAHT' (did you mean $PATH?)"
        )]
    );
}

#[test]
fn undefined_var_in_every_stage_without_target() {
    let text = "FROM scratch AS first\nCOPY $foo .\n\nFROM scratch AS second\nCOPY $bar .\n";
    assert_eq!(rules(text), vec!["UndefinedVar", "UndefinedVar"]);
    // With a target, only the stages it needs are checked.
    let o = BuildOptions {
        target: Some("second".into()),
        ..BuildOptions::default()
    };
    let r = check(text, &o, &NoImages);
    assert_eq!(r.warnings.len(), 1);
    assert_eq!(r.warnings[0].lines.start, 5);
}

#[test]
fn multiple_instructions_disallowed_points_at_the_ignored_one() {
    let text = "FROM scratch\nENTRYPOINT [\"/a\"]\nENTRYPOINT [\"/b\"]\nCMD [\"/a\"]\nCMD [\"/b\"]\nHEALTHCHECK CMD [\"/a\"]\nHEALTHCHECK CMD [\"/b\"]\n";
    let msg = |i: &str| {
        format!("Multiple {i} instructions should not be used in the same stage because only the last one will be used")
    };
    assert_eq!(
        warnings(text),
        vec![
            w("MultipleInstructionsDisallowed", 2, &msg("ENTRYPOINT")),
            w("MultipleInstructionsDisallowed", 4, &msg("CMD")),
            w("MultipleInstructionsDisallowed", 6, &msg("HEALTHCHECK")),
        ]
    );
    assert!(warnings("FROM scratch AS a\nCMD [\"/a\"]\nFROM a\nCMD [\"/b\"]\n").is_empty());
}

#[test]
fn legacy_key_value_format() {
    assert_eq!(
        warnings("FROM scratch\nENV testkey value\nLABEL key value\n"),
        vec![
            w(
                "LegacyKeyValueFormat",
                2,
                "\"ENV key=value\" should be used instead of legacy \"ENV key value\" format"
            ),
            w(
                "LegacyKeyValueFormat",
                3,
                "\"LABEL key=value\" should be used instead of legacy \"LABEL key value\" format"
            ),
        ]
    );
    assert!(warnings("FROM scratch\nENV a=b\nLABEL k=v\n").is_empty());
    assert!(warnings("FROM scratch\n# check=skip=LegacyKeyValueFormat\nENV a b\n").is_empty());
}

#[test]
fn redundant_target_platform() {
    assert_eq!(
        warnings("FROM --platform=$TARGETPLATFORM scratch\n"),
        vec![w("RedundantTargetPlatform", 1, "Setting platform to predefined $TARGETPLATFORM in FROM is redundant as this is the default behavior")]
    );
    assert_eq!(
        warnings("FROM --platform=${TARGETPLATFORM} scratch\n")[0].2,
        "Setting platform to predefined ${TARGETPLATFORM} in FROM is redundant as this is the default behavior"
    );
    assert!(warnings(
        "# check=skip=RedundantTargetPlatform\nFROM --platform=$TARGETPLATFORM scratch\n"
    )
    .is_empty());
}

#[test]
fn secrets_used_in_arg_or_env() {
    let text = "FROM scratch\nARG SECRET_PASSPHRASE\nENV SUPER_Secret=foo\nENV password=bar secret=baz\nENV apikey=bar sunflower=foo\nENV git_key=\nENV PUBLIC_KEY=\nARG public_token\nARG SECRET_PASSPHRASE_FILE\nARG AUTH_MODULE_VERSION\n# check=skip=SecretsUsedInArgOrEnv\nENV password=bar\n";
    let got: Vec<_> = warnings(text).into_iter().map(|w| (w.1, w.2)).collect();
    let m = |i: &str, k: &str| {
        format!("Do not use ARG or ENV instructions for sensitive data ({i} \"{k}\")")
    };
    assert_eq!(
        got,
        vec![
            (2, m("ARG", "SECRET_PASSPHRASE")),
            (3, m("ENV", "SUPER_Secret")),
            (4, m("ENV", "password")),
            (4, m("ENV", "secret")),
            (5, m("ENV", "apikey")),
            (6, m("ENV", "git_key")),
        ]
    );
    // Global ARGs are not dispatched, so not checked.
    assert!(warnings("ARG TOKEN=x\nFROM scratch\n").is_empty());
}

#[test]
fn invalid_default_arg_in_from() {
    assert_eq!(
        warnings("ARG VERSION\nFROM busybox:$VERSION\n")[0],
        w(
            "InvalidDefaultArgInFrom",
            2,
            "Default value for ARG busybox:$VERSION results in empty or invalid base image name"
        )
    );
    // Judged on defaults, whatever the build arguments say.
    let o = BuildOptions {
        build_args: [("IMAGE".to_string(), "busybox:latest".to_string())].into(),
        ..BuildOptions::default()
    };
    let r = check("ARG IMAGE\nFROM $IMAGE\n", &o, &NoImages);
    assert_eq!(r.warnings.len(), 1);
    assert_eq!(r.warnings[0].rule, "InvalidDefaultArgInFrom");
    assert!(r.error.is_none());
    assert!(warnings("ARG VERSION=\"latest\"\nFROM busybox:${VERSION}\n").is_empty());
    assert!(warnings("ARG V=\"\"\nFROM busybox:stable${V}\n").is_empty());
}

#[test]
fn from_platform_flag_const_disallowed() {
    assert_eq!(
        warnings("FROM --platform=linux/amd64 scratch\n"),
        vec![w(
            "FromPlatformFlagConstDisallowed",
            1,
            "FROM --platform flag should not use constant value \"linux/amd64\""
        )]
    );
    assert!(warnings("FROM --platform=linux/amd64 scratch AS my_amd64_stage\n").is_empty());
    assert!(warnings("FROM --platform=linux/amd64 scratch AS linux\n").is_empty());
}

#[test]
fn expose_rules() {
    let got = warnings("FROM scratch\nEXPOSE 80/TcP 8080/TCP 8080/udp\n");
    let msgs: Vec<_> = got.iter().map(|w| w.2.as_str()).collect();
    assert_eq!(
        msgs,
        vec![
            "Defined protocol '80/TcP' in EXPOSE instruction should be lowercase",
            "Defined protocol '8080/TCP' in EXPOSE instruction should be lowercase",
        ]
    );
    let got = warnings("FROM scratch\nEXPOSE 127.0.0.1:80:80 [::1]:8080:8080 5000:5000 8000\n");
    assert_eq!(got.len(), 3);
    assert!(got.iter().all(|w| w.0 == "ExposeInvalidFormat"));
    assert!(got.iter().any(|w| w.2 == "EXPOSE instruction should not define an IP address or host-port mapping, found '[::1]:8080:8080'"));
}

#[test]
fn invalid_definition_description_is_experimental() {
    let text = "# check=experimental=InvalidDefinitionDescription\n# bar this is the bar\nARG foo=bar\n# BasE this is the BasE image\nFROM scratch AS base\n# definitely a bad comment\nARG version=latest\n# definitely a bad comment\nARG foo=baz bar=qux baz=quux\n";
    let got: Vec<_> = warnings(text).into_iter().map(|w| (w.1, w.2)).collect();
    assert_eq!(
        got,
        vec![
            (
                3,
                "Comment for ARG should follow the format: `# foo <description>`".into()
            ),
            (
                5,
                "Comment for FROM should follow the format: `# base <description>`".into()
            ),
            (
                7,
                "Comment for ARG should follow the format: `# version <description>`".into()
            ),
            (
                9,
                "Comment for ARG should follow the format: `# <arg_key> <description>`".into()
            ),
        ]
    );
    // Not enabled: nothing.
    assert!(warnings("# bad\nFROM scratch AS base\n").is_empty());
    // skip=all does not turn off an explicitly enabled experimental rule.
    let text = "# check=skip=all;experimental=InvalidDefinitionDescription\n# foo this is the foo\nARG foo=bar\n# base the base\nFROM scratch AS base\n#\nARG bit=bat\n";
    assert!(warnings(text).is_empty());
}

#[test]
fn check_directive_options() {
    let text = "#check=skip=all\nFROM scratch as base\ncopy Dockerfile .\n";
    assert!(warnings(text).is_empty());
    let text = "#check=skip=ConsistentInstructionCasing\nFROM scratch as base\ncopy Dockerfile .\n";
    assert_eq!(rules(text), vec!["FromAsCasing"]);
    let text = "#check=skip=ConsistentInstructionCasing;error=true\nFROM scratch as base\ncopy Dockerfile .\n";
    let r = report(text);
    assert_eq!(r.warnings.len(), 1);
    assert_eq!(
        r.error.expect("the test case is valid").to_string(),
        "lint violation found for rules: FromAsCasing"
    );
    let r = report("#check=skip=all;error=true\nFROM scratch as base\n");
    assert!(r.warnings.is_empty() && r.error.is_none());
}

#[test]
fn check_build_arg_replaces_the_directive() {
    let o = BuildOptions {
        build_args: [(
            "BUILDKIT_DOCKERFILE_CHECK".to_string(),
            "skip=ConsistentInstructionCasing;error=true".to_string(),
        )]
        .into(),
        ..BuildOptions::default()
    };
    let r = check(
        "#check=skip=all\nFROM scratch as base\ncopy Dockerfile .\n",
        &o,
        &NoImages,
    );
    assert_eq!(r.warnings.len(), 1);
    assert!(r.error.is_some());
}

#[test]
fn check_comment_applies_to_one_instruction() {
    let text = "FROM scratch\n# check=skip=all // local\nENV password=1\nENV token=2\n";
    assert_eq!(
        warnings(text),
        vec![w(
            "SecretsUsedInArgOrEnv",
            4,
            "Do not use ARG or ENV instructions for sensitive data (ENV \"token\")"
        )]
    );
}

#[test]
fn lint_config_parsing() {
    let c =
        LintConfig::parse("skip=A, B;experimental=all;error=true").expect("the test case is valid");
    assert_eq!(c.skip, vec!["A", "B"]);
    assert!(c.experimental_all && c.error);
    assert_eq!(
        LintConfig::parse("bogus").expect_err("the test case is refused"),
        "invalid check option \"bogus\""
    );
    assert_eq!(
        LintConfig::parse("x=1").expect_err("the test case is refused"),
        "invalid check option \"x\""
    );
    assert!(LintConfig::parse("error=maybe").is_err());
    let r = report("# check=nope\nFROM scratch\n");
    assert_eq!(
        r.error.expect("the test case is valid").to_string(),
        "failed to parse check options: invalid check option \"nope\""
    );
    // The directive is found after a shebang line, and its first word is used.
    let c =
        LintConfig::from_directive("#!/usr/bin/env docker\n# check=skip=A extra words\nFROM x\n")
            .expect("the test case is valid");
    assert_eq!(c.skip, vec!["A"]);
}

#[test]
fn render_like_docker_build_check() {
    let text = "FROM scratch\nCMD mycommand\n";
    let out = render(&report(text), "Dockerfile", text);
    let want = "Check complete, 1 warning has been found!\n\
\n\
WARNING: JSONArgsRecommended - https://docs.docker.com/go/dockerfile/rule/json-args-recommended/\n\
JSON arguments recommended for CMD to prevent unintended behavior related to OS signals\n\
Dockerfile:2\n\
--------------------\n\
\x20  1 |     FROM scratch\n\
\x20  2 | >>> CMD mycommand\n\
\x20  3 |     \n\
--------------------\n";
    assert_eq!(out, want);
}

#[test]
fn render_counts_and_no_warnings() {
    let text = "FROM scratch\nCMD a\nENTRYPOINT b\n";
    assert!(render(&report(text), "Dockerfile", text)
        .starts_with("Check complete, 2 warnings have been found!\n"));
    let text = "FROM scratch\n";
    assert_eq!(
        render(&report(text), "Dockerfile", text),
        "Check complete, no warnings found.\n"
    );
}

#[test]
fn render_context_of_a_multi_line_finding() {
    let text = "FROM scratch\nRUN a\nRUN b\nENV a \\\n  b\nRUN c\nRUN d\nRUN e\n";
    let r = report(text);
    let out = render(&r, "Dockerfile", text);
    assert!(out.contains(
        "Dockerfile:4\n--------------------\n   3 |     RUN b\n   4 | >>> ENV a \\\n   5 | >>>   b\n   6 |     RUN c\n--------------------\n"
    ), "{out}");
}

#[test]
fn render_error_after_warnings() {
    let text = "FROM scratch AS Bad\nBADCMD\n";
    let out = render(&report(text), "Dockerfile", text);
    assert!(out.contains("\nERROR: dockerfile parse error on line 2: unknown instruction: BADCMD\nDockerfile:2\n"), "{out}");
}
