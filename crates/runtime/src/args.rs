//! A small argument parser for the runtime's fixed, runc-shaped command line: long flags
//! (`--name value`, `--name=value`), short flags (`-b value`, `-d`), positionals, and `--`.

use std::collections::HashMap;

use crate::error::{Error, Result};

/// One accepted flag.
#[derive(Debug, Clone, Copy)]
pub struct Flag {
    /// Long name, without dashes.
    pub long: &'static str,
    /// Short letter.
    pub short: Option<char>,
    /// Whether it takes a value.
    pub takes_value: bool,
}

impl Flag {
    /// A flag with a value.
    pub const fn value(long: &'static str, short: Option<char>) -> Flag {
        Flag {
            long,
            short,
            takes_value: true,
        }
    }

    /// A boolean flag.
    pub const fn switch(long: &'static str, short: Option<char>) -> Flag {
        Flag {
            long,
            short,
            takes_value: false,
        }
    }
}

/// The result of parsing.
#[derive(Debug, Default)]
pub struct Parsed {
    values: HashMap<&'static str, Vec<String>>,
    /// Positional arguments (and everything after the stop point).
    pub positional: Vec<String>,
}

impl Parsed {
    /// Last value of a flag.
    pub fn value(&self, name: &str) -> Option<&str> {
        self.values
            .get(name)
            .and_then(|v| v.last())
            .map(String::as_str)
    }

    /// All values of a repeated flag.
    pub fn values(&self, name: &str) -> &[String] {
        self.values.get(name).map(Vec::as_slice).unwrap_or(&[])
    }

    /// Whether a flag was given.
    pub fn has(&self, name: &str) -> bool {
        self.values.contains_key(name)
    }
}

/// Parse `args` against `flags`. With `stop_at_first`, the first positional ends flag
/// parsing (the global options before the verb; `exec ID CMD...`; `ps ID ARGS...`).
pub fn parse(args: &[String], flags: &[Flag], stop_at_first: bool, ctx: &str) -> Result<Parsed> {
    let mut p = Parsed::default();
    let mut i = 0;
    while i < args.len() {
        let a = &args[i];
        i += 1;
        if a == "--" {
            p.positional.extend(args[i..].iter().cloned());
            break;
        }
        let (flag, inline) = if let Some(long) = a.strip_prefix("--") {
            let (name, v) = long
                .split_once('=')
                .map_or((long, None), |(n, v)| (n, Some(v.to_string())));
            let f = flags
                .iter()
                .find(|f| f.long == name)
                .ok_or_else(|| Error::Invalid(format!("{ctx}: unknown flag --{name}")))?;
            (f, v)
        } else if a.len() > 1
            && a.starts_with('-')
            && !a[1..].starts_with(|c: char| c.is_ascii_digit())
        {
            let mut chars = a[1..].chars();
            let c = chars.next().unwrap_or('-');
            let f = flags
                .iter()
                .find(|f| f.short == Some(c))
                .ok_or_else(|| Error::Invalid(format!("{ctx}: unknown flag -{c}")))?;
            let rest: String = chars.collect();
            (
                f,
                if rest.is_empty() {
                    None
                } else {
                    Some(rest.trim_start_matches('=').to_string())
                },
            )
        } else {
            p.positional.push(a.clone());
            if stop_at_first {
                p.positional.extend(args[i..].iter().cloned());
                break;
            }
            continue;
        };
        let value = if flag.takes_value {
            match inline {
                Some(v) => v,
                None => {
                    let v = args.get(i).ok_or_else(|| {
                        Error::Invalid(format!("{ctx}: --{} needs a value", flag.long))
                    })?;
                    i += 1;
                    v.clone()
                }
            }
        } else {
            if inline
                .as_deref()
                .is_some_and(|v| v != "true" && !v.is_empty())
            {
                return Err(Error::Invalid(format!(
                    "{ctx}: --{} takes no value",
                    flag.long
                )));
            }
            "true".to_string()
        };
        p.values.entry(flag.long).or_default().push(value);
    }
    Ok(p)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &[&str]) -> Vec<String> {
        s.iter().map(|x| x.to_string()).collect()
    }

    const F: &[Flag] = &[
        Flag::value("bundle", Some('b')),
        Flag::switch("detach", Some('d')),
        Flag::value("env", Some('e')),
    ];

    #[test]
    fn long_short_inline_and_positionals() {
        let p = parse(
            &v(&["--bundle=/b", "-d", "id1", "-e", "A=1", "--env", "B=2"]),
            F,
            false,
            "t",
        )
        .expect("parse");
        assert_eq!(p.value("bundle"), Some("/b"));
        assert!(p.has("detach"));
        assert_eq!(p.values("env"), ["A=1", "B=2"]);
        assert_eq!(p.positional, ["id1"]);
    }

    #[test]
    fn stops_at_first_positional_and_at_double_dash() {
        let p = parse(&v(&["-d", "id", "sh", "-c", "x"]), F, true, "t").expect("parse");
        assert_eq!(p.positional, ["id", "sh", "-c", "x"]);
        let p = parse(&v(&["id", "--", "-9"]), F, false, "t").expect("parse");
        assert_eq!(p.positional, ["id", "-9"]);
        // A negative number is a positional (kill ID -9 is not a flag).
        let p = parse(&v(&["id", "-9"]), F, false, "t").expect("parse");
        assert_eq!(p.positional, ["id", "-9"]);
    }

    #[test]
    fn errors_name_the_flag() {
        let e = parse(&v(&["--nope"]), F, false, "create")
            .expect_err("unknown")
            .to_string();
        assert_eq!(e, "create: unknown flag --nope");
        let e = parse(&v(&["--bundle"]), F, false, "create")
            .expect_err("missing")
            .to_string();
        assert_eq!(e, "create: --bundle needs a value");
    }
}
