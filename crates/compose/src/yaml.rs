//! Compose files as a tree: YAML read through `saphyr-parser`'s events, with what compose
//! needs and a generic tree would lose: the line of every node (errors name it), the
//! `!reset` / `!override` tags, anchors and aliases resolved, and `<<` merge keys applied as
//! go-yaml v3 applies them (keys written in the mapping win; among merged mappings, the
//! first one wins). Plain scalars resolve by YAML 1.2's core schema, as go-yaml v3 does.

use std::collections::HashMap;

use saphyr_parser::{Event, Parser, ScalarStyle, Span};

/// A node's compose tag.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Tag {
    #[default]
    None,
    /// `!reset`: the value is removed (or emptied) when files merge.
    Reset,
    /// `!override`: the value replaces what earlier files had, without merging.
    Override,
    /// A plain scalar go-yaml v3 reads as a timestamp (`2020-01-01`): compose-go's
    /// schema refuses it where it expects a type (the value stays a string here).
    Timestamp,
}

/// A YAML node with its line (1-based; 0 for nodes made by the loader).
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    pub value: Value,
    pub line: usize,
    pub tag: Tag,
}

/// A node's value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    Seq(Vec<Node>),
    Map(Vec<(String, Node)>),
}

/// A YAML syntax error, with the line go-yaml reports (0: none), printed as go-yaml
/// prints it (`yaml: line 1: did not find expected key`).
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
#[error("{}", self.text())]
pub struct Error {
    pub line: usize,
    pub msg: String,
}

impl Error {
    fn text(&self) -> String {
        if self.line == 0 {
            format!("yaml: {}", self.msg)
        } else {
            format!("yaml: line {}: {}", self.line, self.msg)
        }
    }

    /// A duplicate key (compose-go reports those itself, not as go-yaml's errors).
    pub fn is_duplicate_key(&self) -> bool {
        self.msg.starts_with("mapping key ")
    }
}

/// saphyr's wording of a problem in go-yaml's (libyaml's) words.
fn go_problem(p: &str) -> String {
    match p {
        "expected ',' or ']'" => "did not find expected ',' or ']'".into(),
        "expected ',' or '}'" => "did not find expected ',' or '}'".into(),
        // go-yaml reads on to the end of the file looking for the closing quote.
        "invalid indentation in quoted scalar" => "found unexpected end of stream".into(),
        p if p.starts_with("tabs disallowed") || p.starts_with("unexpected character") => {
            "found character that cannot start any token".into()
        }
        p => p.to_string(),
    }
}

impl Node {
    pub fn new(value: Value) -> Node {
        Node {
            value,
            line: 0,
            tag: Tag::None,
        }
    }

    pub fn str(s: impl Into<String>) -> Node {
        Node::new(Value::Str(s.into()))
    }

    pub fn map(entries: Vec<(String, Node)>) -> Node {
        Node::new(Value::Map(entries))
    }

    pub fn at(mut self, line: usize) -> Node {
        self.line = line;
        self
    }

    pub fn as_str(&self) -> Option<&str> {
        match &self.value {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_map(&self) -> Option<&Vec<(String, Node)>> {
        match &self.value {
            Value::Map(m) => Some(m),
            _ => None,
        }
    }

    pub fn as_map_mut(&mut self) -> Option<&mut Vec<(String, Node)>> {
        match &mut self.value {
            Value::Map(m) => Some(m),
            _ => None,
        }
    }

    pub fn as_seq(&self) -> Option<&Vec<Node>> {
        match &self.value {
            Value::Seq(s) => Some(s),
            _ => None,
        }
    }

    pub fn is_null(&self) -> bool {
        matches!(self.value, Value::Null)
    }

    /// The value under `key` of a mapping.
    pub fn get(&self, key: &str) -> Option<&Node> {
        self.as_map()?
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v)
    }

    pub fn get_mut(&mut self, key: &str) -> Option<&mut Node> {
        self.as_map_mut()?
            .iter_mut()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v)
    }

    /// Set `key` of a mapping (replacing in place, else appending).
    pub fn set(&mut self, key: &str, v: Node) {
        if let Some(m) = self.as_map_mut() {
            if let Some(slot) = m.iter_mut().find(|(k, _)| k == key) {
                slot.1 = v;
            } else {
                m.push((key.to_string(), v));
            }
        }
    }

    pub fn remove(&mut self, key: &str) -> Option<Node> {
        let m = self.as_map_mut()?;
        let i = m.iter().position(|(k, _)| k == key)?;
        Some(m.remove(i).1)
    }

    /// A scalar as text, as Go's `fmt.Sprint` writes it (for values compose turns into
    /// strings: environment, labels, build args, ...).
    pub fn scalar_text(&self) -> Option<String> {
        Some(match &self.value {
            Value::Str(s) => s.clone(),
            Value::Bool(b) => b.to_string(),
            Value::Int(i) => i.to_string(),
            Value::Float(f) => go_float(*f),
            _ => return None,
        })
    }

    /// The tree as JSON (tags dropped).
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::Value as J;
        match &self.value {
            Value::Null => J::Null,
            Value::Bool(b) => J::Bool(*b),
            Value::Int(i) => J::from(*i),
            Value::Float(f) => serde_json::Number::from_f64(*f).map_or(J::Null, J::Number),
            Value::Str(s) => J::String(s.clone()),
            Value::Seq(s) => J::Array(s.iter().map(Node::to_json).collect()),
            Value::Map(m) => J::Object(m.iter().map(|(k, v)| (k.clone(), v.to_json())).collect()),
        }
    }

    /// A JSON value as a tree (line 0).
    pub fn from_json(v: &serde_json::Value) -> Node {
        use serde_json::Value as J;
        Node::new(match v {
            J::Null => Value::Null,
            J::Bool(b) => Value::Bool(*b),
            J::Number(n) => match n.as_i64() {
                Some(i) => Value::Int(i),
                None => Value::Float(n.as_f64().unwrap_or(0.0)),
            },
            J::String(s) => Value::Str(s.clone()),
            J::Array(a) => Value::Seq(a.iter().map(Node::from_json).collect()),
            J::Object(o) => Value::Map(
                o.iter()
                    .map(|(k, v)| (k.clone(), Node::from_json(v)))
                    .collect(),
            ),
        })
    }

    /// A short name of the node's type, as compose-go's schema errors say it.
    pub fn type_name(&self) -> &'static str {
        match &self.value {
            Value::Null => "null",
            Value::Bool(_) => "boolean",
            Value::Int(_) => "integer",
            Value::Float(_) => "number",
            Value::Str(_) => "string",
            Value::Seq(_) => "array",
            Value::Map(_) => "object",
        }
    }
}

/// Visit every node depth first with its path (keys, `[i]` for items); `f` answers
/// whether to go into the node's children.
pub fn visit_mut(n: &mut Node, f: &mut dyn FnMut(&mut Node, &[String]) -> bool) {
    fn go(n: &mut Node, path: &mut Vec<String>, f: &mut dyn FnMut(&mut Node, &[String]) -> bool) {
        if !f(n, path) {
            return;
        }
        match &mut n.value {
            Value::Map(m) => {
                for (k, v) in m.iter_mut() {
                    path.push(k.clone());
                    go(v, path, f);
                    path.pop();
                }
            }
            Value::Seq(items) => {
                for (i, v) in items.iter_mut().enumerate() {
                    path.push(format!("[{i}]"));
                    go(v, path, f);
                    path.pop();
                }
            }
            _ => {}
        }
    }
    go(n, &mut Vec::new(), f)
}

/// Go's `strconv.FormatFloat(f, 'g', -1, 64)` (what go-yaml writes and `fmt.Sprint`
/// gives): the exponent form below 1e-4 and from 1e6 up (`1e+06`, `1.5e+09`).
pub fn go_float(f: f64) -> String {
    if f.is_nan() {
        return "NaN".into();
    }
    if f.is_infinite() {
        return if f > 0.0 {
            "+Inf".into()
        } else {
            "-Inf".into()
        };
    }
    // fmt_g writes the magnitude (its callers put the sign).
    let body = gotemplate::fmt_g(f.abs(), None);
    if f.is_sign_negative() && f != 0.0 {
        format!("-{body}")
    } else {
        body
    }
}

/// Go's `encoding/json` for a float64: plain digits from 1e-6 up to 1e21, the
/// exponent form outside (`1e+21`, `1e-7`).
pub fn go_json_float(f: f64) -> String {
    if !f.is_finite() {
        return go_float(f);
    }
    gotemplate::json_float(f)
}

/// go-yaml v3's `parseTimestamp`: `YYYY-M-D`, optionally with a time (`T`, `t` or a
/// space before it; `H:M:S` with an optional fraction; after `T`/`t` a zone, `Z` or
/// `±hh:mm`), each part in range as Go's `time.Parse` checks it.
pub(crate) fn is_timestamp(s: &str) -> bool {
    go_timestamp(s).is_some()
}

/// A YAML timestamp as Go prints the `time.Time` go-yaml reads from it (RFC 3339 with
/// nanoseconds: `2020-01-01` is `2020-01-01T00:00:00Z`); `None` when it is none.
pub fn go_timestamp(s: &str) -> Option<String> {
    fn num(s: &str, i: &mut usize, min: usize, max: usize) -> Option<u32> {
        let b = s.as_bytes();
        let start = *i;
        while *i < b.len() && *i - start < max && b[*i].is_ascii_digit() {
            *i += 1;
        }
        if *i - start < min {
            return None;
        }
        s[start..*i].parse().ok()
    }
    fn lit(s: &str, i: &mut usize, c: &[u8]) -> bool {
        match s.as_bytes().get(*i) {
            Some(x) if c.contains(x) => {
                *i += 1;
                true
            }
            _ => false,
        }
    }
    let parse = || -> Option<String> {
        let mut i = 0;
        let year = num(s, &mut i, 4, 4)?;
        lit(s, &mut i, b"-").then_some(())?;
        let month = num(s, &mut i, 1, 2)?;
        lit(s, &mut i, b"-").then_some(())?;
        let day = num(s, &mut i, 1, 2)?;
        let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
        let days = match month {
            1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
            4 | 6 | 9 | 11 => 30,
            2 if leap => 29,
            2 => 28,
            _ => return None,
        };
        if day == 0 || day > days {
            return None;
        }
        let date = format!("{year:04}-{month:02}-{day:02}");
        if i == s.len() {
            return Some(format!("{date}T00:00:00Z"));
        }
        let zoned = match s.as_bytes()[i] {
            b'T' | b't' => true,
            b' ' => false,
            _ => return None,
        };
        i += 1;
        let h = num(s, &mut i, 1, 2)?;
        lit(s, &mut i, b":").then_some(())?;
        let m = num(s, &mut i, 1, 2)?;
        lit(s, &mut i, b":").then_some(())?;
        let sec = num(s, &mut i, 1, 2)?;
        if h > 23 || m > 59 || sec > 59 {
            return None;
        }
        let mut frac = String::new();
        if lit(s, &mut i, b".") {
            // Go takes any number of fraction digits (nanoseconds kept).
            let start = i;
            while s.as_bytes().get(i).is_some_and(u8::is_ascii_digit) {
                i += 1;
            }
            (i > start).then_some(())?;
            let digits = s[start..i].chars().take(9).collect::<String>();
            let digits = digits.trim_end_matches('0');
            if !digits.is_empty() {
                frac = format!(".{digits}");
            }
        }
        let mut zone = "Z".to_string();
        if zoned {
            if lit(s, &mut i, b"Z") {
            } else if lit(s, &mut i, b"+-") {
                let sign = s.as_bytes()[i - 1] as char;
                let zh = num(s, &mut i, 2, 2)?;
                lit(s, &mut i, b":").then_some(())?;
                let zm = num(s, &mut i, 2, 2)?;
                if zh > 24 || zm > 60 {
                    return None;
                }
                if zh != 0 || zm != 0 {
                    zone = format!("{sign}{zh:02}:{zm:02}");
                }
            } else {
                return None;
            }
        }
        (i == s.len()).then(|| format!("{date}T{h:02}:{m:02}:{sec:02}{frac}{zone}"))
    };
    parse()
}

/// Resolve a plain scalar by YAML 1.2's core schema (go-yaml v3's resolve).
pub(crate) fn resolve_plain(s: &str) -> Value {
    match s {
        "" | "~" | "null" | "Null" | "NULL" => return Value::Null,
        "true" | "True" | "TRUE" => return Value::Bool(true),
        "false" | "False" | "FALSE" => return Value::Bool(false),
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => {
            return Value::Float(f64::INFINITY)
        }
        "-.inf" | "-.Inf" | "-.INF" => return Value::Float(f64::NEG_INFINITY),
        ".nan" | ".NaN" | ".NAN" => return Value::Float(f64::NAN),
        _ => {}
    }
    let first = s.as_bytes()[0];
    if !(first.is_ascii_digit() || first == b'-' || first == b'+' || first == b'.') {
        return Value::Str(s.to_string());
    }
    let plain: String = s.chars().filter(|c| *c != '_').collect();
    let (neg, body) = match plain.strip_prefix('-') {
        Some(b) => (true, b),
        None => (false, plain.strip_prefix('+').unwrap_or(&plain)),
    };
    let int = if let Some(h) = body.strip_prefix("0x") {
        i64::from_str_radix(h, 16).ok()
    } else if let Some(o) = body.strip_prefix("0o") {
        i64::from_str_radix(o, 8).ok()
    } else if let Some(b) = body.strip_prefix("0b") {
        i64::from_str_radix(b, 2).ok()
    } else if !body.is_empty() && body.bytes().all(|b| b.is_ascii_digit()) {
        // go-yaml v3 reads a leading 0 as octal (YAML 1.1's rule it kept).
        if body.len() > 1 && body.starts_with('0') {
            i64::from_str_radix(body, 8).ok()
        } else {
            body.parse().ok()
        }
    } else {
        None
    };
    if let Some(i) = int {
        return Value::Int(if neg { -i } else { i });
    }
    let float_like = body
        .bytes()
        .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'E' | b'+' | b'-'))
        && body.bytes().any(|b| b.is_ascii_digit());
    if float_like && !s.contains('_') {
        if let Ok(f) = s.parse::<f64>() {
            return Value::Float(f);
        }
    }
    Value::Str(s.to_string())
}

struct Builder<'a> {
    parser: Parser<'a, saphyr_parser::StrInput<'a>>,
    anchors: HashMap<usize, Node>,
    src: &'a str,
    /// The (0-based) first lines of the collections being read: go-yaml names the
    /// innermost one's in a parser error.
    open: Vec<usize>,
}

fn line_of(span: &Span) -> usize {
    span.start.line()
}

impl<'a> Builder<'a> {
    fn next(&mut self) -> Result<(Event<'a>, Span), Error> {
        match self.parser.next_event() {
            Some(Ok(ev)) => Ok(ev),
            Some(Err(e)) => Err(self.go_error(e.marker().line(), e.marker().col(), e.info())),
            None => Err(Error {
                line: 0,
                msg: "unexpected end of input".into(),
            }),
        }
    }

    /// go-yaml's report of a syntax error saphyr found at `line` (1-based), `col`: a
    /// parser error names the line (0-based, as go-yaml does) where the enclosing
    /// collection starts, unless that is the first line; a scanner error names the line
    /// of the problem (1-based); no line when it would be 0.
    fn go_error(&self, line: usize, col: usize, info: &str) -> Error {
        let line0 = line.saturating_sub(1);
        let (context, problem) = match info.split_once(", ") {
            Some((c, p)) if c.starts_with("while ") => (Some(c), p),
            _ => (None, info),
        };
        if problem.contains("unknown anchor") {
            let text = self.src.lines().nth(line0).unwrap_or_default();
            let from: String = text.chars().skip(col).collect();
            let name: String = from
                .split_once('*')
                .map(|(_, n)| n)
                .unwrap_or_default()
                .chars()
                .take_while(|c| !c.is_whitespace() && !",[]{}".contains(*c))
                .collect();
            return Error {
                line: 0,
                msg: format!("unknown anchor '{name}' referenced"),
            };
        }
        // go-yaml reports a bad escape as a scanner error at the quoted scalar.
        let bad_escape = problem.contains("unknown escape character");
        let parser_error = !bad_escape && context.is_some_and(|c| c.starts_with("while parsing"));
        let line = if parser_error {
            match self.open.last() {
                Some(&start) if start != 0 => start,
                _ => line0,
            }
        } else if line0 != 0 {
            line0 + 1
        } else {
            0
        };
        Error {
            line,
            msg: go_problem(problem),
        }
    }

    fn tag(
        t: &Option<std::borrow::Cow<'_, saphyr_parser::Tag>>,
        line: usize,
    ) -> Result<Tag, Error> {
        let Some(t) = t else { return Ok(Tag::None) };
        match (t.handle.as_str(), t.suffix.as_str()) {
            ("!", "reset") => Ok(Tag::Reset),
            ("!", "override") => Ok(Tag::Override),
            // The core schema's own tags (`!!str` and friends) change nothing here.
            ("tag:yaml.org,2002:", _) | ("!!", _) => Ok(Tag::None),
            (h, s) => Err(Error {
                line,
                msg: format!("unsupported tag {h}{s}"),
            }),
        }
    }

    /// The node whose first event is `ev`.
    fn node(&mut self, ev: Event<'a>, span: Span) -> Result<Node, Error> {
        let line = line_of(&span);
        match ev {
            Event::Alias(id) => self.anchors.get(&id).cloned().ok_or(Error {
                line,
                msg: "unknown anchor".into(),
            }),
            Event::Scalar(text, style, anchor, tag) => {
                let t = Self::tag(&tag, line)?;
                let core_str = tag
                    .as_ref()
                    .is_some_and(|t| t.suffix == "str" && t.handle != "!");
                let stamp_tag = tag
                    .as_ref()
                    .is_some_and(|t| t.suffix == "timestamp" && t.handle != "!");
                let plain = style == ScalarStyle::Plain && !core_str;
                let t = if t == Tag::None && (plain || stamp_tag) && is_timestamp(&text) {
                    Tag::Timestamp
                } else {
                    t
                };
                let value = if plain {
                    resolve_plain(&text)
                } else {
                    Value::Str(text.into_owned())
                };
                let n = Node {
                    value,
                    line,
                    tag: t,
                };
                if anchor > 0 {
                    self.anchors.insert(anchor, n.clone());
                }
                Ok(n)
            }
            Event::SequenceStart(anchor, tag) => {
                let t = Self::tag(&tag, line)?;
                let mut items = Vec::new();
                self.open.push(line.saturating_sub(1));
                loop {
                    let (ev, sp) = self.next()?;
                    if matches!(ev, Event::SequenceEnd) {
                        break;
                    }
                    items.push(self.node(ev, sp)?);
                }
                self.open.pop();
                let n = Node {
                    value: Value::Seq(items),
                    line,
                    tag: t,
                };
                if anchor > 0 {
                    self.anchors.insert(anchor, n.clone());
                }
                Ok(n)
            }
            Event::MappingStart(anchor, tag) => {
                let t = Self::tag(&tag, line)?;
                let mut entries: Vec<(String, Node)> = Vec::new();
                let mut merged: Vec<Vec<(String, Node)>> = Vec::new();
                self.open.push(line.saturating_sub(1));
                loop {
                    let (ev, sp) = self.next()?;
                    if matches!(ev, Event::MappingEnd) {
                        self.open.pop();
                        break;
                    }
                    let kline = line_of(&sp);
                    let is_merge =
                        matches!(&ev, Event::Scalar(k, ScalarStyle::Plain, _, None) if k == "<<");
                    let key = self.node(ev, sp)?;
                    let (vev, vsp) = self.next()?;
                    let value = self.node(vev, vsp)?;
                    if is_merge {
                        match value.value {
                            Value::Map(m) => merged.push(m),
                            Value::Seq(items) => {
                                for it in items {
                                    match it.value {
                                        Value::Map(m) => merged.push(m),
                                        _ => {
                                            return Err(Error {
                                                line: kline,
                                                msg: "map merge requires map or sequence of maps as the value".into(),
                                            })
                                        }
                                    }
                                }
                            }
                            _ => {
                                return Err(Error {
                                    line: kline,
                                    msg: "map merge requires map or sequence of maps as the value"
                                        .into(),
                                })
                            }
                        }
                        continue;
                    }
                    let k = match key.scalar_text() {
                        Some(k) => k,
                        None if key.is_null() => "null".to_string(),
                        None => {
                            return Err(Error {
                                line: kline,
                                msg: "invalid map key: a mapping key must be a scalar".into(),
                            })
                        }
                    };
                    if let Some((_, prev)) = entries.iter().find(|(x, _)| *x == k) {
                        return Err(Error {
                            line: kline,
                            msg: format!(
                                "mapping key {k:?} already defined at line {}",
                                prev.line.max(1)
                            ),
                        });
                    }
                    entries.push((k, value));
                }
                for m in merged {
                    for (k, v) in m {
                        if !entries.iter().any(|(x, _)| *x == k) {
                            entries.push((k, v));
                        }
                    }
                }
                let n = Node {
                    value: Value::Map(entries),
                    line,
                    tag: t,
                };
                if anchor > 0 {
                    self.anchors.insert(anchor, n.clone());
                }
                Ok(n)
            }
            other => Err(Error {
                line,
                msg: format!("unexpected {other:?}"),
            }),
        }
    }
}

/// Parse one YAML document (an empty file is `Null`). A second document is refused.
pub fn parse(src: &str) -> Result<Node, Error> {
    // go-yaml reads past a byte order mark at the start.
    let src = src.strip_prefix('\u{feff}').unwrap_or(src);
    let mut b = Builder {
        parser: Parser::new_from_str(src),
        anchors: HashMap::new(),
        src,
        open: Vec::new(),
    };
    let mut doc: Option<Node> = None;
    loop {
        let (ev, sp) = b.next()?;
        match ev {
            Event::StreamStart | Event::DocumentEnd | Event::Nothing => {}
            Event::StreamEnd => break,
            Event::DocumentStart(_) => {
                let (ev, sp) = b.next()?;
                if matches!(ev, Event::DocumentEnd) {
                    continue;
                }
                if doc.is_some() {
                    return Err(Error {
                        line: line_of(&sp),
                        msg: "expected a single document in the stream".into(),
                    });
                }
                doc = Some(b.node(ev, sp)?);
            }
            other => {
                return Err(Error {
                    line: line_of(&sp),
                    msg: format!("unexpected {other:?}"),
                })
            }
        }
    }
    Ok(doc.unwrap_or(Node::new(Value::Null)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_escape_names_its_line() {
        let e = parse("services:\n  app:\n    environment:\n      A: \"ok\"\n      B: \"{\\}\"\n")
            .expect_err("a syntax error");
        assert_eq!(
            e.to_string(),
            "yaml: line 5: found unknown escape character"
        );
    }

    #[test]
    fn byte_order_mark_and_crlf() {
        let n = parse("\u{feff}version: \"3\"\r\nservices:\r\n  web:\r\n    command: |\r\n      a\r\n      b\r\n")
            .expect("the YAML parses");
        assert!(n.get("version").is_some());
        assert_eq!(
            n.get("services")
                .and_then(|s| s.get("web"))
                .and_then(|w| w.get("command"))
                .and_then(Node::as_str),
            Some("a\nb\n")
        );
    }

    #[test]
    fn timestamps_as_go_yaml_reads_them() {
        for t in [
            "2020-01-01",
            "2020-1-1",
            "2001-12-14 21:59:43.10",
            "2001-12-14T21:59:43Z",
            "2001-12-14t21:59:43.10-05:00",
            "2024-02-29",
        ] {
            assert!(is_timestamp(t), "{t}");
        }
        for t in [
            "2001-12-14 21:59:43.10 -5",
            "2023-02-29",
            "2020-13-01",
            "20-01-01",
            "2020-01-01T10:00:00",
            "2020-01-01x",
            "2020-01",
        ] {
            assert!(!is_timestamp(t), "{t}");
        }
        assert_eq!(
            go_timestamp("2020-1-2").as_deref(),
            Some("2020-01-02T00:00:00Z")
        );
        assert_eq!(
            go_timestamp("2001-12-14t21:59:43.10-05:00").as_deref(),
            Some("2001-12-14T21:59:43.1-05:00")
        );
        assert_eq!(
            go_timestamp("2001-12-14 21:59:43.10").as_deref(),
            Some("2001-12-14T21:59:43.1Z")
        );
        let n = parse("a: 2020-01-01\nb: '2020-01-01'\nc: !!timestamp '2020-01-01'\n")
            .expect("the YAML parses");
        let tag = |k: &str| n.get(k).expect("the key is present").tag;
        assert_eq!(
            (tag("a"), tag("b"), tag("c")),
            (Tag::Timestamp, Tag::None, Tag::Timestamp)
        );
    }

    #[test]
    fn scalars_resolve_as_core_schema() {
        let n = parse("a: 1\nb: '1'\nc: true\nd: yes\ne: 1.5\nf: ~\ng: 0x10\nh: 8080:80\n")
            .expect("the YAML parses");
        assert_eq!(n.get("a").expect("the key is present").value, Value::Int(1));
        assert_eq!(
            n.get("b").expect("the key is present").value,
            Value::Str("1".into())
        );
        assert_eq!(
            n.get("c").expect("the key is present").value,
            Value::Bool(true)
        );
        assert_eq!(
            n.get("d").expect("the key is present").value,
            Value::Str("yes".into())
        );
        assert_eq!(
            n.get("e").expect("the key is present").value,
            Value::Float(1.5)
        );
        assert!(n.get("f").expect("the key is present").is_null());
        assert_eq!(
            n.get("g").expect("the key is present").value,
            Value::Int(16)
        );
        assert_eq!(
            n.get("h").expect("the key is present").value,
            Value::Str("8080:80".into())
        );
        assert_eq!(n.get("h").expect("the key is present").line, 8);
    }

    #[test]
    fn anchors_and_merge_keys() {
        let src = "x: &base\n  a: 1\n  b: 2\ny:\n  <<: *base\n  b: 3\nz: *base\n";
        let n = parse(src).expect("the YAML parses");
        let y = n.get("y").expect("the key is present");
        assert_eq!(y.get("a").expect("the key is present").value, Value::Int(1));
        assert_eq!(y.get("b").expect("the key is present").value, Value::Int(3));
        assert_eq!(
            n.get("z")
                .expect("the key is present")
                .get("b")
                .expect("the key is present")
                .value,
            Value::Int(2)
        );
    }

    #[test]
    fn tags_and_errors() {
        let n = parse("a: !reset []\nb: !override {c: 1}\n").expect("the YAML parses");
        assert_eq!(n.get("a").expect("the key is present").tag, Tag::Reset);
        assert_eq!(n.get("b").expect("the key is present").tag, Tag::Override);
        let e = parse("a: 1\na: 2\n").expect_err("a duplicate key is an error");
        assert_eq!(
            e.to_string(),
            "yaml: line 2: mapping key \"a\" already defined at line 1"
        );
        assert!(parse("a: [1\n").is_err());
        assert!(parse("").expect("the YAML parses").is_null());
    }

    #[test]
    fn go_floats() {
        assert_eq!(go_float(1.0), "1");
        assert_eq!(go_float(0.5), "0.5");
        assert_eq!(go_float(1e21), "1e+21");
        assert_eq!(go_float(1e6), "1e+06");
        assert_eq!(go_float(1.5e9), "1.5e+09");
        assert_eq!(go_float(123456.5), "123456.5");
        assert_eq!(go_float(1234567.5), "1.2345675e+06");
        assert_eq!(go_float(0.00001), "1e-05");
        assert_eq!(go_float(0.0001), "0.0001");
        assert_eq!(go_float(-9.223372036854776e18), "-9.223372036854776e+18");
        assert_eq!(go_json_float(1.5e9), "1500000000");
        assert_eq!(go_json_float(1e21), "1e+21");
        assert_eq!(go_json_float(1e-7), "1e-7");
        assert_eq!(go_json_float(0.000001), "0.000001");
    }

    #[test]
    fn syntax_errors_read_as_go_yaml_writes_them() {
        let e = |src: &str| parse(src).expect_err("a syntax error").to_string();
        assert_eq!(
            e("services:\n  app:\n    image: busybox\n   bad-indent: x\n"),
            "yaml: line 1: did not find expected key"
        );
        assert_eq!(
            e("services:\n  app: {image: x}\n}\n"),
            "yaml: line 2: did not find expected key"
        );
        assert_eq!(
            e("services:\n  app:\n    image: [a, b\n"),
            "yaml: line 2: did not find expected ',' or ']'"
        );
        assert_eq!(
            e("services:\n\tapp:\n    image: busybox\n"),
            "yaml: line 2: found character that cannot start any token"
        );
        assert_eq!(
            e("a: b: c\n"),
            "yaml: mapping values are not allowed in this context"
        );
        assert_eq!(
            e("a:\n  b: *nope\n"),
            "yaml: unknown anchor 'nope' referenced"
        );
        assert!(parse("a: 1\na: 2\n")
            .expect_err("a duplicate key")
            .is_duplicate_key());
    }
}
