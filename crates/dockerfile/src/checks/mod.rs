//! `docker build --check`: BuildKit's lint rules over a Dockerfile, the `# check=`
//! directive (`skip=`, `experimental=`, `error=`), per-instruction `# check=` comments,
//! and the text `docker build --check` prints.
//!
//! Findings are raised while parsing ([`crate::Dockerfile::parse`]) and while planning
//! ([`crate::build::plan`]) exactly where BuildKit raises them; this module filters them
//! by configuration, orders them and renders them.
//!
//! Left out: CopyIgnoredFile needs the `.dockerignore` of the build context, and
//! InvalidBaseImagePlatform needs the pulled image; both are for a builder to raise.

mod render;
pub mod rules;

pub use render::{render, render_source};
pub use rules::Rule;

use crate::build::{self, BaseImages, BuildOptions};
use crate::error::{Error, Lines};
use crate::lexer::find_directive;
use crate::Dockerfile;

/// `# check=` settings.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LintConfig {
    pub skip_all: bool,
    pub skip: Vec<String>,
    pub experimental_all: bool,
    pub experimental: Vec<String>,
    /// `error=true`: warnings fail the build.
    pub error: bool,
}

impl LintConfig {
    /// Parses `skip=A,B;experimental=C;error=true` (BuildKit's `ParseLintOptions`).
    pub fn parse(s: &str) -> Result<LintConfig, String> {
        let s = s.trim();
        let mut cfg = LintConfig::default();
        if s.is_empty() {
            return Ok(cfg);
        }
        for part in s.splitn(3, ';') {
            let Some((k, v)) = part.split_once('=') else {
                return Err(format!(
                    "invalid check option {}",
                    crate::quote::go_quote(part)
                ));
            };
            let list = |v: &str| {
                v.split(',')
                    .map(|r| r.trim().to_string())
                    .collect::<Vec<_>>()
            };
            match k.trim() {
                "skip" => {
                    let v = v.trim();
                    if v == "all" {
                        cfg.skip_all = true;
                    } else {
                        cfg.skip = list(v);
                    }
                }
                "experimental" => {
                    let v = v.trim();
                    if v == "all" {
                        cfg.experimental_all = true;
                    } else {
                        cfg.experimental = list(v);
                    }
                }
                "error" => {
                    cfg.error = crate::instructions::mount::parse_go_bool(v.trim()).ok_or_else(|| {
                        format!(
                            "failed to parse check option {}: strconv.ParseBool: parsing {}: invalid syntax",
                            crate::quote::go_quote(part),
                            crate::quote::go_quote(v.trim())
                        )
                    })?;
                }
                other => {
                    return Err(format!(
                        "invalid check option {}",
                        crate::quote::go_quote(other)
                    ))
                }
            }
        }
        Ok(cfg)
    }

    /// The configuration from the `# check=` directive of `text` (first word of its value).
    pub fn from_directive(text: &str) -> Result<LintConfig, String> {
        match find_directive("check", text) {
            Some((first, _, _)) => LintConfig::parse(&first),
            None => Ok(LintConfig::default()),
        }
    }

    /// This configuration with `other` added (an instruction's own `# check=` comment).
    fn merged(&self, other: &LintConfig) -> LintConfig {
        let mut out = self.clone();
        out.experimental_all |= other.experimental_all;
        out.skip_all |= other.skip_all;
        out.experimental.extend(other.experimental.iter().cloned());
        out.skip.extend(other.skip.iter().cloned());
        out
    }

    fn allows(&self, rule: &Rule) -> bool {
        if rule.experimental {
            self.experimental_all || self.experimental.iter().any(|r| r == rule.name)
        } else {
            !(self.skip_all || self.skip.iter().any(|r| r == rule.name))
        }
    }
}

/// A finding before configuration is applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Finding {
    pub rule: &'static Rule,
    pub message: String,
    pub lines: Lines,
    /// The `# check=` comment right above the instruction, if any.
    pub local: Option<LintConfig>,
}

impl Finding {
    pub(crate) fn new(
        rule: &'static Rule,
        message: String,
        lines: Lines,
        comments: &[String],
    ) -> Finding {
        Finding {
            rule,
            message,
            lines,
            local: local_config(comments),
        }
    }
}

/// The first `check=` directive among an instruction's comments (BuildKit reads them
/// with the directive grammar and no `#`). An unreadable one changes nothing.
fn local_config(comments: &[String]) -> Option<LintConfig> {
    for comment in comments {
        let mut p = crate::lexer::DirectiveParser::new("");
        let Ok(Some(d)) = p.parse_line(comment) else {
            continue;
        };
        if d.name != "check" {
            continue;
        }
        let first = d.value.split(' ').next().unwrap_or_default();
        return LintConfig::parse(first).ok();
    }
    None
}

/// One warning as `docker build --check` reports it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Warning {
    #[serde(rename = "ruleName")]
    pub rule: &'static str,
    pub description: &'static str,
    pub url: &'static str,
    /// The formatted message (BuildKit's "detail").
    #[serde(rename = "detail")]
    pub message: String,
    pub lines: Lines,
}

/// The result of checking a Dockerfile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckReport {
    /// Warnings in the order `docker build --check` prints them (by line).
    pub warnings: Vec<Warning>,
    /// The build error, if the file cannot be built (or `error=true` and warnings).
    pub error: Option<Error>,
}

/// Applies `config` to raw findings; also returns the names of the rules that fired.
pub(crate) fn apply(config: &LintConfig, findings: &[Finding]) -> Vec<Warning> {
    let mut out: Vec<Warning> = findings
        .iter()
        .filter(|f| match &f.local {
            Some(local) => config.merged(local).allows(f.rule),
            None => config.allows(f.rule),
        })
        .map(|f| Warning {
            rule: f.rule.name,
            description: f.rule.description,
            url: f.rule.url,
            message: f.message.clone(),
            lines: f.lines,
        })
        .collect();
    out.sort_by_key(|w| w.lines.start);
    out
}

/// The error BuildKit returns when `error=true` and rules fired.
pub(crate) fn violation_error(warnings: &[Warning]) -> Option<Error> {
    let mut names: Vec<&str> = Vec::new();
    for w in warnings {
        if !names.contains(&w.rule) {
            names.push(w.rule);
        }
    }
    if names.is_empty() {
        return None;
    }
    Some(Error::plan(
        format!("lint violation found for rules: {}", names.join(", ")),
        None,
    ))
}

/// The lint configuration of a build: the `BUILDKIT_DOCKERFILE_CHECK` build argument
/// when given, else the `# check=` directive.
pub fn config_for(text: &str, opts: &BuildOptions) -> Result<LintConfig, Error> {
    let parsed = match opts.build_args.get("BUILDKIT_DOCKERFILE_CHECK") {
        Some(v) => LintConfig::parse(v),
        None => LintConfig::from_directive(text),
    };
    parsed.map_err(|e| Error::plan(format!("failed to parse check options: {e}"), None))
}

/// Runs every check as `docker build --check` does: with no target every stage is
/// checked; with a target, the stages it needs.
pub fn check(text: &str, opts: &BuildOptions, images: &dyn BaseImages) -> CheckReport {
    let config = match config_for(text, opts) {
        Ok(c) => c,
        Err(error) => {
            return CheckReport {
                warnings: Vec::new(),
                error: Some(error),
            }
        }
    };
    let mut findings = Vec::new();
    let df = match Dockerfile::parse_collecting(text, &mut findings) {
        Ok(df) => df,
        Err(error) => {
            return CheckReport {
                warnings: apply(&config, &findings),
                error: Some(error),
            }
        }
    };
    let mut opts = opts.clone();
    if opts.target.is_none() {
        opts.all_stages = true;
    }
    let outcome = build::plan_collecting(&df, &opts, images, &mut findings);
    let warnings = apply(&config, &findings);
    let error = match outcome {
        Err(e) => Some(e),
        Ok(_) if config.error => violation_error(&warnings),
        Ok(_) => None,
    };
    CheckReport { warnings, error }
}
