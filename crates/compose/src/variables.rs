//! `config --variables`: the variables the files name, with what their `${...}` forms
//! say (required, a default, an alternate value), as docker compose lists them.

use std::collections::BTreeMap;

use crate::yaml::{Node, Value};

/// One variable.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Variable {
    pub name: String,
    pub default: String,
    pub presence: String,
    pub required: bool,
}

fn name_end(b: &[u8], i: usize) -> usize {
    let mut j = i;
    while j < b.len() && (b[j] == b'_' || b[j].is_ascii_alphanumeric()) {
        j += 1;
    }
    j
}

/// The variables of one string, nested defaults included.
pub fn scan(s: &str, out: &mut BTreeMap<String, Variable>) {
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] != b'$' {
            i += 1;
            continue;
        }
        match b.get(i + 1) {
            Some(b'$') => i += 2,
            Some(b'{') => {
                let start = i + 2;
                let end = name_end(b, start);
                if end == start {
                    i += 2;
                    continue;
                }
                let name = &s[start..end];
                // The rest up to the matching brace.
                let mut depth = 1;
                let mut j = end;
                while j < b.len() && depth > 0 {
                    match b[j] {
                        b'{' => depth += 1,
                        b'}' => depth -= 1,
                        _ => {}
                    }
                    j += 1;
                }
                let inner_end = if depth == 0 { j - 1 } else { j };
                let rest = &s[end..inner_end];
                let v = out.entry(name.to_string()).or_insert_with(|| Variable {
                    name: name.to_string(),
                    ..Default::default()
                });
                for (op, kind) in [
                    (":-", 'd'),
                    (":?", 'r'),
                    (":+", 'p'),
                    ("-", 'd'),
                    ("?", 'r'),
                    ("+", 'p'),
                ] {
                    if let Some(val) = rest.strip_prefix(op) {
                        match kind {
                            'd' => v.default = val.to_string(),
                            'r' => v.required = true,
                            _ => v.presence = val.to_string(),
                        }
                        scan(val, out);
                        break;
                    }
                }
                i = j;
            }
            Some(c) if *c == b'_' || c.is_ascii_alphabetic() => {
                let end = name_end(b, i + 1);
                let name = &s[i + 1..end];
                out.entry(name.to_string()).or_insert_with(|| Variable {
                    name: name.to_string(),
                    ..Default::default()
                });
                i = end;
            }
            _ => i += 1,
        }
    }
}

/// The variables of a whole (uninterpolated) tree.
pub fn collect(n: &Node) -> BTreeMap<String, Variable> {
    fn walk(n: &Node, out: &mut BTreeMap<String, Variable>) {
        match &n.value {
            Value::Str(s) => scan(s, out),
            Value::Seq(items) => items.iter().for_each(|x| walk(x, out)),
            Value::Map(m) => m.iter().for_each(|(_, v)| walk(v, out)),
            _ => {}
        }
    }
    let mut out = BTreeMap::new();
    walk(n, &mut out);
    out
}

/// The table (Go's tabwriter: columns at least 20 wide, cells padded by 3) or, with `json`, docker compose's JSON.
pub fn render(vars: &BTreeMap<String, Variable>, json: bool) -> String {
    if json {
        let mut out = String::from("{\n");
        let n = vars.len();
        for (i, v) in vars.values().enumerate() {
            let mut name = String::new();
            crate::emit::json_string(&v.name, &mut name);
            let mut d = String::new();
            crate::emit::json_string(&v.default, &mut d);
            let mut p = String::new();
            crate::emit::json_string(&v.presence, &mut p);
            out.push_str(&format!(
                "    {name}: {{\n        \"Name\": {name},\n        \"DefaultValue\": {d},\n        \"PresenceValue\": {p},\n        \"Required\": {}\n    }}{}\n",
                v.required,
                if i + 1 < n { "," } else { "" }
            ));
        }
        out.push_str("}\n");
        return out;
    }
    let rows: Vec<[String; 4]> = std::iter::once([
        "NAME".to_string(),
        "REQUIRED".to_string(),
        "DEFAULT VALUE".to_string(),
        "ALTERNATE VALUE".to_string(),
    ])
    .chain(vars.values().map(|v| {
        [
            v.name.clone(),
            v.required.to_string(),
            v.default.clone(),
            v.presence.clone(),
        ]
    }))
    .collect();
    pretty_table(&rows.iter().map(|r| r.to_vec()).collect::<Vec<_>>())
}

/// docker compose's tables (`ls`, `images`, `config --variables`): Go's tabwriter with
/// cells at least 20 wide and 3 spaces of padding; the last column as it is.
pub fn pretty_table(rows: &[Vec<String>]) -> String {
    let cols = rows.iter().map(Vec::len).max().unwrap_or(0);
    let mut w = vec![20usize; cols];
    for r in rows {
        for (k, c) in r.iter().enumerate() {
            w[k] = w[k].max(c.chars().count() + 3);
        }
    }
    let mut out = String::new();
    for r in rows {
        for (k, c) in r.iter().enumerate() {
            if k + 1 < r.len() {
                out.push_str(&format!("{c:<width$}", width = w[k]));
            } else {
                out.push_str(c);
            }
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms() {
        let mut v = BTreeMap::new();
        scan(
            "nginx:${TAG:-latest} ${X:?need x} ${Y:+alt} $Z $$NOT ${A-${B:-deep}}",
            &mut v,
        );
        assert_eq!(v["TAG"].default, "latest");
        assert!(v["X"].required);
        assert_eq!(v["Y"].presence, "alt");
        assert!(v.contains_key("Z") && !v.contains_key("NOT"));
        assert_eq!(v["A"].default, "${B:-deep}");
        assert_eq!(v["B"].default, "deep");
        let t = render(&v, false);
        assert!(
            t.starts_with(
                "NAME                REQUIRED            DEFAULT VALUE       ALTERNATE VALUE\n"
            ),
            "{t}"
        );
        // A cell as wide as the minimum gets the padding of 3 on top.
        let mut v = BTreeMap::new();
        scan(
            "${LOGSTASH_INTERNAL_PASSWORD} ${E:-postmaster@example.com}",
            &mut v,
        );
        let t = render(&v, false);
        assert!(
            t.contains(
                "\nE                            false               postmaster@example.com   \n"
            ),
            "{t}"
        );
    }
}
