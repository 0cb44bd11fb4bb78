//! `include` (14-include.md) and `extends` (05-services.md) as the compose specification
//! describes them, through the whole loader on an in-memory file system.

use std::path::PathBuf;

mod common;

use common::MemFs;
use compose::load::{load, Options};
use serde_json::Value;

fn project(files: &[(&str, &str)], env: &[(&str, &str)]) -> Result<Value, String> {
    let fs = MemFs(
        files
            .iter()
            .map(|(p, s)| (PathBuf::from(p), s.to_string()))
            .collect(),
    );
    let o = Options::new(
        PathBuf::from("/app"),
        env.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
    );
    load(&o, &fs).map(|p| p.model.to_json()).map_err(|e| e.0)
}

#[test]
fn included_services_are_usable_and_keep_their_own_paths() {
    let m = project(
        &[
            (
                "/app/compose.yaml",
                "include:\n  - ../commons/compose.yaml\nservices:\n  webapp:\n    image: web\n    depends_on:\n      - included-service\n",
            ),
            (
                "/commons/compose.yaml",
                "services:\n  included-service:\n    image: ${TAG:-inc}\n    volumes:\n      - ./data:/data\n",
            ),
            ("/commons/.env", "TAG=from-commons-env\n"),
        ],
        &[],
    )
    .expect("load");
    let inc = &m["services"]["included-service"];
    // Relative paths resolve against the included file's directory...
    assert_eq!(inc["volumes"][0]["source"], "/commons/data");
    // ...and its own .env gives the defaults.
    assert_eq!(inc["image"], "from-commons-env");
    assert_eq!(
        m["services"]["webapp"]["depends_on"]["included-service"]["condition"],
        "service_started"
    );
}

#[test]
fn the_local_environment_overrides_the_included_env_file() {
    let m = project(
        &[
            (
                "/app/compose.yaml",
                "include:\n  - ../commons/compose.yaml\n",
            ),
            (
                "/commons/compose.yaml",
                "services:\n  s:\n    image: ${TAG}\n",
            ),
            ("/commons/.env", "TAG=from-file\n"),
        ],
        &[("TAG", "from-env")],
    )
    .expect("load");
    assert_eq!(m["services"]["s"]["image"], "from-env");
}

#[test]
fn include_conflicts_and_cycles_are_refused() {
    let e = project(
        &[
            (
                "/app/compose.yaml",
                "include:\n  - other.yaml\nservices:\n  s:\n    image: a\n",
            ),
            ("/app/other.yaml", "services:\n  s:\n    image: b\n"),
        ],
        &[],
    )
    .expect_err("conflict");
    assert!(
        e.contains("services.s conflicts with imported resource"),
        "{e}"
    );
    let e = project(
        &[
            ("/app/compose.yaml", "include:\n  - b.yaml\nservices: {}\n"),
            ("/app/b.yaml", "include:\n  - compose.yaml\nservices: {}\n"),
        ],
        &[],
    )
    .expect_err("cycle");
    assert!(e.contains("include cycle detected"), "{e}");
}

#[test]
fn extends_merges_the_base_service_with_the_extending_one() {
    let m = project(
        &[
            (
                "/app/compose.yaml",
                "services:\n  web:\n    extends:\n      file: common/base.yaml\n      service: webapp\n    environment:\n      - DEBUG=1\n    cpu_shares: 5\n",
            ),
            (
                "/app/common/base.yaml",
                "services:\n  webapp:\n    image: base\n    build: ./ctx\n    environment:\n      CONFIG_FILE_PATH: /code/config\n    ports: [\"8000:8000\"]\n",
            ),
        ],
        &[],
    )
    .expect("load");
    let w = &m["services"]["web"];
    assert_eq!(w["image"], "base");
    assert_eq!(w["environment"]["DEBUG"], "1");
    assert_eq!(w["environment"]["CONFIG_FILE_PATH"], "/code/config");
    assert_eq!(w["cpu_shares"], 5);
    // The base's relative build context is its own file's.
    assert_eq!(w["build"]["context"], "/app/common/ctx");
    assert!(w.get("extends").is_none());
}

#[test]
fn extends_within_a_file_and_its_cycles() {
    let m = project(
        &[(
            "/app/compose.yaml",
            "services:\n  base:\n    image: b\n    restart: always\n  child:\n    extends: base\n    command: echo\n",
        )],
        &[],
    )
    .expect("load");
    assert_eq!(m["services"]["child"]["restart"], "always");
    assert_eq!(m["services"]["child"]["image"], "b");
    let e = project(
        &[(
            "/app/compose.yaml",
            "services:\n  a:\n    image: x\n    extends: nosuch\n",
        )],
        &[],
    )
    .expect_err("missing");
    assert!(e.contains("nosuch"), "{e}");
}
