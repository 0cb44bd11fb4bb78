//! `--format` and `inspect -f`: Go's text/template (the `gotemplate` crate, with docker's
//! functions) over a JSON value, after docker's `\t`/`\n` escapes.

use serde_json::Value;

/// Render `tpl` against `v`.
pub fn render(tpl: &str, v: &Value) -> Result<String, String> {
    let tpl = tpl.replace("\\t", "\t").replace("\\n", "\n");
    let t = gotemplate::Template::parse("", &tpl).map_err(|e| e.to_string())?;
    t.execute(v).map_err(|e| e.to_string())
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
