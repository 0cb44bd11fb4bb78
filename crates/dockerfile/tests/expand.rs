//! Shell-word processing and variable expansion (BuildKit's `shell.Lex`).

use dockerfile::shell_words::{EnvList, Lexer, NoEnv};

fn env() -> EnvList {
    [
        ("HOME", "/home"),
        ("EMPTY", ""),
        ("PATHV", "/usr/local/bin/app.tar.gz"),
        ("SP", "a  b"),
        ("X", "x"),
    ]
    .into_iter()
    .collect()
}

fn w(word: &str) -> String {
    Lexer::new('\\')
        .process_word(word, &env())
        .unwrap_or_else(|e| panic!("{word:?}: {e}"))
        .result
}

fn e(word: &str) -> String {
    Lexer::new('\\')
        .process_word(word, &env())
        .expect_err("the test case is refused")
        .to_string()
}

fn words(word: &str) -> Vec<String> {
    Lexer::new('\\')
        .process_words(word, &env())
        .expect("the test case is valid")
}

#[test]
fn plain_and_braced_variables() {
    assert_eq!(w("$HOME/x"), "/home/x");
    assert_eq!(w("${HOME}x"), "/homex");
    assert_eq!(w("a$UNSET-b"), "a-b");
    assert_eq!(w("${UNSET}"), "");
}

#[test]
fn dollar_without_a_name_is_literal() {
    assert_eq!(w("$"), "$");
    assert_eq!(w("a$.b"), "a$.b");
    assert_eq!(w("cost: 5$"), "cost: 5$");
}

#[test]
fn special_and_positional_parameters_are_looked_up() {
    // `$$`, `$1` and friends name variables BuildKit never sets.
    assert_eq!(w("a$$b"), "ab");
    assert_eq!(w("he$1x"), "hex");
    assert_eq!(w("$12x"), "x");
    let r = Lexer::new('\\')
        .process_word("$$ $1", &NoEnv)
        .expect("the test case is valid");
    assert!(r.unmatched.contains("$") && r.unmatched.contains("1"));
}

#[test]
fn single_quotes_are_literal() {
    assert_eq!(w("'$HOME'"), "$HOME");
    assert_eq!(w("'a\\b'"), "a\\b");
    assert_eq!(w("he'll'o"), "hello");
    assert!(
        e("'open").contains("unexpected end of statement while looking for matching single-quote")
    );
}

#[test]
fn double_quotes_expand_and_escape_few_characters() {
    assert_eq!(w("\"$HOME\""), "/home");
    assert_eq!(w("\"a\\\"b\""), "a\"b");
    assert_eq!(w("\"\\$HOME\""), "$HOME");
    assert_eq!(w("\"a\\tb\""), "a\\tb");
    assert_eq!(w("\"it's\""), "it's");
    assert!(e("\"open").contains("matching double-quote"));
}

#[test]
fn escapes_outside_quotes() {
    assert_eq!(w("a\\tb"), "atb");
    assert_eq!(w("\\$HOME"), "$HOME");
    assert_eq!(w("a\\\\$HOME"), "a\\/home");
    assert_eq!(w("trailing\\"), "trailing");
    assert_eq!(w("\\${}"), "${}");
}

#[test]
fn backtick_escape() {
    let lex = Lexer::new('`');
    assert_eq!(
        lex.process_word("a`$HOME", &env())
            .expect("the test case is valid")
            .result,
        "a$HOME"
    );
    assert_eq!(
        lex.process_word("c:\\dir", &env())
            .expect("the test case is valid")
            .result,
        "c:\\dir"
    );
}

#[test]
fn default_forms_distinguish_unset_and_empty() {
    assert_eq!(w("${UNSET:-d}"), "d");
    assert_eq!(w("${EMPTY:-d}"), "d");
    assert_eq!(w("${X:-d}"), "x");
    assert_eq!(w("${UNSET-d}"), "d");
    assert_eq!(w("${EMPTY-d}"), "");
    assert_eq!(w("${X-d}"), "x");
    assert_eq!(w("${UNSET:-$HOME}"), "/home");
    assert_eq!(w("${UNSET:-${ALSO:-deep}}"), "deep");
    assert_eq!(w("${UNSET:-a b}"), "a b");
}

#[test]
fn alternative_forms() {
    assert_eq!(w("${X:+alt}"), "alt");
    assert_eq!(w("${EMPTY:+alt}"), "");
    assert_eq!(w("${EMPTY+alt}"), "alt");
    assert_eq!(w("${UNSET+alt}"), "");
    assert_eq!(w("${X:+${HOME}:}"), "/home:");
}

#[test]
fn error_forms() {
    assert_eq!(w("${X:?msg}"), "x");
    assert_eq!(w("${EMPTY?msg}"), "");
    assert_eq!(
        e("${UNSET?}"),
        "failed to process \"${UNSET?}\": UNSET: is not allowed to be unset"
    );
    assert_eq!(
        e("${EMPTY:?}"),
        "failed to process \"${EMPTY:?}\": EMPTY: is not allowed to be empty"
    );
    assert_eq!(
        e("${UNSET:?need it $X}"),
        "failed to process \"${UNSET:?need it $X}\": UNSET: need it x"
    );
}

#[test]
fn prefix_and_suffix_removal() {
    assert_eq!(w("${PATHV#*/}"), "usr/local/bin/app.tar.gz");
    assert_eq!(w("${PATHV##*/}"), "app.tar.gz");
    assert_eq!(w("${PATHV%.*}"), "/usr/local/bin/app.tar");
    assert_eq!(w("${PATHV%%.*}"), "/usr/local/bin/app");
    assert_eq!(w("${PATHV#nomatch}"), "/usr/local/bin/app.tar.gz");
    assert_eq!(w("${PATHV%/???.tar.gz}"), "/usr/local/bin");
    assert_eq!(w("${UNSET#x}"), "");
}

#[test]
fn pattern_escapes() {
    let env: EnvList = [("V", "a*b*c")].into_iter().collect();
    let lex = Lexer::new('\\');
    let r = |word: &str| {
        lex.process_word(word, &env)
            .expect("the test case is valid")
            .result
    };
    assert_eq!(r("${V#*\\*}"), "b*c");
    assert_eq!(r("${V%\\**}"), "a*b");
    assert!(lex
        .process_word("${V#\\x}", &env)
        .expect_err("the test case is refused")
        .to_string()
        .contains("invalid escape '\\x'"));
}

#[test]
fn colon_forms_of_trimming_are_refused() {
    assert!(e("${PATHV:#x}").contains("unsupported modifier (:#) in substitution"));
    assert!(e("${PATHV:%x}").contains("unsupported modifier (:%) in substitution"));
}

#[test]
fn replacement() {
    assert_eq!(w("${PATHV/local/opt}"), "/usr/opt/bin/app.tar.gz");
    assert_eq!(w("${PATHV//\\//:}"), ":usr:local:bin:app.tar.gz");
    assert_eq!(w("${PATHV/*./X}"), "Xgz");
    assert_eq!(w("${X/nothing/y}"), "x");
    assert_eq!(w("${UNSET/a/b}"), "");
    assert!(e("${X/a").contains("syntax error: missing '/' in ${}"));
}

#[test]
fn syntax_errors() {
    assert!(e("${}").contains("bad substitution"));
    assert!(e("${:x}").contains("bad substitution"));
    assert!(e("${").contains("missing '}'"));
    assert!(e("${X:-").contains("missing '}'"));
    assert!(e("${X:=y}").contains("unsupported modifier (:=) in substitution"));
    assert!(e("${X").contains("unsupported modifier"));
    assert!(e("${X^}").contains("unsupported modifier (^) in substitution"));
}

#[test]
fn matched_and_unmatched_names_are_reported() {
    let r = Lexer::new('\\')
        .process_word("$HOME ${NOPE:-x} ${ALSO}", &env())
        .expect("the test case is valid");
    assert_eq!(r.matched.iter().collect::<Vec<_>>(), vec!["HOME"]);
    assert_eq!(r.unmatched.iter().collect::<Vec<_>>(), vec!["ALSO", "NOPE"]);
}

#[test]
fn unicode_names_and_values() {
    let env: EnvList = [("이름", "값")].into_iter().collect();
    let r = Lexer::new('\\')
        .process_word("${이름}!", &env)
        .expect("the test case is valid");
    assert_eq!(r.result, "값!");
    assert_eq!(w("안'녕'하세요"), "안녕하세요");
}

#[test]
fn word_splitting_after_expansion() {
    assert_eq!(words("a b  c"), vec!["a", "b", "c"]);
    assert_eq!(words("x${SP}y"), vec!["xa", "by"]);
    assert_eq!(words("x\"${SP}\"y"), vec!["xa  by"]);
    assert_eq!(words("a\\ b"), vec!["a b"]);
    assert_eq!(words("'' x"), vec!["x"]);
}

#[test]
fn word_splitting_loses_text_before_a_nested_form() {
    // BuildKit shares one word buffer with the nested `${...:-...}` word.
    assert_eq!(words("80/${PROTO:-tcp}"), vec!["tcp"]);
    assert_eq!(w("80/${PROTO:-tcp}"), "80/tcp");
}

#[test]
fn options_used_for_heredoc_detection() {
    let mut lex = Lexer::new('\\');
    lex.raw_quotes = true;
    lex.raw_escapes = true;
    lex.skip_unset = true;
    let r = lex
        .process_words("cat <<'EOF' $X $NOPE ${NOPE:-d} a\\ b", &env())
        .expect("the test case is valid");
    assert_eq!(
        r,
        vec!["cat", "<<'EOF'", "x", "$NOPE", "${NOPE:-d}", "a\\ b"]
    );
    let mut lex = Lexer::new('\\');
    lex.skip_quotes = true;
    assert_eq!(
        lex.process_word("'$X' \"$X\"", &env())
            .expect("the test case is valid")
            .result,
        "'x' \"x\""
    );
}
