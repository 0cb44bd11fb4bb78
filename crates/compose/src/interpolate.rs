//! Variable substitution in compose files, as compose-go v2 (`template`
//! package) performs it.
//!
//! The syntax (compose-spec, "Interpolation"):
//!
//! * `$$` is a literal `$`;
//! * `$NAME` and `${NAME}` are replaced by the variable's value, or by the
//!   empty string when it is unset;
//! * `${NAME:-default}` / `${NAME-default}`: `default` when `NAME` is unset or
//!   empty / only when unset;
//! * `${NAME:?message}` / `${NAME?message}`: an error when `NAME` is unset or
//!   empty / only when unset;
//! * `${NAME:+replacement}` / `${NAME+replacement}`: `replacement` when `NAME`
//!   is set and non-empty / set, and the empty string otherwise;
//! * defaults, replacements and messages are themselves substituted, so they
//!   may nest (`${A:-${B:-x}}`); as in compose-go v2.9.1 (the version in
//!   docker compose v2.40.3) this happens whether or not they are used, so an
//!   error inside one is reported even when the variable is set.
//!
//! A name is `[_A-Za-z][_A-Za-z0-9]*`, matched case-insensitively the way Go's
//! `regexp` does, which also admits `ſ` (U+017F) and the Kelvin sign `K`
//! (U+212A). A `$` followed by anything else than `$`, a name or `{` is kept
//! as it is (`$1`, `$-`, a trailing `$`). `${` that does not open a valid
//! braced expression on the same line (`${}`, `${1}`, `${A:x}`, `${A`, a
//! default running over a newline) is an invalid template.
//!
//! compose-go's quirks are reproduced on purpose: the braced expression
//! extends to the *last* `}` of its line, is then cut at the first `}` that
//! closes the opening brace (counting nested `{`, and skipping the character
//! that follows each `{`), and whatever follows that cut is substituted and
//! appended to the value.

/// An error from [`substitute`].
///
/// compose-go reports these with the path of the offending value, which this
/// module does not know. [`Display`](std::fmt::Display) gives the text that comes
/// *after* the path in `docker compose`'s message; [`Error::at_path`] builds
/// the whole message:
///
/// * [`Error::InvalidTemplate`]: `invalid interpolation format for ` + path +
///   Display, where Display is `".\nYou may need to escape any $ with another
///   $.\n"` followed by the template, e.g.
///   `invalid interpolation format for services.a.image.` /
///   `You may need to escape any $ with another $.` / `${`.
/// * [`Error::MissingRequired`]: `error while interpolating ` + path + `: ` +
///   Display, e.g. `error while interpolating services.a.image: required
///   variable A is missing a value: boom`.
///
/// Where compose-go uses the error's own Go text (inside a `.env` file), use
/// [`Error::go_text`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// A `$` starts something that is not a valid substitution. `template` is
    /// the string in which compose-go found it: the whole value, or, when the
    /// fault lies in a nested default/message or in the text after a braced
    /// expression, that inner string.
    #[error(".\nYou may need to escape any $ with another $.\n{template}")]
    InvalidTemplate { template: String },
    /// `${VAR:?reason}` or `${VAR?reason}` with `VAR` missing; `reason` is
    /// already substituted and may be empty.
    #[error("{}", missing_text(variable, reason))]
    MissingRequired { variable: String, reason: String },
}

fn missing_text(variable: &str, reason: &str) -> String {
    if reason.is_empty() {
        format!("required variable {variable} is missing a value")
    } else {
        format!("required variable {variable} is missing a value: {reason}")
    }
}

impl Error {
    /// The full message `docker compose` prints for this error in the value
    /// at `path` (e.g. `services.a.image`).
    pub fn at_path(&self, path: &str) -> String {
        match self {
            Error::InvalidTemplate { .. } => {
                format!("invalid interpolation format for {path}{self}")
            }
            Error::MissingRequired { .. } => {
                format!("error while interpolating {path}: {self}")
            }
        }
    }

    /// The text of compose-go's Go error value itself (`Invalid template:
    /// "${"` or `required variable X is missing a value: msg`), which is what
    /// appears where compose-go does not add a path, e.g. in a `.env` file.
    pub fn go_text(&self) -> String {
        match self {
            Error::InvalidTemplate { template } => {
                format!("Invalid template: {}", go_quote(template))
            }
            Error::MissingRequired { variable, reason } => missing_text(variable, reason),
        }
    }
}

/// Go's `strconv.Quote` (and so `%q` / `%#v`): one implementation for the project.
pub(crate) use dockerfile::go_quote;

/// Substitutes the variables of `template`; `lookup` gives a variable's value
/// (`None` when unset, which differs from `Some("")`).
///
/// Unset variables used without a default become empty strings (compose-go
/// also logs a warning, which is the caller's business). The first error met,
/// left to right, is returned.
pub fn substitute(
    template: &str,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<String, Error> {
    substitute_logged(template, lookup, &|_| {})
}

/// [`substitute`], calling `unset` with the name of each unset variable used without a
/// default (where compose-go logs "The "X" variable is not set").
pub fn substitute_logged(
    template: &str,
    lookup: &dyn Fn(&str) -> Option<String>,
    unset: &dyn Fn(&str),
) -> Result<String, Error> {
    let mut out = String::with_capacity(template.len());
    let mut pos = 0;
    while let Some(m) = find_match(template, pos) {
        out.push_str(&template[pos..m.start]);
        out.push_str(&replace(
            template,
            &template[m.start..m.end],
            m.kind,
            lookup,
            unset,
        )?);
        pos = m.end;
    }
    out.push_str(&template[pos..]);
    Ok(out)
}

/// Whether `s` holds anything [`substitute`] would act on (`$$`, `$NAME`, or
/// `${`, valid or not). When this is false, `substitute(s, _)` is `Ok(s)`.
pub fn has_substitution(s: &str) -> bool {
    find_match(s, 0).is_some()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// `$$`
    Escaped,
    /// `$NAME`
    Named,
    /// `${...}` matching the braced pattern
    Braced,
    /// `${` not followed by a valid braced expression
    Invalid,
}

#[derive(Debug, Clone, Copy)]
struct Match {
    start: usize,
    end: usize,
    kind: Kind,
}

/// Byte length of the name character at the start of `s`, if there is one
/// (`first`: no digits).
fn name_char(s: &str, first: bool) -> Option<usize> {
    let c = s.chars().next()?;
    let ok = c == '_'
        || c.is_ascii_alphabetic()
        || (!first && c.is_ascii_digit())
        // Go's case-insensitive [a-z] also matches these two.
        || c == '\u{17f}'
        || c == '\u{212a}';
    ok.then(|| c.len_utf8())
}

/// Byte length of the name at the start of `s` (0 when none).
fn name_len(s: &str) -> usize {
    let Some(mut n) = name_char(s, true) else {
        return 0;
    };
    while let Some(l) = name_char(&s[n..], false) {
        n += l;
    }
    n
}

/// The leftmost match of compose-go's pattern in `s` at or after `from`.
fn find_match(s: &str, from: usize) -> Option<Match> {
    let bytes = s.as_bytes();
    let mut p = from;
    while p < bytes.len() {
        p += s[p..].find('$')?;
        if let Some(m) = match_at(s, p) {
            return Some(m);
        }
        p += 1;
    }
    None
}

/// The match starting at `p` (where `s[p]` is `$`), if any.
fn match_at(s: &str, p: usize) -> Option<Match> {
    let after = &s[p + 1..];
    let mk = |len: usize, kind: Kind| Match {
        start: p,
        end: p + 1 + len,
        kind,
    };
    match after.as_bytes().first() {
        Some(b'$') => return Some(mk(1, Kind::Escaped)),
        Some(b'{') => {}
        _ => {
            let n = name_len(after);
            return (n > 0).then(|| mk(n, Kind::Named));
        }
    }
    // `${`: braced `NAME` or `NAME` + `:?[-+?]` + `.*` + `}`, else invalid.
    let inner = &after[1..];
    let n = name_len(inner);
    if n > 0 {
        let rest = &inner[n..];
        let rb = rest.as_bytes();
        let body_start = match rb.first() {
            Some(b'}') => return Some(mk(1 + n + 1, Kind::Braced)),
            Some(b':') if matches!(rb.get(1), Some(b'-' | b'+' | b'?')) => Some(2),
            Some(b'-' | b'+' | b'?') => Some(1),
            _ => None,
        };
        if let Some(bs) = body_start {
            // `.` does not match a newline: the body ends at the last `}`
            // before the end of the line.
            let line = match rest[bs..].find('\n') {
                Some(nl) => &rest[bs..bs + nl],
                None => &rest[bs..],
            };
            if let Some(close) = line.rfind('}') {
                return Some(mk(1 + n + bs + close + 1, Kind::Braced));
            }
        }
    }
    Some(mk(1, Kind::Invalid))
}

/// compose-go's `getFirstBraceClosingIndex`: the index of the `}` that brings
/// the brace depth back to zero, where the character after each `{` is not
/// examined.
fn first_closing_brace(s: &[u8]) -> Option<usize> {
    let mut depth: i64 = 0;
    let mut i = 0;
    while i < s.len() {
        if s[i] == b'}' {
            depth -= 1;
            if depth == 0 {
                return Some(i);
            }
        }
        if s[i] == b'{' {
            depth += 1;
            i += 1;
        }
        i += 1;
    }
    None
}

/// The replacement for one match `m` found in `template`.
fn replace(
    template: &str,
    m: &str,
    kind: Kind,
    lookup: &dyn Fn(&str) -> Option<String>,
    unset: &dyn Fn(&str),
) -> Result<String, Error> {
    let plain = |name: &str| {
        let v = lookup(name);
        if v.is_none() {
            unset(name);
        }
        v.unwrap_or_default()
    };
    match kind {
        Kind::Escaped => Ok("$".to_string()),
        Kind::Invalid => Err(Error::InvalidTemplate {
            template: template.to_string(),
        }),
        Kind::Named => Ok(plain(&m[1..])),
        Kind::Braced => {
            let (head, rest) = match first_closing_brace(m.as_bytes()) {
                Some(i) => (&m[..=i], &m[i + 1..]),
                None => (m, ""),
            };
            // `head` is `${` + substitution + `}`.
            let substitution = &head[2..head.len() - 1];
            let n = name_len(substitution);
            let name = &substitution[..n];
            let op_and_arg = &substitution[n..];
            let (colon, op, arg) = match op_and_arg.as_bytes() {
                [] => return Ok(plain(name)),
                [b':', op, ..] => (true, *op, &op_and_arg[2..]),
                [op, ..] => (false, *op, &op_and_arg[1..]),
            };
            // compose-go v2.9.1 (docker compose v2.40.3) substitutes the
            // default / replacement / message before looking at the variable,
            // so its errors count even when it is not used.
            let arg = substitute_logged(arg, lookup, unset)?;
            let value = lookup(name);
            let set = matches!(&value, Some(v) if !(colon && v.is_empty()));
            let result = match op {
                b'-' if set => value.unwrap_or_default(),
                b'-' => arg,
                b'+' if set => arg,
                b'+' => value.unwrap_or_default(),
                _ if set => value.unwrap_or_default(),
                _ => {
                    return Err(Error::MissingRequired {
                        variable: name.to_string(),
                        reason: arg,
                    });
                }
            };
            Ok(result + &substitute_logged(rest, lookup, unset)?)
        }
    }
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

    fn sub(t: &str, pairs: &[(&str, &str)]) -> Result<String, Error> {
        substitute(t, &env(pairs))
    }

    fn ok(t: &str, pairs: &[(&str, &str)]) -> String {
        sub(t, pairs).expect("no error")
    }

    fn invalid(template: &str) -> Error {
        Error::InvalidTemplate {
            template: template.to_string(),
        }
    }

    fn missing(variable: &str, reason: &str) -> Error {
        Error::MissingRequired {
            variable: variable.to_string(),
            reason: reason.to_string(),
        }
    }

    const E: &[(&str, &str)] = &[("FOO", "first"), ("BAR", ""), ("lower", "l"), ("_U", "u")];

    #[test]
    fn plain_text_is_unchanged() {
        assert_eq!(ok("no variables here", E), "no variables here");
        assert_eq!(ok("", E), "");
    }

    #[test]
    fn named_and_braced() {
        assert_eq!(ok("$FOO", E), "first");
        assert_eq!(ok("${FOO}", E), "first");
        assert_eq!(ok("a${FOO}b", E), "afirstb");
        assert_eq!(ok("$FOO-x", E), "first-x");
        assert_eq!(ok("$FOO.x", E), "first.x");
        assert_eq!(ok("$lower $_U", E), "l u");
    }

    #[test]
    fn named_is_greedy() {
        // `$FOOx` is the variable FOOx, not FOO followed by x.
        assert_eq!(ok("$FOOx", E), "");
        assert_eq!(ok("${FOO}x", E), "firstx");
        assert_eq!(ok("$FOO1", &[("FOO1", "one")]), "one");
    }

    #[test]
    fn unset_is_empty() {
        assert_eq!(ok("[$NOPE][${NOPE}]", E), "[][]");
    }

    #[test]
    fn names_are_case_sensitive() {
        assert_eq!(ok("$foo", E), "");
    }

    #[test]
    fn dollar_dollar_escapes() {
        assert_eq!(ok("$$", E), "$");
        assert_eq!(ok("$$FOO", E), "$FOO");
        assert_eq!(ok("$${FOO}", E), "${FOO}");
        assert_eq!(ok("$$$FOO", E), "$first");
        assert_eq!(ok("$$$$", E), "$$");
    }

    #[test]
    fn dollar_before_non_name_is_literal() {
        assert_eq!(ok("$1 $ $- $. $/", E), "$1 $ $- $. $/");
        assert_eq!(ok("cost: 5$", E), "cost: 5$");
    }

    #[test]
    fn go_case_folding_letters_are_names() {
        let e = env(&[("\u{17f}", "longs"), ("\u{212a}A", "kelvin")]);
        assert_eq!(substitute("$\u{17f}", &e).expect("no error"), "longs");
        assert_eq!(substitute("$\u{212a}A", &e).expect("no error"), "kelvin");
        assert_eq!(substitute("$é", &e).expect("no error"), "$é");
    }

    #[test]
    fn default_when_unset_or_empty() {
        assert_eq!(ok("${FOO:-d}", E), "first");
        assert_eq!(ok("${BAR:-d}", E), "d");
        assert_eq!(ok("${NOPE:-d}", E), "d");
        assert_eq!(ok("${NOPE:-}", E), "");
    }

    #[test]
    fn default_when_unset() {
        assert_eq!(ok("${FOO-d}", E), "first");
        assert_eq!(ok("${BAR-d}", E), "");
        assert_eq!(ok("${NOPE-d}", E), "d");
    }

    #[test]
    fn default_may_hold_operators_and_spaces() {
        assert_eq!(ok("${NOPE:-a b:-c-d?e}", E), "a b:-c-d?e");
        assert_eq!(ok("${NOPE-:-x}", E), ":-x");
    }

    #[test]
    fn replacement_when_set() {
        assert_eq!(ok("${FOO:+r}", E), "r");
        assert_eq!(ok("${BAR:+r}", E), "");
        assert_eq!(ok("${NOPE:+r}", E), "");
        assert_eq!(ok("${FOO+r}", E), "r");
        assert_eq!(ok("${BAR+r}", E), "r");
        assert_eq!(ok("${NOPE+r}", E), "");
    }

    #[test]
    fn required_present() {
        assert_eq!(ok("${FOO:?err}", E), "first");
        assert_eq!(ok("${FOO?err}", E), "first");
        assert_eq!(ok("${BAR?err}", E), "");
    }

    #[test]
    fn required_missing() {
        assert_eq!(sub("${NOPE:?boom}", E), Err(missing("NOPE", "boom")));
        assert_eq!(sub("${BAR:?boom}", E), Err(missing("BAR", "boom")));
        assert_eq!(sub("${NOPE?boom}", E), Err(missing("NOPE", "boom")));
        assert_eq!(sub("${NOPE?}", E), Err(missing("NOPE", "")));
        assert_eq!(
            sub("${NOPE:?must be set}", E),
            Err(missing("NOPE", "must be set"))
        );
    }

    #[test]
    fn required_messages_match_compose() {
        assert_eq!(
            missing("A", "boom").to_string(),
            "required variable A is missing a value: boom"
        );
        assert_eq!(
            missing("A", "").to_string(),
            "required variable A is missing a value"
        );
        assert_eq!(
            missing("A", "boom").at_path("services.a.image"),
            "error while interpolating services.a.image: required variable A is missing a value: boom"
        );
    }

    #[test]
    fn invalid_messages_match_compose() {
        assert_eq!(
            invalid("${").at_path("services.a.image"),
            "invalid interpolation format for services.a.image.\nYou may need to escape any $ with another $.\n${"
        );
        assert_eq!(invalid("${").go_text(), "Invalid template: \"${\"");
        assert_eq!(invalid("a\"\n").go_text(), "Invalid template: \"a\\\"\\n\"");
    }

    #[test]
    fn nested_defaults() {
        assert_eq!(ok("${NOPE:-${FOO}}", E), "first");
        assert_eq!(ok("${NOPE:-${NADA:-x}}", E), "x");
        assert_eq!(ok("${NOPE:-${NADA:-${FOO}}}", E), "first");
        assert_eq!(ok("${NOPE:-$FOO}", E), "first");
        assert_eq!(ok("${FOO:+${BAR:-e}}", E), "e");
        assert_eq!(ok("${NOPE:-a$$b}", E), "a$b");
    }

    #[test]
    fn nested_required_message() {
        assert_eq!(
            sub("${NOPE:?need ${FOO}}", E),
            Err(missing("NOPE", "need first"))
        );
        assert_eq!(
            sub("${NOPE:-${NADA:?inner $${C}}}", E),
            Err(missing("NADA", "inner ${C}"))
        );
    }

    #[test]
    fn several_in_one_string() {
        assert_eq!(ok("${FOO:-x} ${NOPE:-y}", E), "first y");
        assert_eq!(ok("${NOPE-a}-${FOO}", E), "a-first");
        assert_eq!(ok("$FOO$FOO", E), "firstfirst");
        assert_eq!(ok("${FOO}${FOO}", E), "firstfirst");
    }

    #[test]
    fn text_after_the_closing_brace() {
        // The braced match runs to the last `}`, is cut at the first closing
        // one, and the rest is substituted separately.
        assert_eq!(ok("${NOPE:-x}}", E), "x}");
        assert_eq!(ok("${NOPE:-x}y}", E), "xy}");
        assert_eq!(ok("{${NOPE:-x}}", E), "{x}");
    }

    #[test]
    fn brace_after_open_brace_is_skipped() {
        // compose-go skips the character after each `{` when closing braces.
        assert_eq!(ok("${NOPE:-{}x}", E), "{}x");
        assert_eq!(ok("${NOPE:-{x}y}", E), "{x}y");
    }

    #[test]
    fn invalid_templates() {
        assert_eq!(sub("${", E), Err(invalid("${")));
        assert_eq!(sub("x${}", E), Err(invalid("x${}")));
        assert_eq!(sub("${1}", E), Err(invalid("${1}")));
        assert_eq!(sub("${FOO", E), Err(invalid("${FOO")));
        assert_eq!(sub("${A:x}", E), Err(invalid("${A:x}")));
        assert_eq!(sub("${A B}", E), Err(invalid("${A B}")));
        assert_eq!(sub("${FOO}${", E), Err(invalid("${FOO}${")));
        assert_eq!(sub("${A-b", E), Err(invalid("${A-b")));
    }

    #[test]
    fn invalid_inside_default_names_the_inner_template() {
        assert_eq!(sub("${NOPE:-${}}", E), Err(invalid("${}")));
        assert_eq!(sub("${NOPE:-x}${}", E), Err(invalid("${}")));
        // The default is substituted even when the variable is set (as in
        // compose-go v2.9.1), so its errors count.
        assert_eq!(sub("${FOO:-${}}", E), Err(invalid("${}")));
        assert_eq!(sub("${FOO:?${NADA:?x}}", E), Err(missing("NADA", "x")));
        assert_eq!(sub("${NOPE:+${NADA?}}", E), Err(missing("NADA", "")));
    }

    #[test]
    fn default_does_not_span_lines() {
        assert_eq!(sub("${A:-a\nb}", E), Err(invalid("${A:-a\nb}")));
        assert_eq!(ok("${NOPE:-a}\n}", E), "a\n}");
    }

    #[test]
    fn first_error_wins() {
        assert_eq!(sub("${A:?one} ${B:?two}", &[]), Err(missing("A", "one")));
        assert_eq!(sub("${A:?one} ${", &[]), Err(missing("A", "one")));
    }

    #[test]
    fn values_are_not_rescanned() {
        assert_eq!(ok("$X", &[("X", "$FOO ${")]), "$FOO ${");
    }

    #[test]
    fn spec_examples() {
        // compose-spec 12-interpolation.md.
        let e = env(&[("FOO", "foo"), ("EMPTY", "")]);
        let s = |t: &str| substitute(t, &e);
        assert_eq!(s("${VARIABLE:-${FOO}}"), Ok("foo".into()));
        assert_eq!(s("${VARIABLE:-${FOO:-default}}"), Ok("foo".into()));
        assert_eq!(s("${VARIABLE:-${NOPE:-default}}"), Ok("default".into()));
        assert_eq!(s("${VARIABLE?$FOO}"), Err(missing("VARIABLE", "foo")));
        assert_eq!(s("${EMPTY:-default}"), Ok("default".into()));
        assert_eq!(s("${EMPTY-default}"), Ok("".into()));
        assert_eq!(s("${EMPTY:?err}"), Err(missing("EMPTY", "err")));
        assert_eq!(s("${EMPTY?err}"), Ok("".into()));
        assert_eq!(
            s("$$VAR_NOT_INTERPOLATED_BY_COMPOSE"),
            Ok("$VAR_NOT_INTERPOLATED_BY_COMPOSE".into())
        );
        // Other shell expansions are not supported: invalid template.
        assert_eq!(
            s("${VARIABLE/foo/bar}"),
            Err(invalid("${VARIABLE/foo/bar}"))
        );
        assert_eq!(s("${#FOO}"), Err(invalid("${#FOO}")));
    }

    #[test]
    fn has_substitution_detects() {
        assert!(!has_substitution("plain"));
        assert!(!has_substitution("$1 $ $-"));
        assert!(has_substitution("$$"));
        assert!(has_substitution("$A"));
        assert!(has_substitution("${"));
        assert!(has_substitution("x ${A:-b}"));
    }
}
