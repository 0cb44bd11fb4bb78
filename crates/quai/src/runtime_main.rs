//! `quai-runtime`: the OCI runtime alone, for engines and test suites that call a runtime
//! binary once or more per container. Same code as `quai runtime`, without the image,
//! registry and CLI code in the executable (docs/adr/006: less to map and fault in).

fn main() {
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    // The systemd driver's D-Bus helper (`--systemd-cgroup`) runs as this binary too.
    if args.get(1).and_then(|a| a.to_str()) == Some(systemd::ARG) {
        std::process::exit(systemd::helper_main(&args));
    }
    std::process::exit(runtime::cli::main(args));
}
