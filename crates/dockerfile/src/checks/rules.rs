//! BuildKit's lint rules: names, descriptions, documentation links and message texts.

use crate::quote::go_quote;

/// One rule of `docker build --check`.
#[derive(Debug, PartialEq, Eq)]
pub struct Rule {
    pub name: &'static str,
    pub description: &'static str,
    /// Empty for rules without a documentation page.
    pub url: &'static str,
    /// Experimental rules run only when enabled with `# check=experimental=...`.
    pub experimental: bool,
}

macro_rules! rule {
    ($id:ident, $name:literal, $slug:literal, $desc:literal) => {
        pub static $id: Rule = Rule {
            name: $name,
            description: $desc,
            url: concat!("https://docs.docker.com/go/dockerfile/rule/", $slug, "/"),
            experimental: false,
        };
    };
}

rule!(
    STAGE_NAME_CASING,
    "StageNameCasing",
    "stage-name-casing",
    "Stage names should be lowercase"
);
rule!(
    FROM_AS_CASING,
    "FromAsCasing",
    "from-as-casing",
    "The 'as' keyword should match the case of the 'from' keyword"
);
rule!(
    NO_EMPTY_CONTINUATION,
    "NoEmptyContinuation",
    "no-empty-continuation",
    "Empty continuation lines will become errors in a future release"
);
rule!(
    CONSISTENT_INSTRUCTION_CASING,
    "ConsistentInstructionCasing",
    "consistent-instruction-casing",
    "All commands within the Dockerfile should use the same casing (either upper or lower)"
);
rule!(
    DUPLICATE_STAGE_NAME,
    "DuplicateStageName",
    "duplicate-stage-name",
    "Stage names should be unique"
);
rule!(
    RESERVED_STAGE_NAME,
    "ReservedStageName",
    "reserved-stage-name",
    "Reserved words should not be used as stage names"
);
rule!(JSON_ARGS_RECOMMENDED, "JSONArgsRecommended", "json-args-recommended", "JSON arguments recommended for ENTRYPOINT/CMD to prevent unintended behavior related to OS signals");
rule!(
    MAINTAINER_DEPRECATED,
    "MaintainerDeprecated",
    "maintainer-deprecated",
    "The MAINTAINER instruction is deprecated, use a label instead to define an image author"
);
rule!(
    UNDEFINED_ARG_IN_FROM,
    "UndefinedArgInFrom",
    "undefined-arg-in-from",
    "FROM command must use declared ARGs"
);
rule!(WORKDIR_RELATIVE_PATH, "WorkdirRelativePath", "workdir-relative-path", "Relative workdir without an absolute workdir declared within the build can have unexpected results if the base image changes");
rule!(
    UNDEFINED_VAR,
    "UndefinedVar",
    "undefined-var",
    "Variables should be defined before their use"
);
rule!(
    MULTIPLE_INSTRUCTIONS_DISALLOWED,
    "MultipleInstructionsDisallowed",
    "multiple-instructions-disallowed",
    "Multiple instructions of the same type should not be used in the same stage"
);
rule!(
    LEGACY_KEY_VALUE_FORMAT,
    "LegacyKeyValueFormat",
    "legacy-key-value-format",
    "Legacy key/value format with whitespace separator should not be used"
);
rule!(REDUNDANT_TARGET_PLATFORM, "RedundantTargetPlatform", "redundant-target-platform", "Setting platform to predefined $TARGETPLATFORM in FROM is redundant as this is the default behavior");
rule!(
    SECRETS_USED_IN_ARG_OR_ENV,
    "SecretsUsedInArgOrEnv",
    "secrets-used-in-arg-or-env",
    "Sensitive data should not be used in the ARG or ENV commands"
);
rule!(
    INVALID_DEFAULT_ARG_IN_FROM,
    "InvalidDefaultArgInFrom",
    "invalid-default-arg-in-from",
    "Default value for global ARG results in an empty or invalid base image name"
);
rule!(
    FROM_PLATFORM_FLAG_CONST_DISALLOWED,
    "FromPlatformFlagConstDisallowed",
    "from-platform-flag-const-disallowed",
    "FROM --platform flag should not use a constant value"
);
rule!(
    COPY_IGNORED_FILE,
    "CopyIgnoredFile",
    "copy-ignored-file",
    "Attempting to Copy file that is excluded by .dockerignore"
);
rule!(
    EXPOSE_PROTO_CASING,
    "ExposeProtoCasing",
    "expose-proto-casing",
    "Protocol in EXPOSE instruction should be lowercase"
);
rule!(EXPOSE_INVALID_FORMAT, "ExposeInvalidFormat", "expose-invalid-format", "IP address and host-port mapping should not be used in EXPOSE instruction. This will become an error in a future release");

pub static INVALID_DEFINITION_DESCRIPTION: Rule = Rule {
    name: "InvalidDefinitionDescription",
    description: "Comment for build stage or argument should follow the format: `# <arg/stage name> <description>`. If this is not intended to be a description comment, add an empty line or comment between the instruction and the comment.",
    url: "https://docs.docker.com/go/dockerfile/rule/invalid-definition-description/",
    experimental: true,
};

/// Needs the base image's real platform, which only a builder knows; kept for callers.
pub static INVALID_BASE_IMAGE_PLATFORM: Rule = Rule {
    name: "InvalidBaseImagePlatform",
    description: "Base image platform does not match expected target platform",
    url: "",
    experimental: false,
};

/// Every rule, for listing and for validating `skip=` names.
pub static ALL: [&Rule; 22] = [
    &STAGE_NAME_CASING,
    &FROM_AS_CASING,
    &NO_EMPTY_CONTINUATION,
    &CONSISTENT_INSTRUCTION_CASING,
    &DUPLICATE_STAGE_NAME,
    &RESERVED_STAGE_NAME,
    &JSON_ARGS_RECOMMENDED,
    &MAINTAINER_DEPRECATED,
    &UNDEFINED_ARG_IN_FROM,
    &WORKDIR_RELATIVE_PATH,
    &UNDEFINED_VAR,
    &MULTIPLE_INSTRUCTIONS_DISALLOWED,
    &LEGACY_KEY_VALUE_FORMAT,
    &REDUNDANT_TARGET_PLATFORM,
    &SECRETS_USED_IN_ARG_OR_ENV,
    &INVALID_DEFAULT_ARG_IN_FROM,
    &FROM_PLATFORM_FLAG_CONST_DISALLOWED,
    &COPY_IGNORED_FILE,
    &EXPOSE_PROTO_CASING,
    &EXPOSE_INVALID_FORMAT,
    &INVALID_DEFINITION_DESCRIPTION,
    &INVALID_BASE_IMAGE_PLATFORM,
];

// Message texts, one function per rule, worded exactly as BuildKit's formatters.

pub fn stage_name_casing(name: &str) -> String {
    format!("Stage name '{name}' should be lowercase")
}
pub fn from_as_casing(from: &str, as_kw: &str) -> String {
    format!("'{as_kw}' and '{from}' keywords' casing do not match")
}
pub fn no_empty_continuation() -> String {
    "Empty continuation line".into()
}
pub fn consistent_instruction_casing(cmd: &str, casing: &str) -> String {
    format!("Command '{cmd}' should match the case of the command majority ({casing})")
}
pub fn duplicate_stage_name(name: &str) -> String {
    format!(
        "Duplicate stage name {}, stage names should be unique",
        go_quote(name)
    )
}
pub fn reserved_stage_name(name: &str) -> String {
    format!(
        "Stage name should not use the same name as reserved stage {}",
        go_quote(name)
    )
}
pub fn json_args_recommended(instruction: &str) -> String {
    format!("JSON arguments recommended for {instruction} to prevent unintended behavior related to OS signals")
}
pub fn maintainer_deprecated() -> String {
    "Maintainer instruction is deprecated in favor of using label".into()
}
pub fn undefined_arg_in_from(arg: &str, suggestion: Option<&str>) -> String {
    match suggestion {
        Some(s) => format!("FROM argument '{arg}' is not declared (did you mean {s}?)"),
        None => format!("FROM argument '{arg}' is not declared"),
    }
}
pub fn workdir_relative_path(workdir: &str) -> String {
    format!(
        "Relative workdir {} can have unexpected results if the base image changes",
        go_quote(workdir)
    )
}
pub fn undefined_var(var: &str, suggestion: Option<&str>) -> String {
    match suggestion {
        Some(s) => format!("Usage of undefined variable '${var}' (did you mean ${s}?)"),
        None => format!("Usage of undefined variable '${var}'"),
    }
}
pub fn multiple_instructions_disallowed(instruction: &str) -> String {
    format!("Multiple {instruction} instructions should not be used in the same stage because only the last one will be used")
}
pub fn legacy_key_value_format(cmd: &str) -> String {
    format!("\"{cmd} key=value\" should be used instead of legacy \"{cmd} key value\" format")
}
pub fn redundant_target_platform(platform: &str) -> String {
    format!("Setting platform to predefined {platform} in FROM is redundant as this is the default behavior")
}
pub fn secrets_used_in_arg_or_env(instruction: &str, key: &str) -> String {
    format!(
        "Do not use ARG or ENV instructions for sensitive data ({instruction} {})",
        go_quote(key)
    )
}
pub fn invalid_default_arg_in_from(base: &str) -> String {
    format!("Default value for ARG {base} results in empty or invalid base image name")
}
pub fn from_platform_flag_const_disallowed(platform: &str) -> String {
    format!(
        "FROM --platform flag should not use constant value {}",
        go_quote(platform)
    )
}
pub fn invalid_definition_description(instruction: &str, name: &str) -> String {
    format!("Comment for {instruction} should follow the format: `# {name} <description>`")
}
pub fn expose_proto_casing(port: &str) -> String {
    format!("Defined protocol '{port}' in EXPOSE instruction should be lowercase")
}
pub fn expose_invalid_format(port: &str) -> String {
    format!(
        "EXPOSE instruction should not define an IP address or host-port mapping, found '{port}'"
    )
}
