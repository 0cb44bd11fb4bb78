//! Build arguments: the platform arguments BuildKit predefines and the global ARGs
//! (those before the first FROM), with `--build-arg` values replacing defaults.

use std::collections::{BTreeMap, BTreeSet};

use super::platform::Platform;
use crate::error::Error;
use crate::instructions::{Command, Instruction};
use crate::shell_words::{EnvList, Lexer};

/// BuildKit's `defaultArgs`: BUILD*/TARGET* and TARGETSTAGE, each replaceable by a build
/// argument of the same name.
pub(crate) fn default_args(
    build: &Platform,
    target: &Platform,
    overrides: &BTreeMap<String, String>,
    target_stage: &str,
) -> EnvList {
    let stage = if target_stage.is_empty() {
        "default"
    } else {
        target_stage
    };
    let pairs = [
        ("BUILDPLATFORM", build.to_string()),
        ("BUILDOS", build.os.clone()),
        ("BUILDOSVERSION", String::new()),
        ("BUILDARCH", build.arch.clone()),
        ("BUILDVARIANT", build.variant.clone()),
        ("TARGETPLATFORM", target.to_string()),
        ("TARGETOS", target.os.clone()),
        ("TARGETOSVERSION", String::new()),
        ("TARGETARCH", target.arch.clone()),
        ("TARGETVARIANT", target.variant.clone()),
        ("TARGETSTAGE", stage.to_string()),
    ];
    let mut env = EnvList::new();
    for (k, v) in pairs {
        let v = overrides.get(k).cloned().unwrap_or(v);
        env.set(k, &v);
    }
    env
}

/// BuildKit's `buildMetaArgs`: each global ARG in order, its default expanded with the
/// arguments before it, unless a build argument gives the value. Returns the arguments
/// and the names of every global ARG (declared with or without a value).
pub(crate) fn meta_args(
    mut args: EnvList,
    lex: &Lexer,
    commands: &[Command],
    build_args: &BTreeMap<String, String>,
) -> Result<(EnvList, BTreeSet<String>), Error> {
    let mut declared = BTreeSet::new();
    for cmd in commands {
        let Instruction::Arg(defs) = &cmd.instruction else {
            continue;
        };
        for def in defs {
            let value = match build_args.get(&def.key) {
                Some(v) => Some(v.clone()),
                None => match &def.value {
                    Some(default) => Some(
                        lex.process_word(default, &args)
                            .map_err(|e| Error::plan(e.to_string(), Some(cmd.lines)))?
                            .result,
                    ),
                    None => None,
                },
            };
            if let Some(v) = value {
                args.set(&def.key, &v);
            }
            declared.insert(def.key.clone());
        }
    }
    Ok((args, declared))
}
