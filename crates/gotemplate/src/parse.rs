//! The parser: items into trees, as Go's text/template/parse/parse.go does, with its
//! checks (undefined functions and variables, misplaced `{{end}}`/`{{else}}`/`{{break}}`).

use std::collections::{BTreeMap, HashSet};
use std::fmt;

use crate::lex::{lex, parse_number, Item, Tok};
use crate::Error;

#[derive(Debug, Clone)]
pub(crate) enum Node {
    Text(String),
    Action(Pipe),
    If(Branch),
    With(Branch),
    Range(Branch),
    Template {
        pos: usize,
        name: String,
        pipe: Option<Pipe>,
    },
    Break,
    Continue,
}

#[derive(Debug, Clone)]
pub(crate) struct Branch {
    pub pos: usize,
    pub pipe: Pipe,
    pub list: Vec<Node>,
    pub else_list: Option<Vec<Node>>,
}

#[derive(Debug, Clone)]
pub(crate) struct Pipe {
    pub pos: usize,
    pub decl: Vec<String>,
    pub is_assign: bool,
    pub cmds: Vec<Cmd>,
}

#[derive(Debug, Clone)]
pub(crate) struct Cmd {
    pub pos: usize,
    pub args: Vec<Arg>,
    /// Where each argument starts (Go's node position: a chain's is its first `.field`).
    pub arg_pos: Vec<usize>,
}

#[derive(Debug, Clone)]
pub(crate) enum Arg {
    Field {
        pos: usize,
        names: Vec<String>,
    },
    Var {
        pos: usize,
        name: String,
        fields: Vec<String>,
    },
    Chain {
        pos: usize,
        base: Box<Arg>,
        fields: Vec<String>,
    },
    Ident {
        pos: usize,
        name: String,
    },
    Pipe(Box<Pipe>),
    Dot,
    Nil,
    Bool(bool),
    Number {
        text: String,
        value: Result<i64, f64>,
    },
    Str {
        value: String,
        quoted: String,
    },
}

impl fmt::Display for Arg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Arg::Field { names, .. } => names.iter().try_for_each(|n| write!(f, ".{n}")),
            Arg::Var { name, fields, .. } => {
                f.write_str(name)?;
                fields.iter().try_for_each(|n| write!(f, ".{n}"))
            }
            Arg::Chain { base, fields, .. } => {
                match &**base {
                    Arg::Pipe(p) => write!(f, "({p})")?,
                    b => write!(f, "{b}")?,
                }
                fields.iter().try_for_each(|n| write!(f, ".{n}"))
            }
            Arg::Ident { name, .. } => f.write_str(name),
            Arg::Pipe(p) => write!(f, "{p}"),
            Arg::Dot => f.write_str("."),
            Arg::Nil => f.write_str("nil"),
            Arg::Bool(b) => write!(f, "{b}"),
            Arg::Number { text, .. } => f.write_str(text),
            Arg::Str { quoted, .. } => f.write_str(quoted),
        }
    }
}

impl fmt::Display for Cmd {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, a) in self.args.iter().enumerate() {
            if i > 0 {
                f.write_str(" ")?;
            }
            match a {
                Arg::Pipe(p) => write!(f, "({p})")?,
                a => write!(f, "{a}")?,
            }
        }
        Ok(())
    }
}

impl fmt::Display for Pipe {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if !self.decl.is_empty() {
            write!(
                f,
                "{} {} ",
                self.decl.join(", "),
                if self.is_assign { "=" } else { ":=" }
            )?;
        }
        for (i, c) in self.cmds.iter().enumerate() {
            if i > 0 {
                f.write_str(" | ")?;
            }
            write!(f, "{c}")?;
        }
        Ok(())
    }
}

/// The parsed trees: the main one under its name, plus every `define` and `block`.
pub(crate) type Trees = BTreeMap<String, Vec<Node>>;

pub(crate) fn parse(name: &str, text: &str, funcs: &HashSet<String>) -> Result<Trees, Error> {
    let items = lex(name, text)?;
    let mut p = Parser {
        name,
        items,
        i: 0,
        vars: vec!["$".into()],
        funcs,
        trees: Trees::new(),
        range_depth: 0,
    };
    let mut main = Vec::new();
    loop {
        if p.peek().tok == Tok::Eof {
            break;
        }
        if p.peek().tok == Tok::Left {
            let save = p.i;
            p.next();
            if p.next_non_space().tok == Tok::Keyword("define") {
                p.define()?;
                continue;
            }
            p.i = save;
        }
        match p.text_or_action()? {
            Parsed::Node(n) => main.push(n),
            Parsed::End(it) | Parsed::Else(it) => return Err(p.unexpected_item(&it)),
        }
    }
    p.add_tree(name.to_string(), main)?;
    Ok(p.trees)
}

enum Parsed {
    Node(Node),
    End(Item),
    Else(Item),
}

struct Parser<'a> {
    name: &'a str,
    items: Vec<Item>,
    i: usize,
    vars: Vec<String>,
    funcs: &'a HashSet<String>,
    trees: Trees,
    range_depth: usize,
}

impl Parser<'_> {
    fn peek(&self) -> &Item {
        &self.items[self.i.min(self.items.len() - 1)]
    }

    fn next(&mut self) -> Item {
        let it = self.peek().clone();
        if self.i < self.items.len() {
            self.i += 1;
        }
        it
    }

    fn next_non_space(&mut self) -> Item {
        loop {
            let it = self.next();
            if it.tok != Tok::Space {
                return it;
            }
        }
    }

    fn peek_non_space(&mut self) -> Item {
        let it = self.next_non_space();
        self.i -= 1;
        it
    }

    fn err(&self, line: usize, msg: impl fmt::Display) -> Error {
        Error::Parse(format!("template: {}:{}: {}", self.name, line, msg))
    }

    fn unexpected_item(&self, it: &Item) -> Error {
        let what = match &it.tok {
            Tok::Keyword(k) => format!("{{{{{k}}}}}"),
            t => describe(t),
        };
        self.err(it.line, format!("unexpected {what}"))
    }

    fn unexpected(&self, it: &Item, context: &str) -> Error {
        if it.tok == Tok::Eof {
            return self.err(it.line, "unexpected EOF");
        }
        self.err(
            it.line,
            format!("unexpected {} in {}", describe(&it.tok), context),
        )
    }

    fn expect_right(&mut self, context: &str) -> Result<(), Error> {
        let it = self.next_non_space();
        if it.tok != Tok::Right {
            return Err(self.unexpected(&it, context));
        }
        Ok(())
    }

    /// Go's Tree.add: a template may be defined twice only if one definition is empty.
    fn add_tree(&mut self, name: String, list: Vec<Node>) -> Result<(), Error> {
        let empty = |l: &[Node]| {
            l.iter()
                .all(|n| matches!(n, Node::Text(t) if t.trim().is_empty()))
        };
        match self.trees.get(&name) {
            Some(old) if !empty(old) => {
                if !empty(&list) {
                    let line = self.peek().line;
                    return Err(self.err(
                        line,
                        format!("template: multiple definition of template {name:?}"),
                    ));
                }
            }
            _ => {
                self.trees.insert(name, list);
            }
        }
        Ok(())
    }

    fn define(&mut self) -> Result<(), Error> {
        let it = self.next_non_space();
        let Tok::Str(name, _) = it.tok else {
            return Err(self.unexpected(&it, "define clause"));
        };
        self.expect_right("define clause")?;
        let saved = std::mem::replace(&mut self.vars, vec!["$".into()]);
        let (list, end) = self.item_list()?;
        self.vars = saved;
        if let Parsed::Else(it) = end {
            return Err(self.unexpected_item(&it));
        }
        self.add_tree(name, list)
    }

    /// Nodes up to `{{end}}` or `{{else}}` (returned, with its item).
    fn item_list(&mut self) -> Result<(Vec<Node>, Parsed), Error> {
        let mut list = Vec::new();
        loop {
            if self.peek().tok == Tok::Eof {
                let it = self.peek().clone();
                return Err(self.unexpected(&it, "input"));
            }
            match self.text_or_action()? {
                Parsed::Node(n) => list.push(n),
                end => return Ok((list, end)),
            }
        }
    }

    fn text_or_action(&mut self) -> Result<Parsed, Error> {
        let it = self.next_non_space();
        match it.tok {
            Tok::Text(s) => Ok(Parsed::Node(Node::Text(s))),
            Tok::Left => self.action(),
            _ => Err(self.unexpected(&it, "input")),
        }
    }

    fn action(&mut self) -> Result<Parsed, Error> {
        let it = self.next_non_space();
        let kw = match it.tok {
            Tok::Keyword(k) => k,
            _ => {
                self.i -= 1;
                return Ok(Parsed::Node(Node::Action(self.pipeline("command", false)?)));
            }
        };
        match kw {
            "end" => {
                self.expect_right("end")?;
                Ok(Parsed::End(it))
            }
            "else" => {
                // `{{else if ...}}` and `{{else with ...}}` leave the keyword for the caller.
                let next = self.peek_non_space();
                if !matches!(next.tok, Tok::Keyword("if") | Tok::Keyword("with")) {
                    self.expect_right("else")?;
                }
                Ok(Parsed::Else(it))
            }
            "if" | "with" | "range" => self.control(kw).map(Parsed::Node),
            "break" | "continue" => {
                if self.range_depth == 0 {
                    return Err(self.err(it.line, format!("{{{{{kw}}}}} outside {{{{range}}}}")));
                }
                self.expect_right(kw)?;
                Ok(Parsed::Node(if kw == "break" {
                    Node::Break
                } else {
                    Node::Continue
                }))
            }
            "template" | "block" => self.template(kw).map(Parsed::Node),
            _ => Err(self.unexpected(&it, "command")),
        }
    }

    fn template(&mut self, kw: &str) -> Result<Node, Error> {
        let context = format!("{kw} clause");
        let it = self.next_non_space();
        let pos = it.pos;
        let Tok::Str(name, _) = it.tok else {
            return Err(self.unexpected(&it, &context));
        };
        let pipe = if self.peek_non_space().tok == Tok::Right {
            self.next_non_space();
            None
        } else {
            Some(self.pipeline(&context, false)?)
        };
        if kw == "block" {
            let saved = std::mem::replace(&mut self.vars, vec!["$".into()]);
            let (list, end) = self.item_list()?;
            self.vars = saved;
            if let Parsed::Else(it) = end {
                return Err(self.unexpected_item(&it));
            }
            self.add_tree(name.clone(), list)?;
        }
        Ok(Node::Template { pos, name, pipe })
    }

    fn control(&mut self, kw: &'static str) -> Result<Node, Error> {
        let mark = self.vars.len();
        let pipe = self.pipeline(kw, kw == "range")?;
        if kw == "range" {
            self.range_depth += 1;
        }
        let (list, end) = self.item_list()?;
        if kw == "range" {
            self.range_depth -= 1;
        }
        let else_list = match end {
            Parsed::End(_) => None,
            Parsed::Else(_) => {
                if matches!(
                    self.peek_non_space().tok,
                    Tok::Keyword("if") | Tok::Keyword("with")
                ) {
                    // `{{else if x}}` is `{{else}}{{if x}}...{{end}}{{end}}`: one shared `{{end}}`.
                    let it = self.next_non_space();
                    let Tok::Keyword(k) = it.tok else {
                        unreachable!("matched just above")
                    };
                    Some(vec![self.control(k)?])
                } else {
                    let (list, end) = self.item_list()?;
                    if let Parsed::Else(_) = end {
                        return Err(self.err(self.peek().line, "expected end; found {{else}}"));
                    }
                    Some(list)
                }
            }
            Parsed::Node(_) => unreachable!("item_list returns only ends"),
        };
        self.vars.truncate(mark);
        let branch = Branch {
            pos: pipe.pos,
            pipe,
            list,
            else_list,
        };
        Ok(match kw {
            "if" => Node::If(branch),
            "with" => Node::With(branch),
            _ => Node::Range(branch),
        })
    }

    fn pipeline(&mut self, context: &str, in_range: bool) -> Result<Pipe, Error> {
        let start = self.peek_non_space();
        let mut pipe = Pipe {
            pos: start.pos,
            decl: Vec::new(),
            is_assign: false,
            cmds: Vec::new(),
        };
        // Declarations: `$x :=`, `$x =`, `$i, $e :=`.
        let save = self.i;
        if let Tok::Var(v) = self.next_non_space().tok {
            let after = self.next_non_space();
            match after.tok {
                Tok::Declare | Tok::Assign => {
                    pipe.is_assign = after.tok == Tok::Assign;
                    pipe.decl.push(v);
                }
                Tok::Comma if in_range => {
                    let second = self.next_non_space();
                    let op = self.next_non_space();
                    match (second.tok, &op.tok) {
                        (Tok::Var(v2), Tok::Declare | Tok::Assign) => {
                            pipe.is_assign = op.tok == Tok::Assign;
                            pipe.decl.push(v);
                            pipe.decl.push(v2);
                        }
                        _ => {
                            return Err(
                                self.err(after.line, format!("too many declarations in {context}"))
                            )
                        }
                    }
                }
                _ => self.i = save,
            }
        } else {
            self.i = save;
        }
        if !pipe.is_assign {
            self.vars.extend(pipe.decl.iter().cloned());
        } else {
            for v in &pipe.decl {
                if !self.vars.contains(v) {
                    return Err(self.err(start.line, format!("undefined variable {v:?}")));
                }
            }
        }
        let end = if context == "parenthesized pipeline" {
            Tok::RParen
        } else {
            Tok::Right
        };
        loop {
            let it = self.next_non_space();
            if it.tok == end {
                if pipe.cmds.is_empty() {
                    return Err(self.err(it.line, format!("missing value for {context}")));
                }
                for (i, c) in pipe.cmds.iter().enumerate().skip(1) {
                    if matches!(
                        c.args[0],
                        Arg::Bool(_) | Arg::Dot | Arg::Nil | Arg::Number { .. } | Arg::Str { .. }
                    ) {
                        return Err(self.err(
                            it.line,
                            format!("non executable command in pipeline stage {}", i + 1),
                        ));
                    }
                }
                return Ok(pipe);
            }
            match it.tok {
                Tok::Right => return Err(self.err(it.line, "unclosed left paren")),
                Tok::RParen | Tok::Eof => return Err(self.unexpected(&it, context)),
                _ => {
                    self.i -= 1;
                    pipe.cmds.push(self.command()?);
                }
            }
        }
    }

    fn command(&mut self) -> Result<Cmd, Error> {
        let pos = self.peek_non_space().pos;
        let mut cmd = Cmd {
            pos,
            args: Vec::new(),
            arg_pos: Vec::new(),
        };
        loop {
            let at = self.peek_non_space().pos;
            if let Some((a, p)) = self.operand(at)? {
                cmd.args.push(a);
                cmd.arg_pos.push(p);
            }
            let it = self.next();
            match it.tok {
                Tok::Space => continue,
                Tok::Right | Tok::RParen => self.i -= 1,
                Tok::Pipe => {}
                _ => return Err(self.unexpected(&it, "operand")),
            }
            break;
        }
        if cmd.args.is_empty() {
            return Err(self.err(self.peek().line, "empty command"));
        }
        Ok(cmd)
    }

    /// A term and the fields chained to it; Go places a chain at its first `.field`.
    fn operand(&mut self, at: usize) -> Result<Option<(Arg, usize)>, Error> {
        let Some(term) = self.term()? else {
            return Ok(None);
        };
        if !matches!(self.peek().tok, Tok::Field(_)) {
            return Ok(Some((term, at)));
        }
        let pos = self.peek().pos;
        let mut fields = Vec::new();
        while let Tok::Field(f) = &self.peek().tok {
            fields.push(f.clone());
            self.next();
        }
        let arg = match term {
            Arg::Field { mut names, .. } => {
                names.extend(fields);
                Arg::Field { pos, names }
            }
            Arg::Var {
                name,
                fields: mut f,
                ..
            } => {
                f.extend(fields);
                Arg::Var {
                    pos,
                    name,
                    fields: f,
                }
            }
            Arg::Bool(_) | Arg::Str { .. } | Arg::Number { .. } | Arg::Nil | Arg::Dot => {
                let line = self.peek().line;
                return Err(self.err(
                    line,
                    format!("unexpected . after term {:?}", term.to_string()),
                ));
            }
            base => Arg::Chain {
                pos,
                base: Box::new(base),
                fields,
            },
        };
        Ok(Some((arg, pos)))
    }

    fn term(&mut self) -> Result<Option<Arg>, Error> {
        let it = self.next_non_space();
        Ok(Some(match it.tok {
            Tok::Ident(name) => {
                if !self.funcs.contains(&name) {
                    return Err(self.err(it.line, format!("function {name:?} not defined")));
                }
                Arg::Ident { pos: it.pos, name }
            }
            Tok::Dot => Arg::Dot,
            Tok::Nil => Arg::Nil,
            Tok::Var(name) => {
                if !self.vars.contains(&name) {
                    return Err(self.err(it.line, format!("undefined variable {name:?}")));
                }
                Arg::Var {
                    pos: it.pos,
                    name,
                    fields: Vec::new(),
                }
            }
            Tok::Field(f) => Arg::Field {
                pos: it.pos,
                names: vec![f],
            },
            Tok::Bool(b) => Arg::Bool(b),
            Tok::Number(text) => {
                let value = parse_number(&text)
                    .ok_or_else(|| self.err(it.line, format!("bad number syntax: {text:?}")))?;
                Arg::Number { text, value }
            }
            Tok::Char(text) => {
                let inner = &text[1..text.len() - 1];
                let s = crate::lex::unquote(inner).map_err(|e| self.err(it.line, e))?;
                let mut cs = s.chars();
                let (Some(c), None) = (cs.next(), cs.next()) else {
                    return Err(self.err(it.line, format!("malformed character constant: {text}")));
                };
                Arg::Number {
                    text,
                    value: Ok(i64::from(u32::from(c))),
                }
            }
            Tok::Str(value, quoted) => Arg::Str { value, quoted },
            Tok::LParen => {
                let pipe = self.pipeline("parenthesized pipeline", false)?;
                Arg::Pipe(Box::new(pipe))
            }
            _ => {
                self.i -= 1;
                return Ok(None);
            }
        }))
    }
}

fn describe(t: &Tok) -> String {
    match t {
        Tok::Text(s) => format!("{s:?}"),
        Tok::Left => "\"{{\"".into(),
        Tok::Right => "\"}}\"".into(),
        Tok::Space => "space".into(),
        Tok::Ident(s) | Tok::Field(s) | Tok::Var(s) | Tok::Number(s) | Tok::Char(s) => {
            format!("<{s}>")
        }
        Tok::Str(_, q) => q.clone(),
        Tok::Dot => "<.>".into(),
        Tok::Nil => "<nil>".into(),
        Tok::Bool(b) => format!("<{b}>"),
        Tok::Pipe => "\"|\"".into(),
        Tok::LParen => "\"(\"".into(),
        Tok::RParen => "\")\"".into(),
        Tok::Declare => "\":=\"".into(),
        Tok::Assign => "\"=\"".into(),
        Tok::Comma => "\",\"".into(),
        Tok::Keyword(k) => format!("<{k}>"),
        Tok::Other(c) => format!("{:?}", c.to_string()),
        Tok::Eof => "EOF".into(),
    }
}
