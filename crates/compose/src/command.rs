//! `quai compose`: options made into a loaded project, then the command.

use std::collections::BTreeMap;
use std::path::Path;

use crate::cli::{ComposeArgs, ComposeCmd};
use crate::load::{Options, Project, RealFs};

/// The loading options of the global flags.
pub fn options(a: &ComposeArgs) -> anyhow::Result<Options> {
    let cwd = std::env::current_dir()?;
    let env: BTreeMap<String, String> = std::env::vars().collect();
    let mut o = Options::new(cwd, env);
    o.files = a.file.clone();
    if o.files.iter().any(|f| f.as_os_str() == "-") {
        let mut s = String::new();
        std::io::Read::read_to_string(&mut std::io::stdin(), &mut s)?;
        o.stdin = Some(s);
    }
    o.project_name = a.project_name.clone();
    o.profiles = a.profile.clone();
    o.env_files = a.env_file.clone();
    o.project_directory = a.project_directory.clone();
    o.warn = warn;
    Ok(o)
}

/// A warning on stderr as docker compose's logrus writes it when stderr is not a
/// terminal: `time="2026-01-02T03:04:05Z" level=warning msg="..."`.
pub fn warn(msg: &str) {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    // logrus quotes a value unless it is only letters, digits and `-._/@^+`.
    let plain = !msg.is_empty()
        && msg
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-._/@^+".contains(c));
    let text = if plain {
        msg.to_string()
    } else {
        crate::interpolate::go_quote(msg)
    };
    eprintln!("time=\"{}\" level=warning msg={text}", rfc3339(secs));
}

/// Seconds since the epoch as an RFC 3339 UTC time.
fn rfc3339(secs: u64) -> String {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3_600,
        rem % 3_600 / 60,
        rem % 60
    )
}

/// Load the project.
pub fn load(o: &Options) -> anyhow::Result<Project> {
    Ok(crate::load::load(o, &RealFs)?)
}

/// Run `quai compose ...`; returns the exit code.
pub fn main(a: ComposeArgs, root: &Path, run_dir: &Path) -> anyhow::Result<i32> {
    let mut o = options(&a)?;
    match &a.cmd {
        ComposeCmd::Version { format, short } => {
            let v = crate::VERSION;
            if *short {
                println!("{v}");
            } else if format.as_deref() == Some("json") {
                println!("{{\"version\":\"v{v}\"}}");
            } else {
                // The compose version quai follows (scripts compare it), said as quai's.
                println!("quai compose version v{v} (docker compose v{v} compatible)");
            }
            Ok(0)
        }
        ComposeCmd::Config(c) => {
            o.interpolate = !c.no_interpolate;
            o.normalize = !c.no_normalize;
            o.resolve_paths = !c.no_path_resolution;
            o.consistency = !c.no_consistency;
            // docker compose hashes services as written: env files not read.
            // docker compose v2.40.3 reads env files for the model whatever
            // --no-env-resolution says, and not at all for the hash and the lists.
            o.resolve_env = c.hash.is_none()
                && !(c.services || c.volumes || c.networks || c.images || c.profiles || c.models);
            if let Some(f) = c
                .format
                .as_deref()
                .filter(|f| !matches!(*f, "yaml" | "json"))
            {
                eprintln!("unsupported format {f:?}");
                return Ok(1);
            }
            o.all_profiles = c.profiles;
            if c.variables {
                o.interpolate = false;
                o.consistency = false;
            }
            // `config --services NAME` lists the active services: the names select
            // nothing (and enable no profile).
            if !c.services {
                o.services = c.names.clone();
            }
            // docker compose prints a loading error as it is (no prefix, lines kept).
            let p = match crate::load::load(&o, &RealFs) {
                Ok(p) => p,
                Err(e) => {
                    eprintln!("{e}");
                    return Ok(1);
                }
            };
            if c.variables {
                let vars = crate::variables::collect(&p.raw);
                print!(
                    "{}",
                    crate::variables::render(&vars, c.format.as_deref() == Some("json"))
                );
                return Ok(0);
            }
            let raw = (!o.interpolate).then(|| p.raw.clone());
            crate::config_cmd::run(&p, c, raw)
        }
        _ => crate::up::dispatch(&a, &o, root, run_dir),
    }
}
