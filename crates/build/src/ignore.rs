//! `.dockerignore` with Docker's rules (moby's patternmatcher), which are not gitignore's:
//! each line is a pattern cleaned like a path with a leading `/` dropped; `*`, `?`,
//! `[...]` and `\` match as Go's `filepath.Match` within one path segment, a `**`
//! segment matches any number of segments; a pattern that matches a directory excludes
//! everything under it; a `!` pattern re-includes; the last matching pattern wins.

/// One pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Pattern {
    segs: Vec<String>,
    exclusion: bool,
}

/// The patterns of a `.dockerignore`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Ignore {
    patterns: Vec<Pattern>,
}

/// `filepath.Clean` of a relative path, as segments (`.` for empty).
fn clean(p: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for s in p.split('/') {
        match s {
            "" | "." => {}
            ".." => {
                if out.last().is_some_and(|l| l != "..") {
                    out.pop();
                } else if !p.starts_with('/') {
                    out.push("..".into());
                }
            }
            s => out.push(s.to_string()),
        }
    }
    out
}

/// Go's `filepath.Match` for one segment (no `/` in either).
pub(crate) fn segment_matches(pat: &[char], name: &[char]) -> bool {
    let (mut p, mut n) = (0, 0);
    let (mut star_p, mut star_n) = (None, 0);
    while n < name.len() {
        if p < pat.len() {
            match pat[p] {
                '*' => {
                    star_p = Some(p);
                    star_n = n;
                    p += 1;
                    continue;
                }
                '?' => {
                    p += 1;
                    n += 1;
                    continue;
                }
                '[' => {
                    if let Some((ok, len)) = class(&pat[p..], name[n]) {
                        if ok {
                            p += len;
                            n += 1;
                            continue;
                        }
                    }
                }
                '\\' if p + 1 < pat.len() => {
                    if pat[p + 1] == name[n] {
                        p += 2;
                        n += 1;
                        continue;
                    }
                }
                c => {
                    if c == name[n] {
                        p += 1;
                        n += 1;
                        continue;
                    }
                }
            }
        }
        match star_p {
            Some(sp) => {
                p = sp + 1;
                star_n += 1;
                n = star_n;
            }
            None => return false,
        }
    }
    while p < pat.len() && pat[p] == '*' {
        p += 1;
    }
    p == pat.len()
}

/// A `[...]` class at the start of `pat`: whether `c` is in it, and the class's length.
fn class(pat: &[char], c: char) -> Option<(bool, usize)> {
    let mut i = 1;
    let negate = pat.get(1) == Some(&'^') || pat.get(1) == Some(&'!');
    if negate {
        i += 1;
    }
    let mut found = false;
    let mut first = true;
    while i < pat.len() {
        if pat[i] == ']' && !first {
            return Some((found != negate, i + 1));
        }
        first = false;
        let mut lo = pat[i];
        if lo == '\\' {
            i += 1;
            lo = *pat.get(i)?;
        }
        let mut hi = lo;
        if pat.get(i + 1) == Some(&'-') && pat.get(i + 2).is_some_and(|&h| h != ']') {
            hi = pat[i + 2];
            if hi == '\\' {
                hi = *pat.get(i + 3)?;
                i += 1;
            }
            i += 2;
        }
        if lo <= c && c <= hi {
            found = true;
        }
        i += 1;
    }
    None
}

fn segs_match(pat: &[String], path: &[&str]) -> bool {
    match pat.first() {
        None => path.is_empty(),
        Some(p) if p == "**" => (0..=path.len()).any(|k| segs_match(&pat[1..], &path[k..])),
        Some(p) => {
            !path.is_empty() && {
                let pc: Vec<char> = p.chars().collect();
                let nc: Vec<char> = path[0].chars().collect();
                segment_matches(&pc, &nc) && segs_match(&pat[1..], &path[1..])
            }
        }
    }
}

impl Pattern {
    /// The pattern matches `path` or one of its parent directories.
    fn matches(&self, path: &[&str]) -> bool {
        (1..=path.len()).any(|k| segs_match(&self.segs, &path[..k]))
    }
}

impl Ignore {
    /// Read the text of a `.dockerignore`.
    pub fn parse(text: &str) -> Ignore {
        let mut patterns = Vec::new();
        for line in text.lines() {
            let l = line.trim();
            if l.is_empty() || l.starts_with('#') {
                continue;
            }
            let (exclusion, p) = match l.strip_prefix('!') {
                Some(rest) => (true, rest.trim()),
                None => (false, l),
            };
            let segs = clean(p);
            if segs.is_empty() {
                continue;
            }
            patterns.push(Pattern { segs, exclusion });
        }
        Ignore { patterns }
    }

    /// Whether `path` (relative to the context, `/`-separated) is left out.
    pub fn excluded(&self, path: &str) -> bool {
        let segs: Vec<&str> = path
            .split('/')
            .filter(|s| !s.is_empty() && *s != ".")
            .collect();
        if segs.is_empty() {
            return false;
        }
        let mut out = false;
        for p in &self.patterns {
            if p.exclusion == out && p.matches(&segs) {
                out = !p.exclusion;
            }
        }
        out
    }

    /// Whether some `!` pattern could re-include something under the excluded directory
    /// `dir` (so its walk cannot be skipped).
    pub fn may_reinclude_under(&self, dir: &str) -> bool {
        let segs: Vec<&str> = dir.split('/').filter(|s| !s.is_empty()).collect();
        self.patterns.iter().any(|p| {
            p.exclusion && {
                // A prefix of the pattern as long as the directory could match it.
                let n = segs.len().min(p.segs.len());
                p.segs[..n].iter().any(|s| s == "**") || segs_match(&p.segs[..n], &segs[..n])
            }
        })
    }

    /// No patterns.
    pub fn is_empty(&self) -> bool {
        self.patterns.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ex(rules: &str, path: &str) -> bool {
        Ignore::parse(rules).excluded(path)
    }

    #[test]
    fn docker_rules() {
        // Plain names match the path or any parent: a directory takes its content.
        assert!(ex("node_modules", "node_modules/a/b.js"));
        assert!(!ex("node_modules", "src/node_modules/a.js"));
        // `*` stays in one segment; `**` spans segments.
        assert!(ex("*.md", "README.md"));
        assert!(!ex("*.md", "docs/README.md"));
        assert!(ex("*/*.md", "docs/README.md"));
        assert!(ex("**/*.md", "docs/deep/README.md"));
        assert!(ex("**/*.md", "README.md"));
        assert!(ex("docs/**", "docs/a/b"));
        // Leading slash, `./` and `..` are cleaned away.
        assert!(ex("/secret", "secret"));
        assert!(ex("./build/../secret", "secret"));
        // Exceptions: the last matching line wins.
        let rules = "*.md\n!README.md\n";
        assert!(ex(rules, "CHANGES.md"));
        assert!(!ex(rules, "README.md"));
        let rules = "!README.md\n*.md\n";
        assert!(ex(rules, "README.md"));
        // Comments, blank lines, `?` and classes.
        assert!(ex("# comment\n\nfile?.txt", "file1.txt"));
        assert!(ex("[a-c]x", "bx"));
        assert!(!ex("[a-c]x", "dx"));
        assert!(ex("[!a-c]x", "dx"));
        assert!(ex("\\*star", "*star"));
        assert!(!ex("\\*star", "xstar"));
        // Not gitignore: a bare name does not match in subdirectories.
        assert!(!ex("target", "crates/x/target"));
        assert!(!ex("", "anything"));
    }

    #[test]
    fn excluded_directories_are_walked_only_when_a_pattern_could_re_include() {
        let i = Ignore::parse("vendor\n!vendor/keep.txt\n");
        assert!(i.excluded("vendor"));
        assert!(i.may_reinclude_under("vendor"));
        assert!(!i.excluded("vendor/keep.txt"));
        assert!(i.excluded("vendor/other.txt"));
        let j = Ignore::parse("vendor\n!src/x\n");
        assert!(!j.may_reinclude_under("vendor"));
        let k = Ignore::parse("**\n!**/*.go\n");
        assert!(k.may_reinclude_under("any/dir"));
        assert!(!k.excluded("a/b/c.go"));
        assert!(k.excluded("a/b/c.rs"));
    }
}
