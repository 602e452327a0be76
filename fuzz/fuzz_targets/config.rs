//! `config::TenantConfig::from_value` on any JSON document.
//!
//! Invariants:
//! * nothing panics (parsing, validation, `for_surface` for every surface named);
//! * validation is deterministic: a second run gives the same verdict and the same problems;
//! * an `Err` always carries at least one problem.
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
            let names: Vec<String> = c1.surfaces().map(str::to_owned).collect();
            for s in names.iter().map(String::as_str).chain(["home", "default", ""]) {
                let _ = c1.for_surface(s);
            }
        }
        (Err(p1), Err(p2)) => {
            assert!(!p1.is_empty(), "config rejected without a problem");
            assert_eq!(p1, p2, "config problems are not deterministic");
        }
        _ => panic!("config validation verdict is not deterministic"),
    }
});
