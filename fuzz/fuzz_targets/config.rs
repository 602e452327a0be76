//! `check::Config::parse` on any input.
//!
//! Invariants:
//! * nothing panics (parsing, validation, the weights of every surface named);
//! * validation is deterministic: a second run gives the same verdict, config, warnings and
//!   problems;
//! * an invalid config (`RECSYS_INVALID_CONFIG`) always carries at least one problem;
//! * limits honoured: an accepted config is within the document limits (its compact text
//!   parses under them), weights at most `Config::MAX_WEIGHT`; problem lists are capped to
//!   `ApiError::MAX_PROBLEMS` + 1.
#![no_main]

use libfuzzer_sys::fuzz_target;
use recsys_core::check::Config;
use recsys_core::{json, ApiError};

fuzz_target!(|data: &[u8]| {
    let first = Config::parse(data);
    let second = Config::parse(data);
    match (&first, &second) {
        (Ok(c1), Ok(c2)) => {
            assert_eq!(c1, c2, "config validation is not deterministic");
            let v = json::parse(data).expect("an accepted config is json");
            let text = json::to_string(&v);
            json::parse_with(text.as_bytes(), json::Limits::document())
                .unwrap_or_else(|e| panic!("an accepted config is outside the document limits: {e}"));
            let names: Vec<String> = c1.surfaces().map(str::to_owned).collect();
            let surfaces = names.iter().map(String::as_str).chain(["home", "default", ""]);
            for w in c1.weights().into_iter().chain(surfaces.filter_map(|s| c1.surface_weights(s))) {
                for x in w {
                    assert!((0.0..=Config::MAX_WEIGHT).contains(&x), "weight {x} accepted");
                }
            }
        }
        (Err(e1), Err(e2)) => {
            if e1.code == "RECSYS_INVALID_CONFIG" {
                assert!(!e1.problems.is_empty(), "config rejected without a problem");
            }
            assert!(e1.problems.len() <= ApiError::MAX_PROBLEMS + 1, "problem list not capped");
            assert_eq!(e1.code, e2.code, "config error codes are not deterministic");
            assert_eq!(e1.problems, e2.problems, "config problems are not deterministic");
        }
        _ => panic!("config validation verdict is not deterministic"),
    }
});
