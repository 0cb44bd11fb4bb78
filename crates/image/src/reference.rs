//! Image references: `busybox`, `library/busybox:1.36`, `host:5000/repo:tag`,
//! `repo@sha256:...`, normalised the way Docker does (`docker.io/library/busybox:latest`).

use std::fmt;
use std::str::FromStr;

use content::Digest;

/// A parsed, normalised reference.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Reference {
    /// Registry host (and port): `docker.io`, `localhost:5000`.
    pub domain: String,
    /// Repository path: `library/busybox`.
    pub path: String,
    /// Tag, if any (`latest` is filled in when neither tag nor digest is given).
    pub tag: Option<String>,
    /// Digest, if any.
    pub digest: Option<Digest>,
}

/// Why a string is not a reference.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid reference {input:?}: {reason}")]
pub struct ReferenceError {
    /// What was given.
    pub input: String,
    /// What is wrong.
    pub reason: &'static str,
}

const DEFAULT_DOMAIN: &str = "docker.io";

fn is_component(s: &str) -> bool {
    // [a-z0-9]+ ((\.|_|__|-+)[a-z0-9]+)*
    let b = s.as_bytes();
    if b.is_empty() || !is_alnum(b[0]) || !is_alnum(b[b.len() - 1]) {
        return false;
    }
    let mut i = 0;
    while i < b.len() {
        if is_alnum(b[i]) {
            i += 1;
            continue;
        }
        let start = i;
        while i < b.len() && !is_alnum(b[i]) {
            i += 1;
        }
        let sep = &s[start..i];
        let ok = sep == "." || sep == "_" || sep == "__" || sep.bytes().all(|c| c == b'-');
        if !ok {
            return false;
        }
    }
    true
}

fn is_alnum(c: u8) -> bool {
    c.is_ascii_lowercase() || c.is_ascii_digit()
}

fn is_domain(s: &str) -> bool {
    // host[:port] with host a dotted name or an [IPv6] literal.
    let (host, port) = if let Some(rest) = s.strip_prefix('[') {
        match rest.split_once(']') {
            Some((h, p)) => (h, p.strip_prefix(':')),
            None => return false,
        }
    } else {
        match s.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (s, None),
        }
    };
    if let Some(p) = port {
        if p.is_empty() || !p.bytes().all(|c| c.is_ascii_digit()) {
            return false;
        }
    }
    if s.starts_with('[') {
        return !host.is_empty() && host.bytes().all(|c| c.is_ascii_hexdigit() || c == b':');
    }
    !host.is_empty()
        && host.split('.').all(|l| {
            !l.is_empty()
                && l.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'-')
                && !l.starts_with('-')
                && !l.ends_with('-')
        })
}

fn is_tag(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && b.len() <= 128
        && (b[0].is_ascii_alphanumeric() || b[0] == b'_')
        && b.iter()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'.' | b'-'))
}

impl FromStr for Reference {
    type Err = ReferenceError;

    fn from_str(input: &str) -> Result<Reference, ReferenceError> {
        let err = |reason| ReferenceError {
            input: input.to_string(),
            reason,
        };
        if input.is_empty() {
            return Err(err("empty"));
        }
        let (rest, digest) = match input.split_once('@') {
            Some((r, d)) => (
                r,
                Some(
                    d.parse::<Digest>()
                        .map_err(|_| err("bad digest (want sha256:<64 hex>)"))?,
                ),
            ),
            None => (input, None),
        };
        // A tag is after the last ':' that follows the last '/'.
        let last_slash = rest.rfind('/').map_or(0, |i| i + 1);
        let (name, tag) = match rest[last_slash..].rfind(':') {
            Some(i) => (&rest[..last_slash + i], Some(&rest[last_slash + i + 1..])),
            None => (rest, None),
        };
        if let Some(t) = tag {
            if !is_tag(t) {
                return Err(err("bad tag (letters, digits, _ . -; at most 128)"));
            }
        }
        let (domain, path) = match name.split_once('/') {
            Some((first, rest))
                if first.contains('.')
                    || first.contains(':')
                    || first == "localhost"
                    || first.starts_with('[') =>
            {
                if !is_domain(first) {
                    return Err(err("bad registry host"));
                }
                (first.to_string(), rest.to_string())
            }
            _ => (DEFAULT_DOMAIN.to_string(), name.to_string()),
        };
        if path.chars().any(|c| c.is_ascii_uppercase()) {
            return Err(err("repository names must be lowercase"));
        }
        if !path.split('/').all(is_component) {
            return Err(err(
                "bad repository name (lowercase letters, digits, separators . _ __ -)",
            ));
        }
        let domain = if domain == "index.docker.io" {
            DEFAULT_DOMAIN.to_string()
        } else {
            domain
        };
        let path = if domain == DEFAULT_DOMAIN && !path.contains('/') {
            format!("library/{path}")
        } else {
            path
        };
        // The length limit is the normalized name's (`docker.io/library/...`), as
        // distribution's `ParseNormalizedNamed` checks it: a short name that grows past it
        // would not parse again from what it prints.
        if domain.len() + 1 + path.len() > 255 {
            return Err(err("name longer than 255 characters"));
        }
        let tag = match (tag, &digest) {
            (Some(t), _) => Some(t.to_string()),
            (None, None) => Some("latest".to_string()),
            (None, Some(_)) => None,
        };
        Ok(Reference {
            domain,
            path,
            tag,
            digest,
        })
    }
}

impl Reference {
    /// `docker.io/library/busybox` (no tag or digest).
    pub fn repository(&self) -> String {
        format!("{}/{}", self.domain, self.path)
    }

    /// Docker's short form: `busybox:latest`, `user/app:1`, `localhost:5000/x:y`.
    pub fn familiar(&self) -> String {
        let repo = if self.domain == DEFAULT_DOMAIN {
            self.path
                .strip_prefix("library/")
                .unwrap_or(&self.path)
                .to_string()
        } else {
            self.repository()
        };
        let mut s = repo;
        if let Some(t) = &self.tag {
            s.push(':');
            s.push_str(t);
        }
        if let Some(d) = &self.digest {
            s.push('@');
            s.push_str(&d.to_string());
        }
        s
    }
}

impl fmt::Display for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.repository())?;
        if let Some(t) = &self.tag {
            write!(f, ":{t}")?;
        }
        if let Some(d) = &self.digest {
            write!(f, "@{d}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn norm(s: &str) -> String {
        s.parse::<Reference>()
            .map(|r| r.to_string())
            .unwrap_or_else(|e| format!("ERR {}", e.reason))
    }

    #[test]
    fn normalises_like_docker() {
        let d = "sha256:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824";
        for (i, o) in [
            ("busybox", "docker.io/library/busybox:latest"),
            ("library/busybox:1.36", "docker.io/library/busybox:1.36"),
            ("docker.io/busybox", "docker.io/library/busybox:latest"),
            (
                "index.docker.io/library/busybox",
                "docker.io/library/busybox:latest",
            ),
            ("user/app:v1.2_x", "docker.io/user/app:v1.2_x"),
            ("localhost/app", "localhost/app:latest"),
            ("localhost:5000/a/b/c:t", "localhost:5000/a/b/c:t"),
            ("127.0.0.1:5000/repo", "127.0.0.1:5000/repo:latest"),
            ("[::1]:5000/repo:x", "[::1]:5000/repo:x"),
            (
                "my.registry.io/team/app-name__x.y",
                "my.registry.io/team/app-name__x.y:latest",
            ),
        ] {
            assert_eq!(norm(i), o, "{i}");
        }
        assert_eq!(
            norm(&format!("busybox@{d}")),
            format!("docker.io/library/busybox@{d}")
        );
        assert_eq!(
            norm(&format!("busybox:1@{d}")),
            format!("docker.io/library/busybox:1@{d}")
        );
    }

    #[test]
    fn familiar_names() {
        let r: Reference = "docker.io/library/busybox:1.36".parse().expect("ref");
        assert_eq!(r.familiar(), "busybox:1.36");
        let r: Reference = "localhost:5000/x".parse().expect("ref");
        assert_eq!(r.familiar(), "localhost:5000/x:latest");
    }

    #[test]
    fn refuses_bad_references() {
        for bad in [
            "",
            "Busybox",
            "busybox:",
            "busybox:-x",
            "a//b",
            "-a",
            "a-",
            "a..b",
            "busybox@sha256:123",
            "host:port/x",
            ":tag",
            "a/b:c:d",
        ] {
            assert!(bad.parse::<Reference>().is_err(), "{bad:?} accepted");
        }
        let long = "a".repeat(256);
        assert!(long.parse::<Reference>().is_err());
    }
}
