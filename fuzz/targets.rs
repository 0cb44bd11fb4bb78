// What each fuzz target checks of one input: shared by the fuzz targets (cargo-fuzz) and
// by the corpus replay in quai's tests, so every input kept in `fuzz/corpus` is checked
// in CI as the fuzzer checked it. A panic is a finding.

/// An image reference: parsing never panics, and what parses prints back to a form that
/// parses to the same reference.
pub fn reference(data: &[u8]) {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(r) = s.parse::<image::reference::Reference>() {
        let again: image::reference::Reference = r
            .to_string()
            .parse()
            .unwrap_or_else(|e| panic!("{r} (from {s:?}) does not parse again: {e}"));
        assert_eq!(again.to_string(), r.to_string(), "{s:?}");
    }
}

/// A Dockerfile: parsing never panics.
pub fn dockerfile(data: &[u8]) {
    if let Ok(s) = std::str::from_utf8(data) {
        let _ = dockerfile::Dockerfile::parse(s);
    }
}

/// A Go duration: parsing never panics.
pub fn duration(data: &[u8]) {
    if let Ok(s) = std::str::from_utf8(data) {
        let _ = dockerfile::parse_go_duration(s);
    }
}

/// A layer stream (tar, possibly compressed) unpacked into a directory of its own inside
/// a scratch directory: never a panic, and nothing written beside the destination.
pub fn layer(data: &[u8]) {
    let Ok(scratch) = tempfile::tempdir() else {
        return;
    };
    let dest = scratch.path().join("rootfs");
    if std::fs::create_dir(&dest).is_err() {
        return;
    }
    let _ = image::layer::unpack(data, &dest);
    let beside: Vec<_> = std::fs::read_dir(scratch.path())
        .map(|d| d.filter_map(|e| e.ok().map(|e| e.file_name())).collect())
        .unwrap_or_default();
    assert_eq!(
        beside,
        vec![std::ffi::OsString::from("rootfs")],
        "escaped the root"
    );
}
