//! Shell-word processing as BuildKit's `shell.Lex` does it: quotes, the escape character,
//! `$VAR` and the `${VAR...}` forms, and splitting into words after expansion. No command
//! substitution, no arithmetic, no globbing of paths: this is what Dockerfile instructions
//! (not the shell inside `RUN`) see.
//!
//! Behaviours kept on purpose because Docker has them:
//! - `$` followed by no name is a literal `$`; `$$` and `$1` look up variables named `$`
//!   and `1` (normally unset, so they vanish).
//! - `${V:#p}` / `${V:%p}` are refused; `${V/p/r}` takes shell patterns (`*`, `?`, `\`),
//!   and `?`/`*` never match a newline (BuildKit turns patterns into Go regexps).
//! - Word splitting shares one buffer with nested `${V:-word}` forms, so a word's text
//!   before such a form is lost in [`Lexer::process_words`] (BuildKit's quirk).

mod pattern;

use std::collections::BTreeSet;

/// Where variable values come from.
pub trait Env {
    /// The value of `name`, or `None` when unset (an empty value is set).
    fn get(&self, name: &str) -> Option<&str>;
    /// Every name, in definition order (used for "did you mean" suggestions).
    fn keys(&self) -> Vec<String>;
}

/// An ordered list of `NAME=value` pairs where a later definition replaces an earlier one
/// in place (BuildKit's `EnvList`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EnvList {
    entries: Vec<(String, String)>,
}

impl EnvList {
    pub fn new() -> EnvList {
        EnvList::default()
    }

    /// Sets `name`, keeping its position if it was set before.
    pub fn set(&mut self, name: &str, value: &str) {
        if let Some(entry) = self.entries.iter_mut().find(|(k, _)| k == name) {
            entry.1 = value.to_string();
        } else {
            self.entries.push((name.to_string(), value.to_string()));
        }
    }

    pub fn remove(&mut self, name: &str) {
        self.entries.retain(|(k, _)| k != name);
    }

    pub fn entries(&self) -> &[(String, String)] {
        &self.entries
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

impl<K: AsRef<str>, V: AsRef<str>> FromIterator<(K, V)> for EnvList {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> EnvList {
        let mut env = EnvList::new();
        for (k, v) in iter {
            env.set(k.as_ref(), v.as_ref());
        }
        env
    }
}

impl Env for EnvList {
    fn get(&self, name: &str) -> Option<&str> {
        self.entries
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    fn keys(&self) -> Vec<String> {
        self.entries.iter().map(|(k, _)| k.clone()).collect()
    }
}

/// No variables at all.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoEnv;

impl Env for NoEnv {
    fn get(&self, _: &str) -> Option<&str> {
        None
    }
    fn keys(&self) -> Vec<String> {
        Vec::new()
    }
}

/// A failed expansion; the message is BuildKit's, e.g.
/// `failed to process "${V:?}": V: is not allowed to be unset`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("failed to process {}: {reason}", crate::quote::go_quote(word))]
pub struct ExpandError {
    /// The word that was being processed.
    pub word: String,
    /// What went wrong inside it.
    pub reason: String,
}

/// What one word became.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Expansion {
    /// The word with quotes removed and variables replaced, spaces kept.
    pub result: String,
    /// The same text split into words (quoted spaces kept).
    pub words: Vec<String>,
    /// Variable names that were looked up and found.
    pub matched: BTreeSet<String>,
    /// Variable names that were looked up and not found (for the UndefinedVar check).
    pub unmatched: BTreeSet<String>,
}

/// The word processor; its options are BuildKit's `Lex` fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lexer {
    escape: char,
    /// Keep quote characters in the output.
    pub raw_quotes: bool,
    /// Keep escape characters in the output.
    pub raw_escapes: bool,
    /// Treat quotes as ordinary characters.
    pub skip_quotes: bool,
    /// Leave references to unset variables as written.
    pub skip_unset: bool,
}

impl Lexer {
    /// A processor using `escape` (`\` or `` ` ``) as the escape character.
    pub fn new(escape: char) -> Lexer {
        Lexer {
            escape,
            raw_quotes: false,
            raw_escapes: false,
            skip_quotes: false,
            skip_unset: false,
        }
    }

    pub fn escape(&self) -> char {
        self.escape
    }

    /// Expands `word` into one string (BuildKit's `ProcessWord`/`ProcessWordWithMatches`).
    pub fn process_word(&self, word: &str, env: &dyn Env) -> Result<Expansion, ExpandError> {
        let mut state = State::new(self, word, env);
        match state.process_stop_on(None, self.raw_escapes) {
            Ok((result, words)) => Ok(Expansion {
                result,
                words,
                matched: state.matched,
                unmatched: state.unmatched,
            }),
            Err(reason) => Err(ExpandError {
                word: word.to_string(),
                reason,
            }),
        }
    }

    /// Expands `word` and splits it into words (BuildKit's `ProcessWords`).
    pub fn process_words(&self, word: &str, env: &dyn Env) -> Result<Vec<String>, ExpandError> {
        self.process_word(word, env).map(|e| e.words)
    }
}

/// Words being collected; the buffer itself lives in [`State`] because BuildKit shares it
/// between nested expansions.
#[derive(Default)]
struct Words {
    words: Vec<String>,
    in_word: bool,
}

struct State<'a> {
    lex: &'a Lexer,
    chars: Vec<char>,
    pos: usize,
    env: &'a dyn Env,
    raw_escapes: bool,
    words_buf: String,
    matched: BTreeSet<String>,
    unmatched: BTreeSet<String>,
}

/// Go's `unicode.IsSpace` and Rust's `char::is_whitespace` agree (White_Space property).
fn is_space(ch: char) -> bool {
    ch.is_whitespace()
}

impl<'a> State<'a> {
    fn new(lex: &'a Lexer, word: &str, env: &'a dyn Env) -> State<'a> {
        State {
            lex,
            chars: word.chars().collect(),
            pos: 0,
            env,
            raw_escapes: lex.raw_escapes,
            words_buf: String::new(),
            matched: BTreeSet::new(),
            unmatched: BTreeSet::new(),
        }
    }

    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn next(&mut self) -> Option<char> {
        let ch = self.chars.get(self.pos).copied();
        if ch.is_some() {
            self.pos += 1;
        }
        ch
    }

    fn add_char(&mut self, words: &mut Words, ch: char) {
        if is_space(ch) && words.in_word {
            if !self.words_buf.is_empty() {
                words.words.push(std::mem::take(&mut self.words_buf));
                words.in_word = false;
            }
        } else if !is_space(ch) {
            self.add_raw_char(words, ch);
        }
    }

    fn add_raw_char(&mut self, words: &mut Words, ch: char) {
        self.words_buf.push(ch);
        words.in_word = true;
    }

    fn add_string(&mut self, words: &mut Words, s: &str) {
        for ch in s.chars() {
            self.add_char(words, ch);
        }
    }

    fn add_raw_string(&mut self, words: &mut Words, s: &str) {
        self.words_buf.push_str(s);
        words.in_word = true;
    }

    fn finish_words(&mut self, mut words: Words) -> Vec<String> {
        if !self.words_buf.is_empty() {
            words.words.push(std::mem::take(&mut self.words_buf));
        }
        words.words
    }

    /// Processes until `stop` (consumed) or the end of input; returns the text and words.
    fn process_stop_on(
        &mut self,
        stop: Option<char>,
        raw_escapes: bool,
    ) -> Result<(String, Vec<String>), String> {
        let mut result = String::new();
        self.words_buf.clear();
        let mut words = Words::default();
        let saved_raw = self.raw_escapes;
        self.raw_escapes = raw_escapes;
        let outcome = self.stop_on_loop(stop, &mut result, &mut words);
        self.raw_escapes = saved_raw;
        match outcome {
            Ok(true) => Ok((result, self.finish_words(words))),
            Ok(false) => match stop {
                Some(stop) => Err(format!(
                    "unexpected end of statement while looking for matching {stop}"
                )),
                None => Ok((result, self.finish_words(words))),
            },
            Err(e) => Err(e),
        }
    }

    /// Ok(true) when the stop character was reached, Ok(false) at the end of input.
    fn stop_on_loop(
        &mut self,
        stop: Option<char>,
        result: &mut String,
        words: &mut Words,
    ) -> Result<bool, String> {
        while let Some(ch) = self.peek() {
            if Some(ch) == stop {
                self.next();
                return Ok(true);
            }
            let special = match ch {
                '$' => Some(self.process_dollar()?),
                '<' => Some(self.process_possible_heredoc()),
                '\'' if !self.lex.skip_quotes => Some(self.process_single_quote()?),
                '"' if !self.lex.skip_quotes => Some(self.process_double_quote()?),
                _ => None,
            };
            if let Some(text) = special {
                result.push_str(&text);
                if ch == '$' {
                    self.add_string(words, &text);
                } else {
                    self.add_raw_string(words, &text);
                }
                continue;
            }
            let mut ch = match self.next() {
                Some(c) => c,
                None => break,
            };
            if ch == self.lex.escape {
                if self.raw_escapes {
                    self.add_raw_char(words, ch);
                    result.push(ch);
                }
                match self.next() {
                    // An escape at the very end is dropped.
                    None => break,
                    Some(escaped) => ch = escaped,
                }
                self.add_raw_char(words, ch);
            } else {
                self.add_char(words, ch);
            }
            result.push(ch);
        }
        Ok(false)
    }

    fn process_single_quote(&mut self) -> Result<String, String> {
        let mut out = String::new();
        if let Some(open) = self.next() {
            if self.lex.raw_quotes {
                out.push(open);
            }
        }
        loop {
            match self.next() {
                None => {
                    return Err(
                        "unexpected end of statement while looking for matching single-quote"
                            .into(),
                    )
                }
                Some('\'') => {
                    if self.lex.raw_quotes {
                        out.push('\'');
                    }
                    return Ok(out);
                }
                Some(c) => out.push(c),
            }
        }
    }

    fn process_double_quote(&mut self) -> Result<String, String> {
        let mut out = String::new();
        if let Some(open) = self.next() {
            if self.lex.raw_quotes {
                out.push(open);
            }
        }
        loop {
            match self.peek() {
                None => {
                    return Err(
                        "unexpected end of statement while looking for matching double-quote"
                            .into(),
                    )
                }
                Some('"') => {
                    self.next();
                    if self.lex.raw_quotes {
                        out.push('"');
                    }
                    return Ok(out);
                }
                Some('$') => {
                    let value = self.process_dollar()?;
                    out.push_str(&value);
                }
                Some(_) => {
                    let Some(mut ch) = self.next() else { continue };
                    if ch == self.lex.escape {
                        if self.raw_escapes {
                            out.push(ch);
                        }
                        match self.peek() {
                            // An escape before the end: the missing quote is reported next.
                            None => continue,
                            Some(c) if c == '"' || c == '$' || c == self.lex.escape => {
                                self.next();
                                ch = c;
                            }
                            Some(_) => {}
                        }
                    }
                    out.push(ch);
                }
            }
        }
    }

    fn lookup(&mut self, name: &str) -> Option<String> {
        match self.env.get(name) {
            Some(v) => {
                self.matched.insert(name.to_string());
                Some(v.to_string())
            }
            None => {
                self.unmatched.insert(name.to_string());
                None
            }
        }
    }

    fn process_dollar(&mut self) -> Result<String, String> {
        self.next();
        if self.peek() != Some('{') {
            let name = self.process_name();
            if name.is_empty() {
                return Ok("$".into());
            }
            return Ok(match self.lookup(&name) {
                Some(v) => v,
                None if self.lex.skip_unset => format!("${name}"),
                None => String::new(),
            });
        }
        self.next();
        match self.peek() {
            None => return Err("syntax error: missing '}'".into()),
            Some('{') | Some('}') | Some(':') => {
                return Err("syntax error: bad substitution".into())
            }
            _ => {}
        }
        let name = self.process_name();
        let first = self.next();
        let mut modifier = first.map(String::from).unwrap_or_else(|| "\u{fffd}".into());
        match first {
            Some('}') => Ok(match self.lookup(&name) {
                Some(v) => v,
                None if self.lex.skip_unset => format!("${{{name}}}"),
                None => String::new(),
            }),
            Some('/') => self.process_replace(&name),
            Some(c @ (':' | '+' | '-' | '?' | '#' | '%')) => {
                let null_is_unset = c == ':';
                let op = if null_is_unset {
                    let op = self.next();
                    modifier.push(op.unwrap_or('\u{fffd}'));
                    op
                } else {
                    Some(c)
                };
                self.process_modifier(&name, op, null_is_unset, &modifier)
            }
            _ => Err(format!("unsupported modifier ({modifier}) in substitution")),
        }
    }

    fn process_modifier(
        &mut self,
        name: &str,
        op: Option<char>,
        null_is_unset: bool,
        modifier: &str,
    ) -> Result<String, String> {
        let trims = matches!(op, Some('#') | Some('%'));
        if null_is_unset && trims {
            return Err(format!("unsupported modifier ({modifier}) in substitution"));
        }
        let word = match self.process_stop_on(Some('}'), trims) {
            Ok((w, _)) => w,
            Err(e) => {
                if self.peek().is_none() {
                    return Err("syntax error: missing '}'".into());
                }
                return Err(e);
            }
        };
        let value = self.lookup(name);
        if self.lex.skip_unset && value.is_none() {
            return Ok(format!("${{{name}{modifier}{word}}}"));
        }
        let empty_or_unset = match &value {
            None => true,
            Some(v) => null_is_unset && v.is_empty(),
        };
        match op {
            Some('-') => Ok(if empty_or_unset {
                word
            } else {
                value.unwrap_or_default()
            }),
            Some('+') => Ok(if empty_or_unset { String::new() } else { word }),
            Some('?') => match value {
                None => Err(format!(
                    "{name}: {}",
                    if word.is_empty() {
                        "is not allowed to be unset"
                    } else {
                        &word
                    }
                )),
                Some(v) if null_is_unset && v.is_empty() => Err(format!(
                    "{name}: {}",
                    if word.is_empty() {
                        "is not allowed to be empty"
                    } else {
                        &word
                    }
                )),
                Some(v) => Ok(v),
            },
            Some(c @ ('#' | '%')) => {
                let value = value.unwrap_or_default();
                let (greedy, pat) = match word.strip_prefix(c) {
                    Some(rest) => (true, rest.to_string()),
                    None => (false, word.clone()),
                };
                let trimmed = if c == '%' {
                    pattern::trim_suffix(&pat, &value, greedy)
                } else {
                    pattern::trim_prefix(&pat, &value, greedy)
                };
                trimmed.map_err(|e| format!("invalid pattern ({pat}) in substitution: {e}"))
            }
            _ => Err(format!("unsupported modifier ({modifier}) in substitution")),
        }
    }

    fn process_replace(&mut self, name: &str) -> Result<String, String> {
        let all = self.peek() == Some('/');
        if all {
            self.next();
        }
        let pat = match self.process_stop_on(Some('/'), true) {
            Ok((p, _)) => p,
            Err(e) => {
                if self.peek().is_none() {
                    return Err("syntax error: missing '/' in ${}".into());
                }
                return Err(e);
            }
        };
        let replacement = match self.process_stop_on(Some('}'), true) {
            Ok((r, _)) => r,
            Err(e) => {
                if self.peek().is_none() {
                    return Err("syntax error: missing '}'".into());
                }
                return Err(e);
            }
        };
        let value = self.lookup(name);
        if self.lex.skip_unset && value.is_none() {
            return Ok(format!("${{{name}/{pat}/{replacement}}}"));
        }
        pattern::replace(&pat, &value.unwrap_or_default(), &replacement, all)
            .map_err(|e| format!("invalid pattern ({pat}) in substitution: {e}"))
    }

    fn process_name(&mut self) -> String {
        let mut name = String::new();
        while let Some(ch) = self.peek() {
            if name.is_empty() && is_go_digit(ch) {
                while let Some(d) = self.peek().filter(|c| is_go_digit(*c)) {
                    self.next();
                    name.push(d);
                }
                return name;
            }
            if name.is_empty() && is_special_param(ch) {
                self.next();
                return ch.to_string();
            }
            if !ch.is_alphabetic() && !is_go_digit(ch) && ch != '_' {
                break;
            }
            self.next();
            name.push(ch);
        }
        name
    }

    fn process_possible_heredoc(&mut self) -> String {
        self.next();
        if self.peek() != Some('<') {
            return "<".into();
        }
        self.next();
        let mut out = String::from("<<");
        while let Some(ch) = self.peek().filter(|c| matches!(c, '\t' | '\r' | ' ')) {
            out.push(ch);
            self.next();
        }
        out
    }
}

/// Go's `unicode.IsDigit`: decimal digits (Nd) only.
pub(crate) fn is_go_digit(ch: char) -> bool {
    ch.is_ascii_digit() || is_nd(ch)
}

/// Decimal-digit characters outside ASCII: every Nd block is 10 consecutive code points
/// starting at a zero; Rust has no Nd query, so recognise the common blocks.
fn is_nd(ch: char) -> bool {
    const ZEROS: &[u32] = &[
        0x0660, 0x06F0, 0x07C0, 0x0966, 0x09E6, 0x0A66, 0x0AE6, 0x0B66, 0x0BE6, 0x0C66, 0x0CE6,
        0x0D66, 0x0DE6, 0x0E50, 0x0ED0, 0x0F20, 0x1040, 0x1090, 0x17E0, 0x1810, 0x1946, 0x19D0,
        0x1A80, 0x1A90, 0x1B50, 0x1BB0, 0x1C40, 0x1C50, 0xA620, 0xA8D0, 0xA900, 0xA9D0, 0xA9F0,
        0xAA50, 0xABF0, 0xFF10,
    ];
    let c = ch as u32;
    ZEROS.iter().any(|z| (*z..*z + 10).contains(&c))
}

fn is_special_param(ch: char) -> bool {
    matches!(ch, '@' | '*' | '#' | '?' | '-' | '$' | '!' | '0')
}
