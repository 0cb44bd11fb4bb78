//! Splitting one logical line into its instruction word, its `--flags` and its arguments,
//! and the per-instruction argument forms (BuildKit's `split_command.go` and
//! `line_parsers.go`): JSON arrays, whitespace lists, quoted words, `key=value` lists.

/// Go's `unicode.IsSpace`.
pub(crate) fn is_space(c: char) -> bool {
    c.is_whitespace()
}

/// BuildKit's `reWhitespace`: `[\t\v\f\r ]+`.
fn is_ws_sep(c: char) -> bool {
    matches!(c, '\t' | '\x0b' | '\x0c' | '\r' | ' ')
}

/// Splits on runs of `[\t\v\f\r ]`, at most `limit` parts (0 = no limit), like Go's
/// `Regexp.Split` (an empty string gives one empty part).
pub(crate) fn split_ws(s: &str, limit: usize) -> Vec<String> {
    let mut parts = Vec::new();
    let mut rest = s;
    loop {
        if limit != 0 && parts.len() + 1 == limit {
            parts.push(rest.to_string());
            return parts;
        }
        match rest.find(is_ws_sep) {
            Some(i) => {
                parts.push(rest[..i].to_string());
                rest = rest[i..].trim_start_matches(is_ws_sep);
            }
            None => {
                parts.push(rest.to_string());
                return parts;
            }
        }
    }
}

/// `(instruction, flags, arguments)` of a logical line.
pub(crate) fn split_command(line: &str, escape: char) -> (String, Vec<String>, String) {
    let parts = split_ws(line.trim_matches(is_space), 2);
    let cmd = parts.first().cloned().unwrap_or_default();
    let (args, flags) = match parts.get(1) {
        Some(rest) => extract_flags(rest, escape),
        None => (String::new(), Vec::new()),
    };
    (cmd, flags, args.trim_matches(is_space).to_string())
}

/// Leading `--name[=value]` words (quotes and escapes processed) and the rest of the line.
///
/// BuildKit walks this part byte by byte, so a non-ASCII byte becomes the Latin-1
/// character of the same value (and 0x85/0xA0 count as spaces); kept for exactness.
fn extract_flags(line: &str, escape: char) -> (String, Vec<String>) {
    #[derive(PartialEq)]
    enum Phase {
        Spaces,
        Word,
        Quote,
    }
    let bytes = line.as_bytes();
    let rest_from = |pos: usize| String::from_utf8_lossy(&bytes[pos..]).into_owned();
    let mut words = Vec::new();
    let mut phase = Phase::Spaces;
    let mut word = String::new();
    let mut quote = '\0';
    let mut blank_ok = false;
    let mut pos = 0;
    while pos <= bytes.len() {
        let at_end = pos == bytes.len();
        let mut ch = if at_end { '\0' } else { char::from(bytes[pos]) };
        if phase == Phase::Spaces {
            if at_end {
                break;
            }
            if is_space(ch) {
                pos += 1;
                continue;
            }
            if ch != '-' || pos + 1 == bytes.len() || bytes[pos + 1] != b'-' {
                return (rest_from(pos), words);
            }
            phase = Phase::Word;
        }
        if at_end {
            if word != "--" && (blank_ok || !word.is_empty()) {
                words.push(word);
            }
            break;
        }
        if phase == Phase::Word {
            if is_space(ch) {
                phase = Phase::Spaces;
                if word == "--" {
                    return (rest_from(pos), words);
                }
                if blank_ok || !word.is_empty() {
                    words.push(std::mem::take(&mut word));
                }
                word.clear();
                blank_ok = false;
                pos += 1;
                continue;
            }
            if ch == '\'' || ch == '"' {
                quote = ch;
                blank_ok = true;
                phase = Phase::Quote;
                pos += 1;
                continue;
            }
            if ch == escape {
                if pos + 1 == bytes.len() {
                    pos += 1;
                    continue;
                }
                pos += 1;
                ch = char::from(bytes[pos]);
            }
            word.push(ch);
            pos += 1;
            continue;
        }
        // Inside quotes.
        if ch == quote {
            phase = Phase::Word;
            pos += 1;
            continue;
        }
        if ch == escape {
            if pos + 1 == bytes.len() {
                phase = Phase::Word;
                pos += 1;
                continue;
            }
            pos += 1;
            ch = char::from(bytes[pos]);
        }
        word.push(ch);
        pos += 1;
    }
    (String::new(), words)
}

/// Words separated by spaces; quotes and escapes are kept in the words (they are
/// processed later by expansion), but spaces inside quotes do not split.
pub(crate) fn parse_words(rest: &str, escape: char) -> Vec<String> {
    #[derive(PartialEq)]
    enum Phase {
        Spaces,
        Word,
        Quote,
    }
    let chars: Vec<char> = rest.chars().collect();
    let mut words = Vec::new();
    let mut phase = Phase::Spaces;
    let mut quote = '\0';
    let mut blank_ok = false;
    let mut word = String::new();
    let mut pos = 0;
    while pos <= chars.len() {
        let at_end = pos == chars.len();
        let mut ch = if at_end { '\0' } else { chars[pos] };
        if phase == Phase::Spaces {
            if at_end {
                break;
            }
            if is_space(ch) {
                pos += 1;
                continue;
            }
            phase = Phase::Word;
        }
        if at_end {
            if blank_ok || !word.is_empty() {
                words.push(word);
            }
            break;
        }
        if phase == Phase::Word {
            if is_space(ch) {
                phase = Phase::Spaces;
                if blank_ok || !word.is_empty() {
                    words.push(std::mem::take(&mut word));
                }
                blank_ok = false;
                pos += 1;
                continue;
            }
            if ch == '\'' || ch == '"' {
                quote = ch;
                blank_ok = true;
                phase = Phase::Quote;
            }
            if ch == escape {
                if pos + 1 == chars.len() {
                    pos += 1;
                    continue;
                }
                word.push(ch);
                pos += 1;
                ch = chars[pos];
            }
            word.push(ch);
            pos += 1;
            continue;
        }
        // Inside quotes: only `'` cannot be escaped.
        if ch == quote {
            phase = Phase::Word;
        }
        if ch == escape && quote != '\'' {
            if pos + 1 == chars.len() {
                phase = Phase::Word;
                pos += 1;
                continue;
            }
            pos += 1;
            word.push(ch);
            ch = chars[pos];
        }
        word.push(ch);
        pos += 1;
    }
    words
}

/// Outcome of trying the JSON (exec) form.
pub(crate) enum Json {
    /// A JSON array of strings.
    Strings(Vec<String>),
    /// Not a JSON array at all: the caller falls back to its text form.
    Text,
    /// A JSON array with something other than strings: an error in BuildKit.
    NotStrings,
}

pub(crate) const NOT_STRINGS: &str =
    "when using JSON array syntax, arrays must be comprised of strings only";

pub(crate) fn parse_json(rest: &str) -> Json {
    let rest = rest.trim_start_matches(is_space);
    if !rest.starts_with('[') {
        return Json::Text;
    }
    let Ok(values) = serde_json::from_str::<Vec<serde_json::Value>>(rest) else {
        return Json::Text;
    };
    let mut out = Vec::with_capacity(values.len());
    for v in values {
        match v {
            serde_json::Value::String(s) => out.push(s),
            _ => return Json::NotStrings,
        }
    }
    Json::Strings(out)
}

/// Key/value triples of ENV and LABEL: `(key, value, has "=")`.
pub(crate) fn parse_name_val(
    rest: &str,
    instruction: &str,
    escape: char,
) -> Result<Vec<(String, String, bool)>, String> {
    let words = parse_words(rest, escape);
    let Some(first) = words.first() else {
        return Ok(Vec::new());
    };
    if !first.contains('=') {
        // Legacy `KEY value with spaces`.
        let parts = split_ws(rest, 2);
        if parts.len() < 2 {
            return Err(format!("{instruction} must have two arguments"));
        }
        return Ok(vec![(parts[0].clone(), parts[1].clone(), false)]);
    }
    let mut out = Vec::with_capacity(words.len());
    for word in &words {
        let Some((k, v)) = word.split_once('=') else {
            return Err(format!(
                "Syntax error - can't find = in {}. Must be of the form: name=value",
                crate::quote::go_quote(word)
            ));
        };
        out.push((k.to_string(), v.to_string(), true));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_are_split_off() {
        let (cmd, flags, args) = split_command("COPY --from=a --chown=\"1 2\" x /y", '\\');
        assert_eq!(cmd, "COPY");
        assert_eq!(flags, vec!["--from=a", "--chown=1 2"]);
        assert_eq!(args, "x /y");
    }

    #[test]
    fn double_dash_ends_flags() {
        let (_, flags, args) = split_command("COPY --doit=true -- --foo /tmp/", '\\');
        assert_eq!(flags, vec!["--doit=true"]);
        assert_eq!(args, "--foo /tmp/");
        let (_, flags, args) = split_command("CMD --doit -- [ ]", '\\');
        assert_eq!(flags, vec!["--doit"]);
        assert_eq!(args, "[ ]");
    }

    #[test]
    fn only_dash_dash_words_are_flags() {
        let (_, flags, args) = split_command("RUN -x --y", '\\');
        assert!(flags.is_empty());
        assert_eq!(args, "-x --y");
    }

    #[test]
    fn words_keep_quotes_and_escapes() {
        assert_eq!(parse_words("foo bar", '\\'), vec!["foo", "bar"]);
        assert_eq!(parse_words("foo\\ bar", '\\'), vec!["foo\\ bar"]);
        assert_eq!(parse_words("'a b' \"c d\"", '\\'), vec!["'a b'", "\"c d\""]);
        assert_eq!(
            parse_words("a=\"x \\\" y\" b", '\\'),
            vec!["a=\"x \\\" y\"", "b"]
        );
        assert_eq!(parse_words("''", '\\'), vec!["''"]);
        assert_eq!(parse_words("a\\", '\\'), vec!["a"]);
    }

    #[test]
    fn json_forms() {
        assert!(matches!(parse_json(r#"["a", "b"]"#), Json::Strings(v) if v == ["a", "b"]));
        assert!(matches!(parse_json("[]"), Json::Strings(v) if v.is_empty()));
        assert!(matches!(parse_json("['a']"), Json::Text));
        assert!(matches!(parse_json(r#"["a""#), Json::Text));
        assert!(matches!(parse_json(r#"[1]"#), Json::NotStrings));
        assert!(matches!(parse_json(r#"[["a"]]"#), Json::NotStrings));
        assert!(matches!(parse_json("echo [x]"), Json::Text));
    }

    #[test]
    fn whitespace_split_like_go() {
        assert_eq!(split_ws("a  b\tc", 0), vec!["a", "b", "c"]);
        assert_eq!(split_ws("a b c", 2), vec!["a", "b c"]);
        assert_eq!(split_ws("", 0), vec![""]);
    }
}
