//! The text `docker build --check` prints.
//!
//! Layout from buildx's `printResult` and BuildKit's `LintResults.PrintTo` and
//! `errdefs.Source.Print`: a summary line, then per warning a blank line,
//! `WARNING: Rule - URL`, the message, `Dockerfile:LINE`, and the source lines around the
//! finding between dashed rules with `>>>` on the offending lines. An error is printed
//! after the warnings with its source the same way; the `ERROR: ` prefix is how the
//! docker CLI shows a failed command and is the least certain part of this rendering.

use super::{CheckReport, Warning};
use crate::error::Lines;

/// The whole output for `report` on the Dockerfile `text` named `filename`.
pub fn render(report: &CheckReport, filename: &str, text: &str) -> String {
    let mut out = String::new();
    match report.warnings.len() {
        0 => {}
        1 => out.push_str("Check complete, 1 warning has been found!\n"),
        n => out.push_str(&format!("Check complete, {n} warnings have been found!\n")),
    }
    for w in &report.warnings {
        render_warning(&mut out, w, filename, text);
    }
    match &report.error {
        Some(e) => {
            if !report.warnings.is_empty() {
                out.push('\n');
            }
            out.push_str("ERROR: ");
            out.push_str(&e.to_string());
            out.push('\n');
            if let Some(lines) = e.lines() {
                out.push_str(&render_source(filename, text, lines));
            }
        }
        None if report.warnings.is_empty() => out.push_str("Check complete, no warnings found.\n"),
        None => {}
    }
    out
}

fn render_warning(out: &mut String, w: &Warning, filename: &str, text: &str) {
    out.push_str("\nWARNING: ");
    out.push_str(w.rule);
    if !w.url.is_empty() {
        out.push_str(" - ");
        out.push_str(w.url);
    }
    out.push('\n');
    out.push_str(&w.message);
    out.push('\n');
    out.push_str(&render_source(filename, text, w.lines));
}

/// The source excerpt around `lines` (BuildKit's `Source.Print`): up to four lines of
/// context for a single line, two for a range.
pub fn render_source(filename: &str, text: &str, lines: Lines) -> String {
    let src: Vec<&str> = text.split('\n').collect();
    let (mut start, mut end) = (lines.start, lines.end.max(lines.start));
    if start > src.len() || start < 1 {
        return String::new();
    }
    end = end.min(src.len());
    let pad = if end == start { 4 } else { 2 };
    let first = start;
    let mut p = 0;
    while p < pad {
        if start > 1 {
            start -= 1;
            p += 1;
        }
        if end != src.len() {
            end += 1;
            p += 1;
        }
        p += 1;
    }
    let mut out = format!("{filename}:{first}\n--------------------\n");
    for i in start..=end {
        let marker = if i >= lines.start && i <= lines.end.max(lines.start) {
            ">>>"
        } else {
            "   "
        };
        out.push_str(&format!(" {i:>3} | {marker} {}\n", src[i - 1]));
    }
    out.push_str("--------------------\n");
    out
}
