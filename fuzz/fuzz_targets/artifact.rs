//! `check::Artifact::parse`, `version` and `verify`.
//!
//! Invariants:
//! * nothing panics: parsing with no expected kind and with each of `ArtifactKind::ALL`;
//!   `version`, `verify` on every parsed artifact;
//! * Ok ⇒ non-empty tenant and surface, window end after its start;
//! * expected kind: `Some(k)` Ok ⇒ kind `k`; `None` Ok with kind `k` ⇒ `Some(k)` gives the same
//!   artifact; `None` Ok ⇒ every other `Some(j)` fails;
//! * `version` is 64 lower-case hex digits and deterministic; `verify(None)` Ok ⇔ the
//!   declared version equals it, and then returns it; `verify(Some(h))` agrees;
//! * monotone in the limits: Ok under tight row limits ⇒ the same artifact under the defaults.
#![no_main]

use libfuzzer_sys::fuzz_target;
use recsys_core::check::{Artifact, ArtifactKind, ArtifactLimits};
use recsys_fuzz::is_lower_hex64;

fn check(a: &Artifact) {
    assert!(!a.tenant().is_empty(), "artifact with an empty tenant");
    assert!(!a.surface().is_empty(), "artifact with an empty surface");
    let (start, end) = a.window();
    assert!(end > start, "window end <= start: {start:?} {end:?}");

    let h = a.version();
    assert!(is_lower_hex64(&h), "version hash is not 64 lower-case hex: {h:?}");
    assert_eq!(h, a.version(), "version is not deterministic");

    let declared = a.declared_version();
    match a.verify(None) {
        Ok(v) => {
            assert_eq!(v, h, "verify returned a version other than the hash");
            assert_eq!(declared, h, "verify accepted a declared version other than the hash");
            assert_eq!(a.verify(Some(&h)).as_deref().ok(), Some(h.as_str()));
            let other = if h.starts_with('0') { "1".repeat(64) } else { "0".repeat(64) };
            assert!(a.verify(Some(&other)).is_err(), "verify accepted a wrong expected version");
        }
        Err(_) => {
            assert_ne!(declared, h, "verify rejected an artifact whose declared version is the hash");
            assert!(a.verify(Some(&h)).is_err());
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let limits = ArtifactLimits::default();
    let any = Artifact::parse_with(data, None, &limits);
    if let Ok(a) = &any {
        check(a);
    }
    for k in ArtifactKind::ALL {
        let typed = Artifact::parse_with(data, Some(k), &limits);
        match (&any, &typed) {
            (_, Ok(t)) => {
                assert_eq!(t.kind(), k, "parse(Some({k})) returned kind {}", t.kind());
                check(t);
                if let Ok(a) = &any {
                    assert_eq!(a, t, "Some({k}) and None give different artifacts");
                }
            }
            (Ok(a), Err(e)) => {
                assert_ne!(a.kind(), k, "None gives a {k} artifact but Some({k}) fails: {}", e.message);
            }
            (Err(_), Err(_)) => {}
        }
    }

    let tight = ArtifactLimits {
        max_items: 3,
        max_neighbors_per_row: 3,
        max_users: 3,
        max_items_per_user: 3,
        max_tags_per_item: 3,
        max_depth: 8,
        ..limits
    };
    if let Ok(t) = Artifact::parse_with(data, None, &tight) {
        assert_eq!(any.as_ref().ok(), Some(&t), "Ok under tight limits but not the same under the defaults");
    }
});
