//! Cases checked against Go 1.19's text/template with docker's functions added (data
//! decoded into `interface{}`, JSON integers as int64): every expected string is Go's output.

use serde_json::Value;

use crate::{Error, Template};

mod errors;
mod output;

fn run(tpl: &str, data: &str) -> Result<String, Error> {
    let data: Value = serde_json::from_str(data).expect("test data is JSON");
    Template::parse("", tpl)?.execute(&data)
}

macro_rules! case {
    ($name:ident, $tpl:expr, $data:expr, $want:expr) => {
        #[test]
        fn $name() {
            let got = super::run($tpl, $data).map_err(|e| e.to_string());
            let want: Result<&str, &str> = $want;
            let want = want.map(str::to_string).map_err(str::to_string);
            assert_eq!(got, want, "template {:?}", $tpl);
        }
    };
}
pub(crate) use case;

/// The data most cases run over.
const D: &str = "{\"Name\": \"web\", \"Id\": \"abc123def456\", \"Count\": 3, \"Zero\": 0, \"Ratio\": 1.5, \"Big\": 1500000.0, \"Small\": 1e-05, \"Empty\": \"\", \"Nil\": null, \"True\": true, \"False\": false, \"List\": [\"a\", \"b\", \"c\"], \"Nums\": [1, 2, 3], \"EmptyList\": [], \"Mixed\": [1, \"x\", null, true, 2.5], \"Map\": {\"b\": 2, \"a\": 1, \"c\": 3}, \"EmptyMap\": {}, \"Nested\": {\"Inner\": {\"Deep\": \"yes\", \"N\": null}, \"L\": [{\"K\": \"v1\"}, {\"K\": \"v2\"}]}, \"Labels\": {\"com.example.z\": \"last\", \"com.example.a\": \"first\"}, \"Html\": \"<a href=\\\"x\\\">'&'</a>\", \"Url\": \"a b&c=d/e?f\", \"Words\": \"hello wide world\", \"Upper\": \"MiXeD\", \"Neg\": -7, \"Str5\": \"5\"}";
