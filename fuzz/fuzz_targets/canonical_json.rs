//! `json::canonical_text` / `json::etag` (the PostgreSQL `jsonb` text form behind ETags) and
//! `json::parse` / `json::to_string` / `json::to_go_string`.
//!
//! Invariants:
//! * nothing panics, whatever the bytes;
//! * canonical text is a fixed point: `canonical_text(canonical) == canonical`;
//! * `etag(data)` is 64 lower-case hex digits and equals `etag(canonical)`;
//! * `canonical_text(data)` Ok ⇒ `parse(data)` Ok (canonical accepts a subset of documents);
//! * `parse(data)` Ok ⇒ `parse(to_string(v)) == v` and `parse(to_go_string(v)) == v`
//!   (both writers keep member order, duplicates and number literals).
//!
//! * huge exponents are refused or cheap (fixed findings F1-F3, `regressions/`);
//! * limits honoured: canonical text is never longer than the document size limit, and the
//!   value check (`check_value`) and the parser agree on the document limits.
#![no_main]

use libfuzzer_sys::fuzz_target;
use recsys_core::json;
use recsys_fuzz::is_lower_hex64;

fuzz_target!(|data: &[u8]| {
    let canonical = json::canonical_text(data);
    if let Ok(c) = &canonical {
        assert!(c.len() <= json::Limits::document().max_bytes, "canonical text over the size limit");
        let tag = json::etag(data).expect("etag fails on a document canonical_text accepts");
        assert!(is_lower_hex64(&tag), "etag is not 64 lower-case hex digits: {tag:?}");
        match json::canonical_text(c.as_bytes()) {
            Ok(again) => {
                assert_eq!(&again, c, "canonical text is not a fixed point of canonical_text");
                let tag2 = json::etag(c.as_bytes()).expect("etag fails on canonical text");
                assert_eq!(tag, tag2, "etag(data) != etag(canonical_text(data))");
            }
            Err(e) => panic!("canonical text does not canonicalize again: {e}"),
        }
    }

    match json::parse(data) {
        Ok(v) => {
            let text = json::to_string(&v);
            let back = json::parse(text.as_bytes())
                .unwrap_or_else(|e| panic!("to_string output does not re-parse: {e}\n{text}"));
            assert_eq!(back, v, "to_string round trip changed the value\n{text}");

            let go = json::to_go_string(&v);
            let back = json::parse(go.as_bytes())
                .unwrap_or_else(|e| panic!("to_go_string output does not re-parse: {e}\n{go}"));
            assert_eq!(back, v, "to_go_string round trip changed the value\n{go}");

            // One limits specification: value and compact text are judged alike.
            let lim = json::Limits::document();
            let by_value = json::check_value(&v, &lim).map_err(|e| e.kind);
            let by_text = json::parse_with(text.as_bytes(), lim).map(|_| ()).map_err(|e| e.kind);
            assert_eq!(by_value.is_ok(), by_text.is_ok(), "value and text limits disagree: {by_value:?} {by_text:?}");

            // The value-level canonical form agrees with the byte-level one.
            if let Ok(c) = &canonical {
                assert_eq!(json::canonical_value_text(&v).as_ref(), Ok(c));
            }
        }
        Err(e) => {
            assert!(canonical.is_err(), "canonical_text accepted a document parse rejects: {e}");
        }
    }
});
