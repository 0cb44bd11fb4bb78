//! Executing parsed trees, as Go's text/template/exec.go does. A value is `Option<Value>`:
//! `None` is Go's invalid `reflect.Value` (a missing key, which prints `<no value>`);
//! `Some(Null)` is a nil `interface{}` held in a map or slice.

use std::fmt::Display;

use serde_json::Value;

use crate::format::sprint_value;
use crate::funcs::{self, truth};
use crate::parse::{Arg, Cmd, Node, Pipe};
use crate::{Error, Template};

type Val = Option<Value>;

/// Go's maxExecDepth is 100000; a Rust stack (2 MiB in a test thread) is spent sooner: 200
/// nested `{{template}}` calls fit there, and the bodies of real templates nest deeper.
const MAX_DEPTH: usize = 100;

#[derive(Debug, PartialEq)]
enum Flow {
    Normal,
    Break,
    Continue,
}

pub(crate) fn execute(t: &Template, name: &str, data: &Value) -> Result<String, Error> {
    let Some(tree) = t.trees.get(name) else {
        return Err(Error::Exec(format!(
            "template: no template {name:?} associated with template {:?}",
            t.name
        )));
    };
    // The root is `reflect.ValueOf(data)`: a nil interface is the invalid value.
    let dot = (!data.is_null()).then(|| data.clone());
    let mut s = State {
        t,
        name: name.to_string(),
        vars: vec![("$".into(), dot.clone())],
        depth: 0,
        iface_dot: false,
        out: String::new(),
    };
    s.walk_list(&dot, tree)?;
    Ok(s.out)
}

struct State<'a> {
    t: &'a Template,
    name: String,
    vars: Vec<(String, Val)>,
    depth: usize,
    out: String,
    /// Dot is a range element, whose Go type is `interface {}` (named in field errors).
    iface_dot: bool,
}

/// Go turns a nil `interface{}` result into the invalid value at the end of each command.
fn normalize(v: Val) -> Val {
    v.filter(|v| !v.is_null())
}

impl State<'_> {
    fn fail(&self, pos: usize, node: &dyn Display, msg: impl Display) -> Error {
        let text = &self.t.text[..pos.min(self.t.text.len())];
        let line = 1 + text.matches('\n').count();
        let col = match text.rfind('\n') {
            Some(i) => pos - i - 1,
            None => pos,
        };
        let ctx = node.to_string();
        Error::Exec(format!(
            "template: {}:{line}:{col}: executing {:?} at <{ctx}>: {msg}",
            self.t.name, self.name
        ))
    }

    /// Walks `list` with a dot of another origin (see `iface_dot`).
    fn walk_new_dot(&mut self, dot: &Val, list: &[Node], iface: bool) -> Result<Flow, Error> {
        let outer = std::mem::replace(&mut self.iface_dot, iface);
        let r = self.walk_list(dot, list);
        self.iface_dot = outer;
        r
    }

    fn walk_list(&mut self, dot: &Val, list: &[Node]) -> Result<Flow, Error> {
        for n in list {
            let f = self.walk(dot, n)?;
            if f != Flow::Normal {
                return Ok(f);
            }
        }
        Ok(Flow::Normal)
    }

    fn walk(&mut self, dot: &Val, node: &Node) -> Result<Flow, Error> {
        match node {
            Node::Text(s) => self.out.push_str(s),
            Node::Action(pipe) => {
                let v = self.eval_pipeline(dot, pipe)?;
                if pipe.decl.is_empty() {
                    match v {
                        None => self.out.push_str("<no value>"),
                        Some(v) => self.out.push_str(&sprint_value(&v)),
                    }
                }
            }
            Node::If(b) | Node::With(b) => {
                let mark = self.vars.len();
                let v = self.eval_pipeline(dot, &b.pipe)?;
                let flow = if truth(v.as_ref()) {
                    if matches!(node, Node::With(_)) {
                        self.walk_new_dot(&v, &b.list, false)?
                    } else {
                        self.walk_list(dot, &b.list)?
                    }
                } else if let Some(e) = &b.else_list {
                    self.walk_list(dot, e)?
                } else {
                    Flow::Normal
                };
                self.vars.truncate(mark);
                return Ok(flow);
            }
            Node::Range(b) => {
                let mark = self.vars.len();
                let v = self.eval_pipeline(dot, &b.pipe)?;
                let items: Vec<(Value, Value)> = match v {
                    None | Some(Value::Null) => Vec::new(),
                    Some(Value::Array(a)) => a
                        .into_iter()
                        .enumerate()
                        .map(|(i, e)| (Value::from(i as i64), e))
                        .collect(),
                    Some(Value::Object(m)) => {
                        let mut kv: Vec<(String, Value)> = m.into_iter().collect();
                        kv.sort_by(|a, b| a.0.cmp(&b.0));
                        kv.into_iter().map(|(k, v)| (Value::String(k), v)).collect()
                    }
                    Some(other) => {
                        return Err(self.fail(
                            b.pos,
                            &b.pipe,
                            format!("range can't iterate over {}", sprint_value(&other)),
                        ));
                    }
                };
                if items.is_empty() {
                    if let Some(e) = &b.else_list {
                        self.walk_list(dot, e)?;
                    }
                }
                for (k, e) in items {
                    match b.pipe.decl.as_slice() {
                        [] => {}
                        [v] => self.set_var(v, Some(e.clone())),
                        [i, v, ..] => {
                            self.set_var(i, Some(k));
                            self.set_var(v, Some(e.clone()));
                        }
                    }
                    let inner = self.vars.len();
                    let flow = self.walk_new_dot(&Some(e), &b.list, true)?;
                    self.vars.truncate(inner);
                    if flow == Flow::Break {
                        break;
                    }
                }
                self.vars.truncate(mark);
            }
            Node::Template { pos, name, pipe } => {
                let new_dot = match pipe {
                    Some(p) => self.eval_pipeline(dot, p)?,
                    None => None,
                };
                // Go's TemplateNode.String(), the error context.
                let node_text = match pipe {
                    Some(p) => format!("{{{{template {name:?} {p}}}}}"),
                    None => format!("{{{{template {name:?}}}}}"),
                };
                let Some(tree) = self.t.trees.get(name) else {
                    return Err(self.fail(
                        *pos,
                        &node_text,
                        format!("template {name:?} not defined"),
                    ));
                };
                if self.depth >= MAX_DEPTH {
                    return Err(self.fail(
                        *pos,
                        &node_text,
                        format!("exceeded maximum template depth ({MAX_DEPTH})"),
                    ));
                }
                let vars = std::mem::replace(&mut self.vars, vec![("$".into(), new_dot.clone())]);
                let outer = std::mem::replace(&mut self.name, name.clone());
                self.depth += 1;
                let r = self.walk_new_dot(&new_dot, tree, false);
                self.depth -= 1;
                self.name = outer;
                self.vars = vars;
                r?;
            }
            Node::Break => return Ok(Flow::Break),
            Node::Continue => return Ok(Flow::Continue),
        }
        Ok(Flow::Normal)
    }

    fn set_var(&mut self, name: &str, v: Val) {
        if let Some(slot) = self.vars.iter_mut().rev().find(|(n, _)| n == name) {
            slot.1 = v;
        }
    }

    fn var(&self, name: &str) -> Val {
        self.vars
            .iter()
            .rev()
            .find(|(n, _)| n == name)
            .and_then(|(_, v)| v.clone())
    }

    fn eval_pipeline(&mut self, dot: &Val, pipe: &Pipe) -> Result<Val, Error> {
        let mut value: Option<Val> = None;
        for cmd in &pipe.cmds {
            value = Some(normalize(self.eval_command(dot, cmd, value.take())?));
        }
        let value = value.flatten();
        for v in &pipe.decl {
            if pipe.is_assign {
                self.set_var(v, value.clone());
            } else {
                self.vars.push((v.clone(), value.clone()));
            }
        }
        Ok(value)
    }

    fn not_a_function(&self, cmd: &Cmd, final_: &Option<Val>) -> Result<(), Error> {
        if cmd.args.len() > 1 || final_.is_some() {
            return Err(self.fail(
                cmd.pos,
                &cmd.args[0],
                format!("can't give argument to non-function {}", cmd.args[0]),
            ));
        }
        Ok(())
    }

    fn eval_command(&mut self, dot: &Val, cmd: &Cmd, final_: Option<Val>) -> Result<Val, Error> {
        let first = &cmd.args[0];
        let has_args = cmd.args.len() > 1 || final_.is_some();
        if has_args {
            if let Some(v) = self.eval_method(dot, cmd, &final_)? {
                return Ok(v);
            }
        }
        match first {
            Arg::Field { pos, names } => {
                let concrete = !self.iface_dot;
                self.eval_chain(dot.clone(), names, *pos, first, has_args, concrete)
            }
            Arg::Chain { pos, base, fields } => {
                let b = self.eval_arg(dot, base, cmd.pos)?;
                self.eval_chain(b, fields, *pos, first, has_args, false)
            }
            Arg::Var { pos, name, fields } => {
                let v = self.var(name);
                if fields.is_empty() {
                    self.not_a_function(cmd, &final_)?;
                    return Ok(v);
                }
                self.eval_chain(v, fields, *pos, first, has_args, true)
            }
            Arg::Ident { pos, name } => self.eval_function(dot, name, *pos, cmd, final_),
            Arg::Pipe(p) => {
                self.not_a_function(cmd, &final_)?;
                self.eval_pipeline(dot, p)
            }
            lit => {
                self.not_a_function(cmd, &final_)?;
                if let Arg::Nil = lit {
                    return Err(self.fail(cmd.pos, lit, "nil is not a command"));
                }
                self.eval_arg(dot, lit, cmd.pos)
            }
        }
    }

    /// `.A.B NAME ARGS...` where NAME is a registered method and the receiver an object:
    /// the method's result (None when the command is not such a call).
    fn eval_method(
        &mut self,
        dot: &Val,
        cmd: &Cmd,
        final_: &Option<Val>,
    ) -> Result<Option<Val>, Error> {
        let first = &cmd.args[0];
        let (pos, names) = match first {
            Arg::Field { pos, names } => (*pos, names),
            _ => return Ok(None),
        };
        let Some((name, path)) = names.split_last() else {
            return Ok(None);
        };
        let Some(method) = self.t.funcs.method(name) else {
            return Ok(None);
        };
        let receiver = if path.is_empty() {
            dot.clone()
        } else {
            let concrete = !self.iface_dot;
            self.eval_chain(dot.clone(), path, pos, first, false, concrete)?
        };
        let Some(recv @ Value::Object(_)) = receiver else {
            return Ok(None);
        };
        let mut vals = Vec::new();
        for (a, at) in cmd.args[1..].iter().zip(&cmd.arg_pos[1..]) {
            vals.push(self.eval_arg(dot, a, *at)?.unwrap_or(Value::Null));
        }
        if let Some(f) = final_ {
            vals.push(f.clone().unwrap_or(Value::Null));
        }
        match method(&recv, &vals) {
            Ok(v) => Ok(Some(Some(v))),
            Err(msg) => Err(self.fail(pos, first, format!("error calling {name}: {msg}"))),
        }
    }

    /// `.A.B.C` from `receiver`; `first` says the receiver's Go type is concrete (the root,
    /// a variable) rather than the `interface{}` of a map element.
    fn eval_chain(
        &mut self,
        mut receiver: Val,
        names: &[String],
        pos: usize,
        node: &Arg,
        has_args: bool,
        first: bool,
    ) -> Result<Val, Error> {
        for (i, name) in names.iter().enumerate() {
            let last = i + 1 == names.len();
            let concrete = first && i == 0;
            receiver = match receiver {
                None => None,
                Some(Value::Null) => {
                    return Err(self.fail(
                        pos,
                        node,
                        format!("nil pointer evaluating interface {{}}.{name}"),
                    ));
                }
                Some(Value::Object(m)) => {
                    if last && has_args {
                        return Err(self.fail(
                            pos,
                            node,
                            format!("{name} is not a method but has arguments"),
                        ));
                    }
                    m.get(name).cloned()
                }
                Some(other) => {
                    let typ = if concrete {
                        funcs::go_type(&other)
                    } else {
                        "interface {}"
                    };
                    return Err(self.fail(
                        pos,
                        node,
                        format!("can't evaluate field {name} in type {typ}"),
                    ));
                }
            };
        }
        Ok(receiver)
    }

    /// One argument; `at` is where it starts, for errors about literals.
    fn eval_arg(&mut self, dot: &Val, arg: &Arg, at: usize) -> Result<Val, Error> {
        Ok(match arg {
            Arg::Dot => dot.clone(),
            Arg::Nil => Some(Value::Null),
            Arg::Bool(b) => Some(Value::Bool(*b)),
            Arg::Number { value, text } => Some(match value {
                Ok(i) => Value::from(*i),
                // Go's idealConstant: an integer literal too big for int is an error.
                Err(_) if !text.contains(['.', 'e', 'E', 'p', 'P']) => {
                    return Err(self.fail(at, arg, format!("{text} overflows int")));
                }
                Err(f) => Value::from(*f),
            }),
            Arg::Str { value, .. } => Some(Value::String(value.clone())),
            Arg::Field { pos, names } => {
                let concrete = !self.iface_dot;
                self.eval_chain(dot.clone(), names, *pos, arg, false, concrete)?
            }
            Arg::Var { pos, name, fields } => {
                let v = self.var(name);
                self.eval_chain(v, fields, *pos, arg, false, true)?
            }
            Arg::Chain { pos, base, fields } => {
                let b = self.eval_arg(dot, base, at)?;
                self.eval_chain(b, fields, *pos, arg, false, false)?
            }
            Arg::Pipe(p) => {
                let mark = self.vars.len();
                let v = self.eval_pipeline(dot, p)?;
                self.vars.truncate(mark);
                v
            }
            Arg::Ident { pos, name } => {
                let cmd = Cmd {
                    pos: *pos,
                    args: vec![arg.clone()],
                    arg_pos: vec![*pos],
                };
                self.eval_function(dot, name, *pos, &cmd, None)?
            }
        })
    }

    fn eval_function(
        &mut self,
        dot: &Val,
        name: &str,
        pos: usize,
        cmd: &Cmd,
        final_: Option<Val>,
    ) -> Result<Val, Error> {
        let args = &cmd.args[1..];
        let n = args.len() + usize::from(final_.is_some());
        let user = self.t.funcs.get(name);
        if user.is_none() {
            if let Err(msg) = funcs::check_arity(name, n) {
                return Err(self.fail(pos, &name, msg));
            }
        }
        if user.is_none() && (name == "and" || name == "or") {
            let mut v = None;
            for (a, at) in args.iter().zip(&cmd.arg_pos[1..]) {
                v = self.eval_arg(dot, a, *at)?;
                if truth(v.as_ref()) == (name == "or") {
                    return Ok(v);
                }
            }
            if let Some(f) = final_ {
                v = f;
            }
            return Ok(v);
        }
        let mut vals = Vec::with_capacity(n);
        for (a, at) in args.iter().zip(&cmd.arg_pos[1..]) {
            let v = self.eval_arg(dot, a, *at)?;
            vals.push(v.unwrap_or(Value::Null));
        }
        if let Some(f) = final_ {
            vals.push(f.unwrap_or(Value::Null));
        }
        let r = match user {
            Some(f) => f(&vals),
            None => {
                if let Err((i, msg)) = funcs::check_types(name, &vals, args) {
                    let at = cmd.arg_pos.get(i + 1).copied().unwrap_or(pos);
                    return Err(match args.get(i) {
                        Some(node) => self.fail(at, node, msg),
                        None => self.fail(pos, &name, msg),
                    });
                }
                funcs::call(name, &vals)
            }
        };
        r.map(Some)
            .map_err(|e| self.fail(cmd.pos, cmd, format!("error calling {name}: {e}")))
    }
}
