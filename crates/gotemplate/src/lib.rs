//! Go's `text/template`, as docker's `--format` and `inspect -f` use it, evaluated over a
//! [`serde_json::Value`] (what the data looks like after `json.Unmarshal` into
//! `interface{}`, except that JSON integers stay integers, as docker's struct fields are).
//!
//! Owns: lexing, parsing and executing templates, Go's builtins (`and`, `or`, `not`,
//! `len`, `index`, `slice`, `print*`, comparisons, `html`, `js`, `urlquery`), docker's
//! functions (`json`, `join`, `split`, `title`, `lower`, `upper`, `pad`, `truncate`),
//! and printing values the way Go's fmt does (`[a b]`, `map[k:v]`, `<no value>`, `<nil>`).
//! Error messages follow Go's (`template: NAME:LINE: ...` when parsing,
//! `template: NAME:LINE:COL: executing "NAME" at <NODE>: ...` when executing).
//!
//! Must never depend on I/O, other quai crates, or anything beyond `serde_json`.

mod exec;
mod format;

/// Go's float formatting (`%g` with a precision or shortest, `encoding/json`'s form),
/// for other crates that print what Go programs print.
pub use format::{fmt_g, json_float};
mod funcs;
mod lex;
mod parse;

use std::collections::{BTreeMap, HashSet};

use serde_json::Value;

/// An extra template function: its arguments (a missing value is `null`), its result or
/// an error message (reported as `error calling NAME: MESSAGE`).
pub type Func = fn(&[Value]) -> Result<Value, String>;

/// A method of the data's objects: the receiver (a JSON object), the call's arguments;
/// its result or an error message. Docker's contexts have a few (`.Label "key"`).
pub type Method = fn(&Value, &[Value]) -> Result<Value, String>;

/// Extra functions by name; they take precedence over builtins of the same name, as in Go.
/// Also methods: `.Name ARG...` on an object calls the method `Name` when one is
/// registered (a field of that name is then not looked at).
#[derive(Debug, Clone, Default)]
pub struct Funcs {
    funcs: BTreeMap<String, Func>,
    methods: BTreeMap<String, Method>,
    struct_sets: bool,
}

impl Funcs {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds (or replaces) `name`.
    pub fn insert(&mut self, name: impl Into<String>, f: Func) -> &mut Self {
        self.funcs.insert(name.into(), f);
        self
    }

    /// Adds (or replaces) the method `name` of objects.
    pub fn insert_method(&mut self, name: impl Into<String>, m: Method) -> &mut Self {
        self.methods.insert(name.into(), m);
        self
    }

    /// Print an empty object that is a map's value as `{}` rather than `map[]`: in
    /// docker's documents such values are Go's `struct{}` (the sets `ExposedPorts` and
    /// `Volumes`: `map[80/tcp:{}]`), which JSON cannot tell from an empty map.
    pub fn empty_values_as_structs(&mut self) -> &mut Self {
        self.struct_sets = true;
        self
    }

    pub(crate) fn get(&self, name: &str) -> Option<Func> {
        self.funcs.get(name).copied()
    }

    pub(crate) fn method(&self, name: &str) -> Option<Method> {
        self.methods.get(name).copied()
    }
}

/// A parse or execution error, with Go's message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// The template text is malformed (`template: NAME:LINE: MESSAGE`).
    #[error("{0}")]
    Parse(String),
    /// Executing failed (`template: NAME:LINE:COL: executing "NAME" at <NODE>: MESSAGE`).
    #[error("{0}")]
    Exec(String),
}

/// A parsed template with the templates it defines (`define`, `block`).
#[derive(Debug, Clone)]
pub struct Template {
    name: String,
    text: String,
    trees: parse::Trees,
    funcs: Funcs,
}

impl Template {
    /// Parses `text` with the builtin and docker functions.
    pub fn parse(name: &str, text: &str) -> Result<Self, Error> {
        Self::parse_with_funcs(name, text, Funcs::new())
    }

    /// Parses `text` with `funcs` added to the builtin and docker functions.
    pub fn parse_with_funcs(name: &str, text: &str, funcs: Funcs) -> Result<Self, Error> {
        let mut known: HashSet<String> = funcs::BUILTINS.iter().map(|s| s.to_string()).collect();
        known.extend(funcs.funcs.keys().cloned());
        let trees = parse::parse(name, text, &known)?;
        Ok(Template {
            name: name.to_string(),
            text: text.to_string(),
            trees,
            funcs,
        })
    }

    /// The name given to [`Template::parse`].
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Executes the main template over `data`.
    pub fn execute(&self, data: &Value) -> Result<String, Error> {
        self.execute_template(&self.name, data)
    }

    /// Executes the template called `name` (the main one or one it defines) over `data`.
    pub fn execute_template(&self, name: &str, data: &Value) -> Result<String, Error> {
        let _sets = format::StructSets::enter(self.funcs.struct_sets);
        exec::execute(self, name, data)
    }
}

#[cfg(test)]
mod api_tests;
#[cfg(test)]
mod tests;
