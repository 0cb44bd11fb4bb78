//! A container's mounts as they are asked for: Docker's mount specification
//! (`HostConfig.Mounts[]`, what `--mount` says), the `-v` text (`HostConfig.Binds`, or an
//! anonymous volume) and the `--tmpfs` text (`HostConfig.Tmpfs`). Each is parsed as
//! docker's CLI parses it and checked with dockerd's rules and words (moby's
//! `daemon/volume/mounts`), then made into the container's [`MountConfig`]. The CLI and
//! the Docker API service both come through here.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Deserializer, Serialize};

use crate::config::{MountConfig, MountKind, MountOrigin};
use crate::{Error, Result};

/// Go's decoding of a JSON `null`: the field keeps its zero value. Docker's clients send
/// `null` for many fields they leave unset (docker-py an anonymous volume's `Source`).
pub fn nullable<'de, D, T>(d: D) -> std::result::Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

fn is_false(b: &bool) -> bool {
    !b
}

/// One of Docker's `HostConfig.Mounts` (moby's `mount.Mount`; empty fields are left out
/// as Go's `omitempty` leaves them, so `inspect` shows it back as it was given).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "PascalCase", default)]
pub struct MountSpec {
    /// `bind`, `volume` or `tmpfs`.
    #[serde(rename = "Type", deserialize_with = "nullable")]
    pub kind: String,
    /// Host path (bind), volume name (volume; empty: an anonymous one).
    #[serde(
        deserialize_with = "nullable",
        skip_serializing_if = "String::is_empty"
    )]
    pub source: String,
    /// Path in the container.
    #[serde(
        deserialize_with = "nullable",
        skip_serializing_if = "String::is_empty"
    )]
    pub target: String,
    /// Read-only.
    #[serde(deserialize_with = "nullable", skip_serializing_if = "is_false")]
    pub read_only: bool,
    /// macOS's consistency (ignored on Linux, as dockerd ignores it).
    #[serde(
        deserialize_with = "nullable",
        skip_serializing_if = "String::is_empty"
    )]
    pub consistency: String,
    /// Options of a bind.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bind_options: Option<BindOptions>,
    /// Options of a volume.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub volume_options: Option<VolumeOptions>,
    /// Options of a tmpfs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tmpfs_options: Option<TmpfsOptions>,
    /// Options of an image mount (API 1.48: refused here).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image_options: Option<serde_json::Value>,
    /// Options of a swarm cluster volume (refused here).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cluster_options: Option<serde_json::Value>,
}

/// `BindOptions`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "PascalCase", default)]
pub struct BindOptions {
    /// `rprivate` (quai's, whatever is asked: checked, not applied), `private`, `shared`,
    /// `rshared`, `slave`, `rslave`.
    #[serde(
        deserialize_with = "nullable",
        skip_serializing_if = "String::is_empty"
    )]
    pub propagation: String,
    /// `bind-recursive=disabled`.
    #[serde(deserialize_with = "nullable", skip_serializing_if = "is_false")]
    pub non_recursive: bool,
    /// `bind-create-src`: make a missing source instead of refusing it.
    #[serde(deserialize_with = "nullable", skip_serializing_if = "is_false")]
    pub create_mountpoint: bool,
    /// `bind-recursive=writable`.
    #[serde(deserialize_with = "nullable", skip_serializing_if = "is_false")]
    pub read_only_non_recursive: bool,
    /// `bind-recursive=readonly`.
    #[serde(deserialize_with = "nullable", skip_serializing_if = "is_false")]
    pub read_only_force_recursive: bool,
}

/// `VolumeOptions`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "PascalCase", default)]
pub struct VolumeOptions {
    /// Do not fill an empty volume with the image's files at the target.
    #[serde(deserialize_with = "nullable", skip_serializing_if = "is_false")]
    pub no_copy: bool,
    /// Labels of a volume this mount creates.
    #[serde(
        deserialize_with = "nullable",
        skip_serializing_if = "BTreeMap::is_empty"
    )]
    pub labels: BTreeMap<String, String>,
    /// Driver and options of a volume this mount creates.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub driver_config: Option<VolumeDriver>,
    /// A directory inside the volume (API 1.45: refused here).
    #[serde(
        deserialize_with = "nullable",
        skip_serializing_if = "String::is_empty"
    )]
    pub subpath: String,
}

/// `VolumeOptions.DriverConfig`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "PascalCase", default)]
pub struct VolumeDriver {
    /// `local` (or empty).
    #[serde(
        deserialize_with = "nullable",
        skip_serializing_if = "String::is_empty"
    )]
    pub name: String,
    /// The local driver's `type`, `device`, `o`.
    #[serde(
        deserialize_with = "nullable",
        skip_serializing_if = "BTreeMap::is_empty"
    )]
    pub options: BTreeMap<String, String>,
}

/// `TmpfsOptions`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "PascalCase", default)]
pub struct TmpfsOptions {
    /// Size in bytes (0: the kernel's default, half the memory).
    #[serde(deserialize_with = "nullable", skip_serializing_if = "is_zero")]
    pub size_bytes: i64,
    /// Permission bits (0: 1777).
    #[serde(deserialize_with = "nullable", skip_serializing_if = "is_zero_u32")]
    pub mode: u32,
    /// Extra mount options (API 1.46; `noexec`, `exec`): refused here.
    #[serde(deserialize_with = "nullable", skip_serializing_if = "Vec::is_empty")]
    pub options: Vec<Vec<String>>,
}

fn is_zero(v: &i64) -> bool {
    *v == 0
}

fn is_zero_u32(v: &u32) -> bool {
    *v == 0
}

/// The propagation modes dockerd knows.
const PROPAGATIONS: &[&str] = &[
    "private", "rprivate", "shared", "rshared", "slave", "rslave",
];

impl MountSpec {
    /// `--mount type=...,source=...,target=...`: docker's CLI grammar (a CSV record of
    /// `key[=value]` fields) and its words.
    pub fn parse_flag(s: &str) -> Result<MountSpec> {
        let bad = |m: String| Error::Invalid(m);
        let value = s.trim();
        if value.is_empty() {
            return Err(bad("value is empty".into()));
        }
        let mut m = MountSpec {
            kind: "volume".into(),
            ..Default::default()
        };
        for field in csv_fields(value)? {
            let (key, val, has_value) = match field.split_once('=') {
                Some((k, v)) => (k, v, true),
                None => (field.as_str(), "", false),
            };
            if key.trim() != key {
                return Err(bad(format!(
                    "invalid option '{}' in '{field}': option should not have whitespace",
                    key.trim()
                )));
            }
            if has_value {
                if val.trim().is_empty() {
                    return Err(bad(format!("invalid value for '{key}': value is empty")));
                }
                if val.trim() != val {
                    return Err(bad(format!(
                        "invalid value for '{key}' in '{field}': value should not have whitespace"
                    )));
                }
            }
            let key = key.to_ascii_lowercase();
            if !has_value
                && !matches!(
                    key.as_str(),
                    "readonly" | "ro" | "volume-nocopy" | "bind-nonrecursive" | "bind-create-src"
                )
            {
                return Err(bad(format!(
                    "invalid field '{field}' must be a key=value pair"
                )));
            }
            let flag = |k: &str| -> Result<bool> {
                if !has_value {
                    return Ok(true);
                }
                match val {
                    "1" | "true" => Ok(true),
                    "0" | "false" => Ok(false),
                    _ => Err(bad(format!(
                        "invalid value for '{k}': invalid boolean value ({val:?}): must be one of \"true\", \"1\", \"false\", or \"0\" (default \"true\")"
                    ))),
                }
            };
            match key.as_str() {
                "type" => m.kind = val.to_ascii_lowercase(),
                "source" | "src" => {
                    m.source = val.to_string();
                    // A relative path: docker's CLI makes it absolute (its directory).
                    if val.starts_with('.') {
                        if let Ok(abs) = std::path::absolute(val) {
                            m.source = abs.display().to_string();
                        }
                    }
                }
                "target" | "dst" | "destination" => m.target = val.to_string(),
                "readonly" | "ro" => m.read_only = flag(&key)?,
                "consistency" => m.consistency = val.to_ascii_lowercase(),
                "bind-propagation" => bind(&mut m).propagation = val.to_ascii_lowercase(),
                "bind-nonrecursive" => {
                    return Err(bad(
                        "bind-nonrecursive is deprecated, use bind-recursive=disabled instead"
                            .into(),
                    ))
                }
                "bind-recursive" => match val {
                    "enabled" => {}
                    "disabled" => bind(&mut m).non_recursive = true,
                    "writable" => bind(&mut m).read_only_non_recursive = true,
                    "readonly" => bind(&mut m).read_only_force_recursive = true,
                    _ => {
                        return Err(bad(format!(
                            "invalid value for {key}: {val} (must be \"enabled\", \"disabled\", \"writable\", or \"readonly\")"
                        )))
                    }
                },
                "bind-create-src" => bind(&mut m).create_mountpoint = flag(&key)?,
                "volume-subpath" => volume(&mut m).subpath = val.to_string(),
                "volume-nocopy" => volume(&mut m).no_copy = flag(&key)?,
                "volume-label" => set_kv(&mut volume(&mut m).labels, val),
                "volume-driver" => driver(&mut m).name = val.to_string(),
                "volume-opt" => set_kv(&mut driver(&mut m).options, val),
                "tmpfs-size" => {
                    tmpfs(&mut m).size_bytes = crate::resolve::parse_bytes(val)
                        .ok_or_else(|| bad(format!("invalid value for {key}: {val}")))?
                }
                "tmpfs-mode" => {
                    tmpfs(&mut m).mode = u32::from_str_radix(val, 8)
                        .map_err(|_| bad(format!("invalid value for {key}: {val}")))?
                }
                _ => return Err(bad(format!("unknown option '{key}' in '{field}'"))),
            }
        }
        // The CLI's own checks, in its words (dockerd's follow at create).
        let mix = |opt: &str| {
            bad(format!(
                "cannot mix '{opt}-*' options with mount type '{}'",
                m.kind
            ))
        };
        if m.kind.is_empty() {
            return Err(bad("type is required".into()));
        }
        if m.kind != "bind" && m.bind_options.is_some() {
            return Err(mix("bind"));
        }
        if m.kind != "volume" && m.volume_options.is_some() {
            return Err(mix("volume"));
        }
        if m.kind != "tmpfs" && m.tmpfs_options.is_some() {
            return Err(mix("tmpfs"));
        }
        if let Some(b) = &m.bind_options {
            if b.read_only_non_recursive && !m.read_only {
                return Err(bad(
                    "option 'bind-recursive=writable' requires 'readonly' to be specified in conjunction".into(),
                ));
            }
            if b.read_only_force_recursive && !m.read_only {
                return Err(bad(
                    "option 'bind-recursive=readonly' requires 'readonly' to be specified in conjunction".into(),
                ));
            }
        }
        Ok(m)
    }

    /// dockerd's checks (`validateMountConfig`), in its words, then the mount as the
    /// container keeps it. A bind's source must exist unless `CreateMountpoint` says to
    /// make it. What quai cannot do (a volume's `Subpath`, tmpfs `Options`, image and
    /// cluster mounts, volume drivers but `local`) is refused, not ignored.
    pub fn to_config(&self) -> Result<MountConfig> {
        let err = |why: String| {
            Error::Invalid(format!(
                "invalid mount config for type {:?}: {why}",
                self.kind
            ))
        };
        let extra = |f: &str| err(format!("field {f} must not be specified"));
        if self.kind != "bind" && self.bind_options.is_some() {
            return Err(extra("BindOptions"));
        }
        if self.kind != "volume" && self.volume_options.is_some() {
            return Err(extra("VolumeOptions"));
        }
        if self.image_options.is_some() {
            return Err(extra("ImageOptions"));
        }
        if self.kind != "tmpfs" && self.tmpfs_options.is_some() {
            return Err(extra("TmpfsOptions"));
        }
        if self.cluster_options.is_some() {
            return Err(extra("ClusterOptions"));
        }
        if self.target.is_empty() {
            return Err(err("field Target must not be empty".into()));
        }
        let clean = Path::new(&self.target)
            .components()
            .filter(|c| !matches!(c, std::path::Component::CurDir))
            .count();
        if self.target.starts_with('/') && clean <= 1 {
            return Err(err("invalid specification: destination can't be '/'".into()));
        }
        if !self.target.starts_with('/') {
            return Err(err(format!(
                "invalid mount path: '{}' mount path must be absolute",
                self.target
            )));
        }
        let kind = MountKind::parse(&self.kind).ok_or_else(|| err("mount type unknown".into()))?;
        let mut m = MountConfig {
            kind,
            source: self.source.clone(),
            target: self.target.clone(),
            readonly: self.read_only,
            origin: Some(MountOrigin::Mount(Box::new(self.clone()))),
            ..Default::default()
        };
        match kind {
            MountKind::Bind => {
                if self.source.is_empty() {
                    return Err(err("field Source must not be empty".into()));
                }
                let b = self.bind_options.clone().unwrap_or_default();
                if !b.propagation.is_empty() && !PROPAGATIONS.contains(&b.propagation.as_str()) {
                    return Err(err(format!("invalid propagation mode: {}", b.propagation)));
                }
                if !self.source.starts_with('/') {
                    return Err(err(format!(
                        "invalid mount path: '{}' mount path must be absolute",
                        self.source
                    )));
                }
                if !b.create_mountpoint && !Path::new(&self.source).exists() {
                    return Err(err(format!(
                        "bind source path does not exist: {}",
                        self.source
                    )));
                }
            }
            MountKind::Volume => {
                let o = self.volume_options.clone().unwrap_or_default();
                if !o.subpath.is_empty() {
                    return Err(err(if self.source.is_empty() {
                        "must not set Subpath when using anonymous volumes".into()
                    } else {
                        "VolumeOptions.Subpath is not supported by quai".into()
                    }));
                }
                if let Some(d) = &o.driver_config {
                    crate::volumes::check_driver(&d.name, &d.options)?;
                }
                m.copy_up = !o.no_copy;
                if self.source.is_empty() {
                    m.anonymous = true;
                } else {
                    crate::volumes::check_name(&self.source)?;
                }
            }
            MountKind::Tmpfs => {
                if !self.source.is_empty() {
                    return Err(extra("Source"));
                }
                let o = self.tmpfs_options.clone().unwrap_or_default();
                if !o.options.is_empty() {
                    return Err(err("TmpfsOptions.Options is not supported by quai".into()));
                }
                if o.size_bytes < 0 {
                    return Err(err(format!("invalid tmpfs size: {}", o.size_bytes)));
                }
                m.tmpfs_size = (o.size_bytes > 0).then_some(o.size_bytes as u64);
                m.tmpfs_mode = (o.mode != 0).then_some(o.mode);
            }
        }
        Ok(m)
    }

    /// The labels and the driver options of the volume this mount creates.
    pub fn volume_settings(&self) -> (BTreeMap<String, String>, BTreeMap<String, String>) {
        let o = self.volume_options.clone().unwrap_or_default();
        let opts = o.driver_config.map(|d| d.options).unwrap_or_default();
        (o.labels, opts)
    }
}

fn bind(m: &mut MountSpec) -> &mut BindOptions {
    m.bind_options.get_or_insert_with(Default::default)
}

fn volume(m: &mut MountSpec) -> &mut VolumeOptions {
    m.volume_options.get_or_insert_with(Default::default)
}

fn driver(m: &mut MountSpec) -> &mut VolumeDriver {
    volume(m).driver_config.get_or_insert_with(Default::default)
}

fn tmpfs(m: &mut MountSpec) -> &mut TmpfsOptions {
    m.tmpfs_options.get_or_insert_with(Default::default)
}

fn set_kv(map: &mut BTreeMap<String, String>, kv: &str) {
    let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
    if !k.is_empty() {
        map.insert(k.to_string(), v.to_string());
    }
}

/// One CSV record as Go's `encoding/csv` reads it (fields in double quotes may hold
/// commas; `""` is a quote).
fn csv_fields(s: &str) -> Result<Vec<String>> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut chars = s.chars().peekable();
    let mut at_start = true;
    let mut quoted = false;
    while let Some(c) = chars.next() {
        if quoted {
            match c {
                '"' if chars.peek() == Some(&'"') => {
                    chars.next();
                    cur.push('"');
                }
                '"' => quoted = false,
                _ => cur.push(c),
            }
            continue;
        }
        match c {
            '"' if at_start => {
                quoted = true;
                at_start = false;
            }
            '"' => {
                return Err(Error::Invalid(format!(
                    "parse error on line 1, column {}: bare \" in non-quoted-field",
                    cur.len() + 1
                )))
            }
            ',' => {
                out.push(std::mem::take(&mut cur));
                at_start = true;
            }
            _ => {
                cur.push(c);
                at_start = false;
            }
        }
    }
    if quoted {
        return Err(Error::Invalid(
            "parse error on line 1: extraneous or missing \" in quoted-field".into(),
        ));
    }
    out.push(cur);
    Ok(out)
}

/// `-v SPEC` (and `HostConfig.Binds`): `NAME:/dst[:opts]`, `/host:/dst[:opts]` or `/dst`
/// (an anonymous volume).
pub fn parse_volume(s: &str) -> Result<MountConfig> {
    let parts: Vec<&str> = s.split(':').collect();
    let bad = || Error::Invalid(format!("invalid volume specification: '{s}'"));
    let (src, dst, opts) = match parts.as_slice() {
        [d] => ("", *d, ""),
        [a, b] if b.starts_with('/') => (*a, *b, ""),
        [d, o] => ("", *d, *o),
        [a, b, o] => (*a, *b, *o),
        _ => return Err(bad()),
    };
    if !dst.starts_with('/') || dst == "/" {
        return Err(bad());
    }
    let mut readonly = false;
    for o in opts.split(',').filter(|o| !o.is_empty()) {
        match o {
            "ro" => readonly = true,
            "rw" | "z" | "Z" | "nocopy" | "rprivate" | "private" | "rshared" | "shared"
            | "rslave" | "slave" => {}
            _ => return Err(bad()),
        }
    }
    let nocopy = opts.split(',').any(|o| o == "nocopy");
    Ok(if src.is_empty() {
        MountConfig {
            kind: MountKind::Volume,
            target: dst.into(),
            readonly,
            anonymous: true,
            copy_up: !nocopy,
            ..Default::default()
        }
    } else if src.starts_with('/') || src.starts_with('.') {
        MountConfig {
            kind: MountKind::Bind,
            source: src.into(),
            target: dst.into(),
            readonly,
            origin: Some(MountOrigin::Bind(s.to_string())),
            ..Default::default()
        }
    } else {
        crate::volumes::check_name(src)?;
        MountConfig {
            kind: MountKind::Volume,
            source: src.into(),
            target: dst.into(),
            readonly,
            copy_up: !nocopy,
            origin: Some(MountOrigin::Bind(s.to_string())),
            ..Default::default()
        }
    })
}

/// `--tmpfs DST[:OPTS]` (and `HostConfig.Tmpfs`): `size=`, `mode=` and `ro` are applied,
/// the other mount options (`noexec`, `nosuid`, ...) are accepted as Docker accepts them.
pub fn parse_tmpfs(dst: &str, opts: &str) -> Result<MountConfig> {
    let mut m = MountConfig {
        kind: MountKind::Tmpfs,
        target: dst.into(),
        origin: Some(MountOrigin::Tmpfs(opts.to_string())),
        ..Default::default()
    };
    for o in opts.split(',').filter(|o| !o.is_empty()) {
        if let Some(v) = o.strip_prefix("size=") {
            m.tmpfs_size = Some(
                crate::resolve::parse_bytes(v)
                    .ok_or_else(|| Error::Invalid(format!("invalid tmpfs size {v:?} for {dst}")))?
                    as u64,
            );
        } else if let Some(v) = o.strip_prefix("mode=") {
            m.tmpfs_mode = Some(
                u32::from_str_radix(v, 8)
                    .map_err(|_| Error::Invalid(format!("invalid tmpfs mode {v:?} for {dst}")))?,
            );
        } else if o == "ro" {
            m.readonly = true;
        }
    }
    Ok(m)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_mount_flag_reads_as_dockers_cli_reads_it() {
        let m = MountSpec::parse_flag(
            "type=volume,src=data,dst=/data,volume-nocopy,volume-label=a=b,volume-opt=type=tmpfs",
        )
        .expect("parses");
        assert_eq!(
            (m.kind.as_str(), m.source.as_str(), m.target.as_str()),
            ("volume", "data", "/data")
        );
        let o = m.volume_options.clone().expect("options");
        assert!(o.no_copy);
        assert_eq!(o.labels["a"], "b");
        assert_eq!(o.driver_config.expect("driver").options["type"], "tmpfs");
        let c = m.to_config().expect("valid");
        assert!(!c.copy_up && !c.anonymous);
        let t = MountSpec::parse_flag("type=tmpfs,target=/t,tmpfs-size=1m,tmpfs-mode=1770")
            .expect("tmpfs")
            .to_config()
            .expect("valid");
        assert_eq!((t.tmpfs_size, t.tmpfs_mode), (Some(1 << 20), Some(0o1770)));
        let ro = MountSpec::parse_flag("type=bind,source=/,target=/h,readonly").expect("bind");
        assert!(ro.read_only && ro.to_config().expect("valid").readonly);
        let anon = MountSpec::parse_flag("target=/x")
            .expect("anonymous")
            .to_config()
            .expect("valid");
        assert!(anon.anonymous && anon.copy_up);
        for (flag, want) in [
            (
                "type=bind,target",
                "invalid field 'target' must be a key=value pair",
            ),
            ("type=volume,bogus=1", "unknown option 'bogus' in 'bogus=1'"),
            (
                "type=tmpfs,tmpfs-size=x,target=/t",
                "invalid value for tmpfs-size: x",
            ),
            (
                "type=tmpfs,volume-nocopy,target=/t",
                "cannot mix 'volume-*' options with mount type 'tmpfs'",
            ),
            ("type=bind,ro=maybe", "invalid boolean value (\"maybe\")"),
            ("", "value is empty"),
        ] {
            let e = MountSpec::parse_flag(flag).expect_err(flag).to_string();
            assert!(e.contains(want), "{flag}: want {want:?}, got {e:?}");
        }
    }

    #[test]
    fn dockerd_checks_a_mount_in_its_words() {
        let check = |j: serde_json::Value| {
            let m: MountSpec = serde_json::from_value(j).expect("wire form");
            m.to_config().err().map(|e| e.to_string())
        };
        assert_eq!(
            check(serde_json::json!({"Type": "bind", "Source": "/nonexistent-quai", "Target": "/x"})).as_deref(),
            Some("invalid mount config for type \"bind\": bind source path does not exist: /nonexistent-quai")
        );
        assert_eq!(
            check(
                serde_json::json!({"Type": "bind", "Source": "/nonexistent-quai", "Target": "/x", "BindOptions": {"CreateMountpoint": true}})
            ),
            None
        );
        assert_eq!(
            check(serde_json::json!({"Type": "bind", "Target": "/x"})).as_deref(),
            Some("invalid mount config for type \"bind\": field Source must not be empty")
        );
        assert_eq!(
            check(serde_json::json!({"Type": "tmpfs", "Source": "x", "Target": "/x"})).as_deref(),
            Some("invalid mount config for type \"tmpfs\": field Source must not be specified")
        );
        assert_eq!(
            check(serde_json::json!({"Type": "volume", "Target": "/x", "TmpfsOptions": {}})).as_deref(),
            Some("invalid mount config for type \"volume\": field TmpfsOptions must not be specified")
        );
        assert_eq!(
            check(serde_json::json!({"Type": "volume", "Target": "rel"})).as_deref(),
            Some("invalid mount config for type \"volume\": invalid mount path: 'rel' mount path must be absolute")
        );
        assert_eq!(
            check(serde_json::json!({"Type": "volume", "Target": "/"})).as_deref(),
            Some("invalid mount config for type \"volume\": invalid specification: destination can't be '/'")
        );
        assert_eq!(
            check(serde_json::json!({"Type": "npipe", "Target": "/x"})).as_deref(),
            Some("invalid mount config for type \"npipe\": mount type unknown")
        );
        assert_eq!(
            check(serde_json::json!({"Type": "volume", "Target": ""})).as_deref(),
            Some("invalid mount config for type \"volume\": field Target must not be empty")
        );
        // Go's decoding: null is the zero value (docker-py's anonymous volume).
        assert_eq!(
            check(
                serde_json::json!({"Type": "volume", "Source": null, "Target": "/x", "ReadOnly": null})
            ),
            None
        );
        // What `inspect` shows back: the fields given, nothing more.
        let m: MountSpec = serde_json::from_value(
            serde_json::json!({"Type": "tmpfs", "Target": "/t", "TmpfsOptions": {"SizeBytes": 1024}}),
        )
        .expect("wire form");
        assert_eq!(
            serde_json::to_value(&m).expect("json"),
            serde_json::json!({"Type": "tmpfs", "Target": "/t", "TmpfsOptions": {"SizeBytes": 1024}})
        );
    }

    #[test]
    fn csv_fields_as_go_reads_them() {
        assert_eq!(
            csv_fields(r#"type=volume,"volume-opt=o=size=1m,uid=1",dst=/x"#).expect("csv"),
            ["type=volume", "volume-opt=o=size=1m,uid=1", "dst=/x"]
        );
        assert!(csv_fields(r#"a"b"#).is_err());
    }
}
