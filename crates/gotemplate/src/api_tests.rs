//! The API around the Go cases: extra functions, named templates, error kinds, and the
//! places where docker's Go signatures differ from the generic oracle.

use serde_json::{json, Value};

use crate::{Error, Funcs, Template};

fn double(args: &[Value]) -> Result<Value, String> {
    match args {
        [Value::Number(n)] => Ok(json!(n.as_i64().unwrap_or_default() * 2)),
        _ => Err("want one integer".into()),
    }
}

fn shout(args: &[Value]) -> Result<Value, String> {
    Ok(json!(format!(
        "{}!",
        args.first().and_then(Value::as_str).unwrap_or_default()
    )))
}

fn funcs() -> Funcs {
    let mut f = Funcs::new();
    f.insert("double", double).insert("upper", shout);
    f
}

#[test]
fn extra_function_is_called_with_arguments_and_pipeline_value() {
    let t =
        Template::parse_with_funcs("t", "{{double .N}} {{.N | double}}", funcs()).expect("parses");
    assert_eq!(t.execute(&json!({"N": 21})), Ok("42 42".to_string()));
}

#[test]
fn extra_function_error_is_reported_as_go_does() {
    let t = Template::parse_with_funcs("t", "{{double \"x\"}}", funcs()).expect("parses");
    assert_eq!(
        t.execute(&json!({})),
        Err(Error::Exec(
            "template: t:1:2: executing \"t\" at <double \"x\">: error calling double: want one integer".into()
        ))
    );
}

#[test]
fn extra_function_takes_precedence_over_builtin() {
    let t = Template::parse_with_funcs("t", "{{upper \"a\"}}", funcs()).expect("parses");
    assert_eq!(t.execute(&Value::Null), Ok("a!".to_string()));
}

#[test]
fn missing_value_reaches_extra_function_as_null() {
    fn is_null(args: &[Value]) -> Result<Value, String> {
        Ok(Value::Bool(args[0].is_null()))
    }
    let mut f = Funcs::new();
    f.insert("isnull", is_null);
    let t = Template::parse_with_funcs("t", "{{isnull .Missing}}", f).expect("parses");
    assert_eq!(t.execute(&json!({})), Ok("true".to_string()));
}

#[test]
fn unknown_function_is_a_parse_error() {
    let e = Template::parse("t", "{{double 1}}").expect_err("double is not a builtin");
    assert_eq!(
        e,
        Error::Parse("template: t:1: function \"double\" not defined".into())
    );
}

#[test]
fn named_templates_execute_on_their_own() {
    let t =
        Template::parse("main", "{{define \"row\"}}{{.ID}}\t{{.Name}}{{end}}main").expect("parses");
    assert_eq!(t.name(), "main");
    assert_eq!(
        t.execute_template("row", &json!({"ID": 1, "Name": "a"})),
        Ok("1\ta".to_string())
    );
    assert_eq!(t.execute(&Value::Null), Ok("main".to_string()));
    assert_eq!(
        t.execute_template("nope", &Value::Null),
        Err(Error::Exec(
            "template: no template \"nope\" associated with template \"main\"".into()
        ))
    );
}

#[test]
fn a_template_is_reusable() {
    let t = Template::parse("t", "{{range .}}{{.}},{{end}}").expect("parses");
    assert_eq!(t.execute(&json!([1, 2])), Ok("1,2,".to_string()));
    assert_eq!(t.execute(&json!(["x"])), Ok("x,".to_string()));
}

#[test]
fn join_names_dockers_string_slice_on_wrong_type() {
    let t = Template::parse("", "{{join .Name \",\"}}").expect("parses");
    assert_eq!(
        t.execute(&json!({"Name": "web"})).map_err(|e| e.to_string()),
        Err("template: :1:7: executing \"\" at <.Name>: wrong type for value; expected []string; got string".into())
    );
}

#[test]
fn pad_and_truncate_accept_integers_from_data() {
    // Go would want `int` and refuse the int64 of decoded data; docker's fields are ints.
    let t = Template::parse("", "[{{pad .S .N .N}}][{{truncate .S .N}}]").expect("parses");
    assert_eq!(
        t.execute(&json!({"S": "abc", "N": 1})),
        Ok("[ abc ][a]".to_string())
    );
}

#[test]
fn error_display_is_the_go_message() {
    let e = Template::parse("x", "{{if}}{{end}}").expect_err("if needs a value");
    assert_eq!(e.to_string(), "template: x:1: missing value for if");
}

#[test]
fn deep_template_recursion_stops_with_an_error() {
    let t = Template::parse(
        "",
        "{{define \"r\"}}{{template \"r\" .}}{{end}}{{template \"r\" .}}",
    )
    .expect("parses");
    let e = t.execute(&Value::Null).expect_err("recursion is bounded");
    assert!(
        e.to_string()
            .contains("exceeded maximum template depth (100)"),
        "{e}"
    );
}

#[test]
fn no_prefix_of_a_template_panics() {
    let templates = [
        "{{range $i, $e := .L}}{{if eq $i 1 | not}}{{- printf \"%-5.2f|%q\" 1.5 \"é\\n\" -}}{{else if (index $.M \"k\")}}{{break}}{{end}}{{end}}",
        "{{define \"T\"}}{{with .A}}{{.B.C}}{{else}}{{block \"U\" .}}{{json .}}{{end}}{{end}}{{end}}{{template \"T\" .}}",
        "a {{/* c */}} {{- $x := `raw` -}} {{$x = 'é'}}{{slice \"héllo\" 1 2}}{{0x1F}}{{-1.5e3}}{{(len .L).X}}",
    ];
    let data = json!({"L": [1, null, "x"], "M": {"k": [1]}, "A": {"B": {"C": 1}}});
    for t in templates {
        for (i, _) in t.char_indices() {
            if let Ok(tpl) = Template::parse("", &t[..i]) {
                let _ = tpl.execute(&data);
            }
        }
    }
}
