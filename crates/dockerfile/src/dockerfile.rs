//! A whole Dockerfile: its logical lines, global ARGs and stages.

use crate::checks::{rules, Finding};
use crate::error::{Error, Lines};
use crate::instructions::{parse_node, Command, From, Instruction, Parsed};
use crate::lexer::{self, Ast};

/// One build stage: a FROM and the instructions up to the next FROM.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Stage {
    /// Position among the stages, from 0 (what `COPY --from=0` refers to).
    pub index: usize,
    pub from: From,
    /// The FROM keyword as written.
    pub keyword: String,
    /// The FROM line, trimmed.
    pub code: String,
    pub lines: Lines,
    pub comments: Vec<String>,
    pub commands: Vec<Command>,
}

/// A parsed Dockerfile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dockerfile {
    /// The logical lines.
    pub ast: Ast,
    /// ARG instructions before the first FROM.
    pub meta_args: Vec<Command>,
    pub stages: Vec<Stage>,
    /// The text, kept for rendering check results.
    pub text: String,
    /// Lint findings that do not depend on build options.
    pub(crate) findings: Vec<Finding>,
}

impl Dockerfile {
    /// Parses a Dockerfile (BuildKit's `parser.Parse` then `instructions.Parse`).
    pub fn parse(text: &str) -> Result<Dockerfile, Error> {
        Dockerfile::parse_collecting(text, &mut Vec::new())
    }

    /// [`Dockerfile::parse`], keeping the lint findings raised before an error too (as
    /// `--check` reports them).
    pub(crate) fn parse_collecting(
        text: &str,
        findings: &mut Vec<Finding>,
    ) -> Result<Dockerfile, Error> {
        let ast = lexer::parse(text)?;
        findings.extend(ast.warnings.iter().map(|w| {
            Finding::new(
                &rules::NO_EMPTY_CONTINUATION,
                rules::no_empty_continuation(),
                w.lines,
                &[],
            )
        }));
        let mut meta_args = Vec::new();
        let mut stages: Vec<Stage> = Vec::new();
        for node in &ast.nodes {
            let parsed = parse_node(node, findings).map_err(|message| Error::Instruction {
                message,
                lines: node.lines,
            })?;
            match parsed {
                Parsed::Stage(cmd) => {
                    let Instruction::From(from) = cmd.instruction else {
                        continue;
                    };
                    stages.push(Stage {
                        index: stages.len(),
                        from,
                        keyword: cmd.keyword,
                        code: cmd.code,
                        lines: cmd.lines,
                        comments: cmd.comments,
                        commands: Vec::new(),
                    });
                }
                Parsed::Command(cmd) => match stages.last_mut() {
                    Some(stage) => stage.commands.push(cmd),
                    None if matches!(cmd.instruction, Instruction::Arg(_)) => meta_args.push(cmd),
                    None => {
                        return Err(Error::syntax(
                            "no build stage in current context",
                            node.lines,
                        ))
                    }
                },
            }
        }
        stage_name_findings(&stages, findings);
        casing_findings(&stages, findings);
        Ok(Dockerfile {
            ast,
            meta_args,
            stages,
            text: text.to_string(),
            findings: findings.clone(),
        })
    }

    /// The escape character in effect.
    pub fn escape(&self) -> char {
        self.ast.escape
    }

    /// The stage called `name` (case-insensitive).
    pub fn stage(&self, name: &str) -> Option<&Stage> {
        let name = name.to_lowercase();
        self.stages
            .iter()
            .find(|s| s.from.name.as_deref() == Some(name.as_str()))
    }
}

/// ReservedStageName and DuplicateStageName.
fn stage_name_findings(stages: &[Stage], findings: &mut Vec<Finding>) {
    let mut seen: Vec<&str> = Vec::new();
    for stage in stages {
        let Some(name) = stage.from.name.as_deref() else {
            continue;
        };
        if name == "context" || name == "scratch" {
            findings.push(Finding::new(
                &rules::RESERVED_STAGE_NAME,
                rules::reserved_stage_name(name),
                stage.lines,
                &[],
            ));
        }
        if seen.contains(&name) {
            findings.push(Finding::new(
                &rules::DUPLICATE_STAGE_NAME,
                rules::duplicate_stage_name(name),
                stage.lines,
                &[],
            ));
        }
        seen.push(name);
    }
}

/// ConsistentInstructionCasing: every keyword (global ARGs excepted, as in BuildKit)
/// against the majority casing.
fn casing_findings(stages: &[Stage], findings: &mut Vec<Finding>) {
    let consistent = |s: &str| s == s.to_lowercase() || s == s.to_uppercase();
    let keywords = || {
        stages.iter().flat_map(|s| {
            std::iter::once((s.keyword.as_str(), s.lines))
                .chain(s.commands.iter().map(|c| (c.keyword.as_str(), c.lines)))
        })
    };
    let (mut lower, mut upper) = (0, 0);
    for (kw, _) in keywords() {
        if consistent(kw) {
            if kw == kw.to_lowercase() {
                lower += 1;
            } else {
                upper += 1;
            }
        }
    }
    let majority_lower = lower > upper;
    for (kw, lines) in keywords() {
        let casing = if majority_lower && kw.to_lowercase() != kw {
            "lowercase"
        } else if !majority_lower && kw.to_uppercase() != kw {
            "uppercase"
        } else {
            continue;
        };
        findings.push(Finding::new(
            &rules::CONSISTENT_INSTRUCTION_CASING,
            rules::consistent_instruction_casing(kw, casing),
            lines,
            &[],
        ));
    }
}
