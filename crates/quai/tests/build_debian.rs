//! End-to-end: a multi-stage build on a real Debian 12 base (made by debootstrap,
//! scripts/make-debian-base) that installs gcc with apt, compiles a C program and copies
//! it into a busybox stage: apt, dpkg and gcc running for real in build containers.

mod common;
mod engine_common;

use std::path::{Path, PathBuf};

use engine_common::*;

/// The Debian base and the gcc packages, made once per machine.
fn debian_base() -> PathBuf {
    let dir = PathBuf::from("/var/cache/quai-tests/debian-bookworm");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/make-debian-base");
    let ok = std::process::Command::new(script)
        .arg(&dir)
        .status()
        .expect("make-debian-base");
    assert!(ok.success(), "scripts/make-debian-base failed");
    dir
}

#[test]
fn apt_and_gcc_in_a_multi_stage_build() {
    if !root_or_skip("apt_and_gcc_in_a_multi_stage_build") {
        return;
    }
    let base = debian_base();
    let e = Eng::new();
    e.ok(&[
        "import",
        "-c",
        "CMD [\"bash\"]",
        base.join("rootfs.tar").to_str().expect("utf-8"),
        "debian:bookworm",
    ]);
    let ctx = e.dir.path().join("ctx");
    std::fs::create_dir_all(ctx.join("debs")).expect("mkdir");
    for d in std::fs::read_dir(base.join("debs")).expect("debs") {
        let d = d.expect("entry").path();
        if d.extension().is_some_and(|x| x == "deb") {
            let to = ctx.join("debs").join(d.file_name().expect("name"));
            if std::fs::hard_link(&d, &to).is_err() {
                std::fs::copy(&d, &to).expect("copy");
            }
        }
    }
    std::fs::write(
        ctx.join("hello.c"),
        "#include <stdio.h>\nint main(void) { printf(\"hello from gcc %d\\n\", __GNUC__); return 0; }\n",
    )
    .expect("w");
    std::fs::write(
        ctx.join("Dockerfile"),
        "FROM debian:bookworm AS build\n\
         COPY debs/ /tmp/debs/\n\
         RUN apt-get install -y -q --no-install-recommends /tmp/debs/*.deb && rm -rf /tmp/debs\n\
         WORKDIR /src\n\
         COPY hello.c .\n\
         RUN gcc -static -O2 -o hello hello.c && ./hello\n\
         \n\
         FROM localbusybox\n\
         COPY --from=build /src/hello /usr/local/bin/hello\n\
         CMD [\"hello\"]\n",
    )
    .expect("w");
    let o = e.q(&[
        "build",
        "--progress",
        "plain",
        "-t",
        "hello:gcc",
        ctx.to_str().expect("utf-8"),
    ]);
    assert!(o.status.success(), "{}", text(&o));
    let log = String::from_utf8_lossy(&o.stderr);
    assert!(log.contains("Setting up gcc"), "{log}");
    assert!(log.contains("hello from gcc 12"), "{log}");
    assert_eq!(e.ok(&["run", "--rm", "hello:gcc"]), "hello from gcc 12");
    // The final image is the small one: busybox and the static program.
    let cfg: serde_json::Value =
        serde_json::from_str(&e.ok(&["image", "inspect", "hello:gcc"])).expect("json");
    let size = cfg[0]["Size"].as_u64().expect("size");
    assert!(size < 5_000_000, "{size}");
    // A second build takes everything from the cache.
    let again = e.q(&[
        "build",
        "--progress",
        "plain",
        "-t",
        "hello:gcc",
        ctx.to_str().expect("utf-8"),
    ]);
    assert!(again.status.success(), "{}", text(&again));
    let log = String::from_utf8_lossy(&again.stderr);
    assert!(!log.contains("Setting up gcc"), "{log}");
    assert_eq!(e.ok(&["ps", "-a", "-q"]), "");
}
