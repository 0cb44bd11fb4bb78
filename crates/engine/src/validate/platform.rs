//! `--platform`, read as containerd reads it, and the image's platform against it.

use super::invalid;
use crate::Result;

/// A variant as images carry it, for comparing: containerd's defaults (`arm64`'s `v8`,
/// `arm`'s `v7`) are the same as none.
fn plain_variant(arch: &str, variant: &str) -> String {
    match (arch, variant) {
        ("arm64", "v8") | ("arm", "v7") => String::new(),
        _ => variant.to_string(),
    }
}

/// `--platform`: `os[/arch[/variant]]` or `arch`, read and normalised as containerd does
/// (the one parser: the Dockerfile crate's, which `FROM --platform` uses too);
/// `(os, arch, variant)`.
pub fn platform(s: &str) -> Result<(String, String, String)> {
    let p = dockerfile::build::parse_platform(s, &dockerfile::build::Platform::default())
        .map_err(invalid)?;
    let v = plain_variant(&p.arch, &p.variant);
    Ok((p.os, p.arch, v))
}

/// The image (its config blob `img`) is of the platform asked for (Docker's words when
/// it is not).
pub fn image_platform(name: &str, want: &str, img: &serde_json::Value) -> Result<()> {
    let (wo, wa, wv) = platform(want)?;
    let io = img["os"].as_str().unwrap_or("linux");
    let arch = img["architecture"].as_str().unwrap_or("amd64");
    let (_, ia, iv) = match img["variant"].as_str().filter(|v| !v.is_empty()) {
        Some(v) => platform(&format!("{io}/{arch}/{v}"))?,
        None => platform(&format!("{io}/{arch}"))?,
    };
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
