//! Kubernetes label selectors as `kubectl -l` and `?labelSelector=` write them:
//! `a=b`, `a==b`, `a!=b`, `a in (x,y)`, `a notin (x)`, `a` (exists), `!a` (absent),
//! joined by commas (all must hold). Errors use kube-apiserver's words.

use std::collections::BTreeMap;

/// One requirement of a selector.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Requirement {
    Equals(String, String),
    NotEquals(String, String),
    In(String, Vec<String>),
    NotIn(String, Vec<String>),
    Exists(String),
    DoesNotExist(String),
}

/// A parsed selector (empty: everything matches).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Selector(pub Vec<Requirement>);

/// A selector that does not parse.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
#[error("unable to parse requirement: {0}")]
pub struct Error(pub String);

fn key_ok(k: &str) -> bool {
    // [prefix/]name: name up to 63 of [A-Za-z0-9._-], starting and ending alphanumeric.
    let name = k.rsplit_once('/').map_or(k, |(_, n)| n);
    !name.is_empty()
        && name.len() <= 63
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c))
        && name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name.ends_with(|c: char| c.is_ascii_alphanumeric())
}

fn value_ok(v: &str) -> bool {
    v.is_empty()
        || (v.len() <= 63
            && v.chars()
                .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c))
            && v.starts_with(|c: char| c.is_ascii_alphanumeric())
            && v.ends_with(|c: char| c.is_ascii_alphanumeric()))
}

/// Split at commas outside parentheses.
fn terms(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut depth = 0;
    let mut cur = String::new();
    for c in s.chars() {
        match c {
            '(' => {
                depth += 1;
                cur.push(c)
            }
            ')' => {
                depth -= 1;
                cur.push(c)
            }
            ',' if depth == 0 => out.push(std::mem::take(&mut cur)),
            _ => cur.push(c),
        }
    }
    out.push(cur);
    out.into_iter()
        .map(|t| t.trim().to_string())
        .filter(|t| !t.is_empty())
        .collect()
}

fn set_values(rest: &str, term: &str) -> Result<Vec<String>, Error> {
    let inner = rest
        .trim()
        .strip_prefix('(')
        .and_then(|r| r.strip_suffix(')'))
        .ok_or_else(|| Error(format!("{term}: a set must be in parentheses")))?;
    let vals: Vec<String> = inner.split(',').map(|v| v.trim().to_string()).collect();
    if vals.iter().any(|v| !value_ok(v)) || vals.is_empty() {
        return Err(Error(format!("{term}: invalid value in the set")));
    }
    Ok(vals)
}

impl std::fmt::Display for Selector {
    /// The text [`Selector::parse`] reads back.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let parts: Vec<String> = self
            .0
            .iter()
            .map(|r| match r {
                Requirement::Equals(k, v) => format!("{k}={v}"),
                Requirement::NotEquals(k, v) => format!("{k}!={v}"),
                Requirement::In(k, vs) => format!("{k} in ({})", vs.join(",")),
                Requirement::NotIn(k, vs) => format!("{k} notin ({})", vs.join(",")),
                Requirement::Exists(k) => k.clone(),
                Requirement::DoesNotExist(k) => format!("!{k}"),
            })
            .collect();
        f.write_str(&parts.join(","))
    }
}

impl Selector {
    /// Parse `kubectl -l`'s text.
    pub fn parse(s: &str) -> Result<Selector, Error> {
        let mut reqs = Vec::new();
        for t in terms(s) {
            let check = |k: &str| -> Result<String, Error> {
                let k = k.trim();
                if key_ok(k) {
                    Ok(k.to_string())
                } else {
                    Err(Error(format!("{t}: invalid label key {k:?}")))
                }
            };
            let r = if let Some(k) = t.strip_prefix('!') {
                Requirement::DoesNotExist(check(k)?)
            } else if let Some((k, v)) = t.split_once("!=") {
                Requirement::NotEquals(check(k)?, v.trim().to_string())
            } else if let Some((k, v)) = t.split_once("==").or_else(|| t.split_once('=')) {
                Requirement::Equals(check(k)?, v.trim().to_string())
            } else if let Some((k, rest)) = t.split_once(" notin ") {
                Requirement::NotIn(check(k)?, set_values(rest, &t)?)
            } else if let Some((k, rest)) = t.split_once(" in ") {
                Requirement::In(check(k)?, set_values(rest, &t)?)
            } else {
                Requirement::Exists(check(&t)?)
            };
            if let Requirement::Equals(_, v) | Requirement::NotEquals(_, v) = &r {
                if !value_ok(v) {
                    return Err(Error(format!("{t}: invalid label value {v:?}")));
                }
            }
            reqs.push(r);
        }
        Ok(Selector(reqs))
    }

    /// Whether `labels` satisfy every requirement.
    pub fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        self.0.iter().all(|r| match r {
            Requirement::Equals(k, v) => labels.get(k) == Some(v),
            Requirement::NotEquals(k, v) => labels.get(k) != Some(v),
            Requirement::In(k, vs) => labels.get(k).is_some_and(|x| vs.contains(x)),
            Requirement::NotIn(k, vs) => labels.get(k).is_none_or(|x| !vs.contains(x)),
            Requirement::Exists(k) => labels.contains_key(k),
            Requirement::DoesNotExist(k) => !labels.contains_key(k),
        })
    }

    /// The labels of an object (`metadata.labels`).
    pub fn labels_of(obj: &serde_json::Value) -> BTreeMap<String, String> {
        obj["metadata"]["labels"]
            .as_object()
            .map(|m| {
                m.iter()
                    .filter_map(|(k, v)| v.as_str().map(|s| (k.clone(), s.to_string())))
                    .collect()
            })
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn every_operator() {
        let l = labels(&[("app", "web"), ("tier", "front"), ("env", "prod")]);
        for (sel, want) in [
            ("", true),
            ("app=web", true),
            ("app==web", true),
            ("app!=web", false),
            ("app in (web, api)", true),
            ("app notin (web)", false),
            ("tier", true),
            ("!tier", false),
            ("!missing", true),
            ("missing!=x", true),
            ("app=web,env=prod,!canary", true),
            ("app=web,env=dev", false),
            ("example.com/owner notin (x)", true),
        ] {
            let s = Selector::parse(sel).expect(sel);
            assert_eq!(s.matches(&l), want, "{sel}");
        }
    }

    #[test]
    fn refusals() {
        for bad in ["a=b c", "-a=b", "a in x", "a in (b c)", "a=-b"] {
            assert!(Selector::parse(bad).is_err(), "{bad}");
        }
    }
}
