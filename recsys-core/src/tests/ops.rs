//! Tests of the production ops layer (`crate::ops`): experiment assignment, exposure
//! events, API keys, the engine profile, backpressure and metrics.
//!
//! Test vectors were computed independently of the Rust code with Python's standard library
//! (the snippet is kept here rather than as a script in the repository):
//!
//! ```python
//! import hmac, hashlib
//! def d(salt, msg): return hmac.new(salt.encode(), msg.encode(), hashlib.sha256).digest()
//! def u64(salt, msg): return int.from_bytes(d(salt, msg)[:8], "big")
//! def bucket(salt, e, s): return u64(salt, "traffic:%s:%s" % (e, s)) % 10000
//! def hold(salt, e, s): return u64(salt, "holdout:%s:%s" % (e, s)) % 10000
//! def vhash(salt, e, s): return u64(salt, "%s:%s" % (e, s))
//! def pick(names, weights, v):            # weights: None = the reference's `mod n`
//!     if len(names) == 1: return names[0]
//!     if weights is None: return names[v % len(names)]
//!     units = [round(w * 1_000_000) for w in weights]; p = (v * sum(units)) >> 64; c = 0
//!     for n, u in zip(names, units):
//!         c += u
//!         if p < c: return n
//! # vhash("salt","exp-1","user-123") = 4238060713167832805, bucket 5868, hold 5619
//! # vhash("salt","exp-home","user-1") = 15163657043209502297, bucket 9926, hold 1293
//! # vhash("","exp-1","user-123") = 851678737596300926, bucket 5669
//! # vhash("pepper","checkout-cta","anon-42") = 12111232196347317365, bucket 5064
//! # pick(["A","B","C"], [0.5,0.3,0.2], 4238060713167832805) = "A" (point 229745)
//! # pick(["A","B"], [90,10], 15163657043209502297) = "A"; unweighted = "B"
//! # subject hashes: hmac("salt","user") = 48cee8d8…995782, hmac("salt","sess-9") = ee57d2c7…f52354
//! # api keys: hmac("pepper","secret") = 804e6d85…d306, sha256("secret") = 2bb80d53…a25b
//! ```
//!
//! The same generator wrote `tests/conformance/cases/experiment_*.json` (op `assign`); they
//! are also run here through `ops::api::call_static`.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Barrier};
use std::thread;
use std::time::{Duration, Instant};

use crate::config::Limits;
use crate::json::{self, Map, Value};
use crate::ops::apikeys::{hash_api_key, ApiKeyError, ApiKeyMatch, ApiKeyVerifier};
use crate::ops::backpressure::{AdmissionGate, Overloaded, RejectReason};
use crate::ops::experiments::{
    self, assign, parse_definitions, pick_variant, traffic_bucket, variant_hash, AssignReason,
    Assigner, ExperimentDef, VariantDef,
};
use crate::ops::exposure::{
    hash_subject, ExposedItem, ExposureEncoder, ExposureError, ExposureEvent, ExposureFormat,
    ExposureSink, MemorySink, SinkError, SubjectHasher, SubjectMode,
};
use crate::ops::metrics::{self, names, Metrics, MetricsRegistry, Outcome};
use crate::ops::profile::{EngineProfile, Mode, Secret};
use crate::ops::{api as ops_api, Endpoint};
use crate::request::{CallContext, RecommendRequest, User};
use crate::time::Timestamp;
use crate::ApiError;

fn parse(s: &str) -> Value {
    json::parse(s.as_bytes()).unwrap()
}

fn ts(s: &str) -> Timestamp {
    Timestamp::parse_rfc3339(s).unwrap()
}

fn user(user_id: &str, anonymous_id: &str, session_id: &str) -> User {
    User {
        user_id: user_id.into(),
        anonymous_id: anonymous_id.into(),
        session_id: session_id.into(),
    }
}

// ---------------------------------------------------------------------------------------------
// Experiments
// ---------------------------------------------------------------------------------------------

#[test]
fn experiment_reference_vectors() {
    assert_eq!(
        variant_hash(b"salt", "exp-1", "user-123"),
        4238060713167832805
    );
    assert_eq!(traffic_bucket(b"salt", "exp-1", "user-123"), 5868);
    assert_eq!(
        variant_hash(b"salt", "exp-home", "user-1"),
        15163657043209502297
    );
    assert_eq!(traffic_bucket(b"salt", "exp-home", "user-1"), 9926);
    assert_eq!(variant_hash(b"", "exp-1", "user-123"), 851678737596300926);
    assert_eq!(traffic_bucket(b"", "exp-1", "user-123"), 5669);
    assert_eq!(
        variant_hash(b"pepper", "checkout-cta", "anon-42"),
        12111232196347317365
    );
    assert_eq!(traffic_bucket(b"pepper", "checkout-cta", "anon-42"), 5064);

    let a = Assigner::new("salt", vec![]).unwrap();
    let now = Timestamp::default();
    let got = a
        .assign("exp-1", "", "home", &user("user-123", "", ""), now)
        .unwrap();
    assert_eq!(got.variant.as_deref(), Some("B"));
    assert_eq!(got.bucket, Some(5868));
    assert_eq!(got.reason, AssignReason::DefaultVariants);
    let got = a
        .assign("exp-home", "", "home", &user("user-1", "", ""), now)
        .unwrap();
    assert_eq!(got.variant.as_deref(), Some("B"));
    assert_eq!(got.bucket, Some(9926));
}

#[test]
fn experiment_request_flow() {
    let now = ts("2026-02-10T00:00:00Z");
    let a = Assigner::new("salt", vec![]).unwrap();
    // No experiment id → nothing to assign.
    assert!(a
        .assign("  ", "", "home", &user("u", "", ""), now)
        .is_none());
    // The client's variant wins, unvalidated.
    let got = a
        .assign("exp-1", " Z ", "home", &user("user-123", "", ""), now)
        .unwrap();
    assert_eq!(got.variant.as_deref(), Some("Z"));
    assert_eq!(got.reason, AssignReason::ClientVariant);
    // No subject.
    let got = a
        .assign("exp-1", "", "home", &User::default(), now)
        .unwrap();
    assert_eq!((got.variant, got.reason), (None, AssignReason::NoSubject));
    // Subject priority: user, then session, then anonymous.
    let by_session = a
        .assign("exp-1", "", "home", &user("", "anon", "user-123"), now)
        .unwrap();
    assert_eq!(by_session.bucket, Some(5868));
    let by_user = a
        .assign("exp-1", "", "home", &user("user-123", "x", "y"), now)
        .unwrap();
    assert_eq!(by_user.bucket, Some(5868));
    assert_eq!(
        experiments::select_subject(&user(" ", " a ", "")),
        Some("a")
    );
    // Deterministic.
    let again = a
        .assign("exp-1", "", "home", &user("user-123", "x", "y"), now)
        .unwrap();
    assert_eq!(by_user, again);
    // Switched off: no assignment, but a client variant still passes through.
    let off = a.clone().with_enabled(false);
    let got = off
        .assign("exp-1", "", "home", &user("user-123", "", ""), now)
        .unwrap();
    assert_eq!(
        (got.variant, got.reason),
        (None, AssignReason::AssignmentDisabled)
    );
    let got = off
        .assign("exp-1", "A", "home", &user("user-123", "", ""), now)
        .unwrap();
    assert_eq!(got.variant.as_deref(), Some("A"));
}

#[test]
fn experiment_lifecycle_gates() {
    let salt = b"salt";
    let subject = "user-123";
    let mut def = ExperimentDef::new("exp-1", vec![]);
    def.surface = Some("Home".into());
    def.starts_at = Some(ts("2026-02-01T00:00:00Z"));
    def.ends_at = Some(ts("2026-03-01T00:00:00Z"));
    let inside = ts("2026-02-15T12:00:00Z");

    let got = assign(&def, subject, "HOME", inside, salt);
    assert_eq!(got.reason, AssignReason::Assigned);
    assert_eq!(got.variant.as_deref(), Some("B"));
    assert!(got.in_traffic);

    assert_eq!(
        assign(&def, subject, "pdp", inside, salt).reason,
        AssignReason::SurfaceMismatch
    );
    assert_eq!(
        assign(&def, subject, "home", ts("2026-01-31T23:59:59Z"), salt).reason,
        AssignReason::NotStarted
    );
    assert_eq!(
        assign(&def, subject, "home", ts("2026-02-01T00:00:00Z"), salt).reason,
        AssignReason::Assigned
    );
    assert_eq!(
        assign(&def, subject, "home", ts("2026-03-01T00:00:00Z"), salt).reason,
        AssignReason::Ended
    );
    let mut disabled = def.clone();
    disabled.enabled = false;
    let got = assign(&disabled, subject, "home", inside, salt);
    assert_eq!((got.reason, got.variant), (AssignReason::Disabled, None));

    let mut t = def.clone();
    t.traffic_percent = 0.0;
    assert_eq!(
        assign(&t, subject, "home", inside, salt).reason,
        AssignReason::NotInTraffic
    );
    t.traffic_percent = 100.0;
    assert_eq!(
        assign(&t, subject, "home", inside, salt).reason,
        AssignReason::Assigned
    );
    t.traffic_percent = 58.69; // bucket 5868 < 5869
    assert!(assign(&t, subject, "home", inside, salt).in_traffic);
    t.traffic_percent = 58.68; // bucket 5868 is not < 5868
    assert!(!assign(&t, subject, "home", inside, salt).in_traffic);

    // Holdout bucket for (exp-1, user-123) is 5619.
    let mut h = def.clone();
    h.holdout_percent = 56.2;
    let got = assign(&h, subject, "home", inside, salt);
    assert_eq!(got.reason, AssignReason::Holdout);
    assert!(got.holdout && got.in_traffic && got.variant.is_none());
    h.holdout_percent = 56.19;
    assert_eq!(
        assign(&h, subject, "home", inside, salt).reason,
        AssignReason::Assigned
    );
}

#[test]
fn experiment_weighted_vectors() {
    let abc = vec![
        VariantDef::weighted("A", 0.5),
        VariantDef::weighted("B", 0.3),
        VariantDef::weighted("C", 0.2),
    ];
    assert_eq!(pick_variant(&abc, 4238060713167832805).unwrap().name, "A");
    let ab = vec![
        VariantDef::weighted("A", 90.0),
        VariantDef::weighted("B", 10.0),
    ];
    assert_eq!(pick_variant(&ab, 15163657043209502297).unwrap().name, "A");
    let unweighted = experiments::default_variants();
    assert_eq!(
        pick_variant(&unweighted, 15163657043209502297)
            .unwrap()
            .name,
        "B"
    );
    // A zero weight is never chosen; a single variant always is.
    let zero = vec![
        VariantDef::weighted("A", 0.0),
        VariantDef::weighted("B", 1.0),
    ];
    for i in 0..1000u64 {
        assert_eq!(
            pick_variant(&zero, i.wrapping_mul(0x9E37_79B9_7F4A_7C15))
                .unwrap()
                .name,
            "B"
        );
    }
    assert_eq!(
        pick_variant(&[VariantDef::named("only")], 7).unwrap().name,
        "only"
    );
    assert!(pick_variant(&[], 7).is_none());
}

/// Chi-square statistic of observed counts against expected shares.
fn chi_square(observed: &[u64], shares: &[f64]) -> f64 {
    let n: u64 = observed.iter().sum();
    observed
        .iter()
        .zip(shares)
        .map(|(&o, &s)| {
            let e = n as f64 * s;
            (o as f64 - e).powi(2) / e
        })
        .sum()
}

/// Critical value of chi-square with 2 degrees of freedom at p = 0.001.
const CHI2_DF2_P001: f64 = 13.816;

fn count_variants(def: &ExperimentDef, salt: &[u8], n: usize) -> Vec<u64> {
    let mut counts = vec![0u64; def.variants.len()];
    for i in 0..n {
        let a = assign(
            def,
            &format!("subject-{i}"),
            "home",
            Timestamp::default(),
            salt,
        );
        if let Some(v) = a.variant {
            let idx = def.variants.iter().position(|x| x.name == v).unwrap();
            counts[idx] += 1;
        }
    }
    counts
}

#[test]
fn experiment_no_sample_ratio_mismatch() {
    // 100k synthetic subjects over 3 unweighted variants: the hash split must be uniform.
    let def = ExperimentDef::new(
        "exp-srm",
        vec![
            VariantDef::named("control"),
            VariantDef::named("t1"),
            VariantDef::named("t2"),
        ],
    );
    let counts = count_variants(&def, b"chi-salt", 100_000);
    assert_eq!(counts.iter().sum::<u64>(), 100_000);
    let chi = chi_square(&counts, &[1.0 / 3.0; 3]);
    assert!(chi < CHI2_DF2_P001, "chi-square {chi} for {counts:?}");

    // Weighted 50/30/20 matches its target shares too (the variant mapping alone: a
    // full-traffic definition assigns exactly `pick_variant(variant_hash)`).
    let weighted = [
        VariantDef::weighted("control", 50.0),
        VariantDef::weighted("t1", 30.0),
        VariantDef::weighted("t2", 20.0),
    ];
    let mut counts = vec![0u64; 3];
    for i in 0..30_000 {
        let h = variant_hash(b"chi-salt", "exp-srm-w", &format!("subject-{i}"));
        let v = pick_variant(&weighted, h).unwrap();
        counts[weighted.iter().position(|x| x.name == v.name).unwrap()] += 1;
    }
    let chi = chi_square(&counts, &[0.5, 0.3, 0.2]);
    assert!(
        chi < CHI2_DF2_P001,
        "weighted chi-square {chi} for {counts:?}"
    );
}

#[test]
fn experiment_traffic_and_holdout_shares() {
    let n = 20_000usize;
    let mut def = ExperimentDef::new("exp-share", vec![]);
    def.traffic_percent = 25.0;
    def.holdout_percent = 20.0;
    let (mut in_traffic, mut held, mut variant_a) = (0u64, 0u64, 0u64);
    for i in 0..n {
        let a = assign(
            &def,
            &format!("s{i}"),
            "x",
            Timestamp::default(),
            b"share-salt",
        );
        in_traffic += a.in_traffic as u64;
        held += a.holdout as u64;
        variant_a += (a.variant.as_deref() == Some("A")) as u64;
    }
    // Binomial checks at five standard deviations (deterministic inputs, so not flaky).
    let within =
        |x: u64, n: f64, p: f64| (x as f64 - n * p).abs() < 5.0 * (n * p * (1.0 - p)).sqrt();
    assert!(within(in_traffic, n as f64, 0.25), "{in_traffic}");
    assert!(within(held, in_traffic as f64, 0.20), "{held}");
    assert!(
        within(variant_a, (in_traffic - held) as f64, 0.5),
        "{variant_a}"
    );
}

#[test]
fn experiment_definitions_parse_and_list_every_problem() {
    let ok = parse(
        r#"[{"id":" exp-1 ","enabled":true,"surface":"home","traffic_percent":50,
             "holdout_percent":5,"starts_at":"2026-02-01T00:00:00Z","ends_at":"2026-03-01T00:00:00+02:00",
             "variants":[{"name":"A","weight":1},{"name":"B","weight":3,
               "overrides":{"weights":{"pop":0.2,"cooc":0.8},"algo":"cooc","rules_enabled":true}}]},
            {"id":"exp-2","variants":["x","y"],"starts_at":null}]"#,
    );
    let defs = parse_definitions(&ok).unwrap();
    assert_eq!(defs.len(), 2);
    assert_eq!(defs[0].id, "exp-1");
    assert!(defs[0].enabled && !defs[1].enabled);
    assert_eq!(defs[0].traffic_percent, 50.0);
    assert_eq!(defs[1].traffic_percent, 100.0);
    assert_eq!(defs[0].ends_at, Some(ts("2026-02-28T22:00:00Z")));
    let b = defs[0].variant("B").unwrap();
    assert_eq!(b.weight, Some(3.0));
    assert_eq!(b.overrides.rules_enabled, Some(true));
    assert_eq!(b.overrides.weights.unwrap().cooc, 0.8);
    // Round trip through to_value.
    assert_eq!(
        ExperimentDef::from_value(&defs[0].to_value()).unwrap(),
        defs[0]
    );

    let bad = parse(
        r#"[{"id":"","traffic_percent":101,"variants":[{"name":"A","weight":1},"B","B"," "],
             "starts_at":"2026-03-01T00:00:00Z","ends_at":"2026-02-01T00:00:00Z","colour":"red"},
            {"id":"e","enabled":"yes","holdout_percent":-1,"ends_at":"tomorrow",
             "variants":[{"name":"A","weight":0},{"name":"B","weight":0,"overrides":{"algo":"magic"}}]},
            {"id":"e"}, 7]"#,
    );
    let problems = parse_definitions(&bad).unwrap_err();
    let got: Vec<(&str, &str)> = problems.iter().map(|p| (p.path.as_str(), p.code)).collect();
    assert_eq!(
        got,
        vec![
            ("$[0].colour", "RECSYS_EXPERIMENT_UNKNOWN_FIELD"),
            ("$[0].id", "RECSYS_EXPERIMENT_MISSING_ID"),
            ("$[0].traffic_percent", "RECSYS_EXPERIMENT_BAD_PERCENT"),
            ("$[0].variants[2]", "RECSYS_EXPERIMENT_DUPLICATE_VARIANT"),
            ("$[0].variants[3]", "RECSYS_EXPERIMENT_BAD_VARIANT"),
            ("$[0].variants", "RECSYS_EXPERIMENT_BAD_WEIGHT"),
            ("$[0].ends_at", "RECSYS_EXPERIMENT_EMPTY_WINDOW"),
            ("$[1].enabled", "RECSYS_EXPERIMENT_WRONG_TYPE"),
            ("$[1].holdout_percent", "RECSYS_EXPERIMENT_BAD_PERCENT"),
            (
                "$[1].variants[1].overrides.algo",
                "RECSYS_EXPERIMENT_BAD_OVERRIDE"
            ),
            ("$[1].variants", "RECSYS_EXPERIMENT_BAD_WEIGHT"),
            ("$[1].ends_at", "RECSYS_EXPERIMENT_BAD_TIME"),
            ("$[2].id", "RECSYS_EXPERIMENT_DUPLICATE_ID"),
            ("$[3]", "RECSYS_EXPERIMENT_WRONG_TYPE"),
        ]
    );
    let err: ApiError = experiments::ExperimentError::Invalid(problems).into();
    assert_eq!((err.code, err.status), ("RECSYS_INVALID_EXPERIMENT", 422));
    assert_eq!(err.problems.len(), 14);

    // The assigner refuses duplicate ids too.
    let dup = vec![
        ExperimentDef::new("x", vec![]),
        ExperimentDef::new("x", vec![]),
    ];
    assert!(Assigner::new("s", dup).is_err());
}

#[test]
fn experiment_variant_overrides_are_found() {
    let defs = parse_definitions(&parse(
        r#"[{"id":"ranker","enabled":true,"variants":[
              {"name":"control"},
              {"name":"cooc-heavy","overrides":{"weights":{"pop":0.2,"cooc":0.8},"rules_enabled":false}}]}]"#,
    ))
    .unwrap();
    let a = Assigner::new("salt", defs).unwrap();
    let mut seen = [false, false];
    for i in 0..64 {
        let got = a
            .assign(
                "ranker",
                "",
                "home",
                &user(&format!("u{i}"), "", ""),
                Timestamp::default(),
            )
            .unwrap();
        match got.variant.as_deref() {
            Some("control") => {
                assert!(a.overrides(&got).is_none());
                seen[0] = true;
            }
            Some("cooc-heavy") => {
                let o = a.overrides(&got).unwrap();
                assert_eq!(o.weights.unwrap().pop, 0.2);
                assert_eq!(o.rules_enabled, Some(false));
                seen[1] = true;
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(seen, [true, true]);
    let meta = a
        .assign(
            "ranker",
            "control",
            "home",
            &User::default(),
            Timestamp::default(),
        )
        .unwrap()
        .to_meta_value();
    assert_eq!(
        json::to_string(&meta),
        r#"{"id":"ranker","variant":"control"}"#
    );
}

#[test]
fn experiment_conformance_cases() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/conformance/cases");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            let name = p.file_name().unwrap().to_string_lossy().to_string();
            name.starts_with("experiment_") && name.ends_with(".json")
        })
        .collect();
    files.sort();
    assert!(files.len() >= 6, "need at least 6 experiment cases");
    for f in files {
        let case = parse(&std::fs::read_to_string(&f).unwrap());
        let m = case.as_object().unwrap();
        assert_eq!(m.get("call").and_then(Value::as_str), Some("assign"));
        let actual = match ops_api::call_static("assign", m.get("input").unwrap()).unwrap() {
            Ok(v) => v,
            Err(e) => {
                let mut w = Map::new();
                w.push("error", e.to_value());
                Value::Object(w)
            }
        };
        let mut cmp = Map::new();
        cmp.push("expect", m.get("expect").unwrap().clone());
        cmp.push("actual", actual.clone());
        let res = crate::call_static("conformance_compare", &json::to_string(&Value::Object(cmp)))
            .unwrap();
        assert!(
            res.contains("\"pass\":true"),
            "{}: {}",
            f.display(),
            json::to_string(&actual)
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Exposure
// ---------------------------------------------------------------------------------------------

/// `exposure.v1.json` as shipped in `../shared/fixtures/schemas` (embedded so the test runs
/// anywhere; compared with the shared file when it is present).
const EXPOSURE_SCHEMA: &str = r#"{
  "$schema": "http://json-schema.org/draft-07/schema#",
  "$id": "exposure.v1.json",
  "type": "object",
  "required": ["request_id", "user_id", "ts", "items"],
  "properties": {
    "request_id": {"type": "string", "minLength": 1},
    "user_id": {"type": "string", "minLength": 1},
    "ts": {"type": "string", "format": "date-time"},
    "items": {
      "type": "array",
      "items": {
        "type": "object",
        "required": ["item_id", "rank"],
        "properties": {
          "item_id": {"type": "string", "minLength": 1},
          "rank": {"type": "integer", "minimum": 1},
          "propensity": {"type": "number", "minimum": 0},
          "logging_propensity": {"type": "number", "minimum": 0},
          "target_propensity": {"type": "number", "minimum": 0}
        }
      }
    },
    "context": {
      "type": "object",
      "additionalProperties": {"type": "string"}
    },
    "latency_ms": {"type": "number", "minimum": 0},
    "error": {"type": "boolean"}
  },
  "additionalProperties": false
}"#;

fn schema() -> Value {
    let embedded = parse(EXPOSURE_SCHEMA);
    let shared = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/fixtures/schemas/exposure.v1.json");
    if let Ok(text) = std::fs::read_to_string(shared) {
        assert_eq!(parse(&text), embedded, "the embedded schema is out of date");
    }
    embedded
}

/// `YYYY-MM-DDTHH:MM:SS[.frac](Z|±HH:MM)` (RFC 3339 `date-time`), checked by hand.
fn is_date_time(s: &str) -> bool {
    let b = s.as_bytes();
    let digits =
        |r: std::ops::Range<usize>| b.len() >= r.end && b[r].iter().all(u8::is_ascii_digit);
    if b.len() < 20
        || !digits(0..4)
        || b[4] != b'-'
        || !digits(5..7)
        || b[7] != b'-'
        || !digits(8..10)
        || !matches!(b[10], b'T' | b't')
        || !digits(11..13)
        || b[13] != b':'
        || !digits(14..16)
        || b[16] != b':'
        || !digits(17..19)
    {
        return false;
    }
    let num = |r: std::ops::Range<usize>| s[r].parse::<u32>().unwrap();
    if !(1..=12).contains(&num(5..7))
        || !(1..=31).contains(&num(8..10))
        || num(11..13) > 23
        || num(14..16) > 59
        || num(17..19) > 60
    {
        return false;
    }
    let mut i = 19;
    if b[i] == b'.' {
        i += 1;
        let start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        if i == start {
            return false;
        }
    }
    match &s[i..] {
        "Z" | "z" => true,
        off => {
            let o = off.as_bytes();
            o.len() == 6
                && matches!(o[0], b'+' | b'-')
                && o[1..3].iter().all(u8::is_ascii_digit)
                && o[3] == b':'
                && o[4..6].iter().all(u8::is_ascii_digit)
        }
    }
}

/// A minimal JSON Schema validator for the keywords `exposure.v1.json` uses. Unknown keywords
/// fail the test, so the validator cannot silently accept a schema it does not understand.
fn validate(schema: &Value, v: &Value, path: &str, errs: &mut Vec<String>) {
    let s = schema.as_object().expect("schema must be an object");
    for (k, _) in s.iter() {
        assert!(
            matches!(
                k,
                "$schema"
                    | "$id"
                    | "type"
                    | "required"
                    | "properties"
                    | "additionalProperties"
                    | "items"
                    | "enum"
                    | "format"
                    | "minimum"
                    | "minLength"
            ),
            "unsupported schema keyword {k}"
        );
    }
    if let Some(t) = s.get("type") {
        let types: Vec<&str> = match t {
            Value::String(x) => vec![x.as_str()],
            Value::Array(a) => a.iter().map(|x| x.as_str().unwrap()).collect(),
            _ => panic!("bad type keyword"),
        };
        let ok = types.iter().any(|t| match *t {
            "object" => matches!(v, Value::Object(_)),
            "array" => matches!(v, Value::Array(_)),
            "string" => matches!(v, Value::String(_)),
            "boolean" => matches!(v, Value::Bool(_)),
            "null" => v.is_null(),
            "number" => v.as_f64().is_some(),
            "integer" => v.as_f64().is_some_and(|f| f.fract() == 0.0),
            other => panic!("unknown type {other}"),
        });
        if !ok {
            errs.push(format!("{path}: expected {types:?}, got {}", v.type_name()));
            return;
        }
    }
    if let Some(Value::Array(allowed)) = s.get("enum") {
        if !allowed.contains(v) {
            errs.push(format!("{path}: not in enum"));
        }
    }
    if let (Some(min), Some(x)) = (s.get("minimum").and_then(Value::as_f64), v.as_f64()) {
        if x < min {
            errs.push(format!("{path}: {x} < minimum {min}"));
        }
    }
    if let (Some(min), Some(x)) = (s.get("minLength").and_then(Value::as_f64), v.as_str()) {
        if (x.chars().count() as f64) < min {
            errs.push(format!("{path}: shorter than {min}"));
        }
    }
    if let (Some(f), Some(x)) = (s.get("format").and_then(Value::as_str), v.as_str()) {
        assert_eq!(f, "date-time", "unsupported format {f}");
        if !is_date_time(x) {
            errs.push(format!("{path}: {x:?} is not a date-time"));
        }
    }
    if let Value::Object(m) = v {
        if let Some(Value::Array(req)) = s.get("required") {
            for r in req {
                let r = r.as_str().unwrap();
                if m.get(r).is_none() {
                    errs.push(format!("{path}: missing {r}"));
                }
            }
        }
        let props = s.get("properties").and_then(Value::as_object);
        for (k, x) in m.deduped() {
            let sub = format!("{path}.{k}");
            match props.and_then(|p| p.get(k)) {
                Some(ps) => validate(ps, x, &sub, errs),
                None => match s.get("additionalProperties") {
                    Some(Value::Bool(false)) => errs.push(format!("{sub}: not allowed")),
                    Some(ap @ Value::Object(_)) => validate(ap, x, &sub, errs),
                    _ => {}
                },
            }
        }
    }
    if let (Value::Array(a), Some(items)) = (v, s.get("items")) {
        for (i, x) in a.iter().enumerate() {
            validate(items, x, &format!("{path}[{i}]"), errs);
        }
    }
}

fn schema_errors(v: &Value) -> Vec<String> {
    let mut errs = Vec::new();
    validate(&schema(), v, "$", &mut errs);
    errs
}

fn sample_event() -> ExposureEvent {
    let mut ev = ExposureEvent::new(Endpoint::Recommend, ts("2026-01-02T03:04:05.5Z"));
    ev.request_id = "req-1".into();
    ev.tenant_id = "acme".into();
    ev.surface = "home".into();
    ev.segment = "default".into();
    ev.algo_version = "recsys-algo@local".into();
    ev.config_version = "cfgv".into();
    ev.experiment = Some(crate::request::Experiment {
        id: "exp-1".into(),
        variant: "B".into(),
    });
    ev.user = user("user", "", "sess-9");
    ev.context = Some(crate::request::Context {
        locale: "fi-FI".into(),
        device: String::new(),
        country: "FI".into(),
        now: String::new(),
    });
    ev.items = vec![
        ExposedItem {
            item_id: "i1".into(),
            rank: 1,
            score: 0.75,
        },
        ExposedItem {
            item_id: "i2".into(),
            rank: 2,
            score: 0.0,
        },
    ];
    ev
}

const SERVICE_V1: &str = r#"{"schema_version":"v1","timestamp":"2026-01-02T03:04:05.5Z","request_id":"req-1","tenant_id":"acme","surface":"home","segment":"default","algo_version":"recsys-algo@local","config_version":"cfgv","experiment":{"id":"exp-1","variant":"B"},"subject":{"user_id_hash":"48cee8d8b352a2221a8993ac5fafd739ef877013a7576e582ac1363b92995782","session_id_hash":"ee57d2c7a6152ad5e76b5ce6485583ef0a044dbfcaa7d8268ed35c9decf52354"},"context":{"locale":"fi-FI","country":"FI"},"items":[{"item_id":"i1","rank":1,"score":0.75},{"item_id":"i2","rank":2}]}"#;

const EVAL_V1: &str = r#"{"request_id":"req-1","user_id":"48cee8d8b352a2221a8993ac5fafd739ef877013a7576e582ac1363b92995782","ts":"2026-01-02T03:04:05.5Z","items":[{"item_id":"i1","rank":1},{"item_id":"i2","rank":2}],"context":{"algo_version":"recsys-algo@local","config_version":"cfgv","country":"FI","experiment_id":"exp-1","experiment_variant":"B","locale":"fi-FI","segment":"default","surface":"home","tenant_id":"acme"}}"#;

fn hashed(salt: &str) -> SubjectMode {
    SubjectMode::Hashed(SubjectHasher::new(salt))
}

#[test]
fn exposure_exact_lines() {
    let ev = sample_event();
    let svc = ev.to_service_v1(&hashed("salt")).unwrap();
    assert_eq!(json::to_string(&svc), SERVICE_V1);
    let eval = ev.to_eval_v1(&hashed("salt")).unwrap();
    assert_eq!(json::to_string(&eval), EVAL_V1);
    assert!(schema_errors(&eval).is_empty());
}

#[test]
fn exposure_from_answer_request_and_assignment() {
    let req_v = parse(
        r#"{"surface":"home","k":2,"user":{"user_id":"user","session_id":"sess-9"},
            "context":{"locale":"fi-FI","country":"FI"},"experiment":{"id":"exp-1"}}"#,
    );
    let (req, _) = RecommendRequest::from_value(&req_v, &Limits::default()).unwrap();
    let answer = parse(
        r#"{"items":[{"item_id":"i1","rank":1,"score":0.75},{"item_id":"i2","rank":2,"score":0}],
            "meta":{"tenant_id":"acme","surface":"home","segment":"default","algo_version":"recsys-algo@local",
                    "config_version":"cfgv","request_id":"req-1","counts":{"returned":2}}}"#,
    );
    let ctx = CallContext::new(ts("2026-01-02T03:04:05.5Z"), "acme").request_id("req-1");
    let assignment = Assigner::new("salt", vec![])
        .unwrap()
        .assign_request(&req, ctx.now)
        .unwrap();
    // Python: u64(hmac("salt", "exp-1:user")) = 1613857346466017362, even → "A".
    assert_eq!(assignment.variant.as_deref(), Some("A"));
    assert_eq!(assignment.variant_hash, Some(1613857346466017362));
    let ev = ExposureEvent::from_answer(Endpoint::Recommend, &answer, &ctx)
        .with_request(&req)
        .with_assignment(&assignment);
    let mut want = sample_event();
    want.experiment.as_mut().unwrap().variant = "A".into();
    assert_eq!(ev, want);
    // The request's own variant is kept when it has one.
    let ev = ev.with_request(&req);
    assert_eq!(ev.experiment.as_ref().unwrap().variant, "");
    let client = Assigner::new("salt", vec![])
        .unwrap()
        .assign("exp-1", "B", "home", &req.user, ctx.now)
        .unwrap();
    let ev = ev.with_assignment(&client);
    assert_eq!(ev, sample_event());

    let sink = MemorySink::new();
    let enc = ExposureEncoder::new(ExposureFormat::ServiceV1, SubjectHasher::new("salt"));
    enc.emit(&sink, &ev).unwrap();
    let enc = ExposureEncoder::new(ExposureFormat::EvalV1, SubjectHasher::new("salt"));
    enc.emit(&sink, &ev).unwrap();
    assert_eq!(
        sink.lines(),
        vec![SERVICE_V1.to_string(), EVAL_V1.to_string()]
    );
    assert_eq!(sink.take().len(), 2);
    assert!(sink.is_empty());
}

#[test]
fn exposure_similar_events_carry_no_subject() {
    let mut ev = sample_event();
    ev.endpoint = Endpoint::Similar;
    let svc = json::to_string(&ev.to_service_v1(&hashed("salt")).unwrap());
    assert!(!svc.contains("subject") && !svc.contains("experiment") && !svc.contains("context"));
    let eval = ev.to_eval_v1(&hashed("salt")).unwrap();
    let m = eval.as_object().unwrap();
    assert_eq!(m.get("user_id").unwrap().as_str(), Some("req-1"));
    assert!(schema_errors(&eval).is_empty());
}

#[test]
fn exposure_eval_user_id_priority_and_key_id() {
    let mut ev = sample_event();
    ev.user = user("", "anon-1", "sess-9");
    let mode = SubjectMode::Hashed(SubjectHasher::with_key_id("k2", "k2salt"));
    // eval prefers anonymous over session (unlike experiment subjects).
    let eval = ev.to_eval_v1(&mode).unwrap();
    let m = eval.as_object().unwrap();
    assert_eq!(
        m.get("user_id").unwrap().as_str(),
        Some("7560d52160a4ed08b67efda5f8384b72ca65020cb6e5a8f3d009daf8772db089")
    );
    let ctx = m.get("context").unwrap().as_object().unwrap();
    assert_eq!(ctx.get("subject_key_id").unwrap().as_str(), Some("k2"));
    assert!(schema_errors(&eval).is_empty());
    let svc = ev.to_service_v1(&mode).unwrap();
    let subject = svc.as_object().unwrap().get("subject").unwrap();
    assert_eq!(
        json::to_string(subject),
        r#"{"anonymous_id_hash":"7560d52160a4ed08b67efda5f8384b72ca65020cb6e5a8f3d009daf8772db089","session_id_hash":"6d91226dd9c5d1ba462d20448367efcacbc129eff09643a8f7298827307ea447","key_id":"k2"}"#
    );
    // No subject: user_id falls back to the request id; no key id is written.
    ev.user = User::default();
    let eval = ev.to_eval_v1(&mode).unwrap();
    let m = eval.as_object().unwrap();
    assert_eq!(m.get("user_id").unwrap().as_str(), Some("req-1"));
    assert!(!json::to_string(&eval).contains("subject_key_id"));
    let svc = json::to_string(&ev.to_service_v1(&mode).unwrap());
    assert!(!svc.contains("subject"));
}

#[test]
fn exposure_raw_ids_never_appear_when_hashing() {
    let raw = ["u-7f3a-raw", "anon-raw-1", "sess-raw-2"];
    let mut ev = sample_event();
    ev.user = user(&format!("  {}  ", raw[0]), raw[1], raw[2]);
    for format in [ExposureFormat::ServiceV1, ExposureFormat::EvalV1] {
        for mode in [
            hashed("salt"),
            hashed(""),
            SubjectMode::Hashed(SubjectHasher::with_key_id("k", "x")),
        ] {
            let line = json::to_string(&ev.encode(format, &mode).unwrap());
            for id in raw {
                assert!(!line.contains(id), "{format:?} leaks {id}: {line}");
            }
        }
    }
    // Raw mode (development) does write them, trimmed.
    let line = json::to_string(&ev.to_service_v1(&SubjectMode::Raw).unwrap());
    assert!(line.contains(r#""subject":{"user_id":"u-7f3a-raw","anonymous_id":"anon-raw-1","session_id":"sess-raw-2"}"#));
    assert_eq!(
        hash_subject(b"salt", "user").as_deref(),
        Some("48cee8d8b352a2221a8993ac5fafd739ef877013a7576e582ac1363b92995782")
    );
}

#[test]
fn exposure_eval_events_validate_against_schema() {
    let mut events = Vec::new();
    let base = sample_event();
    events.push(base.to_eval_v1(&hashed("salt")).unwrap());
    let mut empty = base.clone();
    empty.items.clear();
    empty.context = None;
    empty.experiment = None;
    events.push(empty.to_eval_v1(&hashed("salt")).unwrap());
    let mut anon = base.clone();
    anon.user = user("", "a", "");
    anon.timestamp = ts("2026-01-02T03:04:05Z");
    events.push(
        anon.to_eval_v1(&SubjectMode::Hashed(SubjectHasher::with_key_id("k", "s")))
            .unwrap(),
    );
    let mut similar = base.clone();
    similar.endpoint = Endpoint::Similar;
    events.push(similar.to_eval_v1(&hashed("")).unwrap());
    for e in &events {
        let errs = schema_errors(e);
        assert!(errs.is_empty(), "{}: {errs:?}", json::to_string(e));
    }
    // The validator is not vacuous.
    for bad in [
        r#"{"request_id":"r","user_id":"u","ts":"2026-01-02T03:04:05Z","items":[],"extra":1}"#,
        r#"{"request_id":"r","user_id":"u","ts":"2026-01-02 03:04","items":[]}"#,
        r#"{"request_id":"r","user_id":"u","ts":"2026-01-02T03:04:05Z","items":[{"item_id":"a","rank":0}]}"#,
        r#"{"request_id":"r","user_id":"u","ts":"2026-01-02T03:04:05Z","items":[{"item_id":"a","rank":1.5}]}"#,
        r#"{"request_id":"r","user_id":"","ts":"2026-01-02T03:04:05Z","items":[]}"#,
        r#"{"request_id":"r","user_id":"u","ts":"2026-01-02T03:04:05Z","items":[],"context":{"a":1}}"#,
        r#"{"request_id":"r","user_id":"u","ts":"2026-01-02T03:04:05Z"}"#,
    ] {
        assert!(!schema_errors(&parse(bad)).is_empty(), "{bad}");
    }
}

#[test]
fn exposure_rejects_bad_events() {
    let mut ev = sample_event();
    ev.request_id.clear();
    assert_eq!(
        ev.to_eval_v1(&hashed("s")).unwrap_err(),
        ExposureError::MissingRequestId
    );
    // service_v1 does not need a request id.
    assert!(ev.to_service_v1(&hashed("s")).is_ok());
    let mut ev = sample_event();
    ev.items[1].rank = 0;
    let err = ev.to_service_v1(&hashed("s")).unwrap_err();
    assert!(matches!(err, ExposureError::InvalidItem { index: 1, .. }));
    let api: ApiError = err.into();
    assert_eq!((api.code, api.status), ("RECSYS_INVALID_EXPOSURE", 422));
    let mut ev = sample_event();
    ev.items[0].item_id = " ".into();
    assert!(ev.to_eval_v1(&hashed("s")).is_err());

    struct Failing;
    impl ExposureSink for Failing {
        fn emit(&self, _: &Value) -> Result<(), SinkError> {
            Err(SinkError("disk full".into()))
        }
    }
    let enc = ExposureEncoder::new(ExposureFormat::ServiceV1, SubjectHasher::new("s"));
    let err = enc.emit(&Failing, &sample_event()).unwrap_err();
    let api: ApiError = err.into();
    assert_eq!((api.code, api.status), ("RECSYS_EXPOSURE_SINK_FAILED", 500));
    assert_eq!(
        ExposureFormat::parse(" Eval "),
        Some(ExposureFormat::EvalV1)
    );
    assert_eq!(
        ExposureFormat::parse("service"),
        Some(ExposureFormat::ServiceV1)
    );
    assert_eq!(ExposureFormat::parse("csv"), None);
}

// ---------------------------------------------------------------------------------------------
// API keys
// ---------------------------------------------------------------------------------------------

#[test]
fn api_key_reference_vectors() {
    assert_eq!(
        hash_api_key("pepper", "secret"),
        "804e6d854739162fdea0d455b3aafe67f40d2919406186a27be601596ac6d306"
    );
    assert_eq!(
        hash_api_key("", "secret"),
        "2bb80d537b1da3e38bd30361aa855686bde0eacd7162fef6a25fe97bf527a25b"
    );
    let v = ApiKeyVerifier::single("pepper");
    let ok = v
        .verify(
            "secret",
            "804E6D854739162FDEA0D455B3AAFE67F40D2919406186A27BE601596AC6D306",
        )
        .unwrap();
    assert_eq!(
        ok,
        ApiKeyMatch {
            key_id: String::new(),
            rotated: false
        }
    );
    assert_eq!(
        v.verify("Secret", &hash_api_key("pepper", "secret")),
        Err(ApiKeyError::Invalid)
    );
    assert_eq!(v.verify("  ", "x"), Err(ApiKeyError::Missing));
    assert_eq!(v.verify("secret", ""), Err(ApiKeyError::Invalid));
    let e: ApiError = ApiKeyError::Invalid.into();
    assert_eq!(
        (e.code, e.status, e.message.as_str()),
        ("RECSYS_AUTH_INVALID", 401, "invalid api key")
    );
}

#[test]
fn api_key_rotation() {
    let old = ApiKeyVerifier::new(vec![("k1", "old-secret")]).unwrap();
    let (kid, stored_old) = old.hash("raw-key");
    assert_eq!(kid, "k1");

    // Rotation: the new secret becomes primary, the old one stays active.
    let both = ApiKeyVerifier::new(vec![("k2", "new-secret"), ("k1", "old-secret")]).unwrap();
    assert_eq!(both.primary_key_id(), "k2");
    assert_eq!(both.key_ids(), vec!["k2", "k1"]);
    let m = both.verify("raw-key", &stored_old).unwrap();
    assert_eq!((m.key_id.as_str(), m.rotated), ("k1", true));
    let (kid, stored_new) = both.hash("raw-key");
    assert_eq!(kid, "k2");
    let m = both.verify("raw-key", &stored_new).unwrap();
    assert_eq!((m.key_id.as_str(), m.rotated), ("k2", false));
    let candidates = both.candidate_hashes("raw-key");
    assert_eq!(
        candidates,
        vec![
            ("k2".to_string(), stored_new.clone()),
            ("k1".to_string(), stored_old.clone())
        ]
    );

    // Old secret retired: old hashes stop working.
    let new_only = ApiKeyVerifier::new(vec![("k2", "new-secret")]).unwrap();
    assert_eq!(
        new_only.verify("raw-key", &stored_old),
        Err(ApiKeyError::Invalid)
    );
    assert!(new_only.verify("raw-key", &stored_new).is_ok());

    assert_eq!(
        ApiKeyVerifier::new(vec![("a", "1"), ("b", "2"), ("c", "3")]).unwrap_err(),
        ApiKeyError::SecretCount(3)
    );
    assert_eq!(
        ApiKeyVerifier::new(Vec::<(String, String)>::new()).unwrap_err(),
        ApiKeyError::SecretCount(0)
    );
    assert_eq!(
        ApiKeyVerifier::new(vec![("a", "1"), ("a", "2")]).unwrap_err(),
        ApiKeyError::DuplicateKeyId("a".into())
    );
    assert!(!format!("{both:?}").contains("secret"));
}

// ---------------------------------------------------------------------------------------------
// Profile
// ---------------------------------------------------------------------------------------------

fn problem_list(v: &str) -> Vec<(String, &'static str)> {
    match EngineProfile::from_value(&parse(v)) {
        Ok(_) => vec![],
        Err(e) => e
            .problems()
            .iter()
            .map(|p| (p.path.clone(), p.code))
            .collect(),
    }
}

#[test]
fn profile_defaults_are_the_reference() {
    let p = EngineProfile::from_value(&parse("{}")).unwrap();
    assert_eq!(p.mode, Mode::Development);
    assert!(p.experiments.enabled && !p.exposure.enabled && !p.api_keys_enabled);
    assert!(!p.rules_enabled);
    assert_eq!(p.backpressure.queue_timeout, Duration::from_millis(200));
    assert_eq!(p.backpressure.retry_after, Duration::from_secs(1));
    assert_eq!(p.ttls.config_cache, Duration::from_secs(300));
    assert_eq!(p.limits.max_k, 200);
    assert_eq!(p.rate_limit.capacity, 60);
    assert!(!p.admission_gate().is_enabled());
    // Development tolerates missing salts and dev auth.
    assert!(problem_list(
        r#"{"dev_auth_allowed":true,"exposure":{"enabled":true},"api_keys":{"enabled":true}}"#
    )
    .is_empty());
}

#[test]
fn profile_production_lists_every_problem() {
    let got = problem_list(
        r#"{"mode":"production","dev_auth_allowed":true,"api_keys":{"enabled":true},
            "exposure":{"enabled":true,"hash_subjects":false}}"#,
    );
    let want: Vec<(String, &str)> = vec![
        ("$.salts.exposure".into(), "RECSYS_PROFILE_MISSING_SALT"),
        ("$.salts.experiments".into(), "RECSYS_PROFILE_MISSING_SALT"),
        ("$.secrets.api_keys".into(), "RECSYS_PROFILE_MISSING_SECRET"),
        ("$.dev_auth_allowed".into(), "RECSYS_PROFILE_DEV_AUTH"),
        (
            "$.exposure.hash_subjects".into(),
            "RECSYS_PROFILE_HASHING_OFF",
        ),
    ];
    assert_eq!(got, want);

    // Structural problems and production problems come together.
    let got = problem_list(
        r#"{"mode":"prod","bogus":1,"limits":{"max_k":-1},"exposure":{"enabled":true,"format":"csv"},
            "experiments":{"definitions":[{"id":"e","traffic_percent":200}]},
            "backpressure":{"max_queue":5},"secrets":{"api_keys":["a","b","c"]}}"#,
    );
    let want: Vec<(String, &str)> = vec![
        ("$.bogus".into(), "RECSYS_PROFILE_UNKNOWN_FIELD"),
        ("$.exposure.format".into(), "RECSYS_PROFILE_BAD_VALUE"),
        (
            "$.experiments.definitions[0].traffic_percent".into(),
            "RECSYS_EXPERIMENT_BAD_PERCENT",
        ),
        ("$.limits.max_k".into(), "RECSYS_PROFILE_WRONG_TYPE"),
        ("$.secrets.api_keys".into(), "RECSYS_PROFILE_BAD_VALUE"),
        (
            "$.secrets.api_keys[1].key_id".into(),
            "RECSYS_PROFILE_BAD_VALUE",
        ),
        (
            "$.secrets.api_keys[2].key_id".into(),
            "RECSYS_PROFILE_BAD_VALUE",
        ),
        (
            "$.backpressure.max_queue".into(),
            "RECSYS_PROFILE_BAD_VALUE",
        ),
        ("$.salts.exposure".into(), "RECSYS_PROFILE_MISSING_SALT"),
        ("$.salts.experiments".into(), "RECSYS_PROFILE_MISSING_SALT"),
    ];
    assert_eq!(got, want);
    let err: ApiError = EngineProfile::from_value(&parse(r#"{"mode":"production"}"#))
        .unwrap_err()
        .into();
    assert_eq!((err.code, err.status), ("RECSYS_INVALID_PROFILE", 422));
}

#[test]
fn profile_production_valid_and_wired() {
    let text = r#"{
        "mode": "production",
        "salts": {"exposure": {"key_id": "2026-01", "value": "expo-SECRET-salt"}},
        "secrets": {"api_keys": [{"key_id": "k2", "value": "api-SECRET-new"},
                                 {"key_id": "k1", "value": "api-SECRET-old"}]},
        "api_keys": {"enabled": true},
        "exposure": {"enabled": true, "format": "eval"},
        "experiments": {"default_variants": ["control", "treatment"],
                        "definitions": [{"id": "exp-1", "enabled": true}]},
        "rules_enabled": true,
        "limits": {"max_k": 100},
        "ttls": {"config_cache_ms": 0},
        "backpressure": {"max_in_flight": 8, "max_queue": 16, "queue_timeout_ms": 50, "retry_after_ms": 2500},
        "rate_limit": {"enabled": false}
    }"#;
    let p = EngineProfile::from_value(&parse(text)).unwrap();
    assert!(p.is_production());
    // The experiment salt falls back to the exposure salt (reference).
    assert_eq!(
        p.effective_experiment_salt(),
        Some(&Secret::new("2026-01", "expo-SECRET-salt"))
    );
    let enc = p.exposure_encoder().unwrap();
    assert_eq!(enc.format, ExposureFormat::EvalV1);
    match &enc.subjects {
        SubjectMode::Hashed(h) => assert_eq!(h.key_id(), "2026-01"),
        SubjectMode::Raw => panic!("must hash"),
    }
    let a = p.assigner().unwrap();
    let got = a
        .assign(
            "other",
            "",
            "home",
            &user("user-123", "", ""),
            Timestamp::default(),
        )
        .unwrap();
    assert!(matches!(
        got.variant.as_deref(),
        Some("control" | "treatment")
    ));
    let v = p.api_key_verifier().unwrap().unwrap();
    assert_eq!(v.primary_key_id(), "k2");
    let gate = p.admission_gate();
    assert!(gate.is_enabled());
    assert_eq!(gate.stats().max_in_flight, 8);
    let ps: Vec<_> = (0..8).map(|_| gate.try_acquire().unwrap()).collect();
    assert_eq!(
        gate.try_acquire_for(Duration::ZERO)
            .unwrap_err()
            .retry_after,
        Some(2)
    );
    drop(ps);
    // Secret values never show up in summaries, Debug output or problem messages.
    let summary = json::to_string(&p.summary());
    let debug = format!("{p:?}");
    assert!(
        !summary.contains("SECRET") && !debug.contains("SECRET"),
        "{summary} {debug}"
    );
    let bad = text.replace("\"rules_enabled\": true", "\"rules_enabled\": \"yes\"");
    let err = EngineProfile::from_value(&parse(&bad)).unwrap_err();
    assert_eq!(err.problems().len(), 1);
    assert!(err.problems().iter().all(|p| !p.message.contains("SECRET")));
    // A non-string secret is reported by type, never by value.
    let err = EngineProfile::from_value(&parse(r#"{"salts":{"exposure":12345}}"#)).unwrap_err();
    assert!(!err.problems()[0].message.contains("12345"));
}

// ---------------------------------------------------------------------------------------------
// Backpressure
// ---------------------------------------------------------------------------------------------

#[test]
fn backpressure_reference_behaviour() {
    // Capacity 1, no queue, no wait: the second acquire fails, then succeeds after release.
    let g = AdmissionGate::new(1, 0, Duration::ZERO);
    let p = g.try_acquire().unwrap();
    let err = g.try_acquire().unwrap_err();
    assert_eq!(
        err,
        Overloaded {
            retry_after: Some(1),
            reason: RejectReason::NoSlot
        }
    );
    drop(p);
    let _p = g.try_acquire().unwrap();

    // Capacity 1, queue 1, wait 10 ms: the second acquire is overloaded after the wait.
    let g = AdmissionGate::new(1, 1, Duration::from_millis(10));
    let _held = g.try_acquire().unwrap();
    let start = Instant::now();
    let err = g.try_acquire().unwrap_err();
    assert!(start.elapsed() >= Duration::from_millis(10));
    assert_eq!(err.reason, RejectReason::Timeout);
    let s = g.stats();
    assert_eq!(
        (s.admitted, s.rejected, s.rejected_timeout, s.waiting),
        (1, 1, 1, 0)
    );

    let api: ApiError = err.into();
    assert_eq!(
        api.to_json(),
        r#"{"code":"RECSYS_OVERLOADED","status":503,"message":"service overloaded","retry_after":1}"#
    );
    let g = AdmissionGate::new(1, 0, Duration::ZERO).with_retry_after(Duration::ZERO);
    let _held = g.try_acquire().unwrap();
    let api: ApiError = g.try_acquire().unwrap_err().into();
    assert!(api.extra.is_none());
}

#[test]
fn backpressure_waiter_gets_released_slot_and_queue_is_bounded() {
    let g = AdmissionGate::new(1, 1, Duration::from_secs(10));
    let held = g.try_acquire().unwrap();
    let g2 = g.clone();
    let waiter = thread::spawn(move || g2.try_acquire().map(drop));
    // Wait until the waiter holds the only queue place.
    while g.stats().waiting < 1 {
        thread::yield_now();
    }
    let err = g.try_acquire().unwrap_err();
    assert_eq!(err.reason, RejectReason::QueueFull);
    drop(held);
    waiter.join().unwrap().unwrap();
    let s = g.stats();
    assert_eq!(s.admitted_after_wait, 1);
    assert_eq!(s.rejected_queue_full, 1);
    assert_eq!((s.in_flight, s.waiting), (0, 0));
}

#[test]
fn backpressure_contention_never_exceeds_max() {
    const MAX: usize = 3;
    const THREADS: usize = 8;
    const ROUNDS: usize = 300;
    let metrics = Arc::new(MetricsRegistry::new());
    let gate = AdmissionGate::new(MAX, 4, Duration::from_millis(2)).with_metrics(metrics.clone());
    let current = Arc::new(AtomicUsize::new(0));
    let peak = Arc::new(AtomicUsize::new(0));
    let start = Arc::new(Barrier::new(THREADS));
    let handles: Vec<_> = (0..THREADS)
        .map(|t| {
            let (gate, current, peak, start) =
                (gate.clone(), current.clone(), peak.clone(), start.clone());
            thread::spawn(move || {
                start.wait();
                let (mut ok, mut rejected) = (0u64, 0u64);
                for i in 0..ROUNDS {
                    match gate.try_acquire() {
                        Ok(permit) => {
                            let now = current.fetch_add(1, Ordering::SeqCst) + 1;
                            assert!(now <= MAX, "{now} in flight");
                            peak.fetch_max(now, Ordering::SeqCst);
                            if (i + t) % 3 == 0 {
                                thread::sleep(Duration::from_micros(200));
                            } else {
                                thread::yield_now();
                            }
                            // Leave the critical section before releasing the slot.
                            current.fetch_sub(1, Ordering::SeqCst);
                            drop(permit);
                            ok += 1;
                        }
                        Err(e) => {
                            assert_eq!(e.retry_after, Some(1));
                            let api: ApiError = e.into();
                            assert_eq!(api.code, "RECSYS_OVERLOADED");
                            rejected += 1;
                        }
                    }
                }
                (ok, rejected)
            })
        })
        .collect();
    let (mut ok, mut rejected) = (0, 0);
    for h in handles {
        let (o, r) = h.join().unwrap();
        ok += o;
        rejected += r;
    }
    let s = gate.stats();
    assert_eq!(ok + rejected, (THREADS * ROUNDS) as u64);
    assert_eq!((s.admitted, s.rejected), (ok, rejected));
    assert_eq!(
        s.rejected,
        s.rejected_no_slot + s.rejected_queue_full + s.rejected_timeout
    );
    assert_eq!((s.in_flight, s.waiting), (0, 0));
    assert!(s.peak_in_flight <= MAX && peak.load(Ordering::SeqCst) <= MAX);
    assert_eq!(
        metrics.counter_value(names::BACKPRESSURE_REJECTIONS_TOTAL, &[]),
        rejected
    );
    gate.export(metrics.as_ref());
    assert_eq!(
        metrics.gauge_value(names::BACKPRESSURE_IN_FLIGHT, &[]),
        Some(0.0)
    );
}

// ---------------------------------------------------------------------------------------------
// Metrics
// ---------------------------------------------------------------------------------------------

#[test]
fn metrics_prometheus_text_is_exact() {
    let r = MetricsRegistry::new();
    r.counter(
        names::REQUESTS_TOTAL,
        &[
            ("endpoint", "recommend"),
            ("outcome", "success"),
            ("empty", "false"),
        ],
        3,
    );
    r.counter(
        names::REQUESTS_TOTAL,
        &[
            ("empty", "true"),
            ("outcome", "success"),
            ("endpoint", "recommend"),
        ],
        1,
    );
    r.counter(names::BACKPRESSURE_REJECTIONS_TOTAL, &[], 2);
    r.gauge(names::ARTIFACT_MANIFEST_AGE_SECONDS, &[], 12.5);
    for v in [0.0, 3.0, 25.0] {
        r.histogram(names::WARNINGS, &[("endpoint", "similar")], v);
    }
    r.counter("custom_total", &[("path", "a\"b\\c\nd")], 1);
    let want = r#"# TYPE custom_total counter
custom_total{path="a\"b\\c\nd"} 1
# HELP recsys_artifact_manifest_age_seconds Age in seconds of the last loaded manifest.
# TYPE recsys_artifact_manifest_age_seconds gauge
recsys_artifact_manifest_age_seconds 12.5
# HELP recsys_backpressure_rejections_total Requests rejected by backpressure.
# TYPE recsys_backpressure_rejections_total counter
recsys_backpressure_rejections_total 2
# HELP recsys_recommendation_requests_total Recommendation requests by endpoint, outcome and emptiness.
# TYPE recsys_recommendation_requests_total counter
recsys_recommendation_requests_total{empty="false",endpoint="recommend",outcome="success"} 3
recsys_recommendation_requests_total{empty="true",endpoint="recommend",outcome="success"} 1
# HELP recsys_recommendation_warnings Warnings per successful request.
# TYPE recsys_recommendation_warnings histogram
recsys_recommendation_warnings_bucket{endpoint="similar",le="0"} 1
recsys_recommendation_warnings_bucket{endpoint="similar",le="1"} 1
recsys_recommendation_warnings_bucket{endpoint="similar",le="2"} 1
recsys_recommendation_warnings_bucket{endpoint="similar",le="5"} 2
recsys_recommendation_warnings_bucket{endpoint="similar",le="10"} 2
recsys_recommendation_warnings_bucket{endpoint="similar",le="20"} 2
recsys_recommendation_warnings_bucket{endpoint="similar",le="+Inf"} 3
recsys_recommendation_warnings_sum{endpoint="similar"} 28
recsys_recommendation_warnings_count{endpoint="similar"} 3
"#;
    assert_eq!(r.render_prometheus(), want);
}

#[test]
fn metrics_record_response_and_empty_rate() {
    let r = MetricsRegistry::new();
    let full = parse(
        r#"{"items":[{"item_id":"a"},{"item_id":"b"}],"meta":{},
            "warnings":[{"code":"DEFAULT_APPLIED","detail":"x"},{"code":"DEFAULT_APPLIED","detail":"y"},
                        {"code":"SIGNAL_UNAVAILABLE","detail":"z"}]}"#,
    );
    let empty = parse(r#"{"items":[],"meta":{}}"#);
    for _ in 0..3 {
        metrics::record_response(&r, Endpoint::Recommend, Outcome::Success, &full);
    }
    metrics::record_response(&r, Endpoint::Recommend, Outcome::Success, &empty);
    metrics::record_response(&r, Endpoint::Similar, Outcome::Success, &empty);
    let overload: ApiError = Overloaded {
        retry_after: Some(1),
        reason: RejectReason::NoSlot,
    }
    .into();
    assert_eq!(
        metrics::record_error(&r, Endpoint::Recommend, &overload),
        Outcome::Overload
    );
    metrics::record_latency(&r, Endpoint::Recommend, Outcome::Success, 0.042);
    metrics::record_cache(&r, "tenant_config", true);
    metrics::record_cache(&r, "tenant_config", false);
    metrics::record_artifact_failure(&r, "manifest");
    metrics::record_manifest(&r, 30.0, 4);
    metrics::record_artifact_age(&r, "popularity", 120.0);
    metrics::record_snapshot_swap(&r);
    metrics::record_exposure(&r, "eval_v1", true);

    let req = |labels: &[(&str, &str)]| r.counter_value(names::REQUESTS_TOTAL, labels);
    assert_eq!(
        req(&[
            ("endpoint", "recommend"),
            ("outcome", "success"),
            ("empty", "false")
        ]),
        3
    );
    assert_eq!(
        req(&[
            ("endpoint", "recommend"),
            ("outcome", "success"),
            ("empty", "true")
        ]),
        1
    );
    // An overload is never "empty".
    assert_eq!(
        req(&[
            ("endpoint", "recommend"),
            ("outcome", "overload"),
            ("empty", "false")
        ]),
        1
    );
    // Empty-recommendation rate = empty="true" / outcome="success".
    assert_eq!(r.empty_rate(Some(Endpoint::Recommend)), Some(0.25));
    assert_eq!(r.empty_rate(Some(Endpoint::Similar)), Some(1.0));
    assert_eq!(r.empty_rate(None), Some(2.0 / 5.0));
    assert_eq!(
        r.counter_value(
            names::WARNING_CODES_TOTAL,
            &[("endpoint", "recommend"), ("code", "DEFAULT_APPLIED")]
        ),
        6
    );
    assert_eq!(
        r.histogram_value(names::RETURNED_ITEMS, &[("endpoint", "recommend")]),
        Some((4, 6.0))
    );
    assert_eq!(
        r.histogram_value(names::WARNINGS, &[("endpoint", "recommend")]),
        Some((4, 9.0))
    );
    assert_eq!(
        r.histogram_value(
            names::LATENCY_SECONDS,
            &[("endpoint", "recommend"), ("outcome", "success")]
        ),
        Some((1, 0.042))
    );
    assert_eq!(r.counter_sum(names::CACHE_REQUESTS_TOTAL, &[]), 2);
    assert_eq!(
        r.gauge_value(names::ARTIFACT_MANIFEST_ARTIFACTS, &[]),
        Some(4.0)
    );
    assert_eq!(r.counter_value(names::SNAPSHOT_SWAPS_TOTAL, &[]), 1);
    let text = r.render_prometheus();
    assert!(text.contains(
        "recsys_recommendation_returned_items_bucket{endpoint=\"recommend\",le=\"1\"} 1\n"
    ));
    assert!(text.contains("recsys_artifact_age_seconds{kind=\"popularity\"} 120\n"));
}

#[test]
fn metrics_outcome_mapping() {
    let cases = [
        ("RECSYS_JSON_SYNTAX", 400, Outcome::InvalidRequest),
        ("RECSYS_INVALID_REQUEST", 400, Outcome::ValidationFailed),
        (
            "RECSYS_UNPROCESSABLE_ENTITY",
            422,
            Outcome::ValidationFailed,
        ),
        ("RECSYS_EXPLAIN_TOO_LARGE", 422, Outcome::Forbidden),
        ("RECSYS_FORBIDDEN", 403, Outcome::Forbidden),
        ("RECSYS_AUTH_INVALID", 401, Outcome::Forbidden),
        ("RECSYS_OVERLOADED", 503, Outcome::Overload),
        (
            "RECSYS_ARTIFACT_INCOMPATIBLE",
            422,
            Outcome::ArtifactIncompatible,
        ),
        ("RECSYS_INTERNAL", 500, Outcome::InternalError),
    ];
    for (code, status, want) in cases {
        let code = crate::error::ErrorCode::from_code(code).expect(code);
        let e = ApiError::new(code, "x");
        assert_eq!(e.status, status, "{code}");
        assert_eq!(Outcome::from_error(&e), want, "{code}");
    }
}

// ---------------------------------------------------------------------------------------------
// Static operations
// ---------------------------------------------------------------------------------------------

fn op(name: &str, input: &str) -> Result<String, ApiError> {
    ops_api::call_static(name, &parse(input))
        .expect("known op")
        .map(|v| json::to_string(&v))
}

#[test]
fn static_ops() {
    assert!(ops_api::call_static("etag", &Value::Null).is_none());
    assert_eq!(ops_api::OPS.len(), 5);

    assert_eq!(
        op(
            "assign",
            r#"{"salt":"salt","experiment_id":"exp-1","subject":"user-123"}"#
        )
        .unwrap(),
        r#"{"experiment_id":"exp-1","variant":"B","bucket":5868,"variant_hash":"4238060713167832805","in_traffic":true,"holdout":false,"reason":"default_variants"}"#
    );
    assert_eq!(op("assign", r#"{"experiment_id":""}"#).unwrap(), "null");
    let e = op(
        "assign",
        r#"{"experiment_id":"e","subject":"s","definitions":[{"id":"e","enabled":true,"ends_at":"2026-01-01T00:00:00Z"}]}"#,
    )
    .unwrap_err();
    assert_eq!(
        (e.code, e.problems[0].path.as_str()),
        ("RECSYS_INVALID_REQUEST", "$.now")
    );
    let e = op(
        "assign",
        r#"{"experiment_id":"e","subject":"s","user":{},"colour":1}"#,
    )
    .unwrap_err();
    assert_eq!(e.problems.len(), 2);

    let event = r#"{"timestamp":"2026-01-02T03:04:05.5Z","request_id":"req-1","tenant_id":"acme",
        "surface":"home","segment":"default","algo_version":"recsys-algo@local","config_version":"cfgv",
        "experiment":{"id":"exp-1","variant":"B"},"user":{"user_id":"user","session_id":"sess-9"},
        "context":{"locale":"fi-FI","country":"FI"},
        "items":[{"item_id":"i1","rank":1,"score":0.75},{"item_id":"i2","rank":2}]}"#;
    assert_eq!(
        op(
            "exposure_event",
            &format!(r#"{{"salt":"salt","event":{event}}}"#)
        )
        .unwrap(),
        SERVICE_V1
    );
    assert_eq!(
        op(
            "exposure_event",
            &format!(r#"{{"format":"eval_v1","salt":"salt","event":{event}}}"#)
        )
        .unwrap(),
        EVAL_V1
    );
    let e = op(
        "exposure_event",
        r#"{"format":"xml","event":{"items":[{"rank":-1}]}}"#,
    )
    .unwrap_err();
    assert_eq!(e.code, "RECSYS_INVALID_REQUEST");
    assert_eq!(e.problems.len(), 3, "{:?}", e.problems);
    let e = op(
        "exposure_event",
        r#"{"format":"eval","event":{"timestamp":"2026-01-02T03:04:05Z"}}"#,
    )
    .unwrap_err();
    assert_eq!(e.code, "RECSYS_INVALID_EXPOSURE");

    assert_eq!(
        op("api_key_hash", r#"{"secret":"pepper","key":"secret"}"#).unwrap(),
        r#"{"hash":"804e6d854739162fdea0d455b3aafe67f40d2919406186a27be601596ac6d306"}"#
    );
    assert_eq!(
        op("api_key_hash", r#"{"key":"secret"}"#).unwrap(),
        r#"{"hash":"2bb80d537b1da3e38bd30361aa855686bde0eacd7162fef6a25fe97bf527a25b"}"#
    );
    assert_eq!(
        op(
            "api_key_verify",
            r#"{"secrets":[{"key_id":"k2","value":"new"},{"key_id":"k1","value":"pepper"}],"key":"secret",
                "hash":"804e6d854739162fdea0d455b3aafe67f40d2919406186a27be601596ac6d306"}"#
        )
        .unwrap(),
        r#"{"valid":true,"key_id":"k1","rotated":true}"#
    );
    let e = op(
        "api_key_verify",
        r#"{"secret":"pepper","key":"nope","hash":"00"}"#,
    )
    .unwrap_err();
    assert_eq!((e.code, e.status), ("RECSYS_AUTH_INVALID", 401));

    assert_eq!(
        op("validate_profile", r#"{"mode":"development"}"#).unwrap(),
        r#"{"valid":true,"summary":{"mode":"development","features":{"exposure":false,"experiments":true,"api_keys":false,"dev_auth":false,"rules":false,"backpressure":false,"rate_limit":true},"experiment_definitions":0,"api_key_ids":[]}}"#
    );
    let e = op(
        "validate_profile",
        r#"{"mode":"production","dev_auth_allowed":true}"#,
    )
    .unwrap_err();
    assert_eq!(e.code, "RECSYS_INVALID_PROFILE");
    assert_eq!(
        e.problems.iter().map(|p| p.code).collect::<Vec<_>>(),
        vec!["RECSYS_PROFILE_MISSING_SALT", "RECSYS_PROFILE_DEV_AUTH"]
    );

    let text = ops_api::call_static_json("api_key_hash", r#"{"key":"secret"}"#)
        .unwrap()
        .unwrap();
    assert!(text.starts_with(r#"{"hash":"2bb8"#));
    assert_eq!(
        ops_api::call_static_json("assign", "{")
            .unwrap()
            .unwrap_err()
            .code,
        "RECSYS_JSON_SYNTAX"
    );
}

#[test]
fn shared_state_is_send_and_sync() {
    fn send_sync<T: Send + Sync>() {}
    send_sync::<AdmissionGate>();
    send_sync::<crate::ops::Permit>();
    send_sync::<MetricsRegistry>();
    send_sync::<MemorySink>();
    send_sync::<Assigner>();
    send_sync::<ApiKeyVerifier>();
    send_sync::<EngineProfile>();
    let sink: Arc<dyn ExposureSink> = Arc::new(MemorySink::new());
    let metrics: Arc<dyn Metrics> = Arc::new(MetricsRegistry::new());
    metrics.counter(names::SNAPSHOT_SWAPS_TOTAL, &[], 1);
    sink.emit(&Value::Null).unwrap();
}
