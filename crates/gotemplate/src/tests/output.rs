//! Go's output for the cases in `super`.

use super::{case, D};

case!(text_only, "hello", D, Ok("hello"));
case!(field, "{{.Name}}", D, Ok("web"));
case!(nested_field, "{{.Nested.Inner.Deep}}", D, Ok("yes"));
case!(missing_field, "{{.Missing}}", D, Ok("<no value>"));
case!(missing_nested, "{{.Missing.Deeper}}", D, Ok("<no value>"));
case!(null_field, "{{.Nil}}", D, Ok("<no value>"));
case!(null_in_list, "{{.Mixed}}", D, Ok("[1 x <nil> true 2.5]"));
case!(print_null, "{{print .Nil}}", D, Ok("<nil>"));
case!(printf_v_null, "{{printf \"%v\" .Nil}}", D, Ok("<nil>"));
case!(
    printf_v_missing,
    "{{printf \"%v|%s\" .Missing .Missing}}",
    D,
    Ok("<nil>|%!s(<nil>)")
);
case!(int, "{{.Count}}", D, Ok("3"));
case!(float, "{{.Ratio}}", D, Ok("1.5"));
case!(big_float, "{{.Big}}", D, Ok("1.5e+06"));
case!(small_float, "{{.Small}}", D, Ok("1e-05"));
case!(bools, "{{.True}} {{.False}}", D, Ok("true false"));
case!(list, "{{.List}}", D, Ok("[a b c]"));
case!(map_sorted, "{{.Map}}", D, Ok("map[a:1 b:2 c:3]"));
case!(
    nested_print,
    "{{.Nested}}",
    D,
    Ok("map[Inner:map[Deep:yes N:<nil>] L:[map[K:v1] map[K:v2]]]")
);
case!(
    empty_list_map,
    "{{.EmptyList}} {{.EmptyMap}}",
    D,
    Ok("[] map[]")
);
case!(dot_string, "{{.}}", "\"plain\"", Ok("plain"));
case!(
    null_data,
    "{{.}} {{.X}}",
    "null",
    Ok("<no value> <no value>")
);
case!(
    literals,
    "{{1}} {{1.5}} {{1e3}} {{0x1F}} {{'a'}} {{\"s\"}} {{`raw`}} {{true}} {{-3}}",
    D,
    Ok("1 1.5 1000 31 97 s raw true -3")
);
case!(float_literal_whole, "{{3.0}}", D, Ok("3"));
case!(
    string_escapes,
    "{{\"a\\tb\\n\\\"c\\\"\"}}",
    D,
    Ok("a\tb\n\"c\"")
);
case!(trim_both, "a  {{- .Name -}}  b", D, Ok("awebb"));
case!(trim_left_newlines, "a\n\n{{- .Name}}\n", D, Ok("aweb\n"));
case!(trim_right_only, "[ {{.Name -}} \n ]", D, Ok("[ web]"));
case!(no_trim_negative_number, "{{-3}}", D, Ok("-3"));
case!(trim_comment, "a {{- /* c */ -}} b", D, Ok("ab"));
case!(comment, "x{{/* a comment */}}y", D, Ok("xy"));
case!(multiline_comment, "x{{/* a\ncomment */}}y", D, Ok("xy"));
case!(
    tabs_newlines_literal,
    "{{.Name}}\t{{.Count}}\n",
    D,
    Ok("web\t3\n")
);
case!(if_true, "{{if .True}}yes{{end}}", D, Ok("yes"));
case!(if_else, "{{if .False}}yes{{else}}no{{end}}", D, Ok("no"));
case!(
    if_else_if,
    "{{if .False}}a{{else if .Zero}}b{{else if .Count}}c{{else}}d{{end}}",
    D,
    Ok("c")
);
case!(
    if_empty_string,
    "{{if .Empty}}y{{else}}n{{end}}",
    D,
    Ok("n")
);
case!(
    if_empty_list,
    "{{if .EmptyList}}y{{else}}n{{end}}",
    D,
    Ok("n")
);
case!(
    if_empty_map,
    "{{if .EmptyMap}}y{{else}}n{{end}}",
    D,
    Ok("n")
);
case!(if_missing, "{{if .Missing}}y{{else}}n{{end}}", D, Ok("n"));
case!(if_null, "{{if .Nil}}y{{else}}n{{end}}", D, Ok("n"));
case!(if_zero_float, "{{if 0.0}}y{{else}}n{{end}}", D, Ok("n"));
case!(if_nonempty_list, "{{if .List}}y{{end}}", D, Ok("y"));
case!(with, "{{with .Nested.Inner}}{{.Deep}}{{end}}", D, Ok("yes"));
case!(
    with_else,
    "{{with .Missing}}x{{else}}none{{end}}",
    D,
    Ok("none")
);
case!(
    with_dollar,
    "{{with .Nested}}{{$.Name}}/{{.Inner.Deep}}{{end}}",
    D,
    Ok("web/yes")
);
case!(with_var, "{{with $x := .Count}}{{$x}}{{end}}", D, Ok("3"));
case!(
    range_list,
    "{{range .List}}<{{.}}>{{end}}",
    D,
    Ok("<a><b><c>")
);
case!(
    range_index,
    "{{range $i, $e := .List}}{{$i}}={{$e}} {{end}}",
    D,
    Ok("0=a 1=b 2=c ")
);
case!(
    range_one_var,
    "{{range $e := .Nums}}{{$e}},{{end}}",
    D,
    Ok("1,2,3,")
);
case!(
    range_map_sorted,
    "{{range $k, $v := .Map}}{{$k}}:{{$v}} {{end}}",
    D,
    Ok("a:1 b:2 c:3 ")
);
case!(
    range_map_values,
    "{{range .Labels}}{{.}};{{end}}",
    D,
    Ok("first;last;")
);
case!(
    range_else,
    "{{range .EmptyList}}x{{else}}empty{{end}}",
    D,
    Ok("empty")
);
case!(
    range_missing_else,
    "{{range .Missing}}x{{else}}none{{end}}",
    D,
    Ok("none")
);
case!(
    range_nested_dollar,
    "{{range .Nested.L}}{{.K}}@{{$.Name}} {{end}}",
    D,
    Ok("v1@web v2@web ")
);
case!(
    range_break,
    "{{range .Nums}}{{if eq . 2}}{{break}}{{end}}{{.}}{{end}}",
    D,
    Ok("1")
);
case!(
    range_continue,
    "{{range .Nums}}{{if eq . 2}}{{continue}}{{end}}{{.}}{{end}}",
    D,
    Ok("13")
);
case!(
    range_nested,
    "{{range .Nested.L}}[{{range $k, $v := .}}{{$k}}={{$v}}{{end}}]{{end}}",
    D,
    Ok("[K=v1][K=v2]")
);
case!(
    range_null_elem,
    "{{range .Mixed}}({{.}}){{end}}",
    D,
    Ok("(1)(x)(<no value>)(true)(2.5)")
);
case!(
    range_trim,
    "{{range .List -}}\n  {{.}}\n{{- end}}",
    D,
    Ok("abc")
);
case!(var_decl, "{{$x := .Name}}{{$x}}", D, Ok("web"));
case!(
    var_assign,
    "{{$x := 1}}{{if .True}}{{$x = 2}}{{end}}{{$x}}",
    D,
    Ok("2")
);
case!(
    var_assign_in_range,
    "{{$n := 0}}{{range .Nums}}{{$n = .}}{{end}}{{$n}}",
    D,
    Ok("3")
);
case!(
    var_field,
    "{{$n := .Nested}}{{$n.Inner.Deep}}",
    D,
    Ok("yes")
);
case!(dollar, "{{$}}", "{\"a\": 1}", Ok("map[a:1]"));
case!(var_missing, "{{$x := .Missing}}{{$x}}", D, Ok("<no value>"));
case!(pipe_printf, "{{.Name | printf \"%s!\"}}", D, Ok("web!"));
case!(
    pipe_chain,
    "{{.Name | upper | printf \"[%s]\"}}",
    D,
    Ok("[WEB]")
);
case!(
    paren,
    "{{printf \"%d-%s\" (len .List) (index .List 1)}}",
    D,
    Ok("3-b")
);
case!(paren_field, "{{(index .Nested.L 1).K}}", D, Ok("v2"));
case!(pipe_len, "{{.List | len}}", D, Ok("3"));
case!(
    and_or,
    "{{and 1 0 2}} {{or 0 \"\" \"x\"}} {{and 1 2}} {{or 0 false}}",
    D,
    Ok("0 x 2 false")
);
case!(
    and_short_circuit,
    "{{and .False (index .List 9)}}",
    D,
    Ok("false")
);
case!(
    or_short_circuit,
    "{{or .True (index .List 9)}}",
    D,
    Ok("true")
);
case!(
    not,
    "{{not .True}} {{not .Empty}} {{not .Missing}}",
    D,
    Ok("false true true")
);
case!(
    len_all,
    "{{len .Name}} {{len .List}} {{len .Map}} {{len \"h\u{e9}llo\"}}",
    D,
    Ok("3 3 3 6")
);
case!(
    index_list,
    "{{index .List 0}} {{index .Nums 2}}",
    D,
    Ok("a 3")
);
case!(
    index_map,
    "{{index .Labels \"com.example.a\"}}",
    D,
    Ok("first")
);
case!(
    index_missing_key,
    "{{index .Map \"zz\"}}",
    D,
    Ok("<no value>")
);
case!(
    index_missing_key_print,
    "{{print (index .Map \"zz\")}}",
    D,
    Ok("<nil>")
);
case!(index_multi, "{{index .Nested \"L\" 1 \"K\"}}", D, Ok("v2"));
case!(index_string, "{{index .Name 0}}", D, Ok("119"));
case!(
    slice_list,
    "{{slice .List 1}} {{slice .List 0 2}} {{slice .List}}",
    D,
    Ok("[b c] [a b] [a b c]")
);
case!(slice_string, "{{slice .Name 1 2}}", D, Ok("e"));
case!(print_spaces, "{{print 1 2 \"a\" \"b\" 3}}", D, Ok("1 2ab3"));
case!(println, "{{println .Name .Count}}", D, Ok("web 3\n"));
case!(
    eq_int,
    "{{eq .Count 3}} {{eq .Count 4}}",
    D,
    Ok("true false")
);
case!(eq_multi, "{{eq .Name \"db\" \"web\"}}", D, Ok("true"));
case!(eq_string, "{{eq .Name \"web\"}}", D, Ok("true"));
case!(
    eq_missing,
    "{{eq .Missing \"x\"}} {{eq .Missing .Nil}}",
    D,
    Ok("false true")
);
case!(
    ne,
    "{{ne .Name \"db\"}} {{ne .Count 3}}",
    D,
    Ok("true false")
);
case!(
    lt_le_gt_ge,
    "{{lt 1 2}} {{le 2 2}} {{gt .Count 2}} {{ge .Ratio 1.5}} {{lt \"a\" \"b\"}}",
    D,
    Ok("true true true true true")
);
case!(
    html,
    "{{html .Html}}",
    D,
    Ok("&lt;a href=&#34;x&#34;&gt;&#39;&amp;&#39;&lt;/a&gt;")
);
case!(
    js,
    "{{js .Html}}",
    D,
    Ok("\\u003Ca href\\u003D\\\"x\\\"\\u003E\\'\\u0026\\'\\u003C/a\\u003E")
);
case!(urlquery, "{{urlquery .Url}}", D, Ok("a+b%26c%3Dd%2Fe%3Ff"));
case!(html_multi, "{{html 1 \"<\" 2}}", D, Ok("1&lt;2"));
case!(
    printf_verbs,
    "{{printf \"%s|%d|%v|%t|%q\" .Name .Count .Ratio .True .Name}}",
    D,
    Ok("web|3|1.5|true|\"web\"")
);
case!(
    printf_width,
    "{{printf \"[%-10s][%10s][%5d][%-5d][%05d]\" .Name .Name .Count .Count .Neg}}",
    D,
    Ok("[web       ][       web][    3][3    ][-0007]")
);
case!(
    printf_float,
    "{{printf \"%f %.2f %5.2f %e %g %.3g\" .Ratio .Ratio .Ratio .Big .Small .Ratio}}",
    D,
    Ok("1.500000 1.50  1.50 1.500000e+06 1e-05 1.5")
);
case!(
    printf_hex,
    "{{printf \"%x %X %x %#x\" 255 255 \"hi\" 255}}",
    D,
    Ok("ff FF 6869 0xff")
);
case!(printf_percent, "{{printf \"100%%\"}}", D, Ok("100%"));
case!(
    printf_bad_verb,
    "{{printf \"%d\" .Name}}",
    D,
    Ok("%!d(string=web)")
);
case!(
    printf_missing_arg,
    "{{printf \"%s %s\" .Name}}",
    D,
    Ok("web %!s(MISSING)")
);
case!(
    printf_extra_arg,
    "{{printf \"%s\" .Name 3}}",
    D,
    Ok("web%!(EXTRA int=3)")
);
case!(
    printf_list,
    "{{printf \"%v %s %q\" .List .List .List}}",
    D,
    Ok("[a b c] [a b c] [\"a\" \"b\" \"c\"]")
);
case!(
    printf_map,
    "{{printf \"%v\" .Map}}",
    D,
    Ok("map[a:1 b:2 c:3]")
);
case!(printf_char, "{{printf \"%c\" 65}}", D, Ok("A"));
case!(
    printf_plus,
    "{{printf \"%+d %+.1f\" 5 2.25}}",
    D,
    Ok("+5 +2.2")
);
case!(
    printf_float_as_int_verb,
    "{{printf \"%d\" .Ratio}}",
    D,
    Ok("%!d(float64=1.5)")
);
case!(printf_prec_string, "{{printf \"%.3s\" .Id}}", D, Ok("abc"));
case!(
    printf_type,
    "{{printf \"%T %T %T\" .Name .List .Map}}",
    D,
    Ok("string []interface {} map[string]interface {}")
);
case!(
    printf_g_whole,
    "{{printf \"%v %v %v\" 100.0 1e21 123456.0}}",
    D,
    Ok("100 1e+21 123456")
);
case!(json_string, "{{json .Name}}", D, Ok("\"web\""));
case!(
    json_nested,
    "{{json .Nested}}",
    D,
    Ok("{\"Inner\":{\"Deep\":\"yes\",\"N\":null},\"L\":[{\"K\":\"v1\"},{\"K\":\"v2\"}]}")
);
case!(
    json_map_sorted,
    "{{json .Labels}}",
    D,
    Ok("{\"com.example.a\":\"first\",\"com.example.z\":\"last\"}")
);
case!(
    json_null_missing,
    "{{json .Nil}} {{json .Missing}}",
    D,
    Ok("null null")
);
case!(
    json_float,
    "{{json .Ratio}} {{json .Big}} {{json .Small}} {{json 1e21}}",
    D,
    Ok("1.5 1500000 0.00001 1e+21")
);
case!(
    json_no_html_escape,
    "{{json .Html}}",
    D,
    Ok("\"<a href=\\\"x\\\">'&'</a>\"")
);
case!(
    json_control,
    "{{json \"a\\tb\\u0001\"}}",
    D,
    Ok("\"a\\tb\\u0001\"")
);
case!(
    json_whole,
    "{{json .}}",
    "{\"b\": [1, 2.5, \"x\", null, {\"z\": true}], \"a\": \"\"}",
    Ok("{\"a\":\"\",\"b\":[1,2.5,\"x\",null,{\"z\":true}]}")
);
case!(join, "{{join .List \", \"}}", D, Ok("a, b, c"));
case!(join_nums, "{{join .Nums \"+\"}}", D, Ok("1+2+3"));
case!(split, "{{split \"a,b,c\" \",\"}}", D, Ok("[a b c]"));
case!(
    split_index,
    "{{index (split .Id \"d\") 0}}",
    D,
    Ok("abc123")
);
case!(split_len, "{{len (split \"a:b:c\" \":\")}}", D, Ok("3"));
case!(title, "{{title .Words}}", D, Ok("Hello Wide World"));
case!(
    lower_upper,
    "{{lower .Upper}} {{upper .Upper}}",
    D,
    Ok("mixed MIXED")
);
case!(
    pad,
    "[{{pad .Name 2 3}}][{{pad \"\" 2 2}}]",
    D,
    Ok("[  web   ][]")
);
case!(
    truncate,
    "{{truncate .Id 6}} {{truncate .Name 10}} {{truncate .Name 3}}",
    D,
    Ok("abc123 web web")
);
case!(
    define_template,
    "{{define \"T\"}}<{{.}}>{{end}}{{template \"T\" .Name}}",
    D,
    Ok("<web>")
);
case!(
    template_no_data,
    "{{define \"T\"}}[{{.}}]{{end}}{{template \"T\"}}",
    D,
    Ok("[<no value>]")
);
case!(block, "{{block \"B\" .Count}}n={{.}}{{end}}", D, Ok("n=3"));
case!(
    template_dollar,
    "{{define \"T\"}}{{$}}{{end}}{{template \"T\" .Count}}",
    D,
    Ok("3")
);
case!(
    docker_ps_table,
    "table {{.Id}}\\t{{.Name}}",
    D,
    Ok("table abc123def456\\tweb")
);
case!(
    docker_labels_range,
    "{{range $k, $v := .Labels}}{{$k}}={{$v}}\n{{end}}",
    D,
    Ok("com.example.a=first\ncom.example.z=last\n")
);
case!(
    docker_inspect_style,
    "{{range .Nested.L}}{{.K}} {{end}}",
    D,
    Ok("v1 v2 ")
);
case!(
    nested_range_outer_var,
    "{{range $a := .List}}{{range $.Nums}}{{$a}}{{.}} {{end}}{{end}}",
    D,
    Ok("a1 a2 a3 b1 b2 b3 c1 c2 c3 ")
);
case!(
    with_in_range,
    "{{range .Nested.L}}{{with .K}}<{{.}}>{{end}}{{end}}",
    D,
    Ok("<v1><v2>")
);
case!(
    else_trim,
    "{{if .False -}} a {{- else -}} b {{- end}}",
    D,
    Ok("b")
);
case!(println_empty, "{{println}}", D, Ok("\n"));
case!(
    shadowing,
    "{{$x := 1}}{{range .List}}{{$x := .}}{{end}}{{$x}}",
    D,
    Ok("1")
);
case!(
    spaces_inside_action,
    "{{ .Name }}|{{  printf  \"%s\"  .Name  }}",
    D,
    Ok("web|web")
);
case!(crlf_text, "a\u{d}\n{{- .Name}}", D, Ok("aweb"));
case!(
    neg_and_big_ints,
    "{{.Neg}} {{-9223372036854775808}}",
    D,
    Ok("-7 -9223372036854775808")
);
case!(
    float_formats,
    "{{printf \"%v %v %v %v\" 1e6 -0.5 1e-7 123456.789}}",
    D,
    Ok("1e+06 -0.5 1e-07 123456.789")
);
case!(
    printf_round,
    "{{printf \"%.1f %6.2f|%-8.3f|\" 0.05 3.14159 2.5}}",
    D,
    Ok("0.1   3.14|2.500   |")
);
case!(
    printf_q_escape,
    "{{printf \"%q\" \"a\\\"b\\n\"}}",
    D,
    Ok("\"a\\\"b\\n\"")
);
case!(printf_d_list, "{{printf \"%d\" .Nums}}", D, Ok("[1 2 3]"));
case!(
    printf_width_list,
    "{{printf \"%3d\" .Nums}}",
    D,
    Ok("[  1   2   3]")
);
case!(urlquery_literal, "{{urlquery \"a/b c\"}}", D, Ok("a%2Fb+c"));
case!(
    title_separators,
    "{{title \"hello-world foo_bar x.y\"}}",
    D,
    Ok("Hello-World Foo_bar X.Y")
);
case!(
    split_empty,
    "{{split \"\" \",\"}} {{len (split \"\" \",\")}}",
    D,
    Ok("[] 1")
);
case!(
    join_split,
    "{{join (split \"a b c\" \" \") \"-\"}}",
    D,
    Ok("a-b-c")
);
case!(if_and, "{{if and .True .Count}}yes{{end}}", D, Ok("yes"));
case!(
    if_or_else,
    "{{if or .Missing .Empty}}yes{{else}}no{{end}}",
    D,
    Ok("no")
);
case!(
    not_values,
    "{{not 0}} {{not \"x\"}} {{not .EmptyList}}",
    D,
    Ok("true false true")
);
case!(
    eq_bool,
    "{{eq .True true}} {{eq .False true}}",
    D,
    Ok("true false")
);
case!(eq_nil_literal, "{{eq .Nil nil}}", D, Ok("true"));
case!(eq_float, "{{eq .Ratio 1.5}}", D, Ok("true"));
case!(index_null_elem, "{{index .Mixed 2}}", D, Ok("<no value>"));
case!(
    template_dollar_field,
    "{{define \"T\"}}{{$.K}}{{end}}{{range .Nested.L}}{{template \"T\" .}}{{end}}",
    D,
    Ok("v1v2")
);
case!(
    break_inner_only,
    "{{range .List}}{{range $.Nums}}{{if eq . 2}}{{break}}{{end}}{{.}}{{end}}{{.}}{{end}}",
    D,
    Ok("1a1b1c")
);
case!(
    pipe_into_and,
    "{{.Empty | or \"dflt\"}} {{.Name | and 1}}",
    D,
    Ok("dflt web")
);
case!(index_pipe_final, "{{\"b\" | index .Map}}", D, Ok("2"));
case!(
    range_var_after_end,
    "{{range $i, $e := .List}}{{end}}{{.Name}}",
    D,
    Ok("web")
);
case!(
    docker_size_style,
    "{{.Name}}: {{printf \"%.2f%%\" .Ratio}} ({{.Count}} items)",
    D,
    Ok("web: 1.50% (3 items)")
);
case!(
    docker_json_labels_index,
    "{{json (index .Labels \"com.example.z\")}}",
    D,
    Ok("\"last\"")
);
case!(
    docker_if_eq_else,
    "{{if eq .Name \"web\"}}is web{{else}}other{{end}}",
    D,
    Ok("is web")
);
case!(multiline_action, "{{printf\n\"%s\"\n.Name}}", D, Ok("web"));
case!(comment_with_trim_both, "a\n{{- /* c */}}\nb", D, Ok("a\nb"));
case!(
    printf_misc_verbs,
    "{{printf \"%08.3f|% d|%x|%v\" 3.14159 5 -255 .Nested.L}}",
    D,
    Ok("0003.142| 5|-ff|[map[K:v1] map[K:v2]]")
);
case!(float_data_formats, "{{.A}} {{.B}} {{.C}} {{.D}} {{.E}} {{.F}}", "{\"A\": 0.30000000000000004, \"B\": 100.5, \"C\": 1e+20, \"D\": 1e+21, \"E\": 2.0, \"F\": -0.0}", Ok("0.30000000000000004 100.5 1e+20 1e+21 2 -0"));
case!(
    json_unicode,
    "{{json .S}}",
    "{\"S\": \"h\\u00e9llo \\u2028 <>&\"}",
    Ok("\"h\u{e9}llo \\u2028 <>&\"")
);
case!(
    print_mixed,
    "{{print .Ratio .List \"x\" .Map}}",
    D,
    Ok("1.5 [a b c]xmap[a:1 b:2 c:3]")
);
case!(html_non_string, "{{html .List}}", D, Ok("[a b c]"));
case!(
    top_level_range_map,
    "{{range $k, $v := .}}{{$k}}={{$v}};{{end}}",
    "{\"z\": 1, \"a\": [1, 2], \"m\": {\"x\": null}}",
    Ok("a=[1 2];m=map[x:<nil>];z=1;")
);
case!(string_with_delims, "{{\"{{\"}}{{ \"}}\" }}", D, Ok("{{}}"));
case!(trim_string_literal, "a {{- \"x\" -}} b", D, Ok("axb"));
case!(
    quoted_in_range_printf,
    "{{range .Labels}}{{printf \"%q \" .}}{{end}}",
    D,
    Ok("\"first\" \"last\" ")
);
case!(
    len_nested_index,
    "{{len (index .Nested \"L\")}}",
    D,
    Ok("2")
);
case!(
    range_map_of_lists,
    "{{range $k, $v := .M}}{{$k}}{{range $v}}-{{.}}{{end}} {{end}}",
    "{\"M\": {\"b\": [1], \"a\": [2, 3]}}",
    Ok("a-2-3 b-1 ")
);
case!(
    with_else_dot,
    "{{with .Empty}}x{{else}}{{.Name}}{{end}}",
    D,
    Ok("web")
);
case!(
    if_var_scope_visible,
    "{{if $x := .Name}}{{$x}}{{end}}",
    D,
    Ok("web")
);
case!(
    nested_template_name_in_error,
    "{{define \"T\"}}{{.X.Y}}{{end}}{{template \"T\" .Nested}}",
    D,
    Ok("<no value>")
);
case!(
    printf_star_width,
    "{{printf \"[%*d]\" 5 42}}",
    D,
    Ok("[   42]")
);
case!(
    printf_e_small,
    "{{printf \"%e %E %.0f %.0e\" 0.000123 123456.0 2.5 15000.0}}",
    D,
    Ok("1.230000e-04 1.234560E+05 2 2e+04")
);
case!(
    printf_g_prec,
    "{{printf \"%.2g %.10g %g %G\" 123456.0 1.5 0.0001 1e-5}}",
    D,
    Ok("1.2e+05 1.5 0.0001 1E-05")
);
