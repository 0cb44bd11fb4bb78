//! Heredocs (`RUN <<EOF`, `COPY <<-"EOF" /dst`): which words of a line open one, and
//! how their name says whether the body is expanded.

use crate::shell_words::{Lexer, NoEnv};

/// One heredoc of an instruction.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Heredoc {
    /// The terminator word, quotes removed (`EOF` for `<<"EOF"`).
    pub name: String,
    /// The file descriptor written before `<<` (`3<<EOF`), 0 when absent.
    pub fd: u32,
    /// False when any part of the name was quoted: the body is then taken literally.
    pub expand: bool,
    /// `<<-`: leading tabs are removed from the body lines (and the terminator line).
    pub chomp: bool,
    /// The body as written, every line with its line ending, without the terminator.
    pub content: String,
}

impl Heredoc {
    /// The body with leading tabs removed from every line when `chomp` asks for it.
    pub fn body(&self) -> String {
        if self.chomp {
            chomp_tabs(&self.content)
        } else {
            self.content.clone()
        }
    }
}

/// Removes the tabs at the start of every line (BuildKit's `ChompHeredocContent`).
pub fn chomp_tabs(s: &str) -> String {
    s.split_inclusive('\n')
        .map(|line| line.trim_start_matches('\t'))
        .collect()
}

/// Go's `\s` in BuildKit's heredoc expression.
fn is_re_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\x0c' | '\r')
}

/// Reads `word` as a heredoc opener (`^(\d*)<<(-?)\s*([^<]*)$`); `Ok(None)` when it is
/// not one. The body is left empty.
pub fn parse_heredoc(word: &str) -> Result<Option<Heredoc>, String> {
    let digits_end = word
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(word.len());
    let digits = &word[..digits_end];
    let Some(rest) = word[digits_end..].strip_prefix("<<") else {
        return Ok(None);
    };
    let (chomp, rest) = match rest.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, rest),
    };
    let rest = rest.trim_start_matches(is_re_space);
    if rest.contains('<') || rest.is_empty() {
        return Ok(None);
    }
    let fd = digits.parse::<u32>().unwrap_or(0);

    let mut lex = Lexer::new('\\');
    lex.skip_unset = true;
    let words = lex.process_words(rest, &NoEnv).map_err(|e| e.to_string())?;
    if words.len() != 1 {
        return Ok(None);
    }
    lex.raw_quotes = true;
    let raw = lex.process_words(rest, &NoEnv).map_err(|e| e.to_string())?;
    if raw.len() != words.len() {
        return Err(format!(
            "internal lexing of heredoc produced inconsistent results: {rest}"
        ));
    }
    let quotes = |s: &str| s.chars().filter(|c| *c == '\'' || *c == '"').count();
    Ok(Some(Heredoc {
        name: words[0].clone(),
        fd,
        expand: quotes(&words[0]) == quotes(&raw[0]),
        chomp,
        content: String::new(),
    }))
}

/// The heredocs a logical line opens, in order.
pub(crate) fn heredocs_in_line(line: &str) -> Result<Vec<Heredoc>, String> {
    let mut lex = Lexer::new('\\');
    lex.raw_quotes = true;
    lex.raw_escapes = true;
    lex.skip_unset = true;
    // BuildKit ignores a lexing failure here: the line then opens no heredoc.
    let words = lex.process_words(line, &NoEnv).unwrap_or_default();
    let mut docs = Vec::new();
    for word in words {
        if let Some(doc) = parse_heredoc(&word)? {
            docs.push(doc);
        }
    }
    Ok(docs)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(word: &str) -> Heredoc {
        parse_heredoc(word)
            .expect("the test case is valid")
            .expect("the test case is valid")
    }

    #[test]
    fn openers() {
        let d = doc("<<EOF");
        assert_eq!(
            (d.name.as_str(), d.expand, d.chomp, d.fd),
            ("EOF", true, false, 0)
        );
        let d = doc("<<-EOF");
        assert!(d.chomp);
        let d = doc("<<'EOF'");
        assert_eq!((d.name.as_str(), d.expand), ("EOF", false));
        let d = doc("<<\"EOF\"");
        assert_eq!((d.name.as_str(), d.expand), ("EOF", false));
        let d = doc("<<E\"O\"F");
        assert_eq!((d.name.as_str(), d.expand), ("EOF", false));
        let d = doc("3<<EOF");
        assert_eq!(d.fd, 3);
        let d = doc("<< EOF");
        assert_eq!(d.name, "EOF");
    }

    #[test]
    fn not_openers() {
        assert_eq!(parse_heredoc("<<").expect("the test case is valid"), None);
        assert_eq!(parse_heredoc("EOF").expect("the test case is valid"), None);
        assert_eq!(
            parse_heredoc("x<<EOF").expect("the test case is valid"),
            None
        );
        assert_eq!(
            parse_heredoc("<<<EOF").expect("the test case is valid"),
            None
        );
        assert_eq!(
            parse_heredoc("<<'a b' c").expect("the test case is valid"),
            None
        );
        assert!(parse_heredoc("<<'EOF").is_err());
    }

    #[test]
    fn line_scan_finds_every_opener() {
        let docs = heredocs_in_line("RUN cat <<A - <<-\"B\" > /x").expect("the test case is valid");
        let names: Vec<_> = docs
            .iter()
            .map(|d| (d.name.as_str(), d.expand, d.chomp))
            .collect();
        assert_eq!(names, vec![("A", true, false), ("B", false, true)]);
        assert!(heredocs_in_line("RUN echo '<<A'")
            .expect("the test case is valid")
            .is_empty());
    }

    #[test]
    fn chomping() {
        assert_eq!(chomp_tabs("\t\ta\n\tb\n  c\n"), "a\nb\n  c\n");
    }
}
