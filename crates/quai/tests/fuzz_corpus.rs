//! The fuzzers' corpora replayed (issue 17): every input kept in `fuzz/corpus/TARGET`
//! (seeds, and what `scripts/fuzz` found and kept) goes through the same check the fuzz
//! target makes (`fuzz/targets.rs`), and so does every input that once crashed
//! (`fuzz/regressions/TARGET`), so a crash once found stays fixed.

#[path = "../../../fuzz/targets.rs"]
mod targets;

fn replay(target: &str, check: fn(&[u8])) {
    let fuzz = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz");
    let mut n = 0;
    // The corpus, and the inputs that once crashed (kept apart: minimizing the corpus
    // must never drop them).
    for dir in [
        fuzz.join("corpus").join(target),
        fuzz.join("regressions").join(target),
    ] {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for e in entries {
            let p = e.expect("entry").path();
            let data = std::fs::read(&p).expect("read");
            let r = std::panic::catch_unwind(|| check(&data));
            assert!(r.is_ok(), "{target}: {} fails", p.display());
            n += 1;
        }
    }
    assert!(n > 0, "{target}: empty corpus");
}

#[test]
fn reference_corpus() {
    replay("reference", targets::reference);
}

#[test]
fn dockerfile_corpus() {
    replay("dockerfile", targets::dockerfile);
}

#[test]
fn duration_corpus() {
    replay("duration", targets::duration);
}

#[test]
fn layer_corpus() {
    replay("layer", targets::layer);
}

#[test]
fn manifest_corpus() {
    replay("manifest", targets::manifest);
}

#[test]
fn config_json_corpus() {
    replay("config_json", targets::config_json);
}

#[test]
fn compose_corpus() {
    replay("compose", targets::compose);
}

#[test]
fn dns_corpus() {
    replay("dns", targets::dns);
}

#[test]
fn create_body_corpus() {
    replay("create_body", targets::create_body);
}

#[test]
fn registry_request_corpus() {
    replay("registry_request", targets::registry_request);
}
