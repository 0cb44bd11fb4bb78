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
    Ok(o)
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
                println!("Docker Compose version v{v}");
            }
            Ok(0)
        }
        ComposeCmd::Config(c) => {
            o.interpolate = !c.no_interpolate;
            o.normalize = !c.no_normalize;
            o.resolve_paths = !c.no_path_resolution;
            o.consistency = !c.no_consistency;
            o.resolve_env = !c.no_env_resolution;
            o.all_profiles = c.profiles;
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
            let raw = (!o.interpolate).then(|| p.raw.clone());
            crate::config_cmd::run(&p, c, raw)
        }
        _ => crate::up::dispatch(&a, &o, root, run_dir),
    }
}
