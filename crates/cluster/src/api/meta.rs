//! Object metadata as kube-apiserver handles it: names (RFC 1123 subdomains and labels,
//! RFC 1035 labels), `generateName`, uids, label and annotation validation.

use std::io::Read;

use serde_json::Value;

use super::status::FieldError;

pub const DNS1123_SUBDOMAIN: &str = "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
pub const DNS1123_LABEL: &str = "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";
pub const DNS1035_LABEL: &str = "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')";

fn label_chars_ok(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !s.starts_with('-')
        && !s.ends_with('-')
}

/// RFC 1123 label (namespaces, container names): the errors, empty when valid.
pub fn dns1123_label(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    if s.len() > 63 {
        out.push("must be no more than 63 characters".to_string());
    }
    if !label_chars_ok(s) {
        out.push(DNS1123_LABEL.to_string());
    }
    out
}

/// RFC 1123 subdomain (most object names).
pub fn dns1123_subdomain(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    if s.len() > 253 {
        out.push("must be no more than 253 characters".to_string());
    }
    if s.is_empty() || !s.split('.').all(label_chars_ok) {
        out.push(DNS1123_SUBDOMAIN.to_string());
    }
    out
}

/// RFC 1035 label (service names).
pub fn dns1035_label(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    if s.len() > 63 {
        out.push("must be no more than 63 characters".to_string());
    }
    if !label_chars_ok(s) || !s.starts_with(|c: char| c.is_ascii_lowercase()) {
        out.push(DNS1035_LABEL.to_string());
    }
    out
}

/// Which rule names of a kind follow.
pub fn name_rule(kind: &str) -> fn(&str) -> Vec<String> {
    match kind {
        "Namespace" => dns1123_label,
        "Service" => dns1035_label,
        _ => dns1123_subdomain,
    }
}

fn qualified_name(k: &str) -> Vec<String> {
    let mut out = Vec::new();
    let (prefix, name) = match k.rsplit_once('/') {
        Some((p, n)) => (Some(p), n),
        None => (None, k),
    };
    if let Some(p) = prefix {
        if p.is_empty() {
            out.push("prefix part must be non-empty".to_string());
        } else {
            for e in dns1123_subdomain(p) {
                out.push(format!("prefix part {e}"));
            }
        }
    }
    let ok = !name.is_empty()
        && name.len() <= 63
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
        && name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name.ends_with(|c: char| c.is_ascii_alphanumeric());
    if name.is_empty() {
        out.push("name part must be non-empty".to_string());
    } else if name.len() > 63 {
        out.push("name part must be no more than 63 characters".to_string());
    } else if !ok {
        out.push("name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')".to_string());
    }
    out
}

fn label_value(v: &str) -> Vec<String> {
    let mut out = Vec::new();
    if v.len() > 63 {
        out.push("must be no more than 63 characters".to_string());
    }
    let ok = v.is_empty()
        || (v
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
            && v.starts_with(|c: char| c.is_ascii_alphanumeric())
            && v.ends_with(|c: char| c.is_ascii_alphanumeric()));
    if !ok {
        out.push("a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')".to_string());
    }
    out
}

/// Labels at `path` (a map of strings): key and value rules.
pub fn validate_labels(labels: &Value, path: &str, errs: &mut Vec<FieldError>) {
    let Some(m) = labels.as_object() else {
        return;
    };
    for (k, v) in m {
        for e in qualified_name(k) {
            errs.push(FieldError::invalid(path, &Value::String(k.clone()), &e));
        }
        let s = v.as_str().unwrap_or_default();
        for e in label_value(s) {
            errs.push(FieldError::invalid(
                format!("{path}[{k}]"),
                &Value::String(s.to_string()),
                &e,
            ));
        }
    }
}

/// The common metadata checks of a create or update.
pub fn validate_meta(obj: &Value, kind: &str, namespaced: bool, errs: &mut Vec<FieldError>) {
    let md = &obj["metadata"];
    let name = md["name"].as_str().unwrap_or_default();
    if name.is_empty() {
        errs.push(FieldError::required(
            "metadata.name",
            "name or generateName is required",
        ));
    } else {
        for e in name_rule(kind)(name) {
            errs.push(FieldError::invalid(
                "metadata.name",
                &Value::String(name.to_string()),
                &e,
            ));
        }
    }
    let ns = md["namespace"].as_str().unwrap_or_default();
    if namespaced && ns.is_empty() {
        errs.push(FieldError::required("metadata.namespace", ""));
    } else if !namespaced && !ns.is_empty() {
        errs.push(FieldError::forbidden(
            "metadata.namespace",
            "not allowed on this type",
        ));
    }
    validate_labels(&md["labels"], "metadata.labels", errs);
    if let Some(a) = md["annotations"].as_object() {
        let size: usize = a
            .iter()
            .map(|(k, v)| k.len() + v.as_str().map_or(0, str::len))
            .sum();
        for k in a.keys() {
            for e in qualified_name(&k.to_lowercase()) {
                errs.push(FieldError::invalid(
                    "metadata.annotations",
                    &Value::String(k.clone()),
                    &e,
                ));
            }
        }
        if size > 256 * 1024 {
            errs.push(FieldError {
                reason: "FieldValueTooLong",
                field: "metadata.annotations".to_string(),
                message: "Too long: may not be more than 262144 bytes".to_string(),
            });
        }
    }
}

/// Set `v[key]` to `default` when it is absent, null or an empty string (the zero
/// values kube's `SetDefaults_*` functions replace).
pub fn set_default(v: &mut Value, key: &str, default: Value) {
    let missing = match v.get(key) {
        None | Some(Value::Null) => true,
        Some(Value::String(s)) => s.is_empty(),
        _ => false,
    };
    if missing {
        v[key] = default;
    }
}

/// Random bytes from the kernel.
pub fn random_bytes<const N: usize>() -> [u8; N] {
    let mut b = [0u8; N];
    if let Ok(mut f) = std::fs::File::open("/dev/urandom") {
        if f.read_exact(&mut b).is_ok() {
            return b;
        }
    }
    // No /dev/urandom: mix the clock in (names stay unique enough to retry on a clash).
    let t = clock::now_nanos().to_le_bytes();
    for (i, x) in b.iter_mut().enumerate() {
        *x = t[i % 8].wrapping_add(i as u8);
    }
    b
}

/// A version 4 UUID, as kube-apiserver gives every object.
pub fn new_uid() -> String {
    let mut b = random_bytes::<16>();
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

/// `n` characters from the alphabet kube uses for generated names (no vowels, no
/// look-alikes).
pub fn random_suffix(n: usize) -> String {
    const ALPHA: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
    let b = random_bytes::<16>();
    b.iter()
        .take(n)
        .map(|x| ALPHA[*x as usize % ALPHA.len()] as char)
        .collect()
}

/// The name for `generateName`: the prefix (cut to leave room) and five characters.
pub fn generate_name(prefix: &str) -> String {
    let keep = prefix.len().min(63 - 5);
    format!("{}{}", &prefix[..keep], random_suffix(5))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn names_follow_their_kinds_rules() {
        assert!(dns1123_subdomain("web.example-1").is_empty());
        assert_eq!(dns1123_subdomain("Web"), [DNS1123_SUBDOMAIN]);
        assert!(dns1123_label("a.b").len() == 1);
        assert_eq!(dns1035_label("1abc"), [DNS1035_LABEL]);
        let mut errs = Vec::new();
        validate_meta(
            &json!({"metadata": {"name": "ok", "labels": {"app": "bad value"}}}),
            "ConfigMap",
            true,
            &mut errs,
        );
        let fields: Vec<&str> = errs.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["metadata.namespace", "metadata.labels[app]"]);
        let uid = new_uid();
        assert_eq!(uid.len(), 36);
        assert_eq!(&uid[14..15], "4");
        let g = generate_name("web-");
        assert!(g.starts_with("web-") && g.len() == 9, "{g}");
    }
}
