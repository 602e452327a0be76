//! `artifacts::parse_manifest` with the default limits.
//!
//! Invariants:
//! * nothing panics;
//! * Ok ⇒ `v == 1`, tenant and surface non-empty, every URI in `current` non-empty and trimmed,
//!   `uri(k)` agrees with `current` for every kind, and the manifest passes
//!   `verify_manifest_scope` against its own tenant and surface;
//! * parsing is deterministic, and monotone in the limits: Ok under tight limits ⇒ the same
//!   manifest under the defaults.
#![no_main]

use libfuzzer_sys::fuzz_target;
use recsys_core::artifacts::{parse_manifest, verify_manifest_scope, ArtifactKind, ArtifactLimits};

fuzz_target!(|data: &[u8]| {
    let limits = ArtifactLimits::default();
    let parsed = parse_manifest(data, &limits);
    if let Ok(m) = &parsed {
        assert_eq!(m.v, 1, "manifest v is not 1: {m:?}");
        assert!(!m.tenant.is_empty(), "manifest with an empty tenant: {m:?}");
        assert!(!m.surface.is_empty(), "manifest with an empty surface: {m:?}");
        for (k, uri) in &m.current {
            assert!(!uri.is_empty(), "blank URI for {k}: {m:?}");
            assert_eq!(uri.trim(), uri, "untrimmed URI for {k}: {m:?}");
        }
        for k in ArtifactKind::ALL {
            assert_eq!(m.uri(k), m.current.get(&k).map(String::as_str));
        }
        verify_manifest_scope(m, &m.tenant, &m.surface).expect("manifest fails its own scope");
        assert_eq!(parse_manifest(data, &limits).as_ref(), Ok(m), "parse_manifest is not deterministic");
    }

    let tight = ArtifactLimits { max_bytes: 512, max_depth: 4, ..limits };
    if let Ok(t) = parse_manifest(data, &tight) {
        assert_eq!(parsed.as_ref(), Ok(&t), "Ok under tight limits but not the same under the defaults");
    }
});
