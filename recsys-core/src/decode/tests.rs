use super::*;
use crate::error::{ErrorKind, MAX_PROBLEMS, PROBLEMS_TRUNCATED};
use crate::json::{parse, Value};

const EXACT: Style = Style {
    keys: Keys::Exact,
    unknown_field: ErrorCode::ExperimentUnknownField,
    wrong_type: ErrorCode::ExperimentWrongType,
    unknown_message: |k| format!("unknown field {k}"),
};

const FOLD: Style = Style {
    keys: Keys::Fold,
    ..EXACT
};

fn obj(s: &str) -> Value {
    parse(s.as_bytes()).unwrap()
}

#[test]
fn paths_follow_fields_and_indexes_and_unwind() {
    let v = obj(r#"{"a":{"b":[1,"x",true]}}"#);
    let mut d = Decoder::new("$", EXACT);
    let Value::Object(m) = &v else { panic!() };
    let [a] = d.fields(m, ["a"]);
    d.field("a", |d| {
        let m = d.object(a).unwrap();
        let [b] = d.fields(m, ["b"]);
        d.field("b", |d| {
            let Some(Value::Array(xs)) = b else { panic!() };
            for (i, x) in xs.iter().enumerate() {
                d.index(i, |d| {
                    d.string(Some(x));
                });
            }
            assert_eq!(d.path(), "$.a.b");
        });
    });
    assert_eq!(d.path(), "$");
    let paths: Vec<&str> = d
        .findings()
        .iter()
        .map(|f| f.problem.path.as_str())
        .collect();
    assert_eq!(paths, ["$.a.b[0]", "$.a.b[2]"]);
    assert_eq!(
        d.findings()[0].problem.message,
        "$.a.b[0] must be a string, got number"
    );
    assert_eq!(d.findings()[1].kind, ProblemKind::Decode);
}

#[test]
fn every_problem_is_collected_in_order() {
    let v = obj(r#"{"x":1,"n":"s","y":2,"b":3}"#);
    let Value::Object(m) = &v else { panic!() };
    let mut d = Decoder::new("$", EXACT);
    let [n, b] = d.fields(m, ["n", "b"]);
    d.field("n", |d| d.integer(n));
    d.field("b", |d| d.boolean(b));
    let got: Vec<(&str, &str)> = d
        .findings()
        .iter()
        .map(|f| (f.problem.path.as_str(), f.problem.code))
        .collect();
    assert_eq!(
        got,
        [
            ("$.x", "RECSYS_EXPERIMENT_UNKNOWN_FIELD"),
            ("$.y", "RECSYS_EXPERIMENT_UNKNOWN_FIELD"),
            ("$.n", "RECSYS_EXPERIMENT_WRONG_TYPE"),
            ("$.b", "RECSYS_EXPERIMENT_WRONG_TYPE"),
        ]
    );
    assert_eq!(d.findings()[0].problem.message, r#"unknown field "x""#);
}

#[test]
fn exact_keys_are_case_sensitive_and_fold_keys_are_not() {
    let v = obj(r#"{"Name":"a","name":"b","NAME":"c"}"#);
    let Value::Object(m) = &v else { panic!() };
    let mut d = Decoder::new("$", EXACT);
    let [name] = d.fields(m, ["name"]);
    assert_eq!(name, Some(&Value::str("b")));
    assert_eq!(d.into_problems().len(), 2, "Name and NAME are unknown");

    let mut d = Decoder::new("$", FOLD);
    let [name] = d.fields(m, ["name"]);
    assert_eq!(name, Some(&Value::str("c")), "the last duplicate wins");
    assert!(d.is_clean());
}

#[test]
fn null_members_are_absent_and_repeated_unknown_exact_keys_count_once() {
    let v = obj(r#"{"a":null,"z":1,"z":2}"#);
    let Value::Object(m) = &v else { panic!() };
    let mut d = Decoder::new("$", EXACT);
    let [a] = d.fields(m, ["a"]);
    assert_eq!(a, None);
    assert_eq!(d.findings().len(), 1);
    let mut d = Decoder::new("$", EXACT);
    d.known(m, &["a"]);
    assert_eq!(d.findings().len(), 1);
}

#[test]
fn the_first_decode_problem_leads_then_the_first_problem_and_its_kind_picks_the_code() {
    let mut d = Decoder::new("$", FOLD);
    d.report(
        ProblemKind::Unprocessable,
        ErrorCode::UnprocessableEntity,
        "u",
    );
    d.report(ProblemKind::Invalid, ErrorCode::InvalidRequest, "i");
    let e = d
        .fail(ErrorCode::InvalidRequest, ErrorCode::UnprocessableEntity)
        .unwrap();
    assert_eq!(
        (e.code, e.status, e.message.as_str()),
        ("RECSYS_UNPROCESSABLE_ENTITY", 422, "u")
    );
    assert_eq!(e.problems.len(), 2);

    let mut d = Decoder::new("$", FOLD);
    d.report(
        ProblemKind::Unprocessable,
        ErrorCode::UnprocessableEntity,
        "u",
    );
    d.report(ProblemKind::Decode, ErrorCode::InvalidRequest, "d");
    let e = d
        .fail(ErrorCode::InvalidRequest, ErrorCode::UnprocessableEntity)
        .unwrap();
    assert_eq!(
        (e.code, e.status, e.message.as_str()),
        ("RECSYS_INVALID_REQUEST", 400, "d")
    );
    assert_eq!(e.kind(), ErrorKind::InvalidRequest);
    let order: Vec<&str> = e.problems.iter().map(|p| p.message.as_str()).collect();
    assert_eq!(order, ["u", "d"], "the list keeps the order found");

    let d = Decoder::new("$", FOLD);
    assert!(d
        .fail(ErrorCode::InvalidRequest, ErrorCode::UnprocessableEntity)
        .is_none());
}

#[test]
fn the_problem_list_is_capped_with_a_truncation_note() {
    let body: Vec<String> = (0..150).map(|i| format!("\"k{i}\":1")).collect();
    let v = obj(&format!("{{{}}}", body.join(",")));
    let Value::Object(m) = &v else { panic!() };
    let mut d = Decoder::new("$", EXACT);
    d.known(m, &[]);
    assert_eq!(
        d.findings().len(),
        150,
        "the decoder itself keeps everything"
    );
    let e = d
        .fail(ErrorCode::InvalidExperiment, ErrorCode::InvalidExperiment)
        .unwrap();
    assert_eq!(e.problems.len(), MAX_PROBLEMS + 1);
    let last = e.problems.last().unwrap();
    assert_eq!(last.code, PROBLEMS_TRUNCATED);
    assert_eq!(last.message, "50 more problems are not listed");
}

#[test]
fn wire_requests_parse_from_str_with_every_problem() {
    use crate::request::{CallContext, RecommendRequest, SimilarRequest};
    let r: RecommendRequest = r#"{"surface":"home","user":{"user_id":"u1"},"k":3}"#
        .parse()
        .unwrap();
    assert_eq!((r.surface.as_str(), r.k), ("home", 3));
    let e = RecommendRequest::try_from(r#"{"Surface":"","k":"x","bogus":1}"#).unwrap_err();
    assert_eq!(e.code, "RECSYS_INVALID_REQUEST");
    assert_eq!(e.message, r#"json: unknown field "bogus""#);
    let paths: Vec<&str> = e.problems.iter().map(|p| p.path.as_str()).collect();
    assert_eq!(paths, ["$.bogus", "$.surface", "$.k", "$.user"]);
    let s = SimilarRequest::try_from(r#"{"surface":"home","item_id":"i1"}"#).unwrap();
    assert_eq!(s.item_id, "i1");
    let e = "[1".parse::<SimilarRequest>().unwrap_err();
    assert_eq!(e.code, "RECSYS_JSON_SYNTAX");
    let c: CallContext = r#"{"now":"2026-01-01T00:00:00Z","tenant":"demo"}"#.parse().unwrap();
    assert_eq!(c.tenant, "demo");
    let e = CallContext::try_from(r#"{"now":"x"}"#).unwrap_err();
    assert_eq!((e.code, e.status), ("RECSYS_INVALID_CONTEXT", 400));
    assert_eq!(e.problems.len(), 2);
}
