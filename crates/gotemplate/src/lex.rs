//! The lexer: template text into items, as Go's text/template/parse/lex.go does, with the
//! `{{- ` / ` -}}` trim markers applied to the neighbouring text here.

use crate::Error;

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Tok {
    Text(String),
    Left,
    Right,
    Space,
    Ident(String),
    Field(String),
    Var(String),
    Dot,
    Nil,
    Bool(bool),
    Number(String),
    /// The unquoted value and the literal text as written.
    Str(String, String),
    Char(String),
    Pipe,
    LParen,
    RParen,
    Declare,
    Assign,
    Comma,
    Keyword(&'static str),
    /// Other printable ASCII, left for the parser to reject in context.
    Other(char),
    Eof,
}

#[derive(Debug, Clone)]
pub(crate) struct Item {
    pub tok: Tok,
    /// Byte offset in the template text.
    pub pos: usize,
    pub line: usize,
}

const KEYWORDS: [&str; 10] = [
    "block", "break", "continue", "define", "else", "end", "if", "range", "template", "with",
];

fn is_space(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\r' | b'\n')
}

fn is_alnum(c: char) -> bool {
    c == '_' || c.is_alphanumeric()
}

pub(crate) fn lex(name: &str, text: &str) -> Result<Vec<Item>, Error> {
    let mut l = Lexer {
        name,
        text,
        b: text.as_bytes(),
        pos: 0,
        items: Vec::new(),
        trim_next: false,
    };
    l.run()?;
    Ok(l.items)
}

struct Lexer<'a> {
    name: &'a str,
    text: &'a str,
    b: &'a [u8],
    pos: usize,
    items: Vec<Item>,
    trim_next: bool,
}

impl Lexer<'_> {
    fn line_at(&self, pos: usize) -> usize {
        1 + self.b[..pos.min(self.b.len())]
            .iter()
            .filter(|&&c| c == b'\n')
            .count()
    }

    fn err(&self, pos: usize, msg: impl std::fmt::Display) -> Error {
        Error::Parse(format!(
            "template: {}:{}: {}",
            self.name,
            self.line_at(pos),
            msg
        ))
    }

    fn emit(&mut self, tok: Tok, pos: usize) {
        let line = self.line_at(pos);
        self.items.push(Item { tok, pos, line });
    }

    fn starts(&self, s: &str) -> bool {
        self.b[self.pos..].starts_with(s.as_bytes())
    }

    /// `{{- ` opens with a trim marker only when a space follows the dash.
    fn left_trim_at(&self, at: usize) -> bool {
        self.b.len() > at + 3 && self.b[at + 2] == b'-' && is_space(self.b[at + 3])
    }

    fn run(&mut self) -> Result<(), Error> {
        loop {
            let start = self.pos;
            let next = self.text[start..].find("{{").map(|i| start + i);
            let end = next.unwrap_or(self.b.len());
            let mut text = &self.text[start..end];
            if self.trim_next {
                text = text.trim_start_matches([' ', '\t', '\r', '\n']);
                self.trim_next = false;
            }
            let Some(at) = next else {
                if !text.is_empty() {
                    self.emit(Tok::Text(text.to_string()), start);
                }
                self.emit(Tok::Eof, self.b.len());
                return Ok(());
            };
            let trim = self.left_trim_at(at);
            if trim {
                text = text.trim_end_matches([' ', '\t', '\r', '\n']);
            }
            if !text.is_empty() {
                self.emit(Tok::Text(text.to_string()), start);
            }
            self.pos = at + 2;
            if trim {
                self.pos += 2;
            }
            if self.starts("/*") {
                self.comment(at)?;
                continue;
            }
            self.emit(Tok::Left, at);
            self.inside_action()?;
        }
    }

    fn comment(&mut self, at: usize) -> Result<(), Error> {
        let Some(end) = self.text[self.pos + 2..].find("*/") else {
            return Err(self.err(at, "unclosed comment"));
        };
        self.pos += 2 + end + 2;
        if self.starts(" -}}") {
            self.pos += 4;
            self.trim_next = true;
        } else if self.starts("}}") {
            self.pos += 2;
        } else {
            return Err(self.err(at, "comment ends before closing delimiter"));
        }
        Ok(())
    }

    fn inside_action(&mut self) -> Result<(), Error> {
        let mut parens = 0i32;
        loop {
            let start = self.pos;
            if self.pos >= self.b.len() {
                return Err(self.err(start, "unclosed action"));
            }
            if self.starts(" -}}")
                || self.starts("\t-}}")
                || self.starts("\n-}}")
                || self.starts("\r-}}")
            {
                self.emit(Tok::Right, start + 1);
                self.pos += 4;
                self.trim_next = true;
                return Ok(());
            }
            if self.starts("}}") {
                self.emit(Tok::Right, start);
                self.pos += 2;
                return Ok(());
            }
            let c = self.text[start..]
                .chars()
                .next()
                .expect("pos is inside the text");
            match c {
                ' ' | '\t' | '\r' | '\n' => {
                    while self.pos < self.b.len()
                        && is_space(self.b[self.pos])
                        && !self.starts(" -}}")
                    {
                        self.pos += 1;
                    }
                    if self.pos > start {
                        self.emit(Tok::Space, start);
                    }
                    if self.starts(" -}}") {
                        continue;
                    }
                }
                '=' => {
                    self.pos += 1;
                    self.emit(Tok::Assign, start);
                }
                ':' => {
                    if !self.starts(":=") {
                        return Err(self.err(start, "expected :="));
                    }
                    self.pos += 2;
                    self.emit(Tok::Declare, start);
                }
                '|' => {
                    self.pos += 1;
                    self.emit(Tok::Pipe, start);
                }
                ',' => {
                    self.pos += 1;
                    self.emit(Tok::Comma, start);
                }
                '(' => {
                    self.pos += 1;
                    parens += 1;
                    self.emit(Tok::LParen, start);
                }
                ')' => {
                    self.pos += 1;
                    parens -= 1;
                    if parens < 0 {
                        return Err(self.err(start, "unexpected right paren U+0029 ')'"));
                    }
                    self.emit(Tok::RParen, start);
                }
                '"' => self.quote(start)?,
                '`' => {
                    let Some(end) = self.text[start + 1..].find('`') else {
                        return Err(self.err(start, "unterminated raw quoted string"));
                    };
                    let s = &self.text[start + 1..start + 1 + end];
                    self.pos = start + end + 2;
                    self.emit(
                        Tok::Str(s.to_string(), self.text[start..self.pos].to_string()),
                        start,
                    );
                }
                '\'' => self.char_const(start)?,
                '$' => {
                    self.pos += 1;
                    self.word_end()?;
                    self.emit(Tok::Var(self.text[start..self.pos].to_string()), start);
                }
                '.' => {
                    let next = self.text[start + 1..].chars().next();
                    match next {
                        Some(d) if d.is_ascii_digit() => self.number(start)?,
                        Some(a) if is_alnum(a) => {
                            self.pos += 1;
                            self.word_end()?;
                            self.emit(
                                Tok::Field(self.text[start + 1..self.pos].to_string()),
                                start,
                            );
                        }
                        _ => {
                            self.pos += 1;
                            self.emit(Tok::Dot, start);
                        }
                    }
                }
                '+' | '-' | '0'..='9' => self.number(start)?,
                c if is_alnum(c) => {
                    self.word_end()?;
                    let w = &self.text[start..self.pos];
                    let tok = match w {
                        "true" => Tok::Bool(true),
                        "false" => Tok::Bool(false),
                        "nil" => Tok::Nil,
                        _ => match KEYWORDS.iter().find(|k| **k == w) {
                            Some(k) => Tok::Keyword(k),
                            None => Tok::Ident(w.to_string()),
                        },
                    };
                    self.emit(tok, start);
                }
                c if c.is_ascii_graphic() => {
                    self.pos += 1;
                    self.emit(Tok::Other(c), start);
                }
                c => {
                    let msg = format!("unrecognized character in action: U+{:04X} {c:?}", c as u32);
                    return Err(self.err(start, msg));
                }
            }
        }
    }

    /// A word must end where Go's atTerminator says: space, punctuation that may follow
    /// it, or the closing delimiter.
    fn word_end(&mut self) -> Result<(), Error> {
        self.word();
        match self.text[self.pos..].chars().next() {
            None | Some(' ' | '\t' | '\r' | '\n' | '.' | ',' | '|' | ':' | ')' | '(') => Ok(()),
            Some(_) if self.starts("}}") => Ok(()),
            Some(c) => Err(self.err(self.pos, format!("bad character U+{:04X} {c:?}", c as u32))),
        }
    }

    fn word(&mut self) {
        while let Some(c) = self.text[self.pos..].chars().next() {
            if !is_alnum(c) {
                break;
            }
            self.pos += c.len_utf8();
        }
    }

    fn quote(&mut self, start: usize) -> Result<(), Error> {
        let mut i = start + 1;
        loop {
            match self.b.get(i) {
                None | Some(b'\n') => return Err(self.err(start, "unterminated quoted string")),
                Some(b'\\') => i += 2,
                Some(b'"') => break,
                Some(_) => i += 1,
            }
        }
        self.pos = i + 1;
        let lit = &self.text[start..self.pos];
        let s = unquote(&lit[1..lit.len() - 1]).map_err(|e| self.err(start, e))?;
        self.emit(Tok::Str(s, lit.to_string()), start);
        Ok(())
    }

    fn char_const(&mut self, start: usize) -> Result<(), Error> {
        let mut i = start + 1;
        loop {
            match self.b.get(i) {
                None | Some(b'\n') => {
                    return Err(self.err(start, "unterminated character constant"))
                }
                Some(b'\\') => i += 2,
                Some(b'\'') => break,
                Some(_) => i += 1,
            }
        }
        self.pos = i + 1;
        self.emit(Tok::Char(self.text[start..self.pos].to_string()), start);
        Ok(())
    }

    fn number(&mut self, start: usize) -> Result<(), Error> {
        let mut i = start;
        if matches!(self.b[i], b'+' | b'-') {
            i += 1;
        }
        while i < self.b.len() {
            let c = self.b[i];
            let exp_sign = matches!(c, b'+' | b'-')
                && i > start
                && matches!(self.b[i - 1], b'e' | b'E' | b'p' | b'P');
            if c.is_ascii_alphanumeric() || c == b'.' || c == b'_' || exp_sign {
                i += 1;
            } else {
                break;
            }
        }
        self.pos = i;
        let lit = &self.text[start..i];
        if parse_number(lit).is_none() {
            return Err(self.err(start, format!("bad number syntax: {lit:?}")));
        }
        self.emit(Tok::Number(lit.to_string()), start);
        Ok(())
    }
}

/// A number literal: `Ok(i64)` for integers, `Err(f64)` for floats (Go's idealConstant).
pub(crate) fn parse_number(lit: &str) -> Option<Result<i64, f64>> {
    let clean: String = lit.chars().filter(|c| *c != '_').collect();
    let (neg, digits) = match clean.strip_prefix('-') {
        Some(d) => (true, d),
        None => (false, clean.strip_prefix('+').unwrap_or(&clean)),
    };
    let radix = |p: &str| {
        digits
            .strip_prefix(p)
            .or_else(|| digits.strip_prefix(&p.to_uppercase()))
    };
    let int = if let Some(h) = radix("0x") {
        i64::from_str_radix(h, 16).ok()
    } else if let Some(o) = radix("0o") {
        i64::from_str_radix(o, 8).ok()
    } else if let Some(b) = radix("0b") {
        i64::from_str_radix(b, 2).ok()
    } else if digits.len() > 1
        && digits.starts_with('0')
        && digits.bytes().all(|c| c.is_ascii_digit())
    {
        i64::from_str_radix(&digits[1..], 8).ok()
    } else {
        if !digits.starts_with(|c: char| c.is_ascii_digit() || c == '.') {
            return None;
        }
        return match clean.parse::<i64>() {
            Ok(i) => Some(Ok(i)),
            Err(_) => clean.parse::<f64>().ok().map(Err),
        };
    };
    if let Some(i) = int {
        return Some(Ok(if neg { -i } else { i }));
    }
    if digits.starts_with(|c: char| c.is_ascii_digit() || c == '.') && !digits.contains(['x', 'X'])
    {
        if let Ok(f) = digits.parse::<f64>() {
            return Some(Err(if neg { -f } else { f }));
        }
    }
    None
}

/// Go's strconv.Unquote for the inside of a double-quoted string.
pub(crate) fn unquote(s: &str) -> Result<String, String> {
    let mut out = String::new();
    let mut it = s.chars();
    while let Some(c) = it.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        let e = it.next().ok_or("invalid syntax")?;
        let mut hex = |n: usize| -> Result<char, String> {
            let h: String = it.by_ref().take(n).collect();
            u32::from_str_radix(&h, 16)
                .ok()
                .and_then(char::from_u32)
                .ok_or_else(|| "invalid syntax".to_string())
        };
        out.push(match e {
            'n' => '\n',
            't' => '\t',
            'r' => '\r',
            'a' => '\x07',
            'b' => '\x08',
            'f' => '\x0c',
            'v' => '\x0b',
            '\\' => '\\',
            '"' => '"',
            '\'' => '\'',
            'x' => hex(2)?,
            'u' => hex(4)?,
            'U' => hex(8)?,
            '0'..='7' => {
                let rest: String = it.by_ref().take(2).collect();
                let v =
                    u32::from_str_radix(&format!("{e}{rest}"), 8).map_err(|_| "invalid syntax")?;
                char::from_u32(v).ok_or("invalid syntax")?
            }
            _ => return Err("invalid syntax".into()),
        });
    }
    Ok(out)
}
