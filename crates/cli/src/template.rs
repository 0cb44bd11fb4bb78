//! The part of Go's text/template that `docker ps --format` and `docker inspect -f` use:
//! `{{.Field.Sub}}`, `{{json .X}}`, `{{index .Map "key"}}`, `{{upper .X}}`, `{{lower .X}}`,
//! `{{join .List ","}}`, and `\t`/`\n` escapes, evaluated over a JSON value.

use serde_json::Value;

/// Render `tpl` against `v`.
pub fn render(tpl: &str, v: &Value) -> Result<String, String> {
    let tpl = tpl.replace("\\t", "\t").replace("\\n", "\n");
    let mut out = String::new();
    let mut rest = tpl.as_str();
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let end = after
            .find("}}")
            .ok_or_else(|| format!("template: unclosed action in {tpl:?}"))?;
        let action = after[..end]
            .trim()
            .trim_start_matches('-')
            .trim_end_matches('-')
            .trim();
        out.push_str(&eval(action, v)?);
        rest = &after[end + 2..];
    }
    out.push_str(rest);
    Ok(out)
}

fn words(action: &str) -> Vec<String> {
    let mut w = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    for c in action.chars() {
        match c {
            '"' => quoted = !quoted,
            ' ' if !quoted => {
                if !cur.is_empty() {
                    w.push(std::mem::take(&mut cur));
                }
            }
            _ => cur.push(c),
        }
    }
    if !cur.is_empty() {
        w.push(cur);
    }
    w
}

fn lookup<'a>(path: &str, v: &'a Value) -> Result<&'a Value, String> {
    if path == "." {
        return Ok(v);
    }
    let mut cur = v;
    for part in path.trim_start_matches('.').split('.') {
        cur = match cur {
            Value::Object(m) => m.get(part).unwrap_or(&Value::Null),
            Value::Null => &Value::Null,
            _ => return Err(format!("template: can't evaluate field {part}")),
        };
    }
    Ok(cur)
}

/// Print `inspect`-style documents: each through the template, or all as a JSON array.
pub fn print_docs(docs: &[Value], format: Option<&str>) -> anyhow::Result<()> {
    match format {
        Some(f) => {
            for d in docs {
                println!("{}", render(f, d).map_err(anyhow::Error::msg)?);
            }
        }
        None => println!("{}", serde_json::to_string_pretty(docs)?),
    }
    Ok(())
}

/// Go's `fmt` rendering of a value (`map[k:v]`, `[a b]`, `<no value>`).
pub fn go_fmt(v: &Value) -> String {
    match v {
        Value::Null => "<no value>".into(),
        Value::String(s) => s.clone(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::Array(a) => format!("[{}]", a.iter().map(go_fmt).collect::<Vec<_>>().join(" ")),
        Value::Object(m) => format!(
            "map[{}]",
            m.iter()
                .map(|(k, v)| format!("{k}:{}", go_fmt(v)))
                .collect::<Vec<_>>()
                .join(" ")
        ),
    }
}

fn eval(action: &str, v: &Value) -> Result<String, String> {
    let w = words(action);
    match w.first().map(String::as_str) {
        Some("json") if w.len() == 2 => {
            Ok(serde_json::to_string(lookup(&w[1], v)?).unwrap_or_default())
        }
        Some("upper") if w.len() == 2 => Ok(go_fmt(lookup(&w[1], v)?).to_uppercase()),
        Some("lower") if w.len() == 2 => Ok(go_fmt(lookup(&w[1], v)?).to_lowercase()),
        Some("index") if w.len() == 3 => {
            let m = lookup(&w[1], v)?;
            let x = match m {
                Value::Object(o) => o.get(&w[2]).cloned().unwrap_or(Value::Null),
                Value::Array(a) => w[2]
                    .parse::<usize>()
                    .ok()
                    .and_then(|i| a.get(i).cloned())
                    .unwrap_or(Value::Null),
                _ => Value::Null,
            };
            Ok(match x {
                Value::Null => String::new(),
                x => go_fmt(&x),
            })
        }
        Some("join") if w.len() == 3 => Ok(lookup(&w[1], v)?
            .as_array()
            .map(|a| a.iter().map(go_fmt).collect::<Vec<_>>().join(&w[2]))
            .unwrap_or_default()),
        Some(p) if p.starts_with('.') && w.len() == 1 => Ok(go_fmt(lookup(p, v)?)),
        _ => Err(format!("template: unsupported action {{{{{action}}}}}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn renders_docker_templates() {
        let v = json!({"State": {"Status": "running", "ExitCode": 0}, "Config": {"Labels": {"a": "b"}, "Cmd": ["sh", "-c"]}, "Name": "/web"});
        assert_eq!(render("{{.State.Status}}", &v).expect("ok"), "running");
        assert_eq!(
            render("{{.Name}}\\t{{.State.ExitCode}}", &v).expect("ok"),
            "/web\t0"
        );
        assert_eq!(
            render("{{json .Config.Labels}}", &v).expect("ok"),
            "{\"a\":\"b\"}"
        );
        assert_eq!(
            render("{{index .Config.Labels \"a\"}}", &v).expect("ok"),
            "b"
        );
        assert_eq!(render("{{.Config.Cmd}}", &v).expect("ok"), "[sh -c]");
        assert_eq!(render("{{.Nope}}", &v).expect("ok"), "<no value>");
        assert!(render("{{range .X}}", &v).is_err());
    }
}
