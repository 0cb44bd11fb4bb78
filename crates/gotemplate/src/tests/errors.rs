//! Go's error messages for the cases in `super`.

use super::{case, D};

case!(null_nested_error, "{{.Nested.Inner.N.X}}", D, Err("template: :1:9: executing \"\" at <.Nested.Inner.N.X>: nil pointer evaluating interface {}.X"));
case!(
    field_on_string_error,
    "{{.Name.X}}",
    D,
    Err("template: :1:7: executing \"\" at <.Name.X>: can't evaluate field X in type interface {}")
);
case!(
    range_int_error,
    "{{range .Count}}x{{end}}",
    D,
    Err("template: :1:8: executing \"\" at <.Count>: range can't iterate over 3")
);
case!(
    len_int_error,
    "{{len .Count}}",
    D,
    Err("template: :1:2: executing \"\" at <len .Count>: error calling len: len of type int64")
);
case!(
    len_null_error,
    "{{len .Nil}}",
    D,
    Err("template: :1:2: executing \"\" at <len .Nil>: error calling len: len of nil pointer")
);
case!(index_out_of_range, "{{index .List 5}}", D, Err("template: :1:2: executing \"\" at <index .List 5>: error calling index: index out of range: 5"));
case!(index_null, "{{index .Nil 0}}", D, Err("template: :1:2: executing \"\" at <index .Nil 0>: error calling index: index of untyped nil"));
case!(index_bad_key_type, "{{index .Map 1}}", D, Err("template: :1:2: executing \"\" at <index .Map 1>: error calling index: value has type int; should be string"));
case!(index_float_index, "{{index .List 1.0}}", D, Err("template: :1:2: executing \"\" at <index .List 1.0>: error calling index: cannot index slice/array with type float64"));
case!(slice_bad, "{{slice .List 2 1}}", D, Err("template: :1:2: executing \"\" at <slice .List 2 1>: error calling slice: invalid slice index: 2 > 1"));
case!(eq_mixed_error, "{{eq .Name 3}}", D, Err("template: :1:2: executing \"\" at <eq .Name 3>: error calling eq: incompatible types for comparison"));
case!(eq_int_float_error, "{{eq .Count 3.0}}", D, Err("template: :1:2: executing \"\" at <eq .Count 3.0>: error calling eq: incompatible types for comparison"));
case!(eq_list_error, "{{eq .List .List}}", D, Err("template: :1:2: executing \"\" at <eq .List .List>: error calling eq: non-comparable type [a b c]: []interface {}"));
case!(lt_mixed_error, "{{lt .Name 1}}", D, Err("template: :1:2: executing \"\" at <lt .Name 1>: error calling lt: incompatible types for comparison"));
case!(lt_null_error, "{{lt .Nil 1}}", D, Err("template: :1:2: executing \"\" at <lt .Nil 1>: error calling lt: invalid type for comparison"));
case!(upper_wrong_type, "{{upper .Count}}", D, Err("template: :1:8: executing \"\" at <.Count>: wrong type for value; expected string; got int64"));
case!(
    upper_literal_wrong_type,
    "{{upper 3}}",
    D,
    Err("template: :1:8: executing \"\" at <3>: expected string; found 3")
);
case!(
    template_undefined,
    "{{template \"nope\"}}",
    D,
    Err(
        "template: :1:11: executing \"\" at <{{template \"nope\"}}>: template \"nope\" not defined"
    )
);
case!(
    err_unknown_function,
    "{{foo .Name}}",
    D,
    Err("template: :1: function \"foo\" not defined")
);
case!(
    err_unclosed_action,
    "{{.Name",
    D,
    Err("template: :1: unclosed action")
);
case!(
    err_unexpected_end,
    "{{end}}",
    D,
    Err("template: :1: unexpected {{end}}")
);
case!(
    err_missing_end,
    "{{if .True}}x",
    D,
    Err("template: :1: unexpected EOF")
);
case!(
    err_unexpected_else,
    "{{else}}",
    D,
    Err("template: :1: unexpected {{else}}")
);
case!(
    err_missing_if_value,
    "{{if}}x{{end}}",
    D,
    Err("template: :1: missing value for if")
);
case!(
    err_empty_action,
    "{{}}",
    D,
    Err("template: :1: missing value for command")
);
case!(
    err_undefined_var,
    "{{$x}}",
    D,
    Err("template: :1: undefined variable \"$x\"")
);
case!(
    err_unterminated_string,
    "{{\"abc}}",
    D,
    Err("template: :1: unterminated quoted string")
);
case!(
    err_break_outside,
    "{{break}}",
    D,
    Err("template: :1: {{break}} outside {{range}}")
);
case!(
    err_line2,
    "line1\n{{foo}}",
    D,
    Err("template: :2: function \"foo\" not defined")
);
case!(
    err_unclosed_paren,
    "{{(len .List}}",
    D,
    Err("template: :1: unclosed left paren")
);
case!(
    err_bad_char,
    "{{.Name @}}",
    D,
    Err("template: :1: unexpected \"@\" in operand")
);
case!(
    err_non_executable,
    "{{.Name | 3}}",
    D,
    Err("template: :1: non executable command in pipeline stage 2")
);
case!(
    err_unclosed_comment,
    "{{/* x }}",
    D,
    Err("template: :1: unclosed comment")
);
case!(
    err_comment_not_closed_properly,
    "{{/* x */ .A}}",
    D,
    Err("template: :1: comment ends before closing delimiter")
);
case!(
    err_wrong_arg_count,
    "{{len 1 2}}",
    D,
    Err("template: :1:2: executing \"\" at <len>: wrong number of args for len: want 1 got 2")
);
case!(
    err_nil_command,
    "{{nil}}",
    D,
    Err("template: :1:2: executing \"\" at <nil>: nil is not a command")
);
case!(
    err_arg_to_nonfunction,
    "{{.Name 1}}",
    D,
    Err("template: :1:2: executing \"\" at <.Name>: Name is not a method but has arguments")
);
case!(err_exec_line_col, "ab\ncd {{.Nested.Inner.N.X}}", D, Err("template: :2:12: executing \"\" at <.Nested.Inner.N.X>: nil pointer evaluating interface {}.X"));
case!(err_context_truncated, "{{index .Nested \"Lxxxxxxxxxxxxxxxxxxxxxxx\" 3}}", D, Err("template: :1:2: executing \"\" at <index .Nested \"Lxxxxxxxxxxxxxxxxxxxxxxx\" 3>: error calling index: index of nil pointer"));
case!(err_eq_no_args, "{{eq 1}}", D, Err("template: :1:2: executing \"\" at <eq 1>: error calling eq: missing argument for comparison"));
case!(
    scope_if_var_error,
    "{{if .True}}{{$x := 1}}{{end}}{{$x}}",
    D,
    Err("template: :1: undefined variable \"$x\"")
);
case!(
    block_overridden,
    "{{define \"B\"}}override{{end}}{{block \"B\" .}}default{{end}}",
    D,
    Err("template: :1: template: multiple definition of template \"B\"")
);
case!(int_literal_overflow, "{{print 1 18446744073709551615}}", D, Err("template: :1:10: executing \"\" at <18446744073709551615>: 18446744073709551615 overflows int"));
case!(and_no_args, "{{and}}", D, Err("template: :1:2: executing \"\" at <and>: wrong number of args for and: want at least 1 got 0"));
case!(index_negative, "{{index .Nums -1}}", D, Err("template: :1:2: executing \"\" at <index .Nums -1>: error calling index: index out of range: -1"));
case!(slice_out_of_range, "{{slice .Name 1 10}}", D, Err("template: :1:2: executing \"\" at <slice .Name 1 10>: error calling slice: index out of range: 10"));
case!(
    err_double_else,
    "{{if .True}}{{else}}{{else}}{{end}}",
    D,
    Err("template: :1: expected end; found {{else}}")
);
case!(
    err_extra_end,
    "{{range .List}}{{end}}{{end}}",
    D,
    Err("template: :1: unexpected {{end}}")
);
case!(
    err_arg_to_string,
    "{{\"a\" .Name}}",
    D,
    Err("template: :1:2: executing \"\" at <\"a\">: can't give argument to non-function \"a\"")
);
case!(
    err_arg_to_var,
    "{{$x := 1}}{{$x 2}}",
    D,
    Err("template: :1:13: executing \"\" at <$x>: can't give argument to non-function $x")
);
case!(field_on_list_error, "{{.Nested.L.K}}", D, Err("template: :1:9: executing \"\" at <.Nested.L.K>: can't evaluate field K in type interface {}"));
case!(
    field_on_top_list_error,
    "{{.K}}",
    "[1]",
    Err("template: :1:2: executing \"\" at <.K>: can't evaluate field K in type []interface {}")
);
case!(
    field_on_with_dot_error,
    "{{with .Name}}{{.X}}{{end}}",
    D,
    Err("template: :1:16: executing \"\" at <.X>: can't evaluate field X in type string")
);
case!(
    field_on_range_elem_error,
    "{{range .List}}{{.X}}{{end}}",
    D,
    Err("template: :1:17: executing \"\" at <.X>: can't evaluate field X in type interface {}")
);
case!(
    top_level_number,
    "{{.}} {{printf \"%T\" .Name}}",
    "42",
    Err("template: :1:20: executing \"\" at <.Name>: can't evaluate field Name in type int64")
);
case!(
    no_space_before_dash,
    "{{.Count-}}",
    D,
    Err("template: :1: bad character U+002D '-'")
);
case!(eq_uint_int, "{{eq 18446744073709551615 1}}", D, Err("template: :1:5: executing \"\" at <18446744073709551615>: 18446744073709551615 overflows int"));
case!(
    range_var_scoped,
    "{{range $i, $e := .List}}{{end}}{{$i}}",
    D,
    Err("template: :1: undefined variable \"$i\"")
);
case!(template_undefined_with_pipe, "{{template \"nope\" .Name}}", D, Err("template: :1:11: executing \"\" at <{{template \"nope\" .Name}}>: template \"nope\" not defined"));
