//! The line parser (BuildKit's `parser.Parse`): physical lines to logical instructions.
//!
//! It handles the BOM, parser directives, comments, line continuations with the escape
//! character, empty continuation lines (a warning), the flags of each instruction, the
//! argument form each instruction takes, and heredoc bodies. It does not know what the
//! instructions mean; `crate::instructions` does.

mod directives;
mod heredoc;
pub(crate) mod split;

pub use directives::{find_directive, Directive};
pub use heredoc::{chomp_tabs, parse_heredoc, Heredoc};

use crate::error::{Error, Lines};
pub(crate) use directives::DirectiveParser;
use split::{is_space, Json};

/// One logical instruction as written.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Node {
    /// The instruction word as written (`RUN`, `run`, `Run`).
    pub keyword: String,
    /// The `--name[=value]` words before the arguments, quotes removed.
    pub flags: Vec<String>,
    /// The arguments in BuildKit's flat form: words for most instructions; for ENV and
    /// LABEL triples of key, value and `=` (empty for the legacy `KEY value` form); for
    /// HEALTHCHECK the type (`CMD`/`NONE`) then the command.
    pub args: Vec<String>,
    /// The wrapped instruction of ONBUILD.
    pub sub: Option<Box<Node>>,
    /// The arguments were a JSON array (exec form).
    pub json: bool,
    /// Heredoc bodies, in the order the line opens them.
    pub heredocs: Vec<Heredoc>,
    /// The logical line (continuations joined, comments dropped).
    pub original: String,
    /// First and last physical line, heredoc bodies included.
    pub lines: Lines,
    /// The comment lines right before the instruction (without `#`).
    pub comments: Vec<String>,
}

impl Node {
    /// The keyword in lower case.
    pub fn name(&self) -> String {
        self.keyword.to_ascii_lowercase()
    }

    /// BuildKit's `nodeArgs`: ONBUILD's wrapped instruction is flattened into its word
    /// and its arguments.
    pub fn flat_args(&self) -> Vec<String> {
        match &self.sub {
            Some(sub) => {
                let mut out = vec![sub.keyword.clone()];
                out.extend(sub.flat_args());
                out
            }
            None => self.args.clone(),
        }
    }

    fn can_contain_heredoc(&self) -> bool {
        let node = match (&self.sub, self.name().as_str()) {
            (Some(sub), "onbuild") => sub,
            _ => self,
        };
        matches!(node.name().as_str(), "add" | "copy" | "run") && !node.json
    }
}

/// A warning of the line parser (empty continuation lines).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ParseWarning {
    /// BuildKit's short text: `Empty continuation line found in: RUN ...`.
    pub short: String,
    pub lines: Lines,
}

/// The parsed file.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Ast {
    pub nodes: Vec<Node>,
    /// The escape character in effect (`\` unless `# escape=`).
    pub escape: char,
    pub directives: Vec<Directive>,
    pub warnings: Vec<ParseWarning>,
}

/// The longest line BuildKit's scanner accepts, in bytes without the newline.
const MAX_LINE: usize = 65535;

/// Parses a Dockerfile into logical instructions.
pub fn parse(text: &str) -> Result<Ast, Error> {
    let mut p = Parser {
        lines: text.split_inclusive('\n'),
        too_long: false,
        escape: '\\',
        directives: DirectiveParser::new("#"),
    };
    let mut found = Vec::new();
    let mut nodes: Vec<Node> = Vec::new();
    let mut warnings = Vec::new();
    let mut comments: Vec<String> = Vec::new();
    let mut current = 0usize;

    while let Some(raw) = p.next_line() {
        let raw = if current == 0 {
            raw.strip_prefix('\u{feff}').unwrap_or(raw)
        } else {
            raw
        };
        if is_comment(raw) {
            // BuildKit drops the first byte of the raw line, so an indented comment keeps
            // its `#` here.
            let rest = raw.get(1..).unwrap_or_else(|| {
                raw.char_indices()
                    .nth(1)
                    .map(|(i, _)| &raw[i..])
                    .unwrap_or_default()
            });
            let comment = rest.trim_matches(is_space);
            if comment.is_empty() {
                comments.clear();
            } else {
                comments.push(comment.to_string());
            }
        }
        let (line, directive) = p
            .process_line(raw, true)
            .map_err(|m| Error::syntax(m, Lines::one(current)))?;
        if let Some(d) = directive {
            comments.pop();
            found.push(d);
        }
        current += 1;
        let start = current;
        let (first, mut done) = p.trim_continuation(&line);
        if done && first.is_empty() {
            continue;
        }
        let mut buf = first;
        let mut empty_continuation = false;
        while !done {
            let Some(next) = p.next_line() else { break };
            let (processed, _) = p
                .process_line(next, false)
                .map_err(|m| Error::syntax(m, Lines::one(current)))?;
            current += 1;
            if is_comment(next) {
                continue;
            }
            if processed.trim_start_matches(is_space).is_empty() {
                empty_continuation = true;
                continue;
            }
            let (part, end) = p.trim_continuation(&processed);
            done = end;
            buf.push_str(&part);
        }
        if empty_continuation {
            warnings.push(ParseWarning {
                short: format!("Empty continuation line found in: {buf}"),
                lines: Lines::one(current),
            });
        }
        let mut node = node_from_line(&buf, p.escape, std::mem::take(&mut comments))
            .map_err(|m| Error::syntax(m, Lines::span(start, current)))?;
        if node.can_contain_heredoc() && buf.contains("<<") {
            let docs = heredoc::heredocs_in_line(&buf)
                .map_err(|m| Error::syntax(m, Lines::span(start, current)))?;
            for mut doc in docs {
                let mut terminated = false;
                while let Some(body_line) = p.next_line() {
                    current += 1;
                    let mut candidate = body_line.trim_end_matches(['\r', '\n']);
                    if doc.chomp {
                        candidate = candidate.trim_start_matches('\t');
                    }
                    if candidate == doc.name {
                        terminated = true;
                        break;
                    }
                    doc.content.push_str(body_line);
                }
                if !terminated {
                    return Err(Error::syntax(
                        "unterminated heredoc",
                        Lines::span(start, current),
                    ));
                }
                node.heredocs.push(doc);
            }
        }
        node.lines = Lines::span(start, current);
        nodes.push(node);
    }

    if nodes.is_empty() {
        return Err(Error::syntax(
            "file with no instructions",
            Lines::one(current),
        ));
    }
    if p.too_long {
        return Err(Error::syntax(
            format!("dockerfile line greater than max allowed size of {MAX_LINE}"),
            Lines::one(current),
        ));
    }
    Ok(Ast {
        nodes,
        escape: p.escape,
        directives: found,
        warnings,
    })
}

struct Parser<'a> {
    lines: std::str::SplitInclusive<'a, char>,
    too_long: bool,
    escape: char,
    directives: DirectiveParser,
}

impl<'a> Parser<'a> {
    /// The next physical line with its line ending; stops for good at an overlong line,
    /// as BuildKit's scanner does.
    fn next_line(&mut self) -> Option<&'a str> {
        if self.too_long {
            return None;
        }
        let line = self.lines.next()?;
        let content = line.len() - usize::from(line.ends_with('\n'));
        if content > MAX_LINE {
            self.too_long = true;
            return None;
        }
        Some(line)
    }

    /// Strips the line ending (and indentation on first lines), feeds the directive
    /// parser, and blanks comment lines.
    fn process_line(
        &mut self,
        raw: &str,
        strip_indent: bool,
    ) -> Result<(String, Option<Directive>), String> {
        let mut token = raw.trim_end_matches(['\r', '\n']);
        if strip_indent {
            token = token.trim_start_matches(is_space);
        }
        let mut found = None;
        if let Some(d) = self.directives.parse_line(token)? {
            if d.name == "escape" {
                self.escape = match d.value.as_str() {
                    "`" => '`',
                    "\\" => '\\',
                    other => {
                        return Err(format!(
                            "invalid escape token '{other}' does not match ` or \\"
                        ))
                    }
                };
            }
            found = Some(d);
        }
        if is_comment(token) {
            return Ok((String::new(), found));
        }
        Ok((token.to_string(), found))
    }

    /// Removes a trailing escape character that continues the line. BuildKit's rule:
    /// the escape (then only spaces and tabs) ends the line and is not itself escaped by
    /// the character before it; an escape alone on a line also continues.
    /// Returns the text and whether the logical line ends here.
    fn trim_continuation(&self, line: &str) -> (String, bool) {
        let body = line.trim_end_matches([' ', '\t']);
        let Some(before) = body.strip_suffix(self.escape) else {
            return (line.to_string(), true);
        };
        if before.is_empty() || !before.ends_with(self.escape) {
            return (before.to_string(), false);
        }
        (line.to_string(), true)
    }
}

fn is_comment(line: &str) -> bool {
    line.trim_start_matches(is_space).starts_with('#')
}

/// Builds the node of one logical line (BuildKit's `newNodeFromLine`).
fn node_from_line(line: &str, escape: char, comments: Vec<String>) -> Result<Node, String> {
    let (keyword, flags, rest) = split::split_command(line, escape);
    let mut node = Node {
        keyword,
        flags,
        args: Vec::new(),
        sub: None,
        json: false,
        heredocs: Vec::new(),
        original: line.to_string(),
        lines: Lines::one(0),
        comments,
    };
    match node.name().as_str() {
        "add" | "copy" | "volume" => match split::parse_json(&rest) {
            Json::Strings(v) => {
                node.args = v;
                node.json = true;
            }
            Json::NotStrings => return Err(split::NOT_STRINGS.into()),
            Json::Text => node.args = whitespace_list(&rest),
        },
        "run" | "cmd" | "entrypoint" | "shell" => {
            let (args, json) = maybe_json(&rest)?;
            node.args = args;
            node.json = json;
        }
        "healthcheck" => {
            let sep = rest.find(is_space).unwrap_or(rest.len());
            if sep > 0 {
                let after = rest[sep..].trim_start_matches(is_space);
                let (cmd, json) = maybe_json(after)?;
                node.args = std::iter::once(rest[..sep].to_string())
                    .chain(cmd)
                    .collect();
                node.json = json;
            }
        }
        "from" | "expose" => node.args = whitespace_list(&rest),
        "maintainer" | "stopsignal" | "user" | "workdir" => {
            if !rest.is_empty() {
                node.args = vec![rest];
            }
        }
        "arg" => node.args = split::parse_words(&rest, escape),
        "env" | "label" => {
            let which = if node.name() == "env" { "ENV" } else { "LABEL" };
            for (k, v, delim) in split::parse_name_val(&rest, which, escape)? {
                node.args.push(k);
                node.args.push(v);
                node.args
                    .push(if delim { "=".into() } else { String::new() });
            }
        }
        "onbuild" => {
            if !rest.is_empty() {
                node.sub = Some(Box::new(node_from_line(&rest, escape, Vec::new())?));
            }
        }
        // Unknown instructions are refused later, with their line.
        _ => node.args = vec![String::new()],
    }
    Ok(node)
}

fn whitespace_list(rest: &str) -> Vec<String> {
    if rest.is_empty() {
        return Vec::new();
    }
    split::split_ws(rest, 0)
}

/// RUN/CMD/ENTRYPOINT/SHELL: a JSON array of strings, else the text as one argument.
fn maybe_json(rest: &str) -> Result<(Vec<String>, bool), String> {
    if rest.is_empty() {
        return Ok((Vec::new(), false));
    }
    match split::parse_json(rest) {
        Json::Strings(v) => Ok((v, true)),
        Json::NotStrings => Err(split::NOT_STRINGS.into()),
        Json::Text => Ok((vec![rest.to_string()], false)),
    }
}
