//! Parser directives: `# syntax=...`, `# escape=...`, `# check=...` at the top of the file.
//!
//! BuildKit's rule: directives are read from the first lines while each is a `#` comment
//! of the form `key=value` with a known key; the first other line (an instruction, a blank
//! line, any other comment) ends them. A key may appear once.

/// One directive, e.g. `escape` = `` ` `` on line 1.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Directive {
    /// Lower-case key: `syntax`, `escape` or `check`.
    pub name: String,
    pub value: String,
    /// 1-based line.
    pub line: usize,
}

const KNOWN: [&str; 3] = ["syntax", "escape", "check"];

/// Reads directives line by line until the first line that is not one.
#[derive(Debug, Default)]
pub(crate) struct DirectiveParser {
    /// The comment prefix: `#` in a Dockerfile, empty for comments already stripped.
    prefix: &'static str,
    line: usize,
    seen: Vec<String>,
    done: bool,
}

impl DirectiveParser {
    pub(crate) fn new(prefix: &'static str) -> DirectiveParser {
        DirectiveParser {
            prefix,
            ..DirectiveParser::default()
        }
    }

    pub(crate) fn starting_at(prefix: &'static str, line: usize) -> DirectiveParser {
        DirectiveParser {
            prefix,
            line,
            ..DirectiveParser::default()
        }
    }

    /// `Ok(Some)` for a directive, `Ok(None)` for anything else (which ends directives),
    /// `Err` for a repeated key.
    pub(crate) fn parse_line(&mut self, line: &str) -> Result<Option<Directive>, String> {
        self.line += 1;
        if self.done {
            return Ok(None);
        }
        let Some(rest) = line.strip_prefix(self.prefix) else {
            self.done = true;
            return Ok(None);
        };
        let Some((key, value)) = split_directive(rest.trim_start()) else {
            self.done = true;
            return Ok(None);
        };
        let key = key.to_ascii_lowercase();
        if !KNOWN.contains(&key.as_str()) {
            self.done = true;
            return Ok(None);
        }
        if self.seen.contains(&key) {
            return Err(format!("only one {key} parser directive can be used"));
        }
        self.seen.push(key.clone());
        Ok(Some(Directive {
            name: key,
            value: value.to_string(),
            line: self.line,
        }))
    }

    pub(crate) fn done(&self) -> bool {
        self.done
    }
}

/// Go's `\s`: ASCII blanks without `\v`.
fn is_re_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\x0c' | '\r')
}

/// `^([a-zA-Z][a-zA-Z0-9]*)\s*=\s*(.+?)\s*$`
fn split_directive(s: &str) -> Option<(&str, &str)> {
    let mut chars = s.char_indices();
    let (_, first) = chars.next()?;
    if !first.is_ascii_alphabetic() {
        return None;
    }
    let key_end = s
        .char_indices()
        .find(|(_, c)| !c.is_ascii_alphanumeric())
        .map(|(i, _)| i)
        .unwrap_or(s.len());
    let key = &s[..key_end];
    let rest = s[key_end..].trim_start_matches(is_re_space);
    let rest = rest.strip_prefix('=')?;
    let value = rest
        .trim_start_matches(is_re_space)
        .trim_end_matches(is_re_space);
    // `.` does not match a newline.
    if value.is_empty() || value.contains('\n') {
        return None;
    }
    Some((key, value))
}

/// The value of directive `key` as BuildKit's `ParseDirective` finds it: after a BOM and a
/// `#!` line, without trimming indentation. Returns the first word of the value and the
/// whole value.
pub fn find_directive(key: &str, text: &str) -> Option<(String, String, usize)> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let (text, start) = match text.split_once('\n') {
        Some((first, rest)) if first.starts_with("#!") => (rest, 1),
        None if text.starts_with("#!") => ("", 1),
        _ => (text, 0),
    };
    let mut parser = DirectiveParser::starting_at("#", start);
    for line in text.lines() {
        if parser.done() {
            break;
        }
        match parser.parse_line(line) {
            Ok(Some(d)) if d.name == key => {
                let first = d.value.split(' ').next().unwrap_or_default().to_string();
                return Some((first, d.value, d.line));
            }
            Ok(_) => {}
            Err(_) => break,
        }
    }
    None
}
