//! Instruction flags (`--name=value`, `--bool`), as BuildKit's `BFlags` reads them.

use std::collections::BTreeMap;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Bool,
    Str,
    /// Repeatable (`--exclude`, `--mount`).
    Strs,
}

/// The flags an instruction accepts and what the line gave.
#[derive(Debug, Default)]
pub(crate) struct Flags {
    specs: Vec<(&'static str, Kind)>,
    values: BTreeMap<&'static str, Vec<String>>,
}

impl Flags {
    pub(crate) fn new(specs: &[(&'static str, Kind)]) -> Flags {
        Flags {
            specs: specs.to_vec(),
            values: BTreeMap::new(),
        }
    }

    /// Reads `raw` against the accepted flags; messages are BuildKit's.
    pub(crate) fn parse(&mut self, raw: &[String]) -> Result<(), String> {
        for a in raw {
            if a == "--" {
                return Ok(());
            }
            let Some(body) = a.strip_prefix("--") else {
                return Err(format!("arg should start with -- : {a}"));
            };
            let (name, value) = match body.split_once('=') {
                Some((n, v)) => (n, Some(v)),
                None => (body, None),
            };
            let flag_name = format!("--{name}");
            let Some(&(key, kind)) = self.specs.iter().find(|(n, _)| *n == name) else {
                let mut names: Vec<String> =
                    self.specs.iter().map(|(n, _)| n.to_string()).collect();
                names.sort();
                return Err(crate::suggest::wrap(
                    format!("unknown flag: {flag_name}"),
                    name,
                    &names,
                    true,
                ));
            };
            if self.values.contains_key(key) && kind != Kind::Strs {
                return Err(format!("duplicate flag specified: {flag_name}"));
            }
            let entry = self.values.entry(key).or_default();
            match kind {
                Kind::Bool => {
                    if value == Some("") {
                        return Err(format!("missing a value on flag: {flag_name}"));
                    }
                    let v = value.unwrap_or("").to_ascii_lowercase();
                    match v.as_str() {
                        "true" | "" => entry.push("true".into()),
                        "false" => entry.push("false".into()),
                        _ => {
                            return Err(format!(
                                "expecting boolean value for flag {flag_name}, not: {}",
                                value.unwrap_or_default()
                            ))
                        }
                    }
                }
                Kind::Str | Kind::Strs => match value {
                    Some(v) => {
                        if kind == Kind::Str {
                            entry.clear();
                        }
                        entry.push(v.to_string());
                    }
                    None => return Err(format!("missing a value on flag: {flag_name}")),
                },
            }
        }
        Ok(())
    }

    /// The value of a string flag, or `default` when absent.
    pub(crate) fn string(&self, name: &str, default: &str) -> String {
        self.values
            .get(name)
            .and_then(|v| v.last().cloned())
            .unwrap_or_else(|| default.to_string())
    }

    pub(crate) fn opt_string(&self, name: &str) -> Option<String> {
        self.values.get(name).and_then(|v| v.last().cloned())
    }

    pub(crate) fn bool(&self, name: &str) -> bool {
        self.values
            .get(name)
            .and_then(|v| v.last())
            .is_some_and(|v| v == "true")
    }

    pub(crate) fn opt_bool(&self, name: &str) -> Option<bool> {
        self.values
            .get(name)
            .and_then(|v| v.last())
            .map(|v| v == "true")
    }

    pub(crate) fn strings(&self, name: &str) -> Vec<String> {
        self.values.get(name).cloned().unwrap_or_default()
    }

    /// Names of the flags the line used, sorted.
    pub(crate) fn used_names(&self) -> Vec<String> {
        self.values.keys().map(|k| k.to_string()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flags(raw: &[&str]) -> Result<Flags, String> {
        let mut f = Flags::new(&[
            ("from", Kind::Str),
            ("link", Kind::Bool),
            ("exclude", Kind::Strs),
        ]);
        f.parse(&raw.iter().map(|s| s.to_string()).collect::<Vec<_>>())?;
        Ok(f)
    }

    #[test]
    fn values_and_booleans() {
        let f = flags(&["--from=a", "--link", "--exclude=x", "--exclude=y"])
            .expect("the test case is valid");
        assert_eq!(f.string("from", ""), "a");
        assert!(f.bool("link"));
        assert_eq!(f.strings("exclude"), vec!["x", "y"]);
        assert!(!flags(&["--link=FALSE"])
            .expect("the test case is valid")
            .bool("link"));
    }

    #[test]
    fn buildkit_messages() {
        assert_eq!(
            flags(&["--frm=a"]).expect_err("the test case is refused"),
            "unknown flag: --frm (did you mean from?)"
        );
        assert_eq!(
            flags(&["--bogus"]).expect_err("the test case is refused"),
            "unknown flag: --bogus"
        );
        assert_eq!(
            flags(&["--from=a", "--from=b"]).expect_err("the test case is refused"),
            "duplicate flag specified: --from"
        );
        assert_eq!(
            flags(&["--from"]).expect_err("the test case is refused"),
            "missing a value on flag: --from"
        );
        assert_eq!(
            flags(&["--link="]).expect_err("the test case is refused"),
            "missing a value on flag: --link"
        );
        assert_eq!(
            flags(&["--link=yes"]).expect_err("the test case is refused"),
            "expecting boolean value for flag --link, not: yes"
        );
        assert!(flags(&["--", "--bogus"]).is_ok());
    }
}
