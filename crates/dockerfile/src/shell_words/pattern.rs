//! Shell patterns of `${V#p}`, `${V%p}` and `${V/p/r}`. BuildKit compiles them to Go
//! regular expressions; this matcher reproduces the results of those expressions:
//! leftmost-first matching, `*` greedy or lazy as the form asks, `?` any one character,
//! and neither crossing a newline (Go's `.`).

use std::collections::HashMap;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tok {
    Star,
    Any,
    Lit(char),
}

fn compile(pattern: &str) -> Result<Vec<Tok>, String> {
    let chars: Vec<char> = pattern.chars().collect();
    let mut toks = Vec::with_capacity(chars.len());
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        i += 1;
        match c {
            '*' => toks.push(Tok::Star),
            '?' => toks.push(Tok::Any),
            '\\' => {
                // `\}` and `\/` protect the delimiters of `${}`; the backslash is no part
                // of the pattern.
                if matches!(chars.get(i), Some('}') | Some('/')) {
                    continue;
                }
                match chars.get(i) {
                    Some(&e @ ('*' | '?' | '\\')) => {
                        i += 1;
                        toks.push(Tok::Lit(e));
                    }
                    Some(&e) => return Err(format!("invalid escape '\\{e}'")),
                    None => return Err("invalid escape '\\\u{fffd}'".into()),
                }
            }
            other => toks.push(Tok::Lit(other)),
        }
    }
    Ok(toks)
}

struct Matcher<'a> {
    toks: &'a [Tok],
    text: &'a [char],
    greedy: bool,
    memo: HashMap<(usize, usize), Option<usize>>,
}

impl Matcher<'_> {
    /// The end of the preferred match of `toks[pi..]` starting at `ti`.
    fn at(&mut self, pi: usize, ti: usize) -> Option<usize> {
        if pi == self.toks.len() {
            return Some(ti);
        }
        if let Some(r) = self.memo.get(&(pi, ti)) {
            return *r;
        }
        let r = match self.toks[pi] {
            Tok::Lit(c) => match self.text.get(ti) {
                Some(&t) if t == c => self.at(pi + 1, ti + 1),
                _ => None,
            },
            Tok::Any => match self.text.get(ti) {
                Some(&t) if t != '\n' => self.at(pi + 1, ti + 1),
                _ => None,
            },
            Tok::Star => {
                let max = self.text[ti..].iter().take_while(|c| **c != '\n').count();
                let mut found = None;
                if self.greedy {
                    for k in (0..=max).rev() {
                        if let Some(e) = self.at(pi + 1, ti + k) {
                            found = Some(e);
                            break;
                        }
                    }
                } else {
                    for k in 0..=max {
                        if let Some(e) = self.at(pi + 1, ti + k) {
                            found = Some(e);
                            break;
                        }
                    }
                }
                found
            }
        };
        self.memo.insert((pi, ti), r);
        r
    }
}

/// The first (leftmost) match at or after `from`: `(start, end)` in characters.
fn find(toks: &[Tok], text: &[char], from: usize, greedy: bool) -> Option<(usize, usize)> {
    let mut m = Matcher {
        toks,
        text,
        greedy,
        memo: HashMap::new(),
    };
    (from..=text.len()).find_map(|s| m.at(0, s).map(|e| (s, e)))
}

/// `${V#p}` (lazy) and `${V##p}` (greedy).
pub(super) fn trim_prefix(pattern: &str, value: &str, greedy: bool) -> Result<String, String> {
    let toks = compile(pattern)?;
    let text: Vec<char> = value.chars().collect();
    let mut m = Matcher {
        toks: &toks,
        text: &text,
        greedy,
        memo: HashMap::new(),
    };
    Ok(match m.at(0, 0) {
        Some(end) => text[end..].iter().collect(),
        None => value.to_string(),
    })
}

/// `${V%p}` and `${V%%p}`: the prefix rule on the reversed value and pattern.
pub(super) fn trim_suffix(pattern: &str, value: &str, greedy: bool) -> Result<String, String> {
    let reversed_value: String = value.chars().rev().collect();
    let trimmed = trim_prefix(&reverse_pattern(pattern), &reversed_value, greedy)?;
    Ok(trimmed.chars().rev().collect())
}

/// Reverses a pattern but keeps each `\x` pair in order (`a\*c` -> `c\*a`).
fn reverse_pattern(pattern: &str) -> String {
    let p: Vec<char> = pattern.chars().collect();
    let n = p.len();
    let mut out = vec!['\0'; n];
    let mut i = 0;
    while i < n {
        let out_idx = n - 1 - i;
        if p[i] == '\\' && i != n - 1 {
            out[out_idx - 1] = '\\';
            out[out_idx] = p[i + 1];
            i += 2;
        } else {
            out[out_idx] = p[i];
            i += 1;
        }
    }
    out.into_iter().collect()
}

/// `${V/p/r}` (first match, `r` literal) and `${V//p/r}` (every match, `r` a Go regexp
/// template where `$0` is the match and `$$` a dollar).
pub(super) fn replace(
    pattern: &str,
    value: &str,
    replacement: &str,
    all: bool,
) -> Result<String, String> {
    let toks = compile(pattern)?;
    let text: Vec<char> = value.chars().collect();
    if !all {
        return Ok(match find(&toks, &text, 0, true) {
            Some((s, e)) => {
                let mut out: String = text[..s].iter().collect();
                out.push_str(replacement);
                out.extend(&text[e..]);
                out
            }
            None => value.to_string(),
        });
    }
    let mut out = String::new();
    let mut last_end = 0;
    let mut search = 0;
    while search <= text.len() {
        let Some((s, e)) = find(&toks, &text, search, true) else {
            break;
        };
        out.extend(&text[last_end..s]);
        // An empty match right after a previous match is not replaced again.
        if e > last_end || s == 0 {
            let matched: String = text[s..e].iter().collect();
            out.push_str(&expand_template(replacement, &matched));
        }
        last_end = e;
        if search + 1 > e {
            search += 1;
        } else {
            search = e;
        }
    }
    out.extend(&text[last_end.min(text.len())..]);
    Ok(out)
}

/// Go's `Regexp.Expand` for an expression without groups.
fn expand_template(template: &str, matched: &str) -> String {
    let mut out = String::new();
    let mut rest = template;
    while let Some(i) = rest.find('$') {
        out.push_str(&rest[..i]);
        rest = &rest[i + 1..];
        if let Some(r) = rest.strip_prefix('$') {
            out.push('$');
            rest = r;
            continue;
        }
        let (body, braced) = match rest.strip_prefix('{') {
            Some(b) => (b, true),
            None => (rest, false),
        };
        let name_len: usize = body
            .chars()
            .take_while(|c| c.is_alphabetic() || super::is_go_digit(*c) || *c == '_')
            .map(char::len_utf8)
            .sum();
        if name_len == 0 || (braced && !body[name_len..].starts_with('}')) {
            out.push('$');
            continue;
        }
        let name = &body[..name_len];
        rest = &body[name_len + usize::from(braced)..];
        if name == "0" {
            out.push_str(matched);
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compile_refuses_bad_escapes() {
        assert!(compile("\\").is_err());
        assert!(compile("\\x").is_err());
        assert!(compile("\\\\\\").is_err());
        assert_eq!(
            compile("\\*").expect("the test case is valid"),
            vec![Tok::Lit('*')]
        );
        assert_eq!(
            compile("\\}").expect("the test case is valid"),
            vec![Tok::Lit('}')]
        );
    }

    #[test]
    fn reverse_keeps_escape_pairs() {
        assert_eq!(reverse_pattern("a\\*c"), "c\\*a");
        assert_eq!(reverse_pattern("ab\\"), "\\ba");
        assert_eq!(reverse_pattern("\\\\b"), "b\\\\");
    }

    #[test]
    fn prefix_and_suffix_trimming() {
        assert_eq!(
            trim_prefix("*/", "a/b/c", false).expect("the test case is valid"),
            "b/c"
        );
        assert_eq!(
            trim_prefix("*/", "a/b/c", true).expect("the test case is valid"),
            "c"
        );
        assert_eq!(
            trim_suffix("/*", "a/b/c", false).expect("the test case is valid"),
            "a/b"
        );
        assert_eq!(
            trim_suffix("/*", "a/b/c", true).expect("the test case is valid"),
            "a"
        );
        assert_eq!(
            trim_prefix("x", "abc", true).expect("the test case is valid"),
            "abc"
        );
        // `*` does not cross a newline, like Go's `.`.
        assert_eq!(
            trim_prefix("*c", "ab\nc", true).expect("the test case is valid"),
            "ab\nc"
        );
    }

    #[test]
    fn replace_first_and_all() {
        assert_eq!(
            replace("o", "foo", "0", false).expect("the test case is valid"),
            "f0o"
        );
        assert_eq!(
            replace("o", "foo", "0", true).expect("the test case is valid"),
            "f00"
        );
        assert_eq!(
            replace("", "abc", "-", true).expect("the test case is valid"),
            "-a-b-c-"
        );
        assert_eq!(
            replace("*", "abc", "X", true).expect("the test case is valid"),
            "X"
        );
        assert_eq!(
            replace("b", "abc", "[$0]", true).expect("the test case is valid"),
            "a[b]c"
        );
        assert_eq!(
            replace("b", "abc", "[$0]", false).expect("the test case is valid"),
            "a[$0]c"
        );
        assert_eq!(
            replace("b", "abc", "$$", true).expect("the test case is valid"),
            "a$c"
        );
        assert_eq!(
            replace("b?", "abcbd", "_", true).expect("the test case is valid"),
            "a__"
        );
    }
}
