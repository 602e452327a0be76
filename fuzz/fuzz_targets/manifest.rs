//! `check::Manifest::parse` with the default limits.
//!
//! Invariants:
//! * nothing panics;
//! * Ok ⇒ tenant and surface non-empty, every URI non-empty and trimmed, `uri(k)` agrees with
//!   `artifacts()` for every kind, and the manifest passes `check_scope` against its own
//!   tenant and surface;
//! * parsing is deterministic, and monotone in the limits: Ok under tight limits ⇒ the same
//!   manifest under the defaults.
#![no_main]

use libfuzzer_sys::fuzz_target;
use recsys_core::check::{ArtifactKind, ArtifactLimits, Manifest};

fuzz_target!(|data: &[u8]| {
    let limits = ArtifactLimits::default();
    let parsed = Manifest::parse_with(data, &limits);
    if let Ok(m) = &parsed {
        assert!(!m.tenant().is_empty(), "manifest with an empty tenant: {m:?}");
        assert!(!m.surface().is_empty(), "manifest with an empty surface: {m:?}");
        for (k, uri) in m.artifacts() {
            assert!(!uri.is_empty(), "blank URI for {k}: {m:?}");
            assert_eq!(uri.trim(), uri, "untrimmed URI for {k}: {m:?}");
        }
        for k in ArtifactKind::ALL {
            assert_eq!(m.uri(k), m.artifacts().find(|(j, _)| *j == k).map(|(_, u)| u));
        }
        m.check_scope(m.tenant(), m.surface()).expect("manifest fails its own scope");
        assert_eq!(Manifest::parse_with(data, &limits).as_ref(), Ok(m), "parsing is not deterministic");
    }

    let tight = ArtifactLimits { max_bytes: 512, max_depth: 4, ..limits };
    if let Ok(t) = Manifest::parse_with(data, &tight) {
        assert_eq!(parsed.as_ref(), Ok(&t), "Ok under tight limits but not the same under the defaults");
    }
});
