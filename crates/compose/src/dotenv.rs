//! `.env` files as compose-go v2 (`dotenv` package) reads them, and the
//! `format: raw` env files of `docker compose` (docker/cli's env-file reader).
//!
//! # Default format ([`parse`], [`parse_into`])
//!
//! * A UTF-8 byte order mark at the start is ignored.
//! * Blank lines and lines whose first non-blank character is `#` are skipped.
//! * A statement is `KEY=VALUE`, or the YAML-ish `KEY: VALUE`, optionally
//!   preceded by `export` and whitespace. Blanks around the key and before the
//!   value are dropped. Key characters are letters, digits, `_ . - [ ]`; blanks
//!   *inside* a key are checked afterwards, and an ASCII space there is an
//!   error (a tab is not).
//! * A key alone on its line (`KEY`) takes its value from `lookup`, and is
//!   left out when `lookup` does not know it.
//! * Unquoted values run to the end of the line; anything from the first ` #`
//!   (space, hash) is a comment; trailing whitespace is dropped; variables are
//!   then substituted as in compose files (see [`crate::interpolate`]).
//! * `'single quoted'` values are taken as they are, except that `\'` is a
//!   quote; they may span lines.
//! * `"double quoted"` values may span lines; `\"` is a quote, the escapes
//!   `\a \b \f \n \r \t \v \\ \$` and `\0` followed by three octal digits are
//!   decoded (`\$` is a literal `$`), other backslashes stay, and variables
//!   are then substituted.
//! * Text after a closing quote is not an error: it is read as the next
//!   statement (so `A="x" # note` is fine, and `A="x" B=1` defines `B`).
//! * Substitution looks a variable up in `lookup` first and only then among
//!   the variables already read (compose-go's order: the environment wins over
//!   the file).
//!
//! Errors carry compose-go's texts (`line 3: key cannot contain a space`,
//! ...). `docker compose` prefixes them with `failed to read <absolute path>: `
//! for the project `.env` file and for `env_file` entries in this format.
//!
//! # Raw format ([`parse_raw`])
//!
//! One `KEY=VALUE` a line, taken literally: see [`parse_raw`].
//!
//! # Known differences
//!
//! Go's `unicode.IsLetter` (general category L) is approximated by
//! [`char::is_alphabetic`], which also admits the few `Other_Alphabetic`
//! marks; raw files are not limited to Go's 64 KiB line length.

use crate::interpolate;

/// An error while reading an env file. [`Display`](std::fmt::Display) gives
/// compose-go's (or docker/cli's) text; the caller adds the file name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// `line N: key cannot contain a space`
    #[error("line {line}: key cannot contain a space")]
    KeyWithSpace { line: usize },
    /// `line N: unexpected character "&" in variable name "B&=2"`; `statement`
    /// is the rest of the line from the key on.
    #[error(
        "line {line}: unexpected character {} in variable name {}",
        interpolate::go_quote(&character.to_string()),
        interpolate::go_quote(statement)
    )]
    UnexpectedCharacter {
        line: usize,
        character: char,
        statement: String,
    },
    /// `line N: unterminated quoted value "abc`; `value` is the rest of the
    /// line from the opening quote. As in compose-go, `line` counts every
    /// line break up to the end of the file.
    #[error("line {line}: unterminated quoted value {value}")]
    UnterminatedQuote { line: usize, value: String },
    /// `export` followed only by blanks at the end of the file.
    #[error("zero length string")]
    ZeroLengthString,
    /// A substitution in a value failed; shown as compose-go's Go error text
    /// (`Invalid template: "${"`, `required variable X is missing a value:
    /// msg`).
    #[error("{}", .0.go_text())]
    Interpolation(interpolate::Error),
    /// Raw format: a line starting with `=`. `docker compose` prefixes raw
    /// errors with `failed to parse env_file <path>: `.
    #[error("no variable name on line '{line}'")]
    RawNoVariableName { line: String },
    /// Raw format: a blank or tab in the key.
    #[error("variable '{variable}' contains whitespaces")]
    RawWhitespace { variable: String },
}

/// Parses a `.env` file. See [`parse_into`]; this starts from no variables.
pub fn parse(
    src: &str,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<Vec<(String, String)>, Error> {
    let mut vars = Vec::new();
    parse_into(src, &mut vars, lookup)?;
    Ok(vars)
}

/// Parses a `.env` file into `vars`, which acts as compose-go's map: a key
/// already there is overwritten in place (so each key appears once, in order
/// of first appearance, with its last value), a new key is appended.
///
/// Values already in `vars` are visible to substitution after `lookup`, which
/// is how compose-go chains several files (`env_file` lists, `--env-file`
/// repeated): pass the same `vars` to each call. For the project `.env`,
/// `lookup` is the process environment; for a service's `env_file`, compose
/// gives the resolved project environment.
///
/// On error, `vars` holds what was read before the faulty statement.
pub fn parse_into(
    src: &str,
    vars: &mut Vec<(String, String)>,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<(), Error> {
    let src = src.strip_prefix('\u{feff}').unwrap_or(src);
    let mut parser = Parser { line: 1 };
    let mut cutset = src;
    loop {
        cutset = parser.statement_start(cutset);
        if cutset.is_empty() {
            return Ok(());
        }
        let (key, rest, inherited) = parser.key_name(cutset)?;
        if key.contains(' ') {
            return Err(Error::KeyWithSpace { line: parser.line });
        }
        if inherited {
            if let Some(value) = lookup(key) {
                set(vars, key, value);
            }
            cutset = rest;
            continue;
        }
        let (value, rest) = parser.value(rest, vars, lookup)?;
        set(vars, key, value);
        cutset = rest;
    }
}

fn set(vars: &mut Vec<(String, String)>, key: &str, value: String) {
    match vars.iter_mut().find(|(k, _)| k == key) {
        Some(entry) => entry.1 = value,
        None => vars.push((key.to_string(), value)),
    }
}

/// compose-go's `isSpace`: blanks that are not line breaks.
fn is_blank(c: char) -> bool {
    matches!(
        c,
        '\t' | '\u{b}' | '\u{c}' | '\r' | ' ' | '\u{85}' | '\u{a0}'
    )
}

struct Parser {
    line: usize,
}

impl Parser {
    /// Skips whitespace and comment lines, counting line breaks; returns the
    /// text from the next statement on, or `""` at the end.
    fn statement_start<'a>(&mut self, mut src: &'a str) -> &'a str {
        loop {
            let mut found = None;
            for (i, c) in src.char_indices() {
                if c == '\n' {
                    self.line += 1;
                }
                if !c.is_whitespace() {
                    found = Some(i);
                    break;
                }
            }
            let Some(pos) = found else {
                return "";
            };
            src = &src[pos..];
            if !src.starts_with('#') {
                return src;
            }
            match src.find('\n') {
                Some(nl) => src = &src[nl..],
                None => return "",
            }
        }
    }

    /// Reads the key: returns it, the text after its separator (blanks
    /// skipped) and whether it stood alone on its line.
    fn key_name<'a>(&mut self, mut src: &'a str) -> Result<(&'a str, &'a str, bool), Error> {
        if let Some(after) = src.strip_prefix("export") {
            // Go's `\s`: ASCII space, \t, \n, \f, \r.
            if after.starts_with([' ', '\t', '\n', '\u{c}', '\r']) {
                src = after.trim_start_matches(is_blank);
            }
        }
        let mut key = "";
        let mut offset = 0;
        let mut inherited = false;
        for (i, c) in src.char_indices() {
            if is_blank(c) {
                continue;
            }
            match c {
                '=' | ':' | '\n' => {
                    key = &src[..i];
                    offset = i + 1;
                    inherited = c == '\n';
                    break;
                }
                '_' | '.' | '-' | '[' | ']' => {}
                c if c.is_alphabetic() || c.is_numeric() => {}
                c => {
                    return Err(Error::UnexpectedCharacter {
                        line: self.line,
                        character: c,
                        statement: src.split('\n').next().unwrap_or_default().to_string(),
                    });
                }
            }
        }
        if src.is_empty() {
            return Err(Error::ZeroLengthString);
        }
        if inherited && !key.contains(' ') {
            self.line += 1;
        }
        let key = key.trim_end();
        let rest = src[offset..].trim_start_matches(is_blank);
        Ok((key, rest, inherited))
    }

    /// Reads a value: returns it and the text after it.
    fn value<'a>(
        &mut self,
        src: &'a str,
        vars: &[(String, String)],
        lookup: &dyn Fn(&str) -> Option<String>,
    ) -> Result<(String, &'a str), Error> {
        let quote = match src.chars().next() {
            Some(q @ ('"' | '\'')) => q,
            _ => {
                let (value, rest) = src.split_once('\n').unwrap_or((src, ""));
                self.line += 1;
                let value = value.split(" #").next().unwrap_or_default().trim_end();
                return Ok((expand(value, vars, lookup)?, rest));
            }
        };
        let mut chars = String::new();
        let mut escaped = false;
        for (i, c) in src.char_indices().skip(1) {
            if c == '\n' {
                self.line += 1;
            }
            if c != quote {
                if !escaped && c == '\\' {
                    escaped = true;
                    continue;
                }
                if escaped {
                    escaped = false;
                    chars.push('\\');
                }
                chars.push(c);
                continue;
            }
            if escaped {
                escaped = false;
                chars.push(c);
                continue;
            }
            let value = if quote == '"' {
                expand(&expand_escapes(&chars), vars, lookup)?
            } else {
                chars
            };
            return Ok((value, &src[i + 1..]));
        }
        let end = src.find('\n').unwrap_or(src.len());
        Err(Error::UnterminatedQuote {
            line: self.line,
            value: src[..end].to_string(),
        })
    }
}

/// Substitutes variables in a value: `lookup` first, then the file's own.
fn expand(
    value: &str,
    vars: &[(String, String)],
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<String, Error> {
    let mapping =
        |k: &str| lookup(k).or_else(|| vars.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone()));
    interpolate::substitute_logged(value, &mapping, &|k: &str| {
        UNSET.with(|u| u.borrow_mut().push(k.to_string()))
    })
    .map_err(Error::Interpolation)
}

thread_local! {
    /// Unset variables substituted without a default since [`take_unset`] last ran.
    static UNSET: std::cell::RefCell<Vec<String>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// The unset variables the parses since the last call substituted without a default
/// (compose-go warns about each), in order.
pub fn take_unset() -> Vec<String> {
    UNSET.with(|u| std::mem::take(&mut *u.borrow_mut()))
}

/// Decodes the escapes of double-quoted values (`\$` becomes `$$`, which
/// substitution turns into `$`).
fn expand_escapes(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find('\\') {
        out.push_str(&rest[..i]);
        let tail = &rest[i + 1..];
        let Some(c) = tail.chars().next() else {
            out.push('\\');
            rest = tail;
            continue;
        };
        let (replacement, used) = match c {
            'a' => ("\u{7}".to_string(), 1),
            'b' => ("\u{8}".to_string(), 1),
            'f' => ("\u{c}".to_string(), 1),
            'n' => ("\n".to_string(), 1),
            'r' => ("\r".to_string(), 1),
            't' => ("\t".to_string(), 1),
            'v' => ("\u{b}".to_string(), 1),
            '"' => ("\"".to_string(), 1),
            '\\' => ("\\".to_string(), 1),
            '$' => ("$$".to_string(), 1),
            // In the escape set, but not a Go escape: kept.
            'c' => ("\\c".to_string(), 1),
            '0' => {
                let digits = tail[1..]
                    .bytes()
                    .take(3)
                    .take_while(u8::is_ascii_digit)
                    .count();
                let digits_str = &tail[1..1 + digits];
                // On failure compose-go keeps its rewritten `\ddd`, without the 0.
                (
                    octal(digits_str).unwrap_or_else(|| format!("\\{digits_str}")),
                    1 + digits,
                )
            }
            _ => ("\\".to_string(), 0),
        };
        out.push_str(&replacement);
        rest = &tail[used..];
    }
    out.push_str(rest);
    out
}

/// `\0ddd`, read by Go as the octal escape `\ddd`: exactly three octal
/// digits, at most 255.
fn octal(digits: &str) -> Option<String> {
    if digits.len() != 3 || !digits.bytes().all(|b| (b'0'..=b'7').contains(&b)) {
        return None;
    }
    let v = u32::from_str_radix(digits, 8).ok()?;
    if v > 255 {
        return None;
    }
    char::from_u32(v).map(String::from)
}

/// Parses an env file in `format: raw`, as docker/cli's env-file reader in
/// `docker compose` v2.40.3 does:
///
/// * lines end at `\n` (a `\r` before it is dropped); a UTF-8 byte order mark
///   at the start is ignored;
/// * leading whitespace is dropped; empty lines and lines starting with `#`
///   are skipped;
/// * `KEY=VALUE` splits at the first `=`; the value is kept exactly (quotes,
///   `$`, `#`, trailing blanks and all); there is no `export` and no `:` form;
/// * a line without `=` is a key whose value comes from `lookup` (the whole
///   line is the key); it is left out when `lookup` does not know it;
/// * a key containing a space or tab, or an empty key, is an error.
///
/// The result is in file order with one entry per key (first appearance, last
/// value), like [`parse`].
pub fn parse_raw(
    src: &str,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<Vec<(String, String)>, Error> {
    let src = src.strip_prefix('\u{feff}').unwrap_or(src);
    let mut vars = Vec::new();
    let mut lines: Vec<&str> = src.split('\n').collect();
    if src.ends_with('\n') || src.is_empty() {
        lines.pop();
    }
    for raw in lines {
        let raw = raw.strip_suffix('\r').unwrap_or(raw);
        let line = raw.trim_start();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (variable, value) = match line.split_once('=') {
            Some((k, v)) => (k, Some(v)),
            None => (line, None),
        };
        if variable.is_empty() {
            return Err(Error::RawNoVariableName {
                line: line.to_string(),
            });
        }
        if variable.contains([' ', '\t']) {
            return Err(Error::RawWhitespace {
                variable: variable.to_string(),
            });
        }
        match value {
            Some(v) => set(&mut vars, variable, v.to_string()),
            None => {
                if let Some(v) = lookup(line) {
                    set(&mut vars, line, v);
                }
            }
        }
    }
    Ok(vars)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let pairs: Vec<(String, String)> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k: &str| pairs.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone())
    }

    fn p(src: &str) -> Vec<(String, String)> {
        parse(src, &env(&[])).expect("no error")
    }

    fn pe(src: &str, pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        parse(src, &env(pairs)).expect("no error")
    }

    fn err(src: &str) -> String {
        parse(src, &env(&[])).expect_err("an error").to_string()
    }

    fn v(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn simple_pairs_in_order() {
        assert_eq!(p("B=2\nA=1\n"), v(&[("B", "2"), ("A", "1")]));
        assert_eq!(p("A=1"), v(&[("A", "1")]));
        assert_eq!(p(""), v(&[]));
    }

    #[test]
    fn duplicates_keep_first_position_last_value() {
        assert_eq!(p("A=1\nB=2\nA=3\n"), v(&[("A", "3"), ("B", "2")]));
    }

    #[test]
    fn comments_and_blank_lines() {
        assert_eq!(
            p("# comment\n\n   \n  # indented\nA=1\n#last"),
            v(&[("A", "1")])
        );
    }

    #[test]
    fn inline_comment_needs_a_space() {
        assert_eq!(
            p("A=a # c\nB=a#c\nC=a\t#c\n"),
            v(&[("A", "a"), ("B", "a#c"), ("C", "a\t#c")])
        );
    }

    #[test]
    fn blanks_around_key_and_value() {
        assert_eq!(p("  A = 1  \n\tB\t=\t2\t\n"), v(&[("A", "1"), ("B", "2")]));
    }

    #[test]
    fn empty_values() {
        // `D=  # c`: the blanks before the value are skipped, so there is no
        // ` #` left to start a comment.
        assert_eq!(
            p("A=\nB=''\nC=\"\"\nD=  # c\n"),
            v(&[("A", ""), ("B", ""), ("C", ""), ("D", "# c")])
        );
    }

    #[test]
    fn export_prefix() {
        assert_eq!(
            p("export A=1\nexport   B=2\nexportC=3\n"),
            v(&[("A", "1"), ("B", "2"), ("exportC", "3")])
        );
    }

    #[test]
    fn yaml_style_colon() {
        assert_eq!(p("A: 1\nB:2\n"), v(&[("A", "1"), ("B", "2")]));
    }

    #[test]
    fn equals_in_value() {
        assert_eq!(p("A=b=c\n"), v(&[("A", "b=c")]));
    }

    #[test]
    fn key_alone_is_looked_up() {
        assert_eq!(
            pe("A\nNOPE\nB=1\n", &[("A", "env")]),
            v(&[("A", "env"), ("B", "1")])
        );
        assert_eq!(pe("A", &[("A", "env")]), v(&[("", "A")]));
    }

    #[test]
    fn key_characters() {
        assert_eq!(
            p("a.b-c[0]_D=1\nÉté=2\n"),
            v(&[("a.b-c[0]_D", "1"), ("Été", "2")])
        );
    }

    #[test]
    fn single_quotes_are_raw() {
        assert_eq!(
            pe("A='$X ${Y} \\n'\n", &[("X", "x")]),
            v(&[("A", "$X ${Y} \\n")])
        );
        assert_eq!(p("A='it\\'s'\n"), v(&[("A", "it's")]));
        assert_eq!(p("A='a # b'\n"), v(&[("A", "a # b")]));
    }

    #[test]
    fn double_quote_escapes() {
        assert_eq!(
            p(r#"A="a\nb\tc\"d\\e\'f\xg\c""#),
            v(&[("A", "a\nb\tc\"d\\e\\'f\\xg\\c")])
        );
        assert_eq!(
            p(r#"A="\a\b\f\r\v""#),
            v(&[("A", "\u{7}\u{8}\u{c}\r\u{b}")])
        );
    }

    #[test]
    fn double_quote_octal() {
        assert_eq!(
            p(r#"A="\0123\0\01\0400\0777x""#),
            v(&[("A", "S\\\\1\\400\\777x")])
        );
        assert_eq!(p(r#"A="\01234""#), v(&[("A", "S4")]));
    }

    #[test]
    fn dollar_escapes() {
        assert_eq!(
            pe("A=\"\\$X\"\nB=$$X\nC=\"$$X\"\n", &[("X", "x")]),
            v(&[("A", "$X"), ("B", "$X"), ("C", "$X")])
        );
    }

    #[test]
    fn multiline_quoted_values() {
        assert_eq!(
            p("A=\"one\ntwo\"\nB='x\ny'\nC=3\n"),
            v(&[("A", "one\ntwo"), ("B", "x\ny"), ("C", "3")])
        );
    }

    #[test]
    fn text_after_closing_quote_is_a_new_statement() {
        assert_eq!(p("A=\"x\" # note\nB=1\n"), v(&[("A", "x"), ("B", "1")]));
        assert_eq!(p("A=\"x\" C=2\n"), v(&[("A", "x"), ("C", "2")]));
    }

    #[test]
    fn expansion_uses_earlier_values() {
        assert_eq!(
            p("A=1\nB=$A\nC=\"${A}-${B}\"\nD=${NOPE:-d}\n"),
            v(&[("A", "1"), ("B", "1"), ("C", "1-1"), ("D", "d")])
        );
        // Later definitions are not visible.
        assert_eq!(p("B=$A\nA=1\n"), v(&[("B", ""), ("A", "1")]));
    }

    #[test]
    fn lookup_wins_over_the_file() {
        assert_eq!(
            pe("A=file\nB=$A\n", &[("A", "env")]),
            v(&[("A", "file"), ("B", "env")])
        );
    }

    #[test]
    fn parse_into_sees_previous_files() {
        let mut vars = v(&[("A", "first")]);
        parse_into("B=$A\nA=second\n", &mut vars, &env(&[])).expect("no error");
        assert_eq!(vars, v(&[("A", "second"), ("B", "first")]));
    }

    #[test]
    fn byte_order_mark() {
        assert_eq!(p("\u{feff}A=1\n"), v(&[("A", "1")]));
    }

    #[test]
    fn crlf_line_endings() {
        assert_eq!(p("A=1\r\nB=\"2\"\r\n"), v(&[("A", "1"), ("B", "2")]));
    }

    #[test]
    fn error_key_with_space() {
        assert_eq!(err("A=1\n\nB C=2\n"), "line 3: key cannot contain a space");
    }

    #[test]
    fn key_with_trailing_blank_alone_does_not_count_its_line() {
        // compose-go skips the line count for `A ` alone on its line.
        assert_eq!(
            err("A \nB=1\nC D=2\n"),
            "line 2: key cannot contain a space"
        );
    }

    #[test]
    fn tab_inside_key_is_accepted() {
        assert_eq!(p("A\tB=1\n"), v(&[("A\tB", "1")]));
    }

    #[test]
    fn error_unexpected_character() {
        assert_eq!(
            err("A\\tB=1\n"),
            "line 1: unexpected character \"\\\\\" in variable name \"A\\\\tB=1\""
        );
        assert_eq!(
            err("A=1\nB&=2\n"),
            "line 2: unexpected character \"&\" in variable name \"B&=2\""
        );
        assert_eq!(
            err("export $A=1\n"),
            "line 1: unexpected character \"$\" in variable name \"$A=1\""
        );
    }

    #[test]
    fn error_unterminated_quote() {
        assert_eq!(err("V=\"abc\n"), "line 2: unterminated quoted value \"abc");
        assert_eq!(
            err("A=1\nV='abc\nB=2\n"),
            "line 4: unterminated quoted value 'abc"
        );
    }

    #[test]
    fn error_interpolation() {
        assert_eq!(err("V=${\n"), "Invalid template: \"${\"");
        assert_eq!(
            err("V=${X:?oops}\n"),
            "required variable X is missing a value: oops"
        );
        assert_eq!(
            err("V=\"${X?}\"\n"),
            "required variable X is missing a value"
        );
    }

    #[test]
    fn error_zero_length() {
        assert_eq!(err("export "), "zero length string");
    }

    #[test]
    fn spec_examples() {
        // compose-spec 05-services.md, "Env_file format".
        let src = concat!(
            "A=\"VAL # not a comment\"\n",
            "B=\"VAL\" # comment\n",
            "C='Let\\'s go!'\n",
            "D=\"{\\\"hello\\\": \\\"json\\\"}\"\n",
            "E=\"some\\tvalue\"\n",
            "F='some\\tvalue'\n",
            "G=some\\tvalue\n",
            "H='$OTHER'\n",
            "I='${OTHER}'\n",
            "J=$OTHER\n",
            "K=\"$OTHER\"\n",
            "L=VAL# not a comment\n",
            "M=VAL # comment\n",
        );
        assert_eq!(
            pe(src, &[("OTHER", "o")]),
            v(&[
                ("A", "VAL # not a comment"),
                ("B", "VAL"),
                ("C", "Let's go!"),
                ("D", "{\"hello\": \"json\"}"),
                ("E", "some\tvalue"),
                ("F", "some\\tvalue"),
                ("G", "some\\tvalue"),
                ("H", "$OTHER"),
                ("I", "${OTHER}"),
                ("J", "o"),
                ("K", "o"),
                ("L", "VAL# not a comment"),
                ("M", "VAL"),
            ])
        );
    }

    #[test]
    fn spec_key_without_value_is_unset() {
        // `=VAL` may be omitted: the variable is unset unless the lookup
        // knows it.
        assert_eq!(p("VAR\n"), v(&[]));
        assert_eq!(p("VAR=\n"), v(&[("VAR", "")]));
    }

    #[test]
    fn raw_values_are_literal() {
        let got = parse_raw(
            "A=\"q\"\n  B=c \nC=$V ${V}\n# c\n\n D=x # y\nV\nNOPE\nE=a=b\nF='s'\nX=\r\n",
            &env(&[("V", "fromenv")]),
        )
        .expect("no error");
        assert_eq!(
            got,
            v(&[
                ("A", "\"q\""),
                ("B", "c "),
                ("C", "$V ${V}"),
                ("D", "x # y"),
                ("V", "fromenv"),
                ("E", "a=b"),
                ("F", "'s'"),
                ("X", ""),
            ])
        );
    }

    #[test]
    fn raw_errors() {
        let e = |s: &str| parse_raw(s, &env(&[])).expect_err("an error").to_string();
        assert_eq!(e("  B = c\n"), "variable 'B ' contains whitespaces");
        assert_eq!(
            e("export X=1\n"),
            "variable 'export X' contains whitespaces"
        );
        assert_eq!(e("=1\n"), "no variable name on line '=1'");
    }

    #[test]
    fn raw_bom_and_colon() {
        assert_eq!(
            parse_raw("\u{feff}BOM=1\nA:1\n", &env(&[])).expect("no error"),
            v(&[("BOM", "1")])
        );
    }
}
