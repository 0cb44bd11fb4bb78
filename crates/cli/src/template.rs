//! `--format` and `inspect -f`: Go's text/template (the `gotemplate` crate, with docker's
//! functions) over a JSON value, after docker's `\t`/`\n` escapes.

use serde_json::Value;

/// Render `tpl` against `v`.
pub fn render(tpl: &str, v: &Value) -> Result<String, String> {
    let tpl = tpl.replace("\\t", "\t").replace("\\n", "\n");
    let mut funcs = gotemplate::Funcs::new();
    funcs.insert_method("Label", label);
    funcs.empty_values_as_structs();
    let t = gotemplate::Template::parse_with_funcs("", &tpl, funcs).map_err(|e| e.to_string())?;
    t.execute(v).map_err(|e| e.to_string())
}

/// A row as docker's `--format json` prints it: Go's json.Marshal, whose HTML escaping
/// is on (`<none>` is `\u003cnone\u003e`; the template function `json` has it off).
pub fn go_json(v: &Value) -> String {
    v.to_string()
        .replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026")
}

/// Docker's `.Label "KEY"` of list rows (containers, images, volumes, networks): the
/// label's value, empty when it has none. Rows carry `Labels` as docker prints them
/// (`k=v,k2=v2`) or as a map.
fn label(row: &Value, args: &[Value]) -> Result<Value, String> {
    let [Value::String(key)] = args else {
        return Err(format!(
            "wrong number of args for Label: want 1 got {}",
            args.len()
        ));
    };
    let found = match &row["Labels"] {
        Value::Object(m) => m.get(key).and_then(Value::as_str).map(str::to_string),
        Value::String(s) => s
            .split(',')
            .filter_map(|kv| kv.split_once('='))
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.to_string()),
        _ => None,
    };
    Ok(Value::String(found.unwrap_or_default()))
}

/// Docker's `table` formats: `table {{.ID}}\t{{.Names}}` prints a header row (the same
/// template over `headers`, a field -> header name map, as docker's header contexts do)
/// and the rows, the tab-separated cells aligned as Go's tabwriter aligns them with
/// docker's settings (minimum width 10, padding 3; the last cell is not padded).
pub fn render_table(tpl: &str, rows: &[Value], headers: &[(&str, &str)]) -> Result<String, String> {
    let header_doc = Value::Object(
        headers
            .iter()
            .map(|(k, v)| (k.to_string(), Value::String(v.to_string())))
            .collect(),
    );
    let mut lines = vec![render(tpl, &header_doc)?];
    for r in rows {
        lines.push(render(tpl, r)?);
    }
    Ok(align(&lines.join("\n"), 10, 3))
}

/// Go's tabwriter over `text` (cells end at tabs; a line's last cell is not aligned).
pub fn align(text: &str, min: usize, pad: usize) -> String {
    let rows: Vec<Vec<&str>> = text.split('\n').map(|l| l.split('\t').collect()).collect();
    let cols = rows
        .iter()
        .map(|r| r.len().saturating_sub(1))
        .max()
        .unwrap_or(0);
    let mut widths = vec![0usize; cols];
    for r in &rows {
        for (i, c) in r.iter().take(r.len().saturating_sub(1)).enumerate() {
            widths[i] = widths[i].max((c.chars().count() + pad).max(min));
        }
    }
    let mut out = String::new();
    for (n, r) in rows.iter().enumerate() {
        if n > 0 {
            out.push('\n');
        }
        for (i, c) in r.iter().enumerate() {
            if i + 1 < r.len() {
                out.push_str(c);
                out.push_str(&" ".repeat(widths[i].saturating_sub(c.chars().count())));
            } else {
                out.push_str(c);
            }
        }
    }
    out
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn label_is_a_method_of_list_rows() {
        let row = json!({"Labels": "app=web,tier=front", "Names": "w1"});
        assert_eq!(render("{{.Label \"app\"}}", &row).expect("render"), "web");
        assert_eq!(render("{{.Label \"nope\"}}|", &row).expect("render"), "|");
        let row = json!({"Labels": {"app": "db"}});
        assert_eq!(
            render("{{.Label \"app\" | upper}}", &row).expect("render"),
            "DB"
        );
        // Docker's sets print as Go prints map[string]struct{}.
        let c = json!({"ExposedPorts": {"80/tcp": {}, "90/tcp": {}}, "Labels": {}});
        assert_eq!(
            render("{{.ExposedPorts}} {{.Labels}}", &c).expect("render"),
            "map[80/tcp:{} 90/tcp:{}] map[]"
        );
        assert_eq!(
            go_json(&json!({"Tag": "<none>", "A": "x&y"})),
            r#"{"A":"x\u0026y","Tag":"\u003cnone\u003e"}"#
        );
        // A field of the same name without arguments is still a field.
        assert_eq!(
            render("{{.Labels}}", &json!({"Labels": "a=b"})).expect("render"),
            "a=b"
        );
    }

    #[test]
    fn tables_as_docker_prints_them() {
        let rows = vec![
            json!({"ID": "abc", "Names": "web"}),
            json!({"ID": "abcdef123456", "Names": "db"}),
        ];
        let t = render_table(
            "{{.ID}}\\t{{.Names}}",
            &rows,
            &[("ID", "CONTAINER ID"), ("Names", "NAMES")],
        )
        .expect("table");
        assert_eq!(
            t,
            "CONTAINER ID   NAMES\nabc            web\nabcdef123456   db"
        );
        // A narrow column is at least 10 wide.
        let t = render_table(
            "{{.Names}}\\t{{.ID}}",
            &rows,
            &[("ID", "CONTAINER ID"), ("Names", "NAMES")],
        )
        .expect("table");
        assert_eq!(t.lines().next(), Some("NAMES     CONTAINER ID"));
    }

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
        // The whole language now: range, if, printf, len, docker's functions.
        assert_eq!(
            render("{{range $i, $c := .Config.Cmd}}{{if $i}},{{end}}{{printf \"%q\" $c}}{{end}} {{len .Config.Cmd}} {{upper .State.Status}}", &v)
                .expect("ok"),
            "\"sh\",\"-c\" 2 RUNNING"
        );
    }
}
