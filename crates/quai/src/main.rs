//! The `quai` binary: the composition root. Dispatches on argv[0] (`quai-runtime`, for
//! engines and test suites that want an OCI runtime binary; `quai-init` for `--init`) and
//! on the first argument (`runtime`, the hidden `__monitor`, else the docker-like CLI).

use std::ffi::OsString;
use std::path::Path;

fn main() {
    let args: Vec<OsString> = std::env::args_os().collect();
    let argv0 = args
        .first()
        .map(|a| {
            Path::new(a)
                .file_name()
                .unwrap_or_default()
                .to_string_lossy()
                .into_owned()
        })
        .unwrap_or_default();
    let code = if argv0 == "quai-runtime" || argv0 == "runc" {
        runtime::cli::main(args)
    } else if argv0 == "quai-init" {
        engine::init::main(&args)
    } else {
        match args.get(1).and_then(|a| a.to_str()) {
            Some(engine::monitor::ARG) => engine::monitor::main(&args),
            Some(engine::dns::ARG) => engine::dns::main(&args),
            Some(engine::exec::ARG) => engine::exec::main(&args),
            Some(engine::rootless::ARG) => engine::rootless::pause_main(),
            Some(systemd::ARG) => systemd::helper_main(&args),
            Some("runtime") => {
                let mut rest = vec![OsString::from("quai runtime")];
                rest.extend(args.into_iter().skip(2));
                runtime::cli::main(rest)
            }
            _ => match engine::rootless::enter() {
                Ok(()) => cli::main(args),
                Err(e) => {
                    eprintln!("quai: {e}");
                    125
                }
            },
        }
    };
    std::process::exit(code);
}
