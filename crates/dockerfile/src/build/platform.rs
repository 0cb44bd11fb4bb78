//! Platforms (`linux/amd64`, `linux/arm64/v8`) as containerd's `platforms.Parse` reads
//! them for `FROM --platform` and the TARGET*/BUILD* arguments.

use crate::quote::go_quote;

/// An OS/architecture/variant triple.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize)]
pub struct Platform {
    pub os: String,
    pub arch: String,
    pub variant: String,
}

impl Default for Platform {
    /// `linux/amd64`.
    fn default() -> Platform {
        Platform {
            os: "linux".into(),
            arch: "amd64".into(),
            variant: String::new(),
        }
    }
}

impl std::fmt::Display for Platform {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.os, self.arch)?;
        if !self.variant.is_empty() {
            write!(f, "/{}", self.variant)?;
        }
        Ok(())
    }
}

const KNOWN_OS: &[&str] = &[
    "aix",
    "android",
    "darwin",
    "dragonfly",
    "freebsd",
    "hurd",
    "illumos",
    "ios",
    "js",
    "linux",
    "nacl",
    "netbsd",
    "openbsd",
    "plan9",
    "solaris",
    "windows",
    "zos",
];

const KNOWN_ARCH: &[&str] = &[
    "386",
    "amd64",
    "amd64p32",
    "arm",
    "armbe",
    "arm64",
    "arm64be",
    "ppc64",
    "ppc64le",
    "loong64",
    "mips",
    "mipsle",
    "mips64",
    "mips64le",
    "mips64p32",
    "mips64p32le",
    "ppc",
    "riscv",
    "riscv64",
    "s390",
    "s390x",
    "sparc",
    "sparc64",
    "wasm",
];

fn normalize_os(os: &str) -> String {
    let os = os.to_lowercase();
    if os == "macos" {
        "darwin".into()
    } else {
        os
    }
}

fn normalize_arch(arch: &str, variant: &str) -> (String, String) {
    let arch = arch.to_lowercase();
    let variant = variant.to_lowercase();
    match arch.as_str() {
        "i386" => ("386".into(), String::new()),
        "x86_64" | "x86-64" | "amd64" => {
            let v = if variant == "v1" {
                String::new()
            } else {
                variant
            };
            ("amd64".into(), v)
        }
        "aarch64" | "arm64" => {
            let v = match variant.as_str() {
                "8" | "v8" | "v8.0" => String::new(),
                "9" | "9.0" | "v9.0" => "v9".into(),
                _ => variant,
            };
            ("arm64".into(), v)
        }
        "armhf" => ("arm".into(), "v7".into()),
        "armel" => ("arm".into(), "v6".into()),
        "arm" => {
            let v = match variant.as_str() {
                "" | "7" => "v7".into(),
                "5" | "6" | "8" => format!("v{variant}"),
                _ => variant,
            };
            ("arm".into(), v)
        }
        _ => (arch, variant),
    }
}

fn is_known_arch(a: &str) -> bool {
    let (n, _) = normalize_arch(a, "");
    KNOWN_ARCH.contains(&n.as_str())
}

/// Parses a platform specifier; a missing part comes from `default`.
pub fn parse_platform(spec: &str, default: &Platform) -> Result<Platform, String> {
    if spec.contains('*') {
        return Err(format!(
            "{}: wildcards not yet supported: invalid argument",
            go_quote(spec)
        ));
    }
    let parts: Vec<&str> = spec.split('/').collect();
    for p in &parts {
        if p.is_empty()
            || !p
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
        {
            return Err(format!(
                "{} is an invalid component of {}: platform specifier component must match \"^[A-Za-z0-9_.-]+$\": invalid argument",
                go_quote(p),
                go_quote(spec)
            ));
        }
    }
    let arm64_default = |mut p: Platform| {
        if p.arch == "arm64" && p.variant.is_empty() {
            p.variant = "v8".into();
        }
        p
    };
    match parts.as_slice() {
        [one] => {
            let os = normalize_os(one);
            if KNOWN_OS.contains(&os.as_str()) {
                return Ok(Platform {
                    os,
                    arch: default.arch.clone(),
                    variant: default.variant.clone(),
                });
            }
            if is_known_arch(one) {
                let (arch, variant) = normalize_arch(one, "");
                if arch == default.arch && variant.is_empty() {
                    return Ok(Platform {
                        os: default.os.clone(),
                        arch,
                        variant: default.variant.clone(),
                    });
                }
                return Ok(Platform {
                    os: default.os.clone(),
                    arch,
                    variant,
                });
            }
            Err(format!(
                "{}: unknown operating system or architecture: invalid argument",
                go_quote(spec)
            ))
        }
        [os, arch] => {
            let (arch, variant) = normalize_arch(arch, "");
            Ok(arm64_default(Platform {
                os: normalize_os(os),
                arch,
                variant,
            }))
        }
        [os, arch, variant] => {
            let (arch, variant) = normalize_arch(arch, variant);
            Ok(arm64_default(Platform {
                os: normalize_os(os),
                arch,
                variant,
            }))
        }
        _ => Err(format!(
            "{}: cannot parse platform specifier: invalid argument",
            go_quote(spec)
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> String {
        parse_platform(s, &Platform::default())
            .expect("the test case is valid")
            .to_string()
    }

    #[test]
    fn parses_and_normalizes() {
        assert_eq!(p("linux/amd64"), "linux/amd64");
        assert_eq!(p("linux/x86_64"), "linux/amd64");
        assert_eq!(p("linux/aarch64"), "linux/arm64/v8");
        assert_eq!(p("linux/arm"), "linux/arm/v7");
        assert_eq!(p("linux/armhf"), "linux/arm/v7");
        assert_eq!(p("linux/arm/v6"), "linux/arm/v6");
        assert_eq!(p("windows"), "windows/amd64");
        assert_eq!(p("arm64"), "linux/arm64");
        assert!(parse_platform("foo", &Platform::default()).is_err());
        assert!(parse_platform("a/b/c/d", &Platform::default()).is_err());
        assert!(parse_platform("linux/$x", &Platform::default()).is_err());
    }
}
