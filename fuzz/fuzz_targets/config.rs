//! `config::TenantConfig::from_value` on any JSON document.
//!
//! Invariants:
//! * nothing panics (parsing, validation, `for_surface` for every surface named);
//! * validation is deterministic: a second run gives the same verdict and the same problems;
//! * an `Err` always carries at least one problem;
//! * limits honoured: an accepted config is within the document limits (its compact text
//!   parses under them), weights at most `MAX_WEIGHT`; problem lists are what a caller gets
//!   capped to `MAX_PROBLEMS` + 1.
#![no_main]

use libfuzzer_sys::fuzz_target;
use recsys_core::config::TenantConfig;
use recsys_core::json;

fuzz_target!(|data: &[u8]| {
    let Ok(v) = json::parse(data) else { return };
    let first = TenantConfig::from_value(&v);
    let second = TenantConfig::from_value(&v);
    match (&first, &second) {
        (Ok((c1, w1)), Ok((c2, w2))) => {
            assert_eq!(format!("{c1:?}"), format!("{c2:?}"), "config validation is not deterministic");
            assert_eq!(w1, w2, "config warnings are not deterministic");
            let text = json::to_string(&v);
            json::parse_with(text.as_bytes(), json::Limits::document())
                .unwrap_or_else(|e| panic!("an accepted config is outside the document limits: {e}"));
            if let Some(w) = c1.base.weights {
                for x in [w.pop, w.cooc, w.emb] {
                    assert!((0.0..=recsys_core::config::MAX_WEIGHT).contains(&x), "weight {x} accepted");
                }
            }
            let names: Vec<String> = c1.surfaces().map(str::to_owned).collect();
            for s in names.iter().map(String::as_str).chain(["home", "default", ""]) {
                let _ = c1.for_surface(s);
            }
        }
        (Err(p1), Err(p2)) => {
            assert!(!p1.is_empty(), "config rejected without a problem");
            let api = recsys_core::ApiError::new(recsys_core::error::ErrorCode::InvalidConfig, "x").with_problems(p1.clone());
            assert!(api.problems.len() <= recsys_core::error::MAX_PROBLEMS + 1, "problem list not capped");
            assert_eq!(p1, p2, "config problems are not deterministic");
        }
        _ => panic!("config validation verdict is not deterministic"),
    }
});
