//! Values printed as Go's fmt prints the `interface{}` that encoding/json decodes to
//! (`[a b]`, `map[k:v]`, `<nil>`, `%g` floats), Go's `printf` verbs, and JSON as Go's
//! encoding/json writes it (sorted keys, no HTML escaping: docker turns it off).

use std::fmt::Write as _;

use serde_json::{Number, Value};

thread_local! {
    static STRUCT_SETS: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// While held, an empty object that is a map's value prints as `{}` (see
/// `Funcs::empty_values_as_structs`); the previous setting comes back on drop.
pub(crate) struct StructSets(bool);

impl StructSets {
    pub(crate) fn enter(on: bool) -> StructSets {
        StructSets(STRUCT_SETS.with(|c| c.replace(on)))
    }
}

impl Drop for StructSets {
    fn drop(&mut self) {
        STRUCT_SETS.with(|c| c.set(self.0));
    }
}

/// A JSON number as Go holds it: data integers as `int64`, the rest as `float64`.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Num {
    I(i64),
    U(u64),
    F(f64),
}

pub(crate) fn num(n: &Number) -> Num {
    if let Some(i) = n.as_i64() {
        Num::I(i)
    } else if let Some(u) = n.as_u64() {
        Num::U(u)
    } else {
        Num::F(n.as_f64().unwrap_or(f64::NAN))
    }
}

/// The Go type name of a value as json.Unmarshal into `interface{}` would give it.
pub(crate) fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "<nil>",
        Value::Bool(_) => "bool",
        Value::Number(n) => match num(n) {
            Num::I(_) => "int",
            Num::U(_) => "uint64",
            Num::F(_) => "float64",
        },
        Value::String(_) => "string",
        Value::Array(_) => "[]interface {}",
        Value::Object(_) => "map[string]interface {}",
    }
}

/// Go's `%v`.
pub(crate) fn sprint_value(v: &Value) -> String {
    let mut out = String::new();
    fmt_arg(&mut out, &Spec::default(), 'v', v);
    out
}

/// Go's fmt.Sprint: spaces between operands when neither side is a string.
pub(crate) fn sprint(args: &[Value]) -> String {
    let mut out = String::new();
    for (i, a) in args.iter().enumerate() {
        if i > 0 && !a.is_string() && !args[i - 1].is_string() {
            out.push(' ');
        }
        out.push_str(&sprint_value(a));
    }
    out
}

/// Go's fmt.Sprintln: always spaces, and a newline.
pub(crate) fn sprintln(args: &[Value]) -> String {
    let parts: Vec<String> = args.iter().map(sprint_value).collect();
    parts.join(" ") + "\n"
}

#[derive(Debug, Default, Clone)]
struct Spec {
    minus: bool,
    plus: bool,
    sharp: bool,
    zero: bool,
    space: bool,
    width: Option<usize>,
    prec: Option<usize>,
}

/// Go's fmt.Sprintf for the verbs templates use.
pub(crate) fn sprintf(format: &str, args: &[Value]) -> String {
    let mut out = String::new();
    let mut argi = 0;
    let mut it = format.chars().peekable();
    while let Some(c) = it.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        let mut spec = Spec::default();
        while let Some(&f) = it.peek() {
            match f {
                '-' => spec.minus = true,
                '+' => spec.plus = true,
                '#' => spec.sharp = true,
                '0' => spec.zero = true,
                ' ' => spec.space = true,
                _ => break,
            }
            it.next();
        }
        let mut num_arg = |it: &mut std::iter::Peekable<std::str::Chars<'_>>| -> Option<usize> {
            if it.peek() == Some(&'*') {
                it.next();
                let n = args
                    .get(argi)
                    .and_then(|a| a.as_i64())
                    .map(|n| n.max(0) as usize);
                argi += 1;
                return n;
            }
            let mut n = None;
            while let Some(d) = it.peek().and_then(|c| c.to_digit(10)) {
                n = Some(n.unwrap_or(0) * 10 + d as usize);
                it.next();
            }
            n
        };
        spec.width = num_arg(&mut it);
        if it.peek() == Some(&'.') {
            it.next();
            spec.prec = Some(num_arg(&mut it).unwrap_or(0));
        }
        let Some(verb) = it.next() else {
            out.push_str("%!(NOVERB)");
            break;
        };
        if verb == '%' {
            out.push('%');
            continue;
        }
        match args.get(argi) {
            Some(a) => fmt_arg(&mut out, &spec, verb, a),
            None => {
                let _ = write!(out, "%!{verb}(MISSING)");
            }
        }
        argi += 1;
    }
    if argi < args.len() {
        out.push_str("%!(EXTRA ");
        let extra: Vec<String> = args[argi..]
            .iter()
            .map(|a| format!("{}={}", type_name(a), sprint_value(a)))
            .collect();
        out.push_str(&extra.join(", "));
        out.push(')');
    }
    out
}

fn pad(out: &mut String, spec: &Spec, s: &str, numeric: bool) {
    let len = s.chars().count();
    let w = spec.width.unwrap_or(0);
    if len >= w {
        out.push_str(s);
    } else if spec.minus {
        out.push_str(s);
        out.extend(std::iter::repeat_n(' ', w - len));
    } else if spec.zero && numeric {
        let (sign, digits) = match s.strip_prefix(['-', '+']) {
            Some(d) => (&s[..1], d),
            None => ("", s),
        };
        out.push_str(sign);
        out.extend(std::iter::repeat_n('0', w - len));
        out.push_str(digits);
    } else {
        out.extend(std::iter::repeat_n(' ', w - len));
        out.push_str(s);
    }
}

fn bad_verb(out: &mut String, verb: char, v: &Value) {
    if v.is_null() {
        let _ = write!(out, "%!{verb}(<nil>)");
    } else {
        let _ = write!(out, "%!{verb}({}={})", type_name(v), sprint_value(v));
    }
}

fn fmt_arg(out: &mut String, spec: &Spec, verb: char, v: &Value) {
    if verb == 'T' {
        pad(out, spec, type_name(v), false);
        return;
    }
    match v {
        Value::Null => match verb {
            'v' => pad(out, spec, "<nil>", false),
            _ => bad_verb(out, verb, v),
        },
        Value::Bool(b) => match verb {
            'v' | 't' => pad(out, spec, if *b { "true" } else { "false" }, false),
            _ => bad_verb(out, verb, v),
        },
        Value::String(s) => match verb {
            'v' | 's' => {
                let s: String = match spec.prec {
                    Some(p) => s.chars().take(p).collect(),
                    None => s.clone(),
                };
                pad(out, spec, &s, false)
            }
            'q' => pad(out, spec, &quote(s), false),
            'x' | 'X' => {
                let mut h = String::new();
                for b in s.bytes() {
                    let _ = if verb == 'x' {
                        write!(h, "{b:02x}")
                    } else {
                        write!(h, "{b:02X}")
                    };
                }
                pad(out, spec, &h, false)
            }
            _ => bad_verb(out, verb, v),
        },
        Value::Number(n) => fmt_num(out, spec, verb, num(n), v),
        Value::Array(a) => {
            out.push('[');
            for (i, e) in a.iter().enumerate() {
                if i > 0 {
                    out.push(' ');
                }
                fmt_arg(out, spec, verb, e);
            }
            out.push(']');
        }
        Value::Object(m) => {
            out.push_str("map[");
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            for (i, k) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(' ');
                }
                fmt_arg(out, spec, verb, &Value::String(k.clone()));
                out.push(':');
                match &m[k] {
                    Value::Object(e) if e.is_empty() && STRUCT_SETS.with(std::cell::Cell::get) => {
                        out.push_str("{}")
                    }
                    v => fmt_arg(out, spec, verb, v),
                }
            }
            out.push(']');
        }
    }
}

fn signed(spec: &Spec, neg: bool, body: &str) -> String {
    let sign = if neg {
        "-"
    } else if spec.plus {
        "+"
    } else if spec.space {
        " "
    } else {
        ""
    };
    format!("{sign}{body}")
}

fn fmt_num(out: &mut String, spec: &Spec, verb: char, n: Num, v: &Value) {
    let int = match n {
        Num::I(i) => Some((i < 0, i.unsigned_abs())),
        Num::U(u) => Some((false, u)),
        Num::F(_) => None,
    };
    if let Some((neg, mag)) = int {
        let body = match verb {
            'v' | 'd' => mag.to_string(),
            'x' => format!("{}{mag:x}", if spec.sharp { "0x" } else { "" }),
            'X' => format!("{}{mag:X}", if spec.sharp { "0X" } else { "" }),
            'o' => format!("{mag:o}"),
            'b' => format!("{mag:b}"),
            'c' => {
                let c = u32::try_from(mag)
                    .ok()
                    .and_then(char::from_u32)
                    .unwrap_or('\u{FFFD}');
                return pad(out, spec, &c.to_string(), false);
            }
            'q' => {
                let c = u32::try_from(mag)
                    .ok()
                    .and_then(char::from_u32)
                    .unwrap_or('\u{FFFD}');
                let q = quote(&c.to_string());
                return pad(
                    out,
                    spec,
                    &format!("'{}'", &q[1..q.len() - 1].replace("\\\"", "\"")),
                    false,
                );
            }
            _ => return bad_verb(out, verb, v),
        };
        return pad(out, spec, &signed(spec, neg, &body), true);
    }
    let Num::F(f) = n else { return };
    let body = match verb {
        'v' | 'g' | 'G' => fmt_g(f.abs(), spec.prec),
        'e' | 'E' => fmt_e(f.abs(), spec.prec.unwrap_or(6)),
        'f' | 'F' => format!("{:.*}", spec.prec.unwrap_or(6), f.abs()),
        _ => return bad_verb(out, verb, v),
    };
    let body = if verb.is_uppercase() {
        body.to_uppercase()
    } else {
        body
    };
    pad(out, spec, &signed(spec, f.is_sign_negative(), &body), true);
}

/// Decimal digits (no trailing zeros) and the decimal point position of `f >= 0`,
/// shortest when `sig` is None, else rounded to `sig` significant digits.
fn digits(f: f64, sig: Option<usize>) -> (String, i32) {
    let e = match sig {
        Some(s) => format!("{:.*e}", s.saturating_sub(1), f),
        None => format!("{f:e}"),
    };
    let (mant, exp) = e.split_once('e').unwrap_or((&e, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let mut d: String = mant.chars().filter(|c| c.is_ascii_digit()).collect();
    while d.len() > 1 && d.ends_with('0') {
        d.pop();
    }
    if d == "0" {
        return (d, 1);
    }
    (d, exp + 1)
}

fn e_form(d: &str, dp: i32, prec: usize) -> String {
    let mut s = String::new();
    s.push_str(&d[..1]);
    if prec > 0 {
        s.push('.');
        for i in 1..=prec {
            s.push(d.as_bytes().get(i).map_or('0', |b| *b as char));
        }
    }
    let exp = if d == "0" { 0 } else { dp - 1 };
    let _ = write!(s, "e{}{:02}", if exp < 0 { '-' } else { '+' }, exp.abs());
    s
}

fn f_form(d: &str, dp: i32, prec: usize) -> String {
    let digit = |i: i32| -> char {
        if i < 0 {
            '0'
        } else {
            d.as_bytes().get(i as usize).map_or('0', |b| *b as char)
        }
    };
    let mut s = String::new();
    if dp > 0 {
        (0..dp).for_each(|i| s.push(digit(i)));
    } else {
        s.push('0');
    }
    if prec > 0 {
        s.push('.');
        (0..prec as i32).for_each(|i| s.push(digit(dp + i)));
    }
    s
}

fn fmt_e(f: f64, prec: usize) -> String {
    let (d, dp) = digits(f, Some(prec + 1));
    e_form(&d, dp, prec)
}

/// strconv.FormatFloat(f, 'g', prec, 64), with Go's `%v` rule for the shortest form.
pub fn fmt_g(f: f64, prec: Option<usize>) -> String {
    let prec = prec.map(|p| p.max(1));
    let (d, dp) = digits(f, prec);
    let nd = d.len() as i32;
    let mut eprec = prec.map_or(6, |p| p as i32);
    if prec.is_some() && eprec > nd && nd >= dp {
        eprec = nd;
    }
    let exp = dp - 1;
    let p = prec.map_or(nd, |p| p as i32);
    if exp < -4 || exp >= eprec {
        let p = p.min(nd);
        return e_form(&d, dp, (p - 1).max(0) as usize);
    }
    let p = if p > dp { nd } else { p };
    f_form(&d, dp, (p - dp).max(0) as usize)
}

/// Go's strconv.Quote.
pub(crate) fn quote(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\x07' => out.push_str("\\a"),
            '\x08' => out.push_str("\\b"),
            '\x0c' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\x0b' => out.push_str("\\v"),
            c if (c as u32) < 0x20 || c == '\x7f' => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c if c.is_control() || (c.is_whitespace() && c != ' ') => {
                let _ = if (c as u32) < 0x10000 {
                    write!(out, "\\u{:04x}", c as u32)
                } else {
                    write!(out, "\\U{:08x}", c as u32)
                };
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Go's encoding/json with SetEscapeHTML(false), as docker's `json` function writes.
pub(crate) fn to_json(v: &Value, out: &mut String) {
    match v {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => match num(n) {
            Num::I(i) => out.push_str(&i.to_string()),
            Num::U(u) => out.push_str(&u.to_string()),
            Num::F(f) => out.push_str(&json_float(f)),
        },
        Value::String(s) => json_string(s, out),
        Value::Array(a) => {
            out.push('[');
            for (i, e) in a.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                to_json(e, out);
            }
            out.push(']');
        }
        Value::Object(m) => {
            out.push('{');
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            for (i, k) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                json_string(k, out);
                out.push(':');
                to_json(&m[k], out);
            }
            out.push('}');
        }
    }
}

/// Go's `encoding/json` for a finite float64: plain digits from 1e-6 up to 1e21, the
/// exponent form outside (`1e+21`, `1e-7`).
pub fn json_float(f: f64) -> String {
    let abs = f.abs();
    if abs != 0.0 && !(1e-6..1e21).contains(&abs) {
        let (d, dp) = digits(abs, None);
        let mut s = e_form(&d, dp, d.len() - 1);
        // Go writes e-07 as e-7 and e+21 as e+21.
        if let Some(i) = s.find("e-0") {
            s.remove(i + 2);
        }
        return if f < 0.0 { format!("-{s}") } else { s };
    }
    format!("{f}")
}

fn json_string(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{2028}' | '\u{2029}' => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}
