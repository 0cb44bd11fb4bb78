//! The `quai` binary: the composition root. Dispatches on argv[0] (`quai-runtime`, for
//! engines and test suites that want an OCI runtime binary) and on the first argument.

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
    } else {
        match args.get(1).and_then(|a| a.to_str()) {
            Some("runtime") => {
                let mut rest = vec![OsString::from("quai runtime")];
                rest.extend(args.into_iter().skip(2));
                runtime::cli::main(rest)
            }
            Some("--version") | Some("version") => {
                println!("quai {}", env!("CARGO_PKG_VERSION"));
                0
            }
            Some("-h") | Some("--help") | Some("help") | None => {
                println!("quai {}: containers in one binary\n\nUsage: quai <command>\n\nCommands:\n  runtime   OCI runtime (runc-compatible): create, start, state, kill, delete, run, exec, ps, pause, resume, list, features, spec\n  version   Print the version\n\nThe runtime is also available as `quai-runtime` (a link to this binary).", env!("CARGO_PKG_VERSION"));
                0
            }
            Some(other) => {
                eprintln!("quai: unknown command {other:?}; see `quai --help`");
                2
            }
        }
    };
    std::process::exit(code);
}
