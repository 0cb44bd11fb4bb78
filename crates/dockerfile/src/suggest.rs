//! "did you mean ...?" suggestions, as BuildKit's `suggest` package makes them: the
//! option with the smallest Levenshtein distance below 3; an exact match means no
//! suggestion.

/// The closest option to `value`, if any is close enough.
pub fn search(value: &str, options: &[String], case_sensitive: bool) -> Option<String> {
    let val = if case_sensitive {
        value.to_string()
    } else {
        value.to_lowercase()
    };
    let mut best: Option<String> = None;
    let mut min = 3;
    for opt in options {
        let o = if case_sensitive {
            opt.clone()
        } else {
            opt.to_lowercase()
        };
        if o == val {
            return None;
        }
        let d = levenshtein(&val, &o);
        if d < min {
            min = d;
            best = Some(if case_sensitive {
                o
            } else {
                match_case(&o, value)
            });
        }
    }
    best
}

/// `message (did you mean x?)` when a suggestion exists.
pub fn wrap(message: String, value: &str, options: &[String], case_sensitive: bool) -> String {
    match search(value, options, case_sensitive) {
        Some(m) => format!("{message} (did you mean {m}?)"),
        None => message,
    }
}

fn match_case(val: &str, orig: &str) -> String {
    if orig == orig.to_lowercase() {
        val.to_lowercase()
    } else if orig == orig.to_uppercase() {
        val.to_uppercase()
    } else {
        val.to_string()
    }
}

fn levenshtein(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.iter().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != cb);
            cur[j + 1] = (prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn suggests_close_names() {
        let o = opts(&["FROM", "RUN", "COPY"]);
        assert_eq!(search("FOM", &o, false).as_deref(), Some("FROM"));
        assert_eq!(search("cpy", &o, false).as_deref(), Some("copy"));
        assert_eq!(search("XYZZY", &o, false), None);
        assert_eq!(search("run", &o, false), None);
        assert_eq!(levenshtein("kitten", "sitting"), 3);
    }
}
