//! `--platform`, read as containerd reads it, and the image's platform against it.

use super::invalid;
use crate::Result;

/// Operating systems and architectures `--platform` may name (Go's, as containerd
/// knows them).
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
    "wasip1",
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
    "loong64",
    "mips",
    "mipsle",
    "mips64",
    "mips64le",
    "mips64p32",
    "mips64p32le",
    "ppc",
    "ppc64",
    "ppc64le",
    "riscv",
    "riscv64",
    "s390",
    "s390x",
    "sparc",
    "sparc64",
    "wasm",
];

/// containerd's architecture names (`x86_64` is `amd64`, `aarch64` is `arm64`, `arm`
/// is `arm/v7`, written back without the variant).
fn normalize_arch(a: &str, v: &str) -> (String, String) {
    let (a, v) = match a {
        "x86_64" | "x86-64" | "amd64" => ("amd64", v.to_string()),
        "i386" => ("386", String::new()),
        "aarch64" | "arm64" => (
            "arm64",
            if v == "8" || v == "v8" {
                String::new()
            } else {
                v.to_string()
            },
        ),
        "armhf" => ("arm", "v7".into()),
        "armel" => ("arm", "v6".into()),
        "arm" => (
            "arm",
            match v {
                "" | "7" | "v7" => "v7".into(),
                "5" | "6" | "8" => format!("v{v}"),
                _ => v.to_string(),
            },
        ),
        _ => (a, v.to_string()),
    };
    let v = if a == "arm" && v == "v7" {
        String::new()
    } else {
        v
    };
    (a.to_string(), v)
}

/// `--platform`: `os[/arch[/variant]]` or `arch`, normalised as containerd does;
/// `(os, arch, variant)`.
pub fn platform(s: &str) -> Result<(String, String, String)> {
    let bad = |why: &str| invalid(format!("{s:?}: {why}: invalid argument"));
    let parts: Vec<String> = s.split('/').map(str::to_ascii_lowercase).collect();
    let component_ok = |p: &String| {
        !p.is_empty()
            && p.chars()
                .all(|c| c.is_ascii_alphanumeric() || "_-".contains(c))
    };
    if !parts.iter().all(component_ok) {
        return Err(bad("invalid platform component"));
    }
    let os = |o: &str| {
        if o == "macos" {
            "darwin".to_string()
        } else {
            o.to_string()
        }
    };
    let (o, (a, v)) = match parts.as_slice() {
        [one] if KNOWN_OS.contains(&os(one).as_str()) => (os(one), ("amd64".into(), String::new())),
        [one] => {
            let (a, v) = normalize_arch(one, "");
            if !KNOWN_ARCH.contains(&a.as_str()) {
                return Err(bad("unknown operating system or architecture"));
            }
            ("linux".into(), (a, v))
        }
        [o, a] => (os(o), normalize_arch(a, "")),
        [o, a, v] => (os(o), normalize_arch(a, v)),
        _ => return Err(bad("cannot parse platform specifier")),
    };
    Ok((o, a, v))
}

/// The image (its config blob `img`) is of the platform asked for (Docker's words when
/// it is not).
pub fn image_platform(name: &str, want: &str, img: &serde_json::Value) -> Result<()> {
    let (wo, wa, wv) = platform(want)?;
    let io = img["os"].as_str().unwrap_or("linux");
    let (ia, iv) = normalize_arch(
        img["architecture"].as_str().unwrap_or("amd64"),
        img["variant"].as_str().unwrap_or(""),
    );
    if wo == io && wa == ia && (wv.is_empty() || wv == iv) {
        return Ok(());
    }
    let show = |o: &str, a: &str, v: &str| {
        if v.is_empty() {
            format!("{o}/{a}")
        } else {
            format!("{o}/{a}/{v}")
        }
    };
    Err(invalid(format!(
        "image with reference {name} was found but does not match the specified platform: wanted {}, actual: {}",
        show(&wo, &wa, &wv),
        show(io, &ia, &iv)
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn platforms_as_containerd_reads_them() {
        let p = |s: &str| platform(s).map_err(|e| e.to_string());
        let t = |o: &str, a: &str, v: &str| Ok((o.to_string(), a.to_string(), v.to_string()));
        assert_eq!(p("linux/amd64"), t("linux", "amd64", ""));
        assert_eq!(p("linux/x86_64"), t("linux", "amd64", ""));
        assert_eq!(p("linux"), t("linux", "amd64", ""));
        assert_eq!(p("arm64"), t("linux", "arm64", ""));
        assert_eq!(p("linux/aarch64/v8"), t("linux", "arm64", ""));
        assert_eq!(p("linux/arm/v7"), t("linux", "arm", ""));
        assert_eq!(p("linux/arm/v6"), t("linux", "arm", "v6"));
        assert_eq!(
            p("bogus"),
            Err("\"bogus\": unknown operating system or architecture: invalid argument".into())
        );
        assert!(p("linux/amd64/v1/x").is_err());
        assert!(p("linux//amd64").is_err());
        let img = serde_json::json!({"os": "linux", "architecture": "amd64"});
        assert!(image_platform("img", "linux/amd64", &img).is_ok());
        assert!(image_platform("img", "linux/x86_64", &img).is_ok());
        assert_eq!(
            image_platform("img", "linux/arm64", &img).expect_err("arm").to_string(),
            "image with reference img was found but does not match the specified platform: wanted linux/arm64, actual: linux/amd64"
        );
    }
}
