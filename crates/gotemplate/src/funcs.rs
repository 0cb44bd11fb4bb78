//! Go's builtin template functions (text/template/funcs.go) and docker's
//! (github.com/docker/cli templates/templates.go), over JSON values.

use std::cmp::Ordering;
use std::fmt::Write as _;

use serde_json::Value;

use crate::format::{num, sprint, sprint_value, sprintf, sprintln, to_json, type_name, Num};
use crate::parse::Arg;

pub(crate) const BUILTINS: [&str; 26] = [
    "and", "or", "not", "len", "index", "slice", "print", "printf", "println", "eq", "ne", "lt",
    "le", "gt", "ge", "html", "js", "urlquery", "json", "split", "join", "title", "lower", "upper",
    "pad", "truncate",
];

/// Fixed parameters (`A` any, `S` string, `I` int, `L` list) and whether more may follow.
fn signature(name: &str) -> (&'static str, bool) {
    match name {
        "and" | "or" | "index" | "slice" | "eq" => ("A", true),
        "not" | "len" | "json" => ("A", false),
        "print" | "println" | "html" | "js" | "urlquery" => ("", true),
        "printf" => ("S", true),
        "ne" | "lt" | "le" | "gt" | "ge" => ("AA", false),
        "split" => ("SS", false),
        "join" => ("LS", false),
        "title" | "lower" | "upper" => ("S", false),
        "pad" => ("SII", false),
        "truncate" => ("SI", false),
        _ => ("", true),
    }
}

pub(crate) fn check_arity(name: &str, n: usize) -> Result<(), String> {
    let (fixed, variadic) = signature(name);
    if variadic && n < fixed.len() {
        return Err(format!(
            "wrong number of args for {name}: want at least {} got {n}",
            fixed.len()
        ));
    }
    if !variadic && n != fixed.len() {
        return Err(format!(
            "wrong number of args for {name}: want {} got {n}",
            fixed.len()
        ));
    }
    Ok(())
}

/// Go checks argument types before the call: a literal of the wrong kind is "expected
/// string; found 3", a value is "wrong type for value; expected string; got float64".
pub(crate) fn check_types(
    name: &str,
    vals: &[Value],
    nodes: &[Arg],
) -> Result<(), (usize, String)> {
    let (fixed, _) = signature(name);
    for (i, k) in fixed.chars().enumerate() {
        let Some(v) = vals.get(i) else { break };
        let (ok, want, word) = match k {
            'S' => (v.is_string(), "string", "string"),
            'I' => (v.as_i64().is_some(), "int", "integer"),
            'L' => (v.is_array(), "[]string", "[]string"),
            _ => continue,
        };
        if ok {
            continue;
        }
        return Err((
            i,
            match nodes.get(i) {
                Some(lit @ (Arg::Number { .. } | Arg::Bool(_) | Arg::Str { .. })) => {
                    format!("expected {word}; found {lit}")
                }
                Some(Arg::Nil) => format!("cannot assign nil to {want}"),
                _ if v.is_null() => format!("invalid value; expected {want}"),
                _ => format!("wrong type for value; expected {want}; got {}", go_type(v)),
            },
        ));
    }
    Ok(())
}

/// The Go type a JSON value has after decoding (integers as int64).
pub(crate) fn go_type(v: &Value) -> &'static str {
    match v {
        Value::Number(n) if matches!(num(n), Num::I(_)) => "int64",
        v => type_name(v),
    }
}

/// Go's truth: false for the invalid value, nil, false, 0, and empty strings, lists, maps.
pub(crate) fn truth(v: Option<&Value>) -> bool {
    match v {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(Value::Number(n)) => match num(n) {
            Num::I(i) => i != 0,
            Num::U(u) => u != 0,
            Num::F(f) => f != 0.0,
        },
        Some(Value::String(s)) => !s.is_empty(),
        Some(Value::Array(a)) => !a.is_empty(),
        Some(Value::Object(m)) => !m.is_empty(),
    }
}

fn str_arg(v: &Value) -> &str {
    v.as_str().unwrap_or_default()
}

fn int_arg(v: &Value) -> i64 {
    v.as_i64().unwrap_or_default()
}

pub(crate) fn call(name: &str, a: &[Value]) -> Result<Value, String> {
    Ok(match name {
        "not" => Value::Bool(!truth(a.first())),
        "len" => Value::from(length(&a[0])?),
        "index" => index(&a[0], &a[1..])?,
        "slice" => slice(&a[0], &a[1..])?,
        "print" => Value::String(sprint(a)),
        "println" => Value::String(sprintln(a)),
        "printf" => Value::String(sprintf(str_arg(&a[0]), &a[1..])),
        "eq" => Value::Bool(eq(&a[0], &a[1..])?),
        "ne" => Value::Bool(!eq(&a[0], &a[1..2])?),
        "lt" => Value::Bool(lt(&a[0], &a[1])?),
        "le" => Value::Bool(lt(&a[0], &a[1])? || eq(&a[0], &a[1..2])?),
        "gt" => Value::Bool(!(lt(&a[0], &a[1])? || eq(&a[0], &a[1..2])?)),
        "ge" => Value::Bool(!lt(&a[0], &a[1])?),
        "html" => Value::String(html(&eval_args(a))),
        "js" => Value::String(js(&eval_args(a))),
        "urlquery" => Value::String(urlquery(&eval_args(a))),
        "json" => {
            let mut s = String::new();
            to_json(&a[0], &mut s);
            Value::String(s)
        }
        "split" => split(str_arg(&a[0]), str_arg(&a[1])),
        "join" => {
            let parts: Vec<String> = a[0]
                .as_array()
                .map(|l| l.iter().map(sprint_value).collect())
                .unwrap_or_default();
            Value::String(parts.join(str_arg(&a[1])))
        }
        "title" => Value::String(title(str_arg(&a[0]))),
        "lower" => Value::String(str_arg(&a[0]).to_lowercase()),
        "upper" => Value::String(str_arg(&a[0]).to_uppercase()),
        "pad" => {
            let s = str_arg(&a[0]);
            if s.is_empty() {
                return Ok(Value::String(String::new()));
            }
            let (l, r) = (
                int_arg(&a[1]).max(0) as usize,
                int_arg(&a[2]).max(0) as usize,
            );
            Value::String(format!("{}{s}{}", " ".repeat(l), " ".repeat(r)))
        }
        "truncate" => {
            let s = str_arg(&a[0]);
            let n = int_arg(&a[1]);
            if (s.len() as i64) < n {
                return Ok(Value::String(s.to_string()));
            }
            if n < 0 {
                return Err(format!("runtime error: slice bounds out of range [:{n}]"));
            }
            Value::String(String::from_utf8_lossy(&s.as_bytes()[..n as usize]).into_owned())
        }
        _ => return Err(format!("function {name:?} not defined")),
    })
}

fn length(v: &Value) -> Result<usize, String> {
    match v {
        Value::Null => Err("len of nil pointer".into()),
        Value::String(s) => Ok(s.len()),
        Value::Array(a) => Ok(a.len()),
        Value::Object(m) => Ok(m.len()),
        v => Err(format!("len of type {}", go_type(v))),
    }
}

fn index_arg(i: &Value, cap: usize) -> Result<usize, String> {
    let x = match i {
        Value::Null => return Err("cannot index slice/array with nil".into()),
        Value::Number(n) => match num(n) {
            Num::I(x) => x,
            Num::U(u) => i64::try_from(u).unwrap_or(i64::MAX),
            Num::F(_) => return Err("cannot index slice/array with type float64".into()),
        },
        v => return Err(format!("cannot index slice/array with type {}", go_type(v))),
    };
    if x < 0 || x as u64 > cap as u64 {
        return Err(format!("index out of range: {x}"));
    }
    Ok(x as usize)
}

fn index(item: &Value, idx: &[Value]) -> Result<Value, String> {
    if item.is_null() {
        return Err("index of untyped nil".into());
    }
    let mut item = item.clone();
    for i in idx {
        item = match &item {
            Value::Null => return Err("index of nil pointer".into()),
            Value::Array(a) => {
                let x = index_arg(i, a.len())?;
                a.get(x)
                    .cloned()
                    .ok_or(format!("index out of range: {x}"))?
            }
            Value::String(s) => {
                let x = index_arg(i, s.len())?;
                Value::from(
                    *s.as_bytes()
                        .get(x)
                        .ok_or(format!("index out of range: {x}"))?,
                )
            }
            Value::Object(m) => match i {
                Value::String(k) => m.get(k).cloned().unwrap_or(Value::Null),
                Value::Null => return Err("value is nil; should be of type string".into()),
                other => {
                    return Err(format!(
                        // The key is nearly always a literal, which Go holds as `int`.
                        "value has type {}; should be string",
                        type_name(other)
                    ));
                }
            },
            other => return Err(format!("can't index item of type {}", go_type(other))),
        };
    }
    Ok(item)
}

fn slice(item: &Value, idx: &[Value]) -> Result<Value, String> {
    if item.is_null() {
        return Err("slice of untyped nil".into());
    }
    if idx.len() > 3 {
        return Err(format!("too many slice indexes: {}", idx.len()));
    }
    let len = match item {
        Value::String(s) => {
            if idx.len() == 3 {
                return Err("cannot 3-index slice a string".into());
            }
            s.len()
        }
        Value::Array(a) => a.len(),
        other => return Err(format!("can't slice item of type {}", go_type(other))),
    };
    let mut bounds = [0, len, len];
    for (i, x) in idx.iter().enumerate() {
        bounds[i] = index_arg(x, len)?;
    }
    if bounds[0] > bounds[1] {
        return Err(format!(
            "invalid slice index: {} > {}",
            bounds[0], bounds[1]
        ));
    }
    if idx.len() == 3 && bounds[1] > bounds[2] {
        return Err(format!(
            "invalid slice index: {} > {}",
            bounds[1], bounds[2]
        ));
    }
    Ok(match item {
        Value::String(s) => {
            Value::String(String::from_utf8_lossy(&s.as_bytes()[bounds[0]..bounds[1]]).into_owned())
        }
        Value::Array(a) => Value::Array(a[bounds[0]..bounds[1]].to_vec()),
        _ => unreachable!("checked above"),
    })
}

#[derive(PartialEq, Clone, Copy)]
enum Kind {
    Invalid,
    Bool,
    Int,
    Uint,
    Float,
    Str,
    Other,
}

fn kind(v: &Value) -> Kind {
    match v {
        Value::Null => Kind::Invalid,
        Value::Bool(_) => Kind::Bool,
        Value::Number(n) => match num(n) {
            Num::I(_) => Kind::Int,
            Num::U(_) => Kind::Uint,
            Num::F(_) => Kind::Float,
        },
        Value::String(_) => Kind::Str,
        _ => Kind::Other,
    }
}

fn cmp_same(a: &Value, b: &Value) -> Option<Ordering> {
    match (a, b) {
        (Value::Bool(x), Value::Bool(y)) => x.partial_cmp(y),
        (Value::String(x), Value::String(y)) => x.partial_cmp(y),
        (Value::Number(x), Value::Number(y)) => match (num(x), num(y)) {
            (Num::I(x), Num::I(y)) => x.partial_cmp(&y),
            (Num::U(x), Num::U(y)) => x.partial_cmp(&y),
            (Num::I(x), Num::U(y)) => Some(if x < 0 {
                Ordering::Less
            } else {
                (x as u64).cmp(&y)
            }),
            (Num::U(x), Num::I(y)) => Some(if y < 0 {
                Ordering::Greater
            } else {
                x.cmp(&(y as u64))
            }),
            (x, y) => as_f64(x).partial_cmp(&as_f64(y)),
        },
        _ => None,
    }
}

fn as_f64(n: Num) -> f64 {
    match n {
        Num::I(i) => i as f64,
        Num::U(u) => u as f64,
        Num::F(f) => f,
    }
}

fn int_like(k: Kind) -> bool {
    matches!(k, Kind::Int | Kind::Uint)
}

fn eq(a: &Value, rest: &[Value]) -> Result<bool, String> {
    if rest.is_empty() {
        return Err("missing argument for comparison".into());
    }
    let k1 = kind(a);
    for b in rest {
        let k2 = kind(b);
        let truth = if k1 != k2 && !(int_like(k1) && int_like(k2)) {
            if k1 != Kind::Invalid && k2 != Kind::Invalid {
                return Err("incompatible types for comparison".into());
            }
            false
        } else if k1 == Kind::Other {
            let v = if b.is_array() || b.is_object() { b } else { a };
            return Err(format!(
                "non-comparable type {}: {}",
                sprint_value(v),
                type_name(v)
            ));
        } else if k1 == Kind::Invalid {
            true
        } else {
            cmp_same(a, b) == Some(Ordering::Equal)
        };
        if truth {
            return Ok(true);
        }
    }
    Ok(false)
}

fn lt(a: &Value, b: &Value) -> Result<bool, String> {
    let (k1, k2) = (kind(a), kind(b));
    if matches!(k1, Kind::Invalid | Kind::Other) || matches!(k2, Kind::Invalid | Kind::Other) {
        return Err("invalid type for comparison".into());
    }
    if k1 != k2 && !(int_like(k1) && int_like(k2)) {
        return Err("incompatible types for comparison".into());
    }
    if k1 == Kind::Bool {
        return Err("invalid type for comparison".into());
    }
    Ok(cmp_same(a, b) == Some(Ordering::Less))
}

/// Go's evalArgs for html/js/urlquery: one string as it is, else fmt.Sprint of all.
fn eval_args(a: &[Value]) -> String {
    match a {
        [Value::String(s)] => s.clone(),
        _ => sprint(a),
    }
}

fn html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\0' => out.push('\u{FFFD}'),
            '"' => out.push_str("&#34;"),
            '\'' => out.push_str("&#39;"),
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            c => out.push(c),
        }
    }
    out
}

fn js(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\'' => out.push_str("\\'"),
            '"' => out.push_str("\\\""),
            '<' => out.push_str("\\u003C"),
            '>' => out.push_str("\\u003E"),
            '&' => out.push_str("\\u0026"),
            '=' => out.push_str("\\u003D"),
            c if (c as u32) < 0x20
                || (c as u32 >= 0x80 && (c.is_control() || c.is_whitespace())) =>
            {
                let _ = write!(out, "\\u{:04X}", c as u32);
            }
            c => out.push(c),
        }
    }
    out
}

fn urlquery(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            b' ' => out.push('+'),
            b => {
                let _ = write!(out, "%{b:02X}");
            }
        }
    }
    out
}

fn split(s: &str, sep: &str) -> Value {
    let parts: Vec<Value> = if sep.is_empty() {
        s.chars().map(|c| Value::String(c.to_string())).collect()
    } else {
        s.split(sep).map(|p| Value::String(p.to_string())).collect()
    };
    Value::Array(parts)
}

/// Go's strings.Title: the first letter of each word in title case.
fn title(s: &str) -> String {
    let is_sep = |c: char| {
        if c.is_ascii() {
            !(c.is_ascii_alphanumeric() || c == '_')
        } else if c.is_alphanumeric() {
            false
        } else {
            c.is_whitespace()
        }
    };
    let mut prev = ' ';
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if is_sep(prev) {
            out.extend(c.to_uppercase());
        } else {
            out.push(c);
        }
        prev = c;
    }
    out
}
