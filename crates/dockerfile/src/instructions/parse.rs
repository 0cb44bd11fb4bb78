//! From a parsed line ([`Node`]) to a typed [`Instruction`], with BuildKit's argument
//! checks and messages, and the lint findings BuildKit raises while parsing
//! (MaintainerDeprecated, StageNameCasing, FromAsCasing, InvalidDefinitionDescription).

use super::flags::{Flags, Kind};
use super::*;
use crate::checks::{rules, Finding};
use crate::lexer::{chomp_tabs, parse_heredoc, Node};

/// What one node is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Parsed {
    /// FROM: the start of a stage.
    Stage(Command),
    Command(Command),
}

fn at_least_one(cmd: &str) -> String {
    format!("{cmd} requires at least one argument")
}
fn exactly_one(cmd: &str) -> String {
    format!("{cmd} requires exactly one argument")
}
fn no_destination(cmd: &str) -> String {
    format!("{cmd} requires at least two arguments, but only one was provided. Destination could not be determined")
}
fn blank_names(cmd: &str) -> String {
    format!("{cmd} names can not be blank")
}

/// The comment describing `name`: the first comment line starting with `name `.
fn doc_comment(comments: &[String], name: &str) -> String {
    if name.is_empty() {
        return String::new();
    }
    let prefix = format!("{name} ");
    comments
        .iter()
        .find_map(|c| c.strip_prefix(&prefix))
        .unwrap_or_default()
        .to_string()
}

/// Parses one node; lint findings raised on the way are appended to `findings`.
pub(crate) fn parse_node(node: &Node, findings: &mut Vec<Finding>) -> Result<Parsed, String> {
    let args = node.flat_args();
    let mut lint = |rule: &'static rules::Rule, message: String| {
        findings.push(Finding::new(rule, message, node.lines, &node.comments));
    };
    let name = node.name();
    let instruction = match name.as_str() {
        "env" => Instruction::Env(parse_kvps(node, &args, "ENV")?),
        "maintainer" => {
            lint(
                &rules::MAINTAINER_DEPRECATED,
                rules::maintainer_deprecated(),
            );
            if args.len() != 1 {
                return Err(exactly_one("MAINTAINER"));
            }
            no_flags(node)?;
            Instruction::Maintainer(args[0].clone())
        }
        "label" => Instruction::Label(parse_kvps(node, &args, "LABEL")?),
        "add" => Instruction::Add(parse_add(node, &args)?),
        "copy" => Instruction::Copy(parse_copy(node, &args)?),
        "from" => {
            if args.len() == 3 && args[2] != args[2].to_lowercase() {
                lint(
                    &rules::STAGE_NAME_CASING,
                    rules::stage_name_casing(&args[2]),
                );
            }
            if args.len() >= 3 {
                let kw = &node.keyword;
                let lower = *kw == kw.to_lowercase();
                let upper = *kw == kw.to_uppercase();
                let mismatch = if lower {
                    args[1] != args[1].to_lowercase()
                } else if upper {
                    args[1] != args[1].to_uppercase()
                } else {
                    false
                };
                if mismatch {
                    lint(&rules::FROM_AS_CASING, rules::from_as_casing(kw, &args[1]));
                }
            }
            let from = parse_from(node, &args)?;
            if let Some(stage) = &from.name {
                definition_description("FROM", std::slice::from_ref(stage), node, &mut lint);
            }
            let cmd = command(node, Instruction::From(from));
            return Ok(Parsed::Stage(cmd));
        }
        "onbuild" => Instruction::Onbuild(parse_onbuild(node, &args)?),
        "workdir" => {
            if args.len() != 1 {
                return Err(exactly_one("WORKDIR"));
            }
            no_flags(node)?;
            Instruction::Workdir(args[0].clone())
        }
        "run" => Instruction::Run(parse_run(node, &args)?),
        "cmd" => {
            no_flags(node)?;
            Instruction::Cmd(shell_command(node, &args, false))
        }
        "entrypoint" => {
            no_flags(node)?;
            Instruction::Entrypoint(shell_command(node, &args, true))
        }
        "healthcheck" => Instruction::Healthcheck(parse_healthcheck(node, &args)?),
        "expose" => {
            if args.is_empty() {
                return Err(at_least_one("EXPOSE"));
            }
            no_flags(node)?;
            let mut ports = args.clone();
            ports.sort();
            Instruction::Expose(ports)
        }
        "user" => {
            if args.len() != 1 {
                return Err(exactly_one("USER"));
            }
            no_flags(node)?;
            Instruction::User(args[0].clone())
        }
        "volume" => {
            if args.is_empty() {
                return Err(at_least_one("VOLUME"));
            }
            no_flags(node)?;
            let mut volumes = Vec::with_capacity(args.len());
            for v in &args {
                let v = v.trim();
                if v.is_empty() {
                    return Err("VOLUME specified can not be an empty string".into());
                }
                volumes.push(v.to_string());
            }
            Instruction::Volume(volumes)
        }
        // BuildKit reads no flags for STOPSIGNAL and ARG: any flag is ignored.
        "stopsignal" => {
            if args.len() != 1 {
                return Err(exactly_one("STOPSIGNAL"));
            }
            Instruction::StopSignal(args[0].clone())
        }
        "arg" => {
            let defs = parse_arg(node, &args)?;
            let keys: Vec<String> = defs.iter().map(|d| d.key.clone()).collect();
            definition_description("ARG", &keys, node, &mut lint);
            Instruction::Arg(defs)
        }
        "shell" => {
            no_flags(node)?;
            let cmd = shell_command(node, &args, false);
            if cmd.args.is_empty() {
                return Err(at_least_one("SHELL"));
            }
            if !node.json {
                return Err("SHELL requires the arguments to be in JSON form".into());
            }
            Instruction::Shell(cmd.args)
        }
        _ => {
            let names: Vec<String> = INSTRUCTIONS.iter().map(|s| s.to_string()).collect();
            return Err(crate::suggest::wrap(
                format!("unknown instruction: {}", node.keyword),
                &node.keyword,
                &names,
                false,
            ));
        }
    };
    Ok(Parsed::Command(command(node, instruction)))
}

fn command(node: &Node, instruction: Instruction) -> Command {
    Command {
        instruction,
        keyword: node.keyword.clone(),
        code: node.original.trim().to_string(),
        lines: node.lines,
        comments: node.comments.clone(),
    }
}

fn no_flags(node: &Node) -> Result<(), String> {
    Flags::new(&[]).parse(&node.flags)
}

/// InvalidDefinitionDescription: the last comment before FROM/ARG must start with the
/// name it describes.
fn definition_description(
    instruction: &str,
    keys: &[String],
    node: &Node,
    lint: &mut impl FnMut(&'static rules::Rule, String),
) {
    let (Some(last), Some(first_key)) = (node.comments.last(), keys.first()) else {
        return;
    };
    let first_word = last.split(' ').next().unwrap_or_default();
    if keys.iter().any(|k| k == first_word) {
        return;
    }
    let example = if keys.len() > 1 {
        "<arg_key>"
    } else {
        first_key
    };
    lint(
        &rules::INVALID_DEFINITION_DESCRIPTION,
        rules::invalid_definition_description(instruction, example),
    );
}

fn parse_kvps(node: &Node, args: &[String], cmd: &str) -> Result<Vec<KeyValue>, String> {
    no_flags(node)?;
    if args.is_empty() {
        return Err(at_least_one(cmd));
    }
    if !args.len().is_multiple_of(3) {
        return Err(format!("Bad input to {cmd}, too many arguments"));
    }
    let mut out = Vec::with_capacity(args.len() / 3);
    for triple in args.chunks(3) {
        if triple[0].is_empty() {
            return Err(blank_names(cmd));
        }
        out.push(KeyValue {
            key: triple[0].clone(),
            value: triple[1].clone(),
            legacy: triple[2].is_empty(),
        });
    }
    Ok(out)
}

fn sources_and_dest(node: &Node, args: &[String], cmd: &str) -> Result<SourcesAndDest, String> {
    let (dest, srcs) = args.split_last().ok_or_else(|| no_destination(cmd))?;
    if parse_heredoc(dest).ok().flatten().is_some() {
        return Err(format!("{cmd} cannot accept a heredoc as a destination"));
    }
    let mut paths = Vec::new();
    let mut contents = Vec::new();
    for src in srcs {
        match parse_heredoc(src).ok().flatten() {
            Some(doc) => {
                // The body comes from the heredoc read with the same name (the last one).
                let body = node
                    .heredocs
                    .iter()
                    .rev()
                    .find(|h| h.name == doc.name)
                    .map(|h| h.content.clone())
                    .unwrap_or_default();
                contents.push(SourceContent {
                    path: doc.name.clone(),
                    data: if doc.chomp { chomp_tabs(&body) } else { body },
                    expand: doc.expand,
                });
            }
            None => paths.push(src.clone()),
        }
    }
    Ok(SourcesAndDest {
        dest: dest.clone(),
        paths,
        contents,
    })
}

fn parse_add(node: &Node, args: &[String]) -> Result<Add, String> {
    if args.len() < 2 {
        return Err(no_destination("ADD"));
    }
    let mut flags = Flags::new(&[
        ("chown", Kind::Str),
        ("chmod", Kind::Str),
        ("link", Kind::Bool),
        ("keep-git-dir", Kind::Bool),
        ("checksum", Kind::Str),
        ("unpack", Kind::Bool),
        ("exclude", Kind::Strs),
    ]);
    flags.parse(&node.flags)?;
    let files = sources_and_dest(node, args, "ADD")?;
    Ok(Add {
        files,
        chown: flags.string("chown", ""),
        chmod: flags.string("chmod", ""),
        link: flags.bool("link"),
        keep_git_dir: flags.opt_bool("keep-git-dir"),
        checksum: flags.string("checksum", ""),
        unpack: flags.opt_bool("unpack"),
        excludes: flags.strings("exclude"),
    })
}

fn parse_copy(node: &Node, args: &[String]) -> Result<Copy, String> {
    if args.len() < 2 {
        return Err(no_destination("COPY"));
    }
    let mut flags = Flags::new(&[
        ("chown", Kind::Str),
        ("from", Kind::Str),
        ("chmod", Kind::Str),
        ("link", Kind::Bool),
        ("exclude", Kind::Strs),
        ("parents", Kind::Bool),
    ]);
    flags.parse(&node.flags)?;
    let files = sources_and_dest(node, args, "COPY")?;
    Ok(Copy {
        files,
        from: flags.opt_string("from").filter(|f| !f.is_empty()),
        chown: flags.string("chown", ""),
        chmod: flags.string("chmod", ""),
        link: flags.bool("link"),
        parents: flags.bool("parents"),
        excludes: flags.strings("exclude"),
    })
}

/// `^[a-z][a-z0-9-_.]*$`
fn valid_stage_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && chars
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '-' | '_' | '.'))
}

fn parse_from(node: &Node, args: &[String]) -> Result<From, String> {
    let name = match args.len() {
        3 if args[1].eq_ignore_ascii_case("as") => {
            let name = args[2].to_lowercase();
            if !valid_stage_name(&name) {
                return Err(format!(
                    "invalid name for build stage: {}, name can't start with a number or contain symbols",
                    crate::quote::go_quote(&args[2])
                ));
            }
            Some(name)
        }
        1 => None,
        _ => return Err("FROM requires either one or three arguments".into()),
    };
    let mut flags = Flags::new(&[("platform", Kind::Str)]);
    flags.parse(&node.flags)?;
    let doc = doc_comment(&node.comments, name.as_deref().unwrap_or_default());
    Ok(From {
        image: args[0].clone(),
        name,
        platform: flags.opt_string("platform").filter(|p| !p.is_empty()),
        doc,
    })
}

fn parse_onbuild(node: &Node, args: &[String]) -> Result<Onbuild, String> {
    if args.is_empty() {
        return Err(at_least_one("ONBUILD"));
    }
    no_flags(node)?;
    let trigger = args[0].trim().to_uppercase();
    match trigger.as_str() {
        "ONBUILD" => return Err("Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed".into()),
        "MAINTAINER" | "FROM" => {
            return Err(format!("{trigger} isn't allowed as an ONBUILD trigger"))
        }
        _ => {}
    }
    let mut expression = strip_onbuild(&node.original).to_string();
    for doc in &node.heredocs {
        expression.push('\n');
        expression.push_str(&doc.content);
        expression.push_str(&doc.name);
    }
    Ok(Onbuild { expression })
}

/// Removes `(?i)^\s*ONBUILD\s*`.
fn strip_onbuild(original: &str) -> &str {
    let is_re_space = |c: char| matches!(c, ' ' | '\t' | '\n' | '\x0c' | '\r');
    let s = original.trim_start_matches(is_re_space);
    match s.get(..7) {
        Some(head) if head.eq_ignore_ascii_case("onbuild") => {
            s[7..].trim_start_matches(is_re_space)
        }
        _ => original,
    }
}

fn shell_command(node: &Node, args: &[String], _empty_as_none: bool) -> ShellCommand {
    let args = if args.is_empty() {
        Vec::new()
    } else if node.json {
        args.to_vec()
    } else {
        vec![args.join(" ")]
    };
    ShellCommand {
        args,
        prepend_shell: !node.json,
        heredocs: node.heredocs.clone(),
    }
}

fn parse_run(node: &Node, args: &[String]) -> Result<Run, String> {
    let mut flags = Flags::new(&[
        ("device", Kind::Strs),
        ("mount", Kind::Strs),
        ("network", Kind::Str),
        ("security", Kind::Str),
    ]);
    flags.parse(&node.flags)?;
    let command = shell_command(node, args, false);
    let devices = flags
        .strings("device")
        .iter()
        .map(|d| parse_device(d))
        .collect::<Result<Vec<_>, _>>()?;
    let mount_specs = flags.strings("mount");
    let mounts_unexpanded = mount_specs
        .iter()
        .map(|m| parse_mount(m, None))
        .collect::<Result<Vec<_>, _>>()?;
    let network = match flags.string("network", "default").as_str() {
        "default" => Network::Default,
        "none" => Network::None,
        "host" => Network::Host,
        other => {
            return Err(format!(
                "invalid network mode {}",
                crate::quote::go_quote(other)
            ))
        }
    };
    let security = match flags.string("security", "sandbox").as_str() {
        "sandbox" => Security::Sandbox,
        "insecure" => Security::Insecure,
        other => {
            return Err(format!(
                "security {} is not valid",
                crate::quote::go_quote(other)
            ))
        }
    };
    Ok(Run {
        command,
        mount_specs,
        mounts_unexpanded,
        network,
        security,
        devices,
        flags_used: flags.used_names(),
    })
}

/// A health-check interval: 0 when empty, at least 1ms otherwise.
fn interval(flags: &Flags, name: &str) -> Result<i64, String> {
    let s = flags.string(name, "");
    if s.is_empty() {
        return Ok(0);
    }
    let d = crate::duration::parse_go_duration(&s)?;
    if d == 0 {
        return Ok(0);
    }
    if d < 1_000_000 {
        return Err(format!("Interval \"{name}\" cannot be less than 1ms"));
    }
    Ok(d)
}

fn parse_healthcheck(node: &Node, args: &[String]) -> Result<Healthcheck, String> {
    let Some(first) = args.first() else {
        return Err(at_least_one("HEALTHCHECK"));
    };
    let typ = first.to_uppercase();
    let rest = &args[1..];
    if typ == "NONE" {
        if !rest.is_empty() {
            return Err("HEALTHCHECK NONE takes no arguments".into());
        }
        return Ok(Healthcheck::None);
    }
    let mut flags = Flags::new(&[
        ("interval", Kind::Str),
        ("timeout", Kind::Str),
        ("start-period", Kind::Str),
        ("start-interval", Kind::Str),
        ("retries", Kind::Str),
    ]);
    flags.parse(&node.flags)?;
    if typ != "CMD" {
        return Err(format!(
            "Unknown type {} in HEALTHCHECK (try CMD)",
            crate::quote::go_quote(&typ)
        ));
    }
    let cmd: Vec<String> = if rest.is_empty() {
        Vec::new()
    } else if node.json {
        rest.to_vec()
    } else {
        vec![rest.join(" ")]
    };
    if cmd.is_empty() {
        return Err("Missing command after HEALTHCHECK CMD".into());
    }
    let head = if node.json { "CMD" } else { "CMD-SHELL" };
    let mut test = vec![head.to_string()];
    test.extend(cmd);
    let retries = match flags.string("retries", "") {
        s if s.is_empty() => 0,
        s => {
            let n: i64 = s.parse().map_err(|_| {
                let why = if !s.is_empty()
                    && s.trim_start_matches(['+', '-'])
                        .bytes()
                        .all(|b| b.is_ascii_digit())
                    && !s.trim_start_matches(['+', '-']).is_empty()
                {
                    "value out of range"
                } else {
                    "invalid syntax"
                };
                format!(
                    "strconv.ParseInt: parsing {}: {why}",
                    crate::quote::go_quote(&s)
                )
            })?;
            let n = i32::try_from(n).map_err(|_| {
                format!(
                    "strconv.ParseInt: parsing {}: value out of range",
                    crate::quote::go_quote(&s)
                )
            })?;
            if n < 0 {
                return Err(format!("--retries cannot be negative ({n})"));
            }
            n
        }
    };
    Ok(Healthcheck::Cmd(HealthConfig {
        test,
        interval: interval(&flags, "interval")?,
        timeout: interval(&flags, "timeout")?,
        start_period: interval(&flags, "start-period")?,
        start_interval: interval(&flags, "start-interval")?,
        retries,
    }))
}

fn parse_arg(node: &Node, args: &[String]) -> Result<Vec<ArgDef>, String> {
    let _ = node;
    if args.is_empty() {
        return Err(at_least_one("ARG"));
    }
    let mut defs = Vec::with_capacity(args.len());
    for arg in args {
        let (key, value) = match arg.split_once('=') {
            Some((k, v)) => {
                if k.is_empty() {
                    return Err(blank_names("ARG"));
                }
                (k.to_string(), Some(v.to_string()))
            }
            None => (arg.clone(), None),
        };
        let doc = doc_comment(&node.comments, &key);
        defs.push(ArgDef { key, value, doc });
    }
    Ok(defs)
}
