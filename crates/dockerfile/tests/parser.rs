//! The line parser: directives, comments, continuations, escapes, flags, argument forms,
//! heredocs and line numbers, checked against BuildKit's behaviour.

use dockerfile::lexer::{parse, Ast, Node};
use dockerfile::{Error, Lines};

fn ast(text: &str) -> Ast {
    parse(text).unwrap_or_else(|e| panic!("{text:?}: {e}"))
}

fn node(text: &str) -> Node {
    let a = ast(text);
    assert_eq!(a.nodes.len(), 1, "{:?}", a.nodes);
    a.nodes.into_iter().next().expect("the test case is valid")
}

fn args(text: &str) -> Vec<String> {
    node(text).args
}

fn err(text: &str) -> String {
    parse(text)
        .expect_err("the test case is refused")
        .to_string()
}

#[test]
fn keywords_keep_their_case_and_args_are_split() {
    let n = node("run echo hi\n");
    assert_eq!(n.keyword, "run");
    assert_eq!(n.name(), "run");
    assert_eq!(n.args, vec!["echo hi"]);
    assert!(!n.json);
}

#[test]
fn leading_whitespace_and_crlf_and_bom() {
    let a = ast("\u{feff}FROM a\r\n   RUN x \r\n");
    assert_eq!(a.nodes[0].args, vec!["a"]);
    assert_eq!(a.nodes[1].args, vec!["x"]);
    assert_eq!(a.nodes[1].lines, Lines::one(2));
}

#[test]
fn comments_and_blank_lines_are_skipped() {
    let a = ast("# hello\n\nFROM a\n  # indented comment\nRUN b\n");
    assert_eq!(a.nodes.len(), 2);
    assert_eq!(a.nodes[0].lines, Lines::one(3));
    assert_eq!(a.nodes[1].lines, Lines::one(5));
}

#[test]
fn comments_before_an_instruction_are_kept() {
    let a = ast("# one\n# two\nFROM a\n#\n# three\nRUN b\nRUN c\n");
    assert_eq!(a.nodes[0].comments, vec!["one", "two"]);
    // An empty comment resets the list; an instruction ends it.
    assert_eq!(a.nodes[1].comments, vec!["three"]);
    assert!(a.nodes[2].comments.is_empty());
}

#[test]
fn indented_comment_text_keeps_the_hash_as_buildkit_does() {
    let a = ast("FROM a\n  # note\nRUN b\n");
    assert_eq!(a.nodes[1].comments, vec!["# note"]);
}

#[test]
fn continuation_joins_lines_and_records_the_range() {
    let n = node("RUN echo a \\\n  b \\\n  c\n");
    assert_eq!(n.args, vec!["echo a   b   c"]);
    assert_eq!(n.lines, Lines::span(1, 3));
    assert_eq!(n.original, "RUN echo a   b   c");
}

#[test]
fn continuation_escape_may_be_followed_by_blanks() {
    assert_eq!(args("RUN a \\  \t\nb\n"), vec!["a b"]);
}

#[test]
fn escaped_escape_at_end_is_not_a_continuation() {
    let a = ast("RUN echo a\\\\\nRUN b\n");
    assert_eq!(a.nodes.len(), 2);
    assert_eq!(a.nodes[0].args, vec!["echo a\\\\"]);
}

#[test]
fn lone_escape_line_continues() {
    let n = node("RUN a \\\n\\\n b\n");
    assert_eq!(n.args, vec!["a  b"]);
}

#[test]
fn comments_inside_a_continuation_are_dropped() {
    let n = node("RUN a \\\n# comment\n    # indented\n b\n");
    assert_eq!(n.args, vec!["a  b"]);
    assert_eq!(n.lines, Lines::span(1, 4));
}

#[test]
fn empty_continuation_lines_warn() {
    let a = ast("FROM a\nCOPY x \\\n\n .\n");
    assert_eq!(a.nodes[1].args, vec!["x", "."]);
    assert_eq!(a.warnings.len(), 1);
    assert_eq!(a.warnings[0].lines, Lines::one(4));
    assert_eq!(
        a.warnings[0].short,
        "Empty continuation line found in: COPY x  ."
    );
}

#[test]
fn continuation_at_end_of_file() {
    let n = node("RUN a \\");
    assert_eq!(n.args, vec!["a"]);
}

#[test]
fn escape_directive_switches_to_backtick() {
    let a = ast("# escape=`\nFROM a\nRUN dir c:\\ `\n  /b\n");
    assert_eq!(a.escape, '`');
    assert_eq!(a.nodes[1].args, vec!["dir c:\\   /b"]);
    assert_eq!(a.directives[0].name, "escape");
    assert_eq!(a.directives[0].line, 1);
}

#[test]
fn backslash_is_literal_with_backtick_escape() {
    let a = ast("# escape=`\nFROM a\nRUN echo \\\nRUN b\n");
    assert_eq!(a.nodes.len(), 3);
    assert_eq!(a.nodes[1].args, vec!["echo \\"]);
}

#[test]
fn directives_stop_at_the_first_other_line() {
    // After a blank line, `# escape=` is an ordinary comment.
    let a = ast("\n# escape=`\nFROM a\nRUN a \\\n b\n");
    assert_eq!(a.escape, '\\');
    assert!(a.directives.is_empty());
    // After another comment too.
    let a = ast("# hello\n# escape=`\nFROM a\n");
    assert_eq!(a.escape, '\\');
    // An unknown key ends directives.
    let a = ast("# foo=bar\n# escape=`\nFROM a\n");
    assert_eq!(a.escape, '\\');
}

#[test]
fn several_directives_with_spacing_and_case() {
    let a = ast("#  SYNTAX = docker/dockerfile:1 \n# check=skip=all\n#escape=`\nFROM a\n");
    let names: Vec<_> = a
        .directives
        .iter()
        .map(|d| (d.name.as_str(), d.value.as_str()))
        .collect();
    assert_eq!(
        names,
        vec![
            ("syntax", "docker/dockerfile:1"),
            ("check", "skip=all"),
            ("escape", "`")
        ]
    );
    assert_eq!(a.escape, '`');
    // Directive lines are not comments of the first instruction.
    assert!(a.nodes[0].comments.is_empty());
}

#[test]
fn repeated_directive_is_an_error() {
    assert_eq!(
        err("# escape=`\n# escape=\\\nFROM a\n"),
        "only one escape parser directive can be used"
    );
    assert_eq!(
        err("# syntax=a\n# syntax=b\nFROM a\n"),
        "only one syntax parser directive can be used"
    );
}

#[test]
fn invalid_escape_is_an_error() {
    assert_eq!(
        err("# escape=x\nFROM a\n"),
        "invalid escape token 'x' does not match ` or \\"
    );
}

#[test]
fn empty_files_are_refused() {
    assert_eq!(err(""), "file with no instructions");
    assert_eq!(err("# just a comment\n\n"), "file with no instructions");
    assert_eq!(err("   \n\t\n"), "file with no instructions");
}

#[test]
fn overlong_lines_are_refused() {
    let text = format!("FROM a\nRUN {}\n", "x".repeat(70_000));
    assert_eq!(
        err(&text),
        "dockerfile line greater than max allowed size of 65535"
    );
}

#[test]
fn flags_are_collected_before_arguments() {
    let n = node("COPY --from=build --chown=1:1 a b\n");
    assert_eq!(n.flags, vec!["--from=build", "--chown=1:1"]);
    assert_eq!(n.args, vec!["a", "b"]);
    let n = node("RUN --mount=type=cache,target=/c --network=none make\n");
    assert_eq!(
        n.flags,
        vec!["--mount=type=cache,target=/c", "--network=none"]
    );
    assert_eq!(n.args, vec!["make"]);
}

#[test]
fn flag_values_may_be_quoted() {
    let n = node("COPY --chown=\"a b\" --chmod='7 5' x y\n");
    assert_eq!(n.flags, vec!["--chown=a b", "--chmod=7 5"]);
}

#[test]
fn json_form_for_run_cmd_entrypoint() {
    let n = node("CMD [\"echo\", \"hi there\"]\n");
    assert!(n.json);
    assert_eq!(n.args, vec!["echo", "hi there"]);
    let n = node("ENTRYPOINT [ ]\n");
    assert!(n.json);
    assert!(n.args.is_empty());
}

#[test]
fn malformed_json_falls_back_to_shell_form() {
    for text in [
        "CMD ['echo', 'hi']",
        "CMD [\"echo\", \"hi\"",
        "CMD [\"unterminated]",
        "CMD [\"a\"] trailing",
        "RUN [\"a\",]",
    ] {
        let n = node(text);
        assert!(!n.json, "{text}");
        assert_eq!(n.args.len(), 1, "{text}");
        assert_eq!(
            n.args[0],
            text.split_once(' ').expect("the test case is valid").1,
            "{text}"
        );
    }
}

#[test]
fn json_with_non_strings_is_an_error() {
    assert_eq!(
        err("CMD [\"a\", 1]\n"),
        "when using JSON array syntax, arrays must be comprised of strings only"
    );
    assert!(parse("COPY [[\"a\"], \"b\"]\n").is_err());
}

#[test]
fn json_strings_are_unescaped() {
    let n = node(r#"RUN ["echo", "a\"b", "\u0041", "tab\t"]"#);
    assert_eq!(n.args, vec!["echo", "a\"b", "A", "tab\t"]);
}

#[test]
fn copy_add_volume_split_on_whitespace_or_json() {
    assert_eq!(args("COPY a  b\tc\n"), vec!["a", "b", "c"]);
    assert_eq!(args("ADD [\"a b\", \"c\"]\n"), vec!["a b", "c"]);
    assert_eq!(args("VOLUME /a /b\n"), vec!["/a", "/b"]);
    assert!(node("VOLUME [\"/a\"]\n").json);
}

#[test]
fn single_string_instructions_keep_spaces() {
    assert_eq!(args("USER app user\n"), vec!["app user"]);
    assert_eq!(args("WORKDIR /my dir\n"), vec!["/my dir"]);
    assert_eq!(args("MAINTAINER Jane Doe <j@d>\n"), vec!["Jane Doe <j@d>"]);
    assert_eq!(args("STOPSIGNAL SIGTERM\n"), vec!["SIGTERM"]);
}

#[test]
fn env_forms() {
    assert_eq!(
        args("ENV A=1 B=\"two words\"\n"),
        vec!["A", "1", "=", "B", "\"two words\"", "="]
    );
    assert_eq!(args("ENV A hello  world\n"), vec!["A", "hello  world", ""]);
    assert_eq!(args("ENV A=\n"), vec!["A", "", "="]);
    assert_eq!(
        args("LABEL \"com.x\"=\"v\"\n"),
        vec!["\"com.x\"", "\"v\"", "="]
    );
}

#[test]
fn env_errors() {
    assert_eq!(err("ENV A\n"), "ENV must have two arguments");
    assert_eq!(
        err("ENV A=1 B\n"),
        "Syntax error - can't find = in \"B\". Must be of the form: name=value"
    );
    assert_eq!(err("LABEL A\n"), "LABEL must have two arguments");
}

#[test]
fn arg_keeps_quotes_for_expansion() {
    assert_eq!(args("ARG A=\"x y\" B\n"), vec!["A=\"x y\"", "B"]);
}

#[test]
fn healthcheck_type_then_command() {
    let n = node("HEALTHCHECK --interval=5s CMD curl -f http://x/\n");
    assert_eq!(n.flags, vec!["--interval=5s"]);
    assert_eq!(n.args, vec!["CMD", "curl -f http://x/"]);
    let n = node("HEALTHCHECK CMD [\"curl\", \"x\"]\n");
    assert!(n.json);
    assert_eq!(n.args, vec!["CMD", "curl", "x"]);
    assert_eq!(args("HEALTHCHECK NONE\n"), vec!["NONE"]);
}

#[test]
fn onbuild_wraps_an_instruction() {
    let n = node("ONBUILD RUN --network=none echo hi\n");
    let sub = n.sub.as_ref().expect("the test case is valid");
    assert_eq!(sub.keyword, "RUN");
    assert_eq!(sub.flags, vec!["--network=none"]);
    assert_eq!(n.flat_args(), vec!["RUN", "echo hi"]);
}

#[test]
fn heredoc_body_is_read_after_the_line() {
    let a = ast("FROM a\nRUN <<EOF\necho hi\necho there\nEOF\nRUN b\n");
    let run = &a.nodes[1];
    assert_eq!(run.heredocs.len(), 1);
    let h = &run.heredocs[0];
    assert_eq!((h.name.as_str(), h.expand, h.chomp), ("EOF", true, false));
    assert_eq!(h.content, "echo hi\necho there\n");
    assert_eq!(run.lines, Lines::span(2, 5));
    assert_eq!(a.nodes[2].lines, Lines::one(6));
}

#[test]
fn heredoc_variants() {
    let a = ast(concat!(
        "FROM a\n",
        "RUN <<-IND\n\tx\n\tIND\n",
        "RUN <<'Q'\n$x\nQ\n",
        "RUN 3<<FD\nx\nFD\n",
        "RUN <<EMPTY\nEMPTY\n",
        "COPY <<one <<two /d\n1\none\n2\ntwo\n",
        "RUN \"<<NOT\"\n",
        "RUN <<  SPACED\nSPACED\n",
    ));
    let h = |i: usize| &a.nodes[i].heredocs;
    assert!(h(1)[0].chomp);
    assert_eq!(h(1)[0].content, "\tx\n");
    assert_eq!(h(1)[0].body(), "x\n");
    assert!(!h(2)[0].expand);
    assert_eq!(h(3)[0].fd, 3);
    assert_eq!(h(4)[0].content, "");
    assert_eq!(h(5).len(), 2);
    assert_eq!(
        (h(5)[0].content.as_str(), h(5)[1].content.as_str()),
        ("1\n", "2\n")
    );
    assert!(h(6).is_empty());
    assert_eq!(h(7)[0].name, "SPACED");
}

#[test]
fn heredoc_keeps_comments_and_crlf() {
    let a = ast("FROM a\r\nRUN <<EOF\r\n# not a comment\r\nEOF\r\n");
    assert_eq!(a.nodes[1].heredocs[0].content, "# not a comment\r\n");
}

#[test]
fn heredoc_only_for_run_copy_add_and_not_in_json_form() {
    let a = ast("FROM a\nUSER <<X\nX\n");
    assert!(a.nodes[1].heredocs.is_empty());
    assert_eq!(a.nodes.len(), 3); // `X` is read as an (unknown) instruction
    let a = ast("FROM a\nRUN [\"cat\", \"<<X\"]\n");
    assert!(a.nodes[1].heredocs.is_empty());
}

#[test]
fn heredoc_in_onbuild() {
    let a = ast("FROM a\nONBUILD RUN <<EOF\nhi\nEOF\n");
    assert_eq!(a.nodes[1].heredocs[0].content, "hi\n");
}

#[test]
fn unterminated_heredoc() {
    match parse("FROM a\nRUN <<EOF\nhello\n").expect_err("the test case is refused") {
        Error::Syntax { message, lines } => {
            assert_eq!(message, "unterminated heredoc");
            assert_eq!(lines, Lines::span(2, 3));
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn unknown_instructions_parse_as_lines() {
    let a = ast("FROM a\nFOO bar\n");
    assert_eq!(a.nodes[1].keyword, "FOO");
}
