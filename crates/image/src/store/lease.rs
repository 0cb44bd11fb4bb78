
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn collection_spares_what_a_leaseholder_wrote() {
        let t = tempfile::tempdir().expect("tmp");
        let store = ImageStore::open(t.path()).expect("store");
        let lease = store.lease().expect("lease");
        // Written under the lease, referred to by no image (yet).
        let d = store
            .content()
            .write_bytes(b"a layer not recorded yet", None)
            .expect("blob");
        let layer = t.path().join("layers").join("deadbeef");
        std::fs::create_dir_all(&layer).expect("mkdir");
        store.gc().expect("gc");
        assert!(store.content().has(&d), "the leaseholder's blob went");
        assert!(layer.exists(), "the leaseholder's layer went");
        // Another lease, held elsewhere, is seen while it is held.
        assert!(store.oldest_lease().is_some());
        drop(lease);
        assert!(store.oldest_lease().is_none());
        store.gc().expect("gc");
        assert!(!store.content().has(&d));
        assert!(!layer.exists());
    }
}
